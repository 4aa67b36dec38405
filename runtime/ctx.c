/* ctx.c - the engine context: errors, thread count, accounted memory. */
#include "ml.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Buffers at least this large go back to the pool instead of free(). */
#define ML_POOL_MIN (1u << 16)
#define ML_POOL_MAX_BYTES ((size_t)512 << 20)

void ml_ctx_init(ml_ctx *ctx) {
  memset(ctx, 0, sizeof *ctx);
  ctx->threads = 1;
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

/* mem_in_use + nbytes > mem_limit, without wrapping for huge nbytes */
static bool over_limit(const ml_ctx *ctx, size_t nbytes) {
  return ctx->mem_limit && (ctx->mem_in_use > ctx->mem_limit || nbytes > ctx->mem_limit - ctx->mem_in_use);
}

static void *try_alloc(ml_ctx *ctx, size_t nbytes) {
  if (over_limit(ctx, nbytes)) return NULL;
  size_t asked = nbytes ? nbytes : 1;
  void *p = pool_take(&ctx->pool, asked);
  if (!p) p = os_alloc(asked);
  return p;
}

void *ml_alloc(ml_ctx *ctx, size_t nbytes, const char *who) {
  void *p = try_alloc(ctx, nbytes);
  if (!p && ctx->reclaim) {
    ml_ctx_free(ctx);          /* drop pooled buffers too */
    ctx->reclaim(ctx->reclaim_ud);
    p = try_alloc(ctx, nbytes);
  }
  if (p) {
    ctx->mem_in_use += nbytes;
    if (ctx->mem_in_use > ctx->mem_peak) ctx->mem_peak = ctx->mem_in_use;
    return p;
  }
  if (over_limit(ctx, nbytes)) {
    ml_error(ctx, "%s: allocating %zu bytes would pass the memory limit of %zu bytes "
             "(%zu in use)", who, nbytes, ctx->mem_limit, ctx->mem_in_use);
    return NULL;
  }
  ml_error(ctx, "%s: out of memory allocating %zu bytes", who, nbytes);
  return NULL;
}

void ml_free(ml_ctx *ctx, void *p, size_t nbytes) {
  if (!p) return;
  ctx->mem_in_use -= nbytes;
  size_t asked = nbytes ? nbytes : 1;
  if (!pool_give(&ctx->pool, p, asked)) free(p);
}
