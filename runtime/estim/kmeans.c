/* kmeans.c - Lloyd's k-means with k-means++ seeding (see kmeans.h). */
#include "kmeans.h"
#include "../blas.h"
#include "threads.h"
#include "../dispatch.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#define KM_CHUNK 256   /* rows per parallel chunk: the chunk stays in cache */

const char *ml_kmeans_check(const ml_kmeans_params *p) {
  if (p->n_clusters < 1) return "n_clusters must be >= 1";
  if (p->n_init < 1) return "n_init must be >= 1";
  if (p->max_iter < 1) return "max_iter must be >= 1";
  if (!(p->tol >= 0)) return "tol must be >= 0";
  return NULL;
}

/* One fit's working memory. X is the centred copy, xn its squared row norms. */
typedef struct {
  ml_ctx *ctx;
  const float *X; const float *xn; int64_t n, d, k; int nt;
  float *C;          /* k x d current centres */
  float *Cn;         /* k x d next centres */
  float *cn;         /* k squared centre norms */
  double *acc;       /* nt x k x d per-thread sums */
  double *cnt;       /* nt x k per-thread counts */
  float *G;          /* nt x KM_CHUNK x k per-thread products */
  int64_t *labels, *old;
  float *mind;       /* n: squared distance to the assigned centre */
  /* mostly-zero data (images): X kept uncentred, also in compressed rows,
   * and the products with the centres cost nnz * k instead of n * d * k */
  bool sparse;
  int64_t *rp; int32_t *ci; float *cv;   /* CSR of X */
  float *Ct;         /* d x kp transposed centres, rows padded to kp (x16) */
  int64_t kp;
} km_work;

typedef float v16f __attribute__((vector_size(64)));   /* GCC vector: SIMD registers */

/* G[r x k] = X[r0 .. r0+m) C^T from the compressed rows and Ct[d x k]. */
ML_HOT static void sparse_dots(const km_work *w, int64_t r0, int64_t m, const float *Ct, int64_t k,
                        float *G) {
  const int64_t kp = w->kp;
  for (int64_t r = 0; r < m; r++) {
    const int64_t q0 = w->rp[r0 + r], q1 = w->rp[r0 + r + 1];
    for (int64_t c0 = 0; c0 < kp; c0 += 16) {
      v16f acc = {0};
      for (int64_t q = q0; q < q1; q++) {
        v16f ct;
        memcpy(&ct, Ct + (int64_t)w->ci[q] * kp + c0, sizeof ct);
        acc += w->cv[q] * ct;
      }
      float tmp[16];
      memcpy(tmp, &acc, sizeof tmp);
      for (int64_t c = c0; c < k && c < c0 + 16; c++) G[r * k + c] = tmp[c - c0];
    }
  }
}

static void centre_norms(km_work *w, const float *C) {
  for (int64_t c = 0; c < w->k; c++) {
    double s = 0;
    for (int64_t j = 0; j < w->d; j++) s += (double)C[c * w->d + j] * C[c * w->d + j];
    w->cn[c] = (float)s;
  }
}

/* Assigns every row to its nearest centre of w->C; with update, sums rows
 * per cluster into acc/cnt. Returns the number of labels that changed. */
/* Rows r0 .. r0+m-1: nearest centre from G (their dot products with the
 * centres), distances, labels, and with update the per-cluster sums. Returns
 * the number of labels that changed. */
ML_HOT static int64_t assign_rows(km_work *w, int64_t r0, int64_t m, const float *G, double *acc,
                                  double *cnt, bool update) {
  int64_t d = w->d, k = w->k, changed = 0;
  for (int64_t r = 0; r < m; r++) {
    int64_t best = 0, i = r0 + r;
    float bv = w->cn[0] - 2 * G[r * k];
    for (int64_t c = 1; c < k; c++) {
      float v = w->cn[c] - 2 * G[r * k + c];
      if (v < bv) { bv = v; best = c; }
    }
    float m2 = bv + w->xn[i];
    w->mind[i] = m2 > 0 ? m2 : 0;
    if (w->labels[i] != best) changed++;
    w->labels[i] = best;
    if (update && w->sparse) {
      double *a = acc + best * d;
      for (int64_t q = w->rp[i]; q < w->rp[i + 1]; q++) a[w->ci[q]] += w->cv[q];
      cnt[best] += 1;
    } else if (update) {
      const float *x = w->X + i * d;
      double *a = acc + best * d;
      for (int64_t j = 0; j < d; j++) a[j] += x[j];
      cnt[best] += 1;
    }
  }
  return changed;
}

