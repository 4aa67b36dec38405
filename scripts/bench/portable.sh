#!/bin/sh
# scripts/bench/portable.sh [BUILD] [NATIVE_BUILD] [ROUNDS] - the default
# (portable, x86-64-v2 + run-time dispatch) build against one made with
# OPT="-O3 -march=native", side by side: the CNN, MLP and XOR training runs
# of nn_train.lua and the classic estimators (trees on the bank table, the
# cluster/decomposition set on MNIST 8k), at one thread. NATIVE_BUILD is
# built first when missing (build-native). The two builds run alternately,
# ROUNDS times (default 3), and the best of each is kept.
# Figures: CPU seconds (user + system, /usr/bin/time) of the whole process,
# which a busy machine disturbs far less than wall time, and the benchmark's
# own wall-clock figure for reference. ratio = default / native (1.00: no
# loss; above 1: the portable build is slower). Prints, never asserts.
BUILD=${1:-build}
NATIVE=${2:-build-native}
ROUNDS=${3:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
[ -x /usr/bin/time ] || { echo "SKIP portable: /usr/bin/time is missing (Debian time)"; exit 0; }
grep -q -- '-march=x86-64-v2' "$BUILD/.cflags" 2>/dev/null ||
  { echo "SKIP portable: $BUILD is not the default portable build"; exit 0; }
if [ ! -x "$NATIVE/mlrun" ]; then
  echo "building $NATIVE with OPT=\"-O3 -march=native\"..." >&2
  make -s BUILD="$NATIVE" OPT="-O3 -march=native" all >/dev/null || exit 1
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
# name | command (BIN is the mlrun under test) | awk program printing the wall figure
cat > "$TMP/cases" <<'EOC'
cnn|BIN scripts/bench/nn_train.lua --model cnn --threads 1|/^RESULT/ {print $4 " s/epoch"}
mlp|BIN scripts/bench/nn_train.lua --model mlp --threads 1|/^RESULT/ {print $4 " s/epoch"}
xor|BIN scripts/bench/nn_train.lua --model xor --threads 1|/^RESULT/ {print $4 " us/step"}
trees_bank|MLRUN_THREADS=1 BIN scripts/bench/trees.lua bank|/^bank_/ {s += $2} END {print s " s (tree+forest+gboost)"}
cluster_mnist|BIN --threads 1 scripts/bench/cluster/bench.lua data/mnist-10k 1|NF == 3 {s += $2} END {print s " s (kmeans+pca+knn+nmf+nb)"}
EOC
printf '%-14s %10s %10s %7s   %-26s %-26s\n' case "cpu_dflt" "cpu_natv" ratio "wall default" "wall native"
while IFS='|' read -r name cmd prog; do
  for b in "$BUILD" "$NATIVE"; do echo 1e9 > "$TMP/best.$b"; : > "$TMP/wall.$b"; done
  r=0
  while [ $r -lt "$ROUNDS" ]; do
    for b in "$BUILD" "$NATIVE"; do
      c=$(echo "$cmd" | sed "s#BIN#$b/mlrun#")
      /usr/bin/time -f '%U %S' -o "$TMP/t" sh -c "$c" > "$TMP/out" 2>/dev/null
      cpu=$(awk '{print $1 + $2}' "$TMP/t")
      if awk -v a="$cpu" -v b="$(cat "$TMP/best.$b")" 'BEGIN {exit !(a < b)}'; then
        echo "$cpu" > "$TMP/best.$b"; awk "$prog" "$TMP/out" > "$TMP/wall.$b"
      fi
    done
    r=$((r + 1))
  done
  d=$(cat "$TMP/best.$BUILD"); n=$(cat "$TMP/best.$NATIVE")
  printf '%-14s %10.2f %10.2f %7.3f   %-26s %-26s\n' "$name" "$d" "$n" \
    "$(awk -v d="$d" -v n="$n" 'BEGIN {print d / n}')" "$(cat "$TMP/wall.$BUILD")" "$(cat "$TMP/wall.$NATIVE")"
done < "$TMP/cases"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
