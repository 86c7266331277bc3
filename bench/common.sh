# bench/common.sh — the preamble the bench/*.sh scripts share; each sources
# it first, naming itself and its build directory:
#   . "$(dirname "$0")/common.sh" NAME "${1:-build}"
# It sets BUILD and TMP (BENCH_TMPDIR, else $TMPDIR, else /tmp) and defines
# die (a message "NAME: ..." on stderr, exit 1), need_exe and need_wasm
# (die naming the first of their files that is missing, with what to do),
# make_work (a fresh $work under $TMP, removed at exit; a script with more
# to clean up sets its own EXIT trap after it, removing $work too) and
# machine (one line: architecture, cores, kernel and load).
BENCH_NAME=$1
BUILD=$2
TMP=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}

die() {
    echo "$BENCH_NAME: $*" >&2
    exit 1
}

need_exe() {
    local f
    for f; do [ -x "$f" ] || die "$f not found: build first (make)"; done
}

need_wasm() {
    local f
    for f; do [ -f "$f" ] || die "$f not found (clang with wasi-libc?)"; done
}

make_work() {
    work=$(mktemp -d "$TMP/weft-$BENCH_NAME-XXXXXX")
    trap 'rm -rf "$work"' EXIT
}

machine() {
    echo "machine: $(uname -m), $(nproc) cores; $(uname -sr); load $(cut -d' ' -f1-3 /proc/loadavg)"
}
