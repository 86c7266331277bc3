/*
 * events.c — committed events: numbered per context, kept in the data
 * directory, handed to subscribers after the commit that made them durable.
 *
 * Each context has its own sequence (1, 2, 3, ...) stored with its events
 * in WEFT_SPACE_EVENTS, so numbers survive restarts and a reader can resume
 * after the last one it saw. Only the newest NODE_EVENTS_KEEP are kept: an
 * append past that deletes the oldest, one for one. Subscribers are a list
 * under subs_mu; publishing holds it while calling them, which is why a
 * subscriber's callback must be quick and must not call into the node.
 */
#include <stdlib.h>
#include <string.h>

#include "node_priv.h"
#include "weft/error.h"

struct weft_node_sub {
    char *context; /* NULL: every context */
    weft_event_fn fn;  /* events, or */
    weft_log_fn log_fn; /* log lines */
    void *user;
    weft_node_sub_t *next;
};

static const uint8_t next_key[1] = {'n'};

int node_events_append(weft_txn_t *txn, const char *context, weft_call_result_t *res)
{
    const uint8_t *ctx = (const uint8_t *)context;
    size_t cl = strlen(context);
    const uint8_t *v;
    size_t vlen;
    uint64_t next = 1;
    int rc = weft_txn_get(txn, WEFT_SPACE_EVENTS, ctx, cl, next_key, 1, &v, &vlen);
    if (rc == 0 && vlen == 8)
        next = node_get_u64(v);
    else if (rc != 0 && rc != WEFT_ENOTFOUND)
        return rc;
    for (size_t i = 0; i < res->nevents; i++, next++) {
        struct node_event *e = &res->events[i];
        uint8_t key[9];
        key[0] = 'e';
        node_put_u64be(key + 1, next);
        size_t nl = e->name_len > 0xffff ? 0xffff : e->name_len;
        size_t len = 2 + nl + e->payload_len;
        uint8_t *rec = malloc(len);
        if (!rec)
            return WEFT_ENOMEM;
        rec[0] = (uint8_t)nl;
        rec[1] = (uint8_t)(nl >> 8);
        memcpy(rec + 2, e->name, nl);
        memcpy(rec + 2 + nl, e->payload, e->payload_len);
        rc = weft_txn_put(txn, WEFT_SPACE_EVENTS, ctx, cl, key, sizeof key, rec, len);
        free(rec);
        if (rc != 0)
            return rc;
        if (next > NODE_EVENTS_KEEP) {
            node_put_u64be(key + 1, next - NODE_EVENTS_KEEP);
            if ((rc = weft_txn_del(txn, WEFT_SPACE_EVENTS, ctx, cl, key, sizeof key)) != 0)
                return rc;
        }
        e->seq = next;
    }
    uint8_t nb[8];
    node_put_u64(nb, next);
    return weft_txn_put(txn, WEFT_SPACE_EVENTS, ctx, cl, next_key, 1, nb, sizeof nb);
}

void node_events_publish(weft_node_t *node, const char *context, const weft_call_result_t *res)
{
    pthread_mutex_lock(&node->subs_mu);
    for (weft_node_sub_t *s = node->subs; s; s = s->next) {
        if (!s->fn || (s->context && strcmp(s->context, context) != 0))
            continue;
        for (size_t i = 0; i < res->nevents; i++) {
            const struct node_event *e = &res->events[i];
            if (e->seq)
                s->fn(s->user, context, e->seq, e->name, e->name_len, e->payload,
                      e->payload_len);
        }
    }
    pthread_mutex_unlock(&node->subs_mu);
}

static int subscribe(weft_node_t *node, const char *context, weft_event_fn fn,
                     weft_log_fn log_fn, void *user, weft_node_sub_t **out)
{
    weft_node_sub_t *s = calloc(1, sizeof *s);
    if (!s || (context && !(s->context = strdup(context)))) {
        free(s);
        return WEFT_ENOMEM;
    }
    s->fn = fn;
    s->log_fn = log_fn;
    s->user = user;
    pthread_mutex_lock(&node->subs_mu);
    s->next = node->subs;
    node->subs = s;
    pthread_mutex_unlock(&node->subs_mu);
    *out = s;
    return 0;
}

