/*
 * src/cli/client_stream.c — the following commands: `weft events CONTEXT`
 * (the node's Server-Sent Events of committed events) and `weft logs
 * CONTEXT [-f]` (the guest log lines the node keeps for the context).
 *
 * A stream is parsed as the SSE format says (fields up to a blank line,
 * comments ignored) and each event printed as one line as soon as it
 * arrives. When a stream ends or breaks, the command reconnects with
 * Last-Event-ID set to the last id it printed, so it neither misses nor
 * repeats an event (the node keeps the newest 65,536 of a context); the
 * same happens after the node's `event: lagged`. Reconnecting waits 0.25 s,
 * doubling up to 4 s, and gives up after 10 attempts in a row that brought
 * nothing (no event, no heartbeat). The very first connection is not
 * retried: a wrong --node fails at once. Ctrl-C ends the command with exit
 * status 0: following until stopped is its normal course.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"

#define MAX_ATTEMPTS 10
#define FIRST_DELAY_MS 250
#define MAX_DELAY_MS 4000

/* One event handed to a printer: id may be "" (none), data is the joined
 * data lines (NUL-terminated). Returns 0. */
typedef void (*print_fn)(client_t *c, const char *id, const char *event, const char *data);

typedef struct {
    client_t *c;
    print_fn print;
    char *line; /* the line being read */
    size_t len, cap;
    char id[32], event[128];
    char *data;
    size_t data_len, data_cap;
    char last_id[32]; /* the last event printed: where to resume */
    uint64_t count, max; /* events printed; max 0: no bound */
    int got_something;    /* an event or a comment came: the stream lives */
    int lagged;
    int failed;
} sse_t;

static int grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    char *q = realloc(*p, c);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* A blank line: the fields read so far make one event. */
static int dispatch(sse_t *s)
{
    int rc = 0;
    if (strcmp(s->event, "lagged") == 0) {
        s->lagged = 1;
    } else if (s->data) {
        s->data[s->data_len] = '\0';
        if (s->id[0])
            memcpy(s->last_id, s->id, sizeof s->id);
        s->print(s->c, s->id, s->event[0] ? s->event : "message", s->data);
        fflush(stdout);
        s->count++;
        if (s->max && s->count >= s->max)
            rc = 1;
    }
    s->got_something = 1;
    s->id[0] = s->event[0] = '\0';
    free(s->data);
    s->data = NULL;
    s->data_len = s->data_cap = 0;
    return rc;
}

static int field(sse_t *s, const char *line, size_t n)
{
    if (n == 0)
        return dispatch(s);
    if (line[0] == ':') { /* a comment: the opening line or a heartbeat */
        s->got_something = 1;
        return 0;
    }
    const char *colon = memchr(line, ':', n);
    size_t name_len = colon ? (size_t)(colon - line) : n;
    const char *val = colon ? colon + 1 : line + n;
    size_t vlen = (size_t)(line + n - val);
    if (vlen && *val == ' ') {
        val++;
        vlen--;
    }
    if (name_len == 2 && memcmp(line, "id", 2) == 0) {
        if (vlen < sizeof s->id) {
            memcpy(s->id, val, vlen);
            s->id[vlen] = '\0';
        }
    } else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
        size_t k = vlen < sizeof s->event - 1 ? vlen : sizeof s->event - 1;
        memcpy(s->event, val, k);
        s->event[k] = '\0';
    } else if (name_len == 4 && memcmp(line, "data", 4) == 0) {
        size_t sep = s->data ? 1 : 0;
        if (grow(&s->data, &s->data_cap, s->data_len + sep + vlen + 1) != 0) {
            s->failed = 1;
            return 1;
        }
        if (sep)
            s->data[s->data_len++] = '\n';
        memcpy(s->data + s->data_len, val, vlen);
        s->data_len += vlen;
    }
    return 0;
}

