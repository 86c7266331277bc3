/*
 * bench/cosmbench.c — Cosmictron tables through a guest against LMDB
 * itself (issue 13's benchmark): inserts/s, point lookups/s and range-scan
 * rows/s.
 *
 *   cosmbench GUEST.wasm DIR [N [ROUNDS]]
 *
 * The guest (cosmbench_guest.c) runs in-process as the node runs a call:
 * a fresh instance, the binding on a write transaction (a read one for
 * lookups and scans), one reducer doing all N operations, one durable
 * commit. The baseline does the same N puts (u32 big-endian keys, the
 * same 32-byte rows as values, one durable commit), N gets in the same
 * order and a cursor walk, on liblmdb directly (like dbbench_native.c,
 * the one other place outside src/store that includes lmdb.h: it is the
 * thing measured against).
 *
 * The comparison is made to decide, on a shared and noisy machine: after
 * one untimed warm-up of each side, ROUNDS rounds (default 21) each run
 * both sides on fresh directories, alternated (LMDB first in even rounds,
 * the guest first in odd ones: ABBA, so a drift of the machine's load
 * weighs on both). A measure's ratio is taken within each round, and the
 * median of those paired ratios is reported with its quartiles and range;
 * rates are the medians of the rounds' rates. Besides the wall time, the
 * thread's CPU time of the same work is compared (it leaves out waiting
 * for a core, and the fsync of the commit). The guest's and the
 * baseline's checksums must agree. Not a test: a test asserts, this
 * reports (bench/RESULTS.md).
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "weft/cosmictron.h"
#include "weft/error.h"
#include "weft/wasi.h"
#include "weft/weft.h"

/* A moment on two clocks: wall and this thread's CPU time. */
typedef struct {
    double wall, cpu;
} stamp_t;

static stamp_t stamp(void)
{
    struct timespec w, c;
    clock_gettime(CLOCK_MONOTONIC, &w);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c);
    return (stamp_t){(double)w.tv_sec + (double)w.tv_nsec / 1e9,
                     (double)c.tv_sec + (double)c.tv_nsec / 1e9};
}

static stamp_t since(stamp_t t0)
{
    stamp_t t = stamp();
    return (stamp_t){t.wall - t0.wall, t.cpu - t0.cpu};
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

/* The measures of one side in one round. */
enum { M_INSERT, M_PUTS, M_INSERT_IDX, M_LOOKUP, M_SCAN, M_SCAN_TAG, M_COUNT };

static const char *const measure_names[M_COUNT] = {
    "insert (primary key), committed", "  its puts alone (before commit)",
    "insert (primary key + 1 index)",  "point lookup (index_scan [k,k])",
    "range scan, primary key (rows)",  "range scan, secondary index (rows)",
};

typedef struct {
    stamp_t t[M_COUNT];
    uint64_t lookup_sum, scan_sum;
} times_t;

/* ---- the baseline ------------------------------------------------------ */

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
    stamp_t t0 = stamp();
    if (mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, "rows", MDB_CREATE, &dbi))
        die("mdb_txn_begin", "");
    for (uint32_t i = 0; i < n; i++) {
        key[0] = (uint8_t)(i >> 24), key[1] = (uint8_t)(i >> 16), key[2] = (uint8_t)(i >> 8);
        key[3] = (uint8_t)i;
        row_of(i, row);
        k.mv_data = key, k.mv_size = 4, v.mv_data = row, v.mv_size = 32;
        if (mdb_put(txn, dbi, &k, &v, MDB_NOOVERWRITE)) die("mdb_put", "");
    }
    t->t[M_PUTS] = since(t0);
    if (mdb_txn_commit(txn)) die("mdb_txn_commit", "");
    t->t[M_INSERT] = since(t0);

    t0 = stamp();
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
    t->t[M_LOOKUP] = since(t0);
    t->lookup_sum = sum;

    t0 = stamp();
    sum = 0;
    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    mdb_cursor_open(txn, dbi, &cur);
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        sum += ((const uint8_t *)v.mv_data)[0] + ((const uint8_t *)v.mv_data)[v.mv_size - 1];
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    t->t[M_SCAN] = since(t0);
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

