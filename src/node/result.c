/*
 * result.c — weft_call_result_t: what a call gives back (outcome, output,
 * values, logs, events, fuel, duration). A result is built by the thread
 * running the call and then handed, whole, to whoever receives it; it is
 * never shared.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_priv.h"
#include "weft/error.h"

weft_call_result_t *node_result_new(void)
{
    return calloc(1, sizeof(weft_call_result_t));
}

weft_call_result_t *node_result_fail(weft_call_result_t *res, weft_call_outcome_t outcome,
                                     const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    res->outcome = outcome;
    free(res->message);
    res->message = strdup(buf);
    return res;
}

void node_result_trap(weft_call_result_t *res, weft_store_t *store,
                      const weft_module_t *module)
{
    weft_trap_code_t code = weft_store_trap(store);
    const char *msg = weft_store_trap_message(store);
    if (!msg || !*msg)
        msg = weft_trap_string(code);
    res->trap = code;
    free(res->trap_message);
    res->trap_message = strdup(msg);
    node_result_fail(res, WEFT_CALL_TRAP, "%s: %s", weft_trap_name(code), msg);

    uint32_t funcs[NODE_MAX_FRAMES];
    const struct weft_module *mods[NODE_MAX_FRAMES];
    size_t n = weft_store_trap_backtrace(store, funcs, mods, NODE_MAX_FRAMES);
    if (n > NODE_MAX_FRAMES)
        n = NODE_MAX_FRAMES;
    if (n == 0 || !(res->frames = calloc(n, sizeof *res->frames)))
        return;
    for (size_t i = 0; i < n; i++) {
        const char *name = weft_module_func_name(mods[i] ? mods[i] : module, funcs[i]);
        res->frames[i].func = funcs[i];
        res->frames[i].name = name ? strdup(name) : NULL;
    }
    res->nframes = n;
}

void node_result_reset(weft_call_result_t *res)
{
    free(res->message);
    free(res->trap_message);
    for (size_t i = 0; i < res->nframes; i++)
        free(res->frames[i].name);
    free(res->frames);
    free(res->output);
    free(res->values);
    for (size_t i = 0; i < res->nlogs; i++)
        free(res->logs[i]);
    free(res->logs);
    free(res->log_lens);
    free(res->log_levels);
    for (size_t i = 0; i < res->nevents; i++) {
        free(res->events[i].name);
        free(res->events[i].payload);
    }
    free(res->events);
    for (size_t g = 0; g < res->nnested; g++) {
        struct node_nested_events *n = &res->nested[g];
        for (size_t i = 0; i < n->nevents; i++) {
            free(n->events[i].name);
            free(n->events[i].payload);
        }
        free(n->events);
        free(n->context);
    }
    free(res->nested);
    memset(res, 0, sizeof *res);
}

void weft_call_result_delete(weft_call_result_t *res)
{
    if (!res)
        return;
    node_result_reset(res);
    free(res);
}

/* Copies p[0..len) with a NUL after it. */
static void *dup_bytes(const void *p, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        if (len)
            memcpy(d, p, len);
        d[len] = '\0';
    }
    return d;
}

/* The log arrays have room for the smallest power of two of lines at or
 * above nlogs, so adding a line reallocates them only when nlogs is one: a
 * Faasm call awaiting 20,000 chained calls adds a line per await, and
 * growing three arrays by one line each time copied them again and again
 * (docs/faasm.md "Measurements"). */
static int log_room(weft_call_result_t *res)
{
    size_t n = res->nlogs;
    if (n & (n - 1))
        return 0; /* not a power of two: room is left */
    size_t cap = n ? n * 2 : 1;
    uint8_t *levels = realloc(res->log_levels, cap);
    if (!levels)
        return -1;
    res->log_levels = levels;
    char **logs = realloc(res->logs, cap * sizeof *logs);
    if (!logs)
        return -1;
    res->logs = logs;
    size_t *lens = realloc(res->log_lens, cap * sizeof *lens);
    if (!lens)
        return -1;
    res->log_lens = lens;
    return 0;
}

int node_result_add_log(weft_call_result_t *res, int level, const char *p, size_t len)
{
    size_t n = res->nlogs;
    if (log_room(res) != 0)
        return -1;
    if (!(res->logs[n] = dup_bytes(p, len)))
        return -1;
    res->log_levels[n] = (uint8_t)level;
    res->log_lens[n] = len;
    res->nlogs = n + 1;
    return 0;
}

