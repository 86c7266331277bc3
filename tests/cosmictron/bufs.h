/*
 * bufs.h — BSATN buffers for the Cosmictron tests: buf() gives an empty
 * weft_bsatn_buf_t freed when the test ends. Include after ../unit/test.h.
 */
#ifndef WEFT_TESTS_COSMICTRON_BUFS_H
#define WEFT_TESTS_COSMICTRON_BUFS_H

#include <stdlib.h>

#include "weft/bsatn.h"

typedef weft_bsatn_buf_t buf_t;

static void buf_free(void *b)
{
    weft_bsatn_buf_fini(b);
    free(b);
}

static buf_t *buf(void)
{
    buf_t *b = calloc(1, sizeof *b);
    ASSERT_NOT_NULL(b);
    test_defer(buf_free, b);
    return b;
}

#endif
