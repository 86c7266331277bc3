/*
 * test_calimero.c — the Calimero ABI (weft/calimero.h) driven directly,
 * the way an embedder does: a data directory in a temporary directory, a
 * weft_calimero_t on it, the C guests of guests/ (written from the
 * document through sdk/calimero.h) linked with
 * weft_calimero_define_imports, and each call bracketed by a write
 * transaction that commits unless the call trapped or returned Err.
 * Every return convention, every VMLimits bound at and one past the
 * limit, and every error name the document lists is checked here; a
 * hostile guest runs over many seeds. One CTest test per TEST (label abi).
 */
#include <sodium.h>
#include <stdlib.h>

#include <weft/calimero.h>
#include <weft/crdt_store.h>
#include <weft/db.h>

#include "harness.h"
#include "../store/tmpdir.h"

typedef struct {
    fixture_t fx;
    weft_db_t *db;
    weft_calimero_t *cal;
    int rc;       /* weft_func_call's, of the last call */
    int kind;     /* what value_return set */
    const uint8_t *out;
    size_t out_len;
} cx_t;

static void db_close_cb(void *p) { weft_db_close(p); }
static void cal_delete_cb(void *p) { weft_calimero_delete(p); }

static const uint8_t NODE[32] = {0x11, 0x22, 0x33};

/* The embedder's outbound HTTP hook the next cx_open gives (NULL: none). */
static weft_http_fetch_fn cx_fetch;
static void *cx_fetch_user;

/* Guest `guest` on a Calimero context "ctx" of data directory db (NULL:
 * a new one), as node `node` (NULL: NODE). */
static void cx_open(cx_t *c, const char *guest, weft_db_t *db, const uint8_t *node)
{
    char msg[256];
    memset(c, 0, sizeof *c);
    c->db = db;
    if (!db) {
        ASSERT_OK(weft_db_open(tmpdir_new("calimero"), WEFT_DB_NOSYNC, &c->db, msg, sizeof msg));
        test_defer(db_close_cb, c->db);
    }
    weft_calimero_config_t cfg = {0};
    cfg.db = c->db;
    cfg.context = "ctx";
    cfg.node_id = node ? node : NODE;
    cfg.node_id_len = 32;
    cfg.fetch = cx_fetch;
    cfg.fetch_user = cx_fetch_user;
    ASSERT_OK(weft_calimero_new(&cfg, &c->cal));
    test_defer(cal_delete_cb, c->cal);
    fx_open(&c->fx, guest);
    weft_limits_config_t lim = weft_store_limits(c->fx.store);
    weft_calimero_store_limits(c->cal, &lim);
    ASSERT_OK(weft_store_set_limits(c->fx.store, &lim));
    ASSERT_OK(weft_calimero_define_imports(c->cal, c->fx.linker, c->fx.module));
    fx_instantiate(&c->fx);
    weft_extern_t init;
    if (weft_instance_export(c->fx.inst, "_initialize", &init) == 0)
        ASSERT_OK_S(c->fx.store, weft_func_call(c->fx.store, init.of.func, NULL, 0, NULL, 0));
}

/* One call of export fn with input in, by executor exec (NULL: the
 * node); commits unless it trapped, returned Err or met a store error.
 * Returns weft_func_call's code. */
static int view_call; /* 1: cx_call_as runs a view on a read transaction */
static uint64_t call_as_of; /* weft_calimero_call_t.delta_as_of of cx_call_as */

static int cx_call_as(cx_t *c, const char *fn, const void *in, size_t len, const uint8_t *exec)
{
    weft_txn_t *txn;
    weft_extern_t f;
    ASSERT_OK(weft_instance_export(c->fx.inst, fn, &f));
    ASSERT_OK(weft_txn_begin(c->db, view_call ? WEFT_TXN_READ : WEFT_TXN_WRITE, &txn));
    weft_calimero_call_t call = {.input = in, .input_len = len, .executor = exec,
                                 .view = view_call, .delta_as_of = call_as_of};
    weft_calimero_begin_call(c->cal, txn, &call);
    c->rc = weft_func_call(c->fx.store, f.of.func, NULL, 0, NULL, 0);
    weft_calimero_end_call(c->cal);
    c->kind = weft_calimero_return(c->cal, &c->out, &c->out_len);
    if (c->rc == 0 && c->kind != WEFT_CALIMERO_ERR && weft_calimero_call_error(c->cal) == 0 &&
        !view_call)
        ASSERT_OK(weft_txn_commit(txn));
    else
        weft_txn_abort(txn);
    return c->rc;
}

static int cx_call(cx_t *c, const char *fn, const void *in, size_t len)
{
    return cx_call_as(c, fn, in, len, NULL);
}

/* The call returned Ok with exactly these bytes. */
#define ASSERT_OK_BYTES(c, bytes, n)                                          \
    do {                                                                      \
        ASSERT_OK_S((c)->fx.store, (c)->rc);                                  \
        ASSERT_EQ_INT((c)->kind, WEFT_CALIMERO_OK);                           \
        ASSERT_EQ_INT((c)->out_len, (n));                                     \
        ASSERT_EQ_MEM((c)->out, (bytes), (n));                                \
    } while (0)
#define ASSERT_OK_STR(c, s) ASSERT_OK_BYTES(c, s, strlen(s))

/* The call trapped with host error `name`, named in the message too. */
#define ASSERT_CAL_TRAP(c, name)                                              \
    do {                                                                      \
        ASSERT_EQ_INT((c)->rc, WEFT_ETRAP);                                   \
        ASSERT_EQ_STR(weft_calimero_error_name((c)->cal), name);              \
        ASSERT_CONTAINS(weft_store_trap_message((c)->fx.store), ": " name ": "); \
    } while (0)

