/*
 * test_threads.c — the engine and the host APIs used by several threads at
 * once, as the server's worker pool will: one module shared by every
 * thread, a store (and nx context, WASI context) per call. `make
 * test-tsan` builds this with ThreadSanitizer (build-tsan, CTest label
 * tsan), where any data race fails the program (TSan's exit status 66);
 * the other builds run it as a plain unit test.
 *
 * Outcomes are counted by the workers and asserted after they are joined:
 * test.h's longjmp belongs to the main thread. The nx workers meet at a
 * barrier right before and right after their first weft_nx_new, so the
 * process's one-time set-up (the time_monotonic base, the capability list)
 * runs in several threads at once with nothing else ordering them: the
 * case TSan must see.
 */
#include <pthread.h>
#include <time.h>

#include "harness.h"
#include "weft/db.h"
#include "weft/nx.h"
#include "weft/wasi.h"
#include "../store/tmpdir.h"

#define THREADS 4
#define CYCLES 200
#define WORK_N 15 /* fib(15) + 1..15 = 610 + 120 */
#define WORK_RESULT 730

typedef struct shared shared_t;

typedef struct {
    shared_t *sh;
    int id;
    /* outcomes of this worker's calls */
    int ok, out_of_fuel, interrupted, other;
    int step_back; /* time_monotonic went back between two calls */
    char what[160]; /* the first unexpected outcome */
} worker_t;

struct shared {
    weft_engine_t *engine;
    weft_module_t *module;
    weft_db_t *db; /* nx test only */
    pthread_barrier_t start, started; /* two objects: TSan orders every wait on one */
    /* the stores running now, for the interrupter; a store leaves this
     * list before it is deleted (weft_store_interrupt must not overlap
     * weft_store_delete) */
    pthread_mutex_t mu;
    weft_store_t *running[THREADS];
    int done;
    worker_t w[THREADS];
};

static void note(worker_t *w, const char *fmt, const char *s, int rc)
{
    w->other++;
    if (!w->what[0])
        snprintf(w->what, sizeof w->what, fmt, s, rc);
}

static void publish(worker_t *w, weft_store_t *store)
{
    pthread_mutex_lock(&w->sh->mu);
    w->sh->running[w->id] = store;
    pthread_mutex_unlock(&w->sh->mu);
}

/* Interrupts every running store every 2 ms until the workers end. */
static void *interrupter(void *arg)
{
    shared_t *sh = arg;
    for (;;) {
        pthread_mutex_lock(&sh->mu);
        int done = sh->done;
        for (int i = 0; i < THREADS && !done; i++)
            if (sh->running[i])
                weft_store_interrupt(sh->running[i]);
        pthread_mutex_unlock(&sh->mu);
        if (done)
            return NULL;
        struct timespec ts = {0, 2000000L};
        nanosleep(&ts, NULL);
    }
}

static void count_trap(worker_t *w, weft_store_t *store, int rc, const char *fn)
{
    if (rc != WEFT_ETRAP) {
        note(w, "%s: rc %d", fn, rc);
        return;
    }
    weft_trap_code_t code = weft_store_trap(store);
    if (code == WEFT_TRAP_OUT_OF_FUEL)
        w->out_of_fuel++;
    else if (code == WEFT_TRAP_INTERRUPTED)
        w->interrupted++;
    else
        note(w, "%s: trap %d", fn, (int)code);
}

/* One instantiate-call-delete cycle of threads.wasm: `work` with fuel to
 * spare, then, every fourth cycle, `spin` until fuel or an interrupt. */
static void engine_cycle(worker_t *w, int i)
{
    weft_store_t *store = weft_store_new(w->sh->engine);
    weft_linker_t *linker = store ? weft_linker_new(store) : NULL;
    weft_instance_t *inst;
    weft_extern_t ext;
    if (!linker) {
        note(w, "%s: %d", "out of memory", 0);
        goto done;
    }
    weft_store_set_fuel(store, 1000000);
    publish(w, store);
    int rc = weft_linker_instantiate(linker, w->sh->module, &inst);
    if (rc != 0) {
        count_trap(w, store, rc, "instantiate");
        goto done;
    }
    weft_val_t arg = weft_val_i32(WORK_N), res;
    if (weft_instance_export(inst, "work", &ext) != 0) {
        note(w, "%s: %d", "no export work", 0);
        goto done;
    }
    rc = weft_func_call(store, ext.of.func, &arg, 1, &res, 1);
    if (rc == 0 && res.of.i32 == WORK_RESULT)
        w->ok++;
    else if (rc == 0)
        note(w, "%s: wrong result %d", "work", res.of.i32);
    else
        count_trap(w, store, rc, "work");
    if (i % 4 == 0 && weft_instance_export(inst, "spin", &ext) == 0)
        count_trap(w, store, weft_func_call(store, ext.of.func, NULL, 0, NULL, 0), "spin");
done:
    publish(w, NULL);
    if (linker)
        weft_linker_delete(linker);
    if (store)
        weft_store_delete(store);
}

