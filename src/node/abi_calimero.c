/*
 * abi_calimero.c — the Calimero adapter (abi.h): a method is an export
 * with no parameters and no results, its input reaches the guest through
 * `input` and its output leaves through `value_return`. A Calimero
 * context (weft/calimero.h) is bound to the call's transaction, with the
 * caller's verified key (or the node's) as the executor. An `Ok` return
 * is the call's output; an `Err` return fails the call as EXIT with
 * status 1: its writes roll back and its bytes are the output
 * (docs/calimero.md). Logs and, after a commit, events (name = kind) go
 * into the result like nx's; a storage error aborts the call, or runs it
 * again when the map only grew. The xcalls of a call that commits are
 * queued as calls of their own (weft_node_call_async) once it is over.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "weft/calimero.h"
#include "weft/error.h"
#include "weft/sync.h"

/* ---- xcall ------------------------------------------------------------------ */

/* The context whose id (SHA-256 of its name, docs/calimero.md) is `id`:
 * a scan of the context records ("ctx/" NAME in the meta space, as
 * contexts.c keeps them). O(contexts), once per xcall. */
typedef struct {
    const uint8_t *id;
    char name[WEFT_CONTEXT_MAX + 1];
    int found;
} find_ctx_t;

static int find_ctx(void *user, const uint8_t *key, size_t klen, const uint8_t *v, size_t vlen)
{
    find_ctx_t *f = user;
    uint8_t h[32];
    (void)v;
    (void)vlen;
    if (klen <= 4 || klen - 4 > WEFT_CONTEXT_MAX)
        return 0;
    crypto_hash_sha256(h, key + 4, klen - 4);
    if (memcmp(h, f->id, 32) != 0)
        return 0;
    memcpy(f->name, key + 4, klen - 4);
    f->name[klen - 4] = '\0';
    f->found = 1;
    return 1;
}

typedef struct {
    weft_node_t *node;
    char *what; /* "xcall CONTEXT.FUNCTION", for the log line */
} xcall_job_t;

/* Counts an xcall run, or not run, for /metrics (weft_node_stats). */
static void count_xcall(weft_node_t *node, int failed)
{
    pthread_mutex_lock(&node->mu);
    node->stats.xcalls++;
    node->stats.xcalls_failed += failed != 0;
    pthread_mutex_unlock(&node->mu);
}

/* An xcall's end: its failure is logged (the node's stderr) and counted. */
static void xcall_done(void *user, weft_call_result_t *res)
{
    xcall_job_t *x = user;
    int failed = weft_call_result_outcome(res) != WEFT_CALL_OK;
    if (failed)
        fprintf(stderr, "weft: %s failed: %s\n", x->what, weft_call_result_message(res));
    count_xcall(x->node, failed);
    free(x->what);
    free(x);
    weft_call_result_delete(res);
}

/* Submits `function` of context `name` with input p[0..len) as a call of
 * its own, by executor `by`; `what` (malloc'ed, taken; "xcall C.F") names
 * it in the log line of a failure, to submit or to run. */
static void submit_call(node_call_t *c, const char *name, const char *function,
                        const uint8_t *p, size_t len, const uint8_t *by, char *what)
{
    xcall_job_t *x = calloc(1, sizeof *x);
    const char *why = !x ? "out of memory"
                      : c->node->flags & WEFT_NODE_INLINE ? "a one-call node runs no other call"
                                                          : NULL;
    if (why) {
        fprintf(stderr, "weft: %s not run: %s\n", what, why);
        count_xcall(c->node, 1);
        free(what);
        free(x);
        return;
    }
    x->node = c->node;
    x->what = what;
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = name;
    req.function = function;
    req.input = p;
    req.input_len = len;
    req.caller = by;
    int rc = weft_node_call_async(c->node, &req, xcall_done, x);
    if (rc != 0) {
        fprintf(stderr, "weft: %s not run: %s\n", what, weft_strerror(rc));
        count_xcall(c->node, 1);
        free(x->what);
        free(x);
    }
}

