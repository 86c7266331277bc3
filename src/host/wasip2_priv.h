/*
 * wasip2_priv.h — what the files of WASI preview 2 share (wasip2.c: cli,
 * io, clocks, random; wasip2_http.c: wasi:http; wasip2_sockets.c:
 * wasi:sockets; wasip2_fs.c: wasi:filesystem): the table of host resources behind the guest's handles,
 * pollables, streams, and helpers building lifted values.
 *
 * Every resource the guest holds (a stream, a pollable, an HTTP request, a
 * socket) is one slot of w->slots; its handle is the slot index in the low
 * 16 bits and the slot's generation above them, so a handle the guest
 * keeps after dropping it (or forges) is found stale, not confused with
 * the slot's next object. Handles 1-3 are the standard streams and never
 * go away. A drop ("[resource-drop]NAME", delivered by the component
 * library) frees the object; what is left when the call ends is freed with
 * the weft_wasip2_t. One thread at a time, as the weft_wasip2_t.
 */
#ifndef WEFT_HOST_WASIP2_PRIV_H
#define WEFT_HOST_WASIP2_PRIV_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/http_out.h>
#include <weft/wasip2.h>

/* Kinds of host resources (a handle of the wrong kind is "not a live
 * handle" to the function given it). */
typedef enum {
    P2_FREE = 0,
    P2_INPUT,  /* wasi:io/streams input-stream */
    P2_OUTPUT, /* output-stream */
    P2_POLLABLE,
    P2_ERROR,  /* wasi:io/error error */
    P2_FIELDS, /* wasi:http/types */
    P2_OUT_REQUEST,
    P2_REQ_OPTIONS,
    P2_OUT_BODY,
    P2_FUTURE_RESP,
    P2_IN_RESPONSE,
    P2_IN_BODY,
    P2_FUTURE_TRAILERS,
    P2_NETWORK, /* wasi:sockets */
    P2_TCP,
    P2_RESOLVE,
    P2_UDP,
    P2_UDP_IN,
    P2_UDP_OUT,
    P2_DESCRIPTOR, /* wasi:filesystem */
    P2_DIR_STREAM,
} p2_kind_t;

/* How many resources a guest may hold at once (each is a little host
 * memory, some a descriptor): past it, creating one traps. */
#define P2_MAX_LIVE 4096

/* What an outgoing request body may hold in host memory unless the config
 * says: the embedder's fetch has its own bound (the node's
 * max_request_bytes), this one only keeps a guest from filling memory. */
#define P2_HTTP_MAX_BODY (16u << 20)

/* What a pollable waits for: ready now, or a descriptor's events, or a
 * deadline (both may be set; neither and not ready: it waits for the
 * blocking work of wait(work = 1)). */
typedef struct {
    int ready;
    int fd;
    short events;
    uint64_t deadline; /* CLOCK_MONOTONIC ns; 0: none */
} p2_wait_t;

/* Results of stream operations. */
enum { P2_OK = 0, P2_CLOSED = 1, P2_FAILED = 2 };

typedef struct p2_ops {
    /* Frees the object; the handle is gone already. */
    void (*free)(weft_wasip2_t *w, void *obj);
    /* The readiness of a pollable subscribed to this object (`what`: which
     * of its pollables, the object's own choice). With work = 1 it may do
     * blocking work first (an HTTP request is sent then), seeing the
     * caller's interrupt: a nonzero return ends the call (the caller's
     * value). NULL: always ready. */
    int (*wait)(weft_wasip2_t *w, void *obj, int what, int work, weft_caller_t *caller,
                p2_wait_t *out);
    /* An input stream: up to `max` bytes into *bytes (a list<u8> value);
     * P2_OK (maybe 0 bytes when not blocking), P2_CLOSED, P2_FAILED (why
     * says what), or a nonzero from the caller with why empty... as
     * negative: -1 traps with why, other values end the call. Blocking
     * waits for one byte at least, or the end. */
    int (*read)(weft_wasip2_t *w, void *obj, weft_caller_t *caller, uint64_t max, int blocking,
                weft_cval_t *bytes, char *why, size_t why_size);
    /* An output stream: how many bytes a write may take now. */
    int (*check_write)(weft_wasip2_t *w, void *obj, uint64_t *out, char *why, size_t why_size);
    /* Writes all n bytes (blocking: waiting until they are taken). Results
     * as read's. */
    int (*write)(weft_wasip2_t *w, void *obj, weft_caller_t *caller, const uint8_t *p, size_t n,
                 int blocking, char *why, size_t why_size);
} p2_ops_t;

