/*
 * test_tables.c — typed tables over the store (weft/tables.h): the schema
 * parser, inserts with their type, primary key and unique checks, deletes,
 * full and index scans with every bound kind at the edges of a range of
 * signed integers, iterators that see the call's own writes, handles
 * that are closed or forged, row-level security and the clients' JSON
 * pages. Every test works in a fresh data directory.
 */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/test.h"
#include "bufs.h"
#include "tabledef.h"
#include "../store/tmpdir.h"
#include "weft/db.h"
#include "weft/error.h"
#include "weft/tables.h"


/* ---- a schema ---------------------------------------------------------- */

static const def_table_t secret_table = {
    .name = "secret",
    .cols = {{"owner", "\x12"}, {"note", "\x11"}},
    .pk = "note",
    .private_ = 1,
    .owner = "owner",
};

/* person {id: u32 pk, name: String unique, age: i32, tag: Option<String>},
 * index by_age (age), index by_age_name (age, name), index by_id (id); public.
 * log {msg: String} (no primary key), index by_msg; public.
 * secret {owner: bytes, note: String} private, owner column 0. */
static buf_t *schema_bytes(void)
{
    static const def_table_t person = {
        .name = "person",
        .cols = {{"id", "\x02"}, {"name", "\x11"}, {"age", "\x0a"}, {"tag", "\x20\x11"}},
        .pk = "id",
        .unique = {"name"},
        .idx = {{"by_age", {"age"}}, {"by_age_name", {"age", "name"}}, {"by_id", {"id"}}},
    };
    static const def_table_t log_table = {
        .name = "log", .cols = {{"msg", "\x11"}}, .idx = {{"by_msg", {"msg"}}}};
    static const def_col_t add_args[DEF_MAX] = {{"name", "\x11"}, {"age", "\x0a"}};
    buf_t *d = buf();
    weft_bsatn_put_u32(d, WEFT_SCHEMA_VERSION);
    weft_bsatn_put_u32(d, 3);
    put_table(d, &person, WEFT_SCHEMA_VERSION);
    put_table(d, &log_table, WEFT_SCHEMA_VERSION);
    put_table(d, &secret_table, WEFT_SCHEMA_VERSION);
    weft_bsatn_put_u32(d, 2); /* reducers */
    weft_bsatn_put_str(d, "add");
    def_put_product(d, add_args);
    weft_bsatn_put_str(d, "tick");
    weft_bsatn_put_u32(d, 0);
    ASSERT_EQ_INT(d->err, 0);
    return d;
}

static void schema_free(void *s)
{
    weft_schema_delete(s);
}

static weft_schema_t *schema(void)
{
    buf_t *d = schema_bytes();
    weft_schema_t *s = NULL;
    char msg[256] = "";
    int rc = weft_schema_parse(d->p, d->len, &s, msg, sizeof msg);
    if (rc) FAIL("weft_schema_parse: %d %s", rc, msg);
    test_defer(schema_free, s);
    return s;
}

/* ---- fixtures ------------------------------------------------------------ */

typedef struct {
    weft_db_t *db;
    weft_txn_t *txn;
    weft_tables_t *t;
    weft_schema_t *s;
} fx_t;

static void fx_end(void *arg)
{
    fx_t *f = arg;
    if (f->t) weft_tables_delete(f->t);
    if (f->txn) weft_txn_abort(f->txn);
    if (f->db) weft_db_close(f->db);
    free(f);
}

static const uint8_t ME[32] = {1, 2, 3}, YOU[32] = {9, 9, 9};

static fx_t *fx(void)
{
    fx_t *f = calloc(1, sizeof *f);
    char msg[256];
    ASSERT_NOT_NULL(f);
    test_defer(fx_end, f);
    f->s = schema();
    ASSERT_EQ_INT(weft_db_open(tmpdir_new("tables"), WEFT_DB_NOSYNC, &f->db, msg, sizeof msg), 0);
    ASSERT_EQ_INT(weft_txn_begin(f->db, WEFT_TXN_WRITE, &f->txn), 0);
    ASSERT_EQ_INT(weft_tables_new(f->s, (const uint8_t *)"c1", 2, &f->t), 0);
    weft_tables_begin_call(f->t, f->txn, ME, sizeof ME);
    return f;
}

static buf_t *person(uint32_t id, const char *name, int32_t age, const char *tag)
{
    buf_t *r = buf();
    weft_bsatn_put_u32(r, id);
    weft_bsatn_put_str(r, name);
    weft_bsatn_put_u32(r, (uint32_t)age);
    weft_bsatn_put_u8(r, tag != NULL);
    if (tag) weft_bsatn_put_str(r, tag);
    return r;
}

static int insert_person(fx_t *f, uint32_t id, const char *name, int32_t age)
{
    buf_t r;
    weft_bsatn_buf_init(&r); /* not buf(): tests insert thousands */
    weft_bsatn_put_u32(&r, id);
    weft_bsatn_put_str(&r, name);
    weft_bsatn_put_u32(&r, (uint32_t)age);
    weft_bsatn_put_u8(&r, 0);
    int rc = r.err ? r.err : weft_tables_insert(f->t, 0, r.p, r.len);
    weft_bsatn_buf_fini(&r);
    return rc;
}

/* Reads every row of an iterator; returns how many, ids into out. */
static size_t drain(fx_t *f, uint64_t h, uint32_t *ids, size_t max)
{
    size_t n = 0;
    for (;;) {
        const uint8_t *row;
        size_t len;
        int rc = weft_tables_next(f->t, h, 4096, &row, &len);
        if (rc == WEFT_TABLE_ENOTFOUND) break;
        ASSERT_EQ_INT(rc, 0);
        ASSERT_TRUE(n < max);
        ids[n++] = (uint32_t)row[0] | (uint32_t)row[1] << 8 | (uint32_t)row[2] << 16 |
                   (uint32_t)row[3] << 24;
    }
    ASSERT_EQ_INT(weft_tables_close(f->t, h), 0);
    return n;
}

