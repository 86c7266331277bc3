#!/bin/sh
# crash_test.sh WRITER WORKDIR BATCH [ROUNDS] — kill -9 durability test.
#
# Each round starts `WRITER write` on the same data directory (keys of round
# i start at i * 10^7, so rounds never collide), SIGKILLs it, then `WRITER
# check` reopens the directory and verifies every N that any round printed
# as committed. Even rounds kill after a random 10-200 ms from the start
# (in the first round that can be while the directory is being created);
# odd rounds wait until the writer has printed a commit (at most 20 s),
# then kill after a random 0-190 ms, so the test proves something however
# slow the build or the machine (under ASan at load 25 no commit came
# within 200 ms of the start). Fails if the db does not reopen, a
# committed N is missing or wrong, or no round committed anything at all.
# Bounded: ROUNDS x (20 s + 200 ms + a check).
set -eu
writer=$1
work=$2
batch=$3
rounds=${4:-20}

rm -rf "$work"
mkdir -p "$work"
db="$work/db"
total=0
i=0
while [ "$i" -lt "$rounds" ]; do
    ms=$(od -An -N2 -tu2 /dev/urandom | awk '{ printf "%.3f", (10 + $1 % 191) / 1000 }')
    when=s
    "$writer" write "$db" $((i * 10000000)) "$batch" > "$work/out.$i" &
    pid=$!
    if [ $((i % 2)) -eq 1 ]; then
        ms=$(od -An -N2 -tu2 /dev/urandom | awk '{ printf "%.3f", ($1 % 191) / 1000 }')
        waited=0
        while [ ! -s "$work/out.$i" ] && [ "$waited" -lt 400 ] && kill -0 "$pid" 2>/dev/null; do
            sleep 0.05
            waited=$((waited + 1))
        done
        when="s after its first commit"
    else
        when="s"
    fi
    sleep "$ms"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    n=$("$writer" check "$db" "$work"/out.*) || {
        echo "round $i: check failed (killed after ${ms}${when})" >&2
        exit 1
    }
    echo "round $i: killed after ${ms}${when}, $n committed keys verified"
    total=$n
    i=$((i + 1))
done
if [ "$total" -eq 0 ]; then
    echo "no round committed anything: the test proved nothing" >&2
    exit 1
fi
rm -rf "$work"
echo "ok: $total committed keys survived $rounds kills"
