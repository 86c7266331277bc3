/*
 * test_simd.c — v128 values where the official SIMD tests
 * (spec/simd_*) do not take them: through typed host functions and
 * weft_func_call, in globals (from the module and the API), in declared
 * locals that must start at zero on every call, across calls, blocks,
 * tail calls, instance resets,
 * br_if, br_table and select, after the store's stack is resized, and
 * their fuel (one unit per instruction, as a scalar one), and in a store
 * that takes over a deleted one's vector stack.
 */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "simd.h"

static weft_val_t v128_i32x4(int32_t a, int32_t b, int32_t c, int32_t d)
{
    weft_val_t v = {.type = WEFT_V128};
    int32_t lanes[4] = {a, b, c, d};
    memcpy(v.of.v128, lanes, 16);
    return v;
}

typedef struct {
    int calls;
    weft_val_t arg;
    int32_t k;
} twist_seen_t;

/* (v128, i32) -> v128: lane i becomes lane 3 - i, plus k */
static int host_twist(weft_caller_t *c, void *user, const weft_val_t *args, weft_val_t *results)
{
    twist_seen_t *s = user;
    int32_t in[4], out[4];
    s->calls++;
    s->arg = args[0];
    s->k = args[1].of.i32;
    memcpy(in, args[0].of.v128, 16);
    for (int i = 0; i < 4; i++) out[i] = in[3 - i] + args[1].of.i32;
    results[0] = (weft_val_t){.type = WEFT_V128};
    memcpy(results[0].of.v128, out, 16);
    return 0;
}

static int raw_nothing(weft_caller_t *c, void *user, weft_raw_t *args_results) { return 0; }

static void open_simd(fixture_t *fx, twist_seen_t *seen)
{
    fx_open(fx, "simd");
    weft_func_t *twist = weft_func_new_host(fx->store, h_functype("vi", "v"), host_twist, seen, NULL);
    ASSERT_NOT_NULL(twist);
    weft_extern_t ext = {.kind = WEFT_EXTERN_FUNC, .of.func = twist};
    ASSERT_OK(weft_linker_define(fx->linker, "host", "twist", &ext));
    fx_instantiate(fx);
}

static void expect_i32x4(const weft_val_t *v, int32_t a, int32_t b, int32_t c, int32_t d)
{
    int32_t want[4] = {a, b, c, d}, got[4];
    ASSERT_EQ_INT(v->type, WEFT_V128);
    memcpy(got, v->of.v128, 16);
    for (int i = 0; i < 4; i++) ASSERT_EQ_INT(got[i], want[i]);
}

/* f(args) returns one v128 whose i32 lanes are (a, b, c, d). */
static void call_i32x4(weft_store_t *s, weft_func_t *f, const weft_val_t *args, size_t nargs,
                       int32_t a, int32_t b, int32_t c, int32_t d)
{
    weft_val_t res;
    ASSERT_OK_S(s, weft_func_call(s, f, args, nargs, &res, 1));
    expect_i32x4(&res, a, b, c, d);
}

TEST(simd_v128_through_host_and_api)
{
    fixture_t fx;
    twist_seen_t seen = {0};
    open_simd(&fx, &seen);
    weft_val_t arg = v128_i32x4(1, 2, 3, 4), res;
    ASSERT_OK_S(fx.store, weft_func_call(fx.store, fx_func(&fx, "via_host"), &arg, 1, &res, 1));
    ASSERT_EQ_INT(seen.calls, 1);
    ASSERT_EQ_INT(seen.k, 10);
    expect_i32x4(&seen.arg, 1, 2, 3, 4);
    expect_i32x4(&res, 114, 213, 312, 411);
}

TEST(simd_raw_host_cannot_take_v128)
{
    weft_store_t *s = h_store(h_engine());
    /* a raw host function sees 8-byte slots, which do not hold a v128 */
    ASSERT_NULL(weft_func_new_host_raw(s, h_functype("v", ""), raw_nothing, NULL, NULL));
    ASSERT_NULL(weft_func_new_host_raw(s, h_functype("", "v"), raw_nothing, NULL, NULL));
    ASSERT_NOT_NULL(weft_func_new_host_raw(s, h_functype("i", ""), raw_nothing, NULL, NULL));
}

