/* batch.c - row gathering for shuffled mini-batches into reused buffers. */
#include "train.h"
#include <string.h>

int ml_train_gather(ml_ctx *ctx, ml_tensor *dst, const ml_tensor *src, const int64_t *idx,
                    int64_t n, int64_t origin) {
  char a[64], b[64];
  if (!ml_is_contiguous(dst) || !ml_is_contiguous(src))
    return ml_error(ctx, "gather_rows: tensors must be contiguous");
  if (dst->dtype != src->dtype)
    return ml_error(ctx, "gather_rows: dtypes differ (%s and %s)", ml_dtype_name(dst->dtype),
                    ml_dtype_name(src->dtype));
  if (src->ndim < 1 || dst->ndim != src->ndim)
    return ml_error(ctx, "gather_rows: shapes %s and %s do not match",
                    ml_shape_str(a, sizeof a, dst->ndim, dst->shape),
                    ml_shape_str(b, sizeof b, src->ndim, src->shape));
  for (int d = 1; d < src->ndim; d++)
    if (dst->shape[d] != src->shape[d])
      return ml_error(ctx, "gather_rows: rows of %s and %s differ",
                      ml_shape_str(a, sizeof a, dst->ndim, dst->shape),
                      ml_shape_str(b, sizeof b, src->ndim, src->shape));
  if (n < 0 || n > dst->shape[0])
    return ml_error(ctx, "gather_rows: %lld rows do not fit a buffer of %lld", (long long)n,
                    (long long)dst->shape[0]);
  for (int64_t i = 0; i < n; i++)
    if (idx[i] - origin < 0 || idx[i] - origin >= src->shape[0])
      return ml_error(ctx, "gather_rows: row %lld out of range %lld..%lld", (long long)idx[i],
                      (long long)origin, (long long)(src->shape[0] - 1 + origin));
  size_t row = ml_dtype_size(src->dtype);
  for (int d = 1; d < src->ndim; d++) row *= (size_t)src->shape[d];
  char *pd = (char *)dst->storage->data + dst->offset * ml_dtype_size(dst->dtype);
  const char *ps = (const char *)src->storage->data + src->offset * ml_dtype_size(src->dtype);
  /* no OpenMP region for small batches: entering one costs microseconds */
  int nt = (size_t)n * row >= (1u << 20) ? ctx->threads : 1;
  if (nt <= 1) {
    for (int64_t i = 0; i < n; i++)
      memcpy(pd + (size_t)i * row, ps + (size_t)(idx[i] - origin) * row, row);
    return ML_OK;
  }
  #pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t i = 0; i < n; i++)
    memcpy(pd + (size_t)i * row, ps + (size_t)(idx[i] - origin) * row, row);
  return ML_OK;
}
