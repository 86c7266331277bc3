/*
 * weft/wasip2.h — WASI preview 2 (0.2.x) for components: a subset.
 *
 * A weft_wasip2_t is one component guest's view of the system, defined into
 * a component linker (weft/component.h) for every patch version of 0.2:
 *   wasi:cli/{environment, exit, stdin, stdout, stderr, terminal-*},
 *   wasi:io/{error, streams (the three standard streams), poll},
 *   wasi:clocks/{wall-clock, monotonic-clock}, wasi:random/{random,
 *   insecure, insecure-seed}, and wasi:filesystem/{preopens (none),
 *   types (filesystem-error-code)}.
 * The rest (files, sockets, http) is not here yet: a component importing it
 * instantiates only with weft_clinker_stub_missing, and traps if it calls
 * one (docs/components.md).
 *
 * Stream handles are this binding's own numbers (stdout 1, stderr 2,
 * stdin 3, the streams' pollable 100, always ready; the clock's pollables
 * above it, ready at their deadline: block and poll sleep until then, in
 * slices that see weft_store_interrupt); dropping them is a no-op. Thread
 * safety: one weft_wasip2_t serves one instance at a time.
 */
#ifndef WEFT_WASIP2_H
#define WEFT_WASIP2_H

#include <stddef.h>
#include <stdint.h>

#include "component.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_wasip2 weft_wasip2_t;

typedef struct {
    const char *const *argv; /* get-arguments (argv[0] included) */
    size_t argc;
    const char *const *env;  /* "NAME=VALUE": get-environment; nothing else leaks in */
    size_t nenv;
    int stdin_fd, stdout_fd, stderr_fd; /* host descriptors; -1 = closed */
    /* Bytes the guest may write to stdout and to stderr in all (0: no
     * bound): the write that would pass it traps the call ("stdout is over
     * its limit of N bytes"), so a guest cannot fill a memory file before
     * its deadline (the node's max_output, as for preview 1). */
    uint64_t stdout_limit, stderr_limit;
} weft_wasip2_config_t;

/* The strings are copied. Returns NULL when out of memory. Free with
 * weft_wasip2_delete after every instance using it. */
weft_wasip2_t *weft_wasip2_new(const weft_wasip2_config_t *cfg);
void weft_wasip2_delete(weft_wasip2_t *w);

/* Which standard streams the guest read or wrote, through any stream
 * function (a handle it forged included): bit 0 stdin, 1 stdout, 2 stderr,
 * as weft_wasi_stdio_used, so an embedder resets only those. */
unsigned weft_wasip2_stdio_used(const weft_wasip2_t *w);

/* Defines the subset's functions into l (instances named "...@0.2", so
 * they serve every 0.2.x import). Returns 0 or WEFT_ENOMEM. */
int weft_wasip2_define(weft_wasip2_t *w, weft_clinker_t *l);

#ifdef __cplusplus
}
#endif
#endif
