/*
 * weft/cosmictron.h — the Cosmictron guest ABI: the import modules
 * `datastore` (typed tables: insert, delete_by_pk, scan, index_scan,
 * iter_next, iter_close, table_id_from_name), `cosm` (sender_identity,
 * timestamp, schedule_reducer, cancel_reducer, http_request) and
 * `console` (log), as ../shared/abi/cosmictron-wasm-abi.txt describes them.
 *
 * A weft_cosmictron_t binds one context of a data directory and a module's
 * schema (weft/tables.h, parsed from its description) to the guests of a
 * linker. Like weft/nx.h it holds no transaction: the embedder brackets
 * every call with weft_cosmictron_begin_call (the call's transaction, the
 * caller's identity, the call's timestamp) and weft_cosmictron_end_call,
 * and commits or aborts the transaction itself. Log lines are collected
 * with their levels and stay readable until the next begin. Scheduled
 * reducers are written in the call's transaction (durable when it
 * commits); running them at their time is the node's scheduler's
 * (src/node/abi_cosmictron.c, docs/cosmictron.md).
 *
 * Result conventions (docs/cosmictron.md): functions whose result is a
 * code return 0 or the document's code 1-9; functions whose result is a
 * count, id or handle return it (>= 0) or the code negated. Guest ranges
 * outside linear memory are invalid arguments (9), except for console.log,
 * which has no result and traps.
 *
 * Thread safety: one weft_cosmictron_t serves one call at a time.
 */
#ifndef WEFT_COSMICTRON_H
#define WEFT_COSMICTRON_H

#include <stddef.h>
#include <stdint.h>

#include "http_out.h"
#include "db.h"
#include "instance.h"
#include "tables.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_cosmictron weft_cosmictron_t;

/* The document's error codes. */
enum {
    WEFT_COSM_OK = 0,
    WEFT_COSM_NOT_FOUND = 1,
    WEFT_COSM_UNIQUE = 2,
    WEFT_COSM_TYPE = 3,
    WEFT_COSM_NO_TABLE = 4,
    WEFT_COSM_DENIED = 5,
    WEFT_COSM_FUEL = 6,
    WEFT_COSM_MEMORY = 7,
    WEFT_COSM_CONFLICT = 8,
    WEFT_COSM_INVALID = 9,
};

/* iter_next's output room below this is an invalid argument, so that a
 * too-small buffer's answer -(row length) (<= -(WEFT_COSM_MIN_ROW_BUF+1))
 * never looks like a negated code. */
#define WEFT_COSM_MIN_ROW_BUF 16u
/* The caller identity: an ed25519 public key. */
#define WEFT_COSM_IDENTITY_LEN 32u
#define WEFT_COSM_MAX_LOG 8192u
#define WEFT_COSM_MAX_NAME 1024u
/* Schedules kept in WEFT_SPACE_TABLES: 'S' + u64 BE handle. */
#define WEFT_COSM_SCHEDULE_KIND 'S'

typedef struct {
    /* borrowed; must outlive the binding. May be NULL with schema NULL: a
     * binding that only describes a module (no call can run) */
    weft_db_t *db;
    const char *context;          /* 1..255 bytes (copied) */
    /* borrowed; must outlive the binding. NULL: a schema of no tables and
     * no reducers, for the instance that describes the module at deploy */
    const weft_schema_t *schema;
    /* console.log lines of a lower level (0 trace .. 4 error) are not
     * kept (their fuel is still charged): 0 keeps every line */
    int min_log_level;
    /* What cosm.http_request asks to perform a request (weft/http_out.h),
     * with its user: the embedder applies its allowlist and bounds. NULL:
     * every well-formed request is denied (5). */
    weft_http_fetch_fn fetch;
    void *fetch_user;
    /* the node id (32 bytes, copied) that stamps writes of replicated
     * tables as CRDT ops (weft_tables_set_origin); NULL: none, they are
     * written as a local table's */
    const uint8_t *origin;
} weft_cosmictron_config_t;

/* Returns 0, WEFT_EARG or WEFT_ENOMEM; *out owned by the caller. */
int weft_cosmictron_new(const weft_cosmictron_config_t *cfg, weft_cosmictron_t **out);
void weft_cosmictron_delete(weft_cosmictron_t *c);

/* Defines every function of the three modules in `linker`, bound to c. */
int weft_cosmictron_define(weft_cosmictron_t *c, weft_linker_t *linker);
/* The same for only the functions `module` imports (an unknown name is
 * left undefined, so instantiation names it). */
int weft_cosmictron_define_imports(weft_cosmictron_t *c, weft_linker_t *linker,
                                   const weft_module_t *module);

/* The functions of each import module, for profile rows (weft/profile.h):
 * count, then the i-th one's name (static) and type (new; the caller
 * frees it with weft_functype_delete). WEFT_ENOTFOUND past the end. */
size_t weft_cosmictron_datastore_func_count(void);
int weft_cosmictron_datastore_func(size_t i, const char **out_name, weft_functype_t **out_type);
size_t weft_cosmictron_cosm_func_count(void);
int weft_cosmictron_cosm_func(size_t i, const char **out_name, weft_functype_t **out_type);
size_t weft_cosmictron_console_func_count(void);
int weft_cosmictron_console_func(size_t i, const char **out_name, weft_functype_t **out_type);
/* All of them, datastore then cosm then console, with the module name. */
size_t weft_cosmictron_func_count(void);
int weft_cosmictron_func(size_t i, const char **out_module, const char **out_name,
                         weft_functype_t **out_type);

