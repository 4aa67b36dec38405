#!/bin/sh
# The tape's cost, side by side (autograd.lua / autograd_torch.py): one
# training loop of a 2-layer MLP written three ways - mlrun's built-in
# nn.Sequential (fused kernels, no tape), the same MLP in raw tensor ops with
# mlrun autograd, and PyTorch eager running the autograd loop's code - on
# MNIST (784-128-10, batch 128) and a small model (20-32-4, batch 32) where
# per-op overhead dominates. Microseconds per training step; ratios against
# the built-in model and against PyTorch.
#   sh scripts/bench/autograd.sh [BUILD]
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
MLRUN="$BUILD/mlrun"
PY=/usr/bin/python3
TORCH=1
$PY -c "import torch" 2>/dev/null || { echo "autograd: PyTorch (python3-torch) is not installed: no PyTorch column"; TORCH=0; }
load=$(cut -d' ' -f1 /proc/loadavg); cores=$(nproc)
echo "autograd: load average $load on $cores cores$(awk -v l="$load" -v c="$cores" \
  'BEGIN { if (l > c) print " (figures distorted by other work)" }')"
printf '%-6s %3s | %10s %10s %10s | %13s %13s\n' config thr builtin autograd pytorch \
  "autograd/blt" "autograd/torch"
for config in mnist small; do
  for t in 1 2; do
    b=$("$MLRUN" scripts/bench/autograd.lua --config $config --mode builtin --threads $t | grep '^RESULT')
    a=$("$MLRUN" scripts/bench/autograd.lua --config $config --mode autograd --threads $t | grep '^RESULT')
    if [ $TORCH = 1 ]; then
      p=$($PY scripts/bench/autograd_torch.py --config $config --threads $t | grep '^RESULT')
    else
      p="RESULT $config torch $t nan nan"
    fi
    echo "$b|$a|$p" | awk -F'|' '{
      split($1, b, " "); split($2, a, " "); split($3, p, " ");
      rt = (p[5] + 0 > 0) ? sprintf("%13.2f", a[5] / p[5]) : sprintf("%13s", "-");
      printf "%-6s %3s | %10.1f %10.1f %10s | %13.2f %s\n", b[2], b[4], b[5], a[5], p[5],
        a[5] / b[5], rt }'
  done
done
echo "(microseconds per training step, process CPU time, lower is better; ratios: autograd"
echo " time / other time)"
"$MLRUN" scripts/bench/autograd.lua --config ops | awk '/^RESULT/ {
  printf "per op on 16 floats: %.2f us plain, %.2f us recorded, %.2f us recorded + backward\n",
    $3, $4, $5 }'
