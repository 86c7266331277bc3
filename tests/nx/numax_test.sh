#!/bin/sh
# numax_test.sh SCENARIO WEFT GUEST_DIR — runs guests/numax_like.wasm (what
# Numax's example guests do, in C) through sessions of `weft run`, each with
# its NX_* settings given by --env, and checks the log lines they print.
# Numax's SDK reads node ids and RGA element ids into 64-byte buffers and
# needs them as UTF-8 text; its examples get their settings from env_get.
set -u
scenario=$1
weft=$2
g=$3

T=$(mktemp -d "${TMPDIR:-/tmp}/weft-numax.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
D=$T/data
status=0

fail() {
    echo "FAIL (numax $scenario): $*" >&2
    status=1
}

# run ARGS... — one run of the scenario with weft options ARGS (--env ...);
# its log lines without the "numax_like: " prefix in $T/log, status in $rc.
run() {
    "$weft" run --data-dir "$D" "$@" "$g/numax_like.wasm" "$scenario" >"$T/out" 2>"$T/err"
    rc=$?
    sed -n 's/^numax_like: //p' "$T/err" >"$T/log"
    if [ "$rc" != 0 ]; then
        fail "weft run $* $scenario: exit status $rc"
        sed 's/^/    /' "$T/err" >&2
    fi
}

# has LINE — the last run logged exactly LINE.
has() {
    grep -qxF -- "$1" "$T/log" || {
        fail "no line [$1] in:"
        sed 's/^/    /' "$T/log" >&2
    }
}

case $scenario in
comments)
    run
    node=$("$weft" db "$D" node-id)
    has "node_id=$node"
    has "comments:doc-1 before=[]"
    first=$(sed -n 's/^inserted id=\([^ ]*\) parent=<head> text=hello from numax$/\1/p' "$T/log")
    printf '%s\n' "$first" | grep -qxE '[a-z2-7]{64}' || fail "first id [$first] is not 64 characters a-z 2-7"
    has "comments:doc-1 after=[hello from numax]"
    has "connected_peers=0"
    run --env NX_COMMENT_TEXT=second
    second=$(sed -n 's/^inserted id=\([^ ]*\) parent=<head> text=second$/\1/p' "$T/log")
    [ -n "$second" ] && [ "$second" != "$first" ] || fail "second id [$second]"
    has "comments:doc-1 after=[second, hello from numax]"
    # an id read back from the log is a valid parent and delete target
    run --env NX_COMMENT_ACTION=insert --env "NX_COMMENT_PARENT=$second" --env "NX_COMMENT_TEXT=a reply"
    has "comments:doc-1 after=[second, a reply, hello from numax]"
    run --env NX_COMMENT_ACTION=delete --env "NX_COMMENT_ID=$second"
    has "deleted id=$second"
    has "comments:doc-1 after=[a reply, hello from numax]"
    run --env NX_COMMENT_ACTION=list
    has "comments:doc-1 after=[a reply, hello from numax]"
    # another key, and a malformed id: the SDK's "internal"
    run --env NX_COMMENT_KEY=comments:doc-2 --env NX_COMMENT_TEXT=x
    has "comments:doc-2 after=[x]"
    "$weft" run --data-dir "$D" --env NX_COMMENT_ACTION=delete --env NX_COMMENT_ID=nope \
        "$g/numax_like.wasm" comments >/dev/null 2>"$T/err"
    grep -qx 'numax_like: error: delete: -3' "$T/err" || fail "a malformed id: $(cat "$T/err")"
    ;;
settings)
    run
    has "settings:service-a before={}"
    has "field=theme contains=true"
    has "settings:service-a after={theme=dark}"
    run --env NX_SETTING_FIELD=region --env NX_SETTING_VALUE=eu
    has "settings:service-a after={region=eu, theme=dark}"
    run --env NX_SETTING_ACTION=remove --env NX_SETTING_FIELD=theme
    has "field=theme contains=false"
    has "settings:service-a after={region=eu}"
    run --env NX_SETTING_ACTION=list
    has "settings:service-a after={region=eu}"
    ;;
status)
    run
    has "status:service-a before=<unset>"
    has "status:service-a after=online"
    run --env NX_STATUS_VALUE=degraded
    has "status:service-a before=online"
    has "status:service-a after=degraded"
    # without sync the examples say so and stop (net_node_id: -5)
    "$weft" run --no-sync --data-dir "$D" "$g/numax_like.wasm" status >/dev/null 2>"$T/err" ||
        fail "--no-sync: exit status $?"
    grep -qx 'numax_like: sync disabled' "$T/err" || fail "--no-sync: $(cat "$T/err")"
    ;;
tags)
    run
    has "tags:doc-1 before=[]"
    has "tag=urgent contains=true"
    run --env NX_TAG_VALUE=blocked
    has "tags:doc-1 after=[blocked, urgent]"
    run --env NX_TAG_ACTION=remove
    has "tag=urgent contains=false"
    has "tags:doc-1 after=[blocked]"
    ;;
inventory)
    run
    has "action=restock after=10"
    run --env NX_INVENTORY_ACTION=sale
    has "action=sale after=6"
    run --env NX_INVENTORY_ACTION=return
    has "inventory:sku-1 before=6"
    has "action=return after=8"
    ;;
counter)
    run
    has "value=1"
    run
    has "value=2"
    # without sync a CRDT call is refused (-5)
    "$weft" run --no-sync --data-dir "$D" "$g/numax_like.wasm" counter >/dev/null 2>"$T/err"
    grep -qx 'numax_like: error: inc: -5' "$T/err" || fail "--no-sync: $(cat "$T/err")"
    ;;
kv)
    run --env NX_EXAMPLE=1
    for line in "exists=true" "got world" "scan count=1" "after delete=gone" \
        "time_now_plausible=true" "random=16 sha256=32 blake3=32" "env present=true"; do
        has "$line"
    done
    grep -qE '^module_id=numax_like capabilities=[0-9]+$' "$T/log" || fail "module id: $(cat "$T/log")"
    # weft's own environment does not reach the guest: only --env does
    NX_EXAMPLE=1 run
    has "env present=false"
    ;;
*)
    fail "unknown scenario"
    ;;
esac
exit $status
