/* request.c - turning request bodies into model rows: JSON through cJSON,
 * images through the project's PNG (and JPEG) decoders. Every size is
 * checked before anything is allocated for it. */
#include "serve.h"
#include "../data/data.h"
#include "../image/image.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts the numbers of a nested array, requiring every sub-array at one
 * depth to have the same length (a rectangular tensor). */
static int64_t count_values(const cJSON *v, int depth, int64_t *dims, int *ndim, char *err,
                            size_t errn) {
  if (cJSON_IsNumber(v)) {
    if (*ndim < 0) *ndim = depth;
    else if (*ndim != depth) {
      snprintf(err, errn, "instance is not rectangular: a number at depth %d, arrays elsewhere", depth);
      return -1;
    }
    if (!isfinite(v->valuedouble)) {
      snprintf(err, errn, "instance holds a non-finite number");
      return -1;
    }
    return 1;
  }
  if (!cJSON_IsArray(v)) {
    snprintf(err, errn, "instances hold numbers and arrays of numbers; found %s",
             cJSON_IsString(v) ? "a string" : cJSON_IsObject(v) ? "an object"
             : cJSON_IsBool(v) ? "a boolean" : cJSON_IsNull(v) ? "null" : "another value");
    return -1;
  }
  if (depth >= ML_MAX_DIMS) {
    snprintf(err, errn, "instance nested deeper than %d", ML_MAX_DIMS);
    return -1;
  }
  int64_t n = cJSON_GetArraySize(v);
  if (dims[depth] < 0) dims[depth] = n;
  else if (dims[depth] != n) {
    snprintf(err, errn, "instance is not rectangular: arrays of %lld and %lld values at depth %d",
             (long long)dims[depth], (long long)n, depth + 1);
    return -1;
  }
  int64_t total = 0;
  for (const cJSON *e = v->child; e; e = e->next) {
    int64_t c = count_values(e, depth + 1, dims, ndim, err, errn);
    if (c < 0) return -1;
    total += c;
  }
  return total;
}

static float *fill(const cJSON *v, float *out) {
  if (cJSON_IsNumber(v)) { *out = (float)v->valuedouble; return out + 1; }
  for (const cJSON *e = v->child; e; e = e->next) out = fill(e, out);
  return out;
}

int ml_serve_parse_json(const char *body, size_t n, int64_t row_size, float **x, int64_t *rows,
                        char *err, size_t errn) {
  *x = NULL;
  *rows = 0;
  cJSON *root = cJSON_ParseWithLength(body, n);
  if (!root) {
    const char *at = cJSON_GetErrorPtr();
    long off = at && at >= body && at <= body + n ? (long)(at - body) : -1;
    snprintf(err, errn, "malformed JSON body (near byte %ld); expected {\"instances\": [[...], ...]}", off);
    return -1;
  }
  const cJSON *list = root;
  if (cJSON_IsObject(root)) {
    list = cJSON_GetObjectItemCaseSensitive(root, "instances");
    if (!list) list = cJSON_GetObjectItemCaseSensitive(root, "inputs");
    if (!list) {
      snprintf(err, errn, "JSON body has neither \"instances\" nor \"inputs\"");
      cJSON_Delete(root);
      return -1;
    }
  }
  if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0) {
    snprintf(err, errn, "\"instances\" must be a non-empty array of instances");
    cJSON_Delete(root);
    return -1;
  }
  /* one flat instance ([1, 2, 3, 4] for a 4-feature model) is one row */
  int flat = cJSON_IsNumber(list->child);
  int64_t m = flat ? 1 : cJSON_GetArraySize(list);
  float *buf = NULL;
  if (row_size < 1 || m > INT64_MAX / row_size ||
      !(buf = malloc((size_t)(m * row_size) * sizeof *buf))) {
    snprintf(err, errn, "too many values (%lld instances of %lld)", (long long)m, (long long)row_size);
    cJSON_Delete(root);
    return -1;
  }
  float *w = buf;
  int64_t i = 0;
  for (const cJSON *inst = flat ? list : list->child; inst; inst = flat ? NULL : inst->next, i++) {
    int64_t dims[ML_MAX_DIMS + 1];
    for (int d = 0; d <= ML_MAX_DIMS; d++) dims[d] = -1;
    int ndim = -1;
    char sub[200];
    int64_t c = count_values(inst, 0, dims, &ndim, sub, sizeof sub);
    if (c >= 0 && c != row_size)
      snprintf(sub, sizeof sub, "has %lld values, the model takes %lld per instance", (long long)c,
               (long long)row_size), c = -1;
    if (c < 0) {
      snprintf(err, errn, "instance %lld: %s", (long long)i + 1, sub);
      free(buf);
      cJSON_Delete(root);
      return -1;
    }
    w = fill(inst, w);
  }
  cJSON_Delete(root);
  *x = buf;
  *rows = m;
  return 0;
}

