/*
 * calimero_blobs.c — the Calimero blob functions on the data directory's
 * content-addressed blobs (weft/blobs.h): blob_create, blob_write and
 * blob_close stream a blob into the store a chunk at a time, in the call's
 * transaction (a blob of a call that does not commit is not kept);
 * blob_open and blob_read stream one out. A blob's id is the SHA-256 of
 * its content and its bytes are stored once however often written.
 *
 * Handles (the document's "file descriptors") are per call: 1 to
 * CAL_MAX_BLOBS, an upload not closed when the call ends is dropped. A
 * handle that is not open, or of the other direction, traps
 * InvalidBlobHandle; more than CAL_MAX_BLOBS open at once,
 * TooManyBlobHandles (the real system's names). blob_announce_to_context
 * is queued like context_delete and done by the embedder when the call
 * commits: the node makes the blob fetchable by the context's member nodes
 * (docs/calimero.md "Blobs", docs/sync.md "Blobs between nodes").
 */
#include <stdlib.h>
#include <string.h>

#include "calimero_priv.h"
#include "weft/blobs.h"

static cal_blob_t *handle(weft_calimero_t *cal, weft_caller_t *caller, const char *fn,
                          uint64_t fd, int writer, int *rc)
{
    cal_blob_t *b = fd >= 1 && fd <= CAL_MAX_BLOBS ? &cal->blobs[fd - 1] : NULL;
    if (!b || !b->open || (b->writer != NULL) != writer) {
        *rc = cal_fail(cal, caller, fn, "InvalidBlobHandle", "%llu is not a blob open for %s",
                       (unsigned long long)fd, writer ? "writing" : "reading");
        return NULL;
    }
    return b;
}

static uint64_t free_slot(weft_calimero_t *cal, weft_caller_t *caller, const char *fn, int *rc)
{
    for (uint64_t i = 0; i < CAL_MAX_BLOBS; i++)
        if (!cal->blobs[i].open) return i + 1;
    *rc = cal_fail(cal, caller, fn, "TooManyBlobHandles", "more than %d blobs open at once",
                   CAL_MAX_BLOBS);
    return 0;
}

/* A 32-byte id buffer (another length: InvalidMemoryAccess). */
static uint8_t *id_buf(weft_calimero_t *cal, weft_caller_t *caller, const char *fn, uint64_t desc,
                       int *rc)
{
    uint64_t len;
    uint8_t *p = cal_buffer(cal, caller, fn, desc, UINT64_MAX, NULL, &len, rc);
    if (p && len != WEFT_BLOB_ID_LEN) {
        *rc = cal_fail(cal, caller, fn, "InvalidMemoryAccess", "a blob id is 32 bytes, not %llu",
                       (unsigned long long)len);
        return NULL;
    }
    return p;
}

static int fn_blob_create(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "blob_create";
    weft_calimero_t *cal = user;
    int rc = cal_charge(caller, CAL_FUEL_CALL);
    if (rc) return rc;
    if (cal_need_txn(cal, caller, fn, 1, &rc)) return rc;
    uint64_t fd = free_slot(cal, caller, fn, &rc);
    if (!fd) return rc;
    cal_blob_t *b = &cal->blobs[fd - 1];
    if (weft_blob_writer_new(&b->writer) != 0)
        return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
    b->open = 1;
    CAL_RETURN64(fd);
}

/* Returns the bytes written (all of the buffer). */
static int fn_blob_write(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "blob_write";
    weft_calimero_t *cal = user;
    uint64_t len;
    int rc;
    cal_blob_t *b = handle(cal, caller, fn, CAL_ARG(0), 1, &rc);
    if (!b) return rc;
    const uint8_t *p = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &len, &rc);
    if (!p) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(len)))) return rc;
    if (cal_need_txn(cal, caller, fn, 1, &rc)) return rc;
    rc = weft_blob_write(b->writer, cal->txn, p, (size_t)len);
    if (rc == WEFT_ELIMIT)
        return cal_fail(cal, caller, fn, "BlobWriteTooLarge", "a blob is at most 2^40 bytes");
    if (rc) return cal_store_error(cal, caller, fn, rc);
    CAL_RETURN64(len);
}

/* Writes the id into the 32-byte buffer and returns 1. */
static int fn_blob_close(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "blob_close";
    weft_calimero_t *cal = user;
    uint64_t size;
    int rc;
    cal_blob_t *b = handle(cal, caller, fn, CAL_ARG(0), 1, &rc);
    if (!b) return rc;
    uint8_t *out = id_buf(cal, caller, fn, CAL_ARG(1), &rc);
    if (!out) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(WEFT_BLOB_CHUNK)))) return rc;
    if (cal_need_txn(cal, caller, fn, 1, &rc)) return rc;
    uint8_t id[WEFT_BLOB_ID_LEN];
    rc = weft_blob_close(b->writer, cal->txn, id, &size);
    weft_blob_writer_free(b->writer);
    memset(b, 0, sizeof *b);
    if (rc) return cal_store_error(cal, caller, fn, rc);
    memcpy(out, id, sizeof id);
    CAL_RETURN32(1);
}