typedef struct {
    uint8_t kind;
    uint16_t gen;
    void *obj;
    const p2_ops_t *ops;
} p2_slot_t;

struct weft_wasip2 {
    char **argv, **env;
    size_t argc, nenv;
    int fds[4]; /* by handle: [1] stdout, [2] stderr, [3] stdin */
    unsigned used; /* weft_wasip2_stdio_used */
    uint64_t limit[3], written[3]; /* by handle: [1] stdout, [2] stderr (0: no limit) */
    p2_slot_t *slots;
    uint32_t nslots, cap, live;
    uint32_t free_head; /* a free slot to look from */
    /* wasi:http */
    weft_http_fetch_fn http_fetch;
    void *http_user;
    uint64_t http_max_body; /* what one request body may hold in memory */
    /* wasi:sockets */
    struct p2_net_rule *net_rules; /* remote addresses it may reach */
    size_t nnet_rules;
    struct p2_net_rule *listen_rules; /* local addresses a TCP socket may bind */
    size_t nlisten_rules;
    int net_lookup;
    weft_name_lookup_fn lookup;
    /* wasi:filesystem: the preopens (weft_wasip2_preopen) and the
     * resolver's state (wasi_priv.h: 1 = resolve by the walk) */
    struct p2_preopen *preopens;
    size_t npreopens;
    int walk;
    /* set by a stream operation returning P2_FAILED: the error-codes its
     * error resource stands for (-1: none), reset when read */
    int fail_http, fail_net, fail_fs;
};


/* ---- the table (wasip2.c) ---------------------------------------------------- */

/* A new handle for obj (ownership passes to the table: ops->free frees it
 * when dropped, also on failure here). 0 and *out, or -1 (too many live
 * resources, or out of memory). */
int p2_new(weft_wasip2_t *w, p2_kind_t kind, void *obj, const p2_ops_t *ops, uint32_t *out);
/* p2_new, the handle as an own value in *out; -1 with err written (too
 * many live resources, out of memory). */
int p2_own(weft_wasip2_t *w, p2_kind_t kind, void *obj, const p2_ops_t *ops, weft_cval_t *out,
           char *err, size_t err_size);
/* The object of live handle h of `kind`, or NULL. */
void *p2_get(weft_wasip2_t *w, uint32_t h, p2_kind_t kind);
/* p2_get of the handle value *self, with err saying "WHAT: N is not a live
 * handle" when it is not one. */
void *p2_need(weft_wasip2_t *w, const weft_cval_t *self, p2_kind_t kind, const char *what,
              char *err, size_t err_size);
/* The slot of live handle h (any kind), or NULL. */
p2_slot_t *p2_slot(weft_wasip2_t *w, uint32_t h);
/* Takes the object of live handle h of `kind` out of the table (an own
 * handle the guest passed: the callee owns it now), or NULL. */
void *p2_take(weft_wasip2_t *w, uint32_t h, p2_kind_t kind);
/* Drops h if it is a live handle of `kind` (standard streams stay). */
void p2_drop(weft_wasip2_t *w, uint32_t h, p2_kind_t kind);
/* A pollable subscribed to object handle `target` (`what` for its wait),
 * as an own handle value in *result; 0 or -1 with err written. */
int p2_subscribe(weft_wasip2_t *w, uint32_t target, int what, weft_cval_t *result, char *err,
                 size_t err_size);
/* An input or output stream over obj (kind P2_INPUT or P2_OUTPUT), as an
 * own handle in *out. 0 or -1 (obj freed by ops->free). */
int p2_stream(weft_wasip2_t *w, p2_kind_t kind, void *obj, const p2_ops_t *ops, uint32_t *out);
/* An error resource saying `msg`, with the wasi:http error-code case, the
 * wasi:sockets and the wasi:filesystem error-code it stands for (-1:
 * none). Its handle, or 0. */
uint32_t p2_error(weft_wasip2_t *w, const char *msg, int http_case, int net_code, int fs_code);
/* The wasi:filesystem error-code of error handle h, or -1 (none, or not an
 * error). */
int p2_error_fs(weft_wasip2_t *w, uint32_t h);
/* The error object of handle h: its http and network codes (-1: none). */
int p2_error_codes(weft_wasip2_t *w, uint32_t h, int *http_case, int *net_code,
                   const char **msg);
/* Waits until `fd` has `events` or the deadline (0: none) passes, in
 * slices of at most 10 ms that see the caller's interrupt: 0, or the
 * caller's nonzero value (the call ends). */
