/*
 * bench/cosmbench.c — Cosmictron tables through a guest against LMDB
 * itself (issue 13's benchmark): inserts/s, point lookups/s and range-scan
 * rows/s.
 *
 *   cosmbench GUEST.wasm DIR [N [RUNS]]
 *
 * The guest (cosmbench_guest.c) runs in-process as the node runs a call:
 * a fresh instance, the binding on a write transaction (a read one for
 * lookups and scans), one reducer doing all N operations, one durable
 * commit. The baseline does the same N puts (u32 big-endian keys, the
 * same 32-byte rows as values, one durable commit), N gets in the same
 * order and a cursor walk, on liblmdb directly (like dbbench_native.c,
 * the one other place outside src/store that includes lmdb.h: it is the
 * thing measured against). DIR gets two fresh subdirectories. Prints one
 * line per measure with both rates and their ratio; the guest's and the
 * baseline's checksums must agree. Not a test: a test asserts, this
 * reports (bench/RESULTS.md). With RUNS (default 3), each measure is the
 * best of that many runs, each in a fresh context and LMDB directory.
 */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "weft/cosmictron.h"
#include "weft/error.h"
#include "weft/wasi.h"
#include "weft/weft.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "cosmbench: %s: %s\n", what, why);
    exit(1);
}

static void row_of(uint32_t i, uint8_t row[32])
{
    memcpy(row, &i, 4); /* little-endian hosts, as BSATN */
    uint32_t n = 24;
    memcpy(row + 4, &n, 4);
    for (int k = 0; k < 24; k++) row[8 + k] = (uint8_t)(i * 31u + (uint32_t)k);
}

/* ---- the baseline ------------------------------------------------------ */

typedef struct {
    double insert, lookup, scan; /* seconds */
    uint64_t lookup_sum, scan_sum;
} times_t;

static void lmdb_run(const char *dir, uint32_t n, times_t *t)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    uint8_t key[4], row[32];
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) die(dir, strerror(errno));
    if (mdb_env_create(&env) || mdb_env_set_mapsize(env, (size_t)4 << 30) ||
        mdb_env_set_maxdbs(env, 4) || mdb_env_open(env, dir, 0, 0600))
        die("mdb_env_open", dir);
    double t0 = now();
    if (mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, "rows", MDB_CREATE, &dbi))
        die("mdb_txn_begin", "");
    for (uint32_t i = 0; i < n; i++) {
        key[0] = (uint8_t)(i >> 24), key[1] = (uint8_t)(i >> 16), key[2] = (uint8_t)(i >> 8);
        key[3] = (uint8_t)i;
        row_of(i, row);
        k.mv_data = key, k.mv_size = 4, v.mv_data = row, v.mv_size = 32;
        if (mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE)) die("mdb_put", "");
    }
    if (mdb_txn_commit(txn)) die("mdb_txn_commit", "");
    t->insert = now() - t0;

    t0 = now();
    uint64_t sum = 0;
    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t kk = (uint32_t)((uint64_t)i * 7919u % n);
        key[0] = (uint8_t)(kk >> 24), key[1] = (uint8_t)(kk >> 16), key[2] = (uint8_t)(kk >> 8);
        key[3] = (uint8_t)kk;
        k.mv_data = key, k.mv_size = 4;
        if (mdb_get(txn, dbi, &k, &v) || v.mv_size != 32) die("mdb_get", "");
        sum = sum * 1099511628211ull ^ ((const uint8_t *)v.mv_data)[8 + (kk % 24)];
    }
    mdb_txn_abort(txn);
    t->lookup = now() - t0;
    t->lookup_sum = sum;

    t0 = now();
    sum = 0;
    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    mdb_cursor_open(txn, dbi, &cur);
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        sum += ((const uint8_t *)v.mv_data)[0] + ((const uint8_t *)v.mv_data)[v.mv_size - 1];
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    t->scan = now() - t0;
    t->scan_sum = sum;
    mdb_env_close(env);
}

/* ---- the guest ------------------------------------------------------------ */

