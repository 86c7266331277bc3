/*
 * test_host.c — host functions, linking and re-entrancy.
 *
 * Host callbacks here never assert (a longjmp through the engine would
 * leave it mid-call); they record what they saw in a `seen_t` passed as
 * user data, and the test asserts afterwards. Covers arguments and multiple
 * results, host traps, guest memory from the host, unresolved and
 * mismatched imports, instance-to-instance linking, re-entrant calls,
 * runaway guest/host recursion, exit and interrupt polling from callbacks.
 */
#include <ctype.h>
#include <pthread.h>
#include <time.h>

#include "harness.h"

typedef struct {
    int calls;
    weft_val_t args[4];
    int rc;                   /* of a nested call */
    weft_trap_code_t trap;    /* of the innermost failed nested call */
    int failed;               /* a nested call failed (rc/trap recorded once) */
    int limit;                /* host_back: stop recursing at this depth */
    weft_store_t *store;      /* what weft_caller_store returned */
    weft_memory_t *mem_named, *mem_default;
    int export_rc;
} seen_t;

static int host_multi(weft_caller_t *c, void *user, const weft_val_t *args,
                      weft_val_t *results)
{
    seen_t *s = user;
    s->calls++;
    memcpy(s->args, args, 4 * sizeof *args);
    results[0] = weft_val_i64(args[1].of.i64 * 1000 + args[0].of.i32);
    results[1] = weft_val_i32((int32_t)(weft_val_get_f32(&args[2]) + weft_val_get_f64(&args[3])));
    return 0;
}

static int host_fail(weft_caller_t *c, void *user, const weft_val_t *args, weft_val_t *results)
{
    seen_t *s = user;
    s->calls++;
    return weft_caller_trap(c, "boom %d", args[0].of.i32);
}

static int host_upper(weft_caller_t *c, void *user, const weft_val_t *args,
                      weft_val_t *results)
{
    seen_t *s = user;
    uint8_t *p;
    s->calls++;
    s->store = weft_caller_store(c);
    s->mem_named = weft_caller_memory(c, "memory");
    s->mem_default = weft_caller_memory(c, NULL);
    if (s->mem_named == NULL)
        return weft_caller_trap(c, "no memory");
    p = weft_memory_ptr(s->mem_named, (uint32_t)args[0].of.i32, (uint32_t)args[1].of.i32);
    if (p == NULL)
        return weft_caller_trap(c, "bad pointer");
    for (int32_t i = 0; i < args[1].of.i32; i++)
        p[i] = (uint8_t)toupper(p[i]);
    return 0;
}

static int host_reenter(weft_caller_t *c, void *user, const weft_val_t *args,
                        weft_val_t *results)
{
    seen_t *s = user;
    weft_extern_t ext;
    weft_val_t res;
    s->calls++;
    s->export_rc = weft_caller_export(c, "double", &ext);
    if (s->export_rc != 0 || ext.kind != WEFT_EXTERN_FUNC)
        return weft_caller_trap(c, "no export double");
    s->rc = weft_func_call(weft_caller_store(c), ext.of.func, args, 1, &res, 1);
    if (s->rc != 0) {
        s->trap = weft_store_trap(weft_caller_store(c));
        return weft_caller_trap(c, "nested call failed");
    }
    results[0] = weft_val_i32(res.of.i32 + 1);
    return 0;
}

/* Defines the four imports of host.wat, all recording into `s`. */
static void define_host_imports(fixture_t *fx, seen_t *s)
{
    ASSERT_OK(weft_linker_define_func(fx->linker, "env", "multi", h_functype("iIfF", "Ii"),
                                      host_multi, s));
    ASSERT_OK(weft_linker_define_func(fx->linker, "env", "fail", h_functype("i", ""),
                                      host_fail, s));
    ASSERT_OK(weft_linker_define_func(fx->linker, "env", "upper", h_functype("ii", ""),
                                      host_upper, s));
    ASSERT_OK(weft_linker_define_func(fx->linker, "env", "reenter", h_functype("i", "i"),
                                      host_reenter, s));
}