/* ---- tests --------------------------------------------------------------- */

TEST(tables_schema_parses_and_describes)
{
    weft_schema_t *s = schema();
    ASSERT_EQ_U64(weft_schema_table_count(s), 3);
    ASSERT_EQ_INT(weft_schema_table_find(s, "log", 3), 1);
    ASSERT_EQ_INT(weft_schema_table_find(s, "nope", 4), -1);
    ASSERT_EQ_INT(weft_schema_index_find(s, 0, "by_age_name", 11), 1);
    ASSERT_EQ_INT(weft_schema_reducer_find(s, "tick", 4), 1);
    size_t n;
    ASSERT_NULL(weft_schema_reducer_args(s, 1, &n));
    buf_t *d = buf();
    ASSERT_EQ_INT(weft_schema_describe(s, d), 0);
    weft_bsatn_put_u8(d, 0);
    ASSERT_CONTAINS((char *)d->p, "table person (public): id u32 primary key, name String unique, "
                                  "age i32, tag Option<String>; index by_age (age); index "
                                  "by_age_name (age, name); index by_id (id)\n");
    ASSERT_CONTAINS((char *)d->p, "table secret (private, owner owner)");
    ASSERT_CONTAINS((char *)d->p, "reducer add {name: String, age: i32}\n");
}

TEST(tables_schema_refuses_bad_descriptions)
{
    buf_t *good = schema_bytes();
    weft_schema_t *s = NULL;
    char msg[256];
    /* every truncation is refused with a message, never read past */
    for (size_t n = 0; n < good->len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, good->p, n);
        msg[0] = 0;
        int rc = weft_schema_parse(copy, n, &s, msg, sizeof msg);
        free(copy);
        if (rc != WEFT_EARG || !msg[0]) FAIL("prefix %zu: rc %d", n, rc);
    }
    /* the owner column must be bytes: make secret's owner String */
    buf_t *bad = buf();
    weft_bsatn_put_raw(bad, good->p, good->len);
    uint8_t *o = memmem(bad->p, bad->len, "owner\x12", 6);
    ASSERT_NOT_NULL(o);
    o[5] = 0x11;
    ASSERT_EQ_INT(weft_schema_parse(bad->p, bad->len, &s, msg, sizeof msg), WEFT_EARG);
    ASSERT_CONTAINS(msg, "table secret: owner column owner must be of type bytes");
    /* a table declared twice */
    bad->len = 0;
    weft_bsatn_put_raw(bad, good->p, good->len);
    o = memmem(bad->p, bad->len, "\x03\0\0\0log", 7);
    ASSERT_NOT_NULL(o);
    memcpy(o + 4, "per", 3); /* "log" -> "per": still distinct */
    ASSERT_EQ_INT(weft_schema_parse(bad->p, bad->len, &s, msg, sizeof msg), 0);
    weft_schema_delete(s);
    o = memmem(bad->p, bad->len, "\x06\0\0\0secret", 10);
    memcpy(o + 4, "person", 6);
    ASSERT_EQ_INT(weft_schema_parse(bad->p, bad->len, &s, msg, sizeof msg), WEFT_EARG);
    ASSERT_CONTAINS(msg, "table person: declared twice");
}

TEST(tables_insert_checks_type_keys_and_table)
{
    fx_t *f = fx();
    ASSERT_EQ_INT(insert_person(f, 1, "ann", 30), 0);
    ASSERT_EQ_INT(insert_person(f, 1, "bob", 30), WEFT_TABLE_EUNIQUE);  /* pk */
    ASSERT_EQ_INT(insert_person(f, 2, "ann", 31), WEFT_TABLE_EUNIQUE);  /* unique name */
    ASSERT_EQ_INT(insert_person(f, 2, "bob", 30), 0);
    buf_t *r = person(3, "cy", 1, "t");
    ASSERT_EQ_INT(weft_tables_insert(f->t, 0, r->p, r->len - 1), WEFT_TABLE_ETYPE); /* short */
    weft_bsatn_put_u8(r, 0);
    ASSERT_EQ_INT(weft_tables_insert(f->t, 0, r->p, r->len), WEFT_TABLE_ETYPE); /* trailing */
    ASSERT_EQ_INT(weft_tables_insert(f->t, 7, r->p, r->len - 1), WEFT_TABLE_ENOTABLE);
    ASSERT_EQ_INT(weft_tables_insert(f->t, 0, r->p, r->len - 1), 0);
    /* a refused row left nothing: bob's unique name is free after his delete */
    uint8_t pk[4] = {2, 0, 0, 0};
    ASSERT_EQ_INT(weft_tables_delete_pk(f->t, 0, pk, 4), 0);
    ASSERT_EQ_INT(weft_tables_delete_pk(f->t, 0, pk, 4), WEFT_TABLE_ENOTFOUND);
    ASSERT_EQ_INT(weft_tables_delete_pk(f->t, 0, pk, 3), WEFT_TABLE_ETYPE);
    ASSERT_EQ_INT(weft_tables_delete_pk(f->t, 1, pk, 4), WEFT_TABLE_EINVAL); /* no pk */
    ASSERT_EQ_INT(insert_person(f, 9, "bob", 5), 0);
    uint64_t h;
    uint32_t ids[8];
    ASSERT_EQ_INT(weft_tables_scan(f->t, 0, &h), 0);
    ASSERT_EQ_U64(drain(f, h, ids, 8), 3);
    ASSERT_EQ_INT(ids[0], 1);
    ASSERT_EQ_INT(ids[1], 3);
    ASSERT_EQ_INT(ids[2], 9);
    /* the by_age index lost bob's first row: ages 1, 5, 30 */
    uint8_t all[2] = {WEFT_BOUND_UNBOUNDED, WEFT_BOUND_UNBOUNDED};
    ASSERT_EQ_INT(weft_tables_index_scan(f->t, 0, 0, all, 2, &h), 0);
    ASSERT_EQ_U64(drain(f, h, ids, 8), 3);
    ASSERT_EQ_INT(ids[0], 3);
    ASSERT_EQ_INT(ids[1], 9);
    ASSERT_EQ_INT(ids[2], 1);
}

