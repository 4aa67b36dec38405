/*
 * nn.h - neural-network kernels: layers (forward and backward side by side,
 * one file per layer kind), activations, losses and initializers.
 *
 * Conventions shared by every function here:
 *  - images are N x H x W x C (channels last, as Keras), kernels of Conv2D
 *    are KH x KW x CIN x COUT and Dense kernels are IN x OUT (Keras shapes),
 *    so a convolution is im2col (one row of KH*KW*CIN per output pixel)
 *    times the kernel seen as a (KH*KW*CIN) x COUT matrix, and its result is
 *    already the NHWC output: no transposes anywhere;
 *  - every tensor argument is float32 and contiguous (checked); outputs are
 *    passed in already allocated with the right shape (checked), so a layer
 *    can reuse its output and gradient tensors across batches;
 *  - backward functions overwrite weight gradients (never accumulate) and
 *    take the forward's output y, from which every activation derivative
 *    is computed (relu: y > 0, sigmoid: y(1 - y), tanh: 1 - y^2, ...);
 *  - `pre_activation` true means gy is already the gradient w.r.t. the
 *    pre-activation output (the fused softmax + cross-entropy path);
 *  - workspaces are caller-owned float buffers whose size a *_workspace
 *    function gives, so a layer allocates them once and reuses them.
 */
#ifndef ML_NN_H
#define ML_NN_H

#include "../ml.h"

/* ---- activations (activation.c) ---- */
typedef enum {
  ML_ACT_LINEAR, ML_ACT_RELU, ML_ACT_LEAKY_RELU, ML_ACT_ELU, ML_ACT_SIGMOID,
  ML_ACT_TANH, ML_ACT_SOFTMAX, ML_ACT_SELU, ML_ACT_SOFTPLUS, ML_ACT_SWISH, ML_ACT_GELU,
  ML_ACT_COUNT
} ml_act_kind;
typedef struct { ml_act_kind kind; float alpha; } ml_act;   /* alpha: leaky_relu, elu */

/* Parses "relu", "softmax", ... (NULL or "linear" is linear; "silu" is
 * swish); the error lists the known names. */
int ml_act_parse(ml_ctx *ctx, const char *name, ml_act_kind *out);
const char *ml_act_name(ml_act_kind k);
/* swish (x sigmoid(x)) and gelu (x Phi(x), the exact erf form, Keras's
 * default) cannot be differentiated from their output: their gradient
 * functions take the input x where the others take y. The fused Dense and
 * Conv2D kernels refuse them; layers apply them as a separate step. */
bool ml_act_needs_input(ml_act_kind k);
/* y[rows x cols] = f(x + b) where b[cols] may be NULL; y may alias x.
 * Softmax works on each row (subtracting its max). ctx NULL: one thread
 * (for calls from inside a parallel region). */
void ml_act_rows(ml_ctx *ctx, ml_act a, float *y, const float *x, const float *b,
                 int64_t rows, int64_t cols);
/* gx[rows x cols] = gy * f'(.) from y = f(.) (from x for the kinds of
 * ml_act_needs_input); gx may alias gy. */
void ml_act_grad_rows(ml_ctx *ctx, ml_act a, float *gx, const float *gy, const float *y,
                      int64_t rows, int64_t cols);
/* Tensor forms: the last dimension holds the rows' columns (softmax axis);
 * ml_act_backward's y is the input x for the kinds of ml_act_needs_input. */
int ml_act_forward(ml_ctx *ctx, ml_act a, ml_tensor *y, const ml_tensor *x);
int ml_act_backward(ml_ctx *ctx, ml_act a, ml_tensor *gx, const ml_tensor *gy,
                    const ml_tensor *y);

/* ---- Dense (dense.c): y = f(x W + b) ---- */
/* y[N x U], x[N x D], w[D x U], b[U] or NULL */
int ml_dense_forward(ml_ctx *ctx, ml_tensor *y, const ml_tensor *x, const ml_tensor *w,
                     const ml_tensor *b, ml_act a);
/* gx[N x D] or NULL, gw[D x U], gb[U] or NULL; gz[N x U] scratch (may be
 * NULL when the activation is linear or pre_activation is true). */
int ml_dense_backward(ml_ctx *ctx, ml_tensor *gx, ml_tensor *gw, ml_tensor *gb, ml_tensor *gz,
                      const ml_tensor *x, const ml_tensor *w, const ml_tensor *y,
                      const ml_tensor *gy, ml_act a, bool pre_activation);

