/*
 * wasi.c — WASI preview 1 (`wasi_snapshot_preview1`): the context, the
 * functions that need no descriptor (args, environ, clocks, random,
 * proc_exit, proc_raise, sched_yield, sock_*) and weft_wasi_define, which
 * binds every function of every wasi_*.c table into a linker.
 *
 * A context copies its configuration: the guest sees only the arguments,
 * environment variables, standard streams and preopened directories the
 * embedder passed, never the host's own. It holds no reference to a store,
 * so one context may serve several stores in turn (not at once).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wasi_priv.h"

/* ---- helpers shared with the other files ------------------------------- */

int wasi_errno(int host_errno)
{
    static const struct {
        int host;
        int wasi;
    } map[] = {
#define XX(name, value, host) {host, value},
        WASI_ERRNO_MAP(XX)
#undef XX
    };
    if (host_errno == 0) return WASI_ESUCCESS;
#if EWOULDBLOCK != EAGAIN
    if (host_errno == EWOULDBLOCK) return WASI_EAGAIN;
#endif
#if EOPNOTSUPP != ENOTSUP
    if (host_errno == EOPNOTSUPP) return WASI_ENOTSUP;
#endif
    /* O(77): errors are rare, and a linear scan keeps the table the list. */
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].host == host_errno) return map[i].wasi;
    return WASI_EIO;
}

weft_memory_t *wasi_memory(weft_caller_t *caller)
{
    weft_memory_t *mem = weft_caller_memory(caller, "memory");
    return mem ? mem : weft_caller_memory(caller, NULL);
}

int wasi_clock_host(uint32_t id)
{
    switch (id) {
    case 0: return CLOCK_REALTIME;
    case 1: return CLOCK_MONOTONIC;
    case 2: return CLOCK_PROCESS_CPUTIME_ID;
    case 3: return CLOCK_THREAD_CPUTIME_ID;
    default: return -1;
    }
}

