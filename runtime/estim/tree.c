/* tree.c - CART decision trees grown as scikit-learn's BestSplitter and
 * DepthFirstTreeBuilder grow them: the same feature draws (rand_r), the same
 * constant-feature bookkeeping, thresholds midway between distinct values,
 * the same impurity formulas and the same tie-breaking (first strictly
 * better split in visiting order), so equal inputs give equal trees.
 *
 * Speed comes from sorting each candidate feature's node values as packed
 * (value, position) 64-bit keys with a radix sort, and from searching the
 * features of large nodes in parallel: features are first drawn exactly as
 * scikit-learn draws them (a min/max scan finds constants), then evaluated
 * concurrently and reduced in visiting order. */
#include "tree.h"
#include <float.h>
#include <omp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FEATURE_THRESHOLD 1e-7
#define PAR_MIN_WORK 1000000    /* node samples x features before threads pay off */

/* ---- node storage ---- */

int ml_tree_reserve(ml_tree *t, int64_t cap) {
  if (cap <= t->cap) return ML_OK;
  int32_t *f = realloc(t->feature, (size_t)cap * sizeof *f);
  if (f) t->feature = f;
  float *th = realloc(t->threshold, (size_t)cap * sizeof *th);
  if (th) t->threshold = th;
  int32_t *l = realloc(t->left, (size_t)cap * sizeof *l);
  if (l) t->left = l;
  int32_t *r = realloc(t->right, (size_t)cap * sizeof *r);
  if (r) t->right = r;
  float *v = realloc(t->value, (size_t)cap * (size_t)t->n_values * sizeof *v);
  if (v) t->value = v;
  double *im = realloc(t->impurity, (size_t)cap * sizeof *im);
  if (im) t->impurity = im;
  int64_t *ns = realloc(t->n_samples, (size_t)cap * sizeof *ns);
  if (ns) t->n_samples = ns;
  double *wn = realloc(t->weighted_n, (size_t)cap * sizeof *wn);
  if (wn) t->weighted_n = wn;
  if (!f || !th || !l || !r || !v || !im || !ns || !wn) return ML_ERR;
  t->cap = cap;
  return ML_OK;
}

int ml_tree_init(ml_tree *t, int n_values, int64_t cap) {
  memset(t, 0, sizeof *t);
  t->n_values = n_values;
  return ml_tree_reserve(t, cap < 1 ? 1 : cap);
}

void ml_tree_free(ml_tree *t) {
  free(t->feature); free(t->threshold); free(t->left); free(t->right);
  free(t->value); free(t->impurity); free(t->n_samples); free(t->weighted_n);
  memset(t, 0, sizeof *t);
}

int64_t ml_tree_n_leaves(const ml_tree *t) {
  int64_t k = 0;
  for (int64_t i = 0; i < t->n_nodes; i++) k += t->feature[i] < 0;
  return k;
}

int ml_tree_importances(const ml_tree *t, int d, double *imp) {
  if (t->n_nodes <= 1) return 0;
  double *acc = calloc((size_t)d, sizeof *acc);
  if (!acc) return 0;
  for (int64_t i = 0; i < t->n_nodes; i++) {
    int f = t->feature[i];
    if (f < 0 || f >= d) continue;
    int32_t l = t->left[i], r = t->right[i];
    acc[f] += t->weighted_n[i] * t->impurity[i] - t->weighted_n[l] * t->impurity[l] -
              t->weighted_n[r] * t->impurity[r];
  }
  double norm = 0;
  for (int j = 0; j < d; j++) { acc[j] /= t->weighted_n[0]; norm += acc[j]; }
  for (int j = 0; j < d; j++) imp[j] += norm > 0 ? acc[j] / norm : 0;
  free(acc);
  return 1;
}

const char *ml_tree_check_params(const ml_tree_params *p, int d) {
  if (p->criterion < ML_CRIT_GINI || p->criterion > ML_CRIT_MSE) return "unknown criterion";
  if (p->min_samples_split < 2) return "min_samples_split must be at least 2";
  if (p->min_samples_leaf < 1) return "min_samples_leaf must be at least 1";
  if (p->max_features < 1 || p->max_features > d)
    return "max_features must select between 1 and n_features features";
  if (!(p->min_impurity_decrease >= 0)) return "min_impurity_decrease must be >= 0";
  return NULL;
}

