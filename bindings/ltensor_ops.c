/* ltensor_ops.c - arithmetic, comparisons, reductions, views and joins on
 * ml.Tensor, as methods, metamethods and ml.* functions. */
#include "mlb.h"
#include <math.h>
#include <string.h>

/* ---- elementwise ---- */

/* a op b where either side may be a number (broadcast as a scalar). */
static int binary(lua_State *L, ml_binop op) {
  if (op < ML_EQ) MLB_GRAD(L, ml_binop_name(op), 1, 2);
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor out;
  ml_tensor *a = mlb_totensor(L, 1), *b = mlb_totensor(L, 2);
  if (a && b) MLB_CHECK(L, ml_binary(ctx, &out, a, b, op));
  else if (a) MLB_CHECK(L, ml_binary_scalar(ctx, &out, a, luaL_checknumber(L, 2), op, false));
  else if (b) MLB_CHECK(L, ml_binary_scalar(ctx, &out, b, luaL_checknumber(L, 1), op, true));
  else return luaL_error(L, "%s: expected a tensor operand", ml_binop_name(op));
  mlb_pushtensor(L, &out);
  return 1;
}

static int l_add(lua_State *L) { return binary(L, ML_ADD); }
static int l_sub(lua_State *L) { return binary(L, ML_SUB); }
static int l_mul(lua_State *L) { return binary(L, ML_MUL); }
static int l_div(lua_State *L) { return binary(L, ML_DIV); }
static int l_pow(lua_State *L) { return binary(L, ML_POW); }
static int l_maximum(lua_State *L) { return binary(L, ML_MAXIMUM); }
static int l_minimum(lua_State *L) { return binary(L, ML_MINIMUM); }
static int l_eq(lua_State *L) { return binary(L, ML_EQ); }
static int l_ne(lua_State *L) { return binary(L, ML_NE); }
static int l_gt(lua_State *L) { return binary(L, ML_GT); }
static int l_ge(lua_State *L) { return binary(L, ML_GE); }
static int l_lt(lua_State *L) { return binary(L, ML_LT); }
static int l_le(lua_State *L) { return binary(L, ML_LE); }

static int inplace(lua_State *L, ml_binop op) {
  MLB_GRAD(L, op == ML_ADD ? "add_" : op == ML_SUB ? "sub_" : op == ML_MUL ? "mul_"
           : op == ML_DIV ? "div_" : "pow_", 1, 2);
  ml_tensor *a = mlb_checktensor(L, 1);
  mlb_touch(a);
  ml_tensor *b = mlb_totensor(L, 2);
  if (b) MLB_CHECK(L, ml_binary_(mlb_ctx(L), a, b, op));
  else MLB_CHECK(L, ml_binary_scalar_(mlb_ctx(L), a, luaL_checknumber(L, 2), op));
  lua_settop(L, 1);
  return 1;
}
static int m_add_(lua_State *L) { return inplace(L, ML_ADD); }
static int m_sub_(lua_State *L) { return inplace(L, ML_SUB); }
static int m_mul_(lua_State *L) { return inplace(L, ML_MUL); }
static int m_div_(lua_State *L) { return inplace(L, ML_DIV); }
static int m_pow_(lua_State *L) { return inplace(L, ML_POW); }

static int m_copy_(lua_State *L) {
  MLB_GRAD(L, "copy_", 1, 2);
  ml_tensor *a = mlb_checktensor(L, 1), src;
  mlb_touch(a);
  mlb_astensor(L, 2, &src);
  int rc = ml_copy(mlb_ctx(L), a, &src);
  ml_tensor_release(&src);
  if (rc) return mlb_fail(L);
  lua_settop(L, 1);
  return 1;
}

static int m_fill(lua_State *L) {
  MLB_GRAD(L, "fill_", 1, 1);
  ml_tensor *t = mlb_checktensor(L, 1);
  double v = luaL_checknumber(L, 2);
  if (t->dtype == ML_I64 && !(v < 9223372036854775808.0 && v >= -9223372036854775808.0))
    return v != v ? luaL_error(L, "fill: cannot convert NaN to int64 (NaN has no integer value)")
                  : luaL_error(L, "fill: cannot convert %f to int64: out of range", v);
  if (t->dtype == ML_U8 && !(v > -1.0 && v < 256.0))
    return luaL_error(L, "fill: cannot convert %f to uint8: outside 0..255", v);
  mlb_touch(t);
  ml_fill(t, v);
  lua_settop(L, 1);
  return 1;
}

