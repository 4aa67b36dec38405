/* lserve.c - ml.core.serve: ml.core.serve.run(spec, opts) serves a model
 * over HTTP (runtime/serve/) with N worker engines. Engines are not shared
 * across threads, so each worker thread opens its own Lua state, loads the
 * model from `spec` through ml.serve._worker (stdlib/ml/serve.lua), and then
 * answers micro-batches: the rows of several requests stacked into one
 * tensor, one forward pass, the answers split back. */
#include "mlb.h"
#include "../runtime/serve/serve.h"
#include "../runtime/data/data.h"
#include <lualib.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

int luaopen_ml(lua_State *L);

#define MAX_JOBS 256

typedef struct worker {
  pthread_t th;
  int started;
  ml_serve *srv;
  const ml_serve_opts *o;
  const char *spec;
  size_t spec_len;
  int threads;
  /* start-up handshake */
  pthread_mutex_t *mu;
  pthread_cond_t *cv;
  int state;                 /* 0 loading, 1 ready, -1 failed */
  char err[1024];
} worker;

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) msg = luaL_tolstring(L, 1, NULL);
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* The model as the worker's Lua state describes it. */
typedef struct model {
  int kind;                  /* 0 values, 1 classes, 2 raw */
  int64_t k;
  char **class_json, **labels;
} model;

static void model_free(model *m) {
  for (int64_t i = 0; i < m->k; i++) {
    if (m->class_json) free(m->class_json[i]);
    if (m->labels) free(m->labels[i]);
  }
  free(m->class_json);
  free(m->labels);
}

