/* npy.c - NumPy .npy files: a tolerant parser of the header dictionary,
 * conversion of any plain numeric dtype, Fortran order, atomic writing. */
#include "data.h"
#include "../io/io.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct hdr {
  char order;          /* '<' or '>' ('|' and '=' become '<' on this host) */
  char kind;           /* 'f', 'i', 'u', 'b' */
  int size;            /* bytes per element */
  bool fortran;
  int ndim;
  int64_t shape[ML_MAX_DIMS];
  int have_descr, have_order, have_shape;
} hdr;

typedef struct lex { const char *p, *end; } lex;

static void skip_ws(lex *x) {
  while (x->p < x->end && (*x->p == ' ' || *x->p == '\t' || *x->p == '\n' || *x->p == '\r')) x->p++;
}
static bool accept(lex *x, char c) {
  skip_ws(x);
  if (x->p < x->end && *x->p == c) { x->p++; return true; }
  return false;
}
/* Reads a quoted string into buf; false if malformed. */
static bool read_str(lex *x, char *buf, size_t n) {
  skip_ws(x);
  if (x->p >= x->end || (*x->p != '\'' && *x->p != '"')) return false;
  char q = *x->p++;
  size_t k = 0;
  while (x->p < x->end && *x->p != q) {
    if (k + 1 >= n) return false;
    buf[k++] = *x->p++;
  }
  if (x->p >= x->end) return false;
  x->p++;
  buf[k] = 0;
  return true;
}
static bool read_word(lex *x, const char *w) {
  skip_ws(x);
  size_t n = strlen(w);
  if ((size_t)(x->end - x->p) >= n && memcmp(x->p, w, n) == 0) { x->p += n; return true; }
  return false;
}

static int parse_descr(ml_ctx *ctx, hdr *h, const char *d, const char *who) {
  char o = d[0];
  if (o != '<' && o != '>' && o != '|' && o != '=')
    return ml_error(ctx, "%s: unsupported dtype '%s'", who, d);
  h->order = o == '>' ? '>' : '<';
  h->kind = d[1];
  char *end;
  long sz = strtol(d + 2, &end, 10);
  if (d[1] == 0 || *end || end == d + 2) return ml_error(ctx, "%s: unsupported dtype '%s'", who, d);
  bool ok = (h->kind == 'f' && (sz == 2 || sz == 4 || sz == 8)) ||
            ((h->kind == 'i' || h->kind == 'u') && (sz == 1 || sz == 2 || sz == 4 || sz == 8)) ||
            (h->kind == 'b' && sz == 1);
  if (!ok) return ml_error(ctx, "%s: unsupported dtype '%s' (float16/32/64, (u)int8..64 and bool "
                           "are read)", who, d);
  h->size = (int)sz;
  return ML_OK;
}

static int parse_header(ml_ctx *ctx, hdr *h, const char *s, size_t n, const char *who) {
  lex x = {s, s + n};
  memset(h, 0, sizeof *h);
  if (!accept(&x, '{')) return ml_error(ctx, "%s: malformed header (expected '{')", who);
  for (;;) {
    if (accept(&x, '}')) break;
    char key[32], val[32];
    if (!read_str(&x, key, sizeof key) || !accept(&x, ':'))
      return ml_error(ctx, "%s: malformed header (expected 'key':)", who);
    if (!strcmp(key, "descr")) {
      if (!read_str(&x, val, sizeof val))
        return ml_error(ctx, "%s: unsupported dtype (structured or malformed descr)", who);
      if (parse_descr(ctx, h, val, who)) return ML_ERR;
      h->have_descr = 1;
    } else if (!strcmp(key, "fortran_order")) {
      if (read_word(&x, "True")) h->fortran = true;
      else if (read_word(&x, "False")) h->fortran = false;
      else return ml_error(ctx, "%s: malformed header (fortran_order must be True or False)", who);
      h->have_order = 1;
    } else if (!strcmp(key, "shape")) {
      if (!accept(&x, '(')) return ml_error(ctx, "%s: malformed header (shape must be a tuple)", who);
      h->ndim = 0;
      for (;;) {
        if (accept(&x, ')')) break;
        skip_ws(&x);
        if (x.p >= x.end || *x.p < '0' || *x.p > '9')
          return ml_error(ctx, "%s: malformed header (bad shape)", who);
        int64_t v = 0;
        while (x.p < x.end && *x.p >= '0' && *x.p <= '9') {
          if (v > (INT64_MAX - 9) / 10) return ml_error(ctx, "%s: shape entry too large", who);
          v = v * 10 + (*x.p++ - '0');
        }
        if (x.p < x.end && *x.p == 'L') x.p++;     /* Python 2 longs */
        if (h->ndim >= ML_MAX_DIMS)
          return ml_error(ctx, "%s: more than %d dimensions", who, ML_MAX_DIMS);
        h->shape[h->ndim++] = v;
        if (!accept(&x, ',')) {
          if (!accept(&x, ')')) return ml_error(ctx, "%s: malformed header (bad shape)", who);
          break;
        }
      }
      h->have_shape = 1;
    } else {
      return ml_error(ctx, "%s: malformed header (unknown key '%s')", who, key);
    }
    if (!accept(&x, ',')) {
      if (!accept(&x, '}')) return ml_error(ctx, "%s: malformed header (expected ',' or '}')", who);
      break;
    }
  }
  if (!h->have_descr || !h->have_order || !h->have_shape)
    return ml_error(ctx, "%s: header lacks %s", who,
                    !h->have_descr ? "'descr'" : !h->have_order ? "'fortran_order'" : "'shape'");
  return ML_OK;
}