static int m_zero_(lua_State *L) {
  MLB_GRAD(L, "zero_", 1, 1);
  ml_tensor *t = mlb_checktensor(L, 1);
  mlb_touch(t);
  ml_fill(t, 0);
  lua_settop(L, 1);
  return 1;
}

/* Unary ops with a gradient; the others (sign, floor, ...) give untracked results. */
static bool unary_differentiable(ml_unop op) {
  return op != ML_SIGN && op != ML_FLOOR && op != ML_CEIL && op != ML_ROUND;
}

static int unary(lua_State *L, ml_unop op, bool in_place) {
  if (unary_differentiable(op) || in_place) {
    if (in_place) {
      char name[32];
      snprintf(name, sizeof name, "%s_", ml_unop_name(op));
      MLB_GRAD(L, name, 1, 1);
    } else {
      MLB_GRAD(L, ml_unop_name(op), 1, 1);
    }
  }
  ml_tensor *a = mlb_checktensor(L, 1);
  if (in_place) {
    mlb_touch(a);
    MLB_CHECK(L, ml_unary_(mlb_ctx(L), a, op));
    lua_settop(L, 1);
    return 1;
  }
  ml_tensor out;
  MLB_CHECK(L, ml_unary(mlb_ctx(L), &out, a, op));
  mlb_pushtensor(L, &out);
  return 1;
}
#define UNARY(name, op) \
  static int m_##name(lua_State *L) { return unary(L, op, false); } \
  static int m_##name##_(lua_State *L) { return unary(L, op, true); }
UNARY(neg, ML_NEG)
UNARY(exp, ML_EXP)
UNARY(log, ML_LOG)
UNARY(sqrt, ML_SQRT)
UNARY(abs, ML_ABS)
UNARY(sigmoid, ML_SIGMOID)
UNARY(tanh, ML_TANH)
UNARY(relu, ML_RELU)
UNARY(sign, ML_SIGN)
UNARY(floor, ML_FLOOR)
UNARY(ceil, ML_CEIL)
UNARY(round, ML_ROUND)
UNARY(square, ML_SQUARE)
UNARY(reciprocal, ML_RECIP)
UNARY(log1p, ML_LOG1P)
UNARY(expm1, ML_EXPM1)
UNARY(sin, ML_SIN)
UNARY(cos, ML_COS)
#undef UNARY

static int m_unm(lua_State *L) { return unary(L, ML_NEG, false); }

static int m_clamp(lua_State *L) {
  MLB_GRAD(L, "clamp", 1, 1);
  ml_tensor out;
  MLB_CHECK(L, ml_clamp(mlb_ctx(L), &out, mlb_checktensor(L, 1),
                        luaL_optnumber(L, 2, -HUGE_VAL), luaL_optnumber(L, 3, HUGE_VAL)));
  mlb_pushtensor(L, &out);
  return 1;
}

/* ---- reductions ---- */

/* x:op() -> number; x:op(dim [, keepdim]) -> tensor (and positions for max/min) */
static const char *const redop_names[] = {"sum", "mean", "prod", "max", "min", "var", "std",
                                          "norm", "argmax", "argmin"};

