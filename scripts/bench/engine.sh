#!/bin/sh
# engine.sh BUILD - the engine's own figures: matmul GFLOP/s through ml.matmul
# against cblas_sgemm called directly (64, 256, 1024), d = a * b + c on 1e7
# floats against a plain C loop, and start-up of `mlrun -e ''` beside
# `lua5.4 -e ''`. Prints figures; never asserts a timing.
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
THREADS=${MLRUN_THREADS:-$(nproc)}
if ! ${CC:-cc} -O3 -march=native scripts/bench/engine/ref.c -o "$TMP/ref" \
     $(pkg-config --cflags --libs openblas) 2> "$TMP/cc.log"; then
  echo "SKIP engine: cannot build the C reference"; cat "$TMP/cc.log"; exit 0
fi
"$TMP/ref" "$THREADS" > "$TMP/ref.txt" || exit 1
MLRUN_THREADS=$THREADS "$BUILD/mlrun" scripts/bench/engine/ops.lua > "$TMP/ml.txt" || exit 1
get() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

echo "threads: $THREADS (kernels and OpenBLAS share one OpenMP runtime)"
echo
printf '%-22s %12s %12s %8s\n' "matmul n x n x n" "ml.matmul" "cblas_sgemm" "ratio"
for n in 64 256 1024; do
  m=$(get "matmul_$n" "$TMP/ml.txt"); r=$(get "sgemm_$n" "$TMP/ref.txt")
  printf '%-22s %8s GF/s %7s GF/s %7.1f%%\n' "n = $n" "$m" "$r" "$(echo "$m $r" | awk '{print 100 * $1 / $2}')"
done
echo
m=$(get axpb_ms "$TMP/ml.txt"); r=$(get axpb_ms "$TMP/ref.txt")
printf '%-22s %9s ms %10s ms %7.2fx\n' "a * b + c, 1e7 floats" "$m" "$r" "$(echo "$m $r" | awk '{print $1 / $2}')"
echo "  (left: mlrun, two ops and a temporary, $THREADS threads; right: one fused C loop, 1 thread)"
echo

# start-up: wall time per run, the mean over a batch of N runs from one shell
# loop; the best of 5 batches (other jobs on the machine only ever add time)
startup() {  # startup N CMD... -> milliseconds per run
  n=$1; shift
  best=1e9
  for b in 1 2 3 4 5; do
    t0=$(date +%s%N)
    i=0
    while [ $i -lt "$n" ]; do "$@" > /dev/null; i=$((i + 1)); done
    t1=$(date +%s%N)
    ms=$(echo "$t0 $t1 $n" | awk '{printf "%.2f", ($2 - $1) / 1e6 / $3}')
    best=$(echo "$best $ms" | awk '{print ($2 < $1) ? $2 : $1}')
  done
  echo "$best"
}
N=40
"$BUILD/mlrun" -e '' && lua5.4 -e ''   # warm the page cache
printf '%-22s %9s ms\n' "mlrun -e ''" "$(startup $N "$BUILD/mlrun" -e '')"
printf '%-22s %9s ms\n' "lua5.4 -e ''" "$(startup $N lua5.4 -e '')"
printf '%-22s %9s ms\n' "/bin/true (fork+exec)" "$(startup $N /bin/true)"
