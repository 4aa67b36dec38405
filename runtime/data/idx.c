/* idx.c - IDX files (the MNIST format): big-endian header and elements,
 * plain or gzip. Gzip input is inflated in chunks straight into the result,
 * so a 47 MB image file never exists twice in memory. */
#include "data.h"
#include "../io/io.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* A byte source: plain memory, or an inflate stream over memory. */
typedef struct src {
  const uint8_t *p;
  size_t left;
  int gz;
  z_stream z;
} src;

static int src_read(ml_ctx *ctx, src *s, uint8_t *dst, size_t n, const char *who) {
  if (!s->gz) {
    if (n > s->left) return ml_error(ctx, "%s: file is truncated", who);
    memcpy(dst, s->p, n);
    s->p += n;
    s->left -= n;
    return ML_OK;
  }
  while (n) {
    if (s->z.avail_in == 0 && s->left) {
      size_t part = s->left > (1u << 30) ? (1u << 30) : s->left;
      s->z.next_in = (Bytef *)s->p;
      s->z.avail_in = (uInt)part;
      s->p += part;
      s->left -= part;
    }
    size_t part = n > (1u << 30) ? (1u << 30) : n;
    s->z.next_out = dst;
    s->z.avail_out = (uInt)part;
    int rc = inflate(&s->z, Z_NO_FLUSH);
    size_t got = part - s->z.avail_out;
    dst += got;
    n -= got;
    if (n == 0) break;
    if (rc == Z_STREAM_END || (rc == Z_BUF_ERROR && s->z.avail_in == 0 && s->left == 0))
      return ml_error(ctx, "%s: file is truncated", who);
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      return ml_error(ctx, "%s: gzip data is corrupt (%s)", who, s->z.msg ? s->z.msg : "zlib error");
  }
  return ML_OK;
}

/* After the last element of a gzip file: the stream must end there, and
 * only zero padding may follow it (as gzip and Python accept); more data or
 * trailing garbage is an error, never silently dropped. */
static int src_end(ml_ctx *ctx, src *s, const char *who) {
  uint8_t extra;
  int rc = Z_OK;
  for (;;) {
    if (s->z.avail_in == 0 && s->left) {
      size_t part = s->left > (1u << 30) ? (1u << 30) : s->left;
      s->z.next_in = (Bytef *)s->p;
      s->z.avail_in = (uInt)part;
      s->p += part;
      s->left -= part;
    }
    s->z.next_out = &extra;
    s->z.avail_out = 1;
    rc = inflate(&s->z, Z_NO_FLUSH);
    if (s->z.avail_out == 0)
      return ml_error(ctx, "%s: the gzip data holds more than the header's elements", who);
    if (rc == Z_STREAM_END) break;
    if (rc == Z_BUF_ERROR && s->z.avail_in == 0 && s->left == 0)
      return ml_error(ctx, "%s: file is truncated (the gzip stream does not end)", who);
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      return ml_error(ctx, "%s: gzip data is corrupt (%s)", who, s->z.msg ? s->z.msg : "zlib error");
  }
  const uint8_t *rest[2] = {s->z.next_in, s->p};
  size_t len[2] = {s->z.avail_in, s->left};
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; i < len[k]; i++)
      if (rest[k][i])
        return ml_error(ctx, "%s: trailing garbage after the gzip data (%zu bytes)", who,
                        len[0] + len[1]);
  return ML_OK;
}

static int type_size(int code) {
  switch (code) {
  case 0x08: case 0x09: return 1;
  case 0x0B: return 2;
  case 0x0C: case 0x0D: return 4;
  case 0x0E: return 8;
  default: return 0;
  }
}

