/*
 * test_features.c — smoke tests of the WebAssembly 2.0 additions through
 * the API: multi-value, bulk memory, bulk tables, reference types (externref
 * values owned by the host, funcrefs callable by the host), sign extension
 * and saturating truncation. The spec tests cover the corners; these prove
 * the pieces are wired to the embedding API. Module: wat/features.wat.
 */
#include <math.h>

#include "harness.h"

static weft_val_t call_ref1(fixture_t *fx, const char *name, weft_val_t arg)
{
    weft_val_t res;
    memset(&res, 0, sizeof res);
    ASSERT_OK_S(fx->store, fx_call(fx, name, &arg, 1, &res, 1));
    return res;
}

static int call3(fixture_t *fx, const char *name, weft_val_t a, weft_val_t b, weft_val_t c)
{
    weft_val_t args[3] = {a, b, c};
    return fx_call(fx, name, args, 3, NULL, 0);
}

TEST(features_multi_value)
{
    fixture_t fx;
    weft_val_t args[2] = {weft_val_i32(1), weft_val_i32(2)}, res[3];
    fx_load(&fx, "features");

    ASSERT_OK_S(fx.store, fx_call(&fx, "swap", args, 2, res, 2));
    ASSERT_EQ_INT(res[0].of.i32, 2);
    ASSERT_EQ_INT(res[1].of.i32, 1);

    ASSERT_OK_S(fx.store, fx_call(&fx, "triple", NULL, 0, res, 3));
    ASSERT_EQ_INT(res[0].type, WEFT_I32);
    ASSERT_EQ_INT(res[0].of.i32, 1);
    ASSERT_EQ_INT(res[1].type, WEFT_I64);
    ASSERT_EQ_U64(res[1].of.i64, 2);
    ASSERT_EQ_INT(res[2].type, WEFT_F64);
    ASSERT_TRUE(weft_val_get_f64(&res[2]) == 3.0);

    ASSERT_EQ_INT(CALL_I32(&fx, "divmod_sum", 2, 17, 5), 5);
    ASSERT_EQ_INT(CALL_I32(&fx, "block_params", 1, 5), 15);
}

TEST(features_bulk_memory)
{
    fixture_t fx;
    weft_memory_t *mem;
    char buf[8] = {0};
    uint8_t last = 0xee;
    fx_load(&fx, "features");
    mem = fx_memory(&fx, "memory");

    CALL_VOID(&fx, "mem_init", 3, 0, 0, 6);
    ASSERT_OK(weft_memory_read(mem, 0, buf, 6));
    ASSERT_EQ_STR(buf, "abcdef");
    CALL_VOID(&fx, "mem_copy", 3, 2, 0, 4); /* overlapping, forwards */
    ASSERT_OK(weft_memory_read(mem, 0, buf, 6));
    ASSERT_EQ_STR(buf, "ababcd");
    CALL_VOID(&fx, "mem_copy", 3, 0, 2, 4); /* overlapping, backwards */
    ASSERT_OK(weft_memory_read(mem, 0, buf, 6));
    ASSERT_EQ_STR(buf, "abcdcd");
    CALL_VOID(&fx, "mem_fill", 3, 0, 'x', 2);
    ASSERT_OK(weft_memory_read(mem, 0, buf, 6));
    ASSERT_EQ_STR(buf, "xxcdcd");
    CALL_VOID(&fx, "mem_init", 3, 10, 4, 2);
    ASSERT_OK(weft_memory_read(mem, 10, buf, 2));
    ASSERT_EQ_MEM(buf, "ef", 2);

    /* out of bounds: source past the segment, destination past memory */
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "mem_init", 3, 0, 5, 2), WEFT_TRAP_MEMORY_OOB);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "mem_copy", 3, 65535, 0, 2), WEFT_TRAP_MEMORY_OOB);
    /* bounds are checked before anything is written */
    ASSERT_OK(weft_memory_read(mem, 65535, &last, 1));
    ASSERT_EQ_INT(last, 0);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "mem_fill", 3, 65537, 0, 0), WEFT_TRAP_MEMORY_OOB);
    /* zero-length operations at the very end are fine */
    CALL_VOID(&fx, "mem_fill", 3, 65536, 0, 0);
    CALL_VOID(&fx, "mem_copy", 3, 65536, 0, 0);
    CALL_VOID(&fx, "mem_copy", 3, 0, 65536, 0);

    /* a dropped segment has length 0 */
    CALL_VOID(&fx, "data_drop", 0);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "mem_init", 3, 0, 0, 1), WEFT_TRAP_MEMORY_OOB);
    CALL_VOID(&fx, "mem_init", 3, 0, 0, 0);
    CALL_VOID(&fx, "data_drop", 0);
}

