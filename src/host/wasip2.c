/*
 * src/host/wasip2.c — WASI preview 2 (0.2.x) for components: the host
 * functions of weft/wasip2.h on the component linker (cli, io, clocks,
 * random), and the table of host resources the
 * other parts share (wasip2_priv.h; wasip2_http.c, wasip2_sockets.c).
 *
 * Each function receives lifted values (weft_cval_t) and returns one; the
 * canonical ABI (src/component) moves them to and from the guest, so this
 * file never touches guest memory. Values are built with the exact kinds
 * of the WIT types (a wrong kind is an argument error the library reports
 * as a trap), and every allocation a result holds is the library's to free.
 * Streams and pollables dispatch on their object's operations (p2_ops_t):
 * the standard streams here, HTTP bodies and TCP streams in their files.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "strv.h"
#include "wasi_priv.h"
#include "wasip2_priv.h"

enum { H_STDOUT = 1, H_STDERR = 2, H_STDIN = 3 };

#define HOST P2_HOST
#define UNUSED P2_UNUSED

static int oom(char *err, size_t size) { return p2_oom(err, size); }

uint64_t p2_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the table of host resources ------------------------------------------------- */

#define IDX(h) ((h)&0xffffu)
#define GEN(h) ((h) >> 16)

p2_slot_t *p2_slot(weft_wasip2_t *w, uint32_t h)
{
    uint32_t i = IDX(h);
    if (i == 0 || i >= w->nslots || w->slots[i].kind == P2_FREE || w->slots[i].gen != GEN(h))
        return NULL;
    return &w->slots[i];
}

void *p2_get(weft_wasip2_t *w, uint32_t h, p2_kind_t kind)
{
    p2_slot_t *s = p2_slot(w, h);
    return s && s->kind == kind ? s->obj : NULL;
}

void *p2_need(weft_wasip2_t *w, const weft_cval_t *self, p2_kind_t kind, const char *what,
              char *err, size_t err_size)
{
    void *obj = p2_get(w, (uint32_t)self->of.u, kind);
    if (!obj)
        snprintf(err, err_size, "%s: %llu is not a live handle", what,
                 (unsigned long long)self->of.u);
    return obj;
}

int p2_new(weft_wasip2_t *w, p2_kind_t kind, void *obj, const p2_ops_t *ops, uint32_t *out)
{
    uint32_t i = w->free_head;
    while (i < w->nslots && w->slots[i].kind != P2_FREE)
        i++;
    if (i >= w->nslots) {
        if (w->live >= P2_MAX_LIVE || w->nslots >= 0xffffu)
            goto fail;
        if (w->nslots == w->cap) {
            uint32_t nc = w->cap ? w->cap * 2 : 32;
            p2_slot_t *nv = realloc(w->slots, nc * sizeof *nv);
            if (!nv)
                goto fail;
            w->slots = nv;
            w->cap = nc;
        }
        i = w->nslots++;
        w->slots[i].gen = 0;
    }
    if (w->live >= P2_MAX_LIVE)
        goto fail;
    p2_slot_t *s = &w->slots[i];
    s->kind = (uint8_t)kind;
    s->gen = (uint16_t)((s->gen + 1) & 0x7fffu); /* handles stay below 2^31 */
    s->obj = obj;
    s->ops = ops;
    w->live++;
    w->free_head = i + 1;
    *out = (uint32_t)s->gen << 16 | i;
    return 0;
fail:
    if (ops && ops->free)
        ops->free(w, obj);
    return -1;
}

int p2_own(weft_wasip2_t *w, p2_kind_t kind, void *obj, const p2_ops_t *ops, weft_cval_t *out,
           char *err, size_t err_size)
{
    uint32_t h;
    if (p2_new(w, kind, obj, ops, &h) != 0) {
        snprintf(err, err_size, "too many live resources (at most %u, or out of memory)",
                 P2_MAX_LIVE);
        return -1;
    }
    *out = p2_scalar(WEFT_CT_OWN, h);
    return 0;
}

static void slot_free(weft_wasip2_t *w, uint32_t i)
{
    p2_slot_t *s = &w->slots[i];
    void *obj = s->obj;
    const p2_ops_t *ops = s->ops;
    s->kind = P2_FREE;
    s->obj = NULL;
    w->live--;
    if (i < w->free_head)
        w->free_head = i;
    if (ops && ops->free)
        ops->free(w, obj);
}

void *p2_take(weft_wasip2_t *w, uint32_t h, p2_kind_t kind)
{
    p2_slot_t *s = p2_slot(w, h);
    if (!s || s->kind != kind || IDX(h) <= H_STDIN)
        return NULL;
    void *obj = s->obj;
    s->kind = P2_FREE;
    s->obj = NULL;
    w->live--;
    if (IDX(h) < w->free_head)
        w->free_head = IDX(h);
    return obj;
}

void p2_drop(weft_wasip2_t *w, uint32_t h, p2_kind_t kind)
{
    p2_slot_t *s = p2_slot(w, h);
    if (s && s->kind == kind && IDX(h) > H_STDIN)
        slot_free(w, IDX(h));
}

