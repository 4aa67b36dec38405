/* ldist.c - ml.core.dist_*: ranks, collectives and byte messages between the
 * processes of an MPI job. Outside a launcher every call acts on one rank
 * without loading MPI. */
#include "mlb.h"
#include "../runtime/dist/dist.h"
#include <stdlib.h>
#include <string.h>

static const char dist_key = 0;

/* The per-state ml_dist, initialised on first use. */
static int dist_gc(lua_State *L) {
  ml_dist *d = (ml_dist *)lua_touserdata(L, 1);
  free(d->pack);   /* MPI itself is finalised at process exit */
  d->pack = NULL;
  return 0;
}

static ml_dist *get_dist(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &dist_key);
  ml_dist *d = (ml_dist *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (d) return d;
  d = (ml_dist *)lua_newuserdatauv(L, sizeof(ml_dist), 0);
  memset(d, 0, sizeof *d);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, dist_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &dist_key);
  MLB_CHECK(L, ml_dist_init(mlb_ctx(L), d));
  return d;
}

static int l_rank(lua_State *L) { lua_pushinteger(L, get_dist(L)->rank); return 1; }
static int l_size(lua_State *L) { lua_pushinteger(L, get_dist(L)->size); return 1; }
static int l_launched(lua_State *L) { lua_pushboolean(L, ml_dist_launched()); return 1; }

static ml_dist_op checkop(lua_State *L, int idx, int *mean) {
  const char *s = luaL_optstring(L, idx, "sum");
  *mean = 0;
  if (!strcmp(s, "sum")) return ML_DIST_SUM;
  if (!strcmp(s, "mean")) { *mean = 1; return ML_DIST_SUM; }
  if (!strcmp(s, "max")) return ML_DIST_MAX;
  if (!strcmp(s, "min")) return ML_DIST_MIN;
  return luaL_error(L, "allreduce: unknown operation '%s' (expected sum, mean, max or min)", s),
         ML_DIST_SUM;
}

static ml_tensor *check_buffer(lua_State *L, int idx, const char *who) {
  ml_tensor *t = mlb_checktensor(L, idx);
  if (t->dtype != ML_F32 || !ml_is_contiguous(t))
    luaL_error(L, "%s: expected a contiguous float32 tensor, got a %s%s tensor", who,
               ml_is_contiguous(t) ? "" : "non-contiguous ", ml_dtype_name(t->dtype));
  return t;
}

/* dist_allreduce(t [, op]): in place over every rank; returns t. */
static int l_allreduce(lua_State *L) {
  ml_tensor *t = check_buffer(L, 1, "allreduce");
  int mean;
  ml_dist_op op = checkop(L, 2, &mean);
  ml_dist *d = get_dist(L);
  ml_ctx *ctx = mlb_ctx(L);
  MLB_CHECK(L, ml_dist_allreduce(ctx, d, ml_f32(t), ml_numel(t), op));
  if (mean && d->size > 1) MLB_CHECK(L, ml_binary_scalar_(ctx, t, 1.0 / d->size, ML_MUL));
  lua_settop(L, 1);
  return 1;
}