TEST(host_args_and_multiple_results)
{
    fixture_t fx;
    seen_t s = {0};
    weft_val_t res[2];
    fx_open(&fx, "host");
    define_host_imports(&fx, &s);
    fx_instantiate(&fx);

    ASSERT_OK_S(fx.store, fx_call(&fx, "call_multi", NULL, 0, res, 2));
    ASSERT_EQ_INT(s.calls, 1);
    ASSERT_EQ_INT(s.args[0].type, WEFT_I32);
    ASSERT_EQ_INT(s.args[0].of.i32, 1);
    ASSERT_EQ_INT(s.args[1].type, WEFT_I64);
    ASSERT_EQ_U64(s.args[1].of.i64, 2);
    ASSERT_EQ_INT(s.args[2].type, WEFT_F32);
    ASSERT_TRUE(weft_val_get_f32(&s.args[2]) == 3.5f);
    ASSERT_EQ_INT(s.args[3].type, WEFT_F64);
    ASSERT_TRUE(weft_val_get_f64(&s.args[3]) == 4.25);
    ASSERT_EQ_INT(res[0].type, WEFT_I64);
    ASSERT_EQ_U64(res[0].of.i64, 2001);
    ASSERT_EQ_INT(res[1].type, WEFT_I32);
    ASSERT_EQ_INT(res[1].of.i32, 7);
}

TEST(host_function_called_directly)
{
    weft_engine_t *e = h_engine();
    weft_store_t *st = h_store(e);
    seen_t s = {0};
    weft_func_t *f = weft_func_new_host(st, h_functype("iIfF", "Ii"), host_multi, &s, NULL);
    weft_val_t args[4] = {weft_val_i32(5), weft_val_i64(6), weft_val_f32(1.0f),
                          weft_val_f64(2.0)};
    weft_val_t res[2];
    ASSERT_NOT_NULL(f);
    ASSERT_EQ_U64(weft_functype_nresults(weft_func_type(f)), 2);
    ASSERT_OK_S(st, weft_func_call(st, f, args, 4, res, 2));
    ASSERT_EQ_U64(res[0].of.i64, 6005);
    ASSERT_EQ_INT(res[1].of.i32, 3);
    /* argument checks apply to host functions too */
    ASSERT_RC_S(st, weft_func_call(st, f, args, 3, res, 2), WEFT_EARG);
    ASSERT_EQ_INT(s.calls, 1);
}

TEST(host_trap_propagates)
{
    fixture_t fx;
    seen_t s = {0};
    fx_open(&fx, "host");
    define_host_imports(&fx, &s);
    fx_instantiate(&fx);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "call_fail", 0), WEFT_TRAP_HOST);
    ASSERT_CONTAINS(weft_store_trap_message(fx.store), "boom 42");
    ASSERT_EQ_INT(s.calls, 1);
    ASSERT_EQ_INT(CALL_I32(&fx, "ok", 0), 1);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "call_fail", 0), WEFT_TRAP_HOST);
    ASSERT_EQ_INT(CALL_I32(&fx, "ok", 0), 1);
}

TEST(host_reads_and_writes_guest_memory)
{
    fixture_t fx;
    seen_t s = {0};
    char buf[6] = {0};
    fx_open(&fx, "host");
    define_host_imports(&fx, &s);
    fx_instantiate(&fx);
    ASSERT_EQ_INT(CALL_I32(&fx, "call_upper", 0), 'H');
    ASSERT_EQ_INT(s.calls, 1);
    ASSERT_EQ_PTR(s.store, fx.store);
    ASSERT_EQ_PTR(s.mem_named, fx_memory(&fx, "memory"));
    ASSERT_EQ_PTR(s.mem_default, s.mem_named);
    ASSERT_OK(weft_memory_read(s.mem_named, 100, buf, 5));
    ASSERT_EQ_STR(buf, "HELLO");
}

static int host_probe(weft_caller_t *c, void *user, const weft_val_t *args, weft_val_t *results)
{
    seen_t *s = user;
    weft_extern_t ext;
    s->calls++;
    s->mem_named = weft_caller_memory(c, "memory");
    s->mem_default = weft_caller_memory(c, NULL);
    s->export_rc = weft_caller_export(c, "nope", &ext);
    s->rc = weft_caller_export(c, "run", &ext);
    return 0;
}

