/*
 * test_blobs.c — content-addressed blobs (weft/blobs.h): ids are SHA-256
 * of the content, bytes round-trip at every chunk edge, a blob is stored
 * once, a reader sees a blob whole or not at all, a failed write can be
 * retried, and a damaged record or a lost chunk is WEFT_EIO, never a
 * crash.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/test.h"
#include "tmpdir.h"
#include "weft/blobs.h"
#include "weft/db.h"
#include "weft/error.h"

#define CHUNK WEFT_BLOB_CHUNK

static void close_db(void *arg)
{
    weft_db_close(arg);
}

static weft_db_t *open_db(void)
{
    weft_db_t *db = NULL;
    char msg[256] = "";
    if (weft_db_open(tmpdir_new("blobs"), WEFT_DB_NOSYNC, &db, msg, sizeof msg) != 0)
        FAIL("weft_db_open: %s", msg);
    test_defer(close_db, db);
    return db;
}

static weft_txn_t *begin(weft_db_t *db, int mode)
{
    weft_txn_t *t = NULL;
    ASSERT_EQ_INT(weft_txn_begin(db, mode, &t), 0);
    return t;
}

/* Deterministic bytes: byte i of stream `seed`. */
static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n ? n : 1);
    ASSERT_NOT_NULL(p);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
    return p;
}

/* Stores p[0..n) in pieces of `piece` bytes, one write transaction each,
 * and the close in another; returns the id. */
static void store(weft_db_t *db, const uint8_t *p, size_t n, size_t piece, uint8_t id[32])
{
    weft_blob_writer_t *w;
    ASSERT_EQ_INT(weft_blob_writer_new(&w), 0);
    for (size_t off = 0; off < n; off += piece) {
        weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
        size_t len = n - off < piece ? n - off : piece;
        ASSERT_EQ_INT(weft_blob_write(w, t, p + off, len), 0);
        ASSERT_EQ_INT(weft_txn_commit(t), 0);
    }
    ASSERT_EQ_INT(weft_blob_written(w), n);
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    uint64_t size = 0;
    ASSERT_EQ_INT(weft_blob_close(w, t, id, &size), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    ASSERT_EQ_INT(size, n);
    weft_blob_writer_free(w);
}

static void check_bytes(weft_db_t *db, const uint8_t id[32], const uint8_t *p, size_t n)
{
    weft_txn_t *t = begin(db, WEFT_TXN_READ);
    uint64_t size = 0;
    ASSERT_EQ_INT(weft_blob_stat(t, id, &size), 0);
    ASSERT_EQ_INT(size, n);
    uint8_t *buf = malloc(n + 1);
    ASSERT_NOT_NULL(buf);
    size_t got = 0;
    ASSERT_EQ_INT(weft_blob_read(t, id, 0, buf, n + 1, &got), 0);
    ASSERT_EQ_INT(got, n);
    int same = n == 0 || memcmp(buf, p, n) == 0;
    /* reads that start and end at, and straddle, every chunk edge */
    for (size_t e = 0; same && e <= n; e += CHUNK) {
        for (int d = -3; d <= 3; d++) {
            if ((d < 0 && e < (size_t)-d) || e + (size_t)(d > 0 ? d : 0) > n)
                continue;
            size_t off = e + (size_t)d, len = n - off < 7 ? n - off : 7;
            uint8_t small[7];
            ASSERT_EQ_INT(weft_blob_read(t, id, off, small, len, &got), 0);
            ASSERT_EQ_INT(got, len);
            same = memcmp(small, p + off, len) == 0;
        }
    }
    ASSERT_EQ_INT(weft_blob_read(t, id, n + 5, buf, 4, &got), 0);
    ASSERT_EQ_INT(got, 0);
    weft_txn_abort(t);
    free(buf);
    ASSERT_TRUE(same);
}

TEST(a_blob_is_named_by_the_sha256_of_its_bytes_and_reads_back_at_every_edge)
{
    weft_db_t *db = open_db();
    size_t sizes[] = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        uint8_t *p = pattern(sizes[i], (unsigned)i);
        uint8_t id[32], want[32];
        store(db, p, sizes[i], 100000, id);
        crypto_hash_sha256(want, p, sizes[i]);
        ASSERT_TRUE(memcmp(id, want, 32) == 0);
        check_bytes(db, id, p, sizes[i]);
        free(p);
    }
}

static int count(void *user, const uint8_t *ctx, size_t ctx_len, uint64_t keys)
{
    (void)ctx, (void)ctx_len;
    *(uint64_t *)user += keys;
    return 0;
}

TEST(the_same_bytes_are_stored_once_however_they_were_cut)
{
    weft_db_t *db = open_db();
    size_t n = 2 * CHUNK + 5;
    uint8_t *p = pattern(n, 7);
    uint8_t a[32], b[32];
    store(db, p, n, CHUNK, a);
    store(db, p, n, 4096, b);
    ASSERT_TRUE(memcmp(a, b, 32) == 0);
    check_bytes(db, a, p, n);
    /* one blob record and three chunks in all: count the space's keys */
    weft_txn_t *t = begin(db, WEFT_TXN_READ);
    uint64_t keys = 0;
    ASSERT_EQ_INT(weft_txn_contexts(t, WEFT_SPACE_BLOBS, count, &keys), 0);
    weft_txn_abort(t);
    ASSERT_EQ_INT(keys, 1 + 3);
    free(p);
}

