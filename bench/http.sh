#!/usr/bin/env bash
# bench/http.sh BUILD_DIR — calls per second and latency over HTTP.
#
# In one run, on loopback ports the kernel picks:
#   1. bench/httpbare (a libmicrohttpd handler answering a constant, with
#      the daemon flags and thread pool of weft's server): the HTTP stack's
#      own limit on this machine, for GET and for POST of 100 bytes;
#   2. `weft-node serve` on a fresh data directory (fsync'd commits) with
#      bench/callapp.wasm deployed in context "b": a view
#      (GET .../call/get, reading a 100-byte value), a durable write
#      (POST .../call/set, nx db_set of 100 bytes), a CRDT write
#      (POST .../call/crdt, a grow-only counter increment), and the durable
#      write again spread over 16 contexts b0..b15.
# Each row is wrk (bench/wrk_load.lua; BENCH_HTTP_LOAD=httpload for
# bench/httpload, a libcurl multi-API client) with BENCH_HTTP_CONNS
# (default 64) keep-alive connections for BENCH_HTTP_SECONDS (default 10)
# after a 1 s warm-up, from BENCH_HTTP_CLIENTS client threads (default 1).
# weft's rows are also given as a ratio of the bare handler's calls/s
# (views to the bare GET, writes to the bare POST), and every row gives
# the server's CPU time per request (user + system from /proc/PID/stat
# over the counted run, in µs: what the client's share of the cores does
# not blur). The node's VmRSS
# (/proc/PID/status) is read at idle after deploying, and its VmHWM (peak)
# after the load, with what it holds then split into anonymous memory and
# mapped files (LMDB's data.mdb, whose touched pages count as RSS); the commits and group sizes come from /metrics.
# Servers are always stopped (SIGTERM, then SIGKILL after 10 s).
set -euo pipefail

. "$(dirname "$0")/common.sh" http "${1:-build}"
SECS=${BENCH_HTTP_SECONDS:-10}
CONNS=${BENCH_HTTP_CONNS:-64}
CLIENTS=${BENCH_HTTP_CLIENTS:-1}
NODE=$BUILD/weft-node
LOAD=$BUILD/bench/httpload
BARE=$BUILD/bench/httpbare
APP=$BUILD/bench/callapp.wasm

need_exe "$NODE"
[ -x "$LOAD" ] && [ -x "$BARE" ] || die "$LOAD or $BARE not found (libcurl4-openssl-dev, libmicrohttpd-dev?)"
# The load generator: wrk (Debian's, with bench/wrk_load.lua) by default,
# since it spends about half of httpload's CPU per request (13 against 24
# us, bench/RESULTS.md "The load generator"), and client and server share
# this machine's cores; BENCH_HTTP_LOAD=httpload for the libcurl client.
LOADER=${BENCH_HTTP_LOAD:-wrk}
WRK_LUA=$(cd "$(dirname "$0")" && pwd)/wrk_load.lua
case $LOADER in
    wrk) command -v wrk >/dev/null || die "wrk not found (apt install wrk, or BENCH_HTTP_LOAD=httpload)" ;;
    httpload) ;;
    *) die "BENCH_HTTP_LOAD must be wrk or httpload, not '$LOADER'" ;;
esac
need_wasm "$APP"
command -v curl >/dev/null || die "curl (the command) is needed to deploy"

make_work
. "$(dirname "$0")/servers.sh"
trap 'stop_all; rm -rf "$work"' EXIT

# wait_port FILE PID: the port once FILE holds it.
wait_port() {
    for _ in $(seq 200); do
        if [ -s "$1" ]; then cat "$1"; return; fi
        kill -0 "$2" 2>/dev/null || die "the server (pid $2) exited at start"
        sleep 0.05
    done
    die "the server did not listen within 10 s"
}

