/*
 * replicate.c — the node's side of sync (weft/sync.h, docs/sync.md).
 *
 * The node owns what sync must not know: its writer (sync's batches run
 * as writer jobs of their own, one nested transaction each, committed with
 * the calls of the same batch), apps and context records (a joining node
 * deploys the app and creates the context here) and which contexts a
 * commit touched (every write call's context is handed to sync after the
 * batch is durable; sync looks at the op-log to see whether anything is new).
 *
 * Members are a CRDT ORSet (WEFT_SYNC_MEMBERS_KEY) in each context, so
 * adding one is an op like any other, replicated with the context.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "node_priv.h"
#include "weft/crdt_store.h"
#include "weft/error.h"
#include "weft/identity.h"
#include "weft/sync.h"

/* ---- sync's callbacks ---------------------------------------------------- */

/* A peer's batch in the writer. What the node derives from its ops
 * (sync_applied_op: a replicated table's rows) goes in the same
 * transaction, and the row changes become events of the batch's context,
 * recorded with it and published once it is durable, as a call's are. */
typedef struct {
    weft_sync_txn_fn fn;
    void *arg;
    void (*done)(void *arg, int rc);
    weft_node_t *node;
    weft_call_result_t *events; /* NULL until an op makes one */
    char ctx[WEFT_CONTEXT_MAX + 1];
} write_job_t;

/* The batch the writer runs (one thread: sync_applied_op is called from
 * inside w->fn, which has no way to pass it along). */
static __thread write_job_t *running;

static int write_run(weft_node_t *node, weft_txn_t *txn, void *arg)
{
    write_job_t *w = arg;
    (void)node;
    if (w->events) /* run again (the map grew): the first run's events are gone */
        node_result_reset(w->events);
    running = w;
    int rc = w->fn(txn, w->arg);
    running = NULL;
    if (rc == 0 && w->events && w->events->nevents)
        rc = node_events_append(txn, w->ctx, w->events);
    return rc;
}

static void write_finished(void *arg, int rc)
{
    write_job_t *w = arg;
    if (rc == 0 && w->events && w->events->nevents)
        node_events_publish(w->node, w->ctx, w->events);
    weft_call_result_delete(w->events);
    w->done(w->arg, rc);
    free(w);
}

static int sync_applied_op(void *user, weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                           const uint8_t *key, size_t key_len)
{
    weft_node_t *node = user;
    write_job_t *w = running;
    if (!w || ctx_len == 0 || ctx_len > WEFT_CONTEXT_MAX)
        return 0;
    if (!w->events) {
        if ((w->events = node_result_new()) == NULL)
            return WEFT_ENOMEM;
        memcpy(w->ctx, ctx, ctx_len);
        w->ctx[ctx_len] = '\0';
    } else if (strlen(w->ctx) != ctx_len || memcmp(w->ctx, ctx, ctx_len) != 0) {
        return 0; /* a batch is of one context */
    }
    int rc = node_cosm_applied(node, txn, w->ctx, key, key_len, w->events);
    return rc == WEFT_EARG ? WEFT_EIO : rc; /* WEFT_EARG would read as a gap */
}

static int sync_write(void *user, weft_sync_txn_fn fn, void *arg, void (*done)(void *arg, int rc))
{
    write_job_t *w = calloc(1, sizeof *w);
    if (!w)
        return WEFT_ENOMEM;
    w->node = user;
    w->fn = fn;
    w->arg = arg;
    w->done = done;
    int rc = node_write_fn_async(user, write_run, w, write_finished);
    if (rc != 0)
        free(w);
    return rc;
}

static int sync_app_bytes(void *user, const char *app_id, uint8_t **out, size_t *out_len)
{
    weft_node_t *node = user;
    weft_txn_t *txn;
    const uint8_t *v;
    size_t vlen;
    if (strlen(app_id) != WEFT_APP_ID_LEN)
        return WEFT_ENOTFOUND;
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0)
        return rc;
    rc = weft_txn_get(txn, WEFT_SPACE_MODULES, NULL, 0, (const uint8_t *)app_id, WEFT_APP_ID_LEN,
                      &v, &vlen);
    if (rc == 0) {
        if ((*out = malloc(vlen ? vlen : 1)) != NULL) {
            memcpy(*out, v, vlen);
            *out_len = vlen;
        } else {
            rc = WEFT_ENOMEM;
        }
    }
    weft_txn_abort(txn);
    return rc;
}

