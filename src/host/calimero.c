/*
 * calimero.c — the Calimero guest ABI (weft/calimero.h): the context, the
 * per-call state (registers, return value, commit, logs, events), guest
 * memory access, and every function but storage (calimero_storage.c) and
 * the js_* collections (calimero_js.c): panics, registers, context and
 * executor ids, input and value_return, logs and events, random_bytes,
 * time_now, ed25519_verify and fetch (through the embedder's hook:
 * weft/http_out.h, docs/http-client.md) (the context functions are in
 * calimero_context.c, governance in calimero_gov.c, the blob functions in
 * calimero_blobs.c), and xcall, queued for the embedder. A function of the
 * table without a callback would trap with "not supported yet": none is
 * left.
 *
 * Invariants: every pointer and length is a u64, checked before use
 * (cal_mem, cal_buffer: a range past the guest's memory traps with
 * InvalidMemoryAccess); a limit is checked before the data range, as the
 * real system does; every host error traps through cal_fail with the
 * document's error name; fuel is charged for host work as nx does. The
 * document's choices left open are in docs/calimero.md.
 */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calimero_priv.h"
#include "hostsig.h"

/* ---- errors and guest memory --------------------------------------------- */

int cal_fail(weft_calimero_t *cal, weft_caller_t *caller, const char *fn, const char *name,
             const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (cal && !cal->error_name) cal->error_name = name;
    return weft_caller_trap(caller, "calimero.%s: %s: %s", fn, name, detail);
}

uint8_t *cal_mem(weft_calimero_t *cal, weft_caller_t *caller, const char *fn, uint64_t ptr,
                 uint64_t len, int *rc)
{
    static uint8_t empty;
    weft_memory_t *mem = weft_caller_memory(caller, "memory");
    if (!mem) mem = weft_caller_memory(caller, NULL);
    size_t size = mem ? weft_memory_size(mem) : 0;
    if (mem && ptr <= size && len <= size - ptr)
        return len ? weft_memory_ptr(mem, ptr, (size_t)len) : &empty;
    *rc = cal_fail(cal, caller, fn, "InvalidMemoryAccess",
                   "guest range [%llu, +%llu) is outside linear memory%s",
                   (unsigned long long)ptr, (unsigned long long)len,
                   mem ? "" : " (the module has no memory)");
    return NULL;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A descriptor at desc: its data range, limit first, then memory. */
static uint8_t *buffer_at(weft_calimero_t *cal, weft_caller_t *caller, const char *fn,
                          const uint8_t *d, uint64_t limit, const char *limit_name,
                          uint64_t *out_len, int *rc)
{
    uint64_t ptr = get_u64(d), len = get_u64(d + 8);
    if (limit != UINT64_MAX && len > limit) {
        *rc = cal_fail(cal, caller, fn, limit_name, "length %llu is over the limit %llu",
                       (unsigned long long)len, (unsigned long long)limit);
        return NULL;
    }
    uint8_t *p = cal_mem(cal, caller, fn, ptr, len, rc);
    if (p) *out_len = len;
    return p;
}

uint8_t *cal_buffer(weft_calimero_t *cal, weft_caller_t *caller, const char *fn, uint64_t desc,
                    uint64_t limit, const char *limit_name, uint64_t *out_len, int *rc)
{
    const uint8_t *d = cal_mem(cal, caller, fn, desc, 16, rc);
    if (!d) return NULL;
    return buffer_at(cal, caller, fn, d, limit, limit_name, out_len, rc);
}

int cal_need_txn(weft_calimero_t *cal, weft_caller_t *caller, const char *fn, int write, int *rc)
{
    if (!cal->txn) {
        *rc = weft_caller_trap(caller, "calimero.%s: called outside a call (no transaction)", fn);
        return -1;
    }
    if (write && cal->view) {
        *rc = weft_caller_trap(caller, "calimero.%s: a view cannot write (it runs on a "
                                       "read-only snapshot; call the function as a write)", fn);
        return -1;
    }
    return 0;
}

int cal_store_error(weft_calimero_t *cal, weft_caller_t *caller, const char *fn, int rc)
{
    if (cal->call_error == 0) cal->call_error = rc;
    if (weft_db_retryable(rc))
        return weft_caller_trap(caller, "calimero.%s: database map full; the call must be "
                                        "retried", fn);
    return weft_caller_trap(caller, "calimero.%s: storage error: %s", fn, weft_strerror(rc));
}

uint64_t cal_wall_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- registers ------------------------------------------------------------ */

static cal_reg_t *reg_find(weft_calimero_t *cal, uint64_t id)
{
    for (size_t i = 0; i < cal->nregs; i++)
        if (cal->regs[i].id == id) return &cal->regs[i];
    return NULL;
}

int cal_reg_set(weft_calimero_t *cal, weft_caller_t *caller, const char *fn, uint64_t id,
                const void *data, size_t len, int *rc)
{
    cal_reg_t *r = reg_find(cal, id);
    uint64_t old = r ? r->len : 0;
    const char *why = NULL;
    if (len > cal->lim.max_register_size)
        why = "max_register_size";
    else if (!r && cal->nregs >= cal->lim.max_registers)
        why = "max_registers";
    else if (cal->regs_bytes - old + len > cal->lim.max_registers_capacity)
        why = "max_registers_capacity";
    if (why) {
        *rc = cal_fail(cal, caller, fn, "InvalidMemoryAccess",
                       "register %llu of %zu bytes is over the register limit %s",
                       (unsigned long long)id, len, why);
        return -1;
    }
    if ((*rc = cal_charge(caller, CAL_FUEL(len)))) return -1;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        *rc = weft_caller_trap(caller, "calimero.%s: out of host memory for a register", fn);
        return -1;
    }
    if (len) memcpy(copy, data, len);
    if (!r) {
        cal_reg_t *regs = realloc(cal->regs, (cal->nregs + 1) * sizeof *regs);
        if (!regs) {
            free(copy);
            *rc = weft_caller_trap(caller, "calimero.%s: out of host memory for a register", fn);
            return -1;
        }
        cal->regs = regs;
        r = &cal->regs[cal->nregs++];
        r->id = id;
        r->data = NULL;
    }
    free(r->data);
    r->data = copy;
    r->len = len;
    cal->regs_bytes = cal->regs_bytes - old + len;
    return 0;
}

