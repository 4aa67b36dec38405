/* blas.c - the one place that talks to OpenBLAS and its LAPACK (blas.h
 * states the contracts and the thread rule), plus ml_matmul, the tensor-level
 * product over ml_sgemm. ml_sgemm_ref is the plain-loop twin the tests
 * compare with. */
#include "blas.h"
#include <cblas.h>
#include <omp.h>
#include <string.h>
#include <stdlib.h>

/* LAPACK's Fortran entry points as OpenBLAS exports them (no LAPACKE needed):
 * column-major, arguments by pointer; gfortran passes the lengths of
 * character arguments after the others. */
extern void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n,
                    double *a, const int *lda, const double *vl, const double *vu,
                    const int *il, const int *iu, const double *abstol, int *m, double *w,
                    double *z, const int *ldz, int *isuppz, double *work, const int *lwork,
                    int *iwork, const int *liwork, int *info, size_t, size_t, size_t);
extern void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda,
                    double *s, double *u, const int *ldu, double *vt, const int *ldvt,
                    double *work, const int *lwork, int *iwork, int *info, size_t);
extern void dgelsd_(const int *m, const int *n, const int *nrhs, double *a, const int *lda,
                    double *b, const int *ldb, double *s, const double *rcond, int *rank, double *work,
                    const int *lwork, int *iwork, int *info);
extern void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda,
                   double *b, const int *ldb, int *info, size_t);

/* ---- threads ---- */

/* Inside an OpenMP region OpenBLAS runs serially by itself: leave it be. */
void ml_blas_threads(ml_ctx *ctx) {
  if (!omp_in_parallel() && openblas_get_num_threads() != ctx->threads)
    openblas_set_num_threads(ctx->threads);
}

/* Tiles of C, one single-threaded SGEMM call each: halved (sides multiples
 * of 16, down to 64) until a tile is at most 2^26 multiply-adds, and further
 * down to 2^21 while there are fewer than 16 tiles, so up to 16 threads have
 * work; big tiles keep the repacking of A and B panels small. */
#define SGEMM_TILE_MAX ((int64_t)1 << 26)
#define SGEMM_TILE_WORK ((int64_t)1 << 21)
#define SGEMM_TILES 16
#define SGEMM_TILE_MIN 64

/* ---- general matrix products ---- */

void ml_sgemm(ml_ctx *ctx, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
              const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {   /* BLAS leaves C alone when k = 0; we mean C = beta * C */
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
    return;
  }
  /* Determinism across thread counts: OpenBLAS's own threading picks its
   * kernels and blocking by the thread count, so C's bits changed between 1
   * and 2 threads. Instead C is cut into tiles whose shape depends only on
   * (m, n, k), each tile is one single-threaded SGEMM (the whole k-reduction
   * of an element happens inside one call), and the engine's threads share
   * the tiles: the same calls on the same data at any thread count. */
  int bm = m, bn = n;
  for (;;) {
    int64_t work = (int64_t)bm * bn * k;
    int64_t tiles = (int64_t)((m + bm - 1) / bm) * ((n + bn - 1) / bn);
    if (!(work > SGEMM_TILE_MAX || (work > SGEMM_TILE_WORK && tiles < SGEMM_TILES)) ||
        (bm <= SGEMM_TILE_MIN && bn <= SGEMM_TILE_MIN)) break;
    if (bm >= bn) bm = (bm / 2 + 15) / 16 * 16;
    else bn = (bn / 2 + 15) / 16 * 16;
  }
  int tm = (m + bm - 1) / bm, tn = (n + bn - 1) / bn, tiles = tm * tn;
  bool region = omp_in_parallel();
  /* OpenBLAS's thread count is process-wide; inside an active OpenMP region
   * it runs serially by itself, outside we make it serial (a team of one
   * thread is not an active region) */
  if (!region && openblas_get_num_threads() != 1) openblas_set_num_threads(1);
  int nt = region || tiles == 1 ? 1 : (ctx->threads < tiles ? ctx->threads : tiles);
  CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  #pragma omp parallel for num_threads(nt) schedule(static) if(nt > 1)
  for (int t = 0; t < tiles; t++) {
    int i0 = (t / tn) * bm, j0 = (t % tn) * bn;
    int mi = m - i0 < bm ? m - i0 : bm, nj = n - j0 < bn ? n - j0 : bn;
    const float *at = trans_a ? a + i0 : a + (size_t)i0 * lda;
    const float *bt = trans_b ? b + (size_t)j0 * ldb : b + j0;
    cblas_sgemm(CblasRowMajor, ta, tb, mi, nj, k, alpha, at, lda, bt, ldb, beta,
                c + (size_t)i0 * ldc + j0, ldc);
  }
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
  ml_blas_threads(ctx);
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
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

void ml_sgemv(ml_ctx *ctx, bool trans, int m, int n, float alpha, const float *a, int lda,
              const float *x, float beta, float *y) {
  if (m <= 0 || n <= 0) return;
  ml_blas_threads(ctx);
  cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, m, n, alpha, a, lda, x, 1,
              beta, y, 1);
}