/* ages -5 -1 -1 0 1 1 5 by the signed index; ranges at their edges */
TEST(tables_index_ranges_at_their_edges)
{
    fx_t *f = fx();
    static const int32_t ages[] = {1, -1, 5, 0, -5, 1, -1};
    char name[8];
    for (uint32_t i = 0; i < 7; i++) {
        snprintf(name, sizeof name, "p%u", i);
        ASSERT_EQ_INT(insert_person(f, i, name, ages[i]), 0);
    }
    static const struct {
        int lo_kind;
        int32_t lo;
        int hi_kind;
        int32_t hi;
        size_t want;
    } cases[] = {
        {WEFT_BOUND_INCLUDED, -1, WEFT_BOUND_INCLUDED, 1, 5},
        {WEFT_BOUND_EXCLUDED, -1, WEFT_BOUND_INCLUDED, 1, 3},
        {WEFT_BOUND_INCLUDED, -1, WEFT_BOUND_EXCLUDED, 1, 3},
        {WEFT_BOUND_EXCLUDED, -1, WEFT_BOUND_EXCLUDED, 1, 1},
        {WEFT_BOUND_UNBOUNDED, 0, WEFT_BOUND_EXCLUDED, 0, 3},
        {WEFT_BOUND_EXCLUDED, 0, WEFT_BOUND_UNBOUNDED, 0, 3},
        {WEFT_BOUND_INCLUDED, -5, WEFT_BOUND_INCLUDED, -5, 1},
        {WEFT_BOUND_EXCLUDED, 5, WEFT_BOUND_UNBOUNDED, 0, 0},
        {WEFT_BOUND_INCLUDED, 2, WEFT_BOUND_INCLUDED, 4, 0},
        {WEFT_BOUND_INCLUDED, 3, WEFT_BOUND_INCLUDED, -3, 0},
        {WEFT_BOUND_INCLUDED, INT32_MIN, WEFT_BOUND_INCLUDED, INT32_MAX, 7},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        buf_t *r = buf();
        weft_bsatn_put_u8(r, (uint8_t)cases[c].lo_kind);
        if (cases[c].lo_kind != WEFT_BOUND_UNBOUNDED) weft_bsatn_put_u32(r, (uint32_t)cases[c].lo);
        weft_bsatn_put_u8(r, (uint8_t)cases[c].hi_kind);
        if (cases[c].hi_kind != WEFT_BOUND_UNBOUNDED) weft_bsatn_put_u32(r, (uint32_t)cases[c].hi);
        uint64_t h;
        uint32_t ids[8];
        ASSERT_EQ_INT(weft_tables_index_scan(f->t, 0, 0, r->p, r->len, &h), 0);
        size_t n = drain(f, h, ids, 8);
        if (n != cases[c].want) FAIL("case %zu: %zu rows, want %zu", c, n, cases[c].want);
        /* in age order */
        for (size_t i = 1; i < n; i++) ASSERT_TRUE(ages[ids[i - 1]] <= ages[ids[i]]);
        /* a row is in the range (a subscription's filter) exactly when a scan finds it */
        size_t in = 0;
        for (uint32_t i = 0; i < 7; i++) {
            snprintf(name, sizeof name, "p%u", i);
            buf_t *row = person(i, name, ages[i], NULL);
            int rc = weft_tables_range_contains(f->s, 0, 0, r->p, r->len, row->p, row->len);
            ASSERT_TRUE(rc == 0 || rc == 1);
            in += (size_t)rc;
        }
        if (in != cases[c].want) FAIL("case %zu: %zu rows contained, want %zu", c, in, cases[c].want);
    }
    /* a two-column index: (age, name) from (1, "p5") inclusive */
    buf_t *r = buf();
    weft_bsatn_put_u8(r, WEFT_BOUND_INCLUDED);
    weft_bsatn_put_u32(r, 1);
    weft_bsatn_put_str(r, "p5");
    weft_bsatn_put_u8(r, WEFT_BOUND_UNBOUNDED);
    uint64_t h;
    uint32_t ids[8];
    ASSERT_EQ_INT(weft_tables_index_scan(f->t, 0, 1, r->p, r->len, &h), 0);
    ASSERT_EQ_U64(drain(f, h, ids, 8), 2);
    ASSERT_EQ_INT(ids[0], 5);
    ASSERT_EQ_INT(ids[1], 2);
    /* malformed ranges */
    ASSERT_EQ_INT(weft_tables_index_scan(f->t, 0, 0, r->p, 3, &h), WEFT_TABLE_ETYPE);
    static const uint8_t kind3[] = {3, 2}, extra[] = {2, 2, 0};
    ASSERT_EQ_INT(weft_tables_index_scan(f->t, 0, 0, kind3, 2, &h), WEFT_TABLE_EINVAL);
    ASSERT_EQ_INT(weft_tables_index_scan(f->t, 0, 0, extra, 3, &h), WEFT_TABLE_EINVAL);
    ASSERT_EQ_INT(weft_tables_index_scan(f->t, 0, 3, extra, 2, &h), WEFT_TABLE_ENOTABLE);
    ASSERT_EQ_INT(weft_tables_index_scan(f->t, 5, 0, extra, 2, &h), WEFT_TABLE_ENOTABLE);
}

/* an index on the primary key alone reads the rows themselves: every
 * bound kind at the edges, including the row at an included lower bound */