static int on_data(void *user, const char *p, size_t n)
{
    sse_t *s = user;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '\n') {
            size_t len = s->len;
            if (len && s->line[len - 1] == '\r')
                len--;
            s->len = 0;
            if (field(s, s->line ? s->line : "", len) != 0)
                return 1;
            continue;
        }
        if (grow(&s->line, &s->cap, s->len + 1) != 0) {
            s->failed = 1;
            return 1;
        }
        s->line[s->len++] = ch;
    }
    return 0;
}

/* Follows the stream at path (ctx escaped, for the error of a missing
 * route: what names it) until Ctrl-C, max events, or a lasting failure. */
static int follow(client_t *c, const char *cmd, const char *path, const char *ctx,
                  const char *what, const char *after, uint64_t max, print_fn print)
{
    sse_t s = {.c = c, .print = print, .max = max};
    int rc = CLI_EXIT_ERROR, attempts = 0, connected = 0;
    unsigned delay = FIRST_DELAY_MS;
    if (after)
        snprintf(s.last_id, sizeof s.last_id, "%s", after);
    client_catch_signals();
    for (;;) {
        client_resp_t r;
        client_req_t req = {.method = "GET", .path = path, .accept = "text/event-stream",
                            .last_event_id = s.last_id[0] ? s.last_id : NULL,
                            .on_data = on_data, .user = &s};
        /* A fresh stream: nothing of an event the last one broke off in. */
        s.got_something = s.lagged = 0;
        s.len = 0;
        s.id[0] = s.event[0] = '\0';
        free(s.data);
        s.data = NULL;
        s.data_len = s.data_cap = 0;
        if (client_request(c, &req, &r) != 0) {
            if (s.got_something)
                connected = 1; /* a stream that broke, not a refused connection */
            if (!connected || client_interrupted)
                goto done; /* the first connection is not retried */
        } else {
            long status = r.status;
            if (client_interrupted) { /* Ctrl-C, perhaps before any answer */
                client_resp_fini(&r);
                rc = CLI_EXIT_OK;
                goto done;
            }
            if (status != 200) {
                rc = status == 404 && what ? client_missing_route(c, cmd, ctx, what, &r)
                                           : client_fail(c, cmd, &r);
                client_resp_fini(&r);
                goto done;
            }
            client_resp_fini(&r);
            connected = 1;
            if (s.failed) {
                cli_error("%s: out of memory", cmd);
                goto done;
            }
            if (client_interrupted || (max && s.count >= max)) {
                rc = CLI_EXIT_OK;
                goto done;
            }
        }
        if (s.got_something) {
            attempts = 0;
            delay = FIRST_DELAY_MS;
        }
        if (++attempts > MAX_ATTEMPTS) {
            cli_error("%s: gave up after %d attempts to reconnect", cmd, MAX_ATTEMPTS);
            goto done;
        }
        if (s.lagged)
            cli_error("%s: the node dropped the stream (this reader fell behind); resuming "
                      "after event %s",
                      cmd, s.last_id[0] ? s.last_id : "0");
        else
            cli_error("%s: the stream ended; reconnecting in %.2g s (attempt %d of %d)", cmd,
                      delay / 1000.0, attempts, MAX_ATTEMPTS);
        client_sleep_ms(s.lagged ? 0 : delay);
        if (client_interrupted) {
            rc = CLI_EXIT_OK;
            goto done;
        }
        if (!s.lagged)
            delay = delay * 2 > MAX_DELAY_MS ? MAX_DELAY_MS : delay * 2;
    }
done:
    if (client_interrupted && rc == CLI_EXIT_ERROR && connected)
        rc = CLI_EXIT_OK;
    free(s.line);
    free(s.data);
    return rc;
}

/* ---- events --------------------------------------------------------------------- */

