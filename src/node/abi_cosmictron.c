/*
 * abi_cosmictron.c — the Cosmictron adapter (abi.h): a call is a reducer,
 * the request's function its name and the input its BSATN arguments
 * (weft_cosmictron_invoke: through the guest's __cosm_alloc). The binding
 * (weft/cosmictron.h) runs on the call's transaction as the caller (the
 * request's verified key, else the node's own); a reducer that returns
 * nonzero fails the call as EXIT with that status, its writes rolled back.
 * Logs carry their level ("warn: ..."); a storage error aborts the call,
 * or runs it again when the map only grew.
 *
 * The schema is read from the module itself (__describe_module__,
 * weft_cosmictron_describe) at its deploy, which a bad one fails, or at
 * its first call after a restart, and kept by app id (an app's module
 * never changes) for the life of the process: O(apps), fine while a node
 * holds hundreds. Also here, on that schema: JSON arguments converted to
 * BSATN, committed row changes of public tables as the call's events
 * (what table subscriptions stream), tables as JSON pages and snapshots
 * for clients, lifecycle reducers, and the scheduler of schedules.
 * docs/cosmictron.md.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abi.h"
#include "weft/cosmictron.h"
#include "weft/error.h"

typedef struct schema_entry {
    char id[WEFT_APP_ID_LEN + 1];
    weft_schema_t *schema;
    struct schema_entry *next;
} schema_entry_t;

static pthread_mutex_t schemas_mu = PTHREAD_MUTEX_INITIALIZER;
static schema_entry_t *schemas; /* reachable until exit: never freed */

/* The schema of app `id` (module m), read once (borrowed: lives until
 * exit). */
static int module_schema(weft_node_t *node, const char *id, weft_module_t *m,
                         const weft_schema_t **out, char *msg, size_t size)
{
    schema_entry_t *e;
    int rc = 0;
    pthread_mutex_lock(&schemas_mu);
    for (e = schemas; e && strcmp(e->id, id) != 0; e = e->next)
        ;
    if (!e) {
        /* described under the lock: two first calls of an app describe once */
        weft_schema_t *s = NULL;
        if ((rc = weft_cosmictron_describe(node->engine, m, &s, msg, size)) == 0) {
            if ((e = calloc(1, sizeof *e)) == NULL) {
                weft_schema_delete(s);
                snprintf(msg, size, "out of memory");
                rc = WEFT_ENOMEM;
            } else {
                snprintf(e->id, sizeof e->id, "%s", id);
                e->schema = s;
                e->next = schemas;
                schemas = e;
            }
        }
    }
    if (e) *out = e->schema;
    pthread_mutex_unlock(&schemas_mu);
    return rc;
}

static int app_schema(weft_node_t *node, node_app_t *app, const weft_schema_t **out, char *msg,
                      size_t size)
{
    return module_schema(node, app->id, app->module, out, msg, size);
}

int node_cosm_deploy(weft_node_t *node, const char *id, weft_module_t *m, char *msg, size_t size)
{
    const weft_schema_t *s;
    char why[256];
    int rc = module_schema(node, id, m, &s, why, sizeof why);
    if (rc != 0) snprintf(msg, size, "the module's schema: %s", why);
    return rc == WEFT_ENOMEM ? rc : rc ? WEFT_EARG : 0;
}

int node_cosm_upgrade(weft_node_t *node, weft_txn_t *txn, const char *ctx, node_app_t *from,
                      node_app_t *to, char *msg, size_t size)
{
    const weft_schema_t *a, *b;
    int rc = app_schema(node, from, &a, msg, size);
    if (rc == 0) rc = app_schema(node, to, &b, msg, size);
    if (rc != 0) return rc;
    rc = weft_tables_migrate(a, b, txn, (const uint8_t *)ctx, strlen(ctx), msg, size);
    /* rows of replicated tables that peers on this version wrote, which
     * the old schema could not read, show now (docs/cosmictron.md) */
    if (rc == 0 &&
        (rc = weft_tables_repl_apply(b, txn, (const uint8_t *)ctx, strlen(ctx), NULL, 0, NULL,
                                     NULL)) != 0)
        snprintf(msg, size, "settling the replicated tables: %s", weft_db_errmsg(node->db));
    return rc;
}

int weft_node_app_schema(weft_node_t *node, const char *id, char **out)
{
    weft_txn_t *txn;
    const weft_schema_t *s = NULL;
    char msg[256];
    *out = NULL;
    if (!node->db) return WEFT_ENOTFOUND;
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0) return rc;
    node_app_t *app = node_app_load(node, txn, id, msg, sizeof msg);
    weft_txn_abort(txn);
    if (!app) return WEFT_ENOTFOUND;
    if (app->abi != &node_abi_cosmictron) return WEFT_EARG;
    if ((rc = app_schema(node, app, &s, msg, sizeof msg)) != 0) return rc;
    weft_bsatn_buf_t b;
    weft_bsatn_buf_init(&b);
    weft_schema_describe(s, &b);
    weft_bsatn_put_u8(&b, 0);
    if (b.err) {
        weft_bsatn_buf_fini(&b);
        return WEFT_ENOMEM;
    }
    *out = (char *)b.p;
    return 0;
}

/* The per-call state: the binding, and what the reducer returned. */
typedef struct {
    weft_cosmictron_t *cosm;
    const weft_schema_t *schema;
    int32_t result;
    char msg[256]; /* invoke's failure, for c->what */
} call_state_t;

