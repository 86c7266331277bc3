#!/usr/bin/env bash
# bench/cosmbench.sh BUILD_DIR — Cosmictron tables through a guest against
# liblmdb itself (docs/cosmictron.md "Benchmark"): runs
# `BUILD/bench/cosmbench BUILD/bench/cosmbench_guest.wasm FRESH_DIR N ROUNDS`
# in a new temporary directory under BENCH_TMPDIR (default $TMPDIR or
# /tmp), removed at the end. Each measure is one reducer call in one
# transaction, as the node runs a call, against the same work on LMDB: inserts
# by primary key (and with one secondary index entry), point lookups
# (index_scan [k, k]), range scans by primary key and by a secondary index.
# N is BENCH_COSM_N (default 200,000 rows), ROUNDS BENCH_COSM_ROUNDS
# (default 21): after a warm-up, each round runs the guest and LMDB on fresh
# directories, alternated, and the medians of the rounds' rates and of their
# paired ratios are shown with the ratios' quartiles and range, for wall
# and for CPU time. The issue's target (inserts and point lookups at >= 50%
# of LMDB's own rate) is reported, not asserted; checksums of the guest's
# and LMDB's reads that differ fail the script.
set -euo pipefail

. "$(dirname "$0")/common.sh" cosmbench "${1:-build}"
N=${BENCH_COSM_N:-200000}
ROUNDS=${BENCH_COSM_ROUNDS:-21}
BIN=$BUILD/bench/cosmbench
GUEST=$BUILD/bench/cosmbench_guest.wasm

need_exe "$BIN"
need_wasm "$GUEST"

make_work

echo "load: $(cut -d' ' -f1-3 /proc/loadavg), commit $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo '?')"
out=$("$BIN" "$GUEST" "$work/dir" "$N" "$ROUNDS") || die "cosmbench failed: $out"
echo "$out"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$out" | grep -q '^checksums: match' || die "the guest's and LMDB's reads differ"
echo "target: inserts and point lookups >= 50% of LMDB's rate, wall-time median (reported, not asserted)"
