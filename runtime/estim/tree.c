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
#define PAR_MIN_WORK 20000      /* node samples x candidates before threads help */

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

/* Impurity from class weights (or regression sums). */
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
 * sums[0], *sq), returns the weight. */
static double node_sums(const builder *b, int64_t start, int64_t end, double *sums, double *sq) {
  double wn = 0;
  if (b->D->y) {
    memset(sums, 0, (size_t)b->K * sizeof *sums);
    for (int64_t i = start; i < end; i++) {
      int32_t s = b->samples[i];
      double ws = wt(b, s);
      sums[b->D->y[s]] += ws;
      wn += ws;
    }
  } else {
    double sy = 0, syy = 0;
    for (int64_t i = start; i < end; i++) {
      int32_t s = b->samples[i];
      double ws = wt(b, s), yv = b->D->yr[s];
      sy += ws * yv;
      syy += ws * yv * yv;
      wn += ws;
    }
    sums[0] = sy;
    *sq = syy;
  }
  return wn;
}

/* Best split of samples[start, end) on feature f; returns proxy (or -inf). */
static void eval_feature(const builder *b, scratch *sc, int f, int64_t start, int64_t end,
                         double wnn, split *best) {
  const float *xf = b->D->Xt + (size_t)f * (size_t)b->D->n;
  int64_t m = end - start;
  const int32_t *smp = b->samples + start;
  uint64_t *keys = sc->keys;
  for (int64_t i = 0; i < m; i++)
    keys[i] = ((uint64_t)ml_float_key(xf[smp[i]]) << 32) | (uint64_t)i;
  ml_sort_u64(keys, sc->tmp, m);
  int64_t msl = b->p->min_samples_leaf;
  int K = b->K;
  double *sl = sc->sum_left, wnl = 0;
  const double *st = b->sum_total;
  memset(sl, 0, (size_t)K * sizeof *sl);
  double syl = 0;
  best->proxy = -INFINITY;
  best->pos = end;
  int cls = b->D->y != NULL;
  int crit = b->p->criterion;
  for (int64_t p = 0; p < m - 1; p++) {
    int32_t s = smp[(uint32_t)keys[p]];
    double ws = wt(b, s);
    if (cls) sl[b->D->y[s]] += ws; else syl += ws * b->D->yr[s];
    wnl += ws;
    float xa = xf[s], xb = xf[smp[(uint32_t)keys[p + 1]]];
    if ((double)xb <= (double)xa + FEATURE_THRESHOLD) continue;
    int64_t pos = p + 1;
    if (pos < msl || m - pos < msl) continue;
    double wnr = wnn - wnl, proxy;
    if (!cls) {
      double syr = st[0] - syl;
      proxy = syl * syl / wnl + syr * syr / wnr;
    } else if (crit == ML_CRIT_GINI) {
      double sql = 0, sqr = 0;
      for (int c = 0; c < K; c++) {
        double cl = sl[c], cr = st[c] - sl[c];
        sql += cl * cl;
        sqr += cr * cr;
      }
      proxy = -wnr * (1.0 - sqr / (wnr * wnr)) - wnl * (1.0 - sql / (wnl * wnl));
    } else {
      double el = 0, er = 0;
      for (int c = 0; c < K; c++) {
        double cl = sl[c], cr = st[c] - sl[c];
        if (cl > 0) { cl /= wnl; el -= cl * log2_(cl); }
        if (cr > 0) { cr /= wnr; er -= cr * log2_(cr); }
      }
      proxy = -wnr * er - wnl * el;
    }
    if (proxy > best->proxy) {
      best->proxy = proxy;
      best->pos = start + pos;
      double th = xa / 2.0 + xb / 2.0;
      if (th == (double)xb || isinf(th)) th = xa;
      best->threshold = th;
      best->feature = f;
    }
  }
}

/* scikit-learn's BestSplitter.node_split. *n_constants: known constant
 * features in (from the parent), all constants found out. */
