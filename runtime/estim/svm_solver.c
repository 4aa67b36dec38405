/* svm_solver.c - SMO for one binary C-SVC problem, the way libsvm's Solver
 * works: second-order working-set selection (WSS3), shrinking with gradient
 * reconstruction, kernel rows from an LRU cache, filled by SGEMV over the
 * samples kept in the solver's own (permuted) order. */
#include "svm.h"
#include "../blas.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TAU 1e-12
enum { LOWER = 0, UPPER = 1, FREE = 2 };

double ml_kernel_eval(const ml_kernel *k, double dot, double xx, double zz) {
  switch (k->kind) {
  case ML_KERNEL_LINEAR: return dot;
  case ML_KERNEL_POLY: return pow(k->gamma * dot + k->coef0, k->degree);
  case ML_KERNEL_RBF: return exp(-k->gamma * (xx + zz - 2 * dot));
  case ML_KERNEL_SIGMOID: return tanh(k->gamma * dot + k->coef0);
  }
  return 0;
}

typedef struct {
  ml_ctx *ctx;
  ml_kernel kernel;
  int64_t l, f, active_size;
  float *X;               /* l x f, permuted along with everything else */
  double *sq, *G, *G_bar, *alpha, *QD;
  int8_t *y;
  char *status;
  int64_t *active_set;    /* position -> original index */
  float *dots;            /* l scratch */
  ml_svm_cache *cache;
  double Cp, Cn, eps;
  bool unshrink, oom;
} solver;

static double get_C(const solver *s, int64_t i) { return s->y[i] > 0 ? s->Cp : s->Cn; }
static bool is_upper(const solver *s, int64_t i) { return s->status[i] == UPPER; }
static bool is_lower(const solver *s, int64_t i) { return s->status[i] == LOWER; }
static bool is_free(const solver *s, int64_t i) { return s->status[i] == FREE; }
static void update_status(solver *s, int64_t i) {
  if (s->alpha[i] >= get_C(s, i)) s->status[i] = UPPER;
  else if (s->alpha[i] <= 0) s->status[i] = LOWER;
  else s->status[i] = FREE;
}

/* Row i of Q over positions [0, len). NULL when memory ran out. */
static const float *get_Q(solver *s, int64_t i, int64_t len) {
  float *data;
  int64_t start = ml_svm_cache_get(s->cache, i, &data, len);
  if (!data) { s->oom = true; return NULL; }
  if (start < len) {
    int64_t f = s->f, m = len - start;
    const float *xi = s->X + i * f;
    ml_sgemv(s->ctx, false, (int)m, (int)f, 1.0f, s->X + start * f, (int)f, xi, 0.0f,
             s->dots + start);
    double sqi = s->sq[i];
    int8_t yi = s->y[i];
    for (int64_t k = start; k < len; k++)
      data[k] = (float)(yi * s->y[k] * ml_kernel_eval(&s->kernel, s->dots[k], sqi, s->sq[k]));
  }
  return data;
}

static void swap_index(solver *s, int64_t i, int64_t j) {
  if (i == j) return;
  ml_svm_cache_swap(s->cache, i, j);
  int64_t f = s->f;
  for (int64_t k = 0; k < f; k++) {
    float t = s->X[i * f + k]; s->X[i * f + k] = s->X[j * f + k]; s->X[j * f + k] = t;
  }
#define SWAP(T, a) do { T t_ = (a)[i]; (a)[i] = (a)[j]; (a)[j] = t_; } while (0)
  SWAP(double, s->sq); SWAP(double, s->G); SWAP(double, s->G_bar); SWAP(double, s->alpha);
  SWAP(double, s->QD); SWAP(int8_t, s->y); SWAP(char, s->status); SWAP(int64_t, s->active_set);
#undef SWAP
}

