#!/bin/sh
# `weft run` of WASI preview 1 test programs (tests/wasi/guests) made preview 2
# command components with jco's adapter (jco new --wasi-command): each must
# give the same output and exit status as the preview 1 module under weft run.
# Exit statuses: preview 2 0.2's exit takes result<_, _>, so the adapter maps
# every nonzero proc_exit code to status 1 (docs/components.md).
#   p2_run_test.sh CASE WEFT COMPONENTS-DIR WASI-GUESTS-DIR
# Exits 77 (skipped) when the components were not built (no jco).
set -u
case_=$1
weft=$2
cdir=$3
gdir=$4
comp=$cdir/p2_$case_.wasm
if [ ! -f "$comp" ]; then
    echo "SKIP: $comp was not built (jco not installed: run scripts/install-deps.sh)"
    exit 77
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
export WEFT_DATA_DIR="$T/data"
fail=0

check() { # check WHAT GOT WANT
    if [ "$2" != "$3" ]; then
        echo "FAIL: $1: got '$2', want '$3'"
        fail=1
    fi
}

# compare WANT-P2-STATUS ARGS...: the module and the component run the same
# way ($opts, ARGS); outputs must match, the component's status is
# WANT-P2-STATUS or, when empty, the module's
compare() {
    want_p2=$1
    shift
    # shellcheck disable=SC2086
    "$weft" run $opts "$gdir/$case_.wasm" "$@" < /dev/null > "$T/p1.out" 2> "$T/p1.err"
    p1=$?
    cp "$comp" "$T/$case_.wasm" # the same file name: the same argv[0]
    # shellcheck disable=SC2086
    "$weft" run $opts "$T/$case_.wasm" "$@" < /dev/null > "$T/p2.out" 2> "$T/p2.err"
    p2=$?
    check "output" "$(cat "$T/p2.out")" "$(cat "$T/p1.out")"
    check "exit status (preview 1 gave $p1)" "$p2" "${want_p2:-$p1}"
    if [ -s "$T/p2.err" ]; then sed 's/^/  component stderr: /' "$T/p2.err"; fi
}

opts=""
case $case_ in
hello)
    compare ""
    check "hello output" "$(cat "$T/p2.out")" "hello, wasi"
    ;;
args_env)
    opts="--env WEFT_GREETING=hi --env EMPTY= --env SPACED=a_b=c"
    compare "" one 'two words' '' 'ü'
    ;;
exit)
    compare "" 0
    compare 1 7
    compare 1 7 raw
    ;;
*)
    echo "unknown case $case_"
    exit 2
    ;;
esac
[ $fail = 0 ] && echo "p2_run_test $case_: ok"
exit $fail
