/* http.c - the HTTP side of ml_serve: libmicrohttpd with one thread per
 * connection (a connection blocks while its job waits for a worker, so a
 * shared polling thread would stall everybody), bounded bodies, routing,
 * the job queue, metrics and the SIGTERM drain. */
#define _GNU_SOURCE
#include "serve.h"
#include "strbuf.h"
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#define N_LAT 13
#define N_BATCH 9
static const double lat_bounds[N_LAT - 1] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                             0.05,   0.1,   0.25,   0.5,   1,    2.5};
static const char *const lat_le[N_LAT] = {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
                                          "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"};
static const int batch_bounds[N_BATCH - 1] = {1, 2, 4, 8, 16, 32, 64, 128};
static const char *const batch_le[N_BATCH] = {"1", "2", "4", "8", "16", "32", "64", "128", "+Inf"};

struct ml_serve {
  ml_serve_opts o;
  char *host, *name, *page, *metadata;
  struct MHD_Daemon *d;
  int port;
  sigset_t old_mask;
  pthread_mutex_t mu;
  pthread_cond_t work;            /* workers wait for jobs */
  pthread_cond_t answered;        /* connections wait for answers */
  ml_serve_job *head, *tail;
  int64_t queued;
  int stopping;                   /* workers leave */
  atomic_int draining;            /* SIGTERM seen: answers close connections */
  atomic_int inflight;            /* requests between first byte and answer */
  atomic_int connections;         /* open connections */
  /* metrics */
  atomic_ullong by_code[6];       /* 1xx..5xx by first digit, [0] unused */
  atomic_ullong lat[N_LAT];
  atomic_ullong lat_sum_us;
  atomic_ullong batches[N_BATCH];
  atomic_ullong batch_rows;
  atomic_ullong n_batches;
};

/* The bytes of one request, gathered across the handler's calls. */
typedef struct request {
  strbuf body;
  int too_big;
  double t_start;
  /* multipart: the first file part */
  strbuf file;
  int file_seen;
} request;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- answers ---- */

static enum MHD_Result reply(ml_serve *s, struct MHD_Connection *c, request *r, int status,
                             const char *type, const char *body, size_t n, int copy) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      n, (void *)body, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, "Content-Type", type);
  MHD_add_response_header(resp, "Cache-Control", "no-store");
  if (atomic_load(&s->draining)) MHD_add_response_header(resp, "Connection", "close");
  enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
  MHD_destroy_response(resp);
  int d = status / 100;
  if (d >= 1 && d <= 5) atomic_fetch_add(&s->by_code[d], 1);
  if (r) {
    double dt = now_s() - r->t_start;
    int b = 0;
    while (b < N_LAT - 1 && dt > lat_bounds[b]) b++;
    atomic_fetch_add(&s->lat[b], 1);
    atomic_fetch_add(&s->lat_sum_us, (unsigned long long)(dt * 1e6));
  }
  return ret;
}

static enum MHD_Result reply_error(ml_serve *s, struct MHD_Connection *c, request *r, int status,
                                   const char *msg) {
  strbuf b = {0};
  sb_puts(&b, "{\"error\": ");
  sb_json_string(&b, msg);
  sb_printf(&b, ", \"status\": %d}\n", status);
  enum MHD_Result ret = b.oom ? MHD_NO
                              : reply(s, c, r, status, "application/json", b.data, b.len, 1);
  sb_free(&b);
  return ret;
}

/* ---- the job queue ---- */

/* Queues j and waits for its answer or the request's timeout. Returns 1 when
 * answered (the caller owns j), 0 on timeout (j was taken out of the queue,
 * or a worker now owns it and frees it after answering). */
static int run_job(ml_serve *s, ml_serve_job *j) {
  pthread_mutex_lock(&s->mu);
  if (s->stopping) {
    pthread_mutex_unlock(&s->mu);
    j->status = 503;
    return 1;
  }
  j->next = NULL;
  if (s->tail) s->tail->next = j; else s->head = j;
  s->tail = j;
  s->queued++;
  pthread_cond_signal(&s->work);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  double t = (double)until.tv_nsec * 1e-9 + s->o.timeout_s;
  until.tv_sec += (time_t)t;
  until.tv_nsec = (long)((t - (double)(time_t)t) * 1e9);
  while (!j->done) {
    if (pthread_cond_timedwait(&s->answered, &s->mu, &until) != 0 && !j->done) break;
  }
  int ok = j->done;
  if (!ok) {
    /* still queued: unlink it; taken: the worker frees it */
    ml_serve_job **p = &s->head, *prev = NULL;
    while (*p && *p != j) { prev = *p; p = &(*p)->next; }
    if (*p) {
      *p = j->next;
      if (s->tail == j) s->tail = prev;
      s->queued--;
      free(j);
    } else {
      j->abandoned = 1;
    }
  }
  pthread_mutex_unlock(&s->mu);
  return ok;
}

