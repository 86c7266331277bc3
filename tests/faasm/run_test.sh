#!/usr/bin/env bash
# tests/faasm/run_test.sh WEFT CHAIN_WASM — `weft run` of a Faasm function
# (docs/faasm.md "weft run"): its input is stdin read whole
# (__faasm_read_input's, and the guest's stdin), its output what
# __faasm_write_output gave (else what it printed) on stdout, main's return
# value the exit status; chained calls run on the calling thread. The guest
# is tests/faasm/guests/faasm_chain.c, whose input names its case.
set -u
WEFT=$1
WASM=$2
fails=0
check() { # check WHAT GOT WANT
    if [ "$2" == "$3" ]; then echo "ok: $1"; else echo "FAIL: $1: got [$2], want [$3]"; fails=$((fails + 1)); fi
}

out=$(printf 'hi' | "$WEFT" run "$WASM" 2>/dev/null); rc=$?
check "the input reaches the function, its output is printed" "$out" "hello"
check "exit status 0" "$rc" "0"

out=$(printf 'ptr' | "$WEFT" run "$WASM" 2>/dev/null)
check "a chained call by pointer gets its input and gives its output" "$out" \
      "rc=0 out=child:x ctors=1 main_ctors=1"

out=$(printf 'print' | "$WEFT" run "$WASM" 2>/dev/null)
check "what a function printed is its output when it wrote none" "$out" \
      "$(printf 'awaited 0\nawaited 0\nawaited 0')"

err=$(printf 'ptr' | "$WEFT" run "$WASM" 2>&1 >/dev/null)
case $err in
*"faasm: chained call 1 is call "*) echo "ok: the chain's log line is on stderr" ;;
*) echo "FAIL: no chain log line on stderr: [$err]"; fails=$((fails + 1)) ;;
esac

out=$(printf 'no such case' | "$WEFT" run "$WASM" 2>/dev/null); rc=$?
check "main's return value is the exit status" "$rc" "2"
check "no output for it" "$out" ""

out=$("$WEFT" run "$WASM" </dev/null 2>/dev/null); rc=$?
check "an empty stdin is an empty input" "$rc" "2"

[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
echo "all passed"
