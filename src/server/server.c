/*
 * server.c — weft/server.h: the daemon, a request's life, auth, replies.
 *
 * libmicrohttpd runs a pool of threads over epoll. Every request is
 * routed, authorised and size-checked when its headers arrive, so a
 * refused request never has its body read (a declared body over the limit
 * gets 413 at once; an undeclared one is cut off when it passes the
 * limit). With no token configured, the accept policy lets only loopback
 * clients connect, and start refuses a non-loopback address.
 *
 * Shutdown: `closing` makes new requests 503, event streams end, then the
 * server waits for the calls it suspended (each is answered when the node
 * finishes it), and only then stops the daemon.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>

#include "server_priv.h"
#include "weft/error.h"

#define DEFAULT_MAX_APP ((size_t)16 << 20)
#define DEFAULT_MAX_CALL ((size_t)1 << 20)
#define DRAIN_MAX ((uint64_t)1 << 20) /* a refused request's body read and dropped */

uint64_t srv_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char *decode_segment(const char *p, size_t n);

/* ---- replies --------------------------------------------------------------- */

enum MHD_Result srv_queue(req_t *r, unsigned status, struct MHD_Response *resp,
                          const char *type)
{
    if (!resp)
        return MHD_NO;
    if (type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    unsigned c = status / 100; /* every answer is counted here, for /metrics */
    if (c >= 1 && c <= 5)
        atomic_fetch_add(&r->srv->http[c], 1);
    enum MHD_Result rc = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

enum MHD_Result srv_reply_bytes(req_t *r, unsigned status, const char *type, const void *p,
                                size_t len)
{
    void *copy = malloc(len ? len : 1);
    if (!copy)
        return MHD_NO;
    if (len)
        memcpy(copy, p, len);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, copy, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        free(copy);
    return srv_queue(r, status, resp, type);
}

enum MHD_Result srv_reply_json(req_t *r, unsigned status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return MHD_NO;
    size_t len = strlen(text);
    text[len] = '\0';
    /* One more byte for the newline a terminal user expects. */
    char *line = realloc(text, len + 2);
    if (!line) {
        free(text);
        return MHD_NO;
    }
    line[len] = '\n';
    line[len + 1] = '\0';
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len + 1, line, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        free(line);
    return srv_queue(r, status, resp, "application/json");
}

enum MHD_Result srv_reply_error(req_t *r, unsigned status, const char *code, const char *fmt,
                                ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *err = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    if (!err) /* the message was not UTF-8: say so without it */
        err = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message",
                        "(the message was not valid UTF-8)");
    return srv_reply_json(r, status, err);
}

void srv_set_bytes(json_t *obj, const char *key, const void *p, size_t len)
{
    /* Text is UTF-8 without NUL bytes (which C clients could not hold). */
    json_t *v = p && memchr(p, 0, len) ? NULL : json_stringn(p ? (const char *)p : "", len);
    if (v) {
        json_object_set_new(obj, key, v);
        return;
    }
    size_t cap = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(cap);
    char k[64];
    if (!b64)
        return;
    sodium_bin2base64(b64, cap, p, len, sodium_base64_VARIANT_ORIGINAL);
    snprintf(k, sizeof k, "%s_base64", key);
    json_object_set_new(obj, k, json_string(b64));
    free(b64);
}

/* libmicrohttpd is told not to unescape (no_unescape), so that a path
 * segment is decoded once, by the router, and "%2F" stays inside its
 * segment; query values are decoded here ("+" is a space, as forms send
 * it), into memory that lives as long as the request. A value with a bad
 * escape or a NUL byte counts as absent. */
const char *srv_query(req_t *r, const char *name)
{
    return srv_query_decode(r, MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name));
}

const char *srv_query_decode(req_t *r, const char *raw)
{
    if (!raw)
        return NULL;
    char *plus = strdup(raw);
    if (!plus)
        return NULL;
    for (char *p = plus; *p; p++)
        if (*p == '+')
            *p = ' ';
    char *v = decode_segment(plus, strlen(plus));
    free(plus);
    if (!v)
        return NULL;
    struct srv_str *s = malloc(sizeof *s);
    if (!s) {
        free(v);
        return NULL;
    }
    s->p = v;
    s->next = r->strings;
    r->strings = s;
    return v;
}

