/* ctx.c - the engine context: errors, thread count, accounted memory. */
#include "ml.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Buffers at least this large go back to the pool instead of free(). */
#define ML_POOL_MIN (1u << 16)
#define ML_POOL_MAX_BYTES ((size_t)512 << 20)

/* The address of this thread-local byte names a thread: the one that made a
 * context is the only one allowed to run its reclaim hook (a Lua collection). */
static _Thread_local char this_thread;

void ml_ctx_init(ml_ctx *ctx) {
  memset(ctx, 0, sizeof *ctx);
  ctx->threads = 1;
  ctx->owner = &this_thread;
  ml_rng_seed(&ctx->rng, 42);
}

void ml_ctx_free(ml_ctx *ctx) {
  for (int i = 0; i < ML_POOL_SLOTS; i++) {
    free(ctx->pool.ptr[i]);
    ctx->pool.ptr[i] = NULL;
  }
  ctx->pool.bytes = 0;
}

int ml_error(ml_ctx *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
  va_end(ap);
  return ML_ERR;
}

void ml_set_threads(ml_ctx *ctx, int n) { ctx->threads = n < 1 ? 1 : n; }

const char *ml_shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
  if (ndim == 0) { snprintf(buf, n, "scalar"); return buf; }
  size_t used = 0;
  buf[0] = 0;
  for (int i = 0; i < ndim && used < n; i++)
    used += (size_t)snprintf(buf + used, n - used, i ? "x%lld" : "%lld", (long long)shape[i]);
  return buf;
}

/* The pool keeps its buffers in slots 0..n-1, oldest first, so that eviction
 * drops the buffer given back longest ago (a training loop's sizes stay,
 * one-off sizes age out). */
static int pool_count(const ml_pool *p) {
  int n = 0;
  while (n < ML_POOL_SLOTS && p->ptr[n]) n++;
  return n;
}

static void pool_remove(ml_pool *p, int i) {
  int n = pool_count(p);
  p->bytes -= p->size[i];
  for (int k = i; k < n - 1; k++) { p->ptr[k] = p->ptr[k + 1]; p->size[k] = p->size[k + 1]; }
  p->ptr[n - 1] = NULL;
  p->size[n - 1] = 0;
}

static void *pool_take(ml_pool *p, size_t nbytes) {
  int n = pool_count(p);
  for (int i = n - 1; i >= 0; i--)   /* the most recent first: still warm in cache */
    if (p->size[i] == nbytes) {
      void *q = p->ptr[i];
      pool_remove(p, i);
      return q;
    }
  return NULL;
}

/* Returns true when the pool kept the buffer. Memory held stays bounded by
 * ML_POOL_SLOTS buffers and ML_POOL_MAX_BYTES. */
static bool pool_give(ml_pool *p, void *q, size_t nbytes) {
  if (nbytes < ML_POOL_MIN || nbytes > ML_POOL_MAX_BYTES / 2) return false;
  while (pool_count(p) > 0 &&
         (pool_count(p) == ML_POOL_SLOTS || p->bytes + nbytes > ML_POOL_MAX_BYTES)) {
    free(p->ptr[0]);
    pool_remove(p, 0);
  }
  int n = pool_count(p);
  p->ptr[n] = q;
  p->size[n] = nbytes;
  p->bytes += nbytes;
  return true;
}

/* Big buffers are 2 MiB aligned and asked to be backed by huge pages: a
 * fresh 40 MB tensor then costs 20 page faults instead of 10,000, which on a
 * virtual machine is the difference between 1 ms and 100 ms. */
#define ML_HUGE (2u << 20)
static void *os_alloc(size_t asked) {
  if (asked > SIZE_MAX - ML_HUGE) return NULL;   /* the rounding below would wrap */
  if (asked >= 2 * (size_t)ML_HUGE) {
    size_t rounded = (asked + ML_HUGE - 1) & ~(size_t)(ML_HUGE - 1);
    void *p = aligned_alloc(ML_HUGE, rounded);
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
  }
  /* small buffers: malloc's own alignment (16) is enough for the kernels, and
   * aligned_alloc's chunk splitting costs more than the arithmetic on them */
  if (asked < 4096) return malloc(asked);
  return aligned_alloc(64, (asked + 63) & ~(size_t)63);
}