/* A handle reading blob id from its start, or 0 when there is no such
 * blob (docs/calimero.md). */
static int fn_blob_open(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "blob_open";
    weft_calimero_t *cal = user;
    uint64_t size;
    int rc;
    const uint8_t *id = id_buf(cal, caller, fn, CAL_ARG(0), &rc);
    if (!id) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + 2))) return rc;
    if (cal_need_txn(cal, caller, fn, 0, &rc)) return rc;
    rc = weft_blob_stat(cal->txn, id, &size);
    if (rc == WEFT_ENOTFOUND) CAL_RETURN64(0);
    if (rc) return cal_store_error(cal, caller, fn, rc);
    uint64_t fd = free_slot(cal, caller, fn, &rc);
    if (!fd) return rc;
    cal_blob_t *b = &cal->blobs[fd - 1];
    memcpy(b->id, id, WEFT_BLOB_ID_LEN);
    b->off = 0;
    b->size = size;
    b->open = 1;
    CAL_RETURN64(fd);
}

/* Fills the buffer from the handle's offset: the bytes read, 0 at the end. */
static int fn_blob_read(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "blob_read";
    weft_calimero_t *cal = user;
    uint64_t len;
    size_t got = 0;
    int rc;
    cal_blob_t *b = handle(cal, caller, fn, CAL_ARG(0), 0, &rc);
    if (!b) return rc;
    uint8_t *p = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &len, &rc);
    if (!p) return rc;
    uint64_t left = b->size - b->off, n = len < left ? len : left;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(n)))) return rc;
    if (cal_need_txn(cal, caller, fn, 0, &rc)) return rc;
    if (n) {
        rc = weft_blob_read(cal->txn, b->id, b->off, p, (size_t)n, &got);
        if (rc) return cal_store_error(cal, caller, fn, rc);
    }
    b->off += got;
    CAL_RETURN64(got);
}

/* blob_announce_to_context(blob_id, context_id): 1 when the blob is here
 * and its announcement is queued, 0 when there is no such blob (nothing to
 * announce). Both ids are 32 bytes (else InvalidMemoryAccess); at most
 * max_xcalls per call (XCallsOverflow); a write call's (a view traps). */
static int fn_blob_announce(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "blob_announce_to_context";
    weft_calimero_t *cal = user;
    uint64_t size, len;
    int rc;
    const uint8_t *id = id_buf(cal, caller, fn, CAL_ARG(0), &rc);
    if (!id) return rc;
    const uint8_t *ctx = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &len, &rc);
    if (!ctx) return rc;
    if (len != 32)
        return cal_fail(cal, caller, fn, "InvalidMemoryAccess",
                        "a context id is 32 bytes, not %llu", (unsigned long long)len);
    if (cal->nannounces >= cal->lim.max_xcalls)
        return cal_fail(cal, caller, fn, "XCallsOverflow",
                        "more than max_xcalls (%llu) blobs announced in one call",
                        (unsigned long long)cal->lim.max_xcalls);
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + 4))) return rc;
    if (cal_need_txn(cal, caller, fn, 1, &rc)) return rc;
    rc = weft_blob_stat(cal->txn, id, &size);
    if (rc == WEFT_ENOTFOUND) CAL_RETURN32(0);
    if (rc) return cal_store_error(cal, caller, fn, rc);
    uint8_t *a = realloc(cal->announces, (cal->nannounces + 1) * 64);
    if (!a) return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
    cal->announces = a;
    memcpy(a + 64 * cal->nannounces, id, 32);
    memcpy(a + 64 * cal->nannounces + 32, ctx, 32);
    cal->nannounces++;
    CAL_RETURN32(1);
}

void cal_blobs_close(weft_calimero_t *cal)
{
    for (int i = 0; i < CAL_MAX_BLOBS; i++) {
        weft_blob_writer_free(cal->blobs[i].writer);
        memset(&cal->blobs[i], 0, sizeof cal->blobs[i]);
    }
}

const cal_func_t cal_blob_funcs[] = {
    {"blob_create", "", 'I', fn_blob_create},
    {"blob_write", "II", 'I', fn_blob_write},
    {"blob_close", "II", 'i', fn_blob_close},
    {"blob_open", "I", 'I', fn_blob_open},
    {"blob_read", "II", 'I', fn_blob_read},
    {"blob_announce_to_context", "II", 'i', fn_blob_announce},
};
const size_t cal_blob_nfuncs = sizeof cal_blob_funcs / sizeof cal_blob_funcs[0];