static uint32_t u32_of(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t u64_of(const uint8_t *p)
{
    return (uint64_t)u32_of(p) | (uint64_t)u32_of(p + 4) << 32;
}

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Input of up to four u32s. */
static size_t args4(uint8_t *b, uint32_t a, uint32_t b2, uint32_t c, uint32_t d)
{
    le32(b, a);
    le32(b + 4, b2);
    le32(b + 8, c);
    le32(b + 12, d);
    return 16;
}

/* ---- the function table --------------------------------------------------------- */

/* Every function of the document, with its exact signature (the
 * document's table, transcribed), is listed, defined, and either
 * implemented or trapping "not supported yet". */
TEST(every_function_of_the_document_is_listed_with_its_signature)
{
    static const struct {
        const char *name, *params, *result;
    } doc[] = {
        {"panic", "I", ""}, {"panic_utf8", "II", ""}, {"register_len", "I", "I"},
        {"read_register", "II", "i"}, {"context_id", "I", ""}, {"executor_id", "I", ""},
        {"input", "I", ""}, {"value_return", "I", ""}, {"log_utf8", "I", ""},
        {"js_std_d_print", "III", "i"}, {"emit", "I", ""}, {"emit_with_handler", "II", ""},
        {"xcall", "I", ""}, {"storage_read", "II", "i"}, {"storage_write", "III", "i"},
        {"storage_remove", "II", "i"}, {"private_storage_read", "II", "i"},
        {"private_storage_write", "II", "i"}, {"private_storage_remove", "II", "i"},
        {"commit", "II", ""}, {"persist_root_state", "III", ""}, {"read_root_state", "I", "i"},
        {"apply_storage_delta", "I", ""}, {"flush_delta", "", "i"},
        {"js_crdt_map_new", "I", "i"}, {"js_crdt_map_get", "III", "i"},
        {"js_crdt_map_insert", "IIII", "i"}, {"js_crdt_map_remove", "III", "i"},
        {"js_crdt_map_contains", "II", "i"}, {"js_crdt_map_iter", "II", "i"},
        {"js_crdt_vector_new", "I", "i"}, {"js_crdt_vector_len", "II", "i"},
        {"js_crdt_vector_push", "II", "i"}, {"js_crdt_vector_get", "III", "i"},
        {"js_crdt_vector_pop", "II", "i"}, {"js_crdt_set_new", "I", "i"},
        {"js_crdt_set_insert", "II", "i"}, {"js_crdt_set_contains", "II", "i"},
        {"js_crdt_set_remove", "II", "i"}, {"js_crdt_set_len", "II", "i"},
        {"js_crdt_set_iter", "II", "i"}, {"js_crdt_set_clear", "I", "i"},
        {"js_crdt_lww_new", "I", "i"}, {"js_crdt_lww_set", "IIi", "i"},
        {"js_crdt_lww_get", "II", "i"}, {"js_crdt_lww_timestamp", "II", "i"},
        {"js_crdt_counter_new", "I", "i"}, {"js_crdt_counter_increment", "I", "i"},
        {"js_crdt_counter_value", "II", "i"}, {"js_crdt_counter_get_executor_count", "IIiI", "i"},
        {"js_user_storage_new", "I", "i"}, {"js_user_storage_insert", "III", "i"},
        {"js_user_storage_get", "II", "i"}, {"js_user_storage_get_for_user", "III", "i"},
        {"js_user_storage_remove", "II", "i"}, {"js_user_storage_contains", "I", "i"},
        {"js_user_storage_contains_user", "II", "i"}, {"js_frozen_storage_new", "I", "i"},
        {"js_frozen_storage_add", "III", "i"}, {"js_frozen_storage_get", "III", "i"},
        {"js_frozen_storage_contains", "II", "i"}, {"context_create", "IIII", ""},
        {"context_delete", "I", ""}, {"context_add_member", "I", ""},
        {"context_remove_member", "I", ""}, {"context_is_member", "I", "i"},
        {"context_members", "I", ""}, {"context_resolve_alias", "II", "i"},
        {"blob_create", "", "I"}, {"blob_write", "II", "I"}, {"blob_close", "II", "i"},
        {"blob_open", "I", "I"}, {"blob_read", "II", "I"},
        {"blob_announce_to_context", "II", "i"}, {"send_proposal", "II", ""},
        {"approve_proposal", "I", ""}, {"fetch", "IIIII", "i"}, {"random_bytes", "I", ""},
        {"time_now", "I", ""}, {"ed25519_verify", "III", "i"},
    };
    size_t n = sizeof doc / sizeof doc[0];
    ASSERT_EQ_INT(weft_calimero_func_count(), n);
    for (size_t d = 0; d < n; d++) {
        size_t i = 0;
        const char *name = NULL;
        weft_functype_t *ft = NULL;
        for (; i < n; i++) {
            ASSERT_OK(weft_calimero_func(i, &name, &ft));
            if (strcmp(name, doc[d].name) == 0) break;
            weft_functype_delete(ft);
        }
        if (i == n) FAIL("%s is not listed", doc[d].name);
        weft_functype_t *want = h_functype(doc[d].params, doc[d].result);
        if (!weft_functype_equal(ft, want)) FAIL("%s has another signature", doc[d].name);
        weft_functype_delete(ft);
    }
    ASSERT_RC(weft_calimero_func(n, &(const char *){0}, &(weft_functype_t *){0}), WEFT_ENOTFOUND);
}

/* ---- registers, ids, input and output ---------------------------------------------- */

TEST(value_return_ok_err_and_none)
{
    cx_t c;
    cx_open(&c, "cal_basic", NULL, NULL);
    cx_call(&c, "echo", "hello", 5);
    ASSERT_OK_STR(&c, "hello");
    cx_call(&c, "echo", "", 0);
    ASSERT_OK_STR(&c, "");
    cx_call(&c, "fail", "bad input", 9);
    ASSERT_OK_S(c.fx.store, c.rc);
    ASSERT_EQ_INT(c.kind, WEFT_CALIMERO_ERR);
    ASSERT_EQ_MEM(c.out, "bad input", 9);
    cx_call(&c, "nothing", NULL, 0);
    ASSERT_EQ_INT(c.kind, WEFT_CALIMERO_NONE);
    cx_call(&c, "twice", NULL, 0); /* the last value_return wins */
    ASSERT_OK_STR(&c, "second");
    cx_call(&c, "value_return_bad_tag", NULL, 0);
    ASSERT_CAL_TRAP(&c, "DeserializationError");
}

TEST(context_id_is_sha256_of_the_name_and_executor_is_the_callers)
{
    cx_t c;
    uint8_t want[64], exec[32];
    cx_open(&c, "cal_basic", NULL, NULL);
    crypto_hash_sha256(want, (const uint8_t *)"ctx", 3);
    memcpy(want + 32, NODE, 32);
    cx_call(&c, "ids", NULL, 0);
    ASSERT_OK_BYTES(&c, want, 64);
    memset(exec, 0x5a, sizeof exec);
    memcpy(want + 32, exec, 32);
    cx_call_as(&c, "ids", NULL, 0, exec);
    ASSERT_OK_BYTES(&c, want, 64);
}

TEST(registers_missing_mismatch_and_reuse)
{
    cx_t c;
    cx_open(&c, "cal_basic", NULL, NULL);
    cx_call(&c, "registers", "abcde", 5);
    ASSERT_OK_STR(&c, "ok");
    cx_call(&c, "read_missing", NULL, 0);
    ASSERT_CAL_TRAP(&c, "InvalidRegisterId");
}

/* max_registers (100): 100 registers fit, the 101st is refused with the
 * real system's error, InvalidMemoryAccess; registers do not outlive a
 * call. */
TEST(max_registers_at_and_past_the_limit)
{
    cx_t c;
    uint8_t in[16];
    cx_open(&c, "cal_basic", NULL, NULL);
    cx_call(&c, "fill_registers", in, args4(in, 100, 0, 0, 0));
    ASSERT_OK_S(c.fx.store, c.rc);
    cx_call(&c, "fill_registers", in, args4(in, 101, 0, 0, 0));
    ASSERT_CAL_TRAP(&c, "InvalidMemoryAccess");
    ASSERT_CONTAINS(weft_store_trap_message(c.fx.store), "max_registers");
    cx_call(&c, "fill_registers", in, args4(in, 100, 0, 0, 0));
    ASSERT_OK_S(c.fx.store, c.rc);
}

/* max_register_size: a register of the limit fits, one byte more does
 * not (limits made small so the test stays small). */
TEST(max_register_size_at_and_past_the_limit)
{
    cx_t c;
    char msg[256];
    memset(&c, 0, sizeof c);
    ASSERT_OK(weft_db_open(tmpdir_new("calimero"), WEFT_DB_NOSYNC, &c.db, msg, sizeof msg));
    test_defer(db_close_cb, c.db);
    weft_calimero_limits_t lim = weft_calimero_limits_default();
    lim.max_register_size = 5;
    weft_calimero_config_t cfg = {.db = c.db, .context = "ctx", .limits = &lim};
    ASSERT_OK(weft_calimero_new(&cfg, &c.cal));
    test_defer(cal_delete_cb, c.cal);
    fx_open(&c.fx, "cal_basic");
    ASSERT_OK(weft_calimero_define(c.cal, c.fx.linker));
    fx_instantiate(&c.fx);
    cx_call(&c, "echo", "12345", 5);
    ASSERT_OK_STR(&c, "12345");
    cx_call(&c, "echo", "123456", 6);
    ASSERT_CAL_TRAP(&c, "InvalidMemoryAccess");
}

/* max_memory_pages (1024) and max_stack_size (200 KiB of value stack)
 * bound the store: memory grows to 1024 pages and not one more, and a
 * recursion that fits the engine's default stack exhausts this one; both
 * pass with the engine's defaults. */
TEST(memory_pages_and_stack_bound_the_store)
{
    cx_t c;
    weft_val_t arg, res;
    cx_open(&c, "cal_limits", NULL, NULL);
    arg = weft_val_i32(1022); /* 1 + 1022 = 1023 pages */
    ASSERT_OK_S(c.fx.store, fx_call(&c.fx, "grow", &arg, 1, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 1);
    arg = weft_val_i32(2); /* 1025: past the limit */
    ASSERT_OK_S(c.fx.store, fx_call(&c.fx, "grow", &arg, 1, &res, 1));
    ASSERT_EQ_INT(res.of.i32, -1);
    arg = weft_val_i32(1); /* 1024: at the limit */
    ASSERT_OK_S(c.fx.store, fx_call(&c.fx, "grow", &arg, 1, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 1023);
    arg = weft_val_i32(100);
    ASSERT_OK_S(c.fx.store, fx_call(&c.fx, "rec", &arg, 1, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 100);
    arg = weft_val_i32(5000); /* about 360 KB of frames */
    ASSERT_TRAP(c.fx.store, fx_call(&c.fx, "rec", &arg, 1, &res, 1), WEFT_TRAP_STACK_EXHAUSTED);

    fixture_t d; /* the same module with the engine's defaults */
    fx_open(&d, "cal_limits");
    weft_calimero_t *cal = c.cal;
    ASSERT_OK(weft_calimero_define(cal, d.linker));
    fx_instantiate(&d);
    ASSERT_OK_S(d.store, fx_call(&d, "rec", &arg, 1, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 5000);
    arg = weft_val_i32(1024);
    ASSERT_OK_S(d.store, fx_call(&d, "grow", &arg, 1, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 1);
}

static int only_shop(void *user, weft_txn_t *txn, const char *name)
{
    (void)user;
    (void)txn;
    return strcmp(name, "shop") == 0;
}

/* context_resolve_alias asks the embedder; the id is SHA-256 of the name. */
TEST(context_resolve_alias_answers_the_embedders_contexts)
{
    cx_t c;
    char msg[256];
    uint8_t want[36];
    memset(&c, 0, sizeof c);
    ASSERT_OK(weft_db_open(tmpdir_new("calimero"), WEFT_DB_NOSYNC, &c.db, msg, sizeof msg));
    test_defer(db_close_cb, c.db);
    weft_calimero_config_t cfg = {.db = c.db, .context = "ctx", .context_exists = only_shop};
    ASSERT_OK(weft_calimero_new(&cfg, &c.cal));
    test_defer(cal_delete_cb, c.cal);
    fx_open(&c.fx, "cal_basic");
    ASSERT_OK(weft_calimero_define(c.cal, c.fx.linker));
    fx_instantiate(&c.fx);
    cx_call(&c, "resolve", "shop", 4);
    le32(want, 1);
    crypto_hash_sha256(want + 4, (const uint8_t *)"shop", 4);
    ASSERT_OK_BYTES(&c, want, 36);
    cx_call(&c, "resolve", "shops", 5);
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "resolve", "", 0);
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
}

/* ---- panics --------------------------------------------------------------------- */

TEST(panics_carry_file_line_column_and_message)
{
    cx_t c;
    cx_open(&c, "cal_basic", NULL, NULL);
    cx_call(&c, "panic_loc", NULL, 0);
    ASSERT_CAL_TRAP(&c, "Panic");
    ASSERT_CONTAINS(weft_store_trap_message(c.fx.store), "explicit panic at src/lib.rs:7:9");
    cx_call(&c, "panic_msg", NULL, 0);
    ASSERT_CAL_TRAP(&c, "Panic");
    ASSERT_CONTAINS(weft_store_trap_message(c.fx.store), "balance too low at src/app.rs:12:5");
}

/* ---- logs and events ---------------------------------------------------------------- */

TEST(logs_at_and_past_max_logs_and_max_log_size)
{
    cx_t c;
    uint8_t in[16];
    const char *m;
    size_t ml;
    cx_open(&c, "cal_basic", NULL, NULL);
    cx_call(&c, "logs", in, args4(in, 100, 16384, 0, 0));
    ASSERT_OK_S(c.fx.store, c.rc);
    ASSERT_EQ_INT(weft_calimero_log_count(c.cal), 100);
    ASSERT_OK(weft_calimero_log(c.cal, 99, &m, &ml));
    ASSERT_EQ_INT(ml, 16384);
    ASSERT_EQ_MEM(m, "abcdef", 6);
    cx_call(&c, "logs", in, args4(in, 101, 1, 0, 0));
    ASSERT_CAL_TRAP(&c, "LogsOverflow");
    cx_call(&c, "logs", in, args4(in, 1, 16385, 0, 0));
    ASSERT_CAL_TRAP(&c, "LogLengthOverflow");
    cx_call(&c, "log_bad_utf8", NULL, 0);
    ASSERT_CAL_TRAP(&c, "BadUTF8");
    cx_call(&c, "print", NULL, 0);
    ASSERT_OK_STR(&c, "ok");
    ASSERT_OK(weft_calimero_log(c.cal, 0, &m, &ml));
    ASSERT_EQ_STR(m, "from quickjs");
}

TEST(events_at_and_past_every_event_limit)
{
    cx_t c;
    uint8_t in[16];
    const char *kind, *handler;
    const uint8_t *data;
    size_t kl, dl, hl;
    cx_open(&c, "cal_basic", NULL, NULL);
    cx_call(&c, "events", in, args4(in, 100, 100, 16384, 0));
    ASSERT_OK_S(c.fx.store, c.rc);
    ASSERT_EQ_INT(weft_calimero_event_count(c.cal), 100);
    ASSERT_OK(weft_calimero_event(c.cal, 0, &kind, &kl, &data, &dl, &handler, &hl));
    ASSERT_EQ_INT(kl, 100);
    ASSERT_EQ_INT(dl, 16384);
    ASSERT_NULL(handler);
    cx_call(&c, "events", in, args4(in, 2, 3, 4, 5));
    ASSERT_OK_S(c.fx.store, c.rc);
    ASSERT_OK(weft_calimero_event(c.cal, 1, &kind, &kl, &data, &dl, &handler, &hl));
    ASSERT_EQ_STR(kind, "ABC");
    ASSERT_EQ_STR(handler, "ABCDE");
    cx_call(&c, "events", in, args4(in, 101, 1, 1, 0));
    ASSERT_CAL_TRAP(&c, "EventsOverflow");
    cx_call(&c, "events", in, args4(in, 1, 101, 1, 0));
    ASSERT_CAL_TRAP(&c, "EventKindSizeOverflow");
    cx_call(&c, "events", in, args4(in, 1, 1, 16385, 0));
    ASSERT_CAL_TRAP(&c, "EventDataSizeOverflow");
    cx_call(&c, "event_bad_kind", NULL, 0);
    ASSERT_CAL_TRAP(&c, "BadUTF8");
}

/* ---- memory exchange ---------------------------------------------------------------- */

TEST(bad_descriptors_are_invalid_memory_access)
{
    cx_t c;
    uint8_t in[16];
    cx_open(&c, "cal_basic", NULL, NULL);
    size_t mem = weft_memory_size(fx_memory(&c.fx, "memory"));
    static const uint64_t descs[] = {UINT64_MAX, UINT64_MAX - 15, (uint64_t)1 << 32};
    for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++) {
        le64(in, descs[i]);
        cx_call(&c, "log_at", in, 8);
        ASSERT_CAL_TRAP(&c, "InvalidMemoryAccess");
    }
    le64(in, mem - 15); /* the descriptor's last byte past the end */
    cx_call(&c, "log_at", in, 8);
    ASSERT_CAL_TRAP(&c, "InvalidMemoryAccess");
    /* data ranges: ending exactly at the end is fine, one past is not,
     * and ptr + len must not wrap */
    le64(in, mem - 4);
    le64(in + 8, 4);
    cx_call(&c, "log_range", in, 16);
    ASSERT_OK_S(c.fx.store, c.rc);
    le64(in + 8, 5);
    cx_call(&c, "log_range", in, 16);
    ASSERT_CAL_TRAP(&c, "InvalidMemoryAccess");
    le64(in, 16);
    le64(in + 8, UINT64_MAX - 8);
    cx_call(&c, "log_range", in, 16); /* the log limit comes first */
    ASSERT_CAL_TRAP(&c, "LogLengthOverflow");
    le64(in, UINT64_MAX - 2);
    le64(in + 8, 4);
    cx_call(&c, "log_range", in, 16);
    ASSERT_CAL_TRAP(&c, "InvalidMemoryAccess");
}

/* ---- utility ------------------------------------------------------------------------ */

TEST(utility_random_time_fetch_and_ed25519)
{
    cx_t c;
    uint8_t pk[32], sk[64], in[96 + 5];
    cx_open(&c, "cal_basic", NULL, NULL);
    cx_call(&c, "utility", NULL, 0);
    ASSERT_OK_S(c.fx.store, c.rc);
    ASSERT_EQ_INT(c.out_len, 8);
    cx_call(&c, "time_bad", NULL, 0);
    ASSERT_CAL_TRAP(&c, "InvalidMemoryAccess");
    crypto_sign_keypair(pk, sk);
    memcpy(in, pk, 32);
    memcpy(in + 96, "hello", 5);
    crypto_sign_detached(in + 32, NULL, in + 96, 5, sk);
    cx_call(&c, "verify", in, sizeof in);
    ASSERT_OK_BYTES(&c, "\1\0\0\0", 4);
    in[100] ^= 1;
    cx_call(&c, "verify", in, sizeof in);
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "verify_short_sig", NULL, 0);
    ASSERT_CAL_TRAP(&c, "InvalidMemoryAccess");
    cx_call(&c, "unsupported", NULL, 0); /* send_proposal with an id of 0 bytes */
    ASSERT_CAL_TRAP(&c, "InvalidMemoryAccess");
    ASSERT_CONTAINS(weft_store_trap_message(c.fx.store), "a proposal id is 32 bytes");
}

/* A stand-in for the node's outbound HTTP: records the request, answers
 * with `rc` and, for 0, status and body. */
typedef struct {
    int rc, status;
    const char *body;
    char seen[512];
} fake_http_t;

static int fake_fetch(void *user, const weft_http_request_t *req, weft_http_response_t *resp,
                      char *msg, size_t msg_size)
{
    fake_http_t *f = user;
    int n = snprintf(f->seen, sizeof f->seen, "%s %s", req->method, req->url);
    for (size_t i = 0; i < req->nheaders && n > 0 && (size_t)n < sizeof f->seen; i++)
        n += snprintf(f->seen + n, sizeof f->seen - (size_t)n, " [%s=%s]", req->headers[i].name,
                      req->headers[i].value);
    if (n > 0 && (size_t)n < sizeof f->seen)
        snprintf(f->seen + n, sizeof f->seen - (size_t)n, " body=%.*s", (int)req->body_len,
                 (const char *)req->body);
    snprintf(msg, msg_size, "fake says no (%d)", f->rc);
    if (f->rc) return f->rc;
    resp->status = f->status;
    resp->body_len = strlen(f->body);
    resp->body = (uint8_t *)strdup(f->body);
    return 0;
}

/* fetch's input for cal_net: url, method, headers (as given), body */
static size_t fetch_in(uint8_t *b, const char *url, size_t ul, const char *method,
                       const uint8_t *hs, size_t hl, const char *body)
{
    size_t n = 0, ml = strlen(method);
    le32(b, (uint32_t)ul);
    memcpy(b + 4, url, ul);
    n = 4 + ul;
    le32(b + n, (uint32_t)ml);
    memcpy(b + n + 4, method, ml);
    n += 4 + ml;
    le32(b + n, (uint32_t)hl);
    memcpy(b + n + 4, hs, hl);
    n += 4 + hl;
    memcpy(b + n, body, strlen(body));
    return n + strlen(body);
}

/* The answer of cal_net's fetch is result, register bytes. */
static void fetch_answer(cx_t *c, uint32_t result, const char *reg)
{
    ASSERT_OK_S(c->fx.store, c->rc);
    ASSERT_EQ_INT(c->kind, WEFT_CALIMERO_OK);
    ASSERT_EQ_INT(u32_of(c->out), result);
    ASSERT_EQ_INT(u32_of(c->out + 4), strlen(reg));
    ASSERT_EQ_MEM(c->out + 8, reg, strlen(reg));
}

/* fetch through the embedder's hook: the Borsh headers, method, URL and
 * body reach it; 0 and the body for 100-399, 1 and the body for 400 and
 * up, 1 and the reason for a denial or no answer; a malformed header list
 * and a URL that is not UTF-8 without NUL trap with their names. */
TEST(fetch_goes_through_the_embedders_hook)
{
    cx_t c;
    fake_http_t f = {.rc = 0, .status = 200, .body = "pong"};
    uint8_t in[512];
    /* Vec<(String, String)>: [("X-A", "1"), ("Accept", "*")] */
    static const uint8_t hs[] = {2, 0, 0, 0, 3, 0, 0, 0, 'X', '-', 'A', 1, 0, 0, 0, '1',
                                 6, 0, 0, 0, 'A', 'c', 'c', 'e', 'p', 't', 1, 0, 0, 0, '*'};
    static const uint8_t none[] = {0, 0, 0, 0};
    cx_fetch = fake_fetch;
    cx_fetch_user = &f;
    cx_open(&c, "cal_net", NULL, NULL);
    cx_fetch = NULL;
    cx_fetch_user = NULL;
    const char *url = "http://api.test/p?q=1";
    cx_call(&c, "fetch", in, fetch_in(in, url, strlen(url), "POST", hs, sizeof hs, "ping"));
    fetch_answer(&c, 0, "pong");
    ASSERT_EQ_STR(f.seen, "POST http://api.test/p?q=1 [X-A=1] [Accept=*] body=ping");
    f.status = 302;
    cx_call(&c, "fetch", in, fetch_in(in, url, strlen(url), "GET", none, 4, ""));
    fetch_answer(&c, 0, "pong");
    ASSERT_EQ_STR(f.seen, "GET http://api.test/p?q=1 body=");
    f.status = 404;
    cx_call(&c, "fetch", in, fetch_in(in, url, strlen(url), "GET", none, 4, ""));
    fetch_answer(&c, 1, "pong");
    f.rc = WEFT_ENOTFOUND;
    cx_call(&c, "fetch", in, fetch_in(in, url, strlen(url), "GET", none, 4, ""));
    fetch_answer(&c, 1, "fake says no (-7)");
    f.rc = WEFT_EIO;
    cx_call(&c, "fetch", in, fetch_in(in, url, strlen(url), "GET", none, 4, ""));
    fetch_answer(&c, 1, "fake says no (-9)");
    /* malformed headers: short, a count past the bytes, a byte left over */
    static const uint8_t bad1[] = {1, 0, 0}, bad2[] = {9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                         bad3[] = {0, 0, 0, 0, 7};
    const uint8_t *bad[] = {bad1, bad2, bad3};
    size_t badl[] = {sizeof bad1, sizeof bad2, sizeof bad3};
    for (int i = 0; i < 3; i++) {
        cx_call(&c, "fetch", in, fetch_in(in, url, strlen(url), "GET", bad[i], badl[i], ""));
        ASSERT_CAL_TRAP(&c, "DeserializationError");
    }
    cx_call(&c, "fetch", in, fetch_in(in, "http://a\0b/", 11, "GET", none, 4, ""));
    ASSERT_CAL_TRAP(&c, "BadUTF8");
    cx_call(&c, "fetch", in, fetch_in(in, "http://\xff/", 8, "GET", none, 4, ""));
    ASSERT_CAL_TRAP(&c, "BadUTF8");
}

/* Without a hook (weft run, a bare binding) fetch is the document's:
 * 1, with the reason in the register for calimero-sdk's Err. */
TEST(fetch_without_a_hook_returns_1_and_says_why)
{
    cx_t c;
    uint8_t in[128];
    static const uint8_t none[] = {0, 0, 0, 0};
    cx_open(&c, "cal_net", NULL, NULL);
    cx_call(&c, "fetch", in, fetch_in(in, "http://x/", 9, "GET", none, 4, ""));
    fetch_answer(&c, 1, "outbound HTTP is not allowed here");
}

/* xcall queues (context id, function, params) for the embedder, within
 * its limits. */
TEST(xcalls_are_queued_within_their_limits)
{
    cx_t c;
    uint8_t in[44];
    const uint8_t *id, *params;
    const char *fn;
    size_t fl, pl;
    cx_open(&c, "cal_basic", NULL, NULL);
    memset(in, 0x77, 32);
    le32(in + 32, 100);
    le32(in + 36, 100);
    le32(in + 40, 5);
    cx_call(&c, "xcalls", in, sizeof in);
    ASSERT_OK_S(c.fx.store, c.rc);
    ASSERT_EQ_INT(weft_calimero_xcall_count(c.cal), 100);
    ASSERT_OK(weft_calimero_xcall(c.cal, 99, &id, &fn, &fl, &params, &pl));
    ASSERT_EQ_MEM(id, in, 32);
    ASSERT_EQ_INT(fl, 100);
    ASSERT_EQ_INT(pl, 5);
    ASSERT_EQ_MEM(params, "abcde", 5);
    le32(in + 32, 101);
    cx_call(&c, "xcalls", in, sizeof in);
    ASSERT_CAL_TRAP(&c, "XCallsOverflow");
    le32(in + 32, 1);
    le32(in + 36, 101);
    cx_call(&c, "xcalls", in, sizeof in);
    ASSERT_CAL_TRAP(&c, "XCallFunctionSizeOverflow");
    cx_call(&c, "nothing", NULL, 0); /* a new call forgets them */
    ASSERT_EQ_INT(weft_calimero_xcall_count(c.cal), 0);
}

/* ---- storage ------------------------------------------------------------------------ */

static size_t kv(uint8_t *b, const char *k, const char *v)
{
    le32(b, (uint32_t)strlen(k));
    memcpy(b + 4, k, strlen(k));
    memcpy(b + 4 + strlen(k), v, strlen(v));
    return 4 + strlen(k) + strlen(v);
}

TEST(storage_returns_and_old_values)
{
    cx_t c;
    uint8_t in[64];
    cx_open(&c, "cal_storage", NULL, NULL);
    cx_call(&c, "get", "k", 1);
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "put", in, kv(in, "k", "v1"));
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "put", in, kv(in, "k", "v2"));
    ASSERT_OK_BYTES(&c, "\1\0\0\0v1", 6);
    cx_call(&c, "get", "k", 1);
    ASSERT_OK_BYTES(&c, "\1\0\0\0v2", 6);
    cx_call(&c, "del", "k", 1);
    ASSERT_OK_BYTES(&c, "\1\0\0\0v2", 6);
    cx_call(&c, "del", "k", 1);
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "get", "k", 1);
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "put", in, kv(in, "", "empty key"));
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "get", "", 0);
    ASSERT_OK_BYTES(&c, "\1\0\0\0empty key", 13);
    /* an Err return rolls the call's writes back */
    cx_call(&c, "put_then_fail", in, kv(in, "r", "x"));
    ASSERT_EQ_INT(c.kind, WEFT_CALIMERO_ERR);
    cx_call(&c, "get", "r", 1);
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
}

