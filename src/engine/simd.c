/*
 * simd.c — the lane semantics of every 128-bit SIMD instruction of
 * WebAssembly 2.0, and the table validate.c compiles them from.
 *
 * Each instruction is a small function over the lanes of v128_t, written as
 * plain C loops that gcc -O2 turns into SSE2 where it can (x86-64's
 * baseline); a few get a twin compiled for SSE4.1 that simd_lane_fn hands
 * out on a CPU that has it. interp.c reaches them through a function
 * pointer in the instruction (the hot instructions have inline SSE2
 * handlers of their own, simd_sse.h, and keep theirs for the dumper and
 * for other architectures). Float lanes follow
 * the scalar rules of num.h: NaN results come from the hardware (quiet),
 * min/max give NaN for a NaN operand and order -0 below +0.
 */
#include <math.h>
#include <string.h>

#include "num.h"
#include "simd.h"

#define NLANES(r, f) (sizeof (r).f / sizeof (r).f[0])

/* r.fo[i] = expr of a = x->fi[i] (and b = y->fi[i]) for every lane. */
#define UNF(name, fi, fo, expr)                                               \
    static void name(v128_t *d, const v128_t *x, const v128_t *y, const v128_t *z, uint32_t k) \
    {                                                                         \
        (void)y, (void)z, (void)k;                                            \
        v128_t r;                                                             \
        for (unsigned i = 0; i < NLANES(r, fo); i++) {                        \
            __typeof__(x->fi[0]) a = x->fi[i];                                \
            r.fo[i] = (expr);                                                 \
        }                                                                     \
        *d = r;                                                               \
    }
#define BINF(name, fi, fo, expr)                                              \
    static void name(v128_t *d, const v128_t *x, const v128_t *y, const v128_t *z, uint32_t k) \
    {                                                                         \
        (void)z, (void)k;                                                     \
        v128_t r;                                                             \
        for (unsigned i = 0; i < NLANES(r, fo); i++) {                        \
            __typeof__(x->fi[0]) a = x->fi[i], b = y->fi[i];                  \
            r.fo[i] = (expr);                                                 \
        }                                                                     \
        *d = r;                                                               \
    }
/* Shifts take the count modulo the lane width. */
#define SHIFTF(name, f, expr)                                                 \
    static void name(v128_t *d, const v128_t *x, const v128_t *y, const v128_t *z, uint32_t k) \
    {                                                                         \
        (void)y, (void)z;                                                     \
        v128_t r;                                                             \
        unsigned b = k & (sizeof x->f[0] * 8 - 1);                            \
        for (unsigned i = 0; i < NLANES(r, f); i++) {                         \
            __typeof__(x->f[0]) a = x->f[i];                                  \
            r.f[i] = (__typeof__(r.f[0]))(expr);                              \
        }                                                                     \
        *d = r;                                                               \
    }

