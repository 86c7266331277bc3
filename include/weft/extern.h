/*
 * weft/extern.h — functions, memories, tables and globals of a store.
 *
 * These objects are owned by their store and live until weft_store_delete;
 * pointers to them are borrowed from it. They come from an instance's
 * exports (weft_instance_export) or are created by the host (host
 * functions, and memories/tables/globals to offer as imports).
 */
#ifndef WEFT_EXTERN_H
#define WEFT_EXTERN_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_func weft_func_t;
typedef struct weft_memory weft_memory_t;
typedef struct weft_table weft_table_t;
typedef struct weft_global weft_global_t;

/* An external value: what an import is satisfied with and what an export
 * yields. */
typedef struct {
    weft_externkind_t kind;
    union {
        weft_func_t *func;
        weft_table_t *table;
        weft_memory_t *memory;
        weft_global_t *global;
    } of;
} weft_extern_t;

/* ---- host functions ---------------------------------------------------- */

/* What a host function sees of the call that invoked it. Valid only during
 * the callback. */
typedef struct weft_caller weft_caller_t;

/* A host function. `args` holds the parameters (types as in the function
 * type); the callback writes every result into `results`. Return 0 to
 * continue, or the value of weft_caller_trap() to trap the calling guest. */
typedef int (*weft_host_fn_t)(weft_caller_t *caller, void *user, const weft_val_t *args,
                              weft_val_t *results);

/* A value in the raw host-function ABI: 8 bytes, no type tag. i32 values
 * are in .i32 (the other 4 bytes are unspecified), floats are their bit
 * patterns, references are pointers (funcref: a weft_func_t * of the same
 * store). */
typedef union {
    int32_t i32;
    int64_t i64;
    uint32_t f32_bits;
    uint64_t f64_bits;
    void *ref;
} weft_raw_t;

/* A host function on raw values, for hot host APIs: args_results[i] holds
 * parameter i on entry and the callback writes result i into
 * args_results[i] (the array has max(nparams, nresults) entries, and is the
 * guest's own stack: no copying). Read every parameter before writing a
 * result. Return as for weft_host_fn_t. */
typedef int (*weft_host_raw_fn_t)(weft_caller_t *caller, void *user, weft_raw_t *args_results);

/* Creates a host function in `store` with a copy of type `ft` (the caller
 * keeps its reference). `finalizer`, if not NULL, is called with `user`
 * when the store is deleted. Returns NULL when out of memory. */
weft_func_t *weft_func_new_host(weft_store_t *store, const weft_functype_t *ft,
                                weft_host_fn_t fn, void *user, void (*finalizer)(void *));

/* The same with the raw ABI. */
weft_func_t *weft_func_new_host_raw(weft_store_t *store, const weft_functype_t *ft,
                                    weft_host_raw_fn_t fn, void *user, void (*finalizer)(void *));

/* Ends the host function with a trap of code WEFT_TRAP_HOST and the given
 * message (copied; printf-style). Returns the value the callback must
 * return. */