static int fn_register_len(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_calimero_t *cal = user;
    int rc = cal_charge(caller, CAL_FUEL_CALL);
    if (rc) return rc;
    cal_reg_t *r = reg_find(cal, CAL_ARG(0));
    CAL_RETURN64(r ? (uint64_t)r->len : UINT64_MAX);
}

static int fn_read_register(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "read_register";
    weft_calimero_t *cal = user;
    uint64_t id = CAL_ARG(0), len;
    int rc;
    cal_reg_t *r = reg_find(cal, id);
    if (!r) return cal_fail(cal, caller, fn, "InvalidRegisterId", "no register %llu",
                            (unsigned long long)id);
    uint8_t *dst = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &len, &rc);
    if (!dst) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + (len == r->len ? CAL_FUEL(len) : 0)))) return rc;
    if (len != r->len) CAL_RETURN32(0);
    if (len) memcpy(dst, r->data, len);
    CAL_RETURN32(1);
}

/* ---- system ----------------------------------------------------------------- */

/* A panic's text is cut here in the trap message (docs/calimero.md). */
#define PANIC_TEXT_MAX 4096u

/* Reads a sys::Location (file Buffer, u32 line, u32 column: 24 bytes). */
static int location(weft_calimero_t *cal, weft_caller_t *caller, const char *fn, uint64_t ptr,
                    const uint8_t **file, uint64_t *file_len, uint32_t *line, uint32_t *col,
                    int *rc)
{
    const uint8_t *l = cal_mem(cal, caller, fn, ptr, 24, rc);
    if (!l) return -1;
    *line = get_u32(l + 16);
    *col = get_u32(l + 20);
    if (!(*file = buffer_at(cal, caller, fn, l, UINT64_MAX, NULL, file_len, rc))) return -1;
    if (!weft_utf8_valid(*file, *file_len)) {
        *rc = cal_fail(cal, caller, fn, "BadUTF8", "the panic location's file is not UTF-8");
        return -1;
    }
    return 0;
}

/* Not charged, like nx's abort: it ends the call anyway. */
static int fn_panic(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_calimero_t *cal = user;
    const uint8_t *file;
    uint64_t fl;
    uint32_t line, col;
    int rc;
    if (location(cal, caller, "panic", CAL_ARG(0), &file, &fl, &line, &col, &rc)) return rc;
    if (fl > PANIC_TEXT_MAX) fl = PANIC_TEXT_MAX;
    return cal_fail(cal, caller, "panic", "Panic", "guest panicked: explicit panic at %.*s:%u:%u",
                    (int)fl, (const char *)file, line, col);
}

static int fn_panic_utf8(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "panic_utf8";
    weft_calimero_t *cal = user;
    const uint8_t *file, *msg;
    uint64_t fl, ml;
    uint32_t line, col;
    int rc;
    if (!(msg = cal_buffer(cal, caller, fn, CAL_ARG(0), UINT64_MAX, NULL, &ml, &rc))) return rc;
    if (!weft_utf8_valid(msg, ml)) return cal_fail(cal, caller, fn, "BadUTF8", "the message is not UTF-8");
    if (location(cal, caller, fn, CAL_ARG(1), &file, &fl, &line, &col, &rc)) return rc;
    if (fl > PANIC_TEXT_MAX) fl = PANIC_TEXT_MAX;
    if (ml > PANIC_TEXT_MAX) ml = PANIC_TEXT_MAX;
    return cal_fail(cal, caller, fn, "Panic", "guest panicked: %.*s at %.*s:%u:%u", (int)ml,
                    (const char *)msg, (int)fl, (const char *)file, line, col);
}

/* ---- context, identity, input and output ------------------------------------ */

static int fn_context_id(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_calimero_t *cal = user;
    int rc = cal_charge(caller, CAL_FUEL_CALL);
    if (rc || cal_reg_set(cal, caller, "context_id", CAL_ARG(0), cal->context_id,
                          WEFT_CALIMERO_ID_LEN, &rc))
        return rc;
    return 0;
}

static int fn_executor_id(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_calimero_t *cal = user;
    int rc = cal_charge(caller, CAL_FUEL_CALL);
    if (rc || cal_reg_set(cal, caller, "executor_id", CAL_ARG(0), cal->executor,
                          WEFT_CALIMERO_ID_LEN, &rc))
        return rc;
    return 0;
}

