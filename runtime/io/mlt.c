/* mlt.c - the product's file format (.mlt / .mlm): a tree of values streamed
 * through zlib, with a checked header. Layout: see io.h. */
#include "io.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mlt.c writes tensor data in host order and assumes a little-endian host"
#endif

static const uint8_t MAGIC[8] = {0x89, 'M', 'L', 'T', '\r', '\n', 0x1a, '\n'};
#define STAGE 65536
#define CHUNK (1u << 30)

static void put_u32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put_u64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t get_u32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static uint64_t get_u64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* ---- writer ---- */

struct ml_mlt_writer {
  ml_ctx *ctx;
  FILE *f;                   /* NULL: memory */
  uint8_t *mem;              /* memory sink (header space reserved at the front) */
  size_t mem_len, mem_cap;
  z_stream z;
  int zok, failed;
  uint64_t raw, comp;
  uint32_t crc;              /* of the compressed bytes */
  size_t stage_len;
  uint8_t stage[STAGE];
  uint8_t out[STAGE];
};

static int wfail(ml_mlt_writer *w, const char *what) {
  if (!w->failed) ml_error(w->ctx, "save: %s", what);
  w->failed = 1;
  return ML_ERR;
}

static int sink(ml_mlt_writer *w, const uint8_t *p, size_t n) {
  w->crc = (uint32_t)crc32(w->crc, p, (uInt)n);
  w->comp += n;
  if (w->f) {
    if (fwrite(p, 1, n, w->f) != n) return wfail(w, "write failed (disk full?)");
    return ML_OK;
  }
  if (w->mem_len + n > w->mem_cap) {
    size_t nc = w->mem_cap * 2;
    while (nc < w->mem_len + n) nc *= 2;
    uint8_t *nb = ml_realloc(w->ctx, w->mem, nc, "save");
    if (!nb) { w->failed = 1; return ML_ERR; }
    w->mem = nb;
    w->mem_cap = nc;
  }
  memcpy(w->mem + w->mem_len, p, n);
  w->mem_len += n;
  return ML_OK;
}

