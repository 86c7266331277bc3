#!/bin/sh
# tests/unit/bombs_cli.sh WEFT GEN_BOMB_PY — issue 9's resource bombs
# through `weft run`: the store's one budget for table elements and
# --max-table-elems, --timeout bounding a load, --fuel bounding bulk work.
# The modules are written at test time by gen_bomb.py. Each run is under
# `timeout 60`, a safety net only: what is checked is the exit status and
# the message (a missing bound means gigabytes, or minutes, or a run that
# --fuel does not stop, and fails the check or the safety net).
set -u
weft=$1
gen=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# expect CODE PATTERN CMD...: CMD exits with CODE ("fail": any error status
# below 124, i.e. not a timeout or signal) and its stderr contains PATTERN.
expect() {
    code=$1
    pattern=$2
    shift 2
    timeout 60 "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$code" = fail ] && { [ "$rc" -eq 0 ] || [ "$rc" -ge 124 ]; }; then
        fail "'$*' exited with $rc, expected an error status"
    elif [ "$code" != fail ] && [ "$rc" -ne "$code" ]; then
        fail "'$*' exited with $rc, expected $code"
    elif [ -n "$pattern" ] && ! grep -qF -- "$pattern" "$tmp/err"; then
        fail "'$*': stderr lacks '$pattern'"
    else
        echo "ok: $*"
        return
    fi
    sed 's/^/    err: /' "$tmp/err" | head -10
}

python3 "$gen" tables 100 10000000 "$tmp/tables100.wasm" || exit 1
python3 "$gen" tables 10 200000 "$tmp/tables10.wasm" || exit 1
python3 "$gen" nops 16000000 "$tmp/nops.wasm" || exit 1
python3 "$gen" fill "$tmp/fill.wasm" || exit 1

# 1. 100 tables of 10M elements (a module of a few hundred bytes) once
# allocated and touched 7.8 GB: the store's one budget refuses them
expect fail "tables of 1000000000 elements in all exceed the store's limit of 10000000 table elements" \
    "$weft" run "$tmp/tables100.wasm"
expect 0 "" "$weft" run "$tmp/tables10.wasm"
expect fail "tables of 2000000 elements in all exceed the store's limit of 1000000 table elements" \
    "$weft" run --max-table-elems 1000000 "$tmp/tables10.wasm"
expect 0 "" "$weft" run --max-table-elems=2M "$tmp/tables10.wasm"
expect 2 "--max-table-elems" "$weft" run --max-table-elems 0 "$tmp/tables10.wasm"
timeout 60 "$weft" run --help >"$tmp/help" 2>&1
grep -qF -- "--max-table-elems N" "$tmp/help" || fail "weft run --help does not list --max-table-elems"

# 3. --timeout bounds loading: 16 MB of code takes far longer than 1 ms to
# copy, validate and compile, so the load is stopped, and reported as a
# timeout
expect 3 "loading interrupted: the deadline passed" \
    "$weft" run --timeout 1ms "$tmp/nops.wasm"
grep -qF -- "the load took longer than --timeout 1ms" "$tmp/err" ||
    fail "the interrupted load does not name --timeout"
expect 0 "" "$weft" run --timeout 60s "$tmp/nops.wasm"

# 5. --fuel 1000 once bought endless 1 MiB fills at one unit each: a fill
# now costs 65,536 units and the first one runs out of fuel
expect 3 "out of fuel" "$weft" run --fuel 1000 "$tmp/fill.wasm"
grep -qF -- "the run used up --fuel 1000" "$tmp/err" || fail "the fill's trap does not name --fuel"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all passed"
