/*
 * sim.c — the deterministic simulation of the replication engine (sim.h).
 *
 * Time is simulated (steps of 1..4 ms); the network is a list of frames in
 * flight, each with a delivery time: random delays reorder them, some are
 * lost or delivered twice, a partitioned direction drops them, and a link
 * that goes down (a flap, a restart) drops what it carried. A link holds
 * at most LINK_QUEUE frames: past that send says WEFT_ELIMIT and the
 * engine waits for sync_repl_writable. Writes of received batches run
 * inside the engine's call or later, between steps, in order.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "repl.h"
#include "sim.h"
#include "weft/crdt_store.h"
#include "weft/db.h"
#include "weft/error.h"

#define MAX_NODES 5
#define NCTX 2
#define LINK_QUEUE 64
#define BASE_MS 1700000000000ull

static const char *const ctx_name[NCTX] = {"app", "two"};

typedef struct sim sim_t;

typedef struct {
    sim_t *s;
    int from, to;
    int up;
    uint32_t epoch;
    int queued, want_writable;
    sync_repl_peer_t *rp; /* at node `from`, for peer `to` */
} link_t;

typedef struct {
    int (*fn)(weft_txn_t *, void *);
    void *arg;
    void (*done)(void *, int);
} wjob_t;

typedef struct {
    sim_t *s;
    int i;
    char dir[512];
    uint8_t id[32];
    int64_t skew;
    int up;
    weft_db_t *db;
    sync_repl_t *repl;
    wjob_t *jobs;
    size_t njobs, jcap;
    uint64_t written[NCTX]; /* own ops committed per context */
    /* every own op as it was logged: the model (logs are compacted) */
    uint8_t **arch[NCTX];
    size_t *arch_len[NCTX], narch[NCTX], arch_cap[NCTX];
} node_t;

typedef struct {
    int from, to;
    uint32_t epoch;
    uint8_t type;
    uint8_t *p;
    size_t len;
    uint64_t at, order;
} frame_t;

struct sim {
    sim_opts_t o;
    uint64_t rng, now, order;
    int n;
    node_t node[MAX_NODES];
    link_t link[MAX_NODES][MAX_NODES];
    int blocked[MAX_NODES][MAX_NODES]; /* direction from -> to partitioned */
    frame_t *fr;
    size_t nfr, frcap;
    double loss, dup;
    uint64_t max_delay;
    int deferred;
    size_t window, batch;
    weft_crdt_id_t rga_ids[256]; /* RGA elements inserted, for later ops */
    size_t nrga;
    sim_stats_t st;
    int evicted;   /* the last node is out of the members of "app" */
    int cut_snap;  /* evict runs: drop the link under the first snapshot chunk */
    uint64_t compact_keep, compact_ms;
    size_t compact_max;
    char *err;
    size_t err_size;
    int failed;
};

/* ---- helpers ---------------------------------------------------------- */

