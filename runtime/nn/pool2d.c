/* pool2d.c - max and average pooling over N x H x W x C windows, and global
 * average pooling. Channels are the innermost loop, so every window step
 * is a vector operation over C contiguous floats. Parallel over images. */
#include "nn.h"
#include "../dispatch.h"
#include <math.h>
#include <string.h>

static int pool_check(ml_ctx *ctx, const char *who, ml_window *g, const ml_tensor *y,
                      const ml_tensor *x, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                      bool same) {
  if (ml_nn_check_f32(ctx, who, "input", x)) return ML_ERR;
  if (ml_window_init(ctx, g, who, x, kh, kw, sh, sw, same)) return ML_ERR;
  int64_t ys[4] = {g->n, g->oh, g->ow, g->c};
  return ml_nn_check_shape(ctx, who, "output", y, 4, ys);
}

/* The max-pooling windows of one N x H x W x C image into its outputs yo and
 * their argmax positions ao (indices into xi). */
ML_HOT static void maxpool_image(const ml_window *gp, float *yi, int32_t *ai, const float *xi) {
  const ml_window g = *gp;
  int64_t c = g.c;
  for (int64_t oy = 0; oy < g.oh; oy++)
    for (int64_t ox = 0; ox < g.ow; ox++) {
      int64_t o = (oy * g.ow + ox) * c;
      float *yo = yi + o;
      int32_t *ao = ai + o;
      bool first = true;
      int64_t ki0, ki1, kj0, kj1;
      ml_window_clip(oy * g.sh - g.pt, g.kh, g.h, &ki0, &ki1);
      ml_window_clip(ox * g.sw - g.pl, g.kw, g.w, &kj0, &kj1);
      for (int64_t ki = ki0; ki < ki1; ki++) {
        int64_t iy = oy * g.sh - g.pt + ki;
        for (int64_t kj = kj0; kj < kj1; kj++) {
          int64_t ix = ox * g.sw - g.pl + kj;
          int32_t base = (int32_t)((iy * g.w + ix) * c);
          const float *s = xi + base;
          if (first) {   /* the first real input starts the maximum */
            for (int64_t ch = 0; ch < c; ch++) { yo[ch] = s[ch]; ao[ch] = base + (int32_t)ch; }
            first = false;
            continue;
          }
          for (int64_t ch = 0; ch < c; ch++) {
            bool gt = s[ch] > yo[ch];
            yo[ch] = gt ? s[ch] : yo[ch];
            ao[ch] = gt ? base + (int32_t)ch : ao[ch];
          }
        }
      }
      if (first)   /* a window of padding only (cannot happen with TF padding) */
        for (int64_t ch = 0; ch < c; ch++) { yo[ch] = 0; ao[ch] = -1; }
    }
}

int ml_maxpool2d_forward(ml_ctx *ctx, ml_tensor *y, int32_t *arg, const ml_tensor *x,
                         int64_t kh, int64_t kw, int64_t sh, int64_t sw, bool same) {
  ml_window g;
  if (pool_check(ctx, "maxpool2d_forward", &g, y, x, kh, kw, sh, sw, same)) return ML_ERR;
  const float *xp = ml_f32(x);
  float *yp = ml_f32(y);
  int64_t c = g.c, img = g.h * g.w * c, oimg = g.oh * g.ow * c;
  int nt = g.n * img >= (1 << 14) ? ctx->threads : 1;
  #pragma omp parallel for num_threads(nt) schedule(dynamic, 4) if (nt > 1)
  for (int64_t n = 0; n < g.n; n++) maxpool_image(&g, yp + n * oimg, arg + n * oimg, xp + n * img);
  return ML_OK;
}