static int cosm_bind(node_call_t *c, void **state)
{
    const weft_schema_t *schema;
    char msg[256];
    weft_cosmictron_t *cosm;
    call_state_t *st;
    *state = NULL;
    if (!c->node->db || !c->txn) {
        node_result_fail(c->res, WEFT_CALL_ERROR, "a Cosmictron module needs a data directory");
        return WEFT_EARG;
    }
    int rc = app_schema(c->node, c->app, &schema, msg, sizeof msg);
    if (rc != 0) {
        node_result_fail(c->res, WEFT_CALL_ERROR, "cannot read the module's schema: %s", msg);
        return rc;
    }
    if (c->req->schedule) {
        /* a scheduled run takes its schedule in its own transaction:
         * exactly once when it commits, and not at all once cancelled */
        uint8_t key[9];
        const uint8_t *v;
        size_t vl;
        const uint8_t *ctx = (const uint8_t *)c->req->context;
        size_t cl = strlen(c->req->context);
        key[0] = WEFT_COSM_SCHEDULE_KIND;
        node_put_u64be(key + 1, c->req->schedule);
        rc = weft_txn_get(c->txn, WEFT_SPACE_TABLES, ctx, cl, key, 9, &v, &vl);
        if (rc == 0) rc = weft_txn_del(c->txn, WEFT_SPACE_TABLES, ctx, cl, key, 9);
        if (rc != 0) {
            node_result_fail(c->res, WEFT_CALL_ERROR, "schedule %llu: %s",
                             (unsigned long long)c->req->schedule,
                             rc == WEFT_ENOTFOUND ? "cancelled" : weft_strerror(rc));
            return rc;
        }
    }
    weft_cosmictron_config_t cc = {c->node->db, c->req->context, schema,
                                   c->node->cosm_log_level, node_http_fetch, c,
                                   c->node->has_id ? c->node->id : NULL};
    if (!(st = calloc(1, sizeof *st))) {
        node_result_fail(c->res, WEFT_CALL_ERROR, "out of memory");
        return WEFT_ENOMEM;
    }
    *state = st;
    if ((rc = weft_cosmictron_new(&cc, &cosm)) != 0) {
        node_result_fail(c->res, WEFT_CALL_ERROR, "cannot bind the Cosmictron ABI: %s",
                         weft_strerror(rc));
        return rc;
    }
    st->cosm = cosm;
    st->schema = schema;
    c->host_user = cosm; /* a kept instance's imports are pointed at it (call.c) */
    if (c->linker && weft_cosmictron_define_imports(cosm, c->linker, c->app->module) != 0) {
        node_result_fail(c->res, WEFT_CALL_ERROR, "out of memory");
        return WEFT_ENOMEM;
    }
    const uint8_t *who = c->req->caller ? c->req->caller : c->node->has_id ? c->node->id : NULL;
    if (c->view)
        weft_cosmictron_begin_view(cosm, c->txn, who, who ? 32 : 0, 0);
    else
        weft_cosmictron_begin_call(cosm, c->txn, who, who ? 32 : 0, 0);
    return 0;
}

/* ---- JSON arguments ------------------------------------------------------- */

/* Appends the BSATN of JSON value v as one value of the type at t's
 * cursor: integers as JSON numbers (or strings of digits, for 64-bit ones
 * beyond 2^53), bool, String as a string, bytes as lowercase hex, Option as
 * null or the value, Vec as an array, Struct as an object of its field
 * names or an array in order. Returns 0 or -1 with msg saying where. */