static uint64_t rnd(sim_t *s)
{
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static uint64_t below(sim_t *s, uint64_t n)
{
    return n ? rnd(s) % n : 0;
}

static int chance(sim_t *s, double p)
{
    return (double)(rnd(s) >> 11) / (double)(1ull << 53) < p;
}

static int fail(sim_t *s, const char *fmt, ...)
{
    va_list ap;
    if (s->failed)
        return -1;
    s->failed = 1;
    va_start(ap, fmt);
    vsnprintf(s->err, s->err_size, fmt, ap);
    va_end(ap);
    return -1;
}

static sim_t *the_sim; /* member() asks it whether the last node is evicted */

static int member(int node, int ctx)
{
    if (ctx == 0 && the_sim && the_sim->evicted && node == the_sim->n - 1)
        return 0; /* an admin removed it from "app" (and adds it back later) */
    return ctx == 0 || node < 2; /* "two" lives on nodes 0 and 1 only */
}

static int ctx_index(const uint8_t *ctx, size_t len)
{
    for (int c = 0; c < NCTX; c++)
        if (strlen(ctx_name[c]) == len && memcmp(ctx_name[c], ctx, len) == 0)
            return c;
    return -1;
}

static int node_of(sim_t *s, const uint8_t *id)
{
    for (int i = 0; i < s->n; i++)
        if (memcmp(s->node[i].id, id, 32) == 0)
            return i;
    return -1;
}

/* ---- the engine's callbacks ------------------------------------------- */

static int cb_send(void *user, void *peer, uint8_t type, const uint8_t *p, size_t len)
{
    node_t *nd = user;
    sim_t *s = nd->s;
    link_t *l = peer;
    int copies = 1;
    if (!l->up)
        return WEFT_EIO;
    if (l->queued >= LINK_QUEUE) {
        l->want_writable = 1;
        return WEFT_ELIMIT;
    }
    s->st.frames++;
    s->st.bytes += len;
    if (type == SYNC_MSG_OPS) {
        s->st.ops_frames++;
        s->st.ops_bytes += len;
    }
    if (type == SYNC_MSG_SNAP_NEED)
        s->st.snap_needs++;
    if (type == SYNC_MSG_SNAP)
        s->st.snap_chunks++;
    /* a request from the start: u8 ctx_len, ctx, u8 kind 0 */
    if (type == SYNC_MSG_SNAP_REQ && len > 0 && (size_t)p[0] + 1 < len && p[p[0] + 1] == 0)
        s->st.snap_starts++;
    if (type == SYNC_MSG_SNAP && s->cut_snap == 1 && s->st.snap_chunks == 2)
        s->cut_snap = 2; /* the step after this one drops the link under the second chunk */
    if (s->o.faults && chance(s, s->loss))
        return 0; /* lost */
    if (s->o.faults && chance(s, s->dup))
        copies = 2;
    for (int k = 0; k < copies; k++) {
        frame_t *f;
        if (s->nfr == s->frcap) {
            size_t cap = s->frcap ? s->frcap * 2 : 256;
            frame_t *nf = realloc(s->fr, cap * sizeof *nf);
            if (!nf)
                return WEFT_ENOMEM;
            s->fr = nf;
            s->frcap = cap;
        }
        f = &s->fr[s->nfr];
        if (!(f->p = malloc(len ? len : 1)))
            return WEFT_ENOMEM;
        memcpy(f->p, p, len);
        f->len = len;
        f->type = type;
        f->from = l->from;
        f->to = l->to;
        f->epoch = l->epoch;
        /* lossless runs keep each link in order (a TCP stream) */
        f->at = s->now + 1 + (s->o.faults ? below(s, s->max_delay) : 0);
        f->order = s->order++;
        s->nfr++;
        l->queued++;
    }
    return 0;
}

int sim_txn(weft_db_t *db, int (*fn)(weft_txn_t *txn, void *arg), void *arg)
{
    weft_txn_t *txn;
    int rc = weft_txn_begin(db, WEFT_TXN_WRITE, &txn);
    if (rc < 0)
        return rc;
    rc = fn(txn, arg);
    if (rc == 0)
        return weft_txn_commit(txn);
    weft_txn_abort(txn);
    return rc;
}

static int cb_write(void *user, int (*fn)(weft_txn_t *, void *), void *arg,
                    void (*done)(void *, int))
{
    node_t *nd = user;
    if (nd->s->deferred) {
        if (nd->njobs == nd->jcap) {
            size_t cap = nd->jcap ? nd->jcap * 2 : 16;
            wjob_t *nj = realloc(nd->jobs, cap * sizeof *nj);
            if (!nj)
                return WEFT_ENOMEM;
            nd->jobs = nj;
            nd->jcap = cap;
        }
        nd->jobs[nd->njobs++] = (wjob_t){fn, arg, done};
        return 0;
    }
    done(arg, sim_txn(nd->db, fn, arg));
    return 0;
}

static int cb_shared(void *user, const uint8_t *ctx, size_t len, const uint8_t *peer_id)
{
    node_t *nd = user;
    int c = ctx_index(ctx, len), j = node_of(nd->s, peer_id);
    return c >= 0 && j >= 0 && member(nd->i, c) && member(j, c);
}

static void cb_contexts(void *user, const uint8_t *peer_id,
                        void (*fn)(void *, const uint8_t *, size_t), void *arg)
{
    node_t *nd = user;
    int j = node_of(nd->s, peer_id);
    for (int c = 0; c < NCTX; c++)
        if (j >= 0 && member(nd->i, c) && member(j, c))
            fn(arg, (const uint8_t *)ctx_name[c], strlen(ctx_name[c]));
}

static void cb_members(void *user, const uint8_t *ctx, size_t len,
                       void (*fn)(void *, const uint8_t *), void *arg)
{
    node_t *nd = user;
    int c = ctx_index(ctx, len);
    for (int j = 0; c >= 0 && j < nd->s->n; j++)
        if (member(j, c))
            fn(arg, nd->s->node[j].id);
}

static uint64_t cb_now(void *user)
{
    node_t *nd = user;
    return BASE_MS + nd->s->now + (uint64_t)nd->skew;
}

static void cb_log(void *user, const char *line)
{
    node_t *nd = user;
    if (getenv("SIM_LOG")) /* SIM_LOG=1: every node's log lines on stderr */
        fprintf(stderr, "[%llu] node %d: %s\n", (unsigned long long)nd->s->now, nd->i, line);
}

/* ---- nodes and links ------------------------------------------------- */

static int node_open(sim_t *s, int i)
{
    node_t *nd = &s->node[i];
    char msg[256] = "";
    sync_repl_config_t cfg;
    int rc = weft_db_open(nd->dir, WEFT_DB_NOSYNC, &nd->db, msg, sizeof msg);
    if (rc < 0)
        return fail(s, "weft_db_open %s: %d %s", nd->dir, rc, msg);
    memset(&cfg, 0, sizeof cfg);
    cfg.db = nd->db;
    cfg.self_id = nd->id;
    cfg.send = cb_send;
    cfg.write = cb_write;
    cfg.shared = cb_shared;
    cfg.contexts = cb_contexts;
    cfg.now_ms = cb_now;
    cfg.log = cb_log;
    cfg.user = nd;
    cfg.max_batch_bytes = s->batch;
    cfg.window_ops = s->window;
    cfg.resend_ms = 300;
    cfg.anti_entropy_ms = 1000;
    cfg.members = cb_members;
    cfg.compact_ms = s->compact_ms;
    cfg.compact_keep = s->compact_keep;
    cfg.compact_max_ops = s->compact_max;
    if ((rc = sync_repl_new(&cfg, &nd->repl)) < 0)
        return fail(s, "sync_repl_new: %d", rc);
    nd->up = 1;
    return 0;
}

static void link_up(sim_t *s, int i, int j)
{
    link_t *a = &s->link[i][j], *b = &s->link[j][i];
    if (a->up || !s->node[i].up || !s->node[j].up || (s->o.chain && i - j != 1 && j - i != 1))
        return;
    a->up = b->up = 1;
    a->want_writable = b->want_writable = 0;
    a->rp = sync_repl_peer_up(s->node[i].repl, a, s->node[j].id);
    b->rp = sync_repl_peer_up(s->node[j].repl, b, s->node[i].id);
    if (!a->rp || !b->rp)
        fail(s, "peer_up failed");
}

static void link_down(sim_t *s, int i, int j)
{
    link_t *a = &s->link[i][j], *b = &s->link[j][i];
    if (!a->up)
        return;
    a->up = b->up = 0;
    a->epoch++; /* what is in flight dies with the link */
    b->epoch++;
    a->queued = b->queued = 0;
    if (a->rp)
        sync_repl_peer_down(s->node[i].repl, a->rp);
    if (b->rp)
        sync_repl_peer_down(s->node[j].repl, b->rp);
    a->rp = b->rp = NULL;
}

static void node_stop(sim_t *s, int i)
{
    node_t *nd = &s->node[i];
    if (!nd->up)
        return;
    for (int j = 0; j < s->n; j++)
        if (j != i)
            link_down(s, i, j);
    /* the writes it had not run die with it (never done: the engine that
     * asked for them is gone) */
    nd->njobs = 0;
    sync_repl_delete(nd->repl);
    nd->repl = NULL;
    weft_db_close(nd->db);
    nd->db = NULL;
    nd->up = 0;
}

static void node_start(sim_t *s, int i)
{
    if (s->node[i].up || node_open(s, i) < 0)
        return;
    for (int j = 0; j < s->n; j++)
        if (j != i)
            link_up(s, i, j);
}

/* ---- the network ----------------------------------------------------- */

static void deliver(sim_t *s)
{
    for (;;) {
        size_t best = (size_t)-1;
        frame_t f;
        link_t *l, *back;
        int rc;
        for (size_t k = 0; k < s->nfr; k++)
            if (s->fr[k].at <= s->now &&
                (best == (size_t)-1 || s->fr[k].at < s->fr[best].at ||
                 (s->fr[k].at == s->fr[best].at && s->fr[k].order < s->fr[best].order)))
                best = k;
        if (best == (size_t)-1)
            return;
        f = s->fr[best];
        s->fr[best] = s->fr[--s->nfr];
        l = &s->link[f.from][f.to];
        back = &s->link[f.to][f.from];
        if (f.epoch == l->epoch)
            l->queued--;
        if (f.epoch == l->epoch && l->up && !s->blocked[f.from][f.to] && back->rp) {
            rc = sync_repl_receive(s->node[f.to].repl, back->rp, f.type, f.p, f.len);
            if (rc == WEFT_EMALFORMED)
                fail(s, "node %d refused a frame of node %d (type %u, %zu bytes)", f.to, f.from,
                     f.type, f.len);
            else if (rc < 0 && rc != WEFT_ENOMEM)
                fail(s, "receive at node %d: %d", f.to, rc);
        }
        free(f.p);
        if (l->want_writable && l->queued <= LINK_QUEUE / 2 && l->up && l->rp) {
            l->want_writable = 0;
            sync_repl_writable(s->node[f.from].repl, l->rp);
        }
    }
}

static void run_writes(sim_t *s, int i, int all)
{
    node_t *nd = &s->node[i];
    size_t k = all ? nd->njobs : below(s, nd->njobs + 1);
    /* in order: jobs are taken from the front */
    for (size_t done = 0; done < k && nd->njobs > 0 && nd->up; done++) {
        wjob_t j = nd->jobs[0];
        memmove(nd->jobs, nd->jobs + 1, (nd->njobs - 1) * sizeof *nd->jobs);
        nd->njobs--;
        j.done(j.arg, sim_txn(nd->db, j.fn, j.arg));
    }
}

/* ---- local writes ---------------------------------------------------- */

static int local_write(sim_t *s, int i)
{
    node_t *nd = &s->node[i];
    int c = member(i, 1) && !s->o.bench && chance(s, 0.3) ? 1 : 0;
    static const char *const fields[] = {"f0", "f1", "f2", "f3"};
    static const uint8_t types[] = {WEFT_CRDT_GCOUNTER, WEFT_CRDT_PNCOUNTER, WEFT_CRDT_LWW_REG,
                                    WEFT_CRDT_LWW_MAP,  WEFT_CRDT_ORSET,     WEFT_CRDT_RGA};
    static const char *const keys[] = {"g", "p", "r", "m", "s", "q"};
    uint8_t type = types[below(s, 6)], kind = 0;
    char key[8], value[24];
    weft_crdt_input_t in;
    weft_crdt_id_t id, target;
    weft_txn_t *txn;
    int rc;

    memset(&in, 0, sizeof in);
    snprintf(key, sizeof key, "%s", keys[type - 1]);
    if (s->o.conflicts && chance(s, 0.15))
        snprintf(key, sizeof key, "x"); /* one key, several types */
    snprintf(value, sizeof value, "v%d-%llu", i, (unsigned long long)below(s, 1000));
    switch (type) {
    case WEFT_CRDT_GCOUNTER:
        kind = WEFT_CRDT_INC;
        in.delta = 1 + below(s, 5);
        break;
    case WEFT_CRDT_PNCOUNTER:
        kind = chance(s, 0.5) ? WEFT_CRDT_INC : WEFT_CRDT_DEC;
        in.delta = 1 + below(s, 5);
        break;
    case WEFT_CRDT_LWW_REG:
        kind = WEFT_CRDT_SET;
        in.value = (const uint8_t *)value;
        in.value_len = strlen(value);
        break;
    case WEFT_CRDT_LWW_MAP:
        kind = chance(s, 0.7) ? WEFT_CRDT_MAP_SET : WEFT_CRDT_MAP_REMOVE;
        in.field = (const uint8_t *)fields[below(s, 4)];
        in.field_len = 2;
        in.value = (const uint8_t *)value;
        in.value_len = strlen(value);
        break;
    case WEFT_CRDT_ORSET:
        kind = chance(s, 0.6) ? WEFT_CRDT_ADD : WEFT_CRDT_REMOVE;
        in.value = (const uint8_t *)fields[below(s, 4)];
        in.value_len = 2;
        break;
    case WEFT_CRDT_RGA:
        kind = s->nrga && chance(s, 0.3) ? WEFT_CRDT_DELETE : WEFT_CRDT_INSERT;
        in.value = (const uint8_t *)value;
        in.value_len = strlen(value);
        if (s->nrga && (kind == WEFT_CRDT_DELETE || chance(s, 0.7))) {
            target = s->rga_ids[below(s, s->nrga)];
            in.target = &target;
        }
        break;
    }
    if ((rc = weft_txn_begin(nd->db, WEFT_TXN_WRITE, &txn)) < 0)
        return fail(s, "begin: %d", rc);
    rc = weft_crdt_local(txn, nd->id, cb_now(nd), (const uint8_t *)ctx_name[c],
                         strlen(ctx_name[c]), (const uint8_t *)key, strlen(key), type, kind, &in,
                         &id, NULL);
    if (rc == WEFT_ENOTFOUND || rc == WEFT_EARG) {
        /* an RGA element this node has not seen yet, a key of another type */
        weft_txn_abort(txn);
        return 0;
    }
    if (rc < 0) {
        weft_txn_abort(txn);
        return fail(s, "weft_crdt_local at node %d: %d", i, rc);
    }
    {
        /* the op as its origin logged it: (ctx, 'l' origin seq BE) */
        uint8_t k[1 + 32 + 8], **a;
        const uint8_t *v;
        size_t vl;
        k[0] = 'l';
        memcpy(k + 1, nd->id, 32);
        for (int b = 0; b < 8; b++) /* its seq: the node's next one */
            k[33 + b] = (uint8_t)((nd->written[c] + 1) >> (56 - 8 * b));
        rc = weft_txn_get(txn, WEFT_SPACE_OPLOG, (const uint8_t *)ctx_name[c],
                          strlen(ctx_name[c]), k, sizeof k, &v, &vl);
        if (rc < 0) {
            weft_txn_abort(txn);
            return fail(s, "node %d: its new op is not in its log: %d", i, rc);
        }
        if (nd->narch[c] == nd->arch_cap[c]) {
            size_t cap = nd->arch_cap[c] ? nd->arch_cap[c] * 2 : 64;
            size_t *l = realloc(nd->arch_len[c], cap * sizeof *l);
            if (l)
                nd->arch_len[c] = l;
            if (!l || !(a = realloc(nd->arch[c], cap * sizeof *a))) {
                weft_txn_abort(txn);
                return fail(s, "out of memory");
            }
            nd->arch[c] = a;
            nd->arch_cap[c] = cap;
        }
        if (!(nd->arch[c][nd->narch[c]] = malloc(vl ? vl : 1))) {
            weft_txn_abort(txn);
            return fail(s, "out of memory");
        }
        memcpy(nd->arch[c][nd->narch[c]], v, vl);
        nd->arch_len[c][nd->narch[c]++] = vl;
    }
    if ((rc = weft_txn_commit(txn)) < 0)
        return fail(s, "commit: %d", rc);
    nd->written[c]++;
    s->st.ops_written++;
    if (type == WEFT_CRDT_RGA && kind == WEFT_CRDT_INSERT && strcmp(key, "q") == 0)
        s->rga_ids[s->nrga < 256 ? s->nrga++ : below(s, 256)] = id;
    sync_repl_notify(nd->repl, (const uint8_t *)ctx_name[c], strlen(ctx_name[c]));
    return 0;
}

/* ---- the checks ------------------------------------------------------ */

typedef struct {
    uint8_t **op;
    size_t *len;
    size_t n, cap;
    const uint8_t *only; /* keep the ops of this origin (NULL: all) */
    int rc;
} oplist_t;

static int collect(void *user, const uint8_t *bytes, size_t len)
{
    oplist_t *l = user;
    weft_crdt_op_t op;
    if (weft_crdt_op_decode(bytes, len, &op) < 0) {
        l->rc = WEFT_EMALFORMED;
        return 1;
    }
    if (l->only && memcmp(op.origin, l->only, 32) != 0)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        uint8_t **o = realloc(l->op, cap * sizeof *o);
        size_t *ln = realloc(l->len, cap * sizeof *ln);
        if (o)
            l->op = o;
        if (ln)
            l->len = ln;
        if (!o || !ln) {
            l->rc = WEFT_ENOMEM;
            return 1;
        }
        l->cap = cap;
    }
    if (!(l->op[l->n] = malloc(len ? len : 1))) {
        l->rc = WEFT_ENOMEM;
        return 1;
    }
    memcpy(l->op[l->n], bytes, len);
    l->len[l->n++] = len;
    return 0;
}

