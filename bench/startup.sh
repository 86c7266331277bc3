#!/usr/bin/env bash
# bench/startup.sh BUILD_DIR — start-up time and memory of `weft run hello.wasm`.
#
# Starts the native hello world and `weft run hello.wasm` (bench/hello.c)
# BENCH_STARTUP_RUNS times each (default 50), alternating in rounds of 10
# so both see the same machine load, through BUILD_DIR/bench/spawn (fork,
# exec, wait4). Prints a Markdown table of the median and minimum wall time
# and the median peak RSS of the whole process (ru_maxrss: shared libraries
# included), and weft's cost over native. The issue's targets (start-up
# <= 4 ms, RSS <= 2 MiB) are reported, not asserted.
set -euo pipefail

BUILD=${1:-build}
RUNS=${BENCH_STARTUP_RUNS:-50}
WEFT=$BUILD/weft
SPAWN=$BUILD/bench/spawn
HELLO_WASM=$BUILD/bench/hello.wasm
HELLO_NATIVE=$BUILD/bench/hello-native

die() { echo "startup: $*" >&2; exit 1; }
for f in "$WEFT" "$SPAWN" "$HELLO_NATIVE"; do [ -x "$f" ] || die "$f not found: build first (make)"; done
[ -f "$HELLO_WASM" ] || die "$HELLO_WASM not found (is clang with wasi-libc installed?)"
case $RUNS in '' | *[!0-9]* | 0) die "BENCH_STARTUP_RUNS must be a positive integer" ;; esac

# Warm the page cache and check both work.
[ "$("$WEFT" run "$HELLO_WASM")" = "$("$HELLO_NATIVE")" ] || die "weft and native hello differ"

# measure NAME CMD...: appends "us rss" samples (one per run) to $tmp/NAME.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
round=10
measure() {
    local name=$1 n=$2
    shift 2
    for ((i = 0; i < n; i++)); do
        "$SPAWN" 1 "$@" | awk '{ print $1, $3 }' >>"$tmp/$name"
    done
}
left=$RUNS
while [ "$left" -gt 0 ]; do
    n=$((left < round ? left : round))
    measure native "$n" "$HELLO_NATIVE"
    measure weft "$n" "$WEFT" run "$HELLO_WASM"
    left=$((left - n))
done

# stats NAME: "median_ms min_ms median_rss_mib"
stats() {
    local med min rss
    med=$(sort -n -k1,1 "$tmp/$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
    min=$(sort -n -k1,1 "$tmp/$1" | head -1 | awk '{ print $1 }')
    rss=$(sort -n -k2,2 "$tmp/$1" | awk '{ a[NR] = $2 } END { print a[int((NR + 1) / 2)] }')
    awk -v m="$med" -v n="$min" -v r="$rss" 'BEGIN { printf "%.2f %.2f %.2f", m / 1000, n / 1000, r / 1024 }'
}
read -r n_med n_min n_rss <<<"$(stats native)"
read -r w_med w_min w_rss <<<"$(stats weft)"

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || true)
echo "weft start-up: $RUNS runs each of bench/hello.c, native and wasm32-wasi"
echo "machine: $(uname -m), $(nproc) cores, ${cpu:-unknown cpu}; $(uname -sr); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "weft: $("$WEFT" --version), $(file -b "$WEFT" 2>/dev/null | grep -o 'static-pie linked\|dynamically linked' || echo 'linking unknown'); hello.wasm $(wc -c <"$HELLO_WASM") bytes"
echo
printf '| %-24s | %10s | %8s | %13s |\n' program "median ms" "min ms" "peak RSS MiB"
printf '|%s|%s|%s|%s|\n' -------------------------- -----------: ---------: --------------:
printf '| %-24s | %10s | %8s | %13s |\n' "native hello" "$n_med" "$n_min" "$n_rss"
printf '| %-24s | %10s | %8s | %13s |\n' "weft run hello.wasm" "$w_med" "$w_min" "$w_rss"
awk -v wm="$w_med" -v nm="$n_med" -v wr="$w_rss" -v nr="$n_rss" 'BEGIN {
    printf "| %-24s | %10.2f | %8s | %13.2f |\n", "weft - native", wm - nm, "", wr - nr
    printf "\ntargets: start-up <= 4 ms: %s (median %.2f ms); RSS <= 2 MiB: %s (%.2f MiB)\n",
        (wm <= 4 ? "met" : "NOT met"), wm, (wr <= 2 ? "met" : "NOT met"), wr
}'
