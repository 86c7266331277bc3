/*
 * test_compile.c — the compiler's rewrites keep the meaning of the code.
 *
 * The compiler folds constants into immediates and fuses a comparison with
 * the if/br_if/select that consumes it; a swapped operand or a lost sign is
 * easy to miss there. wat/compare_branch.wat holds every integer and float
 * comparison in five positions (value, if, br_if, br_if with a value,
 * select), with both operands in locals or a constant on either side; each
 * is checked against C over a grid of edge values. wat/arith_const.wat does
 * the same for binary arithmetic with constant operands.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "priv.h"

static const char *const int_ops[] = {"eq",   "ne",   "lt_s", "lt_u", "gt_s",
                                      "gt_u", "le_s", "le_u", "ge_s", "ge_u"};
static const char *const float_ops[] = {"eq", "ne", "lt", "gt", "le", "ge"};
static const char *const forms[] = {"val", "if", "brif", "brifv", "sel"};

/* The constants compare_branch.wat uses, by index (_r0.._r3, _l0.._l3). */
static const int64_t i32_consts[] = {0, 5, -1, INT32_MIN};
static const int64_t i64_consts[] = {0, 5, -1, INT64_MIN};
static const double float_consts[] = {0.0, 1.5, -INFINITY, NAN};

static int int_ref(const char *op, int64_t a, int64_t b, int bits)
{
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    if (bits == 32) {
        a = (int32_t)a;
        b = (int32_t)b;
        ua = (uint32_t)ua;
        ub = (uint32_t)ub;
    }
    if (!strcmp(op, "eq")) return a == b;
    if (!strcmp(op, "ne")) return a != b;
    if (!strcmp(op, "lt_s")) return a < b;
    if (!strcmp(op, "lt_u")) return ua < ub;
    if (!strcmp(op, "gt_s")) return a > b;
    if (!strcmp(op, "gt_u")) return ua > ub;
    if (!strcmp(op, "le_s")) return a <= b;
    if (!strcmp(op, "le_u")) return ua <= ub;
    if (!strcmp(op, "ge_s")) return a >= b;
    if (!strcmp(op, "ge_u")) return ua >= ub;
    if (!strcmp(op, "eqz")) return a == 0;
    FAIL("unknown op %s", op);
}

static int float_ref(const char *op, double a, double b)
{
    if (!strcmp(op, "eq")) return a == b;
    if (!strcmp(op, "ne")) return a != b;
    if (!strcmp(op, "lt")) return a < b;
    if (!strcmp(op, "gt")) return a > b;
    if (!strcmp(op, "le")) return a <= b;
    if (!strcmp(op, "ge")) return a >= b;
    FAIL("unknown op %s", op);
}

static weft_val_t make(weft_valtype_t t, int64_t i, double d)
{
    switch (t) {
    case WEFT_I32: return weft_val_i32((int32_t)i);
    case WEFT_I64: return weft_val_i64(i);
    case WEFT_F32: return weft_val_f32((float)d);
    default: return weft_val_f64(d);
    }
}

/* Calls export `name` with (a, b); returns its i32 result. */
static int32_t call_cmp(fixture_t *fx, const char *name, weft_val_t a, weft_val_t b)
{
    weft_val_t args[2] = {a, b}, res;
    weft_func_t *f = fx_func(fx, name);
    int rc = weft_func_call(fx->store, f, args, 2, &res, 1);
    if (rc != 0)
        FAIL("%s: %s", name, weft_errname(rc));
    return res.of.i32;
}

/* Checks every form and constant position of `type`_`op` for (a, b). */
static void check_all(fixture_t *fx, const char *type, weft_valtype_t t, const char *op,
                      int64_t ia, int64_t ib, double fa, double fb)
{
    int is_float = t == WEFT_F32 || t == WEFT_F64;
    int bits = (t == WEFT_I32) ? 32 : 64;
    char name[64];
    for (int pos = 0; pos < 9; pos++) {
        int64_t xa = ia, xb = ib;
        double da = fa, db = fb;
        char suffix[8] = "";
        int want;
        if (pos > 0) {
            int k = (pos - 1) % 4, right = pos <= 4;
            int64_t ic = t == WEFT_I32 ? i32_consts[k] : i64_consts[k];
            double dc = float_consts[k];
            snprintf(suffix, sizeof suffix, "_%c%d", right ? 'r' : 'l', k);
            if (right) {
                xb = ic;
                db = dc;
            } else {
                xa = ic;
                da = dc;
            }
            if (!strcmp(op, "eqz"))
                break;
        }
        if (t == WEFT_F32) {
            da = (float)da;
            db = (float)db;
        }
        want = is_float ? float_ref(op, da, db) : int_ref(op, xa, xb, bits);
        for (size_t f = 0; f < sizeof forms / sizeof *forms; f++) {
            int32_t got;
            snprintf(name, sizeof name, "%s_%s_%s%s", type, op, forms[f], suffix);
            got = call_cmp(fx, name, make(t, xa, da), make(t, xb, db));
            if (got != (f == 0 ? want : (want ? 11 : 22)))
                FAIL("%s(%lld, %lld | %g, %g): got %d, want %d", name, (long long)xa,
                     (long long)xb, da, db, got, f == 0 ? want : (want ? 11 : 22));
        }
    }
}

TEST(compile_integer_compare_and_branch)
{
    static const int64_t v32[] = {INT32_MIN, INT32_MIN + 1, -6, -2, -1, 0, 1, 4, 5, 6,
                                  INT32_MAX};
    static const int64_t v64[] = {INT64_MIN, INT64_MIN + 1, -0x80000001ll, -1, 0, 5, 6,
                                  0x80000000ll, 0x100000000ll, 0x100000005ll, INT64_MAX};
    fixture_t fx;
    fx_load(&fx, "compare_branch");
    for (size_t o = 0; o <= sizeof int_ops / sizeof *int_ops; o++) {
        const char *op = o < sizeof int_ops / sizeof *int_ops ? int_ops[o] : "eqz";
        for (size_t i = 0; i < sizeof v32 / sizeof *v32; i++)
            for (size_t j = 0; j < sizeof v32 / sizeof *v32; j++)
                check_all(&fx, "i32", WEFT_I32, op, v32[i], v32[j], 0, 0);
        for (size_t i = 0; i < sizeof v64 / sizeof *v64; i++)
            for (size_t j = 0; j < sizeof v64 / sizeof *v64; j++)
                check_all(&fx, "i64", WEFT_I64, op, v64[i], v64[j], 0, 0);
    }
}

TEST(compile_float_compare_and_branch)
{
    static const double v[] = {-INFINITY, -1.5, -0.0, 0.0, 1.5, 2.0, INFINITY, NAN};
    fixture_t fx;
    fx_load(&fx, "compare_branch");
    for (size_t o = 0; o < sizeof float_ops / sizeof *float_ops; o++)
        for (size_t i = 0; i < sizeof v / sizeof *v; i++)
            for (size_t j = 0; j < sizeof v / sizeof *v; j++) {
                check_all(&fx, "f32", WEFT_F32, float_ops[o], 0, 0, v[i], v[j]);
                check_all(&fx, "f64", WEFT_F64, float_ops[o], 0, 0, v[i], v[j]);
            }
}

/* ---- arithmetic with constant operands (wat/arith_const.wat) ----------- */

static const char *const int_arith_ops[] = {"add",   "sub",   "mul",   "div_s", "div_u",
                                            "rem_s", "rem_u", "and",   "or",    "xor",
                                            "shl",   "shr_s", "shr_u", "rotl",  "rotr"};
static const char *const float_arith_ops[] = {"add", "sub", "mul", "div",
                                              "min", "max", "copysign"};
static const uint64_t arith_i32_consts[] = {0, 1, (uint32_t)-1, 31, 32, 33, 0x80000000u, 7};
static const uint64_t arith_i64_consts[] = {0, 1, UINT64_MAX, 63, 64, 0x100000000ull,
                                            0x8000000000000000ull, 7};
static const double arith_float_consts[] = {0.0, -0.0, 1.5, -INFINITY, NAN};

/* Wasm semantics of a binary integer operator on `bits`-bit values;
 * sets *trap for division by zero and signed overflow. */
