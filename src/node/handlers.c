/*
 * handlers.c — Calimero's emit_with_handler across nodes (docs/calimero.md
 * "Event handlers on the other members"): the handler named with an event
 * runs on every other member node of the context when the event arrives
 * there, as a call of its own, exactly once per event and node.
 *
 * Events are node-local (events.c), so an event with a handler is also
 * written as replicated state, in the emitting call's transaction: origin
 * O's n-th such event in context C is field u64be(n) of the LWW-Map
 * `__nx/ev/` + hex(O) (one map per origin, so each origin's sequence is
 * its own), valued u16 handler_len, handler, u16 kind_len, kind, data. It
 * reaches the members with the call's other ops.
 *
 * Each node keeps, node-local in WEFT_SPACE_EVENTS under C, 'H' + O -> u64:
 * the last event of O it handled (O = itself: the last it emitted). A
 * thread of this file wakes when sync applied a batch of a context (and
 * once at start, for what a restart left), and for each member O other
 * than this node runs the handlers of O's events past the mark in order,
 * one call each (weft_node_call). The call advances the mark in its own
 * transaction (weft_call_req_t.handler_seq, abi_calimero.c), so a handler
 * that commits ran once, and one cut by a crash runs again after the
 * restart; a handler that fails (a trap, Err, no such export) has its
 * mark advanced by a write of its own: logged, counted, never again.
 *
 * A committed call's artifact (commit, for an app exporting
 * __calimero_sync_next) is a record of the same sequence, flagged in its
 * handler length, whose kind is the origin's clock at the commit: the
 * thread runs the app's __calimero_sync_next with it the same way, as this
 * node, with that clock as the call's delta_as_of (docs/calimero.md
 * "Artifacts"). Before the handlers of a context, the thread also applies
 * the governance proposals whose approvals pass only merged and fall to
 * this node (node_calimero_settle).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "node_priv.h"
#include "weft/crdt_store.h"
#include "weft/error.h"
#include "weft/sync.h"

#define EV_PREFIX "__nx/ev/"
#define EV_KEY_LEN (sizeof EV_PREFIX - 1 + 64)
#define ARTIFACT_FLAG 0x8000u /* in a record's handler length: an artifact */

typedef struct dirty {
    struct dirty *next;
    char ctx[];
} dirty_t;

struct node_handlers {
    weft_node_t *node;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    dirty_t *dirty; /* contexts to look at */
    int all;        /* every context (the start) */
    int stop;
};

static void ev_key(const uint8_t origin[32], uint8_t key[EV_KEY_LEN])
{
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, origin, 32);
    memcpy(key, EV_PREFIX, sizeof EV_PREFIX - 1);
    memcpy(key + sizeof EV_PREFIX - 1, hex, 64);
}

static void mark_key(const uint8_t origin[32], uint8_t key[33])
{
    key[0] = 'H';
    memcpy(key + 1, origin, 32);
}

int node_handler_mark(weft_txn_t *txn, const char *ctx, const uint8_t origin[32], uint64_t *out)
{
    uint8_t key[33];
    const uint8_t *v;
    size_t vl;
    mark_key(origin, key);
    int rc = weft_txn_get(txn, WEFT_SPACE_EVENTS, (const uint8_t *)ctx, strlen(ctx), key,
                          sizeof key, &v, &vl);
    *out = rc == 0 && vl == 8 ? node_get_u64(v) : 0;
    return rc == WEFT_ENOTFOUND ? 0 : rc;
}

int node_handler_mark_set(weft_txn_t *txn, const char *ctx, const uint8_t origin[32],
                          uint64_t seq)
{
    uint8_t key[33], v[8];
    mark_key(origin, key);
    node_put_u64(v, seq);
    return weft_txn_put(txn, WEFT_SPACE_EVENTS, (const uint8_t *)ctx, strlen(ctx), key,
                        sizeof key, v, sizeof v);
}

