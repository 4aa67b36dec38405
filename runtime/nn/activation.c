/* activation.c - activations forward (fused with a bias) and backward from
 * the output, plus the argument checks every nn kernel shares. */
#include "nn.h"
#include "../dispatch.h"
#include <math.h>
#include <string.h>

static const char *const act_names[ML_ACT_COUNT] = {
  "linear", "relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax", "selu", "softplus",
  "swish", "gelu"};

/* SELU's constants (Klambauer et al. 2017, as Keras and PyTorch) */
#define SELU_LAMBDA 1.0507009873554805f
#define SELU_ALPHA 1.6732632423543772f

const char *ml_act_name(ml_act_kind k) {
  return k >= 0 && k < ML_ACT_COUNT ? act_names[k] : "?";
}

bool ml_act_needs_input(ml_act_kind k) { return k == ML_ACT_SWISH || k == ML_ACT_GELU; }

int ml_act_parse(ml_ctx *ctx, const char *name, ml_act_kind *out) {
  if (!name) { *out = ML_ACT_LINEAR; return ML_OK; }
  if (strcmp(name, "silu") == 0) { *out = ML_ACT_SWISH; return ML_OK; }
  for (int i = 0; i < ML_ACT_COUNT; i++)
    if (strcmp(name, act_names[i]) == 0) { *out = (ml_act_kind)i; return ML_OK; }
  return ml_error(ctx, "unknown activation '%s' (expected one of: elu, gelu, leaky_relu, linear, "
                  "relu, selu, sigmoid, silu, softmax, softplus, swish, tanh)", name);
}

int ml_nn_check_f32(ml_ctx *ctx, const char *who, const char *what, const ml_tensor *t) {
  if (!t || !t->storage) return ml_error(ctx, "%s: %s is missing", who, what);
  if (t->dtype != ML_F32)
    return ml_error(ctx, "%s: %s must be float32, got %s", who, what, ml_dtype_name(t->dtype));
  if (!ml_is_contiguous(t)) return ml_error(ctx, "%s: %s must be contiguous", who, what);
  return ML_OK;
}

int ml_nn_check_shape(ml_ctx *ctx, const char *who, const char *what, const ml_tensor *t,
                      int ndim, const int64_t *shape) {
  if (ml_nn_check_f32(ctx, who, what, t)) return ML_ERR;
  bool ok = t->ndim == ndim;
  for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
  if (!ok) {
    char a[96], b[96];
    return ml_error(ctx, "%s: %s expected shape %s, got %s", who, what,
                    ml_shape_str(a, sizeof a, ndim, shape), ml_shape_str(b, sizeof b, t->ndim, t->shape));
  }
  return ML_OK;
}

/* sigmoid without overflow for large |x| */
static inline float sigmoidf(float x) {
  if (x >= 0) return 1.0f / (1.0f + expf(-x));
  float e = expf(x);
  return e / (1.0f + e);
}

/* One row: y = f(x + b). */
ML_HOT static void act_row(ml_act a, float *y, const float *x, const float *b, int64_t n) {
  if (b) for (int64_t j = 0; j < n; j++) y[j] = x[j] + b[j];
  else if (y != x) memcpy(y, x, (size_t)n * sizeof *y);
  switch (a.kind) {
  case ML_ACT_LINEAR: break;
  case ML_ACT_RELU:
    for (int64_t j = 0; j < n; j++) y[j] = y[j] > 0 ? y[j] : 0;
    break;
  case ML_ACT_LEAKY_RELU:
    for (int64_t j = 0; j < n; j++) y[j] = y[j] > 0 ? y[j] : a.alpha * y[j];
    break;
  case ML_ACT_ELU:
    for (int64_t j = 0; j < n; j++) y[j] = y[j] > 0 ? y[j] : a.alpha * expm1f(y[j]);
    break;
  case ML_ACT_SIGMOID:
    for (int64_t j = 0; j < n; j++) y[j] = sigmoidf(y[j]);
    break;
  case ML_ACT_TANH:
    for (int64_t j = 0; j < n; j++) y[j] = tanhf(y[j]);
    break;
  case ML_ACT_SELU:
    for (int64_t j = 0; j < n; j++)
      y[j] = y[j] > 0 ? SELU_LAMBDA * y[j] : SELU_LAMBDA * SELU_ALPHA * expm1f(y[j]);
    break;
  case ML_ACT_SOFTPLUS:     /* log(1 + e^x) without overflow */
    for (int64_t j = 0; j < n; j++)
      y[j] = y[j] > 0 ? y[j] + log1pf(expf(-y[j])) : log1pf(expf(y[j]));
    break;
  case ML_ACT_SWISH:
    for (int64_t j = 0; j < n; j++) y[j] = y[j] * sigmoidf(y[j]);
    break;
  case ML_ACT_GELU:
    for (int64_t j = 0; j < n; j++) y[j] = 0.5f * y[j] * (1.0f + erff(y[j] * 0.70710678118654752f));
    break;
  case ML_ACT_SOFTMAX: {
    float m = -INFINITY;
    for (int64_t j = 0; j < n; j++) if (y[j] > m) m = y[j];
    double s = 0;
    for (int64_t j = 0; j < n; j++) { y[j] = expf(y[j] - m); s += y[j]; }
    float inv = (float)(1.0 / s);
    for (int64_t j = 0; j < n; j++) y[j] *= inv;
    break;
  }
  default: break;
  }
}

