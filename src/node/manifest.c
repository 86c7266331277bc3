/*
 * manifest.c — an app's manifest: what the module alone cannot say.
 *
 *   {"abi": "calimero",
 *    "views": ["list", "count"],
 *    "limits": {"fuel": N, "timeout_ms": N, "max_memory_pages": N,
 *               "max_input_bytes": N, "max_output_bytes": N},
 *    "imports": ["funcs", "wasi:cli"], "stub_missing": true,
 *    "funcs": {"allow": ["ctx:fn", "ctx:*"], "max_depth": 8},
 *    "sockets": {"allow": ["127.0.0.1:7000", "10.0.0.0/8:*"], "listen": ["127.0.0.1:0"]},
 *    "tier": "auto"}
 *
 * Every member is optional and nothing else is allowed (a typo is an
 * error, not a silent default). `abi` binds the app to a guest ABI by name
 * instead of detecting it from its imports (weft/profile.h); it must be
 * one of the node's and provide every import. `views` names exported functions that
 * always run as views (read-only, beside the writer), whatever interface
 * called them; `limits` replace the node's for this app's calls (a
 * request's own limits still win). The manifest is stored as given, under
 * "manifest/" ID in the meta space, with the first deploy of the bytes
 * (like the name), and parsed when the app is loaded. `imports`,
 * `stub_missing`, `funcs` and `sockets` are for components
 * (docs/components.md, "Components on a node"): the import groups linked,
 * stubs that trap for the others, the targets funcs may call, and the
 * remote addresses wasi:sockets may reach and the local ones its TCP
 * sockets may listen on (none by default). `tier` ("interp", "jit" or
 * "auto", docs/jit.md) replaces the node's tier for this app's module.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_priv.h"
#include "weft/error.h"
#include "weft/wasip2.h"

static int exports_func(const weft_module_t *m, const char *name)
{
    weft_externdesc_t d;
    return weft_module_export_find(m, name, strlen(name), &d) == 0 && d.kind == WEFT_EXTERN_FUNC;
}

void node_manifest_free(node_manifest_t *mf)
{
    for (size_t i = 0; i < mf->nviews; i++)
        free(mf->views[i]);
    free(mf->views);
    free(mf->abi);
    for (size_t i = 0; i < mf->nimports; i++)
        free(mf->imports[i]);
    free(mf->imports);
    for (size_t i = 0; i < mf->nallow; i++)
        free(mf->allow[i]);
    free(mf->allow);
    for (size_t i = 0; i < mf->nnet_allow; i++)
        free(mf->net_allow[i]);
    free(mf->net_allow);
    for (size_t i = 0; i < mf->nnet_listen; i++)
        free(mf->net_listen[i]);
    free(mf->net_listen);
    memset(mf, 0, sizeof *mf);
}

/* A JSON list of strings into a new NULL-ended array: 0, -1 (not such a
 * list: msg says what `what` must be) or WEFT_ENOMEM. */
static int string_list(json_t *list, const char *what, char ***out, size_t *n, char *msg,
                       size_t msg_size)
{
    size_t i;
    json_t *v;
    if (!json_is_array(list)) {
        snprintf(msg, msg_size, "manifest: %s must be a list of strings", what);
        return -1;
    }
    if (!(*out = calloc(json_array_size(list) + 1, sizeof **out)))
        return WEFT_ENOMEM;
    json_array_foreach(list, i, v) {
        if (!json_is_string(v)) {
            snprintf(msg, msg_size, "manifest: %s must be a list of strings (item %zu is not)",
                     what, i + 1);
            return -1;
        }
        if (!((*out)[*n] = strdup(json_string_value(v))))
            return WEFT_ENOMEM;
        (*n)++;
    }
    return 0;
}

/* "sockets"' "allow" (listen 0) or "listen" rules: 0 or an error code,
 * msg saying why. */
static int net_rules(json_t *list, int listen, char ***out, size_t *n, char *msg,
                     size_t msg_size)
{
    int rc = string_list(list, listen ? "\"sockets\".\"listen\"" : "\"sockets\".\"allow\"",
                         out, n, msg, msg_size);
    if (rc)
        return rc < 0 ? WEFT_EARG : rc;
    char why[300];
    if (weft_wasip2_net_rules_check((const char *const *)*out, *n, listen, why,
                                    sizeof why) != 0) {
        snprintf(msg, msg_size, "manifest: %s", why);
        return WEFT_EARG;
    }
    return 0;
}

