/* ops_elementwise.c - unary and binary elementwise kernels with NumPy
 * broadcasting. Work is cut into tasks of (outer row, inner chunk) so both
 * contiguous and strided tensors split evenly across threads. */
#include "ml.h"
#include "iter.h"
#include "dispatch.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define CHUNK 16384

static const char *binop_names[ML_BINOP_COUNT] = {
  "add", "sub", "mul", "div", "pow", "maximum", "minimum",
  "eq", "ne", "gt", "ge", "lt", "le"};
static const char *unop_names[ML_UNOP_COUNT] = {
  "neg", "exp", "log", "sqrt", "abs", "sigmoid", "tanh", "relu", "sign", "floor",
  "ceil", "round", "square", "reciprocal", "log1p", "expm1", "sin", "cos"};

const char *ml_binop_name(ml_binop op) { return binop_names[op]; }
const char *ml_unop_name(ml_unop op) { return unop_names[op]; }

static inline double binop_d(ml_binop op, double x, double y) {
  switch (op) {
    case ML_ADD: return x + y;
    case ML_SUB: return x - y;
    case ML_MUL: return x * y;
    case ML_DIV: return x / y;
    case ML_POW: return pow(x, y);
    case ML_MAXIMUM: return x > y || isnan(x) ? x : y;
    case ML_MINIMUM: return x < y || isnan(x) ? x : y;
    case ML_EQ: return x == y;
    case ML_NE: return x != y;
    case ML_GT: return x > y;
    case ML_GE: return x >= y;
    case ML_LT: return x < y;
    case ML_LE: return x <= y;
    default: return 0;
  }
}

static inline float binop_f(ml_binop op, float x, float y) {
  switch (op) {
    case ML_ADD: return x + y;
    case ML_SUB: return x - y;
    case ML_MUL: return x * y;
    case ML_DIV: return x / y;
    case ML_POW: return y == 2.0f ? x * x : powf(x, y);
    case ML_MAXIMUM: return x > y || isnan(x) ? x : y;
    case ML_MINIMUM: return x < y || isnan(x) ? x : y;
    case ML_EQ: return x == y;
    case ML_NE: return x != y;
    case ML_GT: return x > y;
    case ML_GE: return x >= y;
    case ML_LT: return x < y;
    case ML_LE: return x <= y;
    default: return 0;
  }
}

#if defined(__x86_64__)
#include <immintrin.h>
/* Outputs far larger than the caches are written with streaming stores: a
 * normal store first reads the line it writes (write-allocate), so a binary
 * op over big tensors moves 4 streams through memory instead of 3. The loop
 * is memory-bound, so SSE (every x86-64) is as fast as AVX here; other CPUs
 * use the plain loops. */
#define STREAM_MIN ((int64_t)4 << 20)   /* output elements */
static bool stream_run_f32(ml_binop op, float *o, const float *a, const float *b, int64_t n) {
  if (op != ML_ADD && op != ML_SUB && op != ML_MUL && op != ML_DIV) return false;
  int64_t j = 0;
  for (; j < n && ((uintptr_t)(o + j) & 15); j++) o[j] = binop_f(op, a[j], b[j]);
  for (; j + 4 <= n; j += 4) {
    __m128 x = _mm_loadu_ps(a + j), y = _mm_loadu_ps(b + j), r;
    switch (op) {
      case ML_ADD: r = _mm_add_ps(x, y); break;
      case ML_SUB: r = _mm_sub_ps(x, y); break;
      case ML_MUL: r = _mm_mul_ps(x, y); break;
      default: r = _mm_div_ps(x, y); break;
    }
    _mm_stream_ps(o + j, r);
  }
  for (; j < n; j++) o[j] = binop_f(op, a[j], b[j]);
  _mm_sfence();   /* streaming stores are weakly ordered: publish them */
  return true;
}
#endif

/* The hot loops: unit strides and scalar-broadcast get their own loops so the
 * compiler vectorises them. */
