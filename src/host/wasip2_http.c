/*
 * src/host/wasip2_http.c — wasi:http/types and wasi:http/outgoing-handler
 * (0.2.x) for components, on the embedder's fetch (weft/http_out.h: on a
 * node, the outbound HTTP service with its per-app allowlist, timeouts
 * and size limits).
 *
 * A request travels whole: the guest builds it (fields, outgoing-request,
 * its body written through an output stream and finished), hands it to
 * `handle`, and the request is sent when the guest first waits for or
 * asks for its response (pollable.block, poll, future.get), after its
 * body is finished. The answer is held in memory (bounded by the fetch)
 * and read back through incoming-response and an input stream. The
 * request, its body, the body's stream and the future share one exchange
 * (refcounted), so the guest may drop them in any order.
 *
 * Failures the guest may meet are values of error-code, built from its
 * own type by case name (the cases are the same in every 0.2.x): a host
 * the allowlist does not name is HTTP-request-denied, never a trap.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wasip2_priv.h"

#define HOST P2_HOST
#define UNUSED P2_UNUSED

/* ---- fields --------------------------------------------------------------------- */

typedef struct {
    char *name;
    uint8_t *val;
    size_t len;
} field_t;

typedef struct {
    field_t *v;
    size_t n, cap;
    size_t bytes; /* names and values together, bounded */
    int immutable;
} fields_t;

/* What one set of fields may hold (names and values). */
#define FIELDS_MAX_BYTES (64u << 10)

static void fields_clear(fields_t *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].name);
        free(f->v[i].val);
    }
    free(f->v);
    memset(f, 0, sizeof *f);
}

static void fields_free(weft_wasip2_t *w, void *obj)
{
    (void)w;
    if (obj)
        fields_clear(obj);
    free(obj);
}

static const p2_ops_t fields_ops = {fields_free, NULL, NULL, NULL, NULL};

static int is_tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* header-error cases */
enum { HE_SYNTAX = 0, HE_FORBIDDEN = 1, HE_IMMUTABLE = 2, HE_OK = -1 };

/* Whether a field name may be set by the guest: a token, and not one the
 * fetch sets itself from the URL and the body. */
static int name_check(const char *s, size_t n)
{
    static const char *const forbidden[] = {"host", "content-length", "transfer-encoding",
                                            "connection", "keep-alive", "upgrade",
                                            "proxy-connection"};
    if (n == 0 || n > 256)
        return HE_SYNTAX;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)s[i]))
            return HE_SYNTAX;
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++)
        if (strlen(forbidden[i]) == n && strncasecmp(forbidden[i], s, n) == 0)
            return HE_FORBIDDEN;
    return HE_OK;
}

static int value_check(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\r' || p[i] == '\n' || p[i] == 0)
            return HE_SYNTAX;
    return HE_OK;
}

static int fields_add(fields_t *f, const char *name, size_t nl, const uint8_t *val, size_t vl)
{
    if (f->bytes + nl + vl > FIELDS_MAX_BYTES)
        return HE_SYNTAX; /* too big: the closest case 0.2 has */
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 8;
        field_t *nv = realloc(f->v, nc * sizeof *nv);
        if (!nv)
            return -2;
        f->v = nv;
        f->cap = nc;
    }
    field_t *e = &f->v[f->n];
    if (!(e->name = strndup(name, nl)) || !(e->val = malloc(vl ? vl : 1))) {
        free(e->name);
        return -2;
    }
    for (size_t i = 0; i < nl; i++) /* names compare case-insensitively: keep them lower */
        if (e->name[i] >= 'A' && e->name[i] <= 'Z')
            e->name[i] = (char)(e->name[i] - 'A' + 'a');
    if (vl)
        memcpy(e->val, val, vl);
    e->len = vl;
    f->bytes += nl + vl;
    f->n++;
    return HE_OK;
}

static void fields_remove(fields_t *f, const char *name, size_t nl)
{
    size_t k = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (strlen(f->v[i].name) == nl && strncasecmp(f->v[i].name, name, nl) == 0) {
            f->bytes -= nl + f->v[i].len;
            free(f->v[i].name);
            free(f->v[i].val);
        } else {
            f->v[k++] = f->v[i];
        }
    }
    f->n = k;
}

static int fields_copy(fields_t *dst, const fields_t *src, int immutable)
{
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < src->n; i++)
        if (fields_add(dst, src->v[i].name, strlen(src->v[i].name), src->v[i].val,
                       src->v[i].len) != HE_OK) {
            fields_clear(dst);
            return -1;
        }
    dst->immutable = immutable;
    return 0;
}

/* A new fields handle holding a copy of src, as an own value. */
static int fields_handle(weft_wasip2_t *w, const fields_t *src, int immutable,
                         weft_cval_t *out, char *err, size_t err_size)
{
    fields_t *f = calloc(1, sizeof *f);
    if (!f || (src && fields_copy(f, src, immutable) != 0)) {
        free(f);
        return p2_oom(err, err_size);
    }
    f->immutable = immutable;
    return p2_own(w, P2_FIELDS, f, &fields_ops, out, err, err_size);
}

/* result<_, header-error> (or with a payload moved in) for he */
static int header_result(int he, weft_cval_t *payload, weft_cval_t *result, char *err,
                         size_t err_size)
{
    if (he == -2) {
        weft_cval_free(payload);
        return p2_oom(err, err_size);
    }
    if (he == HE_OK)
        return p2_ok(result, payload, err, err_size);
    weft_cval_free(payload);
    weft_cval_t e;
    p2_case(&e, WEFT_CT_VARIANT, (uint32_t)he, NULL);
    return p2_case(result, WEFT_CT_RESULT, 1, &e) ? p2_oom(err, err_size) : 0;
}

static fields_t *fields_of(weft_wasip2_t *w, const weft_cval_t *self, char *err, size_t size)
{
    return p2_need(w, self, P2_FIELDS, "fields", err, size);
}

HOST(fields_new, "")
{
    UNUSED;
    return fields_handle(user, NULL, 0, result, err, err_size);
}

