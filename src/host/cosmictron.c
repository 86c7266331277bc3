/*
 * cosmictron.c — the Cosmictron guest ABI (weft/cosmictron.h): the
 * `datastore`, `cosm` and `console` import modules, bound to a context's
 * typed tables (weft/tables.h, src/store) for the duration of a call.
 *
 * Invariants: a guest range is used only after guest() checked all of it
 * (a bad one is the invalid-argument code, never a trap, except in
 * console.log); every function charges fuel before its work (NX-style
 * units: a base per call, one unit per 16 bytes read or written, one per
 * row visited), and an exhausted budget is code 6 with the work undone
 * (the guest's next instruction traps out of fuel anyway); a store error
 * traps the call and is kept for the embedder, who aborts the
 * transaction. The binding holds no transaction between calls. What the
 * document leaves open is decided in docs/cosmictron.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hostsig.h"
#include "weft/bsatn.h"
#include "weft/cosmictron.h"
#include "weft/error.h"
#include "weft/engine.h"
#include "weft/extern.h"
#include "weft/module.h"
#include "weft/store.h"
#include "weft/types.h"
#include "weft/wasi.h"

#define ARG32(i) ((uint32_t)args[i].i32)
#define RET32(v)                \
    do {                        \
        args[0].i32 = (v);      \
        return 0;               \
    } while (0)
#define RET64(v)                \
    do {                        \
        args[0].i64 = (v);      \
        return 0;               \
    } while (0)

#define FUEL_CALL 8u
#define FUEL_ROW 4u
#define FUEL(len) (((uint64_t)(len) + 15u) / 16u)
#define MAX_COLLECTED (64u * 1024u * 1024u)

typedef struct {
    int level;
    char *msg;
    size_t len;
} cosm_log_t;

typedef struct {
    int op; /* 'i' or 'd' */
    uint32_t table;
    const uint8_t *row; /* in one of the call's row blocks */
    size_t len;
} cosm_change_t;

/* The rows of a call's changes, copied one after the other into blocks of
 * ROWS_BLOCK bytes (a longer row gets a block of its own): a block is
 * never moved, so a row stays where it was put, and a call allocates once
 * a block instead of once a row. 64 KiB stays below malloc's mmap
 * threshold, so the blocks of one call are the heap memory the next reuses
 * (mapping and faulting in fresh pages for every big call cost more than
 * the copies saved). */
#define ROWS_BLOCK (64u * 1024u)

typedef struct rows_block {
    struct rows_block *next;
    size_t len, cap;
    uint8_t data[];
} rows_block_t;

struct weft_cosmictron {
    weft_db_t *db;
    weft_schema_t *own_schema; /* the empty one, when the config had none */
    uint8_t ctx[255];
    size_t ctx_len;
    const weft_schema_t *schema;
    int min_log_level; /* console.log lines below it are not kept */
    weft_tables_t *tables;

    weft_txn_t *txn;
    int view;
    int call_error;
    uint8_t identity[WEFT_COSM_IDENTITY_LEN];
    size_t identity_len;
    int64_t timestamp_us;
    cosm_log_t *logs;
    size_t nlogs, logs_cap, logs_dropped, collected;
    cosm_change_t *changes;
    size_t nchanges, changes_cap;
    size_t nscheduled; /* schedule_reducer calls that stored a schedule */
    rows_block_t *rows, *rows_tail; /* the first block is kept from call to call */
    weft_http_fetch_fn fetch; /* NULL: http_request is denied */
    void *fetch_user;
    /* the call's last http_request and its encoded response, kept when
     * `out` was too small so that asking again does not send it again */
    uint8_t *http_req, *http_resp;
    size_t http_req_len, http_resp_len;
};

/* ---- helpers --------------------------------------------------------- */

/* A host pointer to guest range [ptr, ptr+len), or NULL when it is not
 * inside linear memory. */
static uint8_t *guest(weft_caller_t *caller, uint32_t ptr, uint32_t len)
{
    static uint8_t empty;
    weft_memory_t *mem = weft_caller_memory(caller, "memory");
    if (!mem) mem = weft_caller_memory(caller, NULL);
    if (!mem) return NULL;
    if (len == 0 && ptr <= weft_memory_size(mem)) return &empty;
    return weft_memory_ptr(mem, ptr, len);
}

/* Charges fuel: 0, or 1 when the budget ran out (the function then
 * answers WEFT_COSM_FUEL without doing its work). */
static int charge(weft_caller_t *caller, uint64_t units)
{
    return weft_caller_consume_fuel(caller, units) != 0;
}

/* A negative WEFT_E* from the store: ENOMEM is the guest's code 7; any
 * other traps the call (its transaction must be aborted). Returns 0 with
 * *code set, or the trap to return. */
static int store_error(weft_cosmictron_t *c, weft_caller_t *caller, const char *fn, int rc,
                       int *code)
{
    if (rc == WEFT_ENOMEM) {
        *code = WEFT_COSM_MEMORY;
        return 0;
    }
    if (c->call_error == 0) c->call_error = rc;
    if (weft_db_retryable(rc))
        return weft_caller_trap(caller, "datastore.%s: database map full; the call must be retried",
                                fn);
    return weft_caller_trap(caller, "datastore.%s: storage error: %s", fn, weft_strerror(rc));
}

static int in_call(weft_cosmictron_t *c, weft_caller_t *caller, const char *fn)
{
    if (c->txn) return 0;
    return weft_caller_trap(caller, "%s: called outside a call (no transaction)", fn);
}

static int view_write(weft_caller_t *caller, const char *fn)
{
    return weft_caller_trap(caller, "%s: a view cannot write (it runs on a read-only snapshot)", fn);
}

/* ---- datastore ----------------------------------------------------------- */

/* 0 when a change of len more bytes keeps the call within its bound, else
 * WEFT_COSM_MEMORY: asked before the write that would make the change. */