/* One reducer call as the node makes it: the times of its invoke (puts)
 * and of invoke and commit (all), and the checksum it logged. */
static void call(guest_t *g, const char *reducer, uint32_t n, int write, stamp_t *out_puts,
                 stamp_t *out_all, uint64_t *out_sum)
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
    weft_cosmictron_config_t cc = {g->db, "bench", g->schema, 0, NULL, NULL, NULL};
    if (weft_wasi_new(&wc, &wasi, msg, sizeof msg) ||
        weft_wasi_define_imports(wasi, linker, g->module) || weft_cosmictron_new(&cc, &cosm) ||
        weft_cosmictron_define_imports(cosm, linker, g->module) ||
        weft_linker_instantiate(linker, g->module, &inst))
        die("instantiate", weft_store_errmsg(store));
    if (weft_instance_export(inst, "_initialize", &ext) == 0)
        weft_func_call(store, ext.of.func, NULL, 0, NULL, 0);
    uint8_t args[4];
    memcpy(args, &n, 4);
    stamp_t t0 = stamp();
    if (weft_txn_begin(g->db, write ? WEFT_TXN_WRITE : WEFT_TXN_READ, &txn)) die("txn", "");
    if (write)
        weft_cosmictron_begin_call(cosm, txn, NULL, 0, 0);
    else
        weft_cosmictron_begin_view(cosm, txn, NULL, 0, 0);
    int32_t result = -1;
    int rc = weft_cosmictron_invoke(store, inst, reducer, args, 4, &result, msg, sizeof msg);
    weft_cosmictron_end_call(cosm);
    if (rc || result) die(reducer, rc ? msg : "the reducer failed");
    if (out_puts) *out_puts = since(t0);
    if (write) {
        if (weft_txn_commit(txn)) die("commit", weft_db_errmsg(g->db));
    } else {
        weft_txn_abort(txn);
    }
    *out_all = since(t0);
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
}