void ml_dgemv(ml_ctx *ctx, bool trans, int m, int n, double alpha, const double *a, int lda,
              const double *x, double beta, double *y) {
  if (m <= 0 || n <= 0) return;
  ml_blas_threads(ctx);
  cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, m, n, alpha, a, lda, x, 1,
              beta, y, 1);
}

/* ---- the tensor product ---- */

/* A 2-D operand as BLAS sees it, in dtype d (float32 or float64):
 * row-major, or transposed, or a copy. */
typedef struct { ml_tensor t; bool trans; int ld; } gemm_operand;

static int gemm_prepare(ml_ctx *ctx, gemm_operand *g, const ml_tensor *t, ml_dtype d) {
  ml_tensor f;
  if (ml_to_dtype(ctx, &f, t, d)) return ML_ERR;
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

/* c[m x n] (out's storage from element offset c0) = a @ b, SGEMM for a
 * float32 out, DGEMM for float64. */
static int matmul2d(ml_ctx *ctx, ml_tensor *out, int64_t c0, const ml_tensor *a,
                    const ml_tensor *b) {
  gemm_operand ga, gb;
  ml_dtype d = out->dtype;
  if (gemm_prepare(ctx, &ga, a, d)) return ML_ERR;
  if (gemm_prepare(ctx, &gb, b, d)) { ml_tensor_release(&ga.t); return ML_ERR; }
  int m = (int)a->shape[0], k = (int)a->shape[1], n = (int)b->shape[1];
  if (d == ML_F64)
    ml_dgemm(ctx, ga.trans, gb.trans, m, n, k, 1.0, ml_f64(&ga.t), ga.ld, ml_f64(&gb.t), gb.ld,
             0.0, ml_f64(out) + c0, n > 0 ? n : 1);
  else
    ml_sgemm(ctx, ga.trans, gb.trans, m, n, k, 1.0f, ml_f32(&ga.t), ga.ld, ml_f32(&gb.t), gb.ld,
             0.0f, ml_f32(out) + c0, n > 0 ? n : 1);
  ml_tensor_release(&ga.t);
  ml_tensor_release(&gb.t);
  return ML_OK;
}

int ml_matmul(ml_ctx *ctx, ml_tensor *out, const ml_tensor *a, const ml_tensor *b) {
  char b1[160], b2[160];
  ml_tensor a2, b2t;
  int an = a->ndim, bn = b->ndim;
  /* float64 if either operand is; integers multiply as float32 */
  ml_dtype d = a->dtype == ML_F64 || b->dtype == ML_F64 ? ML_F64 : ML_F32;
  if (an < 1 || bn < 1 || an > 3 || bn > 3) goto bad;
  for (int i = 0; i < an; i++) if (a->shape[i] > INT32_MAX) goto big;
  for (int i = 0; i < bn; i++) if (b->shape[i] > INT32_MAX) goto big;
  if (an == 3 || bn == 3) {
    /* batched: 3-D @ 3-D with equal batch, or 3-D @ 2-D */
    if (an != 3 || (bn == 3 && b->shape[0] != a->shape[0]) || bn == 1) goto bad;
    int64_t B = a->shape[0], m = a->shape[1], k = a->shape[2];
    int64_t kb = b->shape[bn - 2], n = b->shape[bn - 1];
    if (k != kb) goto bad;
    int64_t shape[3] = {B, m, n};
    if (ml_tensor_new(ctx, out, d, 3, shape, false)) return ML_ERR;
    for (int64_t i = 0; i < B; i++) {
      ml_tensor ai, bi;
      ml_view_select(ctx, &ai, a, 0, i);
      if (bn == 3) ml_view_select(ctx, &bi, b, 0, i);
      else { bi = *b; ml_tensor_retain(b); }
      int rc = matmul2d(ctx, out, i * m * n, &ai, &bi);
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
  int rc = ml_tensor_new(ctx, out, d, ond, oshape, false);
  if (rc == ML_OK) {
    rc = matmul2d(ctx, out, 0, &a2, &b2t);
    if (rc) ml_tensor_release(out);
  }
  ml_tensor_release(&a2);
  ml_tensor_release(&b2t);
  return rc;
big:
  return ml_error(ctx, "matmul: shapes %s and %s: sizes above 2^31-1 are not supported",
                  ml_shape_str(b1, sizeof b1, an, a->shape),
                  ml_shape_str(b2, sizeof b2, bn, b->shape));
bad:
  return ml_error(ctx, "matmul: shapes %s and %s do not match",
                  ml_shape_str(b1, sizeof b1, an, a->shape),
                  ml_shape_str(b2, sizeof b2, bn, b->shape));
}

/* ---- symmetric products ---- */

/* Fill the upper triangle of a row-major symmetric matrix from the lower. */
static void mirror_lower_d(int n, double *c, int ldc) {
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) c[i * ldc + j] = c[j * ldc + i];
}

static void mirror_lower_s(int n, float *c, int ldc) {
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) c[i * ldc + j] = c[j * ldc + i];
}

void ml_ssyrk(ml_ctx *ctx, bool trans, int n, int k, float alpha, const float *a, int lda,
              float beta, float *c, int ldc) {
  if (n <= 0) return;
  if (k <= 0) {
    for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) c[i * ldc + j] *= beta;
    return;
  }
  ml_blas_threads(ctx);
  cblas_ssyrk(CblasRowMajor, CblasLower, trans ? CblasTrans : CblasNoTrans, n, k, alpha, a,
              lda, beta, c, ldc);
  mirror_lower_s(n, c, ldc);
}

