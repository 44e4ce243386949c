#!/bin/sh
# `bld build` against `buildah build --layers` in the same run (issue 16's cold-build target:
# the two-stage Debian build from empty stores at most 0.5x buildah's time).
#   bench/build_bench.sh [BLD_BINARY]       (N=runs, default 3; build a Release build/ first)
# Both tools pull their bases from the same docker-registry on 127.0.0.1 (pushed once,
# untimed). Columns per build:
#   cold    empty stores: pulling and unpacking the bases is part of the time, as for users
#   warm    bases already pulled and unpacked, --no-cache
#   cached  fully cached rebuild
# Builds: "small" (busybox: WORKDIR, COPY, RUN, ENV) and "debian" (issue 16's workload: a C
# build with make on a debootstrap'd Debian with gcc, a second Debian stage writing 2,000
# small files, a busybox final stage copying from both; skipped with a message when Debian's
# mirror cannot be reached).
set -eu
BENCH_N=3
. "$(dirname "$0")/lib.sh"
bench_init build_bench "$@"
bench_need buildah
BHOPTS="--storage-driver overlay"
# bh ROOT ARGS...: buildah on its own store under $WORK/bh/ROOT.
bh() {
  root=$1
  shift
  buildah --root "$WORK/bh/$root/root" --runroot "$WORK/bh/$root/run" $BHOPTS "$@"
}
bh_wipe() {
  bh "$1" rm --all >/dev/null 2>&1 || true
  bh "$1" rmi --all --force >/dev/null 2>&1 || true
  grep " $WORK/bh/$1/" /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r umount -l 2>/dev/null || true
  rm -rf "$WORK/bh/$1"
}
bench_at_exit "for d in \$(ls $WORK/bh 2>/dev/null); do bh_wipe \$d; done"

start_registry
busybox_rootfs "$WORK/busybox.tar"
push_rootfs "$WORK/busybox.tar" busybox
HAVE_DEBIAN=1
if debian_rootfs "$WORK/debian-dev.tar" gcc,libc6-dev,make; then
  push_rootfs "$WORK/debian-dev.tar" debian-dev
  rm -f "$WORK/debian-dev.tar"
else
  HAVE_DEBIAN=0
fi

mkdir -p "$WORK/small" "$WORK/debian"
printf 'hello\n' >"$WORK/small/hello.txt"
cat >"$WORK/small/Dockerfile" <<D
FROM $REG/busybox
WORKDIR /app
COPY hello.txt .
RUN echo built > /app/built
ENV A=b
CMD ["cat", "/app/built"]
D
cat >"$WORK/debian/hello.c" <<'C'
#include <stdio.h>
int main(void) { puts("hello from C"); return 0; }
C
printf 'hello: hello.c\n\tgcc -O2 -static -o hello hello.c\n' >"$WORK/debian/Makefile"
cat >"$WORK/debian/Dockerfile" <<D
FROM $REG/debian-dev AS build
WORKDIR /src
COPY hello.c Makefile ./
RUN make
FROM $REG/debian-dev AS docs
RUN mkdir /docs && for i in \$(seq 2000); do echo "page \$i" > /docs/p\$i.txt; done
FROM $REG/busybox
COPY --from=build /src/hello /usr/local/bin/hello
COPY --from=docs /docs /docs
CMD ["hello"]
D

BLDB="$BLD --root"
BHB="build --layers --isolation chroot --tls-verify=false -q"
# Cold runs use a new store each and delete none until the end: ext4 scans the inodes it
# freed in the last ~30 s on every create (recently_deleted()), which would charge the
# deletion of the previous run's 330 MB tree to the next one, for both tools alike.
COLD=0
bld_cold() {
  COLD=$((COLD + 1))
  $BLDB "$WORK/bld-cold-$COLD" build -q -t "b-$1" "$2"
}
bh_cold() {
  COLD=$((COLD + 1))
  bh "cold-$COLD" $BHB -t "b-$1" "$2"
}
# One build's three columns for both tools.
bench() {
  name=$1 ctx=$2 target=${3:-}
  bld_cold=$(median_s : bld_cold "$name" "$ctx")
  bh_cold=$(median_s : bh_cold "$name" "$ctx")
  # warm: bases in the store (the first run pulls them), no cache.
  $BLDB "$WORK/bld-warm" build -q -t "b-$name" "$ctx" >/dev/null
  bh warm $BHB -t "b-$name" "$ctx" >/dev/null 2>&1
  bld_warm=$(median_s : $BLDB "$WORK/bld-warm" build -q --no-cache -t "b-$name" "$ctx")
  bh_warm=$(median_s : bh warm $BHB --no-cache -t "b-$name" "$ctx")
  bld_cached=$(median_s : $BLDB "$WORK/bld-warm" build -q -t "b-$name" "$ctx")
  bh_cached=$(median_s : bh warm $BHB -t "b-$name" "$ctx")
  report "$name cold: bld build" "$bld_cold" "buildah build --layers" "$bh_cold" "$target"
  report "$name warm base: bld build" "$bld_warm" "buildah build --layers" "$bh_warm" ""
  report "$name cached: bld build" "$bld_cached" "buildah build --layers" "$bh_cached" ""
}

bench_header
bench small "$WORK/small"
if [ "$HAVE_DEBIAN" = 1 ]; then
  bench debian "$WORK/debian" "target <= 0.50"
else
  echo "debian: skipped (no Debian base: see the message above)"
fi
