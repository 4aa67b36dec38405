/* tensor.c - creating tensors, views over shared storage, copies. */
#include "ml.h"
#include "iter.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const size_t dtype_sizes[ML_DTYPE_COUNT] = {4, 8, 8, 1};
static const char *const dtype_names[ML_DTYPE_COUNT] = {"float32", "int64", "float64", "uint8"};

size_t ml_dtype_size(ml_dtype d) { return dtype_sizes[d]; }
const char *ml_dtype_name(ml_dtype d) { return dtype_names[d]; }
bool ml_dtype_is_float(ml_dtype d) { return d == ML_F32 || d == ML_F64; }

/* Rank in the promotion order: the higher rank wins, except that two
 * integer dtypes give the wider one (uint8 < int64) and float32 beats int64
 * (see ml.h). */
ml_dtype ml_promote(ml_dtype a, ml_dtype b) {
  static const int rank[ML_DTYPE_COUNT] = {[ML_U8] = 0, [ML_I64] = 1, [ML_F32] = 2, [ML_F64] = 3};
  return rank[a] >= rank[b] ? a : b;
}

int64_t ml_numel(const ml_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
  return n;
}

bool ml_is_contiguous(const ml_tensor *t) {
  int64_t expect = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->stride[i] != expect) return false;
    expect *= t->shape[i];
  }
  return true;
}

static void set_contiguous_strides(ml_tensor *t) {
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    t->stride[i] = s;
    s *= t->shape[i];
  }
}

/* Checks a shape and computes its byte size without overflow. */
static int check_shape(ml_ctx *ctx, const char *who, int ndim, const int64_t *shape,
                       ml_dtype dtype, size_t *nbytes) {
  if (ndim < 0 || ndim > ML_MAX_DIMS)
    return ml_error(ctx, "%s: expected 0 to %d dimensions, got %d", who, ML_MAX_DIMS, ndim);
  int64_t n;
  if (ml_shape_numel(ctx, who, ndim, shape, &n)) return ML_ERR;
  *nbytes = (size_t)n * ml_dtype_size(dtype);
  return ML_OK;
}

int ml_tensor_new(ml_ctx *ctx, ml_tensor *out, ml_dtype dtype, int ndim,
                  const int64_t *shape, bool zero) {
  size_t nbytes = 0;
  memset(out, 0, sizeof *out);
  if (check_shape(ctx, "tensor", ndim, shape, dtype, &nbytes)) return ML_ERR;
  ml_storage *s = malloc(sizeof *s);
  if (!s) return ml_error(ctx, "tensor: out of memory");
  s->data = ml_buf_alloc(ctx, nbytes, "tensor");
  if (!s->data) { free(s); return ML_ERR; }
  if (zero) memset(s->data, 0, nbytes);
  s->nbytes = nbytes;
  s->refcount = 1;
  s->ctx = ctx;
  s->release = NULL;
  s->release_ud = NULL;
  s->version = 0;
  out->storage = s;
  out->dtype = dtype;
  out->ndim = ndim;
  for (int i = 0; i < ndim; i++) out->shape[i] = shape[i];
  set_contiguous_strides(out);
  out->offset = 0;
  return ML_OK;
}

int ml_tensor_new_like(ml_ctx *ctx, ml_tensor *out, const ml_tensor *like, bool zero) {
  return ml_tensor_new(ctx, out, like->dtype, like->ndim, like->shape, zero);
}

int ml_tensor_wrap(ml_ctx *ctx, ml_tensor *out, void *data, ml_dtype dtype, int ndim,
                   const int64_t *shape, void (*release)(void *, void *), void *ud) {
  size_t nbytes = 0;
  memset(out, 0, sizeof *out);
  if (check_shape(ctx, "tensor_wrap", ndim, shape, dtype, &nbytes)) return ML_ERR;
  if (!data && nbytes) return ml_error(ctx, "tensor_wrap: NULL buffer for %zu bytes", nbytes);
  ml_storage *s = malloc(sizeof *s);
  if (!s) return ml_error(ctx, "tensor_wrap: out of memory");
  *s = (ml_storage){data, nbytes, 1, NULL, release, ud, 0};
  out->storage = s;
  out->dtype = dtype;
  out->ndim = ndim;
  for (int i = 0; i < ndim; i++) out->shape[i] = shape[i];
  set_contiguous_strides(out);
  return ML_OK;
}