static int json_to_bsatn(json_t *v, weft_bsatn_reader_t *t, weft_bsatn_buf_t *out,
                         const char *where, char *msg, size_t size, int depth)
{
    uint8_t tag = weft_bsatn_get_u8(t);
    if (t->err || depth > WEFT_BSATN_MAX_DEPTH) goto bad;
    if (tag <= WEFT_BSATN_U64 || (tag >= WEFT_BSATN_I8 && tag <= WEFT_BSATN_I64)) {
        int w = 1 << (tag & 3), sign = tag >= WEFT_BSATN_I8;
        long long sv = 0;
        unsigned long long uv = 0;
        if (json_is_integer(v)) {
            sv = json_integer_value(v);
            uv = (unsigned long long)sv;
            if (!sign && sv < 0) goto bad;
        } else if (json_is_string(v)) {
            char *end;
            const char *s = json_string_value(v);
            errno = 0;
            if (sign)
                uv = (unsigned long long)(sv = strtoll(s, &end, 10));
            else
                uv = strtoull(s, &end, 10);
            if (errno || !*s || *end || (!sign && *s == '-')) goto bad;
        } else {
            goto bad;
        }
        if (w < 8) { /* in range for the width */
            long long lim = 1ll << (8 * w - 1);
            if (sign ? sv < -lim || sv >= lim : uv >= (unsigned long long)lim * 2) goto bad;
        }
        for (int i = 0; i < w; i++) weft_bsatn_put_u8(out, (uint8_t)(uv >> (8 * i)));
        return 0;
    }
    switch (tag) {
    case WEFT_BSATN_BOOL:
        if (!json_is_boolean(v)) goto bad;
        weft_bsatn_put_u8(out, json_is_true(v));
        return 0;
    case WEFT_BSATN_STRING:
        if (!json_is_string(v)) goto bad;
        weft_bsatn_put_bytes(out, json_string_value(v), json_string_length(v));
        return 0;
    case WEFT_BSATN_BYTES: {
        if (!json_is_string(v) || json_string_length(v) % 2) goto bad;
        const char *h = json_string_value(v);
        size_t n = json_string_length(v) / 2;
        weft_bsatn_put_u32(out, (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
            unsigned b;
            if (sscanf(h + 2 * i, "%2x", &b) != 1) goto bad;
            weft_bsatn_put_u8(out, (uint8_t)b);
        }
        return 0;
    }
    case WEFT_BSATN_OPTION: {
        size_t at = t->off, tl;
        if (json_is_null(v)) {
            weft_bsatn_put_u8(out, 0);
            if (!weft_bsatn_get_type(t, &tl)) goto bad; /* skip the element type */
            return 0;
        }
        weft_bsatn_put_u8(out, 1);
        t->off = at;
        return json_to_bsatn(v, t, out, where, msg, size, depth + 1);
    }
    case WEFT_BSATN_VEC: {
        size_t at = t->off, tl;
        if (!json_is_array(v)) goto bad;
        weft_bsatn_put_u32(out, (uint32_t)json_array_size(v));
        for (size_t i = 0; i < json_array_size(v); i++) {
            t->off = at;
            if (json_to_bsatn(json_array_get(v, i), t, out, where, msg, size, depth + 1)) return -1;
        }
        t->off = at;
        if (!weft_bsatn_get_type(t, &tl)) goto bad;
        return 0;
    }
    case WEFT_BSATN_STRUCT: {
        uint32_t n = weft_bsatn_get_u32(t), nl;
        if (!(json_is_object(v) || (json_is_array(v) && json_array_size(v) == n))) goto bad;
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *name = weft_bsatn_get_str(t, &nl);
            char field[WEFT_TABLES_MAX_NAME + 1];
            if (!name || nl > WEFT_TABLES_MAX_NAME) goto bad;
            memcpy(field, name, nl);
            field[nl] = '\0';
            json_t *f = json_is_array(v) ? json_array_get(v, i) : json_object_get(v, field);
            if (!f) {
                snprintf(msg, size, "%s: no value for '%s'", where, field);
                return -1;
            }
            if (json_to_bsatn(f, t, out, field, msg, size, depth + 1)) return -1;
        }
        return 0;
    }
    }
bad:
    snprintf(msg, size, "%s: not a value of its declared type", where);
    return -1;
}

/* The reducer's JSON arguments as BSATN, into out (0), or -1 with msg. */
static int json_args(const weft_schema_t *schema, const char *reducer, const uint8_t *in,
                     size_t len, weft_bsatn_buf_t *out, char *msg, size_t size)
{
    int r = weft_schema_reducer_find(schema, reducer, strlen(reducer));
    size_t tl = 0;
    const uint8_t *type = r >= 0 ? weft_schema_reducer_args(schema, (size_t)r, &tl) : NULL;
    if (r < 0) {
        snprintf(msg, size, "no reducer %s in the module's schema", reducer);
        return -1;
    }
    json_error_t je;
    json_t *v = json_loadb((const char *)in, len, JSON_DECODE_ANY, &je);
    if (!v) {
        snprintf(msg, size, "arguments: malformed JSON: %s", je.text);
        return -1;
    }
    int rc = 0;
    if (!type) { /* no arguments: {} or [] */
        if (!((json_is_object(v) && json_object_size(v) == 0) ||
              (json_is_array(v) && json_array_size(v) == 0))) {
            snprintf(msg, size, "reducer %s takes no arguments", reducer);
            rc = -1;
        }
    } else {
        weft_bsatn_reader_t t;
        weft_bsatn_reader_init(&t, type, tl);
        rc = json_to_bsatn(v, &t, out, "arguments", msg, size, 1);
    }
    json_decref(v);
    if (rc == 0 && out->err) {
        snprintf(msg, size, "out of memory");
        rc = -1;
    }
    return rc;
}

static int cosm_invoke(node_call_t *c, void *state, weft_instance_t *inst)
{
    call_state_t *st = state;
    if (!c->function) {
        c->res->error = WEFT_EARG;
        c->what = "a Cosmictron call names its reducer";
        return WEFT_EARG;
    }
    const uint8_t *in = c->req->input;
    size_t in_len = c->req->input_len;
    weft_bsatn_buf_t conv;
    weft_bsatn_buf_init(&conv);
    if (c->req->input_json) {
        if (json_args(st->schema, c->function, in, in_len, &conv, st->msg, sizeof st->msg) != 0) {
            weft_bsatn_buf_fini(&conv);
            c->res->error = WEFT_EARG;
            c->what = st->msg;
            return WEFT_EARG;
        }
        in = conv.p;
        in_len = conv.len;
    }
    int rc = weft_cosmictron_invoke(c->store, inst, c->function, in, in_len, &st->result, st->msg,
                                    sizeof st->msg);
    weft_bsatn_buf_fini(&conv);
    c->what = st->msg;
    if (rc != 0 && rc != WEFT_ETRAP) c->res->error = rc;
    return rc;
}

/* A row inserted ('i') or deleted of table tid as an event of res:
 * "table:TABLE:insert" or ":delete", the row as JSON. */
