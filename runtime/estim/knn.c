/* knn.c - brute-force k nearest neighbours: blocked SGEMM distances, partial
 * selection per query, exact re-ranking, and the vote / mean on top. */
#include "knn.h"
#include "../blas.h"
#include "threads.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#define KNN_SLACK 8          /* extra SGEMM candidates re-ranked exactly */
#define KNN_BLOCK_FLOATS (4 << 20)   /* distance block: at most 16 MB */

/* A sorted list of the kk best (value, index) pairs seen so far; ties go to
 * the lower index, and indices arrive in increasing order. */
typedef struct { double *v; int64_t *i; int64_t n, cap; } topk;

static inline void topk_push(topk *t, double v, int64_t i) {
  if (t->n == t->cap) {
    if (!(v < t->v[t->n - 1])) return;
    t->n--;
  }
  int64_t j = t->n++;
  while (j > 0 && (t->v[j - 1] > v || (t->v[j - 1] == v && t->i[j - 1] > i))) {
    t->v[j] = t->v[j - 1]; t->i[j] = t->i[j - 1]; j--;
  }
  t->v[j] = v; t->i[j] = i;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static double exact_dist(const float *a, const float *b, int64_t d, ml_knn_metric m, double p) {
  double s = 0;
  switch (m) {
  case ML_KNN_EUCLIDEAN:
    for (int64_t j = 0; j < d; j++) { double e = (double)a[j] - b[j]; s += e * e; }
    return s;   /* squared: the root is taken at the end */
  case ML_KNN_MANHATTAN:
    for (int64_t j = 0; j < d; j++) s += fabs((double)a[j] - b[j]);
    return s;
  case ML_KNN_CHEBYSHEV:
    for (int64_t j = 0; j < d; j++) { double e = fabs((double)a[j] - b[j]); if (e > s) s = e; }
    return s;
  case ML_KNN_MINKOWSKI:
    for (int64_t j = 0; j < d; j++) s += pow(fabs((double)a[j] - b[j]), p);
    return s;   /* the p-th root is taken at the end */
  }
  return s;
}

static double finish_dist(double s, ml_knn_metric m, double p) {
  if (m == ML_KNN_EUCLIDEAN) return sqrt(s);
  if (m == ML_KNN_MINKOWSKI) return pow(s, 1.0 / p);
  return s;
}

static int check_2d(ml_ctx *ctx, const char *who, const char *what, const ml_tensor *t) {
  char b[128];
  if (t->ndim != 2 || t->dtype != ML_F32)
    return ml_error(ctx, "%s: %s must be a 2-D float32 tensor, got %s %s", who, what,
                    ml_dtype_name(t->dtype), ml_shape_str(b, sizeof b, t->ndim, t->shape));
  return ML_OK;
}

static int ml_knn_kneighbors_impl(ml_ctx *ctx, ml_tensor *dist, ml_tensor *idx, const ml_tensor *train,
                      const ml_tensor *query, int64_t k, ml_knn_metric metric, double p) {
  const char *who = "kneighbors";
  if (check_2d(ctx, who, "training data", train) || check_2d(ctx, who, "X", query)) return ML_ERR;
  int64_t n = train->shape[0], d = train->shape[1], nq = query->shape[0];
  if (query->shape[1] != d)
    return ml_error(ctx, "%s: X has %lld features, but the training data has %lld", who,
                    (long long)query->shape[1], (long long)d);
  if (k < 1 || k > n)
    return ml_error(ctx, "%s: n_neighbors must be in 1..%lld (training rows), got %lld", who,
                    (long long)n, (long long)k);
  if (metric == ML_KNN_MINKOWSKI && !(p > 0))
    return ml_error(ctx, "%s: p must be > 0, got %g", who, p);
  if (metric == ML_KNN_MINKOWSKI && p == 2) metric = ML_KNN_EUCLIDEAN;
  if (metric == ML_KNN_MINKOWSKI && p == 1) metric = ML_KNN_MANHATTAN;

  ml_tensor tr, q;
  if (ml_contiguous(ctx, &tr, train)) return ML_ERR;
  if (ml_contiguous(ctx, &q, query)) { ml_tensor_release(&tr); return ML_ERR; }
  int64_t oshape[2] = {nq, k};
  if (ml_tensor_new(ctx, dist, ML_F32, 2, oshape, false)) goto fail0;
  if (ml_tensor_new(ctx, idx, ML_I64, 2, oshape, false)) { ml_tensor_release(dist); goto fail0; }
  const float *T = ml_f32(&tr), *Q = ml_f32(&q);
  float *D = ml_f32(dist);
  int64_t *I = ml_i64(idx);
  int64_t kk = metric == ML_KNN_EUCLIDEAN ? (k + KNN_SLACK < n ? k + KNN_SLACK : n) : k;
  int nt = ctx->threads;
  double *tv = malloc(sizeof(double) * (size_t)(kk * nt));
  int64_t *ti = malloc(sizeof(int64_t) * (size_t)(kk * nt));
  int64_t *cb = malloc(sizeof(int64_t) * (size_t)(kk * nt));
  float *tn = NULL, *G = NULL;
  int64_t B = 0;
  if (metric == ML_KNN_EUCLIDEAN) {
    B = KNN_BLOCK_FLOATS / (n > 0 ? n : 1);
    if (B < 16) B = 16;
    if (B > nq) B = nq;
    tn = malloc(sizeof(float) * (size_t)n);
    G = malloc(sizeof(float) * (size_t)(B * n > 0 ? B * n : 1));
  }
  if (!tv || !ti || !cb || (metric == ML_KNN_EUCLIDEAN && (!tn || !G))) {
    free(tv); free(ti); free(cb); free(tn); free(G);
    ml_tensor_release(dist); ml_tensor_release(idx);
    ml_error(ctx, "%s: out of memory", who);
    goto fail0;
  }

  if (metric == ML_KNN_EUCLIDEAN) {
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t j = 0; j < n; j++) {
      const float *t = T + j * d;
      float s = 0;
      for (int64_t c = 0; c < d; c++) s += t[c] * t[c];
      tn[j] = s;
    }
    for (int64_t q0 = 0; q0 < nq; q0 += B) {
      int64_t bq = nq - q0 < B ? nq - q0 : B;
      /* G = Q_blk T^T: the cross terms of the squared distances */
      ml_sgemm(ctx, false, true, (int)bq, (int)n, (int)d, 1.0f, Q + q0 * d, (int)d, T, (int)d,
               0.0f, G, (int)n);
      #pragma omp parallel for num_threads(nt) schedule(dynamic, 4)
      for (int64_t r = 0; r < bq; r++) {
        int th = omp_get_thread_num();
        topk t = {tv + th * kk, ti + th * kk, 0, kk};
        const float *g = G + r * n;
        /* |q|^2 is the same for every candidate: rank by |t|^2 - 2 q.t */
        for (int64_t j = 0; j < n; j++) topk_push(&t, (double)tn[j] - 2.0 * g[j], j);
        /* re-rank the candidates by exact distances */
        const float *qr = Q + (q0 + r) * d;
        int64_t *cand = cb + th * kk;
        memcpy(cand, t.i, sizeof(int64_t) * (size_t)kk);
        t.n = 0; t.cap = k;
        /* indices must arrive increasing for the tie-break: sort them */
        qsort(cand, (size_t)kk, sizeof(int64_t), cmp_i64);
        for (int64_t c = 0; c < kk; c++)
          topk_push(&t, exact_dist(qr, T + cand[c] * d, d, metric, p), cand[c]);
        for (int64_t c = 0; c < k; c++) {
          D[(q0 + r) * k + c] = (float)finish_dist(t.v[c], metric, p);
          I[(q0 + r) * k + c] = t.i[c];
        }
      }
    }
  } else {
    #pragma omp parallel for num_threads(nt) schedule(dynamic, 4)
    for (int64_t r = 0; r < nq; r++) {
      int th = omp_get_thread_num();
      topk t = {tv + th * kk, ti + th * kk, 0, kk};
      const float *qr = Q + r * d;
      for (int64_t j = 0; j < n; j++) topk_push(&t, exact_dist(qr, T + j * d, d, metric, p), j);
      for (int64_t c = 0; c < k; c++) {
        D[r * k + c] = (float)finish_dist(t.v[c], metric, p);
        I[r * k + c] = t.i[c];
      }
    }
  }
  free(tv); free(ti); free(cb); free(tn); free(G);
  ml_tensor_release(&tr); ml_tensor_release(&q);
  return ML_OK;
fail0:
  ml_tensor_release(&tr); ml_tensor_release(&q);
  return ML_ERR;
}

