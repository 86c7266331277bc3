#!/bin/sh
# src/cli/cli_test.sh WEFT [FIB_WASM] — e2e test of the `weft` command line.
#
# Checks exit codes (0 ok, 1 module error, 2 usage, 3 trap), messages and
# printed results. Tiny modules are written byte by byte so the test needs no
# toolchain; the cases that call functions use the example build/examples/
# fib.wasm and are skipped (with a notice) when it was not built.
set -u
weft=$1
fib=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect CODE PATTERN CMD... : runs CMD, checks its exit code and that its
# stdout+stderr contains PATTERN (a fixed string; empty matches anything).
expect() {
    code=$1
    pattern=$2
    shift 2
    "$@" >"$tmp/out" 2>&1
    rc=$?
    if [ "$rc" -ne "$code" ]; then
        echo "FAIL: '$*' exited with $rc, expected $code; output:"
        sed 's/^/    /' "$tmp/out"
        failures=$((failures + 1))
    elif [ -n "$pattern" ] && ! grep -qF -- "$pattern" "$tmp/out"; then
        echo "FAIL: '$*' output lacks '$pattern'; output:"
        sed 's/^/    /' "$tmp/out"
        failures=$((failures + 1))
    else
        echo "ok: $*"
    fi
}

# Writes bytes given as octal escapes (POSIX printf has no \x).
bytes() { printf "$1" >"$2"; }

# (module (import "env" "log" (func (param i32))))
bytes '\0asm\1\0\0\0\1\5\1\140\1\177\0\2\13\1\3env\3log\0\0' "$tmp/import.wasm"
# (module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))))
bytes '\0asm\1\0\0\0\1\5\1\140\1\177\0\2\44\1\26wasi_snapshot_preview1\11proc_exit\0\0' \
    "$tmp/wasi.wasm"
# (module (func (export "answer") (result i32) i32.const 42))
bytes '\0asm\1\0\0\0\1\5\1\140\0\1\177\3\2\1\0\7\12\1\6answer\0\0\12\6\1\4\0\101\52\13' \
    "$tmp/answer.wasm"
bytes 'this is not wasm' "$tmp/junk.wasm"

expect 0 "weft " "$weft" --version
expect 0 "exit codes" "$weft" --help
expect 0 "exit codes" "$weft" help
expect 0 "usage: weft run" "$weft" help run
expect 0 "usage: weft run" "$weft" run --help
expect 0 "usage: weft inspect" "$weft" inspect --help
expect 2 "usage: weft" "$weft"
expect 2 "unknown command 'frobnicate'" "$weft" frobnicate
expect 2 "unknown option '--frob'" "$weft" --frob
expect 2 "unknown command" "$weft" help frobnicate
expect 2 "unknown option '--frob'" "$weft" run --frob "$tmp/answer.wasm"
expect 2 "missing MODULE" "$weft" run
expect 2 "needs a value" "$weft" run --invoke
expect 2 "--fuel" "$weft" run --fuel lots "$tmp/answer.wasm"
expect 2 "--max-stack" "$weft" run --max-stack 100 "$tmp/answer.wasm"
expect 2 "missing MODULE" "$weft" inspect

expect 1 "$tmp/nope.wasm" "$weft" run "$tmp/nope.wasm"
expect 1 "$tmp/junk.wasm" "$weft" run "$tmp/junk.wasm"
expect 1 "validation: FAILED" "$weft" inspect "$tmp/junk.wasm"
expect 1 "env.log" "$weft" run --invoke f "$tmp/import.wasm"
expect 1 "WASI" "$weft" run "$tmp/wasi.wasm"
expect 0 "func   env.log: (i32) -> ()" "$weft" inspect "$tmp/import.wasm"

expect 0 "42" "$weft" run --invoke answer "$tmp/answer.wasm"
expect 0 "42" "$weft" run --invoke=answer "$tmp/answer.wasm"
expect 1 "no exported function '_start'" "$weft" run "$tmp/answer.wasm"
expect 1 "answer" "$weft" run "$tmp/answer.wasm"
expect 2 "takes 0 arguments" "$weft" run --invoke answer "$tmp/answer.wasm" 1
expect 0 "answer: () -> i32" "$weft" inspect "$tmp/answer.wasm"
expect 3 "out of fuel" "$weft" run --fuel 0 --invoke answer "$tmp/answer.wasm"

if [ -n "$fib" ] && [ -f "$fib" ]; then
    expect 0 "6765" "$weft" run --invoke fib "$fib" 20
    expect 0 "6765" "$weft" run --invoke fib "$fib" 0x14
    expect 0 "7540113804746346429" "$weft" run --invoke fib_iter "$fib" 92
    expect 0 "5" "$weft" run --invoke hypot "$fib" 3 4
    expect 0 "inf" "$weft" run --invoke hypot "$fib" inf 1
    expect 0 "-3" "$weft" run --invoke divide "$fib" -7 2
    expect 3 "trap: integer divide by zero" "$weft" run --invoke divide "$fib" 1 0
    expect 3 "integer overflow" "$weft" run --invoke divide "$fib" -2147483648 -1
    expect 3 "divide" "$weft" run --invoke mean "$fib" 10 0
    expect 3 "out of fuel" "$weft" run --fuel 1000 --invoke fib "$fib" 25
    expect 2 "not a valid i32" "$weft" run --invoke fib "$fib" twenty
    expect 2 "not a valid i32" "$weft" run --invoke fib "$fib" 4294967296
    expect 2 "takes 1 argument" "$weft" run --invoke fib "$fib"
    expect 1 "fib.wasm" "$weft" run --max-memory 64K --invoke fib "$fib" 1
    expect 0 "memory memory: min" "$weft" inspect "$fib"
else
    echo "note: example fib.wasm not built (no wasm clang); its cases are skipped"
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures case(s) failed"
    exit 1
fi
echo "all cases passed"
