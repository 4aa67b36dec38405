/* ltensor.c - the ml.Tensor userdata: creation, conversion from and to Lua
 * tables, 1-based indexing and Torch7-style range slicing as views. */
#include "mlb.h"
#include <math.h>
#include <string.h>

/* double -> int64 for a value going into an int64 tensor: truncates toward
 * zero (as NumPy's astype); NaN and values outside int64's range raise. */
static int64_t d2i(lua_State *L, double v, const char *who) {
  if (!(v < 9223372036854775808.0 && v >= -9223372036854775808.0))
  {
    if (v != v) luaL_error(L, "%s: cannot convert NaN to int64 (NaN has no integer value)", who);
    luaL_error(L, "%s: cannot convert %f to int64: out of range", who, v);
  }
  return (int64_t)v;
}

/* ---- userdata ---- */

/* A closed tensor (after __close) has no storage: using it is an error
 * that names the function ("bad argument #1 to 'sum' (tensor is closed)"). */
static ml_tensor *alive(lua_State *L, ml_tensor *t, int idx) {
  if (t && !t->storage) luaL_argerror(L, idx, "tensor is closed");
  return t;
}

ml_tensor *mlb_totensor(lua_State *L, int idx) {
  return alive(L, (ml_tensor *)luaL_testudata(L, idx, MLB_TENSOR), idx);
}

ml_tensor *mlb_checktensor(lua_State *L, int idx) {
  return alive(L, (ml_tensor *)luaL_checkudata(L, idx, MLB_TENSOR), idx);
}

/* Tensor payloads live outside Lua's heap, so the collector alone would not
 * know to run: temporaries of `a * b + c` would pile up, and every new tensor
 * would take fresh pages from the system (page faults cost more than the
 * arithmetic). So a full collection runs whenever new tensor storage since the
 * last one passes a budget that grows with the memory in use and with the Lua
 * heap (whose size is what a collection costs). Freed buffers go to the
 * context's pool and serve the next tensors of the same size. */
typedef struct { size_t since; size_t budget; } gc_state;

