/* nmf.c - NMF initialisation, CD and MU solvers, reconstruction error. */
#include "nmf.h"
#include "pca.h"
#include "../blas.h"
#include "threads.h"
#include "../dispatch.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int check_x(ml_ctx *ctx, const char *who, const ml_tensor *X, ml_tensor *xc) {
  char b[128];
  if (X->ndim != 2 || X->dtype != ML_F32)
    return ml_error(ctx, "%s: X must be a 2-D float32 tensor, got %s", who,
                    ml_shape_str(b, sizeof b, X->ndim, X->shape));
  if (ml_contiguous(ctx, xc, X)) return ML_ERR;
  const float *x = ml_f32(xc);
  int64_t N = ml_numel(xc);
  for (int64_t i = 0; i < N; i++) {
    if (!isfinite(x[i])) { ml_tensor_release(xc); return ml_error(ctx, "%s: X contains NaN or infinity", who); }
    if (x[i] < 0) {
      ml_tensor_release(xc);
      return ml_error(ctx, "%s: negative values in X (%g at row %lld, column %lld); NMF needs X >= 0",
                      who, x[i], (long long)(i / X->shape[1] + 1), (long long)(i % X->shape[1] + 1));
    }
  }
  return ML_OK;
}

static int ml_nmf_init_wh_impl(ml_ctx *ctx, ml_tensor *W, ml_tensor *H, const ml_tensor *X, int64_t k,
                   ml_nmf_init mode, uint64_t seed) {
  ml_tensor xc;
  if (check_x(ctx, "NMF", X, &xc)) return ML_ERR;
  int64_t n = X->shape[0], p = X->shape[1], r = n < p ? n : p;
  if (k < 1 || (mode != ML_NMF_RANDOM && k > r)) {
    ml_tensor_release(&xc);
    return ml_error(ctx, "NMF: n_components=%lld must be in 1..%s%lld", (long long)k,
                    mode == ML_NMF_RANDOM ? "" : "min(n_samples, n_features)=", (long long)r);
  }
  int64_t ws[2] = {n, k}, hs[2] = {k, p};
  if (ml_tensor_new(ctx, W, ML_F32, 2, ws, true)) { ml_tensor_release(&xc); return ML_ERR; }
  if (ml_tensor_new(ctx, H, ML_F32, 2, hs, true)) { ml_tensor_release(W); ml_tensor_release(&xc); return ML_ERR; }
  const float *x = ml_f32(&xc);
  float *w = ml_f32(W), *h = ml_f32(H);
  double avg = 0;
  for (int64_t i = 0; i < n * p; i++) avg += x[i];
  avg /= (double)(n * p);
  ml_rng rng;
  ml_rng_seed(&rng, seed);
  if (mode == ML_NMF_RANDOM) {
    double s = sqrt(avg / (double)k);
    for (int64_t i = 0; i < k * p; i++) h[i] = (float)(s * fabs(ml_rng_normal(&rng)));
    for (int64_t i = 0; i < n * k; i++) w[i] = (float)(s * fabs(ml_rng_normal(&rng)));
    ml_tensor_release(&xc);
    return ML_OK;
  }
  /* large tall data: the float32 Gram route (see pca.h) */
  bool fast = p <= n && (double)n * (double)p * (double)p >= ML_SVD_FLOAT_WORK;
  double *A = fast ? NULL : malloc(sizeof(double) * (size_t)(n * p));
  double *U = malloc(sizeof(double) * (size_t)(n * k));
  float *Uf = fast ? malloc(sizeof(float) * (size_t)(n * k)) : NULL;
  double *S = malloc(sizeof(double) * (size_t)k);
  double *V = malloc(sizeof(double) * (size_t)(k * p));
  int rc = ML_OK;
  if (!U || !S || !V || (fast ? !Uf : !A)) { rc = ml_error(ctx, "NMF: out of memory"); goto done; }
  if (fast) {
    if (ml_svd_truncated_f(ctx, x, n, p, k, S, V, Uf)) { rc = ML_ERR; goto done; }
    for (int64_t i = 0; i < n * k; i++) U[i] = Uf[i];
  } else {
    for (int64_t i = 0; i < n * p; i++) A[i] = x[i];
    if (ml_svd_truncated(ctx, A, n, p, k, ML_PCA_AUTO, U, S, V)) { rc = ML_ERR; goto done; }
  }
  /* NNDSVD (Boutsidis & Gallopoulos): the dominant sign part of each pair */
  for (int64_t j = 0; j < k; j++) {
    double xp = 0, xn = 0, yp = 0, yn = 0;
    for (int64_t i = 0; i < n; i++) { double v = U[i * k + j]; if (v > 0) xp += v * v; else xn += v * v; }
    for (int64_t c = 0; c < p; c++) { double v = V[j * p + c]; if (v > 0) yp += v * v; else yn += v * v; }
    xp = sqrt(xp); xn = sqrt(xn); yp = sqrt(yp); yn = sqrt(yn);
    if (j == 0) {
      double sq = sqrt(S[0]);
      for (int64_t i = 0; i < n; i++) w[i * k] = (float)(sq * fabs(U[i * k]));
      for (int64_t c = 0; c < p; c++) h[c] = (float)(sq * fabs(V[c]));
      continue;
    }
    double mp = xp * yp, mn = xn * yn;
    bool pos = mp > mn;
    double sigma = pos ? mp : mn, nx = pos ? xp : xn, ny = pos ? yp : yn;
    double lbd = sqrt(S[j] * sigma);
    for (int64_t i = 0; i < n; i++) {
      double v = U[i * k + j];
      double part = pos ? (v > 0 ? v : 0) : (v < 0 ? -v : 0);
      w[i * k + j] = nx > 0 ? (float)(lbd * part / nx) : 0;
    }
    for (int64_t c = 0; c < p; c++) {
      double v = V[j * p + c];
      double part = pos ? (v > 0 ? v : 0) : (v < 0 ? -v : 0);
      h[j * p + c] = ny > 0 ? (float)(lbd * part / ny) : 0;
    }
  }
  const double eps = 1e-6;
  for (int64_t i = 0; i < n * k; i++) if (w[i] < eps) w[i] = 0;
  for (int64_t i = 0; i < k * p; i++) if (h[i] < eps) h[i] = 0;
  if (mode == ML_NMF_NNDSVDA) {
    for (int64_t i = 0; i < n * k; i++) if (w[i] == 0) w[i] = (float)avg;
    for (int64_t i = 0; i < k * p; i++) if (h[i] == 0) h[i] = (float)avg;
  } else if (mode == ML_NMF_NNDSVDAR) {
    for (int64_t i = 0; i < n * k; i++) if (w[i] == 0) w[i] = (float)fabs(avg * ml_rng_normal(&rng) / 100);
    for (int64_t i = 0; i < k * p; i++) if (h[i] == 0) h[i] = (float)fabs(avg * ml_rng_normal(&rng) / 100);
  }
done:
  free(A); free(U); free(Uf); free(S); free(V);
  ml_tensor_release(&xc);
  if (rc) { ml_tensor_release(W); ml_tensor_release(H); }
  return rc;
}

