/*
 * test_api.c — the embedding API, driven the way an embedder drives it.
 *
 * Covers module metadata (exports, imports, names), typed calls and their
 * argument checks, globals, memories and tables through their accessors,
 * host-created objects offered as imports, and the small value/type/error
 * helpers. Modules: wat/api.wat, wat/imports.wat.
 */
#include <math.h>
#include <stdlib.h>

#include "harness.h"

static int find_export(const weft_module_t *m, const char *name, weft_externdesc_t *out)
{
    size_t n = weft_module_export_count(m);
    for (size_t i = 0; i < n; i++) {
        if (weft_module_export(m, i, out) != 0)
            return 0;
        if (out->name_len == strlen(name) && memcmp(out->name, name, out->name_len) == 0)
            return 1;
    }
    return 0;
}

static void check_functype_at(const char *file, int line, const weft_functype_t *ft,
                              const char *params, const char *results)
{
    const weft_functype_t *want = h_functype(params, results);
    if (ft == NULL)
        test_fail(file, line, "no function type");
    if (!weft_functype_equal(ft, want))
        test_fail(file, line, "function type has %zu params / %zu results, want (%s) -> (%s)",
                  weft_functype_nparams(ft), weft_functype_nresults(ft), params, results);
}
#define CHECK_FUNCTYPE(ft, p, r) check_functype_at(__FILE__, __LINE__, ft, p, r)

TEST(api_export_listing)
{
    weft_engine_t *e = h_engine();
    weft_module_t *m = h_module(e, "api");
    weft_externdesc_t d;

    ASSERT_EQ_U64(weft_module_export_count(m), 17);
    ASSERT_RC(weft_module_export(m, 17, &d), WEFT_ENOTFOUND);

    ASSERT_TRUE(find_export(m, "add", &d));
    ASSERT_EQ_INT(d.kind, WEFT_EXTERN_FUNC);
    ASSERT_NULL(d.module);
    ASSERT_EQ_STR(d.name, "add"); /* names are also NUL-terminated */
    CHECK_FUNCTYPE(d.functype, "ii", "i");

    ASSERT_TRUE(find_export(m, "mix", &d));
    CHECK_FUNCTYPE(d.functype, "iIfF", "F");
    ASSERT_TRUE(find_export(m, "nop", &d));
    CHECK_FUNCTYPE(d.functype, "", "");

    ASSERT_TRUE(find_export(m, "memory", &d));
    ASSERT_EQ_INT(d.kind, WEFT_EXTERN_MEMORY);
    ASSERT_EQ_U64(d.limits.min, 1);
    ASSERT_TRUE(d.limits.has_max);
    ASSERT_EQ_U64(d.limits.max, 2);

    ASSERT_TRUE(find_export(m, "table", &d));
    ASSERT_EQ_INT(d.kind, WEFT_EXTERN_TABLE);
    ASSERT_EQ_INT(d.valtype, WEFT_FUNCREF);
    ASSERT_EQ_U64(d.limits.min, 2);
    ASSERT_TRUE(d.limits.has_max);
    ASSERT_EQ_U64(d.limits.max, 10);

    ASSERT_TRUE(find_export(m, "g_mut", &d));
    ASSERT_EQ_INT(d.kind, WEFT_EXTERN_GLOBAL);
    ASSERT_EQ_INT(d.valtype, WEFT_I64);
    ASSERT_TRUE(d.mutable_);

    ASSERT_TRUE(find_export(m, "g_const", &d));
    ASSERT_EQ_INT(d.kind, WEFT_EXTERN_GLOBAL);
    ASSERT_EQ_INT(d.valtype, WEFT_F32);
    ASSERT_FALSE(d.mutable_);

    ASSERT_FALSE(find_export(m, "missing", &d));
    ASSERT_EQ_U64(weft_module_import_count(m), 0);
}

