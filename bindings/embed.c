/* embed.c - the embedding C API of mlrun.h over one Lua state per engine.
 * Every step that touches Lua runs inside lua_pcall, so a Lua error (or a
 * memory error) becomes MLRUN_ERR plus a message, never a longjmp out. */
#include "mlrun.h"
#include "mlb.h"
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int luaopen_ml(lua_State *L);

struct mlrun_engine {
  lua_State *L;
  char *err;          /* last error, malloc'ed; NULL means none */
};

static const char borrowed_key = 0;   /* registry: name -> pin of the tensor lent by borrow */

/* Every entry point starts with this: a NULL engine is an error code, never
 * a crash (there is no engine to hold a message; mlrun_error(NULL) is ""). */
#define CHECK_ENGINE(e) do { if (!(e) || !(e)->L) return MLRUN_ERR; } while (0)

const char *mlrun_version(void) { return ML_VERSION; }

static int set_err(mlrun_engine *e, const char *msg) {
  free(e->err);
  e->err = strdup(msg ? msg : "(error object is not a string)");
  return MLRUN_ERR;
}

static int errorf(mlrun_engine *e, const char *fmt, const char *arg) {
  char buf[512];
  snprintf(buf, sizeof buf, fmt, arg);
  return set_err(e, buf);
}

/* Runs f(L) with ud as its one light-userdata argument, protected. */
static int protect(mlrun_engine *e, lua_CFunction f, void *ud) {
  lua_State *L = e->L;
  int top = lua_gettop(L);
  lua_pushcfunction(L, mlb_msghandler);
  lua_pushcfunction(L, f);
  lua_pushlightuserdata(L, ud);
  int rc = lua_pcall(L, 1, 0, top + 1);
  if (rc != LUA_OK) set_err(e, lua_tostring(L, -1));
  else { free(e->err); e->err = NULL; }
  lua_settop(L, top);
  return rc == LUA_OK ? MLRUN_OK : MLRUN_ERR;
}

/* os.exit inside an engine would end the host program: it raises an error
 * instead, which ends the script (unless the script catches it) and comes
 * back to the host as MLRUN_ERR with this message. */
static int embedded_exit(lua_State *L) {
  int code = lua_isboolean(L, 1) ? (lua_toboolean(L, 1) ? 0 : 1) : (int)luaL_optinteger(L, 1, 0);
  return luaL_error(L, "os.exit(%d) called inside an embedded mlrun engine: the host "
                    "program keeps running (mlrun.h, mlrun_run_string)", code);
}

static int p_open(lua_State *L) {
  (void)lua_touserdata(L, 1);
  luaL_openlibs(L);
  lua_getglobal(L, "os");
  lua_pushcfunction(L, embedded_exit);
  lua_setfield(L, -2, "exit");
  lua_pop(L, 1);
  luaL_requiref(L, "ml", luaopen_ml, 1);
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &borrowed_key);
  return 0;
}

mlrun_engine *mlrun_open(void) {
  mlrun_engine *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  e->L = luaL_newstate();
  if (!e->L) { free(e); return NULL; }
  if (protect(e, p_open, NULL) != MLRUN_OK) {   /* only out of memory gets here */
    mlrun_close(e);
    return NULL;
  }
  return e;
}

void mlrun_close(mlrun_engine *e) {
  if (!e) return;
  if (e->L) lua_close(e->L);
  free(e->err);
  free(e);
}

const char *mlrun_error(const mlrun_engine *e) { return e && e->err ? e->err : ""; }

/* ---- running code ---- */

typedef struct { const char *code, *name, *path; } run_args;

static int p_run(lua_State *L) {
  run_args *a = (run_args *)lua_touserdata(L, 1);
  int rc = a->path ? luaL_loadfile(L, a->path)
                   : luaL_loadbuffer(L, a->code, strlen(a->code), a->name ? a->name : "=string");
  if (rc != LUA_OK) return lua_error(L);
  lua_call(L, 0, 0);
  return 0;
}

int mlrun_run_string(mlrun_engine *e, const char *code, const char *name) {
  CHECK_ENGINE(e);
  if (!code) return set_err(e, "mlrun_run_string: code is NULL");
  run_args a = {code, name, NULL};
  return protect(e, p_run, &a);
}

int mlrun_run_file(mlrun_engine *e, const char *path) {
  CHECK_ENGINE(e);
  if (!path) return set_err(e, "mlrun_run_file: path is NULL");
  run_args a = {NULL, NULL, path};
  return protect(e, p_run, &a);
}

/* ---- settings ---- */

typedef struct { int threads; uint64_t seed; int which; } setting;

static int p_setting(lua_State *L) {
  setting *s = (setting *)lua_touserdata(L, 1);
  ml_ctx *ctx = mlb_ctx(L);
  if (s->which == 0) ml_set_threads(ctx, s->threads);
  else ml_rng_seed(&ctx->rng, s->seed);
  return 0;
}