static double load_be(int code, const uint8_t *b) {
  switch (code) {
  case 0x08: return b[0];
  case 0x09: return (int8_t)b[0];
  case 0x0B: return (int16_t)(uint16_t)((b[0] << 8) | b[1]);
  case 0x0C: return (int32_t)(((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
                              ((uint32_t)b[2] << 8) | b[3]);
  case 0x0D: {
    uint32_t u = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    float x;
    memcpy(&x, &u, 4);
    return x;
  }
  default: {
    uint64_t u = 0;
    double v;
    for (int j = 0; j < 8; j++) u = (u << 8) | b[j];
    memcpy(&v, &u, 8);
    return v;
  }
  }
}

/* Converts k big-endian elements of type code to dtype at dst[0..k). The
 * ubyte case (every MNIST file) has its own vectorisable loops. */
static void convert(int code, const uint8_t *b, int64_t k, ml_dtype dt, void *dst, double scale) {
  float *f = dst;
  int64_t *q = dst;
  if (code == 0x08) {
    if (dt == ML_F32) {
      float fs = (float)scale;
      for (int64_t i = 0; i < k; i++) f[i] = (float)b[i] * fs;
    } else {
      for (int64_t i = 0; i < k; i++) q[i] = b[i];
    }
    return;
  }
  int esz = type_size(code);
  for (int64_t i = 0; i < k; i++) {
    double v = load_be(code, b + i * esz);
    if (dt == ML_F32) f[i] = (float)(v * scale);
    else q[i] = v != v ? 0 : v >= 9.2e18 ? INT64_MAX : v <= -9.2e18 ? INT64_MIN : (int64_t)v;
  }
}

int ml_idx_read(ml_ctx *ctx, ml_tensor *out, const uint8_t *data, size_t n, ml_dtype dtype,
                double scale, const char *who) {
  memset(out, 0, sizeof *out);
  src s = {data, n, 0, {0}};
  if (ml_is_gzip(data, n)) {
    s.gz = 1;
    if (inflateInit2(&s.z, 15 + 16) != Z_OK) return ml_error(ctx, "%s: zlib initialisation failed", who);
  }
  uint8_t h[4 + 4 * ML_MAX_DIMS];
  int rc = ML_ERR;
  uint8_t *buf = NULL;
  if (src_read(ctx, &s, h, 4, who)) goto done;
  if (h[0] != 0 || h[1] != 0 || !type_size(h[2]) || h[3] == 0 || h[3] > ML_MAX_DIMS) {
    ml_error(ctx, "%s: not an IDX file (magic %02x %02x %02x %02x)", who, h[0], h[1], h[2], h[3]);
    goto done;
  }
  int code = h[2], ndim = h[3], esz = type_size(code);
  int64_t shape[ML_MAX_DIMS];
  if (src_read(ctx, &s, h + 4, 4 * (size_t)ndim, who)) goto done;
  uint64_t count = 1;
  for (int i = 0; i < ndim; i++) {
    const uint8_t *d = h + 4 + 4 * i;
    shape[i] = ((int64_t)d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3];
    count *= (uint64_t)shape[i];      /* each < 2^32, at most 8: checked below */
    if (count > ((uint64_t)1 << 48)) { ml_error(ctx, "%s: header claims a huge size", who); goto done; }
  }
  uint64_t need = count * (uint64_t)esz;
  /* plain: the bytes must be there; gzip: deflate cannot expand past ~1032:1 */
  if ((!s.gz && need > s.left) || (s.gz && need / 1032 > n + 1024)) {
    char sh[128];
    ml_error(ctx, "%s: file is truncated (header claims %s elements, %llu bytes)", who,
             ml_shape_str(sh, sizeof sh, ndim, shape), (unsigned long long)need);
    goto done;
  }
  if (ml_tensor_new(ctx, out, dtype, ndim, shape, false)) goto done;
  const size_t chunk = 1 << 22;
  size_t osz = ml_dtype_size(dtype);
  uint8_t *dst = out->storage->data;
  if (!s.gz) {
    convert(code, s.p, (int64_t)count, dtype, dst, scale);
    rc = ML_OK;
    goto done;
  }
  /* Two buffers: while one thread inflates chunk i, the other converts
   * chunk i-1 (and takes the page faults of the fresh output). */
  size_t per = chunk / (size_t)esz;
  int64_t nchunks = (int64_t)((count + per - 1) / per);
  buf = ml_malloc(ctx, 2 * chunk, who);
  if (!buf) goto fail;
  int bad = 0;
  for (int64_t step = 0; step <= nchunks && !bad; step++) {
#pragma omp parallel sections num_threads(ctx->threads >= 2 ? 2 : 1)
    {
#pragma omp section
      if (step < nchunks) {
        uint64_t k = count - (uint64_t)step * per < per ? count - (uint64_t)step * per : per;
        if (src_read(ctx, &s, buf + (step % 2) * chunk, (size_t)k * (size_t)esz, who)) bad = 1;
      }
#pragma omp section
      if (step > 0) {
        uint64_t first = (uint64_t)(step - 1) * per;
        uint64_t k = count - first < per ? count - first : per;
        convert(code, buf + ((step - 1) % 2) * chunk, (int64_t)k, dtype, dst + first * osz, scale);
      }
    }
  }
  if (bad || src_end(ctx, &s, who)) goto fail;
  rc = ML_OK;
  goto done;
fail:
  ml_tensor_release(out);
done:
  ml_free(ctx, buf);
  if (s.gz) inflateEnd(&s.z);
  return rc;
}
