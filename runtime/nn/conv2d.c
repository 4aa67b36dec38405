/* conv2d.c - 2-D convolution over N x H x W x C images, lowered to SGEMM.
 *
 * Forward: the batch is cut into chunks of a few images; each thread takes
 * whole chunks, unfolds them (im2col: one row of KH*KW*CIN values per output
 * pixel, in the kernel's own KH x KW x CIN order) into its own slice of the
 * workspace, multiplies by the kernel seen as (KH*KW*CIN) x COUT, and adds
 * bias + activation in the same pass. The product rows are output pixels in
 * NHWC order, so the result lands in y as is. Inside the parallel region
 * OpenBLAS runs single-threaded: each thread's GEMM is small enough to stay
 * in its cache, and im2col, GEMM and the activation of a chunk run back to
 * back on one core.
 *
 * Backward, per chunk: gz = gy * f'(y); gw += cols^T gz (one accumulator
 * per fixed group of chunks, added in group order at the end: deterministic
 * for a given thread count however the chunks were scheduled); gcols =
 * gz W^T into the same buffer; col2im adds the patches back into gx.
 * 1x1 stride-1 kernels skip im2col/col2im. Chunks are handed out
 * dynamically, so a thread the OS puts to sleep does not stall the other.
 */
#include "nn.h"
#include "../blas.h"
#include "../dispatch.h"
#include <omp.h>
#include <string.h>

int ml_window_init(ml_ctx *ctx, ml_window *g, const char *who, const ml_tensor *x,
                   int64_t kh, int64_t kw, int64_t sh, int64_t sw, bool same) {
  char a[96];
  if (x->ndim != 4)
    return ml_error(ctx, "%s: expected a 4-D input (N x H x W x C), got %s", who,
                    ml_shape_str(a, sizeof a, x->ndim, x->shape));
  if (kh < 1 || kw < 1 || sh < 1 || sw < 1)
    return ml_error(ctx, "%s: window %lldx%lld and strides %lldx%lld must be positive", who,
                    (long long)kh, (long long)kw, (long long)sh, (long long)sw);
  /* Larger windows or strides mean nothing for images mlrun can hold, and
   * bounding them keeps every offset below (oy*sh, pt + kh, ...) far from
   * overflow. */
  if (kh > ML_WINDOW_MAX || kw > ML_WINDOW_MAX || sh > ML_WINDOW_MAX || sw > ML_WINDOW_MAX)
    return ml_error(ctx, "%s: window %lldx%lld and strides %lldx%lld must be at most %d", who,
                    (long long)kh, (long long)kw, (long long)sh, (long long)sw, ML_WINDOW_MAX);
  g->n = x->shape[0]; g->h = x->shape[1]; g->w = x->shape[2]; g->c = x->shape[3];
  g->kh = kh; g->kw = kw; g->sh = sh; g->sw = sw;
  if (g->h * g->w * g->c > INT32_MAX)
    return ml_error(ctx, "%s: images of %lld values are too large", who,
                    (long long)(g->h * g->w * g->c));
  if (same) {   /* TensorFlow's rule: out = ceil(in / stride), extra padding at the end */
    g->oh = g->h ? (g->h - 1) / sh + 1 : 0;
    g->ow = g->w ? (g->w - 1) / sw + 1 : 0;
    int64_t ph = (g->oh - 1) * sh + kh - g->h, pw = (g->ow - 1) * sw + kw - g->w;
    g->pt = ph > 0 ? ph / 2 : 0;
    g->pl = pw > 0 ? pw / 2 : 0;
  } else {
    if (g->h < kh || g->w < kw)
      return ml_error(ctx, "%s: input %lldx%lld is smaller than the %lldx%lld window "
                      "(padding \"valid\")", who, (long long)g->h, (long long)g->w,
                      (long long)kh, (long long)kw);
    g->oh = (g->h - kh) / sh + 1;
    g->ow = (g->w - kw) / sw + 1;
    g->pt = g->pl = 0;
  }
  return ML_OK;
}

/* The part of window row/column range [0, k) that falls inside [0, n) for an
 * output whose window starts at `start`: pooling loops over that only, so a
 * "same" window far larger than the image costs no more than the image. */
void ml_window_clip(int64_t start, int64_t k, int64_t n, int64_t *k0, int64_t *k1) {
  *k0 = start < 0 ? -start : 0;
  *k1 = n - start < k ? n - start : k;
  if (*k1 < *k0) *k1 = *k0;
}

