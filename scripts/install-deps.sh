#!/bin/sh
# Installs the Debian packages weft needs to build, test and benchmark.
# Idempotent: only packages that are missing are installed, so a machine that
# already has everything runs no apt command at all. Needs root (or sudo) only
# when something is missing.
set -eu

PACKAGES="
  make cmake gcc
  clang lld wasi-libc libclang-rt-14-dev-wasm32
  wabt
  libjansson-dev
  libsodium-dev
  liblmdb-dev
  libmicrohttpd-dev libcurl4-openssl-dev
  libuv1-dev iptables
  libhiredis-dev redis-server
  python3
  chromium chromium-driver
"

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-deps: need root to install:$missing" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
