/* linalg.h - extra BLAS/LAPACK wrappers (defined at the end of blas.c, the
 * only file that includes cblas.h), one section per branch. */
#ifndef ML_LINALG_H
#define ML_LINALG_H
#include "ml.h"

/* ---- nn-core ---- */
/* Sets OpenBLAS's (process-wide) thread count to ctx->threads. */
void ml_blas_threads(ml_ctx *ctx);
/* ml_sgemm without touching the thread count: for calls from inside an
 * OpenMP parallel region, where OpenBLAS runs single-threaded, so each
 * thread multiplies its own block. Same arguments as ml_sgemm. */
void ml_sgemm_inner(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb, float beta,
                    float *c, int ldc);

/* ---- cluster-decomp ---- */

/* C[n x n] = alpha * A^T A + beta * C for A[k x n] (trans), or
 * alpha * A A^T + beta * C for A[n x k] (!trans), row-major; both triangles
 * are filled on return. */
void ml_dsyrk(ml_ctx *ctx, bool trans, int n, int k, double alpha, const double *a, int lda,
              double beta, double *c, int ldc);
void ml_ssyrk(ml_ctx *ctx, bool trans, int n, int k, float alpha, const float *a, int lda,
              float beta, float *c, int ldc);
/* C[m x n] = alpha * op(A) op(B) + beta * C in double precision, row-major. */
void ml_dgemm(ml_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, double alpha,
              const double *a, int lda, const double *b, int ldb, double beta, double *c,
              int ldc);
/* The m largest eigenpairs of the symmetric a[n x n] (destroyed), 1 <= m <= n:
 * w[m] in decreasing order, z[m x n] row-major with eigenvector i in row i. */
int ml_dsyev_top(ml_ctx *ctx, int n, double *a, int m, double *w, double *z);
/* Thin SVD of a[m x n] row-major (destroyed), r = min(m, n): s[r] decreasing,
 * u[m x r] and vt[r x n] row-major. */
int ml_dgesdd(ml_ctx *ctx, int m, int n, double *a, double *s, double *u, double *vt);

/* ---- linear-svm ---- */
/* y = alpha op(A) x + beta y; A m x n row-major. Safe inside an OpenMP region
 * (OpenBLAS then runs serially, and the thread count is left alone). */
void ml_sgemv(ml_ctx *ctx, bool trans, int m, int n, float alpha, const float *a, int lda,
              const float *x, float beta, float *y);
/* The same in double. */
void ml_dgemv(ml_ctx *ctx, bool trans, int m, int n, double alpha, const double *a, int lda,
              const double *x, double beta, double *y);
/* ml_dgemm that is also safe inside an OpenMP region (and handles k = 0). */
void ml_dgemm_any(ml_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, double alpha,
                  const double *a, int lda, const double *b, int ldb, double beta, double *c,
                  int ldc);
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
