/*
 * tests/guests/alloc.c — malloc/realloc/free churn and memory growth.
 *
 * Keeps 512 live blocks of pseudo-random sizes, each filled with a pattern
 * derived from its id; every step frees, reallocates (checking the kept
 * prefix survived the move) or allocates one. Then grows the heap by tens
 * of MiB (memory.grow in wasm), touches every page and frees it all. Only
 * contents and counts are printed, never addresses, so the native and the
 * wasm32-wasi build must print the same lines.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 512

static uint32_t rng = 12345;

static uint32_t next(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 1;
}

typedef struct {
    uint8_t *p;
    size_t len;
    uint32_t id;
} block_t;

static void fill(block_t *b, size_t from)
{
    for (size_t i = from; i < b->len; i++)
        b->p[i] = (uint8_t)(b->id * 31u + i * 7u);
}

/* 1 when bytes [0, n) still hold the block's pattern. */
static int intact(const block_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b->p[i] != (uint8_t)(b->id * 31u + i * 7u))
            return 0;
    return 1;
}

static size_t random_size(void)
{
    uint32_t r = next() % 100;
    if (r < 60)
        return 1 + next() % 64; /* small */
    if (r < 95)
        return 64 + next() % 4096; /* medium */
    return 4096 + next() % (256 * 1024); /* large */
}

int main(void)
{
    static block_t slots[SLOTS];
    uint32_t ids = 0;
    uint64_t allocs = 0, reallocs = 0, frees = 0, bytes = 0;
    int corrupt = 0;

    for (int step = 0; step < 60000; step++) {
        block_t *b = &slots[next() % SLOTS];
        uint32_t op = next() % 3;
        if (b->p && op == 0) {
            corrupt += !intact(b, b->len);
            free(b->p);
            b->p = NULL;
            frees++;
        } else if (b->p && op == 1) {
            size_t n = random_size();
            uint8_t *q = realloc(b->p, n);
            if (!q) {
                printf("realloc(%zu) failed at step %d\n", n, step);
                return 1;
            }
            b->p = q;
            size_t kept = n < b->len ? n : b->len;
            corrupt += !intact(b, kept);
            b->len = n;
            fill(b, kept);
            reallocs++;
            bytes += n;
        } else if (!b->p) {
            b->len = random_size();
            b->id = ++ids;
            b->p = (next() & 1) ? malloc(b->len) : calloc(b->len, 1);
            if (!b->p) {
                printf("malloc(%zu) failed at step %d\n", b->len, step);
                return 1;
            }
            fill(b, 0);
            allocs++;
            bytes += b->len;
        }
        if (step % 10000 == 0) {
            uint64_t live = 0, sum = 0;
            for (int i = 0; i < SLOTS; i++) {
                if (!slots[i].p)
                    continue;
                live += slots[i].len;
                for (size_t j = 0; j < slots[i].len; j += 97)
                    sum += slots[i].p[j];
            }
            printf("step %5d: live %" PRIu64 " bytes, sample sum %" PRIu64 "\n", step, live, sum);
        }
    }
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].p) {
            corrupt += !intact(&slots[i], slots[i].len);
            free(slots[i].p);
            frees++;
        }
    }
    printf("churn: %" PRIu64 " mallocs, %" PRIu64 " reallocs, %" PRIu64 " frees, %" PRIu64
           " bytes, %d corrupt\n",
           allocs, reallocs, frees, bytes, corrupt);

    /* calloc must hand out zeroed memory even when it reuses freed blocks. */
    int dirty = 0;
    for (int i = 0; i < 200; i++) {
        size_t n = 1 + next() % 20000;
        uint8_t *p = malloc(n);
        memset(p, 0xab, n);
        free(p);
        uint8_t *z = calloc(n, 1);
        for (size_t j = 0; j < n; j++)
            dirty += z[j] != 0;
        free(z);
    }
    printf("calloc after free: %d dirty bytes\n", dirty);

    /* Growth: 48 MiB in blocks of 1-8 MiB, every page touched. */
    enum { BIG = 16 };
    uint8_t *big[BIG];
    size_t big_len[BIG], total = 0;
    uint64_t sum = 0;
    for (int i = 0; i < BIG && total < (48u << 20); i++) {
        big_len[i] = ((size_t)1 + next() % 8) << 20;
        big[i] = malloc(big_len[i]);
        if (!big[i]) {
            printf("large malloc of %zu MiB failed after %zu MiB\n", big_len[i] >> 20, total >> 20);
            return 1;
        }
        for (size_t j = 0; j < big_len[i]; j += 4096)
            big[i][j] = (uint8_t)(j >> 12);
        total += big_len[i];
        for (size_t j = 0; j < big_len[i]; j += 4096)
            sum += big[i][j];
        printf("large block %d: %zu MiB (total %zu MiB), page sum %" PRIu64 "\n", i,
               big_len[i] >> 20, total >> 20, sum);
        if (total >= (48u << 20)) {
            for (int k = 0; k <= i; k++)
                free(big[k]);
            break;
        }
    }
    /* Grow one block in place or by moving: realloc to 24 MiB keeps its head. */
    uint8_t *r = malloc(1 << 20);
    memset(r, 0x5a, 1 << 20);
    r = realloc(r, 24u << 20);
    int kept = 1;
    for (size_t j = 0; j < (1u << 20); j++)
        kept &= r[j] == 0x5a;
    free(r);
    printf("realloc 1 MiB -> 24 MiB keeps contents: %s\n", kept ? "yes" : "NO");
    return corrupt || dirty || !kept;
}
