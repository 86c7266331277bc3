/*
 * http_out.c — the node's outbound HTTP for guests (weft/http_out.h):
 * an allowlist read from the node config's "outbound_http" object, and a
 * request performed with libcurl's easy interface within its bounds.
 *
 * Its own library (weft_http_out), linked into weft-node only, so that
 * libcurl stays out of `weft` (under `weft run` every request is denied).
 *
 * What is checked is what is fetched: the guest's URL is parsed once with
 * curl's URL parser (dot segments squashed), matched against the rules,
 * and that parsed handle is what libcurl fetches (CURLOPT_CURLU). Only
 * http and https (also for anything libcurl would do itself), no
 * redirects followed, no proxy from the environment, credentials in the
 * URL refused. A request is bounded by min(timeout, the call's deadline)
 * as a whole (connect included) and by the response size, counted as it
 * arrives (headers and body), so neither a slow nor a huge answer can hold
 * a node thread or its memory beyond them.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "weft/error.h"
#include "weft/http_out.h"

typedef struct {
    char *scheme, *host, *path; /* lower-case scheme and host; path prefix */
    long port;
} url_rule_t;

typedef struct {
    char *app; /* id, name or "*" */
    url_rule_t *urls;
    size_t nurls;
} app_rule_t;

struct weft_http_out {
    app_rule_t *rules;
    size_t nrules;
    uint64_t timeout_ms;
    size_t max_response, max_request;
};

static void msgf(char *msg, size_t size, const char *fmt, ...)
{
    if (!msg || !size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, size, fmt, ap);
    va_end(ap);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* weft_http_request_t.fail for a failed transfer */
static int fail_kind(CURLcode cc)
{
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT: return WEFT_HTTP_FAIL_TIMEOUT;
    case CURLE_COULDNT_CONNECT: return WEFT_HTTP_FAIL_REFUSED;
    case CURLE_COULDNT_RESOLVE_HOST: return WEFT_HTTP_FAIL_DNS;
    case CURLE_SSL_CONNECT_ERROR: case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM: case CURLE_SSL_CIPHER: case CURLE_SSL_CACERT_BADFILE:
        return WEFT_HTTP_FAIL_TLS;
    case CURLE_GOT_NOTHING: case CURLE_RECV_ERROR: case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return WEFT_HTTP_FAIL_CLOSED;
    default: return WEFT_HTTP_FAIL_OTHER;
    }
}

/* ---- URLs ----------------------------------------------------------------- */

static void lower(char *s)
{
    for (; s && *s; s++)
        if (*s >= 'A' && *s <= 'Z') *s = (char)(*s - 'A' + 'a');
}

/* Parses `url` into u and its parts (owned by the caller: curl_free);
 * 0, -1 with msg (not a URL, credentials) or -2 (not http or https). */
static int parse_url(const char *url, CURLU **out, url_rule_t *parts, char *msg, size_t size)
{
    CURLU *u = curl_url();
    char *user = NULL;
    int bad = -1;
    *out = NULL;
    memset(parts, 0, sizeof *parts);
    if (!u) {
        msgf(msg, size, "out of memory");
        return -1;
    }
    char *port = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &parts->scheme, 0) != CURLUE_OK) {
        msgf(msg, size, "not an absolute http or https URL: %.200s", url);
        goto fail;
    }
    lower(parts->scheme);
    if (strcmp(parts->scheme, "http") != 0 && strcmp(parts->scheme, "https") != 0) {
        msgf(msg, size, "only http and https URLs: %.200s", url);
        bad = -2;
        goto fail;
    }
    if (curl_url_get(u, CURLUPART_HOST, &parts->host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PATH, &parts->path, 0) != CURLUE_OK) {
        msgf(msg, size, "not an absolute http or https URL: %.200s", url);
        goto fail;
    }
    lower(parts->host);
    parts->port = strtol(port, NULL, 10);
    curl_free(port);
    port = NULL;
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
        curl_free(user);
        msgf(msg, size, "a URL with credentials is refused: %.200s", url);
        goto fail;
    }
    *out = u;
    return 0;