int ml_maxpool2d_backward(ml_ctx *ctx, ml_tensor *gx, const ml_tensor *gy, const int32_t *arg) {
  const char *who = "maxpool2d_backward";
  if (ml_nn_check_f32(ctx, who, "input gradient", gx) ||
      ml_nn_check_f32(ctx, who, "output gradient", gy))
    return ML_ERR;
  if (gx->ndim != 4 || gy->ndim != 4 || gx->shape[0] != gy->shape[0] ||
      gx->shape[3] != gy->shape[3]) {
    char a[96], b[96];
    return ml_error(ctx, "%s: gradient shapes %s and %s do not match", who,
                    ml_shape_str(a, sizeof a, gy->ndim, gy->shape),
                    ml_shape_str(b, sizeof b, gx->ndim, gx->shape));
  }
  int64_t nimg = gx->shape[0], img = gx->shape[1] * gx->shape[2] * gx->shape[3];
  int64_t oimg = gy->shape[1] * gy->shape[2] * gy->shape[3];
  float *gxp = ml_f32(gx);
  const float *gyp = ml_f32(gy);
  int nt = nimg * img >= (1 << 14) ? ctx->threads : 1;
  #pragma omp parallel for num_threads(nt) schedule(dynamic, 4) if (nt > 1)
  for (int64_t n = 0; n < nimg; n++) {
    float *gi = gxp + n * img;
    memset(gi, 0, (size_t)img * sizeof *gi);
    const float *go = gyp + n * oimg;
    const int32_t *ao = arg + n * oimg;
    for (int64_t i = 0; i < oimg; i++)
      if (ao[i] >= 0 && ao[i] < img) gi[ao[i]] += go[i];
  }
  return ML_OK;
}

/* Number of real (unpadded) inputs in the window of output (oy, ox). */
static int64_t window_count(const ml_window *g, int64_t oy, int64_t ox) {
  int64_t y0 = oy * g->sh - g->pt, x0 = ox * g->sw - g->pl;
  int64_t y1 = y0 + g->kh, x1 = x0 + g->kw;
  if (y0 < 0) y0 = 0;
  if (x0 < 0) x0 = 0;
  if (y1 > g->h) y1 = g->h;
  if (x1 > g->w) x1 = g->w;
  return (y1 - y0) * (x1 - x0);
}

int ml_avgpool2d_forward(ml_ctx *ctx, ml_tensor *y, const ml_tensor *x,
                         int64_t kh, int64_t kw, int64_t sh, int64_t sw, bool same) {
  ml_window g;
  if (pool_check(ctx, "avgpool2d_forward", &g, y, x, kh, kw, sh, sw, same)) return ML_ERR;
  const float *xp = ml_f32(x);
  float *yp = ml_f32(y);
  int64_t c = g.c, img = g.h * g.w * c, oimg = g.oh * g.ow * c;
  int nt = g.n * img >= (1 << 14) ? ctx->threads : 1;
  #pragma omp parallel for num_threads(nt) schedule(dynamic, 4) if (nt > 1)
  for (int64_t n = 0; n < g.n; n++)
    for (int64_t oy = 0; oy < g.oh; oy++)
      for (int64_t ox = 0; ox < g.ow; ox++) {
        float *yo = yp + n * oimg + (oy * g.ow + ox) * c;
        memset(yo, 0, (size_t)c * sizeof *yo);
        int64_t ki0, ki1, kj0, kj1;
        ml_window_clip(oy * g.sh - g.pt, g.kh, g.h, &ki0, &ki1);
        ml_window_clip(ox * g.sw - g.pl, g.kw, g.w, &kj0, &kj1);
        for (int64_t ki = ki0; ki < ki1; ki++) {
          int64_t iy = oy * g.sh - g.pt + ki;
          for (int64_t kj = kj0; kj < kj1; kj++) {
            int64_t ix = ox * g.sw - g.pl + kj;
            const float *s = xp + n * img + (iy * g.w + ix) * c;
            for (int64_t ch = 0; ch < c; ch++) yo[ch] += s[ch];
          }
        }
        int64_t cnt = window_count(&g, oy, ox);
        float inv = cnt > 0 ? 1.0f / (float)cnt : 0.0f;
        for (int64_t ch = 0; ch < c; ch++) yo[ch] *= inv;
      }
  return ML_OK;
}