typedef struct {
    weft_engine_t *engine;
    weft_module_t *module;
    weft_db_t *db;
    weft_schema_t *schema;
} guest_t;

/* One reducer call as the node makes it; returns its seconds (invoke and
 * commit) and the checksum it logged. */
static double call(guest_t *g, const char *ctx, const char *reducer, uint32_t n, int write,
                   uint64_t *out_sum)
{
    char msg[256];
    weft_store_t *store = weft_store_new(g->engine);
    weft_linker_t *linker = weft_linker_new(store);
    weft_wasi_t *wasi;
    weft_cosmictron_t *cosm;
    weft_instance_t *inst;
    weft_txn_t *txn;
    weft_extern_t ext;
    weft_wasi_config_t wc = weft_wasi_config_default();
    weft_cosmictron_config_t cc = {g->db, ctx, g->schema, 0, NULL, NULL, NULL};
    if (weft_wasi_new(&wc, &wasi, msg, sizeof msg) || weft_wasi_define_imports(wasi, linker, g->module) ||
        weft_cosmictron_new(&cc, &cosm) || weft_cosmictron_define_imports(cosm, linker, g->module) ||
        weft_linker_instantiate(linker, g->module, &inst))
        die("instantiate", weft_store_errmsg(store));
    if (weft_instance_export(inst, "_initialize", &ext) == 0)
        weft_func_call(store, ext.of.func, NULL, 0, NULL, 0);
    uint8_t args[4];
    memcpy(args, &n, 4);
    double t0 = now();
    if (weft_txn_begin(g->db, write ? WEFT_TXN_WRITE : WEFT_TXN_READ, &txn)) die("txn", "");
    if (write)
        weft_cosmictron_begin_call(cosm, txn, NULL, 0, 0);
    else
        weft_cosmictron_begin_view(cosm, txn, NULL, 0, 0);
    int32_t result = -1;
    int rc = weft_cosmictron_invoke(store, inst, reducer, args, 4, &result, msg, sizeof msg);
    weft_cosmictron_end_call(cosm);
    if (rc || result) die(reducer, rc ? msg : "the reducer failed");
    if (write) {
        if (weft_txn_commit(txn)) die("commit", weft_db_errmsg(g->db));
    } else {
        weft_txn_abort(txn);
    }
    double dt = now() - t0;
    *out_sum = 0;
    for (size_t i = 0; i < weft_cosmictron_log_count(cosm); i++) {
        int level;
        const char *m;
        size_t ml;
        weft_cosmictron_log(cosm, i, &level, &m, &ml);
        unsigned long long s;
        if (sscanf(m, "sum %llx", &s) == 1) *out_sum = s;
    }
    weft_linker_delete(linker);
    weft_store_delete(store);
    weft_wasi_delete(wasi);
    weft_cosmictron_delete(cosm);
    return dt;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) die(path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) die(path, "cannot read");
    fclose(f);
    *len = (size_t)n;
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: cosmbench GUEST.wasm DIR [N [RUNS]]\n");
        return 2;
    }
    uint32_t n = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 200000;
    int runs = argc > 4 ? atoi(argv[4]) : 3;
    if (n == 0 || runs < 1) die("usage", "N and RUNS must be positive");
    char path[4096], msg[256];
    if (mkdir(argv[2], 0700) != 0 && errno != EEXIST) die(argv[2], strerror(errno));

    times_t base = {1e9, 1e9, 1e9, 0, 0};
    for (int r = 0; r < runs; r++) {
        times_t one;
        snprintf(path, sizeof path, "%s/lmdb%d", argv[2], r);
        lmdb_run(path, n, &one);
        base.insert = one.insert < base.insert ? one.insert : base.insert;
        base.lookup = one.lookup < base.lookup ? one.lookup : base.lookup;
        base.scan = one.scan < base.scan ? one.scan : base.scan;
        base.lookup_sum = one.lookup_sum;
        base.scan_sum = one.scan_sum;
    }

    guest_t g = {0};
    size_t len;
    uint8_t *wasm = read_all(argv[1], &len);
    g.engine = weft_engine_new();
    if (weft_module_new(g.engine, wasm, len, &g.module, msg, sizeof msg)) die("module", msg);
    free(wasm);
    snprintf(path, sizeof path, "%s/weft", argv[2]);
    if (weft_db_open(path, 0, &g.db, msg, sizeof msg)) die(path, msg);
    {
        /* the deploy: describe the module */
        weft_store_t *store = weft_store_new(g.engine);
        weft_linker_t *linker = weft_linker_new(store);
        weft_wasi_t *wasi;
        weft_cosmictron_t *cosm;
        weft_instance_t *inst;
        weft_extern_t ext;
        weft_wasi_config_t wc = weft_wasi_config_default();
        weft_cosmictron_config_t cc = {g.db, "bench", NULL, 0, NULL, NULL, NULL};
        if (weft_wasi_new(&wc, &wasi, msg, sizeof msg) ||
            weft_wasi_define_imports(wasi, linker, g.module) || weft_cosmictron_new(&cc, &cosm) ||
            weft_cosmictron_define_imports(cosm, linker, g.module) ||
            weft_linker_instantiate(linker, g.module, &inst))
            die("instantiate", weft_store_errmsg(store));
        if (weft_instance_export(inst, "_initialize", &ext) == 0)
            weft_func_call(store, ext.of.func, NULL, 0, NULL, 0);
        if (weft_cosmictron_read_schema(store, inst, &g.schema, msg, sizeof msg)) die("schema", msg);
        weft_linker_delete(linker);
        weft_store_delete(store);
        weft_wasi_delete(wasi);
        weft_cosmictron_delete(cosm);
    }
    uint64_t sum_l = 0, sum_s = 0, unused;
    double ins = 1e9, ins_idx = 1e9, look = 1e9, scan = 1e9, scan_tag = 1e9, d;
    for (int r = 0; r < runs; r++) {
        char ctx[32];
        snprintf(ctx, sizeof ctx, "bench%d", r);
        if ((d = call(&g, ctx, "fill_plain", n, 1, &unused)) < ins) ins = d;
        if ((d = call(&g, ctx, "fill_indexed", n, 1, &unused)) < ins_idx) ins_idx = d;
        if ((d = call(&g, ctx, "lookup", n, 0, &sum_l)) < look) look = d;
        if ((d = call(&g, ctx, "scan_pk", n, 0, &sum_s)) < scan) scan = d;
        if ((d = call(&g, ctx, "scan_tag", n, 0, &unused)) < scan_tag) scan_tag = d;
    }

    printf("rows: %u (32-byte rows, one reducer call or transaction each; best of %d)\n", n,
           runs);
    printf("%-34s %12s %12s %7s\n", "", "guest/s", "lmdb/s", "ratio");
    printf("%-34s %12.0f %12.0f %6.0f%%\n", "insert (primary key)", n / ins, n / base.insert,
           100 * base.insert / ins);
    printf("%-34s %12.0f %12.0f %6.0f%%\n", "insert (primary key + 1 index)", n / ins_idx,
           n / base.insert, 100 * base.insert / ins_idx);
    printf("%-34s %12.0f %12.0f %6.0f%%\n", "point lookup (index_scan [k,k])", n / look,
           n / base.lookup, 100 * base.lookup / look);
    printf("%-34s %12.0f %12.0f %6.0f%%\n", "range scan, primary key (rows)", n / scan,
           n / base.scan, 100 * base.scan / scan);
    printf("%-34s %12.0f %12s\n", "range scan, secondary index (rows)", n / scan_tag, "-");
    int ok = sum_l == base.lookup_sum && sum_s == base.scan_sum;
    printf("checksums: %s\n", ok ? "match" : "DIFFER");
    weft_schema_delete(g.schema);
    weft_db_close(g.db);
    weft_module_delete(g.module);
    weft_engine_delete(g.engine);
    return ok ? 0 : 1;
}
