#!/bin/sh
# tests/check_layout.sh [BUILD] - the layering rules of docs/contributing.md,
# as TAP (`make check-layout`; tests/run.sh runs it first):
#   1. runtime/ never includes Lua headers, and its objects use no Lua symbol;
#   2. no file includes a layer above its own (runtime < bindings < tests);
#   3. every binding family is registered once (bindings/families.h), and no
#      family registers a name its area already has (checked when ml loads).
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

bad=$(grep -rlE '#include *[<"](lua|lauxlib|lualib)\.h' runtime/)
if [ -z "$bad" ]; then ok "runtime/ does not include Lua headers"
else notok "runtime/ includes Lua headers" $bad; fi

objs=$(find "$BUILD/runtime" -name '*.o' 2>/dev/null)
if [ -z "$objs" ]; then
  notok "no runtime objects under $BUILD/runtime (build first: make BUILD=$BUILD all)"
else
  syms=$(nm -u $objs 2>/dev/null | grep -E ' (lua|luaL|luaopen)_' | sort -u)
  if [ -z "$syms" ]; then ok "runtime objects use no Lua symbol (nm -u)"
  else notok "runtime objects use Lua symbols" $syms; fi
fi

# includes that climb a layer: runtime -> bindings or tests, bindings -> tests
up=$(grep -rnE '#include *"[^"]*(bindings|tests)/' runtime/ ;
     grep -rnE '#include *"(mlb|mlrun|repl|estim|families|stdlib_embed)\.h"' runtime/ ;
     grep -rnE '#include *"[^"]*tests/' bindings/)
if [ -z "$up" ]; then ok "no file includes a layer above its own"
else notok "files include a layer above their own" "$up"; fi

dups=$(grep -E '^MLB_FAMILY\(' bindings/families.h | sed 's/^MLB_FAMILY([a-z_0-9]*, *\([a-z_0-9]*\)).*/\1/' |
       sort | uniq -d)
if [ -z "$dups" ]; then ok "bindings/families.h registers every family once"
else notok "bindings/families.h registers a family twice" $dups; fi

if [ -x "$BUILD/mlrun" ]; then
  if out=$("$BUILD/mlrun" -e 'require "ml"' 2>&1); then
    ok "no family registers a name twice in its ml.core area"
  else notok "ml does not load" "$out"; fi
else
  notok "no $BUILD/mlrun to load ml with"
fi
echo "1..$n"
