/* lio.c - Lua bindings of the file formats: the .mlt/.mlm tree format (save,
 * load, serialize, deserialize), atomic text writes, whole-file reads (gunzip
 * by magic) and directory listing. The class-aware layer (objects with
 * state()/from_state) is stdlib/ml/io.lua; here values are plain trees. */
#include "mlb.h"
#include "../runtime/io/io.h"
#include "../runtime/data/data.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 200
#define GUARD "ml.io.guard"

/* Owns what a save or load holds, so an error anywhere releases it. */
typedef struct guard {
  ml_map map;
  ml_mlt_reader *r;
  ml_mlt_writer *w;
  ml_atomic at;
  uint8_t *mem;          /* ml_malloc'd */
  ml_ctx *ctx;
  const char *who;
  int level;
} guard;

static void guard_release(guard *g) {
  ml_mlt_reader_free(g->r);
  ml_mlt_writer_free(g->w);
  ml_map_free(&g->map);
  if (g->at.f || g->at.tmp) ml_atomic_abort(&g->at);
  ml_free(g->ctx, g->mem);
  g->r = NULL;
  g->w = NULL;
  g->mem = NULL;
}

static int guard_gc(lua_State *L) {
  guard_release((guard *)luaL_checkudata(L, 1, GUARD));
  return 0;
}

static guard *push_guard(lua_State *L, const char *who) {
  guard *g = (guard *)lua_newuserdatauv(L, sizeof *g, 0);
  memset(g, 0, sizeof *g);
  g->ctx = mlb_ctx(L);
  g->who = who;
  luaL_setmetatable(L, GUARD);
  return g;
}

/* ---- encoding ---- */

/* Path of keys from the root, for error messages ("x.layers[2]"). */
typedef struct path {
  int depth;
  char seg[MAX_DEPTH + 1][48];
} path;

static const char *path_str(path *p, char *buf, size_t n) {
  size_t used = snprintf(buf, n, "value");
  for (int i = 0; i < p->depth && used < n; i++) used += snprintf(buf + used, n - used, "%s", p->seg[i]);
  return buf;
}

static void encode(lua_State *L, guard *g, int idx, path *p);

static void fail_at(lua_State *L, guard *g, path *p, const char *what) {
  char buf[1024];
  luaL_error(L, "%s: %s at %s", g->who, what, path_str(p, buf, sizeof buf));
}

static void wcheck(lua_State *L, int rc) { if (rc) mlb_fail(L); }

static void encode_table(lua_State *L, guard *g, int idx, path *p) {
  if (p->depth >= MAX_DEPTH) fail_at(L, g, p, "tables nested too deeply (or a cycle)");
  luaL_checkstack(L, 6, "save: nesting");
  uint64_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    n++;
  }
  if (n > UINT32_MAX) fail_at(L, g, p, "table too large");
  wcheck(L, ml_mlt_put_table(g->w, (uint32_t)n));
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int k = lua_absindex(L, -2), v = lua_absindex(L, -1);
    if (lua_type(L, k) == LUA_TSTRING) {
      size_t len;
      const char *s = lua_tolstring(L, k, &len);
      snprintf(p->seg[p->depth], sizeof p->seg[0], ".%.40s", s);
      wcheck(L, ml_mlt_put_string(g->w, s, len));
    } else if (lua_isinteger(L, k)) {
      snprintf(p->seg[p->depth], sizeof p->seg[0], "[%lld]", (long long)lua_tointeger(L, k));
      wcheck(L, ml_mlt_put_int(g->w, lua_tointeger(L, k)));
    } else {
      char what[96];
      snprintf(what, sizeof what, "table keys must be strings or integers, got a %s key",
               luaL_typename(L, k));
      fail_at(L, g, p, what);
    }
    p->depth++;
    encode(L, g, v, p);
    p->depth--;
    lua_pop(L, 1);
  }
}

