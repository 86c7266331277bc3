/*
 * weft/wippy.h — Wippy's `wippy:runtime/funcs@0.1.0` for components:
 *
 *   call-string: func(target: string, input: string) -> result<string, string>
 *   call-bytes:  func(target: string, input: list<u8>) -> result<list<u8>, string>
 *
 * (../shared/abi/wippy-host-functions.md). `target` is `namespace:entry`;
 * the binding checks it (syntax, the caller's allow list, the depth bound,
 * cycles) and hands a valid one to the embedder's callback, which runs the
 * target as a real call (the node maps namespace to an app and entry to
 * its exported function: docs/components.md). Everything that stops a call
 * reaches the guest as the `err` string, never as a trap of the caller:
 * "permission denied: ns:entry", "call depth 9 passes the bound of 8",
 * "cycle: a:run -> b:run -> a:run", "unknown target ns:entry", or the
 * callee's own failure ("trap: ...").
 *
 * Thread safety: one weft_wippy_t serves one component instance at a
 * time; the callback runs on the calling thread.
 */
#ifndef WEFT_WIPPY_H
#define WEFT_WIPPY_H

#include <stddef.h>
#include <stdint.h>

#include "component.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_wippy weft_wippy_t;

/* The embedder's call of target ns:entry with `input` (bytes = 1 for
 * call-bytes). `chain` lists the targets of the calls in progress,
 * outermost first, ending with this call's own target: pass it on in the
 * callee's weft_wippy_config_t so nested calls see it. Return 0 with the
 * output in *out (malloc'ed; the binding frees it), or nonzero with an
 * error message in *out (malloc'ed, NUL-terminated) or *out NULL. */
typedef int (*weft_wippy_call_fn)(void *user, const char *ns, const char *entry,
                                  const uint8_t *input, size_t len, int bytes,
                                  const char *const *chain, size_t nchain, uint8_t **out,
                                  size_t *out_len);

typedef struct {
    weft_wippy_call_fn call;
    void *user;
    /* Targets this function may call: "ns:entry", or "ns:*" for every
     * entry of a namespace. None: it may call nothing (Wippy gates funcs
     * with a permission the same way). */
    const char *const *allow;
    size_t nallow;
    /* The calls in progress when this function runs, outermost first, its
     * own target last (empty for a call from outside). */
    const char *const *chain;
    size_t nchain;
    unsigned max_depth; /* calls nested at most this deep (0: 8) */
} weft_wippy_config_t;

/* Copies what cfg points to. NULL when out of memory. */
weft_wippy_t *weft_wippy_new(const weft_wippy_config_t *cfg);
void weft_wippy_delete(weft_wippy_t *w);

/* Defines call-string and call-bytes into l for "wippy:runtime/funcs@0.1"
 * (every 0.1.x). Returns 0 or WEFT_ENOMEM. */
int weft_wippy_define(weft_wippy_t *w, weft_clinker_t *l);

/* The interface's functions, for ABI detection from imports: name i
 * ("call-string", "call-bytes") of the instance WEFT_WIPPY_FUNCS. */
#define WEFT_WIPPY_FUNCS "wippy:runtime/funcs@0.1.0"
size_t weft_wippy_func_count(void);
int weft_wippy_func(size_t i, const char **out_name);

#ifdef __cplusplus
}
#endif
#endif
