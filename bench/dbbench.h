/*
 * bench/dbbench.h — the workload shared by dbbench.c (a weft guest on nx)
 * and dbbench_native.c (the same operations straight on LMDB).
 *
 * Key i is "key%08d" (11 bytes), its value 100 bytes: twelve 64-bit words
 * derived from i, then i as 4 bytes. Keys and values are built by hand
 * rather than with snprintf so that both sides spend their time in the
 * database, not in formatting. The checksum mixes every word of every value
 * read back, so a wrong or missing value changes it.
 */
#ifndef WEFT_BENCH_DBBENCH_H
#define WEFT_BENCH_DBBENCH_H

#include <stdint.h>
#include <string.h>

#define DBB_KEY_LEN 11
#define DBB_VAL_LEN 100
#define DBB_DEFAULT_N 1000000

static inline void dbb_key(uint32_t i, char out[DBB_KEY_LEN])
{
    memcpy(out, "key", 3);
    for (int d = 10; d >= 3; d--) {
        out[d] = (char)('0' + i % 10);
        i /= 10;
    }
}

static inline void dbb_val(uint32_t i, uint8_t out[DBB_VAL_LEN])
{
    uint64_t w = (uint64_t)i * 0x9E3779B97F4A7C15ull;
    for (int j = 0; j < 12; j++) {
        uint64_t x = w + (uint64_t)j;
        memcpy(out + 8 * j, &x, 8);
    }
    memcpy(out + 96, &i, 4);
}

/* Folds one value (as read back) into the running checksum h. */
static inline uint64_t dbb_mix(uint64_t h, const uint8_t *v, uint32_t len)
{
    uint64_t x;
    uint32_t tail;
    if (len != DBB_VAL_LEN)
        return h ^ 0xbadbadbadull;
    for (int j = 0; j < 12; j++) {
        memcpy(&x, v + 8 * j, 8);
        h = (h ^ x) * 0x100000001b3ull;
    }
    memcpy(&tail, v + 96, 4);
    return (h ^ tail) * 0x100000001b3ull;
}

#endif
