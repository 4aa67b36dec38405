/* The product's own format: in memory (ml.io.deserialize) and from a file
 * (ml.load, which maps it). */
#define TARGET_EXT ".mlt"
#define TARGET_CODE \
  "return function(s, path)\n" \
  "  pcall(ml.io.deserialize, s)\n" \
  "  pcall(ml.load, path)\n" \
  "end"
#include "fuzz_common.h"
