/* blas.h - the engine's matrix kernels over OpenBLAS and its LAPACK, all
 * defined in blas.c (the only file that includes cblas.h). Row-major plain
 * arrays unless a comment says column-major; sizes are ints as BLAS wants.
 *
 * Threads: OpenBLAS's thread count is process-wide. Every function here sets
 * it to ctx->threads when called outside an OpenMP parallel region and leaves
 * it alone inside one (OpenBLAS then runs serially, so each thread of the
 * team multiplies its own block). So every function is safe to call from a
 * parallel region; none needs a "serial" twin. */
#ifndef ML_BLAS_H
#define ML_BLAS_H
#include "ml.h"

/* ---- threads ---- */
/* Sets OpenBLAS's thread count to ctx->threads (outside a parallel region). */
void ml_blas_threads(ml_ctx *ctx);

/* ---- general matrix products ---- */
/* C[m x n] = alpha * op(A) op(B) + beta * C. k = 0 gives C = beta * C (BLAS
 * itself would leave C alone); m or n = 0 does nothing. */
void ml_sgemm(ml_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
void ml_dgemm(ml_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, double alpha,
              const double *a, int lda, const double *b, int ldb, double beta, double *c,
              int ldc);
/* ml_sgemm by plain loops (double accumulation): the reference the tests
 * check the BLAS path against. */
void ml_sgemm_ref(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                  const float *a, int lda, const float *b, int ldb, float beta, float *c,
                  int ldc);
/* y = alpha op(A) x + beta y for A[m x n]. */
void ml_sgemv(ml_ctx *ctx, bool trans, int m, int n, float alpha, const float *a, int lda,
              const float *x, float beta, float *y);
void ml_dgemv(ml_ctx *ctx, bool trans, int m, int n, double alpha, const double *a, int lda,
              const double *x, double beta, double *y);

/* ---- symmetric products ---- */
/* C[n x n] = alpha * A^T A + beta * C for A[k x n] (trans), or
 * alpha * A A^T + beta * C for A[n x k] (!trans); both triangles are filled. */
void ml_ssyrk(ml_ctx *ctx, bool trans, int n, int k, float alpha, const float *a, int lda,
              float beta, float *c, int ldc);
void ml_dsyrk(ml_ctx *ctx, bool trans, int n, int k, double alpha, const double *a, int lda,
              double beta, double *c, int ldc);

/* ---- eigenvalues and singular values (LAPACK) ---- */
/* The m largest eigenpairs of the symmetric a[n x n] (destroyed), 1 <= m <= n:
 * w[m] in decreasing order, z[m x n] with eigenvector i in row i. Returns
 * LAPACK's info (0 on success, -1 on bad sizes or no memory). */
int ml_dsyev_top(ml_ctx *ctx, int n, double *a, int m, double *w, double *z);
/* Thin SVD of a[m x n] (destroyed), r = min(m, n): s[r] decreasing, u[m x r]
 * and vt[r x n]. Returns LAPACK's info (0 on success). */
int ml_dgesdd(ml_ctx *ctx, int m, int n, double *a, double *s, double *u, double *vt);

/* ---- least squares and linear systems (LAPACK, column-major) ---- */
/* Minimum-norm least squares min ||A X - B|| by SVD (dgelsd).
 * a: m x n column-major (destroyed); b: ldb x nrhs column-major, ldb >=
 * max(m, n), rows 0..n-1 receive X; sv: min(m, n) singular values out;
 * singular values below rcond * s_max count as zero (rank out).
 * ML_OK, or ML_ERR with ctx->err set. */
int ml_lstsq(ml_ctx *ctx, int m, int n, int nrhs, double *a, double *b, int ldb, double rcond,
             int *rank, double *sv);
/* Solves A X = B for symmetric positive definite A (n x n, lower triangle
 * used, destroyed) and B n x nrhs column-major (overwritten by X), by
 * Cholesky (dposv). Returns 1 when A is not positive definite (the caller
 * falls back), ML_ERR with ctx->err on bad arguments, else ML_OK. */
int ml_posv(ml_ctx *ctx, int n, int nrhs, double *a, double *b);

#endif
