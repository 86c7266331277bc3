/*
 * weft/node.h — a node: one data directory, its apps, contexts and calls.
 *
 * A weft_node_t owns everything that lives longer than a call: the data
 * directory (weft/db.h), the node identity, the apps deployed in it (module
 * bytes stored by sha256, each compiled once per process and shared by all
 * its calls), the contexts (named instances of an app's state), a pool of
 * worker threads and the writer that batches write calls into one durable
 * commit (group commit). Every interface (`weft run`, `weft serve`) calls
 * guests through weft_node_call; there is no second call path.
 *
 * Calls. A call is (context, function, input bytes, caller) -> (outcome,
 * output bytes, logs, events, fuel used, duration). Every call gets a fresh
 * instance, so nothing leaks from one call to the next. For nx/WASI apps the
 * input is the guest's stdin and the output what it writes to stdout; what
 * it writes to stderr becomes log lines; an export with numeric parameters
 * takes them as values instead (weft_call_req_t.args).
 *
 * Writes and views. A write call runs inside the writer's batch as a nested
 * transaction: a trap (or a non-zero exit) discards only that call's
 * writes, and the call's result is delivered only after the batch's commit
 * is durable; events are published then too. Write calls therefore run one
 * at a time (LMDB has one writer), which serialises the calls of a context
 * as required. A view runs on a read transaction on any worker, at the same
 * time as other views and the writer; a write from a view traps.
 *
 * Thread safety: every function may be called from any thread, except that
 * weft_node_close must not overlap any other call on the same node.
 * Results (weft_call_result_t) belong to one thread at a time.
 */
#ifndef WEFT_NODE_H
#define WEFT_NODE_H

#include <stddef.h>
#include <stdint.h>

#include "http_out.h"
#include "sync.h"
#include "types.h"
#include "wasi.h"
#include "wasip2.h"

struct weft_module;

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_node weft_node_t;
typedef struct weft_call_result weft_call_result_t;

#define WEFT_APP_ID_LEN 64   /* an app id: the module's sha256 in lowercase hex */
#define WEFT_CONTEXT_MAX 255 /* a context name: 1..255 bytes */

/* Limits of one call. Zero in a field of a request means "the node's". */
#define WEFT_FUEL_ZERO UINT64_MAX /* a budget of no instruction at all */
typedef struct {
    uint64_t fuel;             /* instruction budget; 0 = unlimited; WEFT_FUEL_ZERO: none */
    uint32_t max_memory_pages; /* per memory; 0 = the engine's default (4 GiB) */
    uint64_t timeout_ns;       /* wall clock; 0 = none */
    size_t max_input;          /* bytes of input; default 1 MiB */
    size_t max_output;         /* bytes of output (stdout) kept; default 16 MiB */
    size_t max_stack_bytes;    /* the value stack; 0 = the engine's default (8 MiB) */
    uint32_t max_table_elems;  /* elements of all tables; 0 = the engine's default */
} weft_call_limits_t;

enum {
    WEFT_NODE_DB_NOSYNC = 1 << 0, /* commits are not fsync'd (tests, benchmarks) */
    WEFT_NODE_NO_SYNC = 1 << 1,   /* replication off: nx net_* answer ERR_SYNC_DISABLED */
    /* No threads: every call and change runs on the thread that asks for
     * it, and a call's write lock wait ends at its deadline or at
     * weft_node_interrupt (a one-call node: `weft run`). The thread that
     * stops calls at their deadline starts with the first call that has
     * one. */
    WEFT_NODE_INLINE = 1 << 2,
    /* At a call's deadline, besides interrupting its store, signal the
     * thread running it with SIGUSR1 every 10 ms until the call ends, so a
     * host call blocked in a syscall (a read of the process's stdin, the
     * open of a FIFO in a preopened directory) fails with EINTR and the
     * call traps. The node installs a SIGUSR1 handler that does nothing
     * (without SA_RESTART) for it: the process must not use SIGUSR1. */
    WEFT_NODE_KICK = 1 << 3,
    /* Every write call runs in a nested transaction of the batch, as
     * before overlays (docs/node.md "Writes"): for comparisons and tests. */
    WEFT_NODE_NO_OVERLAY = 1 << 4,
    /* Every write call's guest runs on the commit thread (on an overlay of
     * the batch), none on the workers, as before session 10: writes of
     * different contexts do not run in parallel. For comparisons. */
    WEFT_NODE_WRITER_GUESTS = 1 << 5,
};