int node_manifest_parse(const char *text, size_t len, const weft_module_t *module,
                        node_manifest_t *out, char *msg, size_t msg_size)
{
    json_error_t je;
    json_t *views = NULL, *limits = NULL, *imports = NULL, *funcs = NULL, *sockets = NULL;
    int stub = 0;
    const char *abi = NULL;
    memset(out, 0, sizeof *out);
    json_t *root = json_loadb(text, len, 0, &je);
    if (!root) {
        snprintf(msg, msg_size, "manifest: malformed JSON at line %d, column %d: %s", je.line,
                 je.column, je.text);
        return WEFT_EARG;
    }
    int rc = WEFT_EARG;
    const char *tier = NULL;
    if (json_unpack_ex(root, &je, JSON_STRICT, "{s?s,s?o,s?o,s?o,s?b,s?o,s?o,s?s}", "abi", &abi,
                       "views", &views, "limits", &limits, "imports", &imports, "stub_missing",
                       &stub, "funcs", &funcs, "sockets", &sockets, "tier", &tier) != 0) {
        snprintf(msg, msg_size, "manifest: %s (it takes \"abi\", \"views\", \"limits\", "
                 "\"tier\", and for a component \"imports\", \"stub_missing\", \"funcs\" and "
                 "\"sockets\")",
                 je.text);
        goto done;
    }
    if (tier) {
        if (strcmp(tier, "interp") == 0) {
            out->tier = WEFT_TIER_INTERP + 1;
        } else if (strcmp(tier, "jit") == 0) {
            out->tier = WEFT_TIER_JIT + 1;
        } else if (strcmp(tier, "auto") == 0) {
            out->tier = WEFT_TIER_AUTO + 1;
        } else {
            snprintf(msg, msg_size, "manifest: \"tier\": '%s' is not interp, jit or auto", tier);
            goto done;
        }
    }
    out->stub_missing = stub;
    if (imports && (rc = string_list(imports, "\"imports\"", &out->imports, &out->nimports, msg,
                                     msg_size)) != 0) {
        rc = rc < 0 ? WEFT_EARG : rc;
        goto done;
    }
    rc = WEFT_EARG;
    if (funcs) {
        json_t *allow = NULL;
        json_int_t depth = 0;
        if (json_unpack_ex(funcs, &je, JSON_STRICT, "{s?o,s?I}", "allow", &allow, "max_depth",
                           &depth) != 0) {
            snprintf(msg, msg_size, "manifest: \"funcs\": %s (it takes \"allow\" and "
                     "\"max_depth\")", je.text);
            goto done;
        }
        if (depth < 0 || depth > 64) {
            snprintf(msg, msg_size, "manifest: \"funcs\": max_depth is 1 to 64");
            goto done;
        }
        out->max_depth = (unsigned)depth;
        if (allow && (rc = string_list(allow, "\"funcs\".\"allow\"", &out->allow, &out->nallow,
                                       msg, msg_size)) != 0) {
            rc = rc < 0 ? WEFT_EARG : rc;
            goto done;
        }
        rc = WEFT_EARG;
    }
    if (sockets) {
        json_t *allow = NULL, *listen = NULL;
        int bad = json_unpack_ex(sockets, &je, JSON_STRICT, "{s?o,s?o}", "allow", &allow,
                                 "listen", &listen) != 0;
        if (bad || (!allow && !listen)) {
            snprintf(msg, msg_size, "manifest: \"sockets\": %s (it takes \"allow\" and "
                     "\"listen\", lists of \"ADDRESS[/PREFIX]:PORT\")",
                     bad ? je.text : "neither \"allow\" nor \"listen\"");
            goto done;
        }
        if ((allow && (rc = net_rules(allow, 0, &out->net_allow, &out->nnet_allow, msg,
                                      msg_size)) != 0) ||
            (listen && (rc = net_rules(listen, 1, &out->net_listen, &out->nnet_listen, msg,
                                       msg_size)) != 0))
            goto done;
        rc = WEFT_EARG;
    }
    if (abi && !(out->abi = strdup(abi))) {
        rc = WEFT_ENOMEM;
        goto done;
    }
    if (views) {
        size_t i;
        json_t *v;
        if (!json_is_array(views)) {
            snprintf(msg, msg_size, "manifest: \"views\" must be a list of function names");
            goto done;
        }
        out->views = calloc(json_array_size(views) + 1, sizeof *out->views);
        if (!out->views) {
            rc = WEFT_ENOMEM;
            goto done;
        }
        json_array_foreach(views, i, v) {
            const char *f = json_string_value(v);
            if (!f || (module && !exports_func(module, f))) {
                snprintf(msg, msg_size, "manifest: view %zu is not a function the module "
                         "exports%s%s", i + 1, f ? ": " : "", f ? f : "");
                goto done;
            }
            if (!(out->views[out->nviews] = strdup(f))) {
                rc = WEFT_ENOMEM;
                goto done;
            }
            out->nviews++;
        }
    }
    if (limits) {
        json_int_t fuel = 0, timeout_ms = 0, pages = 0, in = 0, outb = 0;
        if (json_unpack_ex(limits, &je, JSON_STRICT, "{s?I,s?I,s?I,s?I,s?I}", "fuel", &fuel,
                           "timeout_ms", &timeout_ms, "max_memory_pages", &pages,
                           "max_input_bytes", &in, "max_output_bytes", &outb) != 0 ||
            fuel < 0 || timeout_ms < 0 || pages < 0 || pages > 65536 || in < 0 || outb < 0) {
            snprintf(msg, msg_size, "manifest: \"limits\": %s",
                     je.text[0] ? je.text : "a value is out of range");
            goto done;
        }
        out->limits.fuel = (uint64_t)fuel;
        out->limits.timeout_ns = (uint64_t)timeout_ms * 1000000u;
        out->limits.max_memory_pages = (uint32_t)pages;
        out->limits.max_input = (size_t)in;
        out->limits.max_output = (size_t)outb;
    }
    rc = 0;
done:
    json_decref(root);
    if (rc != 0)
        node_manifest_free(out);
    return rc;
}

