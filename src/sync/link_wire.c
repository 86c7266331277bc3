/*
 * link_wire.c — the handshake and the frame codec of one link, on bytes
 * (docs/sync.md "Handshake" is the byte-by-byte description; keep both in
 * step).
 *
 * Pattern: SIGMA-I in the shape TLS 1.3 uses. Both sides send a HELLO in
 * clear (id, ephemeral crypto_kx key, 32 random bytes); crypto_kx gives
 * one key per direction (the dialler is the kx client); each side opens a
 * secretstream with its tx key and sends, as its first message, an ed25519
 * signature over a hash of both HELLOs and its role. Only libsodium's
 * primitives; nothing here is new cryptography.
 *
 * Invariant: nothing from a frame reaches the caller before the peer's
 * AUTH verified, and a frame is handed out only after it decrypted (the
 * secretstream's nonce counter rejects a replayed, reordered or dropped
 * frame). After the first error the wire is dead and reads nothing more.
 */
#include "link_wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/error.h"

#define DOMAIN "weft-sync-v1"
#define AUTH_DOMAIN "weft-sync-v1 auth"
#define ROLE_DIALLER 1
#define ROLE_ACCEPTOR 2
#define AUTH_LEN (1 + crypto_sign_BYTES)

__attribute__((format(printf, 2, 3))) static int fail(sync_wire_t *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->error, sizeof w->error, fmt, ap);
    va_end(ap);
    w->state = WS_DEAD;
    return SYNC_WIRE_ERROR;
}

/* What a side signs: the domain, its role and the transcript hash. */
static void auth_message(const uint8_t th[32], int role, uint8_t out[sizeof AUTH_DOMAIN - 1 + 33])
{
    memcpy(out, AUTH_DOMAIN, sizeof AUTH_DOMAIN - 1);
    out[sizeof AUTH_DOMAIN - 1] = (uint8_t)role;
    memcpy(out + sizeof AUTH_DOMAIN, th, 32);
}

int sync_wire_init(sync_wire_t *w, int dialler, const uint8_t *public_key,
                   const uint8_t *secret_key,
                   void (*emit)(void *user, const uint8_t *p, size_t n), void *user)
{
    uint8_t *h;
    memset(w, 0, sizeof *w);
    w->dialler = dialler;
    memcpy(w->self_id, public_key, SYNC_ID_LEN);
    w->secret_key = secret_key;
    w->emit = emit;
    w->user = user;
    w->cap = 256;
    w->buf = malloc(w->cap);
    if (w->buf == NULL)
        return WEFT_ENOMEM;
    crypto_kx_keypair(w->kx_pk, w->kx_sk);
    h = w->hello;
    memcpy(h, SYNC_WIRE_MAGIC, 8);
    h[8] = SYNC_WIRE_VERSION;
    memcpy(h + 9, public_key, SYNC_ID_LEN);
    memcpy(h + 9 + SYNC_ID_LEN, w->kx_pk, crypto_kx_PUBLICKEYBYTES);
    randombytes_buf(h + 9 + SYNC_ID_LEN + crypto_kx_PUBLICKEYBYTES, 32);
    w->state = WS_HELLO;
    w->need = SYNC_WIRE_HELLO_LEN;
    emit(user, w->hello, sizeof w->hello);
    return 0;
}

void sync_wire_fini(sync_wire_t *w)
{
    if (w->buf != NULL) {
        sodium_memzero(w->buf, w->cap);
        free(w->buf);
    }
    sodium_memzero(w, sizeof *w);
}

int sync_wire_partial(const sync_wire_t *w)
{
    return w->state != WS_DEAD && w->have > 0;
}

