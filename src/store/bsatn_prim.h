/*
 * bsatn_prim.h — BSATN values of the primitive types (integers, Bool,
 * String, bytes: a type of one tag) read straight from their bytes, for
 * src/store only. The codec (bsatn.c) checks and keys them with these, and
 * so do tables (tables.c), inline: an insert checks every column of its
 * row and keys its primary key, which a call through a function per value
 * made a fifth of a row's cost outside LMDB (bench/RESULTS.md).
 */
#ifndef WEFT_STORE_BSATN_PRIM_H
#define WEFT_STORE_BSATN_PRIM_H

#include <stddef.h>
#include <stdint.h>

#include "weft/bsatn.h"

static inline int bsatn_is_int(uint8_t tag)
{
    return tag <= WEFT_BSATN_U64 || (tag >= WEFT_BSATN_I8 && tag <= WEFT_BSATN_I64);
}

/* bytes of an integer type */
static inline int bsatn_int_width(uint8_t tag)
{
    return 1 << (tag & 3);
}

/* 1 for the tags that are a whole type alone: integers, Bool, String, bytes. */
static inline int bsatn_is_primitive(uint8_t tag)
{
    return bsatn_is_int(tag) || tag == WEFT_BSATN_BOOL || tag == WEFT_BSATN_STRING ||
           tag == WEFT_BSATN_BYTES;
}

/* The length of the value of primitive type `tag` at v[0..vlen), checked
 * (a Bool is 0 or 1, a String's bytes are UTF-8), or -1 when it is
 * malformed. */
static inline long bsatn_prim_len(uint8_t tag, const uint8_t *v, size_t vlen)
{
    if (bsatn_is_int(tag)) {
        size_t n = (size_t)bsatn_int_width(tag);
        return n <= vlen ? (long)n : -1;
    }
    if (tag == WEFT_BSATN_BOOL) return vlen >= 1 && v[0] <= 1 ? 1 : -1;
    /* String or bytes: a u32 length, then the bytes */
    if (vlen < 4) return -1;
    uint32_t n = (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
    if (n > vlen - 4 || (tag == WEFT_BSATN_STRING && !weft_bsatn_utf8_ok(v + 4, n))) return -1;
    return 4 + (long)n;
}

/* The key (weft_bsatn_key's) of an integer of type `tag` whose
 * bsatn_int_width(tag) little-endian bytes are at v, into out: big-endian,
 * a signed one's sign bit flipped, so that byte order is numeric order. */
static inline void bsatn_int_key(uint8_t tag, const uint8_t *v, uint8_t *out)
{
    int n = bsatn_int_width(tag);
    for (int i = 0; i < n; i++) out[i] = v[n - 1 - i];
    if (tag >= WEFT_BSATN_I8) out[0] ^= 0x80;
}

#endif