static uint64_t int_arith(const char *op, uint64_t a, uint64_t b, int bits,
                          weft_trap_code_t *trap)
{
    uint64_t mask = bits == 32 ? 0xffffffffu : UINT64_MAX;
    int64_t sa, sb, smin = bits == 32 ? INT32_MIN : INT64_MIN;
    unsigned sh;
    a &= mask;
    b &= mask;
    sa = bits == 32 ? (int64_t)(int32_t)a : (int64_t)a;
    sb = bits == 32 ? (int64_t)(int32_t)b : (int64_t)b;
    sh = (unsigned)(b & (uint64_t)(bits - 1));
    *trap = WEFT_TRAP_NONE;
    if (!strcmp(op, "add")) return (a + b) & mask;
    if (!strcmp(op, "sub")) return (a - b) & mask;
    if (!strcmp(op, "mul")) return (a * b) & mask;
    if (!strcmp(op, "and")) return a & b;
    if (!strcmp(op, "or")) return a | b;
    if (!strcmp(op, "xor")) return a ^ b;
    if (!strcmp(op, "shl")) return (a << sh) & mask;
    if (!strcmp(op, "shr_s")) return (uint64_t)(sa >> sh) & mask;
    if (!strcmp(op, "shr_u")) return a >> sh;
    if (!strcmp(op, "rotl")) return sh ? ((a << sh) | (a >> (bits - sh))) & mask : a;
    if (!strcmp(op, "rotr")) return sh ? ((a >> sh) | (a << (bits - sh))) & mask : a;
    if (b == 0) {
        *trap = WEFT_TRAP_DIV_ZERO;
        return 0;
    }
    if (!strcmp(op, "div_u")) return a / b;
    if (!strcmp(op, "rem_u")) return a % b;
    if (!strcmp(op, "rem_s")) return sb == -1 ? 0 : (uint64_t)(sa % sb) & mask;
    if (!strcmp(op, "div_s")) {
        if (sa == smin && sb == -1) {
            *trap = WEFT_TRAP_INT_OVERFLOW;
            return 0;
        }
        return (uint64_t)(sa / sb) & mask;
    }
    FAIL("unknown op %s", op);
}

static void check_int_arith(fixture_t *fx, const char *type, int bits, const char *op,
                            uint64_t a, uint64_t b)
{
    const uint64_t *consts = bits == 32 ? arith_i32_consts : arith_i64_consts;
    uint64_t mask = bits == 32 ? 0xffffffffu : UINT64_MAX;
    char name[64];
    for (int pos = 0; pos < 17; pos++) {
        uint64_t x = a, y = b, want, got;
        weft_trap_code_t trap;
        weft_val_t args[2], res;
        int rc;
        if (pos == 0) {
            snprintf(name, sizeof name, "%s_%s", type, op);
        } else {
            int k = (pos - 1) / 2, right = (pos - 1) % 2 == 0;
            snprintf(name, sizeof name, "%s_%s_%c%d", type, op, right ? 'r' : 'l', k);
            if (right)
                y = consts[k];
            else
                x = consts[k];
        }
        want = int_arith(op, x, y, bits, &trap);
        args[0] = bits == 32 ? weft_val_i32((int32_t)x) : weft_val_i64((int64_t)x);
        args[1] = bits == 32 ? weft_val_i32((int32_t)y) : weft_val_i64((int64_t)y);
        rc = weft_func_call(fx->store, fx_func(fx, name), args, 2, &res, 1);
        if (trap != WEFT_TRAP_NONE) {
            if (rc != WEFT_ETRAP || weft_store_trap(fx->store) != trap)
                FAIL("%s(0x%llx, 0x%llx): got %s / %s, want trap %s", name,
                     (unsigned long long)x, (unsigned long long)y, weft_errname(rc),
                     weft_trap_name(weft_store_trap(fx->store)), weft_trap_name(trap));
            continue;
        }
        if (rc != 0)
            FAIL("%s(0x%llx, 0x%llx): %s", name, (unsigned long long)x, (unsigned long long)y,
                 weft_errname(rc));
        got = (uint64_t)res.of.i64 & mask;
        if (bits == 32)
            got = (uint32_t)res.of.i32;
        if (got != want)
            FAIL("%s(0x%llx, 0x%llx): got 0x%llx, want 0x%llx", name, (unsigned long long)x,
                 (unsigned long long)y, (unsigned long long)got, (unsigned long long)want);
    }
}

TEST(compile_integer_arith_constants)
{
    static const uint64_t v32[] = {0, 1, 2, 7, 31, 32, 33, 0x12345678, 0x7fffffff,
                                   0x80000000, 0xfffffff9, 0xffffffff};
    static const uint64_t v64[] = {0, 1, 7, 63, 64, 65, 0xffffffff, 0x100000000ull,
                                   0x123456789abcdef0ull, 0x7fffffffffffffffull,
                                   0x8000000000000000ull, (uint64_t)-7, UINT64_MAX};
    fixture_t fx;
    fx_load(&fx, "arith_const");
    for (size_t o = 0; o < sizeof int_arith_ops / sizeof *int_arith_ops; o++) {
        for (size_t i = 0; i < sizeof v32 / sizeof *v32; i++)
            for (size_t j = 0; j < sizeof v32 / sizeof *v32; j++)
                check_int_arith(&fx, "i32", 32, int_arith_ops[o], v32[i], v32[j]);
        for (size_t i = 0; i < sizeof v64 / sizeof *v64; i++)
            for (size_t j = 0; j < sizeof v64 / sizeof *v64; j++)
                check_int_arith(&fx, "i64", 64, int_arith_ops[o], v64[i], v64[j]);
    }
}

/* Wasm semantics of a binary float operator, in double precision. */
static double f64_arith(const char *op, double a, double b)
{
    if (!strcmp(op, "add")) return a + b;
    if (!strcmp(op, "sub")) return a - b;
    if (!strcmp(op, "mul")) return a * b;
    if (!strcmp(op, "div")) return a / b;
    if (!strcmp(op, "copysign")) return copysign(a, b);
    if (isnan(a) || isnan(b)) return NAN;
    if (a == 0 && b == 0) /* -0 < +0 for min and max */
        return !strcmp(op, "min") ? (signbit(a) ? a : b) : (signbit(a) ? b : a);
    if (!strcmp(op, "min")) return a < b ? a : b;
    if (!strcmp(op, "max")) return a > b ? a : b;
    FAIL("unknown op %s", op);
}

/* The same in single precision: every step rounds to float. */
static float f32_arith(const char *op, float a, float b)
{
    if (!strcmp(op, "add")) return a + b;
    if (!strcmp(op, "sub")) return a - b;
    if (!strcmp(op, "mul")) return a * b;
    if (!strcmp(op, "div")) return a / b;
    if (!strcmp(op, "copysign")) return copysignf(a, b);
    return (float)f64_arith(op, a, b);
}

static uint64_t f64_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static void check_float_arith(fixture_t *fx, const char *type, int is32, const char *op,
                              double a, double b)
{
    char name[64];
    for (int pos = 0; pos < 11; pos++) {
        double x = a, y = b;
        weft_val_t args[2], res;
        uint64_t want, got;
        int want_nan, got_nan, rc;
        if (pos == 0) {
            snprintf(name, sizeof name, "%s_%s", type, op);
        } else {
            int k = (pos - 1) / 2, right = (pos - 1) % 2 == 0;
            snprintf(name, sizeof name, "%s_%s_%c%d", type, op, right ? 'r' : 'l', k);
            if (right)
                y = arith_float_consts[k];
            else
                x = arith_float_consts[k];
        }
        if (is32) {
            float r = f32_arith(op, (float)x, (float)y);
            want = f32_bits(r);
            want_nan = isnan(r);
            args[0] = weft_val_f32((float)x);
            args[1] = weft_val_f32((float)y);
        } else {
            double r = f64_arith(op, x, y);
            want = f64_bits(r);
            want_nan = isnan(r);
            args[0] = weft_val_f64(x);
            args[1] = weft_val_f64(y);
        }
        rc = weft_func_call(fx->store, fx_func(fx, name), args, 2, &res, 1);
        if (rc != 0)
            FAIL("%s(%g, %g): %s", name, x, y, weft_errname(rc));
        got = is32 ? res.of.f32_bits : res.of.f64_bits;
        got_nan = is32 ? isnan(weft_val_get_f32(&res)) : isnan(weft_val_get_f64(&res));
        /* an arithmetic NaN may carry any payload; copysign is exact */
        if (want_nan && got_nan && strcmp(op, "copysign") != 0)
            continue;
        if (got != want)
            FAIL("%s(%g, %g): got bits 0x%llx, want 0x%llx", name, x, y,
                 (unsigned long long)got, (unsigned long long)want);
    }
}

TEST(compile_float_arith_constants)
{
    static const double v[] = {0.0, -0.0, 1.5, -2.5, 3.0, 1e-40, -INFINITY, INFINITY, NAN};
    fixture_t fx;
    fx_load(&fx, "arith_const");
    for (size_t o = 0; o < sizeof float_arith_ops / sizeof *float_arith_ops; o++)
        for (size_t i = 0; i < sizeof v / sizeof *v; i++)
            for (size_t j = 0; j < sizeof v / sizeof *v; j++) {
                check_float_arith(&fx, "f32", 1, float_arith_ops[o], v[i], v[j]);
                check_float_arith(&fx, "f64", 0, float_arith_ops[o], v[i], v[j]);
            }
}

