/* svm.c - C-SVC: one-vs-one training over class pairs (in parallel), the
 * libsvm model layout, decision values through SGEMM, Platt scaling with
 * internal 5-fold cross-validation and pairwise coupling for probabilities. */
#include "svm.h"
#include "../blas.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *ml_svc_check(const ml_svc_params *p) {
  if (!(p->C > 0)) return "C must be positive";
  if (!(p->tol > 0)) return "tol must be positive";
  if (!(p->cache_mb > 0)) return "cache_size must be positive";
  if (p->kernel.kind != ML_KERNEL_LINEAR && !(p->kernel.gamma > 0))
    return "gamma must be positive";
  if (p->kernel.kind == ML_KERNEL_POLY && p->kernel.degree < 0) return "degree must be >= 0";
  if (p->max_iter == 0 || p->max_iter < -1) return "max_iter must be -1 or positive";
  return NULL;
}

void ml_svc_model_free(ml_svc_model *m) {
  free(m->support); free(m->n_support); free(m->sv); free(m->dual_coef); free(m->rho);
  free(m->probA); free(m->probB); free(m->n_iter);
  memset(m, 0, sizeof *m);
}

/* ---- Platt scaling (Lin, Lin & Weng 2007: Newton with backtracking) ---- */

static void sigmoid_train(int64_t l, const double *dec, const int8_t *y, double *A, double *B) {
  double prior1 = 0, prior0 = 0;
  for (int64_t i = 0; i < l; i++) { if (y[i] > 0) prior1++; else prior0++; }
  const int max_iter = 100;
  const double min_step = 1e-10, sigma = 1e-12, eps = 1e-5;
  double hi = (prior1 + 1) / (prior1 + 2), lo = 1 / (prior0 + 2);
  double a = 0, b = log((prior0 + 1) / (prior1 + 1)), fval = 0;
  for (int64_t i = 0; i < l; i++) {
    double t = y[i] > 0 ? hi : lo, z = dec[i] * a + b;
    fval += z >= 0 ? t * z + log1p(exp(-z)) : (t - 1) * z + log1p(exp(z));
  }
  for (int it = 0; it < max_iter; it++) {
    double h11 = sigma, h22 = sigma, h21 = 0, g1 = 0, g2 = 0;
    for (int64_t i = 0; i < l; i++) {
      double z = dec[i] * a + b, p, q;
      if (z >= 0) { p = exp(-z) / (1 + exp(-z)); q = 1 / (1 + exp(-z)); }
      else { p = 1 / (1 + exp(z)); q = exp(z) / (1 + exp(z)); }
      double d2 = p * q, t = y[i] > 0 ? hi : lo, d1 = t - p;
      h11 += dec[i] * dec[i] * d2; h22 += d2; h21 += dec[i] * d2;
      g1 += dec[i] * d1; g2 += d1;
    }
    if (fabs(g1) < eps && fabs(g2) < eps) break;
    double det = h11 * h22 - h21 * h21;
    double dA = -(h22 * g1 - h21 * g2) / det, dB = -(-h21 * g1 + h11 * g2) / det;
    double gd = g1 * dA + g2 * dB, step = 1;
    while (step >= min_step) {
      double na = a + step * dA, nb = b + step * dB, nf = 0;
      for (int64_t i = 0; i < l; i++) {
        double t = y[i] > 0 ? hi : lo, z = dec[i] * na + nb;
        nf += z >= 0 ? t * z + log1p(exp(-z)) : (t - 1) * z + log1p(exp(z));
      }
      if (nf < fval + 0.0001 * step * gd) { a = na; b = nb; fval = nf; break; }
      step /= 2;
    }
    if (step < min_step) break;
  }
  *A = a;
  *B = b;
}

static double sigmoid_predict(double dec, double A, double B) {
  double z = dec * A + B;
  return z >= 0 ? exp(-z) / (1 + exp(-z)) : 1 / (1 + exp(z));
}

