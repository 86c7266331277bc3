/*
 * weft/component.h — WebAssembly components (the Component Model, layer 1)
 * and the canonical ABI.
 *
 * weft_component_new decodes and validates a component binary as produced by
 * `wasm-tools component new` (jco new): its nested core modules (each loaded
 * with weft_module_new), core and component instances, aliases, types,
 * imports and exports, and canonical definitions (lift, lower,
 * resource.new/drop/rep). The result is immutable and may be read by any
 * number of threads. docs/components.md says what is checked and what is
 * not supported yet.
 *
 * Any byte sequence is safe input: a malformed or invalid component yields
 * WEFT_EMALFORMED / WEFT_EINVALID / WEFT_ELIMIT and a message naming the
 * section and the byte offset in the outermost binary, never a crash.
 *
 * The canonical ABI half (weft_canon_*) turns component-level values
 * (weft_cval_t) into core values and linear-memory bytes and back, exactly
 * as the Component Model's CanonicalABI.md defines: flattening with
 * MAX_FLAT_PARAMS 16 / MAX_FLAT_RESULTS 1, alignment, UTF-8 strings, and a
 * trap (WEFT_ETRAP with a message) for an invalid value: a bad discriminant,
 * a code point that is not a char, invalid UTF-8, a string or list outside
 * the memory or misaligned, a realloc result out of bounds.
 */
#ifndef WEFT_COMPONENT_H
#define WEFT_COMPONENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine.h"
#include "error.h"
#include "extern.h"
#include "store.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_component weft_component_t;
typedef struct weft_ctype weft_ctype_t;

/* Kinds of component-level types, numbered by their binary opcodes. */
typedef enum {
    WEFT_CT_BOOL = 0x7f,
    WEFT_CT_S8 = 0x7e,
    WEFT_CT_U8 = 0x7d,
    WEFT_CT_S16 = 0x7c,
    WEFT_CT_U16 = 0x7b,
    WEFT_CT_S32 = 0x7a,
    WEFT_CT_U32 = 0x79,
    WEFT_CT_S64 = 0x78,
    WEFT_CT_U64 = 0x77,
    WEFT_CT_F32 = 0x76,
    WEFT_CT_F64 = 0x75,
    WEFT_CT_CHAR = 0x74,
    WEFT_CT_STRING = 0x73,
    WEFT_CT_RECORD = 0x72,
    WEFT_CT_VARIANT = 0x71,
    WEFT_CT_LIST = 0x70,
    WEFT_CT_TUPLE = 0x6f,
    WEFT_CT_FLAGS = 0x6e,
    WEFT_CT_ENUM = 0x6d,
    WEFT_CT_OPTION = 0x6b,
    WEFT_CT_RESULT = 0x6a,
    WEFT_CT_OWN = 0x69,
    WEFT_CT_BORROW = 0x68,
    WEFT_CT_FUNC = 0x40,
    WEFT_CT_COMPONENT = 0x41,
    WEFT_CT_INSTANCE = 0x42,
    WEFT_CT_RESOURCE = 0x3f,
} weft_ctype_kind_t;

/* Sorts of component imports and exports. */
typedef enum {
    WEFT_CSORT_CORE_MODULE = 0,
    WEFT_CSORT_FUNC = 1,
    WEFT_CSORT_VALUE = 2,
    WEFT_CSORT_TYPE = 3,
    WEFT_CSORT_COMPONENT = 4,
    WEFT_CSORT_INSTANCE = 5,
} weft_csort_t;

/* "func", "instance", "type", ... */
const char *weft_csort_name(weft_csort_t s);

/* One import or export of a component or of an instance or component type.
 * Pointers are borrowed from the component and live as long as it does;
 * `name` is followed by a NUL byte in storage. `type` is the function,
 * instance or component type, the resource (or other type) a type
 * import/export names, or NULL for a core module. */
typedef struct {
    const char *name;
    size_t name_len;
    weft_csort_t sort;
    const weft_ctype_t *type;
} weft_cextern_t;

/* Loads a component (bytes copied). Returns 0 and the component in *out
 * (owned by the caller, weft_component_delete; an instance of it keeps it
 * until the instance is deleted too), or WEFT_EMALFORMED,
 * WEFT_EINVALID (also for features not supported yet: async, values, start,
 * fixed-length lists, stream/future/error-context), WEFT_ELIMIT, WEFT_ENOMEM
 * with a NUL-terminated message in out_msg (at most msg_size bytes), e.g.
 *   "type section, offset 0x1c: variant with no cases". */
int weft_component_new(weft_engine_t *engine, const uint8_t *bytes, size_t len,
                       weft_component_t **out, char *out_msg, size_t msg_size);
void weft_component_delete(weft_component_t *c);

