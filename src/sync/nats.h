/*
 * nats.h — the NATS JetStream transport (src/sync only; docs/sync.md "NATS
 * transport").
 *
 * A second transport under the replication engine, beside the peer links
 * of link.h and in their shape: peers come up and go down, frames go to a
 * peer and come from one. Here a peer is another node heard on NATS (signed
 * presence messages), a frame to it is a signed message on its subject, and
 * each context is also a JetStream stream: this node publishes its own
 * committed ops there (deduplicated by message id) and reads every member's
 * through a durable consumer, handing each batch to the layer above as an
 * OPS frame from its origin (a peer made for it when the origin is not
 * heard from: it may be down; that is what the stream is for).
 *
 * Threads. Callbacks run on the loop's thread. libnats delivers on its own
 * threads: messages are queued and handed to the loop through an async
 * handle. Stream setup and publishing block on the server, so they run on
 * a worker thread of this transport, which reads the op-log through its own
 * read transactions.
 */
#ifndef WEFT_SYNC_NATS_H
#define WEFT_SYNC_NATS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "link.h"
#include "transport.h"
#include "weft/db.h"

typedef struct sync_nats sync_nats_t;
typedef struct sync_nats_peer sync_nats_peer_t;

/* The transport's configuration (transport.h): loop, db, keys, url, creds,
 * ca, replicas and every callback; listen and peers unused. */
typedef sync_transport_config_t sync_nats_config_t;

/* Connects (in the background when the server is not there yet: the client
 * retries for ever). Returns 0, WEFT_EARG with msg (a bad URL or
 * credentials file), WEFT_EIO (msg says why: a server that refuses the
 * node, with its reason) or WEFT_ENOMEM. Call on the loop's thread. */
int sync_nats_start(const sync_nats_config_t *cfg, sync_nats_t **out, char *msg,
                    size_t msg_size);
/* Publishes a frame to the peer: 0, or WEFT_ELIMIT when the client's buffer
 * is full (on_writable follows within a tick). Loop thread. */
int sync_nats_send(sync_nats_peer_t *peer, uint8_t type, const uint8_t *payload, size_t len);
/* Drops the peer (a malformed frame): on_down with the reason, from the
 * loop, never inside the call; it comes up again when heard from. */
void sync_nats_close(sync_nats_peer_t *peer, const char *reason);
/* This node is a member of context ctx and may have committed to it: make
 * sure of its stream and consumer, publish its new own ops. Loop thread. */
void sync_nats_notify(sync_nats_t *n, const char *ctx);
/* Calls fn for each peer (addr "nats", no byte counters of the wire). */
void sync_nats_info(sync_nats_t *n, void (*fn)(void *user, const sync_link_info_t *info),
                    void *user);
/* Every peer down (on_down "stopped"), the worker joined, the connection
 * closed and freed; the loop then closes the handles. Loop thread. */
void sync_nats_stop(sync_nats_t *n);

/* The functions above as sync.c reaches them: the transport table
 * (transport.h), which the embedder hands over (weft_sync_nats_transport,
 * weft/sync.h), so that weft_sync itself does not need libnats. */

#endif