static int64_t lloyd_assign(km_work *w, bool update) {
  int64_t n = w->n, d = w->d, k = w->k, changed = 0;
  centre_norms(w, w->C);
  if (w->sparse)
    for (int64_t c = 0; c < k; c++)
      for (int64_t j = 0; j < d; j++) w->Ct[j * w->kp + c] = w->C[c * d + j];
  if (update) {
    memset(w->acc, 0, sizeof(double) * (size_t)(w->nt * k * d));
    memset(w->cnt, 0, sizeof(double) * (size_t)(w->nt * k));
  }
  int64_t nchunks = (n + KM_CHUNK - 1) / KM_CHUNK;
  #pragma omp parallel for num_threads(w->nt) schedule(static) reduction(+:changed)
  for (int64_t ch = 0; ch < nchunks; ch++) {
    int th = omp_get_thread_num();
    int64_t r0 = ch * KM_CHUNK, m = n - r0 < KM_CHUNK ? n - r0 : KM_CHUNK;
    float *G = w->G + (size_t)th * KM_CHUNK * k;
    if (w->sparse) sparse_dots(w, r0, m, w->Ct, k, G);
    else   /* in a team OpenBLAS runs serially; alone, with the engine's threads */
      ml_sgemm(w->ctx, false, true, (int)m, (int)k, (int)d, 1.0f, w->X + r0 * d, (int)d, w->C,
               (int)d, 0.0f, G, (int)k);
    double *acc = w->acc + (size_t)th * k * d, *cnt = w->cnt + (size_t)th * k;
    changed += assign_rows(w, r0, m, G, acc, cnt, update);
  }
  return changed;
}

/* New centres from the per-thread sums into w->Cn; empty clusters take the
 * rows farthest from their centres (scikit-learn's relocation). Returns the
 * summed squared centre shift. */
static double lloyd_update(km_work *w) {
  int64_t n = w->n, d = w->d, k = w->k;
  double *sum = w->acc, *cnt = w->cnt;   /* thread 0's slots receive the total */
  for (int t = 1; t < w->nt; t++) {
    for (int64_t e = 0; e < k * d; e++) sum[e] += w->acc[(size_t)t * k * d + e];
    for (int64_t c = 0; c < k; c++) cnt[c] += w->cnt[(size_t)t * k + c];
  }
  int64_t n_empty = 0;
  for (int64_t c = 0; c < k; c++) if (cnt[c] == 0) n_empty++;
  if (n_empty > 0) {
    /* the n_empty rows farthest from their centres, farthest first */
    int64_t far[n_empty];
    for (int64_t e = 0; e < n_empty; e++) far[e] = -1;
    for (int64_t i = 0; i < n; i++) {
      int64_t pos = n_empty;
      while (pos > 0 && (far[pos - 1] < 0 || w->mind[far[pos - 1]] < w->mind[i])) pos--;
      if (pos >= n_empty) continue;
      for (int64_t e = n_empty - 1; e > pos; e--) far[e] = far[e - 1];
      far[pos] = i;
    }
    int64_t e = 0;
    for (int64_t c = 0; c < k && e < n_empty; c++) {
      if (cnt[c] != 0) continue;
      int64_t i = far[e++];
      if (i < 0) continue;
      int64_t old = w->labels[i];
      const float *x = w->X + i * d;
      for (int64_t j = 0; j < d; j++) { sum[old * d + j] -= x[j]; sum[c * d + j] = x[j]; }
      cnt[c] = 1; cnt[old] -= 1;
    }
  }
  double shift = 0;
  for (int64_t c = 0; c < k; c++)
    for (int64_t j = 0; j < d; j++) {
      float v = cnt[c] > 0 ? (float)(sum[c * d + j] / cnt[c]) : w->C[c * d + j];
      double e = (double)v - w->C[c * d + j];
      shift += e * e;
      w->Cn[c * d + j] = v;
    }
  return shift;
}