static int reduce(lua_State *L, ml_redop op) {
  if (op != ML_ARGMAX && op != ML_ARGMIN) MLB_GRAD(L, redop_names[op], 1, 1);
  ml_tensor *t = mlb_checktensor(L, 1);
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor out, pos;
  bool want_pos = op == ML_MAX || op == ML_MIN;
  int ddof = (op == ML_VAR || op == ML_STD) ? (int)luaL_optinteger(L, 4, 1) : 0;
  if (lua_isnoneornil(L, 2)) {
    MLB_CHECK(L, ml_reduce(ctx, &out, NULL, t, -1, false, op, ddof));
    if (op == ML_ARGMAX || op == ML_ARGMIN) lua_pushinteger(L, ml_i64(&out)[0] + 1);
    else lua_pushnumber(L, ml_get(&out, out.offset));
    ml_tensor_release(&out);
    return 1;
  }
  int dim = mlb_checkdim(L, 2, t, 0);
  bool keep = lua_toboolean(L, 3);
  MLB_CHECK(L, ml_reduce(ctx, &out, want_pos ? &pos : NULL, t, dim, keep, op, ddof));
  if (op == ML_ARGMAX || op == ML_ARGMIN) {
    int64_t n = ml_numel(&out), *p = ml_i64(&out);
    for (int64_t i = 0; i < n; i++) p[i] += 1;
  }
  mlb_pushtensor(L, &out);
  if (!want_pos) return 1;
  int64_t n = ml_numel(&pos), *p = ml_i64(&pos);
  for (int64_t i = 0; i < n; i++) p[i] += 1;
  mlb_pushtensor(L, &pos);
  return 2;
}
static int m_sum(lua_State *L) { return reduce(L, ML_SUM); }
static int m_mean(lua_State *L) { return reduce(L, ML_MEAN); }
static int m_prod(lua_State *L) { return reduce(L, ML_PROD); }
static int m_max(lua_State *L) { return reduce(L, ML_MAX); }
static int m_min(lua_State *L) { return reduce(L, ML_MIN); }
static int m_var(lua_State *L) { return reduce(L, ML_VAR); }
static int m_std(lua_State *L) { return reduce(L, ML_STD); }
static int m_norm(lua_State *L) { return reduce(L, ML_NORM); }
static int m_argmax(lua_State *L) { return reduce(L, ML_ARGMAX); }
static int m_argmin(lua_State *L) { return reduce(L, ML_ARGMIN); }

static int softmax(lua_State *L, bool log_) {
  MLB_GRAD(L, log_ ? "log_softmax" : "softmax", 1, 1);
  ml_tensor *t = mlb_checktensor(L, 1);
  int dim = lua_isnoneornil(L, 2) ? t->ndim - 1 : mlb_checkdim(L, 2, t, 0);
  ml_tensor out;
  MLB_CHECK(L, ml_softmax(mlb_ctx(L), &out, t, dim, log_));
  mlb_pushtensor(L, &out);
  return 1;
}
static int m_softmax(lua_State *L) { return softmax(L, false); }
static int m_log_softmax(lua_State *L) { return softmax(L, true); }

static int l_matmul(lua_State *L) {
  MLB_GRAD(L, "matmul", 1, 2);
  ml_tensor out;
  MLB_CHECK(L, ml_matmul(mlb_ctx(L), &out, mlb_checktensor(L, 1), mlb_checktensor(L, 2)));
  mlb_pushtensor(L, &out);
  return 1;
}

/* ---- views and copies ---- */

static int m_reshape(lua_State *L) {
  MLB_GRAD(L, "reshape", 1, 1);
  ml_tensor *t = mlb_checktensor(L, 1), out;
  int64_t shape[ML_MAX_DIMS];
  int n = 0;
  if (lua_istable(L, 2)) {
    n = (int)lua_rawlen(L, 2);
    if (n > ML_MAX_DIMS) return luaL_error(L, "reshape: expected at most %d dimensions", ML_MAX_DIMS);
    for (int i = 0; i < n; i++) {
      lua_rawgeti(L, 2, i + 1);
      shape[i] = luaL_checkinteger(L, -1);
      lua_pop(L, 1);
    }
  } else {
    int top = lua_gettop(L);
    if (top - 1 > ML_MAX_DIMS) return luaL_error(L, "reshape: expected at most %d dimensions", ML_MAX_DIMS);
    for (int i = 2; i <= top; i++) shape[n++] = luaL_checkinteger(L, i);
  }
  MLB_CHECK(L, ml_reshape(mlb_ctx(L), &out, t, n, shape));
  mlb_pushtensor(L, &out);
  return 1;
}

static int m_flatten(lua_State *L) {
  MLB_GRAD(L, "flatten", 1, 1);
  ml_tensor *t = mlb_checktensor(L, 1), out;
  int64_t n = -1;
  MLB_CHECK(L, ml_reshape(mlb_ctx(L), &out, t, 1, &n));
  mlb_pushtensor(L, &out);
  return 1;
}

