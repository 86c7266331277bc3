/*
 * test_hostfuel.c — fuel charged by host functions for their own work
 * (nx and WASI; the model is in docs/nx.md, "Fuel").
 *
 * Module wat/host_charges.wat runs twice: on the real nx and WASI
 * functions (an LMDB data directory in a temporary directory, stdout on
 * /dev/null) and on stubs that do nothing. The same call runs the same
 * instructions in both, so real cost minus stub cost is exactly what the
 * host charged, which each test compares with the documented formula. A
 * budget short of a call's charge must trap before the work is done.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

#include <weft/db.h>
#include <weft/nx.h>
#include <weft/wasi.h>

#include "harness.h"
#include "../store/tmpdir.h"

#define BUDGET 1000000000u
#define CTX "hostfuel"
#define MiB (1024 * 1024)

/* Guest memory layout of the tests (wat/host_charges.wat has 40 pages). */
#define KEY 0         /* "key01", from the module's data segment */
#define ZEROS 16      /* zero bytes: a key nobody set */
#define IOVS 100      /* iovec array for fd_write */
#define NWRITTEN 200  /* fd_write's result */
#define VAL 65536     /* values and hash input, up to 1 MiB */
#define OUT 1200000   /* outputs, up to 1 MiB */

typedef struct {
    fixture_t fx;   /* real nx and WASI */
    fixture_t stub; /* the same module on stubs */
    weft_txn_t *txn;
} hf_t;

static void db_close_cb(void *p) { weft_db_close(p); }
static void nx_delete_cb(void *p) { weft_nx_delete(p); }
static void wasi_delete_cb(void *p) { weft_wasi_delete(p); }
static void txn_abort_cb(void *p) { weft_txn_abort(p); }
static void fd_close_cb(void *p) { close((int)(intptr_t)p); }

static int stub(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    args[0].i64 = 0;
    return 0;
}

static const struct {
    const char *module, *name, *params, *results;
} imports[] = {
    {"nx", "db_set", "iiii", "i"},
    {"nx", "db_get", "iiii", "i"},
    {"nx", "db_scan", "iiIiii", "i"},
    {"nx", "hash_blake3", "iiii", "i"},
    {"nx", "random_bytes", "ii", "i"},
    {"nx", "time_now", "", "I"},
    {"wasi_snapshot_preview1", "fd_write", "iiii", "i"},
    {"wasi_snapshot_preview1", "random_get", "ii", "i"},
    {"wasi_snapshot_preview1", "clock_time_get", "iIi", "i"},
};

/* 1: hf_open links the real functions with weft_nx_define_imports and
 * weft_wasi_define_imports (only what the module imports), as the node
 * does, instead of weft_nx_define and weft_wasi_define. */
static int only_imports;

/* Both fixtures; every object is freed when the test ends (the db, nx and
 * WASI contexts after the stores, by test_defer's reverse order). */
static void hf_open(hf_t *hf)
{
    char msg[256];
    weft_db_t *db;
    weft_nx_t *nx;
    weft_wasi_t *wasi;
    ASSERT_OK(weft_db_open(tmpdir_new("hostfuel"), WEFT_DB_NOSYNC, &db, msg, sizeof msg));
    test_defer(db_close_cb, db);
    weft_nx_config_t cfg = {0};
    cfg.db = db;
    cfg.context = CTX;
    ASSERT_OK(weft_nx_new(&cfg, &nx));
    test_defer(nx_delete_cb, nx);
    ASSERT_OK(weft_txn_begin(db, WEFT_TXN_WRITE, &hf->txn));
    test_defer(txn_abort_cb, hf->txn);
    weft_nx_begin_call(nx, hf->txn);

    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    ASSERT_TRUE(devnull >= 0);
    test_defer(fd_close_cb, (void *)(intptr_t)devnull);
    weft_wasi_config_t wc = weft_wasi_config_default();
    wc.stdout_fd = devnull;
    ASSERT_OK(weft_wasi_new(&wc, &wasi, msg, sizeof msg));
    test_defer(wasi_delete_cb, wasi);

    fx_open(&hf->fx, "host_charges");
    if (only_imports) {
        ASSERT_OK(weft_nx_define_imports(nx, hf->fx.linker, hf->fx.module));
        ASSERT_OK(weft_wasi_define_imports(wasi, hf->fx.linker, hf->fx.module));
    } else {
        ASSERT_OK(weft_nx_define(nx, hf->fx.linker));
        ASSERT_OK(weft_wasi_define(wasi, hf->fx.linker));
    }
    fx_instantiate(&hf->fx);

    fx_open(&hf->stub, "host_charges");
    for (size_t i = 0; i < sizeof imports / sizeof imports[0]; i++)
        ASSERT_OK(weft_linker_define_func_raw(hf->stub.linker, imports[i].module, imports[i].name,
                                              h_functype(imports[i].params, imports[i].results),
                                              stub, NULL));
    fx_instantiate(&hf->stub);
}

