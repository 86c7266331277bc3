#!/usr/bin/env bash
# bench/calls.sh BUILD_DIR — durable weft calls per second.
#
# (a) whole calls: BENCH_CALLS_N (default 200) separate processes of
#     `weft run --data-dir DIR store_call.wasm`, each one nx db_set of 100
#     bytes and one fsync'd commit, timed by bench/spawn (fork to reap, so
#     process start, module loading, opening the data dir and the commit are
#     all included); beside it `weft run hello.wasm` (no nx, no data dir) for
#     the cost of start-up alone.
# (b) the store layer: store_bench (tests/store/store_bench.c) for BENCH_STORE_SECONDS each
#     (default 2): one durable commit per call, then batches of 10 and 100
#     calls per durable commit (nested transactions), then no fsync.
# Everything runs in a new directory under BENCH_TMPDIR (default $TMPDIR or
# /tmp): fsync cost is the whole story, so the file system is printed.
set -euo pipefail

. "$(dirname "$0")/common.sh" calls "${1:-build}"
N=${BENCH_CALLS_N:-200}
SECONDS_EACH=${BENCH_STORE_SECONDS:-2}
WEFT=$BUILD/weft
SPAWN=$BUILD/bench/spawn
CALL=$BUILD/bench/store_call.wasm
HELLO=$BUILD/bench/hello.wasm
STORE_BENCH=$BUILD/store_bench
[ -x "$STORE_BENCH" ] || STORE_BENCH=$BUILD/tests/store/store_bench

need_exe "$WEFT" "$SPAWN"
need_wasm "$CALL" "$HELLO"

make_work

echo "weft durable calls: $N processes per row; store_bench ${SECONDS_EACH}s per row"
echo "data in $TMP ($(df -PT "$TMP" | awk 'NR == 2 { print $2 " on " $1 }'))"
machine
echo

# Warm the page cache and create the data dir, so every timed call finds it.
"$WEFT" run --data-dir "$work/data" "$CALL" >/dev/null
read -r call_med call_min _ _ < <("$SPAWN" "$N" "$WEFT" run --data-dir "$work/data" "$CALL") ||
    die "a store_call run failed"
read -r hello_med hello_min _ _ < <("$SPAWN" "$N" "$WEFT" run "$HELLO") || die "a hello run failed"
[ -n "${call_med:-}" ] && [ -n "${hello_med:-}" ] || die "spawn printed nothing"
"$WEFT" db "$work/data" get --context store_call k >/dev/null || die "the value was not committed"

printf '| %-44s | %9s | %9s | %9s |\n' "whole process per call ($N runs)" "median ms" "min ms" "calls/s"
printf '|%s|%s|%s|%s|\n' ---------------------------------------------- ----------: ----------: ----------:
awk -v cm="$call_med" -v cn="$call_min" -v hm="$hello_med" -v hn="$hello_min" 'BEGIN {
    printf "| %-44s | %9.2f | %9.2f | %9.0f |\n", "weft run --data-dir D store_call.wasm", cm / 1000, cn / 1000, 1e6 / cm
    printf "| %-44s | %9.2f | %9.2f | %9.0f |\n", "weft run hello.wasm (no nx, no commit)", hm / 1000, hn / 1000, 1e6 / hm
    printf "| %-44s | %9.2f | %9.2f | %9s |\n", "durable call above start-up", (cm - hm) / 1000, (cn - hn) / 1000, ""
}'
echo

if [ -x "$STORE_BENCH" ]; then
    echo "store layer ($STORE_BENCH DIR $SECONDS_EACH), one caller, 100-byte values:"
    echo
    "$STORE_BENCH" "$work/store" "$SECONDS_EACH"
else
    echo "$STORE_BENCH not built: store-level numbers skipped"
fi
