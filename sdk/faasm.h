/*
 * sdk/faasm.h — C SDK for the Faasm ABI on weft, for guests.
 *
 * Declares the binary imports real Faasm functions use (module `env`,
 * `__faasm_*`, strings NUL-terminated, lengths 32-bit on wasm32), and on
 * top of them the names of the Faasm host interface document
 * (faasm_read_call_input, faasm_chain_call, faasm_get_state, ...), as
 * static inline functions. A Faasm function is a WASI command: its `main`
 * runs once per call. Build with clang --target=wasm32-wasi -I path/to/sdk
 * -Wl,--export=malloc (the host allocates __faasm_read_state_ptr copies
 * and awaited outputs with it; without it, with fresh memory pages).
 * docs/faasm.md has weft's decisions where the documents are silent.
 */
#ifndef WEFT_SDK_FAASM_H
#define WEFT_SDK_FAASM_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FAASM_IMPORT(name) __attribute__((import_module("env"), import_name(name)))

/* ---- the imports ---------------------------------------------------------- */
/* Input: with len 0 the input's size, else the bytes copied (at most len). */
FAASM_IMPORT("__faasm_read_input") int32_t __faasm_read_input(uint8_t *buf, int32_t len);
/* Output: replaces the call's output. */
FAASM_IMPORT("__faasm_write_output") void __faasm_write_output(const uint8_t *buf, int32_t len);

/* State. read_state copies the first len bytes (zeros past the end) and
 * returns the value's size; with len 0 only the size. */
FAASM_IMPORT("__faasm_read_state") int32_t __faasm_read_state(const char *key, uint8_t *buf, int32_t len);
FAASM_IMPORT("__faasm_read_state_ptr") uint8_t *__faasm_read_state_ptr(const char *key, int32_t total);
FAASM_IMPORT("__faasm_read_state_offset") void __faasm_read_state_offset(const char *key, int32_t total,
                                                                         int32_t off, uint8_t *buf, int32_t len);
FAASM_IMPORT("__faasm_read_state_offset_ptr") uint8_t *__faasm_read_state_offset_ptr(const char *key,
                                                                                     int32_t total, int32_t off,
                                                                                     int32_t len);
FAASM_IMPORT("__faasm_write_state") void __faasm_write_state(const char *key, const uint8_t *data, int32_t len);
FAASM_IMPORT("__faasm_write_state_offset") void __faasm_write_state_offset(const char *key, int32_t total,
                                                                           int32_t off, const uint8_t *data,
                                                                           int32_t len);
FAASM_IMPORT("__faasm_append_state") void __faasm_append_state(const char *key, const uint8_t *data, int32_t len);
FAASM_IMPORT("__faasm_read_appended_state") void __faasm_read_appended_state(const char *key, uint8_t *buf,
                                                                             int32_t len, int32_t n);
FAASM_IMPORT("__faasm_clear_appended_state") void __faasm_clear_appended_state(const char *key);
FAASM_IMPORT("__faasm_flag_state_dirty") void __faasm_flag_state_dirty(const char *key, int32_t total);
FAASM_IMPORT("__faasm_flag_state_offset_dirty") void __faasm_flag_state_offset_dirty(const char *key,
                                                                                     int32_t total, int32_t off,
                                                                                     int32_t len);
FAASM_IMPORT("__faasm_push_state") void __faasm_push_state(const char *key);
FAASM_IMPORT("__faasm_push_state_partial") void __faasm_push_state_partial(const char *key);
FAASM_IMPORT("__faasm_push_state_partial_mask") void __faasm_push_state_partial_mask(const char *key,
                                                                                     const char *mask_key);
FAASM_IMPORT("__faasm_pull_state") void __faasm_pull_state(const char *key, int32_t len);
FAASM_IMPORT("__faasm_lock_state_read") void __faasm_lock_state_read(const char *key);
FAASM_IMPORT("__faasm_unlock_state_read") void __faasm_unlock_state_read(const char *key);
FAASM_IMPORT("__faasm_lock_state_write") void __faasm_lock_state_write(const char *key);
FAASM_IMPORT("__faasm_unlock_state_write") void __faasm_unlock_state_write(const char *key);
FAASM_IMPORT("__faasm_lock_state_global_read") void __faasm_lock_state_global_read(const char *key);
FAASM_IMPORT("__faasm_unlock_state_global_read") void __faasm_unlock_state_global_read(const char *key);
FAASM_IMPORT("__faasm_lock_state_global_write") void __faasm_lock_state_global_write(const char *key);
FAASM_IMPORT("__faasm_unlock_state_global_write") void __faasm_unlock_state_global_write(const char *key);

