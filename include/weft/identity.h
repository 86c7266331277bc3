/*
 * weft/identity.h — the node's identity: one ed25519 key pair per data
 * directory.
 *
 * The key pair is created (libsodium crypto_sign_keypair) the first time a
 * data directory asks for it and kept in that directory, in the
 * WEFT_SPACE_META space under the key "node/identity" (the 64-byte
 * libsodium secret key, whose last 32 bytes are the public key). The node id
 * is the 32-byte public key: the same data directory always yields the same
 * one, two data directories (almost surely) different ones. Copying a data
 * directory copies its identity; see docs/nx.md.
 *
 * Thread safety: as weft/db.h; concurrent first loads (threads or
 * processes) agree on one key pair, since creation happens inside a write
 * transaction that first looks again.
 */
#ifndef WEFT_IDENTITY_H
#define WEFT_IDENTITY_H

#include <stdint.h>

#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WEFT_IDENTITY_PUBLIC_LEN 32u
#define WEFT_IDENTITY_SECRET_LEN 64u
/* Where the key pair lives (WEFT_SPACE_META, no context). */
#define WEFT_IDENTITY_KEY "node/identity"

/* Reads the node's key pair from `db`, creating and committing it (in its
 * own write transaction) when absent. Call it with no transaction of this
 * thread open on `db`. Writes the public key to out_public and the secret
 * key to out_secret (either may be NULL; the caller owns the copies and
 * should wipe the secret, e.g. sodium_memzero, when done).
 * Returns 0; WEFT_EDAMAGED when the stored value is not a valid key pair
 * (wrong length, or a public half that does not match the seed) — it is
 * never replaced silently, since that would change the node's id — or when
 * the directory's WEFT_DB_NODE_ID_FILE names a node but data.mdb holds no
 * key pair or another one (weft_db_errmsg says which); WEFT_EARG when the
 * key is absent and `db` is read-only; WEFT_ENOMEM; or a storage error of
 * weft/db.h (details in weft_db_errmsg). Once a writable db has a key
 * pair, its id is written to WEFT_DB_NODE_ID_FILE (see identity.c). */
int weft_identity_load(weft_db_t *db, uint8_t out_public[32], uint8_t out_secret[64]);

#ifdef __cplusplus
}
#endif
#endif
