/* adam.c - Adam (Kingma & Ba) in Keras's form, optionally AMSGrad. */
#include "optim.h"
#include "../dispatch.h"
#include <math.h>
#include <omp.h>

typedef struct {
  float *p, *m, *v, *vmax;
  const float *g;
  float b1, b2, c1, c2, e, alpha;
} adam_args;

ML_HOT static void adam_range(const adam_args *a, int64_t lo, int64_t hi) {
  float *p = a->p, *pm = a->m, *pv = a->v, *px = a->vmax;
  const float *g = a->g;
  const float b1 = a->b1, b2 = a->b2, c1 = a->c1, c2 = a->c2, e = a->e, alpha = a->alpha;
  for (int64_t i = lo; i < hi; i++) {
    float gi = g[i];
    float mi = b1 * pm[i] + c1 * gi;
    float vi = b2 * pv[i] + c2 * gi * gi;
    pm[i] = mi;
    pv[i] = vi;
    if (px) { if (vi > px[i]) px[i] = vi; else vi = px[i]; }
    p[i] -= alpha * mi / (sqrtf(vi) + e);
  }
}

int ml_adam_step(ml_ctx *ctx, ml_tensor *param, const ml_tensor *grad, ml_tensor *m,
                 ml_tensor *v, ml_tensor *vmax, double lr, double beta1, double beta2,
                 double eps, int64_t t) {
  const ml_tensor *ts[] = {grad, m, v, vmax};
  const char *names[] = {"gradient", "first moment", "second moment", "max second moment"};
  if (ml_optim_check(ctx, "adam", param, ts, names, 4)) return ML_ERR;
  if (!m || !v) return ml_error(ctx, "adam: moment tensors are required");
  if (t < 1) return ml_error(ctx, "adam: step count must be >= 1, got %lld", (long long)t);
  adam_args a = {ml_f32(param), ml_f32(m), ml_f32(v), vmax ? ml_f32(vmax) : NULL, ml_f32(grad),
                 (float)beta1, (float)beta2, (float)(1 - beta1), (float)(1 - beta2), (float)eps,
                 (float)(lr * sqrt(1 - pow(beta2, (double)t)) / (1 - pow(beta1, (double)t)))};
  int64_t n = ml_numel(param);
  int nt = n >= ML_OPTIM_PAR ? ctx->threads : 1;
  if (nt <= 1) { adam_range(&a, 0, n); return ML_OK; }
  #pragma omp parallel num_threads(nt)
  {
    int64_t lo, hi;
    ml_optim_split(n, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
    adam_range(&a, lo, hi);
  }
  return ML_OK;
}