static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    return strlen(s);
}

/* ---- routing ---------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes one path segment into a new string; NULL when it holds
 * a bad escape or a NUL byte. */
static char *decode_segment(const char *p, size_t n)
{
    char *out = malloc(n + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '%') {
            int a = i + 1 < n ? hexval(p[i + 1]) : -1, b = i + 2 < n ? hexval(p[i + 2]) : -1;
            int h = a < 0 || b < 0 ? -1 : a * 16 + b;
            if (h <= 0) { /* a bad escape, or %00 */
                free(out);
                return NULL;
            }
            out[o++] = (char)h;
            i += 2;
            continue;
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return out;
}

/* Matches url against pattern; on a match fills params (decoded) and
 * returns 1; 0 when it does not match; -1 on a bad escape. */
static int match(const char *pattern, const char *url, char **params)
{
    size_t np = 0;
    const char *p = pattern, *u = url;
    while (*p && *u) {
        if (p[0] == '{' && p[1] == '}') {
            size_t n = strcspn(u, "/");
            if (n == 0 || np == SRV_MAX_PARAMS)
                goto no;
            if (!(params[np++] = decode_segment(u, n)))
                goto bad;
            p += 2;
            u += n;
            continue;
        }
        if (*p != *u)
            goto no;
        p++;
        u++;
    }
    if (*p == '\0' && *u == '\0')
        return 1;
no:
    for (size_t i = 0; i < np; i++) {
        free(params[i]);
        params[i] = NULL;
    }
    return 0;
bad:
    for (size_t i = 0; i < np; i++) {
        free(params[i]);
        params[i] = NULL;
    }
    return -1;
}

/* Finds the route of (method, url). Returns it, or NULL with *status 404
 * or 405 (with the allowed methods in allow) or 400. */
static const route_t *route(req_t *r, const char *method, const char *url, unsigned *status,
                            char *allow, size_t allow_size)
{
    int path_found = 0;
    allow[0] = '\0';
    for (size_t i = 0; i < srv_nroutes; i++) {
        const route_t *rt = &srv_routes[i];
        int m = match(rt->pattern, url, r->params);
        if (m < 0) {
            *status = MHD_HTTP_BAD_REQUEST;
            return NULL;
        }
        if (!m)
            continue;
        if (strcmp(rt->method, method) == 0)
            return rt;
        path_found = 1;
        for (size_t k = 0; k < SRV_MAX_PARAMS; k++) {
            free(r->params[k]);
            r->params[k] = NULL;
        }
        if (!strstr(allow, rt->method)) {
            size_t l = strlen(allow);
            snprintf(allow + l, allow_size - l, "%s%s", l ? ", " : "", rt->method);
        }
    }
    *status = path_found ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND;
    return NULL;
}

/* ---- auth ------------------------------------------------------------------- */

/* The scopes the request's bearer token grants: all of them when no token
 * is configured (only loopback clients get this far then), 0 for none or
 * an unknown token. Compared in constant time. */
static unsigned scopes_of(srv_t *s, req_t *r, int *has_token)
{
    *has_token = 0;
    if (s->ntokens == 0)
        return WEFT_SCOPE_ALL;
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return 0;
    *has_token = 1;
    const char *t = h + 7;
    size_t tl = strlen(t);
    unsigned scopes = 0;
    for (size_t i = 0; i < s->ntokens; i++) {
        size_t kl = strlen(s->tokens[i].token);
        if (kl == tl && sodium_memcmp(s->tokens[i].token, t, tl) == 0)
            scopes |= s->tokens[i].scopes;
    }
    return scopes;
}

static int is_loopback(const struct sockaddr *a)
{
    if (!a)
        return 0;
    if (a->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
    if (a->sa_family == AF_INET6) {
        const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(x))
            return 1;
        if (IN6_IS_ADDR_V4MAPPED(x))
            return x->s6_addr[12] == 127;
    }
    return 0;
}

static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
    srv_t *s = cls;
    return s->ntokens || is_loopback(addr) ? MHD_YES : MHD_NO;
}

