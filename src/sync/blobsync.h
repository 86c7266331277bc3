/*
 * blobsync.h — blobs between nodes (docs/sync.md "Blobs between nodes"):
 * a blob announced to a context (its record under the context's CRDT key
 * WEFT_SYNC_BLOBS_KEY, replicated like any op) is fetched by every member
 * node that lacks it, one 256 KiB chunk per request from member peers,
 * each chunk checked against the SHA-256 the record lists before it is
 * stored, a few chunks in flight at a time; the record is written last,
 * once the chunks' bytes hash to the blob's id.
 *
 * Like the engine (repl.h) it reaches the transport and the writer through
 * callbacks and runs on the sync thread; only sync_blobs_fetching and
 * sync_blobs_stats may be called from other threads.
 */
#ifndef WEFT_SYNC_BLOBSYNC_H
#define WEFT_SYNC_BLOBSYNC_H

#include <stddef.h>
#include <stdint.h>

#include "weft/db.h"
#include "weft/sync.h"

/* Frame types (link.h: >= SYNC_TYPE_USER; repl.h has 0x1x, sync.c 0x20..0x23). */
enum {
    SYNC_MSG_BLOB_WANT = 0x24,  /* id[32], u32 index: "send me chunk index of blob id" */
    SYNC_MSG_BLOB_CHUNK = 0x25, /* id[32], u32 index, the chunk's bytes (1..256 KiB) */
    SYNC_MSG_BLOB_NONE = 0x26,  /* id[32], u32 index: "I will not send it" */
};

typedef struct sync_blobs sync_blobs_t;

typedef struct {
    weft_db_t *db;
    const uint8_t *self_id; /* 32 bytes, kept */
    /* A frame to a peer handle: 0, or WEFT_ELIMIT when its queue is full. */
    int (*send)(void *user, void *peer, uint8_t type, const uint8_t *b, size_t len);
    /* A write job (repl.h's write): fn in a write transaction, then done
     * on this thread. */
    int (*write)(void *user, int (*fn)(weft_txn_t *txn, void *arg), void *arg,
                 void (*done)(void *arg, int rc));
    /* Whether `id` is a member of ctx as this node sees it. */
    int (*member)(void *user, const uint8_t *ctx, size_t len, const uint8_t *id);
    /* Every context `id` is a member of (as this node sees it). */
    void (*contexts)(void *user, const uint8_t *id,
                     void (*fn)(void *arg, const uint8_t *ctx, size_t len), void *arg);
    uint64_t (*now_ms)(void *user);
    void (*log)(void *user, const char *line);
    void *user;
} sync_blobs_config_t;

int sync_blobs_new(const sync_blobs_config_t *cfg, sync_blobs_t **out);
void sync_blobs_delete(sync_blobs_t *b);

void sync_blobs_peer_up(sync_blobs_t *b, void *peer, const uint8_t id[32]);
void sync_blobs_peer_down(sync_blobs_t *b, void *peer);
/* The peer's queue drained: requests it refused go out now. */
void sync_blobs_writable(sync_blobs_t *b, void *peer);
/* A BLOB_* frame from a peer: 0, or -1 when it is malformed (the caller
 * closes the link). */
int sync_blobs_receive(sync_blobs_t *b, void *peer, uint8_t type, const uint8_t *p, size_t len);
/* Context ctx may have new announcements (a batch of it was applied, or
 * the node started): the blobs it announces that this node lacks are
 * fetched, when this node is a member. */
void sync_blobs_context(sync_blobs_t *b, const uint8_t *ctx, size_t len);
/* Every 100 ms or so: requests unanswered are made again, stalled fetches
 * look for another peer. */
void sync_blobs_tick(sync_blobs_t *b);

/* 1 when blob id is being fetched (*have: bytes stored so far, *size: its
 * size), else 0. Any thread. */
int sync_blobs_fetching(sync_blobs_t *b, const uint8_t id[32], uint64_t *have, uint64_t *size);
void sync_blobs_stats(sync_blobs_t *b, weft_sync_blob_stats_t *out);

#endif
