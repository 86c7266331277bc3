/*
 * server_priv.h — the HTTP server's shared pieces (src/server only).
 *
 * A request's life: libmicrohttpd calls on_request first with the headers
 * (a req_t is made, the route found, auth and the declared body size
 * checked, so a refusal never reads the body), then with each piece of the
 * body (kept, up to the route's limit), then once more with nothing: the
 * route's handler runs. A handler answers at once (reply_*; a short view
 * run on this thread, weft_node_call_here), or suspends
 * the connection and answers when resumed (calls: the node's callback
 * resumes it; libmicrohttpd then calls on_request again and the handler's
 * `resume` step replies). Event streams are responses whose content
 * reader suspends while there is nothing to send (sse.c).
 */
#ifndef WEFT_SERVER_PRIV_H
#define WEFT_SERVER_PRIV_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "weft/node.h"
#include "weft/server.h"

#define SRV_MAX_PARAMS 3

typedef struct req req_t;
typedef struct weft_server srv_t;

/* A route handler; returns what on_request returns. */
typedef enum MHD_Result (*handler_fn)(srv_t *s, req_t *r);

/* The route table (routes.c): method, path pattern ("{}" matches one
 * segment), scope, body limit (0: no body), handler. A streamed body
 * (body 3) is not kept: the handler takes each piece as it comes (r->piece
 * set; r->body, r->body_len: the piece, borrowed), then runs once more
 * without one to answer; a reply while pieces come (an error) ends the
 * request, whose further pieces are dropped. */
typedef struct {
    const char *method;
    const char *pattern;
    unsigned scope; /* WEFT_SCOPE_*; 0: open to all */
    int body;       /* 0: none, 1: call-sized, 2: app-sized, 3: streamed (any size) */
    handler_fn fn;
} route_t;

extern const route_t srv_routes[];
extern const size_t srv_nroutes;

struct srv_str {
    char *p;
    struct srv_str *next;
};

struct req {
    struct MHD_Connection *conn;
    srv_t *srv;
    struct srv_str *strings; /* decoded query values, freed with the request */
    char *path;              /* as sent: percent-encoded, no query */
    uint8_t caller[32];      /* a signed call's verified signer */
    int signed_call;
    const route_t *route;
    char method[8];
    char *params[SRV_MAX_PARAMS]; /* decoded path segments matched by "{}" */
    uint8_t *body;
    size_t body_len, body_cap, body_max;
    int replied; /* refused early: its reply is queued */
    unsigned refusal; /* refused at the headers, answered once the body is dropped */
    char allow[64];   /* the refusal's Allow header (405) */
    int started; /* the handler ran once */
    /* a suspended call */
    weft_call_result_t *result;
    int call_rc;
    uint64_t t0_ns;
    int counted; /* in s->inflight */
    /* a streamed body: a piece is being handed over; the handler's state
     * (blobs.c), freed with the request */
    int piece;
    void *stream;
    void (*stream_free)(void *stream);
};

/* Latency buckets of the call histogram, in seconds (Prometheus `le`). */
#define SRV_NBUCKETS 12
extern const double srv_buckets[SRV_NBUCKETS];

struct weft_server {
    weft_node_t *node;
    struct MHD_Daemon *daemon;
    uint16_t port;
    weft_token_t *tokens;
    size_t ntokens;
    size_t max_app, max_call;
    unsigned heartbeat_ms;
    size_t sse_buffer;
    uint64_t started_ns;
    atomic_int closing;

    pthread_mutex_t mu; /* inflight, streams */
    pthread_cond_t cv;      /* the ticker sleeps on it; stop wakes it */
    pthread_cond_t idle_cv; /* inflight reached 0 while closing (stop waits) */
    int inflight;           /* suspended calls */
    struct sse *streams;
    pthread_t ticker;   /* heartbeats */
    int ticker_started;

