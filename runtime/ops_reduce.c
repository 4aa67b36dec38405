/* ops_reduce.c - reductions and softmax along one dimension or all of them.
 * A tensor is seen as [outer, R, inner] with R the reduced dimension. Each
 * output is reduced by one thread in a fixed order (double accumulators), and
 * whole-tensor sums add fixed-size blocks in order, so results are the same
 * for any thread count. */
#include "ml.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 65536

static const char *redop_names[] = {"sum", "mean", "prod", "max", "min", "var", "std",
                                    "norm", "argmax", "argmin"};

double ml_sum_all(ml_ctx *ctx, const ml_tensor *t) {
  ml_tensor c;
  if (ml_contiguous(ctx, &c, t)) return NAN;
  int64_t n = ml_numel(&c), nb = (n + BLOCK - 1) / BLOCK;
  double total = 0;
  if (c.dtype == ML_I64) {
    const int64_t *p = ml_i64(&c);
    for (int64_t i = 0; i < n; i++) total += (double)p[i];
  } else if (c.dtype == ML_U8) {
    const uint8_t *p = ml_u8(&c);
    for (int64_t i = 0; i < n; i++) total += p[i];
  } else if (nb <= 1) {
    if (c.dtype == ML_F64) for (int64_t i = 0; i < n; i++) total += ml_f64(&c)[i];
    else for (int64_t i = 0; i < n; i++) total += ml_f32(&c)[i];
  } else {
    double *part = ml_calloc(ctx, (size_t)nb, sizeof *part, "sum");
    const float *p = c.dtype == ML_F32 ? ml_f32(&c) : NULL;
    const double *q = c.dtype == ML_F64 ? ml_f64(&c) : NULL;
    if (!part) { ml_tensor_release(&c); return NAN; }
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int64_t b = 0; b < nb; b++) {
      int64_t lo = b * BLOCK, hi = lo + BLOCK < n ? lo + BLOCK : n;
      double s = 0;
      if (p) for (int64_t i = lo; i < hi; i++) s += p[i];
      else for (int64_t i = lo; i < hi; i++) s += q[i];
      part[b] = s;
    }
    for (int64_t b = 0; b < nb; b++) total += part[b];
    ml_free(ctx, part);
  }
  ml_tensor_release(&c);
  return total;
}

/* Element i of the contiguous c. */
static inline double at(const ml_tensor *c, int64_t i) { return ml_get(c, c->offset + i); }

/* Reduce R values starting at index base with stride `inner`. */
static double reduce_one(const ml_tensor *c, int64_t base, int64_t R, int64_t inner,
                         ml_redop op, int ddof, int64_t *pos) {
  double acc, v;
  int64_t best = 0;
  switch (op) {
    case ML_SUM: case ML_MEAN:
      acc = 0;
      if (c->dtype == ML_F32 && inner == 1) {
        const float *p = ml_f32(c) + base;
        for (int64_t r = 0; r < R; r++) acc += p[r];
      } else {
        for (int64_t r = 0; r < R; r++) acc += at(c, base + r * inner);
      }
      return op == ML_MEAN ? (R ? acc / (double)R : NAN) : acc;
    case ML_PROD:
      acc = 1;
      for (int64_t r = 0; r < R; r++) acc *= at(c, base + r * inner);
      return acc;
    case ML_NORM:
      acc = 0;
      for (int64_t r = 0; r < R; r++) { v = at(c, base + r * inner); acc += v * v; }
      return sqrt(acc);
    case ML_VAR: case ML_STD: {
      double mean = 0, ss = 0;
      for (int64_t r = 0; r < R; r++) mean += at(c, base + r * inner);
      mean /= (double)R;
      for (int64_t r = 0; r < R; r++) { v = at(c, base + r * inner) - mean; ss += v * v; }
      v = R - ddof > 0 ? ss / (double)(R - ddof) : NAN;
      return op == ML_STD ? sqrt(v) : v;
    }
    case ML_MAX: case ML_ARGMAX: case ML_MIN: case ML_ARGMIN: {
      bool mx = op == ML_MAX || op == ML_ARGMAX;
      acc = at(c, base);
      for (int64_t r = 1; r < R && !isnan(acc); r++) {
        v = at(c, base + r * inner);
        if (isnan(v) || (mx ? v > acc : v < acc)) { acc = v; best = r; }
      }
      if (pos) *pos = best;
      return acc;
    }
  }
  return 0;
}

/* Output k of ml_reduce (and its position for max/min). */
static void reduce_out(const ml_tensor *c, ml_tensor *out, ml_tensor *pos, int64_t k, int64_t R,
                       int64_t inner, ml_redop op, int ddof, bool arg) {
  int64_t o = k / inner, i = k % inner, p = 0;
  double v = reduce_one(c, o * R * inner + i, R, inner, op, ddof, &p);
  if (arg) ml_i64(out)[k] = p;
  else if (out->dtype == ML_F64) ml_f64(out)[k] = v;
  else ml_f32(out)[k] = (float)v;
  if (pos && !arg) ml_i64(pos)[k] = p;
}