TEST(host_caller_without_memory)
{
    fixture_t fx;
    seen_t s = {0};
    s.mem_named = s.mem_default = (weft_memory_t *)&s;
    fx_open(&fx, "host_nomem");
    ASSERT_OK(weft_linker_define_func(fx.linker, "env", "probe", h_functype("", ""),
                                      host_probe, &s));
    fx_instantiate(&fx);
    CALL_VOID(&fx, "run", 0);
    ASSERT_EQ_INT(s.calls, 1);
    ASSERT_NULL(s.mem_named);
    ASSERT_NULL(s.mem_default);
    ASSERT_EQ_INT(s.export_rc, WEFT_ENOTFOUND);
    ASSERT_EQ_INT(s.rc, 0);
}

TEST(host_reentrant_call)
{
    fixture_t fx;
    seen_t s = {0};
    fx_open(&fx, "host");
    define_host_imports(&fx, &s);
    fx_instantiate(&fx);
    ASSERT_EQ_INT(CALL_I32(&fx, "call_reenter", 1, 20), 41);
    ASSERT_EQ_INT(s.calls, 1);
    ASSERT_EQ_INT(s.export_rc, 0);
    ASSERT_EQ_INT(s.rc, 0);
    ASSERT_EQ_INT(CALL_I32(&fx, "call_reenter", 1, -4), -7);
}

static int host_back(weft_caller_t *c, void *user, const weft_val_t *args, weft_val_t *results)
{
    seen_t *s = user;
    weft_extern_t ext;
    weft_val_t arg, res;
    int rc;
    s->calls++;
    if (s->limit && args[0].of.i32 >= s->limit) {
        results[0] = args[0];
        return 0;
    }
    if (weft_caller_export(c, "down", &ext) != 0)
        return weft_caller_trap(c, "no export down");
    arg = weft_val_i32(args[0].of.i32 + 1);
    rc = weft_func_call(weft_caller_store(c), ext.of.func, &arg, 1, &res, 1);
    if (rc != 0) {
        if (!s->failed) {
            s->failed = 1;
            s->rc = rc;
            s->trap = weft_store_trap(weft_caller_store(c));
        }
        return weft_caller_trap(c, "nested call failed at depth %d", args[0].of.i32);
    }
    results[0] = res;
    return 0;
}

TEST(host_guest_recursion_bounded)
{
    fixture_t fx;
    seen_t s = {0};
    s.limit = 30;
    fx_open(&fx, "host_loop");
    ASSERT_OK(weft_linker_define_func(fx.linker, "env", "back", h_functype("i", "i"),
                                      host_back, &s));
    fx_instantiate(&fx);
    ASSERT_EQ_INT(CALL_I32(&fx, "down", 1, 0), 30);
    ASSERT_EQ_INT(s.calls, 31);
    ASSERT_EQ_INT(s.failed, 0);
}

TEST(host_guest_recursion_hits_depth_limit)
{
    fixture_t fx;
    seen_t s = {0};
    weft_limits_config_t lim;
    fx_open(&fx, "host_loop");
    ASSERT_OK(weft_linker_define_func(fx.linker, "env", "back", h_functype("i", "i"),
                                      host_back, &s));
    fx_instantiate(&fx);
    lim = weft_store_limits(fx.store);
    lim.max_call_depth = 64;
    ASSERT_OK(weft_store_set_limits(fx.store, &lim));
    ASSERT_RC_S(fx.store, TRY_I32(&fx, "down", 1, 0), WEFT_ETRAP);
    ASSERT_TRUE(s.failed);
    ASSERT_EQ_INT(s.rc, WEFT_ETRAP);
    ASSERT_EQ_INT(s.trap, WEFT_TRAP_STACK_EXHAUSTED);
    ASSERT_EQ_INT(CALL_I32(&fx, "ok", 0), 1);
}