static void row_event(weft_call_result_t *res, const weft_schema_t *schema, uint32_t tid, int op,
                      const uint8_t *row, size_t len)
{
    size_t tl;
    const uint8_t *type = weft_schema_row_type(schema, tid, &tl);
    char name[WEFT_TABLES_MAX_NAME + 16];
    weft_bsatn_buf_t json;
    int nl = snprintf(name, sizeof name, "table:%s:%s", weft_schema_table_name(schema, tid),
                      op == 'i' ? "insert" : "delete");
    weft_bsatn_buf_init(&json);
    if (type && weft_bsatn_json(type, tl, row, len, &json, NULL) == 0)
        node_result_add_event(res, name, (size_t)nl, json.p, json.len);
    weft_bsatn_buf_fini(&json);
}

static int cosm_finish(node_call_t *c, void *state, int verdict)
{
    call_state_t *st = state;
    weft_call_result_t *res = c->res;
    if (!st || !st->cosm) return verdict;
    weft_cosmictron_t *cosm = st->cosm;
    weft_cosmictron_end_call(cosm);
    int err = weft_cosmictron_call_error(cosm);
    if (weft_db_retryable(err)) return -1;
    if (err && verdict == 1) {
        verdict = 0;
        node_result_fail(res, WEFT_CALL_ERROR, "database error: %s", weft_db_errmsg(c->node->db));
    }
    if (verdict == 1 && st->result != 0) {
        verdict = 0;
        res->exit_status = st->result;
        node_result_fail(res, WEFT_CALL_EXIT, "reducer %s returned %d", c->function,
                         (int)st->result);
    }
    /* a schedule it stored wakes the scheduler once it commits */
    if (verdict == 1 && weft_cosmictron_scheduled(cosm) > 0) res->scheduled = 1;
    /* committed row changes of public tables become the call's events, in
     * order: what table subscriptions stream (docs/cosmictron.md) */
    for (size_t i = 0, n = verdict == 1 ? weft_cosmictron_change_count(cosm) : 0; i < n; i++) {
        int op;
        uint32_t tid;
        const uint8_t *row;
        size_t len;
        if (weft_cosmictron_change(cosm, i, &op, &tid, &row, &len) == 0)
            row_event(res, st->schema, tid, op, row, len);
    }
    res->logs_dropped = weft_cosmictron_logs_dropped(cosm);
    for (size_t i = 0, n = weft_cosmictron_log_count(cosm); i < n; i++) {
        char line[WEFT_COSM_MAX_LOG + 16];
        const char *m;
        size_t ml;
        int level;
        if (weft_cosmictron_log(cosm, i, &level, &m, &ml) != 0) continue;
        int k = snprintf(line, sizeof line, "%s: ", weft_cosmictron_level_name(level));
        memcpy(line + k, m, ml);
        node_result_add_log(res, NODE_LOG_NX, line, (size_t)k + ml);
    }
    return verdict;
}

static void cosm_free(void *state)
{
    call_state_t *st = state;
    if (!st) return;
    weft_cosmictron_delete(st->cosm);
    free(st);
}

/* keep: a Cosmictron call's instance is kept for the thread's next call of
 * the module (call.c "Kept instances"): row iterators, the sender, logs and
 * the call's writes live in the binding, new each call, which all its
 * datastore, cosm and console imports point to. */
const node_abi_t node_abi_cosmictron = {"cosmictron", cosm_bind, cosm_invoke, cosm_finish,
                                        cosm_free, 1, NULL, 0};

/* ---- replicated tables ------------------------------------------------------ */

typedef struct {
    const weft_schema_t *schema;
    weft_call_result_t *res;
} applied_t;

static void applied_change(void *user, uint32_t tid, int op, const uint8_t *row, size_t len)
{
    applied_t *a = user;
    if (weft_schema_table_public(a->schema, tid)) row_event(a->res, a->schema, tid, op, row, len);
}

int node_cosm_applied(weft_node_t *node, weft_txn_t *txn, const char *ctx, const uint8_t *key,
                      size_t key_len, weft_call_result_t *res)
{
    static const char pre[] = WEFT_TABLES_REPL_PREFIX;
    char app_id[WEFT_APP_ID_LEN + 1], msg[256];
    const weft_schema_t *schema;
    /* most ops are of other keys: they cost this compare */
    if (key && (key_len < sizeof pre - 1 || memcmp(key, pre, sizeof pre - 1) != 0)) return 0;
    if (node_context_app(txn, ctx, app_id) != 0) return 0;
    node_app_t *app = node_app_load(node, txn, app_id, msg, sizeof msg);
    if (!app || app->abi != &node_abi_cosmictron ||
        app_schema(node, app, &schema, msg, sizeof msg) != 0)
        return 0;
    applied_t a = {schema, res};
    return weft_tables_repl_apply(schema, txn, (const uint8_t *)ctx, strlen(ctx), key, key_len,
                                  applied_change, &a);
}

/* ---- clients: rows as JSON ----------------------------------------------- */

/* The schema and id of public table `table` of a Cosmictron context, as of
 * txn: 0, WEFT_ENOTFOUND or WEFT_EARG with msg. */
