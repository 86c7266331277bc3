/*
 * bench/nodecall.c — calls through the node layer (weft/node.h), no HTTP.
 *
 *   nodecall CALLAPP.wasm DIR [CALLAPP_64K.wasm]
 *
 * Opens a node in DIR (fsync'd commits) and a second one in DIR/nosync
 * (WEFT_NODE_DB_NOSYNC), deploys bench/callapp.c in both, and for
 * BENCH_SECONDS (default 2) per row calls it through weft_node_call from 1
 * and from BENCH_THREADS (default 16) threads:
 *
 *   baseline   a call of a function the app does not export: the request
 *              goes through the queue, the context and the app are looked
 *              up and the call is refused before any instance exists, so
 *              this is the node's own round trip
 *   noop view  instantiate + the trivial export, as a view (workers)
 *   noop write the same as a write (the writer, one commit per batch)
 *   get view   reads a 100-byte value and writes it to stdout; again on the
 *              calling thread (weft_node_call_here, as the HTTP server runs
 *              a short view: no queue, no worker; beyond its 4 slots at
 *              once, through the workers)
 *   set write  nx db_set of 100 bytes, fsync'd and not; and again with
 *              thread i writing context b<i % 16> (16 contexts)
 *   crdt write a grow-only counter increment
 *   64 KiB     noop as a view of CALLAPP_64K.wasm, the same app linked with
 *              a 64 KiB stack (wasm-ld's default) instead of the 1 MiB of
 *              weft's guest flags: 2 pages of linear memory instead of 17,
 *              which the engine allocates and zeroes for every instance
 *   calimero, cosmictron
 *              with BENCH_CALIMERO / BENCH_COSMICTRON naming a Calimero or
 *              Cosmictron app exporting `noop` (build/tests/node/guests/
 *              kept_cal.wasm, kept_cosm.wasm): that method or reducer as a
 *              view and as a write (nosync), its ABI's binding included
 *
 * Each row prints µs per call (wall time x threads / calls), calls/s, the
 * median time the node reports inside the call (weft_call_result
 * duration: instance, call, stdio; no queueing), and the row's ratio to
 * the baseline with the same threads (BENCH_ONLY=TEXT: only the rows whose
 * label holds TEXT, and the baselines; BENCH_NO_OVERLAY=1: both nodes run
 * write calls in nested transactions, WEFT_NODE_NO_OVERLAY; BENCH_WRITER_GUESTS=1: every
 * write's guest on the commit thread, WEFT_NODE_WRITER_GUESTS). Every call must succeed, else the
 * program stops with the call's message (exit 1).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "weft/node.h"

static double seconds = 2.0;
static const char *only; /* BENCH_ONLY: run the rows whose label holds it */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "nodecall: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    exit(1);
}

typedef struct {
    weft_node_t *node;
    const char *ctx;
    char own_ctx[16]; /* a row over 16 contexts: this thread's */
    const char *fn;
    int view;
    int expect_ok; /* 0: the call must be refused (the baseline) */
    double until;
    uint64_t calls;
    uint64_t *durations; /* ns, one per call up to cap */
    size_t ndur, cap;
} worker_t;

