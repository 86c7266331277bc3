/*
 * abi_faasm.c — the Faasm adapter (abi.h): a WASI command whose `main`
 * runs per call, with the `__faasm_*` imports (weft/faasm.h) on the node's
 * Faasm state service, and chained calls that are real calls of the node.
 *
 * A call's function is its `_start` (the default), or "#N": entry N of
 * the module's function table, run without `_start` (what
 * __faasm_chain_ptr starts), whose i32 result is the call's return code.
 * Either way an exported `__wasm_call_ctors` runs first, once: wasm-ld
 * leaves constructors to the embedder when they are exported, as Faasm's
 * toolchain does. Chained calls run as views on the worker pool (Faasm state
 * is not in LMDB, so they need no writer); each gets its own instance,
 * limits, fuel and logs, and carries a link to its parent (depth, state
 * namespace, parent call id: node_call_t.link). An awaiting call that
 * finds its child still queued takes it back and runs it on its own
 * thread (node_chain_take/run), so awaits never wait for a free worker:
 * no fan-out can deadlock the pool; while a child runs on a worker, its
 * awaiting parent runs its other queued children. A call can await only the ids it
 * chained, so it cannot await itself or a cycle. docs/faasm.md.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abi.h"
#include "weft/db.h"
#include "weft/error.h"
#include "weft/faasm.h"
#include "weft/instance.h"

#define MAX_CHAIN_DEPTH 16
#define AWAIT_TIMEOUT_NS (60ull * 1000000000ull) /* when the awaiting call has no deadline */
#define AWAIT_SLICE_MS 5

/* What a chained call's adapter learns from its parent. */
typedef struct {
    unsigned depth;
    uint64_t parent; /* the parent's call id */
    char ns[256];    /* the state namespace: the chain's first context */
} faasm_link_t;

typedef struct chained {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;  /* the parent's call and the job's completion */
    int done;  /* res is set */
    int taken; /* the parent took the job back (or it is gone to a worker) */
    node_job_t *job;
    weft_call_result_t *res;
    uint32_t id;
    faasm_link_t link;
    struct chained *next;
} chained_t;

typedef struct {
    weft_faasm_t *f;
    node_call_t *c;
    faasm_link_t self;
    chained_t *children;
    uint32_t next_id;
    int32_t ptr_rc; /* a "#N" call's result */
} faasm_call_t;

static void chained_unref(chained_t *ch)
{
    pthread_mutex_lock(&ch->mu);
    int left = --ch->refs;
    pthread_mutex_unlock(&ch->mu);
    if (left)
        return;
    weft_call_result_delete(ch->res);
    pthread_mutex_destroy(&ch->mu);
    pthread_cond_destroy(&ch->cv);
    free(ch);
}

/* The job's completion (any thread). */
static void chain_done(void *user, weft_call_result_t *res)
{
    chained_t *ch = user;
    pthread_mutex_lock(&ch->mu);
    ch->res = res;
    ch->done = 1;
    pthread_cond_broadcast(&ch->cv);
    pthread_mutex_unlock(&ch->mu);
    chained_unref(ch);
}

