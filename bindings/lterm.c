/* lterm.c - terminal and clock queries for progress output: ml.core.isatty(fd),
 * ml.core.clock(). */
#include "mlb.h"
#include <time.h>
#include <unistd.h>

/* isatty(fd) -> true when file descriptor fd (0, 1, 2, ...) is a terminal. */
static int l_isatty(lua_State *L) {
  lua_Integer fd = luaL_optinteger(L, 1, 1);
  luaL_argcheck(L, fd >= 0 && fd <= 1 << 20, 1, "expected a file descriptor");
  lua_pushboolean(L, isatty((int)fd) == 1);
  return 1;
}

/* clock() -> seconds of a monotonic wall clock (for elapsed times and ETAs;
 * os.clock counts CPU time of every thread). */
static int l_clock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + 1e-9 * (lua_Number)ts.tv_nsec);
  return 1;
}

static const luaL_Reg functions[] = {{"isatty", l_isatty}, {"clock", l_clock}, {NULL, NULL}};

void mlb_open_term(lua_State *L) { mlb_register(L, functions); }
