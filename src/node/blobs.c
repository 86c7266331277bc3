/*
 * blobs.c — the node's blobs (weft/node.h "blobs"): uploads stream through
 * the writer thread, one job per 256 KiB chunk the bytes complete, so
 * each chunk is durable with its batch and the writer never holds more
 * than one partial chunk; reads use their own read transactions, one per
 * piece asked (docs/store.md "Reading a blob over HTTP" says why not one per
 * response).
 *
 * A job may run twice (the writer runs a job again when its nested
 * transaction could not commit because the map grew): each write job
 * knows the upload offset it starts at and does nothing when the writer
 * is already past it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_priv.h"
#include "weft/blobs.h"
#include "weft/error.h"
#include "weft/sync.h"

struct weft_node_upload {
    weft_node_t *node;
    weft_blob_writer_t *w;
    int failed;
};

typedef struct {
    weft_blob_writer_t *w;
    const uint8_t *p;
    size_t len;
    uint64_t at; /* bytes the writer had before these */
    /* close */
    int close;
    uint8_t id[WEFT_BLOB_ID_LEN];
    uint64_t size;
} blob_job_t;

static int blob_fn(weft_node_t *node, weft_txn_t *txn, void *arg)
{
    (void)node;
    blob_job_t *j = arg;
    if (j->close)
        return weft_blob_close(j->w, txn, j->id, &j->size);
    if (weft_blob_written(j->w) != j->at)
        return 0; /* this job ran before */
    return weft_blob_write(j->w, txn, j->p, j->len);
}

int weft_node_blob_upload_begin(weft_node_t *node, weft_node_upload_t **out)
{
    *out = NULL;
    if (!node->db)
        return WEFT_EARG;
    weft_node_upload_t *u = calloc(1, sizeof *u);
    if (!u)
        return WEFT_ENOMEM;
    int rc = weft_blob_writer_new(&u->w);
    if (rc != 0) {
        free(u);
        return rc;
    }
    u->node = node;
    *out = u;
    return 0;
}

int weft_node_blob_upload_write(weft_node_upload_t *u, const uint8_t *p, size_t len)
{
    if (u->failed)
        return WEFT_EIO;
    while (len) {
        /* the bytes up to the end of the chunk being filled */
        size_t fill = (size_t)(weft_blob_written(u->w) % WEFT_BLOB_CHUNK);
        size_t n = WEFT_BLOB_CHUNK - fill < len ? WEFT_BLOB_CHUNK - fill : len;
        int rc;
        if (!weft_blob_write_stores(u->w, n)) {
            rc = weft_blob_write(u->w, NULL, p, n); /* stays in memory */
        } else {
            blob_job_t j = {.w = u->w, .p = p, .len = n, .at = weft_blob_written(u->w)};
            rc = node_write_fn(u->node, blob_fn, &j);
        }
        if (rc != 0) {
            u->failed = rc != WEFT_ELIMIT;
            return rc;
        }
        p += n;
        len -= n;
    }
    return 0;
}

int weft_node_blob_upload_finish(weft_node_upload_t *u, uint8_t id[32], uint64_t *out_size)
{
    if (u->failed)
        return WEFT_EIO;
    blob_job_t j = {.w = u->w, .close = 1};
    int rc = node_write_fn(u->node, blob_fn, &j);
    u->failed = 1; /* finished, or unusable */
    if (rc != 0)
        return rc;
    memcpy(id, j.id, WEFT_BLOB_ID_LEN);
    if (out_size)
        *out_size = j.size;
    return 0;
}

void weft_node_blob_upload_free(weft_node_upload_t *u)
{
    if (!u)
        return;
    weft_blob_writer_free(u->w);
    free(u);
}

int weft_node_blob_stat(weft_node_t *node, const uint8_t id[32], uint64_t *out_size)
{
    weft_txn_t *txn;
    if (!node->db)
        return WEFT_EARG;
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0)
        return rc;
    rc = weft_blob_stat(txn, id, out_size);
    weft_txn_abort(txn);
    return rc;
}

int weft_node_blob_read(weft_node_t *node, const uint8_t id[32], uint64_t off, uint8_t *buf,
                        size_t len, size_t *got)
{
    weft_txn_t *txn;
    *got = 0;
    if (!node->db)
        return WEFT_EARG;
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0)
        return rc;
    rc = weft_blob_read(txn, id, off, buf, len, got);
    weft_txn_abort(txn);
    return rc;
}

int weft_node_blob_fetching(weft_node_t *node, const uint8_t id[32], uint64_t *have,
                            uint64_t *size)
{
    return node->sync ? weft_sync_blob_fetching(node->sync, id, have, size) : 0;
}

void weft_node_blob_sync_stats(weft_node_t *node, weft_sync_blob_stats_t *out)
{
    weft_sync_blob_stats(node->sync, out); /* zeros without sync */
}

typedef struct {
    const char *ctx;
    const uint8_t *id;
    int no_context;
} withdraw_job_t;

static int withdraw_fn(weft_node_t *node, weft_txn_t *txn, void *arg)
{
    withdraw_job_t *w = arg;
    char app[WEFT_APP_ID_LEN + 1];
    if (node_context_app(txn, w->ctx, app) != 0) {
        w->no_context = 1;
        return WEFT_ENOTFOUND;
    }
    return weft_sync_blob_withdraw(txn, node->id, node_unix_ms(), (const uint8_t *)w->ctx,
                                   strlen(w->ctx), w->id);
}

int weft_node_blob_withdraw(weft_node_t *node, const char *context, const uint8_t id[32],
                            char *msg, size_t msg_size)
{
    withdraw_job_t w = {context, id, 0};
    char hex[65];
    weft_blob_id_hex(id, hex);
    if (!node->db || !node->has_id) {
        snprintf(msg, msg_size, "this node has no %s", node->db ? "id" : "data directory");
        return WEFT_EARG;
    }
    int rc = node_write_fn(node, withdraw_fn, &w);
    if (rc == WEFT_ENOTFOUND && w.no_context)
        snprintf(msg, msg_size, "no context '%s'", context);
    else if (rc == WEFT_ENOTFOUND)
        snprintf(msg, msg_size, "blob %s is not announced to context '%s'", hex, context);
    else if (rc != 0)
        snprintf(msg, msg_size, "blob %s not withdrawn from '%s': %s", hex, context,
                 weft_strerror(rc));
    else
        node_sync_changed(node, context);
    return rc;
}
