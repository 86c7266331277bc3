/*
 * bench/kernels/sieve.c — integer loops: the sieve of Eratosthenes.
 *
 * Sieves the numbers below LIMIT in a byte array several times over, then
 * counts and sums the primes. Tight loops of adds, compares and byte
 * stores with a stride: loop overhead and memory store throughput.
 */
#include "kernel.h"

#define LIMIT (4u << 20)

static uint8_t composite[LIMIT];
static volatile uint32_t run_rounds = 60;
static volatile uint32_t check_limit = 1000;

/* Returns count << 40 ^ sum of the primes below `limit` (<= LIMIT). */
static uint64_t sieve(uint32_t limit)
{
    for (uint32_t i = 0; i < limit; i++)
        composite[i] = 0;
    for (uint32_t i = 2; i * i < limit; i++) {
        if (composite[i])
            continue;
        for (uint32_t j = i * i; j < limit; j += i)
            composite[j] = 1;
    }
    uint64_t count = 0, sum = 0;
    for (uint32_t i = 2; i < limit; i++) {
        if (!composite[i]) {
            count++;
            sum += i;
        }
    }
    return (count << 40) ^ sum;
}

long long run(void)
{
    uint64_t acc = 0;
    uint32_t rounds = run_rounds;
    /* Slightly different limits per round so each round does fresh work. */
    for (uint32_t r = 0; r < rounds; r++)
        acc = acc * 31 + sieve(LIMIT - r * 1000);
    return (long long)acc;
}

/* 168 primes below 1000, summing to 76127. */
long long check(void)
{
    return (long long)sieve(check_limit);
}
