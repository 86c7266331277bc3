/*
 * link.h — authenticated, encrypted peer links on one libuv loop (src/sync
 * only; docs/sync.md "Links" and "Handshake").
 *
 * A sync_links_t listens on one address and dials the peers it is given or
 * learns (peer lists are gossiped), redialling with exponential backoff and
 * jitter. Every connection runs the handshake (mutual ed25519 proof of node
 * id over ephemeral X25519 keys, libsodium crypto_kx + crypto_sign), then
 * carries frames: u32 BE length, then one crypto_secretstream_xchacha20poly1305
 * message whose plaintext is one byte of type and the payload. Types
 * 0x00..0x0f belong to this layer (ping, pong, peer lists); every other
 * type is handed to on_frame. A frame that fails to decrypt, arrives out of
 * order, is replayed, or is truncated closes the link with a logged reason,
 * and nothing of it is delivered.
 *
 * Threads: everything here runs on the loop's thread, including every
 * callback; nothing may be called from another thread (hand work to the
 * loop with uv_async_send).
 *
 * Ownership: a sync_link_t is valid from on_up until on_down returns.
 */
#ifndef WEFT_SYNC_LINK_H
#define WEFT_SYNC_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define SYNC_ID_LEN 32
#define SYNC_MAX_FRAME ((size_t)1 << 20) /* plaintext bytes of one frame, type included */
#define SYNC_TYPE_USER 0x10               /* first type handed to on_frame */

typedef struct sync_links sync_links_t;
typedef struct sync_link sync_link_t;

typedef struct {
    /* state of one link, for GET /v1/peers and /metrics */
    uint8_t id[SYNC_ID_LEN]; /* the peer's node id (zeros before the handshake) */
    char addr[64];           /* "ADDR:PORT" dialled, or the remote address */
    int up;                  /* handshake done, frames flowing */
    int outbound;            /* we dialled */
    uint64_t bytes_in, bytes_out;   /* on the wire, since the link was made */
    uint64_t frames_in, frames_out;
    uint64_t reconnects;     /* times this address was redialled */
    uint64_t rtt_us;         /* last ping's round trip (0: none yet) */
    size_t queued;           /* bytes waiting to be written */
    char last_error[128];    /* why it last went down ("" if never) */
} sync_link_info_t;

typedef struct {
    uv_loop_t *loop;
    const uint8_t *public_key; /* 32 bytes: this node's id */
    const uint8_t *secret_key; /* 64 bytes (libsodium ed25519 secret key) */
    const char *listen;        /* "ADDR:PORT" (port 0: any free one) or NULL */
    const char *const *peers;  /* "ADDR:PORT" to dial */
    size_t npeers;
    /* Timings in ms; zeros mean the defaults in docs/sync.md. */
    uint64_t ping_ms, dead_ms, backoff_min_ms, backoff_max_ms, handshake_ms;
    size_t high_water; /* queued bytes past which sync_link_send says WEFT_ELIMIT; 0: 8 MiB */
    void (*on_up)(void *user, sync_link_t *link, const uint8_t peer_id[SYNC_ID_LEN]);
    void (*on_frame)(void *user, sync_link_t *link, uint8_t type, const uint8_t *payload,
                     size_t len);
    /* The link has room again after sync_link_send said WEFT_ELIMIT. */
    void (*on_writable)(void *user, sync_link_t *link);
    void (*on_down)(void *user, sync_link_t *link, const char *reason);
    /* Log lines ("sync: ..."); NULL: stderr. */
    void (*log)(void *user, const char *line);
    void *user;
} sync_links_config_t;

/* Starts listening and dialling on cfg->loop. Returns 0, WEFT_EARG (a bad
 * address: msg says which), WEFT_EIO (cannot listen: msg says why) or
 * WEFT_ENOMEM. */
int sync_links_start(const sync_links_config_t *cfg, sync_links_t **out, char *msg,
                     size_t msg_size);
/* The port actually listened on (after port 0), or 0. */
int sync_links_port(const sync_links_t *links);
/* Adds an address to dial (from an admin call or gossip). Idempotent. */
int sync_links_add_peer(sync_links_t *links, const char *addr);
/* Queues one frame (type >= SYNC_TYPE_USER, payload up to SYNC_MAX_FRAME - 1
 * bytes). Returns 0, WEFT_ELIMIT when the link's queue is over its high
 * water mark (the frame is NOT queued; wait for on_writable), WEFT_EARG (bad
 * type or size) or WEFT_ENOMEM. */
int sync_link_send(sync_link_t *link, uint8_t type, const uint8_t *payload, size_t len);
/* Closes the link with `reason` (logged "sync: link ADDR down: REASON",
 * then on_down's argument): from now on nothing more of it is read or
 * delivered and sync_link_send says WEFT_EARG; on_down follows later on
 * the loop, never inside the caller. Frames queued and not yet written
 * may be dropped. For a peer that broke a protocol above this layer. */
void sync_link_close(sync_link_t *link, const char *reason);
/* The peer's id of an up link. */
const uint8_t *sync_link_peer(const sync_link_t *link);
/* Calls fn for every known address and every connection, up or not. */
void sync_links_info(sync_links_t *links, void (*fn)(void *user, const sync_link_info_t *info),
                     void *user);
/* Closes every link and the listener; the callbacks see on_down for each up
 * link. The loop must then run until it has no more handles to close them. */
void sync_links_stop(sync_links_t *links);

#endif
