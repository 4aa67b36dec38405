/* logistic.c - logistic regression: loss/gradient via DGEMM, L-BFGS with a
 * strong-Wolfe line search (Nocedal & Wright, algorithms 3.5/3.6, 7.4). */
#include "logistic.h"
#include "../blas.h"
#include <float.h>
#include <omp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LBFGS_M 10

typedef struct {
  ml_ctx *ctx;
  const double *X;      /* n x f */
  const int64_t *y;
  const double *sw;     /* NULL: all ones */
  int64_t n, f;
  int R;                /* weight rows: 1 (binary) or K */
  double alpha;         /* 1/C, 0 without penalty */
  bool intercept;
  double *Z;            /* n x R scratch: logits, then residuals */
  double *G;            /* (nt - 1) partial gradients */
  int nt, used;         /* threads asked for, threads the region got */
  int evals;
} problem;

/* Loss and gradient over rows [lo, hi): z = X W^T + b, residuals r = sw (p - y),
 * g_part (R x f, then R intercept sums) = r^T X. Runs in one thread, in
 * blocks of rows small enough to stay in cache between the two products, so
 * X streams from memory once per evaluation. */
static double evaluate_rows(problem *P, const double *w, int64_t lo, int64_t hi, double *g_part) {
  int64_t f = P->f;
  int R = P->R;
  const double *b = w + (int64_t)R * f;
  double loss = 0;
  int64_t block = (int64_t)(65536 / (f > 0 ? f : 1));
  if (block < 16) block = 16;
  double *gb = g_part + (int64_t)R * f;
  for (int64_t j = 0; j < (int64_t)R * (f + 1); j++) g_part[j] = 0;
  for (int64_t b0 = lo; b0 < hi; b0 += block) {
    int64_t m = hi - b0 < block ? hi - b0 : block;
    const double *X = P->X + b0 * f;
    double *Z = P->Z + b0 * R;
    if (R == 1) ml_dgemv(P->ctx, false, (int)m, (int)f, 1.0, X, (int)f, w, 0.0, Z);
    else ml_dgemm(P->ctx, false, true, (int)m, R, (int)f, 1.0, X, (int)f, w, (int)f, 0.0, Z, R);
    for (int64_t i = 0; i < m; i++) {
      double s = P->sw ? P->sw[b0 + i] : 1.0;
      double *z = Z + i * R;
      int64_t yi = P->y[b0 + i];
      if (R == 1) {
        /* one exp and one log1p: softplus(u) = max(u, 0) + log1p(e^-|u|) */
        double t = z[0] + b[0], yy = yi == 1 ? 1.0 : 0.0;
        double e = exp(-fabs(t)), u = yy > 0 ? -t : t;
        loss += s * ((u > 0 ? u : 0) + log1p(e));
        double p = t >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        z[0] = s * (p - yy);
      } else {
        double mx = -INFINITY;
        for (int k = 0; k < R; k++) { z[k] += b[k]; if (z[k] > mx) mx = z[k]; }
        double se = 0;
        for (int k = 0; k < R; k++) se += exp(z[k] - mx);
        double lse = mx + log(se);
        loss += s * (lse - z[yi]);
        for (int k = 0; k < R; k++) z[k] = s * (exp(z[k] - lse) - (k == yi ? 1.0 : 0.0));
      }
      for (int k = 0; k < R; k++) gb[k] += z[k];
    }
    if (R == 1) ml_dgemv(P->ctx, true, (int)m, (int)f, 1.0, X, (int)f, Z, 1.0, g_part);
    else ml_dgemm(P->ctx, true, false, R, (int)f, (int)m, 1.0, Z, R, X, (int)f, 1.0, g_part,
                  (int)f);
  }
  return loss;
}

/* Loss at w (R rows of f weights then R intercepts) and its gradient g. One
 * parallel region per evaluation: each thread takes a block of rows and its
 * own partial gradient; partials are summed in thread order (deterministic
 * for a given thread count). */
