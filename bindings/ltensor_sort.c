/* ltensor_sort.c - NumPy's sort, argsort and cumsum as ml.Tensor methods
 * (runtime/ops_sort.c). Positions are 1-based on the Lua side, as argmax's. */
#include "mlb.h"

/* Dimension argument idx (default: the last), the tensor being at 1. */
static int dim_arg(lua_State *L, int idx, const ml_tensor *t) {
  if (lua_isnoneornil(L, idx) || lua_istable(L, idx)) return t->ndim ? t->ndim - 1 : 0;
  return mlb_checkdim(L, idx, t, 0);
}

/* Options table: the argument after the dimension, or in its place. */
static int opts_arg(lua_State *L, int dim_idx) {
  return lua_istable(L, dim_idx) ? dim_idx : dim_idx + 1;
}

static void positions_to_lua(ml_tensor *ix) {
  int64_t n = ml_numel(ix), *p = ml_i64(ix);
  for (int64_t i = 0; i < n; i++) p[i] += 1;
}

/* x:sort([dim] [, {descending = false}]) -> values, positions (int64, 1-based) */
static int m_sort(lua_State *L) {
  static const char *const allowed[] = {"descending", NULL};
  ml_tensor *t = mlb_checktensor(L, 1), v, ix;
  int dim = dim_arg(L, 2, t), o = opts_arg(L, 2);
  mlb_opts_check(L, o, "sort", allowed);
  bool desc = mlb_opt_boolean(L, o, "sort", "descending", 0);
  MLB_CHECK(L, ml_sort(mlb_ctx(L), &v, &ix, t, dim, desc));
  positions_to_lua(&ix);
  mlb_pushtensor(L, &v);
  mlb_pushtensor(L, &ix);
  return 2;
}

/* x:argsort([dim] [, {descending = false}]) -> int64 positions, 1-based */
static int m_argsort(lua_State *L) {
  static const char *const allowed[] = {"descending", NULL};
  ml_tensor *t = mlb_checktensor(L, 1), v, ix;
  int dim = dim_arg(L, 2, t), o = opts_arg(L, 2);
  mlb_opts_check(L, o, "argsort", allowed);
  bool desc = mlb_opt_boolean(L, o, "argsort", "descending", 0);
  MLB_CHECK(L, ml_sort(mlb_ctx(L), &v, &ix, t, dim, desc));
  ml_tensor_release(&v);
  positions_to_lua(&ix);
  mlb_pushtensor(L, &ix);
  return 1;
}

/* x:cumsum([dim]): running sum along dim; without dim, over the flattened
 * tensor (NumPy's default). */
static int m_cumsum(lua_State *L) {
  ml_tensor *t = mlb_checktensor(L, 1), out;
  ml_ctx *ctx = mlb_ctx(L);
  if (lua_isnoneornil(L, 2)) {
    ml_tensor flat;
    int64_t n = -1;
    MLB_CHECK(L, ml_reshape(ctx, &flat, t, 1, &n));
    int rc = ml_cumsum(ctx, &out, &flat, 0);
    ml_tensor_release(&flat);
    if (rc) return mlb_fail(L);
  } else {
    MLB_CHECK(L, ml_cumsum(ctx, &out, t, mlb_checkdim(L, 2, t, 0)));
  }
  mlb_pushtensor(L, &out);
  return 1;
}

void mlb_open_tensor_sort(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"sort", m_sort}, {"argsort", m_argsort}, {"cumsum", m_cumsum}, {NULL, NULL}};
  lua_getfield(L, -1, "Tensor");
  luaL_setfuncs(L, methods, 0);
  lua_pop(L, 1);
}
