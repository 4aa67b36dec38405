/* Runtime tests of runtime/nn: the im2col + SGEMM convolution (forward and
 * both gradients) against direct nested loops for valid/same padding,
 * strides and odd sizes at 1 and 2 threads; pooling; dense; losses and
 * their error messages. */
#include "ml.h"
#include "blas.h"
#include "nn/nn.h"
#include "check.h"
#include <stdlib.h>
#include <string.h>

static ml_tensor make(ml_ctx *ctx, int ndim, const int64_t *shape, bool random) {
  ml_tensor t;
  ml_tensor_new(ctx, &t, ML_F32, ndim, shape, true);
  if (random) ml_fill_normal(ctx, &t, 0, 1);
  return t;
}

static double max_diff(const ml_tensor *a, const ml_tensor *b) {
  double m = 0;
  for (int64_t i = 0; i < ml_numel(a); i++) {
    double d = fabs((double)ml_f32(a)[i] - ml_f32(b)[i]);
    if (d > m) m = d;
  }
  return m;
}

/* Direct gradients of y = conv(x, w): gw[ki,kj,c,o] and gx. */
static void conv_grad_ref(const ml_window *g, int64_t cout, const float *x, const float *w,
                          const float *gy, float *gw, float *gx) {
  memset(gw, 0, sizeof(float) * (size_t)(g->kh * g->kw * g->c * cout));
  memset(gx, 0, sizeof(float) * (size_t)(g->n * g->h * g->w * g->c));
  for (int64_t n = 0; n < g->n; n++)
    for (int64_t oy = 0; oy < g->oh; oy++)
      for (int64_t ox = 0; ox < g->ow; ox++)
        for (int64_t o = 0; o < cout; o++) {
          float d = gy[((n * g->oh + oy) * g->ow + ox) * cout + o];
          for (int64_t ki = 0; ki < g->kh; ki++)
            for (int64_t kj = 0; kj < g->kw; kj++) {
              int64_t iy = oy * g->sh - g->pt + ki, ix = ox * g->sw - g->pl + kj;
              if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
              for (int64_t c = 0; c < g->c; c++) {
                int64_t xi = ((n * g->h + iy) * g->w + ix) * g->c + c;
                int64_t wi = ((ki * g->kw + kj) * g->c + c) * cout + o;
                gw[wi] += x[xi] * d;
                gx[xi] += w[wi] * d;
              }
            }
        }
}

static void test_conv(ml_ctx *ctx, int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh,
                      int64_t kw, int64_t sh, int64_t sw, bool same, int64_t cout, int threads) {
  ml_set_threads(ctx, threads);
  int64_t xs[4] = {n, h, w, c}, ws_[4] = {kh, kw, c, cout};
  ml_tensor x = make(ctx, 4, xs, true), k = make(ctx, 4, ws_, true), b = make(ctx, 1, &cout, true);
  ml_window g;
  ml_window_init(ctx, &g, "test", &x, kh, kw, sh, sw, same);
  int64_t ys[4] = {n, g.oh, g.ow, cout};
  ml_tensor y = make(ctx, 4, ys, false), yr = make(ctx, 4, ys, false);
  size_t nws = ml_conv2d_workspace(&g, cout, ctx->threads);
  float *wsp = malloc(nws * sizeof *wsp);
  ml_act lin = {ML_ACT_LINEAR, 0};
  int rc = ml_conv2d_forward(ctx, &y, &x, &k, &b, sh, sw, same, lin, wsp, nws);
  ml_conv2d_ref(ctx, &yr, &x, &k, &b, sh, sw, same);
  char what[160];
  snprintf(what, sizeof what, "%lldx%lldx%lldx%lld k%lldx%lld s%lldx%lld %s cout %lld, %d thread(s)",
           (long long)n, (long long)h, (long long)w, (long long)c, (long long)kh, (long long)kw,
           (long long)sh, (long long)sw, same ? "same" : "valid", (long long)cout, threads);
  CHECK(rc == ML_OK && max_diff(&y, &yr) < 1e-4, "conv forward = direct loops: %s", what);
  /* backward */
  ml_tensor gy = make(ctx, 4, ys, true), gx = make(ctx, 4, xs, false), gxr = make(ctx, 4, xs, false);
  ml_tensor gw = make(ctx, 4, ws_, false), gwr = make(ctx, 4, ws_, false), gb = make(ctx, 1, &cout, false);
  rc = ml_conv2d_backward(ctx, &gx, &gw, &gb, &x, &k, &y, &gy, sh, sw, same, lin, false, wsp, nws);
  conv_grad_ref(&g, cout, ml_f32(&x), ml_f32(&k), ml_f32(&gy), ml_f32(&gwr), ml_f32(&gxr));
  double sb = 0;
  for (int64_t i = 0; i < n * g.oh * g.ow; i++) sb += ml_f32(&gy)[i * cout];
  CHECK(rc == ML_OK && max_diff(&gx, &gxr) < 1e-3 && max_diff(&gw, &gwr) < 1e-3 &&
        fabs(ml_f32(&gb)[0] - sb) < 1e-3, "conv backward = direct loops: %s", what);
  free(wsp);
  ml_tensor *all[] = {&x, &k, &b, &y, &yr, &gy, &gx, &gxr, &gw, &gwr, &gb};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) ml_tensor_release(all[i]);
}

