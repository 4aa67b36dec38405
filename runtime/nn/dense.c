/* dense.c - the fully connected layer: y = f(x W + b) by one SGEMM with the
 * bias and activation fused into a single pass over y; backward by two
 * SGEMMs (x^T gz for the kernel, gz W^T for the input). */
#include "nn.h"
#include "../blas.h"
#include <string.h>

static int check_xw(ml_ctx *ctx, const char *who, const ml_tensor *x, const ml_tensor *w) {
  if (ml_nn_check_f32(ctx, who, "input", x) || ml_nn_check_f32(ctx, who, "kernel", w))
    return ML_ERR;
  if (w->ndim != 2) return ml_error(ctx, "%s: kernel must be 2-D (in x out)", who);
  if (x->ndim != 2 || x->shape[1] != w->shape[0]) {
    char a[96];
    return ml_error(ctx, "%s: expected input with %lld features, got %s", who,
                    (long long)w->shape[0], ml_shape_str(a, sizeof a, x->ndim, x->shape));
  }
  if (x->shape[0] > INT32_MAX || w->shape[0] > INT32_MAX || w->shape[1] > INT32_MAX)
    return ml_error(ctx, "%s: dimensions too large for SGEMM", who);
  return ML_OK;
}

int ml_dense_forward(ml_ctx *ctx, ml_tensor *y, const ml_tensor *x, const ml_tensor *w,
                     const ml_tensor *b, ml_act a) {
  const char *who = "dense_forward";
  if (check_xw(ctx, who, x, w)) return ML_ERR;
  int64_t n = x->shape[0], d = w->shape[0], u = w->shape[1];
  int64_t ys[2] = {n, u};
  if (b && ml_nn_check_shape(ctx, who, "bias", b, 1, &u)) return ML_ERR;
  if (ml_nn_check_shape(ctx, who, "output", y, 2, ys)) return ML_ERR;
  if (n == 0) return ML_OK;
  float *yp = ml_f32(y);
  ml_sgemm(ctx, false, false, (int)n, (int)u, (int)d, 1.0f, ml_f32(x), (int)d, ml_f32(w),
           (int)u, 0.0f, yp, (int)u);
  if (b || a.kind != ML_ACT_LINEAR) ml_act_rows(ctx, a, yp, yp, b ? ml_f32(b) : NULL, n, u);
  return ML_OK;
}

int ml_dense_backward(ml_ctx *ctx, ml_tensor *gx, ml_tensor *gw, ml_tensor *gb, ml_tensor *gz,
                      const ml_tensor *x, const ml_tensor *w, const ml_tensor *y,
                      const ml_tensor *gy, ml_act a, bool pre_activation) {
  const char *who = "dense_backward";
  if (ml_act_needs_input(a.kind) && !pre_activation)
    return ml_error(ctx, "%s: activation '%s' needs its input for the gradient; apply it as a "
                    "separate step", who, ml_act_name(a.kind));
  if (check_xw(ctx, who, x, w)) return ML_ERR;
  int64_t n = x->shape[0], d = w->shape[0], u = w->shape[1];
  int64_t ys[2] = {n, u};
  bool act = !pre_activation && a.kind != ML_ACT_LINEAR;
  if (ml_nn_check_shape(ctx, who, "output gradient", gy, 2, ys) ||
      ml_nn_check_shape(ctx, who, "kernel gradient", gw, 2, w->shape) ||
      (gb && ml_nn_check_shape(ctx, who, "bias gradient", gb, 1, &u)) ||
      (gx && ml_nn_check_shape(ctx, who, "input gradient", gx, 2, x->shape)) ||
      (act && ml_nn_check_shape(ctx, who, "output", y, 2, ys)) ||
      (act && ml_nn_check_shape(ctx, who, "scratch", gz, 2, ys)))
    return ML_ERR;
  const float *g = ml_f32(gy);
  if (act) {
    ml_act_grad_rows(ctx, a, ml_f32(gz), g, ml_f32(y), n, u);
    g = ml_f32(gz);
  }
  /* gw[D x U] = x^T g */
  ml_sgemm(ctx, true, false, (int)d, (int)u, (int)n, 1.0f, ml_f32(x), (int)d, g, (int)u,
           0.0f, ml_f32(gw), (int)u);
  if (gb) {
    float *bp = ml_f32(gb);
    memset(bp, 0, (size_t)u * sizeof *bp);
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < u; j++) bp[j] += g[i * u + j];
  }
  /* gx[N x D] = g W^T */
  if (gx) ml_sgemm(ctx, false, true, (int)n, (int)d, (int)u, 1.0f, g, (int)u, ml_f32(w),
                   (int)u, 0.0f, ml_f32(gx), (int)d);
  return ML_OK;
}
