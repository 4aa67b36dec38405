/* lestim_svm.c - bindings of the support vector machines (ml.core.svc_fit,
 * svc_decision, svc_proba, linsvc_fit). The scikit-learn-shaped classes are
 * in stdlib/ml/svm.lua. */
#include "estim.h"
#include "../runtime/estim/svm.h"
#include <string.h>

/* Kernel from the options table at idx: kernel, degree, gamma, coef0. */
static ml_kernel check_kernel(lua_State *L, int idx, const char *who) {
  ml_kernel k;
  const char *name = mlb_opt_string(L, idx, who, "kernel", "rbf");
  if (!strcmp(name, "linear")) k.kind = ML_KERNEL_LINEAR;
  else if (!strcmp(name, "poly")) k.kind = ML_KERNEL_POLY;
  else if (!strcmp(name, "rbf")) k.kind = ML_KERNEL_RBF;
  else if (!strcmp(name, "sigmoid")) k.kind = ML_KERNEL_SIGMOID;
  else luaL_error(L, "%s: kernel must be \"linear\", \"poly\", \"rbf\" or \"sigmoid\", got \"%s\"",
                  who, name);
  k.degree = (int)mlb_opt_integer(L, idx, who, "degree", 3);
  k.gamma = mlb_opt_number(L, idx, who, "gamma", 1.0);
  k.coef0 = mlb_opt_number(L, idx, who, "coef0", 0.0);
  return k;
}

/* Optional K class weights (a tensor) at field "class_weight" of idx. */
static double *class_weights(lua_State *L, int idx, const char *who, int K) {
  lua_getfield(L, idx, "class_weight");
  if (lua_isnil(L, -1)) { lua_pop(L, 1); return NULL; }
  ml_tensor *w = mlb_checkf32(L, lua_gettop(L), 1, who, "class_weight");
  if (w->shape[0] != K) luaL_error(L, "%s: expected %d class weights", who, K);
  double *cw = lua_newuserdatauv(L, sizeof(double) * (size_t)K, 0);
  for (int k = 0; k < K; k++) {
    cw[k] = ml_f32(w)[k];
    if (!(cw[k] > 0)) luaL_error(L, "%s: class weights must be positive, got %g", who, cw[k]);
  }
  return cw;   /* kept alive by the stack */
}

static void push_f64(lua_State *L, const double *v, int64_t d0, int64_t d1, int ndim) {
  ml_tensor *t = mlb_estim_new(L, ndim, d0, d1);
  float *p = ml_f32(t);
  for (int64_t i = 0; i < d0 * (ndim == 2 ? d1 : 1); i++) p[i] = (float)v[i];
}

static const char *const svc_keys[] = {"kernel", "degree", "gamma", "coef0", "C", "tol",
  "cache_size", "shrinking", "probability", "max_iter", "class_weight", "seed", NULL};

/* svc_fit(X, ids, K, opts) -> table {support (1-based int64), n_support,
 * support_vectors, dual_coef, intercept (= -rho), probA, probB, n_iter, hit_max} */