/* ---- accounting ----
 * mem_in_use counts tensor storage and every ml_malloc'd block; kernels may
 * allocate from OpenMP threads, so the counters change atomically. A request
 * first reserves its bytes (fetch-add), then gives them back if that passed
 * the limit: two threads can never both slip under it. */
static bool reserve(ml_ctx *ctx, size_t nbytes) {
  size_t limit = __atomic_load_n(&ctx->mem_limit, __ATOMIC_RELAXED);
  if (limit && nbytes > limit) return false;
  size_t now = __atomic_add_fetch(&ctx->mem_in_use, nbytes, __ATOMIC_RELAXED);
  if (limit && (now < nbytes || now > limit)) {
    __atomic_sub_fetch(&ctx->mem_in_use, nbytes, __ATOMIC_RELAXED);
    return false;
  }
  size_t peak = __atomic_load_n(&ctx->mem_peak, __ATOMIC_RELAXED);
  while (now > peak &&
         !__atomic_compare_exchange_n(&ctx->mem_peak, &peak, now, true, __ATOMIC_RELAXED,
                                      __ATOMIC_RELAXED)) {}
  return true;
}

static void unreserve(ml_ctx *ctx, size_t nbytes) {
  __atomic_sub_fetch(&ctx->mem_in_use, nbytes, __ATOMIC_RELAXED);
}

/* The message every accounted allocation fails with. */
static void *alloc_failed(ml_ctx *ctx, size_t nbytes, const char *who, bool limit) {
  /* from a worker thread ctx->err would race: the caller reports */
  if (ctx->owner != &this_thread) return NULL;
  if (limit)
    ml_error(ctx, "%s: allocating %zu bytes would pass the memory limit of %zu bytes "
             "(%zu in use; ml.set_memory_limit)", who ? who : "alloc", nbytes,
             ctx->mem_limit, ctx->mem_in_use);
  else
    ml_error(ctx, "%s: out of memory allocating %zu bytes", who ? who : "alloc", nbytes);
  return NULL;
}

/* Reserves nbytes, running the reclaim hook once (on the owner thread) when
 * the limit is in the way. */
static bool reserve_or_reclaim(ml_ctx *ctx, size_t nbytes) {
  if (reserve(ctx, nbytes)) return true;
  if (!ctx->reclaim || ctx->owner != &this_thread) return false;
  ml_ctx_free(ctx);
  ctx->reclaim(ctx->reclaim_ud);
  return reserve(ctx, nbytes);
}

/* ---- tensor storage: pooled, aligned, sized frees ---- */
static void *buf_take(ml_ctx *ctx, size_t nbytes) {
  if (!reserve(ctx, nbytes)) return NULL;
  size_t asked = nbytes ? nbytes : 1;
  void *p = pool_take(&ctx->pool, asked);
  if (!p) p = os_alloc(asked);
  if (!p) unreserve(ctx, nbytes);
  return p;
}

void *ml_buf_alloc(ml_ctx *ctx, size_t nbytes, const char *who) {
  void *p = buf_take(ctx, nbytes);
  if (!p && ctx->reclaim) {
    ml_ctx_free(ctx);          /* drop pooled buffers too */
    ctx->reclaim(ctx->reclaim_ud);
    p = buf_take(ctx, nbytes);
  }
  if (p) return p;
  size_t limit = ctx->mem_limit;
  return alloc_failed(ctx, nbytes, who, limit && (nbytes > limit || ctx->mem_in_use > limit - nbytes));
}

void ml_buf_free(ml_ctx *ctx, void *p, size_t nbytes) {
  if (!p) return;
  unreserve(ctx, nbytes);
  size_t asked = nbytes ? nbytes : 1;
  if (!pool_give(&ctx->pool, p, asked)) free(p);
}

/* ---- scratch and reader memory: malloc-like, size kept in a header ---- */
#define ML_HDR 16                         /* keeps malloc's 16-byte alignment */
#define ML_MAGIC ((size_t)0x6d6c6d656dULL)  /* "mlmem": catches foreign frees */
typedef struct { size_t size, magic; } ml_hdr;

