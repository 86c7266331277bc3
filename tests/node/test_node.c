/*
 * test_node.c — the node layer (weft/node.h): apps, contexts, calls through
 * the writer's group commit and the view workers, limits, rollback of one
 * call inside a batch, persistence across a reopen, and a close that
 * finishes queued calls; and the one-call node `weft run` uses (inline,
 * without a data directory, the process's stdio, preopens, backtraces,
 * the kick and the bounded write lock wait). The apps are
 * tests/node/guests/node_app.c and plain_app.c.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/test.h"
#include "../store/tmpdir.h"
#include "weft/db.h"
#include "weft/error.h"
#include "weft/node.h"
#include "weft/profile.h"
#include "weft/store.h"
#include "node_app.h"

static void close_node(void *arg)
{
    weft_node_t **n = arg;
    weft_node_close(*n);
    *n = NULL;
}

static weft_node_t *node_a; /* closed at the end of each test */

static weft_node_t *open_node_flags(const char *dir, unsigned workers, int tier, unsigned flags)
{
    weft_node_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = dir;
    cfg.flags = WEFT_NODE_DB_NOSYNC | flags;
    cfg.workers = workers;
    cfg.tier = tier;
    char msg[256];
    weft_node_t *n = NULL;
    int rc = weft_node_open(&cfg, &n, msg, sizeof msg);
    if (rc != 0)
        FAIL("weft_node_open: %s", msg);
    return n;
}

static weft_node_t *open_node_tier(const char *dir, unsigned workers, int tier)
{
    return open_node_flags(dir, workers, tier, 0);
}

static weft_node_t *open_node(const char *dir, unsigned workers)
{
    return open_node_tier(dir, workers, WEFT_TIER_INTERP);
}

/* A node in a fresh directory with the test app deployed and context "c". */
static weft_node_t *setup(char out_id[WEFT_APP_ID_LEN + 1], char **out_dir)
{
    load_app();
    char *dir = tmpdir_new("node");
    node_a = open_node(dir, 2);
    test_defer(close_node, &node_a);
    char msg[512];
    int rc = weft_node_app_deploy(node_a, app_bytes, app_len, "node_app", out_id, msg, sizeof msg);
    if (rc != 0)
        FAIL("deploy: %s", msg);
    ASSERT_EQ_INT(weft_node_context_create(node_a, "c", out_id, msg, sizeof msg), 0);
    if (out_dir)
        *out_dir = dir;
    return node_a;
}

static weft_call_result_t *call(weft_node_t *n, const char *ctx, const char *fn, const char *input,
                                int view)
{
    weft_call_req_t req = node_req(ctx, fn, input);
    req.view = view;
    weft_call_result_t *res = NULL;
    ASSERT_EQ_INT(weft_node_call(n, &req, &res), 0);
    ASSERT_NOT_NULL(res);
    return res;
}

static void free_result(void *arg)
{
    weft_call_result_delete(arg);
}

/* The call's output as a NUL-terminated string owned by the test. */
static const char *output(weft_call_result_t *res)
{
    size_t len;
    const uint8_t *p = weft_call_result_output(res, &len);
    char *s = malloc(len + 1);
    ASSERT_NOT_NULL(s);
    memcpy(s, p, len);
    s[len] = '\0';
    test_defer(free, s);
    return s;
}

static weft_call_result_t *ok_call(weft_node_t *n, const char *fn, const char *input, int view)
{
    weft_call_result_t *res = call(n, "c", fn, input, view);
    test_defer(free_result, res);
    if (weft_call_result_outcome(res) != WEFT_CALL_OK)
        FAIL("%s(%s): outcome %d: %s", fn, input ? input : "", weft_call_result_outcome(res),
             weft_call_result_message(res));
    return res;
}

TEST(echo_input_to_output)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    weft_call_result_t *res = ok_call(n, "echo", "hello, node", 1);
    ASSERT_EQ_STR(output(res), "hello, node");
    ASSERT_GT_INT(weft_call_result_fuel(res), 0);
    ASSERT_GT_INT(weft_call_result_duration_ns(res), 0);
    res = ok_call(n, "echo", "as a write", 0);
    ASSERT_EQ_STR(output(res), "as a write");
}

TEST(deploy_is_idempotent_and_listed)
{
    char id[WEFT_APP_ID_LEN + 1], id2[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    ASSERT_EQ_INT(strlen(id), 64);
    ASSERT_EQ_INT(weft_node_app_deploy(n, app_bytes, app_len, "other", id2, NULL, 0), 0);
    ASSERT_EQ_STR(id, id2);
    weft_app_info_t info;
    ASSERT_EQ_INT(weft_node_app_get(n, id, &info), 0);
    ASSERT_EQ_STR(info.name, "node_app"); /* the first deploy's name stays */
    ASSERT_EQ_INT(info.size, app_len);
    ASSERT_EQ_INT(weft_node_app_get(n, "0000000000000000000000000000000000000000000000000000000000000000", &info),
                  WEFT_ENOTFOUND);
}

static const uint8_t garbage[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x7f, 0x01};
/* (module (import "foo" "bar" (func))) */
static const uint8_t foreign[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04,
                                  0x01, 0x60, 0x00, 0x00, 0x02, 0x0b, 0x01, 0x03, 'f',  'o',
                                  'o',  0x03, 'b',  'a',  'r',  0x00, 0x00};

/* (module (import "nx" "db_get" (func))): a known name of the wrong type */
static const uint8_t wrong_type[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04,
                                     0x01, 0x60, 0x00, 0x00, 0x02, 0x0d, 0x01, 0x02, 'n',  'x',
                                     0x06, 'd',  'b',  '_',  'g',  'e',  't',  0x00, 0x00};

TEST(deploy_refuses_bad_modules_with_reasons)
{
    char id[WEFT_APP_ID_LEN + 1], msg[512];
    weft_node_t *n = setup(id, NULL);
    ASSERT_EQ_INT(weft_node_app_deploy(n, garbage, sizeof garbage, NULL, id, msg, sizeof msg),
                  WEFT_EMALFORMED);
    ASSERT_TRUE(strstr(msg, "offset") != NULL);
    ASSERT_EQ_INT(weft_node_app_deploy(n, foreign, sizeof foreign, NULL, id, msg, sizeof msg),
                  WEFT_EUNLINKABLE);
    ASSERT_TRUE(strstr(msg, "foo.bar (unknown_namespace)") != NULL);
    ASSERT_EQ_INT(weft_node_app_deploy(n, wrong_type, sizeof wrong_type, NULL, id, msg, sizeof msg),
                  WEFT_EUNLINKABLE);
    ASSERT_TRUE(strstr(msg, "nx.db_get (wrong_type)") != NULL);
    ASSERT_EQ_INT(weft_node_app_deploy(n, app_bytes, app_len, "bad name!", id, msg, sizeof msg),
                  WEFT_EARG);
}

TEST(writes_commit_with_numbered_events_and_survive_reopen)
{
    char id[WEFT_APP_ID_LEN + 1], *dir;
    weft_node_t *n = setup(id, &dir);
    weft_call_result_t *res = ok_call(n, "put", "a=1", 0);
    const char *name;
    size_t nl, pl;
    const uint8_t *p;
    uint64_t seq;
    ASSERT_EQ_INT(weft_call_result_event_count(res), 1);
    ASSERT_EQ_INT(weft_call_result_event(res, 0, &name, &nl, &p, &pl, &seq), 0);
    ASSERT_EQ_INT(nl, 3);
    ASSERT_TRUE(memcmp(name, "put", 3) == 0 && pl == 1 && p[0] == 'a');
    ASSERT_EQ_INT(seq, 1);
    ASSERT_EQ_INT(weft_call_result_log_count(res), 1); /* "stored a" on stderr */
    res = ok_call(n, "put", "b=2", 0);
    ASSERT_EQ_INT(weft_call_result_event(res, 0, &name, &nl, &p, &pl, &seq), 0);
    ASSERT_EQ_INT(seq, 2);
    ASSERT_EQ_STR(output(ok_call(n, "get", "a", 1)), "1");

    weft_node_close(n);
    node_a = n = open_node(dir, 1);
    ASSERT_EQ_STR(output(ok_call(n, "get", "b", 1)), "2");
    res = ok_call(n, "put", "c=3", 0);
    ASSERT_EQ_INT(weft_call_result_event(res, 0, &name, &nl, &p, &pl, &seq), 0);
    ASSERT_EQ_INT(seq, 3); /* the sequence survives a restart */
}

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending;
    weft_call_result_t *res[64];
} waiter_t;

static void on_done(void *user, weft_call_result_t *res)
{
    waiter_t *w = user;
    pthread_mutex_lock(&w->mu);
    for (int i = 0; i < 64; i++) {
        if (!w->res[i]) {
            w->res[i] = res;
            break;
        }
    }
    w->pending--;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void submit(weft_node_t *n, waiter_t *w, const char *fn, const char *input)
{
    weft_call_req_t req = node_req("c", fn, input);
    pthread_mutex_lock(&w->mu);
    w->pending++;
    pthread_mutex_unlock(&w->mu);
    ASSERT_EQ_INT(weft_node_call_async(n, &req, on_done, w), 0);
}

static void wait_all(waiter_t *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->pending > 0)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

static void free_waiter(void *arg)
{
    waiter_t *w = arg;
    for (int i = 0; i < 64; i++)
        weft_call_result_delete(w->res[i]);
    free(w);
}

static waiter_t *new_waiter(void)
{
    waiter_t *w = calloc(1, sizeof *w);
    ASSERT_NOT_NULL(w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    test_defer(free_waiter, w);
    /* Defers run last first: the node closes (its queued calls finish,
     * held commits go on) before w is freed, also when the test fails
     * with calls in flight. */
    test_defer(close_node, &node_a);
    return w;
}

TEST(a_trap_rolls_back_only_its_own_call)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    waiter_t *w = new_waiter();
    /* Queued together, so they share batches with the failing calls. */
    for (int i = 0; i < 10; i++) {
        char kv[32];
        snprintf(kv, sizeof kv, "k%d=%d", i, i);
        submit(n, w, "put", kv);
        submit(n, w, i % 2 ? "put_then_trap" : "put_then_exit", NULL);
    }
    wait_all(w);
    int ok = 0, trap = 0, exited = 0;
    for (int i = 0; i < 20; i++) {
        weft_call_outcome_t o = weft_call_result_outcome(w->res[i]);
        ok += o == WEFT_CALL_OK;
        if (o == WEFT_CALL_TRAP) {
            trap++;
            ASSERT_EQ_INT(weft_call_result_trap(w->res[i]), WEFT_TRAP_UNREACHABLE);
            ASSERT_EQ_INT(weft_call_result_event_count(w->res[i]), 0);
            ASSERT_EQ_INT(weft_call_result_rolled_back(w->res[i]), 1);
        }
        if (o == WEFT_CALL_EXIT) {
            exited++;
            ASSERT_EQ_INT(weft_call_result_exit_status(w->res[i]), 3);
        }
    }
    ASSERT_EQ_INT(ok, 10);
    ASSERT_EQ_INT(trap, 5);
    ASSERT_EQ_INT(exited, 5);
    for (int i = 0; i < 10; i++) {
        char k[8], v[8];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "%d", i);
        ASSERT_EQ_STR(output(ok_call(n, "get", k, 1)), v);
    }
    weft_call_result_t *res = call(n, "c", "get", "doomed", 1);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_EXIT); /* absent */
}

