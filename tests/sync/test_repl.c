/*
 * test_repl.c — the replication engine (src/sync/repl.c) and its messages
 * (repl_msg.c): round trips and refusals of the wire forms, a malformed or
 * foreign frame that applies nothing, and the deterministic simulation
 * (sim.c) over many seeds.
 *
 *   SYNC_SEED=n test_repl sim_seeds     reruns one seed (a failure prints it)
 *   SYNC_SEEDS=n test_repl sim_seeds    runs n seeds (make soak: thousands)
 *   SYNC_VERBOSE=1                      prints each seed's figures
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/test.h"

#include "../store/tmpdir.h"
#include "repl.h"
#include "repl_msg.h"
#include "sim.h"
#include "weft/crdt_store.h"
#include "weft/db.h"
#include "weft/error.h"

#define C(s) (const uint8_t *)(s), strlen(s)

/* ---- messages -------------------------------------------------------- */

static uint8_t origin_a[32], origin_b[32];

static weft_crdt_op_t mkop(const uint8_t *origin, uint64_t seq, const char *key, uint8_t type,
                           uint8_t kind, uint64_t hlc, const uint8_t *pl, size_t pl_len)
{
    weft_crdt_op_t op;
    memset(&op, 0, sizeof op);
    op.context = (const uint8_t *)"app";
    op.context_len = 3;
    op.key = (const uint8_t *)key;
    op.key_len = strlen(key);
    op.type = type;
    op.kind = kind;
    memcpy(op.origin, origin, 32);
    op.seq = seq;
    op.hlc = hlc;
    op.payload = pl;
    op.payload_len = pl_len;
    return op;
}

static void free_writer(void *w)
{
    repl_ops_writer_free(w);
    free(w);
}

static void free_ops(void *o)
{
    repl_ops_free(o);
    free(o);
}

/* A writer freed when the test ends. */
static repl_ops_writer_t *new_writer(void)
{
    repl_ops_writer_t *w = calloc(1, sizeof *w);
    ASSERT_NOT_NULL(w);
    test_defer(free_writer, w);
    return w;
}

/* A frame of ops of two origins, groups split by a seq gap, keys that
 * repeat and change, hlcs that go up and down. */
static size_t sample(repl_ops_writer_t *w, weft_crdt_op_t *ops)
{
    static const uint8_t inc[] = {3, 3}, inc2[] = {2, 5}, val[] = "hello";
    static uint8_t ins[64];
    weft_crdt_id_t parent;
    size_t n = 0, ins_len = 0;
    memset(origin_a, 0x11, 32);
    memset(origin_b, 0x22, 32);
    memcpy(parent.origin, origin_b, 32);
    parent.seq = 7;
    ASSERT_EQ_INT(weft_crdt_payload_rga_insert(&parent, C("x"), ins, sizeof ins, &ins_len), 0);
    ops[n++] = mkop(origin_a, 1, "c", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 1ull << 40, inc, 2);
    ops[n++] = mkop(origin_a, 2, "c", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, (1ull << 40) + 1, inc2, 2);
    ops[n++] = mkop(origin_a, 3, "", WEFT_CRDT_LWW_REG, WEFT_CRDT_SET, (1ull << 40) + 9, val, 5);
    ops[n++] = mkop(origin_a, 5, "", WEFT_CRDT_LWW_REG, WEFT_CRDT_SET, 5, NULL, 0);
    ops[n++] = mkop(origin_b, 1, "q", WEFT_CRDT_RGA, WEFT_CRDT_INSERT, UINT64_MAX, ins, ins_len);
    ops[n++] = mkop(origin_b, 2, "q", WEFT_CRDT_RGA, WEFT_CRDT_INSERT, 0, ins, ins_len);
    repl_ops_begin(w, C("app"));
    for (size_t k = 0; k < n; k++)
        ASSERT_EQ_INT(repl_ops_add(w, &ops[k]), 0);
    ASSERT_EQ_INT(repl_ops_end(w), 0);
    return n;
}

