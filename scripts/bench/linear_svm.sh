#!/bin/sh
# scripts/bench/linear_svm.sh [BUILD] [THREADS] - LogisticRegression on the
# one-hot + standardised bank-full table (45,211 x 51), SVC (rbf) and
# LinearSVC on MNIST 8k (pixels / 255, scored on the 2k test images), fitted
# by mlrun and by scikit-learn on the same float32 matrices at the same thread
# count. Prints wall seconds side by side with the ratio (mlrun / sklearn),
# CPU seconds (a fairer figure on a busy machine) and accuracy.
BUILD=${1:-build}
THREADS=${2:-2}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
PY=/usr/bin/python3
$PY -c "import sklearn" 2>/dev/null || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq python3-sklearn >/dev/null || exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
$PY scripts/bench/linear_svm/data.py "$TMP" >/dev/null || exit 1
echo "fitting with scikit-learn ($THREADS threads)..." >&2
OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS \
  $PY scripts/bench/linear_svm/sklearn_fit.py "$TMP" > "$TMP/sk.txt" || exit 1
echo "fitting with mlrun ($THREADS threads)..." >&2
"$BUILD/mlrun" --threads "$THREADS" scripts/bench/linear_svm/mlrun_fit.lua "$TMP" \
  > "$TMP/ml.txt" 2> "$TMP/ml.err" || { cat "$TMP/ml.err"; exit 1; }
awk -v threads="$THREADS" '
  FNR == NR { skw[$1] = $2; skc[$1] = $3; ska[$1] = $4; next }
  { mlw[$1] = $2; mlc[$1] = $3; mla[$1] = $4; order[++n] = $1 }
  END {
    printf "linear/SVM benchmark, %d threads (fit seconds; accuracy: bank on the\n", threads
    printf "training table, MNIST on the 2k test images)\n"
    printf "%-18s %8s %8s %6s %8s %8s %6s %7s %7s\n", "case", "mlrun", "sklearn", "ratio",
      "cpu_ml", "cpu_sk", "ratio", "acc_ml", "acc_sk"
    for (i = 1; i <= n; i++) {
      k = order[i]
      printf "%-18s %8.3f %8.3f %6.2f %8.3f %8.3f %6.2f %7.4f %7.4f\n", k, mlw[k], skw[k],
        mlw[k] / skw[k], mlc[k], skc[k], mlc[k] / skc[k], mla[k], ska[k]
    }
  }' "$TMP/sk.txt" "$TMP/ml.txt"
