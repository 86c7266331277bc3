/*
 * abi.c — the table of guest ABI adapters (abi.h), by the names of
 * weft/profile.h's ABI table: adding an ABI is one line here and one row
 * there.
 */
#include <stdio.h>
#include <string.h>

#include "abi.h"
#include "weft/error.h"

static const node_abi_t *const adapters[] = {
    &node_abi_nx,
    &node_abi_faasm,
    &node_abi_calimero,
    &node_abi_cosmictron,
    &node_abi_component, /* not in weft/profile.h: components are told by their preamble */
};

const node_abi_t *node_abi_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof adapters / sizeof adapters[0]; i++)
        if (strcmp(adapters[i]->name, name) == 0)
            return adapters[i];
    return NULL;
}

int node_http_fetch(void *user, const weft_http_request_t *req, weft_http_response_t *resp,
                    char *msg, size_t msg_size)
{
    node_call_t *c = user;
    if (!c->node->http_fetch) {
        if (msg && msg_size)
            snprintf(msg, msg_size, "outbound HTTP is not allowed on this node%s",
                     c->node->flags & WEFT_NODE_INLINE ? " (weft run has none)" : "");
        return WEFT_ENOTFOUND;
    }
    weft_http_request_t r = *req;
    r.app_id = c->app->id;
    r.app_name = c->app->name[0] ? c->app->name : NULL;
    /* the binding's own deadline (wasi:http's timeouts) or the call's: the nearer */
    if (!r.deadline_ns || (c->deadline_ns && c->deadline_ns < r.deadline_ns))
        r.deadline_ns = c->deadline_ns;
    return c->node->http_fetch(c->node->http_user, &r, resp, msg, msg_size);
}
