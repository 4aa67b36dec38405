/* tree_sort.c - sorting the (value, position) keys of a node's samples:
 * LSD radix sort over the value's 32 bits, skipping digits that are equal
 * for every key (one-hot and small-integer columns cost one or two passes),
 * and insertion sort for small nodes. */
#include "tree.h"
#include <string.h>

static void insertion_sort(uint64_t *a, int64_t n) {
  for (int64_t i = 1; i < n; i++) {
    uint64_t v = a[i];
    int64_t j = i - 1;
    while (j >= 0 && a[j] > v) { a[j + 1] = a[j]; j--; }
    a[j + 1] = v;
  }
}

/* Keys carry the float key in the high 32 bits and the sample's position in
 * the low 32 (unique), so sorting by the high bits alone is enough. */
void ml_sort_u64(uint64_t *keys, uint64_t *tmp, int64_t n) {
  if (n <= 48) { insertion_sort(keys, n); return; }
  uint32_t hist[4][256];
  memset(hist, 0, sizeof hist);
  for (int64_t i = 0; i < n; i++) {
    uint32_t k = (uint32_t)(keys[i] >> 32);
    hist[0][k & 255]++; hist[1][(k >> 8) & 255]++;
    hist[2][(k >> 16) & 255]++; hist[3][k >> 24]++;
  }
  uint64_t *src = keys, *dst = tmp;
  for (int pass = 0; pass < 4; pass++) {
    uint32_t *h = hist[pass];
    int shift = 32 + 8 * pass;
    if (h[(src[0] >> shift) & 255] == (uint32_t)n) continue;   /* one digit value */
    uint32_t sum = 0;
    for (int b = 0; b < 256; b++) { uint32_t c = h[b]; h[b] = sum; sum += c; }
    for (int64_t i = 0; i < n; i++) dst[h[(src[i] >> shift) & 255]++] = src[i];
    uint64_t *t = src; src = dst; dst = t;
  }
  if (src != keys) memcpy(keys, src, (size_t)n * sizeof *keys);
}