HOST(fields_from_list, "L(sy)")
{
    weft_wasip2_t *w = user;
    UNUSED;
    fields_t tmp = {0};
    int he = HE_OK;
    for (size_t i = 0; he == HE_OK && i < args[0].n; i++) {
        const weft_cval_t *t = &args[0].items[i];
        const weft_cval_t *nm = &t->items[0], *v = &t->items[1];
        he = name_check(nm->str, nm->len);
        if (he == HE_OK)
            he = value_check((const uint8_t *)v->str, v->len);
        if (he == HE_OK)
            he = fields_add(&tmp, nm->str, nm->len, (const uint8_t *)v->str, v->len);
    }
    if (he != HE_OK) {
        fields_clear(&tmp);
        return header_result(he, NULL, result, err, err_size);
    }
    weft_cval_t h;
    int rc = fields_handle(w, &tmp, 0, &h, err, err_size);
    fields_clear(&tmp);
    return rc ? rc : header_result(HE_OK, &h, result, err, err_size);
}

HOST(fields_get, "bs")
{
    UNUSED;
    fields_t *f = fields_of(user, &args[0], err, err_size);
    if (!f)
        return -1;
    memset(result, 0, sizeof *result);
    result->kind = WEFT_CT_LIST;
    if (f->n && !(result->items = calloc(f->n, sizeof *result->items)))
        return p2_oom(err, err_size);
    for (size_t i = 0; i < f->n; i++)
        if (strlen(f->v[i].name) == args[1].len &&
            strncasecmp(f->v[i].name, args[1].str, args[1].len) == 0) {
            if (p2_bytes(&result->items[result->n], WEFT_CT_LIST, f->v[i].val, f->v[i].len))
                return p2_oom(err, err_size);
            result->n++;
        }
    return 0;
}

HOST(fields_has, "bs")
{
    UNUSED;
    fields_t *f = fields_of(user, &args[0], err, err_size);
    if (!f)
        return -1;
    int has = 0;
    for (size_t i = 0; i < f->n && !has; i++)
        has = strlen(f->v[i].name) == args[1].len &&
              strncasecmp(f->v[i].name, args[1].str, args[1].len) == 0;
    *result = p2_scalar(WEFT_CT_BOOL, (uint64_t)has);
    return 0;
}

/* set (values: a list of values), append (one value), delete (none) */
static int fields_change(weft_wasip2_t *w, const weft_cval_t *args, int op, weft_cval_t *result,
                         char *err, size_t err_size)
{
    fields_t *f = fields_of(w, &args[0], err, err_size);
    if (!f)
        return -1;
    const weft_cval_t *nm = &args[1];
    int he = f->immutable ? HE_IMMUTABLE : name_check(nm->str, nm->len);
    const weft_cval_t *vals = op == 0 ? args[2].items : op == 1 ? &args[2] : NULL;
    size_t nv = op == 0 ? args[2].n : op == 1 ? 1 : 0;
    for (size_t i = 0; he == HE_OK && i < nv; i++)
        he = value_check((const uint8_t *)vals[i].str, vals[i].len);
    if (he == HE_OK && op != 1)
        fields_remove(f, nm->str, nm->len);
    for (size_t i = 0; he == HE_OK && i < nv; i++)
        he = fields_add(f, nm->str, nm->len, (const uint8_t *)vals[i].str, vals[i].len);
    return header_result(he, NULL, result, err, err_size);
}

HOST(fields_set, "bsLy") { UNUSED; return fields_change(user, args, 0, result, err, err_size); }
HOST(fields_append, "bsy") { UNUSED; return fields_change(user, args, 1, result, err, err_size); }
HOST(fields_delete, "bs") { UNUSED; return fields_change(user, args, 2, result, err, err_size); }

static int fields_entries_of(const fields_t *f, weft_cval_t *result, char *err, size_t err_size)
{
    memset(result, 0, sizeof *result);
    result->kind = WEFT_CT_LIST;
    if (f->n && !(result->items = calloc(f->n, sizeof *result->items)))
        return p2_oom(err, err_size);
    for (size_t i = 0; i < f->n; i++, result->n++) {
        weft_cval_t *t = &result->items[i];
        if (p2_items(t, WEFT_CT_TUPLE, 2) ||
            p2_bytes(&t->items[0], WEFT_CT_STRING, f->v[i].name, strlen(f->v[i].name)) ||
            p2_bytes(&t->items[1], WEFT_CT_LIST, f->v[i].val, f->v[i].len))
            return p2_oom(err, err_size);
    }
    return 0;
}

HOST(fields_entries, "b")
{
    UNUSED;
    fields_t *f = fields_of(user, &args[0], err, err_size);
    return f ? fields_entries_of(f, result, err, err_size) : -1;
}

HOST(fields_clone, "b")
{
    UNUSED;
    fields_t *f = fields_of(user, &args[0], err, err_size);
    return f ? fields_handle(user, f, 0, result, err, err_size) : -1;
}

HOST(fields_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_FIELDS); return 0; }

/* ---- the exchange: a request, its body and its answer ------------------------------ */

typedef struct {
    int refs;
    /* the request */
    char *method; /* "GET", ... or the guest's token */
    uint32_t method_case;
    int scheme_case; /* -1: none (http), 0 HTTP, 1 HTTPS, 2 other */
    char *scheme_other, *authority, *path;
    fields_t headers;
    uint64_t timeout_ns[3]; /* connect, first byte, between bytes; 0: none */
    /* its body */
    uint8_t *body;
    size_t len, cap;
    int body_taken, body_stream, finished, handled;
    char *failed; /* why the request cannot be sent (its body), or NULL */
    const char *failed_case;
    /* the answer */
    int done, got;
    weft_http_response_t resp;
    const char *err_case; /* error-code case name, or NULL */
    char err_msg[300];
    uint64_t err_size; /* for the body-size cases */
} exch_t;

static void exch_unref(exch_t *x)
{
    if (!x || --x->refs > 0)
        return;
    free(x->method);
    free(x->scheme_other);
    free(x->authority);
    free(x->path);
    fields_clear(&x->headers);
    free(x->body);
    free(x->failed);
    weft_http_response_free(&x->resp);
    free(x);
}

static void exch_free(weft_wasip2_t *w, void *obj) { (void)w; exch_unref(obj); }

/* ---- error-code values ------------------------------------------------------------ */

