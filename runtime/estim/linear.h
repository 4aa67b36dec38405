/* linear.h - least squares and ridge regression (float32 in, float64 inside).
 *
 * Both centre X and Y when fit_intercept is set (as scikit-learn does), solve
 * in double precision through LAPACK, and report coef in scikit-learn's
 * layout: T x F (one row per target). */
#ifndef ML_ESTIM_LINEAR_H
#define ML_ESTIM_LINEAR_H
#include "../ml.h"

/* Ordinary least squares, minimum-norm when X is rank deficient (dgelsd).
 * X: n x f, Y: n x t (row-major float32). coef: t x f, intercept: t (zero
 * without fit_intercept); rank: numerical rank of the (centred) X. */
int ml_linear_fit(ml_ctx *ctx, const float *X, const float *Y, int64_t n, int64_t f, int64_t t,
                  bool fit_intercept, float *coef, float *intercept, int *rank);

/* Ridge: min ||Y - X W^T - b||^2 + alpha ||W||^2 by Cholesky on the smaller
 * of X^T X + alpha I (f <= n) or X X^T + alpha I, falling back to least
 * squares when that is singular (alpha = 0). alpha >= 0. */
int ml_ridge_fit(ml_ctx *ctx, const float *X, const float *Y, int64_t n, int64_t f, int64_t t,
                 double alpha, bool fit_intercept, float *coef, float *intercept);

#endif
