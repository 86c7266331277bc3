/*
 * abi.h — how a call reaches a guest of one ABI (src/node only).
 *
 * call.c runs every call the same way: it finds the app and the limits,
 * makes a fresh store and linker, gives the guest WASI (stdin = the input,
 * stdout = the output, stderr = log lines: the imports the module does
 * not use cost nothing), instantiates, runs `_initialize`, calls the
 * function, decides commit or abort from the outcome, and collects the
 * streams. What differs between ABIs is in an adapter, one per ABI
 * (abi_nx.c, abi_calimero.c, ...), chosen when the app is loaded
 * (weft_abi_choose, weft/profile.h) and found by name in abi.c:
 *
 *   bind    after the store and linker exist, before instantiation: make
 *           the ABI's per-call host state, bind it to the call's
 *           transaction, define the module's imports of the ABI
 *   invoke  run the call in the instance; NULL: call the export
 *           c->function with the request's typed arguments, as nx does
 *   finish  after the function returned: end the host state's call, turn
 *           its logs, events, output and errors into c->res, and give the
 *           verdict: 1 commit, 0 abort, -1 run the whole call again (the
 *           store's map grew under it)
 *   free    release the host state (after the store is gone)
 *   keep    1: the thread may keep the call's instance for its next call
 *           of the module (call.c, "Kept instances"). bind must then set
 *           c->host_user to the object its host functions carry as their
 *           user pointer (the one of them all), and define no import when
 *           c->linker is NULL (a kept instance has them: call.c points
 *           them at the new host_user); nothing of a call may stay in
 *           the instance but what weft_instance_reset undoes.
 *   drop_kept  for an adapter that instantiates itself (a component's
 *           instance is no weft_instance_t): what is kept beside the store
 *           is its own object, c->kept. In: the thread's kept one (bind
 *           then defines nothing, invoke resets it and binds it to the
 *           call's host state) or NULL (invoke makes one). Out, after
 *           finish: the one the pool may keep, bound to no host state of
 *           the call (the adapter no longer owns a new one it gives), or
 *           NULL when it must not be kept (a kept one that came in is then
 *           dropped). call.c deletes a kept object with drop_kept, before
 *           its store.
 *
 * Errors: bind and invoke return 0 or a WEFT_E* code; a failing bind
 * leaves c->res failed (node_result_fail) with what went wrong. invoke
 * returns what the engine's weft_func_call returned (WEFT_ETRAP for a
 * trap: call.c reads the trap from the store), or another WEFT_E* code
 * with c->what saying which step failed.
 */
#ifndef WEFT_NODE_ABI_H
#define WEFT_NODE_ABI_H

#include "node_priv.h"

typedef struct node_call {
    weft_node_t *node;
    node_app_t *app;
    const weft_call_req_t *req;
    weft_call_result_t *res;
    /* the call's nested write transaction, a read transaction for a
     * view, or NULL when the node has no data directory */
    weft_txn_t *txn;
    const weft_call_limits_t *lim; /* the node's, the app's and the request's */
    weft_store_t *store;
    weft_linker_t *linker;
    const char *function;        /* the request's function (NULL: the default) */
    const weft_functype_t *type; /* generic invoke: the export's type */
    int view;                    /* read-only: writes must trap */
    const char *what;            /* invoke: the step that failed, for the message */
    unsigned slot;               /* the thread's watchdog slot (abi_faasm.c runs chains in it) */
    const void *link;            /* a chained call's link to its parent (abi_faasm.c) */
    uint64_t deadline_ns;        /* CLOCK_MONOTONIC; 0: none */
    const void *funcs_link;      /* a funcs call's link to its caller (abi_component.c) */
    int fd[3];                   /* the guest's stdin, stdout, stderr (-1: none) */
    void *host_user;             /* bind: what its host functions point to (keep) */
    unsigned stdio_used;         /* an adapter's own WASI: the streams it used (bits 0-2) */
    void *kept;                  /* drop_kept's adapters: their kept instance, in and out */
} node_call_t;

typedef struct node_abi {
    const char *name; /* as in weft/profile.h's ABI table */
    int (*bind)(node_call_t *c, void **state);
    int (*invoke)(node_call_t *c, void *state, weft_instance_t *inst);
    int (*finish)(node_call_t *c, void *state, int verdict);
    void (*free)(void *state);
    int keep;
    void (*drop_kept)(void *kept);
    /* 1: the writer runs its calls in a nested transaction, never on an
     * overlay (node.c): components (their funcs calls nest transactions),
     * Calimero (a call may create contexts in `meta`), Faasm (a call
     * chains calls, which must not run twice when an overlay refuses an
     * operation and the call runs again). */
    int serial;
} node_abi_t;

/* Outbound HTTP for a binding's hook (a weft_http_fetch_fn, user = the
 * node_call_t): the request with the call's app and deadline filled in,
 * performed by the node's http_fetch; WEFT_ENOTFOUND (denied) without one. */
int node_http_fetch(void *user, const weft_http_request_t *req, weft_http_response_t *resp,
                    char *msg, size_t msg_size);

/* The adapter of ABI `name`, or NULL. */
const node_abi_t *node_abi_find(const char *name);

/* The adapters (abi_*.c). */
extern const node_abi_t node_abi_nx;
extern const node_abi_t node_abi_faasm;
extern const node_abi_t node_abi_calimero;
extern const node_abi_t node_abi_cosmictron;
extern const node_abi_t node_abi_component;

/* abi_component.c: checks a component app at its deploy against its
 * manifest: the import groups named exist, views are exported functions,
 * and unless stub_missing every import is one the node links (else
 * WEFT_EUNLINKABLE naming it). 0, WEFT_EARG, WEFT_EUNLINKABLE or
 * WEFT_ENOMEM, with msg. */
int node_component_check(const struct weft_component *c, const node_manifest_t *mf, char *msg,
                         size_t msg_size);

#endif
