/* ops_sort.c - sorting and running sums along one dimension (NumPy's sort,
 * argsort and cumsum). A tensor is seen as [outer, R, inner] with R the
 * dimension worked on; each of the outer x inner lines is independent, so
 * lines are shared among threads and the result never depends on their
 * number. NaN sorts after every number, as NumPy does. */
#include "ml.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct { double v; int64_t i; } ml_keyed;

/* Ascending, NaN last, ties by original position (a stable order). */
static int cmp_asc(const void *pa, const void *pb) {
  const ml_keyed *a = pa, *b = pb;
  bool na = isnan(a->v), nb = isnan(b->v);
  if (na != nb) return na ? 1 : -1;
  if (!na && a->v != b->v) return a->v < b->v ? -1 : 1;
  return (a->i > b->i) - (a->i < b->i);
}

/* Descending, NaN first (the reverse of NumPy's order, as torch), ties by
 * original position. */
static int cmp_desc(const void *pa, const void *pb) {
  const ml_keyed *a = pa, *b = pb;
  bool na = isnan(a->v), nb = isnan(b->v);
  if (na != nb) return na ? -1 : 1;
  if (!na && a->v != b->v) return a->v > b->v ? -1 : 1;
  return (a->i > b->i) - (a->i < b->i);
}

static void lines_of(const ml_tensor *t, int dim, int64_t *outer, int64_t *R, int64_t *inner) {
  *outer = 1; *inner = 1; *R = t->ndim ? t->shape[dim] : 1;
  for (int i = 0; i < dim; i++) *outer *= t->shape[i];
  for (int i = dim + 1; i < t->ndim; i++) *inner *= t->shape[i];
}

int ml_sort(ml_ctx *ctx, ml_tensor *values, ml_tensor *indices, const ml_tensor *t, int dim,
            bool descending) {
  if (t->ndim == 0) return ml_error(ctx, "sort: expected at least a 1-dimensional tensor, got a scalar");
  if (dim < 0 || dim >= t->ndim)
    return ml_error(ctx, "sort: dimension %d out of range for a %d-dimensional tensor", dim + 1,
                    t->ndim);
  int64_t outer, R, inner, n = ml_numel(t);
  lines_of(t, dim, &outer, &R, &inner);
  ml_tensor c;
  if (ml_contiguous(ctx, &c, t)) return ML_ERR;
  ml_keyed *buf = n ? ml_calloc(ctx, (size_t)n, sizeof *buf, "sort") : NULL;
  if (n && !buf) { ml_tensor_release(&c); return ML_ERR; }
  if (ml_tensor_new(ctx, values, t->dtype, t->ndim, t->shape, false)) goto fail;
  if (ml_tensor_new(ctx, indices, ML_I64, t->ndim, t->shape, false)) {
    ml_tensor_release(values);
    goto fail;
  }
  int64_t nlines = n ? outer * inner : 0;   /* empty: no lines (and no NULL to qsort) */
  int nt = n >= 65536 && nlines > 1 ? ctx->threads : 1;
  size_t es = ml_dtype_size(c.dtype);
  const char *xs = (const char *)c.storage->data + c.offset * (int64_t)es;
  char *vs = (char *)values->storage->data;
  int64_t *ix = ml_i64(indices);
  #pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t k = 0; k < nlines; k++) {
    int64_t base = (k / inner) * R * inner + k % inner;
    ml_keyed *line = buf + k * R;
    for (int64_t r = 0; r < R; r++) {
      int64_t at = base + r * inner;
      line[r].v = ml_get(&c, c.offset + at);
      line[r].i = r;
    }
    qsort(line, (size_t)R, sizeof *line, descending ? cmp_desc : cmp_asc);
    for (int64_t r = 0; r < R; r++) {
      int64_t at = base + r * inner, from = base + line[r].i * inner;
      ix[at] = line[r].i;
      memcpy(vs + at * (int64_t)es, xs + from * (int64_t)es, es);
    }
  }
  if (buf) ml_free(ctx, buf);
  ml_tensor_release(&c);
  return ML_OK;
fail:
  if (buf) ml_free(ctx, buf);
  ml_tensor_release(&c);
  return ML_ERR;
}

int ml_cumsum(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int dim) {
  if (t->ndim == 0) return ml_error(ctx, "cumsum: expected at least a 1-dimensional tensor, got a scalar");
  if (dim < 0 || dim >= t->ndim)
    return ml_error(ctx, "cumsum: dimension %d out of range for a %d-dimensional tensor", dim + 1,
                    t->ndim);
  int64_t outer, R, inner;
  lines_of(t, dim, &outer, &R, &inner);
  ml_tensor c;
  if (ml_contiguous(ctx, &c, t)) return ML_ERR;
  /* uint8 sums run in int64 (NumPy: a wider integer) */
  ml_dtype od = t->dtype == ML_U8 ? ML_I64 : t->dtype;
  if (ml_tensor_new(ctx, out, od, t->ndim, t->shape, false)) {
    ml_tensor_release(&c);
    return ML_ERR;
  }
  int64_t nlines = ml_numel(t) ? outer * inner : 0;   /* empty: no 2^40 empty lines */
  int nt = ml_numel(t) >= 65536 && nlines > 1 ? ctx->threads : 1;
  bool f32 = c.dtype == ML_F32;
  #pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t k = 0; k < nlines; k++) {
    int64_t base = (k / inner) * R * inner + k % inner;
    if (f32) {   /* double accumulator: long sums stay exact to float precision */
      const float *x = ml_f32(&c);
      float *y = ml_f32(out);
      double s = 0;
      for (int64_t r = 0; r < R; r++) { s += x[base + r * inner]; y[base + r * inner] = (float)s; }
    } else if (c.dtype == ML_F64) {
      const double *x = ml_f64(&c);
      double *y = ml_f64(out), s = 0;
      for (int64_t r = 0; r < R; r++) { s += x[base + r * inner]; y[base + r * inner] = s; }
    } else if (c.dtype == ML_U8) {
      const uint8_t *x = ml_u8(&c);
      int64_t *y = ml_i64(out), s = 0;
      for (int64_t r = 0; r < R; r++) { s += x[base + r * inner]; y[base + r * inner] = s; }
    } else {
      const int64_t *x = ml_i64(&c);
      int64_t *y = ml_i64(out), s = 0;
      for (int64_t r = 0; r < R; r++) {   /* wraps like NumPy's int64, without C's UB */
        s = (int64_t)((uint64_t)s + (uint64_t)x[base + r * inner]);
        y[base + r * inner] = s;
      }
    }
  }
  ml_tensor_release(&c);
  return ML_OK;
}