TEST(msg_ops_round_trip)
{
    repl_ops_writer_t *w = new_writer();
    repl_ops_t *bp = calloc(1, sizeof *bp);
    weft_crdt_op_t ops[8];
    size_t n;
    ASSERT_NOT_NULL(bp);
    test_defer(free_ops, bp);
    n = sample(w, ops);
    ASSERT_EQ_INT(repl_ops_decode(w->frame.p, w->frame.len, bp), 0);
#define back (*bp)
    ASSERT_EQ_U64(back.n, n);
    ASSERT_EQ_U64(back.ngroups, 3); /* a: 1-3, a: 5, b: 1-2 */
    ASSERT_EQ_U64(back.groups[0].seq, 3);
    ASSERT_EQ_U64(back.groups[1].seq, 5);
    ASSERT_EQ_U64(back.groups[2].seq, 2);
    ASSERT_EQ_MEM(back.ctx, "app", 3);
    for (size_t k = 0; k < n; k++) {
        /* the rebuilt bytes are the origin's canonical encoding */
        uint8_t enc[256];
        size_t len = 0;
        ASSERT_EQ_INT(weft_crdt_op_encode(&ops[k], enc, sizeof enc, &len), 0);
        ASSERT_EQ_U64(back.ops[k].len, len);
        ASSERT_EQ_MEM(back.bytes + back.ops[k].off, enc, len);
        ASSERT_EQ_U64(back.ops[k].seq, ops[k].seq);
    }
#undef back
}

TEST(msg_ops_refused_whole)
{
    repl_ops_writer_t *w = new_writer();
    repl_ops_t back;
    weft_crdt_op_t ops[8];
    uint8_t buf[1024];
    size_t len;
    sample(w, ops);
    len = w->frame.len;
    ASSERT_TRUE(len < sizeof buf);
    memcpy(buf, w->frame.p, len);
    /* every truncation is refused, but where a group ends (the frame is
     * then a shorter one) */
    for (size_t cut = 0; cut < len; cut++) {
        int rc = repl_ops_decode(buf, cut, &back);
        if (rc == 0) {
            ASSERT_LT_U64(back.n, 6);
            repl_ops_free(&back);
        } else if (rc != WEFT_EMALFORMED) {
            FAIL("truncated at %zu of %zu: %d", cut, len, rc);
        }
    }
    /* a trailing byte, a kind the type has not, a bad counter payload */
    buf[len] = 0;
    ASSERT_EQ_INT(repl_ops_decode(buf, len + 1, &back), WEFT_EMALFORMED);
    memcpy(buf, w->frame.p, len);
    buf[4 + 32 + 2] = (WEFT_CRDT_GCOUNTER << 4) | WEFT_CRDT_DEC; /* first op's head */
    ASSERT_EQ_INT(repl_ops_decode(buf, len, &back), WEFT_EMALFORMED);
    memcpy(buf, w->frame.p, len);
    buf[4 + 32 + 2 + 1 + 2 + 6 + 1] = 9; /* first op's delta over its total */
    ASSERT_EQ_INT(repl_ops_decode(buf, len, &back), WEFT_EMALFORMED);
    /* a non-minimal varint (first seq 1 as 0x81 0x00) */
    {
        uint8_t nm[64] = {3, 'a', 'p', 'p'};
        size_t k = 4 + 32;
        nm[k++] = 0x81;
        nm[k++] = 0x00;
        nm[k++] = 1;
        nm[k++] = (WEFT_CRDT_LWW_REG << 4) | WEFT_CRDT_SET;
        nm[k++] = 0; /* key "" */
        nm[k++] = 2; /* hlc +1 */
        nm[k++] = 0; /* payload "" */
        ASSERT_EQ_INT(repl_ops_decode(nm, k, &back), WEFT_EMALFORMED);
        nm[4 + 32] = 1;
        memmove(nm + 4 + 32 + 1, nm + 4 + 32 + 2, k - (4 + 32 + 2));
        ASSERT_EQ_INT(repl_ops_decode(nm, k - 1, &back), 0);
        repl_ops_free(&back);
    }
}

