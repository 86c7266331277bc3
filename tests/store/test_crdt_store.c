/*
 * test_crdt_store.c — unit tests of CRDT states and the op-log in the store
 * (include/weft/crdt_store.h) through the public API.
 *
 * Two nodes are two data directories under $TMPDIR (or /tmp); they sync the
 * way the sync layer will: B sends its version vector, A streams what B
 * lacks with weft_crdt_missing, B applies each op with
 * weft_crdt_apply_remote. Convergence is checked on the encoded states as
 * stored, byte for byte.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/test.h"
#include "tmpdir.h"
#include "weft/crdt_store.h"
#include "weft/db.h"
#include "weft/error.h"

#define C(s) (const uint8_t *)(s), strlen(s)

/* ---- fixtures -------------------------------------------------------- */

static weft_db_t *open_dir(const char *dir)
{
    weft_db_t *db = NULL;
    char msg[256] = "";
    int rc = weft_db_open(dir, WEFT_DB_NOSYNC, &db, msg, sizeof msg);
    if (rc != 0)
        FAIL("weft_db_open %s: %d %s", dir, rc, msg);
    return db;
}

static void close_db(void *arg)
{
    weft_db_close(arg);
}

static weft_db_t *open_node(void)
{
    weft_db_t *db = open_dir(tmpdir_new("crdt-store"));
    test_defer(close_db, db);
    return db;
}

static weft_txn_t *begin(weft_db_t *db, int mode)
{
    weft_txn_t *t = NULL;
    ASSERT_EQ_INT(weft_txn_begin(db, mode, &t), 0);
    return t;
}

static const uint8_t *origin_of(int n)
{
    static uint8_t o[4][WEFT_CRDT_ORIGIN_LEN];
    memset(o[n], 0xa0 + n, WEFT_CRDT_ORIGIN_LEN);
    return o[n];
}

#define CTX C("app")

/* ---- one-liners for local ops (each its own committed transaction) ---- */

static int local(weft_db_t *db, int node, uint64_t wall, const char *key, uint8_t type,
                 uint8_t kind, const weft_crdt_input_t *in, weft_crdt_id_t *out_id)
{
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    int rc = weft_crdt_local(t, origin_of(node), wall, CTX, C(key), type, kind, in, out_id, NULL);
    if (rc == 0)
        return weft_txn_commit(t);
    weft_txn_abort(t);
    return rc;
}

static void inc(weft_db_t *db, int node, uint64_t wall, const char *key, uint8_t type,
                uint8_t kind, uint64_t delta)
{
    weft_crdt_input_t in = {.delta = delta};
    ASSERT_EQ_INT(local(db, node, wall, key, type, kind, &in, NULL), 0);
}

static void map_set(weft_db_t *db, int node, uint64_t wall, const char *field, const char *val)
{
    weft_crdt_input_t in = {.field = (const uint8_t *)field, .field_len = strlen(field),
                            .value = (const uint8_t *)val, .value_len = strlen(val)};
    ASSERT_EQ_INT(local(db, node, wall, "m", WEFT_CRDT_LWW_MAP, WEFT_CRDT_MAP_SET, &in, NULL), 0);
}

static void set_op(weft_db_t *db, int node, uint64_t wall, uint8_t kind, const char *elem)
{
    weft_crdt_input_t in = {.value = (const uint8_t *)elem, .value_len = strlen(elem)};
    ASSERT_EQ_INT(local(db, node, wall, "s", WEFT_CRDT_ORSET, kind, &in, NULL), 0);
}

/* ---- reading back ---------------------------------------------------- */

static void delete_state(void *st)
{
    weft_crdt_state_delete(st);
}

static weft_crdt_state_t *read_state(weft_db_t *db, const char *key, uint8_t type)
{
    weft_txn_t *t = begin(db, WEFT_TXN_READ);
    weft_crdt_state_t *st = NULL;
    int rc = weft_crdt_read(t, CTX, C(key), type, &st);
    weft_txn_abort(t);
    ASSERT_EQ_INT(rc, 0);
    test_defer(delete_state, st);
    return st;
}

static uint64_t gcounter(weft_db_t *db, const char *key)
{
    uint64_t v = 0;
    ASSERT_EQ_INT(weft_crdt_gcounter_value(read_state(db, key, WEFT_CRDT_GCOUNTER), &v), 0);
    return v;
}

static int64_t pncounter(weft_db_t *db, const char *key)
{
    int64_t v = 0;
    ASSERT_EQ_INT(weft_crdt_pncounter_value(read_state(db, key, WEFT_CRDT_PNCOUNTER), &v), 0);
    return v;
}

/* The encoded state of key as stored (a map's or set's parts assembled),
 * copied into out (cap bytes); its size. */
static size_t raw_state(weft_db_t *db, const char *key, uint8_t *out, size_t cap)
{
    weft_crdt_state_t *st = read_state(db, key, 0);
    uint8_t *enc = NULL;
    size_t n = 0;
    ASSERT_EQ_INT(weft_crdt_state_encode(st, &enc, &n), 0);
    if (n <= cap)
        memcpy(out, enc, n);
    free(enc);
    ASSERT_TRUE(n <= cap);
    return n;
}

static void assert_same_state(weft_db_t *a, weft_db_t *b, const char *key)
{
    static uint8_t ba[65536], bb[65536];
    size_t na = raw_state(a, key, ba, sizeof ba);
    size_t nb = raw_state(b, key, bb, sizeof bb);
    ASSERT_EQ_U64(na, nb);
    ASSERT_EQ_MEM(ba, bb, na);
}

typedef struct {
    weft_crdt_id_t v[8];
    size_t n;
} vv_t;

static int vv_add(void *user, const uint8_t origin[WEFT_CRDT_ORIGIN_LEN], uint64_t seq)
{
    vv_t *vv = user;
    if (vv->n == 8)
        return 1;
    memcpy(vv->v[vv->n].origin, origin, WEFT_CRDT_ORIGIN_LEN);
    vv->v[vv->n++].seq = seq;
    return 0;
}

static vv_t version_vector(weft_db_t *db)
{
    vv_t vv = {.n = 0};
    weft_txn_t *t = begin(db, WEFT_TXN_READ);
    int rc = weft_crdt_version_vector(t, CTX, vv_add, &vv);
    weft_txn_abort(t);
    ASSERT_EQ_INT(rc, 0);
    return vv;
}

/* The mark of origin node in vv, 0 when absent. */
static uint64_t mark_of(const vv_t *vv, int node)
{
    for (size_t i = 0; i < vv->n; i++)
        if (memcmp(vv->v[i].origin, origin_of(node), WEFT_CRDT_ORIGIN_LEN) == 0)
            return vv->v[i].seq;
    return 0;
}

/* Ops copied out of a weft_crdt_missing stream. */
typedef struct {
    uint8_t *op[256];
    size_t len[256];
    size_t n;
    int overflow;
} ops_t;

static int ops_add(void *user, const uint8_t *bytes, size_t len)
{
    ops_t *o = user;
    if (o->n == 256 || !(o->op[o->n] = malloc(len ? len : 1))) {
        o->overflow = 1;
        return 1;
    }
    memcpy(o->op[o->n], bytes, len);
    o->len[o->n++] = len;
    return 0;
}

static void ops_free(void *arg)
{
    ops_t *o = arg;
    for (size_t i = 0; i < o->n; i++)
        free(o->op[i]);
    free(o);
}

/* What `from` has that a peer with version vector vv lacks. */
static ops_t *missing(weft_db_t *from, const vv_t *vv)
{
    ops_t *o = calloc(1, sizeof *o);
    ASSERT_NOT_NULL(o);
    test_defer(ops_free, o);
    weft_txn_t *t = begin(from, WEFT_TXN_READ);
    int rc = weft_crdt_missing(t, CTX, vv->v, vv->n, ops_add, o);
    weft_txn_abort(t);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_FALSE(o->overflow);
    return o;
}

static void apply_all(weft_db_t *to, const ops_t *o, uint64_t wall)
{
    weft_txn_t *t = begin(to, WEFT_TXN_WRITE);
    for (size_t i = 0; i < o->n; i++) {
        int rc = weft_crdt_apply_remote(t, o->op[i], o->len[i], wall);
        if (rc != 0) {
            weft_txn_abort(t);
            FAIL("apply_remote op %zu: %d", i, rc);
        }
    }
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
}

