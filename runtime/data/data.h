/*
 * data.h - readers and writers of data files: NumPy .npy, IDX (MNIST), PNG, JPEG.
 *
 * Readers work on bytes in memory (a mapped file: see io/io.h), so the same
 * code serves files, strings and fuzzers. Every size a header announces is
 * checked against what the input can hold before anything is allocated, and
 * tensors come from ml_tensor_new (so the engine's memory limit applies).
 */
#ifndef ML_DATA_H
#define ML_DATA_H

#include "../ml.h"

/* ---- .npy (npy.c) ----
 * Reads format versions 1, 2 and 3; C or Fortran order; dtypes
 * f2/f4/f8 (-> float32) and b1, i1/i2/i4/i8, u1/u2/u4/u8 (-> int64), either
 * byte order. Structured dtypes and object arrays are refused. */
int ml_npy_read(ml_ctx *ctx, ml_tensor *out, const uint8_t *data, size_t n, const char *who);
/* Encodes t as .npy version 1.0 (2.0 if the header needs it): '<f4' for
 * float32, '<i8' for int64. *buf is malloc'd (caller frees). */
int ml_npy_encode_header(ml_ctx *ctx, const ml_tensor *t, char **buf, size_t *len);
/* Writes t to path atomically. */
int ml_npy_save(ml_ctx *ctx, const char *path, const ml_tensor *t);

/* ---- IDX (idx.c) ----
 * Big-endian IDX files (magic 0 0 type ndim), plain or gzip (by magic).
 * Types ubyte, sbyte, short, int, float, double. The result has dtype `dtype`;
 * float32 results are multiplied by `scale` (1 keeps raw values). */
int ml_idx_read(ml_ctx *ctx, ml_tensor *out, const uint8_t *data, size_t n, ml_dtype dtype,
                double scale, const char *who);

/* ---- PNG (png.c, through libpng) ----
 * Decodes any PNG (gray, gray+alpha, RGB, RGBA, palette; 1..16 bits) to an
 * H x W x C float32 tensor in [0, 1], C = 1, 2, 3 or 4 (palettes expand to
 * RGB, or RGBA when they carry transparency). */
int ml_png_read(ml_ctx *ctx, ml_tensor *out, const uint8_t *data, size_t n, const char *who);
/* Encodes an H x W or H x W x C (C = 1..4) tensor, values clamped to [0, 1],
 * as an 8-bit PNG (16-bit when bits == 16) written atomically to path. */
int ml_png_save(ml_ctx *ctx, const char *path, const ml_tensor *img, int bits);

/* ---- JPEG (jpeg.c, through libjpeg) ----
 * Decodes baseline and progressive JPEG (gray or YCbCr/RGB; CMYK refused)
 * to an H x W x C float32 tensor in [0, 1], C = 1 or 3. Corrupt data is an
 * error, never a partly gray image; sizes are bounded by what the data can
 * hold, and progressive files by their number of scans. */
int ml_jpeg_read(ml_ctx *ctx, ml_tensor *out, const uint8_t *data, size_t n, const char *who);
/* Encodes an H x W or H x W x C (C = 1 or 3) tensor, values clamped to
 * [0, 1], as a baseline JPEG of the given quality (1..100), atomically. */
int ml_jpeg_save(ml_ctx *ctx, const char *path, const ml_tensor *img, int quality);

/* ---- CIFAR-10 binary version (cifar.c) ----
 * One data_batch_*.bin / test_batch.bin file: N records of a label byte
 * (0..9) and 3 x 32 x 32 pixel bytes (R, G, B planes). images: N x 32 x 32 x 3
 * float32 in [0, 1] (channels last); labels: N int64. */
int ml_cifar10_read(ml_ctx *ctx, ml_tensor *images, ml_tensor *labels, const uint8_t *data,
                    size_t n, const char *who);

#endif
