#!/bin/sh
# tests/fuzz/smoke.sh [SECONDS] - the short fuzz run of `make test`: builds the
# libFuzzer targets (clang, ASan + UBSan), replays every regression input and
# seed, fuzzes each target for SECONDS (default 2), and prints TAP.
SECS=${1:-2}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
if ! command -v clang >/dev/null 2>&1; then
  echo "ok 1 - fuzz smoke skipped: clang is not installed # SKIP"
  exit 0
fi
if ! make -s fuzz-build > /tmp/mlrun-fuzz-build.$$ 2>&1; then
  echo "not ok 1 - the fuzz targets do not build"
  tail -20 /tmp/mlrun-fuzz-build.$$ >&2
  rm -f /tmp/mlrun-fuzz-build.$$
  exit 1
fi
rm -f /tmp/mlrun-fuzz-build.$$
n=0
for bin in build-fuzz/fuzz_*; do
  t=${bin#build-fuzz/fuzz_}
  n=$((n + 1))
  work=$(mktemp -d)
  mkdir -p tests/fuzz/corpus/$t tests/fuzz/regressions/$t
  out=$(ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 "$bin" -max_total_time="$SECS" \
        -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" \
        "$work" tests/fuzz/corpus/$t tests/fuzz/regressions/$t 2>&1)
  execs=$(echo "$out" | sed -n 's/^stat::number_of_executed_units: *//p')
  if ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* >/dev/null 2>&1; then
    echo "not ok $n - fuzz $t: finding after ${execs:-?} runs"
    echo "$out" | grep -E 'ERROR|SUMMARY|Test unit' | head -5 >&2
  else
    echo "ok $n - fuzz $t: ${execs:-?} runs, no finding"
  fi
  rm -rf "$work"
done
echo "1..$n"
