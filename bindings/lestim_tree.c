/* lestim_tree.c - Lua bindings of the tree family: fitting CART trees, random
 * forests, histogram gradient boosting and isolation forests into an
 * ml.TreeEnsemble userdata, predicting with it, and converting it to and
 * from tensors (node arrays) for ml.save / ml.load. The scikit-learn-shaped
 * classes are in stdlib/ml/tree.lua and stdlib/ml/ensemble.lua. */
#include "mlb.h"
#include "../runtime/estim/tree.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MLB_ENSEMBLE "ml.TreeEnsemble"

static ml_ensemble *check_ens(lua_State *L, int idx) {
  ml_ensemble *e = (ml_ensemble *)luaL_checkudata(L, idx, MLB_ENSEMBLE);
  if (!e->trees) luaL_error(L, "TreeEnsemble: already freed");
  return e;
}

/* A new empty userdata; its __gc frees whatever it holds. */
static ml_ensemble *push_ens(lua_State *L) {
  ml_ensemble *e = (ml_ensemble *)lua_newuserdatauv(L, sizeof *e, 0);
  memset(e, 0, sizeof *e);
  luaL_setmetatable(L, MLB_ENSEMBLE);
  return e;
}

static int ens_gc(lua_State *L) {
  ml_ensemble *e = (ml_ensemble *)luaL_checkudata(L, 1, MLB_ENSEMBLE);
  ml_ensemble_free(e);
  return 0;
}

/* X argument as a contiguous float32 n x d tensor (mlb_checkf32: owned by
 * Lua, so an error later leaks nothing), checked for NaN and infinity. */
static ml_tensor *check_X(lua_State *L, int idx, const char *who, int d) {
  ml_tensor *X = mlb_checkf32(L, idx, 2, who, "X");
  if (d >= 0 && X->shape[1] != d)
    luaL_error(L, "%s: X has %d features, but the estimator was fitted with %d", who,
               (int)X->shape[1], d);
  MLB_CHECK(L, ml_check_finite(mlb_ctx(L), X, who, "X"));
  return X;
}

/* Scratch memory owned by Lua (a userdata left on the stack). */
static void *scratch(lua_State *L, size_t bytes) {
  return lua_newuserdatauv(L, bytes ? bytes : 1, 0);
}

static float yval(const ml_tensor *y, int64_t i) {
  return (float)ml_get(y, ml_offset_of(y, i));
}

static const char *opt_who(lua_State *L, int idx, const char *def) {
  return mlb_opt_string(L, idx, def, "who", def);
}

/* opts.sample_weight (a vector of n) as doubles, or NULL when absent. */
static double *opt_weights(lua_State *L, int idx, const char *who, int64_t n) {
  if (lua_getfield(L, idx, "sample_weight") == LUA_TNIL) { lua_pop(L, 1); return NULL; }
  ml_tensor *w = mlb_checktensor(L, -1);
  if (w->ndim != 1 || w->shape[0] != n)
    luaL_error(L, "%s: sample_weight must be a vector of %d entries", who, (int)n);
  double *out = scratch(L, (size_t)n * sizeof *out);
  for (int64_t i = 0; i < n; i++) {
    out[i] = yval(w, i);
    if (!(out[i] >= 0) || isinf(out[i]))
      luaL_error(L, "%s: sample weights must be finite and >= 0", who);
  }
  lua_remove(L, -2);
  return out;
}

