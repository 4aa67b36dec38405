/*
 * ml.h - the mlrun runtime: tensors and the engine context they live in.
 *
 * Plain C11; knows nothing of Lua. Every function that can fail returns
 * ML_OK (0) or ML_ERR (-1) and leaves a message in ctx->err that names the
 * function, what was expected and what was given (shapes for shape errors).
 * Nothing here exits or aborts the process.
 *
 * Layout decisions, stated once:
 *  - a tensor is a view: shape + strides (in elements) + offset over a
 *    reference-counted storage, so slicing, transposing and reshaping a
 *    contiguous tensor cost nothing;
 *  - dimensions are numbered from 0 in C (the Lua bindings add 1);
 *  - images are N x H x W x C (channels last, as Keras), everywhere;
 *  - float32 is the working type; int64 holds labels and indices; float64
 *    holds exact table data and gradient checks; uint8 holds image bytes.
 *    Mixed operands promote by one table (ml_promote, docs/tensor.md).
 */
#ifndef ML_H
#define ML_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdarg.h>

#define ML_OK 0
#define ML_ERR (-1)
#define ML_MAX_DIMS 8
#define ML_ERR_SIZE 512
#define ML_VERSION "0.2.0"   /* the one place: binary, SONAME, .pc, rockspec */

/* The numbers are part of the .mlt file format: never renumber. */
typedef enum { ML_F32 = 0, ML_I64 = 1, ML_F64 = 2, ML_U8 = 3 } ml_dtype;
#define ML_DTYPE_COUNT 4

/* xoshiro256** seeded through splitmix64: fast, documented, reproducible. */
typedef struct ml_rng {
  uint64_t s[4];
  int has_spare;       /* Box-Muller makes normals in pairs */
  double spare;
} ml_rng;

/* Freed large buffers kept for reuse, so a training loop that allocates the
 * same sizes every batch does not pay page faults again and again. */
#define ML_POOL_SLOTS 64
typedef struct ml_pool {
  void *ptr[ML_POOL_SLOTS];
  size_t size[ML_POOL_SLOTS];
  size_t bytes;        /* total bytes held */
} ml_pool;

/* One engine's state. Two engines in one process share nothing. */
typedef struct ml_ctx {
  int threads;         /* threads for kernels and BLAS, >= 1 */
  ml_rng rng;
  size_t mem_in_use;   /* bytes alive: tensor storage + ml_malloc'd blocks */
  size_t mem_peak;
  size_t mem_limit;    /* 0: no limit */
  ml_pool pool;
  /* Called when an allocation would fail (limit or malloc): the host frees
   * what it can (the Lua bindings run a full garbage collection), then the
   * allocation is tried once more. May be NULL. */
  void (*reclaim)(void *ud);
  void *reclaim_ud;
  const void *owner;   /* the thread that made ctx (ctx.c): only it reclaims */
  char err[ML_ERR_SIZE];
} ml_ctx;

/* Storage: a reference-counted buffer. Owned buffers are accounted to ctx;
 * borrowed ones (wrapped from a caller's memory) call release when freed. */
typedef struct ml_storage {
  void *data;
  size_t nbytes;
  int refcount;
  ml_ctx *ctx;                               /* accounting owner, NULL if borrowed */
  void (*release)(void *ud, void *data);     /* borrowed buffers only; may be NULL */
  void *release_ud;
  uint32_t version;   /* bumped by every in-place write the bindings make (autograd's check) */
} ml_storage;

typedef struct ml_tensor {
  ml_storage *storage;
  ml_dtype dtype;
  int ndim;                       /* 0 for a scalar */
  int64_t shape[ML_MAX_DIMS];
  int64_t stride[ML_MAX_DIMS];    /* in elements */
  int64_t offset;                 /* in elements */
} ml_tensor;

/* ---- context (ctx.c) ---- */
void ml_ctx_init(ml_ctx *ctx);
void ml_ctx_free(ml_ctx *ctx);                 /* releases pooled memory */
int ml_error(ml_ctx *ctx, const char *fmt, ...);   /* sets ctx->err, returns ML_ERR */
void ml_set_threads(ml_ctx *ctx, int n);

