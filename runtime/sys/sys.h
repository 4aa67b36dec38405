/* sys.h - the engine's process primitives (POSIX), bound as ml.core.sys by
 * bindings/lsys.c and used by ml.parallel and ml.sweep: fork, pipes carrying
 * length-prefixed messages, poll, wait, kill, _exit, SIGPIPE scoping, and
 * durable line appends.
 *
 * Functions that can fail return ML_OK, or ML_ERR with ctx->err naming the
 * call and the system's reason. A forked worker is a copy of the whole
 * process (its Lua state included), so parent and child share nothing. */
#ifndef ML_SYS_H
#define ML_SYS_H
#include "../ml.h"
#include <stddef.h>

/* Forks after flushing stdio (buffered output is not written twice). *pid is
 * the child's pid in the parent, 0 in the child; the child dies with its
 * parent (a killed sweep leaves no orphans). */
int ml_sys_fork(ml_ctx *ctx, int64_t *pid);
/* A pipe: fd[0] reads, fd[1] writes; both close-on-exec. */
int ml_sys_pipe(ml_ctx *ctx, int fd[2]);
void ml_sys_close(int fd);

/* Messages: an 8-byte length, then the bytes. ml_sys_send returns 0, or the
 * errno of the failed write (EPIPE when the reader is gone). */
int ml_sys_send(int fd, const void *data, size_t n);
/* Reads the next message's length: 1 read, 0 clean end of file (the writer
 * is gone), -1 an error or a writer that died mid-length. */
int ml_sys_recv_len(int fd, uint64_t *len);
/* Reads exactly n bytes: 1 read, 0 end of file before any byte, -1 error or
 * a short read. */
int ml_sys_read_all(int fd, void *data, size_t n);

/* Waits until one of fds[0..n-1] (1 <= n <= 4096) is readable or hung up:
 * *ready is its position (0-based), or -1 when timeout_s (< 0: no limit)
 * passes first. */
int ml_sys_poll(ml_ctx *ctx, const int *fds, int n, double timeout_s, int *ready);
/* Reaps pid: *signaled and *code say how it ended (a signal number, or an
 * exit status). Returns false when pid is not a child of ours (already
 * reaped). */
bool ml_sys_wait(int64_t pid, bool *signaled, int *code);
void ml_sys_kill(int64_t pid, int sig);
/* _exit after flushing stdio: no atexit handlers, no Lua state teardown. */
_Noreturn void ml_sys_exit(int code);

/* While workers run, a write to a dead worker must fail with EPIPE instead
 * of killing the parent: ml_sys_ignore_sigpipe(true) ignores SIGPIPE,
 * (false) restores the previous action once every true is matched (nesting
 * counted). Process-wide, like the signal disposition it changes. */
void ml_sys_ignore_sigpipe(bool ignore);

int ml_sys_ncpu(void);
int64_t ml_sys_getpid(void);

/* Appends text (n bytes) to path with one O_APPEND write, then fsync, so a
 * crash leaves either the whole text or none of it. */
int ml_sys_append(ml_ctx *ctx, const char *path, const char *text, size_t n);
/* A log whose last line is torn (a crash mid-write, a copy cut short) is
 * truncated after its last newline, so the next append starts a line of its
 * own. *cut: the bytes removed (0 when the file is whole, missing, or not a
 * regular file). */
int ml_sys_log_repair(ml_ctx *ctx, const char *path, int64_t *cut);
/* "file", "missing" or "other" (a device or pipe, which a reader must not
 * read to its end: /dev/zero never ends). */
const char *ml_sys_file_kind(const char *path);

#endif
