/*
 * test_cosm_abi.c — the Cosmictron binding (weft/cosmictron.h) end to end
 * with a real guest (guests/cosm_abi.c, built with sdk/cosmictron.h from
 * the document alone): the schema read at deploy, reducers called with
 * BSATN arguments in one transaction each, every error code, index ranges
 * at their edges, iterators under inserts, identity, timestamp, logs,
 * durable schedules, fuel, and a hostile run of random arguments.
 *
 * Each call is what the node will do: a fresh store and instance, the
 * binding begun on a write transaction, the transaction committed when the
 * reducer returned 0 and aborted otherwise. Skipped (77) when the guest
 * could not be built.
 */
#include <stdlib.h>
#include <string.h>

#include "../unit/test.h"
#include "../fuzz/fuzz_stubs.h" /* fz_read_file */
#include "../store/tmpdir.h"
#include "bufs.h"
#include "bulk_rows.h"
#include "weft/cosmictron.h"
#include "weft/error.h"
#include "weft/wasi.h"
#include "weft/weft.h"

#ifndef COSM_GUEST
#error COSM_GUEST names the guest module
#endif

typedef struct {
    weft_db_t *db;
    weft_engine_t *engine;
    weft_module_t *module;
    weft_schema_t *schema;
    int min_log_level; /* the binding's (weft_cosmictron_config_t) */
} fx_t;

static void fx_end(void *arg)
{
    fx_t *f = arg;
    weft_schema_delete(f->schema);
    weft_module_delete(f->module);
    weft_engine_delete(f->engine);
    if (f->db) weft_db_close(f->db);
    free(f);
}

static const uint8_t ME[32] = {0xAA, 1, 2, 3};

/* One instance of the guest bound to the context "ctx". */
typedef struct {
    weft_store_t *store;
    weft_linker_t *linker;
    weft_wasi_t *wasi;
    weft_cosmictron_t *cosm;
    weft_instance_t *inst;
} inst_t;

static void inst_free(inst_t *in)
{
    weft_linker_delete(in->linker);
    weft_store_delete(in->store);
    weft_wasi_delete(in->wasi);
    weft_cosmictron_delete(in->cosm);
}

static void instantiate(fx_t *f, inst_t *in, const weft_schema_t *schema)
{
    char msg[256];
    memset(in, 0, sizeof *in);
    in->store = weft_store_new(f->engine);
    in->linker = weft_linker_new(in->store);
    weft_wasi_config_t wc = weft_wasi_config_default();
    ASSERT_EQ_INT(weft_wasi_new(&wc, &in->wasi, msg, sizeof msg), 0);
    ASSERT_EQ_INT(weft_wasi_define_imports(in->wasi, in->linker, f->module), 0);
    weft_cosmictron_config_t cc = {f->db, "ctx", schema, f->min_log_level, NULL, NULL, NULL};
    ASSERT_EQ_INT(weft_cosmictron_new(&cc, &in->cosm), 0);
    ASSERT_EQ_INT(weft_cosmictron_define_imports(in->cosm, in->linker, f->module), 0);
    int rc = weft_linker_instantiate(in->linker, f->module, &in->inst);
    if (rc) FAIL("instantiate: %d %s", rc, weft_store_errmsg(in->store));
    weft_extern_t ext;
    if (weft_instance_export(in->inst, "_initialize", &ext) == 0 && ext.kind == WEFT_EXTERN_FUNC)
        ASSERT_EQ_INT(weft_func_call(in->store, ext.of.func, NULL, 0, NULL, 0), 0);
}

