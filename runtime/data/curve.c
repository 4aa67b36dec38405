/* curve.c - ranking curves and sorted-sample statistics (curve.h). */
#include "curve.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct { double s; int64_t i; } scored;

static int by_score_desc(const void *a, const void *b) {
  const scored *x = a, *y = b;
  if (x->s != y->s) return x->s > y->s ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

int ml_clf_curve(ml_ctx *ctx, const double *score, const double *truth, int64_t n,
                 double *fps, double *tps, double *thr, int64_t *m) {
  for (int64_t i = 0; i < n; i++)
    if (isnan(score[i]))
      return ml_error(ctx, "roc_curve: score %lld is NaN", (long long)i + 1);
  scored *v = ml_calloc(ctx, (size_t)(n ? n : 1), sizeof(scored), "roc_curve");
  if (!v) return ML_ERR;
  for (int64_t i = 0; i < n; i++) { v[i].s = score[i]; v[i].i = i; }
  qsort(v, (size_t)n, sizeof *v, by_score_desc);
  double tp = 0;
  int64_t k = 0;
  for (int64_t j = 0; j < n; j++) {
    tp += truth[v[j].i];
    if (j == n - 1 || v[j + 1].s != v[j].s) {
      tps[k] = tp;
      fps[k] = (double)(j + 1) - tp;
      thr[k] = v[j].s;
      k++;
    }
  }
  *m = k;
  ml_free(ctx, v);
  return ML_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double quantile(const double *v, int64_t n, double q) {
  double pos = (double)(n - 1) * q;
  int64_t lo = (int64_t)floor(pos);
  int64_t hi = lo + 1 < n ? lo + 1 : n - 1;
  return v[lo] + (v[hi] - v[lo]) * (pos - (double)lo);
}

int ml_describe(ml_ctx *ctx, const ml_tensor *t, const double *q, int nq, double *out) {
  if (t->ndim != 1) return ml_error(ctx, "describe: expected a 1-D column");
  for (int j = 0; j < nq; j++)
    if (!(q[j] >= 0 && q[j] <= 1)) return ml_error(ctx, "describe: quantile %g is not in [0, 1]", q[j]);
  int64_t n = t->shape[0], st = t->stride[0], c = 0;
  double *v = ml_calloc(ctx, (size_t)(n ? n : 1), sizeof(double), "describe");
  if (!v) return ML_ERR;
  for (int64_t i = 0; i < n; i++) {
    double x = ml_get(t, t->offset + i * st);
    if (!isnan(x)) v[c++] = x;
  }
  int total = 5 + nq;
  if (c == 0) {
    out[0] = 0;
    for (int j = 1; j < total; j++) out[j] = NAN;
    ml_free(ctx, v);
    return ML_OK;
  }
  double sum = 0;
  for (int64_t i = 0; i < c; i++) sum += v[i];
  double mean = sum / (double)c, ss = 0;
  for (int64_t i = 0; i < c; i++) ss += (v[i] - mean) * (v[i] - mean);
  qsort(v, (size_t)c, sizeof(double), cmp_double);
  out[0] = (double)c;
  out[1] = mean;
  out[2] = c > 1 ? sqrt(ss / (double)(c - 1)) : NAN;
  out[3] = v[0];
  for (int j = 0; j < nq; j++) out[4 + j] = quantile(v, c, q[j]);
  out[4 + nq] = v[c - 1];
  ml_free(ctx, v);
  return ML_OK;
}