int ml_serve_next_batch(ml_serve *s, ml_serve_job **jobs, int max) {
  pthread_mutex_lock(&s->mu);
  while (!s->head && !s->stopping) pthread_cond_wait(&s->work, &s->mu);
  if (!s->head) { pthread_mutex_unlock(&s->mu); return 0; }
  /* a batch of rows fills up for batch_timeout_ms; raw jobs go one by one */
  int64_t rows = s->head->kind == ML_JOB_ROWS ? s->head->rows : 0;
  if (s->head->kind == ML_JOB_ROWS && s->o.batch_timeout_ms > 0 && rows < s->o.max_batch) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    long ns = until.tv_nsec + (long)s->o.batch_timeout_ms * 1000000L;
    until.tv_sec += ns / 1000000000L;
    until.tv_nsec = ns % 1000000000L;
    for (;;) {
      int64_t have = 0;
      for (ml_serve_job *j = s->head; j && j->kind == ML_JOB_ROWS; j = j->next) have += j->rows;
      if (have >= s->o.max_batch || s->stopping) break;
      if (pthread_cond_timedwait(&s->work, &s->mu, &until) != 0) break;
      if (!s->head) break;
    }
    if (!s->head) { pthread_mutex_unlock(&s->mu); return s->stopping ? 0 : ml_serve_next_batch(s, jobs, max); }
  }
  int n = 0;
  rows = 0;
  while (s->head && n < max) {
    ml_serve_job *j = s->head;
    if (n > 0 && (j->kind != ML_JOB_ROWS || jobs[0]->kind != ML_JOB_ROWS)) break;
    if (n > 0 && rows + j->rows > s->o.max_batch) break;
    s->head = j->next;
    if (!s->head) s->tail = NULL;
    s->queued--;
    jobs[n++] = j;
    rows += j->rows;
    if (j->kind == ML_JOB_RAW) break;
  }
  /* more work left: let another worker take it */
  if (s->head) pthread_cond_signal(&s->work);
  pthread_mutex_unlock(&s->mu);
  return n;
}

void ml_serve_answer(ml_serve *s, ml_serve_job *j, int status, const char *json, size_t n) {
  char *copy = malloc(n + 1);
  if (copy) { memcpy(copy, json, n); copy[n] = 0; }
  pthread_mutex_lock(&s->mu);
  if (j->abandoned) {
    pthread_mutex_unlock(&s->mu);
    free(copy);
    free(j);
    return;
  }
  j->status = copy ? status : 500;
  j->answer = copy;
  j->answer_len = copy ? n : 0;
  j->done = 1;
  pthread_cond_broadcast(&s->answered);
  pthread_mutex_unlock(&s->mu);
}

void ml_serve_answer_error(ml_serve *s, ml_serve_job *j, int status, const char *msg) {
  strbuf b = {0};
  sb_puts(&b, "{\"error\": ");
  sb_json_string(&b, msg);
  sb_printf(&b, ", \"status\": %d}\n", status);
  ml_serve_answer(s, j, b.oom ? 500 : status, b.oom ? "" : b.data, b.oom ? 0 : b.len);
  sb_free(&b);
}

static void put_probs(strbuf *b, const float *p, int64_t k) {
  sb_putc(b, '[');
  for (int64_t i = 0; i < k; i++) sb_printf(b, i ? ", %.7g" : "%.7g", (double)p[i]);
  sb_putc(b, ']');
}

