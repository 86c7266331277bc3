/*
 * link_wire.h — one link's bytes, without sockets (src/sync only;
 * docs/sync.md "Handshake").
 *
 * A sync_wire_t is the handshake and the frame codec of one connection:
 * bytes received go in with sync_wire_read, one message at a time, and come
 * out as events (handshake done, a frame, an error with its reason); bytes
 * to send (our HELLO, stream header and AUTH) go out through the emit
 * callback, frames through sync_wire_seal. link.c puts it on a libuv TCP
 * handle; the fuzz target (tests/sync/fuzz_link.c) feeds it directly.
 *
 * Memory: the receive buffer holds at most one message (a HELLO, a stream
 * header, or one frame of at most SYNC_WIRE_MAX_CT bytes), allocated when
 * the frame's length has been checked. Keys are wiped in sync_wire_fini and
 * the ephemeral key exchange keys as soon as the session keys exist.
 */
#ifndef WEFT_SYNC_LINK_WIRE_H
#define WEFT_SYNC_LINK_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "link.h"

#define SYNC_WIRE_VERSION 1
#define SYNC_WIRE_MAGIC "WEFTSYNC"
#define SYNC_WIRE_HELLO_LEN (8 + 1 + SYNC_ID_LEN + crypto_kx_PUBLICKEYBYTES + 32)
#define SYNC_WIRE_HEADER_LEN crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define SYNC_WIRE_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
/* Largest ciphertext of one frame (the u32 length prefix not counted). */
#define SYNC_WIRE_MAX_CT (SYNC_MAX_FRAME + SYNC_WIRE_ABYTES)
/* Bytes on the wire of a frame whose plaintext (type included) is n bytes. */
#define SYNC_WIRE_FRAME_LEN(n) (4 + SYNC_WIRE_ABYTES + (n))

/* Frame types of the link layer (plaintext byte 0). */
enum {
    SYNC_FRAME_AUTH = 0x00,  /* signature over the transcript: the first frame, and only it */
    SYNC_FRAME_PING = 0x01,  /* u64 BE: echoed in PONG */
    SYNC_FRAME_PONG = 0x02,
    SYNC_FRAME_PEERS = 0x03, /* u16 BE count, then (id[32], u8 len, "ADDR:PORT") each */
};

/* What sync_wire_read found. */
enum {
    SYNC_WIRE_NEED = 0,  /* every byte given was used; more are needed */
    SYNC_WIRE_UP = 1,    /* the peer proved its id (w->peer_id): frames may flow */
    SYNC_WIRE_FRAME = 2, /* one frame: type and payload in the out parameters */
    SYNC_WIRE_ERROR = 3, /* w->error says why; the link must close */
};

typedef enum {
    WS_HELLO,  /* waiting for the peer's HELLO */
    WS_HEADER, /* waiting for the peer's secretstream header */
    WS_LEN,    /* waiting for a frame's u32 length */
    WS_BODY,   /* waiting for a frame's ciphertext */
    WS_DEAD,   /* an error was reported; nothing more is read */
} sync_wire_state_t;

typedef struct {
    /* given to sync_wire_init */
    int dialler;
    uint8_t self_id[SYNC_ID_LEN];
    const uint8_t *secret_key; /* borrowed: 64 bytes */
    void (*emit)(void *user, const uint8_t *p, size_t n);
    void *user;

    sync_wire_state_t state;
    int authed;
    uint8_t peer_id[SYNC_ID_LEN];
    uint8_t kx_pk[crypto_kx_PUBLICKEYBYTES], kx_sk[crypto_kx_SECRETKEYBYTES];
    uint8_t hello[SYNC_WIRE_HELLO_LEN]; /* ours */
    uint8_t th[32];                     /* transcript hash */
    uint8_t rx[crypto_kx_SESSIONKEYBYTES];
    crypto_secretstream_xchacha20poly1305_state push, pull;

    uint8_t *buf; /* the message being received */
    size_t have, need, cap;
    char error[128];
} sync_wire_t;

/* Makes fresh ephemeral keys and emits our HELLO. 0 or WEFT_ENOMEM. */
int sync_wire_init(sync_wire_t *w, int dialler, const uint8_t *public_key,
                   const uint8_t *secret_key,
                   void (*emit)(void *user, const uint8_t *p, size_t n), void *user);
/* Frees the buffer and wipes every key. */
void sync_wire_fini(sync_wire_t *w);
/* Reads from p[0..n) up to the end of one message; *used says how many
 * bytes it took. On SYNC_WIRE_FRAME, *type / *payload / *len describe the
 * frame; payload lives in w until the next call. */
int sync_wire_read(sync_wire_t *w, const uint8_t *p, size_t n, size_t *used, uint8_t *type,
                   const uint8_t **payload, size_t *len);
/* True when a message has been partly received (EOF now means truncated). */
int sync_wire_partial(const sync_wire_t *w);
/* Encrypts one frame into out (SYNC_WIRE_FRAME_LEN(1 + len) bytes). Only
 * after our AUTH has been sent (the peer's HELLO was read). */
void sync_wire_seal(sync_wire_t *w, uint8_t type, const uint8_t *payload, size_t len,
                    uint8_t *out);
/* PEERS payload: encodes up to n entries into out (cap bytes), returns the
 * length. Decoding walks it: 1 and one entry, 0 at the end, -1 if malformed. */
typedef struct {
    const uint8_t *p;
    size_t len, pos;
    unsigned left;
} sync_peers_iter_t;
size_t sync_peers_encode(const uint8_t (*ids)[SYNC_ID_LEN], const char *const *addrs, size_t n,
                         uint8_t *out, size_t cap);
int sync_peers_begin(sync_peers_iter_t *it, const uint8_t *p, size_t len);
int sync_peers_next(sync_peers_iter_t *it, uint8_t id[SYNC_ID_LEN], char addr[64]);

#endif