static int m_transpose(lua_State *L) {
  MLB_GRAD(L, "transpose", 1, 1);
  ml_tensor *t = mlb_checktensor(L, 1), out;
  int d1, d2;
  if (lua_isnoneornil(L, 2)) {
    if (t->ndim != 2)
      return luaL_error(L, "t: expected a 2-dimensional tensor, got %d dimensions", t->ndim);
    d1 = 0; d2 = 1;
  } else {
    d1 = mlb_checkdim(L, 2, t, 0);
    d2 = mlb_checkdim(L, 3, t, 0);
  }
  MLB_CHECK(L, ml_view_transpose(mlb_ctx(L), &out, t, d1, d2));
  mlb_pushtensor(L, &out);
  return 1;
}

static int m_permute(lua_State *L) {
  MLB_GRAD(L, "permute", 1, 1);
  ml_tensor *t = mlb_checktensor(L, 1), out;
  int perm[ML_MAX_DIMS];
  int tbl = lua_istable(L, 2);
  int n = tbl ? (int)lua_rawlen(L, 2) : lua_gettop(L) - 1;
  if (n != t->ndim)
    return luaL_error(L, "permute: expected %d dimensions, got %d", t->ndim, n);
  for (int i = 0; i < n; i++) {
    if (tbl) { lua_rawgeti(L, 2, i + 1); perm[i] = mlb_checkdim(L, -1, t, 0); lua_pop(L, 1); }
    else perm[i] = mlb_checkdim(L, i + 2, t, 0);
  }
  MLB_CHECK(L, ml_view_permute(mlb_ctx(L), &out, t, perm));
  mlb_pushtensor(L, &out);
  return 1;
}

static int m_narrow(lua_State *L) {
  MLB_GRAD(L, "narrow", 1, 1);
  ml_tensor *t = mlb_checktensor(L, 1), out;
  int d = mlb_checkdim(L, 2, t, 0);
  lua_Integer start = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
  if (start < 1 || start > t->shape[d] + 1 || len < 0 || len > t->shape[d])
    return luaL_error(L, "narrow: range of %I elements from %I out of bounds for dimension "
                      "%d of size %I", len, start, d + 1, (lua_Integer)t->shape[d]);
  MLB_CHECK(L, ml_view_narrow(mlb_ctx(L), &out, t, d, start - 1, len));
  mlb_pushtensor(L, &out);
  return 1;
}

static int m_select(lua_State *L) {
  MLB_GRAD(L, "select", 1, 1);
  ml_tensor *t = mlb_checktensor(L, 1), out;
  int d = mlb_checkdim(L, 2, t, 0);
  lua_Integer i = luaL_checkinteger(L, 3);
  if (i < 0) i += t->shape[d] + 1;
  if (i < 1 || i > t->shape[d])
    return luaL_error(L, "select: index %I out of range for dimension %d of size %I",
                      luaL_checkinteger(L, 3), d + 1, (lua_Integer)t->shape[d]);
  MLB_CHECK(L, ml_view_select(mlb_ctx(L), &out, t, d, i - 1));
  mlb_pushtensor(L, &out);
  return 1;
}

static int m_squeeze(lua_State *L) {
  MLB_GRAD(L, "squeeze", 1, 1);
  ml_tensor *t = mlb_checktensor(L, 1), out;
  int64_t shape[ML_MAX_DIMS];
  int n = 0, only = lua_isnoneornil(L, 2) ? -1 : mlb_checkdim(L, 2, t, 0);
  for (int i = 0; i < t->ndim; i++)
    if (t->shape[i] != 1 || (only >= 0 && i != only)) shape[n++] = t->shape[i];
  MLB_CHECK(L, ml_reshape(mlb_ctx(L), &out, t, n, shape));
  mlb_pushtensor(L, &out);
  return 1;
}

static int m_unsqueeze(lua_State *L) {
  MLB_GRAD(L, "unsqueeze", 1, 1);
  ml_tensor *t = mlb_checktensor(L, 1), out;
  int d = mlb_checkdim(L, 2, t, 1);
  if (t->ndim + 1 > ML_MAX_DIMS) return luaL_error(L, "unsqueeze: too many dimensions");
  int64_t shape[ML_MAX_DIMS];
  for (int i = 0, k = 0; i <= t->ndim; i++) shape[i] = i == d ? 1 : t->shape[k++];
  MLB_CHECK(L, ml_reshape(mlb_ctx(L), &out, t, t->ndim + 1, shape));
  mlb_pushtensor(L, &out);
  return 1;
}