/* One anti-entropy round from -> to; returns how many ops moved. */
static size_t sync_once(weft_db_t *from, weft_db_t *to, uint64_t wall)
{
    vv_t vv = version_vector(to);
    ops_t *o = missing(from, &vv);
    apply_all(to, o, wall);
    return o->n;
}

static weft_crdt_node_t load_node(weft_db_t *db, int node)
{
    weft_crdt_node_t n;
    weft_txn_t *t = begin(db, WEFT_TXN_READ);
    int rc = weft_crdt_node_load(t, CTX, origin_of(node), &n);
    weft_txn_abort(t);
    ASSERT_EQ_INT(rc, 0);
    return n;
}

/* ---- tests ----------------------------------------------------------- */

TEST(local_ops_persist_across_reopen)
{
    char *dir = tmpdir_new("crdt-store");
    weft_db_t *db = open_dir(dir);
    inc(db, 0, 1000, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 3);
    inc(db, 0, 1001, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 4);
    map_set(db, 0, 1002, "color", "blue");
    weft_db_close(db);

    db = open_dir(dir);
    test_defer(close_db, db);
    ASSERT_EQ_U64(gcounter(db, "g"), 7);
    const uint8_t *v = NULL;
    size_t n = 0;
    ASSERT_EQ_INT(weft_crdt_map_get(read_state(db, "m", WEFT_CRDT_LWW_MAP), C("color"), &v, &n), 0);
    ASSERT_EQ_U64(n, 4);
    ASSERT_EQ_MEM(v, "blue", 4);

    vv_t vv = version_vector(db);
    ASSERT_EQ_U64(vv.n, 1);
    ASSERT_EQ_U64(mark_of(&vv, 0), 3);
    weft_crdt_node_t node = load_node(db, 0);
    ASSERT_EQ_U64(node.next_seq, 4);
    ASSERT_EQ_U64(WEFT_HLC_MS(node.hlc.last), 1002);

    vv_t none = {.n = 0};
    ops_t *log = missing(db, &none);
    ASSERT_EQ_U64(log->n, 3);
    for (size_t i = 0; i < log->n; i++) {
        weft_crdt_op_t op;
        ASSERT_EQ_INT(weft_crdt_op_decode(log->op[i], log->len[i], &op), 0);
        ASSERT_EQ_U64(op.seq, i + 1);
        ASSERT_EQ_MEM(op.origin, origin_of(0), WEFT_CRDT_ORIGIN_LEN);
    }
}

TEST(aborted_txn_leaves_nothing)
{
    weft_db_t *db = open_node();
    inc(db, 0, 1000, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 5);
    weft_crdt_node_t before = load_node(db, 0);

    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    weft_crdt_input_t in = {.delta = 9};
    ASSERT_EQ_INT(weft_crdt_local(t, origin_of(0), 5000, CTX, C("g"), WEFT_CRDT_GCOUNTER,
                                  WEFT_CRDT_INC, &in, NULL, NULL), 0);
    weft_crdt_input_t s = {.value = (const uint8_t *)"x", .value_len = 1};
    ASSERT_EQ_INT(weft_crdt_local(t, origin_of(0), 5000, CTX, C("s"), WEFT_CRDT_ORSET,
                                  WEFT_CRDT_ADD, &s, NULL, NULL), 0);
    weft_txn_abort(t);

    ASSERT_EQ_U64(gcounter(db, "g"), 5);
    weft_txn_t *r = begin(db, WEFT_TXN_READ);
    weft_crdt_state_t *st = NULL;
    ASSERT_EQ_INT(weft_crdt_read(r, CTX, C("s"), WEFT_CRDT_ORSET, &st), WEFT_ENOTFOUND);
    weft_txn_abort(r);
    ASSERT_NULL(st);
    vv_t none = {.n = 0};
    ASSERT_EQ_U64(missing(db, &none)->n, 1);
    weft_crdt_node_t after = load_node(db, 0);
    ASSERT_EQ_U64(after.next_seq, before.next_seq);
    ASSERT_EQ_U64(after.hlc.last, before.hlc.last);

    /* The seq the aborted call used is handed out again. */
    weft_crdt_id_t id;
    set_op(db, 0, 6000, WEFT_CRDT_ADD, "y");
    weft_crdt_input_t y = {.value = (const uint8_t *)"z", .value_len = 1};
    ASSERT_EQ_INT(local(db, 0, 6001, "s", WEFT_CRDT_ORSET, WEFT_CRDT_ADD, &y, &id), 0);
    ASSERT_EQ_U64(id.seq, 3);
}

TEST(type_mismatch_and_bad_kind_are_earg)
{
    weft_db_t *db = open_node();
    inc(db, 0, 1000, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 1);
    weft_crdt_input_t in = {.value = (const uint8_t *)"v", .value_len = 1};
    ASSERT_EQ_INT(local(db, 0, 1001, "g", WEFT_CRDT_LWW_REG, WEFT_CRDT_SET, &in, NULL),
                  WEFT_EARG);
    ASSERT_EQ_INT(local(db, 0, 1001, "r", WEFT_CRDT_LWW_REG, WEFT_CRDT_ADD, &in, NULL),
                  WEFT_EARG);
    ASSERT_EQ_INT(local(db, 0, 1001, "r", WEFT_CRDT_RGA, WEFT_CRDT_DELETE, &in, NULL),
                  WEFT_EARG);
    weft_txn_t *r = begin(db, WEFT_TXN_READ);
    weft_crdt_state_t *st = NULL;
    ASSERT_EQ_INT(weft_crdt_read(r, CTX, C("g"), WEFT_CRDT_ORSET, &st), WEFT_EARG);
    ASSERT_EQ_INT(weft_crdt_read(r, CTX, C("g"), 0, &st), 0);
    weft_txn_abort(r);
    ASSERT_EQ_INT(weft_crdt_state_type(st), WEFT_CRDT_GCOUNTER);
    weft_crdt_state_delete(st);
    ASSERT_EQ_U64(load_node(db, 0).next_seq, 2);
}

static int count_key(void *user, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (*(size_t *)user)++;
    return 0;
}

/* Two nodes create "x" at once, A an ORSet (later), B a GCounter (earlier
 * by stamp): after syncing both ways both hold B's counter, every op is
 * logged and every mark advanced (no origin is stuck on the other's op),
 * and A's set parts are gone. Before the rule, A's op at B (and B's at A)
 * was refused with WEFT_EARG forever. */
TEST(concurrent_types_earliest_op_wins_everywhere)
{
    weft_db_t *a = open_node(), *b = open_node();
    weft_crdt_input_t e = {.value = (const uint8_t *)"e", .value_len = 1};
    weft_crdt_input_t f = {.value = (const uint8_t *)"f", .value_len = 1};
    size_t parts = 0;
    ASSERT_EQ_INT(local(a, 0, 2000, "x", WEFT_CRDT_ORSET, WEFT_CRDT_ADD, &e, NULL), 0);
    ASSERT_EQ_INT(local(a, 0, 2001, "x", WEFT_CRDT_ORSET, WEFT_CRDT_ADD, &f, NULL), 0);
    inc(b, 1, 1000, "x", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 5);
    ASSERT_EQ_U64(sync_once(a, b, 3000), 2); /* later: logged, no effect */
    ASSERT_EQ_U64(gcounter(b, "x"), 5);
    ASSERT_EQ_U64(sync_once(b, a, 3000), 1); /* earlier: A's state rebuilt */
    ASSERT_EQ_U64(gcounter(a, "x"), 5);
    assert_same_state(a, b, "x");
    vv_t va = version_vector(a), vb = version_vector(b);
    ASSERT_EQ_U64(mark_of(&va, 0), 2);
    ASSERT_EQ_U64(mark_of(&va, 1), 1);
    ASSERT_EQ_U64(mark_of(&vb, 0), 2);
    ASSERT_EQ_U64(mark_of(&vb, 1), 1);
    weft_txn_t *t = begin(a, WEFT_TXN_READ);
    ASSERT_EQ_INT(weft_txn_scan(t, WEFT_SPACE_CRDT_PARTS, CTX, NULL, 0, NULL, 0, count_key, &parts),
                  0);
    weft_txn_abort(t);
    ASSERT_EQ_U64(parts, 0);
    /* the key is a counter now, on both */
    ASSERT_EQ_INT(local(a, 0, 4000, "x", WEFT_CRDT_ORSET, WEFT_CRDT_ADD, &e, NULL), WEFT_EARG);
    inc(a, 0, 4001, "x", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 2);
    ASSERT_EQ_U64(sync_once(a, b, 5000), 1);
    ASSERT_EQ_U64(gcounter(b, "x"), 7);
    assert_same_state(a, b, "x");
}