static void encode(lua_State *L, guard *g, int idx, path *p) {
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) wcheck(L, ml_mlt_put_int(g->w, lua_tointeger(L, idx)));
    else wcheck(L, ml_mlt_put_float(g->w, lua_tonumber(L, idx)));
    return;
  case LUA_TBOOLEAN:
    wcheck(L, ml_mlt_put_bool(g->w, lua_toboolean(L, idx)));
    return;
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    wcheck(L, ml_mlt_put_string(g->w, s, len));
    return;
  }
  case LUA_TTABLE:
    encode_table(L, g, idx, p);
    return;
  case LUA_TUSERDATA: {
    ml_tensor *t = mlb_totensor(L, idx);
    if (t) { wcheck(L, ml_mlt_put_tensor(g->w, t)); return; }
  } /* fallthrough */
  default: {
    char what[96];
    snprintf(what, sizeof what, "cannot save a %s (only tables, numbers, strings, booleans "
             "and tensors)", luaL_typename(L, idx));
    fail_at(L, g, p, what);
  }
  }
}

/* Protected part of a save: encodes meta (arg 2) and value (arg 3) with the
 * guard at arg 1. */
static int encode_both(lua_State *L) {
  guard *g = (guard *)lua_touserdata(L, 1);
  path *p = (path *)lua_newuserdatauv(L, sizeof(path), 0);
  p->depth = 0;
  encode(L, g, 2, p);
  encode(L, g, 3, p);
  return 0;
}

static int check_level(lua_State *L, int idx) {
  lua_Integer level = luaL_optinteger(L, idx, 1);
  luaL_argcheck(L, level >= 0 && level <= 9, idx, "compression level must be 0..9");
  return (int)level;
}

/* core.io_serialize(value [, meta [, level]]) -> string */
static int l_serialize(lua_State *L) {
  luaL_checkany(L, 1);
  int level = check_level(L, 3);
  lua_settop(L, 3);   /* the guard goes above the arguments, never in meta's place */
  guard *g = push_guard(L, "serialize");
  int gi = lua_gettop(L);
  g->w = ml_mlt_writer_new(mlb_ctx(L), NULL, level);
  if (!g->w) return mlb_fail(L);
  lua_pushcfunction(L, encode_both);
  lua_pushvalue(L, gi);
  if (lua_isnoneornil(L, 2)) lua_newtable(L); else lua_pushvalue(L, 2);
  lua_pushvalue(L, 1);
  if (lua_pcall(L, 3, 0, 0) != LUA_OK) { guard_release(g); return lua_error(L); }
  size_t len;
  if (ml_mlt_writer_finish(g->w, &g->mem, &len) || ml_mem_room(g->ctx, len, "serialize")) {
    guard_release(g);
    return mlb_fail(L);
  }
  lua_pushlstring(L, (const char *)g->mem, len);
  guard_release(g);
  return 1;
}

/* core.io_save(path, value, meta [, level]): atomic */
static int l_save(lua_State *L) {
  const char *fname = luaL_checkstring(L, 1);
  luaL_checkany(L, 2);
  int level = check_level(L, 4);
  lua_settop(L, 4);   /* the guard goes above the arguments, never in meta's place */
  ml_ctx *ctx = mlb_ctx(L);
  guard *g = push_guard(L, "save");
  int gi = lua_gettop(L);
  if (ml_atomic_open(ctx, &g->at, fname, "save")) return mlb_fail(L);
  /* a pipe cannot seek back to the header: encode in memory, then write */
  int in_place = g->at.in_place;
  g->w = ml_mlt_writer_new(ctx, in_place ? NULL : g->at.f, level);
  if (!g->w) { guard_release(g); return mlb_fail(L); }
  lua_pushcfunction(L, encode_both);
  lua_pushvalue(L, gi);
  if (lua_isnoneornil(L, 3)) lua_newtable(L); else lua_pushvalue(L, 3);
  lua_pushvalue(L, 2);
  if (lua_pcall(L, 3, 0, 0) != LUA_OK) { guard_release(g); return lua_error(L); }
  size_t len = 0;
  if (ml_mlt_writer_finish(g->w, in_place ? &g->mem : NULL, in_place ? &len : NULL)) {
    guard_release(g);
    return mlb_fail(L);
  }
  ml_mlt_writer_free(g->w);
  g->w = NULL;
  if (in_place && len && fwrite(g->mem, 1, len, g->at.f) != len) {
    ml_error(ctx, "save: writing '%s' failed: %s", fname, strerror(errno));
    guard_release(g);
    return mlb_fail(L);
  }
  if (ml_atomic_commit(ctx, &g->at, "save")) { guard_release(g); return mlb_fail(L); }
  return 0;
}

