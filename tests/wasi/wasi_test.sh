#!/bin/sh
# wasi_test.sh CASE RUNNER GUEST_DIR — one WASI end-to-end case (CTest
# label `abi`). RUNNER is wasi_run, GUEST_DIR holds the guests' .wasm
# files. Each case prepares a scratch directory, runs a guest, then checks
# its exit status, its output and, for the file system cases, what it left
# (or did not touch) on the host. Prints what differed and exits 1 on a
# failure.
set -u
case_name=$1
run=$2
g=$3

T=$(mktemp -d "${TMPDIR:-/tmp}/weft-wasi.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT INT TERM
status=0

fail() {
    echo "FAIL ($case_name): $*" >&2
    status=1
}

# expect_eq WHAT GOT WANT
expect_eq() {
    if [ "$2" != "$3" ]; then
        fail "$1: got [$2], want [$3]"
    fi
}

# run_guest OUT_FILE ARGS... — runs the driver, stdout to OUT_FILE,
# stderr to $T/stderr, exit status in $rc.
run_guest() {
    out=$1
    shift
    "$run" "$@" >"$out" 2>"$T/stderr"
    rc=$?
    if [ -s "$T/stderr" ]; then
        sed 's/^/  guest stderr: /' "$T/stderr" >&2
    fi
}

# The scene for the sandbox cases, described in guests/sandbox.c.
sandbox_scene() {
    mkdir -p "$T/box/sub" "$T/outside"
    echo "top secret" >"$T/outside/secret.txt"
    touch -d @1000000000 "$T/outside/secret.txt"
    echo inner >"$T/box/inner.txt"
    ln -s /etc "$T/box/etc_link"
    ln -s .. "$T/box/up"
    ln -s ../outside/secret.txt "$T/box/out_file"
    ln -s "$T/outside/secret.txt" "$T/box/abs_file"
    ln -s ../outside/secret.txt "$T/box/victim_link"
    ln -s ../../outside "$T/box/sub/deep_up"
    ln -s inner.txt "$T/box/in_link"
}

sandbox_check() {
    expect_eq "exit status" "$rc" 0
    expect_eq "output" "$(cat "$T/out")" "sandbox ok"
    expect_eq "entries of T" "$(ls -A "$T" | grep -v -e '^out$' -e '^stderr$' | tr '\n' ' ')" \
        "box outside "
    expect_eq "entries of outside" "$(ls -A "$T/outside" | tr '\n' ' ')" "secret.txt "
    expect_eq "secret content" "$(cat "$T/outside/secret.txt")" "top secret"
    expect_eq "secret mtime" "$(stat -c %Y "$T/outside/secret.txt")" 1000000000
    expect_eq "secret links" "$(stat -c %h "$T/outside/secret.txt")" 1
    expect_eq "inner content" "$(cat "$T/box/inner.txt")" "inner"
    expect_eq "entries of box" "$(ls -A "$T/box" | tr '\n' ' ')" \
        "abs_file etc_link in_link inner.txt out_file sub up "
    expect_eq "entries of box/sub" "$(ls -A "$T/box/sub" | tr '\n' ' ')" "deep_up "
    expect_eq "deep_up target" "$(readlink "$T/box/sub/deep_up")" "../../outside"
}

case $case_name in
hello)
    run_guest "$T/out" "$g/hello.wasm"
    expect_eq "exit status" "$rc" 0
    expect_eq "output" "$(cat "$T/out")" "hello, wasi"
    ;;
args_env)
    # The driver's own environment must not leak into the guest.
    printf 'line one\nline two\n' | WEFT_HOST_ONLY=leak \
        "$run" --env WEFT_GREETING=hi --env EMPTY= --env 'SPACED=a b=c' \
        "$g/args_env.wasm" one 'two words' '' 'ü' >"$T/out" 2>"$T/stderr"
    rc=$?
    [ -s "$T/stderr" ] && sed 's/^/  guest stderr: /' "$T/stderr" >&2
    expect_eq "exit status" "$rc" 0
    cat >"$T/want" <<EOF
arg[0]=$g/args_env.wasm
arg[1]=one
arg[2]=two words
arg[3]=
arg[4]=ü
env=WEFT_GREETING=hi
env=EMPTY=
env=SPACED=a b=c
getenv=hi
line one
line two
args_env ok
EOF
    if ! cmp -s "$T/out" "$T/want"; then
        fail "output differs:"
        diff "$T/want" "$T/out" >&2
    fi
    ;;
clock_random)
    run_guest "$T/out" "$g/clock_random.wasm" "$(date +%s)"
    expect_eq "exit status" "$rc" 0
    expect_eq "output" "$(cat "$T/out")" "clock_random ok"
    ;;
