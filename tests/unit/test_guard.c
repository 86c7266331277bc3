/*
 * test_guard.c — the compiled tier's guard regions (docs/jit.md "Memory
 * accesses: guard regions", src/engine/jit/guard.c). Compiled code does no
 * bounds checks where memory 0 is a reservation: every out-of-bounds
 * access at the edges (offsets near 2^32, accesses straddling the end,
 * after memory.grow, a memory of no pages, the largest memory) must trap
 * exactly as the interpreter does, with the same message, fuel and
 * backtrace. A fault that is not compiled code's access must still kill
 * the process (checked in child processes), and where no reservation can
 * be had the compiled code checks bounds itself.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "priv.h"

#if defined(__x86_64__) && defined(__linux__)

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* env.peek: reads guest memory byte i from C without a bounds check (the
 * crash test makes it read past the end while compiled code runs). */
static int host_peek(weft_caller_t *c, void *user, const weft_val_t *args, weft_val_t *results)
{
    (void)user;
    const volatile uint8_t *base = weft_memory_ptr(weft_caller_memory(c, "memory"), 0, 0);
    results[0] = weft_val_i32(base[(uint32_t)args[0].of.i32]);
    return 0;
}

/* Module `name` loaded for `tier`, a store and a linker with env.peek; no
 * instance yet. */
static void open_tier(fixture_t *fx, const char *name, int tier)
{
    fx_open_tier(fx, name, tier);
    ASSERT_OK(weft_linker_define_func(fx->linker, "env", "peek", h_functype("i", "i"), host_peek, NULL));
}

static void load_tier(fixture_t *fx, const char *name, int tier)
{
    open_tier(fx, name, tier);
    fx_instantiate(fx);
}

/* What one call did. */
typedef struct {
    int rc;
    int32_t r;
    weft_trap_code_t trap;
    char msg[128];
    uint32_t bt[16];
    size_t nbt;
    uint64_t fuel;
} outcome_t;

static outcome_t call(fixture_t *fx, const char *name, int nargs, int nres, int32_t a, int32_t b)
{
    outcome_t o;
    memset(&o, 0, sizeof o);
    weft_store_set_fuel(fx->store, 1000000000000); /* grow to 4 GiB costs 2^28 */
    weft_val_t args[2] = {weft_val_i32(a), weft_val_i32(b)}, res[1];
    o.rc = fx_call(fx, name, args, (size_t)nargs, res, (size_t)nres);
    if (o.rc == 0 && nres) o.r = res[0].of.i32;
    if (o.rc == WEFT_ETRAP) {
        o.trap = weft_store_trap(fx->store);
        snprintf(o.msg, sizeof o.msg, "%s", weft_store_trap_message(fx->store));
        o.nbt = weft_store_trap_backtrace(fx->store, o.bt, NULL, 16);
    }
    o.fuel = weft_store_fuel(fx->store);
    return o;
}

/* Calls `name` in both tiers; they must agree on everything. Returns the
 * outcome for the caller's own expectations. */
static outcome_t same_at(const char *file, int line, fixture_t *in, fixture_t *jit, const char *name,
                         int nargs, int nres, int32_t a, int32_t b)
{
    outcome_t x = call(in, name, nargs, nres, a, b), y = call(jit, name, nargs, nres, a, b);
    bool bt_same = x.nbt == y.nbt && memcmp(x.bt, y.bt, x.nbt * sizeof *x.bt) == 0;
    if (x.rc != y.rc || x.r != y.r || x.trap != y.trap || strcmp(x.msg, y.msg) != 0 || !bt_same ||
        x.fuel != y.fuel)
        test_fail(file, line,
                  "%s(%d, %d): interpreter rc %d result %d trap %d \"%s\" backtrace %zu fuel %llu; "
                  "compiled rc %d result %d trap %d \"%s\" backtrace %zu%s fuel %llu",
                  name, a, b, x.rc, x.r, (int)x.trap, x.msg, x.nbt, (unsigned long long)x.fuel, y.rc,
                  y.r, (int)y.trap, y.msg, y.nbt, bt_same ? "" : " (differs)", (unsigned long long)y.fuel);
    return x;
}
#define SAME(in, jit, name, nargs, nres, a, b) same_at(__FILE__, __LINE__, in, jit, name, nargs, nres, a, b)
#define OOB(in, jit, name, nargs, nres, a, b) \
    ASSERT_EQ_INT(SAME(in, jit, name, nargs, nres, a, b).trap, WEFT_TRAP_MEMORY_OOB)
