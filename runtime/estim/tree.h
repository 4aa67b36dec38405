/*
 * tree.h - decision trees and the ensembles built from them: CART trees
 * (tree.c), random forests (forest.c), histogram gradient boosting
 * (boosting.c) and isolation forests (iforest.c).
 *
 * Every model is an ml_ensemble: a list of trees stored as flat node arrays
 * (as scikit-learn's tree_), so saving converts arrays to tensors and back.
 * A node i is a leaf when feature[i] < 0; otherwise a sample x goes to
 * left[i] when x[feature[i]] <= threshold[i], else to right[i]. Each node
 * holds n_values numbers: class probabilities (classifiers), the mean target
 * (regressors), the raw score step (boosting) or the path length
 * (isolation trees). Plain C11; reports errors through ctx like ml.h.
 */
#ifndef ML_ESTIM_TREE_H
#define ML_ESTIM_TREE_H

#include "../ml.h"

typedef struct ml_tree {
  int64_t n_nodes, cap;
  int n_values;
  int max_depth;              /* depth of the deepest leaf (root = 0) */
  int32_t *feature;           /* [n_nodes], -1 at leaves */
  float *threshold;           /* [n_nodes] */
  int32_t *left, *right;      /* [n_nodes], -1 at leaves */
  float *value;               /* [n_nodes x n_values] */
  double *impurity;           /* [n_nodes] */
  int64_t *n_samples;         /* [n_nodes] training samples that reached the node */
  double *weighted_n;         /* [n_nodes] their total weight */
} ml_tree;

typedef struct ml_ensemble {
  int n_trees;
  int n_features;
  int n_values;
  ml_tree *trees;             /* [n_trees] */
} ml_ensemble;

/* ---- numpy / scikit-learn compatible random numbers (sk_random.c) ---- */
/* numpy's legacy RandomState (MT19937) as far as scikit-learn's trees use it,
 * so an integer random_state draws the same features and bootstraps. */
typedef struct ml_mt19937 {
  uint32_t mt[624];
  int pos;
} ml_mt19937;
void ml_mt_seed(ml_mt19937 *s, uint32_t seed);
uint32_t ml_mt_next(ml_mt19937 *s);
/* RandomState.randint(low, high) (high exclusive, high - low <= 2^32). */
int64_t ml_mt_randint(ml_mt19937 *s, int64_t low, int64_t high);
/* scikit-learn's rand_r (xorshift) used inside the splitter. */
uint32_t ml_sk_rand_r(uint32_t *seed);
/* low + rand_r % (high - low) */
int64_t ml_sk_rand_int(int64_t low, int64_t high, uint32_t *seed);

/* ---- sorting (tree_sort.c) ---- */
/* Sorts keys ascending (radix sort for large n, insertion sort for small);
 * tmp must hold n elements. */
void ml_sort_u64(uint64_t *keys, uint64_t *tmp, int64_t n);
/* Order-preserving map of a float to 32 unsigned bits. */
static inline uint32_t ml_float_key(float f) {
  union { float f; uint32_t u; } v = { f };
  return (v.u & 0x80000000u) ? ~v.u : (v.u | 0x80000000u);
}

/* ---- trees (tree.c) ---- */
typedef enum { ML_CRIT_GINI = 0, ML_CRIT_ENTROPY = 1, ML_CRIT_MSE = 2 } ml_criterion;

typedef struct ml_tree_params {
  ml_criterion criterion;
  int max_depth;                 /* < 0: unlimited */
  int64_t min_samples_split;     /* >= 2 */
  int64_t min_samples_leaf;      /* >= 1 */
  int max_features;              /* features examined per split, 1..n_features */
  double min_impurity_decrease;  /* >= 0 */
  uint32_t seed;                 /* scikit-learn's splitter rand_r state */
} ml_tree_params;

/* Training data shared by all the trees of a fit.
 *   Xt: d x n, column-major copy of X (feature j of sample i at Xt[j*n+i])
 *   y:  class ids in [0, n_classes) (classification) or NULL
 *   yr: targets (regression) or NULL */
typedef struct ml_tree_data {
  const float *Xt;
  int64_t n;
  int d;
  const int32_t *y;
  int n_classes;
  const float *yr;
} ml_tree_data;

/* Returns a message when params do not fit the data, NULL when fine. */
const char *ml_tree_check_params(const ml_tree_params *p, int n_features);
/* Grows one tree over the samples with nonzero weight (w: [n] or NULL for
 * all ones). threads > 1 searches the features of large nodes in parallel
 * (the result does not depend on it). */
int ml_tree_fit(ml_ctx *ctx, ml_tree *out, const ml_tree_data *data, const double *w,
                const ml_tree_params *p, int threads);
