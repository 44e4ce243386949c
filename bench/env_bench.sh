#!/bin/sh
# Dockerfile processing linear in its size (issue 16): `bld build` of a Dockerfile with
# 100,000 ENV lines (target: under 2 s) next to ten times the same build with 10,000 lines
# (the yardstick: a ratio near 1.00 means linear) and a 100,000-line LABEL file.
#   bench/env_bench.sh [BLD_BINARY]       (N=runs, default 3; Release build/ first)
set -eu
BENCH_N=3
. "$(dirname "$0")/lib.sh"
bench_init env_bench "$@"
bench_need python3
gen() {
  mkdir -p "$WORK/$1"
  python3 -c "import sys
print('FROM scratch')
for i in range(int(sys.argv[2])): print(f'{sys.argv[1]} V{i}=value{i}')" "$2" "$3" >"$WORK/$1/Dockerfile"
}
gen env100k ENV 100000
gen env10k ENV 10000
gen label100k LABEL 100000
build() { "$BLD" --root "$WORK/store" build -q --no-cache -t "$1" "$WORK/$1"; }
bench_header
big=$(median_s : build env100k)
small=$(median_s : build env10k)
label=$(median_s : build label100k)
report "100,000 ENV lines" "$big" "10 x 10,000 ENV lines" \
  "$(awk -v s="$small" 'BEGIN {printf "%.4f", 10 * s}')" "target < 2 s; ratio ~1 = linear"
report "100,000 ENV lines" "$big" "100,000 LABEL lines" "$label" ""