/* ---- the accumulator (wat/acc.wat) ------------------------------------- */

static const char *const acc_forms[] = {"acca", "accb", "acck"};

/* The listing of function `index`, freed when the test ends. */
static char *listing(weft_module_t *m, uint32_t index)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ASSERT_NOT_NULL(out);
    ASSERT_OK(weft_module_dump_code(m, index, out));
    fclose(out);
    test_defer(free, text);
    return text;
}

/* Every function of fx's module runs compiled (where the tier exists). */
static void all_compiled(fixture_t *fx)
{
#if defined(__x86_64__) && defined(__linux__)
    uint32_t total, compiled = weft_module_compiled_functions(fx->module, &total);
    ASSERT_EQ_U64(compiled, total);
#else
    (void)fx;
#endif
}

/* Module `name` instantiated interpreted (in) and compiled (jit). */
static void open_both_tiers(fixture_t *in, fixture_t *jit, const char *name)
{
    fx_open_tier(in, name, WEFT_TIER_INTERP);
    fx_instantiate(in);
    fx_open_tier(jit, name, WEFT_TIER_JIT);
    fx_instantiate(jit);
}

static int32_t call_i32(fixture_t *fx, const char *name, const weft_val_t *args, size_t n)
{
    weft_val_t res;
    int rc = weft_func_call(fx->store, fx_func(fx, name), args, n, &res, 1);
    if (rc != 0)
        FAIL("%s: %s", name, weft_errname(rc));
    return res.of.i32;
}

TEST(compile_acc_chains_and_loops)
{
    fixture_t fx;
    fx_load(&fx, "acc");
    /* the register twins are really used: a pointer chased, a loop counter
     * compared right after its retargeted update */
    ASSERT_NOT_NULL(strstr(listing(fx.module, 0), "I32_LOAD_R"));
    ASSERT_NOT_NULL(strstr(listing(fx.module, 1), "BR_I32_LT_S_R"));
    /* ...but not across a loop header, where the register is stale */
    ASSERT_NULL(strstr(listing(fx.module, 2), "I32_MUL_IMM_R"));
    weft_val_t a[2] = {weft_val_i32(0), weft_val_i32(3)};
    ASSERT_EQ_INT(call_i32(&fx, "chain", a, 2), 42 + 7);
    a[0] = weft_val_i32(4);
    a[1] = weft_val_i32(0);
    ASSERT_EQ_INT(call_i32(&fx, "chain", a, 2), 7 + 16);
    for (int32_t n = -1; n <= 100; n++) {
        weft_val_t v = weft_val_i32(n);
        ASSERT_EQ_INT(call_i32(&fx, "sum", &v, 1), n > 0 ? n * (n - 1) / 2 : 0);
    }
    for (int32_t x = -3; x <= 3; x++) {
        weft_val_t v = weft_val_i32(x);
        ASSERT_EQ_INT(call_i32(&fx, "loop_param", &v, 1), (x + 1) * 27);
        ASSERT_EQ_INT(call_i32(&fx, "odd", &v, 1), x & 1);
    }
    /* plain conditions from the register: br_if on a shift, if on a load */
    ASSERT_NOT_NULL(strstr(listing(fx.module, 3), "BR_IF_R"));
    ASSERT_NOT_NULL(strstr(listing(fx.module, 4), "BR_UNLESS_R"));
    weft_val_t p = weft_val_i32(0);
    ASSERT_EQ_INT(call_i32(&fx, "flag", &p, 1), 11);
    p = weft_val_i32(3);
    ASSERT_EQ_INT(call_i32(&fx, "flag", &p, 1), 22);
    /* regression: floats are never in acc, even after a load that read its
     * address from it (memory at 0 holds a tiny subnormal: 3 + it = 3) */
    weft_val_t res;
    p = weft_val_i32(0);
    ASSERT_NULL(strstr(listing(fx.module, 5), "F32_ADD_IMM_R"));
    ASSERT_OK(weft_func_call(fx.store, fx_func(&fx, "load_add_mul"), &p, 1, &res, 1));
    ASSERT_EQ_U64(res.of.f32_bits, 0x40c00000u); /* 6.0f */
    ASSERT_OK(weft_func_call(fx.store, fx_func(&fx, "load_sub_div"), &p, 1, &res, 1));
    ASSERT_EQ_U64(res.of.f64_bits, 0xbfe0000000000000ull); /* -0.5 */
}

TEST(compile_acc_compares)
{
    static const int64_t v32[] = {INT32_MIN, -6, -1, 0, 1, 4, 5, 6, INT32_MAX};
    static const int64_t v64[] = {INT64_MIN, -0x80000001ll, -1, 0, 5, 6, 0x100000005ll,
                                  INT64_MAX};
    fixture_t fx;
    fx_load(&fx, "acc");
    for (int bits = 32; bits <= 64; bits += 32) {
        const int64_t *v = bits == 32 ? v32 : v64;
        size_t nv = bits == 32 ? sizeof v32 / sizeof *v32 : sizeof v64 / sizeof *v64;
        const char *type = bits == 32 ? "i32" : "i64";
        weft_valtype_t t = bits == 32 ? WEFT_I32 : WEFT_I64;
        for (size_t o = 0; o < sizeof int_ops / sizeof *int_ops; o++)
            for (size_t i = 0; i < nv; i++)
                for (size_t j = 0; j < nv; j++)
                    for (size_t k = 0; k < 3; k++)
                        for (size_t f = 0; f < sizeof forms / sizeof *forms; f++) {
                            char name[64];
                            int64_t y = k == 2 ? 5 : v[j];
                            int want = int_ref(int_ops[o], v[i], y, bits);
                            snprintf(name, sizeof name, "%s_%s_%s_%s", type, int_ops[o],
                                     forms[f], acc_forms[k]);
                            int32_t got = call_cmp(&fx, name, make(t, v[i], 0), make(t, v[j], 0));
                            if (got != (f == 0 ? want : (want ? 11 : 22)))
                                FAIL("%s(%lld, %lld): got %d", name, (long long)v[i],
                                     (long long)v[j], got);
                        }
    }
}

TEST(compile_acc_arith)
{
    static const uint64_t v32[] = {0, 1, 5, 31, 32, 0x80000000, 0xfffffff9, 0xffffffff};
    static const uint64_t v64[] = {0, 1, 5, 63, 64, 0x100000000ull, 0x8000000000000000ull,
                                   UINT64_MAX};
    fixture_t fx;
    fx_load(&fx, "acc");
    for (int bits = 32; bits <= 64; bits += 32) {
        const uint64_t *v = bits == 32 ? v32 : v64;
        uint64_t mask = bits == 32 ? 0xffffffffu : UINT64_MAX;
        const char *type = bits == 32 ? "i32" : "i64";
        for (size_t o = 0; o < sizeof int_arith_ops / sizeof *int_arith_ops; o++)
            for (size_t i = 0; i < 8; i++)
                for (size_t j = 0; j < 8; j++)
                    for (size_t k = 0; k < 3; k++) {
                        char name[64];
                        uint64_t y = k == 2 ? 5 : v[j], got, want;
                        weft_trap_code_t trap;
                        weft_val_t args[2], res;
                        snprintf(name, sizeof name, "%s_%s_%s", type, int_arith_ops[o],
                                 acc_forms[k]);
                        want = int_arith(int_arith_ops[o], v[i], y, bits, &trap);
                        args[0] = bits == 32 ? weft_val_i32((int32_t)v[i])
                                             : weft_val_i64((int64_t)v[i]);
                        args[1] = bits == 32 ? weft_val_i32((int32_t)v[j])
                                             : weft_val_i64((int64_t)v[j]);
                        int rc = weft_func_call(fx.store, fx_func(&fx, name), args, 2, &res, 1);
                        if (trap != WEFT_TRAP_NONE) {
                            if (rc != WEFT_ETRAP || weft_store_trap(fx.store) != trap)
                                FAIL("%s(0x%llx, 0x%llx): want trap %s", name,
                                     (unsigned long long)v[i], (unsigned long long)y,
                                     weft_trap_name(trap));
                            continue;
                        }
                        if (rc != 0)
                            FAIL("%s: %s", name, weft_errname(rc));
                        got = bits == 32 ? (uint32_t)res.of.i32 : (uint64_t)res.of.i64 & mask;
                        if (got != want)
                            FAIL("%s(0x%llx, 0x%llx): got 0x%llx, want 0x%llx", name,
                                 (unsigned long long)v[i], (unsigned long long)y,
                                 (unsigned long long)got, (unsigned long long)want);
                    }
    }
}