/* The zero value of type t: options none, records of zero fields, ... */
static int zero_value(const weft_ctype_t *t, weft_cval_t *out)
{
    weft_ctype_kind_t k = weft_ctype_kind(t);
    memset(out, 0, sizeof *out);
    out->kind = k;
    switch (k) {
    case WEFT_CT_RECORD: case WEFT_CT_TUPLE: {
        size_t n = weft_ctype_count(t);
        if (p2_items(out, k, n))
            return -1;
        for (size_t i = 0; i < n; i++)
            if (zero_value(weft_ctype_type(t, i), &out->items[i]))
                return -1;
        return 0;
    }
    case WEFT_CT_STRING: case WEFT_CT_LIST:
        return p2_bytes(out, k, "", 0);
    case WEFT_CT_VARIANT: case WEFT_CT_RESULT: {
        const weft_ctype_t *pt = weft_ctype_type(t, 0);
        if (!pt)
            return 0;
        weft_cval_t p;
        if (zero_value(pt, &p))
            return -1;
        return p2_case(out, k, 0, &p);
    }
    default:
        return 0; /* numbers, bool, option none, enum 0, flags none */
    }
}

/* The error-code value of case `name` of type ec: msg in internal-error's
 * option<string>, size in the body-size cases' option<u64>, zero payloads
 * elsewhere. 0 or -1 (no such case: internal-error; out of memory). */
static int error_code(const weft_ctype_t *ec, const char *name, const char *msg, uint64_t size,
                      weft_cval_t *out)
{
    size_t n = weft_ctype_count(ec), c = 0;
    while (c < n && strcmp(weft_ctype_label(ec, c), name) != 0)
        c++;
    if (c == n) {
        name = "internal-error";
        c = 0;
        while (c < n && strcmp(weft_ctype_label(ec, c), name) != 0)
            c++;
        if (c == n)
            return -1;
    }
    const weft_ctype_t *pt = weft_ctype_type(ec, c);
    if (!pt)
        return p2_case(out, WEFT_CT_VARIANT, (uint32_t)c, NULL);
    weft_cval_t p;
    if (weft_ctype_kind(pt) == WEFT_CT_OPTION && strcmp(name, "internal-error") == 0 && msg) {
        weft_cval_t s;
        if (p2_bytes(&s, WEFT_CT_STRING, msg, strlen(msg)) || p2_case(&p, WEFT_CT_OPTION, 1, &s))
            return -1;
    } else if (weft_ctype_kind(pt) == WEFT_CT_OPTION && size &&
               weft_ctype_kind(weft_ctype_type(pt, 0)) == WEFT_CT_U64) {
        weft_cval_t s = p2_scalar(WEFT_CT_U64, size);
        if (p2_case(&p, WEFT_CT_OPTION, 1, &s))
            return -1;
    } else if (zero_value(pt, &p)) {
        weft_cval_free(&p);
        return -1;
    }
    return p2_case(out, WEFT_CT_VARIANT, (uint32_t)c, &p);
}

/* The error-code type inside a function's result: dig through result,
 * option and result again as `path` says (0: ok type, 1: err type, 2:
 * option's element). */
static const weft_ctype_t *type_at(const weft_ctype_t *ft, const char *path)
{
    const weft_ctype_t *t;
    if (!weft_ctype_func_result(ft, &t))
        return NULL;
    for (; t && *path; path++)
        t = weft_ctype_type(t, *path == '1' ? 1 : 0);
    return t && weft_ctype_kind(t) == WEFT_CT_VARIANT ? t : NULL;
}

/* The error-code case for the fetch's failure rc / fail. */
static const char *fetch_case(int rc, int fail, const char *msg)
{
    switch (rc) {
    case WEFT_ENOTFOUND: return "HTTP-request-denied";
    case WEFT_ELIMIT:
        return strstr(msg, "request body") ? "HTTP-request-body-size" : "HTTP-response-body-size";
    case WEFT_EARG:
        if (strstr(msg, "method"))
            return "HTTP-request-method-invalid";
        if (strstr(msg, "header"))
            return "HTTP-request-header-size";
        return "HTTP-request-URI-invalid";
    case WEFT_EIO:
        switch (fail) {
        case WEFT_HTTP_FAIL_TIMEOUT: return "HTTP-response-timeout";
        case WEFT_HTTP_FAIL_CONNECT_TIMEOUT: return "connection-timeout";
        case WEFT_HTTP_FAIL_REFUSED: return "connection-refused";
        case WEFT_HTTP_FAIL_DNS: return "destination-not-found";
        case WEFT_HTTP_FAIL_TLS: return "TLS-protocol-error";
        case WEFT_HTTP_FAIL_CLOSED: return "HTTP-response-incomplete";
        default: return "internal-error";
        }
    default: return "internal-error";
    }
}

static const char *const method_names[] = {"GET", "HEAD", "POST", "PUT", "DELETE",
                                           "CONNECT", "OPTIONS", "TRACE", "PATCH"};