static int change_fits(const weft_cosmictron_t *c, size_t len)
{
    return c->collected + len > MAX_COLLECTED ? WEFT_COSM_MEMORY : 0;
}

/* Room for len more bytes of rows: a pointer to them, or NULL. */
static uint8_t *rows_room(weft_cosmictron_t *c, size_t len)
{
    rows_block_t *b = c->rows_tail; /* the last block */
    if (!b || b->cap - b->len < len) {
        size_t cap = len > ROWS_BLOCK ? len : ROWS_BLOCK;
        rows_block_t *nb = malloc(sizeof *nb + cap);
        if (!nb) return NULL;
        nb->next = NULL;
        nb->len = 0;
        nb->cap = cap;
        if (b)
            b->next = nb;
        else
            c->rows = nb;
        c->rows_tail = b = nb;
    }
    uint8_t *p = b->data + b->len;
    b->len += len;
    return p;
}

/* Keeps a change of a public table for the embedder. Returns 0, or -1
 * when memory ran out: the call's error is then set, so the call fails
 * rather than commit a change its subscribers would never see. Room is
 * made here each time: the rows of replicated tables that an insert or
 * a delete shows or hides (observed_change) are kept in its middle. */
static int keep_change(weft_cosmictron_t *c, int op, uint32_t table, const uint8_t *row,
                       size_t len)
{
    if (c->nchanges == c->changes_cap) {
        size_t cap = c->changes_cap ? c->changes_cap * 2 : 16;
        cosm_change_t *p = realloc(c->changes, cap * sizeof *p);
        if (!p) goto oom;
        c->changes = p;
        c->changes_cap = cap;
    }
    uint8_t *copy = rows_room(c, len);
    if (!copy) goto oom;
    if (len) memcpy(copy, row, len);
    c->changes[c->nchanges++] = (cosm_change_t){op, table, copy, len};
    c->collected += len;
    return 0;
oom:
    if (c->call_error == 0) c->call_error = WEFT_ENOMEM;
    return -1;
}

/* A row the rules of a replicated table showed or hid besides the call's
 * own write (weft_tables_observe): a change of the call like the others. */
static void observed_change(void *user, uint32_t tid, int op, const uint8_t *row, size_t len)
{
    weft_cosmictron_t *c = user;
    if (weft_schema_table_public(c->schema, tid) && change_fits(c, len) == 0)
        keep_change(c, op, tid, row, len);
}

static int fn_insert(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_cosmictron_t *c = user;
    uint32_t tid = ARG32(0), len = ARG32(2);
    int rc, code;
    if ((rc = in_call(c, caller, "datastore.insert"))) return rc;
    if (c->view) return view_write(caller, "datastore.insert");
    const uint8_t *row = guest(caller, ARG32(1), len);
    if (charge(caller, FUEL_CALL + (row ? FUEL(len) : 0))) RET32(WEFT_COSM_FUEL);
    if (!row) RET32(WEFT_COSM_INVALID);
    int pub = weft_schema_table_public(c->schema, tid);
    if (pub && (rc = change_fits(c, len)) != 0) RET32(rc);
    rc = weft_tables_insert(c->tables, tid, row, len);
    if (rc == 0 && pub && keep_change(c, 'i', tid, row, len) != 0)
        return weft_caller_trap(caller, "datastore.insert: out of memory keeping the change");
    if (rc >= 0) RET32(rc);
    if ((rc = store_error(c, caller, "insert", rc, &code))) return rc;
    RET32(code);
}

static int fn_delete_by_pk(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_cosmictron_t *c = user;
    uint32_t tid = ARG32(0), len = ARG32(2);
    int rc, code;
    if ((rc = in_call(c, caller, "datastore.delete_by_pk"))) return rc;
    if (c->view) return view_write(caller, "datastore.delete_by_pk");
    const uint8_t *pk = guest(caller, ARG32(1), len);
    if (charge(caller, FUEL_CALL + (pk ? FUEL(len) : 0))) RET32(WEFT_COSM_FUEL);
    if (!pk) RET32(WEFT_COSM_INVALID);
    int pub = weft_schema_table_public(c->schema, tid);
    /* the deleted row is at most a row long */
    if (pub && (rc = change_fits(c, WEFT_TABLES_MAX_ROW)) != 0) RET32(rc);
    rc = weft_tables_delete_pk(c->tables, tid, pk, len);
    if (rc == 0 && pub) {
        const uint8_t *old;
        size_t ol;
        weft_tables_deleted_row(c->tables, &old, &ol);
        if (keep_change(c, 'd', tid, old, ol) != 0)
            return weft_caller_trap(caller,
                                    "datastore.delete_by_pk: out of memory keeping the change");
    }
    if (rc >= 0) RET32(rc);
    if ((rc = store_error(c, caller, "delete_by_pk", rc, &code))) return rc;
    RET32(code);
}

static int fn_scan(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_cosmictron_t *c = user;
    uint32_t tid = ARG32(0);
    uint64_t h;
    int rc, code;
    if ((rc = in_call(c, caller, "datastore.scan"))) return rc;
    if (charge(caller, FUEL_CALL)) RET64(-WEFT_COSM_FUEL);
    rc = weft_tables_scan(c->tables, tid, &h);
    if (rc == 0) RET64((int64_t)h);
    if (rc > 0) RET64(-(int64_t)rc);
    if ((rc = store_error(c, caller, "scan", rc, &code))) return rc;
    RET64(-(int64_t)code);
}

static int fn_index_scan(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_cosmictron_t *c = user;
    uint32_t tid = ARG32(0), iid = ARG32(1), len = ARG32(3);
    uint64_t h;
    int rc, code;
    if ((rc = in_call(c, caller, "datastore.index_scan"))) return rc;
    const uint8_t *range = guest(caller, ARG32(2), len);
    if (charge(caller, FUEL_CALL + (range ? FUEL(len) : 0))) RET64(-WEFT_COSM_FUEL);
    if (!range) RET64(-WEFT_COSM_INVALID);
    rc = weft_tables_index_scan(c->tables, tid, iid, range, len, &h);
    if (rc == 0) RET64((int64_t)h);
    if (rc > 0) RET64(-(int64_t)rc);
    if ((rc = store_error(c, caller, "index_scan", rc, &code))) return rc;
    RET64(-(int64_t)code);
}