/* Whether some function of m has `op` in its listing. */
static int module_has_op(weft_module_t *m, const char *op)
{
    for (uint32_t i = 0;; i++) {
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        ASSERT_NOT_NULL(out);
        int rc = weft_module_dump_code(m, i, out);
        fclose(out);
        int found = rc == 0 && strstr(text, op) != NULL;
        free(text);
        if (rc != 0)
            return 0;
        if (found)
            return 1;
    }
}

TEST(compile_acc_floats)
{
    static const double v[] = {0.0, -0.0, 1.5, -2.5, 5.0, 1e-40, -INFINITY, NAN};
    fixture_t fx;
    fx_load(&fx, "acc");
    /* f32 and f64 results have accumulators of their own */
    ASSERT_TRUE(module_has_op(fx.module, "F32_ADD_R"));
    ASSERT_TRUE(module_has_op(fx.module, "F64_MUL_IMM_R"));
    ASSERT_TRUE(module_has_op(fx.module, "F64_LT_R"));
    for (int is32 = 0; is32 <= 1; is32++) {
        const char *type = is32 ? "f32" : "f64";
        weft_valtype_t t = is32 ? WEFT_F32 : WEFT_F64;
        for (size_t i = 0; i < sizeof v / sizeof *v; i++)
            for (size_t j = 0; j < sizeof v / sizeof *v; j++)
                for (size_t k = 0; k < 3; k++) {
                    double x = v[i], y = k == 2 ? 5.0 : v[j];
                    char name[64];
                    if (is32) {
                        x = (float)x;
                        y = (float)y;
                    }
                    for (size_t o = 0; o < sizeof float_arith_ops / sizeof *float_arith_ops; o++) {
                        weft_val_t args[2] = {make(t, 0, v[i]), make(t, 0, v[j])}, res;
                        uint64_t want, got;
                        int want_nan, got_nan;
                        if (is32) {
                            float r = f32_arith(float_arith_ops[o], (float)x, (float)y);
                            want = f32_bits(r);
                            want_nan = isnan(r);
                        } else {
                            double r = f64_arith(float_arith_ops[o], x, y);
                            want = f64_bits(r);
                            want_nan = isnan(r);
                        }
                        snprintf(name, sizeof name, "%s_%s_%s", type, float_arith_ops[o],
                                 acc_forms[k]);
                        ASSERT_OK(weft_func_call(fx.store, fx_func(&fx, name), args, 2, &res, 1));
                        got = is32 ? res.of.f32_bits : res.of.f64_bits;
                        got_nan = is32 ? isnan(weft_val_get_f32(&res)) : isnan(weft_val_get_f64(&res));
                        /* x * 1 may quiet or reshape a NaN: NaN-ness is what counts */
                        if (want_nan && got_nan)
                            continue;
                        if (got != want)
                            FAIL("%s(%g, %g): got bits 0x%llx, want 0x%llx", name, x, y,
                                 (unsigned long long)got, (unsigned long long)want);
                    }
                    for (size_t o = 0; o < sizeof float_ops / sizeof *float_ops; o++)
                        for (size_t f = 0; f < sizeof forms / sizeof *forms; f++) {
                            int want = float_ref(float_ops[o], x, y);
                            snprintf(name, sizeof name, "%s_%s_%s_%s", type, float_ops[o],
                                     forms[f], acc_forms[k]);
                            int32_t got = call_cmp(&fx, name, make(t, 0, v[i]), make(t, 0, v[j]));
                            if (got != (f == 0 ? want : (want ? 11 : 22)))
                                FAIL("%s(%g, %g): got %d", name, x, y, got);
                        }
                }
    }
}

/* A call zeroes only the declared locals some path may read unwritten
 * (wat/locals_zero.wat): each probe runs in a frame whose locals hold the
 * -1s the call before left, and returns what it read. */
TEST(compile_locals_zeroed_only_where_read_unwritten)
{
    fixture_t fx;
    fx_load(&fx, "locals_zero");
    static const struct {
        int32_t c0, c1; /* the result for c = 0 and c = 1 */
    } want[] = {
        {5, 5},   /* prefix: read before the write: 0 + 5 */
        {0, 5},   /* one_arm */
        {5, 0},   /* br_if_skips */
        {0, 100}, /* loop_first */
        {1, 1},   /* past_64: local 70 */
        {0, 5},   /* zero_again */
        {5, 0},   /* br_table_skips */
        {0, 5},   /* no_else */
        {14, 9},  /* all_written */
        {5, 0},   /* else_arm */
        {6, 0},   /* nested */
    };
    for (int32_t k = 0; k < (int32_t)(sizeof want / sizeof want[0]); k++) {
        weft_val_t a[2] = {weft_val_i32(k), weft_val_i32(0)};
        ASSERT_EQ_INT(call_i32(&fx, "run", a, 2), want[k].c0);
        a[1] = weft_val_i32(1);
        ASSERT_EQ_INT(call_i32(&fx, "run", a, 2), want[k].c1);
    }
    /* and the zeroing is really skipped where every read follows a write
     * (function index = probe + 2: $dirty and run come first) */
    ASSERT_NOT_NULL(strstr(listing(fx.module, 2 + 8), "(0 zeroed by a call)"));
    ASSERT_NOT_NULL(strstr(listing(fx.module, 2 + 0), "(1 zeroed by a call)"));
    /* loop_first: x, and sum, whose `sum = 0` at the start is left out */
    ASSERT_NOT_NULL(strstr(listing(fx.module, 2 + 3), "(2 zeroed by a call)"));
    /* past the 64 tracked: locals 65 .. 70 all zeroed, local 1 not */
    ASSERT_NOT_NULL(strstr(listing(fx.module, 2 + 4), "71 locals (6 zeroed by a call)"));
}

/* i32.and with a constant feeding if / br_if is one test-and-branch
 * (wat/and_branch.wat), in both tiers, for masks with the sign bit, none
 * and all bits, against C over operands of every sign. */
TEST(compile_and_constant_then_branch_is_one_test)
{
    static const char *const masks[] = {"1", "sign", "ff", "zero", "all"};
    static const uint32_t mask_bits[] = {1, 0x80000000u, 0xff, 0, 0xffffffffu};
    static const char *const and_forms[] = {"if",  "brif",  "brifv",   "accif",
                                            "accbrif", "ifz", "brifz", "accbrifz"};
    static const int32_t xs[] = {0, 1, 2, 255, 256, -1, INT32_MIN, INT32_MAX, 0x1234567};
    fixture_t in, jit;
    open_both_tiers(&in, &jit, "and_branch");
    all_compiled(&jit); /* the fused ops have templates */
    /* the fused ops are really there: if jumps on zero, br_if on non-zero,
     * the acc forms read the add's result from the register */
    ASSERT_NOT_NULL(strstr(listing(in.module, 0), "BR_I32_TESTZ_IMM "));
    ASSERT_NOT_NULL(strstr(listing(in.module, 1), "BR_I32_TEST_IMM "));
    ASSERT_NOT_NULL(strstr(listing(in.module, 3), "BR_I32_TESTZ_IMM_R"));
    ASSERT_NOT_NULL(strstr(listing(in.module, 4), "BR_I32_TEST_IMM_R"));
    ASSERT_NULL(strstr(listing(in.module, 0), "I32_AND"));
    /* with an eqz between: the and, the eqz and the branch are one op
     * (functions 25..27 are the z forms of mask 1) */
    ASSERT_NOT_NULL(strstr(listing(in.module, 25), "BR_I32_TEST_IMM "));
    ASSERT_NOT_NULL(strstr(listing(in.module, 26), "BR_I32_TESTZ_IMM "));
    ASSERT_NOT_NULL(strstr(listing(in.module, 27), "BR_I32_TESTZ_IMM_R"));
    ASSERT_NULL(strstr(listing(in.module, 26), "EQZ"));
    for (size_t m = 0; m < sizeof masks / sizeof masks[0]; m++)
        for (size_t f = 0; f < sizeof and_forms / sizeof and_forms[0]; f++) {
            char name[32];
            snprintf(name, sizeof name, "%s_%s", and_forms[f], masks[m]);
            for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
                bool acc = !strncmp(and_forms[f], "acc", 3), z = and_forms[f][strlen(and_forms[f]) - 1] == 'z';
                int32_t y = acc ? 7 : 0; /* the acc forms test (x + y) & K */
                uint32_t v = (uint32_t)xs[i] + (uint32_t)y;
                int32_t want = ((v & mask_bits[m]) != 0) != z ? 1 : 2;
                weft_val_t a[2] = {weft_val_i32(xs[i]), weft_val_i32(y)};
                int32_t got = call_i32(&in, name, a, 2);
                if (got != want) FAIL("%s(%d, %d): %d, expected %d", name, xs[i], y, got, want);
                got = call_i32(&jit, name, a, 2);
                if (got != want) FAIL("compiled %s(%d, %d): %d, expected %d", name, xs[i], y, got, want);
            }
        }
}

