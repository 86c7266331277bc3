#!/bin/sh
# Differential test of weft's two tiers (docs/jit.md): every module runs
# through diff_run with the interpreter and with the compiled tier, and the
# two outputs must be identical line for line: every call's results, trap
# kind, the fuel left after it and the trap's backtrace (--show-fuel).
#
#   diff_tiers.sh [-g SEED N GENDIR] DIFF_RUN [DIR...]
#
# -g first writes N modules made by gen_modules.py with SEED into GENDIR
# and adds it (WEFT_GEN_SIMD=1 in the environment makes SIMD ones, which
# run mixed: their SIMD functions stay interpreted). Files whose names
# start with '.' are skipped. Exit status 1 on the first module whose
# outputs differ (both printed) or that brings a sanitizer report, 77 when
# python3 is missing for -g.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
gendir=
if [ "${1:-}" = "-g" ]; then
    if [ $# -lt 5 ]; then
        echo "usage: diff_tiers.sh [-g SEED N GENDIR] DIFF_RUN [DIR...]" >&2
        exit 2
    fi
    if ! command -v python3 >/dev/null 2>&1; then
        echo "SKIP: python3 not found"
        exit 77
    fi
    seed=$2 n=$3 gendir=$4
    shift 4
    rm -rf "$gendir"
    python3 "$here/gen_modules.py" "$seed" "$n" "$gendir" >/dev/null
fi
if [ $# -lt 1 ]; then
    echo "usage: diff_tiers.sh [-g SEED N GENDIR] DIFF_RUN [DIR...]" >&2
    exit 2
fi
run=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

count=0
for dir in ${gendir:+"$gendir"} "$@"; do
    for m in "$dir"/*; do
        case $(basename "$m") in .*) continue ;; esac
        [ -f "$m" ] || continue
        "$run" --show-fuel "$m" >"$tmp/interp" 2>&1 || true
        "$run" --tier jit --show-fuel "$m" >"$tmp/jit" 2>&1 || true
        # a sanitizer's report fails the module even when both tiers print
        # the same one
        if grep -q -e 'Sanitizer' -e 'runtime error:' "$tmp/interp" "$tmp/jit"; then
            echo "SANITIZER REPORT: $m"
            grep -h -A20 -e 'Sanitizer' -e 'runtime error:' "$tmp/interp" "$tmp/jit" | head -60
            exit 1
        fi
        if ! cmp -s "$tmp/interp" "$tmp/jit"; then
            echo "DIFFERENT: $m (interpreter first, compiled tier second)"
            diff "$tmp/interp" "$tmp/jit" | head -40
            exit 1
        fi
        count=$((count + 1))
    done
done
echo "diff_tiers: $count modules, the tiers agree on every call, trap, backtrace and fuel"