TEST(api_import_listing)
{
    weft_engine_t *e = h_engine();
    weft_module_t *m = h_module(e, "imports");
    weft_externdesc_t d;

    ASSERT_EQ_U64(weft_module_import_count(m), 5);
    ASSERT_RC(weft_module_import(m, 5, &d), WEFT_ENOTFOUND);

    ASSERT_OK(weft_module_import(m, 0, &d));
    ASSERT_EQ_U64(d.module_len, 3);
    ASSERT_EQ_STR(d.module, "env");
    ASSERT_EQ_U64(d.name_len, 8);
    ASSERT_EQ_STR(d.name, "ext_func");
    ASSERT_EQ_INT(d.kind, WEFT_EXTERN_FUNC);
    CHECK_FUNCTYPE(d.functype, "iF", "I");

    ASSERT_OK(weft_module_import(m, 1, &d));
    ASSERT_EQ_STR(d.name, "ext_mem");
    ASSERT_EQ_INT(d.kind, WEFT_EXTERN_MEMORY);
    ASSERT_EQ_U64(d.limits.min, 1);
    ASSERT_TRUE(d.limits.has_max);
    ASSERT_EQ_U64(d.limits.max, 3);

    ASSERT_OK(weft_module_import(m, 2, &d));
    ASSERT_EQ_STR(d.name, "ext_tab");
    ASSERT_EQ_INT(d.kind, WEFT_EXTERN_TABLE);
    ASSERT_EQ_INT(d.valtype, WEFT_EXTERNREF);
    ASSERT_EQ_U64(d.limits.min, 4);
    ASSERT_FALSE(d.limits.has_max);

    ASSERT_OK(weft_module_import(m, 3, &d));
    ASSERT_EQ_STR(d.name, "ext_glob");
    ASSERT_EQ_INT(d.kind, WEFT_EXTERN_GLOBAL);
    ASSERT_EQ_INT(d.valtype, WEFT_I32);
    ASSERT_TRUE(d.mutable_);

    ASSERT_OK(weft_module_import(m, 4, &d));
    ASSERT_EQ_STR(d.module, "other");
    ASSERT_EQ_STR(d.name, "ext_void");
    CHECK_FUNCTYPE(d.functype, "", "");

    ASSERT_EQ_U64(weft_module_export_count(m), 4);
}

TEST(api_function_names)
{
    weft_engine_t *e = h_engine();
    weft_module_t *m = h_module(e, "api");
    ASSERT_EQ_STR(weft_module_func_name(m, 0), "add");
    ASSERT_EQ_STR(weft_module_func_name(m, 6), "seven");
    ASSERT_NULL(weft_module_func_name(m, 1000));
}

TEST(api_call_typed_values)
{
    fixture_t fx;
    weft_val_t args[4], res[2];
    fx_load(&fx, "api");

    args[0] = weft_val_i32(2);
    args[1] = weft_val_i32(-5);
    ASSERT_OK_S(fx.store, fx_call(&fx, "add", args, 2, res, 1));
    ASSERT_EQ_INT(res[0].type, WEFT_I32);
    ASSERT_EQ_INT(res[0].of.i32, -3);

    args[0] = weft_val_i32(1);
    args[1] = weft_val_i64(2);
    args[2] = weft_val_f32(0.5f);
    args[3] = weft_val_f64(0.25);
    ASSERT_OK_S(fx.store, fx_call(&fx, "mix", args, 4, res, 1));
    ASSERT_EQ_INT(res[0].type, WEFT_F64);
    ASSERT_TRUE(weft_val_get_f64(&res[0]) == 3.75);

    args[0] = weft_val_i64(INT64_MIN);
    ASSERT_OK_S(fx.store, fx_call(&fx, "id_i64", args, 1, res, 1));
    ASSERT_EQ_INT(res[0].type, WEFT_I64);
    ASSERT_EQ_U64(res[0].of.i64, (uint64_t)INT64_MIN);

    /* NaN payloads pass through untouched */
    args[0].type = WEFT_F32;
    args[0].of.f32_bits = 0x7fa00001u;
    ASSERT_OK_S(fx.store, fx_call(&fx, "id_f32", args, 1, res, 1));
    ASSERT_EQ_INT(res[0].type, WEFT_F32);
    ASSERT_EQ_U64(res[0].of.f32_bits, 0x7fa00001u);

    args[0].type = WEFT_F64;
    args[0].of.f64_bits = 0xfff4000000000123ull;
    ASSERT_OK_S(fx.store, fx_call(&fx, "id_f64", args, 1, res, 1));
    ASSERT_EQ_U64(res[0].of.f64_bits, 0xfff4000000000123ull);

    ASSERT_OK_S(fx.store, fx_call(&fx, "nop", NULL, 0, NULL, 0));
}