files)
    mkdir "$T/box"
    run_guest "$T/out" --dir "$T/box::." "$g/files.wasm"
    expect_eq "exit status" "$rc" 0
    expect_eq "output" "$(cat "$T/out")" "files ok"
    b=$T/box
    expect_eq "moved.txt" "$(cat "$b/data/moved.txt")" "HELLO, wasi!!"
    expect_eq "hard link inode" "$(stat -c %i "$b/hard.txt")" "$(stat -c %i "$b/data/moved.txt")"
    expect_eq "symlink" "$(readlink "$b/data/link")" "moved.txt"
    expect_eq "mtime" "$(stat -c %Y "$b/times.txt")" 1234567890
    expect_eq "trunc size" "$(stat -c %s "$b/trunc.txt")" 3
    expect_eq "append" "$(cat "$b/append.txt" | tr '\n' ' ')" "ab cd "
    expect_eq "entries" "$(ls -A "$b" | tr '\n' ' ')" "append.txt data hard.txt times.txt trunc.txt "
    expect_eq "data entries" "$(ls -A "$b/data" | tr '\n' ' ')" "link moved.txt "
    ;;
sandbox)
    sandbox_scene
    run_guest "$T/out" --dir "$T/box::/box" "$g/sandbox.wasm"
    sandbox_check
    ;;
sandbox_walk)
    # The same attempts, resolved without openat2 (the fallback walk).
    sandbox_scene
    WEFT_WASI_FORCE_WALK=1 run_guest "$T/out" --dir "$T/box::/box" "$g/sandbox.wasm"
    sandbox_check
    ;;
files_walk)
    mkdir "$T/box"
    WEFT_WASI_FORCE_WALK=1 run_guest "$T/out" --dir "$T/box::." "$g/files.wasm"
    expect_eq "exit status" "$rc" 0
    expect_eq "output" "$(cat "$T/out")" "files ok"
    ;;
fault)
    mkdir "$T/box"
    run_guest "$T/out" --dir "$T/box::/box" "$g/fault.wasm" </dev/null
    expect_eq "exit status" "$rc" 0
    expect_eq "output" "$(cat "$T/out")" "fault ok"
    expect_eq "box entries" "$(ls -A "$T/box")" ""
    ;;
exit)
    run_guest "$T/out" "$g/exit.wasm" 7
    expect_eq "exit(7) status" "$rc" 7
    expect_eq "exit(7) output" "$(cat "$T/out")" "exiting with 7"
    run_guest "$T/out" "$g/exit.wasm" 7 raw
    expect_eq "proc_exit(7) status" "$rc" 7
    expect_eq "proc_exit(7) output" "$(cat "$T/out")" "exiting with 7"
    run_guest "$T/out" "$g/exit.wasm" 0 raw
    expect_eq "proc_exit(0) status" "$rc" 0
    ;;
poll)
    echo "ready" | "$run" "$g/poll.wasm" >"$T/out" 2>"$T/stderr"
    rc=$?
    [ -s "$T/stderr" ] && sed 's/^/  guest stderr: /' "$T/stderr" >&2
    expect_eq "exit status" "$rc" 0
    expect_eq "output" "$(cat "$T/out")" "poll ok"
    ;;
stdio_closed)
    # A closed host stream is a closed guest descriptor (BADF), not a crash.
    "$run" "$g/hello.wasm" >&- 2>"$T/stderr"
    rc=$?
    expect_eq "exit status" "$rc" 0
    expect_eq "stderr" "$(cat "$T/stderr")" ""
    ;;
broken_pipe)
    # The reader leaves after one line: the guest gets EPIPE and exits 3;
    # death by SIGPIPE would be 141 (or no status at all).
    { "$run" "$g/broken_pipe.wasm" 2>"$T/stderr"; echo $? >"$T/rc"; } | head -n 1 >"$T/out"
    expect_eq "exit status" "$(cat "$T/rc")" 3
    expect_eq "output" "$(cat "$T/out")" "line 0"
    expect_eq "stderr" "$(cat "$T/stderr")" ""
    ;;
dir_rights)
    mkdir "$T/box"
    run_guest "$T/out" --dir "$T/box::box" "$g/dir_rights.wasm" </dev/null
    expect_eq "exit status" "$rc" 0
    expect_eq "output" "$(cat "$T/out")" "dir_rights ok"
    expect_eq "box entries" "$(ls -A "$T/box")" ""
    ;;
sockets)
    mkdir "$T/box"
    run_guest "$T/out" --dir "$T/box::box" "$g/sockets.wasm" </dev/null
    expect_eq "exit status" "$rc" 0
    expect_eq "output" "$(cat "$T/out")" "sockets ok"
    expect_eq "box entries" "$(ls -A "$T/box")" ""
    # A socket as stdin (the one way a guest meets a socket) is no NOTSOCK.
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket, subprocess, sys
a, b = socket.socketpair()
sys.exit(subprocess.run(sys.argv[1:], stdin=a).returncode)' \
            "$run" "$g/sockets.wasm" stdin >"$T/out" 2>"$T/stderr"
        rc=$?
        [ -s "$T/stderr" ] && sed 's/^/  guest stderr: /' "$T/stderr" >&2
        expect_eq "stdin socket: exit status" "$rc" 0
        expect_eq "stdin socket: output" "$(cat "$T/out")" "sockets stdin ok"
    else
        echo "skip: python3 not found, no socket as stdin"
    fi
    ;;
*)
    echo "unknown case $case_name" >&2
    exit 2
    ;;
esac
exit $status