/* Tree params from the options table (sklearn names, resolved by Lua). */
static void read_tree_params(lua_State *L, int idx, const char *who, int d, ml_tree_params *p) {
  const char *crit = mlb_opt_string(L, idx, who, "criterion", "gini");
  if (!strcmp(crit, "gini")) p->criterion = ML_CRIT_GINI;
  else if (!strcmp(crit, "entropy") || !strcmp(crit, "log_loss")) p->criterion = ML_CRIT_ENTROPY;
  else if (!strcmp(crit, "squared_error")) p->criterion = ML_CRIT_MSE;
  else luaL_error(L, "%s: option 'criterion' expected \"gini\", \"entropy\", \"log_loss\" or "
                  "\"squared_error\", got \"%s\"", who, crit);
  p->max_depth = (int)mlb_opt_integer(L, idx, who, "max_depth", -1);
  p->min_samples_split = mlb_opt_integer(L, idx, who, "min_samples_split", 2);
  p->min_samples_leaf = mlb_opt_integer(L, idx, who, "min_samples_leaf", 1);
  p->max_features = (int)mlb_opt_integer(L, idx, who, "max_features", d);
  p->min_impurity_decrease = mlb_opt_number(L, idx, who, "min_impurity_decrease", 0);
  /* the splitter seed scikit-learn draws: RandomState(random_state).randint(0, 2^31 - 1) */
  ml_mt19937 mt;
  ml_mt_seed(&mt, (uint32_t)mlb_opt_integer(L, idx, who, "random_state", 0));
  p->seed = (uint32_t)ml_mt_randint(&mt, 0, 0x7fffffff);
  const char *msg = ml_tree_check_params(p, d);
  if (msg) luaL_error(L, "%s: %s", who, msg);
}

/* Fills D from X (contiguous, n x d) and y (class ids when n_classes > 0,
 * else targets); buffers are Lua scratch left on the stack. */
static void read_data(lua_State *L, ml_tensor *X, int yidx, int n_classes, const char *who,
                      ml_tree_data *D, bool transpose) {
  ml_tensor *y = mlb_checktensor(L, yidx);
  int64_t n = X->shape[0];
  int d = (int)X->shape[1];
  if (y->ndim != 1 || y->shape[0] != n)
    luaL_error(L, "%s: y must be a vector of %d entries", who, (int)n);
  memset(D, 0, sizeof *D);
  D->n = n; D->d = d; D->n_classes = n_classes;
  if (n_classes > 0) {
    int32_t *yy = scratch(L, (size_t)n * sizeof *yy);
    for (int64_t i = 0; i < n; i++) {
      float v = yval(y, i);
      if (!(v >= 0 && v < n_classes)) luaL_error(L, "%s: class id %f out of range", who, v);
      yy[i] = (int32_t)v;
    }
    D->y = yy;
  } else {
    float *yr = scratch(L, (size_t)n * sizeof *yr);
    for (int64_t i = 0; i < n; i++) {
      yr[i] = yval(y, i);
      if (!isfinite(yr[i])) luaL_error(L, "%s: y contains NaN or infinity", who);
    }
    D->yr = yr;
  }
  if (transpose) {
    float *Xt = scratch(L, (size_t)n * (size_t)d * sizeof *Xt);
    const float *x = ml_f32(X);
    for (int64_t i0 = 0; i0 < n; i0 += 64)
      for (int j = 0; j < d; j++)
        for (int64_t i = i0; i < i0 + 64 && i < n; i++) Xt[(int64_t)j * n + i] = x[i * d + j];
    D->Xt = Xt;
  }
}

/* core.tree_fit(X, y, opts) -> ensemble of one tree.
 * opts: who, n_classes (0 = regression), criterion, max_depth,
 * min_samples_split, min_samples_leaf, max_features, min_impurity_decrease,
 * seed, sample_weight. */