/* The deploy: an instance without tables describes the module. */
static fx_t *fx(void)
{
    fx_t *f = calloc(1, sizeof *f);
    char msg[256];
    size_t len;
    ASSERT_NOT_NULL(f);
    test_defer(fx_end, f);
    uint8_t *wasm = fz_read_file(COSM_GUEST, &len);
    ASSERT_NOT_NULL(wasm);
    ASSERT_EQ_INT(weft_db_open(tmpdir_new("cosm"), WEFT_DB_NOSYNC, &f->db, msg, sizeof msg), 0);
    f->engine = weft_engine_new();
    int rc = weft_module_new(f->engine, wasm, len, &f->module, msg, sizeof msg);
    free(wasm);
    if (rc) FAIL("module: %s", msg);
    inst_t in;
    instantiate(f, &in, NULL);
    rc = weft_cosmictron_read_schema(in.store, in.inst, &f->schema, msg, sizeof msg);
    inst_free(&in);
    if (rc) FAIL("read_schema: %d %s", rc, msg);
    return f;
}

typedef struct {
    int rc;         /* weft_cosmictron_invoke's */
    int32_t result; /* the reducer's */
    int trap;       /* the store's trap code */
    int committed;
    char logs[4096];
} outcome_t;

/* Calls a reducer in instance `in` as the node will: one write
 * transaction, committed when the reducer returned 0. fuel 0: unlimited.
 * The binding's changes of the call stay readable until its next call. */
static outcome_t call_in(fx_t *f, inst_t *in, const char *reducer, const uint8_t *args,
                         size_t len, const uint8_t *identity, uint64_t fuel)
{
    outcome_t o;
    weft_txn_t *txn;
    char msg[256] = "";
    memset(&o, 0, sizeof o);
    ASSERT_EQ_INT(weft_txn_begin(f->db, WEFT_TXN_WRITE, &txn), 0);
    weft_cosmictron_begin_call(in->cosm, txn, identity, identity ? 32 : 0, 0);
    if (fuel) weft_store_set_fuel(in->store, fuel);
    o.rc = weft_cosmictron_invoke(in->store, in->inst, reducer, args, len, &o.result, msg,
                                  sizeof msg);
    o.trap = o.rc == WEFT_ETRAP ? (int)weft_store_trap(in->store) : 0;
    weft_cosmictron_end_call(in->cosm);
    if (o.rc == 0 && o.result == 0 && weft_cosmictron_call_error(in->cosm) == 0) {
        ASSERT_EQ_INT(weft_txn_commit(txn), 0);
        o.committed = 1;
    } else {
        weft_txn_abort(txn);
    }
    size_t at = 0;
    for (size_t i = 0; i < weft_cosmictron_log_count(in->cosm); i++) {
        int level;
        const char *m;
        size_t ml;
        weft_cosmictron_log(in->cosm, i, &level, &m, &ml);
        at += (size_t)snprintf(o.logs + at, sizeof o.logs - at, "[%s] %s\n",
                               weft_cosmictron_level_name(level), m);
        if (at >= sizeof o.logs) at = sizeof o.logs - 1;
    }
    if (o.rc && o.rc != WEFT_ETRAP) snprintf(o.logs + at, sizeof o.logs - at, "invoke: %s", msg);
    return o;
}

/* call_in a fresh instance. */
static outcome_t call(fx_t *f, const char *reducer, const uint8_t *args, size_t len,
                      const uint8_t *identity, uint64_t fuel)
{
    inst_t in;
    instantiate(f, &in, f->schema);
    outcome_t o = call_in(f, &in, reducer, args, len, identity, fuel);
    inst_free(&in);
    return o;
}

static void expect_ok(fx_t *f, const char *reducer)
{
    outcome_t o = call(f, reducer, NULL, 0, ME, 0);
    if (o.rc || o.result)
        FAIL("%s: rc %d, result %d (the guest's failing line), logs:\n%s", reducer, o.rc,
             o.result, o.logs);
}

