/*
 * fuzz_repl.c — libFuzzer target for the replication messages: the first
 * byte picks the frame type (its low 3 bits: VV, OPS, ACK, an unknown one,
 * SNAP_NEED, SNAP_REQ, SNAP, another unknown one), the rest is its
 * payload, handed to sync_repl_receive of an engine on a scratch data
 * directory that shares every context with its one peer (so a frame that
 * decodes is applied).
 *
 * Beyond crashes and over-reads (the sanitizers' job) it aborts when the
 * engine breaks its contract: a result other than 0, WEFT_EMALFORMED,
 * WEFT_EARG or WEFT_ENOMEM; an OPS frame that decodes but does not encode
 * back to ops with the same canonical bytes; a VV that decodes but does
 * not encode back to its own bytes. replay.c runs it over corpus_repl/
 * without libFuzzer (make test, label fuzz).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "repl.h"
#include "repl_msg.h"
#include "sim.h"
#include "weft/crdt_store.h"
#include "weft/db.h"
#include "weft/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_repl: %s\n", what);
        abort();
    }
}

static char dir[256];
static weft_db_t *db;
static sync_repl_t *repl;
static sync_repl_peer_t *peer;

static int f_send(void *user, void *p, uint8_t type, const uint8_t *b, size_t len)
{
    return 0;
}

static int f_write(void *user, int (*fn)(weft_txn_t *, void *), void *arg,
                   void (*done)(void *, int))
{
    done(arg, sim_txn(db, fn, arg));
    return 0;
}

static int f_shared(void *user, const uint8_t *ctx, size_t len, const uint8_t *peer_id)
{
    return 1;
}

static void f_contexts(void *user, const uint8_t *peer_id,
                       void (*fn)(void *, const uint8_t *, size_t), void *arg)
{
    fn(arg, (const uint8_t *)"app", 3);
}

static void cleanup(void)
{
    sync_repl_delete(repl);
    weft_db_close(db);
    sim_remove_dir(dir);
}

static void setup(void)
{
    static const uint8_t self[32] = {1}, peer_id[32] = {2};
    const char *tmp = getenv("TMPDIR");
    sync_repl_config_t cfg;
    char msg[256];
    snprintf(dir, sizeof dir, "%s/weft-fuzz-repl-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    check(mkdtemp(dir) != NULL, "mkdtemp");
    check(weft_db_open(dir, WEFT_DB_NOSYNC, &db, msg, sizeof msg) == 0, "weft_db_open");
    memset(&cfg, 0, sizeof cfg);
    cfg.db = db;
    cfg.self_id = self;
    cfg.send = f_send;
    cfg.write = f_write;
    cfg.shared = f_shared;
    cfg.contexts = f_contexts;
    check(sync_repl_new(&cfg, &repl) == 0, "sync_repl_new");
    check((peer = sync_repl_peer_up(repl, NULL, peer_id)) != NULL, "peer_up");
    atexit(cleanup);
}

/* A decoded OPS frame written again gives ops of the same bytes. */
static void ops_round_trip(const uint8_t *p, size_t n)
{
    repl_ops_t a, b;
    repl_ops_writer_t w;
    if (repl_ops_decode(p, n, &a) != 0)
        return;
    memset(&w, 0, sizeof w);
    repl_ops_begin(&w, a.ctx, a.ctx_len);
    for (size_t i = 0; i < a.n; i++) {
        weft_crdt_op_t op;
        check(weft_crdt_op_decode(a.bytes + a.ops[i].off, a.ops[i].len, &op) == 0,
              "a rebuilt op does not decode");
        check(repl_ops_add(&w, &op) == 0, "a rebuilt op does not write");
    }
    check(repl_ops_end(&w) == 0, "repl_ops_end");
    check(repl_ops_decode(w.frame.p, w.frame.len, &b) == 0, "a written frame does not decode");
    check(b.n == a.n, "op count differs");
    for (size_t i = 0; i < a.n; i++)
        check(a.ops[i].len == b.ops[i].len &&
                  memcmp(a.bytes + a.ops[i].off, b.bytes + b.ops[i].off, a.ops[i].len) == 0,
              "ops differ after a round trip");
    repl_ops_free(&a);
    repl_ops_free(&b);
    repl_ops_writer_free(&w);
}

static void vv_round_trip(const uint8_t *p, size_t n)
{
    const uint8_t *ctx;
    size_t ctx_len, k;
    weft_crdt_id_t *vv;
    repl_buf_t b = {0};
    if (repl_vv_decode(p, n, &ctx, &ctx_len, &vv, &k) != 0)
        return;
    check(repl_vv_encode(&b, ctx, ctx_len, vv, k) == 0, "repl_vv_encode");
    check(b.len == n && memcmp(b.p, p, n) == 0, "a VV does not encode back to its bytes");
    free(vv);
    repl_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t types[8] = {SYNC_MSG_VV,        SYNC_MSG_OPS,      SYNC_MSG_ACK,
                                     0x1f,               SYNC_MSG_SNAP_NEED, SYNC_MSG_SNAP_REQ,
                                     SYNC_MSG_SNAP,      0x1e};
    uint8_t t;
    int rc;
    if (size == 0)
        return 0;
    if (!repl)
        setup();
    t = types[data[0] & 7];
    if (t == SYNC_MSG_OPS)
        ops_round_trip(data + 1, size - 1);
    else if (t == SYNC_MSG_VV || t == SYNC_MSG_ACK)
        vv_round_trip(data + 1, size - 1);
    if (t == SYNC_MSG_SNAP) {
        /* a chunk is taken only while a snapshot of its context is asked
         * for: the peer says we need one first */
        repl_snap_t m;
        repl_buf_t b = {0};
        if (repl_snap_decode(data + 1, size - 1, &m) == 0) {
            if (repl_ctx_encode(&b, m.ctx, m.ctx_len) == 0)
                sync_repl_receive(repl, peer, SYNC_MSG_SNAP_NEED, b.p, b.len);
            repl_snap_free(&m);
        }
        repl_buf_free(&b);
    }
    rc = sync_repl_receive(repl, peer, t, data + 1, size - 1);
    check(rc == 0 || rc == WEFT_EMALFORMED || rc == WEFT_EARG || rc == WEFT_ENOMEM,
          "sync_repl_receive: unexpected result");
    return 0;
}