/* ---- the builder ---- */

typedef struct {          /* one thread's scratch for evaluating a feature */
  uint64_t *keys, *tmp;   /* [n_samples] */
  float *vals;            /* [n_samples] the feature's values in node order */
  double *lanes;          /* [4 x n_classes] partial sums */
  double *sum_left;       /* [n_classes] */
} scratch;

typedef struct {
  const ml_tree_data *D;
  const double *w;
  const ml_tree_params *p;
  int K;                  /* classes (1 for regression) */
  int32_t *samples;       /* [m] samples with nonzero weight, partitioned per node */
  int64_t m;
  double w_total;
  int32_t *features, *constant_features;   /* [d] */
  uint32_t rand_r;
  double *sum_total;      /* [K] of the current node */
  double sq_total;        /* sum of w*y*y of the current node (regression) */
  int32_t *yn;            /* [m] class of the node's i-th sample (classification) */
  float *yrn;             /* [m] its target (regression) */
  double *wn;             /* [m] its weight */
  int nt;
  scratch *sc;            /* [nt] */
  int *cand;              /* [d] features to evaluate, in visiting order */
} builder;

typedef struct {
  int feature;
  int64_t pos;            /* end of the left part */
  double threshold;
  double proxy;
  double improvement, imp_left, imp_right;
} split;

static inline double wt(const builder *b, int32_t s) { return b->w ? b->w[s] : 1.0; }

static double log2_(double x) { return log(x) / log(2.0); }

static inline float key_float(uint32_t k) {
  union { uint32_t u; float f; } v;
  v.u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
  return v.f;
}

/* Impurity from class weights. */
static double class_impurity(const builder *b, const double *cnt, double wn) {
  double v = 0;
  if (b->p->criterion == ML_CRIT_GINI) {
    double sq = 0;
    for (int c = 0; c < b->K; c++) sq += cnt[c] * cnt[c];
    v = 1.0 - sq / (wn * wn);
  } else {
    for (int c = 0; c < b->K; c++)
      if (cnt[c] > 0.0) { double q = cnt[c] / wn; v -= q * log2_(q); }
  }
  return v;
}

/* Sums over samples[start, end): class weights (or sum w*y and sum w*y*y in
 * sums[0], *sq), returns the weight. With gather, also fills the node-local
 * yn / yrn / wn arrays the split search reads. */
static double node_sums(const builder *b, int64_t start, int64_t end, double *sums, double *sq,
                        bool gather) {
  double wn = 0;
  if (b->D->y) {
    memset(sums, 0, (size_t)b->K * sizeof *sums);
    for (int64_t i = start; i < end; i++) {
      int32_t s = b->samples[i], c = b->D->y[s];
      double ws = wt(b, s);
      sums[c] += ws;
      wn += ws;
      if (gather) { b->yn[i - start] = c; b->wn[i - start] = ws; }
    }
  } else {
    double sy = 0, syy = 0;
    for (int64_t i = start; i < end; i++) {
      int32_t s = b->samples[i];
      double ws = wt(b, s), yv = b->D->yr[s];
      sy += ws * yv;
      syy += ws * yv * yv;
      wn += ws;
      if (gather) { b->yrn[i - start] = (float)yv; b->wn[i - start] = ws; }
    }
    sums[0] = sy;
    *sq = syy;
  }
  return wn;
}

/* scikit-learn's proxy_impurity_improvement for left sums sl (classes) or
 * syl (regression) of weight wnl. */
static inline double proxy_of(const builder *b, const double *sl, double syl, double wnl,
                              double wnn) {
  const double *st = b->sum_total;
  double wnr = wnn - wnl;
  if (!b->D->y) {
    double syr = st[0] - syl;
    return syl * syl / wnl + syr * syr / wnr;
  }
  if (b->p->criterion == ML_CRIT_GINI) {
    double sql = 0, sqr = 0;
    for (int c = 0; c < b->K; c++) {
      double cl = sl[c], cr = st[c] - sl[c];
      sql += cl * cl;
      sqr += cr * cr;
    }
    return -wnr * (1.0 - sqr / (wnr * wnr)) - wnl * (1.0 - sql / (wnl * wnl));
  }
  double el = 0, er = 0;
  for (int c = 0; c < b->K; c++) {
    double cl = sl[c], cr = st[c] - sl[c];
    if (cl > 0) { cl /= wnl; el -= cl * log2_(cl); }
    if (cr > 0) { cr /= wnr; er -= cr * log2_(cr); }
  }
  return -wnr * er - wnl * el;
}