TEST(msg_vv_round_trip_and_refusals)
{
    repl_buf_t b = {0};
    weft_crdt_id_t vv[2], *out = NULL;
    const uint8_t *ctx;
    size_t ctx_len, n;
    memset(vv[0].origin, 1, 32);
    memset(vv[1].origin, 2, 32);
    vv[0].seq = 300;
    vv[1].seq = 0;
    ASSERT_EQ_INT(repl_vv_encode(&b, C("app"), vv, 2), 0);
    ASSERT_EQ_INT(repl_vv_decode(b.p, b.len, &ctx, &ctx_len, &out, &n), 0);
    ASSERT_EQ_U64(n, 2);
    ASSERT_EQ_U64(ctx_len, 3);
    ASSERT_EQ_U64(out[0].seq, 300);
    ASSERT_EQ_MEM(out[1].origin, vv[1].origin, 32);
    free(out);
    for (size_t cut = 0; cut < b.len; cut++)
        ASSERT_EQ_INT(repl_vv_decode(b.p, cut, &ctx, &ctx_len, &out, &n), WEFT_EMALFORMED);
    /* origins out of order (or twice) */
    ASSERT_EQ_INT(repl_vv_encode(&b, C("app"), (weft_crdt_id_t[]){vv[1], vv[0]}, 2), 0);
    ASSERT_EQ_INT(repl_vv_decode(b.p, b.len, &ctx, &ctx_len, &out, &n), WEFT_EMALFORMED);
    repl_buf_free(&b);
}

/* ---- the engine against one fake peer -------------------------------- */

typedef struct {
    weft_db_t *db;
    int frames, shared;
    uint8_t last_type;
    int attempts, limit; /* sends tried; past `limit` frames (0: none) WEFT_ELIMIT */
    uint64_t ops_out, now;
    int ops_frames; /* OPS frames sent */
    int defer, writes; /* hold write jobs instead of running them; how many came */
    int (*held_fn)(weft_txn_t *, void *);
    void *held_arg;
    void (*held_done)(void *, int);
    sync_repl_t *r;
    sync_repl_peer_t *p;    /* the fake peer, up */
    repl_ops_writer_t *w;   /* sample()'s frame */
    weft_crdt_op_t ops[8];
} one_t;

static int count_op(void *user, size_t group, const uint8_t *origin, uint64_t seq,
                    const uint8_t *bytes, size_t len)
{
    (*(uint64_t *)user)++;
    return 0;
}

static int one_send(void *user, void *peer, uint8_t type, const uint8_t *p, size_t len)
{
    one_t *o = user;
    o->attempts++;
    if (o->limit && o->frames >= o->limit)
        return WEFT_ELIMIT;
    o->frames++;
    o->last_type = type;
    if (type == SYNC_MSG_OPS) {
        o->ops_frames++;
        ASSERT_EQ_INT(repl_ops_walk(p, len, NULL, NULL, count_op, &o->ops_out), 0);
    }
    return 0;
}

static uint64_t one_now(void *user)
{
    return ((one_t *)user)->now;
}

static int one_write(void *user, int (*fn)(weft_txn_t *, void *), void *arg,
                     void (*done)(void *, int))
{
    one_t *o = user;
    o->writes++;
    if (o->defer) { /* one at a time: the engine gives the next after done */
        ASSERT_NULL(o->held_fn);
        o->held_fn = fn;
        o->held_arg = arg;
        o->held_done = done;
        return 0;
    }
    done(arg, sim_txn(o->db, fn, arg));
    return 0;
}

/* Runs the held write job; 1 when there was one. */
static int one_run_held(one_t *o)
{
    int (*fn)(weft_txn_t *, void *) = o->held_fn;
    if (!fn)
        return 0;
    o->held_fn = NULL;
    o->held_done(o->held_arg, sim_txn(o->db, fn, o->held_arg));
    return 1;
}

static int one_shared(void *user, const uint8_t *ctx, size_t len, const uint8_t *peer)
{
    one_t *o = user;
    return o->shared && len == 3 && memcmp(ctx, "app", 3) == 0;
}