/* ---- errors (wasi:io/error) ----------------------------------------------------------- */

typedef struct {
    char *msg;
    int http_case, net_code, fs_code;
} p2_err_t;

static void err_free(weft_wasip2_t *w, void *obj)
{
    p2_err_t *e = obj;
    (void)w;
    if (e)
        free(e->msg);
    free(e);
}

static const p2_ops_t err_ops = {err_free, NULL, NULL, NULL, NULL};

uint32_t p2_error(weft_wasip2_t *w, const char *msg, int http_case, int net_code, int fs_code)
{
    p2_err_t *e = calloc(1, sizeof *e);
    uint32_t h;
    if (!e || !(e->msg = strdup(msg ? msg : "error"))) {
        free(e);
        return 0;
    }
    e->http_case = http_case;
    e->net_code = net_code;
    e->fs_code = fs_code;
    return p2_new(w, P2_ERROR, e, &err_ops, &h) == 0 ? h : 0;
}

int p2_error_codes(weft_wasip2_t *w, uint32_t h, int *http_case, int *net_code, const char **msg)
{
    p2_err_t *e = p2_get(w, h, P2_ERROR);
    if (!e)
        return -1;
    *http_case = e->http_case;
    *net_code = e->net_code;
    *msg = e->msg;
    return 0;
}

int p2_error_fs(weft_wasip2_t *w, uint32_t h)
{
    p2_err_t *e = p2_get(w, h, P2_ERROR);
    return e ? e->fs_code : -1;
}

HOST(error_debug_string, "b")
{
    UNUSED;
    p2_err_t *e = p2_get(user, (uint32_t)args[0].of.u, P2_ERROR);
    const char *m = e ? e->msg : "stream error";
    return p2_bytes(result, WEFT_CT_STRING, m, strlen(m)) ? oom(err, err_size) : 0;
}

HOST(error_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_ERROR); return 0; }

/* ---- pollables (wasi:io/poll) ---------------------------------------------------------- */

typedef struct {
    uint32_t target; /* 0: a timer */
    int what;
    uint64_t deadline;
} p2_poll_t;

static void poll_free(weft_wasip2_t *w, void *obj) { (void)w; free(obj); }
static const p2_ops_t poll_ops = {poll_free, NULL, NULL, NULL, NULL};

static int new_pollable(weft_wasip2_t *w, uint32_t target, int what, uint64_t deadline,
                        weft_cval_t *result, char *err, size_t err_size)
{
    p2_poll_t *p = calloc(1, sizeof *p);
    if (!p)
        return oom(err, err_size);
    *p = (p2_poll_t){target, what, deadline};
    return p2_own(w, P2_POLLABLE, p, &poll_ops, result, err, err_size);
}

int p2_subscribe(weft_wasip2_t *w, uint32_t target, int what, weft_cval_t *result, char *err,
                 size_t err_size)
{
    return new_pollable(w, target, what, 0, result, err, err_size);
}

/* The state of pollable h (a stale handle, or one whose object is gone,
 * is ready: waiting on it could never end). */
static int poll_state(weft_wasip2_t *w, uint32_t h, int work, weft_caller_t *caller,
                      p2_wait_t *out)
{
    p2_poll_t *p = p2_get(w, h, P2_POLLABLE);
    memset(out, 0, sizeof *out);
    out->fd = -1;
    if (!p) {
        out->ready = 1;
        return 0;
    }
    if (!p->target) {
        out->ready = p2_now_ns() >= p->deadline;
        out->deadline = p->deadline;
        return 0;
    }
    p2_slot_t *s = p2_slot(w, p->target);
    if (!s || !s->ops || !s->ops->wait) {
        out->ready = 1;
        return 0;
    }
    return s->ops->wait(w, s->obj, p->what, work, caller, out);
}

/* Waits until one of hs[0..n) is ready, then sets ready[i] for each that
 * is. 0, or the caller's nonzero (the call ends). Descriptors are polled
 * in slices of at most 10 ms that see weft_store_interrupt. */
