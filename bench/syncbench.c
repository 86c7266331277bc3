/*
 * bench/syncbench.c — replication between real nodes (issue 11,
 * "Benchmarks"): three weft_node_t in one process, linked by peer links on
 * 127.0.0.1 (A listens, B and C dial it and find each other by gossip), one
 * context of bench/callapp.c whose members are the three.
 *
 *   syncbench CALLAPP.wasm DIR
 *
 * Phases, each printed as it ends:
 *
 *   idle       BENCH_PROBES (100) probes one at a time, from A, B, C in turn:
 *              a call of `probe` ("p" +1) and, from its return (the commit
 *              is done), the time until each of the two other nodes reads
 *              the new value (a read of the CRDT key, polled): the
 *              propagation delay, p50 and p99 over all (probe, observer)
 *              pairs
 *   load       BENCH_THREADS (4) threads per node call `crdt_n(BENCH_K)`
 *              ("c" +1, K = 100 times in one call) on their node for
 *              BENCH_SECONDS (5), all three nodes at once, while a probe
 *              runs as above every 20 ms; then the run waits until every
 *              node reads the same total. Replicated ops/s per node: the
 *              ops every node ends with (the three nodes' writes) over the
 *              time from the start of the load until the last node has them
 *              all (and per CPU second of the process: what a node would do
 *              with a core of its own). Wire bytes per op: peer links'
 *              bytes_out over the ops the engine sent (weft_node_peers,
 *              deltas over the phase), and all links' bytes over the ops
 *              each node had to receive
 *   paced      the same, each node's writers paced to half its share of
 *              the replicated rate of `load` (a third of it: every node
 *              holds every node's writes), or BENCH_RATE ops/s per node
 *   partition  C is closed; A and B write BENCH_MISSED (100,000) ops between
 *              them; C is opened again on its data directory, and the time
 *              from that open until C reads what A reads is the catch-up
 *
 * Every call must succeed, else the program stops with its message (exit
 * 1). Commits are durable (fsync) unless BENCH_NOSYNC=1. BENCH_VERBOSE=1
 * prints the nodes' sync log lines and the probes slower than 50 ms;
 * BENCH_TRACE=1 the ops each node still lacks, every 0.25 s while the run
 * waits for convergence.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "weft/error.h"
#include "weft/node.h"
#include "weft/sync.h"

#define MAX_NODES 16
#define NODES nnodes
#define CTX "s"

/* BENCH_NODES nodes (3; 2 to 16); with BENCH_NATS=nats://HOST:PORT they
 * replicate through that NATS server (docs/sync.md "NATS transport")
 * instead of peer links: bench/RESULTS.md compares the two. */
static int nnodes = 3;
static const char *nats_url;

static double seconds = 5.0;
static unsigned threads = 4, probes = 100;
static int32_t k_ops = 100;
static uint64_t missed = 100000;
static unsigned flags;
static char a_addr[64];
static char dirs[MAX_NODES][4096];
static weft_node_t *nodes[MAX_NODES];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds this process used (every node, the polls included). */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "syncbench: %s%s%s\n", what, msg ? ": " : "", msg ? msg : "");
    exit(1);
}

static void sync_log(void *user, const char *line)
{
    fprintf(stderr, "[%c] %s\n", (char)(uintptr_t)user, line);
}

static void quiet(void *user, const char *line) {}

static weft_node_t *open_node(int i)
{
    weft_node_config_t cfg;
    const char *peers[1] = {a_addr};
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = dirs[i];
    cfg.flags = flags;
    if (nats_url) {
#ifdef WEFT_HAVE_NATS
        cfg.sync_nats = nats_url;
        cfg.sync_nats_transport = weft_sync_nats_transport();
#else
        die("BENCH_NATS", "this syncbench was built without libnats");
#endif
    } else {
        cfg.peer_listen = "127.0.0.1:0";
        cfg.peers = i > 0 ? peers : NULL;
        cfg.npeers = i > 0 ? 1 : 0;
    }
    cfg.sync_log = getenv("BENCH_VERBOSE") ? sync_log : quiet;
    cfg.sync_log_user = (void *)(uintptr_t)('A' + i);
    char msg[512];
    weft_node_t *n = NULL;
    if (weft_node_open(&cfg, &n, msg, sizeof msg) != 0)
        die("cannot open a node", msg);
    return n;
}

/* A counter's value on node n (0 while the context or key is absent). */
static uint64_t counter(weft_node_t *n, const char *key)
{
    char *json = NULL;
    if (weft_node_crdt_json(n, CTX, (const uint8_t *)key, strlen(key), &json) != 0)
        return 0;
    const char *v = strstr(json, "\"value\":");
    uint64_t r = v ? strtoull(v + 8, NULL, 10) : 0;
    free(json);
    return r;
}

