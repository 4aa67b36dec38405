/* linear_svc.c - linear SVM by dual coordinate descent with shrinking
 * (Hsieh et al. 2008, liblinear's solver for the L2-regularised hinge and
 * squared-hinge losses), one-vs-rest, the classes in parallel. */
#include "svm.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *ml_linsvc_check(const ml_linsvc_params *p) {
  if (!(p->C > 0)) return "C must be positive";
  if (!(p->tol > 0)) return "tol must be positive";
  if (p->max_iter < 1) return "max_iter must be >= 1";
  if (p->fit_intercept && !(p->intercept_scaling > 0)) return "intercept_scaling must be positive";
  return NULL;
}

/* X without its zeros (CSR): images and one-hot tables are mostly zeros, and
 * every step of the solver is a sparse dot product and a sparse update. */
typedef struct {
  int64_t *row;     /* n + 1 offsets */
  int32_t *col;
  float *val;
} csr;

static int csr_build(csr *m, const float *X, int64_t n, int64_t f) {
  int64_t nnz = 0;
  for (int64_t i = 0; i < n * f; i++) nnz += X[i] != 0;
  m->row = malloc(sizeof(int64_t) * (size_t)(n + 1));
  m->col = malloc(sizeof(int32_t) * (size_t)(nnz + 1));
  m->val = malloc(sizeof(float) * (size_t)(nnz + 1));
  if (!m->row || !m->col || !m->val) return -1;
  int64_t k = 0;
  for (int64_t i = 0; i < n; i++) {
    m->row[i] = k;
    for (int64_t c = 0; c < f; c++)
      if (X[i * f + c] != 0) { m->col[k] = (int32_t)c; m->val[k] = X[i * f + c]; k++; }
  }
  m->row[n] = k;
  return 0;
}

static void csr_free(csr *m) { free(m->row); free(m->col); free(m->val); }

/* One binary problem: y +1/-1, Cp/Cn the boxes. w: f (+1 for the bias). */
static int solve_binary(const ml_linsvc_params *p, const csr *X, const int8_t *y, int64_t n,
                        int64_t f, double Cp, double Cn, uint64_t seed, double *w, int *iters) {
  double bias = p->fit_intercept ? p->intercept_scaling : 0;
  int64_t fw = f + (p->fit_intercept ? 1 : 0);
  double *alpha = calloc((size_t)n, sizeof(double)), *QD = malloc(sizeof(double) * (size_t)n);
  int64_t *index = malloc(sizeof(int64_t) * (size_t)n);
  if (!alpha || !QD || !index) { free(alpha); free(QD); free(index); return -1; }
  /* squared hinge: D_ii = 1/(2C), no upper bound; hinge: D = 0, bound C */
  double diag[2], upper[2];   /* [0]: y = -1, [1]: y = +1 */
  diag[0] = p->squared_hinge ? 0.5 / Cn : 0; diag[1] = p->squared_hinge ? 0.5 / Cp : 0;
  upper[0] = p->squared_hinge ? INFINITY : Cn; upper[1] = p->squared_hinge ? INFINITY : Cp;
  memset(w, 0, sizeof(double) * (size_t)fw);
  for (int64_t i = 0; i < n; i++) {
    double q = bias * bias;
    for (int64_t k = X->row[i]; k < X->row[i + 1]; k++) q += (double)X->val[k] * X->val[k];
    QD[i] = diag[y[i] > 0] + q;
    index[i] = i;
  }
  ml_rng rng;
  ml_rng_seed(&rng, seed);
  int64_t active = n;
  double PGmax_old = INFINITY, PGmin_old = -INFINITY;
  int it = 0;
  while (it < p->max_iter) {
    double PGmax_new = -INFINITY, PGmin_new = INFINITY;
    for (int64_t i = 0; i < active; i++) {
      int64_t j = i + (int64_t)ml_rng_below(&rng, (uint64_t)(active - i));
      int64_t t = index[i]; index[i] = index[j]; index[j] = t;
    }
    for (int64_t s = 0; s < active; s++) {
      int64_t i = index[s];
      int yi = y[i] > 0 ? 1 : -1;
      int64_t k0 = X->row[i], k1 = X->row[i + 1];
      const int32_t *col = X->col;
      const float *val = X->val;
      double G = 0;
      for (int64_t k = k0; k < k1; k++) G += w[col[k]] * val[k];
      if (bias != 0) G += w[f] * bias;
      G = G * yi - 1 + alpha[i] * diag[yi > 0];
      double C = upper[yi > 0], PG = 0;
      if (alpha[i] == 0) {
        if (G > PGmax_old) {
          active--;
          int64_t t = index[s]; index[s] = index[active]; index[active] = t;
          s--;
          continue;
        } else if (G < 0) PG = G;
      } else if (alpha[i] == C) {
        if (G < PGmin_old) {
          active--;
          int64_t t = index[s]; index[s] = index[active]; index[active] = t;
          s--;
          continue;
        } else if (G > 0) PG = G;
      } else PG = G;
      if (PG > PGmax_new) PGmax_new = PG;
      if (PG < PGmin_new) PGmin_new = PG;
      if (fabs(PG) > 1e-12) {
        double old = alpha[i];
        alpha[i] = fmin(fmax(alpha[i] - G / QD[i], 0.0), C);
        double d = (alpha[i] - old) * yi;
        for (int64_t k = k0; k < k1; k++) w[col[k]] += d * val[k];
        if (bias != 0) w[f] += d * bias;
      }
    }
    it++;
    if (PGmax_new - PGmin_new <= p->tol) {
      if (active == n) break;
      active = n;
      PGmax_old = INFINITY;
      PGmin_old = -INFINITY;
      continue;
    }
    PGmax_old = PGmax_new;
    PGmin_old = PGmin_new;
    if (PGmax_old <= 0) PGmax_old = INFINITY;
    if (PGmin_old >= 0) PGmin_old = -INFINITY;
  }
  *iters = it;
  free(alpha); free(QD); free(index);
  return 0;
}

