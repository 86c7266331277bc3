/*
 * weft/wasip2.h — WASI preview 2 (0.2.x) for components.
 *
 * A weft_wasip2_t is one component guest's view of the system, defined into
 * a component linker (weft/component.h) for every patch version of 0.2:
 *   wasi:cli/{environment, exit, stdin, stdout, stderr, terminal-*},
 *   wasi:io/{error, streams, poll}, wasi:clocks/{wall-clock,
 *   monotonic-clock}, wasi:random/{random, insecure, insecure-seed},
 *   wasi:filesystem/{types, preopens} beneath the directories given by
 *   weft_wasip2_preopen (none by default), confined as preview 1's
 *   preopens are (weft/wasi.h),
 *   wasi:http/{types, outgoing-handler} through the embedder's fetch
 *   (weft/http_out.h; none: every request is HTTP-request-denied), and
 *   wasi:sockets/{network, instance-network, tcp, tcp-create-socket, udp,
 *   udp-create-socket, ip-name-lookup}, reaching only the addresses the
 *   config allows (none by default: access-denied).
 * docs/components.md says what each does and what is not there yet.
 *
 * Resources the guest holds (streams, pollables, requests, sockets) are
 * this binding's own handles (the standard streams 1, 2 and 3; others
 * carry a generation, so a dropped handle is not mistaken for a new one);
 * the guest's drops free them, and what it kept is freed with the
 * weft_wasip2_t. Blocking functions (pollable.block, poll, blocking reads
 * and writes, an HTTP request's wait) wait in slices of at most 10 ms that
 * see weft_store_interrupt, so a call's deadline ends them. Thread safety:
 * one weft_wasip2_t serves one instance at a time.
 */
#ifndef WEFT_WASIP2_H
#define WEFT_WASIP2_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "component.h"
#include "http_out.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_wasip2 weft_wasip2_t;

/* Resolves host name `name` for wasi:sockets/ip-name-lookup: at most max
 * addresses (sockaddr_in or sockaddr_in6) into out and their count into
 * *out_n. Returns 0 or getaddrinfo's EAI_* code. An embedder's (weft
 * serve's is getaddrinfo): the static `weft` links no resolver. */
typedef int (*weft_name_lookup_fn)(const char *name, struct sockaddr_storage *out, size_t max,
                                   size_t *out_n);

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
    /* wasi:http/outgoing-handler: what performs a request (NULL: every
     * request is error-code HTTP-request-denied) and its user, and the
     * most bytes of request body a guest may write (0: 16 MiB, a bound
     * on host memory; the fetch applies its own; more is
     * HTTP-request-body-size). The fetch sees a request's deadline as the
     * nearest of its request-options' timeouts (0: none). */
    weft_http_fetch_fn http_fetch;
    void *http_user;
    uint64_t http_max_body;
    /* wasi:sockets: the remote addresses a guest may connect or send to,
     * each "ADDRESS[/PREFIX]:PORT" with PORT a number or "*" and an IPv6
     * address in brackets ("127.0.0.1:7000", "10.0.0.0/8:*",
     * "[::1]:443"), copied. None (the default): every socket operation
     * reaching the network is access-denied, and so is name lookup, which
     * is allowed when there is any rule (allow or listen). A bad rule:
     * weft_wasip2_new fails (check them first with
     * weft_wasip2_net_rules_check). */
    const char *const *net_allow;
    size_t nnet_allow;
    /* The local addresses a TCP socket may bind (and so listen and accept
     * on), in the same form, where port 0 names "a port the system picks"
     * only and "*" any port: "127.0.0.1:0", "127.0.0.1:8080",
     * "0.0.0.0:8080" (every interface: never implied by another rule).
     * None (the default): tcp start-bind is access-denied. Copied. */
    const char *const *net_listen;
    size_t nnet_listen;
    /* ip-name-lookup's resolver for names (NULL: only IP address literals
     * resolve, any other name is name-unresolvable). */
    weft_name_lookup_fn lookup;
} weft_wasip2_config_t;

/* 0 when every rule of rules[0..n) is well formed (listen: net_listen's,
 * else net_allow's), else WEFT_EARG with msg naming the rule and what is
 * wrong. */
int weft_wasip2_net_rules_check(const char *const *rules, size_t n, int listen, char *msg,
                                size_t msg_size);

/* The strings are copied. Returns NULL when out of memory or a net_allow
 * or net_listen rule is malformed. Free with
 * weft_wasip2_delete after every instance using it. */
weft_wasip2_t *weft_wasip2_new(const weft_wasip2_config_t *cfg);
void weft_wasip2_delete(weft_wasip2_t *w);

/* Adds a preopened directory: host_path, opened now, which the guest's
 * get-directories lists as guest_path (NULL: host_path; UTF-8), readable
 * and changeable (descriptor-flags read and mutate-directory). Its paths
 * cannot leave it: `..`, absolute paths and symlinks that would are
 * not-permitted. Returns 0, WEFT_EARG (msg says why: the directory cannot
 * be opened) or WEFT_ENOMEM. */
int weft_wasip2_preopen(weft_wasip2_t *w, const char *host_path, const char *guest_path,
                        char *msg, size_t msg_size);

/* Which standard streams the guest read or wrote, through any stream
 * function (a handle it forged included): bit 0 stdin, 1 stdout, 2 stderr,
 * as weft_wasi_stdio_used, so an embedder resets only those. */
unsigned weft_wasip2_stdio_used(const weft_wasip2_t *w);

/* Defines the functions into l (instances named "...@0.2", so
 * they serve every 0.2.x import). Returns 0 or WEFT_ENOMEM. */
int weft_wasip2_define(weft_wasip2_t *w, weft_clinker_t *l);

#ifdef __cplusplus
}
#endif
#endif
