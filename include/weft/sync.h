/*
 * weft/sync.h — replication of contexts between nodes (docs/sync.md).
 *
 * A weft_sync_t runs one thread with a libuv loop: the node's peer links
 * (authenticated, encrypted TCP) and the replication engine. The embedder
 * (the node layer) gives it the data directory, the node's key pair and a
 * few callbacks: how to run a write transaction (the node's writer), how to
 * read an app's module bytes and how to join a context a peer invites it
 * to. It tells sync when a commit may have grown a context's op-log
 * (weft_sync_notify). Everything else (what to send to whom, acks,
 * resends, anti-entropy) happens on the sync thread.
 *
 * Membership. The members of a context are an add-wins set (a CRDT ORSet)
 * of node ids under the context's CRDT key WEFT_SYNC_MEMBERS_KEY, so the
 * membership replicates like any other state. A context is replicated with
 * a peer only when both nodes are members of it; a node that is not gets
 * nothing of it, and nothing it sends for it is applied.
 *
 * Thread safety: weft_sync_notify, weft_sync_peers and weft_sync_peers_nx
 * may be called from any thread; start and stop from one thread, not
 * concurrently with the others.
 */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "weft/db.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_sync weft_sync_t;

/* The CRDT key (in each replicated context) of its members' ORSet: each
 * element is a 32-byte node id. Under nx's reserved prefix, so guests can
 * neither read nor change it. */
#define WEFT_SYNC_MEMBERS_KEY "__nx/members"

/* Calls fn for each member of context ctx as stored in txn (the ORSet
 * above), in id order; a context without the set has none. Returns 0 or a
 * storage error (WEFT_EMALFORMED for a damaged set). Needs no weft_sync_t. */
int weft_sync_members_read(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                           void (*fn)(void *user, const uint8_t id[32]), void *user);

/* The CRDT key (in each replicated context) of the blobs announced to it
 * (docs/sync.md "Blobs between nodes"): an LWW-Map whose field is a blob
 * id (32 bytes) and whose value is the blob's record (weft/blobs.h
 * weft_blob_record: size and chunk hashes). Every member node that lacks
 * a blob announced fetches it from its member peers. Reserved like the
 * members' key. */
#define WEFT_SYNC_BLOBS_KEY "__nx/blobs"
/* The largest record announced: 16,384 chunks, a blob of 4 GiB. */
#define WEFT_SYNC_BLOB_RECORD_MAX ((size_t)8 + 16384u * 32u)

/* Announces blob `id` (in txn's store) to context ctx: writes its record
 * under WEFT_SYNC_BLOBS_KEY as an op of `origin` at wall_ms, in txn.
 * Returns 0, WEFT_ENOTFOUND (no such blob), WEFT_ELIMIT (a blob over 4
 * GiB) or a storage error. Needs no weft_sync_t. */
int weft_sync_blob_announce(weft_txn_t *txn, const uint8_t origin[32], uint64_t wall_ms,
                            const uint8_t *ctx, size_t ctx_len, const uint8_t id[32]);

/* Withdraws blob `id` from context ctx (docs/sync.md "Blobs between
 * nodes"): removes its record from WEFT_SYNC_BLOBS_KEY as an op of
 * `origin` at wall_ms, in txn, so members that lack it stop fetching it and
 * no member serves it for that context any more; copies already fetched
 * stay. Returns 0, WEFT_ENOTFOUND (not announced there) or a storage
 * error. Needs no weft_sync_t. */
int weft_sync_blob_withdraw(weft_txn_t *txn, const uint8_t origin[32], uint64_t wall_ms,
                            const uint8_t *ctx, size_t ctx_len, const uint8_t id[32]);

/* A write job: run fn in a write transaction (committed durably when fn
 * returns 0, aborted otherwise), then call done(arg, rc) from any thread.
 * Returns 0, or an error (done is then never called). */
typedef int (*weft_sync_txn_fn)(weft_txn_t *txn, void *arg);
typedef int (*weft_sync_write_fn)(void *user, weft_sync_txn_fn fn, void *arg,
                                  void (*done)(void *arg, int rc));