/* Writes origin's next record in ctx: u16 hl (ARTIFACT_FLAG set for an
 * artifact), handler, u16 kl, kind, data. */
static int put_record(weft_node_t *node, weft_txn_t *txn, const char *ctx, unsigned flag,
                      const char *handler, size_t hl, const uint8_t *kind, size_t kl,
                      const uint8_t *data, size_t dl)
{
    uint64_t seq;
    uint8_t key[EV_KEY_LEN], field[8];
    if (!node->has_id || hl >= ARTIFACT_FLAG || kl > 0xffff)
        return WEFT_EARG;
    if (4 + hl + kl > WEFT_CRDT_VALUE_MAX || dl > WEFT_CRDT_VALUE_MAX - 4 - hl - kl)
        return WEFT_ELIMIT;
    int rc = node_handler_mark(txn, ctx, node->id, &seq);
    if (rc != 0)
        return rc;
    seq++;
    size_t vl = 4 + hl + kl + dl;
    uint8_t *v = malloc(vl);
    if (!v)
        return WEFT_ENOMEM;
    v[0] = (uint8_t)((hl | flag) >> 8);
    v[1] = (uint8_t)hl;
    memcpy(v + 2, handler, hl);
    v[2 + hl] = (uint8_t)(kl >> 8);
    v[3 + hl] = (uint8_t)kl;
    memcpy(v + 4 + hl, kind, kl);
    if (dl)
        memcpy(v + 4 + hl + kl, data, dl);
    ev_key(node->id, key);
    node_put_u64be(field, seq);
    weft_crdt_input_t in = {.field = field, .field_len = 8, .value = v, .value_len = vl};
    rc = weft_crdt_local(txn, node->id, node_unix_ms(), (const uint8_t *)ctx, strlen(ctx), key,
                         sizeof key, WEFT_CRDT_LWW_MAP, WEFT_CRDT_MAP_SET, &in, NULL, NULL);
    free(v);
    if (rc == 0)
        rc = node_handler_mark_set(txn, ctx, node->id, seq);
    return rc;
}

int node_handler_emit(weft_node_t *node, weft_txn_t *txn, const char *ctx, const char *handler,
                      size_t hl, const char *kind, size_t kl, const uint8_t *data, size_t dl)
{
    return put_record(node, txn, ctx, 0, handler, hl, (const uint8_t *)kind, kl, data, dl);
}

/* An artifact's record: the handler is the app's sync export, the kind
 * the origin's clock in the context now (after the call's ops: every
 * write the artifact may describe is at or before it; stamps compared
 * with it are of the same context), the data the artifact. */
int node_handler_artifact(weft_node_t *node, weft_txn_t *txn, const char *ctx,
                          const uint8_t *artifact, size_t len)
{
    weft_crdt_node_t me;
    uint8_t at[8];
    int rc = node->has_id ? weft_crdt_node_load(txn, (const uint8_t *)ctx, strlen(ctx), node->id,
                                                &me)
                          : WEFT_EARG;
    if (rc != 0)
        return rc;
    node_put_u64be(at, me.hlc.last);
    return put_record(node, txn, ctx, ARTIFACT_FLAG, NODE_SYNC_EXPORT,
                      sizeof NODE_SYNC_EXPORT - 1, at, sizeof at, artifact, len);
}

/* ---- the runner ------------------------------------------------------------ */

typedef struct {
    uint8_t *ids;
    size_t n, cap;
} ids_t;

static void add_id(void *user, const uint8_t id[32])
{
    ids_t *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        uint8_t *v = realloc(l->ids, cap * 32);
        if (!v)
            return;
        l->ids = v;
        l->cap = cap;
    }
    memcpy(l->ids + 32 * l->n++, id, 32);
}

/* The next event of `origin` in ctx past this node's mark: 1 with its
 * seq, handler (NUL-terminated, malloc'ed) and data (malloc'ed), and for
 * an artifact the origin's clock at its commit in *as_of (else 0); 0 when
 * there is none yet. */
