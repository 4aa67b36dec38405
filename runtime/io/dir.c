/* dir.c - directory listing (sorted), for loaders of image folders. */
#include "io.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int ml_listdir(ml_ctx *ctx, const char *path, char ***names, size_t *n, const char *who) {
  *names = NULL;
  *n = 0;
  DIR *d = opendir(path);
  if (!d) return ml_error(ctx, "%s: cannot open directory '%s': %s", who, path, strerror(errno));
  size_t cap = 64, len = 0;
  char **v = malloc(cap * sizeof *v);
  struct dirent *e;
  while (v && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;          /* ., .. and hidden files */
    if (len == cap) {
      char **nv = realloc(v, 2 * cap * sizeof *v);
      if (!nv) break;
      v = nv;
      cap *= 2;
    }
    size_t k = strlen(e->d_name) + 1;
    v[len] = malloc(k);
    if (!v[len]) break;
    memcpy(v[len++], e->d_name, k);
  }
  int oom = v == NULL || e != NULL;
  closedir(d);
  if (oom) {
    ml_listdir_free(v, len);
    return ml_error(ctx, "%s: out of memory listing '%s'", who, path);
  }
  qsort(v, len, sizeof *v, cmp_str);
  *names = v;
  *n = len;
  return ML_OK;
}

void ml_listdir_free(char **names, size_t n) {
  if (!names) return;
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}