/* Creates the committed call's new contexts in a nested transaction of
 * its own (a failure is logged and leaves the call as it is), named by
 * their alias or, without one, by 32 random hex digits; then runs the
 * app's `init` with the arguments, when it has one, as a call of its own. */
static void run_creates(node_call_t *c, weft_calimero_t *cal)
{
    for (size_t i = 0, n = weft_calimero_create_count(cal); i < n; i++) {
        const uint8_t *app_id, *args;
        const char *alias;
        size_t argl, aliasl;
        char name[WEFT_CONTEXT_MAX + 1], app_hex[WEFT_APP_ID_LEN + 1], msg[256];
        if (weft_calimero_create(cal, i, &app_id, &args, &argl, &alias, &aliasl) != 0)
            continue;
        if (alias) {
            snprintf(name, sizeof name, "%s", alias);
        } else {
            uint8_t r[16];
            randombytes_buf(r, sizeof r);
            sodium_bin2hex(name, 33, r, sizeof r);
        }
        sodium_bin2hex(app_hex, sizeof app_hex, app_id, 32);
        weft_txn_t *t;
        int rc = weft_txn_begin_nested(c->txn, &t);
        if (rc == 0) {
            rc = node_context_create_in(c->node, t, name, app_hex);
            if (rc == 0)
                rc = weft_txn_commit(t);
            else
                weft_txn_abort(t);
        }
        if (rc != 0) {
            fprintf(stderr, "weft: context_create of '%s' (app %s) failed: %s\n", name, app_hex,
                    rc == WEFT_ENOTFOUND ? "no such app"
                    : rc == WEFT_ELIMIT  ? "the name is taken"
                                         : weft_strerror(rc));
            continue;
        }
        node_app_t *app = node_app_load(c->node, c->txn, app_hex, msg, sizeof msg);
        weft_externdesc_t d;
        if (!app || !app->module || weft_module_export_find(app->module, "init", 4, &d) != 0)
            continue;
        char *what = malloc(strlen(name) + 12);
        if (what) {
            sprintf(what, "xcall %s.init", name);
            submit_call(c, name, "init", args, argl, weft_calimero_context_id(cal), what);
        }
    }
}

/* Deletes the contexts the committed call asked to, each in a nested
 * transaction (a failure is logged and the call stands); the calling
 * context is never deleted under its own call (logged). Subscribers are
 * told at once, before the batch's durable commit (should that fail, they
 * were told early). Deletion is this node's: it does not replicate. */
static void run_deletes(node_call_t *c, weft_calimero_t *cal)
{
    for (size_t i = 0, n = weft_calimero_delete_count(cal); i < n; i++) {
        const uint8_t *id = weft_calimero_delete_id(cal, i);
        find_ctx_t f = {.id = id};
        weft_txn_scan(c->txn, WEFT_SPACE_META, NULL, 0, (const uint8_t *)"ctx/", 4, NULL, 0,
                      find_ctx, &f);
        char hex[65];
        sodium_bin2hex(hex, sizeof hex, id, 32);
        const char *why = !f.found ? "no context has that id"
                          : strcmp(f.name, c->req->context) == 0
                              ? "a call cannot delete its own context"
                              : NULL;
        weft_txn_t *t = NULL;
        int rc = 0;
        if (!why && (rc = weft_txn_begin_nested(c->txn, &t)) == 0) {
            rc = node_context_delete_in(c->node, t, f.name);
            if (rc == 0)
                rc = weft_txn_commit(t);
            else
                weft_txn_abort(t);
        }
        if (!why && rc)
            why = weft_strerror(rc);
        if (why) {
            fprintf(stderr, "weft: context_delete of %s not done: %s\n",
                    f.found ? f.name : hex, why);
            continue;
        }
        node_subs_context_deleted(c->node, f.name);
    }
}

