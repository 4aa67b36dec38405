/* boosting.c - histogram gradient boosting for classification (log loss),
 * the LightGBM / HistGradientBoosting recipe: every feature is binned once
 * into at most 255 bins (midpoints between distinct values, or quantiles),
 * each tree is grown level by level on per-node gradient/hessian histograms,
 * building the smaller child's histogram and subtracting it from the
 * parent's for the larger one; leaves take one Newton step scaled by the
 * learning rate. Two classes use one tree per round on the log-odds; more
 * classes use one tree per class per round on softmax scores.
 *
 * Trees are stored like CART trees (threshold = the upper edge of the split
 * bin), so prediction runs on raw features; a node's impurity is -(G/H)^2
 * with weight H, which makes the usual impurity-decrease importances equal to
 * the split gains. */
#include "tree.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct { double g, h; int64_t c; } hbin;

typedef struct {
  int64_t start, end;     /* rows[start, end) */
  int32_t id;             /* node id in the tree */
  int depth;
  hbin *hist;             /* d x 256, or NULL */
  double G, H;
} gnode;

/* Bin thresholds of one column: at most max_bins - 1 increasing floats. */
static int column_thresholds(const float *col, int64_t n, int max_bins, uint64_t *keys,
                             uint64_t *tmp, float *thr) {
  for (int64_t i = 0; i < n; i++) keys[i] = ((uint64_t)ml_float_key(col[i]) << 32) | (uint64_t)i;
  ml_sort_u64(keys, tmp, n);
  /* distinct values, in place in tmp as floats */
  float *vals = (float *)tmp;
  int64_t nd = 0;
  for (int64_t i = 0; i < n; i++) {
    float v = col[(uint32_t)keys[i]];
    if (nd == 0 || v > vals[nd - 1]) vals[nd++] = v;
  }
  int nt = 0;
  if (nd <= max_bins) {
    for (int64_t i = 0; i + 1 < nd; i++) {
      double m = (double)vals[i] / 2 + (double)vals[i + 1] / 2;
      float f = (float)m;
      if ((double)f > m || f >= vals[i + 1]) f = nextafterf(f, -INFINITY);
      if (f < vals[i]) f = vals[i];
      thr[nt++] = f;
    }
  } else {
    for (int q = 1; q < max_bins; q++) {
      int64_t pos = (int64_t)((double)q * (double)n / max_bins);
      if (pos >= n) pos = n - 1;
      float v = col[(uint32_t)keys[pos]];
      if (nt == 0 || v > thr[nt - 1]) thr[nt++] = v;
    }
    /* the largest value would make an empty last bin */
    if (nt > 0 && thr[nt - 1] >= vals[nd - 1]) nt--;
  }
  return nt;
}

static inline uint8_t bin_of(const float *thr, int nt, float x) {
  int lo = 0, hi = nt;            /* count of thresholds < x */
  while (lo < hi) { int mid = (lo + hi) / 2; if (thr[mid] < x) lo = mid + 1; else hi = mid; }
  return (uint8_t)lo;
}

static void build_hist(hbin *hist, const uint8_t *B, int64_t n, int d, const int32_t *rows,
                       int64_t start, int64_t end, const float *g, const float *h, int threads) {
  #pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if ((end - start) * d > 400000)
  for (int f = 0; f < d; f++) {
    hbin *hf = hist + (int64_t)f * 256;
    memset(hf, 0, 256 * sizeof *hf);
    const uint8_t *bf = B + (int64_t)f * n;
    for (int64_t i = start; i < end; i++) {
      int32_t r = rows[i];
      hbin *b = hf + bf[r];
      b->g += g[r];
      b->h += h[r];
      b->c++;
    }
  }
}

typedef struct { int feature, bin; double gain, GL, HL; int64_t cL; } gsplit;

static void best_split(const hbin *hist, int d, const int *nbins, double G, double H, int64_t C,
                       const ml_gbm_params *p, gsplit *best) {
  double lam = p->l2_regularization;
  double parent = G * G / (H + lam);
  best->feature = -1;
  best->gain = 1e-7;
  for (int f = 0; f < d; f++) {
    const hbin *hf = hist + (int64_t)f * 256;
    double gl = 0, hl = 0;
    int64_t cl = 0;
    for (int b = 0; b + 1 < nbins[f]; b++) {
      gl += hf[b].g; hl += hf[b].h; cl += hf[b].c;
      if (cl < p->min_samples_leaf) continue;
      if (C - cl < p->min_samples_leaf) break;
      double hr = H - hl, gr = G - gl;
      if (hl < 1e-3 || hr < 1e-3) continue;
      double gain = gl * gl / (hl + lam) + gr * gr / (hr + lam) - parent;
      if (gain > best->gain) {
        best->gain = gain; best->feature = f; best->bin = b;
        best->GL = gl; best->HL = hl; best->cL = cl;
      }
    }
  }
}