/* ---- fused sequences (wat/fused_steps.wat) ------------------------------ */

/* Calls `name` with two i32 arguments (the second ignored by one-parameter
 * functions: nargs) under `fuel` (0: fuel off) in fx; returns the call's
 * code, the result in *out. */
static int fused_call(fixture_t *fx, const char *name, size_t nargs, int32_t x, int32_t y, uint64_t fuel,
                      int32_t *out)
{
    weft_val_t a[2] = {weft_val_i32(x), weft_val_i32(y)}, res = {0};
    weft_func_t *f = fx_func(fx, name);
    size_t nres = weft_functype_nresults(weft_func_type(f));
    if (fuel) weft_store_set_fuel(fx->store, fuel);
    int rc = weft_func_call(fx->store, f, a, nargs, &res, nres);
    *out = nres ? res.of.i32 : 0;
    return rc;
}

static int32_t fused_global(fixture_t *fx, const char *name)
{
    weft_val_t v;
    weft_global_get(fx_global(fx, name), &v);
    return v.of.i32;
}

static void fused_set_sp(fixture_t *fx, int32_t sp)
{
    weft_val_t v = weft_val_i32(sp);
    ASSERT_OK(weft_global_set(fx_global(fx, "sp"), &v));
}

/* The fuel used by a call that succeeds (fuel on, 1,000,000 to start). */
static uint64_t fused_fuel_used(fixture_t *fx, const char *name, size_t nargs, int32_t x, int32_t y)
{
    int32_t r;
    ASSERT_OK(fused_call(fx, name, nargs, x, y, 1000000, &r));
    return 1000000 - weft_store_fuel(fx->store);
}

/* Both tiers: the same code, result, fuel left, trap, backtrace and
 * stack pointer, from the same stack pointer. */
static void fused_same(fixture_t *in, fixture_t *jit, const char *name, size_t nargs, int32_t x, int32_t y,
                       uint64_t fuel, int32_t sp)
{
    fixture_t *fx[2] = {in, jit};
    int rc[2];
    int32_t r[2];
    for (int t = 0; t < 2; t++) {
        fused_set_sp(fx[t], sp);
        rc[t] = fused_call(fx[t], name, nargs, x, y, fuel, &r[t]);
    }
    ASSERT_EQ_INT(rc[1], rc[0]);
    ASSERT_EQ_U64(weft_store_fuel(jit->store), weft_store_fuel(in->store));
    ASSERT_EQ_INT(fused_global(jit, "sp"), fused_global(in, "sp"));
    ASSERT_EQ_INT(fused_global(jit, "other"), fused_global(in, "other"));
    if (rc[0] == 0) {
        ASSERT_EQ_INT(r[1], r[0]);
        return;
    }
    h_same_trap(in->store, jit->store);
}

static uint32_t steps_c(uint32_t n, uint32_t p)
{
    uint32_t q = (uint32_t)-5, s = 0;
    for (; n; n--) {
        s += p ^ q;
        p += 40;
        q -= 4;
    }
    return s + p + q;
}

/* Two i32 adds of a constant in a row are one I32_ADD_IMM2 (its _R form
 * when the first reads the accumulator), three one I32_ADD_IMM3; a load
 * that folds the last add splits it off again. Against C, in both tiers,
 * with wrapping sums, a trap right after a fused op, and the fuel running
 * out at every point: fuel is the wasm instructions' count, unchanged (20
 * an iteration, 13 for "chain", 21 for "chain3"). */
TEST(compile_fused_adds_of_constants_step_induction_variables)
{
    fixture_t in, jit;
    open_both_tiers(&in, &jit, "fused_steps");
    all_compiled(&jit); /* the fused ops have templates */
    const char *steps = listing(in.module, 0);
    ASSERT_NOT_NULL(strstr(steps, "I32_ADD_IMM3 ")); /* p, q and n stepped */
    ASSERT_NULL(strstr(steps, "I32_ADD_IMM "));
    ASSERT_NOT_NULL(strstr(listing(in.module, 1), "I32_ADD_IMM2 "));
    ASSERT_NOT_NULL(strstr(listing(in.module, 22), "I32_ADD_IMM3 "));
    const char *split3 = listing(in.module, 23);
    ASSERT_NULL(strstr(split3, "I32_ADD_IMM3"));
    ASSERT_NOT_NULL(strstr(split3, "I32_ADD_IMM2 "));
    ASSERT_NOT_NULL(strstr(split3, "I32_LOAD8_U_A"));
    ASSERT_NOT_NULL(strstr(listing(in.module, 2), "I32_ADD_IMM2_R"));
    const char *split = listing(in.module, 3);
    ASSERT_NULL(strstr(split, "I32_ADD_IMM2"));
    ASSERT_NOT_NULL(strstr(split, "I32_LOAD8_U_A"));

    static const int32_t ns[] = {0, 1, 2, 7, 100};
    static const int32_t ps[] = {0, 1000, -40, INT32_MAX, INT32_MIN, -1};
    fixture_t *fx[2] = {&in, &jit};
    for (int t = 0; t < 2; t++) {
        int32_t r;
        for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
            for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
                ASSERT_OK(fused_call(fx[t], "steps", 2, ns[i], ps[k], 0, &r));
                ASSERT_EQ_INT(r, (int32_t)steps_c((uint32_t)ns[i], (uint32_t)ps[k]));
            }
        for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
            uint32_t p = (uint32_t)ps[k] + 4, q = p + 8;
            ASSERT_OK(fused_call(fx[t], "chain", 1, ps[k], 0, 0, &r));
            ASSERT_EQ_INT(r, (int32_t)(p ^ (q * 3)));
            ASSERT_OK(fused_call(fx[t], "acc", 2, ps[k], ps[(k + 1) % 6], 0, &r));
            ASSERT_EQ_INT(r, (int32_t)((uint32_t)ps[k] * 3 + 1 - ((uint32_t)ps[(k + 1) % 6] + 0x7fffffffu)));
        }
        ASSERT_OK(fused_call(fx[t], "split", 2, 5, 65527, 0, &r)); /* reads byte 65535 */
        ASSERT_EQ_INT(r, 9);
        ASSERT_OK(fused_call(fx[t], "split", 2, 5, -8, 0, &r)); /* the address wraps to 0 */
        ASSERT_EQ_INT(r, 9);
        ASSERT_TRAP(fx[t]->store, fused_call(fx[t], "split", 2, 5, 65528, 0, &r), WEFT_TRAP_MEMORY_OOB);
        for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
            uint32_t p = (uint32_t)ps[k] + 4, q = p + 8, w = q - 12;
            ASSERT_OK(fused_call(fx[t], "chain3", 1, ps[k], 0, 0, &r));
            ASSERT_EQ_INT(r, (int32_t)(p ^ (q * 3) ^ (w * 5)));
        }
        ASSERT_OK(fused_call(fx[t], "split3", 2, INT32_MAX, 65523, 0, &r)); /* reads byte 65535 */
        ASSERT_EQ_INT(r, (int32_t)((uint32_t)INT32_MAX + 12));
        ASSERT_TRAP(fx[t]->store, fused_call(fx[t], "split3", 2, 5, 65524, 0, &r), WEFT_TRAP_MEMORY_OOB);
        ASSERT_EQ_U64(fused_fuel_used(fx[t], "chain3", 1, 3, 0), 21);
        /* the count of wasm instructions, whatever fuses */
        ASSERT_EQ_U64(fused_fuel_used(fx[t], "steps", 2, 2, 0) - fused_fuel_used(fx[t], "steps", 2, 1, 0), 20);
        ASSERT_EQ_U64(fused_fuel_used(fx[t], "chain", 1, 3, 0), 13);
    }
    for (uint64_t fuel = 1; fuel <= 140; fuel++) {
        fused_same(&in, &jit, "steps", 2, 5, 1000, fuel, 1024);
        fused_same(&in, &jit, "chain", 1, 5, 0, fuel, 1024);
        fused_same(&in, &jit, "acc", 2, 5, 6, fuel, 1024);
        fused_same(&in, &jit, "split", 2, 5, 65528, fuel, 1024); /* the trap, or out of fuel first */
        fused_same(&in, &jit, "chain3", 1, -7, 0, fuel, 1024);
        fused_same(&in, &jit, "split3", 2, 5, 65524, fuel, 1024);
    }
}

