/* ops_index.c - joining, gathering and filling tensors. */
#include "ml.h"
#include "iter.h"
#include <math.h>
#include <string.h>

int ml_cat(ml_ctx *ctx, ml_tensor *out, const ml_tensor *ts, int n, int dim) {
  char b1[160], b2[160];
  if (n < 1) return ml_error(ctx, "cat: expected at least one tensor");
  const ml_tensor *f = &ts[0];
  if (dim < 0 || dim >= f->ndim)
    return ml_error(ctx, "cat: dimension %d out of range for %d-dimensional tensors", dim + 1,
                    f->ndim);
  int64_t shape[ML_MAX_DIMS];
  memcpy(shape, f->shape, sizeof shape);
  ml_dtype dt = f->dtype;
  shape[dim] = 0;
  for (int i = 0; i < n; i++) {
    const ml_tensor *t = &ts[i];
    bool ok = t->ndim == f->ndim;
    for (int d = 0; ok && d < f->ndim; d++) ok = d == dim || t->shape[d] == f->shape[d];
    if (!ok)
      return ml_error(ctx, "cat: tensor %d has shape %s, expected %s except in dimension %d",
                      i + 1, ml_shape_str(b1, sizeof b1, t->ndim, t->shape),
                      ml_shape_str(b2, sizeof b2, f->ndim, f->shape), dim + 1);
    dt = ml_promote(dt, t->dtype);
    shape[dim] += t->shape[dim];
  }
  if (ml_tensor_new(ctx, out, dt, f->ndim, shape, false)) return ML_ERR;
  int64_t at = 0;
  for (int i = 0; i < n; i++) {
    ml_tensor part;
    ml_view_narrow(ctx, &part, out, dim, at, ts[i].shape[dim]);
    int rc = ml_copy(ctx, &part, &ts[i]);
    ml_tensor_release(&part);
    if (rc) { ml_tensor_release(out); return ML_ERR; }
    at += ts[i].shape[dim];
  }
  return ML_OK;
}

int ml_stack(ml_ctx *ctx, ml_tensor *out, const ml_tensor *ts, int n, int dim) {
  char b1[160], b2[160];
  if (n < 1) return ml_error(ctx, "stack: expected at least one tensor");
  const ml_tensor *f = &ts[0];
  if (dim < 0 || dim > f->ndim || f->ndim + 1 > ML_MAX_DIMS)
    return ml_error(ctx, "stack: dimension %d out of range", dim + 1);
  int64_t shape[ML_MAX_DIMS];
  ml_dtype dt = f->dtype;
  for (int i = 0; i < n; i++) {
    bool ok = ts[i].ndim == f->ndim;
    for (int d = 0; ok && d < f->ndim; d++) ok = ts[i].shape[d] == f->shape[d];
    if (!ok)
      return ml_error(ctx, "stack: tensor %d has shape %s, expected %s", i + 1,
                      ml_shape_str(b1, sizeof b1, ts[i].ndim, ts[i].shape),
                      ml_shape_str(b2, sizeof b2, f->ndim, f->shape));
    dt = ml_promote(dt, ts[i].dtype);
  }
  for (int d = 0, k = 0; d <= f->ndim; d++) shape[d] = d == dim ? n : f->shape[k++];
  if (ml_tensor_new(ctx, out, dt, f->ndim + 1, shape, false)) return ML_ERR;
  for (int i = 0; i < n; i++) {
    ml_tensor part;
    ml_view_select(ctx, &part, out, dim, i);
    ml_copy(ctx, &part, &ts[i]);
    ml_tensor_release(&part);
  }
  return ML_OK;
}

static int64_t index_at(const ml_tensor *idx, int64_t i) {
  int64_t off = ml_offset_of(idx, i);
  return idx->dtype == ML_I64 ? ((int64_t *)idx->storage->data)[off] : ml_d2i(ml_get(idx, off));
}