static double exact_inertia(km_work *w) {
  double s = 0;
  int64_t d = w->d;
  #pragma omp parallel for num_threads(w->nt) schedule(static) reduction(+:s)
  for (int64_t i = 0; i < w->n; i++) {
    const float *x = w->X + i * d, *c = w->C + w->labels[i] * d;
    double t = 0;
    for (int64_t j = 0; j < d; j++) { double e = (double)x[j] - c[j]; t += e * e; }
    s += t;
  }
  return s;
}

/* G[c * n + i] for rows i0 .. i1-1: the compressed rows times the (at most 16)
 * candidates transposed into 16 lanes, ct[j * 16 + c]. */
ML_HOT static void sparse_cand_rows(const km_work *w, const float *ct, int t, int64_t i0,
                                    int64_t i1, float *G) {
  int64_t n = w->n;
  for (int64_t i = i0; i < i1; i++) {
    v16f acc = {0};
    for (int64_t q = w->rp[i]; q < w->rp[i + 1]; q++) {
      v16f v;
      memcpy(&v, ct + (int64_t)w->ci[q] * 16, sizeof v);
      acc += w->cv[q] * v;
    }
    float tmp[16];
    memcpy(tmp, &acc, sizeof tmp);
    for (int c = 0; c < t; c++) G[(size_t)c * n + i] = tmp[c];
  }
}

/* G[t x n] = Cand[t x d] X^T from the compressed rows (k-means++ trials). */
static void sparse_cand(const km_work *w, const float *Cand, int t, float *G) {
  int64_t n = w->n, d = w->d;
  if (t <= 16) {   /* candidates transposed into 16 lanes: one SIMD sum per row */
    float *ct = calloc((size_t)(d * 16), sizeof(float));
    if (ct) {
      for (int c = 0; c < t; c++)
        for (int64_t j = 0; j < d; j++) ct[j * 16 + c] = Cand[(int64_t)c * d + j];
      int64_t blocks = (n + 255) / 256;
      #pragma omp parallel for num_threads(w->nt) schedule(static)
      for (int64_t b = 0; b < blocks; b++)
        sparse_cand_rows(w, ct, t, b * 256, (b + 1) * 256 < n ? (b + 1) * 256 : n, G);
      free(ct);
      return;
    }
  }
  #pragma omp parallel for num_threads(w->nt) schedule(static)
  for (int64_t i = 0; i < n; i++)
    for (int c = 0; c < t; c++) {
      float s = 0;
      const float *cc = Cand + (int64_t)c * d;
      for (int64_t q = w->rp[i]; q < w->rp[i + 1]; q++) s += w->cv[q] * cc[w->ci[q]];
      G[(size_t)c * n + i] = s;
    }
}

