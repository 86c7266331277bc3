/*
 * node_priv.h — the node layer's shared structures (src/node only).
 *
 * Threads: `workers` threads take view calls from `views` and write calls
 * from `wrun` (their guests, on overlays); one writer thread (the commit
 * thread) takes the overlays and every other write (deploys, context
 * changes, serial calls) from `commits` and commits them in batches, one
 * durable commit per batch (node.c, "the sequencer"); a watchdog thread
 * interrupts calls past their deadline. The queues and the
 * module cache each have their own mutex; nothing else is shared between
 * threads (a job belongs to the thread that dequeued it).
 *
 * Records (WEFT_SPACE_META, no context):
 *   "app/" ID   -> u64 created_ms, u64 size, u8 name_len, name
 *   "ctx/" NAME -> u64 created_ms, ID (64 bytes)
 * Module bytes live in WEFT_SPACE_MODULES under the 64-byte hex id. Each
 * context's committed events live in WEFT_SPACE_EVENTS under its name:
 *   "n"             -> u64 next sequence number
 *   "e" u64be(seq)  -> u16 name_len, name, payload
 *   "m"             -> u64 next log line number
 *   "l" u64be(seq)  -> u64 time_ms, u64 call_id, u8 level, message
 * keeping the newest NODE_EVENTS_KEEP events and NODE_LOGS_KEEP log lines
 * (older ones are dropped as new ones come).
 */
#ifndef WEFT_NODE_PRIV_H
#define WEFT_NODE_PRIV_H

#include <pthread.h>
#include <stdint.h>

#include "weft/db.h"
#include "weft/engine.h"
#include "weft/module.h"
#include "weft/node.h"
#include "weft/store.h"

#define NODE_EVENTS_KEEP 65536u
#define NODE_LOGS_KEEP 4096u /* log lines kept per context */
#define NODE_DEFAULT_MAX_INPUT ((size_t)1 << 20)
#define NODE_DEFAULT_MAX_OUTPUT ((size_t)16 << 20)
#define NODE_MAX_STDERR_WRITE ((uint64_t)4 << 20) /* stderr bytes a call may write */
#define NODE_DEFAULT_BATCH 64u
#define NODE_MAX_TRIES 8 /* attempts of a call whose store map had to grow */
/* Views on their callers' threads (weft_node_call_here): at most this many
 * at once, each cut at NODE_HERE_BUDGET_NS; a function whose view took
 * longer goes to the workers until one of its views there is short. */
#define NODE_HERE_SLOTS 4u
#define NODE_HERE_BUDGET_NS 1000000u

/* An app's manifest, parsed (manifest.c). */
typedef struct {
    char *abi;    /* the guest ABI it names; NULL: detected from the imports */
    char **views; /* functions that always run as views */
    size_t nviews;
    weft_call_limits_t limits; /* zeros: the node's */
    int tier; /* "tier": WEFT_TIER_* + 1; 0: absent (the node's tier) */
    /* components only (abi_component.c, docs/components.md) */
    char **imports; /* the import groups to link ("funcs", "wasi:cli"); NULL: every one */
    size_t nimports;
    int stub_missing; /* other imports trap when called instead of failing the deploy */
    char **allow;     /* funcs targets it may call ("ctx:fn", "ctx:*") */
    size_t nallow;
    unsigned max_depth; /* funcs calls nested at most this deep (0: 8) */
    char **net_allow;   /* wasi:sockets: remote addresses it may reach ("ADDR[/N]:PORT") */
    size_t nnet_allow;
    char **net_listen;  /* local addresses a TCP socket may bind and listen on */
    size_t nnet_listen;
} node_manifest_t;

/* One compiled app, shared by all its calls (the module is immutable). */
struct node_serial_fn {
    struct node_serial_fn *next;
    char name[]; /* "" for the default function */
};

