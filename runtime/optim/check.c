/* check.c - argument checks and work splitting shared by the update kernels. */
#include "optim.h"

int ml_optim_check(ml_ctx *ctx, const char *who, const ml_tensor *param,
                   const ml_tensor *const *others, const char *const *names, int n) {
  char a[64], b[64];
  if (param->dtype != ML_F32 || !ml_is_contiguous(param))
    return ml_error(ctx, "%s: parameter must be a contiguous float32 tensor", who);
  for (int i = 0; i < n; i++) {
    const ml_tensor *t = others[i];
    if (!t) continue;
    if (t->dtype != ML_F32 || !ml_is_contiguous(t))
      return ml_error(ctx, "%s: %s must be a contiguous float32 tensor", who, names[i]);
    bool same = t->ndim == param->ndim;
    for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == param->shape[d];
    if (!same)
      return ml_error(ctx, "%s: %s has shape %s but the parameter has shape %s", who,
                      names[i], ml_shape_str(a, sizeof a, t->ndim, t->shape),
                      ml_shape_str(b, sizeof b, param->ndim, param->shape));
  }
  return ML_OK;
}

void ml_optim_split(int64_t n, int t, int k, int64_t *lo, int64_t *hi) {
  int64_t q = n / k, r = n % k;
  *lo = t * q + (t < r ? t : r);
  *hi = *lo + q + (t < r);
}