/* The key and value limits (1 MiB, 10 MiB) at and one past: values over
 * one op's size are stored in chunks and read back whole. */
TEST(storage_key_and_value_limits)
{
    cx_t c;
    uint8_t in[16];
    cx_open(&c, "cal_storage", NULL, NULL);
    cx_call(&c, "put_big", in, args4(in, 1u << 20, 10u << 20, 7, 0));
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "check_big", in, args4(in, 1u << 20, 10u << 20, 7, 0));
    ASSERT_OK_BYTES(&c, "\1\0\0\0", 4);
    cx_call(&c, "put_big", in, args4(in, (1u << 20) + 1, 1, 7, 0));
    ASSERT_CAL_TRAP(&c, "KeyLengthOverflow");
    cx_call(&c, "put_big", in, args4(in, 8, (10u << 20) + 1, 7, 0));
    ASSERT_CAL_TRAP(&c, "ValueLengthOverflow");
    /* overwrite a chunked value with a small one and back */
    cx_call(&c, "put_big", in, args4(in, 1u << 20, 3, 8, 0));
    ASSERT_OK_BYTES(&c, "\1\0\0\0", 4);
    cx_call(&c, "check_big", in, args4(in, 1u << 20, 3, 8, 0));
    ASSERT_OK_BYTES(&c, "\1\0\0\0", 4);
    cx_call(&c, "put_big", in, args4(in, 1024, (1u << 20) + 5, 9, 0));
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "check_big", in, args4(in, 1024, (1u << 20) + 5, 9, 0));
    ASSERT_OK_BYTES(&c, "\1\0\0\0", 4);
    /* private storage has the same limits */
    cx_call(&c, "put_big", in, args4(in, 1u << 20, 10u << 20, 3, 1));
    ASSERT_OK_BYTES(&c, "\1\0\0\0", 4);
    cx_call(&c, "check_big", in, args4(in, 1u << 20, 10u << 20, 3, 1));
    ASSERT_OK_BYTES(&c, "\1\0\0\0", 4);
    cx_call(&c, "put_big", in, args4(in, (1u << 20) + 1, 1, 7, 1));
    ASSERT_CAL_TRAP(&c, "KeyLengthOverflow");
    cx_call(&c, "put_big", in, args4(in, 8, (10u << 20) + 1, 7, 1));
    ASSERT_CAL_TRAP(&c, "ValueLengthOverflow");
}

