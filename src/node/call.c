/*
 * call.c — running one call: a fresh instance of the context's app, in the
 * transaction the caller gives (a nested write transaction of the writer's
 * batch, or a read transaction for a view). What differs between guest
 * ABIs is in the app's adapter (abi.h): its host functions, how the
 * function is invoked, and what becomes the output, logs and events.
 *
 * Every ABI's guest gets WASI: the input is its stdin and its stdout is
 * the output, and what it writes to stderr becomes log lines after the
 * ABI's own log lines. A module's streams are the WASI context's memory
 * (weft_wasi_config_t.stdio_memory): no system call moves them. A
 * component's (WASI preview 2, its adapter's) are memory files (memfd), so
 * nothing touches the node's own descriptors: each node thread makes its
 * three once and empties them after every call (size 0, offset 0, no
 * status flags), as making and closing them cost a third of a trivial
 * call; the linker gets
 * only the host functions the module imports, for the same reason
 * (bench/RESULTS.md, "Calls"). A reactor's `_initialize` runs before the
 * function. Fuel is always on (the request's limit, else practically
 * unlimited) so the fuel a call used is known; the watchdog interrupts the
 * store at the deadline.
 *
 * The outcome decides the transaction: a return or exit(0) commits, a
 * non-zero exit, a trap or a host error aborts. A store error that only
 * means "the map grew" asks the caller to run the call again.
 *
 * Kept instances: for an ABI whose adapter allows it (node_abi_t.keep),
 * a thread keeps the store, linker and instance of a finished call and
 * gives them to its next call of the same module under the same limits,
 * reset (weft_instance_reset: memories zero then the data segments,
 * tables, globals, the start function) and with the imported host
 * functions bound to the new call's WASI context and ABI binding
 * (weft_instance_rebind_host): every call still starts from a fresh
 * instance's state, but without making a store, a linker, its host
 * functions and an instance (docs/faasm.md "Where a round trip's time
 * goes"). A component's adapter keeps its own instance object beside the
 * store (node_abi_t.drop_kept): it resets the whole store
 * (weft_cinstance_reset) and binds the instance to the call's host state
 * itself; the pool is the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abi.h"
#include "node_priv.h"
#include "weft/error.h"
#include "weft/extern.h"
#include "weft/instance.h"
#include "weft/wasi.h"

#define PAGE_SIZE 65536u
#define MAX_LOG_LINES 4096u    /* stderr lines kept per call */
#define MAX_STDERR ((size_t)1 << 20) /* stderr bytes read per call */
#define UNLIMITED_FUEL (UINT64_MAX / 4)

/* ---- the standard streams of a thread's calls ----------------------------- */

/* stdin, stdout and stderr of the calls the thread runs: memory files,
 * empty and at offset 0 between calls; -1 until made. Closed when the
 * thread ends (the key's destructor). */
typedef struct {
    int fd[3];
} thread_files_t;

static pthread_key_t files_key;
static int files_key_ok;
static pthread_once_t files_once = PTHREAD_ONCE_INIT;

static void files_free(void *p)
{
    thread_files_t *f = p;
    for (int i = 0; i < 3; i++)
        if (f->fd[i] >= 0)
            close(f->fd[i]);
    free(f);
}

static pthread_key_t spare_key; /* node_call_streams_save's spare files */

static void files_key_make(void)
{
    files_key_ok = pthread_key_create(&files_key, files_free) == 0 &&
                   pthread_key_create(&spare_key, files_free) == 0;
}

/* The calling thread's files, made when missing, or NULL (errno set). */
static thread_files_t *thread_files(void)
{
    static const char *const names[3] = {"weft-stdin", "weft-stdout", "weft-stderr"};
    pthread_once(&files_once, files_key_make);
    if (!files_key_ok) {
        errno = EAGAIN;
        return NULL;
    }
    thread_files_t *f = pthread_getspecific(files_key);
    if (!f) {
        if (!(f = malloc(sizeof *f)))
            return NULL;
        f->fd[0] = f->fd[1] = f->fd[2] = -1;
        if (pthread_setspecific(files_key, f) != 0) {
            free(f);
            errno = ENOMEM;
            return NULL;
        }
    }
    for (int i = 0; i < 3; i++)
        if (f->fd[i] < 0 && (f->fd[i] = memfd_create(names[i], MFD_CLOEXEC)) < 0)
            return NULL;
    return f;
}

/* A call run inside another on the same thread (a Faasm chained call
 * taken back by its awaiting parent, node_chain_run) must not share the
 * parent's streams: it gets the thread's files to itself, made anew, and
 * the parent's come back after it. */
void *node_call_streams_save(void)
{
    pthread_once(&files_once, files_key_make);
    if (!files_key_ok)
        return NULL;
    void *saved = pthread_getspecific(files_key);
    /* The files of the last nested call, kept (empty) for the next one:
     * a parent awaiting many children makes them once. */
    void *spare = pthread_getspecific(spare_key);
    pthread_setspecific(spare_key, NULL);
    pthread_setspecific(files_key, spare);
    return saved;
}

