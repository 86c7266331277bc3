/*
 * node_app.h — the bytes of NODE_APP_WASM (tests/node/guests/node_app.c,
 * built by tests/node/CMakeLists.txt), read once by the first test that
 * calls load_app and kept until the test process exits: the node tests
 * deploy it again and again. Include after ../unit/test.h.
 */
#ifndef WEFT_TESTS_NODE_NODE_APP_H
#define WEFT_TESTS_NODE_NODE_APP_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/node.h"

static uint8_t *app_bytes;
static size_t app_len;

static void load_app(void)
{
    if (app_bytes)
        return;
    FILE *f = fopen(NODE_APP_WASM, "rb");
    ASSERT_NOT_NULL(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    app_bytes = malloc((size_t)n);
    ASSERT_NOT_NULL(app_bytes);
    ASSERT_EQ_INT(fread(app_bytes, 1, (size_t)n, f), n);
    fclose(f);
    app_len = (size_t)n;
}

/* A request for function fn in context ctx with input `in` (NULL: none),
 * everything else zero. */
static inline weft_call_req_t node_req(const char *ctx, const char *fn, const char *in)
{
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = ctx;
    req.function = fn;
    req.input = (const uint8_t *)in;
    req.input_len = in ? strlen(in) : 0;
    return req;
}

#endif
