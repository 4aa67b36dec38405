/* repl.c - the interactive loop: line editing and history through libedit
 * (BSD-licensed), expressions printed as results, multi-line input. */
#include "repl.h"
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <editline/readline.h>

static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    const char *eof = "<eof>";
    size_t le = strlen(eof);
    if (lmsg >= le && strcmp(msg + lmsg - le, eof) == 0) { lua_pop(L, 1); return 1; }
  }
  return 0;
}

void mlb_repl(lua_State *L) {
  char *line;
  luaL_Buffer *unused = NULL; (void)unused;
  while ((line = readline("> ")) != NULL) {
    lua_settop(L, 0);
    lua_pushstring(L, line);
    free(line);
    int status;
    for (;;) {
      const char *code = lua_tostring(L, 1);
      const char *ret = lua_pushfstring(L, "return %s;", code);
      status = luaL_loadbuffer(L, ret, strlen(ret), "=stdin");
      if (status == LUA_OK) { lua_remove(L, -2); break; }
      lua_pop(L, 2);
      status = luaL_loadbuffer(L, code, strlen(code), "=stdin");
      if (!incomplete(L, status)) break;
      char *more = readline(">> ");
      if (!more) return;
      lua_pushfstring(L, "%s\n%s", lua_tostring(L, 1), more);
      free(more);
      lua_replace(L, 1);
    }
    if (*lua_tostring(L, 1)) add_history(lua_tostring(L, 1));
    if (status == LUA_OK) status = lua_pcall(L, 0, LUA_MULTRET, 0);
    if (status != LUA_OK) {
      fprintf(stderr, "%s\n", lua_tostring(L, -1));
      continue;
    }
    int n = lua_gettop(L) - 1;
    if (n > 0) {
      lua_getglobal(L, "print");
      for (int i = 2; i <= n + 1; i++) lua_pushvalue(L, i);
      if (lua_pcall(L, n, 0, 0) != LUA_OK) fprintf(stderr, "%s\n", lua_tostring(L, -1));
    }
  }
  printf("\n");
}