/* 1 if bytes start with the component preamble (magic, version 0x0d,
 * layer 1), so a caller can tell a component from a core module. */
int weft_is_component(const uint8_t *bytes, size_t len);

size_t weft_component_import_count(const weft_component_t *c);
size_t weft_component_export_count(const weft_component_t *c);
int weft_component_import(const weft_component_t *c, size_t i, weft_cextern_t *out);
int weft_component_export(const weft_component_t *c, size_t i, weft_cextern_t *out);

/* Counts of the outer component's index spaces (for inspect and tests). */
typedef struct {
    size_t core_modules, core_instances, core_funcs, types, funcs, instances, components;
} weft_component_stats_t;
void weft_component_stats(const weft_component_t *c, weft_component_stats_t *out);

/* Type `index` of the outer component's type index space, or NULL. */
const weft_ctype_t *weft_component_type(const weft_component_t *c, uint32_t index);

/* ---- types (borrowed from their component) ---------------------------- */

weft_ctype_kind_t weft_ctype_kind(const weft_ctype_t *t);
/* Fields (record), cases (variant), labels (flags, enum), elements (tuple),
 * parameters (func), exports (instance, component types: see
 * weft_ctype_extern). 0 for other kinds. */
size_t weft_ctype_count(const weft_ctype_t *t);
/* Label i (field, case, flag, enum case, parameter name) or NULL. */
const char *weft_ctype_label(const weft_ctype_t *t, size_t i);
/* Type i: field, case payload (NULL for a case without one), tuple
 * element, parameter; i = 0 is the element of list and option, the ok type
 * of result (NULL when none), the resource of own/borrow; i = 1 is the error
 * type of result (NULL when none). */
const weft_ctype_t *weft_ctype_type(const weft_ctype_t *t, size_t i);
/* A function type's result: 1 and *out (the type) when it has one, else 0. */
int weft_ctype_func_result(const weft_ctype_t *t, const weft_ctype_t **out);
/* Export i of an instance type, or export (imports = 0) / import
 * (imports = 1) i of a component type. Returns WEFT_ENOTFOUND past the end. */
size_t weft_ctype_extern_count(const weft_ctype_t *t, int imports);
int weft_ctype_extern(const weft_ctype_t *t, int imports, size_t i, weft_cextern_t *out);
/* Writes the type in WIT-like text: "func(a: u32, b: string) -> result<string>",
 * "record { x: u32 }", "own<resource 3>". */
void weft_ctype_print(const weft_ctype_t *t, FILE *out);

/* ---- canonical ABI ------------------------------------------------------ */

/* A component-level value; `kind` is the kind of its type. Integers, bool
 * (0/1), char (its code point), flags (bit i = label i) and handles
 * (own/borrow: the handle index) are in u / s; floats are bit patterns
 * with NaN canonicalized on the way in; a string is UTF-8 bytes with a NUL
 * after them; list, record and tuple hold `n` values in `items`; variant,
 * enum, option (none 0, some 1) and result (ok 0, error 1) hold the case in
 * `index` and the payload, if any, in items[0] (n = 1). Values made by
 * weft_canon_* are owned by the caller: free with weft_cval_free. */
typedef struct weft_cval weft_cval_t;
struct weft_cval {
    weft_ctype_kind_t kind;
    uint32_t index;
    union {
        uint64_t u;
        int64_t s;
        uint32_t f32_bits;
        uint64_t f64_bits;
    } of;
    char *str;
    size_t len; /* bytes of str */
    weft_cval_t *items;
    size_t n;
};

/* Frees what v holds (not v itself). */
void weft_cval_free(weft_cval_t *v);

/* 1 when s[0..n) is strict UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF): what a string value must hold, so a host
 * function can refuse bytes it could not return as a string. */
int weft_cval_utf8_ok(const void *s, size_t n);

/* String encodings of canon options. Only UTF-8 is implemented: a
 * component asking for another fails at load with WEFT_EINVALID. */
typedef enum { WEFT_CANON_UTF8 = 0, WEFT_CANON_UTF16 = 1, WEFT_CANON_LATIN1_UTF16 = 2 } weft_canon_enc_t;

/* The context of one lift or lower: the guest's memory and realloc (NULL
 * when the options have none) in `store`. A trap's message is written in
 * msg. Used by one thread at a time. */
typedef struct {
    weft_store_t *store;
    weft_memory_t *memory;
    weft_func_t *realloc;
    weft_canon_enc_t encoding;
    /* Lowering a borrow<R> into the instance that implements R passes the
     * resource's representation, not the handle (CanonicalABI.md
     * lower_borrow). When not NULL, called for every borrow lowered: it
     * writes what the callee gets into *out, or returns WEFT_ETRAP with
     * msg written (a dropped or foreign handle). `user` is for it. */
    int (*borrow)(void *user, const weft_ctype_t *resource, uint32_t handle, uint32_t *out,
                  char *msg, size_t msg_size);
    void *user;
    /* Bytes the host has allocated for lifted values since the last
     * weft_canon_lift_values / weft_canon_load began (set by them): a
     * lift past 256 MiB traps, since lists may share their elements in
     * memory and a guest could otherwise make the host allocate without
     * bound. */
    uint64_t lifted;
    char msg[200];
} weft_canon_cx_t;

