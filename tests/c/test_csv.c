/* The CSV reader in C: good inputs typed right, malformed inputs failing with
 * a message (never crashing), and a random fuzz loop. */
#include "ml.h"
#include "data/csv.h"
#include "data/frame.h"
#include "data/curve.h"
#include "check.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int rd(ml_ctx *ctx, ml_csv_table *t, const char *s, const ml_csv_opts *o) {
  return ml_csv_read_buffer(ctx, t, s, strlen(s), "test", o);
}

static void test_good(ml_ctx *ctx) {
  ml_csv_table t;
  CHECK(rd(ctx, &t, "a;b;c\n1;\"x;y\";2.5\n3;z;\n", NULL) == ML_OK, "parse ok: %s", ctx->err);
  CHECK(t.sep == ';' && t.ncols == 3 && t.nrows == 2, "detected ';', 3 cols, 2 rows");
  CHECK(!t.cols[0].is_string && t.cols[0].num[1] == 3.0, "number column");
  CHECK(t.cols[1].is_string && t.cols[1].ncats == 2 && !strcmp(t.cols[1].cats[0], "x;y"),
        "quoted separator kept, categories sorted");
  CHECK(t.cols[1].codes[0] == 0 && t.cols[1].codes[1] == 1, "codes follow sorted categories");
  CHECK(isnan(t.cols[2].num[1]) && t.cols[2].nmissing == 1, "empty cell is missing");
  ml_csv_free(&t);

  CHECK(rd(ctx, &t, "a\r\n\"he said \"\"no\"\"\"\r\n\"two\r\nlines\"\r\n", NULL) == ML_OK,
        "CRLF and quotes: %s", ctx->err);
  CHECK(t.nrows == 2 && t.cols[0].is_string, "two string rows");
  CHECK(!strcmp(t.cols[0].cats[0], "he said \"no\"") && !strcmp(t.cols[0].cats[1], "two\r\nlines"),
        "doubled quotes and embedded CRLF");
  ml_csv_free(&t);

  ml_csv_opts o;
  ml_csv_opts_init(&o);
  o.header = false;
  CHECK(rd(ctx, &t, "1,2\n3,4", &o) == ML_OK && t.nrows == 2 && !strcmp(t.cols[1].name, "col2"),
        "no header, no final newline");
  ml_csv_free(&t);
}

static void test_bad(ml_ctx *ctx) {
  ml_csv_table t;
  CHECK(rd(ctx, &t, "a,b\n1,2\n3\n", NULL) == ML_ERR && strstr(ctx->err, "line 3"),
        "ragged row names its line: %s", ctx->err);
  CHECK(rd(ctx, &t, "a\n\"x\"y\n", NULL) == ML_ERR && strstr(ctx->err, "after a closing quote"),
        "junk after a quote: %s", ctx->err);
  CHECK(rd(ctx, &t, "a\n\"never", NULL) == ML_ERR && strstr(ctx->err, "never closed"),
        "unterminated quote: %s", ctx->err);
  CHECK(rd(ctx, &t, "a\n\xc3\x28\n", NULL) == ML_ERR && strstr(ctx->err, "invalid UTF-8"),
        "invalid UTF-8: %s", ctx->err);
  CHECK(rd(ctx, &t, "", NULL) == ML_ERR && strstr(ctx->err, "empty"), "empty input: %s", ctx->err);
  ml_csv_opts o;
  ml_csv_opts_init(&o);
  o.max_field = 4;
  CHECK(rd(ctx, &t, "a\nhello\n", &o) == ML_ERR && strstr(ctx->err, "longer than 4"),
        "huge field: %s", ctx->err);
  CHECK(ml_csv_read_file(ctx, &t, "/nonexistent.csv", NULL) == ML_ERR &&
        strstr(ctx->err, "cannot open"), "missing file: %s", ctx->err);
  CHECK(t.cols == NULL && t.ncols == 0, "a failed read leaves an empty table");
}