/* Threshold between neighbours xa < xb, as scikit-learn computes it. */
static inline double midpoint(float xa, float xb) {
  double th = xa / 2.0 + xb / 2.0;
  if (th == (double)xb || isinf(th)) th = xa;
  return th;
}

/* Best split of samples[start, end) on feature f into *best (proxy -inf
 * when no position satisfies min_samples_leaf). Returns 0 when the feature
 * is constant in the node. Two-valued columns (one-hot) need no sort. */
static int eval_feature(const builder *b, scratch *sc, int f, int64_t start, int64_t end,
                        double wnn, split *best) {
  const float *xf = b->D->Xt + (size_t)f * (size_t)b->D->n;
  int64_t m = end - start;
  const int32_t *smp = b->samples + start;
  float *v = sc->vals;
  float lo = xf[smp[0]], hi = lo;
  for (int64_t i = 0; i < m; i++) {
    float x = xf[smp[i]];
    v[i] = x;
    lo = x < lo ? x : lo;
    hi = x > hi ? x : hi;
  }
  best->proxy = -INFINITY;
  best->pos = end;
  best->feature = f;
  if ((double)hi <= (double)lo + FEATURE_THRESHOLD) return 0;
  int64_t msl = b->p->min_samples_leaf;
  int K = b->K, cls = b->D->y != NULL;
  const int32_t *yn = b->yn;
  const float *yrn = b->yrn;
  const double *wn = b->wn;
  double *sl = sc->sum_left, wnl = 0, syl = 0;
  memset(sl, 0, (size_t)K * sizeof *sl);
  /* The samples at the minimum (zeros of sparse or one-hot columns) form the
   * first run of the sorted order: sum them in four lanes (so the += chains
   * do not wait on each other) and sort only the others. */
  uint64_t *keys = sc->keys;
  int64_t nk = 0;
  bool two = true;
  double *acc = sc->lanes, wl[4] = {0, 0, 0, 0};
  int L = cls ? K : 1;
  memset(acc, 0, 4 * (size_t)L * sizeof *acc);
  int64_t i = 0;
  for (; i + 4 <= m; i += 4)
    for (int q = 0; q < 4; q++) {
      float x = v[i + q];
      double ww = x == lo ? wn[i + q] : 0.0;
      wl[q] += ww;
      acc[q * L + (cls ? yn[i + q] : 0)] += cls ? ww : ww * yrn[i + q];
      if (x != lo) { keys[nk++] = ((uint64_t)ml_float_key(x) << 32) | (uint64_t)(i + q); two &= x == hi; }
    }
  for (; i < m; i++) {
    float x = v[i];
    double ww = x == lo ? wn[i] : 0.0;
    wl[0] += ww;
    acc[cls ? yn[i] : 0] += cls ? ww : ww * yrn[i];
    if (x != lo) { keys[nk++] = ((uint64_t)ml_float_key(x) << 32) | (uint64_t)i; two &= x == hi; }
  }
  wnl = (wl[0] + wl[1]) + (wl[2] + wl[3]);
  for (int c = 0; c < L; c++) sl[c] = (acc[c] + acc[L + c]) + (acc[2 * L + c] + acc[3 * L + c]);
  syl = sl[0];
  int64_t nlo = m - nk;
  /* the boundary after the minimum run */
  float first = two ? hi : 0;
  if (!two) {
    ml_sort_u64(keys, sc->tmp, nk);
    first = key_float((uint32_t)(keys[0] >> 32));
  }
  if ((double)first > (double)lo + FEATURE_THRESHOLD && nlo >= msl && m - nlo >= msl) {
    best->proxy = proxy_of(b, sl, syl, wnl, wnn);
    best->pos = start + nlo;
    best->threshold = midpoint(lo, first);
  }
  if (two) return 1;
  for (int64_t p = 0; p < nk - 1; p++) {
    uint32_t j = (uint32_t)keys[p];
    double ws = wn[j];
    if (cls) sl[yn[j]] += ws; else syl += ws * yrn[j];
    wnl += ws;
    float xa = key_float((uint32_t)(keys[p] >> 32)), xb = key_float((uint32_t)(keys[p + 1] >> 32));
    if ((double)xb <= (double)xa + FEATURE_THRESHOLD) continue;
    int64_t pos = nlo + p + 1;
    if (pos < msl || m - pos < msl) continue;
    double proxy = proxy_of(b, sl, syl, wnl, wnn);
    if (proxy > best->proxy) {
      best->proxy = proxy;
      best->pos = start + pos;
      best->threshold = midpoint(xa, xb);
    }
  }
  return 1;
}

