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

static const uint8_t next_key[1] = {'n'};     /* the next event's number */
static const uint8_t log_next_key[1] = {'m'}; /* the next log line's number */

/* Appends n records to a context's ring ('e' or 'l', counter key
 * `counter`): record(arg, i, &len) gives the i-th record (malloc'ed, or
 * NULL when out of memory); the oldest beyond `keep` are deleted. *first
 * gets the number of the first record. */
typedef uint8_t *(*record_fn)(void *arg, size_t i, size_t *out_len);

static int ring_append(weft_txn_t *txn, const char *context, uint8_t tag, uint8_t counter,
                       uint64_t keep, size_t n, record_fn record, void *arg, uint64_t *first)
{
    const uint8_t *ctx = (const uint8_t *)context, *v;
    size_t cl = strlen(context), vlen;
    uint64_t next = 1;
    int rc = weft_txn_get(txn, WEFT_SPACE_EVENTS, ctx, cl, &counter, 1, &v, &vlen);
    if (rc == 0 && vlen == 8)
        next = node_get_u64(v);
    else if (rc != 0 && rc != WEFT_ENOTFOUND)
        return rc;
    *first = next;
    for (size_t i = 0; i < n; i++, next++) {
        uint8_t key[9];
        key[0] = tag;
        node_put_u64be(key + 1, next);
        size_t len;
        uint8_t *rec = record(arg, i, &len);
        if (!rec)
            return WEFT_ENOMEM;
        rc = weft_txn_put(txn, WEFT_SPACE_EVENTS, ctx, cl, key, sizeof key, rec, len);
        free(rec);
        if (rc != 0)
            return rc;
        if (next > keep) {
            node_put_u64be(key + 1, next - keep);
            if ((rc = weft_txn_del(txn, WEFT_SPACE_EVENTS, ctx, cl, key, sizeof key)) != 0)
                return rc;
        }
    }
    uint8_t nb[8];
    node_put_u64(nb, next);
    return weft_txn_put(txn, WEFT_SPACE_EVENTS, ctx, cl, &counter, 1, nb, sizeof nb);
}

int node_events_next(weft_txn_t *txn, const char *context, uint64_t *out)
{
    const uint8_t *v;
    size_t vlen;
    int rc = weft_txn_get(txn, WEFT_SPACE_EVENTS, (const uint8_t *)context, strlen(context),
                          next_key, 1, &v, &vlen);
    *out = rc == 0 && vlen == 8 ? node_get_u64(v) : 1;
    return rc == WEFT_ENOTFOUND ? 0 : rc;
}

/* An event record: u16 name_len, name, payload. */
static uint8_t *event_record(void *arg, size_t i, size_t *out_len)
{
    const struct node_event *e = &((weft_call_result_t *)arg)->events[i];
    size_t nl = e->name_len > 0xffff ? 0xffff : e->name_len;
    uint8_t *rec = malloc(2 + nl + e->payload_len);
    if (!rec)
        return NULL;
    rec[0] = (uint8_t)nl;
    rec[1] = (uint8_t)(nl >> 8);
    memcpy(rec + 2, e->name, nl);
    memcpy(rec + 2 + nl, e->payload, e->payload_len);
    *out_len = 2 + nl + e->payload_len;
    return rec;
}

int node_events_append(weft_txn_t *txn, const char *context, weft_call_result_t *res)
{
    uint64_t first;
    int rc = ring_append(txn, context, 'e', next_key[0], NODE_EVENTS_KEEP, res->nevents,
                         event_record, res, &first);
    for (size_t i = 0; rc == 0 && i < res->nevents; i++)
        res->events[i].seq = first + i;
    return rc;
}

/* Events ev[0..n) of `context` to its subscribers; under subs_mu. */
static void publish_events(weft_node_t *node, const char *context, const struct node_event *ev,
                           size_t n)
{
    for (weft_node_sub_t *s = node->subs; s; s = s->next) {
        if (!s->fn || (s->context && strcmp(s->context, context) != 0))
            continue;
        for (size_t i = 0; i < n; i++) {
            const struct node_event *e = &ev[i];
            if (e->seq)
                s->fn(s->user, context, e->seq, e->name, e->name_len, e->payload,
                      e->payload_len);
        }
    }
}

