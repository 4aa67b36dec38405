/* naive_bayes.h - Gaussian naive Bayes as scikit-learn's GaussianNB:
 * per-class means and (ddof 0) variances, every variance widened by
 * var_smoothing * the largest feature variance; joint log-likelihoods
 * computed in double precision. */
#ifndef ML_ESTIM_NAIVE_BAYES_H
#define ML_ESTIM_NAIVE_BAYES_H
#include "../ml.h"

/* X[n x p] float32, y[n] int64 class ids 0..K-1 (each present at least once):
 * theta[K x p], var[K x p] (float32), counts[K] (float32), *epsilon. */
int ml_gnb_fit(ml_ctx *ctx, ml_tensor *theta, ml_tensor *var, ml_tensor *counts,
               double *epsilon, const ml_tensor *X, const ml_tensor *y, int64_t K,
               double var_smoothing);
/* jll[n x K] = log prior + sum_j log N(x_j; theta, var); log_prior[K]. When
 * log_proba != NULL it also gets jll - logsumexp(jll) per row, formed in
 * double precision before rounding (jll itself may be huge). */
int ml_gnb_jll(ml_ctx *ctx, ml_tensor *jll, ml_tensor *log_proba, const ml_tensor *X,
               const ml_tensor *theta,
               const ml_tensor *var, const ml_tensor *log_prior);
#endif
