/* term.c - terminal queries for progress output: ml.core.isatty(fd). */
#include "mlb.h"
#include <unistd.h>

/* isatty(fd) -> true when file descriptor fd (0, 1, 2, ...) is a terminal. */
static int l_isatty(lua_State *L) {
  lua_Integer fd = luaL_optinteger(L, 1, 1);
  luaL_argcheck(L, fd >= 0 && fd <= 1 << 20, 1, "expected a file descriptor");
  lua_pushboolean(L, isatty((int)fd) == 1);
  return 1;
}

static const luaL_Reg functions[] = {{"isatty", l_isatty}, {NULL, NULL}};

void mlb_open_term(lua_State *L) { luaL_setfuncs(L, functions, 0); }