ML_HOT static void binary_run_f32(ml_binop op, float *restrict o, int64_t so, const float *a,
                           int64_t sa, const float *b, int64_t sb, int64_t n) {
  if (so == 1 && sa == 1 && sb == 1) {
    switch (op) {
      case ML_ADD: for (int64_t j = 0; j < n; j++) o[j] = a[j] + b[j]; return;
      case ML_SUB: for (int64_t j = 0; j < n; j++) o[j] = a[j] - b[j]; return;
      case ML_MUL: for (int64_t j = 0; j < n; j++) o[j] = a[j] * b[j]; return;
      case ML_DIV: for (int64_t j = 0; j < n; j++) o[j] = a[j] / b[j]; return;
      case ML_EQ: for (int64_t j = 0; j < n; j++) o[j] = a[j] == b[j]; return;
      case ML_NE: for (int64_t j = 0; j < n; j++) o[j] = a[j] != b[j]; return;
      case ML_GT: for (int64_t j = 0; j < n; j++) o[j] = a[j] > b[j]; return;
      case ML_GE: for (int64_t j = 0; j < n; j++) o[j] = a[j] >= b[j]; return;
      case ML_LT: for (int64_t j = 0; j < n; j++) o[j] = a[j] < b[j]; return;
      case ML_LE: for (int64_t j = 0; j < n; j++) o[j] = a[j] <= b[j]; return;
      default: for (int64_t j = 0; j < n; j++) o[j] = binop_f(op, a[j], b[j]); return;
    }
  }
  if (so == 1 && sa == 1 && sb == 0) {
    float y = b[0];
    switch (op) {
      case ML_ADD: for (int64_t j = 0; j < n; j++) o[j] = a[j] + y; return;
      case ML_SUB: for (int64_t j = 0; j < n; j++) o[j] = a[j] - y; return;
      case ML_MUL: for (int64_t j = 0; j < n; j++) o[j] = a[j] * y; return;
      case ML_DIV: for (int64_t j = 0; j < n; j++) o[j] = a[j] / y; return;
      case ML_GT: for (int64_t j = 0; j < n; j++) o[j] = a[j] > y; return;
      case ML_LT: for (int64_t j = 0; j < n; j++) o[j] = a[j] < y; return;
      case ML_EQ: for (int64_t j = 0; j < n; j++) o[j] = a[j] == y; return;
      default: for (int64_t j = 0; j < n; j++) o[j] = binop_f(op, a[j], y); return;
    }
  }
  if (so == 1 && sa == 0 && sb == 1) {   /* scalar on the left: 1 - x, 1 / x */
    float x = a[0];
    switch (op) {
      case ML_SUB: for (int64_t j = 0; j < n; j++) o[j] = x - b[j]; return;
      case ML_DIV: for (int64_t j = 0; j < n; j++) o[j] = x / b[j]; return;
      default: for (int64_t j = 0; j < n; j++) o[j] = binop_f(op, x, b[j]); return;
    }
  }
  for (int64_t j = 0; j < n; j++) o[j * so] = binop_f(op, a[j * sa], b[j * sb]);
}

/* Integer results (add, sub, mul, maximum, minimum of two integer tensors)
 * are computed in int64 and stored in the result's dtype: int64 wraps on
 * overflow as two's complement, uint8 keeps the low byte (modulo 256, as
 * NumPy's uint8). */
static inline int64_t binop_i(ml_binop op, int64_t x, int64_t y) {
  switch (op) {
    case ML_ADD: return (int64_t)((uint64_t)x + (uint64_t)y);
    case ML_SUB: return (int64_t)((uint64_t)x - (uint64_t)y);
    case ML_MUL: return (int64_t)((uint64_t)x * (uint64_t)y);
    case ML_MAXIMUM: return x > y ? x : y;
    case ML_MINIMUM: return x < y ? x : y;
    default: return 0;
  }
}

static inline int64_t load_i(const ml_tensor *t, int64_t off) {
  return t->dtype == ML_I64 ? ((const int64_t *)t->storage->data)[off]
                            : ((const uint8_t *)t->storage->data)[off];
}