/* Returns the bytes written (> 0), 0 when exhausted, -(row length) when
 * the row does not fit (nothing written, the iterator stays), -9 for a
 * bad handle or output range (docs/cosmictron.md). */
static int fn_iter_next(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_cosmictron_t *c = user;
    uint64_t h = (uint64_t)args[0].i64;
    uint32_t cap = ARG32(2);
    const uint8_t *row;
    size_t len;
    int rc, code;
    if ((rc = in_call(c, caller, "datastore.iter_next"))) return rc;
    uint8_t *out = guest(caller, ARG32(1), cap);
    if (charge(caller, FUEL_CALL + FUEL_ROW)) RET32(-WEFT_COSM_FUEL);
    if (!out || cap < WEFT_COSM_MIN_ROW_BUF) RET32(-WEFT_COSM_INVALID);
    rc = weft_tables_next(c->tables, h, cap, &row, &len);
    if (rc == WEFT_TABLE_ENOTFOUND) RET32(0);
    if (rc == WEFT_TABLE_ETOOSMALL) RET32(-(int32_t)len); /* rows are at most 1 MiB */
    if (rc > 0) RET32(-rc);
    if (rc < 0) {
        if ((rc = store_error(c, caller, "iter_next", rc, &code))) return rc;
        RET32(-code);
    }
    if (charge(caller, FUEL(len))) RET32(-WEFT_COSM_FUEL);
    /* rows are at least one byte (tables have columns), so 0 stays "exhausted" */
    memcpy(out, row, len);
    RET32((int32_t)len);
}

static int fn_iter_close(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_cosmictron_t *c = user;
    int rc;
    if ((rc = in_call(c, caller, "datastore.iter_close"))) return rc;
    if (charge(caller, FUEL_CALL)) return 0;
    /* no result: a bad handle is ignored */
    (void)weft_tables_close(c->tables, (uint64_t)args[0].i64);
    return 0;
}

static int fn_table_id_from_name(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_cosmictron_t *c = user;
    uint32_t len = ARG32(1);
    const uint8_t *name = guest(caller, ARG32(0), len);
    if (charge(caller, FUEL_CALL + (name ? FUEL(len) : 0))) RET32(-WEFT_COSM_FUEL);
    if (!name) RET32(-WEFT_COSM_INVALID);
    int id = weft_schema_table_find(c->schema, (const char *)name, len);
    RET32(id >= 0 ? id : -WEFT_COSM_NO_TABLE);
}

/* ---- cosm ------------------------------------------------------------------- */

static int fn_sender_identity(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_cosmictron_t *c = user;
    uint32_t cap = ARG32(1);
    uint8_t *out = guest(caller, ARG32(0), cap);
    if (charge(caller, FUEL_CALL + FUEL(WEFT_COSM_IDENTITY_LEN))) RET32(WEFT_COSM_FUEL);
    if (!out || cap < WEFT_COSM_IDENTITY_LEN) RET32(WEFT_COSM_INVALID);
    /* no identity (a call made without one): 32 zero bytes, which are no
     * ed25519 public key */
    memset(out, 0, WEFT_COSM_IDENTITY_LEN);
    memcpy(out, c->identity, c->identity_len);
    RET32(WEFT_COSM_OK);
}

static int fn_timestamp(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_cosmictron_t *c = user;
    if (charge(caller, FUEL_CALL)) RET64(0);
    RET64(c->timestamp_us);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | p[i];
    return v;
}

/* Stored schedule: BSATN {at_us: i64, reducer: String, args: bytes}
 * under 'S' + u64 BE handle; the last handle given under 'T'. */
static int fn_schedule_reducer(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_cosmictron_t *c = user;
    uint32_t nl = ARG32(1), al = ARG32(3);
    int64_t delay = args[4].i64;
    weft_bsatn_buf_t v;
    const uint8_t *cur;
    size_t cl;
    uint8_t key[9], nkey[1] = {'T'}, be[8];
    int rc, code;
    if ((rc = in_call(c, caller, "cosm.schedule_reducer"))) return rc;
    if (c->view) return view_write(caller, "cosm.schedule_reducer");
    const uint8_t *name = guest(caller, ARG32(0), nl);
    const uint8_t *a = guest(caller, ARG32(2), al);
    if (charge(caller, FUEL_CALL + (name ? FUEL(nl) : 0) + (a ? FUEL(al) : 0)))
        RET64(-WEFT_COSM_FUEL);
    if (!name || !a || delay < 0 || al > WEFT_TABLES_MAX_ROW) RET64(-WEFT_COSM_INVALID);
    int r = weft_schema_reducer_find(c->schema, (const char *)name, nl);
    if (r < 0) RET64(-WEFT_COSM_INVALID);
    size_t tl, used = 0;
    const uint8_t *t = weft_schema_reducer_args(c->schema, (size_t)r, &tl);
    if (t ? weft_bsatn_check(t, tl, a, al, &used) != 0 || used != al : al != 0)
        RET64(-WEFT_COSM_TYPE);
    int64_t at = c->timestamp_us > INT64_MAX - delay ? INT64_MAX : c->timestamp_us + delay;

    uint64_t n = 0;
    rc = weft_txn_get(c->txn, WEFT_SPACE_TABLES, c->ctx, c->ctx_len, nkey, 1, &cur, &cl);
    if (rc == 0 && cl == 8) n = get_be64(cur);
    else if (rc != 0 && rc != WEFT_ENOTFOUND) goto store;
    n++;
    put_be64(be, n);
    if ((rc = weft_txn_put(c->txn, WEFT_SPACE_TABLES, c->ctx, c->ctx_len, nkey, 1, be, 8))) goto store;
    weft_bsatn_buf_init(&v);
    weft_bsatn_put_u64(&v, (uint64_t)at);
    weft_bsatn_put_bytes(&v, name, nl);
    weft_bsatn_put_bytes(&v, a, al);
    key[0] = WEFT_COSM_SCHEDULE_KIND;
    put_be64(key + 1, n);
    rc = v.err ? v.err
               : weft_txn_put(c->txn, WEFT_SPACE_TABLES, c->ctx, c->ctx_len, key, 9, v.p, v.len);
    weft_bsatn_buf_fini(&v);
    if (rc) goto store;
    c->nscheduled++;
    RET64((int64_t)n);
store:
    if ((rc = store_error(c, caller, "schedule_reducer", rc, &code))) return rc;
    RET64(-(int64_t)code);
}

