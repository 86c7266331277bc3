/*
 * routes.c — the route table of the HTTP API and its plain handlers
 * (apps, contexts, state, node, health, metrics). Calls are in calls.c,
 * event streams in sse.c. docs/http.md documents every route; the table
 * is the one place a route is declared (method, path, scope, body limit).
 */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

#include "server_priv.h"
#include "weft/engine.h"
#include "weft/error.h"
#include "weft/module.h"
#include "weft/store.h"

static enum MHD_Result app_deploy(srv_t *s, req_t *r);
static enum MHD_Result app_list(srv_t *s, req_t *r);
static enum MHD_Result app_get(srv_t *s, req_t *r);
static enum MHD_Result app_delete(srv_t *s, req_t *r);
static enum MHD_Result ctx_create(srv_t *s, req_t *r);
static enum MHD_Result ctx_list(srv_t *s, req_t *r);
static enum MHD_Result ctx_get(srv_t *s, req_t *r);
static enum MHD_Result ctx_delete(srv_t *s, req_t *r);
static enum MHD_Result ctx_upgrade(srv_t *s, req_t *r);
static enum MHD_Result kv_read(srv_t *s, req_t *r);
static enum MHD_Result crdt_list(srv_t *s, req_t *r);
static enum MHD_Result crdt_get(srv_t *s, req_t *r);
static enum MHD_Result node_info(srv_t *s, req_t *r);
static enum MHD_Result health(srv_t *s, req_t *r);
static enum MHD_Result ready(srv_t *s, req_t *r);

const route_t srv_routes[] = {
    {"POST", "/v1/apps", WEFT_SCOPE_ADMIN, 2, app_deploy},
    {"GET", "/v1/apps", WEFT_SCOPE_READ, 0, app_list},
    {"GET", "/v1/apps/{}", WEFT_SCOPE_READ, 0, app_get},
    {"DELETE", "/v1/apps/{}", WEFT_SCOPE_ADMIN, 0, app_delete},
    {"POST", "/v1/contexts", WEFT_SCOPE_ADMIN, 1, ctx_create},
    {"GET", "/v1/contexts", WEFT_SCOPE_READ, 0, ctx_list},
    {"GET", "/v1/contexts/{}", WEFT_SCOPE_READ, 0, ctx_get},
    {"DELETE", "/v1/contexts/{}", WEFT_SCOPE_ADMIN, 0, ctx_delete},
    {"POST", "/v1/contexts/{}/app", WEFT_SCOPE_ADMIN, 1, ctx_upgrade},
    {"POST", "/v1/contexts/{}/call/{}", WEFT_SCOPE_CALL, 1, srv_call},
    {"GET", "/v1/contexts/{}/call/{}", WEFT_SCOPE_CALL, 0, srv_call},
    {"GET", "/v1/contexts/{}/events", WEFT_SCOPE_CALL, 0, srv_events},
    {"GET", "/v1/contexts/{}/logs", WEFT_SCOPE_CALL, 0, srv_logs},
    {"GET", "/v1/contexts/{}/kv", WEFT_SCOPE_READ, 0, kv_read},
    {"GET", "/v1/contexts/{}/crdt", WEFT_SCOPE_READ, 0, crdt_list},
    {"GET", "/v1/contexts/{}/crdt/{}", WEFT_SCOPE_READ, 0, crdt_get},
    {"GET", "/v1/contexts/{}/tables/{}", WEFT_SCOPE_READ, 0, srv_table_rows},
    {"GET", "/v1/contexts/{}/tables/{}/subscribe", WEFT_SCOPE_READ, 0, srv_table_subscribe},
    {"POST", "/v1/contexts/{}/members", WEFT_SCOPE_ADMIN, 1, srv_members_change},
    {"GET", "/v1/node", WEFT_SCOPE_READ, 0, node_info},
    {"GET", "/v1/peers", WEFT_SCOPE_READ, 0, srv_peers},
    {"PUT", "/v1/blobs", WEFT_SCOPE_CALL, 3, srv_blob_put},
    {"GET", "/v1/blobs/{}", WEFT_SCOPE_READ, 0, srv_blob_get},
    {"DELETE", "/v1/contexts/{}/blobs/{}", WEFT_SCOPE_ADMIN, 0, srv_blob_withdraw},
    {"GET", "/health", 0, 0, health},
    {"GET", "/ready", 0, 0, ready},
    {"GET", "/metrics", 0, 0, srv_metrics},
    {"GET", "/", 0, 0, srv_console},
    {"GET", "/console/{}", 0, 0, srv_console},
};
const size_t srv_nroutes = sizeof srv_routes / sizeof srv_routes[0];

