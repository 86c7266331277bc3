/*
 * faasm_priv.h — private header of Faasm's state service (src/faasm/).
 *
 * state.c owns the service and the local tier; a global tier is one of the
 * backends below behind faasm_global_ops_t: global_mem.c (embedded, one
 * node) or redis.c (hiredis). Backends get full keys ("app/key",
 * NUL-terminated) and must be callable from any thread at once.
 */
#ifndef WEFT_FAASM_PRIV_H
#define WEFT_FAASM_PRIV_H

#include <stddef.h>
#include <stdint.h>

#include "weft/error.h"
#include "weft/faasm_state.h"

typedef struct faasm_global faasm_global_t;

typedef struct {
    const char *kind;
    /* Size of the value (0 when absent). */
    int (*size)(faasm_global_t *g, const char *key, size_t *out);
    /* [off, off+len) of the value; bytes past its end (or of an absent
     * value) are zero. */
    int (*get_range)(faasm_global_t *g, const char *key, size_t off, uint8_t *buf, size_t len);
    int (*set)(faasm_global_t *g, const char *key, const uint8_t *data, size_t len);
    /* Writes [off, off+len), growing the value with zeros as needed. */
    int (*set_range)(faasm_global_t *g, const char *key, size_t off, const uint8_t *data,
                     size_t len);
    int (*append)(faasm_global_t *g, const char *key, const uint8_t *data, size_t len);
    /* The first n elements concatenated: WEFT_ENOTFOUND when fewer exist,
     * WEFT_ELIMIT when they pass len. */
    int (*read_appended)(faasm_global_t *g, const char *key, uint8_t *buf, size_t len, size_t n);
    int (*clear_appended)(faasm_global_t *g, const char *key);
    /* Takes the lock for `token` if it is free or expired: *got 1, else 0. */
    int (*try_lock)(faasm_global_t *g, const char *key, uint64_t token, uint32_t expiry_ms,
                    int *got);
    /* WEFT_EARG when `token` does not hold it (any more). */
    int (*unlock)(faasm_global_t *g, const char *key, uint64_t token);
    void (*close)(faasm_global_t *g);
} faasm_global_ops_t;

struct faasm_global {
    const faasm_global_ops_t *ops;
};

/* The embedded global tier, kept in the weft_db data directory `dir`
 * (opened with db_flags; created when missing) when dir is not NULL, else
 * only in memory. Returns 0, WEFT_ENOMEM, or weft_db_open's error with a
 * message. */
int faasm_global_mem_new(const char *dir, unsigned db_flags, faasm_global_t **out, char *msg,
                         size_t msg_size);
/* The Redis global tier for "redis://HOST:PORT"; WEFT_EARG (bad URL or no
 * hiredis in this build) or WEFT_EIO, with a message. */
int faasm_global_redis_new(const char *url, faasm_global_t **out, char *msg, size_t msg_size);

/* Monotonic milliseconds. */
uint64_t faasm_now_ms(void);

#endif
