#!/bin/sh
# Runs bld's whole test suite (unit + integration) on a build with
# AddressSanitizer and UndefinedBehaviorSanitizer. Exits non-zero if any test fails.
#   scripts/test.sh [ctest args...]
#   scripts/test.sh --bench-smoke   instead: a Release build in build/ (BLD_BENCH_BUILD_DIR)
#                                   and every bench/ script once (N=1), to show they still work
#                                   (their figures are meaningless with N=1).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
if [ "${1:-}" = --bench-smoke ]; then
  BUILD=${BLD_BENCH_BUILD_DIR:-build}
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBLD_BENCH=ON >/dev/null
  ninja -C "$BUILD" cli/bld bench/snapshot_bench
  failed=""
  for b in startup_bench run_bench build_bench layer_bench env_bench; do
    echo "--- bench/$b.sh (N=1)"
    N=1 "bench/$b.sh" "$BUILD/cli/bld" || failed="$failed $b"
  done
  [ -z "$failed" ] || { echo "bench smoke failed:$failed" >&2; exit 1; }
  echo "bench smoke: all ran"
  exit 0
fi
BUILD=${BLD_TEST_BUILD_DIR:-build-asan}
# -O1 with minimal debug info (-g1: line tables): sanitizer builds compile much faster than -O2 -g and still
# give file:line in reports.
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" \
  -DCMAKE_C_FLAGS="-O1 -g1" -DBLD_SANITIZE=ON -DBLD_BENCH=OFF >/dev/null
ninja -C "$BUILD"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$BUILD"
ctest --output-on-failure --timeout 600 -j2 "$@"