/* cols[OH*OW x KH*KW*C] from one image x[H x W x C] */
ML_HOT static void im2col(const ml_window *g, const float *x, float *cols) {
  int64_t c = g->c, rowlen = g->kw * c, k = g->kh * rowlen;
  for (int64_t oy = 0; oy < g->oh; oy++)
    for (int64_t ox = 0; ox < g->ow; ox++) {
      float *row = cols + (oy * g->ow + ox) * k;
      int64_t iy0 = oy * g->sh - g->pt, ix0 = ox * g->sw - g->pl;
      bool inside_x = ix0 >= 0 && ix0 + g->kw <= g->w;
      for (int64_t ki = 0; ki < g->kh; ki++) {
        int64_t iy = iy0 + ki;
        float *dst = row + ki * rowlen;
        if (iy < 0 || iy >= g->h) { memset(dst, 0, (size_t)rowlen * sizeof *dst); continue; }
        const float *src = x + iy * g->w * c;
        if (inside_x) { memcpy(dst, src + ix0 * c, (size_t)rowlen * sizeof *dst); continue; }
        for (int64_t kj = 0; kj < g->kw; kj++) {
          int64_t ix = ix0 + kj;
          if (ix < 0 || ix >= g->w) memset(dst + kj * c, 0, (size_t)c * sizeof *dst);
          else memcpy(dst + kj * c, src + ix * c, (size_t)c * sizeof *dst);
        }
      }
    }
}

/* gx[H x W x C] = sum of the patches in cols put back where they came from */
ML_HOT static void col2im(const ml_window *g, const float *cols, float *gx) {
  int64_t c = g->c, k = g->kh * g->kw * c;
  memset(gx, 0, (size_t)(g->h * g->w * c) * sizeof *gx);
  for (int64_t oy = 0; oy < g->oh; oy++)
    for (int64_t ox = 0; ox < g->ow; ox++) {
      const float *row = cols + (oy * g->ow + ox) * k;
      int64_t iy0 = oy * g->sh - g->pt, ix0 = ox * g->sw - g->pl;
      for (int64_t ki = 0; ki < g->kh; ki++) {
        int64_t iy = iy0 + ki;
        if (iy < 0 || iy >= g->h) continue;
        for (int64_t kj = 0; kj < g->kw; kj++) {
          int64_t ix = ix0 + kj;
          if (ix < 0 || ix >= g->w) continue;
          float *d = gx + (iy * g->w + ix) * c;
          const float *s = row + (ki * g->kw + kj) * c;
          for (int64_t ch = 0; ch < c; ch++) d[ch] += s[ch];
        }
      }
    }
}

/* gb[j] += sum over rows of g[r][j] (the bias gradient of a chunk). */
ML_HOT static void bias_grad(float *restrict gb, const float *g, int64_t rows, int64_t cout) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t j = 0; j < cout; j++) gb[j] += g[r * cout + j];
}

static bool direct(const ml_window *g) {   /* a 1x1 stride-1 kernel: x is its own im2col */
  return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1;
}

/* The batch is split the same way whatever the thread count, so the weight
 * gradient's sums run in the same order and training gives the same bits
 * with 1 or 2 threads (or any count up to ML_CONV_SPLIT, which divides the
 * work evenly among 1, 2, 4 or 8 threads). */
#define ML_CONV_SPLIT 8

/* Images per chunk: about 256K floats of im2col per thread (fits L2 with
 * the GEMM's panels), at least one image, and a number of chunks that is a
 * multiple of ML_CONV_SPLIT so the work divides evenly. */
static int64_t chunk_images(const ml_window *g, int threads) {
  int64_t per;
  if (__builtin_mul_overflow(g->oh * g->ow, g->kh * g->kw, &per) ||
      __builtin_mul_overflow(per, g->c, &per))
    per = INT64_MAX;                       /* refused later by the workspace check */
  int64_t ci = per > 0 ? (1 << 18) / per : 1;
  if (ci < 1) ci = 1;
  threads = ML_CONV_SPLIT;
  int64_t nchunks = (g->n + ci - 1) / ci;
  nchunks = (nchunks + threads - 1) / threads * threads;
  ci = nchunks > 0 ? (g->n + nchunks - 1) / nchunks : 1;
  return ci < 1 ? 1 : ci;
}