TEST(tables_primary_key_index_is_the_rows)
{
    fx_t *f = fx();
    for (uint32_t i = 0; i < 7; i++) {
        char name[8];
        snprintf(name, sizeof name, "p%u", i);
        ASSERT_EQ_INT(insert_person(f, i * 2, name, 0), 0); /* ids 0 2 4 ... 12 */
    }
    static const struct {
        int lo_kind;
        uint32_t lo;
        int hi_kind;
        uint32_t hi;
        size_t want;
        uint32_t first;
    } cases[] = {
        {WEFT_BOUND_INCLUDED, 4, WEFT_BOUND_INCLUDED, 8, 3, 4},
        {WEFT_BOUND_EXCLUDED, 4, WEFT_BOUND_INCLUDED, 8, 2, 6},
        {WEFT_BOUND_INCLUDED, 4, WEFT_BOUND_EXCLUDED, 8, 2, 4},
        {WEFT_BOUND_INCLUDED, 4, WEFT_BOUND_INCLUDED, 4, 1, 4},
        {WEFT_BOUND_EXCLUDED, 4, WEFT_BOUND_INCLUDED, 4, 0, 0},
        {WEFT_BOUND_INCLUDED, 4, WEFT_BOUND_EXCLUDED, 4, 0, 0},
        {WEFT_BOUND_INCLUDED, 3, WEFT_BOUND_INCLUDED, 5, 1, 4},
        {WEFT_BOUND_INCLUDED, 13, WEFT_BOUND_UNBOUNDED, 0, 0, 0},
        {WEFT_BOUND_UNBOUNDED, 0, WEFT_BOUND_INCLUDED, 0, 1, 0},
        {WEFT_BOUND_INCLUDED, 0, WEFT_BOUND_UNBOUNDED, 0, 7, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        buf_t *r = buf();
        weft_bsatn_put_u8(r, (uint8_t)cases[c].lo_kind);
        if (cases[c].lo_kind != WEFT_BOUND_UNBOUNDED) weft_bsatn_put_u32(r, cases[c].lo);
        weft_bsatn_put_u8(r, (uint8_t)cases[c].hi_kind);
        if (cases[c].hi_kind != WEFT_BOUND_UNBOUNDED) weft_bsatn_put_u32(r, cases[c].hi);
        uint64_t h;
        uint32_t ids[8];
        ASSERT_EQ_INT(weft_tables_index_scan(f->t, 0, 2, r->p, r->len, &h), 0);
        size_t n = drain(f, h, ids, 8);
        if (n != cases[c].want) FAIL("case %zu: %zu rows, want %zu", c, n, cases[c].want);
        if (n) ASSERT_EQ_INT(ids[0], cases[c].first);
    }
    /* it writes no entries of its own: a delete leaves the range empty */
    uint8_t pk[4] = {4, 0, 0, 0};
    ASSERT_EQ_INT(weft_tables_delete_pk(f->t, 0, pk, 4), 0);
    uint8_t r[10] = {WEFT_BOUND_INCLUDED, 4, 0, 0, 0, WEFT_BOUND_INCLUDED, 4, 0, 0, 0};
    uint64_t h;
    uint32_t ids[2];
    ASSERT_EQ_INT(weft_tables_index_scan(f->t, 0, 2, r, sizeof r, &h), 0);
    ASSERT_EQ_U64(drain(f, h, ids, 2), 0);
}

TEST(tables_iterators_see_the_calls_own_writes)
{
    fx_t *f = fx();
    ASSERT_EQ_INT(insert_person(f, 10, "a", 0), 0);
    ASSERT_EQ_INT(insert_person(f, 20, "b", 0), 0);
    uint64_t h;
    const uint8_t *row;
    size_t len;
    ASSERT_EQ_INT(weft_tables_scan(f->t, 0, &h), 0);
    ASSERT_EQ_INT(weft_tables_next(f->t, h, 4096, &row, &len), 0);
    ASSERT_EQ_INT(row[0], 10);
    /* a row ahead of the iterator is seen, one behind it is not; a deleted
     * row ahead is not */
    ASSERT_EQ_INT(insert_person(f, 15, "c", 0), 0);
    ASSERT_EQ_INT(insert_person(f, 5, "d", 0), 0);
    uint8_t pk[4] = {20, 0, 0, 0};
    ASSERT_EQ_INT(weft_tables_delete_pk(f->t, 0, pk, 4), 0);
    ASSERT_EQ_INT(insert_person(f, 30, "e", 0), 0);
    uint32_t ids[8];
    ASSERT_EQ_U64(drain(f, h, ids, 8), 2);
    ASSERT_EQ_INT(ids[0], 15);
    ASSERT_EQ_INT(ids[1], 30);
    /* a table without primary key scans in insertion order */
    static const char *msgs[] = {"zz", "aa", "mm"};
    for (int i = 0; i < 3; i++) {
        buf_t *r = buf();
        weft_bsatn_put_str(r, msgs[i]);
        ASSERT_EQ_INT(weft_tables_insert(f->t, 1, r->p, r->len), 0);
    }
    ASSERT_EQ_INT(weft_tables_scan(f->t, 1, &h), 0);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ_INT(weft_tables_next(f->t, h, 4096, &row, &len), 0);
        ASSERT_EQ_MEM(row + 4, msgs[i], 2);
    }
    ASSERT_EQ_INT(weft_tables_next(f->t, h, 4096, &row, &len), WEFT_TABLE_ENOTFOUND);
    ASSERT_EQ_INT(weft_tables_next(f->t, h, 4096, &row, &len), WEFT_TABLE_ENOTFOUND);
}

/* scans read ahead in batches (8, 16, ... 256 rows): a long scan is whole
 * and in order across batches, and a write drops the batch, so rows the
 * call deletes ahead of the iterator are not returned and rows it inserts
 * ahead are */
