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
    uint8_t node_id[64];
    size_t node_id_len;
    unsigned flags;
    char **env; /* NULL: the process's environment */
    size_t nenv;

    weft_txn_t *txn;   /* the current call's, or NULL */
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

/* 1 when the key (or prefix) is inside the reserved __nx/ namespace. */
int nx_reserved(const uint8_t *key, size_t len);

/* Records a storage error of the current call; a retryable one (map full)
 * traps the guest, since its transaction is gone. Returns the value the
 * callback must return, with the guest's result set to ERR_INTERNAL. */
int nx_store_error(weft_nx_t *nx, weft_caller_t *caller, weft_raw_t *args, const char *fn, int rc);

#endif