int ml_index_select(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int dim,
                    const ml_tensor *idx) {
  if (dim < 0 || dim >= t->ndim)
    return ml_error(ctx, "index_select: dimension %d out of range for a %d-dimensional tensor",
                    dim + 1, t->ndim);
  if (idx->ndim != 1)
    return ml_error(ctx, "index_select: expected a 1-dimensional index, got %d dimensions",
                    idx->ndim);
  int64_t k = idx->shape[0];
  for (int64_t i = 0; i < k; i++) {
    double f = ml_get(idx, ml_offset_of(idx, i));
    if (ml_dtype_is_float(idx->dtype) && (!isfinite(f) || f != floor(f)))
      return ml_error(ctx, "index_select: expected integer positions, got %g at %lld", f + 1,
                      (long long)i + 1);
    int64_t j = index_at(idx, i);
    if (j < 0 || j >= t->shape[dim])   /* shown 1-based, in double: j may be INT64_MAX */
      return ml_error(ctx, "index_select: index %.17g out of range for dimension %d of size %lld",
                      idx->dtype == ML_I64 ? (double)j + 1 : f + 1, dim + 1,
                      (long long)t->shape[dim]);
  }
  int64_t shape[ML_MAX_DIMS];
  memcpy(shape, t->shape, sizeof shape);
  shape[dim] = k;
  if (ml_tensor_new(ctx, out, t->dtype, t->ndim, shape, false)) return ML_ERR;
  for (int64_t i = 0; i < k; i++) {
    ml_tensor src, dst;
    ml_view_select(ctx, &src, t, dim, index_at(idx, i));
    ml_view_select(ctx, &dst, out, dim, i);
    ml_copy(ctx, &dst, &src);
    ml_tensor_release(&src);
    ml_tensor_release(&dst);
  }
  return ML_OK;
}

int ml_masked_select(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, const ml_tensor *mask) {
  ml_tensor m;
  if (ml_view_expand(ctx, &m, mask, t->ndim, t->shape)) {
    char b1[160], b2[160];
    return ml_error(ctx, "masked_select: mask shape %s does not fit tensor shape %s",
                    ml_shape_str(b1, sizeof b1, mask->ndim, mask->shape),
                    ml_shape_str(b2, sizeof b2, t->ndim, t->shape));
  }
  int64_t n = ml_numel(t), cnt = 0;
  for (int64_t i = 0; i < n; i++) cnt += ml_get(&m, ml_offset_of(&m, i)) != 0;
  if (ml_tensor_new(ctx, out, t->dtype, 1, &cnt, false)) { ml_tensor_release(&m); return ML_ERR; }
  int64_t w = 0;
  size_t es = ml_dtype_size(t->dtype);
  char *dst = (char *)out->storage->data;
  const char *src = (const char *)t->storage->data;
  for (int64_t i = 0; i < n; i++) {
    if (ml_get(&m, ml_offset_of(&m, i)) == 0) continue;
    memcpy(dst + (size_t)w++ * es, src + (size_t)ml_offset_of(t, i) * es, es);
  }
  ml_tensor_release(&m);
  return ML_OK;
}

int ml_arange(ml_ctx *ctx, ml_tensor *out, double start, double stop, double step,
              ml_dtype dtype) {
  if (step == 0 || !isfinite(step) || !isfinite(start) || !isfinite(stop))
    return ml_error(ctx, "arange: expected finite bounds and a non-zero step, got %g, %g, %g",
                    start, stop, step);
  double cnt = ceil((stop - start) / step);
  if (cnt < 0) cnt = 0;
  if (cnt > 1e12) return ml_error(ctx, "arange: %g elements is too many", cnt);
  int64_t n = (int64_t)cnt;
  if (ml_tensor_new(ctx, out, dtype, 1, &n, false)) return ML_ERR;
  if (dtype == ML_I64) {
    int64_t *q = ml_i64(out);
    for (int64_t i = 0; i < n; i++) q[i] = (int64_t)(start + (double)i * step);
    return ML_OK;
  }
  if (dtype == ML_U8 && n > 0) {
    double last = start + (double)(n - 1) * step;
    if (start < 0 || start > 255 || last < 0 || last > 255) {
      ml_tensor_release(out);
      return ml_error(ctx, "arange: values %g..%g do not fit uint8 (0..255)", start, last);
    }
  }
  for (int64_t i = 0; i < n; i++) ml_set_d(out->storage->data, dtype, i, start + (double)i * step);
  return ML_OK;
}

