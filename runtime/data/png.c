/* png.c - PNG through libpng: decoding from memory (any colour type and bit
 * depth, to float32 in [0, 1]) and atomic encoding of 8- or 16-bit images.
 * libpng reports errors by longjmp: everything a jump could leak is reached
 * from a volatile state struct and released after it. */
#include "data.h"
#include "../io/io.h"
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct pstate {
  const uint8_t *p;
  size_t n, pos;
  char msg[200];
} pstate;

static void on_error(png_structp png, png_const_charp msg) {
  pstate *s = png_get_error_ptr(png);
  snprintf(s->msg, sizeof s->msg, "%s", msg);
  png_longjmp(png, 1);
}
static void on_warning(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static void read_mem(png_structp png, png_bytep out, size_t len) {
  pstate *s = png_get_io_ptr(png);
  if (len > s->n - s->pos) png_error(png, "file is truncated");
  memcpy(out, s->p + s->pos, len);
  s->pos += len;
}

int ml_png_read(ml_ctx *ctx, ml_tensor *out, const uint8_t *data, size_t n, const char *who) {
  memset(out, 0, sizeof *out);
  if (n < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0)
    return ml_error(ctx, "%s: not a PNG file (bad signature)", who);
  pstate st = {data, n, 8, {0}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, on_error, on_warning);
  if (!png) return ml_error(ctx, "%s: libpng initialisation failed", who);
  png_infop info = png_create_info_struct(png);
  /* what a longjmp must release */
  struct { uint8_t *pix; png_bytep *rows; ml_tensor t; } volatile hold = {0};
  if (!info || setjmp(png_jmpbuf(png))) {
    ml_free(ctx, hold.pix);
    ml_free(ctx, hold.rows);
    ml_tensor t = hold.t;
    ml_tensor_release(&t);
    png_destroy_read_struct(&png, info ? &info : NULL, NULL);
    return ml_error(ctx, "%s: corrupt PNG (%s)", who, st.msg[0] ? st.msg : "libpng error");
  }
  png_set_read_fn(png, &st, read_mem);
  png_set_sig_bytes(png, 8);
  png_set_user_limits(png, 1 << 20, 1 << 20);
  png_set_chunk_malloc_max(png, (png_alloc_size_t)64 << 20);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  int ct = png_get_color_type(png, info), bits = png_get_bit_depth(png, info);
  if (ct == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (ct == PNG_COLOR_TYPE_GRAY && bits < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (bits == 16) png_set_swap(png);          /* host order (little-endian) */
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  int c = png_get_channels(png, info);
  int depth = png_get_bit_depth(png, info);
  size_t rowbytes = png_get_rowbytes(png, info);
  if (c < 1 || c > 4 || (depth != 8 && depth != 16) || rowbytes != (size_t)w * c * (depth / 8))
    png_error(png, "unsupported pixel layout");
  /* a decoded image cannot be much larger than deflate allows */
  if ((uint64_t)rowbytes * h / 1032 > n + 4096) png_error(png, "image size does not fit the data");
  int64_t shape[3] = {h, w, c};
  ml_tensor t;
  if (ml_tensor_new(ctx, &t, ML_F32, 3, shape, false)) {
    char msg[ML_ERR_SIZE];
    snprintf(msg, sizeof msg, "%s", ctx->err);
    png_destroy_read_struct(&png, &info, NULL);
    return ml_error(ctx, "%s", msg);
  }
  hold.t = t;
  size_t pixbytes = rowbytes * h;
  hold.pix = ml_malloc(ctx, pixbytes ? pixbytes : 1, who);
  hold.rows = ml_calloc(ctx, h ? h : 1, sizeof(png_bytep), who);
  if (!hold.pix || !hold.rows) {      /* ctx->err names the limit, or the request */
    ml_free(ctx, hold.pix);
    ml_free(ctx, hold.rows);
    ml_tensor_release(&t);
    png_destroy_read_struct(&png, &info, NULL);
    return ML_ERR;
  }
  for (png_uint_32 y = 0; y < h; y++) hold.rows[y] = hold.pix + y * rowbytes;
  png_read_image(png, (png_bytepp)hold.rows);
  png_read_end(png, NULL);
  float *f = ml_f32(&t);
  size_t count = (size_t)w * h * c;
  if (depth == 8) {
    for (size_t i = 0; i < count; i++) f[i] = hold.pix[i] * (1.0f / 255.0f);
  } else {
    const uint16_t *q = (const uint16_t *)hold.pix;
    for (size_t i = 0; i < count; i++) f[i] = q[i] * (1.0f / 65535.0f);
  }
  ml_free(ctx, hold.pix);
  ml_free(ctx, hold.rows);
  png_destroy_read_struct(&png, &info, NULL);
  *out = t;
  return ML_OK;
}

int ml_png_save(ml_ctx *ctx, const char *path, const ml_tensor *img, int bits) {
  char s[128];
  if (img->dtype != ML_F32)
    return ml_error(ctx, "image.save: expected a float32 image, got %s", ml_dtype_name(img->dtype));
  if (img->ndim != 2 && !(img->ndim == 3 && img->shape[2] >= 1 && img->shape[2] <= 4))
    return ml_error(ctx, "image.save: expected an H x W or H x W x C image (C = 1..4), got %s",
                    ml_shape_str(s, sizeof s, img->ndim, img->shape));
  int64_t h = img->shape[0], w = img->shape[1], c = img->ndim == 3 ? img->shape[2] : 1;
  if (h < 1 || w < 1 || h > (1 << 20) || w > (1 << 20))
    return ml_error(ctx, "image.save: cannot write an image of size %s",
                    ml_shape_str(s, sizeof s, img->ndim, img->shape));
  if (bits != 8 && bits != 16) return ml_error(ctx, "image.save: bits must be 8 or 16, got %d", bits);
  ml_tensor t;
  if (ml_contiguous(ctx, &t, img)) return ML_ERR;
  size_t rowbytes = (size_t)(w * c * (bits / 8));
  uint8_t *row = ml_malloc(ctx, rowbytes, "image.save");
  ml_atomic a;
  if (!row) { ml_tensor_release(&t); return ML_ERR; }
  if (ml_atomic_open(ctx, &a, path, "image.save")) { ml_free(ctx, row); ml_tensor_release(&t); return ML_ERR; }
  pstate st = {0};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &st, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!png || !info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, info ? &info : NULL);
    ml_atomic_abort(&a);
    ml_free(ctx, row);
    ml_tensor_release(&t);
    return ml_error(ctx, "image.save: writing '%s' failed (%s)", path, st.msg[0] ? st.msg : "libpng");
  }
  static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                               PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
  png_init_io(png, a.f);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, bits, types[c], PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const float *f = ml_f32(&t);
  for (int64_t y = 0; y < h; y++) {
    const float *src = f + y * w * c;
    for (int64_t i = 0; i < w * c; i++) {
      float v = src[i];
      v = v > 0 ? (v < 1 ? v : 1) : 0;          /* clamps NaN to 0 too */
      if (bits == 8) row[i] = (uint8_t)(v * 255.0f + 0.5f);
      else {
        unsigned q = (unsigned)(v * 65535.0f + 0.5f);
        row[2 * i] = (uint8_t)(q >> 8);
        row[2 * i + 1] = (uint8_t)q;
      }
    }
    png_write_row(png, row);
  }
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  ml_free(ctx, row);
  ml_tensor_release(&t);
  return ml_atomic_commit(ctx, &a, "image.save");
}
