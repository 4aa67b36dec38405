/*
 * image.h - image kernels over float32 tensors, channels last.
 *
 * Every function takes an image (H x W), an image with channels (H x W x C)
 * or a batch (N x H x W x C); the result has the same rank. Work is split
 * over images and rows on ctx->threads threads. Geometry: x runs right
 * along W, y runs down along H; pixel centres sit at integer coordinates.
 */
#ifndef ML_IMAGE_H
#define ML_IMAGE_H

#include "../ml.h"

/* Bilinear resize to oh x ow (half-pixel centres, as OpenCV and TF2). */
int ml_image_resize(ml_ctx *ctx, ml_tensor *out, const ml_tensor *img, int64_t oh, int64_t ow);
/* Mirror left-right (horizontal) and/or top-bottom (vertical). mask: NULL,
 * or one byte per image (batches): only images with mask[i] != 0 flip. */
int ml_image_flip(ml_ctx *ctx, ml_tensor *out, const ml_tensor *img, bool horizontal,
                  bool vertical, const uint8_t *mask, int64_t nmask);
/* Border rules for reads outside the image: zeros (or a fill value),
 * the nearest pixel, reflect (d c b a | a b c d, scipy's "reflect"), or wrap
 * around (a b c d | a b c d). Filters take the first three. */
typedef enum { ML_PAD_CONSTANT = 0, ML_PAD_NEAREST = 1, ML_PAD_REFLECT = 2, ML_PAD_WRAP = 3 } ml_pad_mode;
/* Affine warp with bilinear sampling: output pixel (x, y) reads the input at
 * (m[0] x + m[1] y + m[2], m[3] x + m[4] y + m[5]); reads outside follow
 * `mode` (ML_PAD_CONSTANT reads `fill`). mats holds 6 doubles, or 6 per
 * image when nmats == N. */
int ml_image_warp(ml_ctx *ctx, ml_tensor *out, const ml_tensor *img, const double *mats,
                  int64_t nmats, float fill, ml_pad_mode mode);
/* A transform of the content about the image centre: scale by (sx, sy)
 * (> 1 enlarges), shear by `shear` degrees (Keras's shear angle), rotate
 * by `degrees` counter-clockwise as seen on screen, then shift by (dx, dy)
 * pixels (right, down). */
typedef struct ml_affine { double degrees, shear, sx, sy, dx, dy; } ml_affine;
/* The inverse-map matrix of ml_image_warp for transform a. */
void ml_image_affine_params(double m[6], int64_t h, int64_t w, const ml_affine *a);

/* 2-D filtering of each channel with kernel (kh x kw float32), same-size
 * output. flip: true convolves (kernel flipped, as scipy.ndimage.convolve),
 * false correlates. Borders: zeros, nearest pixel, or reflect (d c b a | a b
 * c d, scipy's "reflect"). The kernel's origin is its centre (kh / 2, kw / 2). */
int ml_image_filter(ml_ctx *ctx, ml_tensor *out, const ml_tensor *img, const ml_tensor *kernel,
                    bool flip, ml_pad_mode mode);
/* Luma of RGB or RGBA (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B), C = 1 out.
 * A one-channel image is copied. */
int ml_image_rgb2gray(ml_ctx *ctx, ml_tensor *out, const ml_tensor *img);

#endif
