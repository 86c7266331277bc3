/*
 * repl.c — the replication protocol (repl.h; docs/sync.md "Replication").
 *
 * Per (peer, context) the engine keeps two version vectors: `acked`, what
 * the peer is known to hold (its last VV, raised by its ACKs and by the ops
 * it sends us), and `sent`, acked plus what went out since. It pushes what
 * the op-log has past `sent` (weft_crdt_missing) while fewer than
 * window_ops, and fewer OPS frames than the receiver queues, are
 * unacknowledged, a window in several frames (pipelining); when acks stop
 * progressing for resend_ms, sent falls back to acked and the rest goes
 * again (a frame may be lost: sent is never delivered). A version vector never claims more than the
 * peer holds, because a peer's op-log is gap-free per origin and durable:
 * whatever it acks or sends it keeps.
 *
 * Received OPS frames are decoded and checked whole before anything is
 * applied; each becomes one write job (one transaction). A peer has at most
 * one job in the writer and a bounded queue behind it (frames past it are
 * dropped, unacknowledged, and come again), so its memory here is bounded
 * whatever it sends.
 *
 * Compaction and snapshots (docs/sync.md "Compaction and snapshots"): a
 * tick now and then stores what linked members acknowledged and drops the
 * log entries every member holds (weft_crdt_compact). A peer under a floor
 * is told SNAP_NEED and pulls the context's records chunk by chunk
 * (SNAP_REQ names the position, so the sender keeps nothing); the taker
 * applies each chunk as one job and stores its progress, so a dropped link
 * or a restart resumes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h" /* SYNC_MAX_FRAME: the largest frame a link carries */
#include "repl.h"
#include "repl_msg.h"
#include "weft/crdt_store.h"
#include "weft/error.h"

#define DEFAULT_BATCH ((size_t)64 << 10)
#define DEFAULT_WINDOW 16384
#define DEFAULT_RESEND_MS 2000
#define DEFAULT_AE_MS 5000
/* Frames queued behind a peer's running write job. */
#define MAX_QUEUED_JOBS 8
/* OPS frames sent to a peer (all contexts) and not yet acked: the window in
 * frames. The receiver runs one and queues MAX_QUEUED_JOBS behind it, so a
 * sender that keeps to this never has a frame dropped for a full queue. */
#define MAX_FRAMES_OUT MAX_QUEUED_JOBS
/* A window's ops go in at least this many frames, so acks of the first
 * come back while the next apply (pipelining): with small ops a whole
 * window would otherwise fit one frame (stop-and-wait). */
#define FRAMES_PER_WINDOW 4
#define DEFAULT_COMPACT_MS 10000
#define DEFAULT_COMPACT_KEEP 1024
#define DEFAULT_COMPACT_MAX 4096

typedef struct {
    weft_crdt_id_t *v; /* ascending by origin */
    size_t n, cap;
} vv_t;

typedef struct pctx {
    struct pctx *next;
    uint8_t ctx[WEFT_CRDT_CONTEXT_MAX];
    size_t ctx_len;
    int known;      /* a VV or ACK of the peer came: acked is meaningful */
    vv_t acked, sent;
    uint64_t progress_ms; /* last ack progress, or first send after quiet */
    uint64_t need_ms;     /* last SNAP_NEED sent (the peer is behind our floor) */
    /* OPS frames sent and not acked (each job the peer applies sends one
     * ACK); back to 0 when nothing is in flight or at a resend, so a lost
     * ACK costs at most a resend_ms */
    unsigned frames_out;
    sync_repl_stats_t stats;
} pctx_t;

/* One received OPS frame waiting for, or in, the writer: the frame as it
 * came (at most SYNC_MAX_FRAME), walked again when applied, so that a job
 * costs its frame and not its ops' canonical encodings (each carries the
 * context again). */
typedef struct job {
    struct job *next;
    sync_repl_t *r;
    sync_repl_peer_t *p;
    uint8_t ctx[WEFT_CRDT_CONTEXT_MAX];
    size_t ctx_len;
    uint8_t *frame;
    size_t len;
    uint64_t wall; /* the clock apply_remote observes, read on our thread */
    /* a SNAP chunk (snap is set): the snapshot's vector, the progress note
     * stored with it (NULL for the last chunk) */
    int snap;
    weft_crdt_id_t *v0;
    size_t nv0;
    uint8_t *note;
    size_t note_len;
} job_t;

/* A snapshot this node is taking of a context, from one sender (receiver
 * side; the sender keeps nothing: each SNAP_REQ names its position). */
typedef struct snap {
    struct snap *next;
    uint8_t ctx[WEFT_CRDT_CONTEXT_MAX];
    size_t ctx_len;
    uint8_t from[32];
    sync_repl_peer_t *p; /* the sender while it is linked */
    int started;         /* v0 known: the first chunk is applied */
    weft_crdt_id_t *v0;
    size_t nv0;
    uint8_t kind; /* position: the last record applied (kind 0: none) */
    uint8_t *pos;
    size_t pos_len;
    uint64_t asked_ms;
    uint64_t lost_ms; /* when its sender's link went down */
    int busy;         /* a chunk in the writer */
} snap_t;

/* One compaction run, in the writer: everything copied, it touches only
 * itself. */
typedef struct {
    sync_repl_t *r;
    uint8_t ctx[WEFT_CRDT_CONTEXT_MAX];
    size_t ctx_len;
    uint8_t self[32];
    uint8_t *members;
    size_t nmembers, mcap;
    struct cack {
        uint8_t id[32];
        weft_crdt_id_t *v;
        size_t n;
    } *acks;
    size_t nacks;
    uint64_t keep;
    size_t max, dropped;
} cjob_t;

struct sync_repl_peer {
    sync_repl_peer_t *next;
    sync_repl_t *r;
    void *handle;
    uint8_t id[32];
    pctx_t *ctxs;
    int blocked; /* send said WEFT_ELIMIT: wait for sync_repl_writable */
    int dead;    /* peer_down came while a job was in the writer */
    job_t *running, *queue;
    size_t queued;
};

struct sync_repl {
    sync_repl_config_t cfg;
    sync_repl_peer_t *peers;
    sync_repl_peer_t *gone; /* down, with a job still in the writer */
    uint64_t next_ae_ms;
    repl_buf_t buf, recs;
    repl_ops_writer_t w;
    snap_t *snaps;
    /* contexts seen (committed to, or shared with a peer), for compaction:
     * a context no linked peer shares is compacted too */
    struct seen_ctx {
        uint8_t ctx[WEFT_CRDT_CONTEXT_MAX];
        size_t len;
    } *seen;
    size_t nseen, seen_cap;
    cjob_t *cjob; /* the compaction run in the writer */
    void *moot;   /* the drop of a moot snapshot in the writer (moot_t) */
    uint64_t next_compact_ms;
    size_t compact_rr;
    sync_repl_counters_t counters; /* for /metrics */
};

/* ---- version vectors ------------------------------------------------- */

