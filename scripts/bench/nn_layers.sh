#!/bin/sh
# nn_layers.sh [BUILD] - forward + backward of the MNIST CNN layers for a
# batch of 128, mlrun (scripts/bench/nn_layers.lua) beside PyTorch
# (nn_layers.py), at 1 and 2 threads. Prints figures, never asserts.
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
PY=/usr/bin/python3
have_torch=0
"$PY" -c "import torch" 2>/dev/null && have_torch=1
for t in 1 2; do
  "$BUILD/mlrun" scripts/bench/nn_layers.lua "$t" 128 20
  if [ "$have_torch" = 1 ]; then
    OMP_NUM_THREADS=$t "$PY" scripts/bench/nn_layers.py "$t" 128 20
  else
    echo "torch: not installed (python3-torch), skipped"
  fi
done