/* dist_allreduce_numbers({...} [, op]) -> table: sums of Lua numbers (double). */
static int l_allreduce_numbers(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int mean;
  ml_dist_op op = checkop(L, 2, &mean);
  int n = (int)lua_rawlen(L, 1);
  double *v = (double *)lua_newuserdatauv(L, sizeof(double) * (n ? n : 1), 0);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    v[i] = luaL_checknumber(L, -1);
    lua_pop(L, 1);
  }
  ml_dist *d = get_dist(L);
  MLB_CHECK(L, ml_dist_allreduce_f64(mlb_ctx(L), d, v, n, op));
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushnumber(L, mean ? v[i] / d->size : v[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* dist_allreduce_many({t1, t2, ...}, scale): t = sum over ranks of scale * t. */
static int l_allreduce_many(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  float scale = (float)luaL_optnumber(L, 2, 1.0);
  int n = (int)lua_rawlen(L, 1);
  ml_tensor **ts = (ml_tensor **)lua_newuserdatauv(L, sizeof(ml_tensor *) * (n ? n : 1), 0);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    ts[i] = mlb_checktensor(L, -1);   /* kept alive by the list */
    lua_pop(L, 1);
  }
  MLB_CHECK(L, ml_dist_allreduce_many(mlb_ctx(L), get_dist(L), ts, n, scale));
  return 0;
}

/* Buckets for the overlapped allreduce: a userdata holding ml_dist_bucket
 * and its buffer (so the collector sees the size); its user value is the
 * list of tensors, which stays alive with it. */
#define BUCKET "ml.dist.bucket"

static ml_tensor **bucket_tensors(lua_State *L, int idx, int *n) {
  lua_getiuservalue(L, idx, 1);
  int k = (int)lua_rawlen(L, -1);
  ml_tensor **ts = (ml_tensor **)lua_newuserdatauv(L, sizeof(ml_tensor *) * (k ? k : 1), 0);
  for (int i = 0; i < k; i++) {
    lua_rawgeti(L, -2, i + 1);
    ts[i] = mlb_checktensor(L, -1);
    lua_pop(L, 1);
  }
  *n = k;
  return ts;   /* the list and the array stay on the stack until the caller returns */
}

static int bucket_gc(lua_State *L) {
  ml_dist_bucket *b = (ml_dist_bucket *)luaL_checkudata(L, 1, BUCKET);
  if (b->pending) {   /* MPI still writes the buffer: finish before it is freed */
    ml_dist *d = get_dist(L);
    d->ops->wait(b->req);
    b->pending = false;
  }
  return 0;
}

/* dist_bucket({t1, t2, ...}) -> bucket for dist_bucket_start/test/wait. */
static int l_bucket(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int k = (int)lua_rawlen(L, 1);
  int64_t total = 0;
  lua_createtable(L, k, 0);
  for (int i = 0; i < k; i++) {
    lua_rawgeti(L, 1, i + 1);
    ml_tensor *t = check_buffer(L, -1, "bucket");
    total += ml_numel(t);
    lua_rawseti(L, -2, i + 1);
  }
  if (total >= ((int64_t)1 << 30)) return luaL_error(L, "bucket: %lld floats is too large", (long long)total);
  ml_dist_bucket *b = (ml_dist_bucket *)lua_newuserdatauv(L, sizeof *b + (size_t)total * sizeof(float), 1);
  memset(b, 0, sizeof *b);
  b->buf = (float *)(b + 1);
  b->n = total;
  if (luaL_newmetatable(L, BUCKET)) {
    lua_pushcfunction(L, bucket_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -2);
  lua_setiuservalue(L, -2, 1);
  return 1;
}

/* dist_bucket_start(bucket, scale): packs scale * its tensors, starts the sum. */
static int l_bucket_start(lua_State *L) {
  ml_dist_bucket *b = (ml_dist_bucket *)luaL_checkudata(L, 1, BUCKET);
  float scale = (float)luaL_optnumber(L, 2, 1.0);
  int n;
  ml_tensor **ts = bucket_tensors(L, 1, &n);
  MLB_CHECK(L, ml_dist_bucket_start(mlb_ctx(L), get_dist(L), b, ts, n, scale));
  return 0;
}

/* dist_bucket_test(bucket) -> done: lets MPI progress it. */
static int l_bucket_test(lua_State *L) {
  ml_dist_bucket *b = (ml_dist_bucket *)luaL_checkudata(L, 1, BUCKET);
  bool done;
  MLB_CHECK(L, ml_dist_bucket_test(mlb_ctx(L), get_dist(L), b, &done));
  lua_pushboolean(L, done);
  return 1;
}

/* dist_bucket_wait(bucket): waits and writes the sums into its tensors. */
static int l_bucket_wait(lua_State *L) {
  ml_dist_bucket *b = (ml_dist_bucket *)luaL_checkudata(L, 1, BUCKET);
  int n;
  ml_tensor **ts = bucket_tensors(L, 1, &n);
  MLB_CHECK(L, ml_dist_bucket_wait(mlb_ctx(L), get_dist(L), b, ts, n));
  return 0;
}

static int l_broadcast(lua_State *L) {
  ml_tensor *t = mlb_checktensor(L, 1);
  if (!ml_is_contiguous(t)) return luaL_error(L, "broadcast: expected a contiguous tensor");
  int root = (int)luaL_optinteger(L, 2, 0);
  MLB_CHECK(L, ml_dist_broadcast(mlb_ctx(L), get_dist(L), ml_f32(t),
                                 ml_numel(t) * (int64_t)ml_dtype_size(t->dtype), root));
  lua_settop(L, 1);
  return 1;
}

/* dist_broadcast_string(s_or_nil, root) -> s: the root's string on every rank. */
static int l_broadcast_string(lua_State *L) {
  int root = (int)luaL_optinteger(L, 2, 0);
  ml_dist *d = get_dist(L);
  ml_ctx *ctx = mlb_ctx(L);
  if (d->size == 1) { lua_settop(L, 1); return 1; }
  size_t n = 0;
  const char *s = d->rank == root ? luaL_checklstring(L, 1, &n) : NULL;
  int64_t len = (int64_t)n;
  MLB_CHECK(L, ml_dist_broadcast(ctx, d, &len, sizeof len, root));
  char *buf = (char *)lua_newuserdatauv(L, len ? (size_t)len : 1, 0);
  if (s) memcpy(buf, s, n);
  MLB_CHECK(L, ml_dist_broadcast(ctx, d, buf, len, root));
  lua_pushlstring(L, buf, (size_t)len);
  return 1;
}

static int l_send(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  int dest = (int)luaL_checkinteger(L, 2), tag = (int)luaL_optinteger(L, 3, 0);
  MLB_CHECK(L, ml_dist_send(mlb_ctx(L), get_dist(L), s, (int64_t)n, dest, tag));
  return 0;
}

/* dist_recv([source [, tag [, block]]]) -> string, source | nil when nothing waits */
static int l_recv(lua_State *L) {
  int source = (int)luaL_optinteger(L, 1, -1), tag = (int)luaL_optinteger(L, 2, 0);
  bool block = lua_isnoneornil(L, 3) ? true : lua_toboolean(L, 3);
  ml_dist *d = get_dist(L);
  ml_ctx *ctx = mlb_ctx(L);
  int src;
  int64_t len;
  int rc = ml_dist_probe(ctx, d, source, tag, &src, &len, block);
  if (rc == ML_ERR) return mlb_fail(L);
  if (rc == 0) return 0;
  char *buf = (char *)lua_newuserdatauv(L, len ? (size_t)len : 1, 0);
  MLB_CHECK(L, ml_dist_recv(ctx, d, buf, len, src, tag, &len));
  lua_pushlstring(L, buf, (size_t)len);
  lua_pushinteger(L, src);
  return 2;
}

static int l_barrier(lua_State *L) {
  MLB_CHECK(L, ml_dist_barrier(mlb_ctx(L), get_dist(L)));
  return 0;
}

static const luaL_Reg functions[] = {
  {"rank", l_rank}, {"size", l_size}, {"launched", l_launched},
  {"allreduce", l_allreduce}, {"allreduce_numbers", l_allreduce_numbers},
  {"allreduce_many", l_allreduce_many}, {"broadcast", l_broadcast}, {"broadcast_string", l_broadcast_string},
  {"send", l_send}, {"recv", l_recv}, {"barrier", l_barrier},
  {"bucket", l_bucket}, {"bucket_start", l_bucket_start}, {"bucket_test", l_bucket_test},
  {"bucket_wait", l_bucket_wait},
  {NULL, NULL}};

void mlb_open_dist(lua_State *L) { mlb_register(L, functions); }