static int fn_cancel_reducer(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_cosmictron_t *c = user;
    uint64_t h = (uint64_t)args[0].i64;
    uint8_t key[9];
    int rc, code;
    if ((rc = in_call(c, caller, "cosm.cancel_reducer"))) return rc;
    if (c->view) return view_write(caller, "cosm.cancel_reducer");
    if (charge(caller, FUEL_CALL)) return 0;
    key[0] = WEFT_COSM_SCHEDULE_KIND;
    put_be64(key + 1, h);
    /* no result: an unknown or already cancelled handle changes nothing */
    rc = weft_txn_del(c->txn, WEFT_SPACE_TABLES, c->ctx, c->ctx_len, key, 9);
    if (rc && (rc = store_error(c, caller, "cancel_reducer", rc, &code))) return rc;
    return 0;
}

/* HttpRequest {method: String, url: String, headers: Vec<{name: String,
 * value: String}>, body: bytes} */
static const uint8_t http_request_type[] = {
    0x40, 4, 0, 0, 0,
    6, 0, 0, 0, 'm', 'e', 't', 'h', 'o', 'd', 0x11,
    3, 0, 0, 0, 'u', 'r', 'l', 0x11,
    7, 0, 0, 0, 'h', 'e', 'a', 'd', 'e', 'r', 's', 0x30,
        0x40, 2, 0, 0, 0, 4, 0, 0, 0, 'n', 'a', 'm', 'e', 0x11,
        5, 0, 0, 0, 'v', 'a', 'l', 'u', 'e', 0x11,
    4, 0, 0, 0, 'b', 'o', 'd', 'y', 0x12,
};

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Reads a BSATN u32 length and that many bytes at *off of p[0..n) (the
 * request passed weft_bsatn_check, so they are there), as a NUL-terminated
 * copy; NULL when it holds a NUL or memory runs out. */
static char *http_str(const uint8_t *p, size_t *off)
{
    uint32_t l = get_le32(p + *off);
    const uint8_t *s = p + *off + 4;
    *off += 4 + (size_t)l;
    if (memchr(s, 0, l)) return NULL;
    char *r = malloc((size_t)l + 1);
    if (r) {
        memcpy(r, s, l);
        r[l] = '\0';
    }
    return r;
}

static int http_put(uint8_t **b, size_t *len, size_t *cap, const void *p, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n) c *= 2;
        uint8_t *nb = realloc(*b, c);
        if (!nb) return -1;
        *b = nb;
        *cap = c;
    }
    if (n) memcpy(*b + *len, p, n);
    *len += n;
    return 0;
}

