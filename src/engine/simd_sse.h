/*
 * simd_sse.h — the hot SIMD instructions as SSE2 intrinsics, for the
 * dedicated handlers interp.c makes from ops.def's VUN, VBIN, VTERN,
 * VSHIFT, VTEST and VLOAD lines (docs/engine.md "SIMD").
 *
 * Each function gives exactly what its lane function in simd.c gives, for
 * every input (NaN bits included: an SSE float op and the scalar one simd.c
 * compiles to return the same quiet NaN); the spec suite runs through these
 * handlers, so it checks both. Only SSE2, x86-64's baseline: an instruction
 * that needs more (SSSE3's pshufb, SSE4.1's pmulld, pminsd, roundps) stays
 * with its lane function. Without SSE2 (another architecture) SIMD_SSE2 is
 * 0 and every dedicated handler calls the lane function in its last cell.
 */
#ifndef WEFT_ENGINE_SIMD_SSE_H
#define WEFT_ENGINE_SIMD_SSE_H

#include <stdint.h>

#if defined(__SSE2__)
#define SIMD_SSE2 1
#include <emmintrin.h>

typedef __m128i vx_t;

#define VX_F(x) _mm_castsi128_ps(x)
#define VX_D(x) _mm_castsi128_pd(x)
#define VX_I(x) _Generic((x), __m128: _mm_castps_si128, __m128d: _mm_castpd_si128)(x)

static inline vx_t vx_ones(void) { return _mm_set1_epi32(-1); }

/* ---- bitwise ---- */
static inline vx_t vx_not(vx_t a) { return _mm_xor_si128(a, vx_ones()); }
static inline vx_t vx_and(vx_t a, vx_t b) { return _mm_and_si128(a, b); }
static inline vx_t vx_andnot(vx_t a, vx_t b) { return _mm_andnot_si128(b, a); } /* a & ~b */
static inline vx_t vx_or(vx_t a, vx_t b) { return _mm_or_si128(a, b); }
static inline vx_t vx_xor(vx_t a, vx_t b) { return _mm_xor_si128(a, b); }
/* (a & c) | (b & ~c) */
static inline vx_t vx_bitselect(vx_t a, vx_t b, vx_t c) { return _mm_or_si128(_mm_and_si128(a, c), _mm_andnot_si128(c, b)); }

/* ---- integer lanes ---- */
static inline vx_t vx_i8_ne(vx_t a, vx_t b) { return vx_not(_mm_cmpeq_epi8(a, b)); }
static inline vx_t vx_i16_ne(vx_t a, vx_t b) { return vx_not(_mm_cmpeq_epi16(a, b)); }
static inline vx_t vx_i32_ne(vx_t a, vx_t b) { return vx_not(_mm_cmpeq_epi32(a, b)); }
static inline vx_t vx_i8_neg(vx_t a) { return _mm_sub_epi8(_mm_setzero_si128(), a); }
static inline vx_t vx_i16_neg(vx_t a) { return _mm_sub_epi16(_mm_setzero_si128(), a); }
static inline vx_t vx_i32_neg(vx_t a) { return _mm_sub_epi32(_mm_setzero_si128(), a); }
static inline vx_t vx_i64_neg(vx_t a) { return _mm_sub_epi64(_mm_setzero_si128(), a); }
/* the low 32 bits of each product: pmuludq of the even lanes and of the
 * odd ones shifted down, interleaved back (pmulld is SSE4.1) */
static inline vx_t vx_i32_mul(vx_t a, vx_t b)
{
    vx_t even = _mm_mul_epu32(a, b);
    vx_t odd = _mm_mul_epu32(_mm_srli_epi64(a, 32), _mm_srli_epi64(b, 32));
    return _mm_unpacklo_epi32(_mm_shuffle_epi32(even, _MM_SHUFFLE(0, 0, 2, 0)),
                              _mm_shuffle_epi32(odd, _MM_SHUFFLE(0, 0, 2, 0)));
}
/* widening: interleave with zeros, or with the lanes themselves and shift
 * the copy's sign down */