/* One coordinate-descent sweep over the rows of W[n x k] given
 * HHt[k x k] and XHt[n x k] (scikit-learn's _update_cdnmf_fast; rows are
 * independent, so they run in parallel). Returns the projected-gradient
 * violation. */
static double cd_sweep(int nt, float *W, int64_t n, int64_t k, const double *HHt,
                       const double *XHt) {
  double viol = 0;
  #pragma omp parallel for num_threads(nt) schedule(static) reduction(+:viol)
  for (int64_t i = 0; i < n; i++) {
    float *w = W + i * k;
    for (int64_t t = 0; t < k; t++) {
      double grad = -XHt[i * k + t];
      for (int64_t r = 0; r < k; r++) grad += HHt[t * k + r] * w[r];
      double pg = w[t] == 0 ? (grad < 0 ? grad : 0) : grad;
      viol += fabs(pg);
      double hess = HHt[t * k + t];
      if (hess != 0) { double v = w[t] - grad / hess; w[t] = (float)(v > 0 ? v : 0); }
    }
  }
  return viol;
}

/* G[k x k] = B^T B for B[m x k] float (double result). */
static void gram_f(ml_ctx *ctx, double *G, const float *B, int64_t m, int64_t k, float *tmp) {
  ml_sgemm(ctx, true, false, (int)k, (int)k, (int)m, 1.0f, B, (int)k, B, (int)k, 0.0f, tmp, (int)k);
  for (int64_t e = 0; e < k * k; e++) G[e] = tmp[e];
}

