/*
 * test_faasm.c — the Faasm binding (weft/faasm.h) and its state service
 * (weft/faasm_state.h), driven directly: guests/faasm_state.c runs as a
 * WASI command with the binding's imports, alone or from several threads
 * sharing one state service, and the service is also checked through its
 * C API. One CTest test abi.faasm.<name> per TEST(name).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "weft/faasm.h"
#include "weft/faasm_state.h"
#include "weft/wasi.h"
#include "weft/weft.h"

static weft_engine_t *engine;
static weft_module_t *state_mod;

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
    if (p && fread(p, 1, (size_t)n, fp) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(fp);
    *len = (size_t)n;
    return p;
}

static weft_module_t *load(const char *path)
{
    if (!engine) engine = weft_engine_new();
    size_t len;
    uint8_t *bytes = read_file(path, &len);
    if (!bytes) FAIL("cannot read %s", path);
    weft_module_t *m = NULL;
    char msg[256];
    int rc = weft_module_new(engine, bytes, len, &m, msg, sizeof msg);
    free(bytes);
    if (rc) FAIL("%s: %s", path, msg);
    return m;
}

static weft_module_t *state_guest(void)
{
    if (!state_mod) state_mod = load(FAASM_STATE_WASM);
    return state_mod;
}

/* One call of a command: the exit status (>= 0), or -1 for a trap (its
 * message in trap, when not NULL). Output in out (malloc'ed) when asked.
 * Runs on any thread: never asserts. */
typedef struct {
    weft_faasm_state_t *st;
    const char *app;
    weft_module_t *mod;
    const char *argv[4];
    size_t argc;
    const uint8_t *input;
    size_t input_len;
    int status;
    char trap[256];
    uint8_t *out;
    size_t out_len;
    int end_rc;
} run_t;

static void run(run_t *r)
{
    r->status = -2;
    weft_store_t *s = weft_store_new(engine);
    weft_linker_t *l = weft_linker_new(s);
    weft_wasi_config_t wc = weft_wasi_config_default();
    wc.argv = r->argv;
    wc.argc = r->argc;
    wc.stdin_fd = -1;
    weft_wasi_t *wasi = NULL;
    weft_faasm_t *f = NULL;
    weft_faasm_config_t fc = {r->st, r->app ? r->app : "app", {0}, 0};
    if (weft_wasi_new(&wc, &wasi, NULL, 0) || weft_faasm_new(&fc, &f)) goto out;
    if (weft_wasi_define_imports(wasi, l, r->mod) || weft_faasm_define_imports(f, l, r->mod))
        goto out;
    weft_faasm_begin_call(f, r->input, r->input_len);
    weft_instance_t *inst;
    if (weft_linker_instantiate(l, r->mod, &inst)) {
        snprintf(r->trap, sizeof r->trap, "%s", weft_store_errmsg(s));
        goto out;
    }
    weft_extern_t ext;
    if (weft_instance_export(inst, "_start", &ext)) goto out;
    int rc = weft_func_call(s, ext.of.func, NULL, 0, NULL, 0);
    if (rc == 0)
        r->status = 0;
    else if (rc == WEFT_ETRAP && weft_store_trap(s) == WEFT_TRAP_EXIT)
        r->status = weft_store_exit_status(s);
    else {
        r->status = -1;
        snprintf(r->trap, sizeof r->trap, "%s", weft_store_trap_message(s));
    }
    r->end_rc = weft_faasm_end_call(f);
    const uint8_t *o;
    size_t ol;
    weft_faasm_output(f, &o, &ol);
    r->out = malloc(ol + 1);
    if (ol)
        memcpy(r->out, o, ol);
    r->out[ol] = 0;
    r->out_len = ol;
out:
    weft_linker_delete(l);
    weft_store_delete(s);
    weft_faasm_delete(f);
    weft_wasi_delete(wasi);
}

static weft_faasm_state_t *new_state(void)
{
    weft_faasm_state_t *st;
    char msg[256];
    int rc = weft_faasm_state_new(NULL, &st, msg, sizeof msg);
    if (rc) FAIL("state: %s", msg);
    test_defer((void (*)(void *))weft_faasm_state_delete, st);
    return st;
}

static int run_case(weft_faasm_state_t *st, const char *mode, const char *n)
{
    run_t r = {.st = st, .app = "app", .mod = state_guest(), .argv = {"faasm_state", mode, n},
               .argc = n ? 3 : 2};
    run(&r);
    free(r.out);
    if (r.status != 0) fprintf(stderr, "%s: status %d %s\n", mode, r.status, r.trap);
    return r.status;
}

static uint32_t read_u32(weft_faasm_state_t *st, const char *app, const char *key, size_t off)
{
    weft_faasm_kv_t *kv;
    uint32_t v = 0;
    if (weft_faasm_state_kv(st, app, key, &kv) || weft_faasm_kv_read(kv, off, (uint8_t *)&v, 4))
        FAIL("cannot read %s", key);
    return v;
}