/* scikit-learn's BestSplitter.node_split. *n_constants: known constant
 * features in (from the parent), all constants found out. Large nodes on
 * several threads: the draw loop only detects constants (min/max), the
 * drawn features are evaluated in parallel and reduced in visiting order. */
static void node_split(builder *b, int64_t start, int64_t end, double impurity, double wnn,
                       int *n_constants, split *best) {
  int d = b->D->d;
  int32_t *features = b->features, *constant_features = b->constant_features;
  const float *Xt = b->D->Xt;
  int64_t n = b->D->n, m = end - start;
  int mf = b->p->max_features;
  bool par = b->nt > 1 && m * (mf < d ? mf : d) >= PAR_MIN_WORK;
  int n_known_constants = *n_constants, n_total_constants = n_known_constants;
  int n_found_constants = 0, n_drawn_constants = 0, n_visited = 0, n_cand = 0;
  best->proxy = -INFINITY;
  best->pos = end;
  best->feature = -1;
  int f_i = d;
  while (f_i > n_total_constants &&
         (n_visited < mf || n_visited <= n_found_constants + n_drawn_constants)) {
    n_visited++;
    int f_j = (int)ml_sk_rand_int(n_drawn_constants, f_i - n_found_constants, &b->rand_r);
    if (f_j < n_known_constants) {
      int32_t t = features[n_drawn_constants];
      features[n_drawn_constants] = features[f_j];
      features[f_j] = t;
      n_drawn_constants++;
      continue;
    }
    f_j += n_found_constants;
    int f = features[f_j];
    bool constant;
    if (par) {
      const float *xf = Xt + (size_t)f * (size_t)n;
      float lo = xf[b->samples[start]], hi = lo;
      for (int64_t i = start + 1; i < end; i++) {
        float v = xf[b->samples[i]];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
      }
      constant = (double)hi <= (double)lo + FEATURE_THRESHOLD;
      if (!constant) b->cand[n_cand++] = f;
    } else {
      split r;
      constant = !eval_feature(b, &b->sc[0], f, start, end, wnn, &r);
      if (!constant && r.proxy > best->proxy) *best = r;
    }
    if (constant) {
      features[f_j] = features[n_total_constants];
      features[n_total_constants] = f;
      n_found_constants++;
      n_total_constants++;
      continue;
    }
    f_i--;
    features[f_j] = features[f_i];
    features[f_i] = f;
  }
  if (n_cand > 0) {
    split res[n_cand];
    #pragma omp parallel for num_threads(b->nt) schedule(dynamic, 1)
    for (int c = 0; c < n_cand; c++)
      eval_feature(b, &b->sc[omp_get_thread_num()], b->cand[c], start, end, wnn, &res[c]);
    for (int c = 0; c < n_cand; c++)
      if (res[c].proxy > best->proxy) *best = res[c];
  }
  if (best->pos < end) {
    /* partition: x <= threshold first */
    const float *xf = Xt + (size_t)best->feature * (size_t)n;
    int64_t lo = start, hi = end;
    while (lo < hi) {
      if ((double)xf[b->samples[lo]] <= best->threshold) lo++;
      else { hi--; int32_t t = b->samples[lo]; b->samples[lo] = b->samples[hi]; b->samples[hi] = t; }
    }
    best->pos = lo;
    double *tmp = b->sc[0].sum_left, sq_l = 0, sq_all = 0;
    double wnl;
    if (b->D->y) {
      wnl = node_sums(b, start, lo, tmp, &sq_l, false);
      double wnr = wnn - wnl;
      best->imp_left = class_impurity(b, tmp, wnl);
      for (int c = 0; c < b->K; c++) tmp[c] = b->sum_total[c] - tmp[c];
      best->imp_right = class_impurity(b, tmp, wnr);
    } else {
      double sums[1];
      wnl = node_sums(b, start, lo, sums, &sq_l, false);
      sq_all = b->sq_total;
      double wnr = wnn - wnl, syr = b->sum_total[0] - sums[0], sq_r = sq_all - sq_l;
      best->imp_left = sq_l / wnl - (sums[0] / wnl) * (sums[0] / wnl);
      best->imp_right = sq_r / wnr - (syr / wnr) * (syr / wnr);
    }
    double wnr = wnn - wnl;
    best->improvement = (wnn / b->w_total) *
      (impurity - (wnr / wnn * best->imp_right) - (wnl / wnn * best->imp_left));
  }
  /* keep the known constants in their original order for siblings */
  memcpy(features, constant_features, (size_t)n_known_constants * sizeof *features);
  memcpy(constant_features + n_known_constants, features + n_known_constants,
         (size_t)n_found_constants * sizeof *features);
  *n_constants = n_total_constants;
}