uint64_t wasi_clock_now(int host_clock)
{
    struct timespec ts;
    if (clock_gettime(host_clock, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- context ----------------------------------------------------------- */

weft_wasi_config_t weft_wasi_config_default(void)
{
    weft_wasi_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.stdin_fd = 0;
    cfg.stdout_fd = 1;
    cfg.stderr_fd = 2;
    return cfg;
}

static void set_msg(char *out_msg, size_t msg_size, const char *fmt, ...)
{
    if (!out_msg || msg_size == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out_msg, msg_size, fmt, ap);
    va_end(ap);
}

/* Copies n strings into a NULL-terminated array; adds their sizes
 * (with NUL) to *bytes. Returns NULL when out of memory. */
static char **copy_strings(const char *const *src, size_t n, size_t *bytes)
{
    char **dst = calloc(n + 1, sizeof *dst);
    if (!dst) return NULL;
    *bytes = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = src[i] ? src[i] : "";
        dst[i] = strdup(s);
        if (!dst[i]) {
            for (size_t j = 0; j < i; j++) free(dst[j]);
            free(dst);
            return NULL;
        }
        *bytes += strlen(s) + 1;
    }
    return dst;
}

static void free_strings(char **v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

int weft_wasi_new(const weft_wasi_config_t *cfg, weft_wasi_t **out, char *out_msg, size_t msg_size)
{
    int rc = WEFT_ENOMEM;
    weft_wasi_t *w = NULL;
    set_msg(out_msg, msg_size, "%s", "");
    if (!cfg || !out || (cfg->argc && !cfg->argv) || (cfg->nenv && !cfg->env) ||
        (cfg->npreopens && !cfg->preopens)) {
        set_msg(out_msg, msg_size, "invalid WASI configuration");
        return WEFT_EARG;
    }
    *out = NULL;
    if (sodium_init() < 0) {
        set_msg(out_msg, msg_size, "libsodium cannot be initialised");
        return WEFT_EIO;
    }
    if (cfg->npreopens > WASI_MAX_FDS - 3) {
        set_msg(out_msg, msg_size, "too many preopened directories");
        return WEFT_EARG;
    }
    w = calloc(1, sizeof *w);
    if (!w) goto fail;
    w->argc = cfg->argc;
    w->nenv = cfg->nenv;
    w->argv = copy_strings(cfg->argv, cfg->argc, &w->argv_bytes);
    if (!w->argv) goto fail;
    w->env = copy_strings(cfg->env, cfg->nenv, &w->env_bytes);
    if (!w->env) goto fail;
    /* Test hook: resolve paths by the fallback walk even where openat2
     * exists, so the walk is tested on every kernel. */
    w->no_openat2 = getenv("WEFT_WASI_FORCE_WALK") != NULL;

    w->nfds = (uint32_t)(3 + cfg->npreopens);
    w->fds = calloc(w->nfds, sizeof *w->fds);
    if (!w->fds) goto fail;
    for (uint32_t i = 0; i < w->nfds; i++) w->fds[i].host = -1;

    const int stdio[3] = {cfg->stdin_fd, cfg->stdout_fd, cfg->stderr_fd};
    memcpy(w->stdio_host, stdio, sizeof stdio);
    const uint64_t budget[3] = {0, cfg->stdout_limit, cfg->stderr_limit};
    w->stdio_memory = cfg->stdio_memory != 0;
    for (int i = 0; i < 3 && w->stdio_memory; i++) {
        wasi_mem_t *m = &w->mem[i];
        wasi_fd_t *e = &w->fds[i];
        if (i == 0) {
            m->ro = cfg->stdin_len ? cfg->stdin_data : NULL;
            m->len = m->ro ? cfg->stdin_len : 0;
            m->read_only = 1;
        }
        m->max = m->read_only ? m->len : budget[i] ? (size_t)budget[i] : WASI_MEM_MAX;
        e->host = WASI_HOST_MEMORY;
        e->mem = m;
        e->type = WASI_FILETYPE_REGULAR_FILE;
        e->rights = WASI_RIGHTS_FILE;
        e->budget = budget[i];
    }
    for (int i = 0; i < 3 && !w->stdio_memory; i++) {
        struct stat st = {.st_mode = S_IFREG};
        if (stdio[i] < 0 || (!cfg->stdio_regular && fstat(stdio[i], &st) != 0))
            continue; /* closed for the guest */
        wasi_fd_t *e = &w->fds[i];
        e->host = stdio[i];
        e->owned = 0;
        e->type = wasi_filetype(&st);
        /* a pipe keeps seek rights: seeking it is the kernel's ESPIPE */
        e->rights = wasi_rights_of(e->type);
        /* a terminal is a character device: no ioctl for the node's memory files */
        if (S_ISCHR(st.st_mode) && isatty(stdio[i])) e->rights &= WASI_RIGHTS_TTY;
        e->inheriting = 0;
        e->budget = budget[i];
    }

    for (size_t i = 0; i < cfg->npreopens; i++) {
        const weft_wasi_preopen_t *p = &cfg->preopens[i];
        const char *guest = p->guest_path ? p->guest_path : p->host_path;
        if (!p->host_path || !guest) {
            set_msg(out_msg, msg_size, "preopen %zu has no host path", i);
            rc = WEFT_EARG;
            goto fail;
        }
        wasi_fd_t *e = &w->fds[3 + i];
        e->host = open(p->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (e->host < 0) {
            set_msg(out_msg, msg_size, "cannot open preopened directory %s: %s", p->host_path,
                    strerror(errno));
            rc = WEFT_EIO;
            goto fail;
        }
        e->owned = 1;
        e->type = WASI_FILETYPE_DIRECTORY;
        /* what other runtimes give a preopen: directory rights, and both
         * kinds to hand on (docs/wasi.md, "Rights") */
        e->rights = WASI_RIGHTS_DIR;
        e->inheriting = WASI_RIGHTS_DIR | WASI_RIGHTS_FILE;
        e->preopen = strdup(guest);
        if (!e->preopen) goto fail;
        if (i == 0) wasi_path_probe(&w->no_openat2, e->host);
    }
    *out = w;
    return 0;

fail:
    if (rc == WEFT_ENOMEM) set_msg(out_msg, msg_size, "out of memory");
    weft_wasi_delete(w);
    return rc;
}

const uint8_t *weft_wasi_stdio_data(const weft_wasi_t *w, int i, size_t *len)
{
    *len = 0;
    if (!w->stdio_memory || i < 1 || i > 2 || !w->mem[i].len) return NULL;
    *len = w->mem[i].len;
    return w->mem[i].p;
}

uint8_t *weft_wasi_stdio_take(weft_wasi_t *w, int i, size_t *len)
{
    *len = 0;
    if (!w->stdio_memory || i < 1 || i > 2 || !w->mem[i].len) return NULL;
    wasi_mem_t *m = &w->mem[i];
    uint8_t *p = m->p; /* with a byte of room past len (wasi_mem.c, reserve) */
    *len = m->len;
    m->p = NULL;
    m->len = m->cap = 0;
    m->pos = 0;
    return p;
}

unsigned weft_wasi_stdio_used(const weft_wasi_t *w) { return w->stdio_used; }
unsigned weft_wasi_stdio_flagged(const weft_wasi_t *w) { return w->stdio_flagged; }

void weft_wasi_delete(weft_wasi_t *w)
{
    if (!w) return;
    for (uint32_t i = 0; w->fds && i < w->nfds; i++) wasi_fd_release(&w->fds[i]);
    free(w->fds);
    for (int i = 0; i < 3; i++) free(w->mem[i].p);
    free_strings(w->argv, w->argc);
    free_strings(w->env, w->nenv);
    free(w);
}

/* ---- args and environ -------------------------------------------------- */

/* Writes the pointer array at `vec` and the strings at `buf` (both checked
 * and charged before anything is written). An errno, or a trap (< 0). */
static int put_strings(weft_caller_t *caller, char **v, size_t n, size_t bytes, uint32_t vec,
                       uint32_t buf)
{
    weft_memory_t *mem = wasi_memory(caller);
    if (!mem) return WASI_EFAULT;
    uint8_t *pv = weft_memory_ptr(mem, vec, n * 4);
    uint8_t *pb = weft_memory_ptr(mem, buf, bytes);
    if (!pv || !pb) return WASI_EFAULT;
    int rc = wasi_charge(caller, WASI_FUEL_CALL + WASI_FUEL(n * 4) + WASI_FUEL(bytes));
    if (rc) return rc;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]) + 1;
        wasi_put_u32(pv + 4 * i, (uint32_t)(buf + off));
        memcpy(pb + off, v[i], len);
        off += len;
    }
    return WASI_ESUCCESS;
}

static int put_sizes(weft_memory_t *mem, size_t n, size_t bytes, uint32_t pn, uint32_t pbytes)
{
    if (!mem || !weft_memory_ptr(mem, pn, 4) || !weft_memory_ptr(mem, pbytes, 4))
        return WASI_EFAULT;
    wasi_store_u32(mem, pn, (uint32_t)n);
    wasi_store_u32(mem, pbytes, (uint32_t)bytes);
    return WASI_ESUCCESS;
}

static int fn_args_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_wasi_t *w = user;
    RETURN_ERRNO_OR_TRAP(put_strings(caller, w->argv, w->argc, w->argv_bytes, ARG32(0), ARG32(1)));
}