/* Greedy k-means++ into C (scikit-learn's _kmeans_plusplus). */
static int plusplus(ml_ctx *ctx, km_work *w, ml_rng *rng, float *C) {
  int64_t n = w->n, d = w->d, k = w->k;
  int trials = 2 + (int)log((double)k);
  double *closest = malloc(sizeof(double) * (size_t)n);
  double *cum = malloc(sizeof(double) * (size_t)n);
  double *cand_d = malloc(sizeof(double) * (size_t)(trials * n));
  float *G = malloc(sizeof(float) * (size_t)(trials * n));
  float *Cand = malloc(sizeof(float) * (size_t)(trials * d));
  int64_t *ids = malloc(sizeof(int64_t) * (size_t)trials);
  if (!closest || !cum || !cand_d || !G || !Cand || !ids) {
    free(closest); free(cum); free(cand_d); free(G); free(Cand); free(ids);
    return ml_error(ctx, "KMeans: out of memory in k-means++");
  }
  const float *X = w->X, *xn = w->xn;
  int64_t first = (int64_t)ml_rng_below(rng, (uint64_t)n);
  memcpy(C, X + first * d, sizeof(float) * (size_t)d);
  /* distances of every row to a candidate set, via SGEMM */
  #define CAND_DIST(ncand) do { \
      if (w->sparse) sparse_cand(w, Cand, (ncand), G); \
      else ml_sgemm(ctx, false, true, (ncand), (int)n, (int)d, 1.0f, Cand, (int)d, X, (int)d, 0.0f, G, (int)n); \
      for (int t_ = 0; t_ < (ncand); t_++) { \
        double cnorm = xn[ids[t_]]; \
        for (int64_t i_ = 0; i_ < n; i_++) { \
          double v_ = cnorm + xn[i_] - 2.0 * G[(size_t)t_ * n + i_]; \
          cand_d[(size_t)t_ * n + i_] = v_ > 0 ? v_ : 0; } } } while (0)
  ids[0] = first;
  memcpy(Cand, C, sizeof(float) * (size_t)d);
  CAND_DIST(1);
  double pot = 0;
  for (int64_t i = 0; i < n; i++) { closest[i] = cand_d[i]; pot += closest[i]; }
  for (int64_t c = 1; c < k; c++) {
    double run = 0;
    for (int64_t i = 0; i < n; i++) { run += closest[i]; cum[i] = run; }
    for (int t = 0; t < trials; t++) {
      double r = ml_rng_uniform(rng) * pot;
      int64_t lo = 0, hi = n;   /* searchsorted, left: first cum >= r */
      while (lo < hi) { int64_t mid = (lo + hi) / 2; if (cum[mid] < r) lo = mid + 1; else hi = mid; }
      ids[t] = lo < n ? lo : n - 1;
      memcpy(Cand + (size_t)t * d, X + ids[t] * d, sizeof(float) * (size_t)d);
    }
    CAND_DIST(trials);
    int best = 0;
    double best_pot = INFINITY;
    for (int t = 0; t < trials; t++) {
      double s = 0;
      double *cd = cand_d + (size_t)t * n;
      for (int64_t i = 0; i < n; i++) { if (closest[i] < cd[i]) cd[i] = closest[i]; s += cd[i]; }
      if (s < best_pot) { best_pot = s; best = t; }
    }
    pot = best_pot;
    memcpy(closest, cand_d + (size_t)best * n, sizeof(double) * (size_t)n);
    memcpy(C + c * d, X + ids[best] * d, sizeof(float) * (size_t)d);
  }
  #undef CAND_DIST
  free(closest); free(cum); free(cand_d); free(G); free(Cand); free(ids);
  return ML_OK;
}