int weft_caller_trap(weft_caller_t *caller, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Ends the whole call (every wasm frame up to the embedder's
 * weft_func_call) with trap code WEFT_TRAP_EXIT and exit status `status`
 * (see weft_store_exit_status). Returns the value the callback must return.
 * This is how WASI proc_exit stops a guest. */
int weft_caller_exit(weft_caller_t *caller, int status);

/* For host functions that block (sleep, poll, read): returns WEFT_ETRAP,
 * with the store's trap set to WEFT_TRAP_INTERRUPTED, once
 * weft_store_interrupt has been called, and the callback should then return
 * that value; returns 0 otherwise. One atomic load: poll it between waits
 * of bounded length. */
int weft_caller_check_interrupt(weft_caller_t *caller);

/* Charges `units` of fuel for work a host function does on the guest's
 * behalf (so fuel bounds host work too; charge by size, deterministically).
 * Returns 0, or WEFT_ETRAP with the store's trap set to
 * WEFT_TRAP_OUT_OF_FUEL when less than `units` is left (the rest is then
 * used up) — the callback should return that value. Free when fuel is off. */
int weft_caller_consume_fuel(weft_caller_t *caller, uint64_t units);

/* The store of the call, and the memory exported as `name` (usually
 * "memory") by the calling instance, or, if name is NULL, the calling
 * instance's memory 0. NULL when there is none. */
weft_store_t *weft_caller_store(weft_caller_t *caller);
weft_memory_t *weft_caller_memory(weft_caller_t *caller, const char *name);
/* The calling instance's export `name`, or WEFT_ENOTFOUND. */
int weft_caller_export(weft_caller_t *caller, const char *name, weft_extern_t *out);

/* ---- calling ----------------------------------------------------------- */

/* The function's type, borrowed from the store. */
const weft_functype_t *weft_func_type(const weft_func_t *func);

/* Calls `func` with `nargs` arguments, writing `nresults` results. The
 * argument and result counts and types must match the function type, else
 * WEFT_EARG (nothing runs). Returns 0 on success, WEFT_ETRAP when the call
 * trapped (see weft_store_trap), WEFT_ENOMEM if the stack could not be
 * allocated. After a trap the store stays usable: memories, tables and
 * globals keep whatever the call wrote before trapping. Host functions may
 * call back into the store (re-entrancy), up to the call-depth limit. */
int weft_func_call(weft_store_t *store, weft_func_t *func, const weft_val_t *args, size_t nargs,
                   weft_val_t *results, size_t nresults);

/* ---- memories ---------------------------------------------------------- */

/* Creates a memory of `limits` pages, all zero, owned by the store. Returns
 * NULL on failure (out of memory, or limits over the store's cap / invalid).
 * Its bytes may be those of a memory an earlier store of the same thread
 * freed (each thread keeps up to 8 freed memories, 64 MiB together, made
 * zero again when freed: docs/engine.md "Linear memories"); nothing of
 * what that memory held is visible. weft_store_delete gives a memory's
 * bytes to the pool of the thread that calls it, so no pointer into a
 * memory may be used once its store is deleted. */
weft_memory_t *weft_memory_new(weft_store_t *store, weft_limits_t limits);
/* Current size in bytes and in pages. */
size_t weft_memory_size(const weft_memory_t *mem);
uint32_t weft_memory_pages(const weft_memory_t *mem);
weft_limits_t weft_memory_limits(const weft_memory_t *mem);
/* Grows by `delta` pages; on success returns 0 and the old page count in
 * *out_old (may be NULL). WEFT_ELIMIT if it would pass the maximum. */
int weft_memory_grow(weft_memory_t *mem, uint32_t delta, uint32_t *out_old);
/* Bounds-checked copies: WEFT_EARG if
 * [offset, offset+len) is not inside the memory; nothing is copied then. */
int weft_memory_read(const weft_memory_t *mem, uint64_t offset, void *out, size_t len);
int weft_memory_write(weft_memory_t *mem, uint64_t offset, const void *data, size_t len);
/* A pointer to [offset, offset+len) inside the memory, or NULL if that range
 * is out of bounds (an empty range in bounds gives a non-NULL pointer, even
 * for a memory of size 0). The pointer dies at the next call that can grow memory
 * or re-enter the guest. */
uint8_t *weft_memory_ptr(weft_memory_t *mem, uint64_t offset, size_t len);

/* ---- tables ------------------------------------------------------------ */

/* Creates a table of element type `elem` (FUNCREF or EXTERNREF) with every
 * element set to `init` (NULL for null). */
weft_table_t *weft_table_new(weft_store_t *store, weft_valtype_t elem, weft_limits_t limits,
                             const weft_val_t *init);
uint32_t weft_table_size(const weft_table_t *table);
weft_valtype_t weft_table_elemtype(const weft_table_t *table);
/* WEFT_EARG when index is out of bounds or the value has the wrong type. */
int weft_table_get(const weft_table_t *table, uint32_t index, weft_val_t *out);
int weft_table_set(weft_table_t *table, uint32_t index, const weft_val_t *val);

/* ---- globals ----------------------------------------------------------- */

weft_global_t *weft_global_new(weft_store_t *store, weft_valtype_t type, int mutable_,
                               const weft_val_t *init);
weft_valtype_t weft_global_type(const weft_global_t *g);
int weft_global_mutable(const weft_global_t *g);
void weft_global_get(const weft_global_t *g, weft_val_t *out);
/* WEFT_EARG if the global is immutable or the value has the wrong type. */
int weft_global_set(weft_global_t *g, const weft_val_t *val);

#ifdef __cplusplus
}
#endif
#endif