void node_call_streams_restore(void *saved)
{
    if (!files_key_ok)
        return;
    thread_files_t *nested = pthread_getspecific(files_key);
    if (nested && !pthread_getspecific(spare_key) && pthread_setspecific(spare_key, nested) == 0)
        nested = NULL;
    if (nested)
        files_free(nested); /* a spare is kept already (nested deeper) */
    pthread_setspecific(files_key, saved);
}

/* Empties the files after a call: nothing of it reaches the next (its
 * bytes, offsets, or flags the guest set with fd_fdstat_set_flags), and a
 * large output is not kept until then. Only the streams the guest used
 * (bit i of `used`, weft_wasi_stdio_used) can have changed, and stdin's
 * size when the node wrote an input: a call that used none costs no system
 * call here (the nine of a full reset were a quarter of a trivial call).
 * Flags are reset only on the streams of `flagged`
 * (weft_wasi_stdio_flagged). A file that cannot be emptied is closed, to
 * be made anew. */
static void thread_files_reset(thread_files_t *f, unsigned used, unsigned flagged,
                               int input_written)
{
    for (int i = 0; i < 3; i++) {
        if (f->fd[i] < 0)
            continue;
        if (!(used & (1u << i))) {
            if (i == 0 && input_written && ftruncate(f->fd[0], 0) != 0) {
                close(f->fd[0]);
                f->fd[0] = -1;
            }
            continue;
        }
        if (ftruncate(f->fd[i], 0) != 0 || lseek(f->fd[i], 0, SEEK_SET) != 0 ||
            ((flagged & (1u << i)) && fcntl(f->fd[i], F_SETFL, 0) != 0)) {
            close(f->fd[i]);
            f->fd[i] = -1;
        }
    }
}

