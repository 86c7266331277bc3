/*
 * src/host/wasip2.c — WASI preview 2 (0.2.x), a subset, for components:
 * the host functions of weft/wasip2.h on the component linker.
 *
 * Each function receives lifted values (weft_cval_t) and returns one; the
 * canonical ABI (src/component) moves them to and from the guest, so this
 * file never touches guest memory. Values are built with the exact kinds
 * of the WIT types (a wrong kind is an argument error the library reports
 * as a trap), and every allocation a result holds is the library's to free.
 * Streams are the three standard descriptors, named by fixed handle
 * numbers; writes loop until done (EINTR retried).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <weft/wasip2.h>

#include "strv.h"

enum { H_STDOUT = 1, H_STDERR = 2, H_STDIN = 3, H_POLLABLE = 100 };

/* Pollables of the monotonic clock: handle H_POLLABLE + 1 + i is the
 * deadline deadlines[i % MAX_TIMERS] (a ring: a guest holds few at once);
 * H_POLLABLE itself (streams) is always ready. */
#define MAX_TIMERS 64

struct weft_wasip2 {
    char **argv, **env;
    size_t argc, nenv;
    int fds[4]; /* by handle: [1] stdout, [2] stderr, [3] stdin */
    unsigned used; /* weft_wasip2_stdio_used */
    uint64_t limit[3], written[3]; /* by handle: [1] stdout, [2] stderr (0: no limit) */
    uint64_t deadlines[MAX_TIMERS];
    uint32_t next_timer;
};

/* ---- building values --------------------------------------------------------- */

static weft_cval_t scalar(weft_ctype_kind_t k, uint64_t v)
{
    weft_cval_t x = {.kind = k};
    x.of.u = v;
    return x;
}

/* A case of a variant-like value with an optional payload (moved in). */
static int make_case(weft_cval_t *out, weft_ctype_kind_t k, uint32_t index,
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

static int make_string(weft_cval_t *out, const char *s, size_t n)
{
    memset(out, 0, sizeof *out);
    out->kind = WEFT_CT_STRING;
    if (!(out->str = malloc(n + 1)))
        return -1;
    memcpy(out->str, s, n);
    out->str[n] = '\0';
    out->len = n;
    return 0;
}

static int oom(char *err, size_t size)
{
    snprintf(err, size, "out of memory");
    return -1;
}

#define HOST(name)                                                                              \
    static int name(void *user, weft_caller_t *caller, const weft_ctype_t *type,               \
                    const weft_cval_t *args, size_t nargs, weft_cval_t *result, char *err,      \
                    size_t err_size)
#define UNUSED (void)user, (void)caller, (void)type, (void)args, (void)nargs, (void)result, \
               (void)err, (void)err_size

/* ---- wasi:cli ---------------------------------------------------------------- */

static int string_list(weft_cval_t *out, char **v, size_t n, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    out->kind = WEFT_CT_LIST;
    if (n && !(out->items = calloc(n, sizeof *out->items)))
        return oom(err, err_size);
    for (size_t i = 0; i < n; i++, out->n++)
        if (make_string(&out->items[i], v[i], strlen(v[i])) != 0)
            return oom(err, err_size);
    return 0;
}

HOST(get_arguments)
{
    weft_wasip2_t *w = user;
    UNUSED;
    return string_list(result, w->argv, w->argc, err, err_size);
}

HOST(get_environment)
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
        t->kind = WEFT_CT_TUPLE;
        if (!(t->items = calloc(2, sizeof *t->items)))
            return oom(err, err_size);
        t->n = 2;
        if (make_string(&t->items[0], kv, kl) != 0 ||
            make_string(&t->items[1], eq ? eq + 1 : "", eq ? strlen(eq + 1) : 0) != 0)
            return oom(err, err_size);
    }
    return 0;
}

HOST(initial_cwd)
{
    UNUSED;
    return make_case(result, WEFT_CT_OPTION, 0, NULL);
}

