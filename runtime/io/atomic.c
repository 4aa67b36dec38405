/* atomic.c - crash-safe writes: temporary file in the target's directory,
 * fflush + fsync, rename over the target, fsync of the directory. */
#include "io.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

int ml_atomic_open(ml_ctx *ctx, ml_atomic *a, const char *path, const char *who) {
  memset(a, 0, sizeof *a);
  if (!path || !*path) return ml_error(ctx, "%s: expected a file path, got an empty string", who);
  size_t n = strlen(path);
  if (path[n - 1] == '/') return ml_error(ctx, "%s: '%s' is a directory", who, path);
  a->path = dup_str(path);
  a->tmp = malloc(n + 16);
  if (!a->path || !a->tmp) {
    free(a->tmp);   /* not created yet: abort must not unlink its garbage name */
    a->tmp = NULL;
    ml_atomic_abort(a);
    return ml_error(ctx, "%s: out of memory", who);
  }
  snprintf(a->tmp, n + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(a->tmp);
  if (fd < 0) {
    int e = errno;
    free(a->tmp);
    a->tmp = NULL;
    ml_atomic_abort(a);
    return ml_error(ctx, "%s: cannot create a file beside '%s': %s", who, path, strerror(e));
  }
  /* mkstemp makes 0600; give the file the usual 0666 & ~umask */
  mode_t um = umask(0);
  umask(um);
  fchmod(fd, 0666 & ~um);
  a->f = fdopen(fd, "wb");
  if (!a->f) {
    close(fd);
    ml_atomic_abort(a);
    return ml_error(ctx, "%s: cannot open '%s' for writing", who, path);
  }
  return ML_OK;
}

static void sync_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char dir[4096];
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == path) snprintf(dir, sizeof dir, "/");
  else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) { fsync(fd); close(fd); }
}

int ml_atomic_commit(ml_ctx *ctx, ml_atomic *a, const char *who) {
  if (!a->f) return ml_error(ctx, "%s: file is not open", who);
  int bad = ferror(a->f) || fflush(a->f) != 0 || fsync(fileno(a->f)) != 0;
  int e = errno;
  if (fclose(a->f) != 0 && !bad) { bad = 1; e = errno; }
  a->f = NULL;
  if (bad) {
    ml_error(ctx, "%s: writing '%s' failed: %s", who, a->path, strerror(e));
    ml_atomic_abort(a);
    return ML_ERR;
  }
  if (rename(a->tmp, a->path) != 0) {
    e = errno;
    ml_error(ctx, "%s: cannot replace '%s': %s", who, a->path, strerror(e));
    ml_atomic_abort(a);
    return ML_ERR;
  }
  sync_dir(a->path);
  free(a->tmp);
  free(a->path);
  memset(a, 0, sizeof *a);
  return ML_OK;
}

void ml_atomic_abort(ml_atomic *a) {
  if (a->f) fclose(a->f);
  if (a->tmp) unlink(a->tmp);
  free(a->tmp);
  free(a->path);
  memset(a, 0, sizeof *a);
}

int ml_write_atomic(ml_ctx *ctx, const char *path, const void *data, size_t n,
                    const char *who) {
  ml_atomic a;
  if (ml_atomic_open(ctx, &a, path, who)) return ML_ERR;
  if (n && fwrite(data, 1, n, a.f) != n) {
    int e = errno;
    ml_atomic_abort(&a);
    return ml_error(ctx, "%s: writing '%s' failed: %s", who, path, strerror(e));
  }
  return ml_atomic_commit(ctx, &a, who);
}
