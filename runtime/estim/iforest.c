/* iforest.c - isolation forests (Liu, Ting & Zhou 2008) as scikit-learn
 * grows them: each tree sees max_samples samples drawn without replacement,
 * splits on a random non-constant feature at a threshold uniform between the
 * node's min and max, and stops at depth ceil(log2(max_samples)). A leaf's
 * value is its depth plus c(leaf size), the expected remaining path, so the
 * ensemble mean of leaf values is the average path length. */
#include "tree.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

double ml_iforest_c(double n) {
  if (n <= 1) return 0.0;
  if (n <= 2) return 1.0;
  return 2.0 * (log(n - 1.0) + 0.5772156649015329) - 2.0 * (n - 1.0) / n;
}

typedef struct { int64_t start, end; int depth, parent, is_left; } ientry;

/* One isolation tree over rows idx[0, m) of X using features feats[0, nf). */
static int itree_fit(ml_tree *tr, const float *X, int d, int32_t *idx, int64_t m,
                     const int *feats, int nf, int max_depth, ml_rng *rng) {
  if (ml_tree_init(tr, 1, 2 * m + 1) != ML_OK) return ML_ERR;
  ientry *stack = malloc((size_t)(2 * max_depth + 4) * sizeof *stack);
  int *order = malloc((size_t)nf * sizeof *order);
  if (!stack || !order) { free(stack); free(order); return ML_ERR; }
  int sp = 0;
  stack[sp++] = (ientry){0, m, 0, -1, 0};
  while (sp > 0) {
    ientry e = stack[--sp];
    int64_t nn = e.end - e.start;
    int feature = -1;
    float thr = 0;
    if (e.depth < max_depth && nn >= 2) {
      /* random features until a non-constant one */
      for (int j = 0; j < nf; j++) order[j] = feats[j];
      for (int left = nf; left > 0 && feature < 0; left--) {
        int k = (int)ml_rng_below(rng, (uint64_t)left);
        int f = order[k];
        order[k] = order[left - 1];
        float lo = X[(int64_t)idx[e.start] * d + f], hi = lo;
        for (int64_t i = e.start + 1; i < e.end; i++) {
          float v = X[(int64_t)idx[i] * d + f];
          lo = v < lo ? v : lo;
          hi = v > hi ? v : hi;
        }
        if (hi <= lo) continue;
        double t = lo + ml_rng_uniform(rng) * ((double)hi - lo);
        thr = (float)t;
        if (thr >= hi || thr < lo) thr = lo;
        feature = f;
      }
    }
    int64_t id = tr->n_nodes++;
    if (e.parent >= 0) {
      if (e.is_left) tr->left[e.parent] = (int32_t)id; else tr->right[e.parent] = (int32_t)id;
    }
    tr->feature[id] = feature;
    tr->threshold[id] = feature < 0 ? -2.0f : thr;
    tr->left[id] = tr->right[id] = -1;
    tr->impurity[id] = 0;
    tr->n_samples[id] = nn;
    tr->weighted_n[id] = (double)nn;
    tr->value[id] = (float)(e.depth + ml_iforest_c((double)nn));
    if (e.depth > tr->max_depth) tr->max_depth = e.depth;
    if (feature >= 0) {
      int64_t lo = e.start, hi = e.end;
      while (lo < hi) {
        if (X[(int64_t)idx[lo] * d + feature] <= thr) lo++;
        else { hi--; int32_t t = idx[lo]; idx[lo] = idx[hi]; idx[hi] = t; }
      }
      stack[sp++] = (ientry){lo, e.end, e.depth + 1, (int)id, 0};
      stack[sp++] = (ientry){e.start, lo, e.depth + 1, (int)id, 1};
    }
  }
  free(stack);
  free(order);
  return ML_OK;
}

int ml_iforest_fit(ml_ctx *ctx, ml_ensemble *out, const float *X, int64_t n, int d,
                   int n_estimators, int64_t max_samples, double max_features, uint64_t seed) {
  memset(out, 0, sizeof *out);
  if (n < 1 || d < 1) return ml_error(ctx, "iforest_fit: X is empty");
  if (n_estimators < 1)
    return ml_error(ctx, "iforest_fit: n_estimators must be >= 1, got %d", n_estimators);
  if (max_samples < 1 || max_samples > n)
    return ml_error(ctx, "iforest_fit: max_samples must be between 1 and %lld, got %lld",
                    (long long)n, (long long)max_samples);
  if (!(max_features > 0 && max_features <= 1.0))
    return ml_error(ctx, "iforest_fit: max_features must be in (0, 1], got %g", max_features);
  int nf = (int)(max_features * d);
  if (nf < 1) nf = 1;
  int max_depth = (int)ceil(log2((double)(max_samples > 2 ? max_samples : 2)));
  if (ml_ensemble_new(ctx, out, n_estimators, d, 1) != ML_OK) return ML_ERR;
  int failed = 0;
  #pragma omp parallel num_threads(ctx->threads)
  {
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    int32_t *idx = malloc((size_t)max_samples * sizeof *idx);
    int *feats = malloc((size_t)d * sizeof *feats);
    #pragma omp for schedule(dynamic, 1)
    for (int t = 0; t < n_estimators; t++) {
      if (!perm || !idx || !feats) { failed = 1; continue; }
      ml_rng rng;
      ml_rng_seed(&rng, seed * 0x9E3779B97F4A7C15ull + (uint64_t)t + 1);
      /* partial Fisher-Yates: the first max_samples of a random permutation */
      for (int64_t i = 0; i < n; i++) perm[i] = i;
      for (int64_t i = 0; i < max_samples; i++) {
        int64_t j = i + (int64_t)ml_rng_below(&rng, (uint64_t)(n - i));
        int64_t v = perm[i]; perm[i] = perm[j]; perm[j] = v;
        idx[i] = (int32_t)perm[i];
      }
      for (int j = 0; j < d; j++) feats[j] = j;
      for (int j = 0; j < nf; j++) {
        int k = j + (int)ml_rng_below(&rng, (uint64_t)(d - j));
        int v = feats[j]; feats[j] = feats[k]; feats[k] = v;
      }
      if (itree_fit(&out->trees[t], X, d, idx, max_samples, feats, nf, max_depth, &rng) != ML_OK)
        failed = 1;
    }
    free(perm); free(idx); free(feats);
  }
  if (failed) { ml_ensemble_free(out); return ml_error(ctx, "iforest_fit: out of memory"); }
  return ML_OK;
}
