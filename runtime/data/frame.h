/*
 * frame.h - column kernels behind the DataFrame (stdlib/ml/dataframe.lua):
 * one-hot encoding of category codes and gathering 1-D columns into a
 * matrix, in one pass each instead of one tensor operation per category.
 */
#ifndef ML_FRAME_H
#define ML_FRAME_H

#include "../ml.h"

/* out (N x k float32) = one-hot rows of codes (int64 [N], 0..k-1; negative =
 * missing -> an all-zero row). Fails on a code >= k. */
int ml_frame_onehot(ml_ctx *ctx, ml_tensor *out, const ml_tensor *codes, int64_t k);

/* out (N x n float32): column j is cols[j] (1-D, length N, float32 or int64,
 * any stride). */
int ml_frame_columns(ml_ctx *ctx, ml_tensor *out, const ml_tensor *cols, int n);

/* out = rows idx of t (along the first dimension), copied with one memcpy
 * per row. idx: 1-D int64 or float32 positions; `base` is subtracted from
 * each (1 for Lua's 1-based positions, 0 for C's). Fails naming the first
 * out-of-range position. */
int ml_frame_take(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, const ml_tensor *idx,
                  int64_t base);

#endif
