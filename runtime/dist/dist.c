/* dist.c - single-rank behaviour and the on-demand loading of the MPI plugin. */
#define _GNU_SOURCE
#include "dist.h"
#include <dlfcn.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ml_dist_launched(void) {
  return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

/* Candidate plugin paths: explicit, then beside the object holding this code
 * (build/ml_mpi.so for build/mlrun or build/ml.so; PREFIX/lib/mlrun/ for an
 * installed PREFIX/bin/mlrun). */
static void *load_plugin(char *err, size_t errn) {
  const char *env = getenv("MLRUN_MPI_PLUGIN");
  if (env && *env) {
    void *h = dlopen(env, RTLD_NOW | RTLD_GLOBAL);
    if (!h) snprintf(err, errn, "%s", dlerror());
    return h;
  }
  Dl_info info;
  char self[4096], cand[4200];
  if (!dladdr((void *)&ml_dist_launched, &info) || !info.dli_fname) {
    snprintf(err, errn, "cannot locate the mlrun binary to find ml_mpi.so");
    return NULL;
  }
  if (!realpath(info.dli_fname, self)) snprintf(self, sizeof self, "%s", info.dli_fname);
  const char *dir = dirname(self);
  const char *rel[] = {"ml_mpi.so", "../lib/mlrun/ml_mpi.so", "../../mlrun/ml_mpi.so"};
  for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
    snprintf(cand, sizeof cand, "%s/%s", dir, rel[i]);
    /* RTLD_GLOBAL: OpenMPI loads its own components with dlopen and needs
     * libmpi's symbols visible to them. */
    void *h = dlopen(cand, RTLD_NOW | RTLD_GLOBAL);
    if (h) return h;
    snprintf(err, errn, "%s", dlerror());
  }
  return NULL;
}

int ml_dist_init(ml_ctx *ctx, ml_dist *d) {
  if (d->ops) return ML_OK;
  memset(d, 0, sizeof *d);
  d->size = 1;
  d->launched = ml_dist_launched();
  if (!d->launched) return ML_OK;
  char err[512] = "";
  void *h = load_plugin(err, sizeof err);
  if (!h) return ml_error(ctx, "dist: started under an MPI launcher but ml_mpi.so could not "
                          "be loaded (%.200s): build mlrun with MPI (apt-get install "
                          "libopenmpi-dev openmpi-bin; make WITH_MPI=yes) or set "
                          "MLRUN_MPI_PLUGIN to ml_mpi.so; without a launcher ml.dist runs "
                          "as one process", err);
  const ml_dist_ops *(*get)(void) = (const ml_dist_ops *(*)(void))dlsym(h, "ml_mpi_plugin");
  if (!get) return ml_error(ctx, "dist: ml_mpi.so has no ml_mpi_plugin entry point");
  const ml_dist_ops *ops = get();
  if (ops->init(&d->rank, &d->size, err, sizeof err))
    return ml_error(ctx, "dist: MPI initialisation failed: %s", err);
  d->ops = ops;
  d->lib = h;
  return ML_OK;
}

static int check(ml_ctx *ctx, const char *who, int rc) {
  return rc ? ml_error(ctx, "dist: %s failed (MPI error %d)", who, rc) : ML_OK;
}

int ml_dist_allreduce(ml_ctx *ctx, ml_dist *d, float *buf, int64_t n, ml_dist_op op) {
  if (!d->ops || d->size == 1) return ML_OK;
  return check(ctx, "allreduce", d->ops->allreduce_f32(buf, n, op));
}

int ml_dist_allreduce_f64(ml_ctx *ctx, ml_dist *d, double *buf, int64_t n, ml_dist_op op) {
  if (!d->ops || d->size == 1) return ML_OK;
  return check(ctx, "allreduce", d->ops->allreduce_f64(buf, n, op));
}

int ml_dist_broadcast(ml_ctx *ctx, ml_dist *d, void *buf, int64_t nbytes, int root) {
  if (root < 0 || root >= (d->size ? d->size : 1))
    return ml_error(ctx, "broadcast: root %d out of range for %d ranks", root, d->size);
  if (!d->ops || d->size == 1) return ML_OK;
  return check(ctx, "broadcast", d->ops->broadcast_bytes(buf, nbytes, root));
}

int ml_dist_send(ml_ctx *ctx, ml_dist *d, const void *buf, int64_t n, int dest, int tag) {
  if (!d->ops) return ml_error(ctx, "dist: send needs MPI (run under mpirun)");
  return check(ctx, "send", d->ops->send_bytes(buf, n, dest, tag));
}

int ml_dist_probe(ml_ctx *ctx, ml_dist *d, int source, int tag, int *src, int64_t *len,
                  bool block) {
  if (!d->ops) return ml_error(ctx, "dist: probe needs MPI (run under mpirun)");
  int rc = d->ops->probe(source, tag, src, len, block);
  if (rc < 0) return ml_error(ctx, "dist: probe failed");
  return rc;
}

int ml_dist_recv(ml_ctx *ctx, ml_dist *d, void *buf, int64_t cap, int source, int tag,
                 int64_t *len) {
  if (!d->ops) return ml_error(ctx, "dist: recv needs MPI (run under mpirun)");
  return check(ctx, "recv", d->ops->recv_bytes(buf, cap, source, tag, len));
}

