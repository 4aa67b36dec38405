/*
 * serve.h - a model behind HTTP (GNU libmicrohttpd), without Lua.
 *
 * The server owns the sockets, parses and bounds every request, and queues
 * prediction jobs; the host (bindings/lserve.c) runs N worker threads that
 * take micro-batches with ml_serve_next_batch, run the model, and answer
 * each job with ml_serve_answer_*. Data flows one way: HTTP thread -> job
 * queue -> worker -> the waiting HTTP thread.
 *
 * Every request is bounded: the body by max_body (413), an image by
 * max_pixels before its pixels are allocated (413), the wait for an answer
 * by timeout_s (504). A malformed request is a 400 whose JSON body names
 * the fault; an error inside the model is a 500. Nothing here exits.
 */
#ifndef ML_SERVE_H
#define ML_SERVE_H

#include "../ml.h"

typedef struct ml_serve ml_serve;

/* What the model takes and how answers are shaped (from the Lua side). */
typedef struct ml_serve_opts {
  const char *host;          /* "127.0.0.1" unless asked otherwise */
  int port;                  /* 0: any free port (ml_serve_port tells) */
  int max_batch;             /* jobs' rows merged into one forward pass */
  int batch_timeout_ms;      /* how long a worker waits to fill a batch */
  size_t max_body;           /* bytes */
  double timeout_s;          /* per request, queue wait + forward */
  int64_t max_pixels;        /* decoded image bound (width * height) */
  int max_connections;
  /* instance shape (no batch dimension); numel(in_shape) values per row */
  int in_ndim;
  int64_t in_shape[ML_MAX_DIMS];
  /* images: converted to in_h x in_w x in_c, values in [0,1] times scale */
  int image_ok, in_h, in_w, in_c;
  double image_scale;
  int raw;                   /* a predict(request) function: jobs carry the raw request */
  int topk;                  /* classes in an image answer */
  const char *name;          /* model name for /v1/models/<name> */
  const char *page;          /* GET / (HTML) */
  const char *metadata;      /* GET /v1/models/<name> (JSON) */
} ml_serve_opts;

enum { ML_JOB_ROWS = 0, ML_JOB_RAW = 1 };

/* One request waiting for the model. */
typedef struct ml_serve_job {
  int kind;                  /* ML_JOB_ROWS or ML_JOB_RAW */
  int from_image;            /* rows came from an image: answer top-k */
  float *x;                  /* rows x row_size values (ML_JOB_ROWS) */
  int64_t rows, row_size;
  const char *body;          /* the request (ML_JOB_RAW) */
  size_t body_len;
  const char *content_type;
  const char *path;
  /* the answer, set by ml_serve_answer_* (owned by the job) */
  int status;
  char *answer;
  size_t answer_len;
  /* internal */
  struct ml_serve_job *next;
  int done, abandoned;
  double t_start;
} ml_serve_job;

/* Starts listening and serving; NULL with a message in err on failure. */
ml_serve *ml_serve_start(const ml_serve_opts *o, char *err, size_t errn);
int ml_serve_port(const ml_serve *s);
/* Blocks until SIGTERM or SIGINT (the caller has blocked both in every
 * thread with ml_serve_block_signals before starting threads), then stops
 * accepting, lets every accepted request finish, and returns the signal. */
int ml_serve_wait(ml_serve *s);
/* Stops the workers' queue, closes the daemon and frees everything. */
void ml_serve_stop(ml_serve *s);
void ml_serve_block_signals(void);

/* Worker side: up to max jobs, waiting up to batch_timeout_ms to fill a
 * batch once one job is there. Returns 0 when the server stops. */
int ml_serve_next_batch(ml_serve *s, ml_serve_job **jobs, int max);
/* Answers (each finishes the job and wakes its connection). */
void ml_serve_answer(ml_serve *s, ml_serve_job *j, int status, const char *json, size_t n);
void ml_serve_answer_error(ml_serve *s, ml_serve_job *j, int status, const char *msg);
/* Classifier rows: probs is rows x k; class_json[i] is the JSON text of
 * class i ("7" or "\"setosa\""), labels[i] its label or NULL. */
void ml_serve_answer_classes(ml_serve *s, ml_serve_job *j, const float *probs, int64_t k,
                             const char *const *class_json, const char *const *labels);
/* Regressor (or any) rows: values is rows x k. */
void ml_serve_answer_values(ml_serve *s, ml_serve_job *j, const float *values, int64_t k);
/* Wakes every worker out of ml_serve_next_batch (it returns 0) before the
 * host joins them and calls ml_serve_stop. */
void ml_serve_release_workers(ml_serve *s);
/* Records one forward pass of `rows` rows (the batch-size histogram). */
void ml_serve_note_batch(ml_serve *s, int64_t rows);

/* ---- request bodies (request.c), usable without a server ---- */
/* JSON {"instances": [...]} or {"inputs": [...]} or a bare array: rows of
 * numbers, each nested array flattened row-major and required to be
 * rectangular with row_size values. *x is malloc'ed. */
int ml_serve_parse_json(const char *body, size_t n, int64_t row_size, float **x, int64_t *rows,
                        char *err, size_t errn);
/* A PNG or JPEG to one row of in_h x in_w x in_c values in [0,1] * scale,
 * refusing images over max_pixels before decoding their pixels. Returns 0,
 * or the HTTP status of the fault (400, 413, 415) with a message in err. */
int ml_serve_decode_image(const uint8_t *data, size_t n, const ml_serve_opts *o, float **x,
                          char *err, size_t errn);

#endif