/* Fuel that export `name` uses from a fresh budget; the call must not
 * trap. Arguments are i32 except where `types` says 'I' (i64). */
static uint64_t cost_of(const char *file, int line, fixture_t *fx, const char *name,
                        const char *types, va_list ap, int32_t *out_result)
{
    weft_val_t args[8], res;
    size_t n = strlen(types);
    for (size_t i = 0; i < n; i++)
        args[i] = types[i] == 'I' ? weft_val_i64(va_arg(ap, int64_t))
                                  : weft_val_i32(va_arg(ap, int32_t));
    weft_store_set_fuel(fx->store, BUDGET);
    h_check_rc(file, line, name, fx_call_at(file, line, fx, name, args, n, &res, 1), 0, fx->store);
    if (out_result) *out_result = res.of.i32;
    return BUDGET - weft_store_fuel(fx->store);
}

/* What the host charged for one call of export `name`: its cost on the
 * real functions minus its cost on the stubs. The real call's result goes
 * to *out_result. */
static uint64_t charged_at(const char *file, int line, hf_t *hf, int32_t *out_result,
                           const char *name, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    uint64_t real = cost_of(file, line, &hf->fx, name, types, ap, out_result);
    va_end(ap);
    va_start(ap, types);
    uint64_t base = cost_of(file, line, &hf->stub, name, types, ap, NULL);
    va_end(ap);
    if (real < base) test_fail(file, line, "%s: real call cheaper than the stub", name);
    return real - base;
}
#define CHARGED(hf, out, ...) charged_at(__FILE__, __LINE__, hf, out, __VA_ARGS__)

/* The instructions alone of export `name` (the stub's cost). */
static uint64_t stub_cost_at(const char *file, int line, hf_t *hf, const char *name,
                             const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    uint64_t c = cost_of(file, line, &hf->stub, name, types, ap, NULL);
    va_end(ap);
    return c;
}
#define STUB_COST(hf, ...) stub_cost_at(__FILE__, __LINE__, hf, __VA_ARGS__)

static void put(hf_t *hf, const char *key, size_t vlen)
{
    static uint8_t val[64];
    ASSERT_OK(weft_txn_put(hf->txn, WEFT_SPACE_KV, (const uint8_t *)CTX, strlen(CTX),
                           (const uint8_t *)key, strlen(key), val, vlen));
}

/* One WASI iovec (buf, len) at p, little-endian. */
static void put_iov(uint8_t *p, uint32_t buf, uint32_t len)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(buf >> (8 * i));
        p[4 + i] = (uint8_t)(len >> (8 * i));
    }
}

static int stored(hf_t *hf, const char *key)
{
    const uint8_t *v;
    size_t vl;
    return weft_txn_get(hf->txn, WEFT_SPACE_KV, (const uint8_t *)CTX, strlen(CTX),
                        (const uint8_t *)key, strlen(key), &v, &vl) == 0;
}

