/*
 * sync_sim.c — the replication engine's throughput and wire size over the
 * simulated network of tests/sync/sim.c, with no loss, no reordering and
 * writes applied at once (bench/RESULTS.md "Sync").
 *
 *   sync_sim [NODES [WRITES]]    defaults: 3 nodes, 20,000 writes each
 *
 * Every node first writes WRITES small ops of every kind (counters, LWW,
 * map, set, RGA) with its links down; then the links come up and the run
 * lasts until every node holds every op, checked against the sequential
 * model as in the tests. One thread runs every node (the engines, their
 * reads of the op-log, the applies and the commits, without fsync), so the
 * ops applied per second of that thread is what one node's sync thread and
 * writer would do with a core each. Figures over wall time and over the
 * process's CPU time (the machine may be shared). Wire bytes count every OPS frame's
 * payload (link framing and encryption not included) over the ops applied.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sim.h"

int main(int argc, char **argv)
{
    sim_opts_t o = {.seed = 1, .nodes = argc > 1 ? atoi(argv[1]) : 3,
                    .writes = argc > 2 ? atoi(argv[2]) : 20000, .faults = 0, .deferred = 0,
                    .bench = 1};
    sim_stats_t st;
    char err[512] = "";
    uint64_t applied;
    if (o.nodes < 2 || o.nodes > 5 || o.writes < 1) {
        fprintf(stderr, "usage: sync_sim [NODES (2-5) [WRITES per node]]\n");
        return 2;
    }
    if (sim_run(&o, &st, err, sizeof err) != 0) {
        fprintf(stderr, "sync_sim: %s\n", err);
        return 1;
    }
    /* every op is applied on every other node */
    applied = st.ops_written * (uint64_t)(o.nodes - 1);
    printf("nodes %d, ops written %llu, ops applied %llu (all nodes) in %.3f s (%.3f s CPU)\n",
           o.nodes, (unsigned long long)st.ops_written, (unsigned long long)applied,
           st.sync_seconds, st.sync_cpu_seconds);
    printf("ops applied per second (one thread running every node): %.0f wall, %.0f CPU\n",
           (double)applied / st.sync_seconds, (double)applied / st.sync_cpu_seconds);
    printf("wire bytes per op applied: %.1f in OPS frames (%llu frames), %.1f with VV and ACK\n",
           (double)st.ops_bytes / (double)applied, (unsigned long long)st.ops_frames,
           (double)st.bytes / (double)applied);
    return 0;
}
