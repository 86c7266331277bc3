/*
 * contexts.c — contexts: named instances of an app's state.
 *
 * A context is a record "ctx/" NAME -> (created_ms, app id) in the meta
 * space; its state is every key under its name in the other spaces. All
 * changes go through the writer, so a delete lands after the write calls
 * queued before it, and a call queued after it finds no context.
 */
#include <stdio.h>
#include <string.h>

#include "abi.h"
#include "node_priv.h"
#include "weft/crdt_json.h"
#include "weft/crdt_store.h"
#include "weft/error.h"

#define CTX_KEY_PREFIX "ctx/"
#define APP_KEY_PREFIX "app/"

static int ctx_key(const char *name, uint8_t *key, size_t *len)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > WEFT_CONTEXT_MAX)
        return WEFT_EARG;
    memcpy(key, CTX_KEY_PREFIX, 4);
    memcpy(key + 4, name, n);
    *len = 4 + n;
    return 0;
}

static int parse_record(const char *name, size_t name_len, const uint8_t *v, size_t len,
                        weft_context_info_t *out)
{
    if (len != 8 + WEFT_APP_ID_LEN || name_len > WEFT_CONTEXT_MAX)
        return WEFT_EIO;
    memset(out, 0, sizeof *out);
    memcpy(out->name, name, name_len);
    out->created_ms = node_get_u64(v);
    memcpy(out->app, v + 8, WEFT_APP_ID_LEN);
    return 0;
}

int node_context_app(weft_txn_t *txn, const char *name, char out_id[WEFT_APP_ID_LEN + 1])
{
    uint8_t key[4 + WEFT_CONTEXT_MAX];
    size_t klen = 0;
    const uint8_t *v;
    size_t vlen;
    int rc = ctx_key(name, key, &klen);
    if (rc != 0)
        return WEFT_ENOTFOUND;
    if ((rc = weft_txn_get(txn, WEFT_SPACE_META, NULL, 0, key, klen, &v, &vlen)) != 0)
        return rc;
    if (vlen != 8 + WEFT_APP_ID_LEN)
        return WEFT_EIO;
    memcpy(out_id, v + 8, WEFT_APP_ID_LEN);
    out_id[WEFT_APP_ID_LEN] = '\0';
    return 0;
}

typedef struct {
    const char *name;
    const char *app;
    const uint8_t *members; /* n x 32-byte node ids besides this node's */
    size_t nmembers;
} create_t;

static int create_write(weft_node_t *node, weft_txn_t *txn, void *arg)
{
    create_t *c = arg;
    uint8_t key[4 + WEFT_CONTEXT_MAX], akey[4 + WEFT_APP_ID_LEN];
    size_t klen = 0;
    const uint8_t *v;
    size_t vlen;
    ctx_key(c->name, key, &klen);
    memcpy(akey, APP_KEY_PREFIX, 4);
    memcpy(akey + 4, c->app, WEFT_APP_ID_LEN);
    int rc = weft_txn_get(txn, WEFT_SPACE_META, NULL, 0, akey, sizeof akey, &v, &vlen);
    if (rc != 0)
        return rc; /* WEFT_ENOTFOUND: no such app */
    rc = weft_txn_get(txn, WEFT_SPACE_META, NULL, 0, key, klen, &v, &vlen);
    if (rc == 0)
        return WEFT_ELIMIT;
    if (rc != WEFT_ENOTFOUND)
        return rc;
    uint8_t rec[8 + WEFT_APP_ID_LEN];
    node_put_u64(rec, node_unix_ms());
    memcpy(rec + 8, c->app, WEFT_APP_ID_LEN);
    if ((rc = weft_txn_put(txn, WEFT_SPACE_META, NULL, 0, key, klen, rec, sizeof rec)) != 0)
        return rc;
    /* The members' set starts with this node (docs/sync.md "Membership"). */
    if (!node->has_id)
        return c->nmembers ? WEFT_EARG : 0;
    if ((rc = node_members_change(node, txn, c->name, node->id, 1, 1)) != 0)
        return rc;
    return node_members_change(node, txn, c->name, c->members, c->nmembers, 1);
}

int node_context_create_in(weft_node_t *node, weft_txn_t *txn, const char *name,
                           const char *app_id)
{
    uint8_t key[4 + WEFT_CONTEXT_MAX];
    size_t klen = 0;
    if (ctx_key(name, key, &klen) != 0 || !app_id || strlen(app_id) != WEFT_APP_ID_LEN)
        return WEFT_EARG;
    create_t c = {name, app_id, NULL, 0};
    return create_write(node, txn, &c);
}