/* Pairwise coupling (Wu, Lin & Weng 2004, method 2). r: k x k, p: k. */
static void multiclass_probability(int k, const double *r, double *p, double *Q, double *Qp) {
  int max_iter = k > 100 ? k : 100;
  double eps = 0.005 / k;
  for (int t = 0; t < k; t++) {
    p[t] = 1.0 / k;
    Q[t * k + t] = 0;
    for (int j = 0; j < t; j++) {
      Q[t * k + t] += r[j * k + t] * r[j * k + t];
      Q[t * k + j] = Q[j * k + t];
    }
    for (int j = t + 1; j < k; j++) {
      Q[t * k + t] += r[j * k + t] * r[j * k + t];
      Q[t * k + j] = -r[j * k + t] * r[t * k + j];
    }
  }
  for (int it = 0; it < max_iter; it++) {
    double pQp = 0, max_err = 0;
    for (int t = 0; t < k; t++) {
      Qp[t] = 0;
      for (int j = 0; j < k; j++) Qp[t] += Q[t * k + j] * p[j];
      pQp += p[t] * Qp[t];
    }
    for (int t = 0; t < k; t++) max_err = fmax(max_err, fabs(Qp[t] - pQp));
    if (max_err < eps) break;
    for (int t = 0; t < k; t++) {
      double diff = (-Qp[t] + pQp) / Q[t * k + t];
      p[t] += diff;
      pQp = (pQp + diff * (diff * Q[t * k + t] + 2 * Qp[t])) / (1 + diff) / (1 + diff);
      for (int j = 0; j < k; j++) {
        Qp[j] = (Qp[j] + diff * Q[t * k + j]) / (1 + diff);
        p[j] /= (1 + diff);
      }
    }
  }
}

void ml_svc_proba(ml_ctx *ctx, const double *dec, int64_t m, int K, const double *probA,
                  const double *probB, double *prob) {
  const double min_prob = 1e-7;
  int P = K * (K - 1) / 2;
  #pragma omp parallel num_threads(ctx->threads) if (m > 64)
  {
    double *r = malloc(sizeof(double) * (size_t)(K * K * 2 + K));
    #pragma omp for schedule(static)
    for (int64_t s = 0; s < m; s++) {
      if (!r) { for (int k = 0; k < K; k++) prob[s * K + k] = NAN; continue; }
      int p = 0;
      for (int i = 0; i < K; i++)
        for (int j = i + 1; j < K; j++, p++) {
          double v = sigmoid_predict(dec[s * P + p], probA[p], probB[p]);
          v = fmin(fmax(v, min_prob), 1 - min_prob);
          r[i * K + j] = v;
          r[j * K + i] = 1 - v;
        }
      if (K == 2) { prob[s * 2] = r[1]; prob[s * 2 + 1] = r[2]; }
      else multiclass_probability(K, r, prob + s * K, r + K * K, r + 2 * K * K);
    }
    free(r);
  }
}

/* Decision values of a binary solution (alpha over the l training rows of
 * Xtr, labels y) at the rows of Xte (m). */
static void binary_decision(const ml_kernel *k, const float *Xtr, const int8_t *y,
                            const double *alpha, double rho, int64_t l, const float *Xte,
                            int64_t m, int64_t f, double *dec) {
  for (int64_t s = 0; s < m; s++) {
    const float *x = Xte + s * f;
    double xx = 0, sum = 0;
    for (int64_t c = 0; c < f; c++) xx += (double)x[c] * x[c];
    for (int64_t i = 0; i < l; i++) {
      if (alpha[i] == 0) continue;
      const float *z = Xtr + i * f;
      double d = 0, zz = 0;
      for (int64_t c = 0; c < f; c++) { d += (double)x[c] * z[c]; zz += (double)z[c] * z[c]; }
      sum += y[i] * alpha[i] * ml_kernel_eval(k, d, xx, zz);
    }
    dec[s] = sum - rho;
  }
}

