#!/bin/sh
# tests/examples/examples_test.sh WEFT EXAMPLES_DIR — e2e test of the
# example applications: notes (examples/notes/) and the distributed_* ones
# (examples/distributed_*/).
#
# Each example runs through a short session in its own fresh data
# directory, one `weft run` per command, so every step also checks that
# the CRDT state persisted from the run before. Stdout must match exactly;
# exit codes are checked, and refused commands must say why on stderr.
# Every run is bounded by `timeout`, so a hang fails instead of blocking.
set -u
weft=$1
examples=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
NL='
'

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# ex NAME ARGS...: runs example NAME in the current data directory $data;
# stdout in $tmp/out, stderr in $tmp/err, status in $rc.
ex() {
    name=$1
    shift
    timeout 60 "$weft" run --data-dir "$data" "$examples/$name.wasm" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

show_output() {
    sed 's/^/    out: /' "$tmp/out" | head -20
    sed 's/^/    err: /' "$tmp/err" | head -20
}

# expect CODE OUTPUT NAME ARGS...: runs the example; its status must be
# CODE and its stdout exactly OUTPUT (lines joined by newlines; "" = none).
expect() {
    code=$1
    want=$2
    shift 2
    ex "$@"
    got=$(cat "$tmp/out")
    if [ "$rc" -ne "$code" ] || [ "$got" != "$want" ]; then
        fail "$* -> status $rc (want $code), stdout differs: want [$want]"
        show_output
    fi
}

# refuse CODE MESSAGE NAME ARGS...: the command must fail with CODE, print
# nothing on stdout, and say MESSAGE (a fixed string) on stderr.
refuse() {
    code=$1
    msg=$2
    shift 2
    ex "$@"
    if [ "$rc" -ne "$code" ] || [ -s "$tmp/out" ] || ! grep -qF -- "$msg" "$tmp/err"; then
        fail "$* -> status $rc (want $code), want '$msg' on stderr"
        show_output
    fi
}

# fresh: a new, empty data directory in $data.
fresh() {
    data=$(mktemp -d "$tmp/data.XXXXXX")
}

for name in notes distributed_inventory distributed_status distributed_tags \
    distributed_settings distributed_comments; do
    if [ ! -f "$examples/$name.wasm" ]; then
        echo "FAIL: $examples/$name.wasm not built"
        exit 1
    fi
done

TAB=$(printf '\t')

# ---- notes (db_*) ----------------------------------------------------------
# Values that start with digits, or are only digits, must not change the
# ids list prints: a page holds a key and its value back to back with no
# NUL, and the id was once parsed with strtoul from the key into the value
# ("note:0000000001" + "42 is..." read as 142).
fresh
N=notes
expect 0 "1" $N add 42 is the answer
expect 0 "2" $N add 7
expect 0 "3" $N add buy milk
expect 0 "4" $N add 0000000009 zeros
expect 0 "1${TAB}42 is the answer${NL}2${TAB}7${NL}3${TAB}buy milk${NL}4${TAB}0000000009 zeros" $N list
expect 0 "" $N del 2
expect 0 "5" $N add 99
expect 0 "1${TAB}42 is the answer${NL}3${TAB}buy milk${NL}4${TAB}0000000009 zeros${NL}5${TAB}99" $N list
refuse 1 "no note 2" $N del 2
refuse 2 "not a note id" $N del 2x
# a key under note: that is not a note's is skipped, not misread
timeout 60 "$weft" db "$data" set note:x 12 --context notes || fail "weft db set note:x"
expect 0 "1${TAB}42 is the answer${NL}3${TAB}buy milk${NL}4${TAB}0000000009 zeros${NL}5${TAB}99" $N list
# more than one page (16 rows) of digit values
i=6
while [ $i -le 40 ]; do
    ex $N add $((i * 1000))
    i=$((i + 1))
done
ex $N list
got=$(tail -n 1 "$tmp/out")
[ "$got" = "40${TAB}40000" ] || fail "notes list after 40 adds: last line [$got]"
[ "$(wc -l <"$tmp/out")" -eq 39 ] || fail "notes list after 40 adds: $(wc -l <"$tmp/out") lines, want 39"

# ---- distributed_inventory (PNCounter) -----------------------------------
fresh
I=distributed_inventory
expect 0 "0" $I show sku-1
expect 0 "" $I add sku-1 10
expect 0 "10" $I show sku-1
expect 0 "" $I remove sku-1 3
expect 0 "7" $I show sku-1
expect 0 "" $I remove sku-1 9
expect 0 "-2" $I show sku-1
expect 0 "" $I add sku-2 5
expect 0 "-2" $I show sku-1
expect 0 "5" $I show sku-2
refuse 2 "not a positive count" $I add sku-1 -3
refuse 2 "not a positive count" $I remove sku-1 0
refuse 2 "not a positive count" $I add sku-1 3x
refuse 2 "usage" $I show
expect 0 "-2" $I show sku-1
# CRDTs are replicated state: with sync off every crdt_* call is refused.
timeout 60 "$weft" run --no-sync --data-dir "$data" "$examples/$I.wasm" show sku-1 \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -ne 1 ] || ! grep -qF "(-5)" "$tmp/err"; then
    fail "--no-sync $I show sku-1 -> status $rc, want 1 and (-5) on stderr"
    show_output