/* ---- accounted memory (ctx.c) ----
 * The memory limit (ml.set_memory_limit, mlrun --memory-limit, ctx->mem_limit)
 * covers every byte the runtime holds, not only tensors: readers, parsers,
 * decompression, model files and the scratch space of kernels and
 * estimators all allocate through these calls. Rules for runtime code:
 *  - never call malloc/calloc/realloc/free for anything whose size comes from
 *    data or from the user; use ml_malloc/ml_calloc/ml_realloc/ml_free (the
 *    size lives in a header, so ml_free needs no size). Fixed-size bookkeeping
 *    (a struct, a 64-entry table) may stay on malloc.
 *  - on NULL, ctx->err already says who asked, how many bytes, the limit and
 *    what is in use ("knn.fit: allocating 800000000 bytes would pass the
 *    memory limit of 100000000 bytes (...)"): return ML_ERR, do not overwrite
 *    the message with a vaguer one.
 *  - check sizes before multiplying: ml_calloc(ctx, n, size) checks n*size;
 *    ml_mul_size and ml_shape_numel check products of dimensions.
 *  - safe from OpenMP threads (atomic counters); only the thread that created
 *    ctx runs the reclaim hook (a Lua collection) and writes ctx->err, so a
 *    worker that gets NULL must hand the failure back to the calling thread,
 *    which reports it (allocate before the parallel region when you can).
 * Tensor storage uses the pooled pair ml_buf_alloc/ml_buf_free (sized frees,
 * 64-byte or 2 MiB aligned) through ml_tensor_new; prefer tensors or
 * ml_malloc elsewhere. */
void *ml_malloc(ml_ctx *ctx, size_t nbytes, const char *who);
void *ml_calloc(ml_ctx *ctx, size_t count, size_t size, const char *who);   /* zeroed */
/* Like realloc: on NULL the old block is untouched (and still accounted). */
void *ml_realloc(ml_ctx *ctx, void *p, size_t nbytes, const char *who);
void ml_free(ml_ctx *ctx, void *p);                  /* p from ml_malloc & co., or NULL */
char *ml_strdup(ml_ctx *ctx, const char *s, const char *who);
/* ML_OK when nbytes more would still fit under the limit, else the limit
 * error: for copies the engine cannot account itself (a Lua string made from
 * a buffer it read). */
int ml_mem_room(ml_ctx *ctx, size_t nbytes, const char *who);
void *ml_buf_alloc(ml_ctx *ctx, size_t nbytes, const char *who);
void ml_buf_free(ml_ctx *ctx, void *p, size_t nbytes);

/* ---- checked sizes (ctx.c) ----
 * Sizes that come from users or files are multiplied only through these, so
 * no product of dimensions overflows (signed overflow is undefined in C). */
#define ML_MAX_NUMEL ((int64_t)1 << 46)   /* elements in one tensor, also
                                             counting every non-zero dimension
                                             of an empty one */
/* *out = a * b; false when it would not fit a size_t. */
bool ml_mul_size(size_t *out, size_t a, size_t b);
/* Elements of a shape; fails (naming who and the shape) on a negative
 * dimension or when the product of its non-zero dimensions passes
 * ML_MAX_NUMEL, so strides of an empty tensor cannot overflow either. */
int ml_shape_numel(ml_ctx *ctx, const char *who, int ndim, const int64_t *shape, int64_t *numel);
/* Writes "2x3x4" (or "scalar") into buf. */
const char *ml_shape_str(char *buf, size_t n, int ndim, const int64_t *shape);

/* ---- random numbers (rng.c) ---- */
void ml_rng_seed(ml_rng *r, uint64_t seed);
uint64_t ml_rng_next(ml_rng *r);
double ml_rng_uniform(ml_rng *r);              /* [0, 1) with 53 bits */
double ml_rng_normal(ml_rng *r);               /* mean 0, sd 1 */
uint64_t ml_rng_below(ml_rng *r, uint64_t n);  /* uniform in [0, n), unbiased */
void ml_rng_shuffle_i64(ml_rng *r, int64_t *v, int64_t n);

