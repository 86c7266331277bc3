/*
 * harness.h — weft-specific helpers shared by the unit tests.
 *
 * Loads the test modules that the build converts from tests/unit/wat/ into
 * WEFT_UNIT_WASM_DIR, and wraps engine/store/linker/instance in a fixture
 * whose objects are freed by test_defer when the test ends (pass or fail).
 * Helpers that take file/line report failures at the caller's line.
 */
#ifndef WEFT_UNIT_HARNESS_H
#define WEFT_UNIT_HARNESS_H

#include <weft/weft.h>

#include "test.h"

#ifndef WEFT_UNIT_WASM_DIR
#error "WEFT_UNIT_WASM_DIR must name the folder of the converted .wasm files"
#endif

typedef struct {
    weft_engine_t *engine;
    weft_module_t *module;
    weft_store_t *store;
    weft_linker_t *linker;
    weft_instance_t *inst;
} fixture_t;

/* Checks an API return code; prints both codes by name and, when `store`
 * is not NULL, the store's trap or error message. */
void h_check_rc(const char *file, int line, const char *expr, int got, int want,
                const weft_store_t *store);
void h_check_trap(const char *file, int line, const char *expr, int got,
                  weft_trap_code_t want, const weft_store_t *store);

#define ASSERT_RC(expr, want) h_check_rc(__FILE__, __LINE__, #expr, (expr), (want), NULL)
#define ASSERT_OK(expr) h_check_rc(__FILE__, __LINE__, #expr, (expr), 0, NULL)
#define ASSERT_RC_S(store, expr, want) \
    h_check_rc(__FILE__, __LINE__, #expr, (expr), (want), (store))
#define ASSERT_OK_S(store, expr) \
    h_check_rc(__FILE__, __LINE__, #expr, (expr), 0, (store))
/* The call returned WEFT_ETRAP and the store's trap code is `code`. */
#define ASSERT_TRAP(store, expr, code) \
    h_check_trap(__FILE__, __LINE__, #expr, (expr), (code), (store))

/* Objects freed when the test ends. */
weft_engine_t *h_engine(void);
weft_store_t *h_store(weft_engine_t *engine);
weft_linker_t *h_linker(weft_store_t *store);
/* A function type from letters: i=i32 I=i64 f=f32 F=f64 v=v128 r=funcref
 * e=externref, e.g. h_functype("iI", "F"). */
weft_functype_t *h_functype(const char *params, const char *results);
/* Reads a whole file; the buffer is freed when the test ends. */
uint8_t *h_read_file(const char *path, size_t *out_len);
/* Reads WEFT_UNIT_WASM_DIR/<name>.wasm (name may be "invalid/x"). */
uint8_t *h_read_wasm(const char *name, size_t *out_len);
/* Loads a module that must be valid. */
weft_module_t *h_module_at(const char *file, int line, weft_engine_t *engine, const char *name);
#define h_module(engine, name) h_module_at(__FILE__, __LINE__, engine, name)
/* Loads bytes and returns weft_module_new's code; a module that loads is
 * deleted at once. `msg` receives the message (at least 1 byte). */
int h_load_bytes(weft_engine_t *engine, const uint8_t *bytes, size_t len, char *msg,
                 size_t msg_size);

/* Engine, module `name`, store and linker; no instance yet. */
void fx_open_at(const char *file, int line, fixture_t *fx, const char *name);
/* fx_open with the module loaded for `tier` (WEFT_TIER_INTERP or _JIT). */
void fx_open_tier_at(const char *file, int line, fixture_t *fx, const char *name, int tier);
#define fx_open_tier(fx, name, tier) fx_open_tier_at(__FILE__, __LINE__, fx, name, tier)
/* Instantiates fx->module through fx->linker; must succeed. */
void fx_instantiate_at(const char *file, int line, fixture_t *fx);
#define fx_open(fx, name) fx_open_at(__FILE__, __LINE__, fx, name)
#define fx_instantiate(fx) fx_instantiate_at(__FILE__, __LINE__, fx)
#define fx_load(fx, name) (fx_open(fx, name), fx_instantiate(fx))
/* Opens module `name`, which imports env.memory, and instantiates it on a
 * memory of `pages` pages that the embedder made in fx->store (returned;
 * the store owns it). */
weft_memory_t *fx_load_on_host_memory_at(const char *file, int line, fixture_t *fx,
                                         const char *name, uint32_t pages);
#define fx_load_on_host_memory(fx, name, pages) \
    fx_load_on_host_memory_at(__FILE__, __LINE__, fx, name, pages)

/* The instance's export `name` of the given kind; fails the test if absent. */
weft_func_t *fx_func_at(const char *file, int line, fixture_t *fx, const char *name);
weft_memory_t *fx_memory_at(const char *file, int line, fixture_t *fx, const char *name);
weft_table_t *fx_table_at(const char *file, int line, fixture_t *fx, const char *name);
weft_global_t *fx_global_at(const char *file, int line, fixture_t *fx, const char *name);
#define fx_func(fx, name) fx_func_at(__FILE__, __LINE__, fx, name)
#define fx_memory(fx, name) fx_memory_at(__FILE__, __LINE__, fx, name)
#define fx_table(fx, name) fx_table_at(__FILE__, __LINE__, fx, name)
#define fx_global(fx, name) fx_global_at(__FILE__, __LINE__, fx, name)

/* Calls export `name`; returns weft_func_call's code. */
int fx_call_at(const char *file, int line, fixture_t *fx, const char *name,
               const weft_val_t *args, size_t nargs, weft_val_t *results, size_t nresults);
#define fx_call(fx, name, args, nargs, results, nresults) \
    fx_call_at(__FILE__, __LINE__, fx, name, args, nargs, results, nresults)

/* Calls export `name` with `nargs` i32 arguments; it must succeed and
 * return one i32 (CALL_I32) or nothing (CALL_VOID). */
int32_t fx_call_i32_at(const char *file, int line, fixture_t *fx, const char *name, int want,
                       int nargs, ...);
#define CALL_I32(fx, name, ...) fx_call_i32_at(__FILE__, __LINE__, fx, name, 1, __VA_ARGS__)
#define CALL_VOID(fx, name, ...) \
    (void)fx_call_i32_at(__FILE__, __LINE__, fx, name, 0, __VA_ARGS__)
/* Calls export `name` with i32 arguments and returns the raw code
 * (results, if any, are i32 and discarded). */
int fx_try_i32_at(const char *file, int line, fixture_t *fx, const char *name, int nargs, ...);
#define TRY_I32(fx, name, ...) fx_try_i32_at(__FILE__, __LINE__, fx, name, __VA_ARGS__)

/* Both stores' last calls trapped alike: the same trap code and backtrace
 * (two tiers running one module, say). */
void h_same_trap_at(const char *file, int line, weft_store_t *a, weft_store_t *b);
#define h_same_trap(a, b) h_same_trap_at(__FILE__, __LINE__, a, b)

/* Value constructors for references. */
weft_val_t h_funcref(weft_func_t *f);
weft_val_t h_externref(void *p);

#endif
