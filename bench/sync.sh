#!/usr/bin/env bash
# bench/sync.sh BUILD_DIR — replication between three real nodes in one
# process on loopback (bench/syncbench.c: propagation idle and under load,
# replicated ops/s, wire bytes per op, catch-up after a partition), in a
# fresh directory under BENCH_TMPDIR (default $TMPDIR or /tmp). The knobs
# (BENCH_SECONDS, BENCH_THREADS, BENCH_K, BENCH_PROBES, BENCH_MISSED,
# BENCH_NOSYNC) are described at the top of syncbench.c.
set -euo pipefail

BUILD=${1:-build}
TMP=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
PROG=$BUILD/bench/syncbench
APP=$BUILD/bench/callapp.wasm
die() { echo "sync: $*" >&2; exit 1; }
[ -x "$PROG" ] && [ -f "$APP" ] || die "$PROG or $APP not found: build first (make)"

work=$(mktemp -d "$TMP/weft-syncbench-XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "weft sync between 3 nodes: data in $TMP ($(df -PT "$TMP" | awk 'NR == 2 { print $2 " on " $1 }'))"
echo "machine: $(uname -m), $(nproc) cores; $(uname -sr); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$PROG" "$APP" "$work"