TEST(tables_read_ahead_batches_and_writes)
{
    fx_t *f = fx();
    char name[16];
    for (uint32_t i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "n%u", i);
        ASSERT_EQ_INT(insert_person(f, i * 2, name, (int32_t)(i % 7)), 0);
    }
    uint64_t h;
    const uint8_t *row;
    size_t len, n = 0;
    uint32_t prev = 0;
    ASSERT_EQ_INT(weft_tables_scan(f->t, 0, &h), 0);
    while (weft_tables_next(f->t, h, 4096, &row, &len) == 0) {
        uint32_t id = (uint32_t)row[0] | (uint32_t)row[1] << 8;
        if (n) ASSERT_EQ_INT(id, prev + 2);
        prev = id;
        n++;
    }
    ASSERT_EQ_U64(n, 1000);
    /* while scanning: delete the next row, insert an odd one two ahead */
    ASSERT_EQ_INT(weft_tables_scan(f->t, 0, &h), 0);
    n = 0;
    uint32_t last = 0;
    while (weft_tables_next(f->t, h, 4096, &row, &len) == 0) {
        uint32_t id = (uint32_t)row[0] | (uint32_t)row[1] << 8;
        ASSERT_TRUE(n == 0 || id > last);
        ASSERT_TRUE(id % 4 != 2); /* the rows 2, 6, 10, ... were deleted before being reached */
        last = id;
        n++;
        if (id % 4 == 0 && id + 2 < 2000) {
            uint8_t pk[4] = {(uint8_t)(id + 2), (uint8_t)((id + 2) >> 8), 0, 0};
            ASSERT_EQ_INT(weft_tables_delete_pk(f->t, 0, pk, 4), 0);
        }
        if (id % 4 == 0 && id < 1000) {
            snprintf(name, sizeof name, "odd%u", id + 3);
            ASSERT_EQ_INT(insert_person(f, id + 3, name, 0), 0); /* ahead: seen */
        }
    }
    /* 500 rows id % 4 == 0, plus 250 odd rows inserted ahead */
    ASSERT_EQ_U64(n, 750);
    /* and a secondary index scan over 7 ages, in batches */
    uint8_t all[2] = {WEFT_BOUND_UNBOUNDED, WEFT_BOUND_UNBOUNDED};
    ASSERT_EQ_INT(weft_tables_index_scan(f->t, 0, 0, all, 2, &h), 0);
    n = 0;
    int32_t age = -1;
    while (weft_tables_next(f->t, h, 4096, &row, &len) == 0) {
        size_t nl = (size_t)row[4] | (size_t)row[5] << 8;
        int32_t a = (int32_t)((uint32_t)row[8 + nl] | (uint32_t)row[9 + nl] << 8 |
                              (uint32_t)row[10 + nl] << 16 | (uint32_t)row[11 + nl] << 24);
        ASSERT_TRUE(a >= age);
        age = a;
        n++;
    }
    ASSERT_EQ_U64(n, 750);
}

TEST(tables_small_buffers_forged_and_closed_handles)
{
    fx_t *f = fx();
    ASSERT_EQ_INT(insert_person(f, 1, "abcdef", 0), 0);
    uint64_t h;
    const uint8_t *row;
    size_t len;
    ASSERT_EQ_INT(weft_tables_scan(f->t, 0, &h), 0);
    ASSERT_TRUE(h > 0 && h < ((uint64_t)1 << 63));
    /* too small: the length, and the iterator stays on the row */
    ASSERT_EQ_INT(weft_tables_next(f->t, h, 8, &row, &len), WEFT_TABLE_ETOOSMALL);
    ASSERT_EQ_U64(len, 4 + 4 + 6 + 4 + 1);
    ASSERT_EQ_INT(weft_tables_next(f->t, h, len, &row, &len), 0);
    ASSERT_EQ_INT(weft_tables_next(f->t, h, 4096, &row, &len), WEFT_TABLE_ENOTFOUND);
    /* forged: every neighbour of a real handle */
    ASSERT_EQ_INT(weft_tables_next(f->t, h + 1, 4096, &row, &len), WEFT_TABLE_EINVAL);
    ASSERT_EQ_INT(weft_tables_next(f->t, h + (1u << 16), 4096, &row, &len), WEFT_TABLE_EINVAL);
    ASSERT_EQ_INT(weft_tables_next(f->t, 0, 4096, &row, &len), WEFT_TABLE_EINVAL);
    ASSERT_EQ_INT(weft_tables_next(f->t, UINT64_MAX, 4096, &row, &len), WEFT_TABLE_EINVAL);
    ASSERT_EQ_INT(weft_tables_close(f->t, h), 0);
    ASSERT_EQ_INT(weft_tables_close(f->t, h), WEFT_TABLE_EINVAL);
    ASSERT_EQ_INT(weft_tables_next(f->t, h, 4096, &row, &len), WEFT_TABLE_EINVAL);
    /* a reused slot gets a new generation: the old handle stays dead */
    uint64_t h2;
    ASSERT_EQ_INT(weft_tables_scan(f->t, 0, &h2), 0);
    ASSERT_NE_U64(h2, h);
    ASSERT_EQ_INT(weft_tables_next(f->t, h, 4096, &row, &len), WEFT_TABLE_EINVAL);
    /* the call's end closes it */
    weft_tables_end_call(f->t);
    weft_tables_begin_call(f->t, f->txn, ME, sizeof ME);
    ASSERT_EQ_INT(weft_tables_next(f->t, h2, 4096, &row, &len), WEFT_TABLE_EINVAL);
    /* at most WEFT_TABLES_MAX_ITERS open at once */
    for (unsigned i = 0; i < WEFT_TABLES_MAX_ITERS; i++) ASSERT_EQ_INT(weft_tables_scan(f->t, 0, &h), 0);
    ASSERT_EQ_INT(weft_tables_scan(f->t, 0, &h), WEFT_TABLE_ELIMIT);
}