typedef struct {
    weft_db_t *db;
    const uint8_t *public_key; /* 32 bytes, the node id (copied) */
    const uint8_t *secret_key; /* 64 bytes (copied, wiped at stop) */
    const char *listen;        /* "ADDR:PORT" for peer links, or NULL */
    const char *const *peers;  /* "ADDR:PORT" to dial (copied) */
    size_t npeers;
    /* "nats://HOST:PORT[,...]": replicate through NATS JetStream instead
     * of peer links (listen and peers unused; docs/sync.md "NATS
     * transport"); nats_creds a .creds or nkey seed file or NULL,
     * nats_ca a PEM file of the CAs the servers' TLS certificates are
     * checked with (TLS then required) or NULL, nats_replicas of each
     * context's stream (0: 1). */
    const char *nats_url;
    const char *nats_creds;
    const char *nats_ca;
    int nats_replicas;
    /* The NATS transport's code, weft_sync_nats_transport() (needed with
     * nats_url; kept out of this library so that programs without libnats
     * link it). */
    const struct weft_sync_transport *nats_transport;
    /* Compaction (docs/sync.md "Compaction and snapshots"): ms between
     * runs (0: 10000) and the newest ops of each origin never compacted
     * (0: 1024). Small values are for tests that need snapshots. */
    uint64_t compact_ms;
    uint64_t compact_keep;
    weft_sync_write_fn write;
    /* The module bytes of app `app_id` (malloc'ed, the caller frees), to
     * send a peer joining a context: 0 or WEFT_ENOTFOUND. Any thread. */
    int (*app_bytes)(void *user, const char *app_id, uint8_t **out, size_t *out_len);
    /* 1 when app `app_id` is deployed here. */
    int (*app_have)(void *user, const char *app_id);
    /* The app id of context `name`: 0 or WEFT_ENOTFOUND. */
    int (*context_app)(void *user, const char *name, char out_id[65]);
    /* Joins context `name` of app `app_id`, invited by a member: deploys
     * the module first when `wasm` is given (its sha256 must be app_id),
     * creates the context and adds the members listed (32-byte ids) to its
     * members' set. Runs on a thread of libuv's pool (it may compile a
     * module). Returns 0 or an error with msg. */
    int (*join)(void *user, const char *name, const char *app_id, const uint8_t *wasm,
                size_t wasm_len, const uint8_t *members, size_t nmembers, char *msg,
                size_t msg_size);
    /* A batch of a peer's ops in context ctx (ctx_len bytes) committed
     * (NULL: not told). On the sync thread: must not block. */
    void (*applied)(void *user, const uint8_t *ctx, size_t ctx_len);
    void (*log)(void *user, const char *line); /* NULL: stderr */
    /* Inside the transaction of a peer's batch, on the thread running
     * write's fn: for each op applied (or a duplicate), its context and
     * key; after a snapshot's last chunk, key NULL (any key of ctx may
     * have changed). What a node derives from CRDT state goes in the same
     * transaction (Cosmictron's replicated tables). A nonzero result
     * aborts the batch. NULL: not called. */
    int (*applied_op)(void *user, weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                      const uint8_t *key, size_t key_len);
    void *user;
} weft_sync_config_t;

/* The NATS JetStream transport (docs/sync.md "NATS transport"), in the
 * library weft_sync_nats (src/sync/nats.c; links libnats): what
 * weft_sync_config_t.nats_transport takes. */
typedef struct weft_sync_transport weft_sync_transport_t;
const weft_sync_transport_t *weft_sync_nats_transport(void);

/* Starts the sync thread. Returns 0, WEFT_EARG / WEFT_EIO with msg (a bad
 * or busy address), or WEFT_ENOMEM. */
int weft_sync_start(const weft_sync_config_t *cfg, weft_sync_t **out, char *msg,
                    size_t msg_size);
/* Closes every link and stops the thread. In-flight joins are finished. */
void weft_sync_stop(weft_sync_t *s);

/* The port peer links listen on (after port 0), or 0. */
int weft_sync_port(const weft_sync_t *s);

/* A commit may have changed context `ctx` (its op-log or its members):
 * push what peers lack. Any thread; never blocks. */
void weft_sync_notify(weft_sync_t *s, const char *ctx);
/* Adds a peer address to dial. Any thread. */
int weft_sync_add_peer(weft_sync_t *s, const char *addr);

/* One peer link as last seen by the sync thread (refreshed every 100 ms
 * or so, and at once when a link goes up or down). */
typedef struct {
    uint8_t id[32];      /* zeros until the handshake */
    char addr[64];
    int up, outbound;
    uint64_t bytes_in, bytes_out, frames_in, frames_out, reconnects, rtt_us;
    uint64_t lag_ops;    /* ops this node has that the peer has not acknowledged */
    uint64_t ops_sent, ops_received;
    char last_error[128];
} weft_sync_peer_t;

/* Calls fn for every known peer link. Any thread. */
void weft_sync_peers(weft_sync_t *s, void (*fn)(void *user, const weft_sync_peer_t *p),
                     void *user);
/* Counters of the sync thread since the start (refreshed as the peers'
 * snapshot is): snapshots served to peers and taken from them (docs/sync.md
 * "Compaction and snapshots"), in chunks (SNAP frames sent, and received
 * and applied) and whole (a last chunk sent, a last chunk applied). */
typedef struct {
    uint64_t snapshot_chunks_sent, snapshot_chunks_received;
    uint64_t snapshots_sent, snapshots_received;
} weft_sync_stats_t;
/* Copies the counters into *out (zeros when s is NULL). Any thread. */
void weft_sync_stats(weft_sync_t *s, weft_sync_stats_t *out);

/* The connected peers encoded as nx net_peers answers (docs/nx.md): u32
 * count, then per peer u32 addr_len, u32 id_len, addr, id as 64 hex
 * digits; all little-endian. malloc'ed for the caller to free. Any
 * thread. */
int weft_sync_peers_nx(weft_sync_t *s, uint8_t **out, size_t *out_len);

/* Blobs fetched from peers since start (docs/sync.md "Blobs between
 * nodes"), for metrics. */
typedef struct {
    uint64_t fetched;        /* blobs made whole here */
    uint64_t failed;         /* blobs whose chunks were not the announced bytes */
    uint64_t chunks_in;      /* chunks received and stored */
    uint64_t chunks_refused; /* chunks whose SHA-256 was not the announced one */
    uint64_t chunks_served;  /* chunks sent to peers */
    uint64_t fetching;       /* blobs being fetched now */
} weft_sync_blob_stats_t;
void weft_sync_blob_stats(weft_sync_t *s, weft_sync_blob_stats_t *out);
/* 1 when blob id is announced to a context of this node and being fetched
 * (*have: bytes stored so far, *size: its size; either may be NULL), else
 * 0. Any thread. */
int weft_sync_blob_fetching(weft_sync_t *s, const uint8_t id[32], uint64_t *have,
                            uint64_t *size);

#ifdef __cplusplus
}
#endif
#endif
