#!/bin/sh
# weft inspect on components: the WIT-level imports and exports of the
# jco-built test component, as text and JSON, and a truncated one rejected
# with its section and offset (exit 1).
#   inspect_test.sh WEFT COMPONENTS-DIR
# Exits 77 (skipped) when the test components were not built (no jco).
set -eu
weft=$1
dir=$2
if [ ! -f "$dir/basic.wasm" ]; then
    echo "SKIP: $dir/basic.wasm was not built (jco not installed: run scripts/install-deps.sh)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() { echo "FAIL: $*"; cat "$tmp/out"; exit 1; }

"$weft" inspect "$dir/basic.wasm" > "$tmp/out" || fail "inspect exited $?"
grep -q '^validation: ok$' "$tmp/out" || fail "no validation: ok"
grep -q '^  instance weft:test/host@0.1.0$' "$tmp/out" || fail "import instance"
grep -q '^      func     log: func(msg: string)$' "$tmp/out" || fail "the instance's function"
grep -q '^  func     greet: func(name: string) -> string$' "$tmp/out" || fail "export greet"
grep -q '^  func     classify: func(n: s64) -> variant { negative(u64), zero, positive(f64) }$' \
    "$tmp/out" || fail "export classify"

"$weft" inspect --json "$dir/basic.wasm" > "$tmp/out" || fail "inspect --json exited $?"
python3 - "$tmp/out" <<'PY' || fail "json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] is True
assert d["imports"][0]["name"] == "weft:test/host@0.1.0"
assert d["imports"][0]["exports"][0] == {"name": "log", "sort": "func", "type": "func(msg: string)"}
assert [e["name"] for e in d["exports"]] == ["add", "greet", "point-sum", "classify"]
assert d["exports"][0]["type"] == "func(a: u32, b: u32) -> u32"
PY

head -c 5000 "$dir/basic.wasm" > "$tmp/cut.wasm"
if "$weft" inspect "$tmp/cut.wasm" > "$tmp/out"; then fail "a truncated component loaded"; fi
grep -q 'validation: FAILED, malformed module: core module section, offset 0x' "$tmp/out" ||
    fail "truncation message"
echo "inspect_test: ok"
