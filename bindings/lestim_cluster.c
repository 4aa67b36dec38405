/* lestim_cluster.c - ml.core.estim_cluster: the functions under ml.neighbors,
 * ml.cluster and ml.decomposition, thin checks around runtime/estim. The
 * scikit-learn-shaped classes are Lua (the stdlib/ml modules); indices cross this
 * border 0-based (int64) and the Lua side adds 1 where users see positions. */
#include "mlb.h"
#include "../runtime/estim/knn.h"
#include "../runtime/estim/kmeans.h"
#include "../runtime/estim/pca.h"
#include "../runtime/estim/nmf.h"
#include <string.h>

static int pick(lua_State *L, int idx, const char *who, const char *const *names) {
  const char *s = luaL_checkstring(L, idx);
  for (int i = 0; names[i]; i++) if (strcmp(s, names[i]) == 0) return i;
  return luaL_error(L, "%s: unknown option value \"%s\"", who, s);
}

/* knn_kneighbors(train, query, k, metric, p) -> dist, idx (0-based int64) */
static int l_knn_kneighbors(lua_State *L) {
  static const char *const metrics[] = {"euclidean", "manhattan", "chebyshev", "minkowski", NULL};
  ml_tensor *tr = mlb_checktensor(L, 1), *q = mlb_checktensor(L, 2);
  int64_t k = luaL_checkinteger(L, 3);
  int m = pick(L, 4, "kneighbors: metric", metrics);
  double p = luaL_optnumber(L, 5, 2);
  ml_tensor d, i;
  MLB_CHECK(L, ml_knn_kneighbors(mlb_ctx(L), &d, &i, tr, q, k, (ml_knn_metric)m, p));
  mlb_pushtensor(L, &d);
  mlb_pushtensor(L, &i);
  return 2;
}

/* knn_vote(dist, idx, y_ids, n_classes, distance) -> proba */
static int l_knn_vote(lua_State *L) {
  ml_tensor out;
  MLB_CHECK(L, ml_knn_vote(mlb_ctx(L), &out, mlb_checktensor(L, 1), mlb_checktensor(L, 2),
                           mlb_checktensor(L, 3), luaL_checkinteger(L, 4), lua_toboolean(L, 5)));
  mlb_pushtensor(L, &out);
  return 1;
}

/* knn_regress(dist, idx, y, distance) -> pred */
static int l_knn_regress(lua_State *L) {
  ml_tensor out;
  MLB_CHECK(L, ml_knn_regress(mlb_ctx(L), &out, mlb_checktensor(L, 1), mlb_checktensor(L, 2),
                              mlb_checktensor(L, 3), lua_toboolean(L, 4)));
  mlb_pushtensor(L, &out);
  return 1;
}