void cli_events_usage(FILE *out)
{
    fprintf(out,
            "usage: weft events [options] CONTEXT\n"
            "\n"
            "Follows the context's committed events, one line each as it comes: its id, its\n"
            "name and its payload (\\n, \\t, \\\\ and \\xNN stand for bytes that would break\n"
            "the line); with --json the event's JSON ({\"seq\", \"name\", \"payload\"}). Starts\n"
            "with the events kept after --after (default: all that are kept), then waits for\n"
            "new ones until Ctrl-C (exit 0). When the connection drops, it reconnects and\n"
            "goes on after the last event printed (giving up after %d failed attempts).\n"
            "\n"
            "options:\n"
            "  --after ID          start after event ID\n"
            "  --count N           stop after N events\n",
            MAX_ATTEMPTS);
    client_print_opts(out);
}

static void print_event(client_t *c, const char *id, const char *event, const char *data)
{
    json_t *doc = json_loads(data, 0, NULL);
    if (client_json(c)) {
        fputs(data, stdout);
        fputc('\n', stdout);
    } else {
        size_t nn = 0, pn = 0;
        int nt = 1, pt = 1;
        uint8_t *name = client_bytes(doc, "name", &nn, &nt);
        uint8_t *payload = client_bytes(doc, "payload", &pn, &pt);
        printf("%s ", id[0] ? id : "-");
        if (name)
            client_print_line_bytes(stdout, name, nn, nt);
        else
            client_print_line_bytes(stdout, (const uint8_t *)event, strlen(event), 1);
        fputc(' ', stdout);
        if (payload)
            client_print_line_bytes(stdout, payload, pn, pt);
        fputc('\n', stdout);
        free(name);
        free(payload);
    }
    json_decref(doc);
}

/* Parses a count or event id: decimal digits only. */
static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 19)
        return -1;
    *out = strtoull(s, &end, 10);
    return 0;
}

int cli_events(int argc, char **argv)
{
    client_opts_t o = {0};
    const char *pos[1], *after = NULL, *count_s = NULL;
    size_t npos;
    client_flag_t flags[] = {{"--after", &after, NULL}, {"--count", &count_s, NULL}};
    int rc = client_parse("events", argc, argv, &o, flags, 2, pos, 1, &npos, cli_events_usage);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    uint64_t n = 0, max = 0;
    const char *why = npos != 1                                        ? "give the context"
                      : after && parse_u64(after, &n) != 0             ? "--after takes an event id"
                      : count_s && (parse_u64(count_s, &max) || !max) ? "--count takes a positive count"
                                                                       : NULL;
    if (why || strlen(pos[0]) == 0 || strlen(pos[0]) > 255) {
        cli_error("events: %s", why ? why : "a context name is 1 to 255 bytes");
        cli_usage_hint("events");
        return CLI_EXIT_USAGE;
    }
    client_t *c = client_new(&o, "events", &rc);
    if (!c)
        return rc;
    char *ctx = client_escape(c, pos[0], strlen(pos[0]));
    char path[1024];
    rc = CLI_EXIT_ERROR;
    if (ctx) {
        snprintf(path, sizeof path, "/v1/contexts/%s/events", ctx);
        rc = follow(c, "events", path, ctx, NULL, after, max, print_event);
    }
    free(ctx);
    client_delete(c);
    return rc;
}

/* ---- logs --------------------------------------------------------------------------- */

void cli_logs_usage(FILE *out)
{
    fprintf(out,
            "usage: weft logs [options] CONTEXT\n"
            "\n"
            "Prints the guest log lines the node keeps for the context (the newest 4,096:\n"
            "nx log calls and what guests wrote to stderr, of every call whatever its\n"
            "outcome), oldest first, one a line: time (UTC), call id, level and the line\n"
            "(\\n, \\t, \\\\ and \\xNN stand for bytes that would break it); with --json each\n"
            "line's JSON ({\"seq\", \"time_ms\", \"call_id\", \"level\", \"msg\"}). -f then\n"
            "follows new lines until Ctrl-C (exit 0), like tail -f, reconnecting as weft\n"
            "events does.\n"
            "\n"
            "options:\n"
            "  -f, --follow        keep printing new lines as they come\n"
            "  --after N           start after line N (its \"seq\")\n");
    client_print_opts(out);
}

