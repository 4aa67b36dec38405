/* svm_cache.c - least-recently-used cache of kernel rows (libsvm's design:
 * rows grow on demand up to the length asked; the oldest rows are dropped
 * when the byte budget runs out). */
#include "svm.h"
#include <stdlib.h>

typedef struct head {
  struct head *prev, *next;   /* circular LRU list; only rows holding data */
  float *data;
  int64_t len;
} head;

struct ml_svm_cache {
  int64_t l;
  int64_t size;               /* floats still available */
  head *heads;
  head lru;
};

static void lru_delete(head *h) { h->prev->next = h->next; h->next->prev = h->prev; }
static void lru_insert(ml_svm_cache *c, head *h) {
  h->next = &c->lru; h->prev = c->lru.prev;
  h->prev->next = h; h->next->prev = h;
}

ml_svm_cache *ml_svm_cache_new(int64_t l, size_t bytes) {
  ml_svm_cache *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->heads = calloc((size_t)l, sizeof(head));
  if (!c->heads) { free(c); return NULL; }
  c->l = l;
  c->size = (int64_t)(bytes / sizeof(float)) - l * (int64_t)(sizeof(head) / sizeof(float));
  if (c->size < 2 * l) c->size = 2 * l;   /* room for at least two full rows */
  c->lru.next = c->lru.prev = &c->lru;
  return c;
}

void ml_svm_cache_free(ml_svm_cache *c) {
  if (!c) return;
  for (head *h = c->lru.next; h != &c->lru; h = h->next) free(h->data);
  free(c->heads);
  free(c);
}

int64_t ml_svm_cache_get(ml_svm_cache *c, int64_t index, float **data, int64_t len) {
  head *h = &c->heads[index];
  if (h->len) lru_delete(h);
  int64_t more = len - h->len, had = h->len;
  if (more > 0) {
    while (c->size < more && c->lru.next != &c->lru) {
      head *old = c->lru.next;
      lru_delete(old);
      free(old->data);
      c->size += old->len;
      old->data = NULL;
      old->len = 0;
    }
    float *p = realloc(h->data, sizeof(float) * (size_t)len);
    if (!p) {   /* leave the row as it was */
      if (h->len) lru_insert(c, h);
      *data = NULL;
      return 0;
    }
    h->data = p;
    c->size -= more;
    h->len = len;
  }
  lru_insert(c, h);
  *data = h->data;
  return had;
}

void ml_svm_cache_swap(ml_svm_cache *c, int64_t i, int64_t j) {
  if (i == j) return;
  head *hi = &c->heads[i], *hj = &c->heads[j];
  if (hi->len) lru_delete(hi);
  if (hj->len) lru_delete(hj);
  float *td = hi->data; hi->data = hj->data; hj->data = td;
  int64_t tl = hi->len; hi->len = hj->len; hj->len = tl;
  if (hi->len) lru_insert(c, hi);
  if (hj->len) lru_insert(c, hj);
  if (i > j) { int64_t t = i; i = j; j = t; }
  for (head *h = c->lru.next; h != &c->lru;) {
    head *next = h->next;
    if (h->len > i) {
      if (h->len > j) { float t = h->data[i]; h->data[i] = h->data[j]; h->data[j] = t; }
      else {   /* the row covers i but not j: drop it */
        lru_delete(h);
        free(h->data);
        c->size += h->len;
        h->data = NULL;
        h->len = 0;
      }
    }
    h = next;
  }
}
