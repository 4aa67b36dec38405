#!/bin/sh
# scripts/bench/tabular.sh [BUILD] [THREADS] - the tabular side against pandas
# and scikit-learn on the same data: read_csv of bank-full.csv.gz (45k x 17),
# get_dummies + to_tensor, describe, write_csv, a 5-fold GridSearchCV of a
# forest and a 5-fold cross_val_score of a tree (both n_jobs = 2), ROC AUC and
# classification_report on 45k labels. Prints seconds side by side and the ratio.
BUILD=${1:-build}
THREADS=${2:-2}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
PY=/usr/bin/python3
$PY -c "import sklearn, pandas" 2>/dev/null || {
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq python3-sklearn python3-pandas >/dev/null || {
    echo "SKIP tabular: python3-sklearn / python3-pandas not installable"; exit 0; }; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
OMP_NUM_THREADS=$THREADS $PY scripts/bench/tabular.py "$THREADS" > "$TMP/py.txt" || exit 1
MLRUN_THREADS=$THREADS "$BUILD/mlrun" scripts/bench/tabular.lua > "$TMP/ml.txt" || exit 1
awk -v threads="$THREADS" '
  FNR == NR { py[$1] = $2; next }
  { ml[$1] = $2; order[++n] = $1 }
  END {
    printf "tabular benchmark, %d threads (seconds; ratio = mlrun / pandas+sklearn)\n", threads
    printf "%-16s %9s %9s %7s\n", "case", "mlrun", "python", "ratio"
    for (i = 1; i <= n; i++) { k = order[i]
      printf "%-16s %9.4f %9.4f %7.2f\n", k, ml[k], py[k], ml[k] / py[k] }
  }' "$TMP/py.txt" "$TMP/ml.txt"