/* clang's stack pointer: the prologue `global.get; i32.const; i32.sub;
 * local.tee; global.set` is one GLOBAL_GET_ADD_IMM_SET, the epilogue
 * `local.get; i32.const; i32.add; global.set` one GLOBAL_SET_ADD_IMM, in
 * both tiers, with the stack pointer wrapping below 0 (the frame's store
 * traps after the prologue moved it), deep recursion, another global, and
 * the fuel running out at every point. */
TEST(compile_fused_stack_pointer_moves_are_one_op)
{
    fixture_t in, jit;
    open_both_tiers(&in, &jit, "fused_steps");
    const char *frame = listing(in.module, 4);
    ASSERT_NOT_NULL(strstr(frame, "GLOBAL_GET_ADD_IMM_SET"));
    ASSERT_NOT_NULL(strstr(frame, "GLOBAL_SET_ADD_IMM"));
    ASSERT_NULL(strstr(frame, "GLOBAL_GET "));
    ASSERT_NULL(strstr(frame, "GLOBAL_SET "));
    ASSERT_NOT_NULL(strstr(listing(in.module, 5), "GLOBAL_SET_ADD_IMM")); /* sub of -48 */
    ASSERT_NOT_NULL(strstr(listing(in.module, 6), "GLOBAL_GET_ADD_IMM "));
    const char *copy = listing(in.module, 7);
    ASSERT_NOT_NULL(strstr(copy, "GLOBAL_GET_ADD_IMM "));
    ASSERT_NOT_NULL(strstr(copy, "GLOBAL_SET ")); /* into another global: not fused */
    ASSERT_NOT_NULL(strstr(copy, "GLOBAL_SET_ADD_IMM"));

    fixture_t *fx[2] = {&in, &jit};
    for (int t = 0; t < 2; t++) {
        int32_t r;
        fused_set_sp(fx[t], 1024);
        ASSERT_OK(fused_call(fx[t], "frame", 1, 77, 0, 0, &r));
        ASSERT_EQ_INT(r, 77 + 992);
        ASSERT_EQ_INT(fused_global(fx[t], "sp"), 1024);
        ASSERT_OK(fused_call(fx[t], "rec", 1, 9, 0, 0, &r));
        ASSERT_EQ_INT(r, 1024 - 48 * 10);
        ASSERT_EQ_INT(fused_global(fx[t], "sp"), 1024);
        ASSERT_OK(fused_call(fx[t], "rec", 1, 30, 0, 0, &r)); /* wraps below 0 and back */
        ASSERT_EQ_INT(r, (int32_t)(1024u - 48u * 31u));
        ASSERT_EQ_INT(fused_global(fx[t], "sp"), 1024);
        ASSERT_OK(fused_call(fx[t], "peek", 0, 0, 0, 0, &r));
        ASSERT_EQ_INT(r, 1008);
        ASSERT_OK(fused_call(fx[t], "copy_plus", 1, -1, 0, 0, &r));
        ASSERT_EQ_INT(fused_global(fx[t], "other"), 1124);
        ASSERT_EQ_INT(fused_global(fx[t], "sp"), 0);
        fused_set_sp(fx[t], 16); /* the frame at -16: its store is out of bounds */
        ASSERT_TRAP(fx[t]->store, fused_call(fx[t], "frame", 1, 77, 0, 0, &r), WEFT_TRAP_MEMORY_OOB);
        ASSERT_EQ_INT(fused_global(fx[t], "sp"), -16); /* the prologue ran */
        fused_set_sp(fx[t], 1024);
        ASSERT_EQ_U64(fused_fuel_used(fx[t], "frame", 1, 1, 0), 18);
    }
    for (uint64_t fuel = 1; fuel <= 120; fuel++) {
        fused_same(&in, &jit, "frame", 1, 77, 0, fuel, 1024);
        fused_same(&in, &jit, "frame", 1, 77, 0, fuel, 16);
        fused_same(&in, &jit, "rec", 1, 3, 0, fuel, 1024);
        fused_same(&in, &jit, "copy_plus", 1, 5, 0, fuel, 1024);
    }
}

/* Two loads of one kind in a row are one I32_LOAD2 or I32_LOAD8_U2 (both
 * halves retargeted into locals, a pointer chased, a string compare's
 * loop), in both tiers: the values, a trap in either half (the first's
 * local then written or not), the fuel as the wasm instructions' count
 * (9 for "fields", 3 for "chase") and running out at every point. */
TEST(compile_fused_loads_in_a_row_are_one_op)
{
    fixture_t in, jit;
    open_both_tiers(&in, &jit, "fused_steps");
    all_compiled(&jit); /* the fused ops have templates */
    const char *fields = listing(in.module, 13);
    ASSERT_NOT_NULL(strstr(fields, "I32_LOAD2 "));
    ASSERT_NULL(strstr(fields, "I32_LOAD "));
    ASSERT_NULL(strstr(fields, "COPY")); /* both halves write their local */
    ASSERT_NOT_NULL(strstr(listing(in.module, 14), "I32_LOAD2 "));
    ASSERT_NOT_NULL(strstr(listing(in.module, 15), "I32_LOAD8_U2 "));
    ASSERT_NOT_NULL(strstr(listing(in.module, 16), "I32_LOAD8_U2 "));

    fixture_t *fx[2] = {&in, &jit};
    for (int t = 0; t < 2; t++) {
        int32_t r;
        ASSERT_OK(fused_call(fx[t], "fields", 1, 256, 0, 0, &r));
        ASSERT_EQ_INT(r, 264 - 42);
        ASSERT_OK(fused_call(fx[t], "fields", 1, 264, 0, 0, &r));
        ASSERT_EQ_INT(r, (int32_t)(0x40302010u - 0x7fffffffu));
        ASSERT_TRAP(fx[t]->store, fused_call(fx[t], "fields", 1, 65532, 0, 0, &r), WEFT_TRAP_MEMORY_OOB);
        ASSERT_TRAP(fx[t]->store, fused_call(fx[t], "fields", 1, 65533, 0, 0, &r), WEFT_TRAP_MEMORY_OOB);
        ASSERT_OK(fused_call(fx[t], "chase", 1, 256, 0, 0, &r));
        ASSERT_EQ_INT(r, 0x7fffffff);
        ASSERT_OK(fused_call(fx[t], "chase", 1, 260, 0, 0, &r)); /* 42 + 4: zeroes */
        ASSERT_EQ_INT(r, 0);
        ASSERT_TRAP(fx[t]->store, fused_call(fx[t], "chase", 1, 264, 0, 0, &r), WEFT_TRAP_MEMORY_OOB);
        ASSERT_TRAP(fx[t]->store, fused_call(fx[t], "chase", 1, -4, 0, 0, &r), WEFT_TRAP_MEMORY_OOB);
        ASSERT_OK(fused_call(fx[t], "bytes", 2, 264, 264, 0, &r));
        ASSERT_EQ_INT(r, 0x10 - 0x20);
        ASSERT_OK(fused_call(fx[t], "bytes", 2, 268, 65534, 0, &r)); /* byte 65535 */
        ASSERT_EQ_INT(r, 0xff);
        ASSERT_TRAP(fx[t]->store, fused_call(fx[t], "bytes", 2, 0, 65535, 0, &r), WEFT_TRAP_MEMORY_OOB);
        ASSERT_TRAP(fx[t]->store, fused_call(fx[t], "bytes", 2, 65536, 0, 0, &r), WEFT_TRAP_MEMORY_OOB);
        ASSERT_OK(fused_call(fx[t], "strcmp", 2, 272, 277, 0, &r));
        ASSERT_EQ_INT(r, 'd' - 'e');
        ASSERT_OK(fused_call(fx[t], "strcmp", 2, 272, 282, 0, &r));
        ASSERT_EQ_INT(r, 0);
        ASSERT_OK(fused_call(fx[t], "strcmp", 2, 277, 272, 0, &r));
        ASSERT_EQ_INT(r, 'e' - 'd');
        ASSERT_TRAP(fx[t]->store, fused_call(fx[t], "strcmp", 2, 272, 65536, 0, &r), WEFT_TRAP_MEMORY_OOB);
        ASSERT_EQ_U64(fused_fuel_used(fx[t], "fields", 1, 256, 0), 9);
        ASSERT_EQ_U64(fused_fuel_used(fx[t], "chase", 1, 256, 0), 3);
    }
    for (uint64_t fuel = 1; fuel <= 80; fuel++) {
        fused_same(&in, &jit, "fields", 1, 256, 0, fuel, 1024);
        fused_same(&in, &jit, "fields", 1, 65532, 0, fuel, 1024); /* the second half traps */
        fused_same(&in, &jit, "chase", 1, 264, 0, fuel, 1024);
        fused_same(&in, &jit, "strcmp", 2, 272, 277, fuel, 1024);
        fused_same(&in, &jit, "strcmp", 2, 272, 65536, fuel, 1024); /* the second half traps */
    }
}