static int ml_kmeans_fit_impl(ml_ctx *ctx, ml_tensor *centers, ml_tensor *labels, double *inertia,
                  int *n_iter, const ml_tensor *X, const ml_kmeans_params *p,
                  const ml_tensor *init_centers) {
  char b1[128], b2[128];
  const char *msg = ml_kmeans_check(p);
  if (msg) return ml_error(ctx, "KMeans: %s", msg);
  if (X->ndim != 2 || X->dtype != ML_F32)
    return ml_error(ctx, "KMeans: X must be a 2-D float32 tensor, got %s",
                    ml_shape_str(b1, sizeof b1, X->ndim, X->shape));
  int64_t n = X->shape[0], d = X->shape[1], k = p->n_clusters;
  if (n < k)
    return ml_error(ctx, "KMeans: n_samples=%lld should be >= n_clusters=%lld", (long long)n,
                    (long long)k);
  if (d < 1) return ml_error(ctx, "KMeans: X has no features");
  if (p->init == ML_KMEANS_GIVEN &&
      (!init_centers || init_centers->ndim != 2 || init_centers->shape[0] != k ||
       init_centers->shape[1] != d))
    return ml_error(ctx, "KMeans: init centres must be %lldx%lld, got %s", (long long)k,
                    (long long)d, init_centers ? ml_shape_str(b2, sizeof b2, init_centers->ndim,
                    init_centers->shape) : "none");
  ml_tensor xc;
  if (ml_contiguous(ctx, &xc, X)) return ML_ERR;
  int nt = ctx->threads;
  km_work w = {0};
  w.ctx = ctx; w.n = n; w.d = d; w.k = k; w.nt = nt;
  float *Xw = malloc(sizeof(float) * (size_t)(n * d));
  float *xn = malloc(sizeof(float) * (size_t)n);
  double *mean = calloc((size_t)d, sizeof(double)), *var = calloc((size_t)d, sizeof(double));
  float *bestC = malloc(sizeof(float) * (size_t)(k * d));
  int64_t *bestL = malloc(sizeof(int64_t) * (size_t)n);
  w.C = malloc(sizeof(float) * (size_t)(k * d));
  w.Cn = malloc(sizeof(float) * (size_t)(k * d));
  w.cn = malloc(sizeof(float) * (size_t)k);
  w.acc = malloc(sizeof(double) * (size_t)(nt * k * d));
  w.cnt = malloc(sizeof(double) * (size_t)(nt * k));
  w.G = malloc(sizeof(float) * (size_t)(nt * KM_CHUNK * k));
  w.labels = malloc(sizeof(int64_t) * (size_t)n);
  w.old = malloc(sizeof(int64_t) * (size_t)n);
  w.mind = malloc(sizeof(float) * (size_t)n);
  int rc = ML_OK;
  if (!Xw || !xn || !mean || !var || !bestC || !bestL || !w.C || !w.Cn || !w.cn || !w.acc ||
      !w.cnt || !w.G || !w.labels || !w.old || !w.mind) {
    rc = ml_error(ctx, "KMeans: out of memory for %lldx%lld data", (long long)n, (long long)d);
    goto done;
  }
  /* centre the data (double means), and tol relative to the mean variance */
  const float *X0 = ml_f32(&xc);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < d; j++) mean[j] += X0[i * d + j];
  for (int64_t j = 0; j < d; j++) mean[j] /= (double)n;
  int64_t nnz = 0;
  for (int64_t e = 0; e < n * d; e++) nnz += X0[e] != 0;
  w.sparse = (double)nnz < 0.3 * (double)(n * d) && n * d >= 100000;
  bool bad = false;
  #pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float s = 0;
    for (int64_t j = 0; j < d; j++) {
      float v = w.sparse ? X0[i * d + j] : (float)(X0[i * d + j] - mean[j]);
      Xw[i * d + j] = v;
      s += v * v;
    }
    xn[i] = s;
    if (!isfinite(s)) bad = true;
  }
  if (bad) { rc = ml_error(ctx, "KMeans: X contains NaN or infinity"); goto done; }
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < d; j++) {
      double v = X0[i * d + j] - mean[j];
      var[j] += v * v;
    }
  if (w.sparse) {   /* no centring (it would fill the zeros): compressed rows */
    for (int64_t j = 0; j < d; j++) mean[j] = 0;
    w.rp = malloc(sizeof(int64_t) * (size_t)(n + 1));
    w.ci = malloc(sizeof(int32_t) * (size_t)(nnz > 0 ? nnz : 1));
    w.cv = malloc(sizeof(float) * (size_t)(nnz > 0 ? nnz : 1));
    w.kp = (k + 15) / 16 * 16;
    w.Ct = calloc((size_t)(d * w.kp), sizeof(float));
    if (!w.rp || !w.ci || !w.cv || !w.Ct) { rc = ml_error(ctx, "KMeans: out of memory"); goto done; }
    int64_t e = 0;
    w.rp[0] = 0;
    for (int64_t i = 0; i < n; i++) {
      for (int64_t j = 0; j < d; j++)
        if (X0[i * d + j] != 0) { w.ci[e] = (int32_t)j; w.cv[e] = X0[i * d + j]; e++; }
      w.rp[i + 1] = e;
    }
  }
  double mvar = 0;
  for (int64_t j = 0; j < d; j++) mvar += var[j] / (double)n;
  double tol = p->tol * mvar / (double)d;
  w.X = Xw; w.xn = xn;

  ml_rng rng;
  ml_rng_seed(&rng, p->seed);
  int n_init = p->init == ML_KMEANS_GIVEN ? 1 : p->n_init;
  double best_inertia = INFINITY;
  int best_iter = 0;
  for (int run = 0; run < n_init; run++) {
    if (p->init == ML_KMEANS_GIVEN) {
      ml_tensor ic;
      if (ml_to_dtype(ctx, &ic, init_centers, ML_F32)) { rc = ML_ERR; goto done; }
      ml_tensor icc;
      rc = ml_contiguous(ctx, &icc, &ic);
      ml_tensor_release(&ic);
      if (rc) goto done;
      const float *I0 = ml_f32(&icc);
      for (int64_t c = 0; c < k; c++)
        for (int64_t j = 0; j < d; j++) w.C[c * d + j] = (float)(I0[c * d + j] - mean[j]);
      ml_tensor_release(&icc);
    } else if (p->init == ML_KMEANS_RANDOM) {
      /* k distinct rows: a partial Fisher-Yates over row indices */
      int64_t *perm = malloc(sizeof(int64_t) * (size_t)n);
      if (!perm) { rc = ml_error(ctx, "KMeans: out of memory"); goto done; }
      for (int64_t i = 0; i < n; i++) perm[i] = i;
      for (int64_t c = 0; c < k; c++) {
        int64_t j = c + (int64_t)ml_rng_below(&rng, (uint64_t)(n - c));
        int64_t t = perm[c]; perm[c] = perm[j]; perm[j] = t;
        memcpy(w.C + c * d, Xw + perm[c] * d, sizeof(float) * (size_t)d);
      }
      free(perm);
    } else if (plusplus(ctx, &w, &rng, w.C)) { rc = ML_ERR; goto done; }

    for (int64_t i = 0; i < n; i++) w.labels[i] = -1;
    bool strict = false;
    int it;
    for (it = 0; it < p->max_iter; it++) {
      int64_t changed = lloyd_assign(&w, true);
      double shift = lloyd_update(&w);
      float *t = w.C; w.C = w.Cn; w.Cn = t;
      if (changed == 0 && it > 0) { strict = true; break; }
      if (shift <= tol) break;
    }
    /* labels that match the final centres */
    if (!strict) lloyd_assign(&w, false);
    double in = exact_inertia(&w);
    if (in < best_inertia) {
      best_inertia = in;
      best_iter = (it < p->max_iter ? it + 1 : p->max_iter);
      memcpy(bestC, w.C, sizeof(float) * (size_t)(k * d));
      memcpy(bestL, w.labels, sizeof(int64_t) * (size_t)n);
    }
  }
  int64_t cshape[2] = {k, d};
  if (ml_tensor_new(ctx, centers, ML_F32, 2, cshape, false)) { rc = ML_ERR; goto done; }
  if (ml_tensor_new(ctx, labels, ML_I64, 1, &n, false)) {
    ml_tensor_release(centers); rc = ML_ERR; goto done;
  }
  float *Co = ml_f32(centers);
  for (int64_t c = 0; c < k; c++)
    for (int64_t j = 0; j < d; j++) Co[c * d + j] = (float)(bestC[c * d + j] + mean[j]);
  memcpy(ml_i64(labels), bestL, sizeof(int64_t) * (size_t)n);
  *inertia = best_inertia;
  *n_iter = best_iter;