static int m_expand(lua_State *L) {
  MLB_GRAD(L, "expand", 1, 1);
  ml_tensor *t = mlb_checktensor(L, 1), out;
  int64_t shape[ML_MAX_DIMS];
  int n = mlb_checkshape(L, 2, shape);
  MLB_CHECK(L, ml_view_expand(mlb_ctx(L), &out, t, n, shape));
  mlb_pushtensor(L, &out);
  return 1;
}

static int m_clone(lua_State *L) {
  MLB_GRAD(L, "clone", 1, 1);
  ml_tensor out;
  MLB_CHECK(L, ml_clone(mlb_ctx(L), &out, mlb_checktensor(L, 1)));
  mlb_pushtensor(L, &out);
  return 1;
}

static int m_contiguous(lua_State *L) {
  MLB_GRAD(L, "contiguous", 1, 1);
  ml_tensor out;
  MLB_CHECK(L, ml_contiguous(mlb_ctx(L), &out, mlb_checktensor(L, 1)));
  mlb_pushtensor(L, &out);
  return 1;
}

static int to_dtype(lua_State *L, ml_dtype d) {
  if (d == ML_F32) MLB_GRAD(L, "float", 1, 1);
  ml_tensor out;
  MLB_CHECK(L, ml_to_dtype(mlb_ctx(L), &out, mlb_checktensor(L, 1), d));
  mlb_pushtensor(L, &out);
  return 1;
}
static int m_float(lua_State *L) { return to_dtype(L, ML_F32); }
static int m_double(lua_State *L) { return to_dtype(L, ML_F64); }
static int m_long(lua_State *L) { return to_dtype(L, ML_I64); }
static int m_byte(lua_State *L) { return to_dtype(L, ML_U8); }
/* x:to(dtype): a name or {dtype = name} (mlb_checkdtype) */
static int m_to(lua_State *L) {
  mlb_checktensor(L, 1);
  if (lua_isnoneornil(L, 2)) return luaL_argerror(L, 2, "expected a dtype name");
  ml_dtype d = mlb_checkdtype(L, 2, ML_F32);
  lua_settop(L, 1);
  return to_dtype(L, d);
}

/* x:index_select(dim, idx) with 1-based positions */
static int m_index_select(lua_State *L) {
  MLB_GRAD(L, "index_select", 1, 1);
  ml_tensor *t = mlb_checktensor(L, 1), idx, idx0, out;
  ml_ctx *ctx = mlb_ctx(L);
  int d = mlb_checkdim(L, 2, t, 0);
  mlb_astensor(L, 3, &idx);
  int rc = ml_binary_scalar(ctx, &idx0, &idx, 1, ML_SUB, false);
  ml_tensor_release(&idx);
  if (rc) return mlb_fail(L);
  rc = ml_index_select(ctx, &out, t, d, &idx0);
  ml_tensor_release(&idx0);
  if (rc) return mlb_fail(L);
  mlb_pushtensor(L, &out);
  return 1;
}

static int m_masked_select(lua_State *L) {
  MLB_GRAD(L, "masked_select", 1, 1);
  ml_tensor out;
  MLB_CHECK(L, ml_masked_select(mlb_ctx(L), &out, mlb_checktensor(L, 1), mlb_checktensor(L, 2)));
  mlb_pushtensor(L, &out);
  return 1;
}

/* Argument idx as 0-based int64 positions (from 1-based Lua ones). */
static void positions0(lua_State *L, int idx, ml_tensor *out) {
  ml_tensor *t = mlb_checktensor(L, idx);
  if (t->dtype != ML_I64)
    luaL_argerror(L, idx, lua_pushfstring(L, "expected an int64 index tensor, got %s",
                                          ml_dtype_name(t->dtype)));
  MLB_CHECK(L, ml_binary_scalar(mlb_ctx(L), out, t, 1, ML_SUB, false));
}

/* x:gather(dim, index): out[i][j] = x[index[i][j]][j] for dim 1 (torch.gather;
 * 1-based int64 positions, index has x's number of dimensions). */
static int m_gather(lua_State *L) {
  MLB_GRAD(L, "gather", 1, 1);
  ml_tensor *t = mlb_checktensor(L, 1), idx, out;
  int d = mlb_checkdim(L, 2, t, 0);
  positions0(L, 3, &idx);
  int rc = ml_gather(mlb_ctx(L), &out, t, d, &idx);
  ml_tensor_release(&idx);
  if (rc) return mlb_fail(L);
  mlb_pushtensor(L, &out);
  return 1;
}

