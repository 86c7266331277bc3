#!/usr/bin/env bash
# examples/cluster.sh BUILD_DIR EXAMPLE — one of the five distributed
# examples on three nodes (EXAMPLE: inventory, status, tags, settings or
# comments; see examples/distributed_EXAMPLE/README.md).
#
# Starts three `weft serve` nodes on free loopback ports, each with a data
# directory of its own under a temporary directory, linked as peers (2 and
# 3 dial 1; gossip links 2 and 3). Deploys the example on node 1 and
# creates its context with nodes 2 and 3 as members: they are invited, fetch
# the app and join. Then, in three acts:
#
#   1. linked: every node writes at once (many calls each, in parallel);
#   2. apart: the nodes are restarted without links, and each makes the
#      example's conflicting write, one after the other (so their stamps are
#      ordered, and no node has seen the others' writes: they are truly
#      concurrent for the CRDT);
#   3. healed: the nodes are restarted linked; the script waits until every
#      node answers the same, and prints each node's answer.
#
# Each node's answer is one line `node N: ANSWER` (a multi-line answer is
# joined with " | "). Exits 0 when the three agree, 1 otherwise (or when a
# step failed), after stopping the nodes whatever happened. Needs only the
# weft binary: calls go through `weft call --arg` (docs/http.md).
set -uo pipefail

BUILD=${1:-}
EXAMPLE=${2:-}
case $EXAMPLE in
inventory | status | tags | settings | comments) ;;
*)
    echo "usage: examples/cluster.sh BUILD_DIR inventory|status|tags|settings|comments" >&2
    exit 2
    ;;
esac
WEFT=$BUILD/weft
WASM=$BUILD/examples/distributed_$EXAMPLE.wasm
[ -x "$WEFT" ] || { echo "cluster: $WEFT not found (build first: make)" >&2; exit 2; }
[ -f "$WASM" ] || { echo "cluster: $WASM not built (it needs clang and wasi-libc)" >&2; exit 2; }
DEADLINE=${CLUSTER_DEADLINE:-60} # seconds to wait for a join or for convergence

tmp=$(mktemp -d)
pids=(0 0 0 0)
stop_node() {
    local i=$1
    if [ "${pids[$i]}" != 0 ]; then
        kill -TERM "${pids[$i]}" 2>/dev/null
        wait "${pids[$i]}" 2>/dev/null
        pids[$i]=0
    fi
}
cleanup() {
    for i in 1 2 3; do stop_node "$i"; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    echo "cluster: $*" >&2
    for i in 1 2 3; do
        [ -f "$tmp/n$i.log" ] && sed "s/^/  node $i log: /" "$tmp/n$i.log" | tail -15 >&2
    done
    exit 1
}

# start_node I [PEER_ADDR]: starts node I (HTTP and peer links on free
# ports), dialling PEER_ADDR when given; waits until it serves.
start_node() {
    local i=$1 peer=${2:-}
    rm -f "$tmp/n$i.port" "$tmp/n$i.peerport"
    "$WEFT" serve --data-dir "$tmp/n$i" --listen 127.0.0.1:0 --port-file "$tmp/n$i.port" \
        --peer-listen 127.0.0.1:0 --peer-port-file "$tmp/n$i.peerport" \
        ${peer:+--peer "$peer"} >>"$tmp/n$i.log" 2>&1 &
    pids[$i]=$!
    for _ in $(seq 600); do
        [ -s "$tmp/n$i.port" ] && [ -s "$tmp/n$i.peerport" ] && return 0
        kill -0 "${pids[$i]}" 2>/dev/null || break
        sleep 0.05
    done
    fail "node $i did not start"
}
url() { echo "http://127.0.0.1:$(cat "$tmp/n$1.port")"; }
# start_all linked|apart
start_all() {
    start_node 1
    local p1=""
    [ "$1" = linked ] && p1=127.0.0.1:$(cat "$tmp/n1.peerport")
    start_node 2 "$p1"
    start_node 3 "$p1"
}
stop_all() { for i in 1 2 3; do stop_node "$i"; done; }

# on I ARGS...: runs the example on node I with ARGS (a write call); its
# output on stdout. view I ARGS...: the same as a read-only view.
on() {
    local i=$1
    shift
    local a=()
    for x in "$@"; do a+=(--arg "$x"); done
    "$WEFT" call --node "$(url "$i")" "$EXAMPLE" _start "${a[@]}"
}
view() {
    local i=$1
    shift
    local a=()
    for x in "$@"; do a+=(--arg "$x"); done
    "$WEFT" call --view --node "$(url "$i")" "$EXAMPLE" _start "${a[@]}" 2>/dev/null
}
# answer I: node I's answer to the example's question, on one line.
answer() {
    local out
    out=$(view "$1" "${QUESTION[@]}") || return 1
    printf '%s' "$out" | awk 'NR > 1 { printf " | " } { printf "%s", $0 }'
}
# writes I N ARGS...: node I makes the write ARGS N times (calls in a row).
writes() {
    local i=$1 n=$2
    shift 2
    for _ in $(seq "$n"); do on "$i" "$@" >/dev/null || return 1; done
}
# in_parallel 'CMD1' 'CMD2' ...: runs the commands at once; fails if any did.
in_parallel() {
    local ps=() rc=0
    for c in "$@"; do
        eval "$c" &
        ps+=($!)
    done
    for p in "${ps[@]}"; do wait "$p" || rc=1; done
    return $rc
}

