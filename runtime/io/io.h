/*
 * io.h - files: read-only mapping, atomic writes, and the product's own
 * format for trees of values (.mlt tensors/tables, .mlm models: one format).
 *
 * The .mlt layout (all integers little-endian):
 *   0   8  magic  "\x89MLT\r\n\x1a\n"  (binary-safe, catches text-mode copies)
 *   8   4  format version (ML_MLT_VERSION)
 *   12  4  flags (0)
 *   16  8  payload size before compression
 *   24  8  payload size after compression
 *   32  4  CRC-32 of the compressed payload
 *   36  4  CRC-32 of bytes 0..35
 *   40  .. zlib stream of the payload (which carries its own Adler-32)
 * The payload is a sequence of values; ml.io writes two: a metadata table,
 * then the saved value. A value is a tag byte and its body:
 *   'T' u32 n, then n (key, value) pairs   table (keys: 'i' or 's' values)
 *   'i' i64   integer        'f' f64  float     't' / 'F'  true / false
 *   's' u64 n, n bytes       string (any bytes)
 *   'A' u8 dtype, u8 ndim, i64 shape[ndim], raw elements   tensor
 * Nothing in a file is ever executed; readers check every size against what
 * the file can hold before allocating.
 */
#ifndef ML_IO_H
#define ML_IO_H

#include <stdio.h>
#include "../ml.h"

/* ---- read-only file mapping (map.c) ---- */
typedef struct ml_map {
  const uint8_t *data;
  size_t size;
  int mapped;            /* 1: mmap, 0: ml_malloc'd copy (or empty) */
  ml_ctx *ctx;           /* the copy's accounting owner */
} ml_map;
/* Maps a whole file; errors name `who` and the path. A pipe or device is
 * read into accounted memory instead, up to ML_MAP_STREAM_MAX bytes. */
#define ML_MAP_STREAM_MAX ((size_t)1 << 30)
int ml_map_file(ml_ctx *ctx, ml_map *m, const char *path, const char *who);
void ml_map_free(ml_map *m);
/* True when data starts with the gzip magic 1f 8b. */
bool ml_is_gzip(const uint8_t *data, size_t n);
/* Whole contents of a file, gunzipped when it is gzip (by magic). *out is
 * ml_malloc'd (caller frees with ml_free(ctx, *out)), so it counts against
 * the memory limit as it grows. Decompressed size is capped at max_bytes. */
int ml_read_all(ml_ctx *ctx, const char *path, size_t max_bytes, uint8_t **out,
                size_t *len, const char *who);
/* Gunzips (or inflates zlib) data[0..n) into an ml_malloc'd buffer. */
int ml_gunzip(ml_ctx *ctx, const uint8_t *data, size_t n, size_t max_bytes,
              uint8_t **out, size_t *len, const char *who);

/* Sorted names in a directory, without "." entries (dir.c). Free with
 * ml_listdir_free. */
int ml_listdir(ml_ctx *ctx, const char *path, char ***names, size_t *n, const char *who);
void ml_listdir_free(char **names, size_t n);

/* ---- atomic writes (atomic.c) ----
 * A temporary file beside the target is written, flushed, fsync'ed and
 * renamed over the target, so a crash at any point leaves either the old
 * file or the new one, never a mixture. Symlinks are followed (the link
 * stays); a target that exists and is not a regular file (/dev/null, a
 * FIFO) is written in place. Write errors (ENOSPC...) are reported. */
typedef struct ml_atomic {
  FILE *f;
  char *tmp;             /* temporary path (malloc'd; NULL when in place) */
  char *path;            /* final path, symlinks resolved (malloc'd) */
  int in_place;          /* 1: writing into a device or pipe directly */
} ml_atomic;
int ml_atomic_open(ml_ctx *ctx, ml_atomic *a, const char *path, const char *who);
/* Flushes, syncs, renames; on failure the temporary file is removed. */
int ml_atomic_commit(ml_ctx *ctx, ml_atomic *a, const char *who);
/* Closes and removes the temporary file; the target is untouched. */
void ml_atomic_abort(ml_atomic *a);
/* One call: writes data[0..n) to path atomically. */
int ml_write_atomic(ml_ctx *ctx, const char *path, const void *data, size_t n,
                    const char *who);

