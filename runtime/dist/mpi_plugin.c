/* mpi_plugin.c - the only file that includes mpi.h. Built apart as
 * ml_mpi.so (linked with -lmpi) and loaded by dist.c under a launcher. */
#include "dist.h"
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

/* MPI counts are int: long buffers go in chunks. */
#define CHUNK ((int64_t)1 << 30)

static MPI_Op op_of(ml_dist_op op) {
  return op == ML_DIST_MAX ? MPI_MAX : op == ML_DIST_MIN ? MPI_MIN : MPI_SUM;
}

static void finalize_at_exit(void) {
  int fin = 0;
  MPI_Finalized(&fin);
  if (!fin) MPI_Finalize();
}

/* MPI is process-wide: initialised once, finalised when the process exits
 * (forked workers must leave with _exit so they never finalise it). */
static int p_init(int *rank, int *size, char *err, size_t errn) {
  int inited = 0, provided;
  MPI_Initialized(&inited);
  if (!inited) {
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
      snprintf(err, errn, "MPI_Init_thread failed");
      return -1;
    }
    atexit(finalize_at_exit);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, rank);
  MPI_Comm_size(MPI_COMM_WORLD, size);
  return 0;
}

static int p_allreduce_f32(float *buf, int64_t n, ml_dist_op op) {
  for (int64_t i = 0; i < n; i += CHUNK) {
    int c = (int)(n - i < CHUNK ? n - i : CHUNK);
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf + i, c, MPI_FLOAT, op_of(op), MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return rc;
  }
  return 0;
}

static int p_allreduce_f64(double *buf, int64_t n, ml_dist_op op) {
  for (int64_t i = 0; i < n; i += CHUNK) {
    int c = (int)(n - i < CHUNK ? n - i : CHUNK);
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf + i, c, MPI_DOUBLE, op_of(op), MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return rc;
  }
  return 0;
}

static int p_broadcast(void *buf, int64_t n, int root) {
  for (int64_t i = 0; i < n; i += CHUNK) {
    int c = (int)(n - i < CHUNK ? n - i : CHUNK);
    int rc = MPI_Bcast((char *)buf + i, c, MPI_BYTE, root, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return rc;
  }
  return 0;
}

static int p_send(const void *buf, int64_t n, int dest, int tag) {
  if (n > CHUNK) return -1;
  return MPI_Send(buf, (int)n, MPI_BYTE, dest, tag, MPI_COMM_WORLD);
}

static int p_probe(int source, int tag, int *src, int64_t *len, int block) {
  MPI_Status st;
  int flag = 1, count;
  int s = source < 0 ? MPI_ANY_SOURCE : source;
  if (block) { if (MPI_Probe(s, tag, MPI_COMM_WORLD, &st) != MPI_SUCCESS) return -1; }
  else if (MPI_Iprobe(s, tag, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS) return -1;
  if (!flag) return 0;
  MPI_Get_count(&st, MPI_BYTE, &count);
  *src = st.MPI_SOURCE;
  *len = count;
  return 1;
}

static int p_recv(void *buf, int64_t cap, int source, int tag, int64_t *len) {
  MPI_Status st;
  int count;
  if (cap > CHUNK) cap = CHUNK;
  int rc = MPI_Recv(buf, (int)cap, MPI_BYTE, source < 0 ? MPI_ANY_SOURCE : source, tag,
                    MPI_COMM_WORLD, &st);
  if (rc != MPI_SUCCESS) return rc;
  MPI_Get_count(&st, MPI_BYTE, &count);
  *len = count;
  return 0;
}

static int p_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }

static int p_finalize(void) {
  int fin = 0;
  MPI_Finalized(&fin);
  return fin ? 0 : MPI_Finalize();
}

_Static_assert(sizeof(MPI_Request) <= ML_DIST_REQ_BYTES, "ML_DIST_REQ_BYTES too small");

static int p_iallreduce_f32(float *buf, int64_t n, void *req) {
  if (n > CHUNK) return -1;
  return MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                        (MPI_Request *)req);
}

static int p_test(void *req, int *done) {
  return MPI_Test((MPI_Request *)req, done, MPI_STATUS_IGNORE);
}

static int p_wait(void *req) { return MPI_Wait((MPI_Request *)req, MPI_STATUS_IGNORE); }

static const ml_dist_ops ops = {p_init, p_allreduce_f32, p_allreduce_f64, p_broadcast,
                                p_send, p_probe, p_recv, p_barrier, p_finalize,
                                p_iallreduce_f32, p_test, p_wait};

const ml_dist_ops *ml_mpi_plugin(void) { return &ops; }
