/*
 * dist.h - multi-process communication for data-parallel training and
 * sweeps, through MPI (Debian's OpenMPI) when the process was started by a
 * launcher (mpirun/mpiexec), and as a single rank otherwise.
 *
 * MPI is loaded on demand from a plugin (ml_mpi.so, linked with -lmpi), so a
 * plain `mlrun` never pays libmpi's start-up cost. MPI is process-wide by
 * nature: several engines in one process share one communicator.
 */
#ifndef ML_DIST_H
#define ML_DIST_H
#include "../ml.h"

typedef enum { ML_DIST_SUM, ML_DIST_MAX, ML_DIST_MIN } ml_dist_op;

/* The plugin's entry points (filled by ml_mpi.so's ml_mpi_plugin()). */
typedef struct ml_dist_ops {
  int (*init)(int *rank, int *size, char *err, size_t errn);
  int (*allreduce_f32)(float *buf, int64_t n, ml_dist_op op);
  int (*allreduce_f64)(double *buf, int64_t n, ml_dist_op op);
  int (*broadcast_bytes)(void *buf, int64_t n, int root);
  /* Point-to-point messages of bytes with a tag (sweeps). recv: source -1 =
   * any; *len is the capacity in, the size out; returns the source rank. */
  int (*send_bytes)(const void *buf, int64_t n, int dest, int tag);
  int (*probe)(int source, int tag, int *src_out, int64_t *len_out, int block);
  int (*recv_bytes)(void *buf, int64_t cap, int source, int tag, int64_t *len_out);
  int (*barrier)(void);
  int (*finalize)(void);
  /* Non-blocking sum of n floats in place (n < 2^31); req: caller storage of
   * ML_DIST_REQ_BYTES for the request, completed by test or wait. */
  int (*iallreduce_f32)(float *buf, int64_t n, void *req);
  int (*test)(void *req, int *done);
  int (*wait)(void *req);
} ml_dist_ops;

#define ML_DIST_REQ_BYTES 64

/* A gradient bucket: tensors packed into buf (n floats, owned by the
 * caller) and summed over ranks by one non-blocking allreduce, started as
 * soon as the bucket's gradients are ready, so it runs while backward goes
 * on (PyTorch DDP's buckets). */
typedef struct ml_dist_bucket {
  float *buf;
  int64_t n;
  bool pending;
  unsigned char req[ML_DIST_REQ_BYTES];
} ml_dist_bucket;

typedef struct ml_dist {
  int rank, size;
  bool launched;          /* started under mpirun: MPI is (or will be) in use */
  const ml_dist_ops *ops; /* NULL until MPI is loaded */
  void *lib;
  float *pack;            /* reused buffer for ml_dist_allreduce_many */
  int64_t pack_cap;
} ml_dist;

/* Whether the environment says a launcher started us (OMPI/PMI variables). */
bool ml_dist_launched(void);
/* Loads MPI when launched (plugin path: $MLRUN_MPI_PLUGIN, else next to the
 * binary or module containing this code). Single rank otherwise. */
int ml_dist_init(ml_ctx *ctx, ml_dist *d);
int ml_dist_allreduce(ml_ctx *ctx, ml_dist *d, float *buf, int64_t n, ml_dist_op op);
int ml_dist_allreduce_f64(ml_ctx *ctx, ml_dist *d, double *buf, int64_t n, ml_dist_op op);
int ml_dist_broadcast(ml_ctx *ctx, ml_dist *d, void *buf, int64_t nbytes, int root);
int ml_dist_send(ml_ctx *ctx, ml_dist *d, const void *buf, int64_t n, int dest, int tag);
/* Waits (block) or checks for a message, filling src and len. Returns 1 when
 * one is there, 0 when not (non-blocking), ML_ERR on failure. */
int ml_dist_probe(ml_ctx *ctx, ml_dist *d, int source, int tag, int *src, int64_t *len, bool block);
int ml_dist_recv(ml_ctx *ctx, ml_dist *d, void *buf, int64_t cap, int source, int tag, int64_t *len);
/* Replaces each of n float32 tensors by the sum over ranks of scale * tensor,
 * in one message (packed into a reused buffer): with scale = local rows /
 * global rows this averages gradients exactly.
 * Every tensor must be contiguous float32. */
int ml_dist_allreduce_many(ml_ctx *ctx, ml_dist *d, ml_tensor *const *ts, int n, float scale);
/* Packs scale * ts[i] into b->buf (b->n must equal their total size) and
 * starts its allreduce; on one rank only scales. */
int ml_dist_bucket_start(ml_ctx *ctx, ml_dist *d, ml_dist_bucket *b, ml_tensor *const *ts, int n,
                         float scale);
/* Lets MPI progress a started bucket; *done tells whether it has finished. */
int ml_dist_bucket_test(ml_ctx *ctx, ml_dist *d, ml_dist_bucket *b, bool *done);
/* Waits for a started bucket and unpacks the sums into ts. */
int ml_dist_bucket_wait(ml_ctx *ctx, ml_dist *d, ml_dist_bucket *b, ml_tensor *const *ts, int n);
int ml_dist_barrier(ml_ctx *ctx, ml_dist *d);
void ml_dist_finalize(ml_dist *d);   /* also frees the pack buffer */
#endif