fail:
    curl_free(port);
    curl_free(parts->scheme);
    curl_free(parts->host);
    curl_free(parts->path);
    memset(parts, 0, sizeof *parts);
    curl_url_cleanup(u);
    return bad;
}

static void free_parts(url_rule_t *p)
{
    curl_free(p->scheme);
    curl_free(p->host);
    curl_free(p->path);
}

/* A rule's URL: parsed as a request's, its parts copied with malloc. */
static int rule_url(const char *text, url_rule_t *r, char *msg, size_t size)
{
    CURLU *u;
    url_rule_t p;
    if (parse_url(text, &u, &p, msg, size) != 0) return -1;
    curl_url_cleanup(u);
    r->scheme = strdup(p.scheme);
    r->host = strdup(p.host);
    r->path = strdup(p.path);
    r->port = p.port;
    free_parts(&p);
    if (!r->scheme || !r->host || !r->path) {
        msgf(msg, size, "out of memory");
        return -1;
    }
    return 0;
}

/* Same scheme, host and port; the path starts with the rule's. */
static int url_matches(const url_rule_t *r, const url_rule_t *p)
{
    return strcmp(r->scheme, p->scheme) == 0 && strcmp(r->host, p->host) == 0 &&
           r->port == p->port && strncmp(p->path, r->path, strlen(r->path)) == 0;
}

static int app_matches(const app_rule_t *a, const char *id, const char *name)
{
    return strcmp(a->app, "*") == 0 || (id && strcmp(a->app, id) == 0) ||
           (name && strcmp(a->app, name) == 0);
}

static int allowed_parts(const weft_http_out_t *h, const char *id, const char *name,
                         const url_rule_t *p)
{
    for (size_t i = 0; h && i < h->nrules; i++) {
        if (!app_matches(&h->rules[i], id, name)) continue;
        for (size_t j = 0; j < h->rules[i].nurls; j++)
            if (url_matches(&h->rules[i].urls[j], p)) return 1;
    }
    return 0;
}

int weft_http_out_allowed(const weft_http_out_t *h, const char *app_id, const char *app_name,
                          const char *url)
{
    CURLU *u;
    url_rule_t p;
    if (!h || !url || pthread_once(&curl_once, curl_init) != 0 || curl_init_rc != CURLE_OK)
        return 0;
    if (parse_url(url, &u, &p, NULL, 0) != 0) return 0;
    int ok = allowed_parts(h, app_id, app_name, &p);
    free_parts(&p);
    curl_url_cleanup(u);
    return ok;
}

/* ---- the service ---------------------------------------------------------- */

void weft_http_out_delete(weft_http_out_t *h)
{
    if (!h) return;
    for (size_t i = 0; i < h->nrules; i++) {
        for (size_t j = 0; j < h->rules[i].nurls; j++) {
            free(h->rules[i].urls[j].scheme);
            free(h->rules[i].urls[j].host);
            free(h->rules[i].urls[j].path);
        }
        free(h->rules[i].urls);
        free(h->rules[i].app);
    }
    free(h->rules);
    free(h);
}