TEST(two_nodes_converge)
{
    weft_db_t *a = open_node(), *b = open_node();

    /* Concurrent writes on both nodes, no sync in between. */
    inc(a, 0, 1000, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 3);
    inc(b, 1, 1000, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 4);
    inc(a, 0, 1001, "p", WEFT_CRDT_PNCOUNTER, WEFT_CRDT_INC, 10);
    inc(b, 1, 1001, "p", WEFT_CRDT_PNCOUNTER, WEFT_CRDT_DEC, 4);
    map_set(a, 0, 1002, "color", "red");
    map_set(b, 1, 1003, "color", "green"); /* later HLC: wins */
    map_set(a, 0, 1004, "size", "L");
    set_op(a, 0, 1005, WEFT_CRDT_ADD, "x");
    set_op(b, 1, 1005, WEFT_CRDT_ADD, "x");
    set_op(b, 1, 1006, WEFT_CRDT_ADD, "y");
    set_op(a, 0, 1007, WEFT_CRDT_REMOVE, "x"); /* removes only a's tag: add wins */

    ASSERT_EQ_U64(sync_once(a, b, 2000), 6);
    ASSERT_EQ_U64(sync_once(b, a, 2000), 5);
    ASSERT_EQ_U64(sync_once(a, b, 2001), 0);
    ASSERT_EQ_U64(sync_once(b, a, 2001), 0);

    assert_same_state(a, b, "g");
    assert_same_state(a, b, "p");
    assert_same_state(a, b, "m");
    assert_same_state(a, b, "s");
    ASSERT_EQ_U64(gcounter(a, "g"), 7);
    ASSERT_EQ_INT(pncounter(b, "p"), 6);
    const uint8_t *v = NULL;
    size_t n = 0;
    ASSERT_EQ_INT(weft_crdt_map_get(read_state(a, "m", WEFT_CRDT_LWW_MAP), C("color"), &v, &n), 0);
    ASSERT_EQ_U64(n, 5);
    ASSERT_EQ_MEM(v, "green", 5);
    weft_crdt_state_t *s = read_state(b, "s", WEFT_CRDT_ORSET);
    ASSERT_EQ_INT(weft_crdt_orset_contains(s, C("x")), 1);
    ASSERT_EQ_INT(weft_crdt_orset_contains(s, C("y")), 1);

    /* Both version vectors: a -> 6, b -> 5. */
    vv_t va = version_vector(a), vb = version_vector(b);
    ASSERT_EQ_U64(va.n, 2);
    ASSERT_EQ_U64(vb.n, 2);
    ASSERT_EQ_U64(mark_of(&va, 0), 6);
    ASSERT_EQ_U64(mark_of(&va, 1), 5);
    ASSERT_EQ_U64(mark_of(&vb, 0), 6);
    ASSERT_EQ_U64(mark_of(&vb, 1), 5);

    /* More writes after the sync: b's counter ops continue its own totals. */
    inc(b, 1, 3000, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 1);
    set_op(b, 1, 3001, WEFT_CRDT_REMOVE, "x"); /* now sees both tags */
    ASSERT_EQ_U64(sync_once(b, a, 3002), 2);
    assert_same_state(a, b, "g");
    assert_same_state(a, b, "s");
    ASSERT_EQ_U64(gcounter(a, "g"), 8);
    ASSERT_EQ_INT(weft_crdt_orset_contains(read_state(a, "s", WEFT_CRDT_ORSET), C("x")), 0);
}

TEST(three_nodes_relay_converge)
{
    /* c learns a's ops through b: the op-log relays others' ops too. */
    weft_db_t *a = open_node(), *b = open_node(), *c = open_node();
    inc(a, 0, 1000, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 2);
    inc(b, 1, 1000, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 5);
    inc(c, 2, 1000, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 7);
    ASSERT_EQ_U64(sync_once(a, b, 1100), 1);
    ASSERT_EQ_U64(sync_once(b, c, 1100), 2);
    ASSERT_EQ_U64(sync_once(c, a, 1100), 2);
    ASSERT_EQ_U64(sync_once(a, b, 1100), 1);
    assert_same_state(a, b, "g");
    assert_same_state(b, c, "g");
    ASSERT_EQ_U64(gcounter(c, "g"), 14);
}

TEST(duplicates_ignored_gaps_refused)
{
    weft_db_t *a = open_node(), *b = open_node();
    inc(a, 0, 1000, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 3);
    inc(a, 0, 1001, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 4);
    inc(a, 0, 1002, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 5);
    vv_t none = {.n = 0};
    ops_t *o = missing(a, &none);
    ASSERT_EQ_U64(o->n, 3);

    /* Op 3 before op 2: a gap, refused. */
    weft_txn_t *t = begin(b, WEFT_TXN_WRITE);
    ASSERT_EQ_INT(weft_crdt_apply_remote(t, o->op[0], o->len[0], 2000), 0);
    ASSERT_EQ_INT(weft_crdt_apply_remote(t, o->op[2], o->len[2], 2000), WEFT_EARG);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    ASSERT_EQ_U64(gcounter(b, "g"), 3);

    apply_all(b, o, 2000); /* op 1 again is a duplicate, then 2 and 3 */
    static uint8_t before[4096];
    size_t nb = raw_state(b, "g", before, sizeof before);
    vv_t vv1 = version_vector(b);
    weft_crdt_node_t n1 = load_node(b, 1);

    apply_all(b, o, 9999); /* all duplicates: nothing changes, not even the clock */
    assert_same_state(a, b, "g");
    static uint8_t after[4096];
    ASSERT_EQ_U64(raw_state(b, "g", after, sizeof after), nb);
    ASSERT_EQ_MEM(after, before, nb);
    vv_t vv2 = version_vector(b);
    ASSERT_EQ_U64(vv2.n, 1);
    ASSERT_EQ_U64(mark_of(&vv1, 0), 3);
    ASSERT_EQ_U64(mark_of(&vv2, 0), 3);
    ASSERT_EQ_U64(load_node(b, 1).hlc.last, n1.hlc.last);
    ASSERT_EQ_U64(missing(b, &none)->n, 3);
    ASSERT_EQ_U64(gcounter(b, "g"), 12);

    /* Garbage is malformed, not applied. */
    t = begin(b, WEFT_TXN_WRITE);
    ASSERT_EQ_INT(weft_crdt_apply_remote(t, (const uint8_t *)"\x01\x02", 2, 2000),
                  WEFT_EMALFORMED);
    weft_txn_abort(t);
}

TEST(missing_respects_peer_marks)
{
    weft_db_t *a = open_node();
    for (int i = 0; i < 5; i++)
        inc(a, 0, 1000 + (uint64_t)i, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 1);
    vv_t peer = {.n = 1};
    memcpy(peer.v[0].origin, origin_of(0), WEFT_CRDT_ORIGIN_LEN);
    peer.v[0].seq = 3;
    ops_t *o = missing(a, &peer);
    ASSERT_EQ_U64(o->n, 2);
    weft_crdt_op_t op;
    ASSERT_EQ_INT(weft_crdt_op_decode(o->op[0], o->len[0], &op), 0);
    ASSERT_EQ_U64(op.seq, 4);
    peer.v[0].seq = 5;
    ASSERT_EQ_U64(missing(a, &peer)->n, 0);
}

TEST(local_hlc_after_remote_op)
{
    weft_db_t *a = open_node(), *b = open_node();
    /* a's clock runs an hour ahead of b's. */
    inc(a, 0, 3600000 + 1000, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 1);
    vv_t none = {.n = 0};
    ops_t *o = missing(a, &none);
    weft_crdt_op_t remote;
    ASSERT_EQ_INT(weft_crdt_op_decode(o->op[0], o->len[0], &remote), 0);

    apply_all(b, o, 1000);
    ASSERT_TRUE(load_node(b, 1).hlc.last > remote.hlc);
    map_set(b, 1, 1001, "k", "v");
    vv_t only_a = version_vector(a);
    ops_t *mine = missing(b, &only_a);
    ASSERT_EQ_U64(mine->n, 1);
    weft_crdt_op_t local_op;
    ASSERT_EQ_INT(weft_crdt_op_decode(mine->op[0], mine->len[0], &local_op), 0);
    ASSERT_GT_U64(local_op.hlc, remote.hlc);
    ASSERT_EQ_U64(local_op.seq, 1);
}