int ml_linsvc_fit(ml_ctx *ctx, const ml_linsvc_params *p, const float *X, const int64_t *y,
                  int64_t n, int64_t f, int K, float *coef, float *intercept, int *n_iter,
                  bool *hit_max) {
  const char *msg = ml_linsvc_check(p);
  if (msg) return ml_error(ctx, "LinearSVC: %s", msg);
  if (K < 2) return ml_error(ctx, "LinearSVC: needs at least 2 classes, got %d", K);
  for (int64_t i = 0; i < n; i++)
    if (y[i] < 0 || y[i] >= K)
      return ml_error(ctx, "LinearSVC: class id %lld out of range 0..%d", (long long)y[i], K - 1);
  int R = K == 2 ? 1 : K;
  int64_t fw = f + 1;
  double *W = malloc(sizeof(double) * (size_t)(R * fw));
  int8_t *yb = malloc((size_t)(n * R));
  int *its = calloc((size_t)R, sizeof(int));
  if (!W || !yb || !its) {
    free(W); free(yb); free(its);
    return ml_error(ctx, "LinearSVC: out of memory for %lldx%lld", (long long)n, (long long)f);
  }
  csr S;
  if (csr_build(&S, X, n, f)) {
    csr_free(&S); free(W); free(yb); free(its);
    return ml_error(ctx, "LinearSVC: out of memory for %lldx%lld", (long long)n, (long long)f);
  }
  int failed = 0;
  #pragma omp parallel for num_threads(ctx->threads) schedule(dynamic) if (R > 1)
  for (int r = 0; r < R; r++) {
    int pos = K == 2 ? 1 : r;
    int8_t *yr = yb + (int64_t)r * n;
    for (int64_t i = 0; i < n; i++) yr[i] = y[i] == pos ? 1 : -1;
    /* class_weight scales the box of the samples of that class; in
     * one-vs-rest the negatives keep the weight of "the rest" = 1 */
    double Cp = p->C * (p->class_weight ? p->class_weight[pos] : 1);
    double Cn = p->C * (p->class_weight && K == 2 ? p->class_weight[0] : 1);
    if (solve_binary(p, &S, yr, n, f, Cp, Cn, p->seed + (uint64_t)r * 7919, W + r * fw, &its[r]))
      failed = 1;
  }
  csr_free(&S);
  if (failed) {
    free(W); free(yb); free(its);
    return ml_error(ctx, "LinearSVC: out of memory in the solver");
  }
  int mx = 0;
  for (int r = 0; r < R; r++) {
    for (int64_t c = 0; c < f; c++) coef[r * f + c] = (float)W[r * fw + c];
    intercept[r] = p->fit_intercept ? (float)(W[r * fw + f] * p->intercept_scaling) : 0.0f;
    if (its[r] > mx) mx = its[r];
  }
  *n_iter = mx;
  *hit_max = mx >= p->max_iter;
  free(W); free(yb); free(its);
  return ML_OK;
}