static int fn_input(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_calimero_t *cal = user;
    int rc = cal_charge(caller, CAL_FUEL_CALL);
    if (rc || cal_reg_set(cal, caller, "input", CAL_ARG(0), cal->input, cal->input_len, &rc))
        return rc;
    return 0;
}

/* sys::ValueReturn: #[repr(C, u64)] enum, a u64 tag (0 Ok, 1 Err) then
 * the Buffer: 24 bytes. A later value_return replaces an earlier one. */
static int fn_value_return(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "value_return";
    weft_calimero_t *cal = user;
    int rc;
    const uint8_t *v = cal_mem(cal, caller, fn, CAL_ARG(0), 24, &rc);
    if (!v) return rc;
    uint64_t tag = get_u64(v), len;
    if (tag > 1)
        return cal_fail(cal, caller, fn, "DeserializationError",
                        "ValueReturn tag %llu is neither Ok (0) nor Err (1)",
                        (unsigned long long)tag);
    const uint8_t *data = buffer_at(cal, caller, fn, v + 8, cal->lim.max_register_size,
                                    "ReturnValueSizeOverflow", &len, &rc);
    if (!data) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(len)))) return rc;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
    if (len) memcpy(copy, data, len);
    free(cal->ret);
    cal->ret = copy;
    cal->ret_len = len;
    cal->ret_kind = tag == 0 ? WEFT_CALIMERO_OK : WEFT_CALIMERO_ERR;
    return 0;
}

/* ---- logs and events ------------------------------------------------------------ */

static int add_log(weft_calimero_t *cal, weft_caller_t *caller, const char *fn,
                   const uint8_t *msg, size_t len)
{
    if (cal->nlogs == cal->logs_cap) {
        size_t cap = cal->logs_cap ? cal->logs_cap * 2 : 8;
        cal_log_t *l = realloc(cal->logs, cap * sizeof *l);
        if (!l) return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
        cal->logs = l;
        cal->logs_cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
    if (len) memcpy(copy, msg, len);
    copy[len] = '\0';
    cal->logs[cal->nlogs].msg = copy;
    cal->logs[cal->nlogs].len = len;
    cal->nlogs++;
    return 0;
}

static int log_checks(weft_calimero_t *cal, weft_caller_t *caller, const char *fn)
{
    if (cal->nlogs >= cal->lim.max_logs)
        return cal_fail(cal, caller, fn, "LogsOverflow", "more than max_logs (%llu) messages",
                        (unsigned long long)cal->lim.max_logs);
    return 0;
}

static int fn_log_utf8(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "log_utf8";
    weft_calimero_t *cal = user;
    uint64_t len;
    int rc;
    if ((rc = log_checks(cal, caller, fn))) return rc;
    const uint8_t *msg = cal_buffer(cal, caller, fn, CAL_ARG(0), cal->lim.max_log_size,
                                    "LogLengthOverflow", &len, &rc);
    if (!msg) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(len)))) return rc;
    if (!weft_utf8_valid(msg, len)) return cal_fail(cal, caller, fn, "BadUTF8", "the message is not UTF-8");
    return add_log(cal, caller, fn, msg, len);
}

/* QuickJS's debug print: a raw (pointer, length), not a descriptor;
 * ctx_ptr (the JS context) is not looked at. Counts as a log. Returns 0. */
static int fn_js_std_d_print(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "js_std_d_print";
    weft_calimero_t *cal = user;
    uint64_t len = CAL_ARG(2);
    int rc;
    if ((rc = log_checks(cal, caller, fn))) return rc;
    if (len > cal->lim.max_log_size)
        return cal_fail(cal, caller, fn, "LogLengthOverflow", "length %llu is over the limit %llu",
                        (unsigned long long)len, (unsigned long long)cal->lim.max_log_size);
    const uint8_t *msg = cal_mem(cal, caller, fn, CAL_ARG(1), len, &rc);
    if (!msg) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(len)))) return rc;
    if (!weft_utf8_valid(msg, len)) return cal_fail(cal, caller, fn, "BadUTF8", "the message is not UTF-8");
    if ((rc = add_log(cal, caller, fn, msg, len))) return rc;
    CAL_RETURN32(0);
}

/* sys::Event: kind Buffer, data Buffer (32 bytes). The kind must be UTF-8;
 * so must a handler name, bounded like the kind. */
