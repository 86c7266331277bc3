#!/usr/bin/env bash
# bench/nodecall.sh BUILD_DIR — calls through the node layer, no HTTP
# (bench/nodecall.c: BENCH_SECONDS per row, default 2; BENCH_THREADS,
# default 16; BENCH_ONLY=TEXT for the rows whose label holds TEXT), in a
# fresh directory under BENCH_TMPDIR (default $TMPDIR or /tmp).
set -euo pipefail

BUILD=${1:-build}
TMP=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
PROG=$BUILD/bench/nodecall
APP=$BUILD/bench/callapp.wasm
die() { echo "nodecall: $*" >&2; exit 1; }
[ -x "$PROG" ] && [ -f "$APP" ] && [ -f "$BUILD/bench/callapp64k.wasm" ] || die "$PROG or $APP not found: build first (make)"

work=$(mktemp -d "$TMP/weft-nodecall-XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "weft node calls: ${BENCH_SECONDS:-2}s per row; data in $TMP ($(df -PT "$TMP" | awk 'NR == 2 { print $2 " on " $1 }'))"
echo "machine: $(uname -m), $(nproc) cores; $(uname -sr); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$PROG" "$APP" "$work" "$BUILD/bench/callapp64k.wasm"
