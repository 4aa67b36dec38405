/* lnn.c - Lua bindings of the neural-network kernels (runtime/nn/): the
 * layer classes of stdlib/ml/nn/ call these as ml.core.nn.*.
 *
 * Reuse across batches: each layer passes its cache table; outputs,
 * gradients and workspaces are kept there under fixed keys and reused while
 * their shapes match, so a training loop allocates nothing once shapes are
 * stable. A forward with reuse = false returns a fresh output instead (what
 * inference wants: the caller may keep it). */
#include "mlb.h"
#include "../runtime/nn/nn.h"
#include <string.h>

static bool shape_is(const ml_tensor *t, int ndim, const int64_t *shape) {
  if (t->ndim != ndim) return false;
  for (int i = 0; i < ndim; i++) if (t->shape[i] != shape[i]) return false;
  return true;
}

/* A float32 tensor of exactly `shape`, from cache[key] when it matches
 * (cache = 0: always new, not stored). Left on the stack. */
static ml_tensor *cached(lua_State *L, int cache, const char *key, int ndim,
                         const int64_t *shape) {
  bool use = cache && lua_istable(L, cache);
  if (use) {
    lua_getfield(L, cache, key);
    ml_tensor *t = mlb_totensor(L, -1);
    if (t && t->dtype == ML_F32 && ml_is_contiguous(t) && shape_is(t, ndim, shape)) return t;
    lua_pop(L, 1);
  }
  ml_tensor t;
  MLB_CHECK(L, ml_tensor_new(mlb_ctx(L), &t, ML_F32, ndim, shape, false));
  ml_tensor *u = mlb_pushtensor(L, &t);
  if (use) { lua_pushvalue(L, -1); lua_setfield(L, cache, key); }
  return u;
}

/* A buffer of at least n floats kept in cache[key] (grown when too small). */
static float *workspace(lua_State *L, int cache, const char *key, size_t n) {
  if (n == 0) n = 1;
  bool use = cache && lua_istable(L, cache);
  if (use) {
    lua_getfield(L, cache, key);
    ml_tensor *t = mlb_totensor(L, -1);
    if (t && t->dtype == ML_F32 && ml_is_contiguous(t) && (size_t)ml_numel(t) >= n)
      return ml_f32(t);
    lua_pop(L, 1);
  }
  int64_t sz = (int64_t)n;
  ml_tensor t;
  MLB_CHECK(L, ml_tensor_new(mlb_ctx(L), &t, ML_F32, 1, &sz, false));
  ml_tensor *u = mlb_pushtensor(L, &t);
  if (use) { lua_pushvalue(L, -1); lua_setfield(L, cache, key); }
  return ml_f32(u);
}

static int cache_arg(lua_State *L, int idx) { return lua_istable(L, idx) ? idx : 0; }

static ml_act check_act(lua_State *L, int name_idx, int alpha_idx) {
  ml_act a;
  const char *name = luaL_optstring(L, name_idx, NULL);
  MLB_CHECK(L, ml_act_parse(mlb_ctx(L), name, &a.kind));
  a.alpha = (float)luaL_optnumber(L, alpha_idx, a.kind == ML_ACT_LEAKY_RELU ? 0.3 : 1.0);
  return a;
}

/* ---- activations ---- */

/* nn_act_forward(x, act, alpha, cache, reuse) -> y */
static int l_act_forward(lua_State *L) {
  ml_tensor *x = mlb_checkf32(L, 1, -1, NULL, NULL);
  ml_act a = check_act(L, 2, 3);
  int cache = lua_toboolean(L, 5) ? cache_arg(L, 4) : 0;
  ml_tensor *y = cached(L, cache, "y", x->ndim, x->shape);
  MLB_CHECK(L, ml_act_forward(mlb_ctx(L), a, y, x));
  return 1;
}

/* nn_act_backward(y, gy, act, alpha, cache) -> gx */
static int l_act_backward(lua_State *L) {
  ml_tensor *y = mlb_checkf32(L, 1, -1, NULL, NULL), *gy = mlb_checkf32(L, 2, -1, NULL, NULL);
  ml_act a = check_act(L, 3, 4);
  ml_tensor *gx = cached(L, cache_arg(L, 5), "gx", y->ndim, y->shape);
  MLB_CHECK(L, ml_act_backward(mlb_ctx(L), a, gx, gy, y));
  return 1;
}

