/*
 * bench/kernels/hashmap.c — memory-heavy hashing: an open-addressing table.
 *
 * Counts occurrences of pseudo-random keys in a 2^21-slot table (16 MiB of
 * key/count pairs, far bigger than the caches) with linear probing, then
 * looks up hits and misses. Keys are hashed with FNV-1a over their bytes
 * followed by a multiply-xorshift finaliser. Measures random loads/stores
 * across a large linear memory plus integer multiply and shift work.
 */
#include "kernel.h"

#define SLOT_BITS 21
#define SLOTS (1u << SLOT_BITS)
#define EMPTY 0u /* keys are made nonzero */

typedef struct {
    uint32_t key;
    uint32_t count;
} slot_t;

static slot_t table[SLOTS];
static volatile uint32_t run_ops = 6000000;
static volatile uint32_t run_rounds = 3;
static volatile uint32_t check_ops = 2000;

static uint32_t hash(uint32_t key)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 4; i++) {
        h ^= (key >> (8 * i)) & 0xffu;
        h *= 16777619u;
    }
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    return h;
}

static slot_t *find(uint32_t key)
{
    uint32_t i = hash(key) & (SLOTS - 1);
    while (table[i].key != EMPTY && table[i].key != key)
        i = (i + 1) & (SLOTS - 1);
    return &table[i];
}

static uint64_t work(uint32_t ops, uint32_t seed)
{
    for (uint32_t i = 0; i < SLOTS; i++)
        table[i] = (slot_t){EMPTY, 0};

    /* Keys from a range of ~ops/4 values so most inserts hit existing keys,
     * keeping the load factor below 3/4 for the run size. */
    uint32_t range = ops / 4 + 1;
    uint32_t x = seed, distinct = 0;
    for (uint32_t i = 0; i < ops; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        uint32_t key = x % range + 1;
        slot_t *s = find(key);
        if (s->key == EMPTY) {
            s->key = key;
            distinct++;
        }
        s->count++;
    }

    uint64_t sum = distinct;
    for (uint32_t k = 1; k <= 2 * range; k++) {
        slot_t *s = find(k);
        sum = sum * 31 + (s->key == k ? s->count : 0x55u);
    }
    return sum;
}

long long run(void)
{
    uint64_t acc = 0;
    uint32_t rounds = run_rounds;
    for (uint32_t r = 0; r < rounds; r++)
        acc = acc * 3 + work(run_ops, 0x12345678u + r);
    return (long long)acc;
}

long long check(void)
{
    return (long long)work(check_ops, 0x12345678u);
}
