/* geometry.c - resize, flip and affine warps (rotate, shift, shear, zoom) of images and
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

void ml_image_affine_params(double m[6], int64_t h, int64_t w, const ml_affine *a) {
  double t = a->degrees * M_PI / 180.0, cs = cos(t), sn = sin(t);
  double sh = a->shear * M_PI / 180.0, ssh = sin(sh), csh = cos(sh);
  double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
  /* Inverse map, output -> source, about the centre: undo the shift, the
   * rotation (R^-1 = [cs -sn; sn cs] in these y-down coordinates), the shear
   * (Keras's matrix [1 -sin; 0 cos]) and the scale (1 / sx, 1 / sy). */
  double r0 = cs, r1 = -sn, r3 = sn, r4 = cs;                 /* R^-1 */
  double s0 = r0 - ssh * r3, s1 = r1 - ssh * r4;              /* Sh R^-1 */
  double s3 = csh * r3, s4 = csh * r4;
  double m0 = s0 / a->sx, m1 = s1 / a->sx, m3 = s3 / a->sy, m4 = s4 / a->sy;
  double ux = a->dx + cx, uy = a->dy + cy;
  m[0] = m0; m[1] = m1; m[2] = cx - (m0 * ux + m1 * uy);
  m[3] = m3; m[4] = m4; m[5] = cy - (m3 * ux + m4 * uy);
}

int ml_image_warp(ml_ctx *ctx, ml_tensor *out, const ml_tensor *img, const double *mats,
                  int64_t nmats, float fill, ml_pad_mode mode) {
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
        if (fx != fx || fy != fy || fabs(fx) > 1e9 || fabs(fy) > 1e9 ||
            (mode == ML_PAD_CONSTANT && !(fx > -1 && fx < d.w && fy > -1 && fy < d.h))) {
          for (int64_t k = 0; k < c; k++) dr[x * c + k] = fill;
          continue;
        }
        double flx = floor(fx), fly = floor(fy);   /* |f| <= 1e9: the casts are defined */
        int64_t x0 = (int64_t)flx, y0 = (int64_t)fly;
        float ax = (float)(fx - flx), ay = (float)(fy - fly);
        int64_t xa = ml_img_border(x0, d.w, mode), xb = ml_img_border(x0 + 1, d.w, mode);
        int64_t ya = ml_img_border(y0, d.h, mode), yb = ml_img_border(y0 + 1, d.h, mode);
        for (int64_t k = 0; k < c; k++) {
          float p00 = xa >= 0 && ya >= 0 ? si[(ya * d.w + xa) * c + k] : fill;
          float p01 = xb >= 0 && ya >= 0 ? si[(ya * d.w + xb) * c + k] : fill;
          float p10 = xa >= 0 && yb >= 0 ? si[(yb * d.w + xa) * c + k] : fill;
          float p11 = xb >= 0 && yb >= 0 ? si[(yb * d.w + xb) * c + k] : fill;
          float top = p00 + ax * (p01 - p00), bot = p10 + ax * (p11 - p10);
          dr[x * c + k] = top + ay * (bot - top);
        }
      }
    }
  ml_tensor_release(&src);
  return ML_OK;
}
