/*
 * test_trap.c — every trap code, and a store that survives its traps.
 *
 * Each test provokes one kind of trap (wat/traps.wat) and checks the call
 * returns WEFT_ETRAP with the right weft_store_trap() code and a message,
 * then makes a second call that must succeed. Also: writes before a trap
 * persist, the backtrace names the frames, and instantiation traps (start
 * function, segments that do not fit).
 */
#include <math.h>

#include "harness.h"

static int call1(fixture_t *fx, const char *name, weft_val_t a)
{
    weft_val_t res[1];
    size_t nres = weft_functype_nresults(weft_func_type(fx_func(fx, name)));
    return fx_call(fx, name, &a, 1, res, nres);
}

static int call2(fixture_t *fx, const char *name, weft_val_t a, weft_val_t b)
{
    weft_val_t args[2] = {a, b}, res[1];
    return fx_call(fx, name, args, 2, res, 1);
}

/* The store is fine after a trap: a plain call succeeds. */
#define ASSERT_STILL_USABLE(fx) ASSERT_EQ_INT(CALL_I32(fx, "ok", 0), 42)

TEST(trap_unreachable)
{
    fixture_t fx;
    fx_load(&fx, "traps");
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "unreachable", 0), WEFT_TRAP_UNREACHABLE);
    ASSERT_CONTAINS(weft_store_trap_message(fx.store), "unreachable");
    ASSERT_STILL_USABLE(&fx);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "unreachable", 0), WEFT_TRAP_UNREACHABLE);
    ASSERT_STILL_USABLE(&fx);
}

TEST(trap_memory_out_of_bounds)
{
    fixture_t fx;
    weft_val_t r;
    fx_load(&fx, "traps");
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "mem_oob_load", 0), WEFT_TRAP_MEMORY_OOB);
    ASSERT_CONTAINS(weft_store_trap_message(fx.store), "out of bounds memory access");
    ASSERT_STILL_USABLE(&fx);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "mem_oob_load_straddle", 0), WEFT_TRAP_MEMORY_OOB);
    ASSERT_STILL_USABLE(&fx);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "mem_oob_store", 0), WEFT_TRAP_MEMORY_OOB);
    ASSERT_STILL_USABLE(&fx);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "mem_oob_offset_wrap", 0), WEFT_TRAP_MEMORY_OOB);
    ASSERT_STILL_USABLE(&fx);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "mem_oob_fill", 0), WEFT_TRAP_MEMORY_OOB);
    ASSERT_STILL_USABLE(&fx);
    /* 65528 + offset 8: the 8 bytes start exactly at the end */
    ASSERT_TRAP(fx.store, call1(&fx, "mem_oob_i64_load", weft_val_i32(65528)),
                WEFT_TRAP_MEMORY_OOB);
    ASSERT_TRAP(fx.store, call1(&fx, "mem_oob_i64_load", weft_val_i32(65521)),
                WEFT_TRAP_MEMORY_OOB);
    /* 65520 + 8: the last 8 bytes, in bounds */
    r = weft_val_i32(65520);
    ASSERT_OK_S(fx.store, call1(&fx, "mem_oob_i64_load", r));
    ASSERT_STILL_USABLE(&fx);
}

TEST(trap_table_out_of_bounds)
{
    fixture_t fx;
    fx_load(&fx, "traps");
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "table_oob_get", 1, 4), WEFT_TRAP_TABLE_OOB);
    ASSERT_CONTAINS(weft_store_trap_message(fx.store), "out of bounds table access");
    ASSERT_STILL_USABLE(&fx);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "table_oob_get", 1, -1), WEFT_TRAP_TABLE_OOB);
    ASSERT_STILL_USABLE(&fx);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "table_oob_set", 1, 4), WEFT_TRAP_TABLE_OOB);
    ASSERT_STILL_USABLE(&fx);
    ASSERT_OK_S(fx.store, TRY_I32(&fx, "table_oob_get", 1, 3));
}