TEST(tables_private_rows_belong_to_their_owner)
{
    fx_t *f = fx();
    buf_t *mine = buf(), *yours = buf();
    weft_bsatn_put_bytes(mine, ME, sizeof ME);
    weft_bsatn_put_str(mine, "m");
    weft_bsatn_put_bytes(yours, YOU, sizeof YOU);
    weft_bsatn_put_str(yours, "y");
    ASSERT_EQ_INT(weft_tables_insert(f->t, 2, mine->p, mine->len), 0);
    ASSERT_EQ_INT(weft_tables_insert(f->t, 2, yours->p, yours->len), WEFT_TABLE_EDENIED);
    weft_tables_begin_call(f->t, f->txn, YOU, sizeof YOU);
    ASSERT_EQ_INT(weft_tables_insert(f->t, 2, yours->p, yours->len), 0);
    buf_t *pk = buf();
    weft_bsatn_put_str(pk, "m");
    ASSERT_EQ_INT(weft_tables_delete_pk(f->t, 2, pk->p, pk->len), WEFT_TABLE_EDENIED);
    uint64_t h;
    const uint8_t *row;
    size_t len;
    ASSERT_EQ_INT(weft_tables_scan(f->t, 2, &h), 0);
    ASSERT_EQ_INT(weft_tables_next(f->t, h, 4096, &row, &len), 0);
    ASSERT_EQ_MEM(row + 4, YOU, sizeof YOU);
    ASSERT_EQ_INT(weft_tables_next(f->t, h, 4096, &row, &len), WEFT_TABLE_ENOTFOUND);
    /* clients never read a private table */
    buf_t *out = buf(), *next = buf();
    ASSERT_EQ_INT(weft_tables_read_json(f->s, f->txn, (const uint8_t *)"c1", 2, 2, NULL, 0, 10,
                                        out, next),
                  WEFT_TABLE_EDENIED);
}

TEST(tables_json_pages)
{
    fx_t *f = fx();
    for (uint32_t i = 0; i < 5; i++) {
        char name[4] = {'n', (char)('0' + i), 0};
        buf_t *r = person(i, name, -(int32_t)i, i == 2 ? "x\"y" : NULL);
        ASSERT_EQ_INT(weft_tables_insert(f->t, 0, r->p, r->len), 0);
    }
    buf_t *out = buf(), *next = buf(), *cur = buf();
    ASSERT_EQ_INT(weft_tables_read_json(f->s, f->txn, (const uint8_t *)"c1", 2, 0, NULL, 0, 2,
                                        out, next),
                  0);
    weft_bsatn_put_u8(out, 0);
    ASSERT_EQ_STR((char *)out->p, "[{\"id\":0,\"name\":\"n0\",\"age\":0,\"tag\":null},"
                                  "{\"id\":1,\"name\":\"n1\",\"age\":-1,\"tag\":null}]");
    ASSERT_TRUE(next->len > 0);
    size_t pages = 1;
    while (next->len) {
        cur->len = 0;
        weft_bsatn_put_raw(cur, next->p, next->len);
        out->len = 0;
        ASSERT_EQ_INT(weft_tables_read_json(f->s, f->txn, (const uint8_t *)"c1", 2, 0, cur->p,
                                            cur->len, 2, out, next),
                      0);
        pages++;
        weft_bsatn_put_u8(out, 0);
        if (pages == 2) ASSERT_CONTAINS((char *)out->p, "\"tag\":\"x\\\"y\"");
    }
    ASSERT_EQ_U64(pages, 3);
    ASSERT_EQ_STR((char *)out->p, "[{\"id\":4,\"name\":\"n4\",\"age\":-4,\"tag\":null}]");
}

/* Pages of a range of an index over equal values (by_age: three rows of
 * age 7) resume after the last row shown; the primary key is a range too,
 * declared or not; what cannot be ranged is refused. */
TEST(tables_json_range_pages)
{
    fx_t *f = fx();
    const uint8_t *c1 = (const uint8_t *)"c1";
    int32_t ages[6] = {-3, 7, 7, 7, 9, 12};
    for (uint32_t i = 0; i < 6; i++) {
        char name[4] = {'n', (char)('0' + i), 0};
        ASSERT_EQ_INT(insert_person(f, i, name, ages[i]), 0);
    }
    /* by_age in [-3, 12), two rows a page */
    buf_t *range = buf(), *out = buf(), *next = buf(), *cur = buf();
    weft_bsatn_put_u8(range, WEFT_BOUND_INCLUDED);
    weft_bsatn_put_u32(range, (uint32_t)-3);
    weft_bsatn_put_u8(range, WEFT_BOUND_EXCLUDED);
    weft_bsatn_put_u32(range, 12);
    size_t pages = 0;
    do {
        cur->len = 0;
        weft_bsatn_put_raw(cur, next->p, next->len);
        ASSERT_EQ_INT(weft_tables_range_json(f->s, f->txn, c1, 2, 0, 0, range->p, range->len,
                                             cur->p, cur->len, 2, out, next),
                      0);
        pages++;
    } while (next->len);
    weft_bsatn_put_u8(out, 0);
    ASSERT_EQ_U64(pages, 3);
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "\"n%d\"", i);
        ASSERT_CONTAINS((char *)out->p, name);
    }
    ASSERT_TRUE(strstr((char *)out->p, "\"n5\"") == NULL);
    /* the primary key without a declared index: [2, 4) */
    range->len = out->len = 0;
    weft_bsatn_put_u8(range, WEFT_BOUND_INCLUDED);
    weft_bsatn_put_u32(range, 2);
    weft_bsatn_put_u8(range, WEFT_BOUND_EXCLUDED);
    weft_bsatn_put_u32(range, 4);
    ASSERT_EQ_INT(weft_tables_range_json(f->s, f->txn, c1, 2, 0, -1, range->p, range->len, NULL,
                                         0, 10, out, next),
                  0);
    weft_bsatn_put_u8(out, 0);
    ASSERT_CONTAINS((char *)out->p, "\"id\":2,");
    ASSERT_CONTAINS((char *)out->p, "\"id\":3,");
    ASSERT_TRUE(strstr((char *)out->p, "\"id\":4,") == NULL && next->len == 0);
    /* a cursor before the range's lower bound */
    uint8_t before[4] = {0, 0, 0, 1}; /* rowkey of id 1 */
    ASSERT_EQ_INT(weft_tables_range_json(f->s, f->txn, c1, 2, 0, -1, range->p, range->len, before,
                                         4, 10, out, next),
                  WEFT_TABLE_EINVAL);
    /* no primary key, no such index, a private table, a bound of another type */
    uint8_t open[2] = {WEFT_BOUND_UNBOUNDED, WEFT_BOUND_UNBOUNDED};
    ASSERT_EQ_INT(weft_tables_range_json(f->s, f->txn, c1, 2, 1, -1, open, 2, NULL, 0, 10, out,
                                         next),
                  WEFT_TABLE_EINVAL);
    ASSERT_EQ_INT(weft_tables_range_json(f->s, f->txn, c1, 2, 0, 3, open, 2, NULL, 0, 10, out,
                                         next),
                  WEFT_TABLE_ENOTABLE);
    ASSERT_EQ_INT(weft_tables_range_json(f->s, f->txn, c1, 2, 2, -1, open, 2, NULL, 0, 10, out,
                                         next),
                  WEFT_TABLE_EDENIED);
    uint8_t short_bound[3] = {WEFT_BOUND_INCLUDED, 1, 2}; /* half an i32 */
    ASSERT_EQ_INT(weft_tables_range_json(f->s, f->txn, c1, 2, 0, 0, short_bound, 3, NULL, 0, 10,
                                         out, next),
                  WEFT_TABLE_ETYPE);
    const char *name;
    const uint8_t *type;
    size_t tl;
    ASSERT_EQ_U64(weft_schema_key_column(f->s, 0, 1, 1, &name, &type, &tl), 2);
    ASSERT_EQ_STR(name, "name");
    ASSERT_EQ_U64(weft_schema_key_column(f->s, 1, -1, 0, &name, &type, &tl), 0);
}