static int http_put_str(uint8_t **b, size_t *len, size_t *cap, const void *p, size_t n)
{
    uint8_t l[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
    return n > UINT32_MAX || http_put(b, len, cap, l, 4) || http_put(b, len, cap, p, n) ? -1 : 0;
}

/* HttpResponse {status: u16, headers: Vec<{name: String, value: String}>,
 * body: bytes}; status 0 and the reason as body when no response came. */
static int http_encode(int status, const weft_http_response_t *r, const char *why, uint8_t **out,
                       size_t *out_len)
{
    uint8_t *b = NULL, st[2] = {(uint8_t)status, (uint8_t)(status >> 8)}, cnt[4] = {0};
    size_t len = 0, cap = 0, nh = r ? r->nheaders : 0;
    for (int i = 0; i < 4; i++) cnt[i] = (uint8_t)(nh >> (8 * i));
    int bad = http_put(&b, &len, &cap, st, 2) || http_put(&b, &len, &cap, cnt, 4);
    for (size_t i = 0; !bad && i < nh; i++)
        bad = http_put_str(&b, &len, &cap, r->headers[i].name, strlen(r->headers[i].name)) ||
              http_put_str(&b, &len, &cap, r->headers[i].value, strlen(r->headers[i].value));
    if (!bad)
        bad = r ? http_put_str(&b, &len, &cap, r->body, r->body_len)
                : http_put_str(&b, &len, &cap, why, strlen(why));
    if (bad) {
        free(b);
        return -1;
    }
    *out = b;
    *out_len = len;
    return 0;
}

/* Performs the request through the embedder's hook; 0 with c->http_resp
 * set, or a code (5 denied, 9 malformed, 7 out of memory). */
static int http_perform(weft_cosmictron_t *c, const uint8_t *req, size_t rl)
{
    weft_http_request_t r;
    weft_http_response_t resp;
    weft_http_header_t *hs = NULL;
    char *method = NULL, *url = NULL, msg[512];
    size_t off = 0; /* a product value is its fields one after the other */
    uint32_t nh;
    int code = WEFT_COSM_INVALID;
    memset(&r, 0, sizeof r);
    memset(&resp, 0, sizeof resp);
    if (!(method = http_str(req, &off)) || !(url = http_str(req, &off))) goto done;
    nh = get_le32(req + off);
    off += 4;
    if (nh && !(hs = calloc(nh, sizeof *hs))) {
        code = WEFT_COSM_MEMORY;
        goto done;
    }
    for (uint32_t i = 0; i < nh; i++) {
        char *name = http_str(req, &off), *value = name ? http_str(req, &off) : NULL;
        if (!name || !value) {
            free(name);
            goto done;
        }
        hs[i] = (weft_http_header_t){name, value};
        r.nheaders = i + 1;
    }
    r.body_len = get_le32(req + off);
    r.body = req + off + 4;
    r.method = method;
    r.url = url;
    r.headers = hs;
    int rc = c->fetch(c->fetch_user, &r, &resp, msg, sizeof msg);
    if (rc == WEFT_ENOTFOUND) {
        code = WEFT_COSM_DENIED;
        goto done;
    }
    code = http_encode(rc == 0 ? resp.status : 0, rc == 0 ? &resp : NULL, msg, &c->http_resp,
                       &c->http_resp_len)
               ? WEFT_COSM_MEMORY
               : 0;
    if (code == 0 && (c->http_req = malloc(rl ? rl : 1))) {
        memcpy(c->http_req, req, rl);
        c->http_req_len = rl;
    }
done:
    weft_http_response_free(&resp);
    for (size_t i = 0; i < r.nheaders; i++) {
        free((char *)hs[i].name);
        free((char *)hs[i].value);
    }
    free(hs);
    free(method);
    free(url);
    return code;
}

/* The request is performed through the embedder's hook (5 when it has
 * none or its allowlist says no; 9 when malformed), and the response
 * written to out: 0. An `out` too small gets 9 and, when it has 4 bytes,
 * the length needed (u32 LE) in them; the response is kept for the call,
 * so asking again with the same request bytes and a buffer big enough
 * gets it without a second request (docs/cosmictron.md). */
static int fn_http_request(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_cosmictron_t *c = user;
    uint32_t rl = ARG32(1), cap = ARG32(3);
    size_t used;
    const uint8_t *req = guest(caller, ARG32(0), rl);
    uint8_t *out = guest(caller, ARG32(2), cap);
    if (charge(caller, FUEL_CALL + (req ? FUEL(rl) : 0))) RET32(WEFT_COSM_FUEL);
    if (!req || !out) RET32(WEFT_COSM_INVALID);
    if (weft_bsatn_check(http_request_type, sizeof http_request_type, req, rl, &used) != 0 ||
        used != rl)
        RET32(WEFT_COSM_INVALID);
    if (!c->fetch) RET32(WEFT_COSM_DENIED);
    if (!c->http_resp || c->http_req_len != rl || memcmp(c->http_req, req, rl) != 0) {
        free(c->http_req);
        free(c->http_resp);
        c->http_req = c->http_resp = NULL;
        c->http_req_len = c->http_resp_len = 0;
        int code = http_perform(c, req, rl);
        if (code) RET32(code);
        if (charge(caller, FUEL(c->http_resp_len))) RET32(WEFT_COSM_FUEL);
    }
    if (c->http_resp_len > cap) {
        if (cap >= 4) put_le32(out, (uint32_t)c->http_resp_len);
        RET32(WEFT_COSM_INVALID);
    }
    memcpy(out, c->http_resp, c->http_resp_len);
    free(c->http_req);
    free(c->http_resp);
    c->http_req = c->http_resp = NULL;
    c->http_req_len = c->http_resp_len = 0;
    RET32(0);
}

/* ---- console ---------------------------------------------------------------- */

static void collect_log(weft_cosmictron_t *c, int level, const uint8_t *msg, size_t len)
{
    if (len > WEFT_COSM_MAX_LOG) len = WEFT_COSM_MAX_LOG;
    if (c->collected + len > MAX_COLLECTED) goto drop;
    if (c->nlogs == c->logs_cap) {
        size_t cap = c->logs_cap ? c->logs_cap * 2 : 8;
        cosm_log_t *l = realloc(c->logs, cap * sizeof *l);
        if (!l) goto drop;
        c->logs = l;
        c->logs_cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) goto drop;
    if (len) memcpy(copy, msg, len);
    copy[len] = '\0';
    c->logs[c->nlogs++] = (cosm_log_t){level, copy, len};
    c->collected += len;
    return;
drop:
    c->logs_dropped++;
}

static int fn_log(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_cosmictron_t *c = user;
    int32_t level = args[0].i32;
    uint32_t len = ARG32(2);
    const uint8_t *msg = guest(caller, ARG32(1), len);
    if (!msg)
        return weft_caller_trap(caller, "console.log: guest range [%u, +%u) is outside linear memory",
                                ARG32(1), len);
    if (charge(caller, FUEL_CALL + FUEL(len))) return 0;
    /* the document's levels are 0-4; others are kept at the nearest */
    level = level < 0 ? 0 : level > 4 ? 4 : level;
    if (level >= c->min_log_level) collect_log(c, level, msg, len);
    return 0;
}

/* ---- tables of functions ------------------------------------------------- */

typedef struct {
    const char *name;
    const char *params; /* 'i' i32, 'I' i64 */
    char result;        /* 'i', 'I' or 0 */
    weft_host_raw_fn_t fn;
} cosm_func_t;

static const cosm_func_t datastore_funcs[] = {
    {"insert", "iii", 'i', fn_insert},
    {"delete_by_pk", "iii", 'i', fn_delete_by_pk},
    {"scan", "i", 'I', fn_scan},
    {"index_scan", "iiii", 'I', fn_index_scan},
    {"iter_next", "Iii", 'i', fn_iter_next},
    {"iter_close", "I", 0, fn_iter_close},
    {"table_id_from_name", "ii", 'i', fn_table_id_from_name},
};
static const cosm_func_t cosm_funcs[] = {
    {"sender_identity", "ii", 'i', fn_sender_identity},
    {"timestamp", "", 'I', fn_timestamp},
    {"schedule_reducer", "iiiiI", 'I', fn_schedule_reducer},
    {"cancel_reducer", "I", 0, fn_cancel_reducer},
    {"http_request", "iiii", 'i', fn_http_request},
};
static const cosm_func_t console_funcs[] = {
    {"log", "iii", 0, fn_log},
};

static const struct {
    const char *module;
    const cosm_func_t *funcs;
    size_t n;
} modules[] = {
    {"datastore", datastore_funcs, sizeof datastore_funcs / sizeof datastore_funcs[0]},
    {"cosm", cosm_funcs, sizeof cosm_funcs / sizeof cosm_funcs[0]},
    {"console", console_funcs, sizeof console_funcs / sizeof console_funcs[0]},
};
#define NMODULES (sizeof modules / sizeof modules[0])

static weft_functype_t *func_type(const cosm_func_t *f)
{
    return host_sig_type(f->params, f->result);
}

static int define_one(weft_cosmictron_t *c, weft_linker_t *linker, const char *module,
                      const cosm_func_t *f)
{
    weft_functype_t *ft = func_type(f);
    if (!ft) return WEFT_ENOMEM;
    int rc = weft_linker_define_func_raw(linker, module, f->name, ft, f->fn, c);
    weft_functype_delete(ft);
    return rc;
}

int weft_cosmictron_define(weft_cosmictron_t *c, weft_linker_t *linker)
{
    if (!c || !linker) return WEFT_EARG;
    for (size_t m = 0; m < NMODULES; m++)
        for (size_t i = 0; i < modules[m].n; i++) {
            int rc = define_one(c, linker, modules[m].module, &modules[m].funcs[i]);
            if (rc) return rc;
        }
    return 0;
}

int weft_cosmictron_define_imports(weft_cosmictron_t *c, weft_linker_t *linker,
                                   const weft_module_t *module)
{
    if (!c || !linker || !module) return WEFT_EARG;
    for (size_t i = 0, n = weft_module_import_count(module); i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_import(module, i, &d) != 0 || d.kind != WEFT_EXTERN_FUNC) continue;
        for (size_t m = 0; m < NMODULES; m++) {
            if (strlen(modules[m].module) != d.module_len ||
                memcmp(modules[m].module, d.module, d.module_len) != 0)
                continue;
            for (size_t k = 0; k < modules[m].n; k++) {
                const cosm_func_t *f = &modules[m].funcs[k];
                if (strlen(f->name) != d.name_len || memcmp(f->name, d.name, d.name_len) != 0)
                    continue;
                int rc = define_one(c, linker, modules[m].module, f);
                if (rc) return rc;
            }
        }
    }
    return 0;
}

