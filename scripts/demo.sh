#!/bin/sh
# scripts/demo.sh MLRUN - runs the demo experiments in order and fails if
# one fails. Add a line to DEMOS for each new demo (path and arguments; a
# .sh demo is run with sh and given MLRUN).
MLRUN=${1:-build/mlrun}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
DEMOS="
scripts/perceptron.lua
scripts/xor.lua
scripts/regression.lua
scripts/linreg_autograd.lua
scripts/mnist_mlp.lua --epochs 3
scripts/mnist_cnn.lua
scripts/transfer.lua
scripts/filters.lua
scripts/bank_logreg.lua build
scripts/compare_models.lua build
scripts/kmeans.lua build
scripts/pca_nmf.lua build
scripts/tune_forest.lua
scripts/feature_selection.lua
scripts/serve_demo.sh
"
failed=0
echo "$DEMOS" | while IFS= read -r demo; do
  [ -n "$demo" ] || continue
  echo "=== mlrun $demo"
  # shellcheck disable=SC2086  # demo lines may carry arguments
  case "$demo" in
    *.sh) cmd="sh $demo $MLRUN" ;;     # shell demos take the mlrun to use
    *) cmd="$MLRUN $demo" ;;
  esac
  if ! $cmd; then echo "=== FAILED: $demo"; exit 1; fi
done || failed=1
[ "$failed" -eq 0 ] && echo "=== all demos passed"
exit "$failed"