typedef struct {
    weft_node_t *node;
    int calls, failures;
} counter_arg_t;

static void *count_thread(void *arg)
{
    counter_arg_t *c = arg;
    for (int i = 0; i < c->calls; i++) {
        weft_call_req_t req;
        memset(&req, 0, sizeof req);
        req.context = "c";
        req.function = "count";
        weft_call_result_t *res = NULL;
        if (weft_node_call(c->node, &req, &res) != 0 ||
            weft_call_result_outcome(res) != WEFT_CALL_OK)
            c->failures++;
        weft_call_result_delete(res);
    }
    return NULL;
}

TEST(write_calls_of_a_context_are_serialised)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    pthread_t t[6];
    counter_arg_t args[6];
    for (int i = 0; i < 6; i++) {
        args[i] = (counter_arg_t){n, 40, 0};
        ASSERT_EQ_INT(pthread_create(&t[i], NULL, count_thread, &args[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        ASSERT_EQ_INT(args[i].failures, 0);
    }
    ASSERT_EQ_STR(output(ok_call(n, "get", "count", 1)), "240");
}

/* Write calls run on an overlay of the batch (docs/node.md "Writes"): a
 * call whose overlay refuses an operation (a buffer past 64 MiB) runs
 * again in a nested transaction, with the same result, and later calls of
 * that function run nested at once; CRDT writes stay in their context and
 * run on overlays; a node opened WEFT_NODE_NO_OVERLAY runs every call
 * nested. */
TEST(write_calls_run_on_overlays_and_again_nested_when_refused)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    weft_node_stats_t st;
    weft_node_stats(n, &st);
    uint64_t ov0 = st.overlay_calls;
    ok_call(n, "put", "a=1", 0);
    ok_call(n, "count", NULL, 0);
    weft_node_stats(n, &st);
    ASSERT_EQ_U64(st.overlay_calls - ov0, 2);
    ASSERT_EQ_U64(st.overlay_refused, 0);
    ok_call(n, "fill", "66", 0);
    weft_node_stats(n, &st);
    ASSERT_EQ_U64(st.overlay_refused, 1);
    ASSERT_EQ_STR(output(ok_call(n, "get", "filled", 1)), "66");
    ok_call(n, "fill", "1", 0); /* nested at once */
    weft_node_stats(n, &st);
    ASSERT_EQ_U64(st.overlay_refused, 1);
    ASSERT_EQ_U64(st.overlay_calls - ov0, 2);
    ok_call(n, "bump", NULL, 0); /* a CRDT write: on an overlay */
    ok_call(n, "bump", NULL, 0);
    weft_call_result_t *res = ok_call(n, "count", NULL, 0);
    ASSERT_EQ_STR(output(res), "2");
    ASSERT_EQ_STR(output(ok_call(n, "get", "a", 1)), "1");
    weft_node_stats(n, &st);
    ASSERT_EQ_U64(st.overlay_refused, 1);
    ASSERT_EQ_U64(st.overlay_calls - ov0, 5);
    weft_node_close(n);

    node_a = NULL;
    node_a = open_node_flags(tmpdir_new("node"), 1, WEFT_TIER_INTERP, WEFT_NODE_NO_OVERLAY);
    char msg[512];
    ASSERT_EQ_INT(weft_node_app_deploy(node_a, app_bytes, app_len, "node_app", id, msg, sizeof msg),
                  0);
    ASSERT_EQ_INT(weft_node_context_create(node_a, "c", id, msg, sizeof msg), 0);
    ok_call(node_a, "put", "a=2", 0);
    ASSERT_EQ_STR(output(ok_call(node_a, "get", "a", 1)), "2");
    weft_node_stats(node_a, &st);
    ASSERT_EQ_U64(st.overlay_calls, 0);
}

/* No nx function that writes refuses an overlay (docs/node.md "Writes"):
 * every CRDT op, store write, event and log line of a call stays in its
 * context, so the call is never run twice nor nested. */
TEST(every_nx_write_runs_on_an_overlay)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    weft_node_stats_t st;
    weft_node_stats(n, &st);
    uint64_t ov0 = st.overlay_calls;
    ASSERT_EQ_STR(output(ok_call(n, "every_write", NULL, 0)), "ok");
    ASSERT_EQ_STR(output(ok_call(n, "every_write", NULL, 0)), "ok");
    weft_node_stats(n, &st);
    ASSERT_EQ_U64(st.overlay_refused, 0);
    ASSERT_EQ_U64(st.overlay_calls - ov0, 2);
}

/* A call reads its own writes and deletions, in gets and in scans,
 * merged with what is committed (on an overlay: its buffer over the
 * batch), and a trap after writes leaves nothing of them. */
TEST(a_call_reads_its_own_writes)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    ok_call(n, "put", "ryw/b=old", 0);
    ok_call(n, "put", "ryw/y=old", 0);
    ok_call(n, "put", "ryw/z=x", 0);
    ASSERT_EQ_STR(output(ok_call(n, "ryw", NULL, 0)), "ryw/b,ryw/c,ryw/z;b=2");
    ASSERT_EQ_STR(output(ok_call(n, "get", "ryw/b", 1)), "2");
    weft_call_result_t *res = call(n, "c", "get", "ryw/y", 1);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_EXIT); /* deleted */
    res = call(n, "c", "put_then_trap", NULL, 0);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_TRAP);
    res = call(n, "c", "get", "doomed", 1);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_EXIT);
    weft_node_stats_t st;
    weft_node_stats(n, &st);
    ASSERT_GT_U64(st.overlay_calls, 4);
}

/* A call whose result goes to its own slot of a waiter_t (results by
 * submission order), on context ctx, with the optional preopen `dir` as
 * /d and a timeout of 20 s (a deadline that fails a test instead of
 * hanging it). */
typedef struct {
    waiter_t *w;
    weft_call_result_t **slot;
} slot_arg_t;

static void on_slot(void *user, weft_call_result_t *res)
{
    slot_arg_t *a = user;
    pthread_mutex_lock(&a->w->mu);
    *a->slot = res;
    a->w->pending--;
    pthread_cond_signal(&a->w->cv);
    pthread_mutex_unlock(&a->w->mu);
    free(a);
}

static void submit_timed(weft_node_t *n, waiter_t *w, int i, const char *ctx, const char *fn,
                         const char *input, const char *dir, uint64_t timeout_ns)
{
    weft_wasi_preopen_t pre = {.host_path = dir, .guest_path = "/d"};
    weft_call_req_t req = node_req(ctx, fn, input);
    req.limits.timeout_ns = timeout_ns;
    if (dir) {
        req.dirs = &pre;
        req.ndirs = 1;
    }
    slot_arg_t *a = malloc(sizeof *a);
    ASSERT_NOT_NULL(a);
    a->w = w;
    a->slot = &w->res[i];
    pthread_mutex_lock(&w->mu);
    w->pending++;
    pthread_mutex_unlock(&w->mu);
    ASSERT_EQ_INT(weft_node_call_async(n, &req, on_slot, a), 0);
}

static void submit_to(weft_node_t *n, waiter_t *w, int i, const char *ctx, const char *fn,
                      const char *input, const char *dir)
{
    submit_timed(n, w, i, ctx, fn, input, dir, 20ull * 1000000000u);
}

static const char *slot_output(waiter_t *w, int i, weft_call_outcome_t want)
{
    weft_call_result_t *res = w->res[i];
    ASSERT_NOT_NULL(res);
    if (weft_call_result_outcome(res) != want)
        FAIL("call %d: outcome %d, not %d: %s", i, weft_call_result_outcome(res), want,
             weft_call_result_message(res));
    return output(res);
}

/* Waits (20 s at most, then fails) until the counter of weft_node_stats_t
 * at offset `off` reaches want; the stats then in *out. */
static void wait_stat(weft_node_t *n, size_t off, uint64_t want, weft_node_stats_t *out)
{
    for (int tries = 0;; tries++) {
        weft_node_stats(n, out);
        uint64_t v;
        memcpy(&v, (const char *)out + off, sizeof v);
        if (v >= want)
            return;
        if (tries > 20000)
            FAIL("a node counter stayed at %llu, not %llu", (unsigned long long)v,
                 (unsigned long long)want);
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The number of the first event of res. */
static uint64_t event_seq(const weft_call_result_t *res)
{
    const char *name;
    const uint8_t *p;
    size_t nl, pl;
    uint64_t seq = 0;
    ASSERT_EQ_INT(weft_call_result_event(res, 0, &name, &nl, &p, &pl, &seq), 0);
    return seq;
}

/* The value of key in context ctx, read by a view ("" when absent). */
static const char *ctx_get(weft_node_t *n, const char *ctx, const char *key)
{
    weft_call_result_t *res = call(n, ctx, "get", key, 1);
    test_defer(free_result, res);
    return weft_call_result_outcome(res) == WEFT_CALL_OK ? output(res) : "";
}

/* A node (2 workers, kicked at deadlines) in a fresh directory, closed at
 * the end of the test, with the test app deployed and contexts "a" and
 * "b" (and "c" when three is set). */
static weft_node_t *open_ab_node(int three)
{
    load_app();
    node_a = open_node_flags(tmpdir_new("ab"), 2, WEFT_TIER_INTERP, WEFT_NODE_KICK);
    test_defer(close_node, &node_a);
    char id[WEFT_APP_ID_LEN + 1], msg[512];
    ASSERT_EQ_INT(weft_node_app_deploy(node_a, app_bytes, app_len, "node_app", id, msg, sizeof msg),
                  0);
    const char *ctxs[] = {"a", "b", "c"};
    for (int i = 0; i < (three ? 3 : 2); i++)
        ASSERT_EQ_INT(weft_node_context_create(node_a, ctxs[i], id, msg, sizeof msg), 0);
    return node_a;
}

/* A fresh directory holding a FIFO named "fifo" (the app's "meet"). */
static char *fifo_dir(void)
{
    char *dir = tmpdir_new("fifo"), path[4096];
    snprintf(path, sizeof path, "%s/fifo", dir);
    ASSERT_EQ_INT(mkfifo(path, 0600), 0);
    return dir;
}

/* Opens dir's FIFO both ways, which never blocks: a call blocked opening
 * either end, or coming to it later, goes on. */
static int fifo_open(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/fifo", dir);
    int fd = open(path, O_RDWR);
    ASSERT_TRUE(fd >= 0);
    return fd;
}

/* Write calls of different contexts run at the same time (docs/node.md
 * "Writes"): each call opens one end of a FIFO, which blocks until the
 * other call opens the other end, so both finish only when their guests
 * overlap. Run one after the other, the first would block until its
 * deadline (kicked, it traps) and the test would fail. The first of each
 * pair, alone when it comes, runs on the commit thread (a lone writer);
 * the second, coming while the first is in flight, on a worker. */
TEST(write_calls_of_different_contexts_run_in_parallel)
{
    weft_node_t *n = open_ab_node(0);
    char *fifo = fifo_dir();
    waiter_t *w = new_waiter();
    for (int round = 0; round < 2; round++) {
        submit_to(n, w, 2 * round, "a", "meet", "w", fifo);
        submit_to(n, w, 2 * round + 1, "b", "meet", "r", fifo);
        wait_all(w);
        slot_output(w, 2 * round, WEFT_CALL_OK);
        slot_output(w, 2 * round + 1, WEFT_CALL_OK);
    }
    ASSERT_EQ_STR(ctx_get(n, "a", "met"), "w");
    ASSERT_EQ_STR(ctx_get(n, "b", "met"), "r");
    weft_node_stats_t st;
    weft_node_stats(n, &st);
    ASSERT_EQ_U64(st.worker_write_calls, 2);
    ASSERT_EQ_U64(st.writer_guest_calls, 2);
}

/* A lone caller's write calls run their guests on the commit thread, on
 * an overlay of the batch, with no hop to a worker (docs/node.md "A lone
 * writer"): one after the other, and queued together; events are
 * numbered in order, and a trap or an exit among them rolls back only its
 * own call. */
TEST(a_lone_callers_writes_run_on_the_commit_thread)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    weft_node_stats_t st0, st;
    weft_node_stats(n, &st0);
    uint64_t seq1 = event_seq(ok_call(n, "put", "a=1", 0));
    ASSERT_EQ_U64(event_seq(ok_call(n, "put", "b=2", 0)), seq1 + 1);
    ASSERT_EQ_STR(output(ok_call(n, "count", NULL, 0)), "1");
    weft_call_result_t *res = call(n, "c", "put_then_trap", NULL, 0);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_TRAP);
    ASSERT_EQ_INT(weft_call_result_rolled_back(res), 1);
    weft_node_stats(n, &st);
    ASSERT_EQ_U64(st.writer_guest_calls - st0.writer_guest_calls, 4);
    ASSERT_EQ_U64(st.worker_write_calls - st0.worker_write_calls, 0);

    /* Queued together: each follows the one before it on the commit
     * thread, reading its writes before their batch commits. */
    waiter_t *w = new_waiter();
    for (int i = 0; i < 8; i++) {
        submit_to(n, w, 3 * i, "c", "count", NULL, NULL);
        submit_to(n, w, 3 * i + 1, "c", i % 2 ? "put_then_trap" : "put_then_exit", NULL, NULL);
        char kv[16];
        snprintf(kv, sizeof kv, "k%d=%d", i, i);
        submit_to(n, w, 3 * i + 2, "c", "put", kv, NULL);
    }
    wait_all(w);
    for (int i = 0; i < 8; i++) {
        char want[8];
        snprintf(want, sizeof want, "%d", i + 2);
        ASSERT_EQ_STR(slot_output(w, 3 * i, WEFT_CALL_OK), want);
        slot_output(w, 3 * i + 1, i % 2 ? WEFT_CALL_TRAP : WEFT_CALL_EXIT);
        ASSERT_EQ_INT(weft_call_result_rolled_back(w->res[3 * i + 1]), 1);
        slot_output(w, 3 * i + 2, WEFT_CALL_OK);
    }
    ASSERT_EQ_STR(output(ok_call(n, "get", "count", 1)), "9");
    ASSERT_EQ_STR(output(ok_call(n, "get", "k7", 1)), "7");
    res = call(n, "c", "get", "doomed", 1);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_EXIT); /* absent */
    weft_node_stats(n, &st);
    ASSERT_EQ_U64(st.writer_guest_calls - st0.writer_guest_calls, 4 + 24);
    ASSERT_EQ_U64(st.worker_write_calls - st0.worker_write_calls, 0);
    ASSERT_EQ_U64(st.writer_calls_returned, 0);
}