TEST(api_call_wrong_arg_count)
{
    fixture_t fx;
    weft_val_t args[3] = {weft_val_i32(1), weft_val_i32(2), weft_val_i32(3)}, res[2];
    fx_load(&fx, "api");
    ASSERT_RC_S(fx.store, fx_call(&fx, "add", args, 1, res, 1), WEFT_EARG);
    ASSERT_RC_S(fx.store, fx_call(&fx, "add", args, 3, res, 1), WEFT_EARG);
    ASSERT_RC_S(fx.store, fx_call(&fx, "add", args, 0, res, 1), WEFT_EARG);
    ASSERT_RC_S(fx.store, fx_call(&fx, "add", args, 2, res, 0), WEFT_EARG);
    ASSERT_RC_S(fx.store, fx_call(&fx, "add", args, 2, res, 2), WEFT_EARG);
    ASSERT_RC_S(fx.store, fx_call(&fx, "nop", args, 1, NULL, 0), WEFT_EARG);
    /* still callable afterwards */
    ASSERT_EQ_INT(CALL_I32(&fx, "add", 2, 40, 2), 42);
}

TEST(api_call_wrong_arg_type)
{
    fixture_t fx;
    weft_val_t args[2], res[1], g;
    fx_load(&fx, "api");

    args[0] = weft_val_i32(1);
    args[1] = weft_val_i64(2);
    ASSERT_RC_S(fx.store, fx_call(&fx, "add", args, 2, res, 1), WEFT_EARG);
    args[0] = weft_val_f64(1.0);
    ASSERT_RC_S(fx.store, fx_call(&fx, "id_f32", args, 1, res, 1), WEFT_EARG);
    args[0] = h_externref(NULL);
    ASSERT_RC_S(fx.store, fx_call(&fx, "id_i64", args, 1, res, 1), WEFT_EARG);

    /* nothing ran: set_g with an i32 leaves the global alone */
    args[0] = weft_val_i32(99);
    ASSERT_RC_S(fx.store, fx_call(&fx, "set_g", args, 1, NULL, 0), WEFT_EARG);
    weft_global_get(fx_global(&fx, "g_mut"), &g);
    ASSERT_EQ_U64(g.of.i64, 7);
}

TEST(api_globals_get_set)
{
    fixture_t fx;
    weft_global_t *gm, *gc;
    weft_val_t v, res;
    fx_load(&fx, "api");
    gm = fx_global(&fx, "g_mut");
    gc = fx_global(&fx, "g_const");

    ASSERT_EQ_INT(weft_global_type(gm), WEFT_I64);
    ASSERT_TRUE(weft_global_mutable(gm));
    weft_global_get(gm, &v);
    ASSERT_EQ_INT(v.type, WEFT_I64);
    ASSERT_EQ_U64(v.of.i64, 7);

    v = weft_val_i64(-9);
    ASSERT_OK(weft_global_set(gm, &v));
    ASSERT_OK_S(fx.store, fx_call(&fx, "get_g", NULL, 0, &res, 1));
    ASSERT_EQ_U64(res.of.i64, (uint64_t)-9);

    v = weft_val_i64(11);
    ASSERT_OK_S(fx.store, fx_call(&fx, "set_g", &v, 1, NULL, 0));
    weft_global_get(gm, &v);
    ASSERT_EQ_U64(v.of.i64, 11);

    /* wrong type */
    v = weft_val_i32(1);
    ASSERT_RC(weft_global_set(gm, &v), WEFT_EARG);
    weft_global_get(gm, &v);
    ASSERT_EQ_U64(v.of.i64, 11);

    /* immutable */
    ASSERT_EQ_INT(weft_global_type(gc), WEFT_F32);
    ASSERT_FALSE(weft_global_mutable(gc));
    weft_global_get(gc, &v);
    ASSERT_TRUE(weft_val_get_f32(&v) == 1.5f);
    v = weft_val_f32(2.5f);
    ASSERT_RC(weft_global_set(gc, &v), WEFT_EARG);
    weft_global_get(gc, &v);
    ASSERT_TRUE(weft_val_get_f32(&v) == 1.5f);
}

