/*
 * test_identity.c — the node identity (include/weft/identity.h): created
 * once, the same on every load, never replaced when the stored key pair is
 * damaged, never created through a read-only store, and never made anew in
 * a directory whose node-id witness shows it had one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/test.h"
#include "tmpdir.h"
#include "weft/db.h"
#include "weft/error.h"
#include "weft/identity.h"

#define KEY (const uint8_t *)WEFT_IDENTITY_KEY, strlen(WEFT_IDENTITY_KEY)

static weft_db_t *open_dir(const char *dir, int flags)
{
    weft_db_t *db = NULL;
    char msg[256] = "";
    int rc = weft_db_open(dir, WEFT_DB_NOSYNC | flags, &db, msg, sizeof msg);
    if (rc != 0)
        FAIL("weft_db_open %s: %d %s", dir, rc, msg);
    return db;
}

/* Replaces the stored identity value with bytes[0..n). */
static void put_identity(const char *dir, const uint8_t *bytes, size_t n)
{
    weft_db_t *db = open_dir(dir, 0);
    weft_txn_t *t = NULL;
    ASSERT_EQ_INT(weft_txn_begin(db, WEFT_TXN_WRITE, &t), 0);
    ASSERT_EQ_INT(weft_txn_put(t, WEFT_SPACE_META, NULL, 0, KEY, bytes, n), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    weft_db_close(db);
}

/* The stored identity value, copied into out (64 bytes at most); its size. */
static size_t get_identity(const char *dir, uint8_t out[64])
{
    weft_db_t *db = open_dir(dir, 0);
    weft_txn_t *t = NULL;
    const uint8_t *v;
    size_t n = 0;
    ASSERT_EQ_INT(weft_txn_begin(db, WEFT_TXN_READ, &t), 0);
    ASSERT_EQ_INT(weft_txn_get(t, WEFT_SPACE_META, NULL, 0, KEY, &v, &n), 0);
    ASSERT_TRUE(n <= 64);
    memcpy(out, v, n);
    weft_txn_abort(t);
    weft_db_close(db);
    return n;
}

static int load(const char *dir, int flags, uint8_t pub[32], uint8_t sec[64])
{
    weft_db_t *db = open_dir(dir, flags);
    int rc = weft_identity_load(db, pub, sec);
    weft_db_close(db);
    return rc;
}

TEST(identity_created_once_and_stable)
{
    const char *a = tmpdir_new("identity"), *b = tmpdir_new("identity");
    uint8_t p1[32], p2[32], p3[32], s1[64];
    ASSERT_EQ_INT(load(a, 0, p1, s1), 0);
    ASSERT_EQ_MEM(s1 + 32, p1, 32); /* libsodium: seed, then public key */
    ASSERT_EQ_INT(load(a, 0, p2, NULL), 0);
    ASSERT_EQ_MEM(p1, p2, 32);
    ASSERT_EQ_INT(load(b, 0, p3, NULL), 0);
    ASSERT_TRUE(memcmp(p1, p3, 32) != 0);
}

TEST(damaged_identity_is_damaged_and_kept)
{
    const char *dir = tmpdir_new("identity");
    uint8_t pub[32], sec[64], stored[64], back[64];
    ASSERT_EQ_INT(load(dir, 0, pub, sec), 0);

    /* a public half that does not match the seed */
    memcpy(stored, sec, 64);
    stored[40] ^= 1;
    put_identity(dir, stored, 64);
    ASSERT_EQ_INT(load(dir, 0, pub, NULL), WEFT_EDAMAGED);
    ASSERT_EQ_U64(get_identity(dir, back), 64);
    ASSERT_EQ_MEM(back, stored, 64); /* not replaced */

    /* a value of the wrong length */
    put_identity(dir, (const uint8_t *)"garbage", 7);
    ASSERT_EQ_INT(load(dir, 0, pub, NULL), WEFT_EDAMAGED);
    ASSERT_EQ_U64(get_identity(dir, back), 7);
    ASSERT_EQ_MEM(back, "garbage", 7);

    /* the original pair, put back, loads again with the same id */
    put_identity(dir, sec, 64);
    ASSERT_EQ_INT(load(dir, 0, back, NULL), 0);
    ASSERT_EQ_MEM(back, sec + 32, 32);
}

TEST(read_only_store_never_creates_identity)
{
    const char *dir = tmpdir_new("identity");
    uint8_t pub[32], first[32];
    weft_db_close(open_dir(dir, 0)); /* the store exists, the identity not */
    ASSERT_EQ_INT(load(dir, WEFT_DB_READONLY, pub, NULL), WEFT_EARG);
    ASSERT_EQ_INT(load(dir, WEFT_DB_READONLY, pub, NULL), WEFT_EARG);
    ASSERT_EQ_INT(load(dir, 0, first, NULL), 0);
    ASSERT_EQ_INT(load(dir, WEFT_DB_READONLY, pub, NULL), 0);
    ASSERT_EQ_MEM(pub, first, 32);
}

/* The path of a file in dir (static buffer). */
static const char *in_dir(const char *dir, const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

TEST(identity_witness_written_and_matches)
{
    const char *dir = tmpdir_new("identity");
    uint8_t pub[32];
    char want[66], got[80] = "";
    ASSERT_EQ_INT(load(dir, 0, pub, NULL), 0);
    for (int i = 0; i < 32; i++)
        snprintf(want + 2 * i, 3, "%02x", pub[i]);
    want[64] = '\n';
    want[65] = '\0';
    FILE *f = fopen(in_dir(dir, WEFT_DB_NODE_ID_FILE), "r");
    ASSERT_NOT_NULL(f);
    ASSERT_NOT_NULL(fgets(got, sizeof got, f));
    fclose(f);
    ASSERT_EQ_STR(got, want);
}

/* data.mdb lost its identity (here: deleted from it) while the witness
 * remains: no new identity, through a writable or a read-only store. */
TEST(identity_missing_next_to_witness_is_damaged)
{
    const char *dir = tmpdir_new("identity");
    uint8_t pub[32];
    ASSERT_EQ_INT(load(dir, 0, pub, NULL), 0);
    weft_db_t *db = open_dir(dir, 0);
    weft_txn_t *t = NULL;
    ASSERT_EQ_INT(weft_txn_begin(db, WEFT_TXN_WRITE, &t), 0);
    ASSERT_EQ_INT(weft_txn_del(t, WEFT_SPACE_META, NULL, 0, KEY), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    ASSERT_EQ_INT(weft_identity_load(db, pub, NULL), WEFT_EDAMAGED);
    ASSERT_TRUE(strstr(weft_db_errmsg(db), "is damaged") != NULL);
    weft_db_close(db);
    ASSERT_EQ_INT(load(dir, WEFT_DB_READONLY, pub, NULL), WEFT_EDAMAGED);
    ASSERT_EQ_INT(load(dir, 0, pub, NULL), WEFT_EDAMAGED); /* still nothing created */
}

/* Another directory's data.mdb under this one's witness is refused too. */
TEST(identity_other_than_witness_is_damaged)
{
    const char *a = tmpdir_new("identity"), *b = tmpdir_new("identity");
    uint8_t pa[32], pb[32];
    char path[4096];
    ASSERT_EQ_INT(load(a, 0, pa, NULL), 0);
    ASSERT_EQ_INT(load(b, 0, pb, NULL), 0);
    snprintf(path, sizeof path, "%s", in_dir(b, "data.mdb"));
    ASSERT_EQ_INT(rename(path, in_dir(a, "data.mdb")), 0);
    ASSERT_EQ_INT(load(a, 0, pa, NULL), WEFT_EDAMAGED);
}

/* An empty or missing data.mdb next to the witness: weft_db_open refuses
 * (it would otherwise start a new, empty node). */
TEST(empty_or_missing_data_next_to_witness_is_damaged)
{
    const char *dir = tmpdir_new("identity");
    uint8_t pub[32];
    weft_db_t *db = NULL;
    char msg[512] = "";
    ASSERT_EQ_INT(load(dir, 0, pub, NULL), 0);
    ASSERT_EQ_INT(truncate(in_dir(dir, "data.mdb"), 0), 0);
    ASSERT_EQ_INT(weft_db_open(dir, 0, &db, msg, sizeof msg), WEFT_EDAMAGED);
    ASSERT_TRUE(strstr(msg, "data.mdb is empty") != NULL);
    ASSERT_EQ_INT(unlink(in_dir(dir, "data.mdb")), 0);
    ASSERT_EQ_INT(weft_db_open(dir, WEFT_DB_READONLY, &db, msg, sizeof msg), WEFT_EDAMAGED);
    ASSERT_EQ_INT(weft_db_open(dir, 0, &db, msg, sizeof msg), WEFT_EDAMAGED);
    ASSERT_TRUE(strstr(msg, "data.mdb is missing") != NULL);
    ASSERT_EQ_INT(access(in_dir(dir, "data.mdb"), F_OK), -1); /* not created */
}
