/* dropout.c - inverted dropout: in training each element is kept with
 * probability 1 - rate and scaled by 1 / (1 - rate), so inference is the
 * identity. Each call draws one 64-bit key from the engine's RNG; element
 * i keeps when a 24-bit hash of (key, i) is >= rate * 2^24. So
 * the mask depends only on the seed (not on the thread count) and blocks
 * of it are made in parallel. */
#include "nn.h"

int ml_dropout_forward(ml_ctx *ctx, ml_tensor *y, ml_tensor *mask, const ml_tensor *x,
                       double rate) {
  const char *who = "dropout";
  if (ml_nn_check_f32(ctx, who, "input", x) ||
      ml_nn_check_shape(ctx, who, "output", y, x->ndim, x->shape) ||
      ml_nn_check_shape(ctx, who, "mask", mask, x->ndim, x->shape))
    return ML_ERR;
  if (!(rate >= 0 && rate < 1))
    return ml_error(ctx, "%s: rate must be in [0, 1), got %g", who, rate);
  int64_t n = ml_numel(x);
  const float *xp = ml_f32(x);
  float *yp = ml_f32(y), *mp = ml_f32(mask);
  float scale = (float)(1.0 / (1.0 - rate));
  uint32_t thresh = (uint32_t)(rate * 16777216.0);
  uint64_t key = ml_rng_next(&ctx->rng);
  uint32_t k1 = (uint32_t)key, k2 = (uint32_t)(key >> 32) | 1u;
  int nt = n >= (1 << 16) ? ctx->threads : 1;
  #pragma omp parallel for num_threads(nt) schedule(dynamic, 1 << 14) if (nt > 1)
  for (int64_t i = 0; i < n; i++) {
    /* murmur3's finaliser over a Weyl sequence: 32 vectorisable bits per element */
    uint32_t z = (uint32_t)i * 0x9e3779b9u + k1 + (uint32_t)((uint64_t)i >> 32) * k2;
    z ^= z >> 16; z *= 0x85ebca6bu; z ^= z >> 13; z *= 0xc2b2ae35u; z ^= z >> 16;
    float m = (z >> 8) >= thresh ? scale : 0.0f;
    mp[i] = m;
    yp[i] = xp[i] * m;
  }
  return ML_OK;
}

int ml_dropout_backward(ml_ctx *ctx, ml_tensor *gx, const ml_tensor *gy, const ml_tensor *mask) {
  const char *who = "dropout_backward";
  if (ml_nn_check_f32(ctx, who, "mask", mask) ||
      ml_nn_check_shape(ctx, who, "output gradient", gy, mask->ndim, mask->shape) ||
      ml_nn_check_shape(ctx, who, "input gradient", gx, mask->ndim, mask->shape))
    return ML_ERR;
  int64_t n = ml_numel(mask);
  const float *gyp = ml_f32(gy), *mp = ml_f32(mask);
  float *gxp = ml_f32(gx);
  int nt = n >= (1 << 16) ? ctx->threads : 1;
  #pragma omp parallel for num_threads(nt) schedule(dynamic, 1 << 14) if (nt > 1)
  for (int64_t i = 0; i < n; i++) gxp[i] = gyp[i] * mp[i];
  return ML_OK;
}
