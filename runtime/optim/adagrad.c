/* adagrad.c - Adagrad (Duchi et al.) in Keras's form. */
#include "optim.h"
#include <math.h>

int ml_adagrad_step(ml_ctx *ctx, ml_tensor *param, const ml_tensor *grad, ml_tensor *acc,
                    double lr, double eps) {
  const ml_tensor *ts[] = {grad, acc};
  const char *names[] = {"gradient", "accumulator"};
  if (ml_optim_check(ctx, "adagrad", param, ts, names, 2)) return ML_ERR;
  if (!acc) return ml_error(ctx, "adagrad: the accumulator tensor is required");
  float *p = ml_f32(param), *s = ml_f32(acc);
  const float *g = ml_f32(grad);
  const float flr = (float)lr, e = (float)eps;
  int64_t n = ml_numel(param);
  int nt = n >= ML_OPTIM_PAR ? ctx->threads : 1;
  #pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float gi = g[i];
    float si = s[i] + gi * gi;
    s[i] = si;
    p[i] -= flr * gi / sqrtf(si + e);
  }
  return ML_OK;
}
