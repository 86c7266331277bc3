#!/bin/sh
# damage_test.sh WEFT EXAMPLES_DIR [FLIPS] — a damaged data directory never
# crashes weft (issue 9, item 7).
#
# Makes a real data directory with `weft run` of examples/notes (notes, one
# of 4000 bytes, so there are overflow pages) and examples/distributed_settings
# (CRDT state and op-log), then damages fresh copies of it: data.mdb cut to
# 8 KiB, to half its size, to 0 bytes, removed, and FLIPS (default 120)
# single-bit flips at positions spread evenly over the file (deterministic).
# On each copy it runs `weft db DIR scan`, `verify`, `node-id` and `weft run
# ... notes list`, and fails when any of them died from a signal (exit
# status >= 128: SIGBUS 135, SIGSEGV 139, an LMDB assertion's abort 134).
# The truncated, empty and missing cases must also be reported as damaged
# with exit status 1 by every command. The flips only print how many were
# detected: a flipped bit inside a value's bytes is undetectable (LMDB keeps
# no checksums), so no count is asserted. DAMAGE_VERBOSE=1 prints each
# case's first "damaged" line.
set -u
weft=$1
ex=$2
flips=${3:-120}

T=$(mktemp -d "${TMPDIR:-/tmp}/weft-damage.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
status=0
fail() {
    echo "FAIL: $*" >&2
    status=1
}

# The original directory.
D=$T/orig
notes="$weft run --data-dir $D $ex/notes.wasm"
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
    $notes add "note $i: some words to fill a page with keys and values" >/dev/null || fail "add $i"
done
$notes add "$(head -c 4000 /dev/zero | tr '\0' x)" >/dev/null || fail "add a long note"
settings="$weft run --data-dir $D $ex/distributed_settings.wasm"
$settings set svc-a theme dark || fail "settings set"
$settings set svc-a region "eu west" || fail "settings set"
"$weft" db "$D" verify >"$T/verify.out" 2>&1 || {
    fail "verify of the undamaged directory"
    cat "$T/verify.out" >&2
}
size=$(wc -c <"$D/data.mdb")

# check NAME EXPECT — runs the four commands on $T/c; EXPECT "damaged"
# requires exit status 1 and a "damaged" message from each.
checked=0
detected=0
check() {
    c=$T/c
    n=0
    seen=0
    for cmd in scan verify node-id run; do
        case $cmd in
        scan) "$weft" db "$c" scan --context notes >"$T/out" 2>"$T/err" ;;
        verify) "$weft" db "$c" verify >"$T/out" 2>"$T/err" ;;
        node-id) "$weft" db "$c" node-id >"$T/out" 2>"$T/err" ;;
        run) "$weft" run --data-dir "$c" "$ex/notes.wasm" list >"$T/out" 2>"$T/err" ;;
        esac
        rc=$?
        if [ "$rc" -ge 128 ]; then
            fail "$1: weft $cmd died from a signal (exit status $rc)"
            sed 's/^/    /' "$T/err" >&2
        fi
        if grep -q "is damaged\|^damaged:" "$T/out" "$T/err"; then
            seen=1
            if [ "$cmd" = verify ] && [ "$rc" -ne 1 ]; then
                fail "$1: verify reported damage with exit status $rc"
            fi
        elif [ "$cmd" = verify ] && [ "$rc" -eq 1 ]; then
            fail "$1: verify exited 1 without saying what is damaged"
            sed 's/^/    /' "$T/out" "$T/err" >&2
        fi
        if [ "$2" = damaged ] && { [ "$rc" -ne 1 ] || ! grep -q "is damaged" "$T/out" "$T/err"; }; then
            fail "$1: weft $cmd: exit status $rc, want 1 and 'data directory ... is damaged'"
            sed 's/^/    /' "$T/err" >&2
        fi
    done
    [ -n "${DAMAGE_VERBOSE:-}" ] && echo "$1: $(cat "$T/out" "$T/err" | grep -m1 damaged)"
    checked=$((checked + 1))
    detected=$((detected + seen))
}

fresh() {
    rm -rf "$T/c"
    cp -r "$D" "$T/c"
}

fresh
truncate -s 8192 "$T/c/data.mdb"
check "data.mdb cut to 8 KiB" damaged
fresh
truncate -s $((size / 2)) "$T/c/data.mdb"
check "data.mdb cut to half ($((size / 2)) of $size bytes)" damaged
fresh
: >"$T/c/data.mdb"
check "data.mdb emptied" damaged
[ "$(wc -c <"$T/c/data.mdb")" -eq 0 ] || fail "an empty data.mdb was made into a new database"
fresh
rm "$T/c/data.mdb"
check "data.mdb removed" damaged
[ -e "$T/c/data.mdb" ] && fail "a removed data.mdb was made anew"

# Single-bit flips: flip i touches byte i * size / flips + (i * 131) % 97,
# bit i % 8, so every page of the file gets some, headers and data alike.
i=0
while [ "$i" -lt "$flips" ]; do
    byte=$(((i * size / flips + (i * 131) % 97) % size))
    bit=$((i % 8))
    fresh
    old=$(od -An -tu1 -j "$byte" -N1 "$T/c/data.mdb" | tr -d ' ')
    new=$((old ^ (1 << bit)))
    printf "\\$(printf %o "$new")" | dd of="$T/c/data.mdb" bs=1 seek="$byte" conv=notrunc 2>/dev/null
    check "bit $bit of byte $byte flipped" any
    i=$((i + 1))
done
echo "$checked damaged copies, $detected reported as damaged by at least one command"
[ "$status" -eq 0 ] && echo "ok: no command died from a signal"
exit "$status"