static int sync_app_have(void *user, const char *app_id)
{
    weft_app_info_t info;
    return weft_node_app_get(user, app_id, &info) == 0;
}

static int sync_context_app(void *user, const char *name, char out_id[65])
{
    weft_context_info_t info;
    int rc = weft_node_context_get(user, name, &info);
    if (rc == 0)
        memcpy(out_id, info.app, WEFT_APP_ID_LEN + 1);
    return rc;
}

static int sync_join(void *user, const char *name, const char *app_id, const uint8_t *wasm,
                     size_t wasm_len, const uint8_t *members, size_t nmembers, char *msg,
                     size_t msg_size)
{
    weft_node_t *node = user;
    int rc;
    if (wasm) {
        char id[WEFT_APP_ID_LEN + 1];
        if ((rc = weft_node_app_deploy(node, wasm, wasm_len, NULL, id, msg, msg_size)) != 0)
            return rc;
        if (strcmp(id, app_id) != 0) {
            /* The bytes are kept (they validated), but the context is not
             * joined: the inviter sent another module than it named. */
            snprintf(msg, msg_size, "the module received is app %.12s, not %.12s", id, app_id);
            return WEFT_EARG;
        }
    }
    /* The inviter's list names this node; the set keeps one entry each. */
    rc = weft_node_context_create_members(node, name, app_id, members, nmembers, msg, msg_size);
    if (rc == WEFT_ELIMIT) { /* created meanwhile (a second invitation) */
        weft_context_info_t info;
        if (weft_node_context_get(node, name, &info) == 0 && strcmp(info.app, app_id) == 0)
            return 0;
    }
    return rc;
}

/* A batch of peers' ops in ctx committed: other members' events may have
 * come with handlers to run here. */
static void sync_applied(void *user, const uint8_t *ctx, size_t len)
{
    node_handlers_notify(user, ctx, len);
}

static void sync_log(void *user, const char *line)
{
    weft_node_t *node = user;
    node->sync_log(node->sync_log_user, line);
}

/* ---- open, close, commits -------------------------------------------------- */

int node_sync_open(weft_node_t *node, const weft_node_config_t *cfg, char *msg, size_t msg_size)
{
    if ((cfg->flags & WEFT_NODE_NO_SYNC) || !node->has_id ||
        (!cfg->peer_listen && !cfg->npeers && !cfg->sync_nats))
        return 0;
    uint8_t pk[32], sk[64];
    int rc = weft_identity_load(node->db, pk, sk);
    if (rc != 0) {
        snprintf(msg, msg_size, "cannot load the node identity: %s", weft_db_errmsg(node->db));
        return rc;
    }
    weft_sync_config_t sc = {
        .db = node->db,
        .public_key = pk,
        .secret_key = sk,
        .listen = cfg->peer_listen,
        .peers = cfg->peers,
        .npeers = cfg->npeers,
        .nats_url = cfg->sync_nats,
        .nats_creds = cfg->nats_creds,
        .nats_ca = cfg->nats_ca,
        .nats_replicas = cfg->nats_replicas,
        .nats_transport = cfg->sync_nats_transport,
        .compact_ms = cfg->sync_compact_ms,
        .compact_keep = cfg->sync_compact_keep,
        .write = sync_write,
        .app_bytes = sync_app_bytes,
        .app_have = sync_app_have,
        .context_app = sync_context_app,
        .join = sync_join,
        .applied = sync_applied,
        .applied_op = sync_applied_op,
        .log = cfg->sync_log ? sync_log : NULL,
        .user = node,
    };
    node->sync_log = cfg->sync_log;
    node->sync_log_user = cfg->sync_log_user;
    /* before sync: its batches tell the runner (sync_applied) */
    if (!(cfg->flags & WEFT_NODE_INLINE) && (rc = node_handlers_open(node)) != 0) {
        sodium_memzero(sk, sizeof sk);
        snprintf(msg, msg_size, "cannot start the event handlers' thread");
        return rc;
    }
    rc = weft_sync_start(&sc, &node->sync, msg, msg_size);
    sodium_memzero(sk, sizeof sk);
    return rc;
}

void node_sync_close(weft_node_t *node)
{
    if (node->sync) {
        weft_sync_stop(node->sync);
        node->sync = NULL;
    }
}