TEST(input_and_output)
{
    weft_faasm_state_t *st = new_state();
    run_t r = {.st = st, .app = "app", .mod = state_guest(), .argv = {"faasm_state", "io"}, .argc = 2,
               .input = (const uint8_t *)"hello", .input_len = 5};
    run(&r);
    test_defer(free, r.out);
    ASSERT_EQ_INT(r.status, 0);
    ASSERT_EQ_INT(r.out_len, 5);
    ASSERT_TRUE(memcmp(r.out, "olleh", 5) == 0);
}

TEST(offsets_at_the_edges_of_a_value)
{
    weft_faasm_state_t *st = new_state();
    ASSERT_EQ_INT(run_case(st, "edges", NULL), 0);
    /* pushed at the end: a new node's view (another service would pull;
     * here the local value) holds every write */
    weft_faasm_kv_t *kv;
    ASSERT_EQ_INT(weft_faasm_state_kv(st, "app", "edges", &kv), 0);
    size_t size;
    ASSERT_EQ_INT(weft_faasm_kv_size(kv, &size), 0);
    ASSERT_EQ_INT(size, 10010);
    uint8_t b[4];
    ASSERT_EQ_INT(weft_faasm_kv_read(kv, 10005, b, 1), 0);
    ASSERT_EQ_INT(b[0], 'G');
}

TEST(pointers_to_a_value_are_one_copy_and_become_the_state)
{
    weft_faasm_state_t *st = new_state();
    ASSERT_EQ_INT(run_case(st, "ptr_shared", NULL), 0);
    weft_faasm_kv_t *kv;
    uint8_t b[7];
    ASSERT_EQ_INT(weft_faasm_state_kv(st, "app", "shared", &kv), 0);
    ASSERT_EQ_INT(weft_faasm_kv_read(kv, 0, b, 7), 0);
    ASSERT_TRUE(memcmp(b, "aBcdefg", 7) == 0); /* the write after the last state call: at call end */
}

TEST(apps_have_their_own_state)
{
    weft_faasm_state_t *st = new_state();
    ASSERT_EQ_INT(run_case(st, "ptr_shared", NULL), 0);
    weft_faasm_kv_t *kv;
    size_t size;
    ASSERT_EQ_INT(weft_faasm_state_kv(st, "other", "shared", &kv), 0);
    ASSERT_EQ_INT(weft_faasm_kv_size(kv, &size), 0);
    ASSERT_EQ_INT(size, 0);
}

TEST(appended_values_and_push_pull)
{
    weft_faasm_state_t *st = new_state();
    ASSERT_EQ_INT(run_case(st, "append", NULL), 0);
    ASSERT_EQ_INT(run_case(st, "push_pull", NULL), 0);
}

/* N threads each run the counter guest; every run does K increments. */
#define THREADS 4
#define INCS 200

static void *counter_thread(void *arg)
{
    run(arg);
    return NULL;
}

static void counters(weft_faasm_state_t *st, const char *mode, run_t *rs)
{
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        rs[i] = (run_t){.st = st, .app = "app", .mod = state_guest(),
                        .argv = {"faasm_state", mode, "200"}, .argc = 3};
        pthread_create(&th[i], NULL, counter_thread, &rs[i]);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        free(rs[i].out);
        if (rs[i].status != 0) FAIL("%s: run %d: status %d %s", mode, i, rs[i].status, rs[i].trap);
    }
}

TEST(concurrent_writers_under_the_write_lock_lose_no_update)
{
    weft_faasm_state_t *st = new_state();
    run_t rs[THREADS];
    counters(st, "counter_locked", rs);
    ASSERT_EQ_INT(read_u32(st, "app", "counter", 0), THREADS * INCS);
}

TEST(concurrent_pointer_writers_under_the_write_lock_lose_no_update)
{
    weft_faasm_state_t *st = new_state();
    run_t rs[THREADS];
    counters(st, "ptr_counter_locked", rs);
    ASSERT_EQ_INT(read_u32(st, "app", "counter", 0), THREADS * INCS);
    ASSERT_EQ_INT(read_u32(st, "app", "counter", 4), THREADS * INCS);
}

TEST(concurrent_writers_without_a_lock_never_see_a_torn_value)
{
    weft_faasm_state_t *st = new_state();
    run_t rs[THREADS];
    counters(st, "counter_unlocked", rs); /* each read checks its two halves match */
    uint32_t c = read_u32(st, "app", "counter", 0);
    ASSERT_TRUE(c >= INCS && c <= THREADS * INCS); /* updates may be lost: no lock */
    ASSERT_EQ_INT(read_u32(st, "app", "counter", 4), c);
}