TEST(hostfuel_nx_db_set_costs_base_and_bytes)
{
    hf_t hf;
    int32_t r;
    hf_open(&hf);
    /* 8 per call + ceil(key / 16) + ceil(value / 16), rounded per range */
    ASSERT_EQ_U64(CHARGED(&hf, &r, "db_set", "iiii", KEY, 5, VAL, 0), 8 + 1 + 0);
    ASSERT_EQ_INT(r, 0);
    ASSERT_EQ_U64(CHARGED(&hf, &r, "db_set", "iiii", KEY, 5, VAL, 1), 8 + 1 + 1);
    ASSERT_EQ_U64(CHARGED(&hf, &r, "db_set", "iiii", KEY, 5, VAL, 16), 8 + 1 + 1);
    ASSERT_EQ_U64(CHARGED(&hf, &r, "db_set", "iiii", KEY, 5, VAL, 17), 8 + 1 + 2);
    ASSERT_EQ_U64(CHARGED(&hf, &r, "db_set", "iiii", KEY, 17, VAL, 17), 8 + 2 + 2);
    ASSERT_EQ_U64(CHARGED(&hf, &r, "db_set", "iiii", KEY, 5, VAL, MiB), 8 + 1 + 65536);
    ASSERT_EQ_INT(r, 0);
    /* inputs count at their full length whatever the result: a value over
     * 1 MiB is refused (-3) and still paid for */
    ASSERT_EQ_U64(CHARGED(&hf, &r, "db_set", "iiii", KEY, 5, VAL, MiB + 16), 8 + 1 + 65537);
    ASSERT_EQ_INT(r, -3);
}

TEST(hostfuel_nx_db_get_pays_the_value_only_when_written)
{
    hf_t hf;
    int32_t r;
    hf_open(&hf);
    put(&hf, "key01", 40);
    ASSERT_EQ_U64(CHARGED(&hf, &r, "db_get", "iiii", KEY, 5, OUT, 200), 8 + 1 + 3);
    ASSERT_EQ_INT(r, 40);
    ASSERT_EQ_U64(CHARGED(&hf, &r, "db_get", "iiii", KEY, 5, OUT, 39), 8 + 1);
    ASSERT_EQ_INT(r, -2);
    ASSERT_EQ_U64(CHARGED(&hf, &r, "db_get", "iiii", ZEROS, 3, OUT, 200), 8 + 1);
    ASSERT_EQ_INT(r, -1);
}

TEST(hostfuel_nx_scan_pays_every_key_visited)
{
    hf_t hf;
    int32_t r;
    hf_open(&hf);
    put(&hf, "__nx/r", 10); /* reserved: skipped by scans, still visited */
    put(&hf, "a1", 10);
    put(&hf, "a2", 10);
    put(&hf, "a3", 10);
    /* a row of db_scan is 4 + 4 + 2 + 10 = 20 bytes: 2 units */
    ASSERT_EQ_U64(CHARGED(&hf, &r, "db_scan", "iiIiii", 0, 0, (int64_t)0, 10, OUT, 4096),
                  8 + 4 * 4 + 3 * 2);
    ASSERT_EQ_INT(r, 4 + 3 * 20);
    /* stops after the limit-th row */
    ASSERT_EQ_U64(CHARGED(&hf, &r, "db_scan", "iiIiii", 0, 0, (int64_t)0, 2, OUT, 4096),
                  8 + 3 * 4 + 2 * 2);
    /* offset rows are visited, not written */
    ASSERT_EQ_U64(CHARGED(&hf, &r, "db_scan", "iiIiii", 0, 0, (int64_t)1, 10, OUT, 4096),
                  8 + 4 * 4 + 2 * 2);
    /* room for one row: the second is visited, not written, and the page is -2 */
    ASSERT_EQ_U64(CHARGED(&hf, &r, "db_scan", "iiIiii", 0, 0, (int64_t)0, 10, OUT, 30),
                  8 + 3 * 4 + 1 * 2);
    ASSERT_EQ_INT(r, -2);
    /* limit 0 visits nothing; a 17-byte prefix costs 2 */
    ASSERT_EQ_U64(CHARGED(&hf, &r, "db_scan", "iiIiii", VAL, 17, (int64_t)0, 0, OUT, 4096),
                  8 + 2);
}