/* A lone writer's call whose overlay refuses an operation runs nested on
 * the commit thread at once when no write call runs on a worker; when one
 * does (another context's, started while the first call of this context
 * ran), the commit thread gives the call back to the sequencer, where it
 * waits for that worker's call as any serial job does, and the later
 * calls of its context after it. */
TEST(a_lone_writers_refused_call_waits_for_the_workers)
{
    weft_node_t *n = open_ab_node(0);
    weft_node_stats_t st;

    /* alone: refused (a buffer past 64 MiB), nested at once */
    weft_call_result_t *res = call(n, "a", "fill", "66", 0);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_OK);
    weft_node_stats(n, &st);
    ASSERT_EQ_U64(st.overlay_refused, 1);
    ASSERT_EQ_U64(st.writer_calls_returned, 0);

    char *da = fifo_dir(), *db = fifo_dir();
    waiter_t *w = new_waiter();
    submit_to(n, w, 0, "a", "meet", "w", da);  /* the commit thread, blocked */
    submit_to(n, w, 1, "b", "meet", "r", db);  /* a worker, blocked */
    submit_to(n, w, 2, "a", "fill", "1", NULL); /* after call 0: serial now */
    submit_to(n, w, 3, "a", "put", "x=1", NULL);
    int ra = fifo_open(da); /* lets call 0 go on */
    wait_stat(n, offsetof(weft_node_stats_t, writer_calls_returned), 1, &st);
    pthread_mutex_lock(&w->mu);
    int waiting = !w->res[2] && !w->res[3] && !w->res[1];
    pthread_mutex_unlock(&w->mu);
    ASSERT_TRUE(waiting); /* call 1 still blocks on its worker; 2 and 3 wait for it */
    int rb = fifo_open(db); /* lets call 1 go on */
    wait_all(w);
    close(ra);
    close(rb);
    for (int i = 0; i < 4; i++)
        slot_output(w, i, WEFT_CALL_OK);
    ASSERT_EQ_STR(ctx_get(n, "a", "filled"), "1");
    ASSERT_EQ_STR(ctx_get(n, "a", "x"), "1");
    ASSERT_EQ_STR(ctx_get(n, "b", "met"), "r");
    weft_node_stats(n, &st);
    ASSERT_EQ_U64(st.writer_calls_returned, 1);
    ASSERT_EQ_U64(st.worker_write_calls, 1);
}

/* Write calls that wait for their context's call running on a worker are
 * not scanned again at every dispatch (node.c "the sequencer"): with 40
 * calls of context a waiting behind a's call blocked on a worker, ten
 * calls of context c, run one after the other on the other worker, cost
 * the sequencer about two looks each, not 40 (the commit thread held, so
 * every guest runs on a worker). */
TEST(calls_waiting_for_a_busy_context_do_not_slow_other_contexts_dispatch)
{
    weft_node_t *n = open_ab_node(1);
    char *da = fifo_dir();
    weft_node_hold_commits(n, 1);
    waiter_t *w = new_waiter();
    submit_to(n, w, 0, "a", "meet", "w", da); /* a worker, blocked */
    for (int i = 1; i <= 40; i++)
        submit_to(n, w, i, "a", "count", NULL, NULL);
    weft_node_stats_t st0, st;
    weft_node_stats(n, &st0);
    for (int i = 0; i < 10; i++) {
        char kv[16];
        snprintf(kv, sizeof kv, "k%d=%d", i, i);
        submit_to(n, w, 41 + i, "c", "put", kv, NULL);
    }
    wait_stat(n, offsetof(weft_node_stats_t, worker_write_calls), st0.worker_write_calls + 10, &st);
    int ra = fifo_open(da); /* lets a's call go on */
    weft_node_hold_commits(n, 0);
    wait_all(w);
    close(ra);
    if (st.dispatch_steps - st0.dispatch_steps > 30)
        FAIL("ten calls of c took %llu dispatch steps",
             (unsigned long long)(st.dispatch_steps - st0.dispatch_steps));
    for (int i = 0; i < 51; i++)
        slot_output(w, i, WEFT_CALL_OK);
    ASSERT_EQ_STR(slot_output(w, 40, WEFT_CALL_OK), "40"); /* in order */
    ASSERT_EQ_STR(ctx_get(n, "a", "count"), "40");
    ASSERT_EQ_STR(ctx_get(n, "c", "k9"), "9");
}

/* Calls of one context stack on the overlays of the calls before them
 * while those are not yet committed (the commit thread held): each reads
 * their writes, never those of a call that trapped between them, which
 * rolls back alone; once let go, the batch commits them all. */
/* Waits until `want` write calls more than st0's have run their guests on
 * the workers, while w still waits for all of them: none was committed
 * (a result comes only after its commit). */
static void wait_worker_calls(weft_node_t *n, const weft_node_stats_t *st0, uint64_t want,
                              waiter_t *w)
{
    weft_node_stats_t st;
    wait_stat(n, offsetof(weft_node_stats_t, worker_write_calls), st0->worker_write_calls + want,
              &st);
    pthread_mutex_lock(&w->mu);
    int pending = w->pending;
    pthread_mutex_unlock(&w->mu);
    ASSERT_EQ_INT(pending, (int)want);
}

TEST(stacked_calls_read_through_overlays_not_yet_committed)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    weft_node_stats_t st0, st;
    weft_node_stats(n, &st0);
    weft_node_hold_commits(n, 1);
    waiter_t *w = new_waiter();
    const char *calls[][2] = {{"count", NULL},  {"put", "k=1"},         {"count", NULL},
                              {"put_then_trap", NULL}, {"get", "doomed"}, {"ryw", NULL},
                              {"put", "k=2"},   {"get", "k"},           {"count", NULL}};
    int ncalls = (int)(sizeof calls / sizeof calls[0]);
    for (int i = 0; i < ncalls; i++)
        submit_to(n, w, i, "c", calls[i][0], calls[i][1], NULL);
    /* Every guest runs before anything commits. */
    wait_worker_calls(n, &st0, (uint64_t)ncalls, w);
    weft_node_stats(n, &st);
    ASSERT_EQ_U64(st.commits, st0.commits);
    ASSERT_EQ_U64(st.stacked_calls - st0.stacked_calls, (uint64_t)ncalls - 1);
    weft_node_hold_commits(n, 0);
    wait_all(w);
    ASSERT_EQ_STR(slot_output(w, 0, WEFT_CALL_OK), "1");
    ASSERT_EQ_STR(slot_output(w, 2, WEFT_CALL_OK), "2");
    slot_output(w, 3, WEFT_CALL_TRAP);
    ASSERT_EQ_INT(weft_call_result_rolled_back(w->res[3]), 1);
    slot_output(w, 4, WEFT_CALL_EXIT); /* the trapped call's write is not there */
    ASSERT_EQ_STR(slot_output(w, 5, WEFT_CALL_OK), "ryw/b,ryw/c;b=2");
    ASSERT_EQ_STR(slot_output(w, 7, WEFT_CALL_OK), "2");
    ASSERT_EQ_STR(slot_output(w, 8, WEFT_CALL_OK), "3");
    /* the events of stacked calls are numbered in order */
    ASSERT_EQ_U64(event_seq(w->res[6]), event_seq(w->res[1]) + 1);
    ASSERT_EQ_STR(output(ok_call(n, "get", "k", 1)), "2");
    ASSERT_EQ_STR(output(ok_call(n, "get", "count", 1)), "3");
    weft_call_result_t *res = call(n, "c", "get", "doomed", 1);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_EXIT);
}

/* The test app in context "c" of a fresh node committing at most
 * max_batch write jobs at once. */
static weft_node_t *setup_batch(unsigned max_batch)
{
    load_app();
    weft_node_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = tmpdir_new("node");
    cfg.flags = WEFT_NODE_DB_NOSYNC;
    cfg.workers = 2;
    cfg.tier = WEFT_TIER_INTERP;
    cfg.max_batch = max_batch;
    char msg[512], id[WEFT_APP_ID_LEN + 1];
    if (weft_node_open(&cfg, &node_a, msg, sizeof msg) != 0)
        FAIL("weft_node_open: %s", msg);
    test_defer(close_node, &node_a);
    if (weft_node_app_deploy(node_a, app_bytes, app_len, "node_app", id, msg, sizeof msg) != 0)
        FAIL("deploy: %s", msg);
    ASSERT_EQ_INT(weft_node_context_create(node_a, "c", id, msg, sizeof msg), 0);
    return node_a;
}