/* Runs deflate over p[0..n) (or finishes the stream when finish). */
static int deflate_in(ml_mlt_writer *w, const uint8_t *p, size_t n, int finish) {
  if (w->failed) return ML_ERR;
  w->raw += n;
  do {
    size_t part = n > CHUNK ? CHUNK : n;
    w->z.next_in = (Bytef *)p;
    w->z.avail_in = (uInt)part;
    p += part;
    n -= part;
    int flush = finish && n == 0 ? Z_FINISH : Z_NO_FLUSH;
    int rc;
    do {
      w->z.next_out = w->out;
      w->z.avail_out = STAGE;
      rc = deflate(&w->z, flush);
      if (rc == Z_STREAM_ERROR) return wfail(w, "compression failed");
      size_t got = STAGE - w->z.avail_out;
      if (got && sink(w, w->out, got)) return ML_ERR;
    } while (w->z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
  } while (n);
  return ML_OK;
}

static int flush_stage(ml_mlt_writer *w) {
  if (!w->stage_len) return ML_OK;
  size_t n = w->stage_len;
  w->stage_len = 0;
  return deflate_in(w, w->stage, n, 0);
}

static int emit(ml_mlt_writer *w, const void *p, size_t n) {
  if (w->failed) return ML_ERR;
  if (w->stage_len + n > STAGE && flush_stage(w)) return ML_ERR;
  if (n > STAGE / 2) return deflate_in(w, p, n, 0);
  memcpy(w->stage + w->stage_len, p, n);
  w->stage_len += n;
  return ML_OK;
}

ml_mlt_writer *ml_mlt_writer_new(ml_ctx *ctx, FILE *f, int level) {
  if (level < 0 || level > 9) {
    ml_error(ctx, "save: expected a compression level 0..9, got %d", level);
    return NULL;
  }
  ml_mlt_writer *w = calloc(1, sizeof *w);
  if (!w) { ml_error(ctx, "save: out of memory"); return NULL; }
  w->ctx = ctx;
  w->f = f;
  w->crc = (uint32_t)crc32(0, NULL, 0);
  /* Level 1 uses Huffman coding only: float data has few repeated strings,
   * and skipping the LZ77 match search makes saving several times faster
   * for about the same size. */
  int strategy = level == 1 ? Z_HUFFMAN_ONLY : Z_DEFAULT_STRATEGY;
  if (deflateInit2(&w->z, level, Z_DEFLATED, 15, 8, strategy) != Z_OK) {
    free(w);
    ml_error(ctx, "save: zlib initialisation failed");
    return NULL;
  }
  w->zok = 1;
  uint8_t blank[ML_MLT_HEADER] = {0};
  if (f) {
    if (fwrite(blank, 1, sizeof blank, f) != sizeof blank) {
      wfail(w, "write failed");
      ml_mlt_writer_free(w);
      return NULL;
    }
  } else {
    w->mem_cap = 1 << 12;
    w->mem = ml_malloc(ctx, w->mem_cap, "save");
    if (!w->mem) { ml_mlt_writer_free(w); return NULL; }
    memcpy(w->mem, blank, sizeof blank);
    w->mem_len = sizeof blank;
  }
  return w;
}

int ml_mlt_put_table(ml_mlt_writer *w, uint32_t npairs) {
  uint8_t b[5] = {ML_MLT_TABLE};
  put_u32(b + 1, npairs);
  return emit(w, b, 5);
}

int ml_mlt_put_int(ml_mlt_writer *w, int64_t v) {
  uint8_t b[9] = {ML_MLT_INT};
  put_u64(b + 1, (uint64_t)v);
  return emit(w, b, 9);
}

int ml_mlt_put_float(ml_mlt_writer *w, double v) {
  uint8_t b[9] = {ML_MLT_FLOAT};
  uint64_t u;
  memcpy(&u, &v, 8);
  put_u64(b + 1, u);
  return emit(w, b, 9);
}

int ml_mlt_put_bool(ml_mlt_writer *w, bool v) {
  uint8_t b = v ? ML_MLT_TRUE : ML_MLT_FALSE;
  return emit(w, &b, 1);
}

int ml_mlt_put_string(ml_mlt_writer *w, const void *s, size_t n) {
  uint8_t b[9] = {ML_MLT_STRING};
  put_u64(b + 1, n);
  if (emit(w, b, 9)) return ML_ERR;
  return emit(w, s, n);
}

int ml_mlt_put_tensor(ml_mlt_writer *w, const ml_tensor *t) {
  uint8_t b[3 + 8 * ML_MAX_DIMS] = {ML_MLT_TENSOR, (uint8_t)t->dtype, (uint8_t)t->ndim};
  for (int i = 0; i < t->ndim; i++) put_u64(b + 3 + 8 * i, (uint64_t)t->shape[i]);
  if (emit(w, b, 3 + 8 * (size_t)t->ndim)) return ML_ERR;
  int64_t n = ml_numel(t);
  if (n == 0) return ML_OK;
  ml_tensor c;
  if (ml_contiguous(w->ctx, &c, t)) { w->failed = 1; return ML_ERR; }
  int rc = flush_stage(w);
  if (!rc) rc = deflate_in(w, (const uint8_t *)c.storage->data + c.offset * ml_dtype_size(c.dtype),
                           (size_t)n * ml_dtype_size(c.dtype), 0);
  ml_tensor_release(&c);
  return rc;
}

int ml_mlt_writer_finish(ml_mlt_writer *w, uint8_t **mem, size_t *len) {
  if (flush_stage(w) || deflate_in(w, NULL, 0, 1)) return ML_ERR;
  uint8_t h[ML_MLT_HEADER];
  memcpy(h, MAGIC, 8);
  put_u32(h + 8, ML_MLT_VERSION);
  put_u32(h + 12, 0);
  put_u64(h + 16, w->raw);
  put_u64(h + 24, w->comp);
  put_u32(h + 32, w->crc);
  put_u32(h + 36, (uint32_t)crc32(crc32(0, NULL, 0), h, 36));
  if (w->f) {
    if (fseek(w->f, 0, SEEK_SET) != 0 || fwrite(h, 1, sizeof h, w->f) != sizeof h)
      return wfail(w, "write failed");
    return ML_OK;
  }
  memcpy(w->mem, h, sizeof h);
  *mem = w->mem;
  *len = w->mem_len;
  w->mem = NULL;
  return ML_OK;
}

void ml_mlt_writer_free(ml_mlt_writer *w) {
  if (!w) return;
  if (w->zok) deflateEnd(&w->z);
  ml_free(w->ctx, w->mem);
  free(w);
}

/* ---- reader ---- */

struct ml_mlt_reader {
  ml_ctx *ctx;
  const char *who;
  z_stream z;
  int zok, ended;
  uint64_t raw_size, pos;       /* payload bytes announced / delivered */
  uint64_t zpos;                /* payload bytes inflated so far */
  const uint8_t *in;
  size_t in_left;               /* compressed bytes not yet given to zlib */
  size_t buf_pos, buf_len;
  uint8_t buf[STAGE];
};

/* CRC-32 of data[0..n): blocks on ctx->threads threads, joined with
 * crc32_combine (the checksum is the same as a serial pass). */
static uint32_t crc32_parallel(ml_ctx *ctx, const uint8_t *data, size_t n) {
  const size_t block = (size_t)8 << 20;
  int64_t nb = (int64_t)((n + block - 1) / block);
  if (nb <= 1 || ctx->threads < 2) {
    uLong c = crc32(0, NULL, 0);
    for (size_t off = 0; off < n;) {
      size_t part = n - off > CHUNK ? CHUNK : n - off;
      c = crc32(c, data + off, (uInt)part);
      off += part;
    }
    return (uint32_t)c;
  }
  uLong *parts = ml_malloc(ctx, sizeof(uLong) * (size_t)nb, "load");
  if (!parts) return crc32_parallel(&(ml_ctx){.threads = 1}, data, n);
#pragma omp parallel for num_threads(ctx->threads) schedule(static)
  for (int64_t i = 0; i < nb; i++) {
    size_t off = (size_t)i * block, len = n - off < block ? n - off : block;
    parts[i] = crc32(crc32(0, NULL, 0), data + off, (uInt)len);
  }
  uLong c = parts[0];
  for (int64_t i = 1; i < nb; i++) {
    size_t off = (size_t)i * block, len = n - off < block ? n - off : block;
    c = crc32_combine(c, parts[i], (z_off_t)len);
  }
  ml_free(ctx, parts);
  return (uint32_t)c;
}

int ml_mlt_header_parse(ml_ctx *ctx, ml_mlt_header *h, const uint8_t *data, size_t n,
                        const char *who) {
  if (n < 8 || memcmp(data, MAGIC, 8) != 0)
    return ml_error(ctx, "%s: not an mlrun file (bad magic)", who);
  if (n < ML_MLT_HEADER)
    return ml_error(ctx, "%s: file is truncated (%zu bytes, header needs %d)", who, n,
                    ML_MLT_HEADER);
  if (get_u32(data + 36) != (uint32_t)crc32(crc32(0, NULL, 0), data, 36))
    return ml_error(ctx, "%s: header checksum mismatch (file is corrupt)", who);
  h->version = get_u32(data + 8);
  h->flags = get_u32(data + 12);
  h->raw_size = get_u64(data + 16);
  h->comp_size = get_u64(data + 24);
  if (h->version == 0 || h->version > ML_MLT_VERSION)
    return ml_error(ctx, "%s: file format version %u is newer than this mlrun supports (%d); "
                    "upgrade mlrun to read it", who, h->version, ML_MLT_VERSION);
  if (h->flags != 0)
    return ml_error(ctx, "%s: unknown format flags 0x%x", who, h->flags);
  return ML_OK;
}

int ml_mlt_reader_open(ml_ctx *ctx, ml_mlt_reader **out, const uint8_t *data, size_t n,
                       const char *who) {
  *out = NULL;
  ml_mlt_header h;
  if (ml_mlt_header_parse(ctx, &h, data, n, who)) return ML_ERR;
  size_t body = n - ML_MLT_HEADER;
  if (h.comp_size > body)
    return ml_error(ctx, "%s: file is truncated (payload has %zu of %llu bytes)", who, body,
                    (unsigned long long)h.comp_size);
  if (h.comp_size < body)
    return ml_error(ctx, "%s: %zu unexpected bytes after the payload (file is corrupt)", who,
                    body - (size_t)h.comp_size);
  /* deflate cannot expand more than ~1032:1; a larger claim is a lie */
  if (h.raw_size / 1032 > h.comp_size + 64)
    return ml_error(ctx, "%s: header claims %llu bytes from %llu compressed (file is corrupt)",
                    who, (unsigned long long)h.raw_size, (unsigned long long)h.comp_size);
  uint32_t crc = crc32_parallel(ctx, data + ML_MLT_HEADER, body);
  if (crc != get_u32(data + 32))
    return ml_error(ctx, "%s: checksum mismatch (file is corrupt)", who);
  ml_mlt_reader *r = calloc(1, sizeof *r);
  if (!r) return ml_error(ctx, "%s: out of memory", who);
  r->ctx = ctx;
  r->who = who;
  r->raw_size = h.raw_size;
  r->in = data + ML_MLT_HEADER;
  r->in_left = body;
  if (inflateInit(&r->z) != Z_OK) {
    free(r);
    return ml_error(ctx, "%s: zlib initialisation failed", who);
  }
  r->zok = 1;
  *out = r;
  return ML_OK;
}

uint64_t ml_mlt_remaining(const ml_mlt_reader *r) { return r->raw_size - r->pos; }

/* Inflates exactly n bytes into dst (or fails: corrupt or short). */
static int inflate_to(ml_mlt_reader *r, uint8_t *dst, size_t n) {
  while (n) {
    if (r->ended) return ml_error(r->ctx, "%s: payload ends early (file is corrupt)", r->who);
    if (r->z.avail_in == 0 && r->in_left) {
      size_t part = r->in_left > CHUNK ? CHUNK : r->in_left;
      r->z.next_in = (Bytef *)r->in;
      r->z.avail_in = (uInt)part;
      r->in += part;
      r->in_left -= part;
    }
    size_t part = n > CHUNK ? CHUNK : n;
    r->z.next_out = dst;
    r->z.avail_out = (uInt)part;
    int rc = inflate(&r->z, Z_NO_FLUSH);
    size_t got = part - r->z.avail_out;
    r->zpos += got;
    dst += got;
    n -= got;
    if (rc == Z_STREAM_END) r->ended = 1;
    else if (rc == Z_BUF_ERROR && r->z.avail_in == 0 && r->in_left == 0)
      return ml_error(r->ctx, "%s: compressed payload is truncated", r->who);
    else if (rc != Z_OK && rc != Z_BUF_ERROR)
      return ml_error(r->ctx, "%s: compressed payload is corrupt (%s)", r->who,
                      r->z.msg ? r->z.msg : "zlib error");
  }
  return ML_OK;
}

int ml_mlt_read_bytes(ml_mlt_reader *r, void *dst_, size_t n) {
  uint8_t *dst = dst_;
  if (n > r->raw_size - r->pos)
    return ml_error(r->ctx, "%s: value of %zu bytes runs past the payload (file is corrupt)",
                    r->who, n);
  r->pos += n;
  size_t have = r->buf_len - r->buf_pos;
  size_t take = have < n ? have : n;
  memcpy(dst, r->buf + r->buf_pos, take);
  r->buf_pos += take;
  dst += take;
  n -= take;
  if (!n) return ML_OK;
  if (n >= STAGE) return inflate_to(r, dst, n);   /* big: straight into place */
  /* refill the buffer with what is left of the payload, up to STAGE */
  uint64_t left = r->raw_size - r->zpos;
  size_t fill = left < STAGE ? (size_t)left : STAGE;
  if (inflate_to(r, r->buf, fill)) return ML_ERR;
  r->buf_pos = n;
  r->buf_len = fill;
  memcpy(dst, r->buf, n);
  return ML_OK;
}

static int rd(ml_mlt_reader *r, void *dst, size_t n) { return ml_mlt_read_bytes(r, dst, n); }

int ml_mlt_next(ml_mlt_reader *r, ml_mlt_item *it) {
  uint8_t tag, b[8];
  memset(it, 0, sizeof *it);
  if (rd(r, &tag, 1)) return ML_ERR;
  it->kind = (ml_mlt_kind)tag;
  switch (tag) {
  case ML_MLT_TABLE:
    if (rd(r, b, 4)) return ML_ERR;
    it->n = get_u32(b);
    if (it->n > ml_mlt_remaining(r) / 2)   /* each pair takes at least 2 bytes */
      return ml_error(r->ctx, "%s: table of %llu entries cannot fit (file is corrupt)", r->who,
                      (unsigned long long)it->n);
    return ML_OK;
  case ML_MLT_INT:
    if (rd(r, b, 8)) return ML_ERR;
    it->i = (int64_t)get_u64(b);
    return ML_OK;
  case ML_MLT_FLOAT: {
    if (rd(r, b, 8)) return ML_ERR;
    uint64_t u = get_u64(b);
    memcpy(&it->f, &u, 8);
    return ML_OK;
  }
  case ML_MLT_TRUE: case ML_MLT_FALSE:
    return ML_OK;
  case ML_MLT_STRING:
    if (rd(r, b, 8)) return ML_ERR;
    it->n = get_u64(b);
    if (it->n > ml_mlt_remaining(r))
      return ml_error(r->ctx, "%s: string of %llu bytes runs past the payload (file is corrupt)",
                      r->who, (unsigned long long)it->n);
    return ML_OK;
  case ML_MLT_TENSOR: {
    uint8_t dn[2];
    if (rd(r, dn, 2)) return ML_ERR;
    if (dn[0] >= ML_DTYPE_COUNT) return ml_error(r->ctx, "%s: unknown tensor dtype %d", r->who, dn[0]);
    if (dn[1] > ML_MAX_DIMS)
      return ml_error(r->ctx, "%s: tensor with %d dimensions (at most %d)", r->who, dn[1],
                      ML_MAX_DIMS);
    it->dtype = (ml_dtype)dn[0];
    it->ndim = dn[1];
    uint64_t total = ml_dtype_size(it->dtype);
    for (int i = 0; i < it->ndim; i++) {
      if (rd(r, b, 8)) return ML_ERR;
      uint64_t d = get_u64(b);
      if (d > (uint64_t)INT64_MAX / 16)
        return ml_error(r->ctx, "%s: tensor dimension %llu is too large (file is corrupt)",
                        r->who, (unsigned long long)d);
      it->shape[i] = (int64_t)d;
      if (d && total > UINT64_MAX / d) total = UINT64_MAX;
      else total *= d;
    }
    if (total > ml_mlt_remaining(r)) {
      char s[128];
      return ml_error(r->ctx, "%s: tensor %s does not fit in the payload (file is corrupt)",
                      r->who, ml_shape_str(s, sizeof s, it->ndim, it->shape));
    }
    return ML_OK;
  }
  default:
    return ml_error(r->ctx, "%s: unknown value tag 0x%02x (file is corrupt)", r->who, tag);
  }
}

int ml_mlt_read_tensor(ml_mlt_reader *r, const ml_mlt_item *it, ml_tensor *out) {
  if (ml_tensor_new(r->ctx, out, it->dtype, it->ndim, it->shape, false)) return ML_ERR;
  size_t nbytes = (size_t)ml_numel(out) * ml_dtype_size(out->dtype);
  if (nbytes && ml_mlt_read_bytes(r, out->storage->data, nbytes)) {
    ml_tensor_release(out);
    return ML_ERR;
  }
  return ML_OK;
}

int ml_mlt_reader_end(ml_mlt_reader *r) {
  if (r->pos != r->raw_size)
    return ml_error(r->ctx, "%s: %llu payload bytes left over (file is corrupt)", r->who,
                    (unsigned long long)(r->raw_size - r->pos));
  if (!r->ended) {
    uint8_t extra;
    r->z.next_out = &extra;
    r->z.avail_out = 1;
    if (r->z.avail_in == 0 && r->in_left) {
      r->z.next_in = (Bytef *)r->in;
      r->z.avail_in = (uInt)(r->in_left > CHUNK ? CHUNK : r->in_left);
    }
    int rc = inflate(&r->z, Z_NO_FLUSH);
    if (rc != Z_STREAM_END || r->z.avail_out == 0)
      return ml_error(r->ctx, "%s: payload longer than its header says (file is corrupt)",
                      r->who);
  }
  return ML_OK;
}

void ml_mlt_reader_free(ml_mlt_reader *r) {
  if (!r) return;
  if (r->zok) inflateEnd(&r->z);
  free(r);
}