fi

# ---- distributed_status (LWW-Register) -----------------------------------
fresh
S=distributed_status
refuse 1 "no status for ada" $S get ada
expect 0 "" $S set ada in a meeting
expect 0 "in a meeting" $S get ada
expect 0 "" $S set ada online
expect 0 "online" $S get ada
expect 0 "" $S set bob away
expect 0 "online" $S get ada
expect 0 "away" $S get bob
refuse 2 "usage" $S set ada

# ---- distributed_tags (ORSet) --------------------------------------------
fresh
T=distributed_tags
expect 0 "" $T list item-1
expect 0 "" $T tag item-1 red
expect 0 "" $T tag item-1 blue
expect 0 "" $T tag item-1 green
expect 0 "" $T tag item-1 blue
expect 0 "blue${NL}green${NL}red" $T list item-1
expect 0 "" $T untag item-1 red
expect 0 "blue${NL}green" $T list item-1
expect 0 "" $T untag item-1 red
expect 0 "" $T tag item-1 red
expect 0 "blue${NL}green${NL}red" $T list item-1
expect 0 "" $T tag item-2 x
expect 0 "x" $T list item-2
expect 0 "blue${NL}green${NL}red" $T list item-1

# ---- distributed_settings (LWW-Map) --------------------------------------
fresh
G=distributed_settings
expect 0 "" $G show svc-a
expect 0 "" $G set svc-a theme dark
expect 0 "" $G set svc-a region eu west
expect 0 "" $G set svc-a lang en
expect 0 "lang=en${NL}region=eu west${NL}theme=dark" $G show svc-a
expect 0 "" $G set svc-a theme light
expect 0 "" $G unset svc-a lang
expect 0 "region=eu west${NL}theme=light" $G show svc-a
expect 0 "" $G unset svc-a nothing
expect 0 "" $G set svc-b lang fr
expect 0 "region=eu west${NL}theme=light" $G show svc-a
expect 0 "lang=fr" $G show svc-b
expect 0 "" $G set svc-a lang de
expect 0 "lang=de${NL}region=eu west${NL}theme=light" $G show svc-a

# ---- distributed_comments (RGA) ------------------------------------------
fresh
C=distributed_comments
# post ARGS...: like expect, but stdout must be one element id (64
# characters a-z, 2-7: docs/nx.md), left in $id.
post() {
    ex $C "$@"
    id=$(cat "$tmp/out")
    if [ "$rc" -ne 0 ] || ! printf '%s\n' "$id" | grep -qxE '[a-z2-7]{64}'; then
        fail "$C $* -> status $rc, want a 64-character id"
        show_output
    fi
}
expect 0 "" $C list doc-1
post post doc-1 first comment
first=$id
post post doc-1 second
second=$id
[ "$first" != "$second" ] || fail "$C post gave the same id twice"
post reply doc-1 "$first" reply to first
reply=$id
post post doc-1 third
# post inserts at the head: newest comment first, each followed by its
# replies (newest first too), the same order on every node.
expect 0 "third${NL}second${NL}first comment${NL}reply to first" $C list doc-1
post reply doc-1 "$first" newer reply
expect 0 "third${NL}second${NL}first comment${NL}newer reply${NL}reply to first" $C list doc-1
expect 0 "" $C delete doc-1 "$first"
expect 0 "third${NL}second${NL}newer reply${NL}reply to first" $C list doc-1
expect 0 "" $C delete doc-1 "$first"
post reply doc-1 "$first" reply to a deleted comment
expect 0 "third${NL}second${NL}reply to a deleted comment${NL}newer reply${NL}reply to first" \
    $C list doc-1
post post doc-1 fourth
expect 0 "" $C delete doc-1 "$id"
post post doc-1 fifth
expect 0 "" $C delete doc-1 "$reply"
expect 0 "fifth${NL}third${NL}second${NL}reply to a deleted comment${NL}newer reply" $C list doc-1
# The order lives in the RGA alone: no local key/value state.
got=$(timeout 60 "$weft" db "$data" scan --context $C) || fail "weft db $data scan failed"
[ -z "$got" ] || fail "$C keeps local state: [$got]"
expect 0 "" $C list doc-2
refuse 2 "not a comment id" $C delete doc-1 00
refuse 2 "not a comment id" $C reply doc-1 "${first%?}1" x
refuse 2 "not a comment id" $C delete doc-1 "$(printf '%s' "$first" | tr a-z A-Z)"
# another origin: the first character changed (a or b, whichever differs)
case $first in a*) c=b ;; *) c=a ;; esac
unknown=$c${first#?}
refuse 1 "no comment" $C delete doc-1 "$unknown"
refuse 1 "not in doc-1" $C reply doc-1 "$unknown" x
refuse 1 "not in doc-2" $C reply doc-2 "$first" x
expect 0 "" $C list doc-2

if [ "$failures" -ne 0 ]; then
    echo "examples_test: $failures failure(s)"
    exit 1
fi
echo "examples_test: all passed"
