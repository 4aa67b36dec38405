/* boosting.c - histogram gradient boosting for classification (log loss),
 * the LightGBM / HistGradientBoosting recipe: every feature is binned once
 * into at most 255 bins (midpoints between distinct values, or quantiles),
 * each tree is grown level by level on per-node gradient/hessian histograms,
 * building the smaller child's histogram (one pass over the entries outside
 * each feature's most frequent bin, so sparse and one-hot columns cost
 * little) and subtracting it from the parent's for the larger one; leaves take one Newton step scaled by the
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

/* The binned training data. Besides the dense bins (for routing rows to
 * children), each feature keeps the rows whose bin is not the feature's most
 * frequent one (zeros of sparse or one-hot columns): histograms are summed
 * over those only and the frequent bin is the node total minus the rest. */
typedef struct {
  int64_t n;
  int d;
  const uint8_t *B;        /* d x n dense bins */
  const int *nbins;        /* [d] */
  const int64_t *hoff;     /* [d + 1] offsets of each feature's bins in a histogram */
  const uint8_t *mode;     /* [d] most frequent bin */
  const int64_t *sp_start; /* [d + 1] */
  const int32_t *sp_row;   /* [nnz] */
  const uint8_t *sp_bin;   /* [nnz] */
  float *const *thr;       /* [d] bin upper edges */
} binned;

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

typedef struct { int feature, bin; double gain, GL, HL; int64_t cL; } gsplit;

/* Best split of one feature's histogram (gain above the minimum, else
 * feature = -1): left = bins <= bin. */