void node_sync_committed(weft_node_t *node, node_job_t **jobs, size_t n)
{
    if (!node->sync)
        return;
    for (size_t i = 0; i < n; i++) {
        node_job_t *j = jobs[i];
        if (!j || j->kind != JOB_CALL || j->res->outcome != WEFT_CALL_OK || !j->req.context)
            continue;
        /* One notice per context of the batch. */
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = jobs[k] && jobs[k]->kind == JOB_CALL && jobs[k]->req.context &&
                   strcmp(jobs[k]->req.context, j->req.context) == 0;
        if (!seen)
            weft_sync_notify(node->sync, j->req.context);
    }
}

int node_sync_peers_nx(void *user, uint8_t **out, size_t *out_len)
{
    weft_node_t *node = user;
    return node->sync ? weft_sync_peers_nx(node->sync, out, out_len) : WEFT_ENOTFOUND;
}

void node_sync_changed(weft_node_t *node, const char *name)
{
    if (node->sync)
        weft_sync_notify(node->sync, name);
}

/* ---- members ------------------------------------------------------------- */

int node_members_change(weft_node_t *node, weft_txn_t *txn, const char *name,
                        const uint8_t *ids, size_t n, int add)
{
    const char *key = WEFT_SYNC_MEMBERS_KEY;
    for (size_t i = 0; i < n; i++) {
        weft_crdt_input_t in = {.value = ids + 32 * i, .value_len = 32};
        int rc = weft_crdt_local(txn, node->id, node_unix_ms(), (const uint8_t *)name,
                                 strlen(name), (const uint8_t *)key, strlen(key),
                                 WEFT_CRDT_ORSET, add ? WEFT_CRDT_ADD : WEFT_CRDT_REMOVE, &in,
                                 NULL, NULL);
        if (rc != 0)
            return rc;
    }
    return 0;
}

typedef struct {
    const char *name;
    const uint8_t *add, *remove;
    size_t nadd, nremove;
} change_t;

static int change_write(weft_node_t *node, weft_txn_t *txn, void *arg)
{
    change_t *c = arg;
    char app[WEFT_APP_ID_LEN + 1];
    int rc = node_context_app(txn, c->name, app);
    if (rc != 0)
        return rc;
    if ((rc = node_members_change(node, txn, c->name, c->add, c->nadd, 1)) != 0)
        return rc;
    return node_members_change(node, txn, c->name, c->remove, c->nremove, 0);
}

int weft_node_context_members_change(weft_node_t *node, const char *name, const uint8_t *add,
                                     size_t nadd, const uint8_t *remove, size_t nremove,
                                     char *out_msg, size_t msg_size)
{
    char dummy[8];
    if (!out_msg || !msg_size) {
        out_msg = dummy;
        msg_size = sizeof dummy;
    }
    out_msg[0] = '\0';
    if (!node->has_id) {
        snprintf(out_msg, msg_size, "members need replication, which this node runs without");
        return WEFT_EARG;
    }
    change_t c = {name, add, remove, nadd, nremove};
    int rc = node_write_fn(node, change_write, &c);
    if (rc == 0)
        node_sync_changed(node, name);
    else if (rc == WEFT_ENOTFOUND)
        snprintf(out_msg, msg_size, "no context '%s'", name);
    else
        snprintf(out_msg, msg_size, "cannot change the members of '%s': %s", name,
                 weft_db_errmsg(node->db));
    return rc;
}

int weft_node_context_members(weft_node_t *node, const char *name,
                              void (*fn)(void *user, const uint8_t id[32]), void *user)
{
    weft_txn_t *txn;
    char app[WEFT_APP_ID_LEN + 1];
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0)
        return rc;
    if ((rc = node_context_app(txn, name, app)) != 0)
        goto out;
    rc = weft_sync_members_read(txn, (const uint8_t *)name, strlen(name), fn, user);
out:
    weft_txn_abort(txn);
    return rc;
}

/* ---- peers --------------------------------------------------------------- */

int weft_node_peer_port(const weft_node_t *node)
{
    return node->sync ? weft_sync_port(node->sync) : 0;
}

void weft_node_sync_stats(weft_node_t *node, weft_sync_stats_t *out)
{
    weft_sync_stats(node->sync, out); /* zeros without sync */
}

int weft_node_peers(weft_node_t *node, void (*fn)(void *user, const weft_sync_peer_t *peer),
                    void *user)
{
    if (!node->sync)
        return WEFT_ENOTFOUND;
    weft_sync_peers(node->sync, fn, user);
    return 0;
}
