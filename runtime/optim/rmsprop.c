/* rmsprop.c - RMSprop (Hinton) in Keras's form: plain, centered, with momentum. */
#include "optim.h"
#include "../dispatch.h"
#include <math.h>
#include <omp.h>

typedef struct { float *p, *s, *a, *b; const float *g; float r, c, lr, mu, e; } rms_args;

ML_HOT static void rms_range(const rms_args *x, int64_t lo, int64_t hi) {
  float *p = x->p, *s = x->s, *a = x->a, *b = x->b;
  const float *g = x->g;
  const float r = x->r, c = x->c, flr = x->lr, mu = x->mu, e = x->e;
  for (int64_t i = lo; i < hi; i++) {
    float gi = g[i];
    float si = r * s[i] + c * gi * gi;
    s[i] = si;
    float den = si + e;
    if (a) { float ai = r * a[i] + c * gi; a[i] = ai; den -= ai * ai; }
    float inc = flr * gi / sqrtf(den);
    if (b) { b[i] = mu * b[i] + inc; p[i] -= b[i]; }
    else p[i] -= inc;
  }
}

int ml_rmsprop_step(ml_ctx *ctx, ml_tensor *param, const ml_tensor *grad, ml_tensor *sq,
                    ml_tensor *avg, ml_tensor *mom, double lr, double rho, double momentum,
                    double eps) {
  const ml_tensor *ts[] = {grad, sq, avg, mom};
  const char *names[] = {"gradient", "mean square", "mean gradient", "momentum"};
  if (ml_optim_check(ctx, "rmsprop", param, ts, names, 4)) return ML_ERR;
  if (!sq) return ml_error(ctx, "rmsprop: the mean-square tensor is required");
  if (momentum > 0 && !mom)
    return ml_error(ctx, "rmsprop: momentum %g needs a momentum tensor", momentum);
  rms_args x = {ml_f32(param), ml_f32(sq), avg ? ml_f32(avg) : NULL,
                momentum > 0 ? ml_f32(mom) : NULL, ml_f32(grad), (float)rho, (float)(1 - rho),
                (float)lr, (float)momentum, (float)eps};
  int64_t n = ml_numel(param);
  int nt = n >= ML_OPTIM_PAR ? ctx->threads : 1;
  if (nt <= 1) { rms_range(&x, 0, n); return ML_OK; }
  #pragma omp parallel num_threads(nt)
  {
    int64_t lo, hi;
    ml_optim_split(n, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
    rms_range(&x, lo, hi);
  }
  return ML_OK;
}
