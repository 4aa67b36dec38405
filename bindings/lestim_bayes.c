/* lestim_bayes.c - ml.core.estim_bayes: Gaussian naive Bayes
 * (runtime/estim/naive_bayes.c) for ml.naive_bayes.GaussianNB. Class ids
 * cross this border 0-based (int64). */
#include "mlb.h"
#include "../runtime/estim/naive_bayes.h"

/* gnb_fit(X, y_ids, K, var_smoothing) -> theta, var, counts, epsilon */
static int l_gnb_fit(lua_State *L) {
  ml_tensor th, var, cnt;
  double eps;
  MLB_CHECK(L, ml_gnb_fit(mlb_ctx(L), &th, &var, &cnt, &eps, mlb_checktensor(L, 1),
                          mlb_checktensor(L, 2), luaL_checkinteger(L, 3), luaL_checknumber(L, 4)));
  mlb_pushtensor(L, &th);
  mlb_pushtensor(L, &var);
  mlb_pushtensor(L, &cnt);
  lua_pushnumber(L, eps);
  return 4;
}

/* gnb_jll(X, theta, var, log_prior [, want_log_proba]) -> jll [, log_proba] */
static int l_gnb_jll(lua_State *L) {
  ml_tensor jll, lp;
  int want = lua_toboolean(L, 5);
  MLB_CHECK(L, ml_gnb_jll(mlb_ctx(L), &jll, want ? &lp : NULL, mlb_checktensor(L, 1),
                          mlb_checktensor(L, 2), mlb_checktensor(L, 3), mlb_checktensor(L, 4)));
  mlb_pushtensor(L, &jll);
  if (!want) return 1;
  mlb_pushtensor(L, &lp);
  return 2;
}

static const luaL_Reg functions[] = {
  {"gnb_fit", l_gnb_fit}, {"gnb_jll", l_gnb_jll}, {NULL, NULL}};

void mlb_open_estim_bayes(lua_State *L) { mlb_register(L, functions); }