static int open_table(weft_node_t *node, weft_txn_t *txn, const char *context, const char *table,
                      const weft_schema_t **out_schema, uint32_t *out_tid, char *msg,
                      size_t msg_size)
{
    char app_id[WEFT_APP_ID_LEN + 1];
    snprintf(msg, msg_size, "no context '%s'", context);
    int rc = node_context_app(txn, context, app_id);
    if (rc != 0) return rc;
    node_app_t *app = node_app_load(node, txn, app_id, msg, msg_size);
    if (!app) return WEFT_ENOTFOUND;
    if (app->abi != &node_abi_cosmictron) {
        snprintf(msg, msg_size, "context '%s' is not of a Cosmictron app: it has no tables",
                 context);
        return WEFT_EARG;
    }
    if ((rc = app_schema(node, app, out_schema, msg, msg_size)) != 0) return rc;
    int tid = weft_schema_table_find(*out_schema, table, strlen(table));
    /* a private table is not shown to clients, nor is its existence */
    if (tid < 0 || !weft_schema_table_public(*out_schema, (size_t)tid)) {
        snprintf(msg, msg_size, "no public table '%s' in context '%s'", table, context);
        return WEFT_ENOTFOUND;
    }
    *out_tid = (uint32_t)tid;
    return 0;
}

/* One bound of a range (from, or to when !lower) as its kind and BSATN
 * key (weft_tables_index_scan's encoding) into out: JSON text of the key's
 * value for a key of one column, an array of the columns' values for
 * several; NULL for an open side. 0, or -1 with msg. */
static int json_bound(const weft_schema_t *s, uint32_t tid, int iid, const char *json, int lower,
                      weft_bsatn_buf_t *out, char *msg, size_t size)
{
    const char *side = lower ? "from" : "to", *col;
    const uint8_t *type;
    size_t tl, n = weft_schema_key_column(s, tid, iid, 0, &col, &type, &tl);
    char where[WEFT_TABLES_MAX_NAME + 32];
    json_error_t je;
    if (!json) {
        weft_bsatn_put_u8(out, WEFT_BOUND_UNBOUNDED);
        return 0;
    }
    json_t *v = json_loads(json, JSON_DECODE_ANY, &je);
    if (!v) {
        snprintf(msg, size, "%s: not a JSON value (strings go in double quotes): %s", side,
                 je.text);
        return -1;
    }
    int rc = 0;
    weft_bsatn_put_u8(out, lower ? WEFT_BOUND_INCLUDED : WEFT_BOUND_EXCLUDED);
    if (n > 1 && !(json_is_array(v) && json_array_size(v) == n)) {
        snprintf(msg, size, "%s: the index has %zu columns: an array of %zu values", side, n, n);
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        weft_bsatn_reader_t t;
        weft_schema_key_column(s, tid, iid, i, &col, &type, &tl);
        weft_bsatn_reader_init(&t, type, tl);
        snprintf(where, sizeof where, "%s (column %s)", side, col);
        rc = json_to_bsatn(n > 1 ? json_array_get(v, i) : v, &t, out, where, msg, size, 1);
    }
    json_decref(v);
    return rc;
}

/* A range over index `index` of table tid (NULL: the primary key) from
 * the JSON bounds from and to (either NULL: open) as *out_iid and the
 * encoded bounds (into range): 0, or WEFT_EARG with msg. */
static int json_range(const weft_schema_t *schema, uint32_t tid, const char *table,
                      const char *index, const char *from, const char *to, int *out_iid,
                      weft_bsatn_buf_t *range, char *msg, size_t msg_size)
{
    const char *col;
    const uint8_t *type;
    size_t tl;
    int iid = index ? weft_schema_index_find(schema, tid, index, strlen(index)) : -1;
    *out_iid = iid;
    if (index && iid < 0) {
        snprintf(msg, msg_size, "no index '%s' on table '%s'", index, table);
        return WEFT_EARG;
    }
    if (!index && weft_schema_key_column(schema, tid, -1, 0, &col, &type, &tl) == 0) {
        snprintf(msg, msg_size, "table '%s' has no primary key: name an index", table);
        return WEFT_EARG;
    }
    if (json_bound(schema, tid, iid, from, 1, range, msg, msg_size) != 0 ||
        json_bound(schema, tid, iid, to, 0, range, msg, msg_size) != 0)
        return WEFT_EARG;
    return range->err;
}

/* ---- subscriptions of a key range ---------------------------------------- */

struct weft_node_table_filter {
    const weft_schema_t *schema; /* lives until exit (the schema cache) */
    uint32_t tid;
    int iid;
    weft_bsatn_buf_t range;
};

int weft_node_table_filter_new(weft_node_t *node, const char *context, const char *table,
                               const char *index, const char *from, const char *to,
                               weft_node_table_filter_t **out, char *msg, size_t msg_size)
{
    weft_txn_t *txn;
    *out = NULL;
    snprintf(msg, msg_size, "no context '%s'", context);
    if (!node->db) return WEFT_ENOTFOUND;
    weft_node_table_filter_t *f = calloc(1, sizeof *f);
    if (!f) return WEFT_ENOMEM;
    weft_bsatn_buf_init(&f->range);
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc == 0) {
        rc = open_table(node, txn, context, table, &f->schema, &f->tid, msg, msg_size);
        weft_txn_abort(txn);
    }
    if (rc == 0)
        rc = json_range(f->schema, f->tid, table, index, from, to, &f->iid, &f->range, msg,
                        msg_size);
    if (rc != 0) {
        weft_node_table_filter_delete(f);
        return rc;
    }
    *out = f;
    return 0;
}

void weft_node_table_filter_delete(weft_node_table_filter_t *f)
{
    if (!f) return;
    weft_bsatn_buf_fini(&f->range);
    free(f);
}