static void one_contexts(void *user, const uint8_t *peer,
                         void (*fn)(void *, const uint8_t *, size_t), void *arg)
{
    one_t *o = user;
    if (o->shared)
        fn(arg, C("app"));
}

static void close_db(void *db)
{
    weft_db_close(db);
}

static void del_repl(void *r)
{
    sync_repl_delete(r);
}

/* An engine on a fresh data directory sharing "app" with one peer, which
 * is up, with a window of `window` ops (0: the default); o->w holds
 * sample()'s frame. */
static void one_engine(one_t *o, size_t window)
{
    static const uint8_t self[32] = {9}, peer_id[32] = {7};
    sync_repl_config_t cfg;
    sync_repl_t *r = NULL;
    char msg[256];
    memset(o, 0, sizeof *o);
    o->shared = 1;
    ASSERT_EQ_INT(weft_db_open(tmpdir_new("repl"), WEFT_DB_NOSYNC, &o->db, msg, sizeof msg), 0);
    test_defer(close_db, o->db);
    memset(&cfg, 0, sizeof cfg);
    cfg.db = o->db;
    cfg.self_id = self;
    cfg.send = one_send;
    cfg.write = one_write;
    cfg.shared = one_shared;
    cfg.contexts = one_contexts;
    cfg.now_ms = one_now;
    cfg.window_ops = window;
    cfg.user = o;
    ASSERT_EQ_INT(sync_repl_new(&cfg, &r), 0);
    test_defer(del_repl, r);
    o->r = r;
    o->p = sync_repl_peer_up(r, o, peer_id);
    ASSERT_NOT_NULL(o->p);
    o->w = new_writer();
    sample(o->w, o->ops);
}

static int sum_marks(void *user, const uint8_t *origin, uint64_t seq)
{
    *(uint64_t *)user += seq;
    return 0;
}

/* Ops in the op-log of "app": the sum of its version vector. */
static uint64_t ops_logged(weft_db_t *db)
{
    weft_txn_t *t;
    uint64_t n = 0;
    ASSERT_EQ_INT(weft_txn_begin(db, WEFT_TXN_READ, &t), 0);
    ASSERT_EQ_INT(weft_crdt_version_vector(t, C("app"), sum_marks, &n), 0);
    weft_txn_abort(t);
    return n;
}

TEST(engine_malformed_frame_applies_nothing)
{
    one_t o;
    size_t len;
    uint8_t buf[1024];
    one_engine(&o, 0);
    sync_repl_t *r = o.r;
    sync_repl_peer_t *p = o.p;
    repl_ops_writer_t *w = o.w;
    ASSERT_EQ_INT(o.last_type, SYNC_MSG_VV); /* anti-entropy on connect */
    len = w->frame.len;
    ASSERT_TRUE(len + 5 <= sizeof buf);
    memcpy(buf, w->frame.p, len);
    /* a broken group at the end: the good ops before it are not applied
     * either */
    memset(buf + len, 0x22, 5);
    ASSERT_EQ_INT(sync_repl_receive(r, p, SYNC_MSG_OPS, buf, len + 5), WEFT_EMALFORMED);
    ASSERT_EQ_U64(ops_logged(o.db), 0);
    ASSERT_EQ_INT(sync_repl_receive(r, p, SYNC_MSG_OPS, buf, 2), WEFT_EMALFORMED);
    ASSERT_EQ_INT(sync_repl_receive(r, p, 0x7e, buf, 2), WEFT_EMALFORMED);
    /* the whole frame is fine: a:1-3 apply (a:5 is a gap, b's inserts wait
     * for b:7 but are applied and logged), and an ACK goes back */
    o.frames = 0;
    ASSERT_EQ_INT(sync_repl_receive(r, p, SYNC_MSG_OPS, w->frame.p, w->frame.len), 0);
    ASSERT_EQ_U64(ops_logged(o.db), 3 + 2);
    ASSERT_EQ_INT(o.last_type, SYNC_MSG_ACK);
    sync_repl_peer_down(r, p);
}

