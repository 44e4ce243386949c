#!/bin/sh
# Builds bld and runs it on an example: a busybox image made offline from
# Debian's busybox-static is imported and run, examples/hello is built on it
# and run, and the images are listed, inspected and saved.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBLD_TESTS=OFF -DBLD_BENCH=OFF >/dev/null
ninja -C build bld
BLD="$PWD/build/cli/bld"
"$BLD" version

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export BLD_ROOT="$work/store"
set -x
testdata/busybox-rootfs.sh -t "$work/busybox.tar"
"$BLD" import "$work/busybox.tar" busybox --change 'CMD ["sh"]'
"$BLD" run --rm busybox sh -c 'echo "hello from busybox in $(hostname)"'
"$BLD" build -t hello examples/hello && "$BLD" run --rm hello
"$BLD" images
"$BLD" inspect hello
"$BLD" save -o "$work/hello-oci.tar" hello
"$BLD" save --format docker-archive -o "$work/hello-docker.tar" hello
ls -l "$work"/*.tar