/* float64 operands and result: every op in double. */
static void binary_run_f64(ml_binop op, double *restrict o, int64_t so, const double *a,
                           int64_t sa, const double *b, int64_t sb, int64_t n) {
  if (so == 1 && sa == 1 && sb == 1) {
    switch (op) {
      case ML_ADD: for (int64_t j = 0; j < n; j++) o[j] = a[j] + b[j]; return;
      case ML_SUB: for (int64_t j = 0; j < n; j++) o[j] = a[j] - b[j]; return;
      case ML_MUL: for (int64_t j = 0; j < n; j++) o[j] = a[j] * b[j]; return;
      case ML_DIV: for (int64_t j = 0; j < n; j++) o[j] = a[j] / b[j]; return;
      default: for (int64_t j = 0; j < n; j++) o[j] = binop_d(op, a[j], b[j]); return;
    }
  }
  if (so == 1 && sa == 1 && sb == 0) {
    double y = b[0];
    switch (op) {
      case ML_ADD: for (int64_t j = 0; j < n; j++) o[j] = a[j] + y; return;
      case ML_SUB: for (int64_t j = 0; j < n; j++) o[j] = a[j] - y; return;
      case ML_MUL: for (int64_t j = 0; j < n; j++) o[j] = a[j] * y; return;
      case ML_DIV: for (int64_t j = 0; j < n; j++) o[j] = a[j] / y; return;
      default: for (int64_t j = 0; j < n; j++) o[j] = binop_d(op, a[j], y); return;
    }
  }
  for (int64_t j = 0; j < n; j++) o[j * so] = binop_d(op, a[j * sa], b[j * sb]);
}

/* One task of binary_apply: row r = t / chunks, chunk c = t % chunks. */
typedef struct {
  ml_iter it;
  int64_t chunks, s0, s1, s2;
  bool all_f32, all_f64, all_int, stream;
  ml_tensor *o;
  const ml_tensor *a, *b;
  ml_binop op;
} binary_job;

static void binary_task(const binary_job *J, int64_t t) {
  int64_t off[3], r = t / J->chunks, c = t % J->chunks;
  int64_t s0 = J->s0, s1 = J->s1, s2 = J->s2;
  const ml_tensor *a = J->a, *b = J->b;
  ml_tensor *o = J->o;
  ml_binop op = J->op;
  ml_iter_offsets(&J->it, r, off);
  int64_t j0 = c * CHUNK, len = J->it.inner - j0 < CHUNK ? J->it.inner - j0 : CHUNK;
#if defined(__x86_64__)
  if (J->stream && s0 == 1 && s1 == 1 && s2 == 1 &&
      stream_run_f32(op, (float *)o->storage->data + off[0] + j0,
                     (const float *)a->storage->data + off[1] + j0,
                     (const float *)b->storage->data + off[2] + j0, len))
    return;
#endif
  if (J->all_f32) {
    binary_run_f32(op, (float *)o->storage->data + off[0] + j0 * s0, s0,
                   (const float *)a->storage->data + off[1] + j0 * s1, s1,
                   (const float *)b->storage->data + off[2] + j0 * s2, s2, len);
  } else if (J->all_f64) {
    binary_run_f64(op, (double *)o->storage->data + off[0] + j0 * s0, s0,
                   (const double *)a->storage->data + off[1] + j0 * s1, s1,
                   (const double *)b->storage->data + off[2] + j0 * s2, s2, len);
  } else if (J->all_int && o->dtype == ML_I64 && a->dtype == ML_I64 && b->dtype == ML_I64) {
    int64_t *po = (int64_t *)o->storage->data + off[0];
    const int64_t *pa = (const int64_t *)a->storage->data + off[1],
                  *pb = (const int64_t *)b->storage->data + off[2];
    for (int64_t j = j0; j < j0 + len; j++) po[j * s0] = binop_i(op, pa[j * s1], pb[j * s2]);
  } else if (J->all_int) {   /* uint8 and int64 mixed, or uint8 alone */
    for (int64_t j = j0; j < j0 + len; j++) {
      int64_t v = binop_i(op, load_i(a, off[1] + j * s1), load_i(b, off[2] + j * s2));
      if (o->dtype == ML_I64) ((int64_t *)o->storage->data)[off[0] + j * s0] = v;
      else ((uint8_t *)o->storage->data)[off[0] + j * s0] = (uint8_t)v;
    }
  } else {
    for (int64_t j = j0; j < j0 + len; j++)
      ml_set_d(o->storage->data, o->dtype, off[0] + j * s0,
               binop_d(op, ml_get(a, off[1] + j * s1), ml_get(b, off[2] + j * s2)));
  }
}