/* Scratch memory kept between fits (a forest's thread reuses it for every
 * tree instead of paying fresh pages each time). Start as {NULL, 0}. */
typedef struct ml_tree_ws { void *mem; size_t cap; } ml_tree_ws;
int ml_tree_fit_ws(ml_ctx *ctx, ml_tree *out, const ml_tree_data *data, const double *w,
                   const ml_tree_params *p, int threads, ml_tree_ws *ws);
void ml_tree_ws_free(ml_tree_ws *ws);
void ml_tree_free(ml_tree *t);
/* Leaf index reached by one sample (row-major x of the tree's width). */
static inline int32_t ml_tree_leaf(const ml_tree *t, const float *x) {
  int32_t i = 0;
  while (t->feature[i] >= 0)
    i = x[t->feature[i]] <= t->threshold[i] ? t->left[i] : t->right[i];
  return i;
}
/* Adds the tree's normalised impurity decrease per feature to imp[d] and
 * returns 1, or returns 0 for a tree without splits (nothing added). */
int ml_tree_importances(const ml_tree *t, int d, double *imp);
int64_t ml_tree_n_leaves(const ml_tree *t);
/* Node storage (used by the builders and by loading). */
int ml_tree_reserve(ml_tree *t, int64_t cap);
int ml_tree_init(ml_tree *t, int n_values, int64_t cap);

/* ---- ensembles (forest.c) ---- */
int ml_ensemble_new(ml_ctx *ctx, ml_ensemble *e, int n_trees, int n_features, int n_values);
void ml_ensemble_free(ml_ensemble *e);
/* out[n x n_values] = mean (or sum) over trees of the leaf values, trees
 * first..first+count-1 stepping by `step` (boosting keeps one tree per class
 * per round: first = class, step = n_classes). X: n x n_features row-major. */
int ml_ensemble_predict(ml_ctx *ctx, const ml_ensemble *e, const float *X, int64_t n,
                        int first, int step, int sum, float *out, int out_stride);
/* scikit-learn's feature_importances_ of a forest (mean of the trees'
 * normalised importances, renormalised) into imp[n_features]. */
void ml_ensemble_importances(const ml_ensemble *e, double *imp);
/* Column-major float copy of row-major X (n x d), malloc'd; NULL on failure. */
float *ml_transpose_new(const float *X, int64_t n, int d);

typedef struct ml_forest_params {
  ml_tree_params tree;           /* seed is ignored: drawn per tree */
  int n_estimators;
  int bootstrap;
  int64_t n_bootstrap;           /* samples drawn per tree when bootstrapping */
  uint32_t random_state;         /* numpy seed */
  int oob;                       /* compute out-of-bag predictions */
} ml_forest_params;

/* Fits n_estimators trees in parallel over ctx->threads (or `threads`).
 * Seeds and bootstraps are drawn as scikit-learn draws them from
 * random_state, so results do not depend on the thread count. w: base sample
 * weights (class_weight) or NULL. oob_out[n x n_values] (when p->oob) gets
 * the mean out-of-bag prediction (zeros when no tree left the sample out),
 * oob_count[n] how many trees left it out. */
int ml_forest_fit(ml_ctx *ctx, ml_ensemble *out, const ml_tree_data *data, const double *w,
                  const ml_forest_params *p, int threads, float *oob_out, int32_t *oob_count);

/* ---- histogram gradient boosting (boosting.c) ---- */
typedef struct ml_gbm_params {
  int n_estimators;
  double learning_rate;
  int max_depth;
  int64_t min_samples_leaf;
  double l2_regularization;
  double subsample;              /* (0, 1] */
  int max_bins;                  /* 2..255 */
  uint64_t seed;
} ml_gbm_params;

/* Log-loss boosting for y in [0, n_classes): one tree per round for two
 * classes, one per class per round for more (softmax). baseline[K'] gets the
 * initial raw scores (K' = 1 for binary, n_classes otherwise). */
int ml_gbm_fit(ml_ctx *ctx, ml_ensemble *out, double *baseline, const float *X, int64_t n,
               int d, const int32_t *y, int n_classes, const ml_gbm_params *p);

/* ---- isolation forest (iforest.c) ---- */
/* n_estimators isolation trees on max_samples samples each (no replacement);
 * leaf values hold depth + c(leaf size), so the ensemble mean is the expected
 * path length. */
int ml_iforest_fit(ml_ctx *ctx, ml_ensemble *out, const float *X, int64_t n, int d,
                   int n_estimators, int64_t max_samples, double max_features,
                   uint64_t seed);
/* Average path length of an unsuccessful search in a BST of n points. */
double ml_iforest_c(double n);

#endif
