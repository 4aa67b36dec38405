/* common.h - shape handling shared by the image kernels (private). */
#ifndef ML_IMAGE_COMMON_H
#define ML_IMAGE_COMMON_H
#include "image.h"

/* An image tensor seen as N x H x W x C. */
typedef struct ml_imgdims { int64_t n, h, w, c; } ml_imgdims;

static inline int ml_imgdims_of(ml_ctx *ctx, const char *who, const ml_tensor *t, ml_imgdims *d) {
  char s[128];
  if (t->dtype != ML_F32)
    return ml_error(ctx, "%s: expected a float32 image, got %s", who, ml_dtype_name(t->dtype));
  if (t->ndim == 2) *d = (ml_imgdims){1, t->shape[0], t->shape[1], 1};
  else if (t->ndim == 3) *d = (ml_imgdims){1, t->shape[0], t->shape[1], t->shape[2]};
  else if (t->ndim == 4) *d = (ml_imgdims){t->shape[0], t->shape[1], t->shape[2], t->shape[3]};
  else return ml_error(ctx, "%s: expected an H x W, H x W x C or N x H x W x C image, got %s",
                       who, ml_shape_str(s, sizeof s, t->ndim, t->shape));
  return ML_OK;
}

/* Position i of a line of n pixels, read outside [0, n), by a border rule;
 * -1 for ML_PAD_CONSTANT (the caller uses zero or its fill value). */
static inline int64_t ml_img_border(int64_t i, int64_t n, ml_pad_mode mode) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case ML_PAD_NEAREST: return i < 0 ? 0 : n - 1;
    case ML_PAD_REFLECT: {                       /* d c b a | a b c d | d c b a */
      int64_t p = 2 * n, k = ((i % p) + p) % p;
      return k < n ? k : p - 1 - k;
    }
    case ML_PAD_WRAP: return ((i % n) + n) % n;  /* a b c d | a b c d */
    default: return -1;
  }
}

/* New tensor like t but with spatial size h x w (and c channels). */
static inline int ml_img_new(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int64_t h,
                             int64_t w, int64_t c) {
  int64_t shape[4];
  int nd = t->ndim;
  for (int i = 0; i < nd; i++) shape[i] = t->shape[i];
  int hi = nd == 4 ? 1 : 0;
  shape[hi] = h;
  shape[hi + 1] = w;
  if (nd >= 3) shape[nd - 1] = c;
  return ml_tensor_new(ctx, out, ML_F32, nd, shape, false);
}
#endif