/* An i32.add then an add of a constant to its result are one
 * I32_ADD_ADD_IMM (_R when the first reads acc; a load of the sum folds
 * the constant, splitting it again), in both tiers: wrapping sums, the
 * load in bounds and past the end, the fuel as the wasm
 * instructions' count (7 for "index") and running out at every point. */
TEST(compile_fused_add_then_add_of_a_constant_is_one_op)
{
    fixture_t in, jit;
    open_both_tiers(&in, &jit, "fused_steps");
    all_compiled(&jit);
    const char *sum3 = listing(in.module, 17);
    ASSERT_NOT_NULL(strstr(sum3, "I32_ADD_ADD_IMM "));
    ASSERT_NULL(strstr(sum3, "I32_SUB_IMM"));
    ASSERT_NULL(strstr(sum3, "COPY")); /* the second half writes $s */
    ASSERT_NOT_NULL(strstr(listing(in.module, 18), "I32_ADD_ADD_IMM_R"));
    const char *field = listing(in.module, 19);
    ASSERT_NULL(strstr(field, "I32_ADD_ADD_IMM"));
    ASSERT_NOT_NULL(strstr(field, "I32_ADD "));
    ASSERT_NOT_NULL(strstr(field, "I32_LOAD_A"));

    static const int32_t vs[] = {0, 1, -1, 7, INT32_MAX, INT32_MIN, 1000};
    fixture_t *fx[2] = {&in, &jit};
    for (int t = 0; t < 2; t++) {
        int32_t r;
        for (size_t i = 0; i < sizeof vs / sizeof *vs; i++)
            for (size_t k = 0; k < sizeof vs / sizeof *vs; k++) {
                uint32_t a = (uint32_t)vs[i], b = (uint32_t)vs[k];
                ASSERT_OK(fused_call(fx[t], "sum3", 2, vs[i], vs[k], 0, &r));
                ASSERT_EQ_INT(r, (int32_t)((a + b - 7) ^ a));
                ASSERT_OK(fused_call(fx[t], "index", 2, vs[i], vs[k], 0, &r));
                ASSERT_EQ_INT(r, (int32_t)(a + (b << 3) + 4));
            }
        ASSERT_OK(fused_call(fx[t], "field", 2, 250, -2, 0, &r)); /* 256 */
        ASSERT_EQ_INT(r, 264);
        ASSERT_OK(fused_call(fx[t], "field", 2, -8, 260, 0, &r)); /* wraps to 260 */
        ASSERT_EQ_INT(r, 42);
        ASSERT_TRAP(fx[t]->store, fused_call(fx[t], "field", 2, 65528, 1, 0, &r), WEFT_TRAP_MEMORY_OOB);
        ASSERT_EQ_U64(fused_fuel_used(fx[t], "index", 2, 1, 2), 7);
    }
    for (uint64_t fuel = 1; fuel <= 12; fuel++) {
        fused_same(&in, &jit, "sum3", 2, INT32_MAX, 9, fuel, 1024);
        fused_same(&in, &jit, "index", 2, 1000, -3, fuel, 1024);
        fused_same(&in, &jit, "field", 2, 65528, 1, fuel, 1024); /* the trap, or out of fuel first */
    }
}

/* A byte loaded and stored right after is one I32_LOAD8_U_STORE8 (or
 * _A_STORE8 when the load folds an add), in both tiers: the bytes copied,
 * a store past the end after bytes were copied, a load past the end, the
 * fuel as the wasm instructions' count (15 an iteration) and running out
 * at every point. */
TEST(compile_fused_byte_copy_is_one_op)
{
    fixture_t in, jit;
    open_both_tiers(&in, &jit, "fused_steps");
    all_compiled(&jit);
    const char *plain = listing(in.module, 20);
    ASSERT_NOT_NULL(strstr(plain, "I32_LOAD8_U_STORE8"));
    ASSERT_NULL(strstr(plain, "I32_STORE8 "));
    const char *folded = listing(in.module, 21);
    ASSERT_NOT_NULL(strstr(folded, "I32_LOAD8_U_A_STORE8"));
    ASSERT_NULL(strstr(folded, "I32_STORE8 "));

    fixture_t *fx[2] = {&in, &jit};
    for (int t = 0; t < 2; t++) {
        int32_t r;
        ASSERT_OK(fused_call(fx[t], "bytecopy", 2, 2000, 3, 0, &r));
        ASSERT_EQ_INT(r, 0x00636261); /* "abc", then a byte never written */
        ASSERT_OK(fused_call(fx[t], "bytecopy_a", 2, 3000, 5, 0, &r));
        ASSERT_EQ_INT(r, 0x64636261);
        ASSERT_OK(fused_call(fx[t], "bytecopy", 2, 4000, 0, 0, &r));
        ASSERT_EQ_INT(r, 0);
        ASSERT_EQ_U64(fused_fuel_used(fx[t], "bytecopy", 2, 5000, 2) - fused_fuel_used(fx[t], "bytecopy", 2, 5000, 1),
                      15);
        /* the store of byte 1 is past the end, after byte 0 was copied */
        ASSERT_TRAP(fx[t]->store, fused_call(fx[t], "bytecopy", 2, 65534, 2, 0, &r), WEFT_TRAP_MEMORY_OOB);
        ASSERT_OK(fused_call(fx[t], "bytecopy", 2, 65531, 1, 0, &r));
        ASSERT_EQ_INT(r, 0x61000061); /* bytes 65532 ('a'), 65533-65534, 65535 ('a') */
        /* the load of byte 65264 + 272 is past the end first */
        ASSERT_TRAP(fx[t]->store, fused_call(fx[t], "bytecopy_a", 2, 0, 70000, 10000000, &r), WEFT_TRAP_MEMORY_OOB);
    }
    for (uint64_t fuel = 1; fuel <= 80; fuel++) {
        fused_same(&in, &jit, "bytecopy", 2, 6000, 4, fuel, 1024);
        fused_same(&in, &jit, "bytecopy_a", 2, 6000, 4, fuel, 1024);
        fused_same(&in, &jit, "bytecopy", 2, 65533, 4, fuel, 1024); /* the third store traps */
    }
}

/* Calls `name` of store_const.wat with i32 arguments under `fuel` (0:
 * off); returns the code, the result (if any) in *out. */
static int kstore_call(fixture_t *fx, const char *name, int32_t x, int32_t y, uint64_t fuel, int32_t *out)
{
    weft_val_t a[2] = {weft_val_i32(x), weft_val_i32(y)}, res = {0};
    weft_func_t *f = fx_func(fx, name);
    const weft_functype_t *ft = weft_func_type(f);
    weft_store_set_fuel(fx->store, fuel ? fuel : UINT64_MAX);
    int rc = weft_func_call(fx->store, f, a, weft_functype_nparams(ft), &res, weft_functype_nresults(ft));
    *out = res.of.i32;
    return rc;
}

static void kstore_bytes(fixture_t *fx, uint64_t at, const char *want_hex)
{
    uint8_t got[16];
    size_t n = strlen(want_hex) / 2;
    ASSERT_OK(weft_memory_read(fx_memory(fx, "memory"), at, got, n));
    for (size_t i = 0; i < n; i++) {
        unsigned w;
        sscanf(want_hex + 2 * i, "%2x", &w);
        if (got[i] != w) FAIL("byte %llu: 0x%02x, expected 0x%02x", (unsigned long long)(at + i), got[i], w);
    }
}

/* Stores of a constant value carry it in the instruction (_K, _AK, _XK):
 * every width, float bits kept exactly (a signalling NaN, -0), the three
 * address forms with their wrapping, out of bounds by one byte writing
 * nothing, a loop trapping in its middle, and the fuel (the wasm
 * instructions' count, unchanged) running out at every point, in both
 * tiers alike. */
