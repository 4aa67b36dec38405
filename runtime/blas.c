/* blas.c - the one place that talks to OpenBLAS. Everything else calls
 * ml_sgemm; ml_sgemm_ref is the plain-loop twin the tests compare with. */
#include "ml.h"
#include <cblas.h>
#include <string.h>
#include <stdlib.h>

void ml_sgemm(ml_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {   /* BLAS leaves C alone when k = 0; we mean C = beta * C */
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
    return;
  }
  /* OpenBLAS's thread count is process-wide: set it to this engine's. */
  if (openblas_get_num_threads() != ctx->threads) openblas_set_num_threads(ctx->threads);
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void ml_sgemm_ref(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                  const float *a, int lda, const float *b, int ldb, float beta, float *c,
                  int ldc) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int p = 0; p < k; p++) {
        float x = trans_a ? a[p * lda + i] : a[i * lda + p];
        float y = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        s += (double)x * y;
      }
      c[i * ldc + j] = (float)(alpha * s + (beta == 0 ? 0 : beta * c[i * ldc + j]));
    }
}

/* A 2-D float32 operand as BLAS sees it: row-major, or transposed, or a copy. */
typedef struct { ml_tensor t; bool trans; int ld; } gemm_operand;

static int gemm_prepare(ml_ctx *ctx, gemm_operand *g, const ml_tensor *t) {
  ml_tensor f;
  if (ml_to_dtype(ctx, &f, t, ML_F32)) return ML_ERR;
  int64_t r = f.shape[0], c = f.shape[1];
  if ((f.stride[1] == 1 || c == 1) && f.stride[0] >= (c > 1 ? c : 1)) {
    g->t = f; g->trans = false; g->ld = (int)(r > 1 ? f.stride[0] : (c > 1 ? c : 1));
    return ML_OK;
  }
  if ((f.stride[0] == 1 || r == 1) && f.stride[1] >= (r > 1 ? r : 1)) {
    g->t = f; g->trans = true; g->ld = (int)(c > 1 ? f.stride[1] : (r > 1 ? r : 1));
    return ML_OK;
  }
  int rc = ml_clone(ctx, &g->t, &f);
  ml_tensor_release(&f);
  if (rc) return ML_ERR;
  g->trans = false;
  g->ld = (int)(c > 1 ? c : 1);
  return ML_OK;
}

static int matmul2d(ml_ctx *ctx, float *c, const ml_tensor *a, const ml_tensor *b) {
  gemm_operand ga, gb;
  if (gemm_prepare(ctx, &ga, a)) return ML_ERR;
  if (gemm_prepare(ctx, &gb, b)) { ml_tensor_release(&ga.t); return ML_ERR; }
  int m = (int)a->shape[0], k = (int)a->shape[1], n = (int)b->shape[1];
  ml_sgemm(ctx, ga.trans, gb.trans, m, n, k, 1.0f, ml_f32(&ga.t), ga.ld, ml_f32(&gb.t), gb.ld,
           0.0f, c, n > 0 ? n : 1);
  ml_tensor_release(&ga.t);
  ml_tensor_release(&gb.t);
  return ML_OK;
}

int ml_matmul(ml_ctx *ctx, ml_tensor *out, const ml_tensor *a, const ml_tensor *b) {
  char b1[160], b2[160];
  ml_tensor a2, b2t;
  int an = a->ndim, bn = b->ndim;
  if (an < 1 || bn < 1 || an > 3 || bn > 3) goto bad;
  if (an == 3 || bn == 3) {
    /* batched: 3-D @ 3-D with equal batch, or 3-D @ 2-D */
    if (an != 3 || (bn == 3 && b->shape[0] != a->shape[0]) || bn == 1) goto bad;
    int64_t B = a->shape[0], m = a->shape[1], k = a->shape[2];
    int64_t kb = b->shape[bn - 2], n = b->shape[bn - 1];
    if (k != kb) goto bad;
    int64_t shape[3] = {B, m, n};
    if (ml_tensor_new(ctx, out, ML_F32, 3, shape, false)) return ML_ERR;
    for (int64_t i = 0; i < B; i++) {
      ml_tensor ai, bi;
      ml_view_select(ctx, &ai, a, 0, i);
      if (bn == 3) ml_view_select(ctx, &bi, b, 0, i);
      else { bi = *b; ml_tensor_retain(b); }
      int rc = matmul2d(ctx, ml_f32(out) + i * m * n, &ai, &bi);
      ml_tensor_release(&ai);
      ml_tensor_release(&bi);
      if (rc) { ml_tensor_release(out); return ML_ERR; }
    }
    return ML_OK;
  }
  /* 1-D operands become a row (left) or a column (right), then drop out */
  int64_t ash[2] = {an == 1 ? 1 : a->shape[0], an == 1 ? a->shape[0] : a->shape[1]};
  int64_t bsh[2] = {bn == 1 ? b->shape[0] : b->shape[0], bn == 1 ? 1 : b->shape[1]};
  if (ash[1] != bsh[0]) goto bad;
  if (ml_reshape(ctx, &a2, a, 2, ash)) return ML_ERR;
  if (ml_reshape(ctx, &b2t, b, 2, bsh)) { ml_tensor_release(&a2); return ML_ERR; }
  int64_t oshape[2];
  int ond = 0;
  if (an == 2) oshape[ond++] = ash[0];
  if (bn == 2) oshape[ond++] = bsh[1];
  int rc = ml_tensor_new(ctx, out, ML_F32, ond, oshape, false);
  if (rc == ML_OK) {
    rc = matmul2d(ctx, ml_f32(out), &a2, &b2t);
    if (rc) ml_tensor_release(out);
  }
  ml_tensor_release(&a2);
  ml_tensor_release(&b2t);
  return rc;
bad:
  return ml_error(ctx, "matmul: shapes %s and %s do not match",
                  ml_shape_str(b1, sizeof b1, an, a->shape),
                  ml_shape_str(b2, sizeof b2, bn, b->shape));
}

