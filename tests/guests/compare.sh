#!/bin/sh
# tests/guests/compare.sh WEFT NATIVE WASM [ARGS...] — native vs weft, same output.
#
# Runs the native build and `weft run --dir . WASM ARGS` each in its own
# fresh empty directory (so file tests start clean and cannot see each
# other) and fails unless stdout and exit status are identical. A status
# past 128 that differs hints at a signal: reported as such.
set -u
weft=$1
native=$2
wasm=$3
shift 3
name=$(basename "$wasm" .wasm)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/native" "$tmp/weft"

(cd "$tmp/native" && exec "$native" "$@") >"$tmp/native.out" 2>"$tmp/native.err"
native_rc=$?
(cd "$tmp/weft" && exec "$weft" run --dir . "$wasm" "$@") >"$tmp/weft.out" 2>"$tmp/weft.err"
weft_rc=$?

fail=0
if [ "$weft_rc" -ne "$native_rc" ]; then
    echo "FAIL $name $*: exit status: native $native_rc, weft $weft_rc"
    [ "$weft_rc" -gt 128 ] && echo "(weft may have been killed by signal $((weft_rc - 128)))"
    fail=1
fi
if ! cmp -s "$tmp/native.out" "$tmp/weft.out"; then
    echo "FAIL $name $*: stdout differs (< native, > weft):"
    diff "$tmp/native.out" "$tmp/weft.out" | head -40
    fail=1
fi
if [ "$fail" -ne 0 ]; then
    if [ -s "$tmp/weft.err" ]; then
        echo "weft's stderr:"
        head -40 "$tmp/weft.err"
    fi
    exit 1
fi
echo "ok $name $*: $(wc -l <"$tmp/native.out") identical lines, exit status $native_rc"
