/*
 * curve.h - ranking and order statistics for the metrics and the DataFrame:
 * the cumulative false/true positive counts at each distinct score (what
 * scikit-learn's _binary_clf_curve computes), and sorted-sample statistics.
 */
#ifndef ML_CURVE_H
#define ML_CURVE_H

#include "../ml.h"

/* Scores sorted in decreasing order (ties stay together); for each distinct
 * score, fps/tps = false/true positives among scores >= it, thr = the score.
 * truth[i] is 1 (positive) or 0. fps, tps, thr must hold n entries; *m gets
 * the number of distinct scores. Fails on a NaN score. */
int ml_clf_curve(ml_ctx *ctx, const double *score, const double *truth, int64_t n,
                 double *fps, double *tps, double *thr, int64_t *m);

/* Statistics of the non-NaN values of a 1-D tensor (float32 or int64):
 * out = {count, mean, std (ddof 1), min, q[0], ..., q[nq-1], max} where the
 * quantiles use linear interpolation (numpy's default). NaN for empty. */
int ml_describe(ml_ctx *ctx, const ml_tensor *t, const double *q, int nq, double *out);

#endif
