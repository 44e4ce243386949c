#!/bin/sh
# Registry benchmark: push and pull of a ~450 MB single-layer image (a
# debootstrap'd Debian) to/from Debian's docker-registry on 127.0.0.1, bld vs
# `skopeo copy` of the same image in the same run, plus a no-op re-push.
#
#   bench/registry_bench.sh [BLD_BINARY]
#
# Environment: BENCH_ROOTFS_TAR  a root filesystem tar to use instead of
#                                debootstrap (cached in /var/tmp otherwise)
#              BENCH_KEEP=1      keep the work directory
# Targets: bld at least as fast as skopeo on push and pull; no-op re-push < 100 ms.
set -eu

BLD=${1:-${BLD:-$(dirname "$0")/../build/cli/bld}}
BLD=$(realpath "$BLD")
CACHE_TAR=/var/tmp/bld-bench-debian-rootfs.tar
for p in docker-registry skopeo python3; do
  command -v "$p" >/dev/null || { echo "registry_bench: needs $p" >&2; exit 1; }
done

WORK=$(mktemp -d /var/tmp/bld-registry-bench.XXXXXX)
REG_PID=
cleanup() {
  [ -n "$REG_PID" ] && kill "$REG_PID" 2>/dev/null && wait "$REG_PID" 2>/dev/null || true
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

now_ms() { date +%s%3N; }
# timed NAME CMD...: runs CMD, records its wall time in ms as $NAME_ms.
timed() {
  name=$1; shift
  t0=$(now_ms)
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || { echo "$name failed:" >&2; cat "$WORK/$name.err" >&2; exit 1; }
  t1=$(now_ms)
  eval "${name}_ms=$((t1 - t0))"
}

# The root filesystem.
if [ -n "${BENCH_ROOTFS_TAR:-}" ]; then
  TAR=$BENCH_ROOTFS_TAR
elif [ -s "$CACHE_TAR" ]; then
  TAR=$CACHE_TAR
else
  command -v debootstrap >/dev/null || { echo "registry_bench: needs debootstrap or BENCH_ROOTFS_TAR" >&2; exit 1; }
  echo "debootstrap bookworm (once; cached in $CACHE_TAR)..." >&2
  debootstrap --variant=minbase --include=python3,perl,libicu72,locales bookworm "$WORK/rootfs" \
    >"$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
  tar -C "$WORK/rootfs" --numeric-owner -cf "$CACHE_TAR.tmp" .
  mv "$CACHE_TAR.tmp" "$CACHE_TAR"
  rm -rf "$WORK/rootfs"
  TAR=$CACHE_TAR
fi
echo "rootfs tar: $TAR ($(du -m "$TAR" | cut -f1) MB)" >&2

# The registry.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REG=127.0.0.1:$PORT
cat >"$WORK/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/registry
http:
  addr: $REG
YML
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT),1)" 2>/dev/null && break
  sleep 0.1
done

export REGISTRY_AUTH_FILE=$WORK/auth.json DOCKER_CONFIG=$WORK/docker
SRC=$WORK/src
"$BLD" --root "$SRC" import "$TAR" bench/debian:latest >/dev/null
NAME=docker.io/bench/debian:latest
SIZE_MB=$(du -m "$SRC/blobs" | tail -1 | cut -f1)
echo "image: $SIZE_MB MB compressed in the store" >&2
sync

# Push: each tool to its own repository (no mounts, nothing already there).
timed bld_push "$BLD" --root "$SRC" push bench/debian:latest "$REG/bench/bld:latest"
timed skopeo_push skopeo copy -q --dest-tls-verify=false "oci:$SRC:$NAME" "docker://$REG/bench/skopeo:latest"
# No-op re-push: best of 5.
noop_ms=999999
for _ in 1 2 3 4 5; do
  timed noop "$BLD" --root "$SRC" push bench/debian:latest "$REG/bench/bld:latest"
  [ "$noop_ms" -lt "${best_noop:-999999}" ] && best_noop=$noop_ms
done
# Pull: into fresh stores, the same repository.
timed bld_pull "$BLD" --root "$WORK/pull-bld" pull "$REG/bench/bld:latest"
timed skopeo_pull skopeo copy -q --src-tls-verify=false "docker://$REG/bench/bld:latest" "oci:$WORK/pull-skopeo:img"

printf '\nregistry benchmark (%s MB single-layer image, docker-registry on %s)\n' "$SIZE_MB" "$REG"
printf '%-22s %10s %10s\n' "" "bld (ms)" "skopeo (ms)"
printf '%-22s %10s %10s\n' "push" "$bld_push_ms" "$skopeo_push_ms"
printf '%-22s %10s %10s\n' "pull" "$bld_pull_ms" "$skopeo_pull_ms"
printf '%-22s %10s %10s\n' "no-op re-push (best)" "$best_noop" "-"
status=0
[ "$bld_push_ms" -le "$skopeo_push_ms" ] || { echo "push: bld slower than skopeo" >&2; status=1; }
[ "$bld_pull_ms" -le "$skopeo_pull_ms" ] || { echo "pull: bld slower than skopeo" >&2; status=1; }
[ "$best_noop" -lt 100 ] || { echo "no-op re-push not under 100 ms" >&2; status=1; }
exit $status