typedef struct {
    /* Created (mode 0700) when absent. NULL (WEFT_NODE_INLINE only): no
     * data directory, no LMDB, until weft_node_open_data_dir; apps opened
     * with weft_node_app_open that do not import nx run without one. */
    const char *data_dir;
    unsigned flags;            /* WEFT_NODE_* */
    unsigned workers;          /* threads running views; 0 = the number of cores */
    unsigned max_batch;        /* write calls per durable commit; 0 = 64 */
    uint64_t load_timeout_ns;  /* how long compiling one module may take; 0 = 30 s */
    /* weft_load_options_t.tier of every module (an app's manifest may name
     * its own, "tier"): WEFT_TIER_INTERP (0), WEFT_TIER_JIT or
     * WEFT_TIER_AUTO. With a data directory the compiled tiers keep a code
     * cache in its folder code-cache/ (docs/jit.md), so a restart maps the
     * code instead of compiling it again (weft_node_stats counts both). */
    int tier;
    weft_call_limits_t limits; /* defaults for every call; zeros as above */
    /* Environment the guests see ("NAME=VALUE", copied): WASI environ and
     * nx env_get alike. */
    const char *const *env;
    size_t nenv;
    /* Replication (docs/sync.md): peer links listen on peer_listen
     * ("ADDR:PORT") and dial peers[0..npeers); with neither, the node has
     * no links (contexts still keep their members). Ignored with
     * WEFT_NODE_NO_SYNC. sync_log receives sync's log lines (NULL: stderr). */
    const char *peer_listen;
    const char *const *peers;
    size_t npeers;
    void (*sync_log)(void *user, const char *line);
    void *sync_log_user;
    /* "nats://HOST:PORT[,...]": replicate through NATS JetStream instead
     * of peer links (docs/sync.md "NATS transport"), with nats_creds (a
     * .creds or nkey seed file, or NULL), nats_ca (PEM CAs to check the
     * servers' TLS certificates with: TLS required; or NULL) and
     * nats_replicas per context stream (0: 1). */
    const char *sync_nats;
    const char *nats_creds;
    const char *nats_ca;
    int nats_replicas;
    const struct weft_sync_transport *sync_nats_transport; /* weft_sync_nats_transport() */
    /* Sync compaction: ms between runs (0: 10000) and newest ops of each
     * origin kept (0: 1024), as weft_sync_config_t's compact_ms/keep. */
    uint64_t sync_compact_ms;
    uint64_t sync_compact_keep;
    /* Faasm's global state tier (docs/faasm.md): "redis://HOST:PORT", or
     * NULL for the embedded one. */
    const char *faasm_state_redis;
    /* Cosmictron console.log lines below this level (0 trace, 1 debug,
     * 2 info, 3 warn, 4 error) are not kept: 0, the default, keeps all. */
    int cosm_log_level;
    /* Outbound HTTP for guests (Calimero fetch, Cosmictron http_request;
     * weft/http_out.h): what performs a request, with its user (both
     * borrowed; weft serve gives weft_http_out_fetch and its allowlist).
     * NULL: every request is denied, as under weft run. */
    weft_http_fetch_fn http_fetch;
    void *http_user;
    /* Host names for components' wasi:sockets/ip-name-lookup (weft serve
     * gives getaddrinfo's). NULL: only address literals resolve. */
    weft_name_lookup_fn name_lookup;
} weft_node_config_t;

/* Opens the node: the data directory, its identity (created when sync is
 * on and there is none), the engine and the threads. Returns 0, WEFT_EARG
 * (no data_dir), WEFT_EIO (the directory cannot be opened: out_msg says
 * why) or WEFT_ENOMEM. Close with weft_node_close. */
int weft_node_open(const weft_node_config_t *cfg, weft_node_t **out, char *out_msg,
                   size_t msg_size);
/* Stops accepting calls, finishes the ones queued or running (their
 * writes are committed), then frees everything. */
void weft_node_close(weft_node_t *node);
/* Gives a node opened without a data directory its directory, as
 * weft_node_open would have (created with its parents when absent, the
 * identity loaded unless WEFT_NODE_NO_SYNC), so a one-call node opens LMDB
 * only for an app that imports nx. Call it before any call. Returns 0,
 * WEFT_EARG (the node has one already) or weft_node_open's errors: out_msg
 * says what failed ("cannot create data directory DIR: ...", "cannot open
 * data directory DIR: ...", "data directory DIR is damaged: ..." or
 * "cannot load the node identity of DIR: ..."). */
int weft_node_open_data_dir(weft_node_t *node, const char *dir, char *out_msg, size_t msg_size);

/* Interrupts every call running on the node (each traps INTERRUPTED) and
 * every call after it: for a process that stops at Ctrl-C. It takes no
 * lock and may be called from a signal handler. */
void weft_node_interrupt(weft_node_t *node);

/* The node id: the 32-byte ed25519 public key, or NULL when sync is off
 * and the directory has none. Borrowed for the node's lifetime. */
const uint8_t *weft_node_id(const weft_node_t *node);

/* The data directory given at open (borrowed). */
const char *weft_node_data_dir(const weft_node_t *node);

