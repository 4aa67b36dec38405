/* naive_bayes.c - Gaussian naive Bayes fit and joint log-likelihood. */
#include "naive_bayes.h"
#include "threads.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int ml_gnb_fit(ml_ctx *ctx, ml_tensor *theta, ml_tensor *var, ml_tensor *counts,
               double *epsilon, const ml_tensor *X, const ml_tensor *y, int64_t K,
               double var_smoothing) {
  char b1[64], b2[64];
  if (X->ndim != 2 || X->dtype != ML_F32 || y->ndim != 1 || y->dtype != ML_I64 ||
      y->shape[0] != X->shape[0])
    return ml_error(ctx, "GaussianNB: expected X (n x p float32) and n int64 class ids, got %s and %s",
                    ml_shape_str(b1, sizeof b1, X->ndim, X->shape),
                    ml_shape_str(b2, sizeof b2, y->ndim, y->shape));
  if (K < 1) return ml_error(ctx, "GaussianNB: needs at least one class");
  if (!(var_smoothing >= 0)) return ml_error(ctx, "GaussianNB: var_smoothing must be >= 0, got %g", var_smoothing);
  int64_t n = X->shape[0], p = X->shape[1];
  if (n < 1) return ml_error(ctx, "GaussianNB: X is empty");
  if (ml_check_finite(ctx, X, "GaussianNB", "X")) return ML_ERR;
  ml_tensor xc, yc;
  if (ml_contiguous(ctx, &xc, X)) return ML_ERR;
  if (ml_contiguous(ctx, &yc, y)) { ml_tensor_release(&xc); return ML_ERR; }
  const float *x = ml_f32(&xc);
  const int64_t *Y = ml_i64(&yc);
  /* one accounted scratch block: class means and squared deviations (K x p
   * each), class counts (K), global mean and squared deviations (p each) */
  size_t scratch = sizeof(double) * (size_t)(2 * K * p + K + 2 * p);
  double *mu = ml_malloc(ctx, scratch, "GaussianNB");
  int rc = ML_OK;
  if (!mu) { rc = ML_ERR; goto done; }
  memset(mu, 0, scratch);
  double *m2 = mu + K * p, *cnt = m2 + K * p, *gm = cnt + K, *gv = gm + p;
  for (int64_t i = 0; i < n; i++) {
    if (Y[i] < 0 || Y[i] >= K) { rc = ml_error(ctx, "GaussianNB: class id %lld outside 0..%lld", (long long)Y[i], (long long)(K - 1)); goto done; }
    cnt[Y[i]] += 1;
    for (int64_t j = 0; j < p; j++) {
      mu[Y[i] * p + j] += x[i * p + j];
      gm[j] += x[i * p + j];
    }
  }
  for (int64_t c = 0; c < K; c++) {
    if (cnt[c] == 0) { rc = ml_error(ctx, "GaussianNB: class %lld has no samples", (long long)c); goto done; }
    for (int64_t j = 0; j < p; j++) mu[c * p + j] /= cnt[c];
  }
  for (int64_t j = 0; j < p; j++) gm[j] /= (double)n;
  /* two-pass variances: exact enough to match numpy's np.var */
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < p; j++) {
      double e = x[i * p + j] - mu[Y[i] * p + j], g = x[i * p + j] - gm[j];
      m2[Y[i] * p + j] += e * e;
      gv[j] += g * g;
    }
  double vmax = 0;
  for (int64_t j = 0; j < p; j++) if (gv[j] / (double)n > vmax) vmax = gv[j] / (double)n;
  *epsilon = var_smoothing * vmax;
  int64_t shape[2] = {K, p};
  if (ml_tensor_new(ctx, theta, ML_F32, 2, shape, false)) { rc = ML_ERR; goto done; }
  if (ml_tensor_new(ctx, var, ML_F32, 2, shape, false)) { ml_tensor_release(theta); rc = ML_ERR; goto done; }
  if (ml_tensor_new(ctx, counts, ML_F32, 1, &K, false)) {
    ml_tensor_release(theta); ml_tensor_release(var); rc = ML_ERR; goto done;
  }
  for (int64_t c = 0; c < K; c++) {
    ml_f32(counts)[c] = (float)cnt[c];
    for (int64_t j = 0; j < p; j++) {
      ml_f32(theta)[c * p + j] = (float)mu[c * p + j];
      double v = m2[c * p + j] / cnt[c] + *epsilon;
      ml_f32(var)[c * p + j] = (float)(v > 0 ? v : 0);
    }
  }