HOST(cli_exit)
{
    UNUSED;
    int status = args[0].index == 0 ? 0 : 1;
    if (!caller) {
        snprintf(err, err_size, "exit(%d) outside a guest call", status);
        return -1;
    }
    return weft_caller_exit(caller, status); /* err left empty: ends the call */
}

HOST(get_stdout) { UNUSED; *result = scalar(WEFT_CT_OWN, H_STDOUT); return 0; }
HOST(get_stderr) { UNUSED; *result = scalar(WEFT_CT_OWN, H_STDERR); return 0; }
HOST(get_stdin) { UNUSED; *result = scalar(WEFT_CT_OWN, H_STDIN); return 0; }
HOST(no_terminal) { UNUSED; return make_case(result, WEFT_CT_OPTION, 0, NULL); }

/* ---- wasi:io ------------------------------------------------------------------ */

static int stream_fd(weft_wasip2_t *w, const weft_cval_t *self, int want_output)
{
    uint64_t h = self->of.u;
    if (want_output ? (h != H_STDOUT && h != H_STDERR) : h != H_STDIN)
        return -2;
    w->used |= h == H_STDIN ? 1u : h == H_STDOUT ? 2u : 4u;
    return w->fds[h];
}

/* result<_, stream-error> ok, or err(closed) */
static int stream_ok(weft_cval_t *result, const weft_cval_t *payload)
{
    return make_case(result, WEFT_CT_RESULT, 0, payload);
}

static int stream_closed(weft_cval_t *result)
{
    weft_cval_t closed;
    make_case(&closed, WEFT_CT_VARIANT, 1, NULL); /* stream-error.closed */
    return make_case(result, WEFT_CT_RESULT, 1, &closed);
}

HOST(check_write)
{
    weft_wasip2_t *w = user;
    UNUSED;
    if (stream_fd(w, &args[0], 1) < 0)
        return stream_closed(result) ? oom(err, err_size) : 0;
    weft_cval_t n = scalar(WEFT_CT_U64, 1 << 20);
    return stream_ok(result, &n) ? oom(err, err_size) : 0;
}

HOST(write_stream)
{
    weft_wasip2_t *w = user;
    UNUSED;
    int fd = stream_fd(w, &args[0], 1);
    const char *p = args[1].str;
    size_t n = args[1].len;
    if (fd < 0)
        return stream_closed(result) ? oom(err, err_size) : 0;
    uint64_t h = args[0].of.u, lim = w->limit[h];
    if (lim && (w->written[h] > lim || n > lim - w->written[h])) {
        snprintf(err, err_size, "%s is over its limit of %llu bytes",
                 h == H_STDOUT ? "stdout" : "stderr", (unsigned long long)lim);
        return -1; /* the call traps: it cannot go on writing */
    }
    w->written[h] += n;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return stream_closed(result) ? oom(err, err_size) : 0;
        p += k;
        n -= (size_t)k;
    }
    return stream_ok(result, NULL) ? oom(err, err_size) : 0;
}

HOST(flush_stream)
{
    weft_wasip2_t *w = user;
    UNUSED;
    if (stream_fd(w, &args[0], 1) < 0)
        return stream_closed(result) ? oom(err, err_size) : 0;
    return stream_ok(result, NULL) ? oom(err, err_size) : 0;
}

HOST(read_stream)
{
    weft_wasip2_t *w = user;
    UNUSED;
    int fd = stream_fd(w, &args[0], 0);
    uint64_t want = args[1].of.u > (1 << 20) ? (1 << 20) : args[1].of.u;
    if (fd < 0)
        return stream_closed(result) ? oom(err, err_size) : 0;
    weft_cval_t bytes = {.kind = WEFT_CT_LIST};
    if (!(bytes.str = malloc(want + 1)))
        return oom(err, err_size);
    ssize_t k;
    do {
        k = read(fd, bytes.str, want);
    } while (k < 0 && errno == EINTR);
    if (k <= 0 && want) {
        free(bytes.str);
        return stream_closed(result) ? oom(err, err_size) : 0;
    }
    bytes.len = k > 0 ? (size_t)k : 0;
    if (stream_ok(result, &bytes)) {
        free(bytes.str);
        return oom(err, err_size);
    }
    return 0;
}