int weft_node_context_create(weft_node_t *node, const char *name, const char *app_id,
                             char *out_msg, size_t msg_size)
{
    return weft_node_context_create_members(node, name, app_id, NULL, 0, out_msg, msg_size);
}

int weft_node_context_create_members(weft_node_t *node, const char *name, const char *app_id,
                                     const uint8_t *members, size_t nmembers, char *out_msg,
                                     size_t msg_size)
{
    char dummy[8];
    if (!out_msg || !msg_size) {
        out_msg = dummy;
        msg_size = sizeof dummy;
    }
    out_msg[0] = '\0';
    uint8_t key[4 + WEFT_CONTEXT_MAX];
    size_t klen = 0;
    if (ctx_key(name, key, &klen) != 0) {
        snprintf(out_msg, msg_size, "a context name must be 1 to %d bytes", WEFT_CONTEXT_MAX);
        return WEFT_EARG;
    }
    if (!app_id || strlen(app_id) != WEFT_APP_ID_LEN) {
        snprintf(out_msg, msg_size, "no app %s (an app id is 64 hex digits)",
                 app_id ? app_id : "(none)");
        return WEFT_ENOTFOUND;
    }
    create_t c = {name, app_id, members, nmembers};
    int rc = node_write_fn(node, create_write, &c);
    if (rc == 0)
        node_sync_changed(node, name);
    if (rc == WEFT_EARG)
        snprintf(out_msg, msg_size, "members need replication, which this node runs without");
    else if (rc == WEFT_ENOTFOUND)
        snprintf(out_msg, msg_size, "no app %s", app_id);
    else if (rc == WEFT_ELIMIT)
        snprintf(out_msg, msg_size, "context '%s' exists already", name);
    else if (rc != 0)
        snprintf(out_msg, msg_size, "cannot create context '%s': %s", name,
                 weft_db_errmsg(node->db));
    return rc;
}

typedef struct {
    const char *name;
    node_app_t *to;
    char *msg;
    size_t size;
} upgrade_t;

/* In the writer: the record's app changes, and a Cosmictron context's
 * tables move to the new schema in the same transaction (all or nothing). */
static int upgrade_write(weft_node_t *node, weft_txn_t *txn, void *arg)
{
    upgrade_t *u = arg;
    uint8_t key[4 + WEFT_CONTEXT_MAX], rec[8 + WEFT_APP_ID_LEN];
    char from_id[WEFT_APP_ID_LEN + 1];
    size_t klen = 0, vlen;
    const uint8_t *v;
    ctx_key(u->name, key, &klen);
    int rc = weft_txn_get(txn, WEFT_SPACE_META, NULL, 0, key, klen, &v, &vlen);
    if (rc == WEFT_ENOTFOUND)
        snprintf(u->msg, u->size, "no context '%s'", u->name);
    if (rc != 0)
        return rc;
    if (vlen != sizeof rec)
        return WEFT_EIO;
    memcpy(rec, v, sizeof rec);
    memcpy(from_id, rec + 8, WEFT_APP_ID_LEN);
    from_id[WEFT_APP_ID_LEN] = '\0';
    if (strcmp(from_id, u->to->id) == 0)
        return 0; /* already there */
    node_app_t *from = node_app_load(node, txn, from_id, u->msg, u->size);
    if (!from)
        return WEFT_EIO;
    if (from->abi != u->to->abi) {
        snprintf(u->msg, u->size, "context '%s' is of a %s app; app %.12s is %s", u->name,
                 from->abi->name, u->to->id, u->to->abi->name);
        return WEFT_EARG;
    }
    if (from->abi == &node_abi_cosmictron &&
        (rc = node_cosm_upgrade(node, txn, u->name, from, u->to, u->msg, u->size)) != 0)
        return rc;
    memcpy(rec + 8, u->to->id, WEFT_APP_ID_LEN);
    return weft_txn_put(txn, WEFT_SPACE_META, NULL, 0, key, klen, rec, sizeof rec);
}

