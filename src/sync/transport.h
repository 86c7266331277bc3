/*
 * transport.h — what carries the replication engine's frames, as sync.c
 * sees it (src/sync only; docs/sync.md "Layers and threads").
 *
 * The engine (repl.c), membership and invitations (sync.c) are one piece
 * of code over two transports: the peer links (link.c, the default) and
 * NATS JetStream (nats.c). Each is a table of the functions below, chosen
 * once when sync starts; sync.c calls only through it. A peer is an opaque
 * handle of the transport, valid from on_up until on_down returns.
 *
 * Threads: every function and callback runs on the loop's thread.
 */
#ifndef WEFT_SYNC_TRANSPORT_H
#define WEFT_SYNC_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "link.h"
#include "weft/db.h"

typedef struct {
    uv_loop_t *loop;
    weft_db_t *db;             /* NATS: read for the ops to publish */
    const uint8_t *public_key; /* 32 bytes: this node's id */
    const uint8_t *secret_key; /* 64 bytes: the handshake (links), signatures (NATS) */
    /* links */
    const char *listen;        /* "ADDR:PORT" or NULL */
    const char *const *peers;  /* "ADDR:PORT" to dial */
    size_t npeers;
    /* NATS */
    const char *url;           /* "nats://HOST:PORT[,nats://HOST:PORT...]" */
    const char *creds;         /* a .creds file, an nkey seed file ("SU..."), or NULL */
    const char *ca;            /* PEM CAs the servers' TLS certificates are checked with */
    int replicas;              /* of each context's stream; 0: 1 */

    void (*on_up)(void *user, void *peer, const uint8_t peer_id[32]);
    void (*on_frame)(void *user, void *peer, uint8_t type, const uint8_t *payload, size_t len);
    /* The peer has room again after send said WEFT_ELIMIT. */
    void (*on_writable)(void *user, void *peer);
    void (*on_down)(void *user, void *peer, const char *reason);
    /* NATS only. A stream batch of the peer's own ops (an OPS frame,
     * checked: signed by the peer, every op of its origin). 0: taken
     * (acknowledged to the server); WEFT_EARG: not now (delivered again in
     * a second; likewise other errors); WEFT_EMALFORMED: never. */
    int (*on_batch)(void *user, void *peer, const uint8_t *frame, size_t len);
    /* NATS only. 1 while the layer above would drop another OPS frame of
     * this peer (its queue is full): stream batches wait, unacknowledged. */
    int (*busy)(void *user, void *peer);
    /* NATS only. A VV frame from the peer came as a request (after
     * on_frame delivered it): this node's VV of the same context, to reply
     * with (*out malloc'ed, the transport frees it), or non-zero: no reply
     * (the context is not shared with the peer). */
    int (*vv_reply)(void *user, void *peer, const uint8_t *vv, size_t len, uint8_t **out,
                    size_t *out_len);
    /* NATS only. 1 when node `id` shares a context with this node (both
     * members, as this node sees them): only then does its presence make
     * it a peer. NULL: every node heard is one. */
    int (*wants)(void *user, const uint8_t id[32]);
    void (*log)(void *user, const char *line);
    void *user;
} sync_transport_config_t;

struct weft_sync_transport {
    const char *name; /* "links", "nats" */
    /* 1: the transport carries every committed op to every member by
     * itself (NATS: the streams), so the engine runs with lazy_push. */
    int carries_ops;
    /* Starts it on cfg->loop (*out its state). 0, or WEFT_EARG / WEFT_EIO
     * with msg, or WEFT_ENOMEM. */
    int (*start)(const sync_transport_config_t *cfg, void **out, char *msg, size_t msg_size);
    /* One frame to a peer: 0, WEFT_ELIMIT (not queued: on_writable
     * follows), WEFT_EARG or WEFT_ENOMEM. Never calls back inside. */
    int (*send)(void *peer, uint8_t type, const uint8_t *payload, size_t len);
    /* Drops the peer (it broke a protocol above): on_down with reason,
     * later on the loop, never inside the call. */
    void (*close)(void *peer, const char *reason);
    /* This node is a member of context ctx and may have committed to it
     * (NATS: its stream, consumer and published ops; links: nothing). */
    void (*notify)(void *t, const char *ctx);
    /* An address to dial (links; NATS: ignored, its peers are heard). */
    void (*add_peer)(void *t, const char *addr);
    /* The port links listen on, or 0. */
    int (*port)(void *t);
    /* Calls fn for each peer and known address, up or not. */
    void (*info)(void *t, void (*fn)(void *user, const sync_link_info_t *info), void *user);
    /* Every up peer down (on_down "stopped"), then everything closed; the
     * loop runs until its handles are closed and the memory freed. */
    void (*stop)(void *t);
};

/* The peer links (link.c) as a transport. */
const struct weft_sync_transport *sync_links_transport(void);

#endif
