/*
 * weft/module.h — decoding, validating and compiling a WebAssembly module.
 *
 * weft_module_new decodes the binary, validates it fully and compiles every
 * function body into weft's internal code. The resulting module is immutable:
 * it may be shared by any number of threads and instantiated any number of
 * times, in any number of stores. It is reference counted by the instances
 * made from it, so weft_module_delete may be called while instances live.
 *
 * Any byte sequence is safe input: a malformed or invalid module yields an
 * error code and a message naming the problem, the section and the byte
 * offset, never a crash.
 */
#ifndef WEFT_MODULE_H
#define WEFT_MODULE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_module weft_module_t;

/* Loads a module from bytes (copied; the caller keeps ownership of
 * `bytes`). On success returns 0 and stores the module in *out (owned by the
 * caller, release with weft_module_delete). On failure returns
 * WEFT_EMALFORMED (bad binary encoding), WEFT_EINVALID (fails validation),
 * WEFT_ELIMIT (passes an implementation limit: docs/engine.md) or
 * WEFT_ENOMEM, and, when out_msg is not NULL, writes a NUL-terminated message
 * of at most msg_size bytes, e.g.
 *   "code section, offset 0x2f: type mismatch: expected i32, found f64". */
int weft_module_new(weft_engine_t *engine, const uint8_t *bytes, size_t len,
                    weft_module_t **out, char *out_msg, size_t msg_size);

/* Options of weft_module_new_opts; zero-initialise, then set what you need.
 * Loading takes time and memory in proportion to the module's size, but a
 * large module still takes a while, so a caller with a time budget (a
 * server, `weft run --timeout`) can stop it. */
typedef struct {
    /* When not NULL, read (never written) while the load runs: once it is
     * nonzero the load stops. Another thread or a signal handler sets it. */
    const volatile int *interrupt;
    /* When nonzero, a time of CLOCK_MONOTONIC in nanoseconds: a load still
     * running then stops. */
    uint64_t deadline_ns;
    /* Features of Wasm 3.0 to refuse as WebAssembly 2.0 does, WEFT_FEATURE_*
     * bits; zero: every feature weft supports is on. For running the 2.0
     * test suite, some of whose assertions these features overturn. */
    unsigned features_off;
    /* The tier that runs the module's functions (docs/jit.md):
     * WEFT_TIER_INTERP (zero, the default), WEFT_TIER_JIT, which compiles
     * every function to x86-64 machine code at load, or WEFT_TIER_AUTO,
     * which starts every function interpreted and compiles one after
     * 1,000 of its calls and loop back-edges, on the thread that counted
     * the last (its next call runs compiled; a running call finishes
     * interpreted). A function the compiled tier has no template for yet
     * stays interpreted, and the two tiers call each other, so the
     * results, traps, backtraces and fuel are the interpreter's either
     * way. Where the compiled tier is unavailable (weft_tier_available)
     * WEFT_TIER_JIT and WEFT_TIER_AUTO run the interpreter. */
    int tier;
    /* With WEFT_TIER_JIT or WEFT_TIER_AUTO, when not NULL: an existing
     * directory for the code cache (docs/jit.md). A file there made by
     * this weft build on a CPU with the same features for the same module
     * bytes is mapped instead of compiling (under WEFT_TIER_AUTO too: every
     * function then starts compiled); WEFT_TIER_JIT writes one when there
     * is none. A damaged or foreign file is never run: it is ignored
     * (weft_module_code_cache says why) and replaced. Errors of the cache
     * never fail the load. */
    const char *code_cache_dir;
} weft_load_options_t;

#define WEFT_TIER_INTERP 0
#define WEFT_TIER_JIT 1
#define WEFT_TIER_AUTO 2

/* What the code cache did for a module (weft_module_code_cache). */
#define WEFT_CODE_CACHE_NONE 0     /* no cache asked, or no compiled tier */
#define WEFT_CODE_CACHE_HIT 1      /* the code was mapped from the cache: nothing compiled */
#define WEFT_CODE_CACHE_STORED 2   /* compiled, and written to the cache */
#define WEFT_CODE_CACHE_MISS 3     /* no file (WEFT_TIER_AUTO, which does not write one) */
#define WEFT_CODE_CACHE_REJECTED 4 /* a file was there but damaged or foreign: ignored */
#define WEFT_CODE_CACHE_FAILED 5   /* compiled, but the file could not be written */