    /* metrics */
    atomic_uint_fast64_t calls[4];      /* by weft_call_outcome_t */
    atomic_uint_fast64_t traps[32];     /* by trap code */
    atomic_uint_fast64_t fuel;
    atomic_uint_fast64_t lat_count, lat_sum_us, lat_bucket[SRV_NBUCKETS];
    atomic_uint_fast64_t http[6];       /* by status class: 1xx..5xx, index 1..5 */
    atomic_int sse_open;
    struct srv_seen *seen; /* signatures seen within the window (sign.c), under mu */
};

/* server.c: replies. Each queues a response and returns its result. */
enum MHD_Result srv_reply_json(req_t *r, unsigned status, json_t *body); /* steals body */
enum MHD_Result srv_reply_error(req_t *r, unsigned status, const char *code, const char *fmt,
                                ...) __attribute__((format(printf, 4, 5)));
enum MHD_Result srv_reply_bytes(req_t *r, unsigned status, const char *type, const void *p,
                                size_t len);
/* Queues resp (setting its Content-Type when type is given), counts its
 * status for /metrics and releases it: every answer goes through here. */
enum MHD_Result srv_queue(req_t *r, unsigned status, struct MHD_Response *resp,
                          const char *type);
/* The query argument `name`, or NULL. */
const char *srv_query(req_t *r, const char *name);
/* A raw query value (as libmicrohttpd hands it over, still escaped)
 * decoded, living as long as the request; NULL when raw is NULL or the
 * value has a bad escape or a NUL byte. */
const char *srv_query_decode(req_t *r, const char *raw);
/* A string member that is text (UTF-8 without NUL bytes), or base64 of
 * bytes that are not: sets obj[key] or obj[key "_base64"]. */
void srv_set_bytes(json_t *obj, const char *key, const void *p, size_t len);
uint64_t srv_now_ns(void);

/* sign.c: checks a signed call's headers over its input. Returns 0 (none,
 * or valid: r->signed_call and r->caller set) or -1 with the reason. */
int srv_check_signature(srv_t *s, req_t *r, const char *path, const uint8_t *input,
                        size_t input_len, char *msg, size_t msg_size);

/* calls.c */
enum MHD_Result srv_call(srv_t *s, req_t *r);

/* sse.c */
enum MHD_Result srv_events(srv_t *s, req_t *r);
enum MHD_Result srv_logs(srv_t *s, req_t *r);
json_t *srv_log_json(uint64_t seq, uint64_t time_ms, uint64_t call_id, const char *level,
                     const char *msg, size_t len);
void srv_sse_end_all(srv_t *s);
void *srv_ticker_main(void *arg);

/* routes.c */
enum MHD_Result srv_metrics(srv_t *s, req_t *r);

/* console.c: GET / and /console/{file}, the web console (docs/console.md). */
enum MHD_Result srv_console(srv_t *s, req_t *r);

/* blobs.c: PUT /v1/blobs (streamed) and GET /v1/blobs/{id} */
enum MHD_Result srv_blob_put(srv_t *s, req_t *r);
enum MHD_Result srv_blob_get(srv_t *s, req_t *r);
enum MHD_Result srv_blob_withdraw(srv_t *s, req_t *r);
/* tables.c: a Cosmictron table's rows as JSON pages; sse.c: its changes */
enum MHD_Result srv_table_rows(srv_t *s, req_t *r);
enum MHD_Result srv_table_subscribe(srv_t *s, req_t *r);

/* peers.c */
enum MHD_Result srv_peers(srv_t *s, req_t *r);
enum MHD_Result srv_members_change(srv_t *s, req_t *r);
/* The members of context `name` as a JSON list of hex ids. */
json_t *srv_members_json(srv_t *s, const char *name);
/* A JSON list of hex node ids (or NULL: none) into malloc'ed 32-byte ids. */
int srv_parse_ids(json_t *arr, uint8_t **out, size_t *n, char *msg, size_t msg_size);

#endif
