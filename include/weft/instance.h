/*
 * weft/instance.h — linking and instantiating modules.
 *
 * A linker is a name space of definitions, (module name, field name) ->
 * external value, from which imports are resolved. It belongs to one store.
 * Instantiation resolves every import of the module by name, checks its
 * type, allocates the instance's memories, tables and globals in the store,
 * applies the data and element segments and runs the start function.
 */
#ifndef WEFT_INSTANCE_H
#define WEFT_INSTANCE_H

#include <stddef.h>

#include "extern.h"
#include "module.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_linker weft_linker_t;
typedef struct weft_instance weft_instance_t;

/* Creates an empty linker for `store`. Owned by the caller; free with
 * weft_linker_delete (the definitions' objects stay in the store). */
weft_linker_t *weft_linker_new(weft_store_t *store);
void weft_linker_delete(weft_linker_t *linker);

/* Defines module.name as `ext` (a later definition of the same name
 * replaces an earlier one). Names are copied. Returns 0 or WEFT_ENOMEM. */
int weft_linker_define(weft_linker_t *linker, const char *module, const char *name,
                       const weft_extern_t *ext);
/* Shorthand: creates a host function and defines it. */
int weft_linker_define_func(weft_linker_t *linker, const char *module, const char *name,
                            const weft_functype_t *ft, weft_host_fn_t fn, void *user);
/* The same with the raw host-function ABI. */
int weft_linker_define_func_raw(weft_linker_t *linker, const char *module, const char *name,
                                const weft_functype_t *ft, weft_host_raw_fn_t fn, void *user);
/* Defines every export of `inst` under module name `module`. */
int weft_linker_define_instance(weft_linker_t *linker, const char *module,
                                weft_instance_t *inst);

/* Instantiates `module` in the linker's store. On success returns 0 and the
 * instance (owned by the store) in *out. Errors:
 *   WEFT_EUNLINKABLE  an import is missing or has the wrong kind or type;
 *                     weft_store_errmsg names it ("unknown import env.f",
 *                     "incompatible import type for env.f: ...").
 *   WEFT_ETRAP        a segment did not fit or the start function trapped
 *                     (weft_store_trap); what was written before stays.
 *   WEFT_ENOMEM, WEFT_ELIMIT (a memory or table over the store's limits). */
int weft_linker_instantiate(weft_linker_t *linker, weft_module_t *module,
                            weft_instance_t **out);

/* Makes `inst` as it was when weft_linker_instantiate returned it, in its
 * store, for an embedder that keeps an instance for the next call instead
 * of a fresh store, linker and instance (src/node/call.c's pool): every
 * byte of its memories zero, their sizes back to the minimum, then the
 * data segments; its tables back to their minimum size, null, then the
 * element segments; its globals their initial values; no segment dropped;
 * the store's trap, exit status and message cleared, but not its
 * interrupt flag (the embedder's to clear before the next call's
 * deadline can raise it: weft/store.h, weft_store_interrupt); then the
 * start function runs again (under the store's fuel and the flag, as at
 * instantiation). Fuel and limits are the embedder's to set. Imports are
 * not touched: host functions keep their user pointers (see
 * weft_instance_rebind_host). Returns 0, or
 *   WEFT_EARG   the store holds an object made after the instance (what a
 *               reset cannot undo), is running, or the instance imports a
 *               memory, a table or a mutable global: make a fresh one;
 *   WEFT_ENOMEM a memory could not be cleared;
 *   WEFT_ETRAP  a segment or the start function trapped (as at
 *               instantiation; WEFT_TRAP_INTERRUPTED when the flag is
 *               raised).
 * After an error the instance must not be used again (delete its store).
 * Not thread-safe: the store's thread only. */
int weft_instance_reset(weft_instance_t *inst);
/* Whether weft_instance_reset would accept `inst`: 0, or WEFT_EARG (see
 * there; weft_store_errmsg says why). */
int weft_instance_can_reset(const weft_instance_t *inst);
/* Sets the user pointer of each of the instance's imported host functions
 * whose user pointer is `old_user` to `new_user`, and returns how many:
 * a kept instance's imports are then bound to the next call's host state
 * (a new WASI context, a new ABI binding) without defining them again. */
size_t weft_instance_rebind_host(weft_instance_t *inst, const void *old_user, void *new_user);
/* The instance's module (borrowed). */
weft_module_t *weft_instance_module(const weft_instance_t *inst);
/* The instance's table `index` (imports first), exported or not: an
 * embedder that calls guest functions by table index (Faasm's
 * __faasm_chain_ptr) needs the table wasm-ld does not export. Returns 0
 * and the table (owned by the store), or WEFT_ENOTFOUND. */
int weft_instance_table(const weft_instance_t *inst, uint32_t index, weft_table_t **out);
/* The instance's memory `index` (imports first), exported or not: with
 * multi-memory a module may have several. Returns 0 and the memory (owned
 * by the store), or WEFT_ENOTFOUND. A memory by export name is
 * weft_instance_export's; host functions reach the caller's exported
 * "memory" with weft_caller_memory. */
int weft_instance_memory(const weft_instance_t *inst, uint32_t index, weft_memory_t **out);
/* Looks up export `name`; returns 0 and fills *out, or WEFT_ENOTFOUND. */
int weft_instance_export(const weft_instance_t *inst, const char *name, weft_extern_t *out);
/* Same, for names with a length (may contain NUL). */
int weft_instance_export_n(const weft_instance_t *inst, const char *name, size_t len,
                           weft_extern_t *out);

#ifdef __cplusplus
}
#endif
#endif