static void feature_split(const hbin *hf, int nb, int f, double G, double H, int64_t C,
                          const ml_gbm_params *p, gsplit *best) {
  double lam = p->l2_regularization;
  double parent = G * G / (H + lam);
  best->feature = -1;
  best->gain = 1e-7;
  double gl = 0, hl = 0;
  int64_t cl = 0;
  for (int b = 0; b + 1 < nb; b++) {
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

typedef struct {
  int32_t id;             /* tree node */
  double G, H;
  int64_t C;
  hbin *hist;             /* [hoff[d]] or NULL */
  int split;              /* 1 when split at this level */
  gsplit s;
  int left, right;        /* child slots in the next level */
} gnode;

/* Histograms of the level's nodes with build[k] >= 0, in one pass over the
 * sparse entries; node_of[r] is the row's slot at this level (-1: none). */
static void build_level(const binned *bd, gnode *lv, int nl, const int *build,
                        const int32_t *node_of, const float *g, const float *h, int threads,
                        int64_t work) {
  int d = bd->d;
  #pragma omp parallel for num_threads(threads) schedule(dynamic, 8) if (work > 300000)
  for (int f = 0; f < d; f++) {
    int64_t off = bd->hoff[f];
    int nb = bd->nbins[f];
    for (int k = 0; k < nl; k++)
      if (build[k] >= 0) memset(lv[k].hist + off, 0, (size_t)nb * sizeof(hbin));
    for (int64_t e = bd->sp_start[f]; e < bd->sp_start[f + 1]; e++) {
      int32_t r = bd->sp_row[e], k = node_of[r];
      if (k < 0 || build[k] < 0) continue;
      hbin *hb = lv[k].hist + off + bd->sp_bin[e];
      hb->g += g[r];
      hb->h += h[r];
      hb->c++;
    }
    int mb = bd->mode[f];
    for (int k = 0; k < nl; k++) {
      if (build[k] < 0) continue;
      hbin *hf = lv[k].hist + off;
      double sg = 0, sh = 0;
      int64_t sc = 0;
      for (int b = 0; b < nb; b++)
        if (b != mb) { sg += hf[b].g; sh += hf[b].h; sc += hf[b].c; }
      hf[mb].g = lv[k].G - sg;
      hf[mb].h = lv[k].H - sh;
      hf[mb].c = lv[k].C - sc;
    }
  }
}

/* Grows one tree level by level on the sampled rows rows[0, m); leaf_of[r]
 * gets the leaf reached by each sampled row. */
static int grow(ml_tree *t, const binned *bd, const int32_t *rows, int64_t m, const float *g,
                const float *h, const ml_gbm_params *p, int threads, int32_t *node_of,
                int32_t *leaf_of) {
  int64_t n = bd->n, HT = bd->hoff[bd->d];
  int d = bd->d;
  if (ml_tree_init(t, 1, 16) != ML_OK) return ML_ERR;
  int cap = 1 << p->max_depth;
  gnode *cur = calloc((size_t)cap, sizeof *cur), *next = calloc((size_t)cap, sizeof *next);
  int *build = malloc((size_t)cap * sizeof *build);
  gsplit *fb = malloc((size_t)d * sizeof *fb);
  int rc = ML_ERR;
  if (!cur || !next || !build || !fb) goto done;
  double G = 0, H = 0;
  for (int64_t i = 0; i < m; i++) { G += g[rows[i]]; H += h[rows[i]]; node_of[rows[i]] = 0; }
  int nl = 1;
  cur[0] = (gnode){.id = 0, .G = G, .H = H, .C = m};
  if (add_node(t, m, G, H, p, 0) < 0) goto done;
  if (p->max_depth > 0 && m >= 2 * p->min_samples_leaf) {
    cur[0].hist = malloc((size_t)HT * sizeof(hbin));
    if (!cur[0].hist) goto done;
    build[0] = 0;
    build_level(bd, cur, 1, build, node_of, g, h, threads, bd->sp_start[d]);
  }
  for (int depth = 0; depth < p->max_depth && nl > 0; depth++) {
    /* best split of every node with a histogram (features in parallel,
     * reduced in feature order so the result is deterministic) */
    int nn = 0;
    for (int k = 0; k < nl; k++) {
      gnode *nd = &cur[k];
      nd->split = 0;
      if (!nd->hist) continue;
      #pragma omp parallel for num_threads(threads) schedule(static) if (HT > 400000)
      for (int f = 0; f < d; f++)
        feature_split(nd->hist + bd->hoff[f], bd->nbins[f], f, nd->G, nd->H, nd->C, p, &fb[f]);
      gsplit best = {.feature = -1, .gain = 1e-7};
      for (int f = 0; f < d; f++)
        if (fb[f].feature >= 0 && fb[f].gain > best.gain) best = fb[f];
      if (best.feature < 0) continue;
      nd->split = 1;
      nd->s = best;
      t->feature[nd->id] = best.feature;
      t->threshold[nd->id] = bd->thr[best.feature][best.bin];
      double GR = nd->G - best.GL, HR = nd->H - best.HL;
      int l = add_node(t, best.cL, best.GL, best.HL, p, depth + 1);
      int r = add_node(t, nd->C - best.cL, GR, HR, p, depth + 1);
      if (l < 0 || r < 0) goto done;
      t->left[nd->id] = l;
      t->right[nd->id] = r;
      nd->left = nn;
      next[nn++] = (gnode){.id = l, .G = best.GL, .H = best.HL, .C = best.cL};
      nd->right = nn;
      next[nn++] = (gnode){.id = r, .G = GR, .H = HR, .C = nd->C - best.cL};
    }
    /* route rows: to a child, or finished in a leaf */
    for (int64_t i = 0; i < m; i++) {
      int32_t rr = rows[i], k = node_of[rr];
      if (k < 0) continue;
      gnode *nd = &cur[k];
      if (!nd->split) { leaf_of[rr] = nd->id; node_of[rr] = -1; continue; }
      node_of[rr] = bd->B[(int64_t)nd->s.feature * n + rr] <= nd->s.bin ? nd->left : nd->right;
    }
    /* children that will be split next: build the smaller of each pair,
     * subtract it from the parent for the larger */
    bool more = depth + 1 < p->max_depth;
    for (int k = 0; k < nn; k++) build[k] = -1;
    int nbuild = 0;
    for (int k = 0; more && k < nl; k++) {
      gnode *nd = &cur[k];
      if (!nd->split) continue;
      gnode *L = &next[nd->left], *R = &next[nd->right];
      if (L->C < 2 * p->min_samples_leaf && R->C < 2 * p->min_samples_leaf) continue;
      gnode *sm = L->C <= R->C ? L : R;
      sm->hist = malloc((size_t)HT * sizeof(hbin));
      if (!sm->hist) goto done;
      build[sm - next] = nbuild++;
    }
    if (nbuild > 0) build_level(bd, next, nn, build, node_of, g, h, threads, bd->sp_start[d]);
    for (int k = 0; more && k < nl; k++) {
      gnode *nd = &cur[k];
      if (!nd->split) continue;
      gnode *L = &next[nd->left], *R = &next[nd->right];
      gnode *sm = L->hist ? L : R, *lg = L->hist ? R : L;
      if (!sm->hist) continue;
      lg->hist = nd->hist;   /* parent - smaller, in place */
      nd->hist = NULL;
      for (int64_t q = 0; q < HT; q++) {
        lg->hist[q].g -= sm->hist[q].g;
        lg->hist[q].h -= sm->hist[q].h;
        lg->hist[q].c -= sm->hist[q].c;
      }
    }
    for (int k = 0; k < nl; k++) { free(cur[k].hist); cur[k].hist = NULL; }
    gnode *tmp = cur; cur = next; next = tmp;
    nl = nn;
  }
  /* the last level's nodes are leaves */
  for (int64_t i = 0; i < m; i++) {
    int32_t rr = rows[i], k = node_of[rr];
    if (k >= 0) { leaf_of[rr] = cur[k].id; node_of[rr] = -1; }
  }
  rc = ML_OK;
done:
  if (cur) for (int k = 0; k < cap; k++) free(cur[k].hist);
  if (next) for (int k = 0; k < cap; k++) free(next[k].hist);
  free(cur); free(next); free(build); free(fb);
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
  uint8_t *B = malloc((size_t)n * (size_t)d);
  float *thr_all = malloc((size_t)d * 256 * sizeof *thr_all);
  float **thr = malloc((size_t)d * sizeof *thr);
  int *nbins = malloc((size_t)d * sizeof *nbins);
  float *raw = malloc((size_t)n * (size_t)Kt * sizeof *raw);
  float *g = malloc((size_t)n * sizeof *g), *h = malloc((size_t)n * sizeof *h);
  float *prob = malloc((size_t)n * (size_t)K * sizeof *prob);
  int32_t *rows = malloc((size_t)n * sizeof *rows);
  int64_t *perm = malloc((size_t)n * sizeof *perm);
  int32_t *node_of = malloc((size_t)n * sizeof *node_of), *leaf_of = malloc((size_t)n * sizeof *leaf_of);
  int64_t *hoff = malloc((size_t)(d + 1) * sizeof *hoff), *sp_start = malloc((size_t)(d + 1) * sizeof *sp_start);
  uint8_t *mode = malloc((size_t)d);
  int32_t *sp_row = NULL;
  uint8_t *sp_bin = NULL;
  int rc = ML_ERR;
  if (!B || !thr_all || !thr || !nbins || !raw || !g || !h || !prob || !rows || !perm ||
      !node_of || !leaf_of || !hoff || !sp_start || !mode)
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
  /* histogram layout, most frequent bin and the sparse entries per feature */
  hoff[0] = 0;
  sp_start[0] = 0;
  for (int f = 0; f < d; f++) {
    int64_t cnt[256] = {0};
    const uint8_t *bf = B + (int64_t)f * n;
    for (int64_t i = 0; i < n; i++) cnt[bf[i]]++;
    int mb = 0;
    for (int b = 1; b < nbins[f]; b++) if (cnt[b] > cnt[mb]) mb = b;
    mode[f] = (uint8_t)mb;
    hoff[f + 1] = hoff[f] + nbins[f];
    sp_start[f + 1] = sp_start[f] + (n - cnt[mb]);
  }
  sp_row = malloc((size_t)(sp_start[d] > 0 ? sp_start[d] : 1) * sizeof *sp_row);
  sp_bin = malloc((size_t)(sp_start[d] > 0 ? sp_start[d] : 1));
  if (!sp_row || !sp_bin) goto oom;
  #pragma omp parallel for num_threads(threads) schedule(dynamic, 4)
  for (int f = 0; f < d; f++) {
    const uint8_t *bf = B + (int64_t)f * n;
    int64_t e = sp_start[f];
    for (int64_t i = 0; i < n; i++)
      if (bf[i] != mode[f]) { sp_row[e] = (int32_t)i; sp_bin[e] = bf[i]; e++; }
  }
  binned bd = {n, d, B, nbins, hoff, mode, sp_start, sp_row, sp_bin, thr};
  for (int64_t i = 0; i < n; i++) node_of[i] = -1;
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
      if (grow(t, &bd, rows, m, g, h, p, threads, node_of, leaf_of) != ML_OK) goto oom;
      if (m == n) {
        for (int64_t i = 0; i < n; i++) raw[i * Kt + k] += t->value[leaf_of[i]];
      } else {
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
  free(rows); free(perm); free(node_of); free(leaf_of); free(hoff); free(sp_start); free(mode);
  free(sp_row); free(sp_bin);
  if (rc != ML_OK) ml_ensemble_free(out);
  return rc;
}
