/* test_cluster.c - the runtime side of neighbours, k-means, PCA/SVD, NMF and
 * Gaussian naive Bayes: each fast path against a plain reference, plus the
 * error reports for bad arguments. */
#include "check.h"
#include "ml.h"
#include "blas.h"
#include "estim/knn.h"
#include "estim/kmeans.h"
#include "estim/pca.h"
#include "estim/nmf.h"
#include "estim/naive_bayes.h"
#include <stdlib.h>
#include <string.h>

static ml_ctx ctx;

static ml_tensor mat(int64_t r, int64_t c) {
  ml_tensor t;
  int64_t s[2] = {r, c};
  ml_tensor_new(&ctx, &t, ML_F32, 2, s, false);
  return t;
}

static void fill_randn(ml_tensor *t, ml_rng *g) {
  float *p = ml_f32(t);
  for (int64_t i = 0; i < ml_numel(t); i++) p[i] = (float)ml_rng_normal(g);
}

static void test_knn(void) {
  ml_rng g;
  ml_rng_seed(&g, 1);
  ml_tensor T = mat(600, 12), Q = mat(300, 12), D, I;
  fill_randn(&T, &g); fill_randn(&Q, &g);
  ctx.threads = 2;
  CHECK(ml_knn_kneighbors(&ctx, &D, &I, &T, &Q, 7, ML_KNN_EUCLIDEAN, 2) == ML_OK, "kneighbors runs");
  /* brute force in double for every query */
  int bad = 0, unsorted = 0;
  const float *t = ml_f32(&T), *q = ml_f32(&Q);
  for (int r = 0; r < 300; r++) {
    double best[7];
    int64_t bi[7];
    for (int c = 0; c < 7; c++) { best[c] = 1e300; bi[c] = -1; }
    for (int j = 0; j < 600; j++) {
      double s = 0;
      for (int c = 0; c < 12; c++) { double e = (double)q[r * 12 + c] - t[j * 12 + c]; s += e * e; }
      int pos = 7;
      while (pos > 0 && best[pos - 1] > s) pos--;
      if (pos >= 7) continue;
      for (int c = 6; c > pos; c--) { best[c] = best[c - 1]; bi[c] = bi[c - 1]; }
      best[pos] = s; bi[pos] = j;
    }
    for (int c = 0; c < 7; c++) {
      if (ml_i64(&I)[r * 7 + c] != bi[c]) bad++;
      if (fabs(ml_f32(&D)[r * 7 + c] - sqrt(best[c])) > 1e-5) bad++;
      if (c && ml_f32(&D)[r * 7 + c] < ml_f32(&D)[r * 7 + c - 1]) unsorted++;
    }
  }
  CHECK(bad == 0, "SGEMM-blocked neighbours equal the double brute force (%d off)", bad);
  CHECK(unsorted == 0, "neighbours come nearest first");
  ml_tensor D1, I1;
  ml_knn_kneighbors(&ctx, &D1, &I1, &T, &Q, 7, ML_KNN_MINKOWSKI, 2.0);
  CHECK(memcmp(ml_i64(&I), ml_i64(&I1), 8 * 300 * 7) == 0, "minkowski p=2 is euclidean");
  ml_tensor D2, I2;
  ml_knn_kneighbors(&ctx, &D2, &I2, &T, &Q, 3, ML_KNN_MINKOWSKI, 1.0);
  double l1 = 0;
  for (int c = 0; c < 12; c++) l1 += fabs((double)q[c] - t[ml_i64(&I2)[0] * 12 + c]);
  CHECK_NEAR(ml_f32(&D2)[0], l1, 1e-4, "minkowski p=1 gives L1 distances");
  /* votes */
  ml_tensor y, P;
  int64_t n = 600;
  ml_tensor_new(&ctx, &y, ML_I64, 1, &n, false);
  for (int j = 0; j < 600; j++) ml_i64(&y)[j] = j % 3;
  CHECK(ml_knn_vote(&ctx, &P, &D, &I, &y, 3, false) == ML_OK, "vote runs");
  double s = 0;
  for (int c = 0; c < 3; c++) s += ml_f32(&P)[c];
  CHECK_NEAR(s, 1.0, 1e-6, "probabilities sum to 1");
  /* errors */
  ml_tensor E = mat(5, 4), Dx, Ix;
  CHECK(ml_knn_kneighbors(&ctx, &Dx, &Ix, &T, &E, 3, ML_KNN_EUCLIDEAN, 2) == ML_ERR &&
        strstr(ctx.err, "features") != NULL, "feature mismatch is reported: %s", ctx.err);
  CHECK(ml_knn_kneighbors(&ctx, &Dx, &Ix, &T, &Q, 601, ML_KNN_EUCLIDEAN, 2) == ML_ERR,
        "k above the training rows is reported: %s", ctx.err);
  CHECK(ml_knn_vote(&ctx, &Dx, &D, &I, &y, 2, false) == ML_ERR, "class id out of range: %s", ctx.err);
  ml_tensor_release(&T); ml_tensor_release(&Q); ml_tensor_release(&D); ml_tensor_release(&I);
  ml_tensor_release(&D1); ml_tensor_release(&I1); ml_tensor_release(&D2); ml_tensor_release(&I2);
  ml_tensor_release(&y); ml_tensor_release(&P); ml_tensor_release(&E);
}