static int module_func(size_t m, size_t i, const char **out_name, weft_functype_t **out_type)
{
    if (i >= modules[m].n) return WEFT_ENOTFOUND;
    weft_functype_t *ft = func_type(&modules[m].funcs[i]);
    if (!ft) return WEFT_ENOMEM;
    *out_name = modules[m].funcs[i].name;
    *out_type = ft;
    return 0;
}

size_t weft_cosmictron_datastore_func_count(void)
{
    return modules[0].n;
}

int weft_cosmictron_datastore_func(size_t i, const char **out_name, weft_functype_t **out_type)
{
    return module_func(0, i, out_name, out_type);
}

size_t weft_cosmictron_cosm_func_count(void)
{
    return modules[1].n;
}

int weft_cosmictron_cosm_func(size_t i, const char **out_name, weft_functype_t **out_type)
{
    return module_func(1, i, out_name, out_type);
}

size_t weft_cosmictron_console_func_count(void)
{
    return modules[2].n;
}

int weft_cosmictron_console_func(size_t i, const char **out_name, weft_functype_t **out_type)
{
    return module_func(2, i, out_name, out_type);
}

size_t weft_cosmictron_func_count(void)
{
    size_t n = 0;
    for (size_t m = 0; m < NMODULES; m++) n += modules[m].n;
    return n;
}

int weft_cosmictron_func(size_t i, const char **out_module, const char **out_name,
                         weft_functype_t **out_type)
{
    for (size_t m = 0; m < NMODULES; m++) {
        if (i < modules[m].n) {
            *out_module = modules[m].module;
            return module_func(m, i, out_name, out_type);
        }
        i -= modules[m].n;
    }
    return WEFT_ENOTFOUND;
}

/* ---- the binding ---------------------------------------------------------- */

static void rows_free(rows_block_t *b)
{
    while (b) {
        rows_block_t *next = b->next;
        free(b);
        b = next;
    }
}

static void clear_call(weft_cosmictron_t *c)
{
    for (size_t i = 0; i < c->nlogs; i++) free(c->logs[i].msg);
    c->nchanges = c->nscheduled = 0;
    if (c->rows) { /* the first block stays for the next call */
        rows_free(c->rows->next);
        c->rows->next = NULL;
        c->rows->len = 0;
        c->rows_tail = c->rows;
    }
    c->nlogs = c->logs_dropped = c->collected = 0;
    c->call_error = 0;
    free(c->http_req);
    free(c->http_resp);
    c->http_req = c->http_resp = NULL;
    c->http_req_len = c->http_resp_len = 0;
}

int weft_cosmictron_new(const weft_cosmictron_config_t *cfg, weft_cosmictron_t **out)
{
    if (!out) return WEFT_EARG;
    *out = NULL;
    if (!cfg || (!cfg->db && cfg->schema) || !cfg->context) return WEFT_EARG;
    size_t cl = strlen(cfg->context);
    if (cl == 0 || cl > 255) return WEFT_EARG;
    weft_cosmictron_t *c = calloc(1, sizeof *c);
    if (!c) return WEFT_ENOMEM;
    c->db = cfg->db;
    memcpy(c->ctx, cfg->context, cl);
    c->ctx_len = cl;
    c->schema = cfg->schema;
    c->min_log_level = cfg->min_log_level;
    c->fetch = cfg->fetch;
    c->fetch_user = cfg->fetch_user;
    int rc = 0;
    if (!c->schema) {
        /* version 1, no tables, no reducers */
        static const uint8_t empty[12] = {1};
        if ((rc = weft_schema_parse(empty, sizeof empty, &c->own_schema, NULL, 0))) goto fail;
        c->schema = c->own_schema;
    }
    if ((rc = weft_tables_new(c->schema, c->ctx, cl, &c->tables))) goto fail;
    weft_tables_set_origin(c->tables, cfg->origin);
    weft_tables_observe(c->tables, observed_change, c);
    *out = c;
    return 0;
fail:
    weft_cosmictron_delete(c);
    return rc == WEFT_EARG ? WEFT_ENOMEM : rc;
}