static uint64_t clock_ns(clockid_t id);

HOST(subscribe) { UNUSED; *result = scalar(WEFT_CT_OWN, H_POLLABLE); return 0; }

/* The deadline of pollable `h` (0: ready now). */
static uint64_t deadline_of(const weft_wasip2_t *w, uint64_t h)
{
    if (h <= H_POLLABLE || h > H_POLLABLE + (uint64_t)UINT32_MAX)
        return 0;
    return w->deadlines[(h - H_POLLABLE - 1) % MAX_TIMERS];
}

static int timer(weft_wasip2_t *w, uint64_t deadline, weft_cval_t *result)
{
    uint32_t i = w->next_timer++;
    w->deadlines[i % MAX_TIMERS] = deadline;
    *result = scalar(WEFT_CT_OWN, H_POLLABLE + 1 + (uint64_t)i);
    return 0;
}

HOST(subscribe_duration)
{
    UNUSED;
    return timer(user, clock_ns(CLOCK_MONOTONIC) + args[0].of.u, result);
}

HOST(subscribe_instant) { UNUSED; return timer(user, args[0].of.u, result); }

HOST(pollable_ready)
{
    UNUSED;
    *result = scalar(WEFT_CT_BOOL, clock_ns(CLOCK_MONOTONIC) >= deadline_of(user, args[0].of.u));
    return 0;
}

/* Sleeps until `deadline`, in slices of at most 10 ms so an interrupt
 * (weft_store_interrupt: a timeout) ends the wait. */
static int wait_until(weft_caller_t *caller, uint64_t deadline)
{
    for (;;) {
        uint64_t now = clock_ns(CLOCK_MONOTONIC);
        if (now >= deadline)
            return 0;
        if (caller) {
            int rc = weft_caller_check_interrupt(caller);
            if (rc)
                return rc;
        }
        uint64_t left = deadline - now, slice = left < 10000000u ? left : 10000000u;
        struct timespec ts = {0, (long)slice};
        nanosleep(&ts, NULL);
    }
}

HOST(pollable_block)
{
    UNUSED;
    return wait_until(caller, deadline_of(user, args[0].of.u)); /* nonzero: err empty, ends the call */
}

/* poll: waits for the first deadline among the pollables, then returns
 * the indices of every one that is ready */
HOST(poll)
{
    weft_wasip2_t *w = user;
    UNUSED;
    uint64_t first = UINT64_MAX;
    for (size_t i = 0; i < args[0].n; i++) {
        uint64_t d = deadline_of(w, args[0].items[i].of.u);
        if (d < first)
            first = d;
    }
    if (args[0].n) {
        int rc = wait_until(caller, first);
        if (rc)
            return rc;
    }
    memset(result, 0, sizeof *result);
    result->kind = WEFT_CT_LIST;
    if (args[0].n && !(result->items = calloc(args[0].n, sizeof *result->items)))
        return oom(err, err_size);
    uint64_t now = clock_ns(CLOCK_MONOTONIC);
    for (size_t i = 0; i < args[0].n; i++)
        if (deadline_of(w, args[0].items[i].of.u) <= now)
            result->items[result->n++] = scalar(WEFT_CT_U32, i);
    return 0;
}

HOST(error_debug_string)
{
    UNUSED;
    return make_string(result, "stream error", 12) ? oom(err, err_size) : 0;
}

/* ---- wasi:clocks --------------------------------------------------------------- */

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

HOST(mono_now) { UNUSED; *result = scalar(WEFT_CT_U64, clock_ns(CLOCK_MONOTONIC)); return 0; }
HOST(mono_resolution) { UNUSED; *result = scalar(WEFT_CT_U64, 1); return 0; }

