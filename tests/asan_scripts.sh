#!/bin/sh
# tests/asan_scripts.sh BUILD - runs every script in scripts/*.lua (the demos)
# with BUILD/mlrun, prints TAP, and fails when a script fails or a sanitizer
# reports anything. `make asan` runs it against the ASan+UBSan build. Long
# scripts get small options (one epoch); every other script runs as the demo
# does, so a new script is covered without editing this file. Outputs go to a
# temporary directory.
BUILD=${1:-build-asan}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
case "$BUILD" in *asan*)
  ldd "$BUILD/mlrun" | grep -q libasan ||
    { echo "not ok 1 - $BUILD/mlrun is not linked with AddressSanitizer"; exit 1; };; esac
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
# UBSan stops at the first report (the build uses -fno-sanitize-recover) and
# prints a stack; ASan already stops at its first report.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# LeakSanitizer is on for the scripts: each one ends with lua_close, so every
# tensor, model and buffer of ours must be freed by then. (OpenBLAS's and
# libgomp's per-thread buffers stay reachable from their globals, so LSan
# does not count them; no suppression is needed.)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
n=0; bad=0
for f in scripts/*.lua; do
  name=$(basename "$f" .lua)
  case "$name" in
    mnist_mlp)       args="--epochs 1" ;;
    mnist_cnn)       args="--epochs 1 --out $OUT" ;;
    transfer)        args="--epochs 1 --out $OUT" ;;
    filters)         args="--out $OUT" ;;
    bank_logreg|compare_models|kmeans|pca_nmf) args="$OUT" ;;
    *)               args="" ;;
  esac
  n=$((n + 1))
  # shellcheck disable=SC2086  # args holds several words
  "$BUILD/mlrun" "$f" $args > "$OUT/$name.out" 2> "$OUT/$name.err"
  rc=$?
  if [ $rc -ne 0 ] || grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$OUT/$name.err"; then
    echo "not ok $n - scripts/$name.lua $args (status $rc)"
    sed 's/^/# /' "$OUT/$name.err" | tail -40
    bad=$((bad + 1))
  else
    echo "ok $n - scripts/$name.lua $args"
  fi
done
echo "1..$n"
[ $bad -eq 0 ]