/* o = a op b where all three already have o's shape through strides. Small
 * tensors run without entering an OpenMP region (whose set-up costs more
 * than the arithmetic on them). */
static void binary_apply(ml_ctx *ctx, ml_tensor *o, const ml_tensor *a, const int64_t *sa,
                         const ml_tensor *b, const int64_t *sb, ml_binop op) {
  int64_t n = ml_numel(o);
  if (n == 0) return;
  binary_job J = {.o = o, .a = a, .b = b, .op = op};
  const int64_t *strides[3] = {o->stride, sa, sb};
  int64_t base[3] = {o->offset, a->offset, b->offset};
  ml_iter_init(&J.it, o->ndim, o->shape, 3, strides, base);
  J.chunks = (J.it.inner + CHUNK - 1) / CHUNK;
  int64_t tasks = J.it.outer * J.chunks;
  J.s0 = J.it.stride[0][J.it.ndim - 1];
  J.s1 = J.it.stride[1][J.it.ndim - 1];
  J.s2 = J.it.stride[2][J.it.ndim - 1];
  J.all_f32 = o->dtype == ML_F32 && a->dtype == ML_F32 && b->dtype == ML_F32;
  J.all_f64 = o->dtype == ML_F64 && a->dtype == ML_F64 && b->dtype == ML_F64;
  /* integer arithmetic only where the result is an integer dtype */
  J.all_int = !ml_dtype_is_float(o->dtype) && !ml_dtype_is_float(a->dtype) &&
              !ml_dtype_is_float(b->dtype) && op != ML_DIV && op != ML_POW && op < ML_EQ;
  /* streaming only into a fresh output (never in place: a == o would be read back) */
  J.stream = J.all_f32 && n >= STREAM_MIN && o->storage != a->storage && o->storage != b->storage;
  int nt = n >= ML_PAR_MIN ? ctx->threads : 1;
  if (nt == 1) {
    for (int64_t t = 0; t < tasks; t++) binary_task(&J, t);
    return;
  }
  #pragma omp parallel for num_threads(nt) schedule(dynamic, 4)
  for (int64_t t = 0; t < tasks; t++) binary_task(&J, t);
}

int ml_broadcast_shape(ml_ctx *ctx, const char *who, int *ndim, int64_t *shape,
                       const ml_tensor *a, const ml_tensor *b) {
  int n = a->ndim > b->ndim ? a->ndim : b->ndim;
  for (int i = 0; i < n; i++) {
    int ia = i - (n - a->ndim), ib = i - (n - b->ndim);
    int64_t da = ia < 0 ? 1 : a->shape[ia], db = ib < 0 ? 1 : b->shape[ib];
    if (da != db && da != 1 && db != 1) {
      char b1[160], b2[160];
      return ml_error(ctx, "%s: shapes %s and %s cannot be broadcast together", who,
                      ml_shape_str(b1, sizeof b1, a->ndim, a->shape),
                      ml_shape_str(b2, sizeof b2, b->ndim, b->shape));
    }
    shape[i] = da == 1 ? db : da;
  }
  *ndim = n;
  return ML_OK;
}

/* Comparisons give 0/1 float32 masks; division and powers of integers give
 * float32 (the default float, as PyTorch); the rest ml_promote. */