/* ---- tensors (tensor.c) ---- */
size_t ml_dtype_size(ml_dtype d);
const char *ml_dtype_name(ml_dtype d);
bool ml_dtype_is_float(ml_dtype d);
/* The dtype of a binary op's operands meeting (docs/tensor.md, "dtypes"):
 * float64 wins; then float32 (float32 with int64 stays float32, as PyTorch:
 * the one departure from NumPy, which would give float64); then int64; two
 * uint8 stay uint8 (arithmetic wraps modulo 256, as NumPy). */
ml_dtype ml_promote(ml_dtype a, ml_dtype b);
int64_t ml_numel(const ml_tensor *t);
bool ml_is_contiguous(const ml_tensor *t);
/* New contiguous tensor; contents uninitialised unless zero is true. */
int ml_tensor_new(ml_ctx *ctx, ml_tensor *out, ml_dtype dtype, int ndim,
                  const int64_t *shape, bool zero);
int ml_tensor_new_like(ml_ctx *ctx, ml_tensor *out, const ml_tensor *like, bool zero);
/* Wrap a caller's buffer without copying; release(ud, data) runs when the
 * last view goes (release may be NULL: the caller keeps ownership). */
int ml_tensor_wrap(ml_ctx *ctx, ml_tensor *out, void *data, ml_dtype dtype,
                   int ndim, const int64_t *shape,
                   void (*release)(void *, void *), void *ud);
void ml_tensor_retain(const ml_tensor *t);
void ml_tensor_release(ml_tensor *t);      /* drops the reference; t becomes empty */
/* Pointers to the first element (offset applied). */
float *ml_f32(const ml_tensor *t);
int64_t *ml_i64(const ml_tensor *t);
double *ml_f64(const ml_tensor *t);
uint8_t *ml_u8(const ml_tensor *t);
/* Element at storage offset off (offset already applied) as a double, for
 * code that reads any dtype; int64 beyond 2^53 rounds. */
static inline double ml_get(const ml_tensor *t, int64_t off) {
  const void *p = t->storage->data;
  switch (t->dtype) {
    case ML_F32: return ((const float *)p)[off];
    case ML_I64: return (double)((const int64_t *)p)[off];
    case ML_F64: return ((const double *)p)[off];
    default: return ((const uint8_t *)p)[off];
  }
}
/* Element access by flat row-major index over a (possibly strided) tensor. */
int64_t ml_offset_of(const ml_tensor *t, int64_t flat);

/* ml_get's twin: v into element off (integer dtypes truncate toward zero and
 * uint8 keeps the low byte: check ranges first). */
void ml_set(ml_tensor *t, int64_t off, double v);

/* Views: out shares storage with t (and holds a reference). */
int ml_view_select(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int dim, int64_t index);
int ml_view_narrow(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int dim,
                   int64_t start, int64_t len);
int ml_view_transpose(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int d1, int d2);
int ml_view_permute(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, const int *perm);
/* Reshape: one entry may be -1. A view when strides allow, else a copy. */
int ml_reshape(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int ndim, const int64_t *shape);
int ml_view_expand(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int ndim, const int64_t *shape);

/* Copies (converting dtype when they differ); src is broadcast to dst's shape. */
int ml_copy(ml_ctx *ctx, ml_tensor *dst, const ml_tensor *src);
int ml_clone(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t);
/* Contiguous version: a new reference to t itself if already contiguous. */
int ml_contiguous(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t);
int ml_to_dtype(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, ml_dtype d);
/* Integer dtypes truncate v (uint8 keeps the low byte): check ranges first. */
void ml_fill(ml_tensor *t, double v);