static int fn_args_sizes_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_wasi_t *w = user;
    RETURN_ERRNO(put_sizes(wasi_memory(caller), w->argc, w->argv_bytes, ARG32(0), ARG32(1)));
}

static int fn_environ_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_wasi_t *w = user;
    RETURN_ERRNO_OR_TRAP(put_strings(caller, w->env, w->nenv, w->env_bytes, ARG32(0), ARG32(1)));
}

static int fn_environ_sizes_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_wasi_t *w = user;
    RETURN_ERRNO(put_sizes(wasi_memory(caller), w->nenv, w->env_bytes, ARG32(0), ARG32(1)));
}

/* ---- clocks, random, process ------------------------------------------- */

static int fn_clock_res_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    int clk = wasi_clock_host(ARG32(0));
    struct timespec ts;
    if (clk < 0) RETURN_ERRNO(WASI_EINVAL);
    if (clock_getres(clk, &ts) != 0) RETURN_ERRNO(wasi_errno(errno));
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    RETURN_ERRNO(wasi_store_u64(wasi_memory(caller), ARG32(1), ns));
}

/* The precision argument is a hint; the host clock is always read at its
 * best resolution. */
static int fn_clock_time_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    int clk = wasi_clock_host(ARG32(0));
    struct timespec ts;
    if (clk < 0) RETURN_ERRNO(WASI_EINVAL);
    if (clock_gettime(clk, &ts) != 0) RETURN_ERRNO(wasi_errno(errno));
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    RETURN_ERRNO(wasi_store_u64(wasi_memory(caller), ARG32(2), ns));
}

