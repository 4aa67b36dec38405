/* logistic.h - L2-regularised logistic regression by L-BFGS (binary and
 * multinomial), the optimum scikit-learn's lbfgs solver reaches.
 *
 * Objective (as scikit-learn 1.2): sum_i sw_i * loss_i + 1/(2C) ||W||^2,
 * loss the log loss (binary) or the softmax cross-entropy (multinomial); the
 * intercept is not penalised. Parameters live in double precision; the loss
 * and its gradient go through DGEMM over a double copy of X. */
#ifndef ML_ESTIM_LOGISTIC_H
#define ML_ESTIM_LOGISTIC_H
#include "../ml.h"

typedef struct ml_logreg_params {
  double C;             /* > 0: inverse strength; ignored without penalty */
  bool penalty;         /* false: "none" */
  bool fit_intercept;
  int max_iter;         /* L-BFGS iterations, >= 1 */
  double tol;           /* stop when max |gradient| <= tol */
} ml_logreg_params;

/* Returns NULL when the parameters are valid, else a message. */
const char *ml_logreg_check(const ml_logreg_params *p);

/* X: n x f float32; y: n class ids in 0..K-1; sw: n sample weights or NULL.
 * K == 2: binary, one weight row, class 1 positive. K > 2: multinomial, K rows.
 * coef: R x f, intercept: R (R = 1 or K) — also the starting point when
 * warm is true. n_iter: iterations run; converged: gradient reached tol. */
int ml_logreg_fit(ml_ctx *ctx, const ml_logreg_params *p, const float *X, const int64_t *y,
                  const double *sw, int64_t n, int64_t f, int K, float *coef, float *intercept,
                  int *n_iter, bool *converged);

#endif