/* Counters since open, for metrics. */
typedef struct {
    uint64_t commits;        /* durable batch commits */
    uint64_t committed_jobs; /* write jobs (calls and changes) in those commits */
    /* Calimero xcalls run after their call committed, and those that
     * failed (or found no context); event handlers run on this node for
     * events of other members (emit_with_handler), and those that failed */
    uint64_t xcalls, xcalls_failed;
    uint64_t handlers, handlers_failed;
    /* calls that ran in an instance their thread kept from an earlier
     * call of the app, reset (docs/node.md, "Threads and the call path") */
    uint64_t kept_instance_calls;
    /* times the Cosmictron scheduler looked through the schedules: at
     * start, when one was due or a call stored one (docs/cosmictron.md) */
    uint64_t cosm_schedule_looks;
    /* The code cache (docs/jit.md), for modules loaded in a compiled tier
     * with a data directory: modules whose code was mapped from it,
     * modules compiled whole at load (WEFT_TIER_JIT, then stored), and
     * cache files ignored as damaged or foreign (each also logged). */
    uint64_t code_cache_hits, modules_compiled, code_cache_rejected;
    /* write calls the writer ran on an overlay of the batch, and those it
     * ran again in a nested transaction because the overlay refused an
     * operation (WEFT_ESERIAL; docs/node.md "Writes") */
    uint64_t overlay_calls, overlay_refused;
    /* write calls whose guest ran on a worker (not on the commit thread),
     * and those of them that started over overlays of their context not
     * yet committed (docs/node.md "Writes") */
    uint64_t worker_write_calls, stacked_calls;
    /* views that ran on their caller's thread (weft_node_call_here) */
    uint64_t views_here;
    /* write calls whose guest ran on the commit thread on an overlay of
     * its batch (a lone writer's, or every one with
     * WEFT_NODE_WRITER_GUESTS), and those of them the commit thread gave
     * back to the sequencer, as serial jobs, when their overlay refused an
     * operation while write calls ran on workers (docs/node.md "Writes") */
    uint64_t writer_guest_calls, writer_calls_returned;
    /* write jobs the sequencer looked at while dispatching (a job waiting
     * for its context's running call is looked at once, not at every
     * dispatch) */
    uint64_t dispatch_steps;
    /* functions of the apps' modules now compiled to machine code (a
     * gauge, not a counter: the compiled tiers, docs/jit.md; 0 under
     * WEFT_TIER_INTERP), and those modules' functions in all */
    uint64_t compiled_functions, functions;
} weft_node_stats_t;
void weft_node_stats(weft_node_t *node, weft_node_stats_t *out);
/* For tests: while hold is nonzero the commit thread starts no batch
 * (write calls still run on the workers and stack on their contexts'
 * overlays); 0 lets it go on. Closing the node releases it. */
void weft_node_hold_commits(weft_node_t *node, int hold);
/* For tests (fault injection): the next `count` batch commits of the
 * commit thread (at_commit nonzero), or LMDB writes of the node (0: a
 * replay into a batch, a log record), fail. code WEFT_ELIMIT fails as a
 * full map does (the map grows and the batch is replayed, its guests not
 * run again); any other fails for good (the batch's calls, and the calls
 * stacked on theirs, end in WEFT_CALL_ERROR with nothing kept). count 0
 * disarms. Returns how many failures of the previous arming of the same
 * kind had not happened yet. */
unsigned weft_node_fail_next(weft_node_t *node, int at_commit, int code, unsigned count);

/* ---- peers (replication) ------------------------------------------------- */

/* The port peer links listen on, or 0 when they do not. */
int weft_node_peer_port(const weft_node_t *node);
/* Calls fn for each peer link as sync last saw it (weft/sync.h). Returns
 * WEFT_ENOTFOUND when the node has no peer links. */
int weft_node_peers(weft_node_t *node, void (*fn)(void *user, const weft_sync_peer_t *peer),
                    void *user);

/* ---- apps --------------------------------------------------------------- */

/* Deploys a module: validates and compiles it, stores its bytes under its
 * sha256 (idempotent: deploying the same bytes again gives the same id) and
 * writes the id, NUL-terminated, to out_id. `name` (optional, 1..64 bytes
 * of [A-Za-z0-9_.-]) is what nx module_id and log lines show; default the
 * first 12 hex digits of the id. Returns 0, WEFT_EMALFORMED, WEFT_EINVALID
 * or WEFT_EUNLINKABLE (out_msg says where and what), WEFT_ELIMIT (past an
 * implementation limit), WEFT_EINTERRUPTED (compiling took longer than
 * load_timeout_ns, or the node is closing), WEFT_EARG (bad name), WEFT_EIO
 * (storage) or WEFT_ENOMEM. */
int weft_node_app_deploy(weft_node_t *node, const uint8_t *wasm, size_t len, const char *name,
                         char out_id[WEFT_APP_ID_LEN + 1], char *out_msg, size_t msg_size);

/* The same with a manifest (JSON, docs/node.md "Manifests"): functions that
 * always run as views, and limits for the app's calls. NULL: none. Like the
 * name, the first deploy's manifest stays. WEFT_EARG when it is malformed
 * or names a view the module does not export (out_msg says which). */
int weft_node_app_deploy_manifest(weft_node_t *node, const uint8_t *wasm, size_t len,
                                  const char *name, const char *manifest, size_t manifest_len,
                                  char out_id[WEFT_APP_ID_LEN + 1], char *out_msg,
                                  size_t msg_size);
/* The app's manifest as deployed (malloc'ed JSON text the caller frees);
 * WEFT_ENOTFOUND when the app has none. */
int weft_node_app_manifest(weft_node_t *node, const char *id, char **out);

