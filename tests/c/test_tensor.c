/* Runtime tests: views, copies, broadcasting, reductions, SGEMM against its
 * plain-loop reference, errors that name shapes, the memory limit. */
#include "ml.h"
#include "blas.h"
#include "check.h"
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <string.h>

static void test_views(ml_ctx *ctx) {
  ml_tensor a, t, r;
  int64_t shape[2] = {3, 4};
  ml_tensor_new(ctx, &a, ML_F32, 2, shape, false);
  for (int i = 0; i < 12; i++) ml_f32(&a)[i] = (float)i;
  ml_view_transpose(ctx, &t, &a, 0, 1);
  CHECK(t.shape[0] == 4 && t.shape[1] == 3 && !ml_is_contiguous(&t), "transpose is a strided view");
  CHECK(t.storage == a.storage && a.storage->refcount == 2, "views share refcounted storage");
  int64_t flat = 12;
  ml_reshape(ctx, &r, &t, 1, &flat);
  CHECK(r.storage != a.storage, "reshape of a transposed view copies");
  CHECK(ml_f32(&r)[1] == 4.0f && ml_f32(&r)[3] == 1.0f, "copied in the transposed order");
  ml_tensor_release(&r);
  int64_t s3[3] = {3, 2, 2};
  ml_reshape(ctx, &r, &a, 3, s3);
  CHECK(r.storage == a.storage, "reshape of a contiguous tensor is a view");
  ml_tensor_release(&r);
  ml_tensor row;
  ml_view_select(ctx, &row, &a, 0, 1);
  CHECK(row.ndim == 1 && ml_f32(&row)[0] == 4.0f, "select row 2");
  int64_t s22[2] = {2, 2};
  CHECK(ml_reshape(ctx, &r, &row, 2, s22) == ML_OK && r.storage == a.storage,
        "reshape of a row view stays a view");
  ml_tensor_release(&r);
  ml_tensor_release(&row);
  ml_tensor col;
  ml_view_select(ctx, &col, &a, 1, 2);
  CHECK(ml_reshape(ctx, &r, &col, 2, (int64_t[]){3, 1}) == ML_OK, "reshape a strided column");
  CHECK(ml_f32(&r)[0] == 2.0f, "column values");
  ml_tensor_release(&r);
  ml_tensor_release(&col);
  CHECK(ml_view_select(ctx, &row, &a, 0, 3) == ML_ERR && strstr(ctx->err, "out of range"),
        "select out of range fails: %s", ctx->err);
  ml_tensor_release(&t);
  ml_tensor_release(&a);
}

static void test_broadcast(ml_ctx *ctx) {
  ml_tensor a, b, c;
  ml_tensor_new(ctx, &a, ML_F32, 2, (int64_t[]){2, 3}, false);
  ml_tensor_new(ctx, &b, ML_F32, 1, (int64_t[]){3}, false);
  for (int i = 0; i < 6; i++) ml_f32(&a)[i] = (float)i;
  for (int i = 0; i < 3; i++) ml_f32(&b)[i] = 10.0f * (float)i;
  CHECK(ml_binary(ctx, &c, &a, &b, ML_ADD) == ML_OK, "2x3 + 3 broadcasts");
  CHECK(ml_f32(&c)[5] == 25.0f && ml_f32(&c)[3] == 3.0f, "broadcast values");
  ml_tensor_release(&c);
  ml_tensor bad;
  ml_tensor_new(ctx, &bad, ML_F32, 1, (int64_t[]){4}, false);
  CHECK(ml_binary(ctx, &c, &a, &bad, ML_MUL) == ML_ERR && strstr(ctx->err, "2x3 and 4"),
        "mismatch names both shapes: %s", ctx->err);
  ml_tensor_release(&bad);
  ml_tensor_release(&a);
  ml_tensor_release(&b);
}