static void *engine_worker(void *arg)
{
    worker_t *w = arg;
    pthread_barrier_wait(&w->sh->start);
    for (int i = 0; i < CYCLES; i++)
        engine_cycle(w, i);
    return NULL;
}

/* One call of threads_nx.wasm in its own store, nx and WASI contexts and
 * write transaction, committed when the call returned. */
static void nx_cycle(worker_t *w, int i, int64_t *last_mono)
{
    char ctx[32], msg[256];
    snprintf(ctx, sizeof ctx, "t%d", w->id);
    weft_nx_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.db = w->sh->db;
    cfg.context = ctx;
    weft_nx_t *nx = NULL;
    weft_wasi_t *wasi = NULL;
    weft_txn_t *txn = NULL;
    weft_store_t *store = NULL;
    weft_linker_t *linker = NULL;
    weft_instance_t *inst;
    weft_extern_t ext;
    int rc;
    if (i == 0)
        pthread_barrier_wait(&w->sh->start); /* first use of nx, in every thread at once */
    rc = weft_nx_new(&cfg, &nx);
    /* and no thread goes on before every one has made its first context:
     * a thread's next weft_nx_new would publish its memory to the others
     * through libsodium's lock, hiding an unsynchronised set-up from TSan */
    if (i == 0)
        pthread_barrier_wait(&w->sh->started);
    if (rc != 0) {
        nx = NULL;
        note(w, "%s: %d", "weft_nx_new", rc);
        goto done;
    }
    weft_wasi_config_t wc = weft_wasi_config_default();
    if ((rc = weft_wasi_new(&wc, &wasi, msg, sizeof msg)) != 0) {
        wasi = NULL;
        note(w, "%s: %d", "weft_wasi_new", rc);
        goto done;
    }
    store = weft_store_new(w->sh->engine);
    linker = store ? weft_linker_new(store) : NULL;
    if (!linker || weft_nx_define(nx, linker) != 0 || weft_wasi_define(wasi, linker) != 0) {
        note(w, "%s: %d", "define", 0);
        goto done;
    }
    weft_store_set_fuel(store, 1000000);
    if ((rc = weft_txn_begin(w->sh->db, WEFT_TXN_WRITE, &txn)) != 0) {
        txn = NULL;
        note(w, "%s: %d", "weft_txn_begin", rc);
        goto done;
    }
    weft_nx_begin_call(nx, txn);
    publish(w, store);
    if ((rc = weft_linker_instantiate(linker, w->sh->module, &inst)) != 0 ||
        (rc = weft_instance_export(inst, "run", &ext)) != 0) {
        note(w, "%s: %d", "instantiate", rc);
        goto done;
    }
    weft_val_t res;
    rc = weft_func_call(store, ext.of.func, NULL, 0, &res, 1);
    weft_nx_end_call(nx);
    if (rc != 0) {
        count_trap(w, store, rc, "run");
        goto done;
    }
    if (res.of.i64 < 0) {
        note(w, "%s: %d", "a host function failed", (int)res.of.i64);
        goto done;
    }
    if (res.of.i64 < *last_mono)
        w->step_back++;
    *last_mono = res.of.i64;
    weft_txn_t *t = txn;
    txn = NULL;
    if ((rc = weft_txn_commit(t)) != 0)
        note(w, "%s: %d", "weft_txn_commit", rc);
    else
        w->ok++;
done:
    publish(w, NULL);
    if (nx)
        weft_nx_end_call(nx);
    if (txn)
        weft_txn_abort(txn);
    if (linker)
        weft_linker_delete(linker);
    if (store)
        weft_store_delete(store);
    if (wasi)
        weft_wasi_delete(wasi);
    if (nx)
        weft_nx_delete(nx);
}

