/*
 * mlrun.h - embedding the mlrun engine in a C program.
 *
 * An engine is one Lua 5.4 state with the `ml` library loaded (as the global
 * `ml`) and its own tensor context: its own random generator, thread count,
 * memory accounting and error text. Engines share nothing, so a program may
 * open several and use them side by side (one thread per engine at a time).
 * This header needs no Lua header and hides every Lua type.
 *
 * A session:
 *
 *     mlrun_engine *e = mlrun_open();
 *     if (!e) { fputs("out of memory\n", stderr); return 1; }
 *     if (mlrun_run_string(e, "function scale(x, s) return x * s end", NULL) != MLRUN_OK)
 *       fprintf(stderr, "%s\n", mlrun_error(e));
 *
 *     float buf[6] = {1, 2, 3, 4, 5, 6};
 *     int64_t shape[2] = {2, 3};
 *     mlrun_value args[2] = {mlrun_tensor(buf, 2, shape), mlrun_number(10)};
 *     mlrun_call(e, "scale", args, 2, "y");          // y = scale(buf, 10)
 *
 *     float out[6]; int ndim; int64_t oshape[MLRUN_MAX_DIMS];
 *     mlrun_get_tensor(e, "y", out, 6, &ndim, oshape);   // copies y into out
 *     printf("%g\n", out[5]);                            // 60
 *     mlrun_close(e);
 *
 * Every function that can fail returns MLRUN_OK (0) or MLRUN_ERR (-1); after
 * MLRUN_ERR, mlrun_error(e) tells what went wrong (a Lua error carries its
 * message and a traceback). Nothing here exits or aborts the process:
 *  - every function given a NULL engine returns MLRUN_ERR (mlrun_close and
 *    mlrun_error accept NULL too); NULL names and buffers are errors;
 *  - os.exit inside an engine does not end the host: it raises a Lua error
 *    ("os.exit(N) called inside an embedded mlrun engine ..."), so the run
 *    or call returns MLRUN_ERR with that message (a script can still catch
 *    it with pcall, as any error).
 *
 * Tensors cross the boundary as float32, row-major (C order), with shapes of
 * up to MLRUN_MAX_DIMS int64_t sizes. Link with `pkg-config --cflags --libs
 * mlrun` (add --static for libmlrun.a).
 *
 * This is the whole public C API: the functions marked MLRUN_API are the
 * only symbols libmlrun.so exports (libmlrun.so.0, versioned MLRUN_0), and
 * the only header installed. The engine's own header, runtime/ml.h, is
 * internal: its structs change between releases.
 */
#ifndef MLRUN_H
#define MLRUN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the functions of this API: the library is built with
 * -fvisibility=hidden, so these are the only symbols libmlrun.so exports. */
#if defined(__GNUC__) || defined(__clang__)
#define MLRUN_API __attribute__((visibility("default")))
#else
#define MLRUN_API
#endif

#define MLRUN_OK 0
#define MLRUN_ERR (-1)
#define MLRUN_MAX_DIMS 8

/* The engine: opaque; create with mlrun_open, destroy with mlrun_close. */
typedef struct mlrun_engine mlrun_engine;

/* The version of the library, "MAJOR.MINOR.PATCH". */
MLRUN_API const char *mlrun_version(void);

/* Opens an engine: a fresh Lua state with the standard Lua libraries and
 * `ml` loaded. Threads default to $MLRUN_THREADS, else $OMP_NUM_THREADS,
 * else the number of cores; the random generator is seeded with 42.
 * Returns NULL only when memory runs out. */
MLRUN_API mlrun_engine *mlrun_open(void);

/* Closes the engine: every Lua value and tensor it holds is freed. Buffers
 * handed in with mlrun_set_tensor / mlrun_tensor are never freed (they stay
 * the caller's). e may be NULL. */
MLRUN_API void mlrun_close(mlrun_engine *e);

/* The message of the last failure in this engine, "" if none. The text stays
 * valid until the next call on this engine. */
MLRUN_API const char *mlrun_error(const mlrun_engine *e);

/* Threads for this engine's kernels and BLAS calls (1 to 1024). */
MLRUN_API int mlrun_set_threads(mlrun_engine *e, int n);
/* Seeds the engine's random generator (as ml.seed(seed)). */
MLRUN_API int mlrun_seed(mlrun_engine *e, uint64_t seed);

