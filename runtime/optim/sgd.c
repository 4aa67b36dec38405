/* sgd.c - stochastic gradient descent with momentum, Nesterov momentum and
 * L2 weight decay, fused into one pass. */
#include "optim.h"
#include "../dispatch.h"
#include <omp.h>

typedef struct { float *p, *v; const float *g; float lr, mu, wd; bool nesterov; } sgd_args;

/* Elements lo..hi-1: the fused update. */
ML_HOT static void sgd_range(const sgd_args *a, int64_t lo, int64_t hi) {
  float *p = a->p, *v = a->v;
  const float *g = a->g;
  const float lr = a->lr, mu = a->mu, wd = a->wd;
  if (v) {
    for (int64_t i = lo; i < hi; i++) {
      float gi = g[i] + wd * p[i];
      float vi = mu * v[i] + gi;
      v[i] = vi;
      p[i] -= lr * (a->nesterov ? gi + mu * vi : vi);
    }
  } else {
    for (int64_t i = lo; i < hi; i++) p[i] -= lr * (g[i] + wd * p[i]);
  }
}

int ml_sgd_step(ml_ctx *ctx, ml_tensor *param, const ml_tensor *grad, ml_tensor *velocity,
                double lr, double momentum, bool nesterov, double weight_decay) {
  const ml_tensor *ts[] = {grad, velocity};
  const char *names[] = {"gradient", "velocity"};
  if (ml_optim_check(ctx, "sgd", param, ts, names, 2)) return ML_ERR;
  if (momentum > 0 && !velocity)
    return ml_error(ctx, "sgd: momentum %g needs a velocity tensor", momentum);
  sgd_args a = {ml_f32(param), momentum > 0 ? ml_f32(velocity) : NULL, ml_f32(grad),
                (float)lr, (float)momentum, (float)weight_decay, nesterov};
  int64_t n = ml_numel(param);
  int nt = n >= ML_OPTIM_PAR ? ctx->threads : 1;
  if (nt <= 1) { sgd_range(&a, 0, n); return ML_OK; }
  #pragma omp parallel num_threads(nt)
  {
    int64_t lo, hi;
    ml_optim_split(n, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
    sgd_range(&a, lo, hi);
  }
  return ML_OK;
}