int weft_node_table_filter_match(const weft_node_table_filter_t *f, const uint8_t *row_json,
                                 size_t len)
{
    /* a change's payload is the row as JSON (row_event): back to BSATN */
    size_t tl;
    const uint8_t *type = weft_schema_row_type(f->schema, f->tid, &tl);
    weft_bsatn_reader_t t;
    weft_bsatn_buf_t row;
    char msg[128];
    json_error_t je;
    json_t *v = json_loadb((const char *)row_json, len, JSON_DECODE_ANY, &je);
    int in = 0;
    weft_bsatn_buf_init(&row);
    weft_bsatn_reader_init(&t, type, tl);
    if (v && json_to_bsatn(v, &t, &row, "row", msg, sizeof msg, 1) == 0 && !row.err)
        in = weft_tables_range_contains(f->schema, f->tid, f->iid, f->range.p, f->range.len,
                                        row.p, row.len) == 1;
    json_decref(v);
    weft_bsatn_buf_fini(&row);
    return in;
}

int weft_node_table_page(weft_node_t *node, const char *context, const char *table,
                         const char *index, const char *from, const char *to,
                         const uint8_t *after, size_t after_len, size_t limit, char **out_json,
                         uint8_t **out_next, size_t *out_next_len, char *msg, size_t msg_size)
{
    const weft_schema_t *schema;
    weft_bsatn_buf_t rows, next, range;
    weft_txn_t *txn;
    uint32_t tid;
    *out_json = NULL;
    *out_next = NULL;
    *out_next_len = 0;
    snprintf(msg, msg_size, "no context '%s'", context);
    if (!node->db) return WEFT_ENOTFOUND;
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0) return rc;
    weft_bsatn_buf_init(&rows);
    weft_bsatn_buf_init(&next);
    weft_bsatn_buf_init(&range);
    if ((rc = open_table(node, txn, context, table, &schema, &tid, msg, msg_size)) != 0) goto done;
    if (!index && !from && !to) {
        rc = weft_tables_read_json(schema, txn, (const uint8_t *)context, strlen(context), tid,
                                   after, after_len, limit, &rows, &next);
    } else {
        int iid;
        if ((rc = json_range(schema, tid, table, index, from, to, &iid, &range, msg,
                             msg_size)) != 0)
            goto done;
        rc = weft_tables_range_json(schema, txn, (const uint8_t *)context, strlen(context), tid,
                                    iid, range.p, range.len, after, after_len, limit, &rows,
                                    &next);
    }
    if (rc > 0) { /* a cursor no key can follow, or one before the range */
        snprintf(msg, msg_size, "bad cursor");
        rc = WEFT_EARG;
    }
    if (rc != 0) goto done;
    weft_bsatn_put_u8(&rows, 0);
    if ((rc = rows.err) != 0) goto done;
    *out_json = (char *)rows.p;
    rows.p = NULL;
    if (next.len) {
        *out_next = next.p;
        *out_next_len = next.len;
        next.p = NULL;
    }
done:
    weft_bsatn_buf_fini(&rows);
    weft_bsatn_buf_fini(&next);
    weft_bsatn_buf_fini(&range);
    weft_txn_abort(txn);
    return rc;
}

int weft_node_table_snapshot(weft_node_t *node, const char *context, const char *table,
                             const weft_node_table_filter_t *range,
                             int (*fn)(void *user, const char *row_json, size_t len), void *user,
                             uint64_t *out_last_seq, char *msg, size_t msg_size)
{
    const weft_schema_t *schema;
    weft_tables_t *t = NULL;
    weft_bsatn_buf_t json;
    weft_txn_t *txn;
    uint32_t tid;
    uint64_t h, next_seq;
    *out_last_seq = 0;
    snprintf(msg, msg_size, "no context '%s'", context);
    if (!node->db) return WEFT_ENOTFOUND;
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0) return rc;
    weft_bsatn_buf_init(&json);
    if ((rc = open_table(node, txn, context, table, &schema, &tid, msg, msg_size)) != 0 ||
        (rc = node_events_next(txn, context, &next_seq)) != 0 ||
        (rc = weft_tables_new(schema, (const uint8_t *)context, strlen(context), &t)) != 0)
        goto done;
    /* the rows and the event number come from one snapshot: the events
     * after it are exactly the changes the rows do not show yet */
    *out_last_seq = next_seq - 1;
    weft_tables_begin_call(t, txn, NULL, 0);
    rc = range ? weft_tables_range_scan(t, tid, range->iid, range->range.p, range->range.len, &h)
               : weft_tables_scan(t, tid, &h);
    if (rc != 0) goto done;
    size_t tl;
    const uint8_t *type = weft_schema_row_type(schema, tid, &tl), *row;
    size_t len;
    while ((rc = weft_tables_next(t, h, WEFT_TABLES_MAX_ROW, &row, &len)) == 0) {
        json.len = 0;
        if ((rc = weft_bsatn_json(type, tl, row, len, &json, NULL)) != 0) break;
        if (fn(user, (const char *)json.p, json.len) != 0) break;
    }
    if (rc == WEFT_TABLE_ENOTFOUND) rc = 0;
    if (rc > 0) rc = WEFT_EDAMAGED;
done:
    weft_tables_delete(t);
    weft_bsatn_buf_fini(&json);
    weft_txn_abort(txn);
    return rc;
}

/* ---- the scheduler --------------------------------------------------------- */