int ml_linspace(ml_ctx *ctx, ml_tensor *out, double a, double b, int64_t n, ml_dtype dtype) {
  if (n < 0) return ml_error(ctx, "linspace: expected a count >= 0, got %lld", (long long)n);
  if (!ml_dtype_is_float(dtype))
    return ml_error(ctx, "linspace: expected dtype float32 or float64, got %s",
                    ml_dtype_name(dtype));
  if (ml_tensor_new(ctx, out, dtype, 1, &n, false)) return ML_ERR;
  for (int64_t i = 0; i < n; i++)
    ml_set_d(out->storage->data, dtype, i,
             n == 1 ? a : a + (b - a) * (double)i / (double)(n - 1));
  return ML_OK;
}

int ml_eye(ml_ctx *ctx, ml_tensor *out, int64_t n, int64_t m, ml_dtype dtype) {
  int64_t shape[2] = {n, m};
  if (ml_tensor_new(ctx, out, dtype, 2, shape, true)) return ML_ERR;
  for (int64_t i = 0; i < n && i < m; i++) ml_set_d(out->storage->data, dtype, i * m + i, 1);
  return ML_OK;
}

int ml_randperm(ml_ctx *ctx, ml_tensor *out, int64_t n) {
  if (n < 0) return ml_error(ctx, "randperm: expected n >= 0, got %lld", (long long)n);
  if (ml_tensor_new(ctx, out, ML_I64, 1, &n, false)) return ML_ERR;
  int64_t *p = ml_i64(out);
  for (int64_t i = 0; i < n; i++) p[i] = i;
  ml_rng_shuffle_i64(&ctx->rng, p, n);
  return ML_OK;
}

/* Random fills run on one thread in row-major order: the stream, and so the
 * numbers, never depend on the thread count. t must be contiguous float32
 * or float64 (the same draws, rounded to float32 or kept). */
void ml_fill_uniform(ml_ctx *ctx, ml_tensor *t, double lo, double hi) {
  int64_t n = ml_numel(t);
  if (t->dtype == ML_F64) {
    double *q = ml_f64(t);
    for (int64_t i = 0; i < n; i++) q[i] = lo + (hi - lo) * ml_rng_uniform(&ctx->rng);
    return;
  }
  float *p = ml_f32(t);
  for (int64_t i = 0; i < n; i++) p[i] = (float)(lo + (hi - lo) * ml_rng_uniform(&ctx->rng));
}

void ml_fill_normal(ml_ctx *ctx, ml_tensor *t, double mean, double sd) {
  int64_t n = ml_numel(t);
  if (t->dtype == ML_F64) {
    double *q = ml_f64(t);
    for (int64_t i = 0; i < n; i++) q[i] = mean + sd * ml_rng_normal(&ctx->rng);
    return;
  }
  float *p = ml_f32(t);
  for (int64_t i = 0; i < n; i++) p[i] = (float)(mean + sd * ml_rng_normal(&ctx->rng));
}

/* Checks gather/scatter arguments; fills t's offset for every element of idx
 * (in idx's row-major order) into off[] when off is not NULL. */
static int gather_check(ml_ctx *ctx, const char *who, const ml_tensor *t, int dim,
                        const ml_tensor *idx) {
  char b1[160], b2[160];
  if (dim < 0 || dim >= t->ndim)
    return ml_error(ctx, "%s: dimension %d out of range for a %d-dimensional tensor", who,
                    dim + 1, t->ndim);
  if (idx->dtype != ML_I64)
    return ml_error(ctx, "%s: expected an int64 index, got %s", who, ml_dtype_name(idx->dtype));
  bool ok = idx->ndim == t->ndim;
  for (int d = 0; ok && d < t->ndim; d++) ok = d == dim || idx->shape[d] <= t->shape[d];
  if (!ok)
    return ml_error(ctx, "%s: index of shape %s does not fit a tensor of shape %s (same number "
                    "of dimensions, sizes no larger outside dimension %d)", who,
                    ml_shape_str(b1, sizeof b1, idx->ndim, idx->shape),
                    ml_shape_str(b2, sizeof b2, t->ndim, t->shape), dim + 1);
  return ML_OK;
}

