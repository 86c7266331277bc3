/*
 * fuzz_link.c — libFuzzer target for a link's receive path: the handshake
 * and frame codec of src/sync/link_wire.c, on the accepting side.
 *
 * Byte 0 even: the rest goes as is to a fresh accepting wire (whatever a
 * stranger may send before any handshake). Byte 0 odd: a dialling wire
 * first completes a valid handshake with it; the rest is records of
 * (u8 op, u16 BE len, len bytes): op even, the bytes are sealed by the
 * dialler as one frame (byte 0 the type, the rest the payload), op odd,
 * they are fed raw; either way in pieces of 1 + op / 2 bytes, so partial
 * reads are exercised. Beyond crashes and over-reads (the sanitizers' job)
 * it aborts when the wire breaks its contract: a frame before the peer's
 * AUTH, a payload over the maximum, a sealed frame (before any raw byte)
 * that does not come back unchanged, a wire that reads again after an
 * error. PEERS payloads go through their decoder. replay.c runs it over
 * corpus_link/ without libFuzzer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_link: %s\n", what);
        abort();
    }
}

typedef struct {
    uint8_t *p;
    size_t len, cap;
} obuf_t;

static void emit(void *user, const uint8_t *p, size_t n)
{
    obuf_t *b = user;
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2;
        uint8_t *np = realloc(b->p, cap);
        check(np != NULL, "realloc");
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

typedef struct {
    sync_wire_t w;
    int up, dead, frames;
    /* the frame expected next (a sealed one, while no raw byte was fed) */
    const uint8_t *want;
    size_t want_len;
    int want_set, want_seen;
} side_t;

static void walk_peers(const uint8_t *p, size_t len)
{
    sync_peers_iter_t it;
    uint8_t id[SYNC_ID_LEN];
    char addr[64];
    int rc;
    if (sync_peers_begin(&it, p, len) != 0)
        return;
    while ((rc = sync_peers_next(&it, id, addr)) == 1)
        check(strlen(addr) > 0 && strlen(addr) < 64, "decoded address length");
    check(rc == 0 || rc == -1, "peers decoder result");
}

/* Feeds p[0..n) in pieces of `piece` bytes. */
static void feed(side_t *s, const uint8_t *p, size_t n, size_t piece)
{
    while (n > 0 && !s->dead) {
        size_t chunk = n < piece ? n : piece, used, len = 0;
        const uint8_t *payload = NULL;
        uint8_t type = 0xff;
        while (chunk > 0 && !s->dead) {
            int ev = sync_wire_read(&s->w, p, chunk, &used, &type, &payload, &len);
            check(used <= chunk, "used more than given");
            p += used;
            n -= used;
            chunk -= used;
            switch (ev) {
            case SYNC_WIRE_NEED: check(chunk == 0, "NEED with bytes left"); break;
            case SYNC_WIRE_UP:
                check(!s->up, "UP twice");
                s->up = 1;
                break;
            case SYNC_WIRE_FRAME:
                check(s->up, "frame before the handshake");
                check(len < SYNC_MAX_FRAME, "payload over the maximum");
                check(type != SYNC_FRAME_AUTH, "AUTH handed out as a frame");
                if (s->want_set) {
                    check(1 + len == s->want_len && type == s->want[0] &&
                              memcmp(payload, s->want + 1, len) == 0,
                          "sealed frame came back changed");
                    s->want_seen = 1;
                }
                if (type == SYNC_FRAME_PEERS)
                    walk_peers(payload, len);
                s->frames++;
                break;
            default:
                check(ev == SYNC_WIRE_ERROR, "unknown event");
                check(s->w.error[0] != 0, "error without a reason");
                s->dead = 1;
            }
        }
    }
    if (s->dead) {
        size_t used;
        uint8_t t;
        const uint8_t *pl;
        size_t l;
        check(sync_wire_read(&s->w, (const uint8_t *)"x", 1, &used, &t, &pl, &l) ==
                  SYNC_WIRE_ERROR,
              "a dead wire read again");
    }
}

static uint8_t d_pk[32], d_sk[64], a_pk[32], a_sk[64];

static void keys(void)
{
    static int done;
    uint8_t seed[32];
    if (done)
        return;
    check(sodium_init() >= 0, "sodium_init");
    memset(seed, 1, sizeof seed);
    crypto_sign_seed_keypair(d_pk, d_sk, seed);
    memset(seed, 2, sizeof seed);
    crypto_sign_seed_keypair(a_pk, a_sk, seed);
    done = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    side_t a, d;
    obuf_t to_a = {0}, to_d = {0};
    int raw_fed = 0;
    size_t pos = 1;
    keys();
    if (size == 0)
        return 0;
    memset(&a, 0, sizeof a);
    memset(&d, 0, sizeof d);
    check(sync_wire_init(&a.w, 0, a_pk, a_sk, emit, &to_d) == 0, "init acceptor");
    if ((data[0] & 1) == 0) {
        feed(&a, data + 1, size - 1, 1 + data[0] / 2);
        goto done;
    }
    /* a valid handshake, the dialler being this program */
    check(sync_wire_init(&d.w, 1, d_pk, d_sk, emit, &to_a) == 0, "init dialler");
    feed(&d, to_d.p, to_d.len, 4096); /* A's HELLO: D answers header + AUTH */
    to_d.len = 0;
    feed(&a, to_a.p, to_a.len, 4096); /* D's HELLO, header, AUTH */
    to_a.len = 0;
    feed(&d, to_d.p, to_d.len, 4096);
    to_d.len = 0;
    check(a.up && d.up && !a.dead && !d.dead, "the valid handshake failed");
    check(memcmp(a.w.peer_id, d_pk, 32) == 0 && memcmp(d.w.peer_id, a_pk, 32) == 0,
          "wrong peer ids");
    while (pos + 3 <= size && !a.dead) {
        uint8_t op = data[pos];
        size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
        const uint8_t *p = data + pos + 3;
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        pos += len;
        if (op & 1) {
            raw_fed = 1;
            feed(&a, p, len, 1 + op / 2);
        } else if (len > 0) {
            uint8_t *f = malloc(SYNC_WIRE_FRAME_LEN(len));
            check(f != NULL, "malloc");
            sync_wire_seal(&d.w, p[0], p + 1, len - 1, f);
            a.want = p;
            a.want_len = len;
            a.want_set = !raw_fed;
            a.want_seen = 0;
            feed(&a, f, SYNC_WIRE_FRAME_LEN(len), 1 + op / 2);
            if (!raw_fed)
                check(a.want_seen || (p[0] == SYNC_FRAME_AUTH && a.dead),
                      "a sealed frame was not delivered");
            a.want_set = 0;
            free(f);
        }
    }
done:
    sync_wire_fini(&a.w);
    if (data[0] & 1)
        sync_wire_fini(&d.w);
    free(to_a.p);
    free(to_d.p);
    return 0;
}