static void gc_pressure(lua_State *L, ml_ctx *ctx, size_t nbytes) {
  static const char key = 0;   /* address used as a registry key only */
  lua_rawgetp(L, LUA_REGISTRYINDEX, &key);
  gc_state *g = (gc_state *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (!g) {
    g = (gc_state *)lua_newuserdatauv(L, sizeof *g, 0);
    g->since = 0;
    g->budget = (size_t)4 << 20;
    lua_rawsetp(L, LUA_REGISTRYINDEX, &key);
  }
  g->since += nbytes;
  /* collect one allocation early, so the next tensor of this size finds a
   * freed buffer in the pool instead of fresh pages */
  if (g->since + nbytes < g->budget) return;
  lua_gc(L, LUA_GCCOLLECT);
  g->since = 0;
  g->budget = ((size_t)4 << 20) + ctx->mem_in_use / 2 + (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 2048;
}

ml_tensor *mlb_pushtensor(lua_State *L, ml_tensor *t) {
  ml_tensor *u = (ml_tensor *)lua_newuserdatauv(L, sizeof(ml_tensor), 1);
  *u = *t;
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, MLB_TENSOR);
  /* fresh storage only (refcount 1): pushing views allocates nothing; tiny
   * tensors are left to the collector's own pace */
  if (u->storage && u->storage->ctx && u->storage->refcount == 1 &&
      u->storage->nbytes >= 1024)
    gc_pressure(L, u->storage->ctx, u->storage->nbytes);
  return u;
}

static int tensor_gc(lua_State *L) {
  ml_tensor *t = (ml_tensor *)luaL_checkudata(L, 1, MLB_TENSOR);
  ml_tensor_release(t);
  return 0;
}

/* ---- shapes and dimensions ---- */

int mlb_checkdim(lua_State *L, int idx, const ml_tensor *t, int extra) {
  lua_Integer d = luaL_checkinteger(L, idx);
  int nd = t->ndim + extra;
  if (d < 0) d += nd + 1;
  if (d < 1 || d > nd)
    return luaL_argerror(L, idx, lua_pushfstring(L,
             "dimension %I out of range for a %d-dimensional tensor",
             luaL_checkinteger(L, idx), t->ndim)), 0;
  return (int)d - 1;
}

int mlb_checkshape(lua_State *L, int first, int64_t *shape) {
  int n = 0;
  if (lua_istable(L, first)) {
    n = (int)lua_rawlen(L, first);
    if (n > ML_MAX_DIMS)
      luaL_argerror(L, first, lua_pushfstring(L, "expected at most %d dimensions, got %d",
                                              ML_MAX_DIMS, n));
    for (int i = 0; i < n; i++) {
      lua_rawgeti(L, first, i + 1);
      if (!lua_isinteger(L, -1))
        luaL_argerror(L, first, lua_pushfstring(L, "shape entry %d: expected an integer, got %s",
                                                i + 1, lua_type(L, -1) == LUA_TNUMBER
                                                ? luaL_tolstring(L, -1, NULL)
                                                : luaL_typename(L, -1)));
      shape[i] = lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
  } else {
    int top = lua_gettop(L);
    for (int i = first; i <= top && lua_type(L, i) == LUA_TNUMBER; i++) {
      if (n >= ML_MAX_DIMS)
        luaL_argerror(L, i, lua_pushfstring(L, "expected at most %d dimensions", ML_MAX_DIMS));
      shape[n++] = luaL_checkinteger(L, i);
    }
  }
  for (int i = 0; i < n; i++)
    if (shape[i] < 0)
      luaL_argerror(L, lua_istable(L, first) ? first : first + i,
                    lua_pushfstring(L, "dimension %d has negative size %I", i + 1,
                                    (lua_Integer)shape[i]));
  return n;
}

int mlb_dtype_of(const char *s) {
  if (!strcmp(s, "float32") || !strcmp(s, "float")) return ML_F32;
  if (!strcmp(s, "float64") || !strcmp(s, "double")) return ML_F64;
  if (!strcmp(s, "int64") || !strcmp(s, "int") || !strcmp(s, "long")) return ML_I64;
  if (!strcmp(s, "uint8") || !strcmp(s, "byte")) return ML_U8;
  return -1;
}

ml_dtype mlb_checkdtype(lua_State *L, int idx, ml_dtype def) {
  idx = lua_absindex(L, idx);
  if (lua_isnoneornil(L, idx)) return def;
  if (lua_istable(L, idx) && !mlb_totensor(L, idx)) {
    static const char *const allowed[] = {"dtype", NULL};
    mlb_opts_check(L, idx, "dtype", allowed);
    lua_getfield(L, idx, "dtype");
    if (lua_isnil(L, -1)) { lua_pop(L, 1); return def; }
    int d = lua_type(L, -1) == LUA_TSTRING ? mlb_dtype_of(lua_tostring(L, -1)) : -1;
    if (d < 0)
      luaL_argerror(L, idx, lua_pushfstring(L, "unknown dtype '%s' (expected 'float32', "
                    "'float64', 'int64' or 'uint8')", luaL_tolstring(L, -1, NULL)));
    lua_pop(L, 1);
    return (ml_dtype)d;
  }
  const char *s = luaL_checkstring(L, idx);
  int d = mlb_dtype_of(s);
  if (d < 0)
    luaL_argerror(L, idx, lua_pushfstring(L, "unknown dtype '%s' (expected 'float32', "
                                          "'float64', 'int64' or 'uint8')", s));
  return (ml_dtype)d;
}
#define checkdtype mlb_checkdtype

/* ---- from nested tables ---- */

/* Every key of a table read as a tensor is a position 1..n: anything else
 * ({[1e9] = 2}, {x = 1}) would be dropped silently, so it is an error. */
static void check_keys(lua_State *L, int idx, int64_t n, int depth) {
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n) {
      const char *k = lua_type(L, -1) == LUA_TNUMBER || lua_type(L, -1) == LUA_TSTRING
        ? lua_pushfstring(L, "%s", lua_tostring(L, -1)) : luaL_typename(L, -1);
      luaL_error(L, "tensor: table at depth %d has key %s, which is not a position 1..%I "
                 "(tensors are read from sequences)", depth + 1, k, (lua_Integer)n);
    }
  }
}