/* Sends x's request through the embedder's fetch, once. */
static void exch_send(weft_wasip2_t *w, exch_t *x)
{
    x->done = 1;
    if (x->failed) {
        x->err_case = x->failed_case;
        snprintf(x->err_msg, sizeof x->err_msg, "%s", x->failed);
        x->err_size = x->len;
        return;
    }
    if (x->body_taken && !x->finished) {
        x->err_case = "internal-error";
        snprintf(x->err_msg, sizeof x->err_msg, "the request's outgoing-body was not finished "
                 "before its response was awaited (weft sends a request whole)");
        return;
    }
    if (!x->authority || !x->authority[0]) {
        x->err_case = "HTTP-request-URI-invalid";
        snprintf(x->err_msg, sizeof x->err_msg, "the request has no authority (host)");
        return;
    }
    if (x->scheme_case == 2) { /* another scheme: no rule could allow it */
        x->err_case = "HTTP-request-denied";
        snprintf(x->err_msg, sizeof x->err_msg, "scheme %s is not http or https",
                 x->scheme_other);
        return;
    }
    const char *path = x->path && x->path[0] ? x->path : "/";
    char *url = NULL;
    if (asprintf(&url, "%s://%s%s%s", x->scheme_case == 1 ? "https" : "http", x->authority,
                 path[0] == '/' ? "" : "/", path) < 0) {
        x->err_case = "internal-error";
        snprintf(x->err_msg, sizeof x->err_msg, "out of memory");
        return;
    }
    weft_http_header_t *hs = calloc(x->headers.n + 1, sizeof *hs);
    char **vals = calloc(x->headers.n + 1, sizeof *vals);
    int rc = WEFT_ENOMEM, fail = WEFT_HTTP_FAIL_OTHER;
    char msg[300] = "out of memory";
    for (size_t i = 0; hs && vals && i < x->headers.n; i++) {
        if (!(vals[i] = strndup((const char *)x->headers.v[i].val, x->headers.v[i].len)))
            goto out;
        hs[i].name = x->headers.v[i].name;
        hs[i].value = vals[i];
    }
    if (!hs || !vals)
        goto out;
    weft_http_request_t req = {0};
    req.method = x->method;
    req.url = url;
    req.headers = hs;
    req.nheaders = x->headers.n;
    req.body = x->body;
    req.body_len = x->len;
    req.fail = &fail;
    /* the guest's timeouts: connecting and the first byte, as one deadline */
    uint64_t t = x->timeout_ns[0] + x->timeout_ns[1];
    if (x->timeout_ns[0] && x->timeout_ns[1] && t < x->timeout_ns[0])
        t = UINT64_MAX / 2;
    if (t)
        req.deadline_ns = p2_now_ns() + (t > UINT64_MAX / 2 ? UINT64_MAX / 2 : t);
    msg[0] = '\0';
    if (!w->http_fetch) {
        rc = WEFT_ENOTFOUND;
        snprintf(msg, sizeof msg, "outbound HTTP is not allowed here");
    } else {
        rc = w->http_fetch(w->http_user, &req, &x->resp, msg, sizeof msg);
    }
out:
    if (rc != 0) {
        x->err_case = fetch_case(rc, fail, msg);
        snprintf(x->err_msg, sizeof x->err_msg, "%s", msg[0] ? msg : weft_strerror(rc));
        x->err_size = strcmp(x->err_case, "HTTP-request-body-size") == 0 ? x->len : 0;
    }
    for (size_t i = 0; vals && i < x->headers.n; i++)
        free(vals[i]);
    free(vals);
    free(hs);
    free(url);
}

/* ---- outgoing-request -------------------------------------------------------------- */

static exch_t *req_of(weft_wasip2_t *w, const weft_cval_t *self, char *err, size_t size)
{
    return p2_need(w, self, P2_OUT_REQUEST, "outgoing-request", err, size);
}

static const p2_ops_t req_ops = {exch_free, NULL, NULL, NULL, NULL};

HOST(request_new, "o")
{
    weft_wasip2_t *w = user;
    UNUSED;
    fields_t *f = p2_take(w, (uint32_t)args[0].of.u, P2_FIELDS);
    exch_t *x = calloc(1, sizeof *x);
    if (!f) {
        free(x);
        snprintf(err, err_size, "outgoing-request: headers %llu is not a live fields handle",
                 (unsigned long long)args[0].of.u);
        return -1;
    }
    if (!x || !(x->method = strdup("GET"))) {
        free(x);
        fields_free(w, f);
        return p2_oom(err, err_size);
    }
    x->refs = 1;
    x->scheme_case = -1;
    x->headers = *f; /* moved: the fields were the guest's own handle */
    free(f);
    x->headers.immutable = 0;
    return p2_own(w, P2_OUT_REQUEST, x, &req_ops, result, err, err_size);
}

static const p2_ops_t body_ops;

HOST(request_body, "b")
{
    weft_wasip2_t *w = user;
    UNUSED;
    exch_t *x = req_of(w, &args[0], err, err_size);
    if (!x)
        return -1;
    if (x->body_taken) /* only once */
        return p2_case(result, WEFT_CT_RESULT, 1, NULL) ? p2_oom(err, err_size) : 0;
    x->refs++;
    weft_cval_t v;
    if (p2_own(w, P2_OUT_BODY, x, &body_ops, &v, err, err_size) != 0)
        return -1;
    x->body_taken = 1;
    return p2_ok(result, &v, err, err_size);
}

HOST(request_method, "b")
{
    UNUSED;
    exch_t *x = req_of(user, &args[0], err, err_size);
    if (!x)
        return -1;
    if (x->method_case < 9)
        return p2_case(result, WEFT_CT_VARIANT, x->method_case, NULL) ? p2_oom(err, err_size) : 0;
    weft_cval_t s;
    if (p2_bytes(&s, WEFT_CT_STRING, x->method, strlen(x->method)) ||
        p2_case(result, WEFT_CT_VARIANT, 9, &s))
        return p2_oom(err, err_size);
    return 0;
}

/* result<_, _> err without payload */
static int unit_err(weft_cval_t *result, char *err, size_t err_size)
{
    return p2_case(result, WEFT_CT_RESULT, 1, NULL) ? p2_oom(err, err_size) : 0;
}

HOST(request_set_method, "b<---------s>")
{
    UNUSED;
    exch_t *x = req_of(user, &args[0], err, err_size);
    if (!x)
        return -1;
    const weft_cval_t *m = &args[1];
    const char *name = m->index < 9 ? method_names[m->index] : m->items[0].str;
    size_t n = m->index < 9 ? strlen(name) : m->items[0].len;
    if (name_check(name, n) == HE_SYNTAX || n > 32)
        return unit_err(result, err, err_size);
    char *s = strndup(name, n);
    if (!s)
        return p2_oom(err, err_size);
    free(x->method);
    x->method = s;
    x->method_case = m->index;
    return p2_ok(result, NULL, err, err_size);
}

/* option<string> of s */
static int opt_string(const char *s, weft_cval_t *result, char *err, size_t err_size)
{
    if (!s)
        return p2_case(result, WEFT_CT_OPTION, 0, NULL);
    weft_cval_t v;
    if (p2_bytes(&v, WEFT_CT_STRING, s, strlen(s)) || p2_case(result, WEFT_CT_OPTION, 1, &v))
        return p2_oom(err, err_size);
    return 0;
}

