/* embed_misuse.c - the C API under misuse: NULL engines and arguments,
 * os.exit inside a script, and a borrowed pointer whose tensor Lua closes.
 * The host must survive every case (run under ASan by `make asan`). TAP. */
#include "mlrun.h"
#include <stdio.h>
#include <string.h>

static int n = 0, failed = 0;
#define CHECK(cond, ...) do { \
    int ok_ = (cond) ? 1 : 0; n++; \
    printf("%sok %d - ", ok_ ? "" : "not ", n); printf(__VA_ARGS__); printf("\n"); \
    if (!ok_) failed++; } while (0)

int main(void) {
  /* 1. every entry point with a NULL engine returns an error code */
  float buf[4] = {1, 2, 3, 4}, *p = NULL;
  int64_t shape[2] = {2, 2};
  int nd = 0;
  double v = 0;
  mlrun_value a = mlrun_number(1);
  CHECK(mlrun_set_threads(NULL, 0) == MLRUN_ERR, "set_threads(NULL)");
  CHECK(mlrun_set_threads(NULL, 2) == MLRUN_ERR, "set_threads(NULL, 2)");
  CHECK(mlrun_seed(NULL, 1) == MLRUN_ERR, "seed(NULL)");
  CHECK(mlrun_run_string(NULL, "x = 1", NULL) == MLRUN_ERR, "run_string(NULL)");
  CHECK(mlrun_run_file(NULL, "x.lua") == MLRUN_ERR, "run_file(NULL)");
  CHECK(mlrun_set_tensor(NULL, "x", buf, 2, shape) == MLRUN_ERR, "set_tensor(NULL)");
  CHECK(mlrun_set_number(NULL, "x", 1) == MLRUN_ERR, "set_number(NULL)");
  CHECK(mlrun_get_tensor(NULL, "x", buf, 4, &nd, shape) == MLRUN_ERR, "get_tensor(NULL)");
  CHECK(mlrun_borrow_tensor(NULL, "x", &p, &nd, shape) == MLRUN_ERR, "borrow_tensor(NULL)");
  CHECK(mlrun_release_tensor(NULL, "x") == MLRUN_ERR, "release_tensor(NULL)");
  CHECK(mlrun_get_number(NULL, "x", &v) == MLRUN_ERR, "get_number(NULL)");
  CHECK(mlrun_call(NULL, "print", &a, 1, NULL) == MLRUN_ERR, "call(NULL)");
  CHECK(strcmp(mlrun_error(NULL), "") == 0, "error(NULL) is empty");
  mlrun_close(NULL);
  CHECK(1, "close(NULL)");

  mlrun_engine *e = mlrun_open();
  CHECK(e != NULL, "open");
  if (!e) return 1;

  /* 2. NULL and nonsense arguments on a real engine */
  CHECK(mlrun_run_string(e, NULL, NULL) == MLRUN_ERR, "run_string(code NULL)");
  CHECK(mlrun_run_file(e, NULL) == MLRUN_ERR, "run_file(path NULL)");
  CHECK(mlrun_run_file(e, "/nonexistent/x.lua") == MLRUN_ERR, "run_file(missing)");
  CHECK(mlrun_set_tensor(e, NULL, buf, 2, shape) == MLRUN_ERR, "set_tensor(name NULL)");
  CHECK(mlrun_set_tensor(e, "x", NULL, 2, shape) == MLRUN_ERR, "set_tensor(data NULL)");
  CHECK(mlrun_set_tensor(e, "x", buf, 2, NULL) == MLRUN_ERR, "set_tensor(shape NULL)");
  CHECK(mlrun_set_tensor(e, "x", buf, 99, shape) == MLRUN_ERR, "set_tensor(ndim 99)");
  int64_t huge[3] = {0, (int64_t)1 << 62, (int64_t)1 << 62};
  CHECK(mlrun_set_tensor(e, "x", buf, 3, huge) == MLRUN_ERR, "set_tensor(0 x 2^62 x 2^62)");
  int64_t neg[2] = {-1, 4};
  CHECK(mlrun_set_tensor(e, "x", buf, 2, neg) == MLRUN_ERR, "set_tensor(negative)");
  CHECK(mlrun_get_tensor(e, NULL, buf, 4, &nd, shape) == MLRUN_ERR, "get_tensor(name NULL)");
  CHECK(mlrun_get_tensor(e, "nothing", buf, 4, &nd, shape) == MLRUN_ERR, "get_tensor(no global)");
  CHECK(mlrun_borrow_tensor(e, "x", NULL, &nd, shape) == MLRUN_ERR, "borrow(data NULL)");
  CHECK(mlrun_get_number(e, "x", NULL) == MLRUN_ERR, "get_number(v NULL)");
  CHECK(mlrun_call(e, NULL, &a, 1, NULL) == MLRUN_ERR, "call(fn NULL)");
  CHECK(mlrun_call(e, "print", NULL, 3, NULL) == MLRUN_ERR, "call(args NULL, nargs 3)");
  CHECK(mlrun_call(e, "print", &a, -1, NULL) == MLRUN_ERR, "call(nargs -1)");
  mlrun_value bad = {(mlrun_kind)99, 0, NULL, NULL, 0, NULL};
  CHECK(mlrun_call(e, "print", &bad, 1, NULL) == MLRUN_ERR, "call(unknown kind)");
  mlrun_value nulls = mlrun_string(NULL);
  CHECK(mlrun_call(e, "print", &nulls, 1, NULL) == MLRUN_ERR, "call(string NULL)");
  CHECK(mlrun_call(e, "no.such.fn", &a, 1, NULL) == MLRUN_ERR, "call(missing path)");
  CHECK(mlrun_set_threads(e, 0) == MLRUN_ERR && mlrun_set_threads(e, 2) == MLRUN_OK,
        "set_threads range");

  /* 3. os.exit does not end the host */
  int rc = mlrun_run_string(e, "os.exit(3)", "=exit");
  CHECK(rc == MLRUN_ERR && strstr(mlrun_error(e), "os.exit(3)"), "os.exit(3) is an error");
  rc = mlrun_run_string(e, "os.exit(true)", "=exit");
  CHECK(rc == MLRUN_ERR && strstr(mlrun_error(e), "os.exit(0)"), "os.exit(true) too");
  mlrun_value code = mlrun_number(1);
  CHECK(mlrun_call(e, "os.exit", &code, 1, NULL) == MLRUN_ERR, "calling os.exit through mlrun_call");
  CHECK(mlrun_run_string(e, "y = 41 + 1", NULL) == MLRUN_OK && mlrun_get_number(e, "y", &v) == MLRUN_OK
        && v == 42, "the engine still works after os.exit");

  /* 4. a borrowed pointer survives Lua closing and replacing the tensor */
  CHECK(mlrun_run_string(e, "w = ml.ones(256, 256)", NULL) == MLRUN_OK, "w = ones(256, 256)");
  float *wp = NULL;
  CHECK(mlrun_borrow_tensor(e, "w", &wp, &nd, shape) == MLRUN_OK && wp && nd == 2, "borrow w");
  CHECK(mlrun_run_string(e,
        "getmetatable(w).__close(w); w = nil; collectgarbage()\n"
        "z = ml.zeros(256, 256)", NULL) == MLRUN_OK, "Lua closes w, makes z of the same size");
  for (int i = 0; i < 256 * 256; i++) wp[i] = 7;       /* the host keeps writing */
  CHECK(mlrun_run_string(e, "zs = z:sum()", NULL) == MLRUN_OK &&
        mlrun_get_number(e, "zs", &v) == MLRUN_OK && v == 0,
        "z did not get the pinned storage (sum %g)", v);
  CHECK(wp[0] == 7 && wp[256 * 256 - 1] == 7, "the borrowed memory is still the host's to use");
  CHECK(mlrun_release_tensor(e, "w") == MLRUN_OK, "release w");
  CHECK(mlrun_release_tensor(e, "w") == MLRUN_OK, "releasing twice does nothing");
  CHECK(mlrun_run_string(e, "q = ml.ones(4); q2 = q", NULL) == MLRUN_OK, "q");
  float *q1 = NULL, *q2 = NULL;
  CHECK(mlrun_borrow_tensor(e, "q", &q1, &nd, shape) == MLRUN_OK &&
        mlrun_borrow_tensor(e, "q", &q2, &nd, shape) == MLRUN_OK && q1 == q2,
        "re-borrowing the same tensor gives the same pointer");
  mlrun_close(e);
  printf("1..%d\n", n);
  return failed != 0;
}