/* libsvm's svm_binary_svc_probability: 5-fold decision values, then Platt. */
static int binary_probability(ml_ctx *ctx, const ml_svm_solve_params *sp, const float *X,
                              const int8_t *y, int64_t l, int64_t f, uint64_t seed, double *A,
                              double *B) {
  const int folds = 5;
  int64_t *perm = malloc(sizeof(int64_t) * (size_t)l);
  double *dec = malloc(sizeof(double) * (size_t)l), *alpha = malloc(sizeof(double) * (size_t)l);
  float *Xtr = malloc(sizeof(float) * (size_t)(l * f)), *Xte = malloc(sizeof(float) * (size_t)(l * f));
  int8_t *ytr = malloc((size_t)l);
  double *dte = malloc(sizeof(double) * (size_t)l);
  int rc = ML_OK;
  if (!perm || !dec || !alpha || !Xtr || !Xte || !ytr || !dte) {
    rc = ml_error(ctx, "SVC: out of memory for probability estimates");
    goto done;
  }
  ml_rng rng;
  ml_rng_seed(&rng, seed);
  for (int64_t i = 0; i < l; i++) perm[i] = i;
  ml_rng_shuffle_i64(&rng, perm, l);
  for (int fo = 0; fo < folds && rc == ML_OK; fo++) {
    int64_t begin = fo * l / folds, end = (fo + 1) * l / folds, ntr = 0, np = 0, nn = 0;
    for (int64_t j = 0; j < l; j++) {
      if (j >= begin && j < end) continue;
      memcpy(Xtr + ntr * f, X + perm[j] * f, sizeof(float) * (size_t)f);
      ytr[ntr] = y[perm[j]];
      if (ytr[ntr] > 0) np++; else nn++;
      ntr++;
    }
    int64_t nte = end - begin;
    for (int64_t j = 0; j < nte; j++)
      memcpy(Xte + j * f, X + perm[begin + j] * f, sizeof(float) * (size_t)f);
    if (np == 0 || nn == 0) {
      for (int64_t j = 0; j < nte; j++) dte[j] = np > 0 ? 1 : (nn > 0 ? -1 : 0);
    } else {
      ml_svm_solve_params q = *sp;
      double rho;
      int64_t it;
      bool hm;
      if (ml_svm_solve(ctx, &q, Xtr, ytr, ntr, f, alpha, &rho, &it, &hm)) { rc = ML_ERR; break; }
      binary_decision(&sp->kernel, Xtr, ytr, alpha, rho, ntr, Xte, nte, f, dte);
    }
    for (int64_t j = 0; j < nte; j++) dec[perm[begin + j]] = dte[j];
  }
  if (rc == ML_OK) sigmoid_train(l, dec, y, A, B);
done:
  free(perm); free(dec); free(alpha); free(Xtr); free(Xte); free(ytr); free(dte);
  return rc;
}