static int count_origin(void *user, const uint8_t *origin, uint64_t seq)
{
    (void)origin;
    (void)seq;
    (*(int *)user)++;
    return 0;
}

/* A view reads; every synced write traps, a private write is
 * "unavailable" (0). */
TEST(views_read_and_cannot_write)
{
    cx_t c;
    uint8_t in[64];
    cx_open(&c, "cal_storage", NULL, NULL);
    cx_call(&c, "put", in, kv(in, "k", "v"));
    cx_call(&c, "pput", in, kv(in, "p", "kept"));
    view_call = 1;
    cx_call(&c, "get", "k", 1);
    ASSERT_OK_BYTES(&c, "\1\0\0\0v", 5);
    cx_call(&c, "put", in, kv(in, "k", "w"));
    ASSERT_EQ_INT(c.rc, WEFT_ETRAP);
    ASSERT_CONTAINS(weft_store_trap_message(c.fx.store), "a view cannot write");
    cx_call(&c, "pput", in, kv(in, "p", "x"));
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "pdel", "p", 1);
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "root_persist", "doc", 3);
    ASSERT_EQ_INT(c.rc, WEFT_ETRAP);
    view_call = 0;
    cx_call(&c, "pget", "p", 1);
    ASSERT_OK_BYTES(&c, "\1\0\0\0kept", 8);
}