int node_manifest_is_view(const node_manifest_t *mf, const char *function)
{
    for (size_t i = 0; function && i < mf->nviews; i++)
        if (strcmp(mf->views[i], function) == 0)
            return 1;
    return 0;
}

void node_limits_merge(weft_call_limits_t *lim, const weft_call_limits_t *app,
                       const weft_call_limits_t *req)
{
    const weft_call_limits_t *layers[2] = {app, req};
    for (int i = 0; i < 2; i++) {
        const weft_call_limits_t *l = layers[i];
        if (l->fuel)
            lim->fuel = l->fuel;
        if (l->max_memory_pages)
            lim->max_memory_pages = l->max_memory_pages;
        if (l->timeout_ns)
            lim->timeout_ns = l->timeout_ns;
        if (l->max_input)
            lim->max_input = l->max_input;
        if (l->max_output)
            lim->max_output = l->max_output;
        if (l->max_stack_bytes)
            lim->max_stack_bytes = l->max_stack_bytes;
        if (l->max_table_elems)
            lim->max_table_elems = l->max_table_elems;
    }
}

/* The app of a deployed context's request, read in a read transaction
 * (NULL when there is none); apps stay cached until the node closes. */
static node_app_t *request_app(weft_node_t *node, const weft_call_req_t *req)
{
    char app_id[WEFT_APP_ID_LEN + 1], msg[256];
    weft_txn_t *txn;
    if (req->app)
        return NULL; /* an opened app has no manifest */
    if (!node->db || weft_txn_begin(node->db, WEFT_TXN_READ, &txn) != 0)
        return NULL;
    node_app_t *a = NULL;
    if (node_context_app(txn, req->context, app_id) == 0)
        a = node_app_load(node, txn, app_id, msg, sizeof msg);
    weft_txn_abort(txn);
    return a;
}

uint64_t node_call_timeout(weft_node_t *node, const weft_call_req_t *req)
{
    if (req->limits.timeout_ns)
        return req->limits.timeout_ns;
    node_app_t *a = request_app(node, req);
    if (a && a->manifest.limits.timeout_ns)
        return a->manifest.limits.timeout_ns;
    return node->limits.timeout_ns;
}

int node_call_is_view(weft_node_t *node, const weft_call_req_t *req)
{
    node_app_t *a = req->function ? request_app(node, req) : NULL;
    return a && node_manifest_is_view(&a->manifest, req->function);
}