TEST(a_blob_exists_only_once_closed)
{
    weft_db_t *db = open_db();
    size_t n = CHUNK + 10;
    uint8_t *p = pattern(n, 3);
    uint8_t id[32];
    crypto_hash_sha256(id, p, n);
    weft_blob_writer_t *w;
    ASSERT_EQ_INT(weft_blob_writer_new(&w), 0);
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    ASSERT_EQ_INT(weft_blob_write(w, t, p, n), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    t = begin(db, WEFT_TXN_READ);
    uint64_t size;
    ASSERT_EQ_INT(weft_blob_stat(t, id, &size), WEFT_ENOTFOUND);
    size_t got = 1;
    uint8_t b[4];
    ASSERT_EQ_INT(weft_blob_read(t, id, 0, b, 4, &got), WEFT_ENOTFOUND);
    ASSERT_EQ_INT(got, 0);
    weft_txn_abort(t);
    weft_blob_writer_free(w); /* never closed: no blob */
    t = begin(db, WEFT_TXN_READ);
    ASSERT_EQ_INT(weft_blob_stat(t, id, &size), WEFT_ENOTFOUND);
    weft_txn_abort(t);
    free(p);
}

TEST(a_write_whose_transaction_is_aborted_is_written_again_and_a_lost_chunk_fails_the_close)
{
    weft_db_t *db = open_db();
    size_t n = 2 * CHUNK;
    uint8_t *p = pattern(n, 9);
    weft_blob_writer_t *w;
    ASSERT_EQ_INT(weft_blob_writer_new(&w), 0);
    /* a chunk stored in a transaction that is then aborted */
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    ASSERT_EQ_INT(weft_blob_write(w, t, p, CHUNK), 0);
    weft_txn_abort(t);
    t = begin(db, WEFT_TXN_WRITE);
    ASSERT_EQ_INT(weft_blob_write(w, t, p + CHUNK, CHUNK), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    t = begin(db, WEFT_TXN_WRITE);
    uint8_t id[32];
    ASSERT_EQ_INT(weft_blob_close(w, t, id, NULL), WEFT_EIO);
    weft_txn_abort(t);
    ASSERT_EQ_INT(weft_blob_write(w, NULL, p, 1), WEFT_EIO); /* unusable now */
    weft_blob_writer_free(w);
    /* a read-only transaction makes the store fail: the write is undone and
     * goes through again in a write transaction */
    ASSERT_EQ_INT(weft_blob_writer_new(&w), 0);
    t = begin(db, WEFT_TXN_READ);
    ASSERT_TRUE(weft_blob_write(w, t, p, CHUNK) != 0);
    weft_txn_abort(t);
    ASSERT_EQ_INT(weft_blob_written(w), 0);
    t = begin(db, WEFT_TXN_WRITE);
    ASSERT_EQ_INT(weft_blob_write(w, t, p, CHUNK), 0);
    ASSERT_EQ_INT(weft_blob_write(w, t, p + CHUNK, CHUNK), 0);
    ASSERT_EQ_INT(weft_blob_close(w, t, id, NULL), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    weft_blob_writer_free(w);
    check_bytes(db, id, p, n);
    free(p);
}

TEST(a_damaged_record_or_a_missing_chunk_is_an_error_not_a_crash)
{
    weft_db_t *db = open_db();
    size_t n = CHUNK + 100;
    uint8_t *p = pattern(n, 11);
    uint8_t id[32];
    store(db, p, n, n, id);
    static const uint8_t ctx[] = {0x01, 'b', 'l', 'o', 'b', 's'};
    uint8_t key[33] = {'b'};
    memcpy(key + 1, id, 32);
    /* a record cut short, then one with a size its chunk list does not fit */
    uint8_t bad[8 + 32] = {0};
    size_t lens[] = {3, 8 + 32};
    for (int i = 0; i < 2; i++) {
        weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
        ASSERT_EQ_INT(weft_txn_put(t, WEFT_SPACE_BLOBS, ctx, sizeof ctx, key, sizeof key, bad,
                                   lens[i]),
                      0);
        bad[0] = 0xff; /* the second: 2^63-ish bytes in one chunk */
        uint64_t size;
        size_t got;
        uint8_t b[16];
        ASSERT_EQ_INT(weft_blob_stat(t, id, &size), WEFT_EIO);
        ASSERT_EQ_INT(weft_blob_read(t, id, 0, b, sizeof b, &got), WEFT_EIO);
        weft_txn_abort(t);
    }
    /* the second chunk gone */
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    uint8_t ck[33] = {'c'};
    crypto_hash_sha256(ck + 1, p + CHUNK, 100);
    ASSERT_EQ_INT(weft_txn_del(t, WEFT_SPACE_BLOBS, ctx, sizeof ctx, ck, sizeof ck), 0);
    uint8_t b[16];
    size_t got;
    ASSERT_EQ_INT(weft_blob_read(t, id, 0, b, sizeof b, &got), 0); /* the first is there */
    ASSERT_EQ_INT(weft_blob_read(t, id, CHUNK, b, sizeof b, &got), WEFT_EIO);
    weft_txn_abort(t);
    free(p);
}

TEST(ids_print_and_parse_as_64_hex_digits)
{
    uint8_t id[32], back[32];
    for (int i = 0; i < 32; i++)
        id[i] = (uint8_t)(i * 37 + 5);
    char hex[65];
    weft_blob_id_hex(id, hex);
    ASSERT_EQ_INT(strlen(hex), 64);
    ASSERT_EQ_INT(weft_blob_id_parse(hex, back), 0);
    ASSERT_TRUE(memcmp(id, back, 32) == 0);
    hex[10] = 'g';
    ASSERT_EQ_INT(weft_blob_id_parse(hex, back), WEFT_EARG);
    ASSERT_EQ_INT(weft_blob_id_parse("abc", back), WEFT_EARG);
    ASSERT_EQ_INT(weft_blob_id_parse(NULL, back), WEFT_EARG);
}

/* Between nodes (docs/sync.md "Blobs between nodes"): a blob's record from
 * one store and its chunks put one by one into another make the same blob
 * there; a chunk of other bytes than its hash, a record whose chunks are
 * another blob's bytes, and a record with a chunk missing are refused and
 * write nothing. */
TEST(a_blob_is_assembled_from_its_record_and_chunks_checked_against_their_hashes)
{
    weft_db_t *a = open_db(), *b = open_db();
    size_t n = 2 * CHUNK + 77;
    uint8_t *p = pattern(n, 9), *q = pattern(n, 10), id[32], qid[32];
    test_defer(free, p);
    test_defer(free, q);
    store(a, p, n, CHUNK, id);
    store(a, q, n, CHUNK, qid);
    weft_txn_t *ta = begin(a, WEFT_TXN_READ);
    const uint8_t *rec, *qrec;
    size_t rl, qrl;
    uint64_t size, chunks;
    ASSERT_EQ_INT(weft_blob_record(ta, id, &rec, &rl), 0);
    ASSERT_EQ_INT(weft_blob_record(ta, qid, &qrec, &qrl), 0);
    ASSERT_EQ_INT(rl, 8 + 3 * 32);
    ASSERT_EQ_INT(weft_blob_record_check(rec, rl, &size, &chunks), 0);
    ASSERT_EQ_U64(size, n);
    ASSERT_EQ_U64(chunks, 3);
    ASSERT_EQ_INT(weft_blob_record_check(rec, rl - 1, &size, &chunks), WEFT_EMALFORMED);

    weft_txn_t *tb = begin(b, WEFT_TXN_WRITE);
    const uint8_t *v;
    size_t vl;
    /* a chunk's bytes must hash to the name it is stored under */
    ASSERT_EQ_INT(weft_blob_chunk_put(tb, rec + 8, q, CHUNK), WEFT_EARG);
    ASSERT_EQ_INT(weft_blob_chunk_get(tb, rec + 8, &v, &vl), WEFT_ENOTFOUND);
    ASSERT_EQ_INT(weft_blob_chunk_put(tb, rec + 8, p, CHUNK), 0);
    ASSERT_EQ_INT(weft_blob_chunk_put(tb, rec + 8, p, CHUNK), 0); /* again: kept */
    ASSERT_EQ_INT(weft_blob_chunk_put(tb, rec + 8 + 32, p + CHUNK, CHUNK), 0);
    /* a chunk missing: no blob yet */
    ASSERT_EQ_INT(weft_blob_assemble(tb, id, rec, rl), WEFT_ENOTFOUND);
    ASSERT_EQ_INT(weft_blob_stat(tb, id, &size), WEFT_ENOTFOUND);
    ASSERT_EQ_INT(weft_blob_chunk_put(tb, rec + 8 + 64, p + 2 * CHUNK, 77), 0);
    /* q's record names q's chunks, not here; p's chunks under q's id are
     * another blob's bytes */
    ASSERT_EQ_INT(weft_blob_assemble(tb, qid, qrec, qrl), WEFT_ENOTFOUND);
    ASSERT_EQ_INT(weft_blob_assemble(tb, qid, rec, rl), WEFT_EARG);
    ASSERT_EQ_INT(weft_blob_stat(tb, qid, &size), WEFT_ENOTFOUND);
    ASSERT_EQ_INT(weft_blob_assemble(tb, id, rec, rl), 0);
    ASSERT_EQ_INT(weft_blob_assemble(tb, id, rec, rl), 0); /* there already */
    ASSERT_EQ_INT(weft_txn_commit(tb), 0);
    weft_txn_abort(ta);
    check_bytes(b, id, p, n);
}