TEST(simd_declared_v128_locals_start_at_zero_every_call)
{
    fixture_t fx;
    twist_seen_t seen = {0};
    open_simd(&fx, &seen);
    weft_func_t *f = fx_func(&fx, "fresh_local");
    for (int i = 0; i < 3; i++) {
        weft_val_t arg = v128_i32x4(7 + i, -1, 9, 0x55555555);
        call_i32x4(fx.store, f, &arg, 1, 0, 0, 0, 0);
    }
}

TEST(simd_v128_across_calls_blocks_and_branches)
{
    fixture_t fx;
    twist_seen_t seen = {0};
    open_simd(&fx, &seen);
    weft_func_t *flow = fx_func(&fx, "flow");
    /* swap(a, b) = (b, a); pick(b, a, k) is b when k != 0, else a; table(a, b, k)
     * branches with a to $a (k = 0, k >= 2) or to $b, which drops it for b;
     * select takes table's result when k != 0, else zero. */
    weft_val_t args[3] = {v128_i32x4(1, 2, 3, 4), v128_i32x4(10, 20, 30, 40), weft_val_i32(0)};
    call_i32x4(fx.store, flow, args, 3, 1, 2, 3, 4); /* a + 0 */
    args[2] = weft_val_i32(1);
    /* b + b (bytewise adds do not carry here) */
    call_i32x4(fx.store, flow, args, 3, 20, 40, 60, 80);
    args[2] = weft_val_i32(2);
    call_i32x4(fx.store, flow, args, 3, 11, 22, 33, 44); /* b + a */

    weft_func_t *sel = fx_func(&fx, "select_plain");
    args[2] = weft_val_i32(0);
    call_i32x4(fx.store, sel, args, 3, 10, 20, 30, 40);
    args[2] = weft_val_i32(5);
    call_i32x4(fx.store, sel, args, 3, 1, 2, 3, 4);
}

TEST(simd_v128_globals_from_module_and_api)
{
    fixture_t fx;
    twist_seen_t seen = {0};
    open_simd(&fx, &seen);
    weft_global_t *g = fx_global(&fx, "g");
    weft_val_t v, res;
    ASSERT_EQ_INT(weft_global_type(g), WEFT_V128);
    weft_global_get(g, &v);
    expect_i32x4(&v, 1, 2, 3, 4);
    ASSERT_OK_S(fx.store, weft_func_call(fx.store, fx_func(&fx, "bump_g"), NULL, 0, NULL, 0));
    weft_global_get(g, &v);
    expect_i32x4(&v, 2, 3, 4, 5);
    v = v128_i32x4(-1, 0, 1 << 30, 42);
    ASSERT_OK(weft_global_set(g, &v));
    call_i32x4(fx.store, fx_func(&fx, "get_g"), NULL, 0, -1, 0, 1 << 30, 42);
    /* weft_instance_reset gives it its initial value again */
    ASSERT_OK_S(fx.store, weft_instance_reset(fx.inst));
    weft_global_get(g, &res);
    expect_i32x4(&res, 1, 2, 3, 4);
    /* a global made by the API */
    weft_global_t *g2 = weft_global_new(fx.store, WEFT_V128, 0, &v);
    ASSERT_NOT_NULL(g2);
    weft_global_get(g2, &res);
    expect_i32x4(&res, -1, 0, 1 << 30, 42);
}

TEST(simd_v128_still_works_after_the_stack_is_resized)
{
    fixture_t fx;
    twist_seen_t seen = {0};
    open_simd(&fx, &seen);
    weft_limits_config_t l = weft_store_limits(fx.store);
    l.max_stack_bytes *= 2;
    ASSERT_OK(weft_store_set_limits(fx.store, &l));
    weft_val_t arg = v128_i32x4(1, 2, 3, 4);
    call_i32x4(fx.store, fx_func(&fx, "via_host"), &arg, 1, 114, 213, 312, 411);
}

