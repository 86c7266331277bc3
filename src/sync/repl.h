/*
 * repl.h — the replication protocol, on no transport in particular (src/sync
 * only; docs/sync.md "Replication").
 *
 * One sync_repl_t per node. It keeps, for each (peer, context) the two
 * share, the version vector the peer acknowledged and the one sent past it;
 * it pushes what a peer lacks from the context's op-log (weft_crdt_missing)
 * in batches, within a window of unacknowledged ops (flow control), applies
 * the batches it receives through cfg->write (one transaction per batch)
 * and acknowledges the version vector it reached once that commit is done.
 * What was sent and not acknowledged is sent again from the op-log (sent is
 * never delivered). Anti-entropy: on peer_up and every tick interval both
 * sides exchange version vectors for every shared context.
 *
 * Which contexts a peer may get and send is cfg->shared's business (the
 * node's membership); the engine never sends or applies anything of a
 * context the peer is not a member of.
 *
 * Threads: one thread at a time (the sync loop's, or a simulation's). The
 * transport and store are reached only through cfg.
 */
#ifndef WEFT_SYNC_REPL_H
#define WEFT_SYNC_REPL_H

#include <stddef.h>
#include <stdint.h>

#include "weft/db.h"

typedef struct sync_repl sync_repl_t;
typedef struct sync_repl_peer sync_repl_peer_t; /* the engine's state of one connected peer */

/* Frame types of this protocol (>= SYNC_TYPE_USER of link.h). */
enum {
    SYNC_MSG_VV = 0x10,   /* ctx, version vector: "I have this" */
    SYNC_MSG_OPS = 0x11,  /* ctx, a batch of encoded ops in (origin, seq) order */
    SYNC_MSG_ACK = 0x12,  /* ctx, the version vector reached after applying */
    /* Snapshots (docs/sync.md "Compaction and snapshots"): */
    SYNC_MSG_SNAP_NEED = 0x13, /* ctx: "my log no longer has what you lack: ask" */
    SYNC_MSG_SNAP_REQ = 0x14,  /* ctx, position: "the records past it, please" */
    SYNC_MSG_SNAP = 0x15,      /* ctx, position answered, [vector], [floors], records */
};

typedef struct {
    weft_db_t *db;
    const uint8_t *self_id; /* 32 bytes */
    /* Sends one frame to a peer (the transport's handle). 0, or WEFT_ELIMIT
     * when the peer's queue is full: the engine stops sending to it until
     * sync_repl_writable. Queues the frame: must not call into the engine. */
    int (*send)(void *user, void *peer, uint8_t type, const uint8_t *payload, size_t len);
    /* Runs fn in a write transaction (committed durably when fn returns 0,
     * aborted otherwise), then calls done(arg, rc) on the engine's thread
     * (at once in a simulation, or later through the loop). Returns 0 or an
     * error, in which case done is never called. fn may run on another
     * thread: it touches only its arg. */
    int (*write)(void *user, int (*fn)(weft_txn_t *txn, void *arg), void *arg,
                 void (*done)(void *arg, int rc));
    /* 1 when context ctx is replicated with peer `peer_id` (both members). */
    int (*shared)(void *user, const uint8_t *ctx, size_t ctx_len, const uint8_t *peer_id);
    /* Calls fn for every context this node replicates with peer_id. */
    void (*contexts)(void *user, const uint8_t *peer_id,
                     void (*fn)(void *arg, const uint8_t *ctx, size_t ctx_len), void *arg);
    uint64_t (*now_ms)(void *user);
    /* Unix time in ms, which the node's hybrid logical clock observes with
     * every op applied (weft_crdt_apply_remote's wall_ms). NULL: now_ms
     * (a simulation's one clock). Timers use now_ms, which may be
     * monotonic. */
    uint64_t (*wall_ms)(void *user);
    void (*log)(void *user, const char *line);
    void *user;
    size_t max_batch_bytes;  /* 0: 64 KiB of ops per OPS frame */
    size_t window_ops;       /* unacknowledged ops per (peer, context); 0: 16384 (and 8 frames a peer) */
    uint64_t resend_ms;      /* no ack progress for this long: resend; 0: 2000 */
    uint64_t anti_entropy_ms;/* 0: 5000 */
    /* Compaction (docs/sync.md "Compaction and snapshots"): calls fn for
     * every member of ctx, this node included. NULL: this node never
     * compacts (it still serves and takes snapshots). */
    void (*members)(void *user, const uint8_t *ctx, size_t ctx_len,
                    void (*fn)(void *arg, const uint8_t *id), void *arg);
    uint64_t compact_ms;     /* between compaction runs (one context each); 0: 10000 */
    /* A peer's batch or snapshot chunk of ctx was committed (or not) and
     * its state may have changed: called on the engine's thread after the
     * write's done, once what came in was pushed on to the other peers.
     * NULL: not told. */
    void (*applied)(void *user, const uint8_t *ctx, size_t ctx_len);
    /* Inside a batch's transaction (the thread running write's fn), for
     * each op applied or duplicate: its context and key; key NULL after a
     * snapshot's last chunk. Nonzero aborts the batch. NULL: not called. */
    int (*applied_op)(void *user, weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                      const uint8_t *key, size_t key_len);
    uint64_t compact_keep;   /* newest ops of each origin never compacted; 0: 1024 */
    size_t compact_max_ops;  /* entries dropped per run at most; 0: 4096 */
    /* The transport carries every committed op to every node by itself
     * (NATS: each context's stream): a commit, an applied batch and an ACK
     * of a batch this engine did not push start no push. Pushes then only
     * answer a VV (anti-entropy: what a peer lacks, the stream purged or
     * not yet delivered) and go on while their own frames are acked. */
    int lazy_push;
} sync_repl_config_t;