static int wait_any(weft_wasip2_t *w, weft_caller_t *caller, const uint32_t *hs, size_t n,
                    uint8_t *ready)
{
    struct pollfd small[16], *fds = n <= 16 ? small : calloc(n, sizeof *fds);
    int rc = 0;
    if (!fds)
        return -1;
    for (;;) {
        size_t nfds = 0, any = 0, work = n;
        uint64_t first = UINT64_MAX;
        p2_wait_t st;
        for (size_t i = 0; i < n; i++) {
            if ((rc = poll_state(w, hs[i], 0, caller, &st)) != 0)
                goto out;
            ready[i] = (uint8_t)st.ready;
            any |= (size_t)st.ready;
            if (st.fd >= 0)
                fds[nfds++] = (struct pollfd){st.fd, st.events, 0};
            if (st.deadline && st.deadline < first)
                first = st.deadline;
            if (!st.ready && st.fd < 0 && !st.deadline && work == n)
                work = i; /* ready only by its blocking work (an HTTP request sent) */
        }
        if (any)
            goto out;
        if (work < n) { /* do it, then look at all again */
            if ((rc = poll_state(w, hs[work], 1, caller, &st)) != 0)
                goto out;
            continue;
        }
        uint64_t now = p2_now_ns();
        int ms = 10;
        if (first != UINT64_MAX && (first <= now || (first - now) / 1000000u < 10))
            ms = first <= now ? 0 : (int)((first - now) / 1000000u) + 1;
        if (caller && (rc = weft_caller_check_interrupt(caller)) != 0)
            goto out;
        if (nfds) {
            poll(fds, (nfds_t)nfds, ms);
        } else if (ms) {
            struct timespec ts = {0, (long)ms * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
out:
    if (fds != small)
        free(fds);
    return rc;
}

int p2_wait_fd(weft_caller_t *caller, int fd, short events, uint64_t deadline)
{
    for (;;) {
        struct pollfd p = {fd, events, 0};
        uint64_t now = p2_now_ns();
        if (deadline && now >= deadline)
            return 0;
        int ms = 10;
        if (deadline && (deadline - now) / 1000000u < 10)
            ms = (int)((deadline - now) / 1000000u) + 1;
        if (poll(&p, 1, ms) > 0)
            return 0;
        if (caller) {
            int rc = weft_caller_check_interrupt(caller);
            if (rc)
                return rc;
        }
    }
}

HOST(pollable_ready, "b")
{
    p2_wait_t st;
    UNUSED;
    poll_state(user, (uint32_t)args[0].of.u, 0, caller, &st);
    *result = p2_scalar(WEFT_CT_BOOL, (uint64_t)st.ready);
    return 0;
}

HOST(pollable_block, "b")
{
    uint8_t ready;
    uint32_t h = (uint32_t)args[0].of.u;
    UNUSED;
    int rc = wait_any(user, caller, &h, 1, &ready);
    return rc == -1 ? oom(err, err_size) : rc; /* another nonzero: err empty, ends the call */
}

/* poll: waits for the first of the pollables, then returns the indices of
 * every one that is ready */
HOST(poll_list, "Lb")
{
    weft_wasip2_t *w = user;
    UNUSED;
    size_t n = args[0].n;
    if (n == 0) {
        snprintf(err, err_size, "poll: an empty list of pollables would wait forever");
        return -1;
    }
    if (n > 0xffffffffu) {
        snprintf(err, err_size, "poll: too many pollables");
        return -1;
    }
    uint32_t *hs = calloc(n, sizeof *hs);
    uint8_t *ready = calloc(n, 1);
    if (!hs || !ready) {
        free(hs);
        free(ready);
        return oom(err, err_size);
    }
    for (size_t i = 0; i < n; i++)
        hs[i] = (uint32_t)args[0].items[i].of.u;
    int rc = wait_any(w, caller, hs, n, ready);
    if (rc == -1)
        rc = oom(err, err_size);
    if (rc == 0) {
        memset(result, 0, sizeof *result);
        result->kind = WEFT_CT_LIST;
        if (!(result->items = calloc(n, sizeof *result->items)))
            rc = oom(err, err_size);
        for (size_t i = 0; rc == 0 && i < n; i++)
            if (ready[i])
                result->items[result->n++] = p2_scalar(WEFT_CT_U32, i);
    }
    free(hs);
    free(ready);
    return rc;
}

HOST(pollable_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_POLLABLE); return 0; }

/* ---- wasi:cli ---------------------------------------------------------------- */

static int string_list(weft_cval_t *out, char **v, size_t n, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    out->kind = WEFT_CT_LIST;
    if (n && !(out->items = calloc(n, sizeof *out->items)))
        return oom(err, err_size);
    for (size_t i = 0; i < n; i++, out->n++)
        if (p2_bytes(&out->items[i], WEFT_CT_STRING, v[i], strlen(v[i])) != 0)
            return oom(err, err_size);
    return 0;
}

HOST(get_arguments, "")
{
    weft_wasip2_t *w = user;
    UNUSED;
    return string_list(result, w->argv, w->argc, err, err_size);
}

HOST(get_environment, "")
{
    weft_wasip2_t *w = user;
    UNUSED;
    memset(result, 0, sizeof *result);
    result->kind = WEFT_CT_LIST;
    if (w->nenv && !(result->items = calloc(w->nenv, sizeof *result->items)))
        return oom(err, err_size);
    for (size_t i = 0; i < w->nenv; i++, result->n++) {
        weft_cval_t *t = &result->items[i];
        const char *kv = w->env[i], *eq = strchr(kv, '=');
        size_t kl = eq ? (size_t)(eq - kv) : strlen(kv);
        if (p2_items(t, WEFT_CT_TUPLE, 2) != 0 ||
            p2_bytes(&t->items[0], WEFT_CT_STRING, kv, kl) != 0 ||
            p2_bytes(&t->items[1], WEFT_CT_STRING, eq ? eq + 1 : "", eq ? strlen(eq + 1) : 0) != 0)
            return oom(err, err_size);
    }
    return 0;
}

HOST(initial_cwd, "")
{
    UNUSED;
    return p2_case(result, WEFT_CT_OPTION, 0, NULL);
}

HOST(cli_exit, "r")
{
    UNUSED;
    int status = args[0].index == 0 ? 0 : 1;
    if (!caller) {
        snprintf(err, err_size, "exit(%d) outside a guest call", status);
        return -1;
    }
    return weft_caller_exit(caller, status); /* err left empty: ends the call */
}

HOST(get_stdout, "") { UNUSED; *result = p2_scalar(WEFT_CT_OWN, H_STDOUT); return 0; }
HOST(get_stderr, "") { UNUSED; *result = p2_scalar(WEFT_CT_OWN, H_STDERR); return 0; }
HOST(get_stdin, "") { UNUSED; *result = p2_scalar(WEFT_CT_OWN, H_STDIN); return 0; }
HOST(no_terminal, "") { UNUSED; return p2_case(result, WEFT_CT_OPTION, 0, NULL); }

/* ---- the standard streams ------------------------------------------------------------- */

/* The slot objects of handles 1-3 point at these: the handle number. */
static const int std_handles[4] = {0, H_STDOUT, H_STDERR, H_STDIN};

static int std_fd(weft_wasip2_t *w, const void *obj)
{
    int h = *(const int *)obj;
    w->used |= h == H_STDIN ? 1u : h == H_STDOUT ? 2u : 4u;
    return w->fds[h];
}

static int std_read(weft_wasip2_t *w, void *obj, weft_caller_t *caller, uint64_t max,
                    int blocking, weft_cval_t *bytes, char *why, size_t why_size)
{
    int fd = std_fd(w, obj);
    uint64_t want = max > (1 << 20) ? (1 << 20) : max;
    (void)caller, (void)blocking, (void)why, (void)why_size;
    if (fd < 0)
        return P2_CLOSED;
    if (p2_bytes(bytes, WEFT_CT_LIST, "", 0) != 0 || !(bytes->str = realloc(bytes->str, want + 1)))
        return -1;
    ssize_t k;
    do {
        k = read(fd, bytes->str, want);
    } while (k < 0 && errno == EINTR);
    if (k <= 0 && want)
        return P2_CLOSED;
    bytes->len = k > 0 ? (size_t)k : 0;
    return P2_OK;
}

static int std_check_write(weft_wasip2_t *w, void *obj, uint64_t *out, char *why, size_t size)
{
    (void)why, (void)size;
    if (std_fd(w, obj) < 0)
        return P2_CLOSED;
    *out = 1 << 20;
    return P2_OK;
}

static int std_write(weft_wasip2_t *w, void *obj, weft_caller_t *caller, const uint8_t *p,
                     size_t n, int blocking, char *why, size_t why_size)
{
    int fd = std_fd(w, obj), h = *(const int *)obj;
    (void)caller, (void)blocking;
    if (fd < 0)
        return P2_CLOSED;
    uint64_t lim = w->limit[h];
    if (lim && (w->written[h] > lim || n > lim - w->written[h])) {
        snprintf(why, why_size, "%s is over its limit of %llu bytes",
                 h == H_STDOUT ? "stdout" : "stderr", (unsigned long long)lim);
        return -1; /* the call traps: it cannot go on writing */
    }
    w->written[h] += n;
    while (n) {
        /* a reader gone from a pipe is the stream closed, not SIGPIPE
         * killing the process (wasi_fd.c's write, as for preview 1) */
        struct iovec iov = {(void *)p, n};
        int e = 0;
        ssize_t k = wasi_write_nosigpipe(fd, &iov, 1, 0, 0, &e);
        if (k < 0 && e == EINTR)
            continue;
        if (k <= 0)
            return P2_CLOSED;
        p += k;
        n -= (size_t)k;
    }
    return P2_OK;
}

static const p2_ops_t std_ops = {NULL, NULL, std_read, std_check_write, std_write};

/* ---- wasi:io/streams ------------------------------------------------------------------ */

int p2_stream(weft_wasip2_t *w, p2_kind_t kind, void *obj, const p2_ops_t *ops, uint32_t *out)
{
    return p2_new(w, kind, obj, ops, out);
}

/* result<T, stream-error> for a stream operation's outcome rc (P2_*):
 * ok with `payload` (moved in), err(closed), err(last-operation-failed
 * (error)) saying why; a negative rc traps with why or ends the call. */
static int stream_result(weft_wasip2_t *w, int rc, weft_cval_t *payload, weft_cval_t *result,
                         const char *why, char *err, size_t err_size)
{
    if (rc < 0) {
        weft_cval_free(payload);
        if (rc == -1) {
            snprintf(err, err_size, "%s", why[0] ? why : "out of memory");
            return -1;
        }
        return rc; /* the caller's value, err empty */
    }
    if (rc == P2_OK)
        return p2_ok(result, payload, err, err_size);
    weft_cval_free(payload);
    int fh = w->fail_http, fn = w->fail_net, ff = w->fail_fs;
    w->fail_http = w->fail_net = w->fail_fs = -1;
    weft_cval_t se, eh;
    if (rc == P2_CLOSED) {
        p2_case(&se, WEFT_CT_VARIANT, 1, NULL);
    } else {
        uint32_t h = p2_error(w, why[0] ? why : "stream error", fh, fn, ff);
        if (!h)
            return oom(err, err_size);
        eh = p2_scalar(WEFT_CT_OWN, h);
        if (p2_case(&se, WEFT_CT_VARIANT, 0, &eh) != 0)
            return oom(err, err_size);
    }
    if (p2_case(result, WEFT_CT_RESULT, 1, &se) != 0) {
        weft_cval_free(&se);
        return oom(err, err_size);
    }
    return 0;
}

static p2_slot_t *stream_of(weft_wasip2_t *w, const weft_cval_t *self, p2_kind_t kind)
{
    p2_slot_t *s = p2_slot(w, (uint32_t)self->of.u);
    return s && s->kind == kind ? s : NULL;
}

/* read, or skip (the bytes' count instead of the bytes) */
static int do_read(weft_wasip2_t *w, weft_caller_t *caller, const weft_cval_t *args,
                   int blocking, int skip, weft_cval_t *result, char *err, size_t err_size)
{
    p2_slot_t *s = stream_of(w, &args[0], P2_INPUT);
    weft_cval_t bytes = {0};
    char why[200] = "";
    int rc = s && s->ops->read ? s->ops->read(w, s->obj, caller, args[1].of.u, blocking, &bytes,
                                              why, sizeof why)
                               : P2_CLOSED;
    if (skip) {
        weft_cval_t n = p2_scalar(WEFT_CT_U64, bytes.len);
        weft_cval_free(&bytes);
        return stream_result(w, rc, &n, result, why, err, err_size);
    }
    if (rc == P2_OK && bytes.kind != WEFT_CT_LIST && p2_bytes(&bytes, WEFT_CT_LIST, "", 0) != 0)
        rc = -1;
    return stream_result(w, rc, &bytes, result, why, err, err_size);
}

HOST(read_stream, "bn") { UNUSED; return do_read(user, caller, args, 0, 0, result, err, err_size); }
HOST(blocking_read, "bn") { UNUSED; return do_read(user, caller, args, 1, 0, result, err, err_size); }
HOST(skip_stream, "bn") { UNUSED; return do_read(user, caller, args, 0, 1, result, err, err_size); }
HOST(blocking_skip, "bn") { UNUSED; return do_read(user, caller, args, 1, 1, result, err, err_size); }

HOST(check_write, "b")
{
    weft_wasip2_t *w = user;
    UNUSED;
    p2_slot_t *s = stream_of(w, &args[0], P2_OUTPUT);
    uint64_t n = 0;
    char why[200] = "";
    int rc = s && s->ops->check_write ? s->ops->check_write(w, s->obj, &n, why, sizeof why)
                                      : P2_CLOSED;
    weft_cval_t v = p2_scalar(WEFT_CT_U64, n);
    return stream_result(w, rc, &v, result, why, err, err_size);
}

static int do_write(weft_wasip2_t *w, weft_caller_t *caller, const weft_cval_t *self,
                    const uint8_t *p, size_t n, int blocking, weft_cval_t *result, char *err,
                    size_t err_size)
{
    p2_slot_t *s = stream_of(w, self, P2_OUTPUT);
    char why[200] = "";
    int rc = s && s->ops->write ? s->ops->write(w, s->obj, caller, p, n, blocking, why, sizeof why)
                                : P2_CLOSED;
    return stream_result(w, rc, NULL, result, why, err, err_size);
}

HOST(write_stream, "by")
{
    UNUSED;
    return do_write(user, caller, &args[0], (const uint8_t *)args[1].str, args[1].len, 0, result,
                    err, err_size);
}

HOST(blocking_write, "by")
{
    UNUSED;
    return do_write(user, caller, &args[0], (const uint8_t *)args[1].str, args[1].len, 1, result,
                    err, err_size);
}

static int write_zeroes(weft_wasip2_t *w, weft_caller_t *caller, const weft_cval_t *args,
                        int blocking, weft_cval_t *result, char *err, size_t err_size)
{
    uint64_t n = args[1].of.u;
    if (n > (1u << 20)) {
        snprintf(err, err_size, "write-zeroes: %llu bytes is more than check-write allows",
                 (unsigned long long)n);
        return -1;
    }
    uint8_t *z = calloc(1, n ? n : 1);
    if (!z)
        return oom(err, err_size);
    int rc = do_write(w, caller, &args[0], z, n, blocking, result, err, err_size);
    free(z);
    return rc;
}

HOST(write_zeroes_stream, "bn") { UNUSED; return write_zeroes(user, caller, args, 0, result, err, err_size); }
HOST(blocking_write_zeroes, "bn") { UNUSED; return write_zeroes(user, caller, args, 1, result, err, err_size); }

HOST(flush_stream, "b")
{
    weft_wasip2_t *w = user;
    UNUSED;
    p2_slot_t *s = stream_of(w, &args[0], P2_OUTPUT);
    /* writes are taken whole (or fail), so there is never anything to flush */
    return stream_result(w, s ? P2_OK : P2_CLOSED, NULL, result, "", err, err_size);
}

/* splice: read up to len from the input, write it all to the output */
static int do_splice(weft_wasip2_t *w, weft_caller_t *caller, const weft_cval_t *args,
                     int blocking, weft_cval_t *result, char *err, size_t err_size)
{
    p2_slot_t *in = stream_of(w, &args[1], P2_INPUT), *out = stream_of(w, &args[0], P2_OUTPUT);
    weft_cval_t bytes = {0};
    char why[200] = "";
    uint64_t room = 0;
    int rc = out && out->ops->check_write ? out->ops->check_write(w, out->obj, &room, why,
                                                                  sizeof why)
                                          : P2_CLOSED;
    uint64_t want = args[2].of.u < room ? args[2].of.u : room;
    if (rc == P2_OK)
        rc = in && in->ops->read ? in->ops->read(w, in->obj, caller, want, blocking, &bytes, why,
                                                 sizeof why)
                                 : P2_CLOSED;
    if (rc == P2_OK && bytes.len)
        rc = out->ops->write(w, out->obj, caller, (const uint8_t *)bytes.str, bytes.len, blocking,
                             why, sizeof why);
    weft_cval_t n = p2_scalar(WEFT_CT_U64, bytes.len);
    weft_cval_free(&bytes);
    return stream_result(w, rc, &n, result, why, err, err_size);
}

HOST(splice_stream, "bbn") { UNUSED; return do_splice(user, caller, args, 0, result, err, err_size); }
HOST(blocking_splice, "bbn") { UNUSED; return do_splice(user, caller, args, 1, result, err, err_size); }

HOST(stream_subscribe, "b")
{
    UNUSED;
    return p2_subscribe(user, (uint32_t)args[0].of.u, 0, result, err, err_size);
}

HOST(input_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_INPUT); return 0; }
HOST(output_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_OUTPUT); return 0; }