static int ml_nmf_error_impl(ml_ctx *ctx, double *err, const ml_tensor *X, const ml_tensor *W,
                 const ml_tensor *H) {
  char b1[64], b2[64], b3[64];
  if (X->ndim != 2 || W->ndim != 2 || H->ndim != 2 || W->shape[0] != X->shape[0] ||
      H->shape[1] != X->shape[1] || W->shape[1] != H->shape[0] || X->dtype != ML_F32 ||
      W->dtype != ML_F32 || H->dtype != ML_F32)
    return ml_error(ctx, "NMF: shapes X %s, W %s, H %s do not match",
                    ml_shape_str(b1, sizeof b1, X->ndim, X->shape),
                    ml_shape_str(b2, sizeof b2, W->ndim, W->shape),
                    ml_shape_str(b3, sizeof b3, H->ndim, H->shape));
  ml_tensor xc, wc, hc;
  if (ml_contiguous(ctx, &xc, X)) return ML_ERR;
  if (ml_contiguous(ctx, &wc, W)) { ml_tensor_release(&xc); return ML_ERR; }
  if (ml_contiguous(ctx, &hc, H)) { ml_tensor_release(&xc); ml_tensor_release(&wc); return ML_ERR; }
  int64_t n = X->shape[0], p = X->shape[1], k = W->shape[1], B = 256;
  float *R = malloc(sizeof(float) * (size_t)(B * p));
  int rc = ML_OK;
  double s = 0;
  if (!R) rc = ml_error(ctx, "NMF: out of memory");
  else
    for (int64_t r0 = 0; r0 < n; r0 += B) {
      int64_t m = n - r0 < B ? n - r0 : B;
      ml_sgemm(ctx, false, false, (int)m, (int)p, (int)k, 1.0f, ml_f32(&wc) + r0 * k, (int)k,
               ml_f32(&hc), (int)p, 0.0f, R, (int)p);
      const float *x = ml_f32(&xc) + r0 * p;
      for (int64_t e = 0; e < m * p; e++) { double d = (double)x[e] - R[e]; s += d * d; }
    }
  *err = sqrt(s);
  free(R);
  ml_tensor_release(&xc); ml_tensor_release(&wc); ml_tensor_release(&hc);
  return rc;
}

/* X in compressed rows (and, transposed, columns) when it is mostly zeros
 * (images, counts): the two products with X per iteration then cost
 * nnz * k instead of n * p * k. */
typedef struct { int64_t *ptr; int32_t *idx; float *val; } sparse_mat;

static void sparse_free(sparse_mat *a) { free(a->ptr); free(a->idx); free(a->val); }