TEST(trap_divide_by_zero)
{
    fixture_t fx;
    fx_load(&fx, "traps");
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "div_s", 2, 1, 0), WEFT_TRAP_DIV_ZERO);
    ASSERT_CONTAINS(weft_store_trap_message(fx.store), "integer divide by zero");
    ASSERT_STILL_USABLE(&fx);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "rem_s", 2, 1, 0), WEFT_TRAP_DIV_ZERO);
    ASSERT_TRAP(fx.store, call2(&fx, "div_u64", weft_val_i64(1), weft_val_i64(0)),
                WEFT_TRAP_DIV_ZERO);
    ASSERT_TRAP(fx.store, call2(&fx, "rem_u64", weft_val_i64(1), weft_val_i64(0)),
                WEFT_TRAP_DIV_ZERO);
    ASSERT_EQ_INT(CALL_I32(&fx, "div_s", 2, 7, 2), 3);
    ASSERT_EQ_INT(CALL_I32(&fx, "div_s", 2, -7, 2), -3);
}

TEST(trap_integer_overflow)
{
    fixture_t fx;
    fx_load(&fx, "traps");
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "div_s", 2, INT32_MIN, -1), WEFT_TRAP_INT_OVERFLOW);
    ASSERT_CONTAINS(weft_store_trap_message(fx.store), "integer overflow");
    ASSERT_STILL_USABLE(&fx);
    ASSERT_TRAP(fx.store, call2(&fx, "div_s64", weft_val_i64(INT64_MIN), weft_val_i64(-1)),
                WEFT_TRAP_INT_OVERFLOW);
    ASSERT_STILL_USABLE(&fx);
    /* INT_MIN % -1 is 0, not a trap */
    ASSERT_EQ_INT(CALL_I32(&fx, "rem_s", 2, INT32_MIN, -1), 0);
    /* out-of-range float to int is an overflow too */
    ASSERT_TRAP(fx.store, call1(&fx, "trunc_f32_s", weft_val_f32(3e9f)),
                WEFT_TRAP_INT_OVERFLOW);
    ASSERT_TRAP(fx.store, call1(&fx, "trunc_f32_s", weft_val_f32(-2147483904.0f)),
                WEFT_TRAP_INT_OVERFLOW);
    ASSERT_TRAP(fx.store, call1(&fx, "trunc_f64_u64", weft_val_f64(-1.0)),
                WEFT_TRAP_INT_OVERFLOW);
    ASSERT_TRAP(fx.store, call1(&fx, "trunc_f64_u64", weft_val_f64(INFINITY)),
                WEFT_TRAP_INT_OVERFLOW);
    ASSERT_STILL_USABLE(&fx);
    /* the edges that fit */
    ASSERT_OK_S(fx.store, call1(&fx, "trunc_f32_s", weft_val_f32(-2147483648.0f)));
    ASSERT_OK_S(fx.store, call1(&fx, "trunc_f64_u64", weft_val_f64(-0.9)));
}

TEST(trap_invalid_conversion)
{
    fixture_t fx;
    fx_load(&fx, "traps");
    ASSERT_TRAP(fx.store, call1(&fx, "trunc_f32_s", weft_val_f32(NAN)),
                WEFT_TRAP_INVALID_CONVERSION);
    ASSERT_CONTAINS(weft_store_trap_message(fx.store), "invalid conversion to integer");
    ASSERT_STILL_USABLE(&fx);
    ASSERT_TRAP(fx.store, call1(&fx, "trunc_f64_u64", weft_val_f64(-NAN)),
                WEFT_TRAP_INVALID_CONVERSION);
    ASSERT_STILL_USABLE(&fx);
}

