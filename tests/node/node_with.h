/*
 * node_with.h — for the tests that run guests through a node (tests/node,
 * tests/faasm): a threaded node in a fresh directory (no fsync, no sync),
 * apps deployed with their contexts, calls whose results live until the
 * test ends. What these register with test_defer is undone when the test
 * ends, pass or fail: the node closed before its directory is removed. A
 * test whose guest could not be built is skipped (jco_read_or_skip).
 * Include after ../unit/test.h.
 */
#ifndef WEFT_TESTS_NODE_NODE_WITH_H
#define WEFT_TESTS_NODE_NODE_WITH_H

#include <stdlib.h>
#include <string.h>

#include "../component/jco_inputs.h"
#include "../store/tmpdir.h"
#include "weft/node.h"

static inline void node_with_close(void *n) { weft_node_close(n); }
static inline void node_with_free_result(void *r) { weft_call_result_delete(r); }

/* The bytes of the module at `path`, freed when the test ends. */
static inline uint8_t *node_with_read(const char *path, size_t *out_len)
{
    uint8_t *bytes = jco_read_or_skip(path, out_len);
    test_defer(free, bytes);
    return bytes;
}

/* A node of `workers` threads on data directory `dir`; the caller closes
 * it (a test that reopens the directory). */
static inline weft_node_t *node_with_open_on(const char *dir, unsigned workers)
{
    weft_node_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = dir;
    cfg.flags = WEFT_NODE_DB_NOSYNC | WEFT_NODE_NO_SYNC;
    cfg.workers = workers;
    char msg[512];
    weft_node_t *n = NULL;
    if (weft_node_open(&cfg, &n, msg, sizeof msg) != 0)
        FAIL("open: %s", msg);
    return n;
}

/* The same on a new directory weft-TAG-XXXXXX, both gone when the test
 * ends. */
static inline weft_node_t *node_with_open(const char *tag, unsigned workers)
{
    weft_node_t *n = node_with_open_on(tmpdir_new(tag), workers);
    test_defer(node_with_close, n);
    return n;
}

/* Deploys `bytes` as app `name` and makes a context of it for each name in
 * `contexts` (NULL-terminated); the app's id in out_id when not NULL. */
static inline void node_with_deploy(weft_node_t *n, const uint8_t *bytes, size_t len,
                                    const char *name, const char *const *contexts,
                                    char *out_id)
{
    char msg[512], id[WEFT_APP_ID_LEN + 1];
    if (weft_node_app_deploy(n, bytes, len, name, id, msg, sizeof msg) != 0)
        FAIL("deploy %s: %s", name, msg);
    for (size_t i = 0; contexts && contexts[i]; i++)
        if (weft_node_context_create(n, contexts[i], id, msg, sizeof msg) != 0)
            FAIL("context %s: %s", contexts[i], msg);
    if (out_id)
        memcpy(out_id, id, sizeof id);
}

/* A node of one worker with the module at `path` deployed and context
 * `ctx` of it. */
static inline weft_node_t *node_with(const char *path, const char *ctx)
{
    size_t len;
    const uint8_t *bytes = node_with_read(path, &len);
    weft_node_t *n = node_with_open("node", 1);
    node_with_deploy(n, bytes, len, "app", (const char *const[]){ctx, NULL}, NULL);
    return n;
}

/* weft_node_call of `req`, which the node must accept (whatever the
 * call's outcome); the result is freed when the test ends. */
static inline weft_call_result_t *node_with_call(weft_node_t *n, const weft_call_req_t *req)
{
    weft_call_result_t *res = NULL;
    ASSERT_EQ_INT(weft_node_call(n, req, &res), 0);
    test_defer(node_with_free_result, res);
    return res;
}

#endif
