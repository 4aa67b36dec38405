/* PNG images through libpng, then the image kernels on what loads. */
#define TARGET_EXT ".png"
#include "fuzz_image.h"