/* Largest float32 <= v: a float sample goes left of it exactly when it goes
 * left of the double threshold. */
static float round_down(double v) {
  float f = (float)v;
  if ((double)f > v) f = nextafterf(f, -INFINITY);
  return f;
}

typedef struct { int64_t start, end; int depth, parent, is_left, n_constants; double impurity; } entry;

void ml_tree_ws_free(ml_tree_ws *ws) {
  free(ws->mem);
  ws->mem = NULL;
  ws->cap = 0;
}

/* Carves n bytes (64-byte aligned) from the workspace block at *off. */
static void *carve(char *base, size_t *off, size_t n) {
  void *p = base ? base + *off : NULL;
  *off += (n + 63) & ~(size_t)63;
  return p;
}

/* Lays the builder's arrays out in one block (base NULL: only sizes it). */
static size_t layout(builder *b, char *base, int64_t n, int d, int K, int nt, scratch *sc) {
  size_t off = 0, nm = (size_t)(n > 0 ? n : 1);
  b->samples = carve(base, &off, nm * sizeof(int32_t));
  b->yn = carve(base, &off, nm * sizeof(int32_t));
  b->yrn = carve(base, &off, nm * sizeof(float));
  b->wn = carve(base, &off, nm * sizeof(double));
  b->features = carve(base, &off, (size_t)d * sizeof(int32_t));
  b->constant_features = carve(base, &off, (size_t)d * sizeof(int32_t));
  b->cand = carve(base, &off, (size_t)d * sizeof(int));
  b->sum_total = carve(base, &off, (size_t)K * sizeof(double));
  for (int t = 0; t < nt; t++) {
    scratch *c = sc + t;
    c->keys = carve(base, &off, nm * sizeof(uint64_t));
    c->tmp = carve(base, &off, nm * sizeof(uint64_t));
    c->vals = carve(base, &off, nm * sizeof(float));
    c->lanes = carve(base, &off, 4 * (size_t)K * sizeof(double));
    c->sum_left = carve(base, &off, (size_t)K * sizeof(double));
  }
  return off;
}

int ml_tree_fit(ml_ctx *ctx, ml_tree *out, const ml_tree_data *D, const double *w,
                const ml_tree_params *p, int threads) {
  ml_tree_ws ws = {NULL, 0};
  int rc = ml_tree_fit_ws(ctx, out, D, w, p, threads, &ws);
  ml_tree_ws_free(&ws);
  return rc;
}