static ml_dtype result_dtype(ml_binop op, ml_dtype a, ml_dtype b) {
  if (op >= ML_EQ) return ML_F32;
  ml_dtype p = ml_promote(a, b);
  if (!ml_dtype_is_float(p) && (op == ML_DIV || op == ML_POW)) return ML_F32;
  return p;
}

int ml_binary(ml_ctx *ctx, ml_tensor *out, const ml_tensor *a, const ml_tensor *b, ml_binop op) {
  int ndim;
  int64_t shape[ML_MAX_DIMS], sa[ML_MAX_DIMS], sb[ML_MAX_DIMS];
  if (ml_broadcast_shape(ctx, binop_names[op], &ndim, shape, a, b)) return ML_ERR;
  if (ml_tensor_new(ctx, out, result_dtype(op, a->dtype, b->dtype), ndim, shape, false))
    return ML_ERR;
  ml_broadcast_strides(sa, a, ndim, shape);
  ml_broadcast_strides(sb, b, ndim, shape);
  binary_apply(ctx, out, a, sa, b, sb, op);
  return ML_OK;
}

int ml_binary_(ml_ctx *ctx, ml_tensor *a, const ml_tensor *b, ml_binop op) {
  int ndim;
  int64_t shape[ML_MAX_DIMS], sb[ML_MAX_DIMS];
  if (ml_broadcast_shape(ctx, binop_names[op], &ndim, shape, a, b)) return ML_ERR;
  bool same = ndim == a->ndim;
  for (int i = 0; same && i < ndim; i++) same = shape[i] == a->shape[i];
  if (!same) {
    char b1[160], b2[160];
    return ml_error(ctx, "%s_: shape %s cannot be broadcast into the in-place target %s",
                    binop_names[op], ml_shape_str(b1, sizeof b1, b->ndim, b->shape),
                    ml_shape_str(b2, sizeof b2, a->ndim, a->shape));
  }
  char who[32];
  snprintf(who, sizeof who, "%s_", binop_names[op]);
  if (a->dtype == ML_U8 && (ml_dtype_is_float(b->dtype) || op == ML_DIV || op == ML_POW))
    return ml_error(ctx, "%s: cannot write a %s result into a uint8 tensor in place; convert "
                    "it first (x:float())", who,
                    ml_dtype_name(ml_dtype_is_float(b->dtype) ? b->dtype : ML_F32));
  if (ml_check_writable(ctx, a, who)) return ML_ERR;
  if (ml_partial_overlap(a, b)) {   /* read every operand element before writing */
    ml_tensor c;
    if (ml_clone(ctx, &c, b)) return ML_ERR;
    int rc = ml_binary_(ctx, a, &c, op);
    ml_tensor_release(&c);
    return rc;
  }
  ml_broadcast_strides(sb, b, ndim, shape);
  binary_apply(ctx, a, a, a->stride, b, sb, op);
  return ML_OK;
}

/* The scalar operand of a op s as a 0-d tensor over *buf (NumPy 2's "weak"
 * scalars: the tensor's dtype decides): float32 tensors take it as float32,
 * float64 as float64; integer tensors take an integral s as their own dtype
 * (int64 up to 2^53; uint8 in 0..255), else as float32, giving a float32
 * result. uint8 arithmetic with an integer outside 0..255 is an error (as
 * NumPy 2); comparisons take it as float64 (exact, result float32 anyway). */
static int scalar_operand(ml_ctx *ctx, ml_tensor *st, void *buf, const ml_tensor *a, double s,
                          ml_binop op, const char *suffix) {
  ml_dtype d = ML_F32;
  bool integral = s == floor(s) && fabs(s) < 9e15;
  if (a->dtype == ML_F64) d = ML_F64;
  else if (a->dtype == ML_I64 && integral) d = ML_I64;
  else if (a->dtype == ML_U8) {
    if (integral && s >= 0 && s <= 255) d = ML_U8;
    else if (op >= ML_EQ) d = ML_F64;
    else if (integral && op != ML_DIV && op != ML_POW)
      return ml_error(ctx, "%s%s: %.17g does not fit a uint8 tensor (0..255); convert the "
                      "tensor first (x:long() or x:float())", binop_names[op], suffix, s);
  }
  switch (d) {
    case ML_F32: *(float *)buf = (float)s; break;
    case ML_F64: *(double *)buf = s; break;
    case ML_I64: *(int64_t *)buf = (int64_t)s; break;
    default: *(uint8_t *)buf = (uint8_t)s; break;
  }
  int64_t one = 1;
  return ml_tensor_wrap(ctx, st, buf, d, 0, &one, NULL, NULL);
}