/* Checks dist/idx/labels agree and returns contiguous copies. */
static int neigh_args(ml_ctx *ctx, const char *who, const ml_tensor *dist, const ml_tensor *idx,
                      const ml_tensor *y, ml_tensor *dc, ml_tensor *ic, ml_tensor *yc) {
  char b1[128], b2[128];
  if (idx->ndim != 2 || idx->dtype != ML_I64 || dist->ndim != 2 ||
      dist->shape[0] != idx->shape[0] || dist->shape[1] != idx->shape[1])
    return ml_error(ctx, "%s: expected matching 2-D distances and int64 indices, got %s and %s",
                    who, ml_shape_str(b1, sizeof b1, dist->ndim, dist->shape),
                    ml_shape_str(b2, sizeof b2, idx->ndim, idx->shape));
  if (y->ndim != 1)
    return ml_error(ctx, "%s: targets must be 1-D, got %s", who,
                    ml_shape_str(b1, sizeof b1, y->ndim, y->shape));
  if (ml_to_dtype(ctx, dc, dist, ML_F32)) return ML_ERR;
  if (ml_contiguous(ctx, ic, idx)) { ml_tensor_release(dc); return ML_ERR; }
  if (ml_contiguous(ctx, yc, y)) { ml_tensor_release(dc); ml_tensor_release(ic); return ML_ERR; }
  ml_tensor t;
  int rc = ml_contiguous(ctx, &t, dc);
  ml_tensor_release(dc);
  if (rc) { ml_tensor_release(ic); ml_tensor_release(yc); return ML_ERR; }
  *dc = t;
  int64_t n = y->shape[0], m = ml_numel(ic);
  const int64_t *I = ml_i64(ic);
  for (int64_t i = 0; i < m; i++)
    if (I[i] < 0 || I[i] >= n) {
      ml_tensor_release(dc); ml_tensor_release(ic); ml_tensor_release(yc);
      return ml_error(ctx, "%s: neighbour index %lld outside 0..%lld", who, (long long)I[i],
                      (long long)(n - 1));
    }
  return ML_OK;
}

