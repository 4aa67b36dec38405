/* loss.c - Keras's losses, each with its gradient w.r.t. the prediction,
 * and the fused softmax/sigmoid + cross-entropy paths whose gradient is
 * w.r.t. the logits. Sums run in double. Log arguments are clipped to
 * [eps, 1 - eps] (eps = 1e-7, as Keras) so log(0) never happens. */
#include "nn.h"
#include <math.h>
#include <string.h>

static const char *const loss_names[ML_LOSS_COUNT] = {
  "mse", "mae", "binary_crossentropy", "categorical_crossentropy",
  "sparse_categorical_crossentropy", "huber", "hinge", "kl_divergence"};

const char *ml_loss_name(ml_loss_kind k) {
  return k >= 0 && k < ML_LOSS_COUNT ? loss_names[k] : "?";
}

int ml_loss_parse(ml_ctx *ctx, const char *name, ml_loss_kind *out) {
  for (int i = 0; i < ML_LOSS_COUNT; i++)
    if (strcmp(name, loss_names[i]) == 0) { *out = (ml_loss_kind)i; return ML_OK; }
  if (!strcmp(name, "mean_squared_error")) { *out = ML_LOSS_MSE; return ML_OK; }
  if (!strcmp(name, "mean_absolute_error")) { *out = ML_LOSS_MAE; return ML_OK; }
  if (!strcmp(name, "kld") || !strcmp(name, "kullback_leibler_divergence")) {
    *out = ML_LOSS_KLD;
    return ML_OK;
  }
  return ml_error(ctx, "unknown loss '%s' (expected one of: binary_crossentropy, "
                  "categorical_crossentropy, hinge, huber, kl_divergence, mae, mse, "
                  "sparse_categorical_crossentropy)", name);
}

static inline double clip(double p) {
  return p < ML_LOSS_EPS ? ML_LOSS_EPS : (p > 1 - ML_LOSS_EPS ? 1 - ML_LOSS_EPS : p);
}

/* The target as a contiguous float32 tensor (a new reference). */
static int target_f32(ml_ctx *ctx, ml_tensor *out, const ml_tensor *target) {
  ml_tensor t;
  if (ml_to_dtype(ctx, &t, target, ML_F32)) return ML_ERR;
  int rc = ml_contiguous(ctx, out, &t);
  ml_tensor_release(&t);
  return rc;
}

static bool same_shape(const ml_tensor *a, const ml_tensor *b) {
  if (a->ndim != b->ndim) return false;
  for (int i = 0; i < a->ndim; i++) if (a->shape[i] != b->shape[i]) return false;
  return true;
}

static int shape_error(ml_ctx *ctx, const char *who, const ml_tensor *p, const ml_tensor *t) {
  char a[96], b[96];
  return ml_error(ctx, "%s: predictions %s and targets %s do not match", who,
                  ml_shape_str(a, sizeof a, p->ndim, p->shape),
                  ml_shape_str(b, sizeof b, t->ndim, t->shape));
}

/* Class ids (1 per row) or rows like pred? ids != NULL receives the choice. */
static int classify_target(ml_ctx *ctx, const char *who, const ml_tensor *pred,
                           const ml_tensor *target, int64_t rows, bool *ids) {
  if (same_shape(pred, target) && !(pred->ndim >= 1 && pred->shape[pred->ndim - 1] == 1 &&
                                    target->dtype == ML_I64)) {
    *ids = false;
    return ML_OK;
  }
  if (ml_numel(target) == rows && (target->ndim == 0 || target->shape[0] == rows ||
                                   rows == 1)) {
    *ids = true;
    return ML_OK;
  }
  return shape_error(ctx, who, pred, target);
}

/* Checks every id is an integer in [0, k). */
static int check_ids(ml_ctx *ctx, const char *who, const float *t, int64_t rows, int64_t k) {
  for (int64_t i = 0; i < rows; i++) {
    float v = t[i];
    if (!(v >= 0 && v < (float)k && v == floorf(v)))
      return ml_error(ctx, "%s: label %g (row %lld) is out of range for %lld classes "
                      "(expected 0..%lld)", who, (double)v, (long long)(i + 1), (long long)k,
                      (long long)(k - 1));
  }
  return ML_OK;
}