TEST(tables_keys_too_long_are_refused_before_any_write)
{
    fx_t *f = fx();
    char *big = malloc(2000);
    ASSERT_NOT_NULL(big);
    memset(big, 'x', 1999);
    big[1999] = 0;
    buf_t *r = buf();
    weft_bsatn_put_str(r, big);
    free(big);
    ASSERT_EQ_INT(weft_tables_insert(f->t, 1, r->p, r->len), WEFT_TABLE_EINVAL);
    uint64_t h;
    const uint8_t *row;
    size_t len;
    ASSERT_EQ_INT(weft_tables_scan(f->t, 1, &h), 0);
    ASSERT_EQ_INT(weft_tables_next(f->t, h, 4096, &row, &len), WEFT_TABLE_ENOTFOUND);
}

TEST(tables_rows_survive_commit)
{
    fx_t *f = fx();
    ASSERT_EQ_INT(insert_person(f, 7, "s", 3), 0);
    weft_tables_end_call(f->t);
    ASSERT_EQ_INT(weft_txn_commit(f->txn), 0);
    f->txn = NULL;
    ASSERT_EQ_INT(weft_txn_begin(f->db, WEFT_TXN_READ, &f->txn), 0);
    weft_tables_begin_call(f->t, f->txn, NULL, 0);
    uint64_t h;
    uint32_t ids[2];
    ASSERT_EQ_INT(weft_tables_scan(f->t, 0, &h), 0);
    ASSERT_EQ_U64(drain(f, h, ids, 2), 1);
    ASSERT_EQ_INT(ids[0], 7);
    /* another context sees none of it */
    weft_tables_t *other;
    ASSERT_EQ_INT(weft_tables_new(f->s, (const uint8_t *)"c2", 2, &other), 0);
    weft_tables_begin_call(other, f->txn, NULL, 0);
    const uint8_t *row;
    size_t len;
    ASSERT_EQ_INT(weft_tables_scan(other, 0, &h), 0);
    ASSERT_EQ_INT(weft_tables_next(other, h, 4096, &row, &len), WEFT_TABLE_ENOTFOUND);
    weft_tables_delete(other);
}

/* ---- schema changes (weft_tables_migrate) -------------------------------- */

/* The schema of schema_bytes() changed one way: '2' the compatible next
 * version (person gains nick: Option<i32> at the end and an index on it,
 * loses by_age; a new table extra), or one incompatible change: 'r' a
 * column removed, 't' retyped, 'm' moved, 'n' a new column not an
 * Option, 'k' the primary key, 'u' a unique column, 'd' a table removed. */
static weft_schema_t *schema_changed(char how)
{
    def_table_t person = {.name = "person", .unique = {"name"}};
    static const def_table_t log_table = {.name = "log", .cols = {{"msg", "\x11"}}}; /* by_msg dropped */
    static const def_table_t extra = {.name = "extra", .cols = {{"k", "\x02"}}, .pk = "k"};
    buf_t *d = buf();
    weft_schema_t *s = NULL;
    char msg[256] = "";
    size_t n = 0;
    person.cols[n++] = (def_col_t){"id", "\x02"};
    if (how == 'm') person.cols[n++] = (def_col_t){"age", "\x0a"};
    person.cols[n++] = (def_col_t){"name", "\x11"};
    if (how != 'm') person.cols[n++] = (def_col_t){"age", how == 't' ? "\x0b" : "\x0a"};
    if (how != 'r') person.cols[n++] = (def_col_t){"tag", "\x20\x11"};
    if (how == '2') person.cols[n++] = (def_col_t){"nick", "\x20\x0a"};
    if (how == 'n') person.cols[n++] = (def_col_t){"nick", "\x0a"};
    person.pk = how != 'k' ? "id" : NULL;
    if (how == 'u') person.unique[0] = NULL;
    person.idx[0] = (def_index_t){"by_age_name", {"age", "name"}};
    if (how == '2') {
        person.idx[1] = (def_index_t){"by_id", {"id"}};
        person.idx[2] = (def_index_t){"by_nick", {"nick"}};
    }
    weft_bsatn_put_u32(d, WEFT_SCHEMA_VERSION);
    weft_bsatn_put_u32(d, how == '2' ? 4 : how == 'd' ? 2 : 3);
    put_table(d, &person, WEFT_SCHEMA_VERSION);
    if (how != 'd') put_table(d, &log_table, WEFT_SCHEMA_VERSION);
    put_table(d, &secret_table, WEFT_SCHEMA_VERSION);
    if (how == '2') put_table(d, &extra, WEFT_SCHEMA_VERSION);
    weft_bsatn_put_u32(d, 0); /* no reducers */
    ASSERT_EQ_INT(d->err, 0);
    int rc = weft_schema_parse(d->p, d->len, &s, msg, sizeof msg);
    if (rc) FAIL("weft_schema_parse(%c): %d %s", how, rc, msg);
    test_defer(schema_free, s);
    return s;
}

