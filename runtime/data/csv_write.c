/* csv_write.c - formatting columns as CSV text (ml_csv_format in csv.h). */
#include "csv.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char *p; size_t n, cap; ml_ctx *ctx; } sbuf;

static int put(sbuf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t c = b->cap ? b->cap : 1 << 16;
    while (b->n + n + 1 > c) c *= 2;
    char *q = ml_realloc(b->ctx, b->p, c, "write_csv");
    if (!q) return -1;
    b->p = q;
    b->cap = c;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  return 0;
}

int ml_csv_format(ml_ctx *ctx, char **out, size_t *len, const ml_csv_wcol *cols, int ncols,
                  int64_t nrows, char sep, const char *const *header) {
  *out = NULL;
  *len = 0;
  for (int j = 0; j < ncols; j++) {
    const ml_tensor *t = cols[j].values;
    if (t->ndim != 1 || t->shape[0] != nrows)
      return ml_error(ctx, "write_csv: column %d has %lld entries, expected %lld", j + 1,
                      (long long)(t->ndim == 1 ? t->shape[0] : -1), (long long)nrows);
    if ((cols[j].cats != NULL) != (t->dtype == ML_I64))
      return ml_error(ctx, "write_csv: column %d: codes must be int64 with categories", j + 1);
  }
  sbuf b = {NULL, 0, 0, ctx};
  char num[64];
  if (header)
    for (int j = 0; j < ncols; j++)
      if ((j && put(&b, &sep, 1)) || put(&b, header[j], strlen(header[j]))) goto oom;
  if (header && put(&b, "\n", 1)) goto oom;
  for (int64_t i = 0; i < nrows; i++) {
    for (int j = 0; j < ncols; j++) {
      if (j && put(&b, &sep, 1)) goto oom;
      const ml_tensor *t = cols[j].values;
      int64_t at = t->offset + i * t->stride[0];
      if (cols[j].cats) {
        int64_t c = ((const int64_t *)t->storage->data)[at];
        if (c >= cols[j].ncats) {
          ml_free(ctx, b.p);
          return ml_error(ctx, "write_csv: column %d row %lld: code %lld has no category", j + 1,
                          (long long)i + 1, (long long)c);
        }
        if (c >= 0 && put(&b, cols[j].cats[c], strlen(cols[j].cats[c]))) goto oom;
      } else {
        double v = ml_get(t, at);
        int n = 0;
        if (isnan(v)) n = 0;
        else if (v == floor(v) && fabs(v) < 1e15) n = snprintf(num, sizeof num, "%lld", (long long)v);
        else if (isinf(v)) n = snprintf(num, sizeof num, v > 0 ? "inf" : "-inf");
        else if (t->dtype == ML_F64) {   /* the shortest text that reads back the same double */
          for (int p = 15; p <= 17; p++) {
            n = snprintf(num, sizeof num, "%.*g", p, v);
            if (strtod(num, NULL) == v) break;
          }
        }
        else n = snprintf(num, sizeof num, "%.9g", v);
        if (n && put(&b, num, (size_t)n)) goto oom;
      }
    }
    if (put(&b, "\n", 1)) goto oom;
  }
  if (!b.p && put(&b, "", 0)) goto oom;
  *out = b.p;
  *len = b.n;
  return ML_OK;
oom:
  ml_free(ctx, b.p);
  return ML_ERR;    /* ctx->err names the limit or the request */
}