TEST(hostfuel_nx_hash_random_time)
{
    hf_t hf;
    int32_t r;
    hf_open(&hf);
    ASSERT_EQ_U64(CHARGED(&hf, &r, "hash_blake3", "iiii", VAL, 1000, OUT, 32), 8 + 63 + 2);
    ASSERT_EQ_INT(r, 32);
    ASSERT_EQ_U64(CHARGED(&hf, &r, "hash_blake3", "iiii", VAL, MiB, OUT, 32), 8 + 65536 + 2);
    ASSERT_EQ_U64(CHARGED(&hf, &r, "hash_blake3", "iiii", VAL, 1000, OUT, 31), 8 + 63);
    ASSERT_EQ_INT(r, -2);
    ASSERT_EQ_U64(CHARGED(&hf, &r, "random_bytes", "ii", OUT, 33), 8 + 3);
    ASSERT_EQ_INT(r, 33);
    ASSERT_EQ_U64(CHARGED(&hf, &r, "random_bytes", "ii", OUT, MiB + 1), 8);
    ASSERT_EQ_INT(r, -3);
    ASSERT_EQ_U64(CHARGED(&hf, &r, "time_now", ""), 8);
}

/* Charged before the work: one unit short of db_set's charge traps and
 * stores nothing; the exact budget suffices and leaves 0. */