#define WEFT_CANON_MAX_FLAT_PARAMS 16
#define WEFT_CANON_MAX_FLAT_RESULTS 1

/* Flattening of `t` (CanonicalABI.md "Flattening"): writes up to `max` core
 * types in out and returns how many the type flattens to (which may be more
 * than max: then only max were written). */
size_t weft_canon_flatten(const weft_ctype_t *t, weft_valtype_t *out, size_t max);
/* Size and alignment of t in linear memory (wasm32). */
uint32_t weft_canon_size(const weft_ctype_t *t);
uint32_t weft_canon_align(const weft_ctype_t *t);

/* load / store one value at `ptr` of cx->memory. Return 0, WEFT_ETRAP
 * (cx->msg says why) or WEFT_ENOMEM. */
int weft_canon_load(weft_canon_cx_t *cx, const weft_ctype_t *t, uint32_t ptr, weft_cval_t *out);
int weft_canon_store(weft_canon_cx_t *cx, const weft_ctype_t *t, const weft_cval_t *v,
                     uint32_t ptr);

/* lift_flat_values / lower_flat_values: `n` values of `types` from/to core
 * values. When the types flatten to more than max_flat values they travel
 * through memory: lifting reads one pointer; lowering allocates with
 * realloc and writes one pointer, or, when out_ptr is not NULL (a lowered
 * call's results), stores at *out_ptr and writes no core value.
 * weft_canon_lift_values reads nflat core values; on success out[0..n) are
 * owned by the caller. weft_canon_lower_values writes at most `cap` core
 * values into flat and their count into *out_nflat. */
int weft_canon_lift_values(weft_canon_cx_t *cx, const weft_ctype_t *const *types, size_t n,
                           const weft_val_t *flat, size_t nflat, size_t max_flat,
                           weft_cval_t *out);
int weft_canon_lower_values(weft_canon_cx_t *cx, const weft_ctype_t *const *types, size_t n,
                            const weft_cval_t *vals, size_t max_flat, const uint32_t *out_ptr,
                            weft_val_t *flat, size_t cap, size_t *out_nflat);

/* ---- instances ------------------------------------------------------------- */

typedef struct weft_clinker weft_clinker_t;
typedef struct weft_cinstance weft_cinstance_t;

/* A host function satisfying a component's function import. `caller` is
 * the engine's view of the calling guest (NULL when the host itself calls
 * the function through weft_cinstance_call); `type` is the function type
 * the component imports it with (borrowed); args[0..nargs) are the lifted
 * parameters (borrowed: valid during the call). When the type has a result
 * the callback writes it into *result (ownership passes to the library,
 * which frees it with weft_cval_free). Return 0; or nonzero after writing
 * a message into err (err_size bytes): the calling guest traps with that
 * message; or, with err left empty and a caller, the value of
 * weft_caller_exit / weft_caller_trap / weft_caller_check_interrupt, which
 * ends the call as those do. Runs on the thread of the call. */
typedef int (*weft_chost_fn_t)(void *user, weft_caller_t *caller, const weft_ctype_t *type,
                               const weft_cval_t *args, size_t nargs, weft_cval_t *result,
                               char *err, size_t err_size);

/* A set of host functions to instantiate components against. Owned by the
 * caller (weft_clinker_delete); read-only while instances are made, so one
 * linker may serve several threads then. Names are copied. */
weft_clinker_t *weft_clinker_new(void);
void weft_clinker_delete(weft_clinker_t *l);
/* Defines function `name` of the imported instance `instance` (its
 * import name, e.g. "wippy:runtime/funcs@0.1.0"), or a function imported
 * by itself when instance is NULL. An instance named with its version up
 * to the minor ("wasi:cli/stdout@0.2") serves every patch of it
 * ("...@0.2.3", "...@0.2.8") that has no exact definition. A later
 * definition replaces an earlier one. Returns 0 or WEFT_ENOMEM. */
int weft_clinker_define_func(weft_clinker_t *l, const char *instance, const char *name,
                             weft_chost_fn_t fn, void *user);
/* The same without copying the names, which must outlive l (a binding's
 * static table): a node makes a linker per call, and the copies were most
 * of its allocations. */
int weft_clinker_define_static(weft_clinker_t *l, const char *instance, const char *name,
                               weft_chost_fn_t fn, void *user);