void ml_serve_answer_classes(ml_serve *s, ml_serve_job *j, const float *probs, int64_t k,
                             const char *const *class_json, const char *const *labels) {
  strbuf b = {0};
  sb_puts(&b, "{\"predictions\": [");
  int topk = s->o.topk < 1 ? 5 : s->o.topk;
  if (topk > k) topk = (int)k;
  for (int64_t r = 0; r < j->rows; r++) {
    const float *p = probs + r * k;
    int64_t best = 0;
    for (int64_t i = 1; i < k; i++) if (p[i] > p[best]) best = i;
    sb_puts(&b, r ? ", {\"class\": " : "{\"class\": ");
    sb_puts(&b, class_json[best]);
    if (labels && labels[best]) { sb_puts(&b, ", \"label\": "); sb_json_string(&b, labels[best]); }
    sb_puts(&b, ", \"probabilities\": ");
    put_probs(&b, p, k);
    if (j->from_image) {
      /* the top-k, by a partial selection on a small k */
      sb_puts(&b, ", \"top\": [");
      int64_t taken[64];
      int nt = topk > 64 ? 64 : topk;
      for (int t = 0; t < nt; t++) {
        int64_t m = -1;
        for (int64_t i = 0; i < k; i++) {
          int used = 0;
          for (int u = 0; u < t; u++) used |= taken[u] == i;
          if (!used && (m < 0 || p[i] > p[m])) m = i;
        }
        taken[t] = m;
        sb_puts(&b, t ? ", {\"class\": " : "{\"class\": ");
        sb_puts(&b, class_json[m]);
        if (labels && labels[m]) { sb_puts(&b, ", \"label\": "); sb_json_string(&b, labels[m]); }
        sb_printf(&b, ", \"probability\": %.7g}", (double)p[m]);
      }
      sb_putc(&b, ']');
    }
    sb_putc(&b, '}');
  }
  sb_puts(&b, "]}\n");
  if (b.oom) ml_serve_answer_error(s, j, 500, "out of memory formatting the answer");
  else ml_serve_answer(s, j, 200, b.data, b.len);
  sb_free(&b);
}

void ml_serve_answer_values(ml_serve *s, ml_serve_job *j, const float *v, int64_t k) {
  strbuf b = {0};
  sb_puts(&b, "{\"predictions\": [");
  for (int64_t r = 0; r < j->rows; r++) {
    if (r) sb_puts(&b, ", ");
    put_probs(&b, v + r * k, k);
  }
  sb_puts(&b, "]}\n");
  if (b.oom) ml_serve_answer_error(s, j, 500, "out of memory formatting the answer");
  else ml_serve_answer(s, j, 200, b.data, b.len);
  sb_free(&b);
}

void ml_serve_note_batch(ml_serve *s, int64_t rows) {
  int b = 0;
  while (b < N_BATCH - 1 && rows > batch_bounds[b]) b++;
  atomic_fetch_add(&s->batches[b], 1);
  atomic_fetch_add(&s->batch_rows, (unsigned long long)rows);
  atomic_fetch_add(&s->n_batches, 1);
}

/* ---- routes ---- */

/* A Prometheus histogram's cumulative buckets; returns the total count. */
static unsigned long long put_buckets(strbuf *b, const char *name, int n, const char *const *le,
                                      atomic_ullong *counts) {
  unsigned long long cum = 0;
  for (int i = 0; i < n; i++) {
    cum += atomic_load(&counts[i]);
    sb_printf(b, "%s_bucket{le=\"%s\"} %llu\n", name, le[i], cum);
  }
  return cum;
}

