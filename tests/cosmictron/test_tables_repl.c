/*
 * test_tables_repl.c — the merge rules of replicated tables (weft/tables.h,
 * docs/cosmictron.md "Replicated tables") without a network: each node is
 * a data directory of its own, a call's writes go through weft_tables_*
 * with the node's id as origin, and "replication" hands a node's op-log to
 * another (weft_crdt_missing, weft_crdt_apply_remote, then
 * weft_tables_repl_apply as the node layer does). Nodes that took the
 * same ops in other orders must show the same rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/test.h"
#include "bufs.h"
#include "tabledef.h"
#include "../store/tmpdir.h"
#include "weft/crdt.h"
#include "weft/crdt_store.h"
#include "weft/db.h"
#include "weft/error.h"
#include "weft/tables.h"

/* user {id: u32 pk, name: String unique, age: i32} replicated, public,
 * index by_age; note {id: u32 pk, text: String} replicated, no unique.
 * With nick, user ends with nick: Option<String> (its next version). */
static weft_schema_t *repl_schema_v(int nick)
{
    def_table_t user = {
        .name = "user",
        .cols = {{"id", "\x02"}, {"name", "\x11"}, {"age", "\x0a"}},
        .pk = "id",
        .unique = {"name"},
        .idx = {{"by_age", {"age"}}},
        .replicated = 1,
    };
    static const def_table_t note = {
        .name = "note", .cols = {{"id", "\x02"}, {"text", "\x11"}}, .pk = "id", .replicated = 1};
    buf_t *d = buf();
    weft_schema_t *s = NULL;
    char msg[256] = "";
    if (nick) user.cols[3] = (def_col_t){"nick", "\x20\x11"};
    weft_bsatn_put_u32(d, WEFT_SCHEMA_VERSION_REPL);
    weft_bsatn_put_u32(d, 2);
    put_table(d, &user, WEFT_SCHEMA_VERSION_REPL);
    put_table(d, &note, WEFT_SCHEMA_VERSION_REPL);
    weft_bsatn_put_u32(d, 0); /* no reducers */
    ASSERT_EQ_INT(d->err, 0);
    int rc = weft_schema_parse(d->p, d->len, &s, msg, sizeof msg);
    if (rc) FAIL("weft_schema_parse: %d %s", rc, msg);
    return s;
}

static weft_schema_t *repl_schema(void)
{
    return repl_schema_v(0);
}

/* ---- nodes --------------------------------------------------------------- */

typedef struct {
    weft_db_t *db;
    weft_txn_t *txn; /* open between calls: a node's one long transaction */
    weft_tables_t *t;
    uint8_t id[32];
    int shown; /* rows the rules showed beyond a call's own writes */
} node_t;

static weft_schema_t *S;

static void node_end(void *arg)
{
    node_t *n = arg;
    weft_tables_delete(n->t);
    if (n->txn) weft_txn_abort(n->txn);
    weft_db_close(n->db);
    free(n);
}

static void observed(void *user, uint32_t tid, int op, const uint8_t *row, size_t len)
{
    (void)tid, (void)row, (void)len;
    if (op == 'i') ((node_t *)user)->shown++;
}

static node_t *node(uint8_t id)
{
    node_t *n = calloc(1, sizeof *n);
    char msg[256];
    ASSERT_NOT_NULL(n);
    n->id[0] = id;
    ASSERT_EQ_INT(weft_db_open(tmpdir_new("repl"), WEFT_DB_NOSYNC, &n->db, msg, sizeof msg), 0);
    test_defer(node_end, n);
    ASSERT_EQ_INT(weft_txn_begin(n->db, WEFT_TXN_WRITE, &n->txn), 0);
    ASSERT_EQ_INT(weft_tables_new(S, (const uint8_t *)"c", 1, &n->t), 0);
    weft_tables_set_origin(n->t, n->id);
    weft_tables_observe(n->t, observed, n);
    weft_tables_begin_call(n->t, n->txn, NULL, 0);
    return n;
}

static void schema_free_only(void *s)
{
    weft_schema_delete(s);
}

/* A write through a binding of schema s (a node on that version). */
static int add_user_as(node_t *n, weft_schema_t *s, uint32_t id, const char *name, int32_t age);
static int del_user_as(node_t *n, weft_schema_t *s, uint32_t id);