/* Host work is charged to fuel (docs/nx.md "Fuel"): storing a 1 MiB value
 * costs at least its bytes (1/16 unit each, read from the guest and
 * stored) on top of the same guest work without the write, and a budget
 * between the two runs out in the host call. */
TEST(host_work_is_charged_to_fuel)
{
    cx_t c;
    uint8_t in[16];
    const uint64_t budget = 1000000000;
    cx_open(&c, "cal_storage", NULL, NULL);
    weft_store_set_fuel(c.fx.store, budget);
    cx_call(&c, "put_big", in, args4(in, 8, 1u << 20, 1, 2)); /* generate only */
    ASSERT_OK_S(c.fx.store, c.rc);
    uint64_t guest = budget - weft_store_fuel(c.fx.store);
    weft_store_set_fuel(c.fx.store, budget);
    cx_call(&c, "put_big", in, args4(in, 8, 1u << 20, 1, 0));
    ASSERT_OK_S(c.fx.store, c.rc);
    uint64_t host = budget - weft_store_fuel(c.fx.store) - guest;
    ASSERT_GT_U64(host, 2 * ((1u << 20) / 16));
    weft_store_set_fuel(c.fx.store, guest + host / 2);
    cx_call(&c, "put_big", in, args4(in, 8, 1u << 20, 2, 0));
    ASSERT_EQ_INT(c.rc, WEFT_ETRAP);
    ASSERT_EQ_INT(weft_store_trap(c.fx.store), WEFT_TRAP_OUT_OF_FUEL);
    weft_store_disable_fuel(c.fx.store);
}

/* Private storage answers like storage and is never in the op-log. */
TEST(private_storage_is_local)
{
    cx_t c;
    uint8_t in[64];
    weft_txn_t *txn;
    cx_open(&c, "cal_storage", NULL, NULL);
    cx_call(&c, "pget", "p", 1);
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "pput", in, kv(in, "p", "secret"));
    ASSERT_OK_BYTES(&c, "\1\0\0\0", 4);
    cx_call(&c, "pget", "p", 1);
    ASSERT_OK_BYTES(&c, "\1\0\0\0secret", 10);
    cx_call(&c, "get", "p", 1); /* not synced storage */
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "pdel", "p", 1);
    ASSERT_OK_BYTES(&c, "\1\0\0\0secret", 10);
    cx_call(&c, "pdel", "p", 1);
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "pput", in, kv(in, "q", "x"));
    /* the context's version vector is empty: no op was ever logged */
    ASSERT_OK(weft_txn_begin(c.db, WEFT_TXN_READ, &txn));
    int origins = 0;
    ASSERT_OK(weft_crdt_version_vector(txn, (const uint8_t *)"ctx", 3, count_origin, &origins));
    weft_txn_abort(txn);
    ASSERT_EQ_INT(origins, 0);
}

TEST(commit_once_root_state_and_deltas)
{
    cx_t c;
    uint8_t in[16], root[32];
    const uint8_t *r, *art;
    size_t al;
    cx_open(&c, "cal_storage", NULL, NULL);
    cx_call(&c, "commit", in, args4(in, 0, 0, 0, 0));
    ASSERT_OK_S(c.fx.store, c.rc);
    ASSERT_EQ_INT(weft_calimero_commit(c.cal, &r, &art, &al), 0);
    cx_call(&c, "commit", in, args4(in, 1, 0, 0, 0));
    ASSERT_OK_S(c.fx.store, c.rc);
    ASSERT_EQ_INT(weft_calimero_commit(c.cal, &r, &art, &al), 1);
    memset(root, 0xab, sizeof root);
    ASSERT_EQ_MEM(r, root, 32);
    ASSERT_EQ_INT(al, 8);
    ASSERT_EQ_MEM(art, "artifact", 8);
    cx_call(&c, "commit", in, args4(in, 2, 0, 0, 0));
    ASSERT_CAL_TRAP(&c, "DuplicateCommit");
    cx_call(&c, "commit_short_root", NULL, 0);
    ASSERT_CAL_TRAP(&c, "InvalidMemoryAccess");
    cx_call(&c, "root_read", NULL, 0);
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "root_persist", "the root doc", 12);
    ASSERT_OK_S(c.fx.store, c.rc);
    cx_call(&c, "root_read", NULL, 0);
    ASSERT_OK_BYTES(&c, "\1\0\0\0the root doc", 16);
    cx_call(&c, "delta_empty", NULL, 0);
    ASSERT_OK_BYTES(&c, "\1\0\0\0", 4);
    cx_call(&c, "delta_bad", NULL, 0);
    ASSERT_CAL_TRAP(&c, "DeserializationError");
}

/* weft's StorageDelta::Actions: 0 Write { key, value }, 1 Remove { key }. */
typedef struct {
    uint8_t b[512];
    size_t len;
} delta_t;

static void delta_begin(delta_t *d, uint32_t n)
{
    d->b[0] = 0;
    le32(d->b + 1, n);
    d->len = 5;
}

static void delta_vec(delta_t *d, const char *s)
{
    le32(d->b + d->len, (uint32_t)strlen(s));
    memcpy(d->b + d->len + 4, s, strlen(s));
    d->len += 4 + strlen(s);
}

static void delta_write(delta_t *d, const char *k, const char *v)
{
    d->b[d->len++] = 0;
    delta_vec(d, k);
    delta_vec(d, v);
}

static void delta_remove(delta_t *d, const char *k)
{
    d->b[d->len++] = 1;
    delta_vec(d, k);
}

/* The synced value of key k in a cal_sync context is v (NULL: absent). */
static void sync_value(cx_t *c, const char *k, const char *v)
{
    uint8_t want[64];
    cx_call(c, "get", k, strlen(k));
    le32(want, v != NULL);
    if (v) memcpy(want + 4, v, strlen(v));
    ASSERT_OK_BYTES(c, want, 4 + (v ? strlen(v) : 0));
}

static int ops_of(cx_t *c, const uint8_t node[32])
{
    weft_txn_t *txn;
    weft_crdt_node_t n;
    ASSERT_OK(weft_txn_begin(c->db, WEFT_TXN_READ, &txn));
    ASSERT_OK(weft_crdt_node_load(txn, (const uint8_t *)"ctx", 3, node, &n));
    weft_txn_abort(txn);
    return (int)(n.next_seq - 1);
}

/* apply_storage_delta applies weft's Write and Remove actions to synced
 * storage; one that would change nothing writes nothing; in a call that
 * applies a peer's artifact (delta_as_of) a key written since stays; a
 * malformed delta applies nothing and traps with its name. */