TEST(host_guest_recursion_default_limits)
{
    /* Every guest->host->guest round trip nests a C frame of the engine and
     * of the callback; with default limits this must still end in a trap,
     * not in a blown C stack. */
    fixture_t fx;
    seen_t s = {0};
    fx_open(&fx, "host_loop");
    ASSERT_OK(weft_linker_define_func(fx.linker, "env", "back", h_functype("i", "i"),
                                      host_back, &s));
    fx_instantiate(&fx);
    ASSERT_RC_S(fx.store, TRY_I32(&fx, "down", 1, 0), WEFT_ETRAP);
    ASSERT_TRUE(s.failed);
    ASSERT_EQ_INT(s.rc, WEFT_ETRAP);
    ASSERT_EQ_INT(s.trap, WEFT_TRAP_STACK_EXHAUSTED);
    ASSERT_EQ_INT(CALL_I32(&fx, "ok", 0), 1);
}

TEST(host_unresolved_import)
{
    fixture_t fx;
    seen_t s = {0};
    weft_instance_t *inst = NULL;
    fx_open(&fx, "unresolved");
    ASSERT_RC_S(fx.store, weft_linker_instantiate(fx.linker, fx.module, &inst),
                WEFT_EUNLINKABLE);
    ASSERT_CONTAINS(weft_store_errmsg(fx.store), "env");
    ASSERT_CONTAINS(weft_store_errmsg(fx.store), "missing_fn");
    /* the same linker works once the import is there */
    ASSERT_OK(weft_linker_define_func(fx.linker, "env", "missing_fn", h_functype("i", ""),
                                      host_fail, &s));
    fx_instantiate(&fx);
}

static int ret_i64(weft_caller_t *c, void *user, const weft_val_t *args, weft_val_t *results)
{
    results[0] = weft_val_i64(0);
    return 0;
}

static int ret_none(weft_caller_t *c, void *user, const weft_val_t *args, weft_val_t *results)
{
    return 0;
}

/* Which import of imports.wat to get wrong. */
enum breakage {
    BREAK_NOTHING,
    BREAK_FUNC_TYPE,
    BREAK_FUNC_KIND,
    BREAK_MEM_MAX,
    BREAK_MEM_MIN,
    BREAK_TABLE_TYPE,
    BREAK_GLOBAL_MUT,
    BREAK_GLOBAL_TYPE,
    BREAK_MISSING_VOID,
};

/* Instantiates imports.wat with every import defined, one of them wrong;
 * returns the instantiation's code, the fixture keeps the store. */
static int link_imports(fixture_t *fx, enum breakage b)
{
    weft_limits_t mlim = {1, 3, 1}, tlim = {4, 0, 0};
    weft_val_t g = weft_val_i32(0);
    weft_extern_t ext;
    weft_instance_t *inst = NULL;

    fx_open(fx, "imports");
    if (b == BREAK_FUNC_KIND) {
        ext.kind = WEFT_EXTERN_GLOBAL;
        ext.of.global = weft_global_new(fx->store, WEFT_I32, 1, &g);
        ASSERT_NOT_NULL(ext.of.global);
        ASSERT_OK(weft_linker_define(fx->linker, "env", "ext_func", &ext));
    } else {
        ASSERT_OK(weft_linker_define_func(fx->linker, "env", "ext_func",
                                          b == BREAK_FUNC_TYPE ? h_functype("i", "I")
                                                               : h_functype("iF", "I"),
                                          ret_i64, NULL));
    }
    if (b == BREAK_MEM_MAX)
        mlim.has_max = 0;
    if (b == BREAK_MEM_MIN)
        mlim.min = 0;
    ext.kind = WEFT_EXTERN_MEMORY;
    ext.of.memory = weft_memory_new(fx->store, mlim);
    ASSERT_NOT_NULL(ext.of.memory);
    ASSERT_OK(weft_linker_define(fx->linker, "env", "ext_mem", &ext));

    ext.kind = WEFT_EXTERN_TABLE;
    ext.of.table = weft_table_new(fx->store, b == BREAK_TABLE_TYPE ? WEFT_FUNCREF
                                                                  : WEFT_EXTERNREF,
                                  tlim, NULL);
    ASSERT_NOT_NULL(ext.of.table);
    ASSERT_OK(weft_linker_define(fx->linker, "env", "ext_tab", &ext));

    if (b == BREAK_GLOBAL_TYPE) {
        weft_val_t g64 = weft_val_i64(0);
        ext.of.global = weft_global_new(fx->store, WEFT_I64, 1, &g64);
    } else {
        ext.of.global = weft_global_new(fx->store, WEFT_I32, b != BREAK_GLOBAL_MUT, &g);
    }
    ext.kind = WEFT_EXTERN_GLOBAL;
    ASSERT_NOT_NULL(ext.of.global);
    ASSERT_OK(weft_linker_define(fx->linker, "env", "ext_glob", &ext));

    if (b != BREAK_MISSING_VOID)
        ASSERT_OK(weft_linker_define_func(fx->linker, "other", "ext_void", h_functype("", ""),
                                          ret_none, NULL));
    return weft_linker_instantiate(fx->linker, fx->module, &inst);
}

