/*
 * calls.c — POST (write) and GET (view) /v1/contexts/{name}/call/{function}.
 *
 * The handler runs twice. First it checks the context and the function,
 * turns a JSON array into typed arguments when the export takes numbers,
 * and offers the call to the node to run here (a short view: answered at
 * once, weft_node_call_here); otherwise it suspends the connection and
 * hands the call to the node. The node's
 * callback (a node thread) stores the result and resumes the connection;
 * libmicrohttpd then calls the handler again, which answers. The
 * connection is suspended before the call is queued, so the callback can
 * never resume a connection that is not suspended yet.
 */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server_priv.h"
#include "weft/error.h"
#include "weft/module.h"
#include "weft/store.h"
#include "weft/utf8.h"

const double srv_buckets[SRV_NBUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                          0.01,   0.025,   0.05,   0.1,   0.5,    2.5};

static const weft_functype_t *export_type(const weft_module_t *m, const char *name)
{
    weft_externdesc_t d;
    if (weft_module_export_find(m, name, strlen(name), &d) == 0 && d.kind == WEFT_EXTERN_FUNC)
        return d.functype;
    return NULL;
}

/* Converts one JSON number (or a string of digits, for 64-bit integers
 * beyond 2^53) to a value of type t. Returns 0 or -1. */
static int to_val(json_t *j, weft_valtype_t t, weft_val_t *out)
{
    double d;
    long long ll = 0;
    int is_int = json_is_integer(j);
    if (json_is_string(j)) {
        char *end;
        const char *txt = json_string_value(j);
        if (t == WEFT_I64 || t == WEFT_I32) {
            ll = strtoll(txt, &end, 10);
            if (!*txt || *end)
                return -1;
            is_int = 1;
        } else {
            d = strtod(txt, &end); /* "nan", "inf" */
            if (!*txt || *end)
                return -1;
            goto flt;
        }
    } else if (is_int) {
        ll = json_integer_value(j);
    } else if (!json_is_real(j)) {
        return -1;
    }
    d = is_int ? (double)ll : json_real_value(j);
flt:
    switch (t) {
    case WEFT_I32:
        if (!is_int || ll < INT32_MIN || ll > UINT32_MAX)
            return -1;
        *out = weft_val_i32((int32_t)(uint32_t)ll);
        return 0;
    case WEFT_I64:
        if (!is_int)
            return -1;
        *out = weft_val_i64(ll);
        return 0;
    case WEFT_F32:
        *out = weft_val_f32((float)d);
        return 0;
    case WEFT_F64:
        *out = weft_val_f64(d);
        return 0;
    default:
        return -1;
    }
}

static json_t *from_val(const weft_val_t *v)
{
    char buf[32];
    double d;
    switch (v->type) {
    case WEFT_I32:
        return json_integer(v->of.i32);
    case WEFT_I64:
        if (v->of.i64 > (1ll << 53) || v->of.i64 < -(1ll << 53)) {
            snprintf(buf, sizeof buf, "%lld", (long long)v->of.i64);
            return json_string(buf);
        }
        return json_integer(v->of.i64);
    case WEFT_F32:
        d = weft_val_get_f32(v);
        break;
    case WEFT_F64:
        d = weft_val_get_f64(v);
        break;
    default:
        return json_null();
    }
    if (isnan(d))
        return json_string("nan");
    if (isinf(d))
        return json_string(d > 0 ? "inf" : "-inf");
    return json_real(d);
}

static void count_call(srv_t *s, req_t *r, const weft_call_result_t *res)
{
    weft_call_outcome_t o = weft_call_result_outcome(res);
    atomic_fetch_add(&s->calls[o & 3], 1);
    if (o == WEFT_CALL_TRAP)
        atomic_fetch_add(&s->traps[weft_call_result_trap(res) & 31], 1);
    atomic_fetch_add(&s->fuel, weft_call_result_fuel(res));
    double sec = (double)(srv_now_ns() - r->t0_ns) / 1e9;
    atomic_fetch_add(&s->lat_count, 1);
    atomic_fetch_add(&s->lat_sum_us, (uint64_t)(sec * 1e6));
    for (int i = 0; i < SRV_NBUCKETS; i++)
        if (sec <= srv_buckets[i])
            atomic_fetch_add(&s->lat_bucket[i], 1);
}

static json_t *logs_json(const weft_call_result_t *res)
{
    json_t *logs = json_array();
    for (size_t i = 0, n = weft_call_result_log_count(res); i < n; i++) {
        size_t len;
        const char *m = weft_call_result_log(res, i, &len);
        json_t *line = json_stringn(m, len);
        if (!line) { /* not UTF-8: base64 in an object */
            json_t *o = json_object();
            srv_set_bytes(o, "line", m, len);
            line = o;
        }
        json_array_append_new(logs, line);
    }
    return logs;
}