static int next_event(weft_node_t *node, const char *ctx, const uint8_t origin[32],
                      uint64_t *seq, char **handler, uint8_t **data, size_t *dl, uint64_t *as_of)
{
    weft_txn_t *txn;
    weft_crdt_state_t *st = NULL;
    uint8_t key[EV_KEY_LEN], field[8];
    const uint8_t *v;
    size_t vl;
    int found = 0;
    if (weft_txn_begin(node->db, WEFT_TXN_READ, &txn) != 0)
        return 0;
    if (node_handler_mark(txn, ctx, origin, seq) != 0)
        goto out;
    ++*seq;
    ev_key(origin, key);
    node_put_u64be(field, *seq);
    if (weft_crdt_read_part(txn, (const uint8_t *)ctx, strlen(ctx), key, sizeof key,
                            WEFT_CRDT_LWW_MAP, field, 8, &st) != 0 ||
        weft_crdt_map_get(st, field, 8, &v, &vl) != 0 || vl < 4)
        goto out;
    size_t hl = (size_t)v[0] << 8 | v[1];
    int artifact = (hl & ARTIFACT_FLAG) != 0;
    hl &= ARTIFACT_FLAG - 1;
    if (vl < 4 + hl)
        goto out;
    size_t kl = (size_t)v[2 + hl] << 8 | v[3 + hl];
    if (vl < 4 + hl + kl || hl == 0 || (artifact && kl != 8))
        goto out;
    *as_of = artifact ? node_get_u64be(v + 4 + hl) : 0;
    *dl = vl - 4 - hl - kl;
    if (!(*handler = malloc(hl + 1)) || !(*data = malloc(*dl ? *dl : 1))) {
        free(*handler);
        goto out;
    }
    memcpy(*handler, v + 2, hl);
    (*handler)[hl] = '\0';
    memcpy(*data, v + 4 + hl + kl, *dl);
    found = 1;
out:
    weft_crdt_state_delete(st);
    weft_txn_abort(txn);
    return found;
}

typedef struct {
    const char *ctx;
    const uint8_t *origin;
    uint64_t seq;
} mark_job_t;

static int mark_fn(weft_node_t *node, weft_txn_t *txn, void *arg)
{
    mark_job_t *m = arg;
    uint64_t at;
    (void)node;
    int rc = node_handler_mark(txn, m->ctx, m->origin, &at);
    if (rc == 0 && at < m->seq)
        rc = node_handler_mark_set(txn, m->ctx, m->origin, m->seq);
    return rc;
}

static void count(weft_node_t *node, int failed)
{
    pthread_mutex_lock(&node->mu);
    node->stats.handlers++;
    node->stats.handlers_failed += failed != 0;
    pthread_mutex_unlock(&node->mu);
}

