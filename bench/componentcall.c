/*
 * bench/componentcall.c — components through the node (weft/node.h), no
 * HTTP: what a component call and a funcs round trip cost against a plain
 * call of a module (docs/components.md, "Components on a node").
 *
 *   componentcall COMPONENTS_DIR DIR
 *
 * COMPONENTS_DIR is build/tests/component/components (svc.wasm,
 * wippy_caller.wasm, shout.wasm). Opens a node in DIR (commits not
 * fsync'd: the rows are views, which commit nothing) and for
 * BENCH_SECONDS (default 2) per row calls, from one thread, as views:
 *
 *   module      shout, a WASI module's export echoing its 5-byte input
 *               (stdin to stdout): the plain call of one module
 *   component   svc's echo(string) -> string with the same input: one
 *               component instantiated and called
 *   add         svc's add(u32, u32) -> u32 from "[1, 2]": the set-up
 *               dominates (the call itself is ~0.5 us, component_bench):
 *               once in the thread's kept instance, reset (the node's
 *               default), once with a memory limit that changes each call,
 *               so that each instantiates the component
 *   round trip  wippy_caller's run("svc:echo", input): call-string through
 *               the node to a second component and back (two component
 *               instances and calls, the nested call's set-up)
 *
 * The node is inline (WEFT_NODE_INLINE: the calls run on this thread;
 * BENCH_THREADED=1: on its worker pool instead). Each row prints µs per
 * call (wall), the process's CPU time per call (what a loaded machine
 * changes least), the median time the node reports inside the call
 * (weft_call_result duration: instantiation, the call, streams; for the
 * round trip the nested call included), and the CPU time's ratio to the
 * module row's. Every call must succeed, else the program stops with the
 * call's message (exit 1).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "weft/node.h"

static double seconds = 2.0;

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }

static void die(const char *what, const char *why)
{
    fprintf(stderr, "componentcall: %s: %s\n", what, why);
    exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One row; returns its CPU µs per call. fresh: each call's memory limit
 * differs from the last 8 calls', so no kept instance fits it (the thread
 * keeps 4) and every call instantiates. */
static double row(const char *label, weft_node_t *node, const char *ctx, const char *fn,
                  const char *input, double base, int fresh)
{
    size_t cap = 1u << 20, n = 0;
    uint64_t *dur = malloc(cap * sizeof *dur), calls = 0;
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = ctx;
    req.function = fn;
    req.view = 1;
    req.input = (const uint8_t *)input;
    req.input_len = strlen(input);
    double t0 = now_s(), until = t0 + seconds, cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    /* (the process's: the watchdog's and, threaded, the worker's too) */
    while (now_s() < until) {
        for (int i = 0; i < 16; i++, calls++) {
            weft_call_result_t *res = NULL;
            if (fresh)
                req.limits.max_memory_pages = 1000 + (uint32_t)(calls % 9);
            if (weft_node_call(node, &req, &res) != 0)
                die(label, "weft_node_call failed");
            if (weft_call_result_outcome(res) != WEFT_CALL_OK)
                die(label, weft_call_result_message(res));
            if (n < cap)
                dur[n++] = weft_call_result_duration_ns(res);
            weft_call_result_delete(res);
        }
    }
    double el = now_s() - t0;
    double cpu = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0) * 1e6 / (double)calls;
    qsort(dur, n, sizeof *dur, cmp_u64);
    double med = n ? (double)dur[n / 2] / 1e3 : 0;
    char ratio[32] = "";
    if (base > 0)
        snprintf(ratio, sizeof ratio, "%.2fx", cpu / base);
    printf("| %-50s | %9.2f | %9.2f | %12.2f | %8s |\n", label, el * 1e6 / (double)calls, cpu,
           med, ratio);
    fflush(stdout);
    free(dur);
    return cpu;
}

static void deploy(weft_node_t *node, const char *dir, const char *file, const char *ctx,
                   const char *manifest)
{
    char path[4096], msg[512], id[WEFT_APP_ID_LEN + 1];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (!f)
        die(path, "cannot open (build the test components first)");
    static uint8_t buf[4 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (weft_node_app_deploy_manifest(node, buf, len, ctx, manifest,
                                      manifest ? strlen(manifest) : 0, id, msg, sizeof msg) != 0)
        die(file, msg);
    if (weft_node_context_create(node, ctx, id, msg, sizeof msg) != 0)
        die(ctx, msg);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: componentcall COMPONENTS_DIR DIR\n");
        return 2;
    }
    const char *s = getenv("BENCH_SECONDS");
    if (s && atof(s) > 0)
        seconds = atof(s);
    weft_node_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = argv[2];
    /* Inline: every call runs on this thread, so its CPU time is the
     * call's, with no hand-off to a worker (which a loaded machine makes
     * noisy); BENCH_THREADED=1 for the worker pool. */
    cfg.flags = WEFT_NODE_DB_NOSYNC | (getenv("BENCH_THREADED") ? 0 : WEFT_NODE_INLINE);
    char msg[512];
    weft_node_t *node = NULL;
    if (weft_node_open(&cfg, &node, msg, sizeof msg) != 0)
        die(argv[2], msg);
    deploy(node, argv[1], "shout.wasm", "nx", NULL);
    deploy(node, argv[1], "svc.wasm", "svc", NULL);
    deploy(node, argv[1], "wippy_caller.wasm", "caller",
           "{\"imports\": [\"funcs\"], \"funcs\": {\"allow\": [\"svc:echo\"]}}");
    printf("| %-50s | %9s | %9s | %12s | %8s |\n", "row (1 thread, views)", "us/call",
           "CPU us/call", "median in-node us", "CPU x module");
    printf("|---|---|---|---|---|\n");
    double base = row("module: shout (stdin -> stdout)", node, "nx", "shout", "hello", 0, 0);
    row("component: svc echo(string) -> string", node, "svc", "echo", "hello", base, 0);
    row("component: svc add(u32, u32) (kept instance reset)", node, "svc", "add", "[1, 2]", base,
        0);
    row("component: svc add(u32, u32) (instantiated)", node, "svc", "add", "[1, 2]", base, 1);
    row("round trip: caller run -> call-string -> svc echo", node, "caller", "run",
        "[\"svc:echo\", \"hello\"]", base, 0);
    weft_node_close(node);
    return 0;
}