int mlrun_set_threads(mlrun_engine *e, int n) {
  CHECK_ENGINE(e);
  if (n < 1 || n > 1024) {
    char buf[32];
    snprintf(buf, sizeof buf, "%d", n);
    return errorf(e, "mlrun_set_threads: expected 1 to 1024 threads, got %s", buf);
  }
  setting s = {n, 0, 0};
  return protect(e, p_setting, &s);
}

int mlrun_seed(mlrun_engine *e, uint64_t seed) {
  CHECK_ENGINE(e);
  setting s = {0, seed, 1};
  return protect(e, p_setting, &s);
}

/* ---- values in ---- */

/* Pushes a tensor over the caller's buffer (no copy, never freed by us). */
static void push_wrapped(lua_State *L, float *data, int ndim, const int64_t *shape) {
  if (ndim < 0 || ndim > MLRUN_MAX_DIMS)
    luaL_error(L, "tensor: expected 0 to %d dimensions, got %d", MLRUN_MAX_DIMS, ndim);
  if (ndim > 0 && !shape) luaL_error(L, "tensor: shape is NULL for %d dimensions", ndim);
  ml_tensor t;
  if (ml_tensor_wrap(mlb_ctx(L), &t, data, ML_F32, ndim, shape, NULL, NULL)) mlb_fail(L);
  mlb_pushtensor(L, &t);
}

static void push_value(lua_State *L, const mlrun_value *v, int i) {
  switch (v->kind) {
    case MLRUN_NUMBER: lua_pushnumber(L, v->number); return;
    case MLRUN_TENSOR: push_wrapped(L, v->data, v->ndim, v->shape); return;
    case MLRUN_STRING:
      if (!v->string) luaL_error(L, "argument %d: string is NULL", i);
      lua_pushstring(L, v->string);
      return;
    case MLRUN_GLOBAL:
      if (!v->string) luaL_error(L, "argument %d: global name is NULL", i);
      lua_getglobal(L, v->string);
      return;
  }
  luaL_error(L, "argument %d: unknown kind %d", i, (int)v->kind);
}

typedef struct {
  const char *name;
  mlrun_value v;
} set_args;

static int p_set(lua_State *L) {
  set_args *a = (set_args *)lua_touserdata(L, 1);
  push_value(L, &a->v, 1);
  lua_setglobal(L, a->name);
  return 0;
}

int mlrun_set_tensor(mlrun_engine *e, const char *name, float *data, int ndim,
                     const int64_t *shape) {
  CHECK_ENGINE(e);
  if (!name) return set_err(e, "mlrun_set_tensor: name is NULL");
  set_args a = {name, mlrun_tensor(data, ndim, shape)};
  return protect(e, p_set, &a);
}

int mlrun_set_number(mlrun_engine *e, const char *name, double v) {
  CHECK_ENGINE(e);
  if (!name) return set_err(e, "mlrun_set_number: name is NULL");
  set_args a = {name, mlrun_number(v)};
  return protect(e, p_set, &a);
}

/* ---- calls ---- */

typedef struct {
  const char *fn, *result;
  const mlrun_value *args;
  int nargs;
} call_args;

/* Pushes the value at a dotted path of globals ("ml.matmul"). */
static void push_path(lua_State *L, const char *path) {
  const char *dot = strchr(path, '.');
  if (!dot) { lua_getglobal(L, path); return; }
  lua_pushglobaltable(L);
  const char *p = path;
  while (p) {
    dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (!lua_istable(L, -1) && !lua_isuserdata(L, -1)) {
      lua_pushnil(L);
      return;
    }
    lua_pushlstring(L, p, n);
    lua_gettable(L, -2);
    lua_remove(L, -2);
    p = dot ? dot + 1 : NULL;
  }
}

static int p_call(lua_State *L) {
  call_args *a = (call_args *)lua_touserdata(L, 1);
  push_path(L, a->fn);
  if (lua_isnil(L, -1)) return luaL_error(L, "mlrun_call: no function '%s'", a->fn);
  luaL_checkstack(L, a->nargs + 2, "mlrun_call: too many arguments");
  for (int i = 0; i < a->nargs; i++) push_value(L, &a->args[i], i + 1);
  lua_call(L, a->nargs, 1);
  if (a->result) lua_setglobal(L, a->result);
  return 0;
}

int mlrun_call(mlrun_engine *e, const char *fn, const mlrun_value *args, int nargs,
               const char *result) {
  CHECK_ENGINE(e);
  if (!fn) return set_err(e, "mlrun_call: function name is NULL");
  if (nargs < 0 || (nargs > 0 && !args))
    return set_err(e, "mlrun_call: expected nargs >= 0 and an argument array");
  call_args a = {fn, result, args, nargs};
  return protect(e, p_call, &a);
}

/* ---- values out ---- */

typedef struct {
  const char *name;
  float *out;          /* copy target (get) */
  size_t capacity;
  float **lend;        /* borrow target */
  int *ndim;
  int64_t *shape;
  double *number;
} get_args;