/* ---- decoding ---- */

static void decode(lua_State *L, guard *g, int depth) {
  ml_mlt_item it;
  luaL_checkstack(L, 4, "load: nesting");
  if (ml_mlt_next(g->r, &it)) mlb_fail(L);
  switch (it.kind) {
  case ML_MLT_INT: lua_pushinteger(L, it.i); return;
  case ML_MLT_FLOAT: lua_pushnumber(L, it.f); return;
  case ML_MLT_TRUE: lua_pushboolean(L, 1); return;
  case ML_MLT_FALSE: lua_pushboolean(L, 0); return;
  case ML_MLT_STRING: {
    if (ml_mem_room(g->ctx, (size_t)it.n, g->who)) mlb_fail(L);   /* Lua's copy */
    luaL_Buffer b;
    char *dst = luaL_buffinitsize(L, &b, (size_t)it.n);
    if (ml_mlt_read_bytes(g->r, dst, (size_t)it.n)) mlb_fail(L);
    luaL_pushresultsize(&b, (size_t)it.n);
    return;
  }
  case ML_MLT_TENSOR: {
    ml_tensor t;
    if (ml_mlt_read_tensor(g->r, &it, &t)) mlb_fail(L);
    mlb_pushtensor(L, &t);
    return;
  }
  case ML_MLT_TABLE: {
    if (depth >= MAX_DEPTH) luaL_error(L, "%s: tables nested too deeply (file is corrupt)", g->who);
    lua_createtable(L, 0, it.n < 64 ? (int)it.n : 64);
    for (uint64_t i = 0; i < it.n; i++) {
      decode(L, g, depth + 1);
      if (lua_type(L, -1) != LUA_TSTRING && !lua_isinteger(L, -1))
        luaL_error(L, "%s: table key is a %s (file is corrupt)", g->who, luaL_typename(L, -1));
      decode(L, g, depth + 1);
      lua_rawset(L, -3);
    }
    return;
  }
  }
}

/* Protected part of a load: decodes meta and value. */
static int decode_both(lua_State *L) {
  guard *g = (guard *)lua_touserdata(L, 1);
  decode(L, g, 0);
  if (!lua_istable(L, -1)) luaL_error(L, "%s: metadata is not a table (file is corrupt)", g->who);
  decode(L, g, 0);
  if (ml_mlt_reader_end(g->r)) mlb_fail(L);
  lua_insert(L, -2);     /* value, meta */
  return 2;
}

static int decode_from(lua_State *L, guard *g, int gi, const uint8_t *data, size_t n) {
  if (ml_mlt_reader_open(mlb_ctx(L), &g->r, data, n, g->who)) {
    guard_release(g);
    return mlb_fail(L);
  }
  lua_pushcfunction(L, decode_both);
  lua_pushvalue(L, gi);
  int rc = lua_pcall(L, 1, 2, 0);
  guard_release(g);
  if (rc != LUA_OK) return lua_error(L);
  return 2;
}

/* core.io_deserialize(string) -> value, meta */
static int l_deserialize(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  guard *g = push_guard(L, "deserialize");
  return decode_from(L, g, lua_gettop(L), (const uint8_t *)s, n);
}

/* core.io_load(path) -> value, meta */
static int l_load(lua_State *L) {
  const char *fname = luaL_checkstring(L, 1);
  guard *g = push_guard(L, "load");
  int gi = lua_gettop(L);
  if (ml_map_file(mlb_ctx(L), &g->map, fname, "load")) return mlb_fail(L);
  return decode_from(L, g, gi, g->map.data, g->map.size);
}

