/* adagrad.c - Adagrad (Duchi et al.) in Keras's form. */
#include "optim.h"
#include "../dispatch.h"
#include <math.h>
#include <omp.h>

typedef struct { float *p, *s; const float *g; float lr, e; } adagrad_args;

ML_HOT static void adagrad_range(const adagrad_args *a, int64_t lo, int64_t hi) {
  float *p = a->p, *s = a->s;
  const float *g = a->g;
  const float flr = a->lr, e = a->e;
  for (int64_t i = lo; i < hi; i++) {
    float gi = g[i];
    float si = s[i] + gi * gi;
    s[i] = si;
    p[i] -= flr * gi / sqrtf(si + e);
  }
}

int ml_adagrad_step(ml_ctx *ctx, ml_tensor *param, const ml_tensor *grad, ml_tensor *acc,
                    double lr, double eps) {
  const ml_tensor *ts[] = {grad, acc};
  const char *names[] = {"gradient", "accumulator"};
  if (ml_optim_check(ctx, "adagrad", param, ts, names, 2)) return ML_ERR;
  if (!acc) return ml_error(ctx, "adagrad: the accumulator tensor is required");
  adagrad_args a = {ml_f32(param), ml_f32(acc), ml_f32(grad), (float)lr, (float)eps};
  int64_t n = ml_numel(param);
  int nt = n >= ML_OPTIM_PAR ? ctx->threads : 1;
  if (nt <= 1) { adagrad_range(&a, 0, n); return ML_OK; }
  #pragma omp parallel num_threads(nt)
  {
    int64_t lo, hi;
    ml_optim_split(n, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
    adagrad_range(&a, lo, hi);
  }
  return ML_OK;
}
