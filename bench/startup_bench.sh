#!/bin/bash
# bld start-up: `bld version` against /bin/true, and `bld images` on a store of 50 images,
# medians of N runs (default 200) from one run of this script (issue 16's start-up targets:
# `bld version` within 3 ms of /bin/true, `bld images` under 5 ms with 50 images).
#   bench/startup_bench.sh [BLD_BINARY]   (default build/cli/bld; build it Release first)
set -euo pipefail
cd "$(dirname "$0")/.."
BLD=${1:-$PWD/build/cli/bld}
N=${N:-200}
work=/tmp/bld-startup-bench-$$
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

testdata/busybox-rootfs.sh -t "$work/busybox.tar"
for i in $(seq 50); do
  "$BLD" --root "$work/store" import "$work/busybox.tar" "img$i" --change "LABEL n=$i" >/dev/null
done

# Median wall time in milliseconds of N runs of "$@" (one fork+exec each, like a shell script).
median_ms() {
  hyperfine -N --runs "$N" --warmup 10 --export-json "$work/h.json" "$*" >/dev/null 2>&1
  python3 -c 'import json,sys; print("%.2f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$work/h.json"
}

true_ms=$(median_ms /bin/true)
version_ms=$(median_ms "$BLD" version)
images_ms=$(median_ms "$BLD" --root "$work/store" images)
libs=$(ldd "$BLD" | wc -l)
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)   shared objects mapped by bld: $libs"
echo "/bin/true:               median ${true_ms} ms"
echo "bld version:             median ${version_ms} ms"
echo "bld images (50 images):  median ${images_ms} ms"
awk -v v="$version_ms" -v t="$true_ms" 'BEGIN {printf "bld version - /bin/true: %.2f ms (target <= 3)\n", v-t}'