/* Runs every due handler of ctx, origin by origin, in each origin's order. */
static void run_context(node_handlers_t *h, const char *ctx)
{
    weft_node_t *node = h->node;
    ids_t members = {0};
    node_calimero_settle(node, ctx); /* approvals merged in the same batch */
    if (weft_node_context_members(node, ctx, add_id, &members) != 0)
        goto out;
    for (size_t i = 0; i < members.n; i++) {
        const uint8_t *origin = members.ids + 32 * i;
        if (memcmp(origin, node->id, 32) == 0)
            continue; /* not on the origin */
        for (;;) {
            pthread_mutex_lock(&h->mu);
            int stop = h->stop;
            pthread_mutex_unlock(&h->mu);
            uint64_t seq;
            char *handler = NULL;
            uint8_t *data = NULL;
            size_t dl = 0;
            uint64_t as_of = 0;
            if (stop || !next_event(node, ctx, origin, &seq, &handler, &data, &dl, &as_of))
                break;
            weft_call_req_t req;
            weft_call_result_t *res = NULL;
            memset(&req, 0, sizeof req);
            req.context = ctx;
            req.function = handler;
            req.input = data;
            req.input_len = dl;
            /* a handler runs as the event's origin; an artifact is applied by
             * this node, as the real node runs its sync export */
            req.caller = as_of ? NULL : origin;
            memcpy(req.handler_origin, origin, 32);
            req.handler_seq = seq;
            req.delta_as_of = as_of;
            int rc = weft_node_call(node, &req, &res);
            int outcome = rc == 0 && res ? (int)weft_call_result_outcome(res) : -1;
            char hex[65];
            sodium_bin2hex(hex, sizeof hex, origin, 32);
            if (outcome == WEFT_CALL_OK) {
                count(node, 0);
            } else if (res && strstr(weft_call_result_message(res), "handled already")) {
                /* ran before (a batch and the start looked at once): nothing */
            } else {
                fprintf(stderr, "weft: handler %s.%s of event %llu of node %.16s failed: %s\n",
                        ctx, handler, (unsigned long long)seq, hex,
                        res ? weft_call_result_message(res) : weft_strerror(rc));
                count(node, 1);
                mark_job_t m = {ctx, origin, seq};
                if (node_write_fn(node, mark_fn, &m) != 0) { /* not now: at the next wake */
                    weft_call_result_delete(res);
                    free(handler);
                    free(data);
                    break;
                }
            }
            weft_call_result_delete(res);
            free(handler);
            free(data);
        }
    }
out:
    free(members.ids);
}

typedef struct {
    char **v;
    size_t n, cap;
} names_t;

static int list_one(void *user, const weft_context_info_t *info)
{
    names_t *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return 0;
        l->v = v;
        l->cap = cap;
    }
    if ((l->v[l->n] = strdup(info->name)) != NULL)
        l->n++;
    return 0;
}

static void *runner_main(void *arg)
{
    node_handlers_t *h = arg;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->stop && !h->dirty && !h->all)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->stop)
            break;
        dirty_t *d = h->dirty;
        int all = h->all;
        h->dirty = NULL;
        h->all = 0;
        pthread_mutex_unlock(&h->mu);
        if (all) {
            names_t l = {0};
            weft_node_context_list(h->node, list_one, &l);
            for (size_t i = 0; i < l.n; i++) {
                run_context(h, l.v[i]);
                free(l.v[i]);
            }
            free(l.v);
        }
        while (d) {
            dirty_t *n = d->next;
            int seen = 0; /* once per wake */
            for (dirty_t *e = n; e && !seen; e = e->next)
                seen = strcmp(e->ctx, d->ctx) == 0;
            if (!seen && !all)
                run_context(h, d->ctx);
            free(d);
            d = n;
        }
        pthread_mutex_lock(&h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

void node_handlers_notify(weft_node_t *node, const uint8_t *ctx, size_t len)
{
    node_handlers_t *h = node->handlers;
    if (!h || len == 0 || len > WEFT_CONTEXT_MAX)
        return;
    dirty_t *d = malloc(sizeof *d + len + 1);
    if (!d)
        return; /* the next batch, or the next start, looks again */
    memcpy(d->ctx, ctx, len);
    d->ctx[len] = '\0';
    pthread_mutex_lock(&h->mu);
    d->next = h->dirty;
    h->dirty = d;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

int node_handlers_open(weft_node_t *node)
{
    if (!node->has_id)
        return 0;
    node_handlers_t *h = calloc(1, sizeof *h);
    if (!h)
        return WEFT_ENOMEM;
    h->node = node;
    h->all = 1; /* what a restart left */
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    if (pthread_create(&h->thread, NULL, runner_main, h) != 0) {
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->cv);
        free(h);
        return WEFT_ENOMEM;
    }
    node->handlers = h;
    return 0;
}

void node_handlers_close(weft_node_t *node)
{
    node_handlers_t *h = node->handlers;
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stop = 1;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    node->handlers = NULL;
    while (h->dirty) {
        dirty_t *d = h->dirty;
        h->dirty = d->next;
        free(d);
    }
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}