static void test_kmeans(void) {
  ml_rng g;
  ml_rng_seed(&g, 2);
  /* four tight groups far apart, 2000 points in 30 dims */
  ml_tensor X = mat(2000, 30), C, L;
  float *x = ml_f32(&X);
  for (int i = 0; i < 2000; i++)
    for (int j = 0; j < 30; j++) x[i * 30 + j] = (float)(0.1 * ml_rng_normal(&g) + ((i % 4) == j % 4 ? 10 : 0));
  ml_kmeans_params p = {4, 3, 300, 1e-4, ML_KMEANS_PLUSPLUS, 7};
  double inertia;
  int it;
  ctx.threads = 2;
  CHECK(ml_kmeans_fit(&ctx, &C, &L, &inertia, &it, &X, &p, NULL) == ML_OK, "kmeans runs");
  int mixed = 0;
  for (int i = 4; i < 2000; i++) if (ml_i64(&L)[i] != ml_i64(&L)[i % 4]) mixed++;
  CHECK(mixed == 0, "k-means++ separates the groups");
  double ref = 0;
  for (int i = 0; i < 2000; i++)
    for (int j = 0; j < 30; j++) {
      double e = x[i * 30 + j] - ml_f32(&C)[ml_i64(&L)[i] * 30 + j];
      ref += e * e;
    }
  CHECK_NEAR(inertia, ref, 1e-6 * ref, "inertia is the summed squared distance");
  ml_tensor L2, M2;
  CHECK(ml_kmeans_assign(&ctx, &L2, &M2, &X, &C) == ML_OK &&
        memcmp(ml_i64(&L), ml_i64(&L2), 8 * 2000) == 0, "assign agrees with fit's labels");
  ctx.threads = 1;
  ml_tensor C1, L1;
  double in1;
  ml_kmeans_fit(&ctx, &C1, &L1, &in1, &it, &X, &p, NULL);
  CHECK_NEAR(in1, inertia, 1e-6 * inertia, "one thread and two give the same fit");
  /* mostly-zero data (the compressed-row path): 4 groups on disjoint columns */
  ml_tensor S = mat(1000, 200), CS, LS;
  float *sx = ml_f32(&S);
  for (int i = 0; i < 1000; i++)
    for (int j = 0; j < 200; j++)
      sx[i * 200 + j] = (j / 50 == i % 4 && ml_rng_uniform(&g) < 0.4) ? (float)(1 + ml_rng_uniform(&g)) : 0;
  ml_kmeans_params ps = {4, 2, 300, 1e-4, ML_KMEANS_PLUSPLUS, 3};
  double ins;
  ctx.threads = 2;
  CHECK(ml_kmeans_fit(&ctx, &CS, &LS, &ins, &it, &S, &ps, NULL) == ML_OK, "sparse-path kmeans runs");
  int smix = 0;
  for (int i = 4; i < 1000; i++) if (ml_i64(&LS)[i] != ml_i64(&LS)[i % 4]) smix++;
  CHECK(smix == 0, "sparse path separates the groups (%d mixed)", smix);
  double sref = 0;
  for (int i = 0; i < 1000; i++)
    for (int j = 0; j < 200; j++) {
      double e = sx[i * 200 + j] - ml_f32(&CS)[ml_i64(&LS)[i] * 200 + j];
      sref += e * e;
    }
  CHECK_NEAR(ins, sref, 1e-6 * sref, "sparse path inertia is exact");
  ml_tensor_release(&S); ml_tensor_release(&CS); ml_tensor_release(&LS);
  p.n_clusters = 0;
  CHECK(ml_kmeans_check(&p) != NULL, "n_clusters = 0 is refused");
  p.n_clusters = 5000;
  CHECK(ml_kmeans_fit(&ctx, &C1, &L1, &in1, &it, &X, &p, NULL) == ML_ERR, "k > n: %s", ctx.err);
  ml_tensor_release(&X); ml_tensor_release(&C); ml_tensor_release(&L); ml_tensor_release(&L2);
  ml_tensor_release(&M2); ml_tensor_release(&C1); ml_tensor_release(&L1);
}