void ml_tensor_retain(const ml_tensor *t) {
  if (t->storage) t->storage->refcount++;
}

void ml_tensor_release(ml_tensor *t) {
  ml_storage *s = t->storage;
  t->storage = NULL;
  if (!s || --s->refcount > 0) return;
  if (s->ctx) ml_buf_free(s->ctx, s->data, s->nbytes);
  else if (s->release) s->release(s->release_ud, s->data);
  free(s);
}

float *ml_f32(const ml_tensor *t) { return (float *)t->storage->data + t->offset; }
int64_t *ml_i64(const ml_tensor *t) { return (int64_t *)t->storage->data + t->offset; }
double *ml_f64(const ml_tensor *t) { return (double *)t->storage->data + t->offset; }
uint8_t *ml_u8(const ml_tensor *t) { return (uint8_t *)t->storage->data + t->offset; }

void ml_set(ml_tensor *t, int64_t off, double v) { ml_set_d(t->storage->data, t->dtype, off, v); }

int64_t ml_offset_of(const ml_tensor *t, int64_t flat) {
  int64_t off = t->offset;
  for (int d = t->ndim - 1; d >= 0; d--) {
    off += (flat % t->shape[d]) * t->stride[d];
    flat /= t->shape[d];
  }
  return off;
}

/* ---- views ---- */

static void view_of(ml_tensor *out, const ml_tensor *t) {
  *out = *t;
  ml_tensor_retain(t);
}

static int check_dim(ml_ctx *ctx, const char *who, const ml_tensor *t, int dim) {
  if (dim < 0 || dim >= t->ndim)
    return ml_error(ctx, "%s: dimension %d out of range for a %d-dimensional tensor",
                    who, dim + 1, t->ndim);
  return ML_OK;
}

int ml_view_select(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int dim, int64_t index) {
  if (check_dim(ctx, "select", t, dim)) return ML_ERR;
  if (index < 0 || index >= t->shape[dim])
    return ml_error(ctx, "index %.17g out of range for dimension %d of size %lld",
                    (double)index + 1, dim + 1, (long long)t->shape[dim]);   /* no overflow */
  view_of(out, t);
  out->offset += index * t->stride[dim];
  for (int i = dim; i < t->ndim - 1; i++) {
    out->shape[i] = t->shape[i + 1];
    out->stride[i] = t->stride[i + 1];
  }
  out->ndim--;
  return ML_OK;
}

int ml_view_narrow(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int dim, int64_t start,
                   int64_t len) {
  if (check_dim(ctx, "narrow", t, dim)) return ML_ERR;
  if (start < 0 || len < 0 || start > t->shape[dim] || len > t->shape[dim] - start)
    return ml_error(ctx, "range %.17g..%.17g out of bounds for dimension %d of size %lld",
                    (double)start + 1, (double)start + (double)len, dim + 1,
                    (long long)t->shape[dim]);
  view_of(out, t);
  out->offset += start * t->stride[dim];
  out->shape[dim] = len;
  return ML_OK;
}

int ml_view_transpose(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int d1, int d2) {
  if (check_dim(ctx, "transpose", t, d1) || check_dim(ctx, "transpose", t, d2)) return ML_ERR;
  view_of(out, t);
  out->shape[d1] = t->shape[d2]; out->shape[d2] = t->shape[d1];
  out->stride[d1] = t->stride[d2]; out->stride[d2] = t->stride[d1];
  return ML_OK;
}

int ml_view_permute(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, const int *perm) {
  bool seen[ML_MAX_DIMS] = {0};
  for (int i = 0; i < t->ndim; i++) {
    if (perm[i] < 0 || perm[i] >= t->ndim || seen[perm[i]])
      return ml_error(ctx, "permute: expected a permutation of 1..%d", t->ndim);
    seen[perm[i]] = true;
  }
  view_of(out, t);
  for (int i = 0; i < t->ndim; i++) {
    out->shape[i] = t->shape[perm[i]];
    out->stride[i] = t->stride[perm[i]];
  }
  return ML_OK;
}