/* ---- apps ------------------------------------------------------------------- */

static void type_text(const weft_functype_t *ft, char *out, size_t cap)
{
    size_t o = 0;
    o += (size_t)snprintf(out + o, cap - o, "(");
    for (size_t i = 0, n = weft_functype_nparams(ft); i < n && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? ", " : "",
                              weft_valtype_name(weft_functype_param(ft, i)));
    if (o < cap)
        o += (size_t)snprintf(out + o, cap - o, ") -> (");
    for (size_t i = 0, n = weft_functype_nresults(ft); i < n && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? ", " : "",
                              weft_valtype_name(weft_functype_result(ft, i)));
    if (o < cap)
        snprintf(out + o, cap - o, ")");
}

static json_t *extern_json(const weft_externdesc_t *d)
{
    json_t *o = json_object();
    if (d->module)
        srv_set_bytes(o, "module", d->module, d->module_len);
    srv_set_bytes(o, "name", d->name, d->name_len);
    json_object_set_new(o, "kind", json_string(weft_externkind_name(d->kind)));
    if (d->kind == WEFT_EXTERN_FUNC && d->functype) {
        char t[512];
        type_text(d->functype, t, sizeof t);
        json_object_set_new(o, "type", json_string(t));
    }
    return o;
}

static json_t *app_json(srv_t *s, const weft_app_info_t *a, int details)
{
    json_t *o = json_pack("{s:s,s:s,s:I,s:I}", "id", a->id, "name", a->name, "size",
                          (json_int_t)a->size, "created_ms", (json_int_t)a->created_ms);
    const weft_module_t *m = NULL;
    const struct weft_component *comp = NULL;
    if (o && weft_node_app_module(s->node, a->id, &m) != 0 &&
        weft_node_app_component(s->node, a->id, &comp) != 0)
        return o;
    json_object_set_new(o, "abi", json_string(comp ? "component" : weft_node_abi(m)));
    if (!details)
        return o;
    char *manifest = NULL;
    if (weft_node_app_manifest(s->node, a->id, &manifest) == 0) {
        json_t *mf = json_loads(manifest, 0, NULL);
        if (mf)
            json_object_set_new(o, "manifest", mf);
        free(manifest);
    }
    char *wit = comp ? weft_node_component_describe(comp) : NULL;
    json_t *desc = wit ? json_loads(wit, 0, NULL) : NULL;
    free(wit);
    if (comp) { /* WIT-level: {"name", "sort", "type" or "exports"} */
        json_object_update(o, desc);
        json_decref(desc);
        return o;
    }
    json_t *im = json_array(), *ex = json_array();
    weft_externdesc_t d;
    for (size_t i = 0, n = weft_module_import_count(m); i < n; i++)
        if (weft_module_import(m, i, &d) == 0)
            json_array_append_new(im, extern_json(&d));
    for (size_t i = 0, n = weft_module_export_count(m); i < n; i++)
        if (weft_module_export(m, i, &d) == 0)
            json_array_append_new(ex, extern_json(&d));
    json_object_set_new(o, "imports", im);
    json_object_set_new(o, "exports", ex);
    char *schema = NULL; /* a Cosmictron app's tables and reducers, a line each */
    if (weft_node_app_schema(s->node, a->id, &schema) == 0) {
        json_t *lines = json_array();
        for (char *p = schema, *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
            json_array_append_new(lines, json_stringn(p, (size_t)(nl - p)));
        json_object_set_new(o, "schema", lines);
        free(schema);
    }
    return o;
}

static enum MHD_Result app_deploy(srv_t *s, req_t *r)
{
    char id[WEFT_APP_ID_LEN + 1], msg[1024];
    const char *name = srv_query(r, "name"), *manifest = srv_query(r, "manifest");
    if (r->body_len == 0)
        return srv_reply_error(r, 400, "BAD_REQUEST", "the body must be the module's bytes");
    if (atomic_load(&s->closing))
        return srv_reply_error(r, 503, "UNAVAILABLE", "the node is shutting down");
    int rc = weft_node_app_deploy_manifest(s->node, r->body, r->body_len, name, manifest,
                                           manifest ? strlen(manifest) : 0, id, msg, sizeof msg);
    if (rc == WEFT_EMALFORMED || rc == WEFT_EINVALID || rc == WEFT_EUNLINKABLE ||
        rc == WEFT_ELIMIT || rc == WEFT_EINTERRUPTED)
        return srv_reply_error(r, 422, "BAD_MODULE", "%s", msg);
    if (rc == WEFT_EARG)
        return srv_reply_error(r, 400, "BAD_REQUEST", "%s", msg);
    if (rc != 0)
        return srv_reply_error(r, 500, "INTERNAL", "%s", msg[0] ? msg : weft_strerror(rc));
    weft_app_info_t a;
    if (weft_node_app_get(s->node, id, &a) != 0)
        return srv_reply_error(r, 500, "INTERNAL", "the app vanished after its deploy");
    return srv_reply_json(r, 201, app_json(s, &a, 1));
}

static int add_app(void *user, const weft_app_info_t *a)
{
    void **u = user;
    json_array_append_new(u[1], app_json(u[0], a, 0));
    return 0;
}

/* Answers {member: list} (rc 0), or 500 (the list is dropped). */
static enum MHD_Result list_reply(srv_t *s, req_t *r, int rc, json_t *list, const char *member)
{
    if (rc != 0) {
        json_decref(list);
        return srv_reply_error(r, 500, "INTERNAL", "cannot read the %s: %s", member,
                               weft_strerror(rc));
    }
    return srv_reply_json(r, 200, json_pack("{s:o}", member, list));
}

static enum MHD_Result app_list(srv_t *s, req_t *r)
{
    json_t *list = json_array();
    void *u[2] = {s, list};
    return list_reply(s, r, weft_node_app_list(s->node, add_app, u), list, "apps");
}

static enum MHD_Result app_get(srv_t *s, req_t *r)
{
    weft_app_info_t a;
    if (weft_node_app_get(s->node, r->params[0], &a) != 0) {
        return srv_reply_error(r, 404, "NOT_FOUND", "no app %s", r->params[0]);
    }
    return srv_reply_json(r, 200, app_json(s, &a, 1));
}

static enum MHD_Result app_delete(srv_t *s, req_t *r)
{
    char msg[512];
    int rc = weft_node_app_delete(s->node, r->params[0], msg, sizeof msg);
    if (rc == WEFT_ENOTFOUND)
        return srv_reply_error(r, 404, "NOT_FOUND", "%s", msg);
    if (rc == WEFT_ELIMIT)
        return srv_reply_error(r, 409, "CONFLICT", "%s", msg);
    if (rc != 0)
        return srv_reply_error(r, 500, "INTERNAL", "%s", msg);
    return srv_reply_bytes(r, 204, NULL, "", 0);
}

/* ---- contexts ------------------------------------------------------------- */

static json_t *ctx_json(const weft_context_info_t *c)
{
    json_t *o = json_object();
    srv_set_bytes(o, "name", c->name, strlen(c->name));
    json_object_set_new(o, "app", json_string(c->app));
    json_object_set_new(o, "created_ms", json_integer((json_int_t)c->created_ms));
    return o;
}

static enum MHD_Result ctx_create(srv_t *s, req_t *r)
{
    json_error_t je;
    json_t *body = json_loadb((const char *)r->body, r->body_len, 0, &je);
    if (!body) {
        return srv_reply_error(r, 400, "BAD_REQUEST", "malformed JSON at line %d, column %d: %s",
                               je.line, je.column, je.text);
    }
    const char *app = NULL, *name = NULL;
    json_t *members = NULL;
    if (json_unpack_ex(body, &je, 0, "{s:s,s?s,s?o}", "app", &app, "name", &name, "members",
                       &members) != 0) {
        json_decref(body);
        return srv_reply_error(r, 400, "BAD_REQUEST",
                               "expected {\"app\": ID, \"name\": NAME, \"members\": [ID]}: %s",
                               je.text);
    }
    char gen[32], msg[512];
    uint8_t *ids = NULL;
    size_t nids = 0;
    if (srv_parse_ids(members, &ids, &nids, msg, sizeof msg) != 0) {
        json_decref(body);
        return srv_reply_error(r, 400, "BAD_REQUEST", "%s", msg);
    }
    if (!name) { /* a fresh name: "ctx-" and 8 random hex digits */
        uint8_t rnd[4];
        randombytes_buf(rnd, sizeof rnd);
        snprintf(gen, sizeof gen, "ctx-%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
        name = gen;
    }
    int rc = weft_node_context_create_members(s->node, name, app, ids, nids, msg, sizeof msg);
    free(ids);
    if (rc == 0) /* a Cosmictron app's init reducer, as its own call (docs/cosmictron.md) */
        weft_node_cosm_lifecycle(s->node, name, "init", NULL, 1);
    enum MHD_Result res;
    weft_context_info_t c;
    if (rc == WEFT_ENOTFOUND)
        res = srv_reply_error(r, 404, "NOT_FOUND", "%s", msg);
    else if (rc == WEFT_ELIMIT)
        res = srv_reply_error(r, 409, "CONFLICT", "%s", msg);
    else if (rc == WEFT_EARG)
        res = srv_reply_error(r, 400, "BAD_REQUEST", "%s", msg);
    else if (rc != 0 || weft_node_context_get(s->node, name, &c) != 0)
        res = srv_reply_error(r, 500, "INTERNAL", "%s", msg[0] ? msg : "cannot create the context");
    else {
        json_t *o = ctx_json(&c);
        json_object_set_new(o, "members", srv_members_json(s, name));
        res = srv_reply_json(r, 201, o);
    }
    json_decref(body);
    return res;
}

static int add_ctx(void *user, const weft_context_info_t *c)
{
    json_array_append_new(user, ctx_json(c));
    return 0;
}

static enum MHD_Result ctx_list(srv_t *s, req_t *r)
{
    json_t *list = json_array();
    return list_reply(s, r, weft_node_context_list(s->node, add_ctx, list), list, "contexts");
}

static enum MHD_Result ctx_get(srv_t *s, req_t *r)
{
    weft_context_info_t c;
    if (weft_node_context_get(s->node, r->params[0], &c) != 0) {
        return srv_reply_error(r, 404, "NOT_FOUND", "no context '%s'", r->params[0]);
    }
    json_t *o = ctx_json(&c);
    json_object_set_new(o, "members", srv_members_json(s, r->params[0]));
    return srv_reply_json(r, 200, o);
}

static enum MHD_Result ctx_delete(srv_t *s, req_t *r)
{
    int rc = weft_node_context_delete(s->node, r->params[0]);
    if (rc == WEFT_ENOTFOUND) {
        return srv_reply_error(r, 404, "NOT_FOUND", "no context '%s'", r->params[0]);
    }
    if (rc != 0)
        return srv_reply_error(r, 500, "INTERNAL", "%s", weft_strerror(rc));
    return srv_reply_bytes(r, 204, NULL, "", 0);
}

/* POST /v1/contexts/{name}/app {"app": ID}: the context moves to that app
 * (a redeploy; docs/node.md "Upgrading a context"). */
static enum MHD_Result ctx_upgrade(srv_t *s, req_t *r)
{
    json_error_t je;
    const char *app = NULL;
    char msg[512];
    json_t *body = json_loadb((const char *)r->body, r->body_len, 0, &je);
    if (!body || json_unpack_ex(body, &je, 0, "{s:s}", "app", &app) != 0) {
        json_decref(body);
        return srv_reply_error(r, 400, "BAD_REQUEST", "expected {\"app\": ID}: %s", je.text);
    }
    int rc = weft_node_context_upgrade(s->node, r->params[0], app, msg, sizeof msg);
    json_decref(body);
    weft_context_info_t c;
    if (rc == WEFT_ENOTFOUND)
        return srv_reply_error(r, 404, "NOT_FOUND", "%s", msg);
    if (rc == WEFT_EARG)
        return srv_reply_error(r, 409, "CONFLICT", "%s", msg);
    if (rc != 0 || weft_node_context_get(s->node, r->params[0], &c) != 0)
        return srv_reply_error(r, 500, "INTERNAL", "%s", msg[0] ? msg : "cannot upgrade");
    json_t *o = ctx_json(&c);
    json_object_set_new(o, "members", srv_members_json(s, r->params[0]));
    return srv_reply_json(r, 200, o);
}

/* A page of keys being answered: the items so far and the last key (the
 * next page's cursor). */
typedef struct {
    json_t *items;
    uint8_t last[1024];
    size_t last_len;
} page_t;

static json_t *page_item(page_t *p, const uint8_t *key, size_t key_len)
{
    json_t *o = json_object();
    srv_set_bytes(o, "key", key, key_len);
    json_array_append_new(p->items, o);
    p->last_len = key_len < sizeof p->last ? key_len : sizeof p->last;
    memcpy(p->last, key, p->last_len);
    return o;
}

static int add_kv(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                  size_t val_len)
{
    srv_set_bytes(page_item(user, key, key_len), "value", val, val_len);
    return 0;
}

static int add_crdt(void *user, const uint8_t *key, size_t key_len, const char *type)
{
    json_object_set_new(page_item(user, key, key_len), "type", json_string(type));
    return 0;
}

/* The page's request: ?limit= (1..1000, default 100) and the cursor,
 * ?after=KEY or ?after_base64= for a key that is not text (as
 * "next_base64" gives it). Returns 0, or -1 with the 400 queued in *reply. */
static int page_args(srv_t *s, req_t *r, uint8_t *after, size_t cap, size_t *after_len,
                     size_t *limit, enum MHD_Result *reply)
{
    const char *a = srv_query(r, "after"), *b = srv_query(r, "after_base64"),
               *lim = srv_query(r, "limit");
    long l = lim ? strtol(lim, NULL, 10) : 100;
    *after_len = 0;
    if (l <= 0 || l > 1000) {
        *reply = srv_reply_error(r, 400, "BAD_REQUEST", "limit must be 1 to 1000");
        return -1;
    }
    *limit = (size_t)l;
    if (b ? sodium_base642bin(after, cap, b, strlen(b), NULL, after_len, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0
          : a && strlen(a) > cap) {
        *reply = srv_reply_error(r, 400, "BAD_REQUEST", "after/after_base64 is not a valid key");
        return -1;
    }
    if (!b && a) {
        *after_len = strlen(a);
        memcpy(after, a, *after_len);
    }
    return 0;
}

/* Answers a page: {"items", "next"} (next: the cursor, or null at the end). */
static enum MHD_Result page_reply(srv_t *s, req_t *r, int rc, page_t *p, int more)
{
    if (rc != 0) {
        json_decref(p->items);
        if (rc == WEFT_ENOTFOUND) {
            return srv_reply_error(r, 404, "NOT_FOUND", "no context '%s'", r->params[0]);
        }
        return srv_reply_error(r, 500, "INTERNAL", "%s", weft_strerror(rc));
    }
    json_t *body = json_object();
    json_object_set_new(body, "items", p->items);
    if (more)
        srv_set_bytes(body, "next", p->last, p->last_len);
    else
        json_object_set_new(body, "next", json_null());
    return srv_reply_json(r, 200, body);
}

/* GET .../kv?prefix=&after=&limit=: the context's private keys and values. */
static enum MHD_Result kv_read(srv_t *s, req_t *r)
{
    const char *prefix = srv_query(r, "prefix");
    uint8_t after[1024];
    size_t after_len, limit;
    enum MHD_Result reply;
    if (page_args(s, r, after, sizeof after, &after_len, &limit, &reply) != 0)
        return reply;
    page_t p = {json_array(), {0}, 0};
    int more = 0;
    int rc = weft_node_kv_scan(s->node, r->params[0], (const uint8_t *)(prefix ? prefix : ""),
                               prefix ? strlen(prefix) : 0, after, after_len, limit, add_kv, &p,
                               &more);
    return page_reply(s, r, rc, &p, more);
}

/* GET .../crdt?after=&limit=: the context's CRDT keys with their types. */
static enum MHD_Result crdt_list(srv_t *s, req_t *r)
{
    uint8_t after[1024];
    size_t after_len, limit;
    enum MHD_Result reply;
    if (page_args(s, r, after, sizeof after, &after_len, &limit, &reply) != 0)
        return reply;
    page_t p = {json_array(), {0}, 0};
    int more = 0;
    int rc = weft_node_crdt_list(s->node, r->params[0], after, after_len, limit, add_crdt, &p,
                                 &more);
    return page_reply(s, r, rc, &p, more);
}

/* GET .../crdt/{key}: one key's value, {"type", "value"} (weft/crdt_json.h). */
static enum MHD_Result crdt_get(srv_t *s, req_t *r)
{
    char *text = NULL;
    const char *key = r->params[1];
    int rc = weft_node_crdt_json(s->node, r->params[0], (const uint8_t *)key, strlen(key), &text);
    if (rc == WEFT_ENOTFOUND) {
        weft_context_info_t c;
        if (weft_node_context_get(s->node, r->params[0], &c) != 0)
            return srv_reply_error(r, 404, "NOT_FOUND", "no context '%s'", r->params[0]);
        return srv_reply_error(r, 404, "NOT_FOUND", "no CRDT key '%s' in context '%s'", key,
                               r->params[0]);
    }
    if (rc != 0) {
        free(text);
        return srv_reply_error(r, 500, "INTERNAL", "%s", weft_strerror(rc));
    }
    enum MHD_Result res = srv_reply_bytes(r, 200, "application/json", text, strlen(text));
    free(text);
    return res;
}

/* ---- node ----------------------------------------------------------------- */

static uint64_t dir_bytes(const char *dir)
{
    uint64_t total = 0;
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d)
        return 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode))
            total += (uint64_t)st.st_blocks * 512u;
    }
    closedir(d);
    return total;
}