static void oplist_free(oplist_t *l)
{
    for (size_t k = 0; k < l->n; k++)
        free(l->op[k]);
    free(l->op);
    free(l->len);
    memset(l, 0, sizeof *l);
}

/* Node i's whole op-log of ctx c (only origin's ops when origin is set). */
static int read_log(sim_t *s, int i, int c, const uint8_t *origin, oplist_t *out)
{
    weft_txn_t *txn;
    int rc;
    memset(out, 0, sizeof *out);
    out->only = origin;
    if ((rc = weft_txn_begin(s->node[i].db, WEFT_TXN_READ, &txn)) < 0)
        return rc;
    rc = weft_crdt_missing(txn, (const uint8_t *)ctx_name[c], strlen(ctx_name[c]), NULL, 0,
                           collect, out);
    weft_txn_abort(txn);
    return rc < 0 ? rc : out->rc;
}

typedef struct {
    sim_t *s;
    int c, ok;
    size_t n;
} vvcheck_t;

static int vv_entry(void *user, const uint8_t *origin, uint64_t seq)
{
    vvcheck_t *v = user;
    int k = node_of(v->s, origin);
    if (k < 0 || v->s->node[k].written[v->c] != seq)
        v->ok = 0;
    v->n++;
    return 0;
}

/* Whether node i holds every op of every context it is a member of. */
static int complete(sim_t *s, int i)
{
    for (int c = 0; c < NCTX; c++) {
        vvcheck_t v = {s, c, 1, 0};
        size_t want = 0;
        weft_txn_t *txn;
        if (!member(i, c))
            continue;
        for (int k = 0; k < s->n; k++)
            want += member(k, c) && s->node[k].written[c] > 0;
        if (weft_txn_begin(s->node[i].db, WEFT_TXN_READ, &txn) < 0)
            return 0;
        weft_crdt_version_vector(txn, (const uint8_t *)ctx_name[c], strlen(ctx_name[c]),
                                 vv_entry, &v);
        weft_txn_abort(txn);
        if (!v.ok || v.n != want)
            return 0;
    }
    return 1;
}