# ---- the scenarios: QUESTION (a view's arguments), the writes of each act ----
case $EXAMPLE in
inventory)
    QUESTION=(show sku-1)
    act_linked() {
        on 1 add sku-1 100 || return 1
        in_parallel 'writes 1 20 remove sku-1 1' 'writes 2 20 add sku-1 2' \
            'writes 3 20 remove sku-1 3'
    }
    act_apart() { on 1 add sku-1 10 && on 2 remove sku-1 4 && on 3 remove sku-1 4; }
    SHOWS="PNCounter: every add and remove counts once: 100 - 20 + 40 - 60 linked, then \
+ 10 - 4 - 4 apart: 62"
    ;;
status)
    QUESTION=(get ada)
    act_linked() {
        in_parallel 'writes 1 10 set ada at her desk' 'writes 2 10 set ada in a meeting' \
            'writes 3 10 set ada on a train'
    }
    act_apart() {
        on 1 set ada writing && on 2 set ada reading && on 3 set ada away until monday
    }
    SHOWS="LWW-Register: of the three statuses set apart, the latest stamp (node 3's) wins \
everywhere"
    ;;
tags)
    QUESTION=(list item-1)
    act_linked() {
        in_parallel 'on 1 tag item-1 red && on 1 tag item-1 urgent' \
            'on 2 tag item-1 blue && on 2 tag item-1 red' 'on 3 tag item-1 green'
    }
    act_apart() {
        on 1 untag item-1 urgent && on 2 untag item-1 red && on 3 tag item-1 red
    }
    SHOWS="ORSet: node 2 removed red while node 3 added it again: the add wins; node 1's \
remove of urgent, which nobody re-added, holds"
    ;;
settings)
    QUESTION=(show svc-a)
    act_linked() {
        in_parallel 'on 1 set svc-a theme dark' 'on 2 set svc-a region eu west' \
            'on 3 set svc-a lang en'
    }
    act_apart() {
        on 1 set svc-a theme light && on 2 unset svc-a lang && on 3 set svc-a theme solarized \
            && on 3 set svc-a timeout 30s
    }
    SHOWS="LWW-Map: each field its own register: theme set on 1 then 3 apart (3's later stamp \
wins), lang unset on 2, timeout added on 3, region untouched"
    ;;
comments)
    QUESTION=(list doc-1)
    act_linked() {
        in_parallel 'on 1 post doc-1 first from 1 >/dev/null' \
            'on 2 post doc-1 first from 2 >/dev/null' 'on 3 post doc-1 first from 3 >/dev/null'
    }
    act_apart() {
        on 1 post doc-1 apart on 1 >/dev/null && on 2 post doc-1 apart on 2 >/dev/null &&
            on 3 post doc-1 apart on 3 >/dev/null
    }
    SHOWS="RGA: posts inserted at the head at the same time are ordered by stamp, newest \
first, the same order on every node"
    ;;
esac

echo "== $EXAMPLE on three nodes (data in $tmp)"
start_all linked
ids=()
for i in 1 2 3; do
    ids[$i]=$("$WEFT" status --json --node "$(url "$i")" |
        sed -n 's/.*"id": *"\([0-9a-f]\{64\}\)".*/\1/p')
    [ -n "${ids[$i]}" ] || fail "no id from node $i"
    echo "node $i: $(url "$i"), id ${ids[$i]:0:16}..."
done
app=$("$WEFT" deploy --node "$(url 1)" --name "$EXAMPLE" "$WASM") || fail "deploy failed"
"$WEFT" context create --node "$(url 1)" --members "${ids[2]},${ids[3]}" "$app" "$EXAMPLE" \
    >/dev/null || fail "context create failed"
echo "deployed on node 1; context '$EXAMPLE' created with nodes 2 and 3 as members"
for i in 2 3; do
    joined=0
    for _ in $(seq $((DEADLINE * 10))); do
        if "$WEFT" context list --node "$(url "$i")" 2>/dev/null | grep -q "^$EXAMPLE"; then
            joined=1
            break
        fi
        sleep 0.1
    done
    [ "$joined" = 1 ] || fail "node $i did not join context $EXAMPLE"
done
echo "nodes 2 and 3 joined"

echo "-- act 1: all three write at once, linked"
act_linked || fail "a write failed while linked"
echo "-- act 2: restarted apart (no links), each makes its conflicting write"
stop_all
start_all apart
act_apart || fail "a write failed while apart"
for i in 1 2 3; do echo "   node $i alone: $(answer "$i")"; done
echo "-- act 3: restarted linked; waiting until the three agree"
stop_all
start_all linked
agreed=0
for _ in $(seq $((DEADLINE * 5))); do
    a1=$(answer 1) && a2=$(answer 2) && a3=$(answer 3) && [ "$a1" = "$a2" ] && [ "$a2" = "$a3" ] &&
        { agreed=1; break; }
    sleep 0.2
done
for i in 1 2 3; do echo "node $i: $(answer "$i")"; done
[ "$agreed" = 1 ] || fail "the nodes did not converge within ${DEADLINE}s"
echo "converged: $SHOWS"