/* Sets *dst to the option<string> arg, when `ok` says its text may be. */
static int set_opt_string(char **dst, const weft_cval_t *opt, int (*ok)(const char *, size_t),
                          weft_cval_t *result, char *err, size_t err_size)
{
    char *s = NULL;
    if (opt->index) {
        const weft_cval_t *v = &opt->items[0];
        if (!ok(v->str, v->len))
            return unit_err(result, err, err_size);
        if (!(s = strndup(v->str, v->len)))
            return p2_oom(err, err_size);
    }
    free(*dst);
    *dst = s;
    return p2_ok(result, NULL, err, err_size);
}

/* path-with-query: starts with '/', printable without spaces */
static int path_ok(const char *s, size_t n)
{
    if (n == 0 || s[0] != '/' || n > 8192)
        return n == 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || s[i] == '#')
            return 0;
    return 1;
}

/* authority: host[:port], no userinfo, no path */
static int authority_ok(const char *s, size_t n)
{
    if (n == 0 || n > 1024)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || strchr("/?#@\\", s[i]))
            return 0;
    return 1;
}

HOST(request_path, "b")
{
    UNUSED;
    exch_t *x = req_of(user, &args[0], err, err_size);
    return x ? opt_string(x->path, result, err, err_size) : -1;
}

HOST(request_set_path, "b?s")
{
    UNUSED;
    exch_t *x = req_of(user, &args[0], err, err_size);
    return x ? set_opt_string(&x->path, &args[1], path_ok, result, err, err_size) : -1;
}

HOST(request_authority, "b")
{
    UNUSED;
    exch_t *x = req_of(user, &args[0], err, err_size);
    return x ? opt_string(x->authority, result, err, err_size) : -1;
}

HOST(request_set_authority, "b?s")
{
    UNUSED;
    exch_t *x = req_of(user, &args[0], err, err_size);
    return x ? set_opt_string(&x->authority, &args[1], authority_ok, result, err, err_size) : -1;
}

HOST(request_scheme, "b")
{
    UNUSED;
    exch_t *x = req_of(user, &args[0], err, err_size);
    if (!x)
        return -1;
    if (x->scheme_case < 0)
        return p2_case(result, WEFT_CT_OPTION, 0, NULL);
    weft_cval_t sc, s;
    if (x->scheme_case < 2) {
        p2_case(&sc, WEFT_CT_VARIANT, (uint32_t)x->scheme_case, NULL);
    } else if (p2_bytes(&s, WEFT_CT_STRING, x->scheme_other, strlen(x->scheme_other)) ||
               p2_case(&sc, WEFT_CT_VARIANT, 2, &s)) {
        return p2_oom(err, err_size);
    }
    return p2_case(result, WEFT_CT_OPTION, 1, &sc) ? p2_oom(err, err_size) : 0;
}

HOST(request_set_scheme, "b?<--s>")
{
    UNUSED;
    exch_t *x = req_of(user, &args[0], err, err_size);
    if (!x)
        return -1;
    const weft_cval_t *o = &args[1];
    char *other = NULL;
    int sc = -1;
    if (o->index) {
        const weft_cval_t *v = &o->items[0];
        sc = (int)v->index;
        if (sc == 2) {
            const weft_cval_t *s = &v->items[0];
            if (name_check(s->str, s->len) == HE_SYNTAX)
                return unit_err(result, err, err_size);
            if (!(other = strndup(s->str, s->len)))
                return p2_oom(err, err_size);
        }
    }
    free(x->scheme_other);
    x->scheme_other = other;
    x->scheme_case = sc;
    return p2_ok(result, NULL, err, err_size);
}

HOST(request_headers, "b")
{
    UNUSED;
    exch_t *x = req_of(user, &args[0], err, err_size);
    return x ? fields_handle(user, &x->headers, 1, result, err, err_size) : -1;
}

HOST(request_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_OUT_REQUEST); return 0; }

/* ---- request-options ------------------------------------------------------------ */

typedef struct {
    uint64_t t[3];
    uint8_t set[3];
} opts_t;

static void opts_free(weft_wasip2_t *w, void *obj) { (void)w; free(obj); }
static const p2_ops_t opts_ops = {opts_free, NULL, NULL, NULL, NULL};

HOST(options_new, "")
{
    UNUSED;
    opts_t *o = calloc(1, sizeof *o);
    if (!o)
        return p2_oom(err, err_size);
    return p2_own(user, P2_REQ_OPTIONS, o, &opts_ops, result, err, err_size);
}

static int opt_get(weft_wasip2_t *w, const weft_cval_t *args, int i, weft_cval_t *result,
                   char *err, size_t err_size)
{
    opts_t *o = p2_need(w, &args[0], P2_REQ_OPTIONS, "request-options", err, err_size);
    if (!o)
        return -1;
    if (!o->set[i])
        return p2_case(result, WEFT_CT_OPTION, 0, NULL);
    weft_cval_t v = p2_scalar(WEFT_CT_U64, o->t[i]);
    return p2_case(result, WEFT_CT_OPTION, 1, &v) ? p2_oom(err, err_size) : 0;
}

static int opt_set(weft_wasip2_t *w, const weft_cval_t *args, int i, weft_cval_t *result,
                   char *err, size_t err_size)
{
    opts_t *o = p2_need(w, &args[0], P2_REQ_OPTIONS, "request-options", err, err_size);
    if (!o)
        return -1;
    o->set[i] = (uint8_t)(args[1].index != 0);
    o->t[i] = args[1].index ? args[1].items[0].of.u : 0;
    return p2_ok(result, NULL, err, err_size);
}

HOST(opt_connect, "b") { UNUSED; return opt_get(user, args, 0, result, err, err_size); }
HOST(opt_first_byte, "b") { UNUSED; return opt_get(user, args, 1, result, err, err_size); }
HOST(opt_between, "b") { UNUSED; return opt_get(user, args, 2, result, err, err_size); }
HOST(opt_set_connect, "b?n") { UNUSED; return opt_set(user, args, 0, result, err, err_size); }
HOST(opt_set_first_byte, "b?n") { UNUSED; return opt_set(user, args, 1, result, err, err_size); }
HOST(opt_set_between, "b?n") { UNUSED; return opt_set(user, args, 2, result, err, err_size); }
HOST(options_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_REQ_OPTIONS); return 0; }