static size_t vv_find(const vv_t *vv, const uint8_t *origin, int *found)
{
    size_t lo = 0, hi = vv->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(vv->v[mid].origin, origin, WEFT_CRDT_ORIGIN_LEN);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static uint64_t vv_get(const vv_t *vv, const uint8_t *origin)
{
    int found;
    size_t i = vv_find(vv, origin, &found);
    return found ? vv->v[i].seq : 0;
}

/* Raises origin's entry to seq; returns how much it rose. Bounded by
 * REPL_MAX_ORIGINS entries (an origin past it is not kept: its ops are then
 * sent again, never lost). */
static uint64_t vv_raise(vv_t *vv, const uint8_t *origin, uint64_t seq)
{
    int found;
    size_t i = vv_find(vv, origin, &found);
    uint64_t was;
    if (found) {
        was = vv->v[i].seq;
        if (seq <= was)
            return 0;
        vv->v[i].seq = seq;
        return seq - was;
    }
    if (seq == 0 || vv->n >= REPL_MAX_ORIGINS ||
        repl_grow((void **)&vv->v, &vv->cap, vv->n, sizeof *vv->v, 8) < 0)
        return 0;
    memmove(vv->v + i + 1, vv->v + i, (vv->n - i) * sizeof *vv->v);
    memcpy(vv->v[i].origin, origin, WEFT_CRDT_ORIGIN_LEN);
    vv->v[i].seq = seq;
    vv->n++;
    return seq;
}

static int vv_assign(vv_t *dst, const weft_crdt_id_t *v, size_t n)
{
    if (n > dst->cap) {
        weft_crdt_id_t *nv = realloc(dst->v, n * sizeof *nv);
        if (!nv)
            return WEFT_ENOMEM;
        dst->v = nv;
        dst->cap = n;
    }
    if (n)
        memcpy(dst->v, v, n * sizeof *v);
    dst->n = n;
    return 0;
}

/* Ops sent and not yet acknowledged. */
static uint64_t inflight(const pctx_t *c)
{
    uint64_t n = 0;
    for (size_t i = 0; i < c->sent.n; i++) {
        uint64_t a = vv_get(&c->acked, c->sent.v[i].origin);
        if (c->sent.v[i].seq > a)
            n += c->sent.v[i].seq - a;
    }
    return n;
}

/* Our own version vector of ctx. */
typedef struct {
    vv_t vv;
    int rc;
} vv_read_t;

static int vv_read_one(void *user, const uint8_t *origin, uint64_t seq)
{
    vv_read_t *s = user;
    vv_t *vv = &s->vv;
    if (repl_grow((void **)&vv->v, &vv->cap, vv->n, sizeof *vv->v, 8) < 0) {
        s->rc = WEFT_ENOMEM;
        return 1;
    }
    memcpy(vv->v[vv->n].origin, origin, WEFT_CRDT_ORIGIN_LEN);
    vv->v[vv->n++].seq = seq;
    return 0;
}

static int read_vv(sync_repl_t *r, const uint8_t *ctx, size_t ctx_len, vv_t *out)
{
    vv_read_t s = {{NULL, 0, 0}, 0};
    weft_txn_t *txn;
    int rc = weft_txn_begin(r->cfg.db, WEFT_TXN_READ, &txn);
    if (rc < 0)
        return rc;
    rc = weft_crdt_version_vector(txn, ctx, ctx_len, vv_read_one, &s);
    weft_txn_abort(txn);
    if (rc == 0)
        rc = s.rc;
    if (rc < 0) {
        free(s.vv.v);
        return rc;
    }
    *out = s.vv;
    return 0;
}

/* ---- small helpers --------------------------------------------------- */

static void logf_(sync_repl_t *r, const sync_repl_peer_t *p, const char *fmt, const char *what,
                  long long n)
{
    char line[256], hex[17];
    if (!r->cfg.log)
        return;
    for (int i = 0; i < 8; i++)
        snprintf(hex + 2 * i, 3, "%02x", p ? p->id[i] : 0);
    snprintf(line, sizeof line, fmt, hex, what, n);
    r->cfg.log(r->cfg.user, line);
}

static uint64_t now(sync_repl_t *r)
{
    return r->cfg.now_ms ? r->cfg.now_ms(r->cfg.user) : 0;
}

/* One frame to p; WEFT_ELIMIT blocks the peer until sync_repl_writable. */
static int send_frame(sync_repl_t *r, sync_repl_peer_t *p, uint8_t type, const uint8_t *b,
                      size_t len)
{
    int rc;
    if (p->blocked || p->dead)
        return WEFT_ELIMIT;
    rc = r->cfg.send(r->cfg.user, p->handle, type, b, len);
    if (rc == WEFT_ELIMIT)
        p->blocked = 1;
    return rc;
}

/* Remembers ctx for compaction (at most 4,096 contexts). */
static void seen_ctx(sync_repl_t *r, const uint8_t *ctx, size_t ctx_len)
{
    for (size_t i = 0; i < r->nseen; i++)
        if (r->seen[i].len == ctx_len && memcmp(r->seen[i].ctx, ctx, ctx_len) == 0)
            return;
    if (ctx_len > WEFT_CRDT_CONTEXT_MAX || r->nseen >= 4096 ||
        repl_grow((void **)&r->seen, &r->seen_cap, r->nseen, sizeof *r->seen, 8) < 0)
        return;
    memcpy(r->seen[r->nseen].ctx, ctx, ctx_len);
    r->seen[r->nseen++].len = ctx_len;
}

static pctx_t *ctx_find(sync_repl_peer_t *p, const uint8_t *ctx, size_t ctx_len)
{
    for (pctx_t *c = p->ctxs; c; c = c->next)
        if (c->ctx_len == ctx_len && memcmp(c->ctx, ctx, ctx_len) == 0)
            return c;
    return NULL;
}

/* The (p, ctx) record, made when ctx is shared with p (NULL otherwise). */
static pctx_t *ctx_get(sync_repl_t *r, sync_repl_peer_t *p, const uint8_t *ctx, size_t ctx_len)
{
    pctx_t *c;
    /* asked every time: membership changes */
    if (ctx_len > WEFT_CRDT_CONTEXT_MAX || !r->cfg.shared(r->cfg.user, ctx, ctx_len, p->id))
        return NULL;
    if ((c = ctx_find(p, ctx, ctx_len)) != NULL)
        return c;
    if (!(c = calloc(1, sizeof *c)))
        return NULL;
    seen_ctx(r, ctx, ctx_len);
    memcpy(c->ctx, ctx, ctx_len);
    c->ctx_len = ctx_len;
    c->next = p->ctxs;
    p->ctxs = c;
    return c;
}

/* Sends our version vector of c's context, as a VV or an ACK. */
static void send_vv(sync_repl_t *r, sync_repl_peer_t *p, pctx_t *c, uint8_t type)
{
    vv_t ours;
    if (read_vv(r, c->ctx, c->ctx_len, &ours) < 0)
        return;
    /* more origins than a VV may carry: send the first ones (the peer then
     * gets the others' ops again, which is harmless) */
    if (repl_vv_encode(&r->buf, c->ctx, c->ctx_len, ours.v,
                       ours.n < REPL_MAX_ORIGINS ? ours.n : REPL_MAX_ORIGINS) == 0)
        send_frame(r, p, type, r->buf.p, r->buf.len);
    free(ours.v);
}

int sync_repl_vv_answer(sync_repl_t *r, sync_repl_peer_t *p, const uint8_t *vv, size_t len,
                        uint8_t **out, size_t *out_len)
{
    const uint8_t *ctx;
    size_t ctx_len, n;
    weft_crdt_id_t *theirs;
    vv_t ours;
    pctx_t *c;
    int rc = repl_vv_decode(vv, len, &ctx, &ctx_len, &theirs, &n);
    *out = NULL;
    if (rc < 0)
        return rc;
    free(theirs);
    if (!(c = ctx_get(r, p, ctx, ctx_len)))
        return WEFT_EARG;
    if ((rc = read_vv(r, c->ctx, c->ctx_len, &ours)) < 0)
        return rc;
    /* as send_vv: the first origins when there are more than a VV takes */
    rc = repl_vv_encode(&r->buf, c->ctx, c->ctx_len, ours.v,
                        ours.n < REPL_MAX_ORIGINS ? ours.n : REPL_MAX_ORIGINS);
    free(ours.v);
    if (rc < 0)
        return rc;
    if (!(*out = malloc(r->buf.len ? r->buf.len : 1)))
        return WEFT_ENOMEM;
    memcpy(*out, r->buf.p, r->buf.len);
    *out_len = r->buf.len;
    return 0;
}

void sync_repl_counters(const sync_repl_t *r, sync_repl_counters_t *out)
{
    *out = r->counters;
}

/* ---- push ------------------------------------------------------------ */

typedef struct {
    sync_repl_t *r;
    sync_repl_peer_t *p;
    pctx_t *c;
    uint64_t room;  /* ops the window still takes */
    vv_t frame;     /* the last seq of each origin in the frame being built */
    size_t cap;     /* bytes of a frame */
    size_t per;     /* ops of a frame */
    unsigned frames; /* frames the peer still takes (MAX_FRAMES_OUT) */
    int failed;
} push_t;

/* Sends the frame in r->w; on success its ops count as sent. */
static int push_flush(push_t *s)
{
    sync_repl_t *r = s->r;
    repl_ops_writer_t *w = &r->w;
    int rc;
    if (w->nops == 0)
        return 0;
    if ((rc = repl_ops_end(w)) < 0)
        return rc;
    if (inflight(s->c) == 0)
        s->c->progress_ms = now(r);
    rc = send_frame(r, s->p, SYNC_MSG_OPS, w->frame.p, w->frame.len);
    if (rc == 0) {
        s->c->frames_out++;
        s->frames--;
        for (size_t i = 0; i < s->frame.n; i++)
            vv_raise(&s->c->sent, s->frame.v[i].origin, s->frame.v[i].seq);
        s->c->stats.ops_sent += w->nops;
        s->c->stats.bytes_sent += w->frame.len;
    }
    s->frame.n = 0;
    repl_ops_begin(w, s->c->ctx, s->c->ctx_len);
    return rc;
}

static int push_op(void *user, const uint8_t *bytes, size_t len)
{
    push_t *s = user;
    sync_repl_t *r = s->r;
    weft_crdt_op_t op;
    /* an op's wire form is at most its canonical encoding and a few bytes
     * (a head byte for type and kind, a zigzag delta for the hlc) */
    size_t bound = len + 16;
    if (weft_crdt_op_decode(bytes, len, &op) < 0) {
        logf_(r, s->p, "sync: peer %s: %s (%lld bytes); not sent", "an op-log entry is corrupt",
              (long long)len);
        s->failed = 1;
        return 1;
    }
    if (r->w.nops > 0 && (repl_ops_size(&r->w) + bound > s->cap || r->w.nops >= s->per)) {
        if (push_flush(s) < 0) {
            s->failed = 1;
            return 1;
        }
        if (s->frames == 0) /* the rest when an ack frees a frame */
            return 1;
    }
    if (repl_ops_size(&r->w) + bound > SYNC_MAX_FRAME - 1) {
        logf_(r, s->p, "sync: peer %s: %s (%lld bytes); its origin is stuck here",
              "an op is too large for a frame", (long long)len);
        s->failed = 1;
        return 1;
    }
    /* an origin's seqs only grow here: a raise of 0 is a failed one */
    if (repl_ops_add(&r->w, &op) < 0 || vv_raise(&s->frame, op.origin, op.seq) == 0) {
        s->failed = 1;
        return 1;
    }
    return --s->room == 0;
}

/* Pushes what the peer lacks of c's context, within the window, in
 * frames of at most max_batch_bytes. */
static void push(sync_repl_t *r, sync_repl_peer_t *p, pctx_t *c)
{
    size_t window = r->cfg.window_ops ? r->cfg.window_ops : DEFAULT_WINDOW;
    push_t s = {r, p, c, 0, {NULL, 0, 0}, 0, 0, 0, 0};
    uint64_t out = inflight(c);
    unsigned frames = 0;
    vv_t from = {NULL, 0, 0};
    weft_txn_t *txn;
    int rc;
    if (out == 0)
        c->frames_out = 0; /* all acked (an ACK may have been lost) */
    for (pctx_t *o = p->ctxs; o; o = o->next)
        frames += o->frames_out;
    if (!c->known || p->blocked || p->dead || out >= window || frames >= MAX_FRAMES_OUT ||
        !r->cfg.shared(r->cfg.user, c->ctx, c->ctx_len, p->id))
        return;
    s.frames = MAX_FRAMES_OUT - frames;
    s.per = window / FRAMES_PER_WINDOW ? window / FRAMES_PER_WINDOW : 1;
    /* missing reads the vector while we raise c->sent: give it a copy */
    if (vv_assign(&from, c->sent.v, c->sent.n) < 0)
        return;
    s.room = window - out;
    s.cap = r->cfg.max_batch_bytes ? r->cfg.max_batch_bytes : DEFAULT_BATCH;
    if (s.cap > SYNC_MAX_FRAME - 1)
        s.cap = SYNC_MAX_FRAME - 1;
    if (weft_txn_begin(r->cfg.db, WEFT_TXN_READ, &txn) < 0) {
        free(from.v);
        return;
    }
    if (weft_crdt_behind_floor(txn, c->ctx, c->ctx_len, from.v, from.n) != 0) {
        /* our log no longer has what it lacks: it must ask for a snapshot
         * (told again every resend_ms while it stays behind) */
        uint64_t t = now(r);
        weft_txn_abort(txn);
        free(from.v);
        if (c->need_ms == 0 || t - c->need_ms >= r->cfg.resend_ms) {
            c->need_ms = t ? t : 1;
            if (repl_ctx_encode(&r->buf, c->ctx, c->ctx_len) == 0)
                send_frame(r, p, SYNC_MSG_SNAP_NEED, r->buf.p, r->buf.len);
        }
        return;
    }
    repl_ops_begin(&r->w, c->ctx, c->ctx_len);
    rc = weft_crdt_missing(txn, c->ctx, c->ctx_len, from.v, from.n, push_op, &s);
    weft_txn_abort(txn);
    if (rc == 0 && !s.failed && s.frames > 0)
        push_flush(&s);
    free(s.frame.v);
    free(from.v);
}

static void push_peer(sync_repl_t *r, sync_repl_peer_t *p)
{
    for (pctx_t *c = p->ctxs; c; c = c->next)
        push(r, p, c);
}

/* ---- peers ----------------------------------------------------------- */

int sync_repl_new(const sync_repl_config_t *cfg, sync_repl_t **out)
{
    sync_repl_t *r;
    *out = NULL;
    if (!cfg || !cfg->db || !cfg->send || !cfg->write || !cfg->shared || !cfg->contexts)
        return WEFT_EARG;
    if (!(r = calloc(1, sizeof *r)))
        return WEFT_ENOMEM;
    r->cfg = *cfg;
    if (!r->cfg.resend_ms)
        r->cfg.resend_ms = DEFAULT_RESEND_MS;
    if (!r->cfg.anti_entropy_ms)
        r->cfg.anti_entropy_ms = DEFAULT_AE_MS;
    if (!r->cfg.compact_ms)
        r->cfg.compact_ms = DEFAULT_COMPACT_MS;
    if (!r->cfg.compact_keep)
        r->cfg.compact_keep = DEFAULT_COMPACT_KEEP;
    if (!r->cfg.compact_max_ops)
        r->cfg.compact_max_ops = DEFAULT_COMPACT_MAX;
    r->next_ae_ms = now(r) + r->cfg.anti_entropy_ms;
    r->next_compact_ms = now(r) + r->cfg.compact_ms;
    *out = r;
    return 0;
}

static void job_free(job_t *j)
{
    free(j->frame);
    free(j->v0);
    free(j->note);
    free(j);
}

static void snap_free(snap_t *s)
{
    free(s->v0);
    free(s->pos);
    free(s);
}

static void cjob_free(cjob_t *j)
{
    for (size_t i = 0; i < j->nacks; i++)
        free(j->acks[i].v);
    free(j->acks);
    free(j->members);
    free(j);
}

static void peer_free(sync_repl_peer_t *p)
{
    while (p->ctxs) {
        pctx_t *c = p->ctxs;
        p->ctxs = c->next;
        free(c->acked.v);
        free(c->sent.v);
        free(c);
    }
    while (p->queue) {
        job_t *j = p->queue;
        p->queue = j->next;
        job_free(j);
    }
    if (p->running)
        job_free(p->running);
    free(p);
}

void sync_repl_delete(sync_repl_t *r)
{
    if (!r)
        return;
    while (r->peers) {
        sync_repl_peer_t *p = r->peers;
        r->peers = p->next;
        peer_free(p);
    }
    while (r->gone) {
        sync_repl_peer_t *p = r->gone;
        r->gone = p->next;
        peer_free(p);
    }
    while (r->snaps) {
        snap_t *s = r->snaps;
        r->snaps = s->next;
        snap_free(s);
    }
    if (r->cjob)
        cjob_free(r->cjob);
    free(r->moot);
    free(r->seen);
    repl_buf_free(&r->buf);
    repl_buf_free(&r->recs);
    repl_ops_writer_free(&r->w);
    free(r);
}

typedef struct {
    sync_repl_t *r;
    sync_repl_peer_t *p;
} up_t;

static void up_ctx(void *arg, const uint8_t *ctx, size_t ctx_len)
{
    up_t *u = arg;
    int fresh = ctx_find(u->p, ctx, ctx_len) == NULL;
    pctx_t *c = ctx_get(u->r, u->p, ctx, ctx_len);
    if (c && fresh)
        send_vv(u->r, u->p, c, SYNC_MSG_VV);
}

sync_repl_peer_t *sync_repl_peer_up(sync_repl_t *r, void *peer, const uint8_t peer_id[32])
{
    sync_repl_peer_t *p = calloc(1, sizeof *p);
    up_t u = {r, p};
    if (!p)
        return NULL;
    p->r = r;
    p->handle = peer;
    memcpy(p->id, peer_id, 32);
    p->next = r->peers;
    r->peers = p;
    /* anti-entropy on connect: our VV for every shared context */
    r->cfg.contexts(r->cfg.user, p->id, up_ctx, &u);
    return p;
}

void sync_repl_peer_down(sync_repl_t *r, sync_repl_peer_t *p)
{
    /* a snapshot from it waits, its progress kept, until it is back */
    for (snap_t *s = r->snaps; s; s = s->next)
        if (s->p == p) {
            s->p = NULL;
            s->lost_ms = now(r);
        }
    for (sync_repl_peer_t **pp = &r->peers; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    /* a job in the writer still points here: free when its done comes */
    if (p->running) {
        p->dead = 1;
        p->next = r->gone;
        r->gone = p;
    } else {
        peer_free(p);
    }
}

void sync_repl_writable(sync_repl_t *r, sync_repl_peer_t *p)
{
    p->blocked = 0;
    push_peer(r, p);
}

size_t sync_repl_peer_queued(const sync_repl_peer_t *p)
{
    return p ? p->queued + (p->running != NULL) : 0;
}

void sync_repl_notify(sync_repl_t *r, const uint8_t *ctx, size_t ctx_len)
{
    seen_ctx(r, ctx, ctx_len);
    for (sync_repl_peer_t *p = r->peers; p; p = p->next) {
        pctx_t *c = ctx_find(p, ctx, ctx_len);
        up_t u = {r, p};
        if (c) {
            if (!r->cfg.lazy_push)
                push(r, p, c);
        } else { /* shared since the peer came up? start it now, not at the next tick */
            up_ctx(&u, ctx, ctx_len);
        }
    }
}

static void snap_ask(sync_repl_t *r, snap_t *s);
static void compact_start(sync_repl_t *r);

void sync_repl_tick(sync_repl_t *r)
{
    uint64_t t = now(r);
    int ae = t >= r->next_ae_ms;
    /* a request or chunk lost (or refused by a full link): ask again */
    for (snap_t *s = r->snaps; s; s = s->next)
        if (s->p && !s->busy && t - s->asked_ms >= r->cfg.resend_ms)
            snap_ask(r, s);
    if (r->cfg.members && !r->cjob && t >= r->next_compact_ms) {
        r->next_compact_ms = t + r->cfg.compact_ms;
        compact_start(r);
    }
    if (ae)
        r->next_ae_ms = t + r->cfg.anti_entropy_ms;
    for (sync_repl_peer_t *p = r->peers; p; p = p->next) {
        if (ae) {
            up_t u = {r, p};
            /* contexts shared since: start them; then every VV again */
            r->cfg.contexts(r->cfg.user, p->id, up_ctx, &u);
            for (pctx_t *c = p->ctxs; c; c = c->next)
                send_vv(r, p, c, SYNC_MSG_VV);
        }
        for (pctx_t *c = p->ctxs; c; c = c->next) {
            /* no ack progress for resend_ms: what was sent is taken as
             * lost and goes again from acked */
            if (inflight(c) > 0 && t - c->progress_ms >= r->cfg.resend_ms) {
                vv_assign(&c->sent, c->acked.v, c->acked.n);
                c->frames_out = 0;
                c->progress_ms = t;
                push(r, p, c);
            }
        }
    }
}

void sync_repl_peer_stats(sync_repl_t *r, sync_repl_peer_t *p, sync_repl_stats_t *out)
{
    memset(out, 0, sizeof *out);
    for (pctx_t *c = p->ctxs; c; c = c->next) {
        vv_t ours;
        out->ops_sent += c->stats.ops_sent;
        out->ops_received += c->stats.ops_received;
        out->bytes_sent += c->stats.bytes_sent;
        out->bytes_received += c->stats.bytes_received;
        if (read_vv(r, c->ctx, c->ctx_len, &ours) < 0)
            continue;
        for (size_t i = 0; i < ours.n; i++) {
            uint64_t a = vv_get(&c->acked, ours.v[i].origin);
            if (ours.v[i].seq > a)
                out->lag_ops += ours.v[i].seq - a;
        }
        free(ours.v);
    }
}

/* ---- receive --------------------------------------------------------- */

static void job_start(sync_repl_t *r, sync_repl_peer_t *p);

typedef struct {
    weft_txn_t *txn;
    uint64_t wall;
    size_t skip_group;
    int rc;
    const sync_repl_config_t *cfg;
} apply_t;

static int apply_op(void *user, size_t group, const uint8_t *origin, uint64_t seq,
                    const uint8_t *bytes, size_t len)
{
    apply_t *a = user;
    int rc;
    if (group == a->skip_group)
        return 0;
    rc = weft_crdt_apply_remote(a->txn, bytes, len, a->wall);
    if (rc == 0 && a->cfg->applied_op) { /* what the node derives from it, in the batch */
        weft_crdt_op_t op;
        if ((rc = weft_crdt_op_decode(bytes, len, &op)) == 0)
            rc = a->cfg->applied_op(a->cfg->user, a->txn, op.context, op.context_len, op.key,
                                    op.key_len);
        if (rc > 0)
            rc = WEFT_EIO;
    }
    if (rc == WEFT_EARG)
        a->skip_group = group;
    else if (rc < 0)
        a->rc = rc;
    return a->rc < 0;
}

/* One OPS frame in one transaction, on the writer's thread (it touches
 * the job only). Ops of one origin apply in seq order; a gap (WEFT_EARG)
 * stops that origin's group: the sender sends the rest again from what we
 * ack. */
static int snap_apply(weft_txn_t *txn, job_t *j);

static int job_apply(weft_txn_t *txn, void *arg)
{
    job_t *j = arg;
    apply_t a = {txn, j->wall, (size_t)-1, 0, &j->r->cfg};
    int rc;
    if (j->snap)
        return snap_apply(txn, j);
    rc = repl_ops_walk(j->frame, j->len, NULL, NULL, apply_op, &a);
    return rc < 0 ? rc : a.rc;
}

static void snap_done(sync_repl_t *r, job_t *j, int rc);
static void snap_moot(sync_repl_t *r, const uint8_t *ctx, size_t ctx_len);

static void job_done(void *arg, int rc)
{
    job_t *j = arg;
    sync_repl_t *r = j->r;
    sync_repl_peer_t *p = j->p;
    pctx_t *c;
    (void)rc; /* applied or not, the ack says what we hold */
    p->running = NULL;
    if (j->snap)
        snap_done(r, j, rc); /* its progress is ours, whether p is gone or not */
    if (p->dead) {
        if (r->cfg.applied)
            r->cfg.applied(r->cfg.user, j->ctx, j->ctx_len);
        for (sync_repl_peer_t **pp = &r->gone; *pp; pp = &(*pp)->next)
            if (*pp == p) {
                *pp = p->next;
                break;
            }
        job_free(j);
        peer_free(p);
        return;
    }
    if (!j->snap && (c = ctx_get(r, p, j->ctx, j->ctx_len)) != NULL)
        send_vv(r, p, c, SYNC_MSG_ACK);
    if (!j->snap)
        snap_moot(r, j->ctx, j->ctx_len);
    /* what came in may be news to our other peers */
    sync_repl_notify(r, j->ctx, j->ctx_len);
    /* after the push: a batch goes on with the members that held before
     * it, so the op that removes a member reaches that member */
    if (r->cfg.applied)
        r->cfg.applied(r->cfg.user, j->ctx, j->ctx_len);
    job_free(j);
    job_start(r, p);
}

static void job_start(sync_repl_t *r, sync_repl_peer_t *p)
{
    while (!p->running && p->queue) {
        job_t *j = p->queue;
        p->queue = j->next;
        p->queued--;
        p->running = j;
        j->wall = r->cfg.wall_ms ? r->cfg.wall_ms(r->cfg.user) : now(r);
        if (r->cfg.write(r->cfg.user, job_apply, j, job_done) < 0) {
            /* not applied, not acked: the sender sends it again */
            p->running = NULL;
            job_free(j);
        }
    }
}

/* The peer holds what it acks or sends us: raise acked (and sent with it). */
static void peer_has(sync_repl_t *r, pctx_t *c, const uint8_t *origin, uint64_t seq)
{
    if (vv_raise(&c->acked, origin, seq) > 0)
        c->progress_ms = now(r);
    if (vv_get(&c->sent, origin) < seq)
        vv_raise(&c->sent, origin, seq);
}

static int malformed(sync_repl_t *r, sync_repl_peer_t *p, const char *what, size_t len)
{
    logf_(r, p, "sync: peer %s: %s (%lld bytes); dropped, nothing applied", what,
          (long long)len);
    return WEFT_EMALFORMED;
}

static int not_shared(sync_repl_t *r, sync_repl_peer_t *p, const char *what, size_t len)
{
    logf_(r, p, "sync: peer %s: %s (%lld bytes) of a context not shared with it; ignored", what,
          (long long)len);
    return WEFT_EARG;
}

static int receive_vv(sync_repl_t *r, sync_repl_peer_t *p, uint8_t type, const uint8_t *b,
                      size_t len)
{
    const uint8_t *ctx;
    size_t ctx_len, n;
    weft_crdt_id_t *vv;
    pctx_t *c;
    int rc = repl_vv_decode(b, len, &ctx, &ctx_len, &vv, &n);
    if (rc == WEFT_EMALFORMED)
        return malformed(r, p, type == SYNC_MSG_VV ? "malformed VV" : "malformed ACK", len);
    if (rc < 0)
        return rc;
    if (!(c = ctx_get(r, p, ctx, ctx_len))) {
        free(vv);
        return not_shared(r, p, type == SYNC_MSG_VV ? "VV" : "ACK", len);
    }
    c->stats.bytes_received += len;
    if (type == SYNC_MSG_VV) {
        /* the peer's truth: acked becomes it; what we sent past it stays
         * in flight until acked or resent */
        if (vv_assign(&c->acked, vv, n) == 0)
            for (size_t i = 0; i < n; i++)
                peer_has(r, c, vv[i].origin, vv[i].seq);
        c->progress_ms = now(r);
    } else {
        for (size_t i = 0; i < n; i++)
            peer_has(r, c, vv[i].origin, vv[i].seq);
    }
    c->known = 1;
    free(vv);
    /* an ACK of a batch the transport delivered, not of one we pushed */
    if (type == SYNC_MSG_ACK && r->cfg.lazy_push && c->frames_out == 0)
        return 0;
    if (type == SYNC_MSG_ACK && c->frames_out > 0) {
        /* one job applied: a frame freed, maybe one another context of
         * this peer waits for */
        unsigned frames = 0;
        for (pctx_t *o = p->ctxs; o; o = o->next)
            frames += o->frames_out;
        c->frames_out--;
        if (frames >= MAX_FRAMES_OUT) {
            push_peer(r, p);
            return 0;
        }
    }
    push(r, p, c);
    return 0;
}

/* The check walk of an OPS frame: its ops counted and each group's origin
 * and last seq kept (what the sender holds). */
typedef struct {
    vv_t last;
    uint64_t n;
} check_t;

static int check_op(void *user, size_t group, const uint8_t *origin, uint64_t seq,
                    const uint8_t *bytes, size_t len)
{
    check_t *c = user;
    c->n++;
    vv_raise(&c->last, origin, seq);
    return 0;
}

static snap_t *snap_find(sync_repl_t *r, const uint8_t *ctx, size_t ctx_len)
{
    for (snap_t *s = r->snaps; s; s = s->next)
        if (s->ctx_len == ctx_len && memcmp(s->ctx, ctx, ctx_len) == 0)
            return s;
    return NULL;
}

static int receive_ops(sync_repl_t *r, sync_repl_peer_t *p, const uint8_t *b, size_t len)
{
    check_t chk = {{NULL, 0, 0}, 0};
    job_t *j;
    pctx_t *c;
    int rc;
    if (!(j = calloc(1, sizeof *j)))
        return WEFT_ENOMEM;
    j->r = r;
    j->p = p;
    /* the whole frame is decoded and checked before anything is applied */
    if ((rc = repl_ops_walk(b, len, j->ctx, &j->ctx_len, check_op, &chk)) < 0) {
        free(chk.last.v);
        free(j);
        return rc == WEFT_EMALFORMED ? malformed(r, p, "malformed OPS", len) : rc;
    }
    if (!(c = ctx_get(r, p, j->ctx, j->ctx_len))) {
        free(chk.last.v);
        free(j);
        return not_shared(r, p, "OPS", len);
    }
    c->stats.ops_received += chk.n;
    c->stats.bytes_received += len;
    /* the peer holds what it sends (its log is gap-free per origin) */
    for (size_t i = 0; i < chk.last.n; i++)
        peer_has(r, c, chk.last.v[i].origin, chk.last.v[i].seq);
    free(chk.last.v);
    /* (ops of a context whose snapshot is under way apply as usual: an
     * op the snapshot's states lack is past its vector, so each chunk
     * applies it again after overwriting) */
    if (p->queued >= MAX_QUEUED_JOBS || chk.n == 0) {
        /* a flood: dropped unacknowledged, it comes again */
        free(j);
        return 0;
    }
    if (!(j->frame = malloc(len))) {
        free(j);
        return WEFT_ENOMEM;
    }
    memcpy(j->frame, b, len);
    j->len = len;
    {
        job_t **tail = &p->queue;
        while (*tail)
            tail = &(*tail)->next;
        *tail = j;
    }
    p->queued++;
    job_start(r, p);
    return 0;
}

/* ---- snapshots (docs/sync.md "Compaction and snapshots") ------------- */

/* The progress note: from[32], u8 kind, u16 BE pos_len, pos, then v0 as a
 * VV message of the empty context (repl_vv_encode). */
static uint8_t *note_encode(sync_repl_t *r, const uint8_t *from, uint8_t kind,
                            const uint8_t *pos, size_t pos_len, const weft_crdt_id_t *v0,
                            size_t n, size_t *len)
{
    uint8_t *b;
    if (repl_vv_encode(&r->buf, NULL, 0, v0, n) < 0)
        return NULL;
    *len = 32 + 1 + 2 + pos_len + r->buf.len;
    if (!(b = malloc(*len)))
        return NULL;
    memcpy(b, from, 32);
    b[32] = kind;
    b[33] = (uint8_t)(pos_len >> 8);
    b[34] = (uint8_t)pos_len;
    if (pos_len)
        memcpy(b + 35, pos, pos_len);
    memcpy(b + 35 + pos_len, r->buf.p, r->buf.len);
    return b;
}

/* Loads the stored note of s's context into s: 1 when there is one from
 * s->from (resume), 0 when none or another sender's. */
static int note_load(sync_repl_t *r, snap_t *s)
{
    weft_txn_t *txn;
    const uint8_t *b, *nctx;
    size_t len, pl, n, nctx_len;
    weft_crdt_id_t *v0 = NULL;
    int found = 0;
    if (weft_txn_begin(r->cfg.db, WEFT_TXN_READ, &txn) < 0)
        return 0;
    if (weft_crdt_snapshot_note_get(txn, s->ctx, s->ctx_len, &b, &len) == 0 && len >= 35 &&
        memcmp(b, s->from, 32) == 0 && (pl = ((size_t)b[33] << 8) | b[34]) <= len - 35 &&
        b[32] >= 1 && b[32] <= REPL_SNAP_KIND_MAX &&
        repl_vv_decode(b + 35 + pl, len - 35 - pl, &nctx, &nctx_len, &v0, &n) == 0) {
        uint8_t *pos = malloc(pl ? pl : 1);
        if (pos) {
            memcpy(pos, b + 35, pl);
            free(s->pos);
            free(s->v0);
            s->pos = pos;
            s->pos_len = pl;
            s->kind = b[32];
            s->v0 = v0;
            s->nv0 = n;
            v0 = NULL;
            s->started = 1;
            found = 1;
        }
        free(v0);
    }
    weft_txn_abort(txn);
    return found;
}

static void snap_restart(snap_t *s, sync_repl_peer_t *p)
{
    memcpy(s->from, p->id, 32);
    s->p = p;
    s->started = 0;
    s->kind = 0;
    s->pos_len = 0;
    s->nv0 = 0;
}

static void snap_ask(sync_repl_t *r, snap_t *s)
{
    s->asked_ms = now(r);
    if (repl_snap_req_encode(&r->buf, s->ctx, s->ctx_len, s->kind, s->pos, s->pos_len) == 0)
        send_frame(r, s->p, SYNC_MSG_SNAP_REQ, r->buf.p, r->buf.len);
}

/* SNAP_NEED: a peer's log no longer has what we lack of ctx. We take a
 * snapshot from it: resumed where the stored note says when the note is
 * of this peer, from the start otherwise. One sender at a time. */
static int receive_snap_need(sync_repl_t *r, sync_repl_peer_t *p, const uint8_t *b, size_t len)
{
    const uint8_t *ctx;
    size_t ctx_len;
    snap_t *s;
    if (repl_ctx_decode(b, len, &ctx, &ctx_len) < 0)
        return malformed(r, p, "malformed SNAP_NEED", len);
    if (!ctx_get(r, p, ctx, ctx_len))
        return not_shared(r, p, "SNAP_NEED", len);
    if ((s = snap_find(r, ctx, ctx_len)) != NULL) {
        if (s->busy || (s->p && (s->p == p || memcmp(s->from, p->id, 32) != 0)))
            return 0; /* under way (the tick asks again), or another sender's */
        if (memcmp(s->from, p->id, 32) == 0)
            s->p = p; /* it is back: go on */
        else if (s->started && now(r) - s->lost_ms < 10 * r->cfg.resend_ms)
            return 0; /* its sender may come back soon: wait for it */
        else
            snap_restart(s, p); /* its sender is gone: take this one's */
    } else {
        if (!(s = calloc(1, sizeof *s)))
            return WEFT_ENOMEM;
        memcpy(s->ctx, ctx, ctx_len);
        s->ctx_len = ctx_len;
        snap_restart(s, p);
        note_load(r, s); /* a restart of ours in the middle: go on */
        s->next = r->snaps;
        r->snaps = s;
        logf_(r, p, "sync: peer %s: %s (%lld)", "taking a snapshot of a context, resumed",
              (long long)s->started);
    }
    snap_ask(r, s);
    return 0;
}

typedef struct {
    sync_repl_t *r;
    size_t cap;
    int more, too_big;
} snap_fill_t;

static int snap_fill(void *user, uint8_t kind, const uint8_t *key, size_t key_len,
                     const uint8_t *val, size_t val_len)
{
    snap_fill_t *f = user;
    size_t need = 1 + 10 + key_len + 10 + val_len;
    /* the batch size is a target: one record always goes (up to half a
     * frame, the rest being room for the vectors) */
    if (f->r->recs.len > 0 && f->r->recs.len + need > f->cap) {
        f->more = 1;
        return 1;
    }
    if (need > SYNC_MAX_FRAME / 2) {
        f->too_big = f->more = 1;
        return 1;
    }
    repl_snap_rec(&f->r->recs, kind, key, key_len, val, val_len);
    return 0;
}

static int vv_list(void *user, const uint8_t *origin, uint64_t seq)
{
    vv_t *v = user;
    if (repl_grow((void **)&v->v, &v->cap, v->n, sizeof *v->v, 8) < 0)
        return 1;
    memcpy(v->v[v->n].origin, origin, WEFT_CRDT_ORIGIN_LEN);
    v->v[v->n++].seq = seq;
    return 0;
}

/* SNAP_REQ: the records past the asked position, one frame of them; the
 * first chunk carries the vector its states reflect (read in the same
 * transaction: states read later only hold more), the last our floors
 * and clock. Nothing is kept between requests. */
static int receive_snap_req(sync_repl_t *r, sync_repl_peer_t *p, const uint8_t *b, size_t len)
{
    const uint8_t *ctx, *after;
    size_t ctx_len, after_len;
    uint8_t kind;
    snap_fill_t f = {r, 0, 0, 0};
    vv_t v0 = {NULL, 0, 0}, floors = {NULL, 0, 0};
    weft_crdt_node_t node;
    weft_txn_t *txn;
    int rc;
    if (repl_snap_req_decode(b, len, &ctx, &ctx_len, &kind, &after, &after_len) < 0)
        return malformed(r, p, "malformed SNAP_REQ", len);
    if (!ctx_get(r, p, ctx, ctx_len))
        return not_shared(r, p, "SNAP_REQ", len);
    f.cap = r->cfg.max_batch_bytes ? r->cfg.max_batch_bytes : DEFAULT_BATCH;
    if (f.cap > SYNC_MAX_FRAME / 2)
        f.cap = SYNC_MAX_FRAME / 2;
    if ((rc = weft_txn_begin(r->cfg.db, WEFT_TXN_READ, &txn)) < 0)
        return rc;
    r->recs.len = 0;
    if (kind == 0)
        rc = weft_crdt_version_vector(txn, ctx, ctx_len, vv_list, &v0);
    if (rc == 0)
        rc = weft_crdt_snapshot_read(txn, ctx, ctx_len, kind, after, after_len, snap_fill, &f);
    if (rc == 0 && !f.more) {
        rc = weft_crdt_floors(txn, ctx, ctx_len, vv_list, &floors);
        if (rc == 0)
            rc = weft_crdt_node_load(txn, ctx, ctx_len, r->cfg.self_id, &node);
    }
    weft_txn_abort(txn);
    if (f.too_big)
        logf_(r, p, "sync: peer %s: %s (%lld); the snapshot cannot go on",
              "a snapshot record is too large for a frame", 0);
    if (rc == 0 && !f.too_big && !r->recs.oom && v0.n <= REPL_MAX_ORIGINS &&
        floors.n <= REPL_MAX_ORIGINS &&
        repl_snap_encode(&r->buf, ctx, ctx_len, kind, after, after_len, v0.v, v0.n, !f.more,
                         floors.v, floors.n, f.more ? 0 : node.hlc.last, r->recs.p,
                         r->recs.len) == 0 &&
        r->buf.len <= SYNC_MAX_FRAME - 1 &&
        send_frame(r, p, SYNC_MSG_SNAP, r->buf.p, r->buf.len) == 0) {
        r->counters.snap_chunks_sent++;
        r->counters.snaps_sent += !f.more; /* its last chunk: one whole snapshot served */
    }
    free(v0.v);
    free(floors.v);
    return 0;
}

/* SNAP: the chunk we asked for (anything else: a late or repeated copy,
 * ignored) becomes a write job of its own, one transaction. */
static int receive_snap(sync_repl_t *r, sync_repl_peer_t *p, const uint8_t *b, size_t len)
{
    repl_snap_t m;
    snap_t *s;
    job_t *j;
    int rc = repl_snap_decode(b, len, &m);
    if (rc == WEFT_EMALFORMED)
        return malformed(r, p, "malformed SNAP", len);
    if (rc < 0)
        return rc;
    if (!ctx_get(r, p, m.ctx, m.ctx_len)) {
        repl_snap_free(&m);
        return not_shared(r, p, "SNAP", len);
    }
    s = snap_find(r, m.ctx, m.ctx_len);
    if (!s || s->busy || s->p != p || m.after_kind != s->kind || m.after_len != s->pos_len ||
        (m.after_len && memcmp(m.after, s->pos, m.after_len) != 0) ||
        (!m.first && !s->started) || p->running || p->queue) {
        repl_snap_free(&m);
        return 0;
    }
    if (!(j = calloc(1, sizeof *j)) || !(j->frame = malloc(len))) {
        free(j);
        repl_snap_free(&m);
        return WEFT_ENOMEM;
    }
    j->r = r;
    j->p = p;
    j->snap = 1;
    memcpy(j->ctx, m.ctx, m.ctx_len);
    j->ctx_len = m.ctx_len;
    memcpy(j->frame, b, len);
    j->len = len;
    if (m.first) {
        j->v0 = m.v0;
        j->nv0 = m.nv0;
        m.v0 = NULL;
    } else if (s->nv0 && (j->v0 = malloc(s->nv0 * sizeof *j->v0)) != NULL) {
        memcpy(j->v0, s->v0, s->nv0 * sizeof *j->v0);
        j->nv0 = s->nv0;
    } else if (s->nv0) {
        job_free(j);
        repl_snap_free(&m);
        return WEFT_ENOMEM;
    }
    if (!m.last && !(j->note = note_encode(r, p->id, m.end_kind, m.end, m.end_len, j->v0,
                                           j->nv0, &j->note_len))) {
        job_free(j);
        repl_snap_free(&m);
        return WEFT_ENOMEM;
    }
    repl_snap_free(&m);
    s->busy = 1;
    p->queue = j; /* the peer has no other job: checked above */
    p->queued++;
    job_start(r, p);
    return 0;
}

/* One chunk in one transaction, on the writer's thread: its records over
 * ours, our ops past the snapshot's vector again over them, then the
 * progress note, or for the last chunk the marks, floors and clock. */
static int snap_apply(weft_txn_t *txn, job_t *j)
{
    repl_snap_t m;
    const uint8_t *rp, *key, *val;
    size_t rl, kl, vl;
    uint8_t kind;
    int rc = repl_snap_decode(j->frame, j->len, &m);
    if (rc < 0)
        return rc;
    rp = m.recs;
    rl = m.recs_len;
    while ((rc = repl_snap_next(&rp, &rl, &kind, &key, &kl, &val, &vl)) == 0)
        if ((rc = weft_crdt_snapshot_put(txn, j->ctx, j->ctx_len, j->v0, j->nv0, kind, key, kl,
                                         val, vl)) < 0)
            break;
    if (rc == 1)
        rc = weft_crdt_snapshot_reapply(txn, j->ctx, j->ctx_len, j->v0, j->nv0);
    if (rc == 0 && m.last)
        rc = weft_crdt_snapshot_finish(txn, j->ctx, j->ctx_len, j->v0, j->nv0, m.floors,
                                       m.nfloors, m.hlc, j->wall);
    if (rc == 0 && m.last && j->r->cfg.applied_op &&
        j->r->cfg.applied_op(j->r->cfg.user, txn, j->ctx, j->ctx_len, NULL, 0) != 0)
        rc = WEFT_EIO;
    if (rc == 0)
        rc = weft_crdt_snapshot_note(txn, j->ctx, j->ctx_len, j->note, j->note_len);
    repl_snap_free(&m);
    return rc;
}

static void snap_done(sync_repl_t *r, job_t *j, int rc)
{
    snap_t *s = snap_find(r, j->ctx, j->ctx_len);
    if (!s)
        return;
    s->busy = 0;
    if (rc < 0) { /* nothing of it stayed: the tick asks again */
        logf_(r, j->p, "sync: peer %s: %s (%lld); not applied", "a snapshot chunk failed",
              (long long)rc);
        return;
    }
    r->counters.snap_chunks_received++;
    if (!j->note) {
        /* the last chunk: the snapshot is ours; peers hear our vector */
        for (snap_t **pp = &r->snaps; *pp; pp = &(*pp)->next)
            if (*pp == s) {
                *pp = s->next;
                break;
            }
        snap_free(s);
        r->counters.snaps_received++;
        logf_(r, j->p, "sync: peer %s: %s (%lld bytes in its last chunk)",
              "a snapshot of a context is applied", (long long)j->len);
        for (sync_repl_peer_t *q = r->peers; q; q = q->next) {
            pctx_t *c = ctx_find(q, j->ctx, j->ctx_len);
            if (c)
                send_vv(r, q, c, SYNC_MSG_VV);
        }
        return;
    }
    /* the note holds the new position and the vector: take them back */
    {
        size_t pl = ((size_t)j->note[33] << 8) | j->note[34];
        uint8_t *pos = malloc(pl ? pl : 1);
        weft_crdt_id_t *v0 = malloc(j->nv0 ? j->nv0 * sizeof *v0 : 1);
        if (!pos || !v0) {
            free(pos);
            free(v0);
            s->p = NULL; /* the stored note has it: resumed at the next SNAP_NEED */
            return;
        }
        memcpy(pos, j->note + 35, pl);
        if (j->nv0)
            memcpy(v0, j->v0, j->nv0 * sizeof *v0);
        free(s->pos);
        free(s->v0);
        s->pos = pos;
        s->pos_len = pl;
        s->kind = j->note[32];
        s->v0 = v0;
        s->nv0 = j->nv0;
        s->started = 1;
    }
    if (s->p && !s->p->dead)
        snap_ask(r, s);
}

/* A snapshot left unfinished whose vector we now hold anyway (ops came
 * from peers whose logs serve us): it is dropped, and its keys rebuilt
 * (weft_crdt_snapshot_drop), as one write job. Checked after each applied
 * batch: one read of the stored progress. */
typedef struct {
    sync_repl_t *r;
    uint8_t ctx[WEFT_CRDT_CONTEXT_MAX];
    size_t ctx_len;
} moot_t;

static int moot_apply(weft_txn_t *txn, void *arg)
{
    moot_t *m = arg;
    return weft_crdt_snapshot_drop(txn, m->ctx, m->ctx_len);
}

static void moot_done(void *arg, int rc)
{
    moot_t *m = arg;
    snap_t *s = snap_find(m->r, m->ctx, m->ctx_len);
    m->r->moot = NULL;
    if (rc == 0 && s) {
        for (snap_t **pp = &m->r->snaps; *pp; pp = &(*pp)->next)
            if (*pp == s) {
                *pp = s->next;
                break;
            }
        snap_free(s);
    } else if (s) {
        s->busy = 0;
    }
    free(m);
}

static void snap_moot(sync_repl_t *r, const uint8_t *ctx, size_t ctx_len)
{
    snap_t *s = snap_find(r, ctx, ctx_len);
    weft_txn_t *txn;
    const uint8_t *b, *nctx;
    size_t len, pl, n = 0, nctx_len;
    weft_crdt_id_t *v0 = NULL;
    vv_t ours = {NULL, 0, 0};
    int moot = 0;
    moot_t *m;
    if ((s && s->busy) || r->moot || weft_txn_begin(r->cfg.db, WEFT_TXN_READ, &txn) < 0)
        return;
    if (weft_crdt_snapshot_note_get(txn, ctx, ctx_len, &b, &len) == 0 && len >= 35 &&
        (pl = ((size_t)b[33] << 8) | b[34]) <= len - 35 &&
        repl_vv_decode(b + 35 + pl, len - 35 - pl, &nctx, &nctx_len, &v0, &n) == 0 &&
        weft_crdt_version_vector(txn, ctx, ctx_len, vv_list, &ours) == 0) {
        moot = 1;
        for (size_t i = 0; i < n && moot; i++)
            moot = vv_get(&ours, v0[i].origin) >= v0[i].seq;
    }
    weft_txn_abort(txn);
    free(v0);
    free(ours.v);
    if (!moot || !(m = calloc(1, sizeof *m)))
        return;
    m->r = r;
    memcpy(m->ctx, ctx, ctx_len);
    m->ctx_len = ctx_len;
    if (s)
        s->busy = 1; /* no chunk while it is dropped */
    r->moot = m;
    if (r->cfg.write(r->cfg.user, moot_apply, m, moot_done) < 0) {
        if (s)
            s->busy = 0;
        r->moot = NULL;
        free(m);
    }
}

/* ---- compaction ------------------------------------------------------ */

static void cjob_member(void *arg, const uint8_t *id)
{
    cjob_t *j = arg;
    if (repl_grow((void **)&j->members, &j->mcap, j->nmembers, 32, 8) == 0)
        memcpy(j->members + 32 * j->nmembers++, id, 32);
}

static int cjob_apply(weft_txn_t *txn, void *arg)
{
    cjob_t *j = arg;
    int rc = 0;
    /* what the linked peers acknowledged, kept: "known" survives restarts */
    for (size_t i = 0; i < j->nacks && rc == 0; i++)
        rc = weft_crdt_acks_merge(txn, j->ctx, j->ctx_len, j->acks[i].id, j->acks[i].v,
                                  j->acks[i].n);
    if (rc == 0)
        rc = weft_crdt_compact(txn, j->ctx, j->ctx_len, j->self, j->members, j->nmembers,
                               j->keep, j->max, &j->dropped);
    return rc;
}

static void cjob_done(void *arg, int rc)
{
    cjob_t *j = arg;
    sync_repl_t *r = j->r;
    r->cjob = NULL;
    if (rc == 0 && j->dropped == j->max)
        r->next_compact_ms = now(r); /* more to drop: go on at the next tick */
    cjob_free(j);
}

/* One run: the next context seen (round robin), the linked members' acks
 * stored, then what all members hold compacted. */
static void compact_start(sync_repl_t *r)
{
    const struct seen_ctx *pick;
    cjob_t *j;
    if (r->nseen == 0 || !(j = calloc(1, sizeof *j)))
        return;
    pick = &r->seen[r->compact_rr++ % r->nseen];
    j->r = r;
    memcpy(j->ctx, pick->ctx, pick->len);
    j->ctx_len = pick->len;
    memcpy(j->self, r->cfg.self_id, 32);
    j->keep = r->cfg.compact_keep;
    j->max = r->cfg.compact_max_ops;
    r->cfg.members(r->cfg.user, j->ctx, j->ctx_len, cjob_member, j);
    for (sync_repl_peer_t *p = r->peers; p; p = p->next) {
        pctx_t *c = ctx_find(p, j->ctx, j->ctx_len);
        struct cack *a;
        if (!c || !c->known || c->acked.n == 0)
            continue;
        if (!(a = realloc(j->acks, (j->nacks + 1) * sizeof *a)))
            break;
        j->acks = a;
        a = &j->acks[j->nacks];
        memcpy(a->id, p->id, 32);
        if (!(a->v = malloc(c->acked.n * sizeof *a->v)))
            break;
        memcpy(a->v, c->acked.v, c->acked.n * sizeof *a->v);
        a->n = c->acked.n;
        j->nacks++;
    }
    r->cjob = j;
    if (r->cfg.write(r->cfg.user, cjob_apply, j, cjob_done) < 0) {
        r->cjob = NULL;
        cjob_free(j);
    }
}

int sync_repl_receive(sync_repl_t *r, sync_repl_peer_t *p, uint8_t type, const uint8_t *payload,
                      size_t len)
{
    if (!payload && len)
        return WEFT_EARG;
    switch (type) {
    case SYNC_MSG_VV:
    case SYNC_MSG_ACK: return receive_vv(r, p, type, payload ? payload : (const uint8_t *)"", len);
    case SYNC_MSG_OPS: return receive_ops(r, p, payload ? payload : (const uint8_t *)"", len);
    case SYNC_MSG_SNAP_NEED:
        return receive_snap_need(r, p, payload ? payload : (const uint8_t *)"", len);
    case SYNC_MSG_SNAP_REQ:
        return receive_snap_req(r, p, payload ? payload : (const uint8_t *)"", len);
    case SYNC_MSG_SNAP: return receive_snap(r, p, payload ? payload : (const uint8_t *)"", len);
    default: return malformed(r, p, "unknown message type", len);
    }
}
