/* loptim.c - bindings of the parameter update kernels (runtime/optim/).
 * ml.optim (stdlib/ml/optim.lua) keeps the per-parameter state tensors and
 * calls these once per parameter tensor and step. */
#include "mlb.h"
#include "../runtime/optim/optim.h"

/* The parameter (argument 1), marked as written in place. */
static ml_tensor *param(lua_State *L) {
  ml_tensor *p = mlb_checktensor(L, 1);
  mlb_touch(p);
  return p;
}

static ml_tensor *opt_tensor(lua_State *L, int idx) {
  return lua_isnoneornil(L, idx) ? NULL : mlb_checktensor(L, idx);
}

/* optim_sgd(p, g, velocity|nil, lr, momentum, nesterov, weight_decay) */
static int l_sgd(lua_State *L) {
  MLB_CHECK(L, ml_sgd_step(mlb_ctx(L), param(L), mlb_checktensor(L, 2),
                           opt_tensor(L, 3), luaL_checknumber(L, 4), luaL_checknumber(L, 5),
                           lua_toboolean(L, 6), luaL_checknumber(L, 7)));
  return 0;
}

/* optim_adam(p, g, m, v, vmax|nil, lr, beta_1, beta_2, epsilon, t) */
static int l_adam(lua_State *L) {
  MLB_CHECK(L, ml_adam_step(mlb_ctx(L), param(L), mlb_checktensor(L, 2),
                            mlb_checktensor(L, 3), mlb_checktensor(L, 4), opt_tensor(L, 5),
                            luaL_checknumber(L, 6), luaL_checknumber(L, 7),
                            luaL_checknumber(L, 8), luaL_checknumber(L, 9),
                            luaL_checkinteger(L, 10)));
  return 0;
}

/* optim_rmsprop(p, g, sq, avg|nil, mom|nil, lr, rho, momentum, epsilon) */
static int l_rmsprop(lua_State *L) {
  MLB_CHECK(L, ml_rmsprop_step(mlb_ctx(L), param(L), mlb_checktensor(L, 2),
                               mlb_checktensor(L, 3), opt_tensor(L, 4), opt_tensor(L, 5),
                               luaL_checknumber(L, 6), luaL_checknumber(L, 7),
                               luaL_checknumber(L, 8), luaL_checknumber(L, 9)));
  return 0;
}

/* optim_adagrad(p, g, acc, lr, epsilon) */
static int l_adagrad(lua_State *L) {
  MLB_CHECK(L, ml_adagrad_step(mlb_ctx(L), param(L), mlb_checktensor(L, 2),
                               mlb_checktensor(L, 3), luaL_checknumber(L, 4),
                               luaL_checknumber(L, 5)));
  return 0;
}

static const luaL_Reg functions[] = {
  {"sgd", l_sgd}, {"adam", l_adam}, {"rmsprop", l_rmsprop},
  {"adagrad", l_adagrad}, {NULL, NULL}};

void mlb_open_optim(lua_State *L) { mlb_register(L, functions); }
