/* lsys.c - ml.core.sys: the process primitives of runtime/sys/ for
 * ml.parallel (fork, pipes with length-prefixed messages, poll, wait, kill,
 * _exit, SIGPIPE scoping, cpu count) and ml.sweep (durable line appends). */
#include "mlb.h"
#include "../runtime/sys/sys.h"
#include <signal.h>
#include <string.h>

/* fork() -> pid in the parent, 0 in the child */
static int l_fork(lua_State *L) {
  int64_t pid;
  MLB_CHECK(L, ml_sys_fork(mlb_ctx(L), &pid));
  lua_pushinteger(L, (lua_Integer)pid);
  return 1;
}

/* pipe() -> read fd, write fd */
static int l_pipe(lua_State *L) {
  int fd[2];
  MLB_CHECK(L, ml_sys_pipe(mlb_ctx(L), fd));
  lua_pushinteger(L, fd[0]);
  lua_pushinteger(L, fd[1]);
  return 2;
}

static int l_close(lua_State *L) {
  ml_sys_close((int)luaL_checkinteger(L, 1));
  return 0;
}

/* send(fd, s) -> true, or nil + the system's message */
static int l_send(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  int err = ml_sys_send(fd, s, n);
  if (err) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(err));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* recv(fd) -> the next message, nil at end of file (the writer is gone), or
 * nil + "truncated" when the writer died mid-message */
static int l_recv(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  uint64_t len;
  int rc = ml_sys_recv_len(fd, &len);
  if (rc == 0) { lua_pushnil(L); return 1; }
  if (rc < 0) { lua_pushnil(L); lua_pushliteral(L, "truncated"); return 2; }
  if (len > ((uint64_t)1 << 40)) return luaL_error(L, "parallel: corrupt message length");
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, (size_t)len);
  if (len && ml_sys_read_all(fd, p, (size_t)len) != 1) {
    lua_pushnil(L);
    lua_pushliteral(L, "truncated");
    return 2;
  }
  luaL_pushresultsize(&b, (size_t)len);
  return 1;
}

/* poll({fd, ...} [, timeout_s]) -> 1-based position of a readable (or hung-up)
 * fd, or nothing when timeout_s passes first (no timeout: wait) */
static int l_poll(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  double timeout = luaL_optnumber(L, 2, -1);
  int n = (int)lua_rawlen(L, 1);
  if (n < 1 || n > 4096) return luaL_error(L, "parallel: poll of %d descriptors", n);
  int *fds = lua_newuserdatauv(L, sizeof(int) * (size_t)n, 0);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    fds[i] = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
  }
  int ready;
  MLB_CHECK(L, ml_sys_poll(mlb_ctx(L), fds, n, timeout, &ready));
  if (ready < 0) return 0;
  lua_pushinteger(L, ready + 1);
  return 1;
}

/* wait(pid) -> "exited", code | "signaled", signal number | "gone", 0 */
static int l_wait(lua_State *L) {
  bool sig;
  int code;
  if (!ml_sys_wait(luaL_checkinteger(L, 1), &sig, &code)) {
    lua_pushliteral(L, "gone");
    lua_pushinteger(L, 0);
    return 2;
  }
  lua_pushstring(L, sig ? "signaled" : "exited");
  lua_pushinteger(L, code);
  return 2;
}

/* kill(pid [, signal = SIGKILL]) */
static int l_kill(lua_State *L) {
  ml_sys_kill(luaL_checkinteger(L, 1), (int)luaL_optinteger(L, 2, SIGKILL));
  return 0;
}

/* exit([code = 0]) in a child: _exit, no Lua state teardown */
static int l_exit(lua_State *L) {
  ml_sys_exit((int)luaL_optinteger(L, 1, 0));
}

/* sigpipe(ignore): ignore SIGPIPE while workers run (nested), then restore */
static int l_sigpipe(lua_State *L) {
  ml_sys_ignore_sigpipe(lua_toboolean(L, 1));
  return 0;
}

static int l_ncpu(lua_State *L) {
  lua_pushinteger(L, ml_sys_ncpu());
  return 1;
}

static int l_getpid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)ml_sys_getpid());
  return 1;
}

/* append_line(path, text): one O_APPEND write then fsync, so a crash leaves
 * either the whole line or none of it (readers ignore a torn tail that lacks
 * the final newline) */
static int l_append_line(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  MLB_CHECK(L, ml_sys_append(mlb_ctx(L), path, s, n));
  return 0;
}

/* log_repair(path) -> bytes cut from a torn last line (ml_sys_log_repair) */
static int l_log_repair(lua_State *L) {
  int64_t cut;
  MLB_CHECK(L, ml_sys_log_repair(mlb_ctx(L), luaL_checkstring(L, 1), &cut));
  lua_pushinteger(L, (lua_Integer)cut);
  return 1;
}

/* log_kind(path) -> "file", "missing" or "other" */
static int l_log_kind(lua_State *L) {
  lua_pushstring(L, ml_sys_file_kind(luaL_checkstring(L, 1)));
  return 1;
}

static const luaL_Reg functions[] = {
  {"fork", l_fork}, {"pipe", l_pipe}, {"close", l_close}, {"send", l_send},
  {"recv", l_recv}, {"poll", l_poll}, {"wait", l_wait}, {"kill", l_kill},
  {"exit", l_exit}, {"sigpipe", l_sigpipe}, {"ncpu", l_ncpu}, {"getpid", l_getpid},
  {"append_line", l_append_line}, {"log_repair", l_log_repair}, {"log_kind", l_log_kind},
  {NULL, NULL}};

void mlb_open_sys(lua_State *L) { mlb_register(L, functions); }
