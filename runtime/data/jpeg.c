/* jpeg.c - JPEG through libjpeg(-turbo): decoding from memory (gray or
 * colour, to float32 in [0, 1]) and atomic encoding of gray or RGB images.
 * libjpeg reports errors through error_exit, which longjmps back here;
 * its warnings (corrupt data it would paper over) are errors too, so a
 * damaged file never loads as a silently wrong image. Sizes are bounded
 * before any pixel buffer exists: each side at most 65500 (the format's
 * limit), and the pixel count must fit the data (every 8x8 block of every
 * component costs at least two bits), so a tiny file cannot ask for a huge
 * image. Progressive files may hold at most 1000 scans. */
#include "data.h"
#include "../io/io.h"
#include <stdio.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SCANS 1000

typedef struct jerr {
  struct jpeg_error_mgr pub;
  struct jpeg_progress_mgr progress;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
} jerr;

static void on_exit_(j_common_ptr c) {
  jerr *e = (jerr *)c->err;
  c->err->format_message(c, e->msg);
  longjmp(e->jump, 1);
}

/* Level -1: a warning about corrupt data; treated as an error. */
static void on_message(j_common_ptr c, int level) {
  if (level < 0) on_exit_(c);
}

static void on_progress(j_common_ptr c) {
  if (c->is_decompressor && ((j_decompress_ptr)c)->input_scan_number > MAX_SCANS) {
    jerr *e = (jerr *)c->err;
    snprintf(e->msg, sizeof e->msg, "more than %d scans", MAX_SCANS);
    longjmp(e->jump, 1);
  }
}

int ml_jpeg_read(ml_ctx *ctx, ml_tensor *out, const uint8_t *data, size_t n, const char *who) {
  memset(out, 0, sizeof *out);
  if (n < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF)
    return ml_error(ctx, "%s: not a JPEG file (bad signature)", who);
  struct jpeg_decompress_struct cinfo;
  jerr e;
  memset(&e, 0, sizeof e);
  cinfo.err = jpeg_std_error(&e.pub);
  e.pub.error_exit = on_exit_;
  e.pub.emit_message = on_message;
  /* what a longjmp must release */
  struct { uint8_t *row; ml_tensor t; bool made; } volatile hold = {0};
  if (setjmp(e.jump)) {
    free(hold.row);
    ml_tensor t = hold.t;
    ml_tensor_release(&t);
    if (hold.made) jpeg_destroy_decompress(&cinfo);
    return ml_error(ctx, "%s: corrupt JPEG (%s)", who, e.msg[0] ? e.msg : "libjpeg error");
  }
  jpeg_create_decompress(&cinfo);
  hold.made = true;
  e.progress.progress_monitor = on_progress;
  cinfo.progress = &e.progress;
  jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)n);
  jpeg_read_header(&cinfo, TRUE);
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    snprintf(e.msg, sizeof e.msg, "CMYK JPEG files are not supported; convert to RGB");
    longjmp(e.jump, 1);
  }
  cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  uint64_t w = cinfo.image_width, h = cinfo.image_height;
  uint64_t blocks = ((w + 7) / 8) * ((h + 7) / 8) * (uint64_t)cinfo.num_components;
  if (w < 1 || h < 1 || w > 65500 || h > 65500 || blocks / 4 > (uint64_t)n + 64) {
    snprintf(e.msg, sizeof e.msg, "image size %llux%llu does not fit %zu bytes of data",
             (unsigned long long)w, (unsigned long long)h, n);
    longjmp(e.jump, 1);
  }
  jpeg_start_decompress(&cinfo);
  int c = cinfo.output_components;
  if (c != 1 && c != 3) {
    snprintf(e.msg, sizeof e.msg, "unsupported layout of %d components", c);
    longjmp(e.jump, 1);
  }
  int64_t shape[3] = {(int64_t)h, (int64_t)w, c};
  ml_tensor t;
  if (ml_tensor_new(ctx, &t, ML_F32, 3, shape, false)) {
    snprintf(e.msg, sizeof e.msg, "%.190s", ctx->err);
    longjmp(e.jump, 1);
  }
  hold.t = t;
  size_t rowbytes = (size_t)w * (size_t)c;
  hold.row = malloc(rowbytes);
  if (!hold.row) { snprintf(e.msg, sizeof e.msg, "out of memory"); longjmp(e.jump, 1); }
  float *f = ml_f32(&t);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rows[1] = {(JSAMPROW)hold.row};
    size_t y = cinfo.output_scanline;
    if (jpeg_read_scanlines(&cinfo, rows, 1) != 1) {
      snprintf(e.msg, sizeof e.msg, "file is truncated");
      longjmp(e.jump, 1);
    }
    for (size_t i = 0; i < rowbytes; i++) f[y * rowbytes + i] = hold.row[i] * (1.0f / 255.0f);
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
  if (img->ndim == 3 && (img->shape[2] == 2 || img->shape[2] == 4))
    return ml_error(ctx, "image.save: JPEG takes C = 1 or 3 channels and has no alpha; save %lld "
                    "channels as PNG, or drop alpha first (img[{{}, {}, {1, %lld}}])",
                    (long long)img->shape[2], (long long)img->shape[2] - 1);
  if (img->ndim != 2 && !(img->ndim == 3 && (img->shape[2] == 1 || img->shape[2] == 3)))
    return ml_error(ctx, "image.save: expected an H x W or H x W x C image (C = 1 or 3) for JPEG, got %s",
                    ml_shape_str(s, sizeof s, img->ndim, img->shape));
  int64_t h = img->shape[0], w = img->shape[1], c = img->ndim == 3 ? img->shape[2] : 1;
  if (h < 1 || w < 1 || h > 65500 || w > 65500)
    return ml_error(ctx, "image.save: a JPEG image must be 1..65500 pixels on each side, got %s",
                    ml_shape_str(s, sizeof s, img->ndim, img->shape));
  if (quality < 1 || quality > 100)
    return ml_error(ctx, "image.save: quality must be 1..100, got %d", quality);
  ml_tensor t;
  if (ml_contiguous(ctx, &t, img)) return ML_ERR;
  uint8_t *row = malloc((size_t)(w * c));
  ml_atomic a;
  if (!row) { ml_tensor_release(&t); return ml_error(ctx, "image.save: out of memory"); }
  if (ml_atomic_open(ctx, &a, path, "image.save")) { free(row); ml_tensor_release(&t); return ML_ERR; }
  struct jpeg_compress_struct cinfo;
  jerr e;
  memset(&e, 0, sizeof e);
  cinfo.err = jpeg_std_error(&e.pub);
  e.pub.error_exit = on_exit_;
  if (setjmp(e.jump)) {
    jpeg_destroy_compress(&cinfo);
    ml_atomic_abort(&a);
    free(row);
    ml_tensor_release(&t);
    return ml_error(ctx, "image.save: writing '%s' failed (%s)", path, e.msg[0] ? e.msg : "libjpeg");
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
  const float *f = ml_f32(&t);
  for (int64_t y = 0; y < h; y++) {
    const float *src = f + y * w * c;
    for (int64_t i = 0; i < w * c; i++) {
      float v = src[i];
      v = v > 0 ? (v < 1 ? v : 1) : 0;          /* clamps NaN to 0 too */
      row[i] = (uint8_t)(v * 255.0f + 0.5f);
    }
    JSAMPROW rows[1] = {row};
    jpeg_write_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  free(row);
  ml_tensor_release(&t);
  return ml_atomic_commit(ctx, &a, "image.save");
}
