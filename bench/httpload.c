/*
 * bench/httpload.c — a small HTTP load generator on libcurl's multi API.
 *
 *   httpload [-c CONNS] [-d SECONDS] [-w WARMUP] [-t THREADS] [-b BYTES] [-X METHOD]
 *            [-n N] URL
 *
 * Keeps CONNS requests in flight (default 64) over keep-alive connections
 * (libcurl reuses each connection: one per easy handle, re-added as soon
 * as its answer is in), spread over THREADS client threads (default 1),
 * each with its own multi handle. After WARMUP seconds (default 1, not
 * counted) it counts for SECONDS (default 10): answers per second and the
 * latency of each request from the moment it was handed to libcurl to the
 * last byte of its answer (p50, p99, p99.9). -X POST sends a body of BYTES
 * bytes (default 100) as application/octet-stream. With -n N, URL holds
 * one %u, which each connection replaces with its number modulo N (N
 * contexts, say). Any answer other than
 * 200 counts as an error; the program exits 1 when there was any, after
 * printing one line:
 *
 *   requests N rps R p50_ms A p99_ms B p999_ms C errors E
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *url;
static const char *method = "GET";
static char *body;
static size_t body_len = 100;
static double warmup = 1.0, duration = 10.0;
static unsigned url_mod; /* -n: connection i gets URL with i % url_mod */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t drop(char *p, size_t size, size_t n, void *user)
{
    (void)p, (void)user;
    return size * n;
}

typedef struct {
    unsigned conns, first; /* its connections' numbers: first.. */
    double start, end; /* the counted window */
    double *lat;       /* seconds, counted requests only */
    size_t nlat, cap;
    unsigned long errors;
    char first_error[256];
} client_t;

typedef struct {
    CURL *h;
    double sent;
} slot_t;

static void *run_client(void *arg)
{
    client_t *c = arg;
    CURLM *m = curl_multi_init();
    slot_t *s = calloc(c->conns, sizeof *s);
    struct curl_slist *hdr = NULL;
    hdr = curl_slist_append(hdr, "Expect:");
    hdr = curl_slist_append(hdr, "Content-Type: application/octet-stream");
    if (!m || !s || !hdr) {
        fprintf(stderr, "httpload: out of memory\n");
        exit(1);
    }
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)c->conns);
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->conns);
    for (unsigned i = 0; i < c->conns; i++) {
        CURL *h = curl_easy_init();
        if (!h) {
            fprintf(stderr, "httpload: out of memory\n");
            exit(1);
        }
        char own[4096];
        if (url_mod)
            snprintf(own, sizeof own, url, (c->first + i) % url_mod);
        curl_easy_setopt(h, CURLOPT_URL, url_mod ? own : url); /* copied by libcurl */
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, drop);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_PRIVATE, &s[i]);
        curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (strcmp(method, "POST") == 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
        } else if (strcmp(method, "GET") != 0) {
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        }
        s[i].h = h;
        s[i].sent = now_s();
        curl_multi_add_handle(m, h);
    }
    int running = 1;
    for (;;) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        double t = now_s();
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *h = msg->easy_handle;
            slot_t *sl;
            long code = 0;
            curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&sl);
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
            int counted = sl->sent >= c->start && t <= c->end;
            if (msg->data.result != CURLE_OK || code != 200) {
                if (!c->errors)
                    snprintf(c->first_error, sizeof c->first_error, "%s, status %ld",
                             curl_easy_strerror(msg->data.result), code);
                c->errors++;
            } else if (counted) {
                if (c->nlat == c->cap) {
                    c->cap = c->cap ? 2 * c->cap : 65536;
                    c->lat = realloc(c->lat, c->cap * sizeof *c->lat);
                    if (!c->lat) {
                        fprintf(stderr, "httpload: out of memory\n");
                        exit(1);
                    }
                }
                c->lat[c->nlat++] = t - sl->sent;
            }
            curl_multi_remove_handle(m, h);
            if (t < c->end) {
                sl->sent = t;
                curl_multi_add_handle(m, h);
            } else {
                curl_easy_cleanup(h);
                sl->h = NULL;
            }
        }
        if (!running && t >= c->end)
            break;
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    for (unsigned i = 0; i < c->conns; i++)
        if (s[i].h) {
            curl_multi_remove_handle(m, s[i].h);
            curl_easy_cleanup(s[i].h);
        }
    curl_multi_cleanup(m);
    curl_slist_free_all(hdr);
    free(s);
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    unsigned conns = 64, threads = 1;
    int o;
    while ((o = getopt(argc, argv, "c:d:w:t:b:X:n:")) != -1) {
        switch (o) {
        case 'c': conns = (unsigned)atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 't': threads = (unsigned)atoi(optarg); break;
        case 'b': body_len = (size_t)atol(optarg); break;
        case 'X': method = optarg; break;
        case 'n': url_mod = (unsigned)atoi(optarg); break;
        default:
            fprintf(stderr, "usage: httpload [-c CONNS] [-d S] [-w S] [-t THREADS] [-b BYTES] "
                            "[-X METHOD] [-n N] URL\n");
            return 2;
        }
    }
    if (optind != argc - 1 || !conns || !threads || threads > conns || duration <= 0) {
        fprintf(stderr, "httpload: bad arguments (see the header of bench/httpload.c)\n");
        return 2;
    }
    url = argv[optind];
    if (url_mod) { /* exactly one %u, no other conversion */
        const char *p = strstr(url, "%u");
        if (!p || strchr(url, '%') != p || strchr(p + 2, '%')) {
            fprintf(stderr, "httpload: -n needs a URL with one %%u\n");
            return 2;
        }
    }
    if (!(body = malloc(body_len + 1)))
        return 1;
    memset(body, 'v', body_len);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    client_t *c = calloc(threads, sizeof *c);
    pthread_t *t = calloc(threads, sizeof *t);
    double start = now_s() + warmup, end = start + duration;
    for (unsigned i = 0; i < threads; i++) {
        c[i].conns = conns / threads + (i < conns % threads);
        c[i].first = i ? c[i - 1].first + c[i - 1].conns : 0;
        c[i].start = start;
        c[i].end = end;
        pthread_create(&t[i], NULL, run_client, &c[i]);
    }
    size_t n = 0;
    unsigned long errors = 0;
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        n += c[i].nlat;
        errors += c[i].errors;
    }
    double *all = malloc((n ? n : 1) * sizeof *all);
    size_t k = 0;
    for (unsigned i = 0; i < threads; i++) {
        memcpy(all + k, c[i].lat, c[i].nlat * sizeof *all);
        k += c[i].nlat;
        free(c[i].lat);
        if (c[i].errors)
            fprintf(stderr, "httpload: first error of client %u: %s\n", i, c[i].first_error);
    }
    qsort(all, n, sizeof *all, cmp_d);
#define PCT(p) (n ? all[(size_t)((double)(n - 1) * (p))] * 1e3 : 0.0)
    printf("requests %zu rps %.0f p50_ms %.3f p99_ms %.3f p999_ms %.3f errors %lu\n", n,
           (double)n / duration, PCT(0.5), PCT(0.99), PCT(0.999), errors);
    free(all);
    free(c);
    free(t);
    free(body);
    curl_global_cleanup();
    return errors ? 1 : 0;
}