/* A batch whose commit fails for good (an I/O error, injected) fails its
 * calls, and every later call of the context that read through one of them
 * fails too, though its own batch commits: none of their writes is kept,
 * and the node goes on. One call per batch, so each stacked call is in a
 * batch of its own after the one that failed. */
TEST(a_batch_failing_for_good_fails_the_calls_stacked_on_it)
{
    weft_node_t *n = setup_batch(1);
    weft_node_stats_t st0, st;
    weft_node_stats(n, &st0);
    weft_node_hold_commits(n, 1);
    waiter_t *w = new_waiter();
    submit_to(n, w, 0, "c", "put", "k=1", NULL);
    submit_to(n, w, 1, "c", "count", NULL, NULL); /* reads through call 0 */
    submit_to(n, w, 2, "c", "put", "j=2", NULL);  /* through 1 and 0 */
    wait_worker_calls(n, &st0, 3, w);
    ASSERT_EQ_INT((int)weft_node_fail_next(n, 1, WEFT_EIO, 1), 0);
    weft_node_hold_commits(n, 0);
    wait_all(w);
    ASSERT_EQ_INT((int)weft_node_fail_next(n, 1, 0, 0), 0); /* the failure happened */
    slot_output(w, 0, WEFT_CALL_ERROR);
    ASSERT_TRUE(strstr(weft_call_result_message(w->res[0]), "cannot commit the call") != NULL);
    for (int i = 1; i < 3; i++) {
        slot_output(w, i, WEFT_CALL_ERROR);
        if (!strstr(weft_call_result_message(w->res[i]), "was not committed"))
            FAIL("call %d: %s", i, weft_call_result_message(w->res[i]));
    }
    /* the events of failed calls were never published: no sequence number */
    const char *name;
    const uint8_t *p;
    size_t nl, pl;
    uint64_t seq = 1;
    ASSERT_EQ_INT(weft_call_result_event(w->res[2], 0, &name, &nl, &p, &pl, &seq), 0);
    ASSERT_EQ_U64(seq, 0);
    weft_node_stats(n, &st);
    ASSERT_EQ_U64(st.worker_write_calls - st0.worker_write_calls, 3);
    /* nothing of the three was kept; the node goes on */
    for (int i = 0; i < 3; i++) {
        static const char *const keys[] = {"k", "count", "j"};
        weft_call_result_t *res = call(n, "c", "get", keys[i], 1);
        test_defer(free_result, res);
        if (weft_call_result_outcome(res) != WEFT_CALL_EXIT)
            FAIL("%s is there: %s", keys[i], output(res));
    }
    ASSERT_EQ_STR(output(ok_call(n, "count", NULL, 0)), "1");
    ASSERT_EQ_STR(output(ok_call(n, "get", "count", 1)), "1");
}

/* A full map (injected: LMDB's MDB_MAP_FULL) while the commit thread
 * replays the workers' overlays into a batch, or at the batch's commit,
 * makes the map grow and the same overlays replay in a later batch: every
 * call succeeds once, its guest never run again; past NODE_MAX_TRIES (8)
 * tries the calls fail, with nothing kept. */
TEST(a_full_map_replays_worker_overlays_without_running_their_guests_again)
{
    weft_node_t *n = setup_batch(0);
    for (int at_commit = 0; at_commit < 2; at_commit++) {
        weft_node_stats_t st0, st;
        weft_node_stats(n, &st0);
        weft_node_hold_commits(n, 1);
        waiter_t *w = new_waiter();
        submit_to(n, w, 0, "c", "count", NULL, NULL);
        submit_to(n, w, 1, "c", at_commit ? "put" : "count", at_commit ? "k=commit" : NULL, NULL);
        submit_to(n, w, 2, "c", "count", NULL, NULL);
        wait_worker_calls(n, &st0, 3, w);
        ASSERT_EQ_INT((int)weft_node_fail_next(n, at_commit, WEFT_ELIMIT, 3), 0);
        weft_node_hold_commits(n, 0);
        wait_all(w);
        ASSERT_EQ_INT((int)weft_node_fail_next(n, at_commit, 0, 0), 0); /* all three happened */
        const char *want0 = at_commit ? "4" : "1";
        ASSERT_EQ_STR(slot_output(w, 0, WEFT_CALL_OK), want0);
        ASSERT_EQ_STR(slot_output(w, 2, WEFT_CALL_OK), at_commit ? "5" : "3");
        slot_output(w, 1, WEFT_CALL_OK);
        weft_node_stats(n, &st);
        ASSERT_EQ_U64(st.worker_write_calls - st0.worker_write_calls, 3); /* each guest once */
        ASSERT_EQ_U64(st.overlay_refused, st0.overlay_refused);
    }
    ASSERT_EQ_STR(output(ok_call(n, "get", "count", 1)), "5");
    ASSERT_EQ_STR(output(ok_call(n, "get", "k", 1)), "commit");

    /* a map that stays full: the calls fail after NODE_MAX_TRIES */
    weft_node_stats_t st0;
    weft_node_stats(n, &st0);
    weft_node_hold_commits(n, 1);
    waiter_t *w = new_waiter();
    submit_to(n, w, 0, "c", "count", NULL, NULL);
    submit_to(n, w, 1, "c", "put", "k=lost", NULL);
    wait_worker_calls(n, &st0, 2, w);
    weft_node_fail_next(n, 0, WEFT_ELIMIT, 1000);
    weft_node_hold_commits(n, 0);
    wait_all(w);
    ASSERT_TRUE(weft_node_fail_next(n, 0, 0, 0) > 0); /* disarmed with failures left */
    for (int i = 0; i < 2; i++) {
        slot_output(w, i, WEFT_CALL_ERROR);
        if (!strstr(weft_call_result_message(w->res[i]), "cannot commit the call"))
            FAIL("call %d: %s", i, weft_call_result_message(w->res[i]));
    }
    ASSERT_EQ_STR(output(ok_call(n, "get", "count", 1)), "5");
    ASSERT_EQ_STR(output(ok_call(n, "get", "k", 1)), "commit");
    ASSERT_EQ_STR(output(ok_call(n, "count", NULL, 0)), "6");
}

/* A full map (injected) at the log record of a lone writer's call that
 * wrote nothing kills the batch after that call was done: the batch, and
 * the calls after it, which met the dead batch, run again in the order
 * they came, so the call still sees the state before the calls after it.
 * (The commit thread is kept busy by a call that spins until its
 * deadline, so the three calls after it queue for one batch.) */
TEST(a_full_map_runs_a_lone_writers_calls_again_in_their_order)
{
    weft_node_t *n = setup_batch(0);
    waiter_t *w = new_waiter();
    submit_timed(n, w, 0, "c", "spin", NULL, NULL, 300000000u); /* the commit thread */
    submit_to(n, w, 1, "c", "get", "count", NULL); /* a write call: no writes, a log line */
    submit_to(n, w, 2, "c", "count", NULL, NULL);
    submit_to(n, w, 3, "c", "count", NULL, NULL);
    ASSERT_EQ_INT((int)weft_node_fail_next(n, 0, WEFT_ELIMIT, 1), 0);
    wait_all(w);
    ASSERT_EQ_INT((int)weft_node_fail_next(n, 0, 0, 0), 0); /* it happened */
    slot_output(w, 0, WEFT_CALL_TRAP);
    slot_output(w, 1, WEFT_CALL_EXIT); /* no count yet */
    ASSERT_EQ_STR(slot_output(w, 2, WEFT_CALL_OK), "1");
    ASSERT_EQ_STR(slot_output(w, 3, WEFT_CALL_OK), "2");
    weft_node_stats_t st;
    weft_node_stats(n, &st);
    ASSERT_EQ_U64(st.worker_write_calls, 0);
}

/* A write call to a context name no overlay can take (empty, or past the
 * store's 255 bytes) goes the nested way, which fails it with the reason;
 * the node goes on. */
TEST(a_write_call_to_an_impossible_context_name_fails_with_the_reason)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    char long_name[301];
    memset(long_name, 'x', 300);
    long_name[300] = '\0';
    const char *names[] = {"", long_name};
    for (int i = 0; i < 2; i++) {
        weft_call_result_t *res = call(n, names[i], "count", NULL, 0);
        test_defer(free_result, res);
        ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_ERROR);
        if (!strstr(weft_call_result_message(res), "context"))
            FAIL("name of %zu bytes: %s", strlen(names[i]), weft_call_result_message(res));
    }
    ASSERT_EQ_STR(output(ok_call(n, "count", NULL, 0)), "1");
}

TEST(numeric_arguments_and_results)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    weft_val_t args[2] = {weft_val_i32(40), weft_val_i32(2)};
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = "c";
    req.function = "add";
    req.args = args;
    req.nargs = 2;
    req.view = 1;
    weft_call_result_t *res = NULL;
    ASSERT_EQ_INT(weft_node_call(n, &req, &res), 0);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_OK);
    const weft_val_t *v;
    ASSERT_EQ_INT(weft_call_result_values(res, &v), 1);
    ASSERT_EQ_INT(v[0].of.i32, 42);

    req.nargs = 1;
    weft_call_result_t *bad = NULL;
    ASSERT_EQ_INT(weft_node_call(n, &req, &bad), 0);
    test_defer(free_result, bad);
    ASSERT_EQ_INT(weft_call_result_outcome(bad), WEFT_CALL_ERROR);
    ASSERT_TRUE(strstr(weft_call_result_message(bad), "takes 2 arguments") != NULL);
}