static int add_node(ml_tree *t, int64_t cnt, double G, double H, const ml_gbm_params *p,
                    int depth) {
  if (t->n_nodes == t->cap && ml_tree_reserve(t, t->cap * 2) != ML_OK) return -1;
  int32_t id = (int32_t)t->n_nodes++;
  t->feature[id] = -1;
  t->threshold[id] = -2.0f;
  t->left[id] = t->right[id] = -1;
  t->n_samples[id] = cnt;
  t->weighted_n[id] = H;
  t->impurity[id] = H > 0 ? -(G / H) * (G / H) : 0;
  t->value[id] = (float)(-p->learning_rate * G / (H + p->l2_regularization + 1e-15));
  if (depth > t->max_depth) t->max_depth = depth;
  return id;
}

/* Grows one tree on rows[0, m) for gradients g, hessians h. */
static int grow(ml_tree *t, const uint8_t *B, int64_t n, int d, const int *nbins,
                float *const *thr, int32_t *rows, int64_t m, const float *g, const float *h,
                const ml_gbm_params *p, int threads, hbin *pool, int pool_n) {
  if (ml_tree_init(t, 1, 16) != ML_OK) return ML_ERR;
  int cap = 1 << (p->max_depth + 1);
  gnode *level = malloc((size_t)cap * sizeof *level), *next = malloc((size_t)cap * sizeof *next);
  int *free_h = malloc((size_t)pool_n * sizeof *free_h);
  if (!level || !next || !free_h) { free(level); free(next); free(free_h); return ML_ERR; }
  int nfree = pool_n;
  for (int i = 0; i < pool_n; i++) free_h[i] = pool_n - 1 - i;
#define HIST(k) (pool + (int64_t)(k) * d * 256)
#define TAKE() (HIST(free_h[--nfree]))
#define GIVE(hp) (free_h[nfree++] = (int)(((hp) - pool) / ((int64_t)d * 256)))
  double G = 0, H = 0;
  for (int64_t i = 0; i < m; i++) { G += g[rows[i]]; H += h[rows[i]]; }
  int nl = 1, rc = ML_OK;
  level[0] = (gnode){0, m, 0, 0, NULL, G, H};
  if (add_node(t, m, G, H, p, 0) < 0) rc = ML_ERR;
  if (rc == ML_OK && p->max_depth > 0) {
    level[0].hist = TAKE();
    build_hist(level[0].hist, B, n, d, rows, 0, m, g, h, threads);
  }
  for (int depth = 0; rc == ML_OK && depth < p->max_depth && nl > 0; depth++) {
    int nn = 0;
    for (int k = 0; k < nl; k++) {
      gnode *nd = &level[k];
      int64_t C = nd->end - nd->start;
      gsplit s = {.feature = -1};
      if (C >= 2 * p->min_samples_leaf && nd->hist)
        best_split(nd->hist, d, nbins, nd->G, nd->H, C, p, &s);
      if (s.feature < 0) { if (nd->hist) GIVE(nd->hist); continue; }
      /* partition rows by bin <= s.bin */
      const uint8_t *bf = B + (int64_t)s.feature * n;
      int64_t lo = nd->start, hi = nd->end;
      while (lo < hi) {
        if (bf[rows[lo]] <= s.bin) lo++;
        else { hi--; int32_t tt = rows[lo]; rows[lo] = rows[hi]; rows[hi] = tt; }
      }
      t->feature[nd->id] = s.feature;
      t->threshold[nd->id] = thr[s.feature][s.bin];
      double GR = nd->G - s.GL, HR = nd->H - s.HL;
      int l = add_node(t, lo - nd->start, s.GL, s.HL, p, depth + 1);
      int r = add_node(t, nd->end - lo, GR, HR, p, depth + 1);
      if (l < 0 || r < 0) { rc = ML_ERR; break; }
      t->left[nd->id] = l;
      t->right[nd->id] = r;
      gnode L = {nd->start, lo, l, depth + 1, NULL, s.GL, s.HL};
      gnode R = {lo, nd->end, r, depth + 1, NULL, GR, HR};
      if (depth + 1 < p->max_depth) {
        /* the smaller child's histogram is built, the larger is parent - smaller */
        gnode *sm = (L.end - L.start) <= (R.end - R.start) ? &L : &R;
        gnode *lg = sm == &L ? &R : &L;
        sm->hist = TAKE();
        build_hist(sm->hist, B, n, d, rows, sm->start, sm->end, g, h, threads);
        lg->hist = nd->hist;
        for (int64_t q = 0; q < (int64_t)d * 256; q++) {
          lg->hist[q].g -= sm->hist[q].g;
          lg->hist[q].h -= sm->hist[q].h;
          lg->hist[q].c -= sm->hist[q].c;
        }
      } else {
        GIVE(nd->hist);
      }
      next[nn++] = L;
      next[nn++] = R;
    }
    gnode *tmp = level; level = next; next = tmp;
    nl = nn;
  }
#undef HIST
#undef TAKE
#undef GIVE
  free(level); free(next); free(free_h);
  return rc;
}

