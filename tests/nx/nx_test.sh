#!/bin/sh
# nx_test.sh CASE WEFT GUEST_DIR — one end-to-end case of the nx ABI (CTest
# label `abi`): runs guests/nx_abi.wasm (or run_export.wasm) through
# `weft run --data-dir` in a fresh temporary data directory and checks exit
# status, stdout (--events), stderr (logs, traps) and what the next run sees.
set -u
case_name=$1
weft=$2
g=$3

T=$(mktemp -d "${TMPDIR:-/tmp}/weft-nx.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
D=$T/data
status=0

fail() {
    echo "FAIL ($case_name): $*" >&2
    status=1
}

expect_eq() {
    if [ "$2" != "$3" ]; then
        fail "$1: got [$2], want [$3]"
    fi
}

expect_grep() { # WHAT FILE PATTERN
    if ! grep -q -- "$3" "$2"; then
        fail "$1: no line matching [$3] in:"
        sed 's/^/    /' "$2" >&2
    fi
}

# nx ARGS... — runs nx_abi.wasm with ARGS (and the weft run options in
# $opts), stdout in $T/out, stderr in $T/err, exit status in $rc.
opts=
nx() {
    "$weft" run $opts --data-dir "$D" "$g/nx_abi.wasm" "$@" >"$T/out" 2>"$T/err"
    rc=$?
}

show_err() {
    if [ "$rc" != 0 ] && [ -s "$T/err" ]; then sed 's/^/  stderr: /' "$T/err" >&2; fi
}

case $case_name in
db)
    nx db
    show_err
    expect_eq "exit status" "$rc" 0
    ;;
pages)
    "$weft" db "$D" set "__nx/planted" secret --context nx_abi || fail "weft db set"
    nx pages
    show_err
    expect_eq "exit status" "$rc" 0
    expect_eq "reserved key kept" "$("$weft" db "$D" get "__nx/planted" --context nx_abi)" secret
    ;;
pages_churn)
    nx pages_churn
    show_err
    expect_eq "exit status" "$rc" 0
    ;;
misc)
    # env_get sees --env (the guest's one environment), never weft's own
    opts="--env NX_TEST_VAR=hello --env NUMAX_X=1 --env nx_lower=no --env SECRET=no"
    NX_UNSET_VAR=weft-only nx misc
    show_err
    expect_eq "exit status" "$rc" 0
    expect_grep "log" "$T/err" "^nx_abi: log line one$"
    expect_grep "legacy log" "$T/err" "^nx_abi: legacy line$"
    # the 8 KiB message whole, the 8 KiB + 1 one cut to 8 KiB
    n=$(grep -c "^nx_abi: <L*>$" "$T/err")
    expect_eq "8 KiB log lines kept whole or cut at the limit" "$n" 2
    expect_eq "cut line has no byte past the limit" "$(grep -c '>!' "$T/err")" 0
    len=$(grep "^nx_abi: <" "$T/err" | head -n 1 | wc -c)
    expect_eq "log line length" "$len" $((8 + 8192 + 1))
    ;;
