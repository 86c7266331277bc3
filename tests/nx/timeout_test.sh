#!/bin/sh
# timeout_test.sh MODE WEFT GUEST_DIR — a guest blocked in a host call
# still ends with --timeout (or Ctrl-C): the INTERRUPTED trap, the timeout
# note and exit status 3 (issue 9, "timeouts that do not time out").
#
#   stdin   read(0) on a pipe whose writer stays idle
#   fifo    open of a FIFO in a preopen, which no one opens for writing
#   lock    a write transaction waiting for the data directory's write
#           lock, held by another `weft run` sleeping in its call
#   hash    one nx hash_blake3 over 256 MiB, interrupted while it hashes
#   sigint  SIGINT to a run blocked in read(0), without --timeout
#
# A run that ignored the interrupt would wait for its safety net (`timeout
# 30`, exit 124) or, for the hash, print "hashed" after the call: no test
# here measures time. The guests are guests/blocked.c and blocked_nx.c.
set -u
mode=$1
weft=$2
g=$3

T=$(mktemp -d "${TMPDIR:-/tmp}/weft-timeout.XXXXXX") || exit 1
pids=
cleanup() {
    for p in $pids; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
status=0

fail() {
    echo "FAIL (timeout $mode): $*" >&2
    status=1
}

# expect WHAT: exit status 3 and the interrupted trap in $T/err, with the
# --timeout note unless a second argument gives another note.
expect() {
    note=${2:-"the run took longer than --timeout"}
    if [ "$rc" != 3 ]; then
        fail "$1: exit status $rc, want 3 (124: the safety net killed it)"
        sed 's/^/    /' "$T/err" >&2
    elif ! grep -q "trap: interrupted (INTERRUPTED)" "$T/err" || ! grep -q -- "$note" "$T/err"; then
        fail "$1: no INTERRUPTED trap with [$note] in:"
        sed 's/^/    /' "$T/err" >&2
    fi
}

# wait_for FILE TEXT: until FILE holds TEXT (at most ~30 s).
wait_for() {
    i=0
    while ! grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 300 ] && return 1
        sleep 0.1
    done
}

case $mode in
stdin)
    # The issue's reproducer, `sleep 30 | weft run --timeout 1s x.wasm`,
    # with a FIFO whose writer we kill afterwards.
    mkfifo "$T/pipe"
    sleep 60 >"$T/pipe" &
    pids="$pids $!"
    timeout 30 "$weft" run --timeout 1s "$g/blocked.wasm" read <"$T/pipe" 2>"$T/err"
    rc=$?
    expect "read(0) of an idle pipe"
    if grep -q returned "$T/err"; then fail "the read returned to the guest"; fi
    ;;
fifo)
    mkdir "$T/d"
    mkfifo "$T/d/fifo"
    timeout 30 "$weft" run --timeout 1s --dir "$T/d::/d" "$g/blocked.wasm" open /d/fifo 2>"$T/err"
    rc=$?
    expect "open of a FIFO with no writer"
    if grep -q returned "$T/err"; then fail "the open returned to the guest"; fi
    ;;
lock)
    # The holder creates the directory (and its node id), writes, says so,
    # then sleeps inside its call: its write transaction stays open.
    "$weft" run --data-dir "$T/data" "$g/blocked_nx.wasm" hold >"$T/hold" 2>"$T/hold_err" &
    holder=$!
    pids="$pids $holder"
    if ! wait_for "$T/hold" holding; then
        fail "the holder never started"
        cat "$T/hold_err" >&2
    else
        timeout 30 "$weft" run --timeout 1s --data-dir "$T/data" "$g/blocked_nx.wasm" hold \
            >"$T/out" 2>"$T/err"
        rc=$?
        expect "a writer waiting for the write lock"
        grep -q "write lock" "$T/err" || fail "the message does not name the write lock"
        if grep -q holding "$T/out"; then fail "the second writer ran its call"; fi
        kill -0 "$holder" 2>/dev/null || fail "the holder ended first: nothing was shown"
    fi
    kill -9 "$holder" 2>/dev/null
    wait "$holder" 2>/dev/null
    # the directory is still usable, and the killed holder's write is gone
    timeout 30 "$weft" db "$T/data" node-id >"$T/scan" 2>&1 ||
        fail "weft db on the directory after the holder was killed: $(cat "$T/scan")"
    timeout 30 "$weft" db "$T/data" scan --context blocked_nx >"$T/scan" 2>&1
    if grep -q held "$T/scan"; then fail "the killed holder's write was kept"; fi
    ;;
hash)
    # Ever longer timeouts until one fires after the guest has started
    # hashing ("hashing" printed; one that fires before stops the guest
    # earlier): that one must stop the hash itself. Hashing 256 MiB takes
    # longer than the start-up before it (growing the memory to 256 MiB),
    # so the first timeout past the start-up, at most twice the one before,
    # still fires inside the hash.
    done_=0
    for t in 100ms 200ms 400ms 800ms 1600ms 3200ms 6400ms; do
        timeout 60 "$weft" run --timeout "$t" --data-dir "$T/data" "$g/blocked_nx.wasm" hash 256 \
            >/dev/null 2>"$T/err"
        rc=$?
        grep -q hashing "$T/err" || continue
        done_=1
        if [ "$rc" = 0 ]; then
            fail "--timeout $t: the hash finished before the deadline (machine too fast?)"
        else
            expect "one long hash_blake3 (--timeout $t)"
            if grep -q hashed "$T/err"; then fail "--timeout $t: the hash ran to its end"; fi
        fi
        break
    done
    [ $done_ = 1 ] || fail "no run reached the hash: $(cat "$T/err")"
    ;;
sigint)
    # A background job of a script ignores SIGINT, which weft respects:
    # env restores the default before weft installs its handler.
    mkfifo "$T/pipe"
    sleep 60 >"$T/pipe" &
    pids="$pids $!"
    env --default-signal=INT "$weft" run "$g/blocked.wasm" read <"$T/pipe" 2>"$T/err" &
    w=$!
    pids="$pids $w"
    if wait_for "$T/err" blocking; then
        sleep 0.5 # into the read
        kill -INT "$w"
        i=0
        while kill -0 "$w" 2>/dev/null && [ $i -lt 300 ]; do
            i=$((i + 1))
            sleep 0.1
        done
    fi
    kill -9 "$w" 2>/dev/null
    wait "$w"
    rc=$?
    expect "Ctrl-C during read(0)" "interrupted by Ctrl-C"
    if grep -q returned "$T/err"; then fail "the read returned to the guest"; fi
    ;;
*)
    echo "timeout_test.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac
exit $status
