#!/bin/sh
# scripts/bench/run.sh BUILD - runs every benchmark in scripts/bench/, in name
# order, and prints their figures (benchmarks never assert timings):
#   scripts/bench/NAME.sh   run as `sh NAME.sh BUILD`
#   scripts/bench/NAME.lua  run as `BUILD/mlrun NAME.lua BUILD`, unless a
#                           NAME.sh exists: then it is that script's helper
# A benchmark that cannot run here (a missing tool, a missing data set) prints
# one line starting "SKIP NAME: why" and exits 0. Other helper files (.py,
# .c, ...) sit beside them or in a subdirectory, which this runner ignores.
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
failed=0
for f in $(ls scripts/bench/*.sh scripts/bench/*.lua 2>/dev/null | sort); do
  [ "$f" = scripts/bench/run.sh ] && continue
  case "$f" in *.lua) [ -f "${f%.lua}.sh" ] && continue ;; esac
  echo "=== $f"
  case "$f" in
    *.sh) sh "$f" "$BUILD" ;;
    *.lua) "$BUILD/mlrun" "$f" "$BUILD" ;;
  esac || { echo "=== $f FAILED"; failed=1; }
  echo
done
exit "$failed"