/* G of the shrunk variables from G_bar and the free alphas. */
static void reconstruct_gradient(solver *s) {
  int64_t l = s->l, as = s->active_size;
  if (as == l) return;
  int64_t nr_free = 0;
  for (int64_t j = as; j < l; j++) s->G[j] = s->G_bar[j] - 1.0;
  for (int64_t j = 0; j < as; j++) if (is_free(s, j)) nr_free++;
  if ((double)nr_free * l > 2.0 * as * (l - as)) {
    for (int64_t i = as; i < l; i++) {
      const float *Qi = get_Q(s, i, as);
      if (!Qi) return;
      for (int64_t j = 0; j < as; j++) if (is_free(s, j)) s->G[i] += s->alpha[j] * Qi[j];
    }
  } else {
    for (int64_t i = 0; i < as; i++)
      if (is_free(s, i)) {
        const float *Qi = get_Q(s, i, l);
        if (!Qi) return;
        double ai = s->alpha[i];
        for (int64_t j = as; j < l; j++) s->G[j] += ai * Qi[j];
      }
  }
}

/* WSS3: i maximises the violation, j the second-order gain. 1: optimal. */
static int select_working_set(solver *s, int64_t *out_i, int64_t *out_j) {
  double Gmax = -INFINITY, Gmax2 = -INFINITY, obj_diff_min = INFINITY;
  int64_t Gmax_idx = -1, Gmin_idx = -1, as = s->active_size;
  for (int64_t t = 0; t < as; t++) {
    if (s->y[t] > 0) {
      if (!is_upper(s, t) && -s->G[t] >= Gmax) { Gmax = -s->G[t]; Gmax_idx = t; }
    } else {
      if (!is_lower(s, t) && s->G[t] >= Gmax) { Gmax = s->G[t]; Gmax_idx = t; }
    }
  }
  int64_t i = Gmax_idx;
  const float *Qi = NULL;
  if (i != -1) { Qi = get_Q(s, i, as); if (!Qi) return 1; }
  for (int64_t j = 0; j < as; j++) {
    if (s->y[j] > 0) {
      if (!is_lower(s, j)) {
        double grad_diff = Gmax + s->G[j];
        if (s->G[j] >= Gmax2) Gmax2 = s->G[j];
        if (grad_diff > 0) {
          double quad = s->QD[i] + s->QD[j] - 2.0 * s->y[i] * Qi[j];
          double obj = quad > 0 ? -(grad_diff * grad_diff) / quad : -(grad_diff * grad_diff) / TAU;
          if (obj <= obj_diff_min) { Gmin_idx = j; obj_diff_min = obj; }
        }
      }
    } else {
      if (!is_upper(s, j)) {
        double grad_diff = Gmax - s->G[j];
        if (-s->G[j] >= Gmax2) Gmax2 = -s->G[j];
        if (grad_diff > 0) {
          double quad = s->QD[i] + s->QD[j] + 2.0 * s->y[i] * Qi[j];
          double obj = quad > 0 ? -(grad_diff * grad_diff) / quad : -(grad_diff * grad_diff) / TAU;
          if (obj <= obj_diff_min) { Gmin_idx = j; obj_diff_min = obj; }
        }
      }
    }
  }
  if (Gmax + Gmax2 < s->eps || Gmin_idx == -1) return 1;
  *out_i = Gmax_idx;
  *out_j = Gmin_idx;
  return 0;
}

static bool be_shrunk(const solver *s, int64_t i, double Gmax1, double Gmax2) {
  if (is_upper(s, i)) return s->y[i] > 0 ? -s->G[i] > Gmax1 : -s->G[i] > Gmax2;
  if (is_lower(s, i)) return s->y[i] > 0 ? s->G[i] > Gmax2 : s->G[i] > Gmax1;
  return false;
}