persist)
    nx put greeting hello
    expect_eq "put" "$rc" 0
    nx get greeting
    expect_eq "second run sees it" "$(cat "$T/out")" hello
    expect_eq "weft db get" "$("$weft" db "$D" get greeting --context nx_abi)" hello
    # another context does not see it
    "$weft" run --data-dir "$D" --context other "$g/nx_abi.wasm" get greeting >"$T/out" 2>&1
    expect_eq "other context" "$(cat "$T/out")" "(none -1)"
    "$weft" db "$D" set fromcli 42 --context nx_abi || fail "weft db set"
    nx get fromcli
    expect_eq "guest sees weft db set" "$(cat "$T/out")" 42
    "$weft" db "$D" del fromcli --context nx_abi
    nx get fromcli
    expect_eq "after weft db del" "$(cat "$T/out")" "(none -1)"
    expect_eq "scan" "$("$weft" db "$D" scan --context nx_abi | tr '\t\n' ':;')" "greeting:hello;"
    expect_eq "scan --hex" "$("$weft" db "$D" scan 6772 --hex --context nx_abi)" \
        "$(printf '6772656574696e67\t68656c6c6f')"
    "$weft" db "$D" get nothing --context nx_abi 2>/dev/null
    expect_eq "weft db get absent" "$?" 1
    WEFT_DATA_DIR=$T/envdir "$weft" run "$g/nx_abi.wasm" put a b >/dev/null 2>&1
    expect_eq "WEFT_DATA_DIR used" "$("$weft" db "$T/envdir" get a --context nx_abi)" b
    env -u WEFT_DATA_DIR XDG_DATA_HOME=$T/xdg "$weft" run "$g/nx_abi.wasm" put c d >/dev/null 2>&1
    expect_eq "XDG_DATA_HOME used" "$("$weft" db "$T/xdg/weft" get c --context nx_abi)" d
    ;;
rollback)
    nx put_trap
    expect_eq "trap exit status" "$rc" 3
    expect_grep "trap message" "$T/err" "trap"
    nx put_abort
    expect_eq "abort exit status" "$rc" 3
    expect_grep "abort message" "$T/err" "nx.abort: boom: giving up"
    nx get doomed
    expect_eq "writes of trapped calls are gone" "$(cat "$T/out")" "(none -1)"
    nx put_exit 7
    expect_eq "exit status" "$rc" 7
    nx get exited
    expect_eq "proc_exit(7) rolls back" "$(cat "$T/out")" "(none -1)"
    nx put_exit 0
    expect_eq "exit status" "$rc" 0
    nx get exited
    expect_eq "proc_exit(0) commits" "$(cat "$T/out")" "0"
    ;;
events)
    "$weft" run --events --data-dir "$D" "$g/nx_abi.wasm" events >"$T/out" 2>"$T/err"
    rc=$?
    show_err
    expect_eq "exit status" "$rc" 0
    # with sync on (the default) each event carries the node id first
    node=$("$weft" db "$D" node-id)
    expect_eq "events" "$(cat "$T/out")" \
        "$(printf '%s\n%s' "{\"node\":\"$node\",\"event\":\"note.added\",\"payload\":\"hello \\\"world\\\"\"}" \
            "{\"node\":\"$node\",\"event\":\"bin\",\"payload_hex\":\"ff0001\"}")"
    expect_grep "log" "$T/err" "^nx_abi: emitted two events$"
    "$weft" run --events --data-dir "$D" "$g/nx_abi.wasm" events_trap >"$T/out" 2>"$T/err"
    expect_eq "no events after a trap" "$(cat "$T/out")" ""
    expect_grep "logs of a trapped call still print" "$T/err" "^nx_abi: about to trap$"
    ;;
bad_pointers)
    for c in bad_key_ptr bad_out_ptr bad_scan_ptr bad_log_ptr; do
        nx $c
        expect_eq "$c exit status" "$rc" 3
        expect_grep "$c message" "$T/err" "outside linear memory"
    done
    ;;
map_growth)
    # 100 MiB in one call outgrows the store's first map (64 MiB): the store
    # aborts the call, grows, and weft runs it once more from scratch.
    nx fill 100
    show_err
    expect_eq "exit status" "$rc" 0
    expect_eq "the retried call's logs only" "$(grep -c '^nx_abi: fill starts$' "$T/err")" 1
    expect_eq "last value" "$("$weft" db "$D" get 66696c6c30303939 --hex --context nx_abi | cut -c1-8)" 63636363
    ;;
