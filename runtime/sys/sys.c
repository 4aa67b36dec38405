/* sys.c - process primitives (sys.h): fork, pipes, messages, poll, wait,
 * kill, _exit, SIGPIPE scoping, durable appends. POSIX only. */
#include "sys.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail_errno(ml_ctx *ctx, const char *who) {
  return ml_error(ctx, "%s: %s", who, strerror(errno));
}

int ml_sys_fork(ml_ctx *ctx, int64_t *pid) {
  fflush(NULL);
  pid_t parent = getpid();
  pid_t p = fork();
  if (p < 0) return fail_errno(ctx, "parallel: fork");
  if (p == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(4);   /* the parent died before prctl */
  }
  *pid = p;
  return ML_OK;
}

int ml_sys_pipe(ml_ctx *ctx, int fd[2]) {
  if (pipe(fd) != 0) return fail_errno(ctx, "parallel: pipe");
  fcntl(fd[0], F_SETFD, FD_CLOEXEC);
  fcntl(fd[1], F_SETFD, FD_CLOEXEC);
  return ML_OK;
}

void ml_sys_close(int fd) { close(fd); }

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) { if (errno == EINTR) continue; return -1; }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int ml_sys_send(int fd, const void *data, size_t n) {
  uint64_t len = n;
  if (write_all(fd, (const char *)&len, sizeof len) || write_all(fd, data, n)) return errno;
  return 0;
}

int ml_sys_read_all(int fd, void *data, size_t n) {
  char *p = data;
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, p + got, n - got);
    if (r < 0) { if (errno == EINTR) continue; return -1; }
    if (r == 0) return got == 0 ? 0 : -1;
    got += (size_t)r;
  }
  return 1;
}

int ml_sys_recv_len(int fd, uint64_t *len) {
  return ml_sys_read_all(fd, len, sizeof *len);
}

int ml_sys_poll(ml_ctx *ctx, const int *fds, int n, double timeout_s, int *ready) {
  if (n < 1 || n > 4096) return ml_error(ctx, "parallel: poll of %d descriptors", n);
  int ms = timeout_s < 0 ? -1 : (int)(timeout_s * 1000 + 0.5);
  struct pollfd p[n];
  for (int i = 0; i < n; i++) p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
  for (;;) {
    int r = poll(p, (nfds_t)n, ms);
    if (r < 0) { if (errno == EINTR) continue; return fail_errno(ctx, "parallel: poll"); }
    *ready = -1;
    for (int i = 0; i < n && r > 0; i++)
      if (p[i].revents) { *ready = i; break; }
    return ML_OK;
  }
}

bool ml_sys_wait(int64_t pid, bool *signaled, int *code) {
  int st;
  while (waitpid((pid_t)pid, &st, 0) < 0)
    if (errno != EINTR) return false;
  *signaled = WIFSIGNALED(st);
  *code = *signaled ? WTERMSIG(st) : WEXITSTATUS(st);
  return true;
}

void ml_sys_kill(int64_t pid, int sig) { kill((pid_t)pid, sig); }

_Noreturn void ml_sys_exit(int code) {
  fflush(NULL);
  _exit(code);
}

/* The disposition SIGPIPE had before the outermost ignore, and the nesting
 * depth: process-wide, as the disposition itself is. */
static struct sigaction saved_pipe;
static int pipe_depth = 0;

void ml_sys_ignore_sigpipe(bool ignore) {
  if (ignore) {
    if (pipe_depth++ == 0) {
      struct sigaction ign;
      memset(&ign, 0, sizeof ign);
      ign.sa_handler = SIG_IGN;
      sigaction(SIGPIPE, &ign, &saved_pipe);
    }
  } else if (pipe_depth > 0 && --pipe_depth == 0) {
    sigaction(SIGPIPE, &saved_pipe, NULL);
  }
}

int ml_sys_ncpu(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

int64_t ml_sys_getpid(void) { return (int64_t)getpid(); }

int ml_sys_append(ml_ctx *ctx, const char *path, const char *text, size_t n) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ml_error(ctx, "append_line: cannot open '%s': %s", path, strerror(errno));
  int rc = write_all(fd, text, n);
  /* a device or pipe (a log on /dev/null) needs no sync and refuses it */
  if (rc == 0 && fsync(fd) != 0 && errno != EINVAL && errno != EROFS) rc = -1;
  int err = errno;
  close(fd);
  if (rc) return ml_error(ctx, "append_line: cannot write '%s': %s", path, strerror(err));
  return ML_OK;
}

int ml_sys_log_repair(ml_ctx *ctx, const char *path, int64_t *cut) {
  *cut = 0;
  int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
    if (fd >= 0) close(fd);
    return ML_OK;
  }
  off_t end = st.st_size, keep = 0, pos = end;   /* no newline: all of it is torn */
  char buf[4096];
  while (pos > 0) {   /* scan back for the last newline */
    off_t from = pos > (off_t)sizeof buf ? pos - (off_t)sizeof buf : 0;
    ssize_t n = pread(fd, buf, (size_t)(pos - from), from);
    if (n != pos - from) {
      int e = n < 0 ? errno : EIO;
      close(fd);
      return ml_error(ctx, "log_repair: cannot read '%s': %s", path, strerror(e));
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
  if (rc) return ml_error(ctx, "log_repair: cannot truncate '%s': %s", path, strerror(e));
  *cut = (int64_t)(end - keep);
  return ML_OK;
}

const char *ml_sys_file_kind(const char *path) {
  struct stat st;
  return stat(path, &st) != 0 ? "missing" : S_ISREG(st.st_mode) ? "file" : "other";
}