static size_t hdr_size(const void *p) {
  const ml_hdr *h = (const ml_hdr *)((const char *)p - ML_HDR);
  return h->size;
}

void *ml_malloc(ml_ctx *ctx, size_t nbytes, const char *who) {
  if (nbytes > SIZE_MAX - ML_HDR) return alloc_failed(ctx, nbytes, who, false);
  bool limited = !reserve_or_reclaim(ctx, nbytes);
  if (limited) return alloc_failed(ctx, nbytes, who, true);
  ml_hdr *h = malloc(ML_HDR + nbytes);
  if (!h) { unreserve(ctx, nbytes); return alloc_failed(ctx, nbytes, who, false); }
  h->size = nbytes;
  h->magic = ML_MAGIC;
  return (char *)h + ML_HDR;
}

void *ml_calloc(ml_ctx *ctx, size_t count, size_t size, const char *who) {
  size_t n;
  if (__builtin_mul_overflow(count, size, &n)) {
    if (ctx->owner == &this_thread)
      ml_error(ctx, "%s: %zu x %zu bytes overflows the address space", who ? who : "alloc",
               count, size);
    return NULL;
  }
  void *p = ml_malloc(ctx, n, who);
  if (p) memset(p, 0, n);
  return p;
}

void *ml_realloc(ml_ctx *ctx, void *p, size_t nbytes, const char *who) {
  if (!p) return ml_malloc(ctx, nbytes, who);
  if (nbytes > SIZE_MAX - ML_HDR) return alloc_failed(ctx, nbytes, who, false);
  size_t old = hdr_size(p);
  if (nbytes > old && !reserve_or_reclaim(ctx, nbytes - old))
    return alloc_failed(ctx, nbytes - old, who, true);
  ml_hdr *h = realloc((char *)p - ML_HDR, ML_HDR + nbytes);
  if (!h) {
    if (nbytes > old) unreserve(ctx, nbytes - old);
    return alloc_failed(ctx, nbytes, who, false);
  }
  if (nbytes < old) unreserve(ctx, old - nbytes);
  h->size = nbytes;
  return (char *)h + ML_HDR;
}

void ml_free(ml_ctx *ctx, void *p) {
  if (!p) return;
  ml_hdr *h = (ml_hdr *)((char *)p - ML_HDR);
  unreserve(ctx, h->size);
  h->magic = 0;
  free(h);
}

char *ml_strdup(ml_ctx *ctx, const char *s, const char *who) {
  size_t n = strlen(s) + 1;
  char *d = ml_malloc(ctx, n, who);
  if (d) memcpy(d, s, n);
  return d;
}

int ml_mem_room(ml_ctx *ctx, size_t nbytes, const char *who) {
  if (!reserve_or_reclaim(ctx, nbytes)) {
    ml_error(ctx, "%s: allocating %zu bytes would pass the memory limit of %zu bytes "
             "(%zu in use; ml.set_memory_limit)", who ? who : "alloc", nbytes,
             ctx->mem_limit, ctx->mem_in_use);
    return ML_ERR;
  }
  unreserve(ctx, nbytes);
  return ML_OK;
}

bool ml_mul_size(size_t *out, size_t a, size_t b) {
  return !__builtin_mul_overflow(a, b, out);
}

int ml_shape_numel(ml_ctx *ctx, const char *who, int ndim, const int64_t *shape, int64_t *numel) {
  int64_t n = 1;
  bool zero = false, over = false;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0)
      return ml_error(ctx, "%s: dimension %d has negative size %lld", who, i + 1, (long long)shape[i]);
    if (shape[i] == 0) zero = true;
    else if (!over && __builtin_mul_overflow(n, shape[i], &n)) over = true;
  }
  if (over || n > ML_MAX_NUMEL) {
    char b[160];
    return ml_error(ctx, "%s: shape %s is too large (at most 2^46 elements, counting every "
                    "non-zero dimension)", who, ml_shape_str(b, sizeof b, ndim, shape));
  }
  *numel = zero ? 0 : n;
  return ML_OK;
}