TEST(limits_timeout_and_output)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = "c";
    req.function = "spin";
    req.limits.timeout_ns = 50 * 1000000ull;
    weft_call_result_t *res = NULL;
    ASSERT_EQ_INT(weft_node_call(n, &req, &res), 0);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_TRAP);
    ASSERT_EQ_INT(weft_call_result_trap(res), WEFT_TRAP_INTERRUPTED);

    req.function = "spin";
    req.limits.timeout_ns = 0;
    req.limits.fuel = 100000;
    req.view = 1;
    weft_call_result_t *fuel = NULL;
    ASSERT_EQ_INT(weft_node_call(n, &req, &fuel), 0);
    test_defer(free_result, fuel);
    ASSERT_EQ_INT(weft_call_result_trap(fuel), WEFT_TRAP_OUT_OF_FUEL);
    ASSERT_EQ_INT(weft_call_result_rolled_back(fuel), 0); /* it wrote nothing */

    memset(&req, 0, sizeof req);
    req.context = "c";
    req.function = "shout";
    req.input = (const uint8_t *)"100000";
    req.input_len = 6;
    req.limits.max_output = 1000;
    weft_call_result_t *big = NULL;
    ASSERT_EQ_INT(weft_node_call(n, &req, &big), 0);
    test_defer(free_result, big);
    ASSERT_EQ_INT(weft_call_result_outcome(big), WEFT_CALL_TRAP); /* stopped as it writes */
    ASSERT_TRUE(strstr(weft_call_result_message(big), "more than 1000 bytes to stdout") != NULL);

    req.function = "yell"; /* stderr is bounded too (4 MiB), as it is written */
    req.input = (const uint8_t *)"5000000";
    req.input_len = 7;
    req.limits.max_output = 0;
    weft_call_result_t *loud = NULL;
    ASSERT_EQ_INT(weft_node_call(n, &req, &loud), 0);
    test_defer(free_result, loud);
    ASSERT_EQ_INT(weft_call_result_outcome(loud), WEFT_CALL_TRAP);
    ASSERT_TRUE(strstr(weft_call_result_message(loud), "bytes to stderr") != NULL);

    req.function = "echo";
    req.limits.max_input = 3;
    weft_call_result_t *in = NULL;
    ASSERT_EQ_INT(weft_node_call(n, &req, &in), 0);
    test_defer(free_result, in);
    ASSERT_EQ_INT(weft_call_result_outcome(in), WEFT_CALL_ERROR);
    ASSERT_TRUE(strstr(weft_call_result_message(in), "input") != NULL);

    /* The watchdog is woken only for a deadline earlier than the one it
     * sleeps until (node_slot_set): after a call with a far deadline (600 s:
     * past the test's timeout) that runs long enough for the watchdog to see
     * it (until its fuel runs out), a call with a near one still ends at
     * its own. */
    req.function = "spin";
    req.limits.max_input = 0;
    req.view = 1;
    req.limits.timeout_ns = 600 * 1000000000ull;
    req.limits.fuel = 20 * 1000000;
    weft_call_result_t *far = NULL;
    ASSERT_EQ_INT(weft_node_call(n, &req, &far), 0);
    test_defer(free_result, far);
    ASSERT_EQ_INT(weft_call_result_trap(far), WEFT_TRAP_OUT_OF_FUEL);
    req.limits.fuel = 0;
    for (int view = 1; view >= 0; view--) { /* a worker's slot, the writer's */
        req.view = view;
        req.limits.timeout_ns = 50 * 1000000ull;
        weft_call_result_t *near = NULL;
        ASSERT_EQ_INT(weft_node_call(n, &req, &near), 0);
        test_defer(free_result, near);
        ASSERT_EQ_INT(weft_call_result_trap(near), WEFT_TRAP_INTERRUPTED);
    }
}

/* A call in a kept instance whose deadline passes while the instance is
 * reset still stops at it: the reset cleared the store's interrupt flag,
 * and the watchdog interrupts a deadline only once (a view of
 * a_short_view... below spun for ever under ASan); now a reset keeps the
 * flag and the call clears a stale one before it arms its deadline
 * (weft/store.h, weft_store_interrupt). On this thread, in the
 * instance it keeps: a view that touches 1 MiB of memory (then traps: a
 * view's write), so the next reset has that to clear, then a spin whose
 * deadline of a few us passes during that clear or soon after. */
TEST(a_deadline_passing_while_a_kept_instance_is_reset_still_stops_the_call)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    for (int i = 0; i < 100; i++) {
        weft_call_req_t req = node_req("c", i % 2 ? "spin" : "fill", i % 2 ? NULL : "1");
        req.view = 1;
        req.limits.timeout_ns = i % 2 ? 1000u + 1000u * (unsigned)(i % 20) : 0; /* 1-20 us */
        weft_call_result_t *res = NULL;
        int rc = weft_node_call_here(n, &req, &res);
        if (rc == 1) /* cut at the 1 ms budget on a loaded machine: on a worker */
            ASSERT_EQ_INT(weft_node_call(n, &req, &res), 0);
        else
            ASSERT_EQ_INT(rc, 0);
        ASSERT_NOT_NULL(res);
        int trap = weft_call_result_trap(res);
        weft_call_result_delete(res);
        if (i % 2)
            ASSERT_EQ_INT(trap, WEFT_TRAP_INTERRUPTED);
    }
    weft_node_stats_t st;
    weft_node_stats(n, &st);
    ASSERT_TRUE(st.kept_instance_calls > 0);
}

TEST(a_short_view_runs_on_the_callers_thread_and_a_long_one_goes_to_the_workers)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    ok_call(n, "put", "k=v", 0);
    weft_call_req_t req = node_req("c", "get", "k");
    req.view = 1;
    /* A loaded machine (the sanitizers, tests beside this one) may stop a
     * short view past the 1 ms budget: it is then declined and its
     * function's views go to the workers until one there is short. So
     * until it runs here, it runs there. */
    weft_call_result_t *res = NULL;
    int rc, tries = 0;
    while ((rc = weft_node_call_here(n, &req, &res)) == 1 && ++tries < 100) {
        weft_call_result_t *there = NULL;
        ASSERT_EQ_INT(weft_node_call(n, &req, &there), 0);
        weft_call_result_delete(there);
    }
    ASSERT_EQ_INT(rc, 0);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_OK);
    ASSERT_EQ_STR(output(res), "v");
    /* a view whose own deadline comes before the budget fails at it, here */
    req = node_req("c", "spin", NULL);
    req.view = 1;
    req.limits.timeout_ns = 300 * 1000u;
    weft_call_result_t *late = NULL;
    ASSERT_EQ_INT(weft_node_call_here(n, &req, &late), 0);
    test_defer(free_result, late);
    ASSERT_EQ_INT(weft_call_result_trap(late), WEFT_TRAP_INTERRUPTED);
    weft_node_stats_t st;
    weft_node_stats(n, &st);
    ASSERT_EQ_U64(st.views_here, 2);
    /* one that runs on is cut at the budget and not run here: nothing of it
     * is kept, and the function's views go to the workers from then on */
    req.limits.timeout_ns = 0;
    weft_call_result_t *none = NULL;
    ASSERT_EQ_INT(weft_node_call_here(n, &req, &none), 1);
    ASSERT_NULL(none);
    ASSERT_EQ_INT(weft_node_call_here(n, &req, &none), 1);
    req.limits.timeout_ns = 300 * 1000u; /* would fail here at once, were it run here */
    ASSERT_EQ_INT(weft_node_call_here(n, &req, &none), 1);
    weft_node_stats(n, &st);
    ASSERT_EQ_U64(st.views_here, 2);
    /* a write is no view */
    req = node_req("c", "put", "x=1");
    ASSERT_EQ_INT(weft_node_call_here(n, &req, &none), 1);
    ASSERT_NULL(none);
}

TEST(a_view_cannot_write)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    weft_call_result_t *res = call(n, "c", "put", "v=1", 1);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_TRAP);
    ASSERT_TRUE(strstr(weft_call_result_message(res), "nx.db_set: a view cannot write") != NULL);
    res = call(n, "c", "get", "v", 1);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_EXIT); /* nothing stored */
    res = call(n, "c", "bump", NULL, 1); /* a CRDT update */
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_TRAP);
    ASSERT_TRUE(strstr(weft_call_result_message(res), "a view cannot write") != NULL);
    ok_call(n, "bump", NULL, 0); /* as a write it works */
}

static int count_ctx(void *user, const weft_context_info_t *c)
{
    (*(int *)user)++;
    return 0;
}

TEST(context_lifecycle)
{
    char id[WEFT_APP_ID_LEN + 1], msg[256];
    weft_node_t *n = setup(id, NULL);
    ASSERT_EQ_INT(weft_node_context_create(n, "c", id, msg, sizeof msg), WEFT_ELIMIT);
    ASSERT_TRUE(strstr(msg, "exists") != NULL);
    ASSERT_EQ_INT(weft_node_context_create(n, "d", "f00d", msg, sizeof msg), WEFT_ENOTFOUND);
    ASSERT_EQ_INT(weft_node_context_create(n, "", id, msg, sizeof msg), WEFT_EARG);
    weft_call_result_t *res = call(n, "nope", "echo", "x", 0);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_ERROR);
    ASSERT_TRUE(strstr(weft_call_result_message(res), "no context 'nope'") != NULL);

    ok_call(n, "put", "x=1", 0);
    weft_context_info_t info;
    ASSERT_EQ_INT(weft_node_context_get(n, "c", &info), 0);
    ASSERT_EQ_STR(info.app, id);
    int count = 0;
    ASSERT_EQ_INT(weft_node_context_list(n, count_ctx, &count), 0);
    ASSERT_EQ_INT(count, 1);

    ASSERT_EQ_INT(weft_node_app_delete(n, id, msg, sizeof msg), WEFT_ELIMIT);
    ASSERT_TRUE(strstr(msg, "'c'") != NULL);
    ASSERT_EQ_INT(weft_node_context_delete(n, "c"), 0);
    ASSERT_EQ_INT(weft_node_context_delete(n, "c"), WEFT_ENOTFOUND);
    ASSERT_EQ_INT(weft_node_context_create(n, "c", id, msg, sizeof msg), 0);
    res = call(n, "c", "get", "x", 1);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_EXIT); /* its state went with it */
    weft_call_result_t *ev = ok_call(n, "put", "y=1", 0);
    const char *name;
    size_t nl, pl;
    const uint8_t *p;
    uint64_t seq;
    ASSERT_EQ_INT(weft_call_result_event(ev, 0, &name, &nl, &p, &pl, &seq), 0);
    ASSERT_EQ_INT(seq, 2); /* its events went with it, but numbers are never issued twice */
    ASSERT_EQ_INT(weft_node_context_delete(n, "c"), 0);
    ASSERT_EQ_INT(weft_node_app_delete(n, id, msg, sizeof msg), 0);
    ASSERT_EQ_INT(weft_node_app_get(n, id, &(weft_app_info_t){0}), WEFT_ENOTFOUND);
}

TEST(close_finishes_queued_calls)
{
    char id[WEFT_APP_ID_LEN + 1], *dir;
    weft_node_t *n = setup(id, &dir);
    waiter_t *w = new_waiter();
    for (int i = 0; i < 50; i++)
        submit(n, w, "count", NULL);
    weft_node_close(n); /* returns after every queued call is done */
    node_a = NULL;
    ASSERT_EQ_INT(w->pending, 0);
    for (int i = 0; i < 50; i++)
        ASSERT_EQ_INT(weft_call_result_outcome(w->res[i]), WEFT_CALL_OK);
    node_a = n = open_node(dir, 1);
    ASSERT_EQ_STR(output(ok_call(n, "get", "count", 1)), "50");
}

typedef struct {
    pthread_mutex_t mu;
    uint64_t seqs[64];
    char names[64][8];
    size_t n;
} seen_t;

static void on_event(void *user, const char *context, uint64_t seq, const char *name,
                     size_t name_len, const uint8_t *payload, size_t payload_len)
{
    seen_t *s = user;
    pthread_mutex_lock(&s->mu);
    if (s->n < 64) {
        s->seqs[s->n] = seq;
        snprintf(s->names[s->n], sizeof s->names[0], "%.*s", (int)payload_len,
                 (const char *)payload);
        s->n++;
    }
    pthread_mutex_unlock(&s->mu);
}