/* ---- Dense ---- */

/* nn_dense_forward(x, W, b, act, alpha, cache, reuse) -> y */
static int l_dense_forward(lua_State *L) {
  ml_tensor *x = mlb_checkf32(L, 1, -1, NULL, NULL), *w = mlb_checkf32(L, 2, -1, NULL, NULL), *b = mlb_optf32(L, 3);
  ml_act a = check_act(L, 4, 5);
  int cache = lua_toboolean(L, 7) ? cache_arg(L, 6) : 0;
  if (x->ndim != 2 || w->ndim != 2) MLB_CHECK(L, ml_dense_forward(mlb_ctx(L), NULL, x, w, b, a));
  int64_t ys[2] = {x->shape[0], w->shape[1]};
  ml_tensor *y = cached(L, cache, "y", 2, ys);
  MLB_CHECK(L, ml_dense_forward(mlb_ctx(L), y, x, w, b, a));
  return 1;
}

/* nn_dense_backward(x, W, y, gy, act, alpha, pre, gW, gb, need_gx, cache) -> gx | nil */
static int l_dense_backward(lua_State *L) {
  ml_tensor *x = mlb_checkf32(L, 1, -1, NULL, NULL), *w = mlb_checkf32(L, 2, -1, NULL, NULL);
  ml_tensor *y = mlb_optf32(L, 3), *gy = mlb_checkf32(L, 4, -1, NULL, NULL);
  ml_act a = check_act(L, 5, 6);
  bool pre = lua_toboolean(L, 7);
  ml_tensor *gw = mlb_checktensor(L, 8), *gb = lua_isnoneornil(L, 9) ? NULL : mlb_checktensor(L, 9);
  bool need_gx = lua_toboolean(L, 10);
  int cache = cache_arg(L, 11);
  if (x->ndim != 2 || w->ndim != 2 || gy->ndim != 2)
    MLB_CHECK(L, ml_dense_backward(mlb_ctx(L), NULL, gw, gb, NULL, x, w, y, gy, a, pre));
  ml_tensor *gz = NULL, *gx = NULL;
  if (!pre && a.kind != ML_ACT_LINEAR) gz = cached(L, cache, "gz", 2, gy->shape);
  if (need_gx) gx = cached(L, cache, "gx", 2, x->shape);
  MLB_CHECK(L, ml_dense_backward(mlb_ctx(L), gx, gw, gb, gz, x, w, y, gy, a, pre));
  if (!gx) lua_pushnil(L);
  return 1;
}

/* ---- Conv2D ---- */

static ml_window conv_window(lua_State *L, const ml_tensor *x, const ml_tensor *w,
                             int64_t sh, int64_t sw, bool same) {
  ml_window g;
  if (w->ndim != 4) MLB_CHECK(L, ml_conv2d_forward(mlb_ctx(L), NULL, x, w, NULL, sh, sw, same,
                                                   (ml_act){ML_ACT_LINEAR, 0}, NULL, 0));
  MLB_CHECK(L, ml_window_init(mlb_ctx(L), &g, "conv2d", x, w->shape[0], w->shape[1], sh, sw, same));
  if (ml_conv2d_workspace(&g, w->shape[3], mlb_ctx(L)->threads) == SIZE_MAX) {
    char a[96];
    luaL_error(L, "conv2d: input %s with a %dx%d window needs too large a workspace",
               ml_shape_str(a, sizeof a, x->ndim, x->shape), (int)w->shape[0], (int)w->shape[1]);
  }
  return g;
}

