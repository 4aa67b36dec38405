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

static void *pool_take(ml_pool *p, size_t nbytes) {
  for (int i = 0; i < ML_POOL_SLOTS; i++)
    if (p->ptr[i] && p->size[i] == nbytes) {
      void *q = p->ptr[i];
      p->ptr[i] = NULL;
      p->bytes -= nbytes;
      return q;
    }
  return NULL;
}

/* Returns true when the pool kept the buffer. Evicts the oldest-indexed slot
 * when full, so memory held stays bounded. */
static bool pool_give(ml_pool *p, void *q, size_t nbytes) {
  if (nbytes < ML_POOL_MIN || nbytes > ML_POOL_MAX_BYTES / 2) return false;
  int slot = -1;
  for (int i = 0; i < ML_POOL_SLOTS; i++)
    if (!p->ptr[i]) { slot = i; break; }
  if (slot < 0) {
    slot = 0;
    free(p->ptr[0]);
    p->bytes -= p->size[0];
    p->ptr[0] = NULL;
  }
  while (p->bytes + nbytes > ML_POOL_MAX_BYTES) {
    int big = -1;
    for (int i = 0; i < ML_POOL_SLOTS; i++)
      if (p->ptr[i] && (big < 0 || p->size[i] > p->size[big])) big = i;
    if (big < 0) break;
    free(p->ptr[big]);
    p->bytes -= p->size[big];
    p->ptr[big] = NULL;
  }
  p->ptr[slot] = q;
  p->size[slot] = nbytes;
  p->bytes += nbytes;
  return true;
}

/* Big buffers are 2 MiB aligned and asked to be backed by huge pages: a
 * fresh 40 MB tensor then costs 20 page faults instead of 10,000, which on a
 * virtual machine is the difference between 1 ms and 100 ms. */
#define ML_HUGE (2u << 20)
static void *os_alloc(size_t asked) {
  if (asked >= 2 * (size_t)ML_HUGE) {
    size_t rounded = (asked + ML_HUGE - 1) & ~(size_t)(ML_HUGE - 1);
    void *p = aligned_alloc(ML_HUGE, rounded);
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
  }
  return aligned_alloc(64, (asked + 63) & ~(size_t)63);
}

static void *try_alloc(ml_ctx *ctx, size_t nbytes) {
  if (ctx->mem_limit && ctx->mem_in_use + nbytes > ctx->mem_limit) return NULL;
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
  if (ctx->mem_limit && ctx->mem_in_use + nbytes > ctx->mem_limit) {
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
