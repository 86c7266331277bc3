/*
 * weft/faasm_state.h — Faasm's two-tier state (the service behind the
 * `__faasm_*` state imports, weft/faasm.h).
 *
 * A weft_faasm_state_t is one node's state service. Its *local tier* holds
 * the values the node's calls read and write, per app and key, in process
 * memory: a write is seen at once by every call of the app on this node
 * (as Faasm's shared pages are), and it is not part of any call's
 * transaction (a trap does not roll it back). Its *global tier* is what
 * nodes share: push copies a local value (or its dirty bytes) there, pull
 * copies it back, appended values and global locks live only there. The
 * global tier is embedded (process memory, kept in a data directory when
 * given one: one node) or a Redis server
 * (weft_faasm_state_config_t.redis_url, when weft is built with hiredis).
 * Values are byte strings; a read past a value's end reads zeros. A local
 * value is pulled lazily, in 4 KiB chunks, from the global tier the first
 * time a call reads bytes of it, so reading a few bytes of a large value
 * never copies the whole value. docs/faasm.md gives the rules.
 *
 * Thread safety: every function may be called from any thread at once.
 * A value's bytes change atomically per call of this API (a reader never
 * sees half of another thread's write); the read/write locks are advisory
 * (they order the guests that take them, not the API calls).
 */
#ifndef WEFT_FAASM_STATE_H
#define WEFT_FAASM_STATE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_faasm_state weft_faasm_state_t;
/* One local value (app, key): owned by the service, valid until
 * weft_faasm_state_delete. */
typedef struct weft_faasm_kv weft_faasm_kv_t;

/* Bounds: a key (app + '/' + key) and a value. */
#define WEFT_FAASM_MAX_KEY 1024u
#define WEFT_FAASM_MAX_VALUE (1024u * 1024u * 1024u)
/* Chunk of lazy pulls and partial pushes. */
#define WEFT_FAASM_CHUNK 4096u

typedef struct {
    /* NULL: the embedded global tier. Else "redis://HOST:PORT": the global
     * tier is that Redis server (WEFT_EARG if weft was built without
     * hiredis or the URL is malformed). */
    const char *redis_url;
    /* How long a global lock lives unless released, so a crashed holder
     * cannot block the others forever. 0: 10 s. */
    uint32_t lock_expiry_ms;
    /* The embedded global tier only: NULL keeps it in memory; else its
     * values and appended lists are also kept in this data directory (its
     * own LMDB environment, weft/db.h; made when missing, opened with
     * db_flags, e.g. WEFT_DB_NOSYNC), read back by the next service made
     * on it, and written behind (every few ms, and at
     * weft_faasm_state_delete). Locks are not kept. */
    const char *dir;
    unsigned db_flags;
} weft_faasm_state_config_t;

/* Creates the service (connecting to Redis when asked: WEFT_EIO with a
 * message when it cannot). Returns 0, WEFT_EARG, WEFT_EIO or WEFT_ENOMEM. */
int weft_faasm_state_new(const weft_faasm_state_config_t *cfg, weft_faasm_state_t **out,
                         char *out_msg, size_t msg_size);
/* Frees the service and every value (no call may use it any more). */
void weft_faasm_state_delete(weft_faasm_state_t *st);
/* "embedded" or "redis" (static storage). */
const char *weft_faasm_state_global_kind(const weft_faasm_state_t *st);

/* A wait for a lock polls this every few milliseconds and gives up with
 * its non-zero result (e.g. the call's deadline passed). NULL: wait as
 * long as it takes. */
typedef int (*weft_faasm_wait_fn)(void *user);

/* The local value of (app, key), created empty and not yet pulled on
 * first use. WEFT_EARG for an empty or too long key, WEFT_ENOMEM. */
int weft_faasm_state_kv(weft_faasm_state_t *st, const char *app, const char *key,
                        weft_faasm_kv_t **out);

/* The value's size, pulling it from the global tier if this node never
 * sized it. */
int weft_faasm_kv_size(weft_faasm_kv_t *kv, size_t *out);
/* Makes the value at least `size` bytes (new bytes zero); never shrinks. */
int weft_faasm_kv_reserve(weft_faasm_kv_t *kv, size_t size);
/* Copies [off, off+len) into buf (bytes past the end read as zero),
 * pulling only the chunks of that range this node does not hold. */
int weft_faasm_kv_read(weft_faasm_kv_t *kv, size_t off, uint8_t *buf, size_t len);
/* Replaces the whole value (its size becomes len); all of it dirty. */
int weft_faasm_kv_write(weft_faasm_kv_t *kv, const uint8_t *data, size_t len);
/* Writes [off, off+len), growing the value to at least `total` and to
 * off+len; only that range is dirty. */
int weft_faasm_kv_write_range(weft_faasm_kv_t *kv, size_t total, size_t off, const uint8_t *data,
                              size_t len);
/* Marks [off, off+len) dirty (for weft_faasm_kv_push_partial). */
void weft_faasm_kv_flag_dirty(weft_faasm_kv_t *kv, size_t off, size_t len);

/* Global tier: the whole value, its dirty chunks, or the bytes where the
 * value `mask` (same size; read locally) is non-zero; dirty marks are
 * cleared. Pull replaces the local value by the global one, sized `len`
 * (0: the global value's size). WEFT_EIO when Redis fails. */
int weft_faasm_kv_push(weft_faasm_kv_t *kv);
int weft_faasm_kv_push_partial(weft_faasm_kv_t *kv);
int weft_faasm_kv_push_mask(weft_faasm_kv_t *kv, weft_faasm_kv_t *mask);
int weft_faasm_kv_pull(weft_faasm_kv_t *kv, size_t len);

/* The local read/write lock of the value (many readers or one writer).
 * Returns 0, or the wait function's result when it gave up. Unlock
 * without holding the lock is WEFT_EARG. */
int weft_faasm_kv_lock(weft_faasm_kv_t *kv, int write, weft_faasm_wait_fn wait, void *wait_user);
int weft_faasm_kv_unlock(weft_faasm_kv_t *kv, int write);

/* The global lock of (app, key): exclusive (read or write alike), and it
 * expires after lock_expiry_ms. `token` identifies the holder (unlock by
 * another token is refused). Returns 0, the wait function's result,
 * WEFT_EIO, or WEFT_EARG for an unlock that holds nothing. */
int weft_faasm_state_lock_global(weft_faasm_state_t *st, const char *app, const char *key,
                                 uint64_t token, weft_faasm_wait_fn wait, void *wait_user);
int weft_faasm_state_unlock_global(weft_faasm_state_t *st, const char *app, const char *key,
                                   uint64_t token);

/* Appended values (global tier only): append one element; read the first
 * `n` elements concatenated into buf (at most len bytes: WEFT_ELIMIT if
 * they do not fit, WEFT_ENOTFOUND if fewer than n exist); clear them. */
int weft_faasm_state_append(weft_faasm_state_t *st, const char *app, const char *key,
                            const uint8_t *data, size_t len);
int weft_faasm_state_read_appended(weft_faasm_state_t *st, const char *app, const char *key,
                                   uint8_t *buf, size_t len, size_t n);
int weft_faasm_state_clear_appended(weft_faasm_state_t *st, const char *app, const char *key);

#ifdef __cplusplus
}
#endif
#endif
