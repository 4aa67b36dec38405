/* threads.h - how many threads a problem deserves. Tiny problems run on the
 * calling thread: waking OpenMP and OpenBLAS threads costs more than the work,
 * and far more on a loaded machine. The public entry points of the estimators
 * in this folder lower ctx->threads for the call and restore it after. */
#ifndef ML_ESTIM_THREADS_H
#define ML_ESTIM_THREADS_H
#include "../ml.h"

#define ML_PARALLEL_WORK 4e6   /* multiply-adds below which one thread is used */

static inline int ml_threads_push(ml_ctx *ctx, double work) {
  int saved = ctx->threads;
  if (work < ML_PARALLEL_WORK) ctx->threads = 1;
  return saved;
}
static inline int ml_threads_pop(ml_ctx *ctx, int saved, int rc) {
  ctx->threads = saved;
  return rc;
}
#endif
