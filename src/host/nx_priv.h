/*
 * nx_priv.h — private header of the nx ABI (nx.c, nx_db.c, nx_crdt.c).
 *
 * nx.c owns the context, the per-call collections and every function but
 * db_* (nx_db.c) and crdt_* (nx_crdt.c). Guest memory is only reached
 * through nx_guest(), which checks the whole range first.
 */
#ifndef WEFT_NX_PRIV_H
#define WEFT_NX_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "weft/error.h"
#include "weft/extern.h"
#include "weft/nx.h"

#define NX_ARG32(i) ((uint32_t)args[i].i32)
#define NX_RETURN(v)            \
    do {                        \
        args[0].i32 = (v);      \
        return 0;               \
    } while (0)

typedef struct {
    char *name; /* NUL-terminated; name_len excludes the NUL */
    size_t name_len;
    uint8_t *payload;
    size_t payload_len;
} nx_event_t;

typedef struct {
    char *msg;
    size_t len;
} nx_log_t;

struct weft_nx {
    weft_db_t *db;
    uint8_t ctx[255];
    size_t ctx_len;
    char *module_id;
    uint8_t node_id[WEFT_NX_NODE_ID_LEN]; /* the CRDT op origin */
    size_t node_id_len;                    /* 0 (none given) or WEFT_NX_NODE_ID_LEN */
    char node_text[WEFT_NX_NODE_ID_TEXT_LEN]; /* what net_node_id writes: node_id in hex */
    unsigned flags;
    int (*peers)(void *user, uint8_t **out, size_t *out_len); /* net_peers; NULL: none */
    void *peers_user;
    char **env; /* NULL: the process's environment */
    size_t nenv;

    weft_txn_t *txn;   /* the current call's, or NULL */
    int view;          /* the call is a view: writes trap (weft_nx_begin_view) */
    int call_error;    /* first storage error of the call */
    nx_event_t *events;
    size_t nevents, events_cap;
    nx_log_t *logs;
    size_t nlogs, logs_cap, logs_dropped;
    size_t collected; /* bytes of events and logs held for this call */
};

/* One nx function: name, parameter signature ('i' i32, 'I' i64), result
 * ('i', 'I' or 0 for none), callback. */
typedef struct {
    const char *name;
    const char *params;
    char result;
    weft_host_raw_fn_t fn;
} nx_func_t;

extern const nx_func_t nx_db_funcs[];
extern const size_t nx_db_nfuncs;
extern const nx_func_t nx_crdt_funcs[]; /* nx_crdt.c */
extern const size_t nx_crdt_nfuncs;

/* A host pointer to guest range [ptr, ptr+len), or NULL after trapping the
 * caller (*out_rc is then what the callback must return). */
uint8_t *nx_guest(weft_caller_t *caller, uint32_t ptr, uint32_t len, const char *fn, int *out_rc);

/* ---- fuel for host work (docs/nx.md, "Fuel") ----------------------------
 *
 * Fuel counts wasm instructions; these charges make it bound the host work
 * an nx call does for the guest too. Units depend only on what the guest
 * can see, never on timing:
 *
 *   NX_FUEL_CALL   per call (every nx function but abort), about one store
 *                  lookup;
 *   NX_FUEL(len)   per byte range, ceil(len / 16): each guest range the
 *                  call reads, at its full length, whatever the result;
 *                  each range it writes into guest memory, at the bytes
 *                  written, only when written; each piece of stored data it
 *                  reads or writes beyond those (a CRDT state, an op-log
 *                  entry), at its length. A byte that goes from guest
 *                  memory straight into the store (db_set's value) counts
 *                  once. Rounding is per range, so charges add up exactly
 *                  however a call splits them;
 *   NX_FUEL_KEY    per key or entry a scan visits (skipped ones included).
 */
#define NX_FUEL_CALL 8u
#define NX_FUEL_KEY 4u
#define NX_FUEL_BYTES_PER_UNIT 16u
#define NX_FUEL(len) (((uint64_t)(len) + NX_FUEL_BYTES_PER_UNIT - 1) / NX_FUEL_BYTES_PER_UNIT)

/* Charges `units` of fuel (built from the constants above) for work the
 * calling function is about to do. Returns 0, or, when the store's fuel is
 * on and less than `units` is left, the value the callback must return at
 * once: an out-of-fuel trap (WEFT_TRAP_OUT_OF_FUEL; the rest of the budget
 * is used up and the call's transaction is aborted by the embedder like
 * after any trap). Free when fuel is off (one call, one branch).
 *
 * Contract for nx functions (nx.c, nx_db.c, nx_crdt.c): check the guest
 * pointers first (their traps keep precedence), then charge NX_FUEL_CALL
 * plus NX_FUEL() of every input range in one call before any other work or
 * early return; charge outputs and stored data as soon as their size is
 * known and before the copy or the store write, so an exhausted budget
 * stops the work instead of paying for it after. Never charge by time, by
 * host-side sizes the guest cannot see (e.g. LMDB page counts), or twice
 * for the same range. Charging before a write that then fails is fine: the
 * trap is the outcome either way. */
static inline int nx_charge(weft_caller_t *caller, uint64_t units)
{
    return weft_caller_consume_fuel(caller, units);
}

/* 1 when the key (or prefix) is inside the reserved __nx/ namespace. */
int nx_reserved(const uint8_t *key, size_t len);

/* Records a storage error of the current call; a retryable one (map full)
 * traps the guest, since its transaction is gone. Returns the value the
 * callback must return, with the guest's result set to ERR_INTERNAL. */
int nx_store_error(weft_nx_t *nx, weft_caller_t *caller, weft_raw_t *args, const char *fn, int rc);

/* Traps a write made by a view call (weft_nx_begin_view); returns what
 * the callback must return. */
int nx_view_write(weft_caller_t *caller, const char *fn);

#endif
