/* JPEG images through libjpeg, then the image kernels on what loads. */
#define TARGET_EXT ".jpg"
#include "fuzz_image.h"