TEST(simd_instruction_costs_one_fuel_unit)
{
    fixture_t fx;
    twist_seen_t seen = {0};
    open_simd(&fx, &seen);
    weft_val_t res;
    weft_store_set_fuel(fx.store, 1000);
    ASSERT_OK_S(fx.store, weft_func_call(fx.store, fx_func(&fx, "fuel_scalar"), NULL, 0, &res, 1));
    uint64_t scalar = 1000 - weft_store_fuel(fx.store);
    weft_store_set_fuel(fx.store, 1000);
    ASSERT_OK_S(fx.store, weft_func_call(fx.store, fx_func(&fx, "fuel_simd"), NULL, 0, &res, 1));
    ASSERT_EQ_INT(res.of.i32, 3);
    ASSERT_EQ_U64(1000 - weft_store_fuel(fx.store), scalar);
    ASSERT_GT_U64(scalar, 3);
}

/* An instance of the test module `name` in a store of its own (*out_store). */
static weft_instance_t *instance_of(const char *name, weft_store_t **out_store)
{
    weft_engine_t *e = h_engine();
    weft_module_t *m = h_module(e, name);
    weft_store_t *s = h_store(e);
    weft_instance_t *inst = NULL;
    ASSERT_OK_S(s, weft_linker_instantiate(h_linker(s), m, &inst));
    *out_store = s;
    return inst;
}

TEST(simd_accesses_name_their_memory)
{
    weft_store_t *s;
    weft_instance_t *inst = instance_of("simd_mem1", &s);
    weft_extern_t rt, sl, sp;
    ASSERT_OK(weft_instance_export(inst, "roundtrip", &rt));
    ASSERT_OK(weft_instance_export(inst, "store_lane", &sl));
    ASSERT_OK(weft_instance_export(inst, "splat_m1", &sp));
    weft_val_t args[2] = {weft_val_i32(100), v128_i32x4(5, 6, 7, 0x12345678)}, res[3];
    ASSERT_OK_S(s, weft_func_call(s, rt.of.func, args, 2, res, 3));
    expect_i32x4(&res[0], 5, 6, 7, 0x12345678);
    expect_i32x4(&res[1], 0, 0, 0, 0); /* memory 0 untouched */
    expect_i32x4(&res[2], 0, 0, 0, 0x12345678);
    ASSERT_OK_S(s, weft_func_call(s, sl.of.func, args, 2, res, 1));
    ASSERT_EQ_INT(res[0].of.i32, 0); /* lane 1 of i16x8 (5, 0, 6, ...) */
    args[1] = v128_i32x4(0x00090000, 0, 0, 0);
    ASSERT_OK_S(s, weft_func_call(s, sl.of.func, args, 2, res, 1));
    ASSERT_EQ_INT(res[0].of.i32, 9);
    weft_val_t at = weft_val_i32(104);
    ASSERT_OK_S(s, weft_func_call(s, sp.of.func, &at, 1, res, 1));
    expect_i32x4(&res[0], 6, 6, 6, 6);
    /* memory 1 is one page: in bounds of memory 0, out of memory 1's */
    args[0] = weft_val_i32(65536 - 8);
    ASSERT_TRAP(s, weft_func_call(s, rt.of.func, args, 2, res, 3), WEFT_TRAP_MEMORY_OOB);
    at = weft_val_i32(65536 - 2);
    ASSERT_TRAP(s, weft_func_call(s, sp.of.func, &at, 1, res, 1), WEFT_TRAP_MEMORY_OOB);
}

TEST(simd_dump_names_the_instructions)
{
    weft_module_t *m = h_module(h_engine(), "simd");
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ASSERT_NOT_NULL(out);
    ASSERT_OK(weft_module_dump_code(m, 11, out)); /* fuel_simd: the import is function 0 */
    fclose(out);
    test_defer(free, text);
    ASSERT_CONTAINS(text, "V_CONST");
    ASSERT_CONTAINS(text, "V_I32X4_ADD"); /* a hot instruction's own handler (ops.def) */
    ASSERT_CONTAINS(text, "; i32x4.add");
    ASSERT_CONTAINS(text, "; i32x4.extract_lane");
}

TEST(simd_tail_call_moves_v128_arguments)
{
    weft_store_t *s;
    weft_instance_t *inst = instance_of("simd_tail", &s);
    weft_extern_t ext;
    ASSERT_OK(weft_instance_export(inst, "count_up", &ext));
    weft_val_t args[2] = {v128_i32x4(10, 20, 30, 40), weft_val_i32(5)};
    call_i32x4(s, ext.of.func, args, 2, 15, 30, 45, 60);
}

/* A deleted store's vector stack goes to the thread's pool uncleared and
 * the next store of the thread takes it (mempool.c): that store's declared
 * v128 locals still read zero, not what the last store left there. */
