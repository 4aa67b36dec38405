/* linalg.h - BLAS/LAPACK wrappers beyond ml_sgemm (implemented in blas.c,
 * the only file that includes cblas.h). One section per branch. */
#ifndef ML_LINALG_H
#define ML_LINALG_H
#include "ml.h"

/* ---- linear-svm ---- */
/* C[m x n] = alpha op(A) op(B) + beta C in double, row-major. */
void ml_dgemm(ml_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, double alpha,
              const double *a, int lda, const double *b, int ldb, double beta, double *c,
              int ldc);
/* y = alpha op(A) x + beta y; A m x n row-major. Safe inside an OpenMP region
 * (OpenBLAS then runs serially, and the thread count is left alone). */
void ml_sgemv(ml_ctx *ctx, bool trans, int m, int n, float alpha, const float *a, int lda,
              const float *x, float beta, float *y);
/* The same in double. */
void ml_dgemv(ml_ctx *ctx, bool trans, int m, int n, double alpha, const double *a, int lda,
              const double *x, double beta, double *y);
/* ml_sgemm that is also safe inside an OpenMP region. */
void ml_sgemm_any(ml_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                  const float *a, int lda, const float *b, int ldb, float beta, float *c,
                  int ldc);
/* Minimum-norm least squares min ||A X - B|| by SVD (LAPACK dgelsd).
 * a: m x n column-major (destroyed); b: ldb x nrhs column-major, ldb >=
 * max(m, n), rows 0..n-1 receive X; sv: min(m, n) singular values out;
 * singular values below rcond * s_max count as zero (rank out). */
int ml_lstsq(ml_ctx *ctx, int m, int n, int nrhs, double *a, double *b, int ldb, double rcond,
             int *rank, double *sv);
/* Solves A X = B for symmetric positive definite A (n x n, lower triangle
 * used, destroyed) and B n x nrhs column-major (overwritten by X), by
 * Cholesky (LAPACK dposv). Returns 1 when A is not positive definite. */
int ml_posv(ml_ctx *ctx, int n, int nrhs, double *a, double *b);

#endif
