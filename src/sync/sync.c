/*
 * sync.c — weft_sync_t: the sync thread, gluing a transport (transport.h:
 * the peer links of link.c, or NATS of nats.c) to the replication engine
 * (repl.c), with membership and invitations.
 *
 * Threads. One thread runs a libuv loop: every link callback, the engine,
 * the membership cache and the invitations run there. Other threads reach
 * it only through `mu`-guarded queues and uv_async_send (notify, write
 * completions, stop) or read the peers' snapshot under `mu`.
 *
 * Membership. A context's members are the ORSet under WEFT_SYNC_MEMBERS_KEY
 * (weft/sync.h). The loop caches each context's members and reloads one
 * when a commit touched it (weft_sync_notify) or a batch from a peer was
 * applied (any context may have changed then: every entry is marked
 * stale and reloaded on its next use).
 *
 * Invitations (docs/sync.md "Membership"). When a link comes up, and when a
 * context's members change, this node sends every up peer that is a member
 * of a context both share an INVITE: the context's name, app id and
 * members. A node that is invited by a member, is a member itself and lacks
 * the context fetches the app's module bytes from the inviter if it lacks
 * them (APP_REQ / APP_CHUNK, one chunk at a time), then joins through the
 * embedder (on libuv's thread pool: it compiles a module) and restarts the
 * engine's session with the inviter, so the version vectors are exchanged
 * at once.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include <sodium.h>

#include "blobsync.h"
#include "repl.h"
#include "synclog.h"
#include "transport.h"
#include "weft/crdt.h"
#include "weft/crdt_store.h"
#include "weft/error.h"
#include "weft/sync.h"

/* Frame types of this file (link.h: >= SYNC_TYPE_USER; repl.h has 0x1x). */
enum {
    MSG_INVITE = 0x20,    /* u16 ctx_len, ctx, app id[64], u32 n, n x id[32] */
    MSG_APP_REQ = 0x21,   /* app id[64], u32 offset */
    MSG_APP_CHUNK = 0x22, /* app id[64], u32 total, u32 offset, bytes */
    MSG_JOINED = 0x23,    /* u16 ctx_len, ctx: "I joined it: start again with me" */
};

#define APP_ID_LEN 64
#define APP_CHUNK ((size_t)256 << 10)
#define APP_MAX ((size_t)64 << 20) /* module bytes a peer may send */
#define MAX_MEMBERS 4096u
#define TICK_MS 100
/* An app download that got no chunk for JOIN_RETRY_MS asks again for the
 * one it waits for (a request or chunk the link refused, or a peer slow to
 * answer); one that got none for JOIN_STALL_MS is dropped, and the next
 * invitation starts it again. */
#define JOIN_RETRY_MS 1000
#define JOIN_STALL_MS 30000

typedef struct member_entry {
    char *ctx;
    size_t ctx_len;
    uint8_t *ids; /* n x 32, sorted */
    size_t n;
    int stale;
    struct member_entry *next;
} member_entry_t;

typedef struct peer {
    void *link; /* the transport's handle of the peer */
    sync_repl_peer_t *rp;
    uint8_t id[32];
    /* sends the link refused (WEFT_ELIMIT), made again on on_writable */
    int reinvite;                       /* an INVITE: invite_all again */
    int rechunk;                        /* the APP_CHUNK of chunk_app at chunk_off */
    char chunk_app[65];
    uint32_t chunk_off;
    struct peer *next;
} peer_t;

/* One app download for a join (only one per context at a time). */
typedef struct join {
    weft_sync_t *s;
    uv_work_t work;
    char ctx[256];
    char app[APP_ID_LEN + 1];
    uint8_t from[32]; /* the inviter */
    uint8_t *wasm;
    size_t wasm_len, wasm_total;
    int have_app;
    uint8_t *members;
    size_t nmembers;
    int running; /* queued on the pool */
    uint64_t progress_ms, asked_ms; /* last chunk (or start), last APP_REQ */
    int rc;
    char msg[256];
    struct join *next;
} join_t;

typedef struct completion {
    void (*done)(void *arg, int rc);
    void *arg;
    int rc;
    struct completion *next;
} completion_t;

typedef struct notice {
    struct notice *next;
    char ctx[];
} notice_t;

struct weft_sync {
    weft_sync_config_t cfg;
    uint8_t pk[32], sk[64];
    char **peers;
    char *listen;
    uv_loop_t loop;
    uv_async_t wake;
    uv_timer_t tick;
    pthread_t thread;
    int thread_started;
    /* what carries the frames (transport.h), chosen once at the start:
     * the peer links, or NATS (docs/sync.md "NATS transport"; nats.c is
     * linked only into programs that can take libnats: the embedder hands
     * its table over); t its state, NULL once stopping */
    const struct weft_sync_transport *tx;
    void *t;
    sync_repl_t *repl;
    sync_blobs_t *blobs; /* blobs between nodes (blobsync.c) */
    peer_t *peer_list;
    member_entry_t *members;
    join_t *joins;
    size_t pending_writes; /* loop thread only */
    int stopping_loop;     /* loop thread only */

    /* app bytes served to peers: the last app asked for */
    char served_app[APP_ID_LEN + 1];
    uint8_t *served;
    size_t served_len;

    pthread_mutex_t mu; /* everything below */
    notice_t *notices;
    completion_t *completions;
    int stop;
    char **add_peers;
    size_t nadd_peers;
    weft_sync_peer_t *snap;
    size_t nsnap;
    weft_sync_stats_t stats;
    int port;
};

static void snapshot(weft_sync_t *s);
static void maybe_finish(weft_sync_t *s);

/* ---- small helpers ------------------------------------------------------- */