static void table_shape(lua_State *L, int idx, int *ndim, int64_t *shape) {
  *ndim = 0;
  lua_pushvalue(L, idx);
  while (lua_istable(L, -1)) {
    if (*ndim >= ML_MAX_DIMS) luaL_error(L, "tensor: nested deeper than %d levels", ML_MAX_DIMS);
    shape[(*ndim)++] = (int64_t)lua_rawlen(L, -1);
    if (lua_rawlen(L, -1) == 0) {
      check_keys(L, lua_gettop(L), 0, *ndim - 1);
      break;
    }
    lua_rawgeti(L, -1, 1);
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
}

static void table_fill(lua_State *L, int idx, int depth, int ndim, const int64_t *shape,
                       ml_tensor *t, int64_t *pos) {
  if ((int64_t)lua_rawlen(L, idx) != shape[depth])
    luaL_error(L, "tensor: ragged nested table: expected %d entries at depth %d, got %d",
               (int)shape[depth], depth + 1, (int)lua_rawlen(L, idx));
  for (int64_t i = 1; i <= shape[depth]; i++) {
    lua_rawgeti(L, idx, i);
    if (depth + 1 < ndim) {
      if (!lua_istable(L, -1))
        luaL_error(L, "tensor: ragged nested table: expected a table at depth %d, got %s",
                   depth + 2, luaL_typename(L, -1));
      table_fill(L, lua_gettop(L), depth + 1, ndim, shape, t, pos);
    } else {
      int isnum;
      lua_Number v = lua_tonumberx(L, -1, &isnum);
      if (!isnum) {
        if (lua_isboolean(L, -1)) v = lua_toboolean(L, -1);
        else luaL_error(L, "tensor: expected numbers in the table, got %s", luaL_typename(L, -1));
      }
      switch (t->dtype) {
        case ML_F32: ml_f32(t)[(*pos)++] = (float)v; break;
        case ML_F64: ml_f64(t)[(*pos)++] = v; break;
        case ML_I64:
          ml_i64(t)[(*pos)++] = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : d2i(L, v, "tensor");
          break;
        default:
          if (!(v > -1.0 && v < 256.0))
            luaL_error(L, "tensor: cannot convert %s to uint8: outside 0..255",
                       luaL_tolstring(L, -1, NULL));
          ml_u8(t)[(*pos)++] = (uint8_t)v;
      }
    }
    lua_pop(L, 1);
  }
  check_keys(L, idx, shape[depth], depth);
}

void mlb_astensor(lua_State *L, int idx, ml_tensor *out) {
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor *t = mlb_totensor(L, idx);
  if (t) { *out = *t; ml_tensor_retain(t); return; }
  if (lua_type(L, idx) == LUA_TNUMBER) {
    MLB_CHECK(L, ml_tensor_new(ctx, out, ML_F32, 0, NULL, false));
    ml_f32(out)[0] = (float)lua_tonumber(L, idx);
    return;
  }
  if (lua_istable(L, idx)) {
    int ndim;
    int64_t shape[ML_MAX_DIMS], pos = 0;
    idx = lua_absindex(L, idx);
    table_shape(L, idx, &ndim, shape);
    ml_tensor tmp;
    MLB_CHECK(L, ml_tensor_new(ctx, &tmp, ML_F32, ndim, shape, false));
    ml_tensor *u = mlb_pushtensor(L, &tmp);   /* anchored: freed if fill raises */
    if (ml_numel(u) > 0) table_fill(L, idx, 0, ndim, shape, u, &pos);
    *out = *u;
    ml_tensor_retain(u);
    lua_pop(L, 1);
    return;
  }
  luaL_typeerror(L, idx, "ml.Tensor, number or table");
}

ml_tensor *mlb_checkf32(lua_State *L, int idx, int ndim, const char *who, const char *what) {
  idx = lua_absindex(L, idx);
  ml_tensor *t = mlb_checktensor(L, idx);
  if (ndim >= 0 && t->ndim != ndim) {
    char b[160];
    luaL_error(L, "%s: %s must be %d-dimensional, got shape %s", who, what, ndim,
               ml_shape_str(b, sizeof b, t->ndim, t->shape));
  }
  if (t->dtype == ML_F32 && ml_is_contiguous(t)) return t;
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor f, c;
  MLB_CHECK(L, ml_to_dtype(ctx, &f, t, ML_F32));
  int rc = ml_contiguous(ctx, &c, &f);
  ml_tensor_release(&f);
  if (rc) mlb_fail(L);
  ml_tensor *u = mlb_pushtensor(L, &c);
  lua_replace(L, idx);
  return u;
}

ml_tensor *mlb_optf32(lua_State *L, int idx) {
  return lua_isnoneornil(L, idx) ? NULL : mlb_checkf32(L, idx, -1, NULL, NULL);
}

/* ml.tensor(table | number | tensor [, dtype]) */
static int l_tensor(lua_State *L) {
  ml_ctx *ctx = mlb_ctx(L);
  ml_dtype dt = checkdtype(L, 2, ML_F32);
  ml_tensor src, out;
  if (lua_istable(L, 1) && !mlb_totensor(L, 1) && dt != ML_F32) {   /* exact: no float32 detour */
    int ndim;
    int64_t shape[ML_MAX_DIMS], pos = 0;
    table_shape(L, 1, &ndim, shape);
    MLB_CHECK(L, ml_tensor_new(ctx, &out, dt, ndim, shape, false));
    ml_tensor *u = mlb_pushtensor(L, &out);
    if (ml_numel(u) > 0) table_fill(L, 1, 0, ndim, shape, u, &pos);
    return 1;
  }
  if (lua_type(L, 1) == LUA_TNUMBER && dt != ML_F32) {   /* a scalar, exactly */
    lua_Number v = lua_tonumber(L, 1);
    if (dt == ML_U8 && !(v > -1.0 && v < 256.0))
      return luaL_error(L, "tensor: cannot convert %s to uint8: outside 0..255",
                        luaL_tolstring(L, 1, NULL));
    int64_t iv = dt != ML_I64 ? 0 : lua_isinteger(L, 1) ? lua_tointeger(L, 1) : d2i(L, v, "tensor");
    MLB_CHECK(L, ml_tensor_new(ctx, &out, dt, 0, NULL, false));
    if (dt == ML_I64) ml_i64(&out)[0] = iv;
    else ml_set(&out, 0, v);
    mlb_pushtensor(L, &out);
    return 1;
  }
  mlb_astensor(L, 1, &src);
  int rc = mlb_totensor(L, 1) || src.dtype != dt ? ml_to_dtype(ctx, &out, &src, dt) : ML_OK;
  if (rc == ML_OK && mlb_totensor(L, 1) && out.storage == src.storage) {
    ml_tensor c;
    rc = ml_clone(ctx, &c, &out);
    ml_tensor_release(&out);
    out = c;
  } else if (rc == ML_OK && !mlb_totensor(L, 1) && src.dtype == dt) {
    out = src;
    ml_tensor_retain(&src);
  }
  ml_tensor_release(&src);
  if (rc) return mlb_fail(L);
  mlb_pushtensor(L, &out);
  return 1;
}

static int filled(lua_State *L, double v, int zero) {
  int64_t shape[ML_MAX_DIMS];
  int n = mlb_checkshape(L, 1, shape);
  ml_dtype dt = checkdtype(L, lua_istable(L, 1) && !mlb_totensor(L, 1) ? 2 : n + 1, ML_F32);
  ml_tensor t;
  MLB_CHECK(L, ml_tensor_new(mlb_ctx(L), &t, dt, n, shape, zero));
  if (!zero) ml_fill(&t, v);
  mlb_pushtensor(L, &t);
  return 1;
}
static int l_zeros(lua_State *L) { return filled(L, 0, 1); }
static int l_ones(lua_State *L) { return filled(L, 1, 0); }
static int l_empty(lua_State *L) { return filled(L, 0, 1); }

/* ml.full(shape, value [, dtype]) */
static int l_full(lua_State *L) {
  int64_t shape[ML_MAX_DIMS];
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = mlb_checkshape(L, 1, shape);
  double v = luaL_checknumber(L, 2);
  ml_dtype dt = checkdtype(L, 3, ML_F32);
  if ((dt == ML_U8 && !(v > -1.0 && v < 256.0)) ||
      (dt == ML_I64 && !(v < 9223372036854775808.0 && v >= -9223372036854775808.0)))
    return luaL_error(L, "full: cannot convert %f to %s: out of range", v, ml_dtype_name(dt));
  ml_tensor t;
  MLB_CHECK(L, ml_tensor_new(mlb_ctx(L), &t, dt, n, shape, false));
  ml_fill(&t, v);
  mlb_pushtensor(L, &t);
  return 1;
}

static int random_fill(lua_State *L, int normal) {
  int64_t shape[ML_MAX_DIMS];
  int n = mlb_checkshape(L, 1, shape);
  ml_ctx *ctx = mlb_ctx(L);
  ml_dtype dt = checkdtype(L, lua_istable(L, 1) ? 2 : n + 1, ML_F32);
  if (!ml_dtype_is_float(dt))
    return luaL_error(L, "%s: expected dtype float32 or float64, got %s",
                      normal ? "randn" : "rand", ml_dtype_name(dt));
  ml_tensor t;
  MLB_CHECK(L, ml_tensor_new(ctx, &t, dt, n, shape, false));
  if (normal) ml_fill_normal(ctx, &t, 0, 1);
  else ml_fill_uniform(ctx, &t, 0, 1);
  mlb_pushtensor(L, &t);
  return 1;
}
static int l_rand(lua_State *L) { return random_fill(L, 0); }
static int l_randn(lua_State *L) { return random_fill(L, 1); }

static int l_eye(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  int di = lua_type(L, 2) == LUA_TNUMBER ? 3 : 2;   /* eye(n [, m] [, dtype]) */
  lua_Integer m = di == 3 ? luaL_checkinteger(L, 2) : n;
  ml_dtype dt = checkdtype(L, di, ML_F32);
  ml_tensor t;
  MLB_CHECK(L, n < 0 || m < 0 ? ml_error(mlb_ctx(L), "eye: expected sizes >= 0, got %d, %d",
                                         (int)n, (int)m)
                              : ml_eye(mlb_ctx(L), &t, n, m, dt));
  mlb_pushtensor(L, &t);
  return 1;
}

/* ml.arange(stop) | ml.arange(start, stop [, step]) -- stop excluded, as NumPy */
static int l_arange(lua_State *L) {
  double a = 0, b, s = 1;
  int top = lua_gettop(L);
  int has_dt = top > 1 && (lua_type(L, top) == LUA_TSTRING || lua_istable(L, top));
  ml_dtype dt = has_dt ? checkdtype(L, top, ML_F32) : ML_F32;
  if (has_dt) lua_settop(L, --top);
  if (top == 1) b = luaL_checknumber(L, 1);
  else { a = luaL_checknumber(L, 1); b = luaL_checknumber(L, 2); s = luaL_optnumber(L, 3, 1); }
  /* NumPy: integer arguments give integers (int64), any float gives float32 */
  bool ints = true;
  for (int i = 1; i <= (top < 3 ? top : 3); i++) ints = ints && lua_isinteger(L, i);
  ml_tensor t;
  MLB_CHECK(L, ml_arange(mlb_ctx(L), &t, a, b, s, has_dt ? dt : ints ? ML_I64 : ML_F32));
  mlb_pushtensor(L, &t);
  return 1;
}

static int l_linspace(lua_State *L) {
  ml_tensor t;
  MLB_CHECK(L, ml_linspace(mlb_ctx(L), &t, luaL_checknumber(L, 1), luaL_checknumber(L, 2),
                           luaL_optinteger(L, 3, 50), checkdtype(L, 4, ML_F32)));
  mlb_pushtensor(L, &t);
  return 1;
}

/* ml.randperm(n): a permutation of 1..n (1-based positions, int64) */
static int l_randperm(lua_State *L) {
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor t;
  MLB_CHECK(L, ml_randperm(ctx, &t, luaL_checkinteger(L, 1)));
  int64_t n = ml_numel(&t), *p = ml_i64(&t);
  for (int64_t i = 0; i < n; i++) p[i] += 1;
  mlb_pushtensor(L, &t);
  return 1;
}

static int l_seed(lua_State *L) {
  ml_rng_seed(&mlb_ctx(L)->rng, (uint64_t)luaL_checkinteger(L, 1));
  return 0;
}

static int l_set_num_threads(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 1 || n > 1024) return luaL_error(L, "set_num_threads: expected 1 to 1024, got %d", (int)n);
  ml_set_threads(mlb_ctx(L), (int)n);
  return 0;
}