/* ---- wasi:clocks --------------------------------------------------------------- */

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

HOST(subscribe_duration, "n")
{
    UNUSED;
    uint64_t now = p2_now_ns(), d = args[0].of.u;
    return new_pollable(user, 0, 0, d > UINT64_MAX - now ? UINT64_MAX : now + d, result, err,
                        err_size);
}

HOST(subscribe_instant, "n")
{
    UNUSED;
    return new_pollable(user, 0, 0, args[0].of.u ? args[0].of.u : 1, result, err, err_size);
}

HOST(mono_now, "") { UNUSED; *result = p2_scalar(WEFT_CT_U64, p2_now_ns()); return 0; }
HOST(mono_resolution, "") { UNUSED; *result = p2_scalar(WEFT_CT_U64, 1); return 0; }

static int datetime(weft_cval_t *out, uint64_t ns, char *err, size_t err_size)
{
    if (p2_items(out, WEFT_CT_RECORD, 2) != 0)
        return oom(err, err_size);
    out->items[0] = p2_scalar(WEFT_CT_U64, ns / 1000000000u);
    out->items[1] = p2_scalar(WEFT_CT_U32, ns % 1000000000u);
    return 0;
}

HOST(wall_now, "") { UNUSED; return datetime(result, clock_ns(CLOCK_REALTIME), err, err_size); }
HOST(wall_resolution, "") { UNUSED; return datetime(result, 1, err, err_size); }