/* A call of one i32 argument (none for "size") that returns `want`. */
static void value_at(const char *file, int line, fixture_t *in, fixture_t *jit, const char *name, int32_t a,
                     int32_t want)
{
    outcome_t o = same_at(file, line, in, jit, name, strcmp(name, "size") != 0, 1, a, 0);
    if (o.rc != 0 || o.r != want)
        test_fail(file, line, "%s(%d): rc %d (%s) result %d, want %d", name, a, o.rc, o.msg, o.r, want);
}
#define VALUE(in, jit, name, a, want) value_at(__FILE__, __LINE__, in, jit, name, a, want)
#define DONE(in, jit, name, nargs, a, b) ASSERT_EQ_INT(SAME(in, jit, name, nargs, 0, a, b).rc, 0)

/* guard.wat's edges (one page, then two), in both tiers. */
static void guard_edges(fixture_t *in, fixture_t *jit)
{
    VALUE(in, jit, "load8", 65535, 0);
    OOB(in, jit, "load8", 1, 1, 65536, 0);
    OOB(in, jit, "load8", 1, 1, -1, 0);
    VALUE(in, jit, "load32", 65532, 0);
    OOB(in, jit, "load32", 1, 1, 65533, 0); /* straddles the end */
    VALUE(in, jit, "load64", 65528, 0);
    OOB(in, jit, "load64", 1, 1, 65529, 0);
    OOB(in, jit, "load32_off_max", 1, 1, 0, 0);  /* offset 2^32 - 1 */
    OOB(in, jit, "load32_off_max", 1, 1, -1, 0); /* 2^33 - 2, the farthest there is */
    OOB(in, jit, "load64_off_max", 1, 1, -1, 0);
    VALUE(in, jit, "load32_off_page", 0, 0);
    OOB(in, jit, "load32_off_page", 1, 1, 1, 0);
    VALUE(in, jit, "load16_s_folded", 0, 0);
    OOB(in, jit, "load16_s_folded", 1, 1, 1, 0);
    VALUE(in, jit, "load16_s_folded", -65534, 0); /* the i32.add wraps to 0 */
    DONE(in, jit, "store32", 2, 65532, 0x01020304);
    VALUE(in, jit, "load32", 65532, 0x01020304);
    OOB(in, jit, "store32", 2, 0, 65533, -1); /* writes nothing: */
    VALUE(in, jit, "load8", 65533, 0x03);
    VALUE(in, jit, "load8", 65535, 0x01);
    DONE(in, jit, "store64_off", 1, 0, 0);
    OOB(in, jit, "store64_off", 1, 0, 1, 0);
    OOB(in, jit, "store8_off_max", 1, 0, 0, 0);
    /* in a callee: its backtrace */
    ASSERT_EQ_U64(SAME(in, jit, "nested", 1, 1, 65536, 0).nbt, 2);
    /* after memory.grow the second page is there, the third is not */
    VALUE(in, jit, "size", 0, 1);
    OOB(in, jit, "load32", 1, 1, 65536, 0);
    VALUE(in, jit, "grow", 1, 1);
    VALUE(in, jit, "load32", 65536, 0);
    VALUE(in, jit, "load32", 131068, 0);
    OOB(in, jit, "load32", 1, 1, 131069, 0);
    DONE(in, jit, "store32", 2, 131068, 9);
    VALUE(in, jit, "load32", 131068, 9);
    VALUE(in, jit, "load32_off_page", 65536, 9);
    OOB(in, jit, "load32_off_page", 1, 1, 65537, 0);
}