static int l_get_num_threads(lua_State *L) {
  lua_pushinteger(L, mlb_ctx(L)->threads);
  return 1;
}

static int l_set_memory_limit(lua_State *L) {
  lua_Number n = luaL_checknumber(L, 1);
  if (!(n >= 0)) return luaL_error(L, "set_memory_limit: expected bytes >= 0 (0 = no limit), got %f", n);
  mlb_ctx(L)->mem_limit = n >= 1.8e19 ? SIZE_MAX : (size_t)n;
  return 0;
}

/* find_nonfinite(t) -> 1-based flat position of the first NaN or infinity,
 * or nil (ml_find_nonfinite) */
static int l_find_nonfinite(lua_State *L) {
  int64_t bad = ml_find_nonfinite(mlb_checktensor(L, 1));
  if (bad < 0) return 0;
  lua_pushinteger(L, (lua_Integer)bad + 1);
  return 1;
}

static int l_memory_info(lua_State *L) {
  ml_ctx *ctx = mlb_ctx(L);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)ctx->mem_in_use); lua_setfield(L, -2, "in_use");
  lua_pushinteger(L, (lua_Integer)ctx->mem_peak); lua_setfield(L, -2, "peak");
  lua_pushinteger(L, (lua_Integer)ctx->mem_limit); lua_setfield(L, -2, "limit");
  lua_pushinteger(L, (lua_Integer)ctx->pool.bytes); lua_setfield(L, -2, "pooled");
  return 1;
}

