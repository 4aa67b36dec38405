/* IDX files (MNIST), plain or gzipped. */
#define TARGET_EXT ".idx"
#define TARGET_CODE \
  "return function(s, path)\n" \
  "  local ok, t = pcall(ml.read_idx, path)\n" \
  "  if ok then pcall(t.sum, t) end\n" \
  "end"
#include "fuzz_common.h"
