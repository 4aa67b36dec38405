/* rmsprop.c - RMSprop (Hinton) in Keras's form: plain, centered, with momentum. */
#include "optim.h"
#include <math.h>

int ml_rmsprop_step(ml_ctx *ctx, ml_tensor *param, const ml_tensor *grad, ml_tensor *sq,
                    ml_tensor *avg, ml_tensor *mom, double lr, double rho, double momentum,
                    double eps) {
  const ml_tensor *ts[] = {grad, sq, avg, mom};
  const char *names[] = {"gradient", "mean square", "mean gradient", "momentum"};
  if (ml_optim_check(ctx, "rmsprop", param, ts, names, 4)) return ML_ERR;
  if (!sq) return ml_error(ctx, "rmsprop: the mean-square tensor is required");
  if (momentum > 0 && !mom)
    return ml_error(ctx, "rmsprop: momentum %g needs a momentum tensor", momentum);
  float *p = ml_f32(param), *s = ml_f32(sq);
  float *a = avg ? ml_f32(avg) : NULL, *b = momentum > 0 ? ml_f32(mom) : NULL;
  const float *g = ml_f32(grad);
  const float r = (float)rho, c = (float)(1 - rho), flr = (float)lr, mu = (float)momentum,
              e = (float)eps;
  int64_t n = ml_numel(param);
  int nt = n >= ML_OPTIM_PAR ? ctx->threads : 1;
  #pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float gi = g[i];
    float si = r * s[i] + c * gi * gi;
    s[i] = si;
    float den = si + e;
    if (a) { float ai = r * a[i] + c * gi; a[i] = ai; den -= ai * ai; }
    float inc = flr * gi / sqrtf(den);
    if (b) { b[i] = mu * b[i] + inc; p[i] -= b[i]; }
    else p[i] -= inc;
  }
  return ML_OK;
}