typedef struct {
    char id[WEFT_APP_ID_LEN + 1];
    char name[65];
    uint64_t size;       /* module bytes */
    uint64_t created_ms; /* Unix time of the first deploy */
} weft_app_info_t;

/* Looks an app up by id (WEFT_ENOTFOUND when there is none). */
int weft_node_app_get(weft_node_t *node, const char *id, weft_app_info_t *out);
/* Calls fn for every app, in id order, until it returns non-zero. */
int weft_node_app_list(weft_node_t *node, int (*fn)(void *user, const weft_app_info_t *app),
                       void *user);
/* Opens an app from module bytes without deploying it (`weft run FILE`):
 * validated and compiled now, within load_timeout_ns (UINT64_MAX: no
 * bound), and kept in this process only, never in the data directory,
 * until the node closes. Its imports are not checked here (the embedder
 * lists them with weft_profile_check; an unlinkable one fails the call).
 * `name` (1..255 bytes) is what nx module_id shows and the guest's argv[0]
 * by default. out_id gets an id unique in the process (64 hex digits, not
 * the sha256: hashing would cost every `weft run` its start-up); a call
 * runs the app by naming it in weft_call_req_t.app, in any context, which
 * then needs no record. Errors as for weft_node_app_deploy. */
int weft_node_app_open(weft_node_t *node, const uint8_t *wasm, size_t len, const char *name,
                       char out_id[WEFT_APP_ID_LEN + 1], char *out_msg, size_t msg_size);

/* Binds opened app `id` to the guest ABI named `abi` (NULL: the one its
 * imports choose, as at open). Returns 0, WEFT_ENOTFOUND (no such opened
 * app) or WEFT_EUNLINKABLE with msg (bad imports, no ABI called that, or
 * imports it does not provide). *out_store (may be NULL) is 1 when its
 * calls need a data directory (weft_node_open_data_dir). Not while the
 * app's calls run. */
int weft_node_app_bind(weft_node_t *node, const char *id, const char *abi, int *out_store,
                       char *out_msg, size_t msg_size);

/* The compiled module of an app (compiled now if this process has not yet),
 * for listing its imports and exports. Borrowed until the node closes.
 * WEFT_ENOTFOUND when there is no such app, or when it is a component. */
int weft_node_app_module(weft_node_t *node, const char *id, const struct weft_module **out);
/* The same for an app that is a component (weft/component.h, ABI
 * "component"): WEFT_ENOTFOUND when there is no such app or it is a
 * module. */
struct weft_component;
int weft_node_app_component(weft_node_t *node, const char *id,
                            const struct weft_component **out);
/* A component's WIT-level imports and exports as JSON text,
 * {"imports": [...], "exports": [...]}, each {"name", "sort", "type"} (an
 * instance: "exports" instead of "type"), as weft inspect --json shows
 * them; malloc'ed, NULL when out of memory. Any thread. */
char *weft_node_component_describe(const struct weft_component *c);
/* The ABI profile of a module, from its imports (weft/profile.h
 * weft_abi_choose): "wasi" for a module that imports only WASI, else the
 * guest ABI's name ("nx", ...). Static storage. */
const char *weft_node_abi(const struct weft_module *module);
/* Binds a module to the guest ABI named `want` (NULL: detected from its
 * imports) as a deploy does: 0 with *out_name (static storage), or
 * WEFT_EUNLINKABLE with msg naming the bad imports or why no ABI fits. */
int weft_node_abi_bind(const struct weft_module *module, const char *want, const char **out_name,
                       char *out_msg, size_t msg_size);
/* Deletes an app: WEFT_ENOTFOUND, or WEFT_ELIMIT while a context uses it. */
int weft_node_app_delete(weft_node_t *node, const char *id, char *out_msg, size_t msg_size);

/* ---- contexts ----------------------------------------------------------- */

typedef struct {
    char name[WEFT_CONTEXT_MAX + 1];
    char app[WEFT_APP_ID_LEN + 1];
    uint64_t created_ms;
} weft_context_info_t;

/* Creates a context of app `app_id`. Returns 0, WEFT_ENOTFOUND (no such
 * app), WEFT_ELIMIT (the name is taken), WEFT_EARG (bad name) or WEFT_EIO. */
int weft_node_context_create(weft_node_t *node, const char *name, const char *app_id,
                             char *out_msg, size_t msg_size);
/* The same with members (docs/sync.md "Membership"): the context is
 * replicated with the nodes whose ids (32 bytes each) are members[0..n),
 * besides this node, which always is one. WEFT_EARG when members are given
 * to a node without replication. */
int weft_node_context_create_members(weft_node_t *node, const char *name, const char *app_id,
                                     const uint8_t *members, size_t nmembers, char *out_msg,
                                     size_t msg_size);
/* Calls fn for each member of context `name` (32-byte ids, in id order).
 * WEFT_ENOTFOUND when there is no such context. */
int weft_node_context_members(weft_node_t *node, const char *name,
                              void (*fn)(void *user, const uint8_t id[32]), void *user);
/* Adds and removes members (as replicated CRDT ops of this node). Returns
 * 0, WEFT_ENOTFOUND (no context), WEFT_EARG (replication is off). */