static double evaluate(problem *P, const double *w, double *g) {
  int64_t n = P->n, f = P->f, nv = (int64_t)P->R * (f + 1);
  int nt = P->nt;
  double losses[64];
  P->evals++;
  if (nt <= 1) {
    losses[0] = evaluate_rows(P, w, 0, n, g);
  } else {
    #pragma omp parallel num_threads(nt)
    {
      int t = omp_get_thread_num(), T = omp_get_num_threads();
      int64_t lo = n * t / T, hi = n * (t + 1) / T;
      losses[t] = evaluate_rows(P, w, lo, hi, t == 0 ? g : P->G + (int64_t)(t - 1) * nv);
      if (t == 0) P->used = T;
    }
    for (int t = 1; t < P->used; t++) {
      losses[0] += losses[t];
      const double *gp = P->G + (int64_t)(t - 1) * nv;
      for (int64_t j = 0; j < nv; j++) g[j] += gp[j];
    }
  }
  double loss = losses[0];
  double *gb = g + (int64_t)P->R * f;
  if (!P->intercept) for (int k = 0; k < P->R; k++) gb[k] = 0;
  if (P->alpha > 0) {
    double reg = 0;
    for (int64_t j = 0; j < (int64_t)P->R * f; j++) {
      reg += w[j] * w[j];
      g[j] += P->alpha * w[j];
    }
    loss += 0.5 * P->alpha * reg;
  }
  return loss;
}