int ml_gbm_fit(ml_ctx *ctx, ml_ensemble *out, double *baseline, const float *X, int64_t n,
               int d, const int32_t *y, int K, const ml_gbm_params *p) {
  memset(out, 0, sizeof *out);
  if (n < 2 || d < 1) return ml_error(ctx, "gbm_fit: need at least 2 samples and 1 feature");
  if (p->n_estimators < 1)
    return ml_error(ctx, "gbm_fit: n_estimators must be >= 1, got %d", p->n_estimators);
  if (!(p->learning_rate > 0))
    return ml_error(ctx, "gbm_fit: learning_rate must be > 0, got %g", p->learning_rate);
  if (p->max_depth < 1 || p->max_depth > 12)
    return ml_error(ctx, "gbm_fit: max_depth must be between 1 and 12, got %d", p->max_depth);
  if (p->min_samples_leaf < 1)
    return ml_error(ctx, "gbm_fit: min_samples_leaf must be >= 1, got %lld",
                    (long long)p->min_samples_leaf);
  if (!(p->subsample > 0 && p->subsample <= 1))
    return ml_error(ctx, "gbm_fit: subsample must be in (0, 1], got %g", p->subsample);
  if (p->max_bins < 2 || p->max_bins > 255)
    return ml_error(ctx, "gbm_fit: max_bins must be between 2 and 255, got %d", p->max_bins);
  if (!(p->l2_regularization >= 0))
    return ml_error(ctx, "gbm_fit: l2_regularization must be >= 0");
  int Kt = K == 2 ? 1 : K;              /* trees per round */
  int64_t T = (int64_t)p->n_estimators * Kt;
  if (T > 0x7fffffff) return ml_error(ctx, "gbm_fit: too many trees");
  int threads = ctx->threads;
  /* histograms alive at once: one level's nodes plus the next level's */
  int pool_n = p->max_depth >= 2 ? (3 << (p->max_depth - 2)) + 1 : 2;
  uint8_t *B = malloc((size_t)n * (size_t)d);
  float *thr_all = malloc((size_t)d * 256 * sizeof *thr_all);
  float **thr = malloc((size_t)d * sizeof *thr);
  int *nbins = malloc((size_t)d * sizeof *nbins);
  float *raw = malloc((size_t)n * (size_t)Kt * sizeof *raw);
  float *g = malloc((size_t)n * sizeof *g), *h = malloc((size_t)n * sizeof *h);
  float *prob = malloc((size_t)n * (size_t)K * sizeof *prob);
  int32_t *rows = malloc((size_t)n * sizeof *rows);
  int64_t *perm = malloc((size_t)n * sizeof *perm);
  hbin *pool = malloc((size_t)pool_n * (size_t)d * 256 * sizeof *pool);
  int rc = ML_ERR;
  if (!B || !thr_all || !thr || !nbins || !raw || !g || !h || !prob || !rows || !perm || !pool)
    goto oom;
  /* bin every feature once */
  int fail = 0;
  #pragma omp parallel num_threads(threads)
  {
    float *col = malloc((size_t)n * sizeof *col);
    uint64_t *keys = malloc((size_t)n * sizeof *keys), *tmp = malloc((size_t)n * sizeof *tmp);
    #pragma omp for schedule(dynamic, 1)
    for (int f = 0; f < d; f++) {
      if (!col || !keys || !tmp) { fail = 1; continue; }
      for (int64_t i = 0; i < n; i++) col[i] = X[i * d + f];
      thr[f] = thr_all + (int64_t)f * 256;
      int nt = column_thresholds(col, n, p->max_bins, keys, tmp, thr[f]);
      nbins[f] = nt + 1;
      uint8_t *bf = B + (int64_t)f * n;
      for (int64_t i = 0; i < n; i++) bf[i] = bin_of(thr[f], nt, col[i]);
    }
    free(col); free(keys); free(tmp);
  }
  if (fail) goto oom;
  /* baseline: log-odds (binary) or log priors (softmax) */
  double *cnt = calloc((size_t)K, sizeof *cnt);
  if (!cnt) goto oom;
  for (int64_t i = 0; i < n; i++) cnt[y[i]] += 1;
  for (int k = 0; k < K; k++)
    if (cnt[k] == 0) { free(cnt); rc = ml_error(ctx, "gbm_fit: class %d has no samples", k); goto done; }
  if (Kt == 1) baseline[0] = log(cnt[1] / cnt[0]);
  else for (int k = 0; k < K; k++) baseline[k] = log(cnt[k] / (double)n);
  free(cnt);
  for (int64_t i = 0; i < n; i++)
    for (int k = 0; k < Kt; k++) raw[i * Kt + k] = (float)baseline[k];
  if (ml_ensemble_new(ctx, out, (int)T, d, 1) != ML_OK) goto done;
  ml_rng rng;
  ml_rng_seed(&rng, p->seed);
  int64_t m = p->subsample < 1 ? (int64_t)(p->subsample * n) : n;
  if (m < 2) m = 2;
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  for (int r = 0; r < p->n_estimators; r++) {
    /* probabilities from the current raw scores */
    #pragma omp parallel for num_threads(threads) schedule(static) if (n * K > 200000)
    for (int64_t i = 0; i < n; i++) {
      if (Kt == 1) {
        prob[i] = (float)(1.0 / (1.0 + exp(-(double)raw[i])));
      } else {
        double mx = raw[i * Kt], s = 0;
        for (int k = 1; k < K; k++) mx = raw[i * Kt + k] > mx ? raw[i * Kt + k] : mx;
        for (int k = 0; k < K; k++) { double e = exp(raw[i * Kt + k] - mx); prob[i * K + k] = (float)e; s += e; }
        for (int k = 0; k < K; k++) prob[i * K + k] = (float)(prob[i * K + k] / s);
      }
    }
    if (m < n) {   /* rows drawn without replacement for this round */
      for (int64_t i = 0; i < m; i++) {
        int64_t j = i + (int64_t)ml_rng_below(&rng, (uint64_t)(n - i));
        int64_t v = perm[i]; perm[i] = perm[j]; perm[j] = v;
      }
    }
    for (int k = 0; k < Kt; k++) {
      for (int64_t i = 0; i < n; i++) {
        double pk = Kt == 1 ? prob[i] : prob[i * K + k];
        double yk = Kt == 1 ? (y[i] == 1) : (y[i] == k);
        g[i] = (float)(pk - yk);
        double hh = pk * (1 - pk);
        h[i] = (float)(hh > 1e-16 ? hh : 1e-16);
      }
      for (int64_t i = 0; i < m; i++) rows[i] = (int32_t)(m < n ? perm[i] : i);
      ml_tree *t = &out->trees[(int64_t)r * Kt + k];
      if (grow(t, B, n, d, nbins, thr, rows, m, g, h, p, threads, pool, pool_n) != ML_OK)
        goto oom;
      {
        #pragma omp parallel for num_threads(threads) schedule(static) if (n > 50000)
        for (int64_t i = 0; i < n; i++)
          raw[i * Kt + k] += t->value[ml_tree_leaf(t, X + i * d)];
      }
    }
  }
  rc = ML_OK;
  goto done;
oom:
  rc = ml_error(ctx, "gbm_fit: out of memory (%lld samples x %d features)", (long long)n, d);
done:
  free(B); free(thr_all); free(thr); free(nbins); free(raw); free(g); free(h); free(prob);
  free(rows); free(perm); free(pool);
  if (rc != ML_OK) ml_ensemble_free(out);
  return rc;
}