ML_HOT static void grad_row(ml_act a, float *gx, const float *gy, const float *y, int64_t n) {
  switch (a.kind) {
  case ML_ACT_LINEAR:
    if (gx != gy) memcpy(gx, gy, (size_t)n * sizeof *gx);
    break;
  case ML_ACT_RELU:
    for (int64_t j = 0; j < n; j++) gx[j] = y[j] > 0 ? gy[j] : 0;
    break;
  case ML_ACT_LEAKY_RELU:   /* alpha > 0, so y has the sign of x */
    for (int64_t j = 0; j < n; j++) gx[j] = y[j] > 0 ? gy[j] : a.alpha * gy[j];
    break;
  case ML_ACT_ELU:          /* x <= 0: d/dx alpha (e^x - 1) = y + alpha */
    for (int64_t j = 0; j < n; j++) gx[j] = y[j] > 0 ? gy[j] : gy[j] * (y[j] + a.alpha);
    break;
  case ML_ACT_SIGMOID:
    for (int64_t j = 0; j < n; j++) gx[j] = gy[j] * y[j] * (1 - y[j]);
    break;
  case ML_ACT_TANH:
    for (int64_t j = 0; j < n; j++) gx[j] = gy[j] * (1 - y[j] * y[j]);
    break;
  case ML_ACT_SELU:         /* x <= 0: d/dx l a (e^x - 1) = y + l a */
    for (int64_t j = 0; j < n; j++)
      gx[j] = y[j] > 0 ? gy[j] * SELU_LAMBDA : gy[j] * (y[j] + SELU_LAMBDA * SELU_ALPHA);
    break;
  case ML_ACT_SOFTPLUS:     /* sigmoid(x) = 1 - e^-y */
    for (int64_t j = 0; j < n; j++) gx[j] = gy[j] * -expm1f(-y[j]);
    break;
  case ML_ACT_SWISH:        /* from the input x (here in y): s (1 + x (1 - s)) */
    for (int64_t j = 0; j < n; j++) {
      float x = y[j], s = sigmoidf(x);
      gx[j] = gy[j] * s * (1.0f + x * (1.0f - s));
    }
    break;
  case ML_ACT_GELU:         /* from the input x: Phi(x) + x phi(x) */
    for (int64_t j = 0; j < n; j++) {
      float x = y[j];
      float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
      float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
      gx[j] = gy[j] * (cdf + x * pdf);
    }
    break;
  case ML_ACT_SOFTMAX: {    /* gx = y * (gy - <gy, y>) */
    double d = 0;
    for (int64_t j = 0; j < n; j++) d += (double)gy[j] * y[j];
    for (int64_t j = 0; j < n; j++) gx[j] = y[j] * (gy[j] - (float)d);
    break;
  }
  default: break;
  }
}

/* Elementwise activations treat the whole array as one long row when there
 * is no bias, so short rows do not cost a call each. */
