#!/bin/sh
# wasi:filesystem called directly by the fsdirect test component
# (guests/fsdirect.c) through `weft run --dir`, for what the preview 1
# adapter never asks (p2_run_test.sh covers the rest): handles compared,
# escapes not-permitted (31), non-UTF-8 symlink texts and names
# illegal-byte-sequence (9), a file as a directory not-directory (24), a
# dropped descriptor used again a trap; and nothing outside the preopen
# touched.
#   fs_test.sh WEFT COMPONENTS-DIR
# Exits 77 (skipped) when the component was not built (no jco).
set -u
weft=$1
comp=$2/fsdirect.wasm
. "$(dirname "$0")/common.sh"
component_setup "$comp"

mkdir -p "$T/box/names" "$T/outside"
echo secret > "$T/outside/secret.txt"
echo hi > "$T/box/f.txt"
ln -s f.txt "$T/box/good_link"
ln -s "$(printf '\377\376')" "$T/box/bad_link"
ln -s ../outside/secret.txt "$T/box/out_link"
touch "$T/box/names/$(printf 'x\377')"

out=$("$weft" run --dir "$T/box::box" --invoke probe "$comp" 2> "$T/err")
check "probe status" "$?" 0
check "probe" "$out" "preopens=1 same-dot=1 same-file=0 hash-dot=1 hash-file=1 hash-other=0 \
escape=31 absolute=31 link-out=31 in-file=24 abs-link=31 up-link=31 good-link=1 bad-link=9 \
entries=5 bad-name=9"
check "probe stderr" "$(cat "$T/err")" ""
check "box" "$(ls -A "$T/box" | tr '\n' ' ')" "bad_link f.txt good_link names out_link "
check "outside" "$(ls -A "$T/outside" | tr '\n' ' ')$(cat "$T/outside/secret.txt")" \
    "secret.txt secret"

"$weft" run --dir "$T/box::box" --invoke use-after-drop "$comp" > "$T/out" 2> "$T/err"
check "use-after-drop status" "$?" 3
grep -q "descriptor: [0-9]* is not a live handle" "$T/err" ||
    check "use-after-drop trap" "$(head -n 1 "$T/err")" "descriptor: N is not a live handle"

[ $fail = 0 ] && echo "fs_test: ok"
exit $fail
