#!/bin/sh
# `weft run` of WASI preview 1 test programs (tests/wasi/guests) made preview 2
# command components with jco's adapter (jco new --wasi-command): each must
# give the same output and exit status as the preview 1 module under weft run,
# and leave the same files behind (the file system cases run each in a scratch
# directory of its own, built the same way).
# Exit statuses: preview 2 0.2's exit takes result<_, _>, so the adapter maps
# every nonzero proc_exit code to status 1 (docs/components.md).
# Where the adapter itself answers otherwise than weft's preview 1 (listed per
# case below and in docs/components.md, "Preview 1 programs as components"),
# the program's failed checks must be exactly those, each seen.
#   p2_run_test.sh CASE WEFT COMPONENTS-DIR WASI-GUESTS-DIR
# CASE_walk: CASE with paths resolved by the fallback walk, not openat2.
# Exits 77 (skipped) when the components were not built (no jco).
set -u
case_=$1
weft=$2
cdir=$3
gdir=$4
prog=${case_%_walk}
comp=$cdir/p2_$prog.wasm
. "$(dirname "$0")/common.sh"
component_setup "$comp"
[ "$prog" != "$case_" ] && export WEFT_WASI_FORCE_WALK=1

# What a scratch directory holds: every name with its type, size, link
# count and symlink target (times aside: they differ from run to run).
tree() { (cd "$1" && find . -printf '%p %y %s %n %l\n' | sed "s|$1|BOX|g" | LC_ALL=C sort); }

# run V ARGS...: V is p1 (the module) or p2 (the component); $opts with BOX
# standing for the run's own scratch directory $T/V, set up by $scene first;
# stdin from $input. Output in $T/V.out and .err, status in $T/V.rc.
run() {
    v=$1
    shift
    rm -rf "${T:?}/$v"
    mkdir "$T/$v"
    if [ -n "$scene" ]; then $scene "$T/$v"; fi
    if [ "$v" = p1 ]; then
        file=$gdir/$prog.wasm
    else
        cp "$comp" "$T/$prog.wasm" # the same file name: the same argv[0]
        file=$T/$prog.wasm
    fi
    o=$(printf '%s' "$opts" | sed "s|BOX|$T/$v|g")
    # shellcheck disable=SC2086
    "$weft" run $o "$file" "$@" < "$input" > "$T/$v.out" 2> "$T/$v.err"
    echo $? > "$T/$v.rc"
}

# compare WANT-P2-STATUS ARGS...: the module and the component run the same
# way; outputs and scratch trees must match, the component's status is
# WANT-P2-STATUS or, when empty, the module's. With $differ (EREs, one a
# line) the component's failed checks must all match one of them, and each
# must match at least one: then the component prints no "... ok" and exits
# 1. With $traps the component must trap (status 3) with that message.
compare() {
    want_p2=$1
    shift
    run p1 "$@"
    run p2 "$@"
    p1=$(cat "$T/p1.rc")
    p2=$(cat "$T/p2.rc")
    if [ -n "$differ" ]; then
        printf '%s\n' "$differ" > "$T/differ"
        grep -E '^[^ ]*\.c:[0-9]+: ' "$T/p2.err" > "$T/p2.checks"
        if grep -v -E -f "$T/differ" "$T/p2.checks" > "$T/p2.other"; then
            sed 's/^/FAIL: a check the adapter does not explain: /' "$T/p2.other"
            fail=1
        fi
        while read -r part; do
            if ! grep -q -E -e "$part" "$T/p2.checks"; then
                echo "FAIL: no check differed as '$part'"
                fail=1
            fi
        done < "$T/differ"
        check "module output" "$(cat "$T/p1.out")" "$prog ok"
        check "component output" "$(cat "$T/p2.out")" ""
        check "exit status (preview 1 gave $p1)" "$p2" 1
        echo "p2_run_test $case_: $(wc -l < "$T/p2.checks") checks differ as documented"
    elif [ -n "$traps" ]; then
        check "module output" "$(cat "$T/p1.out")" "$prog ok"
        check "component output" "$(cat "$T/p2.out")" ""
        check "exit status (preview 1 gave $p1)" "$p2" 3
        grep -q -e "$traps" "$T/p2.err" || check "component trap" "$(head -n 1 "$T/p2.err")" "$traps"
    else
        check "output" "$(cat "$T/p2.out")" "$(cat "$T/p1.out")"
        check "exit status (preview 1 gave $p1)" "$p2" "${want_p2:-$p1}"
        if [ -s "$T/p2.err" ]; then sed 's/^/  component stderr: /' "$T/p2.err"; fi
    fi
    if [ -s "$T/p1.err" ]; then sed 's/^/  module stderr: /' "$T/p1.err"; fi
    check "files left" "$(tree "$T/p2")" "$(tree "$T/p1" | sed "$tree_fix")"
}

