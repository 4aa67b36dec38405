/* proc.c - worker processes for sweeps and n_jobs: fork a child that runs a
 * Lua function in its own copy of the state and sends back one string; poll
 * many children with a timeout; kill and reap them. Plus durable log
 * appends (the clock and isatty are in term.c).
 *
 * Children run with one thread: GNU OpenMP cannot start a thread team in a
 * forked child once the parent has used one (the child hangs), so a worker
 * must stay single-threaded; several workers fill the cores instead. */
#define _GNU_SOURCE
#include "mlb.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) { if (errno == EINTR) continue; return -1; }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Runs in the child: fn() must return a string; the pipe gets 'O' + string,
 * or 'E' + error message. Leaves with _exit so no atexit handler (MPI,
 * stdio of the parent) runs twice. */
static void child_main(lua_State *L, int fd) {
  lua_pushvalue(L, 1);
  int ok = lua_pcall(L, 0, 1, 0) == LUA_OK;
  size_t n = 0;
  const char *s;
  if (ok && lua_type(L, -1) != LUA_TSTRING) {
    ok = 0;
    s = "worker function did not return a string";
    n = strlen(s);
  } else {
    s = lua_tolstring(L, -1, &n);
    if (!s) { s = "(error object is not a string)"; n = strlen(s); }
  }
  char tag = ok ? 'O' : 'E';
  fflush(stdout);
  fflush(stderr);
  int rc = write_all(fd, &tag, 1) || write_all(fd, s, n);
  _exit(rc ? 3 : 0);
}

/* proc_fork(fn) -> pid, fd */
static int l_fork(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  int fds[2];
  if (pipe(fds)) return luaL_error(L, "proc_fork: pipe failed: %s", strerror(errno));
  fflush(NULL);   /* nothing buffered is written twice */
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]); close(fds[1]);
    return luaL_error(L, "proc_fork: fork failed: %s", strerror(errno));
  }
  if (pid == 0) {
    close(fds[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);    /* die with the parent */
    if (getppid() != parent) _exit(4);   /* parent already gone */
    signal(SIGINT, SIG_DFL);
    ml_set_threads(mlb_ctx(L), 1);
    child_main(L, fds[1]);
  }
  close(fds[1]);
  fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  lua_pushinteger(L, pid);
  lua_pushinteger(L, fds[0]);
  return 2;
}

/* proc_poll({fd1, fd2, ...}, timeout_s) -> {[i] = chunk | false (EOF)} for
 * the fds that had something; waits at most timeout_s (nil: forever). */
static int l_poll(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = (int)lua_rawlen(L, 1);
  double timeout = luaL_optnumber(L, 2, -1);
  struct pollfd *p = (struct pollfd *)lua_newuserdatauv(L, sizeof *p * (n ? n : 1), 0);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    p[i].fd = (int)luaL_checkinteger(L, -1);
    p[i].events = POLLIN;
    p[i].revents = 0;
    lua_pop(L, 1);
  }
  int ms = timeout < 0 ? -1 : (int)(timeout * 1000 + 0.5);
  int rc;
  do rc = poll(p, (nfds_t)n, ms); while (rc < 0 && errno == EINTR);
  if (rc < 0) return luaL_error(L, "proc_poll: %s", strerror(errno));
  lua_newtable(L);
  char buf[65536];
  for (int i = 0; i < n; i++) {
    if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    bool eof = false;
    size_t got = 0;
    for (;;) {
      ssize_t r = read(p[i].fd, buf, sizeof buf);
      if (r > 0) { luaL_addlstring(&b, buf, (size_t)r); got += (size_t)r; continue; }
      if (r == 0) eof = true;
      else if (errno == EINTR) continue;
      else if (errno != EAGAIN) eof = true;
      break;
    }
    luaL_pushresult(&b);
    if (got == 0 && eof) { lua_pop(L, 1); lua_pushboolean(L, 0); }
    else if (got == 0) { lua_pop(L, 1); continue; }
    lua_rawseti(L, -2, i + 1);   /* with data and EOF together, EOF shows on the next poll */
  }
  return 1;
}

/* proc_reap(pid [, block]) -> description ("exit 0", "signal 9") or nil */
static int l_reap(lua_State *L) {
  pid_t pid = (pid_t)luaL_checkinteger(L, 1);
  int block = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
  int st;
  pid_t r;
  do r = waitpid(pid, &st, block ? 0 : WNOHANG); while (r < 0 && errno == EINTR);
  if (r == 0) return 0;
  if (r < 0) return luaL_error(L, "proc_reap: %s", strerror(errno));
  if (WIFEXITED(st)) lua_pushfstring(L, "exit %d", WEXITSTATUS(st));
  else if (WIFSIGNALED(st)) lua_pushfstring(L, "signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
  else lua_pushstring(L, "stopped");
  return 1;
}

static int l_kill(lua_State *L) {
  pid_t pid = (pid_t)luaL_checkinteger(L, 1);
  if (pid > 0) kill(pid, SIGKILL);
  return 0;
}

static int l_close(lua_State *L) {
  close((int)luaL_checkinteger(L, 1));
  return 0;
}

/* append_line(path, text): one write with O_APPEND, then fsync, so a crash
 * leaves either the whole line or none of it (a torn tail is ignored by
 * readers that require the final newline). */
static int l_append_line(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return luaL_error(L, "append_line: cannot open '%s': %s", path, strerror(errno));
  int rc = write_all(fd, s, n);
  if (rc == 0) rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc) return luaL_error(L, "append_line: cannot write '%s': %s", path, strerror(err));
  return 0;
}

static int l_cpu_count(lua_State *L) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  lua_pushinteger(L, n > 0 ? n : 1);
  return 1;
}

static const luaL_Reg functions[] = {
  {"proc_fork", l_fork}, {"proc_poll", l_poll}, {"proc_reap", l_reap}, {"proc_kill", l_kill},
  {"proc_close", l_close}, {"append_line", l_append_line}, {"cpu_count", l_cpu_count},
  {NULL, NULL}};

void mlb_open_proc(lua_State *L) { luaL_setfuncs(L, functions, 0); }