static int add_user(node_t *n, uint32_t id, const char *name, int32_t age)
{
    buf_t r;
    weft_bsatn_buf_init(&r); /* not buf(): tests insert hundreds */
    weft_bsatn_put_u32(&r, id);
    weft_bsatn_put_str(&r, name);
    weft_bsatn_put_u32(&r, (uint32_t)age);
    int rc = r.err ? r.err : weft_tables_insert(n->t, 0, r.p, r.len);
    weft_bsatn_buf_fini(&r);
    return rc;
}

static int del_user(node_t *n, uint32_t id)
{
    uint8_t k[4] = {(uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16), (uint8_t)(id >> 24)};
    return weft_tables_delete_pk(n->t, 0, k, sizeof k);
}

static int as(node_t *n, weft_schema_t *s, int del, uint32_t id, const char *name, int32_t age)
{
    weft_tables_t *t;
    ASSERT_EQ_INT(weft_tables_new(s, (const uint8_t *)"c", 1, &t), 0);
    weft_tables_set_origin(t, n->id);
    weft_tables_begin_call(t, n->txn, NULL, 0);
    weft_tables_t *keep = n->t;
    n->t = t;
    int rc = del ? del_user(n, id) : add_user(n, id, name, age);
    n->t = keep;
    weft_tables_delete(t);
    return rc;
}

static int add_user_as(node_t *n, weft_schema_t *s, uint32_t id, const char *name, int32_t age)
{
    return as(n, s, 0, id, name, age);
}

static int del_user_as(node_t *n, weft_schema_t *s, uint32_t id)
{
    return as(n, s, 1, id, NULL, 0);
}

typedef struct {
    node_t *to;
    int changes;
} ship_t;

static void counted(void *user, uint32_t tid, int op, const uint8_t *row, size_t len)
{
    (void)tid, (void)op, (void)row, (void)len;
    ((ship_t *)user)->changes++;
}

static int ship_one(void *user, const uint8_t *op_bytes, size_t len)
{
    ship_t *s = user;
    weft_crdt_op_t op;
    ASSERT_EQ_INT(weft_crdt_op_decode(op_bytes, len, &op), 0);
    ASSERT_EQ_INT(weft_crdt_apply_remote(s->to->txn, op_bytes, len, 0), 0);
    ASSERT_EQ_INT(weft_tables_repl_apply(S, s->to->txn, op.context, op.context_len, op.key,
                                         op.key_len, counted, s),
                  0);
    return 0;
}

/* Hands every op of `from` to `to` (those it has are duplicates); returns
 * how many rows `to` showed or hid. */
static int ship(node_t *from, node_t *to)
{
    ship_t s = {to, 0};
    /* the ops leave `from` through a transaction of their own, as the
     * writer's batches do: what from's call wrote is committed first */
    weft_tables_end_call(from->t);
    ASSERT_EQ_INT(weft_txn_commit(from->txn), 0);
    ASSERT_EQ_INT(weft_txn_begin(from->db, WEFT_TXN_WRITE, &from->txn), 0);
    ASSERT_EQ_INT(weft_crdt_missing(from->txn, (const uint8_t *)"c", 1, NULL, 0, ship_one, &s), 0);
    weft_tables_begin_call(from->t, from->txn, NULL, 0);
    weft_tables_begin_call(to->t, to->txn, NULL, 0);
    return s.changes;
}

/* The shown rows of both tables as JSON arrays, into out. */
static void dump(node_t *n, char *out, size_t cap)
{
    buf_t *j = buf(), *next = buf();
    for (uint32_t tid = 0; tid < 2; tid++) {
        ASSERT_EQ_INT(weft_tables_read_json(S, n->txn, (const uint8_t *)"c", 1, tid, NULL, 0, 1000,
                                            j, next),
                      0);
    }
    weft_bsatn_put_u8(j, 0);
    snprintf(out, cap, "%s", (const char *)j->p);
}

static void assert_same(node_t **v, size_t n)
{
    static char a[65536], b[65536];
    dump(v[0], a, sizeof a);
    for (size_t i = 1; i < n; i++) {
        dump(v[i], b, sizeof b);
        ASSERT_EQ_STR(b, a);
    }
}

static void schema_free(void *s)
{
    weft_schema_delete(s);
    S = NULL;
}

static void setup(void)
{
    S = repl_schema();
    test_defer(schema_free, S);
}

/* ---- tests --------------------------------------------------------------- */