# The scene of tests/wasi's sandbox case (guests/sandbox.c), in $1.
sandbox_scene() {
    mkdir -p "$1/box/sub" "$1/outside"
    echo "top secret" > "$1/outside/secret.txt"
    touch -d @1000000000 "$1/outside/secret.txt"
    echo inner > "$1/box/inner.txt"
    ln -s /etc "$1/box/etc_link"
    ln -s .. "$1/box/up"
    ln -s ../outside/secret.txt "$1/box/out_file"
    ln -s "$1/outside/secret.txt" "$1/box/abs_file"
    ln -s ../outside/secret.txt "$1/box/victim_link"
    ln -s ../../outside "$1/box/sub/deep_up"
    ln -s inner.txt "$1/box/in_link"
}

opts=""
scene=""
input=/dev/null
differ=""
traps=""
tree_fix="" # a sed script: what the module's files would be after the component's differences
case $prog in
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
files)
    # The adapter: writes only the first buffer of a scatter list (a short
    # write: 3 of 5, 1 of 3 bytes; so the file is 13 bytes, not 14, and
    # the checks of its content and size differ); fd_fdstat_set_flags with
    # another sync mode is INVAL, not NOTSUP; no fd_fdstat_set_rights
    # (NOTSUP) and so no dropped right; unknown oflags bits are ignored;
    # no fd_allocate (NOTSUP); fd_read of a directory is BADF, not ISDIR.
    opts="--dir BOX::."
    differ='n == 5 failed: 3 != 5$
n == 3 failed: 1 != 3$
strlen\(want\) failed: 13 != 14$
size == 14 failed: 13 != 14$
FDFLAGS_SYNC\) == __WASI_ERRNO_NOTSUP failed: 28 != 58$
fd_fdstat_set_rights\(.* failed: 58 != 
NOTCAPABLE failed: 0 != 76$
0x10, rw, 0, 0, &fd\) == __WASI_ERRNO_INVAL failed: 0 != 28$
fd_allocate\(.* failed: 58 != 0$
fs.size == 100 failed: 0 != 100$
fd_read\(d, .*ISDIR failed: 8 != 31$'
    tree_fix='s/^\(\.\/data\/moved\.txt f\|\.\/hard\.txt f\) 14 /\1 13 /'
    compare ""
    ;;
sandbox)
    # Preview 2 has no NOTCAPABLE: an escape is not-permitted, which the
    # adapter gives as PERM (63), not NOTCAPABLE (76).
    scene=sandbox_scene
    opts="--dir BOX/box::/box"
    differ=': 63 != 76$'
    compare ""
    check "secret mtime" "$(stat -c %Y "$T/p2/outside/secret.txt")" 1000000000
    check "secret content" "$(cat "$T/p2/outside/secret.txt")" "top secret"
    ;;
dir_rights)
    # Preview 2 has no rights: the adapter makes up a descriptor's from its
    # type and flags and has no fd_fdstat_set_rights (NOTSUP); it answers
    # BADF itself for a directory used as a stream (read, seek, tell,
    # allocate, set_size, advise, set_flags, sync), and it opens "." with
    # APPEND (a write flag it keeps to itself) where weft's preview 1 says
    # ISDIR.
    opts="--dir BOX::box"
    differ='fs_rights_inheriting == 0 failed
fs_rights_base == (0|FILE_RIGHTS) failed
fd_p?read\(d, .*ISDIR failed: 8 != 31$
NOTCAPABLE failed: 8 != 76$
fd_sync\(pre\) == 0 failed: 8 != 0$
fd_fdstat_set_rights\(.* failed: 58 != 76$
FDFLAGS_APPEND, &fd\) == __WASI_ERRNO_ISDIR failed: 0 != 31$'
    compare ""
    ;;
fault)
    # Bad guest pointers: preview 1 answers FAULT; the adapter reads and
    # writes guest memory itself, so the first one traps the call (status
    # 3), with nothing done on the host.
    opts="--dir BOX::/box"
    traps="out of bounds memory access"
    compare ""
    ;;
poll)
    # The adapter fails poll_oneoff as a whole (INVAL) on an unknown clock
    # where preview 1 gives that subscription an error event.
    echo ready > "$T/input"
    input=$T/input
    differ='poll_oneoff\(subs, evs, 3, &n\) == 0 failed: 28 != 0$
n == 2 failed: 0 != 2$
evs\[[01]\]\.(userdata|error|type) == '
    compare ""
    ;;
broken_pipe)
    # The reader leaves after one line: the guest gets EPIPE and exits 3
    # (status 1 from the component), never dies of SIGPIPE.
    for v in p1 p2; do
        if [ $v = p1 ]; then file=$gdir/$prog.wasm; else cp "$comp" "$T/$prog.wasm"; file=$T/$prog.wasm; fi
        { "$weft" run "$file" 2> "$T/$v.err"; echo $? > "$T/$v.rc"; } | head -n 1 > "$T/$v.out"
    done
    check "module status" "$(cat "$T/p1.rc")" 3
    check "component status" "$(cat "$T/p2.rc")" 1
    check "output" "$(cat "$T/p2.out")" "$(cat "$T/p1.out")"
    check "component stderr" "$(cat "$T/p2.err")" ""
    ;;
*)
    echo "unknown case $case_"
    exit 2
    ;;
esac
[ $fail = 0 ] && echo "p2_run_test $case_: ok"
exit $fail