/* x:scatter_add_(dim, index, src): x[index[i][j]][j] += src[i][j] for dim 1. */
static int m_scatter_add_(lua_State *L) {
  MLB_GRAD(L, "scatter_add_", 1, 4);
  ml_tensor *t = mlb_checktensor(L, 1), idx;
  int d = mlb_checkdim(L, 2, t, 0);
  ml_tensor *src = mlb_checktensor(L, 4);
  positions0(L, 3, &idx);
  mlb_touch(t);
  int rc = ml_scatter_add_(mlb_ctx(L), t, d, &idx, src);
  ml_tensor_release(&idx);
  if (rc) return mlb_fail(L);
  lua_settop(L, 1);
  return 1;
}

/* ---- joins ---- */

/* Collects a Lua list of tensors into a C array kept alive by the list. */
static int tensor_list(lua_State *L, int idx, ml_tensor *out, int max, const char *who) {
  luaL_checktype(L, idx, LUA_TTABLE);
  int n = (int)lua_rawlen(L, idx);
  if (n < 1) return luaL_error(L, "%s: expected a non-empty list of tensors", who);
  if (n > max) return luaL_error(L, "%s: at most %d tensors at once", who, max);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, idx, i + 1);
    ml_tensor *t = mlb_totensor(L, -1);
    if (!t) return luaL_error(L, "%s: entry %d is a %s, expected ml.Tensor", who, i + 1,
                              luaL_typename(L, -1));
    out[i] = *t;   /* borrowed: the list keeps it alive */
    lua_pop(L, 1);
  }
  return n;
}