TEST(jit_guard_oob_at_the_edges_is_the_interpreters)
{
    fixture_t in, jit;
    load_tier(&in, "guard", WEFT_TIER_INTERP);
    load_tier(&jit, "guard", WEFT_TIER_JIT);
    ASSERT_TRUE(jit.module->jit_guarded); /* no explicit checks in its code */
    ASSERT_TRUE(weft_module_compiled_functions(jit.module, NULL) >= 14);
    guard_edges(&in, &jit);
}

/* A memory of no pages, then grown to 65536 (4 GiB, the most), then past. */
TEST(jit_guard_no_pages_and_the_largest_memory)
{
    fixture_t in, jit;
    load_tier(&in, "guard0", WEFT_TIER_INTERP);
    load_tier(&jit, "guard0", WEFT_TIER_JIT);
    ASSERT_TRUE(jit.module->jit_guarded);
    OOB(&in, &jit, "load8", 1, 1, 0, 0);
    OOB(&in, &jit, "load32_off", 1, 1, -1, 0);
    OOB(&in, &jit, "store32", 2, 0, 0, 1);
    VALUE(&in, &jit, "grow", 1, 0);
    VALUE(&in, &jit, "load8", 65535, 0);
    OOB(&in, &jit, "load8", 1, 1, 65536, 0);
    VALUE(&in, &jit, "grow", 65535, 1);
    VALUE(&in, &jit, "load32", -4, 0);
    OOB(&in, &jit, "load32", 1, 1, -3, 0);
    VALUE(&in, &jit, "load32_off", -8, 0);
    OOB(&in, &jit, "load32_off", 1, 1, -7, 0);
    DONE(&in, &jit, "store32", 2, -4, 77);
    VALUE(&in, &jit, "load32", -4, 77);
    VALUE(&in, &jit, "grow", 1, -1);
    VALUE(&in, &jit, "load8", -1, 0);
}

/* Traps on several threads at once: each thread's fault is its own. */
typedef struct {
    weft_module_t *module;
    weft_engine_t *engine;
    int traps, values, errors;
} thread_run_t;

static void *trap_loop(void *arg)
{
    thread_run_t *t = arg;
    weft_store_t *s = weft_store_new(t->engine);
    weft_linker_t *l = s ? weft_linker_new(s) : NULL;
    weft_instance_t *inst = NULL;
    weft_extern_t ext;
    if (!l || weft_linker_define_func(l, "env", "peek", h_functype("i", "i"), host_peek, NULL) != 0 ||
        weft_linker_instantiate(l, t->module, &inst) != 0 || weft_instance_export(inst, "load32", &ext) != 0) {
        t->errors++;
    } else {
        for (int i = 0; i < 300; i++) {
            weft_val_t a = weft_val_i32(i % 2 ? 65533 + i : 4 * i), r;
            int rc = weft_func_call(s, ext.of.func, &a, 1, &r, 1);
            if (i % 2 && rc == WEFT_ETRAP && weft_store_trap(s) == WEFT_TRAP_MEMORY_OOB)
                t->traps++;
            else if (!(i % 2) && rc == 0 && r.of.i32 == 0)
                t->values++;
            else
                t->errors++;
        }
    }
    if (l) weft_linker_delete(l);
    if (s) weft_store_delete(s);
    return NULL;
}

TEST(jit_guard_traps_on_many_threads_at_once)
{
    fixture_t jit;
    open_tier(&jit, "guard", WEFT_TIER_JIT);
    ASSERT_TRUE(jit.module->jit_guarded);
    thread_run_t runs[4];
    pthread_t th[4];
    for (int k = 0; k < 4; k++) {
        runs[k] = (thread_run_t){jit.module, jit.engine, 0, 0, 0};
        ASSERT_EQ_INT(pthread_create(&th[k], NULL, trap_loop, &runs[k]), 0);
    }
    for (int k = 0; k < 4; k++) pthread_join(th[k], NULL);
    for (int k = 0; k < 4; k++) {
        ASSERT_EQ_INT(runs[k].errors, 0);
        ASSERT_EQ_INT(runs[k].traps, 150);
        ASSERT_EQ_INT(runs[k].values, 150);
    }
}