/* Weights of one query's k neighbours as scikit-learn's _get_weights. */
static void weights_of(const float *dr, int64_t k, bool distance, double *w) {
  bool zero = false;
  for (int64_t c = 0; c < k; c++) if (dr[c] == 0) zero = true;
  for (int64_t c = 0; c < k; c++)
    w[c] = !distance ? 1.0 : zero ? (dr[c] == 0 ? 1.0 : 0.0) : 1.0 / dr[c];
}

int ml_knn_vote(ml_ctx *ctx, ml_tensor *proba, const ml_tensor *dist, const ml_tensor *idx,
                const ml_tensor *y_ids, int64_t n_classes, bool distance) {
  const char *who = "knn_vote";
  if (n_classes < 1) return ml_error(ctx, "%s: n_classes must be >= 1, got %lld", who, (long long)n_classes);
  if (y_ids->dtype != ML_I64) return ml_error(ctx, "%s: class ids must be int64", who);
  ml_tensor dc, ic, yc;
  if (neigh_args(ctx, who, dist, idx, y_ids, &dc, &ic, &yc)) return ML_ERR;
  int64_t nq = ic.shape[0], k = ic.shape[1], n = yc.shape[0];
  const int64_t *Y = ml_i64(&yc);
  for (int64_t i = 0; i < n; i++)
    if (Y[i] < 0 || Y[i] >= n_classes) {
      ml_tensor_release(&dc); ml_tensor_release(&ic); ml_tensor_release(&yc);
      return ml_error(ctx, "%s: class id %lld outside 0..%lld", who, (long long)Y[i],
                      (long long)(n_classes - 1));
    }
  int64_t shape[2] = {nq, n_classes};
  int rc = ml_tensor_new(ctx, proba, ML_F32, 2, shape, true);
  if (rc == ML_OK) {
    float *P = ml_f32(proba);
    const float *D = ml_f32(&dc);
    const int64_t *I = ml_i64(&ic);
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int64_t r = 0; r < nq; r++) {
      double w[k > 0 ? k : 1], acc[n_classes], tot = 0;
      weights_of(D + r * k, k, distance, w);
      for (int64_t c = 0; c < n_classes; c++) acc[c] = 0;
      for (int64_t c = 0; c < k; c++) { acc[Y[I[r * k + c]]] += w[c]; tot += w[c]; }
      if (tot == 0) tot = 1;
      for (int64_t c = 0; c < n_classes; c++) P[r * n_classes + c] = (float)(acc[c] / tot);
    }
  }
  ml_tensor_release(&dc); ml_tensor_release(&ic); ml_tensor_release(&yc);
  return rc;
}

int ml_knn_regress(ml_ctx *ctx, ml_tensor *pred, const ml_tensor *dist, const ml_tensor *idx,
                   const ml_tensor *y, bool distance) {
  const char *who = "knn_regress";
  if (y->dtype != ML_F32) return ml_error(ctx, "%s: targets must be float32", who);
  ml_tensor dc, ic, yc;
  if (neigh_args(ctx, who, dist, idx, y, &dc, &ic, &yc)) return ML_ERR;
  int64_t nq = ic.shape[0], k = ic.shape[1];
  int rc = ml_tensor_new(ctx, pred, ML_F32, 1, &nq, false);
  if (rc == ML_OK) {
    float *P = ml_f32(pred);
    const float *D = ml_f32(&dc), *Y = ml_f32(&yc);
    const int64_t *I = ml_i64(&ic);
    #pragma omp parallel for num_threads(ctx->threads) schedule(static)
    for (int64_t r = 0; r < nq; r++) {
      double w[k > 0 ? k : 1], s = 0, tot = 0;
      weights_of(D + r * k, k, distance, w);
      for (int64_t c = 0; c < k; c++) { s += w[c] * Y[I[r * k + c]]; tot += w[c]; }
      P[r] = (float)(tot > 0 ? s / tot : 0);
    }
  }
  ml_tensor_release(&dc); ml_tensor_release(&ic); ml_tensor_release(&yc);
  return rc;
}

int ml_knn_kneighbors(ml_ctx *ctx, ml_tensor *dist, ml_tensor *idx, const ml_tensor *train,
                      const ml_tensor *query, int64_t k, ml_knn_metric metric, double p) {
  int saved = ml_threads_push(ctx, (double)ml_numel(train) * (double)(query->ndim == 2 ? query->shape[0] : 1));
  return ml_threads_pop(ctx, saved, ml_knn_kneighbors_impl(ctx, dist, idx, train, query, k, metric, p));
}