static int emit(weft_calimero_t *cal, weft_caller_t *caller, weft_raw_t *args, const char *fn,
                int with_handler)
{
    uint64_t kl, dl, hl = 0;
    const uint8_t *handler = NULL;
    int rc;
    if (cal->nevents >= cal->lim.max_events)
        return cal_fail(cal, caller, fn, "EventsOverflow", "more than max_events (%llu) events",
                        (unsigned long long)cal->lim.max_events);
    const uint8_t *ev = cal_mem(cal, caller, fn, CAL_ARG(0), 32, &rc);
    if (!ev) return rc;
    const uint8_t *kind = buffer_at(cal, caller, fn, ev, cal->lim.max_event_kind_size,
                                    "EventKindSizeOverflow", &kl, &rc);
    if (!kind) return rc;
    const uint8_t *data = buffer_at(cal, caller, fn, ev + 16, cal->lim.max_event_data_size,
                                    "EventDataSizeOverflow", &dl, &rc);
    if (!data) return rc;
    if (with_handler && CAL_ARG(1) != 0) {
        handler = cal_buffer(cal, caller, fn, CAL_ARG(1), cal->lim.max_event_kind_size,
                             "EventHandlerSizeOverflow", &hl, &rc);
        if (!handler) return rc;
        if (hl == 0) handler = NULL;
    }
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(kl) + CAL_FUEL(dl) + CAL_FUEL(hl))))
        return rc;
    if (!weft_utf8_valid(kind, kl)) return cal_fail(cal, caller, fn, "BadUTF8", "the event kind is not UTF-8");
    if (handler && !weft_utf8_valid(handler, hl))
        return cal_fail(cal, caller, fn, "BadUTF8", "the handler name is not UTF-8");
    if (cal->nevents == cal->events_cap) {
        size_t cap = cal->events_cap ? cal->events_cap * 2 : 8;
        cal_event_t *e = realloc(cal->events, cap * sizeof *e);
        if (!e) return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
        cal->events = e;
        cal->events_cap = cap;
    }
    cal_event_t *e = &cal->events[cal->nevents];
    memset(e, 0, sizeof *e);
    e->kind = malloc(kl + 1);
    e->data = malloc(dl ? dl : 1);
    e->handler = handler ? malloc(hl + 1) : NULL;
    if (!e->kind || !e->data || (handler && !e->handler)) {
        free(e->kind);
        free(e->data);
        free(e->handler);
        return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
    }
    memcpy(e->kind, kind, kl);
    e->kind[kl] = '\0';
    e->kind_len = kl;
    if (dl) memcpy(e->data, data, dl);
    e->data_len = dl;
    if (handler) {
        memcpy(e->handler, handler, hl);
        e->handler[hl] = '\0';
        e->handler_len = hl;
    }
    cal->nevents++;
    return 0;
}

static int fn_emit(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return emit(user, caller, args, "emit", 0);
}

static int fn_emit_with_handler(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return emit(user, caller, args, "emit_with_handler", 1);
}

/* sys::XCall: context_id Buffer (32 bytes, else InvalidMemoryAccess),
 * function Buffer (UTF-8), params Buffer: 48 bytes. Queued for the
 * embedder, which runs it after the call commits. */
static int fn_xcall(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "xcall";
    weft_calimero_t *cal = user;
    uint64_t il, fl, pl;
    int rc;
    if (cal->nxcalls >= cal->lim.max_xcalls)
        return cal_fail(cal, caller, fn, "XCallsOverflow", "more than max_xcalls (%llu) xcalls",
                        (unsigned long long)cal->lim.max_xcalls);
    const uint8_t *x = cal_mem(cal, caller, fn, CAL_ARG(0), 48, &rc);
    if (!x) return rc;
    const uint8_t *id = buffer_at(cal, caller, fn, x, UINT64_MAX, NULL, &il, &rc);
    if (!id) return rc;
    const uint8_t *f = buffer_at(cal, caller, fn, x + 16, cal->lim.max_xcall_function_size,
                                 "XCallFunctionSizeOverflow", &fl, &rc);
    if (!f) return rc;
    const uint8_t *p = buffer_at(cal, caller, fn, x + 32, cal->lim.max_xcall_params_size,
                                 "XCallParamsSizeOverflow", &pl, &rc);
    if (!p) return rc;
    if (il != 32)
        return cal_fail(cal, caller, fn, "InvalidMemoryAccess", "a context id is 32 bytes, not %llu",
                        (unsigned long long)il);
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(fl) + CAL_FUEL(pl)))) return rc;
    if (!weft_utf8_valid(f, fl)) return cal_fail(cal, caller, fn, "BadUTF8", "the function is not UTF-8");
    if (cal_need_txn(cal, caller, fn, 1, &rc)) return rc;
    cal_xcall_t *xs = realloc(cal->xcalls, (cal->nxcalls + 1) * sizeof *xs);
    if (!xs) return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
    cal->xcalls = xs;
    cal_xcall_t *q = &xs[cal->nxcalls];
    q->function = malloc(fl + 1);
    q->params = malloc(pl ? pl : 1);
    if (!q->function || !q->params) {
        free(q->function);
        free(q->params);
        return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
    }
    memcpy(q->context_id, id, 32);
    memcpy(q->function, f, fl);
    q->function[fl] = '\0';
    q->function_len = fl;
    if (pl) memcpy(q->params, p, pl);
    q->params_len = pl;
    cal->nxcalls++;
    return 0;
}

/* ---- utility ------------------------------------------------------------------- */

static int fn_random_bytes(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_calimero_t *cal = user;
    uint64_t len;
    int rc;
    uint8_t *dst = cal_buffer(cal, caller, "random_bytes", CAL_ARG(0), UINT64_MAX, NULL, &len, &rc);
    if (!dst) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(len)))) return rc;
    if (len) randombytes_buf(dst, len);
    return 0;
}

/* The buffer must be exactly 8 bytes (else InvalidMemoryAccess). */
static int fn_time_now(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "time_now";
    weft_calimero_t *cal = user;
    uint64_t len;
    int rc;
    uint8_t *dst = cal_buffer(cal, caller, fn, CAL_ARG(0), UINT64_MAX, NULL, &len, &rc);
    if (!dst) return rc;
    if (len != 8)
        return cal_fail(cal, caller, fn, "InvalidMemoryAccess",
                        "the time buffer is %llu bytes, not 8", (unsigned long long)len);
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + 1))) return rc;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    put_u64(dst, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    return 0;
}

