/*
 * abi_calimero.c — the Calimero adapter (abi.h): a method is an export
 * with no parameters and no results, its input reaches the guest through
 * `input` and its output leaves through `value_return`. A Calimero
 * context (weft/calimero.h) is bound to the call's transaction, with the
 * caller's verified key (or the node's) as the executor. An `Ok` return
 * is the call's output; an `Err` return fails the call as EXIT with
 * status 1: its writes roll back and its bytes are the output
 * (docs/calimero.md). Logs and, after a commit, events (name = kind) go
 * into the result like nx's; a storage error aborts the call, or runs it
 * again when the map only grew.
 */
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "weft/calimero.h"
#include "weft/error.h"

static int cal_bind(node_call_t *c, void **state)
{
    weft_node_t *node = c->node;
    weft_calimero_config_t cc;
    *state = NULL;
    memset(&cc, 0, sizeof cc);
    cc.db = node->db;
    cc.context = c->req->context;
    if (node->has_id) {
        cc.node_id = node->id;
        cc.node_id_len = sizeof node->id;
    }
    weft_calimero_t *cal;
    int rc = weft_calimero_new(&cc, &cal);
    if (rc != 0) {
        node_result_fail(c->res, WEFT_CALL_ERROR, "cannot bind the Calimero ABI: %s",
                         weft_strerror(rc));
        return rc;
    }
    *state = cal;
    /* VMLimits bound the store unless the app or the call set their own */
    weft_limits_config_t l = weft_store_limits(c->store);
    weft_limits_config_t vm = l;
    weft_calimero_store_limits(cal, &vm);
    if (!c->lim->max_memory_pages)
        l.max_memory_pages = vm.max_memory_pages;
    if (!c->lim->max_stack_bytes)
        l.max_stack_bytes = vm.max_stack_bytes;
    if (weft_store_set_limits(c->store, &l) != 0 ||
        weft_calimero_define_imports(cal, c->linker, c->app->module) != 0) {
        node_result_fail(c->res, WEFT_CALL_ERROR, "out of memory");
        return WEFT_ENOMEM;
    }
    weft_calimero_call_t call = {.input = c->req->input, .input_len = c->req->input_len,
                                 .executor = c->req->caller, .view = c->view};
    weft_calimero_begin_call(cal, c->txn, &call);
    return 0;
}

/* The method: an export of type [] -> [], named by the request. */
static int cal_invoke(node_call_t *c, void *state, weft_instance_t *inst)
{
    weft_extern_t ext;
    (void)state;
    if (!c->function) {
        c->res->error = WEFT_EARG;
        c->what = "a Calimero call names its method";
        return WEFT_EARG;
    }
    if (weft_instance_export(inst, c->function, &ext) != 0 || ext.kind != WEFT_EXTERN_FUNC) {
        c->res->error = WEFT_EARG;
        c->what = "no such method";
        return WEFT_ENOTFOUND;
    }
    const weft_functype_t *ft = weft_func_type(ext.of.func);
    if (weft_functype_nparams(ft) != 0 || weft_functype_nresults(ft) != 0) {
        c->res->error = WEFT_EARG;
        c->what = "a Calimero method takes no parameters and returns nothing";
        return WEFT_EARG;
    }
    c->what = "call failed";
    return weft_func_call(c->store, ext.of.func, NULL, 0, NULL, 0);
}

static int cal_finish(node_call_t *c, void *state, int verdict)
{
    weft_calimero_t *cal = state;
    weft_call_result_t *res = c->res;
    if (!cal)
        return verdict;
    weft_calimero_end_call(cal);
    int err = weft_calimero_call_error(cal);
    if (weft_db_retryable(err))
        return -1;
    if (err && verdict == 1) {
        verdict = 0;
        node_result_fail(res, WEFT_CALL_ERROR, "database error: %s", weft_db_errmsg(c->node->db));
    }
    const uint8_t *out;
    size_t len;
    int kind = weft_calimero_return(cal, &out, &len), give = verdict == 1;
    if (kind == WEFT_CALIMERO_ERR && verdict == 1) {
        verdict = 0;
        res->exit_status = 1;
        node_result_fail(res, WEFT_CALL_EXIT, "the method returned Err (%zu bytes)", len);
    }
    if (kind != WEFT_CALIMERO_NONE && give && (res->output = malloc(len ? len : 1))) {
        if (len)
            memcpy(res->output, out, len);
        res->output_len = len;
    }
    for (size_t i = 0, n = weft_calimero_log_count(cal); i < n; i++) {
        const char *m;
        size_t ml;
        if (weft_calimero_log(cal, i, &m, &ml) == 0)
            node_result_add_log(res, NODE_LOG_NX, m, ml);
    }
    for (size_t i = 0, n = verdict == 1 ? weft_calimero_event_count(cal) : 0; i < n; i++) {
        const char *kind_name;
        const uint8_t *data;
        size_t kl, dl;
        if (weft_calimero_event(cal, i, &kind_name, &kl, &data, &dl, NULL, NULL) == 0)
            node_result_add_event(res, kind_name, kl, data, dl);
    }
    return verdict;
}

static void cal_free(void *state)
{
    if (state)
        weft_calimero_delete(state);
}

const node_abi_t node_abi_calimero = {"calimero", cal_bind, cal_invoke, cal_finish, cal_free};
