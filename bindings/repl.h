/* repl.h - the interactive loop of mlrun. */
#ifndef MLB_REPL_H
#define MLB_REPL_H
#include <lua.h>
/* Reads, evaluates and prints until end of input. */
void mlb_repl(lua_State *L);
#endif
