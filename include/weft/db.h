/*
 * weft/db.h — durable storage: one LMDB environment per data directory.
 *
 * A weft_db_t is a data directory. Its data lives in named spaces (LMDB
 * named databases), one per purpose; every key is scoped by a context (one
 * instance of an app's state), so a context can be listed, exported or
 * dropped by prefix. Only src/store/ includes lmdb.h.
 *
 * Transactions. A call runs in one write transaction (weft_txn_begin): all
 * its writes commit atomically with weft_txn_commit, or vanish with
 * weft_txn_abort (a trap, abort, fuel exhaustion or host error). Readers
 * (WEFT_TXN_READ) see only committed state and never block the writer.
 * Group commit: weft_db_batch_begin opens one durable write transaction in
 * which several calls run as nested transactions (weft_txn_begin_nested);
 * a nested commit folds into the batch, a nested abort discards only that
 * call; weft_db_batch_commit makes the whole batch durable at once.
 *
 * Durability: a commit that returned 0 survives a crash of the process
 * (fsync'd LMDB commit), unless the db was opened with WEFT_DB_NOSYNC.
 *
 * Map size: the environment starts with a 1 GiB map on 64-bit hosts (64 MiB
 * on 32-bit; the data file's size when larger; it is address space, the
 * file grows only as used) and quadruples when full. A write that finds the
 * map full fails with WEFT_ELIMIT after aborting its transaction and growing
 * the map; the caller retries the whole call (weft_db_retryable tells which
 * errors those are). The handle of that transaction stays allocated but
 * dead: every further operation and weft_txn_commit return WEFT_ELIMIT, and
 * the caller still releases it (commit or abort). In a batch only the call
 * that hit the limit dies; the batch may still commit its other calls. The
 * map can only grow while no transaction of this process is open, so it
 * grows when the last one ends (a begin waits briefly for that).
 *
 * Damage: a data directory never crashes the process. A damaged data.mdb
 * (truncated, emptied, missing next to the files of a used directory, or
 * with damaged pages that make LMDB fault, assert or report corruption)
 * gives WEFT_EDAMAGED with "data directory DIR is damaged: ..." in the
 * message, from weft_db_open or from the operation that met the damage (its
 * transaction is then dead, like a map-full one). LMDB keeps no checksums:
 * damage inside a value's bytes goes unseen. weft_db_verify walks the whole
 * file. See docs/store.md.
 *
 * Thread safety: a weft_db_t may be used by several threads; a weft_txn_t
 * by one thread at a time (LMDB's rules: one write transaction at a time
 * per environment; a thread waits for it in weft_txn_begin).
 */
#ifndef WEFT_DB_H
#define WEFT_DB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_db weft_db_t;
typedef struct weft_txn weft_txn_t;

/* The named spaces of a data directory. */
typedef enum {
    WEFT_SPACE_MODULES = 0, /* module bytes by content hash (no context) */
    WEFT_SPACE_KV,          /* nx db_* and other private key/value state */
    WEFT_SPACE_CRDT,        /* materialised CRDT state */
    WEFT_SPACE_OPLOG,       /* CRDT op-log and version vector, per context */
    WEFT_SPACE_TABLES,      /* tables and indexes */
    WEFT_SPACE_BLOBS,       /* blobs */
    WEFT_SPACE_META,        /* node metadata (identity, versions) */
    WEFT_SPACE_CRDT_PARTS,  /* CRDT states kept part by part (map fields, set elements) */
    WEFT_SPACE_EVENTS,      /* committed events of each context, numbered (src/node) */
    WEFT_SPACE_COUNT
} weft_space_t;

#define WEFT_DB_KEY_MAX 1024
#define WEFT_DB_PART_KEY_MAX (2 + 2 * WEFT_DB_KEY_MAX)

enum {
    WEFT_DB_NOSYNC = 1 << 0, /* commits are not fsync'd (tests, benchmarks) */
    WEFT_DB_READONLY = 1 << 1,
};

/* Opens (creating when absent, mode 0700) the data directory `dir`. On
 * failure returns WEFT_EIO (with the OS/LMDB reason in out_msg),
 * WEFT_EDAMAGED (out_msg says what) or WEFT_ENOMEM. Owned by the caller;
 * close with weft_db_close after every transaction has ended. */
int weft_db_open(const char *dir, unsigned flags, weft_db_t **out, char *out_msg, size_t msg_size);
void weft_db_close(weft_db_t *db);
/* mkdir -p with mode 0700: creates `dir` and the parents it lacks, for
 * the data directories weft chooses itself. Returns 0, or -1 with errno. */
int weft_db_make_dirs(const char *dir);