TEST(features_bulk_table)
{
    fixture_t fx;
    fx_load(&fx, "features");
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "call_ft", 1, 0), WEFT_TRAP_UNINITIALIZED_ELEMENT);
    CALL_VOID(&fx, "table_init", 3, 0, 0, 2);
    ASSERT_EQ_INT(CALL_I32(&fx, "call_ft", 1, 0), 1);
    ASSERT_EQ_INT(CALL_I32(&fx, "call_ft", 1, 1), 2);
    CALL_VOID(&fx, "table_copy", 3, 2, 0, 2);
    ASSERT_EQ_INT(CALL_I32(&fx, "call_ft", 1, 3), 2);
    CALL_VOID(&fx, "table_copy", 3, 0, 1, 3); /* overlapping */
    ASSERT_EQ_INT(CALL_I32(&fx, "call_ft", 1, 0), 2);
    ASSERT_EQ_INT(CALL_I32(&fx, "call_ft", 1, 1), 1);
    ASSERT_EQ_INT(CALL_I32(&fx, "call_ft", 1, 2), 2);

    ASSERT_TRAP(fx.store, TRY_I32(&fx, "table_init", 3, 0, 1, 2), WEFT_TRAP_TABLE_OOB);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "table_copy", 3, 3, 0, 2), WEFT_TRAP_TABLE_OOB);
    CALL_VOID(&fx, "elem_drop", 0);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "table_init", 3, 0, 0, 1), WEFT_TRAP_TABLE_OOB);
    CALL_VOID(&fx, "table_init", 3, 4, 0, 0);
}

TEST(features_externref)
{
    fixture_t fx;
    weft_table_t *et;
    weft_val_t v;
    int x, y, z;
    fx_load(&fx, "features");
    et = fx_table(&fx, "etable");

    v = call_ref1(&fx, "ext_id", h_externref(&x));
    ASSERT_EQ_INT(v.type, WEFT_EXTERNREF);
    ASSERT_EQ_PTR(v.of.ref, &x);
    v = call_ref1(&fx, "ext_id", h_externref(NULL));
    ASSERT_NULL(v.of.ref);
    ASSERT_EQ_INT(call_ref1(&fx, "ext_is_null", h_externref(NULL)).of.i32, 1);
    ASSERT_EQ_INT(call_ref1(&fx, "ext_is_null", h_externref(&x)).of.i32, 0);

    /* guest writes, host reads, and the other way round */
    ASSERT_EQ_INT(weft_table_elemtype(et), WEFT_EXTERNREF);
    {
        weft_val_t args[2] = {weft_val_i32(1), h_externref(&x)};
        ASSERT_OK_S(fx.store, fx_call(&fx, "ext_set", args, 2, NULL, 0));
    }
    ASSERT_OK(weft_table_get(et, 1, &v));
    ASSERT_EQ_PTR(v.of.ref, &x);
    v = h_externref(&y);
    ASSERT_OK(weft_table_set(et, 0, &v));
    ASSERT_EQ_PTR(call_ref1(&fx, "ext_get", weft_val_i32(0)).of.ref, &y);

    /* grow and fill */
    ASSERT_EQ_INT(CALL_I32(&fx, "ext_size", 0), 2);
    {
        weft_val_t args[2] = {h_externref(&z), weft_val_i32(3)}, res;
        ASSERT_OK_S(fx.store, fx_call(&fx, "ext_grow", args, 2, &res, 1));
        ASSERT_EQ_INT(res.of.i32, 2);
    }
    ASSERT_EQ_U64(weft_table_size(et), 5);
    ASSERT_EQ_PTR(call_ref1(&fx, "ext_get", weft_val_i32(4)).of.ref, &z);
    ASSERT_OK_S(fx.store, call3(&fx, "ext_fill", weft_val_i32(1), h_externref(NULL),
                                weft_val_i32(4)));
    ASSERT_EQ_PTR(call_ref1(&fx, "ext_get", weft_val_i32(0)).of.ref, &y);
    ASSERT_NULL(call_ref1(&fx, "ext_get", weft_val_i32(4)).of.ref);
    ASSERT_TRAP(fx.store, call3(&fx, "ext_fill", weft_val_i32(4), h_externref(&x),
                                weft_val_i32(2)),
                WEFT_TRAP_TABLE_OOB);
    {
        weft_val_t arg = weft_val_i32(5), res;
        ASSERT_TRAP(fx.store, fx_call(&fx, "ext_get", &arg, 1, &res, 1), WEFT_TRAP_TABLE_OOB);
    }
}