TEST(engine_foreign_context_applies_nothing)
{
    one_t o;
    one_engine(&o, 0);
    sync_repl_t *r = o.r;
    sync_repl_peer_t *p = o.p;
    repl_ops_writer_t *w = o.w;
    o.shared = 0; /* the peer is no member of "app" (any more) */
    o.frames = 0;
    ASSERT_EQ_INT(sync_repl_receive(r, p, SYNC_MSG_OPS, w->frame.p, w->frame.len), WEFT_EARG);
    ASSERT_EQ_U64(ops_logged(o.db), 0);
    ASSERT_EQ_INT(o.frames, 0);
    sync_repl_peer_down(r, p);
}

static const uint8_t self_id[32] = {9};

/* Sends a VV (or ACK) of "app" holding self_id's mark `seq` (none: 0). */
static int say(one_t *o, uint8_t type, uint64_t seq)
{
    repl_buf_t b = {0};
    weft_crdt_id_t e;
    int rc;
    memcpy(e.origin, self_id, 32);
    e.seq = seq;
    ASSERT_EQ_INT(repl_vv_encode(&b, C("app"), &e, seq ? 1 : 0), 0);
    rc = sync_repl_receive(o->r, o->p, type, b.p, b.len);
    repl_buf_free(&b);
    return rc;
}

/* Pushes stay within the window of unacknowledged ops, stop at the
 * transport's WEFT_ELIMIT until sync_repl_writable, and what is not acked
 * within resend_ms goes again from what was acked. */
TEST(engine_window_backpressure_and_resend)
{
    one_t o;
    one_engine(&o, 4);
    for (int i = 0; i < 10; i++) {
        weft_txn_t *t;
        weft_crdt_input_t in = {.delta = 1};
        ASSERT_EQ_INT(weft_txn_begin(o.db, WEFT_TXN_WRITE, &t), 0);
        ASSERT_EQ_INT(weft_crdt_local(t, self_id, 1000, C("app"), C("c"), WEFT_CRDT_GCOUNTER,
                                      WEFT_CRDT_INC, &in, NULL, NULL),
                      0);
        ASSERT_EQ_INT(weft_txn_commit(t), 0);
    }
    sync_repl_notify(o.r, C("app"));
    ASSERT_EQ_U64(o.ops_out, 0); /* the peer's VV has not come: nothing */
    ASSERT_EQ_INT(say(&o, SYNC_MSG_VV, 0), 0);
    ASSERT_EQ_U64(o.ops_out, 4); /* the window */
    sync_repl_notify(o.r, C("app"));
    ASSERT_EQ_U64(o.ops_out, 4);
    ASSERT_EQ_INT(say(&o, SYNC_MSG_ACK, 2), 0);
    ASSERT_EQ_U64(o.ops_out, 6); /* 2 acked, 2 more */
    o.limit = o.frames;          /* the transport's queue is full */
    ASSERT_EQ_INT(say(&o, SYNC_MSG_ACK, 6), 0);
    ASSERT_EQ_U64(o.ops_out, 6);
    int tried = o.attempts;
    sync_repl_notify(o.r, C("app"));
    ASSERT_EQ_INT(o.attempts, tried); /* blocked: not even tried */
    o.limit = 0;
    sync_repl_writable(o.r, o.p);
    ASSERT_EQ_U64(o.ops_out, 10);
    /* no ack for 2 s: 7..10 again */
    o.now += 1999;
    sync_repl_tick(o.r);
    ASSERT_EQ_U64(o.ops_out, 10);
    o.now += 1;
    sync_repl_tick(o.r);
    ASSERT_EQ_U64(o.ops_out, 14);
    ASSERT_EQ_INT(say(&o, SYNC_MSG_ACK, 10), 0);
    o.now += 5000;
    sync_repl_tick(o.r);
    ASSERT_EQ_U64(o.ops_out, 14);
    sync_repl_peer_down(o.r, o.p);
}

