/*
 * bench_blake3.c — throughput of weft's BLAKE3 (portable C, one core).
 *
 *   blake3_speed [SECONDS_PER_SIZE]
 *
 * Hashes buffers of several sizes over and over for about the given time
 * (default 0.5 s each) and prints MB/s (10^6 bytes per second). A
 * benchmark, not a test: it asserts nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "weft/blake3.h"

/* Keeps the hashing from being optimized away. */
static volatile uint8_t sink;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    double budget = argc > 1 ? atof(argv[1]) : 0.5;
    static const size_t sizes[] = {64, 1024, 16 * 1024, 1024 * 1024, 16 * 1024 * 1024};
    size_t max = sizes[sizeof sizes / sizeof sizes[0] - 1];
    uint8_t *buf = malloc(max);
    if (!buf) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < max; i++)
        buf[i] = (uint8_t)(i * 131 + 7);

    uint8_t out[32];
    printf("%10s %12s\n", "size", "MB/s");
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t len = sizes[k];
        uint64_t bytes = 0;
        double start = now(), t;
        do {
            for (int rep = 0; rep < 16; rep++) {
                weft_blake3(buf, len, out);
                sink ^= out[0];
                bytes += len;
            }
            t = now() - start;
        } while (t < budget);
        printf("%10zu %12.1f\n", len, (double)bytes / t / 1e6);
    }
    free(buf);
    return 0;
}
