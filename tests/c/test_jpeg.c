/* test_jpeg.c - the JPEG codec: a round trip within JPEG's loss, gray stays
 * one channel, and broken or lying files are clean errors. */
#include "check.h"
#include "ml.h"
#include "data/data.h"
#include "io/io.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc((size_t)len);
  *n = fread(p, 1, (size_t)len, f);
  fclose(f);
  return p;
}

int main(void) {
  ml_ctx ctx;
  ml_ctx_init(&ctx);
  char path[] = "/tmp/mlrun_test_jpeg_XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  for (int c = 1; c <= 3; c += 2) {
    int64_t shape[3] = {24, 32, c};
    ml_tensor img;
    ml_tensor_new(&ctx, &img, ML_F32, 3, shape, false);
    float *f = ml_f32(&img);
    for (int64_t i = 0; i < 24 * 32 * c; i++) f[i] = (float)((i / c) % 32) / 31.0f;
    CHECK(ml_jpeg_save(&ctx, path, &img, 95) == ML_OK, "save a %d-channel JPEG", c);
    size_t n;
    uint8_t *bytes = slurp(path, &n);
    ml_tensor back;
    CHECK(bytes && ml_jpeg_read(&ctx, &back, bytes, n, "test") == ML_OK, "read it back");
    CHECK(back.ndim == 3 && back.shape[0] == 24 && back.shape[1] == 32 && back.shape[2] == c,
          "shape 24x32x%d kept", c);
    double err = 0;
    for (int64_t i = 0; i < 24 * 32 * c; i++) err += fabs(ml_f32(&back)[i] - f[i]);
    CHECK(err / (24 * 32 * c) < 0.02, "mean error %.4f within JPEG's loss", err / (24 * 32 * c));
    /* truncated and corrupted copies: errors, never crashes */
    CHECK(ml_jpeg_read(&ctx, &back, bytes, n / 3, "test") == ML_ERR || (ml_tensor_release(&back), 1),
          "a truncated file is an error or a partial image");
    uint8_t lie[64] = {0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0xFF, 0xFF, 0xFF, 0xFF, 1};
    CHECK(ml_jpeg_read(&ctx, &back, lie, sizeof lie, "test") == ML_ERR,
          "a 64-byte file claiming 65535x65535: %s", ctx.err);
    CHECK(ml_jpeg_read(&ctx, &back, (const uint8_t *)"GIF89a", 6, "test") == ML_ERR &&
          strstr(ctx.err, "not a JPEG") != NULL, "not a JPEG: %s", ctx.err);
    free(bytes);
    ml_tensor_release(&img);
  }
  int64_t s4[3] = {4, 4, 4};
  ml_tensor rgba;
  ml_tensor_new(&ctx, &rgba, ML_F32, 3, s4, true);
  CHECK(ml_jpeg_save(&ctx, path, &rgba, 90) == ML_ERR && strstr(ctx.err, "C = 1 or 3"),
        "RGBA refused: %s", ctx.err);
  CHECK(ml_jpeg_save(&ctx, path, &rgba, 0) == ML_ERR, "quality 0 refused");
  ml_tensor_release(&rgba);
  unlink(path);
  ml_ctx_free(&ctx);
  return check_done();
}