/* The replicated flag is parsed, described and needs a primary key. */
TEST(tables_repl_flag_needs_a_primary_key)
{
    setup();
    ASSERT_TRUE(weft_schema_table_replicated(S, 0));
    buf_t *d = buf();
    ASSERT_EQ_INT(weft_schema_describe(S, d), 0);
    weft_bsatn_put_u8(d, 0);
    ASSERT_CONTAINS((char *)d->p, "table user (public, replicated):");
    /* the same table without a primary key */
    size_t len;
    const uint8_t *p = weft_schema_bytes(S, &len);
    buf_t *bad = buf();
    weft_bsatn_put_raw(bad, p, len);
    /* the first table's pk is Some(0) right after its row type: None instead */
    size_t at = 4 + 4 + 4 + 4; /* version, count, name length, "user" */
    uint32_t rl;
    memcpy(&rl, bad->p + at, 4);
    at += 4 + rl;
    ASSERT_EQ_INT(bad->p[at], 1);
    buf_t *fixed = buf();
    weft_bsatn_put_raw(fixed, bad->p, at);
    weft_bsatn_put_u8(fixed, 0);
    weft_bsatn_put_raw(fixed, bad->p + at + 5, bad->len - at - 5);
    weft_schema_t *s2 = NULL;
    char msg[256] = "";
    ASSERT_EQ_INT(weft_schema_parse(fixed->p, fixed->len, &s2, msg, sizeof msg), WEFT_EARG);
    ASSERT_CONTAINS(msg, "table user: a replicated table needs a primary key");
}

/* Two nodes write the same key at once: both end with the later write;
 * a delete is a tombstone an older write arriving later cannot undo. */
TEST(tables_repl_same_key_last_writer_wins)
{
    setup();
    node_t *a = node(1), *b = node(2), *c = node(3);
    ASSERT_EQ_INT(add_user(a, 5, "from-a", 1), 0);
    ASSERT_EQ_INT(add_user(b, 5, "from-b", 2), 0); /* b's clock is later or equal: origin 2 > 1 */
    ASSERT_EQ_INT(add_user(a, 6, "six", 6), 0);
    ship(a, c); /* c: a's first, then b's */
    ship(b, c);
    ship(b, a);
    ship(a, b);
    node_t *all[] = {a, b, c};
    assert_same(all, 3);
    static char s[65536];
    dump(a, s, sizeof s);
    ASSERT_CONTAINS(s, "{\"id\":5,\"name\":\"from-b\",\"age\":2}");
    ASSERT_TRUE(strstr(s, "from-a") == NULL);
    /* the index follows the shown row: by_age finds age 2, not 1 */
    buf_t *range = buf();
    weft_bsatn_put_u8(range, WEFT_BOUND_INCLUDED);
    weft_bsatn_put_u32(range, 1);
    weft_bsatn_put_u8(range, WEFT_BOUND_INCLUDED);
    weft_bsatn_put_u32(range, 2);
    buf_t *j = buf(), *next = buf();
    ASSERT_EQ_INT(weft_tables_range_json(S, a->txn, (const uint8_t *)"c", 1, 0, 0, range->p,
                                         range->len, NULL, 0, 10, j, next),
                  0);
    weft_bsatn_put_u8(j, 0);
    ASSERT_EQ_STR((char *)j->p, "[{\"id\":5,\"name\":\"from-b\",\"age\":2}]");
    /* b deletes 6 while c, not hearing of it, still has it; then c hears */
    ASSERT_EQ_INT(del_user(b, 6), 0);
    ASSERT_EQ_INT(ship(b, c), 1);
    ASSERT_EQ_INT(ship(a, c), 0); /* a's older insert of 6 again: a duplicate, no row */
    ship(b, a);
    assert_same(all, 3);
    dump(c, s, sizeof s);
    ASSERT_TRUE(strstr(s, "\"six\"") == NULL);
}

/* Two nodes take one unique value under two keys at once: every node
 * shows the newer write and holds the older back; when the newer goes,
 * the older shows again on every node, whatever the order of the ops. */