/* ---- wasi:random ------------------------------------------------------------------ */

HOST(random_bytes, "n")
{
    UNUSED;
    uint64_t n = args[0].of.u;
    if (n > (1u << 24)) {
        snprintf(err, err_size, "get-random-bytes: %llu bytes is more than 16 MiB",
                 (unsigned long long)n);
        return -1;
    }
    memset(result, 0, sizeof *result);
    result->kind = WEFT_CT_LIST;
    if (!(result->str = malloc(n + 1)))
        return oom(err, err_size);
    randombytes_buf(result->str, n);
    result->len = n;
    return 0;
}

HOST(random_u64, "")
{
    uint64_t v;
    UNUSED;
    randombytes_buf(&v, sizeof v);
    *result = p2_scalar(WEFT_CT_U64, v);
    return 0;
}

HOST(insecure_seed, "")
{
    uint64_t v[2];
    UNUSED;
    randombytes_buf(v, sizeof v);
    if (p2_items(result, WEFT_CT_TUPLE, 2) != 0)
        return oom(err, err_size);
    result->items[0] = p2_scalar(WEFT_CT_U64, v[0]);
    result->items[1] = p2_scalar(WEFT_CT_U64, v[1]);
    return 0;
}

/* ---- the table ---------------------------------------------------------------------- */