static void slog(weft_sync_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void slog(weft_sync_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sync_logv(s->cfg.log, s->cfg.user, fmt, ap);
    va_end(ap);
}

static void hex_id(const uint8_t id[32], char out[65])
{
    sodium_bin2hex(out, 65, id, 32);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void put_u16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static uint32_t get_u16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int valid_app_id(const uint8_t *p)
{
    for (size_t i = 0; i < APP_ID_LEN; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return 0;
    return 1;
}

static int tx_send(weft_sync_t *s, void *h, uint8_t type, const uint8_t *b, size_t len)
{
    return s->tx->send(h, type, b, len);
}

static void tx_close(weft_sync_t *s, void *h, const char *why)
{
    s->tx->close(h, why);
}

static peer_t *peer_of_link(weft_sync_t *s, void *link)
{
    for (peer_t *p = s->peer_list; p; p = p->next)
        if (p->link == link)
            return p;
    return NULL;
}

/* ---- membership ------------------------------------------------------------ */

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, 32); }

/* Reads ctx's members into e (sorted). Absent: none. */
typedef struct {
    member_entry_t *e;
    size_t cap;
    int too_many; /* past MAX_MEMBERS: the set is taken as empty */
} load_t;

static void load_id(void *user, const uint8_t id[32])
{
    load_t *l = user;
    member_entry_t *e = l->e;
    if (l->too_many)
        return;
    if (e->n == MAX_MEMBERS) {
        l->too_many = 1;
        return;
    }
    if (e->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        uint8_t *ids = realloc(e->ids, 32 * cap);
        if (!ids) {
            l->too_many = 1;
            return;
        }
        e->ids = ids;
        l->cap = cap;
    }
    memcpy(e->ids + 32 * e->n++, id, 32);
}

/* Reads ctx's members into e (in id order, as stored). Absent: none. */
static void members_load(weft_sync_t *s, member_entry_t *e)
{
    weft_txn_t *txn = NULL;
    load_t l = {e, 0, 0};
    free(e->ids);
    e->ids = NULL;
    e->n = 0;
    e->stale = 0;
    if (weft_txn_begin(s->cfg.db, WEFT_TXN_READ, &txn) != 0)
        return;
    if (weft_sync_members_read(txn, (const uint8_t *)e->ctx, e->ctx_len, load_id, &l) != 0 ||
        l.too_many) {
        free(e->ids);
        e->ids = NULL;
        e->n = 0;
    }
    weft_txn_abort(txn);
}

static member_entry_t *members_find(weft_sync_t *s, const uint8_t *ctx, size_t len, int create)
{
    for (member_entry_t *e = s->members; e; e = e->next)
        if (e->ctx_len == len && memcmp(e->ctx, ctx, len) == 0) {
            if (e->stale)
                members_load(s, e);
            return e;
        }
    if (!create)
        return NULL;
    member_entry_t *e = calloc(1, sizeof *e);
    if (!e || !(e->ctx = malloc(len + 1))) {
        free(e);
        return NULL;
    }
    memcpy(e->ctx, ctx, len);
    e->ctx[len] = '\0';
    e->ctx_len = len;
    members_load(s, e);
    e->next = s->members;
    s->members = e;
    return e;
}

static int members_has(const member_entry_t *e, const uint8_t id[32])
{
    return e && e->n > 0 && bsearch(id, e->ids, e->n, 32, cmp_id) != NULL; /* ids NULL at 0 */
}

/* Both this node and peer_id are members of ctx. */
/* Whether ctx is replicated with peer_id, as this node sees its members:
 * the peer must be one. This node need not be: each side sends only to,
 * and applies only from, the members it sees, so a node removed from a
 * context gets nothing from the members that saw the removal, and when a
 * member adds it again, the op that does so reaches it (it would wait for
 * ever if it also required itself in a set only that op can fix). */
static int shared_ctx(weft_sync_t *s, const uint8_t *ctx, size_t len, const uint8_t *peer_id)
{
    member_entry_t *e = members_find(s, ctx, len, 1);
    return e && members_has(e, peer_id);
}

static int load_ctx_cb(void *user, const uint8_t *ctx, size_t len, uint64_t keys)
{
    weft_sync_t *s = user;
    if (len > 0 && len < 256)
        members_find(s, ctx, len, 1);
    return 0;
}

static void members_load_all(weft_sync_t *s)
{
    weft_txn_t *txn;
    if (weft_txn_begin(s->cfg.db, WEFT_TXN_READ, &txn) != 0)
        return;
    weft_txn_contexts(txn, WEFT_SPACE_CRDT, load_ctx_cb, s);
    weft_txn_abort(txn);
}

/* ---- engine callbacks ---------------------------------------------------- */

static int repl_send(void *user, void *peer, uint8_t type, const uint8_t *payload, size_t len)
{
    return tx_send(user, peer, type, payload, len);
}

typedef struct {
    weft_sync_t *s;
    int (*fn)(weft_txn_t *txn, void *arg);
    void (*done)(void *arg, int rc);
    void *arg;
} write_ctx_t;

/* Runs on the embedder's writer thread, inside its transaction. */
static int write_fn(weft_txn_t *txn, void *arg)
{
    write_ctx_t *w = arg;
    return w->fn(txn, w->arg);
}

/* Runs on the embedder's writer thread: queue the completion for the loop. */
static void write_done(void *arg, int rc)
{
    write_ctx_t *w = arg;
    weft_sync_t *s = w->s;
    completion_t *c = malloc(sizeof *c);
    if (c) {
        c->done = w->done;
        c->arg = w->arg;
        c->rc = rc;
        pthread_mutex_lock(&s->mu);
        c->next = s->completions;
        s->completions = c;
        pthread_mutex_unlock(&s->mu);
    }
    /* Without memory the engine never hears back: it resends after its
     * timeout and the ops apply again as duplicates. */
    free(w);
    uv_async_send(&s->wake);
}

static int repl_write(void *user, int (*fn)(weft_txn_t *txn, void *arg), void *arg,
                      void (*done)(void *arg, int rc))
{
    weft_sync_t *s = user;
    write_ctx_t *w = malloc(sizeof *w);
    if (!w)
        return WEFT_ENOMEM;
    w->s = s;
    w->fn = fn;
    w->done = done;
    w->arg = arg;
    int rc = s->cfg.write(s->cfg.user, write_fn, w, write_done);
    if (rc != 0) {
        free(w);
        return rc;
    }
    s->pending_writes++; /* write_done frees w */
    return 0;
}

static int repl_shared(void *user, const uint8_t *ctx, size_t len, const uint8_t *peer_id)
{
    return shared_ctx(user, ctx, len, peer_id);
}

static void repl_contexts(void *user, const uint8_t *peer_id,
                          void (*fn)(void *arg, const uint8_t *ctx, size_t len), void *arg)
{
    weft_sync_t *s = user;
    for (member_entry_t *e = s->members; e; e = e->next) {
        if (e->stale)
            members_load(s, e);
        if (members_has(e, peer_id)) /* as shared_ctx */
            fn(arg, (const uint8_t *)e->ctx, e->ctx_len);
    }
}

/* A batch (or snapshot chunk) from a peer committed in ctx: the members
 * may have changed there (a member added on another node reaches this one
 * so), and a new member linked to this node alone is invited now. */
static void members_copy(weft_sync_t *s, const uint8_t *ctx, size_t len, uint8_t **old,
                         size_t *oldn);
static void members_reload(weft_sync_t *s, const uint8_t *ctx, size_t len, uint8_t *old,
                           size_t oldn);
static int repl_applied_op(void *user, weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                           const uint8_t *key, size_t key_len)
{
    weft_sync_t *s = user; /* on the writer's thread: cfg only, which never changes */
    return s->cfg.applied_op(s->cfg.user, txn, ctx, ctx_len, key, key_len);
}

static void repl_applied(void *user, const uint8_t *ctx, size_t len)
{
    weft_sync_t *s = user;
    uint8_t *old;
    size_t oldn;
    if (s->stopping_loop)
        return;
    /* The push of what came in used the cached members, still those from
     * before the batch: compare the new ones with them. */
    members_copy(s, ctx, len, &old, &oldn);
    members_reload(s, ctx, len, old, oldn);
    sync_blobs_context(s->blobs, ctx, len); /* the batch may announce blobs */
    if (s->cfg.applied)
        s->cfg.applied(s->cfg.user, ctx, len);
}

/* Every member of ctx (this node included), for compaction: an op-log
 * entry is dropped only once all of them acknowledged it. */
static void repl_members(void *user, const uint8_t *ctx, size_t len,
                         void (*fn)(void *arg, const uint8_t *id), void *arg)
{
    member_entry_t *e = members_find(user, ctx, len, 1);
    for (size_t i = 0; e && i < e->n; i++)
        fn(arg, e->ids + 32 * i);
}

static uint64_t repl_now(void *user) { return mono_ms(); }

static uint64_t repl_wall(void *user)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void repl_log(void *user, const char *line)
{
    weft_sync_t *s = user;
    slog(s, "%s", line);
}

static int blob_member(void *user, const uint8_t *ctx, size_t len, const uint8_t *id)
{
    return members_has(members_find(user, ctx, len, 1), id);
}

/* ---- invitations ------------------------------------------------------------ */

static void send_invite(weft_sync_t *s, peer_t *p, member_entry_t *e)
{
    char app[APP_ID_LEN + 1];
    if (!s->cfg.context_app || s->cfg.context_app(s->cfg.user, e->ctx, app) != 0)
        return; /* CRDT state of a context this node no longer has */
    size_t len = 2 + e->ctx_len + APP_ID_LEN + 4 + 32 * e->n;
    uint8_t *b = malloc(len);
    if (!b)
        return;
    put_u16(b, (uint32_t)e->ctx_len);
    memcpy(b + 2, e->ctx, e->ctx_len);
    memcpy(b + 2 + e->ctx_len, app, APP_ID_LEN);
    put_u32(b + 2 + e->ctx_len + APP_ID_LEN, (uint32_t)e->n);
    memcpy(b + 6 + e->ctx_len + APP_ID_LEN, e->ids, 32 * e->n);
    if (tx_send(s, p->link, MSG_INVITE, b, len) != 0)
        p->reinvite = 1; /* the link is full: again when it drains */
    free(b);
}

/* Invites peer p to context e (of which this node is a member) when p is a
 * member too, else says that p gets nothing of it: one line per link-up
 * and per change of e's members, so an operator who forgot --members sees
 * why a peer stays empty. */
static void offer(weft_sync_t *s, peer_t *p, member_entry_t *e)
{
    char from[65];
    if (members_has(e, p->id)) {
        send_invite(s, p, e);
        return;
    }
    hex_id(p->id, from);
    slog(s, "sync: context %s is not replicated with %.16s: it is not a member", e->ctx, from);
}

/* Offers peer p every context this node is a member of. */
static void invite_all(weft_sync_t *s, peer_t *p)
{
    for (member_entry_t *e = s->members; e; e = e->next) {
        if (e->stale)
            members_load(s, e);
        if (members_has(e, s->pk))
            offer(s, p, e);
    }
}

static join_t *join_find(weft_sync_t *s, const char *ctx)
{
    for (join_t *j = s->joins; j; j = j->next)
        if (strcmp(j->ctx, ctx) == 0)
            return j;
    return NULL;
}

static void join_free(weft_sync_t *s, join_t *j)
{
    for (join_t **pp = &s->joins; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    free(j->wasm);
    free(j->members);
    free(j);
}

static void join_work(uv_work_t *w)
{
    join_t *j = w->data;
    weft_sync_t *s = j->s;
    j->rc = s->cfg.join(s->cfg.user, j->ctx, j->app, j->have_app ? NULL : j->wasm,
                        j->have_app ? 0 : j->wasm_len, j->members, j->nmembers, j->msg,
                        sizeof j->msg);
}

static void join_after(uv_work_t *w, int status)
{
    join_t *j = w->data;
    weft_sync_t *s = j->s;
    if (status != 0 || j->rc != 0) {
        slog(s, "sync: joining context %s failed: %s", j->ctx,
             status != 0 ? "cancelled" : (j->msg[0] ? j->msg : "error"));
    } else {
        char from[65];
        hex_id(j->from, from);
        slog(s, "sync: joined context %s (app %.12s), invited by %.16s", j->ctx, j->app, from);
        member_entry_t *e = members_find(s, (const uint8_t *)j->ctx, strlen(j->ctx), 1);
        if (e)
            members_load(s, e);
        /* Start the engine's session with the inviter again: version
         * vectors are exchanged now rather than at the next anti-entropy.
         * Offer the context to every other up peer: the notice of the
         * join's commit may come after the load above and then sees no
         * change of members, so a member linked to us alone would wait
         * for its next link-up (and a non-member would go unlogged). */
        for (peer_t *p = s->peer_list; p; p = p->next) {
            if (s->stopping_loop)
                break;
            if (memcmp(p->id, j->from, 32) == 0) {
                uint8_t b[2 + 255];
                size_t n = strlen(j->ctx);
                put_u16(b, (uint32_t)n);
                memcpy(b + 2, j->ctx, n);
                tx_send(s, p->link, MSG_JOINED, b, 2 + n); /* lost: anti-entropy */
                sync_repl_peer_down(s->repl, p->rp);
                p->rp = sync_repl_peer_up(s->repl, p->link, p->id);
            } else if (e && members_has(e, s->pk)) {
                offer(s, p, e);
            }
        }
        if (!s->stopping_loop)
            sync_repl_notify(s->repl, (const uint8_t *)j->ctx, strlen(j->ctx));
    }
    join_free(s, j);
    maybe_finish(s);
}

static void join_start(weft_sync_t *s, join_t *j)
{
    j->running = 1;
    j->work.data = j;
    if (uv_queue_work(&s->loop, &j->work, join_work, join_after) != 0) {
        slog(s, "sync: cannot queue the join of context %s", j->ctx);
        join_free(s, j);
    }
}

/* Asks p for the next chunk of j's app. A request the link refuses is
 * made again by the tick (join_tick) after JOIN_RETRY_MS. */
static void send_app_req(weft_sync_t *s, peer_t *p, join_t *j)
{
    uint8_t b[APP_ID_LEN + 4];
    memcpy(b, j->app, APP_ID_LEN);
    put_u32(b + APP_ID_LEN, (uint32_t)j->wasm_len);
    j->asked_ms = mono_ms();
    tx_send(s, p->link, MSG_APP_REQ, b, sizeof b);
}

/* Downloads that stalled: ask again, or give up (the next invitation
 * starts again). */
static void join_tick(weft_sync_t *s)
{
    uint64_t now = mono_ms();
    for (join_t *j = s->joins, *next; j; j = next) {
        next = j->next;
        if (j->running || j->have_app)
            continue;
        if (now - j->progress_ms >= JOIN_STALL_MS) {
            slog(s, "sync: joining context %s abandoned: no chunk of app %.12s for %d s; "
                    "the next invitation starts it again", j->ctx, j->app, JOIN_STALL_MS / 1000);
            join_free(s, j);
            continue;
        }
        if (now - j->asked_ms < JOIN_RETRY_MS)
            continue;
        for (peer_t *p = s->peer_list; p; p = p->next)
            if (memcmp(p->id, j->from, 32) == 0) {
                send_app_req(s, p, j);
                break;
            }
    }
}

/* Returns -1 for a malformed INVITE (the caller closes the link). */
static int on_invite(weft_sync_t *s, peer_t *p, const uint8_t *b, size_t len)
{
    char from[65];
    hex_id(p->id, from);
    if (len < 2)
        goto bad;
    size_t clen = get_u16(b);
    if (clen == 0 || clen > 255 || len < 2 + clen + APP_ID_LEN + 4)
        goto bad;
    const uint8_t *app = b + 2 + clen;
    uint32_t n = get_u32(app + APP_ID_LEN);
    if (n > MAX_MEMBERS || len != 2 + clen + APP_ID_LEN + 4 + (size_t)n * 32 ||
        !valid_app_id(app) || memchr(b + 2, 0, clen))
        goto bad;
    const uint8_t *ids = app + APP_ID_LEN + 4;
    char ctx[256], app_id[APP_ID_LEN + 1], have[APP_ID_LEN + 1];
    memcpy(ctx, b + 2, clen);
    ctx[clen] = '\0';
    memcpy(app_id, app, APP_ID_LEN);
    app_id[APP_ID_LEN] = '\0';
    int self_in = 0, peer_in = 0;
    for (uint32_t i = 0; i < n; i++) {
        self_in |= memcmp(ids + 32 * i, s->pk, 32) == 0;
        peer_in |= memcmp(ids + 32 * i, p->id, 32) == 0;
    }
    if (!self_in || !peer_in) {
        slog(s, "sync: ignored an invitation to context %s from %.16s: %s", ctx, from,
             !self_in ? "this node is not a member" : "the inviter is not a member");
        return 0;
    }
    if (s->cfg.context_app && s->cfg.context_app(s->cfg.user, ctx, have) == 0) {
        if (strcmp(have, app_id) != 0)
            slog(s, "sync: context %s from %.16s is of app %.12s, but this node's context %s "
                    "is of app %.12s: not replicated", ctx, from, app_id, ctx, have);
        return 0;
    }
    if (join_find(s, ctx) || !s->cfg.join)
        return 0;
    join_t *j = calloc(1, sizeof *j);
    if (!j || !(j->members = malloc((size_t)n * 32 + 1))) {
        free(j);
        return 0;
    }
    j->s = s;
    memcpy(j->ctx, ctx, clen + 1);
    memcpy(j->app, app_id, APP_ID_LEN + 1);
    memcpy(j->from, p->id, 32);
    memcpy(j->members, ids, (size_t)n * 32);
    j->nmembers = n;
    j->have_app = s->cfg.app_have && s->cfg.app_have(s->cfg.user, app_id);
    j->progress_ms = mono_ms();
    j->next = s->joins;
    s->joins = j;
    if (j->have_app)
        join_start(s, j);
    else
        send_app_req(s, p, j);
    return 0;
bad:
    slog(s, "sync: malformed invitation from %.16s (%zu bytes)", from, len);
    return -1;
}

/* Whether peer p may read app `app`: it shares a context of that app. */
static int peer_may_read_app(weft_sync_t *s, peer_t *p, const char *app)
{
    char have[APP_ID_LEN + 1];
    for (member_entry_t *e = s->members; e; e = e->next) {
        if (e->stale)
            members_load(s, e);
        if (members_has(e, s->pk) && members_has(e, p->id) && s->cfg.context_app &&
            s->cfg.context_app(s->cfg.user, e->ctx, have) == 0 && strcmp(have, app) == 0)
            return 1;
    }
    return 0;
}

/* Answers an APP_REQ with one chunk; a chunk the link refuses is sent
 * again on on_writable. Returns -1 for a malformed request (the caller
 * closes the link). */
static int on_app_req(weft_sync_t *s, peer_t *p, const uint8_t *b, size_t len)
{
    if (len != APP_ID_LEN + 4 || !valid_app_id(b))
        return -1;
    char app[APP_ID_LEN + 1];
    memcpy(app, b, APP_ID_LEN);
    app[APP_ID_LEN] = '\0';
    uint32_t off = get_u32(b + APP_ID_LEN);
    if (!peer_may_read_app(s, p, app)) {
        char from[65];
        hex_id(p->id, from);
        slog(s, "sync: %.16s asked for app %.12s it shares no context of: refused", from, app);
        return 0;
    }
    if (strcmp(s->served_app, app) != 0) {
        free(s->served);
        s->served = NULL;
        s->served_app[0] = '\0';
        if (!s->cfg.app_bytes || s->cfg.app_bytes(s->cfg.user, app, &s->served, &s->served_len))
            return 0;
        memcpy(s->served_app, app, APP_ID_LEN + 1);
    }
    if (off > s->served_len)
        return -1;
    size_t n = s->served_len - off < APP_CHUNK ? s->served_len - off : APP_CHUNK;
    uint8_t *c = malloc(APP_ID_LEN + 8 + n);
    if (!c)
        return 0;
    memcpy(c, app, APP_ID_LEN);
    put_u32(c + APP_ID_LEN, (uint32_t)s->served_len);
    put_u32(c + APP_ID_LEN + 4, off);
    memcpy(c + APP_ID_LEN + 8, s->served + off, n);
    p->rechunk = tx_send(s, p->link, MSG_APP_CHUNK, c, APP_ID_LEN + 8 + n) != 0;
    if (p->rechunk) { /* the link is full: again when it drains */
        memcpy(p->chunk_app, app, APP_ID_LEN + 1);
        p->chunk_off = off;
    }
    free(c);
    return 0;
}

/* Returns -1 for a malformed chunk (the caller closes the link). A chunk
 * at another offset than the one awaited is a late answer to a request
 * made again: ignored. */
static int on_app_chunk(weft_sync_t *s, peer_t *p, const uint8_t *b, size_t len)
{
    if (len < APP_ID_LEN + 8)
        return -1;
    uint32_t total = get_u32(b + APP_ID_LEN), off = get_u32(b + APP_ID_LEN + 4);
    size_t n = len - APP_ID_LEN - 8;
    if (total == 0 || total > APP_MAX || off > total || n > total - off ||
        (n == 0 && off < total))
        return -1;
    for (join_t *j = s->joins; j; j = j->next) {
        if (j->running || j->have_app || memcmp(j->from, p->id, 32) != 0 ||
            memcmp(j->app, b, APP_ID_LEN) != 0)
            continue;
        if (j->wasm && total != j->wasm_total) {
            slog(s, "sync: chunk of app %.12s of another size: join of context %s abandoned",
                 j->app, j->ctx);
            join_free(s, j);
            return -1;
        }
        if (off != j->wasm_len)
            return 0;
        if (!j->wasm) {
            if (!(j->wasm = malloc(total))) {
                join_free(s, j);
                return 0;
            }
            j->wasm_total = total;
        }
        memcpy(j->wasm + off, b + APP_ID_LEN + 8, n);
        j->wasm_len += n;
        j->progress_ms = mono_ms();
        if (j->wasm_len == j->wasm_total)
            join_start(s, j);
        else
            send_app_req(s, p, j);
        return 0;
    }
    return 0;
}

/* ---- transport callbacks --------------------------------------------------- */

static void on_up(void *user, void *link, const uint8_t peer_id[32])
{
    weft_sync_t *s = user;
    peer_t *p = calloc(1, sizeof *p);
    if (!p)
        return;
    p->link = link;
    memcpy(p->id, peer_id, 32);
    p->rp = sync_repl_peer_up(s->repl, link, peer_id);
    p->next = s->peer_list;
    s->peer_list = p;
    sync_blobs_peer_up(s->blobs, link, peer_id);
    invite_all(s, p);
    snapshot(s);
}

static void on_frame(void *user, void *link, uint8_t type, const uint8_t *payload, size_t len)
{
    weft_sync_t *s = user;
    peer_t *p = peer_of_link(s, link);
    if (!p)
        return;
    /* A malformed message closes the link (docs/sync.md): the peer is
     * broken or hostile, and a new session starts from version vectors. */
    if (type >= 0x10 && type < 0x20) {
        static const char *const names[] = {"VV", "OPS", "ACK", "SNAP_NEED", "SNAP_REQ", "SNAP"};
        if (sync_repl_receive(s->repl, p->rp, type, payload, len) == WEFT_EMALFORMED) {
            char why[64];
            if (type - 0x10 < 6)
                snprintf(why, sizeof why, "malformed %s frame", names[type - 0x10]);
            else
                snprintf(why, sizeof why, "unknown replication frame 0x%02x", type);
            tx_close(s, link, why);
        }
        return;
    }
    if (type >= SYNC_MSG_BLOB_WANT && type <= SYNC_MSG_BLOB_NONE) {
        static const char *const names[] = {"BLOB_WANT", "BLOB_CHUNK", "BLOB_NONE"};
        char why[64];
        snprintf(why, sizeof why, "malformed %s frame", names[type - SYNC_MSG_BLOB_WANT]);
        if (sync_blobs_receive(s->blobs, link, type, payload, len) != 0)
            tx_close(s, link, why);
        return;
    }
    switch (type) {
    case MSG_INVITE:
        if (on_invite(s, p, payload, len) != 0)
            tx_close(s, link, "malformed INVITE frame");
        break;
    case MSG_APP_REQ:
        if (on_app_req(s, p, payload, len) != 0)
            tx_close(s, link, "malformed APP_REQ frame");
        break;
    case MSG_APP_CHUNK:
        if (on_app_chunk(s, p, payload, len) != 0)
            tx_close(s, link, "malformed APP_CHUNK frame");
        break;
    case MSG_JOINED:
        /* The inviter starts its session with the joiner again too: its
         * version vector goes out now, so the joiner's first writes are
         * pushed at once, not after the next anti-entropy round. */
        if (len < 2 || len != 2 + get_u16(payload) || len == 2) {
            tx_close(s, link, "malformed JOINED frame");
        } else if (shared_ctx(s, payload + 2, len - 2, p->id)) {
            sync_repl_peer_down(s->repl, p->rp);
            p->rp = sync_repl_peer_up(s->repl, p->link, p->id);
        }
        break;
    default: break; /* a newer peer's message: ignored */
    }
}

static void on_writable(void *user, void *link)
{
    weft_sync_t *s = user;
    peer_t *p = peer_of_link(s, link);
    if (!p)
        return;
    if (p->reinvite) {
        p->reinvite = 0;
        invite_all(s, p);
    }
    if (p->rechunk) {
        uint8_t b[APP_ID_LEN + 4];
        memcpy(b, p->chunk_app, APP_ID_LEN);
        put_u32(b + APP_ID_LEN, p->chunk_off);
        p->rechunk = 0;
        on_app_req(s, p, b, sizeof b);
    }
    sync_blobs_writable(s->blobs, link);
    sync_repl_writable(s->repl, p->rp);
}

static void on_down(void *user, void *link, const char *reason)
{
    weft_sync_t *s = user;
    for (peer_t **pp = &s->peer_list; *pp; pp = &(*pp)->next) {
        peer_t *p = *pp;
        if (p->link != link)
            continue;
        *pp = p->next;
        sync_repl_peer_down(s->repl, p->rp);
        sync_blobs_peer_down(s->blobs, link);
        for (join_t *j = s->joins, *next; j; j = next) {
            next = j->next;
            if (!j->running && memcmp(j->from, p->id, 32) == 0)
                join_free(s, j);
        }
        free(p);
        break;
    }
    snapshot(s);
}

static void link_log(void *user, const char *line)
{
    slog(user, "%s", line);
}

/* A stream batch goes to the engine as an OPS frame from its origin. */
static int on_batch(void *user, void *np, const uint8_t *b, size_t len)
{
    weft_sync_t *s = user;
    peer_t *p = peer_of_link(s, np);
    return p ? sync_repl_receive(s->repl, p->rp, SYNC_MSG_OPS, b, len) : WEFT_EARG;
}

/* A VV that came as a request (NATS): ours of the same context is the reply. */
static int on_vv_reply(void *user, void *link, const uint8_t *vv, size_t len, uint8_t **out,
                       size_t *out_len)
{
    weft_sync_t *s = user;
    peer_t *p = peer_of_link(s, link);
    return p ? sync_repl_vv_answer(s->repl, p->rp, vv, len, out, out_len) : WEFT_EARG;
}

/* Whether node id shares a context with this node (NATS presence). */
static int on_wants(void *user, const uint8_t id[32])
{
    weft_sync_t *s = user;
    for (member_entry_t *e = s->members; e; e = e->next) {
        if (e->stale)
            members_load(s, e);
        if (members_has(e, s->pk) && members_has(e, id))
            return 1;
    }
    return 0;
}

/* Stream batches of a peer wait while the engine would drop its next. */
static int on_busy(void *user, void *np)
{
    peer_t *p = peer_of_link(user, np);
    return p && sync_repl_peer_queued(p->rp) >= 4;
}

/* The transport hears of the contexts this node is a member of (NATS:
 * their streams, consumers and published ops), after their members may
 * have changed. */
static void member_ctx(weft_sync_t *s, member_entry_t *e)
{
    if (s->t && e && members_has(e, s->pk))
        s->tx->notify(s->t, e->ctx);
}

/* ---- the loop -------------------------------------------------------------- */

typedef struct {
    weft_sync_t *s;
    weft_sync_peer_t *v;
    size_t n, cap;
} snap_t;

static void snap_cb(void *user, const sync_link_info_t *info)
{
    snap_t *sn = user;
    if (sn->n == sn->cap) {
        size_t cap = sn->cap ? sn->cap * 2 : 8;
        weft_sync_peer_t *v = realloc(sn->v, cap * sizeof *v);
        if (!v)
            return;
        sn->v = v;
        sn->cap = cap;
    }
    weft_sync_peer_t *o = &sn->v[sn->n++];
    memset(o, 0, sizeof *o);
    memcpy(o->id, info->id, 32);
    snprintf(o->addr, sizeof o->addr, "%s", info->addr);
    o->up = info->up;
    o->outbound = info->outbound;
    o->bytes_in = info->bytes_in;
    o->bytes_out = info->bytes_out;
    o->frames_in = info->frames_in;
    o->frames_out = info->frames_out;
    o->reconnects = info->reconnects;
    o->rtt_us = info->rtt_us;
    snprintf(o->last_error, sizeof o->last_error, "%s", info->last_error);
    if (info->up)
        for (peer_t *p = sn->s->peer_list; p; p = p->next)
            if (memcmp(p->id, info->id, 32) == 0) {
                sync_repl_stats_t st;
                sync_repl_peer_stats(sn->s->repl, p->rp, &st);
                o->lag_ops = st.lag_ops;
                o->ops_sent = st.ops_sent;
                o->ops_received = st.ops_received;
                break;
            }
}

/* Whether v[i] is an address of a node that has a link up through another
 * entry: a dial target learned by gossip but not dialled, or the loser of
 * a duplicate link. Listed, it would show that node down while it is
 * linked; it is shown again once the node's link is down. O(n^2), fine
 * while peers < 256. */
static int linked_elsewhere(const weft_sync_peer_t *v, size_t n, size_t i)
{
    static const uint8_t zero[32];
    if (v[i].up || memcmp(v[i].id, zero, 32) == 0)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (v[k].up && memcmp(v[k].id, v[i].id, 32) == 0)
            return 1;
    return 0;
}

static void snapshot(weft_sync_t *s)
{
    snap_t sn = {s, NULL, 0, 0};
    if (s->t)
        s->tx->info(s->t, snap_cb, &sn);
    /* In place: an up entry is never dropped, so each stays in v (moved
     * down, or where it was) while the later entries are checked. */
    size_t kept = 0;
    for (size_t i = 0; i < sn.n; i++)
        if (!linked_elsewhere(sn.v, sn.n, i))
            sn.v[kept++] = sn.v[i];
    sn.n = kept;
    sync_repl_counters_t rc = {0};
    if (s->repl)
        sync_repl_counters(s->repl, &rc);
    pthread_mutex_lock(&s->mu);
    s->stats.snapshot_chunks_sent = rc.snap_chunks_sent;
    s->stats.snapshot_chunks_received = rc.snap_chunks_received;
    s->stats.snapshots_sent = rc.snaps_sent;
    s->stats.snapshots_received = rc.snaps_received;

    free(s->snap);
    s->snap = sn.v;
    s->nsnap = sn.n;
    pthread_mutex_unlock(&s->mu);
}

static void close_cb(uv_handle_t *h) { (void)h; }

static void maybe_finish(weft_sync_t *s)
{
    if (!s->stopping_loop || s->pending_writes > 0)
        return;
    for (join_t *j = s->joins; j; j = j->next)
        if (j->running)
            return;
    while (s->joins)
        join_free(s, s->joins);
    if (s->repl) {
        sync_repl_delete(s->repl);
        s->repl = NULL;
    }
    if (!uv_is_closing((uv_handle_t *)&s->tick)) {
        uv_close((uv_handle_t *)&s->tick, close_cb);
        uv_close((uv_handle_t *)&s->wake, close_cb);
    }
}

/* A copy of ctx's cached members (*old NULL, *oldn 0 when none cached),
 * for members_reload to compare with. */
static void members_copy(weft_sync_t *s, const uint8_t *ctx, size_t len, uint8_t **old,
                         size_t *oldn)
{
    member_entry_t *e = members_find(s, ctx, len, 0);
    *old = NULL;
    *oldn = 0;
    if (e && e->n && (*old = malloc(32 * e->n)) != NULL) {
        memcpy(*old, e->ids, 32 * e->n);
        *oldn = e->n;
    }
}

/* Reloads ctx's members; when they differ from old[0..oldn) (which it
 * frees), offers the context to every up peer (members are invited, the
 * others logged). */
static void members_reload(weft_sync_t *s, const uint8_t *ctx, size_t len, uint8_t *old,
                           size_t oldn)
{
    member_entry_t *e = members_find(s, ctx, len, 1);
    if (e)
        members_load(s, e);
    member_ctx(s, e);
    if (e && (oldn != e->n || (oldn && memcmp(old, e->ids, 32 * oldn) != 0)) &&
        members_has(e, s->pk))
        for (peer_t *p = s->peer_list; p; p = p->next)
            offer(s, p, e);
    free(old);
}

static void on_wake(uv_async_t *a)
{
    weft_sync_t *s = a->data;
    pthread_mutex_lock(&s->mu);
    notice_t *notices = s->notices;
    completion_t *done = s->completions;
    char **add = s->add_peers;
    size_t nadd = s->nadd_peers;
    int stop = s->stop;
    s->notices = NULL;
    s->completions = NULL;
    s->add_peers = NULL;
    s->nadd_peers = 0;
    pthread_mutex_unlock(&s->mu);

    while (done) {
        completion_t *c = done;
        done = c->next;
        c->done(c->arg, c->rc);
        s->pending_writes--;
        free(c);
    }
    while (notices) {
        notice_t *n = notices;
        notices = n->next;
        if (!s->stopping_loop) {
            /* Push first, with the members as they were: the commit that
             * removes a member reaches that member. (The push may cache
             * the new members of a context not cached before: compare
             * with a copy taken first.) */
            size_t len = strlen(n->ctx), oldn;
            uint8_t *old;
            members_copy(s, (const uint8_t *)n->ctx, len, &old, &oldn);
            sync_repl_notify(s->repl, (const uint8_t *)n->ctx, len);
            members_reload(s, (const uint8_t *)n->ctx, len, old, oldn);
        }
        free(n);
    }
    for (size_t i = 0; i < nadd; i++) {
        if (s->t && !s->stopping_loop)
            s->tx->add_peer(s->t, add[i]);
        free(add[i]);
    }
    free(add);
    if (stop && !s->stopping_loop) {
        s->stopping_loop = 1;
        if (s->t) {
            void *t = s->t;
            s->t = NULL; /* on_down's snapshots no longer ask it */
            s->tx->stop(t);
        }
        while (s->peer_list) { /* on_down has run for up links; what is left is stale */
            peer_t *p = s->peer_list;
            s->peer_list = p->next;
            if (s->repl)
                sync_repl_peer_down(s->repl, p->rp);
            sync_blobs_peer_down(s->blobs, p->link);
            free(p);
        }
    }
    maybe_finish(s);
}

static void on_tick(uv_timer_t *t)
{
    weft_sync_t *s = t->data;
    if (!s->stopping_loop) {
        sync_repl_tick(s->repl);
        sync_blobs_tick(s->blobs);
        join_tick(s);
        snapshot(s);
    }
    maybe_finish(s);
}

static void *loop_main(void *arg)
{
    weft_sync_t *s = arg;
    /* A link written after its peer closed it raises SIGPIPE, which kills
     * a process that does not ignore it (weft serve does; an embedder, a
     * benchmark, may not): blocked in this thread, the write says EPIPE and
     * the link closes. Named for ps and the test that checks this. */
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
    pthread_setname_np(pthread_self(), "weft-sync");
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* ---- public API ---------------------------------------------------------- */

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void sync_free(weft_sync_t *s)
{
    while (s->members) {
        member_entry_t *e = s->members;
        s->members = e->next;
        free(e->ctx);
        free(e->ids);
        free(e);
    }
    while (s->notices) {
        notice_t *n = s->notices;
        s->notices = n->next;
        free(n);
    }
    while (s->completions) { /* cannot happen: the loop waits for every write */
        completion_t *c = s->completions;
        s->completions = c->next;
        free(c);
    }
    free_strs(s->peers, s->cfg.npeers);
    free_strs(s->add_peers, s->nadd_peers);
    sync_blobs_delete(s->blobs); /* here: other threads may ask it until stop returns */
    free(s->listen);
    free(s->served);
    free(s->snap);
    sodium_memzero(s->sk, sizeof s->sk);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int weft_sync_start(const weft_sync_config_t *cfg, weft_sync_t **out, char *msg,
                    size_t msg_size)
{
    *out = NULL;
    if (msg_size)
        msg[0] = '\0';
    if (!cfg->db || !cfg->public_key || !cfg->secret_key || !cfg->write) {
        snprintf(msg, msg_size, "sync needs a data directory, a key pair and a writer");
        return WEFT_EARG;
    }
    if (sodium_init() < 0)
        return WEFT_EIO;
    weft_sync_t *s = calloc(1, sizeof *s);
    if (!s)
        return WEFT_ENOMEM;
    s->cfg = *cfg;
    memcpy(s->pk, cfg->public_key, 32);
    memcpy(s->sk, cfg->secret_key, 64);
    pthread_mutex_init(&s->mu, NULL);
    s->cfg.npeers = 0;
    if (cfg->npeers && !(s->peers = calloc(cfg->npeers, sizeof *s->peers)))
        goto nomem;
    for (size_t i = 0; i < cfg->npeers; i++, s->cfg.npeers++)
        if (!(s->peers[i] = strdup(cfg->peers[i])))
            goto nomem;
    if (cfg->listen && !(s->listen = strdup(cfg->listen)))
        goto nomem;
    if (uv_loop_init(&s->loop) != 0)
        goto nomem;
    uv_async_init(&s->loop, &s->wake, on_wake);
    s->wake.data = s;
    uv_timer_init(&s->loop, &s->tick);
    s->tick.data = s;
    members_load_all(s);

    int rv;
    s->tx = sync_links_transport();
    if (cfg->nats_url) {
        if (!cfg->nats_transport) {
            snprintf(msg, msg_size, "this program was built without NATS (libnats-dev)");
            rv = WEFT_EARG;
            goto fail_loop;
        }
        s->tx = cfg->nats_transport;
    }
    sync_repl_config_t rc = {
        .db = cfg->db, .self_id = s->pk, .send = repl_send, .write = repl_write,
        .shared = repl_shared, .contexts = repl_contexts, .now_ms = repl_now, .wall_ms = repl_wall,
        .members = repl_members, .applied = repl_applied,
        .applied_op = cfg->applied_op ? repl_applied_op : NULL,
        .log = repl_log, .user = s,
        .lazy_push = s->tx->carries_ops, /* NATS: the streams carry the ops */
        .compact_ms = cfg->compact_ms, .compact_keep = cfg->compact_keep,
    };
    rv = sync_repl_new(&rc, &s->repl);
    if (rv != 0)
        goto fail_loop;
    sync_blobs_config_t bc = {
        .db = cfg->db, .self_id = s->pk, .send = repl_send, .write = repl_write,
        .member = blob_member, .contexts = repl_contexts, .now_ms = repl_now, .log = repl_log,
        .user = s,
    };
    if ((rv = sync_blobs_new(&bc, &s->blobs)) != 0)
        goto fail_loop;
    for (member_entry_t *e = s->members; e; e = e->next) /* fetches a restart cut */
        sync_blobs_context(s->blobs, (const uint8_t *)e->ctx, e->ctx_len);
    sync_transport_config_t tc = {
        .loop = &s->loop, .db = cfg->db, .public_key = s->pk, .secret_key = s->sk,
        .listen = s->listen, .peers = (const char *const *)s->peers, .npeers = s->cfg.npeers,
        .url = cfg->nats_url, .creds = cfg->nats_creds, .ca = cfg->nats_ca,
        .replicas = cfg->nats_replicas,
        .on_up = on_up, .on_frame = on_frame, .on_writable = on_writable, .on_down = on_down,
        .on_batch = on_batch, .busy = on_busy, .vv_reply = on_vv_reply, .wants = on_wants,
        .log = link_log, .user = s,
    };
    if ((rv = s->tx->start(&tc, &s->t, msg, msg_size)) != 0)
        goto fail_loop;
    s->port = s->tx->port(s->t);
    for (member_entry_t *e = s->members; e; e = e->next)
        member_ctx(s, e);
    uv_timer_start(&s->tick, on_tick, TICK_MS, TICK_MS);
    if (pthread_create(&s->thread, NULL, loop_main, s) != 0) {
        rv = WEFT_ENOMEM;
        s->stop = 1;
        on_wake(&s->wake); /* closes everything on this thread */
        uv_run(&s->loop, UV_RUN_DEFAULT);
        uv_loop_close(&s->loop);
        sync_free(s);
        return rv;
    }
    s->thread_started = 1;
    *out = s;
    return 0;
fail_loop:
    if (s->repl)
        sync_repl_delete(s->repl);
    s->repl = NULL;
    sync_blobs_delete(s->blobs);
    s->blobs = NULL;
    uv_close((uv_handle_t *)&s->tick, close_cb);
    uv_close((uv_handle_t *)&s->wake, close_cb);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    sync_free(s);
    return rv;
nomem:
    sync_free(s);
    return WEFT_ENOMEM;
}

void weft_sync_stop(weft_sync_t *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    uv_async_send(&s->wake);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    uv_loop_close(&s->loop);
    sync_free(s);
}

int weft_sync_port(const weft_sync_t *s)
{
    return s ? s->port : 0;
}

void weft_sync_notify(weft_sync_t *s, const char *ctx)
{
    size_t len = strlen(ctx);
    notice_t *n = malloc(sizeof *n + len + 1);
    if (!n)
        return; /* anti-entropy sends it later */
    memcpy(n->ctx, ctx, len + 1);
    pthread_mutex_lock(&s->mu);
    n->next = s->notices;
    s->notices = n;
    pthread_mutex_unlock(&s->mu);
    uv_async_send(&s->wake);
}

int weft_sync_add_peer(weft_sync_t *s, const char *addr)
{
    char *a = strdup(addr);
    if (!a)
        return WEFT_ENOMEM;
    pthread_mutex_lock(&s->mu);
    char **v = realloc(s->add_peers, (s->nadd_peers + 1) * sizeof *v);
    if (!v) {
        pthread_mutex_unlock(&s->mu);
        free(a);
        return WEFT_ENOMEM;
    }
    v[s->nadd_peers++] = a;
    s->add_peers = v;
    pthread_mutex_unlock(&s->mu);
    uv_async_send(&s->wake);
    return 0;
}

void weft_sync_peers(weft_sync_t *s, void (*fn)(void *user, const weft_sync_peer_t *p),
                     void *user)
{
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nsnap; i++)
        fn(user, &s->snap[i]);
    pthread_mutex_unlock(&s->mu);
}

void weft_sync_stats(weft_sync_t *s, weft_sync_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

int weft_sync_peers_nx(weft_sync_t *s, uint8_t **out, size_t *out_len)
{
    pthread_mutex_lock(&s->mu);
    size_t len = 4, n = 0;
    for (size_t i = 0; i < s->nsnap; i++)
        if (s->snap[i].up) {
            len += 8 + strlen(s->snap[i].addr) + 64;
            n++;
        }
    uint8_t *b = malloc(len);
    if (!b) {
        pthread_mutex_unlock(&s->mu);
        return WEFT_ENOMEM;
    }
    put_le32(b, (uint32_t)n);
    size_t off = 4;
    for (size_t i = 0; i < s->nsnap; i++) {
        if (!s->snap[i].up)
            continue;
        size_t al = strlen(s->snap[i].addr);
        put_le32(b + off, (uint32_t)al);
        put_le32(b + off + 4, 64);
        memcpy(b + off + 8, s->snap[i].addr, al);
        char hex[65];
        hex_id(s->snap[i].id, hex);
        memcpy(b + off + 8 + al, hex, 64);
        off += 8 + al + 64;
    }
    pthread_mutex_unlock(&s->mu);
    *out = b;
    *out_len = off;
    return 0;
}

void weft_sync_blob_stats(weft_sync_t *s, weft_sync_blob_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (s && s->blobs)
        sync_blobs_stats(s->blobs, out);
}

int weft_sync_blob_fetching(weft_sync_t *s, const uint8_t id[32], uint64_t *have,
                            uint64_t *size)
{
    return s && s->blobs ? sync_blobs_fetching(s->blobs, id, have, size) : 0;
}
