#!/usr/bin/env bash
# bench/run.sh BUILD_DIR — weft against native code on the benchmark kernels.
#
# For every kernel built in BUILD_DIR/bench (see bench/CMakeLists.txt) runs
# the native build and `weft run KERNEL.wasm`, keeps the best
# (minimum) wall time of BENCH_RUNS runs (default 3), checks that both print
# the same checksum, and prints a Markdown table of times and weft/native
# ratios with their geometric mean, plus the machine it ran on. A checksum
# mismatch or a failed run is reported loudly and makes the script exit 1.
# Environment: BENCH_RUNS (runs per side), BENCH_KERNELS (space-separated
# subset, e.g. "fib sort"), BENCH_TIMEOUT (seconds per run, default 600),
# BENCH_SIMD=1 (also run KERNEL-simd.wasm, built with clang -msimd128, in
# two more columns: its time and its ratio to the scalar wasm's), BENCH_TIER
# (interp, the default: `weft run --tier interp`; jit: the weft column runs
# `weft run --tier jit`; both: the weft column interprets and two more
# columns give the compiled tier's time and its ratio to native, with their
# own geometric mean, each kernel's right after its interpreted runs).
set -euo pipefail

BUILD=${1:-build}
RUNS=${BENCH_RUNS:-3}
TIMEOUT=${BENCH_TIMEOUT:-600}
KERNELS=${BENCH_KERNELS:-fib sieve mandelbrot nbody hashmap sort vm sha256}
WEFT=$BUILD/weft

die() { echo "bench: $*" >&2; exit 1; }
[ -x "$WEFT" ] || die "$WEFT not found: build first (make)"
[ -d "$BUILD/bench" ] || die "$BUILD/bench not found: build first (make)"
case $RUNS in '' | *[!0-9]* | 0) die "BENCH_RUNS must be a positive integer" ;; esac

# run_best OUTVAR CMD... : runs CMD $RUNS times; sets OUTVAR_time to the best
# wall time in seconds and OUTVAR_out to its output (identical every run).
run_best() {
    local var=$1 best="" out="" first="" t0 t1 ns rc
    shift
    for ((i = 0; i < RUNS; i++)); do
        t0=$(date +%s%N)
        rc=0
        out=$(timeout "$TIMEOUT" "$@" 2>"$errfile") || rc=$?
        t1=$(date +%s%N)
        if [ "$rc" -ne 0 ]; then
            printf -v "${var}_time" '%s' "FAILED"
            printf -v "${var}_out" 'exit code %s: %s' "$rc" "$(head -c 300 "$errfile")"
            return 1
        fi
        if [ -n "$first" ] && [ "$out" != "$first" ]; then
            printf -v "${var}_time" '%s' "FAILED"
            printf -v "${var}_out" 'output changed between runs: %s then %s' "$first" "$out"
            return 1
        fi
        first=$out
        ns=$((t1 - t0))
        if [ -z "$best" ] || [ "$ns" -lt "$best" ]; then best=$ns; fi
    done
    printf -v "${var}_time" '%d.%03d' $((best / 1000000000)) $((best / 1000000 % 1000))
    printf -v "${var}_out" '%s' "$first"
}

errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || true)
native_cc=$(cat "$BUILD/bench/native-cc.txt" 2>/dev/null || echo "cc")
echo "weft benchmarks: best wall time of $RUNS run(s), in seconds"
echo "machine: $(uname -m), $(nproc) cores, ${cpu:-unknown cpu}; $(uname -sr)"
echo "weft: $("$WEFT" --version); native: $native_cc -O2; wasm: $(cat "$BUILD/bench/wasm-cc.txt" 2>/dev/null || echo clang) -O2 --target=wasm32-wasi"
echo
SIMD=${BENCH_SIMD:-0}
TIER=${BENCH_TIER:-interp}
case $TIER in interp | jit | both) ;; *) die "BENCH_TIER must be interp, jit or both" ;; esac
# the tier always named: `weft run`'s own default is auto (docs/jit.md)
weft_tier=(--tier interp)
[ "$TIER" = jit ] && weft_tier=(--tier jit)
jit_head="" jit_rule=""
if [ "$TIER" = both ]; then
    jit_head=$(printf ' %10s | %11s |' "jit s" "jit/native") jit_rule="-----------:|------------:|"
