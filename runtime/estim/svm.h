/* svm.h - support vector classification as libsvm does it: SMO with
 * second-order working-set selection (Fan, Chen & Lin 2005), shrinking, an
 * LRU cache of kernel rows computed with SGEMV, one-vs-one multi-class with
 * voting, Platt-scaled probabilities with pairwise coupling; and linear SVMs
 * by dual coordinate descent as liblinear does it.
 *
 * Conventions: X is n x f float32 row-major; class ids are 0..K-1 in
 * scikit-learn's (sorted) class order; a pair p = (i, j), i < j, is numbered
 * in the order (0,1), (0,2), ..., (1,2), ...; its decision value is positive
 * for class i (libsvm's convention). */
#ifndef ML_ESTIM_SVM_H
#define ML_ESTIM_SVM_H
#include "../ml.h"

typedef enum { ML_KERNEL_LINEAR, ML_KERNEL_POLY, ML_KERNEL_RBF, ML_KERNEL_SIGMOID } ml_kernel_kind;

typedef struct ml_kernel {
  ml_kernel_kind kind;
  int degree;
  double gamma, coef0;
} ml_kernel;

/* k(x, z) from the dot product x.z and the squared norms |x|^2, |z|^2. */
double ml_kernel_eval(const ml_kernel *k, double dot, double xx, double zz);

/* ---- kernel-row cache (svm_cache.c): libsvm's LRU design ---- */
typedef struct ml_svm_cache ml_svm_cache;
ml_svm_cache *ml_svm_cache_new(int64_t l, size_t bytes);
void ml_svm_cache_free(ml_svm_cache *c);
/* Row `index` with room for len entries; returns how many were already
 * filled (the caller fills [returned, len)); NULL data on out of memory. */
int64_t ml_svm_cache_get(ml_svm_cache *c, int64_t index, float **data, int64_t len);
/* The solver swapped positions i and j: keep cached rows consistent. */
void ml_svm_cache_swap(ml_svm_cache *c, int64_t i, int64_t j);

/* ---- SMO solver for one binary C-SVC problem (svm_solver.c) ---- */
typedef struct ml_svm_solve_params {
  ml_kernel kernel;
  double Cp, Cn;        /* box for y = +1 and y = -1 */
  double eps;           /* stopping tolerance on the KKT gap */
  size_t cache_bytes;
  bool shrinking;
  int64_t max_iter;     /* < 0: libsvm's default cap */
} ml_svm_solve_params;

/* Solves min 1/2 a^T Q a - e^T a, 0 <= a_i <= C_{y_i}, y^T a = 0, with
 * Q_ij = y_i y_j k(x_i, x_j). X: l x f (copied), y: +1/-1 (int8).
 * alpha out: l (non-negative); rho out: the decision is sum y_i a_i k - rho.
 * iters out; hit_max: stopped at max_iter. Safe to call from several
 * threads at once (nothing shared but ctx->threads, read only). */
int ml_svm_solve(ml_ctx *ctx, const ml_svm_solve_params *p, const float *X, const int8_t *y,
                 int64_t l, int64_t f, double *alpha, double *rho, int64_t *iters, bool *hit_max);

/* ---- C-SVC, one-vs-one (svm.c) ---- */
typedef struct ml_svc_params {
  ml_kernel kernel;
  double C, tol;
  double cache_mb;
  bool shrinking, probability;
  int64_t max_iter;            /* -1: no limit (libsvm's cap) */
  const double *class_weight;  /* K multipliers of C, or NULL */
  uint64_t seed;               /* folds of the probability cross-validation */
} ml_svc_params;

typedef struct ml_svc_model {
  int K;
  int64_t n_sv, f;
  int64_t *support;     /* n_sv sample positions (0-based), grouped by class */
  int64_t *n_support;   /* K */
  float *sv;            /* n_sv x f */
  double *dual_coef;    /* (K-1) x n_sv, libsvm's layout */
  double *rho;          /* P = K(K-1)/2 */
  double *probA, *probB;/* P each when probability, else NULL */
  int64_t *n_iter;      /* P */
  bool hit_max;
} ml_svc_model;

const char *ml_svc_check(const ml_svc_params *p);
/* y: n class ids in 0..K-1, every class present. */
int ml_svc_fit(ml_ctx *ctx, const ml_svc_params *p, const float *X, const int64_t *y, int64_t n,
               int64_t f, int K, ml_svc_model *out);
void ml_svc_model_free(ml_svc_model *m);

/* Pairwise decision values dec (m x P) for X (m x f) from a fitted model's
 * parts: sv (n_sv x f), n_support (K), dual_coef ((K-1) x n_sv), rho (P). */
int ml_svc_decision(ml_ctx *ctx, const ml_kernel *k, const float *sv, int64_t n_sv, int64_t f,
                    const int64_t *n_support, int K, const double *dual_coef, const double *rho,
                    const float *X, int64_t m, double *dec);
/* Probabilities (m x K) from decision values (m x P) and the Platt sigmoid
 * parameters probA, probB (P each), by pairwise coupling (Wu, Lin & Weng). */
void ml_svc_proba(ml_ctx *ctx, const double *dec, int64_t m, int K, const double *probA,
                  const double *probB, double *prob);

/* ---- linear SVM by dual coordinate descent (linear_svc.c) ---- */
typedef struct ml_linsvc_params {
  double C, tol;
  bool squared_hinge;          /* loss: squared_hinge (true) or hinge */
  bool fit_intercept;
  double intercept_scaling;    /* the bias feature's value */
  int max_iter;
  const double *class_weight;  /* K multipliers or NULL */
  uint64_t seed;
} ml_linsvc_params;

const char *ml_linsvc_check(const ml_linsvc_params *p);
/* One-vs-rest (one problem when K == 2, class 1 positive). coef: R x f,
 * intercept: R (R = 1 or K); n_iter: the largest iteration count; hit_max. */
int ml_linsvc_fit(ml_ctx *ctx, const ml_linsvc_params *p, const float *X, const int64_t *y,
                  int64_t n, int64_t f, int K, float *coef, float *intercept, int *n_iter,
                  bool *hit_max);

#endif