#define IO_S "wasi:io/streams@0.2"
static const p2_def_t funcs[] = {
    {"wasi:cli/environment@0.2", "get-arguments", get_arguments},
    {"wasi:cli/environment@0.2", "get-environment", get_environment},
    {"wasi:cli/environment@0.2", "initial-cwd", initial_cwd},
    {"wasi:cli/exit@0.2", "exit", cli_exit},
    {"wasi:cli/stdout@0.2", "get-stdout", get_stdout},
    {"wasi:cli/stderr@0.2", "get-stderr", get_stderr},
    {"wasi:cli/stdin@0.2", "get-stdin", get_stdin},
    {"wasi:cli/terminal-stdin@0.2", "get-terminal-stdin", no_terminal},
    {"wasi:cli/terminal-stdout@0.2", "get-terminal-stdout", no_terminal},
    {"wasi:cli/terminal-stderr@0.2", "get-terminal-stderr", no_terminal},
    {"wasi:io/error@0.2", "[method]error.to-debug-string", error_debug_string},
    {"wasi:io/error@0.2", "[resource-drop]error", error_drop},
    {IO_S, "[method]output-stream.check-write", check_write},
    {IO_S, "[method]output-stream.write", write_stream},
    {IO_S, "[method]output-stream.blocking-write-and-flush", blocking_write},
    {IO_S, "[method]output-stream.flush", flush_stream},
    {IO_S, "[method]output-stream.blocking-flush", flush_stream},
    {IO_S, "[method]output-stream.write-zeroes", write_zeroes_stream},
    {IO_S, "[method]output-stream.blocking-write-zeroes-and-flush", blocking_write_zeroes},
    {IO_S, "[method]output-stream.splice", splice_stream},
    {IO_S, "[method]output-stream.blocking-splice", blocking_splice},
    {IO_S, "[method]output-stream.subscribe", stream_subscribe},
    {IO_S, "[resource-drop]output-stream", output_drop},
    {IO_S, "[method]input-stream.read", read_stream},
    {IO_S, "[method]input-stream.blocking-read", blocking_read},
    {IO_S, "[method]input-stream.skip", skip_stream},
    {IO_S, "[method]input-stream.blocking-skip", blocking_skip},
    {IO_S, "[method]input-stream.subscribe", stream_subscribe},
    {IO_S, "[resource-drop]input-stream", input_drop},
    {"wasi:io/poll@0.2", "[method]pollable.ready", pollable_ready},
    {"wasi:io/poll@0.2", "[method]pollable.block", pollable_block},
    {"wasi:io/poll@0.2", "[resource-drop]pollable", pollable_drop},
    {"wasi:io/poll@0.2", "poll", poll_list},
    {"wasi:clocks/monotonic-clock@0.2", "now", mono_now},
    {"wasi:clocks/monotonic-clock@0.2", "resolution", mono_resolution},
    {"wasi:clocks/monotonic-clock@0.2", "subscribe-instant", subscribe_instant},
    {"wasi:clocks/monotonic-clock@0.2", "subscribe-duration", subscribe_duration},
    {"wasi:clocks/wall-clock@0.2", "now", wall_now},
    {"wasi:clocks/wall-clock@0.2", "resolution", wall_resolution},
    {"wasi:random/random@0.2", "get-random-bytes", random_bytes},
    {"wasi:random/random@0.2", "get-random-u64", random_u64},
    {"wasi:random/insecure@0.2", "get-insecure-random-bytes", random_bytes},
    {"wasi:random/insecure@0.2", "get-insecure-random-u64", random_u64},
    {"wasi:random/insecure-seed@0.2", "insecure-seed", insecure_seed},
};