int p2_wait_fd(weft_caller_t *caller, int fd, short events, uint64_t deadline);
uint64_t p2_now_ns(void);

/* ---- building lifted values --------------------------------------------------- */

static inline weft_cval_t p2_scalar(weft_ctype_kind_t k, uint64_t v)
{
    weft_cval_t x = {.kind = k};
    x.of.u = v;
    return x;
}

/* A case of a variant-like value with an optional payload (moved in). */
static inline int p2_case(weft_cval_t *out, weft_ctype_kind_t k, uint32_t index,
                          const weft_cval_t *payload)
{
    memset(out, 0, sizeof *out);
    out->kind = k;
    out->index = index;
    if (payload) {
        if (!(out->items = malloc(sizeof *out->items)))
            return -1;
        out->items[0] = *payload;
        out->n = 1;
    }
    return 0;
}

/* A string or list<u8> value holding a copy of p[0..n). */
static inline int p2_bytes(weft_cval_t *out, weft_ctype_kind_t k, const void *p, size_t n)
{
    memset(out, 0, sizeof *out);
    out->kind = k;
    if (!(out->str = malloc(n + 1)))
        return -1;
    if (n)
        memcpy(out->str, p, n);
    out->str[n] = '\0';
    out->len = n;
    return 0;
}

/* A record or tuple of n zeroed items (filled by the caller). */
static inline int p2_items(weft_cval_t *out, weft_ctype_kind_t k, size_t n)
{
    memset(out, 0, sizeof *out);
    out->kind = k;
    if (n && !(out->items = calloc(n, sizeof *out->items)))
        return -1;
    out->n = n;
    return 0;
}

static inline int p2_oom(char *err, size_t size)
{
    snprintf(err, size, "out of memory");
    return -1;
}

/* result<_, E> / result<T, E> ok with an optional payload (moved in). */
static inline int p2_ok(weft_cval_t *result, const weft_cval_t *payload, char *err, size_t size)
{
    return p2_case(result, WEFT_CT_RESULT, 0, payload) ? p2_oom(err, size) : 0;
}

/* 1 when function type ft's leading parameters match pattern p (wasip2.c;
 * NULL: not checked), else 0 with err saying so. */
int p2_params_ok(const weft_ctype_t *ft, const char *p, char *err, size_t err_size);

/* A host function of the component linker whose parameters are checked
 * against `params` before its body runs (p2_params_ok). */
#define P2_HOST(name, params)                                                                   \
    static int name##_body(void *user, weft_caller_t *caller, const weft_ctype_t *type,        \
                           const weft_cval_t *args, size_t nargs, weft_cval_t *result,         \
                           char *err, size_t err_size);                                        \
    static int name(void *user, weft_caller_t *caller, const weft_ctype_t *type,               \
                    const weft_cval_t *args, size_t nargs, weft_cval_t *result, char *err,      \
                    size_t err_size)                                                           \
    {                                                                                          \
        if (!p2_params_ok(type, params, err, err_size))                                        \
            return -1;                                                                         \
        return name##_body(user, caller, type, args, nargs, result, err, err_size);             \
    }                                                                                          \
    static int name##_body(void *user, weft_caller_t *caller, const weft_ctype_t *type,        \
                           const weft_cval_t *args, size_t nargs, weft_cval_t *result,         \
                           char *err, size_t err_size)
#define P2_UNUSED (void)user, (void)caller, (void)type, (void)args, (void)nargs, (void)result, \
                  (void)err, (void)err_size

/* One row of a binding's table. */
typedef struct {
    const char *instance, *name;
    weft_chost_fn_t fn;
} p2_def_t;

/* Defines defs into l (user: w). */
int p2_define(weft_wasip2_t *w, weft_clinker_t *l, const p2_def_t *defs, size_t n);

/* The parts' tables (wasip2_http.c, wasip2_sockets.c). */
int p2_http_define(weft_wasip2_t *w, weft_clinker_t *l);
int p2_sockets_define(weft_wasip2_t *w, weft_clinker_t *l);
int p2_fs_define(weft_wasip2_t *w, weft_clinker_t *l);
/* Closes the preopens (weft_wasip2_delete). */
void p2_fs_delete(weft_wasip2_t *w);
/* The sockets' rules from the config (local: listen rules, whose port may
 * be 0): 0, or -1 with msg (a bad rule). */
int p2_net_rules_parse(const char *const *rules, size_t n, int local, struct p2_net_rule **out,
                       size_t *out_n, char *msg, size_t msg_size);

#endif
