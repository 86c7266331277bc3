/*
 * weft/nx.h — the `nx` guest ABI (the Numax host API), weft's native one.
 *
 * A weft_nx_t binds one context of a data directory (weft/db.h) to the
 * guests of a linker: db_* on the context's private key/value space, time,
 * randomness, hashing, environment, events, logs, abort and network
 * introspection. It holds no transaction of its own: the embedder brackets
 * every call with weft_nx_begin_call (handing it the call's write
 * transaction) and weft_nx_end_call, then commits or aborts that
 * transaction itself. Events and log lines of the call are collected, not
 * published, so the embedder prints events only after a commit; they stay
 * readable until the next weft_nx_begin_call.
 *
 * Behaviour the Numax document leaves open is decided in docs/nx.md.
 *
 * Thread safety: one weft_nx_t serves one call at a time.
 */
#ifndef WEFT_NX_H
#define WEFT_NX_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "instance.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_nx weft_nx_t;

/* Return codes seen by guests (negative i32 results of nx functions). */
enum {
    WEFT_NX_OK = 0,
    WEFT_NX_ERR_NOT_FOUND = -1,
    WEFT_NX_ERR_BUFFER_TOO_SMALL = -2,
    WEFT_NX_ERR_INTERNAL = -3,
    WEFT_NX_ERR_RESERVED_KEY = -4,
    WEFT_NX_ERR_SYNC_DISABLED = -5,
};

/* Limits of the ABI, in bytes. */
#define WEFT_NX_MAX_KEY 1024u
#define WEFT_NX_MAX_VALUE (1024u * 1024u)
#define WEFT_NX_MAX_OUTPUT (10u * 1024u * 1024u)
#define WEFT_NX_MAX_RANDOM (1024u * 1024u)
#define WEFT_NX_MAX_LOG 8192u
/* A node id: the 32-byte ed25519 public key CRDT ops carry as their
 * origin. Guests see it as text, WEFT_NX_NODE_ID_TEXT_LEN lowercase hex
 * digits (net_node_id, net_peers). */
#define WEFT_NX_NODE_ID_LEN 32u
#define WEFT_NX_NODE_ID_TEXT_LEN 64u
/* An RGA element id as guests see it: the 40-byte id (origin node id,
 * then the op's u64 seq little-endian) in RFC 4648 base32, lowercase,
 * unpadded: exactly this many ASCII bytes (docs/nx.md). */
#define WEFT_NX_RGA_ID_TEXT_LEN 64u
/* Keys under this prefix belong to the runtime; guests never see them. */
#define WEFT_NX_RESERVED_PREFIX "__nx/"

enum {
    WEFT_NX_SYNC = 1 << 0, /* sync is enabled: net_* answer instead of ERR_SYNC_DISABLED */
};

typedef struct {
    weft_db_t *db;           /* borrowed; must outlive the weft_nx_t */
    const char *context;     /* context name, 1..255 bytes (copied) */
    const char *module_id;   /* what module_id returns and logs are prefixed with (copied) */
    const uint8_t *node_id;  /* the node's id (copied); NULL/0: none yet, see docs/nx.md */
    size_t node_id_len;      /* 0 or WEFT_NX_NODE_ID_LEN */
    unsigned flags;          /* WEFT_NX_* */
    /* Environment env_get reads, "NAME=VALUE" strings (copied); NULL means
     * the host process's own environment, read at each call. Either way
     * only NX_* / NUMAX_* upper-case names are visible. */
    const char *const *env;
    size_t nenv;
    /* What net_peers answers: the connected peers encoded as docs/nx.md
     * says, malloc'ed by the callback (nx frees it). NULL: none (an empty
     * list). Called only when the guest asks. */
    int (*peers)(void *user, uint8_t **out, size_t *out_len);
    void *peers_user;
} weft_nx_config_t;

/* Creates an nx context. Returns 0, WEFT_EARG (no db, context of 0 or over
 * 255 bytes, a node id of another length than 0 or WEFT_NX_NODE_ID_LEN) or
 * WEFT_ENOMEM. Owned by the caller;
 * free with weft_nx_delete after the stores that use it. */
int weft_nx_new(const weft_nx_config_t *cfg, weft_nx_t **out);
void weft_nx_delete(weft_nx_t *nx);

/* Defines every nx function this build provides in `linker` under module
 * "nx", bound to `nx`. Returns 0 or WEFT_ENOMEM. */
int weft_nx_define(weft_nx_t *nx, weft_linker_t *linker);
/* The same for only the nx functions `module` imports (the node defines
 * these per call: a module that imports three pays for three). An import
 * nx has no function of that name for is left undefined, so instantiation
 * reports it as for weft_nx_define. Returns 0, WEFT_EARG or WEFT_ENOMEM. */
int weft_nx_define_imports(weft_nx_t *nx, weft_linker_t *linker, const weft_module_t *module);

/* The functions weft_nx_define defines, in the same order, so an embedder
 * can check a module's imports without a data directory (`weft inspect`
 * does): weft_nx_func_count() of them; weft_nx_func gives the i-th one's
 * name (static storage) and type (a new function type owned by the caller:
 * free it with weft_functype_delete). Returns 0, WEFT_ENOTFOUND for i out
 * of range, or WEFT_ENOMEM. */
size_t weft_nx_func_count(void);
int weft_nx_func(size_t i, const char **out_name, weft_functype_t **out_type);

/* Starts a call: db_* functions use `txn` (borrowed until
 * weft_nx_end_call), and the events, logs and error of the previous call
 * are dropped. A guest calling db_* outside a call traps. */
void weft_nx_begin_call(weft_nx_t *nx, weft_txn_t *txn);
/* Starts a view: like weft_nx_begin_call with a read transaction, and
 * every function that would write (db_set, db_delete, the CRDT updates)
 * traps with a message saying a view cannot write. */
void weft_nx_begin_view(weft_nx_t *nx, weft_txn_t *txn);
/* Ends the call: nx forgets the transaction (the embedder commits or
 * aborts it). Events and logs stay readable. */
void weft_nx_end_call(weft_nx_t *nx);

/* The first storage error of the call (0 if none). When it is retryable
 * (weft_db_retryable: the map was full and has grown) the guest was
 * trapped and the embedder should abort the transaction and run the whole
 * call again in a fresh instance; any other error means the transaction
 * must be aborted. */
int weft_nx_call_error(const weft_nx_t *nx);

/* Events emitted by the call, in order. Pointers are borrowed until the
 * next weft_nx_begin_call or weft_nx_delete. */
size_t weft_nx_event_count(const weft_nx_t *nx);
int weft_nx_event(const weft_nx_t *nx, size_t i, const char **out_name, size_t *out_name_len,
                  const uint8_t **out_payload, size_t *out_payload_len);

/* Log messages of the call (host_log, host_log_v2), in order, each at most
 * WEFT_NX_MAX_LOG bytes; borrowed like events. weft_nx_logs_dropped counts
 * messages dropped because the call logged more than 64 MiB in all. */
size_t weft_nx_log_count(const weft_nx_t *nx);
int weft_nx_log(const weft_nx_t *nx, size_t i, const char **out_msg, size_t *out_len);
size_t weft_nx_logs_dropped(const weft_nx_t *nx);

/* The module id given at creation (borrowed). */
const char *weft_nx_module_id(const weft_nx_t *nx);

/* The names of the nx functions this build provides, `\n`-separated, no
 * trailing newline (what host_capabilities returns). Static storage. */
const char *weft_nx_capabilities(void);

#ifdef __cplusplus
}
#endif
#endif
