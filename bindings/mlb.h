/* mlb.h - shared helpers of the Lua bindings (the only C that sees Lua).
 *
 * Conventions: every binding checks its arguments with luaL_check*, calls the
 * runtime, and turns a runtime failure into a Lua error with mlb_fail (the
 * runtime's message already names the function, the expected and given
 * values). Dimensions and positions are 1-based on the Lua side. */
#ifndef MLB_H
#define MLB_H

#include <lua.h>
#include <lauxlib.h>
#include "../runtime/ml.h"

#define MLB_TENSOR "ml.Tensor"

/* The engine context of this Lua state (created by luaopen_ml). */
ml_ctx *mlb_ctx(lua_State *L);
/* Raises ctx->err as a Lua error. Never returns. */
int mlb_fail(lua_State *L);
/* Message handler for lua_pcall (as lua.c's): the error message with a
 * traceback; used by mlrun, the REPL and the embedding API alike. */
int mlb_msghandler(lua_State *L);
/* Runtime status check: raises on ML_ERR. */
#define MLB_CHECK(L, call) do { if ((call) != ML_OK) mlb_fail(L); } while (0)

/* Tensor userdata. */
ml_tensor *mlb_checktensor(lua_State *L, int idx);
ml_tensor *mlb_totensor(lua_State *L, int idx);          /* NULL if not a tensor */
/* Pushes a userdata taking over t's reference (t is emptied). */
ml_tensor *mlb_pushtensor(lua_State *L, ml_tensor *t);
/* A tensor from argument idx: a tensor (new reference), a number (scalar
 * tensor), or a nested table. The caller releases it. */
void mlb_astensor(lua_State *L, int idx, ml_tensor *out);
/* The one way a binding takes a float32 argument: argument idx as a
 * contiguous float32 tensor (any dtype and strides are converted; the copy
 * replaces the argument on the stack, so the collector owns it). ndim >= 0
 * requires that many dimensions ("<who>: <what> must be N-dimensional, got
 * shape S"); -1 takes any. mlb_optf32: nil (or none) gives NULL. */
ml_tensor *mlb_checkf32(lua_State *L, int idx, int ndim, const char *who, const char *what);
ml_tensor *mlb_optf32(lua_State *L, int idx);
/* A dtype from argument idx: nil/none gives def; a name ("float32"/"float",
 * "float64"/"double", "int64"/"long"/"int", "uint8"/"byte"); or an options
 * table whose only key is dtype ({dtype = "float64"}). */
ml_dtype mlb_checkdtype(lua_State *L, int idx, ml_dtype def);
/* The dtype named s, or -1. */
int mlb_dtype_of(const char *s);
/* 1-based Lua dimension (negative counts from the end) to 0-based C. */
int mlb_checkdim(lua_State *L, int idx, const ml_tensor *t, int extra);
/* A shape from varargs (ml.zeros(2, 3)) or one table (ml.zeros{2, 3}). */
int mlb_checkshape(lua_State *L, int first, int64_t *shape);

/* Autograd (lautograd.c). A tensor takes part in autograd when its user
 * value is a table (its record, kept by stdlib/ml/autograd.lua). A binding of
 * a differentiable op starts with MLB_GRAD: when an argument in first..last
 * takes part, the op's Lua handler (ml.core.grad_ops[op]) runs in its place
 * with the same arguments and records the op on the tape. The same C
 * functions, registered again in ml.core.raw with an upvalue `true`, skip the
 * check: the handlers compute with those. Untracked tensors pay one user
 * value look-up per argument. */
int mlb_grad_dispatch(lua_State *L, const char *op, int first, int last, bool lists);
/* Registry key of the handlers table (ml.core.grad_ops). */
const void *mlb_grad_ops_key(void);
#define MLB_GRAD(L, op, first, last) do { \
    if (!lua_toboolean(L, lua_upvalueindex(1))) { \
      int n_ = mlb_grad_dispatch(L, op, first, last, false); \
      if (n_ >= 0) return n_; \
    } } while (0)
/* Marks an in-place write into t's storage: autograd compares the version a
 * recorded op saved with the current one before using a saved tensor. */
#define mlb_touch(t) ((t)->storage->version++)

/* Option tables: mlb_opts_check raises on any key not in `allowed`
 * (NULL-terminated), naming the function and the unknown option. */
void mlb_opts_check(lua_State *L, int idx, const char *who, const char *const *allowed);
double mlb_opt_number(lua_State *L, int idx, const char *who, const char *key, double def);
int64_t mlb_opt_integer(lua_State *L, int idx, const char *who, const char *key, int64_t def);
int mlb_opt_boolean(lua_State *L, int idx, const char *who, const char *key, int def);
const char *mlb_opt_string(lua_State *L, int idx, const char *who, const char *key,
                           const char *def);

/* Families of bindings (families.h): each adds its functions to the table on
 * top, which luaopen_ml makes ml.core.<area>, with mlb_register: like
 * luaL_setfuncs, but a name the area already has raises (two families must
 * not silently replace each other's functions). */
void mlb_register(lua_State *L, const luaL_Reg *fns);
#define MLB_FAMILY(area, family) void mlb_open_##family(lua_State *L);
#include "families.h"
#undef MLB_FAMILY

#endif