/* The model's state of one key: the type of its earliest op (by stamp:
 * hlc, origin, seq) wins; every op of that type is applied in (origin,
 * seq) order into a fresh state. */
static int model_key(oplist_t *m, const weft_crdt_op_t *ops, size_t k0, uint8_t **out,
                     size_t *out_len)
{
    size_t first = (size_t)-1;
    weft_crdt_state_t *st = NULL;
    int rc;
    for (size_t k = 0; k < m->n; k++) {
        if (ops[k].key_len != ops[k0].key_len ||
            memcmp(ops[k].key, ops[k0].key, ops[k0].key_len) != 0)
            continue;
        if (first == (size_t)-1 ||
            weft_crdt_stamp_cmp(ops[k].hlc, ops[k].origin, ops[k].seq, ops[first].hlc,
                                ops[first].origin, ops[first].seq) < 0)
            first = k;
    }
    if ((rc = weft_crdt_state_new(ops[first].type, &st)) < 0)
        return rc;
    for (size_t k = 0; k < m->n && rc == 0; k++)
        if (ops[k].key_len == ops[k0].key_len &&
            memcmp(ops[k].key, ops[k0].key, ops[k0].key_len) == 0 &&
            ops[k].type == ops[first].type)
            rc = weft_crdt_apply(st, &ops[k]);
    if (rc == 0)
        rc = weft_crdt_state_encode(st, out, out_len);
    weft_crdt_state_delete(st);
    return rc;
}