/* ---- faults that are not compiled code's accesses still crash ------------ */

static fixture_t *crash_fx;
enum { SURVIVED = 42 };

/* C code (the host function) reads past the memory while compiled code
 * is on the stack. */
static int crash_in_host(void)
{
    weft_val_t a = weft_val_i32(65536 + 100), r;
    weft_func_call(crash_fx->store, fx_func(crash_fx, "peek"), &a, 1, &r, 1);
    return SURVIVED;
}

/* C code reads the guard of a guest memory, no compiled code running. */
static int crash_in_c_on_the_guard(void)
{
    const volatile uint8_t *base = weft_memory_ptr(fx_memory(crash_fx, "memory"), 0, 0);
    return base[65536 + 100] + SURVIVED;
}

/* An ordinary wild read in C, with the handler installed. */
static int crash_in_c_anywhere(void)
{
    const volatile uint8_t *volatile p = (const volatile uint8_t *)16;
    return *p + SURVIVED;
}

/* The wait status of fn run in a child process (its stderr discarded:
 * the crash reports are expected). */
static int in_child(int (*fn)(void))
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(SURVIVED + 1);
        _exit(fn());
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
    return st;
}

static void expect_crash_at(const char *file, int line, int st)
{
#ifdef UNDER_ASAN
    /* ASan's handler (which ours chains to) reports the SEGV and exits 1 */
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 1))
#else
    if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV))
#endif
        test_fail(file, line, "child status %#x: %s %d, want a SEGV crash", (unsigned)st,
                  WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}
#define EXPECT_CRASH(fn) expect_crash_at(__FILE__, __LINE__, in_child(fn))

TEST(jit_guard_other_faults_still_crash)
{
    fixture_t jit;
    load_tier(&jit, "guard", WEFT_TIER_JIT);
    ASSERT_TRUE(jit.module->jit_guarded);
    crash_fx = &jit;
    OOB(&jit, &jit, "load32", 1, 1, 65536, 0); /* the handler is in place and takes this one */
    EXPECT_CRASH(crash_in_host);
    EXPECT_CRASH(crash_in_c_on_the_guard);
    EXPECT_CRASH(crash_in_c_anywhere);
    VALUE(&jit, &jit, "load32", 0, 0); /* the parent is unharmed */
}

/* ---- without a reservation: explicit checks ------------------------------ */

static void unset_guard_env(void *unused)
{
    (void)unused;
    unsetenv("WEFT_GUARD_REGIONS");
}

/* WEFT_GUARD_REGIONS=0 compiles the explicit checks: same edges. */
TEST(jit_guard_off_compiles_explicit_checks)
{
    ASSERT_EQ_INT(setenv("WEFT_GUARD_REGIONS", "0", 1), 0);
    test_defer(unset_guard_env, NULL);
    fixture_t in, jit;
    load_tier(&in, "guard", WEFT_TIER_INTERP);
    load_tier(&jit, "guard", WEFT_TIER_JIT);
    ASSERT_FALSE(jit.module->jit_guarded);
    ASSERT_TRUE(weft_module_compiled_functions(jit.module, NULL) >= 14);
    guard_edges(&in, &jit);
}

static struct rlimit saved_as;

static void restore_as(void *unused)
{
    (void)unused;
    setrlimit(RLIMIT_AS, &saved_as);
}

/* Limits the address space to what is mapped now plus 1 GiB (restored when
 * the test ends): no 8 GiB reservation fits. */
static void limit_address_space(void)
{
    unsigned long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    ASSERT_NOT_NULL(f);
    int n = fscanf(f, "%lu", &pages);
    fclose(f);
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_INT(getrlimit(RLIMIT_AS, &saved_as), 0);
    struct rlimit lim = saved_as;
    rlim_t want = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (1u << 30);
    if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur > want) lim.rlim_cur = want;
    ASSERT_EQ_INT(setrlimit(RLIMIT_AS, &lim), 0);
    test_defer(restore_as, NULL);
}

