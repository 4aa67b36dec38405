/* test_io.c - the runtime's readers and writers: .mlt, .npy, IDX, PNG,
 * gunzip and atomic writes. Every reader gets good input, every truncation,
 * and thousands of corrupted copies: each must succeed or fail with a
 * message, never crash (run under `make asan` to catch overreads). */
#include "ml.h"
#include "io/io.h"
#include "data/data.h"
#include "image/image.h"
#include "check.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static ml_ctx ctx;

/* A reader under test: returns ML_OK or ML_ERR, releases what it made. */
typedef int (*reader_fn)(const uint8_t *data, size_t n);

static int read_mlt(const uint8_t *data, size_t n) {
  ml_mlt_reader *r;
  if (ml_mlt_reader_open(&ctx, &r, data, n, "load")) return ML_ERR;
  int rc = ML_OK;
  /* walk every value (the format is a flat sequence of items) */
  for (int k = 0; k < 10000 && rc == ML_OK && ml_mlt_remaining(r) > 0; k++) {
    ml_mlt_item it;
    rc = ml_mlt_next(r, &it);
    if (rc) break;
    if (it.kind == ML_MLT_STRING) {
      char *buf = malloc(it.n + 1);
      rc = ml_mlt_read_bytes(r, buf, it.n);
      free(buf);
    } else if (it.kind == ML_MLT_TENSOR) {
      ml_tensor t;
      rc = ml_mlt_read_tensor(r, &it, &t);
      if (!rc) ml_tensor_release(&t);
    }
  }
  if (!rc) rc = ml_mlt_reader_end(r);
  ml_mlt_reader_free(r);
  return rc;
}

static int read_npy(const uint8_t *data, size_t n) {
  ml_tensor t;
  int rc = ml_npy_read(&ctx, &t, data, n, "load_npy");
  if (!rc) ml_tensor_release(&t);
  return rc;
}

static int read_idx(const uint8_t *data, size_t n) {
  ml_tensor t;
  int rc = ml_idx_read(&ctx, &t, data, n, ML_F32, 1.0, "read_idx");
  if (!rc) ml_tensor_release(&t);
  return rc;
}

static int read_png(const uint8_t *data, size_t n) {
  ml_tensor t;
  int rc = ml_png_read(&ctx, &t, data, n, "image.load");
  if (!rc) ml_tensor_release(&t);
  return rc;
}

static int read_gz(const uint8_t *data, size_t n) {
  uint8_t *out;
  size_t len;
  int rc = ml_gunzip(&ctx, data, n, 1 << 24, &out, &len, "gunzip");
  if (!rc) ml_free(&ctx, out);
  return rc;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
  return rng_state;
}

/* Good input reads; every strict prefix fails with a message; corrupted
 * copies never crash (their result is either). */
static void torture(const char *name, reader_fn f, const uint8_t *good, size_t n, int flips,
                    int prefixes_must_fail) {
  CHECK(f(good, n) == ML_OK, "%s: good input reads (%s)", name, ctx.err);
  int bad_prefix = 0, silent = 0;
  for (size_t k = 0; k < n; k++) {
    ctx.err[0] = 0;
    if (f(good, k) == ML_OK) bad_prefix++;
    else if (!ctx.err[0]) silent++;
  }
  if (prefixes_must_fail)
    CHECK(bad_prefix == 0, "%s: all %zu truncations refused (%d accepted)", name, n, bad_prefix);
  CHECK(silent == 0, "%s: every refusal has a message", name);
  uint8_t *copy = malloc(n);
  int errors = 0;
  for (int i = 0; i < flips; i++) {
    memcpy(copy, good, n);
    int nf = 1 + (int)(rnd() % 4);
    for (int j = 0; j < nf; j++) copy[rnd() % n] ^= (uint8_t)(1 + rnd() % 255);
    ctx.err[0] = 0;
    if (f(copy, n) != ML_OK) { errors++; if (!ctx.err[0]) silent++; }
  }
  free(copy);
  CHECK(silent == 0, "%s: %d corrupted copies, %d refused with a message, none crashed", name,
        flips, errors);
}