static void print_entry(client_t *c, json_t *e)
{
    if (client_json(c)) {
        json_dumpf(e, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
        fputc('\n', stdout);
        return;
    }
    size_t n = 0;
    int text = 1;
    uint8_t *msg = client_bytes(e, "msg", &n, &text);
    json_int_t ms = json_integer_value(json_object_get(e, "time_ms"));
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char when[32] = "-";
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    printf("%s.%03dZ %s %s ", when, (int)(ms % 1000),
           json_string_value(json_object_get(e, "call_id")) ?: "-",
           json_string_value(json_object_get(e, "level")) ?: "-");
    if (msg)
        client_print_line_bytes(stdout, msg, n, text);
    fputc('\n', stdout);
    free(msg);
}

static void print_log_event(client_t *c, const char *id, const char *event, const char *data)
{
    (void)id;
    (void)event;
    json_t *doc = json_loads(data, 0, NULL);
    if (doc)
        print_entry(c, doc);
    json_decref(doc);
}

/* Pages through the kept lines after `after`. */
static int logs_read(client_t *c, const char *ctx, uint64_t after)
{
    static const char what[] = "logs";
    for (;;) {
        char path[1024];
        snprintf(path, sizeof path, "/v1/contexts/%s/logs?limit=4096&after=%llu", ctx,
                 (unsigned long long)after);
        client_req_t req = {.method = "GET", .path = path};
        client_resp_t r;
        if (client_request(c, &req, &r) != 0)
            return CLI_EXIT_ERROR;
        if (client_interrupted) {
            client_resp_fini(&r);
            return CLI_EXIT_OK;
        }
        if (r.status != 200) {
            int rc = r.status == 404 ? client_missing_route(c, "logs", ctx, what, &r)
                                     : client_fail(c, "logs", &r);
            client_resp_fini(&r);
            return rc;
        }
        json_t *lines = json_object_get(r.doc, "logs"), *e;
        size_t i, n = json_array_size(lines);
        json_array_foreach(lines, i, e) {
            print_entry(c, e);
            json_int_t seq = json_integer_value(json_object_get(e, "seq"));
            if (seq > 0 && (uint64_t)seq > after)
                after = (uint64_t)seq;
        }
        client_resp_fini(&r);
        if (n < 4096 || client_interrupted)
            return CLI_EXIT_OK;
    }
}

int cli_logs(int argc, char **argv)
{
    client_opts_t o = {0};
    const char *pos[1], *after_s = NULL;
    int f = 0, follow_flag = 0;
    size_t npos;
    client_flag_t flags[] = {{"-f", NULL, &f}, {"--follow", NULL, &follow_flag},
                             {"--after", &after_s, NULL}};
    int rc = client_parse("logs", argc, argv, &o, flags, 3, pos, 1, &npos, cli_logs_usage);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    uint64_t after = 0;
    const char *why = npos != 1 || strlen(pos[0]) == 0 || strlen(pos[0]) > 255
                          ? "give the context (a name of 1 to 255 bytes)"
                      : after_s && parse_u64(after_s, &after) != 0 ? "--after takes a line number"
                                                                   : NULL;
    if (why) {
        cli_error("logs: %s", why);
        cli_usage_hint("logs");
        return CLI_EXIT_USAGE;
    }
    client_t *c = client_new(&o, "logs", &rc);
    if (!c)
        return rc;
    char *ctx = client_escape(c, pos[0], strlen(pos[0]));
    char path[1024];
    rc = CLI_EXIT_ERROR;
    if (ctx && (f || follow_flag)) {
        snprintf(path, sizeof path, "/v1/contexts/%s/logs?follow=1", ctx);
        rc = follow(c, "logs", path, ctx, "logs", after_s, 0,
                    print_log_event);
    } else if (ctx) {
        client_catch_signals();
        rc = logs_read(c, ctx, after);
    }
    free(ctx);
    client_delete(c);
    return rc;
}