/* nn_conv2d_forward(x, W, b, sh, sw, same, act, alpha, cache, reuse) -> y */
static int l_conv2d_forward(lua_State *L) {
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor *x = mlb_checkf32(L, 1, -1, NULL, NULL), *w = mlb_checkf32(L, 2, -1, NULL, NULL), *b = mlb_optf32(L, 3);
  int64_t sh = luaL_checkinteger(L, 4), sw = luaL_checkinteger(L, 5);
  bool same = lua_toboolean(L, 6);
  ml_act a = check_act(L, 7, 8);
  int cache = cache_arg(L, 9);
  ml_window g = conv_window(L, x, w, sh, sw, same);
  float *ws = workspace(L, cache, "ws", ml_conv2d_workspace(&g, w->shape[3], ctx->threads));
  size_t nws = ml_conv2d_workspace(&g, w->shape[3], ctx->threads);
  int64_t ys[4] = {g.n, g.oh, g.ow, w->shape[3]};
  ml_tensor *y = cached(L, lua_toboolean(L, 10) ? cache : 0, "y", 4, ys);
  MLB_CHECK(L, ml_conv2d_forward(ctx, y, x, w, b, sh, sw, same, a, ws, nws));
  return 1;
}

/* nn_conv2d_backward(x, W, y, gy, sh, sw, same, act, alpha, pre, gW, gb, need_gx, cache) */
static int l_conv2d_backward(lua_State *L) {
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor *x = mlb_checkf32(L, 1, -1, NULL, NULL), *w = mlb_checkf32(L, 2, -1, NULL, NULL);
  ml_tensor *y = mlb_optf32(L, 3), *gy = mlb_checkf32(L, 4, -1, NULL, NULL);
  int64_t sh = luaL_checkinteger(L, 5), sw = luaL_checkinteger(L, 6);
  bool same = lua_toboolean(L, 7);
  ml_act a = check_act(L, 8, 9);
  bool pre = lua_toboolean(L, 10);
  ml_tensor *gw = mlb_checktensor(L, 11);
  ml_tensor *gb = lua_isnoneornil(L, 12) ? NULL : mlb_checktensor(L, 12);
  bool need_gx = lua_toboolean(L, 13);
  int cache = cache_arg(L, 14);
  ml_window g = conv_window(L, x, w, sh, sw, same);
  size_t nws = ml_conv2d_workspace(&g, w->shape[3], ctx->threads);
  float *ws = workspace(L, cache, "ws", nws);
  ml_tensor *gx = need_gx ? cached(L, cache, "gx", 4, x->shape) : NULL;
  MLB_CHECK(L, ml_conv2d_backward(ctx, gx, gw, gb, x, w, y, gy, sh, sw, same, a, pre, ws, nws));
  if (!gx) lua_pushnil(L);
  return 1;
}

/* nn_conv2d_ref(x, W, b, sh, sw, same) -> y (the plain-loop reference) */
static int l_conv2d_ref(lua_State *L) {
  ml_tensor *x = mlb_checkf32(L, 1, -1, NULL, NULL), *w = mlb_checkf32(L, 2, -1, NULL, NULL), *b = mlb_optf32(L, 3);
  int64_t sh = luaL_checkinteger(L, 4), sw = luaL_checkinteger(L, 5);
  bool same = lua_toboolean(L, 6);
  ml_window g = conv_window(L, x, w, sh, sw, same);
  int64_t ys[4] = {g.n, g.oh, g.ow, w->shape[3]};
  ml_tensor *y = cached(L, 0, "y", 4, ys);
  MLB_CHECK(L, ml_conv2d_ref(mlb_ctx(L), y, x, w, b, sh, sw, same));
  return 1;
}

/* ---- pooling ---- */

static bool check_pool_kind(lua_State *L, int idx) {
  static const char *const kinds[] = {"max", "avg", NULL};
  return luaL_checkoption(L, idx, NULL, kinds) == 0;
}