/* A signature of another length than 64 or a key of another length than
 * 32 is InvalidMemoryAccess; a key libsodium refuses verifies nothing (0). */
static int fn_ed25519_verify(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "ed25519_verify";
    weft_calimero_t *cal = user;
    uint64_t sl, pl, ml;
    int rc;
    const uint8_t *sig = cal_buffer(cal, caller, fn, CAL_ARG(0), UINT64_MAX, NULL, &sl, &rc);
    if (!sig) return rc;
    const uint8_t *pk = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &pl, &rc);
    if (!pk) return rc;
    const uint8_t *msg = cal_buffer(cal, caller, fn, CAL_ARG(2), UINT64_MAX, NULL, &ml, &rc);
    if (!msg) return rc;
    if (sl != 64 || pl != 32)
        return cal_fail(cal, caller, fn, "InvalidMemoryAccess",
                        "a signature is 64 bytes and a public key 32 (got %llu and %llu)",
                        (unsigned long long)sl, (unsigned long long)pl);
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(ml) + 64))) return rc;
    CAL_RETURN32(crypto_sign_verify_detached(sig, msg, ml, pk) == 0 ? 1 : 0);
}

/* A guest string for fetch: UTF-8 without NUL, copied NUL-terminated. */
static char *fetch_str(const uint8_t *p, size_t n)
{
    if (memchr(p, 0, n) || !weft_utf8_valid(p, n)) return NULL;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* Borsh Vec<(String, String)>: u32 LE count, then u32 LE length and bytes
 * of each name and value. 0, or -1 when malformed or a string is not
 * UTF-8 without NUL; *out malloc'ed (names and values too). */
static int fetch_headers(const uint8_t *p, size_t n, weft_http_header_t **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (n < 4) return -1;
    uint32_t cnt = get_u32(p);
    size_t off = 4;
    if (cnt > (n - 4) / 8) return -1; /* each pair takes 8 bytes at least */
    weft_http_header_t *h = calloc(cnt ? cnt : 1, sizeof *h);
    if (!h) return -1;
    for (uint32_t i = 0; i < cnt; i++) {
        char *s[2] = {NULL, NULL};
        for (int k = 0; k < 2; k++) {
            uint32_t l = n - off >= 4 ? get_u32(p + off) : UINT32_MAX;
            if (l == UINT32_MAX || l > n - off - 4 || !(s[k] = fetch_str(p + off + 4, l))) {
                free(s[0]);
                goto fail;
            }
            off += 4 + (size_t)l;
        }
        h[(*count)++] = (weft_http_header_t){s[0], s[1]};
    }
    if (off != n) goto fail;
    *out = h;
    return 0;
fail:
    for (size_t i = 0; i < *count; i++) {
        free((char *)h[i].name);
        free((char *)h[i].value);
    }
    free(h);
    *count = 0;
    return -1;
}

/* fetch(url, method, headers, body, register): with no hook from the
 * embedder, or a request its allowlist denies, 1 (the document's blocked
 * fetch) with the reason as text in the register, which calimero-sdk's
 * env::fetch reads as its Err either way. Else the request is made: a
 * response of status 100-399 is 0 with its body in the register; a status
 * of 400 or more is 1 with its body; no response (refused, timed out, over
 * the size limit, a URL or header the service refuses) is 1 with the
 * reason. Headers are Borsh Vec<(String, String)> (a malformed
 * list: DeserializationError); url and method UTF-8 (BadUTF8). */
static int fn_fetch(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "fetch";
    weft_calimero_t *cal = user;
    const uint8_t *b[4];
    uint64_t len[4];
    int rc;
    for (int i = 0; i < 4; i++)
        if (!(b[i] = cal_buffer(cal, caller, fn, CAL_ARG(i), UINT64_MAX, NULL, &len[i], &rc)))
            return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(len[0]) + CAL_FUEL(len[2]) +
                                     CAL_FUEL(len[3]))))
        return rc;
    if (!cal->fetch) {
        static const char no[] = "outbound HTTP is not allowed here";
        if (cal_reg_set(cal, caller, fn, CAL_ARG(4), no, sizeof no - 1, &rc)) return rc;
        CAL_RETURN32(1);
    }
    weft_http_request_t req;
    weft_http_response_t resp;
    weft_http_header_t *hs = NULL;
    size_t nh = 0;
    char msg[512];
    memset(&req, 0, sizeof req);
    memset(&resp, 0, sizeof resp);
    char *url = fetch_str(b[0], len[0]), *method = fetch_str(b[1], len[1]);
    if (!url || !method) {
        free(url);
        free(method);
        return cal_fail(cal, caller, fn, "BadUTF8", "the url and method are UTF-8 without NUL");
    }
    if (fetch_headers(b[2], len[2], &hs, &nh) != 0) {
        free(url);
        free(method);
        return cal_fail(cal, caller, fn, "DeserializationError",
                        "headers are Borsh Vec<(String, String)> of UTF-8 without NUL");
    }
    req.url = url;
    req.method = method;
    req.headers = hs;
    req.nheaders = nh;
    req.body = b[3];
    req.body_len = len[3];
    int frc = cal->fetch(cal->fetch_user, &req, &resp, msg, sizeof msg);
    for (size_t i = 0; i < nh; i++) {
        free((char *)hs[i].name);
        free((char *)hs[i].value);
    }
    free(hs);
    free(url);
    free(method);
    uint32_t result = 1;
    if (frc == 0) {
        result = resp.status >= 100 && resp.status < 400 ? 0 : 1;
        rc = cal_charge(caller, CAL_FUEL(resp.body_len));
        if (rc == 0 && cal_reg_set(cal, caller, fn, CAL_ARG(4), resp.body, resp.body_len, &rc))
            result = 2;
    } else if (cal_reg_set(cal, caller, fn, CAL_ARG(4), msg, strlen(msg), &rc)) {
        result = 2;
    }
    weft_http_response_free(&resp);
    if (rc || result == 2) return rc;
    CAL_RETURN32(result);
}