TEST(api_memory_bounds)
{
    fixture_t fx;
    weft_memory_t *mem;
    weft_limits_t lim;
    uint8_t buf[8], zero[8] = {0};
    static const uint8_t abcd[4] = {'A', 'B', 'C', 'D'};
    fx_load(&fx, "api");
    mem = fx_memory(&fx, "memory");

    ASSERT_EQ_U64(weft_memory_size(mem), 65536);
    ASSERT_EQ_U64(weft_memory_pages(mem), 1);
    lim = weft_memory_limits(mem);
    ASSERT_EQ_U64(lim.min, 1);
    ASSERT_TRUE(lim.has_max);
    ASSERT_EQ_U64(lim.max, 2);

    /* the last 4 bytes are in, one byte further is out */
    ASSERT_OK(weft_memory_write(mem, 65532, abcd, 4));
    ASSERT_OK(weft_memory_read(mem, 65532, buf, 4));
    ASSERT_EQ_MEM(buf, abcd, 4);
    ASSERT_EQ_INT(CALL_I32(&fx, "load", 1, 65532), 0x44434241);
    ASSERT_RC(weft_memory_write(mem, 65533, abcd, 4), WEFT_EARG);
    ASSERT_RC(weft_memory_read(mem, 65533, buf, 4), WEFT_EARG);
    ASSERT_RC(weft_memory_read(mem, 65536, buf, 1), WEFT_EARG);
    ASSERT_RC(weft_memory_write(mem, 65536, abcd, 1), WEFT_EARG);

    /* a failed write copies nothing */
    ASSERT_OK(weft_memory_write(mem, 65528, zero, 8));
    ASSERT_RC(weft_memory_write(mem, 65530, abcd, 8), WEFT_EARG);
    ASSERT_OK(weft_memory_read(mem, 65528, buf, 8));
    ASSERT_EQ_MEM(buf, zero, 8);

    ASSERT_NOT_NULL(weft_memory_ptr(mem, 0, 65536));
    ASSERT_NOT_NULL(weft_memory_ptr(mem, 65535, 1));
    ASSERT_NULL(weft_memory_ptr(mem, 65535, 2));
    ASSERT_NULL(weft_memory_ptr(mem, 65536, 1));
    ASSERT_NULL(weft_memory_ptr(mem, 0, 65537));

    /* offset + len overflowing 64 bits must not wrap into range */
    ASSERT_RC(weft_memory_read(mem, UINT64_MAX, buf, 2), WEFT_EARG);
    ASSERT_RC(weft_memory_write(mem, UINT64_MAX - 1, abcd, 4), WEFT_EARG);
    ASSERT_RC(weft_memory_write(mem, (uint64_t)1 << 32, abcd, 1), WEFT_EARG);
    ASSERT_NULL(weft_memory_ptr(mem, UINT64_MAX, 2));
    ASSERT_NULL(weft_memory_ptr(mem, 1, SIZE_MAX));
}

