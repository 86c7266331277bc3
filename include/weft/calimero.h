/*
 * weft/calimero.h — the Calimero guest ABI (`env`): registers, synced and
 * private storage, CRDT collections, events and logs, as the Calimero
 * "Host Functions Reference" (../shared/abi/calimero-host-functions.md)
 * describes them.
 *
 * A weft_calimero_t binds one context of a data directory (weft/db.h) to
 * the guests of a linker. Every pointer and length a guest passes is a u64;
 * buffers are 16-byte {ptr: u64, len: u64} descriptors, checked against the
 * guest's memory (a bad one traps the call with InvalidMemoryAccess). Synced
 * storage and the collections are CRDT states of the context
 * (weft/crdt_store.h), so sync replicates them; private storage stays on
 * the node. Like weft/nx.h it holds no transaction of its own: the embedder
 * brackets each call with weft_calimero_begin_call (the call's transaction,
 * input and executor) and weft_calimero_end_call, then commits or aborts.
 * What the call returned (value_return), committed (commit), logged and
 * emitted is collected and stays readable until the next begin_call.
 *
 * Host errors trap the call with a message "calimero.FN: NAME: detail",
 * NAME one of the document's error names (InvalidMemoryAccess,
 * KeyLengthOverflow, ..., Panic); weft_calimero_error_name tells it.
 * Decisions the document leaves open are in docs/calimero.md.
 *
 * Thread safety: one weft_calimero_t serves one call at a time.
 */
#ifndef WEFT_CALIMERO_H
#define WEFT_CALIMERO_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "http_out.h"
#include "instance.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_calimero weft_calimero_t;

#define WEFT_CALIMERO_ID_LEN 32u /* context ids, executor keys, collection ids */

/* The document's VMLimits; weft_calimero_limits_default gives its table
 * (plus max_registers_capacity, the real system's bound on all registers
 * together). max_memory_pages and max_stack_size bound the store
 * (weft_calimero_store_limits); the rest are checked by the functions. */
typedef struct {
    uint32_t max_memory_pages;       /* 1024 (64 MiB) */
    uint64_t max_stack_size;         /* 200 KiB of value stack */
    uint64_t max_registers;          /* 100 */
    uint64_t max_register_size;      /* 100 MiB */
    uint64_t max_registers_capacity; /* 1 GiB, all registers together */
    uint64_t max_storage_key_size;   /* 1 MiB */
    uint64_t max_storage_value_size; /* 10 MiB */
    uint64_t max_logs;               /* 100 */
    uint64_t max_log_size;           /* 16 KiB */
    uint64_t max_events;             /* 100 */
    uint64_t max_event_kind_size;    /* 100 bytes */
    uint64_t max_event_data_size;    /* 16 KiB */
    /* weft's, where the document has none (docs/calimero.md): */
    uint64_t max_xcalls;               /* 100 per call */
    uint64_t max_xcall_function_size;  /* 100 bytes */
    uint64_t max_xcall_params_size;    /* 1 MiB */
} weft_calimero_limits_t;

weft_calimero_limits_t weft_calimero_limits_default(void);

typedef struct {
    weft_db_t *db;               /* borrowed; must outlive the weft_calimero_t */
    const char *context;         /* context name, 1..255 bytes (copied) */
    /* The 32-byte id context_id returns (copied); NULL: SHA-256 of the
     * context name, the same on every node (docs/calimero.md). */
    const uint8_t *context_id;
    const uint8_t *node_id;      /* the node's ed25519 key (copied): op origin */
    size_t node_id_len;          /* 0 or WEFT_CALIMERO_ID_LEN */
    const weft_calimero_limits_t *limits; /* copied; NULL: the defaults */
    /* What context_resolve_alias asks: 1 when the embedder has a context
     * named `name` (an alias is a context's name, docs/calimero.md), seen
     * from the call's transaction. NULL: none has (every alias resolves
     * to nothing). */
    int (*context_exists)(void *user, weft_txn_t *txn, const char *name);
    void *context_user;
    /* What `fetch` asks to perform a request (weft/http_out.h), with its
     * user: the embedder applies its allowlist and bounds. NULL: every
     * fetch returns 1, as the document's "blocked" fetch does. */
    weft_http_fetch_fn fetch;
    void *fetch_user;
} weft_calimero_config_t;

