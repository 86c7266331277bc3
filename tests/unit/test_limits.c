/*
 * test_limits.c — store limits: memory pages, table elements, call depth
 * and value-stack bytes.
 *
 * Growth past a cap fails the way the spec says (memory.grow / table.grow
 * return -1), a module whose minimum is over the cap does not instantiate,
 * and recursion of any shape — deep, endless, with huge frames — ends in
 * WEFT_TRAP_STACK_EXHAUSTED, never in a crash. Module: wat/limits.wat.
 */
#include "harness.h"

static void set_limits_at(const char *file, int line, weft_store_t *s, uint32_t pages,
                          uint32_t elems, uint32_t depth, size_t stack)
{
    weft_limits_config_t lim = weft_store_limits(s);
    int rc;
    if (pages)
        lim.max_memory_pages = pages;
    if (elems)
        lim.max_table_elems = elems;
    if (depth)
        lim.max_call_depth = depth;
    if (stack)
        lim.max_stack_bytes = stack;
    rc = weft_store_set_limits(s, &lim);
    h_check_rc(file, line, "weft_store_set_limits", rc, 0, s);
}
/* SET_LIMITS(store, pages, elems, depth, stack): 0 keeps a value. */
#define SET_LIMITS(s, pages, elems, depth, stack) \
    set_limits_at(__FILE__, __LINE__, s, pages, elems, depth, stack)

TEST(limits_defaults)
{
    weft_engine_t *e = h_engine();
    weft_store_t *s = h_store(e);
    weft_limits_config_t d = weft_limits_default(), got = weft_store_limits(s);
    ASSERT_EQ_U64(d.max_memory_pages, 65536);
    ASSERT_EQ_U64(d.max_table_elems, 10000000);
    ASSERT_EQ_U64(d.max_call_depth, 10000);
    ASSERT_EQ_U64(d.max_stack_bytes, 8u << 20);
    ASSERT_EQ_U64(got.max_memory_pages, d.max_memory_pages);
    ASSERT_EQ_U64(got.max_table_elems, d.max_table_elems);
    ASSERT_EQ_U64(got.max_call_depth, d.max_call_depth);
    ASSERT_EQ_U64(got.max_stack_bytes, d.max_stack_bytes);
}

TEST(limits_set_rejects_bad_values)
{
    weft_engine_t *e = h_engine();
    weft_store_t *s = h_store(e);
    weft_limits_config_t lim, got;

    lim = weft_limits_default();
    lim.max_memory_pages = 0;
    ASSERT_RC(weft_store_set_limits(s, &lim), WEFT_EARG);
    lim = weft_limits_default();
    lim.max_table_elems = 0;
    ASSERT_RC(weft_store_set_limits(s, &lim), WEFT_EARG);
    lim = weft_limits_default();
    lim.max_call_depth = 0;
    ASSERT_RC(weft_store_set_limits(s, &lim), WEFT_EARG);
    lim = weft_limits_default();
    lim.max_stack_bytes = 4095;
    ASSERT_RC(weft_store_set_limits(s, &lim), WEFT_EARG);
    got = weft_store_limits(s);
    ASSERT_EQ_U64(got.max_stack_bytes, 8u << 20);
    ASSERT_EQ_U64(got.max_call_depth, 10000);

    lim.max_stack_bytes = 4096;
    lim.max_memory_pages = 7;
    ASSERT_OK(weft_store_set_limits(s, &lim));
    got = weft_store_limits(s);
    ASSERT_EQ_U64(got.max_stack_bytes, 4096);
    ASSERT_EQ_U64(got.max_memory_pages, 7);
}

TEST(limits_memory_grow_stops_at_cap)
{
    fixture_t fx;
    weft_memory_t *mem;
    fx_open(&fx, "limits");
    SET_LIMITS(fx.store, 4, 0, 0, 0);
    fx_instantiate(&fx);
    mem = fx_memory(&fx, "memory");

    ASSERT_EQ_INT(CALL_I32(&fx, "grow", 1, 2), 1);
    ASSERT_EQ_INT(CALL_I32(&fx, "size", 0), 3);
    ASSERT_EQ_INT(CALL_I32(&fx, "grow", 1, 1), 3);
    /* the module allows 100 pages, the store only 4 */
    ASSERT_EQ_INT(CALL_I32(&fx, "grow", 1, 1), -1);
    ASSERT_EQ_INT(CALL_I32(&fx, "grow", 1, -1), -1);
    ASSERT_EQ_INT(CALL_I32(&fx, "grow", 1, 65536), -1);
    ASSERT_EQ_INT(CALL_I32(&fx, "size", 0), 4);
    ASSERT_EQ_INT(CALL_I32(&fx, "grow", 1, 0), 4);
    ASSERT_EQ_U64(weft_memory_pages(mem), 4);
    ASSERT_RC(weft_memory_grow(mem, 1, NULL), WEFT_ELIMIT);
    ASSERT_EQ_U64(weft_memory_size(mem), 4u * 65536);
}

TEST(limits_memory_min_over_cap)
{
    fixture_t fx;
    weft_instance_t *inst = NULL;
    weft_limits_t five = {5, 0, 0}, four = {4, 0, 0};
    fx_open(&fx, "memory_big");
    SET_LIMITS(fx.store, 4, 0, 0, 0);
    ASSERT_RC_S(fx.store, weft_linker_instantiate(fx.linker, fx.module, &inst), WEFT_ELIMIT);
    ASSERT_NULL(weft_memory_new(fx.store, five));
    ASSERT_NOT_NULL(weft_memory_new(fx.store, four));
}