int weft_http_out_new(const char *json, weft_http_out_t **out, char *msg, size_t msg_size)
{
    json_error_t je;
    json_t *root = NULL, *allow = NULL;
    json_int_t timeout = WEFT_HTTP_OUT_TIMEOUT_MS, max_resp = WEFT_HTTP_OUT_MAX_RESPONSE,
               max_req = WEFT_HTTP_OUT_MAX_REQUEST;
    int rc = WEFT_EARG;
    *out = NULL;
    if (pthread_once(&curl_once, curl_init) != 0 || curl_init_rc != CURLE_OK) {
        msgf(msg, msg_size, "libcurl does not initialise");
        return WEFT_ENOMEM;
    }
    weft_http_out_t *h = calloc(1, sizeof *h);
    if (!h) return WEFT_ENOMEM;
    h->timeout_ms = WEFT_HTTP_OUT_TIMEOUT_MS;
    h->max_response = WEFT_HTTP_OUT_MAX_RESPONSE;
    h->max_request = WEFT_HTTP_OUT_MAX_REQUEST;
    if (!json) goto done;
    if (!(root = json_loads(json, 0, &je))) {
        msgf(msg, msg_size, "outbound_http: %s", je.text);
        goto fail;
    }
    if (json_unpack_ex(root, &je, JSON_STRICT, "{s?o,s?I,s?I,s?I}", "allow", &allow,
                       "timeout_ms", &timeout, "max_response_bytes", &max_resp,
                       "max_request_bytes", &max_req) != 0) {
        msgf(msg, msg_size, "outbound_http: %s", je.text);
        goto fail;
    }
    if (timeout <= 0 || timeout > WEFT_HTTP_OUT_TIMEOUT_MAX_MS || max_resp <= 0 ||
        max_req < 0) {
        msgf(msg, msg_size,
             "outbound_http: timeout_ms must be 1..%u, max_response_bytes positive, "
             "max_request_bytes not negative",
             WEFT_HTTP_OUT_TIMEOUT_MAX_MS);
        goto fail;
    }
    h->timeout_ms = (uint64_t)timeout;
    h->max_response = (size_t)max_resp;
    h->max_request = (size_t)max_req;
    if (allow && !json_is_array(allow)) {
        msgf(msg, msg_size, "outbound_http: \"allow\" must be a list of {\"app\", \"urls\"}");
        goto fail;
    }
    size_t n = allow ? json_array_size(allow) : 0;
    if (n && !(h->rules = calloc(n, sizeof *h->rules))) {
        rc = WEFT_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const char *app = NULL;
        json_t *urls = NULL, *v;
        size_t j;
        if (json_unpack_ex(json_array_get(allow, i), &je, JSON_STRICT, "{s:s,s:o}", "app",
                           &app, "urls", &urls) != 0 ||
            !app[0] || !json_is_array(urls)) {
            msgf(msg, msg_size,
                 "outbound_http: allow entry %zu needs \"app\" (an id, a name or \"*\") and "
                 "\"urls\" (a list)",
                 i + 1);
            goto fail;
        }
        app_rule_t *r = &h->rules[h->nrules++];
        if (!(r->app = strdup(app)) ||
            (json_array_size(urls) &&
             !(r->urls = calloc(json_array_size(urls), sizeof *r->urls)))) {
            rc = WEFT_ENOMEM;
            goto fail;
        }
        json_array_foreach(urls, j, v) {
            char why[300];
            if (!json_is_string(v) || rule_url(json_string_value(v), &r->urls[r->nurls++],
                                               why, sizeof why) != 0) {
                msgf(msg, msg_size, "outbound_http: allow entry %zu, url %zu: %s", i + 1, j + 1,
                     json_is_string(v) ? why : "not a string");
                goto fail;
            }
        }
    }
done:
    json_decref(root);
    *out = h;
    return 0;
fail:
    json_decref(root);
    weft_http_out_delete(h);
    return rc;
}

/* ---- a request ------------------------------------------------------------ */

typedef struct {
    weft_http_response_t *resp;
    size_t cap, total, max; /* body capacity; header and body bytes so far; bound */
    int over;
} sink_t;

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    sink_t *s = user;
    size_t len = size * n;
    if (len > s->max - s->total) {
        s->over = 1;
        return 0; /* CURLE_WRITE_ERROR ends the transfer */
    }
    weft_http_response_t *r = s->resp;
    if (r->body_len + len > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < r->body_len + len) cap *= 2;
        uint8_t *b = realloc(r->body, cap);
        if (!b) return 0;
        r->body = b;
        s->cap = cap;
    }
    memcpy(r->body + r->body_len, p, len);
    r->body_len += len;
    s->total += len;
    return len;
}