done:
  ml_free(ctx, mu);
  ml_tensor_release(&xc); ml_tensor_release(&yc);
  return rc;
}

static int ml_gnb_jll_impl(ml_ctx *ctx, ml_tensor *jll, ml_tensor *log_proba, const ml_tensor *X,
               const ml_tensor *theta,
               const ml_tensor *var, const ml_tensor *log_prior) {
  char b1[64], b2[64];
  if (theta->ndim != 2 || var->ndim != 2 || theta->shape[0] != var->shape[0] ||
      theta->shape[1] != var->shape[1] || log_prior->ndim != 1 ||
      log_prior->shape[0] != theta->shape[0] || theta->dtype != ML_F32 || var->dtype != ML_F32 ||
      log_prior->dtype != ML_F32)
    return ml_error(ctx, "GaussianNB: inconsistent fitted state (theta %s, var %s)",
                    ml_shape_str(b1, sizeof b1, theta->ndim, theta->shape),
                    ml_shape_str(b2, sizeof b2, var->ndim, var->shape));
  if (X->ndim != 2 || X->dtype != ML_F32 || X->shape[1] != theta->shape[1])
    return ml_error(ctx, "GaussianNB: X %s must be 2-D float32 with %lld features",
                    ml_shape_str(b1, sizeof b1, X->ndim, X->shape), (long long)theta->shape[1]);
  int64_t n = X->shape[0], p = X->shape[1], K = theta->shape[0];
  if (ml_check_finite(ctx, X, "GaussianNB", "X")) return ML_ERR;
  ml_tensor xc, tc, vc, lc;
  if (ml_contiguous(ctx, &xc, X)) return ML_ERR;
  ml_contiguous(ctx, &tc, theta); ml_contiguous(ctx, &vc, var); ml_contiguous(ctx, &lc, log_prior);
  int64_t shape[2] = {n, K};
  /* accounted scratch: per-class constants (K), inverse variances (K x p) */
  size_t scratch = sizeof(double) * (size_t)(K + K * p);
  double *base = ml_malloc(ctx, scratch, "GaussianNB"), *iv = base ? base + K : NULL;
  int rc = ML_OK;
  if (!base) rc = ML_ERR;
  else if ((rc = ml_tensor_new(ctx, jll, ML_F32, 2, shape, false)) == ML_OK &&
           log_proba && (rc = ml_tensor_new(ctx, log_proba, ML_F32, 2, shape, false)))
    ml_tensor_release(jll);
  if (rc == ML_OK) {
    const float *x = ml_f32(&xc), *th = ml_f32(&tc), *v = ml_f32(&vc), *lp = ml_f32(&lc);
    for (int64_t c = 0; c < K; c++) {
      double s = 0;
      for (int64_t j = 0; j < p; j++) { s += log(2.0 * M_PI * v[c * p + j]); iv[c * p + j] = 1.0 / v[c * p + j]; }
      base[c] = lp[c] - 0.5 * s;
    }
    float *out = ml_f32(jll), *lpo = log_proba ? ml_f32(log_proba) : NULL;
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
      const float *xi = x + i * p;
      double row[K], mx = -INFINITY, se = 0;
      for (int64_t c = 0; c < K; c++) {
        double s = 0;
        const float *t = th + c * p;
        const double *ivc = iv + c * p;
        for (int64_t j = 0; j < p; j++) { double e = (double)xi[j] - t[j]; s += e * e * ivc[j]; }
        row[c] = base[c] - 0.5 * s;
        out[i * K + c] = (float)row[c];
        if (row[c] > mx) mx = row[c];
      }
      if (lpo) {
        for (int64_t c = 0; c < K; c++) se += exp(row[c] - mx);
        double lse = mx + log(se);
        for (int64_t c = 0; c < K; c++) lpo[i * K + c] = (float)(row[c] - lse);
      }
    }
  }
  ml_free(ctx, base);
  ml_tensor_release(&xc); ml_tensor_release(&tc); ml_tensor_release(&vc); ml_tensor_release(&lc);
  return rc;
}

int ml_gnb_jll(ml_ctx *ctx, ml_tensor *jll, ml_tensor *log_proba, const ml_tensor *X,
               const ml_tensor *theta, const ml_tensor *var, const ml_tensor *log_prior) {
  int saved = ml_threads_push(ctx, (double)ml_numel(X) * (double)(theta->ndim == 2 ? theta->shape[0] : 1));
  return ml_threads_pop(ctx, saved, ml_gnb_jll_impl(ctx, jll, log_proba, X, theta, var, log_prior));
}
