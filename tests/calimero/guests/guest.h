/*
 * guest.h — what the Calimero test guests share: the SDK, a bump buffer
 * for inputs, little-endian readers and CHECK (a failed check panics with
 * its line, which the test prints).
 */
#ifndef WEFT_TESTS_CALIMERO_GUEST_H
#define WEFT_TESTS_CALIMERO_GUEST_H

#include <stdint.h>
#include <string.h>

#include "calimero.h"

#define CHECK(c)                                    \
    do {                                            \
        if (!(c)) CAL_PANIC("check failed: " #c);   \
    } while (0)

/* The call's input, read into in_buf (up to IN_MAX bytes). */
#define IN_MAX (64u * 1024u)
static uint8_t in_buf[IN_MAX];

static inline size_t read_input(void)
{
    cal_input(0);
    int64_t n = cal_register_read(0, in_buf, sizeof in_buf);
    CHECK(n >= 0);
    return (size_t)n;
}

static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static inline void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline void ok(const void *p, size_t len)
{
    cal_return(CAL_OK, p, len);
}

static inline void ok_u32(uint32_t v)
{
    uint8_t b[4];
    wr32(b, v);
    ok(b, 4);
}

#endif