static char *dup_trim(const char *p, size_t n)
{
    while (n && (p[0] == ' ' || p[0] == '\t')) p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        n--;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* Header lines of the final response: a status line (of an interim 1xx
 * too) starts the list afresh. */
static size_t on_header(char *p, size_t size, size_t n, void *user)
{
    sink_t *s = user;
    size_t len = size * n;
    weft_http_response_t *r = s->resp;
    if (len > s->max - s->total) {
        s->over = 1;
        return 0;
    }
    s->total += len;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        for (size_t i = 0; i < r->nheaders; i++) {
            free((char *)r->headers[i].name);
            free((char *)r->headers[i].value);
        }
        r->nheaders = 0;
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon) return len; /* the blank line, or a folded one: skipped */
    weft_http_header_t *hs = realloc(r->headers, (r->nheaders + 1) * sizeof *hs);
    if (!hs) return 0;
    r->headers = hs;
    char *name = dup_trim(p, (size_t)(colon - p));
    char *value = dup_trim(colon + 1, len - (size_t)(colon - p) - 1);
    if (!name || !value) {
        free(name);
        free(value);
        return 0;
    }
    hs[r->nheaders++] = (weft_http_header_t){name, value};
    return len;
}

/* An HTTP token (RFC 9110): method and header names. */
static int is_token(const char *s)
{
    if (!s || !*s) return 0;
    for (; *s; s++)
        if (!(*s > 32 && *s < 127 && !strchr("\"(),/:;<=>?@[\\]{}", *s))) return 0;
    return 1;
}

static int is_value(const char *s)
{
    for (; *s; s++)
        if (*s == 0x7f || ((unsigned char)*s < 32 && *s != '\t')) return 0;
    return 1;
}

/* Headers libcurl sets from the URL and the body: a guest's would send
 * the request to another virtual host than the URL the allowlist checked,
 * or frame its body otherwise. */
