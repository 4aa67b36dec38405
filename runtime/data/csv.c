/* csv.c - the streaming CSV reader of csv.h: a byte-at-a-time state machine
 * over a zlib-buffered source, cells kept in one arena, then per-column typing
 * (numbers, or sorted categories with int32 codes). */
#include "csv.h"
#include <zlib.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_BUF (1 << 18)

static const char *const default_na[] = {"", "NA", "N/A", "NaN", "nan", "null", "NULL",
                                         "#N/A", "None"};

typedef struct source {
  FILE *f;                      /* NULL when reading memory */
  int gz, zinit, zdone;         /* gzip input (by magic); inflate set up; last member ended */
  int fresh, members;           /* a member began, nothing inflated yet; members ended */
  z_stream z;
  unsigned char *in;            /* raw bytes read from f */
  size_t pre;                   /* plain file: bytes of `in` not yet handed out */
  const unsigned char *mem;
  size_t memlen, mempos;
  unsigned char *buf;
  size_t len, pos;
} source;

/* Refills s->in from the file; 0 at its end, -1 on a read error. */
static long raw_fill(ml_ctx *ctx, source *s, const char *name) {
  size_t n = fread(s->in, 1, CSV_BUF, s->f);
  if (n == 0 && ferror(s->f))
    return ml_error(ctx, "read_csv: %s: read error: %s", name, strerror(errno)), -1;
  s->z.next_in = s->in;
  s->z.avail_in = (uInt)n;
  return (long)n;
}

/* After a gzip member ended: zero padding up to the end of the file is
 * allowed (as gzip and Python do), another member continues the data, and
 * anything else is an error - never silently dropped. 1: more data follows,
 * 0: the file ended, -1: error. */
static int next_member(ml_ctx *ctx, source *s, const char *name) {
  for (;;) {
    while (s->z.avail_in && *s->z.next_in == 0) { s->z.next_in++; s->z.avail_in--; }
    if (s->z.avail_in) {
      if (*s->z.next_in != 0x1f)
        return ml_error(ctx, "read_csv: %s: trailing garbage after the compressed data", name), -1;
      if (inflateReset(&s->z) != Z_OK)
        return ml_error(ctx, "read_csv: %s: zlib reset failed", name), -1;
      s->fresh = 1;
      return 1;
    }
    long n = raw_fill(ctx, s, name);
    if (n < 0) return -1;
    if (n == 0) return 0;
  }
}