static void test_reduce(ml_ctx *ctx) {
  ml_tensor a, s, p;
  ml_tensor_new(ctx, &a, ML_F32, 2, (int64_t[]){2, 3}, false);
  float v[6] = {1, 5, 3, 4, 2, 6};
  memcpy(ml_f32(&a), v, sizeof v);
  ml_reduce(ctx, &s, NULL, &a, 0, false, ML_SUM, 0);
  CHECK(s.ndim == 1 && ml_f32(&s)[0] == 5 && ml_f32(&s)[2] == 9, "sum over dim 1");
  ml_tensor_release(&s);
  ml_reduce(ctx, &s, &p, &a, 1, false, ML_MAX, 0);
  CHECK(ml_f32(&s)[0] == 5 && ml_i64(&p)[0] == 1 && ml_i64(&p)[1] == 2, "max with positions");
  ml_tensor_release(&s);
  ml_tensor_release(&p);
  CHECK_NEAR(ml_sum_all(ctx, &a), 21.0, 1e-9, "sum of all");
  ml_tensor_release(&a);
  /* thread-count independence of large sums */
  ml_tensor big;
  int64_t n = 1000003;
  ml_tensor_new(ctx, &big, ML_F32, 1, &n, false);
  ml_fill_uniform(ctx, &big, -1, 1);
  ml_set_threads(ctx, 1);
  double s1 = ml_sum_all(ctx, &big);
  ml_set_threads(ctx, 2);
  double s2 = ml_sum_all(ctx, &big);
  CHECK(s1 == s2, "sum is bit-identical for 1 and 2 threads");
  ml_tensor_release(&big);
}

static void test_sgemm(ml_ctx *ctx) {
  int sizes[3][3] = {{7, 5, 3}, {64, 64, 64}, {33, 129, 70}};
  for (int s = 0; s < 3; s++) {
    int m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++) {
        float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n);
        float *c1 = malloc(sizeof(float) * m * n), *c2 = malloc(sizeof(float) * m * n);
        for (int i = 0; i < m * k; i++) a[i] = (float)ml_rng_normal(&ctx->rng);
        for (int i = 0; i < k * n; i++) b[i] = (float)ml_rng_normal(&ctx->rng);
        for (int i = 0; i < m * n; i++) c1[i] = c2[i] = 1.0f;
        ml_sgemm(ctx, ta, tb, m, n, k, 0.5f, a, ta ? m : k, b, tb ? k : n, 2.0f, c1, n);
        ml_sgemm_ref(ta, tb, m, n, k, 0.5f, a, ta ? m : k, b, tb ? k : n, 2.0f, c2, n);
        double maxerr = 0;
        for (int i = 0; i < m * n; i++) maxerr = fmax(maxerr, fabs(c1[i] - c2[i]));
        CHECK(maxerr < 1e-3, "sgemm %dx%dx%d ta=%d tb=%d matches the reference (err %.2g)",
              m, n, k, ta, tb, maxerr);
        free(a); free(b); free(c1); free(c2);
      }
  }
}

static void test_limits(ml_ctx *ctx) {
  ml_tensor t;
  int64_t huge[2] = {1LL << 40, 1LL << 40};
  CHECK(ml_tensor_new(ctx, &t, ML_F32, 2, huge, false) == ML_ERR && strstr(ctx->err, "too large"),
        "overflowing shape is refused: %s", ctx->err);
  int64_t neg = -3;
  CHECK(ml_tensor_new(ctx, &t, ML_F32, 1, &neg, false) == ML_ERR, "negative size is refused");
  ctx->mem_limit = ctx->mem_in_use + 1000;
  int64_t n = 1000;
  CHECK(ml_tensor_new(ctx, &t, ML_F32, 1, &n, false) == ML_ERR && strstr(ctx->err, "memory limit"),
        "memory limit is enforced: %s", ctx->err);
  ctx->mem_limit = 0;
}