int weft_node_context_upgrade(weft_node_t *node, const char *name, const char *app_id,
                              char *out_msg, size_t msg_size)
{
    char dummy[8];
    uint8_t key[4 + WEFT_CONTEXT_MAX];
    size_t klen = 0;
    weft_txn_t *txn;
    if (!out_msg || !msg_size) {
        out_msg = dummy;
        msg_size = sizeof dummy;
    }
    out_msg[0] = '\0';
    if (ctx_key(name, key, &klen) != 0) {
        snprintf(out_msg, msg_size, "no context '%s'", name ? name : "");
        return WEFT_ENOTFOUND;
    }
    if (!node->db || !app_id || strlen(app_id) != WEFT_APP_ID_LEN) {
        snprintf(out_msg, msg_size, "no app %s", app_id ? app_id : "(none)");
        return WEFT_ENOTFOUND;
    }
    /* compiled here, not in the writer */
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0)
        return rc;
    node_app_t *to = node_app_load(node, txn, app_id, out_msg, msg_size);
    weft_txn_abort(txn);
    if (!to) {
        snprintf(out_msg, msg_size, "no app %s", app_id);
        return WEFT_ENOTFOUND;
    }
    upgrade_t u = {name, to, out_msg, msg_size};
    rc = node_write_fn(node, upgrade_write, &u);
    if (rc != 0 && !out_msg[0])
        snprintf(out_msg, msg_size, "cannot upgrade context '%s': %s", name,
                 weft_db_errmsg(node->db));
    return rc;
}

int weft_node_context_get(weft_node_t *node, const char *name, weft_context_info_t *out)
{
    uint8_t key[4 + WEFT_CONTEXT_MAX];
    size_t klen = 0;
    if (ctx_key(name, key, &klen) != 0)
        return WEFT_ENOTFOUND;
    weft_txn_t *txn;
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0)
        return rc;
    const uint8_t *v;
    size_t vlen;
    rc = weft_txn_get(txn, WEFT_SPACE_META, NULL, 0, key, klen, &v, &vlen);
    if (rc == 0)
        rc = parse_record(name, strlen(name), v, vlen, out);
    weft_txn_abort(txn);
    return rc;
}

typedef struct {
    int (*fn)(void *user, const weft_context_info_t *ctx);
    void *user;
} list_t;

static int list_one(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                    size_t val_len)
{
    list_t *l = user;
    weft_context_info_t info;
    if (key_len <= 4 || parse_record((const char *)key + 4, key_len - 4, val, val_len, &info))
        return 0;
    return l->fn(l->user, &info);
}

int weft_node_context_list(weft_node_t *node,
                           int (*fn)(void *user, const weft_context_info_t *ctx), void *user)
{
    weft_txn_t *txn;
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0)
        return rc;
    list_t l = {fn, user};
    rc = weft_txn_scan(txn, WEFT_SPACE_META, NULL, 0, (const uint8_t *)CTX_KEY_PREFIX, 4, NULL, 0,
                       list_one, &l);
    weft_txn_abort(txn);
    return rc;
}

static int delete_write(weft_node_t *node, weft_txn_t *txn, void *arg)
{
    const char *name = arg;
    uint8_t key[4 + WEFT_CONTEXT_MAX];
    size_t klen = 0;
    const uint8_t *v;
    size_t vlen;
    ctx_key(name, key, &klen);
    int rc = weft_txn_get(txn, WEFT_SPACE_META, NULL, 0, key, klen, &v, &vlen);
    if (rc != 0)
        return rc;
    /* Numbers that must never be issued twice under this name survive
     * the context: its event and log line counters (a subscriber resuming
     * with Last-Event-ID must not take a new context's events for ones it
     * has seen), this node's CRDT seq in it (peers that kept the old
     * context's ops would take a new context's ops for duplicates) and the
     * context's CRDT clock (their states' stamps must stay below a new
     * context's, docs/sync.md "Clocks"). */
    const uint8_t *ctx = (const uint8_t *)name;
    size_t cl = strlen(name);
    static const uint8_t counters[2] = {'n', 'm'};
    uint8_t saved[2][8];
    int have[2] = {0, 0};
    for (int i = 0; i < 2; i++)
        if (weft_txn_get(txn, WEFT_SPACE_EVENTS, ctx, cl, &counters[i], 1, &v, &vlen) == 0 &&
            vlen == 8) {
            memcpy(saved[i], v, 8);
            have[i] = 1;
        }
    weft_crdt_node_t self;
    /* (a node writes an op of its own in every context it creates or
     * joins, its members', so every context has its seq and clock) */
    int have_self = node->has_id && weft_crdt_node_load(txn, ctx, cl, node->id, &self) == 0 &&
                    self.next_seq > 1;
    rc = weft_txn_drop_context(txn, WEFT_SPACE_COUNT, ctx, cl);
    for (int i = 0; i < 2 && rc == 0; i++)
        if (have[i])
            rc = weft_txn_put(txn, WEFT_SPACE_EVENTS, ctx, cl, &counters[i], 1, saved[i], 8);
    if (rc == 0 && have_self)
        rc = weft_crdt_node_save(txn, ctx, cl, &self);
    if (rc == 0)
        rc = weft_txn_del(txn, WEFT_SPACE_META, NULL, 0, key, klen);
    return rc;
}

