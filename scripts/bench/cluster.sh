#!/bin/sh
# scripts/bench/cluster.sh [BUILD] - KMeans (k=10), PCA(50), KNN predict of
# 2,000 queries, NMF(16) and GaussianNB on MNIST 8k: mlrun and scikit-learn
# side by side at the same thread count (THREADS, default 2), best of REPEAT
# runs each, with the ratio (mlrun / scikit-learn; below 1 is faster) and a
# quality figure (inertia, explained variance ratio, accuracy, error).
BUILD=${1:-build}
THREADS=${THREADS:-2}
REPEAT=${REPEAT:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
DATA=data/mnist-10k
PY=/usr/bin/python3
if ! $PY -c "import sklearn" 2>/dev/null; then
  echo "installing python3-sklearn"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq python3-sklearn >/dev/null || exit 1
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
OMP_NUM_THREADS=$THREADS $PY scripts/bench/cluster/bench_sklearn.py $DATA $REPEAT $THREADS > "$TMP/sk" || exit 1
"$BUILD/mlrun" --threads "$THREADS" scripts/bench/cluster/bench.lua $DATA $REPEAT > "$TMP/ml" || exit 1
printf '%-12s %10s %10s %7s   %-14s %-14s\n' task mlrun_s sklearn_s ratio mlrun_quality sklearn_quality
awk 'NR == FNR { s[$1] = $2; q[$1] = $3; next }
     { printf "%-12s %10.4f %10.4f %7.2f   %-14s %-14s\n", $1, $2, s[$1], $2 / s[$1], $3, q[$1] }' \
  "$TMP/sk" "$TMP/ml"