identity)
    # sync is on by default: the node id is the data directory's ed25519
    # public key, the same on every run, another for another directory
    nx net on
    show_err
    expect_eq "exit status" "$rc" 0
    id1=$(cat "$T/out")
    expect_eq "node id is 32 bytes of hex" "$(printf %s "$id1" | grep -c '^[0-9a-f]\{64\}$')" 1
    expect_eq "net_node_id is the text weft db node-id prints" "$id1" "$("$weft" db "$D" node-id)"
    nx net on
    show_err
    expect_eq "same data dir, same node id" "$(cat "$T/out")" "$id1"
    "$weft" run --data-dir "$T/other" "$g/nx_abi.wasm" net on >"$T/out" 2>"$T/err"
    rc=$?
    show_err
    expect_eq "exit status (other dir)" "$rc" 0
    id2=$(cat "$T/out")
    if [ -z "$id2" ] || [ "$id2" = "$id1" ]; then fail "other data dir: node id [$id2] vs [$id1]"; fi
    # --no-sync: net_* return ERR_SYNC_DISABLED, and the identity is kept
    "$weft" run --no-sync --data-dir "$D" "$g/nx_abi.wasm" net off >"$T/out" 2>"$T/err"
    rc=$?
    show_err
    expect_eq "--no-sync exit status" "$rc" 0
    "$weft" run --no-sync --data-dir "$T/fresh" "$g/nx_abi.wasm" net off >"$T/out" 2>"$T/err"
    rc=$?
    show_err
    expect_eq "--no-sync on a fresh dir" "$rc" 0
    nx net on
    expect_eq "node id after --no-sync runs" "$(cat "$T/out")" "$id1"
    "$weft" run --help | grep -q -- "--no-sync" || fail "--no-sync missing from weft run --help"
    ;;
crdt)
    nx crdt
    show_err
    expect_eq "exit status" "$rc" 0
    ;;
crdt_off)
    "$weft" run --no-sync --data-dir "$D" "$g/nx_abi.wasm" crdt_off >"$T/out" 2>"$T/err"
    rc=$?
    show_err
    expect_eq "exit status" "$rc" 0
    ;;
crdt_persist)
    # a counter incremented in two runs reads 2; a run that traps after its
    # increment (and an LWW set) leaves nothing behind
    nx ginc visits
    show_err
    expect_eq "run 1" "$(cat "$T/out")" 1
    nx ginc visits
    show_err
    expect_eq "run 2" "$(cat "$T/out")" 2
    nx ginc_trap visits
    expect_eq "trap exit status" "$rc" 3
    nx ginc visits
    expect_eq "after the trapped run" "$(cat "$T/out")" 3
    "$weft" run --data-dir "$D" --context other "$g/nx_abi.wasm" ginc visits >"$T/out" 2>&1
    expect_eq "another context has its own counter" "$(cat "$T/out")" 1
    nx bad_crdt_ptr
    expect_eq "bad pointer exit status" "$rc" 3
    expect_grep "bad pointer message" "$T/err" "nx.crdt_rga_values: guest range"
    ;;
env)
    # --env is the one environment of a guest, for WASI and nx env_get: a
    # variable of weft's own environment reaches neither unless --env
    # names it
    export NX_PROCESS_ONLY=leak NX_PASSED=fromweft
    nx env none
    show_err
    expect_eq "no --env: exit status" "$rc" 0
    opts="--env NX_GIVEN=yes --env PLAIN=wasi-only --env NX_PASSED"
    nx env given
    show_err
    expect_eq "--env: exit status" "$rc" 0
    ;;
sdk)
    # every helper of sdk/nx.h from a guest
    opts="--env NX_SDK=ok"
    "$weft" run $opts --events --data-dir "$D" "$g/nx_abi.wasm" sdk >"$T/out" 2>"$T/err"
    rc=$?
    show_err
    expect_eq "exit status" "$rc" 0
    expect_grep "event" "$T/out" '"event":"sdk.done","payload":"yes"'
    ;;
run_export)
    for i in 1 2; do
        "$weft" run --data-dir "$D" "$g/run_export.wasm" >"$T/out" 2>"$T/err"
        rc=$?
        show_err
        expect_eq "exit status" "$rc" 0
        expect_grep "log" "$T/err" "^run_export: run number $i$"
    done
    ;;
*)
    fail "unknown case"
    ;;
esac
exit $status