/* Walks idx in row-major order; for element i, *pos is its offset in t.
 * Returns the flat position of the first index out of range, or -1. */
static int64_t gather_walk(const ml_tensor *t, int dim, const ml_tensor *idx, int64_t *pos) {
  int64_t n = ml_numel(idx), coord[ML_MAX_DIMS] = {0};
  const int64_t *iv = (const int64_t *)idx->storage->data;
  for (int64_t i = 0; i < n; i++) {
    int64_t io = idx->offset, to = t->offset;
    for (int d = 0; d < idx->ndim; d++) io += coord[d] * idx->stride[d];
    int64_t j = iv[io];
    if (j < 0 || j >= t->shape[dim]) return i;
    for (int d = 0; d < t->ndim; d++) to += (d == dim ? j : coord[d]) * t->stride[d];
    pos[i] = to;
    for (int d = idx->ndim - 1; d >= 0; d--) {
      if (++coord[d] < idx->shape[d]) break;
      coord[d] = 0;
    }
  }
  return -1;
}

static int gather_positions(ml_ctx *ctx, const char *who, int64_t **pos, const ml_tensor *t,
                            int dim, const ml_tensor *idx) {
  if (gather_check(ctx, who, t, dim, idx)) return ML_ERR;
  int64_t n = ml_numel(idx);
  *pos = ml_calloc(ctx, (size_t)(n ? n : 1), sizeof(int64_t), who);
  if (!*pos) return ML_ERR;
  int64_t bad = gather_walk(t, dim, idx, *pos);
  if (bad >= 0) {
    int64_t v = ((int64_t *)idx->storage->data)[ml_offset_of(idx, bad)];
    ml_free(ctx, *pos);
    return ml_error(ctx, "%s: index %lld out of range for dimension %d of size %lld", who,
                    (long long)v + 1, dim + 1, (long long)t->shape[dim]);
  }
  return ML_OK;
}

int ml_gather(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int dim, const ml_tensor *idx) {
  int64_t *pos, n = ml_numel(idx);
  if (gather_positions(ctx, "gather", &pos, t, dim, idx)) return ML_ERR;
  if (ml_tensor_new(ctx, out, t->dtype, idx->ndim, idx->shape, false)) {
    ml_free(ctx, pos);
    return ML_ERR;
  }
  size_t es = ml_dtype_size(t->dtype);
  const char *src = (const char *)t->storage->data;
  char *dst = (char *)out->storage->data;
  for (int64_t i = 0; i < n; i++) memcpy(dst + (size_t)i * es, src + (size_t)pos[i] * es, es);
  ml_free(ctx, pos);
  return ML_OK;
}

int ml_scatter_add_(ml_ctx *ctx, ml_tensor *t, int dim, const ml_tensor *idx,
                    const ml_tensor *src) {
  char b1[160], b2[160];
  if (!ml_dtype_is_float(t->dtype) || src->dtype != t->dtype)
    return ml_error(ctx, "scatter_add_: expected two float32 or two float64 tensors, got %s and %s",
                    ml_dtype_name(t->dtype), ml_dtype_name(src->dtype));
  bool same = src->ndim == idx->ndim;
  for (int d = 0; same && d < idx->ndim; d++) same = src->shape[d] == idx->shape[d];
  if (!same)
    return ml_error(ctx, "scatter_add_: source of shape %s, expected the index's shape %s",
                    ml_shape_str(b1, sizeof b1, src->ndim, src->shape),
                    ml_shape_str(b2, sizeof b2, idx->ndim, idx->shape));
  int64_t *pos, n = ml_numel(idx);
  if (gather_positions(ctx, "scatter_add_", &pos, t, dim, idx)) return ML_ERR;
  if (t->dtype == ML_F64) {
    double *tv = (double *)t->storage->data;
    for (int64_t i = 0; i < n; i++) tv[pos[i]] += ml_get(src, ml_offset_of(src, i));
  } else {
    float *tv = (float *)t->storage->data;
    const float *sv = (const float *)src->storage->data;
    for (int64_t i = 0; i < n; i++) tv[pos[i]] += sv[ml_offset_of(src, i)];
  }
  ml_free(ctx, pos);
  return ML_OK;
}