static inline vx_t vx_i16_ext_lo_u(vx_t a) { return _mm_unpacklo_epi8(a, _mm_setzero_si128()); }
static inline vx_t vx_i16_ext_hi_u(vx_t a) { return _mm_unpackhi_epi8(a, _mm_setzero_si128()); }
static inline vx_t vx_i16_ext_lo_s(vx_t a) { return _mm_srai_epi16(_mm_unpacklo_epi8(a, a), 8); }
static inline vx_t vx_i16_ext_hi_s(vx_t a) { return _mm_srai_epi16(_mm_unpackhi_epi8(a, a), 8); }
static inline vx_t vx_i32_ext_lo_u(vx_t a) { return _mm_unpacklo_epi16(a, _mm_setzero_si128()); }
static inline vx_t vx_i32_ext_hi_u(vx_t a) { return _mm_unpackhi_epi16(a, _mm_setzero_si128()); }
static inline vx_t vx_i32_ext_lo_s(vx_t a) { return _mm_srai_epi32(_mm_unpacklo_epi16(a, a), 16); }
static inline vx_t vx_i32_ext_hi_s(vx_t a) { return _mm_srai_epi32(_mm_unpackhi_epi16(a, a), 16); }
static inline vx_t vx_i64_ext_lo_u(vx_t a) { return _mm_unpacklo_epi32(a, _mm_setzero_si128()); }
static inline vx_t vx_i64_ext_hi_u(vx_t a) { return _mm_unpackhi_epi32(a, _mm_setzero_si128()); }
static inline vx_t vx_i64_ext_lo_s(vx_t a) { return _mm_unpacklo_epi32(a, _mm_srai_epi32(a, 31)); }
static inline vx_t vx_i64_ext_hi_s(vx_t a) { return _mm_unpackhi_epi32(a, _mm_srai_epi32(a, 31)); }

/* shifts: the count modulo the lane width, as a count register */
#define VX_SHIFT(name, fn, bits)                                              \
    static inline vx_t name(vx_t a, uint32_t k) { return fn(a, _mm_cvtsi32_si128((int)(k & ((bits) - 1)))); }
VX_SHIFT(vx_i16_shl, _mm_sll_epi16, 16)
VX_SHIFT(vx_i16_shr_s, _mm_sra_epi16, 16)
VX_SHIFT(vx_i16_shr_u, _mm_srl_epi16, 16)
VX_SHIFT(vx_i32_shl, _mm_sll_epi32, 32)
VX_SHIFT(vx_i32_shr_s, _mm_sra_epi32, 32)
VX_SHIFT(vx_i32_shr_u, _mm_srl_epi32, 32)
VX_SHIFT(vx_i64_shl, _mm_sll_epi64, 64)
VX_SHIFT(vx_i64_shr_u, _mm_srl_epi64, 64)

/* ---- float lanes: abs and neg on the bits, as simd.c; the rest as the
 * scalar SSE instructions simd.c's loops compile to ---- */
static inline vx_t vx_f32_abs(vx_t a) { return _mm_and_si128(a, _mm_set1_epi32(0x7fffffff)); }
static inline vx_t vx_f32_neg(vx_t a) { return _mm_xor_si128(a, _mm_set1_epi32((int)0x80000000u)); }
static inline vx_t vx_f64_abs(vx_t a) { return _mm_and_si128(a, _mm_set1_epi64x(0x7fffffffffffffffll)); }
static inline vx_t vx_f64_neg(vx_t a) { return _mm_xor_si128(a, _mm_set1_epi64x((long long)0x8000000000000000ull)); }
#define VX_FBIN(name, op, ...) \
    static inline vx_t name(vx_t a, vx_t b) { return VX_I(op(__VA_ARGS__)); }
VX_FBIN(vx_f32_add, _mm_add_ps, VX_F(a), VX_F(b))
VX_FBIN(vx_f32_sub, _mm_sub_ps, VX_F(a), VX_F(b))
VX_FBIN(vx_f32_mul, _mm_mul_ps, VX_F(a), VX_F(b))
VX_FBIN(vx_f32_div, _mm_div_ps, VX_F(a), VX_F(b))
/* pmin = b < a ? b : a is minps(b, a) (minps(x, y) = x < y ? x : y) */
VX_FBIN(vx_f32_pmin, _mm_min_ps, VX_F(b), VX_F(a))
VX_FBIN(vx_f32_pmax, _mm_max_ps, VX_F(b), VX_F(a))
VX_FBIN(vx_f32_eq, _mm_cmpeq_ps, VX_F(a), VX_F(b))
VX_FBIN(vx_f32_ne, _mm_cmpneq_ps, VX_F(a), VX_F(b)) /* true for NaN, as C's != */
VX_FBIN(vx_f32_lt, _mm_cmplt_ps, VX_F(a), VX_F(b))
VX_FBIN(vx_f32_gt, _mm_cmpgt_ps, VX_F(a), VX_F(b))
VX_FBIN(vx_f32_le, _mm_cmple_ps, VX_F(a), VX_F(b))
VX_FBIN(vx_f32_ge, _mm_cmpge_ps, VX_F(a), VX_F(b))
VX_FBIN(vx_f64_add, _mm_add_pd, VX_D(a), VX_D(b))
VX_FBIN(vx_f64_sub, _mm_sub_pd, VX_D(a), VX_D(b))
VX_FBIN(vx_f64_mul, _mm_mul_pd, VX_D(a), VX_D(b))
VX_FBIN(vx_f64_div, _mm_div_pd, VX_D(a), VX_D(b))
VX_FBIN(vx_f64_pmin, _mm_min_pd, VX_D(b), VX_D(a))
VX_FBIN(vx_f64_pmax, _mm_max_pd, VX_D(b), VX_D(a))
VX_FBIN(vx_f64_eq, _mm_cmpeq_pd, VX_D(a), VX_D(b))
VX_FBIN(vx_f64_ne, _mm_cmpneq_pd, VX_D(a), VX_D(b))
VX_FBIN(vx_f64_lt, _mm_cmplt_pd, VX_D(a), VX_D(b))
VX_FBIN(vx_f64_gt, _mm_cmpgt_pd, VX_D(a), VX_D(b))
VX_FBIN(vx_f64_le, _mm_cmple_pd, VX_D(a), VX_D(b))
VX_FBIN(vx_f64_ge, _mm_cmpge_pd, VX_D(a), VX_D(b))
static inline vx_t vx_f32_convert_s(vx_t a) { return VX_I(_mm_cvtepi32_ps(a)); }

