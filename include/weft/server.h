/*
 * weft/server.h — the HTTP API of a node (docs/http.md), on libmicrohttpd.
 *
 * A server serves one open node (weft/node.h) on one address: JSON routes
 * for apps, contexts, calls and state, Server-Sent Events of committed
 * events, health, readiness and Prometheus metrics. Requests run on
 * libmicrohttpd's thread pool (epoll); a call's connection is suspended
 * while the node runs it, so a slow guest never holds an HTTP thread, and
 * an SSE stream is suspended while it has nothing to send.
 *
 * Thread safety: start and stop from one thread; the server's own threads
 * do the rest.
 */
#ifndef WEFT_SERVER_H
#define WEFT_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "node.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_server weft_server_t;

/* Scopes a token may hold (docs/http.md). */
enum {
    WEFT_SCOPE_READ = 1 << 0,
    WEFT_SCOPE_CALL = 1 << 1,
    WEFT_SCOPE_ADMIN = 1 << 2,
    WEFT_SCOPE_ALL = 7,
};

typedef struct {
    const char *token; /* the bearer token */
    unsigned scopes;   /* WEFT_SCOPE_* */
} weft_token_t;

typedef struct {
    const char *listen;         /* "ADDR:PORT" ("[::1]:PORT" for IPv6); port 0 picks a free one */
    unsigned threads;           /* HTTP threads; 0 = 2 */
    const weft_token_t *tokens; /* copied; none: loopback clients only, with every scope */
    size_t ntokens;
    size_t max_app_bytes;       /* body limit of a deploy; 0 = 16 MiB */
    size_t max_call_bytes;      /* body limit of a call; 0 = 1 MiB */
    unsigned idle_timeout_s;    /* a connection idle this long is closed; 0 = 30 */
    unsigned heartbeat_ms;      /* SSE heartbeat comment; 0 = 15,000 */
    size_t sse_buffer_bytes;    /* per subscriber before it counts as lagging; 0 = 1 MiB */
} weft_server_config_t;

/* Starts serving `node` (borrowed: it must outlive the server). Returns 0,
 * WEFT_EARG (a bad listen address, or a non-loopback one with no token:
 * out_msg says which) or WEFT_EIO (cannot listen: out_msg says why). */
int weft_server_start(weft_node_t *node, const weft_server_config_t *cfg, weft_server_t **out,
                      char *out_msg, size_t msg_size);
/* The port the server listens on (useful with port 0). */
uint16_t weft_server_port(const weft_server_t *server);
/* Stops: new requests get 503, event streams end, calls in flight finish
 * and are answered, then the listener closes and everything is freed. */
void weft_server_stop(weft_server_t *server);

#ifdef __cplusplus
}
#endif
#endif