/* rows: CSR of x[n x p]; cols: CSR of x^T. Returns false when out of memory. */
static bool sparse_build(const float *x, int64_t n, int64_t p, int64_t nnz, sparse_mat *rows,
                         sparse_mat *cols) {
  rows->ptr = calloc((size_t)n + 1, sizeof(int64_t));
  rows->idx = malloc(sizeof(int32_t) * (size_t)(nnz > 0 ? nnz : 1));
  rows->val = malloc(sizeof(float) * (size_t)(nnz > 0 ? nnz : 1));
  cols->ptr = calloc((size_t)p + 1, sizeof(int64_t));
  cols->idx = malloc(sizeof(int32_t) * (size_t)(nnz > 0 ? nnz : 1));
  cols->val = malloc(sizeof(float) * (size_t)(nnz > 0 ? nnz : 1));
  int64_t *fill = calloc((size_t)p, sizeof(int64_t));
  if (!rows->ptr || !rows->idx || !rows->val || !cols->ptr || !cols->idx || !cols->val || !fill) {
    sparse_free(rows); sparse_free(cols); free(fill);
    return false;
  }
  int64_t e = 0;
  for (int64_t i = 0; i < n; i++) {
    for (int64_t j = 0; j < p; j++)
      if (x[i * p + j] != 0) {
        rows->idx[e] = (int32_t)j; rows->val[e] = x[i * p + j]; e++;
        cols->ptr[j + 1]++;
      }
    rows->ptr[i + 1] = e;
  }
  for (int64_t j = 0; j < p; j++) cols->ptr[j + 1] += cols->ptr[j];
  for (int64_t i = 0; i < n; i++)
    for (int64_t q = rows->ptr[i]; q < rows->ptr[i + 1]; q++) {
      int64_t j = rows->idx[q], at = cols->ptr[j] + fill[j]++;
      cols->idx[at] = (int32_t)i; cols->val[at] = rows->val[q];
    }
  free(fill);
  return true;
}

typedef float v16f __attribute__((vector_size(64)));

/* Row i of out = A B for sparse A (CSR) and dense row-major B (c x k), 16
 * columns at a time accumulated in registers (one AVX-512 register, two
 * AVX2 or four SSE ones: the variant is chosen at run time, dispatch.h). */
ML_HOT static void spmm_row(const sparse_mat *a, int64_t i, const float *B, int64_t k, float *out) {
  for (int64_t t0 = 0; t0 < k; t0 += 16) {
    float acc[16] = {0};
    const int64_t q0 = a->ptr[i], q1 = a->ptr[i + 1];
    if (k - t0 >= 16) {
      v16f va = {0};
      for (int64_t q = q0; q < q1; q++) {
        v16f vb;
        memcpy(&vb, B + (int64_t)a->idx[q] * k + t0, sizeof vb);
        va += a->val[q] * vb;
      }
      memcpy(out + i * k + t0, &va, sizeof va);
    } else {
      const int64_t tl = k - t0;
      for (int64_t q = q0; q < q1; q++) {
        const float v = a->val[q], *b = B + (int64_t)a->idx[q] * k + t0;
        for (int64_t t = 0; t < tl; t++) acc[t] += v * b[t];
      }
      memcpy(out + i * k + t0, acc, sizeof(float) * (size_t)tl);
    }
  }
}

/* out[r x k] = A[r x c] B[c x k] for sparse A (CSR), dense row-major B. */
static void spmm(int nt, const sparse_mat *a, int64_t r, const float *B, int64_t k, float *out) {
  #pragma omp parallel for num_threads(nt) schedule(dynamic, 64)
  for (int64_t i = 0; i < r; i++) spmm_row(a, i, B, k, out);
}

