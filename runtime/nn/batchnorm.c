/* batchnorm.c - batch normalization over every axis but the last (the
 * channels of N x H x W x C images, the features of N x D rows). Statistics
 * are summed in double, row after row, so results do not depend on the
 * thread count. */
#include "nn.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int bn_check(ml_ctx *ctx, const char *who, const ml_tensor *x, const ml_tensor *p,
                    const char *what, int64_t c) {
  return p ? ml_nn_check_shape(ctx, who, what, p, 1, &c) : ML_OK;
  (void)x;
}

int ml_batchnorm_forward(ml_ctx *ctx, ml_tensor *y, const ml_tensor *x, const ml_tensor *gamma,
                         const ml_tensor *beta, ml_tensor *moving_mean, ml_tensor *moving_var,
                         double momentum, double eps, bool training, float *mean, float *invstd) {
  const char *who = "batch_normalization";
  if (ml_nn_check_f32(ctx, who, "input", x)) return ML_ERR;
  if (x->ndim < 2) return ml_error(ctx, "%s: expected at least a 2-D input", who);
  int64_t c = x->shape[x->ndim - 1], m = ml_numel(x) / (c > 0 ? c : 1);
  if (bn_check(ctx, who, x, gamma, "gamma", c) || bn_check(ctx, who, x, beta, "beta", c) ||
      ml_nn_check_shape(ctx, who, "moving_mean", moving_mean, 1, &c) ||
      ml_nn_check_shape(ctx, who, "moving_variance", moving_var, 1, &c) ||
      ml_nn_check_shape(ctx, who, "output", y, x->ndim, x->shape))
    return ML_ERR;
  if (training && m < 1) return ml_error(ctx, "%s: empty batch in training", who);
  if (eps <= 0) return ml_error(ctx, "%s: epsilon must be positive, got %g", who, eps);
  const float *xp = ml_f32(x), *gp = gamma ? ml_f32(gamma) : NULL, *bp = beta ? ml_f32(beta) : NULL;
  float *yp = ml_f32(y), *mm = ml_f32(moving_mean), *mv = ml_f32(moving_var);
  if (training) {
    double *s = ml_calloc(ctx, (size_t)(2 * c), sizeof *s, who);
    if (!s) return ML_ERR;
    double *s2 = s + c;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < c; j++) s[j] += xp[i * c + j];
    for (int64_t j = 0; j < c; j++) s[j] /= (double)m;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < c; j++) { double d = xp[i * c + j] - s[j]; s2[j] += d * d; }
    for (int64_t j = 0; j < c; j++) {
      double var = s2[j] / (double)m;
      mean[j] = (float)s[j];
      invstd[j] = (float)(1.0 / sqrt(var + eps));
      mm[j] = (float)(momentum * mm[j] + (1 - momentum) * s[j]);
      mv[j] = (float)(momentum * mv[j] + (1 - momentum) * var);
    }
    ml_free(ctx, s);
  } else {
    for (int64_t j = 0; j < c; j++) {
      mean[j] = mm[j];
      invstd[j] = (float)(1.0 / sqrt((double)mv[j] + eps));
    }
  }
  int nt = m * c >= (1 << 15) ? ctx->threads : 1;
  #pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < c; j++) {
      float v = (xp[i * c + j] - mean[j]) * invstd[j];
      yp[i * c + j] = v * (gp ? gp[j] : 1.0f) + (bp ? bp[j] : 0.0f);
    }
  return ML_OK;
}

int ml_batchnorm_backward(ml_ctx *ctx, ml_tensor *gx, ml_tensor *ggamma, ml_tensor *gbeta,
                          const ml_tensor *x, const ml_tensor *gy, const ml_tensor *gamma,
                          const float *mean, const float *invstd, bool training) {
  const char *who = "batch_normalization_backward";
  if (ml_nn_check_f32(ctx, who, "input", x)) return ML_ERR;
  if (x->ndim < 2) return ml_error(ctx, "%s: expected at least a 2-D input", who);
  int64_t c = x->shape[x->ndim - 1], m = ml_numel(x) / (c > 0 ? c : 1);
  if (ml_nn_check_shape(ctx, who, "output gradient", gy, x->ndim, x->shape) ||
      ml_nn_check_shape(ctx, who, "input gradient", gx, x->ndim, x->shape) ||
      bn_check(ctx, who, x, gamma, "gamma", c) ||
      bn_check(ctx, who, x, ggamma, "gamma gradient", c) ||
      bn_check(ctx, who, x, gbeta, "beta gradient", c))
    return ML_ERR;
  const float *xp = ml_f32(x), *gyp = ml_f32(gy), *gp = gamma ? ml_f32(gamma) : NULL;
  float *gxp = ml_f32(gx);
  double *s = ml_calloc(ctx, (size_t)(2 * c), sizeof *s, who);
  if (!s) return ML_ERR;
  double *sg = s, *sgx = s + c;   /* sum gy, sum gy * xhat per channel */
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < c; j++) {
      double g = gyp[i * c + j], xh = (xp[i * c + j] - mean[j]) * invstd[j];
      sg[j] += g;
      sgx[j] += g * xh;
    }
  if (ggamma) for (int64_t j = 0; j < c; j++) ml_f32(ggamma)[j] = (float)sgx[j];
  if (gbeta) for (int64_t j = 0; j < c; j++) ml_f32(gbeta)[j] = (float)sg[j];
  /* training: gx = gamma invstd (gy - mean(gy) - xhat mean(gy xhat));
   * inference: the statistics are constants, gx = gamma invstd gy */
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < c; j++) {
      float k = (gp ? gp[j] : 1.0f) * invstd[j];
      if (training) {
        double xh = (xp[i * c + j] - mean[j]) * invstd[j];
        gxp[i * c + j] = (float)(k * (gyp[i * c + j] - sg[j] / m - xh * sgx[j] / m));
      } else {
        gxp[i * c + j] = k * gyp[i * c + j];
      }
    }
  ml_free(ctx, s);
  return ML_OK;
}
