/* jpeg.c - JPEG through libjpeg(-turbo): decoding from memory to float32 in
 * [0, 1] (gray stays one channel, everything else becomes RGB) and atomic
 * encoding of gray or RGB images. libjpeg reports errors by longjmp, as
 * libpng: what a jump could leak is reached from a volatile struct. */
#include "data.h"
#include "../io/io.h"
#include <stdio.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct jerr {
  struct jpeg_error_mgr mgr;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
} jerr;

static void on_error(j_common_ptr c) {
  jerr *e = (jerr *)c->err;
  c->err->format_message(c, e->msg);
  longjmp(e->jump, 1);
}
static void on_message(j_common_ptr c) { (void)c; }   /* warnings are not printed */

/* Largest side decoded (JPEG allows 65535; so does this) and a bound on the
 * decoded size relative to the data, against tiny files claiming huge images. */
#define JPEG_MAX_PIXELS ((uint64_t)1 << 28)

int ml_jpeg_read(ml_ctx *ctx, ml_tensor *out, const uint8_t *data, size_t n, const char *who) {
  memset(out, 0, sizeof *out);
  if (n < 4 || data[0] != 0xFF || data[1] != 0xD8)
    return ml_error(ctx, "%s: not a JPEG file (bad signature)", who);
  struct jpeg_decompress_struct cinfo;
  jerr e;
  memset(&e, 0, sizeof e);
  cinfo.err = jpeg_std_error(&e.mgr);
  e.mgr.error_exit = on_error;
  e.mgr.output_message = on_message;
  struct { uint8_t *row; ml_tensor t; } volatile hold = {0};
  if (setjmp(e.jump)) {
    free(hold.row);
    ml_tensor t = hold.t;
    ml_tensor_release(&t);
    jpeg_destroy_decompress(&cinfo);
    return ml_error(ctx, "%s: corrupt JPEG (%s)", who, e.msg[0] ? e.msg : "libjpeg error");
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, (unsigned long)n);
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = cinfo.jpeg_color_space == JCS_GRAYSCALE ? JCS_GRAYSCALE : JCS_RGB;
  uint64_t w = cinfo.image_width, h = cinfo.image_height;
  if (w == 0 || h == 0 || w * h > JPEG_MAX_PIXELS || w * h / 2048 > n + 4096) {
    jpeg_destroy_decompress(&cinfo);
    return ml_error(ctx, "%s: JPEG of %llu x %llu pixels does not fit its %zu bytes of data "
                    "(or exceeds %llu pixels)", who, (unsigned long long)w, (unsigned long long)h,
                    n, (unsigned long long)JPEG_MAX_PIXELS);
  }
  jpeg_start_decompress(&cinfo);
  int c = cinfo.output_components;
  if (c != 1 && c != 3) {
    jpeg_destroy_decompress(&cinfo);
    return ml_error(ctx, "%s: unsupported JPEG with %d components", who, c);
  }
  int64_t shape[3] = {(int64_t)h, (int64_t)w, c};
  ml_tensor t;
  if (ml_tensor_new(ctx, &t, ML_F32, 3, shape, false)) {
    char msg[ML_ERR_SIZE];
    snprintf(msg, sizeof msg, "%s", ctx->err);
    jpeg_destroy_decompress(&cinfo);
    return ml_error(ctx, "%s", msg);
  }
  hold.t = t;
  hold.row = malloc((size_t)w * (size_t)c);
  if (!hold.row) { snprintf(e.msg, sizeof e.msg, "out of memory"); longjmp(e.jump, 1); }
  float *f = ml_f32(&t);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rows[1] = {hold.row};
    size_t y = cinfo.output_scanline;
    if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) break;
    float *dst = f + y * w * (size_t)c;
    for (size_t i = 0; i < w * (size_t)c; i++) dst[i] = hold.row[i] * (1.0f / 255.0f);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  free(hold.row);
  *out = t;
  return ML_OK;
}

int ml_jpeg_save(ml_ctx *ctx, const char *path, const ml_tensor *img, int quality) {
  char s[128];
  if (img->dtype != ML_F32)
    return ml_error(ctx, "image.save: expected a float32 image, got %s", ml_dtype_name(img->dtype));
  int64_t c = img->ndim == 3 ? img->shape[2] : 1;
  if (!(img->ndim == 2 || (img->ndim == 3 && (c == 1 || c == 3))))
    return ml_error(ctx, "image.save: a JPEG holds H x W or H x W x C images with C = 1 or 3, got %s",
                    ml_shape_str(s, sizeof s, img->ndim, img->shape));
  int64_t h = img->shape[0], w = img->shape[1];
  if (h < 1 || w < 1 || h > 65500 || w > 65500)
    return ml_error(ctx, "image.save: a JPEG side is 1..65500 pixels, got %s",
                    ml_shape_str(s, sizeof s, img->ndim, img->shape));
  if (quality < 1 || quality > 100)
    return ml_error(ctx, "image.save: quality must be 1..100, got %d", quality);
  ml_tensor t;
  if (ml_contiguous(ctx, &t, img)) return ML_ERR;
  ml_atomic a;
  if (ml_atomic_open(ctx, &a, path, "image.save")) { ml_tensor_release(&t); return ML_ERR; }
  struct jpeg_compress_struct cinfo;
  jerr e;
  memset(&e, 0, sizeof e);
  cinfo.err = jpeg_std_error(&e.mgr);
  e.mgr.error_exit = on_error;
  e.mgr.output_message = on_message;
  struct { uint8_t *row; } volatile hold = {0};
  if (setjmp(e.jump)) {
    jpeg_destroy_compress(&cinfo);
    ml_atomic_abort(&a);
    free(hold.row);
    ml_tensor_release(&t);
    return ml_error(ctx, "image.save: writing '%s' failed (%s)", path, e.msg);
  }
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, a.f);
  cinfo.image_width = (JDIMENSION)w;
  cinfo.image_height = (JDIMENSION)h;
  cinfo.input_components = (int)c;
  cinfo.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  hold.row = malloc((size_t)(w * c));
  if (!hold.row) { snprintf(e.msg, sizeof e.msg, "out of memory"); longjmp(e.jump, 1); }
  const float *f = ml_f32(&t);
  for (int64_t y = 0; y < h; y++) {
    const float *src = f + y * w * c;
    for (int64_t i = 0; i < w * c; i++) {
      float v = src[i] != src[i] ? 0.0f : src[i] < 0 ? 0.0f : src[i] > 1 ? 1.0f : src[i];
      hold.row[i] = (uint8_t)(v * 255.0f + 0.5f);
    }
    JSAMPROW rows[1] = {hold.row};
    jpeg_write_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  free(hold.row);
  ml_tensor_release(&t);
  return ml_atomic_commit(ctx, &a, "image.save");
}
