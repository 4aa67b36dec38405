/* sgd.c - stochastic gradient descent with momentum, Nesterov momentum and
 * L2 weight decay, fused into one pass. */
#include "optim.h"

int ml_sgd_step(ml_ctx *ctx, ml_tensor *param, const ml_tensor *grad, ml_tensor *velocity,
                double lr, double momentum, bool nesterov, double weight_decay) {
  const ml_tensor *ts[] = {grad, velocity};
  const char *names[] = {"gradient", "velocity"};
  if (ml_optim_check(ctx, "sgd", param, ts, names, 2)) return ML_ERR;
  if (momentum > 0 && !velocity)
    return ml_error(ctx, "sgd: momentum %g needs a velocity tensor", momentum);
  float *p = ml_f32(param), *v = velocity ? ml_f32(velocity) : NULL;
  const float *g = ml_f32(grad);
  const float flr = (float)lr, mu = (float)momentum, wd = (float)weight_decay;
  int64_t n = ml_numel(param);
  int nt = n >= ML_OPTIM_PAR ? ctx->threads : 1;
  if (momentum > 0) {
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; i++) {
      float gi = g[i] + wd * p[i];
      float vi = mu * v[i] + gi;
      v[i] = vi;
      p[i] -= flr * (nesterov ? gi + mu * vi : vi);
    }
  } else {
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; i++) p[i] -= flr * (g[i] + wd * p[i]);
  }
  return ML_OK;
}