/* Creates a Calimero context. Returns 0, WEFT_EARG (no db, a context of 0
 * or over 255 bytes, a node id of another length) or WEFT_ENOMEM. Owned by
 * the caller; free with weft_calimero_delete after the stores that use it. */
int weft_calimero_new(const weft_calimero_config_t *cfg, weft_calimero_t **out);
void weft_calimero_delete(weft_calimero_t *cal);

/* Defines every function of the document in `linker` under module "env",
 * bound to cal (those weft does not provide yet trap when called with
 * "not supported yet: NAME"). Returns 0 or WEFT_ENOMEM. */
int weft_calimero_define(weft_calimero_t *cal, weft_linker_t *linker);
/* The same for only the env functions `module` imports; an import of no
 * such name is left undefined (instantiation reports it). */
int weft_calimero_define_imports(weft_calimero_t *cal, weft_linker_t *linker,
                                 const weft_module_t *module);

/* Every function of the document, in its order: weft_calimero_func gives
 * the i-th one's name (static) and type (owned by the caller:
 * weft_functype_delete). WEFT_ENOTFOUND past the end, or WEFT_ENOMEM.
 * weft_calimero_func_supported: 1 when weft implements it, 0 when calling
 * it traps with "not supported yet". */
size_t weft_calimero_func_count(void);
int weft_calimero_func(size_t i, const char **out_name, weft_functype_t **out_type);
int weft_calimero_func_supported(size_t i);

/* Sets the store limits the VMLimits ask for (max_memory_pages,
 * max_stack_size) in *limits, keeping its other fields. */
void weft_calimero_store_limits(const weft_calimero_t *cal, weft_limits_config_t *limits);

/* One call. */
typedef struct {
    const uint8_t *input; /* what `input` gives (borrowed until end_call) */
    size_t input_len;
    /* The executor's 32-byte key (copied); NULL: the node's id. */
    const uint8_t *executor;
    int view; /* a read-only call: every write traps */
    /* 0: a plain call. Else the call applies a peer's artifact (the node
     * runs the app's __calimero_sync_next with it, docs/calimero.md
     * "Artifacts"): the origin's hybrid clock when it committed it.
     * apply_storage_delta then leaves alone a key whose register was
     * written after that (its action is older than the key's value). */
    uint64_t delta_as_of;
} weft_calimero_call_t;

/* Starts a call on `txn` (borrowed until weft_calimero_end_call; a write
 * transaction, or a read one for a view): registers, output, commit, logs,
 * events and the error of the previous call are dropped. */
void weft_calimero_begin_call(weft_calimero_t *cal, weft_txn_t *txn,
                              const weft_calimero_call_t *call);
/* Ends the call: the transaction is forgotten; results stay readable. */
void weft_calimero_end_call(weft_calimero_t *cal);

/* The first storage error of the call (0 if none); as weft_nx_call_error:
 * weft_db_retryable means run the call again, anything else abort it. */
int weft_calimero_call_error(const weft_calimero_t *cal);

/* The document's error name of the host error that trapped the call
 * ("InvalidMemoryAccess", "Panic", ...), or NULL (static storage). */
const char *weft_calimero_error_name(const weft_calimero_t *cal);

/* What value_return set: WEFT_CALIMERO_NONE (never called), _OK or _ERR,
 * with the bytes (borrowed until the next begin_call). An _ERR call failed:
 * the embedder rolls its writes back and reports the bytes. */