/* Writes the input to the (empty) stdin file; 0 or -1. */
static int write_input(int fd, const uint8_t *p, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = pwrite(fd, p + off, len - off, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

/* Reads the first bytes of a memory file, up to max, into a new buffer
 * (with room for a NUL after them), setting *over when the file holds
 * more. One pread answers a file of less than READ_FIRST bytes (a short
 * read from offset 0 of a regular file ends at its end), so most calls
 * pay no fstat for their output. Returns 0 or -1. */
#define READ_FIRST 4096u

static int read_head(int fd, size_t max, uint8_t **out, size_t *out_len, int *over)
{
    uint8_t first[READ_FIRST];
    *out = NULL;
    *out_len = 0;
    *over = 0;
    size_t want = max < READ_FIRST ? max + 1 : READ_FIRST; /* one past max tells over */
    ssize_t r;
    do
        r = pread(fd, first, want, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -1;
    size_t n = (size_t)r, total = n;
    if (n == want && max < READ_FIRST) { /* max + 1 bytes came */
        *over = 1;
        total = max;
    } else if (n == want) { /* maybe more */
        struct stat st;
        if (fstat(fd, &st) != 0)
            return -1;
        *over = (uint64_t)st.st_size > max;
        total = *over ? max : (size_t)st.st_size;
    }
    uint8_t *buf = malloc(total + 1);
    if (!buf)
        return -1;
    size_t off = n < total ? n : total;
    memcpy(buf, first, off);
    while (off < total) {
        r = pread(fd, buf + off, total - off, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    *out = buf;
    *out_len = off;
    return 0;
}

/* Reads up to max bytes of fd from offset 0 into a new buffer. Returns 0,
 * or 1 when the file holds more than max (nothing kept), or -1. */
static int read_all(int fd, size_t max, uint8_t **out, size_t *out_len)
{
    int over;
    if (read_head(fd, max, out, out_len, &over) != 0)
        return -1;
    if (!over)
        return 0;
    free(*out);
    *out = NULL;
    *out_len = 0;
    return 1;
}

/* A call id: splitmix64 over a per-thread state seeded from the system's
 * random source once, instead of a getrandom syscall per call. Ids only
 * tell calls apart (log lines carry them); they are not secrets. */
static uint64_t call_id(void)
{
    static __thread uint64_t state;
    static __thread int seeded;
    if (!seeded) {
        state = node_random_u64();
        seeded = 1;
    }
    uint64_t z = (state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static const char *store_errmsg(weft_store_t *store, int rc)
{
    const char *msg = weft_store_errmsg(store);
    return msg && *msg ? msg : weft_strerror(rc);
}

static const weft_functype_t *export_type(const weft_module_t *m, const char *name)
{
    weft_externdesc_t d;
    if (weft_module_export_find(m, name, strlen(name), &d) == 0 && d.kind == WEFT_EXTERN_FUNC)
        return d.functype;
    return NULL;
}

/* ---- kept instances (a thread's own) ------------------------------------- */

#define KEPT_MAX 4 /* per thread: a parent and the nested children it runs */

typedef struct {
    weft_store_t *store; /* NULL: a free slot */
    weft_linker_t *linker;
    weft_instance_t *inst;
    void *obj;        /* a drop_kept adapter's instance (then inst is NULL) */
    const void *code; /* the module or component: the instance holds it, never reused */
    const node_abi_t *abi;
    uint32_t max_memory_pages, max_table_elems; /* the call's limits it was made under */
    size_t max_stack_bytes;                     /* (before an adapter's bind changed them) */
    size_t host_imports; /* its imported functions: all must be unbound to keep it */
    int busy; /* a call of this thread runs in it (a nested call takes another) */
    uint64_t used; /* when it was last given back, for the eviction */
} kept_t;

typedef struct {
    kept_t k[KEPT_MAX];
} kept_pool_t;

/* What a kept instance's host functions point to between calls, so no
 * pointer to a freed WASI context or binding stays in it (and a new one
 * that malloc places at an old one's address cannot be confused with it). */
static const char wasi_between_calls, abi_between_calls;

static pthread_key_t kept_key;
static int kept_key_ok;
static pthread_once_t kept_once = PTHREAD_ONCE_INIT;

static void kept_drop(kept_t *k)
{
    if (k->obj)
        k->abi->drop_kept(k->obj); /* before its store */
    weft_linker_delete(k->linker);
    weft_store_delete(k->store);
    memset(k, 0, sizeof *k);
}

static void kept_free(void *p)
{
    kept_pool_t *pool = p;
    for (unsigned i = 0; i < KEPT_MAX; i++)
        if (pool->k[i].store)
            kept_drop(&pool->k[i]);
    free(pool);
}

static void kept_key_make(void)
{
    kept_key_ok = pthread_key_create(&kept_key, kept_free) == 0;
}

static kept_pool_t *kept_pool(void)
{
    pthread_once(&kept_once, kept_key_make);
    if (!kept_key_ok)
        return NULL;
    kept_pool_t *pool = pthread_getspecific(kept_key);
    if (!pool && (pool = calloc(1, sizeof *pool)) && pthread_setspecific(kept_key, pool) != 0) {
        free(pool);
        pool = NULL;
    }
    return pool;
}

/* The thread's idle kept instance of `module` made under limits `l`,
 * marked busy, or NULL. */
/* A memory larger than this is not kept: its pages go back to the system
 * with the store (mempool.c pools no region over 64 MiB either). */
#define KEPT_MEMORY_MAX (64u << 20)

/* Whether a finished call's instance may be kept: resettable, and its
 * memory not over KEPT_MEMORY_MAX (an adapter's own: it checked it can
 * reset it; the memories of its whole store). */
static int keepable(weft_store_t *store, weft_instance_t *inst)
{
    weft_extern_t mem;
    if (!inst)
        return weft_store_memory_bytes(store) <= KEPT_MEMORY_MAX;
    return weft_instance_can_reset(inst) == 0 &&
           !(weft_instance_export(inst, "memory", &mem) == 0 && mem.kind == WEFT_EXTERN_MEMORY &&
             weft_memory_size(mem.of.memory) > KEPT_MEMORY_MAX);
}

static kept_t *kept_take(const void *code, const node_abi_t *abi,
                         const weft_limits_config_t *l)
{
    /* through pthread_once, as kept_pool: another thread may be making the
     * key right now (ThreadSanitizer saw the unsynchronised read) */
    pthread_once(&kept_once, kept_key_make);
    kept_pool_t *pool = kept_key_ok ? pthread_getspecific(kept_key) : NULL;
    for (unsigned i = 0; pool && i < KEPT_MAX; i++) {
        kept_t *k = &pool->k[i];
        if (k->store && !k->busy && k->code == code && k->abi == abi &&
            k->max_memory_pages == l->max_memory_pages && k->max_table_elems == l->max_table_elems &&
            k->max_stack_bytes == l->max_stack_bytes) {
            k->busy = 1;
            return k;
        }
    }
    return NULL;
}

/* How many functions `m` imports (a kept instance's host functions). */
static size_t func_imports(const weft_module_t *m)
{
    size_t n = 0;
    for (size_t i = 0, k = weft_module_import_count(m); i < k; i++) {
        weft_externdesc_t d;
        n += weft_module_import(m, i, &d) == 0 && d.kind == WEFT_EXTERN_FUNC;
    }
    return n;
}

/* Keeps a call's store, linker and instance (or adapter's object) for the
 * thread's next call (a full pool drops its least recently used idle
 * one); 0, or -1 when they cannot be kept (the caller deletes them). */
static int kept_put(weft_store_t *store, weft_linker_t *linker, weft_instance_t *inst, void *obj,
                    const void *code, const node_abi_t *abi, const weft_limits_config_t *l,
                    size_t host_imports)
{
    kept_pool_t *pool = kept_pool();
    if (!pool || !keepable(store, inst))
        return -1;
    kept_t *slot = NULL;
    for (unsigned i = 0; i < KEPT_MAX; i++) {
        kept_t *k = &pool->k[i];
        if (!k->store) {
            slot = k;
            break;
        }
        if (!k->busy && (!slot || k->used < slot->used))
            slot = k;
    }
    if (!slot)
        return -1;
    if (slot->store)
        kept_drop(slot);
    *slot = (kept_t){store, linker, inst, obj, code, abi, l->max_memory_pages, l->max_table_elems,
                     l->max_stack_bytes, host_imports, 0, node_now_ns()};
    return 0;
}

/* Everything one attempt of a call holds; released by cleanup(). */
typedef struct {
    weft_store_t *store;
    weft_linker_t *linker;
    weft_wasi_t *wasi;
    const node_abi_t *abi; /* its state is freed after the store */
    void *abi_state;
    thread_files_t *files;
    int in_fd, out_fd, err_fd;
    int input_written; /* the node wrote the input to stdin's file */
    int p2_streams;    /* a component's: its adapter tells which streams it used */
    unsigned p2_used;  /* ... here (node_call_t.stdio_used) */
    const void *code;      /* the app's module or component (the pool's key) */
    const weft_module_t *module; /* a module's */
    kept_t *kept;          /* the store, linker and instance are a kept one's */
    weft_instance_t *inst; /* once instantiated (or reset) */
    void *obj;             /* a drop_kept adapter's instance to keep (node_call_t.kept) */
    weft_limits_config_t limits; /* the call's, which a kept instance must have been made under */
    void *host_user;       /* the ABI's binding its host functions point to (abi.h) */
} attempt_t;

static void cleanup(weft_node_t *node, attempt_t *a, unsigned slot)
{
    unsigned used = a->p2_streams ? a->p2_used
                    : a->wasi   ? weft_wasi_stdio_used(a->wasi)
                                : 7u; /* no WASI yet: all */
    /* preview 2 does not say: as used */
    unsigned flagged = a->p2_streams || !a->wasi ? used : weft_wasi_stdio_flagged(a->wasi);
    if (a->store)
        node_slot_set(node, slot, NULL, 0); /* before the store goes */
    /* An instance of an adapter that allows it is kept for the thread's
     * next call, its host functions pointing to neither this call's WASI
     * context nor its binding (both freed below). */
    int keep = (a->inst || a->obj) && a->abi && a->abi->keep;
    size_t host_imports = 0;
    if (keep && a->inst) {
        /* every imported function must have been the call's WASI's or
         * binding's (a Calimero function weft lacks points elsewhere):
         * else one would still point to a freed object */
        host_imports = a->kept ? a->kept->host_imports : func_imports(a->module);
        size_t n = weft_instance_rebind_host(a->inst, a->wasi, (void *)&wasi_between_calls);
        if (a->host_user)
            n += weft_instance_rebind_host(a->inst, a->host_user, (void *)&abi_between_calls);
        keep = n == host_imports;
    }
    if (a->kept) {
        if (keep && keepable(a->store, a->inst)) {
            a->kept->busy = 0;
            a->kept->used = node_now_ns();
        } else {
            kept_drop(a->kept);
        }
    } else if (!keep || kept_put(a->store, a->linker, a->inst, a->obj, a->code, a->abi, &a->limits,
                                 host_imports) != 0) {
        if (a->obj)
            a->abi->drop_kept(a->obj); /* given by the adapter: ours */
        if (a->linker)
            weft_linker_delete(a->linker);
        if (a->store)
            weft_store_delete(a->store);
    }
    if (a->wasi)
        weft_wasi_delete(a->wasi);
    if (a->abi && a->abi->free)
        a->abi->free(a->abi_state);
    if (a->files)
        thread_files_reset(a->files, used, flagged, a->input_written);
}

/* Adds the lines of stderr's first len bytes (bounded) to the result's logs. */
static void add_stderr_lines(weft_call_result_t *res, const char *buf, size_t len)
{
    ssize_t got = (ssize_t)(len < MAX_STDERR ? len : MAX_STDERR);
    size_t start = 0, lines = 0;
    for (size_t i = 0; got > 0 && i <= (size_t)got && lines < MAX_LOG_LINES; i++) {
        if (i < (size_t)got && buf[i] != '\n')
            continue;
        if (i > start || i < (size_t)got)
            node_result_add_log(res, NODE_LOG_STDERR, buf + start, i - start), lines++;
        start = i + 1;
    }
}

/* The same from a memory file. */
static void collect_stderr(weft_call_result_t *res, int fd)
{
    uint8_t *head;
    size_t len;
    int over;
    if (read_head(fd, MAX_STDERR, &head, &len, &over) != 0)
        return;
    add_stderr_lines(res, (const char *)head, len);
    free(head);
}

/* Resolves the function and checks the request against its type. Returns
 * the export name, or NULL with the result failed. */
static const char *pick_function(weft_call_result_t *res, const node_app_t *app,
                                 const weft_call_req_t *req, const weft_functype_t **out_ft)
{
    const weft_module_t *m = app->module;
    const char *f = req->function;
    if (!f)
        f = export_type(m, "_start") ? "_start" : "run";
    const weft_functype_t *ft = export_type(m, f);
    if (!ft) {
        node_result_fail(res, WEFT_CALL_ERROR, "app %s has no exported function '%s'", app->name,
                         f);
        return NULL;
    }
    size_t np = weft_functype_nparams(ft);
    if (np != (req->args ? req->nargs : 0)) {
        node_result_fail(res, WEFT_CALL_ERROR, "'%s' takes %zu argument%s, got %zu", f, np,
                         np == 1 ? "" : "s", req->args ? req->nargs : 0);
        return NULL;
    }
    for (size_t i = 0; i < np; i++) {
        if (weft_functype_param(ft, i) != req->args[i].type) {
            node_result_fail(res, WEFT_CALL_ERROR, "argument %zu of '%s' must be %s, not %s",
                             i + 1, f, weft_valtype_name(weft_functype_param(ft, i)),
                             weft_valtype_name(req->args[i].type));
            return NULL;
        }
    }
    *out_ft = ft;
    return f;
}

/* ---- serial functions -------------------------------------------------------
 * A write call whose overlay refused an operation runs again nested
 * (node.c), a whole second run of its guest. Refusals come from what a
 * function does (an nx CRDT write moves the node's hybrid clock, a
 * node-wide record in `meta`), so the function is remembered and its later
 * calls go nested at once: the second run is paid once per function, app
 * and process. O(functions marked) a write call, a handful. */

/* Whether fn is in *list (an app's list of functions, under apps_mu). */
static int fn_listed(weft_node_t *node, struct node_serial_fn *const *list, const char *fn)
{
    int found = 0;
    pthread_mutex_lock(&node->apps_mu);
    for (struct node_serial_fn *f = *list; f && !found; f = f->next)
        found = strcmp(f->name, fn) == 0;
    pthread_mutex_unlock(&node->apps_mu);
    return found;
}

static int fn_serial(weft_node_t *node, node_app_t *app, const char *fn)
{
    return app->abi->serial || fn_listed(node, &app->serial_fns, fn);
}

static void fn_mark_serial(weft_node_t *node, node_app_t *app, const char *fn)
{
    size_t n = strlen(fn) + 1;
    struct node_serial_fn *f = malloc(sizeof *f + n);
    if (!f)
        return; /* it is only refused again */
    memcpy(f->name, fn, n);
    pthread_mutex_lock(&node->apps_mu);
    f->next = app->serial_fns;
    app->serial_fns = f;
    pthread_mutex_unlock(&node->apps_mu);
}

/* ---- slow views ----------------------------------------------------------
 * A view runs on its caller's thread (weft_node_call_here: an HTTP thread,
 * whose other connections wait meanwhile) only while its function's last
 * view took under NODE_HERE_BUDGET_NS. A view cut there, or one on a
 * worker that took longer, marks the function; a shorter one on a worker
 * unmarks it. O(functions marked) a view; none marked: one atomic load. */

static int fn_slow(weft_node_t *node, node_app_t *app, const char *fn)
{
    return __atomic_load_n(&app->slow_fns, __ATOMIC_ACQUIRE) && fn_listed(node, &app->slow_fns, fn);
}

static void fn_set_slow(weft_node_t *node, node_app_t *app, const char *fn, int slow)
{
    if (!slow && !__atomic_load_n(&app->slow_fns, __ATOMIC_ACQUIRE))
        return;
    size_t n = strlen(fn) + 1;
    struct node_serial_fn *add = slow ? malloc(sizeof *add + n) : NULL, *gone = NULL;
    pthread_mutex_lock(&node->apps_mu);
    struct node_serial_fn **pp = &app->slow_fns;
    while (*pp && strcmp((*pp)->name, fn) != 0)
        pp = &(*pp)->next;
    if (*pp && !slow) {
        gone = *pp;
        __atomic_store_n(pp, gone->next, __ATOMIC_RELEASE);
    } else if (!*pp && add) {
        memcpy(add->name, fn, n);
        add->next = app->slow_fns;
        __atomic_store_n(&app->slow_fns, add, __ATOMIC_RELEASE);
        add = NULL;
    }
    pthread_mutex_unlock(&node->apps_mu);
    free(add); /* marked already (or no memory: it is only cut again) */
    free(gone);
}

int node_run_call(weft_node_t *node, node_job_t *job, weft_txn_t *txn, unsigned slot)
{
    weft_call_req_t *req = &job->req;
    weft_call_result_t *res = job->res;
    uint64_t t0 = node_now_ns();
    char msg[512] = "";
    char app_id[WEFT_APP_ID_LEN + 1];
    attempt_t a = {.in_fd = -1, .out_fd = -1, .err_fd = -1};
    int verdict = 0; /* abort */
    node_result_reset(res);
    res->call_id = call_id();

    weft_call_limits_t lim = node->limits; /* with the app's and the call's, below */
    node_app_t *app = req->app ? node_app_opened(node, req->app) : NULL;
    int rc = 0;
    if (req->app && !app) {
        res->error = WEFT_EARG;
        node_result_fail(res, WEFT_CALL_ERROR, "no app %s opened in this node", req->app);
        goto done;
    }
    if (!app && (rc = txn ? node_context_app(txn, req->context, app_id) : WEFT_ENOTFOUND)) {
        res->error = rc == WEFT_ENOTFOUND ? WEFT_EARG : rc;
        if (rc == WEFT_ENOTFOUND)
            node_result_fail(res, WEFT_CALL_ERROR, "no context '%s'", req->context);
        else
            node_result_fail(res, WEFT_CALL_ERROR, "cannot read context '%s': %s", req->context,
                             weft_strerror(rc));
        goto done;
    }
    if (!app && !(app = node_app_load(node, txn, app_id, msg, sizeof msg))) {
        res->error = WEFT_EIO;
        node_result_fail(res, WEFT_CALL_ERROR, "%s", msg);
        goto done;
    }
    if (job->overlay && fn_serial(node, app, req->function ? req->function : "")) {
        verdict = NODE_RUN_SERIAL;
        goto done;
    }
    /* On the caller's thread only what the budget's interrupt can cut short
     * and what may run twice: nx and plain WASI (no outbound HTTP, no
     * chained calls), a function not known to be slow. */
    if (job->here && (app->abi != &node_abi_nx || app->component ||
                      fn_slow(node, app, req->function ? req->function : ""))) {
        verdict = NODE_RUN_ELSEWHERE;
        goto done;
    }
    if (app->needs_store && !txn) {
        res->error = WEFT_EARG;
        node_result_fail(res, WEFT_CALL_ERROR, "app %s imports %s, which needs a data directory",
                         app->name, app->abi->name);
        goto done;
    }
    node_limits_merge(&lim, &app->manifest.limits, &req->limits); /* the app's, then the call's */
    if (req->input_len > lim.max_input) {
        res->error = WEFT_EARG;
        node_result_fail(res, WEFT_CALL_ERROR, "the input is %zu bytes, over the limit of %zu",
                         req->input_len, lim.max_input);
        goto done;
    }
    node_call_t c = {.node = node, .app = app, .req = req, .res = res, .txn = txn, .lim = &lim,
                     .function = req->function, .view = req->view, .what = "call failed",
                     .slot = slot, .link = job->link, .funcs_link = job->funcs_link,
                     .fd = {0, 1, 2}, .stdio_used = 7u};
    a.p2_streams = app->component != NULL;
    a.p2_used = 7u; /* until its adapter says */
    const weft_functype_t *ft = NULL;
    const char *fname = req->function ? req->function : "_start";
    size_t np = 0, nr = 0;
    if (!app->abi->invoke) {
        if (!(fname = pick_function(res, app, req, &ft))) {
            res->error = WEFT_EARG;
            goto done;
        }
        np = weft_functype_nparams(ft);
        nr = weft_functype_nresults(ft);
        c.function = fname;
        c.type = ft;
    }

    /* WASI: argv[0] is the app's name; stdin is the input. */
    const char *argv_small[1 + 64];
    const char **argv = argv_small;
    if (req->argc > 64 && !(argv = calloc(req->argc + 1, sizeof *argv))) {
        node_result_fail(res, WEFT_CALL_ERROR, "out of memory");
        goto done;
    }
    size_t argc = 1;
    argv[0] = req->argv0 ? req->argv0 : app->name;
    for (size_t i = 0; i < req->argc; i++)
        argv[argc++] = req->argv[i];
    weft_wasi_config_t wc = weft_wasi_config_default();
    if (!req->stdio && !app->component) {
        /* A module's streams are the WASI context's memory: no system call
         * for the input, the output or emptying them after. */
        wc.stdio_memory = 1;
        wc.stdin_data = req->input;
        wc.stdin_len = req->input_len;
        wc.stdout_limit = lim.max_output;
        wc.stderr_limit = NODE_MAX_STDERR_WRITE;
        c.fd[0] = c.fd[1] = c.fd[2] = -1;
    } else if (!req->stdio) { /* a component's preview 2 streams are memory files */
        a.files = thread_files();
        a.input_written = req->input_len > 0; /* a part written must be emptied too */
        if (!a.files || write_input(a.files->fd[0], req->input, req->input_len) != 0) {
            node_result_fail(res, WEFT_CALL_ERROR, "cannot make the call's standard streams: %s",
                             strerror(errno));
            goto free_argv;
        }
        a.in_fd = a.files->fd[0];
        a.out_fd = a.files->fd[1];
        a.err_fd = a.files->fd[2];
        wc.stdin_fd = a.in_fd;
        wc.stdout_fd = a.out_fd;
        wc.stderr_fd = a.err_fd;
        c.fd[0] = a.in_fd;
        c.fd[1] = a.out_fd;
        c.fd[2] = a.err_fd;
        wc.stdio_regular = 1; /* memory files: no fstat each */
        /* The streams are memory: bound them while the guest writes, not after. */
        wc.stdout_limit = lim.max_output;
        wc.stderr_limit = NODE_MAX_STDERR_WRITE;
    }
    wc.argv = argv;
    wc.argc = argc;
    wc.env = (const char *const *)node->env;
    wc.nenv = node->nenv;
    wc.preopens = req->dirs;
    wc.npreopens = req->ndirs;
    /* a component gets WASI preview 2 from its adapter instead */
    rc = app->component ? 0 : weft_wasi_new(&wc, &a.wasi, msg, sizeof msg);
    if (argv != argv_small)
        free(argv);
    if (rc != 0) {
        a.wasi = NULL;
        res->error = rc == WEFT_EIO ? WEFT_EARG : rc; /* a directory that cannot be opened */
        node_result_fail(res, WEFT_CALL_ERROR, "%s", msg[0] ? msg : weft_strerror(rc));
        goto done;
    }
    /* the engine's limits with the call's: a kept instance must have been
     * made under the same ones */
    weft_limits_config_t l = weft_limits_default();
    if (lim.max_memory_pages)
        l.max_memory_pages = lim.max_memory_pages;
    if (lim.max_stack_bytes)
        l.max_stack_bytes = lim.max_stack_bytes;
    if (lim.max_table_elems)
        l.max_table_elems = lim.max_table_elems;
    a.code = app->module ? (const void *)app->module : (const void *)app->component;
    a.module = app->module;
    a.limits = l;
    if (app->abi->keep && (a.kept = kept_take(a.code, app->abi, &l))) {
        a.store = a.kept->store;
        a.linker = a.kept->linker;
        a.obj = c.kept = a.kept->obj; /* the adapter's: it resets it */
        __atomic_fetch_add(&node->kept_calls, 1, __ATOMIC_RELAXED);
    } else {
        a.store = weft_store_new(node->engine);
        /* a component's adapter links it with its own component linker */
        a.linker = a.store && app->module ? weft_linker_new(a.store) : NULL;
        if (!a.store || (app->module && (!a.linker || weft_wasi_define_imports(
                                                          a.wasi, a.linker, app->module) != 0))) {
            node_result_fail(res, WEFT_CALL_ERROR, "out of memory");
            goto done;
        }
        if ((lim.max_memory_pages || lim.max_stack_bytes || lim.max_table_elems) &&
            (rc = weft_store_set_limits(a.store, &l)) != 0) {
            res->error = rc;
            node_result_fail(res, WEFT_CALL_ERROR, "cannot set limits: %s",
                             store_errmsg(a.store, rc));
            goto done;
        }
    }
    c.store = a.store;
    c.linker = a.kept ? NULL : a.linker; /* bind defines no import in a kept instance */
    uint64_t fuel0 = lim.fuel == WEFT_FUEL_ZERO ? 0 : lim.fuel ? lim.fuel : UNLIMITED_FUEL;
    weft_store_set_fuel(a.store, fuel0);
    c.deadline_ns = lim.timeout_ns ? t0 + lim.timeout_ns : 0;
    /* the watchdog cuts a view on its caller's thread at the budget */
    uint64_t watch = c.deadline_ns;
    int budget = job->here && (!watch || watch > t0 + NODE_HERE_BUDGET_NS);
    if (budget)
        watch = t0 + NODE_HERE_BUDGET_NS;
    /* A kept store may still carry the interrupt that stopped its last
     * call (a reset keeps the flag): cleared here, before the slot arms
     * this call's deadline, so that no interrupt raised for this call (the
     * watchdog's, once per deadline, or the node's, which node_slot_set
     * raises again) is lost, whatever the reset below takes. */
    weft_store_clear_interrupt(a.store);
    if (node_slot_set(node, slot, a.store, watch) != 0) {
        node_result_fail(res, WEFT_CALL_ERROR, "cannot start the thread that stops calls at "
                                               "their deadline");
        goto done;
    }
    a.abi = app->abi;
    if ((rc = a.abi->bind(&c, &a.abi_state)) != 0) {
        if (!res->error)
            res->error = rc;
        goto done;
    }
    a.host_user = c.host_user;

    weft_val_t vals[64 + 64];
    weft_val_t *v = np + nr <= 128 ? vals : calloc(np + nr, sizeof *v);
    if (!v) {
        node_result_fail(res, WEFT_CALL_ERROR, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < np; i++)
        v[i] = req->args[i];
    weft_instance_t *inst = NULL;
    weft_extern_t ext;
    const char *what = "cannot instantiate";
    if (a.kept && a.kept->inst) { /* a kept instance: bound to this call's host state, reset */
        inst = a.kept->inst;
        weft_instance_rebind_host(inst, &wasi_between_calls, a.wasi);
        if (a.host_user)
            weft_instance_rebind_host(inst, &abi_between_calls, a.host_user);
        /* a deadline that passes during the reset traps its start
         * function or the call (the flag outlives the reset) */
        if ((rc = weft_instance_reset(inst)) == 0)
            a.inst = inst; /* kept again at the end; a failed reset drops it */
    } else if (!app->module) {
        rc = 0; /* a component's adapter instantiates it itself (abi_component.c) */
    } else if ((rc = weft_linker_instantiate(a.linker, app->module, &inst)) == 0) {
        a.inst = inst;
    }
    if (rc == 0 && app->module && (a.abi->invoke || strcmp(fname, "_start") != 0) &&
        weft_instance_export(inst, "_initialize", &ext) == 0 && ext.kind == WEFT_EXTERN_FUNC) {
        const weft_functype_t *it = weft_func_type(ext.of.func);
        what = "call to '_initialize' failed";
        if (weft_functype_nparams(it) == 0 && weft_functype_nresults(it) == 0)
            rc = weft_func_call(a.store, ext.of.func, NULL, 0, NULL, 0);
    }
    if (rc == 0 && a.abi->invoke) {
        rc = a.abi->invoke(&c, a.abi_state, inst);
        what = c.what;
    } else if (rc == 0 && weft_instance_export(inst, fname, &ext) == 0 &&
               ext.kind == WEFT_EXTERN_FUNC) {
        what = "call failed";
        rc = weft_func_call(a.store, ext.of.func, v, np, v + np, nr);
    } else if (rc == 0) {
        rc = WEFT_ENOTFOUND;
    }
    uint64_t left = weft_store_fuel(a.store);
    res->fuel = left <= fuel0 ? fuel0 - left : 0;

    weft_trap_code_t trap = rc == WEFT_ETRAP ? weft_store_trap(a.store) : WEFT_TRAP_NONE;
    if (rc == 0 || (trap == WEFT_TRAP_EXIT && weft_store_exit_status(a.store) == 0)) {
        res->outcome = WEFT_CALL_OK;
        verdict = 1;
        if (rc == 0 && nr && (res->values = calloc(nr, sizeof *res->values))) {
            memcpy(res->values, v + np, nr * sizeof *v);
            res->nvalues = nr;
        }
    } else if (trap == WEFT_TRAP_EXIT) {
        res->exit_status = weft_store_exit_status(a.store);
        node_result_fail(res, WEFT_CALL_EXIT, "exit status %d", res->exit_status);
    } else if (rc == WEFT_ETRAP) {
        res->trap = trap;
        node_result_trap(res, a.store, app->module);
    } else {
        res->error = rc;
        node_result_fail(res, WEFT_CALL_ERROR, "%s: %s", what, store_errmsg(a.store, rc));
    }
    verdict = a.abi->finish(&c, a.abi_state, verdict);
    if (budget && trap == WEFT_TRAP_INTERRUPTED &&
        !__atomic_load_n(&node->interrupted, __ATOMIC_SEQ_CST)) {
        verdict = NODE_RUN_ELSEWHERE; /* cut at the budget: to a worker, marked */
        fn_set_slow(node, app, req->function ? req->function : "", 1);
    } else if (req->view && !job->here) {
        fn_set_slow(node, app, req->function ? req->function : "",
                    node_now_ns() - t0 > NODE_HERE_BUDGET_NS);
    }
    a.p2_used = c.stdio_used;
    a.obj = c.kept; /* a drop_kept adapter's to keep, or NULL */
    if (job->overlay && weft_txn_overlay_serial(txn)) {
        verdict = NODE_RUN_SERIAL; /* whatever the guest made of the refusal */
        fn_mark_serial(node, app, req->function ? req->function : "");
    }
    if (verdict < 0)
        goto free_vals; /* run again: the result is reset then */
    res->rolled_back = verdict != 1 && !req->view && txn && weft_txn_dirty(txn);
    if (req->stdio)
        goto free_vals; /* the streams were the process's own */
    /* A stream the guest never reached is still empty: no fstat, no read. */
    unsigned used = a.p2_streams ? a.p2_used : weft_wasi_stdio_used(a.wasi);
    int r = 0;
    if (!a.p2_streams) { /* in memory */
        size_t len;
        const uint8_t *err = weft_wasi_stdio_data(a.wasi, 2, &len);
        if (err)
            add_stderr_lines(res, (const char *)err, len);
        /* An adapter may have given the output itself (Faasm's write_output).
         * The stream never held more than max_output (its bound). */
        if (!res->output && (res->output = weft_wasi_stdio_take(a.wasi, 1, &len))) {
            res->output[len] = 0;
            res->output_len = len;
        }
    } else {
        if (used & 4u)
            collect_stderr(res, a.err_fd);
        r = used & 2u && !res->output
                ? read_all(a.out_fd, lim.max_output, &res->output, &res->output_len)
                : 0;
    }
    if (r == 1) {
        verdict = 0;
        node_result_fail(res, WEFT_CALL_ERROR, "the call wrote more than %zu bytes of output",
                         lim.max_output);
    } else if (r < 0) {
        verdict = 0;
        node_result_fail(res, WEFT_CALL_ERROR, "cannot read the call's output");
    }
free_vals:
    if (v != vals)
        free(v);
    goto done;
free_argv:
    if (argv != argv_small)
        free(argv);
done:
    cleanup(node, &a, slot);
    if (verdict == NODE_RUN_ELSEWHERE) { /* weft_node_call_here drops the result */
        job->elsewhere = 1;
        return 0;
    }
    res->duration_ns = node_now_ns() - t0;
    if (verdict == 1 && req->view)
        verdict = 0; /* a view's transaction is only read */
    return verdict;
}
