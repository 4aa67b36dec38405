/* geometry.c - resize, flip and affine warps (rotate, shift) of images and
 * batches, bilinear, parallel over images and rows. */
#include "common.h"
#include <math.h>
#include <string.h>

int ml_image_resize(ml_ctx *ctx, ml_tensor *out, const ml_tensor *img, int64_t oh, int64_t ow) {
  ml_imgdims d = {0, 0, 0, 0};
  if (ml_imgdims_of(ctx, "image.resize", img, &d)) return ML_ERR;
  if (oh < 1 || ow < 1 || oh > (1 << 20) || ow > (1 << 20))
    return ml_error(ctx, "image.resize: expected a size of at least 1x1, got %lldx%lld",
                    (long long)oh, (long long)ow);
  if (d.h < 1 || d.w < 1) return ml_error(ctx, "image.resize: cannot resize an empty image");
  ml_tensor src;
  if (ml_contiguous(ctx, &src, img)) return ML_ERR;
  if (ml_img_new(ctx, out, img, oh, ow, d.c)) { ml_tensor_release(&src); return ML_ERR; }
  const float *s = ml_f32(&src);
  float *o = ml_f32(out);
  double sy = (double)d.h / oh, sx = (double)d.w / ow;
  int64_t c = d.c;
#pragma omp parallel for collapse(2) num_threads(ctx->threads) if (d.n * oh * ow * c > (1 << 18))
  for (int64_t n = 0; n < d.n; n++)
    for (int64_t y = 0; y < oh; y++) {
      double fy = (y + 0.5) * sy - 0.5;
      if (fy < 0) fy = 0;
      int64_t y0 = (int64_t)fy, y1 = y0 + 1 < d.h ? y0 + 1 : d.h - 1;
      float wy = (float)(fy - y0);
      const float *r0 = s + ((n * d.h + y0) * d.w) * c, *r1 = s + ((n * d.h + y1) * d.w) * c;
      float *dst = o + ((n * oh + y) * ow) * c;
      for (int64_t x = 0; x < ow; x++) {
        double fx = (x + 0.5) * sx - 0.5;
        if (fx < 0) fx = 0;
        int64_t x0 = (int64_t)fx, x1 = x0 + 1 < d.w ? x0 + 1 : d.w - 1;
        float wx = (float)(fx - x0);
        for (int64_t k = 0; k < c; k++) {
          float top = r0[x0 * c + k] + wx * (r0[x1 * c + k] - r0[x0 * c + k]);
          float bot = r1[x0 * c + k] + wx * (r1[x1 * c + k] - r1[x0 * c + k]);
          dst[x * c + k] = top + wy * (bot - top);
        }
      }
    }
  ml_tensor_release(&src);
  return ML_OK;
}

int ml_image_flip(ml_ctx *ctx, ml_tensor *out, const ml_tensor *img, bool horizontal,
                  bool vertical, const uint8_t *mask, int64_t nmask) {
  ml_imgdims d = {0, 0, 0, 0};
  if (ml_imgdims_of(ctx, "image.flip", img, &d)) return ML_ERR;
  if (mask && nmask != d.n)
    return ml_error(ctx, "image.flip: expected %lld mask values (one per image), got %lld",
                    (long long)d.n, (long long)nmask);
  ml_tensor src;
  if (ml_contiguous(ctx, &src, img)) return ML_ERR;
  if (ml_img_new(ctx, out, img, d.h, d.w, d.c)) { ml_tensor_release(&src); return ML_ERR; }
  const float *s = ml_f32(&src);
  float *o = ml_f32(out);
  int64_t c = d.c, row = d.w * c;
#pragma omp parallel for collapse(2) num_threads(ctx->threads) if (d.n * d.h * row > (1 << 19))
  for (int64_t n = 0; n < d.n; n++)
    for (int64_t y = 0; y < d.h; y++) {
      bool on = !mask || mask[n];
      int64_t sy = on && vertical ? d.h - 1 - y : y;
      const float *sr = s + (n * d.h + sy) * row;
      float *dr = o + (n * d.h + y) * row;
      if (!(on && horizontal)) { memcpy(dr, sr, sizeof(float) * (size_t)row); continue; }
      for (int64_t x = 0; x < d.w; x++)
        for (int64_t k = 0; k < c; k++) dr[x * c + k] = sr[(d.w - 1 - x) * c + k];
    }
  ml_tensor_release(&src);
  return ML_OK;
}