TEST(tables_repl_unique_clash_is_decided_the_same_everywhere)
{
    setup();
    node_t *a = node(1), *b = node(2), *c = node(3), *d = node(4);
    ASSERT_EQ_INT(add_user(a, 1, "ann", 10), 0);
    ASSERT_EQ_INT(add_user(b, 2, "ann", 20), 0); /* b's write is the newer (origin 2 on a tie) */
    ASSERT_EQ_INT(add_user(b, 3, "bob", 30), 0);
    ship(a, c); /* c: a then b; d: b then a */
    ship(b, c);
    ship(b, d);
    ship(a, d);
    ship(a, b);
    ship(b, a);
    node_t *all[] = {a, b, c, d};
    assert_same(all, 4);
    static char s[65536];
    dump(a, s, sizeof s);
    ASSERT_CONTAINS(s, "{\"id\":2,\"name\":\"ann\",\"age\":20}");
    ASSERT_TRUE(strstr(s, "\"id\":1,") == NULL);
    /* a local insert of the shown value is refused as ever */
    ASSERT_EQ_INT(add_user(c, 9, "ann", 1), WEFT_TABLE_EUNIQUE);
    /* node d deletes the winner: the loser shows again, there at once and
     * elsewhere when they hear of it */
    a->shown = d->shown = 0;
    ASSERT_EQ_INT(del_user(d, 2), 0);
    ASSERT_EQ_INT(d->shown, 1);
    ship(d, a);
    ship(d, b);
    ship(d, c);
    assert_same(all, 4);
    dump(b, s, sizeof s);
    ASSERT_CONTAINS(s, "{\"id\":1,\"name\":\"ann\",\"age\":10}");
    ASSERT_TRUE(strstr(s, "\"id\":2,") == NULL);
    /* while b shows ann as 1, it cannot take "ann" again; once a renamed
     * its ann to "cy" and b heard of it, it can: every node shows both */
    ASSERT_EQ_INT(add_user(b, 2, "ann", 21), WEFT_TABLE_EUNIQUE);
    ASSERT_EQ_INT(del_user(a, 1), 0);
    ASSERT_EQ_INT(add_user(a, 1, "cy", 10), 0);
    ship(a, b);
    ASSERT_EQ_INT(add_user(b, 2, "ann", 21), 0);
    ship(b, a), ship(a, c), ship(b, c), ship(b, d), ship(a, d);
    assert_same(all, 4);
    dump(c, s, sizeof s);
    ASSERT_CONTAINS(s, "{\"id\":1,\"name\":\"cy\",\"age\":10}");
    ASSERT_CONTAINS(s, "{\"id\":2,\"name\":\"ann\",\"age\":21}");
}

static int apply_only(void *user, const uint8_t *op_bytes, size_t len)
{
    ASSERT_EQ_INT(weft_crdt_apply_remote(((node_t *)user)->txn, op_bytes, len, 0), 0);
    return 0;
}

/* A node whose registers came without their rows (as after a snapshot)
 * rebuilds them all with weft_tables_repl_apply(key NULL) and shows what
 * the others show. */
TEST(tables_repl_rebuild_from_the_registers)
{
    setup();
    node_t *a = node(1), *b = node(2), *c = node(3);
    for (uint32_t i = 0; i < 300; i++) { /* past one batch of the rebuild */
        char name[16];
        snprintf(name, sizeof name, "u%u", i);
        ASSERT_EQ_INT(add_user(a, i, name, (int32_t)i), 0);
    }
    ASSERT_EQ_INT(add_user(b, 1000, "u7", 0), 0); /* a clash: b's the newer */
    ASSERT_EQ_INT(del_user(a, 5), 0);
    ship(a, b);
    ship(b, a);
    ASSERT_EQ_INT(weft_crdt_missing(a->txn, (const uint8_t *)"c", 1, NULL, 0, apply_only, c), 0);
    static char s[65536], t[65536];
    dump(c, s, sizeof s);
    ASSERT_EQ_STR(s, "[][]"); /* registers only */
    ASSERT_EQ_INT(weft_tables_repl_apply(S, c->txn, (const uint8_t *)"c", 1, NULL, 0, NULL, NULL),
                  0);
    dump(a, s, sizeof s);
    dump(c, t, sizeof t);
    ASSERT_EQ_STR(t, s);
    ASSERT_CONTAINS(s, "{\"id\":1000,\"name\":\"u7\",\"age\":0}");
    ASSERT_TRUE(strstr(s, "\"id\":7,") == NULL && strstr(s, "\"id\":5,") == NULL);
    /* again: nothing changes */
    ASSERT_EQ_INT(weft_tables_repl_apply(S, c->txn, (const uint8_t *)"c", 1, NULL, 0, NULL, NULL),
                  0);
    dump(c, t, sizeof t);
    ASSERT_EQ_STR(t, s);
}