static void *nx_worker(void *arg)
{
    worker_t *w = arg;
    int64_t last_mono = 0;
    for (int i = 0; i < CYCLES; i++)
        nx_cycle(w, i, &last_mono);
    return NULL;
}

static void run_threads(shared_t *sh, void *(*fn)(void *))
{
    pthread_t th[THREADS], it;
    pthread_mutex_init(&sh->mu, NULL);
    ASSERT_EQ_INT(pthread_barrier_init(&sh->start, NULL, THREADS), 0);
    ASSERT_EQ_INT(pthread_barrier_init(&sh->started, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++) {
        sh->w[i].sh = sh;
        sh->w[i].id = i;
    }
    ASSERT_EQ_INT(pthread_create(&it, NULL, interrupter, sh), 0);
    for (int i = 0; i < THREADS; i++)
        ASSERT_EQ_INT(pthread_create(&th[i], NULL, fn, &sh->w[i]), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_lock(&sh->mu);
    sh->done = 1;
    pthread_mutex_unlock(&sh->mu);
    pthread_join(it, NULL);
    pthread_barrier_destroy(&sh->start);
    pthread_barrier_destroy(&sh->started);
    pthread_mutex_destroy(&sh->mu);
    for (int i = 0; i < THREADS; i++) {
        worker_t *w = &sh->w[i];
        if (w->other)
            FAIL("thread %d: %d unexpected outcomes, the first: %s", i, w->other, w->what);
        ASSERT_EQ_INT(w->step_back, 0);
        ASSERT_GT_INT(w->ok, 0); /* not every call can have been interrupted */
    }
}

/* 4 threads x 200 cycles on one module, with fuel and an interrupter. */
TEST(engine_shared_module)
{
    static shared_t sh;
    memset(&sh, 0, sizeof sh);
    sh.engine = h_engine();
    sh.module = h_module(sh.engine, "threads");
    run_threads(&sh, engine_worker);
    int calls = 0;
    for (int i = 0; i < THREADS; i++)
        calls += sh.w[i].ok + sh.w[i].interrupted + sh.w[i].out_of_fuel;
    /* every `work` call, and every fourth cycle's `spin`, ended somehow */
    ASSERT_EQ_INT(calls, THREADS * (CYCLES + CYCLES / 4));
}

static void module_delete_cb(void *m)
{
    weft_module_delete(m);
}

/* The same under tier auto (docs/jit.md): fib, work and spin get hot in
 * the first cycles and each is compiled once, by whichever thread counted
 * last, while the others keep running it interpreted; every later call
 * anywhere takes the compiled code. Same outcomes as interpreted. */
TEST(engine_shared_module_tier_auto)
{
    static shared_t sh;
    memset(&sh, 0, sizeof sh);
    sh.engine = h_engine();
    weft_load_options_t o;
    memset(&o, 0, sizeof o);
    o.tier = WEFT_TIER_AUTO;
    size_t len;
    uint8_t *bytes = h_read_wasm("threads", &len);
    char msg[256];
    ASSERT_OK(weft_module_new_opts(sh.engine, bytes, len, &o, &sh.module, msg, sizeof msg));
    test_defer(module_delete_cb, sh.module);
    run_threads(&sh, engine_worker);
    int calls = 0;
    for (int i = 0; i < THREADS; i++)
        calls += sh.w[i].ok + sh.w[i].interrupted + sh.w[i].out_of_fuel;
    ASSERT_EQ_INT(calls, THREADS * (CYCLES + CYCLES / 4));
    uint32_t total;
    uint32_t compiled = weft_module_compiled_functions(sh.module, &total);
    ASSERT_EQ_U64(compiled, weft_tier_available(WEFT_TIER_AUTO) ? total : 0);
}

static void db_close_cb(void *db)
{
    weft_db_close(db);
}

/* The same with nx contexts and WASI contexts on one data directory: each
 * call in its own write transaction (so they also queue for the write
 * lock), the first weft_nx_new of every thread at once. */
TEST(nx_shared_db)
{
    static shared_t sh;
    char msg[256];
    memset(&sh, 0, sizeof sh);
    sh.engine = h_engine();
    sh.module = h_module(sh.engine, "threads_nx");
    ASSERT_OK(weft_db_open(tmpdir_new("tsan"), WEFT_DB_NOSYNC, &sh.db, msg, sizeof msg));
    test_defer(db_close_cb, sh.db);
    run_threads(&sh, nx_worker);
}