static void do_shrinking(solver *s) {
  double Gmax1 = -INFINITY, Gmax2 = -INFINITY;
  for (int64_t i = 0; i < s->active_size; i++) {
    if (s->y[i] > 0) {
      if (!is_upper(s, i) && -s->G[i] >= Gmax1) Gmax1 = -s->G[i];
      if (!is_lower(s, i) && s->G[i] >= Gmax2) Gmax2 = s->G[i];
    } else {
      if (!is_upper(s, i) && -s->G[i] >= Gmax2) Gmax2 = -s->G[i];
      if (!is_lower(s, i) && s->G[i] >= Gmax1) Gmax1 = s->G[i];
    }
  }
  if (!s->unshrink && Gmax1 + Gmax2 <= s->eps * 10) {
    s->unshrink = true;
    reconstruct_gradient(s);
    s->active_size = s->l;
  }
  for (int64_t i = 0; i < s->active_size; i++)
    if (be_shrunk(s, i, Gmax1, Gmax2)) {
      s->active_size--;
      while (s->active_size > i) {
        if (!be_shrunk(s, s->active_size, Gmax1, Gmax2)) {
          swap_index(s, i, s->active_size);
          break;
        }
        s->active_size--;
      }
    }
}

static double calculate_rho(const solver *s) {
  int64_t nr_free = 0;
  double ub = INFINITY, lb = -INFINITY, sum_free = 0;
  for (int64_t i = 0; i < s->active_size; i++) {
    double yG = s->y[i] * s->G[i];
    if (is_upper(s, i)) {
      if (s->y[i] < 0) ub = fmin(ub, yG); else lb = fmax(lb, yG);
    } else if (is_lower(s, i)) {
      if (s->y[i] > 0) ub = fmin(ub, yG); else lb = fmax(lb, yG);
    } else {
      nr_free++;
      sum_free += yG;
    }
  }
  return nr_free > 0 ? sum_free / nr_free : (ub + lb) / 2;
}

