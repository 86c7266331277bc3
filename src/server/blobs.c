/*
 * blobs.c — the node's blobs over HTTP (docs/http.md "Blobs").
 *
 *   PUT /v1/blobs        the body, streamed: each piece goes to the node's
 *                        upload as it arrives (a 256 KiB chunk at a time
 *                        through the writer), never kept whole; answers
 *                        201 {"id": HEX, "size": N}
 *   GET /v1/blobs/{id}   the bytes, streamed a piece at a time from read
 *                        transactions; immutable (the id is their SHA-256),
 *                        so cached for good and 304 for a matching ETag;
 *                        503 FETCHING for a blob announced to one of the
 *                        node's contexts that is still coming from peers
 *   DELETE /v1/contexts/{name}/blobs/{id}
 *                        withdraws the blob's announcement from the context
 *                        (weft_node_blob_withdraw): 204, 404 NOT_FOUND
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "server_priv.h"
#include "weft/blobs.h"
#include "weft/error.h"

#define READ_PIECE (64 * 1024)

static void upload_free(void *u)
{
    weft_node_blob_upload_free(u);
}

/* The request's upload, begun on first use; NULL when that failed (a
 * reply is queued then: *res). */
static weft_node_upload_t *upload_of(srv_t *s, req_t *r, enum MHD_Result *res)
{
    if (r->stream)
        return r->stream;
    weft_node_upload_t *u;
    int rc = weft_node_blob_upload_begin(s->node, &u);
    if (rc != 0) {
        *res = rc == WEFT_EARG ? srv_reply_error(r, 409, "NO_DATA_DIR",
                                                 "this node has no data directory for blobs")
                               : srv_reply_error(r, 500, "INTERNAL", "cannot start the upload: %s",
                                                 weft_strerror(rc));
        return NULL;
    }
    r->stream = u;
    r->stream_free = upload_free;
    return u;
}

static enum MHD_Result storage_error(req_t *r, int rc)
{
    if (rc == WEFT_ELIMIT)
        return srv_reply_error(r, 413, "TOO_LARGE", "a blob is at most 2^40 bytes");
    return srv_reply_error(r, 500, "STORAGE", "the blob could not be stored: %s",
                           weft_strerror(rc));
}

enum MHD_Result srv_blob_put(srv_t *s, req_t *r)
{
    enum MHD_Result res = MHD_YES;
    weft_node_upload_t *u = upload_of(s, r, &res); /* an empty body comes with no piece */
    if (!u)
        return res;
    if (r->piece) {
        int rc = weft_node_blob_upload_write(u, r->body, r->body_len);
        return rc == 0 ? MHD_YES : storage_error(r, rc);
    }
    uint8_t id[32];
    uint64_t size = 0;
    int rc = weft_node_blob_upload_finish(u, id, &size);
    if (rc != 0)
        return storage_error(r, rc);
    char hex[65];
    weft_blob_id_hex(id, hex);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(hex));
    json_object_set_new(o, "size", json_integer((json_int_t)size));
    return srv_reply_json(r, 201, o);
}

typedef struct {
    weft_node_t *node;
    uint8_t id[32];
} blob_reader_t;

static ssize_t read_piece(void *cls, uint64_t pos, char *buf, size_t max)
{
    blob_reader_t *b = cls;
    size_t got = 0;
    int rc = weft_node_blob_read(b->node, b->id, pos, (uint8_t *)buf, max, &got);
    if (rc != 0)
        return MHD_CONTENT_READER_END_WITH_ERROR; /* damaged since the stat: cut short */
    return got ? (ssize_t)got : MHD_CONTENT_READER_END_OF_STREAM;
}

enum MHD_Result srv_blob_get(srv_t *s, req_t *r)
{
    uint8_t id[32];
    char hex[65], etag[70];
    if (weft_blob_id_parse(r->params[0], id) != 0)
        return srv_reply_error(r, 400, "BAD_REQUEST", "a blob id is 64 hex digits, not '%s'",
                               r->params[0]);
    uint64_t size;
    int rc = weft_node_blob_stat(s->node, id, &size);
    uint64_t have = 0;
    if (rc == WEFT_ENOTFOUND && weft_node_blob_fetching(s->node, id, &have, &size))
        return srv_reply_error(r, 503, "FETCHING",
                               "blob %s is being fetched from this node's peers (%" PRIu64
                               " of %" PRIu64 " bytes here): ask again",
                               r->params[0], have, size);
    if (rc == WEFT_ENOTFOUND || rc == WEFT_EARG)
        return srv_reply_error(r, 404, "NOT_FOUND", "no blob %s", r->params[0]);
    if (rc != 0)
        return srv_reply_error(r, 500, "STORAGE", "blob %s cannot be read: %s", r->params[0],
                               weft_strerror(rc));
    weft_blob_id_hex(id, hex);
    snprintf(etag, sizeof etag, "\"%s\"", hex);
    const char *inm =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    struct MHD_Response *resp;
    unsigned status = 200;
    if (inm && strstr(inm, hex)) {
        status = 304;
        resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    } else {
        blob_reader_t *b = malloc(sizeof *b);
        if (!b)
            return MHD_NO;
        b->node = s->node;
        memcpy(b->id, id, sizeof id);
        resp = MHD_create_response_from_callback(size, READ_PIECE, read_piece, b, free);
        if (!resp)
            free(b);
    }
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            "public, max-age=31536000, immutable");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    return srv_queue(r, status, resp, status == 200 ? "application/octet-stream" : NULL);
}

enum MHD_Result srv_blob_withdraw(srv_t *s, req_t *r)
{
    uint8_t id[32];
    char msg[512];
    if (weft_blob_id_parse(r->params[1], id) != 0)
        return srv_reply_error(r, 400, "BAD_REQUEST", "a blob id is 64 hex digits, not '%s'",
                               r->params[1]);
    int rc = weft_node_blob_withdraw(s->node, r->params[0], id, msg, sizeof msg);
    if (rc == WEFT_ENOTFOUND)
        return srv_reply_error(r, 404, "NOT_FOUND", "%s", msg);
    if (rc == WEFT_EARG)
        return srv_reply_error(r, 409, "NO_DATA_DIR", "%s", msg);
    if (rc != 0)
        return srv_reply_error(r, 500, "STORAGE", "%s", msg);
    return srv_reply_bytes(r, 204, NULL, "", 0);
}