int weft_node_context_members_change(weft_node_t *node, const char *name, const uint8_t *add,
                                     size_t nadd, const uint8_t *remove, size_t nremove,
                                     char *out_msg, size_t msg_size);
int weft_node_context_get(weft_node_t *node, const char *name, weft_context_info_t *out);
int weft_node_context_list(weft_node_t *node,
                           int (*fn)(void *user, const weft_context_info_t *ctx), void *user);
/* Moves context `name` to app `app_id` (a redeploy, docs/node.md
 * "Upgrading a context"): the record's app changes after the write calls
 * queued before it; both apps must be of one ABI, and a Cosmictron
 * context's tables move to the new schema in the same transaction
 * (weft_tables_migrate). Returns 0 (also when it is of that app already),
 * WEFT_ENOTFOUND (no such context or app), WEFT_EARG (another ABI, or an
 * incompatible schema change: msg names the table and column) or a
 * storage error. */
int weft_node_context_upgrade(weft_node_t *node, const char *name, const char *app_id,
                              char *out_msg, size_t msg_size);
/* Deletes a context and all its state (keys, CRDT state, op-log, events),
 * after the write calls queued before it. WEFT_ENOTFOUND when absent. */
int weft_node_context_delete(weft_node_t *node, const char *name);

/* A page of a Cosmictron table's rows (docs/cosmictron.md), for clients:
 * up to `limit` rows of public table `table` of context `context` in
 * primary-key order, after the opaque cursor `after` (from an earlier
 * *out_next; NULL/0 at first). With `index`, `from` or `to` (each NULL
 * when absent), the rows of index `index` (NULL: the primary key) from
 * `from` (included) to `to` (excluded), in index order: the bounds are
 * JSON text of the key's value (an array of values for an index of
 * several columns), converted with the columns' types. *out_json is a
 * JSON array of row objects (malloc'ed, NUL-terminated); *out_next the
 * cursor of the next page (malloc'ed) or NULL at the end; the caller
 * frees both. Returns 0, WEFT_ENOTFOUND (no such context, or no public
 * table of that name), WEFT_EARG (not a Cosmictron app, a bad cursor, an
 * unknown index, a bound not of the key's type) with msg saying which,
 * or a storage error. */
int weft_node_table_page(weft_node_t *node, const char *context, const char *table,
                         const char *index, const char *from, const char *to,
                         const uint8_t *after, size_t after_len, size_t limit, char **out_json,
                         uint8_t **out_next, size_t *out_next_len, char *msg, size_t msg_size);

/* The schema of Cosmictron app `id` as text, one line per table and
 * reducer (malloc'ed; the caller frees it). WEFT_ENOTFOUND (no such app),
 * WEFT_EARG (not a Cosmictron app) or an error describing it. */
int weft_node_app_schema(weft_node_t *node, const char *id, char **out);

/* Runs Cosmictron lifecycle reducer `reducer` ("init", "client_connected",
 * "client_disconnected") of `context` as `caller` (NULL: the node), when
 * the context's app declares it without arguments: waiting for it when
 * `wait` (0, or WEFT_ETRAP when it failed), else in the background (0:
 * started). WEFT_ENOTFOUND when there is nothing to run. The HTTP API's
 * context creation runs "init" (POST /v1/contexts). */
int weft_node_cosm_lifecycle(weft_node_t *node, const char *context, const char *reducer,
                             const uint8_t *caller, int wait);

/* A key range of a Cosmictron context's public table, for a subscription
 * (docs/cosmictron.md "Subscriptions"): index, from and to as
 * weft_node_table_page takes them (index NULL: the primary key; from or
 * to NULL: open). Returns 0 with *out (weft_node_table_filter_delete), or
 * errors and msg as weft_node_table_page's. Immutable: share it between
 * threads. */
typedef struct weft_node_table_filter weft_node_table_filter_t;
int weft_node_table_filter_new(weft_node_t *node, const char *context, const char *table,
                               const char *index, const char *from, const char *to,
                               weft_node_table_filter_t **out, char *msg, size_t msg_size);
void weft_node_table_filter_delete(weft_node_table_filter_t *f);
/* 1 when a row of the table (as JSON: a change event's payload) lies in
 * the range, else 0 (also for text that is no such row). */
int weft_node_table_filter_match(const weft_node_table_filter_t *f, const uint8_t *row_json,
                                 size_t len);

/* Every row of a Cosmictron context's public table as JSON (with range,
 * may be NULL, those in its range, in its index's order), for a
 * subscription's start: fn(user, row, len) per row in primary-key order
 * (the text lives during the call; a nonzero return stops), and
 * *out_last_seq the number of the context's last event as of the same
 * snapshot, after which its event stream carries the changes
 * ("table:NAME:insert" / "table:NAME:delete", the row as JSON). Errors as
 * weft_node_table_page's. */
int weft_node_table_snapshot(weft_node_t *node, const char *context, const char *table,
                             const weft_node_table_filter_t *range,
                             int (*fn)(void *user, const char *row_json, size_t len), void *user,
                             uint64_t *out_last_seq, char *msg, size_t msg_size);

