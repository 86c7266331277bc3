/*
 * sim.h — a deterministic simulation of the replication engine (repl.h):
 * N nodes, each a real data directory with its own sync_repl_t, joined by
 * a seeded fake network. Used by test_repl.c (many seeds in make test, more
 * in make soak) and bench/sync_sim.c.
 *
 * One seed fixes everything: node ids, clock skews, the writes (every CRDT
 * kind, through weft_crdt_local), the network's loss, duplication,
 * reordering and delays, partitions (one-way and two-way), link drops and
 * node restarts, whether writes are applied at once or deferred, window and
 * batch sizes. After the writes the network heals and the run goes on until
 * every node's version vector is complete; then every node's op-log must
 * equal, byte for byte, the ops as their origins logged them, and every
 * state must equal a sequential model (all ops applied in (origin, seq)
 * order into fresh states).
 */
#ifndef WEFT_TESTS_SYNC_SIM_H
#define WEFT_TESTS_SYNC_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "weft/db.h"

typedef struct {
    uint64_t seed;
    int nodes;     /* 2..5 */
    int writes;    /* local writes per node */
    int faults;    /* 0: lossless, ordered, no partitions or restarts */
    int deferred;  /* -1: by seed; 0: writes applied inside receive; 1: later */
    int bench;     /* every node writes first, links come up after; big windows */
    int conflicts; /* some writes create one key with different types */
    int chain;     /* links only between neighbours (0-1-2-...), not a full mesh */
    /* the last node leaves "app" (stopped, removed from its members) while
     * the others write and compact past it, then is added back and
     * restarted: it must take a snapshot; the link under its first chunk
     * is dropped once, and the snapshot resumes */
    int evict;
    const char *tmp; /* folder for the data directories (NULL: $TMPDIR or /tmp) */
} sim_opts_t;

typedef struct {
    uint64_t ops_written;   /* local ops committed, all nodes */
    uint64_t ops_frames, ops_bytes; /* OPS frames sent and their payload bytes */
    uint64_t frames, bytes;         /* every frame sent */
    uint64_t sim_ms;                /* simulated time until converged */
    uint64_t snap_needs, snap_starts, snap_chunks; /* SNAP_NEED, SNAP_REQ from the start, SNAP */
    uint64_t compacted;             /* log entries gone at the end, all nodes */
    double sync_seconds;            /* wall time from links up to converged */
    double sync_cpu_seconds;        /* the process's CPU time over the same */
} sim_stats_t;

/* Runs fn in a write transaction of db, committed when it returns 0:
 * what cfg->write does when it runs a job at once. fn's or the commit's
 * result. */
int sim_txn(weft_db_t *db, int (*fn)(weft_txn_t *txn, void *arg), void *arg);

/* Removes dir and everything in it. */
void sim_remove_dir(const char *dir);

/* Runs one simulation: 0 when every node converged to the model, else -1
 * with what went wrong in err. */
int sim_run(const sim_opts_t *o, sim_stats_t *st, char *err, size_t err_size);

#endif