static uint8_t *gzip_mem(const uint8_t *data, size_t n, size_t *out_len) {
  z_stream z;
  memset(&z, 0, sizeof z);
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  size_t cap = deflateBound(&z, n) + 64;
  uint8_t *out = malloc(cap);
  z.next_in = (Bytef *)data;
  z.avail_in = (uInt)n;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  deflate(&z, Z_FINISH);
  *out_len = cap - z.avail_out;
  deflateEnd(&z);
  return out;
}

static void test_mlt(void) {
  ml_mlt_writer *w = ml_mlt_writer_new(&ctx, NULL, 1);
  int64_t shape[2] = {3, 4};
  ml_tensor t;
  ml_tensor_new(&ctx, &t, ML_F32, 2, shape, false);
  for (int i = 0; i < 12; i++) ml_f32(&t)[i] = (float)i * 0.5f;
  ml_mlt_put_table(w, 3);
  ml_mlt_put_string(w, "w", 1);
  ml_mlt_put_tensor(w, &t);
  ml_mlt_put_string(w, "n", 1);
  ml_mlt_put_int(w, -42);
  ml_mlt_put_int(w, 7);
  ml_mlt_put_string(w, "a\0b", 3);
  uint8_t *mem;
  size_t len;
  CHECK(ml_mlt_writer_finish(w, &mem, &len) == ML_OK, "mlt: writer finishes");
  ml_mlt_writer_free(w);
  ml_tensor_release(&t);

  ml_mlt_reader *r;
  ml_mlt_item it;
  CHECK(ml_mlt_reader_open(&ctx, &r, mem, len, "load") == ML_OK, "mlt: reader opens");
  CHECK(ml_mlt_next(r, &it) == ML_OK && it.kind == ML_MLT_TABLE && it.n == 3, "mlt: table of 3");
  char key[4] = {0};
  ml_mlt_next(r, &it);
  ml_mlt_read_bytes(r, key, it.n);
  CHECK(it.kind == ML_MLT_STRING && !strcmp(key, "w"), "mlt: key 'w'");
  ml_mlt_next(r, &it);
  ml_tensor back;
  CHECK(it.kind == ML_MLT_TENSOR && ml_mlt_read_tensor(r, &it, &back) == ML_OK &&
        back.shape[0] == 3 && back.shape[1] == 4 && ml_f32(&back)[11] == 5.5f, "mlt: tensor back");
  ml_tensor_release(&back);
  ml_mlt_next(r, &it); ml_mlt_read_bytes(r, key, it.n);
  ml_mlt_next(r, &it);
  CHECK(it.kind == ML_MLT_INT && it.i == -42, "mlt: integer back");
  ml_mlt_next(r, &it);
  char s[3];
  ml_mlt_next(r, &it);
  CHECK(it.kind == ML_MLT_STRING && it.n == 3 && ml_mlt_read_bytes(r, s, 3) == ML_OK &&
        !memcmp(s, "a\0b", 3), "mlt: string with NUL back");
  CHECK(ml_mlt_reader_end(r) == ML_OK, "mlt: payload ends where the header says");
  ml_mlt_reader_free(r);

  torture("mlt", read_mlt, mem, len, 3000, 1);
  /* a newer version is refused by name */
  uint8_t *v = malloc(len);
  memcpy(v, mem, len);
  v[8] = 9;
  uint32_t c = (uint32_t)crc32(0, v, 36);
  for (int i = 0; i < 4; i++) v[36 + i] = (uint8_t)(c >> (8 * i));
  CHECK(read_mlt(v, len) == ML_ERR && strstr(ctx.err, "newer"), "mlt: newer version refused: %s", ctx.err);
  free(v);
  ml_free(&ctx, mem);
}

