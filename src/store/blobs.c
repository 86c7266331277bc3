/*
 * blobs.c — content-addressed blobs (include/weft/blobs.h) on weft/db.h.
 *
 * In WEFT_SPACE_BLOBS, under the context BLOB_CTX (a control byte first:
 * no context name has one):
 *   'c' sha256(chunk)  -> the chunk's bytes
 *   'b' id             -> u64 size, then the sha256 of each chunk in order
 * A chunk is WEFT_BLOB_CHUNK bytes, the last one 1..WEFT_BLOB_CHUNK (an
 * empty blob has none), so the chunk holding offset `off` is off / CHUNK
 * and the record alone says where every byte is. The record is written
 * last: a blob exists whole or not at all.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "weft/blobs.h"
#include "weft/error.h"

static const uint8_t BLOB_CTX[] = {0x01, 'b', 'l', 'o', 'b', 's'};
#define SPACE WEFT_SPACE_BLOBS
#define HASH_LEN 32u
#define KEY_LEN (1 + HASH_LEN)

struct weft_blob_writer {
    crypto_hash_sha256_state whole; /* the blob's id, as bytes come */
    uint8_t *chunk;                 /* the chunk being filled */
    size_t fill;
    uint64_t size;
    uint8_t *ids; /* the stored chunks' ids, HASH_LEN each */
    size_t nids, cap;
    int broken; /* a storage error: the upload is unusable */
};