/* ---- the table ------------------------------------------------------------------ */

static const cal_func_t base_funcs[] = {
    {"panic", "I", 0, fn_panic},
    {"panic_utf8", "II", 0, fn_panic_utf8},
    {"register_len", "I", 'I', fn_register_len},
    {"read_register", "II", 'i', fn_read_register},
    {"context_id", "I", 0, fn_context_id},
    {"executor_id", "I", 0, fn_executor_id},
    {"input", "I", 0, fn_input},
    {"value_return", "I", 0, fn_value_return},
    {"log_utf8", "I", 0, fn_log_utf8},
    {"js_std_d_print", "III", 'i', fn_js_std_d_print},
    {"emit", "I", 0, fn_emit},
    {"emit_with_handler", "II", 0, fn_emit_with_handler},
    {"xcall", "I", 0, fn_xcall},
    {"send_proposal", "II", 0, cal_fn_send_proposal},
    {"approve_proposal", "I", 0, cal_fn_approve_proposal},
    {"fetch", "IIIII", 'i', fn_fetch},
    {"random_bytes", "I", 0, fn_random_bytes},
    {"time_now", "I", 0, fn_time_now},
    {"ed25519_verify", "III", 'i', fn_ed25519_verify},
};
static const size_t base_nfuncs = sizeof base_funcs / sizeof base_funcs[0];

typedef struct {
    const cal_func_t *funcs;
    const size_t *n;
} cal_table_t;

static const cal_table_t tables[] = {
    {base_funcs, &base_nfuncs},
    {cal_storage_funcs, &cal_storage_nfuncs},
    {cal_js_funcs, &cal_js_nfuncs},
    {cal_context_funcs, &cal_context_nfuncs},
    {cal_blob_funcs, &cal_blob_nfuncs},
};
#define NTABLES (sizeof tables / sizeof tables[0])

static const cal_func_t *func_at(size_t i)
{
    for (size_t t = 0; t < NTABLES; t++) {
        if (i < *tables[t].n) return &tables[t].funcs[i];
        i -= *tables[t].n;
    }
    return NULL;
}

size_t weft_calimero_func_count(void)
{
    size_t n = 0;
    for (size_t t = 0; t < NTABLES; t++) n += *tables[t].n;
    return n;
}

static weft_functype_t *func_type(const cal_func_t *f)
{
    return host_sig_type(f->params, f->result);
}

int weft_calimero_func(size_t i, const char **out_name, weft_functype_t **out_type)
{
    const cal_func_t *f = func_at(i);
    if (!f) return WEFT_ENOTFOUND;
    weft_functype_t *ft = func_type(f);
    if (!ft) return WEFT_ENOMEM;
    *out_name = f->name;
    *out_type = ft;
    return 0;
}

int weft_calimero_func_supported(size_t i)
{
    const cal_func_t *f = func_at(i);
    return f && f->fn != NULL;
}

/* A function of the document weft does not provide yet: user is its
 * entry in cal->unsupported. */
typedef struct {
    weft_calimero_t *cal;
    const char *name;
} cal_unsupported_t;

static int fn_unsupported(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    cal_unsupported_t *u = user;
    return cal_fail(u->cal, caller, u->name, "NotSupported",
                    "not supported yet: %s (docs/calimero.md lists what weft provides)", u->name);
}

/* ---- context ---------------------------------------------------------------------- */

/* Every function's unsupported-entry lives with the context (the linker
 * keeps the pointer as user data). */
typedef struct {
    weft_calimero_t cal;
    cal_unsupported_t unsupported[];
} cal_alloc_t;

weft_calimero_limits_t weft_calimero_limits_default(void)
{
    weft_calimero_limits_t l;
    l.max_memory_pages = 1024;
    l.max_stack_size = 200u * 1024u;
    l.max_registers = 100;
    l.max_register_size = 100u * 1024u * 1024u;
    l.max_registers_capacity = 1024u * 1024u * 1024u;
    l.max_storage_key_size = 1024u * 1024u;
    l.max_storage_value_size = 10u * 1024u * 1024u;
    l.max_logs = 100;
    l.max_log_size = 16u * 1024u;
    l.max_events = 100;
    l.max_event_kind_size = 100;
    l.max_event_data_size = 16u * 1024u;
    l.max_xcalls = 100;
    l.max_xcall_function_size = 100;
    l.max_xcall_params_size = 1024u * 1024u;
    return l;
}