void ml_act_rows(ml_ctx *ctx, ml_act a, float *y, const float *x, const float *b,
                 int64_t rows, int64_t cols) {
  if (!b && a.kind != ML_ACT_SOFTMAX && rows > 1) { cols *= rows; rows = 1; }
  int threads = ctx ? ctx->threads : 1;
  if (rows == 1) {
    int64_t blk = 1 << 14, nb = (cols + blk - 1) / blk;
    if (a.kind == ML_ACT_SOFTMAX || b || nb < 2 || threads < 2) { act_row(a, y, x, b, cols); return; }
    #pragma omp parallel for num_threads(threads) schedule(dynamic, 4)
    for (int64_t i = 0; i < nb; i++) {
      int64_t s = i * blk, e = s + blk < cols ? s + blk : cols;
      act_row(a, y + s, x + s, NULL, e - s);
    }
    return;
  }
  int nt = rows * cols >= (1 << 15) ? threads : 1;
  if (nt == 1) {   /* an OpenMP region, even of one thread, costs more than small rows */
    for (int64_t i = 0; i < rows; i++) act_row(a, y + i * cols, x + i * cols, b, cols);
    return;
  }
  #pragma omp parallel for num_threads(nt) schedule(dynamic, 4)
  for (int64_t i = 0; i < rows; i++) act_row(a, y + i * cols, x + i * cols, b, cols);
}

void ml_act_grad_rows(ml_ctx *ctx, ml_act a, float *gx, const float *gy, const float *y,
                      int64_t rows, int64_t cols) {
  int threads = ctx ? ctx->threads : 1;
  if (a.kind != ML_ACT_SOFTMAX) { cols *= rows; rows = 1; }
  if (rows == 1) {
    int64_t blk = 1 << 14, nb = (cols + blk - 1) / blk;
    if (a.kind == ML_ACT_SOFTMAX || nb < 2 || threads < 2) { grad_row(a, gx, gy, y, cols); return; }
    #pragma omp parallel for num_threads(threads) schedule(dynamic, 4)
    for (int64_t i = 0; i < nb; i++) {
      int64_t s = i * blk, e = s + blk < cols ? s + blk : cols;
      grad_row(a, gx + s, gy + s, y + s, e - s);
    }
    return;
  }
  int nt = rows * cols >= (1 << 15) ? threads : 1;
  if (nt == 1) {
    for (int64_t i = 0; i < rows; i++) grad_row(a, gx + i * cols, gy + i * cols, y + i * cols, cols);
    return;
  }
  #pragma omp parallel for num_threads(nt) schedule(dynamic, 4)
  for (int64_t i = 0; i < rows; i++) grad_row(a, gx + i * cols, gy + i * cols, y + i * cols, cols);
}

static int same_shape(ml_ctx *ctx, const char *who, const char *what, const ml_tensor *t,
                      const ml_tensor *like) {
  return ml_nn_check_shape(ctx, who, what, t, like->ndim, like->shape);
}

int ml_act_forward(ml_ctx *ctx, ml_act a, ml_tensor *y, const ml_tensor *x) {
  const char *who = ml_act_name(a.kind);
  if (ml_nn_check_f32(ctx, who, "input", x) || same_shape(ctx, who, "output", y, x))
    return ML_ERR;
  int64_t cols = x->ndim ? x->shape[x->ndim - 1] : 1, n = ml_numel(x);
  if (n == 0) return ML_OK;
  ml_act_rows(ctx, a, ml_f32(y), ml_f32(x), NULL, n / cols, cols);
  return ML_OK;
}

int ml_act_backward(ml_ctx *ctx, ml_act a, ml_tensor *gx, const ml_tensor *gy,
                    const ml_tensor *y) {
  const char *who = ml_act_name(a.kind);
  if (ml_nn_check_f32(ctx, who, "output", y) || same_shape(ctx, who, "gradient", gy, y) ||
      same_shape(ctx, who, "input gradient", gx, y))
    return ML_ERR;
  int64_t cols = y->ndim ? y->shape[y->ndim - 1] : 1, n = ml_numel(y);
  if (n == 0) return ML_OK;
  ml_act_grad_rows(ctx, a, ml_f32(gx), ml_f32(gy), ml_f32(y), n / cols, cols);
  return ML_OK;
}