/* nn_pool2d_forward(x, "max"|"avg", kh, kw, sh, sw, same, cache, reuse) -> y */
static int l_pool2d_forward(lua_State *L) {
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor *x = mlb_checkf32(L, 1, -1, NULL, NULL);
  bool is_max = check_pool_kind(L, 2);
  int64_t kh = luaL_checkinteger(L, 3), kw = luaL_checkinteger(L, 4);
  int64_t sh = luaL_checkinteger(L, 5), sw = luaL_checkinteger(L, 6);
  bool same = lua_toboolean(L, 7);
  int cache = cache_arg(L, 8);
  ml_window g;
  MLB_CHECK(L, ml_window_init(ctx, &g, is_max ? "max_pooling2d" : "average_pooling2d", x,
                              kh, kw, sh, sw, same));
  int64_t ys[4] = {g.n, g.oh, g.ow, g.c};
  ml_tensor *y = cached(L, lua_toboolean(L, 9) ? cache : 0, "y", 4, ys);
  if (is_max) {
    /* argmax offsets: int32, stored in a float32 buffer of the same size */
    int32_t *arg = (int32_t *)workspace(L, cache, "arg", (size_t)ml_numel(y));
    MLB_CHECK(L, ml_maxpool2d_forward(ctx, y, arg, x, kh, kw, sh, sw, same));
  } else {
    MLB_CHECK(L, ml_avgpool2d_forward(ctx, y, x, kh, kw, sh, sw, same));
  }
  lua_pushvalue(L, -2 + !is_max);   /* y (below the workspace for max) */
  return 1;
}

/* nn_pool2d_backward(x, gy, kind, kh, kw, sh, sw, same, cache) -> gx */
static int l_pool2d_backward(lua_State *L) {
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor *x = mlb_checkf32(L, 1, -1, NULL, NULL), *gy = mlb_checkf32(L, 2, -1, NULL, NULL);
  bool is_max = check_pool_kind(L, 3);
  int64_t kh = luaL_checkinteger(L, 4), kw = luaL_checkinteger(L, 5);
  int64_t sh = luaL_checkinteger(L, 6), sw = luaL_checkinteger(L, 7);
  bool same = lua_toboolean(L, 8);
  int cache = cache_arg(L, 9);
  ml_window g;
  MLB_CHECK(L, ml_window_init(ctx, &g, "pool2d_backward", x, kh, kw, sh, sw, same));
  int64_t ys[4] = {g.n, g.oh, g.ow, g.c};
  if (!shape_is(gy, 4, ys)) {
    char a[96], b[96];
    return luaL_error(L, "pool2d_backward: expected an output gradient of shape %s, got %s",
                      ml_shape_str(a, sizeof a, 4, ys), ml_shape_str(b, sizeof b, gy->ndim, gy->shape));
  }
  ml_tensor *gx = cached(L, cache, "gx", 4, x->shape);
  if (is_max) {
    if (!cache) return luaL_error(L, "pool2d_backward: max pooling needs the forward's cache");
    lua_getfield(L, cache, "arg");
    ml_tensor *arg = mlb_totensor(L, -1);
    if (!arg || ml_numel(arg) < ml_numel(gy))
      return luaL_error(L, "max_pooling2d: backward called before forward");
    MLB_CHECK(L, ml_maxpool2d_backward(ctx, gx, gy, (const int32_t *)ml_f32(arg)));
    lua_pop(L, 1);
  } else {
    MLB_CHECK(L, ml_avgpool2d_backward(ctx, gx, gy, kh, kw, sh, sw, same));
  }
  return 1;
}

/* nn_gap2d_forward(x, cache, reuse) -> y */
static int l_gap2d_forward(lua_State *L) {
  ml_tensor *x = mlb_checkf32(L, 1, -1, NULL, NULL);
  if (x->ndim != 4) MLB_CHECK(L, ml_gap2d_forward(mlb_ctx(L), NULL, x));
  int64_t ys[2] = {x->shape[0], x->shape[3]};
  ml_tensor *y = cached(L, lua_toboolean(L, 3) ? cache_arg(L, 2) : 0, "y", 2, ys);
  MLB_CHECK(L, ml_gap2d_forward(mlb_ctx(L), y, x));
  return 1;
}

/* nn_gap2d_backward(x, gy, cache) -> gx */
static int l_gap2d_backward(lua_State *L) {
  ml_tensor *x = mlb_checktensor(L, 1), *gy = mlb_checkf32(L, 2, -1, NULL, NULL);
  ml_tensor *gx = cached(L, cache_arg(L, 3), "gx", x->ndim, x->shape);
  MLB_CHECK(L, ml_gap2d_backward(mlb_ctx(L), gx, gy));
  return 1;
}