/* Looks through every context's schedules and runs the due ones as calls
 * through the node (weft_node_call: a worker, the writer, one transaction
 * each), oldest handle first, then sleeps until the earliest schedule
 * left is due. A committed call that stored a schedule wakes it
 * (node_cosm_committed), and so does close; an idle node's scheduler
 * does not run at all. The call deletes its schedule itself (cosm_bind),
 * so a run commits exactly once; a run that fails (a trap, a nonzero
 * result) has its schedule dropped by a write of its own, so it never
 * repeats. Schedules live in the data directory, so those due while the
 * node was down run at its start. Times are Unix microseconds (the
 * guest's timestamp), the sleep is on the monotonic clock: a sleep toward
 * a schedule is cut at COSM_SCHED_MAX_SLEEP_MS, so a step of the system
 * clock delays a run by at most that. Cost: a read transaction per
 * Cosmictron context a look, O(contexts + schedules); a look when a
 * schedule is due, when a call stored one, and every
 * COSM_SCHED_RETRY_MS while a due one could not be run (the node refused
 * the call, or memory ran out). */
#define COSM_SCHED_RETRY_MS 100
#define COSM_SCHED_MAX_SLEEP_MS 60000
#define COSM_SCHED_BATCH 64

typedef struct cosm_sched {
    weft_node_t *node;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    uint64_t wakes; /* node_cosm_committed's: a look that began before one is stale */
} cosm_sched_t;

typedef struct {
    char context[WEFT_CONTEXT_MAX + 1];
    uint64_t handle;
    char *reducer;
    uint8_t *args;
    size_t args_len;
} due_t;

typedef struct {
    weft_context_info_t *v;
    size_t n, cap;
} ctx_list_t;

static int list_one(void *user, const weft_context_info_t *ctx)
{
    ctx_list_t *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        weft_context_info_t *v = realloc(l->v, cap * sizeof *v);
        if (!v) return 1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *ctx;
    return 0;
}

typedef struct {
    const char *context;
    int64_t now;
    int64_t next; /* the earliest schedule not yet due; INT64_MAX: none */
    int again;    /* due schedules past the batch were left: look again at once */
    int retry;    /* one could not be taken or run: look again after a pause */
    due_t *v;
    size_t n, cap;
} due_list_t;

static int due_one(void *user, uint64_t handle, int64_t at_us, const char *reducer,
                   size_t reducer_len, const uint8_t *args, size_t args_len)
{
    due_list_t *d = user;
    if (at_us > d->now) {
        if (at_us < d->next) d->next = at_us;
        return 0;
    }
    if (d->n == d->cap) {
        if (d->cap == COSM_SCHED_BATCH) {
            d->again = 1; /* the rest at the next look */
            return 1;
        }
        size_t cap = d->cap ? d->cap * 2 : 8;
        due_t *v = realloc(d->v, cap * sizeof *v);
        if (!v) {
            d->retry = 1;
            return 1;
        }
        d->v = v;
        d->cap = cap;
    }
    due_t *e = &d->v[d->n];
    snprintf(e->context, sizeof e->context, "%s", d->context);
    e->handle = handle;
    e->reducer = strndup(reducer, reducer_len);
    e->args = malloc(args_len ? args_len : 1);
    if (!e->reducer || !e->args) {
        free(e->reducer);
        free(e->args);
        d->retry = 1;
        return 1;
    }
    if (args_len) memcpy(e->args, args, args_len);
    e->args_len = args_len;
    d->n++;
    return 0;
}

