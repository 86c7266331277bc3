#!/bin/sh
# crash_test.sh WEFT COUNTER_WASM [ROUNDS] [PAD] — kill -9 through real calls.
#
# Each round starts `weft run --data-dir D COUNTER_WASM PAD` (crash_counter.c:
# get the counter, write PAD filler values, set counter + 1, exit 0) and
# SIGKILLs it after a random delay of 0 to 1.5x the time of a first,
# unkilled run (about 4 ms with PAD 2000 in a release build, more under
# sanitizers), so kills land before, inside and after the call's
# transaction. A run
# that exited 0 was acknowledged; one that died of SIGKILL may or may not
# have committed. After every round `weft db D get` must open the data dir
# and show acknowledged <= counter <= acknowledged + killed runs. At the end
# one unkilled run must add exactly 1. Fails too if no round was killed or
# none acknowledged (the test would prove nothing). Bounded: ROUNDS (default
# 200) x (a run + a kill + a db get), about 10 s.
set -u
weft=$1
guest=$2
rounds=${3:-200}
pad=${4:-2000}

T=$(mktemp -d "${TMPDIR:-/tmp}/weft-crash.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
D=$T/data
ctx=crash_counter

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# counter: prints the committed counter (0 when absent); fails the test if
# the data dir does not open.
counter() {
    if v=$("$weft" db "$D" get --context "$ctx" counter 2>"$T/err"); then
        echo "$v"
    elif grep -q "not found" "$T/err"; then
        echo 0
    else
        fail "weft db get failed: $(cat "$T/err")"
    fi
}

# Calibration: one unkilled run (acknowledged) sets the kill window.
t0=$(date +%s%N)
"$weft" run --data-dir "$D" "$guest" "$pad" >"$T/out" 2>"$T/run.err" ||
    fail "the first run failed: $(cat "$T/run.err")"
t1=$(date +%s%N)
window_us=$(((t1 - t0) / 1000 * 3 / 2))
ack=1
killed=0
i=0
while [ "$i" -lt "$rounds" ]; do
    us=$(od -An -N4 -tu4 /dev/urandom | awk -v w="$window_us" '{ printf "%.6f", ($1 % (w + 1)) / 1e6 }')
    "$weft" run --data-dir "$D" "$guest" "$pad" >"$T/out" 2>"$T/run.err" &
    pid=$!
    sleep "$us"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null # dash reports "Killed" on stderr
    rc=$?
    case $rc in
    0) ack=$((ack + 1)) ;;
    137) killed=$((killed + 1)) ;;
    *) fail "round $i: weft exited $rc: $(cat "$T/run.err")" ;;
    esac
    v=$(counter) || exit 1
    if [ "$v" -lt "$ack" ] || [ "$v" -gt $((ack + killed)) ]; then
        fail "round $i: counter $v, acknowledged $ack, killed $killed"
    fi
    i=$((i + 1))
done

before=$(counter) || exit 1
"$weft" run --data-dir "$D" "$guest" "$pad" >"$T/out" 2>"$T/run.err" ||
    fail "the run after the kills failed: $(cat "$T/run.err")"
after=$(counter) || exit 1
[ "$after" -eq $((before + 1)) ] || fail "an unkilled run took the counter from $before to $after"

echo "$rounds rounds, kill window ${window_us} us: $ack acknowledged, $killed killed, counter $before" \
     "($((before - ack)) killed runs had committed)"
[ "$killed" -gt 0 ] || fail "no run was killed: the test proved nothing"
[ "$ack" -gt 0 ] || fail "no run finished: the test proved nothing"
echo ok