/* Refills src->buf; returns bytes available (0 at end), -1 on a read error. */
static bool ml_is_gzip_magic(const unsigned char *p, size_t n) {
  return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

static long src_fill(ml_ctx *ctx, source *s, const char *name) {
  s->pos = 0;
  s->len = 0;
  if (!s->f) {
    size_t n = s->memlen - s->mempos;
    if (n > CSV_BUF) n = CSV_BUF;
    memcpy(s->buf, s->mem + s->mempos, n);
    s->mempos += n;
    s->len = n;
    return (long)n;
  }
  if (!s->gz) {
    if (s->pre) {
      memcpy(s->buf, s->in, s->pre);
      s->len = s->pre;
      s->pre = 0;
      return (long)s->len;
    }
    size_t n = fread(s->buf, 1, CSV_BUF, s->f);
    if (n == 0 && ferror(s->f))
      return ml_error(ctx, "read_csv: %s: read error: %s", name, strerror(errno)), -1;
    s->len = n;
    return (long)n;
  }
  size_t got = 0;
  while (got == 0 && !s->zdone) {
    if (s->z.avail_in == 0) {
      long n = raw_fill(ctx, s, name);
      if (n < 0) return -1;
      if (n == 0)
        return ml_error(ctx, "read_csv: %s: %s", name, s->fresh && s->members > 0
                        ? "trailing garbage after the compressed data"
                        : "compressed data is truncated"), -1;
    }
    s->z.next_out = s->buf;
    s->z.avail_out = CSV_BUF;
    int rc = inflate(&s->z, Z_NO_FLUSH);
    got = CSV_BUF - s->z.avail_out;
    if (got) s->fresh = 0;
    if (rc == Z_STREAM_END) {
      s->members++;
      int more = next_member(ctx, s, name);
      if (more < 0) return -1;
      if (more == 0) s->zdone = 1;
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      if (s->fresh && s->members > 0)
        return ml_error(ctx, "read_csv: %s: trailing garbage after the compressed data", name), -1;
      return ml_error(ctx, "read_csv: %s: compressed data is corrupt (%s)", name,
                      s->z.msg ? s->z.msg : "zlib error"), -1;
    }
  }
  s->len = got;
  return (long)got;
}

typedef struct parser {
  ml_ctx *ctx;
  const char *name;
  const ml_csv_opts *o;
  char *arena; size_t alen, acap;          /* cell bytes, each NUL-terminated */
  uint64_t *rec; int nrec, crec;           /* offsets of the current record's cells */
  uint64_t *offs; size_t noffs, coffs;     /* all data cells, row-major */
  char **names; int ncols;                 /* -1 until the first record */
  int64_t nrows;
} parser;

/* Every buffer of the reader is accounted to ctx, so a small .csv.gz that
 * inflates to gigabytes fails at the memory limit, not at the machine's end. */
static int grow(parser *P, void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 1024, bytes;
  while (c < need) c *= 2;
  if (!ml_mul_size(&bytes, c, elem)) return ml_error(P->ctx, "read_csv: buffer size overflows");
  void *q = ml_realloc(P->ctx, *p, bytes, "read_csv");
  if (!q) return -1;
  *p = q;
  *cap = c;
  return 0;
}

/* ctx->err already says what failed (the limit, or the request): add where. */
static int oom(parser *P) {
  char msg[ML_ERR_SIZE];
  snprintf(msg, sizeof msg, "%s", P->ctx->err[0] ? P->ctx->err : "read_csv: out of memory");
  return ml_error(P->ctx, "%s (reading %s)", msg, P->name);
}

/* Valid UTF-8 without NUL bytes? On failure *bad is the offending offset. */
static int utf8_ok(const unsigned char *s, size_t n, size_t *bad, int *nul) {
  size_t i = 0;
  *nul = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      if (c == 0) { *bad = i; *nul = 1; return 0; }
      i++; continue;
    }
    int k; unsigned int cp, min;
    if ((c & 0xE0) == 0xC0) { k = 1; cp = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { k = 2; cp = c & 0x0F; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { k = 3; cp = c & 0x07; min = 0x10000; }
    else { *bad = i; return 0; }
    for (int j = 1; j <= k; j++) {
      if (i + (size_t)j >= n || (s[i + j] & 0xC0) != 0x80) { *bad = i; return 0; }
      cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { *bad = i; return 0; }
    i += (size_t)k + 1;
  }
  return 1;
}

/* Closes the current cell (arena bytes from `start`). */
static int end_field(parser *P, size_t start, int64_t line) {
  size_t n = P->alen - start, bad;
  int nul;
  if (grow(P, (void **)&P->arena, &P->acap, P->alen + 1, 1)) return oom(P);
  P->arena[P->alen++] = 0;
  if (!utf8_ok((const unsigned char *)P->arena + start, n, &bad, &nul))
    return ml_error(P->ctx, nul ? "read_csv: %s: line %lld, field %d: NUL byte in the data "
                                  "(is this a binary file?)"
                                : "read_csv: %s: line %lld, field %d: invalid UTF-8 (byte 0x%02x "
                                  "at offset %zu of the field)", P->name, (long long)line,
                    P->nrec + 1, (unsigned char)P->arena[start + bad], bad);
  if (P->nrec >= ML_CSV_MAX_COLS)
    return ml_error(P->ctx, "read_csv: %s: line %lld has more than %d fields", P->name,
                    (long long)line, ML_CSV_MAX_COLS);
  if (P->nrec == P->crec) {
    size_t c = (size_t)P->crec;
    if (grow(P, (void **)&P->rec, &c, (size_t)P->nrec + 1, sizeof(uint64_t))) return oom(P);
    P->crec = (int)c;
  }
  P->rec[P->nrec++] = start;
  return ML_OK;
}

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;
  while (*s) { h ^= (unsigned char)*s++; h *= 1099511628211ull; }
  /* FNV's low bits (the ones a table mask keeps) mix poorly across similar
   * names ("x.1", "x.2", ...): finish with a murmur-style avalanche */
  h ^= h >> 33; h *= 0xff51afd7ed558ccdull; h ^= h >> 33;
  return h;
}

/* Open-addressing set of the names taken so far (column numbers, -1 empty). */
typedef struct nameset {
  int32_t *slot;
  size_t mask;
  char **names;
} nameset;

static int32_t *name_find(nameset *h, const char *s) {
  size_t i = (size_t)hash_str(s) & h->mask;
  while (h->slot[i] >= 0 && strcmp(h->names[h->slot[i]], s)) i = (i + 1) & h->mask;
  return &h->slot[i];
}

/* The header record: names, with pandas' rules for blanks ("Unnamed: 3",
 * 0-based) and duplicates ("x", "x.1", "x.2"). Linear time: a hash set of
 * the names taken, and for each name the next suffix to try (suffixes below
 * it are all taken, since names are never removed). */
static int take_header(parser *P) {
  P->ncols = P->nrec;
  P->names = ml_calloc(P->ctx, (size_t)P->ncols, sizeof(char *), "read_csv");
  if (!P->names) return oom(P);
  size_t cap = 64;
  while (cap < (size_t)P->ncols * 2) cap *= 2;
  nameset H = {ml_malloc(P->ctx, cap * sizeof(int32_t), "read_csv"), cap - 1, P->names};
  int32_t *next = ml_calloc(P->ctx, (size_t)P->ncols + 1, sizeof(int32_t), "read_csv");
  if (!H.slot || !next) { ml_free(P->ctx, H.slot); ml_free(P->ctx, next); return oom(P); }
  memset(H.slot, 0xff, cap * sizeof(int32_t));
  int rc = ML_OK;
  for (int c = 0; c < P->ncols && rc == ML_OK; c++) {
    const char *s = P->arena + P->rec[c];
    char tmp[64];
    if (P->o->header) {
      if (!*s) { snprintf(tmp, sizeof tmp, "Unnamed: %d", c); s = tmp; }
    } else {
      snprintf(tmp, sizeof tmp, "col%d", c + 1);
      s = tmp;
    }
    int32_t *at = name_find(&H, s);
    char *name;
    if (*at < 0) {
      name = ml_strdup(P->ctx, s, "read_csv");
    } else {
      int32_t first = *at;                 /* the column that took s first */
      size_t L = strlen(s) + 24;
      name = ml_malloc(P->ctx, L, "read_csv");
      for (int32_t dup = next[first] ? next[first] : 1; name; dup++) {
        snprintf(name, L, "%s.%d", s, (int)dup);
        at = name_find(&H, name);
        if (*at < 0) { next[first] = dup + 1; break; }
      }
    }
    if (!name) { rc = oom(P); break; }
    P->names[c] = name;
    *at = c;
  }
  ml_free(P->ctx, H.slot);
  ml_free(P->ctx, next);
  if (rc) return rc;
  if (P->o->header) P->alen = 0;   /* header cells are no longer needed */
  return ML_OK;
}

/* Closes a record ending on physical line `line` (started at `first`). */
static int end_record(parser *P, int64_t first, int64_t line) {
  if (P->ncols < 0) {
    if (take_header(P)) return ML_ERR;
    if (P->o->header) { P->nrec = 0; return ML_OK; }
  }
  if (P->nrec != P->ncols) {
    char where[64];
    if (first == line) snprintf(where, sizeof where, "line %lld", (long long)line);
    else snprintf(where, sizeof where, "lines %lld-%lld", (long long)first, (long long)line);
    return ml_error(P->ctx, "read_csv: %s: %s: expected %d fields (%s), got %d", P->name, where,
                    P->ncols, P->o->header ? "as in the header" : "as in the first row",
                    P->nrec);
  }
  if (grow(P, (void **)&P->offs, &P->coffs, P->noffs + (size_t)P->nrec, sizeof(uint64_t)))
    return oom(P);
  memcpy(P->offs + P->noffs, P->rec, (size_t)P->nrec * sizeof(uint64_t));
  P->noffs += (size_t)P->nrec;
  P->nrows++;
  P->nrec = 0;
  return ML_OK;
}

/* The separator among , ; TAB | that occurs most often (outside quotes) in
 * the first record of buf; ',' when none does. */
static char detect_sep(const unsigned char *b, size_t n) {
  const char cand[4] = {',', ';', '\t', '|'};
  long count[4] = {0, 0, 0, 0};
  int q = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = b[i];
    if (c == '"') q = !q;
    else if (!q && (c == '\n' || c == '\r')) break;
    else if (!q) for (int k = 0; k < 4; k++) if (c == (unsigned char)cand[k]) count[k]++;
  }
  int best = 0;
  for (int k = 1; k < 4; k++) if (count[k] > count[best]) best = k;
  return count[best] ? cand[best] : ',';
}