/* ---- a request's life ------------------------------------------------------- */

static void free_req(req_t *r)
{
    for (int i = 0; i < SRV_MAX_PARAMS; i++)
        free(r->params[i]);
    free(r->path);
    while (r->strings) {
        struct srv_str *s = r->strings;
        r->strings = s->next;
        free(s->p);
        free(s);
    }
    if (r->piece)
        r->body = NULL; /* the piece was libmicrohttpd's */
    free(r->body);
    if (r->stream_free)
        r->stream_free(r->stream);
    weft_call_result_delete(r->result);
    free(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    srv_t *s = cls;
    req_t *r = *con_cls;
    if (!r)
        return;
    if (r->counted) {
        pthread_mutex_lock(&s->mu);
        /* Only stop waits for this: a wake-up per call would cost every
         * call a futex and wake the ticker for nothing. */
        if (--s->inflight == 0 && atomic_load(&s->closing))
            pthread_cond_broadcast(&s->idle_cv);
        pthread_mutex_unlock(&s->mu);
    }
    free_req(r);
    *con_cls = NULL;
}

static enum MHD_Result refuse(srv_t *s, req_t *r, unsigned status, const char *allow)
{
    r->replied = 1;
    switch (status) {
    case MHD_HTTP_NOT_FOUND:
        return srv_reply_error(r, status, "NOT_FOUND",
                               "no such route (the API is under /v1/, see docs/http.md)");
    case MHD_HTTP_METHOD_NOT_ALLOWED: {
        char msg[128];
        snprintf(msg, sizeof msg, "this path takes %s", allow);
        json_t *err = json_pack("{s:{s:s,s:s}}", "error", "code", "METHOD_NOT_ALLOWED",
                                "message", msg);
        char *text = err ? json_dumps(err, JSON_COMPACT) : NULL;
        json_decref(err);
        if (!text)
            return MHD_NO;
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(text);
            return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
        return srv_queue(r, status, resp, "application/json");
    }
    case MHD_HTTP_BAD_REQUEST:
        return srv_reply_error(r, status, "BAD_REQUEST", "a path segment has a bad %%-escape");
    case MHD_HTTP_UNAUTHORIZED:
        return srv_reply_error(r, status, "UNAUTHORIZED",
                               "this node needs a token: Authorization: Bearer TOKEN");
    case MHD_HTTP_FORBIDDEN:
        return srv_reply_error(r, status, "FORBIDDEN", "the token lacks the '%s' scope",
                               r->route->scope == WEFT_SCOPE_ADMIN ? "admin"
                               : r->route->scope == WEFT_SCOPE_CALL ? "call" : "read");
    case MHD_HTTP_CONTENT_TOO_LARGE:
        return srv_reply_error(r, status, "TOO_LARGE", "the body is over the limit of %zu bytes",
                               r->body_max);
    default:
        return srv_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "UNAVAILABLE",
                               "the node is shutting down");
    }
}

/* The body the request's headers declare (Content-Length): 1 with its
 * size in *n, 0 when they declare none, -1 for a length that does not
 * parse. */
static int declared_body(req_t *r, uint64_t *n)
{
    const char *cl =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(cl, &end, 10);
    if (errno || *end)
        return -1;
    *n = v;
    return 1;
}

/* Refuses a request whose headers were enough to decide. A small declared
 * body from a client that is sending it already (no Expect: 100-continue)
 * is read and dropped first, the answer queued after it (on_request);
 * otherwise the answer goes now and libmicrohttpd closes the connection. */
static enum MHD_Result refuse_at_headers(srv_t *s, req_t *r, unsigned status,
                                         const char *allow)
{
    uint64_t n;
    const char *expect =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    if (declared_body(r, &n) > 0 && n > 0 && n <= DRAIN_MAX &&
        !(expect && strcasecmp(expect, "100-continue") == 0)) {
        r->refusal = status;
        snprintf(r->allow, sizeof r->allow, "%s", allow ? allow : "");
        return MHD_YES;
    }
    return refuse(s, r, status, allow);
}