/* Rows of a table, read back through the tables service. */
static size_t count_rows(fx_t *f, uint32_t tid, const uint8_t *identity)
{
    weft_txn_t *txn;
    weft_tables_t *t;
    uint64_t h;
    const uint8_t *row;
    size_t len, n = 0;
    ASSERT_EQ_INT(weft_txn_begin(f->db, WEFT_TXN_READ, &txn), 0);
    ASSERT_EQ_INT(weft_tables_new(f->schema, (const uint8_t *)"ctx", 3, &t), 0);
    weft_tables_begin_call(t, txn, identity, identity ? 32 : 0);
    ASSERT_EQ_INT(weft_tables_scan(t, tid, &h), 0);
    while (weft_tables_next(t, h, 1 << 20, &row, &len) == 0) n++;
    weft_tables_delete(t);
    weft_txn_abort(txn);
    return n;
}

TEST(cosm_schema_from_describe)
{
    fx_t *f = fx();
    ASSERT_EQ_U64(weft_schema_table_count(f->schema), 4);
    ASSERT_EQ_INT(weft_schema_table_find(f->schema, "secret", 6), 2);
    ASSERT_EQ_INT(weft_schema_index_find(f->schema, 0, "by_age_name", 11), 1);
    ASSERT_EQ_U64(weft_schema_reducer_count(f->schema), 15);
    buf_t *d = buf();
    ASSERT_EQ_INT(weft_schema_describe(f->schema, d), 0);
    weft_bsatn_put_u8(d, 0);
    ASSERT_CONTAINS((char *)d->p, "table person (public): id u32 primary key, name String "
                                  "unique, age i32, tag Option<String>; index by_age (age)");
    ASSERT_CONTAINS((char *)d->p, "reducer add {name: String, age: i32}");
}

TEST(cosm_reducer_args_and_commit)
{
    fx_t *f = fx();
    buf_t *a = buf();
    weft_bsatn_put_str(a, "zed");
    weft_bsatn_put_u32(a, (uint32_t)-4);
    outcome_t o = call(f, "add", a->p, a->len, ME, 0);
    ASSERT_EQ_INT(o.rc, 0);
    ASSERT_EQ_INT(o.result, 0);
    ASSERT_EQ_U64(count_rows(f, 0, NULL), 1);
    o = call(f, "add", a->p, a->len, ME, 0); /* the same name: unique, the reducer fails */
    ASSERT_NE_INT(o.result, 0);
    ASSERT_CONTAINS(o.logs, "datastore_insert(0, b.p, b.len) == COSM_OK");
    ASSERT_EQ_U64(count_rows(f, 0, NULL), 1);
    o = call(f, "add", a->p, a->len - 1, ME, 0); /* short arguments */
    ASSERT_NE_INT(o.result, 0);
    o = call(f, "nope", a->p, a->len, ME, 0);
    ASSERT_EQ_INT(o.rc, WEFT_ENOTFOUND);
    ASSERT_CONTAINS(o.logs, "no reducer nope");
}

TEST(cosm_every_error_code)
{
    fx_t *f = fx();
    expect_ok(f, "errors");
}

TEST(cosm_index_ranges_at_their_edges)
{
    fx_t *f = fx();
    expect_ok(f, "ranges");
}

TEST(cosm_iterators_under_inserts)
{
    fx_t *f = fx();
    expect_ok(f, "iter_inserts");
    ASSERT_EQ_U64(count_rows(f, 0, NULL), 4 + 1 + 50);
}

/* 1 when row is bulk_rows.h's row i: a String of bulk_len(i) bytes. */
static int is_bulk_row(uint32_t i, const uint8_t *row, size_t len)
{
    uint32_t n = bulk_len(i);
    if (len != 4 + (size_t)n || row[0] != (uint8_t)n || row[1] != (uint8_t)(n >> 8) ||
        row[2] != (uint8_t)(n >> 16) || row[3] != (uint8_t)(n >> 24))
        return 0;
    for (uint32_t j = 0; j < n; j++)
        if (row[4 + j] != bulk_byte(i, j)) return 0;
    return 1;
}

