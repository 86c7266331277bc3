#!/bin/sh
# fault_test.sh WEFT GUEST_DIR — a write the disk refuses loses nothing
# (CTest label `e2e`).
#
# The fault is injected with a file-size limit (ulimit -f, SIGXFSZ
# ignored): LMDB's writes past it fail, so the call's durable commit fails.
# Then weft must exit 1 with a message naming the failed commit (no signal,
# no crash), the data directory must open, every value committed before
# must read back unchanged, none of the failed call's writes may show, and
# the next call must work (key/value and CRDT state).
set -u
weft=$1
g=$2

T=$(mktemp -d "${TMPDIR:-/tmp}/weft-fault.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
status=0
D=$T/data

fail() {
    echo "FAIL (fault): $*" >&2
    status=1
}

# hog MODE COUNT LEN [LIMIT] — one call of guests/fuel_hog.wasm, under a
# file-size limit when LIMIT is given; exit status in $rc.
hog() {
    if [ $# -eq 4 ]; then
        # 1200 blocks: 600 KiB for dash (512-byte blocks), 1.2 MiB for bash;
        # either is past the 40 KiB store and short of the 3 MiB written.
        (trap '' XFSZ; ulimit -f "$4" && exec "$weft" run --data-dir "$D" "$g/fuel_hog.wasm" "$1" "$2" "$3") \
            >"$T/out" 2>"$T/err"
    else
        "$weft" run --data-dir "$D" "$g/fuel_hog.wasm" "$1" "$2" "$3" >"$T/out" 2>"$T/err"
    fi
    rc=$?
}

# The hex length of the stored value of "hog" (0 when absent).
stored_len() {
    v=$("$weft" db "$D" get 686f67 --context fuel_hog --hex 2>/dev/null) || v=  # "hog"
    printf %s "$v" | wc -c | tr -d ' '
}

hog db_set 1 100
[ "$rc" = 0 ] || fail "first call: exit status $rc"
hog crdt_set 1 100
[ "$rc" = 0 ] || fail "first CRDT call: exit status $rc"
[ "$(stored_len)" = 200 ] || fail "committed value: hex length $(stored_len), want 200"

hog db_set 3 1000000 1200
if [ "$rc" != 1 ]; then
    fail "write past the file-size limit: exit status $rc, want 1"
    sed 's/^/    /' "$T/err" >&2
fi
grep -q "cannot commit" "$T/err" || fail "no 'cannot commit' message: $(cat "$T/err")"
[ "$(stored_len)" = 200 ] || fail "after the failed commit: hex length $(stored_len), want the old 200"

hog crdt_set 3 1000000 1200
[ "$rc" = 1 ] || fail "CRDT write past the limit: exit status $rc, want 1"

# the directory works on: a new call commits, CRDT ops included
hog db_set 2 5000
[ "$rc" = 0 ] || fail "call after the faults: exit status $rc ($(cat "$T/err"))"
[ "$(stored_len)" = 10000 ] || fail "value after the faults: hex length $(stored_len), want 10000"
hog crdt_load 2 100
[ "$rc" = 0 ] || fail "CRDT call after the faults: exit status $rc ($(cat "$T/err"))"
"$weft" db "$D" scan --context fuel_hog >/dev/null || fail "scan after the faults"

exit $status
