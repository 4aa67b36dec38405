/* nmf.h - non-negative matrix factorisation X ~ W H as scikit-learn 1.2's NMF
 * with the Frobenius loss: NNDSVD(a/ar) or random initialisation, and the
 * coordinate-descent ("cd") or multiplicative-update ("mu") solver, with the
 * same stopping rules and L1/L2 penalties. */
#ifndef ML_ESTIM_NMF_H
#define ML_ESTIM_NMF_H
#include "../ml.h"

typedef enum { ML_NMF_RANDOM, ML_NMF_NNDSVD, ML_NMF_NNDSVDA, ML_NMF_NNDSVDAR } ml_nmf_init;
typedef enum { ML_NMF_CD, ML_NMF_MU } ml_nmf_solver;

typedef struct ml_nmf_params {
  ml_nmf_solver solver;
  double tol;          /* >= 0 */
  int max_iter;        /* >= 1 */
  double l1_W, l2_W, l1_H, l2_H;   /* penalties already scaled as scikit-learn does */
  bool update_H;       /* false: solve for W with H fixed (transform) */
  int sparse;          /* products with X: 0 auto (sparse below 30% non-zeros), 1 sparse, -1 dense */
} ml_nmf_params;

/* W[n x k], H[k x p] (float32, new) initialised from X[n x p] >= 0. */
int ml_nmf_init_wh(ml_ctx *ctx, ml_tensor *W, ml_tensor *H, const ml_tensor *X, int64_t k,
                   ml_nmf_init mode, uint64_t seed);
/* Runs the solver on contiguous float32 W[n x k] and H[k x p] in place;
 * *n_iter gets the iterations run. */
int ml_nmf_solve(ml_ctx *ctx, ml_tensor *W, ml_tensor *H, const ml_tensor *X,
                 const ml_nmf_params *p, int *n_iter);
/* *err = ||X - W H||_F (double accumulated). */
int ml_nmf_error(ml_ctx *ctx, double *err, const ml_tensor *X, const ml_tensor *W,
                 const ml_tensor *H);
#endif