int ml_binary_scalar(ml_ctx *ctx, ml_tensor *out, const ml_tensor *a, double s, ml_binop op,
                     bool scalar_left) {
  double buf;
  ml_tensor st;
  if (scalar_operand(ctx, &st, &buf, a, s, op, "")) return ML_ERR;
  int rc = scalar_left ? ml_binary(ctx, out, &st, a, op) : ml_binary(ctx, out, a, &st, op);
  ml_tensor_release(&st);
  return rc;
}

int ml_binary_scalar_(ml_ctx *ctx, ml_tensor *a, double s, ml_binop op) {
  if (a->dtype == ML_I64 && !(s < 9223372036854775808.0 && s >= -9223372036854775808.0))
    return s != s ? ml_error(ctx, "%s_: cannot apply NaN to an int64 tensor", binop_names[op])
                  : ml_error(ctx, "%s_: cannot apply %g to an int64 tensor: out of int64 range",
                             binop_names[op], s);
  if (a->dtype == ML_U8 && !(s == floor(s) && s >= 0 && s <= 255))
    return ml_error(ctx, "%s_: a uint8 tensor takes integers in 0..255 in place, got %.17g; "
                    "convert it first (x:float())", binop_names[op], s);
  double buf;
  int64_t iv = ml_d2i(s), one = 1;
  ml_tensor st;
  if (a->dtype == ML_I64) ml_tensor_wrap(ctx, &st, &iv, ML_I64, 0, &one, NULL, NULL);
  else if (scalar_operand(ctx, &st, &buf, a, s, op, "_")) return ML_ERR;
  int rc = ml_binary_(ctx, a, &st, op);
  ml_tensor_release(&st);
  return rc;
}

/* ---- unary ---- */

static inline float unop_f(ml_unop op, float x) {
  switch (op) {
    case ML_NEG: return -x;
    case ML_EXP: return expf(x);
    case ML_LOG: return logf(x);
    case ML_SQRT: return sqrtf(x);
    case ML_ABS: return fabsf(x);
    case ML_SIGMOID: return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
    case ML_TANH: return tanhf(x);
    case ML_RELU: return x > 0 ? x : 0.0f;
    case ML_SIGN: return (float)((x > 0) - (x < 0));
    case ML_FLOOR: return floorf(x);
    case ML_CEIL: return ceilf(x);
    case ML_ROUND: return nearbyintf(x);
    case ML_SQUARE: return x * x;
    case ML_RECIP: return 1.0f / x;
    case ML_LOG1P: return log1pf(x);
    case ML_EXPM1: return expm1f(x);
    case ML_SIN: return sinf(x);
    case ML_COS: return cosf(x);
    default: return 0;
  }
}

ML_HOT static void unary_run_f32(ml_unop op, float *restrict o, int64_t so, const float *a, int64_t sa,
                          int64_t n) {
  if (so == 1 && sa == 1) {
    switch (op) {
      case ML_NEG: for (int64_t j = 0; j < n; j++) o[j] = -a[j]; return;
      case ML_RELU: for (int64_t j = 0; j < n; j++) o[j] = a[j] > 0 ? a[j] : 0.0f; return;
      case ML_SQUARE: for (int64_t j = 0; j < n; j++) o[j] = a[j] * a[j]; return;
      case ML_ABS: for (int64_t j = 0; j < n; j++) o[j] = fabsf(a[j]); return;
      case ML_EXP: for (int64_t j = 0; j < n; j++) o[j] = expf(a[j]); return;
      default: for (int64_t j = 0; j < n; j++) o[j] = unop_f(op, a[j]); return;
    }
  }
  for (int64_t j = 0; j < n; j++) o[j * so] = unop_f(op, a[j * sa]);
}