int ml_view_expand(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int ndim,
                   const int64_t *shape) {
  char b1[160], b2[160];
  if (ndim < t->ndim || ndim > ML_MAX_DIMS) goto bad;
  int64_t st[ML_MAX_DIMS], count;
  for (int i = 0; i < ndim; i++) if (shape[i] < 0) goto bad;
  if (ml_shape_numel(ctx, "expand", ndim, shape, &count)) return ML_ERR;
  for (int i = 0; i < ndim; i++) {
    int j = i - (ndim - t->ndim);
    if (j < 0) { st[i] = 0; continue; }
    if (t->shape[j] == shape[i]) st[i] = t->stride[j];
    else if (t->shape[j] == 1) st[i] = 0;
    else goto bad;
  }
  view_of(out, t);
  out->ndim = ndim;
  for (int i = 0; i < ndim; i++) { out->shape[i] = shape[i]; out->stride[i] = st[i]; }
  return ML_OK;
bad:
  return ml_error(ctx, "expand: cannot broadcast shape %s to %s",
                  ml_shape_str(b1, sizeof b1, t->ndim, t->shape),
                  ml_shape_str(b2, sizeof b2, ndim, shape));
}

/* Reshape as a view when each run of new dims maps onto a run of old dims
 * that is itself contiguous (NumPy's no-copy reshape rule). n > 0. */
static bool view_strides(const ml_tensor *t, int ndim, const int64_t *shape, int64_t *st) {
  int64_t od[ML_MAX_DIMS], os[ML_MAX_DIMS];
  int ond = 0;
  for (int i = 0; i < t->ndim; i++)
    if (t->shape[i] != 1) { od[ond] = t->shape[i]; os[ond] = t->stride[i]; ond++; }
  int oi = 0, oj = 1, ni = 0, nj = 1;
  while (ni < ndim && oi < ond) {
    int64_t np = shape[ni], op = od[oi];
    while (np != op) {
      if (np < op) { if (nj >= ndim) return false; np *= shape[nj++]; }
      else { if (oj >= ond) return false; op *= od[oj++]; }
    }
    for (int k = oi; k < oj - 1; k++)
      if (os[k] != od[k + 1] * os[k + 1]) return false;
    st[nj - 1] = os[oj - 1];
    for (int k = nj - 1; k > ni; k--) st[k - 1] = st[k] * shape[k];
    ni = nj++;
    oi = oj++;
  }
  for (int k = ni; k < ndim; k++) st[k] = 1;   /* trailing size-1 dims */
  return true;
}

int ml_reshape(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int ndim, const int64_t *shape_in) {
  char b1[160], b2[160];
  int64_t shape[ML_MAX_DIMS];
  if (ndim < 0 || ndim > ML_MAX_DIMS)
    return ml_error(ctx, "reshape: expected 0 to %d dimensions, got %d", ML_MAX_DIMS, ndim);
  int infer = -1;
  int64_t known = 1, n = ml_numel(t);
  for (int i = 0; i < ndim; i++) {
    shape[i] = shape_in[i];
    if (shape[i] == -1) {
      if (infer >= 0) return ml_error(ctx, "reshape: only one dimension can be -1");
      infer = i;
    } else if (shape[i] < 0) {
      return ml_error(ctx, "reshape: dimension %d has negative size %lld", i + 1,
                      (long long)shape[i]);
    } else {
      if (shape[i] > 0 && known > ((int64_t)1 << 46) / shape[i])
        return ml_error(ctx, "reshape: shape %s is too large",
                        ml_shape_str(b2, sizeof b2, ndim, shape_in));
      known *= shape[i];
    }
  }
  if (infer < 0 && ml_shape_numel(ctx, "reshape", ndim, shape, &n) == ML_ERR) return ML_ERR;
  if (infer < 0) n = ml_numel(t);
  if (infer >= 0) {
    if (known == 0 || n % known)
      return ml_error(ctx, "reshape: cannot reshape %lld elements (shape %s) to %s", (long long)n,
                      ml_shape_str(b1, sizeof b1, t->ndim, t->shape),
                      ml_shape_str(b2, sizeof b2, ndim, shape));
    shape[infer] = n / known;
    known *= shape[infer];
  }
  if (known != n)
    return ml_error(ctx, "reshape: cannot reshape shape %s (%lld elements) to %s",
                    ml_shape_str(b1, sizeof b1, t->ndim, t->shape), (long long)n,
                    ml_shape_str(b2, sizeof b2, ndim, shape));
  int64_t st[ML_MAX_DIMS];
  if (ml_is_contiguous(t)) {
    view_of(out, t);
    out->ndim = ndim;
    for (int i = 0; i < ndim; i++) out->shape[i] = shape[i];
    set_contiguous_strides(out);
    return ML_OK;
  }
  if (n > 0 && view_strides(t, ndim, shape, st)) {
    view_of(out, t);
    out->ndim = ndim;
    for (int i = 0; i < ndim; i++) { out->shape[i] = shape[i]; out->stride[i] = st[i]; }
    return ML_OK;
  }
  ml_tensor c;
  if (ml_clone(ctx, &c, t)) return ML_ERR;
  c.ndim = ndim;
  for (int i = 0; i < ndim; i++) c.shape[i] = shape[i];
  set_contiguous_strides(&c);
  *out = c;
  return ML_OK;
}

