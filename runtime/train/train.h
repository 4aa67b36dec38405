/*
 * train.h - the heavy inner steps of the training loop that are not layers:
 * gathering shuffled batches into reused buffers, the fused softmax +
 * cross-entropy loss with its gradient w.r.t. the logits, and accuracy counts.
 *
 * Targets y are either class ids (N, float32 or int64, values 0..K-1) or rows
 * of class probabilities / one-hot (N x K float32).
 */
#ifndef ML_TRAIN_H
#define ML_TRAIN_H

#include "../ml.h"

/* dst[i] = src[idx[i] - origin] for i < n (rows along dim 0). dst and src
 * contiguous, same dtype and row size; dst has at least n rows. origin is 0
 * for 0-based row numbers, 1 for Lua's 1-based positions. */
int ml_train_gather(ml_ctx *ctx, ml_tensor *dst, const ml_tensor *src, const int64_t *idx,
                    int64_t n, int64_t origin);

/* Softmax outputs p (N x K, rows sum to 1) against targets y:
 *   loss    = mean_i -sum_k y_ik log(clip(p_ik, 1e-7, 1 - 1e-7))   (Keras's clip)
 *   grad    = (p - y) / N, the gradient w.r.t. the softmax input (may be NULL;
 *             N x K contiguous float32)
 *   correct = rows whose argmax p equals the label (argmax y for rows of y).
 * Class ids outside 0..K-1 are an error naming the row. */
int ml_train_xent(ml_ctx *ctx, ml_tensor *grad, const ml_tensor *p, const ml_tensor *y,
                    double *loss, int64_t *correct);

/* Rows of predictions p (N x K, or N / N x 1 for one sigmoid output) that
 * match y: argmax for K > 1, the 0.5 threshold for one output. */
int ml_train_correct(ml_ctx *ctx, const ml_tensor *p, const ml_tensor *y, int64_t *correct);

#endif