int weft_node_subscribe(weft_node_t *node, const char *context, weft_event_fn fn, void *user,
                        weft_node_sub_t **out)
{
    return subscribe(node, context, fn, NULL, user, out);
}

int weft_node_subscribe_logs(weft_node_t *node, const char *context, weft_log_fn fn, void *user,
                             weft_node_sub_t **out)
{
    return subscribe(node, context, NULL, fn, user, out);
}

void weft_node_unsubscribe(weft_node_t *node, weft_node_sub_t *sub)
{
    if (!sub)
        return;
    pthread_mutex_lock(&node->subs_mu);
    for (weft_node_sub_t **p = &node->subs; *p; p = &(*p)->next) {
        if (*p == sub) {
            *p = sub->next;
            break;
        }
    }
    pthread_mutex_unlock(&node->subs_mu);
    free(sub->context);
    free(sub);
}

void node_subs_free(weft_node_t *node)
{
    while (node->subs) {
        weft_node_sub_t *s = node->subs;
        node->subs = s->next;
        free(s->context);
        free(s);
    }
}

typedef struct {
    const char *context;
    weft_event_fn fn;
    void *user;
    size_t left;
} read_t;

static int read_one(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                    size_t val_len)
{
    read_t *r = user;
    if (key_len != 9 || key[0] != 'e' || val_len < 2)
        return 0;
    size_t nl = (size_t)val[0] | (size_t)val[1] << 8;
    if (2 + nl > val_len)
        return 0;
    uint64_t seq = 0;
    for (int i = 1; i < 9; i++)
        seq = seq << 8 | key[i];
    r->fn(r->user, r->context, seq, (const char *)val + 2, nl, val + 2 + nl, val_len - 2 - nl);
    return --r->left == 0;
}

int weft_node_events_read(weft_node_t *node, const char *context, uint64_t after, size_t max,
                          weft_event_fn fn, void *user, uint64_t *out_last)
{
    char app[WEFT_APP_ID_LEN + 1];
    weft_txn_t *txn;
    if (out_last)
        *out_last = 0;
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0)
        return rc;
    if ((rc = node_context_app(txn, context, app)) != 0)
        goto done;
    const uint8_t *ctx = (const uint8_t *)context, *v;
    size_t cl = strlen(context), vlen;
    rc = weft_txn_get(txn, WEFT_SPACE_EVENTS, ctx, cl, next_key, 1, &v, &vlen);
    if (rc == WEFT_ENOTFOUND) {
        rc = 0;
        goto done; /* no event yet */
    }
    if (rc != 0)
        goto done;
    if (out_last && vlen == 8)
        *out_last = node_get_u64(v) - 1;
    if (max == 0)
        goto done;
    uint8_t start[9];
    start[0] = 'e';
    node_put_u64be(start + 1, after);
    read_t r = {context, fn, user, max};
    rc = weft_txn_scan(txn, WEFT_SPACE_EVENTS, ctx, cl, (const uint8_t *)"e", 1,
                       after ? start : NULL, after ? sizeof start : 0, read_one, &r);
done:
    weft_txn_abort(txn);
    return rc;
}

/* ---- log lines ------------------------------------------------------------ */

static const uint8_t log_next_key[1] = {'m'};

static const char *level_name(uint8_t level)
{
    return level == NODE_LOG_STDERR ? "stderr" : "log";
}

int node_logs_append(weft_txn_t *txn, const char *context, weft_call_result_t *res)
{
    const uint8_t *ctx = (const uint8_t *)context, *v;
    size_t cl = strlen(context), vlen;
    uint64_t next = 1, now = node_unix_ms();
    int rc = weft_txn_get(txn, WEFT_SPACE_EVENTS, ctx, cl, log_next_key, 1, &v, &vlen);
    if (rc == 0 && vlen == 8)
        next = node_get_u64(v);
    else if (rc != 0 && rc != WEFT_ENOTFOUND)
        return rc;
    uint64_t first = next;
    for (size_t i = 0; i < res->nlogs; i++, next++) {
        uint8_t key[9];
        key[0] = 'l';
        node_put_u64be(key + 1, next);
        size_t len = 17 + res->log_lens[i];
        uint8_t *rec = malloc(len);
        if (!rec)
            return WEFT_ENOMEM;
        node_put_u64(rec, now);
        node_put_u64(rec + 8, res->call_id);
        rec[16] = res->log_levels[i];
        memcpy(rec + 17, res->logs[i], res->log_lens[i]);
        rc = weft_txn_put(txn, WEFT_SPACE_EVENTS, ctx, cl, key, sizeof key, rec, len);
        free(rec);
        if (rc != 0)
            return rc;
        if (next > NODE_LOGS_KEEP) {
            node_put_u64be(key + 1, next - NODE_LOGS_KEEP);
            if ((rc = weft_txn_del(txn, WEFT_SPACE_EVENTS, ctx, cl, key, sizeof key)) != 0)
                return rc;
        }
    }
    uint8_t nb[8];
    node_put_u64(nb, next);
    rc = weft_txn_put(txn, WEFT_SPACE_EVENTS, ctx, cl, log_next_key, 1, nb, sizeof nb);
    if (rc == 0) {
        res->log_seq0 = first;
        res->log_time_ms = now;
    }
    return rc;
}