static int ml_nmf_solve_impl(ml_ctx *ctx, ml_tensor *W, ml_tensor *H, const ml_tensor *X,
                 const ml_nmf_params *pr, int *n_iter) {
  char b1[64], b2[64], b3[64];
  if (pr->max_iter < 1) return ml_error(ctx, "NMF: max_iter must be >= 1, got %d", pr->max_iter);
  if (!(pr->tol >= 0)) return ml_error(ctx, "NMF: tol must be >= 0, got %g", pr->tol);
  if (X->ndim != 2 || W->ndim != 2 || H->ndim != 2 || W->shape[0] != X->shape[0] ||
      H->shape[1] != X->shape[1] || W->shape[1] != H->shape[0] || W->dtype != ML_F32 ||
      H->dtype != ML_F32 || !ml_is_contiguous(W) || !ml_is_contiguous(H))
    return ml_error(ctx, "NMF: shapes X %s, W %s, H %s do not match (W, H contiguous float32)",
                    ml_shape_str(b1, sizeof b1, X->ndim, X->shape),
                    ml_shape_str(b2, sizeof b2, W->ndim, W->shape),
                    ml_shape_str(b3, sizeof b3, H->ndim, H->shape));
  ml_tensor xc;
  if (check_x(ctx, "NMF", X, &xc)) return ML_ERR;
  int64_t n = X->shape[0], p = X->shape[1], k = W->shape[1];
  const float *x = ml_f32(&xc);
  float *w = ml_f32(W), *h = ml_f32(H);
  int nt = ctx->threads;
  int64_t big = n > p ? n : p;
  float *Ht = malloc(sizeof(float) * (size_t)(p * k));
  float *P = malloc(sizeof(float) * (size_t)(big * k));     /* X H^T or X^T W */
  float *Q = malloc(sizeof(float) * (size_t)(big * k));     /* MU denominators */
  float *tmp = malloc(sizeof(float) * (size_t)(k * k));
  double *G = malloc(sizeof(double) * (size_t)(k * k));
  double *Pd = malloc(sizeof(double) * (size_t)(big * k));
  int rc = ML_OK, it = 0;
  sparse_mat xr = {0}, xt = {0};
  bool sparse = false;
  if (!Ht || !P || !Q || !tmp || !G || !Pd) { rc = ml_error(ctx, "NMF: out of memory"); goto done; }
  {
    int64_t nnz = 0;
    for (int64_t e = 0; e < n * p; e++) nnz += x[e] != 0;
    bool want = pr->sparse > 0 ||
                (pr->sparse == 0 && (double)nnz < 0.3 * (double)(n * p) && n * p >= 100000);
    if (want) sparse = sparse_build(x, n, p, nnz, &xr, &xt);
  }
  for (int64_t j = 0; j < k; j++)
    for (int64_t c = 0; c < p; c++) Ht[c * k + j] = h[j * p + c];

  if (pr->solver == ML_NMF_CD) {
    double viol_init = 0;
    for (it = 1; it <= pr->max_iter; it++) {
      /* W given H: HHt = Ht^T Ht, XHt = X Ht */
      gram_f(ctx, G, Ht, p, k, tmp);
      for (int64_t t = 0; t < k; t++) G[t * k + t] += pr->l2_W;
      if (sparse) spmm(nt, &xr, n, Ht, k, P);
      else ml_sgemm(ctx, false, false, (int)n, (int)k, (int)p, 1.0f, x, (int)p, Ht, (int)k, 0.0f, P, (int)k);
      for (int64_t e = 0; e < n * k; e++) Pd[e] = (double)P[e] - pr->l1_W;
      double viol = cd_sweep(nt, w, n, k, G, Pd);
      if (pr->update_H) {   /* H given W: on X^T, with W as the fixed factor */
        gram_f(ctx, G, w, n, k, tmp);
        for (int64_t t = 0; t < k; t++) G[t * k + t] += pr->l2_H;
        if (sparse) spmm(nt, &xt, p, w, k, P);
        else ml_sgemm(ctx, true, false, (int)p, (int)k, (int)n, 1.0f, x, (int)p, w, (int)k, 0.0f, P, (int)k);
        for (int64_t e = 0; e < p * k; e++) Pd[e] = (double)P[e] - pr->l1_H;
        viol += cd_sweep(nt, Ht, p, k, G, Pd);
      }
      if (it == 1) viol_init = viol;
      if (viol_init == 0) break;
      if (viol / viol_init <= pr->tol) break;
    }
    if (it > pr->max_iter) it = pr->max_iter;
  } else {
    const float eps = FLT_EPSILON;
    double err0 = 0, prev;
    if (ml_nmf_error(ctx, &err0, &xc, W, H)) { rc = ML_ERR; goto done; }
    prev = err0;
    for (it = 1; it <= pr->max_iter; it++) {
      /* W *= (X H^T) / (W H H^T + l1 + l2 W) */
      ml_sgemm(ctx, false, true, (int)k, (int)k, (int)p, 1.0f, h, (int)p, h, (int)p, 0.0f, tmp, (int)k);
      if (sparse) {   /* X H^T through Ht = H^T */
        for (int64_t j = 0; j < k; j++)
          for (int64_t c = 0; c < p; c++) Ht[c * k + j] = h[j * p + c];
        spmm(nt, &xr, n, Ht, k, P);
      } else {
        ml_sgemm(ctx, false, true, (int)n, (int)k, (int)p, 1.0f, x, (int)p, h, (int)p, 0.0f, P, (int)k);
      }
      ml_sgemm(ctx, false, false, (int)n, (int)k, (int)k, 1.0f, w, (int)k, tmp, (int)k, 0.0f, Q, (int)k);
      #pragma omp parallel for num_threads(nt) schedule(static)
      for (int64_t e = 0; e < n * k; e++) {
        float den = Q[e] + (float)pr->l1_W + (float)pr->l2_W * w[e];
        if (den == 0) den = eps;
        w[e] *= P[e] / den;
      }
      if (pr->update_H) {
        /* H *= (W^T X) / (W^T W H + l1 + l2 H) */
        ml_sgemm(ctx, true, false, (int)k, (int)k, (int)n, 1.0f, w, (int)k, w, (int)k, 0.0f, tmp, (int)k);
        if (sparse) {   /* W^T X = (X^T W)^T */
          spmm(nt, &xt, p, w, k, Ht);
          for (int64_t j = 0; j < k; j++)
            for (int64_t c = 0; c < p; c++) P[j * p + c] = Ht[c * k + j];
        } else {
          ml_sgemm(ctx, true, false, (int)k, (int)p, (int)n, 1.0f, w, (int)k, x, (int)p, 0.0f, P, (int)p);
        }
        ml_sgemm(ctx, false, false, (int)k, (int)p, (int)k, 1.0f, tmp, (int)k, h, (int)p, 0.0f, Q, (int)p);
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int64_t e = 0; e < k * p; e++) {
          float den = Q[e] + (float)pr->l1_H + (float)pr->l2_H * h[e];
          if (den == 0) den = eps;
          h[e] *= P[e] / den;
        }
      }
      if (pr->tol > 0 && it % 10 == 0) {
        double e;
        if (ml_nmf_error(ctx, &e, &xc, W, H)) { rc = ML_ERR; goto done; }
        if (err0 > 0 && (prev - e) / err0 < pr->tol) break;
        prev = e;
      }
    }
    if (it > pr->max_iter) it = pr->max_iter;
  }
  if (pr->solver == ML_NMF_CD)
    for (int64_t j = 0; j < k; j++)
      for (int64_t c = 0; c < p; c++) h[j * p + c] = Ht[c * k + j];
  *n_iter = it;