int sync_repl_new(const sync_repl_config_t *cfg, sync_repl_t **out);
/* Frees everything, the jobs handed to cfg->write included: call it once
 * no write's done can come any more (drain or drop the writer's jobs
 * first; a dropped job's fn and done must never be called). */
void sync_repl_delete(sync_repl_t *r);

/* Transport events. `peer` is the transport's handle, passed back to send. */
sync_repl_peer_t *sync_repl_peer_up(sync_repl_t *r, void *peer, const uint8_t peer_id[32]);
void sync_repl_peer_down(sync_repl_t *r, sync_repl_peer_t *p);
/* A frame from a peer; malformed frames are logged and dropped (returns
 * WEFT_EMALFORMED: the transport should close the link). A well-formed
 * frame of a context cfg->shared refuses is logged and ignored (returns
 * WEFT_EARG; membership may just have changed: the link may stay). */
int sync_repl_receive(sync_repl_t *r, sync_repl_peer_t *p, uint8_t type, const uint8_t *payload,
                      size_t len);
void sync_repl_writable(sync_repl_t *r, sync_repl_peer_t *p);
/* OPS frames of p waiting for the writer or in it; at 8 and more the next
 * one is dropped (a transport that can hold frames back, NATS, waits). */
size_t sync_repl_peer_queued(const sync_repl_peer_t *p);
/* Something committed locally (a context's op-log may have grown): push. */
void sync_repl_notify(sync_repl_t *r, const uint8_t *ctx, size_t ctx_len);
/* Timers: resend and anti-entropy. Call every 100 ms or so. */
void sync_repl_tick(sync_repl_t *r);

/* The reply to a VV request (a transport that carries VVs as requests,
 * NATS): this node's VV of the context of `vv` (a VV frame's payload from
 * p, already received), encoded as a VV payload into *out (malloc'ed, the
 * caller frees). 0; WEFT_EARG when the context is not shared with p (no
 * reply); WEFT_EMALFORMED or a storage error. */
int sync_repl_vv_answer(sync_repl_t *r, sync_repl_peer_t *p, const uint8_t *vv, size_t len,
                        uint8_t **out, size_t *out_len);

/* Snapshots served and taken since the start (docs/sync.md "Compaction and
 * snapshots"): chunks sent (SNAP frames) and received (applied), and whole
 * snapshots (a last chunk sent, a last chunk applied). For /metrics. */
typedef struct {
    uint64_t snap_chunks_sent, snap_chunks_received, snaps_sent, snaps_received;
} sync_repl_counters_t;
void sync_repl_counters(const sync_repl_t *r, sync_repl_counters_t *out);

/* Per peer and context, for GET /v1/peers: ops the peer lacks (lag), ops
 * and bytes sent and received. */
typedef struct {
    uint64_t lag_ops, ops_sent, ops_received, bytes_sent, bytes_received;
} sync_repl_stats_t;
void sync_repl_peer_stats(sync_repl_t *r, sync_repl_peer_t *p, sync_repl_stats_t *out);

#endif