#define EXPECT_UNLINKABLE(breakage, name)                                  \
    do {                                                                   \
        fixture_t fx_;                                                     \
        int rc_ = link_imports(&fx_, breakage);                            \
        ASSERT_RC_S(fx_.store, rc_, WEFT_EUNLINKABLE);                     \
        ASSERT_CONTAINS(weft_store_errmsg(fx_.store), name);               \
    } while (0)

TEST(host_all_imports_link)
{
    fixture_t fx;
    int rc = link_imports(&fx, BREAK_NOTHING);
    ASSERT_OK_S(fx.store, rc);
}

TEST(host_import_function_type_mismatch)
{
    EXPECT_UNLINKABLE(BREAK_FUNC_TYPE, "ext_func");
}

TEST(host_import_kind_mismatch)
{
    EXPECT_UNLINKABLE(BREAK_FUNC_KIND, "ext_func");
}

TEST(host_import_memory_limits_mismatch)
{
    EXPECT_UNLINKABLE(BREAK_MEM_MAX, "ext_mem");
    EXPECT_UNLINKABLE(BREAK_MEM_MIN, "ext_mem");
}

TEST(host_import_table_type_mismatch)
{
    EXPECT_UNLINKABLE(BREAK_TABLE_TYPE, "ext_tab");
}

TEST(host_import_global_mismatch)
{
    EXPECT_UNLINKABLE(BREAK_GLOBAL_MUT, "ext_glob");
    EXPECT_UNLINKABLE(BREAK_GLOBAL_TYPE, "ext_glob");
}

TEST(host_import_missing_second_module)
{
    EXPECT_UNLINKABLE(BREAK_MISSING_VOID, "ext_void");
}