static enum MHD_Result metrics(ml_serve *s, struct MHD_Connection *c, request *r) {
  strbuf b = {0};
  sb_puts(&b, "# HELP mlrun_requests_total HTTP requests answered, by status class.\n"
              "# TYPE mlrun_requests_total counter\n");
  for (int d = 1; d <= 5; d++)
    sb_printf(&b, "mlrun_requests_total{code=\"%dxx\"} %llu\n", d,
              (unsigned long long)atomic_load(&s->by_code[d]));
  sb_printf(&b, "# HELP mlrun_request_errors_total Requests answered with 4xx or 5xx.\n"
                "# TYPE mlrun_request_errors_total counter\nmlrun_request_errors_total %llu\n",
            (unsigned long long)(atomic_load(&s->by_code[4]) + atomic_load(&s->by_code[5])));
  sb_puts(&b, "# HELP mlrun_request_duration_seconds Time from request start to answer.\n"
              "# TYPE mlrun_request_duration_seconds histogram\n");
  unsigned long long n = put_buckets(&b, "mlrun_request_duration_seconds", N_LAT, lat_le, s->lat);
  sb_printf(&b, "mlrun_request_duration_seconds_sum %.6f\nmlrun_request_duration_seconds_count %llu\n",
            (double)atomic_load(&s->lat_sum_us) * 1e-6, n);
  sb_puts(&b, "# HELP mlrun_batch_size Rows per forward pass.\n# TYPE mlrun_batch_size histogram\n");
  put_buckets(&b, "mlrun_batch_size", N_BATCH, batch_le, s->batches);
  sb_printf(&b, "mlrun_batch_size_sum %llu\nmlrun_batch_size_count %llu\n",
            (unsigned long long)atomic_load(&s->batch_rows),
            (unsigned long long)atomic_load(&s->n_batches));
  pthread_mutex_lock(&s->mu);
  int64_t q = s->queued;
  pthread_mutex_unlock(&s->mu);
  sb_printf(&b, "# HELP mlrun_queue_depth Jobs waiting for a worker.\n# TYPE mlrun_queue_depth gauge\n"
                "mlrun_queue_depth %lld\n# HELP mlrun_inflight Requests being handled.\n"
                "# TYPE mlrun_inflight gauge\nmlrun_inflight %d\n",
            (long long)q, atomic_load(&s->inflight) - 1);
  enum MHD_Result ret = b.oom ? MHD_NO
                              : reply(s, c, r, 200, "text/plain; version=0.0.4", b.data, b.len, 1);
  sb_free(&b);
  return ret;
}