static void call(weft_node_t *n, const char *fn, int32_t k)
{
    weft_call_req_t req;
    weft_val_t arg = weft_val_i32(k);
    memset(&req, 0, sizeof req);
    req.context = CTX;
    req.function = fn;
    if (k > 0) {
        req.args = &arg;
        req.nargs = 1;
    }
    weft_call_result_t *res = NULL;
    if (weft_node_call(n, &req, &res) != 0)
        die("weft_node_call failed", NULL);
    if (weft_call_result_outcome(res) != WEFT_CALL_OK)
        die(fn, weft_call_result_message(res));
    weft_call_result_delete(res);
}

/* Waits until fn(arg) holds; dies after limit seconds. */
static void wait_for(const char *what, int (*fn)(void *), void *arg, double limit)
{
    double end = now_s() + limit;
    while (!fn(arg)) {
        if (now_s() > end)
            die("timed out waiting for", what);
        usleep(5000);
    }
}

static int has_context(void *arg)
{
    weft_context_info_t ci;
    return weft_node_context_get(arg, CTX, &ci) == 0;
}

/* ---- propagation probes ---- */

typedef struct {
    double *v;
    size_t n, cap;
} probes_t;

static uint64_t probes_sent; /* the value of "p" everywhere after the last probe */

static void add_sample(probes_t *p, double ms)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 256;
        if (!(p->v = realloc(p->v, p->cap * sizeof *p->v)))
            die("out of memory", NULL);
    }
    p->v[p->n++] = ms;
}

