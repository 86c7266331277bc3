/*
 * calimero_priv.h — private header of the Calimero ABI (calimero.c,
 * calimero_storage.c, calimero_js.c).
 *
 * calimero.c owns the context, the per-call state (registers, output,
 * commit, logs, events), guest memory access and the function table;
 * calimero_storage.c the synced and private storage and the state
 * management functions; calimero_js.c the js_* collections;
 * calimero_context.c the context's members; calimero_blobs.c blobs. Guest memory
 * is only reached through cal_mem / cal_buffer, which check the whole
 * range first; every host error goes through cal_fail, which names it.
 */
#ifndef WEFT_CALIMERO_PRIV_H
#define WEFT_CALIMERO_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "weft/calimero.h"
#include "weft/error.h"
#include "weft/extern.h"
#include "weft/utf8.h"

#define CAL_ARG(i) ((uint64_t)args[i].i64)
#define CAL_ARG32(i) ((uint32_t)args[i].i32)
#define CAL_RETURN32(v)          \
    do {                         \
        args[0].i32 = (int32_t)(v); \
        return 0;                \
    } while (0)
#define CAL_RETURN64(v)          \
    do {                         \
        args[0].i64 = (int64_t)(v); \
        return 0;                \
    } while (0)

/* Fuel for host work, the model of nx (src/host/nx_priv.h, docs/nx.md
 * "Fuel"): a base per call, a unit per 16 bytes of every range read or
 * written and of stored data loaded or stored. */
#define CAL_FUEL_CALL 8u
#define CAL_FUEL(len) (((uint64_t)(len) + 15u) / 16u)

typedef struct {
    uint64_t id;
    uint8_t *data;
    size_t len;
} cal_reg_t;

typedef struct {
    char *kind;
    size_t kind_len;
    uint8_t *data;
    size_t data_len;
    char *handler; /* NULL: emit */
    size_t handler_len;
} cal_event_t;

typedef struct {
    char *msg;
    size_t len;
} cal_log_t;

/* A queued xcall. */
typedef struct {
    uint8_t context_id[32];
    char *function; /* NUL-terminated */
    size_t function_len;
    uint8_t *params;
    size_t params_len;
} cal_xcall_t;

/* A queued context_create. */
typedef struct {
    uint8_t app_id[32];
    uint8_t *args;
    size_t args_len;
    char *alias; /* NULL: none; else NUL-terminated */
    size_t alias_len;
} cal_create_t;

/* A queued proposal (actions set) or approval (actions NULL). */
typedef struct {
    uint8_t id[32];
    uint8_t *actions;
    size_t actions_len;
} cal_gov_op_t;

/* An open blob handle (calimero_blobs.c): an upload, or a read. */
#define CAL_MAX_BLOBS 16
typedef struct {
    int open;
    struct weft_blob_writer *writer; /* an upload; NULL: a read */
    uint8_t id[32];                  /* a read's blob, offset and size */
    uint64_t off, size;
} cal_blob_t;

struct weft_calimero {
    weft_db_t *db;
    uint8_t ctx[255];
    size_t ctx_len;
    uint8_t context_id[WEFT_CALIMERO_ID_LEN];
    uint8_t node_id[WEFT_CALIMERO_ID_LEN]; /* zeros when none was given */
    weft_calimero_limits_t lim;
    int (*context_exists)(void *user, weft_txn_t *txn, const char *name);
    void *context_user;
    weft_http_fetch_fn fetch; /* NULL: fetch returns 1 */
    void *fetch_user;

    /* the current call */
    weft_txn_t *txn;
    int view;
    const uint8_t *input;
    size_t input_len;
    uint8_t executor[WEFT_CALIMERO_ID_LEN];
    uint64_t delta_as_of; /* weft_calimero_call_t.delta_as_of */
    int call_error;
    const char *error_name;
    cal_reg_t *regs;
    size_t nregs;
    uint64_t regs_bytes; /* bytes held by all registers */
    int ret_kind;        /* WEFT_CALIMERO_NONE/OK/ERR */
    uint8_t *ret;
    size_t ret_len;
    int committed;
    uint8_t root[32];
    uint8_t *artifact;
    size_t artifact_len;
    cal_event_t *events;
    size_t nevents, events_cap;
    cal_log_t *logs;
    size_t nlogs, logs_cap;
    uint8_t *member_ops; /* queued member changes: [add u8][key 32] each */
    size_t nmember_ops;
    cal_gov_op_t *gov_ops; /* queued proposals and approvals (calimero_gov.c) */
    size_t ngov_ops;
    cal_blob_t blobs[CAL_MAX_BLOBS]; /* handle fd is blobs[fd - 1] */
    cal_xcall_t *xcalls;
    size_t nxcalls;
    cal_create_t *creates;
    size_t ncreates;
    uint8_t *deletes; /* 32-byte context ids */
    size_t ndeletes;
    uint8_t *announces; /* blob_announce_to_context: blob id[32], context id[32] each */
    size_t nannounces;
};

