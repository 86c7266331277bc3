/*
 * check.h — checks for the WASI test guests (compiled to wasm32-wasi).
 *
 * CHECK(cond) and CHECK_EQ(a, b) report a failure on stderr with file, line
 * and both values, and count it; the guest carries on so one run shows
 * every failure, and returns check_result() (1 if anything failed) from
 * main. ERR(call) evaluates a raw __wasi_* call to its errno as an int.
 */
#ifndef WEFT_WASI_CHECK_H
#define WEFT_WASI_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <wasi/api.h>

static int check_failures;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                       \
        }                                                                           \
    } while (0)

#define CHECK_EQ(a, b)                                                                  \
    do {                                                                                \
        long long a_ = (long long)(a), b_ = (long long)(b);                             \
        if (a_ != b_) {                                                                 \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, \
                    #a, #b, a_, b_);                                                    \
            check_failures++;                                                           \
        }                                                                               \
    } while (0)

#define ERR(call) ((int)(call))

/* The first address past the end of linear memory 0. */
#define MEM_END ((uint32_t)(__builtin_wasm_memory_size(0) * 65536u))
/* A guest pointer at an arbitrary (usually bad) address. */
#define AT(addr) ((void *)(uintptr_t)(addr))

static inline int check_result(const char *name)
{
    if (check_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
        return 1;
    }
    printf("%s ok\n", name);
    return 0;
}

#endif
