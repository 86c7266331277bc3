#!/bin/sh
# tests/cli/cli_test.sh WEFT WASM_DIR [EXAMPLES_DIR] — e2e test of `weft`.
#
# Checks exit codes (0 ok or the guest's status, 1 module error, 2 usage,
# 3 trap), messages on stderr and results on stdout, and that no case ends
# in a signal (status 128+). WASM_DIR holds the modules built from wat/ and
# misbehave.wasm (a WASI guest); EXAMPLES_DIR the examples (fib.wasm,
# hello.wasm). Cases whose module was not built are skipped with a notice.
# Every run is bounded by `timeout`, so a hang fails instead of blocking.
set -u
# Absolute paths: some cases run from another directory.
abs() { case $1 in /*) echo "$1" ;; '') echo "" ;; *) echo "$PWD/$1" ;; esac; }
weft=$(abs "$1")
wasm=$(abs "$2")
examples=$(abs "${3:-}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
skipped=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# run CMD...: runs CMD (at most 60 s) with stdout in $tmp/out, stderr in
# $tmp/err, status in $rc.
run() {
    timeout 60 "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

show_output() {
    sed 's/^/    out: /' "$tmp/out" | head -20
    sed 's/^/    err: /' "$tmp/err" | head -20
}

# expect CODE PATTERN CMD... : runs CMD; checks its exit code, that it was
# not killed by a signal, and that stdout+stderr contain PATTERN (a fixed
# string; empty matches anything).
expect() {
    code=$1
    pattern=$2
    shift 2
    run "$@"
    if [ "$rc" -ge 124 ] && [ "$code" -lt 124 ]; then
        fail "'$*' ended with status $rc (timeout or signal), expected $code"
        show_output
    elif [ "$rc" -ne "$code" ]; then
        fail "'$*' exited with $rc, expected $code"
        show_output
    elif [ -n "$pattern" ] && ! cat "$tmp/out" "$tmp/err" | grep -qF -- "$pattern"; then
        fail "'$*' output lacks '$pattern'"
        show_output
    else
        echo "ok: $*"
    fi
}

# expect_stdout CODE EXPECTED CMD...: as expect, but stdout must be exactly
# EXPECTED (newlines as in printf %b).
expect_stdout() {
    code=$1
    want=$2
    shift 2
    run "$@"
    printf '%b' "$want" >"$tmp/want"
    if [ "$rc" -ne "$code" ]; then
        fail "'$*' exited with $rc, expected $code"
        show_output
    elif ! cmp -s "$tmp/want" "$tmp/out"; then
        fail "'$*' printed something else than expected:"
        diff "$tmp/want" "$tmp/out" | sed 's/^/    /'
    else
        echo "ok: $*"
    fi
}

# have FILE...: true when every module exists; else counts a skip.
have() {
    for f in "$@"; do
        if [ ! -f "$f" ]; then
            echo "skip: $f not built"
            skipped=$((skipped + 1))
            return 1
        fi
    done
    return 0
}

m=$wasm/misbehave.wasm
answer=$wasm/answer.wasm
reactor=$wasm/reactor.wasm

# ---- help and usage errors (exit 2) ------------------------------------------
expect 0 "weft " "$weft" --version
expect 0 "weft " "$weft" -V
expect 0 "exit codes" "$weft" --help
expect 0 "exit codes" "$weft" help
expect 0 "usage: weft run" "$weft" help run
expect 0 "--timeout DURATION" "$weft" run --help
expect 0 "exit codes" "$weft" run -h
expect 0 "usage: weft inspect" "$weft" inspect --help
expect 0 "--json" "$weft" help inspect
expect 2 "usage: weft" "$weft"
expect 2 "unknown command 'frobnicate'" "$weft" frobnicate
expect 2 "unknown option '--frob'" "$weft" --frob
expect 2 "unknown command" "$weft" help frobnicate
expect 2 "unknown option '--frob'" "$weft" run --frob "$answer"
expect 2 "missing MODULE" "$weft" run
expect 2 "needs a value" "$weft" run --invoke
expect 2 "needs a value" "$weft" run --dir
expect 2 "--fuel" "$weft" run --fuel lots "$answer"
expect 2 "--fuel" "$weft" run --fuel -5 "$answer"
expect 2 "--max-stack" "$weft" run --max-stack 100 "$answer"
expect 2 "--max-memory" "$weft" run --max-memory 1K "$answer"
expect 2 "--timeout" "$weft" run --timeout 0 "$answer"
expect 2 "--timeout" "$weft" run --timeout 5parsecs "$answer"
expect 2 "--timeout" "$weft" run --timeout ms "$answer"
expect 2 "--dir" "$weft" run --dir "" "$answer"
expect 2 "--dir" "$weft" run --dir "::/data" "$answer"
expect 2 "--dir" "$weft" run --dir "$tmp::" "$answer"
expect 2 "--env" "$weft" run --env "=x" "$answer"
expect 2 "--env" "$weft" run --env "" "$answer"
expect 2 "missing MODULE" "$weft" inspect
expect 2 "unknown option '--frob'" "$weft" inspect --frob "$answer"
expect 2 "one module at a time" "$weft" inspect "$answer" "$answer"
# A usage error prints its message and one line pointing to --help, not the
# whole help (regression: 60 lines of help buried the message).
short_usage() { # short_usage HINT CMD...: exit 2, at most 2 lines on stderr, the last HINT
    hint=$1
    shift
    run "$@"
    if [ "$rc" -eq 2 ] && [ "$(wc -l <"$tmp/err")" -le 2 ] &&
        [ "$(tail -n 1 "$tmp/err")" = "weft: see '$hint' for usage" ]; then
        echo "ok: short usage error: $*"
    else
        fail "'$*': want exit 2 and at most 2 lines on stderr, the last pointing to $hint (status $rc)"
        show_output
    fi
}
short_usage "weft --help" "$weft"
short_usage "weft --help" "$weft" frobnicate
short_usage "weft --help" "$weft" --frob
short_usage "weft --help" "$weft" help frobnicate
short_usage "weft run --help" "$weft" run
short_usage "weft run --help" "$weft" run --frob "$answer"
short_usage "weft inspect --help" "$weft" inspect
short_usage "weft inspect --help" "$weft" inspect --frob "$answer"
short_usage "weft inspect --help" "$weft" inspect "$answer" "$answer"
short_usage "weft db --help" "$weft" db
short_usage "weft db --help" "$weft" db /tmp --frob
short_usage "weft db --help" "$weft" db /tmp get
short_usage "weft serve --help" "$weft" serve --frob
short_usage "weft serve --help" "$weft" serve --tier fast

# wasmtime habits: a text module is named as such with the way to convert
# it; `weft FILE.wasm ARGS` is `weft run`; `-` reads the module from stdin.
printf '(module\n  (func (export "_start")))\n' >"$tmp/text.wat"
printf ';; a comment first\n\n  (module)\n' >"$tmp/commented.wasm"
wat_hint="is WebAssembly text format (.wat); weft runs binary modules: convert it with \`wat2wasm"
expect 1 "$tmp/text.wat $wat_hint $tmp/text.wat -o $tmp/text.wasm\` (Debian package wabt)" \
    "$weft" run "$tmp/text.wat"
expect 1 "$tmp/commented.wasm $wat_hint" "$weft" run "$tmp/commented.wasm"
expect 1 "$wat_hint" "$weft" inspect "$tmp/text.wat"
expect 1 "$wat_hint" "$weft" "$tmp/text.wat"
expect 1 "stdin $wat_hint FILE.wat -o FILE.wasm" sh -c '"$1" run - <"$2"' sh "$weft" "$tmp/text.wat"
expect 0 "wat2wasm" "$weft" run --help
expect 0 "wat2wasm" "$weft" --help
expect 1 "cannot read $tmp/nope.wasm" "$weft" "$tmp/nope.wasm"
if have "$m"; then
    expect_stdout 0 'argv[0]=misbehave.wasm\nargv[1]=args\nargv[2]=--fuel\n' "$weft" "$m" args --fuel
    cp "$m" "$tmp/guest"
    expect_stdout 0 'argv[0]=guest\nargv[1]=args\n' "$weft" "$tmp/guest" args
    expect_stdout 0 'argv[0]=stdin\nargv[1]=args\n' sh -c '"$1" run - args <"$2"' sh "$weft" "$m"
    expect_stdout 0 'argv[0]=stdin\nargv[1]=args\n' sh -c '"$1" - args <"$2"' sh "$weft" "$m"
    # the guest's stdin is empty: the module was all of weft's
    expect_stdout 0 'stdin: 0 bytes\n' sh -c '"$1" run - count-stdin <"$2"' sh "$weft" "$m"
    expect_stdout 0 'stdin: 5 bytes\n' sh -c 'printf hello | "$1" run "$2" count-stdin' sh "$weft" "$m"
    expect 0 "links:      yes" sh -c '"$1" inspect - <"$2"' sh "$weft" "$m"
fi
expect 1 "malformed" sh -c '"$1" run - </dev/null' sh "$weft"

if have "$answer"; then
    expect 2 "takes 0 arguments" "$weft" run --invoke answer "$answer" 1
    expect 2 "$tmp/no-such-dir" "$weft" run --dir "$tmp/no-such-dir" --invoke answer "$answer"
fi

# ---- bad modules (exit 1, a message, never a signal) --------------------------
printf 'this is not wasm' >"$tmp/junk.wasm"
: >"$tmp/empty.wasm"
printf '\0asm\1\0\0\0\1\5' >"$tmp/truncated.wasm"
printf '\0asm\2\0\0\0' >"$tmp/version2.wasm"
mkdir "$tmp/dir.wasm"
expect 1 "cannot read $tmp/nope.wasm" "$weft" run "$tmp/nope.wasm"
expect 1 "$tmp/junk.wasm" "$weft" run "$tmp/junk.wasm"
expect 1 "malformed" "$weft" run "$tmp/empty.wasm"
expect 1 "malformed" "$weft" run "$tmp/truncated.wasm"
expect 1 "malformed" "$weft" run "$tmp/version2.wasm"
expect 1 "$tmp/dir.wasm" "$weft" run "$tmp/dir.wasm"
expect 1 "validation: FAILED" "$weft" inspect "$tmp/junk.wasm"
expect 1 "cannot read" "$weft" inspect "$tmp/nope.wasm"
if have "$wasm/type_mismatch.wasm"; then
    expect 1 "invalid module" "$weft" run "$wasm/type_mismatch.wasm"
    expect 1 "\"valid\": false" "$weft" inspect --json "$wasm/type_mismatch.wasm"
    expect 1 "WEFT_EINVALID" "$weft" inspect --json "$wasm/type_mismatch.wasm"
fi
if have "$wasm/import_env.wasm"; then
    expect 1 "func env.log: (i32) -> ()" "$weft" run "$wasm/import_env.wasm"
    expect 1 "memory env.mem" "$weft" run "$wasm/import_env.wasm"
    expect 1 "provides wasi_snapshot_preview1 (WASI preview 1), nx (the Numax host API)" \
        "$weft" run "$wasm/import_env.wasm"
    expect 0 "func   env.log: (i32) -> ()" "$weft" inspect "$wasm/import_env.wasm"
fi
have "$wasm/wasi_badtype.wasm" &&
    expect 1 "wasi_snapshot_preview1.fd_write: expected (i32, i32, i32, i32) -> i32, module declares (i32) -> ()" \
        "$weft" run "$wasm/wasi_badtype.wasm"
have "$wasm/wasi_unknown.wasm" &&
    expect 1 "wasi_snapshot_preview1.no_such_call" "$weft" run "$wasm/wasi_unknown.wasm"
# Every bad import at once, each with its reason (regression: unknown names
# of a known namespace were left out, nx ones came one at a time, a wrong
# type did not show the expected one); inspect says whether a module links.
le=$wasm/link_errors.wasm
if have "$le"; then
    expect 1 "cannot link: 5 bad imports" "$weft" run "$le"
    expect 1 "func env.log: (i32) -> (): env has no function 'log'" "$weft" run "$le"
    expect 1 "func nx.db_frob: (i32, i32) -> i32: nx has no function 'db_frob'" "$weft" run "$le"
    expect 1 "func nx.db_twiddle: () -> (): nx has no function 'db_twiddle'" "$weft" run "$le"
    expect 1 "func nx.db_get: expected (i32, i32, i32, i32) -> i32, module declares (i32) -> i32" \
        "$weft" run "$le"
    expect 1 "memory wasi_snapshot_preview1.memory: wasi_snapshot_preview1 provides functions only" \
        "$weft" run "$le"
    expect 0 "links:      no, weft run refuses it: 5 bad imports" "$weft" inspect "$le"
    expect 0 "nx has no function 'db_twiddle'" "$weft" inspect "$le"
    if command -v python3 >/dev/null 2>&1; then
        "$weft" inspect --json "$le" >"$tmp/j" && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] is True and d["links"] is False, d
assert d["abi"][:2] == ["wasi_snapshot_preview1", "nx"] and "env" in d["abi"], d["abi"]
got = [(e["module"], e["name"], e["kind"], e["problem"]) for e in d["link_errors"]]
assert got == [("env", "log", "func", "unknown_name"),
               ("nx", "db_frob", "func", "unknown_name"),
               ("nx", "db_twiddle", "func", "unknown_name"),
               ("nx", "db_get", "func", "wrong_type"),
               ("wasi_snapshot_preview1", "memory", "memory", "not_a_function")], got
assert d["link_errors"][3]["message"] == \
    "expected (i32, i32, i32, i32) -> i32, module declares (i32) -> i32", d["link_errors"][3]
' "$tmp/j" && echo "ok: inspect --json: links false, every link error" ||
            fail "inspect --json of link_errors.wasm is not the documented object"
    fi
fi
if have "$wasm/links_ok.wasm"; then
    expect 0 "links:      yes, against wasi_snapshot_preview1 (WASI preview 1) and nx" \
        "$weft" inspect "$wasm/links_ok.wasm"
    expect 0 '"links": true' "$weft" inspect --json "$wasm/links_ok.wasm"
fi
have "$answer" && expect 0 "links:      yes (no imports)" "$weft" inspect "$answer"
if have "$wasm/bigmem.wasm"; then
    # A module whose memory needs more at start than --max-memory can never
    # run: a module error (1) with what it needs, as the help says.
    expect 1 "bigmem.wasm: memory 0 needs 100 pages of 64 KiB (6400 KiB) at start, more than --max-memory allows (16 pages)" \
        "$weft" run --max-memory 1M "$wasm/bigmem.wasm"
    expect 0 "" "$weft" run --max-memory 7M "$wasm/bigmem.wasm"
fi
run "$weft" run --help
if grep -qF -- '--max-*' "$tmp/out" || ! grep -qF "its memory needs more at start than --max-memory" "$tmp/out"; then
    fail "weft run --help: exit codes disagree with what --max-memory does"
else
    echo "ok: weft run --help: --max-memory too small is exit code 1, not a trap"
fi
have "$wasm/bad_start_type.wasm" &&
    expect 1 "_start has type (i32) -> ()" "$weft" run "$wasm/bad_start_type.wasm"
if have "$answer"; then
    expect 1 "no exported function '_start'" "$weft" run "$answer"
    expect 1 "exported functions: answer" "$weft" run "$answer"
    expect 1 "no exported function 'nope'" "$weft" run --invoke nope "$answer"
fi
if have "$m"; then
    head -c 1000 "$m" >"$tmp/cut.wasm"
    expect 1 "malformed" "$weft" run "$tmp/cut.wasm"
fi

# ---- traps (exit 3: kind, message, backtrace with names) ----------------------
if have "$answer"; then
    expect 0 "42" "$weft" run --invoke answer "$answer"
    expect 0 "42" "$weft" run --invoke=answer "$answer"
    expect 3 "out of fuel (OUT_OF_FUEL)" "$weft" run --fuel 0 --invoke answer "$answer"
fi
if have "$wasm/start_trap.wasm"; then
    expect 3 "trap: unreachable (UNREACHABLE)" "$weft" run "$wasm/start_trap.wasm"
    expect 3 "func[0] boom" "$weft" run "$wasm/start_trap.wasm"
    expect 3 "func[1] start_here" "$weft" run "$wasm/start_trap.wasm"
    # the compiled tier (docs/jit.md): the same trap and backtrace
    expect 3 "func[0] boom" "$weft" run --tier jit "$wasm/start_trap.wasm"
    expect 3 "func[1] start_here" "$weft" run --tier jit "$wasm/start_trap.wasm"
    expect 3 "func[1] start_here" "$weft" run --tier auto "$wasm/start_trap.wasm"
fi
if have "$answer"; then
    expect 0 "42" "$weft" run --tier jit --invoke answer "$answer"
    expect 0 "42" "$weft" run --tier interp --invoke answer "$answer"
    expect 0 "42" "$weft" run --tier auto --invoke answer "$answer"
    expect 2 "--tier: 'fast' is not interp, jit or auto" "$weft" run --tier fast --invoke answer "$answer"
fi
have "$wasm/data_oob.wasm" &&
    expect 3 "out of bounds memory access" "$weft" run "$wasm/data_oob.wasm"
if have "$m"; then
    expect 3 "trap: unreachable (UNREACHABLE)" "$weft" run "$m" unreachable
    expect 3 "backtrace (innermost first)" "$weft" run "$m" unreachable
    expect 3 "_start" "$weft" run "$m" unreachable
    expect 3 "integer divide by zero (DIV_ZERO)" "$weft" run "$m" divzero
    expect 3 "divide" "$weft" run "$m" divzero
    expect 3 "out of bounds memory access (MEMORY_OOB)" "$weft" run "$m" oob
    expect 3 "(STACK_EXHAUSTED)" "$weft" run "$m" stack
    expect 3 "recurse_forever" "$weft" run "$m" stack
    expect 3 "the same function again" "$weft" run "$m" stack
    expect 3 "(STACK_EXHAUSTED)" "$weft" run --max-stack 64K "$m" stack
    expect 3 "unreachable" "$weft" run "$m" buffered-trap
    # Memory caps make malloc fail inside the guest (memory.grow returns -1).
    expect 0 "malloc failed after" "$weft" run --max-memory 8M "$m" grow
    # Timeout and fuel stop an infinite loop.
    expect 3 "interrupted (INTERRUPTED)" "$weft" run --timeout 300ms "$m" loop
    expect 3 "longer than --timeout 300ms" "$weft" run --timeout 300ms "$m" loop
    expect 3 "spin" "$weft" run --timeout=1s "$m" loop
    # ... and a guest blocked in poll_oneoff (sleep), which checks for the
    # interrupt between bounded waits (regression: it slept to the end).
    expect 3 "interrupted (INTERRUPTED)" "$weft" run --timeout 300ms "$m" sleep
    expect 3 "out of fuel (OUT_OF_FUEL)" "$weft" run --fuel 1000000 "$m" loop
    expect 3 "used up --fuel 1000000" "$weft" run --fuel 1000000 "$m" loop
    expect 0 "argv[1]=args" "$weft" run --fuel 100000000 --timeout 1m "$m" args
fi

# ---- exit statuses ------------------------------------------------------------
have "$wasm/exit_in_start.wasm" && expect 7 "" "$weft" run "$wasm/exit_in_start.wasm"
if have "$m"; then
    expect 0 "" "$weft" run "$m" exit 0
    expect 5 "" "$weft" run "$m" exit 5
    expect 255 "" "$weft" run "$m" exit 255
    expect 44 "" "$weft" run "$m" exit 300
    expect 64 "unknown mode" "$weft" run "$m" no-such-mode
fi

# ---- arguments, --env isolation, --dir mapping, output order ------------------
if have "$m"; then
    expect_stdout 0 'argv[0]=misbehave.wasm\nargv[1]=args\nargv[2]=two words\nargv[3]=--fuel\n' \
        "$weft" run "$m" args "two words" --fuel
    expect_stdout 0 'argv[0]=misbehave.wasm\nargv[1]=args\n' "$weft" run -- "$m" args
    # The guest sees no host variable unless given.
    expect_stdout 0 '' env LEAK=host HOME=/root "$weft" run "$m" env
    expect_stdout 0 'A=1\nB=two=2\nEMPTY=\n' \
        env LEAK=host "$weft" run --env A=1 --env B=two=2 --env EMPTY= "$m" env
    expect_stdout 0 'FROM_HOST=inherited\n' \
        env FROM_HOST=inherited LEAK=host "$weft" run --env FROM_HOST "$m" env
    expect_stdout 0 '' env -u WEFT_TEST_UNSET "$weft" run --env WEFT_TEST_UNSET "$m" env
    expect_stdout 0 'B=1\nA=2\n' "$weft" run --env A=1 --env B=1 --env A=2 "$m" env

    mkdir -p "$tmp/x" "$tmp/y"
    expect 0 "wrote /data/f.txt" "$weft" run --dir "$tmp/x::/data" "$m" write /data/f.txt mapped
    if [ "$(cat "$tmp/x/f.txt" 2>/dev/null)" = "mapped" ]; then
        echo "ok: --dir HOST::GUEST wrote the host file"
    else
        fail "--dir $tmp/x::/data: $tmp/x/f.txt missing or wrong"
    fi
    printf 'from the host\n' >"$tmp/x/host.txt"
    expect_stdout 0 'read /data/host.txt: from the host\n' \
        "$weft" run --dir "$tmp/x::/data" "$m" read /data/host.txt
    expect 1 'cannot read /data/host.txt' "$weft" run "$m" read /data/host.txt
    expect 0 "wrote $tmp/y/same.txt" "$weft" run --dir "$tmp/y" "$m" write "$tmp/y/same.txt" same
    [ -f "$tmp/y/same.txt" ] && echo "ok: --dir HOST (GUEST = HOST)" ||
        fail "--dir $tmp/y: $tmp/y/same.txt missing"
    expect_stdout 0 'read /b/same.txt: same' \
        "$weft" run --dir "$tmp/x::/a" --dir "$tmp/y::/b" "$m" read /b/same.txt
    (cd "$tmp/x" && timeout 60 "$weft" run --dir . "$m" write rel.txt relative >/dev/null 2>&1)
    [ -f "$tmp/x/rel.txt" ] && echo "ok: --dir . and a relative path" ||
        fail "--dir .: $tmp/x/rel.txt missing"

    # Unbuffered writes to fd 1 and 2 keep their order in a shared pipe.
    timeout 60 "$weft" run "$m" interleave >"$tmp/both" 2>&1
    if [ "$(cat "$tmp/both")" = "$(printf 'out 0\nerr 0\nout 1\nerr 1\nout 2\nerr 2')" ]; then
        echo "ok: stdout and stderr interleave in order"
    else
        fail "interleave: got $(tr '\n' ' ' <"$tmp/both")"
    fi
fi

# ---- --invoke: _initialize first, multi-value results, guest output first -----
if have "$reactor"; then
    expect_stdout 0 '1005\n' "$weft" run --invoke get "$reactor" 5
    expect_stdout 0 '4.25\n2\n1\n3.5\n' "$weft" run --invoke mix "$reactor" 1 2 3.5 4.25
    expect 2 "not a valid i64" "$weft" run --invoke mix "$reactor" 1 x 3.5 4.25
fi
have "$wasm/say_then_return.wasm" &&
    expect_stdout 0 'guest says hi\n5\n' "$weft" run --invoke talk "$wasm/say_then_return.wasm"

# ---- --invoke with v128 arguments and results ------------------------------------
v=$wasm/v128.wasm
if have "$v"; then
    expect_stdout 0 'i32x4 0x0000000b 0x00000016 0x00000021 0xffffffff\n' \
        "$weft" run --invoke add "$v" i32x4:1,2,3,4 i32x4:10,20,30,-5
    # what weft run prints reads back as an argument
    expect_stdout 0 'i32x4 0x0000000c 0x00000018 0x00000024 0x00000003\n' \
        "$weft" run --invoke add "$v" 'i32x4 0x0000000b 0x00000016 0x00000021 0xffffffff' i32x4:1,2,3,4
    expect_stdout 0 '-1\n' "$weft" run --invoke lane3 "$v" i32x4:0,0,0,4294967295
    expect_stdout 0 '-2147483648\n' "$weft" run --invoke lane3 "$v" i64x2:0,-9223372036854775808
    expect_stdout 0 '255\n' "$weft" run --invoke byte15 "$v" i8x16:0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,-1
    expect_stdout 0 '770\n' "$weft" run --invoke lane3 "$v" i16x8:0,0,0,0,0,0,0x302,0
    expect_stdout 0 '255\n' "$weft" run --invoke byte15 "$v" 0x000102030405060708090a0b0c0d0eff
    expect_stdout 0 '3.75\n' "$weft" run --invoke fsum "$v" f32x4:0.5,1,-0.25,2.5
    expect_stdout 0 '1072693248\n' "$weft" run --invoke lane3 "$v" f64x2:0,1.0
    expect_stdout 0 '-3\ni32x4 0x00000007 0x00000007 0x00000007 0x00000007\n' \
        "$weft" run --invoke hi64 "$v" 7 i64x2:1,-3
    expect 2 "argument 1 of 'lane3': 'i32x4:1,2,3' is not a valid v128" \
        "$weft" run --invoke lane3 "$v" i32x4:1,2,3
    expect 2 "is not a valid v128 (a shape and its lanes" "$weft" run --invoke lane3 "$v" i32x4:1,2,3,4,5
    expect 2 "is not a valid v128" "$weft" run --invoke lane3 "$v" i8x16:256,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0
    expect 2 "is not a valid v128" "$weft" run --invoke lane3 "$v" i32x4:1,,2,3
    expect 2 "is not a valid v128" "$weft" run --invoke lane3 "$v" i32x4:1,2,3,4,
    expect 2 "is not a valid v128" "$weft" run --invoke lane3 "$v" i32x2:1,2
    expect 2 "is not a valid v128" "$weft" run --invoke lane3 "$v" 0x0001
    expect 2 "is not a valid v128" "$weft" run --invoke lane3 "$v" 42
fi

# ---- inspect ------------------------------------------------------------------
if have "$answer"; then
    expect 0 "answer: () -> i32" "$weft" inspect "$answer"
    expect 0 "\"valid\": true" "$weft" inspect --json "$answer"
    expect 0 "\"results\": [" "$weft" inspect --json "$answer"
fi
if have "$wasm/import_env.wasm"; then
    expect 0 "\"module\": \"env\"" "$weft" inspect --json "$wasm/import_env.wasm"
    expect 0 "\"max\": null" "$weft" inspect --json "$wasm/import_env.wasm"
    if command -v python3 >/dev/null 2>&1; then
        "$weft" inspect --json "$wasm/import_env.wasm" >"$tmp/j" &&
            python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] is True, d
imp = d["imports"]
assert imp[0] == {"module": "env", "name": "log", "kind": "func", "params": ["i32"], "results": []}, imp
assert imp[1]["kind"] == "memory" and imp[1]["limits"] == {"min": 1, "max": None}, imp
assert d["exports"] == [{"name": "_start", "kind": "func", "params": [], "results": []}], d
assert any(c["name"] == "name" for c in d["custom_sections"]), d
' "$tmp/j" && echo "ok: inspect --json parses as the documented object" ||
            fail "inspect --json output is not the documented object"
    fi
fi
expect 1 "\"valid\": false" "$weft" inspect --json "$tmp/nope.wasm"

# ---- nx logs and events: --log-format, the node id, weft db node-id ----------
# nx_logger.wasm logs "hello", ff fe 41 (not UTF-8), "node=<its net_node_id
# in hex>" (node=off without sync) and, legacy, "legacy"; it emits "greeted".
logger=$wasm/nx_logger.wasm
expect 2 "--log-format: 'xml' is not text or json" "$weft" run --log-format xml "$logger"
expect 2 "needs a value" "$weft" run --log-format
expect 0 "--log-format FORMAT" "$weft" run --help
expect 0 "node-id" "$weft" db --help
expect 2 "unknown command 'nodeid'" "$weft" db "$tmp" nodeid
expect 2 "takes no --context" "$weft" db "$tmp" node-id --context x
expect 2 "wrong number of arguments" "$weft" db "$tmp" node-id extra
expect 1 "cannot open $tmp/no-such-data" "$weft" db "$tmp/no-such-data" node-id
# Two ABIs share `env`: a module importing from both fits neither.
mixed=$wasm/mixed_abis.wasm
if have "$mixed"; then
    expect 1 "cannot link: the module's imports fit no single ABI" "$weft" run "$mixed"
    expect 1 "env.storage_write is the Calimero host functions" "$weft" run "$mixed"
    expect 1 "env.__faasm_read_input is Faasm's __faasm_* host interface" "$weft" run "$mixed"
    expect 1 "the faasm ABI does not provide env.storage_write" "$weft" run --abi faasm "$mixed"
    expect 0 "guest ABI:  none, weft run refuses it" "$weft" inspect "$mixed"
fi
if have "$logger"; then
    # The guest ABI: chosen from the imports, or named with --abi.
    expect 0 "guest ABI:  nx" "$weft" inspect "$logger"
    expect 0 '"guest_abi": "nx"' "$weft" inspect --json "$logger"
    expect 1 "cannot link: no ABI called 'bogus' (there are nx" "$weft" run --abi bogus "$logger"
    expect 0 "nx_logger: hello" "$weft" run --abi nx --data-dir "$tmp/abidata" "$logger"
    d=$tmp/nodedata
    # Text stays the default: "MODULE: message".
    expect 0 "nx_logger: hello" "$weft" run --data-dir "$d" "$logger"
    grep -qx 'nx_logger: legacy' "$tmp/err" && echo "ok: text log lines by default" ||
        fail "text log lines: want 'nx_logger: legacy' in: $(cat "$tmp/err")"
    expect_stdout 0 '' "$weft" run --data-dir "$d" --log-format text "$logger"
    node=$("$weft" db "$d" node-id 2>"$tmp/err")
    if printf '%s\n' "$node" | grep -qxE '[0-9a-f]{64}'; then
        echo "ok: weft db DIR node-id prints 64 hex digits"
    else
        fail "weft db $d node-id printed [$node] ($(cat "$tmp/err"))"
    fi
    expect_stdout 0 "$node\n" "$weft" db "$d" node-id
    # A directory used only with --no-sync has no identity, and node-id
    # (read-only) does not create one.
    expect 0 "node=off" "$weft" run --no-sync --data-dir "$tmp/nosync" "$logger"
    expect 1 "has no node id yet" "$weft" db "$tmp/nosync" node-id
    expect 1 "has no node id yet" "$weft" db "$tmp/nosync" node-id
    if command -v python3 >/dev/null 2>&1; then
        # json_lines FILE WANT: every line of FILE is one compact JSON
        # object, and the list of them equals the Python expression WANT
        # (in which `node` is the node id), keys in order.
        json_lines() {
            python3 -c '
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
objs = [json.loads(l) for l in lines]
for l, o in zip(lines, objs):
    assert l == json.dumps(o, separators=(",", ":"), ensure_ascii=False), ("not compact", l)
node = sys.argv[3]
want = eval(sys.argv[2])
assert [list(o.items()) for o in objs] == [list(o.items()) for o in want], (objs, want)
' "$1" "$2" "$node"
        }
        run "$weft" run --data-dir "$d" --log-format=json --events "$logger"
        if [ "$rc" -eq 0 ] && json_lines "$tmp/err" '[
            {"node": node, "context": "nx_logger", "module": "nx_logger", "msg": "hello"},
            {"node": node, "context": "nx_logger", "module": "nx_logger", "msg_hex": "fffe41"},
            {"node": node, "context": "nx_logger", "module": "nx_logger", "msg": "node=" + node},
            {"node": node, "context": "nx_logger", "module": "nx_logger", "msg": "legacy"}]'
        then
            echo "ok: --log-format=json: one object a line, node = weft db node-id = net_node_id"
        else
            fail "--log-format=json (status $rc)"
            show_output
        fi
        if json_lines "$tmp/out" '[{"node": node, "event": "greeted", "payload": "hi"}]'; then
            echo "ok: --events objects carry the node id"
        else
            fail "--events with sync: want node, event, payload"
            show_output
        fi
        run "$weft" run --no-sync --data-dir "$d" --context other --log-format json --events \
            "$logger"
        if [ "$rc" -eq 0 ] && json_lines "$tmp/err" '[
            {"context": "other", "module": "nx_logger", "msg": "hello"},
            {"context": "other", "module": "nx_logger", "msg_hex": "fffe41"},
            {"context": "other", "module": "nx_logger", "msg": "node=off"},
            {"context": "other", "module": "nx_logger", "msg": "legacy"}]' &&
            json_lines "$tmp/out" '[{"event": "greeted", "payload": "hi"}]'; then
            echo "ok: --no-sync: no node in logs and events; --context in logs"
        else
            fail "--log-format json --no-sync (status $rc)"
            show_output
        fi
    else
        echo "skip: python3 not found, JSON log lines not parsed"
        skipped=$((skipped + 1))
    fi
    # An RGA element id is base32 text of (origin, seq) whose origin is the
    # node id: the id in ops is the same one (docs/nx.md).
    if [ -n "$examples" ] && have "$examples/distributed_comments.wasm"; then
        run "$weft" run --data-dir "$d" "$examples/distributed_comments.wasm" post doc hi
        origin=$(tr a-z A-Z <"$tmp/out" | base32 -d | od -An -v -tx1 | tr -d ' \n' | cut -c1-64)
        case $origin in
        "$node") echo "ok: op ids carry the node id" ;;
        *) fail "comment id $(cat "$tmp/out") (origin $origin) is not of node id $node" ;;
        esac
    fi
fi

# ---- a call that does not commit says it lost its writes ----------------------
# (regression: exit(1) after writes discarded them silently)
w=$wasm/nx_writer.wasm
if have "$w"; then
    d=$tmp/rollback
    expect 1 "weft: exit status 1: this call's writes were rolled back" \
        "$weft" run --no-sync --data-dir "$d" --invoke end "$w" 1
    expect_stdout 0 '0\n' "$weft" run --no-sync --data-dir "$d" --invoke get "$w"
    expect 3 "weft: trap: this call's writes were rolled back" \
        "$weft" run --no-sync --data-dir "$d" --invoke end "$w" 2
    expect_stdout 0 '0\n' "$weft" run --no-sync --data-dir "$d" --invoke get "$w"
    # no writes, nothing to say; a committed call says nothing either
    run "$weft" run --no-sync --data-dir "$d" --invoke quit "$w" 1
    if [ "$rc" -eq 1 ] && [ ! -s "$tmp/err" ]; then
        echo "ok: exit 1 without writes: no rollback message"
    else
        fail "quit 1: want status 1 and nothing on stderr, got $rc: $(cat "$tmp/err")"
    fi
    for mode in 0 3; do
        run "$weft" run --no-sync --data-dir "$d" --invoke end "$w" $mode
        if [ "$rc" -eq 0 ] && [ ! -s "$tmp/err" ]; then
            echo "ok: end $mode commits silently"
        else
            fail "end $mode: want status 0 and nothing on stderr, got $rc: $(cat "$tmp/err")"
        fi
    done
    expect_stdout 0 '1\n' "$weft" run --no-sync --data-dir "$d" --invoke get "$w"
fi

# ---- weft db DIR crdt / vv: the replicated state, read-only ---------------------
if [ -n "$examples" ] && have "$examples/distributed_settings.wasm" \
    "$examples/distributed_inventory.wasm" "$examples/distributed_comments.wasm"; then
    c=$tmp/crdt
    app() { # app EXAMPLE ARGS...: one run of an example in context "app"
        ex=$1
        shift
        run "$weft" run --data-dir "$c" --context app "$examples/$ex.wasm" "$@"
        [ "$rc" -eq 0 ] || fail "$ex $*: status $rc ($(cat "$tmp/err"))"
    }
    app distributed_settings set svc theme dark
    app distributed_settings set svc region eu
    app distributed_settings unset svc region
    app distributed_inventory add sku1 5
    app distributed_inventory remove sku1 7
    app distributed_comments post doc first
    app distributed_comments post doc second
    expect_stdout 0 "comments:doc\trga\ninventory:sku1\tpncounter\nsettings:svc\tlww_map\n" \
        "$weft" db "$c" crdt --context app
    expect_stdout 0 '{"type":"lww_map","value":[{"field":"theme","value":"dark"}]}\n' \
        "$weft" db "$c" crdt settings:svc --context app
    expect_stdout 0 '{"type":"pncounter","value":-2}\n' \
        "$weft" db "$c" crdt inventory:sku1 --context app
    expect_stdout 0 '{"type":"rga","value":["second","first"]}\n' \
        "$weft" db "$c" crdt comments:doc --context app
    expect_stdout 0 '{"type":"rga","value":["second","first"]}\n' \
        "$weft" db "$c" crdt 636f6d6d656e74733a646f63 --context app --hex
    expect 1 "key not found" "$weft" db "$c" crdt nothing --context app
    expect 2 "--context NAME" "$weft" db "$c" crdt settings:svc
    # seven ops of this node in context "app", none in another
    node=$("$weft" db "$c" node-id)
    expect_stdout 0 "$node\t7\n" "$weft" db "$c" vv --context app
    expect 2 "wrong number of arguments" "$weft" db "$c" vv extra --context app
    # weft db DIR contexts; a context DIR does not hold is an error, not an empty answer
    expect_stdout 0 "app\t0\t3\n" "$weft" db "$c" contexts
    expect 2 "takes no --context" "$weft" db "$c" contexts --context app
    expect 1 "no context other in $c; \`weft db $c contexts\` lists them" \
        "$weft" db "$c" vv --context other
    expect 1 "no context ap in" "$weft" db "$c" crdt --context ap
    expect 1 "no context ap in" "$weft" db "$c" scan --context ap
    expect 1 "no context ap in" "$weft" db "$c" get k --context ap
fi

# ---- the examples -------------------------------------------------------------
if [ -n "$examples" ] && have "$examples/hello.wasm"; then
    mkdir "$tmp/h"
    expect 0 "Hello from WebAssembly, ada!" \
        "$weft" run --dir "$tmp/h::/data" --env USER=ada "$examples/hello.wasm" one two
    [ -f "$tmp/h/hello.txt" ] && echo "ok: hello.wasm wrote its file" ||
        fail "hello.wasm did not write $tmp/h/hello.txt"
    expect 1 "cannot write /data/hello.txt" "$weft" run "$examples/hello.wasm"
fi
if [ -n "$examples" ] && have "$examples/fib.wasm"; then
    fib=$examples/fib.wasm
    expect 0 "6765" "$weft" run --invoke fib "$fib" 20
    expect 0 "6765" "$weft" run --invoke fib "$fib" 0x14
    # The default tier is auto on x86-64 Linux (docs/jit.md): fib(20)'s
    # 21,890 calls make fib hot, so it is compiled; interp compiles nothing.
    if [ "$(uname -m)" = x86_64 ] && [ "$(uname -s)" = Linux ]; then
        expect 0 "weft: stats: tier auto, 1 of 5 functions compiled, " "$weft" run --stats --invoke fib "$fib" 20
        grep -qx 6765 "$tmp/out" && echo "ok: --stats leaves stdout the result's" ||
            fail "--stats changed stdout: $(cat "$tmp/out")"
        expect 0 "weft: stats: tier jit, 5 of 5 functions compiled, " "$weft" run --stats --tier jit --invoke fib "$fib" 20
    fi
    expect 0 "weft: stats: tier interp, 0 of 5 functions compiled, " "$weft" run --stats --tier interp --invoke fib "$fib" 20
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
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures case(s) failed, $skipped skipped"
    exit 1
fi
echo "all cases passed ($skipped skipped)"
