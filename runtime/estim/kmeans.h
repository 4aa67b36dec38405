/* kmeans.h - k-means clustering as scikit-learn's KMeans(algorithm="lloyd"):
 * greedy k-means++ seeding (2 + log k local trials), Lloyd iterations with
 * SGEMM distances over row chunks in parallel, convergence when the summed
 * squared centre shift falls to tol * mean feature variance (or the labels stop
 * changing), empty clusters moved to the farthest points, best of n_init runs
 * by inertia. Data are centred first for precision, as scikit-learn does;
 * mostly-zero data (under 30% non-zeros, e.g. images) stay uncentred in
 * compressed rows, so each iteration costs nnz * k instead of n * d * k. */
#ifndef ML_ESTIM_KMEANS_H
#define ML_ESTIM_KMEANS_H
#include "../ml.h"

typedef enum { ML_KMEANS_PLUSPLUS, ML_KMEANS_RANDOM, ML_KMEANS_GIVEN } ml_kmeans_init;

typedef struct ml_kmeans_params {
  int64_t n_clusters;     /* >= 1, <= rows of X */
  int n_init;             /* >= 1 (forced to 1 for given centres) */
  int max_iter;           /* >= 1 */
  double tol;             /* >= 0, relative to the mean feature variance */
  ml_kmeans_init init;
  uint64_t seed;
} ml_kmeans_params;

/* Returns a message naming the bad parameter, or NULL. */
const char *ml_kmeans_check(const ml_kmeans_params *p);

/* Fits on X[n x d] (float32). centers[k x d] float32, labels[n] int64 (0-based
 * cluster ids), *inertia (sum of squared distances to the assigned centre)
 * and *n_iter of the best run. init_centers[k x d] is read only when
 * p->init == ML_KMEANS_GIVEN. */
int ml_kmeans_fit(ml_ctx *ctx, ml_tensor *centers, ml_tensor *labels, double *inertia,
                  int *n_iter, const ml_tensor *X, const ml_kmeans_params *p,
                  const ml_tensor *init_centers);
/* labels[n] int64 of the nearest centre and, when mind2 != NULL, mind2[n]
 * float32 squared distances to it (exact, double accumulated). */
int ml_kmeans_assign(ml_ctx *ctx, ml_tensor *labels, ml_tensor *mind2, const ml_tensor *X,
                     const ml_tensor *centers);
/* out[n x k] = squared Euclidean distances between rows of X[n x d] and
 * C[k x d] (SGEMM expansion, clamped at 0). */
int ml_sqdist(ml_ctx *ctx, ml_tensor *out, const ml_tensor *X, const ml_tensor *C);
#endif