void ml_dsyrk(ml_ctx *ctx, bool trans, int n, int k, double alpha, const double *a, int lda,
              double beta, double *c, int ldc) {
  if (n <= 0) return;
  if (k <= 0) {
    for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) c[i * ldc + j] *= beta;
    return;
  }
  ml_blas_threads(ctx);
  cblas_dsyrk(CblasRowMajor, CblasLower, trans ? CblasTrans : CblasNoTrans, n, k, alpha, a,
              lda, beta, c, ldc);
  mirror_lower_d(n, c, ldc);
}

/* ---- eigenvalues and singular values ---- */

int ml_dsyev_top(ml_ctx *ctx, int n, double *a, int m, double *w, double *z) {
  if (n <= 0 || m <= 0 || m > n) return -1;
  /* the tridiagonal reduction is BLAS-2 bound: extra threads only add
   * synchronisation below a few thousand rows */
  int want = n < 2048 ? 1 : ctx->threads;
  if (openblas_get_num_threads() != want) openblas_set_num_threads(want);
  /* a symmetric matrix reads the same in either order; ask for indices
   * n-m+1..n (ascending), then reverse to decreasing order */
  int il = n - m + 1, iu = n, found = 0, info = 0, lwork = -1, liwork = -1, iwq = 0;
  double vl = 0, vu = 0, abstol = 0, wq = 0;
  size_t bi = sizeof(int) * 2 * (size_t)n, bw = sizeof(double) * (size_t)n,
         bz = sizeof(double) * (size_t)n * m;
  int *isuppz = ml_malloc(ctx, bi, "eigh");
  double *wa = ml_malloc(ctx, bw, "eigh");
  double *za = ml_malloc(ctx, bz, "eigh");
  if (!isuppz || !wa || !za) {
    ml_free(ctx, isuppz); ml_free(ctx, wa); ml_free(ctx, za);
    return -1;
  }
  dsyevr_("V", "I", "L", &n, a, &n, &vl, &vu, &il, &iu, &abstol, &found, wa, za, &n, isuppz,
          &wq, &lwork, &iwq, &liwork, &info, 1, 1, 1);
  lwork = (int)wq; liwork = iwq;
  size_t bwork = sizeof(double) * (size_t)(lwork > 1 ? lwork : 1);
  size_t biwork = sizeof(int) * (size_t)(liwork > 1 ? liwork : 1);
  double *work = ml_malloc(ctx, bwork, "eigh");
  int *iwork = ml_malloc(ctx, biwork, "eigh");
  if (!work || !iwork) info = -1;
  else dsyevr_("V", "I", "L", &n, a, &n, &vl, &vu, &il, &iu, &abstol, &found, wa, za, &n,
               isuppz, work, &lwork, iwork, &liwork, &info, 1, 1, 1);
  if (info == 0 && found != m) info = -2;
  if (info == 0)
    for (int i = 0; i < m; i++) {   /* column-major column i = eigenvector, ascending */
      w[i] = wa[m - 1 - i];
      memcpy(z + (size_t)i * n, za + (size_t)(m - 1 - i) * n, sizeof(double) * (size_t)n);
    }
  ml_free(ctx, work); ml_free(ctx, iwork);
  ml_free(ctx, isuppz); ml_free(ctx, wa); ml_free(ctx, za);
  return info;
}

