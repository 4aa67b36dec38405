/* rng.c - xoshiro256** (Blackman & Vigna), seeded through splitmix64.
 * The same seed gives the same stream on every machine and run. */
#include "ml.h"
#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void ml_rng_seed(ml_rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
  r->has_spare = 0;
  r->spare = 0;
}

uint64_t ml_rng_next(ml_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double ml_rng_uniform(ml_rng *r) { return (double)(ml_rng_next(r) >> 11) * 0x1.0p-53; }

double ml_rng_normal(ml_rng *r) {
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  double u, v, s;
  do {  /* Marsaglia's polar method: no trig, exact pairs */
    u = 2.0 * ml_rng_uniform(r) - 1.0;
    v = 2.0 * ml_rng_uniform(r) - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  double m = sqrt(-2.0 * log(s) / s);
  r->spare = v * m;
  r->has_spare = 1;
  return u * m;
}

uint64_t ml_rng_below(ml_rng *r, uint64_t n) {
  if (n <= 1) return 0;
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;   /* reject the biased tail */
  uint64_t x;
  do x = ml_rng_next(r); while (x >= limit);
  return x % n;
}

void ml_rng_shuffle_i64(ml_rng *r, int64_t *v, int64_t n) {
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)ml_rng_below(r, (uint64_t)i + 1);
    int64_t t = v[i]; v[i] = v[j]; v[j] = t;
  }
}