#define MAX_JOIN (1 << 20)
static int join(lua_State *L, bool stack, int default_dim, const char *who) {
  lua_settop(L, 2);
  if (!lua_toboolean(L, lua_upvalueindex(1))) {
    int n = mlb_grad_dispatch(L, who, 1, 1, true);
    if (n >= 0) return n;
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t len = lua_rawlen(L, 1);
  ml_tensor *ts = lua_newuserdatauv(L, sizeof(ml_tensor) * (len ? len : 1), 0);
  int n = tensor_list(L, 1, ts, MAX_JOIN, who);
  if (!strcmp(who, "vstack") && ts[0].ndim == 1) {
    /* NumPy: 1-D tensors stack as rows */
    stack = true;
    for (int i = 1; i < n; i++)
      if (ts[i].ndim != 1 || ts[i].shape[0] != ts[0].shape[0]) stack = false;
    if (!stack)
      return luaL_error(L, "vstack: 1-dimensional tensors must have the same length");
  }
  ml_tensor out;
  int d = default_dim;
  if (!lua_isnoneornil(L, 2)) d = mlb_checkdim(L, 2, &ts[0], stack ? 1 : 0);
  else if (d < 0) d = ts[0].ndim > 1 ? 1 : 0;   /* hstack: columns, or 1-D append */
  MLB_CHECK(L, stack ? ml_stack(mlb_ctx(L), &out, ts, n, d) : ml_cat(mlb_ctx(L), &out, ts, n, d));
  mlb_pushtensor(L, &out);
  return 1;
}
static int l_cat(lua_State *L) { return join(L, false, 0, "cat"); }
static int l_stack(lua_State *L) { return join(L, true, 0, "stack"); }
static int l_vstack(lua_State *L) { lua_settop(L, 1); return join(L, false, 0, "vstack"); }
static int l_hstack(lua_State *L) { lua_settop(L, 1); return join(L, false, -1, "hstack"); }

static int l_where(lua_State *L) {
  MLB_GRAD(L, "where", 2, 3);
  ml_tensor c, a, b, out;
  mlb_astensor(L, 1, &c);
  mlb_astensor(L, 2, &a);
  mlb_astensor(L, 3, &b);
  int rc = ml_where(mlb_ctx(L), &out, &c, &a, &b);
  ml_tensor_release(&c); ml_tensor_release(&a); ml_tensor_release(&b);
  if (rc) return mlb_fail(L);
  mlb_pushtensor(L, &out);
  return 1;
}

static const luaL_Reg methods[] = {
  {"add", l_add}, {"sub", l_sub}, {"mul", l_mul}, {"div", l_div}, {"pow", l_pow},
  {"maximum", l_maximum}, {"minimum", l_minimum},
  {"eq", l_eq}, {"ne", l_ne}, {"gt", l_gt}, {"ge", l_ge}, {"lt", l_lt}, {"le", l_le},
  {"add_", m_add_}, {"sub_", m_sub_}, {"mul_", m_mul_}, {"div_", m_div_}, {"pow_", m_pow_},
  {"copy_", m_copy_}, {"copy", m_copy_}, {"fill", m_fill}, {"fill_", m_fill}, {"zero_", m_zero_},
  {"neg", m_neg}, {"neg_", m_neg_}, {"exp", m_exp}, {"exp_", m_exp_}, {"log", m_log},
  {"log_", m_log_}, {"sqrt", m_sqrt}, {"sqrt_", m_sqrt_}, {"abs", m_abs}, {"abs_", m_abs_},
  {"sigmoid", m_sigmoid}, {"sigmoid_", m_sigmoid_}, {"tanh", m_tanh}, {"tanh_", m_tanh_},
  {"relu", m_relu}, {"relu_", m_relu_}, {"sign", m_sign}, {"sign_", m_sign_},
  {"floor", m_floor}, {"floor_", m_floor_}, {"ceil", m_ceil}, {"ceil_", m_ceil_},
  {"round", m_round}, {"round_", m_round_}, {"square", m_square}, {"square_", m_square_},
  {"reciprocal", m_reciprocal}, {"reciprocal_", m_reciprocal_}, {"log1p", m_log1p},
  {"log1p_", m_log1p_}, {"expm1", m_expm1}, {"expm1_", m_expm1_}, {"sin", m_sin},
  {"sin_", m_sin_}, {"cos", m_cos}, {"cos_", m_cos_}, {"clamp", m_clamp},
  {"sum", m_sum}, {"mean", m_mean}, {"prod", m_prod}, {"max", m_max}, {"min", m_min},
  {"var", m_var}, {"std", m_std}, {"norm", m_norm}, {"argmax", m_argmax}, {"argmin", m_argmin},
  {"softmax", m_softmax}, {"log_softmax", m_log_softmax}, {"matmul", l_matmul},
  {"reshape", m_reshape}, {"view", m_reshape}, {"flatten", m_flatten}, {"t", m_transpose},
  {"transpose", m_transpose}, {"permute", m_permute}, {"narrow", m_narrow},
  {"select", m_select}, {"squeeze", m_squeeze}, {"unsqueeze", m_unsqueeze},
  {"expand", m_expand}, {"clone", m_clone}, {"contiguous", m_contiguous},
  {"float", m_float}, {"double", m_double}, {"long", m_long}, {"byte", m_byte}, {"to", m_to},
  {"index_select", m_index_select}, {"masked_select", m_masked_select},
  {"gather", m_gather}, {"scatter_add_", m_scatter_add_},
  {NULL, NULL}};

static const luaL_Reg metamethods[] = {
  {"__add", l_add}, {"__sub", l_sub}, {"__mul", l_mul}, {"__div", l_div}, {"__pow", l_pow},
  {"__unm", m_unm}, {NULL, NULL}};

static const luaL_Reg functions[] = {
  {"matmul", l_matmul}, {"cat", l_cat}, {"stack", l_stack}, {"vstack", l_vstack},
  {"hstack", l_hstack}, {"where", l_where}, {"maximum", l_maximum}, {"minimum", l_minimum},
  {NULL, NULL}};

void mlb_open_tensor_ops(lua_State *L) {
  /* ml.core.raw: the same functions without the autograd check (see mlb.h) */
  lua_getfield(L, -1, "raw");
  luaL_checktype(L, -1, LUA_TTABLE);
  lua_pushboolean(L, 1);
  luaL_setfuncs(L, methods, 1);
  lua_pushboolean(L, 1);
  luaL_setfuncs(L, functions, 1);
  lua_pushboolean(L, 1);
  luaL_setfuncs(L, metamethods, 1);
  lua_pop(L, 1);
  mlb_register(L, functions);
  lua_getfield(L, -1, "Tensor");
  luaL_setfuncs(L, methods, 0);
  lua_pop(L, 1);
  luaL_getmetatable(L, MLB_TENSOR);
  luaL_setfuncs(L, metamethods, 0);
  lua_pop(L, 1);
}
