/*
 * reader.h — bounds-checked reading of the WebAssembly binary format
 * (bytes, LEB128 integers, floats, names). Every read checks the end of
 * its range; a malformed encoding fails the load via engine_fail.
 */
#ifndef WEFT_ENGINE_READER_H
#define WEFT_ENGINE_READER_H

#include <string.h>

#include "priv.h"

typedef struct {
    const uint8_t *p, *end;
    loaderr_t *e;
} reader_t;

#define MALFORMED(r, ...) engine_fail((r)->e, WEFT_EMALFORMED, (r)->p, __VA_ARGS__)

static inline uint8_t rd_u8(reader_t *r)
{
    if (r->p >= r->end) MALFORMED(r, "unexpected end");
    return *r->p++;
}

static inline const uint8_t *rd_bytes(reader_t *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n) MALFORMED(r, "unexpected end");
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

/* Unsigned LEB128 of at most `bits` bits. */
static inline uint64_t rd_uleb(reader_t *r, unsigned bits)
{
    uint64_t v = 0;
    unsigned shift = 0;
    for (;;) {
        uint8_t b = rd_u8(r);
        if (shift + 7 >= bits && shift < 64) {
            /* last permitted byte: no continuation, unused bits zero */
            unsigned used = bits - shift;
            if (b & 0x80) MALFORMED(r, "integer representation too long");
            if (used < 7 && (b >> used) != 0) MALFORMED(r, "integer too large");
            return v | ((uint64_t)b << shift);
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
        shift += 7;
    }
}

/* Signed LEB128 of at most `bits` bits, sign-extended to 64. */
static inline int64_t rd_sleb(reader_t *r, unsigned bits)
{
    uint64_t v = 0;
    unsigned shift = 0;
    for (;;) {
        uint8_t b = rd_u8(r);
        if (shift + 7 >= bits) {
            unsigned used = bits - shift; /* 1..7 value bits in this byte */
            if (b & 0x80) MALFORMED(r, "integer representation too long");
            /* bits above `used` (within the 7) must equal the sign bit */
            int sign = (b >> (used - 1)) & 1;
            uint8_t rest = (uint8_t)((b & 0x7f) >> used);
            uint8_t want = sign ? (uint8_t)(0x7f >> used) : 0;
            if (used < 7 && rest != want) MALFORMED(r, "integer too large");
            v |= (uint64_t)(b & 0x7f) << shift;
            shift += 7;
            if (shift < 64 && sign) v |= ~0ull << shift;
            return (int64_t)v;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40)) v |= ~0ull << shift;
            return (int64_t)v;
        }
    }
}

static inline uint32_t rd_u32(reader_t *r) { return (uint32_t)rd_uleb(r, 32); }
static inline int32_t rd_s32(reader_t *r) { return (int32_t)rd_sleb(r, 32); }
static inline int64_t rd_s64(reader_t *r) { return rd_sleb(r, 64); }

static inline uint32_t rd_f32(reader_t *r)
{
    uint32_t v;
    memcpy(&v, rd_bytes(r, 4), 4);
    return v;
}

static inline uint64_t rd_f64(reader_t *r)
{
    uint64_t v;
    memcpy(&v, rd_bytes(r, 8), 8);
    return v;
}

/* A vector count, checked against the bytes left (each element takes at
 * least `min_size` bytes), so a bogus count never drives a huge allocation. */
static inline uint32_t rd_count(reader_t *r, size_t min_size)
{
    const uint8_t *at = r->p;
    uint32_t n = rd_u32(r);
    if (min_size && (uint64_t)n * min_size > (uint64_t)(r->end - r->p)) {
        r->p = at;
        MALFORMED(r, "unexpected end (count %u too large for section)", n);
    }
    return n;
}

static inline int is_valtype(uint8_t b)
{
    return b == WEFT_I32 || b == WEFT_I64 || b == WEFT_F32 || b == WEFT_F64 || b == WEFT_V128 ||
           b == WEFT_FUNCREF || b == WEFT_EXTERNREF;
}

static inline uint8_t rd_valtype(reader_t *r)
{
    uint8_t b = rd_u8(r);
    if (b == WEFT_V128) r->e->saw_v128 = true;
    if (!is_valtype(b)) {
        r->p--;
        MALFORMED(r, "malformed value type 0x%02x", b);
    }
    return b;
}

static inline uint8_t rd_reftype(reader_t *r)
{
    uint8_t b = rd_u8(r);
    if (b != WEFT_FUNCREF && b != WEFT_EXTERNREF) {
        r->p--;
        MALFORMED(r, "malformed reference type 0x%02x", b);
    }
    return b;
}

#endif
