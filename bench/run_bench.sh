#!/bin/sh
# Per-container cost (issue 16): `bld run --rm --network none busybox true` against
# `unshare -fmpiun --mount-proc true` (the kernel's cost of the same namespaces; target: at
# most 2x), a trivial RUN step (its layer commit included) against that `bld run` (target:
# no dearer), a fully cached rebuild against `bld version` (target: within 10 ms), and
# `buildah run --isolation chroot` when buildah is installed. Medians of N runs (default 20).
#   bench/run_bench.sh [BLD_BINARY [OTHER_BLD]]   (default build/cli/bld; build it Release first)
# OTHER_BLD (e.g. a Release build of an older commit) is timed in the same run, own store.
set -eu
BENCH_N=20
. "$(dirname "$0")/lib.sh"
bench_init run_bench "$@"
bench_need unshare

busybox_rootfs "$WORK/busybox.tar"
"$BLD" --root "$WORK/store" import "$WORK/busybox.tar" busybox --change 'CMD ["sh"]' >/dev/null
"$BLD" --root "$WORK/store" run --rm --network none busybox true  # unpacks the layer once
mkdir -p "$WORK/ctx"
printf 'FROM busybox\nRUN true\n' >"$WORK/ctx/Dockerfile"
"$BLD" --root "$WORK/store" build -q -t step "$WORK/ctx" >/dev/null

bench_header
unshare_s=$(median_s : unshare -fmpiun --mount-proc true)
run_s=$(median_s : "$BLD" --root "$WORK/store" run --rm --network none busybox true)
report "bld run --rm --network none" "$run_s" "unshare -fmpiun --mount-proc" "$unshare_s" \
  "target <= 2.00"
if [ -n "${2:-}" ]; then
  OTHER=$(realpath "$2")
  "$OTHER" --root "$WORK/other" import "$WORK/busybox.tar" busybox --change 'CMD ["sh"]' >/dev/null
  "$OTHER" --root "$WORK/other" run --rm --network none busybox true
  other_s=$(median_s : "$OTHER" --root "$WORK/other" run --rm --network none busybox true)
  report "bld run --rm --network none" "$run_s" "OTHER_BLD run --rm --network none" "$other_s" ""
fi
# A one-step build without cache minus a fully cached one: the RUN step and its commit.
nocache_s=$(median_s : "$BLD" --root "$WORK/store" build -q --no-cache --network none -t step "$WORK/ctx")
cached_s=$(median_s : "$BLD" --root "$WORK/store" build -q -t step "$WORK/ctx")
step_s=$(awk -v a="$nocache_s" -v b="$cached_s" 'BEGIN {printf "%.4f", a - b}')
report "RUN true step (no-cache - cached)" "$step_s" "bld run --rm --network none" "$run_s" \
  "target <= 1.00"
version_s=$(median_s : "$BLD" version)
report "fully cached rebuild" "$cached_s" "bld version" "$version_s" \
  "$(awk -v a="$cached_s" -v b="$version_s" 'BEGIN {printf "+%.1f ms (target <= 10)", (a - b) * 1000}')"

if command -v buildah >/dev/null; then
  B="buildah --root $WORK/buildah --runroot $WORK/buildah-run --storage-driver vfs"
  bench_at_exit "$B rm -a"
  # Straight from bld's store (an OCI layout): never a registry. buildah wants a lowercase
  # path, which mktemp's is not.
  layout=/tmp/bld-run-bench-layout-$$
  ln -s "$WORK/store" "$layout"
  bench_at_exit "rm -f $layout"
  ctr=$($B from -q "oci:$layout:docker.io/library/busybox:latest")
  # chroot isolation is the lightest buildah has (no new namespaces): it favours buildah.
  $B run --isolation chroot "$ctr" true
  bh_s=$(median_s : $B run --isolation chroot "$ctr" true)
  report "bld run --rm --network none" "$run_s" "buildah run --isolation chroot" "$bh_s" ""
fi