/* Announces the committed call's blobs (blob_announce_to_context) to the
 * contexts of those ids, each in a nested transaction: the blob's record
 * in the context's WEFT_SYNC_BLOBS_KEY, an op of this node, so its member
 * nodes fetch the blob (docs/sync.md "Blobs between nodes"). A failure is
 * logged and the call stands. The calling context's op goes out with the
 * call's commit; another context's is pushed when sync is told below, or
 * at the next anti-entropy round when that comes before the commit. */
static void run_announces(node_call_t *c, weft_calimero_t *cal)
{
    for (size_t i = 0, n = weft_calimero_announce_count(cal); i < n; i++) {
        const uint8_t *blob, *id;
        if (weft_calimero_announce(cal, i, &blob, &id) != 0)
            continue;
        find_ctx_t f = {.id = id};
        weft_txn_scan(c->txn, WEFT_SPACE_META, NULL, 0, (const uint8_t *)"ctx/", 4, NULL, 0,
                      find_ctx, &f);
        char hex[65], bhex[65];
        sodium_bin2hex(hex, sizeof hex, id, 32);
        sodium_bin2hex(bhex, sizeof bhex, blob, 32);
        const char *why = !f.found           ? "no context has that id"
                          : !c->node->has_id ? "this node has no id to write it with"
                                             : NULL;
        weft_txn_t *t = NULL;
        int rc = 0;
        if (!why && (rc = weft_txn_begin_nested(c->txn, &t)) == 0) {
            rc = weft_sync_blob_announce(t, c->node->id, node_unix_ms(),
                                         (const uint8_t *)f.name, strlen(f.name), blob);
            if (rc == 0)
                rc = weft_txn_commit(t);
            else
                weft_txn_abort(t);
        }
        if (!why && rc)
            why = rc == WEFT_ELIMIT ? "a blob announced is at most 4 GiB" : weft_strerror(rc);
        if (why) {
            fprintf(stderr, "weft: blob %.16s not announced to %s: %s\n", bhex,
                    f.found ? f.name : hex, why);
            continue;
        }
        if (strcmp(f.name, c->req->context) != 0)
            node_sync_changed(c->node, f.name);
    }
}

/* Queues the committed call's xcalls, by the calling context's id as the
 * executor. A one-call node (weft run) has no queue to run them later:
 * they are logged as not run. */
static void run_xcalls(node_call_t *c, weft_calimero_t *cal)
{
    for (size_t i = 0, n = weft_calimero_xcall_count(cal); i < n; i++) {
        const uint8_t *id, *params;
        const char *fn;
        size_t fl, pl;
        if (weft_calimero_xcall(cal, i, &id, &fn, &fl, &params, &pl) != 0)
            continue;
        find_ctx_t f = {.id = id};
        weft_txn_scan(c->txn, WEFT_SPACE_META, NULL, 0, (const uint8_t *)"ctx/", 4, NULL, 0,
                      find_ctx, &f);
        size_t wl = 6 + (f.found ? strlen(f.name) : 64) + 1 + fl + 1;
        char *what = malloc(wl);
        if (!what)
            continue;
        if (f.found) {
            snprintf(what, wl, "xcall %s.%s", f.name, fn);
            submit_call(c, f.name, fn, params, pl, weft_calimero_context_id(cal), what);
        } else {
            char hex[65];
            sodium_bin2hex(hex, sizeof hex, id, 32);
            fprintf(stderr, "weft: xcall %s.%s not run: no context has that id\n", hex, fn);
            count_xcall(c->node, 1);
            free(what);
        }
    }
}

/* context_resolve_alias: an alias is a context's name. */
static int context_exists(void *user, weft_txn_t *txn, const char *name)
{
    char app[WEFT_APP_ID_LEN + 1];
    (void)user;
    return txn && node_context_app(txn, name, app) == 0;
}

/* A handler call (weft_call_req_t.handler_seq) takes its event in its own
 * transaction: this node's mark of the origin moves to it, so the handler
 * runs once when it commits, and not at all when it ran before. */
