/*
 * peers.c — replication over HTTP: GET /v1/peers, a context's members
 * (shown by GET /v1/contexts/{name}, set at creation, changed with POST
 * /v1/contexts/{name}/members) and the peer lines of /metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "server_priv.h"
#include "weft/error.h"

static void add_member(void *user, const uint8_t id[32])
{
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, id, 32);
    json_array_append_new(user, json_string(hex));
}

json_t *srv_members_json(srv_t *s, const char *name)
{
    json_t *list = json_array();
    weft_node_context_members(s->node, name, add_member, list);
    return list;
}

int srv_parse_ids(json_t *arr, uint8_t **out, size_t *n, char *msg, size_t msg_size)
{
    *out = NULL;
    *n = 0;
    if (!arr)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > 4096) {
        snprintf(msg, msg_size, "members must be a list of node ids (64 hex digits each)");
        return -1;
    }
    size_t count = json_array_size(arr), i;
    json_t *v;
    uint8_t *ids = malloc(count * 32 + 1);
    if (!ids) {
        snprintf(msg, msg_size, "out of memory");
        return -1;
    }
    json_array_foreach(arr, i, v) {
        const char *hex = json_string_value(v);
        size_t bin_len = 0;
        if (!hex || strlen(hex) != 64 ||
            sodium_hex2bin(ids + 32 * i, 32, hex, 64, NULL, &bin_len, NULL) != 0 ||
            bin_len != 32) {
            snprintf(msg, msg_size, "member %zu is not a node id (64 hex digits)", i + 1);
            free(ids);
            return -1;
        }
    }
    *out = ids;
    *n = count;
    return 0;
}

/* POST /v1/contexts/{name}/members {"add": [ids], "remove": [ids]} */
enum MHD_Result srv_members_change(srv_t *s, req_t *r)
{
    json_error_t je;
    json_t *body = json_loadb((const char *)r->body, r->body_len, 0, &je);
    if (!body)
        return srv_reply_error(r, 400, "BAD_REQUEST", "malformed JSON at line %d, column %d: %s",
                               je.line, je.column, je.text);
    json_t *add = NULL, *rm = NULL;
    uint8_t *a = NULL, *d = NULL;
    size_t na = 0, nd = 0;
    char msg[512];
    enum MHD_Result res;
    if (json_unpack_ex(body, &je, JSON_STRICT, "{s?o,s?o}", "add", &add, "remove", &rm) != 0) {
        res = srv_reply_error(r, 400, "BAD_REQUEST", "expected {\"add\": [ID], \"remove\": [ID]}: %s",
                              je.text);
        goto out;
    }
    if (srv_parse_ids(add, &a, &na, msg, sizeof msg) != 0 ||
        srv_parse_ids(rm, &d, &nd, msg, sizeof msg) != 0) {
        res = srv_reply_error(r, 400, "BAD_REQUEST", "%s", msg);
        goto out;
    }
    int rc = weft_node_context_members_change(s->node, r->params[0], a, na, d, nd, msg,
                                              sizeof msg);
    if (rc == WEFT_ENOTFOUND)
        res = srv_reply_error(r, 404, "NOT_FOUND", "%s", msg);
    else if (rc == WEFT_EARG)
        res = srv_reply_error(r, 409, "SYNC_DISABLED", "%s", msg);
    else if (rc != 0)
        res = srv_reply_error(r, 500, "INTERNAL", "%s", msg);
    else {
        json_t *o = json_object();
        json_object_set_new(o, "members", srv_members_json(s, r->params[0]));
        res = srv_reply_json(r, 200, o);
    }
out:
    free(a);
    free(d);
    json_decref(body);
    return res;
}

static void add_peer(void *user, const weft_sync_peer_t *p)
{
    json_t *o = json_object();
    char hex[65];
    static const uint8_t zero[32];
    if (memcmp(p->id, zero, 32) != 0) {
        sodium_bin2hex(hex, sizeof hex, p->id, 32);
        json_object_set_new(o, "id", json_string(hex));
    } else {
        json_object_set_new(o, "id", json_null());
    }
    json_object_set_new(o, "addr", json_string(p->addr));
    json_object_set_new(o, "state", json_string(p->up ? "up" : "down"));
    json_object_set_new(o, "direction", json_string(p->outbound ? "out" : "in"));
    json_object_set_new(o, "lag_ops", json_integer((json_int_t)p->lag_ops));
    json_object_set_new(o, "ops_sent", json_integer((json_int_t)p->ops_sent));
    json_object_set_new(o, "ops_received", json_integer((json_int_t)p->ops_received));
    json_object_set_new(o, "bytes_in", json_integer((json_int_t)p->bytes_in));
    json_object_set_new(o, "bytes_out", json_integer((json_int_t)p->bytes_out));
    json_object_set_new(o, "reconnects", json_integer((json_int_t)p->reconnects));
    json_object_set_new(o, "rtt_us", json_integer((json_int_t)p->rtt_us));
    if (p->last_error[0])
        json_object_set_new(o, "last_error", json_string(p->last_error));
    json_array_append_new(user, o);
}

/* GET /v1/peers */
enum MHD_Result srv_peers(srv_t *s, req_t *r)
{
    json_t *o = json_object(), *list = json_array();
    int port = weft_node_peer_port(s->node);
    weft_node_peers(s->node, add_peer, list);
    json_object_set_new(o, "peer_port", port ? json_integer(port) : json_null());
    json_object_set_new(o, "peers", list);
    return srv_reply_json(r, 200, o);
}
