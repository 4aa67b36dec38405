/* The image targets (fuzz_png.c, fuzz_jpeg.c) differ only in the file
 * extension that picks the decoder: each defines TARGET_EXT and includes
 * this. What loads then goes through the image kernels. */
#define TARGET_CODE \
  "return function(s, path)\n" \
  "  local ok, img = pcall(ml.image.load, path)\n" \
  "  if ok and img:numel() < 1e6 then\n" \
  "    pcall(ml.image.rgb2gray, img); pcall(ml.image.resize, img, 7, 5)\n" \
  "    pcall(ml.image.rotate, img, 30); pcall(ml.image.sobel_h, img)\n" \
  "  end\n" \
  "end"
#include "fuzz_common.h"