enum { WEFT_CALIMERO_NONE = 0, WEFT_CALIMERO_OK = 1, WEFT_CALIMERO_ERR = 2 };
int weft_calimero_return(const weft_calimero_t *cal, const uint8_t **out, size_t *out_len);

/* Governance approvals that pass only merged (docs/calimero.md
 * "Governance"): between begin_call and end_call (no guest runs), visits
 * the context's proposals neither applied nor deleted whose approvals of
 * current members pass the threshold and whose lowest approving member is
 * this node (weft_calimero_config_t.node_id). With apply 1 (a write call)
 * it applies each, as a call's approval would, in the call's transaction;
 * with apply 0 (a view does) it only counts them. Returns how many, or a
 * WEFT_E* error (with apply, also the call's error: abort the txn). */
int weft_calimero_gov_settle(weft_calimero_t *cal, int apply);

/* 1 when the call called commit, with its 32-byte root hash and its
 * artifact (borrowed like the return value); 0 otherwise. */
int weft_calimero_commit(const weft_calimero_t *cal, const uint8_t **out_root,
                         const uint8_t **out_artifact, size_t *out_artifact_len);

/* Events (emit, emit_with_handler), in order: kind, data and handler
 * (NULL/0 for none); borrowed until the next begin_call. */
size_t weft_calimero_event_count(const weft_calimero_t *cal);
int weft_calimero_event(const weft_calimero_t *cal, size_t i, const char **out_kind,
                        size_t *out_kind_len, const uint8_t **out_data, size_t *out_data_len,
                        const char **out_handler, size_t *out_handler_len);

/* Cross-context calls the call queued (xcall), in order: the target
 * context's 32-byte id, the function and its params, borrowed like
 * events. The embedder runs them after the call commits, and none when it
 * does not. */
size_t weft_calimero_xcall_count(const weft_calimero_t *cal);
int weft_calimero_xcall(const weft_calimero_t *cal, size_t i, const uint8_t **out_context_id,
                        const char **out_function, size_t *out_function_len,
                        const uint8_t **out_params, size_t *out_params_len);

/* Contexts the call asked to create (context_create), in order: the
 * 32-byte app id, the init arguments and the alias (NULL/0: none),
 * borrowed like events. The embedder creates them when the call commits,
 * and none when it does not. */
size_t weft_calimero_create_count(const weft_calimero_t *cal);
int weft_calimero_create(const weft_calimero_t *cal, size_t i, const uint8_t **out_app_id,
                         const uint8_t **out_args, size_t *out_args_len, const char **out_alias,
                         size_t *out_alias_len);

/* Contexts the call asked to delete (context_delete), by 32-byte id, in
 * order (borrowed like events); the embedder deletes them when the call
 * commits. */
size_t weft_calimero_delete_count(const weft_calimero_t *cal);
const uint8_t *weft_calimero_delete_id(const weft_calimero_t *cal, size_t i);

/* Blobs the call announced (blob_announce_to_context): the blob's id and
 * the target context's id, 32 bytes each (borrowed like events); the
 * embedder announces them (weft/sync.h weft_sync_blob_announce) when the
 * call commits. WEFT_ENOTFOUND past the end. */
size_t weft_calimero_announce_count(const weft_calimero_t *cal);
int weft_calimero_announce(const weft_calimero_t *cal, size_t i, const uint8_t **out_blob_id,
                           const uint8_t **out_context_id);

/* Log messages (log_utf8, js_std_d_print), in order; borrowed likewise. */
size_t weft_calimero_log_count(const weft_calimero_t *cal);
int weft_calimero_log(const weft_calimero_t *cal, size_t i, const char **out_msg,
                      size_t *out_len);

/* The context id (WEFT_CALIMERO_ID_LEN bytes, borrowed). */
const uint8_t *weft_calimero_context_id(const weft_calimero_t *cal);

#ifdef __cplusplus
}
#endif
#endif
