#!/usr/bin/env bash
# examples/demo.sh BUILD_DIR — a short tour of weft (run by `make demo`).
#
# Builds nothing (make demo builds first). Runs the WASI hello world with
# arguments, a variable and a lent directory, then inspects the fib example,
# calls a few of its functions, shows a trap with its backtrace, fuel and a
# timeout, keeps state in a data directory, then starts a node (weft serve)
# on a free loopback port, deploys the guestbook app, calls it with the
# client commands while an event stream is followed, and stops the node;
# last it checks the benchmark kernels (real C programs compiled by clang)
# against their native builds. Takes a few seconds.
set -uo pipefail

BUILD=${1:-build}
WEFT=$BUILD/weft
NOTES=$BUILD/examples/notes.wasm
INVENTORY=$BUILD/examples/distributed_inventory.wasm
FIB=$BUILD/examples/fib.wasm
HELLO=$BUILD/examples/hello.wasm
GUESTBOOK=$BUILD/examples/guestbook.wasm

bold=""
plain=""
if [ -t 1 ]; then
    bold=$(printf '\033[1m')
    plain=$(printf '\033[0m')
fi

say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
# show CMD...: prints the command as typed, then runs it.
show() {
    printf '$ %s\n' "$*"
    "$@" 2>&1
    local rc=$?
    [ "$rc" -eq 0 ] || printf '(exit code %d)\n' "$rc"
    return 0
}

[ -x "$WEFT" ] || { echo "demo: $WEFT not found: run 'make demo' (it builds first)" >&2; exit 1; }
if [ ! -f "$FIB" ] || [ ! -f "$HELLO" ]; then
    echo "demo: the examples are not built: they need clang, lld and wasi-libc" \
         "(scripts/install-deps.sh)" >&2
    exit 1