int ml_tree_fit_ws(ml_ctx *ctx, ml_tree *out, const ml_tree_data *D, const double *w,
                   const ml_tree_params *p, int threads, ml_tree_ws *ws) {
  memset(out, 0, sizeof *out);
  const char *msg = ml_tree_check_params(p, D->d);
  if (msg) return ml_error(ctx, "tree_fit: %s", msg);
  if (!D->y == !D->yr) return ml_error(ctx, "tree_fit: expected class ids or targets");
  builder b;
  memset(&b, 0, sizeof b);
  b.D = D; b.w = w; b.p = p;
  b.K = D->y ? D->n_classes : 1;
  b.nt = threads < 1 ? 1 : threads;
  b.rand_r = p->seed;
  int nv = D->y ? D->n_classes : 1;
  scratch sc[b.nt];
  b.sc = sc;
  size_t need = layout(&b, NULL, D->n, D->d, b.K, b.nt, sc);
  if (need > ws->cap) {
    free(ws->mem);
    ws->mem = malloc(need);
    ws->cap = ws->mem ? need : 0;
  }
  layout(&b, ws->mem, D->n, D->d, b.K, b.nt, sc);
  int64_t stack_cap = 64, sp = 0;
  entry *stack = malloc((size_t)stack_cap * sizeof *stack);
  int rc = ML_ERR;
  if (!ws->mem || !stack || ml_tree_init(out, nv, 64) != ML_OK) goto oom;
  for (int j = 0; j < D->d; j++) b.features[j] = j;
  for (int64_t i = 0; i < D->n; i++)
    if (!w || w[i] != 0.0) { b.samples[b.m++] = (int32_t)i; b.w_total += wt(&b, (int32_t)i); }
  if (b.m == 0) { rc = ml_error(ctx, "tree_fit: no samples with nonzero weight"); goto done; }
  int max_depth = p->max_depth < 0 ? 0x7fffffff : p->max_depth;
  stack[sp++] = (entry){0, b.m, 0, -1, 0, 0, INFINITY};
  int first = 1;
  while (sp > 0) {
    entry e = stack[--sp];
    int64_t nn = e.end - e.start;
    double sq = 0;
    double wnn = node_sums(&b, e.start, e.end, b.sum_total, &sq, true);
    b.sq_total = sq;
    int is_leaf = e.depth >= max_depth || nn < p->min_samples_split ||
                  nn < 2 * p->min_samples_leaf;
    double impurity = e.impurity;
    if (first) {
      impurity = D->y ? class_impurity(&b, b.sum_total, wnn)
                      : sq / wnn - (b.sum_total[0] / wnn) * (b.sum_total[0] / wnn);
      first = 0;
    }
    is_leaf = is_leaf || impurity <= DBL_EPSILON;
    split s = {.feature = -1, .pos = e.end};
    int n_constants = e.n_constants;
    if (!is_leaf) {
      node_split(&b, e.start, e.end, impurity, wnn, &n_constants, &s);
      is_leaf = s.pos >= e.end || s.improvement + DBL_EPSILON < p->min_impurity_decrease;
    }
    if (out->n_nodes == out->cap && ml_tree_reserve(out, out->cap * 2) != ML_OK) goto oom;
    int64_t id = out->n_nodes++;
    if (e.parent >= 0) {
      if (e.is_left) out->left[e.parent] = (int32_t)id; else out->right[e.parent] = (int32_t)id;
    }
    out->feature[id] = is_leaf ? -1 : s.feature;
    out->threshold[id] = is_leaf ? -2.0f : round_down(s.threshold);
    out->left[id] = out->right[id] = -1;
    out->impurity[id] = impurity;
    out->n_samples[id] = nn;
    out->weighted_n[id] = wnn;
    float *v = out->value + id * nv;
    if (D->y) for (int c = 0; c < nv; c++) v[c] = (float)(b.sum_total[c] / wnn);
    else v[0] = (float)(b.sum_total[0] / wnn);
    if (e.depth > out->max_depth) out->max_depth = e.depth;
    if (!is_leaf) {
      if (sp + 2 > stack_cap) {
        entry *ns = realloc(stack, (size_t)stack_cap * 2 * sizeof *stack);
        if (!ns) goto oom;
        stack = ns;
        stack_cap *= 2;
      }
      stack[sp++] = (entry){s.pos, e.end, e.depth + 1, (int)id, 0, n_constants, s.imp_right};
      stack[sp++] = (entry){e.start, s.pos, e.depth + 1, (int)id, 1, n_constants, s.imp_left};
    }
  }
  rc = ML_OK;
  goto done;
oom:
  rc = ml_error(ctx, "tree_fit: out of memory (%lld samples x %d features)",
                (long long)D->n, D->d);
done:
  free(stack);
  if (rc != ML_OK) ml_tree_free(out);
  return rc;
}