/* ---- to Lua ---- */

static void push_elem(lua_State *L, const ml_tensor *t, int64_t off) {
  switch (t->dtype) {
    case ML_I64: lua_pushinteger(L, ((int64_t *)t->storage->data)[off]); break;
    case ML_U8: lua_pushinteger(L, ((uint8_t *)t->storage->data)[off]); break;
    default: lua_pushnumber(L, ml_get(t, off)); break;
  }
}

static void totable_rec(lua_State *L, const ml_tensor *t, int d, int64_t off) {
  lua_createtable(L, (int)t->shape[d], 0);
  for (int64_t i = 0; i < t->shape[d]; i++) {
    if (d + 1 < t->ndim) totable_rec(L, t, d + 1, off + i * t->stride[d]);
    else push_elem(L, t, off + i * t->stride[d]);
    lua_rawseti(L, -2, i + 1);
  }
}

static int m_totable(lua_State *L) {
  ml_tensor *t = mlb_checktensor(L, 1);
  luaL_checkstack(L, t->ndim + 4, "totable");
  if (t->ndim == 0) push_elem(L, t, t->offset);
  else totable_rec(L, t, 0, t->offset);
  return 1;
}

static int m_item(lua_State *L) {
  ml_tensor *t = mlb_checktensor(L, 1);
  if (ml_numel(t) != 1) {
    char b[160];
    return luaL_error(L, "item: expected a tensor with one element, got shape %s",
                      ml_shape_str(b, sizeof b, t->ndim, t->shape));
  }
  push_elem(L, t, ml_offset_of(t, 0));
  return 1;
}