done:
  free(Ht); free(P); free(Q); free(tmp); free(G); free(Pd);
  if (sparse) { sparse_free(&xr); sparse_free(&xt); }
  ml_tensor_release(&xc);
  return rc;
}

int ml_nmf_init_wh(ml_ctx *ctx, ml_tensor *W, ml_tensor *H, const ml_tensor *X, int64_t k,
                   ml_nmf_init mode, uint64_t seed) {
  int saved = ml_threads_push(ctx, (double)ml_numel(X) * (double)(X->ndim == 2 ? (X->shape[0] < X->shape[1] ? X->shape[0] : X->shape[1]) : 1));
  return ml_threads_pop(ctx, saved, ml_nmf_init_wh_impl(ctx, W, H, X, k, mode, seed));
}

int ml_nmf_solve(ml_ctx *ctx, ml_tensor *W, ml_tensor *H, const ml_tensor *X,
                 const ml_nmf_params *pr, int *n_iter) {
  int saved = ml_threads_push(ctx, (double)ml_numel(X) * (double)(W->ndim == 2 ? W->shape[1] : 1) * 2);
  return ml_threads_pop(ctx, saved, ml_nmf_solve_impl(ctx, W, H, X, pr, n_iter));
}

int ml_nmf_error(ml_ctx *ctx, double *err, const ml_tensor *X, const ml_tensor *W,
                 const ml_tensor *H) {
  int saved = ml_threads_push(ctx, (double)ml_numel(X) * (double)(W->ndim == 2 ? W->shape[1] : 1));
  return ml_threads_pop(ctx, saved, ml_nmf_error_impl(ctx, err, X, W, H));
}