done:
  free(Xw); free(xn); free(mean); free(var); free(bestC); free(bestL);
  free(w.C); free(w.Cn); free(w.cn); free(w.acc); free(w.cnt); free(w.G);
  free(w.labels); free(w.old); free(w.mind);
  free(w.rp); free(w.ci); free(w.cv); free(w.Ct);
  ml_tensor_release(&xc);
  return rc;
}

static int check_pair(ml_ctx *ctx, const char *who, const ml_tensor *X, const ml_tensor *C) {
  char b1[128], b2[128];
  if (X->ndim != 2 || C->ndim != 2 || X->dtype != ML_F32 || C->dtype != ML_F32 ||
      X->shape[1] != C->shape[1])
    return ml_error(ctx, "%s: X %s and centres %s must be 2-D float32 with equal columns", who,
                    ml_shape_str(b1, sizeof b1, X->ndim, X->shape),
                    ml_shape_str(b2, sizeof b2, C->ndim, C->shape));
  if (C->shape[0] < 1) return ml_error(ctx, "%s: no centres", who);
  return ML_OK;
}

static int ml_kmeans_assign_impl(ml_ctx *ctx, ml_tensor *labels, ml_tensor *mind2, const ml_tensor *X,
                     const ml_tensor *centers) {
  if (check_pair(ctx, "kmeans_assign", X, centers)) return ML_ERR;
  ml_tensor D;
  if (ml_sqdist(ctx, &D, X, centers)) return ML_ERR;
  ml_tensor xc, cc;
  if (ml_contiguous(ctx, &xc, X)) { ml_tensor_release(&D); return ML_ERR; }
  if (ml_contiguous(ctx, &cc, centers)) { ml_tensor_release(&D); ml_tensor_release(&xc); return ML_ERR; }
  int64_t n = X->shape[0], k = centers->shape[0], d = X->shape[1];
  int rc = ml_tensor_new(ctx, labels, ML_I64, 1, &n, false);
  if (rc == ML_OK && mind2 && (rc = ml_tensor_new(ctx, mind2, ML_F32, 1, &n, false)))
    ml_tensor_release(labels);
  if (rc == ML_OK) {
    const float *Dp = ml_f32(&D), *Xp = ml_f32(&xc), *Cp = ml_f32(&cc);
    int64_t *L = ml_i64(labels);
    float *M = mind2 ? ml_f32(mind2) : NULL;
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int64_t i = 0; i < n; i++) {
      int64_t best = 0;
      for (int64_t c = 1; c < k; c++) if (Dp[i * k + c] < Dp[i * k + best]) best = c;
      L[i] = best;
      if (M) {
        double t = 0;
        for (int64_t j = 0; j < d; j++) { double e = (double)Xp[i * d + j] - Cp[best * d + j]; t += e * e; }
        M[i] = (float)t;
      }
    }
  }
  ml_tensor_release(&D); ml_tensor_release(&xc); ml_tensor_release(&cc);
  return rc;
}