TEST(a_lock_left_held_is_released_at_call_end)
{
    weft_faasm_state_t *st = new_state();
    ASSERT_EQ_INT(run_case(st, "lock_and_exit", NULL), 0);
    ASSERT_EQ_INT(run_case(st, "counter_locked", "1"), 0); /* would wait forever */
}

TEST(a_bad_key_pointer_traps)
{
    weft_faasm_state_t *st = new_state();
    run_t r = {.st = st, .app = "app", .mod = state_guest(), .argv = {"faasm_state", "bad_key"},
               .argc = 2};
    run(&r);
    free(r.out);
    ASSERT_EQ_INT(r.status, -1);
    ASSERT_TRUE(strstr(r.trap, "__faasm_read_state") != NULL);
}

TEST(a_pull_replaces_local_changes_chunk_by_chunk)
{
    /* A pushed value of five chunks, a local change not pushed, a pull:
     * the value is the global one again, pulled lazily by the reads. */
    weft_faasm_state_t *st = new_state();
    weft_faasm_kv_t *kv;
    ASSERT_EQ_INT(weft_faasm_state_kv(st, "app", "big", &kv), 0);
    size_t n = 5 * WEFT_FAASM_CHUNK;
    uint8_t *v = malloc(n);
    test_defer(free, v);
    for (size_t i = 0; i < n; i++) v[i] = (uint8_t)(i / WEFT_FAASM_CHUNK + 1);
    ASSERT_EQ_INT(weft_faasm_kv_write(kv, v, n), 0);
    ASSERT_EQ_INT(weft_faasm_kv_push(kv), 0);
    /* a local change not pushed, then a partial pull by offset reads: the
     * local chunk stays, others are the global's */
    ASSERT_EQ_INT(weft_faasm_kv_write_range(kv, n, 2 * WEFT_FAASM_CHUNK, (const uint8_t *)"x", 1),
                  0);
    uint8_t b;
    ASSERT_EQ_INT(weft_faasm_kv_read(kv, 2 * WEFT_FAASM_CHUNK, &b, 1), 0);
    ASSERT_EQ_INT(b, 'x');
    ASSERT_EQ_INT(weft_faasm_kv_pull(kv, 0), 0);
    ASSERT_EQ_INT(weft_faasm_kv_read(kv, 2 * WEFT_FAASM_CHUNK, &b, 1), 0);
    ASSERT_EQ_INT(b, 3);
    ASSERT_EQ_INT(weft_faasm_kv_read(kv, n - 1, &b, 1), 0);
    ASSERT_EQ_INT(b, 5);
}

TEST(global_locks_expire)
{
    weft_faasm_state_config_t cfg = {.lock_expiry_ms = 50};
    weft_faasm_state_t *st;
    ASSERT_EQ_INT(weft_faasm_state_new(&cfg, &st, NULL, 0), 0);
    test_defer((void (*)(void *))weft_faasm_state_delete, st);
    ASSERT_EQ_INT(weft_faasm_state_lock_global(st, "app", "k", 1, NULL, NULL), 0);
    /* holder 1 "crashed": holder 2 gets the lock once it expired */
    ASSERT_EQ_INT(weft_faasm_state_lock_global(st, "app", "k", 2, NULL, NULL), 0);
    ASSERT_EQ_INT(weft_faasm_state_unlock_global(st, "app", "k", 1), WEFT_EARG);
    ASSERT_EQ_INT(weft_faasm_state_unlock_global(st, "app", "k", 2), 0);
}

TEST(every_import_has_its_faasm_type)
{
    /* The types of Faasm's host_interface.h on wasm32 (long = i32). */
    static const struct {
        const char *name;
        size_t np, nr;
    } want[] = {
        {"__faasm_read_input", 2, 1},         {"__faasm_write_output", 2, 0},
        {"__faasm_read_state", 3, 1},         {"__faasm_read_state_ptr", 2, 1},
        {"__faasm_read_state_offset", 5, 0},  {"__faasm_write_state_offset", 5, 0},
        {"__faasm_read_appended_state", 4, 0}, {"__faasm_chain_name", 3, 1},
        {"__faasm_chain_ptr", 3, 1},          {"__faasm_await_call", 1, 1},
        {"__faasm_await_call_output", 3, 1},  {"__faasm_pull_state", 2, 0},
    };
    size_t n = weft_faasm_func_count(), found = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name;
        weft_functype_t *ft;
        ASSERT_EQ_INT(weft_faasm_func(i, &name, &ft), 0);
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
            if (strcmp(want[k].name, name)) continue;
            found++;
            ASSERT_EQ_INT(weft_functype_nparams(ft), want[k].np);
            ASSERT_EQ_INT(weft_functype_nresults(ft), want[k].nr);
        }
        weft_functype_delete(ft);
    }
    ASSERT_EQ_INT(found, sizeof want / sizeof want[0]);
    const char *name;
    weft_functype_t *ft;
    ASSERT_EQ_INT(weft_faasm_func(n, &name, &ft), WEFT_ENOTFOUND);
}