/* kmeans_fit(X, opts, init_centres|nil) -> centres, labels, inertia, n_iter */
static int l_kmeans_fit(lua_State *L) {
  static const char *const allowed[] = {"n_clusters", "n_init", "max_iter", "tol", "init", "seed", NULL};
  static const char *const inits[] = {"k-means++", "random", NULL};
  ml_tensor *X = mlb_checktensor(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  mlb_opts_check(L, 2, "kmeans_fit", allowed);
  ml_kmeans_params p;
  p.n_clusters = mlb_opt_integer(L, 2, "kmeans_fit", "n_clusters", 8);
  p.n_init = (int)mlb_opt_integer(L, 2, "kmeans_fit", "n_init", 10);
  p.max_iter = (int)mlb_opt_integer(L, 2, "kmeans_fit", "max_iter", 300);
  p.tol = mlb_opt_number(L, 2, "kmeans_fit", "tol", 1e-4);
  p.seed = (uint64_t)mlb_opt_integer(L, 2, "kmeans_fit", "seed", 0);
  ml_tensor *init = mlb_totensor(L, 3);
  if (init) p.init = ML_KMEANS_GIVEN;
  else {
    lua_getfield(L, 2, "init");
    p.init = lua_isnil(L, -1) ? ML_KMEANS_PLUSPLUS : (ml_kmeans_init)pick(L, -1, "KMeans: init", inits);
    lua_pop(L, 1);
  }
  const char *msg = ml_kmeans_check(&p);
  if (msg) return luaL_error(L, "KMeans: %s", msg);
  ml_tensor c, l;
  double inertia;
  int n_iter;
  MLB_CHECK(L, ml_kmeans_fit(mlb_ctx(L), &c, &l, &inertia, &n_iter, X, &p, init));
  mlb_pushtensor(L, &c);
  mlb_pushtensor(L, &l);
  lua_pushnumber(L, inertia);
  lua_pushinteger(L, n_iter);
  return 4;
}

/* kmeans_assign(X, centres) -> labels (int64, 0-based), squared distances */
static int l_kmeans_assign(lua_State *L) {
  ml_tensor l, d;
  MLB_CHECK(L, ml_kmeans_assign(mlb_ctx(L), &l, &d, mlb_checktensor(L, 1), mlb_checktensor(L, 2)));
  mlb_pushtensor(L, &l);
  mlb_pushtensor(L, &d);
  return 2;
}

/* sqdist(X, C) -> n x k squared Euclidean distances */
static int l_sqdist(lua_State *L) {
  ml_tensor out;
  MLB_CHECK(L, ml_sqdist(mlb_ctx(L), &out, mlb_checktensor(L, 1), mlb_checktensor(L, 2)));
  mlb_pushtensor(L, &out);
  return 1;
}

static const char *const pca_solvers[] = {"auto", "full", "covariance_eigh", NULL};

/* pca_fit(X, m, solver) -> mean, components, explained_variance, singular_values,
 * total_var, {explained variances as doubles} */
static int l_pca_fit(lua_State *L) {
  ml_tensor *X = mlb_checktensor(L, 1);
  int64_t m = luaL_checkinteger(L, 2);
  int s = pick(L, 3, "PCA: svd_solver", pca_solvers);
  if (m < 1 || m > (1 << 24)) return luaL_error(L, "PCA: n_components=%d out of range", (int)m);
  double *evd = lua_newuserdatauv(L, sizeof(double) * (size_t)m, 0);
  ml_tensor mean, comp, ev, sv;
  double tot;
  MLB_CHECK(L, ml_pca_fit(mlb_ctx(L), &mean, &comp, &ev, &sv, &tot, evd, X, m, (ml_pca_solver)s));
  mlb_pushtensor(L, &mean);
  mlb_pushtensor(L, &comp);
  mlb_pushtensor(L, &ev);
  mlb_pushtensor(L, &sv);
  lua_pushnumber(L, tot);
  lua_createtable(L, (int)m, 0);
  for (int64_t j = 0; j < m; j++) { lua_pushnumber(L, evd[j]); lua_rawseti(L, -2, j + 1); }
  return 6;
}

/* nmf_init(X, k, mode, seed) -> W, H */
static int l_nmf_init(lua_State *L) {
  static const char *const modes[] = {"random", "nndsvd", "nndsvda", "nndsvdar", NULL};
  ml_tensor *X = mlb_checktensor(L, 1);
  int64_t k = luaL_checkinteger(L, 2);
  int m = pick(L, 3, "NMF: init", modes);
  uint64_t seed = (uint64_t)luaL_optinteger(L, 4, 0);
  ml_tensor W, H;
  MLB_CHECK(L, ml_nmf_init_wh(mlb_ctx(L), &W, &H, X, k, (ml_nmf_init)m, seed));
  mlb_pushtensor(L, &W);
  mlb_pushtensor(L, &H);
  return 2;
}

/* nmf_solve(W, H, X, opts) -> n_iter; W and H are updated in place */
static int l_nmf_solve(lua_State *L) {
  static const char *const allowed[] = {"solver", "tol", "max_iter", "l1_W", "l2_W", "l1_H",
                                        "l2_H", "update_H", NULL};
  ml_tensor *W = mlb_checktensor(L, 1), *H = mlb_checktensor(L, 2), *X = mlb_checktensor(L, 3);
  luaL_checktype(L, 4, LUA_TTABLE);
  mlb_opts_check(L, 4, "nmf_solve", allowed);
  const char *who = "nmf_solve";
  const char *solver = mlb_opt_string(L, 4, who, "solver", "cd");
  ml_nmf_params p;
  if (strcmp(solver, "cd") == 0) p.solver = ML_NMF_CD;
  else if (strcmp(solver, "mu") == 0) p.solver = ML_NMF_MU;
  else return luaL_error(L, "NMF: solver must be \"cd\" or \"mu\", got \"%s\"", solver);
  p.tol = mlb_opt_number(L, 4, who, "tol", 1e-4);
  p.max_iter = (int)mlb_opt_integer(L, 4, who, "max_iter", 200);
  p.l1_W = mlb_opt_number(L, 4, who, "l1_W", 0);
  p.l2_W = mlb_opt_number(L, 4, who, "l2_W", 0);
  p.l1_H = mlb_opt_number(L, 4, who, "l1_H", 0);
  p.l2_H = mlb_opt_number(L, 4, who, "l2_H", 0);
  p.update_H = mlb_opt_boolean(L, 4, who, "update_H", 1);
  p.sparse = 0;
  int n_iter = 0;
  MLB_CHECK(L, ml_nmf_solve(mlb_ctx(L), W, H, X, &p, &n_iter));
  lua_pushinteger(L, n_iter);
  return 1;
}

/* nmf_error(X, W, H) -> ||X - W H||_F */
static int l_nmf_error(lua_State *L) {
  double e;
  MLB_CHECK(L, ml_nmf_error(mlb_ctx(L), &e, mlb_checktensor(L, 1), mlb_checktensor(L, 2),
                            mlb_checktensor(L, 3)));
  lua_pushnumber(L, e);
  return 1;
}

static const luaL_Reg functions[] = {
  {"knn_kneighbors", l_knn_kneighbors}, {"knn_vote", l_knn_vote}, {"knn_regress", l_knn_regress},
  {"kmeans_fit", l_kmeans_fit}, {"kmeans_assign", l_kmeans_assign}, {"sqdist", l_sqdist},
  {"pca_fit", l_pca_fit}, {"nmf_init", l_nmf_init}, {"nmf_solve", l_nmf_solve},
  {"nmf_error", l_nmf_error},
  {NULL, NULL}
};

void mlb_open_estim_cluster(lua_State *L) { mlb_register(L, functions); }