static int push_shape(lua_State *L, const ml_tensor *t) {
  lua_createtable(L, t->ndim, 0);
  for (int i = 0; i < t->ndim; i++) {
    lua_pushinteger(L, t->shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* x:size() -> shape table; x:size(d) -> size of dimension d */
static int m_size(lua_State *L) {
  ml_tensor *t = mlb_checktensor(L, 1);
  if (lua_isnoneornil(L, 2)) return push_shape(L, t);
  lua_pushinteger(L, t->shape[mlb_checkdim(L, 2, t, 0)]);
  return 1;
}

static int m_dim(lua_State *L) { lua_pushinteger(L, mlb_checktensor(L, 1)->ndim); return 1; }
static int m_numel(lua_State *L) { lua_pushinteger(L, ml_numel(mlb_checktensor(L, 1))); return 1; }
static int m_len(lua_State *L) {
  ml_tensor *t = mlb_checktensor(L, 1);
  lua_pushinteger(L, t->ndim ? t->shape[0] : 1);
  return 1;
}

static int m_is_contiguous(lua_State *L) {
  lua_pushboolean(L, ml_is_contiguous(mlb_checktensor(L, 1)));
  return 1;
}

/* ---- indexing ---- */

static int64_t checkpos(lua_State *L, lua_Integer i, int64_t size, int dim) {
  lua_Integer j = i < 0 ? i + size + 1 : i;
  if (j < 1 || j > size)
    luaL_error(L, "index %I out of range for dimension %d of size %I", i, dim + 1,
               (lua_Integer)size);
  return (int64_t)j - 1;
}

/* Applies a Torch7-style index table to t, producing a view. */
static void slice_view(lua_State *L, int tbl, const ml_tensor *t, ml_tensor *out) {
  ml_ctx *ctx = mlb_ctx(L);
  int n = (int)lua_rawlen(L, tbl);
  if (n > t->ndim)
    luaL_error(L, "index table has %d entries for a %d-dimensional tensor", n, t->ndim);
  ml_tensor cur = *t, next;
  ml_tensor_retain(t);
  int d = 0;
  for (int k = 1; k <= n; k++) {
    lua_rawgeti(L, tbl, k);
    int rc = ML_OK;
    if (lua_isinteger(L, -1)) {
      int64_t i = checkpos(L, lua_tointeger(L, -1), cur.shape[d], k - 1);
      rc = ml_view_select(ctx, &next, &cur, d, i);
    } else if (lua_istable(L, -1)) {
      int m = (int)lua_rawlen(L, -1);
      int64_t a = 0, b = cur.shape[d] - 1;
      if (m >= 1) {
        lua_rawgeti(L, -1, 1);
        a = checkpos(L, luaL_checkinteger(L, -1), cur.shape[d], k - 1);
        lua_pop(L, 1);
        b = a;
      }
      if (m >= 2) {
        lua_rawgeti(L, -1, 2);
        b = checkpos(L, luaL_checkinteger(L, -1), cur.shape[d], k - 1);
        lua_pop(L, 1);
      }
      if (b < a - 1)
        luaL_error(L, "range {%d, %d} is reversed for dimension %d", (int)a + 1, (int)b + 1, k);
      rc = ml_view_narrow(ctx, &next, &cur, d, a, b - a + 1);
      d++;
    } else {
      ml_tensor_release(&cur);
      luaL_error(L, "index entry %d: expected an integer or a range table, got %s", k,
                 luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    ml_tensor_release(&cur);
    if (rc) mlb_fail(L);
    cur = next;
  }
  *out = cur;
}

/* x[mask] with a 1-D 0/1 mask of one value per row (NumPy's boolean row
 * indexing, iris[iris[{{}, 1}]:gt(5)]): the rows where mask is 1. */
static int row_mask(lua_State *L, const ml_tensor *t, const ml_tensor *mask) {
  ml_ctx *ctx = mlb_ctx(L);
  int64_t n = mask->shape[0], k = 0;
  for (int64_t i = 0; i < n; i++) {
    double m = ml_get(mask, ml_offset_of(mask, i));
    if (m != 0 && m != 1)
      return luaL_error(L, "tensor index: a 1-D key of %d entries selects rows and must hold 0/1 "
                        "(a mask such as x[{{}, 1}]:gt(0)), got %f at position %d; for row "
                        "positions use x:index_select(1, idx)", (int)n, m, (int)i + 1);
    k += m != 0;
  }
  ml_tensor idx, out;
  MLB_CHECK(L, ml_tensor_new(ctx, &idx, ML_I64, 1, &k, false));
  ml_tensor *ip = mlb_pushtensor(L, &idx);   /* anchored: freed by the GC on error */
  int64_t *p = ml_i64(ip);
  for (int64_t i = 0, j = 0; i < n; i++) {
    if (ml_get(mask, ml_offset_of(mask, i)) != 0) p[j++] = i;
  }
  MLB_CHECK(L, ml_index_select(ctx, &out, t, 0, ip));
  mlb_pushtensor(L, &out);
  return 1;
}

/* x.grad, x.requires_grad, x.grad_fn, x.is_leaf: read from the autograd
 * record (the user value) when there is one. */
static int grad_field(lua_State *L, const char *k) {
  bool rg = !strcmp(k, "requires_grad"), leaf = !strcmp(k, "is_leaf");
  if (!rg && !leaf && strcmp(k, "grad") && strcmp(k, "grad_fn")) return -1;
  if (lua_getiuservalue(L, 1, 1) != LUA_TTABLE) {
    lua_pushboolean(L, leaf);   /* untracked: not requiring grad, a leaf */
    if (!rg && !leaf) lua_pushnil(L);
    return 1;
  }
  if (rg) {
    lua_getfield(L, -1, "fn");
    bool has_fn = !lua_isnil(L, -1);
    lua_getfield(L, -2, "requires_grad");
    lua_pushboolean(L, has_fn || lua_toboolean(L, -1));
  } else if (leaf) {
    lua_getfield(L, -1, "fn");
    lua_pushboolean(L, lua_isnil(L, -1));
  } else {
    lua_getfield(L, -1, !strcmp(k, "grad") ? "grad" : "fn");
  }
  return 1;
}

static int tensor_index(lua_State *L) {
  if (lua_type(L, 2) == LUA_TSTRING) {   /* methods resolve even on a closed tensor */
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    lua_pop(L, 1);
  } else if (!lua_toboolean(L, lua_upvalueindex(2))) {   /* views and masks: autograd */
    int n = mlb_grad_dispatch(L, "index", 1, 1, false);
    if (n >= 0) return n;
  }
  ml_tensor *t = mlb_checktensor(L, 1);
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor v;
  switch (lua_type(L, 2)) {
    case LUA_TSTRING: {
      const char *k = lua_tostring(L, 2);
      if (!strcmp(k, "shape")) return push_shape(L, t);
      if (!strcmp(k, "dtype")) { lua_pushstring(L, ml_dtype_name(t->dtype)); return 1; }
      if (!strcmp(k, "ndim")) { lua_pushinteger(L, t->ndim); return 1; }
      return grad_field(L, k) < 0 ? 0 : 1;
    }
    case LUA_TNUMBER: {
      if (!lua_isinteger(L, 2)) return luaL_error(L, "tensor index must be an integer, got %f",
                                                  lua_tonumber(L, 2));
      if (t->ndim == 0) return luaL_error(L, "cannot index a 0-dimensional tensor");
      int64_t i = checkpos(L, lua_tointeger(L, 2), t->shape[0], 0);
      if (t->ndim == 1) { push_elem(L, t, t->offset + i * t->stride[0]); return 1; }
      MLB_CHECK(L, ml_view_select(ctx, &v, t, 0, i));
      mlb_pushtensor(L, &v);
      return 1;
    }
    case LUA_TTABLE:
      slice_view(L, 2, t, &v);
      if (v.ndim == 0) { push_elem(L, &v, v.offset); ml_tensor_release(&v); return 1; }
      mlb_pushtensor(L, &v);
      return 1;
    case LUA_TUSERDATA: {
      ml_tensor *mask = mlb_checktensor(L, 2);
      if (mask->ndim == 1 && t->ndim > 1 && mask->shape[0] == t->shape[0]) return row_mask(L, t, mask);
      MLB_CHECK(L, ml_masked_select(ctx, &v, t, mask));
      mlb_pushtensor(L, &v);
      return 1;
    }
    default:
      return luaL_error(L, "tensor index: expected an integer, a range table or a mask, got %s",
                        luaL_typename(L, 2));
  }
}

/* Assigns value (number or tensor) into the view dst. */
static void assign(lua_State *L, ml_tensor *dst, int vidx) {
  ml_tensor *src = mlb_totensor(L, vidx);
  if (src) MLB_CHECK(L, ml_copy(mlb_ctx(L), dst, src));
  else if (lua_type(L, vidx) == LUA_TNUMBER) {
    double v = lua_tonumber(L, vidx);
    if (dst->dtype == ML_I64 && !lua_isinteger(L, vidx)) d2i(L, v, "tensor assignment");
    if (dst->dtype == ML_U8 && !(v > -1.0 && v < 256.0))
      luaL_error(L, "tensor assignment: cannot convert %s to uint8: outside 0..255",
                 luaL_tolstring(L, vidx, NULL));
    if (dst->dtype == ML_I64 && lua_isinteger(L, vidx)) {   /* exact beyond 2^53 */
      ml_tensor one;
      int64_t iv = lua_tointeger(L, vidx);
      MLB_CHECK(L, ml_tensor_wrap(mlb_ctx(L), &one, &iv, ML_I64, 0, NULL, NULL, NULL));
      int rc = ml_copy(mlb_ctx(L), dst, &one);
      ml_tensor_release(&one);
      if (rc) mlb_fail(L);
    } else {
      ml_fill(dst, v);
    }
  }
  else if (lua_type(L, vidx) == LUA_TBOOLEAN) ml_fill(dst, lua_toboolean(L, vidx));
  else luaL_error(L, "tensor assignment: expected a number or a tensor, got %s",
                  luaL_typename(L, vidx));
}

/* x.grad = g | nil and x.requires_grad = b go to autograd (stdlib/ml/autograd.lua). */
static int set_grad_field(lua_State *L) {
  const char *k = lua_tostring(L, 2);
  if (strcmp(k, "grad") && strcmp(k, "requires_grad")) return 0;
  lua_rawgetp(L, LUA_REGISTRYINDEX, mlb_grad_ops_key());
  lua_getfield(L, -1, "set_field");
  if (!lua_isfunction(L, -1)) return luaL_error(L, "autograd is not loaded (require \"ml\")");
  lua_pushvalue(L, 1); lua_pushvalue(L, 2); lua_pushvalue(L, 3);
  lua_call(L, 3, 0);
  return 1;
}

static int tensor_newindex(lua_State *L) {
  if (lua_type(L, 2) == LUA_TSTRING && set_grad_field(L)) return 0;
  if (!lua_toboolean(L, lua_upvalueindex(1))) {
    int n = mlb_grad_dispatch(L, "newindex", 1, 3, false);
    if (n >= 0) return 0;
  }
  ml_tensor *t = mlb_checktensor(L, 1);
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor v;
  mlb_touch(t);
  if (lua_type(L, 2) == LUA_TNUMBER) {
    if (!lua_isinteger(L, 2)) return luaL_error(L, "tensor index must be an integer");
    if (t->ndim == 0) return luaL_error(L, "cannot index a 0-dimensional tensor");
    int64_t i = checkpos(L, lua_tointeger(L, 2), t->shape[0], 0);
    MLB_CHECK(L, ml_view_select(ctx, &v, t, 0, i));
  } else if (lua_istable(L, 2)) {
    slice_view(L, 2, t, &v);
  } else if (mlb_totensor(L, 2)) {
    /* x[mask] = value: masked fill */
    ml_tensor *mask = mlb_totensor(L, 2), m;
    MLB_CHECK(L, ml_view_expand(ctx, &m, mask, t->ndim, t->shape));
    double val = luaL_checknumber(L, 3);
    if (t->dtype == ML_U8 && !(val > -1.0 && val < 256.0))
      return ml_tensor_release(&m), luaL_error(L, "tensor assignment: cannot convert %f to "
                                               "uint8: outside 0..255", val);
    if (t->dtype == ML_I64) d2i(L, val, "tensor assignment");
    int64_t n = ml_numel(t);
    for (int64_t i = 0; i < n; i++) {
      if (ml_get(&m, ml_offset_of(&m, i)) == 0) continue;
      int64_t o = ml_offset_of(t, i);
      if (t->dtype == ML_I64 && lua_isinteger(L, 3))
        ((int64_t *)t->storage->data)[o] = lua_tointeger(L, 3);
      else ml_set(t, o, val);
    }
    ml_tensor_release(&m);
    return 0;
  } else {
    return luaL_error(L, "tensor assignment: cannot set field '%s' of a tensor",
                      lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : luaL_typename(L, 2));
  }
  /* anchor v so an error in assign does not leak it */
  ml_tensor *u = mlb_pushtensor(L, &v);
  assign(L, u, 3);
  return 0;
}

static const luaL_Reg tensor_methods[] = {
  {"totable", m_totable}, {"item", m_item}, {"size", m_size}, {"dim", m_dim},
  {"numel", m_numel}, {"nelement", m_numel}, {"is_contiguous", m_is_contiguous},
  {NULL, NULL}};

static const luaL_Reg tensor_functions[] = {
  {"tensor", l_tensor}, {"zeros", l_zeros}, {"ones", l_ones}, {"empty", l_empty},
  {"full", l_full}, {"rand", l_rand}, {"randn", l_randn}, {"eye", l_eye},
  {"arange", l_arange}, {"linspace", l_linspace}, {"randperm", l_randperm},
  {"seed", l_seed}, {"manual_seed", l_seed}, {"set_num_threads", l_set_num_threads},
  {"get_num_threads", l_get_num_threads}, {"set_memory_limit", l_set_memory_limit},
  {"memory_info", l_memory_info}, {"find_nonfinite", l_find_nonfinite}, {NULL, NULL}};

/* Creates the metatable and the methods table (core.Tensor); other binding
 * families and the Lua stdlib add methods to core.Tensor afterwards. */
void mlb_open_tensor(lua_State *L) {
  mlb_register(L, tensor_functions);
  lua_newtable(L);                          /* methods */
  luaL_setfuncs(L, tensor_methods, 0);
  luaL_newmetatable(L, MLB_TENSOR);
  lua_newtable(L);                          /* core.raw: ops without autograd (mlb.h) */
  lua_pushvalue(L, -3);
  lua_pushboolean(L, 1);
  lua_pushcclosure(L, tensor_index, 2);
  lua_setfield(L, -2, "index");
  lua_pushboolean(L, 1);
  lua_pushcclosure(L, tensor_newindex, 1);
  lua_setfield(L, -2, "newindex");
  lua_setfield(L, -4, "raw");
  lua_pushvalue(L, -2);
  lua_pushcclosure(L, tensor_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, tensor_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, tensor_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, tensor_gc);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, m_len);
  lua_setfield(L, -2, "__len");
  lua_setfield(L, -3, "mt");                /* core.tensor.mt */
  lua_setfield(L, -2, "Tensor");            /* core.tensor.Tensor = methods */
}
