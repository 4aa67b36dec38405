/* CSV: detected and explicit separators, with and without a header, and the
 * DataFrame built on top (describe touches every column). */
#define TARGET_EXT ".csv"
#define TARGET_CODE \
  "return function(s, path)\n" \
  "  local ok, df = pcall(ml.read_csv_string, s)\n" \
  "  if ok then pcall(df.describe, df); pcall(df.to_tensor, df); pcall(tostring, df) end\n" \
  "  pcall(ml.read_csv_string, s, {sep = ';', header = false})\n" \
  "  pcall(ml.read_csv, path)\n" \
  "end"
#include "fuzz_common.h"