static int l_tree_fit(lua_State *L) {
  luaL_checktype(L, 3, LUA_TTABLE);
  const char *who = opt_who(L, 3, "tree_fit");
  ml_ctx *ctx = mlb_ctx(L);
  ml_ensemble *e = push_ens(L);                       /* 4 */
  ml_tensor *X = check_X(L, 1, who, -1);
  int n_classes = (int)mlb_opt_integer(L, 3, who, "n_classes", 0);
  ml_tree_params p;
  ml_tree_data D;
  read_tree_params(L, 3, who, (int)X->shape[1], &p);
  read_data(L, X, 2, n_classes, who, &D, true);
  double *w = opt_weights(L, 3, who, D.n);
  MLB_CHECK(L, ml_ensemble_new(ctx, e, 1, D.d, n_classes > 0 ? n_classes : 1));
  if (ml_tree_fit(ctx, &e->trees[0], &D, w, &p, ctx->threads) != ML_OK)
    return luaL_error(L, "%s: %s", who, ctx->err);
  lua_pushvalue(L, 4);
  return 1;
}

/* core.forest_fit(X, y, opts) -> ensemble [, oob (n x n_values), oob counts (n)].
 * opts: the tree options plus n_estimators, bootstrap, n_bootstrap,
 * random_state, n_jobs (threads; <= 0 or above the engine's: all), oob. */
static int l_forest_fit(lua_State *L) {
  luaL_checktype(L, 3, LUA_TTABLE);
  const char *who = opt_who(L, 3, "forest_fit");
  ml_ctx *ctx = mlb_ctx(L);
  ml_ensemble *e = push_ens(L);                       /* 4 */
  ml_tensor *X = check_X(L, 1, who, -1);
  int n_classes = (int)mlb_opt_integer(L, 3, who, "n_classes", 0);
  ml_forest_params p;
  memset(&p, 0, sizeof p);
  read_tree_params(L, 3, who, (int)X->shape[1], &p.tree);
  p.n_estimators = (int)mlb_opt_integer(L, 3, who, "n_estimators", 100);
  p.bootstrap = mlb_opt_boolean(L, 3, who, "bootstrap", 1);
  p.n_bootstrap = mlb_opt_integer(L, 3, who, "n_bootstrap", X->shape[0]);
  p.random_state = (uint32_t)mlb_opt_integer(L, 3, who, "random_state", 0);
  p.oob = mlb_opt_boolean(L, 3, who, "oob", 0);
  int threads = (int)mlb_opt_integer(L, 3, who, "n_jobs", 1);
  if (threads <= 0 || threads > ctx->threads) threads = ctx->threads;
  ml_tree_data D;
  read_data(L, X, 2, n_classes, who, &D, true);
  double *w = opt_weights(L, 3, who, D.n);
  int nv = n_classes > 0 ? n_classes : 1;
  ml_tensor *oob = NULL;
  int oob_idx = 0;
  int32_t *counts = NULL;
  if (p.oob) {
    ml_tensor t;
    int64_t sh[2] = {D.n, nv};
    MLB_CHECK(L, ml_tensor_new(ctx, &t, ML_F32, 2, sh, false));
    oob = mlb_pushtensor(L, &t);
    oob_idx = lua_gettop(L);
    counts = scratch(L, (size_t)D.n * sizeof *counts);
  }
  if (ml_forest_fit(ctx, e, &D, w, &p, threads, oob ? ml_f32(oob) : NULL, counts) != ML_OK)
    return luaL_error(L, "%s: %s", who, ctx->err);
  lua_pushvalue(L, 4);
  if (!p.oob) return 1;
  lua_pushvalue(L, oob_idx);
  ml_tensor c;
  int64_t sc[1] = {D.n};
  MLB_CHECK(L, ml_tensor_new(ctx, &c, ML_F32, 1, sc, false));
  for (int64_t i = 0; i < D.n; i++) ml_f32(&c)[i] = (float)counts[i];
  mlb_pushtensor(L, &c);
  return 3;
}

/* core.gbm_fit(X, y_ids, opts) -> ensemble, baseline tensor.
 * opts: who, n_classes, n_estimators, learning_rate, max_depth,
 * min_samples_leaf, l2_regularization, subsample, max_bins, seed. */