void node_logs_publish(weft_node_t *node, const char *context, const weft_call_result_t *res)
{
    if (!res->log_seq0)
        return;
    uint64_t now = res->log_time_ms;
    pthread_mutex_lock(&node->subs_mu);
    for (weft_node_sub_t *s = node->subs; s; s = s->next) {
        if (!s->log_fn || (s->context && strcmp(s->context, context) != 0))
            continue;
        for (size_t i = 0; i < res->nlogs; i++)
            s->log_fn(s->user, context, res->log_seq0 + i, now, res->call_id,
                      level_name(res->log_levels[i]), res->logs[i], res->log_lens[i]);
    }
    pthread_mutex_unlock(&node->subs_mu);
}

typedef struct {
    const char *context;
    weft_log_fn fn;
    void *user;
    size_t left;
} log_read_t;

static int log_one(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                   size_t val_len)
{
    log_read_t *r = user;
    if (key_len != 9 || key[0] != 'l' || val_len < 17)
        return 0;
    uint64_t seq = 0;
    for (int i = 1; i < 9; i++)
        seq = seq << 8 | key[i];
    r->fn(r->user, r->context, seq, node_get_u64(val), node_get_u64(val + 8), level_name(val[16]),
          (const char *)val + 17, val_len - 17);
    return --r->left == 0;
}

int weft_node_logs_read(weft_node_t *node, const char *context, uint64_t after, size_t max,
                        weft_log_fn fn, void *user, uint64_t *out_last)
{
    char app[WEFT_APP_ID_LEN + 1];
    weft_txn_t *txn;
    if (out_last)
        *out_last = 0;
    int rc = weft_txn_begin(node->db, WEFT_TXN_READ, &txn);
    if (rc != 0)
        return rc;
    if ((rc = node_context_app(txn, context, app)) != 0)
        goto done;
    const uint8_t *ctx = (const uint8_t *)context, *v;
    size_t cl = strlen(context), vlen;
    rc = weft_txn_get(txn, WEFT_SPACE_EVENTS, ctx, cl, log_next_key, 1, &v, &vlen);
    if (rc == WEFT_ENOTFOUND) {
        rc = 0;
        goto done;
    }
    if (rc != 0)
        goto done;
    if (out_last && vlen == 8)
        *out_last = node_get_u64(v) - 1;
    if (max == 0)
        goto done;
    uint8_t start[9];
    start[0] = 'l';
    node_put_u64be(start + 1, after);
    log_read_t r = {context, fn, user, max};
    rc = weft_txn_scan(txn, WEFT_SPACE_EVENTS, ctx, cl, (const uint8_t *)"l", 1,
                       after ? start : NULL, after ? sizeof start : 0, log_one, &r);
done:
    weft_txn_abort(txn);
    return rc;
}

void node_subs_context_deleted(weft_node_t *node, const char *context)
{
    pthread_mutex_lock(&node->subs_mu);
    for (weft_node_sub_t *s = node->subs; s; s = s->next) {
        if (!s->context || strcmp(s->context, context) != 0)
            continue;
        if (s->fn)
            s->fn(s->user, context, 0, NULL, 0, NULL, 0);
        if (s->log_fn)
            s->log_fn(s->user, context, 0, 0, 0, NULL, NULL, 0);
    }
    pthread_mutex_unlock(&node->subs_mu);
}