typedef struct node_app {
    char id[WEFT_APP_ID_LEN + 1];
    char name[256];
    weft_module_t *module;          /* NULL for a component */
    struct weft_component *component; /* a component app (abi_component.c), else NULL */
    node_manifest_t manifest;
    const struct node_abi *abi; /* how its calls reach the guest (abi.h) */
    int needs_store;            /* its imports need the data directory */
    int stale; /* the app was deleted: kept for calls that hold it, never found again */
    int opened; /* weft_node_app_open: found only through weft_call_req_t.app */
    /* Functions whose write calls run in a nested transaction, never on
     * an overlay, because an overlay of one of their calls refused an
     * operation (call.c, "serial functions"): an nx CRDT write moves the
     * node's clock in `meta`. Under the node's apps_mu. */
    struct node_serial_fn *serial_fns;
    /* Functions whose last view took longer than NODE_HERE_BUDGET_NS: they
     * do not run on their caller's thread (call.c, "slow views"). Changed
     * under apps_mu; the head is read without it (atomic). */
    struct node_serial_fn *slow_fns;
    struct node_app *next;
} node_app_t;

/* JOB_LOGS: a view's log lines to record (detached: nobody waits). */
typedef enum { JOB_CALL, JOB_FN, JOB_LOGS } job_kind_t;

typedef struct node_job node_job_t;
/* A write job that is not a call: runs in the writer with a nested
 * transaction of the batch; its return value is the job's result. */
typedef int (*node_fn_t)(weft_node_t *node, weft_txn_t *txn, void *arg);

/* A write call's sealed overlay (node.c), from the worker that ran its
 * guest until its batch is durable or failed: in its context's `pending`
 * list (newest first), which later calls of the context read through
 * before the commit. `down` is the newest overlay it read through, held
 * until it is durable, so a batch that fails for good fails every overlay
 * stacked on one of its own. Counted references, under the node's mu. */
typedef struct node_ovrec {
    weft_txn_t *ov;
    struct node_ovrec *down, *next;
    int refs;
    int state; /* NODE_OV_PENDING, _DURABLE or _FAILED (written by the commit thread) */
} node_ovrec_t;
enum { NODE_OV_PENDING, NODE_OV_DURABLE, NODE_OV_FAILED };

typedef struct {
    node_job_t *head, *tail;
    size_t len;
} node_queue_t;

/* A context's sequencer (node.c): whether a write call of it runs on a
 * worker, its overlays not yet durable, and its calls dispatched and not
 * yet settled. Exists while any of them is so. */
typedef struct node_seq {
    struct node_seq *next; /* in the node's hash chain */
    int running;
    /* its write calls that came while its call ran on a worker, in order
     * (taken out of `writes`, so the dispatcher's scan never meets them
     * again); only while running */
    node_queue_t wait;
    node_ovrec_t *pending;
    unsigned queued;       /* calls dispatched (to a worker or the commit thread), not settled */
    unsigned writer_calls; /* of them, those given to the commit thread (job.wg) */
    char name[];
} node_seq_t;
#define NODE_SEQ_BUCKETS 64u

