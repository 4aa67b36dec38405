/* lestim_linear.c - bindings of the linear models: least squares, ridge and
 * logistic regression (ml.core.linear_fit, ridge_fit, logreg_fit). The
 * scikit-learn-shaped classes are in stdlib/ml/linear_model.lua. */
#include "estim.h"
#include "../runtime/estim/linear.h"
#include "../runtime/estim/logistic.h"

/* X (n x f), Y (n x t) -> Y as a matrix even when given as a vector. */
static void xy(lua_State *L, const char *who, ml_tensor **X, ml_tensor **Y) {
  *X = mlb_checkf32(L, 1, 2, who, "X");
  ml_tensor *y = mlb_checktensor(L, 2);
  *Y = mlb_checkf32(L, 2, y->ndim == 1 ? 1 : 2, who, "y");
  if ((*Y)->shape[0] != (*X)->shape[0])
    luaL_error(L, "%s: X has %I rows but y has %I", who, (lua_Integer)(*X)->shape[0],
               (lua_Integer)(*Y)->shape[0]);
  mlb_estim_finite(L, *X, who, "X");
  mlb_estim_finite(L, *Y, who, "y");
}

/* linear_fit(X, y, fit_intercept) -> coef (t x f), intercept (t), rank */
static int l_linear_fit(lua_State *L) {
  lua_settop(L, 3);   /* helpers push above the arguments */
  ml_tensor *X, *Y;
  xy(L, "LinearRegression", &X, &Y);
  bool fi = lua_toboolean(L, 3);
  int64_t n = X->shape[0], f = X->shape[1], t = Y->ndim == 2 ? Y->shape[1] : 1;
  ml_tensor *coef = mlb_estim_new(L, 2, t, f), *b = mlb_estim_new(L, 1, t, 0);
  int rank = 0;
  MLB_CHECK(L, ml_linear_fit(mlb_ctx(L), ml_f32(X), ml_f32(Y), n, f, t, fi, ml_f32(coef),
                             ml_f32(b), &rank));
  lua_pushinteger(L, rank);
  return 3;
}

/* ridge_fit(X, y, alpha, fit_intercept) -> coef (t x f), intercept (t) */
static int l_ridge_fit(lua_State *L) {
  lua_settop(L, 4);   /* helpers push above the arguments */
  ml_tensor *X, *Y;
  xy(L, "Ridge", &X, &Y);
  double alpha = luaL_checknumber(L, 3);
  bool fi = lua_toboolean(L, 4);
  int64_t n = X->shape[0], f = X->shape[1], t = Y->ndim == 2 ? Y->shape[1] : 1;
  ml_tensor *coef = mlb_estim_new(L, 2, t, f), *b = mlb_estim_new(L, 1, t, 0);
  MLB_CHECK(L, ml_ridge_fit(mlb_ctx(L), ml_f32(X), ml_f32(Y), n, f, t, alpha, fi, ml_f32(coef),
                            ml_f32(b)));
  return 2;
}

/* logreg_fit(X, ids, K, opts, sample_weight|nil) -> coef (R x f), intercept
 * (R), n_iter, converged. opts: C, penalty (boolean), fit_intercept,
 * max_iter, tol. */
static int l_logreg_fit(lua_State *L) {
  lua_settop(L, 5);   /* helpers push above the arguments */
  const char *who = "LogisticRegression";
  static const char *const keys[] = {"C", "penalty", "fit_intercept", "max_iter", "tol", NULL};
  ml_tensor *X = mlb_checkf32(L, 1, 2, who, "X");
  int64_t n = X->shape[0], f = X->shape[1];
  ml_tensor *ids = mlb_estim_ids(L, 2, who, n);
  int K = (int)luaL_checkinteger(L, 3);
  mlb_opts_check(L, 4, who, keys);
  ml_logreg_params p = {mlb_opt_number(L, 4, who, "C", 1.0),
                        mlb_opt_boolean(L, 4, who, "penalty", 1),
                        mlb_opt_boolean(L, 4, who, "fit_intercept", 1),
                        (int)mlb_opt_integer(L, 4, who, "max_iter", 100),
                        mlb_opt_number(L, 4, who, "tol", 1e-4)};
  const char *msg = ml_logreg_check(&p);
  if (msg) return luaL_error(L, "%s: %s", who, msg);
  if (K < 2) return luaL_error(L, "%s: needs at least 2 classes, got %d", who, K);
  double *sw = NULL;
  if (!lua_isnoneornil(L, 5)) {
    ml_tensor *w = mlb_checkf32(L, 5, 1, who, "sample_weight");
    if (w->shape[0] != n) return luaL_error(L, "%s: expected %I sample weights", who, (lua_Integer)n);
    sw = lua_newuserdatauv(L, sizeof(double) * (size_t)n, 0);
    for (int64_t i = 0; i < n; i++) sw[i] = ml_f32(w)[i];
  }
  mlb_estim_finite(L, X, who, "X");
  int R = K == 2 ? 1 : K;
  ml_tensor *coef = mlb_estim_new(L, 2, R, f), *b = mlb_estim_new(L, 1, R, 0);
  int it = 0;
  bool conv = false;
  MLB_CHECK(L, ml_logreg_fit(mlb_ctx(L), &p, ml_f32(X), ml_i64(ids), sw, n, f, K, ml_f32(coef),
                             ml_f32(b), &it, &conv));
  lua_pushinteger(L, it);
  lua_pushboolean(L, conv);
  return 4;
}

static const luaL_Reg functions[] = {
  {"linear_fit", l_linear_fit},
  {"ridge_fit", l_ridge_fit},
  {"logreg_fit", l_logreg_fit},
  {NULL, NULL},
};

void mlb_open_estim_linear(lua_State *L) { mlb_register(L, functions); }
