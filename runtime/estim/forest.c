/* forest.c - ensembles of trees: storage, prediction, feature importances,
 * and random forests (bagging of CART trees) fitted in parallel. Seeds and
 * bootstrap samples are drawn as scikit-learn draws them from an integer
 * random_state (numpy's MT19937), serially before the parallel loop, so the
 * forest does not depend on the thread count. */
#include "tree.h"
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

int ml_ensemble_new(ml_ctx *ctx, ml_ensemble *e, int n_trees, int n_features, int n_values) {
  memset(e, 0, sizeof *e);
  if (n_trees < 0) return ml_error(ctx, "ensemble: n_trees must be >= 0, got %d", n_trees);
  e->trees = calloc((size_t)(n_trees > 0 ? n_trees : 1), sizeof *e->trees);
  if (!e->trees) return ml_error(ctx, "ensemble: out of memory");
  e->n_trees = n_trees;
  e->n_features = n_features;
  e->n_values = n_values;
  return ML_OK;
}

void ml_ensemble_free(ml_ensemble *e) {
  if (e->trees) for (int i = 0; i < e->n_trees; i++) ml_tree_free(&e->trees[i]);
  free(e->trees);
  memset(e, 0, sizeof *e);
}

int ml_ensemble_predict(ml_ctx *ctx, const ml_ensemble *e, const float *X, int64_t n,
                        int first, int step, int sum, float *out, int out_stride) {
  int nv = e->n_values, d = e->n_features;
  int count = 0;
  for (int t = first; t < e->n_trees; t += step) count++;
  if (count == 0) return ml_error(ctx, "ensemble_predict: no trees");
  #pragma omp parallel for num_threads(ctx->threads) schedule(static) if (n * count > 20000)
  for (int64_t i = 0; i < n; i++) {
    const float *x = X + i * d;
    double acc[nv];
    for (int k = 0; k < nv; k++) acc[k] = 0;
    for (int t = first; t < e->n_trees; t += step) {
      const ml_tree *tr = &e->trees[t];
      const float *v = tr->value + (int64_t)ml_tree_leaf(tr, x) * nv;
      for (int k = 0; k < nv; k++) acc[k] += v[k];
    }
    for (int k = 0; k < nv; k++) out[i * out_stride + k] = (float)(sum ? acc[k] : acc[k] / count);
  }
  return ML_OK;
}

void ml_ensemble_importances(const ml_ensemble *e, double *imp) {
  int d = e->n_features, used = 0;
  memset(imp, 0, (size_t)d * sizeof *imp);
  for (int t = 0; t < e->n_trees; t++) used += ml_tree_importances(&e->trees[t], d, imp);
  if (!used) return;
  double s = 0;
  for (int j = 0; j < d; j++) { imp[j] /= used; s += imp[j]; }
  if (s > 0) for (int j = 0; j < d; j++) imp[j] /= s;
}

float *ml_transpose_new(const float *X, int64_t n, int d) {
  float *T = malloc((size_t)(n > 0 ? n : 1) * (size_t)(d > 0 ? d : 1) * sizeof *T);
  if (!T) return NULL;
  const int64_t B = 64;
  for (int64_t i0 = 0; i0 < n; i0 += B)
    for (int j0 = 0; j0 < d; j0 += (int)B)
      for (int64_t i = i0; i < i0 + B && i < n; i++)
        for (int j = j0; j < j0 + B && j < d; j++) T[(int64_t)j * n + i] = X[i * d + j];
  return T;
}