/* Headers have arrived: make the request, route and check it. */
static enum MHD_Result begin(srv_t *s, struct MHD_Connection *conn, const char *url,
                             const char *method, void **con_cls)
{
    req_t *r = calloc(1, sizeof *r);
    if (!r)
        return MHD_NO;
    r->conn = conn;
    r->srv = s;
    r->t0_ns = srv_now_ns();
    size_t ml = strnlen(method, sizeof r->method - 1); /* (a snprintf was 1.5% of a view) */
    memcpy(r->method, method, ml);
    r->method[ml] = '\0';
    *con_cls = r;
    if (!(r->path = strdup(url)))
        return MHD_NO;
    if (atomic_load(&s->closing))
        return refuse_at_headers(s, r, MHD_HTTP_SERVICE_UNAVAILABLE, NULL);
    unsigned status;
    char allow[64];
    /* The path without its query (libmicrohttpd passes it without). */
    r->route = route(r, method, url, &status, allow, sizeof allow);
    if (!r->route)
        return refuse_at_headers(s, r, status, allow);
    if (r->route->scope) {
        int has_token;
        unsigned have = scopes_of(s, r, &has_token);
        if (!have)
            return refuse_at_headers(s, r, MHD_HTTP_UNAUTHORIZED, NULL);
        if (!(have & r->route->scope))
            return refuse_at_headers(s, r, MHD_HTTP_FORBIDDEN, NULL);
    }
    r->body_max = r->route->body == 3   ? SIZE_MAX
                  : r->route->body == 2 ? s->max_app
                  : r->route->body == 1 ? s->max_call
                                        : 0;
    uint64_t n;
    int declared = declared_body(r, &n);
    if (declared < 0 || (declared > 0 && n > r->body_max))
        return refuse(s, r, MHD_HTTP_CONTENT_TOO_LARGE, NULL);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    srv_t *s = cls;
    req_t *r = *con_cls;
    if (!r)
        return begin(s, conn, url, method, con_cls);
    if (r->replied) { /* refused: its reply is queued; drop any body */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->refusal) { /* refused at the headers: drop the body, then answer */
        if (*upload_data_size) {
            *upload_data_size = 0;
            return MHD_YES;
        }
        return refuse(s, r, r->refusal, r->allow);
    }
    if (*upload_data_size && r->route->body == 3) {
        r->body = (uint8_t *)upload_data;
        r->body_len = *upload_data_size;
        *upload_data_size = 0;
        r->piece = 1;
        enum MHD_Result res = r->route->fn(s, r);
        r->piece = 0;
        r->body = NULL;
        r->body_len = 0;
        return res;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (n > r->body_max - r->body_len) {
            free(r->body);
            r->body = NULL;
            r->body_len = 0;
            return refuse(s, r, MHD_HTTP_CONTENT_TOO_LARGE, NULL);
        }
        if (r->body_len + n > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 4096;
            while (cap < r->body_len + n)
                cap *= 2;
            if (cap > r->body_max)
                cap = r->body_max;
            uint8_t *b = realloc(r->body, cap);
            if (!b)
                return MHD_NO;
            r->body = b;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        return MHD_YES;
    }
    r->started++;
    return r->route->fn(s, r);
}

/* ---- start and stop ----------------------------------------------------------- */

/* Parses "ADDR:PORT", "[ADDR6]:PORT" or "PORT" (127.0.0.1). */
static int parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[128];
    const char *port;
    memset(ss, 0, sizeof *ss);
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (!end || end[1] != ':' || (size_t)(end - text - 1) >= sizeof host)
            return -1;
        memcpy(host, text + 1, (size_t)(end - text - 1));
        host[end - text - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (!colon) {
            snprintf(host, sizeof host, "127.0.0.1");
            port = text;
        } else {
            if ((size_t)(colon - text) >= sizeof host)
                return -1;
            memcpy(host, text, (size_t)(colon - text));
            host[colon - text] = '\0';
            port = colon + 1;
        }
    }
    char *end;
    errno = 0;
    unsigned long p = strtoul(port, &end, 10);
    if (!*port || *end || errno || p > 65535)
        return -1;
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host,
                  &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)p);
        *len = sizeof *a4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)p);
        *len = sizeof *a6;
        return 0;
    }
    return -1;
}

