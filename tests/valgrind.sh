#!/bin/sh
# tests/valgrind.sh [BUILD] - memcheck with --leak-check=full on the XOR and
# bank scripts; prints each LEAK SUMMARY and fails when memcheck finds an
# error or "definitely lost" bytes. Slow (minutes), so not part of make test.
# Valgrind 3.19 cannot decode AVX-512, which -march=native emits on such
# machines, so by default this builds the normal (non-sanitized) build with
# generic x86-64 code and debug info in build-valgrind (OpenBLAS picks its
# kernels at run time from what valgrind's CPU reports).
BUILD=${1:-build-valgrind}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
command -v valgrind >/dev/null || { echo "SKIP valgrind: not installed"; exit 0; }
if [ "$BUILD" = build-valgrind ]; then
  make -s BUILD=build-valgrind OPT="-O2 -g" build-valgrind/mlrun || exit 1
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
status=0
run() {  # run NAME SCRIPT ARGS...
  name=$1; shift
  echo "=== valgrind $BUILD/mlrun $*"
  # one OpenMP/BLAS thread keeps the run short and the report free of the
  # thread pool's (intentionally never freed) stacks
  OMP_NUM_THREADS=1 valgrind --leak-check=full --show-leak-kinds=definite \
    --errors-for-leak-kinds=definite --error-exitcode=99 --num-callers=30 \
    "$BUILD/mlrun" --threads 1 "$@" > "$OUT/$name.out" 2> "$OUT/$name.vg"
  rc=$?
  sed -n '/LEAK SUMMARY/,/suppressed:/p' "$OUT/$name.vg"
  grep 'ERROR SUMMARY' "$OUT/$name.vg"
  if [ $rc -ne 0 ]; then
    echo "FAILED: $name (status $rc)"
    grep -B2 -A30 'definitely lost in\|Invalid \|uninitialised\|Mismatched' "$OUT/$name.vg" | head -120
    status=1
  fi
}
run xor scripts/xor.lua
run bank scripts/bank_logreg.lua "$OUT"
exit $status