TEST(features_funcref)
{
    fixture_t fx;
    weft_val_t f, res, v;
    fx_load(&fx, "features");

    ASSERT_OK_S(fx.store, fx_call(&fx, "get_two", NULL, 0, &f, 1));
    ASSERT_EQ_INT(f.type, WEFT_FUNCREF);
    ASSERT_NOT_NULL(f.of.func);
    ASSERT_OK_S(fx.store, weft_func_call(fx.store, f.of.func, NULL, 0, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 2);
    ASSERT_EQ_INT(call_ref1(&fx, "func_is_null", f).of.i32, 0);
    ASSERT_EQ_INT(call_ref1(&fx, "func_is_null", h_funcref(NULL)).of.i32, 1);

    ASSERT_OK(weft_table_set(fx_table(&fx, "ftable"), 3, &f));
    ASSERT_EQ_INT(CALL_I32(&fx, "call_ft", 1, 3), 2);
    ASSERT_OK(weft_table_get(fx_table(&fx, "ftable"), 3, &v));
    ASSERT_EQ_PTR(v.of.func, f.of.func);
}

TEST(features_sign_extension)
{
    fixture_t fx;
    fx_load(&fx, "features");
    ASSERT_EQ_INT(CALL_I32(&fx, "extend8", 1, 0x80), -128);
    ASSERT_EQ_INT(CALL_I32(&fx, "extend8", 1, 0x17f), 127);
    ASSERT_EQ_U64(call_ref1(&fx, "extend16_64", weft_val_i64(0x8000)).of.i64,
                  (uint64_t)-32768);
    ASSERT_EQ_U64(call_ref1(&fx, "extend32_64", weft_val_i64(0x80000000ll)).of.i64,
                  (uint64_t)(int64_t)INT32_MIN);
}

TEST(features_saturating_truncation)
{
    fixture_t fx;
    fx_load(&fx, "features");
    ASSERT_EQ_INT(call_ref1(&fx, "sat_f32_s", weft_val_f32(NAN)).of.i32, 0);
    ASSERT_EQ_INT(call_ref1(&fx, "sat_f32_s", weft_val_f32(3e9f)).of.i32, INT32_MAX);
    ASSERT_EQ_INT(call_ref1(&fx, "sat_f32_s", weft_val_f32(-3e9f)).of.i32, INT32_MIN);
    ASSERT_EQ_INT(call_ref1(&fx, "sat_f32_s", weft_val_f32(-1.5f)).of.i32, -1);
    ASSERT_EQ_U64(call_ref1(&fx, "sat_f64_u64", weft_val_f64(-5.0)).of.i64, 0);
    ASSERT_EQ_U64(call_ref1(&fx, "sat_f64_u64", weft_val_f64(1e30)).of.i64, UINT64_MAX);
    ASSERT_EQ_U64(call_ref1(&fx, "sat_f64_u64", weft_val_f64(INFINITY)).of.i64, UINT64_MAX);
}