/* ---- tests: v128 → i32 ---- */
static inline uint64_t vx_any_true(vx_t a) { return _mm_movemask_epi8(_mm_cmpeq_epi8(a, _mm_setzero_si128())) != 0xffff; }
static inline uint64_t vx_i8_all_true(vx_t a) { return _mm_movemask_epi8(_mm_cmpeq_epi8(a, _mm_setzero_si128())) == 0; }
static inline uint64_t vx_i16_all_true(vx_t a) { return _mm_movemask_epi8(_mm_cmpeq_epi16(a, _mm_setzero_si128())) == 0; }
static inline uint64_t vx_i32_all_true(vx_t a) { return _mm_movemask_epi8(_mm_cmpeq_epi32(a, _mm_setzero_si128())) == 0; }
static inline uint64_t vx_i8_bitmask(vx_t a) { return (uint32_t)_mm_movemask_epi8(a); }
static inline uint64_t vx_i16_bitmask(vx_t a) { return (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(a, a)) & 0xff; }
static inline uint64_t vx_i32_bitmask(vx_t a) { return (uint32_t)_mm_movemask_ps(VX_F(a)); }
static inline uint64_t vx_i64_bitmask(vx_t a) { return (uint32_t)_mm_movemask_pd(VX_D(a)); }

/* ---- loads from p (in bounds) ---- */
static inline uint32_t vx_rd32(const uint8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}
static inline uint64_t vx_rd64(const uint8_t *p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    return v;
}
static inline vx_t vx_ld(const uint8_t *p) { return _mm_loadu_si128((const vx_t *)p); }
static inline vx_t vx_ld64(const uint8_t *p) { return _mm_loadl_epi64((const vx_t *)p); }
static inline vx_t vx_ld_8x8_s(const uint8_t *p) { return vx_i16_ext_lo_s(vx_ld64(p)); }
static inline vx_t vx_ld_8x8_u(const uint8_t *p) { return vx_i16_ext_lo_u(vx_ld64(p)); }
static inline vx_t vx_ld_16x4_s(const uint8_t *p) { return vx_i32_ext_lo_s(vx_ld64(p)); }
static inline vx_t vx_ld_16x4_u(const uint8_t *p) { return vx_i32_ext_lo_u(vx_ld64(p)); }
static inline vx_t vx_ld_32x2_s(const uint8_t *p) { return vx_i64_ext_lo_s(vx_ld64(p)); }
static inline vx_t vx_ld_32x2_u(const uint8_t *p) { return vx_i64_ext_lo_u(vx_ld64(p)); }
static inline vx_t vx_ld_splat8(const uint8_t *p) { return _mm_set1_epi8((char)*p); }
static inline vx_t vx_ld_splat16(const uint8_t *p) { return _mm_set1_epi16((short)(p[0] | p[1] << 8)); }
static inline vx_t vx_ld_splat32(const uint8_t *p) { return _mm_set1_epi32((int)vx_rd32(p)); }
static inline vx_t vx_ld_splat64(const uint8_t *p) { return _mm_set1_epi64x((long long)vx_rd64(p)); }
static inline vx_t vx_ld_zero32(const uint8_t *p) { return _mm_cvtsi32_si128((int)vx_rd32(p)); }

/* ---- splats of a scalar's slot bits ---- */
static inline vx_t vx_splat8(uint64_t x) { return _mm_set1_epi8((char)x); }
static inline vx_t vx_splat16(uint64_t x) { return _mm_set1_epi16((short)x); }
static inline vx_t vx_splat32(uint64_t x) { return _mm_set1_epi32((int)x); }
static inline vx_t vx_splat64(uint64_t x) { return _mm_set1_epi64x((long long)x); }

#else
#define SIMD_SSE2 0
#endif

#endif