TEST(events_reach_subscribers_after_commit_and_can_be_read_back)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    seen_t live = {.mu = PTHREAD_MUTEX_INITIALIZER}, other = {.mu = PTHREAD_MUTEX_INITIALIZER};
    weft_node_sub_t *sub, *sub_other;
    ASSERT_EQ_INT(weft_node_subscribe(n, "c", on_event, &live, &sub), 0);
    ASSERT_EQ_INT(weft_node_subscribe(n, "elsewhere", on_event, &other, &sub_other), 0);
    ok_call(n, "put", "k1=1", 0);
    weft_call_result_t *t = call(n, "c", "put_then_trap", NULL, 0); /* publishes nothing */
    weft_call_result_delete(t);
    ok_call(n, "put", "k2=2", 0);
    /* The result comes after the publish, so both are there now. */
    ASSERT_EQ_INT(live.n, 2);
    ASSERT_EQ_INT(live.seqs[0], 1);
    ASSERT_EQ_INT(live.seqs[1], 2);
    ASSERT_EQ_STR(live.names[1], "k2");
    ASSERT_EQ_INT(other.n, 0);
    weft_node_unsubscribe(n, sub);
    weft_node_unsubscribe(n, sub_other);
    ok_call(n, "put", "k3=3", 0);
    ASSERT_EQ_INT(live.n, 2);

    seen_t back = {.mu = PTHREAD_MUTEX_INITIALIZER};
    uint64_t last;
    ASSERT_EQ_INT(weft_node_events_read(n, "c", 1, 10, on_event, &back, &last), 0);
    ASSERT_EQ_INT(last, 3);
    ASSERT_EQ_INT(back.n, 2);
    ASSERT_EQ_INT(back.seqs[0], 2);
    ASSERT_EQ_STR(back.names[1], "k3");
    back.n = 0;
    ASSERT_EQ_INT(weft_node_events_read(n, "c", 0, 1, on_event, &back, &last), 0);
    ASSERT_EQ_INT(back.n, 1);
    ASSERT_EQ_INT(back.seqs[0], 1);
    ASSERT_EQ_INT(weft_node_events_read(n, "nope", 0, 1, on_event, &back, &last), WEFT_ENOTFOUND);
}

typedef struct {
    pthread_mutex_t mu;
    uint64_t seqs[16], calls[16];
    char msgs[16][32], levels[16][8];
    size_t n;
} lines_t;

static void on_log(void *user, const char *context, uint64_t seq, uint64_t time_ms,
                   uint64_t call_id, const char *level, const char *msg, size_t len)
{
    lines_t *l = user;
    pthread_mutex_lock(&l->mu);
    if (l->n < 16) {
        l->seqs[l->n] = seq;
        l->calls[l->n] = call_id;
        snprintf(l->msgs[l->n], sizeof l->msgs[0], "%.*s", (int)len, msg);
        snprintf(l->levels[l->n], sizeof l->levels[0], "%s", level);
        l->n++;
    }
    pthread_mutex_unlock(&l->mu);
}

TEST(log_lines_are_kept_for_every_outcome_and_for_views)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    lines_t live = {.mu = PTHREAD_MUTEX_INITIALIZER};
    weft_node_sub_t *sub;
    ASSERT_EQ_INT(weft_node_subscribe_logs(n, "c", on_log, &live, &sub), 0);
    weft_call_result_t *put = ok_call(n, "put", "a=1", 0); /* stderr: "stored a" */
    ASSERT_EQ_STR(weft_call_result_log_level(put, 0), "stderr");
    weft_call_result_t *t = call(n, "c", "put_then_trap", NULL, 0);
    test_defer(free_result, t);
    ASSERT_EQ_INT(weft_call_result_outcome(t), WEFT_CALL_TRAP);
    ASSERT_EQ_STR(weft_call_result_log_level(t, 0), "log");
    ok_call(n, "get", "a", 1); /* a view: stderr "get a" */
    ASSERT_NE_INT(weft_call_result_call_id(put), weft_call_result_call_id(t));

    /* The view's line is recorded by the writer after the view answered:
     * wait for it (bounded; the writer is idle otherwise). */
    uint64_t last = 0;
    size_t seen = 0;
    for (int i = 0; i < 500 && (last < 3 || seen < 3); i++) {
        lines_t tmp = {.mu = PTHREAD_MUTEX_INITIALIZER};
        ASSERT_EQ_INT(weft_node_logs_read(n, "c", 0, 16, on_log, &tmp, &last), 0);
        pthread_mutex_lock(&live.mu); /* published just after the commit */
        seen = live.n;
        pthread_mutex_unlock(&live.mu);
        if (last < 3 || seen < 3)
            usleep(10000);
    }
    lines_t back = {.mu = PTHREAD_MUTEX_INITIALIZER};
    ASSERT_EQ_INT(weft_node_logs_read(n, "c", 0, 16, on_log, &back, &last), 0);
    ASSERT_EQ_INT(last, 3);
    ASSERT_EQ_INT(back.n, 3);
    ASSERT_EQ_STR(back.msgs[0], "stored a");
    ASSERT_EQ_STR(back.levels[0], "stderr");
    ASSERT_EQ_U64(back.calls[0], weft_call_result_call_id(put));
    ASSERT_EQ_STR(back.msgs[1], "about to trap"); /* a trapped call's line stays */
    ASSERT_EQ_STR(back.levels[1], "log");
    ASSERT_EQ_U64(back.calls[1], weft_call_result_call_id(t));
    ASSERT_EQ_STR(back.msgs[2], "get a"); /* and a view's */
    ASSERT_EQ_INT(back.seqs[2], 3);
    back.n = 0;
    ASSERT_EQ_INT(weft_node_logs_read(n, "c", 2, 16, on_log, &back, &last), 0);
    ASSERT_EQ_INT(back.n, 1);
    ASSERT_EQ_INT(live.n, 3); /* published as recorded */
    ASSERT_EQ_STR(live.msgs[2], "get a");
    weft_node_unsubscribe(n, sub);
}

TEST(the_node_environment_is_the_only_one_guests_see)
{
    char id[WEFT_APP_ID_LEN + 1];
    setenv("NX_FROM_PROCESS", "leak", 1);
    weft_node_t *n = setup(id, NULL); /* a node given no environment */
    ASSERT_EQ_STR(output(ok_call(n, "env", "NX_FROM_PROCESS", 1)), "wasi=- nx=-");

    char *dir = tmpdir_new("node-env");
    const char *env[] = {"NX_GIVEN=yes"};
    weft_node_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = dir;
    cfg.flags = WEFT_NODE_DB_NOSYNC;
    cfg.env = env;
    cfg.nenv = 1;
    weft_node_t *m = NULL;
    ASSERT_EQ_INT(weft_node_open(&cfg, &m, NULL, 0), 0);
    static weft_node_t *second;
    second = m;
    test_defer(close_node, &second);
    char id2[WEFT_APP_ID_LEN + 1];
    ASSERT_EQ_INT(weft_node_app_deploy(m, app_bytes, app_len, NULL, id2, NULL, 0), 0);
    ASSERT_EQ_INT(weft_node_context_create(m, "c", id2, NULL, 0), 0);
    ASSERT_EQ_STR(output(ok_call(m, "env", "NX_GIVEN", 1)), "wasi=yes nx=yes");
    ASSERT_EQ_STR(output(ok_call(m, "env", "NX_FROM_PROCESS", 1)), "wasi=- nx=-");
}

/* Nothing of a call's stdin, stdout or stderr reaches the next (call.c:
 * a module's streams are each call's own memory). Write calls all run on
 * the writer thread, one after the other. */
TEST(standard_streams_start_empty_for_every_call)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    char long_input[3001];
    memset(long_input, 'a', sizeof long_input - 1);
    long_input[sizeof long_input - 1] = '\0';
    for (int round = 0; round < 2; round++) {
        weft_call_result_t *res = ok_call(n, "echo", long_input, round);
        ASSERT_EQ_INT(strlen(output(res)), 3000);
        res = ok_call(n, "echo", "short", round);
        ASSERT_EQ_STR(output(res), "short"); /* not the rest of the long stdin or stdout */
        /* stderr: a long line, then a short one that must come alone */
        weft_call_result_t *absent = call(n, "c", "get", long_input, round);
        test_defer(free_result, absent);
        ASSERT_EQ_INT(weft_call_result_outcome(absent), WEFT_CALL_EXIT);
        ok_call(n, "put", "k=v", 0);
        res = ok_call(n, "get", "k", round);
        ASSERT_EQ_STR(output(res), "v");
        ASSERT_EQ_INT(weft_call_result_log_count(res), 1);
        size_t len;
        const char *line = weft_call_result_log(res, 0, &len);
        ASSERT_EQ_INT(len, 5);
        ASSERT_EQ_INT(memcmp(line, "get k", 5), 0);
        res = ok_call(n, "echo", NULL, round); /* no input: stdin is empty */
        ASSERT_EQ_STR(output(res), "");
    }
}

/* The output and log lines are read back from the thread's memory files
 * with one read when short and a size check beyond 4 KiB: every size on
 * either side of that line, and an output of exactly max_output, comes
 * back whole. */
TEST(outputs_and_log_lines_of_every_size_come_back_whole)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = setup(id, NULL);
    static const long sizes[] = {0, 1, 4095, 4096, 4097, 8192, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char in[32];
        snprintf(in, sizeof in, "%ld", sizes[i]);
        for (int exact = 0; exact < 2; exact++) {
            weft_call_req_t req;
            memset(&req, 0, sizeof req);
            req.context = "c";
            req.function = "shout";
            req.input = (const uint8_t *)in;
            req.input_len = strlen(in);
            req.view = 1;
            req.limits.max_output = exact && sizes[i] ? (size_t)sizes[i] : 0;
            weft_call_result_t *res = NULL;
            ASSERT_EQ_INT(weft_node_call(n, &req, &res), 0);
            test_defer(free_result, res);
            ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_OK);
            size_t len;
            const uint8_t *p = weft_call_result_output(res, &len);
            ASSERT_EQ_INT(len, (size_t)sizes[i]);
            for (size_t k = 0; k < len; k++)
                if (p[k] != 'a')
                    FAIL("byte %zu of %ld is %d", k, sizes[i], p[k]);
        }
        weft_call_result_t *res = ok_call(n, "yell", in, 1);
        ASSERT_EQ_INT(weft_call_result_log_count(res), sizes[i] ? 1 : 0);
        if (sizes[i]) {
            size_t len;
            weft_call_result_log(res, 0, &len);
            ASSERT_EQ_INT(len, (size_t)sizes[i]);
        }
    }
}

TEST(compiling_a_module_is_bounded_by_the_load_deadline)
{
    load_app();
    char *dir = tmpdir_new("node-load");
    weft_node_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = dir;
    cfg.flags = WEFT_NODE_DB_NOSYNC;
    cfg.load_timeout_ns = 1; /* passed before the first section is read */
    weft_node_t *m = NULL;
    ASSERT_EQ_INT(weft_node_open(&cfg, &m, NULL, 0), 0);
    static weft_node_t *held;
    held = m;
    test_defer(close_node, &held);
    char id[WEFT_APP_ID_LEN + 1], msg[256];
    ASSERT_EQ_INT(weft_node_app_deploy(m, app_bytes, app_len, NULL, id, msg, sizeof msg),
                  WEFT_EINTERRUPTED);
    ASSERT_TRUE(strstr(msg, "loading interrupted") != NULL);
}