/* ---- outgoing-body and its stream ---------------------------------------------------- */

static void body_free(weft_wasip2_t *w, void *obj)
{
    exch_t *x = obj;
    (void)w;
    if (!x->finished && !x->failed) { /* dropped without finish: the request is corrupt */
        x->failed = strdup("the outgoing-body was dropped without finish");
        x->failed_case = "internal-error";
    }
    exch_unref(x);
}

static const p2_ops_t body_ops = {body_free, NULL, NULL, NULL, NULL};

static int body_check_write(weft_wasip2_t *w, void *obj, uint64_t *out, char *why, size_t size)
{
    exch_t *x = obj;
    if (x->finished)
        return P2_CLOSED;
    *out = x->len < w->http_max_body ? w->http_max_body - x->len : 0;
    if (*out > (1u << 20))
        *out = 1u << 20;
    if (*out == 0) { /* nothing more fits: say so now, not by a trap at the write */
        snprintf(why, size, "the request body is over its limit of %llu bytes",
                 (unsigned long long)w->http_max_body);
        w->fail_http = 17;
        return P2_FAILED;
    }
    return P2_OK;
}

static int body_write(weft_wasip2_t *w, void *obj, weft_caller_t *caller, const uint8_t *p,
                      size_t n, int blocking, char *why, size_t size)
{
    exch_t *x = obj;
    (void)caller, (void)blocking;
    if (x->finished)
        return P2_CLOSED;
    if (n > w->http_max_body - (x->len < w->http_max_body ? x->len : w->http_max_body) ||
        x->len >= w->http_max_body) {
        snprintf(why, size, "the request body is over its limit of %llu bytes",
                 (unsigned long long)w->http_max_body);
        if (!x->failed) {
            x->failed = strdup(why);
            x->failed_case = "HTTP-request-body-size";
        }
        w->fail_http = 17; /* HTTP-request-body-size, for http-error-code */
        return P2_FAILED;
    }
    if (x->len + n > x->cap) {
        size_t nc = x->cap ? x->cap : 4096;
        while (nc < x->len + n)
            nc *= 2;
        uint8_t *nb = realloc(x->body, nc);
        if (!nb)
            return -1;
        x->body = nb;
        x->cap = nc;
    }
    if (n)
        memcpy(x->body + x->len, p, n);
    x->len += n;
    return P2_OK;
}

static void body_stream_free(weft_wasip2_t *w, void *obj)
{
    exch_t *x = obj;
    (void)w;
    x->body_stream = 0;
    exch_unref(x);
}

static const p2_ops_t body_stream_ops = {body_stream_free, NULL, NULL, body_check_write,
                                         body_write};

HOST(body_write_stream, "b")
{
    weft_wasip2_t *w = user;
    UNUSED;
    exch_t *x = p2_need(w, &args[0], P2_OUT_BODY, "outgoing-body", err, err_size);
    if (!x)
        return -1;
    if (x->body_stream || x->finished)
        return unit_err(result, err, err_size); /* write() is once */
    x->refs++;
    weft_cval_t v;
    if (p2_own(w, P2_OUTPUT, x, &body_stream_ops, &v, err, err_size) != 0)
        return -1;
    x->body_stream = 1;
    return p2_ok(result, &v, err, err_size);
}

HOST(body_finish, "o?o")
{
    weft_wasip2_t *w = user;
    UNUSED;
    exch_t *x = p2_take(w, (uint32_t)args[0].of.u, P2_OUT_BODY);
    if (!x) {
        snprintf(err, err_size, "outgoing-body.finish: not a live handle");
        return -1;
    }
    if (args[1].index) /* trailers: HTTP/1.1 requests from weft carry none */
        p2_drop(w, (uint32_t)args[1].items[0].of.u, P2_FIELDS);
    x->finished = 1;
    int rc = 0;
    if (x->failed) {
        const weft_ctype_t *ec = type_at(type, "1");
        weft_cval_t e;
        if (!ec || error_code(ec, x->failed_case, x->failed, x->len, &e) ||
            p2_case(result, WEFT_CT_RESULT, 1, &e))
            rc = p2_oom(err, err_size);
    } else {
        rc = p2_ok(result, NULL, err, err_size);
    }
    exch_unref(x);
    return rc;
}

HOST(body_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_OUT_BODY); return 0; }

/* ---- outgoing-handler.handle and the future ------------------------------------------ */

/* A future's pollable: ready once the request was sent; the send is its
 * blocking work. */
static int future_wait(weft_wasip2_t *w, void *obj, int what, int work, weft_caller_t *caller,
                       p2_wait_t *out)
{
    exch_t *x = obj;
    (void)what, (void)caller;
    if (!x->done && work)
        exch_send(w, x);
    out->ready = x->done;
    return 0;
}

static const p2_ops_t future_ops = {exch_free, future_wait, NULL, NULL, NULL};

HOST(handle, "o?o")
{
    weft_wasip2_t *w = user;
    UNUSED;
    exch_t *x = p2_take(w, (uint32_t)args[0].of.u, P2_OUT_REQUEST);
    if (!x) {
        snprintf(err, err_size, "handle: request %llu is not a live outgoing-request",
                 (unsigned long long)args[0].of.u);
        return -1;
    }
    if (args[1].index) {
        opts_t *o = p2_take(w, (uint32_t)args[1].items[0].of.u, P2_REQ_OPTIONS);
        for (int i = 0; o && i < 3; i++)
            x->timeout_ns[i] = o->set[i] ? (o->t[i] ? o->t[i] : 1) : 0;
        free(o);
    }
    x->handled = 1;
    /* the request's reference is the future's now */
    weft_cval_t v;
    if (p2_own(w, P2_FUTURE_RESP, x, &future_ops, &v, err, err_size) != 0)
        return -1;
    return p2_ok(result, &v, err, err_size);
}

HOST(future_subscribe, "b")
{
    UNUSED;
    return p2_subscribe(user, (uint32_t)args[0].of.u, 0, result, err, err_size);
}