/* ---- BatchNormalization ---- */

/* nn_batchnorm_forward(x, gamma, beta, mm, mv, momentum, eps, training, cache, reuse) -> y */
static int l_batchnorm_forward(lua_State *L) {
  ml_tensor *x = mlb_checkf32(L, 1, -1, NULL, NULL), *gamma = mlb_optf32(L, 2), *beta = mlb_optf32(L, 3);
  ml_tensor *mm = mlb_checktensor(L, 4), *mv = mlb_checktensor(L, 5);
  double momentum = luaL_checknumber(L, 6), eps = luaL_checknumber(L, 7);
  bool training = lua_toboolean(L, 8);
  int cache = cache_arg(L, 9);
  if (!cache) return luaL_error(L, "batch_normalization: a cache table is required");
  int64_t c = x->ndim ? x->shape[x->ndim - 1] : 1;
  float *stats = workspace(L, cache, "stats", (size_t)(2 * c));
  ml_tensor *y = cached(L, lua_toboolean(L, 10) ? cache : 0, "y", x->ndim, x->shape);
  MLB_CHECK(L, ml_batchnorm_forward(mlb_ctx(L), y, x, gamma, beta, mm, mv, momentum, eps,
                                    training, stats, stats + c));
  lua_pushboolean(L, training);
  lua_setfield(L, cache, "training");
  return 1;
}

/* nn_batchnorm_backward(x, gy, gamma, ggamma, gbeta, cache) -> gx */
static int l_batchnorm_backward(lua_State *L) {
  ml_tensor *x = mlb_checkf32(L, 1, -1, NULL, NULL), *gy = mlb_checkf32(L, 2, -1, NULL, NULL), *gamma = mlb_optf32(L, 3);
  ml_tensor *gg = lua_isnoneornil(L, 4) ? NULL : mlb_checktensor(L, 4);
  ml_tensor *gb = lua_isnoneornil(L, 5) ? NULL : mlb_checktensor(L, 5);
  int cache = cache_arg(L, 6);
  if (!cache) return luaL_error(L, "batch_normalization: a cache table is required");
  int64_t c = x->ndim ? x->shape[x->ndim - 1] : 1;
  lua_getfield(L, cache, "stats");
  ml_tensor *st = mlb_totensor(L, -1);
  if (!st || ml_numel(st) < 2 * c)
    return luaL_error(L, "batch_normalization: backward called before forward");
  lua_getfield(L, cache, "training");
  bool training = lua_toboolean(L, -1);
  lua_pop(L, 1);
  ml_tensor *gx = cached(L, cache, "gx", x->ndim, x->shape);
  MLB_CHECK(L, ml_batchnorm_backward(mlb_ctx(L), gx, gg, gb, x, gy, gamma, ml_f32(st),
                                     ml_f32(st) + c, training));
  return 1;
}

/* ---- Dropout ---- */

/* nn_dropout_forward(x, rate, cache, reuse) -> y; the mask stays in cache */
static int l_dropout_forward(lua_State *L) {
  ml_tensor *x = mlb_checkf32(L, 1, -1, NULL, NULL);
  double rate = luaL_checknumber(L, 2);
  int cache = cache_arg(L, 3);
  if (!cache) return luaL_error(L, "dropout: a cache table is required");
  ml_tensor *mask = cached(L, cache, "mask", x->ndim, x->shape);
  ml_tensor *y = cached(L, lua_toboolean(L, 4) ? cache : 0, "y", x->ndim, x->shape);
  MLB_CHECK(L, ml_dropout_forward(mlb_ctx(L), y, mask, x, rate));
  return 1;
}

/* nn_dropout_backward(gy, cache) -> gx */
static int l_dropout_backward(lua_State *L) {
  ml_tensor *gy = mlb_checkf32(L, 1, -1, NULL, NULL);
  int cache = cache_arg(L, 2);
  if (!cache) return luaL_error(L, "dropout: a cache table is required");
  lua_getfield(L, cache, "mask");
  ml_tensor *mask = mlb_totensor(L, -1);
  if (!mask) return luaL_error(L, "dropout: backward called before a training forward");
  ml_tensor *gx = cached(L, cache, "gx", gy->ndim, gy->shape);
  MLB_CHECK(L, ml_dropout_backward(mlb_ctx(L), gx, gy, mask));
  return 1;
}