/* Starts a call in `txn` (borrowed until end_call) as `identity` (copied;
 * 0 or WEFT_COSM_IDENTITY_LEN bytes: what sender_identity writes and
 * private tables' owner columns are compared with) at `timestamp_us`
 * (Unix microseconds; what timestamp returns throughout the call; 0: the
 * clock now). Drops the previous call's logs. begin_view: a read
 * transaction, and every write (insert, delete_by_pk, schedule_reducer,
 * cancel_reducer) traps. */
void weft_cosmictron_begin_call(weft_cosmictron_t *c, weft_txn_t *txn, const uint8_t *identity,
                                size_t identity_len, int64_t timestamp_us);
void weft_cosmictron_begin_view(weft_cosmictron_t *c, weft_txn_t *txn, const uint8_t *identity,
                                size_t identity_len, int64_t timestamp_us);
/* Ends the call: iterators are closed, the transaction forgotten. */
void weft_cosmictron_end_call(weft_cosmictron_t *c);

/* The first storage error of the call (0 if none): the guest was trapped
 * and the transaction must be aborted (and the call retried when
 * weft_db_retryable). */
int weft_cosmictron_call_error(const weft_cosmictron_t *c);

/* Log lines of the call (console.log), in order: level 0-4 and the
 * message (at most WEFT_COSM_MAX_LOG bytes, NUL-terminated), borrowed
 * until the next begin. weft_cosmictron_logs_dropped counts lines past
 * the call's 64 MiB of logs. */
size_t weft_cosmictron_log_count(const weft_cosmictron_t *c);
int weft_cosmictron_log(const weft_cosmictron_t *c, size_t i, int *out_level, const char **out_msg,
                        size_t *out_len);
size_t weft_cosmictron_logs_dropped(const weft_cosmictron_t *c);
/* Row changes of the call's public tables, in order (what clients may
 * subscribe to): op 'i' (insert) or 'd' (delete), the table id and the
 * row's BSATN bytes, borrowed until the next begin. A call whose changes
 * pass 64 MiB (with its logs) gets code 7 from the write that would pass
 * it, so none is ever dropped. */
size_t weft_cosmictron_change_count(const weft_cosmictron_t *c);
int weft_cosmictron_change(const weft_cosmictron_t *c, size_t i, int *out_op, uint32_t *out_table,
                           const uint8_t **out_row, size_t *out_len);

/* How many schedules the call stored (schedule_reducer calls that
 * returned a handle): once the call commits, the node's scheduler, which
 * sleeps until the next schedule it knows of is due, must look again. */
size_t weft_cosmictron_scheduled(const weft_cosmictron_t *c);

/* "trace", "debug", "info", "warn", "error" (static). */
const char *weft_cosmictron_level_name(int level);

/* The module's description, from an instance of it (docs/cosmictron.md,
 * "Schema"): calls its export __describe_module__ () -> i64 (the
 * description's address in the low 32 bits, its length in the high 32)
 * and parses what it points to. Returns 0 with *out owned by the caller,
 * WEFT_ENOTFOUND (no such export, or not of that type), WEFT_ETRAP (it
 * trapped), WEFT_EARG (a range outside memory or a bad description; msg
 * says what) or WEFT_ENOMEM. */
int weft_cosmictron_read_schema(weft_store_t *store, weft_instance_t *inst, weft_schema_t **out,
                                char *msg, size_t msg_size);

/* The whole deploy-time read: instantiates `module` in a store of its own
 * (WASI with no streams, a datastore with no tables), runs _initialize
 * when exported, and reads its schema as weft_cosmictron_read_schema
 * does. Needs no data directory (`weft inspect` uses it). Same results,
 * plus WEFT_EUNLINKABLE when it cannot be instantiated (msg says why). */
int weft_cosmictron_describe(weft_engine_t *engine, weft_module_t *module, weft_schema_t **out,
                             char *msg, size_t msg_size);

/* Calls reducer `name` of an instance with BSATN arguments: the guest's
 * export __cosm_alloc (i32) -> i32 gives room for them, the host copies
 * them there, then calls the export `name` (i32 ptr, i32 len) -> i32.
 * *out_result is the reducer's result (0: success; anything else: the
 * reducer failed and its transaction must be aborted). Returns 0,
 * WEFT_ENOTFOUND (an export is missing or of another type, msg says which),
 * WEFT_ETRAP, WEFT_EARG (the allocator's room is outside memory) or
 * WEFT_ENOMEM. */
int weft_cosmictron_invoke(weft_store_t *store, weft_instance_t *inst, const char *name,
                           const uint8_t *args, size_t args_len, int32_t *out_result, char *msg,
                           size_t msg_size);

/* The context's schedules, in handle order: fn(user, handle, at_us,
 * reducer, reducer_len, args, args_len) until it returns nonzero.
 * Pointers are valid during the callback only. For the node's scheduler
 * and tests; returns 0 or a store error. */
typedef int (*weft_cosmictron_schedule_fn)(void *user, uint64_t handle, int64_t at_us,
                                           const char *reducer, size_t reducer_len,
                                           const uint8_t *args, size_t args_len);
int weft_cosmictron_schedules(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                              weft_cosmictron_schedule_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif
