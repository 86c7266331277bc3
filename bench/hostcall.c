/*
 * bench/hostcall.c — the cost of a host call: `hostcall [N]`.
 *
 * Reads the monotonic clock N times (default 10 million) in a loop and
 * prints "calls N ns_per_call X sum S". Natively that is clock_gettime (the
 * vDSO: no system call); in the wasm32-wasi build it is the raw WASI import
 * clock_time_get, so the difference per call is what weft adds to a host
 * call: leaving the interpreter, the callback, checking and writing the
 * result pointer in guest memory, coming back. Timed inside the program, so
 * start-up is not counted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef __wasi__
#include <wasi/api.h>

static uint64_t now_ns(void)
{
    __wasi_timestamp_t t = 0;
    if (__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t) != 0)
        abort();
    return t;
}
#else
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        abort();
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000u;
    if (n == 0)
        n = 1;
    uint64_t sum = 0;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++)
        sum += now_ns() & 0xff; /* use every result */
    uint64_t t1 = now_ns();
    printf("calls %llu ns_per_call %.2f sum %llu\n", (unsigned long long)n,
           (double)(t1 - t0) / (double)n, (unsigned long long)sum);
    return 0;
}