static int fn_random_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_memory_t *mem = wasi_memory(caller);
    uint8_t *p = mem ? weft_memory_ptr(mem, ARG32(0), ARG32(1)) : NULL;
    if (!p) RETURN_ERRNO(WASI_EFAULT);
    int rc = wasi_charge(caller, WASI_FUEL_CALL + WASI_FUEL(ARG32(1)));
    if (rc) return rc;
    randombytes_buf(p, ARG32(1));
    RETURN_ERRNO(WASI_ESUCCESS);
}

static int fn_proc_exit(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return weft_caller_exit(caller, (int)ARG32(0));
}

/* Signals are not part of the sandbox: raising one is refused. */
static int fn_proc_raise(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    RETURN_ERRNO(WASI_ENOSYS);
}

static int fn_sched_yield(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    sched_yield();
    RETURN_ERRNO(WASI_ESUCCESS);
}

/* Sockets: preview 1 can only use sockets given at start, and weft
 * preopens none; a guest meets one only as a standard stream the embedder
 * connected to a socket, whose bytes fd_read and fd_write move. So every
 * sock_* call answers as POSIX would for what the descriptor is: BADF when
 * it is closed, NOTSOCK when it is not a socket, and NOTSUP on a socket
 * (weft does not implement the socket calls themselves). */
static int fn_sock_notsup(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    wasi_fd_t *e;
    int rc = wasi_fd_get(user, ARG32(0), 0, &e);
    if (rc) RETURN_ERRNO(rc);
    if (e->type != WASI_FILETYPE_SOCKET_STREAM && e->type != WASI_FILETYPE_SOCKET_DGRAM)
        RETURN_ERRNO(WASI_ENOTSOCK);
    RETURN_ERRNO(WASI_ENOTSUP);
}

static const wasi_func_t base_funcs[] = {
    {"args_get", "ii", 1, fn_args_get},
    {"args_sizes_get", "ii", 1, fn_args_sizes_get},
    {"environ_get", "ii", 1, fn_environ_get},
    {"environ_sizes_get", "ii", 1, fn_environ_sizes_get},
    {"clock_res_get", "ii", 1, fn_clock_res_get},
    {"clock_time_get", "iIi", 1, fn_clock_time_get},
    {"random_get", "ii", 1, fn_random_get},
    {"proc_exit", "i", 0, fn_proc_exit},
    {"proc_raise", "i", 1, fn_proc_raise},
    {"sched_yield", "", 1, fn_sched_yield},
    {"sock_accept", "iii", 1, fn_sock_notsup},
    {"sock_recv", "iiiiii", 1, fn_sock_notsup},
    {"sock_send", "iiiii", 1, fn_sock_notsup},
    {"sock_shutdown", "ii", 1, fn_sock_notsup},
};

/* ---- binding ----------------------------------------------------------- */

