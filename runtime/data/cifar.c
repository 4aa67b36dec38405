/* cifar.c - the "CIFAR-10 binary version" files (data_batch_1.bin ...
 * test_batch.bin): records of 1 label byte (0..9) and 3072 pixel bytes, the
 * red, green and blue 32 x 32 planes one after the other, rows first. */
#include "data.h"

#define CIFAR_SIDE 32
#define CIFAR_PLANE (CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_RECORD (1 + 3 * CIFAR_PLANE)

int ml_cifar10_read(ml_ctx *ctx, ml_tensor *images, ml_tensor *labels, const uint8_t *data,
                    size_t n, const char *who) {
  if (n == 0 || n % CIFAR_RECORD != 0)
    return ml_error(ctx, "%s: %zu bytes is not a whole number of %d-byte CIFAR-10 records "
                    "(1 label byte + 3072 pixel bytes)", who, n, CIFAR_RECORD);
  int64_t count = (int64_t)(n / CIFAR_RECORD);
  for (int64_t i = 0; i < count; i++)
    if (data[i * CIFAR_RECORD] > 9)
      return ml_error(ctx, "%s: record %lld has label %d; CIFAR-10 labels are 0..9 (is this a "
                      "CIFAR-100 file?)", who, (long long)i + 1, data[i * CIFAR_RECORD]);
  int64_t ishape[4] = {count, CIFAR_SIDE, CIFAR_SIDE, 3};
  if (ml_tensor_new(ctx, images, ML_F32, 4, ishape, false)) return ML_ERR;
  if (ml_tensor_new(ctx, labels, ML_I64, 1, &count, false)) {
    ml_tensor_release(images);
    return ML_ERR;
  }
  float *x = ml_f32(images);
  int64_t *y = ml_i64(labels);
  #pragma omp parallel for num_threads(ctx->threads) if (count > 256)
  for (int64_t i = 0; i < count; i++) {
    const uint8_t *r = data + i * CIFAR_RECORD;
    y[i] = r[0];
    float *o = x + i * 3 * CIFAR_PLANE;
    for (int p = 0; p < CIFAR_PLANE; p++)
      for (int c = 0; c < 3; c++) o[3 * p + c] = r[1 + c * CIFAR_PLANE + p] * (1.0f / 255.0f);
  }
  return ML_OK;
}