/* ---- copies ---- */

/* Row o of ml_copy's iteration (inner elements, strides ds and ss). Same
 * dtypes copy bytes; the conversions the engine makes often (float32 <->
 * float64, uint8 -> float32, int64 -> float32) have their own loops; the
 * rest go through double, except int64 sources, read as integers. */
static void copy_row(const ml_iter *it, int64_t o, ml_tensor *dst, const ml_tensor *src,
                     int64_t ds, int64_t ss) {
  int64_t off[2], n = it->inner;
  void *dd = dst->storage->data;
  const void *sd = src->storage->data;
  ml_dtype dt = dst->dtype, st = src->dtype;
  ml_iter_offsets(it, o, off);
  if (dt == st) {
    size_t es = ml_dtype_size(dt);
    char *d = (char *)dd + off[0] * (int64_t)es;
    const char *s = (const char *)sd + off[1] * (int64_t)es;
    if (ds == 1 && ss == 1) { memcpy(d, s, (size_t)n * es); return; }
    switch (es) {
      case 1: for (int64_t j = 0; j < n; j++) d[j * ds] = s[j * ss]; break;
      case 4: for (int64_t j = 0; j < n; j++) ((float *)d)[j * ds] = ((const float *)s)[j * ss]; break;
      default:
        for (int64_t j = 0; j < n; j++) ((int64_t *)d)[j * ds] = ((const int64_t *)s)[j * ss];
    }
  } else if (dt == ML_F32 && st == ML_I64) {
    float *d = (float *)dd + off[0];
    const int64_t *s = (const int64_t *)sd + off[1];
    for (int64_t j = 0; j < n; j++) d[j * ds] = (float)s[j * ss];
  } else if (dt == ML_F32 && st == ML_U8) {
    float *d = (float *)dd + off[0];
    const uint8_t *s = (const uint8_t *)sd + off[1];
    for (int64_t j = 0; j < n; j++) d[j * ds] = (float)s[j * ss];
  } else if (dt == ML_F32 && st == ML_F64) {
    float *d = (float *)dd + off[0];
    const double *s = (const double *)sd + off[1];
    for (int64_t j = 0; j < n; j++) d[j * ds] = (float)s[j * ss];
  } else if (dt == ML_F64 && st == ML_F32) {
    double *d = (double *)dd + off[0];
    const float *s = (const float *)sd + off[1];
    for (int64_t j = 0; j < n; j++) d[j * ds] = s[j * ss];
  } else if (st == ML_I64) {   /* into float64 or uint8 */
    const int64_t *s = (const int64_t *)sd + off[1];
    if (dt == ML_F64) for (int64_t j = 0; j < n; j++) ((double *)dd)[off[0] + j * ds] = (double)s[j * ss];
    else for (int64_t j = 0; j < n; j++) ((uint8_t *)dd)[off[0] + j * ds] = (uint8_t)s[j * ss];
  } else {
    for (int64_t j = 0; j < n; j++) ml_set_d(dd, dt, off[0] + j * ds, ml_get(src, off[1] + j * ss));
  }
}

