/* pca.c - truncated SVD (Gram eigenvectors or gesdd) and PCA on top. */
#include "pca.h"
#include "../blas.h"
#include "threads.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* svd_flip(u, vt), u-based: make the largest |u[:, j]| positive. */
static void svd_flip(int64_t n, int64_t p, int64_t k, double *u, double *vt) {
  for (int64_t j = 0; j < k; j++) {
    int64_t best = 0;
    double bv = -1;
    for (int64_t i = 0; i < n; i++) {
      double v = fabs(u[i * k + j]);
      if (v > bv) { bv = v; best = i; }
    }
    if (u[best * k + j] < 0) {
      for (int64_t i = 0; i < n; i++) u[i * k + j] = -u[i * k + j];
      for (int64_t c = 0; c < p; c++) vt[j * p + c] = -vt[j * p + c];
    }
  }
}

int ml_svd_truncated_f(ml_ctx *ctx, const float *a, int64_t n, int64_t p, int64_t k,
                       double *s, double *vt, float *u) {
  int64_t r = n < p ? n : p;
  if (k < 1 || k > r)
    return ml_error(ctx, "svd: k must be in 1..%lld, got %lld", (long long)r, (long long)k);
  int rc = ML_OK;
  if (p > n) {   /* wide: the double route */
    double *ad = malloc(sizeof(double) * (size_t)(n * p));
    double *ud = malloc(sizeof(double) * (size_t)(n * k));
    if (!ad || !ud) rc = ml_error(ctx, "svd: out of memory for %lldx%lld", (long long)n, (long long)p);
    else {
      for (int64_t e = 0; e < n * p; e++) ad[e] = a[e];
      rc = ml_svd_truncated(ctx, ad, n, p, k, ML_PCA_COVARIANCE_EIGH, ud, s, vt);
      if (rc == ML_OK) for (int64_t e = 0; e < n * k; e++) u[e] = (float)ud[e];
    }
    free(ad); free(ud);
    return rc;
  }
  float *Gf = malloc(sizeof(float) * (size_t)(p * p));
  double *G = malloc(sizeof(double) * (size_t)(p * p));
  double *w = malloc(sizeof(double) * (size_t)k);
  float *vf = malloc(sizeof(float) * (size_t)(k * p));
  if (!Gf || !G || !w || !vf) rc = ml_error(ctx, "svd: out of memory for a %lldx%lld Gram matrix", (long long)p, (long long)p);
  else {
    ml_ssyrk(ctx, true, (int)p, (int)n, 1.0f, a, (int)p, 0.0f, Gf, (int)p);
    for (int64_t e = 0; e < p * p; e++) G[e] = Gf[e];
    int info = ml_dsyev_top(ctx, (int)p, G, (int)k, w, vt);
    if (info) rc = ml_error(ctx, "svd: LAPACK syevr failed (info %d)", info);
    else {
      for (int64_t j = 0; j < k; j++) s[j] = w[j] > 0 ? sqrt(w[j]) : 0;
      for (int64_t e = 0; e < k * p; e++) vf[e] = (float)vt[e];
      ml_sgemm(ctx, false, true, (int)n, (int)k, (int)p, 1.0f, a, (int)p, vf, (int)p, 0.0f, u, (int)k);
      /* svd_flip on the scores, then scale them to unit columns */
      for (int64_t j = 0; j < k; j++) {
        int64_t best = 0;
        float bv = -1;
        for (int64_t i = 0; i < n; i++) { float v = fabsf(u[i * k + j]); if (v > bv) { bv = v; best = i; } }
        double sg = u[best * k + j] < 0 ? -1.0 : 1.0, sc = s[j] > 0 ? sg / s[j] : 0;
        for (int64_t i = 0; i < n; i++) u[i * k + j] = (float)(u[i * k + j] * sc);
        if (sg < 0) for (int64_t c = 0; c < p; c++) vt[j * p + c] = -vt[j * p + c];
      }
    }
  }
  free(Gf); free(G); free(w); free(vf);
  return rc;
}