TEST(host_link_instance_exports)
{
    weft_engine_t *e = h_engine();
    weft_module_t *api = h_module(e, "api");
    weft_module_t *user = h_module(e, "link_user");
    weft_store_t *s = h_store(e);
    weft_linker_t *l = h_linker(s);
    weft_instance_t *a = NULL, *u = NULL;
    weft_extern_t ext;
    weft_val_t args[2] = {weft_val_i32(2), weft_val_i32(3)}, res;

    ASSERT_OK_S(s, weft_linker_instantiate(l, api, &a));
    ASSERT_OK(weft_linker_define_instance(l, "api", a));
    ASSERT_OK_S(s, weft_linker_instantiate(l, user, &u));

    ASSERT_OK(weft_instance_export(u, "add_and_store", &ext));
    ASSERT_OK_S(s, weft_func_call(s, ext.of.func, args, 2, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 5);
    /* the memory is shared: api's load sees the store */
    ASSERT_OK(weft_instance_export(a, "load", &ext));
    args[0] = weft_val_i32(0);
    ASSERT_OK_S(s, weft_func_call(s, ext.of.func, args, 1, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 5);
    /* and so is the global */
    ASSERT_OK(weft_instance_export(u, "bump", &ext));
    ASSERT_OK_S(s, weft_func_call(s, ext.of.func, NULL, 0, NULL, 0));
    ASSERT_OK(weft_instance_export(a, "get_g", &ext));
    ASSERT_OK_S(s, weft_func_call(s, ext.of.func, NULL, 0, &res, 1));
    ASSERT_EQ_U64(res.of.i64, 8);
}

TEST(host_linker_redefinition_replaces)
{
    fixture_t fx;
    seen_t first = {0}, second = {0};
    fx_open(&fx, "host_nomem");
    ASSERT_OK(weft_linker_define_func(fx.linker, "env", "probe", h_functype("", ""),
                                      host_probe, &first));
    ASSERT_OK(weft_linker_define_func(fx.linker, "env", "probe", h_functype("", ""),
                                      host_probe, &second));
    fx_instantiate(&fx);
    CALL_VOID(&fx, "run", 0);
    ASSERT_EQ_INT(first.calls, 0);
    ASSERT_EQ_INT(second.calls, 1);
}

static void count_finalize(void *user)
{
    (*(int *)user)++;
}

TEST(host_finalizer_runs_at_store_delete)
{
    weft_engine_t *e = h_engine();
    weft_store_t *s = weft_store_new(e);
    int finalized = 0;
    weft_func_t *f;
    ASSERT_NOT_NULL(s);
    f = weft_func_new_host(s, h_functype("", ""), ret_none, &finalized, count_finalize);
    if (f == NULL)
        weft_store_delete(s);
    ASSERT_NOT_NULL(f);
    ASSERT_EQ_INT(finalized, 0);
    weft_store_delete(s);
    ASSERT_EQ_INT(finalized, 1);
}

static int host_stop(weft_caller_t *c, void *user, const weft_val_t *args, weft_val_t *results)
{
    seen_t *s = user;
    s->calls++;
    weft_store_interrupt(weft_caller_store(c));
    return 0;
}

TEST(host_interrupt_from_callback)
{
    fixture_t fx;
    seen_t s = {0};
    fx_open(&fx, "host_stop");
    ASSERT_OK(weft_linker_define_func(fx.linker, "env", "stop", h_functype("", ""), host_stop,
                                      &s));
    fx_instantiate(&fx);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "run", 0), WEFT_TRAP_INTERRUPTED);
    ASSERT_EQ_INT(s.calls, 1);
    weft_store_clear_interrupt(fx.store);
    /* still interrupted by the callback on the next run */
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "run", 0), WEFT_TRAP_INTERRUPTED);
    ASSERT_EQ_INT(s.calls, 2);
}

TEST(host_reentrant_work_uses_the_same_fuel)
{
    fixture_t fx;
    seen_t s = {0};
    uint64_t direct, nested;
    fx_open(&fx, "host");
    define_host_imports(&fx, &s);
    fx_instantiate(&fx);
    weft_store_set_fuel(fx.store, 1000);
    ASSERT_EQ_INT(CALL_I32(&fx, "double", 1, 5), 10);
    direct = 1000 - weft_store_fuel(fx.store);
    weft_store_set_fuel(fx.store, 1000);
    ASSERT_EQ_INT(CALL_I32(&fx, "call_reenter", 1, 5), 11);
    nested = 1000 - weft_store_fuel(fx.store);
    ASSERT_GT_U64(direct, 0);
    /* the outer call's own instructions plus everything "double" ran */
    ASSERT_GT_U64(nested, direct);
    /* one unit less and the whole call cannot finish: either the nested
     * call runs out (and the host turns that into its own trap) or the
     * outer one does */
    s.rc = 0;
    weft_store_set_fuel(fx.store, nested - 1);
    ASSERT_RC_S(fx.store, TRY_I32(&fx, "call_reenter", 1, 5), WEFT_ETRAP);
    if (weft_store_trap(fx.store) == WEFT_TRAP_HOST) {
        ASSERT_EQ_INT(s.rc, WEFT_ETRAP);
        ASSERT_EQ_INT(s.trap, WEFT_TRAP_OUT_OF_FUEL);
    } else {
        ASSERT_EQ_INT(weft_store_trap(fx.store), WEFT_TRAP_OUT_OF_FUEL);
    }
}

static int host_seven(weft_caller_t *c, void *user, const weft_val_t *args, weft_val_t *results)
{
    seen_t *s = user;
    if (s != NULL)
        s->calls++;
    results[0] = weft_val_i32(7000);
    return 0;
}