TEST(rga_insert_returns_element_id)
{
    weft_db_t *a = open_node(), *b = open_node();
    weft_crdt_id_t first, second;
    weft_crdt_input_t in = {.value = (const uint8_t *)"h", .value_len = 1};
    ASSERT_EQ_INT(local(a, 0, 1000, "t", WEFT_CRDT_RGA, WEFT_CRDT_INSERT, &in, &first), 0);
    in.value = (const uint8_t *)"i";
    in.target = &first;
    ASSERT_EQ_INT(local(a, 0, 1001, "t", WEFT_CRDT_RGA, WEFT_CRDT_INSERT, &in, &second), 0);
    ASSERT_EQ_U64(first.seq, 1);
    ASSERT_EQ_U64(second.seq, 2);
    weft_crdt_input_t del = {.target = &first};
    ASSERT_EQ_INT(local(a, 0, 1002, "t", WEFT_CRDT_RGA, WEFT_CRDT_DELETE, &del, NULL), 0);
    ASSERT_EQ_U64(sync_once(a, b, 1003), 3);
    assert_same_state(a, b, "t");
    weft_crdt_state_t *st = read_state(b, "t", WEFT_CRDT_RGA);
    ASSERT_EQ_INT(weft_crdt_rga_contains(st, &second), 1);
    uint8_t buf[64];
    size_t n = 0;
    ASSERT_EQ_INT(weft_crdt_rga_values(st, buf, sizeof buf, &n), 0);
    ASSERT_EQ_U64(n, 9); /* count 1, len 1, "i" */
    ASSERT_EQ_INT(buf[8], 'i');
}

/* ---- parted states (map fields, set elements kept apart) -------------- */

/* The number of records under the part-key range of key. */
static int count_visit(void *user, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)k, (void)kl, (void)v, (void)vl;
    (*(size_t *)user)++;
    return 0;
}

static size_t part_records(weft_db_t *db, const char *key)
{
    uint8_t pre[2 + 64];
    size_t kl = strlen(key), n = 0;
    pre[0] = (uint8_t)(kl >> 8);
    pre[1] = (uint8_t)kl;
    memcpy(pre + 2, key, kl);
    weft_txn_t *t = begin(db, WEFT_TXN_READ);
    int rc = weft_txn_scan(t, WEFT_SPACE_CRDT_PARTS, CTX, pre, 2 + kl, NULL, 0, count_visit, &n);
    weft_txn_abort(t);
    ASSERT_EQ_INT(rc, 0);
    return n;
}

TEST(map_and_set_keep_one_record_per_part)
{
    weft_db_t *db = open_node();
    weft_crdt_state_t *model = NULL;
    char f[16], v[16];
    ASSERT_EQ_INT(weft_crdt_state_new(WEFT_CRDT_LWW_MAP, &model), 0);
    test_defer(delete_state, model);
    for (int i = 0; i < 200; i++) {
        snprintf(f, sizeof f, "f%03d", (i * 37) % 150);
        snprintf(v, sizeof v, "v%d", i);
        map_set(db, 0, 1000 + (uint64_t)i, f, v);
    }
    weft_crdt_input_t rm = {.field = (const uint8_t *)"f007", .field_len = 4};
    ASSERT_EQ_INT(local(db, 0, 2000, "m", WEFT_CRDT_LWW_MAP, WEFT_CRDT_MAP_REMOVE, &rm, NULL), 0);
    ASSERT_EQ_U64(part_records(db, "m"), 150);
    /* the header is small and holds no field */
    weft_txn_t *t = begin(db, WEFT_TXN_READ);
    const uint8_t *hv;
    size_t hn;
    ASSERT_EQ_INT(weft_txn_get(t, WEFT_SPACE_CRDT, CTX, C("m"), &hv, &hn), 0);
    ASSERT_TRUE(hn <= 4);
    weft_txn_abort(t);

    /* the assembled state equals the library's, fed the op-log */
    vv_t none = {.n = 0};
    ops_t *o = missing(db, &none);
    ASSERT_EQ_U64(o->n, 201);
    for (size_t i = 0; i < o->n; i++) {
        weft_crdt_op_t op;
        ASSERT_EQ_INT(weft_crdt_op_decode(o->op[i], o->len[i], &op), 0);
        ASSERT_EQ_INT(weft_crdt_apply(model, &op), 0);
    }
    static uint8_t got[65536];
    uint8_t *want;
    size_t want_len, got_len = raw_state(db, "m", got, sizeof got);
    ASSERT_EQ_INT(weft_crdt_state_encode(model, &want, &want_len), 0);
    ASSERT_EQ_U64(got_len, want_len);
    ASSERT_EQ_MEM(got, want, want_len);
    free(want);

    /* a set: one record per element, removes included */
    set_op(db, 0, 3000, WEFT_CRDT_ADD, "a");
    set_op(db, 0, 3001, WEFT_CRDT_ADD, "b");
    set_op(db, 0, 3002, WEFT_CRDT_ADD, "a");
    set_op(db, 0, 3003, WEFT_CRDT_REMOVE, "a");
    ASSERT_EQ_U64(part_records(db, "s"), 2);
    ASSERT_EQ_INT(weft_crdt_orset_contains(read_state(db, "s", WEFT_CRDT_ORSET), C("a")), 0);
    ASSERT_EQ_INT(weft_crdt_orset_contains(read_state(db, "s", WEFT_CRDT_ORSET), C("b")), 1);
}

TEST(read_part_loads_only_its_part)
{
    weft_db_t *db = open_node();
    map_set(db, 0, 1000, "a", "1");
    map_set(db, 0, 1001, "b", "2");
    map_set(db, 0, 1002, "ab", "3");
    weft_txn_t *t = begin(db, WEFT_TXN_READ);
    weft_crdt_state_t *st = NULL;
    const uint8_t *v;
    size_t n;
    ASSERT_EQ_INT(weft_crdt_read_part(t, CTX, C("m"), WEFT_CRDT_LWW_MAP, C("ab"), &st), 0);
    ASSERT_EQ_U64(weft_crdt_parts(st), 1);
    ASSERT_EQ_INT(weft_crdt_map_get(st, C("ab"), &v, &n), 0);
    ASSERT_EQ_MEM(v, "3", 1);
    weft_crdt_state_delete(st);
    /* an absent field: the map, with nothing in it */
    ASSERT_EQ_INT(weft_crdt_read_part(t, CTX, C("m"), WEFT_CRDT_LWW_MAP, C("zz"), &st), 0);
    ASSERT_EQ_U64(weft_crdt_parts(st), 0);
    ASSERT_EQ_INT(weft_crdt_map_contains(st, C("zz")), 0);
    weft_crdt_state_delete(st);
    /* an absent key, and a key of another type */
    ASSERT_EQ_INT(weft_crdt_read_part(t, CTX, C("none"), WEFT_CRDT_LWW_MAP, C("a"), &st),
                  WEFT_ENOTFOUND);
    ASSERT_EQ_INT(weft_crdt_read_part(t, CTX, C("m"), WEFT_CRDT_ORSET, C("a"), &st), WEFT_EARG);
    ASSERT_NULL(st);
    weft_txn_abort(t);
    /* the set type cannot take over a map key either */
    weft_crdt_input_t in = {.value = (const uint8_t *)"a", .value_len = 1};
    ASSERT_EQ_INT(local(db, 0, 1003, "m", WEFT_CRDT_ORSET, WEFT_CRDT_ADD, &in, NULL), WEFT_EARG);
}