/* Big payloads: the checksum is verified in parallel blocks. */
static void test_mlt_big(void) {
  int64_t n = 6 << 20;                         /* 24 MB of float32: 3 blocks */
  ml_tensor t;
  ml_tensor_new(&ctx, &t, ML_F32, 1, &n, false);
  for (int64_t i = 0; i < n; i++) ml_f32(&t)[i] = (float)(i % 1000) * 0.25f;
  ml_mlt_writer *w = ml_mlt_writer_new(&ctx, NULL, 0);
  ml_mlt_put_tensor(w, &t);
  uint8_t *mem;
  size_t len;
  CHECK(ml_mlt_writer_finish(w, &mem, &len) == ML_OK && len > (size_t)n * 4, "mlt big: stored");
  ml_mlt_writer_free(w);
  CHECK(read_mlt(mem, len) == ML_OK, "mlt big: parallel checksum agrees with the writer's (%s)", ctx.err);
  mem[len / 2] ^= 0x40;
  CHECK(read_mlt(mem, len) == ML_ERR && strstr(ctx.err, "checksum"), "mlt big: flipped bit found: %s", ctx.err);
  mem[len / 2] ^= 0x40;
  ctx.threads = 1;
  CHECK(read_mlt(mem, len) == ML_OK, "mlt big: serial checksum agrees");
  ctx.threads = 2;
  ml_free(&ctx, mem);
  ml_tensor_release(&t);
}

static void test_npy(void) {
  int64_t shape[3] = {2, 3, 4};
  ml_tensor t;
  ml_tensor_new(&ctx, &t, ML_F32, 3, shape, false);
  for (int i = 0; i < 24; i++) ml_f32(&t)[i] = (float)i;
  char *hdr;
  size_t hl;
  CHECK(ml_npy_encode_header(&ctx, &t, &hdr, &hl) == ML_OK && hl % 64 == 0, "npy: header padded to 64");
  size_t n = hl + 24 * 4;
  uint8_t *buf = malloc(n);
  memcpy(buf, hdr, hl);
  memcpy(buf + hl, ml_f32(&t), 96);
  ml_free(&ctx, hdr);
  ml_tensor back;
  CHECK(ml_npy_read(&ctx, &back, buf, n, "load_npy") == ML_OK && back.ndim == 3 &&
        ml_f32(&back)[23] == 23.0f, "npy: reads its own encoding");
  ml_tensor_release(&back);
  torture("npy", read_npy, buf, n, 3000, 1);
  free(buf);
  ml_tensor_release(&t);
}

static void test_idx(void) {
  uint8_t raw[4 + 8 + 2 * 3 * 4];
  uint8_t h[12] = {0, 0, 0x0B, 2, 0, 0, 0, 3, 0, 0, 0, 4};
  memcpy(raw, h, 12);
  for (int i = 0; i < 12; i++) { raw[12 + 2 * i] = (uint8_t)((i - 6) >> 8); raw[13 + 2 * i] = (uint8_t)(i - 6); }
  ml_tensor t;
  CHECK(ml_idx_read(&ctx, &t, raw, 36, ML_I64, 1, "read_idx") == ML_OK && t.shape[0] == 3 &&
        t.shape[1] == 4 && ml_i64(&t)[0] == -6 && ml_i64(&t)[11] == 5, "idx: int16 big-endian values");
  ml_tensor_release(&t);
  torture("idx", read_idx, raw, sizeof raw, 2000, 1);
  size_t gl;
  uint8_t *gz = gzip_mem(raw, sizeof raw, &gl);
  CHECK(ml_idx_read(&ctx, &t, gz, gl, ML_F32, 0.5, "read_idx") == ML_OK && ml_f32(&t)[11] == 2.5f,
        "idx: gzip input, scaled");
  ml_tensor_release(&t);
  torture("idx.gz", read_idx, gz, gl, 3000, 0);
  torture("gunzip", read_gz, gz, gl, 2000, 1);
  free(gz);
  /* a header claiming 2^40 bytes is refused before allocating */
  uint8_t huge[16] = {0, 0, 8, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0};
  CHECK(read_idx(huge, sizeof huge) == ML_ERR && strstr(ctx.err, "truncated"), "idx: huge claim refused: %s", ctx.err);
}

static void test_png(void) {
  ml_map m;
  CHECK(ml_map_file(&ctx, &m, "data/mnist-png/7_0001.png", "test") == ML_OK, "png: fixture maps");
  if (!m.data) return;
  ml_tensor t;
  CHECK(ml_png_read(&ctx, &t, m.data, m.size, "image.load") == ML_OK && t.shape[0] == 28 &&
        t.shape[1] == 28 && t.shape[2] == 1, "png: 28x28x1 digit");
  /* write and read back at 16 bits */
  char path[] = "/tmp/mlrun_test_png_XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  CHECK(ml_png_save(&ctx, path, &t, 16) == ML_OK, "png: 16-bit save");
  ml_map m2;
  ml_tensor back;
  ml_map_file(&ctx, &m2, path, "test");
  CHECK(ml_png_read(&ctx, &back, m2.data, m2.size, "image.load") == ML_OK &&
        fabs(ml_f32(&back)[400] - ml_f32(&t)[400]) < 1e-6, "png: 16-bit round trip");
  ml_tensor_release(&back);
  ml_map_free(&m2);
  unlink(path);
  ml_tensor_release(&t);
  torture("png", read_png, m.data, m.size, 3000, 1);
  ml_map_free(&m);
}