/* Runs Lua source text; `name` labels it in error messages (NULL: "=string"). */
MLRUN_API int mlrun_run_string(mlrun_engine *e, const char *code, const char *name);
/* Runs a Lua file. */
MLRUN_API int mlrun_run_file(mlrun_engine *e, const char *path);

/* Sets global `name` to a float32 tensor over the caller's buffer, without
 * copying: Lua reads and writes `data` directly (x:add_(1) in Lua changes
 * the caller's floats). data holds prod(shape) floats, row-major. The buffer
 * stays the caller's and must stay valid until mlrun_close(e), because Lua
 * values derived from the tensor (views, closures) may refer to it as long as
 * the engine lives. ndim is 0 .. MLRUN_MAX_DIMS. */
MLRUN_API int mlrun_set_tensor(mlrun_engine *e, const char *name, float *data, int ndim,
                     const int64_t *shape);
/* Sets global `name` to a number. */
MLRUN_API int mlrun_set_number(mlrun_engine *e, const char *name, double v);

/* Reads global `name`, which must be a tensor (any dtype; converted to
 * float32). Writes its rank to *ndim and its sizes to shape[0 .. ndim-1]
 * (shape has room for MLRUN_MAX_DIMS). When out is not NULL, copies the
 * elements row-major into out, which holds `capacity` floats; fails, copying
 * nothing, when the tensor has more elements than that. Call with out = NULL
 * to learn the shape first. */
MLRUN_API int mlrun_get_tensor(mlrun_engine *e, const char *name, float *out, size_t capacity,
                     int *ndim, int64_t *shape);
/* Like mlrun_get_tensor but lends a pointer to the engine's own row-major
 * float32 elements instead of copying. A tensor that is not already
 * contiguous float32 is converted once. The storage is pinned while lent:
 * the pointer stays valid until the same name is borrowed again,
 * mlrun_release_tensor(e, name) or mlrun_close(e), even if the global is
 * reassigned or closed in Lua meanwhile (its memory is not reused for
 * another tensor); writes through it reach the tensor. */
MLRUN_API int mlrun_borrow_tensor(mlrun_engine *e, const char *name, float **data, int *ndim,
                        int64_t *shape);
/* Ends the borrow of `name` early: the pointer it gave is invalid after this.
 * Releasing a name that is not borrowed does nothing. */
MLRUN_API int mlrun_release_tensor(mlrun_engine *e, const char *name);
/* Reads global `name` as a number (a number, or a one-element tensor). */
MLRUN_API int mlrun_get_number(mlrun_engine *e, const char *name, double *v);

/* An argument of mlrun_call. Build them with the helpers below. */
typedef enum {
  MLRUN_NUMBER,     /* .number */
  MLRUN_TENSOR,     /* .data, .ndim, .shape: wrapped without copying, as mlrun_set_tensor */
  MLRUN_STRING,     /* .string */
  MLRUN_GLOBAL      /* .string names a global whose value is passed (a tensor, a model...) */
} mlrun_kind;

typedef struct mlrun_value {
  mlrun_kind kind;
  double number;
  const char *string;
  float *data;
  int ndim;
  const int64_t *shape;
} mlrun_value;

static inline mlrun_value mlrun_number(double v) {
  mlrun_value a = {MLRUN_NUMBER, v, NULL, NULL, 0, NULL};
  return a;
}
static inline mlrun_value mlrun_tensor(float *data, int ndim, const int64_t *shape) {
  mlrun_value a = {MLRUN_TENSOR, 0, NULL, data, ndim, shape};
  return a;
}
static inline mlrun_value mlrun_string(const char *s) {
  mlrun_value a = {MLRUN_STRING, 0, s, NULL, 0, NULL};
  return a;
}
static inline mlrun_value mlrun_global(const char *name) {
  mlrun_value a = {MLRUN_GLOBAL, 0, name, NULL, 0, NULL};
  return a;
}

/* Calls the function `fn`, a global name or a dotted path ("ml.matmul",
 * "model.predict" calls model.predict(args...); use a wrapper function for
 * methods), with nargs arguments. Its first result is stored in global
 * `result` when result is not NULL (nil when the function returns nothing);
 * other results are dropped. Read it back with mlrun_get_tensor or
 * mlrun_get_number. */
MLRUN_API int mlrun_call(mlrun_engine *e, const char *fn, const mlrun_value *args, int nargs,
               const char *result);

#ifdef __cplusplus
}
#endif
#endif
