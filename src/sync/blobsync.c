/*
 * blobsync.c — blobs between nodes (blobsync.h, docs/sync.md "Blobs
 * between nodes").
 *
 * Announcing is state: the blob's record (size and chunk hashes) goes into
 * the context's LWW-Map WEFT_SYNC_BLOBS_KEY, one op that replicates with
 * the context like any other (links, NATS, chains of nodes, restarts), so
 * the transfer below needs no announcement frame and every member learns
 * the hashes it will check chunks against from its own store.
 *
 * Fetching is pull, one chunk per request. A member that lacks a blob
 * announced in a context asks member peers for chunks by index
 * (BLOB_WANT); a peer answers with the chunk (BLOB_CHUNK) when the asker
 * shares a context announcing the blob and the chunk is in its store (it
 * may be fetching the blob itself), else BLOB_NONE. The server keeps no
 * state. The fetcher keeps at most FETCH_WINDOW chunks asked or being
 * written per blob and FETCH_ACTIVE blobs in flight at once (back-pressure: memory
 * is a few chunks, whatever the blob's size), checks each chunk's SHA-256
 * against the record before it reaches the writer (a chunk that does not
 * match is refused, logged and counted; its peer is not asked again for
 * that blob for a while), stores each as a write job of its own, and
 * writes the record once every chunk is stored and their bytes hash to the
 * blob's id (weft_blob_assemble). Chunks stored stay: a fetch cut by a
 * dropped link or a restart goes on with the chunks it lacks.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "blobsync.h"
#include "synclog.h"
#include "weft/blobs.h"
#include "weft/crdt.h"
#include "weft/crdt_store.h"
#include "weft/error.h"

#define FETCH_WINDOW 4   /* chunks asked or being written, per blob: 1 MiB */
#define FETCH_ACTIVE 2   /* blobs fetched at once (the others wait) */
#define RETRY_MS 2000    /* a chunk unanswered this long is asked again */
#define SKIP_MS 3000     /* a peer that refused or sent bad bytes rests this long */
#define MAX_FAILED 256   /* blobs remembered as not the announced bytes */
#define WANT_LEN 36

enum { CH_MISSING = 0, CH_ASKED, CH_WRITING, CH_STORED };

typedef struct bpeer {
    void *h;
    uint8_t id[32];
    struct bpeer *next;
} bpeer_t;

typedef struct {
    uint64_t idx;
    void *peer; /* asked of */
    uint64_t at;
    int used;
} asked_t;

typedef struct fetch {
    uint8_t id[32];
    char *ctx;
    size_t ctx_len;
    uint8_t *rec;
    size_t rec_len;
    uint64_t size, n, stored;
    uint8_t *st; /* CH_* per chunk */
    asked_t asked[FETCH_WINDOW];
    int writing;
    int assembling;
    /* peers resting for this blob (refused, sent bad bytes) */
    uint8_t rest[8][32];
    uint64_t rest_until[8];
    int started; /* logged its start */
    struct fetch *next;
} fetch_t;

struct sync_blobs {
    sync_blobs_config_t cfg;
    uint8_t self[32];
    bpeer_t *peers;
    fetch_t *fetches; /* mutated on the loop thread under mu */
    uint8_t failed[MAX_FAILED][32];
    size_t nfailed;
    pthread_mutex_t mu; /* changes of the fetches' list and of their `stored`, stats */
    weft_sync_blob_stats_t stats;
};

typedef struct {
    sync_blobs_t *b;
    uint8_t id[32];
    uint64_t idx;
    int assemble;
    uint8_t *bytes; /* a chunk, or the record */
    size_t len;
    uint8_t h[32]; /* the chunk's hash, from the record */
} bjob_t;

