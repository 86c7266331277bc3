#!/usr/bin/env bash
# bench/sync.sh BUILD_DIR — replication between three real nodes in one
# process on loopback (bench/syncbench.c: propagation idle and under load,
# replicated ops/s, wire bytes per op, catch-up after a partition), in a
# fresh directory under BENCH_TMPDIR (default $TMPDIR or /tmp). The knobs
# (BENCH_SECONDS, BENCH_THREADS, BENCH_K, BENCH_PROBES, BENCH_MISSED,
# BENCH_NOSYNC, BENCH_NODES, BENCH_NATS) are described at the top of
# syncbench.c. BENCH_NATS=start: through a nats-server -js this script starts
# on a free loopback port with a store in the run's directory (and stops).
set -euo pipefail

. "$(dirname "$0")/common.sh" sync "${1:-build}"
PROG=$BUILD/bench/syncbench
APP=$BUILD/bench/callapp.wasm
need_exe "$PROG"
need_wasm "$APP"

make_work
nats_pid=
trap '[ -z "$nats_pid" ] || kill "$nats_pid"; rm -rf "$work"' EXIT
if [ "${BENCH_NATS:-}" = start ]; then
    server=$(command -v nats-server || echo /usr/sbin/nats-server)
    [ -x "$server" ] || die "nats-server not found (Debian package nats-server)"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir "$work/nats"
    "$server" -a 127.0.0.1 -p "$port" -js -sd "$work/nats" >"$work/nats.log" 2>&1 &
    nats_pid=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    export BENCH_NATS=nats://127.0.0.1:$port
fi
echo "weft sync between ${BENCH_NODES:-3} nodes${BENCH_NATS:+ through $BENCH_NATS}: data in $TMP ($(df -PT "$TMP" | awk 'NR == 2 { print $2 " on " $1 }'))"
machine
echo
"$PROG" "$APP" "$work"