/* Every measure of the guest on a fresh store in dir. */
static void guest_run(guest_t *g, const char *dir, uint32_t n, times_t *t)
{
    char msg[256];
    uint64_t unused;
    if (weft_db_open(dir, 0, &g->db, msg, sizeof msg)) die(dir, msg);
    call(g, "fill_plain", n, 1, &t->t[M_PUTS], &t->t[M_INSERT], &unused);
    call(g, "fill_indexed", n, 1, NULL, &t->t[M_INSERT_IDX], &unused);
    call(g, "lookup", n, 0, NULL, &t->t[M_LOOKUP], &t->lookup_sum);
    call(g, "scan_pk", n, 0, NULL, &t->t[M_SCAN], &t->scan_sum);
    call(g, "scan_tag", n, 0, NULL, &t->t[M_SCAN_TAG], &unused);
    weft_db_close(g->db);
    g->db = NULL;
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

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

/* Removes a round's directory, so a run of many rounds holds one at a time. */
static void rm_tree(const char *dir)
{
    if (nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        die(dir, strerror(errno));
}

/* ---- the statistics --------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of v[0..n) (sorted in place), linearly interpolated. */
static double quantile(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double at = q * (n - 1);
    int lo = (int)at;
    return lo + 1 < n ? v[lo] + (at - lo) * (v[lo + 1] - v[lo]) : v[lo];
}

/* One line: the medians of both sides' rates and the paired ratios'
 * median, quartiles and range; base NULL prints the guest alone. */
static void report(const char *name, const times_t *guest, const times_t *base, int rounds, int m,
                   int cpu, uint32_t n)
{
    double gr[rounds], br[rounds], ratio[rounds];
    for (int r = 0; r < rounds; r++) {
        double gt = cpu ? guest[r].t[m].cpu : guest[r].t[m].wall;
        gr[r] = n / gt;
        if (base) {
            double bt = cpu ? base[r].t[m].cpu : base[r].t[m].wall;
            br[r] = n / bt;
            ratio[r] = 100 * bt / gt;
        }
    }
    if (!base) {
        printf("%-36s %10.0f %10s\n", name, quantile(gr, rounds, 0.5), "-");
        return;
    }
    double q1 = quantile(ratio, rounds, 0.25), med = quantile(ratio, rounds, 0.5),
           q3 = quantile(ratio, rounds, 0.75);
    printf("%-36s %10.0f %10.0f %5.0f%%  [%3.0f-%3.0f%%]  (%3.0f-%3.0f%%)\n", name,
           quantile(gr, rounds, 0.5), quantile(br, rounds, 0.5), med, q1, q3, ratio[0],
           ratio[rounds - 1]);
}

static void table(const char *title, const times_t *guest, const times_t *base, int rounds,
                  int cpu, uint32_t n)
{
    printf("%s\n%-36s %10s %10s %6s  %-11s  %s\n", title, "", "guest/s", "lmdb/s", "ratio",
           "[q1-q3]", "(min-max)");
    for (int m = 0; m < M_COUNT; m++) {
        int paired = m != M_INSERT_IDX && m != M_SCAN_TAG; /* LMDB has no index to keep */
        report(measure_names[m], guest, paired ? base : NULL, rounds, m, cpu, n);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: cosmbench GUEST.wasm DIR [N [ROUNDS]]\n");
        return 2;
    }
    uint32_t n = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 200000;
    int rounds = argc > 4 ? atoi(argv[4]) : 21;
    if (n == 0 || rounds < 1 || rounds > 1000) die("usage", "N must be positive, ROUNDS 1-1000");
    char path[4096], msg[256];
    if (mkdir(argv[2], 0700) != 0 && errno != EEXIST) die(argv[2], strerror(errno));

    guest_t g = {0};
    size_t len;
    uint8_t *wasm = read_all(argv[1], &len);
    g.engine = weft_engine_new();
    if (weft_module_new(g.engine, wasm, len, &g.module, msg, sizeof msg)) die("module", msg);
    free(wasm);
    if (weft_cosmictron_describe(g.engine, g.module, &g.schema, msg, sizeof msg))
        die("schema", msg);

    times_t *gt = calloc((size_t)rounds, sizeof *gt), *bt = calloc((size_t)rounds, sizeof *bt);
    if (!gt || !bt) die("calloc", "out of memory");
    int ok = 1;
    for (int r = -1; r < rounds; r++) { /* round -1: the warm-up, not counted */
        times_t gw, bw, *gr = r < 0 ? &gw : &gt[r], *br = r < 0 ? &bw : &bt[r];
        for (int side = 0; side < 2; side++) {
            int lmdb = (side == 0) == (r % 2 == 0);
            snprintf(path, sizeof path, "%s/%s", argv[2], lmdb ? "lmdb" : "weft");
            if (lmdb)
                lmdb_run(path, n, br);
            else
                guest_run(&g, path, n, gr);
            rm_tree(path);
        }
        ok &= gr->lookup_sum == br->lookup_sum && gr->scan_sum == br->scan_sum;
    }

    printf("rows: %u (32-byte rows, u32 keys, one reducer call or LMDB transaction a measure); "
           "%d rounds after a warm-up, guest and LMDB alternated, fresh directories; medians\n",
           n, rounds);
    table("wall time:", gt, bt, rounds, 0, n);
    table("CPU time of the thread (no waiting for a core or for the commit's fsync):", gt, bt,
          rounds, 1, n);
    printf("checksums: %s\n", ok ? "match" : "DIFFER");
    free(gt);
    free(bt);
    weft_schema_delete(g.schema);
    weft_module_delete(g.module);
    weft_engine_delete(g.engine);
    return ok ? 0 : 1;
}
