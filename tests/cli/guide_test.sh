#!/bin/sh
# tests/cli/guide_test.sh WEFT CLANG WAT2WASM REPO — runs docs/guide.md.
#
# The guide is the test: every file block (a ``` block right after a line
# `<!-- file: NAME -->`) is written to NAME, and every `$ COMMAND` line of
# a ```console block is run with sh, in order, in one scratch directory,
# with `weft`, `clang` and `wat2wasm` on PATH and WEFT naming the
# repository (as the guide's set-up says). Each command must exit 0 and
# print (stdout and stderr together) exactly the lines that follow it in
# the block, where a line `...` stands for any number of lines. So the
# guide cannot show a command or an output weft does not give.
set -u
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
weft=$(abs "$1")
clang=$2
wat2wasm=$3
repo=$(abs "$4")
guide=$repo/docs/guide.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin" "$tmp/work" "$tmp/home"
ln -s "$weft" "$tmp/bin/weft"
ln -s "$(command -v "$clang")" "$tmp/bin/clang"
ln -s "$(command -v "$wat2wasm")" "$tmp/bin/wat2wasm"

# The guide as a script of `file NAME` and `step COMMAND` calls, each
# reading its file's text or its expected output from a here-document.
awk '
function quote(s) { gsub(/\047/, "\047\\\047\047", s); return "\047" s "\047" }
/^<!-- file: .* -->$/ { name = $3; next }
/^```/ {
    if (mode == "") {
        if (name != "") { mode = "file"; print "file " quote(name) " <<\047GUIDE_EOF\047"; name = "" }
        else if ($0 == "```console") mode = "console"
        else mode = "other"
        next
    }
    if (mode == "file" || (mode == "console" && open)) print "GUIDE_EOF"
    mode = ""; open = 0
    next
}
mode == "file" { print; next }
mode == "console" && /^\$ / {
    if (open) print "GUIDE_EOF"
    print "step " quote(substr($0, 3)) " <<\047GUIDE_EOF\047"; open = 1
    next
}
mode == "console" { print; next }
' "$guide" >"$tmp/script.sh"

failures=0
steps=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

file() {
    cat >"$tmp/work/$1"
}

# match WANT GOT: 0 when GOT's lines are WANT's, a WANT line "..." matching
# any number of GOT lines (the fewest that let the rest match).
match() {
    awk '
    NR == FNR { want[++nw] = $0; next }
    { got[++ng] = $0 }
    function m(i, j,   k) {
        if (i > nw) return j > ng
        if (want[i] == "...") {
            for (k = j; k <= ng + 1; k++) if (m(i + 1, k)) return 1
            return 0
        }
        return j <= ng && want[i] == got[j] && m(i + 1, j + 1)
    }
    END { exit m(1, 1) ? 0 : 1 }
    ' "$1" "$2"
}

step() {
    steps=$((steps + 1))
    cat >"$tmp/want"
    (cd "$tmp/work" && PATH="$tmp/bin:$PATH" WEFT="$repo" HOME="$tmp/home" \
        timeout 120 sh -c "$1" </dev/null >"$tmp/got" 2>&1)
    rc=$?
    if [ "$rc" -ne 0 ]; then
        fail "\$ $1: exit status $rc"
        sed 's/^/    got: /' "$tmp/got" | head -20
    elif ! match "$tmp/want" "$tmp/got"; then
        fail "\$ $1: output differs from the guide"
        sed 's/^/    want: /' "$tmp/want" | head -20
        sed 's/^/    got:  /' "$tmp/got" | head -20
    else
        echo "ok: \$ $1"
    fi
}

. "$tmp/script.sh"

if [ "$steps" -lt 10 ]; then
    fail "only $steps commands found in $guide: the extraction is broken"
fi
if [ "$failures" -ne 0 ]; then
    echo "$failures of $steps commands of docs/guide.md failed"
    exit 1
fi
echo "all $steps commands of docs/guide.md gave the output the guide shows"