/* The binding's changes of its last call: bulk's rows 0 to n-1, in order. */
static void expect_bulk_changes(weft_cosmictron_t *c, uint32_t n)
{
    ASSERT_EQ_U64(weft_cosmictron_change_count(c), n);
    for (uint32_t i = 0; i < n; i++) {
        int op;
        uint32_t tid;
        const uint8_t *row;
        size_t len;
        ASSERT_EQ_INT(weft_cosmictron_change(c, i, &op, &tid, &row, &len), 0);
        ASSERT_EQ_INT(op, 'i');
        ASSERT_EQ_U64(tid, 1);
        if (!is_bulk_row(i, row, len)) FAIL("change %u: not bulk row %u (%zu bytes)", i, i, len);
    }
}

/* The log table holds, in row order, bulk's rows 0 to runs[k]-1 for
 * each committed run k. */
static void expect_bulk_table(fx_t *f, const uint32_t *runs, size_t nruns)
{
    weft_txn_t *txn;
    weft_tables_t *t;
    uint64_t h;
    const uint8_t *row;
    size_t len;
    ASSERT_EQ_INT(weft_txn_begin(f->db, WEFT_TXN_READ, &txn), 0);
    ASSERT_EQ_INT(weft_tables_new(f->schema, (const uint8_t *)"ctx", 3, &t), 0);
    weft_tables_begin_call(t, txn, NULL, 0);
    ASSERT_EQ_INT(weft_tables_scan(t, 1, &h), 0);
    for (size_t k = 0; k < nruns; k++)
        for (uint32_t i = 0; i < runs[k]; i++) {
            ASSERT_EQ_INT(weft_tables_next(t, h, 1 << 20, &row, &len), 0);
            if (!is_bulk_row(i, row, len)) FAIL("run %zu row %u: wrong bytes (%zu)", k, i, len);
        }
    ASSERT_NE_INT(weft_tables_next(t, h, 1 << 20, &row, &len), 0); /* nothing more */
    weft_tables_delete(t);
    weft_txn_abort(txn);
}

static outcome_t bulk(fx_t *f, inst_t *in, uint32_t n, int fail)
{
    buf_t *a = buf();
    weft_bsatn_put_u32(a, n);
    weft_bsatn_put_u8(a, (uint8_t)fail);
    return call_in(f, in, "bulk", a->p, a->len, ME, 0);
}

/* Regression (3ab65d3): a call's row changes are copied into 64 KiB
 * blocks, the first kept for the instance's next call. A call whose
 * changes fill a block exactly, then take a block longer than 64 KiB for
 * one row, then cross several more; committed, then rolled back, then
 * committed again in the same binding (its blocks reused): every change
 * and every stored row has its own bytes, and the rolled-back call's rows
 * are not stored. */
TEST(cosm_changes_across_64k_blocks_commit_and_roll_back)
{
    fx_t *f = fx();
    inst_t in;
    instantiate(f, &in, f->schema);
    outcome_t o = bulk(f, &in, 200, 0);
    if (o.rc || o.result) FAIL("bulk: %d %d\n%s", o.rc, o.result, o.logs);
    ASSERT_TRUE(o.committed);
    expect_bulk_changes(in.cosm, 200);
    const uint32_t one[] = {200};
    expect_bulk_table(f, one, 1);

    o = bulk(f, &in, 150, 1); /* fails: rolled back */
    ASSERT_EQ_INT(o.rc, 0);
    ASSERT_EQ_INT(o.result, 1);
    ASSERT_FALSE(o.committed);
    expect_bulk_changes(in.cosm, 150); /* what the failed call wrote, never committed */
    expect_bulk_table(f, one, 1);

    o = bulk(f, &in, 120, 0);
    if (o.rc || o.result) FAIL("bulk again: %d %d\n%s", o.rc, o.result, o.logs);
    expect_bulk_changes(in.cosm, 120);
    const uint32_t two[] = {200, 120};
    expect_bulk_table(f, two, 2);
    inst_free(&in);
}

