#!/bin/sh
# Makes a minimal Debian (bookworm, minbase) root filesystem tar with debootstrap from
# Debian's mirror, cached so that only the first run pays the minute of debootstrap:
#   testdata/debian-rootfs.sh -t FILE     -> the rootfs as a tar in FILE
# The cache is /var/cache/bld-test/debian-bookworm-minbase.tar (BLD_TEST_CACHE overrides
# the directory; MIRROR the mirror). INCLUDE=pkg,pkg adds packages (a separate cached tar,
# e.g. INCLUDE=gcc,libc6-dev for the C build benchmark). Exit status 3 means the mirror cannot be reached:
# tests skip on that, with this script's message as the reason.
set -eu

SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
CACHE_DIR=${BLD_TEST_CACHE:-/var/cache/bld-test}
INCLUDE=${INCLUDE:-}
if [ -n "$INCLUDE" ]; then
  CACHE="$CACHE_DIR/debian-$SUITE-minbase+$(echo "$INCLUDE" | tr ',' '+').tar"
else
  CACHE="$CACHE_DIR/debian-$SUITE-minbase.tar"
fi

if [ "${1:-}" != "-t" ] || [ -z "${2:-}" ]; then
  echo "usage: $0 -t FILE" >&2
  exit 2
fi
OUT=$2

if [ ! -s "$CACHE" ]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "debian-rootfs.sh: debootstrap is not installed (apt-get install debootstrap)" >&2
    exit 3
  fi
  mkdir -p "$CACHE_DIR"
  WORK=$(mktemp -d "$CACHE_DIR/.debootstrap.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  if ! debootstrap --variant=minbase ${INCLUDE:+--include="$INCLUDE"} "$SUITE" "$WORK/root" "$MIRROR" >"$WORK/log" 2>&1; then
    if grep -qiE "could not resolve|failed to fetch|unable to fetch|couldn't download|connection" "$WORK/log"; then
      echo "debian-rootfs.sh: cannot reach $MIRROR:" >&2
      tail -3 "$WORK/log" >&2
      exit 3
    fi
    echo "debian-rootfs.sh: debootstrap failed:" >&2
    tail -20 "$WORK/log" >&2
    exit 1
  fi
  # Offline-ish: no apt lists or caches, fixed timestamps, so the tar is stable.
  rm -rf "$WORK/root/var/cache/apt/archives/"*.deb "$WORK/root/var/lib/apt/lists/"* \
    "$WORK/root/var/log/"* "$WORK/root/proc/"* "$WORK/root/sys/"* "$WORK/root/dev/"* 2>/dev/null || true
  tar -C "$WORK/root" --numeric-owner --sort=name \
    --mtime="@${SOURCE_DATE_EPOCH:-1704067200}" -cf "$WORK/rootfs.tar" .
  mv "$WORK/rootfs.tar" "$CACHE"
fi
if [ "$OUT" = "-" ]; then
  cat "$CACHE"
else
  cp "$CACHE" "$OUT"
fi