void ml_image_affine_params(double m[6], int64_t h, int64_t w, double degrees, double dx, double dy) {
  double t = degrees * M_PI / 180.0, cs = cos(t), sn = sin(t);
  double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
  /* output (x, y) -> u = (x - dx - cx, y - dy - cy) -> source c + (u.x cs - u.y sn, u.x sn + u.y cs) */
  m[0] = cs;  m[1] = -sn; m[2] = cx - (dx + cx) * cs + (dy + cy) * sn;
  m[3] = sn;  m[4] = cs;  m[5] = cy - (dx + cx) * sn - (dy + cy) * cs;
}

int ml_image_warp(ml_ctx *ctx, ml_tensor *out, const ml_tensor *img, const double *mats,
                  int64_t nmats, float fill) {
  ml_imgdims d = {0, 0, 0, 0};
  if (ml_imgdims_of(ctx, "image.warp", img, &d)) return ML_ERR;
  if (!mats || nmats < 0 || (nmats != 1 && nmats != d.n))
    return ml_error(ctx, "image.warp: expected 1 or %lld transforms, got %lld", (long long)d.n,
                    (long long)nmats);
  ml_tensor src;
  if (ml_contiguous(ctx, &src, img)) return ML_ERR;
  if (ml_img_new(ctx, out, img, d.h, d.w, d.c)) { ml_tensor_release(&src); return ML_ERR; }
  const float *s = ml_f32(&src);
  float *o = ml_f32(out);
  int64_t c = d.c;
#pragma omp parallel for collapse(2) num_threads(ctx->threads) if (d.n * d.h * d.w * c > (1 << 18))
  for (int64_t n = 0; n < d.n; n++)
    for (int64_t y = 0; y < d.h; y++) {
      const double *m = mats + (nmats == 1 ? 0 : 6 * n);
      const float *si = s + n * d.h * d.w * c;
      float *dr = o + (n * d.h + y) * d.w * c;
      for (int64_t x = 0; x < d.w; x++) {
        double fx = m[0] * x + m[1] * y + m[2], fy = m[3] * x + m[4] * y + m[5];
        if (!(fx > -1 && fx < d.w && fy > -1 && fy < d.h)) {   /* also catches NaN */
          for (int64_t k = 0; k < c; k++) dr[x * c + k] = fill;
          continue;
        }
        double flx = floor(fx), fly = floor(fy);   /* in range: the casts are defined */
        int64_t x0 = (int64_t)flx, y0 = (int64_t)fly;
        float ax = (float)(fx - flx), ay = (float)(fy - fly);
        bool in00 = x0 >= 0 && y0 >= 0, in01 = x0 + 1 < d.w && y0 >= 0;
        bool in10 = x0 >= 0 && y0 + 1 < d.h, in11 = x0 + 1 < d.w && y0 + 1 < d.h;
        for (int64_t k = 0; k < c; k++) {
          float p00 = in00 ? si[(y0 * d.w + x0) * c + k] : fill;
          float p01 = in01 ? si[(y0 * d.w + x0 + 1) * c + k] : fill;
          float p10 = in10 ? si[((y0 + 1) * d.w + x0) * c + k] : fill;
          float p11 = in11 ? si[((y0 + 1) * d.w + x0 + 1) * c + k] : fill;
          float top = p00 + ax * (p01 - p00), bot = p10 + ax * (p11 - p10);
          dr[x * c + k] = top + ay * (bot - top);
        }
      }
    }
  ml_tensor_release(&src);
  return ML_OK;
}
