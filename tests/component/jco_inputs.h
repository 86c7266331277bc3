/*
 * jco_inputs.h — reading a test component jco built (CMakeLists.txt) for
 * the component tests: a test whose input was not built (no jco) exits 77,
 * which CTest reports as skipped. Header-only; aborts if out of memory.
 */
#ifndef WEFT_TEST_JCO_INPUTS_H
#define WEFT_TEST_JCO_INPUTS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The bytes of `path` (malloc'ed, the caller frees) and their count in *len. */
static inline uint8_t *jco_read_or_skip(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "SKIP: %s was not built (jco not installed: run scripts/install-deps.sh)\n",
                path);
        exit(77);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
        abort();
    fclose(f);
    *len = (size_t)n;
    return b;
}

#endif
