/* map.c - whole-file reads: mmap for regular files (no copy), a read loop
 * for pipes and the like, and gunzip of memory through zlib. */
#include "io.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

bool ml_is_gzip(const uint8_t *data, size_t n) {
  return n >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

int ml_map_file(ml_ctx *ctx, ml_map *m, const char *path, const char *who) {
  memset(m, 0, sizeof *m);
  m->ctx = ctx;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ml_error(ctx, "%s: cannot open '%s': %s", who, path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return ml_error(ctx, "%s: cannot stat '%s': %s", who, path, strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return ml_error(ctx, "%s: '%s' is a directory", who, path);
  }
  if (S_ISREG(st.st_mode)) {
    if (st.st_size > 0) {
      void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        close(fd);
        m->data = p;
        m->size = (size_t)st.st_size;
        m->mapped = 1;
        return ML_OK;
      }
    } else if (st.st_size == 0) {
      close(fd);
      return ML_OK;                 /* empty file: size 0 */
    }
  }
  /* not mappable (a pipe, a device): read it, accounted to ctx */
  size_t cap = 1 << 16, len = 0;
  uint8_t *buf = ml_malloc(ctx, cap, who);
  for (;;) {
    if (!buf) {
      char msg[ML_ERR_SIZE];
      snprintf(msg, sizeof msg, "%s", ctx->err);
      close(fd);
      return ml_error(ctx, "%s (reading '%s')", msg, path);
    }
    ssize_t k = read(fd, buf + len, cap - len);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      int e = errno;
      ml_free(ctx, buf);
      close(fd);
      return ml_error(ctx, "%s: cannot read '%s': %s", who, path, strerror(e));
    }
    if (k == 0) break;
    len += (size_t)k;
    if (len >= ML_MAP_STREAM_MAX) {   /* /dev/zero, an endless pipe */
      ml_free(ctx, buf);
      close(fd);
      return ml_error(ctx, "%s: '%s' is not a regular file and gave more than %zu bytes; "
                      "stopped reading", who, path, (size_t)ML_MAP_STREAM_MAX);
    }
    if (len == cap) {
      uint8_t *nb = ml_realloc(ctx, buf, cap * 2, who);
      if (!nb) ml_free(ctx, buf);
      buf = nb;
      cap *= 2;
    }
  }
  close(fd);
  m->data = buf;
  m->size = len;
  return ML_OK;
}

void ml_map_free(ml_map *m) {
  if (m->data) {
    if (m->mapped) munmap((void *)m->data, m->size);
    else ml_free(m->ctx, (void *)m->data);
  }
  memset(m, 0, sizeof *m);
}

int ml_gunzip(ml_ctx *ctx, const uint8_t *data, size_t n, size_t max_bytes,
              uint8_t **out, size_t *len, const char *who) {
  *out = NULL;
  *len = 0;
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 15 + 32) != Z_OK)   /* +32: gzip or zlib header, detected */
    return ml_error(ctx, "%s: zlib initialisation failed", who);
  size_t cap = n * 4 + 4096, used = 0;
  if (cap > max_bytes) cap = max_bytes + 1;
  uint8_t *buf = ml_malloc(ctx, cap, who);
  int rc = Z_OK, garbage = 0;
  z.next_in = (Bytef *)data;
  size_t left = n;
  while (buf) {
    if (z.avail_in == 0 && left) {
      z.avail_in = left > (1u << 30) ? (1u << 30) : (uInt)left;
      left -= z.avail_in;
    }
    if (used == cap) {
      if (cap > max_bytes) break;
      size_t nc = cap * 2 > max_bytes + 1 ? max_bytes + 1 : cap * 2;
      uint8_t *nb = ml_realloc(ctx, buf, nc, who);
      if (!nb) { ml_free(ctx, buf); buf = NULL; break; }
      buf = nb;
      cap = nc;
    }
    z.next_out = buf + used;
    size_t room = cap - used;
    z.avail_out = room > (1u << 30) ? (1u << 30) : (uInt)room;
    uInt before = z.avail_out;
    rc = inflate(&z, Z_NO_FLUSH);
    used += before - z.avail_out;
    if (rc == Z_STREAM_END) {
      /* concatenated gzip members (as `cat a.gz b.gz`) continue; zero
       * padding may end the file; anything else is trailing garbage */
      const uint8_t *r = z.next_in;
      size_t k = 0;
      while (k < z.avail_in && !r[k]) k++;
      if (k == z.avail_in) {
        const uint8_t *q = data + (n - left);
        size_t j = 0;
        while (j < left && !q[j]) j++;
        if (j == left) break;
        rc = Z_DATA_ERROR;
        garbage = 1;
        break;
      }
      if (k || r[0] != 0x1f) { rc = Z_DATA_ERROR; garbage = 1; break; }
      if (inflateReset(&z) != Z_OK) break;
      continue;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;
    if (rc == Z_BUF_ERROR && z.avail_in == 0 && left == 0) break;   /* input ended early */
  }
  inflateEnd(&z);
  if (!buf) return ML_ERR;     /* ctx->err names the limit or the failed request */
  if (used > max_bytes) {
    ml_free(ctx, buf);
    return ml_error(ctx, "%s: decompressed data larger than %zu bytes", who, max_bytes);
  }
  if (rc != Z_STREAM_END) {
    ml_free(ctx, buf);
    if (garbage) return ml_error(ctx, "%s: trailing garbage after the compressed data", who);
    return ml_error(ctx, "%s: compressed data is %s", who,
                    rc == Z_OK || rc == Z_BUF_ERROR ? "truncated" : "corrupt");
  }
  *out = buf;
  *len = used;
  return ML_OK;
}

int ml_read_all(ml_ctx *ctx, const char *path, size_t max_bytes, uint8_t **out,
                size_t *len, const char *who) {
  ml_map m;
  *out = NULL;
  *len = 0;
  if (ml_map_file(ctx, &m, path, who)) return ML_ERR;
  int rc = ML_OK;
  if (ml_is_gzip(m.data, m.size)) {
    rc = ml_gunzip(ctx, m.data, m.size, max_bytes, out, len, who);
    if (rc) {
      char msg[ML_ERR_SIZE];
      snprintf(msg, sizeof msg, "%s", ctx->err);
      ml_error(ctx, "%s (in '%s')", msg, path);
    }
  } else if (m.size > max_bytes) {
    rc = ml_error(ctx, "%s: '%s' is larger than %zu bytes", who, path, max_bytes);
  } else {
    *out = ml_malloc(ctx, m.size ? m.size : 1, who);
    if (!*out) {
      char msg[ML_ERR_SIZE];
      snprintf(msg, sizeof msg, "%s", ctx->err);
      rc = ml_error(ctx, "%s (reading '%s')", msg, path);
    }
    else { memcpy(*out, m.data, m.size); *len = m.size; }
  }
  ml_map_free(&m);
  return rc;
}