/* One probe from node `from`: the delay until each other node reads it. */
static void probe_once(probes_t *p, int from)
{
    double seen[MAX_NODES] = {0};
    int left = NODES - 1;
    call(nodes[from], "probe", 0);
    double t0 = now_s();
    probes_sent++;
    while (left > 0) {
        for (int i = 0; i < NODES; i++)
            if (i != from && seen[i] == 0 && counter(nodes[i], "p") >= probes_sent) {
                seen[i] = now_s();
                add_sample(p, (seen[i] - t0) * 1e3);
                if (getenv("BENCH_VERBOSE") && (seen[i] - t0) > 0.05)
                    fprintf(stderr, "probe %llu from %c: seen by %c after %.1f ms\n",
                            (unsigned long long)probes_sent, 'A' + from, 'A' + i,
                            (seen[i] - t0) * 1e3);
                left--;
            }
        if (now_s() - t0 > 120)
            die("a probe was not seen within 120 s", NULL);
        /* a read is a JSON rendering of the key: polled flat out, it would
         * take a good part of the CPU the nodes need */
        usleep(500);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts the samples and prints p50, p99 and max. */
static void print_pct(const char *label, probes_t *p)
{
    if (p->n == 0) {
        printf("%s: propagation: no samples\n", label);
        return;
    }
    qsort(p->v, p->n, sizeof *p->v, cmp_double);
    printf("%s: propagation p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu samples)\n", label,
           p->v[(size_t)(0.5 * (double)(p->n - 1) + 0.5)],
           p->v[(size_t)(0.99 * (double)(p->n - 1) + 0.5)], p->v[p->n - 1], p->n);
}

/* ---- load ---- */

typedef struct {
    weft_node_t *node;
    double until;            /* stop at this time ... */
    atomic_llong *quota;     /* ... or when this many calls are taken (NULL: none) */
    double every;            /* > 0: one call every this many seconds (paced) */
    uint64_t calls;
} writer_t;

static void *writer(void *arg)
{
    writer_t *w = arg;
    double next = now_s();
    for (;;) {
        if (w->quota && atomic_fetch_sub(w->quota, 1) <= 0)
            return NULL;
        if (!w->quota && now_s() >= w->until)
            return NULL;
        if (w->every > 0) {
            double d = next - now_s();
            if (d > 0)
                usleep((useconds_t)(d * 1e6));
            next += w->every;
        }
        call(w->node, "crdt_n", k_ops);
        w->calls++;
    }
}

typedef struct {
    probes_t *p;
    atomic_int stop;
} prober_t;

static void *prober(void *arg)
{
    prober_t *pr = arg;
    for (int i = 0; !atomic_load(&pr->stop); i++) {
        probe_once(pr->p, i % NODES);
        usleep(20000);
    }
    return NULL;
}

typedef struct {
    uint64_t bytes_out, ops_sent;
} wire_t;

static void wire_fn(void *user, const weft_sync_peer_t *p)
{
    wire_t *w = user;
    if (!p->up)
        return;
    w->bytes_out += p->bytes_out;
    w->ops_sent += p->ops_sent;
}

static wire_t wire_of(weft_node_t *n)
{
    wire_t w = {0, 0};
    weft_node_peers(n, wire_fn, &w);
    return w;
}

typedef struct {
    int n;
    uint64_t want;
} conv_t;

static int converged(void *arg)
{
    conv_t *c = arg;
    static double last;
    if (getenv("BENCH_TRACE") && now_s() - last > 0.25) {
        last = now_s();
        fprintf(stderr, "%.2f:", last);
        for (int i = 0; i < c->n; i++)
            fprintf(stderr, " %llu", (unsigned long long)(c->want - counter(nodes[i], "c")));
        fprintf(stderr, " (missing)\n");
    }
    for (int i = 0; i < c->n; i++)
        if (counter(nodes[i], "c") != c->want)
            return 0;
    return 1;
}

static int caught_up(void *arg)
{
    return counter(nodes[NODES - 1], "c") == *(uint64_t *)arg;
}

/* Runs `threads` writers on each of nodes[0..n) until `until` or, with a
 * quota, until quota calls in all; rate > 0: at most that many ops a
 * second per node. Returns the calls made. */
static uint64_t run_writers(int n, double until, atomic_llong *quota, double rate)
{
    writer_t w[MAX_NODES * 64];
    pthread_t t[MAX_NODES * 64];
    unsigned nt = (unsigned)n * threads;
    uint64_t calls = 0;
    for (unsigned i = 0; i < nt; i++) {
        w[i] = (writer_t){nodes[i % (unsigned)n], until, quota,
                          rate > 0 ? (double)threads * k_ops / rate : 0, 0};
        if (pthread_create(&t[i], NULL, writer, &w[i]) != 0)
            die("cannot start a thread", NULL);
    }
    for (unsigned i = 0; i < nt; i++) {
        pthread_join(t[i], NULL);
        calls += w[i].calls;
    }
    return calls;
}

/* One load phase (label): every node's writers for BENCH_SECONDS, at most
 * rate ops/s per node (0: as fast as they go), probes alongside; waits
 * for the three to converge. Returns the replicated ops/s per node. */
static double load_phase(const char *label, double rate)
{
    wire_t w0[MAX_NODES];
    for (int i = 0; i < NODES; i++)
        w0[i] = wire_of(nodes[i]);
    uint64_t base = counter(nodes[0], "c");
    probes_t loaded = {0};
    prober_t pr = {&loaded, 0};
    pthread_t pt;
    double start = now_s(), cpu0 = cpu_s();
    if (pthread_create(&pt, NULL, prober, &pr) != 0)
        die("cannot start a thread", NULL);
    uint64_t calls = run_writers(NODES, start + seconds, NULL, rate);
    double wrote = now_s() - start;
    atomic_store(&pr.stop, 1); /* its last probe may still wait: not for it */
    conv_t cv = {NODES, base + calls * (uint64_t)k_ops};
    wait_for("the three nodes to converge", converged, &cv, 600);
    double conv = now_s() - start, cpu = cpu_s() - cpu0;
    pthread_join(pt, NULL);
    uint64_t ops = calls * (uint64_t)k_ops;
    wire_t w1[MAX_NODES];
    uint64_t bytes = 0, sent = 0;
    for (int i = 0; i < NODES; i++) {
        w1[i] = wire_of(nodes[i]);
        bytes += w1[i].bytes_out - w0[i].bytes_out;
        sent += w1[i].ops_sent - w0[i].ops_sent;
    }
    printf("%s: %u threads per node, %d ops per call, %.1f s: %llu ops written "
           "(%.0f/s per node written locally)\n", label,
           threads, k_ops, wrote, (unsigned long long)ops, (double)ops / NODES / wrote);
    printf("%s: every node holds all %llu ops %.2f s after the start (%.2f s after the "
           "writes stopped): %.0f replicated ops/s per node\n", label,
           (unsigned long long)ops, conv, conv - wrote, (double)ops / conv);
    printf("%s: the process used %.2f CPU seconds for it (%.2f cores): %.0f ops/s per node "
           "per CPU second of its own\n", label, cpu, cpu / conv, (double)ops * NODES / cpu);
    print_pct(label, &loaded);
    printf("%s: wire %.1f bytes per op sent (%llu bytes, %llu ops sent); %.1f bytes per op "
           "received where needed (each op reaches %d other nodes)\n", label,
           sent ? (double)bytes / (double)sent : 0, (unsigned long long)bytes,
           (unsigned long long)sent, ops ? (double)bytes / (double)(ops * (NODES - 1)) : 0,
           NODES - 1);
    fflush(stdout);

    if (rate > 0)
        printf("%s: paced at %.0f ops/s per node\n", label, rate);
    fflush(stdout);
    free(loaded.v);
    return (double)ops / conv;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
        die("cannot read", path);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static double env_num(const char *name, double def)
{
    const char *v = getenv(name);
    return v && *v ? atof(v) : def;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: syncbench CALLAPP.wasm DIR\n");
        return 2;
    }
    seconds = env_num("BENCH_SECONDS", seconds);
    threads = (unsigned)env_num("BENCH_THREADS", threads);
    probes = (unsigned)env_num("BENCH_PROBES", probes);
    k_ops = (int32_t)env_num("BENCH_K", k_ops);
    missed = (uint64_t)env_num("BENCH_MISSED", (double)missed);
    if (threads < 1 || threads > 64 || k_ops < 1)
        die("BENCH_THREADS must be 1..64 and BENCH_K at least 1", NULL);
    flags = env_num("BENCH_NOSYNC", 0) ? WEFT_NODE_DB_NOSYNC : 0;
    nnodes = (int)env_num("BENCH_NODES", nnodes);
    nats_url = getenv("BENCH_NATS") && *getenv("BENCH_NATS") ? getenv("BENCH_NATS") : NULL;
    if (nnodes < 3 || nnodes > MAX_NODES)
        die("BENCH_NODES must be 3..16", NULL);
    size_t wasm_len;
    uint8_t *wasm = read_file(argv[1], &wasm_len);
    for (int i = 0; i < NODES; i++) {
        snprintf(dirs[i], sizeof dirs[i], "%s/node%c", argv[2], 'a' + i);
        if (mkdir(dirs[i], 0700) != 0)
            die("cannot make", dirs[i]);
    }

    /* The others dial A and learn each other by gossip (or all meet on
     * NATS). */
    nodes[0] = open_node(0);
    snprintf(a_addr, sizeof a_addr, "127.0.0.1:%d", weft_node_peer_port(nodes[0]));
    for (int i = 1; i < NODES; i++)
        nodes[i] = open_node(i);
    char msg[512], app[WEFT_APP_ID_LEN + 1];
    if (weft_node_app_deploy(nodes[0], wasm, wasm_len, "callapp", app, msg, sizeof msg) != 0)
        die("deploy", msg);
    uint8_t others[MAX_NODES][32];
    for (int i = 1; i < NODES; i++)
        memcpy(others[i - 1], weft_node_id(nodes[i]), 32);
    if (weft_node_context_create_members(nodes[0], CTX, app, others[0], (size_t)NODES - 1, msg,
                                         sizeof msg) != 0)
        die("context", msg);
    double t0 = now_s();
    for (int i = 1; i < NODES; i++)
        wait_for("a node to join", has_context, nodes[i], 120);
    printf("%d nodes on 127.0.0.1 (%s commits, %s); the others joined the context "
           "(invitation, app transfer) in %.0f ms\n", NODES, flags ? "no-fsync" : "fsync'd",
           nats_url ? "through NATS" : "peer links", (now_s() - t0) * 1e3);

    /* Idle propagation. */
    probes_t idle = {0};
    for (int i = 0; i < NODES; i++)
        probe_once(&idle, i); /* warm up: links and sessions */
    idle.n = 0;
    for (unsigned i = 0; i < probes; i++) {
        probe_once(&idle, (int)(i % NODES));
        usleep(5000);
    }
    print_pct("idle", &idle);
    fflush(stdout);

    /* Load: all three nodes write at once as fast as they can, then each
     * at half its share of the rate they replicated (every node holds
     * every node's ops), or BENCH_RATE ops/s per node. */
    double top = load_phase("load", 0);
    double rate = env_num("BENCH_RATE", 0);
    load_phase("paced", rate > 0 ? rate : top / NODES / 2);

    /* Partition: C is away while A and B write `missed` ops. */
    weft_node_close(nodes[NODES - 1]);
    nodes[NODES - 1] = NULL;
    uint64_t before = counter(nodes[0], "c");
    atomic_llong quota = (long long)((missed + (uint64_t)k_ops - 1) / (uint64_t)k_ops);
    uint64_t pcalls = run_writers(2, 0, &quota, 0);
    conv_t ab = {2, before + pcalls * (uint64_t)k_ops};
    wait_for("A and B to converge", converged, &ab, 600);
    t0 = now_s();
    double cpu0 = cpu_s();
    nodes[NODES - 1] = open_node(NODES - 1);
    wait_for("C to catch up", caught_up, &ab.want, 600);
    double catchup = now_s() - t0;
    printf("partition: C missed %llu ops; reopened, it read what A reads %.2f s after its "
           "open (%.2f CPU seconds)\n", (unsigned long long)(pcalls * (uint64_t)k_ops), catchup,
           cpu_s() - cpu0);

    for (int i = 0; i < NODES; i++)
        weft_node_close(nodes[i]);
    free(idle.v);
    free(wasm);
    return 0;
}