/* ---- overlap and checked conversion (overlap.c) ---- */
/* Two elements of t share one storage slot (an expanded view). */
bool ml_internal_overlap(const ml_tensor *t);
/* a and b share some storage slots but are not the very same view. */
bool ml_partial_overlap(const ml_tensor *a, const ml_tensor *b);
/* Error (naming who) when t cannot be written in place: internal overlap. */
int ml_check_writable(ml_ctx *ctx, const ml_tensor *t, const char *who);
/* Error (naming who, the value and its 1-based element) when src would not
 * convert to dtype d exactly up to truncation: NaN or a value outside d's
 * range going into int64 or uint8 (uint8: 0..255). ML_OK for float targets. */
int ml_check_range(ml_ctx *ctx, const ml_tensor *src, ml_dtype d, const char *who);

/* ---- elementwise (ops_elementwise.c) ---- */
typedef enum {
  ML_ADD, ML_SUB, ML_MUL, ML_DIV, ML_POW, ML_MAXIMUM, ML_MINIMUM,
  ML_EQ, ML_NE, ML_GT, ML_GE, ML_LT, ML_LE, ML_BINOP_COUNT
} ml_binop;
typedef enum {
  ML_NEG, ML_EXP, ML_LOG, ML_SQRT, ML_ABS, ML_SIGMOID, ML_TANH, ML_RELU,
  ML_SIGN, ML_FLOOR, ML_CEIL, ML_ROUND, ML_SQUARE, ML_RECIP, ML_LOG1P, ML_EXPM1,
  ML_SIN, ML_COS, ML_UNOP_COUNT
} ml_unop;
const char *ml_binop_name(ml_binop op);
const char *ml_unop_name(ml_unop op);
/* Broadcast two shapes (NumPy rules); fails naming both shapes. */
int ml_broadcast_shape(ml_ctx *ctx, const char *who, int *ndim, int64_t *shape,
                       const ml_tensor *a, const ml_tensor *b);
/* out = a op b with broadcasting; out is created in ml_promote's dtype, except
 * that comparisons give 0/1 float32 masks and integer div/pow give float32. */
int ml_binary(ml_ctx *ctx, ml_tensor *out, const ml_tensor *a, const ml_tensor *b, ml_binop op);
/* a = a op b in place; b must broadcast to a's shape. */
int ml_binary_(ml_ctx *ctx, ml_tensor *a, const ml_tensor *b, ml_binop op);
/* out = a op s (or s op a when scalar_left). */
int ml_binary_scalar(ml_ctx *ctx, ml_tensor *out, const ml_tensor *a, double s,
                     ml_binop op, bool scalar_left);
int ml_binary_scalar_(ml_ctx *ctx, ml_tensor *a, double s, ml_binop op);
/* float64 stays float64; float32, int64 and uint8 give float32 (in place:
 * float32 or float64 only). */
int ml_unary(ml_ctx *ctx, ml_tensor *out, const ml_tensor *a, ml_unop op);
int ml_unary_(ml_ctx *ctx, ml_tensor *a, ml_unop op);
int ml_clamp(ml_ctx *ctx, ml_tensor *out, const ml_tensor *a, double lo, double hi);
/* out = cond ? a : b, all three broadcast together. */
int ml_where(ml_ctx *ctx, ml_tensor *out, const ml_tensor *cond, const ml_tensor *a,
             const ml_tensor *b);
/* Fused y = a * x + y over contiguous float32 (axpy-like, same shapes). */
int ml_axpy(ml_ctx *ctx, float a, const ml_tensor *x, ml_tensor *y);

/* ---- reductions (ops_reduce.c) ---- */
typedef enum { ML_SUM, ML_MEAN, ML_PROD, ML_MAX, ML_MIN, ML_VAR, ML_STD, ML_NORM,
               ML_ARGMAX, ML_ARGMIN } ml_redop;
/* Reduce over dim (or all dims when dim < 0). keepdim keeps a size-1 dim.
 * For ML_MAX/ML_MIN with pos != NULL, pos gets int64 positions (0-based).
 * ddof applies to VAR/STD (1 = sample, as Torch's default). Sums use a fixed
 * blocked order, so results do not depend on the thread count. */
