#!/bin/sh
# tests/rockspec_check.sh - `luarocks make --local` in a copy of the tracked
# tree (a clone, with uncommitted edits and new files not ignored), with Debian's luarocks for Lua
# 5.4, under a temporary HOME; then stock lua5.4 requires `ml` from the
# installed rock. Leaves nothing behind. Prints TAP.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
n=0
if ! command -v luarocks >/dev/null 2>&1; then
  echo "ok 1 - SKIPPED: luarocks is not installed (Debian luarocks, make deps) # SKIP"
  echo "rockspec_check.sh: SKIPPED: luarocks is not installed" >&2
  echo "1..1"; exit 0
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
V=$(sed -n 's/^#define ML_VERSION "\([^"]*\)".*/\1/p' runtime/ml.h)
mkdir -p "$TMP/clone" "$TMP/home" "$TMP/elsewhere"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z -co --exclude-standard | grep -zv '^data/' | tar --null -T - -cf - | tar -xf - -C "$TMP/clone"
else
  tar --exclude='./build*' --exclude=./data -cf - . | tar -xf - -C "$TMP/clone"
fi
export HOME="$TMP/home"
LR="luarocks --lua-version=5.4"
n=$((n + 1))
# OPT=-O1 (read by the Makefile from the environment) keeps this check short:
# it tests the packaging, not the optimiser; a real `luarocks make` uses -O3.
if (cd "$TMP/clone" && OPT=-O1 MAKEFLAGS=-j2 $LR make --local "mlrun-$V-1.rockspec") > "$TMP/log" 2>&1; then
  echo "ok $n - luarocks make --local mlrun-$V-1.rockspec in a clone"
else
  echo "not ok $n - luarocks make --local mlrun-$V-1.rockspec in a clone"
  tail -20 "$TMP/log" | sed 's/^/#   /'
fi
n=$((n + 1))
out=$(cd "$TMP/elsewhere" && eval "$($LR path --local)" &&
      lua5.4 -e 'local ml = require "ml"; io.write(ml.version, " ", ml.ones(2, 2):sum(), " ",
                 package.searchpath("ml", package.cpath))' 2>&1)
case "$out" in
  "$V 4 $HOME/.luarocks/lib/lua/5.4/ml.so") echo "ok $n - lua5.4 -e 'require \"ml\"' loads the rock ($V)";;
  *) echo "not ok $n - lua5.4 -e 'require \"ml\"' loads the rock"; echo "$out" | sed 's/^/#   /' | head;;
esac
n=$((n + 1))
if (cd "$TMP/clone" && $LR remove --local mlrun) > "$TMP/log" 2>&1 &&
   [ ! -e "$HOME/.luarocks/lib/lua/5.4/ml.so" ]; then
  echo "ok $n - luarocks remove --local mlrun removes the module"
else
  echo "not ok $n - luarocks remove --local mlrun removes the module"; tail -5 "$TMP/log" | sed 's/^/#   /'
fi
echo "1..$n"