static uint64_t load_uint(const uint8_t *p, int size, bool big) {
  uint64_t v = 0;
  if (big) for (int i = 0; i < size; i++) v = (v << 8) | p[i];
  else for (int i = size - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static float half_to_float(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  float v = e == 0 ? ldexpf((float)m, -24) : e == 31 ? (m ? NAN : INFINITY)
                                                  : ldexpf((float)(m | 1024), e - 25);
  return (h & 0x8000) ? -v : v;
}

static void convert(const hdr *h, void *dst, ml_dtype dt, const uint8_t *src, int64_t count) {
  bool big = h->order == '>';
  int sz = h->size;
  if (((!big || sz == 1) && (size_t)sz == ml_dtype_size(dt)) &&
      ((h->kind == 'f' && ml_dtype_is_float(dt)) || (h->kind == 'i' && dt == ML_I64) ||
       (h->kind == 'u' && dt == ML_U8))) {
    memcpy(dst, src, (size_t)count * (size_t)sz);
    return;
  }
  float *f = dst;
  double *g = dst;
  int64_t *q = dst;
  for (int64_t i = 0; i < count; i++, src += sz) {
    uint64_t u = load_uint(src, sz, big);
    if (h->kind == 'f') {
      if (sz == 2) f[i] = half_to_float((uint16_t)u);
      else if (sz == 4) { float v; uint32_t w = (uint32_t)u; memcpy(&v, &w, 4); f[i] = v; }
      else { double v; memcpy(&v, &u, 8); g[i] = v; }
    } else if (h->kind == 'i') {
      int64_t v = sz == 8 ? (int64_t)u : (int64_t)(u << (64 - 8 * sz)) >> (64 - 8 * sz);
      q[i] = v;
    } else {
      q[i] = h->kind == 'b' ? (u != 0) : (int64_t)u;
    }
  }
}

int ml_npy_read(ml_ctx *ctx, ml_tensor *out, const uint8_t *data, size_t n, const char *who) {
  memset(out, 0, sizeof *out);
  if (n < 6 || memcmp(data, "\x93NUMPY", 6) != 0)
    return ml_error(ctx, "%s: not a .npy file (bad magic)", who);
  if (n < 10) return ml_error(ctx, "%s: file is truncated (no header)", who);
  int major = data[6];
  size_t hlen, start;
  if (major == 1) { hlen = data[8] | (size_t)data[9] << 8; start = 10; }
  else if (major == 2 || major == 3) {
    if (n < 12) return ml_error(ctx, "%s: file is truncated (no header)", who);
    hlen = (size_t)load_uint(data + 8, 4, false);
    start = 12;
  } else return ml_error(ctx, "%s: unsupported .npy format version %d.%d", who, major, data[7]);
  if (hlen > n - start)
    return ml_error(ctx, "%s: file is truncated (header of %zu bytes)", who, hlen);
  hdr h;
  if (parse_header(ctx, &h, (const char *)data + start, hlen, who)) return ML_ERR;
  uint64_t count = 1;
  for (int i = 0; i < h.ndim; i++) {
    if (h.shape[i] && count > UINT64_MAX / (uint64_t)h.shape[i] / 8)
      return ml_error(ctx, "%s: shape too large", who);
    count *= (uint64_t)h.shape[i];
  }
  size_t avail = n - start - hlen;
  if (count * (uint64_t)h.size > avail) {
    char s[128];
    return ml_error(ctx, "%s: file is truncated (shape %s of %d-byte elements needs %llu bytes, "
                    "%zu present)", who, ml_shape_str(s, sizeof s, h.ndim, h.shape), h.size,
                    (unsigned long long)(count * (uint64_t)h.size), avail);
  }
  /* float64 and uint8 keep their dtype; float16/32 read as float32, the
   * other integers (and bool) as int64 */
  ml_dtype dt = h.kind == 'f' ? (h.size == 8 ? ML_F64 : ML_F32)
              : h.kind == 'u' && h.size == 1 ? ML_U8 : ML_I64;
  const uint8_t *src = data + start + hlen;
  if (h.kind == 'u' && h.size == 8)   /* uint64 past 2^63 has no int64 value */
    for (uint64_t i = 0; i < count; i++) {
      uint64_t u = load_uint(src + i * 8, 8, h.order == '>');
      if (u >> 63)
        return ml_error(ctx, "%s: element %llu is %llu, past int64's range (uint64 values >= "
                        "2^63 cannot be held exactly)", who, (unsigned long long)i + 1,
                        (unsigned long long)u);
    }
  if (!h.fortran || h.ndim < 2) {
    if (ml_tensor_new(ctx, out, dt, h.ndim, h.shape, false)) return ML_ERR;
    convert(&h, out->storage->data, dt, src, (int64_t)count);
    return ML_OK;
  }
  /* Fortran order is C order of the reversed shape: read that, transpose back. */
  int64_t rshape[ML_MAX_DIMS];
  int perm[ML_MAX_DIMS];
  for (int i = 0; i < h.ndim; i++) { rshape[i] = h.shape[h.ndim - 1 - i]; perm[i] = h.ndim - 1 - i; }
  ml_tensor r, v;
  if (ml_tensor_new(ctx, &r, dt, h.ndim, rshape, false)) return ML_ERR;
  convert(&h, r.storage->data, dt, src, (int64_t)count);
  int rc = ml_view_permute(ctx, &v, &r, perm);
  ml_tensor_release(&r);
  if (rc) return ML_ERR;
  rc = ml_clone(ctx, out, &v);
  ml_tensor_release(&v);
  return rc;
}

int ml_npy_encode_header(ml_ctx *ctx, const ml_tensor *t, char **buf, size_t *len) {
  char dict[512];
  int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                   t->dtype == ML_F32 ? "<f4" : t->dtype == ML_F64 ? "<f8"
                   : t->dtype == ML_U8 ? "|u1" : "<i8");
  for (int i = 0; i < t->ndim; i++)
    k += snprintf(dict + k, sizeof dict - k, t->ndim == 1 ? "%lld," : i ? ", %lld" : "%lld",
                  (long long)t->shape[i]);
  k += snprintf(dict + k, sizeof dict - k, "), }");
  /* pad with spaces and a final newline so the data starts 64-byte aligned */
  size_t pre = 10, total = (pre + (size_t)k + 1 + 63) / 64 * 64;
  char *b = ml_malloc(ctx, total, "save_npy");
  if (!b) return ML_ERR;
  memcpy(b, "\x93NUMPY\x01\x00", 8);
  size_t hl = total - pre;
  b[8] = (char)(hl & 0xff);
  b[9] = (char)(hl >> 8);
  memcpy(b + pre, dict, (size_t)k);
  memset(b + pre + k, ' ', hl - (size_t)k - 1);
  b[total - 1] = '\n';
  *buf = b;
  *len = total;
  return ML_OK;
}

int ml_npy_save(ml_ctx *ctx, const char *path, const ml_tensor *t) {
  char *hb;
  size_t hl;
  if (ml_npy_encode_header(ctx, t, &hb, &hl)) return ML_ERR;
  ml_tensor c;
  if (ml_contiguous(ctx, &c, t)) { ml_free(ctx, hb); return ML_ERR; }
  ml_atomic a;
  int rc = ml_atomic_open(ctx, &a, path, "save_npy");
  if (!rc) {
    size_t nb = (size_t)ml_numel(&c) * ml_dtype_size(c.dtype);
    const uint8_t *p = (const uint8_t *)c.storage->data + c.offset * ml_dtype_size(c.dtype);
    if (fwrite(hb, 1, hl, a.f) != hl || (nb && fwrite(p, 1, nb, a.f) != nb)) {
      ml_atomic_abort(&a);
      rc = ml_error(ctx, "save_npy: writing '%s' failed", path);
    } else {
      rc = ml_atomic_commit(ctx, &a, "save_npy");
    }
  }
  ml_free(ctx, hb);
  ml_tensor_release(&c);
  return rc;
}