/* core.io_header(path) -> {version, raw_size, comp_size} (checks the header only) */
static int l_header(lua_State *L) {
  const char *fname = luaL_checkstring(L, 1);
  guard *g = push_guard(L, "info");
  ml_mlt_header h;
  if (ml_map_file(mlb_ctx(L), &g->map, fname, "info")) return mlb_fail(L);
  int rc = ml_mlt_header_parse(mlb_ctx(L), &h, g->map.data, g->map.size, "info");
  guard_release(g);
  if (rc) return mlb_fail(L);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, h.version);
  lua_setfield(L, -2, "version");
  lua_pushinteger(L, (lua_Integer)h.raw_size);
  lua_setfield(L, -2, "raw_size");
  lua_pushinteger(L, (lua_Integer)h.comp_size);
  lua_setfield(L, -2, "compressed_size");
  return 1;
}

/* core.io_write_atomic(path, string) */
static int l_write_atomic(lua_State *L) {
  const char *fname = luaL_checkstring(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  MLB_CHECK(L, ml_write_atomic(mlb_ctx(L), fname, s, n, "write_atomic"));
  return 0;
}

/* core.io_read_file(path [, max_bytes]) -> string, gunzipped if gzip */
static int l_read_file(lua_State *L) {
  const char *fname = luaL_checkstring(L, 1);
  lua_Integer max = luaL_optinteger(L, 2, (lua_Integer)1 << 34);
  luaL_argcheck(L, max >= 0, 2, "expected a size >= 0");
  guard *g = push_guard(L, "read_file");
  size_t len;
  MLB_CHECK(L, ml_read_all(mlb_ctx(L), fname, (size_t)max, &g->mem, &len, "read_file"));
  if (ml_mem_room(g->ctx, len, "read_file")) { guard_release(g); return mlb_fail(L); }
  lua_pushlstring(L, (const char *)g->mem, len);
  guard_release(g);
  return 1;
}

/* core.io_listdir(path) -> sorted list of names (no hidden files) */
static int l_listdir(lua_State *L) {
  const char *dir = luaL_checkstring(L, 1);
  char **names;
  size_t n;
  MLB_CHECK(L, ml_listdir(mlb_ctx(L), dir, &names, &n, "listdir"));
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    lua_pushstring(L, names[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  ml_listdir_free(names, n);
  return 1;
}

/* core.io_isdir(path) -> boolean; core.io_exists(path) -> boolean */
#include <sys/stat.h>
static int l_isdir(lua_State *L) {
  struct stat st;
  lua_pushboolean(L, stat(luaL_checkstring(L, 1), &st) == 0 && S_ISDIR(st.st_mode));
  return 1;
}
static int l_exists(lua_State *L) {
  struct stat st;
  lua_pushboolean(L, stat(luaL_checkstring(L, 1), &st) == 0);
  return 1;
}

/* ---- .npy and IDX ---- */

/* core.io_load_npy(path) -> tensor */
static int l_load_npy(lua_State *L) {
  const char *fname = luaL_checkstring(L, 1);
  guard *g = push_guard(L, "load_npy");
  ml_tensor t;
  MLB_CHECK(L, ml_map_file(mlb_ctx(L), &g->map, fname, "load_npy"));
  int rc = ml_npy_read(mlb_ctx(L), &t, g->map.data, g->map.size, "load_npy");
  guard_release(g);
  if (rc) return luaL_error(L, "%s (in '%s')", mlb_ctx(L)->err, fname);
  mlb_pushtensor(L, &t);
  return 1;
}

/* core.io_save_npy(path, tensor) */
static int l_save_npy(lua_State *L) {
  const char *fname = luaL_checkstring(L, 1);
  MLB_CHECK(L, ml_npy_save(mlb_ctx(L), fname, mlb_checktensor(L, 2)));
  return 0;
}

/* core.io_read_idx(path, dtype ("float32"|"int64"), scale) -> tensor */
static int l_read_idx(lua_State *L) {
  const char *fname = luaL_checkstring(L, 1);
  const char *dts = luaL_optstring(L, 2, "float32");
  double scale = luaL_optnumber(L, 3, 1.0);
  ml_dtype dt;
  if (!strcmp(dts, "float32")) dt = ML_F32;
  else if (!strcmp(dts, "int64")) dt = ML_I64;
  else return luaL_error(L, "read_idx: dtype must be \"float32\" or \"int64\", got \"%s\"", dts);
  guard *g = push_guard(L, "read_idx");
  ml_tensor t;
  MLB_CHECK(L, ml_map_file(mlb_ctx(L), &g->map, fname, "read_idx"));
  int rc = ml_idx_read(mlb_ctx(L), &t, g->map.data, g->map.size, dt, scale, "read_idx");
  guard_release(g);
  if (rc) return luaL_error(L, "%s (in '%s')", mlb_ctx(L)->err, fname);
  mlb_pushtensor(L, &t);
  return 1;
}

/* core.io_read_cifar10(path) -> images (N x 32 x 32 x 3 float32 in [0, 1]),
 * labels (N int64) */
static int l_read_cifar10(lua_State *L) {
  const char *fname = luaL_checkstring(L, 1);
  guard *g = push_guard(L, "cifar10");
  ml_tensor x, y;
  MLB_CHECK(L, ml_map_file(mlb_ctx(L), &g->map, fname, "cifar10"));
  int rc = ml_cifar10_read(mlb_ctx(L), &x, &y, g->map.data, g->map.size, "cifar10");
  guard_release(g);
  if (rc) return luaL_error(L, "%s (in '%s')", mlb_ctx(L)->err, fname);
  mlb_pushtensor(L, &x);
  mlb_pushtensor(L, &y);
  return 2;
}

/* core.io_data_dirs() -> "dir1:dir2:dir3": the installed share/mlrun/data
 * (compiled in), <dir of the running executable>/../share/mlrun/data (an
 * installation moved or made with another PREFIX), then the data/ folder of
 * the source tree the binary was built in. */
#ifndef MLRUN_DATA_INSTALLED
#define MLRUN_DATA_INSTALLED "/usr/local/share/mlrun/data"
#endif
#ifndef MLRUN_DATA_SOURCE
#define MLRUN_DATA_SOURCE ""
#endif
#include <unistd.h>
static int l_data_dirs(lua_State *L) {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  char *slash = n > 0 ? (exe[n] = 0, strrchr(exe, '/')) : NULL;
  if (slash) *slash = 0;
  lua_pushfstring(L, "%s:%s/../share/mlrun/data:%s", MLRUN_DATA_INSTALLED, slash ? exe : "",
                  MLRUN_DATA_SOURCE);
  return 1;
}

/* core.io_crc32(string) -> CRC-32 as an integer (zlib's polynomial) */
#include <zlib.h>
static int l_crc32(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  uLong c = crc32(0, NULL, 0);
  for (size_t off = 0; off < n;) {
    size_t part = n - off > (1u << 30) ? (1u << 30) : n - off;
    c = crc32(c, (const Bytef *)s + off, (uInt)part);
    off += part;
  }
  lua_pushinteger(L, (lua_Integer)c);
  return 1;
}

void mlb_open_io(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"serialize", l_serialize}, {"deserialize", l_deserialize},
    {"save", l_save}, {"load", l_load}, {"header", l_header},
    {"write_atomic", l_write_atomic}, {"read_file", l_read_file},
    {"listdir", l_listdir}, {"load_npy", l_load_npy}, {"save_npy", l_save_npy},
    {"read_idx", l_read_idx}, {"read_cifar10", l_read_cifar10}, {"data_dirs", l_data_dirs},
    {"crc32", l_crc32}, {"isdir", l_isdir}, {"exists", l_exists},
    {NULL, NULL}};
  if (luaL_newmetatable(L, GUARD)) {
    lua_pushcfunction(L, guard_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  mlb_register(L, fns);
}
