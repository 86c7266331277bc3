/*
 * sse.c — GET /v1/contexts/{name}/events: committed events as Server-Sent
 * Events, resumable with Last-Event-ID.
 *
 * A stream starts in backlog mode: its content reader reads the kept
 * events after the client's last id from the data directory, a chunk at a
 * time, as the client takes them. Live events meanwhile only raise
 * `live_max`. The stream turns live once a read finds nothing newer and
 * `live_max` is not above what it sent; from then on the node's publisher
 * (the writer thread) appends each event to the stream's buffer. Both
 * decisions are taken under the stream's mutex, so no event falls between
 * the two modes, and sequence numbers keep any event from being sent twice.
 *
 * With nothing to send the reader suspends the connection; an event, a
 * heartbeat or the end resumes it. A live stream whose buffer passes its
 * limit (a client reading slower than events come) gets `event: lagged`
 * and ends: it never slows the writer. The client resumes with its last
 * id, from the backlog.
 *
 * A table subscription (GET .../tables/{table}/subscribe) is such a stream
 * of the context's events whose names start with "table:TABLE:" (the
 * others only advance it), opened, unless it resumes, by the table's rows
 * as `event: row` messages and an `event: ready` carrying the id the rows
 * are current at: the rows and that id come from one read transaction, so
 * the events after it are exactly the changes since. With ?index=&from=&to=
 * (a key range, as the tables route takes it) the rows are those in the
 * range and the changes only those whose row lies in it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server_priv.h"
#include "weft/error.h"

#define BACKLOG_CHUNK 256

typedef struct sse {
    srv_t *s;
    struct MHD_Connection *conn;
    char *context;
    weft_node_sub_t *sub;
    pthread_mutex_t mu;
    char *buf;
    size_t len, off, cap;
    uint64_t last_seq; /* highest id put in the buffer */
    uint64_t live_max; /* highest id published so far */
    int logs;          /* a stream of log lines rather than events */
    char *prefix;      /* only events named so (a table's); NULL: all */
    weft_node_table_filter_t *range; /* and of those, only rows in a key range */
    int backlog, suspended, ended, heartbeat_due;
    struct sse *prev, *next; /* s->streams, under s->mu */
} sse_t;

/* Appends text to the buffer; the limit is the caller's business. */
static int append(sse_t *e, const char *p, size_t n)
{
    if (e->len + n > e->cap) {
        size_t cap = e->cap ? e->cap : 4096;
        while (cap < e->len + n)
            cap *= 2;
        char *b = realloc(e->buf, cap);
        if (!b)
            return -1;
        e->buf = b;
        e->cap = cap;
    }
    memcpy(e->buf + e->len, p, n);
    e->len += n;
    return 0;
}