static int starts_with_ci(const char *s, const char *prefix) {
  return s && strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static enum MHD_Result on_part(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *ctype, const char *enc,
                               const char *data, uint64_t off, size_t size) {
  (void)kind; (void)key; (void)ctype; (void)enc; (void)off;
  request *r = cls;
  if (!filename) return MHD_YES;               /* plain form fields are ignored */
  if (r->file_seen && off == 0) return MHD_YES; /* the first file only */
  r->file_seen = 1;
  sb_put(&r->file, data, size);
  return r->file.oom ? MHD_NO : MHD_YES;
}

static enum MHD_Result predict(ml_serve *s, struct MHD_Connection *c, request *r,
                               const char *url) {
  const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
  const uint8_t *img = NULL;
  size_t img_n = 0;
  if (starts_with_ci(ct, "multipart/form-data")) {
    struct MHD_PostProcessor *pp = MHD_create_post_processor(c, 64 * 1024, on_part, r);
    if (!pp) return reply_error(s, c, r, 400, "multipart body: its Content-Type has no usable boundary");
    enum MHD_Result ok = MHD_post_process(pp, r->body.data ? r->body.data : "", r->body.len);
    MHD_destroy_post_processor(pp);
    if (ok != MHD_YES || !r->file_seen)
      return reply_error(s, c, r, 400, "multipart body: expected a file field holding a PNG or JPEG");
    img = (const uint8_t *)r->file.data;
    img_n = r->file.len;
  } else if (starts_with_ci(ct, "image/")) {
    img = (const uint8_t *)r->body.data;
    img_n = r->body.len;
  }
  ml_serve_job *j = calloc(1, sizeof *j);
  if (!j) return reply_error(s, c, r, 503, "out of memory");
  j->t_start = r->t_start;
  char err[256];
  int st = 0;
  if (s->o.raw) {
    j->kind = ML_JOB_RAW;
    j->body = img ? (const char *)img : r->body.data ? r->body.data : "";
    j->body_len = img ? img_n : r->body.len;
    j->content_type = img ? (ct && starts_with_ci(ct, "image/") ? ct : "image/*") : ct ? ct : "";
    j->path = url;
    j->rows = 1;
  } else if (img) {
    if (!s->o.image_ok) {
      free(j);
      return reply_error(s, c, r, 415, "this model does not take images (its input is not H x W x C): send JSON {\"instances\": [...]}");
    }
    st = ml_serve_decode_image(img, img_n, &s->o, &j->x, err, sizeof err);
    j->rows = 1;
    j->from_image = 1;
  } else {
    int64_t row = 1;
    for (int i = 0; i < s->o.in_ndim; i++) row *= s->o.in_shape[i];
    st = ml_serve_parse_json(r->body.data ? r->body.data : "", r->body.len, row, &j->x, &j->rows,
                             err, sizeof err) ? 400 : 0;
    if (!st && j->rows > s->o.max_batch * 64) {
      snprintf(err, sizeof err, "%lld instances in one request; at most %lld",
               (long long)j->rows, (long long)s->o.max_batch * 64);
      st = 413;
    }
  }
  if (st) {
    free(j->x);
    free(j);
    return reply_error(s, c, r, st, err);
  }
  if (j->kind == ML_JOB_ROWS) {
    j->row_size = 1;
    for (int i = 0; i < s->o.in_ndim; i++) j->row_size *= s->o.in_shape[i];
  }
  if (!run_job(s, j)) {
    snprintf(err, sizeof err, "no answer within the %.3g s timeout", s->o.timeout_s);
    return reply_error(s, c, r, 504, err);
  }
  enum MHD_Result ret;
  if (j->status == 503) ret = reply_error(s, c, r, 503, "the server is stopping");
  else if (!j->answer) ret = reply_error(s, c, r, 500, "out of memory");
  else ret = reply(s, c, r, j->status, "application/json", j->answer, j->answer_len, 1);
  free(j->answer);
  free(j->x);
  free(j);
  return ret;
}

static enum MHD_Result route(ml_serve *s, struct MHD_Connection *c, request *r, const char *url,
                             const char *method) {
  int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
  int post = !strcmp(method, "POST");
  if (r->too_big) {
    char m[128];
    snprintf(m, sizeof m, "request body over the %zu-byte limit (--max-body)", s->o.max_body);
    return reply_error(s, c, r, 413, m);
  }
  char model_path[300], model_predict[320];
  snprintf(model_path, sizeof model_path, "/v1/models/%s", s->name);
  snprintf(model_predict, sizeof model_predict, "/v1/models/%s:predict", s->name);
  if (!strcmp(url, "/predict") || !strcmp(url, model_predict)) {
    if (!post) return reply_error(s, c, r, 405, "use POST for predictions");
    return predict(s, c, r, url);
  }
  if (!get) return reply_error(s, c, r, 405, "only GET and POST are served");
  if (!strcmp(url, "/") || !strcmp(url, "/index.html"))
    return reply(s, c, r, 200, "text/html; charset=utf-8", s->page, strlen(s->page), 0);
  if (!strcmp(url, "/healthz")) {
    static const char ok[] = "{\"status\": \"ok\"}\n";
    return reply(s, c, r, 200, "application/json", ok, sizeof ok - 1, 0);
  }
  if (!strcmp(url, "/metrics")) return metrics(s, c, r);
  if (!strcmp(url, model_path) || !strcmp(url, "/v1/models"))
    return reply(s, c, r, 200, "application/json", s->metadata, strlen(s->metadata), 0);
  if (!strncmp(url, "/v1/models/", 11)) return reply_error(s, c, r, 404, "no such model");
  return reply_error(s, c, r, 404, "not found: the routes are /, /predict, /healthz, /metrics, /v1/models/<name>");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls) {
  (void)version;
  ml_serve *s = cls;
  request *r = *con_cls;
  if (!r) {
    r = calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    r->t_start = now_s();
    atomic_fetch_add(&s->inflight, 1);
    *con_cls = r;
    const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (len && strtoull(len, NULL, 10) > s->o.max_body) r->too_big = 1;
    return MHD_YES;
  }
  if (*upload_size) {
    if (!r->too_big) {
      if (r->body.len + *upload_size > s->o.max_body) {
        r->too_big = 1;
        sb_free(&r->body);
      } else {
        sb_put(&r->body, upload, *upload_size);
        if (r->body.oom) r->too_big = 1;
      }
    }
    *upload_size = 0;
    return MHD_YES;
  }
  return route(s, c, r, url, method);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
  (void)c; (void)toe;
  ml_serve *s = cls;
  request *r = *con_cls;
  if (!r) return;
  sb_free(&r->body);
  sb_free(&r->file);
  free(r);
  *con_cls = NULL;
  atomic_fetch_sub(&s->inflight, 1);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  (void)c; (void)socket_context;
  ml_serve *s = cls;
  atomic_fetch_add(&s->connections, code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

static void log_mhd(void *cls, const char *fmt, va_list ap) {
  (void)cls; (void)fmt; (void)ap;   /* client faults are answered, not logged */
}

ml_serve *ml_serve_start(const ml_serve_opts *o, char *err, size_t errn) {
  if (o->max_batch < 1 || o->max_body < 1 || !(o->timeout_s > 0) || o->in_ndim < 0 ||
      o->in_ndim > ML_MAX_DIMS || o->port < 0 || o->port > 65535) {
    snprintf(err, errn, "serve: invalid options (max_batch >= 1, max_body >= 1, timeout > 0, port 0..65535)");
    return NULL;
  }
  ml_serve *s = calloc(1, sizeof *s);
  if (!s) { snprintf(err, errn, "serve: out of memory"); return NULL; }
  s->o = *o;
  s->host = strdup(o->host ? o->host : "127.0.0.1");
  s->name = strdup(o->name ? o->name : "model");
  s->page = strdup(o->page ? o->page : "");
  s->metadata = strdup(o->metadata ? o->metadata : "{}");
  if (!s->host || !s->name || !s->page || !s->metadata) {
    snprintf(err, errn, "serve: out of memory");
    ml_serve_stop(s);
    return NULL;
  }
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->work, NULL);
  pthread_cond_init(&s->answered, NULL);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                   MHD_USE_ITC | MHD_USE_ERROR_LOG;
  if (inet_pton(AF_INET, s->host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)o->port);
  } else if (inet_pton(AF_INET6, s->host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)o->port);
    flags |= MHD_USE_IPv6;
  } else {
    snprintf(err, errn, "serve: --host must be a numeric IPv4 or IPv6 address, got '%s'", s->host);
    ml_serve_stop(s);
    return NULL;
  }
  /* SIGTERM/SIGINT are taken by ml_serve_wait: blocked in every thread
   * started from here on (MHD's, and the host's workers) */
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &s->old_mask);
  s->d = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, handler, s,
                          MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)(o->max_connections > 0 ? o->max_connections : 512),
                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o->timeout_s + 30),
                          MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                          MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                          MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
                          MHD_OPTION_END);
  if (!s->d) {
    snprintf(err, errn, "serve: cannot listen on %s:%d (in use, or not an address of this machine)",
             s->host, o->port);
    pthread_sigmask(SIG_SETMASK, &s->old_mask, NULL);
    ml_serve_stop(s);
    return NULL;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : o->port;
  return s;
}

