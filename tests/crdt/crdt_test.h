/*
 * crdt_test.h — helpers shared by the CRDT tests, the fuzz target and the
 * benchmark: building ops of each kind for a replica (node id, seq, HLC),
 * and a seeded PRNG (xorshift64*) so that every run is reproducible.
 */
#ifndef WEFT_CRDT_TEST_H
#define WEFT_CRDT_TEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <weft/crdt.h>

typedef struct {
    uint8_t id[WEFT_CRDT_ORIGIN_LEN];
    uint64_t seq;
    weft_hlc_t hlc;
} replica_id_t;

static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static inline uint64_t rng_below(uint64_t *s, uint64_t n)
{
    return n ? rng_next(s) % n : 0;
}

/* An op of replica r at wall ms, payload borrowed from pl. */
static inline weft_crdt_op_t op_make(replica_id_t *r, uint8_t type, uint8_t kind, uint64_t wall,
                                     const uint8_t *pl, size_t pl_len)
{
    weft_crdt_op_t op;
    memset(&op, 0, sizeof op);
    op.context = (const uint8_t *)"ctx";
    op.context_len = 3;
    op.key = (const uint8_t *)"key";
    op.key_len = 3;
    op.type = type;
    op.kind = kind;
    memcpy(op.origin, r->id, WEFT_CRDT_ORIGIN_LEN);
    op.seq = ++r->seq;
    op.hlc = weft_hlc_now(&r->hlc, wall);
    op.payload = pl;
    op.payload_len = pl_len;
    return op;
}

#endif