/* Leaves a contiguous float32 tensor with global name's contents on the stack. */
static ml_tensor *global_tensor(lua_State *L, const char *name, const char *who) {
  lua_getglobal(L, name);
  ml_tensor *t = mlb_totensor(L, -1);
  if (!t) luaL_error(L, "%s: global '%s' is a %s, expected ml.Tensor", who, name,
                     luaL_typename(L, -1));
  if (t->dtype == ML_F32 && ml_is_contiguous(t)) return t;
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor f, c;
  if (ml_to_dtype(ctx, &f, t, ML_F32)) mlb_fail(L);
  int rc = ml_contiguous(ctx, &c, &f);
  ml_tensor_release(&f);
  if (rc) mlb_fail(L);
  lua_pop(L, 1);
  return mlb_pushtensor(L, &c);
}

static void give_shape(const ml_tensor *t, get_args *a) {
  if (a->ndim) *a->ndim = t->ndim;
  if (a->shape)
    for (int i = 0; i < t->ndim; i++) a->shape[i] = t->shape[i];
}

static int p_get(lua_State *L) {
  get_args *a = (get_args *)lua_touserdata(L, 1);
  ml_tensor *t = global_tensor(L, a->name, "mlrun_get_tensor");
  size_t n = (size_t)ml_numel(t);
  if (a->out && n > a->capacity)
    return luaL_error(L, "mlrun_get_tensor: '%s' has %d elements, the buffer holds %d",
                      a->name, (int)n, (int)a->capacity);
  give_shape(t, a);
  if (a->out && n) memcpy(a->out, ml_f32(t), n * sizeof(float));
  return 0;
}

int mlrun_get_tensor(mlrun_engine *e, const char *name, float *out, size_t capacity,
                     int *ndim, int64_t *shape) {
  CHECK_ENGINE(e);
  if (!name) return set_err(e, "mlrun_get_tensor: name is NULL");
  get_args a = {name, out, capacity, NULL, ndim, shape, NULL};
  return protect(e, p_get, &a);
}

/* Ends the borrow of `name` (stack: the registry table of pins at -1). */
static void unpin(lua_State *L, const char *name) {
  lua_getfield(L, -1, name);
  ml_tensor *old = mlb_totensor(L, -1);
  if (old) ml_tensor_release(old);   /* the storage may go back to the pool now */
  lua_pop(L, 1);
  lua_pushnil(L);
  lua_setfield(L, -2, name);
}

/* The pin is a tensor userdata of its own holding one more reference to the
 * storage: closing the global (`x:close()`, a `<close>` variable) or
 * reassigning it then cannot hand the storage to the next tensor while the
 * host still writes through the pointer. */
static int p_borrow(lua_State *L) {
  get_args *a = (get_args *)lua_touserdata(L, 1);
  ml_tensor *t = global_tensor(L, a->name, "mlrun_borrow_tensor");
  lua_rawgetp(L, LUA_REGISTRYINDEX, &borrowed_key);
  unpin(L, a->name);
  ml_tensor pin = *t;
  ml_tensor_retain(t);
  mlb_pushtensor(L, &pin);
  lua_setfield(L, -2, a->name);
  give_shape(t, a);
  *a->lend = ml_f32(t);
  return 0;
}

static int p_release(lua_State *L) {
  get_args *a = (get_args *)lua_touserdata(L, 1);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &borrowed_key);
  unpin(L, a->name);
  return 0;
}

int mlrun_release_tensor(mlrun_engine *e, const char *name) {
  CHECK_ENGINE(e);
  if (!name) return set_err(e, "mlrun_release_tensor: name is NULL");
  get_args a = {name, NULL, 0, NULL, NULL, NULL, NULL};
  return protect(e, p_release, &a);
}

int mlrun_borrow_tensor(mlrun_engine *e, const char *name, float **data, int *ndim,
                        int64_t *shape) {
  CHECK_ENGINE(e);
  if (!name || !data) return set_err(e, "mlrun_borrow_tensor: name or data is NULL");
  get_args a = {name, NULL, 0, data, ndim, shape, NULL};
  return protect(e, p_borrow, &a);
}

static int p_number(lua_State *L) {
  get_args *a = (get_args *)lua_touserdata(L, 1);
  lua_getglobal(L, a->name);
  int isnum;
  double v = lua_tonumberx(L, -1, &isnum);
  if (!isnum) {
    ml_tensor *t = mlb_totensor(L, -1);
    if (!t || ml_numel(t) != 1)
      return luaL_error(L, "mlrun_get_number: global '%s' is a %s, expected a number",
                        a->name, t ? "tensor with more than one element" : luaL_typename(L, -1));
    v = ml_get(t, ml_offset_of(t, 0));
  }
  *a->number = v;
  return 0;
}

int mlrun_get_number(mlrun_engine *e, const char *name, double *v) {
  CHECK_ENGINE(e);
  if (!name || !v) return set_err(e, "mlrun_get_number: name or v is NULL");
  get_args a = {name, NULL, 0, NULL, NULL, NULL, v};
  return protect(e, p_number, &a);
}