static void add_log(node_call_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_log(node_call_t *c, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        node_result_add_log(c->res, NODE_LOG_NX, line, (size_t)n < sizeof line ? (size_t)n
                                                                             : sizeof line - 1);
}

static int chain(void *user, const char *name, uint32_t index, const uint8_t *input, size_t len,
                 uint32_t *out_id, char *msg, size_t msg_size)
{
    faasm_call_t *fc = user;
    node_call_t *c = fc->c;
    if (fc->self.depth + 1 > MAX_CHAIN_DEPTH) {
        snprintf(msg, msg_size, "chain deeper than %d calls", MAX_CHAIN_DEPTH);
        add_log(c, "faasm: chain refused: %s", msg);
        return WEFT_ELIMIT;
    }
    char fn[16], ctx[WEFT_CONTEXT_MAX + 1];
    snprintf(fn, sizeof fn, "#%u", index);
    /* "user/function" contexts: a bare name is a function of the caller's
     * user, as Faasm's chain_name of a function name is */
    const char *slash = strchr(c->req->context, '/');
    if (name && !strchr(name, '/') && slash &&
        (size_t)snprintf(ctx, sizeof ctx, "%.*s/%s", (int)(slash - c->req->context),
                         c->req->context, name) < sizeof ctx)
        name = ctx;
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = name ? name : c->req->context;
    req.function = name ? NULL : fn;
    req.app = name ? NULL : c->req->app; /* an opened app chains into itself */
    req.input = input;
    req.input_len = len;
    req.view = 1;
    chained_t *ch = calloc(1, sizeof *ch);
    if (!ch)
        return WEFT_ENOMEM;
    pthread_mutex_init(&ch->mu, NULL);
    pthread_cond_init(&ch->cv, NULL);
    ch->refs = 2;
    ch->link.depth = fc->self.depth + 1;
    ch->link.parent = c->res->call_id;
    memcpy(ch->link.ns, fc->self.ns, sizeof ch->link.ns);
    ch->id = ++fc->next_id;
    node_job_t *j = node_chain_job(&req, &ch->link, chain_done, ch);
    int rc = j ? node_chain_submit(c->node, j) : WEFT_ENOMEM;
    if (rc) {
        ch->refs = 1;
        chained_unref(ch);
        snprintf(msg, msg_size, "%s", rc == WEFT_ELIMIT ? "the node is closing" : "out of memory");
        add_log(c, "faasm: chain of %s refused: %s", name ? name : fn, msg);
        return rc;
    }
    ch->job = j;
    ch->next = fc->children;
    fc->children = ch;
    *out_id = ch->id;
    return 0;
}

/* Runs the child here if no worker has started it yet. */
static void take_back(faasm_call_t *fc, chained_t *ch)
{
    if (ch->taken)
        return;
    ch->taken = 1;
    if (node_chain_take(fc->c->node, ch->job))
        node_chain_run(fc->c->node, ch->job, fc->c->slot);
    ch->job = NULL; /* a worker's or done: freed by the node */
}

static int await(void *user, uint32_t id, int32_t *out_rc, uint8_t **out, size_t *out_len,
                 weft_faasm_wait_fn wait, void *wait_user)
{
    faasm_call_t *fc = user;
    chained_t *ch = fc->children;
    while (ch && ch->id != id)
        ch = ch->next;
    if (!ch)
        return WEFT_ENOTFOUND;
    take_back(fc, ch);
    /* While it runs on a worker, help: run this call's other children that
     * no worker has started yet (a fan-out then uses the awaiting thread
     * too, and the pool is free for others sooner). */
    for (chained_t *o = fc->children; o; o = o->next) {
        pthread_mutex_lock(&ch->mu);
        int done = ch->done;
        pthread_mutex_unlock(&ch->mu);
        if (done)
            break;
        take_back(fc, o);
    }
    uint64_t until = node_now_ns() + AWAIT_TIMEOUT_NS;
    int rc = 0;
    pthread_mutex_lock(&ch->mu);
    while (!ch->done) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += AWAIT_SLICE_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&ch->cv, &ch->mu, &ts);
        if (ch->done)
            break;
        if ((rc = wait(wait_user)) != 0 || (node_now_ns() > until && (rc = WEFT_ELIMIT)))
            break;
    }
    pthread_mutex_unlock(&ch->mu);
    if (rc) {
        add_log(fc->c, "faasm: await of chained call %u %s", id,
                rc == WEFT_ELIMIT ? "timed out" : "interrupted");
        return rc;
    }
    weft_call_result_t *res = ch->res;
    int32_t code = res->outcome == WEFT_CALL_OK     ? 0
                   : res->outcome == WEFT_CALL_EXIT ? res->exit_status
                                                    : 1;
    *out_rc = code;
    *out = NULL;
    *out_len = 0;
    if (res->output_len && (*out = malloc(res->output_len))) {
        memcpy(*out, res->output, res->output_len);
        *out_len = res->output_len;
    }
    add_log(fc->c, "faasm: chained call %u is call %016llx: return code %d", id,
            (unsigned long long)res->call_id, code);
    return 0;
}