static void free_server(srv_t *s)
{
    free(s->seen);
    for (size_t i = 0; i < s->ntokens; i++)
        free((char *)s->tokens[i].token);
    free(s->tokens);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->idle_cv);
    free(s);
}

int weft_server_start(weft_node_t *node, const weft_server_config_t *cfg, weft_server_t **out,
                      char *out_msg, size_t msg_size)
{
    char dummy[8];
    if (!out_msg || !msg_size) {
        out_msg = dummy;
        msg_size = sizeof dummy;
    }
    out_msg[0] = '\0';
    *out = NULL;
    struct sockaddr_storage ss;
    socklen_t sl;
    const char *listen = cfg->listen ? cfg->listen : "127.0.0.1:7373";
    if (parse_listen(listen, &ss, &sl) != 0) {
        snprintf(out_msg, msg_size, "cannot understand listen address '%s' (ADDR:PORT)", listen);
        return WEFT_EARG;
    }
    if (!cfg->ntokens && !is_loopback((struct sockaddr *)&ss)) {
        snprintf(out_msg, msg_size,
                 "refusing to listen on %s with no token configured: anyone could deploy and "
                 "call; add tokens to the config file, or listen on 127.0.0.1",
                 listen);
        return WEFT_EARG;
    }
    if (sodium_init() < 0) {
        snprintf(out_msg, msg_size, "libsodium failed to initialise");
        return WEFT_EIO;
    }
    srv_t *s = calloc(1, sizeof *s);
    if (!s)
        return WEFT_ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_cond_init(&s->idle_cv, NULL);
    s->node = node;
    s->max_app = cfg->max_app_bytes ? cfg->max_app_bytes : DEFAULT_MAX_APP;
    s->max_call = cfg->max_call_bytes ? cfg->max_call_bytes : DEFAULT_MAX_CALL;
    s->heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : 15000;
    s->sse_buffer = cfg->sse_buffer_bytes ? cfg->sse_buffer_bytes : ((size_t)1 << 20);
    s->started_ns = srv_now_ns();
    if (cfg->ntokens && !(s->tokens = calloc(cfg->ntokens, sizeof *s->tokens)))
        goto nomem;
    for (; s->ntokens < cfg->ntokens; s->ntokens++) {
        if (!(s->tokens[s->ntokens].token = strdup(cfg->tokens[s->ntokens].token)))
            goto nomem;
        s->tokens[s->ntokens].scopes = cfg->tokens[s->ntokens].scopes;
    }

    /* Idle clients each hold a descriptor: allow as many as the hard limit. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    unsigned threads = cfg->threads ? cfg->threads : 2;
    unsigned idle = cfg->idle_timeout_s ? cfg->idle_timeout_s : 30;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    s->daemon = MHD_start_daemon(
        flags, 0, accept_policy, s, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, idle,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)8192, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_UNESCAPE_CALLBACK,
        no_unescape, s, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(out_msg, msg_size, "cannot listen on %s: %s", listen,
                 errno ? strerror(errno) : "libmicrohttpd refused to start");
        free_server(s);
        return WEFT_EIO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : 0;
    if (pthread_create(&s->ticker, NULL, srv_ticker_main, s) == 0)
        s->ticker_started = 1;
    *out = s;
    return 0;
nomem:
    free_server(s);
    return WEFT_ENOMEM;
}

uint16_t weft_server_port(const weft_server_t *server)
{
    return server->port;
}

void weft_server_stop(weft_server_t *s)
{
    if (!s)
        return;
    atomic_store(&s->closing, 1);
    srv_sse_end_all(s);
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->cv); /* the ticker */
    while (s->inflight > 0)
        pthread_cond_wait(&s->idle_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (s->ticker_started)
        pthread_join(s->ticker, NULL);
    MHD_stop_daemon(s->daemon);
    free_server(s);
}