static void key_of(uint8_t tag, const uint8_t hash[HASH_LEN], uint8_t key[KEY_LEN])
{
    key[0] = tag;
    memcpy(key + 1, hash, HASH_LEN);
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

int weft_blob_writer_new(weft_blob_writer_t **out)
{
    *out = NULL;
    if (sodium_init() < 0)
        return WEFT_EIO;
    weft_blob_writer_t *w = calloc(1, sizeof *w);
    if (!w || !(w->chunk = malloc(WEFT_BLOB_CHUNK))) {
        free(w);
        return WEFT_ENOMEM;
    }
    crypto_hash_sha256_init(&w->whole);
    *out = w;
    return 0;
}

void weft_blob_writer_free(weft_blob_writer_t *w)
{
    if (!w)
        return;
    free(w->chunk);
    free(w->ids);
    free(w);
}

uint64_t weft_blob_written(const weft_blob_writer_t *w)
{
    return w->size;
}

/* Stores the chunk being filled (unless the store has it) and notes its id. */
static int store_chunk(weft_blob_writer_t *w, weft_txn_t *txn)
{
    if (w->nids == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        uint8_t *ids = realloc(w->ids, cap * HASH_LEN);
        if (!ids)
            return WEFT_ENOMEM;
        w->ids = ids;
        w->cap = cap;
    }
    uint8_t *id = w->ids + w->nids * HASH_LEN, key[KEY_LEN];
    crypto_hash_sha256(id, w->chunk, w->fill);
    key_of('c', id, key);
    const uint8_t *v;
    size_t vlen;
    int rc = weft_txn_get(txn, SPACE, BLOB_CTX, sizeof BLOB_CTX, key, sizeof key, &v, &vlen);
    if (rc == WEFT_ENOTFOUND)
        rc = weft_txn_put(txn, SPACE, BLOB_CTX, sizeof BLOB_CTX, key, sizeof key, w->chunk,
                          w->fill);
    if (rc != 0)
        return rc;
    w->nids++;
    w->fill = 0;
    return 0;
}

int weft_blob_write_stores(const weft_blob_writer_t *w, size_t len)
{
    return len >= WEFT_BLOB_CHUNK - w->fill;
}

int weft_blob_write(weft_blob_writer_t *w, weft_txn_t *txn, const uint8_t *p, size_t len)
{
    if (w->broken)
        return WEFT_EIO;
    if (len > WEFT_BLOB_MAX - w->size)
        return WEFT_ELIMIT;
    /* As it was, for a failed store of the first chunk this write fills:
     * its bytes are still in the buffer, the rest not copied yet. */
    crypto_hash_sha256_state was = w->whole;
    size_t fill0 = w->fill, stored = 0;
    uint64_t size0 = w->size;
    crypto_hash_sha256_update(&w->whole, p, len);
    w->size += len;
    while (len) {
        size_t n = WEFT_BLOB_CHUNK - w->fill < len ? WEFT_BLOB_CHUNK - w->fill : len;
        memcpy(w->chunk + w->fill, p, n);
        w->fill += n;
        p += n;
        len -= n;
        if (w->fill < WEFT_BLOB_CHUNK)
            continue;
        int rc = store_chunk(w, txn);
        if (rc != 0 && stored == 0) {
            w->whole = was;
            w->fill = fill0;
            w->size = size0;
            return rc;
        }
        if (rc != 0) {
            w->broken = 1; /* the chunks before it are gone with their bytes */
            return rc;
        }
        stored++;
    }
    return 0;
}

int weft_blob_close(weft_blob_writer_t *w, weft_txn_t *txn, uint8_t id[WEFT_BLOB_ID_LEN],
                    uint64_t *out_size)
{
    if (w->broken)
        return WEFT_EIO;
    /* On an error the writer goes back to how it was, so the close can be
     * tried again in another transaction (the last chunk's bytes are still
     * in the buffer). */
    size_t fill0 = w->fill, nids0 = w->nids;
    int rc = w->fill ? store_chunk(w, txn) : 0;
    /* Every chunk is there: a transaction of the upload that was aborted
     * after its write returned would otherwise leave a record naming a
     * chunk nobody has. */
    for (size_t i = 0; rc == 0 && i < w->nids; i++) {
        uint8_t ck[KEY_LEN];
        const uint8_t *cv;
        size_t cl;
        key_of('c', w->ids + i * HASH_LEN, ck);
        rc = weft_txn_get(txn, SPACE, BLOB_CTX, sizeof BLOB_CTX, ck, sizeof ck, &cv, &cl);
        if (rc == WEFT_ENOTFOUND) {
            w->broken = 1;
            return WEFT_EIO;
        }
    }
    crypto_hash_sha256_state whole = w->whole;
    crypto_hash_sha256_final(&whole, id);
    uint8_t key[KEY_LEN];
    const uint8_t *v;
    size_t vlen;
    key_of('b', id, key);
    if (rc == 0)
        rc = weft_txn_get(txn, SPACE, BLOB_CTX, sizeof BLOB_CTX, key, sizeof key, &v, &vlen);
    if (rc == WEFT_ENOTFOUND) {
        /* new: its record (stored before: the same bytes, kept) */
        size_t len = 8 + w->nids * HASH_LEN;
        uint8_t *rec = malloc(len);
        rc = rec ? 0 : WEFT_ENOMEM;
        if (rec) {
            put_u64(rec, w->size);
            if (w->nids)
                memcpy(rec + 8, w->ids, w->nids * HASH_LEN);
            rc = weft_txn_put(txn, SPACE, BLOB_CTX, sizeof BLOB_CTX, key, sizeof key, rec, len);
            free(rec);
        }
    }
    if (rc != 0) {
        w->fill = fill0;
        w->nids = nids0;
        return rc;
    }
    w->broken = 1; /* done: no more writes */
    if (out_size)
        *out_size = w->size;
    return 0;
}

/* The record of blob id, checked: its size and chunk ids (borrowed). */
static int record(weft_txn_t *txn, const uint8_t id[WEFT_BLOB_ID_LEN], uint64_t *size,
                  const uint8_t **ids)
{
    uint8_t key[KEY_LEN];
    const uint8_t *v;
    size_t vlen;
    key_of('b', id, key);
    int rc = weft_txn_get(txn, SPACE, BLOB_CTX, sizeof BLOB_CTX, key, sizeof key, &v, &vlen);
    if (rc != 0)
        return rc;
    if (vlen < 8)
        return WEFT_EIO;
    *size = get_u64(v);
    uint64_t chunks = (*size + WEFT_BLOB_CHUNK - 1) / WEFT_BLOB_CHUNK;
    if (*size > WEFT_BLOB_MAX || vlen != 8 + chunks * HASH_LEN)
        return WEFT_EIO;
    *ids = v + 8;
    return 0;
}

int weft_blob_stat(weft_txn_t *txn, const uint8_t id[WEFT_BLOB_ID_LEN], uint64_t *out_size)
{
    const uint8_t *ids;
    return record(txn, id, out_size, &ids);
}

int weft_blob_read(weft_txn_t *txn, const uint8_t id[WEFT_BLOB_ID_LEN], uint64_t off,
                   uint8_t *buf, size_t len, size_t *got)
{
    uint64_t size;
    const uint8_t *ids;
    *got = 0;
    int rc = record(txn, id, &size, &ids);
    if (rc != 0)
        return rc;
    while (len && off < size) {
        uint64_t c = off / WEFT_BLOB_CHUNK;
        size_t want = c + 1 < (size + WEFT_BLOB_CHUNK - 1) / WEFT_BLOB_CHUNK
                          ? WEFT_BLOB_CHUNK
                          : (size_t)(size - c * WEFT_BLOB_CHUNK);
        uint8_t key[KEY_LEN];
        const uint8_t *v;
        size_t vlen;
        key_of('c', ids + c * HASH_LEN, key);
        rc = weft_txn_get(txn, SPACE, BLOB_CTX, sizeof BLOB_CTX, key, sizeof key, &v, &vlen);
        if (rc == WEFT_ENOTFOUND || (rc == 0 && vlen != want))
            return WEFT_EIO; /* the record names a chunk the store lacks */
        if (rc != 0)
            return rc;
        size_t at = (size_t)(off - c * WEFT_BLOB_CHUNK);
        size_t n = vlen - at < len ? vlen - at : len;
        memcpy(buf, v + at, n);
        buf += n;
        len -= n;
        off += n;
        *got += n;
    }
    return 0;
}

int weft_blob_record(weft_txn_t *txn, const uint8_t id[WEFT_BLOB_ID_LEN], const uint8_t **rec,
                     size_t *len)
{
    uint64_t size;
    const uint8_t *ids;
    int rc = record(txn, id, &size, &ids);
    if (rc != 0)
        return rc;
    *rec = ids - 8;
    *len = 8 + (size_t)((size + WEFT_BLOB_CHUNK - 1) / WEFT_BLOB_CHUNK) * HASH_LEN;
    return 0;
}

int weft_blob_record_check(const uint8_t *rec, size_t len, uint64_t *size, uint64_t *chunks)
{
    if (len < 8)
        return WEFT_EMALFORMED;
    uint64_t sz = get_u64(rec), n = (sz + WEFT_BLOB_CHUNK - 1) / WEFT_BLOB_CHUNK;
    if (sz > WEFT_BLOB_MAX || (uint64_t)(len - 8) != n * HASH_LEN)
        return WEFT_EMALFORMED;
    *size = sz;
    *chunks = n;
    return 0;
}

int weft_blob_chunk_get(weft_txn_t *txn, const uint8_t hash[WEFT_BLOB_ID_LEN],
                        const uint8_t **p, size_t *len)
{
    uint8_t key[KEY_LEN];
    key_of('c', hash, key);
    return weft_txn_get(txn, SPACE, BLOB_CTX, sizeof BLOB_CTX, key, sizeof key, p, len);
}

int weft_blob_chunk_put(weft_txn_t *txn, const uint8_t hash[WEFT_BLOB_ID_LEN], const uint8_t *p,
                        size_t len)
{
    uint8_t h[HASH_LEN], key[KEY_LEN];
    const uint8_t *v;
    size_t vlen;
    if (len == 0 || len > WEFT_BLOB_CHUNK)
        return WEFT_EARG;
    crypto_hash_sha256(h, p, len);
    if (sodium_memcmp(h, hash, HASH_LEN) != 0)
        return WEFT_EARG;
    key_of('c', hash, key);
    int rc = weft_txn_get(txn, SPACE, BLOB_CTX, sizeof BLOB_CTX, key, sizeof key, &v, &vlen);
    if (rc == WEFT_ENOTFOUND)
        rc = weft_txn_put(txn, SPACE, BLOB_CTX, sizeof BLOB_CTX, key, sizeof key, p, len);
    return rc;
}

int weft_blob_assemble(weft_txn_t *txn, const uint8_t id[WEFT_BLOB_ID_LEN], const uint8_t *rec,
                       size_t len)
{
    uint64_t size, n;
    uint8_t key[KEY_LEN], whole[HASH_LEN];
    const uint8_t *v;
    size_t vlen;
    if (weft_blob_record_check(rec, len, &size, &n) != 0)
        return WEFT_EMALFORMED;
    key_of('b', id, key);
    int rc = weft_txn_get(txn, SPACE, BLOB_CTX, sizeof BLOB_CTX, key, sizeof key, &v, &vlen);
    if (rc != WEFT_ENOTFOUND)
        return rc; /* 0: there already */
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    for (uint64_t i = 0; i < n; i++) {
        size_t want = i + 1 < n ? WEFT_BLOB_CHUNK : (size_t)(size - i * WEFT_BLOB_CHUNK);
        rc = weft_blob_chunk_get(txn, rec + 8 + i * HASH_LEN, &v, &vlen);
        if (rc != 0)
            return rc;
        if (vlen != want)
            return WEFT_EARG;
        crypto_hash_sha256_update(&st, v, vlen);
    }
    crypto_hash_sha256_final(&st, whole);
    if (sodium_memcmp(whole, id, HASH_LEN) != 0)
        return WEFT_EARG;
    return weft_txn_put(txn, SPACE, BLOB_CTX, sizeof BLOB_CTX, key, sizeof key, rec, len);
}

void weft_blob_id_hex(const uint8_t id[WEFT_BLOB_ID_LEN], char out[2 * WEFT_BLOB_ID_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < WEFT_BLOB_ID_LEN; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 15];
    }
    out[2 * WEFT_BLOB_ID_LEN] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int weft_blob_id_parse(const char *text, uint8_t id[WEFT_BLOB_ID_LEN])
{
    if (!text || strlen(text) != 2 * WEFT_BLOB_ID_LEN)
        return WEFT_EARG;
    for (size_t i = 0; i < WEFT_BLOB_ID_LEN; i++) {
        int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return WEFT_EARG;
        id[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