TEST(apply_storage_delta_writes_removes_and_keeps_newer_values)
{
    cx_t c;
    delta_t d;
    cx_open(&c, "cal_sync", NULL, NULL);
    delta_begin(&d, 3);
    delta_write(&d, "a", "one");
    delta_write(&d, "b", "two");
    delta_remove(&d, "none");
    cx_call(&c, "apply", d.b, d.len);
    ASSERT_OK_BYTES(&c, "\1\0\0\0", 4);
    sync_value(&c, "a", "one");
    sync_value(&c, "b", "two");
    sync_value(&c, "none", NULL);
    int ops = ops_of(&c, NODE);
    ASSERT_EQ_INT(ops, 2);
    cx_call(&c, "apply", d.b, d.len); /* again: nothing to change */
    ASSERT_OK_S(c.fx.store, c.rc);
    ASSERT_EQ_INT(ops_of(&c, NODE), ops);
    delta_begin(&d, 2);
    delta_remove(&d, "a");
    delta_write(&d, "b", "");
    cx_call(&c, "apply", d.b, d.len);
    ASSERT_OK_S(c.fx.store, c.rc);
    sync_value(&c, "a", NULL);
    sync_value(&c, "b", "");
    /* as a peer's artifact committed before b's last write and a's
     * removal: they stay, c (never written) is written; committed after
     * them: b is written */
    delta_begin(&d, 3);
    delta_write(&d, "a", "old");
    delta_write(&d, "b", "old");
    delta_write(&d, "c", "old");
    call_as_of = 1;
    cx_call(&c, "apply", d.b, d.len);
    call_as_of = 0;
    ASSERT_OK_S(c.fx.store, c.rc);
    sync_value(&c, "a", NULL);
    sync_value(&c, "b", "");
    sync_value(&c, "c", "old");
    call_as_of = UINT64_MAX;
    cx_call(&c, "apply", d.b, d.len);
    call_as_of = 0;
    sync_value(&c, "b", "old");
    /* malformed: an unknown action, a short vector, trailing bytes; a
     * view cannot apply actions (but an empty delta is nothing to write) */
    ops = ops_of(&c, NODE);
    delta_begin(&d, 2);
    delta_write(&d, "a", "x");
    d.b[d.len++] = 2;
    cx_call(&c, "apply", d.b, d.len);
    ASSERT_CAL_TRAP(&c, "DeserializationError");
    delta_begin(&d, 1);
    delta_write(&d, "a", "x");
    cx_call(&c, "apply", d.b, d.len - 1);
    ASSERT_CAL_TRAP(&c, "DeserializationError");
    d.b[d.len++] = 0;
    cx_call(&c, "apply", d.b, d.len);
    ASSERT_CAL_TRAP(&c, "DeserializationError");
    ASSERT_EQ_INT(ops_of(&c, NODE), ops);
    sync_value(&c, "a", "old");
    view_call = 1;
    cx_call(&c, "apply", d.b, d.len - 1);
    view_call = 0;
    ASSERT_EQ_INT(c.rc, WEFT_ETRAP);
    delta_begin(&d, 0);
    view_call = 1;
    cx_call(&c, "apply", d.b, d.len);
    view_call = 0;
    ASSERT_OK_BYTES(&c, "\1\0\0\0", 4);
}

/* Synced storage is the store's CRDT state: a second node that applies
 * the first's op-log has the same values, and concurrent writes of one
 * key converge on both, whatever the order. */
typedef struct {
    weft_txn_t *dst;
    int rc;
} copy_t;

static int copy_op(void *user, const uint8_t *op, size_t len)
{
    copy_t *cp = user;
    cp->rc = weft_crdt_apply_remote(cp->dst, op, len, 0);
    return cp->rc != 0;
}

static void replicate(cx_t *from, cx_t *to)
{
    weft_txn_t *src, *dst;
    ASSERT_OK(weft_txn_begin(from->db, WEFT_TXN_READ, &src));
    ASSERT_OK(weft_txn_begin(to->db, WEFT_TXN_WRITE, &dst));
    copy_t cp = {dst, 0};
    ASSERT_OK(weft_crdt_missing(src, (const uint8_t *)"ctx", 3, NULL, 0, copy_op, &cp));
    weft_txn_abort(src);
    ASSERT_OK(cp.rc);
    ASSERT_OK(weft_txn_commit(dst));
}

TEST(synced_storage_converges_through_the_op_log)
{
    cx_t a, b;
    uint8_t in[64], node_b[32] = {0x99};
    cx_open(&a, "cal_storage", NULL, NULL);
    cx_open(&b, "cal_storage", NULL, node_b);
    cx_call(&a, "put", in, kv(in, "k", "from a"));
    cx_call(&b, "put", in, kv(in, "k", "from b"));
    cx_call(&a, "pput", in, kv(in, "p", "a only"));
    replicate(&a, &b);
    replicate(&b, &a);
    cx_call(&a, "get", "k", 1);
    uint8_t got[64];
    size_t gl = a.out_len;
    memcpy(got, a.out, gl);
    cx_call(&b, "get", "k", 1);
    ASSERT_OK_BYTES(&b, got, gl);
    ASSERT_EQ_INT(u32_of(got), 1);
    cx_call(&b, "pget", "p", 1);
    ASSERT_OK_BYTES(&b, "\0\0\0\0", 4);
}

/* Members answer at once; additions and removals are queued to the end of
 * the call and commit (or vanish) with it. */
TEST(context_members_queue_changes_to_the_end_of_the_call)
{
    cx_t c;
    uint8_t a[32], b[32], want[4 + 64];
    memset(a, 0xaa, sizeof a);
    memset(b, 0x0b, sizeof b);
    cx_open(&c, "cal_storage", NULL, NULL);
    cx_call(&c, "members", NULL, 0);
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "add_member", a, 32);
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "is_member", a, 32);
    ASSERT_OK_BYTES(&c, "\1\0\0\0", 4);
    cx_call(&c, "add_member", b, 32);
    cx_call(&c, "members", NULL, 0);
    le32(want, 2);
    memcpy(want + 4, b, 32); /* id order */
    memcpy(want + 36, a, 32);
    ASSERT_OK_BYTES(&c, want, sizeof want);
    cx_call(&c, "remove_member", a, 32);
    cx_call(&c, "is_member", a, 32);
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "add_member_then_fail", a, 32);
    ASSERT_EQ_INT(c.kind, WEFT_CALIMERO_ERR);
    cx_call(&c, "is_member", a, 32);
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    cx_call(&c, "member_short_key", NULL, 0);
    ASSERT_CAL_TRAP(&c, "InvalidMemoryAccess");
}

/* Governance: Borsh Vec<ProposalAction> of weft's actions (0 AddMember,
 * 1 RemoveMember, 2 SetContextValue, 3 DeleteProposal). */
typedef struct {
    uint8_t b[512];
    size_t len;
} actions_t;

static void act_begin(actions_t *a, uint32_t n)
{
    le32(a->b, n);
    a->len = 4;
}

static void act_key(actions_t *a, uint8_t kind, const uint8_t key[32])
{
    a->b[a->len++] = kind;
    memcpy(a->b + a->len, key, 32);
    a->len += 32;
}

static void act_set(actions_t *a, const char *k, const char *v)
{
    a->b[a->len++] = 2;
    le32(a->b + a->len, (uint32_t)strlen(k));
    memcpy(a->b + a->len + 4, k, strlen(k));
    a->len += 4 + strlen(k);
    le32(a->b + a->len, (uint32_t)strlen(v));
    memcpy(a->b + a->len + 4, v, strlen(v));
    a->len += 4 + strlen(v);
}

/* The synced value of key k is v (NULL: absent). */
static void gov_value(cx_t *c, const char *k, const char *v)
{
    uint8_t want[64];
    cx_call(c, "get", k, strlen(k));
    if (!v) {
        ASSERT_OK_BYTES(c, "\0\0\0\0", 4);
        return;
    }
    le32(want, 1);
    memcpy(want + 4, v, strlen(v));
    ASSERT_OK_BYTES(c, want, 4 + strlen(v));
}

static int gov_is_member(cx_t *c, const uint8_t key[32])
{
    cx_call(c, "is_member", key, 32);
    ASSERT_OK_S(c->fx.store, c->rc);
    return c->out[0];
}

/* Makes the four keys the context's members. */
static void members4(cx_t *c, const uint8_t *k1, const uint8_t *k2, const uint8_t *k3,
                     const uint8_t *k4)
{
    const uint8_t *keys[4] = {k1, k2, k3, k4};
    for (int i = 0; i < 4; i++) {
        cx_call(c, "add_member", keys[i], 32);
        ASSERT_OK_S(c->fx.store, c->rc);
    }
}

/* A proposal applies once more than half of the members approved it: with
 * four members, two approvals do nothing (one approving twice neither) and
 * the third applies every action; a non-member's approval does not count. */
