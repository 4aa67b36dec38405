/* overlap.c - memory overlap between views, and the checked float -> int64
 * conversion. An in-place op writes through its target view: if two of the
 * target's elements share one storage slot (an expanded view), the op would
 * apply several times to that slot, so it is refused (as PyTorch does); if an
 * operand overlaps the target only partly, the operand is copied first so
 * every element is read before it is written (as NumPy does). */
#include "ml.h"
#include <math.h>
#include <stdlib.h>

/* Element range [lo, hi] that a view touches in its storage. */
static void span(const ml_tensor *t, int64_t *lo, int64_t *hi) {
  *lo = *hi = t->offset;
  for (int i = 0; i < t->ndim; i++) {
    if (t->shape[i] <= 1) continue;
    int64_t ext = (t->shape[i] - 1) * t->stride[i];
    if (ext < 0) *lo += ext; else *hi += ext;
  }
}

bool ml_internal_overlap(const ml_tensor *t) {
  /* dims of size > 1 sorted by |stride|; a view has no two elements at one
   * slot when each stride exceeds the extent of all smaller ones */
  int64_t st[ML_MAX_DIMS], sz[ML_MAX_DIMS];
  int n = 0;
  for (int i = 0; i < t->ndim; i++) {
    if (t->shape[i] == 0) return false;
    if (t->shape[i] == 1) continue;
    int64_t s = t->stride[i] < 0 ? -t->stride[i] : t->stride[i];
    if (s == 0) return true;
    int j = n++;
    while (j > 0 && st[j - 1] > s) { st[j] = st[j - 1]; sz[j] = sz[j - 1]; j--; }
    st[j] = s;
    sz[j] = t->shape[i];
  }
  int64_t ext = 0;
  for (int k = 0; k < n; k++) {
    if (st[k] <= ext) return true;
    ext += st[k] * (sz[k] - 1);
  }
  return false;
}

bool ml_partial_overlap(const ml_tensor *a, const ml_tensor *b) {
  if (!a->storage || a->storage != b->storage || ml_numel(a) == 0 || ml_numel(b) == 0)
    return false;
  if (a->dtype == b->dtype && a->offset == b->offset && a->ndim == b->ndim) {
    bool same = true;   /* the very same view: elementwise ops read before they write */
    for (int i = 0; same && i < a->ndim; i++)
      same = a->shape[i] == b->shape[i] && (a->shape[i] == 1 || a->stride[i] == b->stride[i]);
    if (same) return false;
  }
  int64_t alo, ahi, blo, bhi;
  span(a, &alo, &ahi);
  span(b, &blo, &bhi);
  size_t ea = ml_dtype_size(a->dtype), eb = ml_dtype_size(b->dtype);
  return (uint64_t)alo * ea < (uint64_t)(bhi + 1) * eb &&
         (uint64_t)blo * eb < (uint64_t)(ahi + 1) * ea;
}

int ml_check_writable(ml_ctx *ctx, const ml_tensor *t, const char *who) {
  if (ml_internal_overlap(t))
    return ml_error(ctx, "%s: unsupported operation: more than one element of the written-to "
                    "tensor refers to a single memory location (an expanded view?); "
                    "clone() it before writing", who);
  return ML_OK;
}

int ml_check_range(ml_ctx *ctx, const ml_tensor *src, ml_dtype d, const char *who) {
  if (ml_dtype_is_float(d) || src->dtype == d || (d == ML_I64 && src->dtype == ML_U8))
    return ML_OK;
  int64_t n = ml_numel(src);
  bool contig = ml_is_contiguous(src);
  for (int64_t i = 0; i < n; i++) {
    int64_t off = contig ? src->offset + i : ml_offset_of(src, i);
    if (src->dtype == ML_I64) {   /* only into uint8: compare as integers */
      int64_t v = ((const int64_t *)src->storage->data)[off];
      if (v < 0 || v > 255)
        return ml_error(ctx, "%s: cannot convert %lld (element %lld) to uint8: outside 0..255",
                        who, (long long)v, (long long)i + 1);
      continue;
    }
    double v = ml_get(src, off);
    /* truncation toward zero: (-1, 256) reaches 0..255; 2^63 is the first
     * double past INT64_MAX, -2^63 itself fits */
    bool ok = d == ML_U8 ? v > -1.0 && v < 256.0
                         : v < 9223372036854775808.0 && v >= -9223372036854775808.0;
    if (ok) continue;
    if (v != v)
      return ml_error(ctx, "%s: cannot convert NaN (element %lld) to %s (NaN has no integer "
                      "value)", who, (long long)i + 1, ml_dtype_name(d));
    return d == ML_U8
      ? ml_error(ctx, "%s: cannot convert %.17g (element %lld) to uint8: outside 0..255", who, v,
                 (long long)i + 1)
      : ml_error(ctx, "%s: cannot convert %g (element %lld) to int64: out of range", who, v,
                 (long long)i + 1);
  }
  return ML_OK;
}
