/*
 * bench/main.c — the driver of a kernel, for its native and its WASI build.
 *
 * `KERNEL` prints run()'s checksum, `KERNEL check` prints check()'s, one
 * signed decimal per line. The same file is compiled natively (gcc) and to
 * wasm32-wasi (clang, wasi-libc), so `weft run KERNEL.wasm [check]` and
 * `KERNEL-native [check]` must print identical lines: bench/run.sh and the
 * e2e tests compare them as strings.
 */
#include <stdio.h>
#include <string.h>

#include "kernels/kernel.h"

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "check") != 0 && strcmp(argv[1], "run") != 0)) {
        fprintf(stderr, "usage: %s [run|check]\n", argv[0]);
        return 2;
    }
    long long sum = (argc == 2 && strcmp(argv[1], "check") == 0) ? check() : run();
    printf("%lld\n", sum);
    return 0;
}
