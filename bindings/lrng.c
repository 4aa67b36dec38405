/* lrng.c - the engine's random generator state as a Lua string, so a
 * checkpoint can store it and a resumed run continues the same stream
 * (bit-identical training after a restart). */
#include "mlb.h"
#include <string.h>

#define STATE_MAGIC "mlrng1"
#define STATE_SIZE (sizeof STATE_MAGIC - 1 + 4 * 8 + 1 + 8)

/* get_rng_state() -> opaque string */
static int l_get(lua_State *L) {
  const ml_rng *r = &mlb_ctx(L)->rng;
  char buf[STATE_SIZE];
  size_t at = sizeof STATE_MAGIC - 1;
  memcpy(buf, STATE_MAGIC, at);
  memcpy(buf + at, r->s, 4 * 8); at += 4 * 8;
  buf[at++] = (char)(r->has_spare ? 1 : 0);
  memcpy(buf + at, &r->spare, 8);
  lua_pushlstring(L, buf, sizeof buf);
  return 1;
}

/* set_rng_state(s): s must come from get_rng_state */
static int l_set(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  if (n != STATE_SIZE || memcmp(s, STATE_MAGIC, sizeof STATE_MAGIC - 1))
    return luaL_error(L, "set_rng_state: expected a string from ml.get_rng_state() "
                      "(%d bytes), got %d bytes", (int)STATE_SIZE, (int)n);
  ml_rng *r = &mlb_ctx(L)->rng;
  size_t at = sizeof STATE_MAGIC - 1;
  memcpy(r->s, s + at, 4 * 8); at += 4 * 8;
  r->has_spare = s[at++] != 0;
  memcpy(&r->spare, s + at, 8);
  return 0;
}

static const luaL_Reg functions[] = {
  {"get_state", l_get}, {"set_state", l_set}, {NULL, NULL}};

void mlb_open_rng(lua_State *L) { mlb_register(L, functions); }