static void test_svd(void) {
  ml_rng g;
  ml_rng_seed(&g, 3);
  int n = 2500, p = 150, k = 6;
  double *a = malloc(sizeof(double) * n * p), *u1 = malloc(sizeof(double) * n * k),
         *u2 = malloc(sizeof(double) * n * k), *s1 = malloc(8 * k), *s2 = malloc(8 * k),
         *s3 = malloc(8 * k), *v1 = malloc(8 * k * p), *v2 = malloc(8 * k * p), *v3 = malloc(8 * k * p);
  float *af = malloc(4 * n * p), *u3 = malloc(4 * n * k);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < p; j++) { a[i * p + j] = ml_rng_normal(&g) * (1.0 + 20.0 / (j + 1)); af[i * p + j] = (float)a[i * p + j]; }
  ctx.threads = 2;
  CHECK(ml_svd_truncated(&ctx, a, n, p, k, ML_PCA_FULL, u1, s1, v1) == ML_OK, "gesdd route");
  CHECK(ml_svd_truncated(&ctx, a, n, p, k, ML_PCA_COVARIANCE_EIGH, u2, s2, v2) == ML_OK, "Gram route");
  CHECK(ml_svd_truncated_f(&ctx, af, n, p, k, s3, v3, u3) == ML_OK, "float Gram route");
  double ds = 0, dv = 0, dv3 = 0, du = 0;
  for (int j = 0; j < k; j++) {
    ds = fmax(ds, fabs(s1[j] - s2[j]) / s1[j]);
    ds = fmax(ds, fabs(s1[j] - s3[j]) / s1[j]);
  }
  for (int e = 0; e < k * p; e++) { dv = fmax(dv, fabs(v1[e] - v2[e])); dv3 = fmax(dv3, fabs(v1[e] - v3[e])); }
  for (int e = 0; e < n * k; e++) du = fmax(du, fabs(u1[e] - u2[e]));
  CHECK(ds < 1e-5, "singular values agree (%.2e)", ds);
  CHECK(dv < 1e-6 && du < 1e-6, "double routes agree with signs flipped alike (%.2e, %.2e)", dv, du);
  CHECK(dv3 < 1e-3, "float Gram route agrees (%.2e)", dv3);
  /* wide matrix through the n x n Gram */
  CHECK(ml_svd_truncated(&ctx, a, 40, p, 5, ML_PCA_COVARIANCE_EIGH, u2, s2, v2) == ML_OK &&
        ml_svd_truncated(&ctx, a, 40, p, 5, ML_PCA_FULL, u1, s1, v1) == ML_OK, "wide routes run");
  double dw = 0;
  for (int e = 0; e < 5 * p; e++) dw = fmax(dw, fabs(v1[e] - v2[e]));
  CHECK(dw < 1e-6, "wide routes agree (%.2e)", dw);
  CHECK(ml_svd_truncated(&ctx, a, n, p, p + 1, ML_PCA_FULL, u1, s1, v1) == ML_ERR, "k too big: %s", ctx.err);
  free(a); free(u1); free(u2); free(s1); free(s2); free(s3); free(v1); free(v2); free(v3); free(af); free(u3);
}

static void test_pca(void) {
  ml_tensor X = mat(4, 2), m, c, ev, sv;
  float d[8] = {0, 0, 2, 2, 4, 4, 6, 6.5f};
  memcpy(ml_f32(&X), d, sizeof d);
  double tot;
  CHECK(ml_pca_fit(&ctx, &m, &c, &ev, &sv, &tot, NULL, &X, 1, ML_PCA_AUTO) == ML_OK, "pca runs");
  CHECK(ml_f32(&c)[0] > 0 && ml_f32(&c)[1] > 0, "first component along the diagonal");
  CHECK(ml_f32(&ev)[0] <= tot && ml_f32(&ev)[0] > 0.99 * tot, "it carries almost all variance");
  ml_tensor_release(&m); ml_tensor_release(&c); ml_tensor_release(&ev); ml_tensor_release(&sv);
  CHECK(ml_pca_fit(&ctx, &m, &c, &ev, &sv, &tot, NULL, &X, 3, ML_PCA_AUTO) == ML_ERR,
        "too many components: %s", ctx.err);
  ml_f32(&X)[3] = NAN;
  CHECK(ml_pca_fit(&ctx, &m, &c, &ev, &sv, &tot, NULL, &X, 1, ML_PCA_AUTO) == ML_ERR,
        "NaN is reported: %s", ctx.err);
  ml_tensor_release(&X);
}