/* When set, an import the linker does not define is bound to a function
 * that traps when called ("unlinked import ... called") instead of failing
 * instantiation. */
void weft_clinker_stub_missing(weft_clinker_t *l, int on);
/* When set, a definition whose instance name `keep` returns 0 for (the
 * import's instance name as the component writes it; NULL for a top-level
 * function) is ignored, as if never defined: an embedder links only the
 * interfaces an app asked for out of one set of definitions. NULL: none. */
void weft_clinker_filter(weft_clinker_t *l, int (*keep)(void *user, const char *instance),
                         void *user);
/* 1 when an import `name` of `instance` (NULL: a top-level function)
 * would be bound to a definition of l (filter and versions as for
 * instantiation), else 0. For checking a component's imports up front. */
int weft_clinker_has(const weft_clinker_t *l, const char *instance, const char *name);

/* Instantiates `c` in `store`: runs its definitions in order (core
 * instantiations with their start functions, canon lift/lower). Returns 0
 * and the instance in *out (owned by the caller, weft_cinstance_delete,
 * before the store; it holds a reference to the component, which
 * weft_component_delete then frees only with its last instance), or
 * WEFT_EUNLINKABLE (an import the linker does not define: "unknown import
 * weft:test/host@0.1.0#log"),
 * WEFT_EINVALID (a construct not instantiable yet: nested components),
 * WEFT_ETRAP (a start function trapped), WEFT_ENOMEM, with a message in msg. */
int weft_cinstance_new(weft_component_t *c, weft_store_t *store, const weft_clinker_t *l,
                       weft_cinstance_t **out, char *msg, size_t msg_size);
void weft_cinstance_delete(weft_cinstance_t *inst);

/* The type of exported function `name` (a top-level export, or
 * "interface#function" for a function of an exported instance), or NULL. */
const weft_ctype_t *weft_cinstance_func_type(const weft_cinstance_t *inst, const char *name);

/* Calls exported function `name` with args (as its parameter types say;
 * borrowed). On success returns 0, and when the function has a result,
 * *has_result = 1 and *result (owned by the caller: weft_cval_free). Errors:
 * WEFT_ENOTFOUND (no such function), WEFT_EARG (arguments do not fit the
 * parameter types), WEFT_ETRAP (the guest trapped, or the canonical ABI
 * did: an invalid value, a re-entered instance), WEFT_ENOMEM; the message
 * is weft_cinstance_errmsg. Not thread-safe: one call at a time per
 * instance (and per store). */
int weft_cinstance_call(weft_cinstance_t *inst, const char *name, const weft_cval_t *args,
                        size_t nargs, weft_cval_t *result, int *has_result);
/* Drops own handle `handle` the host got from the instance (a resource
 * the component implements), running the resource's destructor. Returns
 * 0, WEFT_ENOTFOUND (not a live handle), or WEFT_ETRAP (the destructor
 * trapped; the handle is gone all the same). */
int weft_cinstance_drop(weft_cinstance_t *inst, uint32_t handle);
/* Keeping an instance for the next call (src/node/call.c's pool) instead
 * of instantiating again:
 * weft_cinstance_reset makes it as weft_cinstance_new returned it: every
 * core instance of its store reset in the order they were made
 * (weft_store_reset: memories, so whatever realloc gave out, tables,
 * globals, segments, start functions under the store's fuel; the store's
 * interrupt flag is kept, weft_store_interrupt says who clears it), every
 * resource handle of it and its nested instances gone. Host functions
 * keep their user pointers (weft_cinstance_rebind_host). Returns 0, or
 * WEFT_EARG (the instance is running, or its store made objects since it
 * was instantiated or holds state no core instance defines),
 * WEFT_ENOMEM, WEFT_ETRAP (a start function trapped), with the message in
 * weft_cinstance_errmsg; after an error delete the instance and its store.
 * weft_cinstance_can_reset: whether the reset would be accepted (0 or
 * WEFT_EARG).
 * weft_cinstance_rebind_host: sets the user pointer of each import bound to
 * a linker definition whose user is old_user to new_user; returns how
 * many. weft_cinstance_host_count: how many imports are so bound (an
 * embedder that rebound fewer than all must not keep the instance).
 * Not thread-safe: the store's thread only. */
int weft_cinstance_reset(weft_cinstance_t *inst);
int weft_cinstance_can_reset(const weft_cinstance_t *inst);
size_t weft_cinstance_rebind_host(weft_cinstance_t *inst, const void *old_user, void *new_user);
size_t weft_cinstance_host_count(const weft_cinstance_t *inst);

/* The message of the last failed call or instantiation step (never NULL). */
const char *weft_cinstance_errmsg(const weft_cinstance_t *inst);

#ifdef __cplusplus
}
#endif
#endif