int ml_avgpool2d_backward(ml_ctx *ctx, ml_tensor *gx, const ml_tensor *gy,
                          int64_t kh, int64_t kw, int64_t sh, int64_t sw, bool same) {
  ml_window g;
  if (pool_check(ctx, "avgpool2d_backward", &g, gy, gx, kh, kw, sh, sw, same)) return ML_ERR;
  float *gxp = ml_f32(gx);
  const float *gyp = ml_f32(gy);
  int64_t c = g.c, img = g.h * g.w * c, oimg = g.oh * g.ow * c;
  int nt = g.n * img >= (1 << 14) ? ctx->threads : 1;
  #pragma omp parallel for num_threads(nt) schedule(dynamic, 4) if (nt > 1)
  for (int64_t n = 0; n < g.n; n++) {
    memset(gxp + n * img, 0, (size_t)img * sizeof *gxp);
    for (int64_t oy = 0; oy < g.oh; oy++)
      for (int64_t ox = 0; ox < g.ow; ox++) {
        const float *go = gyp + n * oimg + (oy * g.ow + ox) * c;
        int64_t cnt = window_count(&g, oy, ox);
        float inv = cnt > 0 ? 1.0f / (float)cnt : 0.0f;
        int64_t ki0, ki1, kj0, kj1;
        ml_window_clip(oy * g.sh - g.pt, g.kh, g.h, &ki0, &ki1);
        ml_window_clip(ox * g.sw - g.pl, g.kw, g.w, &kj0, &kj1);
        for (int64_t ki = ki0; ki < ki1; ki++) {
          int64_t iy = oy * g.sh - g.pt + ki;
          for (int64_t kj = kj0; kj < kj1; kj++) {
            int64_t ix = ox * g.sw - g.pl + kj;
            float *d = gxp + n * img + (iy * g.w + ix) * c;
            for (int64_t ch = 0; ch < c; ch++) d[ch] += go[ch] * inv;
          }
        }
      }
  }
  return ML_OK;
}

int ml_gap2d_forward(ml_ctx *ctx, ml_tensor *y, const ml_tensor *x) {
  const char *who = "global_average_pooling2d";
  char a[96];
  if (ml_nn_check_f32(ctx, who, "input", x)) return ML_ERR;
  if (x->ndim != 4)
    return ml_error(ctx, "%s: expected a 4-D input (N x H x W x C), got %s", who,
                    ml_shape_str(a, sizeof a, x->ndim, x->shape));
  int64_t n = x->shape[0], hw = x->shape[1] * x->shape[2], c = x->shape[3];
  int64_t ys[2] = {n, c};
  if (ml_nn_check_shape(ctx, who, "output", y, 2, ys)) return ML_ERR;
  const float *xp = ml_f32(x);
  float *yp = ml_f32(y);
  float inv = hw > 0 ? 1.0f / (float)hw : 0.0f;
  for (int64_t i = 0; i < n; i++) {
    float *yo = yp + i * c;
    memset(yo, 0, (size_t)c * sizeof *yo);
    for (int64_t p = 0; p < hw; p++)
      for (int64_t ch = 0; ch < c; ch++) yo[ch] += xp[(i * hw + p) * c + ch];
    for (int64_t ch = 0; ch < c; ch++) yo[ch] *= inv;
  }
  return ML_OK;
}

int ml_gap2d_backward(ml_ctx *ctx, ml_tensor *gx, const ml_tensor *gy) {
  const char *who = "global_average_pooling2d_backward";
  if (ml_nn_check_f32(ctx, who, "input gradient", gx)) return ML_ERR;
  if (gx->ndim != 4) return ml_error(ctx, "%s: expected a 4-D input gradient", who);
  int64_t n = gx->shape[0], hw = gx->shape[1] * gx->shape[2], c = gx->shape[3];
  int64_t ys[2] = {n, c};
  if (ml_nn_check_shape(ctx, who, "output gradient", gy, 2, ys)) return ML_ERR;
  float *gxp = ml_f32(gx);
  const float *gyp = ml_f32(gy);
  float inv = hw > 0 ? 1.0f / (float)hw : 0.0f;
  for (int64_t i = 0; i < n; i++)
    for (int64_t p = 0; p < hw; p++)
      for (int64_t ch = 0; ch < c; ch++) gxp[(i * hw + p) * c + ch] = gyp[i * c + ch] * inv;
  return ML_OK;
}