int ml_serve_port(const ml_serve *s) { return s->port; }

int ml_serve_wait(ml_serve *s) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {}
  /* drain: stop listening, but first hand the connections already waiting
   * in the kernel's backlog (their clients saw the connect succeed) to the
   * daemon; then every accepted request finishes (up to its timeout) */
  atomic_store(&s->draining, 1);
  MHD_socket lfd = MHD_quiesce_daemon(s->d);
  if (lfd != MHD_INVALID_SOCKET) {
    fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
    for (;;) {
      struct sockaddr_storage a;
      socklen_t len = sizeof a;
      int fd = accept(lfd, (struct sockaddr *)&a, &len);
      if (fd < 0) break;
      if (MHD_add_connection(s->d, fd, (struct sockaddr *)&a, len) != MHD_YES) close(fd);
    }
    close(lfd);
  }
  double t0 = now_s(), until = t0 + s->o.timeout_s + 1;
  /* a connection with no request yet gets half a second to send one */
  while (now_s() < until && (atomic_load(&s->inflight) > 0 ||
                             (atomic_load(&s->connections) > 0 && now_s() < t0 + 0.5))) {
    struct timespec ts = {0, 2 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return sig;
}

void ml_serve_stop(ml_serve *s) {
  if (!s) return;
  if (s->d) {
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->mu);
    MHD_stop_daemon(s->d);
    pthread_sigmask(SIG_SETMASK, &s->old_mask, NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->answered);
  }
  free(s->host);
  free(s->name);
  free(s->page);
  free(s->metadata);
  free(s);
}

/* Workers must leave before ml_serve_stop frees the queue: the host calls
 * this, joins its workers, then ml_serve_stop. */
void ml_serve_release_workers(ml_serve *s) {
  pthread_mutex_lock(&s->mu);
  s->stopping = 1;
  pthread_cond_broadcast(&s->work);
  pthread_mutex_unlock(&s->mu);
}
