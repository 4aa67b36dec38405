#!/bin/sh
# tests/fuzz/smoke.sh [SECONDS] - the short fuzz run of `make test`: builds the
# libFuzzer targets (clang, ASan + UBSan), replays every regression input and
# seed, fuzzes each target for SECONDS (default 2), and prints TAP.
SECS=${1:-2}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
# Without clang or libFuzzer's runtime this says so loudly (TAP SKIP, which
# tests/run.sh repeats at the end); `make deps` installs both.
if ! command -v clang >/dev/null 2>&1; then
  echo "ok 1 - fuzz smoke: clang is not installed (Debian clang, make deps) # SKIP"
  echo "fuzz smoke SKIPPED: clang is not installed (apt-get install clang libclang-rt-14-dev)" >&2
  exit 0
fi
probe=$(mktemp -d)
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' > "$probe/p.c"
if ! clang -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" >/dev/null 2>&1; then
  rm -rf "$probe"
  echo "ok 1 - fuzz smoke: clang cannot link -fsanitize=fuzzer (Debian libclang-rt-14-dev, make deps) # SKIP"
  echo "fuzz smoke SKIPPED: clang has no libFuzzer runtime (apt-get install libclang-rt-14-dev)" >&2
  exit 0
fi
rm -rf "$probe"
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