/* int64 arithmetic stays exact; float -> int64 conversion saturates. */
static void test_int64(ml_ctx *ctx) {
  int64_t n = 3;
  ml_tensor a, b, c;
  ml_tensor_new(ctx, &a, ML_I64, 1, &n, false);
  ml_tensor_new(ctx, &b, ML_F32, 1, &n, false);
  int64_t big = ((int64_t)1 << 53) + 1;
  ml_i64(&a)[0] = big; ml_i64(&a)[1] = INT64_MAX; ml_i64(&a)[2] = -5;
  CHECK(ml_binary(ctx, &c, &a, &a, ML_ADD) == ML_OK && c.dtype == ML_I64 &&
        ml_i64(&c)[0] == 2 * big && ml_i64(&c)[2] == -10, "int64 + int64 is exact past 2^53");
  CHECK(ml_i64(&c)[1] == -2, "int64 overflow wraps as two's complement");
  ml_tensor_release(&c);
  ml_f32(&b)[0] = NAN; ml_f32(&b)[1] = 1e30f; ml_f32(&b)[2] = -2.7f;
  CHECK(ml_copy(ctx, &a, &b) == ML_ERR && strstr(ctx->err, "NaN (element 1)"),
        "float -> int64 refuses NaN, naming the element");
  ml_f32(&b)[0] = 3.9f;
  CHECK(ml_copy(ctx, &a, &b) == ML_ERR && strstr(ctx->err, "out of range"),
        "float -> int64 refuses values past int64's range");
  ml_f32(&b)[1] = -9223372036854775808.0f;
  CHECK(ml_copy(ctx, &a, &b) == ML_OK && ml_i64(&a)[0] == 3 && ml_i64(&a)[1] == INT64_MIN &&
        ml_i64(&a)[2] == -2, "float -> int64 truncates toward 0; -2^63 fits");
  ml_fill(&a, -1e300);
  CHECK(ml_i64(&a)[1] == INT64_MIN, "fill with a huge negative saturates");
  ml_tensor_release(&a);
  ml_tensor_release(&b);
}

/* Views that would describe absurd element counts are refused. */
static void test_view_limits(ml_ctx *ctx) {
  int64_t one = 1, huge[3] = {(int64_t)1 << 40, (int64_t)1 << 40, 2};
  ml_tensor a, v;
  ml_tensor_new(ctx, &a, ML_F32, 1, &one, true);
  CHECK(ml_view_expand(ctx, &v, &a, 3, huge) == ML_ERR && strstr(ctx->err, "too large"),
        "expand to 2^81 elements is refused: %s", ctx->err);
  int64_t r[3] = {(int64_t)1 << 40, (int64_t)1 << 40, 0};
  CHECK(ml_reshape(ctx, &v, &a, 3, r) == ML_ERR, "reshape with an overflowing product is refused");
  ml_tensor_release(&a);
}

/* Freed buffers come back from the pool for the next tensor of that size. */
static void test_pool(ml_ctx *ctx) {
  int64_t n = 1 << 20;   /* 4 MiB of float32 */
  ml_tensor a, b;
  ml_tensor_new(ctx, &a, ML_F32, 1, &n, false);
  void *p = a.storage->data;
  CHECK(((uintptr_t)p & ((2u << 20) - 1)) == 0, "big buffers are 2 MiB aligned");
  ml_tensor_release(&a);
  CHECK(ctx->pool.bytes >= (size_t)n * 4, "a freed 4 MiB buffer is pooled");
  ml_tensor_new(ctx, &b, ML_F32, 1, &n, false);
  CHECK(b.storage->data == p, "the next tensor of that size reuses it");
  ml_tensor_release(&b);
}

int main(void) {
  ml_ctx ctx;
  ml_ctx_init(&ctx);
  ml_set_threads(&ctx, 2);
  test_views(&ctx);
  test_broadcast(&ctx);
  test_reduce(&ctx);
  test_sgemm(&ctx);
  test_limits(&ctx);
  test_int64(&ctx);
  test_view_limits(&ctx);
  test_pool(&ctx);
  CHECK(ctx.mem_in_use == 0, "no tensor memory leaked (%zu bytes in use)", ctx.mem_in_use);
  ml_ctx_free(&ctx);
  return check_done();
}