static void test_fuzz(ml_ctx *ctx) {
  const char alphabet[] = ",;\"\n\r a1.\xff\xc3\x80-";
  unsigned seed = 12345;
  int oks = 0, errs = 0;
  char buf[128];
  for (int it = 0; it < 20000; it++) {
    int n = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 100;
    for (int i = 0; i < n; i++) {
      seed = seed * 1103515245u + 12345u;
      buf[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
    }
    ml_csv_table t;
    if (ml_csv_read_buffer(ctx, &t, buf, (size_t)n, "fuzz", NULL) == ML_OK) {
      oks++;
      ml_csv_free(&t);
    } else {
      errs++;
    }
  }
  CHECK(oks > 0 && errs > 0, "20000 random inputs: %d parsed, %d rejected, no crash", oks, errs);
}

static void test_bank(ml_ctx *ctx) {
  ml_csv_table t;
  int rc = ml_csv_read_file(ctx, &t, "data/bank/bank.csv.gz", NULL);
  CHECK(rc == ML_OK, "bank.csv.gz reads: %s", rc ? ctx->err : "");
  if (rc) return;
  CHECK(t.nrows == 4521 && t.ncols == 17 && t.sep == ';', "bank.csv: 4521 x 17, ';'");
  CHECK(t.cols[1].is_string && t.cols[1].ncats == 12, "job has 12 categories");
  ml_csv_free(&t);
}

static void test_frame(ml_ctx *ctx) {
  ml_tensor codes, hot, cols[2], m;
  int64_t n = 4;
  ml_tensor_new(ctx, &codes, ML_I64, 1, &n, false);
  int64_t v[4] = {2, 0, -1, 1};
  memcpy(ml_i64(&codes), v, sizeof v);
  CHECK(ml_frame_onehot(ctx, &hot, &codes, 3) == ML_OK, "onehot: %s", ctx->err);
  float *h = ml_f32(&hot);
  CHECK(h[2] == 1 && h[3] == 1 && h[6] + h[7] + h[8] == 0 && h[10] == 1 && hot.shape[1] == 3,
        "one-hot rows, missing code -> zero row");
  CHECK(ml_frame_onehot(ctx, &m, &codes, 2) == ML_ERR && strstr(ctx->err, "not below 2"),
        "code out of range fails: %s", ctx->err);
  ml_view_select(ctx, &cols[0], &hot, 1, 2);   /* strided column */
  cols[1] = codes;
  CHECK(ml_frame_columns(ctx, &m, cols, 2) == ML_OK, "columns: %s", ctx->err);
  CHECK(ml_f32(&m)[0] == 1 && ml_f32(&m)[1] == 2 && ml_f32(&m)[5] == -1 && ml_f32(&m)[6] == 0,
        "strided float32 and int64 columns gathered");
  ml_tensor_release(&m);
  ml_tensor_release(&cols[0]);
  ml_tensor_release(&hot);
  ml_tensor_release(&codes);
}

static void test_curve(ml_ctx *ctx) {
  double score[5] = {0.1, 0.4, 0.35, 0.8, 0.4}, truth[5] = {0, 0, 1, 1, 1};
  double fps[5], tps[5], thr[5];
  int64_t m = 0;
  CHECK(ml_clf_curve(ctx, score, truth, 5, fps, tps, thr, &m) == ML_OK && m == 4,
        "4 distinct scores: %s", ctx->err);
  CHECK(thr[0] == 0.8 && tps[0] == 1 && fps[0] == 0 && thr[1] == 0.4 && tps[1] == 2 && fps[1] == 1,
        "ties counted together, scores decreasing");
  CHECK(tps[3] == 3 && fps[3] == 2, "last point counts everything");
  score[2] = NAN;
  CHECK(ml_clf_curve(ctx, score, truth, 5, fps, tps, thr, &m) == ML_ERR && strstr(ctx->err, "NaN"),
        "NaN score fails: %s", ctx->err);
  ml_tensor t;
  int64_t n = 5;
  ml_tensor_new(ctx, &t, ML_F32, 1, &n, false);
  float v[5] = {4, NAN, 1, 2, 3};
  memcpy(ml_f32(&t), v, sizeof v);
  double q[1] = {0.25}, out[6];
  CHECK(ml_describe(ctx, &t, q, 1, out) == ML_OK, "describe: %s", ctx->err);
  CHECK(out[0] == 4 && out[1] == 2.5 && fabs(out[2] - 1.2909944487358056) < 1e-12 && out[3] == 1 &&
        out[4] == 1.75 && out[5] == 4, "count, mean, std, min, 25%%, max skip NaN");
  ml_tensor_release(&t);
}

static void test_format(ml_ctx *ctx) {
  ml_tensor num, codes;
  int64_t n = 3;
  ml_tensor_new(ctx, &num, ML_F32, 1, &n, false);
  ml_tensor_new(ctx, &codes, ML_I64, 1, &n, false);
  float v[3] = {2143, NAN, 0.1f};
  int64_t c[3] = {1, -1, 0};
  memcpy(ml_f32(&num), v, sizeof v);
  memcpy(ml_i64(&codes), c, sizeof c);
  const char *cats[2] = {"\"a;b\"", "yes"};
  const char *head[2] = {"n", "s"};
  ml_csv_wcol cols[2] = {{&num, NULL, 0}, {&codes, cats, 2}};
  char *text;
  size_t len;
  CHECK(ml_csv_format(ctx, &text, &len, cols, 2, 3, ';', head) == ML_OK, "format: %s", ctx->err);
  CHECK(len == strlen("n;s\n2143;yes\n;\n0.100000001;\"a;b\"\n") &&
        !memcmp(text, "n;s\n2143;yes\n;\n0.100000001;\"a;b\"\n", len),
        "integers plain, missing empty, float32 with 9 digits, categories as given");
  ml_csv_table t;
  CHECK(ml_csv_read_buffer(ctx, &t, text, len, "roundtrip", NULL) == ML_OK && t.nrows == 3 &&
        (float)t.cols[0].num[2] == 0.1f && !strcmp(t.cols[1].cats[0], "a;b"), "reads back the same");
  ml_csv_free(&t);
  ml_free(ctx, text);
  c[0] = 5;
  memcpy(ml_i64(&codes), c, sizeof c);
  CHECK(ml_csv_format(ctx, &text, &len, cols, 2, 3, ',', NULL) == ML_ERR &&
        strstr(ctx->err, "has no category"), "bad code fails: %s", ctx->err);
  ml_tensor_release(&num);
  ml_tensor_release(&codes);
}

int main(void) {
  ml_ctx ctx;
  ml_ctx_init(&ctx);
  test_good(&ctx);
  test_bad(&ctx);
  test_fuzz(&ctx);
  test_bank(&ctx);
  test_frame(&ctx);
  test_curve(&ctx);
  test_format(&ctx);
  ml_ctx_free(&ctx);
  return check_done();
}
