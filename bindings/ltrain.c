/* ltrain.c - bindings of the training-loop helpers (runtime/train/): batch
 * gathering into reused buffers, the fused softmax + cross-entropy, accuracy
 * counts. Used by ml.nn.trainer and ml.data. */
#include "mlb.h"
#include "../runtime/train/train.h"
#include <stdlib.h>

/* gather_rows(dst, src, idx, start, n): dst[1..n] = src[idx[start] .. idx[start+n-1]]
 * with idx an int64 tensor of 1-based rows (a permutation, as ml.randperm gives). */
static int l_gather_rows(lua_State *L) {
  ml_tensor *dst = mlb_checktensor(L, 1), *src = mlb_checktensor(L, 2);
  ml_tensor *idx = mlb_checktensor(L, 3);
  lua_Integer start = luaL_checkinteger(L, 4), n = luaL_checkinteger(L, 5);
  if (idx->dtype != ML_I64 || idx->ndim != 1 || !ml_is_contiguous(idx))
    return luaL_error(L, "gather_rows: indices must be a contiguous 1-D int64 tensor");
  if (start < 1 || n < 0 || start - 1 + n > idx->shape[0])
    return luaL_error(L, "gather_rows: rows %d..%d outside the %d indices", (int)start,
                      (int)(start + n - 1), (int)idx->shape[0]);
  MLB_CHECK(L, ml_train_gather(mlb_ctx(L), dst, src, ml_i64(idx) + start - 1, n, 1));
  return 0;
}

/* softmax_xent(p, y [, grad]) -> loss, correct */
static int l_softmax_xent(lua_State *L) {
  ml_tensor *p = mlb_checktensor(L, 1), *y = mlb_checktensor(L, 2);
  ml_tensor *g = lua_isnoneornil(L, 3) ? NULL : mlb_checktensor(L, 3);
  double loss;
  int64_t correct;
  MLB_CHECK(L, ml_train_xent(mlb_ctx(L), g, p, y, &loss, &correct));
  lua_pushnumber(L, loss);
  lua_pushinteger(L, (lua_Integer)correct);
  return 2;
}

/* count_correct(p, y) -> rows predicted right */
static int l_count_correct(lua_State *L) {
  int64_t c;
  MLB_CHECK(L, ml_train_correct(mlb_ctx(L), mlb_checktensor(L, 1), mlb_checktensor(L, 2), &c));
  lua_pushinteger(L, (lua_Integer)c);
  return 1;
}

static const luaL_Reg functions[] = {
  {"gather", l_gather_rows}, {"xent", l_softmax_xent},
  {"correct", l_count_correct}, {NULL, NULL}};

void mlb_open_train(lua_State *L) { mlb_register(L, functions); }