static int count_visit(void *user, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)k, (void)kl, (void)v, (void)vl;
    ++*(size_t *)user;
    return 0;
}

/* Keys of context c1 under a prefix (with NULs: its length given). */
static size_t keys_under(fx_t *f, const char *pre, size_t len)
{
    size_t n = 0;
    ASSERT_EQ_INT(weft_txn_scan(f->txn, WEFT_SPACE_TABLES, (const uint8_t *)"c1", 2,
                                (const uint8_t *)pre, len, NULL, 0, count_visit, &n),
                  0);
    return n;
}

/* Adding a table, an Option column at the end and an index works: the
 * rows read with None there, the new index holds every row, a dropped
 * index's entries are gone. Every incompatible change is refused naming
 * its table and column, before anything is written. */
TEST(tables_migrate_adds_option_columns_and_refuses_incompatible_changes)
{
    fx_t *f = fx();
    static const struct {
        char how;
        const char *msg;
    } bad[] = {
        {'r', "table person: column tag removed"},
        {'t', "table person: column age changed its type"},
        {'m', "table person: column name moved"},
        {'n', "table person: new column nick must be an Option"},
        {'k', "table person: primary key changed (none, was id)"},
        {'u', "table person: column name is no longer unique"},
        {'d', "table log: removed"},
    };
    char msg[256];
    for (uint32_t i = 0; i < 300; i++) { /* more than one batch of the rewrite */
        char name[16];
        snprintf(name, sizeof name, "p%u", i);
        ASSERT_EQ_INT(insert_person(f, i, name, (int32_t)(i % 7) - 3), 0);
    }
    buf_t *lg = buf();
    weft_bsatn_put_str(lg, "hello");
    ASSERT_EQ_INT(weft_tables_insert(f->t, 1, lg->p, lg->len), 0);
    ASSERT_EQ_U64(keys_under(f, "i" "person\0" "by_age\0", 15), 300);
    ASSERT_EQ_U64(keys_under(f, "i" "log\0" "by_msg\0", 12), 1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        weft_schema_t *to = schema_changed(bad[i].how);
        msg[0] = '\0';
        ASSERT_EQ_INT(weft_tables_migrate(f->s, to, f->txn, (const uint8_t *)"c1", 2, msg,
                                          sizeof msg),
                      WEFT_EARG);
        ASSERT_CONTAINS(msg, bad[i].msg);
    }
    ASSERT_EQ_U64(keys_under(f, "i" "person\0" "by_age\0", 15), 300); /* untouched */

    weft_schema_t *v2 = schema_changed('2');
    ASSERT_EQ_INT(weft_tables_migrate(f->s, v2, NULL, (const uint8_t *)"c1", 2, msg, sizeof msg),
                  0);
    ASSERT_EQ_INT(weft_tables_migrate(f->s, v2, f->txn, (const uint8_t *)"c1", 2, msg,
                                      sizeof msg),
                  0);
    ASSERT_EQ_U64(keys_under(f, "i" "person\0" "by_age\0", 15), 0);
    ASSERT_EQ_U64(keys_under(f, "i" "log\0" "by_msg\0", 12), 0);
    ASSERT_EQ_U64(keys_under(f, "i" "person\0" "by_nick\0", 16), 300);
    ASSERT_EQ_U64(keys_under(f, "i" "person\0" "by_age_name\0", 20), 300);
    buf_t *out = buf(), *next = buf();
    ASSERT_EQ_INT(weft_tables_read_json(v2, f->txn, (const uint8_t *)"c1", 2, 0, NULL, 0, 1, out,
                                        next),
                  0);
    weft_bsatn_put_u8(out, 0);
    ASSERT_EQ_STR((char *)out->p,
                  "[{\"id\":0,\"name\":\"p0\",\"age\":-3,\"tag\":null,\"nick\":null}]");
    /* under v2, rows with a nick go in and range by it; the old ones hold None */
    weft_tables_t *t2;
    ASSERT_EQ_INT(weft_tables_new(v2, (const uint8_t *)"c1", 2, &t2), 0);
    weft_tables_begin_call(t2, f->txn, ME, sizeof ME);
    buf_t *r = person(1000, "nicked", 1, NULL);
    weft_bsatn_put_u8(r, 1);
    weft_bsatn_put_u32(r, 42);
    ASSERT_EQ_INT(weft_tables_insert(t2, 0, r->p, r->len), 0);
    buf_t *range = buf();
    weft_bsatn_put_u8(range, WEFT_BOUND_INCLUDED);
    weft_bsatn_put_u8(range, 1); /* Some(0) .. */
    weft_bsatn_put_u32(range, 0);
    weft_bsatn_put_u8(range, WEFT_BOUND_UNBOUNDED);
    uint64_t h;
    const uint8_t *row;
    size_t len;
    ASSERT_EQ_INT(weft_tables_index_scan(t2, 0, 2, range->p, range->len, &h), 0);
    ASSERT_EQ_INT(weft_tables_next(t2, h, 4096, &row, &len), 0);
    ASSERT_EQ_INT(row[0] | row[1] << 8, 1000);
    ASSERT_EQ_INT(weft_tables_next(t2, h, 4096, &row, &len), WEFT_TABLE_ENOTFOUND);
    weft_tables_end_call(t2);
    weft_tables_delete(t2);
}