static char **string_list(lua_State *L, int t, const char *field, int64_t k) {
  lua_getfield(L, t, field);
  if (!lua_istable(L, -1)) { lua_pop(L, 1); return NULL; }
  char **v = calloc((size_t)k, sizeof *v);
  for (int64_t i = 0; v && i < k; i++) {
    lua_rawgeti(L, -1, i + 1);
    const char *s = lua_tostring(L, -1);
    v[i] = s ? strdup(s) : NULL;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return v;
}

static void set_state(worker *w, int state, const char *err) {
  pthread_mutex_lock(w->mu);
  w->state = state;
  if (err) snprintf(w->err, sizeof w->err, "%s", err);
  pthread_cond_broadcast(w->cv);
  pthread_mutex_unlock(w->mu);
}

/* One raw job: handle(request) -> status, body (a JSON text). */
static void run_raw(lua_State *L, worker *w, int handle, ml_serve_job *j) {
  int top = lua_gettop(L);
  lua_pushcfunction(L, traceback);
  lua_pushvalue(L, handle);
  lua_createtable(L, 0, 3);
  lua_pushlstring(L, j->body, j->body_len);
  lua_setfield(L, -2, "body");
  lua_pushstring(L, j->content_type);
  lua_setfield(L, -2, "content_type");
  lua_pushstring(L, j->path);
  lua_setfield(L, -2, "path");
  if (lua_pcall(L, 1, 2, top + 1) != LUA_OK) {
    ml_serve_answer_error(w->srv, j, 500, lua_tostring(L, -1));
  } else {
    size_t n;
    const char *body = lua_tolstring(L, -1, &n);
    int status = (int)luaL_optinteger(L, -2, 200);
    if (!body) ml_serve_answer_error(w->srv, j, 500, "the predict function returned no answer");
    else ml_serve_answer(w->srv, j, status, body, n);
  }
  lua_settop(L, top);
}

/* Jobs of rows: stacked into one tensor, predict(x) -> rows x k float32. */
static void run_rows(lua_State *L, worker *w, int predict, const model *m, ml_serve_job **jobs,
                     int n) {
  int top = lua_gettop(L);
  int64_t rows = 0;
  for (int i = 0; i < n; i++) rows += jobs[i]->rows;
  int64_t shape[ML_MAX_DIMS + 1];
  shape[0] = rows;
  for (int d = 0; d < w->o->in_ndim; d++) shape[d + 1] = w->o->in_shape[d];
  ml_ctx *ctx = mlb_ctx(L);
  ml_tensor x;
  const char *fault = NULL;
  if (ml_tensor_new(ctx, &x, ML_F32, w->o->in_ndim + 1, shape, false) != ML_OK) {
    fault = ctx->err;
  } else {
    float *dst = ml_f32(&x);
    for (int i = 0; i < n; i++) {
      size_t len = (size_t)(jobs[i]->rows * jobs[i]->row_size);
      memcpy(dst, jobs[i]->x, len * sizeof *dst);
      dst += len;
    }
    lua_pushcfunction(L, traceback);
    lua_pushvalue(L, predict);
    mlb_pushtensor(L, &x);
    if (lua_pcall(L, 1, 1, top + 1) != LUA_OK) {
      fault = lua_tostring(L, -1);
    } else {
      ml_tensor *y = mlb_totensor(L, -1);
      if (!y || y->dtype != ML_F32 || !ml_is_contiguous(y) || y->ndim != 2 ||
          y->shape[0] != rows || (m->kind == 1 && y->shape[1] != m->k))
        fault = "the model's predict gave no rows x k float32 tensor";
      else {
        ml_serve_note_batch(w->srv, rows);
        const float *p = ml_f32(y);
        for (int i = 0; i < n; i++) {
          /* an answered job belongs to its connection again: read it first */
          int64_t job_rows = jobs[i]->rows;
          if (m->kind == 1)
            ml_serve_answer_classes(w->srv, jobs[i], p, y->shape[1],
                                    (const char *const *)m->class_json,
                                    (const char *const *)m->labels);
          else
            ml_serve_answer_values(w->srv, jobs[i], p, y->shape[1]);
          p += job_rows * y->shape[1];
        }
        n = 0;
      }
    }
  }
  for (int i = 0; i < n; i++) ml_serve_answer_error(w->srv, jobs[i], 500, fault);
  lua_settop(L, top);
}

/* `ml` as a global, as in the mlrun executable. */
static int open_ml(lua_State *L) {
  luaL_requiref(L, "ml", luaopen_ml, 1);
  return 0;
}

static void *worker_main(void *arg) {
  worker *w = arg;
  lua_State *L = luaL_newstate();
  if (!L) { set_state(w, -1, "serve: out of memory opening a worker engine"); return NULL; }
  luaL_openlibs(L);
  lua_pushcfunction(L, traceback);
  int h = lua_gettop(L);
  lua_pushcfunction(L, open_ml);
  model m = {0};
  if (lua_pcall(L, 0, 0, h) != LUA_OK) goto failed;
  ml_set_threads(mlb_ctx(L), w->threads);
  lua_getglobal(L, "require");
  lua_pushstring(L, "ml.serve");
  if (lua_pcall(L, 1, 1, h) != LUA_OK) goto failed;
  lua_getfield(L, -1, "_worker");
  lua_pushlstring(L, w->spec, w->spec_len);
  if (lua_pcall(L, 1, 1, h) != LUA_OK) goto failed;
  int wt = lua_gettop(L);
  lua_getfield(L, wt, "kind");
  const char *kind = lua_tostring(L, -1);
  m.kind = kind && !strcmp(kind, "classes") ? 1 : kind && !strcmp(kind, "raw") ? 2 : 0;
  lua_pop(L, 1);
  lua_getfield(L, wt, "k");
  m.k = lua_tointeger(L, -1);
  lua_pop(L, 1);
  if (m.kind == 1) {
    m.class_json = string_list(L, wt, "class_json", m.k);
    m.labels = string_list(L, wt, "labels", m.k);
    if (!m.class_json || m.k < 1) {
      lua_pushstring(L, "serve: the classifier has no class list");
      goto failed;
    }
  }
  lua_getfield(L, wt, m.kind == 2 ? "handle" : "predict");
  int fn = lua_gettop(L);
  set_state(w, 1, NULL);
  ml_serve_job *jobs[MAX_JOBS];
  int n;
  while ((n = ml_serve_next_batch(w->srv, jobs, MAX_JOBS)) > 0) {
    if (jobs[0]->kind == ML_JOB_RAW)
      for (int i = 0; i < n; i++) run_raw(L, w, fn, jobs[i]);
    else
      run_rows(L, w, fn, &m, jobs, n);
  }
  model_free(&m);
  lua_close(L);
  return NULL;
failed:
  set_state(w, -1, lua_tostring(L, -1));
  model_free(&m);
  lua_close(L);
  return NULL;
}

static int opt_int(lua_State *L, int t, const char *k, int def) {
  lua_getfield(L, t, k);
  int v = lua_isnil(L, -1) ? def : (int)luaL_checkinteger(L, -1);
  lua_pop(L, 1);
  return v;
}
static double opt_num(lua_State *L, int t, const char *k, double def) {
  lua_getfield(L, t, k);
  double v = lua_isnil(L, -1) ? def : luaL_checknumber(L, -1);
  lua_pop(L, 1);
  return v;
}
static const char *opt_str(lua_State *L, int t, const char *k, const char *def) {
  lua_getfield(L, t, k);
  const char *v = lua_isnil(L, -1) ? def : luaL_checkstring(L, -1);
  lua_pop(L, 1);   /* the string stays alive in the options table */
  return v;
}

/* Shared by the serving thread's cleanup paths. */
typedef struct serving {
  ml_serve *srv;
  worker *w;
  int n;
  pthread_mutex_t mu;
  pthread_cond_t cv;
} serving;

static void serving_end(serving *sv) {
  if (sv->srv) ml_serve_release_workers(sv->srv);
  for (int i = 0; i < sv->n; i++)
    if (sv->w[i].started) pthread_join(sv->w[i].th, NULL);
  ml_serve_stop(sv->srv);
  free(sv->w);
  pthread_mutex_destroy(&sv->mu);
  pthread_cond_destroy(&sv->cv);
}

/* run(spec, opts) -> signal number. The Lua side has validated the
 * options and the model; opts.on_listen(port) runs once every worker is
 * ready. Blocks until SIGTERM/SIGINT, then drains and returns. */
static int l_serve_run(lua_State *L) {
  size_t spec_len;
  const char *spec = luaL_checklstring(L, 1, &spec_len);
  luaL_checktype(L, 2, LUA_TTABLE);
  ml_serve_opts o = {0};
  o.host = opt_str(L, 2, "host", "127.0.0.1");
  o.port = opt_int(L, 2, "port", 8080);
  o.max_batch = opt_int(L, 2, "max_batch", 32);
  o.batch_timeout_ms = opt_int(L, 2, "batch_timeout_ms", 2);
  o.max_body = (size_t)opt_num(L, 2, "max_body", 8 << 20);
  o.timeout_s = opt_num(L, 2, "timeout", 30);
  o.max_pixels = (int64_t)opt_num(L, 2, "max_pixels", 4096.0 * 4096.0);
  o.max_connections = opt_int(L, 2, "max_connections", 512);
  o.raw = opt_int(L, 2, "raw", 0);
  o.topk = opt_int(L, 2, "topk", 5);
  o.image_ok = opt_int(L, 2, "image_ok", 0);
  o.in_h = opt_int(L, 2, "in_h", 0);
  o.in_w = opt_int(L, 2, "in_w", 0);
  o.in_c = opt_int(L, 2, "in_c", 1);
  o.image_scale = opt_num(L, 2, "image_scale", 1);
  o.name = opt_str(L, 2, "name", "model");
  o.page = opt_str(L, 2, "page", "");
  o.metadata = opt_str(L, 2, "metadata", "{}");
  lua_getfield(L, 2, "in_shape");
  if (lua_istable(L, -1)) {
    o.in_ndim = (int)luaL_len(L, -1);
    if (o.in_ndim > ML_MAX_DIMS) return luaL_error(L, "serve: input shape has over %d dimensions", ML_MAX_DIMS);
    for (int i = 0; i < o.in_ndim; i++) {
      lua_rawgeti(L, -1, i + 1);
      o.in_shape[i] = luaL_checkinteger(L, -1);
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  int nworkers = opt_int(L, 2, "workers", 1);
  int threads = opt_int(L, 2, "threads", 1);
  if (nworkers < 1 || nworkers > 256) return luaL_error(L, "serve: workers must be 1..256, got %d", nworkers);
  if (threads < 1) threads = 1;

  char err[1100];
  serving sv = {0};
  pthread_mutex_init(&sv.mu, NULL);
  pthread_cond_init(&sv.cv, NULL);
  sv.srv = ml_serve_start(&o, err, sizeof err);
  if (!sv.srv) { serving_end(&sv); return luaL_error(L, "%s", err); }
  sv.w = calloc((size_t)nworkers, sizeof *sv.w);
  if (!sv.w) { serving_end(&sv); return luaL_error(L, "serve: out of memory"); }
  sv.n = nworkers;
  for (int i = 0; i < nworkers; i++) {
    worker *w = &sv.w[i];
    *w = (worker){.srv = sv.srv, .o = &o, .spec = spec, .spec_len = spec_len,
                  .threads = threads, .mu = &sv.mu, .cv = &sv.cv};
    w->started = pthread_create(&w->th, NULL, worker_main, w) == 0;
    if (!w->started) w->state = -1, snprintf(w->err, sizeof w->err, "serve: cannot start a worker thread");
  }
  /* every worker loaded the model, or the first failure is the error */
  const char *fail = NULL;
  pthread_mutex_lock(&sv.mu);
  for (int i = 0; i < nworkers && !fail; i++) {
    while (sv.w[i].state == 0) pthread_cond_wait(&sv.cv, &sv.mu);
    if (sv.w[i].state < 0) fail = sv.w[i].err;
  }
  pthread_mutex_unlock(&sv.mu);
  if (fail) {
    snprintf(err, sizeof err, "%s", fail);
    serving_end(&sv);
    return luaL_error(L, "serve: a worker could not load the model: %s", err);
  }
  lua_getfield(L, 2, "on_listen");
  if (lua_isfunction(L, -1)) {
    lua_pushinteger(L, ml_serve_port(sv.srv));
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
      /* the message outlives serving_end on the Lua stack */
      serving_end(&sv);
      return lua_error(L);
    }
  } else {
    lua_pop(L, 1);
  }
  int sig = ml_serve_wait(sv.srv);
  serving_end(&sv);
  lua_pushinteger(L, sig);
  return 1;
}

/* decode_image(bytes) -> H x W x C float32 in [0, 1] (PNG or JPEG). */
static int l_decode_image(lua_State *L) {
  size_t n;
  const uint8_t *p = (const uint8_t *)luaL_checklstring(L, 1, &n);
  ml_tensor t;
  int jpeg = n >= 2 && p[0] == 0xFF && p[1] == 0xD8;
  MLB_CHECK(L, jpeg ? ml_jpeg_read(mlb_ctx(L), &t, p, n, "decode_image")
                    : ml_png_read(mlb_ctx(L), &t, p, n, "decode_image"));
  mlb_pushtensor(L, &t);
  return 1;
}

static const luaL_Reg funcs[] = {
  {"run", l_serve_run},
  {"decode_image", l_decode_image},
  {NULL, NULL},
};

void mlb_open_serve(lua_State *L) { mlb_register(L, funcs); }
