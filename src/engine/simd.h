/*
 * simd.h — the 128-bit SIMD instructions (the 0xFD prefix of WebAssembly
 * 2.0): what validate.c needs to check and compile each one, and the lane
 * functions interp.c's few generic SIMD handlers call (docs/engine.md
 * "SIMD").
 *
 * A v128 value lives in the store's vector stack (weft_store.vstack), 16
 * bytes per slot index: the v128 in slot i of a frame is vstack[(fp - stack)
 * + i], so slot numbering, the compile-time stack and calls that pass
 * arguments in place work as for scalars, and scalar slots stay 8 bytes.
 */
#ifndef WEFT_ENGINE_SIMD_H
#define WEFT_ENGINE_SIMD_H

#include <stdint.h>

#include "priv.h"

/* How an instruction is typed and compiled. */
enum {
    SK_NONE,       /* no such instruction (or not in WebAssembly 2.0) */
    SK_LOAD,       /* memarg; i32 → v128, reading `width` bytes */
    SK_STORE,      /* memarg; i32 v128 → */
    SK_CONST,      /* 16 immediate bytes; → v128 */
    SK_SHUFFLE,    /* 16 lane immediates < 32; v128 v128 → v128 */
    SK_UN,         /* v128 → v128 */
    SK_BIN,        /* v128 v128 → v128 */
    SK_TERN,       /* v128 v128 v128 → v128 */
    SK_SHIFT,      /* v128 i32 → v128 */
    SK_TEST,       /* v128 → i32 */
    SK_SPLAT,      /* scalar → v128 */
    SK_EXTRACT,    /* lane immediate; v128 → scalar */
    SK_REPLACE,    /* lane immediate; v128 scalar → v128 */
    SK_LOAD_LANE,  /* memarg, lane; i32 v128 → v128 */
    SK_STORE_LANE, /* memarg, lane; i32 v128 → */
};

/* v128 lanes; x86-64 is little-endian, so lane i of any shape is at the
 * same bytes as in linear memory. */
typedef union {
    uint8_t u8[16];
    int8_t s8[16];
    uint16_t u16[8];
    int16_t s16[8];
    uint32_t u32[4];
    int32_t s32[4];
    uint64_t u64[2];
    int64_t s64[2];
    float f32[4];
    double f64[2];
} __attribute__((aligned(16))) v128_t;

/* d = f(a, b, c) for UN, BIN, TERN (unused operands are NULL); d may be
 * any of them. SHIFT passes the count as b's first lane's bits in `k`. */
typedef void (*simd_vfn_t)(v128_t *d, const v128_t *a, const v128_t *b, const v128_t *c, uint32_t k);
/* TEST, EXTRACT: the slot bits of the scalar result. */
typedef uint64_t (*simd_sfn_t)(const v128_t *a, uint32_t lane);
/* SPLAT, REPLACE: d = a with lane(s) set from the scalar's slot bits x (a
 * is d's old value for SPLAT, ignored). */
typedef void (*simd_rfn_t)(v128_t *d, const v128_t *a, uint64_t x, uint32_t lane);
/* LOAD: d from `width` bytes at p. */
typedef void (*simd_mfn_t)(v128_t *d, const uint8_t *p);

typedef struct {
    uint8_t kind;    /* SK_* */
    uint8_t scalar;  /* SPLAT, EXTRACT, REPLACE: the scalar's value type */
    uint8_t lanes;   /* EXTRACT, REPLACE, *_LANE: lane immediates are < lanes */
    uint8_t width;   /* LOAD, STORE, *_LANE: bytes accessed (the natural alignment) */
    const char *name;
    const void *fn;  /* one of the simd_*fn_t above, by kind; NULL for plain moves */
} simd_info_t;

/* The instruction 0xFD `sub`, or NULL when there is none. */
const simd_info_t *simd_info(uint32_t sub);
/* The lane function the code of instruction `sub` calls: its entry's fn,
 * or on a CPU with SSE4.1 a faster one giving the same lanes (rounding,
 * i8/i32 min and max, i64x2.eq/ne, i16x8.narrow_i32x4_u); NULL when there
 * is no such instruction. */
const void *simd_lane_fn(uint32_t sub);
/* The instruction whose lane function is fn ("i32x4.add"), or NULL: each
 * function serves one instruction. */
const char *simd_fn_name(const void *fn);

#endif
