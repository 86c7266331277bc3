#!/bin/sh
# tests/examples/cluster_test.sh BUILD_DIR EXAMPLE — e2e test of
# examples/cluster.sh: runs one distributed example on three nodes and
# checks that the script succeeded, that the three nodes' converged answers
# (its `node N: ANSWER` lines after act 3) are equal, and that they equal
# what the example's CRDT must give: every write counted once, the latest
# stamp winning among writes made apart, an add winning over a concurrent
# remove. The concurrent posts of act 1 (comments) may come in any order,
# the same on every node; the three made apart come first, newest first.
set -u
build=$1
example=$2
here=$(dirname "$0")
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 240 bash "$here/../../examples/cluster.sh" "$build" "$example" >"$out" 2>&1
rc=$?
cat "$out"
[ "$rc" -eq 0 ] || { echo "FAIL: cluster.sh $example exited $rc"; exit 1; }
answers=$(grep -E '^node [123]: ' "$out" | grep -v 'http://' | sed 's/^node [123]: //')
[ "$(printf '%s\n' "$answers" | wc -l)" -eq 3 ] || { echo "FAIL: want three answers"; exit 1; }
[ "$(printf '%s\n' "$answers" | sort -u | wc -l)" -eq 1 ] || {
    echo "FAIL: the nodes' answers differ"
    exit 1
}
got=$(printf '%s\n' "$answers" | head -1)
case $example in
inventory) want="62" ;;
status) want="away until monday" ;;
tags) want="blue | green | red" ;;
settings) want="region=eu west | theme=solarized | timeout=30s" ;;
comments)
    rest=${got#apart on 3 | apart on 2 | apart on 1 | }
    sorted=$(printf '%s\n' "$rest" | tr '|' '\n' | sed 's/^ *//; s/ *$//' | sort | paste -sd,)
    if [ "$rest" != "$got" ] && [ "$sorted" = "first from 1,first from 2,first from 3" ]; then
        want=$got
    else
        want="apart on 3 | apart on 2 | apart on 1 | (first from 1, 2, 3 in some order)"
    fi
    ;;
*) echo "FAIL: unknown example $example"; exit 1 ;;
esac
[ "$got" = "$want" ] || { echo "FAIL: converged to [$got], want [$want]"; exit 1; }
echo "cluster_test $example: passed"