/* ---- linear-svm: double-precision products and LAPACK solvers ----
 * OpenBLAS ships LAPACK; we call its Fortran entry points directly (column-
 * major, arguments by pointer) rather than depend on LAPACKE. */
#include <omp.h>
#include "linalg.h"

void dgelsd_(const int *m, const int *n, const int *nrhs, double *a, const int *lda, double *b,
             const int *ldb, double *s, const double *rcond, int *rank, double *work,
             const int *lwork, int *iwork, int *info);
void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda,
            double *b, const int *ldb, int *info);

/* Inside an OpenMP region OpenBLAS runs serially by itself; outside, use the
 * engine's thread count. */
static void blas_threads(ml_ctx *ctx) {
  if (!omp_in_parallel() && openblas_get_num_threads() != ctx->threads)
    openblas_set_num_threads(ctx->threads);
}

void ml_dgemm(ml_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, double alpha,
              const double *a, int lda, const double *b, int ldb, double beta, double *c,
              int ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
    return;
  }
  blas_threads(ctx);
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void ml_dgemv(ml_ctx *ctx, bool trans, int m, int n, double alpha, const double *a, int lda,
              const double *x, double beta, double *y) {
  if (m <= 0 || n <= 0) return;
  blas_threads(ctx);
  cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, m, n, alpha, a, lda, x, 1,
              beta, y, 1);
}

void ml_sgemv(ml_ctx *ctx, bool trans, int m, int n, float alpha, const float *a, int lda,
              const float *x, float beta, float *y) {
  if (m <= 0 || n <= 0) return;
  blas_threads(ctx);
  cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, m, n, alpha, a, lda, x, 1,
              beta, y, 1);
}

void ml_sgemm_any(ml_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                  const float *a, int lda, const float *b, int ldb, float beta, float *c,
                  int ldc) {
  if (m <= 0 || n <= 0 || k <= 0) {
    ml_sgemm(ctx, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  blas_threads(ctx);
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

int ml_lstsq(ml_ctx *ctx, int m, int n, int nrhs, double *a, double *b, int ldb, double rcond,
             int *rank, double *sv) {
  if (m <= 0 || n <= 0 || nrhs <= 0 || ldb < (m > n ? m : n))
    return ml_error(ctx, "lstsq: bad sizes m=%d n=%d nrhs=%d ldb=%d", m, n, nrhs, ldb);
  int lda = m > 1 ? m : 1, info = 0, lwork = -1, iwq = 0;
  double wq = 0;
  blas_threads(ctx);
  dgelsd_(&m, &n, &nrhs, a, &lda, b, &ldb, sv, &rcond, rank, &wq, &lwork, &iwq, &info);
  if (info != 0) return ml_error(ctx, "lstsq: LAPACK dgelsd workspace query failed (info %d)", info);
  lwork = (int)wq + 1;
  int liw = iwq > 1 ? iwq : 1;
  double *work = malloc(sizeof(double) * (size_t)lwork);
  int *iwork = malloc(sizeof(int) * (size_t)liw);
  if (!work || !iwork) {
    free(work); free(iwork);
    return ml_error(ctx, "lstsq: out of memory for a %dx%d problem", m, n);
  }
  dgelsd_(&m, &n, &nrhs, a, &lda, b, &ldb, sv, &rcond, rank, work, &lwork, iwork, &info);
  free(work);
  free(iwork);
  if (info > 0) return ml_error(ctx, "lstsq: the SVD did not converge (%d superdiagonals)", info);
  if (info < 0) return ml_error(ctx, "lstsq: dgelsd argument %d is invalid", -info);
  return ML_OK;
}

int ml_posv(ml_ctx *ctx, int n, int nrhs, double *a, double *b) {
  int info = 0, ld = n > 1 ? n : 1;
  blas_threads(ctx);
  dposv_("L", &n, &nrhs, a, &ld, b, &ld, &info);
  if (info > 0) return 1;   /* not positive definite: the caller falls back */
  if (info < 0) return ml_error(ctx, "posv: dposv argument %d is invalid", -info);
  return ML_OK;
}