/* A peer that sends faster than we apply: one frame in the writer and 8
 * queued; the rest are dropped unacknowledged (the sender sends them
 * again), so what a peer sends cannot grow our memory. */
TEST(engine_flood_is_bounded)
{
    one_t o;
    int ran = 0;
    one_engine(&o, 0);
    o.defer = 1;
    for (int i = 0; i < 50; i++)
        ASSERT_EQ_INT(sync_repl_receive(o.r, o.p, SYNC_MSG_OPS, o.w->frame.p, o.w->frame.len), 0);
    ASSERT_EQ_INT(o.writes, 1);
    while (one_run_held(&o))
        ran++;
    ASSERT_EQ_INT(ran, 1 + 8);
    ASSERT_EQ_INT(o.writes, 1 + 8);
    ASSERT_EQ_U64(ops_logged(o.db), 3 + 2); /* the first applied, the rest duplicates */
    /* a job in the writer when the peer goes: its done frees it later */
    ASSERT_EQ_INT(sync_repl_receive(o.r, o.p, SYNC_MSG_OPS, o.w->frame.p, o.w->frame.len), 0);
    sync_repl_peer_down(o.r, o.p);
    ASSERT_EQ_INT(one_run_held(&o), 1);
}

/* Writes n ops of "app" from self_id: GCounter increments (vlen 0) or
 * LWW sets of a vlen-byte value. */
static void write_ops(one_t *o, int n, size_t vlen)
{
    static uint8_t val[256];
    weft_txn_t *t;
    ASSERT_TRUE(vlen <= sizeof val);
    memset(val, 'v', sizeof val);
    ASSERT_EQ_INT(weft_txn_begin(o->db, WEFT_TXN_WRITE, &t), 0);
    for (int i = 0; i < n; i++) {
        weft_crdt_input_t in = {.delta = 1, .value = val, .value_len = vlen};
        if (vlen)
            ASSERT_EQ_INT(weft_crdt_local(t, self_id, 1000 + i, C("app"), C("r"),
                                          WEFT_CRDT_LWW_REG, WEFT_CRDT_SET, &in, NULL, NULL),
                          0);
        else
            ASSERT_EQ_INT(weft_crdt_local(t, self_id, 1000 + i, C("app"), C("c"),
                                          WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, &in, NULL, NULL),
                          0);
    }
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
}

/* The window is bounded in frames as well as ops: never more OPS frames
 * unacked than the receiver queues (engine_flood_is_bounded: 1 running and
 * 8 queued), however large the ops; and a window of small ops goes in
 * several frames, so the first ones' ACKs come back while the next apply
 * (pipelining) instead of one frame per window (stop-and-wait). */
TEST(engine_window_fits_the_receivers_queue_and_pipelines)
{
    one_t o;
    uint64_t acked = 0;
    int rounds = 0;
    /* small ops: a window of 16,384 is 4 frames, not 1 */
    one_engine(&o, 0);
    write_ops(&o, 20000, 0);
    ASSERT_EQ_INT(say(&o, SYNC_MSG_VV, 0), 0);
    ASSERT_EQ_U64(o.ops_out, 16384);
    ASSERT_EQ_INT(o.ops_frames, 4);
    ASSERT_EQ_INT(say(&o, SYNC_MSG_ACK, 4096), 0); /* the first applied */
    ASSERT_EQ_U64(o.ops_out, 16384 + 3616);
    ASSERT_EQ_INT(o.ops_frames, 5);
    sync_repl_peer_down(o.r, o.p);

    /* 200-byte ops: 16,384 of them would be 13 frames of 64 KiB (14 of
     * 256 KiB before); at most 8 go unacked, and one more per ACK */
    one_engine(&o, 0);
    write_ops(&o, 17000, 200);
    ASSERT_EQ_INT(say(&o, SYNC_MSG_VV, 0), 0);
    ASSERT_EQ_INT(o.ops_frames, 8);
    while (o.ops_out < 17000 && rounds++ < 100) {
        int before = o.ops_frames;
        /* the peer acks the first frame still unacked: ops_out grows by
         * whole frames, so ack what the oldest one ended at */
        acked += (o.ops_out - acked) / 8;
        ASSERT_EQ_INT(say(&o, SYNC_MSG_ACK, acked), 0);
        ASSERT_TRUE(o.ops_frames - before <= 1);
    }
    ASSERT_EQ_U64(o.ops_out, 17000);
    sync_repl_peer_down(o.r, o.p);
}

