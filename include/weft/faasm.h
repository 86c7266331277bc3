/*
 * weft/faasm.h — the Faasm guest ABI: the `__faasm_*` imports of module
 * `env` (strings are NUL-terminated guest pointers, lengths i32: Faasm's
 * guests are wasm32, where its `long` is 32 bits).
 *
 * A weft_faasm_t binds one app's calls to a state service
 * (weft/faasm_state.h) and to the embedder's chaining (the callbacks of
 * weft_faasm_chain_t: a chained call is a real call the embedder runs).
 * The embedder brackets every call with weft_faasm_begin_call (the call's
 * input) and weft_faasm_end_call (writes back what the guest wrote through
 * __faasm_read_state_ptr pointers and releases the locks the call still
 * holds), then reads the output. Faasm state is not part of the call's
 * transaction: a write is visible to the node's other calls at once, and a
 * trap does not undo it (as in Faasm). What the Faasm documents leave open
 * is decided in docs/faasm.md.
 *
 * Thread safety: one weft_faasm_t serves one call at a time; many may
 * share one state service.
 */
#ifndef WEFT_FAASM_H
#define WEFT_FAASM_H

#include <stddef.h>
#include <stdint.h>

#include "faasm_state.h"
#include "instance.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_faasm weft_faasm_t;

/* What __faasm_await_call returns when it cannot wait for the id (an id
 * this call did not chain, one already awaited by __faasm_await_call_output,
 * or a chain the embedder refused). A chained call that trapped or failed
 * gives 1; one that exited gives its exit status (docs/faasm.md). */
#define WEFT_FAASM_AWAIT_FAILED (-1)

typedef struct {
    /* Starts a chained call: of `name` (a function of the same app, or
     * "app/function") when not NULL, else of the caller's table entry
     * `func_index` (__faasm_chain_ptr). Returns 0 and a call id (not 0),
     * or an error code with a message (msg_size bytes): the guest then
     * gets id 0, and its await gives WEFT_FAASM_AWAIT_FAILED. */
    int (*chain)(void *user, const char *name, uint32_t func_index, const uint8_t *input,
                 size_t len, uint32_t *out_id, char *msg, size_t msg_size);
    /* Waits for call `id` (one this embedder's chain returned) and gives
     * its return code and its output (malloc'ed, owned by the binding
     * after; NULL/0 for none). `wait` is polled while waiting; its
     * non-zero result ends the wait and is returned. Other errors:
     * WEFT_ENOTFOUND (unknown id), WEFT_ELIMIT (await timeout). */
    int (*await)(void *user, uint32_t id, int32_t *out_rc, uint8_t **out, size_t *out_len,
                 weft_faasm_wait_fn wait, void *wait_user);
    void *user;
} weft_faasm_chain_t;

typedef struct {
    weft_faasm_state_t *state; /* borrowed; must outlive the weft_faasm_t */
    const char *app;           /* the state's namespace (copied), 1..255 bytes */
    weft_faasm_chain_t chain;  /* NULL callbacks: the chain imports trap */
    size_t max_output;         /* bytes __faasm_write_output may keep; 0: 16 MiB */
} weft_faasm_config_t;

/* Creates a binding. Returns 0, WEFT_EARG (no state, bad app) or
 * WEFT_ENOMEM. Free with weft_faasm_delete after the stores that use it. */
int weft_faasm_new(const weft_faasm_config_t *cfg, weft_faasm_t **out);
void weft_faasm_delete(weft_faasm_t *f);

/* Defines every `__faasm_*` function in `linker` under module "env".
 * Returns 0 or WEFT_ENOMEM. */
int weft_faasm_define(weft_faasm_t *f, weft_linker_t *linker);
/* The same for only the ones `module` imports (an env import the binding
 * has no function for is left undefined: instantiation names it). */
int weft_faasm_define_imports(weft_faasm_t *f, weft_linker_t *linker, const weft_module_t *module);

/* The functions weft_faasm_define defines, in order: name (static) and
 * type (owned by the caller: weft_functype_delete). Returns 0,
 * WEFT_ENOTFOUND for i out of range, or WEFT_ENOMEM. */
size_t weft_faasm_func_count(void);
int weft_faasm_func(size_t i, const char **out_name, weft_functype_t **out_type);

/* Starts a call with `input` (borrowed until weft_faasm_end_call); the
 * previous call's output is dropped. */
void weft_faasm_begin_call(weft_faasm_t *f, const uint8_t *input, size_t len);
/* Ends the call while its store still lives: the bytes the guest changed
 * behind __faasm_read_state_ptr pointers become the state, and the locks
 * it still holds are released. Returns 0 or the first state error of the
 * call (also what weft_faasm_call_error gives). */
int weft_faasm_end_call(weft_faasm_t *f);
/* The first state-service error of the call (Redis unreachable: the
 * guest was trapped with a message), 0 if none. */
int weft_faasm_call_error(const weft_faasm_t *f);
/* The call's output (the last __faasm_write_output), borrowed until the
 * next weft_faasm_begin_call. */
void weft_faasm_output(const weft_faasm_t *f, const uint8_t **out, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