TEST(cosm_identity_timestamp_logs)
{
    fx_t *f = fx();
    outcome_t o = call(f, "context", NULL, 0, ME, 0);
    if (o.rc || o.result) FAIL("context: %d %d\n%s", o.rc, o.result, o.logs);
    ASSERT_CONTAINS(o.logs, "[trace] level 0\n[debug] level 1\n[info] level 2\n[warn] level 3\n"
                            "[error] level 4\n[error] clamped\n[info] ts ");
    /* the secret is ME's: another identity sees none of it */
    ASSERT_EQ_U64(count_rows(f, 2, ME), 1);
    static const uint8_t other[32] = {7};
    ASSERT_EQ_U64(count_rows(f, 2, other), 0);
}

/* min_log_level: console.log lines below it are not kept (weft serve
 * --log-level); levels out of 0-4 are clamped first */
TEST(cosm_logs_below_the_level_are_not_kept)
{
    fx_t *f = fx();
    f->min_log_level = 3;
    outcome_t o = call(f, "context", NULL, 0, ME, 0);
    if (o.rc || o.result) FAIL("context: %d %d\n%s", o.rc, o.result, o.logs);
    ASSERT_EQ_STR(o.logs, "[warn] level 3\n[error] level 4\n[error] clamped\n");
}

typedef struct {
    uint64_t handles[4];
    int64_t at[4];
    size_t n;
} sched_t;

static int on_schedule(void *user, uint64_t handle, int64_t at_us, const char *reducer,
                       size_t reducer_len, const uint8_t *args, size_t args_len)
{
    sched_t *s = user;
    if (s->n < 4 && reducer_len == 4 && memcmp(reducer, "tick", 4) == 0 && args_len == 8 &&
        args[0] == 7) {
        s->handles[s->n] = handle;
        s->at[s->n] = at_us;
    }
    s->n++;
    return 0;
}

TEST(cosm_schedules_are_durable_and_cancelled_ones_gone)
{
    fx_t *f = fx();
    expect_ok(f, "schedule");
    weft_txn_t *txn;
    sched_t s = {0};
    ASSERT_EQ_INT(weft_txn_begin(f->db, WEFT_TXN_READ, &txn), 0);
    ASSERT_EQ_INT(weft_cosmictron_schedules(txn, (const uint8_t *)"ctx", 3, on_schedule, &s), 0);
    weft_txn_abort(txn);
    ASSERT_EQ_U64(s.n, 1);
    ASSERT_EQ_U64(s.handles[0], 2);
    ASSERT_GT_INT(s.at[0], 1600000000000000ll);
    /* a schedule made by a call that fails is not kept */
    outcome_t o = call(f, "errors", NULL, 0, ME, 0); /* commits: nothing scheduled */
    ASSERT_EQ_INT(o.result, 0);
}

TEST(cosm_iterator_limit_is_code_7)
{
    fx_t *f = fx();
    expect_ok(f, "iter_limit");
}

TEST(cosm_fuel_runs_out_in_host_calls)
{
    fx_t *f = fx();
    outcome_t o = call(f, "burn", NULL, 0, ME, 200000);
    ASSERT_EQ_INT(o.rc, WEFT_ETRAP);
    ASSERT_EQ_INT(o.trap, WEFT_TRAP_OUT_OF_FUEL);
    ASSERT_FALSE(o.committed);
    ASSERT_EQ_U64(count_rows(f, 0, NULL), 0);
}

TEST(cosm_hostile_guest)
{
    fx_t *f = fx();
    for (uint64_t seed = 1; seed <= 6; seed++) {
        buf_t *a = buf();
        weft_bsatn_put_u64(a, seed * 0x9E3779B97F4A7C15ull);
        outcome_t o = call(f, "hostile", a->p, a->len, seed % 2 ? ME : NULL, 0);
        if (o.rc || o.result)
            FAIL("seed %llu: rc %d result %d\n%s", (unsigned long long)seed, o.rc, o.result,
                 o.logs);
    }
    /* the data directory is still sound: the schema's tables scan */
    (void)count_rows(f, 0, NULL);
    (void)count_rows(f, 1, NULL);
    ASSERT_EQ_INT(weft_db_verify(f->db, NULL, NULL), 0);
}
