/*
 * cbuild.h — a tiny encoder of component binaries for the tests: bytes,
 * LEB128, names and sections, so each test states the component it loads
 * byte by byte (the decoder's edge cases need inputs no toolchain makes).
 * Header-only; a buffer grows on the heap and aborts the test program if
 * out of memory (tests only).
 */
#ifndef WEFT_TEST_CBUILD_H
#define WEFT_TEST_CBUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *p;
    size_t n, cap;
} cb_t;

static inline void cb_bytes(cb_t *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static inline void cb_u8(cb_t *b, uint8_t v) { cb_bytes(b, &v, 1); }

static inline void cb_u32(cb_t *b, uint32_t v)
{
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        cb_u8(b, byte | (v ? 0x80 : 0));
    } while (v);
}

/* A non-negative type index as a value type: signed LEB128 (s33), so an
 * index from 64 up takes two bytes (bit 6 of a last byte is the sign). */
static inline void cb_s33(cb_t *b, uint32_t v)
{
    for (;;) {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        if (v == 0 && !(byte & 0x40)) {
            cb_u8(b, byte);
            return;
        }
        cb_u8(b, byte | 0x80);
    }
}

static inline void cb_name(cb_t *b, const char *s)
{
    cb_u32(b, (uint32_t)strlen(s));
    cb_bytes(b, s, strlen(s));
}

/* The component preamble: magic, version 0x0d, layer 1. */
static inline void cb_preamble(cb_t *b)
{
    static const uint8_t pre[8] = {0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00};
    cb_bytes(b, pre, 8);
}

/* Appends section `id` with the contents of `body` (freed). */
static inline void cb_section(cb_t *b, uint8_t id, cb_t *body)
{
    cb_u8(b, id);
    cb_u32(b, (uint32_t)body->n);
    cb_bytes(b, body->p, body->n);
    free(body->p);
    memset(body, 0, sizeof *body);
}

#endif