int ml_svm_solve(ml_ctx *ctx, const ml_svm_solve_params *p, const float *X, const int8_t *y,
                 int64_t l, int64_t f, double *alpha_out, double *rho, int64_t *iters,
                 bool *hit_max) {
  if (l < 2 || f < 1) return ml_error(ctx, "svm: a problem needs 2 samples, got %lld",
                                      (long long)l);
  solver S = {0};
  S.ctx = ctx; S.kernel = p->kernel; S.l = l; S.f = f; S.active_size = l;
  S.Cp = p->Cp; S.Cn = p->Cn; S.eps = p->eps;
  size_t nd = (size_t)l * 5;
  double *dmem = malloc(sizeof(double) * nd);
  S.X = malloc(sizeof(float) * (size_t)(l * f));
  S.y = malloc((size_t)l);
  S.status = malloc((size_t)l);
  S.active_set = malloc(sizeof(int64_t) * (size_t)l);
  S.dots = malloc(sizeof(float) * (size_t)l);
  S.cache = ml_svm_cache_new(l, p->cache_bytes);
  if (!dmem || !S.X || !S.y || !S.status || !S.active_set || !S.dots || !S.cache) {
    S.oom = true;
    goto done;
  }
  S.sq = dmem; S.G = dmem + l; S.G_bar = dmem + 2 * l; S.alpha = dmem + 3 * l; S.QD = dmem + 4 * l;
  memcpy(S.X, X, sizeof(float) * (size_t)(l * f));
  memcpy(S.y, y, (size_t)l);
  for (int64_t i = 0; i < l; i++) {
    double q = 0;
    const float *xi = X + i * f;
    for (int64_t k = 0; k < f; k++) q += (double)xi[k] * xi[k];
    S.sq[i] = q;
    S.QD[i] = ml_kernel_eval(&S.kernel, q, q, q);
    S.G[i] = -1.0;          /* p = -e */
    S.G_bar[i] = 0;
    S.alpha[i] = 0;
    S.status[i] = LOWER;
    S.active_set[i] = i;
  }
  int64_t max_iter = p->max_iter > 0 ? p->max_iter : (l > INT64_MAX / 100 ? INT64_MAX :
                     (100 * l > 10000000 ? 100 * l : 10000000));
  int64_t iter = 0, counter = (l < 1000 ? l : 1000) + 1;
  while (iter < max_iter) {
    if (--counter == 0) {
      counter = l < 1000 ? l : 1000;
      if (p->shrinking) do_shrinking(&S);
    }
    int64_t i = 0, j = 0;
    if (select_working_set(&S, &i, &j) != 0) {
      if (S.oom) break;
      reconstruct_gradient(&S);
      S.active_size = l;
      if (select_working_set(&S, &i, &j) != 0) break;
      counter = 1;   /* shrink again at the next iteration */
    }
    if (S.oom) break;
    ++iter;
    const float *Qi = get_Q(&S, i, S.active_size);
    const float *Qj = get_Q(&S, j, S.active_size);
    if (!Qi || !Qj) break;
    double Ci = get_C(&S, i), Cj = get_C(&S, j);
    double oai = S.alpha[i], oaj = S.alpha[j];
    double *a = S.alpha;
    if (S.y[i] != S.y[j]) {
      double quad = S.QD[i] + S.QD[j] + 2.0 * Qi[j];
      if (quad <= 0) quad = TAU;
      double delta = (-S.G[i] - S.G[j]) / quad, diff = a[i] - a[j];
      a[i] += delta; a[j] += delta;
      if (diff > 0) { if (a[j] < 0) { a[j] = 0; a[i] = diff; } }
      else { if (a[i] < 0) { a[i] = 0; a[j] = -diff; } }
      if (diff > Ci - Cj) { if (a[i] > Ci) { a[i] = Ci; a[j] = Ci - diff; } }
      else { if (a[j] > Cj) { a[j] = Cj; a[i] = Cj + diff; } }
    } else {
      double quad = S.QD[i] + S.QD[j] - 2.0 * Qi[j];
      if (quad <= 0) quad = TAU;
      double delta = (S.G[i] - S.G[j]) / quad, sum = a[i] + a[j];
      a[i] -= delta; a[j] += delta;
      if (sum > Ci) { if (a[i] > Ci) { a[i] = Ci; a[j] = sum - Ci; } }
      else { if (a[j] < 0) { a[j] = 0; a[i] = sum; } }
      if (sum > Cj) { if (a[j] > Cj) { a[j] = Cj; a[i] = sum - Cj; } }
      else { if (a[i] < 0) { a[i] = 0; a[j] = sum; } }
    }
    double dai = a[i] - oai, daj = a[j] - oaj;
    for (int64_t k = 0; k < S.active_size; k++) S.G[k] += Qi[k] * dai + Qj[k] * daj;
    bool ui = is_upper(&S, i), uj = is_upper(&S, j);
    update_status(&S, i);
    update_status(&S, j);
    if (ui != is_upper(&S, i)) {
      const float *Q = get_Q(&S, i, l);
      if (!Q) break;
      for (int64_t k = 0; k < l; k++) S.G_bar[k] += (ui ? -Ci : Ci) * Q[k];
    }
    if (uj != is_upper(&S, j)) {
      const float *Q = get_Q(&S, j, l);
      if (!Q) break;
      for (int64_t k = 0; k < l; k++) S.G_bar[k] += (uj ? -Cj : Cj) * Q[k];
    }
  }
  if (!S.oom) {
    *hit_max = iter >= max_iter;
    if (S.active_size < l) { reconstruct_gradient(&S); S.active_size = l; }
    *rho = calculate_rho(&S);
    for (int64_t i = 0; i < l; i++) alpha_out[S.active_set[i]] = S.alpha[i];
    *iters = iter;
  }
done:
  free(dmem); free(S.X); free(S.y); free(S.status); free(S.active_set); free(S.dots);
  ml_svm_cache_free(S.cache);
  if (S.oom) return ml_error(ctx, "SVC: out of memory in the SMO solver (%lld samples)",
                             (long long)l);
  return ML_OK;
}