static void *work(void *arg)
{
    worker_t *w = arg;
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = w->ctx;
    req.function = w->fn;
    req.view = w->view != 0;
    for (;;) {
        for (int i = 0; i < 16; i++) {
            weft_call_result_t *res = NULL;
            /* view 2: on this thread (weft_node_call_here), as the HTTP
             * server runs a short view; else through the workers */
            int here = w->view == 2 ? weft_node_call_here(w->node, &req, &res) : 1;
            if (here < 0 || (here == 1 && weft_node_call(w->node, &req, &res) != 0))
                die("weft_node_call failed%s%s", "", "");
            weft_call_outcome_t o = weft_call_result_outcome(res);
            if (w->expect_ok ? o != WEFT_CALL_OK : o != WEFT_CALL_ERROR)
                die("%s: %s", w->fn, weft_call_result_message(res));
            if (w->ndur < w->cap)
                w->durations[w->ndur++] = weft_call_result_duration_ns(res);
            weft_call_result_delete(res);
            w->calls++;
        }
        if (now_s() >= w->until)
            return NULL;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One row: returns µs per call. */
static double row(const char *label, weft_node_t *node, const char *ctx, const char *fn,
                  int view, int ok, unsigned threads, double base_us)
{
    if (only && base_us > 0 && !strstr(label, only))
        return 0;
    worker_t *w = calloc(threads, sizeof *w);
    pthread_t *t = calloc(threads, sizeof *t);
    if (!w || !t)
        die("out of memory%s%s", "", "");
    double t0 = now_s();
    for (unsigned i = 0; i < threads; i++) {
        w[i].node = node;
        w[i].ctx = ctx;
        if (strstr(ctx, "%u")) { /* thread i writes context i % 16 */
            snprintf(w[i].own_ctx, sizeof w[i].own_ctx, ctx, i % 16);
            w[i].ctx = w[i].own_ctx;
        }
        w[i].fn = fn;
        w[i].view = view;
        w[i].expect_ok = ok;
        w[i].until = t0 + seconds;
        w[i].cap = 1u << 20;
        w[i].durations = malloc(w[i].cap * sizeof *w[i].durations);
        if (!w[i].durations || pthread_create(&t[i], NULL, work, &w[i]) != 0)
            die("cannot start a thread%s%s", "", "");
    }
    uint64_t calls = 0;
    size_t ndur = 0;
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        calls += w[i].calls;
        ndur += w[i].ndur;
    }
    double el = now_s() - t0;
    uint64_t *all = malloc((ndur ? ndur : 1) * sizeof *all);
    size_t k = 0;
    for (unsigned i = 0; i < threads; i++) {
        memcpy(all + k, w[i].durations, w[i].ndur * sizeof *all);
        k += w[i].ndur;
        free(w[i].durations);
    }
    qsort(all, ndur, sizeof *all, cmp_u64);
    double med = ndur ? (double)all[ndur / 2] / 1e3 : 0;
    double us = el * 1e6 * threads / (double)calls;
    char ratio[32] = "";
    if (base_us > 0)
        snprintf(ratio, sizeof ratio, "%.2fx", us / base_us);
    printf("| %-34s | %7u | %9.2f | %10.0f | %12.2f | %8s |\n", label, threads, us,
           (double)calls / el, med, ratio);
    fflush(stdout);
    free(all);
    free(w);
    free(t);
    return us;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    static uint8_t buf[2][1 << 20];
    static int next;
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s%s", path, "");
    uint8_t *b = buf[next++ & 1];
    *len = fread(b, 1, sizeof buf[0], f);
    fclose(f);
    return b;
}

static void deploy(weft_node_t *n, const char *ctx, const uint8_t *wasm, size_t len)
{
    char msg[512], id[WEFT_APP_ID_LEN + 1];
    if (weft_node_app_deploy(n, wasm, len, ctx, id, msg, sizeof msg) != 0)
        die("deploy: %s%s", msg, "");
    if (weft_node_context_create(n, ctx, id, msg, sizeof msg) != 0)
        die("context: %s%s", msg, "");
}

static weft_node_t *open_node(const char *dir, unsigned flags, const uint8_t *wasm, size_t len)
{
    weft_node_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = dir;
    cfg.flags = flags;
    char msg[512];
    weft_node_t *n = NULL;
    if (weft_node_open(&cfg, &n, msg, sizeof msg) != 0)
        die("cannot open a node in %s: %s", dir, msg);
    deploy(n, "b", wasm, len);
    for (unsigned i = 0; i < 16; i++) { /* the 16-context rows' (the same app) */
        char name[16];
        snprintf(name, sizeof name, "b%u", i);
        deploy(n, name, wasm, len);
    }
    /* The value the views read. */
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = "b";
    req.function = "set";
    weft_call_result_t *res = NULL;
    if (weft_node_call(n, &req, &res) != 0 || weft_call_result_outcome(res) != WEFT_CALL_OK)
        die("set: %s%s", res ? weft_call_result_message(res) : "failed", "");
    weft_call_result_delete(res);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: nodecall CALLAPP.wasm DIR [CALLAPP_64K.wasm]\n");
        return 2;
    }
    const char *s = getenv("BENCH_SECONDS");
    if (s && atof(s) > 0)
        seconds = atof(s);
    only = getenv("BENCH_ONLY");
    s = getenv("BENCH_THREADS");
    unsigned nt = s && atoi(s) > 0 ? (unsigned)atoi(s) : 16;
    size_t len;
    const uint8_t *wasm = read_file(argv[1], &len);
    char nosync[4096];
    snprintf(nosync, sizeof nosync, "%s/nosync", argv[2]);
    /* BENCH_NO_OVERLAY=1: write calls in nested transactions, as before
     * overlays (docs/node.md "Writes"), for a before/after in one binary */
    s = getenv("BENCH_NO_OVERLAY");
    unsigned extra = s && atoi(s) ? WEFT_NODE_NO_OVERLAY : 0;
    /* BENCH_WRITER_GUESTS=1: every write's guest on the commit thread, as
     * before session 10 (WEFT_NODE_WRITER_GUESTS) */
    s = getenv("BENCH_WRITER_GUESTS");
    extra |= s && atoi(s) ? WEFT_NODE_WRITER_GUESTS : 0;
    weft_node_t *n = open_node(argv[2], extra, wasm, len);
    weft_node_t *m = open_node(nosync, WEFT_NODE_DB_NOSYNC | extra, wasm, len);
    if (argc == 4) {
        size_t len2;
        const uint8_t *small = read_file(argv[3], &len2);
        deploy(n, "s", small, len2);
    }
    const char *cal = getenv("BENCH_CALIMERO"), *cosm = getenv("BENCH_COSMICTRON");
    if (cal) {
        size_t l;
        const uint8_t *w = read_file(cal, &l);
        deploy(n, "cal", w, l);
        deploy(m, "cal", w, l);
    }
    if (cosm) {
        size_t l;
        const uint8_t *w = read_file(cosm, &l);
        deploy(n, "cosm", w, l);
        deploy(m, "cosm", w, l);
    }

    printf("| %-34s | %7s | %9s | %10s | %12s | %8s |\n", "call (weft_node_call)", "threads",
           "µs/call", "calls/s", "in-node µs", "/ base");
    printf("|%s|%s|%s|%s|%s|%s|\n", "------------------------------------", "--------:",
           "----------:", "-----------:", "-------------:", "---------:");
    unsigned ths[2] = {1, nt};
    for (int i = 0; i < 2; i++) {
        unsigned th = ths[i];
        double base = row("baseline: no such export (view)", n, "b", "absent", 1, 0, th, 0);
        row("noop, view", n, "b", "noop", 1, 1, th, base);
        if (argc == 4)
            row("noop, view, 64 KiB stack (2 pages)", n, "s", "noop", 1, 1, th, base);
        row("get (100 B to stdout), view", n, "b", "get", 1, 1, th, base);
        row("get, view on the caller's thread", n, "b", "get", 2, 1, th, base);
        row("noop, write, nosync", m, "b", "noop", 0, 1, th, base);
        row("set 100 B, write, nosync", m, "b", "set", 0, 1, th, base);
        row("set 100 B, write, fsync", n, "b", "set", 0, 1, th, base);
        row("set 100 B, write, nosync, 16 contexts", m, "b%u", "set", 0, 1, th, base);
        row("set 100 B, write, fsync, 16 contexts", n, "b%u", "set", 0, 1, th, base);
        row("crdt gcounter +1, write, fsync", n, "b", "crdt", 0, 1, th, base);
        if (cal) {
            row("calimero noop, view", n, "cal", "noop", 1, 1, th, base);
            row("calimero noop, write, nosync", m, "cal", "noop", 0, 1, th, base);
        }
        if (cosm) {
            row("cosmictron noop, view", n, "cosm", "noop", 1, 1, th, base);
            row("cosmictron noop, write, nosync", m, "cosm", "noop", 0, 1, th, base);
        }
    }
    weft_node_stats_t st;
    weft_node_stats(n, &st);
    printf("\nfsync'd node: %llu commits for %llu write jobs (%.1f per commit)\n",
           (unsigned long long)st.commits, (unsigned long long)st.committed_jobs,
           st.commits ? (double)st.committed_jobs / (double)st.commits : 0.0);
    weft_node_close(m);
    weft_node_close(n);
    return 0;
}
