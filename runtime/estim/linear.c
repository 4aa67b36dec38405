/* linear.c - least squares (LAPACK dgelsd) and ridge (Cholesky, dposv). */
#include "linear.h"
#include "../blas.h"
#include <float.h>
#include <stdlib.h>
#include <string.h>

/* Column means of X (f) and Y (t); zero when not centring. */
static void means(const float *X, const float *Y, int64_t n, int64_t f, int64_t t, bool centre,
                  double *xm, double *ym) {
  memset(xm, 0, sizeof(double) * (size_t)f);
  memset(ym, 0, sizeof(double) * (size_t)t);
  if (!centre) return;
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = 0; j < f; j++) xm[j] += X[i * f + j];
    for (int64_t j = 0; j < t; j++) ym[j] += Y[i * t + j];
  }
  for (int64_t j = 0; j < f; j++) xm[j] /= (double)n;
  for (int64_t j = 0; j < t; j++) ym[j] /= (double)n;
}

static int check_sizes(ml_ctx *ctx, const char *who, int64_t n, int64_t f, int64_t t) {
  if (n < 1 || f < 1 || t < 1)
    return ml_error(ctx, "%s: expected at least one sample, feature and target, got %lldx%lld "
                    "with %lld targets", who, (long long)n, (long long)f, (long long)t);
  if (n > 2147483647 / (f > t ? f : t))
    return ml_error(ctx, "%s: problem too large (%lld x %lld)", who, (long long)n, (long long)f);
  return ML_OK;
}

/* coef (t x f) and intercept from a solution W stored f x t column-major
 * with leading dimension ldw (W[j + k*ldw]). */
static void finish(const double *W, int64_t ldw, const double *xm, const double *ym, int64_t f,
                   int64_t t, float *coef, float *intercept) {
  for (int64_t k = 0; k < t; k++) {
    double b = ym[k];
    for (int64_t j = 0; j < f; j++) {
      double w = W[j + k * ldw];
      coef[k * f + j] = (float)w;
      b -= xm[j] * w;
    }
    intercept[k] = (float)b;
  }
}

int ml_linear_fit(ml_ctx *ctx, const float *X, const float *Y, int64_t n, int64_t f, int64_t t,
                  bool fit_intercept, float *coef, float *intercept, int *rank) {
  if (check_sizes(ctx, "LinearRegression", n, f, t)) return ML_ERR;
  int64_t ldb = n > f ? n : f, mn = n < f ? n : f;
  double *xm = malloc(sizeof(double) * (size_t)(f + t));
  double *A = malloc(sizeof(double) * (size_t)(n * f));
  double *B = calloc((size_t)(ldb * t), sizeof(double));
  double *sv = malloc(sizeof(double) * (size_t)mn);
  if (!xm || !A || !B || !sv) {
    free(xm); free(A); free(B); free(sv);
    return ml_error(ctx, "LinearRegression: out of memory for %lldx%lld", (long long)n,
                    (long long)f);
  }
  double *ym = xm + f;
  means(X, Y, n, f, t, fit_intercept, xm, ym);
  for (int64_t i = 0; i < n; i++) {   /* column-major, centred */
    for (int64_t j = 0; j < f; j++) A[i + j * n] = (double)X[i * f + j] - xm[j];
    for (int64_t k = 0; k < t; k++) B[i + k * ldb] = (double)Y[i * t + k] - ym[k];
  }
  int rc = ml_lstsq(ctx, (int)n, (int)f, (int)t, A, B, (int)ldb, DBL_EPSILON, rank, sv);
  if (rc == ML_OK) finish(B, ldb, xm, ym, f, t, coef, intercept);
  free(xm); free(A); free(B); free(sv);
  return rc;
}

int ml_ridge_fit(ml_ctx *ctx, const float *X, const float *Y, int64_t n, int64_t f, int64_t t,
                 double alpha, bool fit_intercept, float *coef, float *intercept) {
  if (check_sizes(ctx, "Ridge", n, f, t)) return ML_ERR;
  if (!(alpha >= 0)) return ml_error(ctx, "Ridge: alpha must be >= 0, got %g", alpha);
  bool primal = f <= n;
  int64_t m = primal ? f : n;   /* size of the system */
  double *xm = malloc(sizeof(double) * (size_t)(f + t));
  double *Xc = malloc(sizeof(double) * (size_t)(n * f));
  double *Yc = malloc(sizeof(double) * (size_t)(n * t));
  double *G = malloc(sizeof(double) * (size_t)(m * m));
  double *R = malloc(sizeof(double) * (size_t)(m * t));   /* column-major m x t */
  double *W = malloc(sizeof(double) * (size_t)(f * t));   /* column-major f x t */
  if (!xm || !Xc || !Yc || !G || !R || !W) {
    free(xm); free(Xc); free(Yc); free(G); free(R); free(W);
    return ml_error(ctx, "Ridge: out of memory for %lldx%lld", (long long)n, (long long)f);
  }
  double *ym = xm + f;
  means(X, Y, n, f, t, fit_intercept, xm, ym);
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = 0; j < f; j++) Xc[i * f + j] = (double)X[i * f + j] - xm[j];
    for (int64_t k = 0; k < t; k++) Yc[i * t + k] = (double)Y[i * t + k] - ym[k];
  }
  int rc = ML_OK;
  if (primal) {
    /* (Xc^T Xc + alpha I) W = Xc^T Yc; G is symmetric so row/column order agree */
    ml_dgemm(ctx, true, false, (int)f, (int)f, (int)n, 1.0, Xc, (int)f, Xc, (int)f, 0.0, G, (int)f);
    /* R (column-major f x t) = (Yc^T Xc) row-major t x f */
    ml_dgemm(ctx, true, false, (int)t, (int)f, (int)n, 1.0, Yc, (int)t, Xc, (int)f, 0.0, R, (int)f);
  } else {
    /* kernel form: (Xc Xc^T + alpha I) D = Yc, W = Xc^T D */
    ml_dgemm(ctx, false, true, (int)n, (int)n, (int)f, 1.0, Xc, (int)f, Xc, (int)f, 0.0, G, (int)n);
    for (int64_t i = 0; i < n; i++)
      for (int64_t k = 0; k < t; k++) R[i + k * n] = Yc[i * t + k];
  }
  for (int64_t j = 0; j < m; j++) G[j * m + j] += alpha;
  int pd = ml_posv(ctx, (int)m, (int)t, G, R);
  if (pd < 0) rc = ML_ERR;
  else if (pd == 1) {
    /* singular (alpha = 0 on rank-deficient data): minimum-norm least squares */
    free(G); free(R); free(W); free(Xc); free(Yc); free(xm);
    return ml_linear_fit(ctx, X, Y, n, f, t, fit_intercept, coef, intercept, &(int){0});
  } else if (primal) {
    memcpy(W, R, sizeof(double) * (size_t)(f * t));
  } else {
    for (int64_t k = 0; k < t; k++)
      for (int64_t j = 0; j < f; j++) {
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += Xc[i * f + j] * R[i + k * n];
        W[j + k * f] = s;
      }
  }
  if (rc == ML_OK) finish(W, f, xm, ym, f, t, coef, intercept);
  free(xm); free(Xc); free(Yc); free(G); free(R); free(W);
  return rc;
}
