/* pca.h - principal component analysis and the truncated SVD under it (also
 * used by NMF's NNDSVD initialisation). Decompositions run in double
 * precision through LAPACK: either the eigenvectors of the Gram matrix
 * (A^T A, or A A^T for wide A; fast when one side is small) or a full SVD
 * (gesdd). Signs follow scikit-learn 1.2's svd_flip: the largest |entry| of
 * each left singular vector is positive. */
#ifndef ML_ESTIM_PCA_H
#define ML_ESTIM_PCA_H
#include "../ml.h"

typedef enum { ML_PCA_AUTO, ML_PCA_FULL, ML_PCA_COVARIANCE_EIGH } ml_pca_solver;

/* Truncated SVD of a[n x p] (double, row-major, not modified), 1 <= k <= min(n, p):
 * s[k] decreasing, u[n x k], vt[k x p], signs flipped as svd_flip(u, vt). */
int ml_svd_truncated(ml_ctx *ctx, const double *a, int64_t n, int64_t p, int64_t k,
                     ml_pca_solver solver, double *u, double *s, double *vt);

/* The same from float32 a[n x p]: for tall a (p <= n) the Gram matrix is
 * formed by SSYRK (its eigenvectors agree with the double route to ~1e-5)
 * and u[n x k] is returned in float32; wide a goes through the double route. */
int ml_svd_truncated_f(ml_ctx *ctx, const float *a, int64_t n, int64_t p, int64_t k,
                       double *s, double *vt, float *u);
/* Problems at least this large (n * p * min(n, p)) use the float32 Gram. */
#define ML_SVD_FLOAT_WORK 5e7

/* PCA of X[n x p] float32 (n >= 2) keeping m components (1 <= m <= min(n, p)):
 * mean[p], components[m x p], explained_variance[m] (S^2 / (n - 1)),
 * singular_values[m], and *total_var, the summed per-feature variance (ddof 1).
 * ev_d (NULL or m doubles) receives the explained variances unrounded. */
int ml_pca_fit(ml_ctx *ctx, ml_tensor *mean, ml_tensor *components, ml_tensor *explained_var,
               ml_tensor *singular_values, double *total_var, double *ev_d, const ml_tensor *X,
               int64_t m, ml_pca_solver solver);
#endif