int ml_forest_fit(ml_ctx *ctx, ml_ensemble *out, const ml_tree_data *D, const double *w,
                  const ml_forest_params *p, int threads, float *oob_out, int32_t *oob_count) {
  memset(out, 0, sizeof *out);
  const char *msg = ml_tree_check_params(&p->tree, D->d);
  if (msg) return ml_error(ctx, "forest_fit: %s", msg);
  if (p->n_estimators < 1)
    return ml_error(ctx, "forest_fit: n_estimators must be >= 1, got %d", p->n_estimators);
  if (p->bootstrap && (p->n_bootstrap < 1 || p->n_bootstrap > D->n))
    return ml_error(ctx, "forest_fit: max_samples must give between 1 and %lld samples, got %lld",
                    (long long)D->n, (long long)p->n_bootstrap);
  int T = p->n_estimators, nv = D->y ? D->n_classes : 1;
  int64_t n = D->n;
  uint32_t *seeds = malloc((size_t)T * sizeof *seeds);
  if (!seeds) return ml_error(ctx, "forest_fit: out of memory");
  ml_mt19937 mt;
  ml_mt_seed(&mt, p->random_state);
  for (int t = 0; t < T; t++) seeds[t] = (uint32_t)ml_mt_randint(&mt, 0, 0x7fffffff);
  if (ml_ensemble_new(ctx, out, T, D->d, nv) != ML_OK) { free(seeds); return ML_ERR; }
  int nt = threads < 1 ? 1 : threads;
  int failed = 0;
  char err[ML_ERR_SIZE] = "";
  double *oob_acc = NULL;
  if (p->oob && oob_out) {
    oob_acc = calloc((size_t)n * (size_t)nv, sizeof *oob_acc);
    if (!oob_acc) { free(seeds); ml_ensemble_free(out); return ml_error(ctx, "forest_fit: out of memory"); }
    memset(oob_count, 0, (size_t)n * sizeof *oob_count);
  }
  #pragma omp parallel num_threads(nt)
  {
    double *wt = malloc((size_t)(n > 0 ? n : 1) * sizeof *wt);
    float *xrow = malloc((size_t)D->d * sizeof *xrow);
    ml_ctx lctx = {0};
    lctx.threads = 1;
    ml_tree_ws ws = {NULL, 0};
    #pragma omp for schedule(dynamic, 1)
    for (int t = 0; t < T; t++) {
      if (failed) continue;
      if (!wt || !xrow) { failed = 1; continue; }
      ml_tree_params tp = p->tree;
      ml_mt19937 r;
      ml_mt_seed(&r, seeds[t]);
      if (p->bootstrap) {
        /* RandomState(seed).randint(0, n, n_bootstrap) counts, then the
         * tree's own RandomState(seed) gives its splitter seed */
        for (int64_t i = 0; i < n; i++) wt[i] = 0;
        for (int64_t k = 0; k < p->n_bootstrap; k++) wt[ml_mt_randint(&r, 0, n)] += 1.0;
        if (w) for (int64_t i = 0; i < n; i++) wt[i] *= w[i];
        ml_mt_seed(&r, seeds[t]);
      } else {
        for (int64_t i = 0; i < n; i++) wt[i] = w ? w[i] : 1.0;
      }
      tp.seed = (uint32_t)ml_mt_randint(&r, 0, 0x7fffffff);
      if (ml_tree_fit_ws(&lctx, &out->trees[t], D, wt, &tp, 1, &ws) != ML_OK) {
        #pragma omp critical
        { if (!failed) memcpy(err, lctx.err, sizeof err); failed = 1; }
        continue;
      }
      if (oob_acc && p->bootstrap) {
        const ml_tree *tr = &out->trees[t];
        for (int64_t i = 0; i < n; i++) {
          if (wt[i] != 0.0 || (w && w[i] == 0.0)) continue;   /* in the bag */
          for (int j = 0; j < D->d; j++) xrow[j] = D->Xt[(int64_t)j * n + i];
          const float *v = tr->value + (int64_t)ml_tree_leaf(tr, xrow) * nv;
          for (int k = 0; k < nv; k++) {
            #pragma omp atomic
            oob_acc[i * nv + k] += v[k];
          }
          #pragma omp atomic
          oob_count[i]++;
        }
      }
    }
    free(wt);
    free(xrow);
    ml_tree_ws_free(&ws);
  }
  free(seeds);
  if (failed) {
    free(oob_acc);
    ml_ensemble_free(out);
    return err[0] ? ml_error(ctx, "forest_fit: %s", err) : ml_error(ctx, "forest_fit: out of memory");
  }
  if (oob_acc) {
    for (int64_t i = 0; i < n; i++)
      for (int k = 0; k < nv; k++)
        oob_out[i * nv + k] = oob_count[i] ? (float)(oob_acc[i * nv + k] / oob_count[i]) : 0.0f;
    free(oob_acc);
  }
  return ML_OK;
}
