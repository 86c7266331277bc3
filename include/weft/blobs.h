/*
 * weft/blobs.h — content-addressed blobs in a data directory (weft/db.h).
 *
 * A blob is any byte string, named by the SHA-256 of its content (its
 * id) and stored once however often it is written. It is kept in chunks
 * of WEFT_BLOB_CHUNK bytes (the last one shorter), each stored under its
 * own SHA-256, so a blob is written and read a chunk at a time and never
 * needs to be in memory whole, and chunks two blobs share are stored once.
 * A blob's record lists its chunks; a blob exists once its record is
 * written (weft_blob_close), never before: a reader sees all of it or
 * none. Chunks of an upload that never closed stay until a later upload
 * of the same bytes reuses them (docs/store.md, "Blobs").
 *
 * Everything lives in WEFT_SPACE_BLOBS under a context no context name
 * can be, so deleting a context never drops blobs; which contexts may see
 * a blob is decided above the store.
 *
 * Thread safety: a writer serves one upload at a time; the functions that
 * take only a transaction follow its rules (weft/db.h).
 */
#ifndef WEFT_BLOBS_H
#define WEFT_BLOBS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WEFT_BLOB_ID_LEN 32u
#define WEFT_BLOB_CHUNK ((size_t)256 * 1024)
/* The largest blob: 2^40 bytes (a record of 4 Mi chunk ids stays under
 * the store's 256 MiB value limit). */
#define WEFT_BLOB_MAX ((uint64_t)1 << 40)

typedef struct weft_blob_writer weft_blob_writer_t;

/* A new upload, empty. Returns 0 or WEFT_ENOMEM. Free with
 * weft_blob_writer_free (which drops an upload never closed). */
int weft_blob_writer_new(weft_blob_writer_t **out);
void weft_blob_writer_free(weft_blob_writer_t *w);

/* Appends bytes. Each chunk they complete is stored in `txn` (a write
 * transaction; a later call may use another one): at most one partial
 * chunk is held in memory. Returns 0, WEFT_ELIMIT past WEFT_BLOB_MAX, or
 * a storage error. When the error came from storing the first chunk the
 * bytes complete (always so for len <= WEFT_BLOB_CHUNK), the writer is as
 * it was before the call: abort txn and write the same bytes again in
 * another one (a map that grew); otherwise the upload is unusable. A
 * transaction the upload wrote a chunk in that is aborted after success
 * makes weft_blob_close fail with WEFT_EIO. */
int weft_blob_write(weft_blob_writer_t *w, weft_txn_t *txn, const uint8_t *p, size_t len);
/* 1 when the next weft_blob_write of len bytes would store a chunk (so
 * the caller knows when it needs a transaction), else 0. */
int weft_blob_write_stores(const weft_blob_writer_t *w, size_t len);
/* Ends the upload: stores the last chunk and the blob's record in `txn`
 * (kept as it was when the same bytes were stored before) and gives the
 * id and size. Returns 0, WEFT_EIO when a chunk written earlier is not in
 * the store, or a storage error. The writer is done after. */
int weft_blob_close(weft_blob_writer_t *w, weft_txn_t *txn, uint8_t id[WEFT_BLOB_ID_LEN],
                    uint64_t *out_size);
/* Bytes written so far. */
uint64_t weft_blob_written(const weft_blob_writer_t *w);

/* The size of blob `id`: 0, or WEFT_ENOTFOUND, or WEFT_EIO for a damaged
 * record. */
int weft_blob_stat(weft_txn_t *txn, const uint8_t id[WEFT_BLOB_ID_LEN], uint64_t *out_size);
/* Copies up to len bytes of blob `id` from offset `off` into buf (*got:
 * how many; 0 at or past the end). Returns 0, WEFT_ENOTFOUND, or WEFT_EIO
 * when a chunk is missing or does not match its id. */
int weft_blob_read(weft_txn_t *txn, const uint8_t id[WEFT_BLOB_ID_LEN], uint64_t off,
                   uint8_t *buf, size_t len, size_t *got);

/* ---- blobs between nodes (docs/sync.md "Blobs between nodes") --------------
 *
 * A node that fetches a blob from its peers is given its record (what
 * weft_blob_record returns on the node that has it: u64 big-endian size,
 * then the SHA-256 of each chunk in order), stores each chunk as it comes,
 * checked against its hash, and writes the record last
 * (weft_blob_assemble). Chunks already stored are kept: a transfer that
 * stopped resumes with the chunks it lacks. */

/* The record of blob `id`, borrowed from txn: 0, WEFT_ENOTFOUND, WEFT_EIO
 * (damaged). */
int weft_blob_record(weft_txn_t *txn, const uint8_t id[WEFT_BLOB_ID_LEN], const uint8_t **rec,
                     size_t *len);
/* Checks a record's form (its length fits its size): 0 with its size and
 * chunk count, or WEFT_EMALFORMED. */
int weft_blob_record_check(const uint8_t *rec, size_t len, uint64_t *size, uint64_t *chunks);
/* The bytes of chunk `hash` (borrowed from txn): 0 or WEFT_ENOTFOUND. */
int weft_blob_chunk_get(weft_txn_t *txn, const uint8_t hash[WEFT_BLOB_ID_LEN],
                        const uint8_t **p, size_t *len);
/* Stores a chunk: 0 (also when it was there), WEFT_EARG when the bytes'
 * SHA-256 is not `hash` or they are longer than WEFT_BLOB_CHUNK (nothing
 * stored), or a storage error. */
int weft_blob_chunk_put(weft_txn_t *txn, const uint8_t hash[WEFT_BLOB_ID_LEN], const uint8_t *p,
                        size_t len);
/* Makes blob `id` of record `rec` exist: every chunk it lists must be
 * stored with its length, and the SHA-256 of their bytes in order must be
 * `id` (the bytes are read through, never held whole). Returns 0 (also when
 * the blob was there), WEFT_ENOTFOUND (a chunk is missing), WEFT_EARG (the
 * chunks are another blob's bytes: nothing written), WEFT_EMALFORMED (a
 * bad record) or a storage error. */
int weft_blob_assemble(weft_txn_t *txn, const uint8_t id[WEFT_BLOB_ID_LEN], const uint8_t *rec,
                       size_t len);

/* Lowercase hex of an id (64 digits and a NUL), and back: 0, or WEFT_EARG
 * when text is not 64 hex digits. */
void weft_blob_id_hex(const uint8_t id[WEFT_BLOB_ID_LEN], char out[2 * WEFT_BLOB_ID_LEN + 1]);
int weft_blob_id_parse(const char *text, uint8_t id[WEFT_BLOB_ID_LEN]);

#ifdef __cplusplus
}
#endif
#endif