/* Column sums (or means) of [outer, R, inner] for columns lo..hi-1, row by
 * row (the order reduce_one uses, read contiguously), in double in acc. */
static void colsum(double *acc, float *dst, const float *src, int64_t outer, int64_t R,
                   int64_t inner, int64_t lo, int64_t hi, bool mean) {
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t i = lo; i < hi; i++) acc[i] = 0;
    for (int64_t r = 0; r < R; r++) {
      const float *row = src + (o * R + r) * inner;
      for (int64_t i = lo; i < hi; i++) acc[i] += row[i];
    }
    for (int64_t i = lo; i < hi; i++)
      dst[o * inner + i] = (float)(mean ? (R ? acc[i] / (double)R : NAN) : acc[i]);
  }
}

int ml_reduce(ml_ctx *ctx, ml_tensor *out, ml_tensor *pos, const ml_tensor *t, int dim,
              bool keepdim, ml_redop op, int ddof) {
  const char *who = redop_names[op];
  if (dim >= t->ndim)
    return ml_error(ctx, "%s: dimension %d out of range for a %d-dimensional tensor", who,
                    dim + 1, t->ndim);
  int64_t n = ml_numel(t);
  int64_t R = dim < 0 ? n : t->shape[dim];
  bool needs_value = op == ML_MAX || op == ML_MIN || op == ML_ARGMAX || op == ML_ARGMIN;
  if (needs_value && R == 0)
    return ml_error(ctx, "%s: cannot reduce an empty dimension", who);
  int64_t outer = 1, inner = 1;
  if (dim >= 0) {
    for (int i = 0; i < dim; i++) outer *= t->shape[i];
    for (int i = dim + 1; i < t->ndim; i++) inner *= t->shape[i];
  }
  int ond = 0;
  int64_t oshape[ML_MAX_DIMS];
  if (dim >= 0)
    for (int i = 0; i < t->ndim; i++) {
      if (i != dim) oshape[ond++] = t->shape[i];
      else if (keepdim) oshape[ond++] = 1;
    }
  else if (keepdim)
    for (int i = 0; i < t->ndim; i++) oshape[ond++] = 1;
  bool arg = op == ML_ARGMAX || op == ML_ARGMIN;
  ml_tensor c;
  if (ml_contiguous(ctx, &c, t)) return ML_ERR;
  /* float64 reduces to float64; the other dtypes to float32 (in double) */
  ml_dtype od = arg ? ML_I64 : t->dtype == ML_F64 ? ML_F64 : ML_F32;
  if (ml_tensor_new(ctx, out, od, ond, oshape, false)) {
    ml_tensor_release(&c);
    return ML_ERR;
  }
  if (pos && !arg && ml_tensor_new(ctx, pos, ML_I64, ond, oshape, false)) {
    ml_tensor_release(&c);
    ml_tensor_release(out);
    return ML_ERR;
  }
  if (dim < 0 && (op == ML_SUM || op == ML_MEAN)) {
    double s = ml_sum_all(ctx, &c);
    s = op == ML_MEAN ? (n ? s / (double)n : NAN) : s;
    if (od == ML_F64) ml_f64(out)[0] = s;
    else ml_f32(out)[0] = (float)s;
    ml_tensor_release(&c);
    return ML_OK;
  }
  int64_t nout = outer * inner;
  int nt = n >= 32768 && nout > 1 ? ctx->threads : 1;
  if ((op == ML_SUM || op == ML_MEAN) && inner > 1 && c.dtype == ML_F32) {
    /* sums down a column, row by row (the order reduce_one uses, read
     * contiguously): columns are split across threads */
    double *acc = ml_calloc(ctx, (size_t)inner, sizeof(double), who);
    if (!acc) { ml_tensor_release(&c); ml_tensor_release(out); return ML_ERR; }
    const float *src = ml_f32(&c);
    float *dst = ml_f32(out);
    int64_t chunk = (inner + nt - 1) / nt;
    if (nt == 1) colsum(acc, dst, src, outer, R, inner, 0, inner, op == ML_MEAN);
    else {
      #pragma omp parallel for num_threads(nt) schedule(static)
      for (int64_t lo = 0; lo < inner; lo += chunk)
        colsum(acc, dst, src, outer, R, inner, lo, lo + chunk < inner ? lo + chunk : inner,
               op == ML_MEAN);
    }
    ml_free(ctx, acc);
    ml_tensor_release(&c);
    return ML_OK;
  }
  if (nt == 1) {   /* an OpenMP region costs more than a small reduction */
    for (int64_t k = 0; k < nout; k++) reduce_out(&c, out, pos, k, R, inner, op, ddof, arg);
  } else {
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t k = 0; k < nout; k++) reduce_out(&c, out, pos, k, R, inner, op, ddof, arg);
  }
  ml_tensor_release(&c);
  return ML_OK;
}