static void clear_call(weft_calimero_t *cal)
{
    for (size_t i = 0; i < cal->nregs; i++) free(cal->regs[i].data);
    free(cal->regs);
    cal->regs = NULL;
    cal->nregs = 0;
    cal->regs_bytes = 0;
    free(cal->ret);
    cal->ret = NULL;
    cal->ret_len = 0;
    cal->ret_kind = WEFT_CALIMERO_NONE;
    free(cal->artifact);
    cal->artifact = NULL;
    cal->artifact_len = 0;
    cal->committed = 0;
    for (size_t i = 0; i < cal->nevents; i++) {
        free(cal->events[i].kind);
        free(cal->events[i].data);
        free(cal->events[i].handler);
    }
    cal->nevents = 0;
    for (size_t i = 0; i < cal->nlogs; i++) free(cal->logs[i].msg);
    cal->nlogs = 0;
    for (size_t i = 0; i < cal->nxcalls; i++) {
        free(cal->xcalls[i].function);
        free(cal->xcalls[i].params);
    }
    cal->nxcalls = 0;
    for (size_t i = 0; i < cal->ncreates; i++) {
        free(cal->creates[i].args);
        free(cal->creates[i].alias);
    }
    cal->ncreates = 0;
    cal->ndeletes = 0;
    cal->nannounces = 0;
    cal->call_error = 0;
    cal->error_name = NULL;
    cal->nmember_ops = 0;
    cal_gov_clear(cal);
}

int weft_calimero_new(const weft_calimero_config_t *cfg, weft_calimero_t **out)
{
    if (!out) return WEFT_EARG;
    *out = NULL;
    if (!cfg || !cfg->db || !cfg->context) return WEFT_EARG;
    size_t cl = strlen(cfg->context);
    if (cl == 0 || cl > 255 || (cfg->node_id_len != 0 && cfg->node_id_len != WEFT_CALIMERO_ID_LEN) ||
        (cfg->node_id_len && !cfg->node_id))
        return WEFT_EARG;
    if (sodium_init() < 0) return WEFT_EIO;
    size_t n = weft_calimero_func_count();
    cal_alloc_t *a = calloc(1, sizeof *a + n * sizeof a->unsupported[0]);
    if (!a) return WEFT_ENOMEM;
    weft_calimero_t *cal = &a->cal;
    cal->db = cfg->db;
    memcpy(cal->ctx, cfg->context, cl);
    cal->ctx_len = cl;
    if (cfg->context_id)
        memcpy(cal->context_id, cfg->context_id, WEFT_CALIMERO_ID_LEN);
    else
        crypto_hash_sha256(cal->context_id, (const uint8_t *)cfg->context, cl);
    if (cfg->node_id_len) memcpy(cal->node_id, cfg->node_id, WEFT_CALIMERO_ID_LEN);
    memcpy(cal->executor, cal->node_id, WEFT_CALIMERO_ID_LEN);
    cal->lim = cfg->limits ? *cfg->limits : weft_calimero_limits_default();
    cal->context_exists = cfg->context_exists;
    cal->context_user = cfg->context_user;
    cal->fetch = cfg->fetch;
    cal->fetch_user = cfg->fetch_user;
    for (size_t i = 0; i < n; i++) {
        a->unsupported[i].cal = cal;
        a->unsupported[i].name = func_at(i)->name;
    }
    *out = cal;
    return 0;
}

void weft_calimero_delete(weft_calimero_t *cal)
{
    if (!cal) return;
    clear_call(cal);
    free(cal->events);
    free(cal->logs);
    free(cal->member_ops);
    free(cal->gov_ops);
    free(cal->xcalls);
    free(cal->creates);
    free(cal->deletes);
    free(cal->announces);
    cal_blobs_close(cal);
    free((cal_alloc_t *)cal); /* cal is the first member */
}

static int define_one(weft_calimero_t *cal, weft_linker_t *linker, size_t i)
{
    const cal_func_t *f = func_at(i);
    weft_functype_t *ft = func_type(f);
    if (!ft) return WEFT_ENOMEM;
    void *user = f->fn ? (void *)cal : (void *)&((cal_alloc_t *)cal)->unsupported[i];
    int rc = weft_linker_define_func_raw(linker, "env", f->name, ft, f->fn ? f->fn : fn_unsupported,
                                         user);
    weft_functype_delete(ft);
    return rc;
}

int weft_calimero_define(weft_calimero_t *cal, weft_linker_t *linker)
{
    if (!cal || !linker) return WEFT_EARG;
    for (size_t i = 0, n = weft_calimero_func_count(); i < n; i++) {
        int rc = define_one(cal, linker, i);
        if (rc) return rc;
    }
    return 0;
}

int weft_calimero_define_imports(weft_calimero_t *cal, weft_linker_t *linker,
                                 const weft_module_t *module)
{
    if (!cal || !linker || !module) return WEFT_EARG;
    size_t nf = weft_calimero_func_count();
    for (size_t i = 0, n = weft_module_import_count(module); i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_import(module, i, &d) != 0 || d.kind != WEFT_EXTERN_FUNC ||
            d.module_len != 3 || memcmp(d.module, "env", 3) != 0)
            continue;
        for (size_t k = 0; k < nf; k++) {
            const char *name = func_at(k)->name;
            if (strlen(name) != d.name_len || memcmp(name, d.name, d.name_len) != 0) continue;
            int rc = define_one(cal, linker, k);
            if (rc) return rc;
            break;
        }
    }
    return 0;
}

void weft_calimero_store_limits(const weft_calimero_t *cal, weft_limits_config_t *limits)
{
    limits->max_memory_pages = cal->lim.max_memory_pages;
    limits->max_stack_bytes = (size_t)cal->lim.max_stack_size;
}

