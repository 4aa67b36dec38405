/* stdlib_embed.h - the Lua standard library compiled into the binary.
 * The table itself is generated at build time by embed_stdlib.lua from
 * stdlib/ml/ (build/stdlib_embed.c); it is data, not code. */
#ifndef MLB_STDLIB_EMBED_H
#define MLB_STDLIB_EMBED_H
#include <stddef.h>

typedef struct mlb_source {
  const char *name;            /* module name: "ml", "ml.nn", "ml.nn.layers" */
  const char *path;            /* path under stdlib/: "ml/nn/layers.lua" */
  const unsigned char *code;
  size_t len;
} mlb_source;

extern const mlb_source mlb_stdlib[];   /* ends with a NULL name */
#endif
