#!/bin/sh
# Layer diff/apply benchmark: bld vs `tar -c | gzip -6` on ~200 MB of real files, one core.
#
#   bench/snapshot_bench.sh [BUILD_DIR]        (default: build)
#
# The tree is a copy of a few /usr/lib directories (python, git, postgresql, cni: ~6000
# files, ~210 MB), made once in $BLD_BENCH_DIR (default /tmp/bld-snapshot-bench); set
# BLD_BENCH_TREE to use another tree (e.g. a debootstrap'd Debian). Everything runs pinned
# to CPU 0 (taskset). Throughput is tar bytes per second; it is given per wall second and
# per CPU second of the process(es) (user+sys), which is what counts on a busy machine.
# Apply writes into /dev/shm (tmpfs) so that it measures bld, not the disk.
# Targets (issue 4): diff+gzip+sha256 >= 250 MB/s on one core, and >= 5x tar|gzip -6.
set -eu

BUILD=${1:-build}
BIN=$BUILD/bench/snapshot_bench
[ -x "$BIN" ] || { echo "snapshot_bench.sh: $BIN not built (cmake -DBLD_BENCH=ON; ninja snapshot_bench)" >&2; exit 1; }
DIR=${BLD_BENCH_DIR:-/tmp/bld-snapshot-bench}
TREE=${BLD_BENCH_TREE:-$DIR/tree}
if [ ! -d "$TREE" ]; then
  mkdir -p "$TREE"
  for d in python3.11 git-core postgresql cni python3; do
    [ -d /usr/lib/$d ] && cp -a /usr/lib/$d "$TREE/"
  done
fi
APPLY=/dev/shm/bld-snapshot-bench-apply
trap 'rm -rf "$APPLY"' EXIT
echo "tree: $TREE ($(du -sh "$TREE" | cut -f1), $(find "$TREE" | wc -l) entries), load: $(cut -d' ' -f1-3 /proc/loadavg)"

# Warm the page cache so both sides read from memory.
tar -C "$TREE" -cf - . > /dev/null

OUT=$(taskset -c 0 "$BIN" "$TREE" --compression gzip --repeat 3 --apply-dir "$APPLY")
echo "$OUT"
for c in zstd none; do
  taskset -c 0 "$BIN" "$TREE" --compression $c --repeat 2 --apply-dir "$APPLY"
done

# The peer: tar | gzip -6, both on CPU 0.
T=$( { /usr/bin/time -f "%e %U %S" taskset -c 0 sh -c "tar -C '$TREE' -cf - . | gzip -6 > /dev/null" ; } 2>&1 | tail -1)
PEER_WALL=$(echo "$T" | cut -d' ' -f1)
PEER_CPU=$(echo "$T" | awk '{print $2 + $3}')
echo "peer  tar -c | gzip -6: wall=${PEER_WALL}s cpu=${PEER_CPU}s"

BLD_WALL=$(echo "$OUT" | sed -n 's/^diff .* wall=\([0-9.]*\)s cpu=\([0-9.]*\)s.*/\1/p')
BLD_CPU=$(echo "$OUT" | sed -n 's/^diff .* wall=\([0-9.]*\)s cpu=\([0-9.]*\)s.*/\2/p')
BYTES=$(echo "$OUT" | sed -n 's/^diff .* tar=\([0-9]*\) .*/\1/p')
awk -v b="$BYTES" -v bw="$BLD_WALL" -v bc="$BLD_CPU" -v pw="$PEER_WALL" -v pc="$PEER_CPU" 'BEGIN {
  mbw = b / bw / 1e6; mbc = b / bc / 1e6;
  printf "bld diff+gzip+sha256: %.0f MB/s wall, %.0f MB/s cpu  (target >= 250)  %s\n", mbw, mbc, (mbc >= 250 ? "PASS" : "FAIL");
  printf "speed-up over tar|gzip -6: %.1fx wall, %.1fx cpu  (target >= 5x)  %s\n", pw / bw, pc / bc, (pc / bc >= 5 ? "PASS" : "FAIL");
}'
