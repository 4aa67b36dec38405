/*
 * optim.h - parameter update kernels (SGD, Adam, RMSprop, Adagrad).
 *
 * Each kernel updates one parameter tensor in place from its gradient and the
 * optimizer's state tensors for that parameter, in one fused pass over
 * contiguous float32 memory (parallel above ML_OPTIM_PAR elements). Updates
 * are elementwise, so results never depend on the thread count.
 * Formulas follow Keras 3 (the API's reference), except SGD's weight decay,
 * which is PyTorch's L2 term added to the gradient; each is spelled out above
 * its kernel. All tensors of one call must have the parameter's shape.
 */
#ifndef ML_OPTIM_H
#define ML_OPTIM_H

#include "../ml.h"

/* Elements below which one thread is faster. Small tensors never enter an
 * OpenMP region at all: even a one-thread region costs microseconds, more
 * than a whole update of a small layer. */
#define ML_OPTIM_PAR 32768

/* SGD (PyTorch form, dampening 0):
 *   g' = g + wd * p
 *   momentum > 0:  v = mu * v + g';  d = nesterov ? g' + mu * v : v
 *   else           d = g'
 *   p -= lr * d
 * velocity may be NULL when momentum == 0. */
int ml_sgd_step(ml_ctx *ctx, ml_tensor *param, const ml_tensor *grad, ml_tensor *velocity,
                double lr, double momentum, bool nesterov, double weight_decay);

/* Adam (Keras): t is the 1-based step count.
 *   m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2
 *   alpha = lr * sqrt(1 - b2^t) / (1 - b1^t)
 *   p -= alpha * m / (sqrt(v) + eps)
 * amsgrad: vmax = max(vmax, v) replaces v in the denominator (vmax may be NULL
 * otherwise). */
int ml_adam_step(ml_ctx *ctx, ml_tensor *param, const ml_tensor *grad, ml_tensor *m,
                 ml_tensor *v, ml_tensor *vmax, double lr, double beta1, double beta2,
                 double eps, int64_t t);

/* RMSprop (Keras):
 *   s = rho s + (1 - rho) g^2
 *   centered: a = rho a + (1 - rho) g;  den = s - a^2 + eps   else den = s + eps
 *   inc = lr * g / sqrt(den)
 *   momentum > 0: b = mu b + inc; p -= b   else p -= inc
 * avg (centered) and mom (momentum) may be NULL when unused. */
int ml_rmsprop_step(ml_ctx *ctx, ml_tensor *param, const ml_tensor *grad, ml_tensor *sq,
                    ml_tensor *avg, ml_tensor *mom, double lr, double rho, double momentum,
                    double eps);

/* Adagrad (Keras):  acc += g^2;  p -= lr * g / sqrt(acc + eps) */
int ml_adagrad_step(ml_ctx *ctx, ml_tensor *param, const ml_tensor *grad, ml_tensor *acc,
                    double lr, double eps);

/* Shared argument check: every non-NULL tensor float32, contiguous, with
 * param's shape. `who` names the kernel in the message. */
int ml_optim_check(ml_ctx *ctx, const char *who, const ml_tensor *param,
                   const ml_tensor *const *others, const char *const *names, int n);

/* Thread t of k gets elements [*lo, *hi) of n, in contiguous static blocks. */
void ml_optim_split(int64_t n, int t, int k, int64_t *lo, int64_t *hi);

#endif