struct node_job {
    job_kind_t kind;
    node_job_t *next;
    /* A write call whose guest may run on a worker (node.c "the
     * sequencer"); 0: the commit thread runs it (a barrier). */
    int par;
    int barrier; /* a serial job given to the commit thread, not yet committed */
    int ran;     /* its guest ran on a worker: the commit thread replays rec */
    int nested;  /* an overlay refused it on a worker: nested at once */
    int wg;      /* a write call dispatched to the commit thread, its guest on an overlay of the batch */
    node_seq_t *seq;  /* its context's, from its dispatch until it is settled */
    node_ovrec_t *rec; /* its sealed overlay (a guest that succeeded on a worker) */
    /* JOB_CALL: the request, copied (strings and bytes owned by the job) */
    weft_call_req_t req;
    uint8_t caller[32]; /* req.caller points here when given */
    weft_call_result_t *res;
    weft_call_done_fn done;
    void *user;
    int tries;
    int overlay; /* the call runs on an overlay (node_run_call) */
    int here;    /* a view on its caller's thread (weft_node_call_here) */
    int elsewhere; /* ... that declined: NODE_RUN_ELSEWHERE */
    void *link; /* a chained call's link to its parent (abi_faasm.c) */
    void *funcs_link; /* a funcs call's link to its caller (abi_component.c) */
    /* JOB_FN */
    node_fn_t fn;
    void *arg;
    int fn_rc;
    void (*fn_done)(void *arg, int rc); /* node_write_fn_async: nobody waits */
    /* completion of synchronous waits (weft_node_call, node_write_fn) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int finished;
};

/* A running call the watchdog may interrupt. weft_node_interrupt reads
 * `store` without mu (it may run in a signal handler): it raises `hold`
 * while it uses the store, and node_slot_set waits for hold to fall after
 * clearing `store` before the store may go (atomics, both). */
typedef struct {
    weft_store_t *store;
    uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0 = none */
    pthread_t thread;     /* running the call: WEFT_NODE_KICK signals it */
    int kick;             /* past its deadline: signalled until the call ends */
    int hold;
} node_slot_t;

struct weft_node {
    weft_db_t *db;
    char *data_dir;
    weft_node_stats_t stats; /* under mu */
    uint64_t kept_calls;     /* stats.kept_instance_calls: atomic, no lock (call.c) */
    uint64_t overlay_calls, overlay_refused; /* stats: atomic (the workers and the writer) */
    uint64_t writer_guest_calls; /* stats: atomic (the writer) */
    uint64_t cosm_looks;     /* stats.cosm_schedule_looks: atomic (abi_cosmictron.c) */
    weft_engine_t *engine;
    unsigned flags;
    uint8_t id[32];
    int has_id;
    weft_call_limits_t limits;
    unsigned max_batch;
    uint64_t load_timeout_ns;
    int tier; /* weft_load_options_t.tier of the node's modules */
    volatile int stopping; /* set at close: stops loads in progress */
    char **env;
    size_t nenv;

    pthread_mutex_t subs_mu; /* event subscriptions */
    weft_node_sub_t *subs;

    pthread_mutex_t apps_mu; /* the compiled-module cache */
    node_app_t *apps;