int ml_svd_truncated(ml_ctx *ctx, const double *a, int64_t n, int64_t p, int64_t k,
                     ml_pca_solver solver, double *u, double *s, double *vt) {
  int64_t r = n < p ? n : p;
  if (k < 1 || k > r)
    return ml_error(ctx, "svd: k must be in 1..%lld, got %lld", (long long)r, (long long)k);
  if (solver == ML_PCA_AUTO) solver = ML_PCA_COVARIANCE_EIGH;
  int rc = ML_OK;
  if (solver == ML_PCA_FULL) {
    double *ac = malloc(sizeof(double) * (size_t)(n * p));
    double *sa = malloc(sizeof(double) * (size_t)r);
    double *ua = malloc(sizeof(double) * (size_t)(n * r));
    double *va = malloc(sizeof(double) * (size_t)(r * p));
    if (!ac || !sa || !ua || !va) rc = ml_error(ctx, "svd: out of memory for %lldx%lld", (long long)n, (long long)p);
    else {
      memcpy(ac, a, sizeof(double) * (size_t)(n * p));
      int info = ml_dgesdd(ctx, (int)n, (int)p, ac, sa, ua, va);
      if (info) rc = ml_error(ctx, "svd: LAPACK gesdd failed (info %d)", info);
      else {
        memcpy(s, sa, sizeof(double) * (size_t)k);
        for (int64_t i = 0; i < n; i++) memcpy(u + i * k, ua + i * r, sizeof(double) * (size_t)k);
        memcpy(vt, va, sizeof(double) * (size_t)(k * p));
      }
    }
    free(ac); free(sa); free(ua); free(va);
  } else {
    /* eigenvectors of the smaller Gram matrix give one side; a product the other */
    bool tall = p <= n;
    int64_t g = tall ? p : n;
    double *G = malloc(sizeof(double) * (size_t)(g * g));
    double *w = malloc(sizeof(double) * (size_t)k);
    double *z = malloc(sizeof(double) * (size_t)(k * g));
    if (!G || !w || !z) rc = ml_error(ctx, "svd: out of memory for a %lldx%lld Gram matrix", (long long)g, (long long)g);
    else {
      ml_dsyrk(ctx, tall, (int)g, (int)(tall ? n : p), 1.0, a, (int)p, 0.0, G, (int)g);
      int info = ml_dsyev_top(ctx, (int)g, G, (int)k, w, z);
      if (info) rc = ml_error(ctx, "svd: LAPACK syevr failed (info %d)", info);
      else {
        for (int64_t j = 0; j < k; j++) s[j] = w[j] > 0 ? sqrt(w[j]) : 0;
        if (tall) {   /* z = Vt; U = A V / S */
          memcpy(vt, z, sizeof(double) * (size_t)(k * p));
          ml_dgemm(ctx, false, true, (int)n, (int)k, (int)p, 1.0, a, (int)p, vt, (int)p, 0.0, u, (int)k);
          for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < k; j++) u[i * k + j] = s[j] > 0 ? u[i * k + j] / s[j] : 0;
        } else {      /* z = U^T; Vt = U^T A / S */
          for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < k; j++) u[i * k + j] = z[j * n + i];
          ml_dgemm(ctx, false, false, (int)k, (int)p, (int)n, 1.0, z, (int)n, a, (int)p, 0.0, vt, (int)p);
          for (int64_t j = 0; j < k; j++)
            for (int64_t c = 0; c < p; c++) vt[j * p + c] = s[j] > 0 ? vt[j * p + c] / s[j] : 0;
        }
      }
    }
    free(G); free(w); free(z);
  }
  if (rc == ML_OK) svd_flip(n, p, k, u, vt);
  return rc;
}

