/*
 * identity.c — weft/identity.h: the node's ed25519 key pair, kept in the
 * data directory's WEFT_SPACE_META space under WEFT_IDENTITY_KEY.
 *
 * Invariants: a stored key pair is never overwritten (that would change the
 * node id under its peers); creation looks again inside the write
 * transaction, so two processes opening a fresh directory at once end with
 * the one key pair whichever committed first. A read transaction serves
 * every load after the first, so a run pays no write (and no fsync) for it.
 *
 * The witness. The key pair lives in data.mdb, so a data.mdb that lost it
 * (emptied, replaced, damaged) would silently yield a new node id. So once
 * a writable directory has a key pair, its id is also written, in hex, to
 * the file WEFT_DB_NODE_ID_FILE next to data.mdb (atomically: a temporary
 * file renamed). A load that finds that file but no key pair, or another
 * one, reports the directory damaged (WEFT_EDAMAGED) instead of making or
 * using a key pair; weft_db_open also refuses an empty or missing data.mdb
 * next to it. The witness is best effort: a directory whose witness could
 * not be written works as before.
 */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

#define HEX_LEN (2 * crypto_sign_PUBLICKEYBYTES)

static void to_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The witness's path (malloc'ed), or NULL. */
static char *witness_path(weft_db_t *db, const char *suffix)
{
    const char *dir = weft_db_dir(db);
    size_t n = strlen(dir) + sizeof "/" WEFT_DB_NODE_ID_FILE + strlen(suffix);
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "%s/%s%s", dir, WEFT_DB_NODE_ID_FILE, suffix);
    return path;
}

/* Reads the witness into hex: 1 when there is one (hex is "" when it holds
 * no id), 0 when there is none. */
static int read_witness(weft_db_t *db, char hex[HEX_LEN + 1])
{
    char buf[HEX_LEN + 2];
    char *path = witness_path(db, "");
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    ssize_t n;
    free(path);
    hex[0] = '\0';
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof buf);
    close(fd);
    if (n == HEX_LEN + 1 && buf[HEX_LEN] == '\n' && strspn(buf, "0123456789abcdef") == HEX_LEN) {
        memcpy(hex, buf, HEX_LEN);
        hex[HEX_LEN] = '\0';
    }
    return 1;
}

/* Writes the witness (temporary file, fsync, rename). Best effort. */
static void write_witness(weft_db_t *db, const char hex[HEX_LEN + 1])
{
    char *tmp = witness_path(db, ".tmp"), *path = witness_path(db, "");
    char line[HEX_LEN + 1];
    int fd = tmp && path ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    if (fd >= 0) {
        memcpy(line, hex, HEX_LEN);
        line[HEX_LEN] = '\n';
        int ok = write(fd, line, sizeof line) == (ssize_t)sizeof line && fsync(fd) == 0;
        close(fd);
        if (!ok || rename(tmp, path) != 0)
            unlink(tmp);
    }
    free(tmp);
    free(path);
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
    if (rc == WEFT_EIO) {
        rc = weft_db_set_error(db, WEFT_EDAMAGED,
                               "data directory %s is damaged: its node identity is not a valid "
                               "ed25519 key pair", weft_db_dir(db));
        goto done;
    }
    char hex[HEX_LEN + 1], seen[HEX_LEN + 1];
    int witness = read_witness(db, seen);
    if (witness && (rc == WEFT_ENOTFOUND || rc == 0)) {
        if (rc == 0)
            to_hex(sk + crypto_sign_SEEDBYTES, crypto_sign_PUBLICKEYBYTES, hex);
        if (rc == WEFT_ENOTFOUND || strcmp(hex, seen) != 0) {
            rc = weft_db_set_error(
                db, WEFT_EDAMAGED, "data directory %s is damaged: its %s file %s%.16s%s, but "
                "data.mdb holds %s%.16s%s", weft_db_dir(db), WEFT_DB_NODE_ID_FILE,
                seen[0] ? "names node " : "holds no node id", seen, seen[0] ? "..." : "",
                rc == 0 ? "node " : "no node identity", rc == 0 ? hex : "", rc == 0 ? "..." : "");
            goto done;
        }
    }
    for (int attempt = 0; rc == WEFT_ENOTFOUND && attempt < MAX_ATTEMPTS; attempt++) {
        rc = create(db, sk);
        if (weft_db_retryable(rc))
            rc = WEFT_ENOTFOUND; /* the map grew: try again */
    }
    if (rc == WEFT_ENOTFOUND)
        rc = WEFT_ELIMIT;
    if (rc != 0)
        goto done;
    if (!witness && weft_db_writable(db)) {
        to_hex(sk + crypto_sign_SEEDBYTES, crypto_sign_PUBLICKEYBYTES, hex);
        write_witness(db, hex);
    }
    if (out_public)
        memcpy(out_public, sk + crypto_sign_SEEDBYTES, crypto_sign_PUBLICKEYBYTES);
    if (out_secret)
        memcpy(out_secret, sk, sizeof sk);
done:
    sodium_memzero(sk, sizeof sk);
    return rc;
}
