#!/usr/bin/env bash
# bench/crdtbench.sh BUILD_DIR — local CRDT ops per second through a guest.
#
# For each case (gcounter, pncounter, lww, map over 64 fields, bigmap over
# 10,000, mapget of one of 10,000 fields, set adds over 10,000 elements,
# setrm adds and removes, rga inserts each after the one before) runs
# `weft run --data-dir FRESH crdtbench.wasm CASE N` (N ops in one call,
# op-log on) in a new temporary directory under BENCH_TMPDIR (default
# $TMPDIR or /tmp) and prints ops/s twice: over the guest-measured op loop,
# and over the whole run's wall time (start-up and the durable commit
# included). N is BENCH_CRDT_N (default 1,000,000). The issue's target
# (>= 200,000 ops/s for counters and LWW) is reported, not asserted.
set -euo pipefail

. "$(dirname "$0")/common.sh" crdtbench "${1:-build}"
N=${BENCH_CRDT_N:-1000000}
WEFT=$BUILD/weft
WASM=$BUILD/bench/crdtbench.wasm

need_exe "$WEFT"
need_wasm "$WASM"

make_work

printf '%-10s %10s %14s %14s\n' type ops "ops/s (loop)" "ops/s (run)"
for type in gcounter pncounter lww map bigmap mapget set setrm rga; do
    t0=$(date +%s.%N)
    line=$("$WEFT" run --data-dir "$work/$type" "$WASM" "$type" "$N") || die "$type run failed"
    t1=$(date +%s.%N)
    ms=$(echo "$line" | awk '{print $3}')
    awk -v t="$type" -v n="$N" -v ms="$ms" -v a="$t0" -v b="$t1" 'BEGIN {
        loop = ms > 0 ? n / (ms / 1000) : 0; run = n / (b - a);
        printf "%-10s %10d %14.0f %14.0f\n", t, n, loop, run }'
done
echo "target: >= 200000 local ops/s for counters and LWW (reported, not asserted)"