enum { ST_START, ST_FIELD, ST_QUOTED, ST_QUOTE_END };

static int parse(parser *P, source *S, char *sep_out) {
  ml_ctx *ctx = P->ctx;
  size_t maxf = P->o->max_field ? P->o->max_field : ((size_t)16 << 20);
  if (src_fill(ctx, S, P->name) < 0) return ML_ERR;
  if (S->len >= 3 && S->buf[0] == 0xEF && S->buf[1] == 0xBB && S->buf[2] == 0xBF) S->pos = 3;
  char sep = P->o->sep ? P->o->sep : detect_sep(S->buf + S->pos, S->len - S->pos);
  *sep_out = sep;
  int st = ST_START, skip_lf = 0, any = 0;
  int64_t line = 1, rec_line = 1, quote_line = 0;
  size_t start = 0;
  for (;;) {
    if (S->pos == S->len) {
      long got = src_fill(ctx, S, P->name);
      if (got < 0) return ML_ERR;
      if (got == 0) break;
    }
    unsigned char c = S->buf[S->pos++];
    if (skip_lf) { skip_lf = 0; if (c == '\n') continue; }
    switch (st) {
    case ST_START:
      if (c == '"') { st = ST_QUOTED; start = P->alen; quote_line = line; any = 1; continue; }
      start = P->alen;
      st = ST_FIELD;
      /* fall through */
    case ST_FIELD:
      if (c == (unsigned char)sep) {
        if (end_field(P, start, line)) return ML_ERR;
        st = ST_START; any = 1;
      } else if (c == '\n' || c == '\r') {
        if (any || P->alen > start) {
          if (end_field(P, start, line) || end_record(P, rec_line, line)) return ML_ERR;
        }
        if (c == '\r') skip_lf = 1;
        line++; rec_line = line; any = 0; st = ST_START;
      } else {
        if (P->alen - start >= maxf)
          return ml_error(ctx, "read_csv: %s: line %lld: field %d is longer than %zu bytes",
                          P->name, (long long)line, P->nrec + 1, maxf);
        if (P->alen == P->acap && grow(P, (void **)&P->arena, &P->acap, P->alen + 1, 1))
          return oom(P);
        P->arena[P->alen++] = (char)c;
        any = 1;
      }
      break;
    case ST_QUOTED:
      if (c == '"') { st = ST_QUOTE_END; break; }
      if (c == '\n') line++;
      else if (c == '\r' && (S->pos < S->len ? S->buf[S->pos] != '\n' : 1)) line++;
      if (P->alen - start >= maxf)
        return ml_error(ctx, "read_csv: %s: line %lld: quoted field %d is longer than %zu bytes",
                        P->name, (long long)quote_line, P->nrec + 1, maxf);
      if (P->alen == P->acap && grow(P, (void **)&P->arena, &P->acap, P->alen + 1, 1))
        return oom(P);
      P->arena[P->alen++] = (char)c;
      break;
    case ST_QUOTE_END:
      if (c == '"') {        /* doubled quote inside a quoted field */
        if (P->alen == P->acap && grow(P, (void **)&P->arena, &P->acap, P->alen + 1, 1))
          return oom(P);
        P->arena[P->alen++] = '"';
        st = ST_QUOTED;
      } else if (c == (unsigned char)sep) {
        if (end_field(P, start, line)) return ML_ERR;
        st = ST_START;
      } else if (c == '\n' || c == '\r') {
        if (end_field(P, start, line) || end_record(P, rec_line, line)) return ML_ERR;
        if (c == '\r') skip_lf = 1;
        line++; rec_line = line; any = 0; st = ST_START;
      } else {
        char shown[8];
        if (c >= 32 && c < 127) snprintf(shown, sizeof shown, "'%c'", c);
        else snprintf(shown, sizeof shown, "0x%02x", c);
        return ml_error(ctx, "read_csv: %s: line %lld, field %d: unexpected character %s after "
                        "a closing quote (a quote inside a quoted field must be doubled)",
                        P->name, (long long)line, P->nrec + 1, shown);
      }
      break;
    }
  }
  /* end of input */
  if (st == ST_QUOTED)
    return ml_error(ctx, "read_csv: %s: line %lld: quoted field %d is never closed (end of file "
                    "reached)", P->name, (long long)quote_line, P->nrec + 1);
  if (st == ST_START) start = P->alen;   /* "a,b," at the very end: an empty last field */
  if (st == ST_QUOTE_END || st == ST_FIELD || (st == ST_START && any)) {
    if (end_field(P, start, line) || end_record(P, rec_line, line)) return ML_ERR;
  }
  if (P->ncols < 0) return ml_error(ctx, "read_csv: %s: no data (empty file)", P->name);
  return ML_OK;
}