/* ---- window geometry shared by convolution and pooling (conv2d.c) ---- */
typedef struct ml_window {
  int64_t n, h, w, c;        /* input N x H x W x C */
  int64_t kh, kw, sh, sw;    /* window and strides */
  int64_t pt, pl;            /* top and left padding ("same": TF's split) */
  int64_t oh, ow;            /* output height and width */
} ml_window;
/* Fills g for an input of shape x (4-D) or fails naming `who` and shapes. */
int ml_window_init(ml_ctx *ctx, ml_window *g, const char *who, const ml_tensor *x,
                   int64_t kh, int64_t kw, int64_t sh, int64_t sw, bool same);
#define ML_WINDOW_MAX (1 << 20)   /* window and stride sizes, as image sizes */
/* [k0, k1): the window offsets of an output starting at `start` that land
 * inside an input dimension of size n. */
void ml_window_clip(int64_t start, int64_t k, int64_t n, int64_t *k0, int64_t *k1);

/* ---- Conv2D (conv2d.c) ---- */
/* Floats of workspace the convolution needs with this geometry, COUT
 * output channels and `threads` threads (forward and backward). */
size_t ml_conv2d_workspace(const ml_window *g, int64_t cout, int threads);
/* y[N x OH x OW x COUT], x[N x H x W x CIN], w[KH x KW x CIN x COUT], b[COUT] or NULL */
int ml_conv2d_forward(ml_ctx *ctx, ml_tensor *y, const ml_tensor *x, const ml_tensor *w,
                      const ml_tensor *b, int64_t sh, int64_t sw, bool same, ml_act a,
                      float *ws, size_t ws_floats);
/* gx like x or NULL (not needed for a first layer), gw like w, gb[COUT] or NULL */
int ml_conv2d_backward(ml_ctx *ctx, ml_tensor *gx, ml_tensor *gw, ml_tensor *gb,
                       const ml_tensor *x, const ml_tensor *w, const ml_tensor *y,
                       const ml_tensor *gy, int64_t sh, int64_t sw, bool same, ml_act a,
                       bool pre_activation, float *ws, size_t ws_floats);
/* The plain nested-loop convolution the tests compare with (no activation). */
int ml_conv2d_ref(ml_ctx *ctx, ml_tensor *y, const ml_tensor *x, const ml_tensor *w,
                  const ml_tensor *b, int64_t sh, int64_t sw, bool same);

/* ---- pooling (pool2d.c) ---- */
/* Max pooling keeps the argmax of each output (int32 offsets inside its
 * image, `arg` has one per output element) for the backward scatter.
 * Average pooling with "same" padding divides by the number of real
 * (unpadded) inputs in each window, as Keras does. */
int ml_maxpool2d_forward(ml_ctx *ctx, ml_tensor *y, int32_t *arg, const ml_tensor *x,
                         int64_t kh, int64_t kw, int64_t sh, int64_t sw, bool same);
int ml_maxpool2d_backward(ml_ctx *ctx, ml_tensor *gx, const ml_tensor *gy, const int32_t *arg);
int ml_avgpool2d_forward(ml_ctx *ctx, ml_tensor *y, const ml_tensor *x,
                         int64_t kh, int64_t kw, int64_t sh, int64_t sw, bool same);
int ml_avgpool2d_backward(ml_ctx *ctx, ml_tensor *gx, const ml_tensor *gy,
                          int64_t kh, int64_t kw, int64_t sh, int64_t sw, bool same);
/* y[N x C] = mean over H x W of x[N x H x W x C]; backward spreads gy evenly. */
int ml_gap2d_forward(ml_ctx *ctx, ml_tensor *y, const ml_tensor *x);
int ml_gap2d_backward(ml_ctx *ctx, ml_tensor *gx, const ml_tensor *gy);

/* ---- BatchNormalization (batchnorm.c), over every axis but the last ---- */
/* training: normalise with the batch's mean and (biased) variance, keep
 * them in mean[C] / invstd[C] for backward and update the moving statistics
 * (moving = momentum * moving + (1 - momentum) * batch); otherwise use the
 * moving statistics (mean/invstd are still filled for backward).
 * gamma/beta may be NULL (scale = false / center = false). */
