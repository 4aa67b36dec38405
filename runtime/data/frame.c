/* frame.c - DataFrame column kernels (frame.h). */
#include "frame.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    } else if (cols[j].dtype == ML_I64) {
      const int64_t *p = (const int64_t *)cols[j].storage->data + cols[j].offset;
      for (int64_t i = 0; i < rows; i++) o[i * n + j] = (float)p[i * st];
    } else {
      for (int64_t i = 0; i < rows; i++)
        o[i * n + j] = (float)ml_get(&cols[j], cols[j].offset + i * st);
    }
  }
  return ML_OK;
}

int ml_frame_take(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, const ml_tensor *idx,
                  int64_t base) {
  char s[64];
  if (t->ndim < 1) return ml_error(ctx, "take: expected a tensor with rows, got a scalar");
  if (idx->ndim != 1)
    return ml_error(ctx, "take: expected a 1-D tensor of positions, got shape %s",
                    ml_shape_str(s, sizeof s, idx->ndim, idx->shape));
  int64_t k = idx->shape[0], n = t->shape[0], st = idx->stride[0];
  int64_t *pos = ml_calloc(ctx, (size_t)(k ? k : 1), sizeof(int64_t), "take");
  if (!pos) return ML_ERR;
  for (int64_t i = 0; i < k; i++) {
    double v = ml_get(idx, idx->offset + i * st);
    if (!(v == floor(v)) || v - (double)base < 0 || v - (double)base >= (double)n) {
      ml_free(ctx, pos);
      return ml_error(ctx, "take: position %g (entry %lld) is out of range for %lld rows", v,
                      (long long)i + 1, (long long)n);
    }
    pos[i] = (int64_t)v - base;
  }
  ml_tensor c;
  if (ml_contiguous(ctx, &c, t) != ML_OK) { ml_free(ctx, pos); return ML_ERR; }
  int64_t shape[ML_MAX_DIMS];
  memcpy(shape, t->shape, sizeof shape);
  shape[0] = k;
  if (ml_tensor_new(ctx, out, t->dtype, t->ndim, shape, false) != ML_OK) {
    ml_tensor_release(&c); ml_free(ctx, pos); return ML_ERR;
  }
  size_t row = ml_dtype_size(t->dtype);
  for (int d = 1; d < t->ndim; d++) row *= (size_t)t->shape[d];
  const char *src = (const char *)c.storage->data + (size_t)c.offset * ml_dtype_size(t->dtype);
  char *dst = (char *)out->storage->data;
  for (int64_t i = 0; i < k; i++) memcpy(dst + (size_t)i * row, src + (size_t)pos[i] * row, row);
  ml_tensor_release(&c);
  ml_free(ctx, pos);
  return ML_OK;
}