/* Reads the private key/value state of a context (nx db_*), in key order:
 * keys starting with `prefix` and strictly after `after` (when after_len >
 * 0), at most `limit`, calling fn for each (pointers valid during the call
 * only). *out_more is set to 1 when more keys follow. Returns 0,
 * WEFT_ENOTFOUND (no such context) or a storage error. */
int weft_node_kv_scan(weft_node_t *node, const char *context, const uint8_t *prefix,
                      size_t prefix_len, const uint8_t *after, size_t after_len, size_t limit,
                      int (*fn)(void *user, const uint8_t *key, size_t key_len,
                                const uint8_t *val, size_t val_len),
                      void *user, int *out_more);

/* Lists the CRDT keys of a context in key order, strictly after `after`
 * (when after_len > 0), at most `limit`, with their type names
 * (weft/crdt_json.h; "corrupt" when the state does not decode). *out_more
 * is 1 when more follow. Returns 0, WEFT_ENOTFOUND (no such context) or a
 * storage error. */
int weft_node_crdt_list(weft_node_t *node, const char *context, const uint8_t *after,
                        size_t after_len, size_t limit,
                        int (*fn)(void *user, const uint8_t *key, size_t key_len,
                                  const char *type),
                        void *user, int *out_more);
/* One CRDT key's value as JSON text (weft/crdt_json.h), malloc'ed for the
 * caller to free. Returns 0, WEFT_ENOTFOUND (no such context or key) or a
 * storage error. */
int weft_node_crdt_json(weft_node_t *node, const char *context, const uint8_t *key,
                        size_t key_len, char **out);

/* ---- calls -------------------------------------------------------------- */

typedef struct {
    const char *context;    /* required */
    const char *function;   /* an export; NULL: `_start`, else `run` */
    const uint8_t *input;   /* stdin bytes (borrowed until the call is queued) */
    size_t input_len;
    const weft_val_t *args; /* numeric arguments instead of stdin; NULL: none */
    size_t nargs;
    const char *const *argv; /* WASI arguments after argv[0] (copied); NULL: none */
    size_t argc;
    const char *argv0;       /* the guest's argv[0]; NULL: the app's name */
    /* An app opened with weft_node_app_open to run instead of the
     * context's: `context` then only names the state the call sees (nx
     * keys, events) and needs no record. NULL: the context's app. */
    const char *app;
    /* 1: the guest reads and writes the node process's own descriptors
     * 0, 1 and 2 instead of memory files: no input is given, no output is
     * kept (max_output does not apply), stderr gives no log lines. */
    int stdio;
    /* Host directories the guest may use (WASI preopens, copied; opened
     * at the call: one that cannot be opened is an ERROR with WEFT_EARG). */
    const weft_wasi_preopen_t *dirs;
    size_t ndirs;
    int view;                /* 1: read-only call on a read transaction */
    /* The caller's identity, a 32-byte ed25519 public key the embedder has
     * verified (a signed HTTP call); NULL: the node's own. Kept with the
     * call for the ABIs that show guests their caller (Calimero
     * executor_id, Cosmictron sender); nx has no such function. */
    const uint8_t *caller;
    weft_call_limits_t limits; /* zeros: the node's */
    /* A Cosmictron schedule this call runs (its handle): the call deletes
     * it in its own transaction, and does not run when it is gone (it was
     * cancelled). 0: none. Set by the node's scheduler. */
    uint64_t schedule;
    /* Cosmictron: the input is the reducer's arguments as JSON (an object
     * of their names, or an array in order), converted with its declared
     * types; 0: BSATN bytes. */
    int input_json;
    /* Calimero: the call runs the handler of event handler_seq (>= 1) of
     * node handler_origin in the context (emit_with_handler, run on the
     * other members): it advances this node's mark of that origin in its
     * own transaction and does not run when the mark is past it (it ran).
     * 0: none. Set by the node. */
    uint8_t handler_origin[32];
    uint64_t handler_seq;
    /* Calimero: with handler_seq, the record is a peer's artifact and the
     * call applies it: the origin's hybrid clock when it committed it
     * (weft_calimero_call_t.delta_as_of). 0: none. Set by the node. */
    uint64_t delta_as_of;
} weft_call_req_t;

typedef enum {
    WEFT_CALL_OK = 0,   /* returned, or exited with status 0: writes committed */
    WEFT_CALL_EXIT,     /* exited with a non-zero status: writes rolled back */
    WEFT_CALL_TRAP,     /* trapped: writes rolled back */
    WEFT_CALL_ERROR,    /* refused or failed before or around the guest */
} weft_call_outcome_t;

/* Runs a call and waits for it. Returns 0 with *out set (whatever the
 * outcome: traps and errors are in the result), or WEFT_ENOMEM, or
 * WEFT_ELIMIT when the node is closing. The result is the caller's: free
 * it with weft_call_result_delete. */
int weft_node_call(weft_node_t *node, const weft_call_req_t *req, weft_call_result_t **out);