TEST(governance_applies_a_proposal_approved_by_more_than_half_of_the_members)
{
    cx_t c;
    uint8_t a[32], b[32], d[32], x[32], z[32], id[32];
    actions_t acts;
    memset(a, 0xa1, 32);
    memset(b, 0xb2, 32);
    memset(d, 0xd3, 32);
    memset(x, 0x77, 32);
    memset(z, 0x55, 32);
    cx_open(&c, "cal_storage", NULL, NULL);
    members4(&c, NODE, a, b, d);
    act_begin(&acts, 2);
    act_key(&acts, 0, x);
    act_set(&acts, "gov", "yes");
    cx_call(&c, "propose", acts.b, acts.len); /* by the node: 1 of 4 */
    ASSERT_OK_S(c.fx.store, c.rc);
    ASSERT_EQ_INT(c.out_len, 32);
    memcpy(id, c.out, 32);
    cx_call_as(&c, "approve", id, 32, z); /* not a member: does not count */
    ASSERT_OK_S(c.fx.store, c.rc);
    cx_call_as(&c, "approve", id, 32, a); /* 2 of 4: not more than half */
    cx_call_as(&c, "approve", id, 32, a);
    ASSERT_OK_S(c.fx.store, c.rc);
    ASSERT_EQ_INT(gov_is_member(&c, x), 0);
    gov_value(&c, "gov", NULL);
    cx_call_as(&c, "approve", id, 32, b); /* 3 of 4 */
    ASSERT_OK_S(c.fx.store, c.rc);
    ASSERT_EQ_INT(gov_is_member(&c, x), 1);
    gov_value(&c, "gov", "yes");
    /* applied once: a later approval changes nothing again */
    cx_call(&c, "put", "\3\0\0\0govnow", 10);
    cx_call_as(&c, "approve", id, 32, d);
    ASSERT_OK_S(c.fx.store, c.rc);
    gov_value(&c, "gov", "now");
    /* a proposal to remove x, by a member: 1 of 5 (x is one now) */
    act_begin(&acts, 1);
    act_key(&acts, 1, x);
    cx_call_as(&c, "propose", acts.b, acts.len, a);
    memcpy(id, c.out, 32);
    cx_call_as(&c, "approve", id, 32, b);
    ASSERT_EQ_INT(gov_is_member(&c, x), 1);
    cx_call_as(&c, "approve", id, 32, d); /* 3 of 5 */
    ASSERT_EQ_INT(gov_is_member(&c, x), 0);
}

/* weft_calimero_gov_settle on db c as its node: how many it applied. */
static int gov_settle(cx_t *c)
{
    weft_txn_t *txn;
    ASSERT_OK(weft_txn_begin(c->db, WEFT_TXN_WRITE, &txn));
    weft_calimero_call_t call = {0};
    weft_calimero_begin_call(c->cal, txn, &call);
    int n = weft_calimero_gov_settle(c->cal, 1);
    weft_calimero_end_call(c->cal);
    ASSERT_TRUE(n >= 0);
    ASSERT_OK(weft_txn_commit(txn));
    return n;
}

/* Two approvals made at once on two nodes, each short alone (2 of 4),
 * pass once merged (3 of 4): settling applies the proposal on the lowest
 * approving member only, once; the other gets it by replication. */
TEST(governance_approvals_passing_only_merged_apply_once_on_the_lowest_approver)
{
    cx_t a, b;
    uint8_t node_b[32] = {0x99}, c3[32], d4[32], id[32];
    actions_t acts;
    memset(c3, 0xc3, 32);
    memset(d4, 0xd4, 32);
    cx_open(&a, "cal_storage", NULL, NULL);
    cx_open(&b, "cal_storage", NULL, node_b);
    members4(&a, NODE, node_b, c3, d4);
    act_begin(&acts, 1);
    act_set(&acts, "gov", "merged");
    cx_call(&a, "propose", acts.b, acts.len); /* NODE: 1 of 4 */
    ASSERT_OK_S(a.fx.store, a.rc);
    memcpy(id, a.out, 32);
    replicate(&a, &b);
    cx_call_as(&a, "approve", id, 32, c3); /* on a: NODE and c3, 2 of 4 */
    ASSERT_OK_S(a.fx.store, a.rc);
    cx_call(&b, "approve", id, 32); /* on b: NODE and node_b, 2 of 4 */
    ASSERT_OK_S(b.fx.store, b.rc);
    gov_value(&a, "gov", NULL);
    gov_value(&b, "gov", NULL);
    ASSERT_EQ_INT(gov_settle(&a), 0); /* not passed yet */
    replicate(&a, &b);
    replicate(&b, &a);
    /* both see 3 of 4 now; NODE (0x11...) is the lowest approver */
    ASSERT_EQ_INT(gov_settle(&b), 0);
    gov_value(&b, "gov", NULL);
    int before = ops_of(&a, NODE);
    ASSERT_EQ_INT(gov_settle(&a), 1);
    gov_value(&a, "gov", "merged");
    ASSERT_EQ_INT(ops_of(&a, NODE), before + 2); /* the value and the mark */
    ASSERT_EQ_INT(gov_settle(&a), 0); /* once */
    replicate(&a, &b);
    gov_value(&b, "gov", "merged");
    ASSERT_EQ_INT(gov_settle(&b), 0);
    ASSERT_EQ_INT(gov_settle(&a), 0);
}

/* With the node its context's only member, its own proposal applies at
 * once; a DeleteProposal action stops another proposal for good. */
TEST(governance_one_member_applies_at_once_and_a_deleted_proposal_never_applies)
{
    cx_t c;
    uint8_t a[32], id1[32], id2[32];
    actions_t acts;
    memset(a, 0xa1, 32);
    cx_open(&c, "cal_storage", NULL, NULL);
    cx_call(&c, "add_member", NODE, 32);
    act_begin(&acts, 1);
    act_set(&acts, "k", "v");
    cx_call(&c, "propose", acts.b, acts.len);
    ASSERT_OK_S(c.fx.store, c.rc);
    gov_value(&c, "k", "v");
    /* two members: the node's proposal waits for a's approval */
    cx_call(&c, "add_member", a, 32);
    act_begin(&acts, 1);
    act_set(&acts, "k", "second");
    cx_call(&c, "propose", acts.b, acts.len);
    memcpy(id1, c.out, 32);
    act_begin(&acts, 1);
    act_key(&acts, 3, id1);
    cx_call(&c, "propose", acts.b, acts.len);
    memcpy(id2, c.out, 32);
    cx_call_as(&c, "approve", id2, 32, a); /* the delete applies */
    ASSERT_OK_S(c.fx.store, c.rc);
    cx_call_as(&c, "approve", id1, 32, a);  /* 2 of 2, but deleted */
    ASSERT_OK_S(c.fx.store, c.rc);
    gov_value(&c, "k", "v");
}

/* What governance refuses, and a call that fails leaves no proposal. */
TEST(governance_errors_and_a_failed_call_leaves_nothing)
{
    cx_t c;
    uint8_t unknown[32];
    actions_t acts;
    memset(unknown, 0x42, 32);
    cx_open(&c, "cal_storage", NULL, NULL);
    cx_call(&c, "add_member", NODE, 32);
    cx_call(&c, "approve", unknown, 32);
    ASSERT_CAL_TRAP(&c, "UnknownProposal");
    cx_call(&c, "approve", unknown, 31);
    ASSERT_CAL_TRAP(&c, "InvalidMemoryAccess");
    cx_call(&c, "propose_short_id", NULL, 0);
    ASSERT_CAL_TRAP(&c, "InvalidMemoryAccess");
    static const uint8_t bad[][8] = {{0}, {1, 0, 0, 0, 9}, {1, 0, 0, 0, 0, 1, 2}, {2, 0, 0, 0}};
    static const size_t badl[] = {3, 5, 7, 4};
    for (size_t i = 0; i < 4; i++) {
        cx_call(&c, "propose", bad[i], badl[i]);
        ASSERT_CAL_TRAP(&c, "DeserializationError");
    }
    act_begin(&acts, 1);
    act_set(&acts, "k", "v");
    acts.b[acts.len++] = 0; /* a byte past the last action */
    cx_call(&c, "propose", acts.b, acts.len);
    ASSERT_CAL_TRAP(&c, "DeserializationError");
    acts.len--;
    cx_call(&c, "propose_then_panic", acts.b, acts.len); /* one member: would apply */
    ASSERT_CAL_TRAP(&c, "Panic");
    gov_value(&c, "k", NULL);
    view_call = 1;
    cx_call(&c, "propose", acts.b, acts.len);
    view_call = 0;
    ASSERT_EQ_INT(c.rc, WEFT_ETRAP);
    gov_value(&c, "k", NULL);
    act_begin(&acts, 0); /* no action: allowed, applies nothing */
    cx_call(&c, "propose", acts.b, acts.len);
    ASSERT_OK_S(c.fx.store, c.rc);
}

/* context_create queues (app id, init arguments, alias) for the embedder
 * (an alias over 255 bytes is AliasTooLong), context_delete an id. */
TEST(context_create_and_delete_are_queued_for_the_embedder)
{
    cx_t c;
    uint8_t in[4 + 256 + 32 + 4];
    const uint8_t *app, *args;
    const char *alias;
    size_t argl, aliasl;
    cx_open(&c, "cal_storage", NULL, NULL);
    le32(in, 3);
    memcpy(in + 4, "kid", 3);
    memset(in + 7, 0x42, 32);
    memcpy(in + 39, "args", 4);
    cx_call(&c, "create_context", in, 43);
    ASSERT_OK_S(c.fx.store, c.rc);
    ASSERT_EQ_INT(weft_calimero_create_count(c.cal), 1);
    ASSERT_OK(weft_calimero_create(c.cal, 0, &app, &args, &argl, &alias, &aliasl));
    ASSERT_EQ_MEM(app, in + 7, 32);
    ASSERT_EQ_INT(argl, 4);
    ASSERT_EQ_MEM(args, "args", 4);
    ASSERT_EQ_STR(alias, "kid");
    le32(in, 0); /* no alias */
    memset(in + 4, 0x42, 32);
    cx_call(&c, "create_context", in, 36);
    ASSERT_OK(weft_calimero_create(c.cal, 0, &app, &args, &argl, &alias, &aliasl));
    ASSERT_NULL(alias);
    le32(in, 256);
    memset(in + 4, 'a', 256);
    memset(in + 260, 0x42, 32);
    cx_call(&c, "create_context", in, 292);
    ASSERT_CAL_TRAP(&c, "AliasTooLong");
    memset(in, 0x33, 32);
    cx_call(&c, "delete_context", in, 32);
    ASSERT_OK_S(c.fx.store, c.rc);
    ASSERT_EQ_INT(weft_calimero_delete_count(c.cal), 1);
    ASSERT_EQ_MEM(weft_calimero_delete_id(c.cal, 0), in, 32);
}

