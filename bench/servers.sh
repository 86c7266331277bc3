# bench/servers.sh — sourced by the bench scripts that start servers
# (http.sh, faasm.sh): `pids+=($!)` after starting one, `stop_all` stops
# them all, the last started first (a node before the Redis it uses):
# SIGTERM, then SIGKILL after 10 s. Set a trap calling it on EXIT.
pids=()
stop_all() {
    local i p
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        p=${pids[i]}
        kill -TERM "$p" 2>/dev/null || continue
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    pids=()
}
