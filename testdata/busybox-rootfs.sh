#!/bin/sh
# Makes a busybox root filesystem from Debian's busybox-static, offline.
#   testdata/busybox-rootfs.sh DIR        -> the tree in DIR
#   testdata/busybox-rootfs.sh -t FILE    -> the tree as a tar in FILE ("-" for stdout)
# Owners are root, timestamps fixed (SOURCE_DATE_EPOCH or 2024-01-01) so the tar is reproducible.
set -eu

BUSYBOX=${BUSYBOX:-/bin/busybox}
if [ ! -x "$BUSYBOX" ]; then
  echo "busybox-rootfs.sh: $BUSYBOX not found; install it with: apt-get install busybox-static" >&2
  exit 1
fi
if ! "$BUSYBOX" --list >/dev/null 2>&1; then
  echo "busybox-rootfs.sh: $BUSYBOX does not list its applets (need busybox-static)" >&2
  exit 1
fi

make_tree() {
  root=$1
  mkdir -p "$root"
  for d in bin sbin usr/bin usr/sbin etc root tmp var/tmp home proc sys dev; do
    mkdir -p "$root/$d"
  done
  chmod 1777 "$root/tmp" "$root/var/tmp"
  chmod 700 "$root/root"
  cp "$BUSYBOX" "$root/bin/busybox"
  chmod 755 "$root/bin/busybox"
  for applet in $("$BUSYBOX" --list-full); do
    [ "$applet" = bin/busybox ] && continue
    case "$applet" in
      bin/*) target=busybox ;;
      sbin/*) target=../bin/busybox ;;
      usr/bin/*|usr/sbin/*) target=../../bin/busybox ;;
      *) continue ;;
    esac
    [ -e "$root/$applet" ] || ln -s "$target" "$root/$applet"
  done
  cat > "$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
P
  cat > "$root/etc/group" <<'G'
root:x:0:
daemon:x:1:
bin:x:2:
wheel:x:10:root
nogroup:x:65534:
G
  printf '%s\n' "hosts: files dns" > "$root/etc/nsswitch.conf"
}

if [ "${1:-}" = "-t" ]; then
  out=${2:?usage: busybox-rootfs.sh -t FILE}
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  make_tree "$tmp/rootfs"
  epoch=${SOURCE_DATE_EPOCH:-1704067200}
  tar --sort=name --numeric-owner --owner=0 --group=0 --mtime="@$epoch" \
      -C "$tmp/rootfs" -cf "$out" .
else
  make_tree "${1:?usage: busybox-rootfs.sh DIR | -t FILE}"
fi
