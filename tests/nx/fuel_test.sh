#!/bin/sh
# fuel_test.sh MODE WEFT GUEST_DIR — fuel bounds host work (docs/nx.md,
# "Fuel"), end to end through `weft run --fuel` (CTest label `abi`).
#
# guests/fuel_hog.wasm calls one host function COUNT times in a loop whose
# instructions do not depend on the length it passes. The same budget must
#   - suffice for the loop with length 0 (the instructions and the calls'
#     base charges fit easily),
#   - run out with 1 MiB per call: exit status 3, "out of fuel", and the
#     call's writes rolled back;
# and without --fuel the 1 MiB loop must run to the end.
set -u
mode=$1
weft=$2
g=$3

T=$(mktemp -d "${TMPDIR:-/tmp}/weft-fuel.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
status=0
COUNT=100
MIB=1048576
# 100 calls of 1 MiB are about 6.5 million units of host work; the loop's
# instructions (and wasi-libc's start-up) are a few thousand.
FUEL=2000000

fail() {
    echo "FAIL (fuel $mode): $*" >&2
    status=1
}

# hog [--fuel N] LEN — runs the loop; exit status in $rc, stderr in $T/err.
hog() {
    fuel=
    if [ "$1" = --fuel ]; then
        fuel="--fuel $2"
        shift 2
    fi
    # shellcheck disable=SC2086
    "$weft" run $fuel --data-dir "$T/data" "$g/fuel_hog.wasm" "$mode" "$COUNT" "$1" \
        >/dev/null 2>"$T/err"
    rc=$?
}

expect() { # WHAT WANT_STATUS WANT_STDERR_PATTERN
    if [ "$rc" != "$2" ]; then
        fail "$1: exit status $rc, want $2"
        sed 's/^/    /' "$T/err" >&2
    elif ! grep -q -- "$3" "$T/err"; then
        fail "$1: no line matching [$3] in:"
        sed 's/^/    /' "$T/err" >&2
    fi
}

hog --fuel "$FUEL" 0
expect "length 0 within --fuel $FUEL" 0 "^done $COUNT$"
hog --fuel "$FUEL" "$MIB"
expect "1 MiB calls with --fuel $FUEL" 3 "out of fuel (OUT_OF_FUEL)"
expect "1 MiB calls with --fuel $FUEL" 3 "used up --fuel $FUEL"
if [ "$mode" = db_set ]; then
    # the trapped call's transaction is aborted: the 0-length value stays
    v=$("$weft" db "$T/data" get hog --context fuel_hog --hex)
    [ -z "$v" ] || fail "db_set: after the trap the stored value is [$(echo "$v" | head -c 40)...], want the empty one"
fi
hog "$MIB"
expect "1 MiB calls without --fuel" 0 "^done $COUNT$"

exit $status
