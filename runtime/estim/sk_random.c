/* sk_random.c - the random numbers scikit-learn's trees draw: numpy's legacy
 * RandomState (MT19937 seeded by init_genrand, bounded integers by masked
 * rejection) and the splitter's xorshift rand_r. Matching them lets an
 * integer random_state pick the same features and bootstrap samples. */
#include "tree.h"

void ml_mt_seed(ml_mt19937 *s, uint32_t seed) {
  s->mt[0] = seed;
  for (int i = 1; i < 624; i++)
    s->mt[i] = 1812433253u * (s->mt[i - 1] ^ (s->mt[i - 1] >> 30)) + (uint32_t)i;
  s->pos = 624;
}

static void mt_refill(ml_mt19937 *s) {
  uint32_t *mt = s->mt;
  for (int i = 0; i < 624; i++) {
    uint32_t y = (mt[i] & 0x80000000u) | (mt[(i + 1) % 624] & 0x7fffffffu);
    mt[i] = mt[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
  }
  s->pos = 0;
}

uint32_t ml_mt_next(ml_mt19937 *s) {
  if (s->pos >= 624) mt_refill(s);
  uint32_t y = s->mt[s->pos++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

int64_t ml_mt_randint(ml_mt19937 *s, int64_t low, int64_t high) {
  uint64_t rng = (uint64_t)(high - low - 1);
  if (rng == 0) return low;
  if (rng == 0xffffffffu) return low + ml_mt_next(s);
  uint32_t mask = (uint32_t)rng;
  mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4; mask |= mask >> 8; mask |= mask >> 16;
  uint32_t v;
  while ((v = ml_mt_next(s) & mask) > rng) {}
  return low + v;
}

uint32_t ml_sk_rand_r(uint32_t *seed) {
  if (*seed == 0) *seed = 1;
  *seed ^= *seed << 13;
  *seed ^= *seed >> 17;
  *seed ^= *seed << 5;
  return *seed % (0x7fffffffu + 1u);
}

int64_t ml_sk_rand_int(int64_t low, int64_t high, uint32_t *seed) {
  return low + (int64_t)(ml_sk_rand_r(seed) % (uint64_t)(high - low));
}
