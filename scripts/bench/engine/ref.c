/* ref.c - the baselines of the engine benchmark: cblas_sgemm called
 * directly, and a plain C loop for d = a * b + c. Prints "key value" lines
 * read by engine.sh. Usage: ref THREADS */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Best of `reps` timings of one sgemm n x n x n. */
static double sgemm_best(int n, int reps) {
  float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
        *c = malloc(sizeof(float) * n * n);
  for (int i = 0; i < n * n; i++) { a[i] = (float)(i % 7) * 0.1f; b[i] = (float)(i % 5) * 0.2f; c[i] = 0; }
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    double t = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    t = now() - t;
    if (t < best) best = t;
  }
  free(a); free(b); free(c);
  return best;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  openblas_set_num_threads(threads);
  int sizes[3] = {64, 256, 1024}, reps[3] = {400, 100, 16};
  for (int i = 0; i < 3; i++) {
    int n = sizes[i];
    double t = sgemm_best(n, reps[i]);
    printf("sgemm_%d %.3f\n", n, 2.0 * n * n * n / t * 1e-9);
  }
  /* d = a * b + c over 1e7 floats, one plain loop, one thread, buffers
   * touched beforehand (no page faults in the timing) */
  const long N = 10000000;
  float *a = malloc(sizeof(float) * N), *b = malloc(sizeof(float) * N),
        *c = malloc(sizeof(float) * N), *d = malloc(sizeof(float) * N);
  for (long i = 0; i < N; i++) { a[i] = (float)i; b[i] = 0.5f; c[i] = 1; d[i] = 0; }
  double best = 1e30;
  for (int r = 0; r < 30; r++) {
    double t = now();
    for (long i = 0; i < N; i++) d[i] = a[i] * b[i] + c[i];
    t = now() - t;
    if (t < best) best = t;
  }
  printf("axpb_ms %.3f\n", best * 1e3);
  printf("check %.1f\n", (double)d[N - 1]);
  free(a); free(b); free(c); free(d);
  return 0;
}