/* ---- losses ---- */

/* nn_loss(name, pred, target, want_grad) -> value, grad | nil */
static int l_loss(lua_State *L) {
  ml_ctx *ctx = mlb_ctx(L);
  ml_loss_kind k;
  MLB_CHECK(L, ml_loss_parse(ctx, luaL_checkstring(L, 1), &k));
  ml_tensor *p = mlb_checkf32(L, 2, -1, NULL, NULL), *t = mlb_checktensor(L, 3);
  ml_tensor *g = lua_toboolean(L, 4) ? cached(L, 0, "g", p->ndim, p->shape) : NULL;
  double v;
  MLB_CHECK(L, ml_loss_eval(ctx, k, &v, g, p, t));
  lua_pushnumber(L, v);
  if (g) lua_insert(L, -2); else lua_pushnil(L);
  return 2;
}

static int fused(lua_State *L, bool softmax) {
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor *p = mlb_checkf32(L, 1, -1, NULL, NULL), *t = mlb_checktensor(L, 2);
  ml_tensor *g = lua_toboolean(L, 3) ? cached(L, 0, "g", p->ndim, p->shape) : NULL;
  double v;
  MLB_CHECK(L, softmax ? ml_softmax_xent(ctx, &v, g, p, t) : ml_sigmoid_xent(ctx, &v, g, p, t));
  lua_pushnumber(L, v);
  if (g) lua_insert(L, -2); else lua_pushnil(L);
  return 2;
}
/* nn_softmax_xent(p, target, want_grad) -> value, grad w.r.t. logits */
static int l_softmax_xent(lua_State *L) { return fused(L, true); }
static int l_sigmoid_xent(lua_State *L) { return fused(L, false); }

/* ---- initializers ---- */

/* nn_init(t, name, fan_in, fan_out) -> t */
static int l_init(lua_State *L) {
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor *t = mlb_checktensor(L, 1);
  ml_init_kind k;
  MLB_CHECK(L, ml_init_parse(ctx, luaL_checkstring(L, 2), &k));
  MLB_CHECK(L, ml_init_fill(ctx, t, k, luaL_checknumber(L, 3), luaL_checknumber(L, 4)));
  lua_settop(L, 1);
  return 1;
}

/* nn_truncated_normal(t, sd) -> t */
static int l_truncated_normal(lua_State *L) {
  ml_tensor *t = mlb_checktensor(L, 1);
  MLB_CHECK(L, ml_nn_check_f32(mlb_ctx(L), "truncated_normal", "tensor", t));
  ml_fill_truncated_normal(mlb_ctx(L), t, luaL_checknumber(L, 2));
  lua_settop(L, 1);
  return 1;
}

static const luaL_Reg nn_funcs[] = {
  {"act_forward", l_act_forward}, {"act_backward", l_act_backward},
  {"dense_forward", l_dense_forward}, {"dense_backward", l_dense_backward},
  {"conv2d_forward", l_conv2d_forward}, {"conv2d_backward", l_conv2d_backward},
  {"conv2d_ref", l_conv2d_ref},
  {"pool2d_forward", l_pool2d_forward}, {"pool2d_backward", l_pool2d_backward},
  {"gap2d_forward", l_gap2d_forward}, {"gap2d_backward", l_gap2d_backward},
  {"batchnorm_forward", l_batchnorm_forward}, {"batchnorm_backward", l_batchnorm_backward},
  {"dropout_forward", l_dropout_forward}, {"dropout_backward", l_dropout_backward},
  {"loss", l_loss}, {"softmax_xent", l_softmax_xent}, {"sigmoid_xent", l_sigmoid_xent},
  {"init", l_init}, {"truncated_normal", l_truncated_normal},
  {NULL, NULL}};

void mlb_open_nn(lua_State *L) {
  mlb_register(L, nn_funcs);
}
