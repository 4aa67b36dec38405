/* lautograd.c - the C side of autograd: the hook that hands differentiable
 * ops on tracked tensors to their Lua handlers (stdlib/ml/autograd.lua), and
 * the accessors of a tensor's autograd record and storage version. */
#include "mlb.h"

static const char grad_ops_key = 0;   /* address used as a registry key only */

const void *mlb_grad_ops_key(void) { return &grad_ops_key; }

/* Does the value at idx take part in autograd? A tensor with a table as user
 * value; with lists, also a Lua list holding such a tensor (cat, stack). */
static bool takes_part(lua_State *L, int idx, bool lists) {
  int ty = lua_type(L, idx);
  if (ty == LUA_TUSERDATA) {
    bool tracked = lua_getiuservalue(L, idx, 1) == LUA_TTABLE;
    lua_pop(L, 1);
    return tracked && luaL_testudata(L, idx, MLB_TENSOR) != NULL;
  }
  if (ty == LUA_TTABLE && lists) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      bool t = takes_part(L, lua_gettop(L), false);
      lua_pop(L, 1);
      if (t) return true;
    }
  }
  return false;
}

int mlb_grad_dispatch(lua_State *L, const char *op, int first, int last, bool lists) {
  int top = lua_gettop(L);
  bool any = false;
  for (int i = first; i <= last && i <= top && !any; i++) any = takes_part(L, i, lists);
  if (!any) return -1;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &grad_ops_key);
  if (lua_getfield(L, -1, op) != LUA_TFUNCTION)
    return luaL_error(L, "%s: this operation has no gradient; detach() the tensor that requires "
                      "grad, or run it under ml.no_grad", op);
  lua_remove(L, -2);
  lua_insert(L, 1);
  lua_call(L, top, LUA_MULTRET);
  return lua_gettop(L);
}

static ml_tensor *checktensor_any(lua_State *L, int idx) {
  return (ml_tensor *)luaL_checkudata(L, idx, MLB_TENSOR);
}

/* grad_record(t) -> the autograd record of t, or nil */
static int l_record(lua_State *L) {
  checktensor_any(L, 1);
  lua_getiuservalue(L, 1, 1);
  return 1;
}

/* grad_set_record(t, record | nil) */
static int l_set_record(lua_State *L) {
  checktensor_any(L, 1);
  if (!lua_isnoneornil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  lua_setiuservalue(L, 1, 1);
  return 0;
}

/* grad_version(t) -> the version of t's storage (bumped by in-place writes) */
static int l_version(lua_State *L) {
  lua_pushinteger(L, mlb_checktensor(L, 1)->storage->version);
  return 1;
}

/* grad_alias(t) -> a new tensor object viewing the same elements, untracked */
static int l_alias(lua_State *L) {
  ml_tensor *t = mlb_checktensor(L, 1), a = *t;
  ml_tensor_retain(t);
  mlb_pushtensor(L, &a);
  return 1;
}

/* grad_owned(t) -> true when t is the only view of its whole, contiguous
 * storage: a gradient that backward may hand to a leaf without copying. */
static int l_owned(lua_State *L) {
  ml_tensor *t = mlb_checktensor(L, 1);
  lua_pushboolean(L, t->storage->refcount == 1 && t->offset == 0 && ml_is_contiguous(t) &&
                     (size_t)ml_numel(t) * ml_dtype_size(t->dtype) == t->storage->nbytes);
  return 1;
}

/* grad_same_shape(a, b) -> do tensors a and b have the same shape? */
static int l_same_shape(lua_State *L) {
  ml_tensor *a = mlb_checktensor(L, 1), *b = mlb_checktensor(L, 2);
  bool same = a->ndim == b->ndim;
  for (int i = 0; same && i < a->ndim; i++) same = a->shape[i] == b->shape[i];
  lua_pushboolean(L, same);
  return 1;
}

static const luaL_Reg functions[] = {
  {"grad_record", l_record}, {"grad_set_record", l_set_record}, {"grad_version", l_version},
  {"grad_alias", l_alias}, {"grad_owned", l_owned},
  {"grad_same_shape", l_same_shape}, {NULL, NULL}};

void mlb_open_autograd(lua_State *L) {
  mlb_register(L, functions);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &grad_ops_key);
  lua_setfield(L, -2, "grad_ops");
}
