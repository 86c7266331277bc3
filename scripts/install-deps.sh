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
  libmicrohttpd-dev libcurl4-openssl-dev wrk
  libuv1-dev iptables
  libnats-dev nats-server python3-cryptography openssl
  libhiredis-dev redis-server
  python3
  chromium chromium-driver
  nodejs
"

# jco (npm @bytecodealliance/jco, pinned) builds the component tests' inputs
# (tests/component, docs/components.md); installed under WEFT_JCO_DIR, outside
# the repository (never committed), where the build looks for it. Where npm
# or its registry is unreachable this only warns: those tests then skip.
JCO_VERSION=1.35.0
install_jco() {
    dir=${WEFT_JCO_DIR:-$HOME/.cache/weft/npm}
    if grep -q "\"version\": \"$JCO_VERSION\"" \
        "$dir/node_modules/@bytecodealliance/jco/package.json" 2>/dev/null; then
        return 0
    fi
    if ! command -v npm >/dev/null 2>&1; then
        echo "install-deps: no npm: jco not installed, component tests will skip" >&2
        return 0
    fi
    mkdir -p "$dir"
    echo "install-deps: npm install @bytecodealliance/jco@$JCO_VERSION into $dir"
    npm install --prefix "$dir" --no-audit --no-fund --silent \
        "@bytecodealliance/jco@$JCO_VERSION" ||
        echo "install-deps: npm install of jco failed: component tests will skip" >&2
}

missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# Debian's npm, unless node came with its own (NodeSource's nodejs has npm
# and conflicts with Debian's npm package)
if ! command -v npm >/dev/null 2>&1; then
    missing="$missing npm"
fi

if [ -z "$missing" ]; then
    install_jco
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
install_jco
