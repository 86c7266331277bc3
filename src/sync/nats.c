/*
 * nats.c — the NATS JetStream transport (nats.h; docs/sync.md "NATS
 * transport").
 *
 * Subjects: weft.here (presence), weft.n.<id hex> (frames to a node),
 * weft.r.<id hex> (replies to the node's VV requests),
 * weft.c.<h>.<origin hex> (context streams, h = the first 16 bytes of
 * SHA-256 of the context's name, in hex). Every message is signed by its
 * sender's ed25519 key (the node id): NATS carries ops, it does not vouch
 * for them.
 *
 * Threads. libnats calls on_msg on its own threads: it queues the message
 * under `mu` and wakes the loop, which verifies and dispatches it (peers
 * live on the loop only). A worker thread makes each context's stream and
 * durable consumer and publishes this node's own ops (those calls wait for
 * the server); it shares with the loop only the work list, under `mu`.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>
#include <sodium.h>

#include "nats.h"
#include "repl.h"
#include "repl_msg.h"
#include "synclog.h"
#include "weft/crdt.h"
#include "weft/crdt_store.h"
#include "weft/error.h"
#include "weft/sync.h"

#define VERSION 1
#define HDR (1 + 32 + 64) /* version, sender, signature */
#define HERE_MS 500       /* presence every */
#define SILENT_MS 3000    /* a peer not heard from for this long is down */
#define TICK_MS 100
#define RETRY_MS 1000     /* the worker retries a context that failed */
#define BATCH_BYTES ((size_t)64 << 10)
#define MAX_ACK_PENDING 256 /* stream batches a consumer has out unacknowledged */

static const char DOM_FRAME[] = "weft-nats-v1 frame";
static const char DOM_HERE[] = "weft-nats-v1 here";
static const char DOM_OPS[] = "weft-nats-v1 ops";

enum { IN_HERE, IN_FRAME, IN_STREAM, IN_LOG };

typedef struct inmsg {
    struct inmsg *next;
    int kind;
    natsMsg *msg;    /* NULL for IN_LOG */
    char line[200];  /* IN_LOG: a line for the log, made on libnats' thread */
} inmsg_t;

struct sync_nats_peer {
    sync_nats_peer_t *next;
    sync_nats_t *n;
    uint8_t id[32];
    char subject[8 + 64 + 1];
    uint64_t seen_ms;
    int blocked;       /* a publish failed: on_writable at the next tick */
    char closing[128]; /* sync_nats_close's reason: down at the next tick */
    inmsg_t *pending, *pending_tail; /* stream batches waiting for room */
    uint64_t frames_in, frames_out, bytes_in, bytes_out;
};

/* One context, for the worker. */
typedef struct wctx {
    struct wctx *next;
    char name[WEFT_CRDT_CONTEXT_MAX + 1];
    char stream[5 + 32 + 1];   /* WEFT_<h> */
    char subjects[7 + 32 + 3]; /* weft.c.<h>.> */
    char own[7 + 32 + 1 + 64 + 1];
    int dirty;                 /* loop: a commit may have ops to publish */
    /* worker only: */
    int stream_ok, mark_known;
    natsSubscription *sub;
    uint64_t mark; /* this node's last seq in the stream */
    uint64_t failed_ms;
} wctx_t;

struct sync_nats {
    sync_nats_config_t cfg;
    uint8_t pk[32], sk[64];
    char self_hex[65];
    char self_subject[8 + 64 + 1];
    char reply_subject[8 + 64 + 1]; /* weft.r.<id hex>: replies to our VV requests */
    char durable[1 + 16 + 1];
    natsOptions *opts;
    natsConnection *nc;
    jsCtx *js;
    natsSubscription *sub_self, *sub_here, *sub_reply;
    uv_async_t wake;
    uv_timer_t tick;
    int nclosed;
    sync_nats_peer_t *peers;
    uint64_t here_ms;
    int connected_logged;

    pthread_mutex_t mu; /* below */
    pthread_cond_t cv;
    inmsg_t *in, *in_tail;
    int closed; /* no more wakes: the handles are closing */
    wctx_t *ctxs;
    int wstop;
    pthread_t worker;
    int worker_started;
    int live_subs; /* subscriptions whose handler may still run */
    char last_event[200]; /* the connection's last event, for a failed start */
    int conn_closed;      /* its closed callback ran: no more callbacks */
};