static enum MHD_Result node_info(srv_t *s, req_t *r)
{
    json_t *o = json_object();
    const uint8_t *id = weft_node_id(s->node);
    if (id) {
        char hex[65];
        sodium_bin2hex(hex, sizeof hex, id, 32);
        json_object_set_new(o, "id", json_string(hex));
    } else {
        json_object_set_new(o, "id", json_null());
    }
    json_object_set_new(o, "version", json_string(weft_version()));
    json_object_set_new(o, "uptime_s",
                        json_integer((json_int_t)((srv_now_ns() - s->started_ns) / 1000000000u)));
    json_object_set_new(o, "data_dir_bytes",
                        json_integer((json_int_t)dir_bytes(weft_node_data_dir(s->node))));
    return srv_reply_json(r, 200, o);
}

static enum MHD_Result health(srv_t *s, req_t *r)
{
    return srv_reply_bytes(r, 200, "text/plain", "ok\n", 3);
}

static enum MHD_Result ready(srv_t *s, req_t *r)
{
    if (atomic_load(&s->closing))
        return srv_reply_error(r, 503, "UNAVAILABLE", "the node is shutting down");
    return srv_reply_bytes(r, 200, "text/plain", "ready\n", 6);
}

/* ---- metrics ----------------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
} text_t;

static void put(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text_t *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (t->p && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap * 2 : 8192;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *b = realloc(t->p, cap);
        if (!b)
            return;
        t->p = b;
        t->cap = cap;
    }
}

static void metrics_peer(void *user, const weft_sync_peer_t *p)
{
    text_t *t = user;
    char id[65];
    sodium_bin2hex(id, sizeof id, p->id, 32);
    put(t, "weft_peer_up{peer=\"%s\",addr=\"%s\"} %d\n", id, p->addr, p->up);
    put(t, "weft_peer_lag_ops{peer=\"%s\"} %llu\n", id, (unsigned long long)p->lag_ops);
    put(t, "weft_peer_bytes_total{peer=\"%s\",dir=\"in\"} %llu\n", id,
        (unsigned long long)p->bytes_in);
    put(t, "weft_peer_bytes_total{peer=\"%s\",dir=\"out\"} %llu\n", id,
        (unsigned long long)p->bytes_out);
    put(t, "weft_peer_reconnects_total{peer=\"%s\"} %llu\n", id,
        (unsigned long long)p->reconnects);
}

enum MHD_Result srv_metrics(srv_t *s, req_t *r)
{
    static const char *const outcomes[4] = {"ok", "exit", "trap", "error"};
    text_t t = {0};
    put(&t, "# HELP weft_calls_total Calls by outcome.\n# TYPE weft_calls_total counter\n");
    for (int i = 0; i < 4; i++)
        put(&t, "weft_calls_total{outcome=\"%s\"} %llu\n", outcomes[i],
            (unsigned long long)atomic_load(&s->calls[i]));
    put(&t, "# HELP weft_traps_total Trapped calls by trap.\n# TYPE weft_traps_total counter\n");
    for (int i = 1; i < 32; i++) {
        uint64_t n = atomic_load(&s->traps[i]);
        if (n)
            put(&t, "weft_traps_total{trap=\"%s\"} %llu\n", weft_trap_name((weft_trap_code_t)i),
                (unsigned long long)n);
    }
    put(&t, "# HELP weft_fuel_total Fuel used by calls.\n# TYPE weft_fuel_total counter\n"
            "weft_fuel_total %llu\n",
        (unsigned long long)atomic_load(&s->fuel));
    put(&t, "# HELP weft_call_seconds Call latency, request to answer.\n"
            "# TYPE weft_call_seconds histogram\n");
    for (int i = 0; i < SRV_NBUCKETS; i++)
        put(&t, "weft_call_seconds_bucket{le=\"%g\"} %llu\n", srv_buckets[i],
            (unsigned long long)atomic_load(&s->lat_bucket[i]));
    put(&t, "weft_call_seconds_bucket{le=\"+Inf\"} %llu\nweft_call_seconds_sum %.6f\n"
            "weft_call_seconds_count %llu\n",
        (unsigned long long)atomic_load(&s->lat_count),
        (double)atomic_load(&s->lat_sum_us) / 1e6, (unsigned long long)atomic_load(&s->lat_count));
    weft_node_stats_t st;
    weft_node_stats(s->node, &st);
    put(&t, "# HELP weft_commits_total Durable commits (each a group of write calls).\n"
            "# TYPE weft_commits_total counter\nweft_commits_total %llu\n"
            "# HELP weft_commit_calls_total Write calls committed in groups.\n"
            "# TYPE weft_commit_calls_total counter\nweft_commit_calls_total %llu\n"
            "# HELP weft_worker_write_calls_total Write calls whose guest ran on a worker.\n"
            "# TYPE weft_worker_write_calls_total counter\nweft_worker_write_calls_total %llu\n"
            "# HELP weft_stacked_write_calls_total Worker write calls that read through "
            "calls of their context not yet committed.\n"
            "# TYPE weft_stacked_write_calls_total counter\nweft_stacked_write_calls_total %llu\n",
        (unsigned long long)st.commits, (unsigned long long)st.committed_jobs,
        (unsigned long long)st.worker_write_calls, (unsigned long long)st.stacked_calls);
    put(&t, "# HELP weft_writer_guest_calls_total Write calls whose guest ran on the commit "
            "thread (a lone writer's).\n"
            "# TYPE weft_writer_guest_calls_total counter\nweft_writer_guest_calls_total %llu\n"
            "# HELP weft_views_here_total Views run on the HTTP thread that took them.\n"
            "# TYPE weft_views_here_total counter\nweft_views_here_total %llu\n",
        (unsigned long long)st.writer_guest_calls, (unsigned long long)st.views_here);
    put(&t, "# HELP weft_compiled_functions Functions of the apps' modules compiled to machine "
            "code (tiers auto and jit).\n"
            "# TYPE weft_compiled_functions gauge\nweft_compiled_functions %llu\n"
            "# HELP weft_functions Functions of the apps' modules.\n"
            "# TYPE weft_functions gauge\nweft_functions %llu\n",
        (unsigned long long)st.compiled_functions, (unsigned long long)st.functions);
    weft_sync_stats_t ss;
    weft_node_sync_stats(s->node, &ss);
    put(&t, "# HELP weft_sync_snapshots_total Whole snapshots of contexts served to peers "
            "(sent) and taken from them (received).\n"
            "# TYPE weft_sync_snapshots_total counter\n"
            "weft_sync_snapshots_total{dir=\"sent\"} %llu\n"
            "weft_sync_snapshots_total{dir=\"received\"} %llu\n"
            "# HELP weft_sync_snapshot_chunks_total Snapshot chunks sent to peers and "
            "received (applied) from them.\n"
            "# TYPE weft_sync_snapshot_chunks_total counter\n"
            "weft_sync_snapshot_chunks_total{dir=\"sent\"} %llu\n"
            "weft_sync_snapshot_chunks_total{dir=\"received\"} %llu\n",
        (unsigned long long)ss.snapshots_sent, (unsigned long long)ss.snapshots_received,
        (unsigned long long)ss.snapshot_chunks_sent,
        (unsigned long long)ss.snapshot_chunks_received);
    weft_sync_blob_stats_t bs;
    weft_node_blob_sync_stats(s->node, &bs);
    put(&t, "# HELP weft_xcalls_total Calimero xcalls run after their call, by result.\n"
            "# TYPE weft_xcalls_total counter\nweft_xcalls_total{result=\"ok\"} %llu\n"
            "weft_xcalls_total{result=\"failed\"} %llu\n"
            "# HELP weft_event_handlers_total Handlers run for other members' events.\n"
            "# TYPE weft_event_handlers_total counter\n"
            "weft_event_handlers_total{result=\"ok\"} %llu\n"
            "weft_event_handlers_total{result=\"failed\"} %llu\n",
        (unsigned long long)(st.xcalls - st.xcalls_failed), (unsigned long long)st.xcalls_failed,
        (unsigned long long)(st.handlers - st.handlers_failed),
        (unsigned long long)st.handlers_failed);
    put(&t, "# HELP weft_blobs_fetched_total Blobs fetched from peers, by result.\n"
            "# TYPE weft_blobs_fetched_total counter\n"
            "weft_blobs_fetched_total{result=\"ok\"} %llu\n"
            "weft_blobs_fetched_total{result=\"failed\"} %llu\n"
            "# HELP weft_blobs_fetching Blobs being fetched from peers.\n"
            "# TYPE weft_blobs_fetching gauge\nweft_blobs_fetching %llu\n"
            "# HELP weft_blob_chunks_total Blob chunks between peers.\n"
            "# TYPE weft_blob_chunks_total counter\n"
            "weft_blob_chunks_total{dir=\"in\"} %llu\n"
            "weft_blob_chunks_total{dir=\"refused\"} %llu\n"
            "weft_blob_chunks_total{dir=\"out\"} %llu\n",
        (unsigned long long)bs.fetched, (unsigned long long)bs.failed,
        (unsigned long long)bs.fetching, (unsigned long long)bs.chunks_in,
        (unsigned long long)bs.chunks_refused, (unsigned long long)bs.chunks_served);
    put(&t, "# HELP weft_store_bytes Size of the data directory's files.\n"
            "# TYPE weft_store_bytes gauge\nweft_store_bytes %llu\n",
        (unsigned long long)dir_bytes(weft_node_data_dir(s->node)));
    put(&t, "# HELP weft_sse_streams Open event streams.\n# TYPE weft_sse_streams gauge\n"
            "weft_sse_streams %d\n",
        atomic_load(&s->sse_open));
    put(&t, "# HELP weft_http_requests_total HTTP requests by status class.\n"
            "# TYPE weft_http_requests_total counter\n");
    for (int i = 1; i <= 5; i++)
        put(&t, "weft_http_requests_total{status=\"%dxx\"} %llu\n", i,
            (unsigned long long)atomic_load(&s->http[i]));
    put(&t, "# HELP weft_peer_up Peer links by peer: 1 up, 0 down.\n# TYPE weft_peer_up gauge\n"
            "# HELP weft_peer_lag_ops Ops the peer has not acknowledged.\n"
            "# TYPE weft_peer_lag_ops gauge\n"
            "# HELP weft_peer_bytes_total Bytes on the peer link.\n"
            "# TYPE weft_peer_bytes_total counter\n"
            "# HELP weft_peer_reconnects_total Redials of the peer's address.\n"
            "# TYPE weft_peer_reconnects_total counter\n");
    weft_node_peers(s->node, metrics_peer, &t);
    if (!t.p)
        return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(t.len, t.p, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(t.p);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    return srv_queue(r, 200, resp, NULL);
}