TEST(longest_key_and_field_parts)
{
    /* 1024-byte key and 1024-byte fields: part keys past LMDB's 511 bytes */
    weft_db_t *db = open_node();
    static char key[WEFT_CRDT_KEY_MAX + 1], f1[WEFT_CRDT_FIELD_MAX + 1],
        f2[WEFT_CRDT_FIELD_MAX + 1];
    memset(key, 'k', WEFT_CRDT_KEY_MAX);
    memset(f1, 'f', WEFT_CRDT_FIELD_MAX);
    memset(f2, 'f', WEFT_CRDT_FIELD_MAX);
    f2[WEFT_CRDT_FIELD_MAX - 1] = 'e'; /* sorts first; same 480-byte head */
    for (int i = 0; i < 2; i++) {
        weft_crdt_input_t in = {.field = (const uint8_t *)(i ? f2 : f1),
                                .field_len = WEFT_CRDT_FIELD_MAX,
                                .value = (const uint8_t *)(i ? "two" : "one"),
                                .value_len = 3};
        ASSERT_EQ_INT(local(db, 0, 1000 + (uint64_t)i, key, WEFT_CRDT_LWW_MAP, WEFT_CRDT_MAP_SET,
                            &in, NULL), 0);
    }
    weft_crdt_input_t big = {.field = (const uint8_t *)f1, .field_len = WEFT_CRDT_FIELD_MAX + 1};
    ASSERT_EQ_INT(local(db, 0, 1002, key, WEFT_CRDT_LWW_MAP, WEFT_CRDT_MAP_REMOVE, &big, NULL),
                  WEFT_EARG);
    uint8_t out[4096];
    size_t n;
    weft_crdt_state_t *st = read_state(db, key, WEFT_CRDT_LWW_MAP);
    ASSERT_EQ_U64(weft_crdt_parts(st), 2);
    ASSERT_EQ_INT(weft_crdt_map_entries(st, out, sizeof out, &n), 0);
    ASSERT_EQ_U64(n, 4 + 2 * (4 + WEFT_CRDT_FIELD_MAX + 4 + 3));
    ASSERT_EQ_MEM(out + 8 + WEFT_CRDT_FIELD_MAX + 4, "two", 3); /* f2 sorts first */
}

