/* atomic.c - crash-safe writes: temporary file in the target's directory,
 * fflush + fsync, rename over the target, fsync of the directory.
 *
 * Special targets: a symlink is followed to the file it names (the link
 * stays a link and the file it points to is replaced); a target that exists
 * and is not a regular file (/dev/null, /dev/full, a FIFO, a terminal) is
 * written in place, since renaming over it would replace the device or pipe
 * by a regular file. Every write error (ENOSPC on /dev/full, EIO) is
 * reported: nothing is lost silently. */
#include "io.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* Follows symlinks from path (at most 40, as the kernel) to the final name,
 * which may not exist yet (a dangling link names the file to create).
 * Returns a malloc'd path, or NULL with errno set (ELOOP, ENOMEM). */
static char *resolve_links(const char *path) {
  char *p = dup_str(path);
  for (int hops = 0; p; hops++) {
    struct stat st;
    if (lstat(p, &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    if (hops == 40) { free(p); errno = ELOOP; return NULL; }
    char target[PATH_MAX];
    ssize_t n = readlink(p, target, sizeof target - 1);
    if (n < 0) { free(p); return NULL; }
    target[n] = 0;
    char *next;
    const char *slash = strrchr(p, '/');
    if (target[0] == '/' || !slash) {
      next = dup_str(target);
    } else {   /* relative to the link's own directory */
      size_t dl = (size_t)(slash - p) + 1, tl = (size_t)n;
      next = malloc(dl + tl + 1);
      if (next) { memcpy(next, p, dl); memcpy(next + dl, target, tl + 1); }
    }
    free(p);
    p = next;
  }
  errno = ENOMEM;
  return NULL;
}

int ml_atomic_open(ml_ctx *ctx, ml_atomic *a, const char *path, const char *who) {
  memset(a, 0, sizeof *a);
  if (!path || !*path) return ml_error(ctx, "%s: expected a file path, got an empty string", who);
  size_t n = strlen(path);
  if (path[n - 1] == '/') return ml_error(ctx, "%s: '%s' is a directory", who, path);
  a->path = resolve_links(path);
  if (!a->path) {
    int e = errno;
    return ml_error(ctx, "%s: cannot follow the link '%s': %s", who, path, strerror(e));
  }
  struct stat st;
  if (stat(a->path, &st) == 0 && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) {
      ml_atomic_abort(a);
      return ml_error(ctx, "%s: '%s' is a directory", who, path);
    }
    /* a device or a pipe: write into it, never replace it */
    int fd = open(a->path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 || !(a->f = fdopen(fd, "wb"))) {
      int e = errno;
      if (fd >= 0) close(fd);
      ml_atomic_abort(a);
      return ml_error(ctx, "%s: cannot open '%s' for writing: %s", who, path, strerror(e));
    }
    a->in_place = 1;
    return ML_OK;
  }
  n = strlen(a->path);
  a->tmp = malloc(n + 16);
  if (!a->tmp) {
    ml_atomic_abort(a);
    return ml_error(ctx, "%s: out of memory", who);
  }
  snprintf(a->tmp, n + 16, "%s.tmp.XXXXXX", a->path);
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
  errno = EIO;   /* what ferror reports when the failed call's errno is gone */
  int bad = ferror(a->f) || fflush(a->f) != 0;
  /* devices and pipes need no sync (and most refuse it with EINVAL) */
  if (!bad && fsync(fileno(a->f)) != 0 && !(a->in_place && (errno == EINVAL || errno == EROFS)))
    bad = 1;
  int e = errno;
  if (fclose(a->f) != 0 && !bad) { bad = 1; e = errno; }
  a->f = NULL;
  if (a->in_place) {
    if (bad) ml_error(ctx, "%s: writing '%s' failed: %s", who, a->path, strerror(e));
    ml_atomic_abort(a);
    return bad ? ML_ERR : ML_OK;
  }
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
