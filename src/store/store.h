/*
 * store.h — private interface of src/store/ (weft_store).
 *
 * Only tests, the store itself and the node's test hook (weft_node_fail_next)
 * include this file. It exposes the knobs that the public weft/db.h keeps
 * fixed, so tests can exercise them: the initial map size (the map-growth
 * test starts with a tiny map) and fault injection.
 */
#ifndef WEFT_STORE_STORE_H
#define WEFT_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "weft/db.h"

/* Initial map size of weft_db_open, bytes. A data file that is already
 * larger keeps its own size. */
/* LMDB's map is reserved address space; the file grows only as pages are
 * used. So start big on 64-bit hosts (few calls ever see the map fill), and
 * small where address space is scarce. */
#if UINTPTR_MAX > 0xffffffffu
#define STORE_DEFAULT_MAP_SIZE ((size_t)1 << 30) /* 1 GiB */
#else
#define STORE_DEFAULT_MAP_SIZE ((size_t)64 << 20)
#endif

/* weft_db_open with an explicit initial map size (rounded up to 64 KiB). */
int store_open(const char *dir, unsigned flags, size_t map_size, weft_db_t **out, char *out_msg,
               size_t msg_size);

/* The current map size of db, bytes (for tests and logs). */
size_t store_map_size(weft_db_t *db);

/* Fault injection (tests): the next `count` LMDB puts, or commits of a
 * top-level write transaction, made through db fail instead of running.
 * code WEFT_ELIMIT fails as LMDB's MDB_MAP_FULL (the transaction dies, the
 * map "grows" once none is open, keeping its size, and the caller may
 * retry); any other as an EIO (WEFT_EIO, for good). A failed commit ends
 * its transaction, as LMDB's does. count 0 disarms. Safe from any thread.
 * Returns how many failures of the previous arming had not happened. */
typedef enum { STORE_FAIL_PUT, STORE_FAIL_COMMIT } store_fail_at_t;
unsigned store_fail_next(weft_db_t *db, store_fail_at_t at, int code, unsigned count);

/* Overlay transactions (overlay.c): db.c checks the arguments of every
 * operation, then hands an overlay's here. `below` are sealed overlays of
 * the same context (borrowed until sealed). Writes outside the context
 * return WEFT_ESERIAL (store_ov_refuse, which marks the overlay). */
typedef struct store_overlay store_overlay_t;
int store_ov_new(weft_db_t *db, weft_txn_t *base, const uint8_t *ctx, size_t ctx_len,
                 store_overlay_t *const *below, size_t nbelow, store_overlay_t **out);
void store_ov_free(store_overlay_t *ov);
void store_ov_seal(store_overlay_t *ov);
int store_ov_sealed(const store_overlay_t *ov);
int store_ov_serial(const store_overlay_t *ov);
int store_ov_same_ctx(const store_overlay_t *ov, const uint8_t *ctx, size_t ctx_len);
weft_txn_t *store_ov_base(const store_overlay_t *ov);
size_t store_ov_entries(const store_overlay_t *ov);
int store_ov_refuse(store_overlay_t *ov, const char *what);
int store_ov_get(store_overlay_t *ov, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                 const uint8_t *key, size_t key_len, const uint8_t **out_val, size_t *out_len);
int store_ov_put(store_overlay_t *ov, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                 const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                 int only_new);
int store_ov_del(store_overlay_t *ov, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                 const uint8_t *key, size_t key_len);
int store_ov_scan(store_overlay_t *ov, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                  const uint8_t *prefix, size_t prefix_len, const uint8_t *start_after,
                  size_t start_after_len, weft_scan_fn fn, void *user);
int store_ov_replay(const store_overlay_t *ov, weft_txn_t *dst);

#endif
