#!/bin/sh
# scripts/bench/trees.sh [BUILD] [THREADS] [CASES] - decision tree, 100-tree random
# forest and gradient boosting (100 rounds, depth 3) on the one-hot bank table
# (45k x 51) and on MNIST 8k, fitted by mlrun and by scikit-learn at the same
# thread count; prints fit seconds side by side, the ratio and test accuracy.
# scikit-learn's GradientBoostingClassifier is exact (not histogram-based), so
# HistGradientBoostingClassifier (max_depth 3, no early stopping) is shown too.
BUILD=${1:-build}
THREADS=${2:-2}
CASES=${3:-}        # a pattern selecting cases, e.g. "bank" (all by default)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
PY=/usr/bin/python3
$PY -c "import sklearn" 2>/dev/null || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq python3-sklearn python3-pandas >/dev/null || exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# MNIST as CSV for an mlrun without ml.read_idx
$PY - "$TMP" <<'PYEOF'
import gzip, sys, numpy as np
def idx(p):
    d = gzip.open(p, "rb").read(); n = d[3]
    dims = [int.from_bytes(d[4 + 4 * i:8 + 4 * i], "big") for i in range(n)]
    return np.frombuffer(d, dtype=np.uint8, offset=4 + 4 * n).reshape(dims)
for kind in ("train", "t10k"):
    X = idx("data/mnist-10k/%s-images-idx3-ubyte.gz" % kind).reshape(-1, 784)
    y = idx("data/mnist-10k/%s-labels-idx1-ubyte.gz" % kind)
    with open("%s/%s.csv" % (sys.argv[1], kind), "w") as f:
        f.write(",".join("p%d" % i for i in range(784)) + ",label\n")
        for r, l in zip(X, y):
            f.write(",".join(map(str, r)) + ",%d\n" % l)
PYEOF
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "fitting with scikit-learn ($THREADS threads)..." >&2
OMP_NUM_THREADS=$THREADS $PY scripts/bench/trees.py "$THREADS" "$CASES" > "$TMP/sk.txt" || exit 1
echo "fitting with mlrun ($THREADS threads)..." >&2
TREES_MNIST_CSV=$TMP MLRUN_THREADS=$THREADS "$BUILD/mlrun" scripts/bench/trees.lua "$CASES" > "$TMP/ml.txt" || exit 1
# the machine may be shared: the load average says how much to trust the seconds
echo "load average before the fits: $LOAD0, after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v threads="$THREADS" '
  /^#/ { next }
  FNR == NR { skt[$1] = $2; ska[$1] = $3; skc[$1] = $4; next }
  { ml[$1] = $2; mla[$1] = $3; mlc[$1] = $4; order[++n] = $1 }
  END {
    printf "trees benchmark, %d threads (fit wall seconds, ratio; CPU seconds of all threads; accuracy on the held-out part)\n", threads
    printf "%-16s %9s %9s %7s %9s %9s %7s %8s %8s\n", "case", "mlrun", "sklearn", "ratio", "cpu_ml", "cpu_sk", "cpu_r", "acc_ml", "acc_sk"
    for (i = 1; i <= n; i++) {
      k = order[i]; s = k; sub(/gboost/, "gboost", s)
      if (!(k in skt)) { printf "%-16s %9.3f %9s %7s %9.3f %9s %7s %8.4f %8s\n", k, ml[k], "-", "-", mlc[k], "-", "-", mla[k], "-" }
      else
      printf "%-16s %9.3f %9.3f %7.2f %9.3f %9.3f %7.2f %8.4f %8.4f\n", k, ml[k], skt[k], ml[k] / skt[k], mlc[k], skc[k], mlc[k] / skc[k], mla[k], ska[k]
      if (k ~ /gboost/) { h = k; sub(/gboost/, "histgb", h)
        if (h in skt) printf "%-16s %9s %9.3f %7.2f %9s %9.3f %7.2f %8s %8.4f\n", "  vs " h, "", skt[h], ml[k] / skt[h], "", skc[h], mlc[k] / skc[h], "", ska[h] }
    }
  }' "$TMP/sk.txt" "$TMP/ml.txt"
