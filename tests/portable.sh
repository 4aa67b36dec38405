#!/bin/sh
# tests/portable.sh BUILD [CPU...] - `make check-portable`: the default
# (portable) build run on emulated older CPUs with Debian's qemu-user: the
# C tests of the runtime and the busted specs of the kernels, once per CPU
# model (default: Nehalem = SSE4.2 without AVX, Haswell = AVX2 without
# AVX-512). Slow (everything is emulated), so `make test` runs only a smoke
# test of this (tests/release.sh). Prints TAP and ends "N passed, N failed".
BUILD=${1:-build}
shift
CPUS=${*:-Nehalem Haswell}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
command -v qemu-x86_64 >/dev/null || { echo "check-portable: qemu-x86_64 is missing (apt-get install qemu-user)"; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
CC=${CC:-gcc}
CFLAGS_T="-std=c11 -D_DEFAULT_SOURCE -O1 -g -march=x86-64-v2 -fopenmp -Iruntime -Ibindings $(pkg-config --cflags lua5.4 openblas)"
LIBS_T="$(pkg-config --libs lua5.4 openblas libpng libjpeg zlib libmicrohttpd libcjson) -fopenmp -lpthread -ldl -lm"   # as tests/run.sh
SPECS="tests/spec/tensor_spec.lua tests/spec/nn_layers_spec.lua tests/spec/nn_losses_spec.lua
       tests/spec/optim_spec.lua tests/spec/cluster_spec.lua tests/spec/decomposition_spec.lua
       tests/spec/determinism_spec.lua"
passed=0; failed=0
count() { passed=$((passed + $(grep -c '^ok ' "$1"))); failed=$((failed + $(grep -c '^not ok' "$1"))); }
for src in tests/c/test_*.c; do
  $CC $CFLAGS_T "$src" -o "$TMP/$(basename "$src" .c)" "$BUILD/libmlrun.a" $LIBS_T || exit 1
done
for cpu in $CPUS; do
  core=$(echo "$cpu" | tr a-z A-Z)   # OpenBLAS's kernels for that CPU too
  for t in "$TMP"/test_*; do
    echo "== $cpu $(basename "$t")"
    OPENBLAS_CORETYPE=$core qemu-x86_64 -cpu "$cpu" "$t" > "$TMP/out.tap" 2>&1 ||
      echo "not ok - $(basename "$t") exited with status $? under -cpu $cpu" >> "$TMP/out.tap"
    grep '^not ok' "$TMP/out.tap"; count "$TMP/out.tap"
  done
  echo "== $cpu busted (kernel specs)"
  OPENBLAS_CORETYPE=$core MLRUN="qemu-x86_64 -cpu $cpu $BUILD/mlrun" \
    qemu-x86_64 -cpu "$cpu" "$BUILD/mlrun" /usr/bin/busted -o TAP $SPECS > "$TMP/out.tap" 2>&1 ||
    grep -q '^not ok' "$TMP/out.tap" || echo "not ok - busted exited with status $? under -cpu $cpu" >> "$TMP/out.tap"
  grep -A3 '^not ok' "$TMP/out.tap"; count "$TMP/out.tap"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