int ml_svc_fit(ml_ctx *ctx, const ml_svc_params *p, const float *X, const int64_t *y, int64_t n,
               int64_t f, int K, ml_svc_model *out) {
  const char *msg = ml_svc_check(p);
  if (msg) return ml_error(ctx, "SVC: %s", msg);
  if (K < 2) return ml_error(ctx, "SVC: needs at least 2 classes, got %d", K);
  memset(out, 0, sizeof *out);
  int64_t *count = calloc((size_t)K + 1, sizeof(int64_t));
  int64_t *start = calloc((size_t)K + 1, sizeof(int64_t));
  if (!count || !start) { free(count); free(start); return ml_error(ctx, "SVC: out of memory"); }
  for (int64_t i = 0; i < n; i++) {
    if (y[i] < 0 || y[i] >= K) {
      free(count); free(start);
      return ml_error(ctx, "SVC: class id %lld out of range 0..%d", (long long)y[i], K - 1);
    }
    count[y[i]]++;
  }
  for (int k = 0; k < K; k++) {
    if (count[k] == 0) {
      free(count); free(start);
      return ml_error(ctx, "SVC: class %d has no samples", k);
    }
    start[k + 1] = start[k] + count[k];
  }
  int P = K * (K - 1) / 2;
  int64_t *perm = malloc(sizeof(int64_t) * (size_t)n);      /* grouped position -> sample */
  double *pair_alpha = malloc(sizeof(double) * (size_t)n * (size_t)(K - 1));
  bool *nonzero = calloc((size_t)n, sizeof(bool));
  out->rho = calloc((size_t)P, sizeof(double));
  out->n_iter = calloc((size_t)P, sizeof(int64_t));
  out->n_support = calloc((size_t)K, sizeof(int64_t));
  if (p->probability) {
    out->probA = calloc((size_t)P, sizeof(double));
    out->probB = calloc((size_t)P, sizeof(double));
  }
  int rc = ML_OK;
  if (!perm || !pair_alpha || !nonzero || !out->rho || !out->n_iter ||
      !out->n_support || (p->probability && (!out->probA || !out->probB))) {
    rc = ml_error(ctx, "SVC: out of memory for %lld samples", (long long)n);
    goto done;
  }
  {
    int64_t *fill = calloc((size_t)K, sizeof(int64_t));
    if (!fill) { rc = ml_error(ctx, "SVC: out of memory"); goto done; }
    for (int64_t i = 0; i < n; i++) perm[start[y[i]] + fill[y[i]]++] = i;
    free(fill);
  }
  /* alpha of pair (i, j) for class i's samples lives at
   * pair_alpha[(j - 1) * n + grouped position] and for class j's samples at
   * pair_alpha[i * n + grouped position]: exactly libsvm's sv_coef rows. */
  int nth = ctx->threads > 1 && P > 1 ? ctx->threads : 1;
  size_t cache_bytes = (size_t)(p->cache_mb * 1048576.0 / nth);
  int failed = 0;
  char errmsg[ML_ERR_SIZE] = "";
  bool hit_max = false;
  #pragma omp parallel for num_threads(nth) schedule(dynamic) reduction(|:hit_max)
  for (int pp = 0; pp < P; pp++) {
    if (failed) continue;
    int i = 0, j, q = pp;
    while (q >= K - 1 - i) { q -= K - 1 - i; i++; }
    j = i + 1 + q;
    int64_t ci = count[i], cj = count[j], l = ci + cj;
    ml_ctx local;
    memset(&local, 0, sizeof local);
    local.threads = nth > 1 ? 1 : ctx->threads;
    float *Xs = malloc(sizeof(float) * (size_t)(l * f));
    int8_t *ys = malloc((size_t)l);
    double *al = malloc(sizeof(double) * (size_t)l);
    int r = ML_OK;
    if (!Xs || !ys || !al) r = ml_error(&local, "SVC: out of memory for pair (%d, %d)", i, j);
    if (r == ML_OK) {
      for (int64_t k = 0; k < l; k++) {
        int64_t src = perm[k < ci ? start[i] + k : start[j] + k - ci];
        memcpy(Xs + k * f, X + src * f, sizeof(float) * (size_t)f);
        ys[k] = k < ci ? 1 : -1;
      }
      ml_svm_solve_params sp = {p->kernel, p->C * (p->class_weight ? p->class_weight[i] : 1),
                                p->C * (p->class_weight ? p->class_weight[j] : 1), p->tol,
                                cache_bytes, p->shrinking, p->max_iter};
      if (p->probability)
        r = binary_probability(&local, &sp, Xs, ys, l, f, p->seed + 0x9e3779b97f4a7c15ull * (uint64_t)(pp + 1),
                               &out->probA[pp], &out->probB[pp]);
      bool hm = false;
      if (r == ML_OK)
        r = ml_svm_solve(&local, &sp, Xs, ys, l, f, al, &out->rho[pp], &out->n_iter[pp], &hm);
      hit_max |= hm;
      if (r == ML_OK) {
        for (int64_t k = 0; k < ci; k++)
          pair_alpha[(int64_t)(j - 1) * n + start[i] + k] = al[k];
        for (int64_t k = 0; k < cj; k++)
          pair_alpha[(int64_t)i * n + start[j] + k] = -al[ci + k];
      }
    }
    if (r != ML_OK) {
      #pragma omp critical(svc_err)
      { if (!failed) { failed = 1; memcpy(errmsg, local.err, sizeof errmsg); } }
    }
    free(Xs); free(ys); free(al);
  }
  if (failed) { rc = ml_error(ctx, "%s", errmsg); goto done; }
  out->hit_max = hit_max;
  /* a sample is a support vector when any of its pairs gives it alpha > 0 */
  for (int pp = 0, i = 0; i < K; i++)
    for (int j = i + 1; j < K; j++, pp++) {
      for (int64_t k = 0; k < count[i]; k++)
        if (pair_alpha[(int64_t)(j - 1) * n + start[i] + k] != 0) nonzero[start[i] + k] = true;
      for (int64_t k = 0; k < count[j]; k++)
        if (pair_alpha[(int64_t)i * n + start[j] + k] != 0) nonzero[start[j] + k] = true;
    }
  int64_t n_sv = 0;
  for (int k = 0; k < K; k++)
    for (int64_t q = start[k]; q < start[k + 1]; q++)
      if (nonzero[q]) { out->n_support[k]++; n_sv++; }
  out->K = K; out->n_sv = n_sv; out->f = f;
  out->support = malloc(sizeof(int64_t) * (size_t)(n_sv ? n_sv : 1));
  out->sv = malloc(sizeof(float) * (size_t)(n_sv ? n_sv * f : 1));
  out->dual_coef = calloc((size_t)(n_sv ? n_sv : 1) * (size_t)(K - 1), sizeof(double));
  if (!out->support || !out->sv || !out->dual_coef) {
    rc = ml_error(ctx, "SVC: out of memory for %lld support vectors", (long long)n_sv);
    goto done;
  }
  for (int64_t q = 0, s = 0; q < n; q++) {
    if (!nonzero[q]) continue;
    out->support[s] = perm[q];
    memcpy(out->sv + s * f, X + perm[q] * f, sizeof(float) * (size_t)f);
    /* libsvm's sv_coef rows for this sample's class c: row r holds the pair
     * (c, r + 1) when r >= c, else (r, c) */
    for (int r = 0; r < K - 1; r++) out->dual_coef[(int64_t)r * n_sv + s] = pair_alpha[(int64_t)r * n + q];
    s++;
  }
done:
  free(count); free(start); free(perm); free(pair_alpha); free(nonzero);
  if (rc != ML_OK) ml_svc_model_free(out);
  return rc;
}