/* ---- the adapter ------------------------------------------------------------ */

/* The node's state service, made at its first Faasm call: the embedded
 * global tier is kept in the data directory's "faasm" folder when the node
 * has one (docs/faasm.md "State"). NULL with a message when it cannot be. */
static weft_faasm_state_t *node_state(weft_node_t *node, char *msg, size_t msg_size)
{
    pthread_mutex_lock(&node->apps_mu);
    if (!node->faasm_state) {
        char dir[4096];
        weft_faasm_state_config_t cfg;
        memset(&cfg, 0, sizeof cfg);
        if (node->data_dir &&
            (size_t)snprintf(dir, sizeof dir, "%s/faasm", node->data_dir) < sizeof dir) {
            cfg.dir = dir;
            cfg.db_flags = node->flags & WEFT_NODE_DB_NOSYNC ? WEFT_DB_NOSYNC : 0;
        }
        weft_faasm_state_t *st = NULL;
        if (weft_faasm_state_new(&cfg, &st, msg, msg_size) == 0)
            node->faasm_state = st;
    }
    weft_faasm_state_t *st = node->faasm_state;
    pthread_mutex_unlock(&node->apps_mu);
    return st;
}

int node_faasm_open(weft_node_t *node, const char *redis_url, char *msg, size_t msg_size)
{
    if (!redis_url)
        return 0; /* the embedded tier, made at the first Faasm call */
    weft_faasm_state_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.redis_url = redis_url;
    return weft_faasm_state_new(&cfg, &node->faasm_state, msg, msg_size);
}

void node_faasm_close(weft_node_t *node)
{
    weft_faasm_state_delete(node->faasm_state);
    node->faasm_state = NULL;
}

static int faasm_bind(node_call_t *c, void **state)
{
    *state = NULL;
    char msg[512] = "";
    faasm_call_t *fc = calloc(1, sizeof *fc);
    weft_faasm_state_t *st = node_state(c->node, msg, sizeof msg);
    if (!fc || !st) {
        free(fc);
        node_result_fail(c->res, WEFT_CALL_ERROR, "%s", msg[0] ? msg : "out of memory");
        return msg[0] ? WEFT_EIO : WEFT_ENOMEM;
    }
    *state = fc;
    fc->c = c;
    const faasm_link_t *link = c->link;
    if (link) {
        fc->self = *link; /* no log line of its own: a view's lines cost a writer job */
    } else { /* the user of a "user/function" context, else the context */
        const char *ctx = c->req->context, *slash = strchr(ctx, '/');
        snprintf(fc->self.ns, sizeof fc->self.ns, "%.*s",
                 (int)(slash && slash > ctx ? (size_t)(slash - ctx) : strlen(ctx)), ctx);
    }
    weft_faasm_config_t cfg = {st, fc->self.ns, {chain, await, fc}, c->lim->max_output};
    /* no linker: a kept instance, whose imports call.c points at fc->f */
    if (weft_faasm_new(&cfg, &fc->f) != 0 ||
        (c->linker && weft_faasm_define_imports(fc->f, c->linker, c->app->module) != 0)) {
        node_result_fail(c->res, WEFT_CALL_ERROR, "out of memory");
        return WEFT_ENOMEM;
    }
    weft_faasm_begin_call(fc->f, c->req->input, c->req->input_len);
    c->host_user = fc->f;
    return 0;
}