static int drop_schedule(weft_node_t *node, weft_txn_t *txn, void *arg)
{
    const due_t *e = arg;
    uint8_t key[9];
    key[0] = WEFT_COSM_SCHEDULE_KIND;
    node_put_u64be(key + 1, e->handle);
    (void)node;
    return weft_txn_del(txn, WEFT_SPACE_TABLES, (const uint8_t *)e->context, strlen(e->context),
                        key, 9);
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One look: finds the due schedules of every Cosmictron context and runs
 * them. Returns when to look next, in Unix microseconds: the earliest
 * schedule left (INT64_MAX: none), or sooner when a due one could not be
 * run (0: at once, the rest of a full batch). */
static int64_t sched_look(cosm_sched_t *s)
{
    weft_node_t *node = s->node;
    ctx_list_t l = {0};
    due_list_t d = {0};
    char msg[256];
    d.next = INT64_MAX;
    __atomic_fetch_add(&node->cosm_looks, 1, __ATOMIC_RELAXED);
    if (weft_node_context_list(node, list_one, &l) != 0) d.retry = 1;
    d.now = now_us();
    for (size_t i = 0; i < l.n && !d.retry; i++) {
        weft_txn_t *txn;
        if (weft_txn_begin(node->db, WEFT_TXN_READ, &txn) != 0) {
            d.retry = 1;
            break;
        }
        node_app_t *app = node_app_load(node, txn, l.v[i].app, msg, sizeof msg);
        if (app && app->abi == &node_abi_cosmictron) {
            d.context = l.v[i].name;
            if (weft_cosmictron_schedules(txn, (const uint8_t *)l.v[i].name,
                                          strlen(l.v[i].name), due_one, &d) != 0)
                d.retry = 1;
        }
        weft_txn_abort(txn);
    }
    for (size_t i = 0; i < d.n; i++) {
        pthread_mutex_lock(&s->mu);
        int stop = s->stop;
        pthread_mutex_unlock(&s->mu);
        if (stop) break;
        due_t *e = &d.v[i];
        weft_call_req_t req;
        weft_call_result_t *res = NULL;
        memset(&req, 0, sizeof req);
        req.context = e->context;
        req.function = e->reducer;
        req.input = e->args;
        req.input_len = e->args_len;
        req.schedule = e->handle;
        int rc = weft_node_call(node, &req, &res);
        if (rc == 0 && res && weft_call_result_outcome(res) != WEFT_CALL_OK)
            node_write_fn(node, drop_schedule, e); /* failed: never again */
        else if (rc != 0)
            d.retry = 1; /* not run: still due */
        weft_call_result_delete(res);
    }
    for (size_t i = 0; i < d.n; i++) {
        free(d.v[i].reducer);
        free(d.v[i].args);
    }
    free(d.v);
    free(l.v);
    if (d.retry) {
        int64_t retry = now_us() + COSM_SCHED_RETRY_MS * 1000;
        return retry < d.next ? retry : d.next;
    }
    return d.again ? 0 : d.next;
}

/* The monotonic deadline of a sleep until Unix time `at_us`, cut at
 * COSM_SCHED_MAX_SLEEP_MS from now; rounded up to the microsecond, so
 * the look it ends finds the schedule due. */
static struct timespec sleep_until(int64_t at_us)
{
    struct timespec ts;
    int64_t wait = at_us - now_us();
    if (wait > COSM_SCHED_MAX_SLEEP_MS * 1000ll) wait = COSM_SCHED_MAX_SLEEP_MS * 1000ll;
    if (wait < 0) wait = 0;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)wait * 1000u + 999u;
    ts.tv_sec += (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    return ts;
}

static void *sched_main(void *arg)
{
    cosm_sched_t *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        uint64_t wakes = s->wakes;
        pthread_mutex_unlock(&s->mu);
        int64_t next = sched_look(s);
        pthread_mutex_lock(&s->mu);
        if (next == 0) continue;
        /* a schedule committed during the look may not have been seen:
         * then wakes moved, and the loop looks again */
        if (next == INT64_MAX) {
            while (!s->stop && s->wakes == wakes) pthread_cond_wait(&s->cv, &s->mu);
        } else {
            struct timespec ts = sleep_until(next);
            while (!s->stop && s->wakes == wakes &&
                   pthread_cond_timedwait(&s->cv, &s->mu, &ts) == 0)
                ;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int node_cosm_open(weft_node_t *node)
{
    cosm_sched_t *s = calloc(1, sizeof *s);
    if (!s) return WEFT_ENOMEM;
    s->node = node;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&s->thread, NULL, sched_main, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
        return WEFT_ENOMEM;
    }
    /* the writer reads it after each commit, and may be committing now
     * (sync opens first) */
    __atomic_store_n(&node->cosm_sched, s, __ATOMIC_RELEASE);
    return 0;
}

void node_cosm_committed(weft_node_t *node, node_job_t **jobs, size_t n)
{
    cosm_sched_t *s = __atomic_load_n(&node->cosm_sched, __ATOMIC_ACQUIRE);
    if (!s) return; /* once stopped, a wake changes nothing */
    for (size_t i = 0; i < n; i++) {
        node_job_t *j = jobs[i];
        if (j && j->kind == JOB_CALL && j->res->outcome == WEFT_CALL_OK && j->res->scheduled) {
            pthread_mutex_lock(&s->mu);
            s->wakes++;
            pthread_cond_signal(&s->cv);
            pthread_mutex_unlock(&s->mu);
            return; /* one look finds them all */
        }
    }
}

void node_cosm_close(weft_node_t *node)
{
    cosm_sched_t *s = node->cosm_sched;
    if (!s || s->stop) return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL); /* a call it runs finishes first */
}

void node_cosm_free(weft_node_t *node)
{
    cosm_sched_t *s = node->cosm_sched;
    if (!s) return;
    node_cosm_close(node);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
    node->cosm_sched = NULL;
}

/* ---- lifecycle reducers ------------------------------------------------- */

static void lifecycle_done(void *user, weft_call_result_t *res)
{
    (void)user;
    weft_call_result_delete(res);
}

int weft_node_cosm_lifecycle(weft_node_t *node, const char *context, const char *reducer,
                             const uint8_t *caller, int wait)
{
    char app_id[WEFT_APP_ID_LEN + 1], msg[256];
    const weft_schema_t *schema = NULL;
    weft_txn_t *txn;
    if (!node->db || weft_txn_begin(node->db, WEFT_TXN_READ, &txn) != 0) return WEFT_ENOTFOUND;
    node_app_t *app = NULL;
    if (node_context_app(txn, context, app_id) == 0)
        app = node_app_load(node, txn, app_id, msg, sizeof msg);
    weft_txn_abort(txn);
    if (!app || app->abi != &node_abi_cosmictron ||
        app_schema(node, app, &schema, msg, sizeof msg) != 0)
        return WEFT_ENOTFOUND;
    int r = weft_schema_reducer_find(schema, reducer, strlen(reducer));
    size_t tl;
    if (r < 0 || weft_schema_reducer_args(schema, (size_t)r, &tl)) return WEFT_ENOTFOUND;
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = context;
    req.function = reducer;
    req.caller = caller;
    if (!wait) return weft_node_call_async(node, &req, lifecycle_done, NULL);
    weft_call_result_t *res = NULL;
    int rc = weft_node_call(node, &req, &res);
    if (rc == 0 && weft_call_result_outcome(res) != WEFT_CALL_OK) rc = WEFT_ETRAP;
    weft_call_result_delete(res);
    return rc;
}