/* Groups of chunks for the weight gradient: each group has its own
 * accumulator and is processed by one thread from start to end, whichever
 * thread that is, so the sums do not depend on the scheduling; the groups
 * are then added in order. Their number depends only on the batch. */
static int64_t group_count(const ml_window *g, int threads) {
  int64_t ci = chunk_images(g, threads), nchunks = (g->n + ci - 1) / ci;
  int64_t ng = ML_CONV_SPLIT;
  return nchunks < ng ? (nchunks > 0 ? nchunks : 1) : ng;
}

/* Per thread: im2col chunk + gradient chunk. */
static int64_t thread_floats(const ml_window *g, int64_t cout, int threads) {
  int64_t ci = chunk_images(g, threads), rows = ci * g->oh * g->ow, k = g->kh * g->kw * g->c;
  return rows * k + rows * cout;
}

/* SIZE_MAX when the sizes overflow (shapes of empty tensors can be huge). */
size_t ml_conv2d_workspace(const ml_window *g, int64_t cout, int threads) {
  int64_t k, rows, per, t, acc, total;
  int64_t ci = chunk_images(g, threads);
  if (__builtin_mul_overflow(g->kh * g->kw, g->c, &k) ||
      __builtin_mul_overflow(ci, g->oh * g->ow, &rows) ||
      __builtin_mul_overflow(rows, k + cout, &per) ||
      __builtin_mul_overflow(per, (int64_t)threads, &t) ||
      __builtin_mul_overflow(group_count(g, threads), k * cout + cout, &acc) ||
      __builtin_add_overflow(t, acc, &total) || total > ML_MAX_NUMEL)
    return SIZE_MAX;
  return (size_t)total;
}

/* Shared checks; fills g. */
static int conv_check(ml_ctx *ctx, const char *who, ml_window *g, const ml_tensor *y,
                      const ml_tensor *x, const ml_tensor *w, const ml_tensor *b,
                      int64_t sh, int64_t sw, bool same, size_t ws_floats, bool need_ws) {
  char s1[96], s2[96];
  if (ml_nn_check_f32(ctx, who, "input", x) || ml_nn_check_f32(ctx, who, "kernel", w))
    return ML_ERR;
  if (w->ndim != 4)
    return ml_error(ctx, "%s: kernel must be 4-D (KH x KW x CIN x COUT), got %s", who,
                    ml_shape_str(s1, sizeof s1, w->ndim, w->shape));
  if (ml_window_init(ctx, g, who, x, w->shape[0], w->shape[1], sh, sw, same)) return ML_ERR;
  if (g->c != w->shape[2])
    return ml_error(ctx, "%s: expected input with %lld channels, got %s", who,
                    (long long)w->shape[2], ml_shape_str(s2, sizeof s2, x->ndim, x->shape));
  int64_t cout = w->shape[3], ys[4] = {g->n, g->oh, g->ow, cout};
  if (b && ml_nn_check_shape(ctx, who, "bias", b, 1, &cout)) return ML_ERR;
  if (y && ml_nn_check_shape(ctx, who, "output", y, 4, ys)) return ML_ERR;
  int64_t k = g->kh * g->kw * g->c, rows = g->n * g->oh * g->ow;
  if (k > INT32_MAX || rows > INT32_MAX || cout > INT32_MAX)
    return ml_error(ctx, "%s: dimensions too large for SGEMM", who);
  if (need_ws && ml_conv2d_workspace(g, cout, ctx->threads) == SIZE_MAX) {
    char a[96];
    return ml_error(ctx, "%s: input %s with a %lldx%lld window needs too large a workspace", who,
                    ml_shape_str(a, sizeof a, x->ndim, x->shape), (long long)g->kh,
                    (long long)g->kw);
  }
  if (need_ws && ws_floats < ml_conv2d_workspace(g, cout, ctx->threads))
    return ml_error(ctx, "%s: workspace of %zu floats, need %zu", who, ws_floats,
                    ml_conv2d_workspace(g, cout, ctx->threads));
  return ML_OK;
}