int ml_svc_decision(ml_ctx *ctx, const ml_kernel *k, const float *sv, int64_t n_sv, int64_t f,
                    const int64_t *n_support, int K, const double *dual_coef, const double *rho,
                    const float *X, int64_t m, double *dec) {
  int P = K * (K - 1) / 2;
  int64_t tot = 0;
  for (int c = 0; c < K; c++) tot += n_support[c];
  if (tot != n_sv) return ml_error(ctx, "SVC: n_support sums to %lld, expected %lld",
                                   (long long)tot, (long long)n_sv);
  if (m == 0) return ML_OK;
  const int64_t B = 512;
  int64_t *st = malloc(sizeof(int64_t) * (size_t)(K + 1));
  double *svsq = malloc(sizeof(double) * (size_t)(n_sv + 1));
  float *kv = malloc(sizeof(float) * (size_t)(B * (n_sv ? n_sv : 1)));
  if (!st || !svsq || !kv) {
    free(st); free(svsq); free(kv);
    return ml_error(ctx, "SVC: out of memory for decision values of %lld rows", (long long)m);
  }
  st[0] = 0;
  for (int c = 0; c < K; c++) st[c + 1] = st[c] + n_support[c];
  for (int64_t s = 0; s < n_sv; s++) {
    double q = 0;
    for (int64_t c = 0; c < f; c++) q += (double)sv[s * f + c] * sv[s * f + c];
    svsq[s] = q;
  }
  for (int64_t r0 = 0; r0 < m; r0 += B) {
    int64_t nb = m - r0 < B ? m - r0 : B;
    if (n_sv > 0)
      ml_sgemm(ctx, false, true, (int)nb, (int)n_sv, (int)f, 1.0f, X + r0 * f, (int)f, sv,
               (int)f, 0.0f, kv, (int)n_sv);
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int64_t r = 0; r < nb; r++) {
      const float *x = X + (r0 + r) * f;
      double xx = 0;
      for (int64_t c = 0; c < f; c++) xx += (double)x[c] * x[c];
      float *kr = kv + r * n_sv;
      for (int64_t s = 0; s < n_sv; s++) kr[s] = (float)ml_kernel_eval(k, kr[s], xx, svsq[s]);
      int p = 0;
      for (int i = 0; i < K; i++)
        for (int j = i + 1; j < K; j++, p++) {
          double sum = 0;
          const double *ci = dual_coef + (int64_t)(j - 1) * n_sv, *cj = dual_coef + (int64_t)i * n_sv;
          for (int64_t s = st[i]; s < st[i + 1]; s++) sum += ci[s] * kr[s];
          for (int64_t s = st[j]; s < st[j + 1]; s++) sum += cj[s] * kr[s];
          dec[(r0 + r) * P + p] = sum - rho[p];
        }
    }
  }
  free(st); free(svsq); free(kv);
  return ML_OK;
}
