/* embed_example.c - a C program that embeds mlrun through mlrun.h only,
 * as a user would; prints TAP. Built by tests/run.sh against libmlrun.a and
 * by tests/embed/install_check.sh against an installed tree. */
#include "mlrun.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int n = 0, failed = 0;
#define CHECK(cond, ...) do { \
    int ok_ = (cond) ? 1 : 0; n++; \
    printf("%sok %d - ", ok_ ? "" : "not ", n); printf(__VA_ARGS__); printf("\n"); \
    if (!ok_) failed++; } while (0)

int main(void) {
  CHECK(strlen(mlrun_version()) >= 5, "version is %s", mlrun_version());
  mlrun_engine *e = mlrun_open();
  CHECK(e != NULL, "mlrun_open gives an engine");
  if (!e) return 1;

  /* run a string that defines a function */
  int rc = mlrun_run_string(e,
      "function affine(x, w, b) return ml.matmul(x, w) + b end\n"
      "function scale(x, s) return x * s end\n"
      "function fill_in_place(x) x:add_(1) end", "=setup");
  CHECK(rc == MLRUN_OK, "run_string defines functions (%s)", mlrun_error(e));

  /* wrap the caller's buffer: Lua writes reach it, no copy */
  float buf[6] = {1, 2, 3, 4, 5, 6};
  int64_t shape[2] = {2, 3};
  CHECK(mlrun_set_tensor(e, "x", buf, 2, shape) == MLRUN_OK, "set_tensor x (2x3)");
  CHECK(mlrun_run_string(e, "x[1][1] = 100", NULL) == MLRUN_OK, "Lua assigns into x");
  CHECK(buf[0] == 100, "the write reached the caller's buffer (buf[0] = %g)", buf[0]);
  mlrun_value arg1 = mlrun_global("x");
  CHECK(mlrun_call(e, "fill_in_place", &arg1, 1, NULL) == MLRUN_OK && buf[5] == 7,
        "in-place op on a global changes the buffer (buf[5] = %g)", buf[5]);

  /* call with tensor and number arguments, read the result back by copy */
  float w[3] = {1, 0, -1};
  int64_t wshape[2] = {3, 1};
  mlrun_value args[3] = {mlrun_global("x"), mlrun_tensor(w, 2, wshape), mlrun_number(0.5)};
  rc = mlrun_call(e, "affine", args, 3, "y");
  CHECK(rc == MLRUN_OK, "call affine(x, w, 0.5) (%s)", mlrun_error(e));
  float y[2] = {0, 0};
  int ndim = -1;
  int64_t yshape[MLRUN_MAX_DIMS];
  rc = mlrun_get_tensor(e, "y", y, 2, &ndim, yshape);
  CHECK(rc == MLRUN_OK && ndim == 2 && yshape[0] == 2 && yshape[1] == 1,
        "get_tensor y gives shape 2x1");
  /* x = {{101, 3, 4}, {5, 6, 7}}: rows . {1, 0, -1} + 0.5 */
  CHECK(fabsf(y[0] - 97.5f) < 1e-4 && fabsf(y[1] + 1.5f) < 1e-4, "y = {97.5, -1.5}, got {%g, %g}",
        y[0], y[1]);

  /* borrow: a pointer into the engine's tensor */
  float *p = NULL;
  rc = mlrun_borrow_tensor(e, "y", &p, &ndim, yshape);
  CHECK(rc == MLRUN_OK && p && p[0] == y[0], "borrow_tensor lends the elements");
  mlrun_run_string(e, "y = nil; collectgarbage()", NULL);
  CHECK(p[1] == y[1], "the borrowed pointer outlives the global");

  /* transposed (non-contiguous) and int64 tensors are converted on the way out */
  mlrun_run_string(e, "z = ml.arange(6):reshape(2, 3):t(); k = ml.tensor({7, 8}, 'int64')", NULL);
  float z[6];
  rc = mlrun_get_tensor(e, "z", z, 6, &ndim, yshape);
  CHECK(rc == MLRUN_OK && ndim == 2 && yshape[0] == 3 && z[1] == 3 && z[2] == 1,
        "a transposed view comes out row-major");
  rc = mlrun_get_tensor(e, "k", z, 6, &ndim, yshape);
  CHECK(rc == MLRUN_OK && z[0] == 7 && z[1] == 8, "an int64 tensor comes out as floats");

  /* run a file */
  char path[] = "/tmp/mlrun_embed_XXXXXX";
  int fd = mkstemp(path);
  FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (fp) {
    fputs("from_file = ml.arange(4):sum()\n", fp);
    fclose(fp);
  }
  double d = 0;
  CHECK(fp && mlrun_run_file(e, path) == MLRUN_OK && mlrun_get_number(e, "from_file", &d) == MLRUN_OK &&
        d == 6, "run_file runs a script (from_file = %g)", d);
  remove(path);

  /* numbers */
  mlrun_set_number(e, "n", 2.5);
  mlrun_run_string(e, "m = n * 2; s = ml.ones(3):sum()", NULL);
  CHECK(mlrun_get_number(e, "m", &d) == MLRUN_OK && d == 5, "numbers in and out");
  CHECK(mlrun_get_number(e, "s", &d) == MLRUN_OK && d == 3, "a sum comes back as a number");
  mlrun_value sc[2] = {mlrun_tensor(buf, 1, shape), mlrun_number(3)};
  CHECK(mlrun_call(e, "ml.ones", sc + 1, 1, "o") == MLRUN_OK &&
        mlrun_get_tensor(e, "o", NULL, 0, &ndim, yshape) == MLRUN_OK && ndim == 1 &&
        yshape[0] == 3, "dotted function names (ml.ones) and shape-only reads");

  /* errors are messages, never crashes */
  rc = mlrun_run_string(e, "error('boom')", "=user");
  CHECK(rc == MLRUN_ERR && strstr(mlrun_error(e), "boom") && strstr(mlrun_error(e), "traceback"),
        "a Lua error gives MLRUN_ERR and a message with a traceback");
  rc = mlrun_run_string(e, "local x = ", NULL);
  CHECK(rc == MLRUN_ERR && strlen(mlrun_error(e)) > 0, "syntax error reported: %s",
        mlrun_error(e));
  rc = mlrun_call(e, "nosuch", NULL, 0, NULL);
  CHECK(rc == MLRUN_ERR && strstr(mlrun_error(e), "nosuch"), "calling a missing function");
  rc = mlrun_get_tensor(e, "m", z, 6, &ndim, yshape);
  CHECK(rc == MLRUN_ERR && strstr(mlrun_error(e), "expected ml.Tensor"),
        "reading a number as a tensor: %s", mlrun_error(e));
  rc = mlrun_get_tensor(e, "x", z, 2, &ndim, yshape);
  CHECK(rc == MLRUN_ERR && strstr(mlrun_error(e), "buffer holds 2"),
        "a too small output buffer is refused");
  int64_t badshape[1] = {-3};
  rc = mlrun_set_tensor(e, "bad", buf, 1, badshape);
  CHECK(rc == MLRUN_ERR && strstr(mlrun_error(e), "negative"), "negative sizes are refused");
  rc = mlrun_set_tensor(e, "bad", buf, 99, shape);
  CHECK(rc == MLRUN_ERR, "too many dimensions are refused");
  rc = mlrun_run_file(e, "/nonexistent/file.lua");
  CHECK(rc == MLRUN_ERR && strstr(mlrun_error(e), "nonexistent"), "a missing file");
  rc = mlrun_run_string(e, "ok_after_error = true", NULL);
  CHECK(rc == MLRUN_OK && mlrun_error(e)[0] == 0, "the engine works after errors");

  /* two engines do not interfere */
  mlrun_engine *f = mlrun_open();
  CHECK(f != NULL, "a second engine opens");
  mlrun_seed(e, 7);
  mlrun_seed(f, 7);
  mlrun_set_threads(e, 1);
  mlrun_set_threads(f, 2);
  mlrun_run_string(e, "r = ml.rand(4)", NULL);
  mlrun_run_string(f, "r = ml.rand(4); x = nil", NULL);
  float r1[4], r2[4];
  mlrun_get_tensor(e, "r", r1, 4, &ndim, yshape);
  mlrun_get_tensor(f, "r", r2, 4, &ndim, yshape);
  CHECK(memcmp(r1, r2, sizeof r1) == 0, "the same seed gives the same numbers in each engine");
  mlrun_run_string(e, "r = ml.rand(4)", NULL);   /* advances e's generator only */
  mlrun_run_string(f, "r = ml.rand(4)", NULL);
  mlrun_get_tensor(e, "r", r1, 4, &ndim, yshape);
  mlrun_get_tensor(f, "r", r2, 4, &ndim, yshape);
  CHECK(memcmp(r1, r2, sizeof r1) == 0, "generators advance independently");
  CHECK(mlrun_get_tensor(f, "x", z, 6, &ndim, yshape) == MLRUN_ERR &&
        mlrun_get_tensor(e, "x", z, 6, &ndim, yshape) == MLRUN_OK,
        "globals are per engine");
  double t1 = 0, t2 = 0;
  mlrun_run_string(e, "th = ml.get_num_threads()", NULL);
  mlrun_run_string(f, "th = ml.get_num_threads()", NULL);
  mlrun_get_number(e, "th", &t1);
  mlrun_get_number(f, "th", &t2);
  CHECK(t1 == 1 && t2 == 2, "thread counts are per engine (%g, %g)", t1, t2);
  mlrun_run_string(f, "error('only f')", NULL);
  CHECK(mlrun_error(e)[0] == 0 && strstr(mlrun_error(f), "only f"), "errors are per engine");
  mlrun_close(f);
  CHECK(mlrun_run_string(e, "assert(ml.ones(2):sum() == 2)", NULL) == MLRUN_OK,
        "closing one engine leaves the other working");
  CHECK(mlrun_set_threads(e, 0) == MLRUN_ERR, "set_threads refuses 0");
  mlrun_close(e);
  mlrun_close(NULL);
  printf("1..%d\n", n);
  return failed ? 1 : 0;
}
