#!/bin/sh
# Benchmarks `bld build` against `buildah build --layers` in the same run (median of N,
# default 5): a small build on busybox, a two-stage C build on Debian (gcc from a
# debootstrap'd base: testdata/debian-rootfs.sh with INCLUDE=gcc,libc6-dev; skipped with a
# message when the mirror cannot be reached), 30 trivial RUN steps, a step writing ~400 MB,
# and the fully cached rebuild of each. Not run by ctest.
#   bench/build_bench.sh BLD_BINARY [N]
# Prints one line per benchmark: name, bld median, buildah median, ratio.
set -eu
BLD=${1:?usage: build_bench.sh BLD_BINARY [N]}
N=${2:-5}
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/bld-bench.XXXXXX)
LAYOUT=/tmp/bld-bench-layout-$$
cleanup() {
  buildah --root "$WORK/bh/root" --runroot "$WORK/bh/run" --storage-driver overlay rm --all >/dev/null 2>&1 || true
  umount -R "$WORK/bh/root/overlay" >/dev/null 2>&1 || true
  rm -f "$LAYOUT"
  rm -rf "$WORK"
}
trap cleanup EXIT
BH="buildah --root $WORK/bh/root --runroot $WORK/bh/run --storage-driver overlay"

"$SRC/testdata/busybox-rootfs.sh" -t "$WORK/busybox.tar"
"$BLD" --root "$WORK/store" import "$WORK/busybox.tar" busybox --change 'CMD ["sh"]' >/dev/null
ln -s "$WORK/store" "$LAYOUT"
ID=$($BH pull -q "oci:$LAYOUT:docker.io/library/busybox:latest")
$BH tag "$ID" docker.io/library/busybox:latest

mkdir -p "$WORK/small" "$WORK/runs" "$WORK/big"
printf 'hello\n' > "$WORK/small/hello.txt"
cat > "$WORK/small/Dockerfile" <<'D'
FROM busybox
WORKDIR /app
COPY hello.txt .
RUN echo built > /app/built
ENV A=b
CMD ["cat", "/app/built"]
D
{
  echo "FROM busybox"
  i=1
  while [ $i -le 30 ]; do echo "RUN echo step $i > /step$i"; i=$((i + 1)); done
} > "$WORK/runs/Dockerfile"
cat > "$WORK/big/Dockerfile" <<'D'
FROM busybox
RUN dd if=/dev/zero of=/big bs=1M count=400 2>/dev/null
D

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# time_cmd COLD(1|0) CMD...: seconds for one run; cold runs clear the cache first.
bench() {
  name=$1 ctx=$2
  for tool in bld buildah; do
    cold="" warm=""
    r=0
    while [ $r -lt "$N" ]; do
      if [ $tool = bld ]; then
        "$BLD" --root "$WORK/store" prune -a >/dev/null 2>&1 || true
        t0=$(now); "$BLD" --root "$WORK/store" build -q --no-cache -t "b-$name" "$ctx" >/dev/null; t1=$(now)
        "$BLD" --root "$WORK/store" build -q -t "b-$name" "$ctx" >/dev/null; t2=$(now)
      else
        t0=$(now); $BH build --layers --no-cache --pull=never --isolation chroot -q -t "b-$name" "$ctx" >/dev/null 2>&1; t1=$(now)
        $BH build --layers --pull=never --isolation chroot -q -t "b-$name" "$ctx" >/dev/null 2>&1; t2=$(now)
      fi
      cold="$cold $(echo "$t1 - $t0" | bc)"
      warm="$warm $(echo "$t2 - $t1" | bc)"
      r=$((r + 1))
    done
    eval "${tool}_cold=\$(echo \$cold | tr ' ' '\n' | median)"
    eval "${tool}_warm=\$(echo \$warm | tr ' ' '\n' | median)"
  done
  printf '%-14s cold: bld %6.3fs buildah %6.3fs ratio %5.2f | cached: bld %6.3fs buildah %6.3fs\n' \
    "$name" "$bld_cold" "$buildah_cold" "$(echo "$bld_cold / $buildah_cold" | bc -l)" \
    "$bld_warm" "$buildah_warm"
}

bench small "$WORK/small"

if INCLUDE=gcc,libc6-dev "$SRC/testdata/debian-rootfs.sh" -t "$WORK/debian-gcc.tar"; then
  "$BLD" --root "$WORK/store" import "$WORK/debian-gcc.tar" debian-gcc --change 'CMD ["bash"]' >/dev/null
  ID=$($BH pull -q "oci:$LAYOUT:docker.io/library/debian-gcc:latest")
  $BH tag "$ID" docker.io/library/debian-gcc:latest
  mkdir -p "$WORK/c"
  cat > "$WORK/c/hello.c" <<'C'
#include <stdio.h>
int main(void) { puts("hello from C"); return 0; }
C
  cat > "$WORK/c/Dockerfile" <<'D'
FROM debian-gcc AS build
WORKDIR /src
COPY hello.c .
RUN gcc -O2 -static -o /hello hello.c
FROM busybox
COPY --from=build /hello /usr/local/bin/hello
CMD ["hello"]
D
  bench c-two-stage "$WORK/c"
else
  echo "c-two-stage: skipped (no Debian base with gcc: see the message above)"
fi
bench 30-runs "$WORK/runs"
bench 400mb "$WORK/big"
