/* linalg.h - BLAS/LAPACK routines beyond SGEMM, wrapped in runtime/blas.c
 * (the only file that includes cblas.h or declares LAPACK). One section per
 * branch that added routines. Matrices are row-major plain arrays unless a
 * comment says otherwise; the functions return the LAPACK info (0 = ok). */
#ifndef ML_LINALG_H
#define ML_LINALG_H

#include "ml.h"

/* ---- cluster-decomp ---- */

/* C[n x n] = alpha * A^T A + beta * C for A[k x n] (trans), or
 * alpha * A A^T + beta * C for A[n x k] (!trans), row-major; both triangles
 * are filled on return. */
void ml_dsyrk(ml_ctx *ctx, bool trans, int n, int k, double alpha, const double *a, int lda,
              double beta, double *c, int ldc);
void ml_ssyrk(ml_ctx *ctx, bool trans, int n, int k, float alpha, const float *a, int lda,
              float beta, float *c, int ldc);
/* ml_sgemm for calls made inside an OpenMP parallel region (one block per
 * thread): leaves the process-wide BLAS thread count alone, and OpenBLAS runs
 * the product on the calling thread. */
void ml_sgemm_serial(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                     const float *a, int lda, const float *b, int ldb, float beta, float *c,
                     int ldc);
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

#endif
