#!/bin/sh
# Side-by-side training speed, mlrun vs PyTorch (nn_train.lua / nn_train_torch.py):
# the MNIST CNN and MLP (one epoch of 8,000 digits, batch 128) and XOR (1,000
# steps), at 1 and 2 threads, with the ratio mlrun/PyTorch and peak memory.
#   sh scripts/bench/nn_train.sh [BUILD]
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
MLRUN="$BUILD/mlrun"
PY=/usr/bin/python3
if ! $PY -c "import torch" 2>/dev/null; then
  echo "nn_train: PyTorch (python3-torch) is not installed: skipping the comparison"
  TORCH=0
else
  TORCH=1
fi
# Timings mean little on a busy machine: with more runnable threads than cores,
# OpenMP's spinning waits turn every parallel region into a scheduler quantum.
load=$(cut -d' ' -f1 /proc/loadavg); cores=$(nproc)
if awk -v l="$load" -v c="$cores" 'BEGIN { exit !(l > c) }'; then
  echo "nn_train: load average $load on $cores cores: figures below are distorted by other work"
fi
printf '%-5s %3s | %12s %12s %7s | %10s %10s | %8s %8s %8s\n' model thr "mlrun" "pytorch" "ratio" \
  "mlrun/s" "torch/s" "mlrun MB" "tensorMB" "torch MB"
for model in cnn mlp xor; do
  for t in 1 2; do
    m=$("$MLRUN" scripts/bench/nn_train.lua --model $model --threads $t | grep '^RESULT')
    if [ $TORCH = 1 ]; then
      p=$($PY scripts/bench/nn_train_torch.py --model $model --threads $t | grep '^RESULT')
    else
      p="RESULT $model $t nan nan nan"
    fi
    unit="s/epoch"; [ $model = xor ] && unit="us/step"
    echo "$m|$p" | awk -v unit="$unit" -F'|' '{
      split($1, a, " "); split($2, b, " ");
      r = (b[4] + 0 > 0) ? a[4] / b[4] : 0;
      printf "%-5s %3s | %8.3f %-3s %8.3f %-3s %7.2f | %10.0f %10.0f | %8.0f %8.0f %8.0f\n",
        a[2], a[3], a[4], "", b[4], "", r, a[5], b[5], a[6], a[7], b[6] }'
  done
done
echo "(cnn/mlp: seconds per epoch and images/s; xor: microseconds per step and steps/s;"
echo " ratio = mlrun time / PyTorch time, lower is better; MB = peak resident (VmHWM),"
echo " tensorMB = mlrun's peak tensor memory from ml.memory_info().peak)"