void sync_wire_seal(sync_wire_t *w, uint8_t type, const uint8_t *payload, size_t len,
                    uint8_t *out)
{
    size_t ct = SYNC_WIRE_ABYTES + 1 + len;
    /* the plaintext is type || payload, one message, so the two are put
     * side by side in out first, right where their ciphertext goes (after
     * the length and the stream's encrypted tag byte): libsodium's
     * secretstream encrypts in place when m is exactly c + 1 */
    uint8_t *m = out + 4 + 1;
    out[0] = (uint8_t)(ct >> 24);
    out[1] = (uint8_t)(ct >> 16);
    out[2] = (uint8_t)(ct >> 8);
    out[3] = (uint8_t)ct;
    m[0] = type;
    if (len > 0)
        memmove(m + 1, payload, len);
    crypto_secretstream_xchacha20poly1305_push(&w->push, out + 4, NULL, m, 1 + len, NULL, 0,
                                               crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

/* The peer's HELLO is in w->buf: check it, derive the keys, answer with our
 * stream header and AUTH. */
static int on_hello(sync_wire_t *w)
{
    const uint8_t *h = w->buf;
    uint8_t tx[crypto_kx_SESSIONKEYBYTES], header[SYNC_WIRE_HEADER_LEN];
    uint8_t msg[sizeof AUTH_DOMAIN - 1 + 33], sig[crypto_sign_BYTES];
    uint8_t frame[SYNC_WIRE_FRAME_LEN(AUTH_LEN)];
    const uint8_t *peer_kx = h + 9 + SYNC_ID_LEN;
    crypto_generichash_state hs;
    int rc;
    if (memcmp(h, SYNC_WIRE_MAGIC, 8) != 0)
        return fail(w, "bad magic (not a weft sync peer)");
    if (h[8] != SYNC_WIRE_VERSION)
        return fail(w, "unsupported version %u (we speak %u)", h[8], SYNC_WIRE_VERSION);
    memcpy(w->peer_id, h + 9, SYNC_ID_LEN);
    if (memcmp(w->peer_id, w->self_id, SYNC_ID_LEN) == 0)
        return fail(w, "connection to ourselves");
    if (w->dialler)
        rc = crypto_kx_client_session_keys(w->rx, tx, w->kx_pk, w->kx_sk, peer_kx);
    else
        rc = crypto_kx_server_session_keys(w->rx, tx, w->kx_pk, w->kx_sk, peer_kx);
    /* forward secrecy: the ephemeral secret is not needed any more */
    sodium_memzero(w->kx_sk, sizeof w->kx_sk);
    if (rc != 0)
        return fail(w, "bad key exchange key");
    crypto_generichash_init(&hs, NULL, 0, sizeof w->th);
    crypto_generichash_update(&hs, (const uint8_t *)DOMAIN, sizeof DOMAIN - 1);
    crypto_generichash_update(&hs, w->dialler ? w->hello : h, SYNC_WIRE_HELLO_LEN);
    crypto_generichash_update(&hs, w->dialler ? h : w->hello, SYNC_WIRE_HELLO_LEN);
    crypto_generichash_final(&hs, w->th, sizeof w->th);
    crypto_secretstream_xchacha20poly1305_init_push(&w->push, header, tx);
    sodium_memzero(tx, sizeof tx);
    w->emit(w->user, header, sizeof header);
    auth_message(w->th, w->dialler ? ROLE_DIALLER : ROLE_ACCEPTOR, msg);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, w->secret_key);
    sync_wire_seal(w, SYNC_FRAME_AUTH, sig, sizeof sig, frame);
    w->emit(w->user, frame, sizeof frame);
    w->state = WS_HEADER;
    w->need = SYNC_WIRE_HEADER_LEN;
    return SYNC_WIRE_NEED;
}

/* A whole frame's ciphertext is in w->buf[0..need). Decrypts it in place
 * (the plaintext lands at buf + 1, where its ciphertext was; the MAC is
 * checked before any byte changes). */
static int on_body(sync_wire_t *w, uint8_t *type, const uint8_t **payload, size_t *len)
{
    unsigned long long mlen;
    unsigned char tag;
    uint8_t msg[sizeof AUTH_DOMAIN - 1 + 33];
    if (crypto_secretstream_xchacha20poly1305_pull(&w->pull, w->buf + 1, &mlen, &tag,
                                                   w->buf, w->need, NULL, 0) != 0)
        return fail(w, "frame failed to decrypt (tampered, replayed, reordered or "
                       "dropped)");
    if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
        return fail(w, "unexpected stream tag %u", tag);
    w->state = WS_LEN;
    w->need = 4;
    if (!w->authed) {
        if (w->buf[1] != SYNC_FRAME_AUTH || mlen != AUTH_LEN)
            return fail(w, "first frame is not AUTH (type 0x%02x, %zu bytes)", w->buf[1],
                        (size_t)mlen);
        auth_message(w->th, w->dialler ? ROLE_ACCEPTOR : ROLE_DIALLER, msg);
        if (crypto_sign_verify_detached(w->buf + 2, msg, sizeof msg, w->peer_id) != 0)
            return fail(w, "bad AUTH signature (the peer does not hold the key of the id "
                           "it claims)");
        w->authed = 1;
        return SYNC_WIRE_UP;
    }
    if (w->buf[1] == SYNC_FRAME_AUTH)
        return fail(w, "AUTH frame after the handshake");
    *type = w->buf[1];
    *payload = w->buf + 2;
    *len = (size_t)mlen - 1;
    return SYNC_WIRE_FRAME;
}

int sync_wire_read(sync_wire_t *w, const uint8_t *p, size_t n, size_t *used, uint8_t *type,
                   const uint8_t **payload, size_t *len)
{
    size_t take;
    uint32_t flen;
    *used = 0;
    for (;;) {
        if (w->state == WS_DEAD)
            return SYNC_WIRE_ERROR;
        take = w->need - w->have;
        if (take > n - *used)
            take = n - *used;
        memcpy(w->buf + w->have, p + *used, take);
        w->have += take;
        *used += take;
        if (w->have < w->need)
            return SYNC_WIRE_NEED;
        w->have = 0;
        switch (w->state) {
        case WS_HELLO: {
            int rc = on_hello(w);
            if (rc != SYNC_WIRE_NEED)
                return rc;
            break;
        }
        case WS_HEADER:
            if (crypto_secretstream_xchacha20poly1305_init_pull(&w->pull, w->buf, w->rx) != 0)
                return fail(w, "bad stream header");
            sodium_memzero(w->rx, sizeof w->rx);
            w->state = WS_LEN;
            w->need = 4;
            break;
        case WS_LEN:
            flen = (uint32_t)w->buf[0] << 24 | (uint32_t)w->buf[1] << 16 |
                   (uint32_t)w->buf[2] << 8 | w->buf[3];
            /* checked before a byte of the body is read or a buffer grown */
            if (flen > SYNC_WIRE_MAX_CT)
                return fail(w, "frame too long (%u bytes, max %zu)", flen, SYNC_WIRE_MAX_CT);
            if (flen < SYNC_WIRE_ABYTES + 1)
                return fail(w, "frame too short (%u bytes)", flen);
            if (flen > w->cap) {
                uint8_t *nb = realloc(w->buf, flen);
                if (nb == NULL)
                    return fail(w, "out of memory for a frame of %u bytes", flen);
                w->buf = nb;
                w->cap = flen;
            }
            w->state = WS_BODY;
            w->need = flen;
            break;
        case WS_BODY:
            return on_body(w, type, payload, len);
        case WS_DEAD: return SYNC_WIRE_ERROR;
        }
    }
}

size_t sync_peers_encode(const uint8_t (*ids)[SYNC_ID_LEN], const char *const *addrs, size_t n,
                         uint8_t *out, size_t cap)
{
    size_t pos = 2, i, k = 0;
    for (i = 0; i < n && k < 0xffff; i++) {
        size_t al = strlen(addrs[i]);
        if (al == 0 || al > 63 || pos + SYNC_ID_LEN + 1 + al > cap)
            continue;
        memcpy(out + pos, ids[i], SYNC_ID_LEN);
        out[pos + SYNC_ID_LEN] = (uint8_t)al;
        memcpy(out + pos + SYNC_ID_LEN + 1, addrs[i], al);
        pos += SYNC_ID_LEN + 1 + al;
        k++;
    }
    out[0] = (uint8_t)(k >> 8);
    out[1] = (uint8_t)k;
    return pos;
}

int sync_peers_begin(sync_peers_iter_t *it, const uint8_t *p, size_t len)
{
    if (len < 2)
        return -1;
    it->p = p;
    it->len = len;
    it->pos = 2;
    it->left = (unsigned)p[0] << 8 | p[1];
    return 0;
}

int sync_peers_next(sync_peers_iter_t *it, uint8_t id[SYNC_ID_LEN], char addr[64])
{
    size_t al, i;
    if (it->left == 0)
        return it->pos == it->len ? 0 : -1;
    if (it->len - it->pos < SYNC_ID_LEN + 1)
        return -1;
    al = it->p[it->pos + SYNC_ID_LEN];
    if (al == 0 || al > 63 || it->len - it->pos - SYNC_ID_LEN - 1 < al)
        return -1;
    for (i = 0; i < al; i++) {
        uint8_t c = it->p[it->pos + SYNC_ID_LEN + 1 + i];
        if (c <= ' ' || c > '~')
            return -1;
    }
    memcpy(id, it->p + it->pos, SYNC_ID_LEN);
    memcpy(addr, it->p + it->pos + SYNC_ID_LEN + 1, al);
    addr[al] = 0;
    it->pos += SYNC_ID_LEN + 1 + al;
    it->left--;
    return 1;
}
