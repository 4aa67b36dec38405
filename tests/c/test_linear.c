/* test_linear.c - the linear-model and SVM runtime: LAPACK wrappers against
 * hand-checked systems, least squares and ridge on exact data, logistic
 * regression's gradient at its optimum, the SMO solver's KKT conditions, the
 * kernel cache, and argument errors. */
#include "ml.h"
#include "blas.h"
#include "estim/linear.h"
#include "estim/logistic.h"
#include "estim/svm.h"
#include "check.h"
#include <stdlib.h>
#include <string.h>

int main(void) {
  ml_ctx ctx;
  ml_ctx_init(&ctx);
  ml_set_threads(&ctx, 2);

  /* posv: [[4,2],[2,3]] x = [2,1] -> x = [0.5, 0] */
  double A[4] = {4, 2, 2, 3}, b[2] = {2, 1};
  CHECK(ml_posv(&ctx, 2, 1, A, b) == 0, "posv solves an SPD system");
  CHECK_NEAR(b[0], 0.5, 1e-12, "posv x0");
  CHECK_NEAR(b[1], 0.0, 1e-12, "posv x1");
  double S[4] = {1, 2, 2, 1}, c[2] = {1, 1};
  CHECK(ml_posv(&ctx, 2, 1, S, c) == 1, "posv reports an indefinite matrix");

  /* lstsq: minimum norm solution of x0 + x1 = 2 is (1, 1) */
  double M[2] = {1, 1}, r[2] = {2, 0}, sv[1];
  int rank = -1;
  CHECK(ml_lstsq(&ctx, 1, 2, 1, M, r, 2, 1e-12, &rank, sv) == ML_OK, "lstsq runs");
  CHECK(rank == 1, "lstsq rank 1");
  CHECK_NEAR(r[0], 1, 1e-12, "lstsq minimum norm x0");
  CHECK_NEAR(r[1], 1, 1e-12, "lstsq minimum norm x1");
  CHECK(ml_lstsq(&ctx, 2, 2, 1, M, r, 1, 1e-12, &rank, sv) == ML_ERR &&
        strstr(ctx.err, "lstsq: bad sizes"), "lstsq rejects ldb < max(m, n)");

  /* least squares recovers y = 3 x0 - 2 x1 + 0.5 exactly */
  enum { N = 50, Fd = 2 };
  float X[N * Fd], y[N], coef[Fd], icpt[1];
  for (int i = 0; i < N; i++) {
    X[i * 2] = (float)(i % 7) - 3;
    X[i * 2 + 1] = (float)((i * 5) % 11) / 4;
    y[i] = 3 * X[i * 2] - 2 * X[i * 2 + 1] + 0.5f;
  }
  CHECK(ml_linear_fit(&ctx, X, y, N, Fd, 1, true, coef, icpt, &rank) == ML_OK, "linear fit");
  CHECK_NEAR(coef[0], 3, 1e-5, "linear coef 0");
  CHECK_NEAR(coef[1], -2, 1e-5, "linear coef 1");
  CHECK_NEAR(icpt[0], 0.5, 1e-5, "linear intercept");
  CHECK(rank == 2, "linear rank");
  CHECK(ml_linear_fit(&ctx, X, y, 0, Fd, 1, true, coef, icpt, &rank) == ML_ERR &&
        strstr(ctx.err, "at least one sample"), "linear fit rejects empty data");

  /* ridge with a tiny alpha is least squares; a big one shrinks to zero */
  CHECK(ml_ridge_fit(&ctx, X, y, N, Fd, 1, 1e-9, true, coef, icpt) == ML_OK, "ridge fit");
  CHECK_NEAR(coef[0], 3, 1e-4, "ridge ~ least squares");
  CHECK(ml_ridge_fit(&ctx, X, y, N, Fd, 1, 1e9, true, coef, icpt) == ML_OK, "ridge big alpha");
  CHECK(fabs(coef[0]) < 1e-4 && fabs(coef[1]) < 1e-4, "ridge big alpha shrinks coefs");
  CHECK(ml_ridge_fit(&ctx, X, y, N, Fd, 1, -1, true, coef, icpt) == ML_ERR &&
        strstr(ctx.err, "alpha must be >= 0"), "ridge rejects negative alpha");

  /* logistic regression: at the optimum the gradient vanishes:
   * X^T (p - y) + w / C = 0 and sum(p - y) = 0 */
  int64_t yc[N];
  for (int i = 0; i < N; i++) yc[i] = (X[i * 2] + 0.3f * X[i * 2 + 1] + ((i % 3) - 1) > 0);
  ml_logreg_params lp = {1.0, true, true, 1000, 1e-10};
  float w[Fd], b0[1] = {0};
  memset(w, 0, sizeof w);
  int it = 0;
  bool conv = false;
  CHECK(ml_logreg_fit(&ctx, &lp, X, yc, NULL, N, Fd, 2, w, b0, &it, &conv) == ML_OK, "logreg fit");
  CHECK(conv, "logreg converged (%d iterations)", it);
  double g[Fd + 1] = {0};
  for (int i = 0; i < N; i++) {
    double z = w[0] * X[i * 2] + w[1] * X[i * 2 + 1] + b0[0], p = 1 / (1 + exp(-z));
    for (int j = 0; j < Fd; j++) g[j] += (p - yc[i]) * X[i * 2 + j];
    g[Fd] += p - yc[i];
  }
  CHECK(fabs(g[0] + w[0]) < 1e-4 && fabs(g[1] + w[1]) < 1e-4, "logreg gradient of w is zero");
  CHECK(fabs(g[Fd]) < 1e-4, "logreg gradient of the intercept is zero");
  lp.C = 0;
  CHECK(ml_logreg_fit(&ctx, &lp, X, yc, NULL, N, Fd, 2, w, b0, &it, &conv) == ML_ERR &&
        strstr(ctx.err, "C must be positive"), "logreg rejects C = 0");

  /* SMO: KKT conditions hold at the solution */
  int8_t ys[N];
  for (int i = 0; i < N; i++) ys[i] = yc[i] ? 1 : -1;
  ml_svm_solve_params sp = {{ML_KERNEL_RBF, 3, 0.5, 0}, 1.0, 1.0, 1e-6, 1 << 20, true, -1};
  double alpha[N], rho;
  int64_t iters;
  bool hit;
  CHECK(ml_svm_solve(&ctx, &sp, X, ys, N, Fd, alpha, &rho, &iters, &hit) == ML_OK, "smo solves");
  double ya = 0, worst = 0;
  for (int i = 0; i < N; i++) {
    ya += ys[i] * alpha[i];
    double f = -rho, xx = X[i * 2] * X[i * 2] + X[i * 2 + 1] * X[i * 2 + 1];
    for (int j = 0; j < N; j++) {
      double d = X[i * 2] * X[j * 2] + X[i * 2 + 1] * X[j * 2 + 1];
      double zz = X[j * 2] * X[j * 2] + X[j * 2 + 1] * X[j * 2 + 1];
      f += ys[j] * alpha[j] * ml_kernel_eval(&sp.kernel, d, xx, zz);
    }
    double m = ys[i] * f;   /* margin */
    double v = 0;
    if (alpha[i] <= 0) v = 1 - m;            /* needs m >= 1 */
    else if (alpha[i] >= 1) v = m - 1;       /* needs m <= 1 */
    else v = fabs(m - 1);                    /* free: m == 1 */
    if (v > worst) worst = v;
  }
  CHECK(fabs(ya) < 1e-9, "smo keeps sum y a = 0");
  CHECK(worst < 1e-4, "smo KKT violation %g", worst);
  /* the same answer without shrinking and with a tiny cache */
  double alpha2[N], rho2;
  sp.shrinking = false;
  sp.cache_bytes = 16;
  CHECK(ml_svm_solve(&ctx, &sp, X, ys, N, Fd, alpha2, &rho2, &iters, &hit) == ML_OK, "smo, small cache");
  double da = 0;
  for (int i = 0; i < N; i++) da = fmax(da, fabs(alpha[i] - alpha2[i]));
  CHECK(da < 1e-3 && fabs(rho - rho2) < 1e-3, "smo agrees without shrinking (%g)", da);

  /* the cache: rows persist, grow, and follow swaps */
  ml_svm_cache *cache = ml_svm_cache_new(4, 1 << 10);
  float *row;
  CHECK(ml_svm_cache_get(cache, 1, &row, 2) == 0, "cache miss fills from 0");
  row[0] = 10; row[1] = 11;
  CHECK(ml_svm_cache_get(cache, 1, &row, 4) == 2 && row[1] == 11, "cache grows a row");
  row[2] = 12; row[3] = 13;
  ml_svm_cache_swap(cache, 1, 3);
  CHECK(ml_svm_cache_get(cache, 3, &row, 4) == 4 && row[1] == 13 && row[3] == 11,
        "cache swap moves the row and swaps its entries");
  ml_svm_cache_free(cache);

  /* SVC one-vs-one on three blobs */
  enum { NB = 60 };
  float Xb[NB * 2];
  int64_t yb[NB];
  for (int i = 0; i < NB; i++) {
    int k = i % 3;
    yb[i] = k;
    Xb[i * 2] = (float)(k * 3 + 0.3 * ((i * 7) % 5 - 2));
    Xb[i * 2 + 1] = (float)((k == 1) * 3 + 0.3 * ((i * 3) % 5 - 2));
  }
  ml_svc_params svp = {{ML_KERNEL_RBF, 3, 0.5, 0}, 1.0, 1e-3, 10, true, false, -1, NULL, 0};
  ml_svc_model model;
  CHECK(ml_svc_fit(&ctx, &svp, Xb, yb, NB, 2, 3, &model) == ML_OK, "svc fit");
  int64_t tot = model.n_support[0] + model.n_support[1] + model.n_support[2];
  CHECK(tot == model.n_sv && model.n_sv > 0, "svc n_support sums to n_sv");
  double *dec = malloc(sizeof(double) * NB * 3);
  CHECK(ml_svc_decision(&ctx, &svp.kernel, model.sv, model.n_sv, 2, model.n_support, 3,
                        model.dual_coef, model.rho, Xb, NB, dec) == ML_OK, "svc decision");
  int right = 0;
  for (int i = 0; i < NB; i++) {
    int votes[3] = {0, 0, 0}, p = 0;
    for (int a = 0; a < 3; a++)
      for (int c2 = a + 1; c2 < 3; c2++, p++) votes[dec[i * 3 + p] > 0 ? a : c2]++;
    int best = 0;
    for (int k = 1; k < 3; k++) if (votes[k] > votes[best]) best = k;
    right += best == yb[i];
  }
  CHECK(right == NB, "svc separates three blobs (%d/%d)", right, NB);
  free(dec);
  ml_svc_model_free(&model);
  svp.C = -1;
  CHECK(ml_svc_fit(&ctx, &svp, Xb, yb, NB, 2, 3, &model) == ML_ERR &&
        strstr(ctx.err, "C must be positive"), "svc rejects C < 0");

  /* LinearSVC separates the blobs one-vs-rest along x0 for class 2 */
  ml_linsvc_params lsp = {1.0, 1e-4, true, true, 1.0, 1000, NULL, 1};
  float lc[3 * 2], li[3];
  int lit;
  bool lhit;
  CHECK(ml_linsvc_fit(&ctx, &lsp, Xb, yb, NB, 2, 3, lc, li, &lit, &lhit) == ML_OK, "linsvc fit");
  CHECK(lc[2 * 2] > 0, "linsvc: class 2 weights x0 positively");
  lsp.max_iter = 0;
  CHECK(ml_linsvc_fit(&ctx, &lsp, Xb, yb, NB, 2, 3, lc, li, &lit, &lhit) == ML_ERR &&
        strstr(ctx.err, "max_iter"), "linsvc rejects max_iter 0");

  ml_ctx_free(&ctx);
  return check_done();
}