static void test_atomic(void) {
  char dir[] = "/tmp/mlrun_test_atomic_XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "atomic: temp dir");
  char path[128];
  snprintf(path, sizeof path, "%s/f.txt", dir);
  CHECK(ml_write_atomic(&ctx, path, "old", 3, "w") == ML_OK, "atomic: first write");
  ml_atomic a;
  CHECK(ml_atomic_open(&ctx, &a, path, "w") == ML_OK, "atomic: open");
  fputs("half of the new", a.f);
  ml_atomic_abort(&a);                           /* an error mid-way */
  uint8_t *got;
  size_t len;
  CHECK(ml_read_all(&ctx, path, 100, &got, &len, "r") == ML_OK && len == 3 && !memcmp(got, "old", 3),
        "atomic: abort leaves the old file");
  ml_free(&ctx, got);
  char **names;
  size_t nn;
  CHECK(ml_listdir(&ctx, dir, &names, &nn, "ls") == ML_OK && nn == 1, "atomic: no temp left behind");
  ml_listdir_free(names, nn);
  CHECK(ml_write_atomic(&ctx, path, "new!", 4, "w") == ML_OK &&
        ml_read_all(&ctx, path, 100, &got, &len, "r") == ML_OK && len == 4, "atomic: replace");
  ml_free(&ctx, got);
  snprintf(path, sizeof path, "%s/none/f.txt", dir);
  CHECK(ml_write_atomic(&ctx, path, "x", 1, "w") == ML_ERR && strstr(ctx.err, "cannot create"),
        "atomic: missing directory is an error: %s", ctx.err);
  snprintf(path, sizeof path, "rm -rf %s", dir);
  CHECK(system(path) == 0, "atomic: cleanup");
}

static void test_image(void) {
  int64_t shape[3] = {4, 5, 2};
  ml_tensor t, o;
  ml_tensor_new(&ctx, &t, ML_F32, 3, shape, false);
  for (int i = 0; i < 40; i++) ml_f32(&t)[i] = (float)i;
  CHECK(ml_image_flip(&ctx, &o, &t, true, false, NULL, 0) == ML_OK && ml_f32(&o)[0] == 8 &&
        ml_f32(&o)[1] == 9, "image: horizontal flip moves the last column first");
  ml_tensor_release(&o);
  double m[6];
  ml_affine id = {0, 0, 1, 1, 0, 0};
  ml_image_affine_params(m, 4, 5, &id);
  CHECK(ml_image_warp(&ctx, &o, &t, m, 1, 0, ML_PAD_CONSTANT) == ML_OK && ml_f32(&o)[17] == 17, "image: identity warp");
  ml_tensor_release(&o);
  CHECK(ml_image_resize(&ctx, &o, &t, 0, 3) == ML_ERR, "image: resize to 0 refused");
  int64_t k1[1] = {3};
  ml_tensor k;
  ml_tensor_new(&ctx, &k, ML_F32, 1, k1, true);
  CHECK(ml_image_filter(&ctx, &o, &t, &k, true, ML_PAD_CONSTANT) == ML_ERR && strstr(ctx.err, "2-D kernel"),
        "image: 1-D kernel refused: %s", ctx.err);
  ml_tensor_release(&k);
  ml_tensor_release(&t);
}

int main(void) {
  ml_ctx_init(&ctx);
  ctx.threads = 2;
  test_mlt();
  test_mlt_big();
  test_npy();
  test_idx();
  test_png();
  test_atomic();
  test_image();
  CHECK(ctx.mem_in_use == 0, "no tensor memory leaked (%zu bytes in use)", ctx.mem_in_use);
  ml_ctx_free(&ctx);
  return check_done();
}