TEST(a_manifest_makes_views_and_sets_limits)
{
    load_app();
    char *dir = tmpdir_new("node-manifest");
    static weft_node_t *m;
    m = open_node(dir, 2);
    test_defer(close_node, &m);
    char id[WEFT_APP_ID_LEN + 1], msg[512];
    const char *bad[] = {"{\"views\": [\"nothing\"]}", "{\"view\": []}", "[1",
                         "{\"limits\": {\"fuel\": -1}}"};
    for (size_t i = 0; i < 4; i++)
        ASSERT_EQ_INT(weft_node_app_deploy_manifest(m, app_bytes, app_len, NULL, bad[i],
                                                    strlen(bad[i]), id, msg, sizeof msg),
                      WEFT_EARG);
    ASSERT_TRUE(strstr(msg, "fuel") != NULL || strstr(msg, "range") != NULL);
    const char *mf = "{\"views\": [\"put\"], \"limits\": {\"fuel\": 20000}}";
    ASSERT_EQ_INT(weft_node_app_deploy_manifest(m, app_bytes, app_len, NULL, mf, strlen(mf), id,
                                                msg, sizeof msg), 0);
    char *stored = NULL;
    ASSERT_EQ_INT(weft_node_app_manifest(m, id, &stored), 0);
    ASSERT_EQ_STR(stored, mf);
    free(stored);
    ASSERT_EQ_INT(weft_node_context_create(m, "c", id, msg, sizeof msg), 0);
    /* put is a view by the manifest: called as a write, it still cannot write */
    weft_call_result_t *res = call(m, "c", "put", "k=v", 0);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_TRAP);
    ASSERT_TRUE(strstr(weft_call_result_message(res), "a view cannot write") != NULL);
    /* the app's fuel limit: spin runs out of it */
    weft_call_result_t *spin = call(m, "c", "spin", NULL, 0);
    test_defer(free_result, spin);
    ASSERT_EQ_INT(weft_call_result_trap(spin), WEFT_TRAP_OUT_OF_FUEL);
    ASSERT_TRUE(weft_call_result_fuel(spin) <= 20000);
    /* the manifest survives a restart */
    weft_node_close(m);
    m = open_node(dir, 1);
    weft_call_result_t *again = call(m, "c", "put", "k=v", 0);
    test_defer(free_result, again);
    ASSERT_EQ_INT(weft_call_result_outcome(again), WEFT_CALL_TRAP);
}

TEST(an_app_is_bound_to_a_guest_abi_by_its_imports_or_its_manifest)
{
    load_app();
    char id[WEFT_APP_ID_LEN + 1], msg[512];
    weft_node_t *n = setup(id, NULL);
    /* detected: node_app imports nx */
    const weft_module_t *mod;
    ASSERT_EQ_INT(weft_node_app_module(n, id, &mod), 0);
    ASSERT_EQ_STR(weft_node_abi(mod), "nx");
    const char *name = NULL;
    ASSERT_EQ_INT(weft_node_abi_bind(mod, NULL, &name, msg, sizeof msg), 0);
    ASSERT_EQ_STR(name, "nx");
    /* named: an ABI the node has not is refused at deploy, naming those it has */
    const char *bogus = "{\"abi\": \"bogus\"}";
    ASSERT_EQ_INT(weft_node_app_deploy_manifest(n, app_bytes, app_len, NULL, bogus,
                                                strlen(bogus), id, msg, sizeof msg),
                  WEFT_EUNLINKABLE);
    ASSERT_TRUE(strstr(msg, "no ABI called 'bogus'") != NULL);
    ASSERT_TRUE(strstr(msg, "nx") != NULL);
    const char *notstr = "{\"abi\": 7}";
    ASSERT_EQ_INT(weft_node_app_deploy_manifest(n, app_bytes, app_len, NULL, notstr,
                                                strlen(notstr), id, msg, sizeof msg),
                  WEFT_EARG);
    const char *nx = "{\"abi\": \"nx\"}";
    ASSERT_EQ_INT(weft_node_app_deploy_manifest(n, app_bytes, app_len, NULL, nx, strlen(nx), id,
                                                msg, sizeof msg), 0);
    ASSERT_EQ_INT(weft_node_abi_bind(mod, "bogus", &name, msg, sizeof msg), WEFT_EUNLINKABLE);
    ASSERT_TRUE(name == NULL);
    /* the table: every ABI has a name, a title and an adapter */
    ASSERT_TRUE(weft_abi_count() >= 1);
    for (size_t i = 0; i < weft_abi_count(); i++) {
        ASSERT_NOT_NULL(weft_abi_title(i));
        ASSERT_EQ_INT(weft_abi_find(weft_abi_name(i)), (int)i);
        ASSERT_EQ_INT(weft_node_abi_bind(mod, weft_abi_name(i), NULL, msg, sizeof msg) == 0 ||
                          strstr(msg, "does not provide") != NULL,
                      1);
    }
}

/* ---- one-call nodes (what `weft run` needs) -------------------------------- */

static uint8_t *plain_bytes;
static size_t plain_len;

/* The node's threads show in /proc/self/task: how many the process has. */
static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    ASSERT_NOT_NULL(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* An inline node (WEFT_NODE_INLINE | extra), with data directory dir or
 * none, closed at the end of the test, with plain_app.wasm opened in it. */
static weft_node_t *open_inline(const char *dir, unsigned extra, char id[WEFT_APP_ID_LEN + 1])
{
    if (!plain_bytes) {
        FILE *f = fopen(PLAIN_APP_WASM, "rb");
        ASSERT_NOT_NULL(f);
        fseek(f, 0, SEEK_END);
        plain_len = (size_t)ftell(f);
        fseek(f, 0, SEEK_SET);
        plain_bytes = malloc(plain_len);
        ASSERT_NOT_NULL(plain_bytes);
        ASSERT_EQ_INT(fread(plain_bytes, 1, plain_len, f), plain_len);
        fclose(f);
    }
    weft_node_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = dir;
    cfg.flags = WEFT_NODE_INLINE | WEFT_NODE_DB_NOSYNC | extra;
    char msg[512];
    if (weft_node_open(&cfg, &node_a, msg, sizeof msg) != 0)
        FAIL("weft_node_open: %s", msg);
    test_defer(close_node, &node_a);
    if (weft_node_app_open(node_a, plain_bytes, plain_len, "plain", id, msg, sizeof msg) != 0)
        FAIL("weft_node_app_open: %s", msg);
    return node_a;
}

/* A request for function fn of opened app `app` in context ctx, with
 * input `in` (NULL: none). */
static weft_call_req_t app_req(const char *app, const char *ctx, const char *fn, const char *in)
{
    weft_call_req_t req = node_req(ctx, fn, in);
    req.app = app;
    return req;
}

/* Runs req on n; the result is freed at the end of the test. */
static weft_call_result_t *run_req(weft_node_t *n, weft_call_req_t *req)
{
    weft_call_result_t *res = NULL;
    ASSERT_EQ_INT(weft_node_call(n, req, &res), 0);
    ASSERT_NOT_NULL(res);
    test_defer(free_result, res);
    return res;
}

TEST(an_opened_app_runs_inline_without_threads_or_a_data_directory)
{
    int threads = thread_count();
    char id[WEFT_APP_ID_LEN + 1], nx_id[WEFT_APP_ID_LEN + 1], msg[512];
    weft_node_t *n = open_inline(NULL, 0, id);
    ASSERT_EQ_INT(strlen(id), WEFT_APP_ID_LEN);
    ASSERT_NULL(weft_node_data_dir(n));

    weft_call_req_t req = app_req(id, "anything", "echo", "inline");
    ASSERT_EQ_STR(output(run_req(n, &req)), "inline");
    ASSERT_EQ_INT(thread_count(), threads); /* no worker, writer or watchdog */

    const char *argv[] = {"a", "b c"};
    req.function = "args";
    req.argv0 = "prog.wasm";
    req.argv = argv;
    req.argc = 2;
    ASSERT_EQ_STR(output(run_req(n, &req)), "prog.wasm\na\nb c\n");

    req.app = "0000000000000000000000000000000000000000000000000000000000000000";
    weft_call_result_t *res = run_req(n, &req);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_ERROR);
    ASSERT_EQ_INT(weft_call_result_error(res), WEFT_EARG);

    /* An app that imports nx needs the data directory, given later. */
    load_app();
    ASSERT_EQ_INT(weft_node_app_open(n, app_bytes, app_len, "node_app", nx_id, msg, sizeof msg), 0);
    req = app_req(nx_id, "c", "put", "k=v");
    res = run_req(n, &req);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_ERROR);
    ASSERT_TRUE(strstr(weft_call_result_message(res), "needs a data directory") != NULL);
    char *dir = tmpdir_new("inline");
    ASSERT_EQ_INT(weft_node_open_data_dir(n, dir, msg, sizeof msg), 0);
    ASSERT_EQ_INT(weft_node_open_data_dir(n, dir, msg, sizeof msg), WEFT_EARG);
    ASSERT_EQ_STR(weft_node_data_dir(n), dir);
    res = run_req(n, &req);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_OK);
    ASSERT_EQ_INT(weft_call_result_event_count(res), 1);
    req.function = "get";
    req.input = (const uint8_t *)"k";
    req.input_len = 1;
    ASSERT_EQ_STR(output(run_req(n, &req)), "v"); /* committed, in context "c" */
    weft_context_info_t info;
    ASSERT_EQ_INT(weft_node_context_get(n, "c", &info), WEFT_ENOTFOUND); /* no record */
    ASSERT_EQ_INT(thread_count(), threads);
}

/* Points descriptor `fd` at `to` until restored with the returned copy. */
static int redirect(int fd, int to)
{
    fflush(NULL);
    int saved = dup(fd);
    ASSERT_TRUE(saved >= 0);
    ASSERT_EQ_INT(dup2(to, fd), fd);
    return saved;
}

static void restore(int fd, int saved)
{
    ASSERT_EQ_INT(dup2(saved, fd), fd);
    close(saved);
}

/* The whole file at path, NUL-terminated, freed at the end of the test. */
static const char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ASSERT_NOT_NULL(f);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

TEST(the_process_stdio_and_preopened_directories)
{
    char id[WEFT_APP_ID_LEN + 1], path[512], out_path[512];
    weft_node_t *n = open_inline(NULL, 0, id);
    char *dir = tmpdir_new("stdio");
    snprintf(path, sizeof path, "%s/file", dir);
    snprintf(out_path, sizeof out_path, "%s/out", dir);
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs("in a preopen", f);
    fclose(f);

    weft_wasi_preopen_t dirs[1] = {{dir, "/d"}};
    weft_call_req_t req = app_req(id, "c", "cat", NULL);
    req.stdio = 1;
    req.dirs = dirs;
    req.ndirs = 1;
    int out = open(out_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    ASSERT_TRUE(out >= 0);
    int saved = redirect(1, out);
    weft_call_result_t *res = run_req(n, &req);
    restore(1, saved);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_OK);
    size_t len;
    weft_call_result_output(res, &len);
    ASSERT_EQ_INT(len, 0); /* it went to the process's fd 1 */
    ASSERT_EQ_STR(slurp(out_path), "in a preopen");

    /* stdin is the process's fd 0 too */
    req.function = "echo";
    int in = open(path, O_RDONLY);
    ASSERT_TRUE(in >= 0);
    ASSERT_EQ_INT(ftruncate(out, 0), 0);
    ASSERT_EQ_INT(lseek(out, 0, SEEK_SET), 0);
    int saved_in = redirect(0, in);
    saved = redirect(1, out);
    res = run_req(n, &req);
    restore(1, saved);
    restore(0, saved_in);
    close(in);
    close(out);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_OK);
    ASSERT_EQ_STR(slurp(out_path), "in a preopen");

    /* without the preopen the file is not there; a directory that cannot
     * be opened is a request the node cannot carry out */
    req.function = "cat";
    req.stdio = 0;
    req.ndirs = 0;
    res = run_req(n, &req);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_EXIT);
    ASSERT_EQ_INT(weft_call_result_exit_status(res), 4);
    dirs[0].host_path = path; /* a file, not a directory */
    req.ndirs = 1;
    res = run_req(n, &req);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_ERROR);
    ASSERT_EQ_INT(weft_call_result_error(res), WEFT_EARG);
}