rss() { awk -v k="$2:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
# cpu_ticks PID: the server's user + system time so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

# load NAME METHOD URL [HTTPLOAD_ARGS...]: one row of the table; sets $rps
# and $cpu (the server's CPU time per request, in µs, over the counted run).
load() {
    local out c0 c1
    if [ "$LOADER" = wrk ]; then
        # -n N (httpload's: URL's %u is a context number modulo N): the
        # script puts one in each request's path instead (WRK_CONTEXTS)
        local nctx=0 url=$3
        [ "${4:-}" = -n ] && nctx=$5 && url=${3//%u/CTX}
        WRK_CONTEXTS=$nctx WRK_METHOD=$2 wrk -t "$CLIENTS" -c "$CONNS" -d 1s -s "$WRK_LUA" \
            "$url" >/dev/null || die "$1: wrk failed (warm-up)"
        c0=$(cpu_ticks "$srv")
        out=$(WRK_CONTEXTS=$nctx WRK_METHOD=$2 wrk -t "$CLIENTS" -c "$CONNS" -d "${SECS}s" \
              -s "$WRK_LUA" "$url" | tail -n 1) || die "$1: wrk failed: $out"
    else
        c0=$(cpu_ticks "$srv")
        out=$("$LOAD" -c "$CONNS" -d "$SECS" -t "$CLIENTS" -X "$2" "${@:4}" "$3") ||
            die "$1: httpload failed: $out"
    fi
    c1=$(cpu_ticks "$srv")
    [[ $out == requests* ]] || die "$1: no result from $LOADER: $out"
    read -r _ n _ rps _ p50 _ p99 _ p999 _ err <<<"$out"
    cpu=$(awk -v c=$((c1 - c0)) -v t="$TCK" -v n="$n" 'BEGIN { printf "%.1f", n ? c / t * 1e6 / n : 0 }')
    printf '| %-44s | %9s | %9s | %8s | %8s | %8s |' "$1" "$n" "$rps" "$p50" "$p99" "$p999"
}
# ends a row: its ratio to the bare handler (or none) and the server's CPU per request
end_row() { printf ' %7s | %6s |\n' "$1" "$cpu"; }

echo "weft over HTTP: $CONNS keep-alive connections, ${SECS}s per row after 1s warm-up, $CLIENTS client thread(s), load from $LOADER"
echo "data in $TMP ($(df -PT "$TMP" | awk 'NR == 2 { print $2 " on " $1 }'))"
machine
echo
printf '| %-44s | %9s | %9s | %8s | %8s | %8s | %7s | %6s |\n' "row" "requests" "calls/s" "p50 ms" \
    "p99 ms" "p99.9 ms" "/ bare" "CPU µs"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' ---------------------------------------------- ----------: \
    ----------: ---------: ---------: ---------: --------: -------:

"$BARE" "$work/bare.port" & pids+=($!)
srv=${pids[0]}
port=$(wait_port "$work/bare.port" "$srv")
load "bare libmicrohttpd, GET" GET "http://127.0.0.1:$port/"; bare_get=$rps; end_row ""
load "bare libmicrohttpd, POST 100 B" POST "http://127.0.0.1:$port/"; bare_post=$rps
end_row ""
stop_all

"$NODE" serve --data-dir "$work/data" --listen 127.0.0.1:0 --port-file "$work/node.port" \
    2>"$work/node.log" & pids+=($!)
npid=${pids[0]}
srv=$npid
port=$(wait_port "$work/node.port" "$npid")
base="http://127.0.0.1:$port"
id=$(curl -sf --data-binary @"$APP" "$base/v1/apps?name=callapp" |
     sed -n 's/.*"id": *"\([0-9a-f]\{64\}\)".*/\1/p')
[ -n "$id" ] || die "deploy failed ($(cat "$work/node.log"))"
curl -sf -H 'Content-Type: application/json' -d "{\"app\": \"$id\", \"name\": \"b\"}" \
    "$base/v1/contexts" >/dev/null || die "cannot create the context"
curl -sf -X POST --data-binary x "$base/v1/contexts/b/call/set" >/dev/null || die "set failed"
curl -sf "$base/v1/contexts/b/call/get" | grep -q vvvv || die "get does not read the value back"
idle=$(rss "$npid" VmRSS)

ratio() { end_row "$(awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }')"; }
load "weft view: GET call/get (100 B out)" GET "$base/v1/contexts/b/call/get"; ratio "$rps" "$bare_get"
load "weft write: POST call/set (db_set 100 B)" POST "$base/v1/contexts/b/call/set"; ratio "$rps" "$bare_post"
load "weft CRDT write: POST call/crdt (gcounter)" POST "$base/v1/contexts/b/call/crdt"; ratio "$rps" "$bare_post"
# The same write spread over 16 contexts (connection i writes context b<i % 16>): their guests
# may run side by side on the workers (docs/node.md "Writes").
for i in $(seq 0 15); do
    curl -sf -H 'Content-Type: application/json' -d "{\"app\": \"$id\", \"name\": \"b$i\"}" \
        "$base/v1/contexts" >/dev/null || die "cannot create context b$i"
done
load "weft write, 16 contexts: POST call/set" POST "$base/v1/contexts/b%u/call/set" -n 16
ratio "$rps" "$bare_post"
peak=$(rss "$npid" VmHWM)
after=$(rss "$npid" VmRSS)
anon=$(rss "$npid" RssAnon)
file=$(rss "$npid" RssFile)
metrics=$(curl -sf "$base/metrics") || die "no /metrics"
echo
echo "node RSS: idle $idle MiB (after deploy), peak $peak MiB under load, $after MiB after it" \
     "($anon MiB anonymous, $file MiB of mapped files: the database's pages read or written)"
awk '/^weft_commits_total / { c = $2 } /^weft_commit_calls_total / { j = $2 }
     END { if (c) printf "group commit: %d durable commits for %d write jobs (%.1f per commit)\n", c, j, j / c }' <<<"$metrics"
awk '/^weft_worker_write_calls_total / { w = $2 } /^weft_stacked_write_calls_total / { s = $2 }
     END { if (w != "") printf "write calls run on the workers: %d, %d of them stacked before a commit\n", w, s }' <<<"$metrics"