typedef struct {
    int status;
    fields_t headers;
    uint8_t *body;
    size_t len;
    int consumed;
} resp_t;

static void resp_free(weft_wasip2_t *w, void *obj)
{
    resp_t *r = obj;
    (void)w;
    fields_clear(&r->headers);
    free(r->body);
    free(r);
}

static const p2_ops_t resp_ops = {resp_free, NULL, NULL, NULL, NULL};

HOST(future_get, "b")
{
    weft_wasip2_t *w = user;
    UNUSED;
    exch_t *x = p2_need(w, &args[0], P2_FUTURE_RESP, "future-incoming-response.get", err, err_size);
    if (!x)
        return -1;
    /* asking is waiting: the request is sent now if it was not (a guest
     * polling get in a loop would otherwise never see it sent) */
    if (!x->done)
        exch_send(w, x);
    weft_cval_t inner, outer;
    if (x->got) { /* the answer was taken: some(err(())) */
        if (p2_case(&outer, WEFT_CT_RESULT, 1, NULL) || p2_case(result, WEFT_CT_OPTION, 1, &outer))
            return p2_oom(err, err_size);
        return 0;
    }
    x->got = 1;
    if (x->err_case) {
        /* option<result<result<own<incoming-response>, error-code>>> */
        const weft_ctype_t *ec = type_at(type, "001");
        weft_cval_t e;
        if (!ec || error_code(ec, x->err_case, x->err_msg, x->err_size, &e) ||
            p2_case(&inner, WEFT_CT_RESULT, 1, &e))
            return p2_oom(err, err_size);
    } else {
        resp_t *r = calloc(1, sizeof *r);
        if (!r)
            return p2_oom(err, err_size);
        r->status = x->resp.status;
        for (size_t i = 0; i < x->resp.nheaders; i++) {
            const weft_http_header_t *hd = &x->resp.headers[i];
            if (name_check(hd->name, strlen(hd->name)) == HE_SYNTAX)
                continue; /* not a field name the guest could use */
            if (fields_add(&r->headers, hd->name, strlen(hd->name), (const uint8_t *)hd->value,
                           strlen(hd->value)) == -2) {
                resp_free(w, r);
                return p2_oom(err, err_size);
            }
        }
        r->headers.immutable = 1;
        r->body = x->resp.body; /* moved */
        r->len = x->resp.body_len;
        x->resp.body = NULL;
        x->resp.body_len = 0;
        weft_cval_t v;
        if (p2_own(w, P2_IN_RESPONSE, r, &resp_ops, &v, err, err_size) != 0)
            return -1;
        if (p2_case(&inner, WEFT_CT_RESULT, 0, &v))
            return p2_oom(err, err_size);
    }
    if (p2_case(&outer, WEFT_CT_RESULT, 0, &inner)) {
        weft_cval_free(&inner);
        return p2_oom(err, err_size);
    }
    if (p2_case(result, WEFT_CT_OPTION, 1, &outer)) {
        weft_cval_free(&outer);
        return p2_oom(err, err_size);
    }
    return 0;
}

HOST(future_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_FUTURE_RESP); return 0; }

/* ---- incoming-response and incoming-body ------------------------------------------- */

static resp_t *resp_of(weft_wasip2_t *w, const weft_cval_t *self, char *err, size_t size)
{
    return p2_need(w, self, P2_IN_RESPONSE, "incoming-response", err, size);
}

HOST(resp_status, "b")
{
    UNUSED;
    resp_t *r = resp_of(user, &args[0], err, err_size);
    if (!r)
        return -1;
    *result = p2_scalar(WEFT_CT_U16, (uint64_t)r->status);
    return 0;
}

HOST(resp_headers, "b")
{
    UNUSED;
    resp_t *r = resp_of(user, &args[0], err, err_size);
    return r ? fields_handle(user, &r->headers, 1, result, err, err_size) : -1;
}

typedef struct {
    int refs;
    uint8_t *data;
    size_t len, pos;
    int streamed;
} inbody_t;

static void inbody_unref(inbody_t *b)
{
    if (b && --b->refs == 0) {
        free(b->data);
        free(b);
    }
}

static void inbody_free(weft_wasip2_t *w, void *obj) { (void)w; inbody_unref(obj); }

static const p2_ops_t inbody_ops = {inbody_free, NULL, NULL, NULL, NULL};

HOST(resp_consume, "b")
{
    weft_wasip2_t *w = user;
    UNUSED;
    resp_t *r = resp_of(w, &args[0], err, err_size);
    if (!r)
        return -1;
    if (r->consumed)
        return unit_err(result, err, err_size);
    inbody_t *b = calloc(1, sizeof *b);
    if (!b)
        return p2_oom(err, err_size);
    b->refs = 1;
    b->data = r->body; /* moved */
    b->len = r->len;
    r->body = NULL;
    r->consumed = 1;
    weft_cval_t v;
    if (p2_own(w, P2_IN_BODY, b, &inbody_ops, &v, err, err_size) != 0)
        return -1;
    return p2_ok(result, &v, err, err_size);
}

HOST(resp_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_IN_RESPONSE); return 0; }

static int inbody_read(weft_wasip2_t *w, void *obj, weft_caller_t *caller, uint64_t max,
                       int blocking, weft_cval_t *bytes, char *why, size_t why_size)
{
    inbody_t *b = obj;
    (void)w, (void)caller, (void)blocking, (void)why, (void)why_size;
    if (b->pos >= b->len && max)
        return P2_CLOSED;
    size_t n = b->len - b->pos;
    if (n > max)
        n = (size_t)max;
    if (n > (1u << 20))
        n = 1u << 20;
    if (p2_bytes(bytes, WEFT_CT_LIST, b->data ? b->data + b->pos : (const uint8_t *)"", n))
        return -1;
    b->pos += n;
    return P2_OK;
}

static const p2_ops_t inbody_stream_ops = {inbody_free, NULL, inbody_read, NULL, NULL};

HOST(inbody_stream, "b")
{
    weft_wasip2_t *w = user;
    UNUSED;
    inbody_t *b = p2_need(w, &args[0], P2_IN_BODY, "incoming-body", err, err_size);
    if (!b)
        return -1;
    if (b->streamed)
        return unit_err(result, err, err_size);
    b->refs++;
    weft_cval_t v;
    if (p2_own(w, P2_INPUT, b, &inbody_stream_ops, &v, err, err_size) != 0)
        return -1;
    b->streamed = 1;
    return p2_ok(result, &v, err, err_size);
}