weft_wasip2_t *weft_wasip2_new(const weft_wasip2_config_t *cfg)
{
    weft_wasip2_t *w = calloc(1, sizeof *w);
    char msg[200];
    if (!w || sodium_init() < 0)
        goto fail;
    if (!(w->argv = strv_copy(cfg->argv, cfg->argc)) ||
        !(w->env = strv_copy(cfg->env, cfg->nenv)))
        goto fail;
    w->argc = cfg->argc;
    w->nenv = cfg->nenv;
    w->fds[0] = -1;
    w->fds[H_STDOUT] = cfg->stdout_fd;
    w->fds[H_STDERR] = cfg->stderr_fd;
    w->fds[H_STDIN] = cfg->stdin_fd;
    w->limit[H_STDOUT] = cfg->stdout_limit;
    w->limit[H_STDERR] = cfg->stderr_limit;
    w->fail_http = w->fail_net = w->fail_fs = -1;
    w->walk = getenv("WEFT_WASI_FORCE_WALK") != NULL; /* the walk, for tests (weft/wasi.h) */
    w->http_fetch = cfg->http_fetch;
    w->http_user = cfg->http_user;
    w->http_max_body = cfg->http_max_body ? cfg->http_max_body : P2_HTTP_MAX_BODY;
    if (p2_net_rules_parse(cfg->net_allow, cfg->nnet_allow, 0, &w->net_rules, &w->nnet_rules,
                           msg, sizeof msg) != 0 ||
        p2_net_rules_parse(cfg->net_listen, cfg->nnet_listen, 1, &w->listen_rules,
                           &w->nlisten_rules, msg, sizeof msg) != 0)
        goto fail;
    w->net_lookup = cfg->nnet_allow > 0 || cfg->nnet_listen > 0;
    w->lookup = cfg->lookup;
    /* slot 0 is never a handle; 1-3 are the standard streams, for good */
    if (!(w->slots = calloc(32, sizeof *w->slots)))
        goto fail;
    w->cap = 32;
    w->nslots = 4;
    for (int h = H_STDOUT; h <= H_STDIN; h++)
        w->slots[h] = (p2_slot_t){h == H_STDIN ? P2_INPUT : P2_OUTPUT, 0, (void *)&std_handles[h],
                                  &std_ops};
    w->live = 3;
    w->free_head = 4;
    return w;
fail:
    weft_wasip2_delete(w);
    return NULL;
}

