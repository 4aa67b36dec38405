/* frame.c - DataFrame column kernels (frame.h). */
#include "frame.h"

int ml_frame_onehot(ml_ctx *ctx, ml_tensor *out, const ml_tensor *codes, int64_t k) {
  char s[64];
  if (codes->dtype != ML_I64 || codes->ndim != 1)
    return ml_error(ctx, "frame_onehot: expected a 1-D int64 tensor of codes, got %s %s",
                    ml_dtype_name(codes->dtype), ml_shape_str(s, sizeof s, codes->ndim, codes->shape));
  if (k < 0) return ml_error(ctx, "frame_onehot: number of categories must be >= 0, got %lld",
                             (long long)k);
  int64_t n = codes->shape[0], st = codes->stride[0];
  const int64_t *c = (const int64_t *)codes->storage->data + codes->offset;
  for (int64_t i = 0; i < n; i++)
    if (c[i * st] >= k)
      return ml_error(ctx, "frame_onehot: code %lld at row %lld is not below %lld categories",
                      (long long)c[i * st], (long long)i + 1, (long long)k);
  int64_t shape[2] = {n, k};
  if (ml_tensor_new(ctx, out, ML_F32, 2, shape, true) != ML_OK) return ML_ERR;
  float *o = ml_f32(out);
  for (int64_t i = 0; i < n; i++) {
    int64_t v = c[i * st];
    if (v >= 0) o[i * k + v] = 1.0f;
  }
  return ML_OK;
}

int ml_frame_columns(ml_ctx *ctx, ml_tensor *out, const ml_tensor *cols, int n) {
  char s[64];
  if (n < 0) return ml_error(ctx, "frame_columns: negative column count");
  int64_t rows = n ? cols[0].shape[0] : 0;
  for (int j = 0; j < n; j++) {
    if (cols[j].ndim != 1 || cols[j].shape[0] != rows)
      return ml_error(ctx, "frame_columns: column %d has shape %s, expected %lld rows", j + 1,
                      ml_shape_str(s, sizeof s, cols[j].ndim, cols[j].shape), (long long)rows);
  }
  int64_t shape[2] = {rows, n};
  if (ml_tensor_new(ctx, out, ML_F32, 2, shape, false) != ML_OK) return ML_ERR;
  float *o = ml_f32(out);
  for (int j = 0; j < n; j++) {
    int64_t st = cols[j].stride[0];
    if (cols[j].dtype == ML_F32) {
      const float *p = (const float *)cols[j].storage->data + cols[j].offset;
      for (int64_t i = 0; i < rows; i++) o[i * n + j] = p[i * st];
    } else {
      const int64_t *p = (const int64_t *)cols[j].storage->data + cols[j].offset;
      for (int64_t i = 0; i < rows; i++) o[i * n + j] = (float)p[i * st];
    }
  }
  return ML_OK;
}