static void test_conv_errors(ml_ctx *ctx) {
  int64_t xs[4] = {1, 4, 4, 2}, ws_[4] = {3, 3, 3, 5};
  ml_tensor x = make(ctx, 4, xs, false), k = make(ctx, 4, ws_, false);
  float buf[4096];
  ml_act lin = {ML_ACT_LINEAR, 0};
  int64_t ys[4] = {1, 2, 2, 5};
  ml_tensor y = make(ctx, 4, ys, false);
  CHECK(ml_conv2d_forward(ctx, &y, &x, &k, NULL, 1, 1, false, lin, buf, 4096) == ML_ERR &&
        strstr(ctx->err, "3 channels") && strstr(ctx->err, "1x4x4x2"),
        "channel mismatch names both: %s", ctx->err);
  int64_t ws2[4] = {5, 5, 2, 5};
  ml_tensor k2 = make(ctx, 4, ws2, false);
  CHECK(ml_conv2d_forward(ctx, &y, &x, &k2, NULL, 1, 1, false, lin, buf, 4096) == ML_ERR &&
        strstr(ctx->err, "smaller"), "window larger than the input: %s", ctx->err);
  ml_tensor_release(&x); ml_tensor_release(&k); ml_tensor_release(&k2); ml_tensor_release(&y);
}

static void test_pool(ml_ctx *ctx) {
  int64_t xs[4] = {1, 3, 3, 1}, ys[4] = {1, 2, 2, 1};
  ml_tensor x = make(ctx, 4, xs, false), y = make(ctx, 4, ys, false);
  for (int i = 0; i < 9; i++) ml_f32(&x)[i] = (float)(i == 4 ? 100 : i);
  int32_t arg[4];
  int rc = ml_maxpool2d_forward(ctx, &y, arg, &x, 2, 2, 1, 1, false);
  float *yp = ml_f32(&y);
  CHECK(rc == ML_OK && yp[0] == 100 && yp[1] == 100 && yp[2] == 100 && yp[3] == 100,
        "overlapping max windows share the centre");
  ml_tensor gx = make(ctx, 4, xs, false), gy = make(ctx, 4, ys, false);
  ml_fill(&gy, 1);
  ml_maxpool2d_backward(ctx, &gx, &gy, arg);
  CHECK(ml_f32(&gx)[4] == 4 && ml_f32(&gx)[0] == 0, "max backward accumulates into the argmax");
  ml_avgpool2d_forward(ctx, &y, &x, 2, 2, 2, 2, true);
  CHECK(yp[3] == 8 && fabsf(yp[1] - 3.5f) < 1e-6, "same-padded average counts real inputs only");
  ml_tensor *all[] = {&x, &y, &gx, &gy};
  for (int i = 0; i < 4; i++) ml_tensor_release(all[i]);
}