static void test_nmf(void) {
  ml_rng g;
  ml_rng_seed(&g, 4);
  /* a sparse non-negative 500 x 250 matrix (10% non-zeros) */
  ml_tensor X = mat(500, 250);
  float *x = ml_f32(&X);
  for (int e = 0; e < 500 * 250; e++) x[e] = ml_rng_uniform(&g) < 0.1 ? (float)ml_rng_uniform(&g) : 0;
  ml_tensor W1, H1, W2, H2;
  ctx.threads = 2;
  CHECK(ml_nmf_init_wh(&ctx, &W1, &H1, &X, 8, ML_NMF_NNDSVDA, 0) == ML_OK, "nndsvda init");
  ml_clone(&ctx, &W2, &W1);
  ml_clone(&ctx, &H2, &H1);
  double e0, e1, e2;
  ml_nmf_error(&ctx, &e0, &X, &W1, &H1);
  ml_nmf_params p = {ML_NMF_CD, 1e-4, 50, 0, 0, 0, 0, true, 1};
  int it1, it2;
  CHECK(ml_nmf_solve(&ctx, &W1, &H1, &X, &p, &it1) == ML_OK, "cd with sparse products");
  p.sparse = -1;
  CHECK(ml_nmf_solve(&ctx, &W2, &H2, &X, &p, &it2) == ML_OK, "cd with dense products");
  ml_nmf_error(&ctx, &e1, &X, &W1, &H1);
  ml_nmf_error(&ctx, &e2, &X, &W2, &H2);
  CHECK(e1 < e0, "the error falls (%g -> %g)", e0, e1);
  CHECK(fabs(e1 - e2) < 1e-3 * e2 && it1 == it2, "sparse and dense products agree (%g, %g)", e1, e2);
  p.solver = ML_NMF_MU; p.sparse = 1;
  ml_tensor W3, H3;
  ml_nmf_init_wh(&ctx, &W3, &H3, &X, 8, ML_NMF_NNDSVDA, 0);
  CHECK(ml_nmf_solve(&ctx, &W3, &H3, &X, &p, &it1) == ML_OK, "mu with sparse products");
  double e3;
  ml_nmf_error(&ctx, &e3, &X, &W3, &H3);
  CHECK(e3 < e0, "mu lowers the error (%g -> %g)", e0, e3);
  x[7] = -1;
  CHECK(ml_nmf_solve(&ctx, &W1, &H1, &X, &p, &it1) == ML_ERR && strstr(ctx.err, "negative"),
        "negative input is reported: %s", ctx.err);
  ml_tensor_release(&X); ml_tensor_release(&W1); ml_tensor_release(&H1); ml_tensor_release(&W2);
  ml_tensor_release(&H2); ml_tensor_release(&W3); ml_tensor_release(&H3);
}

static void test_gnb(void) {
  ml_tensor X = mat(6, 1), th, var, cnt, jll, lp;
  float d[6] = {0, 1, 2, 10, 11, 12};
  memcpy(ml_f32(&X), d, sizeof d);
  ml_tensor y;
  int64_t n = 6;
  ml_tensor_new(&ctx, &y, ML_I64, 1, &n, false);
  for (int i = 0; i < 6; i++) ml_i64(&y)[i] = i / 3;
  double eps;
  CHECK(ml_gnb_fit(&ctx, &th, &var, &cnt, &eps, &X, &y, 2, 1e-9) == ML_OK, "gnb fit");
  CHECK_NEAR(ml_f32(&th)[1], 11, 1e-6, "class mean");
  CHECK_NEAR(ml_f32(&var)[0], 2.0 / 3 + eps, 1e-6, "class variance (ddof 0) + epsilon");
  CHECK_NEAR(eps, 1e-9 * 25.6666667, 1e-12, "epsilon from the largest variance");
  ml_tensor_release(&cnt);
  ml_tensor lprior;
  int64_t two = 2;
  ml_tensor_new(&ctx, &lprior, ML_F32, 1, &two, false);
  ml_f32(&lprior)[0] = ml_f32(&lprior)[1] = (float)log(0.5);
  CHECK(ml_gnb_jll(&ctx, &jll, &lp, &X, &th, &var, &lprior) == ML_OK, "jll");
  double s = exp(ml_f32(&lp)[0]) + exp(ml_f32(&lp)[1]);
  CHECK_NEAR(s, 1, 1e-6, "log probabilities normalise");
  CHECK(ml_f32(&lp)[0] > ml_f32(&lp)[1], "x = 0 belongs to class 0");
  ml_i64(&y)[2] = 5;
  CHECK(ml_gnb_fit(&ctx, &th, &var, &cnt, &eps, &X, &y, 2, 1e-9) == ML_ERR, "bad class id: %s", ctx.err);
  ml_tensor_release(&X); ml_tensor_release(&y); ml_tensor_release(&jll); ml_tensor_release(&lp);
  ml_tensor_release(&lprior); ml_tensor_release(&th); ml_tensor_release(&var);
}

int main(void) {
  ml_ctx_init(&ctx);
  test_knn();
  test_kmeans();
  test_svd();
  test_pca();
  test_nmf();
  test_gnb();
  ml_ctx_free(&ctx);
  return check_done();
}