TEST(compile_store_of_a_constant_carries_the_value)
{
    fixture_t in, jit;
    open_both_tiers(&in, &jit, "store_const");
    all_compiled(&jit); /* the fused ops have templates */
    static const char *const forms[] = {"I32_STORE8_K ", "I32_STORE16_AK", "I32_STORE_XK", "I64_STORE_K ",
                                        "I64_STORE32_K", "F32_STORE_K", "F64_STORE_K", "I32_STORE8_XK"};
    for (uint32_t f = 0; f < 8; f++) {
        const char *text = listing(in.module, f);
        if (!strstr(text, forms[f])) FAIL("function %u has no %s:\n%s", f, forms[f], text);
        if (strstr(text, "CONST")) FAIL("function %u still has a CONST:\n%s", f, text);
    }
    /* call fn(x, y), then the bytes from `at` are these */
    static const struct {
        const char *fn;
        int32_t x, y;
        uint64_t at;
        const char *bytes;
    } kcases[] = {
        {"k8", 10, 0, 10, "00ff00"},
        {"k16a", 20, 0, 29, "00feff00"},
        {"k32x", 30, 10, 43, "007856341200"},
        {"k64", 48, 0, 48, "efcdab8967452301"},
        {"k64_32", 56, 0, 56, "8877665500"},
        {"kf32", 64, 0, 64, "0100a07f"},
        {"kf64", 72, 0, 72, "0000000000000080"},
        /* the last bytes in bounds, and the folded adds wrapping */
        {"k8", 65534, 0, 65535, "ff"},
        {"k16a", 65524, 0, 65534, "feff"},
        {"k16a", -8, 0, 2, "feff"}, /* (-8 + 8) + 2 */
        {"k32x", -10, 10, 4, "78563412"},
    };
    fixture_t *fx[2] = {&in, &jit};
    static uint8_t before[65536], after[65536];
    for (int t = 0; t < 2; t++) {
        int32_t r;
        for (size_t i = 0; i < sizeof kcases / sizeof *kcases; i++) {
            ASSERT_OK(kstore_call(fx[t], kcases[i].fn, kcases[i].x, kcases[i].y, 0, &r));
            kstore_bytes(fx[t], kcases[i].at, kcases[i].bytes);
        }
        /* one byte past the end: a trap, nothing written */
        weft_memory_t *mem = fx_memory(fx[t], "memory");
        ASSERT_OK(weft_memory_read(mem, 0, before, sizeof before));
        ASSERT_TRAP(fx[t]->store, kstore_call(fx[t], "k8", 65535, 0, 0, &r), WEFT_TRAP_MEMORY_OOB);
        ASSERT_TRAP(fx[t]->store, kstore_call(fx[t], "k16a", 65525, 0, 0, &r), WEFT_TRAP_MEMORY_OOB);
        ASSERT_TRAP(fx[t]->store, kstore_call(fx[t], "k32x", 65530, 2, 0, &r), WEFT_TRAP_MEMORY_OOB);
        ASSERT_TRAP(fx[t]->store, kstore_call(fx[t], "k64", 65529, 0, 0, &r), WEFT_TRAP_MEMORY_OOB);
        ASSERT_TRAP(fx[t]->store, kstore_call(fx[t], "k64", -1, 0, 0, &r), WEFT_TRAP_MEMORY_OOB);
        ASSERT_OK(weft_memory_read(mem, 0, after, sizeof after));
        ASSERT_EQ_INT(memcmp(before, after, sizeof before), 0);
        /* sieve's loop: 14 instructions an iteration; the trap at i = 6 */
        ASSERT_OK(kstore_call(fx[t], "fill", 100, 50, 0, &r));
        ASSERT_EQ_INT(r, 50);
        kstore_bytes(fx[t], 99, "000101");
        kstore_bytes(fx[t], 148, "010100");
        ASSERT_OK(kstore_call(fx[t], "fill", 200, 3, 1000, &r));
        ASSERT_EQ_U64(1000 - weft_store_fuel(fx[t]->store), 14 * 3 + 5);
        ASSERT_TRAP(fx[t]->store, kstore_call(fx[t], "fill", 65530, 10, 0, &r), WEFT_TRAP_MEMORY_OOB);
    }
    for (uint64_t fuel = 1; fuel <= 120; fuel++) {
        static const uint8_t zero[16];
        uint8_t tail[2][16];
        int rc[2];
        int32_t r[2];
        for (int t = 0; t < 2; t++) {
            ASSERT_OK(weft_memory_write(fx_memory(fx[t], "memory"), 65520, zero, 16));
            rc[t] = kstore_call(fx[t], "fill", 65530, 10, fuel, &r[t]);
            ASSERT_OK(weft_memory_read(fx_memory(fx[t], "memory"), 65520, tail[t], 16));
        }
        ASSERT_EQ_INT(rc[1], rc[0]);
        ASSERT_EQ_U64(weft_store_fuel(jit.store), weft_store_fuel(in.store));
        if (rc[0]) h_same_trap(in.store, jit.store); /* out of fuel, or out of bounds at i = 6 */
        ASSERT_EQ_INT(memcmp(tail[0], tail[1], 16), 0);
    }
}

/* One result returned from a local or a deeper slot is one RETURN_COPY
 * (a COPY into slot 0 and a RETURN before): at the end, inside a loop
 * whose locals the compiled tier keeps in registers, float bits exactly,
 * an i64, a br_if to the function's label; both tiers, the fuel running
 * out at every point. */
TEST(compile_return_of_a_local_is_one_op)
{
    fixture_t in, jit;
    open_both_tiers(&in, &jit, "fused_steps");
    all_compiled(&jit); /* the fused ops have templates */
    for (uint32_t f = 8; f <= 12; f++) {
        const char *text = listing(in.module, f);
        if (!strstr(text, "RETURN_COPY")) FAIL("function %u has no RETURN_COPY:\n%s", f, text);
    }
    fixture_t *fx[2] = {&in, &jit};
    for (int t = 0; t < 2; t++) {
        int32_t r;
        ASSERT_OK(fused_call(fx[t], "ret_param", 2, 3, -9, 0, &r));
        ASSERT_EQ_INT(r, -9);
        ASSERT_OK(fused_call(fx[t], "ret_loop", 1, 5, 0, 0, &r));
        ASSERT_EQ_INT(r, 0 + 1 + 4 + 9 + 16);
        ASSERT_OK(fused_call(fx[t], "ret_br", 2, 1, 11, 0, &r)); /* b when a is non-zero */
        ASSERT_EQ_INT(r, 11);
        ASSERT_OK(fused_call(fx[t], "ret_br", 2, 0, 11, 0, &r));
        ASSERT_EQ_INT(r, 7);
        weft_val_t x = {.type = WEFT_F32, .of.i32 = 0x7fa00001}, res; /* a signalling NaN */
        ASSERT_OK(weft_func_call(fx[t]->store, fx_func(fx[t], "ret_f32"), &x, 1, &res, 1));
        ASSERT_EQ_U64((uint32_t)res.of.i32, 0x7fa00001u);
        x = weft_val_i64(INT64_MAX);
        ASSERT_OK(weft_func_call(fx[t]->store, fx_func(fx[t], "ret_i64"), &x, 1, &res, 1));
        ASSERT_EQ_U64((uint64_t)res.of.i64, (uint64_t)INT64_MIN);
    }
    for (uint64_t fuel = 1; fuel <= 120; fuel++) {
        fused_same(&in, &jit, "ret_loop", 1, 6, 0, fuel, 1024);
        fused_same(&in, &jit, "ret_br", 2, 1, 11, fuel, 1024);
        fused_same(&in, &jit, "ret_param", 2, 11, 1, fuel, 1024);
    }
}

/* A call reads its callee's code, jit, zero_mask, nparams, nlocals,
 * frame_slots and zero_from: one cache line of funcdef_t whatever the
 * function's index (SQLite's calls missed on two), and a return reads the
 * caller's instance from its frame_t, not through the weft_func_t. */
TEST(compile_call_reads_one_cache_line_of_its_callee)
{
    ASSERT_EQ_U64(_Alignof(funcdef_t), 64);
    ASSERT_EQ_U64(sizeof(funcdef_t) % 64, 0);
    size_t hot_end[] = {offsetof(funcdef_t, code) + sizeof(cell_t *),
                        offsetof(funcdef_t, jit) + sizeof(void *),
                        offsetof(funcdef_t, zero_mask) + sizeof(uint64_t),
                        offsetof(funcdef_t, nparams) + sizeof(uint32_t),
                        offsetof(funcdef_t, nlocals) + sizeof(uint32_t),
                        offsetof(funcdef_t, frame_slots) + sizeof(uint32_t),
                        offsetof(funcdef_t, zero_from) + sizeof(uint32_t)};
    for (size_t i = 0; i < sizeof hot_end / sizeof *hot_end; i++)
        if (hot_end[i] > 64) FAIL("field %zu of a call's reads ends at byte %zu", i, hot_end[i]);
    fixture_t fx;
    fx_load(&fx, "fused_steps");
    if (fx.module->nfuncs - fx.module->nfunc_imports < 8) FAIL("fused_steps has few functions");
    ASSERT_EQ_U64((uintptr_t)fx.module->funcs % 64, 0);
    int32_t r;
    ASSERT_OK(fused_call(&fx, "ret_loop", 1, 5, 0, 0, &r)); /* calls and returns */
    ASSERT_EQ_INT(r, 0 + 1 + 4 + 9 + 16);
}
