/*
 * num.h — WebAssembly numeric semantics that C does not give directly:
 * trapping division and float-to-int truncation, saturating truncation,
 * and min/max with the spec's NaN and signed-zero rules. Included by
 * interp.c and simd.c (the float lanes); everything is static inline.
 */
#ifndef WEFT_ENGINE_NUM_H
#define WEFT_ENGINE_NUM_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "weft/store.h"

static inline int num_i32_div_s(int32_t a, int32_t b, int32_t *r)
{
    if (b == 0) return WEFT_TRAP_DIV_ZERO;
    if (a == INT32_MIN && b == -1) return WEFT_TRAP_INT_OVERFLOW;
    *r = a / b;
    return 0;
}
static inline int num_i32_div_u(uint32_t a, uint32_t b, uint32_t *r)
{
    if (b == 0) return WEFT_TRAP_DIV_ZERO;
    *r = a / b;
    return 0;
}
static inline int num_i32_rem_s(int32_t a, int32_t b, int32_t *r)
{
    if (b == 0) return WEFT_TRAP_DIV_ZERO;
    *r = (b == -1) ? 0 : a % b;
    return 0;
}
static inline int num_i32_rem_u(uint32_t a, uint32_t b, uint32_t *r)
{
    if (b == 0) return WEFT_TRAP_DIV_ZERO;
    *r = a % b;
    return 0;
}
static inline int num_i64_div_s(int64_t a, int64_t b, int64_t *r)
{
    if (b == 0) return WEFT_TRAP_DIV_ZERO;
    if (a == INT64_MIN && b == -1) return WEFT_TRAP_INT_OVERFLOW;
    *r = a / b;
    return 0;
}
static inline int num_i64_div_u(uint64_t a, uint64_t b, uint64_t *r)
{
    if (b == 0) return WEFT_TRAP_DIV_ZERO;
    *r = a / b;
    return 0;
}
static inline int num_i64_rem_s(int64_t a, int64_t b, int64_t *r)
{
    if (b == 0) return WEFT_TRAP_DIV_ZERO;
    *r = (b == -1) ? 0 : a % b;
    return 0;
}
static inline int num_i64_rem_u(uint64_t a, uint64_t b, uint64_t *r)
{
    if (b == 0) return WEFT_TRAP_DIV_ZERO;
    *r = a % b;
    return 0;
}

/* Trapping truncation: NaN is an invalid conversion, anything outside the
 * target range (after truncation toward zero) is an overflow. The bounds are
 * exact powers of two, representable in both float types. */
#define TRUNC_FN(name, ftype, itype, lo_excl, hi_excl)                        \
    static inline int name(ftype a, itype *r)                                 \
    {                                                                         \
        if (isnan(a)) return WEFT_TRAP_INVALID_CONVERSION;                    \
        if (!(a > (ftype)(lo_excl) && a < (ftype)(hi_excl)))                  \
            return WEFT_TRAP_INT_OVERFLOW;                                    \
        *r = (itype)a;                                                        \
        return 0;                                                             \
    }
/* For signed targets the lower bound is -2^N - 1 exclusive; in f32 that is
 * not representable, so compare with >= -2^N instead (see below). */
static inline int num_i32_trunc_f32_s(float a, int32_t *r)
{
    if (isnan(a)) return WEFT_TRAP_INVALID_CONVERSION;
    if (!(a >= -2147483648.0f && a < 2147483648.0f)) return WEFT_TRAP_INT_OVERFLOW;
    *r = (int32_t)a;
    return 0;
}
TRUNC_FN(num_i32_trunc_f32_u, float, uint32_t, -1.0f, 4294967296.0f)
TRUNC_FN(num_i32_trunc_f64_s, double, int32_t, -2147483649.0, 2147483648.0)
TRUNC_FN(num_i32_trunc_f64_u, double, uint32_t, -1.0, 4294967296.0)
static inline int num_i64_trunc_f32_s(float a, int64_t *r)
{
    if (isnan(a)) return WEFT_TRAP_INVALID_CONVERSION;
    if (!(a >= -9223372036854775808.0f && a < 9223372036854775808.0f))
        return WEFT_TRAP_INT_OVERFLOW;
    *r = (int64_t)a;
    return 0;
}
TRUNC_FN(num_i64_trunc_f32_u, float, uint64_t, -1.0f, 18446744073709551616.0f)
static inline int num_i64_trunc_f64_s(double a, int64_t *r)
{
    if (isnan(a)) return WEFT_TRAP_INVALID_CONVERSION;
    if (!(a >= -9223372036854775808.0 && a < 9223372036854775808.0))
        return WEFT_TRAP_INT_OVERFLOW;
    *r = (int64_t)a;
    return 0;
}
TRUNC_FN(num_i64_trunc_f64_u, double, uint64_t, -1.0, 18446744073709551616.0)
#undef TRUNC_FN