    pthread_mutex_t mu; /* queues, slots, closing */
    pthread_cond_t views_cv, writes_cv, watch_cv;
    /* views: for the workers. writes: every write job in the order it
     * came, until dispatched (node.c "the sequencer") to wrun (write calls
     * for the workers) or to commits (the commit thread's, in order). */
    node_queue_t views, writes, wrun, commits;
    unsigned inflight; /* write calls in wrun or running on a worker */
    unsigned queued;   /* write calls dispatched and not yet settled (node_seq_t.queued's sum) */
    unsigned barrier;  /* serial jobs in commits or being committed */
    int hold_commits;  /* weft_node_hold_commits */
    node_seq_t *seqs[NODE_SEQ_BUCKETS];
    int closing;
    unsigned nworkers;
    pthread_t *workers;
    pthread_t writer, watchdog;
    int writer_started, watchdog_started;
    /* When the waiting watchdog wakes by itself (0: not waiting for a time).
     * A slot whose deadline is not before it needs no signal: the watchdog
     * rescans every slot when it wakes. Under mu. */
    uint64_t watch_next;
    node_slot_t *slots; /* nworkers + 1 (the writer's), then NODE_HERE_SLOTS */
    unsigned nslots;
    unsigned here_busy; /* a bit per slot of NODE_HERE_SLOTS taken (under mu) */
    uint64_t here_views; /* stats.views_here (atomic) */
    uint64_t here_views_started; /* the watchdog ticks while it grows (atomic) */
    int interrupted; /* weft_node_interrupt: every call traps (atomic) */
    struct weft_sync *sync; /* replication (replicate.c); NULL when off */
    struct weft_faasm_state *faasm_state; /* abi_faasm.c; NULL until a Faasm call needs it */
    struct cosm_sched *cosm_sched;         /* abi_cosmictron.c: the scheduler, or NULL */
    struct node_handlers *handlers;        /* handlers.c: other members' event handlers */
    int cosm_log_level; /* console.log lines below it are not kept (0-4) */
    weft_http_fetch_fn http_fetch; /* outbound HTTP (NULL: denied), with its user */
    void *http_user;
    weft_name_lookup_fn name_lookup; /* wasi:sockets' resolver (NULL: literals only) */
    void (*sync_log)(void *user, const char *line);
    void *sync_log_user;
};

struct weft_call_result {
    weft_call_outcome_t outcome;
    int trap;
    int error;          /* weft_call_result_error */
    char *trap_message; /* the store's, without the kind */
    struct node_frame {
        uint32_t func;
        char *name;
    } *frames; /* the trap's backtrace, innermost first */
    size_t nframes;
    int exit_status;
    char *message;
    uint8_t *output;
    size_t output_len;
    weft_val_t *values;
    size_t nvalues;
    char **logs;
    size_t *log_lens;
    uint8_t *log_levels; /* NODE_LOG_* */
    size_t nlogs;
    size_t logs_dropped; /* nx log lines past the call's 64 MiB */
    struct node_event {
        char *name;
        size_t name_len;
        uint8_t *payload;
        size_t payload_len;
        uint64_t seq;
    } *events;
    size_t nevents;
    /* Events of nested calls into other contexts (funcs calls,
     * abi_component.c), committed with this call: one group per nested
     * call, in the order they were appended, published before its own. */
    struct node_nested_events {
        char *context;
        struct node_event *events;
        size_t nevents;
    } *nested;
    size_t nnested;
    uint64_t fuel;
    uint64_t duration_ns;
    uint64_t call_id;
    uint64_t log_seq0; /* number of the first log line once recorded; 0: not */
    uint64_t log_time_ms; /* when they were recorded */
    int rolled_back;
    int scheduled; /* a Cosmictron call stored a schedule: the scheduler looks again */
};

/* An API function's optional message buffer: a dummy when the caller
 * gives none, emptied either way. */
#define NODE_OUT_MSG(out_msg, msg_size)                                    \
    char out_msg##_dummy[8];                                               \
    if (!(out_msg) || !(msg_size)) {                                       \
        (out_msg) = out_msg##_dummy;                                       \
        (msg_size) = sizeof out_msg##_dummy;                               \
    }                                                                      \
    (out_msg)[0] = '\0'

/* node.c */
uint64_t node_now_ns(void);
uint64_t node_unix_ms(void);
uint64_t node_random_u64(void);
/* Runs fn in the writer, in its own nested transaction of a batch, and
 * waits: the returned value is fn's (its transaction is committed when it
 * returns 0 and aborted otherwise), or an error of the queue. */
int node_write_fn(weft_node_t *node, node_fn_t fn, void *arg);
/* The same without waiting: done(arg, rc) runs on the writer thread once
 * the batch is committed (rc is fn's, or the commit's error). */
int node_write_fn_async(weft_node_t *node, node_fn_t fn, void *arg,
                        void (*done)(void *arg, int rc));
/* 0, or -1 when the watchdog thread a deadline needs cannot start. */
int node_slot_set(weft_node_t *node, unsigned slot, weft_store_t *store, uint64_t deadline_ns);

/* replicate.c: the node's side of sync (weft/sync.h) */
/* Starts sync when cfg asks for peer links; 0 or an error with msg. */
int node_sync_open(weft_node_t *node, const weft_node_config_t *cfg, char *msg, size_t msg_size);
void node_sync_close(weft_node_t *node);
/* The writer committed jobs[0..n) (NULL entries skipped): tell sync. */
void node_sync_committed(weft_node_t *node, node_job_t **jobs, size_t n);
/* nx net_peers' answer (weft_nx_config_t.peers), user = the node. */
int node_sync_peers_nx(void *node, uint8_t **out, size_t *out_len);
/* Context `name` changed outside a call (created, members changed). */
void node_sync_changed(weft_node_t *node, const char *name);
/* Adds (add = 1) or removes node ids ids[0..n) to or from the members of
 * context `name`, in txn, as this node's CRDT ops. */
int node_members_change(weft_node_t *node, weft_txn_t *txn, const char *name,
                        const uint8_t *ids, size_t n, int add);

/* apps.c */
/* The compiled app of `id`, loading it from `txn` when not cached yet.
 * Borrowed: apps stay cached until the node closes. NULL with the reason
 * in msg when there is no such app or it cannot be compiled. */
node_app_t *node_app_load(weft_node_t *node, weft_txn_t *txn, const char *id, char *msg,
                          size_t msg_size);
void node_apps_free(weft_node_t *node);
/* Sums, over the apps not deleted, their modules' functions compiled to
 * machine code (*compiled) and all their functions (*total). */
void node_apps_compiled(weft_node_t *node, uint64_t *compiled, uint64_t *total);
/* The app of `id` opened with weft_node_app_open, or NULL. */
node_app_t *node_app_opened(weft_node_t *node, const char *id);

/* manifest.c */
/* Parses a manifest (docs/node.md); with a module, views must be its
 * exported functions. Returns 0, WEFT_EARG (msg says what is wrong) or
 * WEFT_ENOMEM. Free with node_manifest_free. */
int node_manifest_parse(const char *text, size_t len, const weft_module_t *module,
                        node_manifest_t *out, char *msg, size_t msg_size);
void node_manifest_free(node_manifest_t *mf);
int node_manifest_is_view(const node_manifest_t *mf, const char *function);
/* lim = node's limits, then the app's, then the request's, each nonzero
 * field replacing the one before. */
void node_limits_merge(weft_call_limits_t *lim, const weft_call_limits_t *app,
                       const weft_call_limits_t *req);
/* The call's timeout: the request's, else its app's manifest's, else the
 * node's (0: none). */
uint64_t node_call_timeout(weft_node_t *node, const weft_call_req_t *req);
/* 1 when the request's function is a view by its app's manifest. */
int node_call_is_view(weft_node_t *node, const weft_call_req_t *req);

/* contexts.c */
/* The app id of context `name` (NUL-terminated into out_id), from txn. */
int node_context_app(weft_txn_t *txn, const char *name, char out_id[WEFT_APP_ID_LEN + 1]);
/* Creates context `name` of app `app_id` (64 hex digits) in txn, with
 * this node as its only member (Calimero's context_create, abi_calimero.c):
 * 0, WEFT_ENOTFOUND (no such app), WEFT_ELIMIT (the name is taken),
 * WEFT_EARG (a bad name or id) or a storage error, after which txn may
 * hold part of the context: the caller gives a nested transaction. */
int node_context_create_in(weft_node_t *node, weft_txn_t *txn, const char *name,
                           const char *app_id);
/* Deletes context `name` and its state in txn, as weft_node_context_delete
 * does (the caller tells subscribers once it committed): 0,
 * WEFT_ENOTFOUND or a storage error (then nest txn, as above). */
int node_context_delete_in(weft_node_t *node, weft_txn_t *txn, const char *name);

/* call.c */
/* Runs job's call in txn (a nested write transaction, an overlay
 * transaction of the call's context when job->overlay is set, or a read
 * transaction for a view), filling job->res. Returns 1 when the caller
 * should commit txn, 0 to abort it, -1 to abort it and run the call again
 * (the store's map grew under it), NODE_RUN_SERIAL to abort the overlay
 * and run the call again in a nested transaction (its adapter is
 * node_abi_t.serial, or the overlay refused an operation: WEFT_ESERIAL).
 * `slot` is the caller's watchdog slot. */
#define NODE_RUN_SERIAL (-2)
/* A view tried on its caller's thread (job->here) that must go to the
 * workers instead: not an nx app, its function slow, or cut at the
 * budget (nothing of it is kept). */
#define NODE_RUN_ELSEWHERE (-3)
int node_run_call(weft_node_t *node, node_job_t *job, weft_txn_t *txn, unsigned slot);

/* node.c: chained calls (abi_faasm.c). node_chain_job makes a view job of
 * req (copied) whose callee sees `link` (node_call_t.link) and whose
 * result goes to done(user, res); node_chain_submit queues it for the
 * workers (an inline node keeps it for node_chain_run), or frees it and
 * returns WEFT_ELIMIT when closing. node_chain_take takes a queued job back
 * (1; 0 when a worker has it: the job is then the node's to free), and
 * node_chain_run runs a taken job on this thread inside a call holding
 * `slot`, then gives the slot back to that call's store; done runs and the
 * job is freed either way. */
node_job_t *node_chain_job(const weft_call_req_t *req, void *link, weft_call_done_fn done,
                           void *user);
int node_chain_submit(weft_node_t *node, node_job_t *j);
int node_chain_take(weft_node_t *node, node_job_t *j);
void node_chain_run(weft_node_t *node, node_job_t *j, unsigned slot);
/* call.c: the thread's call streams set aside for a nested call (which
 * makes its own) and given back after it. */
void *node_call_streams_save(void);
void node_call_streams_restore(void *saved);
/* abi_faasm.c: the node's Faasm state service: on Redis when redis_url is
 * given (made now: an error with msg when unreachable), else embedded and
 * made at the first Faasm call; freed at close. */
int node_faasm_open(weft_node_t *node, const char *redis_url, char *msg, size_t msg_size);
void node_faasm_close(weft_node_t *node);
/* abi_cosmictron.c: the scheduler of Cosmictron schedules (a thread that
 * runs due reducers as calls), for a threaded node with a data directory;
 * close stops it, before the workers it calls through; free releases it,
 * after the writer (which wakes it: node_cosm_committed) has stopped. */
int node_cosm_open(weft_node_t *node);
void node_cosm_close(weft_node_t *node);
void node_cosm_free(weft_node_t *node);
/* The writer committed jobs[0..n) (NULL entries skipped): a call among
 * them that stored a schedule wakes the scheduler to look again. */
void node_cosm_committed(weft_node_t *node, node_job_t **jobs, size_t n);
/* Reads (and keeps) the schema of Cosmictron app `id` at its deploy: 0,
 * WEFT_EARG with msg saying what is wrong with the module's description,
 * or WEFT_ENOMEM. */
int node_cosm_deploy(weft_node_t *node, const char *id, weft_module_t *m, char *msg,
                     size_t size);
/* A peer's op on `key` (NULL: any key, after a snapshot) of context ctx
 * was applied in txn: the rows of a replicated table follow it
 * (weft_tables_repl_apply), the rows shown or hidden become events of
 * res. 0, or a store error (the batch aborts). */
int node_cosm_applied(weft_node_t *node, weft_txn_t *txn, const char *ctx, const uint8_t *key,
                      size_t key_len, weft_call_result_t *res);
/* Moves context ctx's tables from app `from` to app `to` (both Cosmictron
 * apps) in txn: 0, WEFT_EARG with msg naming the table and column of an
 * incompatible schema change (weft_tables_migrate), or a store error. */
int node_cosm_upgrade(weft_node_t *node, weft_txn_t *txn, const char *ctx, node_app_t *from,
                      node_app_t *to, char *msg, size_t size);

/* handlers.c: Calimero event handlers on the other members (emit_with_handler).
 * open starts the thread that runs them (with sync, before it starts);
 * close stops it (after sync, before the workers it calls through). notify:
 * a batch of peers' ops in ctx was applied (any thread, never blocks).
 * emit writes the event as replicated state in txn; mark / mark_set read
 * and write this node's last event handled of `origin` in ctx. */
typedef struct node_handlers node_handlers_t;
int node_handlers_open(weft_node_t *node);
void node_handlers_close(weft_node_t *node);
void node_handlers_notify(weft_node_t *node, const uint8_t *ctx, size_t len);
int node_handler_emit(weft_node_t *node, weft_txn_t *txn, const char *ctx, const char *handler,
                      size_t hl, const char *kind, size_t kl, const uint8_t *data, size_t dl);
/* artifact writes a committed call's artifact (commit) the same way, for
 * the other members to run the app's NODE_SYNC_EXPORT with it, in the
 * origin's order with its events (docs/calimero.md "Artifacts");
 * WEFT_ELIMIT when it does not fit one op. */
#define NODE_SYNC_EXPORT "__calimero_sync_next"
/* abi_calimero.c: applies ctx's proposals whose approvals pass the
 * threshold only merged, when this node is their lowest approving member
 * (weft_calimero_gov_settle); the handlers' thread calls it with theirs. */
void node_calimero_settle(weft_node_t *node, const char *ctx);
int node_handler_artifact(weft_node_t *node, weft_txn_t *txn, const char *ctx,
                          const uint8_t *artifact, size_t len);
int node_handler_mark(weft_txn_t *txn, const char *ctx, const uint8_t origin[32], uint64_t *out);
int node_handler_mark_set(weft_txn_t *txn, const char *ctx, const uint8_t origin[32],
                          uint64_t seq);

/* events.c */
/* Writes the result's events to the context's event log in txn, giving
 * each its sequence number. */
int node_events_append(weft_txn_t *txn, const char *context, weft_call_result_t *res);
/* The number the context's next event will get (1 before its first), as
 * of txn: a reader that saw txn's state resumes the events after it - 1. */
int node_events_next(weft_txn_t *txn, const char *context, uint64_t *out);
/* Hands the committed events of res to the subscribers (writer thread):
 * those of its nested calls (res->nested) first, each to its context's. */
void node_events_publish(weft_node_t *node, const char *context, const weft_call_result_t *res);
/* Records res's log lines in the context's log ring, numbering them
 * (res->log_seq0 gets the first number), and hands them to subscribers
 * once committed (node_logs_publish). */
int node_logs_append(weft_txn_t *txn, const char *context, weft_call_result_t *res);
void node_logs_publish(weft_node_t *node, const char *context, const weft_call_result_t *res);
void node_subs_free(weft_node_t *node);
/* Tells the context's subscribers it was deleted (seq 0, name NULL). */
void node_subs_context_deleted(weft_node_t *node, const char *context);

/* result.c */
weft_call_result_t *node_result_new(void);
/* Sets the outcome and a printf message. Returns res. */
weft_call_result_t *node_result_fail(weft_call_result_t *res, weft_call_outcome_t outcome,
                                     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The call trapped in store: its kind, message and backtrace (names from
 * module's name section) into res. */
#define NODE_MAX_FRAMES 64
void node_result_trap(weft_call_result_t *res, weft_store_t *store,
                      const weft_module_t *module);
/* Clears output, logs, events and values (a retried call starts afresh). */
void node_result_reset(weft_call_result_t *res);
enum { NODE_LOG_NX = 0, NODE_LOG_STDERR = 1 };
int node_result_add_log(weft_call_result_t *res, int level, const char *p, size_t len);
int node_result_add_event(weft_call_result_t *res, const char *name, size_t name_len,
                          const uint8_t *payload, size_t payload_len);
/* Moves the appended (numbered) events of `from`, a nested call of
 * context `context` committed into the call of `to`, to to's nested
 * events: first those of from's own nested calls, then from's. from keeps
 * none. 0, or -1 when out of memory (from's stay, to gets none of them). */
int node_result_take_events(weft_call_result_t *to, const char *context,
                            weft_call_result_t *from);

/* Big-endian and little-endian helpers for records. */
static inline void node_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint64_t node_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static inline void node_put_u64be(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}
static inline uint64_t node_get_u64be(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

#endif