int ml_copy(ml_ctx *ctx, ml_tensor *dst, const ml_tensor *src) {
  int64_t sst[ML_MAX_DIMS];
  char b1[160], b2[160];
  ml_tensor tmp;
  if (ml_view_expand(ctx, &tmp, src, dst->ndim, dst->shape))
    return ml_error(ctx, "copy: source shape %s does not fit destination shape %s",
                    ml_shape_str(b1, sizeof b1, src->ndim, src->shape),
                    ml_shape_str(b2, sizeof b2, dst->ndim, dst->shape));
  for (int i = 0; i < dst->ndim; i++) sst[i] = tmp.stride[i];
  ml_tensor_release(&tmp);
  int64_t n = ml_numel(dst);
  if (n == 0) return ML_OK;
  if (ml_check_writable(ctx, dst, "copy")) return ML_ERR;
  if (ml_check_range(ctx, src, dst->dtype, "copy")) return ML_ERR;
  if (ml_partial_overlap(dst, src)) {   /* read everything before writing */
    ml_tensor c;
    if (ml_clone(ctx, &c, src)) return ML_ERR;
    int rc = ml_copy(ctx, dst, &c);
    ml_tensor_release(&c);
    return rc;
  }
  ml_iter it;
  const int64_t *strides[2] = {dst->stride, sst};
  int64_t base[2] = {dst->offset, src->offset};
  ml_iter_init(&it, dst->ndim, dst->shape, 2, strides, base);
  int64_t ds = it.stride[0][it.ndim - 1], ss = it.stride[1][it.ndim - 1];
  int nt = n >= ML_PAR_MIN ? ctx->threads : 1;
  if (nt == 1) {   /* an OpenMP region costs more than copying a small tensor */
    for (int64_t o = 0; o < it.outer; o++) copy_row(&it, o, dst, src, ds, ss);
    return ML_OK;
  }
  #pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t o = 0; o < it.outer; o++) copy_row(&it, o, dst, src, ds, ss);
  return ML_OK;
}

int ml_clone(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t) {
  if (ml_tensor_new(ctx, out, t->dtype, t->ndim, t->shape, false)) return ML_ERR;
  if (ml_copy(ctx, out, t)) { ml_tensor_release(out); return ML_ERR; }
  return ML_OK;
}

int ml_contiguous(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t) {
  if (ml_is_contiguous(t)) { view_of(out, t); return ML_OK; }
  return ml_clone(ctx, out, t);
}

int ml_to_dtype(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, ml_dtype d) {
  if (t->dtype == d) { view_of(out, t); return ML_OK; }
  if (ml_tensor_new(ctx, out, d, t->ndim, t->shape, false)) return ML_ERR;
  if (ml_copy(ctx, out, t)) { ml_tensor_release(out); return ML_ERR; }
  return ML_OK;
}

void ml_fill(ml_tensor *t, double v) {
  int64_t n = ml_numel(t);
  if (ml_is_contiguous(t)) {
    switch (t->dtype) {
      case ML_F32: { float *p = ml_f32(t), f = (float)v; for (int64_t i = 0; i < n; i++) p[i] = f; break; }
      case ML_I64: { int64_t *p = ml_i64(t), q = ml_d2i(v); for (int64_t i = 0; i < n; i++) p[i] = q; break; }
      case ML_F64: { double *p = ml_f64(t); for (int64_t i = 0; i < n; i++) p[i] = v; break; }
      default: memset(ml_u8(t), (uint8_t)ml_d2i(v), (size_t)n); break;
    }
    return;
  }
  for (int64_t i = 0; i < n; i++) ml_set_d(t->storage->data, t->dtype, ml_offset_of(t, i), v);
}

/* ---- iteration helper ---- */

void ml_broadcast_strides(int64_t *out, const ml_tensor *t, int ndim, const int64_t *shape) {
  for (int i = 0; i < ndim; i++) {
    int j = i - (ndim - t->ndim);
    out[i] = (j < 0 || t->shape[j] != shape[i]) ? 0 : t->stride[j];
  }
}

void ml_iter_init(ml_iter *it, int ndim, const int64_t *shape, int nops,
                  const int64_t *strides[], const int64_t *base) {
  it->nops = nops;
  int n = 0;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] == 1) continue;   /* size-1 dims never move the offsets */
    if (n > 0) {
      bool merge = true;
      for (int k = 0; k < nops; k++)
        if (it->stride[k][n - 1] != strides[k][d] * shape[d]) merge = false;
      if (merge) {
        it->shape[n - 1] *= shape[d];
        for (int k = 0; k < nops; k++) it->stride[k][n - 1] = strides[k][d];
        continue;
      }
    }
    it->shape[n] = shape[d];
    for (int k = 0; k < nops; k++) it->stride[k][n] = strides[k][d];
    n++;
  }
  if (n == 0) {
    it->shape[0] = 1;
    for (int k = 0; k < nops; k++) it->stride[k][0] = 1;
    n = 1;
  }
  it->ndim = n;
  for (int k = 0; k < nops; k++) it->base[k] = base[k];
  it->inner = it->shape[n - 1];
  it->outer = 1;
  for (int d = 0; d < n - 1; d++) it->outer *= it->shape[d];
}
