#!/usr/bin/env bash
# bench/cosmbench.sh BUILD_DIR — Cosmictron tables through a guest against
# liblmdb itself (docs/cosmictron.md "Benchmark"): runs
# `BUILD/bench/cosmbench BUILD/bench/cosmbench_guest.wasm FRESH_DIR N RUNS`
# in a new temporary directory under BENCH_TMPDIR (default $TMPDIR or
# /tmp), removed at the end. Each measure is one reducer call in one
# transaction, as the node runs a call, against the same work on LMDB: inserts
# by primary key (and with one secondary index entry), point lookups
# (index_scan [k, k]), range scans by primary key and by a secondary index.
# N is BENCH_COSM_N (default 200,000 rows), RUNS BENCH_COSM_RUNS (default 3;
# the best of them is shown). The issue's target (inserts and point lookups
# at >= 50% of LMDB's own rate) is reported, not asserted; checksums of the
# guest's and LMDB's reads that differ fail the script.
set -euo pipefail

BUILD=${1:-build}
N=${BENCH_COSM_N:-200000}
RUNS=${BENCH_COSM_RUNS:-3}
TMP=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
BIN=$BUILD/bench/cosmbench
GUEST=$BUILD/bench/cosmbench_guest.wasm

die() { echo "cosmbench: $*" >&2; exit 1; }
[ -x "$BIN" ] || die "$BIN not found: build first (make)"
[ -f "$GUEST" ] || die "$GUEST not found (clang with wasi-libc?)"

work=$(mktemp -d "$TMP/weft-cosmbench-XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "load: $(cut -d' ' -f1-3 /proc/loadavg), commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo '?')"
out=$("$BIN" "$GUEST" "$work/dir" "$N" "$RUNS") || die "cosmbench failed: $out"
echo "$out"
echo "$out" | grep -q '^checksums: match' || die "the guest's and LMDB's reads differ"
echo "target: inserts and point lookups >= 50% of LMDB's rate (reported, not asserted)"