int ml_dgesdd(ml_ctx *ctx, int m, int n, double *a, double *s, double *u, double *vt) {
  if (m <= 0 || n <= 0) return -1;
  /* threads pay off only for big factorisations (the bidiagonal reduction
   * is half BLAS-2); below that they cost synchronisation */
  int want = (double)m * n * (m < n ? m : n) >= 1e9 ? ctx->threads : 1;
  if (openblas_get_num_threads() != want) openblas_set_num_threads(want);
  /* The row-major m x n buffer is the column-major n x m matrix A^T = V S U^T:
   * LAPACK's "U" of it is our Vt (row-major r x n), its "VT" our U (m x r). */
  int r = m < n ? m : n, info = 0, lwork = -1;
  double wq = 0;
  size_t biwork = sizeof(int) * 8 * (size_t)r;
  int *iwork = ml_malloc(ctx, biwork, "svd");
  if (!iwork) return -1;
  dgesdd_("S", &n, &m, a, &n, s, vt, &n, u, &r, &wq, &lwork, iwork, &info, 1);
  lwork = (int)wq;
  size_t bwork = sizeof(double) * (size_t)(lwork > 1 ? lwork : 1);
  double *work = ml_malloc(ctx, bwork, "svd");
  if (!work) { ml_free(ctx, iwork); return -1; }
  dgesdd_("S", &n, &m, a, &n, s, vt, &n, u, &r, work, &lwork, iwork, &info, 1);
  ml_free(ctx, work); ml_free(ctx, iwork);
  return info;
}

/* ---- least squares and linear systems ---- */

int ml_lstsq(ml_ctx *ctx, int m, int n, int nrhs, double *a, double *b, int ldb, double rcond,
             int *rank, double *sv) {
  if (m <= 0 || n <= 0 || nrhs <= 0 || ldb < (m > n ? m : n))
    return ml_error(ctx, "lstsq: bad sizes m=%d n=%d nrhs=%d ldb=%d", m, n, nrhs, ldb);
  int lda = m > 1 ? m : 1, info = 0, lwork = -1, iwq = 0;
  double wq = 0;
  ml_blas_threads(ctx);
  dgelsd_(&m, &n, &nrhs, a, &lda, b, &ldb, sv, &rcond, rank, &wq, &lwork, &iwq, &info);
  if (info != 0) return ml_error(ctx, "lstsq: LAPACK dgelsd workspace query failed (info %d)", info);
  lwork = (int)wq + 1;
  int liw = iwq > 1 ? iwq : 1;
  size_t bwork = sizeof(double) * (size_t)lwork, biwork = sizeof(int) * (size_t)liw;
  double *work = ml_malloc(ctx, bwork, "lstsq");
  int *iwork = ml_malloc(ctx, biwork, "lstsq");
  if (!work || !iwork) {   /* ml_alloc named the size and the limit in ctx->err */
    ml_free(ctx, work); ml_free(ctx, iwork);
    return ML_ERR;
  }
  dgelsd_(&m, &n, &nrhs, a, &lda, b, &ldb, sv, &rcond, rank, work, &lwork, iwork, &info);
  ml_free(ctx, work);
  ml_free(ctx, iwork);
  if (info > 0) return ml_error(ctx, "lstsq: the SVD did not converge (%d superdiagonals)", info);
  if (info < 0) return ml_error(ctx, "lstsq: dgelsd argument %d is invalid", -info);
  return ML_OK;
}

int ml_posv(ml_ctx *ctx, int n, int nrhs, double *a, double *b) {
  int info = 0, ld = n > 1 ? n : 1;
  ml_blas_threads(ctx);
  dposv_("L", &n, &nrhs, a, &ld, b, &ld, &info, 1);
  if (info > 0) return 1;   /* not positive definite: the caller falls back */
  if (info < 0) return ml_error(ctx, "posv: dposv argument %d is invalid", -info);
  return ML_OK;
}