static inline double unop_d(ml_unop op, double x) {
  switch (op) {
    case ML_NEG: return -x;
    case ML_EXP: return exp(x);
    case ML_LOG: return log(x);
    case ML_SQRT: return sqrt(x);
    case ML_ABS: return fabs(x);
    case ML_SIGMOID: return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
    case ML_TANH: return tanh(x);
    case ML_RELU: return x > 0 ? x : 0.0;
    case ML_SIGN: return (double)((x > 0) - (x < 0));
    case ML_FLOOR: return floor(x);
    case ML_CEIL: return ceil(x);
    case ML_ROUND: return nearbyint(x);
    case ML_SQUARE: return x * x;
    case ML_RECIP: return 1.0 / x;
    case ML_LOG1P: return log1p(x);
    case ML_EXPM1: return expm1(x);
    case ML_SIN: return sin(x);
    case ML_COS: return cos(x);
    default: return 0;
  }
}

static void unary_run_f64(ml_unop op, double *restrict o, int64_t so, const double *a,
                          int64_t sa, int64_t n) {
  for (int64_t j = 0; j < n; j++) o[j * so] = unop_d(op, a[j * sa]);
}

/* Task t (outer row t / chunks, chunk t % chunks) of unary_apply. */
static void unary_task(const ml_iter *it, int64_t t, int64_t chunks, ml_tensor *o,
                       const ml_tensor *a, ml_unop op) {
  int64_t off[2], r = t / chunks, c = t % chunks;
  int64_t s0 = it->stride[0][it->ndim - 1], s1 = it->stride[1][it->ndim - 1];
  ml_iter_offsets(it, r, off);
  int64_t j0 = c * CHUNK, len = it->inner - j0 < CHUNK ? it->inner - j0 : CHUNK;
  if (o->dtype == ML_F64)
    unary_run_f64(op, (double *)o->storage->data + off[0] + j0 * s0, s0,
                  (const double *)a->storage->data + off[1] + j0 * s1, s1, len);
  else
    unary_run_f32(op, (float *)o->storage->data + off[0] + j0 * s0, s0,
                  (const float *)a->storage->data + off[1] + j0 * s1, s1, len);
}

/* o = op(a), both float32 or both float64, of one shape. */
static void unary_apply(ml_ctx *ctx, ml_tensor *o, const ml_tensor *a, ml_unop op) {
  int64_t n = ml_numel(o);
  if (n == 0) return;
  ml_iter it;
  const int64_t *strides[2] = {o->stride, a->stride};
  int64_t base[2] = {o->offset, a->offset};
  ml_iter_init(&it, o->ndim, o->shape, 2, strides, base);
  int64_t chunks = (it.inner + CHUNK - 1) / CHUNK, tasks = it.outer * chunks;
  int nt = n >= ML_PAR_MIN / 4 ? ctx->threads : 1;
  if (nt == 1) {   /* no OpenMP region for small tensors (see binary_apply) */
    for (int64_t t = 0; t < tasks; t++) unary_task(&it, t, chunks, o, a, op);
    return;
  }
  #pragma omp parallel for num_threads(nt) schedule(dynamic, 4)
  for (int64_t t = 0; t < tasks; t++) unary_task(&it, t, chunks, o, a, op);
}

/* float64 stays float64; float32, int64 and uint8 give float32. */
int ml_unary(ml_ctx *ctx, ml_tensor *out, const ml_tensor *a, ml_unop op) {
  ml_dtype d = a->dtype == ML_F64 ? ML_F64 : ML_F32;
  ml_tensor af;
  if (ml_to_dtype(ctx, &af, a, d)) return ML_ERR;
  int rc = ml_tensor_new(ctx, out, d, a->ndim, a->shape, false);
  if (rc == ML_OK) unary_apply(ctx, out, &af, op);
  ml_tensor_release(&af);
  return rc;
}