static int l_gbm_fit(lua_State *L) {
  luaL_checktype(L, 3, LUA_TTABLE);
  const char *who = opt_who(L, 3, "gbm_fit");
  ml_ctx *ctx = mlb_ctx(L);
  ml_ensemble *e = push_ens(L);                       /* 4 */
  ml_tensor *X = check_X(L, 1, who, -1);
  int K = (int)mlb_opt_integer(L, 3, who, "n_classes", 2);
  if (K < 2) return luaL_error(L, "%s: need at least 2 classes, got %d", who, K);
  ml_gbm_params p;
  p.n_estimators = (int)mlb_opt_integer(L, 3, who, "n_estimators", 100);
  p.learning_rate = mlb_opt_number(L, 3, who, "learning_rate", 0.1);
  p.max_depth = (int)mlb_opt_integer(L, 3, who, "max_depth", 3);
  p.min_samples_leaf = mlb_opt_integer(L, 3, who, "min_samples_leaf", 1);
  p.l2_regularization = mlb_opt_number(L, 3, who, "l2_regularization", 0);
  p.subsample = mlb_opt_number(L, 3, who, "subsample", 1.0);
  p.max_bins = (int)mlb_opt_integer(L, 3, who, "max_bins", 255);
  p.seed = (uint64_t)mlb_opt_integer(L, 3, who, "seed", 0);
  ml_tree_data D;
  read_data(L, X, 2, K, who, &D, false);
  int nb = K == 2 ? 1 : K;
  double baseline[nb];
  if (ml_gbm_fit(ctx, e, baseline, ml_f32(X), D.n, D.d, D.y, K, &p) != ML_OK)
    return luaL_error(L, "%s: %s", who, ctx->err);
  ml_tensor base;
  int64_t sh[1] = {nb};
  MLB_CHECK(L, ml_tensor_new(ctx, &base, ML_F32, 1, sh, false));
  for (int k = 0; k < nb; k++) ml_f32(&base)[k] = (float)baseline[k];
  lua_pushvalue(L, 4);
  mlb_pushtensor(L, &base);
  return 2;
}

/* core.iforest_fit(X, opts) -> ensemble. opts: who, n_estimators,
 * max_samples, max_features, seed. */
static int l_iforest_fit(lua_State *L) {
  luaL_checktype(L, 2, LUA_TTABLE);
  const char *who = opt_who(L, 2, "iforest_fit");
  ml_ctx *ctx = mlb_ctx(L);
  ml_ensemble *e = push_ens(L);
  ml_tensor *X = check_X(L, 1, who, -1);
  int T = (int)mlb_opt_integer(L, 2, who, "n_estimators", 100);
  int64_t ms = mlb_opt_integer(L, 2, who, "max_samples", X->shape[0] < 256 ? X->shape[0] : 256);
  double mf = mlb_opt_number(L, 2, who, "max_features", 1.0);
  uint64_t seed = (uint64_t)mlb_opt_integer(L, 2, who, "seed", 0);
  if (ml_iforest_fit(ctx, e, ml_f32(X), X->shape[0], (int)X->shape[1], T, ms, mf, seed) != ML_OK)
    return luaL_error(L, "%s: %s", who, ctx->err);
  return 1;
}

/* e:predict(X, {who, first, step, sum}) -> n x n_values float32 tensor: mean
 * (or sum) of the leaf values of trees first, first+step, ... (1-based first). */