TEST(hostfuel_nx_short_budget_stops_the_work)
{
    hf_t hf;
    weft_val_t args[4] = {weft_val_i32(KEY), weft_val_i32(5), weft_val_i32(VAL),
                          weft_val_i32(MiB)};
    weft_val_t res;
    hf_open(&hf);
    uint64_t need = STUB_COST(&hf, "db_set", "iiii", KEY, 5, VAL, MiB) + 8 + 1 + 65536;
    weft_store_set_fuel(hf.fx.store, need - 1);
    ASSERT_TRAP(hf.fx.store, fx_call(&hf.fx, "db_set", args, 4, &res, 1), WEFT_TRAP_OUT_OF_FUEL);
    ASSERT_CONTAINS(weft_store_trap_message(hf.fx.store), "fuel");
    ASSERT_EQ_U64(weft_store_fuel(hf.fx.store), 0);
    ASSERT_FALSE(stored(&hf, "key01"));

    weft_store_set_fuel(hf.fx.store, need);
    ASSERT_OK_S(hf.fx.store, fx_call(&hf.fx, "db_set", args, 4, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 0);
    ASSERT_EQ_U64(weft_store_fuel(hf.fx.store), 0);
    ASSERT_TRUE(stored(&hf, "key01"));
}

/* A loop of cheap instructions and expensive host calls: a budget ample
 * for the instructions (the stubs finish with it) runs out on the host
 * work; without fuel the loop runs to the end. */
TEST(hostfuel_nx_db_set_loop_runs_out_of_fuel)
{
    hf_t hf;
    weft_val_t args[2] = {weft_val_i32(50), weft_val_i32(MiB)}, res;
    hf_open(&hf);
    weft_store_set_fuel(hf.stub.store, 100000);
    ASSERT_OK_S(hf.stub.store, fx_call(&hf.stub, "db_set_loop", args, 2, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 50);

    weft_store_set_fuel(hf.fx.store, 100000);
    ASSERT_TRAP(hf.fx.store, fx_call(&hf.fx, "db_set_loop", args, 2, &res, 1),
                WEFT_TRAP_OUT_OF_FUEL);

    weft_store_disable_fuel(hf.fx.store);
    ASSERT_OK_S(hf.fx.store, fx_call(&hf.fx, "db_set_loop", args, 2, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 50);
    ASSERT_EQ_U64(weft_store_fuel(hf.fx.store), UINT64_MAX);
}

TEST(hostfuel_wasi_io_and_random)
{
    hf_t hf;
    int32_t r;
    uint8_t iovs[16];
    hf_open(&hf);
    /* two iovecs: 100 and 17 bytes */
    put_iov(iovs, VAL, 100);
    put_iov(iovs + 8, VAL, 17);
    ASSERT_OK(weft_memory_write(fx_memory(&hf.fx, "memory"), IOVS, iovs, sizeof iovs));
    /* 8 + ceil(2 * 8 / 16) for the array + ceil(100/16) + ceil(17/16) */
    ASSERT_EQ_U64(CHARGED(&hf, &r, "fd_write", "iiii", 1, IOVS, 2, NWRITTEN), 8 + 1 + 7 + 2);
    ASSERT_EQ_INT(r, 0);
    /* a call that fails its checks costs nothing extra */
    ASSERT_EQ_U64(CHARGED(&hf, &r, "fd_write", "iiii", 99, IOVS, 2, NWRITTEN), 0);
    ASSERT_EQ_INT(r, 8); /* BADF */
    ASSERT_EQ_U64(CHARGED(&hf, &r, "random_get", "ii", OUT, 33), 8 + 3);
    ASSERT_EQ_INT(r, 0);
    ASSERT_EQ_U64(CHARGED(&hf, &r, "random_get", "ii", OUT, MiB), 8 + 65536);
    /* constant work: only the call instruction */
    ASSERT_EQ_U64(CHARGED(&hf, &r, "clock_time_get", "iIi", 1, (int64_t)1, NWRITTEN), 0);
    ASSERT_EQ_INT(r, 0);
}

TEST(hostfuel_wasi_short_budget_writes_nothing)
{
    hf_t hf;
    uint8_t iovs[8];
    weft_val_t args[4] = {weft_val_i32(1), weft_val_i32(IOVS), weft_val_i32(1),
                          weft_val_i32(NWRITTEN)};
    weft_val_t res;
    hf_open(&hf);
    put_iov(iovs, VAL, MiB);
    weft_memory_t *mem = fx_memory(&hf.fx, "memory");
    ASSERT_OK(weft_memory_write(mem, IOVS, iovs, sizeof iovs));
    ASSERT_OK(weft_memory_write(mem, NWRITTEN, "\xff\xff\xff\xff", 4));
    uint64_t need = STUB_COST(&hf, "fd_write", "iiii", 1, IOVS, 1, NWRITTEN) + 8 + 1 + 65536;
    weft_store_set_fuel(hf.fx.store, need - 1);
    ASSERT_TRAP(hf.fx.store, fx_call(&hf.fx, "fd_write", args, 4, &res, 1), WEFT_TRAP_OUT_OF_FUEL);
    uint8_t nw[4];
    ASSERT_OK(weft_memory_read(mem, NWRITTEN, nw, 4));
    ASSERT_EQ_U64(nw[0] | nw[1] << 8 | nw[2] << 16 | (uint32_t)nw[3] << 24, 0xffffffffu);

    weft_store_set_fuel(hf.fx.store, need);
    ASSERT_OK_S(hf.fx.store, fx_call(&hf.fx, "fd_write", args, 4, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 0);
    ASSERT_OK(weft_memory_read(mem, NWRITTEN, nw, 4));
    ASSERT_EQ_U64(nw[0] | nw[1] << 8 | nw[2] << 16 | (uint32_t)nw[3] << 24, MiB);
}

TEST(hostfuel_off_charges_nothing)
{
    hf_t hf;
    weft_val_t args[4] = {weft_val_i32(KEY), weft_val_i32(5), weft_val_i32(VAL),
                          weft_val_i32(MiB)};
    weft_val_t res;
    hf_open(&hf);
    ASSERT_OK_S(hf.fx.store, fx_call(&hf.fx, "db_set", args, 4, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 0);
    ASSERT_EQ_U64(weft_store_fuel(hf.fx.store), UINT64_MAX);
    ASSERT_TRUE(stored(&hf, "key01"));
}

/* Defining only the module's imports links the same host functions: the
 * module instantiates, and nx and WASI calls do and charge what they do
 * with every function defined. */
TEST(hostfuel_define_imports_links_the_real_functions)
{
    hf_t hf;
    int32_t r;
    uint8_t iovs[8];
    only_imports = 1;
    hf_open(&hf);
    only_imports = 0;
    ASSERT_EQ_U64(CHARGED(&hf, &r, "db_set", "iiii", KEY, 5, VAL, 17), 8 + 1 + 2);
    ASSERT_EQ_INT(r, 0);
    ASSERT_TRUE(stored(&hf, "key01"));
    put_iov(iovs, VAL, 100);
    ASSERT_OK(weft_memory_write(fx_memory(&hf.fx, "memory"), IOVS, iovs, sizeof iovs));
    ASSERT_EQ_U64(CHARGED(&hf, &r, "fd_write", "iiii", 1, IOVS, 1, NWRITTEN), 8 + 1 + 7);
    ASSERT_EQ_INT(r, 0);
    ASSERT_EQ_U64(CHARGED(&hf, &r, "random_get", "ii", OUT, 33), 8 + 3);
    ASSERT_EQ_INT(r, 0);
}