static int check_common(ml_ctx *ctx, const char *who, ml_tensor *grad, const ml_tensor *pred,
                        int64_t *rows, int64_t *k) {
  if (ml_nn_check_f32(ctx, who, "predictions", pred)) return ML_ERR;
  if (grad && ml_nn_check_shape(ctx, who, "gradient", grad, pred->ndim, pred->shape))
    return ML_ERR;
  *k = pred->ndim ? pred->shape[pred->ndim - 1] : 1;
  *rows = *k > 0 ? ml_numel(pred) / *k : 0;
  if (*rows == 0 || *k == 0) return ml_error(ctx, "%s: empty predictions", who);
  return ML_OK;
}

/* Cross-entropy over rows (categorical). fused: grad w.r.t. logits. */
static int xent(ml_ctx *ctx, const char *who, double *value, ml_tensor *grad,
                const ml_tensor *pred, const ml_tensor *target, bool fused) {
  int64_t rows, k;
  bool ids = false;
  if (check_common(ctx, who, grad, pred, &rows, &k) ||
      classify_target(ctx, who, pred, target, rows, &ids))
    return ML_ERR;
  ml_tensor t;
  if (target_f32(ctx, &t, target)) return ML_ERR;
  const float *p = ml_f32(pred), *tp = ml_f32(&t);
  if (ids && check_ids(ctx, who, tp, rows, k)) { ml_tensor_release(&t); return ML_ERR; }
  float *g = grad ? ml_f32(grad) : NULL;
  double sum = 0, inv = 1.0 / (double)rows;
  for (int64_t i = 0; i < rows; i++) {
    const float *pr = p + i * k;
    float *gr = g ? g + i * k : NULL;
    if (ids) {
      int64_t y = (int64_t)tp[i];
      sum -= log(clip(pr[y]));
      if (gr) {
        if (fused) {
          for (int64_t j = 0; j < k; j++) gr[j] = (float)(pr[j] * inv);
          gr[y] = (float)((pr[y] - 1.0) * inv);
        } else {
          memset(gr, 0, (size_t)k * sizeof *gr);
          gr[y] = (float)(-inv / clip(pr[y]));
        }
      }
    } else {
      const float *yr = tp + i * k;
      for (int64_t j = 0; j < k; j++) {
        if (yr[j] != 0) sum -= yr[j] * log(clip(pr[j]));
        if (gr) gr[j] = fused ? (float)((pr[j] - yr[j]) * inv) : (float)(-yr[j] * inv / clip(pr[j]));
      }
    }
  }
  ml_tensor_release(&t);
  *value = sum * inv;
  return ML_OK;
}

