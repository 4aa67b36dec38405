/* repl.h - the interactive loop of mlrun. */
#ifndef MLB_REPL_H
#define MLB_REPL_H
#include <lua.h>
/* Reads, evaluates and prints until end of input (Ctrl-D). */
void mlb_repl(lua_State *L);
/* lua_pcall during which Ctrl-C (SIGINT) raises "interrupted!" in the
 * running Lua code instead of killing the process. */
int mlb_pcall_interruptible(lua_State *L, int narg, int nres, int msgh);
#endif