typedef struct {
    fixture_t *fx;
    int rc;
    char msg[256];
} inst_run_t;

static void *instantiate_on_new_thread(void *arg) /* its memory pool is empty */
{
    inst_run_t *r = arg;
    r->rc = weft_linker_instantiate(r->fx->linker, r->fx->module, &r->fx->inst);
    snprintf(r->msg, sizeof r->msg, "%s", weft_store_errmsg(r->fx->store));
    return NULL;
}

/* `ulimit -v`: no reservation, so the compiled code checks bounds itself
 * and the memories are plain mappings. */
TEST(jit_guard_limited_address_space_compiles_explicit_checks)
{
    limit_address_space();
    fixture_t in, jit;
    load_tier(&in, "guard", WEFT_TIER_INTERP);
    open_tier(&jit, "guard", WEFT_TIER_JIT);
    ASSERT_FALSE(jit.module->jit_guarded);
    ASSERT_TRUE(weft_module_compiled_functions(jit.module, NULL) >= 14);
    inst_run_t r = {&jit, -1, ""};
    pthread_t t;
    ASSERT_EQ_INT(pthread_create(&t, NULL, instantiate_on_new_thread, &r), 0);
    pthread_join(t, NULL);
    ASSERT_EQ_INT(r.rc, 0);
    ASSERT_FALSE(jit.inst->mems[0]->guarded);
    guard_edges(&in, &jit);
}

/* Compiled for guards, then the address space runs out before it is
 * instantiated: a clear error, not unchecked code on a plain memory. */
TEST(jit_guard_code_refuses_a_memory_without_guard)
{
    fixture_t jit;
    open_tier(&jit, "guard", WEFT_TIER_JIT);
    ASSERT_TRUE(jit.module->jit_guarded);
    limit_address_space();
    inst_run_t r = {&jit, -1, ""};
    pthread_t t;
    ASSERT_EQ_INT(pthread_create(&t, NULL, instantiate_on_new_thread, &r), 0);
    pthread_join(t, NULL);
    ASSERT_EQ_INT(r.rc, WEFT_ENOMEM);
    ASSERT_TRUE(strstr(r.msg, "guard region") != NULL);
}


typedef struct {
    fixture_t *jit;
    bool plain;
    int rc;
    bool guarded;
} pooled_run_t;

/* On one thread (one memory pool), started with the address space
 * limited: a memory made then is plain, and goes to the pool when its
 * store is deleted; with the limit lifted, the guarded module's instance
 * gets a reservation, not the pooled plain region. */
static void *plain_then_guarded(void *arg)
{
    pooled_run_t *r = arg;
    weft_store_t *s = weft_store_new(r->jit->engine);
    weft_memory_t *m = s ? weft_memory_new(s, (weft_limits_t){.min = 1}) : NULL;
    restore_as(NULL);
    r->plain = m && !m->guarded;
    if (s) weft_store_delete(s);
    r->rc = weft_linker_instantiate(r->jit->linker, r->jit->module, &r->jit->inst);
    r->guarded = r->rc == 0 && r->jit->inst->mems[0]->guarded;
    return NULL;
}

/* A plain memory pooled while reservations failed is not given to a
 * memory that can have a reservation: code compiled for guard regions
 * refuses it (jit_direct_calls_agree_with_the_interpreter, run after the
 * tests above in one process, got the interpreted fixture's plain memory
 * of jit_guard_limited_address_space_compiles_explicit_checks). */
TEST(jit_guard_pooled_plain_memory_does_not_replace_a_reservation)
{
    fixture_t jit;
    open_tier(&jit, "guard", WEFT_TIER_JIT);
    ASSERT_TRUE(jit.module->jit_guarded);
    pooled_run_t r = {&jit, false, -1, false};
    pthread_t t;
    limit_address_space();
    ASSERT_EQ_INT(pthread_create(&t, NULL, plain_then_guarded, &r), 0);
    pthread_join(t, NULL);
    ASSERT_TRUE(r.plain);
    ASSERT_EQ_INT(r.rc, 0);
    ASSERT_TRUE(r.guarded);
}

#endif