int ml_conv2d_forward(ml_ctx *ctx, ml_tensor *y, const ml_tensor *x, const ml_tensor *w,
                      const ml_tensor *b, int64_t sh, int64_t sw, bool same, ml_act a,
                      float *ws, size_t ws_floats) {
  ml_window g;
  if (conv_check(ctx, "conv2d_forward", &g, y, x, w, b, sh, sw, same, ws_floats, true))
    return ML_ERR;
  if (g.n == 0 || g.oh == 0 || g.ow == 0) return ML_OK;
  int64_t cout = w->shape[3], k = g.kh * g.kw * g.c, p = g.oh * g.ow;
  int64_t img = g.h * g.w * g.c;
  int threads = ctx->threads;
  int64_t ci = chunk_images(&g, threads), nchunks = (g.n + ci - 1) / ci;
  int64_t per_thread = thread_floats(&g, cout, threads);
  const float *xp = ml_f32(x), *wp = ml_f32(w), *bp = b ? ml_f32(b) : NULL;
  float *yp = ml_f32(y);
  bool dir = direct(&g);
  int nt = nchunks < threads ? (int)nchunks : threads;
  #pragma omp parallel num_threads(nt) if (nt > 1)
  {
    float *cols = ws + (int64_t)omp_get_thread_num() * per_thread;
    #pragma omp for schedule(dynamic)   /* a descheduled thread does not hold the others up */
    for (int64_t c0 = 0; c0 < nchunks; c0++) {
      int64_t i0 = c0 * ci, i1 = i0 + ci < g.n ? i0 + ci : g.n, rows = (i1 - i0) * p;
      const float *A = xp + i0 * img;
      if (!dir) {
        for (int64_t i = i0; i < i1; i++) im2col(&g, xp + i * img, cols + (i - i0) * p * k);
        A = cols;
      }
      float *yc = yp + i0 * p * cout;
      ml_sgemm(ctx, false, false, (int)rows, (int)cout, (int)k, 1.0f, A, (int)k, wp,
               (int)cout, 0.0f, yc, (int)cout);
      if (bp || a.kind != ML_ACT_LINEAR) ml_act_rows(NULL, a, yc, yc, bp, rows, cout);
    }
  }
  return ML_OK;
}