/* Values come out float64 for a float64 t, else float32 (accumulated in
 * double); argmax/argmin give int64. */
int ml_reduce(ml_ctx *ctx, ml_tensor *out, ml_tensor *pos, const ml_tensor *t,
              int dim, bool keepdim, ml_redop op, int ddof);
/* The first NaN or infinity of a float32 or float64 tensor of any strides: its flat
 * row-major position (0-based), or -1 when every value is finite (and for
 * integer dtypes). The one finiteness scan of the engine. */
int64_t ml_find_nonfinite(const ml_tensor *t);
/* ML_OK when t has no NaN or infinity; else ML_ERR with "<who>: <what>
 * contains NaN or infinity (row r, column c); remove or impute missing values
 * first" (a 2-D t; "(element i)" otherwise), positions 1-based. */
int ml_check_finite(ml_ctx *ctx, const ml_tensor *t, const char *who, const char *what);
/* Whole-tensor sum in double precision, deterministic. */
double ml_sum_all(ml_ctx *ctx, const ml_tensor *t);
int ml_softmax(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int dim, bool log);

/* ---- sorting and running sums (ops_sort.c) ---- */
/* Sorts along dim: values (t's dtype) and indices (int64, 0-based positions
 * along dim), both of t's shape. Stable; NaN last ascending, first descending. */
int ml_sort(ml_ctx *ctx, ml_tensor *values, ml_tensor *indices, const ml_tensor *t, int dim,
            bool descending);
/* Running sum along dim, t's dtype (float32 accumulates in double). */
int ml_cumsum(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int dim);

/* ---- matrix products (blas.c; the kernels on plain arrays, ml_sgemm and
 * the LAPACK wrappers, are declared in blas.h) ---- */
/* out = a @ b for 1-D/2-D tensors, batched when both are 3-D; strided
 * (transposed) 2-D views are passed to SGEMM without copying. */
int ml_matmul(ml_ctx *ctx, ml_tensor *out, const ml_tensor *a, const ml_tensor *b);

/* ---- indexing and joining (ops_index.c) ---- */
int ml_cat(ml_ctx *ctx, ml_tensor *out, const ml_tensor *ts, int n, int dim);
int ml_stack(ml_ctx *ctx, ml_tensor *out, const ml_tensor *ts, int n, int dim);
/* idx: int64 or float32 tensor of 0-based positions. */
int ml_index_select(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int dim, const ml_tensor *idx);
int ml_masked_select(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, const ml_tensor *mask);
/* Gather along dim (torch.gather): out has idx's shape (idx: int64, 0-based,
 * same ndim as t, every other dimension no larger than t's) and
 * out[..i..] = t[..idx[..i..]..] with the index replacing dimension dim. */
int ml_gather(ml_ctx *ctx, ml_tensor *out, const ml_tensor *t, int dim, const ml_tensor *idx);
/* The adjoint of ml_gather: t[..idx[..i..]..] += src[..i..] (t and src both
 * float32 or both float64, src shaped like idx). Repeated positions accumulate. */
int ml_scatter_add_(ml_ctx *ctx, ml_tensor *t, int dim, const ml_tensor *idx, const ml_tensor *src);
/* start, start + step, ... before stop, in any dtype (uint8: every value in
 * 0..255, else an error). linspace: float32 or float64. */
int ml_arange(ml_ctx *ctx, ml_tensor *out, double start, double stop, double step,
              ml_dtype dtype);
int ml_linspace(ml_ctx *ctx, ml_tensor *out, double a, double b, int64_t n, ml_dtype dtype);
int ml_eye(ml_ctx *ctx, ml_tensor *out, int64_t n, int64_t m, ml_dtype dtype);
int ml_randperm(ml_ctx *ctx, ml_tensor *out, int64_t n);   /* int64, 0-based */
void ml_fill_uniform(ml_ctx *ctx, ml_tensor *t, double lo, double hi);
void ml_fill_normal(ml_ctx *ctx, ml_tensor *t, double mean, double sd);

#endif