typedef struct {
    const uint8_t *origin;
    uint64_t floor;
} floor_q_t;

static int floor_visit(void *user, const uint8_t *origin, uint64_t seq)
{
    floor_q_t *q = user;
    if (memcmp(origin, q->origin, 32) == 0)
        q->floor = seq;
    return 0;
}

/* Node i's compaction floor of origin in ctx c. */
static uint64_t floor_of(sim_t *s, int i, int c, const uint8_t *origin)
{
    floor_q_t q = {origin, 0};
    weft_txn_t *txn;
    if (weft_txn_begin(s->node[i].db, WEFT_TXN_READ, &txn) < 0)
        return 0;
    weft_crdt_floors(txn, (const uint8_t *)ctx_name[c], strlen(ctx_name[c]), floor_visit, &q);
    weft_txn_abort(txn);
    return q.floor;
}

static int check_ctx(sim_t *s, int c)
{
    oplist_t model = {0};
    weft_crdt_op_t *ops = NULL;
    int rc = 0;
    /* the model: every origin's ops as its own log holds them, in origin
     * order (nodes sorted by id) */
    {
        int order[MAX_NODES], n = 0;
        for (int k = 0; k < s->n; k++)
            if (member(k, c))
                order[n++] = k;
        for (int a = 0; a < n; a++)
            for (int b = a + 1; b < n; b++)
                if (memcmp(s->node[order[b]].id, s->node[order[a]].id, 32) < 0) {
                    int t = order[a];
                    order[a] = order[b];
                    order[b] = t;
                }
        for (int a = 0; a < n && rc == 0; a++) {
            node_t *nd = &s->node[order[a]];
            if (nd->narch[c] != nd->written[c])
                rc = fail(s, "node %d archived %zu of its ops in %s, wrote %llu", order[a],
                          nd->narch[c], ctx_name[c], (unsigned long long)nd->written[c]);
            for (size_t k = 0; k < nd->narch[c] && rc == 0; k++) {
                if (collect(&model, nd->arch[c][k], nd->arch_len[c][k]) != 0)
                    rc = fail(s, "out of memory");
            }
        }
    }
    if (rc < 0)
        goto done;
    if (model.n && !(ops = calloc(model.n, sizeof *ops))) {
        rc = fail(s, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < model.n; k++)
        weft_crdt_op_decode(model.op[k], model.len[k], &ops[k]);

    for (int i = 0; i < s->n && rc == 0; i++) {
        oplist_t log;
        weft_txn_t *txn;
        if (!member(i, c))
            continue;
        /* the log: the origins' bytes, every one, in order */
        if ((rc = read_log(s, i, c, NULL, &log)) < 0) {
            oplist_free(&log);
            rc = fail(s, "node %d: reading its log: %d", i, rc);
            break;
        }
        /* compacted: every entry is its origin's bytes, and each origin's
         * entries run gap-free from its floor to its mark (complete() saw
         * the marks) */
        for (size_t k = 0, m = 0; k < log.n && rc == 0; k++) {
            weft_crdt_op_t lo;
            weft_crdt_op_decode(log.op[k], log.len[k], &lo);
            while (m < model.n && (memcmp(ops[m].origin, lo.origin, 32) != 0 ||
                                   ops[m].seq != lo.seq))
                m++;
            if (m == model.n || log.len[k] != model.len[m] ||
                memcmp(log.op[k], model.op[m], log.len[k]) != 0)
                rc = fail(s, "node %d: op %zu of %s differs from its origin's bytes", i, k,
                          ctx_name[c]);
            else if (k + 1 < log.n) {
                weft_crdt_op_t nx;
                weft_crdt_op_decode(log.op[k + 1], log.len[k + 1], &nx);
                /* entries at or under the floor may stay behind a gap (a
                 * snapshot's taker keeps its older ones until it compacts) */
                if (memcmp(nx.origin, lo.origin, 32) == 0 && nx.seq != lo.seq + 1 &&
                    nx.seq - 1 > floor_of(s, i, c, lo.origin))
                    rc = fail(s, "node %d: a gap in its log of %s after seq %llu", i,
                              ctx_name[c], (unsigned long long)lo.seq);
            }
        }
        if (rc == 0 && log.n < model.n)
            s->st.compacted += model.n - log.n;
        oplist_free(&log);
        /* the states: each key's as the model builds it */
        if (rc < 0 || (rc = weft_txn_begin(s->node[i].db, WEFT_TXN_READ, &txn)) < 0)
            break;
        for (size_t k = 0; k < model.n && rc == 0; k++) {
            weft_crdt_state_t *st = NULL;
            uint8_t *want = NULL, *got = NULL;
            size_t wl = 0, gl = 0;
            int seen = 0;
            for (size_t e = 0; e < k && !seen; e++)
                seen = ops[e].key_len == ops[k].key_len &&
                       memcmp(ops[e].key, ops[k].key, ops[k].key_len) == 0;
            if (seen)
                continue;
            if ((rc = model_key(&model, ops, k, &want, &wl)) < 0) {
                rc = fail(s, "model of key %.*s: %d", (int)ops[k].key_len, ops[k].key, rc);
                break;
            }
            rc = weft_crdt_read(txn, (const uint8_t *)ctx_name[c], strlen(ctx_name[c]),
                                ops[k].key, ops[k].key_len, 0, &st);
            if (rc == 0)
                rc = weft_crdt_state_encode(st, &got, &gl);
            if (rc < 0)
                rc = fail(s, "node %d: reading %s/%.*s: %d", i, ctx_name[c], (int)ops[k].key_len,
                          ops[k].key, rc);
            else if (gl != wl || memcmp(got, want, wl) != 0)
                rc = fail(s, "node %d: state of %s/%.*s differs from the model (type %u, model %u)",
                          i, ctx_name[c], (int)ops[k].key_len, ops[k].key, gl > 1 ? got[1] : 0,
                          wl > 1 ? want[1] : 0);
            weft_crdt_state_delete(st);
            free(want);
            free(got);
        }
        weft_txn_abort(txn);
    }
done:
    free(ops);
    oplist_free(&model);
    return rc;
}

/* ---- the run --------------------------------------------------------- */

void sim_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024];
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0)
            sim_remove_dir(path);
    }
    closedir(d);
    rmdir(dir);
}

