/* module.c - luaopen_ml: the engine context of a Lua state, the ml.core
 * table of C functions, and the Lua standard library (stdlib/ml/ Lua files)
 * compiled into the binary and served through package.preload. */
#include "mlb.h"
#include "stdlib_embed.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char ctx_key = 0;   /* its address is the registry key */

ml_ctx *mlb_ctx(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &ctx_key);
  ml_ctx *ctx = (ml_ctx *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (!ctx) luaL_error(L, "ml: engine not initialised (require 'ml' first)");
  return ctx;
}

int mlb_fail(lua_State *L) {
  ml_ctx *ctx = mlb_ctx(L);
  return luaL_error(L, "%s", ctx->err);
}

/* lua.c's message handler: the message (or a __tostring of the error
 * object) with a traceback. */
int mlb_msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

void mlb_register(lua_State *L, const luaL_Reg *fns) {
  for (; fns->name; fns++) {
    if (lua_getfield(L, -1, fns->name) != LUA_TNIL)
      luaL_error(L, "ml.core: '%s' is registered twice in one area (bindings/families.h)",
                 fns->name);
    lua_pop(L, 1);
    lua_pushcfunction(L, fns->func);
    lua_setfield(L, -2, fns->name);
  }
}

static int ctx_gc(lua_State *L) {
  ml_ctx_free((ml_ctx *)lua_touserdata(L, 1));
  return 0;
}

static void reclaim(void *ud) {
  lua_gc((lua_State *)ud, LUA_GCCOLLECT);
}

static int default_threads(void) {
  const char *env = getenv("MLRUN_THREADS");
  if (!env) env = getenv("OMP_NUM_THREADS");
  long n = env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
  return n >= 1 && n <= 1024 ? (int)n : 1;
}

/* Created first, so closed last: every tensor is released before it. */
static void open_ctx(lua_State *L) {
  ml_ctx *ctx = (ml_ctx *)lua_newuserdatauv(L, sizeof(ml_ctx), 0);
  ml_ctx_init(ctx);
  ml_set_threads(ctx, default_threads());
  ctx->reclaim = reclaim;
  ctx->reclaim_ud = L;
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, ctx_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &ctx_key);
}

/* Loads stdlib module `name`: from $MLRUN_STDLIB/<path> when that is set
 * (developers editing Lua without rebuilding), else from the embedded copy. */
static int load_stdlib(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  const mlb_source *src = NULL;
  for (const mlb_source *s = mlb_stdlib; s->name; s++)
    if (!strcmp(s->name, name)) src = s;
  if (!src) return luaL_error(L, "ml: no stdlib module '%s'", name);
  const char *dir = getenv("MLRUN_STDLIB");
  int rc;
  if (dir && *dir) {
    lua_pushfstring(L, "%s/%s", dir, src->path);
    rc = luaL_loadfile(L, lua_tostring(L, -1));
  } else {
    lua_pushfstring(L, "@stdlib/%s", src->path);
    rc = luaL_loadbuffer(L, (const char *)src->code, src->len, lua_tostring(L, -1));
  }
  if (rc != LUA_OK) return lua_error(L);
  lua_pushstring(L, name);
  lua_call(L, 1, 1);
  return 1;
}

static void preload_stdlib(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const mlb_source *s = mlb_stdlib; s->name; s++) {
    if (!strcmp(s->name, "ml")) continue;   /* the facade is run by luaopen_ml */
    lua_pushcfunction(L, load_stdlib);
    lua_setfield(L, -2, s->name);
  }
  lua_pop(L, 1);
}

/* The entry point of the Lua C module (ml.so, `require "ml"`): the one
 * symbol other than mlrun.h's API built with default visibility. */
__attribute__((visibility("default"))) int luaopen_ml(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &ctx_key);
  bool fresh = lua_isnil(L, -1);
  lua_pop(L, 1);
  if (fresh) open_ctx(L);
  lua_newtable(L);                         /* ml.core */
#define MLB_FAMILY(area, family) \
  luaL_getsubtable(L, -1, #area); mlb_open_##family(L); lua_pop(L, 1);
#include "families.h"
#undef MLB_FAMILY
  lua_pushstring(L, ML_VERSION);
  lua_setfield(L, -2, "version");
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "ml.core");
  lua_pop(L, 1);
  preload_stdlib(L);
  /* run the facade stdlib/ml/init.lua with the core table */
  lua_pushcfunction(L, load_stdlib);
  lua_pushstring(L, "ml");
  lua_call(L, 1, 1);
  return 1;
}