static inline int sat(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---- bitwise ------------------------------------------------------------- */

UNF(v_not, u64, u64, ~a)
BINF(v_and, u64, u64, a & b)
BINF(v_andnot, u64, u64, a & ~b)
BINF(v_or, u64, u64, a | b)
BINF(v_xor, u64, u64, a ^ b)
static void v_bitselect(v128_t *d, const v128_t *x, const v128_t *y, const v128_t *z, uint32_t k)
{
    (void)k;
    v128_t r;
    for (unsigned i = 0; i < 2; i++) r.u64[i] = (x->u64[i] & z->u64[i]) | (y->u64[i] & ~z->u64[i]);
    *d = r;
}

/* ---- integer lanes ------------------------------------------------------- */

/* comparisons: all ones or zero (-(int)cond converts to all ones) */
#define CMPS(p, s, u)                                                         \
    BINF(p##_eq, u, u, -(a == b)) BINF(p##_ne, u, u, -(a != b))               \
    BINF(p##_lt_s, s, u, -(a < b)) BINF(p##_lt_u, u, u, -(a < b))             \
    BINF(p##_gt_s, s, u, -(a > b)) BINF(p##_gt_u, u, u, -(a > b))             \
    BINF(p##_le_s, s, u, -(a <= b)) BINF(p##_le_u, u, u, -(a <= b))           \
    BINF(p##_ge_s, s, u, -(a >= b)) BINF(p##_ge_u, u, u, -(a >= b))
CMPS(i8, s8, u8)
CMPS(i16, s16, u16)
CMPS(i32, s32, u32)
BINF(i64_eq, u64, u64, -(a == b))
BINF(i64_ne, u64, u64, -(a != b))
BINF(i64_lt_s, s64, u64, -(a < b))
BINF(i64_gt_s, s64, u64, -(a > b))
BINF(i64_le_s, s64, u64, -(a <= b))
BINF(i64_ge_s, s64, u64, -(a >= b))

/* arithmetic wraps: computed on the unsigned view */
#define ARITH(p, s, u, ut)                                                    \
    UNF(p##_abs, s, u, a < 0 ? (ut)(0u - (ut)a) : (ut)a)                      \
    UNF(p##_neg, u, u, (ut)(0u - a))                                          \
    BINF(p##_add, u, u, (ut)(a + b)) BINF(p##_sub, u, u, (ut)(a - b))         \
    SHIFTF(p##_shl, u, a << b) SHIFTF(p##_shr_s, s, a >> b) SHIFTF(p##_shr_u, u, a >> b)
ARITH(i8, s8, u8, uint8_t)
ARITH(i16, s16, u16, uint16_t)
ARITH(i32, s32, u32, uint32_t)
ARITH(i64, s64, u64, uint64_t)
BINF(i16_mul, u16, u16, (uint16_t)((uint32_t)a * b))
BINF(i32_mul, u32, u32, a * b)
BINF(i64_mul, u64, u64, a * b)

#define MINMAX(p, s, u)                                                       \
    BINF(p##_min_s, s, s, a < b ? a : b) BINF(p##_min_u, u, u, a < b ? a : b) \
    BINF(p##_max_s, s, s, a > b ? a : b) BINF(p##_max_u, u, u, a > b ? a : b)
MINMAX(i8, s8, u8)
MINMAX(i16, s16, u16)
MINMAX(i32, s32, u32)

BINF(i8_add_sat_s, s8, s8, (int8_t)sat(a + b, INT8_MIN, INT8_MAX))
BINF(i8_add_sat_u, u8, u8, (uint8_t)sat(a + b, 0, UINT8_MAX))
BINF(i8_sub_sat_s, s8, s8, (int8_t)sat(a - b, INT8_MIN, INT8_MAX))
BINF(i8_sub_sat_u, u8, u8, (uint8_t)sat(a - b, 0, UINT8_MAX))
BINF(i16_add_sat_s, s16, s16, (int16_t)sat(a + b, INT16_MIN, INT16_MAX))
BINF(i16_add_sat_u, u16, u16, (uint16_t)sat(a + b, 0, UINT16_MAX))
BINF(i16_sub_sat_s, s16, s16, (int16_t)sat(a - b, INT16_MIN, INT16_MAX))
BINF(i16_sub_sat_u, u16, u16, (uint16_t)sat(a - b, 0, UINT16_MAX))
BINF(i8_avgr_u, u8, u8, (uint8_t)((a + b + 1) >> 1))
BINF(i16_avgr_u, u16, u16, (uint16_t)((a + b + 1) >> 1))
BINF(i16_q15mulr_sat_s, s16, s16, (int16_t)sat((a * b + 0x4000) >> 15, INT16_MIN, INT16_MAX))
UNF(i8_popcnt, u8, u8, (uint8_t)__builtin_popcount(a))

static void i8_swizzle(v128_t *d, const v128_t *x, const v128_t *y, const v128_t *z, uint32_t k)
{
    (void)z, (void)k;
    v128_t r;
    for (unsigned i = 0; i < 16; i++) r.u8[i] = y->u8[i] < 16 ? x->u8[y->u8[i]] : 0;
    *d = r;
}

/* narrowing: a's lanes then b's, each saturated to the narrower type */
#define NARROW(name, fi, fo, n, lo, hi)                                       \
    static void name(v128_t *d, const v128_t *x, const v128_t *y, const v128_t *z, uint32_t k) \
    {                                                                         \
        (void)z, (void)k;                                                     \
        v128_t r;                                                             \
        for (unsigned i = 0; i < n; i++) {                                    \
            r.fo[i] = (__typeof__(r.fo[0]))sat(x->fi[i], lo, hi);             \
            r.fo[n + i] = (__typeof__(r.fo[0]))sat(y->fi[i], lo, hi);         \
        }                                                                     \
        *d = r;                                                               \
    }
NARROW(i8_narrow_s, s16, s8, 8, INT8_MIN, INT8_MAX)
NARROW(i8_narrow_u, s16, u8, 8, 0, UINT8_MAX)
NARROW(i16_narrow_s, s32, s16, 4, INT16_MIN, INT16_MAX)
NARROW(i16_narrow_u, s32, u16, 4, 0, UINT16_MAX)

/* widening: the low or high half of the lanes, sign- or zero-extended */
#define EXTEND(name, fi, fo, half)                                            \
    static void name(v128_t *d, const v128_t *x, const v128_t *y, const v128_t *z, uint32_t k) \
    {                                                                         \
        (void)y, (void)z, (void)k;                                            \
        v128_t r;                                                             \
        for (unsigned i = 0; i < NLANES(r, fo); i++) r.fo[i] = x->fi[i + (half) * NLANES(r, fo)]; \
        *d = r;                                                               \
    }
#define EXTENDS(p, ss, su, ds, du)                                            \
    EXTEND(p##_extend_low_s, ss, ds, 0) EXTEND(p##_extend_high_s, ss, ds, 1)  \
    EXTEND(p##_extend_low_u, su, du, 0) EXTEND(p##_extend_high_u, su, du, 1)
EXTENDS(i16, s8, u8, s16, u16)
EXTENDS(i32, s16, u16, s32, u32)
EXTENDS(i64, s32, u32, s64, u64)

/* extended multiply: the wide product of the low or high halves */
#define EXTMUL(name, fi, fo, wide, half)                                      \
    static void name(v128_t *d, const v128_t *x, const v128_t *y, const v128_t *z, uint32_t k) \
    {                                                                         \
        (void)z, (void)k;                                                     \
        v128_t r;                                                             \
        for (unsigned i = 0; i < NLANES(r, fo); i++) {                        \
            unsigned j = i + (half) * NLANES(r, fo);                          \
            r.fo[i] = (__typeof__(r.fo[0]))((wide)x->fi[j] * (wide)y->fi[j]); \
        }                                                                     \
        *d = r;                                                               \
    }
#define EXTMULS(p, ss, su, ds, du, ws, wu)                                    \
    EXTMUL(p##_extmul_low_s, ss, ds, ws, 0) EXTMUL(p##_extmul_high_s, ss, ds, ws, 1) \
    EXTMUL(p##_extmul_low_u, su, du, wu, 0) EXTMUL(p##_extmul_high_u, su, du, wu, 1)
EXTMULS(i16, s8, u8, s16, u16, int32_t, uint32_t)
EXTMULS(i32, s16, u16, s32, u32, int64_t, uint64_t)
EXTMULS(i64, s32, u32, s64, u64, int64_t, uint64_t)

/* pairwise add: lanes 2i and 2i+1, widened */
#define EXTADD(name, fi, fo)                                                  \
    static void name(v128_t *d, const v128_t *x, const v128_t *y, const v128_t *z, uint32_t k) \
    {                                                                         \
        (void)y, (void)z, (void)k;                                            \
        v128_t r;                                                             \
        for (unsigned i = 0; i < NLANES(r, fo); i++)                          \
            r.fo[i] = (__typeof__(r.fo[0]))((int64_t)x->fi[2 * i] + x->fi[2 * i + 1]); \
        *d = r;                                                               \
    }
EXTADD(i16_extadd_s, s8, s16)
EXTADD(i16_extadd_u, u8, u16)
EXTADD(i32_extadd_s, s16, s32)
EXTADD(i32_extadd_u, u16, u32)

/* dot: the sum of two i16 products wraps only for 4 * (-32768)^2 / 2 */
static void i32_dot_i16(v128_t *d, const v128_t *x, const v128_t *y, const v128_t *z, uint32_t k)
{
    (void)z, (void)k;
    v128_t r;
    for (unsigned i = 0; i < 4; i++)
        r.u32[i] = (uint32_t)((int64_t)x->s16[2 * i] * y->s16[2 * i] +
                              (int64_t)x->s16[2 * i + 1] * y->s16[2 * i + 1]);
    *d = r;
}

/* ---- float lanes ----------------------------------------------------------- */

/* abs, neg work on the bits so NaN payloads survive, as for scalars */
UNF(f32_abs, u32, u32, a & 0x7fffffffu)
UNF(f32_neg, u32, u32, a ^ 0x80000000u)
UNF(f64_abs, u64, u64, a & 0x7fffffffffffffffull)
UNF(f64_neg, u64, u64, a ^ 0x8000000000000000ull)
UNF(f32_sqrt, f32, f32, sqrtf(a))
UNF(f64_sqrt, f64, f64, sqrt(a))
UNF(f32_ceil, f32, f32, isnan(a) ? a + a : ceilf(a))
UNF(f32_floor, f32, f32, isnan(a) ? a + a : floorf(a))
UNF(f32_trunc, f32, f32, isnan(a) ? a + a : truncf(a))
UNF(f32_nearest, f32, f32, nearbyintf(a))
UNF(f64_ceil, f64, f64, isnan(a) ? a + a : ceil(a))
UNF(f64_floor, f64, f64, isnan(a) ? a + a : floor(a))
UNF(f64_trunc, f64, f64, isnan(a) ? a + a : trunc(a))
UNF(f64_nearest, f64, f64, nearbyint(a))
#define FARITH(p, f)                                                          \
    BINF(p##_add, f, f, a + b) BINF(p##_sub, f, f, a - b)                     \
    BINF(p##_mul, f, f, a * b) BINF(p##_div, f, f, a / b)                     \
    BINF(p##_min, f, f, num_##p##_min(a, b)) BINF(p##_max, f, f, num_##p##_max(a, b)) \
    BINF(p##_pmin, f, f, b < a ? b : a) BINF(p##_pmax, f, f, a < b ? b : a)
FARITH(f32, f32)
FARITH(f64, f64)
#define FCMP(p, f, u)                                                         \
    BINF(p##_eq, f, u, -(a == b)) BINF(p##_ne, f, u, -(a != b))               \
    BINF(p##_lt, f, u, -(a < b)) BINF(p##_gt, f, u, -(a > b))                 \
    BINF(p##_le, f, u, -(a <= b)) BINF(p##_ge, f, u, -(a >= b))
FCMP(f32, f32, u32)
FCMP(f64, f64, u64)

/* conversions */
UNF(i32_trunc_sat_f32_s, f32, s32, num_sat_i32_f32_s(a))
UNF(i32_trunc_sat_f32_u, f32, u32, num_sat_i32_f32_u(a))
UNF(f32_convert_s, s32, f32, (float)a)
UNF(f32_convert_u, u32, f32, (float)a)
static void i32_trunc_sat_f64_s_zero(v128_t *d, const v128_t *x, const v128_t *y, const v128_t *z, uint32_t k)
{
    (void)y, (void)z, (void)k;
    v128_t r = {{0}};
    for (unsigned i = 0; i < 2; i++) r.s32[i] = num_sat_i32_f64_s(x->f64[i]);
    *d = r;
}
static void i32_trunc_sat_f64_u_zero(v128_t *d, const v128_t *x, const v128_t *y, const v128_t *z, uint32_t k)
{
    (void)y, (void)z, (void)k;
    v128_t r = {{0}};
    for (unsigned i = 0; i < 2; i++) r.u32[i] = num_sat_i32_f64_u(x->f64[i]);
    *d = r;
}
EXTEND(f64_convert_low_s, s32, f64, 0)
EXTEND(f64_convert_low_u, u32, f64, 0)
EXTEND(f64_promote_low, f32, f64, 0)
static void f32_demote_zero(v128_t *d, const v128_t *x, const v128_t *y, const v128_t *z, uint32_t k)
{
    (void)y, (void)z, (void)k;
    v128_t r = {{0}};
    for (unsigned i = 0; i < 2; i++) r.f32[i] = (float)x->f64[i];
    *d = r;
}

/* ---- tests: v128 → i32 ----------------------------------------------------- */

static uint64_t any_true(const v128_t *a, uint32_t lane)
{
    (void)lane;
    return (a->u64[0] | a->u64[1]) != 0;
}
#define ALL_TRUE(name, f)                                                     \
    static uint64_t name(const v128_t *a, uint32_t lane)                      \
    {                                                                         \
        (void)lane;                                                           \
        for (unsigned i = 0; i < NLANES(*a, f); i++)                          \
            if (!a->f[i]) return 0;                                           \
        return 1;                                                             \
    }
#define BITMASK(name, f)                                                      \
    static uint64_t name(const v128_t *a, uint32_t lane)                      \
    {                                                                         \
        (void)lane;                                                           \
        uint32_t m = 0;                                                       \
        for (unsigned i = 0; i < NLANES(*a, f); i++) m |= (uint32_t)(a->f[i] < 0) << i; \
        return m;                                                             \
    }
ALL_TRUE(i8_all_true, u8)
ALL_TRUE(i16_all_true, u16)
ALL_TRUE(i32_all_true, u32)
ALL_TRUE(i64_all_true, u64)
BITMASK(i8_bitmask, s8)
BITMASK(i16_bitmask, s16)
BITMASK(i32_bitmask, s32)
BITMASK(i64_bitmask, s64)

/* ---- lanes: extract, replace, splat ------------------------------------------ */

/* The scalar's slot bits: i32 and f32 in the low 4 bytes, upper zero. */
static uint64_t x_i8_s(const v128_t *a, uint32_t l) { return (uint32_t)(int32_t)a->s8[l]; }
static uint64_t x_i8_u(const v128_t *a, uint32_t l) { return a->u8[l]; }
static uint64_t x_i16_s(const v128_t *a, uint32_t l) { return (uint32_t)(int32_t)a->s16[l]; }
static uint64_t x_i16_u(const v128_t *a, uint32_t l) { return a->u16[l]; }
static uint64_t x_32(const v128_t *a, uint32_t l) { return a->u32[l]; }
static uint64_t x_64(const v128_t *a, uint32_t l) { return a->u64[l]; }
/* the float lanes' own copies, so that a function names one instruction
 * (simd_fn_name, for the dumper) */
static uint64_t x_f32(const v128_t *a, uint32_t l) { return a->u32[l]; }
static uint64_t x_f64(const v128_t *a, uint32_t l) { return a->u64[l]; }

#define REPLACE(name, f)                                                      \
    static void name(v128_t *d, const v128_t *a, uint64_t x, uint32_t lane)   \
    {                                                                         \
        v128_t r = *a;                                                        \
        r.f[lane] = (__typeof__(r.f[0]))x;                                    \
        *d = r;                                                               \
    }
#define SPLAT(name, f)                                                        \
    static void name(v128_t *d, const v128_t *a, uint64_t x, uint32_t lane)   \
    {                                                                         \
        (void)a, (void)lane;                                                  \
        v128_t r;                                                             \
        for (unsigned i = 0; i < NLANES(r, f); i++) r.f[i] = (__typeof__(r.f[0]))x; \
        *d = r;                                                               \
    }
REPLACE(r_8, u8)
REPLACE(r_16, u16)
REPLACE(r_32, u32)
REPLACE(r_64, u64)
REPLACE(r_f32, u32)
REPLACE(r_f64, u64)
SPLAT(s_8, u8)
SPLAT(s_16, u16)
SPLAT(s_32, u32)
SPLAT(s_64, u64)
SPLAT(s_f32, u32)
SPLAT(s_f64, u64)

/* ---- loads ------------------------------------------------------------------ */

static void ld_v128(v128_t *d, const uint8_t *p) { memcpy(d, p, 16); }
#define LDEXT(name, ct, f)                                                    \
    static void name(v128_t *d, const uint8_t *p)                             \
    {                                                                         \
        ct in[8 / sizeof(ct)];                                                \
        memcpy(in, p, 8);                                                     \
        for (unsigned i = 0; i < 8 / sizeof(ct); i++) d->f[i] = in[i];       \
    }
LDEXT(ld_8x8_s, int8_t, s16)
LDEXT(ld_8x8_u, uint8_t, u16)
LDEXT(ld_16x4_s, int16_t, s32)
LDEXT(ld_16x4_u, uint16_t, u32)
LDEXT(ld_32x2_s, int32_t, s64)
LDEXT(ld_32x2_u, uint32_t, u64)
#define LDSPLAT(name, ct, f)                                                  \
    static void name(v128_t *d, const uint8_t *p)                             \
    {                                                                         \
        ct v;                                                                 \
        memcpy(&v, p, sizeof v);                                              \
        for (unsigned i = 0; i < 16 / sizeof(ct); i++) d->f[i] = v;           \
    }
LDSPLAT(ld_splat8, uint8_t, u8)
LDSPLAT(ld_splat16, uint16_t, u16)
LDSPLAT(ld_splat32, uint32_t, u32)
LDSPLAT(ld_splat64, uint64_t, u64)
static void ld_zero32(v128_t *d, const uint8_t *p)
{
    memset(d, 0, 16);
    memcpy(d, p, 4);
}
static void ld_zero64(v128_t *d, const uint8_t *p)
{
    memset(d, 0, 16);
    memcpy(d, p, 8);
}

/* ---- SSE4.1 where the CPU has it ----------------------------------------------- */

/* x86-64's baseline is SSE2, so these are compiled for SSE4.1 alone (a
 * target attribute, not a build flag) and simd_lane_fn hands them out only
 * when the CPU says it runs them. Each gives exactly what its portable
 * function above gives: roundps rounds as ceilf, floorf, truncf and
 * nearbyintf (ties to even) and quiets a NaN as a + a does; the integer ones
 * are the same lane operations in one instruction. */
#if defined(__x86_64__) && defined(__GNUC__)
#define SIMD_SSE41 1
#include <smmintrin.h>

#define BIN41(name, expr)                                                     \
    __attribute__((target("sse4.1"))) static void name(v128_t *d, const v128_t *x, const v128_t *y, \
                                                       const v128_t *z, uint32_t k) \
    {                                                                         \
        (void)z, (void)k;                                                     \
        __m128i a = _mm_load_si128((const __m128i *)x), b = _mm_load_si128((const __m128i *)y); \
        (void)b;                                                              \
        _mm_store_si128((__m128i *)d, (expr));                                \
    }
#define ROUND_PS(mode) _mm_castps_si128(_mm_round_ps(_mm_castsi128_ps(a), (mode) | _MM_FROUND_NO_EXC))
#define ROUND_PD(mode) _mm_castpd_si128(_mm_round_pd(_mm_castsi128_pd(a), (mode) | _MM_FROUND_NO_EXC))
BIN41(f32_ceil_41, ROUND_PS(_MM_FROUND_TO_POS_INF))
BIN41(f32_floor_41, ROUND_PS(_MM_FROUND_TO_NEG_INF))
BIN41(f32_trunc_41, ROUND_PS(_MM_FROUND_TO_ZERO))
BIN41(f32_nearest_41, ROUND_PS(_MM_FROUND_TO_NEAREST_INT))
BIN41(f64_ceil_41, ROUND_PD(_MM_FROUND_TO_POS_INF))
BIN41(f64_floor_41, ROUND_PD(_MM_FROUND_TO_NEG_INF))
BIN41(f64_trunc_41, ROUND_PD(_MM_FROUND_TO_ZERO))
BIN41(f64_nearest_41, ROUND_PD(_MM_FROUND_TO_NEAREST_INT))
BIN41(i8_min_s_41, _mm_min_epi8(a, b))
BIN41(i8_max_s_41, _mm_max_epi8(a, b))
BIN41(i16_min_u_41, _mm_min_epu16(a, b))
BIN41(i16_max_u_41, _mm_max_epu16(a, b))
BIN41(i32_min_s_41, _mm_min_epi32(a, b))
BIN41(i32_min_u_41, _mm_min_epu32(a, b))
BIN41(i32_max_s_41, _mm_max_epi32(a, b))
BIN41(i32_max_u_41, _mm_max_epu32(a, b))
BIN41(i64_eq_41, _mm_cmpeq_epi64(a, b))
BIN41(i64_ne_41, _mm_xor_si128(_mm_cmpeq_epi64(a, b), _mm_set1_epi32(-1)))
BIN41(i16_narrow_u_41, _mm_packus_epi32(a, b))

static const struct {
    uint8_t sub;
    simd_vfn_t fn;
} sse41_fns[] = {
    {103, f32_ceil_41},    {104, f32_floor_41},  {105, f32_trunc_41},  {106, f32_nearest_41},
    {116, f64_ceil_41},    {117, f64_floor_41},  {122, f64_trunc_41},  {148, f64_nearest_41},
    {118, i8_min_s_41},    {120, i8_max_s_41},   {151, i16_min_u_41},  {153, i16_max_u_41},
    {182, i32_min_s_41},   {183, i32_min_u_41},  {184, i32_max_s_41},  {185, i32_max_u_41},
    {214, i64_eq_41},      {215, i64_ne_41},     {134, i16_narrow_u_41},
};
#define NSSE41 (sizeof sse41_fns / sizeof sse41_fns[0])
#else
#define SIMD_SSE41 0
#endif

/* ---- the table ---------------------------------------------------------------- */

#define I(sub, k, sc, ln, w, nm, f) [sub] = {k, sc, ln, w, nm, (const void *)(f)}
#define U(sub, nm, f) I(sub, SK_UN, 0, 0, 0, nm, f)
#define B(sub, nm, f) I(sub, SK_BIN, 0, 0, 0, nm, f)
#define SH(sub, nm, f) I(sub, SK_SHIFT, 0, 0, 0, nm, f)
#define T(sub, nm, f) I(sub, SK_TEST, 0, 0, 0, nm, f)
#define LD(sub, w, nm, f) I(sub, SK_LOAD, 0, 0, w, nm, f)

static const simd_info_t table[256] = {
    LD(0, 16, "v128.load", ld_v128),
    LD(1, 8, "v128.load8x8_s", ld_8x8_s),
    LD(2, 8, "v128.load8x8_u", ld_8x8_u),
    LD(3, 8, "v128.load16x4_s", ld_16x4_s),
    LD(4, 8, "v128.load16x4_u", ld_16x4_u),
    LD(5, 8, "v128.load32x2_s", ld_32x2_s),
    LD(6, 8, "v128.load32x2_u", ld_32x2_u),
    LD(7, 1, "v128.load8_splat", ld_splat8),
    LD(8, 2, "v128.load16_splat", ld_splat16),
    LD(9, 4, "v128.load32_splat", ld_splat32),
    LD(10, 8, "v128.load64_splat", ld_splat64),
    I(11, SK_STORE, 0, 0, 16, "v128.store", NULL),
    I(12, SK_CONST, 0, 0, 0, "v128.const", NULL),
    I(13, SK_SHUFFLE, 0, 32, 0, "i8x16.shuffle", NULL),
    B(14, "i8x16.swizzle", i8_swizzle),
    I(15, SK_SPLAT, WEFT_I32, 0, 0, "i8x16.splat", s_8),
    I(16, SK_SPLAT, WEFT_I32, 0, 0, "i16x8.splat", s_16),
    I(17, SK_SPLAT, WEFT_I32, 0, 0, "i32x4.splat", s_32),
    I(18, SK_SPLAT, WEFT_I64, 0, 0, "i64x2.splat", s_64),
    I(19, SK_SPLAT, WEFT_F32, 0, 0, "f32x4.splat", s_f32),
    I(20, SK_SPLAT, WEFT_F64, 0, 0, "f64x2.splat", s_f64),
    I(21, SK_EXTRACT, WEFT_I32, 16, 0, "i8x16.extract_lane_s", x_i8_s),
    I(22, SK_EXTRACT, WEFT_I32, 16, 0, "i8x16.extract_lane_u", x_i8_u),
    I(23, SK_REPLACE, WEFT_I32, 16, 0, "i8x16.replace_lane", r_8),
    I(24, SK_EXTRACT, WEFT_I32, 8, 0, "i16x8.extract_lane_s", x_i16_s),
    I(25, SK_EXTRACT, WEFT_I32, 8, 0, "i16x8.extract_lane_u", x_i16_u),
    I(26, SK_REPLACE, WEFT_I32, 8, 0, "i16x8.replace_lane", r_16),
    I(27, SK_EXTRACT, WEFT_I32, 4, 0, "i32x4.extract_lane", x_32),
    I(28, SK_REPLACE, WEFT_I32, 4, 0, "i32x4.replace_lane", r_32),
    I(29, SK_EXTRACT, WEFT_I64, 2, 0, "i64x2.extract_lane", x_64),
    I(30, SK_REPLACE, WEFT_I64, 2, 0, "i64x2.replace_lane", r_64),
    I(31, SK_EXTRACT, WEFT_F32, 4, 0, "f32x4.extract_lane", x_f32),
    I(32, SK_REPLACE, WEFT_F32, 4, 0, "f32x4.replace_lane", r_f32),
    I(33, SK_EXTRACT, WEFT_F64, 2, 0, "f64x2.extract_lane", x_f64),
    I(34, SK_REPLACE, WEFT_F64, 2, 0, "f64x2.replace_lane", r_f64),
#define CMP10(base, p, nm)                                                    \
    B(base, nm ".eq", p##_eq), B(base + 1, nm ".ne", p##_ne),                 \
    B(base + 2, nm ".lt_s", p##_lt_s), B(base + 3, nm ".lt_u", p##_lt_u),     \
    B(base + 4, nm ".gt_s", p##_gt_s), B(base + 5, nm ".gt_u", p##_gt_u),     \
    B(base + 6, nm ".le_s", p##_le_s), B(base + 7, nm ".le_u", p##_le_u),     \
    B(base + 8, nm ".ge_s", p##_ge_s), B(base + 9, nm ".ge_u", p##_ge_u)
    CMP10(35, i8, "i8x16"),
    CMP10(45, i16, "i16x8"),
    CMP10(55, i32, "i32x4"),
#define FCMP6(base, p, nm)                                                    \
    B(base, nm ".eq", p##_eq), B(base + 1, nm ".ne", p##_ne),                 \
    B(base + 2, nm ".lt", p##_lt), B(base + 3, nm ".gt", p##_gt),             \
    B(base + 4, nm ".le", p##_le), B(base + 5, nm ".ge", p##_ge)
    FCMP6(65, f32, "f32x4"),
    FCMP6(71, f64, "f64x2"),
    U(77, "v128.not", v_not),
    B(78, "v128.and", v_and),
    B(79, "v128.andnot", v_andnot),
    B(80, "v128.or", v_or),
    B(81, "v128.xor", v_xor),
    I(82, SK_TERN, 0, 0, 0, "v128.bitselect", v_bitselect),
    T(83, "v128.any_true", any_true),
    I(84, SK_LOAD_LANE, 0, 16, 1, "v128.load8_lane", NULL),
    I(85, SK_LOAD_LANE, 0, 8, 2, "v128.load16_lane", NULL),
    I(86, SK_LOAD_LANE, 0, 4, 4, "v128.load32_lane", NULL),
    I(87, SK_LOAD_LANE, 0, 2, 8, "v128.load64_lane", NULL),
    I(88, SK_STORE_LANE, 0, 16, 1, "v128.store8_lane", NULL),
    I(89, SK_STORE_LANE, 0, 8, 2, "v128.store16_lane", NULL),
    I(90, SK_STORE_LANE, 0, 4, 4, "v128.store32_lane", NULL),
    I(91, SK_STORE_LANE, 0, 2, 8, "v128.store64_lane", NULL),
    LD(92, 4, "v128.load32_zero", ld_zero32),
    LD(93, 8, "v128.load64_zero", ld_zero64),
    U(94, "f32x4.demote_f64x2_zero", f32_demote_zero),
    U(95, "f64x2.promote_low_f32x4", f64_promote_low),
    U(96, "i8x16.abs", i8_abs),
    U(97, "i8x16.neg", i8_neg),
    U(98, "i8x16.popcnt", i8_popcnt),
    T(99, "i8x16.all_true", i8_all_true),
    T(100, "i8x16.bitmask", i8_bitmask),
    B(101, "i8x16.narrow_i16x8_s", i8_narrow_s),
    B(102, "i8x16.narrow_i16x8_u", i8_narrow_u),
    U(103, "f32x4.ceil", f32_ceil),
    U(104, "f32x4.floor", f32_floor),
    U(105, "f32x4.trunc", f32_trunc),
    U(106, "f32x4.nearest", f32_nearest),
    SH(107, "i8x16.shl", i8_shl),
    SH(108, "i8x16.shr_s", i8_shr_s),
    SH(109, "i8x16.shr_u", i8_shr_u),
    B(110, "i8x16.add", i8_add),
    B(111, "i8x16.add_sat_s", i8_add_sat_s),
    B(112, "i8x16.add_sat_u", i8_add_sat_u),
    B(113, "i8x16.sub", i8_sub),
    B(114, "i8x16.sub_sat_s", i8_sub_sat_s),
    B(115, "i8x16.sub_sat_u", i8_sub_sat_u),
    U(116, "f64x2.ceil", f64_ceil),
    U(117, "f64x2.floor", f64_floor),
    B(118, "i8x16.min_s", i8_min_s),
    B(119, "i8x16.min_u", i8_min_u),
    B(120, "i8x16.max_s", i8_max_s),
    B(121, "i8x16.max_u", i8_max_u),
    U(122, "f64x2.trunc", f64_trunc),
    B(123, "i8x16.avgr_u", i8_avgr_u),
    U(124, "i16x8.extadd_pairwise_i8x16_s", i16_extadd_s),
    U(125, "i16x8.extadd_pairwise_i8x16_u", i16_extadd_u),
    U(126, "i32x4.extadd_pairwise_i16x8_s", i32_extadd_s),
    U(127, "i32x4.extadd_pairwise_i16x8_u", i32_extadd_u),
    U(128, "i16x8.abs", i16_abs),
    U(129, "i16x8.neg", i16_neg),
    B(130, "i16x8.q15mulr_sat_s", i16_q15mulr_sat_s),
    T(131, "i16x8.all_true", i16_all_true),
    T(132, "i16x8.bitmask", i16_bitmask),
    B(133, "i16x8.narrow_i32x4_s", i16_narrow_s),
    B(134, "i16x8.narrow_i32x4_u", i16_narrow_u),
    U(135, "i16x8.extend_low_i8x16_s", i16_extend_low_s),
    U(136, "i16x8.extend_high_i8x16_s", i16_extend_high_s),
    U(137, "i16x8.extend_low_i8x16_u", i16_extend_low_u),
    U(138, "i16x8.extend_high_i8x16_u", i16_extend_high_u),
    SH(139, "i16x8.shl", i16_shl),
    SH(140, "i16x8.shr_s", i16_shr_s),
    SH(141, "i16x8.shr_u", i16_shr_u),
    B(142, "i16x8.add", i16_add),
    B(143, "i16x8.add_sat_s", i16_add_sat_s),
    B(144, "i16x8.add_sat_u", i16_add_sat_u),
    B(145, "i16x8.sub", i16_sub),
    B(146, "i16x8.sub_sat_s", i16_sub_sat_s),
    B(147, "i16x8.sub_sat_u", i16_sub_sat_u),
    U(148, "f64x2.nearest", f64_nearest),
    B(149, "i16x8.mul", i16_mul),
    B(150, "i16x8.min_s", i16_min_s),
    B(151, "i16x8.min_u", i16_min_u),
    B(152, "i16x8.max_s", i16_max_s),
    B(153, "i16x8.max_u", i16_max_u),
    B(155, "i16x8.avgr_u", i16_avgr_u),
    B(156, "i16x8.extmul_low_i8x16_s", i16_extmul_low_s),
    B(157, "i16x8.extmul_high_i8x16_s", i16_extmul_high_s),
    B(158, "i16x8.extmul_low_i8x16_u", i16_extmul_low_u),
    B(159, "i16x8.extmul_high_i8x16_u", i16_extmul_high_u),
    U(160, "i32x4.abs", i32_abs),
    U(161, "i32x4.neg", i32_neg),
    T(163, "i32x4.all_true", i32_all_true),
    T(164, "i32x4.bitmask", i32_bitmask),
    U(167, "i32x4.extend_low_i16x8_s", i32_extend_low_s),
    U(168, "i32x4.extend_high_i16x8_s", i32_extend_high_s),
    U(169, "i32x4.extend_low_i16x8_u", i32_extend_low_u),
    U(170, "i32x4.extend_high_i16x8_u", i32_extend_high_u),
    SH(171, "i32x4.shl", i32_shl),
    SH(172, "i32x4.shr_s", i32_shr_s),
    SH(173, "i32x4.shr_u", i32_shr_u),
    B(174, "i32x4.add", i32_add),
    B(177, "i32x4.sub", i32_sub),
    B(181, "i32x4.mul", i32_mul),
    B(182, "i32x4.min_s", i32_min_s),
    B(183, "i32x4.min_u", i32_min_u),
    B(184, "i32x4.max_s", i32_max_s),
    B(185, "i32x4.max_u", i32_max_u),
    B(186, "i32x4.dot_i16x8_s", i32_dot_i16),
    B(188, "i32x4.extmul_low_i16x8_s", i32_extmul_low_s),
    B(189, "i32x4.extmul_high_i16x8_s", i32_extmul_high_s),
    B(190, "i32x4.extmul_low_i16x8_u", i32_extmul_low_u),
    B(191, "i32x4.extmul_high_i16x8_u", i32_extmul_high_u),
    U(192, "i64x2.abs", i64_abs),
    U(193, "i64x2.neg", i64_neg),
    T(195, "i64x2.all_true", i64_all_true),
    T(196, "i64x2.bitmask", i64_bitmask),
    U(199, "i64x2.extend_low_i32x4_s", i64_extend_low_s),
    U(200, "i64x2.extend_high_i32x4_s", i64_extend_high_s),
    U(201, "i64x2.extend_low_i32x4_u", i64_extend_low_u),
    U(202, "i64x2.extend_high_i32x4_u", i64_extend_high_u),
    SH(203, "i64x2.shl", i64_shl),
    SH(204, "i64x2.shr_s", i64_shr_s),
    SH(205, "i64x2.shr_u", i64_shr_u),
    B(206, "i64x2.add", i64_add),
    B(209, "i64x2.sub", i64_sub),
    B(213, "i64x2.mul", i64_mul),
    B(214, "i64x2.eq", i64_eq),
    B(215, "i64x2.ne", i64_ne),
    B(216, "i64x2.lt_s", i64_lt_s),
    B(217, "i64x2.gt_s", i64_gt_s),
    B(218, "i64x2.le_s", i64_le_s),
    B(219, "i64x2.ge_s", i64_ge_s),
    B(220, "i64x2.extmul_low_i32x4_s", i64_extmul_low_s),
    B(221, "i64x2.extmul_high_i32x4_s", i64_extmul_high_s),
    B(222, "i64x2.extmul_low_i32x4_u", i64_extmul_low_u),
    B(223, "i64x2.extmul_high_i32x4_u", i64_extmul_high_u),
    U(224, "f32x4.abs", f32_abs),
    U(225, "f32x4.neg", f32_neg),
    U(227, "f32x4.sqrt", f32_sqrt),
    B(228, "f32x4.add", f32_add),
    B(229, "f32x4.sub", f32_sub),
    B(230, "f32x4.mul", f32_mul),
    B(231, "f32x4.div", f32_div),
    B(232, "f32x4.min", f32_min),
    B(233, "f32x4.max", f32_max),
    B(234, "f32x4.pmin", f32_pmin),
    B(235, "f32x4.pmax", f32_pmax),
    U(236, "f64x2.abs", f64_abs),
    U(237, "f64x2.neg", f64_neg),
    U(239, "f64x2.sqrt", f64_sqrt),
    B(240, "f64x2.add", f64_add),
    B(241, "f64x2.sub", f64_sub),
    B(242, "f64x2.mul", f64_mul),
    B(243, "f64x2.div", f64_div),
    B(244, "f64x2.min", f64_min),
    B(245, "f64x2.max", f64_max),
    B(246, "f64x2.pmin", f64_pmin),
    B(247, "f64x2.pmax", f64_pmax),
    U(248, "i32x4.trunc_sat_f32x4_s", i32_trunc_sat_f32_s),
    U(249, "i32x4.trunc_sat_f32x4_u", i32_trunc_sat_f32_u),
    U(250, "f32x4.convert_i32x4_s", f32_convert_s),
    U(251, "f32x4.convert_i32x4_u", f32_convert_u),
    U(252, "i32x4.trunc_sat_f64x2_s_zero", i32_trunc_sat_f64_s_zero),
    U(253, "i32x4.trunc_sat_f64x2_u_zero", i32_trunc_sat_f64_u_zero),
    U(254, "f64x2.convert_low_i32x4_s", f64_convert_low_s),
    U(255, "f64x2.convert_low_i32x4_u", f64_convert_low_u),
};

const simd_info_t *simd_info(uint32_t sub)
{
    return sub < 256 && table[sub].kind != SK_NONE ? &table[sub] : NULL;
}

const void *simd_lane_fn(uint32_t sub)
{
    const simd_info_t *si = simd_info(sub);
    if (!si) return NULL;
#if SIMD_SSE41
    __builtin_cpu_init();
    for (unsigned i = 0; i < NSSE41 && __builtin_cpu_supports("sse4.1"); i++)
        if (sse41_fns[i].sub == sub) return (const void *)sse41_fns[i].fn;
#endif
    return si->fn;
}

const char *simd_fn_name(const void *fn)
{
    for (unsigned i = 0; fn && i < 256; i++)
        if (table[i].fn == fn) return table[i].name;
#if SIMD_SSE41
    for (unsigned i = 0; fn && i < NSSE41; i++)
        if ((const void *)sse41_fns[i].fn == fn) return table[sse41_fns[i].sub].name;
#endif
    return NULL;
}