TEST(corrupt_part_is_emalformed)
{
    weft_db_t *db = open_node();
    map_set(db, 0, 1000, "a", "1");
    map_set(db, 0, 1001, "b", "2");
    /* the record of "b" holds the encoding of "a": a misfiled part */
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    const uint8_t *v;
    size_t n;
    uint8_t ka[] = {0, 1, 'm', 'a'}, kb[] = {0, 1, 'm', 'b'}, copy[256];
    ASSERT_EQ_INT(weft_txn_get(t, WEFT_SPACE_CRDT_PARTS, CTX, ka, sizeof ka, &v, &n), 0);
    ASSERT_TRUE(n <= sizeof copy);
    memcpy(copy, v, n);
    ASSERT_EQ_INT(weft_txn_put(t, WEFT_SPACE_CRDT_PARTS, CTX, kb, sizeof kb, copy, n), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    t = begin(db, WEFT_TXN_READ);
    weft_crdt_state_t *st = NULL;
    ASSERT_EQ_INT(weft_crdt_read(t, CTX, C("m"), WEFT_CRDT_LWW_MAP, &st), WEFT_EMALFORMED);
    ASSERT_EQ_INT(weft_crdt_read_part(t, CTX, C("m"), WEFT_CRDT_LWW_MAP, C("b"), &st),
                  WEFT_EMALFORMED);
    ASSERT_EQ_INT(weft_crdt_read_part(t, CTX, C("m"), WEFT_CRDT_LWW_MAP, C("a"), &st), 0);
    weft_crdt_state_delete(st);
    weft_txn_abort(t);
    /* garbage bytes */
    t = begin(db, WEFT_TXN_WRITE);
    ASSERT_EQ_INT(weft_txn_put(t, WEFT_SPACE_CRDT_PARTS, CTX, kb, sizeof kb, C("\x02\x04zz")), 0);
    ASSERT_EQ_INT(weft_crdt_read(t, CTX, C("m"), WEFT_CRDT_LWW_MAP, &st), WEFT_EMALFORMED);
    weft_crdt_input_t in = {.field = (const uint8_t *)"b", .field_len = 1};
    ASSERT_EQ_INT(weft_crdt_local(t, origin_of(0), 1002, CTX, C("m"), WEFT_CRDT_LWW_MAP,
                                  WEFT_CRDT_MAP_REMOVE, &in, NULL, NULL), WEFT_EMALFORMED);
    weft_txn_abort(t);
}

TEST(parts_roll_back_and_drop_with_context)
{
    weft_db_t *db = open_node();
    map_set(db, 0, 1000, "a", "1");
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    weft_crdt_input_t in = {.field = (const uint8_t *)"b", .field_len = 1,
                            .value = (const uint8_t *)"2", .value_len = 1};
    ASSERT_EQ_INT(weft_crdt_local(t, origin_of(0), 1001, CTX, C("m"), WEFT_CRDT_LWW_MAP,
                                  WEFT_CRDT_MAP_SET, &in, NULL, NULL), 0);
    weft_txn_abort(t);
    ASSERT_EQ_U64(part_records(db, "m"), 1);
    t = begin(db, WEFT_TXN_WRITE);
    ASSERT_EQ_INT(weft_txn_drop_context(t, WEFT_SPACE_COUNT, CTX), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    ASSERT_EQ_U64(part_records(db, "m"), 0);
}

TEST(rga_local_op_on_unknown_element_is_enotfound)
{
    weft_db_t *db = open_node();
    weft_crdt_id_t first, ghost;
    weft_crdt_input_t ins = {.value = (const uint8_t *)"a", .value_len = 1};
    ASSERT_EQ_INT(local(db, 0, 1000, "r", WEFT_CRDT_RGA, WEFT_CRDT_INSERT, &ins, &first), 0);
    ghost = first;
    ghost.seq = 99;
    weft_crdt_input_t after = {.value = (const uint8_t *)"b", .value_len = 1, .target = &ghost};
    ASSERT_EQ_INT(local(db, 0, 1001, "r", WEFT_CRDT_RGA, WEFT_CRDT_INSERT, &after, NULL),
                  WEFT_ENOTFOUND);
    weft_crdt_input_t del = {.target = &ghost};
    ASSERT_EQ_INT(local(db, 0, 1002, "r", WEFT_CRDT_RGA, WEFT_CRDT_DELETE, &del, NULL),
                  WEFT_ENOTFOUND);
    ASSERT_EQ_U64(load_node(db, 0).next_seq, 2); /* no seq used, nothing pending */
    ASSERT_EQ_U64(weft_crdt_state_entries(read_state(db, "r", WEFT_CRDT_RGA)), 1);
    after.target = &first;
    ASSERT_EQ_INT(local(db, 0, 1003, "r", WEFT_CRDT_RGA, WEFT_CRDT_INSERT, &after, NULL), 0);
}

/* The visible values of RGA key as one string (values are one byte). */
static const char *rga_string(weft_db_t *db, const char *key, char *out)
{
    uint8_t buf[256];
    size_t n, o = 0;
    ASSERT_EQ_INT(weft_crdt_rga_values(read_state(db, key, WEFT_CRDT_RGA), buf, sizeof buf, &n), 0);
    for (size_t pos = 4; pos + 5 <= n; pos += 5)
        out[o++] = (char)buf[pos + 4];
    out[o] = 0;
    return out;
}

static weft_crdt_id_t rga_put(weft_db_t *db, int node, uint64_t wall, const weft_crdt_id_t *after,
                              const char *v)
{
    weft_crdt_id_t id;
    weft_crdt_input_t in = {.value = (const uint8_t *)v, .value_len = 1, .target = after};
    ASSERT_EQ_INT(local(db, node, wall, "r", WEFT_CRDT_RGA, WEFT_CRDT_INSERT, &in, &id), 0);
    return id;
}

TEST(rga_two_nodes_converge_element_by_element)
{
    weft_db_t *a = open_node(), *b = open_node();
    char sa[64], sb[64];
    weft_crdt_id_t h = rga_put(a, 0, 1000, NULL, "H");
    ASSERT_EQ_U64(sync_once(a, b, 1001), 1);
    /* concurrent runs after H on both nodes, and a delete of H on b */
    weft_crdt_id_t a1 = rga_put(a, 0, 1002, &h, "a");
    rga_put(a, 0, 1003, &a1, "b");
    weft_crdt_id_t b1 = rga_put(b, 1, 1002, &h, "x");
    rga_put(b, 1, 1003, &b1, "y");
    weft_crdt_input_t del = {.target = &h};
    ASSERT_EQ_INT(local(b, 1, 1004, "r", WEFT_CRDT_RGA, WEFT_CRDT_DELETE, &del, NULL), 0);
    /* one record per element, none per delete */
    ASSERT_EQ_U64(part_records(a, "r"), 3);
    ASSERT_EQ_U64(part_records(b, "r"), 3);
    ASSERT_EQ_U64(sync_once(a, b, 2000), 2);
    ASSERT_EQ_U64(sync_once(b, a, 2000), 3);
    assert_same_state(a, b, "r");
    ASSERT_EQ_STR(rga_string(a, "r", sa), rga_string(b, "r", sb));
    ASSERT_EQ_U64(strlen(sa), 4); /* H deleted; the runs not interleaved */
    ASSERT_TRUE(strcmp(sa, "abxy") == 0 || strcmp(sa, "xyab") == 0);
    ASSERT_EQ_U64(part_records(a, "r"), 5);
}

/* ---- contexts: each its own log ----------------------------------------- */

static size_t count_ops(weft_db_t *db, const char *ctx)
{
    ops_t *o = calloc(1, sizeof *o);
    ASSERT_NOT_NULL(o);
    test_defer(ops_free, o);
    weft_txn_t *t = begin(db, WEFT_TXN_READ);
    int rc = weft_crdt_missing(t, C(ctx), NULL, 0, ops_add, o);
    weft_txn_abort(t);
    ASSERT_EQ_INT(rc, 0);
    for (size_t i = 0; i < o->n; i++) { /* every op streamed is of ctx */
        weft_crdt_op_t op;
        ASSERT_EQ_INT(weft_crdt_op_decode(o->op[i], o->len[i], &op), 0);
        ASSERT_EQ_U64(op.context_len, strlen(ctx));
        ASSERT_EQ_MEM(op.context, ctx, op.context_len);
    }
    return o->n;
}

TEST(each_context_has_its_own_log_and_seqs)
{
    weft_db_t *db = open_node();
    weft_crdt_input_t in = {.delta = 1};
    weft_crdt_id_t id;
    for (int i = 0; i < 3; i++) {
        weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
        ASSERT_EQ_INT(weft_crdt_local(t, origin_of(0), 1000, C("one"), C("g"), WEFT_CRDT_GCOUNTER,
                                      WEFT_CRDT_INC, &in, NULL, NULL), 0);
        ASSERT_EQ_INT(weft_txn_commit(t), 0);
    }
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    weft_crdt_input_t add = {.value = (const uint8_t *)"e", .value_len = 1};
    ASSERT_EQ_INT(weft_crdt_local(t, origin_of(0), 1001, C("two"), C("s"), WEFT_CRDT_ORSET,
                                  WEFT_CRDT_ADD, &add, &id, NULL), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    ASSERT_EQ_U64(id.seq, 1); /* seqs count per context */
    ASSERT_EQ_U64(count_ops(db, "one"), 3);
    ASSERT_EQ_U64(count_ops(db, "two"), 1);
    ASSERT_EQ_U64(count_ops(db, "three"), 0);

    /* each context has its own clock too: the op in "two" moved only its */
    weft_crdt_node_t one, two;
    t = begin(db, WEFT_TXN_READ);
    ASSERT_EQ_INT(weft_crdt_node_load(t, C("one"), origin_of(0), &one), 0);
    ASSERT_EQ_INT(weft_crdt_node_load(t, C("two"), origin_of(0), &two), 0);
    weft_txn_abort(t);
    ASSERT_EQ_U64(one.next_seq, 4);
    ASSERT_EQ_U64(two.next_seq, 2);
    ASSERT_EQ_U64(one.hlc.last, ((uint64_t)1000 << 16) + 2);
    ASSERT_EQ_U64(two.hlc.last, (uint64_t)1001 << 16);

    /* a peer of context "two" only gets "two"'s ops; dropping "one" drops its log */
    weft_db_t *peer = open_node();
    vv_t none = {.n = 0};
    weft_txn_t *r = begin(db, WEFT_TXN_READ), *w = begin(peer, WEFT_TXN_WRITE);
    ops_t *o = calloc(1, sizeof *o);
    ASSERT_NOT_NULL(o);
    test_defer(ops_free, o);
    ASSERT_EQ_INT(weft_crdt_missing(r, C("two"), none.v, 0, ops_add, o), 0);
    weft_txn_abort(r);
    for (size_t i = 0; i < o->n; i++)
        ASSERT_EQ_INT(weft_crdt_apply_remote(w, o->op[i], o->len[i], 2000), 0);
    ASSERT_EQ_INT(weft_txn_commit(w), 0);
    ASSERT_EQ_U64(count_ops(peer, "two"), 1);
    ASSERT_EQ_U64(count_ops(peer, "one"), 0);
    t = begin(db, WEFT_TXN_WRITE);
    ASSERT_EQ_INT(weft_txn_drop_context(t, WEFT_SPACE_COUNT, C("one")), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    ASSERT_EQ_U64(count_ops(db, "one"), 0);
    ASSERT_EQ_U64(count_ops(db, "two"), 1);
    t = begin(db, WEFT_TXN_READ);
    ASSERT_EQ_INT(weft_crdt_node_load(t, C("one"), origin_of(0), &one), 0);
    weft_txn_abort(t);
    ASSERT_EQ_U64(one.next_seq, 1);
}

/* Every local op, of each of the six types, and a remote op write only
 * their context, so an overlay transaction of that context takes them
 * (nothing returns WEFT_ESERIAL); the clock they move is the context's. */
TEST(ops_write_only_their_context_so_an_overlay_takes_them)
{
    weft_db_t *db = open_node();
    weft_txn_t *base = begin(db, WEFT_TXN_WRITE), *ov = NULL;
    ASSERT_EQ_INT(weft_txn_begin_overlay(base, CTX, NULL, 0, &ov), 0);
    static const struct {
        const char *key;
        uint8_t type, kind;
    } ops[] = {
        {"g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC},  {"p", WEFT_CRDT_PNCOUNTER, WEFT_CRDT_INC},
        {"p", WEFT_CRDT_PNCOUNTER, WEFT_CRDT_DEC}, {"r", WEFT_CRDT_LWW_REG, WEFT_CRDT_SET},
        {"m", WEFT_CRDT_LWW_MAP, WEFT_CRDT_MAP_SET}, {"m", WEFT_CRDT_LWW_MAP, WEFT_CRDT_MAP_REMOVE},
        {"s", WEFT_CRDT_ORSET, WEFT_CRDT_ADD},     {"s", WEFT_CRDT_ORSET, WEFT_CRDT_REMOVE},
        {"l", WEFT_CRDT_RGA, WEFT_CRDT_INSERT},    {"l", WEFT_CRDT_RGA, WEFT_CRDT_INSERT},
        {"l", WEFT_CRDT_RGA, WEFT_CRDT_DELETE},
    };
    weft_crdt_id_t first = {{0}, 0}, id;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        weft_crdt_input_t in = {.delta = 2, .field = (const uint8_t *)"f", .field_len = 1,
                                .value = (const uint8_t *)"v", .value_len = 1};
        if (ops[i].kind == WEFT_CRDT_DELETE || (ops[i].kind == WEFT_CRDT_INSERT && first.seq))
            in.target = &first;
        ASSERT_EQ_INT(weft_crdt_local(ov, origin_of(0), 1000 + i, CTX, C(ops[i].key), ops[i].type,
                                      ops[i].kind, &in, &id, NULL), 0);
        if (ops[i].kind == WEFT_CRDT_INSERT && !first.seq)
            first = id;
    }
    /* a remote op from a clock ahead moves the context's clock past it */
    static const uint8_t plus3[] = {3, 3}; /* +3, this origin's total 3 */
    uint8_t enc[256];
    size_t len = 0;
    weft_crdt_op_t op = {.context = (const uint8_t *)"app", .context_len = 3,
                         .key = (const uint8_t *)"g", .key_len = 1, .type = WEFT_CRDT_GCOUNTER,
                         .kind = WEFT_CRDT_INC, .seq = 1, .hlc = (uint64_t)9000 << 16,
                         .payload = plus3, .payload_len = 2};
    memcpy(op.origin, origin_of(1), WEFT_CRDT_ORIGIN_LEN);
    ASSERT_EQ_INT(weft_crdt_op_encode(&op, enc, sizeof enc, &len), 0);
    ASSERT_EQ_INT(weft_crdt_apply_remote(ov, enc, len, 1020), 0);
    ASSERT_EQ_INT(weft_txn_overlay_serial(ov), 0);
    ASSERT_EQ_INT(weft_txn_commit(ov), 0);
    ASSERT_EQ_INT(weft_txn_commit(base), 0);

    ASSERT_EQ_U64(gcounter(db, "g"), 5);
    weft_crdt_node_t me = load_node(db, 0);
    ASSERT_EQ_U64(me.next_seq, 12);
    ASSERT_GT_U64(me.hlc.last, (uint64_t)9000 << 16);
    weft_txn_t *r = begin(db, WEFT_TXN_READ);
    const uint8_t *v;
    size_t vl;
    ASSERT_EQ_INT(weft_txn_get(r, WEFT_SPACE_META, NULL, 0, C("crdt/hlc"), &v, &vl),
                  WEFT_ENOTFOUND);
    weft_txn_abort(r);
}

/* A data directory written before the clock was per context holds the
 * node's clock in `meta`: every context's stamps go on above it, across a
 * reopen, and it is never written again. */
TEST(a_node_clock_of_an_older_data_dir_keeps_stamps_increasing)
{
    char *dir = tmpdir_new("crdt-store");
    weft_db_t *db = open_dir(dir);
    const uint64_t old = ((uint64_t)7000 << 16) + 5;
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(old >> (56 - 8 * i));
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    ASSERT_EQ_INT(weft_txn_put(t, WEFT_SPACE_META, NULL, 0, C("crdt/hlc"), be, 8), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);

    inc(db, 0, 1000, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 1);
    uint64_t first = load_node(db, 0).hlc.last;
    ASSERT_EQ_U64(first, old + 1);
    weft_db_close(db);

    db = open_dir(dir);
    test_defer(close_db, db);
    inc(db, 0, 1000, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 1);
    ASSERT_EQ_U64(load_node(db, 0).hlc.last, old + 2);
    weft_crdt_node_t other;
    t = begin(db, WEFT_TXN_WRITE);
    weft_crdt_input_t in = {.delta = 1};
    ASSERT_EQ_INT(weft_crdt_local(t, origin_of(0), 1000, C("other"), C("g"), WEFT_CRDT_GCOUNTER,
                                  WEFT_CRDT_INC, &in, NULL, NULL), 0);
    ASSERT_EQ_INT(weft_crdt_node_load(t, C("other"), origin_of(0), &other), 0);
    ASSERT_EQ_U64(other.hlc.last, old + 1);
    const uint8_t *v;
    size_t vl;
    ASSERT_EQ_INT(weft_txn_get(t, WEFT_SPACE_META, NULL, 0, C("crdt/hlc"), &v, &vl), 0);
    ASSERT_EQ_MEM(v, be, 8);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);

    /* every op in the log is stamped above the old clock, in seq order */
    vv_t none = {.n = 0};
    ops_t *log = missing(db, &none);
    ASSERT_EQ_U64(log->n, 2);
    uint64_t prev = old;
    for (size_t i = 0; i < log->n; i++) {
        weft_crdt_op_t op;
        ASSERT_EQ_INT(weft_crdt_op_decode(log->op[i], log->len[i], &op), 0);
        ASSERT_GT_U64(op.hlc, prev);
        prev = op.hlc;
    }
}

/* ---- compaction and snapshots (docs/sync.md "Compaction and snapshots") */

/* compact(db) with members origin 0 (self) and 1; *dropped returned. */
static size_t compact(weft_db_t *db, uint64_t keep, size_t max)
{
    uint8_t members[2 * WEFT_CRDT_ORIGIN_LEN];
    size_t dropped = 0;
    memcpy(members, origin_of(0), WEFT_CRDT_ORIGIN_LEN);
    memcpy(members + WEFT_CRDT_ORIGIN_LEN, origin_of(1), WEFT_CRDT_ORIGIN_LEN);
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    ASSERT_EQ_INT(weft_crdt_compact(t, CTX, origin_of(0), members, 2, keep, max, &dropped), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    return dropped;
}

static void acks(weft_db_t *db, int peer, const weft_crdt_id_t *vv, size_t n)
{
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    ASSERT_EQ_INT(weft_crdt_acks_merge(t, CTX, origin_of(peer), vv, n), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
}

static int behind(weft_db_t *db, uint64_t seq0)
{
    weft_crdt_id_t vv;
    memcpy(vv.origin, origin_of(0), WEFT_CRDT_ORIGIN_LEN);
    vv.seq = seq0;
    weft_txn_t *t = begin(db, WEFT_TXN_READ);
    int rc = weft_crdt_behind_floor(t, CTX, &vv, 1);
    weft_txn_abort(t);
    return rc;
}

static weft_crdt_id_t id_of(int node, uint64_t seq)
{
    weft_crdt_id_t id;
    memcpy(id.origin, origin_of(node), WEFT_CRDT_ORIGIN_LEN);
    id.seq = seq;
    return id;
}

/* A node drops only what every member acknowledged (a member that never
 * did holds 0), keeps `keep` newest ops per origin, at most max_ops per
 * run, only while it holds all a member acknowledged (stability), and
 * keeps its marks; a peer under the floor is told apart. */
TEST(compaction_drops_only_what_every_member_acknowledged)
{
    weft_db_t *a = open_node();
    for (int i = 0; i < 10; i++)
        inc(a, 0, 1000 + (uint64_t)i, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 1);
    ASSERT_EQ_U64(compact(a, 0, 100), 0); /* member 1 never acknowledged */
    ASSERT_EQ_U64(count_ops(a, "app"), 10);
    weft_crdt_id_t six = id_of(0, 6), two = id_of(0, 2);
    acks(a, 1, &six, 1);
    acks(a, 1, &two, 1);                  /* acks only rise */
    ASSERT_EQ_U64(compact(a, 5, 100), 5); /* 10 - keep 5 < 6 */
    ASSERT_EQ_U64(compact(a, 1, 2), 1);   /* up to what member 1 holds: 6 */
    ASSERT_EQ_U64(count_ops(a, "app"), 4);
    ASSERT_EQ_INT(behind(a, 5), 1);
    ASSERT_EQ_INT(behind(a, 6), 0);
    vv_t vv = version_vector(a);
    ASSERT_EQ_U64(mark_of(&vv, 0), 10); /* marks stay */
    ASSERT_EQ_U64(gcounter(a, "g"), 10);
    /* member 1 acknowledged ops of an origin we lack: nothing more goes
     * (an op concurrent with ours could still come) */
    weft_crdt_id_t more[2] = {id_of(0, 10), id_of(2, 3)};
    if (memcmp(more[0].origin, more[1].origin, WEFT_CRDT_ORIGIN_LEN) > 0) {
        weft_crdt_id_t x = more[0];
        more[0] = more[1];
        more[1] = x;
    }
    acks(a, 1, more, 2);
    ASSERT_EQ_U64(compact(a, 0, 100), 0);
    ASSERT_EQ_U64(count_ops(a, "app"), 4);
    /* a budget of 2 per run */
    weft_db_t *b = open_node();
    for (int i = 0; i < 5; i++)
        inc(b, 0, 1000 + (uint64_t)i, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 1);
    weft_crdt_id_t five = id_of(0, 5);
    acks(b, 1, &five, 1);
    ASSERT_EQ_U64(compact(b, 0, 2), 2);
    ASSERT_EQ_INT(behind(b, 1), 1);
    ASSERT_EQ_INT(behind(b, 2), 0);
    ASSERT_EQ_U64(compact(b, 0, 2), 2);
    ASSERT_EQ_U64(compact(b, 0, 2), 1);
    ASSERT_EQ_U64(count_ops(b, "app"), 0);
    ASSERT_EQ_U64(gcounter(b, "g"), 5);
}

/* The concurrent-type rule after compaction: key "x" is a counter from
 * ops at 1000 (compacted) and 3000 (logged); a register op at 2000 comes:
 * it is not the key's earliest (the compacted op is), so it changes no
 * state. Without the key's 'k' record the log alone says 3000 is the
 * earliest and the key would be rebuilt as a register. */
TEST(concurrent_types_after_compaction)
{
    weft_db_t *a = open_node(), *b = open_node();
    inc(a, 0, 1000, "x", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 1);
    inc(a, 0, 3000, "x", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 2);
    weft_crdt_id_t one = id_of(0, 1);
    acks(a, 1, &one, 1);
    ASSERT_EQ_U64(compact(a, 0, 100), 1);
    weft_crdt_input_t v = {.value = (const uint8_t *)"v", .value_len = 1};
    ASSERT_EQ_INT(local(b, 1, 2000, "x", WEFT_CRDT_LWW_REG, WEFT_CRDT_SET, &v, NULL), 0);
    ASSERT_EQ_U64(sync_once(b, a, 4000), 1);
    ASSERT_EQ_U64(gcounter(a, "x"), 3);
    vv_t vv = version_vector(a);
    ASSERT_EQ_U64(mark_of(&vv, 1), 1); /* logged, the origin not stuck */
    ASSERT_EQ_U64(count_ops(a, "app"), 2);
}

/* A snapshot read in chunks of two records (each resumed after the last
 * record) and put into a node that has an op of its own the sender lacks:
 * the states equal the sender's plus that op, the log holds what the
 * sender's holds past its floor, marks and floors rise at the end, and
 * the sender can serve it from its log again. */
typedef struct {
    uint8_t kind[64];
    uint8_t *key[64], *val[64];
    size_t kl[64], vl[64], n, max;
} recs_t;

static int rec_add(void *user, uint8_t kind, const uint8_t *k, size_t kl, const uint8_t *v,
                   size_t vl)
{
    recs_t *r = user;
    if (r->n == r->max)
        return 1;
    r->kind[r->n] = kind;
    r->key[r->n] = malloc(kl + 1);
    r->val[r->n] = malloc(vl + 1);
    memcpy(r->key[r->n], k, kl);
    memcpy(r->val[r->n], v, vl);
    r->kl[r->n] = kl;
    r->vl[r->n++] = vl;
    return 0;
}

static void recs_free(recs_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->key[i]);
        free(r->val[i]);
    }
    r->n = 0;
}

/* Puts records r of a snapshot whose vector is v0 into txn's node. */
static void put_recs(weft_txn_t *t, const vv_t *v0, const recs_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        ASSERT_EQ_INT(weft_crdt_snapshot_put(t, CTX, v0->v, v0->n, r->kind[i], r->key[i], r->kl[i],
                                             r->val[i], r->vl[i]),
                      0);
}

static int floor_add(void *user, const uint8_t *origin, uint64_t seq)
{
    return vv_add(user, origin, seq);
}

TEST(snapshot_in_chunks_brings_a_node_past_the_floor)
{
    weft_db_t *a = open_node(), *c = open_node();
    for (int i = 0; i < 4; i++)
        inc(a, 0, 1000 + (uint64_t)i, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 1);
    map_set(a, 0, 1010, "f1", "one");
    map_set(a, 0, 1011, "f2", "two");
    set_op(a, 0, 1012, WEFT_CRDT_ADD, "e");
    weft_crdt_id_t five = id_of(0, 5);
    acks(a, 1, &five, 1);
    ASSERT_EQ_U64(compact(a, 0, 100), 5);
    inc(c, 2, 500, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 10); /* c's own, a lacks it */
    vv_t v0 = version_vector(a), floors = {.n = 0};
    uint8_t kind = 0, after[4096];
    size_t after_len = 0, chunks = 0;
    for (;;) {
        recs_t r = {.max = 2};
        weft_txn_t *t = begin(a, WEFT_TXN_READ);
        ASSERT_EQ_INT(weft_crdt_snapshot_read(t, CTX, kind, after, after_len, rec_add, &r), 0);
        if (r.n < 2)
            ASSERT_EQ_INT(weft_crdt_floors(t, CTX, floor_add, &floors), 0);
        weft_txn_abort(t);
        t = begin(c, WEFT_TXN_WRITE);
        put_recs(t, &v0, &r);
        ASSERT_EQ_INT(weft_crdt_snapshot_reapply(t, CTX, v0.v, v0.n), 0);
        if (r.n < 2)
            ASSERT_EQ_INT(weft_crdt_snapshot_finish(t, CTX, v0.v, v0.n, floors.v, floors.n, 5000,
                                                    5000),
                          0);
        ASSERT_EQ_INT(weft_txn_commit(t), 0);
        chunks++;
        if (r.n < 2) {
            recs_free(&r);
            break;
        }
        kind = r.kind[r.n - 1];
        after_len = r.kl[r.n - 1];
        memcpy(after, r.key[r.n - 1], after_len);
        recs_free(&r);
    }
    ASSERT_TRUE(chunks >= 3);
    ASSERT_EQ_U64(gcounter(c, "g"), 14);
    assert_same_state(a, c, "m");
    assert_same_state(a, c, "s");
    vv_t vc = version_vector(c);
    ASSERT_EQ_U64(mark_of(&vc, 0), 7);
    ASSERT_EQ_U64(mark_of(&vc, 2), 1);
    ASSERT_EQ_U64(count_ops(c, "app"), 3); /* a's 6 and 7, c's own */
    ASSERT_EQ_INT(behind(c, 4), 1);        /* c's floor is a's */
    ASSERT_EQ_INT(behind(a, mark_of(&vc, 0)), 0);
    /* c's op reaches a the usual way, and the states agree */
    ASSERT_EQ_U64(sync_once(c, a, 6000), 1);
    assert_same_state(a, c, "g");
}

/* A snapshot being taken puts log entries past the taker's marks before
 * its last chunk raises them: they are not streamed to its peers (a peer
 * would take them for ops the taker holds, and stop asking for the
 * snapshot it needs). */
TEST(missing_stops_at_the_mark_while_a_snapshot_is_taken)
{
    weft_db_t *a = open_node(), *c = open_node();
    inc(a, 0, 1000, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 1);
    inc(a, 0, 1001, "g", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, 1);
    vv_t v0 = version_vector(a), none = {.n = 0}, one;
    ops_t *o = missing(a, &none);
    ASSERT_EQ_U64(o->n, 2);
    o->n = 1; /* c holds op 1 only */
    apply_all(c, o, 1500);
    o->n = 2;
    one = version_vector(c);
    ASSERT_EQ_U64(mark_of(&one, 0), 1);
    recs_t r = {.max = 64};
    weft_txn_t *t = begin(a, WEFT_TXN_READ);
    ASSERT_EQ_INT(weft_crdt_snapshot_read(t, CTX, WEFT_CRDT_SNAP_LOG, NULL, 0, rec_add, &r), 0);
    weft_txn_abort(t);
    ASSERT_EQ_U64(r.n, 2);
    t = begin(c, WEFT_TXN_WRITE);
    put_recs(t, &v0, &r);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    recs_free(&r);
    ASSERT_EQ_U64(count_ops(c, "app"), 1); /* op 2 put, not held yet */
    t = begin(c, WEFT_TXN_WRITE);
    ASSERT_EQ_INT(weft_crdt_snapshot_finish(t, CTX, v0.v, v0.n, NULL, 0, 2000, 2000), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    ASSERT_EQ_U64(count_ops(c, "app"), 2);
}

/* A snapshot's states are read at different times on the sender: "x" was
 * a counter when its state record was read, then an earlier op made it a
 * map there. The last chunk rebuilds every key with no 'k' record from
 * its logged ops (all there: none was compacted), so the taker ends with
 * the map, as the sender. Without the rebuild it keeps the counter. */
TEST(snapshot_finish_rebuilds_keys_by_the_type_rule)
{
    weft_db_t *a = open_node(), *b = open_node(), *c = open_node();
    inc(a, 0, 2000, "x", WEFT_CRDT_PNCOUNTER, WEFT_CRDT_INC, 1);
    recs_t st = {.max = 64}, lg = {.max = 64};
    weft_txn_t *t = begin(a, WEFT_TXN_READ);
    ASSERT_EQ_INT(weft_crdt_snapshot_read(t, CTX, 0, NULL, 0, rec_add, &st), 0);
    weft_txn_abort(t);
    ASSERT_EQ_U64(st.n, 2); /* x's state, its log entry */
    st.n = 1;               /* the state only: the chunk of states */
    weft_crdt_input_t f = {.field = (const uint8_t *)"f", .field_len = 1,
                           .value = (const uint8_t *)"v", .value_len = 1};
    ASSERT_EQ_INT(local(b, 1, 1000, "x", WEFT_CRDT_LWW_MAP, WEFT_CRDT_MAP_SET, &f, NULL), 0);
    ASSERT_EQ_U64(sync_once(b, a, 3000), 1); /* earlier: a rebuilds x as a map */
    vv_t v0 = version_vector(a);
    t = begin(a, WEFT_TXN_READ);
    ASSERT_EQ_INT(weft_crdt_snapshot_read(t, CTX, WEFT_CRDT_SNAP_LOG, NULL, 0, rec_add, &lg), 0);
    weft_txn_abort(t);
    ASSERT_EQ_U64(lg.n, 2);
    t = begin(c, WEFT_TXN_WRITE);
    put_recs(t, &v0, &st);
    put_recs(t, &v0, &lg);
    ASSERT_EQ_INT(weft_crdt_snapshot_finish(t, CTX, v0.v, v0.n, NULL, 0, 4000, 4000), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    st.n = 2;
    recs_free(&st);
    recs_free(&lg);
    assert_same_state(a, c, "x");
    ASSERT_NOT_NULL(read_state(c, "x", WEFT_CRDT_LWW_MAP));
}
