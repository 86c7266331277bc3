#!/usr/bin/env bash
# bench/faasm.sh BUILD_DIR — the Faasm ABI (docs/faasm.md) through `weft serve`.
#
# The guests are the Faasm test guests the build makes
# (tests/faasm/guests/faasm_chain.c, faasm_kv.c), whose benchmark modes do
# the timing inside the call, so HTTP is not in the numbers:
#   1. chained call round trip: faasm_chain "rt N", N chain_ptr + await of a
#      no-op one after the other (BENCH_FAASM_RT, default 2000), µs a call;
#   2. fan-out: faasm_chain "fantime 100", 100 children (300,000 steps of
#      an LCG each, a few ms) chained at once and awaited: the wall time
#      against the sum of the children's own wall times (their ratio is the
#      speed-up; with more workers than cores the children's times stretch,
#      so the ratio overstates the real gain there);
#   rows 1 and 2 on a node with each worker count of BENCH_FAASM_WORKERS
#   (default "1 2 4");
#   3. state: faasm_kv "tput N" (BENCH_FAASM_N, default 20000): N write +
#      read of a 64-byte value in the local tier, then N push + pull of it
#      to the global tier, embedded (the node's own);
#   4. the same through Redis (`--state-redis`, BENCH_FAASM_REDIS_N, default
#      2000) when redis-server is installed: one is started on a free
#      loopback port, without persistence, and stopped at the end.
# Every call is a view (GET .../call/_start?input=...), as Faasm calls
# should be. Servers are always stopped (SIGTERM, then SIGKILL after 10 s).
set -euo pipefail

. "$(dirname "$0")/common.sh" faasm "${1:-build}"
RT=${BENCH_FAASM_RT:-2000}
N=${BENCH_FAASM_N:-20000}
RN=${BENCH_FAASM_REDIS_N:-2000}
WORKERS=${BENCH_FAASM_WORKERS:-"1 2 4"}
WEFT=$BUILD/weft
CHAIN=$BUILD/tests/faasm/guests/faasm_chain.wasm
KV=$BUILD/tests/faasm/guests/faasm_kv.wasm

need_exe "$WEFT"
need_wasm "$CHAIN" "$KV"
command -v curl >/dev/null || die "curl (the command) is needed"

make_work
. "$(dirname "$0")/servers.sh"
trap 'stop_all; rm -rf "$work"' EXIT

# serve NAME ARGS...: starts a node on a fresh data directory; sets $base.
serve() {
    local name=$1 port
    shift
    "$WEFT" serve --no-sync --data-dir "$work/$name" --listen 127.0.0.1:0 \
        --port-file "$work/$name.port" "$@" 2>"$work/$name.log" & pids+=($!)
    for _ in $(seq 200); do
        [ -s "$work/$name.port" ] && break
        kill -0 "$!" 2>/dev/null || die "$name: the node exited at start ($(cat "$work/$name.log"))"
        sleep 0.05
    done
    port=$(cat "$work/$name.port" 2>/dev/null) || die "$name: the node did not listen within 10 s"
    base="http://127.0.0.1:$port"
}

# deploy WASM NAME CTX: the app, and a context CTX of it.
deploy() {
    local id
    id=$(curl -sf --data-binary @"$1" "$base/v1/apps?name=$2" |
         sed -n 's/.*"id": *"\([0-9a-f]\{64\}\)".*/\1/p')
    [ -n "$id" ] || die "deploy of $1 failed"
    curl -sf -H 'Content-Type: application/json' -d "{\"app\": \"$id\", \"name\": \"$3\"}" \
        "$base/v1/contexts" >/dev/null || die "cannot create context $3"
}

# call CTX INPUT: prints the call's output (a view of _start).
call() {
    local doc
    doc=$(curl -s -G --data-urlencode "input=$2" "$base/v1/contexts/$1/call/_start") ||
        die "call '$2' failed"
    sed -n 's/.*"output": *"\([^"]*\)".*/\1/p' <<<"$doc" | grep . || die "call '$2': $doc"
}

echo "weft Faasm ABI: chained calls and state through \`weft serve\` (views)"
machine
echo
for w in $WORKERS; do
    serve "chain$w" --workers "$w"
    deploy "$CHAIN" faasm_chain c
    call c "rt 20" >/dev/null # warm-up: the module compiled, the pool started
    echo "workers $w: round trip, $RT chain + await of a no-op: $(call c "rt $RT")"
    echo "workers $w: fan-out of 100 children: $(call c "fantime 100")"
    stop_all
done

serve kv
deploy "$KV" faasm_kv s
call s "tput 100" >/dev/null
echo "state, $N x 64 B, embedded global tier: $(call s "tput $N")"
stop_all

if ! command -v redis-server >/dev/null; then
    echo "state through Redis: skipped (redis-server is not installed;" \
         "scripts/install-deps.sh installs it)"
    exit 0
fi
rport=
for _ in $(seq 50); do # a free loopback port: one nobody answers on
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then rport=$p; break; fi
done
[ -n "$rport" ] || die "no free port for redis-server"
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
    >"$work/redis.log" 2>&1 & pids+=($!)
for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$rport") 2>/dev/null && break
    kill -0 "${pids[0]}" 2>/dev/null || die "redis-server exited at start ($(cat "$work/redis.log"))"
    sleep 0.05
done
serve redis --state-redis "redis://127.0.0.1:$rport"
deploy "$KV" faasm_kv s
call s "tput 100" >/dev/null
echo "state, $RN x 64 B, global tier on Redis: $(call s "tput $RN")"