int ml_batchnorm_forward(ml_ctx *ctx, ml_tensor *y, const ml_tensor *x, const ml_tensor *gamma,
                         const ml_tensor *beta, ml_tensor *moving_mean, ml_tensor *moving_var,
                         double momentum, double eps, bool training, float *mean, float *invstd);
/* gx like x, ggamma/gbeta [C] or NULL. */
int ml_batchnorm_backward(ml_ctx *ctx, ml_tensor *gx, ml_tensor *ggamma, ml_tensor *gbeta,
                          const ml_tensor *x, const ml_tensor *gy, const ml_tensor *gamma,
                          const float *mean, const float *invstd, bool training);

/* ---- Dropout (dropout.c): inverted dropout, mask from ctx->rng ---- */
/* mask gets 0 or 1/(1 - rate) per element; y = x * mask. */
int ml_dropout_forward(ml_ctx *ctx, ml_tensor *y, ml_tensor *mask, const ml_tensor *x,
                       double rate);
int ml_dropout_backward(ml_ctx *ctx, ml_tensor *gx, const ml_tensor *gy, const ml_tensor *mask);

/* ---- losses (loss.c) ---- */
typedef enum {
  ML_LOSS_MSE, ML_LOSS_MAE, ML_LOSS_BCE, ML_LOSS_CCE, ML_LOSS_SCCE, ML_LOSS_HUBER,
  ML_LOSS_HINGE, ML_LOSS_KLD, ML_LOSS_COUNT
} ml_loss_kind;
#define ML_LOSS_EPS 1e-7   /* Keras's epsilon: log arguments are clipped to [eps, 1 - eps] */
int ml_loss_parse(ml_ctx *ctx, const char *name, ml_loss_kind *out);
const char *ml_loss_name(ml_loss_kind k);
/* *value = the loss averaged as Keras does (over the batch; mse, mae, bce,
 * huber (delta 1) and hinge also over the last axis; kl_divergence sums
 * over the last axis); grad (like pred, or NULL) = d value / d pred.
 * hinge takes targets in {-1, 1} or {0, 1} (0 counts as -1, as Keras).
 * Cross-entropies take targets as class ids 0..K-1 (N values, any dtype)
 * or as rows like pred (one-hot or probabilities). */
int ml_loss_eval(ml_ctx *ctx, ml_loss_kind k, double *value, ml_tensor *grad,
                 const ml_tensor *pred, const ml_tensor *target);
/* Fused softmax + categorical cross-entropy from the softmax output p:
 * value as categorical_crossentropy, grad = (p - y) / N w.r.t. the logits. */
int ml_softmax_xent(ml_ctx *ctx, double *value, ml_tensor *grad, const ml_tensor *p,
                    const ml_tensor *target);
/* Fused sigmoid + binary cross-entropy from the sigmoid output p:
 * grad = (p - y) / numel w.r.t. the logits. */
int ml_sigmoid_xent(ml_ctx *ctx, double *value, ml_tensor *grad, const ml_tensor *p,
                    const ml_tensor *target);

/* ---- initializers (init.c) ---- */
typedef enum {
  ML_INIT_ZEROS, ML_INIT_ONES, ML_INIT_GLOROT_UNIFORM, ML_INIT_GLOROT_NORMAL,
  ML_INIT_HE_UNIFORM, ML_INIT_HE_NORMAL, ML_INIT_LECUN_UNIFORM, ML_INIT_LECUN_NORMAL,
  ML_INIT_COUNT
} ml_init_kind;
int ml_init_parse(ml_ctx *ctx, const char *name, ml_init_kind *out);
/* Fills t from ctx->rng as Keras's initializer of that name with the given
 * fans (normals are truncated at two standard deviations, with Keras's
 * correction of the standard deviation). */
int ml_init_fill(ml_ctx *ctx, ml_tensor *t, ml_init_kind k, double fan_in, double fan_out);
/* Normal(0, sd) truncated to [-2 sd, 2 sd]. */
void ml_fill_truncated_normal(ml_ctx *ctx, ml_tensor *t, double sd);

/* ---- shared checks (activation.c) ---- */
/* t must be a contiguous float32 tensor: fails naming who and what. */
int ml_nn_check_f32(ml_ctx *ctx, const char *who, const char *what, const ml_tensor *t);
/* t must have exactly this shape. */
int ml_nn_check_shape(ml_ctx *ctx, const char *who, const char *what, const ml_tensor *t,
                      int ndim, const int64_t *shape);

#endif
