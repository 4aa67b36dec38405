/* estim.h - argument helpers shared by the classic-estimator bindings
 * (lestim_linear.c, lestim_svm.c): contiguous float32 matrices, label vectors, finiteness. */
#ifndef MLB_ESTIM_H
#define MLB_ESTIM_H
#include "mlb.h"

/* Same for int64 class ids (1-D). */
static inline ml_tensor *mlb_estim_ids(lua_State *L, int idx, const char *who, int64_t n) {
  ml_tensor *t = mlb_checktensor(L, idx), c, f;
  if (t->ndim != 1 || t->shape[0] != n)
    luaL_error(L, "%s: expected %I class ids", who, (lua_Integer)n);
  MLB_CHECK(L, ml_to_dtype(mlb_ctx(L), &f, t, ML_I64));
  int rc = ml_contiguous(mlb_ctx(L), &c, &f);
  ml_tensor_release(&f);
  if (rc) mlb_fail(L);
  return mlb_pushtensor(L, &c);
}

/* Raises when a float32 tensor holds NaN or infinity (naming the position). */
static inline void mlb_estim_finite(lua_State *L, const ml_tensor *t, const char *who,
                                    const char *what) {
  MLB_CHECK(L, ml_check_finite(mlb_ctx(L), t, who, what));
}

/* A new float32 tensor of the given shape, pushed on the stack. */
static inline ml_tensor *mlb_estim_new(lua_State *L, int ndim, int64_t d0, int64_t d1) {
  int64_t shape[2] = {d0, d1};
  ml_tensor t;
  MLB_CHECK(L, ml_tensor_new(mlb_ctx(L), &t, ML_F32, ndim, shape, true));
  return mlb_pushtensor(L, &t);
}

static inline ml_tensor *mlb_estim_new_i64(lua_State *L, int64_t n) {
  ml_tensor t;
  MLB_CHECK(L, ml_tensor_new(mlb_ctx(L), &t, ML_I64, 1, &n, true));
  return mlb_pushtensor(L, &t);
}
#endif
