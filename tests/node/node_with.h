/*
 * node_with.h — for the node tests: a threaded node of one worker in a
 * fresh directory (no fsync, no sync) with one app deployed from a file
 * and one context of it, closed when the test ends; the test is skipped
 * when the guest could not be built. Include after ../unit/test.h.
 */
#ifndef WEFT_TESTS_NODE_NODE_WITH_H
#define WEFT_TESTS_NODE_NODE_WITH_H

#include <stdlib.h>
#include <string.h>

#include "../component/jco_inputs.h"
#include "../store/tmpdir.h"
#include "weft/node.h"

static void node_with_close(void *n) { weft_node_close(n); }

/* The node, with the module at `path` deployed and context `ctx` of it. */
static weft_node_t *node_with(const char *path, const char *ctx)
{
    size_t len;
    uint8_t *bytes = jco_read_or_skip(path, &len);
    weft_node_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = tmpdir_new("node");
    cfg.flags = WEFT_NODE_DB_NOSYNC | WEFT_NODE_NO_SYNC;
    cfg.workers = 1;
    char msg[512], id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = NULL;
    if (weft_node_open(&cfg, &n, msg, sizeof msg) != 0) FAIL("open: %s", msg);
    test_defer(node_with_close, n);
    if (weft_node_app_deploy(n, bytes, len, "app", id, msg, sizeof msg) != 0)
        FAIL("deploy: %s", msg);
    free(bytes);
    ASSERT_EQ_INT(weft_node_context_create(n, ctx, id, msg, sizeof msg), 0);
    return n;
}

#endif