static int is_na(const char *s, const ml_csv_opts *o) {
  if (o->keep_default_na)
    for (size_t i = 0; i < sizeof default_na / sizeof *default_na; i++)
      if (!strcmp(s, default_na[i])) return 1;
  for (int i = 0; i < o->n_na; i++) if (!strcmp(s, o->na_values[i])) return 1;
  return 0;
}

/* A decimal number with optional surrounding blanks ("inf" allowed, hex not). */
static int parse_number(const char *s, double *v) {
  while (*s == ' ' || *s == '\t') s++;
  if (!*s) return 0;
  const char *p = s;
  if (*p == '+' || *p == '-') p++;
  if (!(isdigit((unsigned char)*p) || *p == '.' || *p == 'i' || *p == 'I')) return 0;
  for (const char *q = p; *q; q++) if (*q == 'x' || *q == 'X' || *q == 'n' || *q == 'N') {
    /* "nan" is handled as missing; reject hex and nan-with-payload */
    if (!(q > p && (*q == 'n' || *q == 'N') && (p[0] == 'i' || p[0] == 'I'))) return 0;
  }
  char *end;
  errno = 0;
  double d = strtod(s, &end);
  if (end == s) return 0;
  while (*end == ' ' || *end == '\t') end++;
  if (*end) return 0;
  *v = d;
  return 1;
}

