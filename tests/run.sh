#!/bin/sh
# tests/run.sh BUILD - runs every test against the build in BUILD and ends with
# one line "N passed, N failed". Each part prints TAP ("ok"/"not ok" lines),
# which this script counts; a part that dies without reporting counts as failed.
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
LOG=$(mktemp -d)
trap 'rm -rf "$LOG"' EXIT
CC=${CC:-gcc}
CFLAGS_T="-std=c11 -D_DEFAULT_SOURCE -O1 -g -fopenmp -Iruntime -Ibindings $(pkg-config --cflags lua5.4 openblas)"
LIBS_T="$(pkg-config --libs lua5.4 openblas libpng libjpeg zlib libmicrohttpd libcjson) -fopenmp -ldl -lm"
case "$BUILD" in *asan*) CFLAGS_T="$CFLAGS_T -fsanitize=address,undefined -fno-sanitize-recover=undefined"; LIBS_T="$LIBS_T -fsanitize=address,undefined";; esac
# the install part re-runs make on BUILD: an ASan build must keep its flags
case "$BUILD" in *asan*)
  : "${OPT:=-O1 -g -fno-omit-frame-pointer}"
  : "${SAN:=-fsanitize=address,undefined -fno-sanitize-recover=undefined}"
  export OPT SAN;; esac
MLRUN="$BUILD/mlrun"
export MLRUN ML_TEST_BUILD="$BUILD"
failed_parts=0

part() {  # part NAME COMMAND... : runs a command whose stdout is TAP
  name=$1; shift
  echo "== $name"
  "$@" > "$LOG/$name.tap" 2> "$LOG/$name.err"
  rc=$?
  grep -E '^(not )?ok ' "$LOG/$name.tap" | grep '^not ok' | head -50
  if [ $rc -ne 0 ] && ! grep -q '^not ok' "$LOG/$name.tap"; then
    echo "not ok - $name exited with status $rc" >> "$LOG/$name.tap"
    echo "   $name exited with status $rc:"; tail -20 "$LOG/$name.err"
  fi
  grep -q '^not ok' "$LOG/$name.tap" && { echo "--- stderr of $name:"; tail -30 "$LOG/$name.err"; }
  echo "   $(grep -c '^ok ' "$LOG/$name.tap") passed, $(grep -c '^not ok' "$LOG/$name.tap") failed"
}

# 1. layering (make check-layout): the runtime never sees Lua, no upward
#    includes, every binding family registered once
part layout sh tests/check_layout.sh "$BUILD"

# 2. C unit tests of the runtime, one binary per file
for src in tests/c/test_*.c; do
  [ -f "$src" ] || continue
  name=$(basename "$src" .c)
  if $CC $CFLAGS_T "$src" -o "$LOG/$name" "$BUILD/libmlrun.a" $LIBS_T 2> "$LOG/$name.cc"; then
    part "$name" "$LOG/$name"
  else
    echo "not ok - $name does not compile" > "$LOG/$name.tap"; cat "$LOG/$name.cc"
  fi
done

# 3. the embedding example (tests/embed/*.c), built like a user would
for src in tests/embed/*.c; do
  [ -f "$src" ] || continue
  name=embed_$(basename "$src" .c)
  if $CC $CFLAGS_T "$src" -o "$LOG/$name" "$BUILD/libmlrun.a" $LIBS_T 2> "$LOG/$name.cc"; then
    part "$name" "$LOG/$name"
  else
    echo "not ok - $name does not compile" > "$LOG/$name.tap"; cat "$LOG/$name.cc"
  fi
done

# 3b. make install into a temporary prefix, then the example against it;
#     make uninstall empties the prefix again
part install sh tests/embed/install_check.sh "$BUILD"

# 3c. fit to leave this machine: nothing binary tracked, one version, the
#     shared library's SONAME and exports, the mlrun.h example, pkg-config,
#     man page, completion, portability (qemu as older CPUs); and the
#     rockspec through luarocks (a normal build only: ASan has its own flags)
case "$BUILD" in *asan*) ;; *)
  part release sh tests/release.sh "$BUILD"
  part rockspec sh tests/rockspec_check.sh ;;
esac

# 4. busted specs, inside the engine
part busted "$MLRUN" /usr/bin/busted -o TAP tests/spec

# 5. the same module from stock lua5.4 (package.cpath only)
#    (a sanitized ml.so needs the sanitizer runtimes loaded first)
PRELOAD=""
case "$BUILD" in *asan*) PRELOAD="$($CC -print-file-name=libasan.so) $($CC -print-file-name=libubsan.so)";; esac
part plain_lua env LD_PRELOAD="$PRELOAD" lua5.4 /usr/bin/busted --cpath="$BUILD/?.so" -o TAP tests/spec/tensor_spec.lua

# 5b. the course gallery: every examples/course script, in quick mode
gallery() {
  i=0
  for f in examples/course/*.lua; do
    i=$((i + 1))
    if "$MLRUN" "$f" --quick > "$LOG/gallery_$i.out" 2>&1; then echo "ok $i - $f"
    else echo "not ok $i - $f"; tail -5 "$LOG/gallery_$i.out" >&2; fi
  done
  echo "1..$i"
}
part gallery gallery

# 6. a short fuzz run of every reader (libFuzzer, clang + ASan/UBSan), with
#    every past finding replayed; skipped for the ASan suite (its own build)
case "$BUILD" in *asan*) ;; *) part fuzz_smoke sh tests/fuzz/smoke.sh "${FUZZ_SMOKE:-2}" ;; esac

passed=$(cat "$LOG"/*.tap | grep -c '^ok ')
failed=$(cat "$LOG"/*.tap | grep -c '^not ok')
echo
# what could not run here (a missing tool), said once more at the end
cat "$LOG"/*.tap | grep '^ok .*# SKIP' | sed 's/^ok [0-9]* - /SKIPPED: /; s/ # SKIP.*//'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
