#!/bin/sh
# tests/embed/install_check.sh BUILD - installs into a temporary prefix with
# `make install PREFIX=...`, checks the layout (library links, man page,
# pkg-config --validate), builds tests/embed/embed_example.c against
# the installed tree through pkg-config (shared and static) and runs it,
# loads the installed Lua module from stock lua5.4, then `make uninstall`
# must leave the prefix empty. Prints TAP. For a
# sanitized BUILD, pass the same OPT and SAN in the environment (make asan does).
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
CC=${CC:-cc}
SAN=""
case "$BUILD" in *asan*) SAN="-fsanitize=address,undefined";; esac
n=0
check() {  # check DESCRIPTION COMMAND...
  desc=$1; shift
  n=$((n + 1))
  if "$@" > "$TMP/out.$n" 2>&1; then echo "ok $n - $desc"
  else echo "not ok $n - $desc"; sed 's/^/#   /' "$TMP/out.$n" | tail -15; fi
}
P="$TMP/prefix"
check "make install PREFIX=<tmp>" make -s install BUILD="$BUILD" PREFIX="$P"
check "installed files" test -x "$P/bin/mlrun" -a -f "$P/lib/libmlrun.a" -a -f "$P/lib/libmlrun.so" \
  -a -f "$P/lib/lua/5.4/ml.so" -a -f "$P/include/mlrun/mlrun.h" -a -f "$P/lib/pkgconfig/mlrun.pc" \
  -a -f "$P/share/bash-completion/completions/mlrun" -a -f "$P/share/doc/mlrun/LICENSE"
V=$(sed -n 's/^#define ML_VERSION "\([^"]*\)".*/\1/p' runtime/ml.h)
check "libmlrun.so -> libmlrun.so.${V%%.*} -> libmlrun.so.$V installed" \
  sh -c "[ \"\$(readlink '$P/lib/libmlrun.so')\" = libmlrun.so.${V%%.*} ] && [ \"\$(readlink '$P/lib/libmlrun.so.${V%%.*}')\" = libmlrun.so.$V ] && [ -f '$P/lib/libmlrun.so.$V' ]"
check "only the public header is installed" sh -c "[ \"\$(ls '$P/include/mlrun')\" = mlrun.h ]"
check "the man page is installed with version $V" \
  sh -c "grep -q '^\\.TH MLRUN 1 .*\"mlrun $V\"' '$P/share/man/man1/mlrun.1' && MANWIDTH=80 man -l '$P/share/man/man1/mlrun.1' | grep -q 'mlrun $V'"
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
check "pkg-config --validate mlrun (installed)" pkg-config --validate mlrun
check "pkg-config knows mlrun at the prefix" sh -c "pkg-config --cflags mlrun | grep -q '$P/include/mlrun'"
check "example builds against the installed shared library" \
  sh -c "$CC $SAN tests/embed/embed_example.c -o '$TMP/ex_shared' \$(pkg-config --cflags --libs mlrun) -lm"
check "example runs against the installed shared library" \
  env LD_LIBRARY_PATH="$P/lib" "$TMP/ex_shared"
check "example builds statically (pkg-config --static)" \
  sh -c "$CC $SAN -fopenmp tests/embed/embed_example.c -o '$TMP/ex_static' \$(pkg-config --cflags mlrun) '$P/lib/libmlrun.a' \$(pkg-config --static --libs mlrun | sed 's/-lmlrun//')"
check "static example passes" "$TMP/ex_static"
check "installed mlrun runs" sh -c "'$P/bin/mlrun' -e 'io.write(ml.ones(3):sum())' | grep -qx 3"
if [ -z "$SAN" ]; then
  check "stock lua5.4 loads the installed module" \
    sh -c "LUA_CPATH='$P/lib/lua/5.4/?.so' lua5.4 -e 'local ml = require \"ml\"; io.write(ml.ones(2, 2):sum())' | grep -qx 4"
fi
check "make uninstall PREFIX=<tmp> leaves the prefix empty" \
  sh -c "make -s uninstall BUILD='$BUILD' PREFIX='$P' && [ -d '$P' ] && [ -z \"\$(find '$P' -mindepth 1 | head -5)\" ] || { find '$P' -mindepth 1 | head; exit 1; }"
echo "1..$n"