static int ml_pca_fit_impl(ml_ctx *ctx, ml_tensor *mean, ml_tensor *components, ml_tensor *explained_var,
               ml_tensor *singular_values, double *total_var, double *ev_d, const ml_tensor *X,
               int64_t m, ml_pca_solver solver) {
  char b[128];
  if (X->ndim != 2 || X->dtype != ML_F32)
    return ml_error(ctx, "PCA: X must be a 2-D float32 tensor, got %s",
                    ml_shape_str(b, sizeof b, X->ndim, X->shape));
  int64_t n = X->shape[0], p = X->shape[1], r = n < p ? n : p;
  if (n < 2) return ml_error(ctx, "PCA: needs at least 2 samples, got %lld", (long long)n);
  if (p < 1) return ml_error(ctx, "PCA: X has no features");
  if (m < 1 || m > r)
    return ml_error(ctx, "PCA: n_components=%lld must be between 1 and min(n_samples, n_features)=%lld",
                    (long long)m, (long long)r);
  ml_tensor xc;
  if (ml_contiguous(ctx, &xc, X)) return ML_ERR;
  const float *X0 = ml_f32(&xc);
  if (solver == ML_PCA_AUTO) solver = p <= n ? ML_PCA_COVARIANCE_EIGH : ML_PCA_FULL;
  /* large tall problems: centred float32 data and the SSYRK Gram */
  bool fast = solver == ML_PCA_COVARIANCE_EIGH && p <= n &&
              (double)n * (double)p * (double)p >= ML_SVD_FLOAT_WORK;
  double *mu = calloc((size_t)p, sizeof(double));
  double *A = fast ? NULL : malloc(sizeof(double) * (size_t)(n * p));
  float *Af = fast ? malloc(sizeof(float) * (size_t)(n * p)) : NULL;
  float *Uf = fast ? malloc(sizeof(float) * (size_t)(n * m)) : NULL;
  double *U = fast ? NULL : malloc(sizeof(double) * (size_t)(n * m));
  double *S = malloc(sizeof(double) * (size_t)m);
  double *Vt = malloc(sizeof(double) * (size_t)(m * p));
  int rc = ML_OK;
  if (!mu || !S || !Vt || (fast ? !Af || !Uf : !A || !U)) {
    rc = ml_error(ctx, "PCA: out of memory");
    goto done;
  }
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < p; j++) mu[j] += X0[i * p + j];
  for (int64_t j = 0; j < p; j++) mu[j] /= (double)n;
  double tot = 0;
  bool bad = false;
  #pragma omp parallel for num_threads(ctx->threads) schedule(static) reduction(+:tot)
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < p; j++) {
      double v = X0[i * p + j] - mu[j];
      if (!isfinite(v)) bad = true;
      if (fast) Af[i * p + j] = (float)v; else A[i * p + j] = v;
      tot += v * v;
    }
  if (bad) { rc = ml_error(ctx, "PCA: X contains NaN or infinity"); goto done; }
  if (fast ? ml_svd_truncated_f(ctx, Af, n, p, m, S, Vt, Uf)
           : ml_svd_truncated(ctx, A, n, p, m, solver, U, S, Vt)) { rc = ML_ERR; goto done; }
  int64_t vshape[1] = {m}, cshape[2] = {m, p};
  ml_tensor *outs[4] = {mean, components, explained_var, singular_values};
  int made = 0;
  if (ml_tensor_new(ctx, mean, ML_F32, 1, &p, false) == ML_OK) made++;
  if (made == 1 && ml_tensor_new(ctx, components, ML_F32, 2, cshape, false) == ML_OK) made++;
  if (made == 2 && ml_tensor_new(ctx, explained_var, ML_F32, 1, vshape, false) == ML_OK) made++;
  if (made == 3 && ml_tensor_new(ctx, singular_values, ML_F32, 1, vshape, false) == ML_OK) made++;
  if (made < 4) {
    for (int i = 0; i < made; i++) ml_tensor_release(outs[i]);
    rc = ML_ERR;
    goto done;
  }
  for (int64_t j = 0; j < p; j++) ml_f32(mean)[j] = (float)mu[j];
  for (int64_t e = 0; e < m * p; e++) ml_f32(components)[e] = (float)Vt[e];
  for (int64_t j = 0; j < m; j++) {
    ml_f32(explained_var)[j] = (float)(S[j] * S[j] / (double)(n - 1));
    ml_f32(singular_values)[j] = (float)S[j];
    if (ev_d) ev_d[j] = S[j] * S[j] / (double)(n - 1);
  }
  *total_var = tot / (double)(n - 1);
done:
  free(mu); free(A); free(Af); free(Uf); free(U); free(S); free(Vt);
  ml_tensor_release(&xc);
  return rc;
}

int ml_pca_fit(ml_ctx *ctx, ml_tensor *mean, ml_tensor *components, ml_tensor *explained_var,
               ml_tensor *singular_values, double *total_var, double *ev_d, const ml_tensor *X,
               int64_t m, ml_pca_solver solver) {
  int saved = ml_threads_push(ctx, (double)ml_numel(X) * (double)(X->ndim == 2 ? (X->shape[0] < X->shape[1] ? X->shape[0] : X->shape[1]) : 1));
  return ml_threads_pop(ctx, saved, ml_pca_fit_impl(ctx, mean, components, explained_var, singular_values, total_var, ev_d, X, m, solver));
}