TEST(a_trap_carries_its_backtrace)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = open_inline(NULL, 0, id);
    weft_call_req_t req = app_req(id, "c", "deep", NULL);
    weft_call_result_t *res = run_req(n, &req);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_TRAP);
    ASSERT_EQ_INT(weft_call_result_trap(res), WEFT_TRAP_UNREACHABLE);
    ASSERT_TRUE(*weft_call_result_trap_message(res));
    ASSERT_TRUE(strstr(weft_call_result_message(res), weft_call_result_trap_message(res)) != NULL);
    size_t frames = weft_call_result_backtrace_count(res);
    ASSERT_TRUE(frames >= 6); /* bottom, down x4, deep */
    const char *name;
    weft_call_result_frame(res, 0, &name);
    ASSERT_NOT_NULL(name);
    ASSERT_EQ_STR(name, "bottom");
    weft_call_result_frame(res, frames - 1, &name);
    ASSERT_NOT_NULL(name);
    ASSERT_EQ_STR(name, "deep");
    ASSERT_EQ_INT(weft_call_result_frame(res, frames, &name), 0);
    ASSERT_NULL(name);

    /* and through a deployed app on a threaded node */
    weft_node_close(node_a);
    node_a = NULL;
    char app[WEFT_APP_ID_LEN + 1];
    n = setup(app, NULL);
    res = call(n, "c", "put_then_trap", NULL, 0);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_TRAP);
    ASSERT_TRUE(weft_call_result_backtrace_count(res) >= 1);
    weft_call_result_frame(res, 0, &name);
    ASSERT_NOT_NULL(name);
    ASSERT_EQ_STR(name, "put_then_trap");
    /* results of other outcomes have none */
    res = ok_call(n, "echo", "x", 1);
    ASSERT_EQ_INT(weft_call_result_backtrace_count(res), 0);
    ASSERT_EQ_STR(weft_call_result_trap_message(res), "");
}

/* Runs `echo` with the process's stdio, fd 0 an idle pipe (its writer
 * open, silent) and a deadline: only the kick ends the blocked read. */
static void blocked_read(weft_node_t *n, weft_call_req_t *req)
{
    int p[2];
    ASSERT_EQ_INT(pipe(p), 0);
    int saved = redirect(0, p[0]);
    req->stdio = 1;
    req->limits.timeout_ns = 100 * 1000000ull;
    weft_call_result_t *res = run_req(n, req);
    restore(0, saved);
    close(p[0]);
    close(p[1]);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_TRAP);
    ASSERT_EQ_INT(weft_call_result_trap(res), WEFT_TRAP_INTERRUPTED);
}

TEST(a_call_blocked_in_a_syscall_is_kicked_at_its_deadline)
{
    char id[WEFT_APP_ID_LEN + 1];
    weft_node_t *n = open_inline(NULL, WEFT_NODE_KICK, id);
    weft_call_req_t req = app_req(id, "c", "echo", NULL);
    blocked_read(n, &req); /* on this thread */
    blocked_read(n, &req); /* again: the watchdog started by the first */

    /* a threaded node's writer is kicked the same way */
    weft_node_close(node_a);
    node_a = NULL;
    node_a = open_node_flags(tmpdir_new("kick"), 1, WEFT_TIER_INTERP, WEFT_NODE_KICK);
    char msg[512];
    ASSERT_EQ_INT(weft_node_app_open(node_a, plain_bytes, plain_len, "plain", id, msg, sizeof msg),
                  0);
    blocked_read(node_a, &req);
    req.view = 1; /* and a worker */
    blocked_read(node_a, &req);
}

static void *interrupt_later(void *arg)
{
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    weft_node_interrupt(arg);
    return NULL;
}

TEST(the_write_lock_wait_ends_at_the_deadline_or_an_interrupt)
{
    char *dir = tmpdir_new("wlock");
    int up[2], down[2];
    ASSERT_EQ_INT(pipe(up), 0);
    ASSERT_EQ_INT(pipe(down), 0);
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) { /* holds the write lock until told */
        weft_db_t *db = NULL;
        weft_txn_t *t;
        char msg[256], c;
        int ok = weft_db_open(dir, WEFT_DB_NOSYNC, &db, msg, sizeof msg) == 0 &&
                 weft_txn_begin(db, WEFT_TXN_WRITE, &t) == 0;
        if (write(up[1], ok ? "1" : "0", 1) != 1 || read(down[0], &c, 1) != 1 || !ok)
            _exit(1);
        weft_txn_abort(t);
        _exit(0);
    }
    char c = 0;
    ASSERT_EQ_INT(read(up[0], &c, 1), 1);
    ASSERT_EQ_INT(c, '1');

    char id[WEFT_APP_ID_LEN + 1], msg[512];
    /* no identity to create: that would wait for the lock unbounded */
    weft_node_t *n = open_inline(dir, WEFT_NODE_NO_SYNC, id);
    load_app();
    ASSERT_EQ_INT(weft_node_app_open(n, app_bytes, app_len, "node_app", id, msg, sizeof msg), 0);
    weft_call_req_t req = app_req(id, "c", "put", "k=v");
    req.limits.timeout_ns = 100 * 1000000ull;
    weft_call_result_t *res = run_req(n, &req);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_TRAP);
    ASSERT_EQ_INT(weft_call_result_trap(res), WEFT_TRAP_INTERRUPTED);
    ASSERT_EQ_INT(weft_call_result_error(res), WEFT_EINTERRUPTED);
    ASSERT_TRUE(strstr(weft_call_result_trap_message(res), "write lock") != NULL);

    /* no deadline: weft_node_interrupt (Ctrl-C) ends the wait */
    req.limits.timeout_ns = 0;
    pthread_t t;
    ASSERT_EQ_INT(pthread_create(&t, NULL, interrupt_later, n), 0);
    res = run_req(n, &req);
    pthread_join(t, NULL);
    ASSERT_EQ_INT(write(down[1], "x", 1), 1);
    int st = 0;
    waitpid(pid, &st, 0);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ASSERT_EQ_INT(weft_call_result_trap(res), WEFT_TRAP_INTERRUPTED);
    ASSERT_EQ_INT(weft_call_result_error(res), WEFT_EINTERRUPTED);
    /* the node stays interrupted: a call after it traps at once */
    res = run_req(n, &req);
    ASSERT_EQ_INT(weft_call_result_trap(res), WEFT_TRAP_INTERRUPTED);
    for (int i = 0; i < 2; i++) {
        close(up[i]);
        close(down[i]);
    }
}

/* Closes *m, opens the node in dir again in `tier`, reads key "a" of
 * context "c" (its value must be "1") and returns the new node's counters. */
static weft_node_stats_t restart_and_get(weft_node_t **m, const char *dir, int tier)
{
    weft_node_close(*m);
    *m = open_node_tier(dir, 1, tier);
    weft_call_result_t *res = call(*m, "c", "get", "a", 1);
    test_defer(free_result, res);
    ASSERT_EQ_STR(output(res), "1");
    weft_node_stats_t st;
    weft_node_stats(*m, &st);
    return st;
}

/* The compiled tier keeps its code in DIR/code-cache (docs/jit.md): a
 * restarted node maps it instead of compiling (the counters say so), a
 * damaged file is refused and the module compiled again, and a manifest's
 * "tier" picks the app's own tier (interp: nothing compiled, no file). */
TEST(the_compiled_tier_caches_code_in_the_data_directory_across_restarts)
{
    if (!weft_tier_available(WEFT_TIER_JIT))
        return;
    load_app();
    char *dir = tmpdir_new("node-jitcache");
    static weft_node_t *m;
    m = open_node_tier(dir, 1, WEFT_TIER_JIT);
    test_defer(close_node, &m);
    char id[WEFT_APP_ID_LEN + 1], msg[512];
    const char *bad = "{\"tier\": \"fast\"}";
    ASSERT_EQ_INT(weft_node_app_deploy_manifest(m, app_bytes, app_len, NULL, bad, strlen(bad), id,
                                                msg, sizeof msg),
                  WEFT_EARG);
    ASSERT_TRUE(strstr(msg, "not interp, jit or auto") != NULL);
    ASSERT_EQ_INT(weft_node_app_deploy(m, app_bytes, app_len, "node_app", id, msg, sizeof msg), 0);
    ASSERT_EQ_INT(weft_node_context_create(m, "c", id, msg, sizeof msg), 0);
    weft_call_result_t *res = call(m, "c", "put", "a=1", 0);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_OK);
    weft_node_stats_t st;
    weft_node_stats(m, &st);
    ASSERT_EQ_INT(st.modules_compiled, 1);
    ASSERT_EQ_INT(st.code_cache_hits, 0);

    /* restarted: mapped, nothing compiled */
    st = restart_and_get(&m, dir, WEFT_TIER_JIT);
    ASSERT_EQ_INT(st.modules_compiled, 0);
    ASSERT_TRUE(st.code_cache_hits >= 1); /* once per load of the module */
    ASSERT_EQ_INT(st.code_cache_rejected, 0);

    /* a byte of the file flipped: refused (and logged), compiled again */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "f=$(ls '%s'/code-cache/*.jit) && printf '\\377' | "
             "dd of=\"$f\" bs=1 seek=200 conv=notrunc status=none",
             dir);
    ASSERT_EQ_INT(system(cmd), 0);
    st = restart_and_get(&m, dir, WEFT_TIER_JIT);
    /* each load of the module until the file is stored again */
    ASSERT_TRUE(st.code_cache_rejected >= 1);
    ASSERT_EQ_INT(st.modules_compiled, st.code_cache_rejected);

    /* auto takes the stored code too */
    st = restart_and_get(&m, dir, WEFT_TIER_AUTO);
    ASSERT_TRUE(st.code_cache_hits >= 1);
    ASSERT_EQ_INT(st.modules_compiled + st.code_cache_rejected, 0);

    /* a manifest's "tier": "interp" on a jit node: the app is not compiled */
    weft_node_close(m);
    char *dir2 = tmpdir_new("node-jitcache-interp");
    m = open_node_tier(dir2, 1, WEFT_TIER_JIT);
    const char *mf = "{\"tier\": \"interp\"}";
    ASSERT_EQ_INT(weft_node_app_deploy_manifest(m, app_bytes, app_len, NULL, mf, strlen(mf), id,
                                                msg, sizeof msg), 0);
    weft_node_stats(m, &st);
    ASSERT_EQ_INT(st.modules_compiled + st.code_cache_hits, 0);
    weft_node_close(m);
    m = open_node_tier(dir2, 1, WEFT_TIER_JIT);
    ASSERT_EQ_INT(weft_node_context_create(m, "c", id, msg, sizeof msg), 0);
    res = call(m, "c", "put", "b=2", 0);
    test_defer(free_result, res);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_OK);
    weft_node_stats(m, &st);
    ASSERT_EQ_INT(st.modules_compiled + st.code_cache_hits, 0);
}
