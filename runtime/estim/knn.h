/* knn.h - brute-force nearest neighbours (KNeighborsClassifier/Regressor).
 * Euclidean distances come from |q|^2 + |t|^2 - 2 q.t through SGEMM over
 * blocks of queries (bounded memory); the candidates are then re-ranked with
 * exact double-precision distances, ties broken by the lower training index. */
#ifndef ML_ESTIM_KNN_H
#define ML_ESTIM_KNN_H
#include "../ml.h"

typedef enum { ML_KNN_EUCLIDEAN, ML_KNN_MANHATTAN, ML_KNN_CHEBYSHEV, ML_KNN_MINKOWSKI } ml_knn_metric;

/* dist[nq x k] (float32) and idx[nq x k] (int64, 0-based rows of train) of the
 * k nearest training rows of every query row, nearest first.
 * train: n x d float32, query: nq x d float32, 1 <= k <= n; p > 0 is the
 * Minkowski power (used by ML_KNN_MINKOWSKI only). */
int ml_knn_kneighbors(ml_ctx *ctx, ml_tensor *dist, ml_tensor *idx, const ml_tensor *train,
                      const ml_tensor *query, int64_t k, ml_knn_metric metric, double p);
/* proba[nq x n_classes]: the (weighted) share of each class among the
 * neighbours idx[nq x k] whose 0-based class ids are y_ids[n] (int64).
 * distance: weights 1/d (a zero distance takes all the weight), else uniform. */
int ml_knn_vote(ml_ctx *ctx, ml_tensor *proba, const ml_tensor *dist, const ml_tensor *idx,
                const ml_tensor *y_ids, int64_t n_classes, bool distance);
/* pred[nq]: the (weighted) mean of y[n] (float32) over the neighbours. */
int ml_knn_regress(ml_ctx *ctx, ml_tensor *pred, const ml_tensor *dist, const ml_tensor *idx,
                   const ml_tensor *y, bool distance);
#endif