int ml_unary_(ml_ctx *ctx, ml_tensor *a, ml_unop op) {
  if (!ml_dtype_is_float(a->dtype))
    return ml_error(ctx, "%s_: in-place needs a float32 or float64 tensor, got %s",
                    unop_names[op], ml_dtype_name(a->dtype));
  char who[32];
  snprintf(who, sizeof who, "%s_", unop_names[op]);
  if (ml_check_writable(ctx, a, who)) return ML_ERR;
  unary_apply(ctx, a, a, op);
  return ML_OK;
}

int ml_clamp(ml_ctx *ctx, ml_tensor *out, const ml_tensor *a, double lo, double hi) {
  if (lo > hi) return ml_error(ctx, "clamp: lower bound %g is above upper bound %g", lo, hi);
  ml_dtype d = a->dtype == ML_F64 ? ML_F64 : ML_F32;   /* as ml_unary */
  if (ml_to_dtype(ctx, out, a, d)) return ML_ERR;
  ml_tensor c;
  int rc = ml_clone(ctx, &c, out);
  ml_tensor_release(out);
  if (rc) return ML_ERR;
  int64_t n = ml_numel(&c);
  if (d == ML_F64) {
    double *p = ml_f64(&c);
    for (int64_t i = 0; i < n; i++) p[i] = p[i] < lo ? lo : (p[i] > hi ? hi : p[i]);
  } else {
    float *p = ml_f32(&c), l = (float)lo, h = (float)hi;
    for (int64_t i = 0; i < n; i++) p[i] = p[i] < l ? l : (p[i] > h ? h : p[i]);
  }
  *out = c;
  return ML_OK;
}

int ml_where(ml_ctx *ctx, ml_tensor *out, const ml_tensor *cond, const ml_tensor *a,
             const ml_tensor *b) {
  int n1, n2;
  int64_t s1[ML_MAX_DIMS], s2[ML_MAX_DIMS];
  ml_tensor tmp;
  if (ml_broadcast_shape(ctx, "where", &n1, s1, a, b)) return ML_ERR;
  tmp.ndim = n1;
  memcpy(tmp.shape, s1, sizeof s1);
  if (ml_broadcast_shape(ctx, "where", &n2, s2, cond, &tmp)) return ML_ERR;
  ml_tensor c, x, y;
  if (ml_view_expand(ctx, &c, cond, n2, s2)) return ML_ERR;
  if (ml_view_expand(ctx, &x, a, n2, s2)) { ml_tensor_release(&c); return ML_ERR; }
  if (ml_view_expand(ctx, &y, b, n2, s2)) {
    ml_tensor_release(&c); ml_tensor_release(&x); return ML_ERR;
  }
  ml_dtype dt = ml_promote(a->dtype, b->dtype);
  int rc = ml_tensor_new(ctx, out, dt, n2, s2, false);
  if (rc == ML_OK) {
    int64_t n = ml_numel(out);
    for (int64_t i = 0; i < n; i++) {
      double cv = ml_get(&c, ml_offset_of(&c, i));
      ml_set_d(out->storage->data, dt, i,
               cv != 0 ? ml_get(&x, ml_offset_of(&x, i)) : ml_get(&y, ml_offset_of(&y, i)));
    }
  }
  ml_tensor_release(&c); ml_tensor_release(&x); ml_tensor_release(&y);
  return rc;
}

int ml_axpy(ml_ctx *ctx, float a, const ml_tensor *x, ml_tensor *y) {
  int64_t n = ml_numel(y);
  if (ml_numel(x) != n || !ml_is_contiguous(x) || !ml_is_contiguous(y) ||
      x->dtype != ML_F32 || y->dtype != ML_F32)
    return ml_error(ctx, "axpy: expected two contiguous float32 tensors of equal size");
  float *restrict yp = ml_f32(y);
  const float *xp = ml_f32(x);
  int nt = n >= ML_PAR_MIN ? ctx->threads : 1;
  #pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t i = 0; i < n; i++) yp[i] += a * xp[i];
  return ML_OK;
}