void weft_wasip2_delete(weft_wasip2_t *w)
{
    if (!w)
        return;
    /* what the guest did not drop; an object may drop others (a request
     * its body): each slot is looked at once, after those before it */
    for (uint32_t i = H_STDIN + 1; i < w->nslots; i++)
        if (w->slots[i].kind != P2_FREE)
            slot_free(w, i);
    free(w->slots);
    p2_fs_delete(w);
    free(w->net_rules);
    free(w->listen_rules);
    strv_free(w->argv, w->argc);
    strv_free(w->env, w->nenv);
    free(w);
}

unsigned weft_wasip2_stdio_used(const weft_wasip2_t *w) { return w->used; }

/* ---- the parameters a host function reads ------------------------------------------

   The functions read their arguments as the WASI types have them (a list's
   items, a variant's payload), so a component importing one with other
   parameters must not reach it: P2_HOST checks each call's type against
   the function's pattern first (a walk of a few type nodes). A pattern
   covers the leading parameters the function reads:
     n  a number, bool, char, enum or flags     s  string      y  list<u8>
     b  borrow     o  own     r  any result      ?x  option<x>   Lx  list<x>
     (..) a tuple and {..} a record of exactly those, <..> a variant of
     exactly those cases, each a payload pattern or - for none. */

/* Matches type t against the pattern at p: the rest of the pattern, or NULL. */
static const char *shape(const weft_ctype_t *t, const char *p)
{
    weft_ctype_kind_t k = t ? weft_ctype_kind(t) : 0;
    char close = 0;
    switch (*p++) {
    case 'n':
        return (k == WEFT_CT_BOOL || (k <= WEFT_CT_S8 && k >= WEFT_CT_CHAR) ||
                k == WEFT_CT_ENUM || k == WEFT_CT_FLAGS) ? p : NULL;
    case 's': return k == WEFT_CT_STRING ? p : NULL;
    case 'y':
        return k == WEFT_CT_LIST && weft_ctype_kind(weft_ctype_type(t, 0)) == WEFT_CT_U8 ? p
                                                                                         : NULL;
    case 'b': return k == WEFT_CT_BORROW ? p : NULL;
    case 'o': return k == WEFT_CT_OWN ? p : NULL;
    case 'r': return k == WEFT_CT_RESULT ? p : NULL;
    case '?': return k == WEFT_CT_OPTION ? shape(weft_ctype_type(t, 0), p) : NULL;
    case 'L':
        if (k != WEFT_CT_LIST || weft_ctype_kind(weft_ctype_type(t, 0)) == WEFT_CT_U8)
            return NULL;
        return shape(weft_ctype_type(t, 0), p);
    case '(': close = ')'; if (k != WEFT_CT_TUPLE) return NULL; break;
    case '{': close = '}'; if (k != WEFT_CT_RECORD) return NULL; break;
    case '<': close = '>'; if (k != WEFT_CT_VARIANT) return NULL; break;
    default: return NULL;
    }
    size_t i = 0, n = weft_ctype_count(t);
    for (; p && *p != close; i++) {
        if (i >= n)
            return NULL;
        const weft_ctype_t *e = weft_ctype_type(t, i);
        if (close == '>' && *p == '-')
            p = e ? NULL : p + 1;
        else
            p = e ? shape(e, p) : NULL;
    }
    return p && i == n ? p + 1 : NULL;
}

int p2_params_ok(const weft_ctype_t *ft, const char *p, char *err, size_t err_size)
{
    if (!p)
        return 1; /* a drop: the library passes the handle itself */
    int ok = ft && weft_ctype_kind(ft) == WEFT_CT_FUNC;
    for (size_t i = 0; ok && *p; i++)
        ok = i < weft_ctype_count(ft) && (p = shape(weft_ctype_type(ft, i), p)) != NULL;
    if (!ok)
        snprintf(err, err_size, "imported with parameters this WASI function does not take");
    return ok;
}

int p2_define(weft_wasip2_t *w, weft_clinker_t *l, const p2_def_t *defs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = weft_clinker_define_static(l, defs[i].instance, defs[i].name, defs[i].fn, w);
        if (rc)
            return rc;
    }
    return 0;
}

int weft_wasip2_define(weft_wasip2_t *w, weft_clinker_t *l)
{
    int rc = p2_define(w, l, funcs, sizeof funcs / sizeof funcs[0]);
    if (rc == 0)
        rc = p2_http_define(w, l);
    if (rc == 0)
        rc = p2_sockets_define(w, l);
    if (rc == 0)
        rc = p2_fs_define(w, l);
    return rc;
}

int weft_wasip2_net_rules_check(const char *const *rules, size_t n, int listen, char *msg,
                                size_t msg_size)
{
    struct p2_net_rule *r = NULL;
    size_t nr = 0;
    int rc = p2_net_rules_parse(rules, n, listen, &r, &nr, msg, msg_size);
    free(r);
    return rc ? WEFT_EARG : 0;
}
