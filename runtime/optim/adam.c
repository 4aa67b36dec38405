/* adam.c - Adam (Kingma & Ba) in Keras's form, optionally AMSGrad. */
#include "optim.h"
#include <math.h>

int ml_adam_step(ml_ctx *ctx, ml_tensor *param, const ml_tensor *grad, ml_tensor *m,
                 ml_tensor *v, ml_tensor *vmax, double lr, double beta1, double beta2,
                 double eps, int64_t t) {
  const ml_tensor *ts[] = {grad, m, v, vmax};
  const char *names[] = {"gradient", "first moment", "second moment", "max second moment"};
  if (ml_optim_check(ctx, "adam", param, ts, names, 4)) return ML_ERR;
  if (!m || !v) return ml_error(ctx, "adam: moment tensors are required");
  if (t < 1) return ml_error(ctx, "adam: step count must be >= 1, got %lld", (long long)t);
  float *p = ml_f32(param), *pm = ml_f32(m), *pv = ml_f32(v);
  float *px = vmax ? ml_f32(vmax) : NULL;
  const float *g = ml_f32(grad);
  const float b1 = (float)beta1, b2 = (float)beta2, e = (float)eps;
  const float c1 = (float)(1 - beta1), c2 = (float)(1 - beta2);
  const float alpha = (float)(lr * sqrt(1 - pow(beta2, (double)t)) / (1 - pow(beta1, (double)t)));
  int64_t n = ml_numel(param);
  int nt = n >= ML_OPTIM_PAR ? ctx->threads : 1;
  #pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float gi = g[i];
    float mi = b1 * pm[i] + c1 * gi;
    float vi = b2 * pv[i] + c2 * gi * gi;
    pm[i] = mi;
    pv[i] = vi;
    if (px) { if (vi > px[i]) px[i] = vi; else vi = px[i]; }
    p[i] -= alpha * mi / (sqrtf(vi) + e);
  }
  return ML_OK;
}