TEST(host_function_called_through_table)
{
    fixture_t fx;
    seen_t s = {0};
    weft_func_t *good, *bad;
    weft_val_t v;
    fx_load(&fx, "api");
    good = weft_func_new_host(fx.store, h_functype("", "i"), host_seven, &s, NULL);
    bad = weft_func_new_host(fx.store, h_functype("i", "i"), host_seven, &s, NULL);
    ASSERT_NOT_NULL(good);
    ASSERT_NOT_NULL(bad);
    v = h_funcref(good);
    ASSERT_OK(weft_table_set(fx_table(&fx, "table"), 0, &v));
    v = h_funcref(bad);
    ASSERT_OK(weft_table_set(fx_table(&fx, "table"), 1, &v));
    ASSERT_EQ_INT(CALL_I32(&fx, "call_tab", 1, 0), 7000);
    ASSERT_EQ_INT(s.calls, 1);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "call_tab", 1, 1), WEFT_TRAP_INDIRECT_CALL_MISMATCH);
    ASSERT_EQ_INT(s.calls, 1);
}

static int host_long_trap(weft_caller_t *c, void *user, const weft_val_t *args,
                          weft_val_t *results)
{
    static char big[20000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    return weft_caller_trap(c, "long:%s", big);
}

TEST(host_trap_with_a_long_message)
{
    fixture_t fx;
    const char *msg;
    fx_open(&fx, "host_nomem");
    ASSERT_OK(weft_linker_define_func(fx.linker, "env", "probe", h_functype("", ""),
                                      host_long_trap, NULL));
    fx_instantiate(&fx);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "run", 0), WEFT_TRAP_HOST);
    msg = weft_store_trap_message(fx.store);
    ASSERT_CONTAINS(msg, "long:xxxx");
}

TEST(host_objects_of_another_store_are_refused)
{
    fixture_t fx;
    weft_store_t *other = h_store(h_engine());
    weft_func_t *foreign = weft_func_new_host(other, h_functype("", "i"), host_seven, NULL, NULL);
    weft_limits_t lim = {1, 0, 0};
    weft_memory_t *fmem = weft_memory_new(other, lim);
    weft_instance_t *inst = NULL;
    weft_extern_t ext;
    weft_val_t v;
    int rc;
    ASSERT_NOT_NULL(foreign);
    ASSERT_NOT_NULL(fmem);
    fx_load(&fx, "api");

    /* calling it through the wrong store */
    ASSERT_RC_S(fx.store, weft_func_call(fx.store, foreign, NULL, 0, &v, 1), WEFT_EARG);
    /* storing it in this store's table */
    v = h_funcref(foreign);
    ASSERT_RC(weft_table_set(fx_table(&fx, "table"), 0, &v), WEFT_EARG);
    /* linking it into an instance of this store */
    fx_open(&fx, "imports");
    ext.kind = WEFT_EXTERN_MEMORY;
    ext.of.memory = fmem;
    ASSERT_OK(weft_linker_define(fx.linker, "env", "ext_mem", &ext));
    ASSERT_OK(weft_linker_define_func(fx.linker, "env", "ext_func", h_functype("iF", "I"),
                                      ret_i64, NULL));
    rc = weft_linker_instantiate(fx.linker, fx.module, &inst);
    ASSERT_NE_INT(rc, 0);
}

TEST(host_link_instance_export_type_mismatch)
{
    /* link_user imports api.add as (i32 i32) -> i32; offer "seven" under
     * that name instead, a () -> i32 */
    weft_engine_t *e = h_engine();
    weft_module_t *api = h_module(e, "api");
    weft_module_t *user = h_module(e, "link_user");
    weft_store_t *s = h_store(e);
    weft_linker_t *l = h_linker(s);
    weft_instance_t *a = NULL, *u = NULL;
    weft_extern_t ext;
    ASSERT_OK_S(s, weft_linker_instantiate(l, api, &a));
    ASSERT_OK(weft_linker_define_instance(l, "api", a));
    ASSERT_OK(weft_instance_export(a, "seven", &ext));
    ASSERT_OK(weft_linker_define(l, "api", "add", &ext));
    ASSERT_RC_S(s, weft_linker_instantiate(l, user, &u), WEFT_EUNLINKABLE);
    ASSERT_CONTAINS(weft_store_errmsg(s), "add");
}