void weft_calimero_begin_call(weft_calimero_t *cal, weft_txn_t *txn,
                              const weft_calimero_call_t *call)
{
    clear_call(cal);
    cal->txn = txn;
    cal->view = call ? call->view : 0;
    cal->input = call ? call->input : NULL;
    cal->input_len = call && call->input ? call->input_len : 0;
    cal->delta_as_of = call ? call->delta_as_of : 0;
    memcpy(cal->executor, call && call->executor ? call->executor : cal->node_id,
           WEFT_CALIMERO_ID_LEN);
}

void weft_calimero_end_call(weft_calimero_t *cal)
{
    /* queued member changes join the call's transaction: they commit with
     * it, or vanish when the embedder aborts it (trap, Err, error) */
    if (cal->txn && !cal->view) {
        cal_context_apply(cal);
        cal_gov_apply(cal); /* after: a proposal's member changes see the call's */
    }
    cal->nmember_ops = 0;
    cal_gov_clear(cal);
    cal_blobs_close(cal); /* handles are per call */
    cal->txn = NULL;
    cal->input = NULL;
    cal->input_len = 0;
}

int weft_calimero_call_error(const weft_calimero_t *cal)
{
    return cal->call_error;
}

const char *weft_calimero_error_name(const weft_calimero_t *cal)
{
    return cal->error_name;
}

int weft_calimero_return(const weft_calimero_t *cal, const uint8_t **out, size_t *out_len)
{
    if (out) *out = cal->ret;
    if (out_len) *out_len = cal->ret_len;
    return cal->ret_kind;
}

int weft_calimero_commit(const weft_calimero_t *cal, const uint8_t **out_root,
                         const uint8_t **out_artifact, size_t *out_artifact_len)
{
    if (!cal->committed) return 0;
    if (out_root) *out_root = cal->root;
    if (out_artifact) *out_artifact = cal->artifact;
    if (out_artifact_len) *out_artifact_len = cal->artifact_len;
    return 1;
}

size_t weft_calimero_event_count(const weft_calimero_t *cal)
{
    return cal->nevents;
}

int weft_calimero_event(const weft_calimero_t *cal, size_t i, const char **out_kind,
                        size_t *out_kind_len, const uint8_t **out_data, size_t *out_data_len,
                        const char **out_handler, size_t *out_handler_len)
{
    if (i >= cal->nevents) return WEFT_ENOTFOUND;
    const cal_event_t *e = &cal->events[i];
    *out_kind = e->kind;
    *out_kind_len = e->kind_len;
    *out_data = e->data;
    *out_data_len = e->data_len;
    if (out_handler) *out_handler = e->handler;
    if (out_handler_len) *out_handler_len = e->handler_len;
    return 0;
}

size_t weft_calimero_xcall_count(const weft_calimero_t *cal)
{
    return cal->nxcalls;
}

int weft_calimero_xcall(const weft_calimero_t *cal, size_t i, const uint8_t **out_context_id,
                        const char **out_function, size_t *out_function_len,
                        const uint8_t **out_params, size_t *out_params_len)
{
    if (i >= cal->nxcalls) return WEFT_ENOTFOUND;
    const cal_xcall_t *x = &cal->xcalls[i];
    *out_context_id = x->context_id;
    *out_function = x->function;
    *out_function_len = x->function_len;
    *out_params = x->params;
    *out_params_len = x->params_len;
    return 0;
}

size_t weft_calimero_create_count(const weft_calimero_t *cal)
{
    return cal->ncreates;
}

int weft_calimero_create(const weft_calimero_t *cal, size_t i, const uint8_t **out_app_id,
                         const uint8_t **out_args, size_t *out_args_len, const char **out_alias,
                         size_t *out_alias_len)
{
    if (i >= cal->ncreates) return WEFT_ENOTFOUND;
    const cal_create_t *c = &cal->creates[i];
    *out_app_id = c->app_id;
    *out_args = c->args;
    *out_args_len = c->args_len;
    *out_alias = c->alias;
    *out_alias_len = c->alias_len;
    return 0;
}

size_t weft_calimero_delete_count(const weft_calimero_t *cal)
{
    return cal->ndeletes;
}

size_t weft_calimero_announce_count(const weft_calimero_t *cal)
{
    return cal->nannounces;
}

int weft_calimero_announce(const weft_calimero_t *cal, size_t i, const uint8_t **out_blob_id,
                           const uint8_t **out_context_id)
{
    if (i >= cal->nannounces) return WEFT_ENOTFOUND;
    *out_blob_id = cal->announces + 64 * i;
    *out_context_id = cal->announces + 64 * i + 32;
    return 0;
}

const uint8_t *weft_calimero_delete_id(const weft_calimero_t *cal, size_t i)
{
    return i < cal->ndeletes ? cal->deletes + 32 * i : NULL;
}

size_t weft_calimero_log_count(const weft_calimero_t *cal)
{
    return cal->nlogs;
}

int weft_calimero_log(const weft_calimero_t *cal, size_t i, const char **out_msg, size_t *out_len)
{
    if (i >= cal->nlogs) return WEFT_ENOTFOUND;
    *out_msg = cal->logs[i].msg;
    *out_len = cal->logs[i].len;
    return 0;
}

const uint8_t *weft_calimero_context_id(const weft_calimero_t *cal)
{
    return cal->context_id;
}
