#!/bin/bash
# bld run start-up: `bld run --rm busybox true`, median of N runs (default 20),
# next to `buildah run` of the same image in the same run.
#   bench/run_bench.sh [BLD_BINARY [OTHER_BLD_BINARY]]   (default build/cli/bld; Release builds)
# With a second binary (e.g. one built from an older commit) both are timed in the same run,
# their runs interleaved, each with a store of its own, and the ratio is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
BLD=${1:-$PWD/build/cli/bld}
OTHER=${2:-}
N=${N:-20}
echo "load: $(uptime)"
work=/tmp/bld-run-bench-$$
mkdir -p "$work"
trap 'buildah --root "$work/buildah" --runroot "$work/buildah-run" --storage-driver vfs rm -a >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

testdata/busybox-rootfs.sh -t "$work/busybox.tar"
"$BLD" --root "$work/store" import "$work/busybox.tar" busybox --change 'CMD ["sh"]' >/dev/null
"$BLD" --root "$work/store" run --rm busybox true  # warm: unpacks the layer once

# Median wall time in milliseconds of N runs of "$@".
median_ms() {
  local times=()
  for _ in $(seq "$N"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f\n", m/1000}'
}

if [ -n "$OTHER" ]; then
  "$OTHER" --root "$work/other" import "$work/busybox.tar" busybox --change 'CMD ["sh"]' >/dev/null
  "$OTHER" --root "$work/other" run --rm busybox true
  # Interleaved: a change of load hits both alike.
  a=() b=()
  for _ in $(seq "$N"); do
    t0=$(date +%s%N); "$BLD" --root "$work/store" run --rm busybox true >/dev/null; t1=$(date +%s%N)
    "$OTHER" --root "$work/other" run --rm busybox true >/dev/null; t2=$(date +%s%N)
    a+=($(( (t1 - t0) / 1000 ))) b+=($(( (t2 - t1) / 1000 )))
  done
  med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f\n", m/1000}'; }
  a_ms=$(med "${a[@]}") b_ms=$(med "${b[@]}")
  echo "$BLD run --rm busybox true:   median ${a_ms} ms over $N runs"
  echo "$OTHER run --rm busybox true:   median ${b_ms} ms over $N runs"
  awk -v a="$a_ms" -v b="$b_ms" 'BEGIN {printf "first/second: %.2f\n", a/b}'
fi

bld_ms=$(median_ms "$BLD" --root "$work/store" run --rm busybox true)
echo "bld run --rm busybox true:   median ${bld_ms} ms over $N runs"

if command -v buildah >/dev/null; then
  B=(buildah --root "$work/buildah" --runroot "$work/buildah-run" --storage-driver vfs)
  # Straight from bld's store (an OCI layout): never a registry.
  ctr=$("${B[@]}" from -q "oci:$work/store:docker.io/library/busybox:latest")
  # crun cannot create containers on this hybrid-cgroup host; chroot isolation is the
  # lightest buildah has (no new namespaces), so the comparison favours buildah.
  "${B[@]}" run --isolation chroot "$ctr" true
  buildah_ms=$(median_ms "${B[@]}" run --isolation chroot "$ctr" true)
  echo "buildah run --isolation chroot CONTAINER true:  median ${buildah_ms} ms over $N runs"
  awk -v a="$bld_ms" -v b="$buildah_ms" 'BEGIN {printf "bld is %.1fx faster\n", b/a}'
  echo "load: $(uptime)"
else
  echo "buildah not installed: no comparison"
fi