static int faasm_invoke(node_call_t *c, void *state, weft_instance_t *inst)
{
    faasm_call_t *fc = state;
    weft_extern_t ext;
    const char *fn = c->function ? c->function : "_start";
    /* A module that exports __wasm_call_ctors (Faasm's toolchain does)
     * gets no constructor call from wasm-ld in its _start: the embedder
     * runs them, once, before _start or a table entry. */
    int rc = 0;
    c->what = "call to '__wasm_call_ctors' failed";
    if (weft_instance_export(inst, "__wasm_call_ctors", &ext) == 0 &&
        ext.kind == WEFT_EXTERN_FUNC)
        rc = weft_func_call(c->store, ext.of.func, NULL, 0, NULL, 0);
    if (rc)
        return rc;
    if (fn[0] != '#') {
        c->what = "call failed";
        if (weft_instance_export(inst, fn, &ext) != 0 || ext.kind != WEFT_EXTERN_FUNC) {
            c->what = "a Faasm function runs its main (_start) or a table entry (#N)";
            return WEFT_ENOTFOUND;
        }
        return weft_func_call(c->store, ext.of.func, NULL, 0, NULL, 0);
    }
    /* A table entry (chain_ptr): the constructors first, as _start would
     * run them, but not _start itself (it would run main). */
    char *end;
    unsigned long index = strtoul(fn + 1, &end, 10);
    weft_table_t *table;
    weft_val_t v;
    c->what = "no such function table entry";
    if (*end || end == fn + 1 || weft_instance_table(inst, 0, &table) != 0 ||
        index >= weft_table_size(table) || weft_table_get(table, (uint32_t)index, &v) != 0 ||
        !v.of.func)
        return WEFT_ENOTFOUND;
    const weft_functype_t *ft = weft_func_type(v.of.func);
    size_t nr = weft_functype_nresults(ft);
    c->what = "a chained table entry must take no parameter and return an i32 or nothing";
    if (weft_functype_nparams(ft) != 0 || nr > 1 ||
        (nr == 1 && weft_functype_result(ft, 0) != WEFT_I32))
        return WEFT_EARG;
    c->what = "call failed";
    weft_val_t r = {.type = WEFT_I32};
    rc = weft_func_call(c->store, v.of.func, NULL, 0, &r, nr);
    fc->ptr_rc = nr ? r.of.i32 : 0;
    return rc;
}

static int faasm_finish(node_call_t *c, void *state, int verdict)
{
    faasm_call_t *fc = state;
    if (!fc || !fc->f)
        return verdict;
    /* An inline node runs chained calls only when awaited: the ones never
     * awaited run now, before the call ends (Faasm runs them anyway). */
    if (c->node->flags & WEFT_NODE_INLINE)
        for (chained_t *ch = fc->children; ch; ch = ch->next)
            take_back(fc, ch);
    if (weft_faasm_end_call(fc->f) != 0 && verdict == 1) {
        verdict = 0;
        node_result_fail(c->res, WEFT_CALL_ERROR, "Faasm state failed: %s",
                         weft_strerror(weft_faasm_call_error(fc->f)));
    }
    if (verdict == 1 && fc->ptr_rc != 0) {
        c->res->exit_status = fc->ptr_rc;
        node_result_fail(c->res, WEFT_CALL_EXIT, "exit status %d", fc->ptr_rc);
        verdict = 0;
    }
    /* The output is what __faasm_write_output gave, else stdout's. */
    const uint8_t *out;
    size_t len;
    weft_faasm_output(fc->f, &out, &len);
    if (len && (c->res->output = malloc(len))) {
        memcpy(c->res->output, out, len);
        c->res->output_len = len; /* call.c then leaves stdout unread */
    }
    return verdict;
}

static void faasm_free(void *state)
{
    faasm_call_t *fc = state;
    if (!fc)
        return;
    for (chained_t *ch = fc->children, *next; ch; ch = next) {
        next = ch->next;
        chained_unref(ch);
    }
    weft_faasm_delete(fc->f);
    free(fc);
}

/* keep: a Faasm call's instance is kept for the thread's next call of the
 * module and reset then (call.c), like Faasm's Proto-Faaslets restored
 * from a snapshot: its binding is all its host functions point to. */
const node_abi_t node_abi_faasm = {"faasm", faasm_bind, faasm_invoke, faasm_finish, faasm_free, 1,
                                   NULL, 1};