static int claim_handler(node_call_t *c)
{
    uint64_t mark, seq = c->req->handler_seq;
    int rc = c->txn ? node_handler_mark(c->txn, c->req->context, c->req->handler_origin, &mark)
                    : WEFT_EARG;
    if (rc == 0 && mark >= seq)
        rc = WEFT_ELIMIT;
    else if (rc == 0 && mark + 1 != seq)
        rc = WEFT_EARG;
    if (rc == 0)
        rc = node_handler_mark_set(c->txn, c->req->context, c->req->handler_origin, seq);
    if (rc != 0)
        node_result_fail(c->res, WEFT_CALL_ERROR, "handler of event %llu: %s",
                         (unsigned long long)seq,
                         rc == WEFT_ELIMIT ? "handled already"
                         : rc == WEFT_EARG ? "not the next event of its origin (or a view)"
                                           : weft_strerror(rc));
    return rc;
}

/* The committed call's artifact (commit) becomes replicated state of the
 * context (handlers.c), for the other members to run the app's sync export
 * with it: only when the app has that export (its opt-in), the artifact is
 * not empty, and the call is not itself applying a peer's artifact (it
 * would come back). Before the events: a member applies a call's artifact
 * before it runs the handlers of the call's events, as the real node does. */
static void emit_artifact(node_call_t *c, weft_calimero_t *cal)
{
    const uint8_t *root, *art;
    size_t al;
    weft_externdesc_t d;
    if (!weft_calimero_commit(cal, &root, &art, &al) || al == 0 || c->req->delta_as_of ||
        !c->app || !c->app->module ||
        weft_module_export_find(c->app->module, NODE_SYNC_EXPORT, sizeof NODE_SYNC_EXPORT - 1,
                                &d) != 0)
        return;
    weft_txn_t *t;
    int rc = weft_txn_begin_nested(c->txn, &t);
    if (rc == 0) {
        rc = node_handler_artifact(c->node, t, c->req->context, art, al);
        if (rc == 0)
            rc = weft_txn_commit(t);
        else
            weft_txn_abort(t);
    }
    if (rc != 0)
        fprintf(stderr, "weft: the artifact (%zu bytes) of a call of %s.%s will not reach the "
                "other members: %s\n", al, c->req->context, c->function ? c->function : "?",
                rc == WEFT_ELIMIT ? "over the 1 MiB of one op"
                : rc == WEFT_EARG ? "this node has no id"
                                  : weft_strerror(rc));
}

/* The committed call's events with a handler become replicated state of
 * the context (handlers.c), for the other members to run the handler. */
static void emit_handlers(node_call_t *c, weft_calimero_t *cal)
{
    for (size_t i = 0, n = weft_calimero_event_count(cal); i < n; i++) {
        const char *kind, *handler;
        const uint8_t *data;
        size_t kl, dl, hl = 0;
        if (weft_calimero_event(cal, i, &kind, &kl, &data, &dl, &handler, &hl) != 0 || !hl)
            continue;
        weft_txn_t *t;
        int rc = weft_txn_begin_nested(c->txn, &t);
        if (rc == 0) {
            rc = node_handler_emit(c->node, t, c->req->context, handler, hl, kind, kl, data, dl);
            if (rc == 0)
                rc = weft_txn_commit(t);
            else
                weft_txn_abort(t);
        }
        if (rc != 0)
            fprintf(stderr, "weft: event %.*s of %s: its handler %.*s will not run on the other "
                    "members: %s\n", (int)kl, kind, c->req->context, (int)hl, handler,
                    rc == WEFT_EARG ? "this node has no id" : weft_strerror(rc));
    }
}

/* ---- governance approvals that pass once merged ------------------------------ */

typedef struct {
    const char *ctx;
    int applied;
} settle_job_t;

/* A Calimero binding of ctx on txn, as this node (no guest): for settling. */
static weft_calimero_t *settle_bind(weft_node_t *node, weft_txn_t *txn, const char *ctx,
                                    int view)
{
    weft_calimero_config_t cc;
    weft_calimero_t *cal;
    memset(&cc, 0, sizeof cc);
    cc.db = node->db;
    cc.context = ctx;
    cc.node_id = node->id;
    cc.node_id_len = sizeof node->id;
    if (weft_calimero_new(&cc, &cal) != 0)
        return NULL;
    weft_calimero_call_t call = {.view = view};
    weft_calimero_begin_call(cal, txn, &call);
    return cal;
}