int ml_dist_allreduce_many(ml_ctx *ctx, ml_dist *d, ml_tensor *const *ts, int n, float scale) {
  int64_t total = 0;
  for (int i = 0; i < n; i++) {
    if (ts[i]->dtype != ML_F32 || !ml_is_contiguous(ts[i]))
      return ml_error(ctx, "allreduce: tensor %d is not a contiguous float32 tensor", i + 1);
    total += ml_numel(ts[i]);
  }
  if (!d->ops || d->size == 1) {
    if (scale != 1.0f)
      for (int i = 0; i < n; i++) {
        float *p = ml_f32(ts[i]);
        int64_t m = ml_numel(ts[i]);
        for (int64_t j = 0; j < m; j++) p[j] *= scale;
      }
    return ML_OK;
  }
  if (total > d->pack_cap) {
    float *p = realloc(d->pack, (size_t)total * sizeof(float));
    if (!p) return ml_error(ctx, "allreduce: out of memory packing %lld floats", (long long)total);
    d->pack = p;
    d->pack_cap = total;
  }
  int64_t at = 0;
  for (int i = 0; i < n; i++) {
    int64_t m = ml_numel(ts[i]);
    const float *p = ml_f32(ts[i]);
    for (int64_t j = 0; j < m; j++) d->pack[at + j] = p[j] * scale;
    at += m;
  }
  int rc = d->ops->allreduce_f32(d->pack, total, ML_DIST_SUM);
  if (rc) return ml_error(ctx, "dist: allreduce failed (MPI error %d)", rc);
  at = 0;
  for (int i = 0; i < n; i++) {
    float *p = ml_f32(ts[i]);
    int64_t m = ml_numel(ts[i]);
    memcpy(p, d->pack + at, (size_t)m * sizeof(float));
    at += m;
  }
  return ML_OK;
}

static int check_bucket(ml_ctx *ctx, ml_dist_bucket *b, ml_tensor *const *ts, int n) {
  int64_t total = 0;
  for (int i = 0; i < n; i++) {
    if (ts[i]->dtype != ML_F32 || !ml_is_contiguous(ts[i]))
      return ml_error(ctx, "bucket: tensor %d is not a contiguous float32 tensor", i + 1);
    total += ml_numel(ts[i]);
  }
  if (total != b->n)
    return ml_error(ctx, "bucket: holds %lld floats, the tensors have %lld", (long long)b->n,
                    (long long)total);
  return ML_OK;
}

int ml_dist_bucket_start(ml_ctx *ctx, ml_dist *d, ml_dist_bucket *b, ml_tensor *const *ts, int n,
                         float scale) {
  if (b->pending) return ml_error(ctx, "bucket: started twice without a wait");
  if (check_bucket(ctx, b, ts, n)) return ML_ERR;
  if (!d->ops || d->size == 1) {
    for (int i = 0; i < n; i++) {
      float *p = ml_f32(ts[i]);
      int64_t m = ml_numel(ts[i]);
      if (scale != 1.0f) for (int64_t j = 0; j < m; j++) p[j] *= scale;
    }
    return ML_OK;
  }
  int64_t at = 0;
  for (int i = 0; i < n; i++) {
    int64_t m = ml_numel(ts[i]);
    const float *p = ml_f32(ts[i]);
    for (int64_t j = 0; j < m; j++) b->buf[at + j] = p[j] * scale;
    at += m;
  }
  int rc = d->ops->iallreduce_f32(b->buf, b->n, b->req);
  if (rc) return ml_error(ctx, "dist: iallreduce failed (MPI error %d)", rc);
  b->pending = true;
  return ML_OK;
}

int ml_dist_bucket_test(ml_ctx *ctx, ml_dist *d, ml_dist_bucket *b, bool *done) {
  *done = true;
  if (!b->pending) return ML_OK;
  int flag = 0;
  int rc = d->ops->test(b->req, &flag);
  if (rc) return ml_error(ctx, "dist: test failed (MPI error %d)", rc);
  *done = flag != 0;
  return ML_OK;
}

int ml_dist_bucket_wait(ml_ctx *ctx, ml_dist *d, ml_dist_bucket *b, ml_tensor *const *ts, int n) {
  if (!b->pending) return ML_OK;   /* one rank: already in place */
  int rc = d->ops->wait(b->req);
  b->pending = false;
  if (rc) return ml_error(ctx, "dist: wait failed (MPI error %d)", rc);
  if (check_bucket(ctx, b, ts, n)) return ML_ERR;
  int64_t at = 0;
  for (int i = 0; i < n; i++) {
    int64_t m = ml_numel(ts[i]);
    memcpy(ml_f32(ts[i]), b->buf + at, (size_t)m * sizeof(float));
    at += m;
  }
  return ML_OK;
}

int ml_dist_barrier(ml_ctx *ctx, ml_dist *d) {
  if (!d->ops || d->size == 1) return ML_OK;
  return check(ctx, "barrier", d->ops->barrier());
}

void ml_dist_finalize(ml_dist *d) {
  if (d->ops) d->ops->finalize();
  d->ops = NULL;
  free(d->pack);
  d->pack = NULL;
  d->pack_cap = 0;
}