static int define_one(weft_wasi_t *w, weft_linker_t *linker, const wasi_func_t *f)
{
    weft_valtype_t params[16];
    size_t np = strlen(f->params);
    weft_valtype_t result = WEFT_I32;
    for (size_t j = 0; j < np; j++) params[j] = f->params[j] == 'I' ? WEFT_I64 : WEFT_I32;
    weft_functype_t *ft = weft_functype_new(params, np, &result, f->has_result ? 1 : 0);
    if (!ft) return WEFT_ENOMEM;
    int rc = weft_linker_define_func_raw(linker, "wasi_snapshot_preview1", f->name, ft, f->fn, w);
    weft_functype_delete(ft);
    return rc;
}

static int define_table(weft_wasi_t *w, weft_linker_t *linker, const wasi_func_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = define_one(w, linker, &t[i]);
        if (rc) return rc;
    }
    return 0;
}

int weft_wasi_define(weft_wasi_t *w, weft_linker_t *linker)
{
    int rc;
    if (!w || !linker) return WEFT_EARG;
    if ((rc = define_table(w, linker, base_funcs, sizeof base_funcs / sizeof base_funcs[0])))
        return rc;
    if ((rc = define_table(w, linker, wasi_fd_funcs, wasi_fd_nfuncs))) return rc;
    if ((rc = define_table(w, linker, wasi_path_funcs, wasi_path_nfuncs))) return rc;
    return define_table(w, linker, wasi_poll_funcs, wasi_poll_nfuncs);
}

static const wasi_func_t *func_at(size_t i);

int weft_wasi_define_imports(weft_wasi_t *w, weft_linker_t *linker, const weft_module_t *module)
{
    if (!w || !linker || !module) return WEFT_EARG;
    for (size_t i = 0, n = weft_module_import_count(module); i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_import(module, i, &d) != 0 || d.kind != WEFT_EXTERN_FUNC ||
            d.module_len != 22 || memcmp(d.module, "wasi_snapshot_preview1", 22) != 0)
            continue;
        const wasi_func_t *f;
        for (size_t k = 0; (f = func_at(k)); k++) {
            if (strlen(f->name) != d.name_len || memcmp(f->name, d.name, d.name_len) != 0) continue;
            int rc = define_one(w, linker, f);
            if (rc) return rc;
            break;
        }
    }
    return 0;
}

/* ---- the list of functions (weft_wasi_func) ------------------------------ */

/* The i-th function over the four tables, in definition order, or NULL. */
static const wasi_func_t *func_at(size_t i)
{
    const size_t nbase = sizeof base_funcs / sizeof base_funcs[0];
    if (i < nbase) return &base_funcs[i];
    i -= nbase;
    if (i < wasi_fd_nfuncs) return &wasi_fd_funcs[i];
    i -= wasi_fd_nfuncs;
    if (i < wasi_path_nfuncs) return &wasi_path_funcs[i];
    i -= wasi_path_nfuncs;
    return i < wasi_poll_nfuncs ? &wasi_poll_funcs[i] : NULL;
}

size_t weft_wasi_func_count(void)
{
    return sizeof base_funcs / sizeof base_funcs[0] + wasi_fd_nfuncs + wasi_path_nfuncs +
           wasi_poll_nfuncs;
}

int weft_wasi_func(size_t i, const char **out_name, weft_functype_t **out_type)
{
    const wasi_func_t *f = func_at(i);
    if (!f) return WEFT_ENOTFOUND;
    weft_valtype_t params[16];
    size_t np = strlen(f->params);
    weft_valtype_t result = WEFT_I32;
    for (size_t j = 0; j < np; j++) params[j] = f->params[j] == 'I' ? WEFT_I64 : WEFT_I32;
    weft_functype_t *ft = weft_functype_new(params, np, &result, f->has_result ? 1 : 0);
    if (!ft) return WEFT_ENOMEM;
    *out_name = f->name;
    *out_type = ft;
    return 0;
}
