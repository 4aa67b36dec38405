/*
 * csv.h - a streaming CSV reader (RFC 4180) that types its columns.
 *
 * The reader takes bytes from a file (plain or gzip, through zlib's gzread,
 * which passes plain files through) or from memory, splits records on the
 * separator (given, or detected from the header line among ',', ';', '\t',
 * '|'), honours quoting (quoted separators, doubled quotes, newlines inside
 * quotes), CRLF and a UTF-8 byte-order mark, and skips blank lines. Each
 * column is then typed: "number" when every non-missing cell parses as a
 * number, else "string". Missing cells ("" NA N/A NaN nan null NULL, plus
 * the caller's na_values) are NaN in number columns and code -1 in string
 * columns. String columns are stored as int32 codes into a sorted category
 * list (byte order), so repeated values cost 4 bytes a cell.
 *
 * Errors never crash: ragged rows, a character after a closing quote, an
 * unterminated quote, a field over max_field bytes, invalid UTF-8 and NUL
 * bytes all fail with a message naming the source and the line.
 */
#ifndef ML_CSV_H
#define ML_CSV_H

#include "../ml.h"

typedef struct ml_csv_opts {
  char sep;                   /* 0: detect */
  bool header;                /* first record names the columns */
  bool keep_default_na;       /* the default missing markers apply */
  const char *const *na_values; int n_na;        /* extra missing markers */
  const char *const *force_string; int n_force_string;  /* column names */
  const char *const *force_number; int n_force_number;  /* column names */
  size_t max_field;           /* bytes; 0: 16 MiB */
} ml_csv_opts;

typedef struct ml_csv_column {
  char *name;
  bool is_string;
  double *num;                /* [nrows], NaN = missing (number columns) */
  int32_t *codes;             /* [nrows], -1 = missing (string columns) */
  char **cats;                /* [ncats] sorted categories (string columns) */
  int64_t ncats;
  int64_t nmissing;
} ml_csv_column;

#define ML_CSV_MAX_COLS (1 << 30)   /* fields in one record */

typedef struct ml_csv_table {
  ml_ctx *ctx;                /* every buffer below is accounted to it */
  int64_t nrows;
  int ncols;
  char sep;                   /* the separator used */
  ml_csv_column *cols;        /* [ncols] */
} ml_csv_table;

/* Defaults: detect the separator, header row, default missing markers. */
void ml_csv_opts_init(ml_csv_opts *o);
/* Reads path (".gz" or not: zlib detects compression). out is filled on
 * ML_OK and must be freed with ml_csv_free; on ML_ERR it holds nothing. */
int ml_csv_read_file(ml_ctx *ctx, ml_csv_table *out, const char *path, const ml_csv_opts *o);
/* The same over a memory buffer; name appears in error messages. */
int ml_csv_read_buffer(ml_ctx *ctx, ml_csv_table *out, const char *data, size_t len,
                       const char *name, const ml_csv_opts *o);
void ml_csv_free(ml_csv_table *t);

/* One column to write: float32 numbers (NaN -> empty field) or int64 codes
 * into cats (-1 -> empty field). cats entries are written as given, so the
 * caller quotes them when they hold the separator, a quote or a newline. */
typedef struct ml_csv_wcol {
  const ml_tensor *values;    /* 1-D, nrows entries, any stride */
  const char *const *cats;    /* NULL for a number column */
  int64_t ncats;
} ml_csv_wcol;

/* CSV text of the columns (header: ncols names as written, or NULL), one
 * line per row ending in '\n'. Numbers: integers without decimals, others
 * with 9 significant digits (float32 round-trips). *out is ml_malloc'd; the
 * caller frees it with ml_free(ctx, *out). */
int ml_csv_format(ml_ctx *ctx, char **out, size_t *len, const ml_csv_wcol *cols, int ncols,
                  int64_t nrows, char sep, const char *const *header);

#endif