/* Runs a view on the calling thread when the node's policy allows it
 * (docs/node.md "Views on the caller's thread"): a view (req->view, or a
 * function the manifest names) of an nx or plain WASI app, whose
 * function's last view was short, while fewer than NODE_HERE_SLOTS (4)
 * views run this way. Such a view is cut when it runs past 1 ms (or at
 * its own deadline, when that is sooner: it then fails as any call at its
 * deadline does), and its function goes to the workers from then on.
 * Returns 0 with *out set (the caller's, as weft_node_call's), 1 when the
 * view did not run here (nothing of it is kept: send it with
 * weft_node_call_async), WEFT_ELIMIT when the node is closing, or
 * another WEFT_E* error. Not for a node opened WEFT_NODE_INLINE (1). */
int weft_node_call_here(weft_node_t *node, const weft_call_req_t *req, weft_call_result_t **out);

/* The same without waiting: done(user, result) runs on a node thread once
 * the call is over (for a write: once its commit is durable) and owns the
 * result. Returns 0, or an error as above (then done is never called). */
typedef void (*weft_call_done_fn)(void *user, weft_call_result_t *res);
int weft_node_call_async(weft_node_t *node, const weft_call_req_t *req, weft_call_done_fn done,
                         void *user);

void weft_call_result_delete(weft_call_result_t *res);
weft_call_outcome_t weft_call_result_outcome(const weft_call_result_t *res);
/* The trap code (weft/store.h WEFT_TRAP_*) when the outcome is TRAP. */
int weft_call_result_trap(const weft_call_result_t *res);
/* A one-line description for TRAP, EXIT and ERROR ("" for OK), with the
 * trap's message or the reason the call was refused. */
const char *weft_call_result_message(const weft_call_result_t *res);
/* For ERROR, the weft/error.h code behind it: WEFT_EARG for a request the
 * node cannot carry out (no such function, wrong arguments, a directory
 * that cannot be opened), else the code of what failed (storage,
 * instantiation). For an INTERRUPTED TRAP, WEFT_EINTERRUPTED when the call
 * was stopped before its guest ran (waiting for the write lock: the trap
 * message says so). 0 otherwise. */
int weft_call_result_error(const weft_call_result_t *res);
/* For TRAP, the trap's own message without its kind ("integer divide by
 * zero"), else "". weft_call_result_message is "KIND: message". */
const char *weft_call_result_trap_message(const weft_call_result_t *res);
/* For TRAP, the wasm frames at the trap, innermost first (the innermost
 * 64 at most): the function's index in its module and its name from the
 * name section (NULL when it has none). Returns the frame count; i past
 * it gives 0 and NULL. */
size_t weft_call_result_backtrace_count(const weft_call_result_t *res);
uint32_t weft_call_result_frame(const weft_call_result_t *res, size_t i, const char **out_name);
/* The exit status for EXIT (and 0 otherwise). */
int weft_call_result_exit_status(const weft_call_result_t *res);
/* Output bytes (stdout), borrowed from the result. */
const uint8_t *weft_call_result_output(const weft_call_result_t *res, size_t *out_len);
/* Results of a call with numeric arguments (values, borrowed). */
size_t weft_call_result_values(const weft_call_result_t *res, const weft_val_t **out);
/* Log lines (nx host_log, then each stderr line), borrowed. */
size_t weft_call_result_log_count(const weft_call_result_t *res);
const char *weft_call_result_log(const weft_call_result_t *res, size_t i, size_t *out_len);
/* nx log lines dropped because the call logged more than 64 MiB. */
size_t weft_call_result_logs_dropped(const weft_call_result_t *res);
/* "log" for an nx log line, "stderr" for a line the guest wrote there. */
const char *weft_call_result_log_level(const weft_call_result_t *res, size_t i);
/* A random 64-bit id of the call, also stored with its log lines. */
uint64_t weft_call_result_call_id(const weft_call_result_t *res);
/* Events, in emission order, each with its per-context sequence number
 * (assigned at commit; 0 when the call did not commit). Borrowed. */
size_t weft_call_result_event_count(const weft_call_result_t *res);
int weft_call_result_event(const weft_call_result_t *res, size_t i, const char **out_name,
                           size_t *out_name_len, const uint8_t **out_payload,
                           size_t *out_payload_len, uint64_t *out_seq);
uint64_t weft_call_result_fuel(const weft_call_result_t *res);     /* used; 0 when unlimited */
uint64_t weft_call_result_duration_ns(const weft_call_result_t *res);
/* 1 when the call wrote something that was rolled back (a trap or a
 * non-zero exit after writes), else 0. */
int weft_call_result_rolled_back(const weft_call_result_t *res);

/* ---- events --------------------------------------------------------------- */

/* One committed event of a context (pointers valid during the call only). */
typedef void (*weft_event_fn)(void *user, const char *context, uint64_t seq, const char *name,
                              size_t name_len, const uint8_t *payload, size_t payload_len);
typedef struct weft_node_sub weft_node_sub_t;

/* Subscribes to the events of `context` (NULL: every context) committed from
 * now on: fn runs on the writer thread after each durable commit, for each
 * event in sequence order. It must be quick and must not block or call
 * into the node (copy the event into a buffer of your own). When the
 * context is deleted, fn is called once more with seq 0 and name NULL:
 * nothing follows. Returns 0 or WEFT_ENOMEM; the subscription is the
 * caller's until weft_node_unsubscribe, after which fn is never called
 * again. Unsubscribe before closing. */