static void test_dense(ml_ctx *ctx) {
  int64_t xs[2] = {7, 5}, ws_[2] = {5, 3}, ys[2] = {7, 3}, u = 3;
  ml_tensor x = make(ctx, 2, xs, true), w = make(ctx, 2, ws_, true), b = make(ctx, 1, &u, true);
  ml_tensor y = make(ctx, 2, ys, false), r = make(ctx, 2, ys, false);
  ml_act relu = {ML_ACT_RELU, 0};
  int rc = ml_dense_forward(ctx, &y, &x, &w, &b, relu);
  ml_sgemm_ref(false, false, 7, 3, 5, 1, ml_f32(&x), 5, ml_f32(&w), 3, 0, ml_f32(&r), 3);
  for (int i = 0; i < 7; i++)
    for (int j = 0; j < 3; j++) {
      float v = ml_f32(&r)[i * 3 + j] + ml_f32(&b)[j];
      ml_f32(&r)[i * 3 + j] = v > 0 ? v : 0;
    }
  CHECK(rc == ML_OK && max_diff(&y, &r) < 1e-5, "dense = relu(x W + b)");
  int64_t bad[2] = {7, 4};
  ml_tensor xb = make(ctx, 2, bad, false);
  CHECK(ml_dense_forward(ctx, &y, &xb, &w, &b, relu) == ML_ERR &&
        strstr(ctx->err, "5 features") && strstr(ctx->err, "7x4"), "dense names shapes: %s", ctx->err);
  ml_tensor *all[] = {&x, &w, &b, &y, &r, &xb};
  for (int i = 0; i < 6; i++) ml_tensor_release(all[i]);
}

static void test_losses(ml_ctx *ctx) {
  int64_t ps[2] = {2, 3}, n = 2;
  ml_tensor p = make(ctx, 2, ps, false), t = make(ctx, 1, &n, false), g = make(ctx, 2, ps, false);
  float pv[6] = {0.7f, 0.2f, 0.1f, 0.0f, 0.0f, 1.0f};
  memcpy(ml_f32(&p), pv, sizeof pv);
  ml_f32(&t)[0] = 0; ml_f32(&t)[1] = 2;
  double v;
  int rc = ml_softmax_xent(ctx, &v, &g, &p, &t);
  CHECK(rc == ML_OK && fabs(v - (-log(0.7) - log(1 - 1e-7)) / 2) < 1e-6, "fused xent value");
  CHECK(fabsf(ml_f32(&g)[0] - (0.7f - 1) / 2) < 1e-7 && fabsf(ml_f32(&g)[1] - 0.1f) < 1e-7,
        "fused xent gradient (p - y) / N");
  ml_f32(&t)[1] = 3;
  CHECK(ml_loss_eval(ctx, ML_LOSS_SCCE, &v, NULL, &p, &t) == ML_ERR && strstr(ctx->err, "label 3") &&
        strstr(ctx->err, "3 classes"), "label out of range: %s", ctx->err);
  ml_f32(&p)[0] = 0;
  ml_f32(&t)[1] = 0;
  CHECK(ml_loss_eval(ctx, ML_LOSS_CCE, &v, &g, &p, &t) == ML_OK && isfinite(v) &&
        isfinite(ml_f32(&g)[0]), "log(0) is clipped");
  ml_tensor_release(&p); ml_tensor_release(&t); ml_tensor_release(&g);
}

int main(void) {
  ml_ctx ctx;
  ml_ctx_init(&ctx);
  ml_rng_seed(&ctx.rng, 1);
  for (int threads = 1; threads <= 2; threads++) {
    test_conv(&ctx, 3, 9, 7, 2, 3, 3, 1, 1, false, 4, threads);
    test_conv(&ctx, 3, 9, 7, 2, 3, 3, 2, 2, true, 4, threads);
    test_conv(&ctx, 2, 8, 11, 3, 2, 5, 3, 2, true, 5, threads);
    test_conv(&ctx, 2, 8, 11, 3, 4, 2, 2, 3, false, 5, threads);
    test_conv(&ctx, 5, 6, 6, 4, 1, 1, 1, 1, false, 3, threads);
    test_conv(&ctx, 4, 28, 28, 1, 3, 3, 1, 1, false, 8, threads);
    test_conv(&ctx, 1, 5, 5, 2, 5, 5, 1, 1, true, 2, threads);
  }
  ml_set_threads(&ctx, 1);
  test_conv_errors(&ctx);
  test_pool(&ctx);
  test_dense(&ctx);
  test_losses(&ctx);
  ml_ctx_free(&ctx);
  return check_done();
}