/* Blobs stream in and out in pieces, are named by the SHA-256 of their
 * bytes, commit with the call, and handles are checked. */
TEST(blobs_stream_in_and_out_and_commit_with_the_call)
{
    cx_t c;
    uint8_t in[16], id[32], want[32], size[8];
    cx_open(&c, "cal_storage", NULL, NULL);
    /* 1 MiB + 3 in pieces of 100,000: several 256 KiB chunks */
    cx_call(&c, "blob_roundtrip", in, args4(in, (1u << 20) + 3, 100000, 5, 0));
    ASSERT_OK_S(c.fx.store, c.rc);
    ASSERT_EQ_INT(c.out_len, 32);
    memcpy(id, c.out, 32);
    cx_call(&c, "blob_size", id, 32);
    le64(size, (1u << 20) + 3);
    ASSERT_OK_BYTES(&c, size, 8);
    cx_call(&c, "blob_roundtrip", in, args4(in, 0, 1, 5, 0)); /* the empty blob */
    crypto_hash_sha256(want, NULL, 0);
    ASSERT_OK_BYTES(&c, want, 32);
    cx_call(&c, "blob_then_fail", NULL, 0);
    ASSERT_EQ_INT(c.kind, WEFT_CALIMERO_ERR);
    crypto_hash_sha256(want, (const uint8_t *)"lost blob", 9);
    ASSERT_EQ_MEM(c.out, want, 32);
    cx_call(&c, "blob_size", want, 32);
    ASSERT_OK_BYTES(&c, "\377\377\377\377\377\377\377\377", 8);
    cx_call(&c, "blob_bad_handle", NULL, 0);
    ASSERT_CAL_TRAP(&c, "InvalidBlobHandle");
    cx_call(&c, "blob_too_many", NULL, 0);
    ASSERT_CAL_TRAP(&c, "TooManyBlobHandles");
}

/* blob_announce_to_context queues (blob id, this context's id) for the
 * embedder when the blob is here (1), and nothing for a blob it lacks (0). */
TEST(blob_announce_queues_a_blob_that_is_here)
{
    cx_t c;
    uint8_t in[16], id[32], ctx_id[32];
    const uint8_t *blob, *ctx;
    cx_open(&c, "cal_storage", NULL, NULL);
    cx_call(&c, "blob_roundtrip", in, args4(in, 1000, 100, 7, 0));
    ASSERT_OK_S(c.fx.store, c.rc);
    memcpy(id, c.out, 32);
    cx_call(&c, "blob_announce", id, 32);
    ASSERT_OK_BYTES(&c, "\1\0\0\0", 4);
    ASSERT_EQ_INT(weft_calimero_announce_count(c.cal), 1);
    ASSERT_OK(weft_calimero_announce(c.cal, 0, &blob, &ctx));
    crypto_hash_sha256(ctx_id, (const uint8_t *)"ctx", 3);
    ASSERT_EQ_MEM(blob, id, 32);
    ASSERT_EQ_MEM(ctx, ctx_id, 32);
    ASSERT_EQ_INT(weft_calimero_announce(c.cal, 1, &blob, &ctx), WEFT_ENOTFOUND);
    id[0] ^= 1; /* no such blob */
    cx_call(&c, "blob_announce", id, 32);
    ASSERT_OK_BYTES(&c, "\0\0\0\0", 4);
    ASSERT_EQ_INT(weft_calimero_announce_count(c.cal), 0);
}

/* ---- collections ---------------------------------------------------------------------- */

TEST(collections_every_function_and_convention)
{
    cx_t c;
    cx_open(&c, "cal_js", NULL, NULL);
    cx_call(&c, "all", NULL, 0);
    ASSERT_OK_STR(&c, "ok");
    cx_call(&c, "map_bad_desc", NULL, 0);
    ASSERT_CAL_TRAP(&c, "InvalidMemoryAccess");
}

TEST(counter_counts_per_executor_and_user_storage_per_user)
{
    cx_t c;
    uint8_t id[32], in[64], alice[32], bob[32];
    memset(alice, 0xa1, 32);
    memset(bob, 0xb0, 32);
    cx_open(&c, "cal_js", NULL, NULL);
    cx_call(&c, "counter_new", NULL, 0);
    ASSERT_EQ_INT(c.out_len, 32);
    memcpy(id, c.out, 32);
    cx_call_as(&c, "counter_inc", id, 32, alice);
    cx_call_as(&c, "counter_inc", id, 32, alice);
    cx_call_as(&c, "counter_inc", id, 32, bob);
    memcpy(in, id, 32);
    memcpy(in + 32, bob, 32);
    cx_call_as(&c, "counter_read", in, 64, alice);
    ASSERT_OK_S(c.fx.store, c.rc);
    ASSERT_EQ_U64(u64_of(c.out), 3);
    ASSERT_EQ_U64(u64_of(c.out + 8), 2);
    ASSERT_EQ_U64(u64_of(c.out + 16), 1);

    cx_call(&c, "user_new", NULL, 0);
    memcpy(id, c.out, 32);
    memcpy(in, id, 32);
    memcpy(in + 32, "alice's", 7);
    cx_call_as(&c, "user_put", in, 39, alice);
    memcpy(in + 32, alice, 32);
    cx_call_as(&c, "user_get", in, 64, bob);
    ASSERT_OK_STR(&c, "alice's");
    memcpy(in + 32, bob, 32);
    cx_call_as(&c, "user_get", in, 64, alice);
    ASSERT_OK_STR(&c, "-");
}

/* ---- hostile guest --------------------------------------------------------------------- */

/* The document's error names, and weft's (docs/calimero.md). */
static int named(const char *msg)
{
    static const char *names[] = {
        "InvalidMemoryAccess", "KeyLengthOverflow", "ValueLengthOverflow", "LogsOverflow",
        "LogLengthOverflow", "EventsOverflow", "EventKindSizeOverflow", "EventDataSizeOverflow",
        "BadUTF8", "InvalidRegisterId", "DeserializationError", "Panic",
        "ReturnValueSizeOverflow", "EventHandlerSizeOverflow", "ArtifactSizeOverflow",
        "DuplicateCommit", "NotSupported", "InvalidBlobHandle", "TooManyBlobHandles",
        "BlobWriteTooLarge", "XCallsOverflow", "XCallFunctionSizeOverflow",
        "XCallParamsSizeOverflow", "AliasTooLong", "UnknownProposal"};
    if (!msg || strncmp(msg, "calimero.", 9) != 0) return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char pat[64];
        snprintf(pat, sizeof pat, ": %s: ", names[i]);
        if (strstr(msg, pat)) return 1;
    }
    return 0;
}

/* Many seeds of random host calls with bad descriptors, huge lengths and
 * register abuse: every call ends normally or with a host trap that names
 * a document error, the host never crashes, and the data directory stays
 * usable. CAL_SEEDS=N runs N seeds; CAL_VERBOSE=1 prints each trap. */
TEST(hostile_guest_over_many_seeds)
{
    cx_t c;
    uint8_t in[12];
    int seeds = getenv("CAL_SEEDS") ? atoi(getenv("CAL_SEEDS")) : 150, ended = 0, trapped = 0;
    cx_open(&c, "cal_hostile", NULL, NULL);
    for (int s = 1; s <= seeds; s++) {
        le64(in, (uint64_t)s);
        le32(in + 8, s % 4 ? 200 : 2); /* a few short runs end normally */
        weft_store_set_fuel(c.fx.store, 50000000);
        cx_call(&c, "run", in, sizeof in);
        if (c.rc == 0) {
            ended++;
            continue;
        }
        ASSERT_EQ_INT(c.rc, WEFT_ETRAP);
        weft_trap_code_t code = weft_store_trap(c.fx.store);
        if (code == WEFT_TRAP_OUT_OF_FUEL) continue;
        const char *msg = weft_store_trap_message(c.fx.store);
        if (code != WEFT_TRAP_HOST || !named(msg))
            FAIL("seed %d: trap %s without a document error name: %s", s, weft_trap_name(code),
                 msg ? msg : "(null)");
        trapped++;
        if (getenv("CAL_VERBOSE")) printf("seed %d: %s\n", s, msg);
    }
    ASSERT_GT_INT(trapped, seeds / 4);
    ASSERT_GT_INT(ended, 0);
    cx_t d;
    uint8_t kvb[16];
    cx_open(&d, "cal_storage", c.db, NULL);
    cx_call(&d, "put", kvb, kv(kvb, "after", "ok"));
    ASSERT_OK_S(d.fx.store, d.rc);
    cx_call(&d, "get", "after", 5);
    ASSERT_OK_BYTES(&d, "\1\0\0\0ok", 6);
}
