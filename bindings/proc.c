/* proc.c - durable appends for logs that must survive a crash at any
 * instant (sweep logs). The process primitives are in workers.c. */
#include "mlb.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* append_line(path, text): one write with O_APPEND, then fsync, so a crash
 * leaves either the whole line or none of it (a torn tail is ignored by
 * readers that require the final newline). */
static int l_append_line(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return luaL_error(L, "append_line: cannot open '%s': %s", path, strerror(errno));
  int rc = 0;
  while (n > 0 && rc == 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0) { if (errno != EINTR) rc = -1; continue; }
    s += w;
    n -= (size_t)w;
  }
  /* a device or pipe (a log on /dev/null) needs no sync and refuses it */
  if (rc == 0 && fsync(fd) != 0 && errno != EINVAL && errno != EROFS) rc = -1;
  int err = errno;
  close(fd);
  if (rc) return luaL_error(L, "append_line: cannot write '%s': %s", path, strerror(err));
  return 0;
}

/* log_repair(path): a log whose last line is torn (a crash in the middle of
 * a write, a copy cut short) is truncated after its last newline, so the
 * next append starts a line of its own. Returns the bytes cut (0 when the
 * file is whole, missing, or not a regular file). */
static int l_log_repair(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
    if (fd >= 0) close(fd);
    lua_pushinteger(L, 0);
    return 1;
  }
  off_t end = st.st_size, keep = 0, pos = end;   /* no newline: all of it is torn */
  char buf[4096];
  while (pos > 0) {   /* scan back for the last newline */
    off_t from = pos > (off_t)sizeof buf ? pos - (off_t)sizeof buf : 0;
    ssize_t n = pread(fd, buf, (size_t)(pos - from), from);
    if (n != pos - from) {
      int e = n < 0 ? errno : EIO;
      close(fd);
      return luaL_error(L, "log_repair: cannot read '%s': %s", path, strerror(e));
    }
    ssize_t i = n;
    while (i > 0 && buf[i - 1] != '\n') i--;
    if (i > 0) { keep = from + i; break; }
    pos = from;
  }
  int rc = keep < end ? ftruncate(fd, keep) : 0;
  if (rc == 0 && keep < end) rc = fsync(fd);
  int e = errno;
  close(fd);
  if (rc) return luaL_error(L, "log_repair: cannot truncate '%s': %s", path, strerror(e));
  lua_pushinteger(L, (lua_Integer)(end - keep));
  return 1;
}

/* log_kind(path) -> "file", "missing" or "other" (a device or pipe, which a
 * reader must not read to its end: /dev/full and /dev/zero never end). */
static int l_log_kind(lua_State *L) {
  struct stat st;
  const char *path = luaL_checkstring(L, 1);
  lua_pushstring(L, stat(path, &st) != 0 ? "missing" : S_ISREG(st.st_mode) ? "file" : "other");
  return 1;
}

static const luaL_Reg functions[] = {{"append_line", l_append_line}, {"log_repair", l_log_repair},
                                     {"log_kind", l_log_kind}, {NULL, NULL}};

void mlb_open_proc(lua_State *L) { luaL_setfuncs(L, functions, 0); }