/* ---- the .mlt format (mlt.c) ---- */
#define ML_MLT_VERSION 1
#define ML_MLT_HEADER 40
#define ML_MLT_MAX_NDIM ML_MAX_DIMS

typedef enum {
  ML_MLT_TABLE = 'T', ML_MLT_INT = 'i', ML_MLT_FLOAT = 'f', ML_MLT_STRING = 's',
  ML_MLT_TRUE = 't', ML_MLT_FALSE = 'F', ML_MLT_TENSOR = 'A'
} ml_mlt_kind;

typedef struct ml_mlt_header {
  uint32_t version, flags;
  uint64_t raw_size, comp_size;
} ml_mlt_header;

/* Writer: streams values through deflate into a FILE (f != NULL) or into
 * memory (f == NULL, accounted to ctx). level: zlib level 0..9. */
typedef struct ml_mlt_writer ml_mlt_writer;
ml_mlt_writer *ml_mlt_writer_new(ml_ctx *ctx, FILE *f, int level);
int ml_mlt_put_table(ml_mlt_writer *w, uint32_t npairs);
int ml_mlt_put_int(ml_mlt_writer *w, int64_t v);
int ml_mlt_put_float(ml_mlt_writer *w, double v);
int ml_mlt_put_bool(ml_mlt_writer *w, bool v);
int ml_mlt_put_string(ml_mlt_writer *w, const void *s, size_t n);
int ml_mlt_put_tensor(ml_mlt_writer *w, const ml_tensor *t);
/* Ends the stream and writes the header (seeking back in the FILE). For a
 * memory writer, *mem / *len receive the whole encoding (ml_malloc'd; the
 * caller frees it with ml_free). */
int ml_mlt_writer_finish(ml_mlt_writer *w, uint8_t **mem, size_t *len);
void ml_mlt_writer_free(ml_mlt_writer *w);

/* Reader: over bytes in memory (a mapped file or a string). Open checks
 * magic, version, sizes and both checksums before anything is decoded. */
typedef struct ml_mlt_reader ml_mlt_reader;
typedef struct ml_mlt_item {
  ml_mlt_kind kind;
  int64_t i;             /* INT */
  double f;              /* FLOAT */
  uint64_t n;            /* TABLE: pairs; STRING: bytes (read them next) */
  ml_dtype dtype;        /* TENSOR: dtype, ndim, shape (read the data next) */
  int ndim;
  int64_t shape[ML_MAX_DIMS];
} ml_mlt_item;
int ml_mlt_header_parse(ml_ctx *ctx, ml_mlt_header *h, const uint8_t *data, size_t n,
                        const char *who);
int ml_mlt_reader_open(ml_ctx *ctx, ml_mlt_reader **r, const uint8_t *data, size_t n,
                       const char *who);
/* Next value's tag and fixed part. Strings and tensors: call read_bytes
 * (string) or read_tensor (tensor) before the next call. */
int ml_mlt_next(ml_mlt_reader *r, ml_mlt_item *it);
int ml_mlt_read_bytes(ml_mlt_reader *r, void *dst, size_t n);
/* Allocates the tensor announced by it (respecting the memory limit). */
int ml_mlt_read_tensor(ml_mlt_reader *r, const ml_mlt_item *it, ml_tensor *out);
/* Payload bytes not read yet (a bound for any length announced next). */
uint64_t ml_mlt_remaining(const ml_mlt_reader *r);
/* Checks that the payload ended exactly where the header said. */
int ml_mlt_reader_end(ml_mlt_reader *r);
void ml_mlt_reader_free(ml_mlt_reader *r);

#endif
