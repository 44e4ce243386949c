#!/bin/sh
# Layers on a real base (issue 16): the debootstrap'd Debian rootfs (testdata/debian-rootfs.sh
# with gcc, libc6-dev, make; ~330 MB) through bld's layer paths, each next to its yardstick
# in the same run:
#   import   `bld import ROOTFS.tar`           vs `gzip -6` of the same tar
#            (targets: >= 300 MB/s of tar, ratio <= 1/15 = 0.067)
#   unpack   first `bld run` of the imported image (the layer applied into a snapshot)
#            vs `gzip -dc LAYER | tar -xf -` of the same blob (target: ratio <= 1.5)
#   diff     a layer diff of the unpacked tree (build/bench/snapshot_bench, best of N: walk,
#            tar, gzip, sha256 of both, all threads) vs `tar -c | gzip -6` of it
#            (targets: >= 300 MB/s, ratio <= 0.067)
#   bench/layer_bench.sh [BLD_BINARY]       (N=runs, default 3; Release build/ first)
set -eu
BENCH_N=3
. "$(dirname "$0")/lib.sh"
bench_init layer_bench "$@"
SNAP_BENCH=$(dirname "$BLD")/../bench/snapshot_bench
debian_rootfs "$WORK/rootfs.tar" gcc,libc6-dev,make || {
  echo "layer_bench: skipped (no Debian base: see the message above)"
  exit 0
}
TAR=$WORK/rootfs.tar
MB=$(stat -c %s "$TAR" | awk '{printf "%.0f", $1 / 1e6}')
mbps() { awk -v s="$1" -v mb="$MB" 'BEGIN {printf "%.0f", mb / s}'; }
cat "$TAR" >/dev/null  # page cache: both sides read from memory

bench_header
echo "rootfs tar: $MB MB"
imp=$(median_s "rm -rf $WORK/imp" "$BLD" --root "$WORK/imp" import "$TAR" deb)
gz=$(median_s : sh -c "gzip -6 -c '$TAR' > '$WORK/rootfs.tar.gz'")
report "import: bld import ($(mbps "$imp") MB/s)" "$imp" "gzip -6 ($(mbps "$gz") MB/s)" "$gz" \
  "targets >= 300 MB/s, ratio <= 0.067"
rm -f "$WORK/rootfs.tar.gz"

# The imported layer blob: the largest blob of the store. Each run unpacks into a new
# directory and nothing is deleted until the end: ext4 scans the inodes freed in the last
# ~30 s on every create (recently_deleted()), which would charge one run's cleanup to the next.
BLOB=$(ls -S "$WORK/imp/blobs/sha256/"* | head -1)
RUNS=0
bld_unpack() {
  RUNS=$((RUNS + 1))
  cp -al "$WORK/imp" "$WORK/st-$RUNS"
  "$BLD" --root "$WORK/st-$RUNS" run --rm --network none deb true
}
tar_unpack() {
  RUNS=$((RUNS + 1))
  mkdir "$WORK/x-$RUNS"
  gzip -dc "$BLOB" | tar -C "$WORK/x-$RUNS" -xf -
}
unp=$(median_s : bld_unpack)
tx=$(median_s : tar_unpack)
report "unpack: first bld run" "$unp" "gzip -dc | tar -xf" "$tx" "target <= 1.50"

if [ -x "$SNAP_BENCH" ]; then
  out=$("$SNAP_BENCH" "$WORK/x-1" --compression gzip --threads 0 --repeat "$N" --apply-dir "$WORK/apply")
  diff_s=$(echo "$out" | sed -n 's/^diff .* wall=\([0-9.]*\)s .*/\1/p')
  tgz=$(median_s : sh -c "tar -C '$WORK/x-1' -cf - . | gzip -6 > /dev/null")
  report "diff: tar+gzip+sha256 ($(mbps "$diff_s") MB/s)" "$diff_s" "tar -c | gzip -6" "$tgz" \
    "targets >= 300 MB/s, ratio <= 0.067"
else
  echo "diff: skipped ($SNAP_BENCH not built: cmake -DBLD_BENCH=ON; ninja bench/snapshot_bench)"
fi