static int settle_fn(weft_node_t *node, weft_txn_t *txn, void *arg)
{
    settle_job_t *j = arg;
    weft_calimero_t *cal = settle_bind(node, txn, j->ctx, 0);
    if (!cal)
        return WEFT_ENOMEM;
    int n = weft_calimero_gov_settle(cal, 1);
    weft_calimero_end_call(cal);
    int rc = n < 0 ? n : weft_calimero_call_error(cal);
    weft_calimero_delete(cal);
    j->applied = n > 0 ? n : 0;
    return rc;
}

void node_calimero_settle(weft_node_t *node, const char *ctx)
{
    weft_txn_t *txn;
    if (!node->has_id || weft_txn_begin(node->db, WEFT_TXN_READ, &txn) != 0)
        return;
    weft_calimero_t *cal = settle_bind(node, txn, ctx, 1);
    int due = cal ? weft_calimero_gov_settle(cal, 0) : 0;
    if (cal) {
        weft_calimero_end_call(cal);
        weft_calimero_delete(cal);
    }
    weft_txn_abort(txn);
    if (due <= 0)
        return; /* the common case: nothing to apply, no write taken */
    settle_job_t j = {ctx, 0};
    int rc = node_write_fn(node, settle_fn, &j);
    if (rc != 0)
        fprintf(stderr, "weft: governance of %s: applying %d proposal(s) approved by merged "
                "approvals failed: %s\n", ctx, due, weft_strerror(rc));
    else if (j.applied)
        node_sync_changed(node, ctx);
}

static int cal_bind(node_call_t *c, void **state)
{
    weft_node_t *node = c->node;
    weft_calimero_config_t cc;
    *state = NULL;
    int hrc = c->req->handler_seq ? claim_handler(c) : 0;
    if (hrc != 0)
        return hrc;
    memset(&cc, 0, sizeof cc);
    cc.db = node->db;
    cc.context = c->req->context;
    cc.context_exists = context_exists;
    cc.fetch = node_http_fetch;
    cc.fetch_user = c;
    if (node->has_id) {
        cc.node_id = node->id;
        cc.node_id_len = sizeof node->id;
    }
    weft_calimero_t *cal;
    int rc = weft_calimero_new(&cc, &cal);
    if (rc != 0) {
        node_result_fail(c->res, WEFT_CALL_ERROR, "cannot bind the Calimero ABI: %s",
                         weft_strerror(rc));
        return rc;
    }
    *state = cal;
    c->host_user = cal; /* a kept instance's imports are pointed at it (call.c) */
    /* VMLimits bound the store unless the app or the call set their own (a
     * kept instance's store has them: it was made under the same) */
    weft_limits_config_t l = weft_store_limits(c->store);
    weft_limits_config_t vm = l;
    weft_calimero_store_limits(cal, &vm);
    if (!c->lim->max_memory_pages)
        l.max_memory_pages = vm.max_memory_pages;
    if (!c->lim->max_stack_bytes)
        l.max_stack_bytes = vm.max_stack_bytes;
    if (c->linker && (weft_store_set_limits(c->store, &l) != 0 ||
                      weft_calimero_define_imports(cal, c->linker, c->app->module) != 0)) {
        node_result_fail(c->res, WEFT_CALL_ERROR, "out of memory");
        return WEFT_ENOMEM;
    }
    weft_calimero_call_t call = {.input = c->req->input, .input_len = c->req->input_len,
                                 .executor = c->req->caller, .view = c->view,
                                 .delta_as_of = c->req->delta_as_of};
    weft_calimero_begin_call(cal, c->txn, &call);
    return 0;
}