static int datetime(weft_cval_t *out, uint64_t ns, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    out->kind = WEFT_CT_RECORD;
    if (!(out->items = calloc(2, sizeof *out->items)))
        return oom(err, err_size);
    out->n = 2;
    out->items[0] = scalar(WEFT_CT_U64, ns / 1000000000u);
    out->items[1] = scalar(WEFT_CT_U32, ns % 1000000000u);
    return 0;
}

HOST(wall_now) { UNUSED; return datetime(result, clock_ns(CLOCK_REALTIME), err, err_size); }
HOST(wall_resolution) { UNUSED; return datetime(result, 1, err, err_size); }

/* ---- wasi:random ------------------------------------------------------------------ */

HOST(random_bytes)
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

HOST(random_u64)
{
    uint64_t v;
    UNUSED;
    randombytes_buf(&v, sizeof v);
    *result = scalar(WEFT_CT_U64, v);
    return 0;
}

HOST(insecure_seed)
{
    uint64_t v[2];
    UNUSED;
    randombytes_buf(v, sizeof v);
    memset(result, 0, sizeof *result);
    result->kind = WEFT_CT_TUPLE;
    if (!(result->items = calloc(2, sizeof *result->items)))
        return oom(err, err_size);
    result->n = 2;
    result->items[0] = scalar(WEFT_CT_U64, v[0]);
    result->items[1] = scalar(WEFT_CT_U64, v[1]);
    return 0;
}

/* ---- wasi:filesystem ---------------------------------------------------------------- */

HOST(no_preopens)
{
    UNUSED;
    memset(result, 0, sizeof *result);
    result->kind = WEFT_CT_LIST;
    return 0;
}

HOST(no_error_code) { UNUSED; return make_case(result, WEFT_CT_OPTION, 0, NULL); }

/* ---- the table ---------------------------------------------------------------------- */

static const struct {
    const char *instance, *name;
    weft_chost_fn_t fn;
} funcs[] = {
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
    {"wasi:io/streams@0.2", "[method]output-stream.check-write", check_write},
    {"wasi:io/streams@0.2", "[method]output-stream.write", write_stream},
    {"wasi:io/streams@0.2", "[method]output-stream.blocking-write-and-flush", write_stream},
    {"wasi:io/streams@0.2", "[method]output-stream.flush", flush_stream},
    {"wasi:io/streams@0.2", "[method]output-stream.blocking-flush", flush_stream},
    {"wasi:io/streams@0.2", "[method]output-stream.subscribe", subscribe},
    {"wasi:io/streams@0.2", "[method]input-stream.read", read_stream},
    {"wasi:io/streams@0.2", "[method]input-stream.blocking-read", read_stream},
    {"wasi:io/streams@0.2", "[method]input-stream.subscribe", subscribe},
    {"wasi:io/poll@0.2", "[method]pollable.ready", pollable_ready},
    {"wasi:io/poll@0.2", "[method]pollable.block", pollable_block},
    {"wasi:io/poll@0.2", "poll", poll},
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
    {"wasi:filesystem/preopens@0.2", "get-directories", no_preopens},
    {"wasi:filesystem/types@0.2", "filesystem-error-code", no_error_code},
};

weft_wasip2_t *weft_wasip2_new(const weft_wasip2_config_t *cfg)
{
    weft_wasip2_t *w = calloc(1, sizeof *w);
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
    return w;
fail:
    weft_wasip2_delete(w);
    return NULL;
}

void weft_wasip2_delete(weft_wasip2_t *w)
{
    if (!w)
        return;
    strv_free(w->argv, w->argc);
    strv_free(w->env, w->nenv);
    free(w);
}

unsigned weft_wasip2_stdio_used(const weft_wasip2_t *w) { return w->used; }

int weft_wasip2_define(weft_wasip2_t *w, weft_clinker_t *l)
{
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
        int rc = weft_clinker_define_static(l, funcs[i].instance, funcs[i].name, funcs[i].fn, w);
        if (rc)
            return rc;
    }
    return 0;
}
