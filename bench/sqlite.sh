#!/usr/bin/env bash
# bench/sqlite.sh [BUILD_DIR] — SQLite's speedtest1 in weft against native.
#
# SQLite is not in the repository: SQLITE_SRC names a directory holding an
# amalgamation (sqlite3.c, sqlite3.h) and test/speedtest1.c or speedtest1.c
# from the same source tree (`make sqlite3.c` in a SQLite checkout makes the
# amalgamation). Without it the script says so and exits 0.
# Both builds use the same options: no threads, no extensions, an in-memory
# database (speedtest1 ... :memory:) and bench/sqlite_memvfs.c as the only VFS
# (wasi-libc has no file locks). Native: cc -O2; wasm: clang -O2
# --target=wasm32-wasi. It runs native and every weft of WEFTS (default
# BUILD_DIR/weft; give several, e.g. a before and an after build, to compare
# them in one run) alternated, BENCH_RUNS rounds (default 5), and prints the
# median user CPU time of each and its ratio to native: CPU time rather than
# wall time, because the machine is shared. SQLITE_SIZE is speedtest1's
# --size (default 10); SQLITE_TIER the tier every weft runs it in
# (`weft run --tier`: interp, the default here, jit or auto, weft run's own
# default).
set -euo pipefail

BUILD=${1:-build}
RUNS=${BENCH_RUNS:-5}
SIZE=${SQLITE_SIZE:-10}
TIER=${SQLITE_TIER:-interp}
WEFTS=${WEFTS:-$BUILD/weft}
HERE=$(cd "$(dirname "$0")" && pwd)

die() { echo "bench/sqlite: $*" >&2; exit 1; }
if [ -z "${SQLITE_SRC:-}" ] || [ ! -f "$SQLITE_SRC/sqlite3.c" ]; then
    echo "bench/sqlite: skipped: set SQLITE_SRC to a directory with sqlite3.c, sqlite3.h and speedtest1.c"
    exit 0
fi
speedtest=$SQLITE_SRC/speedtest1.c
[ -f "$speedtest" ] || speedtest=$SQLITE_SRC/test/speedtest1.c
[ -f "$speedtest" ] || die "no speedtest1.c in $SQLITE_SRC or $SQLITE_SRC/test"
case $RUNS in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive integer" ;; esac
case $TIER in interp | jit | auto) ;; *) die "SQLITE_TIER must be interp, jit or auto" ;; esac
for w in $WEFTS; do [ -x "$w" ] || die "$w not found: build first (make)"; done
command -v clang >/dev/null || die "clang not found (scripts/install-deps.sh)"

out=$BUILD/bench/sqlite
mkdir -p "$out"
defs="-DSQLITE_OS_OTHER=1 -DSQLITE_TEMP_STORE=3 -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION
      -DSQLITE_OMIT_WAL -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_OMIT_DEPRECATED -I$SQLITE_SRC"
srcs="$speedtest $SQLITE_SRC/sqlite3.c $HERE/sqlite_memvfs.c"
# shellcheck disable=SC2086
if [ ! -x "$out/speedtest1-native" ] || [ "$SQLITE_SRC/sqlite3.c" -nt "$out/speedtest1-native" ]; then
    echo "building the native speedtest1 (a few minutes)..." >&2
    cc -O2 -w $defs -o "$out/speedtest1-native" $srcs -lm
fi
# shellcheck disable=SC2086
if [ ! -f "$out/speedtest1.wasm" ] || [ "$SQLITE_SRC/sqlite3.c" -nt "$out/speedtest1.wasm" ]; then
    echo "building speedtest1.wasm (a few minutes)..." >&2
    clang --target=wasm32-wasi -O2 -w $defs -Wl,-z,stack-size=1048576 -o "$out/speedtest1.wasm" $srcs
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# user_time LABEL CMD...: appends CMD's user CPU seconds to $tmp/LABEL
user_time() {
    local label=$1
    shift
    # getrusage's microseconds: /usr/bin/time rounds to 10 ms, a tenth of native's time
    # (a difference: a python3 started through a shim inherits its children's)
    python3 -c 'import resource, subprocess, sys
t0 = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
subprocess.run(sys.argv[2:], check=True, stdout=open(sys.argv[1] + "out", "w"), stderr=open(sys.argv[1] + "err", "w"))
print("%.3f" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - t0))' "$tmp/" "$@" --size "$SIZE" :memory: >"$tmp/t" 2>/dev/null ||
        die "$label failed: $(tail -3 "$tmp/err")"
    grep -q TOTAL "$tmp/out" || die "$label printed no TOTAL line"
    cat "$tmp/t" >>"$tmp/$label"
}
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "SQLite speedtest1 --size $SIZE :memory:, weft --tier $TIER, median user CPU seconds of $RUNS alternated rounds"
echo "machine: $(uname -m), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 0; r < RUNS; r++)); do
    user_time native "$out/speedtest1-native"
    i=0
    for w in $WEFTS; do
        user_time "weft$i" "$w" run --tier "$TIER" "$out/speedtest1.wasm"
        i=$((i + 1))
    done
done
nat=$(median "$tmp/native")
printf '| %-40s | %8s | %9s |\n' build "user s" "/native"
printf '|%s|%s|%s|\n' ------------------------------------------ ----------: -----------:
printf '| %-40s | %8s | %9s |\n' native "$nat" 1.00
i=0
for w in $WEFTS; do
    m=$(median "$tmp/weft$i")
    printf '| %-40s | %8s | %9s |\n' "$w" "$m" "$(awk -v a="$m" -v b="$nat" 'BEGIN { printf "%.1f", a / b }')"
    i=$((i + 1))
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
