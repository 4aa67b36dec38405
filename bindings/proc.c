/* proc.c - durable appends for logs that must survive a crash at any
 * instant (sweep logs). The process primitives are in workers.c. */
#include "mlb.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
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
  if (rc == 0) rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc) return luaL_error(L, "append_line: cannot write '%s': %s", path, strerror(err));
  return 0;
}

static const luaL_Reg functions[] = {{"append_line", l_append_line}, {NULL, NULL}};

void mlb_open_proc(lua_State *L) { luaL_setfuncs(L, functions, 0); }
