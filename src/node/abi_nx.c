/*
 * abi_nx.c — the nx adapter (abi.h): weft's native ABI and plain WASI
 * modules. The input is the guest's stdin and stdout its output (call.c
 * does both for every ABI); a function with numeric parameters takes the
 * request's typed arguments and returns its results (the generic invoke).
 * A module that imports nx gets an nx context bound to the call's
 * transaction: its log lines come before stderr's, its events are the
 * call's, and a storage error aborts the call (or runs it again when the
 * map only grew).
 */
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "weft/error.h"
#include "weft/nx.h"

static int nx_bind(node_call_t *c, void **state)
{
    weft_node_t *node = c->node;
    *state = NULL;
    if (!c->app->needs_store)
        return 0; /* WASI only */
    weft_nx_config_t nc;
    memset(&nc, 0, sizeof nc);
    nc.db = node->db;
    nc.context = c->req->context;
    nc.module_id = c->app->name;
    if (node->has_id) {
        nc.flags = WEFT_NX_SYNC;
        nc.node_id = node->id;
        nc.node_id_len = sizeof node->id;
        if (node->sync) {
            nc.peers = node_sync_peers_nx;
            nc.peers_user = node;
        }
    }
    nc.env = (const char *const *)node->env;
    nc.nenv = node->nenv;
    weft_nx_t *nx;
    if (weft_nx_new(&nc, &nx) != 0) {
        node_result_fail(c->res, WEFT_CALL_ERROR, "out of memory");
        return WEFT_ENOMEM;
    }
    *state = nx;
    c->host_user = nx; /* a kept instance's nx imports are pointed at it (call.c) */
    if (c->linker && weft_nx_define_imports(nx, c->linker, c->app->module) != 0) {
        node_result_fail(c->res, WEFT_CALL_ERROR, "out of memory");
        return WEFT_ENOMEM;
    }
    if (c->view)
        weft_nx_begin_view(nx, c->txn); /* its writes trap */
    else
        weft_nx_begin_call(nx, c->txn);
    return 0;
}

static int nx_finish(node_call_t *c, void *state, int verdict)
{
    weft_nx_t *nx = state;
    weft_call_result_t *res = c->res;
    if (!nx)
        return verdict;
    weft_nx_end_call(nx);
    int err = weft_nx_call_error(nx);
    if (weft_db_retryable(err))
        return -1;
    if (err && verdict == 1) {
        verdict = 0;
        node_result_fail(res, WEFT_CALL_ERROR, "database error: %s", weft_db_errmsg(c->node->db));
    }
    res->logs_dropped = weft_nx_logs_dropped(nx);
    for (size_t i = 0, n = weft_nx_log_count(nx); i < n; i++) {
        const char *m;
        size_t len;
        if (weft_nx_log(nx, i, &m, &len) == 0)
            node_result_add_log(res, NODE_LOG_NX, m, len);
    }
    for (size_t i = 0, n = verdict == 1 ? weft_nx_event_count(nx) : 0; i < n; i++) {
        const char *name;
        const uint8_t *p;
        size_t nl, pl;
        if (weft_nx_event(nx, i, &name, &nl, &p, &pl) == 0)
            node_result_add_event(res, name, nl, p, pl);
    }
    return verdict;
}

static void nx_free(void *state)
{
    if (state)
        weft_nx_delete(state);
}

/* keep: an nx or plain WASI call's instance is kept for the thread's next
 * call of the module and reset then (call.c "Kept instances"): the nx
 * context is all its nx imports point to. */
const node_abi_t node_abi_nx = {"nx", nx_bind, NULL, nx_finish, nx_free, 1, NULL, 0};