/* A node whose table gained an Option column (weft_tables_migrate) takes
 * the rows of a node still on the earlier version with None there, and
 * its own rows kept from before stay shown when their registers settle;
 * a node on the earlier version shows the later version's rows once it
 * migrated and settled its registers (what an upgrade does). */
TEST(tables_repl_rows_of_an_earlier_version_read_with_none)
{
    setup();
    node_t *a = node(1), *b = node(2);
    ASSERT_EQ_INT(add_user(a, 1, "ann", 1), 0);
    ASSERT_EQ_INT(add_user(b, 2, "bob", 2), 0);
    ship(a, b);
    ship(b, a);
    weft_schema_t *v2 = repl_schema_v(1);
    test_defer(schema_free_only, v2);
    char msg[256];
    ASSERT_EQ_INT(weft_tables_migrate(S, v2, b->txn, (const uint8_t *)"c", 1, msg, sizeof msg), 0);
    weft_schema_t *v1 = S;
    S = v2; /* b runs the next version from here; a stays on the first */
    ASSERT_EQ_INT(add_user_as(a, v1, 3, "cy", 3), 0);
    ASSERT_EQ_INT(del_user_as(a, v1, 1), 0);
    ASSERT_EQ_INT(add_user_as(a, v1, 1, "ann", 10), 0);
    ship(a, b);
    ASSERT_EQ_INT(weft_tables_repl_apply(S, b->txn, (const uint8_t *)"c", 1, NULL, 0, NULL, NULL),
                  0);
    buf_t *j = buf(), *next = buf();
    ASSERT_EQ_INT(weft_tables_read_json(S, b->txn, (const uint8_t *)"c", 1, 0, NULL, 0, 10, j,
                                        next),
                  0);
    weft_bsatn_put_u8(j, 0);
    ASSERT_EQ_STR((char *)j->p, "[{\"id\":1,\"name\":\"ann\",\"age\":10,\"nick\":null},"
                                "{\"id\":2,\"name\":\"bob\",\"age\":2,\"nick\":null},"
                                "{\"id\":3,\"name\":\"cy\",\"age\":3,\"nick\":null}]");
    /* the other way: b writes a row of the next version, which a (on the
     * first) cannot read and does not show until it moves to it too, as
     * the node's upgrade does: migrate, then settle from the registers */
    buf_t *r = buf();
    weft_bsatn_put_u32(r, 4);
    weft_bsatn_put_str(r, "dee");
    weft_bsatn_put_u32(r, 4);
    weft_bsatn_put_u8(r, 1);
    weft_bsatn_put_str(r, "d");
    ASSERT_EQ_INT(weft_tables_insert(b->t, 0, r->p, r->len), WEFT_TABLE_ETYPE); /* b->t is v1's */
    weft_tables_t *t2;
    ASSERT_EQ_INT(weft_tables_new(v2, (const uint8_t *)"c", 1, &t2), 0);
    weft_tables_set_origin(t2, b->id);
    weft_tables_begin_call(t2, b->txn, NULL, 0);
    ASSERT_EQ_INT(weft_tables_insert(t2, 0, r->p, r->len), 0);
    weft_tables_delete(t2);
    S = v1;
    ship(b, a);
    j->len = 0;
    ASSERT_EQ_INT(weft_tables_read_json(v1, a->txn, (const uint8_t *)"c", 1, 0, NULL, 0, 10, j,
                                        next),
                  0);
    weft_bsatn_put_u8(j, 0);
    ASSERT_TRUE(strstr((char *)j->p, "dee") == NULL);
    ASSERT_EQ_INT(weft_tables_migrate(v1, v2, a->txn, (const uint8_t *)"c", 1, msg, sizeof msg), 0);
    ASSERT_EQ_INT(weft_tables_repl_apply(v2, a->txn, (const uint8_t *)"c", 1, NULL, 0, NULL, NULL),
                  0);
    j->len = 0;
    ASSERT_EQ_INT(weft_tables_read_json(v2, a->txn, (const uint8_t *)"c", 1, 0, NULL, 0, 10, j,
                                        next),
                  0);
    weft_bsatn_put_u8(j, 0);
    ASSERT_CONTAINS((char *)j->p, "{\"id\":4,\"name\":\"dee\",\"age\":4,\"nick\":\"d\"}");
    ASSERT_CONTAINS((char *)j->p, "{\"id\":1,\"name\":\"ann\",\"age\":10,\"nick\":null}");
}