static void blog(sync_blobs_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void blog(sync_blobs_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sync_logv(b->cfg.log, b->cfg.user, fmt, ap);
    va_end(ap);
}

static void hex(const uint8_t *id, char out[65])
{
    sodium_bin2hex(out, 65, id, 32);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const uint8_t KEY[] = WEFT_SYNC_BLOBS_KEY;
#define KEY_LEN (sizeof KEY - 1)

/* ---- announcing (any thread, the caller's transaction) ---------------------- */

int weft_sync_blob_announce(weft_txn_t *txn, const uint8_t origin[32], uint64_t wall_ms,
                            const uint8_t *ctx, size_t ctx_len, const uint8_t id[32])
{
    const uint8_t *rec;
    size_t len;
    int rc = weft_blob_record(txn, id, &rec, &len);
    if (rc != 0)
        return rc == WEFT_EIO ? WEFT_ENOTFOUND : rc;
    if (len > WEFT_SYNC_BLOB_RECORD_MAX)
        return WEFT_ELIMIT;
    /* rec is borrowed from txn, which the op's write may move: a copy */
    uint8_t *copy = malloc(len);
    if (!copy)
        return WEFT_ENOMEM;
    memcpy(copy, rec, len);
    weft_crdt_input_t in = {.field = id, .field_len = 32, .value = copy, .value_len = len};
    rc = weft_crdt_local(txn, origin, wall_ms, ctx, ctx_len, KEY, KEY_LEN, WEFT_CRDT_LWW_MAP,
                         WEFT_CRDT_MAP_SET, &in, NULL, NULL);
    free(copy);
    return rc;
}

int weft_sync_blob_withdraw(weft_txn_t *txn, const uint8_t origin[32], uint64_t wall_ms,
                            const uint8_t *ctx, size_t ctx_len, const uint8_t id[32])
{
    weft_crdt_state_t *st = NULL;
    int rc = weft_crdt_read_part(txn, ctx, ctx_len, KEY, KEY_LEN, WEFT_CRDT_LWW_MAP, id, 32, &st);
    int has = rc == 0 ? weft_crdt_map_contains(st, id, 32) : 0;
    weft_crdt_state_delete(st);
    if (rc != 0 && rc != WEFT_ENOTFOUND)
        return rc;
    if (has < 0)
        return has;
    if (!has)
        return WEFT_ENOTFOUND;
    weft_crdt_input_t in = {.field = id, .field_len = 32};
    return weft_crdt_local(txn, origin, wall_ms, ctx, ctx_len, KEY, KEY_LEN, WEFT_CRDT_LWW_MAP,
                           WEFT_CRDT_MAP_REMOVE, &in, NULL, NULL);
}

/* The record announced for blob id in ctx, copied: 0 or WEFT_ENOTFOUND. */
static int announced(weft_txn_t *txn, const uint8_t *ctx, size_t len, const uint8_t id[32],
                     uint8_t **rec, size_t *rec_len)
{
    weft_crdt_state_t *st = NULL;
    const uint8_t *v;
    size_t vl;
    uint64_t size, n;
    int rc = weft_crdt_read_part(txn, ctx, len, KEY, KEY_LEN, WEFT_CRDT_LWW_MAP, id, 32, &st);
    if (rc == 0)
        rc = weft_crdt_map_get(st, id, 32, &v, &vl);
    if (rc == 0 && weft_blob_record_check(v, vl, &size, &n) != 0)
        rc = WEFT_ENOTFOUND; /* a record that does not parse announces nothing */
    if (rc == 0) {
        *rec = malloc(vl);
        if (*rec) {
            memcpy(*rec, v, vl);
            *rec_len = vl;
        } else {
            rc = WEFT_ENOMEM;
        }
    }
    weft_crdt_state_delete(st);
    return rc == 0 ? 0 : WEFT_ENOTFOUND;
}

/* ---- fetches ------------------------------------------------------------------ */

static fetch_t *fetch_find(sync_blobs_t *b, const uint8_t id[32])
{
    for (fetch_t *f = b->fetches; f; f = f->next)
        if (memcmp(f->id, id, 32) == 0)
            return f;
    return NULL;
}

static void fetch_free(fetch_t *f)
{
    free(f->ctx);
    free(f->rec);
    free(f->st);
    free(f);
}

static void fetch_remove(sync_blobs_t *b, fetch_t *f)
{
    pthread_mutex_lock(&b->mu);
    for (fetch_t **pp = &b->fetches; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    b->stats.fetching--;
    pthread_mutex_unlock(&b->mu);
    fetch_free(f);
}

static int is_failed(sync_blobs_t *b, const uint8_t id[32])
{
    for (size_t i = 0; i < b->nfailed; i++)
        if (memcmp(b->failed[i], id, 32) == 0)
            return 1;
    return 0;
}

static bpeer_t *peer_of(sync_blobs_t *b, void *h)
{
    for (bpeer_t *p = b->peers; p; p = p->next)
        if (p->h == h)
            return p;
    return NULL;
}

static int resting(fetch_t *f, const uint8_t id[32], uint64_t now)
{
    for (int i = 0; i < 8; i++)
        if (f->rest_until[i] > now && memcmp(f->rest[i], id, 32) == 0)
            return 1;
    return 0;
}

static void rest(sync_blobs_t *b, fetch_t *f, const uint8_t id[32])
{
    int slot = 0;
    for (int i = 1; i < 8; i++)
        if (f->rest_until[i] < f->rest_until[slot])
            slot = i;
    memcpy(f->rest[slot], id, 32);
    f->rest_until[slot] = b->cfg.now_ms(b->cfg.user) + SKIP_MS;
}

/* The peer to ask for f's next chunk: an up member of f's context that is
 * not resting. */
static bpeer_t *source(sync_blobs_t *b, fetch_t *f, uint64_t now)
{
    for (bpeer_t *p = b->peers; p; p = p->next)
        if (!resting(f, p->id, now) && b->cfg.member(b->cfg.user, (const uint8_t *)f->ctx,
                                                     f->ctx_len, p->id))
            return p;
    return NULL;
}

static int busy(const fetch_t *f)
{
    int n = f->writing + f->assembling;
    for (int i = 0; i < FETCH_WINDOW; i++)
        n += f->asked[i].used;
    return n > 0;
}

/* Whether f may ask for chunks: it has some in flight already, or fewer
 * than FETCH_ACTIVE fetches have. A fetch no peer can serve (its blob's
 * holders are away) has none in flight, so it never holds up the others. */
static int active(sync_blobs_t *b, fetch_t *f)
{
    if (busy(f))
        return 1;
    int n = 0;
    for (fetch_t *g = b->fetches; g; g = g->next)
        n += busy(g);
    return n < FETCH_ACTIVE;
}

static int job_fn(weft_txn_t *txn, void *arg)
{
    bjob_t *j = arg;
    if (j->assemble)
        return weft_blob_assemble(txn, j->id, j->bytes, j->len);
    return weft_blob_chunk_put(txn, j->h, j->bytes, j->len);
}

static void pump(sync_blobs_t *b, fetch_t *f);
static void pump_all(sync_blobs_t *b);

static void job_done(void *arg, int rc)
{
    bjob_t *j = arg;
    sync_blobs_t *b = j->b;
    fetch_t *f = fetch_find(b, j->id);
    char h[65];
    hex(j->id, h);
    if (f && j->assemble) {
        f->assembling = 0;
        if (rc == 0) {
            blog(b, "sync: blob %.16s (%llu bytes) fetched for context %s", h,
                 (unsigned long long)f->size, f->ctx);
            pthread_mutex_lock(&b->mu);
            b->stats.fetched++;
            pthread_mutex_unlock(&b->mu);
            fetch_remove(b, f);
        } else if (rc == WEFT_EARG) {
            blog(b, "sync: blob %.16s of context %s dropped: the chunks announced are not its "
                    "bytes", h, f->ctx);
            if (b->nfailed < MAX_FAILED)
                memcpy(b->failed[b->nfailed++], j->id, 32);
            pthread_mutex_lock(&b->mu);
            b->stats.failed++;
            pthread_mutex_unlock(&b->mu);
            fetch_remove(b, f);
        } else {
            /* a chunk went missing, or the store failed: look again */
            blog(b, "sync: blob %.16s not assembled (%s): its chunks are checked again", h,
                 rc == WEFT_ENOTFOUND ? "a chunk is missing" : "a storage error");
            weft_txn_t *txn;
            if (weft_txn_begin(b->cfg.db, WEFT_TXN_READ, &txn) == 0) {
                uint64_t stored = 0;
                for (uint64_t i = 0; i < f->n; i++) {
                    const uint8_t *v;
                    size_t vl;
                    f->st[i] = weft_blob_chunk_get(txn, f->rec + 8 + 32 * i, &v, &vl) == 0
                                   ? CH_STORED : CH_MISSING;
                    stored += f->st[i] == CH_STORED;
                }
                weft_txn_abort(txn);
                pthread_mutex_lock(&b->mu);
                f->stored = stored;
                pthread_mutex_unlock(&b->mu);
            }
        }
    } else if (f) {
        f->writing--;
        if (f->st[j->idx] == CH_WRITING) {
            f->st[j->idx] = rc == 0 ? CH_STORED : CH_MISSING;
            if (rc == 0) {
                pthread_mutex_lock(&b->mu);
                f->stored++;
                b->stats.chunks_in++;
                pthread_mutex_unlock(&b->mu);
            }
        }
    }
    free(j->bytes);
    free(j);
    pump_all(b);
}

/* Queues a write job; 0 or an error (nothing queued). */
static int job_queue(sync_blobs_t *b, fetch_t *f, int assemble, uint64_t idx, const uint8_t *p,
                     size_t len)
{
    bjob_t *j = calloc(1, sizeof *j);
    if (!j || !(j->bytes = malloc(len ? len : 1))) {
        free(j);
        return WEFT_ENOMEM;
    }
    j->b = b;
    memcpy(j->id, f->id, 32);
    j->assemble = assemble;
    j->idx = idx;
    memcpy(j->bytes, p, len);
    j->len = len;
    if (!assemble)
        memcpy(j->h, f->rec + 8 + 32 * idx, 32);
    int rc = b->cfg.write(b->cfg.user, job_fn, j, job_done);
    if (rc != 0) {
        free(j->bytes);
        free(j);
    }
    return rc;
}

/* Asks for f's missing chunks up to the window, and assembles it once all
 * are stored. */
static void pump(sync_blobs_t *b, fetch_t *f)
{
    if (f->assembling || !active(b, f))
        return;
    if (f->stored == f->n) {
        if (f->writing == 0 && job_queue(b, f, 1, 0, f->rec, f->rec_len) == 0)
            f->assembling = 1;
        return;
    }
    uint64_t now = b->cfg.now_ms(b->cfg.user);
    int inflight = f->writing;
    for (int i = 0; i < FETCH_WINDOW; i++)
        inflight += f->asked[i].used;
    uint64_t idx = 0;
    while (inflight < FETCH_WINDOW) {
        while (idx < f->n && f->st[idx] != CH_MISSING)
            idx++;
        if (idx >= f->n)
            return;
        bpeer_t *p = source(b, f, now);
        if (!p)
            return; /* the tick tries again */
        uint8_t want[WANT_LEN];
        memcpy(want, f->id, 32);
        put_u32(want + 32, (uint32_t)idx);
        if (b->cfg.send(b->cfg.user, p->h, SYNC_MSG_BLOB_WANT, want, sizeof want) != 0)
            return; /* a full link: again when it drains, or at the tick */
        if (!f->started) {
            char h[65];
            hex(f->id, h);
            blog(b, "sync: fetching blob %.16s (%llu bytes, %llu of %llu chunks here) for "
                    "context %s", h, (unsigned long long)f->size, (unsigned long long)f->stored,
                 (unsigned long long)f->n, f->ctx);
            f->started = 1;
        }
        for (int i = 0; i < FETCH_WINDOW; i++)
            if (!f->asked[i].used) {
                f->asked[i] = (asked_t){.idx = idx, .peer = p->h, .at = now, .used = 1};
                break;
            }
        f->st[idx] = CH_ASKED;
        inflight++;
    }
}

static void pump_all(sync_blobs_t *b)
{
    for (fetch_t *f = b->fetches, *next; f; f = next) {
        next = f->next;
        pump(b, f);
    }
}

/* A fetch of blob id announced in ctx with record rec (taken), the chunks
 * already stored counted. */
static void fetch_start(sync_blobs_t *b, weft_txn_t *txn, const uint8_t *ctx, size_t len,
                        const uint8_t id[32], uint8_t *rec, size_t rec_len)
{
    fetch_t *f = calloc(1, sizeof *f);
    uint64_t size, n;
    weft_blob_record_check(rec, rec_len, &size, &n);
    if (!f || !(f->ctx = malloc(len + 1)) || !(f->st = calloc(n ? n : 1, 1))) {
        if (f)
            free(f->ctx);
        free(f);
        free(rec);
        return;
    }
    memcpy(f->id, id, 32);
    memcpy(f->ctx, ctx, len);
    f->ctx[len] = '\0';
    f->ctx_len = len;
    f->rec = rec;
    f->rec_len = rec_len;
    f->size = size;
    f->n = n;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *v;
        size_t vl;
        if (weft_blob_chunk_get(txn, rec + 8 + 32 * i, &v, &vl) == 0) {
            f->st[i] = CH_STORED;
            f->stored++;
        }
    }
    pthread_mutex_lock(&b->mu);
    fetch_t **pp = &b->fetches; /* at the end: the first come are fetched first */
    while (*pp)
        pp = &(*pp)->next;
    *pp = f;
    b->stats.fetching++;
    pthread_mutex_unlock(&b->mu);
}

void sync_blobs_context(sync_blobs_t *b, const uint8_t *ctx, size_t len)
{
    weft_txn_t *txn;
    weft_crdt_state_t *st = NULL;
    uint8_t *buf = NULL;
    size_t need = 0;
    if (!b->cfg.member(b->cfg.user, ctx, len, b->self))
        return;
    if (weft_txn_begin(b->cfg.db, WEFT_TXN_READ, &txn) != 0)
        return;
    /* a fetch for ctx of a blob withdrawn from it stops (its jobs in
     * flight find no fetch when they end, chunks asked find none) */
    for (fetch_t *f = b->fetches, *next; f; f = next) {
        uint8_t *rec = NULL;
        size_t rl;
        next = f->next;
        if (f->ctx_len != len || memcmp(f->ctx, ctx, len) != 0 || f->assembling ||
            announced(txn, ctx, len, f->id, &rec, &rl) == 0) {
            free(rec);
            continue;
        }
        char h[65];
        hex(f->id, h);
        blog(b, "sync: blob %.16s withdrawn from context %s: its fetch stops (%llu of %llu "
                "chunks here)", h, f->ctx, (unsigned long long)f->stored, (unsigned long long)f->n);
        fetch_remove(b, f);
    }
    if (weft_crdt_read(txn, ctx, len, KEY, KEY_LEN, WEFT_CRDT_LWW_MAP, &st) != 0)
        goto out;
    weft_crdt_map_entries(st, NULL, 0, &need);
    if (!(buf = malloc(need)) || weft_crdt_map_entries(st, buf, need, &need) != 0)
        goto out;
    uint32_t count = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
                     (uint32_t)buf[3] << 24;
    size_t off = 4;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t fl = (uint32_t)buf[off] | (uint32_t)buf[off + 1] << 8 |
                      (uint32_t)buf[off + 2] << 16 | (uint32_t)buf[off + 3] << 24;
        const uint8_t *field = buf + off + 4;
        off += 4 + fl;
        uint32_t vl = (uint32_t)buf[off] | (uint32_t)buf[off + 1] << 8 |
                      (uint32_t)buf[off + 2] << 16 | (uint32_t)buf[off + 3] << 24;
        const uint8_t *val = buf + off + 4;
        off += 4 + vl;
        uint64_t size, n, have;
        if (fl != 32 || vl > WEFT_SYNC_BLOB_RECORD_MAX ||
            weft_blob_record_check(val, vl, &size, &n) != 0 ||
            fetch_find(b, field) || is_failed(b, field) || weft_blob_stat(txn, field, &have) == 0)
            continue;
        uint8_t *rec = malloc(vl);
        if (!rec)
            break;
        memcpy(rec, val, vl);
        fetch_start(b, txn, ctx, len, field, rec, vl);
    }
out:
    free(buf);
    weft_crdt_state_delete(st);
    weft_txn_abort(txn);
    pump_all(b);
}

/* ---- serving ------------------------------------------------------------------- */

typedef struct {
    sync_blobs_t *b;
    weft_txn_t *txn;
    const uint8_t *id;
    uint8_t *rec;
    size_t rec_len;
} may_t;

static void may_ctx(void *arg, const uint8_t *ctx, size_t len)
{
    may_t *m = arg;
    if (m->rec || !m->b->cfg.member(m->b->cfg.user, ctx, len, m->b->self))
        return;
    announced(m->txn, ctx, len, m->id, &m->rec, &m->rec_len);
}

/* Answers a BLOB_WANT: the chunk when the asker shares a context that
 * announces the blob and the chunk is here, else BLOB_NONE. A chunk the
 * link refuses is not queued: the asker asks again after RETRY_MS. */
static void serve(sync_blobs_t *b, bpeer_t *p, const uint8_t *want)
{
    weft_txn_t *txn;
    uint32_t idx = get_u32(want + 32);
    may_t m = {b, NULL, want, NULL, 0};
    uint64_t size, n;
    if (weft_txn_begin(b->cfg.db, WEFT_TXN_READ, &txn) != 0)
        return;
    m.txn = txn;
    b->cfg.contexts(b->cfg.user, p->id, may_ctx, &m);
    const uint8_t *v;
    size_t vl;
    uint8_t *c = NULL;
    if (m.rec && weft_blob_record_check(m.rec, m.rec_len, &size, &n) == 0 && idx < n &&
        weft_blob_chunk_get(txn, m.rec + 8 + 32 * (size_t)idx, &v, &vl) == 0 &&
        (c = malloc(WANT_LEN + vl)) != NULL) {
        memcpy(c, want, WANT_LEN);
        memcpy(c + WANT_LEN, v, vl);
        if (b->cfg.send(b->cfg.user, p->h, SYNC_MSG_BLOB_CHUNK, c, WANT_LEN + vl) == 0) {
            pthread_mutex_lock(&b->mu);
            b->stats.chunks_served++;
            pthread_mutex_unlock(&b->mu);
        }
    } else {
        if (!m.rec) {
            char h[65], from[65];
            hex(want, h);
            hex(p->id, from);
            blog(b, "sync: %.16s asked for blob %.16s, announced to no context it shares with "
                    "this node: refused", from, h);
        }
        b->cfg.send(b->cfg.user, p->h, SYNC_MSG_BLOB_NONE, want, WANT_LEN);
    }
    free(c);
    free(m.rec);
    weft_txn_abort(txn);
}

/* ---- receiving ------------------------------------------------------------------ */

static asked_t *asked_of(fetch_t *f, uint64_t idx, void *peer)
{
    for (int i = 0; i < FETCH_WINDOW; i++)
        if (f->asked[i].used && f->asked[i].idx == idx && f->asked[i].peer == peer)
            return &f->asked[i];
    return NULL;
}

static void on_chunk(sync_blobs_t *b, bpeer_t *p, const uint8_t *m, size_t len)
{
    fetch_t *f = fetch_find(b, m);
    uint32_t idx = get_u32(m + 32);
    asked_t *a = f && idx < f->n ? asked_of(f, idx, p->h) : NULL;
    if (!a)
        return; /* a late answer to a request made again, or never made */
    a->used = 0;
    const uint8_t *bytes = m + WANT_LEN;
    size_t n = len - WANT_LEN;
    size_t want = idx + 1 < f->n ? WEFT_BLOB_CHUNK : (size_t)(f->size - (uint64_t)idx * WEFT_BLOB_CHUNK);
    uint8_t h[32];
    crypto_hash_sha256(h, bytes, n);
    if (n != want || sodium_memcmp(h, f->rec + 8 + 32 * (size_t)idx, 32) != 0) {
        char bh[65], from[65];
        hex(f->id, bh);
        hex(p->id, from);
        blog(b, "sync: chunk %u of blob %.16s from %.16s refused: %s", idx, bh, from,
             n != want ? "not the chunk's length" : "its SHA-256 is not the one announced");
        pthread_mutex_lock(&b->mu);
        b->stats.chunks_refused++;
        pthread_mutex_unlock(&b->mu);
        rest(b, f, p->id);
        f->st[idx] = CH_MISSING;
        pump(b, f);
        return;
    }
    if (job_queue(b, f, 0, idx, bytes, n) != 0) {
        f->st[idx] = CH_MISSING; /* asked again */
        return;
    }
    f->st[idx] = CH_WRITING;
    f->writing++;
    pump(b, f);
}

static void on_none(sync_blobs_t *b, bpeer_t *p, const uint8_t *m)
{
    fetch_t *f = fetch_find(b, m);
    uint32_t idx = get_u32(m + 32);
    asked_t *a = f && idx < f->n ? asked_of(f, idx, p->h) : NULL;
    if (!a)
        return;
    a->used = 0;
    f->st[idx] = CH_MISSING;
    rest(b, f, p->id); /* another member may have it */
    pump(b, f);
}

int sync_blobs_receive(sync_blobs_t *b, void *peer, uint8_t type, const uint8_t *p, size_t len)
{
    bpeer_t *bp = peer_of(b, peer);
    switch (type) {
    case SYNC_MSG_BLOB_WANT:
        if (len != WANT_LEN)
            return -1;
        if (bp)
            serve(b, bp, p);
        return 0;
    case SYNC_MSG_BLOB_CHUNK:
        if (len <= WANT_LEN || len > WANT_LEN + WEFT_BLOB_CHUNK)
            return -1;
        if (bp)
            on_chunk(b, bp, p, len);
        return 0;
    case SYNC_MSG_BLOB_NONE:
        if (len != WANT_LEN)
            return -1;
        if (bp)
            on_none(b, bp, p);
        return 0;
    default: return 0;
    }
}

/* ---- peers, tick ----------------------------------------------------------------- */

void sync_blobs_peer_up(sync_blobs_t *b, void *peer, const uint8_t id[32])
{
    bpeer_t *p = calloc(1, sizeof *p);
    if (!p)
        return;
    p->h = peer;
    memcpy(p->id, id, 32);
    p->next = b->peers;
    b->peers = p;
    pump_all(b);
}

/* The chunks asked of a peer that went down are asked of another (or of
 * it again when it comes back). */
void sync_blobs_peer_down(sync_blobs_t *b, void *peer)
{
    for (bpeer_t **pp = &b->peers; *pp; pp = &(*pp)->next)
        if ((*pp)->h == peer) {
            bpeer_t *p = *pp;
            *pp = p->next;
            free(p);
            break;
        }
    for (fetch_t *f = b->fetches; f; f = f->next)
        for (int i = 0; i < FETCH_WINDOW; i++)
            if (f->asked[i].used && f->asked[i].peer == peer) {
                f->asked[i].used = 0;
                f->st[f->asked[i].idx] = CH_MISSING;
            }
    pump_all(b);
}

void sync_blobs_writable(sync_blobs_t *b, void *peer)
{
    (void)peer;
    pump_all(b);
}

void sync_blobs_tick(sync_blobs_t *b)
{
    uint64_t now = b->cfg.now_ms(b->cfg.user);
    for (fetch_t *f = b->fetches; f; f = f->next)
        for (int i = 0; i < FETCH_WINDOW; i++)
            if (f->asked[i].used && now - f->asked[i].at >= RETRY_MS) {
                f->asked[i].used = 0;
                f->st[f->asked[i].idx] = CH_MISSING;
            }
    pump_all(b);
}

/* ---- life, queries ----------------------------------------------------------------- */

int sync_blobs_new(const sync_blobs_config_t *cfg, sync_blobs_t **out)
{
    sync_blobs_t *b = calloc(1, sizeof *b);
    *out = NULL;
    if (!b)
        return WEFT_ENOMEM;
    b->cfg = *cfg;
    memcpy(b->self, cfg->self_id, 32);
    pthread_mutex_init(&b->mu, NULL);
    *out = b;
    return 0;
}

void sync_blobs_delete(sync_blobs_t *b)
{
    if (!b)
        return;
    while (b->peers) {
        bpeer_t *p = b->peers;
        b->peers = p->next;
        free(p);
    }
    while (b->fetches) {
        fetch_t *f = b->fetches;
        b->fetches = f->next;
        fetch_free(f);
    }
    pthread_mutex_destroy(&b->mu);
    free(b);
}

int sync_blobs_fetching(sync_blobs_t *b, const uint8_t id[32], uint64_t *have, uint64_t *size)
{
    int found = 0;
    pthread_mutex_lock(&b->mu);
    for (fetch_t *f = b->fetches; f; f = f->next)
        if (memcmp(f->id, id, 32) == 0) {
            found = 1;
            if (have)
                *have = f->stored * WEFT_BLOB_CHUNK < f->size ? f->stored * WEFT_BLOB_CHUNK
                                                              : f->size;
            if (size)
                *size = f->size;
            break;
        }
    pthread_mutex_unlock(&b->mu);
    return found;
}

void sync_blobs_stats(sync_blobs_t *b, weft_sync_blob_stats_t *out)
{
    pthread_mutex_lock(&b->mu);
    *out = b->stats;
    pthread_mutex_unlock(&b->mu);
}