int node_context_delete_in(weft_node_t *node, weft_txn_t *txn, const char *name)
{
    uint8_t key[4 + WEFT_CONTEXT_MAX];
    size_t klen = 0;
    if (ctx_key(name, key, &klen) != 0)
        return WEFT_ENOTFOUND;
    return delete_write(node, txn, (void *)name);
}

int weft_node_context_delete(weft_node_t *node, const char *name)
{
    uint8_t key[4 + WEFT_CONTEXT_MAX];
    size_t klen = 0;
    if (ctx_key(name, key, &klen) != 0)
        return WEFT_ENOTFOUND;
    int rc = node_write_fn(node, delete_write, (void *)name);
    if (rc == 0)
        node_subs_context_deleted(node, name);
    return rc;
}

/* One page of a context's keys in `space`: those starting with prefix and
 * after `after`, at most limit, each handed to each(); *out_more is 1 when
 * more follow. WEFT_ENOTFOUND when there is no such context. */
typedef struct {
    weft_scan_fn each;
    void *user;
    size_t left;
    int more;
} page_t;

static int page_one(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                    size_t val_len)
{
    page_t *p = user;
    /* The runtime's own keys (a context's members: docs/sync.md) are not
     * the app's state; GET /v1/contexts/{name} shows the members. */
    if (key_len >= 5 && memcmp(key, "__nx/", 5) == 0)
        return 0;
    if (p->left == 0) {
        p->more = 1;
        return 1;
    }
    p->left--;
    return p->each(p->user, key, key_len, val, val_len);
}

static int page_scan(weft_node_t *node, const char *context, weft_space_t space,
                     const uint8_t *prefix, size_t prefix_len, const uint8_t *after,
                     size_t after_len, size_t limit, weft_scan_fn each, void *user,
                     int *out_more)
{
    char app[WEFT_APP_ID_LEN + 1];
    weft_txn_t *txn;
    *out_more = 0;
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0)
        return rc;
    if ((rc = node_context_app(txn, context, app)) == 0) {
        page_t p = {each, user, limit, 0};
        rc = weft_txn_scan(txn, space, (const uint8_t *)context, strlen(context), prefix,
                           prefix_len, after, after_len, page_one, &p);
        *out_more = p.more;
    }
    weft_txn_abort(txn);
    return rc;
}

int weft_node_kv_scan(weft_node_t *node, const char *context, const uint8_t *prefix,
                      size_t prefix_len, const uint8_t *after, size_t after_len, size_t limit,
                      int (*fn)(void *user, const uint8_t *key, size_t key_len,
                                const uint8_t *val, size_t val_len),
                      void *user, int *out_more)
{
    return page_scan(node, context, WEFT_SPACE_KV, prefix, prefix_len, after, after_len, limit,
                     fn, user, out_more);
}

typedef struct {
    int (*fn)(void *user, const uint8_t *key, size_t key_len, const char *type);
    void *user;
} crdt_list_t;

static int crdt_one(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                    size_t val_len)
{
    crdt_list_t *l = user;
    weft_crdt_state_t *st = NULL;
    int rc = weft_crdt_state_decode(val, val_len, &st);
    const char *type = rc == 0 ? weft_crdt_type_name(weft_crdt_state_type(st)) : "corrupt";
    weft_crdt_state_delete(st);
    return l->fn(l->user, key, key_len, type);
}

int weft_node_crdt_list(weft_node_t *node, const char *context, const uint8_t *after,
                        size_t after_len, size_t limit,
                        int (*fn)(void *user, const uint8_t *key, size_t key_len,
                                  const char *type),
                        void *user, int *out_more)
{
    crdt_list_t l = {fn, user};
    return page_scan(node, context, WEFT_SPACE_CRDT, NULL, 0, after, after_len, limit, crdt_one,
                     &l, out_more);
}

int weft_node_crdt_json(weft_node_t *node, const char *context, const uint8_t *key,
                        size_t key_len, char **out)
{
    char app[WEFT_APP_ID_LEN + 1];
    weft_txn_t *txn;
    *out = NULL;
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0)
        return rc;
    if ((rc = node_context_app(txn, context, app)) == 0) {
        weft_crdt_state_t *st = NULL;
        rc = weft_crdt_read(txn, (const uint8_t *)context, strlen(context), key, key_len, 0, &st);
        if (rc == 0)
            rc = weft_crdt_json(st, out);
        weft_crdt_state_delete(st);
    }
    weft_txn_abort(txn);
    return rc;
}