/* A context shared after the peer came up starts (a VV to the peer) at
 * the next commit in it, not only at the next anti-entropy tick. */
TEST(engine_context_shared_later_starts_on_notify)
{
    one_t o;
    one_engine(&o, 0);
    sync_repl_peer_down(o.r, o.p);
    o.shared = 0;
    o.p = sync_repl_peer_up(o.r, &o, (const uint8_t[32]){7});
    ASSERT_NOT_NULL(o.p);
    o.frames = 0;
    sync_repl_notify(o.r, C("app"));
    ASSERT_EQ_INT(o.frames, 0);
    o.shared = 1;
    sync_repl_notify(o.r, C("app"));
    ASSERT_EQ_INT(o.frames, 1);
    ASSERT_EQ_INT(o.last_type, SYNC_MSG_VV);
    sync_repl_notify(o.r, C("app")); /* once */
    ASSERT_EQ_INT(o.frames, 1);
    sync_repl_peer_down(o.r, o.p);
}

/* ---- the simulation -------------------------------------------------- */

static void run_sim(sim_opts_t *o)
{
    char err[512] = "";
    sim_stats_t st;
    if (sim_run(o, &st, err, sizeof err) != 0)
        FAIL("seed %llu (%d nodes%s%s): %s", (unsigned long long)o->seed, o->nodes,
             o->faults ? ", faults" : "", o->conflicts ? ", conflicts" : "", err);
}

TEST(sim_two_nodes_lossless)
{
    for (int deferred = 0; deferred < 2; deferred++) {
        sim_opts_t o = {.seed = 1, .nodes = 2, .writes = 300, .faults = 0, .deferred = deferred};
        run_sim(&o);
    }
}

TEST(sim_five_nodes_lossless)
{
    sim_opts_t o = {.seed = 2, .nodes = 5, .writes = 100, .faults = 0, .deferred = -1};
    run_sim(&o);
}

/* A-B-C-D: no link between the ends, so ops reach them only forwarded
 * (weft_crdt_missing covers every origin). */
TEST(sim_chain_forwards_third_origins)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        sim_opts_t o = {.seed = seed, .nodes = 4, .writes = 40, .faults = (int)(seed & 1),
                        .deferred = -1, .chain = 1};
        run_sim(&o);
    }
}

/* Seeds first..last: 2 to 5 nodes, loss, duplication, reordering,
 * partitions, link drops and restarts; every third seed with concurrent
 * types. A failure names the seed and how to run it alone. */
static void run_seeds(uint64_t first, uint64_t last)
{
    for (uint64_t seed = first; seed <= last; seed++) {
        char err[512] = "";
        sim_stats_t st;
        sim_opts_t o = {.seed = seed, .nodes = 2 + (int)(seed % 4), .writes = 40, .faults = 1,
                        .deferred = -1, .conflicts = seed % 3 == 0};
        if (sim_run(&o, &st, err, sizeof err) != 0)
            FAIL("seed %llu (%d nodes): %s\n  replay: SYNC_SEED=%llu %s sim_seeds",
                 (unsigned long long)seed, o.nodes, err, (unsigned long long)seed,
                 "test_repl");
        if (getenv("SYNC_VERBOSE"))
            fprintf(stderr, "seed %llu: %d nodes, %llu ops written, %llu frames (%llu OPS, "
                    "%llu bytes), converged at %llu ms, %llu log entries compacted\n",
                    (unsigned long long)seed, o.nodes, (unsigned long long)st.ops_written,
                    (unsigned long long)st.frames, (unsigned long long)st.ops_frames,
                    (unsigned long long)st.ops_bytes, (unsigned long long)st.sim_ms,
                    (unsigned long long)st.compacted);
    }
}