static int host_exit(weft_caller_t *c, void *user, const weft_val_t *args, weft_val_t *results)
{
    seen_t *s = user;
    s->calls++;
    return weft_caller_exit(c, args[0].of.i32);
}

/* Blocks in 1 ms naps until the store is interrupted (or ~20 s pass),
 * the way a sleeping WASI call polls. Records how it ended in s->rc. */
static int host_block(weft_caller_t *c, void *user, const weft_val_t *args, weft_val_t *results)
{
    seen_t *s = user;
    struct timespec nap = {0, 1000000L};
    s->calls++;
    for (int i = 0; i < 20000; i++) {
        int rc = weft_caller_check_interrupt(c);
        if (rc != 0) {
            s->rc = rc;
            return rc;
        }
        if (s->limit)
            break;
        nanosleep(&nap, NULL);
    }
    s->rc = 0;
    results[0] = weft_val_i32(5);
    return 0;
}

static void open_host_exit(fixture_t *fx, seen_t *s)
{
    fx_open(fx, "host_exit");
    ASSERT_OK(weft_linker_define_func(fx->linker, "env", "exit", h_functype("i", ""), host_exit,
                                      s));
    ASSERT_OK(weft_linker_define_func(fx->linker, "env", "block", h_functype("", "i"),
                                      host_block, s));
    fx_instantiate(fx);
}

TEST(host_exit_ends_the_whole_call)
{
    fixture_t fx;
    seen_t s = {0};
    weft_val_t g;
    open_host_exit(&fx, &s);
    ASSERT_EQ_INT(weft_store_exit_status(fx.store), 0);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "run", 1, 3), WEFT_TRAP_EXIT);
    ASSERT_EQ_INT(weft_store_exit_status(fx.store), 3);
    ASSERT_EQ_INT(s.calls, 1);
    /* neither frame ran on after the exit */
    weft_global_get(fx_global(&fx, "after"), &g);
    ASSERT_EQ_INT(g.of.i32, 0);
    /* exit 0 is still an exit */
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "run", 1, 0), WEFT_TRAP_EXIT);
    ASSERT_EQ_INT(weft_store_exit_status(fx.store), 0);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "run", 1, 42), WEFT_TRAP_EXIT);
    ASSERT_EQ_INT(weft_store_exit_status(fx.store), 42);
    /* a normal call afterwards: status back to 0 */
    ASSERT_EQ_INT(CALL_I32(&fx, "ok", 0), 1);
    ASSERT_EQ_INT(weft_store_exit_status(fx.store), 0);
}

TEST(host_check_interrupt_without_interrupt)
{
    fixture_t fx;
    seen_t s = {0};
    s.limit = 1; /* one poll, then return */
    open_host_exit(&fx, &s);
    ASSERT_EQ_INT(CALL_I32(&fx, "wait", 0), 5);
    ASSERT_EQ_INT(s.rc, 0);
}

typedef struct {
    weft_store_t *store;
} stopper_t;

static void *interrupt_after_50ms(void *arg)
{
    stopper_t *st = arg;
    struct timespec ts = {0, 50000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    weft_store_interrupt(st->store);
    return NULL;
}

TEST(host_check_interrupt_ends_a_blocking_call)
{
    fixture_t fx;
    seen_t s = {0};
    stopper_t st;
    pthread_t th;
    int rc;
    open_host_exit(&fx, &s);
    st.store = fx.store;
    ASSERT_EQ_INT(pthread_create(&th, NULL, interrupt_after_50ms, &st), 0);
    rc = TRY_I32(&fx, "wait", 0);
    pthread_join(th, NULL);
    ASSERT_TRAP(fx.store, rc, WEFT_TRAP_INTERRUPTED);
    ASSERT_EQ_INT(s.rc, WEFT_ETRAP);
    weft_store_clear_interrupt(fx.store);
    s.limit = 1;
    ASSERT_EQ_INT(CALL_I32(&fx, "wait", 0), 5);
}
