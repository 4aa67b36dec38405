/* strbuf.h - a growable byte string for building HTTP answers. An
 * allocation failure sets oom and turns later appends into no-ops, so the
 * caller checks once at the end. */
#ifndef ML_SERVE_STRBUF_H
#define ML_SERVE_STRBUF_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct strbuf {
  char *data;
  size_t len, cap;
  int oom;
} strbuf;

static inline int sb_reserve(strbuf *b, size_t extra) {
  if (b->oom) return 0;
  if (b->len + extra + 1 <= b->cap) return 1;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) {
    if (cap > ((size_t)-1) / 2) { b->oom = 1; return 0; }
    cap *= 2;
  }
  char *p = realloc(b->data, cap);
  if (!p) { b->oom = 1; return 0; }
  b->data = p;
  b->cap = cap;
  return 1;
}

static inline void sb_put(strbuf *b, const void *s, size_t n) {
  if (!sb_reserve(b, n)) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = 0;
}

static inline void sb_puts(strbuf *b, const char *s) { sb_put(b, s, strlen(s)); }
static inline void sb_putc(strbuf *b, char c) { sb_put(b, &c, 1); }

static inline void sb_printf(strbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char tmp[256];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof tmp) { sb_put(b, tmp, (size_t)n); return; }
  if (!sb_reserve(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* A JSON string literal of s (UTF-8 passes through, controls escaped). */
static inline void sb_json_string(strbuf *b, const char *s) {
  sb_putc(b, '"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') { sb_putc(b, '\\'); sb_putc(b, (char)c); }
    else if (c < 0x20) sb_printf(b, "\\u%04x", c);
    else sb_putc(b, (char)c);
  }
  sb_putc(b, '"');
}

static inline void sb_free(strbuf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
  b->oom = 0;
}

#endif