static int in_list(const char *name, const char *const *list, int n) {
  for (int i = 0; i < n; i++) if (!strcmp(name, list[i])) return 1;
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Categories of a string column: codes in first-seen order through an open
 * hash table, then sorted and remapped. */
static int type_string(parser *P, ml_csv_column *col, int c) {
  int64_t n = P->nrows;
  col->is_string = true;
  ml_ctx *ctx = P->ctx;
  col->codes = ml_calloc(ctx, (size_t)(n ? n : 1), sizeof(int32_t), "read_csv");
  size_t cap = 64;
  while (cap < (size_t)n * 2 + 64 && cap < ((size_t)1 << 31)) cap *= 2;
  int32_t *table = ml_malloc(ctx, cap * sizeof(int32_t), "read_csv");
  const char **uniq = NULL; size_t nu = 0, cu = 0;
  if (!col->codes || !table) { ml_free(ctx, table); return oom(P); }
  memset(table, 0xff, cap * sizeof(int32_t));
  for (int64_t r = 0; r < n; r++) {
    const char *s = P->arena + P->offs[(size_t)r * (size_t)P->ncols + (size_t)c];
    if (is_na(s, P->o)) { col->codes[r] = -1; col->nmissing++; continue; }
    size_t h = (size_t)hash_str(s) & (cap - 1);
    while (table[h] >= 0 && strcmp(uniq[table[h]], s)) h = (h + 1) & (cap - 1);
    if (table[h] < 0) {
      if (nu >= (size_t)INT32_MAX - 1 ||
          grow(P, (void **)&uniq, &cu, nu + 1, sizeof(char *))) {
        ml_free(ctx, table); ml_free(ctx, uniq); return oom(P);
      }
      uniq[nu] = s;
      table[h] = (int32_t)nu++;
    }
    col->codes[r] = table[h];
  }
  ml_free(ctx, table);
  /* sort categories; remap codes */
  const char **sorted = ml_calloc(ctx, nu ? nu : 1, sizeof(char *), "read_csv");
  int32_t *remap = ml_calloc(ctx, nu ? nu : 1, sizeof(int32_t), "read_csv");
  col->cats = ml_calloc(ctx, nu ? nu : 1, sizeof(char *), "read_csv");
  if (!sorted || !remap || !col->cats) {
    ml_free(ctx, sorted); ml_free(ctx, remap); ml_free(ctx, uniq); return oom(P);
  }
  memcpy(sorted, uniq, nu * sizeof(char *));
  qsort(sorted, nu, sizeof(char *), cmp_str);
  /* position of each first-seen id in sorted order: search by pointer identity */
  for (size_t k = 0; k < nu; k++) {
    const char **hit = bsearch(&uniq[k], sorted, nu, sizeof(char *), cmp_str);
    remap[k] = (int32_t)(hit - sorted);
  }
  for (size_t k = 0; k < nu; k++) {
    col->cats[k] = ml_strdup(ctx, sorted[k], "read_csv");
    if (!col->cats[k]) {
      ml_free(ctx, sorted); ml_free(ctx, remap); ml_free(ctx, uniq); col->ncats = (int64_t)k;
      return oom(P);
    }
  }
  col->ncats = (int64_t)nu;
  for (int64_t r = 0; r < n; r++) if (col->codes[r] >= 0) col->codes[r] = remap[col->codes[r]];
  ml_free(ctx, sorted); ml_free(ctx, remap); ml_free(ctx, uniq);
  return ML_OK;
}

static int type_columns(parser *P, ml_csv_table *out) {
  const ml_csv_opts *o = P->o;
  int64_t n = P->nrows;
  out->ncols = P->ncols;
  out->nrows = n;
  out->cols = ml_calloc(P->ctx, (size_t)P->ncols, sizeof(ml_csv_column), "read_csv");
  if (!out->cols) return oom(P);
  for (int c = 0; c < P->ncols; c++) {
    ml_csv_column *col = &out->cols[c];
    col->name = P->names[c];
    P->names[c] = NULL;
    int want_string = in_list(col->name, o->force_string, o->n_force_string);
    int want_number = in_list(col->name, o->force_number, o->n_force_number);
    if (!want_string) {
      col->num = ml_calloc(P->ctx, (size_t)(n ? n : 1), sizeof(double), "read_csv");
      if (!col->num) return oom(P);
      int ok = 1;
      int64_t miss = 0;
      for (int64_t r = 0; r < n; r++) {
        const char *s = P->arena + P->offs[(size_t)r * (size_t)P->ncols + (size_t)c];
        if (is_na(s, o)) { col->num[r] = NAN; miss++; continue; }
        if (!parse_number(s, &col->num[r])) {
          if (want_number)
            return ml_error(P->ctx, "read_csv: %s: column '%s' was declared a number, but data "
                            "row %lld holds \"%.40s\"", P->name, col->name, (long long)r + 1, s);
          ok = 0;
          break;
        }
      }
      if (ok) { col->nmissing = miss; continue; }
      ml_free(P->ctx, col->num);
      col->num = NULL;
    }
    if (type_string(P, col, c)) return ML_ERR;
  }
  return ML_OK;
}

static void parser_free(parser *P) {
  ml_free(P->ctx, P->arena); ml_free(P->ctx, P->rec); ml_free(P->ctx, P->offs);
  if (P->names) for (int c = 0; c < P->ncols; c++) ml_free(P->ctx, P->names[c]);
  ml_free(P->ctx, P->names);
}

static int run(ml_ctx *ctx, ml_csv_table *out, source *S, const char *name, const ml_csv_opts *o) {
  ml_csv_opts def;
  if (!o) { ml_csv_opts_init(&def); o = &def; }
  memset(out, 0, sizeof *out);
  out->ctx = ctx;
  if (o->sep == '"' || o->sep == '\n' || o->sep == '\r')
    return ml_error(ctx, "read_csv: separator cannot be a quote or a newline");
  parser P = {0};
  P.ctx = ctx; P.name = name; P.o = o; P.ncols = -1;
  S->buf = ml_malloc(ctx, CSV_BUF, "read_csv");
  if (!S->buf) return oom(&P);
  int rc = parse(&P, S, &out->sep);
  ml_free(ctx, S->buf);
  S->buf = NULL;
  if (rc == ML_OK) {
    char sep = out->sep;
    rc = type_columns(&P, out);
    out->sep = sep;
  }
  if (rc != ML_OK) ml_csv_free(out);
  parser_free(&P);
  return rc;
}

void ml_csv_opts_init(ml_csv_opts *o) {
  memset(o, 0, sizeof *o);
  o->header = true;
  o->keep_default_na = true;
}

int ml_csv_read_file(ml_ctx *ctx, ml_csv_table *out, const char *path, const ml_csv_opts *o) {
  memset(out, 0, sizeof *out);
  source S = {0};
  S.f = fopen(path, "rb");
  if (!S.f) return ml_error(ctx, "read_csv: cannot open '%s': %s", path, strerror(errno));
  S.in = malloc(CSV_BUF);
  if (!S.in) { fclose(S.f); return ml_error(ctx, "read_csv: %s: out of memory", path); }
  int rc = ML_ERR;
  long n = raw_fill(ctx, &S, path);
  if (n < 0) goto done;
  if (ml_is_gzip_magic(S.in, (size_t)n)) {
    S.gz = 1;
    if (inflateInit2(&S.z, 15 + 16) != Z_OK) {
      ml_error(ctx, "read_csv: %s: zlib initialisation failed", path);
      goto done;
    }
    S.zinit = 1;
    S.fresh = 1;
  } else {
    S.pre = (size_t)n;
  }
  rc = run(ctx, out, &S, path, o);
done:
  if (S.zinit) inflateEnd(&S.z);
  free(S.in);
  fclose(S.f);
  return rc;
}

int ml_csv_read_buffer(ml_ctx *ctx, ml_csv_table *out, const char *data, size_t len,
                       const char *name, const ml_csv_opts *o) {
  source S = {0};
  S.mem = (const unsigned char *)data;
  S.memlen = len;
  return run(ctx, out, &S, name ? name : "<buffer>", o);
}

void ml_csv_free(ml_csv_table *t) {
  ml_ctx *ctx = t->ctx;
  if (t->cols) {
    for (int c = 0; c < t->ncols; c++) {
      ml_csv_column *col = &t->cols[c];
      ml_free(ctx, col->name); ml_free(ctx, col->num); ml_free(ctx, col->codes);
      if (col->cats) for (int64_t k = 0; k < col->ncats; k++) ml_free(ctx, col->cats[k]);
      ml_free(ctx, col->cats);
    }
    ml_free(ctx, t->cols);
  }
  memset(t, 0, sizeof *t);
}