static int m_predict(lua_State *L) {
  ml_ensemble *e = check_ens(L, 1);
  bool o = lua_istable(L, 3);
  const char *who = o ? opt_who(L, 3, "predict") : "predict";
  int first = o ? (int)mlb_opt_integer(L, 3, who, "first", 1) : 1;
  int step = o ? (int)mlb_opt_integer(L, 3, who, "step", 1) : 1;
  int sum = o ? mlb_opt_boolean(L, 3, who, "sum", 0) : 0;
  if (first < 1 || first > e->n_trees || step < 1)
    return luaL_error(L, "%s: bad tree range (first %d, step %d, %d trees)", who, first, step,
                      e->n_trees);
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor *X = check_X(L, 2, who, e->n_features), out;
  int64_t sh[2] = {X->shape[0], e->n_values};
  MLB_CHECK(L, ml_tensor_new(ctx, &out, ML_F32, 2, sh, false));
  ml_tensor *o_ = mlb_pushtensor(L, &out);
  if (ml_ensemble_predict(ctx, e, ml_f32(X), X->shape[0], first - 1, step, sum, ml_f32(o_),
                          e->n_values) != ML_OK)
    return luaL_error(L, "%s: %s", who, ctx->err);
  return 1;
}

/* e:apply(X, i) -> int64 vector of the 1-based leaf node each sample reaches
 * in tree i. */
static int m_apply(lua_State *L) {
  ml_ensemble *e = check_ens(L, 1);
  int t = (int)luaL_optinteger(L, 3, 1);
  luaL_argcheck(L, t >= 1 && t <= e->n_trees, 3, "tree index out of range");
  ml_tensor *X = check_X(L, 2, "apply", e->n_features), out;
  int64_t sh[1] = {X->shape[0]};
  MLB_CHECK(L, ml_tensor_new(mlb_ctx(L), &out, ML_I64, 1, sh, false));
  const float *x = ml_f32(X);
  for (int64_t i = 0; i < X->shape[0]; i++)
    ml_i64(&out)[i] = ml_tree_leaf(&e->trees[t - 1], x + i * e->n_features) + 1;
  mlb_pushtensor(L, &out);
  return 1;
}

static int m_n_trees(lua_State *L) {
  lua_pushinteger(L, check_ens(L, 1)->n_trees);
  return 1;
}

/* e:info(i) -> node_count, max_depth, n_leaves of tree i (1-based). */
static int m_info(lua_State *L) {
  ml_ensemble *e = check_ens(L, 1);
  int t = (int)luaL_optinteger(L, 2, 1);
  luaL_argcheck(L, t >= 1 && t <= e->n_trees, 2, "tree index out of range");
  const ml_tree *tr = &e->trees[t - 1];
  lua_pushinteger(L, tr->n_nodes);
  lua_pushinteger(L, tr->max_depth);
  lua_pushinteger(L, ml_tree_n_leaves(tr));
  return 3;
}

/* e:importances() -> float32 vector (scikit-learn's feature_importances_). */
static int m_importances(lua_State *L) {
  ml_ensemble *e = check_ens(L, 1);
  double *imp = calloc((size_t)(e->n_features > 0 ? e->n_features : 1), sizeof *imp);
  if (!imp) return luaL_error(L, "feature_importances_: out of memory");
  ml_tensor out;
  int64_t sh[1] = {e->n_features};
  if (ml_tensor_new(mlb_ctx(L), &out, ML_F32, 1, sh, false) != ML_OK) { free(imp); return mlb_fail(L); }
  ml_ensemble_importances(e, imp);
  for (int j = 0; j < e->n_features; j++) ml_f32(&out)[j] = (float)imp[j];
  free(imp);
  mlb_pushtensor(L, &out);
  return 1;
}

static void push_new(lua_State *L, ml_dtype dt, int ndim, int64_t a, int64_t b, const void *src,
                     size_t elt, const char *field) {
  ml_tensor t;
  int64_t sh[2] = {a, b};
  if (ml_tensor_new(mlb_ctx(L), &t, dt, ndim, sh, false) != ML_OK) mlb_fail(L);
  if (src) memcpy(t.storage->data, src, (size_t)ml_numel(&t) * elt);
  mlb_pushtensor(L, &t);
  lua_setfield(L, -2, field);
}

/* e:state() -> {n_features, n_values, trees = {{feature, threshold,
 * children_left, children_right, value, impurity, n_node_samples,
 * weighted_n_node_samples, max_depth}, ...}} with 0-based int64 node ids. */
