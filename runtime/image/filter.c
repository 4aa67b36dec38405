/* filter.c - per-channel 2-D filtering (convolve / correlate, four border
 * modes) and RGB to gray, parallel over images and rows. */
#include "common.h"
#include <string.h>

int ml_image_filter(ml_ctx *ctx, ml_tensor *out, const ml_tensor *img, const ml_tensor *kernel,
                    bool flip, ml_pad_mode mode) {
  ml_imgdims d = {0, 0, 0, 0};
  char s[128];
  if (ml_imgdims_of(ctx, "image.convolve", img, &d)) return ML_ERR;
  if (kernel->ndim != 2 || kernel->shape[0] < 1 || kernel->shape[1] < 1 ||
      kernel->shape[0] > 63 || kernel->shape[1] > 63)
    return ml_error(ctx, "image.convolve: expected a 2-D kernel (1x1 .. 63x63), got %s",
                    ml_shape_str(s, sizeof s, kernel->ndim, kernel->shape));
  ml_tensor src, ker;
  if (ml_contiguous(ctx, &src, img)) return ML_ERR;
  ml_tensor kf32;   /* float32 and contiguous: an expanded or transposed kernel is read flat */
  if (ml_to_dtype(ctx, &kf32, kernel, ML_F32)) { ml_tensor_release(&src); return ML_ERR; }
  int krc = ml_contiguous(ctx, &ker, &kf32);
  ml_tensor_release(&kf32);
  if (krc) { ml_tensor_release(&src); return ML_ERR; }
  if (ml_img_new(ctx, out, img, d.h, d.w, d.c)) {
    ml_tensor_release(&src);
    ml_tensor_release(&ker);
    return ML_ERR;
  }
  int64_t kh = kernel->shape[0], kw = kernel->shape[1], oy = kh / 2, ox = kw / 2, c = d.c;
  /* correlation weights: flipped kernel for a convolution */
  float kf[63 * 63];
  const float *kp = ml_f32(&ker);
  for (int64_t i = 0; i < kh * kw; i++) kf[i] = flip ? kp[kh * kw - 1 - i] : kp[i];
  if (flip) { oy = kh - 1 - kh / 2; ox = kw - 1 - kw / 2; }
  const float *sp = ml_f32(&src);
  float *o = ml_f32(out);
#pragma omp parallel for collapse(2) num_threads(ctx->threads) if (d.n * d.h * d.w * c * kh * kw > 65536)
  for (int64_t n = 0; n < d.n; n++)
    for (int64_t y = 0; y < d.h; y++) {
      const float *si = sp + n * d.h * d.w * c;
      float *dr = o + (n * d.h + y) * d.w * c;
      memset(dr, 0, sizeof(float) * (size_t)(d.w * c));
      for (int64_t i = 0; i < kh; i++) {
        int64_t yy = ml_img_border(y + i - oy, d.h, mode);
        if (yy < 0) continue;
        const float *row = si + yy * d.w * c;
        for (int64_t j = 0; j < kw; j++) {
          float wgt = kf[i * kw + j];
          if (wgt == 0) continue;
          int64_t dx = j - ox;
          /* interior in one vectorisable run, borders one by one */
          int64_t lo = dx < 0 ? -dx : 0, hi = dx > 0 ? d.w - dx : d.w;
          if (lo > d.w) lo = d.w;
          if (hi < lo) hi = lo;
          for (int64_t x = 0; x < lo; x++) {
            int64_t xx = ml_img_border(x + dx, d.w, mode);
            if (xx >= 0) for (int64_t k = 0; k < c; k++) dr[x * c + k] += wgt * row[xx * c + k];
          }
          const float *rs = row + dx * c;
          for (int64_t t = lo * c; t < hi * c; t++) dr[t] += wgt * rs[t];
          for (int64_t x = hi; x < d.w; x++) {
            int64_t xx = ml_img_border(x + dx, d.w, mode);
            if (xx >= 0) for (int64_t k = 0; k < c; k++) dr[x * c + k] += wgt * row[xx * c + k];
          }
        }
      }
    }
  ml_tensor_release(&src);
  ml_tensor_release(&ker);
  return ML_OK;
}

int ml_image_rgb2gray(ml_ctx *ctx, ml_tensor *out, const ml_tensor *img) {
  ml_imgdims d = {0, 0, 0, 0};
  char s[128];
  if (ml_imgdims_of(ctx, "image.rgb2gray", img, &d)) return ML_ERR;
  if (img->ndim == 2 || d.c == 1) return ml_clone(ctx, out, img);
  if (d.c != 3 && d.c != 4)
    return ml_error(ctx, "image.rgb2gray: expected 3 (RGB) or 4 (RGBA) channels, got %s",
                    ml_shape_str(s, sizeof s, img->ndim, img->shape));
  ml_tensor src;
  if (ml_contiguous(ctx, &src, img)) return ML_ERR;
  if (ml_img_new(ctx, out, img, d.h, d.w, 1)) { ml_tensor_release(&src); return ML_ERR; }
  const float *p = ml_f32(&src);
  float *o = ml_f32(out);
  int64_t total = d.n * d.h * d.w, c = d.c;
#pragma omp parallel for num_threads(ctx->threads) if (total > 65536)
  for (int64_t i = 0; i < total; i++)
    o[i] = 0.299f * p[i * c] + 0.587f * p[i * c + 1] + 0.114f * p[i * c + 2];
  ml_tensor_release(&src);
  return ML_OK;
}
