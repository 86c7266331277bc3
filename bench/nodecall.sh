#!/usr/bin/env bash
# bench/nodecall.sh BUILD_DIR — calls through the node layer, no HTTP
# (bench/nodecall.c: BENCH_SECONDS per row, default 2; BENCH_THREADS,
# default 16; BENCH_ONLY=TEXT for the rows whose label holds TEXT), in a
# fresh directory under BENCH_TMPDIR (default $TMPDIR or /tmp). The
# Calimero and Cosmictron rows use tests/node's kept_cal.wasm and
# kept_cosm.wasm when they were built.
set -euo pipefail

. "$(dirname "$0")/common.sh" nodecall "${1:-build}"
PROG=$BUILD/bench/nodecall
APP=$BUILD/bench/callapp.wasm
need_exe "$PROG"
need_wasm "$APP" "$BUILD/bench/callapp64k.wasm"

guests=$BUILD/tests/node/guests
[ -f "$guests/kept_cal.wasm" ] && export BENCH_CALIMERO=${BENCH_CALIMERO:-$guests/kept_cal.wasm}
[ -f "$guests/kept_cosm.wasm" ] && export BENCH_COSMICTRON=${BENCH_COSMICTRON:-$guests/kept_cosm.wasm}
make_work
echo "weft node calls: ${BENCH_SECONDS:-2}s per row; data in $TMP ($(df -PT "$TMP" | awk 'NR == 2 { print $2 " on " $1 }'))"
machine
echo
"$PROG" "$APP" "$work" "$BUILD/bench/callapp64k.wasm"