static int ml_sqdist_impl(ml_ctx *ctx, ml_tensor *out, const ml_tensor *X, const ml_tensor *C) {
  if (check_pair(ctx, "sqdist", X, C)) return ML_ERR;
  ml_tensor xc, cc;
  if (ml_contiguous(ctx, &xc, X)) return ML_ERR;
  if (ml_contiguous(ctx, &cc, C)) { ml_tensor_release(&xc); return ML_ERR; }
  int64_t n = X->shape[0], k = C->shape[0], d = X->shape[1], shape[2] = {n, k};
  if (ml_check_finite(ctx, &xc, "KMeans", "X")) {
    ml_tensor_release(&xc); ml_tensor_release(&cc);
    return ML_ERR;
  }
  int rc = ml_tensor_new(ctx, out, ML_F32, 2, shape, false);
  if (rc == ML_OK) {
    const float *Xp = ml_f32(&xc), *Cp = ml_f32(&cc);
    float *O = ml_f32(out);
    ml_sgemm(ctx, false, true, (int)n, (int)k, (int)d, -2.0f, Xp, (int)d, Cp, (int)d, 0.0f, O, (int)k);
    double *cn = malloc(sizeof(double) * (size_t)k);
    if (!cn) { ml_tensor_release(out); rc = ml_error(ctx, "sqdist: out of memory"); }
    else {
      for (int64_t c = 0; c < k; c++) {
        double s = 0;
        for (int64_t j = 0; j < d; j++) s += (double)Cp[c * d + j] * Cp[c * d + j];
        cn[c] = s;
      }
      #pragma omp parallel for num_threads(ctx->threads) schedule(static)
      for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int64_t j = 0; j < d; j++) s += (double)Xp[i * d + j] * Xp[i * d + j];
        for (int64_t c = 0; c < k; c++) {
          double v = s + cn[c] + O[i * k + c];
          O[i * k + c] = (float)(v > 0 ? v : 0);
        }
      }
      free(cn);
    }
  }
  ml_tensor_release(&xc); ml_tensor_release(&cc);
  return rc;
}

int ml_kmeans_fit(ml_ctx *ctx, ml_tensor *centers, ml_tensor *labels, double *inertia,
                  int *n_iter, const ml_tensor *X, const ml_kmeans_params *p,
                  const ml_tensor *init_centers) {
  int saved = ml_threads_push(ctx, (double)ml_numel(X) * (double)p->n_clusters * 4);
  return ml_threads_pop(ctx, saved, ml_kmeans_fit_impl(ctx, centers, labels, inertia, n_iter, X, p, init_centers));
}

int ml_kmeans_assign(ml_ctx *ctx, ml_tensor *labels, ml_tensor *mind2, const ml_tensor *X,
                     const ml_tensor *centers) {
  int saved = ml_threads_push(ctx, (double)ml_numel(X) * (double)(centers->ndim == 2 ? centers->shape[0] : 1));
  return ml_threads_pop(ctx, saved, ml_kmeans_assign_impl(ctx, labels, mind2, X, centers));
}

int ml_sqdist(ml_ctx *ctx, ml_tensor *out, const ml_tensor *X, const ml_tensor *C) {
  int saved = ml_threads_push(ctx, (double)ml_numel(X) * (double)(C->ndim == 2 ? C->shape[0] : 1));
  return ml_threads_pop(ctx, saved, ml_sqdist_impl(ctx, out, X, C));
}