/* Saturating truncation: NaN → 0, out of range → the nearest bound. */
#define SAT_FN(name, ftype, itype, lo, hi, lo_ok, hi_ok)                      \
    static inline itype name(ftype a)                                         \
    {                                                                         \
        if (isnan(a)) return 0;                                               \
        if (!(lo_ok)) return lo;                                              \
        if (!(hi_ok)) return hi;                                              \
        return (itype)a;                                                      \
    }
SAT_FN(num_sat_i32_f32_s, float, int32_t, INT32_MIN, INT32_MAX, a >= -2147483648.0f, a < 2147483648.0f)
SAT_FN(num_sat_i32_f32_u, float, uint32_t, 0, UINT32_MAX, a > -1.0f, a < 4294967296.0f)
SAT_FN(num_sat_i32_f64_s, double, int32_t, INT32_MIN, INT32_MAX, a > -2147483649.0, a < 2147483648.0)
SAT_FN(num_sat_i32_f64_u, double, uint32_t, 0, UINT32_MAX, a > -1.0, a < 4294967296.0)
SAT_FN(num_sat_i64_f32_s, float, int64_t, INT64_MIN, INT64_MAX, a >= -9223372036854775808.0f, a < 9223372036854775808.0f)
SAT_FN(num_sat_i64_f32_u, float, uint64_t, 0, UINT64_MAX, a > -1.0f, a < 18446744073709551616.0f)
SAT_FN(num_sat_i64_f64_s, double, int64_t, INT64_MIN, INT64_MAX, a >= -9223372036854775808.0, a < 9223372036854775808.0)
SAT_FN(num_sat_i64_f64_u, double, uint64_t, 0, UINT64_MAX, a > -1.0, a < 18446744073709551616.0)
#undef SAT_FN

/* min/max: a NaN operand gives a NaN: the first NaN operand, quieted,
 * picked with bit operations (as SSE's addsd picks its first operand).
 * Not a + b: a C compiler may swap the operands of + in one inlined copy
 * and not in another, and the interpreter's handler and the compiled
 * tier's helper then gave two NaNs for two NaN operands (fuzz_tiers,
 * gen_modules seed 23 module 413;
 * unit.jit_nan_operands_give_the_same_bits_in_both_tiers).
 * -0 < +0. */
static inline float num_f32_nan2(float a, float b)
{
    uint32_t u;
    float r;
    memcpy(&u, isnan(a) ? &a : &b, sizeof u);
    u |= 0x00400000u;
    memcpy(&r, &u, sizeof r);
    return r;
}
static inline double num_f64_nan2(double a, double b)
{
    uint64_t u;
    double r;
    memcpy(&u, isnan(a) ? &a : &b, sizeof u);
    u |= 0x0008000000000000ull;
    memcpy(&r, &u, sizeof r);
    return r;
}
static inline float num_f32_min(float a, float b)
{
    if (isnan(a) || isnan(b)) return num_f32_nan2(a, b);
    if (a == b) return signbit(a) ? a : b;
    return a < b ? a : b;
}
static inline float num_f32_max(float a, float b)
{
    if (isnan(a) || isnan(b)) return num_f32_nan2(a, b);
    if (a == b) return signbit(a) ? b : a;
    return a > b ? a : b;
}
static inline double num_f64_min(double a, double b)
{
    if (isnan(a) || isnan(b)) return num_f64_nan2(a, b);
    if (a == b) return signbit(a) ? a : b;
    return a < b ? a : b;
}
static inline double num_f64_max(double a, double b)
{
    if (isnan(a) || isnan(b)) return num_f64_nan2(a, b);
    if (a == b) return signbit(a) ? b : a;
    return a > b ? a : b;
}

#endif