fi
data=$(mktemp -d)
node_pid=""
events_pid=""
cleanup() {
    [ -n "$events_pid" ] && kill "$events_pid" 2>/dev/null
    [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null
    rm -rf "$data"
}
trap cleanup EXIT

say "weft is a WebAssembly runtime. This is it:"
show "$WEFT" --version

say "Run a C program built for WASI: examples/hello/hello.c"
echo "It sees only the arguments, variables and directories it is given:"
show "$WEFT" run --env USER=ada --dir "$data::/data" "$HELLO" one "two words"
printf '$ cat %s/hello.txt    # on the host\n' "$data"
cat "$data/hello.txt"
echo "No directory lent: the guest cannot write, and its exit status is weft's:"
show "$WEFT" run "$HELLO"

say "Inspect a module: examples/fib/fib.c, freestanding C compiled to wasm32"
show "$WEFT" inspect "$FIB"

say "Call exported functions; arguments are parsed by the parameter types"
show "$WEFT" run --invoke fib "$FIB" 25
show "$WEFT" run --invoke fib_iter "$FIB" 90
show "$WEFT" run --invoke hypot "$FIB" 3 4

say "A trap ends the call, not the process: message, backtrace, exit code 3"
show "$WEFT" run --invoke mean "$FIB" 100 0

say "Fuel bounds the work a call may do (one unit per instruction), --timeout its time"
show "$WEFT" run --fuel 100000 --invoke fib "$FIB" 30
show "$WEFT" run --timeout 200ms --invoke fib "$FIB" 45

if [ -f "$NOTES" ]; then
    say "Durable state: examples/notes keeps notes in weft's database (nx on LMDB)"
    echo "Each run is one call, and a call is one transaction:"
    show "$WEFT" run --data-dir "$data/db" "$NOTES" add buy milk
    show "$WEFT" run --data-dir "$data/db" --events "$NOTES" add call Ada
    show "$WEFT" run --data-dir "$data/db" "$NOTES" list
    echo "The data directory, by hand:"
    show "$WEFT" db "$data/db" scan note: --context notes
fi

if [ -f "$INVENTORY" ]; then
    say "Replicated state: a PNCounter (examples/distributed_inventory), here on one node"
    echo "Every change is a CRDT op, applied and appended to the op-log in the call's transaction:"
    show "$WEFT" run --data-dir "$data/db" "$INVENTORY" add sku-1 10
    show "$WEFT" run --data-dir "$data/db" "$INVENTORY" remove sku-1 3
    show "$WEFT" run --data-dir "$data/db" "$INVENTORY" show sku-1
    echo "With replication switched off, the CRDT functions refuse:"
    show "$WEFT" run --no-sync --data-dir "$data/db" "$INVENTORY" show sku-1
fi

if [ -f "$GUESTBOOK" ]; then
    say "A node: weft serve keeps apps and contexts and runs calls over HTTP (docs/http.md)"
    "$WEFT" serve --data-dir "$data/node" --listen 127.0.0.1:0 --port-file "$data/port" \
        2>"$data/node.log" &
    node_pid=$!
    for _ in $(seq 100); do [ -s "$data/port" ] && break; sleep 0.05; done
    if [ ! -s "$data/port" ]; then
        echo "demo: the node did not start:" >&2
        cat "$data/node.log" >&2
        exit 1
    fi
    export WEFT_NODE="http://127.0.0.1:$(cat "$data/port")"
    printf '$ weft serve --data-dir %s/node --listen 127.0.0.1:0 &\n' "$data"
    sed 's/^/  /' "$data/node.log"
    echo "Deploy examples/guestbook (an nx reactor: sign, list, count) and give it a context:"
    printf '$ weft deploy --name guestbook %s\n' "$GUESTBOOK"
    app=$("$WEFT" deploy --name guestbook "$GUESTBOOK")
    echo "$app"
    show "$WEFT" context create "$app" book
    echo "Follow the committed events while calling (weft events, in the background):"
    "$WEFT" events book > "$data/events" 2>&1 &
    events_pid=$!
    sleep 0.3
    show "$WEFT" call book sign "ada: hello, weft"
    show "$WEFT" call book sign "bob: a write is answered once its commit is durable"
    echo "A view (GET) reads a snapshot beside the writer; a write from it would trap:"
    show "$WEFT" call --view book list
    show "$WEFT" call book sign "no colon here"
    sleep 0.3
    kill "$events_pid" 2>/dev/null
    wait "$events_pid" 2>/dev/null
    events_pid=""
    echo '$ weft events book      # what it printed: id, name, payload'
    sed 's/^/  /' "$data/events"
    show "$WEFT" state book kv
    show "$WEFT" status
    echo "Stop the node: calls in flight finish and commit first."
    kill -TERM "$node_pid"
    wait "$node_pid"
    node_pid=""
    tail -2 "$data/node.log" | sed 's/^/  /'
fi

CLUSTER=$(dirname "$0")/cluster.sh
if [ -f "$INVENTORY" ] && [ -x "$CLUSTER" ]; then
    say "Three nodes replicate one context (docs/sync.md): the inventory, written on all of them"
    echo "\$ examples/cluster.sh $BUILD inventory"
    "$CLUSTER" "$BUILD" inventory 2>&1 | sed 's/^/  /'
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "demo: the three nodes did not converge" >&2; exit 1; }
fi

say "Benchmark kernels: C programs checked against their native builds"
failed=0
for k in fib sieve mandelbrot nbody hashmap sort vm sha256; do
    wasm=$BUILD/bench/$k.wasm
    native=$BUILD/bench/$k-native
    [ -f "$wasm" ] && [ -x "$native" ] || continue
    expected=$("$native" check)
    got=$("$WEFT" run "$wasm" check 2>&1)
    if [ "$got" = "$expected" ]; then
        printf '  %-11s weft %-22s native %-22s same\n' "$k" "$got" "$expected"
    else
        printf '  %-11s weft %-22s native %-22s DIFFERENT\n' "$k" "$got" "$expected"
        failed=1
    fi
done

# elapsed CMD...: runs CMD quietly, prints its wall time in seconds.
elapsed() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.2f", ns / 1e9 }'
}

k=mandelbrot
if [ -f "$BUILD/bench/$k.wasm" ]; then
    say "One full-size kernel, $k, timed against the native build"
    tn=$(elapsed "$BUILD/bench/$k-native" run)
    tw=$(elapsed "$WEFT" run "$BUILD/bench/$k.wasm")
    printf '  native %ss, weft %ss: weft takes %s times as long\n' "$tn" "$tw" \
        "$(awk -v w="$tw" -v n="$tn" 'BEGIN { printf "%.1f", (n > 0 ? w / n : 0) }')"
fi

say "All kernels, start-up and host calls: make bench (results in bench/RESULTS.md)"
exit "$failed"