/* A name usable on an `event:` line: UTF-8 text with no line break. */
static int safe_name(const char *name, size_t n)
{
    json_t *t = json_stringn(name, n);
    json_decref(t);
    if (!t || n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (name[i] == '\n' || name[i] == '\r')
            return 0;
    return 1;
}

/* Appends one SSE message: "id: SEQ", "event: NAME" and "data: " the JSON
 * of data (which it takes), then the blank line; records SEQ as sent. */
static int add_message(sse_t *e, uint64_t seq, const char *name, size_t nl, json_t *data)
{
    char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (!text)
        return -1;
    char head[64];
    int hl = snprintf(head, sizeof head, "id: %llu\nevent: ", (unsigned long long)seq);
    int rc = append(e, head, (size_t)hl);
    if (rc == 0)
        rc = append(e, name, nl);
    if (rc == 0)
        rc = append(e, "\ndata: ", 7);
    if (rc == 0)
        rc = append(e, text, strlen(text));
    if (rc == 0)
        rc = append(e, "\n\n", 2);
    free(text);
    if (rc == 0)
        e->last_seq = seq;
    return rc;
}

/* One event: its name on the event line when it can stand there. */
static int add_event(sse_t *e, uint64_t seq, const char *name, size_t nl, const uint8_t *p,
                     size_t pl)
{
    size_t fl = e->prefix ? strlen(e->prefix) : 0;
    if ((e->prefix && (nl < fl || memcmp(name, e->prefix, fl) != 0)) ||
        (e->range && !weft_node_table_filter_match(e->range, p, pl))) {
        e->last_seq = seq; /* not this stream's: passed over, never sent */
        return 0;
    }
    json_t *o = json_object();
    json_object_set_new(o, "seq", json_integer((json_int_t)seq));
    srv_set_bytes(o, "name", name, nl);
    srv_set_bytes(o, "payload", p, pl);
    int safe = safe_name(name, nl);
    return add_message(e, seq, safe ? name : "message", safe ? nl : 7, o);
}

/* One log line as a JSON object (also the non-streaming route's items). */
json_t *srv_log_json(uint64_t seq, uint64_t time_ms, uint64_t call_id, const char *level,
                     const char *msg, size_t len)
{
    char id[17];
    snprintf(id, sizeof id, "%016llx", (unsigned long long)call_id);
    json_t *o = json_object();
    json_object_set_new(o, "seq", json_integer((json_int_t)seq));
    json_object_set_new(o, "time_ms", json_integer((json_int_t)time_ms));
    json_object_set_new(o, "call_id", json_string(id));
    json_object_set_new(o, "level", json_string(level));
    srv_set_bytes(o, "msg", msg, len);
    return o;
}

static int add_log(sse_t *e, uint64_t seq, uint64_t time_ms, uint64_t call_id, const char *level,
                   const char *msg, size_t len)
{
    return add_message(e, seq, "log", 3, srv_log_json(seq, time_ms, call_id, level, msg, len));
}

static void wake(sse_t *e)
{
    if (e->suspended) {
        e->suspended = 0;
        MHD_resume_connection(e->conn);
    }
}

/* The context was deleted: a last `event: deleted`, then the end. Under mu. */
static void context_gone(sse_t *e)
{
    static const char deleted[] = "event: deleted\ndata: {}\n\n";
    if (!e->ended)
        append(e, deleted, sizeof deleted - 1);
    e->ended = 1;
}

/* The publisher: a node thread, holding the node's subscription lock. */
/* A live record numbered seq of `size` bytes: locks the stream and says
 * whether to add it (live, not ended, new, and room in the buffer; a
 * stream without room ends as lagged). live_end then unlocks. Both run on
 * the publisher's thread (a node thread holding its subscription lock). */
static int live_begin(sse_t *e, uint64_t seq, size_t size)
{
    pthread_mutex_lock(&e->mu);
    if (seq == 0)
        context_gone(e);
    if (seq > e->live_max)
        e->live_max = seq;
    if (e->backlog || e->ended || seq <= e->last_seq)
        return 0;
    if (e->len - e->off + size > e->s->sse_buffer) {
        static const char lagged[] = "event: lagged\ndata: {}\n\n";
        append(e, lagged, sizeof lagged - 1);
        e->ended = 1;
        return 0;
    }
    return 1;
}

static void live_end(sse_t *e, int add_rc)
{
    if (add_rc != 0)
        e->ended = 1; /* out of memory: the client resumes with its last id */
    wake(e);
    pthread_mutex_unlock(&e->mu);
}

static void on_event(void *user, const char *context, uint64_t seq, const char *name,
                     size_t name_len, const uint8_t *payload, size_t payload_len)
{
    sse_t *e = user;
    int add = live_begin(e, seq, name_len + payload_len);
    live_end(e, add ? add_event(e, seq, name, name_len, payload, payload_len) : 0);
}

static void on_log(void *user, const char *context, uint64_t seq, uint64_t time_ms,
                   uint64_t call_id, const char *level, const char *msg, size_t len)
{
    sse_t *e = user;
    int add = live_begin(e, seq, len);
    live_end(e, add ? add_log(e, seq, time_ms, call_id, level, msg, len) : 0);
}

static void backlog_log_one(void *user, const char *context, uint64_t seq, uint64_t time_ms,
                            uint64_t call_id, const char *level, const char *msg, size_t len)
{
    sse_t *e = user;
    if (seq > e->last_seq)
        add_log(e, seq, time_ms, call_id, level, msg, len);
}

static void backlog_one(void *user, const char *context, uint64_t seq, const char *name,
                        size_t name_len, const uint8_t *payload, size_t payload_len)
{
    sse_t *e = user;
    if (seq > e->last_seq)
        add_event(e, seq, name, name_len, payload, payload_len);
}

/* libmicrohttpd's content reader (an HTTP thread). */
static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max)
{
    sse_t *e = cls;
    pthread_mutex_lock(&e->mu);
    for (;;) {
        if (e->off < e->len) {
            size_t n = e->len - e->off < max ? e->len - e->off : max;
            memcpy(out, e->buf + e->off, n);
            e->off += n;
            if (e->off == e->len)
                e->off = e->len = 0;
            pthread_mutex_unlock(&e->mu);
            return (ssize_t)n;
        }
        if (e->ended) {
            pthread_mutex_unlock(&e->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (e->backlog) {
            uint64_t before = e->last_seq, last = 0;
            int rc = e->logs ? weft_node_logs_read(e->s->node, e->context, e->last_seq,
                                                   BACKLOG_CHUNK, backlog_log_one, e, &last)
                             : weft_node_events_read(e->s->node, e->context, e->last_seq,
                                                     BACKLOG_CHUNK, backlog_one, e, &last);
            if (rc != 0) { /* the context is gone, or the store failed */
                e->ended = 1;
                continue;
            }
            if (e->last_seq == before && e->live_max <= e->last_seq)
                e->backlog = 0; /* caught up: live from here */
            if (e->last_seq == before && e->live_max > e->last_seq && last <= e->last_seq)
                e->backlog = 0; /* published ids the store no longer keeps */
            continue;
        }
        if (e->heartbeat_due) {
            e->heartbeat_due = 0;
            append(e, ": heartbeat\n\n", 13);
            continue;
        }
        e->suspended = 1;
        MHD_suspend_connection(e->conn);
        pthread_mutex_unlock(&e->mu);
        return 0;
    }
}

static void reader_free(void *cls)
{
    sse_t *e = cls;
    srv_t *s = e->s;
    weft_node_unsubscribe(s->node, e->sub); /* no publisher touches e after this */
    if (e->prefix) /* a table subscriber left: the app's client_disconnected */
        weft_node_cosm_lifecycle(s->node, e->context, "client_disconnected", NULL, 0);
    pthread_mutex_lock(&s->mu);
    if (e->prev)
        e->prev->next = e->next;
    else
        s->streams = e->next;
    if (e->next)
        e->next->prev = e->prev;
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_sub(&s->sse_open, 1);
    pthread_mutex_destroy(&e->mu);
    free(e->buf);
    free(e->prefix);
    weft_node_table_filter_delete(e->range);
    free(e->context);
    free(e);
}

/* Frees a stream that never started (no subscription, no response). */
static void unstarted_free(sse_t *e)
{
    pthread_mutex_destroy(&e->mu);
    free(e->buf);
    free(e->prefix);
    weft_node_table_filter_delete(e->range);
    free(e->context);
    free(e);
}

/* A table's row, at a subscription's start. */
static int add_row(void *user, const char *row, size_t len)
{
    sse_t *e = user;
    static const char head[] = "event: row\ndata: ";
    return append(e, head, sizeof head - 1) || append(e, row, len) || append(e, "\n\n", 2);
}

/* Starts a stream of events (logs 0) or log lines (logs 1); with table, of
 * that table's changes after its rows (a subscription). */
static enum MHD_Result stream_of(srv_t *s, req_t *r, int logs, const char *table)
{
    const char *ctx = r->params[0];
    weft_context_info_t ci;
    if (weft_node_context_get(s->node, ctx, &ci) != 0) {
        return srv_reply_error(r, 404, "NOT_FOUND", "no context '%s'", ctx);
    }
    const char *last = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Last-Event-ID");
    if (!last)
        last = srv_query(r, "after");
    uint64_t after = 0;
    if (last && *last) {
        char *end;
        after = strtoull(last, &end, 10);
        if (*end) {
            return srv_reply_error(r, 400, "BAD_REQUEST",
                                   "Last-Event-ID must be an event id (a number), not '%s'", last);
        }
    }
    sse_t *e = calloc(1, sizeof *e);
    if (!e || !(e->context = strdup(ctx))) {
        free(e);
        return MHD_NO;
    }
    e->s = s;
    e->conn = r->conn;
    e->last_seq = after;
    e->backlog = 1;
    e->logs = logs;
    pthread_mutex_init(&e->mu, NULL);
    append(e, ": weft events\n\n", 15);
    if (table) {
        char msg[256];
        int rc = 0;
        size_t pl = strlen(table) + 8;
        if (!(e->prefix = malloc(pl)))
            rc = WEFT_ENOMEM;
        else
            snprintf(e->prefix, pl, "table:%s:", table);
        /* ?index=&from=&to=: the rows of a key range, then only its changes */
        const char *index = srv_query(r, "index"), *from = srv_query(r, "from"),
                   *to = srv_query(r, "to");
        if (rc == 0 && (index || from || to))
            rc = weft_node_table_filter_new(s->node, ctx, table, index, from, to, &e->range, msg,
                                            sizeof msg);
        if (rc == 0 && !(last && *last)) { /* a new subscription: the rows first */
            rc = weft_node_table_snapshot(s->node, ctx, table, e->range, add_row, e,
                                          &e->last_seq, msg, sizeof msg);
            if (rc == 0) {
                char ready[64];
                int n = snprintf(ready, sizeof ready, "id: %llu\nevent: ready\ndata: {}\n\n",
                                 (unsigned long long)e->last_seq);
                append(e, ready, (size_t)n);
            }
        }
        if (rc != 0) {
            unstarted_free(e);
            if (rc == WEFT_ENOTFOUND) return srv_reply_error(r, 404, "NOT_FOUND", "%s", msg);
            if (rc == WEFT_EARG) return srv_reply_error(r, 400, "BAD_REQUEST", "%s", msg);
            return srv_reply_error(r, 500, "INTERNAL", "%s", weft_strerror(rc));
        }
    }
    int rc = logs ? weft_node_subscribe_logs(s->node, ctx, on_log, e, &e->sub)
                  : weft_node_subscribe(s->node, ctx, on_event, e, &e->sub);
    if (rc != 0) {
        unstarted_free(e);
        return MHD_NO;
    }
    atomic_fetch_add(&s->sse_open, 1);
    pthread_mutex_lock(&s->mu);
    e->next = s->streams;
    if (s->streams)
        s->streams->prev = e;
    s->streams = e;
    if (atomic_load(&s->closing))
        e->ended = 1;
    pthread_mutex_unlock(&s->mu);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, e, reader_free);
    if (!resp) {
        reader_free(e);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    if (table) /* a table subscriber came: the app's client_connected */
        weft_node_cosm_lifecycle(s->node, ctx, "client_connected", NULL, 0);
    return srv_queue(r, 200, resp, NULL);
}

static enum MHD_Result stream(srv_t *s, req_t *r, int logs)
{
    return stream_of(s, r, logs, NULL);
}

enum MHD_Result srv_events(srv_t *s, req_t *r)
{
    return stream(s, r, 0);
}

enum MHD_Result srv_table_subscribe(srv_t *s, req_t *r)
{
    return stream_of(s, r, 0, r->params[1]);
}

static void add_line(void *user, const char *context, uint64_t seq, uint64_t time_ms,
                     uint64_t call_id, const char *level, const char *msg, size_t len)
{
    json_array_append_new(user, srv_log_json(seq, time_ms, call_id, level, msg, len));
}

/* GET .../logs: the recorded lines after ?after= (at most ?limit=, 100 by
 * default), or with ?follow=1 a stream of them like the events'. */
enum MHD_Result srv_logs(srv_t *s, req_t *r)
{
    const char *follow = srv_query(r, "follow");
    if (follow && strcmp(follow, "0") != 0)
        return stream(s, r, 1);
    const char *a = srv_query(r, "after"), *l = srv_query(r, "limit");
    char *end;
    uint64_t after = a ? strtoull(a, &end, 10) : 0;
    long limit = l ? strtol(l, NULL, 10) : 100;
    if ((a && *end) || limit <= 0 || limit > 4096) {
        return srv_reply_error(r, 400, "BAD_REQUEST", "after must be a line number and limit 1 to 4096");
    }
    json_t *lines = json_array();
    uint64_t last = 0;
    int rc = weft_node_logs_read(s->node, r->params[0], after, (size_t)limit, add_line, lines,
                                 &last);
    if (rc != 0) {
        json_decref(lines);
        return rc == WEFT_ENOTFOUND
                   ? srv_reply_error(r, 404, "NOT_FOUND", "no context '%s'", r->params[0])
                   : srv_reply_error(r, 500, "INTERNAL", "cannot read the logs");
    }
    return srv_reply_json(r, 200, json_pack("{s:o,s:I}", "logs", lines, "last", (json_int_t)last));
}

void srv_sse_end_all(srv_t *s)
{
    pthread_mutex_lock(&s->mu);
    for (sse_t *e = s->streams; e; e = e->next) {
        pthread_mutex_lock(&e->mu);
        e->ended = 1;
        wake(e);
        pthread_mutex_unlock(&e->mu);
    }
    pthread_mutex_unlock(&s->mu);
}

/* `ts` moved on by ms milliseconds. */
static void add_ms(struct timespec *ts, unsigned ms)
{
    uint64_t ns = (uint64_t)ts->tv_nsec + (uint64_t)ms * 1000000u;
    ts->tv_sec += (time_t)(ns / 1000000000u);
    ts->tv_nsec = (long)(ns % 1000000000u);
}

/* Heartbeats: every heartbeat_ms each stream gets a comment line, which
 * also finds out, by failing to write, the clients that went away while
 * their stream was suspended. A wake-up before the time (stop's) leaves
 * the next heartbeat when it was due: it never moves later. */
void *srv_ticker_main(void *arg)
{
    srv_t *s = arg;
    struct timespec due;
    clock_gettime(CLOCK_REALTIME, &due);
    add_ms(&due, s->heartbeat_ms);
    pthread_mutex_lock(&s->mu);
    while (!atomic_load(&s->closing)) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &due) != ETIMEDOUT)
            continue; /* woken: check closing */
        clock_gettime(CLOCK_REALTIME, &due);
        add_ms(&due, s->heartbeat_ms);
        for (sse_t *e = s->streams; e; e = e->next) {
            pthread_mutex_lock(&e->mu);
            e->heartbeat_due = 1;
            wake(e);
            pthread_mutex_unlock(&e->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}