void weft_cosmictron_delete(weft_cosmictron_t *c)
{
    if (!c) return;
    clear_call(c);
    free(c->logs);
    free(c->changes);
    rows_free(c->rows);
    weft_tables_delete(c->tables);
    weft_schema_delete(c->own_schema);
    free(c);
}

static int64_t now_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void weft_cosmictron_begin_call(weft_cosmictron_t *c, weft_txn_t *txn, const uint8_t *identity,
                                size_t identity_len, int64_t timestamp_us)
{
    clear_call(c);
    c->txn = txn;
    c->view = 0;
    if (identity_len > WEFT_COSM_IDENTITY_LEN) identity_len = WEFT_COSM_IDENTITY_LEN;
    memset(c->identity, 0, sizeof c->identity);
    if (identity_len) memcpy(c->identity, identity, identity_len);
    c->identity_len = identity_len;
    c->timestamp_us = timestamp_us ? timestamp_us : now_us();
    weft_tables_begin_call(c->tables, txn, c->identity, identity_len);
}

void weft_cosmictron_begin_view(weft_cosmictron_t *c, weft_txn_t *txn, const uint8_t *identity,
                                size_t identity_len, int64_t timestamp_us)
{
    weft_cosmictron_begin_call(c, txn, identity, identity_len, timestamp_us);
    c->view = 1;
}

void weft_cosmictron_end_call(weft_cosmictron_t *c)
{
    weft_tables_end_call(c->tables);
    c->txn = NULL;
}

size_t weft_cosmictron_scheduled(const weft_cosmictron_t *c)
{
    return c->nscheduled;
}

int weft_cosmictron_call_error(const weft_cosmictron_t *c)
{
    return c->call_error;
}

size_t weft_cosmictron_log_count(const weft_cosmictron_t *c)
{
    return c->nlogs;
}

int weft_cosmictron_log(const weft_cosmictron_t *c, size_t i, int *out_level, const char **out_msg,
                        size_t *out_len)
{
    if (i >= c->nlogs) return WEFT_ENOTFOUND;
    *out_level = c->logs[i].level;
    *out_msg = c->logs[i].msg;
    *out_len = c->logs[i].len;
    return 0;
}

size_t weft_cosmictron_change_count(const weft_cosmictron_t *c)
{
    return c->nchanges;
}

int weft_cosmictron_change(const weft_cosmictron_t *c, size_t i, int *out_op, uint32_t *out_table,
                           const uint8_t **out_row, size_t *out_len)
{
    if (i >= c->nchanges) return WEFT_ENOTFOUND;
    *out_op = c->changes[i].op;
    *out_table = c->changes[i].table;
    *out_row = c->changes[i].row;
    *out_len = c->changes[i].len;
    return 0;
}

size_t weft_cosmictron_logs_dropped(const weft_cosmictron_t *c)
{
    return c->logs_dropped;
}

const char *weft_cosmictron_level_name(int level)
{
    static const char *const names[] = {"trace", "debug", "info", "warn", "error"};
    return level >= 0 && level <= 4 ? names[level] : "info";
}

typedef struct {
    weft_cosmictron_schedule_fn fn;
    void *user;
    int rc;
} sched_scan_t;

static int sched_visit(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                       size_t val_len)
{
    sched_scan_t *s = user;
    weft_bsatn_reader_t r;
    uint32_t nl, al;
    if (key_len != 9) return 0;
    weft_bsatn_reader_init(&r, val, val_len);
    int64_t at = (int64_t)weft_bsatn_get_u64(&r);
    const uint8_t *name = weft_bsatn_get_bytes(&r, &nl);
    const uint8_t *a = weft_bsatn_get_bytes(&r, &al);
    if (r.err) {
        s->rc = WEFT_EDAMAGED;
        return 1;
    }
    return s->fn(s->user, get_be64(key + 1), at, (const char *)name, nl, a, al);
}

int weft_cosmictron_schedules(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                              weft_cosmictron_schedule_fn fn, void *user)
{
    static const uint8_t prefix[1] = {WEFT_COSM_SCHEDULE_KIND};
    sched_scan_t s = {fn, user, 0};
    int rc = weft_txn_scan(txn, WEFT_SPACE_TABLES, ctx, ctx_len, prefix, 1, NULL, 0, sched_visit, &s);
    return rc ? rc : s.rc;
}

/* ---- deploy and reducers ------------------------------------------------- */

static int msgf(char *msg, size_t size, int rc, const char *fmt, const char *arg)
{
    if (msg && size) snprintf(msg, size, fmt, arg);
    return rc;
}

/* The export `name` if it is a function of type (params) -> (results). */
static weft_func_t *export_func(weft_instance_t *inst, const char *name, const char *params,
                                const char *results)
{
    weft_extern_t ext;
    if (weft_instance_export(inst, name, &ext) != 0 || ext.kind != WEFT_EXTERN_FUNC) return NULL;
    const weft_functype_t *ft = weft_func_type(ext.of.func);
    size_t np = strlen(params), nr = strlen(results);
    if (weft_functype_nparams(ft) != np || weft_functype_nresults(ft) != nr) return NULL;
    for (size_t i = 0; i < np; i++)
        if (weft_functype_param(ft, i) != (params[i] == 'I' ? WEFT_I64 : WEFT_I32)) return NULL;
    for (size_t i = 0; i < nr; i++)
        if (weft_functype_result(ft, i) != (results[i] == 'I' ? WEFT_I64 : WEFT_I32)) return NULL;
    return ext.of.func;
}