TEST(limits_table_grow_stops_at_cap)
{
    fixture_t fx;
    fx_open(&fx, "limits");
    SET_LIMITS(fx.store, 0, 10, 0, 0);
    fx_instantiate(&fx);
    ASSERT_EQ_INT(CALL_I32(&fx, "table_grow", 1, 5), 1);
    ASSERT_EQ_INT(CALL_I32(&fx, "table_grow", 1, 4), 6);
    /* the module allows 1000 elements, the store only 10 */
    ASSERT_EQ_INT(CALL_I32(&fx, "table_grow", 1, 1), -1);
    ASSERT_EQ_INT(CALL_I32(&fx, "table_grow", 1, -1), -1);
    ASSERT_EQ_INT(CALL_I32(&fx, "table_size", 0), 10);
}

TEST(limits_table_min_over_cap)
{
    fixture_t fx;
    weft_instance_t *inst = NULL;
    weft_limits_t big = {20, 0, 0};
    fx_open(&fx, "table_big");
    SET_LIMITS(fx.store, 0, 10, 0, 0);
    ASSERT_RC_S(fx.store, weft_linker_instantiate(fx.linker, fx.module, &inst), WEFT_ELIMIT);
    ASSERT_NULL(weft_table_new(fx.store, WEFT_FUNCREF, big, NULL));
}

TEST(limits_call_depth)
{
    fixture_t fx;
    fx_load(&fx, "limits");
    SET_LIMITS(fx.store, 0, 0, 100, 0);
    ASSERT_EQ_INT(CALL_I32(&fx, "down", 1, 50), 50);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "down", 1, 1000), WEFT_TRAP_STACK_EXHAUSTED);
    ASSERT_CONTAINS(weft_store_trap_message(fx.store), "exhausted");
    ASSERT_EQ_INT(CALL_I32(&fx, "down", 1, 10), 10);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "rec", 1, 0), WEFT_TRAP_STACK_EXHAUSTED);
    ASSERT_EQ_INT(CALL_I32(&fx, "down", 1, 50), 50);
}

TEST(limits_stack_bytes)
{
    fixture_t fx, roomy;
    fx_load(&fx, "limits");
    /* 1000 frames of 32 i64 locals need far more than 4 KiB */
    SET_LIMITS(fx.store, 0, 0, 0, 4096);
    ASSERT_EQ_INT(CALL_I32(&fx, "fat", 1, 1), 1);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "fat", 1, 1000), WEFT_TRAP_STACK_EXHAUSTED);
    ASSERT_EQ_INT(CALL_I32(&fx, "fat", 1, 1), 1);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "rec", 1, 0), WEFT_TRAP_STACK_EXHAUSTED);
    ASSERT_EQ_INT(CALL_I32(&fx, "down", 1, 3), 3);

    /* with default limits the same call fits */
    fx_load(&roomy, "limits");
    ASSERT_EQ_INT(CALL_I32(&roomy, "fat", 1, 1000), 1000);
}

TEST(limits_endless_recursion_default_limits)
{
    fixture_t fx;
    fx_load(&fx, "limits");
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "rec", 1, 0), WEFT_TRAP_STACK_EXHAUSTED);
    ASSERT_EQ_INT(CALL_I32(&fx, "down", 1, 100), 100);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "rec", 1, 0), WEFT_TRAP_STACK_EXHAUSTED);
}

TEST(limits_endless_recursion_unbounded_depth)
{
    fixture_t fx;
    fx_load(&fx, "limits");
    /* only the value stack (default 8 MiB) can stop it now */
    SET_LIMITS(fx.store, 0, 0, UINT32_MAX, 0);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "rec", 1, 0), WEFT_TRAP_STACK_EXHAUSTED);
    ASSERT_EQ_INT(CALL_I32(&fx, "down", 1, 1000), 1000);
}

TEST(limits_huge_frames_recursion)
{
    /* (func (export "rec") (param i32) (result i32) (local 50000 i64)
     *   local.get 0 call 0): 400 KB per frame, 8 MiB fills in ~20 calls */
    static const uint8_t b[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
        0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f,       /* type (i32)->i32 */
        0x03, 0x02, 0x01, 0x00,                               /* func 0: type 0 */
        0x07, 0x07, 0x01, 0x03, 'r', 'e', 'c', 0x00, 0x00,    /* export "rec" */
        0x0a, 0x0c, 0x01, 0x0a,                               /* code, body of 10 */
        0x01, 0xd0, 0x86, 0x03, 0x7e,                         /* 50000 x i64 */
        0x20, 0x00, 0x10, 0x00, 0x0b,                         /* local.get 0 call 0 */
    };
    weft_engine_t *e = h_engine();
    weft_store_t *s = h_store(e);
    weft_linker_t *l = h_linker(s);
    weft_module_t *m = NULL;
    weft_instance_t *inst = NULL;
    weft_extern_t ext;
    weft_val_t arg = weft_val_i32(0), res;
    char msg[256] = "";

    ASSERT_OK(weft_module_new(e, b, sizeof b, &m, msg, sizeof msg));
    ASSERT_OK_S(s, weft_linker_instantiate(l, m, &inst));
    weft_module_delete(m);
    ASSERT_OK(weft_instance_export(inst, "rec", &ext));
    ASSERT_TRAP(s, weft_func_call(s, ext.of.func, &arg, 1, &res, 1), WEFT_TRAP_STACK_EXHAUSTED);
    ASSERT_TRAP(s, weft_func_call(s, ext.of.func, &arg, 1, &res, 1), WEFT_TRAP_STACK_EXHAUSTED);
}