TEST(api_memory_shared_with_guest)
{
    fixture_t fx;
    weft_memory_t *mem;
    uint32_t v = 0x12345678, got;
    uint8_t *p;
    fx_load(&fx, "api");
    mem = fx_memory(&fx, "memory");

    ASSERT_OK(weft_memory_write(mem, 100, &v, 4));
    ASSERT_EQ_INT(CALL_I32(&fx, "load", 1, 100), 0x12345678);
    CALL_VOID(&fx, "store", 2, 200, 42);
    ASSERT_OK(weft_memory_read(mem, 200, &got, 4));
    ASSERT_EQ_U64(got, 42);
    p = weft_memory_ptr(mem, 200, 4);
    ASSERT_NOT_NULL(p);
    ASSERT_EQ_INT(p[0], 42);
    p[1] = 1;
    ASSERT_EQ_INT(CALL_I32(&fx, "load", 1, 200), 42 + 256);
}

TEST(api_memory_grow)
{
    fixture_t fx;
    weft_memory_t *mem;
    uint32_t old = 12345;
    static const uint8_t x = 0x5a;
    fx_load(&fx, "api");
    mem = fx_memory(&fx, "memory");

    ASSERT_OK(weft_memory_grow(mem, 1, &old));
    ASSERT_EQ_U64(old, 1);
    ASSERT_EQ_U64(weft_memory_pages(mem), 2);
    ASSERT_EQ_U64(weft_memory_size(mem), 131072);
    ASSERT_EQ_INT(CALL_I32(&fx, "mem_pages", 0), 2);
    ASSERT_OK(weft_memory_write(mem, 131071, &x, 1));
    ASSERT_EQ_INT(CALL_I32(&fx, "load", 1, 131068), 0x5a000000);

    /* past the module's maximum of 2 */
    ASSERT_RC(weft_memory_grow(mem, 1, &old), WEFT_ELIMIT);
    ASSERT_EQ_U64(weft_memory_pages(mem), 2);
    ASSERT_OK(weft_memory_grow(mem, 0, NULL));
    ASSERT_EQ_U64(weft_memory_pages(mem), 2);
}

TEST(api_table_get_set)
{
    fixture_t fx;
    weft_table_t *tab;
    weft_func_t *seven;
    weft_val_t v;
    fx_load(&fx, "api");
    tab = fx_table(&fx, "table");
    seven = fx_func(&fx, "seven");

    ASSERT_EQ_U64(weft_table_size(tab), 2);
    ASSERT_EQ_INT(weft_table_elemtype(tab), WEFT_FUNCREF);
    ASSERT_OK(weft_table_get(tab, 0, &v));
    ASSERT_EQ_INT(v.type, WEFT_FUNCREF);
    ASSERT_NULL(v.of.func);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "call_tab", 1, 0), WEFT_TRAP_UNINITIALIZED_ELEMENT);

    v = h_funcref(seven);
    ASSERT_OK(weft_table_set(tab, 1, &v));
    ASSERT_OK(weft_table_get(tab, 1, &v));
    ASSERT_EQ_PTR(v.of.func, seven);
    ASSERT_EQ_INT(CALL_I32(&fx, "call_tab", 1, 1), 7);

    /* one past the end */
    ASSERT_RC(weft_table_get(tab, 2, &v), WEFT_EARG);
    v = h_funcref(seven);
    ASSERT_RC(weft_table_set(tab, 2, &v), WEFT_EARG);
    ASSERT_RC(weft_table_get(tab, UINT32_MAX, &v), WEFT_EARG);

    /* wrong value types */
    v = weft_val_i32(7);
    ASSERT_RC(weft_table_set(tab, 0, &v), WEFT_EARG);
    v = h_externref(&fx);
    ASSERT_RC(weft_table_set(tab, 0, &v), WEFT_EARG);

    v = h_funcref(NULL);
    ASSERT_OK(weft_table_set(tab, 1, &v));
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "call_tab", 1, 1), WEFT_TRAP_UNINITIALIZED_ELEMENT);
}

