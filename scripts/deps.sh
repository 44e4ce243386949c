#!/bin/sh
# Installs (with apt-get, as root) the Debian 12 packages bld needs to build and
# test, skipping what is already there.
set -eu

PACKAGES="
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libarchive-dev libssl-dev libcurl4-openssl-dev libzstd-dev zlib1g-dev libisal-dev
  nlohmann-json3-dev libre2-dev libcli11-dev libseccomp-dev libgtest-dev libgmock-dev
  libbenchmark-dev
  busybox-static skopeo umoci buildah docker-registry oci-image-tool debootstrap
  uidmap apache2-utils openssl iproute2 python3 hyperfine ca-certificates time tmux
"

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "deps.sh: missing packages:$missing" >&2
  echo "deps.sh: run as root, or: sudo apt-get install$missing" >&2
  exit 1
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