static int m_state(lua_State *L) {
  ml_ensemble *e = check_ens(L, 1);
  ml_ctx *ctx = mlb_ctx(L);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, e->n_features);
  lua_setfield(L, -2, "n_features");
  lua_pushinteger(L, e->n_values);
  lua_setfield(L, -2, "n_values");
  lua_createtable(L, e->n_trees, 0);
  for (int t = 0; t < e->n_trees; t++) {
    const ml_tree *tr = &e->trees[t];
    int64_t nn = tr->n_nodes;
    lua_createtable(L, 0, 9);
    ml_tensor a;
    int64_t sh[1] = {nn};
    const int32_t *src[3] = {tr->feature, tr->left, tr->right};
    const char *names[3] = {"feature", "children_left", "children_right"};
    for (int k = 0; k < 3; k++) {
      if (ml_tensor_new(ctx, &a, ML_I64, 1, sh, false) != ML_OK) return mlb_fail(L);
      for (int64_t i = 0; i < nn; i++) ml_i64(&a)[i] = src[k][i];
      mlb_pushtensor(L, &a);
      lua_setfield(L, -2, names[k]);
    }
    push_new(L, ML_F32, 1, nn, 0, tr->threshold, sizeof(float), "threshold");
    push_new(L, ML_F32, 2, nn, tr->n_values, tr->value, sizeof(float), "value");
    push_new(L, ML_I64, 1, nn, 0, tr->n_samples, sizeof(int64_t), "n_node_samples");
    if (ml_tensor_new(ctx, &a, ML_F32, 1, sh, false) != ML_OK) return mlb_fail(L);
    for (int64_t i = 0; i < nn; i++) ml_f32(&a)[i] = (float)tr->impurity[i];
    mlb_pushtensor(L, &a);
    lua_setfield(L, -2, "impurity");
    if (ml_tensor_new(ctx, &a, ML_F32, 1, sh, false) != ML_OK) return mlb_fail(L);
    for (int64_t i = 0; i < nn; i++) ml_f32(&a)[i] = (float)tr->weighted_n[i];
    mlb_pushtensor(L, &a);
    lua_setfield(L, -2, "weighted_n_node_samples");
    lua_pushinteger(L, tr->max_depth);
    lua_setfield(L, -2, "max_depth");
    lua_rawseti(L, -2, t + 1);
  }
  lua_setfield(L, -2, "trees");
  return 1;
}

/* Field `name` of the table on top as a contiguous tensor of n (x nv) elements. */
static ml_tensor *state_field(lua_State *L, const char *name, ml_dtype dt, int64_t n, int nv,
                              int t) {
  lua_getfield(L, -1, name);
  ml_tensor *a = mlb_totensor(L, -1);
  if (!a || a->dtype != dt || !ml_is_contiguous(a) || ml_numel(a) != n * nv)
    luaL_error(L, "TreeEnsemble.from_state: tree %d field '%s' must be a contiguous %s tensor "
               "of %d elements", t, name, ml_dtype_name(dt), (int)(n * nv));
  lua_pop(L, 1);   /* still referenced by the state table */
  return a;
}

/* core.ensemble_from_state(state) -> ensemble; validates every node link so
 * a damaged file gives an error, never a crash at predict time. */