TEST(trap_undefined_element)
{
    fixture_t fx;
    fx_load(&fx, "traps");
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "call_v_i", 1, 4), WEFT_TRAP_UNDEFINED_ELEMENT);
    ASSERT_CONTAINS(weft_store_trap_message(fx.store), "undefined element");
    ASSERT_STILL_USABLE(&fx);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "call_v_i", 1, -1), WEFT_TRAP_UNDEFINED_ELEMENT);
    ASSERT_STILL_USABLE(&fx);
}

TEST(trap_uninitialized_element)
{
    fixture_t fx;
    fx_load(&fx, "traps");
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "call_v_i", 1, 2), WEFT_TRAP_UNINITIALIZED_ELEMENT);
    ASSERT_CONTAINS(weft_store_trap_message(fx.store), "uninitialized element");
    ASSERT_STILL_USABLE(&fx);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "call_v_i", 1, 3), WEFT_TRAP_UNINITIALIZED_ELEMENT);
}

TEST(trap_indirect_call_mismatch)
{
    fixture_t fx;
    fx_load(&fx, "traps");
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "call_v_i", 1, 1), WEFT_TRAP_INDIRECT_CALL_MISMATCH);
    ASSERT_CONTAINS(weft_store_trap_message(fx.store), "indirect call type mismatch");
    ASSERT_STILL_USABLE(&fx);
    ASSERT_EQ_INT(CALL_I32(&fx, "call_v_i", 1, 0), 42);
}

TEST(trap_keeps_earlier_writes)
{
    fixture_t fx;
    uint32_t v = 0;
    fx_load(&fx, "traps");
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "write_then_trap", 0), WEFT_TRAP_UNREACHABLE);
    ASSERT_OK(weft_memory_read(fx_memory(&fx, "memory"), 16, &v, 4));
    ASSERT_EQ_U64(v, 77);
}

TEST(trap_backtrace_lists_frames)
{
    fixture_t fx;
    uint32_t funcs[8] = {0};
    const struct weft_module *mods[8] = {0};
    size_t n;
    fx_load(&fx, "traps");
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "nested", 0), WEFT_TRAP_UNREACHABLE);
    n = weft_store_trap_backtrace(fx.store, funcs, mods, 8);
    ASSERT_EQ_U64(n, 3);
    ASSERT_EQ_U64(funcs[0], 0); /* $inner */
    ASSERT_EQ_U64(funcs[1], 1); /* $middle */
    ASSERT_EQ_U64(funcs[2], 2); /* "nested" */
    ASSERT_EQ_PTR(mods[0], fx.module);
    ASSERT_EQ_PTR(mods[2], fx.module);
    ASSERT_EQ_STR(weft_module_func_name(fx.module, funcs[0]), "inner");
    /* a smaller buffer still reports the full depth */
    funcs[1] = 99;
    ASSERT_EQ_U64(weft_store_trap_backtrace(fx.store, funcs, NULL, 1), 3);
    ASSERT_EQ_U64(funcs[0], 0);
    ASSERT_EQ_U64(funcs[1], 99);
}

TEST(trap_repeated_traps_do_not_leak_frames)
{
    fixture_t fx;
    weft_limits_config_t lim;
    fx_load(&fx, "traps");
    /* a tight depth limit: frames left behind by a trap would add up */
    lim = weft_store_limits(fx.store);
    lim.max_call_depth = 20;
    ASSERT_OK(weft_store_set_limits(fx.store, &lim));
    for (int i = 0; i < 500; i++) {
        ASSERT_TRAP(fx.store, TRY_I32(&fx, "nested", 0), WEFT_TRAP_UNREACHABLE);
        ASSERT_TRAP(fx.store, TRY_I32(&fx, "div_s", 2, 1, 0), WEFT_TRAP_DIV_ZERO);
    }
    ASSERT_STILL_USABLE(&fx);
}