int node_result_add_event(weft_call_result_t *res, const char *name, size_t name_len,
                          const uint8_t *payload, size_t payload_len)
{
    size_t n = res->nevents;
    struct node_event *ev = realloc(res->events, (n + 1) * sizeof *ev);
    if (!ev)
        return -1;
    res->events = ev;
    memset(&ev[n], 0, sizeof ev[n]);
    ev[n].name = dup_bytes(name, name_len);
    ev[n].payload = dup_bytes(payload, payload_len);
    if (!ev[n].name || !ev[n].payload) {
        free(ev[n].name);
        free(ev[n].payload);
        return -1;
    }
    ev[n].name_len = name_len;
    ev[n].payload_len = payload_len;
    res->nevents = n + 1;
    return 0;
}

int node_result_take_events(weft_call_result_t *to, const char *context,
                            weft_call_result_t *from)
{
    size_t add = from->nnested + (from->nevents ? 1 : 0);
    if (!add)
        return 0;
    char *ctx = from->nevents ? strdup(context) : NULL;
    struct node_nested_events *g = realloc(to->nested, (to->nnested + add) * sizeof *g);
    if (g)
        to->nested = g;
    if (!g || (from->nevents && !ctx)) {
        free(ctx);
        return -1;
    }
    if (from->nnested)
        memcpy(g + to->nnested, from->nested, from->nnested * sizeof *g);
    to->nnested += from->nnested;
    free(from->nested);
    from->nested = NULL;
    from->nnested = 0;
    if (from->nevents) {
        g[to->nnested++] = (struct node_nested_events){ctx, from->events, from->nevents};
        from->events = NULL;
        from->nevents = 0;
    }
    return 0;
}

weft_call_outcome_t weft_call_result_outcome(const weft_call_result_t *res)
{
    return res->outcome;
}

int weft_call_result_trap(const weft_call_result_t *res)
{
    return res->trap;
}

const char *weft_call_result_message(const weft_call_result_t *res)
{
    return res->message ? res->message : "";
}

int weft_call_result_error(const weft_call_result_t *res)
{
    return res->outcome == WEFT_CALL_ERROR || res->outcome == WEFT_CALL_TRAP ? res->error : 0;
}

const char *weft_call_result_trap_message(const weft_call_result_t *res)
{
    return res->outcome == WEFT_CALL_TRAP && res->trap_message ? res->trap_message : "";
}

size_t weft_call_result_backtrace_count(const weft_call_result_t *res)
{
    return res->nframes;
}

uint32_t weft_call_result_frame(const weft_call_result_t *res, size_t i, const char **out_name)
{
    if (i >= res->nframes) {
        *out_name = NULL;
        return 0;
    }
    *out_name = res->frames[i].name;
    return res->frames[i].func;
}

int weft_call_result_exit_status(const weft_call_result_t *res)
{
    return res->exit_status;
}

const uint8_t *weft_call_result_output(const weft_call_result_t *res, size_t *out_len)
{
    *out_len = res->output_len;
    return res->output ? res->output : (const uint8_t *)"";
}

size_t weft_call_result_values(const weft_call_result_t *res, const weft_val_t **out)
{
    *out = res->values;
    return res->nvalues;
}

size_t weft_call_result_log_count(const weft_call_result_t *res)
{
    return res->nlogs;
}

const char *weft_call_result_log(const weft_call_result_t *res, size_t i, size_t *out_len)
{
    if (i >= res->nlogs) {
        *out_len = 0;
        return NULL;
    }
    *out_len = res->log_lens[i];
    return res->logs[i];
}

size_t weft_call_result_logs_dropped(const weft_call_result_t *res)
{
    return res->logs_dropped;
}

const char *weft_call_result_log_level(const weft_call_result_t *res, size_t i)
{
    return i < res->nlogs && res->log_levels[i] == NODE_LOG_STDERR ? "stderr" : "log";
}

uint64_t weft_call_result_call_id(const weft_call_result_t *res)
{
    return res->call_id;
}

size_t weft_call_result_event_count(const weft_call_result_t *res)
{
    return res->nevents;
}

int weft_call_result_event(const weft_call_result_t *res, size_t i, const char **out_name,
                           size_t *out_name_len, const uint8_t **out_payload,
                           size_t *out_payload_len, uint64_t *out_seq)
{
    if (i >= res->nevents)
        return WEFT_ENOTFOUND;
    *out_name = res->events[i].name;
    *out_name_len = res->events[i].name_len;
    *out_payload = res->events[i].payload;
    *out_payload_len = res->events[i].payload_len;
    if (out_seq)
        *out_seq = res->events[i].seq;
    return 0;
}

uint64_t weft_call_result_fuel(const weft_call_result_t *res)
{
    return res->fuel;
}

uint64_t weft_call_result_duration_ns(const weft_call_result_t *res)
{
    return res->duration_ns;
}

int weft_call_result_rolled_back(const weft_call_result_t *res)
{
    return res->rolled_back;
}