/* What the code cache did when the module loaded, one of
 * WEFT_CODE_CACHE_*, and in *note (when not NULL) a line for a log saying
 * what and which file ("" for NONE), valid as long as the module. */
int weft_module_code_cache(const weft_module_t *module, const char **note);

/* Whether this build and machine have `tier`: the interpreter everywhere,
 * the compiled tier on x86-64 Linux only. */
int weft_tier_available(int tier);

/* How many of the module's defined functions run compiled (0 unless it was
 * loaded with WEFT_TIER_JIT or WEFT_TIER_AUTO; under WEFT_TIER_AUTO it
 * grows as functions get hot), and, in *total when not NULL, how many it
 * defines. */
uint32_t weft_module_compiled_functions(const weft_module_t *module, uint32_t *total);

#define WEFT_FEATURE_TAIL_CALL 1u      /* return_call, return_call_indirect */
#define WEFT_FEATURE_EXTENDED_CONST 2u /* arithmetic and defined globals in constant expressions */
#define WEFT_FEATURE_MULTI_MEMORY 4u   /* more than one memory */

/* weft_module_new with options (NULL: none). Both stops are polled every
 * few thousand instructions while function bodies are validated and
 * compiled, and between sections; a load they stop returns
 * WEFT_EINTERRUPTED with a message starting "loading interrupted: ",
 * e.g. "loading interrupted: the deadline passed (code section, function
 * 812 of 2000)", and frees everything it had allocated. */
int weft_module_new_opts(weft_engine_t *engine, const uint8_t *bytes, size_t len,
                         const weft_load_options_t *opts, weft_module_t **out, char *out_msg,
                         size_t msg_size);

/* Drops the caller's reference. The module is freed once no instance uses it. */
void weft_module_delete(weft_module_t *module);

/* Description of one import or export. Pointers are borrowed from the
 * module and live as long as it does. Names are NOT NUL-terminated in
 * general (WebAssembly names may contain NUL); use the *_len fields. For
 * convenience each name is also followed by a NUL byte in storage. */
typedef struct {
    const char *module;      /* imports only; NULL for exports */
    size_t module_len;
    const char *name;
    size_t name_len;
    weft_externkind_t kind;
    const weft_functype_t *functype;   /* FUNC */
    weft_valtype_t valtype;            /* GLOBAL: value type; TABLE: element type */
    int mutable_;                      /* GLOBAL */
    weft_limits_t limits;              /* TABLE, MEMORY */
} weft_externdesc_t;

/* The export named name[0..len) (O(log exports): the names are sorted at
 * load), or WEFT_ENOTFOUND. */
int weft_module_export_find(const weft_module_t *module, const char *name, size_t len,
                            weft_externdesc_t *out);

size_t weft_module_import_count(const weft_module_t *module);
size_t weft_module_export_count(const weft_module_t *module);
/* Fills *out for import/export i; returns WEFT_ENOTFOUND if i is out of range. */
int weft_module_import(const weft_module_t *module, size_t i, weft_externdesc_t *out);
int weft_module_export(const weft_module_t *module, size_t i, weft_externdesc_t *out);

/* Memories, tables and globals in their index spaces (imports first),
 * whether exported or not. Return WEFT_ENOTFOUND for an index out of range. */
size_t weft_module_memory_count(const weft_module_t *module);
int weft_module_memory(const weft_module_t *module, size_t i, weft_limits_t *out);
size_t weft_module_table_count(const weft_module_t *module);
int weft_module_table(const weft_module_t *module, size_t i, weft_valtype_t *out_elem,
                      weft_limits_t *out_limits);
size_t weft_module_global_count(const weft_module_t *module);
int weft_module_global(const weft_module_t *module, size_t i, weft_valtype_t *out_type,
                       int *out_mutable);

/* Custom sections, in module order. Pointers are borrowed from the module. */
size_t weft_module_custom_count(const weft_module_t *module);
int weft_module_custom(const weft_module_t *module, size_t i, const char **out_name,
                       size_t *out_name_len, const uint8_t **out_data, size_t *out_len);

/* Name of function `index` (imports first) from the "name" custom section,
 * or NULL when the module does not name it. Borrowed from the module. */
const char *weft_module_func_name(const weft_module_t *module, uint32_t index);

/* Writes a readable listing of the internal code compiled for function
 * `index` to `out` (for debugging and `weft inspect --code`). Returns
 * WEFT_ENOTFOUND for an imported or out-of-range index. */
int weft_module_dump_code(const weft_module_t *module, uint32_t index, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
