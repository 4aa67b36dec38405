/* xent.c - fused softmax + cross-entropy (loss, logit gradient, accuracy) and
 * accuracy counting for the training loop. */
#include "train.h"
#include <math.h>

#define XENT_EPS 1e-7f   /* Keras's backend epsilon, used to clip probabilities */

/* Target layout: 1 = class ids (N or N x 1), 2 = rows of probabilities (N x K). */
static int target_kind(ml_ctx *ctx, const char *who, const ml_tensor *p, const ml_tensor *y) {
  char a[64], b[64];
  int64_t n = p->shape[0];
  if (!ml_is_contiguous(y))
    return ml_error(ctx, "%s: targets must be contiguous", who), 0;
  if (y->ndim >= 1 && y->shape[0] == n) {
    if (y->ndim == 1 || (y->ndim == 2 && y->shape[1] == 1 && p->shape[1] != 1)) return 1;
    if (y->ndim == 2 && y->shape[1] == p->shape[1]) {
      if (y->dtype != ML_F32)
        return ml_error(ctx, "%s: one-hot targets must be float32", who), 0;
      return 2;
    }
  }
  ml_error(ctx, "%s: targets of shape %s do not match predictions of shape %s", who,
           ml_shape_str(a, sizeof a, y->ndim, y->shape),
           ml_shape_str(b, sizeof b, p->ndim, p->shape));
  return 0;
}

/* Class id of row i of a class-id target, or -1 when it is not an integer in 0..k-1. */
static int64_t label_of(const ml_tensor *y, int64_t i, int64_t k) {
  double v = ml_get(y, y->offset + i);
  if (!(v >= 0 && v < (double)k) || v != floor(v)) return -1;
  return (int64_t)v;
}

static int64_t argmax_row(const float *r, int64_t k) {
  int64_t best = 0;
  for (int64_t j = 1; j < k; j++) if (r[j] > r[best]) best = j;
  return best;
}

static int check_preds(ml_ctx *ctx, const char *who, const ml_tensor *p) {
  char a[64];
  if (p->dtype != ML_F32 || !ml_is_contiguous(p) || p->ndim != 2 || p->shape[0] < 1)
    return ml_error(ctx, "%s: predictions must be a contiguous float32 N x K tensor, got %s",
                    who, ml_shape_str(a, sizeof a, p->ndim, p->shape));
  return ML_OK;
}

int ml_train_xent(ml_ctx *ctx, ml_tensor *grad, const ml_tensor *p, const ml_tensor *y,
                    double *loss, int64_t *correct) {
  if (check_preds(ctx, "softmax_crossentropy", p)) return ML_ERR;
  int kind = target_kind(ctx, "softmax_crossentropy", p, y);
  if (!kind) return ML_ERR;
  int64_t n = p->shape[0], k = p->shape[1];
  if (grad && (grad->dtype != ML_F32 || !ml_is_contiguous(grad) || ml_numel(grad) != n * k))
    return ml_error(ctx, "softmax_crossentropy: gradient buffer must be float32 %lldx%lld",
                    (long long)n, (long long)k);
  if (kind == 1)
    for (int64_t i = 0; i < n; i++)
      if (label_of(y, i, k) < 0)
        return ml_error(ctx, "softmax_crossentropy: target %g in row %lld is not a class id "
                        "in 0..%lld", ml_get(y, y->offset + i), (long long)i + 1, (long long)k - 1);
  const float *pp = ml_f32(p);
  float *g = grad ? ml_f32(grad) : NULL;
  const float inv = 1.0f / (float)n;
  double total = 0;
  int64_t ok = 0;
  for (int64_t i = 0; i < n; i++) {
    const float *r = pp + i * k;
    float *gr = g ? g + i * k : NULL;
    int64_t pred = argmax_row(r, k);
    if (kind == 1) {
      int64_t c = label_of(y, i, k);
      float q = r[c];
      q = q < XENT_EPS ? XENT_EPS : q > 1 - XENT_EPS ? 1 - XENT_EPS : q;
      total -= log(q);
      ok += pred == c;
      if (gr) {
        for (int64_t j = 0; j < k; j++) gr[j] = r[j] * inv;
        gr[c] -= inv;
      }
    } else {
      const float *t = ml_f32(y) + i * k;
      double s = 0;
      for (int64_t j = 0; j < k; j++) {
        float q = r[j];
        q = q < XENT_EPS ? XENT_EPS : q > 1 - XENT_EPS ? 1 - XENT_EPS : q;
        if (t[j] != 0) s -= t[j] * log(q);
        if (gr) gr[j] = (r[j] - t[j]) * inv;
      }
      total += s;
      ok += pred == argmax_row(t, k);
    }
  }
  *loss = total / (double)n;
  if (correct) *correct = ok;
  return ML_OK;
}

int ml_train_correct(ml_ctx *ctx, const ml_tensor *p, const ml_tensor *y, int64_t *correct) {
  char a[64], b[64];
  if (p->dtype != ML_F32 || !ml_is_contiguous(p) || p->ndim < 1 || p->ndim > 2)
    return ml_error(ctx, "accuracy: predictions must be a contiguous float32 N or N x K tensor");
  int64_t n = p->shape[0], k = p->ndim == 2 ? p->shape[1] : 1;
  int64_t ok = 0;
  if (k == 1) {
    if (!ml_is_contiguous(y) || ml_numel(y) != n)
      return ml_error(ctx, "accuracy: targets of shape %s do not match predictions of shape %s",
                      ml_shape_str(a, sizeof a, y->ndim, y->shape),
                      ml_shape_str(b, sizeof b, p->ndim, p->shape));
    const float *pp = ml_f32(p);
    for (int64_t i = 0; i < n; i++) {
      double t = ml_get(y, y->offset + i);
      ok += (pp[i] > 0.5f) == (t > 0.5);
    }
  } else {
    int kind = target_kind(ctx, "accuracy", p, y);
    if (!kind) return ML_ERR;
    const float *pp = ml_f32(p);
    for (int64_t i = 0; i < n; i++) {
      int64_t pred = argmax_row(pp + i * k, k);
      int64_t c = kind == 1 ? label_of(y, i, k) : argmax_row(ml_f32(y) + i * k, k);
      ok += pred == c;
    }
  }
  *correct = ok;
  return ML_OK;
}

