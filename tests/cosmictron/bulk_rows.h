/*
 * bulk_rows.h — the rows of guests/cosm_abi.c's `bulk` reducer, shared
 * with the host test that checks them (test_cosm_abi.c): row i of the
 * `log` table is a String of bulk_len(i) bytes, byte j of it bulk_byte(i,
 * j). The lengths are chosen against the binding's 64 KiB blocks of row
 * changes (src/host/cosmictron.c, ROWS_BLOCK): rows 0-63 are 1,024 bytes
 * of BSATN each and fill the first block exactly, row 64 is longer than a
 * block (a block of its own), the rest vary so later ones straddle more
 * boundaries.
 */
#ifndef WEFT_TESTS_COSMICTRON_BULK_ROWS_H
#define WEFT_TESTS_COSMICTRON_BULK_ROWS_H

#include <stdint.h>

#define BULK_BIG 70000u /* row 64's string: with its length, more than 64 KiB */

static inline uint32_t bulk_len(uint32_t i)
{
    if (i < 64) return 1020; /* + the u32 length: 1,024 bytes */
    if (i == 64) return BULK_BIG;
    return 1 + (i * 37u) % 3000u;
}

static inline uint8_t bulk_byte(uint32_t i, uint32_t j)
{
    return (uint8_t)('a' + (i * 7u + j) % 26u);
}

#endif
