/*
 * weft/http_out.h — outbound HTTP for guests: the request and response a
 * guest ABI binding hands to its embedder (Calimero `fetch`, Cosmictron
 * `cosm.http_request`), and the node's service that performs them with
 * libcurl behind an allowlist (docs/http-client.md).
 *
 * The types are for every binding; the service (weft_http_out_*) is in
 * the library weft_http_out, linked into weft-node only: `weft` has no
 * libcurl, and under `weft run` every request is denied. A node reaches
 * the service through weft_node_config_t.http_fetch, a function pointer,
 * so the node layer itself does not link it.
 *
 * The allowlist is off by default: a service made from no configuration
 * (or an empty "allow") denies every request. Each rule names an app (its
 * id, its name, or "*") and the URL prefixes it may fetch: scheme, host
 * and port exactly, then optionally a path prefix. Only http and https;
 * redirects are never followed (a 3xx is the answer); a request takes at
 * most the configured timeout and never passes the call's deadline; the
 * response is bounded in bytes.
 *
 * Thread safety: a weft_http_out_t is read-only once made: any thread may
 * call weft_http_out_fetch at the same time as others.
 */
#ifndef WEFT_HTTP_OUT_H
#define WEFT_HTTP_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *name; /* NUL-terminated */
    const char *value;
} weft_http_header_t;

/* A guest's request, borrowed for the length of the fetch. Strings are
 * NUL-terminated (a binding refuses a guest string holding a NUL). */
typedef struct {
    const char *method; /* "GET", "POST", ...: an HTTP token */
    const char *url;
    const weft_http_header_t *headers;
    size_t nheaders;
    const uint8_t *body;
    size_t body_len;
    /* Filled in by the node, not the binding: who asks, and until when. */
    const char *app_id;   /* 64 hex digits */
    const char *app_name; /* NULL: none */
    uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0: the call has none. A binding may set
                             one of its own (wasi:http's timeouts): the nearer one holds */
    /* Optional (NULL: not wanted): why no answer came, when the fetch
     * returns WEFT_EIO: one of WEFT_HTTP_FAIL_*, for a binding that tells
     * its guest (wasi:http's error-code). */
    int *fail;
} weft_http_request_t;

/* Why a request got no answer (weft_http_request_t.fail). */
enum {
    WEFT_HTTP_FAIL_OTHER = 0,
    WEFT_HTTP_FAIL_TIMEOUT,  /* the timeout or the call's deadline passed, waiting for the answer */
    WEFT_HTTP_FAIL_CONNECT_TIMEOUT, /* ... before the connection was made */
    WEFT_HTTP_FAIL_REFUSED,  /* the connection was refused */
    WEFT_HTTP_FAIL_DNS,      /* the host name did not resolve */
    WEFT_HTTP_FAIL_TLS,      /* TLS failed (handshake, certificate) */
    WEFT_HTTP_FAIL_CLOSED,   /* the peer closed or reset the connection mid-answer */
};

/* A response: status, headers in the order received, body (all malloc'ed,
 * freed with weft_http_response_free). */
typedef struct {
    int status;
    weft_http_header_t *headers;
    size_t nheaders;
    uint8_t *body;
    size_t body_len;
} weft_http_response_t;

/* Frees what *resp holds and zeroes it. Inline: the bindings free what
 * the embedder's hook made without linking the service. */
static inline void weft_http_response_free(weft_http_response_t *resp)
{
    if (!resp) return;
    for (size_t i = 0; i < resp->nheaders; i++) {
        free((char *)resp->headers[i].name);
        free((char *)resp->headers[i].value);
    }
    free(resp->headers);
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

/* What performs a request (weft_node_config_t.http_fetch, and the
 * bindings' hooks): 0 with *resp filled (any status: a 404 is an answer),
 * WEFT_ENOTFOUND when the allowlist denies it (resp untouched), WEFT_EARG
 * for a malformed request (a bad URL, method or header), WEFT_ELIMIT when
 * the response passed its bound or the request body its own, WEFT_EIO
 * when no answer came (refused, reset, timeout). msg says why on failure. */
typedef int (*weft_http_fetch_fn)(void *user, const weft_http_request_t *req,
                                  weft_http_response_t *resp, char *msg, size_t msg_size);

/* ---- the service (library weft_http_out) ---------------------------------- */

typedef struct weft_http_out weft_http_out_t;

#define WEFT_HTTP_OUT_TIMEOUT_MS 10000u        /* default per request */
#define WEFT_HTTP_OUT_TIMEOUT_MAX_MS 60000u    /* the most a config may set */
#define WEFT_HTTP_OUT_MAX_RESPONSE (1u << 20)  /* default: 1 MiB (headers and body) */
#define WEFT_HTTP_OUT_MAX_REQUEST (1u << 20)   /* default: 1 MiB of request body */

/* Makes the service from the JSON text of the node config's
 * "outbound_http" object (NULL: none, everything denied):
 *   {"allow": [{"app": "ID|NAME|*", "urls": ["https://api.example.com/v1/", ...]}],
 *    "timeout_ms": 10000, "max_response_bytes": 1048576,
 *    "max_request_bytes": 1048576}
 * Returns 0, WEFT_EARG (msg names the bad key or URL) or WEFT_ENOMEM. */
int weft_http_out_new(const char *json, weft_http_out_t **out, char *msg, size_t msg_size);
void weft_http_out_delete(weft_http_out_t *h);

/* 1 when the rules let the app (id or name) fetch `url`, else 0. */
int weft_http_out_allowed(const weft_http_out_t *h, const char *app_id, const char *app_name,
                          const char *url);

/* Performs req when allowed (a weft_http_fetch_fn, user = the service). */
int weft_http_out_fetch(void *h, const weft_http_request_t *req, weft_http_response_t *resp,
                        char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif
#endif
