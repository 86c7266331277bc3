/*
 * identity.c — weft/identity.h: the node's ed25519 key pair, kept in the
 * data directory's WEFT_SPACE_META space under WEFT_IDENTITY_KEY.
 *
 * Invariants: a stored key pair is never overwritten (that would change the
 * node id under its peers); creation looks again inside the write
 * transaction, so two processes opening a fresh directory at once end with
 * the one key pair whichever committed first. A read transaction serves
 * every load after the first, so a run pays no write (and no fsync) for it.
 */
#include <sodium.h>
#include <string.h>

#include "weft/error.h"
#include "weft/identity.h"

#define KEY ((const uint8_t *)WEFT_IDENTITY_KEY)
#define KEY_LEN (sizeof WEFT_IDENTITY_KEY - 1)
/* A map-full write grows the map and asks for a retry; a 64-byte value in
 * a fresh map needs at most one, so a few attempts are plenty. */
#define MAX_ATTEMPTS 4

/* Checks a stored secret key: 64 bytes whose public half is the one its
 * seed (first 32 bytes) derives. Copies it to sk on success. */
static int check_stored(const uint8_t *val, size_t len, uint8_t sk[64])
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], derived[crypto_sign_SECRETKEYBYTES];
    if (len != crypto_sign_SECRETKEYBYTES)
        return WEFT_EIO;
    if (crypto_sign_seed_keypair(pk, derived, val) != 0 ||
        sodium_memcmp(derived, val, crypto_sign_SECRETKEYBYTES) != 0) {
        sodium_memzero(derived, sizeof derived);
        return WEFT_EIO;
    }
    memcpy(sk, derived, sizeof derived);
    sodium_memzero(derived, sizeof derived);
    return 0;
}

/* Looks the key pair up in `txn`: 0 (copied to sk), WEFT_ENOTFOUND or an
 * error. */
static int lookup(weft_txn_t *txn, uint8_t sk[64])
{
    const uint8_t *val;
    size_t len;
    int rc = weft_txn_get(txn, WEFT_SPACE_META, NULL, 0, KEY, KEY_LEN, &val, &len);
    if (rc != 0)
        return rc;
    return check_stored(val, len, sk);
}

/* Creates the key pair unless another writer did first. */
static int create(weft_db_t *db, uint8_t sk[64])
{
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    weft_txn_t *txn;
    int rc = weft_txn_begin(db, WEFT_TXN_WRITE, &txn);
    if (rc != 0)
        return rc;
    rc = lookup(txn, sk);
    if (rc != WEFT_ENOTFOUND) {
        weft_txn_abort(txn);
        return rc;
    }
    crypto_sign_keypair(pk, sk);
    rc = weft_txn_put(txn, WEFT_SPACE_META, NULL, 0, KEY, KEY_LEN, sk, crypto_sign_SECRETKEYBYTES);
    if (rc != 0) {
        weft_txn_abort(txn);
        return rc;
    }
    return weft_txn_commit(txn);
}

int weft_identity_load(weft_db_t *db, uint8_t out_public[32], uint8_t out_secret[64])
{
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    weft_txn_t *txn;
    int rc;
    if (!db)
        return WEFT_EARG;
    if (sodium_init() < 0)
        return WEFT_ENOMEM;
    rc = weft_txn_begin(db, WEFT_TXN_READ, &txn);
    if (rc != 0)
        goto done;
    rc = lookup(txn, sk);
    weft_txn_abort(txn);
    for (int attempt = 0; rc == WEFT_ENOTFOUND && attempt < MAX_ATTEMPTS; attempt++) {
        rc = create(db, sk);
        if (weft_db_retryable(rc))
            rc = WEFT_ENOTFOUND; /* the map grew: try again */
    }
    if (rc == WEFT_ENOTFOUND)
        rc = WEFT_ELIMIT;
    if (rc != 0)
        goto done;
    if (out_public)
        memcpy(out_public, sk + crypto_sign_SEEDBYTES, crypto_sign_PUBLICKEYBYTES);
    if (out_secret)
        memcpy(out_secret, sk, sizeof sk);
done:
    sodium_memzero(sk, sizeof sk);
    return rc;
}
