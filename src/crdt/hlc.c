/*
 * hlc.c — hybrid logical clock (Kulkarni et al., "Logical Physical Clocks"),
 * packed in a u64: upper 48 bits Unix milliseconds, lower 16 a counter.
 *
 * Packed this way the timestamp's physical and logical parts compare as
 * one integer, so "max, then +1" is the whole rule: when the counter of a
 * millisecond overflows, +1 carries into the millisecond, which keeps the
 * clock strictly increasing at the cost of running ahead of wall time by
 * 1 ms per 65536 events within one ms. Wall time is an argument: no I/O.
 */
#include "weft/crdt.h"

/* +1 that sticks at the top instead of wrapping to 0: a peer's clock set
 * absurdly far ahead must not make ours go back. Sync rejects such peers. */
static uint64_t bump(uint64_t t)
{
    return t == UINT64_MAX ? t : t + 1;
}

void weft_hlc_init(weft_hlc_t *h, uint64_t last)
{
    h->last = last;
}

uint64_t weft_hlc_now(weft_hlc_t *h, uint64_t wall_ms)
{
    uint64_t wall = WEFT_HLC_MAKE(wall_ms & 0xffffffffffffull, 0);
    h->last = wall > h->last ? wall : bump(h->last);
    return h->last;
}

uint64_t weft_hlc_observe(weft_hlc_t *h, uint64_t remote_hlc, uint64_t wall_ms)
{
    uint64_t wall = WEFT_HLC_MAKE(wall_ms & 0xffffffffffffull, 0);
    uint64_t seen = remote_hlc > h->last ? remote_hlc : h->last;
    h->last = wall > seen ? wall : bump(seen);
    return h->last;
}