/* JSON's escape of byte c inside a string (NULL: as it is), as jansson
 * writes it: '"', '\\' and control characters; UTF-8 stays as it is. */
static const char *json_escape(unsigned char c, char tmp[8])
{
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default:
        if (c >= 0x20)
            return NULL;
        snprintf(tmp, 8, "\\u%04X", c); /* jansson's case */
        return tmp;
    }
}

/* A byte that stands for itself in a JSON string (json_escape's NULL). */
#define PLAIN_BYTE(c) ((c) >= 0x20 && (c) != '"' && (c) != '\\')

/* The 200 answer of a call that returned no values, log lines or events
 * and output that is text (a view's usual answer), written here in one
 * buffer: building jansson objects and dumping them was about a sixth of
 * a view's node CPU (bench/RESULTS.md "(issue 10) session 11: views").
 * The same bytes as the general path below; MHD_NO from a queued reply,
 * or -1 when this one does not apply. */
static int answer_plain(srv_t *s, req_t *r, const weft_call_result_t *res)
{
    size_t len;
    const uint8_t *out = weft_call_result_output(res, &len);
    const weft_val_t *vals;
    if (weft_call_result_values(res, &vals) || weft_call_result_log_count(res) ||
        weft_call_result_event_count(res) || (out && memchr(out, 0, len)) ||
        !weft_utf8_valid(out ? out : (const uint8_t *)"", len))
        return -1;
    char tmp[8];
    size_t esc = 0;
    for (size_t i = 0; i < len; i++) {
        const char *e = PLAIN_BYTE(out[i]) ? NULL : json_escape(out[i], tmp);
        esc += e ? strlen(e) : 1;
    }
    const uint8_t *who = r->signed_call ? r->caller : weft_node_id(s->node);
    char caller[80] = "";
    if (who) {
        char hex[65];
        sodium_bin2hex(hex, sizeof hex, who, 32);
        snprintf(caller, sizeof caller, ",\"caller\":\"%s\"", hex);
    }
    char tail[256];
    int tl = snprintf(tail, sizeof tail,
                      "\",\"logs\":[],\"events\":[],\"call_id\":\"%016llx\"%s,\"fuel\":%llu,"
                      "\"duration_us\":%llu}\n",
                      (unsigned long long)weft_call_result_call_id(res), caller,
                      (unsigned long long)weft_call_result_fuel(res),
                      (unsigned long long)(weft_call_result_duration_ns(res) / 1000));
    static const char head[] = "{\"output\":\"";
    char *body = tl > 0 && (size_t)tl < sizeof tail ? malloc(sizeof head - 1 + esc + (size_t)tl) : NULL;
    if (!body)
        return MHD_NO;
    char *w = body;
    memcpy(w, head, sizeof head - 1);
    w += sizeof head - 1;
    for (size_t i = 0; i < len; i++) {
        const char *e = PLAIN_BYTE(out[i]) ? NULL : json_escape(out[i], tmp);
        if (!e) {
            *w++ = (char)out[i];
            continue;
        }
        size_t el = strlen(e);
        memcpy(w, e, el);
        w += el;
    }
    memcpy(w, tail, (size_t)tl);
    w += tl;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer((size_t)(w - body), body, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        free(body);
    return srv_queue(r, 200, resp, "application/json");
}

/* The second pass: answer with the stored result. */
static enum MHD_Result answer(srv_t *s, req_t *r)
{
    weft_call_result_t *res = r->result;
    if (!res) {
        return r->call_rc == WEFT_ELIMIT
                   ? srv_reply_error(r, 503, "UNAVAILABLE", "the node is shutting down")
                   : srv_reply_error(r, 500, "INTERNAL", "the call could not be run: %s",
                                     weft_strerror(r->call_rc));
    }
    count_call(s, r, res);
    weft_call_outcome_t o = weft_call_result_outcome(res);
    if (o != WEFT_CALL_OK) {
        const char *code = o == WEFT_CALL_TRAP ? "TRAP" : o == WEFT_CALL_EXIT ? "EXIT"
                                                                             : "CALL_FAILED";
        json_t *err = json_object();
        json_object_set_new(err, "code", json_string(code));
        srv_set_bytes(err, "message", weft_call_result_message(res),
                      strlen(weft_call_result_message(res)));
        if (o == WEFT_CALL_TRAP) {
            json_object_set_new(err, "trap",
                                json_string(weft_trap_name(weft_call_result_trap(res))));
            /* innermost first: {"func": index in the module, "name": from
             * its name section, or null} */
            json_t *bt = json_array();
            for (size_t i = 0; i < weft_call_result_backtrace_count(res); i++) {
                const char *name = NULL;
                uint32_t func = weft_call_result_frame(res, i, &name);
                json_t *f = json_pack("{s:I}", "func", (json_int_t)func);
                json_object_set_new(f, "name", name ? json_string(name) : json_null());
                json_array_append_new(bt, f);
            }
            json_object_set_new(err, "backtrace", bt);
        }
        if (o == WEFT_CALL_EXIT)
            json_object_set_new(err, "status", json_integer(weft_call_result_exit_status(res)));
        json_object_set_new(err, "rolled_back", json_boolean(weft_call_result_rolled_back(res)));
        char call_id[17];
        snprintf(call_id, sizeof call_id, "%016llx",
                 (unsigned long long)weft_call_result_call_id(res));
        json_object_set_new(err, "call_id", json_string(call_id));
        json_object_set_new(err, "logs", logs_json(res));
        size_t len;
        const uint8_t *out = weft_call_result_output(res, &len);
        srv_set_bytes(err, "output", out, len);
        return srv_reply_json(r, 422, json_pack("{s:o}", "error", err));
    }
    size_t len;
    const uint8_t *out = weft_call_result_output(res, &len);
    char fuel[24], dur[24], nev[24];
    snprintf(fuel, sizeof fuel, "%llu", (unsigned long long)weft_call_result_fuel(res));
    snprintf(dur, sizeof dur, "%llu",
             (unsigned long long)(weft_call_result_duration_ns(res) / 1000));
    snprintf(nev, sizeof nev, "%zu", weft_call_result_event_count(res));
    const char *accept = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept");
    if (accept && strstr(accept, "application/octet-stream")) {
        void *copy = malloc(len ? len : 1);
        if (!copy)
            return MHD_NO;
        memcpy(copy, out, len);
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(len, copy, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(copy);
            return MHD_NO;
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
        MHD_add_response_header(resp, "Weft-Fuel", fuel);
        MHD_add_response_header(resp, "Weft-Duration-Us", dur);
        MHD_add_response_header(resp, "Weft-Events", nev);
        return srv_queue(r, 200, resp, NULL);
    }
    int plain = answer_plain(s, r, res);
    if (plain >= 0)
        return (enum MHD_Result)plain;
    json_t *body = json_object();
    srv_set_bytes(body, "output", out, len);
    const weft_val_t *vals;
    size_t nv = weft_call_result_values(res, &vals);
    if (nv) {
        json_t *a = json_array();
        for (size_t i = 0; i < nv; i++)
            json_array_append_new(a, from_val(&vals[i]));
        json_object_set_new(body, "values", a);
    }
    json_object_set_new(body, "logs", logs_json(res));
    json_t *evs = json_array();
    for (size_t i = 0, n = weft_call_result_event_count(res); i < n; i++) {
        const char *name;
        const uint8_t *p;
        size_t nl, pl;
        uint64_t seq;
        if (weft_call_result_event(res, i, &name, &nl, &p, &pl, &seq) != 0)
            continue;
        json_t *e = json_object();
        json_object_set_new(e, "seq", json_integer((json_int_t)seq));
        srv_set_bytes(e, "name", name, nl);
        srv_set_bytes(e, "payload", p, pl);
        json_array_append_new(evs, e);
    }
    json_object_set_new(body, "events", evs);
    char call_id[17];
    snprintf(call_id, sizeof call_id, "%016llx", (unsigned long long)weft_call_result_call_id(res));
    json_object_set_new(body, "call_id", json_string(call_id));
    const uint8_t *who = r->signed_call ? r->caller : weft_node_id(s->node);
    if (who) {
        char hex[65];
        sodium_bin2hex(hex, sizeof hex, who, 32);
        json_object_set_new(body, "caller", json_string(hex));
    }
    json_object_set_new(body, "fuel", json_integer((json_int_t)weft_call_result_fuel(res)));
    json_object_set_new(body, "duration_us",
                        json_integer((json_int_t)(weft_call_result_duration_ns(res) / 1000)));
    return srv_reply_json(r, 200, body);
}

static void on_done(void *user, weft_call_result_t *res)
{
    req_t *r = user;
    r->result = res;
    MHD_resume_connection(r->conn);
}

/* Typed arguments from a JSON array body, when the export takes numbers.
 * Returns the count (>= 0, with *out allocated when > 0), -1 when the body
 * is no JSON array (it is then the input), or -2 with a reply queued. */
static int json_args(srv_t *s, req_t *r, const weft_functype_t *ft, weft_val_t **out,
                     enum MHD_Result *reply)
{
    size_t np = weft_functype_nparams(ft);
    const char *type = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_TYPE);
    /* A view takes them in ?args=, a write as a JSON body. */
    const char *text = (const char *)r->body;
    size_t len = r->body_len;
    *out = NULL;
    if (strcmp(r->method, "GET") == 0) {
        if (np == 0 || !(text = srv_query(r, "args")))
            return -1;
        len = strlen(text);
    } else if (np == 0 || !type || strncmp(type, "application/json", 16) != 0) {
        return -1;
    }
    json_error_t je;
    json_t *a = json_loadb(text ? text : "", len, 0, &je);
    if (!a) {
        *reply = srv_reply_error(r, 400, "BAD_REQUEST", "malformed JSON at line %d, column %d: %s",
                                 je.line, je.column, je.text);
        return -2;
    }
    if (!json_is_array(a) || json_array_size(a) != np) {
        json_decref(a);
        *reply = srv_reply_error(r, 400, "BAD_REQUEST",
                                 "'%s' takes %zu numeric argument%s: send a JSON array of them",
                                 r->params[1], np, np == 1 ? "" : "s");
        return -2;
    }
    weft_val_t *v = calloc(np, sizeof *v);
    for (size_t i = 0; v && i < np; i++) {
        if (to_val(json_array_get(a, i), weft_functype_param(ft, i), &v[i]) != 0) {
            free(v);
            json_decref(a);
            *reply = srv_reply_error(r, 400, "BAD_REQUEST", "argument %zu is not a valid %s",
                                     i + 1, weft_valtype_name(weft_functype_param(ft, i)));
            return -2;
        }
    }
    json_decref(a);
    if (!v)
        return -2;
    *out = v;
    return (int)np;
}

/* A call's WASI arguments: its `arg` query parameters, in order
 * (docs/http.md). A signature covers them as sent, so `signed_path` is the
 * path followed by "?arg=V1&arg=V2..." with each value still escaped. */
#define MAX_CALL_ARGS 256

typedef struct {
    req_t *r;
    const char **argv; /* decoded values, alive as long as the request */
    size_t n, cap;
    char *signed_path;
    size_t path_len, path_cap;
    const char *bad; /* why the arguments were refused */
} call_args_t;

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    call_args_t *a = cls;
    (void)kind;
    if (strcmp(key, "arg") != 0)
        return MHD_YES;
    const char *raw = value ? value : "";
    const char *v = srv_query_decode(a->r, raw);
    if (a->n == MAX_CALL_ARGS || !v) {
        a->bad = v ? "at most 256 arg parameters"
                   : "an arg parameter has a bad escape or a zero byte";
        return MHD_NO;
    }
    size_t need = a->path_len + strlen(raw) + 6;
    if (a->n == a->cap || need > a->path_cap) {
        size_t cap = a->cap ? 2 * a->cap : 8, pcap = 2 * need;
        const char **nv = realloc(a->argv, cap * sizeof *nv);
        if (nv)
            a->argv = nv, a->cap = cap;
        char *np = nv ? realloc(a->signed_path, pcap) : NULL;
        if (!np) {
            a->bad = "out of memory";
            return MHD_NO;
        }
        a->signed_path = np, a->path_cap = pcap;
    }
    a->path_len += (size_t)snprintf(a->signed_path + a->path_len, a->path_cap - a->path_len,
                                    "%carg=%s", a->n ? '&' : '?', raw);
    a->argv[a->n++] = v;
    return MHD_YES;
}

