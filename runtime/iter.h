/* iter.h - strided iteration over up to three operands sharing one shape.
 * Internal to the runtime. Dimensions are coalesced where memory allows, so a
 * contiguous tensor is walked as one flat run and vectorises. */
#ifndef ML_ITER_H
#define ML_ITER_H
#include "ml.h"

typedef struct ml_iter {
  int ndim;                       /* >= 1 after init */
  int nops;
  int64_t shape[ML_MAX_DIMS];
  int64_t stride[3][ML_MAX_DIMS];
  int64_t base[3];                /* starting offsets */
  int64_t outer;                  /* product of all dims but the last */
  int64_t inner;                  /* the last dim */
} ml_iter;

/* strides[k] are operand k's strides for `shape` (0 where it broadcasts). */
void ml_iter_init(ml_iter *it, int ndim, const int64_t *shape, int nops,
                  const int64_t *strides[], const int64_t *base);
/* Offsets of the first element of outer row `o` for each operand. */
static inline void ml_iter_offsets(const ml_iter *it, int64_t o, int64_t *off) {
  for (int k = 0; k < it->nops; k++) off[k] = it->base[k];
  for (int d = it->ndim - 2; d >= 0; d--) {
    int64_t i = o % it->shape[d];
    o /= it->shape[d];
    for (int k = 0; k < it->nops; k++) off[k] += i * it->stride[k][d];
  }
}
/* Strides of t broadcast to (ndim, shape): 0 on broadcast dims. */
void ml_broadcast_strides(int64_t *out, const ml_tensor *t, int ndim, const int64_t *shape);
/* double -> int64 without undefined behaviour: truncates toward zero,
 * saturates out of range, NaN gives 0 (C's cast is undefined for those). */
static inline int64_t ml_d2i(double v) {
  if (v != v) return 0;
  if (v >= 9223372036854775807.0) return INT64_MAX;
  if (v <= -9223372036854775808.0) return INT64_MIN;
  return (int64_t)v;
}
/* v into element off of a buffer p of dtype d (ml_get's twin); integer
 * targets truncate toward zero and uint8 keeps the low byte, so callers
 * check ranges first (ml_check_range) where wrapping is not meant. */
static inline void ml_set_d(void *p, ml_dtype d, int64_t off, double v) {
  switch (d) {
    case ML_F32: ((float *)p)[off] = (float)v; break;
    case ML_I64: ((int64_t *)p)[off] = ml_d2i(v); break;
    case ML_F64: ((double *)p)[off] = v; break;
    default: ((uint8_t *)p)[off] = (uint8_t)ml_d2i(v); break;
  }
}
/* Whether a loop over n elements is worth splitting across threads. */
#define ML_PAR_MIN 32768
#endif
