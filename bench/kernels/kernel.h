/*
 * bench/kernels/kernel.h — the contract every benchmark kernel follows.
 *
 * A kernel is one self-contained C file (no libc calls, no malloc: static
 * arrays only) linked with the driver bench/main.c twice: to a wasm32-wasi
 * program for weft and natively with gcc for the baseline.
 * run() does the timed work (~0.3-1 s natively); check() does a tiny version
 * of the same work for the e2e test. Both return a checksum that depends on
 * every step, so the work cannot be optimised away and the two builds can be
 * compared. Only fixed-width types are used: `long` differs between wasm32
 * and x86_64, and signed overflow is avoided by using unsigned arithmetic.
 */
#ifndef WEFT_BENCH_KERNEL_H
#define WEFT_BENCH_KERNEL_H

#include <stddef.h>
#include <stdint.h>

long long run(void);
long long check(void);

#endif