static int l_svc_fit(lua_State *L) {
  lua_settop(L, 4);   /* helpers push above the arguments */
  const char *who = "SVC";
  ml_tensor *X = mlb_checkf32(L, 1, 2, who, "X");
  int64_t n = X->shape[0], f = X->shape[1];
  ml_tensor *ids = mlb_estim_ids(L, 2, who, n);
  int K = (int)luaL_checkinteger(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  mlb_opts_check(L, 4, who, svc_keys);
  ml_svc_params p;
  p.kernel = check_kernel(L, 4, who);
  p.C = mlb_opt_number(L, 4, who, "C", 1.0);
  p.tol = mlb_opt_number(L, 4, who, "tol", 1e-3);
  p.cache_mb = mlb_opt_number(L, 4, who, "cache_size", 200);
  p.shrinking = mlb_opt_boolean(L, 4, who, "shrinking", 1);
  p.probability = mlb_opt_boolean(L, 4, who, "probability", 0);
  p.max_iter = mlb_opt_integer(L, 4, who, "max_iter", -1);
  p.seed = (uint64_t)mlb_opt_integer(L, 4, who, "seed", 0);
  if (K < 2) return luaL_error(L, "%s: needs at least 2 classes, got %d", who, K);
  p.class_weight = class_weights(L, 4, who, K);
  const char *msg = ml_svc_check(&p);
  if (msg) return luaL_error(L, "%s: %s", who, msg);
  mlb_estim_finite(L, X, who, "X");
  ml_svc_model m;
  MLB_CHECK(L, ml_svc_fit(mlb_ctx(L), &p, ml_f32(X), ml_i64(ids), n, f, K, &m));
  /* copy into tensors; the model's buffers are freed before any Lua error
   * could escape (allocation failures raise only after the frees below) */
  int P = K * (K - 1) / 2;
  lua_createtable(L, 0, 9);
  int tbl = lua_gettop(L);
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor t[8];
  int64_t nsv = m.n_sv;
  int64_t shp[][2] = {{nsv, 0}, {K, 0}, {nsv, f}, {K - 1, nsv}, {P, 0}, {P, 0}, {P, 0}, {P, 0}};
  int nd[] = {1, 1, 2, 2, 1, 1, 1, 1};
  ml_dtype dt[] = {ML_I64, ML_I64, ML_F32, ML_F32, ML_F32, ML_F32, ML_F32, ML_I64};
  int made = 0, ok = 1;
  for (; made < 8; made++)
    if (ml_tensor_new(ctx, &t[made], dt[made], nd[made], shp[made], true)) { ok = 0; break; }
  if (ok) {
    for (int64_t s = 0; s < nsv; s++) ml_i64(&t[0])[s] = m.support[s] + 1;
    for (int k = 0; k < K; k++) ml_i64(&t[1])[k] = m.n_support[k];
    memcpy(ml_f32(&t[2]), m.sv, sizeof(float) * (size_t)(nsv * f));
    for (int64_t s = 0; s < (K - 1) * nsv; s++) ml_f32(&t[3])[s] = (float)m.dual_coef[s];
    for (int q = 0; q < P; q++) {
      ml_f32(&t[4])[q] = (float)-m.rho[q];
      ml_f32(&t[5])[q] = m.probA ? (float)m.probA[q] : 0.0f;
      ml_f32(&t[6])[q] = m.probB ? (float)m.probB[q] : 0.0f;
      ml_i64(&t[7])[q] = m.n_iter[q];
    }
  }
  bool hit = m.hit_max, prob = m.probA != NULL;
  ml_svc_model_free(&m);
  if (!ok) { for (int i = 0; i < made; i++) ml_tensor_release(&t[i]); return mlb_fail(L); }
  const char *names[] = {"support", "n_support", "support_vectors", "dual_coef", "intercept",
                         "probA", "probB", "n_iter"};
  for (int i = 0; i < 8; i++) {
    if ((i == 5 || i == 6) && !prob) { ml_tensor_release(&t[i]); continue; }
    mlb_pushtensor(L, &t[i]);
    lua_setfield(L, tbl, names[i]);
  }
  lua_pushboolean(L, hit);
  lua_setfield(L, tbl, "hit_max");
  return 1;
}

/* svc_decision(X, support_vectors, n_support, dual_coef, intercept, kernel_opts)
 * -> m x P float32 (positive: the first class of the pair) */
static int l_svc_decision(lua_State *L) {
  lua_settop(L, 6);   /* helpers push above the arguments */
  const char *who = "SVC";
  ml_tensor *X = mlb_checkf32(L, 1, 2, who, "X");
  ml_tensor *sv = mlb_checkf32(L, 2, 2, who, "support_vectors_");
  ml_tensor *ns = mlb_checktensor(L, 3);
  ml_tensor *dc = mlb_checkf32(L, 4, 2, who, "dual_coef_");
  ml_tensor *ic = mlb_checkf32(L, 5, 1, who, "intercept_");
  ml_kernel k = check_kernel(L, 6, who);
  int64_t m = X->shape[0], f = X->shape[1], nsv = sv->shape[0];
  if (sv->shape[1] != f)
    return luaL_error(L, "%s: X has %I features, but the model was fitted with %I", who,
                      (lua_Integer)f, (lua_Integer)sv->shape[1]);
  int K = (int)ml_numel(ns);
  int P = K * (K - 1) / 2;
  if (K < 2 || dc->shape[0] != K - 1 || dc->shape[1] != nsv || ic->shape[0] != P)
    return luaL_error(L, "%s: inconsistent fitted state", who);
  mlb_estim_finite(L, X, who, "X");
  const int64_t *nsup = ml_i64(mlb_estim_ids(L, 3, who, K));
  double *coef = lua_newuserdatauv(L, sizeof(double) * (size_t)((K - 1) * nsv + P), 0);
  double *rho = coef + (K - 1) * nsv;
  for (int64_t s = 0; s < (K - 1) * nsv; s++) coef[s] = ml_f32(dc)[s];
  for (int q = 0; q < P; q++) rho[q] = -(double)ml_f32(ic)[q];
  double *dec = lua_newuserdatauv(L, sizeof(double) * (size_t)(m * P + 1), 0);
  MLB_CHECK(L, ml_svc_decision(mlb_ctx(L), &k, ml_f32(sv), nsv, f, nsup, K, coef, rho,
                               ml_f32(X), m, dec));
  push_f64(L, dec, m, P, 2);
  return 1;
}

/* svc_proba(dec (m x P), K, probA, probB) -> m x K */
static int l_svc_proba(lua_State *L) {
  lua_settop(L, 4);   /* helpers push above the arguments */
  ml_tensor *d = mlb_checkf32(L, 1, 2, "SVC", "decision values");
  int K = (int)luaL_checkinteger(L, 2);
  ml_tensor *a = mlb_checkf32(L, 3, 1, "SVC", "probA_");
  ml_tensor *b = mlb_checkf32(L, 4, 1, "SVC", "probB_");
  int P = K * (K - 1) / 2;
  int64_t m = d->shape[0];
  if (K < 2 || d->shape[1] != P || a->shape[0] != P || b->shape[0] != P)
    return luaL_error(L, "SVC: inconsistent probability state");
  double *buf = lua_newuserdatauv(L, sizeof(double) * (size_t)(m * P + m * K + 2 * P + 1), 0);
  double *dec = buf, *prob = buf + m * P, *pa = prob + m * K, *pb = pa + P;
  for (int64_t i = 0; i < m * P; i++) dec[i] = ml_f32(d)[i];
  for (int q = 0; q < P; q++) { pa[q] = ml_f32(a)[q]; pb[q] = ml_f32(b)[q]; }
  ml_svc_proba(mlb_ctx(L), dec, m, K, pa, pb, prob);
  push_f64(L, prob, m, K, 2);
  return 1;
}

static const char *const linsvc_keys[] = {"C", "tol", "loss", "fit_intercept",
  "intercept_scaling", "max_iter", "class_weight", "seed", NULL};

/* linsvc_fit(X, ids, K, opts) -> coef (R x f), intercept (R), n_iter, hit_max */
static int l_linsvc_fit(lua_State *L) {
  lua_settop(L, 4);   /* helpers push above the arguments */
  const char *who = "LinearSVC";
  ml_tensor *X = mlb_checkf32(L, 1, 2, who, "X");
  int64_t n = X->shape[0], f = X->shape[1];
  ml_tensor *ids = mlb_estim_ids(L, 2, who, n);
  int K = (int)luaL_checkinteger(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  mlb_opts_check(L, 4, who, linsvc_keys);
  const char *loss = mlb_opt_string(L, 4, who, "loss", "squared_hinge");
  if (strcmp(loss, "squared_hinge") && strcmp(loss, "hinge"))
    return luaL_error(L, "%s: loss must be \"hinge\" or \"squared_hinge\", got \"%s\"", who, loss);
  ml_linsvc_params p = {mlb_opt_number(L, 4, who, "C", 1.0), mlb_opt_number(L, 4, who, "tol", 1e-4),
                        strcmp(loss, "hinge") != 0, mlb_opt_boolean(L, 4, who, "fit_intercept", 1),
                        mlb_opt_number(L, 4, who, "intercept_scaling", 1.0),
                        (int)mlb_opt_integer(L, 4, who, "max_iter", 1000), NULL,
                        (uint64_t)mlb_opt_integer(L, 4, who, "seed", 0)};
  if (K < 2) return luaL_error(L, "%s: needs at least 2 classes, got %d", who, K);
  p.class_weight = class_weights(L, 4, who, K);
  const char *msg = ml_linsvc_check(&p);
  if (msg) return luaL_error(L, "%s: %s", who, msg);
  mlb_estim_finite(L, X, who, "X");
  int R = K == 2 ? 1 : K, it = 0;
  bool hit = false;
  ml_tensor *coef = mlb_estim_new(L, 2, R, f), *b = mlb_estim_new(L, 1, R, 0);
  MLB_CHECK(L, ml_linsvc_fit(mlb_ctx(L), &p, ml_f32(X), ml_i64(ids), n, f, K, ml_f32(coef),
                             ml_f32(b), &it, &hit));
  lua_pushinteger(L, it);
  lua_pushboolean(L, hit);
  return 4;
}

static const luaL_Reg functions[] = {
  {"svc_fit", l_svc_fit},
  {"svc_decision", l_svc_decision},
  {"svc_proba", l_svc_proba},
  {"linsvc_fit", l_linsvc_fit},
  {NULL, NULL},
};

void mlb_open_estim_svm(lua_State *L) { mlb_register(L, functions); }
