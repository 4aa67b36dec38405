/* test_tree.c - the tree runtime: numpy-compatible random numbers, the key
 * sort, CART fits on hand-checked data, ensembles, boosting, isolation
 * forests and the error paths. */
#include "check.h"
#include "../../runtime/ml.h"
#include "../../runtime/estim/tree.h"
#include <stdlib.h>
#include <string.h>

static ml_tree_params default_params(int d) {
  ml_tree_params p = {ML_CRIT_GINI, -1, 2, 1, d, 0.0, 1};
  return p;
}

int main(void) {
  ml_ctx ctx;
  ml_ctx_init(&ctx);
  ml_set_threads(&ctx, 2);

  /* numpy.random.RandomState(0).randint(0, 2**31 - 1, size=5), and seed 42 below 100 */
  ml_mt19937 mt;
  ml_mt_seed(&mt, 0);
  int64_t want0[5] = {209652396, 398764591, 924231285, 1478610112, 441365315};
  int ok = 1;
  for (int i = 0; i < 5; i++) ok &= ml_mt_randint(&mt, 0, 0x7fffffff) == want0[i];
  CHECK(ok, "MT19937 randint(0, 2^31-1) matches numpy for seed 0");
  ml_mt_seed(&mt, 42);
  int64_t want42[10] = {51, 92, 14, 71, 60, 20, 82, 86, 74, 74};
  ok = 1;
  for (int i = 0; i < 10; i++) ok &= ml_mt_randint(&mt, 0, 100) == want42[i];
  CHECK(ok, "MT19937 randint(0, 100) matches numpy for seed 42");
  uint32_t s = 0;
  CHECK(ml_sk_rand_r(&s) == 270369u && s == 270369u, "rand_r from seed 0 uses the default seed 1");

  /* sort: random floats with duplicates, negatives */
  int64_t n = 5000;
  uint64_t *keys = malloc(n * sizeof *keys), *tmp = malloc(n * sizeof *tmp);
  float *vals = malloc(n * sizeof *vals);
  ml_rng r;
  ml_rng_seed(&r, 7);
  for (int64_t i = 0; i < n; i++) {
    vals[i] = (float)((int)(ml_rng_uniform(&r) * 200) - 100) * 0.37f;
    keys[i] = ((uint64_t)ml_float_key(vals[i]) << 32) | (uint64_t)i;
  }
  ml_sort_u64(keys, tmp, n);
  ok = 1;
  for (int64_t i = 1; i < n; i++) ok &= vals[(uint32_t)keys[i - 1]] <= vals[(uint32_t)keys[i]];
  CHECK(ok, "radix sort orders negative and positive floats");
  for (int64_t i = 0; i < 20; i++) keys[i] = ((uint64_t)ml_float_key(vals[i]) << 32) | (uint64_t)i;
  ml_sort_u64(keys, tmp, 20);
  ok = 1;
  for (int64_t i = 1; i < 20; i++) ok &= vals[(uint32_t)keys[i - 1]] <= vals[(uint32_t)keys[i]];
  CHECK(ok, "insertion sort for small inputs");

  /* a tree on XOR: needs two levels, 7 nodes, pure leaves */
  float Xt[2 * 8] = {0, 0, 1, 1, 0, 0, 1, 1,    /* feature 0 */
                     0, 1, 0, 1, 0, 1, 0, 1};   /* feature 1 */
  int32_t y[8] = {0, 1, 1, 0, 0, 1, 1, 0};
  ml_tree_data D = {Xt, 8, 2, y, 2, NULL};
  ml_tree_params p = default_params(2);
  ml_tree t;
  CHECK(ml_tree_fit(&ctx, &t, &D, NULL, &p, 1) == ML_OK, "fit XOR");
  CHECK(t.n_nodes == 7 && t.max_depth == 2 && ml_tree_n_leaves(&t) == 4, "XOR tree has 7 nodes, depth 2");
  CHECK(t.threshold[0] == 0.5f, "threshold midway between 0 and 1 (got %g)", t.threshold[0]);
  ok = 1;
  for (int i = 0; i < 8; i++) {
    float x[2] = {Xt[i], Xt[8 + i]};
    const float *v = t.value + ml_tree_leaf(&t, x) * 2;
    ok &= v[y[i]] == 1.0f;
  }
  CHECK(ok, "XOR leaves are pure and right");
  double imp[2] = {0, 0};
  CHECK(ml_tree_importances(&t, 2, imp) == 1 && fabs(imp[0] + imp[1] - 1) < 1e-12,
        "importances sum to 1");
  ml_tree_free(&t);

  /* max_depth 1 on XOR gives a stump; weights of zero drop samples */
  p.max_depth = 1;
  CHECK(ml_tree_fit(&ctx, &t, &D, NULL, &p, 1) == ML_OK && t.n_nodes <= 3, "max_depth 1 stump");
  ml_tree_free(&t);
  p.max_depth = -1;
  double w[8] = {1, 1, 1, 1, 0, 0, 0, 0};
  CHECK(ml_tree_fit(&ctx, &t, &D, w, &p, 1) == ML_OK && t.n_samples[0] == 4, "zero weights drop samples");
  ml_tree_free(&t);

  /* regression on a step */
  float Xr[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  float yr[10] = {0, 0, 0, 0, 0, 5, 5, 5, 5, 5};
  ml_tree_data R = {Xr, 10, 1, NULL, 0, yr};
  p = default_params(1);
  p.criterion = ML_CRIT_MSE;
  CHECK(ml_tree_fit(&ctx, &t, &R, NULL, &p, 1) == ML_OK && t.n_nodes == 3 &&
        t.threshold[0] == 5.5f && t.value[t.right[0]] == 5.0f, "regression step split at 5.5");
  CHECK(fabs(t.impurity[0] - 6.25) < 1e-9, "root MSE impurity 6.25 (got %g)", t.impurity[0]);
  ml_tree_free(&t);

  /* parameter errors come back as messages, never crashes */
  p = default_params(2);
  p.min_samples_leaf = 0;
  CHECK(ml_tree_fit(&ctx, &t, &D, NULL, &p, 1) == ML_ERR && strstr(ctx.err, "min_samples_leaf"),
        "min_samples_leaf 0 rejected: %s", ctx.err);
  p = default_params(2);
  p.max_features = 3;
  CHECK(ml_tree_fit(&ctx, &t, &D, NULL, &p, 1) == ML_ERR && strstr(ctx.err, "max_features"),
        "max_features above n_features rejected");
  double w0[8] = {0};
  p = default_params(2);
  CHECK(ml_tree_fit(&ctx, &t, &D, w0, &p, 1) == ML_ERR && strstr(ctx.err, "nonzero weight"),
        "all-zero weights rejected");

  /* forest: thread count does not change the result */
  int64_t m = 400;
  int d = 5;
  float *X = malloc(m * d * sizeof *X);
  int32_t *ym = malloc(m * sizeof *ym);
  for (int64_t i = 0; i < m; i++) {
    double sum = 0;
    for (int j = 0; j < d; j++) { X[i * d + j] = (float)ml_rng_normal(&r); sum += X[i * d + j] * (j + 1); }
    ym[i] = sum > 0;
  }
  float *XT = ml_transpose_new(X, m, d);
  ml_tree_data FD = {XT, m, d, ym, 2, NULL};
  ml_forest_params fp = {default_params(d), 16, 1, m, 3, 1};
  fp.tree.max_features = 2;
  ml_ensemble e1, e2;
  float *oob = malloc(m * 2 * sizeof *oob);
  int32_t *cnt = malloc(m * sizeof *cnt);
  CHECK(ml_forest_fit(&ctx, &e1, &FD, NULL, &fp, 1, oob, cnt) == ML_OK, "forest fit, 1 thread");
  CHECK(ml_forest_fit(&ctx, &e2, &FD, NULL, &fp, 2, NULL, NULL) == ML_OK, "forest fit, 2 threads");
  float *p1 = malloc(m * 2 * sizeof *p1), *p2 = malloc(m * 2 * sizeof *p2);
  ml_ensemble_predict(&ctx, &e1, X, m, 0, 1, 0, p1, 2);
  ml_ensemble_predict(&ctx, &e2, X, m, 0, 1, 0, p2, 2);
  CHECK(memcmp(p1, p2, m * 2 * sizeof *p1) == 0, "forest independent of threads");
  int correct = 0, oobc = 0, oobn = 0;
  for (int64_t i = 0; i < m; i++) {
    correct += (p1[i * 2 + 1] > 0.5f) == ym[i];
    if (cnt[i]) { oobn++; oobc += (oob[i * 2 + 1] > 0.5f) == ym[i]; }
  }
  CHECK(correct > 0.97 * m, "forest fits its training data (%d/%lld)", correct, (long long)m);
  CHECK(oobn > 0.95 * m && oobc > 0.75 * oobn, "out-of-bag accuracy %d/%d", oobc, oobn);
  ml_ensemble_free(&e1);
  ml_ensemble_free(&e2);
  fp.n_estimators = 0;
  CHECK(ml_forest_fit(&ctx, &e1, &FD, NULL, &fp, 1, NULL, NULL) == ML_ERR &&
        strstr(ctx.err, "n_estimators"), "n_estimators 0 rejected");

  /* boosting learns the linear rule */
  ml_gbm_params gp = {50, 0.3, 3, 1, 0.0, 1.0, 255, 1};
  double base[1];
  CHECK(ml_gbm_fit(&ctx, &e1, base, X, m, d, ym, 2, &gp) == ML_OK && e1.n_trees == 50, "gbm fit");
  ml_ensemble_predict(&ctx, &e1, X, m, 0, 1, 1, p1, 1);
  correct = 0;
  for (int64_t i = 0; i < m; i++) correct += (p1[i] + base[0] > 0) == ym[i];
  CHECK(correct > 0.95 * m, "gbm training accuracy %d/%lld", correct, (long long)m);
  ml_ensemble_free(&e1);
  gp.max_bins = 1;
  CHECK(ml_gbm_fit(&ctx, &e1, base, X, m, d, ym, 2, &gp) == ML_ERR && strstr(ctx.err, "max_bins"),
        "max_bins 1 rejected");

  /* isolation forest: a far point is isolated on a short path */
  X[0] = 50; X[1] = -50;
  CHECK(ml_iforest_fit(&ctx, &e1, X, m, d, 50, 256, 1.0, 3) == ML_OK, "iforest fit");
  ml_ensemble_predict(&ctx, &e1, X, m, 0, 1, 0, p1, 1);
  double mean = 0;
  for (int64_t i = 1; i < m; i++) mean += p1[i] / (m - 1);
  CHECK(p1[0] < mean - 2, "outlier path %g shorter than mean %g", p1[0], mean);
  CHECK(fabs(ml_iforest_c(256) - 10.2448) < 1e-3, "c(256) = %g", ml_iforest_c(256));
  ml_ensemble_free(&e1);
  CHECK(ml_iforest_fit(&ctx, &e1, X, m, d, 50, m + 1, 1.0, 3) == ML_ERR &&
        strstr(ctx.err, "max_samples"), "max_samples above n rejected");

  free(keys); free(tmp); free(vals); free(X); free(ym); free(XT); free(oob); free(cnt);
  free(p1); free(p2);
  ml_ctx_free(&ctx);
  return check_done();
}
