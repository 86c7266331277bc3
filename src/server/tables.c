/*
 * tables.c — a Cosmictron context's tables over HTTP (docs/http.md,
 * docs/cosmictron.md):
 *
 *   GET /v1/contexts/{name}/tables/{table}?index=&from=&to=&after=&limit=
 *       {"items": [row, ...], "next": cursor or null}: the public table's
 *       rows as JSON objects (decoded with the module's schema) in
 *       primary-key order, at most `limit` (1-1000, default 100) after
 *       the cursor `after` (lowercase hex, from an earlier page's "next");
 *       with index, from or to, those in [from, to) of the named index
 *       (or the primary key), bounds as JSON values of the key's columns
 *
 * The rows come from weft_node_table_page (a read transaction: never
 * waits for the writer); this file only parses and answers.
 */
#include <stdlib.h>
#include <string.h>

#include "server_priv.h"
#include "weft/error.h"

#define MAX_CURSOR 1024

static int unhex(const char *s, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > cap) return -1;
    for (size_t i = 0; i < n; i += 2) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            char c = s[i + k];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0) return -1;
            v = v << 4 | d;
        }
        out[i / 2] = (uint8_t)v;
    }
    *out_len = n / 2;
    return 0;
}

/* A query parameter, NULL when absent or empty (`?index=&from=5`). */
static const char *param(req_t *r, const char *name)
{
    const char *v = srv_query(r, name);
    return v && *v ? v : NULL;
}

enum MHD_Result srv_table_rows(srv_t *s, req_t *r)
{
    static const char hex[] = "0123456789abcdef";
    const char *a = srv_query(r, "after"), *lim = srv_query(r, "limit");
    uint8_t after[MAX_CURSOR], *next = NULL;
    size_t after_len = 0, next_len = 0;
    char *rows = NULL, msg[256];
    long limit = lim ? strtol(lim, NULL, 10) : 100;
    if (limit <= 0 || limit > 1000)
        return srv_reply_error(r, 400, "BAD_REQUEST", "limit must be 1 to 1000");
    if (a && unhex(a, after, sizeof after, &after_len) != 0)
        return srv_reply_error(r, 400, "BAD_REQUEST", "after is not a cursor (lowercase hex)");
    int rc = weft_node_table_page(s->node, r->params[0], r->params[1], param(r, "index"),
                                  param(r, "from"), param(r, "to"), after, after_len,
                                  (size_t)limit, &rows, &next, &next_len, msg, sizeof msg);
    if (rc == WEFT_ENOTFOUND) return srv_reply_error(r, 404, "NOT_FOUND", "%s", msg);
    if (rc == WEFT_EARG) return srv_reply_error(r, 400, "BAD_REQUEST", "%s", msg);
    if (rc != 0) return srv_reply_error(r, 500, "INTERNAL", "%s", weft_strerror(rc));
    json_error_t err;
    json_t *items = json_loads(rows, JSON_DECODE_ANY, &err);
    free(rows);
    json_t *body = json_object();
    char *cursor = next ? malloc(2 * next_len + 1) : NULL;
    if (!items || !body || (next && !cursor)) {
        json_decref(items);
        json_decref(body);
        free(next);
        free(cursor);
        return srv_reply_error(r, 500, "INTERNAL", "out of memory");
    }
    json_object_set_new(body, "items", items);
    if (cursor) {
        for (size_t i = 0; i < next_len; i++) {
            cursor[2 * i] = hex[next[i] >> 4];
            cursor[2 * i + 1] = hex[next[i] & 15];
        }
        cursor[2 * next_len] = '\0';
        json_object_set_new(body, "next", json_string(cursor));
    } else {
        json_object_set_new(body, "next", json_null());
    }
    free(next);
    free(cursor);
    return srv_reply_json(r, 200, body);
}