static int l_from_state(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "n_features");
  lua_getfield(L, 1, "n_values");
  int d = (int)luaL_checkinteger(L, -2), nv = (int)luaL_checkinteger(L, -1);
  lua_pop(L, 2);
  if (d < 1 || nv < 1) return luaL_error(L, "TreeEnsemble.from_state: bad n_features/n_values");
  if (lua_getfield(L, 1, "trees") != LUA_TTABLE)
    return luaL_error(L, "TreeEnsemble.from_state: missing trees");
  int T = (int)luaL_len(L, -1);
  ml_ensemble *e = push_ens(L);
  lua_insert(L, -2);
  if (ml_ensemble_new(mlb_ctx(L), e, T, d, nv) != ML_OK) return mlb_fail(L);
  for (int t = 0; t < T; t++) {
    if (lua_rawgeti(L, -1, t + 1) != LUA_TTABLE)
      return luaL_error(L, "TreeEnsemble.from_state: tree %d is not a table", t + 1);
    lua_getfield(L, -1, "feature");
    ml_tensor *ft = mlb_totensor(L, -1);
    if (!ft || ft->ndim != 1) return luaL_error(L, "TreeEnsemble.from_state: tree %d has no feature", t + 1);
    int64_t nn = ft->shape[0];
    lua_pop(L, 1);
    if (nn < 1 || nn > 0x7fffffff) return luaL_error(L, "TreeEnsemble.from_state: bad node count");
    ml_tensor *fe = state_field(L, "feature", ML_I64, nn, 1, t + 1);
    ml_tensor *le = state_field(L, "children_left", ML_I64, nn, 1, t + 1);
    ml_tensor *ri = state_field(L, "children_right", ML_I64, nn, 1, t + 1);
    ml_tensor *th = state_field(L, "threshold", ML_F32, nn, 1, t + 1);
    ml_tensor *va = state_field(L, "value", ML_F32, nn, nv, t + 1);
    ml_tensor *ns = state_field(L, "n_node_samples", ML_I64, nn, 1, t + 1);
    ml_tensor *im = state_field(L, "impurity", ML_F32, nn, 1, t + 1);
    ml_tensor *wn = state_field(L, "weighted_n_node_samples", ML_F32, nn, 1, t + 1);
    ml_tree *tr = &e->trees[t];
    if (ml_tree_init(tr, nv, nn) != ML_OK) return luaL_error(L, "TreeEnsemble.from_state: out of memory");
    tr->n_nodes = nn;
    for (int64_t i = 0; i < nn; i++) {
      int64_t fi = ml_i64(fe)[i], l = ml_i64(le)[i], r = ml_i64(ri)[i];
      /* children come after their parent in both builders: no cycles */
      bool leaf = fi < 0;
      if ((!leaf && (fi >= d || l <= i || r <= i || l >= nn || r >= nn)) ||
          (leaf && (l != -1 || r != -1)))
        return luaL_error(L, "TreeEnsemble.from_state: tree %d node %d is inconsistent", t + 1,
                          (int)i + 1);
      tr->feature[i] = leaf ? -1 : (int32_t)fi;
      tr->left[i] = (int32_t)l;
      tr->right[i] = (int32_t)r;
      tr->threshold[i] = ml_f32(th)[i];
      tr->n_samples[i] = ml_i64(ns)[i];
      tr->impurity[i] = ml_f32(im)[i];
      tr->weighted_n[i] = ml_f32(wn)[i];
    }
    memcpy(tr->value, ml_f32(va), (size_t)(nn * nv) * sizeof(float));
    lua_getfield(L, -1, "max_depth");
    tr->max_depth = (int)luaL_optinteger(L, -1, 0);
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  return 1;
}

void mlb_open_estim_tree(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"predict", m_predict}, {"apply", m_apply}, {"n_trees", m_n_trees}, {"info", m_info},
    {"importances", m_importances}, {"state", m_state}, {NULL, NULL}};
  if (luaL_newmetatable(L, MLB_ENSEMBLE)) {
    lua_pushcfunction(L, ens_gc);
    lua_setfield(L, -2, "__gc");
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  static const luaL_Reg funcs[] = {
    {"tree_fit", l_tree_fit}, {"forest_fit", l_forest_fit}, {"gbm_fit", l_gbm_fit},
    {"iforest_fit", l_iforest_fit}, {"ensemble_from_state", l_from_state}, {NULL, NULL}};
  mlb_register(L, funcs);
}
