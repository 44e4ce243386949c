#!/bin/sh
# bld start-up (issue 16): `bld version` against /bin/true (target: within 3 ms), and
# `bld images` on a store of 50 images (target: under 5 ms), medians of N runs (default
# 200, by hyperfine without a shell: one fork+exec each) from one run of this script.
#   bench/startup_bench.sh [BLD_BINARY]   (default build/cli/bld; build it Release first)
set -eu
BENCH_N=200
. "$(dirname "$0")/lib.sh"
bench_init startup_bench "$@"
bench_need hyperfine python3

busybox_rootfs "$WORK/busybox.tar"
i=1
while [ $i -le 50 ]; do
  "$BLD" --root "$WORK/store" import "$WORK/busybox.tar" "img$i" --change "LABEL n=$i" >/dev/null
  i=$((i + 1))
done

# hyperfine_s CMD...: median seconds of N runs.
hyperfine_s() {
  hyperfine -N --runs "$N" --warmup 10 --export-json "$WORK/h.json" "$*" >/dev/null 2>&1
  python3 -c 'import json,sys; print("%.5f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$WORK/h.json"
}

bench_header
true_s=$(hyperfine_s /bin/true)
version_s=$(hyperfine_s "$BLD" version)
images_s=$(hyperfine_s "$BLD" --root "$WORK/store" images)
echo "shared objects mapped by bld: $(ldd "$BLD" | wc -l)"
report "bld version" "$version_s" "/bin/true" "$true_s" \
  "$(awk -v v="$version_s" -v t="$true_s" 'BEGIN {printf "+%.2f ms (target <= 3)", (v - t) * 1000}')"
report "bld images (50 images)" "$images_s" "/bin/true" "$true_s" \
  "$(awk -v v="$images_s" 'BEGIN {printf "%.2f ms (target < 5)", v * 1000}')"