static void nlog(sync_nats_t *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void nlog(sync_nats_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sync_logv(n->cfg.log, n->cfg.user, fmt, ap);
    va_end(ap);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* dom || a[0..alen) || b[0..blen), malloc'ed (*len its length), or NULL. */
static uint8_t *cat3(const char *dom, const uint8_t *a, size_t alen, const uint8_t *b,
                     size_t blen, size_t *len)
{
    size_t dl = strlen(dom);
    uint8_t *m = malloc(dl + alen + blen + 1);
    if (!m)
        return NULL;
    memcpy(m, dom, dl);
    if (alen)
        memcpy(m + dl, a, alen);
    if (blen)
        memcpy(m + dl + alen, b, blen);
    *len = dl + alen + blen;
    return m;
}

/* Signs dom || a || b into sig (64 bytes). */
static int sign3(const sync_nats_t *n, const char *dom, const uint8_t *a, size_t alen,
                 const uint8_t *b, size_t blen, uint8_t sig[64])
{
    size_t len;
    uint8_t *m = cat3(dom, a, alen, b, blen, &len);
    if (!m)
        return WEFT_ENOMEM;
    crypto_sign_detached(sig, NULL, m, len, n->sk);
    free(m);
    return 0;
}

/* 1 when sig verifies under pk over dom || a || b. */
static int verify3(const char *dom, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                   const uint8_t *sig, const uint8_t *pk)
{
    size_t len;
    uint8_t *m = cat3(dom, a, alen, b, blen, &len);
    int ok = m && crypto_sign_verify_detached(sig, m, len, pk) == 0;
    free(m);
    return ok;
}

/* ---- from libnats' threads --------------------------------------------- */

/* Queues m for the loop and wakes it; dropped once the handles close. */
static void inbox_push(sync_nats_t *n, inmsg_t *m)
{
    pthread_mutex_lock(&n->mu);
    if (n->closed) {
        pthread_mutex_unlock(&n->mu);
        if (m->msg)
            natsMsg_Destroy(m->msg);
        free(m);
        return;
    }
    if (n->in_tail)
        n->in_tail->next = m;
    else
        n->in = m;
    n->in_tail = m;
    uv_async_send(&n->wake); /* under mu: the handle is not closing */
    pthread_mutex_unlock(&n->mu);
}

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure,
                   int kind)
{
    sync_nats_t *n = closure;
    inmsg_t *m = malloc(sizeof *m);
    (void)nc;
    (void)sub;
    if (!m) {
        natsMsg_Destroy(msg); /* lost: resent, or redelivered unacknowledged */
        return;
    }
    m->next = NULL;
    m->kind = kind;
    m->msg = msg;
    inbox_push(n, m);
}

/* The connection's ups and downs, logged from the loop (the embedder's log
 * is called from there only). */
static void conn_event(natsConnection *nc, sync_nats_t *n, const char *what)
{
    inmsg_t *m = calloc(1, sizeof *m);
    const char *err = NULL;
    char url[128] = "";
    if (!m)
        return;
    natsConnection_GetConnectedUrl(nc, url, sizeof url);
    natsConnection_GetLastError(nc, &err);
    m->kind = IN_LOG;
    snprintf(m->line, sizeof m->line, "sync: nats: %s%s%s%s%s", what, url[0] ? " " : "", url,
             err && *err ? ": " : "", err && *err ? err : "");
    pthread_mutex_lock(&n->mu);
    if (!n->closed)
        memcpy(n->last_event, m->line, sizeof n->last_event);
    pthread_mutex_unlock(&n->mu);
    inbox_push(n, m);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
    conn_event(nc, closure, "disconnected");
}
static void on_reconnected(natsConnection *nc, void *closure)
{
    conn_event(nc, closure, "connected to");
}
/* The connection's last callback: stop waits for it before freeing n. */
static void on_closed(natsConnection *nc, void *closure)
{
    sync_nats_t *n = closure;
    conn_event(nc, n, "closed for good (restart the node to connect again)");
    pthread_mutex_lock(&n->mu);
    n->conn_closed = 1;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}
static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err,
                           void *closure)
{
    (void)sub;
    if (err != NATS_SLOW_CONSUMER) /* drops: resent, or delivered again */
        conn_event(nc, closure, natsStatus_GetText(err));
}

static void on_here_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *c)
{
    on_msg(nc, sub, msg, c, IN_HERE);
}
static void on_frame_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *c)
{
    on_msg(nc, sub, msg, c, IN_FRAME);
}
static void on_stream_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *c)
{
    on_msg(nc, sub, msg, c, IN_STREAM);
}

/* Waits on cv (mu held) for at most ms milliseconds. */
static void wait_ms(sync_nats_t *n, long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += ms * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&n->cv, &n->mu, &ts);
}

