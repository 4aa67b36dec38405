/* NumPy .npy files: header parsing (dict literal, dtype, shape, order). */
#define TARGET_EXT ".npy"
#define TARGET_CODE \
  "return function(s, path)\n" \
  "  local ok, t = pcall(ml.load_npy, path)\n" \
  "  if ok then pcall(tostring, t) end\n" \
  "end"
#include "fuzz_common.h"