/* mse, mae, binary cross-entropy: elementwise, mean over all elements. */
static int elementwise(ml_ctx *ctx, ml_loss_kind kind, const char *who, double *value,
                       ml_tensor *grad, const ml_tensor *pred, const ml_tensor *target,
                       bool fused) {
  int64_t rows, k;
  if (check_common(ctx, who, grad, pred, &rows, &k)) return ML_ERR;
  int64_t n = ml_numel(pred);
  if (ml_numel(target) != n || (target->ndim > 0 && pred->ndim > 0 &&
                                target->shape[0] != pred->shape[0]))
    return shape_error(ctx, who, pred, target);
  ml_tensor t;
  if (target_f32(ctx, &t, target)) return ML_ERR;
  const float *p = ml_f32(pred), *y = ml_f32(&t);
  float *g = grad ? ml_f32(grad) : NULL;
  double sum = 0, inv = 1.0 / (double)n;
  for (int64_t i = 0; i < n; i++) {
    double d = (double)p[i] - y[i];
    switch (kind) {
    case ML_LOSS_MSE:
      sum += d * d;
      if (g) g[i] = (float)(2 * d * inv);
      break;
    case ML_LOSS_MAE:
      sum += fabs(d);
      if (g) g[i] = (float)((d > 0) - (d < 0)) * (float)inv;
      break;
    case ML_LOSS_HUBER: {   /* delta = 1: quadratic inside, linear outside */
      double a = fabs(d);
      sum += a <= 1 ? 0.5 * d * d : a - 0.5;
      if (g) g[i] = (float)((a <= 1 ? d : (double)((d > 0) - (d < 0))) * inv);
      break;
    }
    case ML_LOSS_HINGE: {
      double yy = y[i] == 0 ? -1.0 : y[i], m = 1 - yy * p[i];
      sum += m > 0 ? m : 0;
      if (g) g[i] = m > 0 ? (float)(-yy * inv) : 0.0f;
      break;
    }
    default: {   /* binary cross-entropy */
      double pc = clip(p[i]);
      sum -= y[i] * log(pc) + (1 - y[i]) * log(1 - pc);
      if (g) g[i] = fused ? (float)(d * inv) : (float)((pc - y[i]) / (pc * (1 - pc)) * inv);
      break;
    }
    }
  }
  ml_tensor_release(&t);
  *value = sum * inv;
  return ML_OK;
}

/* KL divergence of rows: sum_j y log(y / p), y and p clipped to [eps, 1],
 * averaged over the rows (Keras's kl_divergence). */
static int kld(ml_ctx *ctx, const char *who, double *value, ml_tensor *grad,
               const ml_tensor *pred, const ml_tensor *target) {
  int64_t rows, k;
  if (check_common(ctx, who, grad, pred, &rows, &k)) return ML_ERR;
  if (!same_shape(pred, target)) return shape_error(ctx, who, pred, target);
  ml_tensor t;
  if (target_f32(ctx, &t, target)) return ML_ERR;
  const float *p = ml_f32(pred), *y = ml_f32(&t);
  float *g = grad ? ml_f32(grad) : NULL;
  double sum = 0, inv = 1.0 / (double)rows;
  for (int64_t i = 0; i < rows * k; i++) {
    double yc = y[i] < ML_LOSS_EPS ? ML_LOSS_EPS : (y[i] > 1 ? 1 : y[i]);
    double pc = p[i] < ML_LOSS_EPS ? ML_LOSS_EPS : (p[i] > 1 ? 1 : p[i]);
    sum += yc * log(yc / pc);
    if (g) g[i] = (float)(-yc / pc * inv);
  }
  ml_tensor_release(&t);
  *value = sum * inv;
  return ML_OK;
}

int ml_loss_eval(ml_ctx *ctx, ml_loss_kind k, double *value, ml_tensor *grad,
                 const ml_tensor *pred, const ml_tensor *target) {
  const char *who = ml_loss_name(k);
  switch (k) {
  case ML_LOSS_CCE: case ML_LOSS_SCCE:
    return xent(ctx, who, value, grad, pred, target, false);
  case ML_LOSS_MSE: case ML_LOSS_MAE: case ML_LOSS_BCE: case ML_LOSS_HUBER: case ML_LOSS_HINGE:
    return elementwise(ctx, k, who, value, grad, pred, target, false);
  case ML_LOSS_KLD:
    return kld(ctx, who, value, grad, pred, target);
  default:
    return ml_error(ctx, "loss: unknown kind %d", (int)k);
  }
}

int ml_softmax_xent(ml_ctx *ctx, double *value, ml_tensor *grad, const ml_tensor *p,
                    const ml_tensor *target) {
  return xent(ctx, "softmax_cross_entropy", value, grad, p, target, true);
}

int ml_sigmoid_xent(ml_ctx *ctx, double *value, ml_tensor *grad, const ml_tensor *p,
                    const ml_tensor *target) {
  return elementwise(ctx, ML_LOSS_BCE, "sigmoid_cross_entropy", value, grad, p, target, true);
}
