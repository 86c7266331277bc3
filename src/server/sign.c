/*
 * sign.c — signed calls: a caller proves an ed25519 identity for one call.
 *
 * Headers: Weft-Signer (the public key, 64 hex digits), Weft-Timestamp
 * (Unix time in ms) and Weft-Signature (128 hex digits): libsodium's
 * crypto_sign_detached over the message
 *
 *     "weft-call-v1\n" METHOD "\n" PATH "\n" TIMESTAMP "\n" hex(sha256(INPUT))
 *
 * where PATH is the request path as sent (still percent-encoded, without
 * the query) and INPUT the call's input (the body of a POST, the `input`
 * query value of a GET view). A timestamp more than SKEW_MS away from the
 * node's clock is refused, and so is a signature already seen within that
 * window (a replay): seen signatures are kept, as a 16-byte BLAKE2b digest
 * and an expiry, in an open-addressed table allocated on the first signed
 * call. This is the usual "sign the request with a timestamp and remember
 * nonces for the window" pattern; nothing here is a new primitive.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server_priv.h"

#define SKEW_MS 60000u
#define SEEN_SLOTS (1u << 17) /* 3 MiB, once; that many signed calls per two minutes */
#define SEEN_PROBE 64

struct srv_seen {
    uint8_t digest[16];
    uint64_t expires_ms; /* 0: free */
};

static uint64_t unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Records a signature; 0 when new, 1 when seen within the window, -1 when
 * the table is full of live entries (or out of memory). */
static int remember(srv_t *s, const uint8_t sig[64], uint64_t now)
{
    uint8_t d[16];
    crypto_generichash(d, sizeof d, sig, 64, NULL, 0);
    uint64_t h;
    memcpy(&h, d, sizeof h);
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    if (!s->seen)
        s->seen = calloc(SEEN_SLOTS, sizeof *s->seen);
    if (s->seen) {
        struct srv_seen *free_slot = NULL;
        for (unsigned i = 0; i < SEEN_PROBE; i++) {
            struct srv_seen *e = &s->seen[(h + i) & (SEEN_SLOTS - 1)];
            if (e->expires_ms > now && memcmp(e->digest, d, sizeof d) == 0) {
                rc = 1;
                break;
            }
            if (!free_slot && e->expires_ms <= now)
                free_slot = e;
        }
        if (rc != 1 && free_slot) {
            memcpy(free_slot->digest, d, sizeof d);
            free_slot->expires_ms = now + 2 * SKEW_MS;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int unhex(const char *hex, uint8_t *out, size_t n)
{
    size_t got = 0;
    return hex && strlen(hex) == 2 * n &&
                   sodium_hex2bin(out, n, hex, 2 * n, NULL, &got, NULL) == 0 && got == n
               ? 0
               : -1;
}

int srv_check_signature(srv_t *s, req_t *r, const char *path, const uint8_t *input,
                        size_t input_len, char *msg, size_t msg_size)
{
    const char *signer = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Weft-Signer");
    const char *ts = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Weft-Timestamp");
    const char *sig = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Weft-Signature");
    r->signed_call = 0;
    if (!signer && !ts && !sig)
        return 0; /* unsigned: the node's own identity */
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sg[crypto_sign_BYTES];
    if (!signer || !ts || !sig) {
        snprintf(msg, msg_size, "a signed call needs Weft-Signer, Weft-Timestamp and "
                                "Weft-Signature together");
        return -1;
    }
    if (unhex(signer, pk, sizeof pk) != 0 || unhex(sig, sg, sizeof sg) != 0) {
        snprintf(msg, msg_size, "Weft-Signer must be 64 hex digits and Weft-Signature 128");
        return -1;
    }
    char *end;
    unsigned long long t = strtoull(ts, &end, 10);
    uint64_t now = unix_ms();
    if (!*ts || *end || t + SKEW_MS < now || t > now + SKEW_MS) {
        snprintf(msg, msg_size, "Weft-Timestamp must be the Unix time in ms, within %u s of "
                                "the node's clock",
                 SKEW_MS / 1000);
        return -1;
    }
    uint8_t sum[crypto_hash_sha256_BYTES];
    char sum_hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256(sum, input, input_len);
    sodium_bin2hex(sum_hex, sizeof sum_hex, sum, sizeof sum);
    size_t mlen = strlen(r->method) + strlen(path) + strlen(ts) + sizeof sum_hex + 32;
    char *m = malloc(mlen);
    if (!m) {
        snprintf(msg, msg_size, "out of memory");
        return -1;
    }
    int n = snprintf(m, mlen, "weft-call-v1\n%s\n%s\n%s\n%s", r->method, path, ts, sum_hex);
    int bad = crypto_sign_verify_detached(sg, (const uint8_t *)m, (size_t)n, pk) != 0;
    free(m);
    if (bad) {
        snprintf(msg, msg_size, "the signature does not verify (it signs \"weft-call-v1\\n"
                                "METHOD\\nPATH\\nTIMESTAMP\\nhex(sha256(input))\")");
        return -1;
    }
    int seen = remember(s, sg, now);
    if (seen != 0) {
        snprintf(msg, msg_size, seen > 0 ? "this signed call was made before (a replay)"
                                         : "too many signed calls at once: retry later");
        return -1;
    }
    memcpy(r->caller, pk, sizeof pk);
    r->signed_call = 1;
    return 0;
}
