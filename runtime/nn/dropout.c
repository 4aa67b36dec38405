/* dropout.c - inverted dropout: in training each element is kept with
 * probability 1 - rate and scaled by 1 / (1 - rate), so inference is the
 * identity. The mask comes from the engine's RNG, drawn in element order:
 * the same seed gives the same mask whatever the thread count. */
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
  /* 24-bit uniforms, two per 64-bit draw */
  uint32_t thresh = (uint32_t)(rate * 16777216.0);
  int64_t i = 0;
  for (; i + 1 < n; i += 2) {
    uint64_t r = ml_rng_next(&ctx->rng);
    mp[i] = (uint32_t)(r >> 40) >= thresh ? scale : 0.0f;
    mp[i + 1] = (uint32_t)((r >> 8) & 0xffffff) >= thresh ? scale : 0.0f;
  }
  if (i < n) mp[i] = (uint32_t)(ml_rng_next(&ctx->rng) >> 40) >= thresh ? scale : 0.0f;
  for (i = 0; i < n; i++) yp[i] = xp[i] * mp[i];
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
  for (int64_t i = 0; i < n; i++) gxp[i] = gyp[i] * mp[i];
  return ML_OK;
}