int ml_conv2d_backward(ml_ctx *ctx, ml_tensor *gx, ml_tensor *gw, ml_tensor *gb,
                       const ml_tensor *x, const ml_tensor *w, const ml_tensor *y,
                       const ml_tensor *gy, int64_t sh, int64_t sw, bool same, ml_act a,
                       bool pre_activation, float *ws, size_t ws_floats) {
  const char *who = "conv2d_backward";
  if (ml_act_needs_input(a.kind) && !pre_activation)
    return ml_error(ctx, "%s: activation '%s' needs its input for the gradient; apply it as a "
                    "separate step", who, ml_act_name(a.kind));
  ml_window g;
  if (conv_check(ctx, who, &g, NULL, x, w, NULL, sh, sw, same, ws_floats, true)) return ML_ERR;
  int64_t cout = w->shape[3], k = g.kh * g.kw * g.c, p = g.oh * g.ow;
  int64_t ys[4] = {g.n, g.oh, g.ow, cout};
  bool act = !pre_activation && a.kind != ML_ACT_LINEAR;
  if (ml_nn_check_shape(ctx, who, "output gradient", gy, 4, ys) ||
      (act && ml_nn_check_shape(ctx, who, "output", y, 4, ys)) ||
      ml_nn_check_shape(ctx, who, "kernel gradient", gw, 4, w->shape) ||
      (gb && ml_nn_check_shape(ctx, who, "bias gradient", gb, 1, &cout)) ||
      (gx && ml_nn_check_shape(ctx, who, "input gradient", gx, 4, x->shape)))
    return ML_ERR;
  int64_t img = g.h * g.w * g.c;
  int threads = ctx->threads;
  int64_t ci = chunk_images(&g, threads), nchunks = (g.n + ci - 1) / ci;
  int64_t per_thread = thread_floats(&g, cout, threads), crow = ci * p;
  const float *xp = ml_f32(x), *wp = ml_f32(w), *gyp = ml_f32(gy), *yp = act ? ml_f32(y) : NULL;
  float *gxp = gx ? ml_f32(gx) : NULL;
  bool dir = direct(&g);
  int64_t ngroups = group_count(&g, threads), gsize = (nchunks + ngroups - 1) / ngroups;
  float *acc = ws + per_thread * threads;   /* ngroups x (K*COUT + COUT) */
  int nt = ngroups < threads ? (int)ngroups : threads;
  if (nt < 1) nt = 1;
  memset(acc, 0, (size_t)(ngroups * (k * cout + cout)) * sizeof *acc);
  #pragma omp parallel num_threads(nt) if (nt > 1)
  {
    float *cols = ws + (int64_t)omp_get_thread_num() * per_thread;
    float *gz = cols + crow * k;
    #pragma omp for schedule(dynamic)
    for (int64_t grp = 0; grp < ngroups; grp++) {
      float *gwa = acc + grp * (k * cout + cout), *gba = gwa + k * cout;
      int64_t c1 = (grp + 1) * gsize < nchunks ? (grp + 1) * gsize : nchunks;
      for (int64_t c0 = grp * gsize; c0 < c1; c0++) {
        int64_t i0 = c0 * ci, i1 = i0 + ci < g.n ? i0 + ci : g.n, rows = (i1 - i0) * p;
        const float *gc = gyp + i0 * p * cout;
        if (act) {
          ml_act_grad_rows(NULL, a, gz, gc, yp + i0 * p * cout, rows, cout);
          gc = gz;
        }
        bias_grad(gba, gc, rows, cout);
        const float *A = xp + i0 * img;
        if (!dir) {
          for (int64_t i = i0; i < i1; i++) im2col(&g, xp + i * img, cols + (i - i0) * p * k);
          A = cols;
        }
        ml_sgemm(ctx, true, false, (int)k, (int)cout, (int)rows, 1.0f, A, (int)k, gc,
                 (int)cout, 1.0f, gwa, (int)cout);
        if (gxp) {
          if (dir) {
            ml_sgemm(ctx, false, true, (int)rows, (int)k, (int)cout, 1.0f, gc, (int)cout, wp,
                     (int)cout, 0.0f, gxp + i0 * img, (int)k);
          } else {
            ml_sgemm(ctx, false, true, (int)rows, (int)k, (int)cout, 1.0f, gc, (int)cout, wp,
                     (int)cout, 0.0f, cols, (int)k);
            for (int64_t i = i0; i < i1; i++) col2im(&g, cols + (i - i0) * p * k, gxp + i * img);
          }
        }
      }
    }
  }
  /* add the group accumulators in group order */
  float *gwp = ml_f32(gw), *gbp = gb ? ml_f32(gb) : NULL;
  memset(gwp, 0, (size_t)(k * cout) * sizeof *gwp);
  if (gbp) memset(gbp, 0, (size_t)cout * sizeof *gbp);
  for (int64_t grp = 0; grp < ngroups; grp++) {
    const float *gwa = acc + grp * (k * cout + cout), *gba = gwa + k * cout;
    for (int64_t i = 0; i < k * cout; i++) gwp[i] += gwa[i];
    if (gbp) for (int64_t j = 0; j < cout; j++) gbp[j] += gba[j];
  }
  if (gxp && g.n > 0 && (g.oh == 0 || g.ow == 0)) memset(gxp, 0, (size_t)(g.n * img) * sizeof *gxp);
  return ML_OK;
}

int ml_conv2d_ref(ml_ctx *ctx, ml_tensor *y, const ml_tensor *x, const ml_tensor *w,
                  const ml_tensor *b, int64_t sh, int64_t sw, bool same) {
  ml_window g;
  if (conv_check(ctx, "conv2d_ref", &g, y, x, w, b, sh, sw, same, 0, false)) return ML_ERR;
  int64_t cout = w->shape[3];
  const float *xp = ml_f32(x), *wp = ml_f32(w);
  float *yp = ml_f32(y);
  for (int64_t n = 0; n < g.n; n++)
    for (int64_t oy = 0; oy < g.oh; oy++)
      for (int64_t ox = 0; ox < g.ow; ox++)
        for (int64_t o = 0; o < cout; o++) {
          double s = b ? ml_f32(b)[o] : 0;
          for (int64_t ki = 0; ki < g.kh; ki++)
            for (int64_t kj = 0; kj < g.kw; kj++) {
              int64_t iy = oy * g.sh - g.pt + ki, ix = ox * g.sw - g.pl + kj;
              if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
              for (int64_t c = 0; c < g.c; c++)
                s += (double)xp[((n * g.h + iy) * g.w + ix) * g.c + c] *
                     wp[((ki * g.kw + kj) * g.c + c) * cout + o];
            }
          yp[((n * g.oh + oy) * g.ow + ox) * cout + o] = (float)s;
        }
  return ML_OK;
}