/* Softmax (or log-softmax) of output line k of [outer, R, inner]. */
static void softmax_one(const float *x, float *y, int64_t k, int64_t R, int64_t inner,
                        bool log_) {
  int64_t base = (k / inner) * R * inner + k % inner;
  float mx = -INFINITY;
  for (int64_t r = 0; r < R; r++) if (x[base + r * inner] > mx) mx = x[base + r * inner];
  if (!isfinite(mx)) mx = 0;   /* all -inf (or inf): keep the arithmetic defined */
  double s = 0;
  for (int64_t r = 0; r < R; r++) s += exp((double)x[base + r * inner] - mx);
  if (log_) {
    float ls = (float)log(s);
    for (int64_t r = 0; r < R; r++) y[base + r * inner] = x[base + r * inner] - mx - ls;
  } else {
    float inv = (float)(1.0 / s);
    for (int64_t r = 0; r < R; r++) y[base + r * inner] = expf(x[base + r * inner] - mx) * inv;
  }
}

/* softmax_one in double, for float64 tensors. */
static void softmax_one_d(const double *x, double *y, int64_t k, int64_t R, int64_t inner,
                          bool log_) {
  int64_t base = (k / inner) * R * inner + k % inner;
  double mx = -INFINITY, s = 0;
  for (int64_t r = 0; r < R; r++) if (x[base + r * inner] > mx) mx = x[base + r * inner];
  if (!isfinite(mx)) mx = 0;
  for (int64_t r = 0; r < R; r++) s += exp(x[base + r * inner] - mx);
  double ls = log(s);
  for (int64_t r = 0; r < R; r++)
    y[base + r * inner] = log_ ? x[base + r * inner] - mx - ls : exp(x[base + r * inner] - mx) / s;
}

static void softmax_line(const ml_tensor *x, ml_tensor *y, int64_t k, int64_t R, int64_t inner,
                         bool log_) {
  if (y->dtype == ML_F64) softmax_one_d(ml_f64(x), ml_f64(y), k, R, inner, log_);
  else softmax_one(ml_f32(x), ml_f32(y), k, R, inner, log_);
}

/* float64 stays float64; the other dtypes give float32. */
int ml_softmax(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int dim, bool log_) {
  if (dim < 0 || dim >= t->ndim)
    return ml_error(ctx, "softmax: dimension %d out of range for a %d-dimensional tensor",
                    dim + 1, t->ndim);
  ml_dtype d = t->dtype == ML_F64 ? ML_F64 : ML_F32;
  ml_tensor c;
  if (ml_to_dtype(ctx, &c, t, d)) return ML_ERR;
  ml_tensor cc;
  int rc = ml_contiguous(ctx, &cc, &c);
  ml_tensor_release(&c);
  if (rc) return ML_ERR;
  if (ml_tensor_new(ctx, out, d, t->ndim, t->shape, false)) {
    ml_tensor_release(&cc);
    return ML_ERR;
  }
  if (ml_numel(t) == 0) { ml_tensor_release(&cc); return ML_OK; }   /* not 2^40 empty rows */
  int64_t outer = 1, inner = 1, R = t->shape[dim];
  for (int i = 0; i < dim; i++) outer *= t->shape[i];
  for (int i = dim + 1; i < t->ndim; i++) inner *= t->shape[i];
  int64_t nout = outer * inner;
  int nt = ml_numel(t) >= 32768 ? ctx->threads : 1;
  if (nt == 1) {   /* no OpenMP region for small tensors */
    for (int64_t k = 0; k < nout; k++) softmax_line(&cc, out, k, R, inner, log_);
  } else {
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t k = 0; k < nout; k++) softmax_line(&cc, out, k, R, inner, log_);
  }
  ml_tensor_release(&cc);
  return ML_OK;
}

/* ---- finiteness ---- */

int64_t ml_find_nonfinite(const ml_tensor *t) {
  int64_t n = ml_numel(t);
  if (t->dtype == ML_F64) {
    for (int64_t i = 0; i < n; i++) if (!isfinite(ml_get(t, ml_offset_of(t, i)))) return i;
    return -1;
  }
  if (t->dtype != ML_F32) return -1;
  if (ml_is_contiguous(t)) {
    const float *p = ml_f32(t);
    for (int64_t i = 0; i < n; i++) if (!isfinite(p[i])) return i;
  } else {
    const float *base = (const float *)t->storage->data;
    for (int64_t i = 0; i < n; i++) if (!isfinite(base[ml_offset_of(t, i)])) return i;
  }
  return -1;
}

int ml_check_finite(ml_ctx *ctx, const ml_tensor *t, const char *who, const char *what) {
  int64_t bad = ml_find_nonfinite(t);
  if (bad < 0) return ML_OK;
  if (t->ndim == 2) {
    int64_t d = t->shape[1] > 0 ? t->shape[1] : 1;
    return ml_error(ctx, "%s: %s contains NaN or infinity (row %lld, column %lld); remove or "
                    "impute missing values first", who, what, (long long)(bad / d + 1),
                    (long long)(bad % d + 1));
  }
  return ml_error(ctx, "%s: %s contains NaN or infinity (element %lld); remove or impute "
                  "missing values first", who, what, (long long)(bad + 1));
}