/* Fills a from the query. Returns 0, or -1 with a->bad set. */
static int call_args(req_t *r, call_args_t *a)
{
    memset(a, 0, sizeof *a);
    a->r = r;
    a->path_len = strlen(r->path);
    a->path_cap = a->path_len + 1;
    if (!(a->signed_path = strdup(r->path))) {
        a->bad = "out of memory";
        return -1;
    }
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, each_arg, a);
    return a->bad ? -1 : 0;
}

static void call_args_fini(call_args_t *a)
{
    free(a->argv);
    free(a->signed_path);
}

enum MHD_Result srv_call(srv_t *s, req_t *r)
{
    if (r->started > 1)
        return answer(s, r);
    const char *ctx = r->params[0], *fn = r->params[1];
    weft_context_info_t ci;
    if (weft_node_context_get(s->node, ctx, &ci) != 0) {
        return srv_reply_error(r, 404, "NOT_FOUND", "no context '%s'", ctx);
    }
    const weft_module_t *m = NULL;
    const struct weft_component *comp = NULL;
    if (weft_node_app_module(s->node, ci.app, &m) != 0 &&
        weft_node_app_component(s->node, ci.app, &comp) != 0) {
        return srv_reply_error(r, 500, "INTERNAL", "the app of context '%s' cannot be loaded",
                               ctx);
    }
    /* a component's function ("f", "iface#f") is found by its call, which
     * takes the body (docs/components.md) */
    const weft_functype_t *ft = m ? export_type(m, fn) : NULL;
    if (!ft && !comp) {
        return srv_reply_error(r, 404, "NOT_FOUND", "the app of context '%s' exports no function '%s'",
                               ctx, fn);
    }
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = ctx;
    req.function = fn;
    req.view = strcmp(r->method, "GET") == 0;
    call_args_t wargs;
    if (call_args(r, &wargs) != 0) {
        call_args_fini(&wargs);
        return srv_reply_error(r, 400, "BAD_REQUEST", "%s", wargs.bad);
    }
    req.argv = wargs.argv;
    req.argc = wargs.n;
    weft_val_t *args = NULL;
    enum MHD_Result reply = MHD_NO;
    /* a Cosmictron reducer takes BSATN bytes, or JSON arguments the node
     * converts with its declared types (docs/cosmictron.md) */
    const char *ctype = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_CONTENT_TYPE);
    /* (the ABI is looked up only when the call brings JSON: it costs a
     * walk of the module's imports) */
    int json_in = req.view ? MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
                                                         "args") != NULL
                           : ctype && strncmp(ctype, "application/json", 16) == 0;
    int cosm = m && json_in && strcmp(weft_node_abi(m), "cosmictron") == 0;
    req.input_json = cosm && !req.view && json_in;
    int n = cosm || comp ? -1 : json_args(s, r, ft, &args, &reply);
    if (n == -2) {
        call_args_fini(&wargs);
        return reply;
    }
    if (n >= 0) {
        req.args = args;
        req.nargs = (size_t)n;
    } else if (req.view) {
        const char *in = srv_query(r, "input");
        req.input = (const uint8_t *)(in ? in : "");
        req.input_len = in ? strlen(in) : 0;
    } else {
        req.input = r->body;
        req.input_len = r->body_len;
    }
    char why[256];
    /* A signature covers the body of a POST (input bytes or JSON arguments)
     * and the input, or the arguments, of a GET view; the path it signs
     * ends with the arg parameters. */
    const char *view_text = req.view ? srv_query(r, n >= 0 ? "args" : "input") : NULL;
    const uint8_t *signed_in = req.view ? (const uint8_t *)view_text : r->body;
    size_t signed_len = req.view ? (view_text ? strlen(view_text) : 0) : r->body_len;
    if (srv_check_signature(s, r, wargs.signed_path,
                            signed_in ? signed_in : (const uint8_t *)"", signed_len, why,
                            sizeof why) != 0) {
        free(args);
        call_args_fini(&wargs);
        return srv_reply_error(r, 401, "BAD_SIGNATURE", "%s", why);
    }
    if (r->signed_call)
        req.caller = r->caller;
    /* A short view runs here, on this HTTP thread: no suspend, no hop to a
     * worker and back (docs/node.md "Views on the caller's thread"). */
    weft_call_result_t *here = NULL;
    int hrc = weft_node_call_here(s->node, &req, &here);
    if (hrc != 1) {
        free(args);
        call_args_fini(&wargs);
        r->result = here;
        r->call_rc = hrc;
        return answer(s, r);
    }
    /* Counted under mu, and not once stop began (it sets closing, then
     * waits under mu for the count to fall to 0 before it stops the daemon):
     * a call suspended after that wait would be resumed on a connection the
     * daemon freed. The view tried here above widened that window by its
     * run. */
    pthread_mutex_lock(&s->mu);
    int closing = atomic_load(&s->closing);
    if (!closing)
        s->inflight++;
    pthread_mutex_unlock(&s->mu);
    if (closing) {
        free(args);
        call_args_fini(&wargs);
        return srv_reply_error(r, 503, "UNAVAILABLE", "the node is shutting down");
    }
    r->counted = 1;
    MHD_suspend_connection(r->conn);
    int rc = weft_node_call_async(s->node, &req, on_done, r);
    free(args);
    call_args_fini(&wargs); /* the node copied argv */
    if (rc != 0) {
        r->call_rc = rc;
        MHD_resume_connection(r->conn);
    }
    return MHD_YES;
}
