/* options.c - checking Keras/sklearn-style option tables: every key must be
 * known, every value of the expected type, or the error names both. */
#include "mlb.h"
#include <string.h>

void mlb_opts_check(lua_State *L, int idx, const char *who, const char *const *allowed) {
  if (lua_isnoneornil(L, idx)) return;
  if (!lua_istable(L, idx))
    luaL_error(L, "%s: expected an options table, got %s", who, luaL_typename(L, idx));
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "%s: option names must be strings, got %s", who, luaL_typename(L, -1));
    const char *k = lua_tostring(L, -1);
    bool ok = false;
    for (int i = 0; allowed[i] && !ok; i++) ok = !strcmp(k, allowed[i]);
    if (!ok) {
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (int i = 0; allowed[i]; i++) {
        if (i) luaL_addstring(&b, ", ");
        luaL_addstring(&b, allowed[i]);
      }
      luaL_pushresult(&b);
      luaL_error(L, "%s: unknown option '%s' (expected one of: %s)", who, k, lua_tostring(L, -1));
    }
  }
}

/* Pushes opts[key] (nil when opts is absent). */
static int getopt_(lua_State *L, int idx, const char *key) {
  if (lua_isnoneornil(L, idx)) { lua_pushnil(L); return LUA_TNIL; }
  return lua_getfield(L, idx, key);
}

double mlb_opt_number(lua_State *L, int idx, const char *who, const char *key, double def) {
  int t = getopt_(L, idx, key);
  double v = def;
  if (t == LUA_TNUMBER) v = lua_tonumber(L, -1);
  else if (t != LUA_TNIL)
    luaL_error(L, "%s: option '%s' expected a number, got %s", who, key, lua_typename(L, t));
  lua_pop(L, 1);
  return v;
}

int64_t mlb_opt_integer(lua_State *L, int idx, const char *who, const char *key, int64_t def) {
  int t = getopt_(L, idx, key);
  int64_t v = def;
  if (t == LUA_TNUMBER && lua_isinteger(L, -1)) v = lua_tointeger(L, -1);
  else if (t == LUA_TNUMBER) {
    lua_Integer iv = 0;
    if (!lua_numbertointeger(lua_tonumber(L, -1), &iv))
      luaL_error(L, "%s: option '%s' expected an integer, got %f", who, key, lua_tonumber(L, -1));
    v = iv;
  } else if (t != LUA_TNIL)
    luaL_error(L, "%s: option '%s' expected an integer, got %s", who, key, lua_typename(L, t));
  lua_pop(L, 1);
  return v;
}

int mlb_opt_boolean(lua_State *L, int idx, const char *who, const char *key, int def) {
  int t = getopt_(L, idx, key);
  int v = def;
  if (t == LUA_TBOOLEAN) v = lua_toboolean(L, -1);
  else if (t != LUA_TNIL)
    luaL_error(L, "%s: option '%s' expected a boolean, got %s", who, key, lua_typename(L, t));
  lua_pop(L, 1);
  return v;
}

/* The returned string stays valid while the options table holds it. */
const char *mlb_opt_string(lua_State *L, int idx, const char *who, const char *key,
                           const char *def) {
  int t = getopt_(L, idx, key);
  const char *v = def;
  if (t == LUA_TSTRING) v = lua_tostring(L, -1);
  else if (t != LUA_TNIL)
    luaL_error(L, "%s: option '%s' expected a string, got %s", who, key, lua_typename(L, t));
  lua_pop(L, 1);
  return v;
}