/* A subscription closed and its handler returned for the last time. */
static void on_sub_complete(void *closure)
{
    sync_nats_t *n = closure;
    pthread_mutex_lock(&n->mu);
    n->live_subs--;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

/* Counts sub as live until its last handler returned (sync_nats_stop
 * waits for that before n goes: libnats may run a handler one last time
 * after the subscription is closed). */
static void sub_track(sync_nats_t *n, natsSubscription *sub)
{
    if (natsSubscription_SetOnCompleteCB(sub, on_sub_complete, n) == NATS_OK) {
        pthread_mutex_lock(&n->mu);
        n->live_subs++;
        pthread_mutex_unlock(&n->mu);
    }
}

/* ---- peers (loop thread) ------------------------------------------------ */

static sync_nats_peer_t *peer_find(sync_nats_t *n, const uint8_t id[32])
{
    for (sync_nats_peer_t *p = n->peers; p; p = p->next)
        if (memcmp(p->id, id, 32) == 0)
            return p;
    return NULL;
}

/* The peer of id, made (and on_up) when it is new. */
static sync_nats_peer_t *peer_seen(sync_nats_t *n, const uint8_t id[32])
{
    sync_nats_peer_t *p = peer_find(n, id);
    if (!p) {
        char hex[65];
        if (!(p = calloc(1, sizeof *p)))
            return NULL;
        p->n = n;
        memcpy(p->id, id, 32);
        sodium_bin2hex(hex, sizeof hex, id, 32);
        snprintf(p->subject, sizeof p->subject, "weft.n.%s", hex);
        p->next = n->peers;
        n->peers = p;
        p->seen_ms = mono_ms();
        nlog(n, "sync: nats peer %.16s up", hex);
        n->cfg.on_up(n->cfg.user, p, id);
        return p;
    }
    p->seen_ms = mono_ms();
    return p;
}

static void peer_drop(sync_nats_t *n, sync_nats_peer_t *p, const char *reason)
{
    char hex[65];
    for (sync_nats_peer_t **pp = &n->peers; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    sodium_bin2hex(hex, sizeof hex, p->id, 32);
    nlog(n, "sync: nats peer %.16s down: %s", hex, reason);
    n->cfg.on_down(n->cfg.user, p, reason);
    while (p->pending) { /* unacknowledged: the server delivers them again */
        inmsg_t *m = p->pending;
        p->pending = m->next;
        natsMsg_Destroy(m->msg);
        free(m);
    }
    free(p);
}

/* Hands p's waiting stream batches to the layer above while it has room,
 * acknowledging each to the server once handed. */
static void pending_run(sync_nats_t *n, sync_nats_peer_t *p)
{
    while (p->pending && !p->closing[0] && !n->cfg.busy(n->cfg.user, p)) {
        inmsg_t *m = p->pending;
        const uint8_t *d = (const uint8_t *)natsMsg_GetData(m->msg);
        size_t len = (size_t)natsMsg_GetDataLength(m->msg);
        p->pending = m->next;
        if (!p->pending)
            p->pending_tail = NULL;
        p->frames_in++;
        p->bytes_in += len;
        int rc = n->cfg.on_batch(n->cfg.user, p, d + HDR, len - HDR);
        if (rc == 0)
            natsMsg_Ack(m->msg, NULL); /* lost: redelivered, a duplicate */
        else if (rc == WEFT_EMALFORMED)
            natsMsg_Term(m->msg, NULL);
        else /* not shared yet, or no memory: again in a second */
            natsMsg_NakWithDelay(m->msg, 1000, NULL);
        natsMsg_Destroy(m->msg);
        free(m);
    }
}

/* ---- incoming (loop thread) --------------------------------------------- */

static void in_here(sync_nats_t *n, const uint8_t *d, size_t len)
{
    if (len != HDR + 8 || d[0] != VERSION || memcmp(d + 1, n->pk, 32) == 0)
        return; /* ours, or not a presence of this version */
    /* Only the nodes this node replicates with become peers (a frame from
     * any other, an invitation, makes it one too: in_frame): with hundreds
     * of nodes on the bus, most share nothing with this one, and each
     * would be a peer of the engine, verified twice a second. */
    if (!peer_find(n, d + 1) && n->cfg.wants && !n->cfg.wants(n->cfg.user, d + 1))
        return;
    if (!verify3(DOM_HERE, d + HDR, 8, NULL, 0, d + 33, d + 1)) {
        nlog(n, "sync: nats: a presence message whose signature does not verify; ignored");
        return;
    }
    peer_seen(n, d + 1);
}

static int frame_publish(sync_nats_t *n, const uint8_t to[32], const char *subject,
                         const char *reply, uint8_t type, const uint8_t *payload, size_t len);

/* A frame to this node (on weft.n.<us>, or a reply on weft.r.<us>). A VV
 * with a reply subject is a request: once the engine has it, this node's
 * VV of the context goes back on the reply subject, which must be the
 * sender's own (weft.r.<sender hex>): the subject is not signed, so a
 * frame replayed with another one makes us publish nowhere else. */
static void in_frame(sync_nats_t *n, const uint8_t *d, size_t len, const char *reply)
{
    if (len < HDR + 1 || d[0] != VERSION || memcmp(d + 1, n->pk, 32) == 0)
        return;
    /* the signature covers the addressee: a frame for another node,
     * republished on our subject, does not verify */
    if (!verify3(DOM_FRAME, n->pk, 32, d + HDR, len - HDR, d + 33, d + 1)) {
        nlog(n, "sync: nats: a frame whose signature does not verify (%zu bytes); dropped", len);
        return;
    }
    sync_nats_peer_t *p = peer_seen(n, d + 1);
    if (!p || p->closing[0])
        return;
    p->frames_in++;
    p->bytes_in += len;
    n->cfg.on_frame(n->cfg.user, p, d[HDR], d + HDR + 1, len - HDR - 1);
    if (d[HDR] == SYNC_MSG_VV && reply && reply[0] && !p->closing[0] && n->cfg.vv_reply) {
        char want[8 + 64 + 1], hex[65];
        uint8_t *out = NULL;
        size_t out_len = 0;
        sodium_bin2hex(hex, sizeof hex, p->id, 32);
        snprintf(want, sizeof want, "weft.r.%s", hex);
        if (strcmp(reply, want) != 0) {
            nlog(n, "sync: nats: a VV request of %.16s with a reply subject not its own (%.80s); "
                    "not answered", hex, reply);
            return;
        }
        if (n->cfg.vv_reply(n->cfg.user, p, d + HDR + 1, len - HDR - 1, &out, &out_len) == 0 &&
            frame_publish(n, p->id, reply, NULL, SYNC_MSG_VV, out, out_len) == 0) {
            p->frames_out++;
            p->bytes_out += HDR + 1 + out_len;
        }
        free(out); /* a reply lost: the next request, or the peer's own, covers it */
    }
}

typedef struct {
    const uint8_t *origin;
    int bad;
} origin_check_t;

static int check_origin(void *user, size_t group, const uint8_t *origin, uint64_t seq,
                        const uint8_t *bytes, size_t len)
{
    origin_check_t *c = user;
    (void)group, (void)seq, (void)bytes, (void)len;
    if (memcmp(origin, c->origin, 32) != 0) {
        c->bad = 1;
        return 1;
    }
    return 0;
}

/* A stream batch: checked (signature, origin of every op, context of the
 * subject), then queued on its origin's peer. Returns 1 when m was kept. */
static int in_stream(sync_nats_t *n, inmsg_t *m)
{
    const uint8_t *d = (const uint8_t *)natsMsg_GetData(m->msg);
    size_t len = (size_t)natsMsg_GetDataLength(m->msg);
    const char *subj = natsMsg_GetSubject(m->msg);
    const char *tok = subj ? strrchr(subj, '.') : NULL;
    uint8_t sub_origin[32], ctx[WEFT_CRDT_CONTEXT_MAX], h[32];
    size_t ctx_len, hl;
    char hh[65];
    const char *why = NULL;
    origin_check_t oc;
    if (len < HDR + 1 || d[0] != VERSION || !tok || strlen(tok + 1) != 64 ||
        sodium_hex2bin(sub_origin, 32, tok + 1, 64, NULL, &hl, NULL) != 0 || hl != 32) {
        why = "malformed";
        goto bad;
    }
    if (memcmp(d + 1, sub_origin, 32) != 0) {
        why = "signed by another node than its subject's";
        goto bad;
    }
    if (memcmp(d + 1, n->pk, 32) == 0)
        goto ours;
    if (!verify3(DOM_OPS, d + 1, 32, d + HDR, len - HDR, d + 33, d + 1)) {
        why = "its signature does not verify";
        goto bad;
    }
    oc.origin = d + 1;
    oc.bad = 0;
    if (repl_ops_walk(d + HDR, len - HDR, ctx, &ctx_len, check_origin, &oc) < 0) {
        why = "not an OPS frame";
        goto bad;
    }
    if (oc.bad) {
        why = "it holds ops of another origin than its signer";
        goto bad;
    }
    crypto_hash_sha256(h, ctx, ctx_len);
    sodium_bin2hex(hh, sizeof hh, h, 16);
    if (strncmp(subj, "weft.c.", 7) != 0 || strncmp(subj + 7, hh, 32) != 0) {
        why = "its context is not its stream's";
        goto bad;
    }
    sync_nats_peer_t *p = peer_seen(n, d + 1);
    if (!p)
        return 0; /* unacknowledged: delivered again */
    m->next = NULL;
    if (p->pending_tail)
        p->pending_tail->next = m;
    else
        p->pending = m;
    p->pending_tail = m;
    pending_run(n, p);
    return 1;
bad:
    nlog(n, "sync: nats: a stream message on %s refused: %s", subj ? subj : "?", why);
    natsMsg_Term(m->msg, NULL); /* never applies: not delivered again */
    return 0;
ours:
    natsMsg_Ack(m->msg, NULL);
    return 0;
}

static void on_wake(uv_async_t *a)
{
    sync_nats_t *n = a->data;
    pthread_mutex_lock(&n->mu);
    inmsg_t *list = n->in;
    n->in = n->in_tail = NULL;
    pthread_mutex_unlock(&n->mu);
    while (list) {
        inmsg_t *m = list;
        const uint8_t *d = (const uint8_t *)natsMsg_GetData(m->msg);
        size_t len = (size_t)natsMsg_GetDataLength(m->msg);
        list = m->next;
        if (m->kind == IN_LOG) {
            nlog(n, "%s", m->line);
            free(m);
            continue;
        }
        if (m->kind == IN_STREAM && in_stream(n, m))
            continue; /* kept, acknowledged when handed on */
        if (m->kind == IN_HERE)
            in_here(n, d, len);
        else if (m->kind == IN_FRAME)
            in_frame(n, d, len, natsMsg_GetReply(m->msg));
        natsMsg_Destroy(m->msg);
        free(m);
    }
}

static void here(sync_nats_t *n)
{
    uint8_t b[HDR + 8];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    b[0] = VERSION;
    memcpy(b + 1, n->pk, 32);
    for (int i = 0; i < 8; i++)
        b[HDR + i] = (uint8_t)(ms >> (56 - 8 * i));
    if (sign3(n, DOM_HERE, b + HDR, 8, NULL, 0, b + 33) == 0)
        natsConnection_Publish(n->nc, "weft.here", b, (int)sizeof b);
}

static void on_tick(uv_timer_t *t)
{
    sync_nats_t *n = t->data;
    uint64_t now = mono_ms();
    if (now - n->here_ms >= HERE_MS) {
        n->here_ms = now;
        here(n);
    }
    for (sync_nats_peer_t *p = n->peers, *next; p; p = next) {
        next = p->next;
        if (p->closing[0]) {
            char why[128];
            snprintf(why, sizeof why, "%s", p->closing);
            peer_drop(n, p, why);
        } else if (!p->pending && now - p->seen_ms >= SILENT_MS) {
            peer_drop(n, p, "silent for 3 s");
        } else {
            pending_run(n, p);
            if (p->blocked) {
                p->blocked = 0;
                n->cfg.on_writable(n->cfg.user, p);
            }
        }
    }
}

/* ---- the worker: streams, consumers, publishing -------------------------- */

typedef struct {
    sync_nats_t *n;
    repl_ops_writer_t *w;
    uint64_t first, last;
    int rc;
} collect_t;

static int collect_op(void *user, const uint8_t *bytes, size_t len)
{
    collect_t *c = user;
    weft_crdt_op_t op;
    if (weft_crdt_op_decode(bytes, len, &op) < 0) {
        c->rc = WEFT_EMALFORMED;
        return 1;
    }
    if (memcmp(op.origin, c->n->pk, 32) != 0)
        return 0; /* others' ops go from their origins */
    if (c->w->nops > 0 && repl_ops_size(c->w) + len + 16 > BATCH_BYTES)
        return 1;
    if (repl_ops_add(c->w, &op) < 0) {
        c->rc = WEFT_ENOMEM;
        return 1;
    }
    if (!c->first)
        c->first = op.seq;
    c->last = op.seq;
    return 0;
}

typedef struct {
    weft_crdt_id_t *v;
    size_t n, cap;
    int rc;
} vvbuf_t;

static int vv_one(void *user, const uint8_t *origin, uint64_t seq)
{
    vvbuf_t *b = user;
    if (repl_grow((void **)&b->v, &b->cap, b->n, sizeof *b->v, 8) < 0) {
        b->rc = WEFT_ENOMEM;
        return 1;
    }
    memcpy(b->v[b->n].origin, origin, 32);
    b->v[b->n++].seq = seq;
    return 0;
}

/* The next batch of this node's ops past c->mark into w (w->nops 0: none). */
static int next_batch(sync_nats_t *n, wctx_t *c, repl_ops_writer_t *w, uint64_t *first,
                      uint64_t *last)
{
    weft_txn_t *txn;
    vvbuf_t vv = {NULL, 0, 0, 0};
    collect_t col = {n, w, 0, 0, 0};
    size_t len = strlen(c->name);
    int rc = weft_txn_begin(n->cfg.db, WEFT_TXN_READ, &txn);
    if (rc < 0)
        return rc;
    rc = weft_crdt_version_vector(txn, (const uint8_t *)c->name, len, vv_one, &vv);
    if (rc == 0 && vv.rc == 0) {
        /* every origin at its mark but ours, at what the stream has */
        size_t i = 0;
        while (i < vv.n && memcmp(vv.v[i].origin, n->pk, 32) != 0)
            i++;
        if (i == vv.n) { /* nothing of ours: nothing to publish */
            rc = 0;
            goto out;
        }
        vv.v[i].seq = c->mark;
        repl_ops_begin(w, (const uint8_t *)c->name, len);
        rc = weft_crdt_missing(txn, (const uint8_t *)c->name, len, vv.v, vv.n, collect_op, &col);
        if (rc == 0)
            rc = col.rc;
        if (rc == 0 && w->nops > 0)
            rc = repl_ops_end(w);
    } else if (rc == 0) {
        rc = vv.rc;
    }
out:
    weft_txn_abort(txn);
    free(vv.v);
    *first = col.first;
    *last = col.last;
    return rc;
}

static int publish(sync_nats_t *n, wctx_t *c)
{
    repl_ops_writer_t w;
    int rc = 0;
    memset(&w, 0, sizeof w);
    for (;;) {
        uint64_t first, last;
        w.nops = 0;
        if ((rc = next_batch(n, c, &w, &first, &last)) < 0 || w.nops == 0)
            break;
        size_t len = HDR + w.frame.len;
        uint8_t *b = malloc(len);
        natsMsg *m = NULL;
        jsPubAck *pa = NULL;
        jsErrCode jerr = 0;
        char id[64 + 1 + 20 + 1 + 20 + 1];
        if (!b) {
            rc = WEFT_ENOMEM;
            break;
        }
        b[0] = VERSION;
        memcpy(b + 1, n->pk, 32);
        memcpy(b + HDR, w.frame.p, w.frame.len);
        sign3(n, DOM_OPS, n->pk, 32, w.frame.p, w.frame.len, b + 33);
        snprintf(id, sizeof id, "%s.%llu.%llu", n->self_hex, (unsigned long long)first,
                 (unsigned long long)last);
        natsStatus s = natsMsg_Create(&m, c->own, NULL, (const char *)b, (int)len);
        if (s == NATS_OK)
            s = natsMsgHeader_Set(m, "Nats-Msg-Id", id);
        if (s == NATS_OK)
            s = js_PublishMsg(&pa, n->js, m, NULL, &jerr);
        jsPubAck_Destroy(pa);
        natsMsg_Destroy(m);
        free(b);
        if (s != NATS_OK) {
            nlog(n, "sync: nats: publishing ops %llu..%llu of context %s failed: %s (%d); "
                    "again in %d ms", (unsigned long long)first, (unsigned long long)last,
                 c->name, natsStatus_GetText(s), (int)jerr, RETRY_MS);
            rc = WEFT_EIO;
            break;
        }
        c->mark = last;
    }
    repl_ops_writer_free(&w);
    return rc;
}

/* Stream, consumer and mark of c, made once; then its new ops published. */
static int ctx_work(sync_nats_t *n, wctx_t *c)
{
    jsErrCode jerr = 0;
    natsStatus s;
    if (!c->stream_ok) {
        jsStreamConfig sc;
        jsStreamInfo *si = NULL;
        const char *subjects[1] = {c->subjects};
        jsStreamConfig_Init(&sc);
        sc.Name = c->stream;
        sc.Subjects = subjects;
        sc.SubjectsLen = 1;
        sc.Storage = js_FileStorage;
        sc.Replicas = n->cfg.replicas > 0 ? n->cfg.replicas : 1;
        sc.Duplicates = (int64_t)120 * 1000 * 1000 * 1000; /* ns */
        s = js_AddStream(&si, n->js, &sc, NULL, &jerr);
        jsStreamInfo_Destroy(si);
        if (s != NATS_OK && jerr != JSStreamNameExistErr) {
            nlog(n, "sync: nats: stream %s of context %s: %s (%d)", c->stream, c->name,
                 natsStatus_GetText(s), (int)jerr);
            return WEFT_EIO;
        }
        if (s != NATS_OK) /* made by another member with other settings: used as it is */
            nlog(n, "sync: nats: stream %s of context %s exists with other settings; used as "
                    "it is", c->stream, c->name);
        c->stream_ok = 1;
    }
    if (!c->sub) {
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = c->stream;
        so.ManualAck = true;
        so.Config.Durable = n->durable;
        so.Config.AckPolicy = js_AckExplicit;
        so.Config.DeliverPolicy = js_DeliverAll;
        so.Config.MaxAckPending = MAX_ACK_PENDING;
        so.Config.AckWait = (int64_t)30 * 1000 * 1000 * 1000;
        /* a batch refused for a while (its origin is not a member here:
         * removed, say) is not delivered for ever: anti-entropy brings
         * whatever becomes due later */
        so.Config.MaxDeliver = 60;
        s = js_Subscribe(&c->sub, n->js, c->subjects, on_stream_msg, n, NULL, &so, &jerr);
        if (s == NATS_OK)
            sub_track(n, c->sub);
        if (s != NATS_OK) {
            c->sub = NULL;
            nlog(n, "sync: nats: consumer %s of stream %s: %s (%d)", n->durable, c->stream,
                 natsStatus_GetText(s), (int)jerr);
            return WEFT_EIO;
        }
    }
    if (!c->mark_known) {
        natsMsg *m = NULL;
        s = js_GetLastMsg(&m, n->js, c->stream, c->own, NULL, &jerr);
        if (s == NATS_OK) {
            const char *id = NULL;
            const char *dot;
            if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id &&
                (dot = strrchr(id, '.')) != NULL)
                c->mark = strtoull(dot + 1, NULL, 10);
            natsMsg_Destroy(m);
        } else if (jerr != JSNoMessageFoundErr) {
            nlog(n, "sync: nats: last message of %s: %s (%d)", c->own, natsStatus_GetText(s),
                 (int)jerr);
            return WEFT_EIO;
        }
        c->mark_known = 1;
    }
    return publish(n, c);
}

static void *worker_main(void *arg)
{
    sync_nats_t *n = arg;
    pthread_mutex_lock(&n->mu);
    while (!n->wstop) {
        wctx_t *todo = NULL;
        uint64_t now = mono_ms();
        for (wctx_t *c = n->ctxs; c && !todo; c = c->next)
            if ((c->dirty && !c->failed_ms) || (c->failed_ms && now - c->failed_ms >= RETRY_MS))
                todo = c;
        if (!todo) {
            wait_ms(n, 200);
            continue;
        }
        todo->dirty = 0;
        pthread_mutex_unlock(&n->mu);
        int rc = ctx_work(n, todo); /* the list only grows: todo stays */
        pthread_mutex_lock(&n->mu);
        todo->failed_ms = rc < 0 ? (mono_ms() | 1) : 0;
    }
    /* Stopping: publish what is left of every context set up, so that a
     * node stopped cleanly leaves all its ops in the streams (a member
     * that comes back while it is down finds them there). Bounded: a
     * publish waits for the server at most the client's timeout. */
    for (wctx_t *c = n->ctxs; c; c = c->next) {
        if (!c->stream_ok || !c->mark_known || c->failed_ms)
            continue;
        pthread_mutex_unlock(&n->mu);
        publish(n, c);
        pthread_mutex_lock(&n->mu);
    }
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

/* ---- API ------------------------------------------------------------------- */

void sync_nats_notify(sync_nats_t *n, const char *ctx)
{
    size_t len = strlen(ctx);
    wctx_t *c;
    if (len == 0 || len > WEFT_CRDT_CONTEXT_MAX)
        return;
    pthread_mutex_lock(&n->mu);
    for (c = n->ctxs; c; c = c->next)
        if (strcmp(c->name, ctx) == 0)
            break;
    if (!c && (c = calloc(1, sizeof *c)) != NULL) {
        uint8_t h[32];
        char hh[33];
        memcpy(c->name, ctx, len + 1);
        crypto_hash_sha256(h, (const uint8_t *)ctx, len);
        sodium_bin2hex(hh, sizeof hh, h, 16);
        snprintf(c->stream, sizeof c->stream, "WEFT_%s", hh);
        snprintf(c->subjects, sizeof c->subjects, "weft.c.%s.>", hh);
        snprintf(c->own, sizeof c->own, "weft.c.%s.%s", hh, n->self_hex);
        c->next = n->ctxs;
        n->ctxs = c;
    }
    if (c)
        c->dirty = 1;
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

/* A signed frame to node `to` on subject (with reply as its reply
 * subject, or none): 0, WEFT_ENOMEM, or WEFT_ELIMIT when the client
 * refuses it (its buffer is full, or the connection is closed). */
static int frame_publish(sync_nats_t *n, const uint8_t to[32], const char *subject,
                         const char *reply, uint8_t type, const uint8_t *payload, size_t len)
{
    size_t wl = HDR + 1 + len;
    uint8_t *b = malloc(wl);
    natsStatus s;
    if (!b)
        return WEFT_ENOMEM;
    b[0] = VERSION;
    memcpy(b + 1, n->pk, 32);
    b[HDR] = type;
    if (len)
        memcpy(b + HDR + 1, payload, len);
    if (sign3(n, DOM_FRAME, to, 32, b + HDR, 1 + len, b + 33) != 0) {
        free(b);
        return WEFT_ENOMEM;
    }
    if (reply)
        s = natsConnection_PublishRequest(n->nc, subject, reply, b, (int)wl);
    else
        s = natsConnection_Publish(n->nc, subject, b, (int)wl);
    free(b);
    return s == NATS_OK ? 0 : WEFT_ELIMIT;
}

/* A VV goes as a request (docs/sync.md "NATS transport"): the peer's reply
 * on our reply subject is its VV of the same context. */
int sync_nats_send(sync_nats_peer_t *p, uint8_t type, const uint8_t *payload, size_t len)
{
    sync_nats_t *n = p->n;
    int rc = frame_publish(n, p->id, p->subject, type == SYNC_MSG_VV ? n->reply_subject : NULL,
                           type, payload, len);
    if (rc == WEFT_ELIMIT)
        p->blocked = 1;
    if (rc != 0)
        return rc;
    p->frames_out++;
    p->bytes_out += HDR + 1 + len;
    return 0;
}

void sync_nats_close(sync_nats_peer_t *p, const char *reason)
{
    if (!p->closing[0])
        snprintf(p->closing, sizeof p->closing, "%s", reason && reason[0] ? reason : "closed");
}

void sync_nats_info(sync_nats_t *n, void (*fn)(void *user, const sync_link_info_t *info),
                    void *user)
{
    for (sync_nats_peer_t *p = n->peers; p; p = p->next) {
        sync_link_info_t i;
        memset(&i, 0, sizeof i);
        memcpy(i.id, p->id, 32);
        snprintf(i.addr, sizeof i.addr, "nats");
        i.up = 1;
        i.bytes_in = p->bytes_in;
        i.bytes_out = p->bytes_out;
        i.frames_in = p->frames_in;
        i.frames_out = p->frames_out;
        fn(user, &i);
    }
}

static void on_closed_handle(uv_handle_t *h)
{
    sync_nats_t *n = h->data;
    if (++n->nclosed < 2)
        return;
    while (n->in) { /* queued before closed was set, not taken by the loop */
        inmsg_t *m = n->in;
        n->in = m->next;
        if (m->msg)
            natsMsg_Destroy(m->msg);
        free(m);
    }
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    sodium_memzero(n->sk, sizeof n->sk);
    free(n);
}

static void nats_free_conn(sync_nats_t *n)
{
    /* Closing the connection closes its subscriptions; their handlers and
     * the connection's callbacks may still be running on libnats' threads:
     * wait for each subscription's last handler and for the closed
     * callback, which comes last (at most 5 s). */
    if (n->nc)
        natsConnection_Close(n->nc);
    pthread_mutex_lock(&n->mu);
    uint64_t end = mono_ms() + 5000;
    while ((n->live_subs > 0 || (n->nc && !n->conn_closed)) && mono_ms() < end) {
        wait_ms(n, 50);
    }
    pthread_mutex_unlock(&n->mu);
    if (n->sub_self)
        natsSubscription_Destroy(n->sub_self);
    if (n->sub_here)
        natsSubscription_Destroy(n->sub_here);
    if (n->sub_reply)
        natsSubscription_Destroy(n->sub_reply);
    for (wctx_t *c = n->ctxs; c; c = c->next)
        if (c->sub) {
            natsSubscription_Destroy(c->sub);
            c->sub = NULL;
        }
    jsCtx_Destroy(n->js);
    if (n->nc)
        natsConnection_Destroy(n->nc);
    natsOptions_Destroy(n->opts);
    n->js = NULL;
    n->nc = NULL;
    n->opts = NULL;
}

void sync_nats_stop(sync_nats_t *n)
{
    pthread_mutex_lock(&n->mu);
    n->wstop = 1;
    pthread_cond_signal(&n->cv);
    pthread_mutex_unlock(&n->mu);
    if (n->worker_started)
        pthread_join(n->worker, NULL);
    /* No wake after this: a callback still running sees closed. */
    pthread_mutex_lock(&n->mu);
    n->closed = 1;
    pthread_mutex_unlock(&n->mu);
    nats_free_conn(n);
    while (n->peers)
        peer_drop(n, n->peers, "stopped");
    while (n->ctxs) {
        wctx_t *c = n->ctxs;
        n->ctxs = c->next;
        free(c);
    }
    uv_timer_stop(&n->tick);
    uv_close((uv_handle_t *)&n->tick, on_closed_handle);
    uv_close((uv_handle_t *)&n->wake, on_closed_handle);
}

/* ---- nkeys: the public key of a user seed file ------------------------------
 * libnats signs with a seed file but wants the public key beside it; an
 * nkey seed file holds the seed only. An nkey is base32 (RFC 4648, no
 * padding) of prefix bytes, the 32-byte key and a CRC-16/XMODEM of those,
 * little-endian: a user seed starts with the bytes 0x90 | (0xa0 >> 5) and
 * (0xa0 & 31) << 3 ("SU..."), its public key with 0xa0 ("U..."). */

static uint16_t crc16_xmodem(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* Decodes base32 text (up to a non-alphabet byte) into out; its length or -1. */
static int b32_decode(const char *t, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (; *t && strchr(B32, *t); t++) {
        acc = acc << 5 | (uint32_t)(strchr(B32, *t) - B32);
        bits += 5;
        if (bits >= 8) {
            if (n == cap)
                return -1;
            out[n++] = (uint8_t)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    return (int)n;
}

static void b32_encode(const uint8_t *p, size_t n, char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = acc << 8 | p[i];
        bits += 8;
        while (bits >= 5) {
            *out++ = B32[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        *out++ = B32[(acc << (5 - bits)) & 31];
    *out = '\0';
}

/* The public key ("U...", 56 characters) of the user seed at the start of
 * text: 0, or -1 when it is not one (a bad checksum included). */
static int nkey_public(const char *text, char out[64])
{
    uint8_t raw[64], pk[32], sk[64], pub[35];
    int n = b32_decode(text, raw, sizeof raw);
    int rc = -1;
    if (n != 36 || raw[0] != (0x90 | (0xa0 >> 5)) || raw[1] != ((0xa0 & 31) << 3) ||
        crc16_xmodem(raw, 34) != (uint16_t)(raw[34] | raw[35] << 8))
        goto out;
    crypto_sign_seed_keypair(pk, sk, raw + 2);
    pub[0] = 0xa0;
    memcpy(pub + 1, pk, 32);
    uint16_t crc = crc16_xmodem(pub, 33);
    pub[33] = (uint8_t)crc;
    pub[34] = (uint8_t)(crc >> 8);
    b32_encode(pub, sizeof pub, out);
    rc = 0;
out:
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(sk, sizeof sk);
    return rc;
}

/* Given so that natsConnection_Connect returns at once when no server
 * answers yet (without it, it would retry for ever inside the call). */
static void on_connected(natsConnection *nc, void *closure)
{
    conn_event(nc, closure, "connected to");
}

int sync_nats_start(const sync_nats_config_t *cfg, sync_nats_t **out, char *msg,
                    size_t msg_size)
{
    sync_nats_t *n;
    natsStatus s;
    *out = NULL;
    if (!cfg->url || strncmp(cfg->url, "nats://", 7) != 0) {
        snprintf(msg, msg_size, "--sync wants nats://HOST:PORT[,nats://HOST:PORT...]");
        return WEFT_EARG;
    }
    if (!(n = calloc(1, sizeof *n)))
        return WEFT_ENOMEM;
    n->cfg = *cfg;
    memcpy(n->pk, cfg->public_key, 32);
    memcpy(n->sk, cfg->secret_key, 64);
    sodium_bin2hex(n->self_hex, sizeof n->self_hex, n->pk, 32);
    snprintf(n->self_subject, sizeof n->self_subject, "weft.n.%s", n->self_hex);
    snprintf(n->reply_subject, sizeof n->reply_subject, "weft.r.%s", n->self_hex);
    snprintf(n->durable, sizeof n->durable, "n%.16s", n->self_hex);
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    s = natsOptions_Create(&n->opts);
    if (s == NATS_OK) {
        /* the list, tried in its order (the first is the nearest) */
        char *list = strdup(cfg->url), *save = NULL;
        const char *urls[16];
        int nurls = 0;
        if (!list)
            goto fail;
        for (char *u = strtok_r(list, ",", &save); u && nurls < 16; u = strtok_r(NULL, ",", &save))
            urls[nurls++] = u;
        s = natsOptions_SetServers(n->opts, urls, nurls);
        free(list);
    }
    if (s == NATS_OK)
        s = natsOptions_SetNoRandomize(n->opts, true);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(n->opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(n->opts, 250);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectBufSize(n->opts, 8 << 20);
    if (s == NATS_OK)
        s = natsOptions_SetName(n->opts, n->durable);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(n->opts, on_disconnected, n);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(n->opts, on_reconnected, n);
    if (s == NATS_OK)
        s = natsOptions_SetErrorHandler(n->opts, on_async_error, n);
    if (s == NATS_OK)
        s = natsOptions_SetClosedCB(n->opts, on_closed, n);
    /* A server that stops answering (a partition, a stopped process) is
     * left within about 3 s for another of the list, not the 4 minutes of
     * the client's defaults. */
    if (s == NATS_OK)
        s = natsOptions_SetPingInterval(n->opts, 1000);
    if (s == NATS_OK)
        s = natsOptions_SetMaxPingsOut(n->opts, 2);
    if (s != NATS_OK) {
        snprintf(msg, msg_size, "--sync %s: %s", cfg->url, natsStatus_GetText(s));
        goto fail;
    }
    if (cfg->ca) {
        /* TLS required, the server's certificate checked against these
         * CAs (and its name against the URL's host) */
        s = natsOptions_SetSecure(n->opts, true);
        if (s == NATS_OK)
            s = natsOptions_LoadCATrustedCertificates(n->opts, cfg->ca);
        if (s != NATS_OK) {
            const char *why = nats_GetLastError(NULL), *p = why ? strstr(why, "): ") : NULL;
            if (why && why[0] == '(' && p)
                why = p + 3;
            snprintf(msg, msg_size, "--nats-ca %s: %s%s%s", cfg->ca, natsStatus_GetText(s),
                     why && *why ? ": " : "", why && *why ? why : "");
            goto fail;
        }
    }
    if (cfg->creds) {
        /* a .creds file holds a JWT and a seed; a seed file only the seed */
        FILE *f = fopen(cfg->creds, "r");
        char head[128] = "", pub[64];
        if (!f) {
            snprintf(msg, msg_size, "--nats-creds %s: cannot read it", cfg->creds);
            goto fail;
        }
        if (!fgets(head, sizeof head, f))
            head[0] = '\0';
        fclose(f);
        if (strncmp(head, "SU", 2) == 0) {
            if (nkey_public(head, pub) != 0) {
                snprintf(msg, msg_size, "--nats-creds %s: not an nkey user seed", cfg->creds);
                goto fail;
            }
            s = natsOptions_SetNKeyFromSeed(n->opts, pub, cfg->creds);
        } else
            s = natsOptions_SetUserCredentialsFromFiles(n->opts, cfg->creds, NULL);
        if (s != NATS_OK) {
            snprintf(msg, msg_size, "--nats-creds %s: %s", cfg->creds, natsStatus_GetText(s));
            goto fail;
        }
    }
    if (uv_async_init(cfg->loop, &n->wake, on_wake) != 0)
        goto fail;
    n->wake.data = n;
    uv_timer_init(cfg->loop, &n->tick);
    n->tick.data = n;
    /* A first attempt without retrying in the background: libnats (3.4)
     * closes a connection refused at its first attempt for good with "No
     * server available", having lost the server's reason. A refusal
     * (an authorization error) fails the start with the server's words;
     * anything else (nothing answers yet) connects in the background. */
    s = natsOptions_SetRetryOnFailedConnect(n->opts, false, NULL, NULL);
    if (s == NATS_OK)
        s = natsConnection_Connect(&n->nc, n->opts);
    char first[200] = ""; /* why the first attempt failed, in the server's or TLS's words */
    if (s != NATS_OK) {
        /* "(conn.c:NNN): Authorization Violation": the words after the place */
        const char *why = nats_GetLastError(NULL), *p = why ? strstr(why, "): ") : NULL;
        if (why && why[0] == '(' && p)
            why = p + 3;
        snprintf(first, sizeof first, "%s", why ? why : "");
    }
    /* A refusal that will not change by itself fails the start: the
     * server's authorization, or TLS (a certificate that does not verify
     * with --nats-ca, TLS wanted on one side only). */
    if (s == NATS_CONNECTION_AUTH_FAILED || s == NATS_SSL_ERROR ||
        s == NATS_SECURE_CONNECTION_WANTED || s == NATS_SECURE_CONNECTION_REQUIRED) {
        snprintf(msg, msg_size, "--sync %s: %s: %s", cfg->url, natsStatus_GetText(s),
                 first[0] ? first : "refused");
        goto fail_handles;
    }
    if (s != NATS_OK) {
        s = natsOptions_SetRetryOnFailedConnect(n->opts, true, on_connected, n);
        if (s == NATS_OK)
            s = natsConnection_Connect(&n->nc, n->opts);
    }
    if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
        snprintf(msg, msg_size, "--sync %s: %s", cfg->url, natsStatus_GetText(s));
        goto fail_handles;
    }
    if (s == NATS_NOT_YET_CONNECTED)
        nlog(n, "sync: nats: %s not reachable yet (%s); connecting in the background",
             cfg->url, first[0] ? first : "no server answers");
    s = natsConnection_JetStream(&n->js, n->nc, NULL);
    if (s == NATS_OK &&
        (s = natsConnection_Subscribe(&n->sub_self, n->nc, n->self_subject, on_frame_msg, n)) ==
            NATS_OK)
        sub_track(n, n->sub_self);
    if (s == NATS_OK &&
        (s = natsConnection_Subscribe(&n->sub_here, n->nc, "weft.here", on_here_msg, n)) ==
            NATS_OK)
        sub_track(n, n->sub_here);
    if (s == NATS_OK &&
        (s = natsConnection_Subscribe(&n->sub_reply, n->nc, n->reply_subject, on_frame_msg, n)) ==
            NATS_OK)
        sub_track(n, n->sub_reply);
    if (s != NATS_OK) {
        const char *err = NULL;
        if (n->nc)
            natsConnection_GetLastError(n->nc, &err);
        pthread_mutex_lock(&n->mu);
        snprintf(msg, msg_size, "--sync %s: %s%s%s%s%s", cfg->url, natsStatus_GetText(s),
                 err && *err ? ": " : "", err && *err ? err : "",
                 n->last_event[0] ? "; " : "", n->last_event + (n->last_event[0] ? 12 : 0));
        pthread_mutex_unlock(&n->mu);
        goto fail_handles;
    }
    if (pthread_create(&n->worker, NULL, worker_main, n) != 0)
        goto fail_handles;
    n->worker_started = 1;
    uv_timer_start(&n->tick, on_tick, TICK_MS, TICK_MS);
    here(n);
    n->here_ms = mono_ms();
    *out = n;
    return 0;
fail_handles:
    pthread_mutex_lock(&n->mu);
    n->closed = 1;
    pthread_mutex_unlock(&n->mu);
    nats_free_conn(n);
    uv_close((uv_handle_t *)&n->tick, on_closed_handle);
    uv_close((uv_handle_t *)&n->wake, on_closed_handle);
    return WEFT_EIO; /* n is freed when the loop closes the handles */
fail:
    nats_free_conn(n);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    free(n);
    return msg && msg[0] ? WEFT_EARG : WEFT_EIO;
}

static int tx_start(const sync_transport_config_t *cfg, void **out, char *msg, size_t msg_size)
{
    sync_nats_t *n;
    int rc = sync_nats_start(cfg, &n, msg, msg_size);
    *out = rc == 0 ? n : NULL;
    return rc;
}

static int tx_send(void *peer, uint8_t type, const uint8_t *b, size_t len)
{
    return sync_nats_send(peer, type, b, len);
}

static void tx_close(void *peer, const char *reason) { sync_nats_close(peer, reason); }
static void tx_notify(void *t, const char *ctx) { sync_nats_notify(t, ctx); }
static void tx_add_peer(void *t, const char *addr) { (void)t, (void)addr; /* peers are heard */ }
static int tx_port(void *t) { return (void)t, 0; }

static void tx_info(void *t, void (*fn)(void *user, const sync_link_info_t *info), void *user)
{
    sync_nats_info(t, fn, user);
}

static void tx_stop(void *t) { sync_nats_stop(t); }

static const struct weft_sync_transport nats_transport = {
    "nats", 1, tx_start, tx_send, tx_close, tx_notify, tx_add_peer, tx_port, tx_info, tx_stop,
};

const weft_sync_transport_t *weft_sync_nats_transport(void)
{
    return &nats_transport;
}
