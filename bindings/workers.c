/* workers.c - family `workers`: the process primitives ml.parallel builds on
 * (stdlib/ml/parallel.lua): fork, pipes carrying length-prefixed messages,
 * poll, wait, kill and _exit.
 * POSIX only. Each worker is a forked copy of the Lua state, so a child runs
 * the caller's function on its own state with no sharing. */
#include "mlb.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail_errno(lua_State *L, const char *who) {
  return luaL_error(L, "%s: %s", who, strerror(errno));
}

/* fork(): pid in the parent, 0 in the child. stdio is flushed first so
 * buffered output is not written twice. */
static int l_fork(lua_State *L) {
  fflush(NULL);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return fail_errno(L, "parallel: fork");
  if (pid == 0) {
    /* a worker dies with its parent (a killed sweep leaves no orphans) */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(4);
  }
  lua_pushinteger(L, pid);
  return 1;
}

/* pipe(): read fd, write fd (close-on-exec). */
static int l_pipe(lua_State *L) {
  int fd[2];
  if (pipe(fd) != 0) return fail_errno(L, "parallel: pipe");
  fcntl(fd[0], F_SETFD, FD_CLOEXEC);
  fcntl(fd[1], F_SETFD, FD_CLOEXEC);
  lua_pushinteger(L, fd[0]);
  lua_pushinteger(L, fd[1]);
  return 2;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) { if (errno == EINTR) continue; return -1; }
    p += w; n -= (size_t)w;
  }
  return 0;
}

/* 1: all read; 0: clean end of file before any byte; -1: error or short. */
static int read_all(int fd, char *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, p + got, n - got);
    if (r < 0) { if (errno == EINTR) continue; return -1; }
    if (r == 0) return got == 0 ? 0 : -1;
    got += (size_t)r;
  }
  return 1;
}

/* send(fd, s): one message (8-byte length + bytes). true, or nil + message. */
static int l_send(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  uint64_t len = n;
  if (write_all(fd, (const char *)&len, sizeof len) || write_all(fd, s, n)) {
    lua_pushnil(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* recv(fd): the next message, or nil at end of file (the writer is gone),
 * or nil + "truncated" when the writer died mid-message. */
static int l_recv(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  uint64_t len;
  int rc = read_all(fd, (char *)&len, sizeof len);
  if (rc == 0) { lua_pushnil(L); return 1; }
  if (rc < 0) { lua_pushnil(L); lua_pushliteral(L, "truncated"); return 2; }
  if (len > ((uint64_t)1 << 40)) return luaL_error(L, "parallel: corrupt message length");
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, (size_t)len);
  if (len && read_all(fd, p, (size_t)len) != 1) {
    lua_pushnil(L); lua_pushliteral(L, "truncated"); return 2;
  }
  luaL_pushresultsize(&b, (size_t)len);
  return 1;
}

/* poll({fd, ...} [, timeout_s]): the 1-based position of a readable (or
 * hung-up) fd, or nil when timeout_s passes first (no timeout: wait). */
static int l_poll(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = (int)lua_rawlen(L, 1);
  double timeout = luaL_optnumber(L, 2, -1);
  int ms = timeout < 0 ? -1 : (int)(timeout * 1000 + 0.5);
  if (n < 1 || n > 4096) return luaL_error(L, "parallel: poll of %d descriptors", n);
  struct pollfd *p = lua_newuserdatauv(L, sizeof(struct pollfd) * (size_t)n, 0);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    p[i].fd = (int)lua_tointeger(L, -1);
    p[i].events = POLLIN;
    p[i].revents = 0;
    lua_pop(L, 1);
  }
  for (;;) {
    int r = poll(p, (nfds_t)n, ms);
    if (r < 0) { if (errno == EINTR) continue; return fail_errno(L, "parallel: poll"); }
    if (r == 0) return 0;
    for (int i = 0; i < n; i++)
      if (p[i].revents) { lua_pushinteger(L, i + 1); return 1; }
  }
}

static int l_close(lua_State *L) {
  close((int)luaL_checkinteger(L, 1));
  return 0;
}

/* wait(pid): "exited", code | "signaled", signal number. */
static int l_wait(lua_State *L) {
  pid_t pid = (pid_t)luaL_checkinteger(L, 1);
  int st;
  for (;;) {
    pid_t r = waitpid(pid, &st, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      lua_pushliteral(L, "gone");
      lua_pushinteger(L, 0);
      return 2;
    }
    break;
  }
  if (WIFSIGNALED(st)) { lua_pushliteral(L, "signaled"); lua_pushinteger(L, WTERMSIG(st)); }
  else { lua_pushliteral(L, "exited"); lua_pushinteger(L, WEXITSTATUS(st)); }
  return 2;
}

static int l_kill(lua_State *L) {
  kill((pid_t)luaL_checkinteger(L, 1), (int)luaL_optinteger(L, 2, SIGKILL));
  return 0;
}

/* _exit(code) in a child: no atexit handlers, no Lua state teardown. */
static int l_exit(lua_State *L) {
  fflush(NULL);
  _exit((int)luaL_optinteger(L, 1, 0));
  return 0;
}

/* sigpipe(ignore): while workers run, a write to a dead worker must fail with
 * EPIPE instead of killing the parent; the previous action is restored after. */
static struct sigaction saved_pipe;
static int pipe_depth = 0;
static int l_sigpipe(lua_State *L) {
  if (lua_toboolean(L, 1)) {
    if (pipe_depth++ == 0) {
      struct sigaction ign;
      memset(&ign, 0, sizeof ign);
      ign.sa_handler = SIG_IGN;
      sigaction(SIGPIPE, &ign, &saved_pipe);
    }
  } else if (pipe_depth > 0 && --pipe_depth == 0) {
    sigaction(SIGPIPE, &saved_pipe, NULL);
  }
  return 0;
}

static int l_ncpu(lua_State *L) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  lua_pushinteger(L, n > 0 ? n : 1);
  return 1;
}

static int l_getpid(lua_State *L) {
  lua_pushinteger(L, getpid());
  return 1;
}

static const luaL_Reg functions[] = {
  {"fork", l_fork}, {"pipe", l_pipe}, {"send", l_send},
  {"recv", l_recv}, {"poll", l_poll}, {"close", l_close},
  {"wait", l_wait}, {"kill", l_kill}, {"exit", l_exit},
  {"sigpipe", l_sigpipe}, {"ncpu", l_ncpu}, {"getpid", l_getpid},
  {NULL, NULL}};

void mlb_open_workers(lua_State *L) { luaL_setfuncs(L, functions, 0); }