int weft_node_subscribe(weft_node_t *node, const char *context, weft_event_fn fn, void *user,
                        weft_node_sub_t **out);
void weft_node_unsubscribe(weft_node_t *node, weft_node_sub_t *sub);

/* Reads committed events of `context` with sequence numbers above `after`
 * from the data directory (the newest 65,536 of each context are kept), at
 * most `max` of them, calling fn for each in order; *out_last gets the
 * highest sequence number the context has reached (0 for none), so a
 * reader knows where the kept history ends. Returns 0, WEFT_ENOTFOUND (no
 * such context) or a storage error. */
int weft_node_events_read(weft_node_t *node, const char *context, uint64_t after, size_t max,
                          weft_event_fn fn, void *user, uint64_t *out_last);

/* ---- logs ----------------------------------------------------------------- */

/* One recorded log line of a context: its number in the context's ring,
 * Unix time in ms, the call that wrote it, "log" or "stderr", the text. */
typedef void (*weft_log_fn)(void *user, const char *context, uint64_t seq, uint64_t time_ms,
                            uint64_t call_id, const char *level, const char *msg, size_t len);

/* Every call's log lines, whatever its outcome (a trap's too), are kept in
 * the data directory, the newest 4,096 of each context. Subscribing works
 * as for events: fn runs on the writer thread once the lines are
 * recorded, must be quick, is called with seq 0 and level NULL when the
 * context is deleted, and never runs after weft_node_unsubscribe. */
int weft_node_subscribe_logs(weft_node_t *node, const char *context, weft_log_fn fn, void *user,
                             weft_node_sub_t **out);
/* Reads recorded lines numbered above `after`, at most `max`; *out_last
 * gets the highest number recorded (0 for none). WEFT_ENOTFOUND: no such
 * context. */
int weft_node_logs_read(weft_node_t *node, const char *context, uint64_t after, size_t max,
                        weft_log_fn fn, void *user, uint64_t *out_last);

/* ---- blobs ---------------------------------------------------------------- */

/* Content-addressed blobs in the node's data directory (weft/blobs.h,
 * docs/store.md "Blobs"): the id is the SHA-256 of the bytes; an upload
 * streams through the writer a 256 KiB chunk at a time (each durable with
 * its batch), so a blob is never whole in memory. One upload is used by
 * one thread at a time. */
typedef struct weft_node_upload weft_node_upload_t;

/* Starts an upload. WEFT_EARG without a data directory, or WEFT_ENOMEM. */
int weft_node_blob_upload_begin(weft_node_t *node, weft_node_upload_t **out);
/* Appends bytes; each chunk they complete is stored before this returns.
 * 0, WEFT_ELIMIT past the largest blob, or a storage error (the upload is
 * then unusable: free it). */
int weft_node_blob_upload_write(weft_node_upload_t *u, const uint8_t *p, size_t len);
/* Stores the rest and the blob's record: id (32 bytes) and size. 0 or a
 * storage error (WEFT_EIO: a chunk written earlier was lost). */
int weft_node_blob_upload_finish(weft_node_upload_t *u, uint8_t id[32], uint64_t *out_size);
/* Frees an upload, finished or not (an unfinished one leaves no blob). */
void weft_node_blob_upload_free(weft_node_upload_t *u);
/* The size of blob id: 0, WEFT_ENOTFOUND, WEFT_EARG (no data directory),
 * WEFT_EIO (damaged). */
int weft_node_blob_stat(weft_node_t *node, const uint8_t id[32], uint64_t *out_size);
/* Up to len bytes of blob id from offset off (*got: how many; 0 past the
 * end). Errors as for weft_node_blob_stat. */
int weft_node_blob_read(weft_node_t *node, const uint8_t id[32], uint64_t off, uint8_t *buf,
                        size_t len, size_t *got);
/* 1 when blob id, announced to a context of this node, is being fetched
 * from its peers (docs/sync.md "Blobs between nodes"; *have: bytes here so
 * far, *size: its size; either may be NULL), else 0. Any thread. */
int weft_node_blob_fetching(weft_node_t *node, const uint8_t id[32], uint64_t *have,
                            uint64_t *size);
/* Withdraws blob id from context `context` (docs/sync.md "Blobs between
 * nodes"): its announcement is removed, as an op of this node that
 * replicates, so members that lack the blob stop fetching it for that
 * context and none serves it there; copies already made stay. 0,
 * WEFT_ENOTFOUND (no such context, or the blob is not announced to it:
 * msg says which), WEFT_EARG (no data directory or node id), or a storage
 * error. */
int weft_node_blob_withdraw(weft_node_t *node, const char *context, const uint8_t id[32],
                            char *msg, size_t msg_size);
/* Blobs fetched from peers since open (zeros without sync). */
void weft_node_blob_sync_stats(weft_node_t *node, weft_sync_blob_stats_t *out);
/* Sync's counters since open: snapshots served and taken (zeros without
 * sync). Any thread. */
void weft_node_sync_stats(weft_node_t *node, weft_sync_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif
