/* init.c - Keras's weight initializers, drawn from the engine's RNG so the
 * same ml.seed gives the same weights. Normal variants are truncated at two
 * standard deviations with Keras's correction (sd / 0.87962566103423978),
 * which keeps the variance of the truncated draw at scale / fan. */
#include "nn.h"
#include <math.h>
#include <string.h>

static const char *const init_names[ML_INIT_COUNT] = {
  "zeros", "ones", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
  "lecun_uniform", "lecun_normal"};

int ml_init_parse(ml_ctx *ctx, const char *name, ml_init_kind *out) {
  for (int i = 0; i < ML_INIT_COUNT; i++)
    if (strcmp(name, init_names[i]) == 0) { *out = (ml_init_kind)i; return ML_OK; }
  return ml_error(ctx, "unknown initializer '%s' (expected one of: glorot_normal, "
                  "glorot_uniform, he_normal, he_uniform, lecun_normal, lecun_uniform, "
                  "ones, zeros, or a function)", name);
}

void ml_fill_truncated_normal(ml_ctx *ctx, ml_tensor *t, double sd) {
  int64_t n = ml_numel(t);
  for (int64_t i = 0; i < n; i++) {
    double v;
    do v = ml_rng_normal(&ctx->rng); while (v < -2 || v > 2);
    ml_f32(t)[i] = (float)(v * sd);
  }
}

int ml_init_fill(ml_ctx *ctx, ml_tensor *t, ml_init_kind k, double fan_in, double fan_out) {
  if (ml_nn_check_f32(ctx, "initializer", "weights", t)) return ML_ERR;
  if (fan_in < 1) fan_in = 1;
  if (fan_out < 1) fan_out = 1;
  const double trunc = 0.87962566103423978;
  double scale;
  switch (k) {
  case ML_INIT_ZEROS: ml_fill(t, 0); return ML_OK;
  case ML_INIT_ONES: ml_fill(t, 1); return ML_OK;
  case ML_INIT_GLOROT_UNIFORM: case ML_INIT_GLOROT_NORMAL: scale = 2.0 / (fan_in + fan_out); break;
  case ML_INIT_HE_UNIFORM: case ML_INIT_HE_NORMAL: scale = 2.0 / fan_in; break;
  case ML_INIT_LECUN_UNIFORM: case ML_INIT_LECUN_NORMAL: scale = 1.0 / fan_in; break;
  default: return ml_error(ctx, "initializer: unknown kind %d", (int)k);
  }
  if (k == ML_INIT_GLOROT_UNIFORM || k == ML_INIT_HE_UNIFORM || k == ML_INIT_LECUN_UNIFORM) {
    double limit = sqrt(3.0 * scale);
    ml_fill_uniform(ctx, t, -limit, limit);
  } else {
    ml_fill_truncated_normal(ctx, t, sqrt(scale) / trunc);
  }
  return ML_OK;
}