/* The file, next to data.mdb, that holds the node id (64 hex digits and a
 * newline) once weft/identity.h has made or found one: a witness, outside
 * data.mdb, that the directory had an identity. weft_db_open refuses a
 * missing or empty data.mdb next to it (or next to lock.mdb or write.lock). */
#define WEFT_DB_NODE_ID_FILE "node-id"
/* The directory db was opened on (borrowed, lives as long as db). */
const char *weft_db_dir(const weft_db_t *db);
/* 1 unless db was opened WEFT_DB_READONLY. */
int weft_db_writable(const weft_db_t *db);
/* Sets the message weft_db_errmsg returns (printf format), for layers
 * built on the store that report through it; returns code. */
int weft_db_set_error(weft_db_t *db, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Checks the whole data file read-only: both meta pages, every page
 * reachable from the newest one (each space, every key and value, overflow
 * pages, the free list) through LMDB under the fault guard, page headers,
 * keys in order and well formed, entry counts against LMDB's, and that
 * every page of the file is either in use or free exactly once.
 * Calls report(user, line) for each problem found (at most a few dozen)
 * and each space's summary. Returns 0 when nothing is wrong, WEFT_EDAMAGED
 * when something is, or another error (with weft_db_errmsg) when the check
 * itself could not run. Call it with no transaction of this thread open. */
typedef void (*weft_verify_fn)(void *user, int problem, const char *line);
int weft_db_verify(weft_db_t *db, weft_verify_fn report, void *user);

/* The last error message of this db (LMDB's text and code), for logs. The
 * buffer belongs to db and is overwritten by the next failure (of any
 * thread). LMDB failures map to WEFT_ENOTFOUND (MDB_NOTFOUND), WEFT_ELIMIT
 * (MDB_MAP_FULL, MDB_READERS_FULL), WEFT_ENOMEM, WEFT_EARG (EINVAL) and
 * WEFT_EIO (everything else). */
const char *weft_db_errmsg(const weft_db_t *db);
/* 1 if an operation that failed with `code` should be retried from the
 * start of its call (the map was full and has grown), else 0. */
int weft_db_retryable(int code);

enum { WEFT_TXN_WRITE = 0, WEFT_TXN_READ = 1 };

/* Begins a top-level transaction (WEFT_TXN_WRITE or WEFT_TXN_READ). Owned
 * by the caller until weft_txn_commit or weft_txn_abort. WEFT_EARG for a
 * write on a WEFT_DB_READONLY db. */
int weft_txn_begin(weft_db_t *db, int mode, weft_txn_t **out);
/* The same for a caller that must be able to give up the wait. A write
 * transaction first takes the data directory's write lock, which another
 * transaction (of this process or another) may hold for as long as its
 * call runs; this waits for it in slices of a few milliseconds and calls
 * stop(arg) between them (from this thread, with no lock of weft held):
 * once it returns nonzero the begin fails with WEFT_EINTERRUPTED. stop
 * NULL waits as long as it takes (weft_txn_begin). A read transaction
 * never waits. */
int weft_txn_begin_wait(weft_db_t *db, int mode, int (*stop)(void *arg), void *arg,
                        weft_txn_t **out);
/* Group commit: a batch is a write transaction that calls nest in. */
int weft_db_batch_begin(weft_db_t *db, weft_txn_t **out_batch);
/* A nested write transaction in `parent` (a write transaction; nesting may
 * go deeper). While it is open the parent refuses every operation except
 * ending it; ending the parent first ends the child too (its handle is then
 * dead and is still released by the caller), and a commit in that state
 * fails with WEFT_EARG and aborts. */
int weft_txn_begin_nested(weft_txn_t *parent, weft_txn_t **out);
/* Commits (durably for a top-level or batch transaction; into the parent
 * for a nested one) and frees the handle, whatever the result. */
int weft_txn_commit(weft_txn_t *txn);
#define weft_db_batch_commit weft_txn_commit
/* Discards every write of the transaction and frees the handle. */
void weft_txn_abort(weft_txn_t *txn);
/* 1 when a write (put, del, drop) was issued through txn, or through a
 * nested transaction of it that committed, whether or not it changed
 * anything; else 0. Lets an embedder say that an aborted call lost
 * writes. */
int weft_txn_dirty(const weft_txn_t *txn);

/* Overlay transactions. An overlay is a write buffer of one context (ctx,
 * 1..255 bytes) over `base`, a read or write transaction that it only
 * reads: get, put, put_new, del and scan behave as in a nested transaction
 * of base, but writes go to the buffer (values and deletions, in memory)
 * and nothing reaches LMDB until the buffer is replayed. `below` are
 * sealed overlays of the same context (newest first) whose writes the
 * overlay sees above base: calls of one context stacked before their
 * commit. The overlay refuses, with WEFT_ESERIAL, what would make overlays
 * of different contexts not commute: a write of another context or of a
 * node-wide space, weft_txn_drop_context, weft_txn_contexts and a nested
 * begin; so does a buffer past 64 MiB. It then stays marked
 * (weft_txn_overlay_serial) and the caller runs the work again on a nested
 * transaction. Reads of other contexts and node-wide spaces read base.
 * base and every overlay of `below` must outlive the overlay until it is
 * sealed, and base must not be written meanwhile. Owned by the caller;
 * ended by weft_txn_abort (drops the buffer) or weft_txn_commit (replays it
 * into base, which must be a write transaction, then frees it; a failed
 * replay kills base, below). An overlay uses no LMDB transaction and
 * holds up no map growth. Same thread rule as any transaction. */
int weft_txn_begin_overlay(weft_txn_t *base, const uint8_t *ctx, size_t ctx_len,
                           weft_txn_t *const *below, size_t nbelow, weft_txn_t **out);
/* Ends the overlay's reads: base and below are no longer used (they may
 * end), and every operation but replay, use as `below` and abort is
 * refused (WEFT_EARG). */
int weft_txn_overlay_seal(weft_txn_t *ov);
/* Writes the overlay's buffer into dst (a write transaction), in key
 * order; the overlay stays as it was. On an error (WEFT_ELIMIT for a full
 * map) dst is dead, as with a map-full write: none of the overlay's writes
 * can commit half-way. */
int weft_txn_overlay_replay(const weft_txn_t *ov, weft_txn_t *dst);
/* 1 when an operation of the overlay returned WEFT_ESERIAL. */
int weft_txn_overlay_serial(const weft_txn_t *ov);

/* A key is (context, key): contexts are byte strings of 1..255 bytes
 * (WEFT_SPACE_MODULES and WEFT_SPACE_META are node-wide and take
 * ctx_len 0). Keys are
 * 0..1024 bytes (0..WEFT_DB_PART_KEY_MAX in WEFT_SPACE_CRDT_PARTS, whose
 * keys join a CRDT key and a field); values 0..1 MiB in WEFT_SPACE_KV and 0..256 MiB in the other
 * spaces (WEFT_EARG beyond). Within a context,
 * keys are ordered bytewise (memcmp, shorter first on a common prefix).
 * (LMDB's own key limit is 511 bytes: longer encoded keys are stored under
 * a 480-byte head plus a 128-bit BLAKE3 tag, invisibly to callers; see
 * src/store/db.c.) */

/* Looks up a value. On success *out_val points into the database and stays
 * valid until the transaction ends or writes again; WEFT_ENOTFOUND when
 * absent. */
int weft_txn_get(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                 const uint8_t *key, size_t key_len, const uint8_t **out_val, size_t *out_len);
int weft_txn_put(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                 const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len);
/* weft_txn_put only when the key is absent: WEFT_DB_EXISTS (positive, not
 * an error: nothing was written) when it is there. One B-tree search
 * instead of a get and a put (typed tables' primary keys). */
#define WEFT_DB_EXISTS 1
int weft_txn_put_new(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                     const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len);
/* Deletes a key; 0 whether or not it existed. */
int weft_txn_del(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                 const uint8_t *key, size_t key_len);

/* Visits, in key order, the keys of `ctx` that start with `prefix` and
 * come strictly after `start_after` (when start_after_len > 0), calling
 * fn(user, key, key_len, val, val_len) for each (pointers valid during the
 * call only) until fn returns non-zero (then weft_txn_scan returns 0) or
 * the keys run out. fn must not write through txn (the pointers it gets
 * would move). Errors of fn are the caller's to record in `user`. */
typedef int (*weft_scan_fn)(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                            size_t val_len);
int weft_txn_scan(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                  const uint8_t *prefix, size_t prefix_len, const uint8_t *start_after,
                  size_t start_after_len, weft_scan_fn fn, void *user);

/* Visits, in stored order (by length, then bytewise), every context with
 * at least one key in `space` (not WEFT_SPACE_MODULES or WEFT_SPACE_META),
 * calling fn(user, ctx, ctx_len, keys) with how many keys it has there,
 * until fn returns non-zero or the contexts run out. O(keys in the space). */
typedef int (*weft_ctx_fn)(void *user, const uint8_t *ctx, size_t ctx_len, uint64_t keys);
int weft_txn_contexts(weft_txn_t *txn, weft_space_t space, weft_ctx_fn fn, void *user);

/* Deletes every key of `ctx` in `space` (all spaces when space is
 * WEFT_SPACE_COUNT). */
int weft_txn_drop_context(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len);

#ifdef __cplusplus
}
#endif
#endif
