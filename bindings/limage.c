/* limage.c - Lua bindings of PNG and JPEG files and the image kernels (ml.image uses
 * them; its Lua front in stdlib/ml/image.lua checks options and shapes). */
#include "mlb.h"
#include "../runtime/io/io.h"
#include "../runtime/data/data.h"
#include "../runtime/image/image.h"
#include <stdlib.h>
#include <string.h>

/* core.image_load(path) -> H x W x C float32 in [0, 1]; PNG or JPEG, told
 * apart by their first bytes (not by the file name). */
static int l_load(lua_State *L) {
  const char *fname = luaL_checkstring(L, 1);
  ml_ctx *ctx = mlb_ctx(L);
  ml_map m;
  MLB_CHECK(L, ml_map_file(ctx, &m, fname, "image.load"));
  ml_tensor t;
  const uint8_t *b = m.data;
  int rc;
  if (m.size >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
    rc = ml_jpeg_read(ctx, &t, m.data, m.size, "image.load");
  else if (m.size >= 8 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G')
    rc = ml_png_read(ctx, &t, m.data, m.size, "image.load");
  else
    rc = ml_error(ctx, "image.load: not a PNG or JPEG file (unknown signature)");
  ml_map_free(&m);
  if (rc) return luaL_error(L, "%s (in '%s')", ctx->err, fname);
  mlb_pushtensor(L, &t);
  return 1;
}

/* core.image_save(path, img, format, n): format "png" (n: bits, 8 or 16)
 * or "jpeg" (n: quality, 1..100) */
static int l_save(lua_State *L) {
  static const char *const formats[] = {"png", "jpeg", NULL};
  const char *fname = luaL_checkstring(L, 1);
  ml_tensor *t = mlb_checktensor(L, 2);
  int jpeg = luaL_checkoption(L, 3, "png", formats);
  int n = (int)luaL_checkinteger(L, 4);
  if (jpeg) MLB_CHECK(L, ml_jpeg_save(mlb_ctx(L), fname, t, n));
  else MLB_CHECK(L, ml_png_save(mlb_ctx(L), fname, t, n));
  return 0;
}

static int l_resize(lua_State *L) {
  ml_tensor out;
  MLB_CHECK(L, ml_image_resize(mlb_ctx(L), &out, mlb_checktensor(L, 1), luaL_checkinteger(L, 2),
                               luaL_checkinteger(L, 3)));
  mlb_pushtensor(L, &out);
  return 1;
}

/* Value number i (0-based) of a per-image parameter: a number (shared) or a
 * tensor / list of n numbers. */
static double param(lua_State *L, int idx, int64_t i) {
  if (lua_isnumber(L, idx)) return lua_tonumber(L, idx);
  ml_tensor *t = mlb_totensor(L, idx);
  if (t) {
    return ml_get(t, ml_offset_of(t, i));
  }
  lua_rawgeti(L, idx, (lua_Integer)i + 1);
  double v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return v;
}

/* Number of values of a per-image parameter: -1 for a number (shared by all
 * images); an empty tensor or list counts 0 and must match an empty batch. */
static int64_t param_count(lua_State *L, int idx, const char *name) {
  if (lua_isnumber(L, idx)) return -1;
  ml_tensor *t = mlb_totensor(L, idx);
  if (t) {
    if (t->ndim != 1) luaL_error(L, "image: %s must be a number or a 1-D tensor", name);
    return t->shape[0];
  }
  if (!lua_istable(L, idx)) luaL_error(L, "image: %s must be a number, a tensor or a list, got %s",
                                       name, luaL_typename(L, idx));
  lua_Integer n = luaL_len(L, idx);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    if (!lua_isnumber(L, -1)) luaL_error(L, "image: %s[%d] is not a number", name, (int)i);
    lua_pop(L, 1);
  }
  return n;
}

static int64_t batch_size(const ml_tensor *t) { return t->ndim == 4 ? t->shape[0] : 1; }

/* core.image_flip(img, horizontal, vertical [, mask]) */
static int l_flip(lua_State *L) {
  ml_tensor *t = mlb_checktensor(L, 1);
  bool h = lua_toboolean(L, 2), v = lua_toboolean(L, 3);
  uint8_t *mask = NULL;
  int64_t nm = 0;
  if (!lua_isnoneornil(L, 4)) {
    nm = param_count(L, 4, "mask");
    if (nm < 0) nm = 1;
    if (nm != batch_size(t))
      return luaL_error(L, "image.flip: expected %d mask values (one per image), got %d",
                        (int)batch_size(t), (int)nm);
    mask = lua_newuserdatauv(L, (size_t)nm + 1, 0);
    for (int64_t i = 0; i < nm; i++) mask[i] = param(L, 4, i) != 0;
  }
  ml_tensor out;
  MLB_CHECK(L, ml_image_flip(mlb_ctx(L), &out, t, h, v, mask, mask ? nm : 0));
  mlb_pushtensor(L, &out);
  return 1;
}

/* core.image_warp(img, {degrees, shear, sx, sy, dx, dy}, fill, mode): each
 * entry a number or one value per image of a batch (ml_affine's fields). */
static int l_warp(lua_State *L) {
  static const char *const modes[] = {"constant", "nearest", "reflect", "wrap", NULL};
  static const char *const names[6] = {"degrees", "shear", "sx", "sy", "dx", "dy"};
  ml_tensor *t = mlb_checktensor(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  float fill = (float)luaL_checknumber(L, 3);
  ml_pad_mode mode = (ml_pad_mode)luaL_checkoption(L, 4, "constant", modes);
  if (t->ndim < 2) return luaL_error(L, "image: expected an image, got a %d-D tensor", t->ndim);
  int64_t n = batch_size(t);
  bool each = false;
  for (int k = 0; k < 6; k++) {         /* the six values sit at stack slots 5..10 */
    lua_rawgeti(L, 2, k + 1);
    int64_t cnt = param_count(L, 5 + k, names[k]);   /* -1: a number, shared */
    if (cnt >= 0 && cnt != n)
      return luaL_error(L, "image: expected %I %s values (one per image), got %I",
                        (lua_Integer)n, names[k], (lua_Integer)cnt);
    if (cnt >= 0) each = true;
  }
  int64_t nm = each ? n : 1;
  double *mats = lua_newuserdatauv(L, sizeof(double) * 6 * (size_t)(nm ? nm : 1), 0);
  int64_t h = t->ndim == 4 ? t->shape[1] : t->shape[0], w = t->ndim == 4 ? t->shape[2] : t->shape[1];
  for (int64_t i = 0; i < nm; i++) {
    ml_affine a = {param(L, 5, i), param(L, 6, i), param(L, 7, i), param(L, 8, i), param(L, 9, i),
                   param(L, 10, i)};
    if (!(a.sx > 0) || !(a.sy > 0))
      return luaL_error(L, "image: scale must be > 0, got %f x %f", a.sx, a.sy);
    ml_image_affine_params(mats + 6 * i, h, w, &a);
  }
  ml_tensor out;
  MLB_CHECK(L, ml_image_warp(mlb_ctx(L), &out, t, mats, nm, fill, mode));
  mlb_pushtensor(L, &out);
  return 1;
}

/* core.image_filter(img, kernel, flip, mode) */
static int l_filter(lua_State *L) {
  static const char *const modes[] = {"constant", "nearest", "reflect", "wrap", NULL};
  ml_tensor *t = mlb_checktensor(L, 1), *k = mlb_checktensor(L, 2);
  bool flip = lua_toboolean(L, 3);
  int mode = luaL_checkoption(L, 4, "constant", modes);
  ml_tensor out;
  MLB_CHECK(L, ml_image_filter(mlb_ctx(L), &out, t, k, flip, (ml_pad_mode)mode));
  mlb_pushtensor(L, &out);
  return 1;
}

static int l_rgb2gray(lua_State *L) {
  ml_tensor out;
  MLB_CHECK(L, ml_image_rgb2gray(mlb_ctx(L), &out, mlb_checktensor(L, 1)));
  mlb_pushtensor(L, &out);
  return 1;
}

void mlb_open_image(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"load", l_load}, {"save", l_save}, {"resize", l_resize},
    {"flip", l_flip}, {"warp", l_warp}, {"filter", l_filter},
    {"rgb2gray", l_rgb2gray}, {NULL, NULL}};
  mlb_register(L, fns);
}