TEST(simd_a_store_reusing_a_vector_stack_sees_none_of_its_values)
{
    weft_engine_t *e = h_engine();
    weft_module_t *m = h_module(e, "simd");
    for (int round = 0; round < 3; round++) {
        weft_store_t *s = weft_store_new(e);
        ASSERT_NOT_NULL(s);
        weft_linker_t *l = weft_linker_new(s);
        ASSERT_NOT_NULL(l);
        twist_seen_t seen = {0};
        weft_func_t *twist = weft_func_new_host(s, h_functype("vi", "v"), host_twist, &seen, NULL);
        ASSERT_NOT_NULL(twist);
        weft_extern_t ext = {.kind = WEFT_EXTERN_FUNC, .of.func = twist};
        ASSERT_OK(weft_linker_define(l, "host", "twist", &ext));
        weft_instance_t *inst = NULL;
        ASSERT_OK_S(s, weft_linker_instantiate(l, m, &inst));
        ASSERT_OK(weft_instance_export(inst, "fresh_local", &ext));
        weft_val_t arg = v128_i32x4(0x11111111 * (round + 1), -1, 9, 0x55555555);
        call_i32x4(s, ext.of.func, &arg, 1, 0, 0, 0, 0);
        weft_linker_delete(l);
        weft_store_delete(s);
    }
}

/* On a CPU with SSE4.1, simd_lane_fn gives some instructions a function
 * compiled for it (simd.c); the spec suite then checks only those, so each
 * must give the portable function's lanes bit for bit, NaNs included. */
TEST(simd_sse41_lane_functions_match_the_portable_ones)
{
    static const uint32_t edge32[] = {
        0x00000000, 0x80000000, 0x3f000000, 0xbf000000, 0x3fc00000, 0xbfc00000, 0x40200000,
        0xc0200000, 0x4b000001, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7fa00000,
        0x7f7fffff, 0x00000001, 0x7fffffff, 0x8000ffff, 0x0000ffff, 0xffff0000,
    };
    static const uint64_t edge64[] = {
        0, 0x8000000000000000ull, 0x3fe0000000000000ull, 0xbff8000000000000ull,
        0x4330000000000001ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
        0x7ff8000000000000ull, 0xfff8000000000001ull, 0x7ff4000000000000ull,
        0x7fefffffffffffffull, 1, 0x7fffffffffffffffull, 0xffffffff00000000ull,
    };
    int checked = 0;
    uint64_t seed = 42;
    for (uint32_t sub = 0; sub < 256; sub++) {
        const simd_info_t *si = simd_info(sub);
        if (!si || simd_lane_fn(sub) == si->fn) continue;
        simd_vfn_t fast = (simd_vfn_t)simd_lane_fn(sub), slow = (simd_vfn_t)si->fn;
        for (int round = 0; round < 400; round++) {
            v128_t a, b, want, got;
            for (int i = 0; i < 2; i++) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                a.u64[i] = round < 100 ? edge64[(seed >> 33) % 14] : seed;
                b.u64[i] = seed ^ (seed >> 29);
            }
            if (round >= 100 && round < 200)
                for (int i = 0; i < 4; i++) a.u32[i] = edge32[(a.u32[i] >> 3) % 20], b.u32[i] = edge32[b.u32[i] % 20];
            slow(&want, &a, &b, &b, 0);
            fast(&got, &a, &b, &b, 0);
            if (memcmp(&want, &got, 16) != 0) {
                fprintf(stderr, "%s: a %016llx %016llx b %016llx %016llx: portable %016llx %016llx, sse4.1 %016llx %016llx\n",
                        si->name, (unsigned long long)a.u64[0], (unsigned long long)a.u64[1],
                        (unsigned long long)b.u64[0], (unsigned long long)b.u64[1],
                        (unsigned long long)want.u64[0], (unsigned long long)want.u64[1],
                        (unsigned long long)got.u64[0], (unsigned long long)got.u64[1]);
                ASSERT_EQ_INT(memcmp(&want, &got, 16), 0);
            }
        }
        checked++;
    }
    /* the instructions of simd.c's SSE4.1 table, or none on an older CPU */
    ASSERT_TRUE(checked == 0 || checked == 19);
}
