/*
 * bench/native_main.c — the driver of a kernel's native build.
 *
 * `NAME-native` prints run()'s checksum, `NAME-native check` prints check()'s,
 * one signed decimal per line: exactly what `weft run --invoke run|check`
 * prints for the i64 result, so bench/run.sh and the e2e tests compare the
 * two outputs as strings.
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