/* One function of the document: name, parameters ('I' u64, 'i' u32),
 * result ('I', 'i' or 0), callback (NULL: not supported yet). */
typedef struct {
    const char *name;
    const char *params;
    char result;
    weft_host_raw_fn_t fn;
} cal_func_t;

extern const cal_func_t cal_storage_funcs[]; /* calimero_storage.c */
extern const size_t cal_storage_nfuncs;
extern const cal_func_t cal_js_funcs[]; /* calimero_js.c */
extern const size_t cal_js_nfuncs;
extern const cal_func_t cal_context_funcs[]; /* calimero_context.c */
extern const size_t cal_context_nfuncs;
extern const cal_func_t cal_blob_funcs[]; /* calimero_blobs.c */
extern const size_t cal_blob_nfuncs;

/* Drops the call's blob handles (an upload not closed leaves no blob). */
void cal_blobs_close(weft_calimero_t *cal);

/* Applies the call's queued member changes to its transaction (a storage
 * error is recorded as the call's error). */
void cal_context_apply(weft_calimero_t *cal);

/* Governance (calimero_gov.c): the two functions; applying the call's
 * queued proposals and approvals to its transaction (after the member
 * changes; a storage error is the call's error), and dropping them. */
int cal_fn_send_proposal(weft_caller_t *caller, void *user, weft_raw_t *args);
int cal_fn_approve_proposal(weft_caller_t *caller, void *user, weft_raw_t *args);
void cal_gov_apply(weft_calimero_t *cal);
void cal_gov_clear(weft_calimero_t *cal);

/* Traps the call with "calimero.FN: NAME: detail" and remembers NAME for
 * weft_calimero_error_name. Returns what the callback must return. */
int cal_fail(weft_calimero_t *cal, weft_caller_t *caller, const char *fn, const char *name,
             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A host pointer to guest range [ptr, ptr+len), or NULL after trapping
 * with InvalidMemoryAccess (*rc is then what the callback returns). */
uint8_t *cal_mem(weft_calimero_t *cal, weft_caller_t *caller, const char *fn, uint64_t ptr,
                 uint64_t len, int *rc);

/* Reads the buffer descriptor at desc and checks its data range. When
 * limit is not UINT64_MAX, a length over it traps with limit_name first
 * (the real system checks limits before the data range). Returns the data
 * (its length in *out_len), or NULL after trapping (*rc). */
uint8_t *cal_buffer(weft_calimero_t *cal, weft_caller_t *caller, const char *fn, uint64_t desc,
                    uint64_t limit, const char *limit_name, uint64_t *out_len, int *rc);

/* Charges fuel; 0 or what the callback returns (out of fuel). */
static inline int cal_charge(weft_caller_t *caller, uint64_t units)
{
    return weft_caller_consume_fuel(caller, units);
}

/* Sets register id to a copy of data (register limits: InvalidMemoryAccess,
 * as in the real system). 0, or -1 after trapping (*rc). */
int cal_reg_set(weft_calimero_t *cal, weft_caller_t *caller, const char *fn, uint64_t id,
                const void *data, size_t len, int *rc);

/* Common checks of a function that needs the call's transaction (and,
 * when `write`, a write one): 0, or -1 after trapping (*rc). */
int cal_need_txn(weft_calimero_t *cal, weft_caller_t *caller, const char *fn, int write, int *rc);

/* Records a storage error of the call and traps (its transaction is
 * gone or must be aborted). Returns what the callback returns. */
int cal_store_error(weft_calimero_t *cal, weft_caller_t *caller, const char *fn, int rc);

/* The op origin (the node id) and wall time for CRDT ops. */
uint64_t cal_wall_ms(void);

/* Synced values (calimero_storage.c, shared with calimero_js.c): reads
 * the value of LWW key `key` of the context (1 found with *out malloc'ed,
 * 0 absent, <0 a WEFT_E* error), writes one (`value` NULL removes). */
int cal_synced_get(weft_calimero_t *cal, const uint8_t *key, size_t key_len, uint8_t **out,
                   size_t *out_len, size_t *stored);
int cal_synced_put(weft_calimero_t *cal, const uint8_t *key, size_t key_len, const uint8_t *value,
                   size_t value_len, size_t *stored);
/* The raw bytes of the context's LWW register at store key `key`: 1 with
 * *out malloc'ed, 0 absent, <0 a WEFT_E* error (governance's records). */
int cal_lww_get(weft_calimero_t *cal, const uint8_t *key, size_t key_len, uint8_t **out,
                size_t *out_len, size_t *stored);
/* The store key of synced storage key `key` (what storage_write writes):
 * its length, in out. */
size_t cal_synced_key(const uint8_t *key, size_t len, uint8_t out[WEFT_DB_KEY_MAX]);

#endif