fi
simd_head="" simd_rule=""
if [ "$SIMD" = 1 ]; then
    simd_head=$(printf ' %10s | %11s |' "simd s" "simd/weft") simd_rule="-----------:|------------:|"
fi
printf '| %-10s | %10s | %10s | %11s |%s%s\n' kernel "native s" "weft s" "weft/native" "$simd_head" "$jit_head"
printf '|%s|%s|%s|%s|%s%s\n' ------------ -----------: -----------: ------------: "$simd_rule" "$jit_rule"

failed=0
ratios=()
jit_ratios=()
for k in $KERNELS; do
    wasm=$BUILD/bench/$k.wasm
    native=$BUILD/bench/$k-native
    if [ ! -f "$wasm" ] || [ ! -x "$native" ]; then
        echo "bench: $k: $wasm or $native missing (is clang installed?)" >&2
        failed=1
        continue
    fi
    note="" nat_time="" wft_time=""
    if ! run_best nat "$native" run; then
        note="native failed: $nat_out"
    elif ! run_best wft "$WEFT" run "${weft_tier[@]}" "$wasm"; then
        note="weft failed: $wft_out"
    elif [ "$nat_out" != "$wft_out" ]; then
        note="CHECKSUM MISMATCH: native $nat_out, weft $wft_out"
    fi
    if [ -n "$note" ]; then
        printf '| %-10s | %10s | %10s | %11s |\n' "$k" "${nat_time:-?}" "${wft_time:-?}" "-"
        echo "bench: *** $k: $note ***" >&2
        failed=1
        continue
    fi
    ratio=$(awk -v w="$wft_time" -v n="$nat_time" 'BEGIN { printf "%.2f", (n > 0 ? w / n : 0) }')
    ratios+=("$ratio")
    simd_cols=""
    if [ "$SIMD" = 1 ]; then
        if ! run_best simd "$WEFT" run "${weft_tier[@]}" "$BUILD/bench/$k-simd.wasm" || [ "$simd_out" != "$nat_out" ]; then
            echo "bench: *** $k-simd: ${simd_out} (native $nat_out) ***" >&2
            failed=1
            simd_time="?"
        fi
        simd_ratio=$(awk -v s="$simd_time" -v w="$wft_time" 'BEGIN { printf "%.2f", (w > 0 ? s / w : 0) }')
        simd_cols=$(printf ' %10s | %10sx |' "$simd_time" "$simd_ratio")
    fi
    jit_cols=""
    if [ "$TIER" = both ]; then
        if ! run_best jit "$WEFT" run --tier jit "$wasm" || [ "$jit_out" != "$nat_out" ]; then
            echo "bench: *** $k --tier jit: ${jit_out} (native $nat_out) ***" >&2
            failed=1
            jit_time="?"
        fi
        jit_ratio=$(awk -v s="$jit_time" -v n="$nat_time" 'BEGIN { printf "%.2f", (n > 0 ? s / n : 0) }')
        jit_ratios+=("$jit_ratio")
        jit_cols=$(printf ' %10s | %10sx |' "$jit_time" "$jit_ratio")
    fi
    printf '| %-10s | %10s | %10s | %10sx |%s%s\n' "$k" "$nat_time" "$wft_time" "$ratio" "$simd_cols" "$jit_cols"
done

if [ "${#ratios[@]}" -gt 0 ]; then
    geo=$(printf '%s\n' "${ratios[@]}" |
        awk '$1 > 0 { s += log($1); n++ } END { if (n) printf "%.2f", exp(s / n); else print "?" }')
    echo
    echo "geometric mean of weft/native over ${#ratios[@]} kernels: ${geo}x"
fi
if [ "${#jit_ratios[@]}" -gt 0 ]; then
    geo=$(printf '%s\n' "${jit_ratios[@]}" |
        awk '$1 > 0 { s += log($1); n++ } END { if (n) printf "%.2f", exp(s / n); else print "?" }')
    echo "geometric mean of jit/native over ${#jit_ratios[@]} kernels: ${geo}x"
fi
if [ "$failed" -ne 0 ]; then
    echo "bench: SOME KERNELS FAILED (see messages above)" >&2
    exit 1
fi