TEST(api_export_lookup)
{
    fixture_t fx;
    weft_extern_t ext;
    fx_load(&fx, "api");
    ASSERT_RC(weft_instance_export(fx.inst, "nope", &ext), WEFT_ENOTFOUND);
    ASSERT_RC(weft_instance_export(fx.inst, "", &ext), WEFT_ENOTFOUND);
    ASSERT_OK(weft_instance_export_n(fx.inst, "addx", 3, &ext));
    ASSERT_EQ_INT(ext.kind, WEFT_EXTERN_FUNC);
    ASSERT_EQ_PTR(ext.of.func, fx_func(&fx, "add"));
    ASSERT_RC(weft_instance_export_n(fx.inst, "add\0x", 5, &ext), WEFT_ENOTFOUND);
    ASSERT_EQ_PTR(weft_instance_module(fx.inst), fx.module);
    CHECK_FUNCTYPE(weft_func_type(fx_func(&fx, "mix")), "iIfF", "F");
}

TEST(api_instances_are_independent)
{
    fixture_t fx;
    weft_instance_t *second = NULL;
    weft_extern_t ext;
    weft_val_t args[2] = {weft_val_i32(0), weft_val_i32(5)};
    weft_val_t res;
    fx_load(&fx, "api");

    ASSERT_OK_S(fx.store, weft_linker_instantiate(fx.linker, fx.module, &second));
    ASSERT_TRUE(second != fx.inst);
    CALL_VOID(&fx, "store", 2, 0, 5);
    ASSERT_OK(weft_instance_export(second, "load", &ext));
    ASSERT_OK_S(fx.store, weft_func_call(fx.store, ext.of.func, args, 1, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 0);
    ASSERT_EQ_INT(CALL_I32(&fx, "load", 1, 0), 5);
}

TEST(api_module_outlives_delete_while_instantiated)
{
    weft_engine_t *e = h_engine();
    weft_store_t *s = h_store(e);
    weft_linker_t *l = h_linker(s);
    weft_module_t *m = NULL;
    weft_instance_t *inst = NULL;
    weft_extern_t ext;
    weft_val_t args[2] = {weft_val_i32(20), weft_val_i32(22)}, res;
    char msg[256] = "";
    size_t len;
    uint8_t *bytes = h_read_wasm("api", &len);

    ASSERT_OK(weft_module_new(e, bytes, len, &m, msg, sizeof msg));
    ASSERT_OK_S(s, weft_linker_instantiate(l, m, &inst));
    weft_module_delete(m);
    ASSERT_OK(weft_instance_export(inst, "add", &ext));
    ASSERT_OK_S(s, weft_func_call(s, ext.of.func, args, 2, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 42);
    ASSERT_EQ_U64(weft_module_export_count(weft_instance_module(inst)), 17);
}

TEST(api_module_shared_by_two_stores)
{
    weft_engine_t *e = h_engine();
    weft_module_t *m = h_module(e, "api");
    weft_store_t *s1 = h_store(e), *s2 = h_store(e);
    weft_linker_t *l1 = h_linker(s1), *l2 = h_linker(s2);
    weft_instance_t *i1 = NULL, *i2 = NULL;
    weft_extern_t x1, x2;
    weft_val_t v;

    ASSERT_OK_S(s1, weft_linker_instantiate(l1, m, &i1));
    ASSERT_OK_S(s2, weft_linker_instantiate(l2, m, &i2));
    ASSERT_OK(weft_instance_export(i1, "g_mut", &x1));
    ASSERT_OK(weft_instance_export(i2, "g_mut", &x2));
    v = weft_val_i64(100);
    ASSERT_OK(weft_global_set(x1.of.global, &v));
    weft_global_get(x2.of.global, &v);
    ASSERT_EQ_U64(v.of.i64, 7);
}

/* Satisfy imports of type (i32 f64) -> i64 and () -> (). */
static int return_i64(weft_caller_t *caller, void *user, const weft_val_t *args,
                      weft_val_t *results)
{
    results[0] = weft_val_i64(args[0].of.i32);
    return 0;
}

static int return_nothing(weft_caller_t *caller, void *user, const weft_val_t *args,
                          weft_val_t *results)
{
    return 0;
}

TEST(api_link_host_objects)
{
    fixture_t fx;
    weft_memory_t *mem;
    weft_table_t *tab;
    weft_global_t *glob;
    weft_extern_t ext;
    weft_val_t v, init = h_externref(&fx);
    weft_limits_t mlim = {1, 3, 1}, tlim = {4, 0, 0};
    static const uint8_t byte = 0x9c;
    fx_open(&fx, "imports");

    mem = weft_memory_new(fx.store, mlim);
    ASSERT_NOT_NULL(mem);
    ASSERT_EQ_U64(weft_memory_pages(mem), 1);
    tab = weft_table_new(fx.store, WEFT_EXTERNREF, tlim, &init);
    ASSERT_NOT_NULL(tab);
    ASSERT_EQ_U64(weft_table_size(tab), 4);
    ASSERT_OK(weft_table_get(tab, 3, &v));
    ASSERT_EQ_INT(v.type, WEFT_EXTERNREF);
    ASSERT_EQ_PTR(v.of.ref, &fx);
    v = weft_val_i32(41);
    glob = weft_global_new(fx.store, WEFT_I32, 1, &v);
    ASSERT_NOT_NULL(glob);

    ext.kind = WEFT_EXTERN_MEMORY;
    ext.of.memory = mem;
    ASSERT_OK(weft_linker_define(fx.linker, "env", "ext_mem", &ext));
    ext.kind = WEFT_EXTERN_TABLE;
    ext.of.table = tab;
    ASSERT_OK(weft_linker_define(fx.linker, "env", "ext_tab", &ext));
    ext.kind = WEFT_EXTERN_GLOBAL;
    ext.of.global = glob;
    ASSERT_OK(weft_linker_define(fx.linker, "env", "ext_glob", &ext));
    ASSERT_OK(weft_linker_define_func(fx.linker, "env", "ext_func", h_functype("iF", "I"),
                                      return_i64, NULL));
    ASSERT_OK(weft_linker_define_func(fx.linker, "other", "ext_void", h_functype("", ""),
                                      return_nothing, NULL));
    fx_instantiate(&fx);

    {
        weft_val_t arg = weft_val_i32(-3), res;
        ASSERT_OK_S(fx.store, fx_call(&fx, "call_ext", &arg, 1, &res, 1));
        ASSERT_EQ_INT(res.type, WEFT_I64);
        ASSERT_EQ_U64(res.of.i64, (uint64_t)-3);
    }
    ASSERT_EQ_INT(CALL_I32(&fx, "read_glob", 0), 41);
    CALL_VOID(&fx, "bump_glob", 0);
    weft_global_get(glob, &v);
    ASSERT_EQ_INT(v.of.i32, 42);

    /* the guest sees what the host writes, also in pages the host grew */
    ASSERT_OK(weft_memory_write(mem, 100, &byte, 1));
    ASSERT_EQ_INT(CALL_I32(&fx, "peek", 1, 100), 0x9c);
    ASSERT_RC(weft_memory_write(mem, 70000, &byte, 1), WEFT_EARG);
    ASSERT_OK(weft_memory_grow(mem, 1, NULL));
    ASSERT_OK(weft_memory_write(mem, 70000, &byte, 1));
    ASSERT_EQ_INT(CALL_I32(&fx, "peek", 1, 70000), 0x9c);
}

TEST(api_host_object_limits)
{
    weft_engine_t *e = h_engine();
    weft_store_t *s = h_store(e);
    weft_limits_t bad = {3, 2, 1}, huge = {65537, 0, 0};
    weft_val_t init = weft_val_i32(0);
    ASSERT_NULL(weft_memory_new(s, bad));
    ASSERT_NULL(weft_memory_new(s, huge));
    ASSERT_NULL(weft_table_new(s, WEFT_FUNCREF, bad, NULL));
    /* a table's init value must match its element type */
    {
        weft_limits_t ok = {1, 0, 0};
        ASSERT_NULL(weft_table_new(s, WEFT_FUNCREF, ok, &init));
        ASSERT_NULL(weft_table_new(s, WEFT_I32, ok, NULL));
    }
    /* a global's init value must match its type */
    ASSERT_NULL(weft_global_new(s, WEFT_I64, 0, &init));
}

TEST(api_types_and_strings)
{
    weft_valtype_t p[2] = {WEFT_I32, WEFT_F64}, r[1] = {WEFT_EXTERNREF};
    weft_functype_t *a = weft_functype_new(p, 2, r, 1);
    weft_functype_t *b = weft_functype_new(p, 2, r, 1);
    weft_functype_t *c = weft_functype_new(p, 1, r, 1);
    weft_val_t v;
    ASSERT_NOT_NULL(a);
    ASSERT_NOT_NULL(b);
    ASSERT_NOT_NULL(c);
    ASSERT_EQ_U64(weft_functype_nparams(a), 2);
    ASSERT_EQ_U64(weft_functype_nresults(a), 1);
    ASSERT_EQ_INT(weft_functype_param(a, 1), WEFT_F64);
    ASSERT_EQ_INT(weft_functype_result(a, 0), WEFT_EXTERNREF);
    ASSERT_TRUE(weft_functype_equal(a, b));
    ASSERT_FALSE(weft_functype_equal(a, c));
    weft_functype_delete(a);
    weft_functype_delete(b);
    weft_functype_delete(c);

    ASSERT_EQ_STR(weft_valtype_name(WEFT_I32), "i32");
    ASSERT_EQ_STR(weft_valtype_name(WEFT_F64), "f64");
    ASSERT_EQ_STR(weft_valtype_name(WEFT_FUNCREF), "funcref");
    ASSERT_EQ_STR(weft_valtype_name(WEFT_EXTERNREF), "externref");
    ASSERT_EQ_STR(weft_valtype_name((weft_valtype_t)0x12), "?");
    ASSERT_EQ_STR(weft_externkind_name(WEFT_EXTERN_MEMORY), "memory");
    ASSERT_EQ_STR(weft_errname(WEFT_ETRAP), "WEFT_ETRAP");
    ASSERT_EQ_STR(weft_strerror(WEFT_EUNLINKABLE), "unresolved or mismatched import");
    ASSERT_NOT_NULL(weft_strerror(-1000));
    ASSERT_NOT_NULL(weft_errname(42));
    ASSERT_EQ_STR(weft_trap_name(WEFT_TRAP_DIV_ZERO), "DIV_ZERO");
    ASSERT_EQ_STR(weft_trap_string(WEFT_TRAP_DIV_ZERO), "integer divide by zero");
    ASSERT_NOT_NULL(weft_trap_string((weft_trap_code_t)999));
    ASSERT_NOT_NULL(weft_version());

    v = weft_val_f32(-0.0f);
    ASSERT_EQ_U64(v.of.f32_bits, 0x80000000u);
    ASSERT_TRUE(signbit(weft_val_get_f32(&v)));
    v = weft_val_f64(1.0);
    ASSERT_EQ_U64(v.of.f64_bits, 0x3ff0000000000000ull);
}

TEST(api_dump_code)
{
    weft_engine_t *e = h_engine();
    weft_module_t *api = h_module(e, "api");
    weft_module_t *imp = h_module(e, "imports");
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ASSERT_NOT_NULL(out);
    ASSERT_OK(weft_module_dump_code(api, 0, out));
    fclose(out);
    test_defer(free, text);
    ASSERT_GT_U64(len, 0);
    out = open_memstream(&text, &len);
    ASSERT_NOT_NULL(out);
    /* imported functions (0 and 1) have no code; 5 is "peek" */
    ASSERT_RC(weft_module_dump_code(imp, 0, out), WEFT_ENOTFOUND);
    ASSERT_RC(weft_module_dump_code(imp, 1, out), WEFT_ENOTFOUND);
    ASSERT_RC(weft_module_dump_code(imp, 1000, out), WEFT_ENOTFOUND);
    ASSERT_OK(weft_module_dump_code(imp, 5, out));
    fclose(out);
    test_defer(free, text);
    ASSERT_GT_U64(len, 0);
}