static void step(sim_t *s, uint64_t *next_tick)
{
    s->now += 1 + below(s, 4);
    deliver(s);
    for (int i = 0; i < s->n; i++)
        if (s->node[i].up && s->node[i].njobs)
            run_writes(s, i, chance(s, 0.5));
    if (s->now >= *next_tick) {
        *next_tick = s->now + 100;
        for (int i = 0; i < s->n; i++)
            if (s->node[i].up)
                sync_repl_tick(s->node[i].repl);
    }
}

static double seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sim_run(const sim_opts_t *o, sim_stats_t *st, char *err, size_t err_size)
{
    static const size_t windows[] = {3, 16, 100, 0};
    static const size_t batches[] = {120, 1000, 0};
    sim_t *s = calloc(1, sizeof *s);
    const char *base = o->tmp ? o->tmp : getenv("TMPDIR");
    int left[MAX_NODES];
    uint64_t restart_at[MAX_NODES] = {0}, next_tick = 100, deadline;
    double t0, c0;
    int rc = -1;

    if (!s) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    s->o = *o;
    s->err = err;
    s->err_size = err_size;
    s->rng = o->seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
    s->n = o->nodes < 2 ? 2 : o->nodes > MAX_NODES ? MAX_NODES : o->nodes;
    s->loss = o->faults ? 0.02 + 0.25 * (double)below(s, 100) / 100.0 : 0;
    s->dup = o->faults ? 0.1 * (double)below(s, 100) / 100.0 : 0;
    s->max_delay = 1 + below(s, 60);
    s->deferred = o->deferred < 0 ? (int)below(s, 2) : o->deferred;
    s->window = o->bench ? 0 : windows[below(s, 4)];
    s->batch = o->bench ? 0 : batches[below(s, 3)];
    /* compaction: soon and often, a few newest ops kept, small runs */
    s->compact_ms = 100 + below(s, 400);
    s->compact_keep = 1 + below(s, 8);
    s->compact_max = 3 + below(s, 40);
    if (o->evict) {
        s->batch = 200; /* many small chunks */
        s->cut_snap = 1;
    }
    the_sim = s;
    if (!base || !*base)
        base = "/tmp";
    for (int i = 0; i < s->n; i++) {
        node_t *nd = &s->node[i];
        nd->s = s;
        nd->i = i;
        nd->skew = (int64_t)below(s, 100) - 50;
        for (int b = 0; b < 32; b++)
            nd->id[b] = (uint8_t)rnd(s);
        snprintf(nd->dir, sizeof nd->dir, "%s/weft-sim-XXXXXX", base);
        if (!mkdtemp(nd->dir)) {
            nd->dir[0] = 0;
            fail(s, "mkdtemp under %s failed", base);
            goto out;
        }
        left[i] = o->writes;
        for (int j = 0; j < s->n; j++) {
            s->link[i][j].s = s;
            s->link[i][j].from = i;
            s->link[i][j].to = j;
        }
        if (node_open(s, i) < 0)
            goto out;
    }
    if (!o->bench)
        for (int i = 0; i < s->n; i++)
            for (int j = i + 1; j < s->n; j++)
                link_up(s, i, j);

    if (o->evict) { /* it wrote nothing yet; it comes back after the others' writes */
        left[s->n - 1] = 0;
        node_stop(s, s->n - 1);
        s->evicted = 1;
        restart_at[s->n - 1] = UINT64_MAX;
    }
    /* writes, with faults */
    for (;;) {
        int more = 0;
        for (int i = 0; i < s->n; i++)
            more |= left[i] > 0;
        if (s->cut_snap == 2) {
            s->cut_snap = 3;
            for (int j = 0; j < s->n - 1; j++) {
                link_down(s, s->n - 1, j);
                link_up(s, s->n - 1, j);
            }
        }
        if (!more && s->evicted) {
            /* let them compact past it, then add it back */
            uint64_t until = s->now + 3 * s->compact_ms + 2000;
            while (s->now < until && !s->failed)
                step(s, &next_tick);
            s->evicted = 0;
            restart_at[s->n - 1] = 0;
            node_start(s, s->n - 1);
            left[s->n - 1] = o->writes; /* it writes too once back */
            continue;
        }
        if (!more || s->failed)
            break;
        if (o->bench) {
            for (int i = 0; i < s->n; i++)
                for (; left[i] > 0 && !s->failed; left[i]--)
                    local_write(s, i);
            continue;
        }
        step(s, &next_tick);
        for (int i = 0; i < s->n && !s->failed; i++)
            if (s->node[i].up && left[i] > 0 && chance(s, 0.1)) {
                left[i]--;
                local_write(s, i);
            }
        if (!o->faults)
            continue;
        if (chance(s, 0.02)) { /* a partition, one-way or both ways, or a heal */
            int a = (int)below(s, s->n), b = (int)below(s, s->n);
            if (a != b) {
                int on = !s->blocked[a][b];
                s->blocked[a][b] = on;
                if (chance(s, 0.5))
                    s->blocked[b][a] = on;
            }
        }
        if (chance(s, 0.004)) { /* a link drops and comes back */
            int a = (int)below(s, s->n), b = (int)below(s, s->n);
            if (a != b) {
                link_down(s, a, b);
                link_up(s, a, b);
            }
        }
        if (chance(s, 0.004)) { /* a node restarts */
            int a = (int)below(s, s->n);
            if (s->node[a].up) {
                node_stop(s, a);
                restart_at[a] = s->now + 50 + below(s, 2000);
            }
        }
        for (int i = 0; i < s->n; i++)
            if (!s->node[i].up && s->now >= restart_at[i])
                node_start(s, i);
    }

    /* heal everything and run to quiescence */
    t0 = seconds(CLOCK_MONOTONIC);
    c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
    memset(s->blocked, 0, sizeof s->blocked);
    for (int i = 0; i < s->n; i++)
        node_start(s, i);
    for (int i = 0; i < s->n; i++)
        for (int j = i + 1; j < s->n; j++)
            link_up(s, i, j);
    deadline = s->now + 600000;
    for (uint64_t next_check = s->now; !s->failed;) {
        int done = 1;
        step(s, &next_tick);
        if (s->cut_snap == 2) {
            s->cut_snap = 3;
            for (int j = 0; j < s->n - 1; j++) {
                link_down(s, s->n - 1, j);
                link_up(s, s->n - 1, j);
            }
        }
        if (s->now < next_check)
            continue;
        next_check = s->now + (o->bench ? 5 : 100);
        for (int i = 0; i < s->n && done; i++)
            done = complete(s, i);
        if (done)
            break;
        if (s->now > deadline) {
            char why[1024] = "";
            size_t w = 0;
            for (int i = 0; i < s->n; i++)
                for (int j = 0; j < s->n; j++) {
                    link_t *l = &s->link[i][j];
                    sync_repl_stats_t ps;
                    if (i == j || !l->rp || w >= sizeof why - 100)
                        continue;
                    sync_repl_peer_stats(s->node[i].repl, l->rp, &ps);
                    w += (size_t)snprintf(why + w, sizeof why - w,
                                          " %d->%d: lag %llu, queued %d%s, jobs %zu;", i, j,
                                          (unsigned long long)ps.lag_ops, l->queued,
                                          l->want_writable ? " (blocked)" : "",
                                          s->node[j].njobs);
                }
            fail(s, "not converged after 600 s of simulated time:%s", why);
            break;
        }
    }
    s->st.sync_seconds = seconds(CLOCK_MONOTONIC) - t0;
    s->st.sync_cpu_seconds = seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
    s->st.sim_ms = s->now;
    for (int c = 0; c < NCTX && !s->failed; c++)
        check_ctx(s, c);
    /* Compaction never drops an op a member lacks: with members that stay,
     * no node ever had to ask for a snapshot. The evicted one must have. */
    if (!s->failed && !o->evict && s->st.snap_needs)
        fail(s, "%llu SNAP_NEED sent: a member lacked compacted ops",
             (unsigned long long)s->st.snap_needs);
    if (!s->failed && o->evict && !o->faults && (s->st.snap_starts == 0 || s->st.snap_chunks < 2))
        fail(s, "the evicted node took no snapshot (%llu started, %llu chunks)",
             (unsigned long long)s->st.snap_starts, (unsigned long long)s->st.snap_chunks);
    rc = s->failed ? -1 : 0;
out:
    for (int i = 0; i < s->n; i++) {
        node_stop(s, i);
        free(s->node[i].jobs);
        for (int c = 0; c < NCTX; c++) {
            for (size_t k = 0; k < s->node[i].narch[c]; k++)
                free(s->node[i].arch[c][k]);
            free(s->node[i].arch[c]);
            free(s->node[i].arch_len[c]);
        }
        if (s->node[i].dir[0])
            sim_remove_dir(s->node[i].dir);
    }
    for (size_t k = 0; k < s->nfr; k++)
        free(s->fr[k].p);
    free(s->fr);
    if (st)
        *st = s->st;
    the_sim = NULL;
    free(s);
    return rc;
}