static void node_split(builder *b, int64_t start, int64_t end, double impurity, double wnn,
                       int *n_constants, split *best) {
  int d = b->D->d;
  int32_t *features = b->features, *constant_features = b->constant_features;
  const float *Xt = b->D->Xt;
  int64_t n = b->D->n;
  int n_known_constants = *n_constants, n_total_constants = n_known_constants;
  int n_found_constants = 0, n_drawn_constants = 0, n_visited = 0, n_cand = 0;
  int f_i = d;
  while (f_i > n_total_constants &&
         (n_visited < b->p->max_features ||
          n_visited <= n_found_constants + n_drawn_constants)) {
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
    const float *xf = Xt + (size_t)f * (size_t)n;
    float lo = xf[b->samples[start]], hi = lo;
    for (int64_t i = start + 1; i < end; i++) {
      float v = xf[b->samples[i]];
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    if ((double)hi <= (double)lo + FEATURE_THRESHOLD) {
      features[f_j] = features[n_total_constants];
      features[n_total_constants] = f;
      n_found_constants++;
      n_total_constants++;
      continue;
    }
    f_i--;
    features[f_j] = features[f_i];
    features[f_i] = f;
    b->cand[n_cand++] = f;
  }
  /* evaluate the drawn features; reduce in visiting order with strict > */
  best->proxy = -INFINITY;
  best->pos = end;
  best->feature = -1;
  int64_t m = end - start;
  if (n_cand > 0) {
    int nt = b->nt;
    if (nt > 1 && m * n_cand >= PAR_MIN_WORK && n_cand > 1) {
      split res[n_cand];
      #pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
      for (int c = 0; c < n_cand; c++) {
        eval_feature(b, &b->sc[omp_get_thread_num()], b->cand[c], start, end, wnn, &res[c]);
      }
      for (int c = 0; c < n_cand; c++)
        if (res[c].proxy > best->proxy) *best = res[c];
    } else {
      for (int c = 0; c < n_cand; c++) {
        split r;
        eval_feature(b, &b->sc[0], b->cand[c], start, end, wnn, &r);
        if (r.proxy > best->proxy) *best = r;
      }
    }
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
      wnl = node_sums(b, start, lo, tmp, &sq_l);
      double wnr = wnn - wnl;
      best->imp_left = class_impurity(b, tmp, wnl);
      for (int c = 0; c < b->K; c++) tmp[c] = b->sum_total[c] - tmp[c];
      best->imp_right = class_impurity(b, tmp, wnr);
    } else {
      double sums[1], sr[1];
      wnl = node_sums(b, start, lo, sums, &sq_l);
      node_sums(b, start, end, sr, &sq_all);
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

int ml_tree_fit(ml_ctx *ctx, ml_tree *out, const ml_tree_data *D, const double *w,
                const ml_tree_params *p, int threads) {
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
  b.samples = malloc((size_t)(D->n > 0 ? D->n : 1) * sizeof *b.samples);
  b.features = malloc((size_t)D->d * sizeof *b.features);
  b.constant_features = malloc((size_t)D->d * sizeof *b.constant_features);
  b.cand = malloc((size_t)D->d * sizeof *b.cand);
  b.sum_total = malloc((size_t)b.K * sizeof *b.sum_total);
  b.sc = calloc((size_t)b.nt, sizeof *b.sc);
  int64_t stack_cap = 64, sp = 0;
  entry *stack = malloc((size_t)stack_cap * sizeof *stack);
  int rc = ML_ERR;
  if (!b.samples || !b.features || !b.constant_features || !b.cand || !b.sum_total || !b.sc ||
      !stack || ml_tree_init(out, nv, 64) != ML_OK) goto oom;
  for (int j = 0; j < D->d; j++) b.features[j] = j;
  for (int64_t i = 0; i < D->n; i++)
    if (!w || w[i] != 0.0) { b.samples[b.m++] = (int32_t)i; b.w_total += wt(&b, (int32_t)i); }
  if (b.m == 0) { rc = ml_error(ctx, "tree_fit: no samples with nonzero weight"); goto done; }
  for (int t = 0; t < b.nt; t++) {
    b.sc[t].keys = malloc((size_t)b.m * sizeof(uint64_t));
    b.sc[t].tmp = malloc((size_t)b.m * sizeof(uint64_t));
    b.sc[t].sum_left = malloc((size_t)b.K * sizeof(double));
    if (!b.sc[t].keys || !b.sc[t].tmp || !b.sc[t].sum_left) goto oom;
  }
  int max_depth = p->max_depth < 0 ? 0x7fffffff : p->max_depth;
  stack[sp++] = (entry){0, b.m, 0, -1, 0, 0, INFINITY};
  int first = 1;
  while (sp > 0) {
    entry e = stack[--sp];
    int64_t nn = e.end - e.start;
    double sq = 0;
    double wnn = node_sums(&b, e.start, e.end, b.sum_total, &sq);
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
  if (b.sc) for (int t = 0; t < b.nt; t++) {
    free(b.sc[t].keys); free(b.sc[t].tmp); free(b.sc[t].sum_left);
  }
  free(b.sc); free(b.samples); free(b.features); free(b.constant_features); free(b.cand);
  free(b.sum_total); free(stack);
  if (rc != ML_OK) ml_tree_free(out);
  return rc;
}