/* Chaining: ids are never 0 (0: the chain was refused; awaiting it gives
 * -1). await gives the chained call's exit status (1 after a trap). */
FAASM_IMPORT("__faasm_chain_name") uint32_t __faasm_chain_name(const char *name, const uint8_t *input, int32_t len);
FAASM_IMPORT("__faasm_chain_ptr") uint32_t __faasm_chain_ptr(int (*fn)(void), const uint8_t *input, int32_t len);
FAASM_IMPORT("__faasm_await_call") int32_t __faasm_await_call(uint32_t id);
/* *out is malloc'ed in the guest by the host: free it. */
FAASM_IMPORT("__faasm_await_call_output") int32_t __faasm_await_call_output(uint32_t id, char **out, int32_t *len);

/* ---- the host interface document's names ------------------------------------ */
/* read_call_input: the input, malloc'ed and NUL-terminated (not counted in
 * *len); NULL when empty. */
static inline uint8_t *faasm_read_call_input(size_t *len)
{
    int32_t n = __faasm_read_input((uint8_t *)"", 0);
    *len = n > 0 ? (size_t)n : 0;
    if (n <= 0) return NULL;
    uint8_t *p = (uint8_t *)malloc((size_t)n + 1);
    if (!p) return NULL;
    __faasm_read_input(p, n);
    p[n] = 0;
    return p;
}
static inline void faasm_write_call_output(const void *data, size_t len)
{
    __faasm_write_output((const uint8_t *)data, (int32_t)len);
}
static inline uint32_t faasm_chain_call(const char *name, const void *args, size_t len)
{
    return __faasm_chain_name(name, (const uint8_t *)args, (int32_t)len);
}
static inline int32_t faasm_await_call(uint32_t id)
{
    return __faasm_await_call(id);
}
/* get_call_output: awaits id; its output (malloc'ed: free it) and return
 * code. */
static inline uint8_t *faasm_get_call_output(uint32_t id, size_t *len, int32_t *rc)
{
    char *out = NULL;
    int32_t n = 0;
    int32_t r = __faasm_await_call_output(id, &out, &n);
    if (rc) *rc = r;
    *len = (size_t)n;
    return (uint8_t *)out;
}

/* get_state: a pointer to the value in this call's memory (len bytes);
 * writes through it become the state (docs/faasm.md). flags: unused. */
static inline uint8_t *faasm_get_state(const char *key, size_t len, int flags)
{
    (void)flags;
    return __faasm_read_state_ptr(key, (int32_t)len);
}
static inline uint8_t *faasm_get_state_offset(const char *key, size_t total, size_t off, size_t len,
                                              int flags)
{
    (void)flags;
    return __faasm_read_state_offset_ptr(key, (int32_t)total, (int32_t)off, (int32_t)len);
}
static inline void faasm_set_state(const char *key, const void *val, size_t len)
{
    __faasm_write_state(key, (const uint8_t *)val, (int32_t)len);
}
static inline void faasm_set_state_offset(const char *key, const void *val, size_t len, size_t off,
                                          size_t total)
{
    __faasm_write_state_offset(key, (int32_t)total, (int32_t)off, (const uint8_t *)val, (int32_t)len);
}
static inline void faasm_push_state(const char *key) { __faasm_push_state(key); }
static inline void faasm_pull_state(const char *key, size_t len) { __faasm_pull_state(key, (int32_t)len); }
/* push/pull_state_offset: the dirty bytes only / a fresh pull of the
 * value (offsets of one value are pulled lazily when read). */
static inline void faasm_push_state_offset(const char *key) { __faasm_push_state_partial(key); }
static inline void faasm_pull_state_offset(const char *key, size_t total)
{
    __faasm_pull_state(key, (int32_t)total);
}
static inline void faasm_append_state(const char *key, const void *val, size_t len)
{
    __faasm_append_state(key, (const uint8_t *)val, (int32_t)len);
}
static inline void faasm_lock_state_read(const char *key) { __faasm_lock_state_read(key); }
static inline void faasm_unlock_state_read(const char *key) { __faasm_unlock_state_read(key); }
static inline void faasm_lock_state_write(const char *key) { __faasm_lock_state_write(key); }
static inline void faasm_unlock_state_write(const char *key) { __faasm_unlock_state_write(key); }
static inline void faasm_lock_state_global_read(const char *key) { __faasm_lock_state_global_read(key); }
static inline void faasm_unlock_state_global_read(const char *key) { __faasm_unlock_state_global_read(key); }
static inline void faasm_lock_state_global_write(const char *key) { __faasm_lock_state_global_write(key); }
static inline void faasm_unlock_state_global_write(const char *key) { __faasm_unlock_state_global_write(key); }

#endif