/* future-trailers: always ready, never any (an HTTP/1.1 answer's trailers
 * are not kept) */
static void trailers_free(weft_wasip2_t *w, void *obj) { (void)w; free(obj); }
static const p2_ops_t trailers_ops = {trailers_free, NULL, NULL, NULL, NULL};

HOST(inbody_finish, "o")
{
    weft_wasip2_t *w = user;
    UNUSED;
    p2_drop(w, (uint32_t)args[0].of.u, P2_IN_BODY);
    int *got = calloc(1, sizeof *got);
    if (!got)
        return p2_oom(err, err_size);
    return p2_own(w, P2_FUTURE_TRAILERS, got, &trailers_ops, result, err, err_size);
}

HOST(inbody_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_IN_BODY); return 0; }

HOST(trailers_subscribe, "b")
{
    UNUSED;
    return p2_subscribe(user, (uint32_t)args[0].of.u, 0, result, err, err_size);
}

HOST(trailers_get, "b")
{
    UNUSED;
    int *got = p2_need(user, &args[0], P2_FUTURE_TRAILERS, "future-trailers", err, err_size);
    if (!got)
        return -1;
    weft_cval_t none, ok, outer;
    p2_case(&none, WEFT_CT_OPTION, 0, NULL);
    if (*got) {
        if (p2_case(&outer, WEFT_CT_RESULT, 1, NULL))
            return p2_oom(err, err_size);
    } else if (p2_case(&ok, WEFT_CT_RESULT, 0, &none) || p2_case(&outer, WEFT_CT_RESULT, 0, &ok)) {
        return p2_oom(err, err_size);
    }
    *got = 1;
    return p2_case(result, WEFT_CT_OPTION, 1, &outer) ? p2_oom(err, err_size) : 0;
}

HOST(trailers_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_FUTURE_TRAILERS); return 0; }

/* http-error-code(borrow<io-error>) -> option<error-code> */
HOST(http_error_code, "b")
{
    int hc, nc;
    const char *msg;
    UNUSED;
    const weft_ctype_t *t;
    if (p2_error_codes(user, (uint32_t)args[0].of.u, &hc, &nc, &msg) != 0 || hc < 0 ||
        !weft_ctype_func_result(type, &t) || !(t = weft_ctype_type(t, 0)) ||
        (size_t)hc >= weft_ctype_count(t))
        return p2_case(result, WEFT_CT_OPTION, 0, NULL);
    weft_cval_t e;
    if (error_code(t, weft_ctype_label(t, (size_t)hc), msg, 0, &e) ||
        p2_case(result, WEFT_CT_OPTION, 1, &e))
        return p2_oom(err, err_size);
    return 0;
}

/* ---- the table ------------------------------------------------------------------------ */

#define T "wasi:http/types@0.2"
static const p2_def_t defs[] = {
    {T, "[constructor]fields", fields_new},
    {T, "[static]fields.from-list", fields_from_list},
    {T, "[method]fields.get", fields_get},
    {T, "[method]fields.has", fields_has},
    {T, "[method]fields.set", fields_set},
    {T, "[method]fields.delete", fields_delete},
    {T, "[method]fields.append", fields_append},
    {T, "[method]fields.entries", fields_entries},
    {T, "[method]fields.clone", fields_clone},
    {T, "[resource-drop]fields", fields_drop},
    {T, "[constructor]outgoing-request", request_new},
    {T, "[method]outgoing-request.body", request_body},
    {T, "[method]outgoing-request.method", request_method},
    {T, "[method]outgoing-request.set-method", request_set_method},
    {T, "[method]outgoing-request.path-with-query", request_path},
    {T, "[method]outgoing-request.set-path-with-query", request_set_path},
    {T, "[method]outgoing-request.scheme", request_scheme},
    {T, "[method]outgoing-request.set-scheme", request_set_scheme},
    {T, "[method]outgoing-request.authority", request_authority},
    {T, "[method]outgoing-request.set-authority", request_set_authority},
    {T, "[method]outgoing-request.headers", request_headers},
    {T, "[resource-drop]outgoing-request", request_drop},
    {T, "[constructor]request-options", options_new},
    {T, "[method]request-options.connect-timeout", opt_connect},
    {T, "[method]request-options.set-connect-timeout", opt_set_connect},
    {T, "[method]request-options.first-byte-timeout", opt_first_byte},
    {T, "[method]request-options.set-first-byte-timeout", opt_set_first_byte},
    {T, "[method]request-options.between-bytes-timeout", opt_between},
    {T, "[method]request-options.set-between-bytes-timeout", opt_set_between},
    {T, "[resource-drop]request-options", options_drop},
    {T, "[method]outgoing-body.write", body_write_stream},
    {T, "[static]outgoing-body.finish", body_finish},
    {T, "[resource-drop]outgoing-body", body_drop},
    {T, "[method]future-incoming-response.subscribe", future_subscribe},
    {T, "[method]future-incoming-response.get", future_get},
    {T, "[resource-drop]future-incoming-response", future_drop},
    {T, "[method]incoming-response.status", resp_status},
    {T, "[method]incoming-response.headers", resp_headers},
    {T, "[method]incoming-response.consume", resp_consume},
    {T, "[resource-drop]incoming-response", resp_drop},
    {T, "[method]incoming-body.stream", inbody_stream},
    {T, "[static]incoming-body.finish", inbody_finish},
    {T, "[resource-drop]incoming-body", inbody_drop},
    {T, "[method]future-trailers.subscribe", trailers_subscribe},
    {T, "[method]future-trailers.get", trailers_get},
    {T, "[resource-drop]future-trailers", trailers_drop},
    {T, "http-error-code", http_error_code},
    {"wasi:http/outgoing-handler@0.2", "handle", handle},
};

int p2_http_define(weft_wasip2_t *w, weft_clinker_t *l)
{
    return p2_define(w, l, defs, sizeof defs / sizeof defs[0]);
}