static int reserved_header(const char *name)
{
    return strcasecmp(name, "Host") == 0 || strcasecmp(name, "Content-Length") == 0 ||
           strcasecmp(name, "Transfer-Encoding") == 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int weft_http_out_fetch(void *user, const weft_http_request_t *req, weft_http_response_t *resp,
                        char *msg, size_t msg_size)
{
    weft_http_out_t *h = user;
    CURLU *u = NULL;
    CURL *e = NULL;
    struct curl_slist *hl = NULL;
    url_rule_t p;
    int rc;
    char err[CURL_ERROR_SIZE] = "";
    memset(&p, 0, sizeof p);
    memset(resp, 0, sizeof *resp);
    if (!h || !req || !req->url || !req->method) {
        msgf(msg, msg_size, "outbound HTTP is not allowed on this node");
        return WEFT_ENOTFOUND;
    }
    if (pthread_once(&curl_once, curl_init) != 0 || curl_init_rc != CURLE_OK) {
        msgf(msg, msg_size, "libcurl does not initialise");
        return WEFT_EIO;
    }
    /* another scheme is denied like a URL no rule names: none could */
    if ((rc = parse_url(req->url, &u, &p, msg, msg_size)) != 0)
        return rc == -2 ? WEFT_ENOTFOUND : WEFT_EARG;
    if (!allowed_parts(h, req->app_id, req->app_name, &p)) {
        msgf(msg, msg_size, "the node's outbound_http allowlist does not let app %s fetch %s://%s:%ld%s",
             req->app_name ? req->app_name : req->app_id ? req->app_id : "?", p.scheme, p.host,
             p.port, p.path);
        rc = WEFT_ENOTFOUND;
        goto done;
    }
    if (!is_token(req->method) || strlen(req->method) > 32) {
        msgf(msg, msg_size, "not an HTTP method: %.40s", req->method);
        rc = WEFT_EARG;
        goto done;
    }
    if (req->body_len > h->max_request) {
        msgf(msg, msg_size, "the request body of %zu bytes is over max_request_bytes (%zu)",
             req->body_len, h->max_request);
        rc = WEFT_ELIMIT;
        goto done;
    }
    uint64_t timeout = h->timeout_ms;
    if (req->deadline_ns) {
        uint64_t now = now_ns();
        if (req->deadline_ns <= now + 1000000u) {
            msgf(msg, msg_size, "the call's deadline has passed");
            if (req->fail) *req->fail = WEFT_HTTP_FAIL_TIMEOUT;
            rc = WEFT_EIO;
            goto done;
        }
        uint64_t left = (req->deadline_ns - now) / 1000000u;
        if (left < timeout) timeout = left;
    }
    for (size_t i = 0; i < req->nheaders; i++) {
        const weft_http_header_t *hd = &req->headers[i];
        if (!is_token(hd->name) || !hd->value || !is_value(hd->value) ||
            strlen(hd->name) + strlen(hd->value) > 8192 || /* as libcurl's bound */
            reserved_header(hd->name)) {
            msgf(msg, msg_size,
                 "header %zu is not a token name with a one-line value, or is one weft sets "
                 "(Host, Content-Length, Transfer-Encoding)",
                 i + 1);
            rc = WEFT_EARG;
            goto done;
        }
        /* "Name;" sends an empty value, "Name:" would remove curl's own */
        size_t nl = strlen(hd->name), vl = strlen(hd->value);
        char *line = malloc(nl + vl + 3);
        if (!line) goto nomem;
        memcpy(line, hd->name, nl);
        memcpy(line + nl, vl ? ": " : ";", vl ? 2 : 1);
        memcpy(line + nl + (vl ? 2 : 1), hd->value, vl + 1);
        struct curl_slist *t = curl_slist_append(hl, line);
        free(line);
        if (!t) goto nomem;
        hl = t;
    }
    /* no "Expect: 100-continue" round trip for bodies over 1 KiB */
    struct curl_slist *t = curl_slist_append(hl, "Expect:");
    if (!t) goto nomem;
    hl = t;
    if (!(e = curl_easy_init())) goto nomem;
    sink_t sink = {.resp = resp, .max = h->max_response};
    curl_easy_setopt(e, CURLOPT_CURLU, u);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->max_response);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &sink);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "weft");
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (req->body_len || strcmp(req->method, "GET") != 0) {
        /* the body (maybe empty) as POST sends it, under the guest's method */
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body_len ? (const char *)req->body : "");
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
    }
    CURLcode cc = curl_easy_perform(e);
    if (cc != CURLE_OK) {
        int over = sink.over || cc == CURLE_FILESIZE_EXCEEDED;
        if (over)
            msgf(msg, msg_size, "the response is over max_response_bytes (%zu)", h->max_response);
        else
            msgf(msg, msg_size, "%s", err[0] ? err : curl_easy_strerror(cc));
        rc = over ? WEFT_ELIMIT : cc == CURLE_OUT_OF_MEMORY ? WEFT_ENOMEM : WEFT_EIO;
        if (req->fail) {
            curl_off_t connected = 0;
            *req->fail = fail_kind(cc);
            if (cc == CURLE_OPERATION_TIMEDOUT &&
                curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connected) == CURLE_OK &&
                connected == 0)
                *req->fail = WEFT_HTTP_FAIL_CONNECT_TIMEOUT;
        }
        weft_http_response_free(resp);
        goto done;
    }
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    resp->status = (int)status;
    rc = 0;
    goto done;
nomem:
    msgf(msg, msg_size, "out of memory");
    rc = WEFT_ENOMEM;
done:
    if (e) curl_easy_cleanup(e);
    curl_slist_free_all(hl);
    curl_url_cleanup(u);
    free_parts(&p);
    return rc;
}