/* The method: an export of type [] -> [], named by the request. */
static int cal_invoke(node_call_t *c, void *state, weft_instance_t *inst)
{
    weft_extern_t ext;
    (void)state;
    if (!c->function) {
        c->res->error = WEFT_EARG;
        c->what = "a Calimero call names its method";
        return WEFT_EARG;
    }
    if (weft_instance_export(inst, c->function, &ext) != 0 || ext.kind != WEFT_EXTERN_FUNC) {
        c->res->error = WEFT_EARG;
        c->what = "no such method";
        return WEFT_ENOTFOUND;
    }
    const weft_functype_t *ft = weft_func_type(ext.of.func);
    if (weft_functype_nparams(ft) != 0 || weft_functype_nresults(ft) != 0) {
        c->res->error = WEFT_EARG;
        c->what = "a Calimero method takes no parameters and returns nothing";
        return WEFT_EARG;
    }
    c->what = "call failed";
    return weft_func_call(c->store, ext.of.func, NULL, 0, NULL, 0);
}

static int cal_finish(node_call_t *c, void *state, int verdict)
{
    weft_calimero_t *cal = state;
    weft_call_result_t *res = c->res;
    if (!cal)
        return verdict;
    weft_calimero_end_call(cal);
    int err = weft_calimero_call_error(cal);
    if (weft_db_retryable(err))
        return -1;
    if (err && verdict == 1) {
        verdict = 0;
        node_result_fail(res, WEFT_CALL_ERROR, "database error: %s", weft_db_errmsg(c->node->db));
    }
    const uint8_t *out;
    size_t len;
    int kind = weft_calimero_return(cal, &out, &len), give = verdict == 1;
    if (kind == WEFT_CALIMERO_ERR && verdict == 1) {
        verdict = 0;
        res->exit_status = 1;
        node_result_fail(res, WEFT_CALL_EXIT, "the method returned Err (%zu bytes)", len);
    }
    if (kind != WEFT_CALIMERO_NONE && give && (res->output = malloc(len ? len : 1))) {
        if (len)
            memcpy(res->output, out, len);
        res->output_len = len;
    }
    for (size_t i = 0, n = weft_calimero_log_count(cal); i < n; i++) {
        const char *m;
        size_t ml;
        if (weft_calimero_log(cal, i, &m, &ml) == 0)
            node_result_add_log(res, NODE_LOG_NX, m, ml);
    }
    /* commit's root hash reaches the client as the call's last log line
     * (the result has no field of its own for it yet) */
    const uint8_t *root, *art;
    size_t al;
    if (weft_calimero_commit(cal, &root, &art, &al)) {
        char line[128], hex[65];
        sodium_bin2hex(hex, sizeof hex, root, 32);
        int ll = snprintf(line, sizeof line, "calimero commit: root %s, artifact %zu bytes", hex,
                          al);
        node_result_add_log(res, NODE_LOG_NX, line, (size_t)ll);
    }
    for (size_t i = 0, n = verdict == 1 ? weft_calimero_event_count(cal) : 0; i < n; i++) {
        const char *kind_name;
        const uint8_t *data;
        size_t kl, dl;
        if (weft_calimero_event(cal, i, &kind_name, &kl, &data, &dl, NULL, NULL) == 0)
            node_result_add_event(res, kind_name, kl, data, dl);
    }
    if (verdict == 1 && !c->view) {
        emit_artifact(c, cal);
        emit_handlers(c, cal);
        run_creates(c, cal);
        run_deletes(c, cal);
        run_announces(c, cal);
        run_xcalls(c, cal);
    }
    return verdict;
}

static void cal_free(void *state)
{
    if (state)
        weft_calimero_delete(state);
}

/* keep: a Calimero call's instance is kept for the thread's next call of
 * the module (call.c "Kept instances"): registers, storage iterators, logs,
 * events and the call's input live in the binding, new each call, which
 * all its env imports point to (an import of a function weft does not
 * provide points elsewhere: that instance is not kept). */
const node_abi_t node_abi_calimero = {"calimero", cal_bind, cal_invoke, cal_finish, cal_free, 1,
                                      NULL, 1};
