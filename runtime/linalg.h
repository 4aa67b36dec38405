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

#endif