/* Width and height from the header, without decoding: PNG's IHDR, JPEG's
 * first start-of-frame marker. 0 when the bytes are neither. */
static int image_size(const uint8_t *p, size_t n, uint64_t *w, uint64_t *h, int *jpeg) {
  static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (n >= 24 && !memcmp(p, png_sig, 8) && !memcmp(p + 12, "IHDR", 4)) {
    *w = (uint64_t)p[16] << 24 | (uint64_t)p[17] << 16 | (uint64_t)p[18] << 8 | p[19];
    *h = (uint64_t)p[20] << 24 | (uint64_t)p[21] << 16 | (uint64_t)p[22] << 8 | p[23];
    *jpeg = 0;
    return 1;
  }
  if (n >= 4 && p[0] == 0xFF && p[1] == 0xD8) {
    size_t i = 2;
    while (i + 4 <= n) {
      if (p[i] != 0xFF) { i++; continue; }
      uint8_t m = p[i + 1];
      if (m == 0xFF) { i++; continue; }
      if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { i += 2; continue; }
      size_t len = (size_t)p[i + 2] << 8 | p[i + 3];
      if (len < 2) return 0;
      int sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
      if (sof) {
        if (i + 9 > n) return 0;
        *h = (uint64_t)p[i + 5] << 8 | p[i + 6];
        *w = (uint64_t)p[i + 7] << 8 | p[i + 8];
        *jpeg = 1;
        return 1;
      }
      i += 2 + len;
    }
  }
  return 0;
}

int ml_serve_decode_image(const uint8_t *data, size_t n, const ml_serve_opts *o, float **x,
                          char *err, size_t errn) {
  *x = NULL;
  uint64_t w = 0, h = 0;
  int jpeg = 0;
  if (!image_size(data, n, &w, &h, &jpeg)) {
    snprintf(err, errn, "the body is not a PNG or JPEG image");
    return 415;
  }
  if (w == 0 || h == 0 || w * h > (uint64_t)o->max_pixels) {
    snprintf(err, errn, "image of %llu x %llu pixels; at most %lld pixels are decoded",
             (unsigned long long)w, (unsigned long long)h, (long long)o->max_pixels);
    return 413;
  }
  ml_ctx ctx;
  ml_ctx_init(&ctx);
  ml_set_threads(&ctx, 1);
  ctx.mem_limit = (size_t)o->max_pixels * 4 * sizeof(float) * 4 + ((size_t)64 << 20);
  ml_tensor img = {0}, conv = {0}, sized = {0};
  int rc = jpeg ? ml_jpeg_read(&ctx, &img, data, n, "predict")
                : ml_png_read(&ctx, &img, data, n, "predict");
  if (rc != ML_OK) {
    snprintf(err, errn, "%s", ctx.err);
    ml_ctx_free(&ctx);
    return 400;
  }
  /* channels: gray from colour as ml.image.rgb2gray does; otherwise drop
   * alpha and repeat gray as the model takes */
  int64_t H = img.shape[0], W = img.shape[1], C = img.shape[2];
  int64_t want_c = o->in_c;
  if (want_c == 1 && C >= 3) {
    rc = ml_image_rgb2gray(&ctx, &conv, &img);
  } else {
    int64_t shape[3] = {H, W, want_c};
    rc = ml_tensor_new(&ctx, &conv, ML_F32, 3, shape, false);
    if (rc == ML_OK) {
      const float *s = ml_f32(&img);
      float *d = ml_f32(&conv);
      int64_t color = C >= 3 ? 3 : 1;
      for (int64_t p = 0; p < H * W; p++, s += C, d += want_c)
        for (int64_t c = 0; c < want_c; c++) d[c] = s[color == 3 && c < 3 ? c : 0];
    }
  }
  if (rc == ML_OK && (H != o->in_h || W != o->in_w))
    rc = ml_image_resize(&ctx, &sized, &conv, o->in_h, o->in_w);
  if (rc != ML_OK) {
    snprintf(err, errn, "%s", ctx.err);
    ml_tensor_release(&img);
    ml_tensor_release(&conv);
    ml_ctx_free(&ctx);
    return 400;
  }
  const ml_tensor *fin = sized.storage ? &sized : &conv;
  int64_t m = (int64_t)o->in_h * o->in_w * want_c;
  float *buf = malloc((size_t)m * sizeof *buf);
  if (buf) {
    const float *s = ml_f32(fin);
    for (int64_t i = 0; i < m; i++) buf[i] = s[i] * (float)o->image_scale;
  }
  ml_tensor_release(&img);
  ml_tensor_release(&conv);
  ml_tensor_release(&sized);
  ml_ctx_free(&ctx);
  if (!buf) {
    snprintf(err, errn, "out of memory");
    return 503;
  }
  *x = buf;
  return 0;
}