static double dot(const double *a, const double *b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/* Minimiser of the cubic through (a, fa, da) and (b, fb, db), kept inside
 * [lo + 0.1 (hi - lo), hi - 0.1 (hi - lo)]; bisection when undefined. */
static double cubic_step(double a, double fa, double da, double b, double fb, double db) {
  double lo = a < b ? a : b, hi = a < b ? b : a, w = hi - lo;
  double d1 = da + db - 3 * (fa - fb) / (a - b);
  double disc = d1 * d1 - da * db;
  double x = 0.5 * (a + b);
  if (disc >= 0) {
    double d2 = (b > a ? 1 : -1) * sqrt(disc);
    double den = db - da + 2 * d2;
    if (den != 0) x = b - (b - a) * (db + d2 - d1) / den;
  }
  if (!isfinite(x) || x < lo + 0.1 * w || x > hi - 0.1 * w) x = 0.5 * (a + b);
  return x;
}

typedef struct { double *x, *g; double f; } point;

/* Strong-Wolfe line search from (x0, f0, g0) along d. On return `out` holds
 * the accepted point; returns 0 on success, 1 when no decrease was found. */
static int line_search(problem *P, int64_t nv, const double *x0, double f0, const double *g0,
                       const double *d, double step, point *out, point *tmp) {
  const double c1 = 1e-4, c2 = 0.9;
  double dg0 = dot(g0, d, nv);
  double a_prev = 0, f_prev = f0, dg_prev = dg0;
  double a_lo = 0, f_lo = f0, dg_lo = dg0, a_hi = 0, f_hi = 0, dg_hi = 0;
  bool zoom = false;
  point *cur = tmp, *best = out;
  best->f = f0;
  memcpy(best->x, x0, sizeof(double) * (size_t)nv);
  memcpy(best->g, g0, sizeof(double) * (size_t)nv);
  double a = step;
  for (int it = 0; it < 40; it++) {
    if (zoom) a = cubic_step(a_lo, f_lo, dg_lo, a_hi, f_hi, dg_hi);
    for (int64_t j = 0; j < nv; j++) cur->x[j] = x0[j] + a * d[j];
    cur->f = evaluate(P, cur->x, cur->g);
    double dg = dot(cur->g, d, nv);
    if (!isfinite(cur->f)) {   /* overflow: shrink the step */
      if (zoom) { a_hi = a; f_hi = INFINITY; dg_hi = 0; }
      else a *= 0.1;
      continue;
    }
    bool armijo = cur->f <= f0 + c1 * a * dg0;
    if (armijo && cur->f < best->f) { point t = *best; *best = *cur; *cur = t; }
    if (!zoom) {
      if (!armijo || (it > 0 && cur->f >= f_prev)) {
        zoom = true;
        a_lo = a_prev; f_lo = f_prev; dg_lo = dg_prev; a_hi = a; f_hi = cur->f; dg_hi = dg;
        continue;
      }
      if (fabs(dg) <= -c2 * dg0) return 0;
      if (dg >= 0) {
        zoom = true;
        a_lo = a; f_lo = cur->f; dg_lo = dg; a_hi = a_prev; f_hi = f_prev; dg_hi = dg_prev;
        continue;
      }
      a_prev = a; f_prev = cur->f; dg_prev = dg;
      a *= 2.5;
    } else {
      if (!armijo || cur->f >= f_lo) {
        a_hi = a; f_hi = cur->f; dg_hi = dg;
      } else {
        if (fabs(dg) <= -c2 * dg0) return 0;
        if (dg * (a_hi - a_lo) >= 0) { a_hi = a_lo; f_hi = f_lo; dg_hi = dg_lo; }
        a_lo = a; f_lo = cur->f; dg_lo = dg;
      }
      if (fabs(a_hi - a_lo) <= 1e-16 * (a_lo > 1 ? a_lo : 1)) break;
    }
  }
  return best->f < f0 ? 0 : 1;   /* sufficient decrease without curvature is fine */
}

const char *ml_logreg_check(const ml_logreg_params *p) {
  if (p->penalty && !(p->C > 0)) return "C must be positive";
  if (p->max_iter < 1) return "max_iter must be >= 1";
  if (!(p->tol >= 0)) return "tol must be >= 0";
  return NULL;
}

int ml_logreg_fit(ml_ctx *ctx, const ml_logreg_params *prm, const float *X, const int64_t *y,
                  const double *sw, int64_t n, int64_t f, int K, float *coef, float *intercept,
                  int *n_iter, bool *converged) {
  const char *msg = ml_logreg_check(prm);
  if (msg) return ml_error(ctx, "LogisticRegression: %s", msg);
  if (K < 2) return ml_error(ctx, "LogisticRegression: needs at least 2 classes, got %d", K);
  if (n < 1 || f < 1) return ml_error(ctx, "LogisticRegression: empty data (%lldx%lld)",
                                      (long long)n, (long long)f);
  for (int64_t i = 0; i < n; i++)
    if (y[i] < 0 || y[i] >= K)
      return ml_error(ctx, "LogisticRegression: class id %lld out of range 0..%d",
                      (long long)y[i], K - 1);
  int R = K == 2 ? 1 : K;
  int64_t nv = (int64_t)R * (f + 1);
  /* threads pay off once a block holds real work */
  int nt = n * f * R >= 200000 ? ctx->threads : 1;
  if (nt > 64) nt = 64;
  if (nt > n) nt = (int)n;
  problem P = {ctx, NULL, y, sw, n, f, R, prm->penalty ? 1.0 / prm->C : 0.0,
               prm->fit_intercept, NULL, NULL, nt, 1, 0};
  size_t scratch = (size_t)(n * f + n * R + nv * (8 + 2 * LBFGS_M + nt) + LBFGS_M);
  double *mem = malloc(sizeof(double) * scratch);
  if (!mem) return ml_error(ctx, "LogisticRegression: out of memory for %lldx%lld",
                            (long long)n, (long long)f);
  double *Xd = mem, *Z = Xd + n * f, *x = Z + n * R, *g = x + nv, *d = g + nv;
  point A = {d + nv, d + 2 * nv, 0}, B = {d + 3 * nv, d + 4 * nv, 0};
  double *S = d + 5 * nv, *Yv = S + LBFGS_M * nv, *rho = Yv + LBFGS_M * nv;
  for (int64_t i = 0; i < n * f; i++) Xd[i] = X[i];
  P.X = Xd; P.Z = Z; P.G = rho + LBFGS_M;
  for (int r = 0; r < R; r++) {
    for (int64_t j = 0; j < f; j++) x[r * f + j] = coef[r * f + j];
    x[(int64_t)R * f + r] = prm->fit_intercept ? intercept[r] : 0;
  }
  double fx = evaluate(&P, x, g);
  int it = 0, hist = 0, head = 0;
  bool conv = false;
  double alpha_tmp[LBFGS_M];
  const double ftol = 1e3 * DBL_EPSILON;
  for (;;) {
    double gmax = 0;
    for (int64_t j = 0; j < nv; j++) if (fabs(g[j]) > gmax) gmax = fabs(g[j]);
    if (gmax <= prm->tol) { conv = true; break; }
    if (it >= prm->max_iter) break;
    /* two-loop recursion: d = -H g */
    for (int64_t j = 0; j < nv; j++) d[j] = -g[j];
    for (int h = 0; h < hist; h++) {
      int k = (head - 1 - h + LBFGS_M) % LBFGS_M;
      alpha_tmp[k] = rho[k] * dot(S + k * nv, d, nv);
      for (int64_t j = 0; j < nv; j++) d[j] -= alpha_tmp[k] * Yv[k * nv + j];
    }
    if (hist > 0) {
      int k = (head - 1 + LBFGS_M) % LBFGS_M;
      double gam = 1.0 / (rho[k] * dot(Yv + k * nv, Yv + k * nv, nv));
      for (int64_t j = 0; j < nv; j++) d[j] *= gam;
    }
    for (int h = hist - 1; h >= 0; h--) {
      int k = (head - 1 - h + LBFGS_M) % LBFGS_M;
      double beta = rho[k] * dot(Yv + k * nv, d, nv);
      for (int64_t j = 0; j < nv; j++) d[j] += (alpha_tmp[k] - beta) * S[k * nv + j];
    }
    if (dot(d, g, nv) >= 0) {   /* not a descent direction: restart */
      hist = 0;
      for (int64_t j = 0; j < nv; j++) d[j] = -g[j];
    }
    double step = 1.0;
    if (hist == 0) step = fmin(1.0, 1.0 / sqrt(dot(g, g, nv)));
    if (line_search(&P, nv, x, fx, g, d, step, &A, &B)) {
      if (hist == 0) break;   /* no progress even along -g */
      hist = 0;               /* drop the curvature memory and retry */
      continue;
    }
    it++;
    /* s = x_new - x, y = g_new - g */
    double *s = S + head * nv, *yv = Yv + head * nv;
    for (int64_t j = 0; j < nv; j++) { s[j] = A.x[j] - x[j]; yv[j] = A.g[j] - g[j]; }
    double sy = dot(s, yv, nv);
    if (sy > DBL_EPSILON * dot(yv, yv, nv)) {
      rho[head] = 1.0 / sy;
      head = (head + 1) % LBFGS_M;
      if (hist < LBFGS_M) hist++;
    }
    double fold = fx;
    memcpy(x, A.x, sizeof(double) * (size_t)nv);
    memcpy(g, A.g, sizeof(double) * (size_t)nv);
    fx = A.f;
    if ((fold - fx) <= ftol * fmax(fmax(fabs(fold), fabs(fx)), 1.0)) {
      double gm = 0;
      for (int64_t j = 0; j < nv; j++) if (fabs(g[j]) > gm) gm = fabs(g[j]);
      conv = gm <= prm->tol;
      break;
    }
  }
  /* multinomial intercepts are defined up to a constant: centre them */
  if (R > 1 && prm->fit_intercept) {
    double m = 0;
    for (int r = 0; r < R; r++) m += x[(int64_t)R * f + r];
    m /= R;
    for (int r = 0; r < R; r++) x[(int64_t)R * f + r] -= m;
  }
  for (int r = 0; r < R; r++) {
    for (int64_t j = 0; j < f; j++) coef[r * f + j] = (float)x[r * f + j];
    intercept[r] = (float)x[(int64_t)R * f + r];
  }
  *n_iter = it;
  if (converged) *converged = conv;
  free(mem);
  return ML_OK;
}
