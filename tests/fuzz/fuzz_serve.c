/* Request bodies of `mlrun serve`, straight into the C parsers the HTTP
 * threads run (no Lua): the first byte picks JSON or image, the rest is the
 * body. A body may only give rows or a clean error. */
#include "serve/serve.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  ml_serve_opts o = {0};
  o.in_ndim = 3;
  o.in_shape[0] = 8, o.in_shape[1] = 8, o.in_shape[2] = 1;
  o.in_h = 8, o.in_w = 8, o.in_c = (data[0] & 2) ? 3 : 1;
  o.image_scale = 1;
  o.max_pixels = 1 << 16;
  char err[256];
  float *x = NULL;
  if (data[0] & 1) {
    int64_t rows = 0;
    int64_t row = (data[0] & 4) ? 4 : 64;
    if (ml_serve_parse_json((const char *)data + 1, size - 1, row, &x, &rows, err, sizeof err) == 0) {
      volatile float sum = 0;
      for (int64_t i = 0; i < rows * row; i++) sum += x[i];   /* every value was written */
      (void)sum;
    }
  } else {
    o.in_shape[2] = o.in_c;
    if (ml_serve_decode_image(data + 1, size - 1, &o, &x, err, sizeof err) == 0) {
      volatile float sum = 0;
      for (int i = 0; i < 8 * 8 * o.in_c; i++) sum += x[i];
      (void)sum;
    }
  }
  free(x);
  return 0;
}
