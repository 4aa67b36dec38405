/* fuzz_common.h - libFuzzer harness shared by every target: one engine for
 * the whole run; each input goes to a Lua function (TARGET_CODE returns it)
 * as a string and, for readers that take paths, as a file. Lua errors are
 * the expected outcome of bad input; a crash, a sanitizer report or a leak
 * is a finding. Targets define TARGET_CODE and TARGET_EXT, then include this. */
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int luaopen_ml(lua_State *L);

static lua_State *L;
static int fn_ref;
static char path[256];
static unsigned long runs;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc; (void)argv;
  L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "ml", luaopen_ml, 1);
  lua_pop(L, 1);
  snprintf(path, sizeof path, "/tmp/mlrun-fuzz-%d%s", (int)getpid(), TARGET_EXT);
  if (luaL_loadstring(L, TARGET_CODE) || lua_pcall(L, 0, 1, 0)) {
    fprintf(stderr, "fuzz target does not load: %s\n", lua_tostring(L, -1));
    abort();
  }
  fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  /* a small memory cap: inputs that claim huge sizes must fail cleanly */
  if (luaL_dostring(L, "ml.set_memory_limit(256 * 2^20)")) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (TARGET_EXT[0]) {
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    fwrite(data, 1, size, f);
    fclose(f);
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, fn_ref);
  lua_pushlstring(L, (const char *)data, size);
  lua_pushstring(L, path);
  lua_pcall(L, 2, 0, 0);   /* errors are fine: only crashes count */
  lua_settop(L, 0);
  if (++runs % 256 == 0) lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