static weft_memory_t *instance_memory(weft_instance_t *inst)
{
    weft_extern_t ext;
    if (weft_instance_export(inst, "memory", &ext) != 0 || ext.kind != WEFT_EXTERN_MEMORY)
        return NULL;
    return ext.of.memory;
}

int weft_cosmictron_read_schema(weft_store_t *store, weft_instance_t *inst, weft_schema_t **out,
                                char *msg, size_t msg_size)
{
    weft_val_t res;
    *out = NULL;
    weft_func_t *f = export_func(inst, "__describe_module__", "", "I");
    if (!f)
        return msgf(msg, msg_size, WEFT_ENOTFOUND,
                    "the module exports no %s () -> i64 (docs/cosmictron.md, Schema)",
                    "__describe_module__");
    int rc = weft_func_call(store, f, NULL, 0, &res, 1);
    if (rc) return msgf(msg, msg_size, rc, "%s trapped", "__describe_module__");
    uint32_t ptr = (uint32_t)((uint64_t)res.of.i64 & 0xFFFFFFFFu);
    uint32_t len = (uint32_t)((uint64_t)res.of.i64 >> 32);
    weft_memory_t *mem = instance_memory(inst);
    const uint8_t *p = mem ? weft_memory_ptr(mem, ptr, len) : NULL;
    if (!p)
        return msgf(msg, msg_size, WEFT_EARG, "%s returned a range outside memory",
                    "__describe_module__");
    /* parsed from a copy inside weft_schema_parse: guest memory may move */
    return weft_schema_parse(p, len, out, msg, msg_size);
}

int weft_cosmictron_describe(weft_engine_t *engine, weft_module_t *module, weft_schema_t **out,
                             char *msg, size_t msg_size)
{
    weft_store_t *store = weft_store_new(engine);
    weft_linker_t *linker = store ? weft_linker_new(store) : NULL;
    weft_wasi_t *wasi = NULL;
    weft_cosmictron_t *cosm = NULL;
    weft_instance_t *inst;
    weft_extern_t ext;
    int rc = WEFT_ENOMEM;
    *out = NULL;
    msgf(msg, msg_size, 0, "%s", "out of memory");
    if (!linker) goto done;
    weft_wasi_config_t wc = weft_wasi_config_default();
    wc.stdin_fd = wc.stdout_fd = wc.stderr_fd = -1;
    weft_cosmictron_config_t cc = {NULL, "describe", NULL, 0, NULL, NULL, NULL};
    if ((rc = weft_wasi_new(&wc, &wasi, msg, msg_size)) != 0 ||
        (rc = weft_wasi_define_imports(wasi, linker, module)) != 0 ||
        (rc = weft_cosmictron_new(&cc, &cosm)) != 0 ||
        (rc = weft_cosmictron_define_imports(cosm, linker, module)) != 0)
        goto done;
    if ((rc = weft_linker_instantiate(linker, module, &inst)) != 0) {
        msgf(msg, msg_size, 0, "cannot instantiate: %s", weft_store_errmsg(store));
        goto done;
    }
    if (weft_instance_export(inst, "_initialize", &ext) == 0 && ext.kind == WEFT_EXTERN_FUNC &&
        (rc = weft_func_call(store, ext.of.func, NULL, 0, NULL, 0)) != 0) {
        msgf(msg, msg_size, 0, "_initialize trapped: %s", weft_store_trap_message(store));
        goto done;
    }
    rc = weft_cosmictron_read_schema(store, inst, out, msg, msg_size);
done:
    weft_linker_delete(linker);
    weft_store_delete(store);
    weft_wasi_delete(wasi);
    weft_cosmictron_delete(cosm);
    return rc;
}

int weft_cosmictron_invoke(weft_store_t *store, weft_instance_t *inst, const char *name,
                           const uint8_t *args, size_t args_len, int32_t *out_result, char *msg,
                           size_t msg_size)
{
    weft_val_t a[2], res;
    int rc;
    if (args_len > WEFT_TABLES_MAX_ROW) return msgf(msg, msg_size, WEFT_EARG, "%s", "arguments over 1 MiB");
    weft_func_t *alloc = export_func(inst, "__cosm_alloc", "i", "i");
    weft_func_t *f = export_func(inst, name, "ii", "i");
    if (!alloc)
        return msgf(msg, msg_size, WEFT_ENOTFOUND, "the module exports no %s (i32) -> i32",
                    "__cosm_alloc");
    if (!f)
        return msgf(msg, msg_size, WEFT_ENOTFOUND,
                    "the module exports no reducer %s (i32 ptr, i32 len) -> i32", name);
    a[0] = weft_val_i32((int32_t)args_len);
    if ((rc = weft_func_call(store, alloc, a, 1, &res, 1)))
        return msgf(msg, msg_size, rc, "%s trapped", "__cosm_alloc");
    uint32_t ptr = (uint32_t)res.of.i32;
    weft_memory_t *mem = instance_memory(inst);
    uint8_t *p = mem ? weft_memory_ptr(mem, ptr, args_len) : NULL;
    if (!p || (args_len && ptr == 0))
        return msgf(msg, msg_size, WEFT_EARG, "%s gave no room for the arguments", "__cosm_alloc");
    if (args_len) memcpy(p, args, args_len);
    a[0] = weft_val_i32((int32_t)ptr);
    a[1] = weft_val_i32((int32_t)args_len);
    if ((rc = weft_func_call(store, f, a, 2, &res, 1)))
        return msgf(msg, msg_size, rc, "reducer %s trapped", name);
    *out_result = res.of.i32;
    return 0;
}