void node_events_publish(weft_node_t *node, const char *context, const weft_call_result_t *res)
{
    pthread_mutex_lock(&node->subs_mu);
    /* a nested call's events were appended before the caller's own */
    for (size_t g = 0; g < res->nnested; g++)
        publish_events(node, res->nested[g].context, res->nested[g].events,
                       res->nested[g].nevents);
    publish_events(node, context, res->events, res->nevents);
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

/* A numbered ring of a context ('e' events, 'l' log lines): the records
 * after `after`, at most `max`, each handed to one(user, seq, val, len);
 * *out_last is the highest number given (its counter's value - 1). */
typedef void (*ring_fn)(void *user, uint64_t seq, const uint8_t *val, size_t len);

typedef struct {
    uint8_t tag;
    ring_fn one;
    void *user;
    size_t left;
} ring_t;

static int ring_one(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                    size_t val_len)
{
    ring_t *r = user;
    if (key_len != 9 || key[0] != r->tag)
        return 0;
    uint64_t seq = 0;
    for (int i = 1; i < 9; i++)
        seq = seq << 8 | key[i];
    r->one(r->user, seq, val, val_len);
    return --r->left == 0;
}

static int ring_read(weft_node_t *node, const char *context, uint8_t tag, uint8_t counter,
                     uint64_t after, size_t max, ring_fn one, void *user, uint64_t *out_last)
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
    rc = weft_txn_get(txn, WEFT_SPACE_EVENTS, ctx, cl, &counter, 1, &v, &vlen);
    if (rc == WEFT_ENOTFOUND) {
        rc = 0;
        goto done; /* nothing recorded yet */
    }
    if (rc != 0)
        goto done;
    if (out_last && vlen == 8)
        *out_last = node_get_u64(v) - 1;
    if (max == 0)
        goto done;
    uint8_t start[9];
    start[0] = tag;
    node_put_u64be(start + 1, after);
    ring_t r = {tag, one, user, max};
    rc = weft_txn_scan(txn, WEFT_SPACE_EVENTS, ctx, cl, &tag, 1, after ? start : NULL,
                       after ? sizeof start : 0, ring_one, &r);
done:
    weft_txn_abort(txn);
    return rc;
}

typedef struct {
    const char *context;
    weft_event_fn fn;
    void *user;
} event_read_t;

static void event_one(void *user, uint64_t seq, const uint8_t *val, size_t len)
{
    event_read_t *r = user;
    size_t nl = len >= 2 ? ((size_t)val[0] | (size_t)val[1] << 8) : 0;
    if (len < 2 || 2 + nl > len)
        return; /* not a record this code wrote */
    r->fn(r->user, r->context, seq, (const char *)val + 2, nl, val + 2 + nl, len - 2 - nl);
}

int weft_node_events_read(weft_node_t *node, const char *context, uint64_t after, size_t max,
                          weft_event_fn fn, void *user, uint64_t *out_last)
{
    event_read_t r = {context, fn, user};
    return ring_read(node, context, 'e', next_key[0], after, max, event_one, &r, out_last);
}

/* ---- log lines ------------------------------------------------------------ */

static const char *level_name(uint8_t level)
{
    return level == NODE_LOG_STDERR ? "stderr" : "log";
}

/* A log record: u64 time_ms, u64 call_id, u8 level, message. */
static uint8_t *log_record(void *arg, size_t i, size_t *out_len)
{
    weft_call_result_t *res = arg;
    uint8_t *rec = malloc(17 + res->log_lens[i]);
    if (!rec)
        return NULL;
    node_put_u64(rec, res->log_time_ms);
    node_put_u64(rec + 8, res->call_id);
    rec[16] = res->log_levels[i];
    memcpy(rec + 17, res->logs[i], res->log_lens[i]);
    *out_len = 17 + res->log_lens[i];
    return rec;
}

int node_logs_append(weft_txn_t *txn, const char *context, weft_call_result_t *res)
{
    uint64_t first;
    res->log_time_ms = node_unix_ms();
    int rc = ring_append(txn, context, 'l', log_next_key[0], NODE_LOGS_KEEP, res->nlogs,
                         log_record, res, &first);
    res->log_seq0 = rc == 0 ? first : 0;
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
} log_read_t;

static void log_one(void *user, uint64_t seq, const uint8_t *val, size_t len)
{
    log_read_t *r = user;
    if (len < 17)
        return;
    r->fn(r->user, r->context, seq, node_get_u64(val), node_get_u64(val + 8), level_name(val[16]),
          (const char *)val + 17, len - 17);
}

int weft_node_logs_read(weft_node_t *node, const char *context, uint64_t after, size_t max,
                        weft_log_fn fn, void *user, uint64_t *out_last)
{
    log_read_t r = {context, fn, user};
    return ring_read(node, context, 'l', log_next_key[0], after, max, log_one, &r, out_last);
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