/* Seeds 1..50, or SYNC_SEED alone, or 1..SYNC_SEEDS (make soak). */
TEST(sim_seeds)
{
    const char *one = getenv("SYNC_SEED"), *many = getenv("SYNC_SEEDS");
    uint64_t first = one ? strtoull(one, NULL, 10) : 1;
    run_seeds(first, one ? first : many ? strtoull(many, NULL, 10) : 50);
}

/* Seeds 51..200 in tests of their own, so that CTest runs them side by
 * side (and each stays well within its timeout under the sanitizers). */
static void more_seeds(uint64_t first)
{
    if (!getenv("SYNC_SEED") && !getenv("SYNC_SEEDS"))
        run_seeds(first, first + 49);
}

TEST(sim_seeds_51)
{
    more_seeds(51);
}

TEST(sim_seeds_101)
{
    more_seeds(101);
}

TEST(sim_seeds_151)
{
    more_seeds(151);
}

/* Compaction and snapshots (docs/sync.md "Compaction and snapshots"): the
 * last node leaves "app" while the others write and compact past it; added
 * back, it takes a snapshot in chunks, the link under its first chunk is
 * dropped, and it resumes from the last chunk applied (one start only),
 * then converges to the model. */
TEST(sim_snapshot_resumes_after_a_link_drop)
{
    for (int nodes = 2; nodes <= 4; nodes++) {
        char err[512] = "";
        sim_stats_t st;
        sim_opts_t o = {.seed = 7 + (uint64_t)nodes, .nodes = nodes, .writes = 60, .faults = 0,
                        .deferred = nodes & 1, .evict = 1};
        if (sim_run(&o, &st, err, sizeof err) != 0)
            FAIL("%d nodes: %s", nodes, err);
        ASSERT_TRUE(st.compacted > 0);
        ASSERT_EQ_INT(st.snap_starts, 1);
        ASSERT_TRUE(st.snap_chunks >= 3);
    }
}

/* The same with loss, duplication, partitions, restarts and (every third
 * seed) concurrent types, by seed (faults may keep the others from
 * compacting past it in time: most seeds, not all, take a snapshot). */
TEST(sim_snapshot_seeds)
{
    /* 20 seeds; make soak (SYNC_SEEDS) a tenth of its count */
    const char *many = getenv("SYNC_SEEDS"), *one = getenv("SYNC_SEED");
    uint64_t last = many ? strtoull(many, NULL, 10) / 10 : 20, took = 0;
    uint64_t first = one ? strtoull(one, NULL, 10) : 1;
    if (last < 20)
        last = 20;
    if (one)
        last = first;
    for (uint64_t seed = first; seed <= last; seed++) {
        char err[512] = "";
        sim_stats_t st;
        sim_opts_t o = {.seed = seed, .nodes = 2 + (int)(seed % 4), .writes = 40, .faults = 1,
                        .deferred = -1, .conflicts = seed % 3 == 0, .evict = 1};
        if (sim_run(&o, &st, err, sizeof err) != 0)
            FAIL("seed %llu (%d nodes, evict): %s\n  replay: SYNC_SEED=%llu test_repl "
                 "sim_snapshot_seeds",
                 (unsigned long long)seed, o.nodes, err, (unsigned long long)seed);
        took += st.snap_chunks > 0;
    }
    ASSERT_TRUE(one || took * 2 >= last);
}

/* Concurrent types: nodes write one key "x" with different CRDT types at
 * once (docs/sync.md "Concurrent types"): every node ends with the type of
 * the key's earliest op and the state of that type's ops. */
TEST(sim_concurrent_types)
{
    for (uint64_t seed = 1; seed <= 40; seed++) {
        sim_opts_t o = {.seed = seed, .nodes = 2 + (int)(seed % 4), .writes = 40,
                        .faults = (int)(seed & 1), .deferred = -1, .conflicts = 1};
        run_sim(&o);
    }
}