TEST(trap_in_start_function)
{
    weft_engine_t *e = h_engine();
    weft_module_t *m = h_module(e, "start_trap");
    weft_module_t *api = h_module(e, "api");
    weft_store_t *s = h_store(e);
    weft_linker_t *l = h_linker(s);
    weft_limits_t lim = {1, 0, 0};
    weft_memory_t *mem = weft_memory_new(s, lim);
    weft_instance_t *inst = NULL;
    weft_extern_t ext;
    weft_val_t args[2] = {weft_val_i32(1), weft_val_i32(2)}, res;
    uint32_t v = 0;

    ASSERT_NOT_NULL(mem);
    ext.kind = WEFT_EXTERN_MEMORY;
    ext.of.memory = mem;
    ASSERT_OK(weft_linker_define(l, "env", "memory", &ext));
    ASSERT_TRAP(s, weft_linker_instantiate(l, m, &inst), WEFT_TRAP_UNREACHABLE);
    /* the start function's write stays */
    ASSERT_OK(weft_memory_read(mem, 8, &v, 4));
    ASSERT_EQ_U64(v, 5);

    /* the store still instantiates and runs */
    ASSERT_OK_S(s, weft_linker_instantiate(l, api, &inst));
    ASSERT_OK(weft_instance_export(inst, "add", &ext));
    ASSERT_OK_S(s, weft_func_call(s, ext.of.func, args, 2, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 3);
}

TEST(trap_data_segment_out_of_bounds)
{
    fixture_t fx;
    weft_instance_t *inst = NULL;
    fx_open(&fx, "data_oob");
    ASSERT_TRAP(fx.store, weft_linker_instantiate(fx.linker, fx.module, &inst),
                WEFT_TRAP_MEMORY_OOB);
}

TEST(trap_elem_segment_out_of_bounds)
{
    fixture_t fx;
    weft_instance_t *inst = NULL;
    fx_open(&fx, "elem_oob");
    ASSERT_TRAP(fx.store, weft_linker_instantiate(fx.linker, fx.module, &inst),
                WEFT_TRAP_TABLE_OOB);
}

/* A backtrace through a call into another instance names each frame's
 * function in its own module's index space (imports counted), in both
 * tiers, and each instance reads its own memory after the other returns. */
TEST(trap_backtrace_across_instances_names_each_module)
{
    static const int tiers[] = {WEFT_TIER_INTERP, WEFT_TIER_JIT};
    for (size_t t = 0; t < 2; t++) {
        fixture_t lib, user;
        fx_open_tier(&lib, "bt_lib", tiers[t]);
        fx_instantiate(&lib);
        user = lib; /* one engine and store: the call crosses instances */
        weft_load_options_t o = {.tier = tiers[t]};
        size_t len;
        uint8_t *bytes = h_read_wasm("bt_user", &len);
        char msg[256] = "";
        ASSERT_OK(weft_module_new_opts(lib.engine, bytes, len, &o, &user.module, msg, sizeof msg));
        ASSERT_OK(weft_linker_define_instance(user.linker, "lib", lib.inst));
        fx_instantiate(&user);
        ASSERT_EQ_INT(CALL_I32(&user, "a", 1, 1), 7 + 1 + 100 + 1);
        ASSERT_TRAP(user.store, TRY_I32(&user, "a", 1, 0), WEFT_TRAP_UNREACHABLE);
        uint32_t funcs[8] = {0};
        const struct weft_module *mods[8] = {0};
        ASSERT_EQ_U64(weft_store_trap_backtrace(user.store, funcs, mods, 8), 4);
        static const uint32_t want[] = {0, 1, 1, 2}; /* $inner, deep, $b, $a */
        for (int i = 0; i < 4; i++) {
            ASSERT_EQ_U64(funcs[i], want[i]);
            ASSERT_EQ_PTR(mods[i], i < 2 ? lib.module : user.module);
        }
        ASSERT_EQ_INT(CALL_I32(&user, "a", 1, 5), 7 + 5 + 100 + 1); /* after the trap too */
        weft_module_delete(user.module); /* its instance keeps what it needs */
    }
}
