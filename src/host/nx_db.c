/*
 * nx_db.c — the nx database functions: db_get, db_set, db_delete,
 * db_exists, db_scan, db_scan_after, db_keys, db_keys_after.
 *
 * They work on the context's keys in WEFT_SPACE_KV inside the call's
 * transaction (weft_nx_begin_call). Keys under the reserved __nx/ prefix
 * are refused with ERR_RESERVED_KEY and skipped by every scan, so offset
 * cursors count visible rows only. Scans and key listings write straight
 * into the guest's buffer (capped at WEFT_NX_MAX_OUTPUT); a page that does
 * not fit fails whole with ERR_BUFFER_TOO_SMALL, never a shorter page a
 * guest could take for the end of the data (decisions in docs/nx.md).
 *
 * Fuel (nx_priv.h): each function charges its base and input ranges before
 * touching the store; db_get charges the value before copying it out, and a
 * scan charges every key it visits, plus the row it writes, before writing
 * it, so a budget that runs out stops the scan at that key.
 */
#include <string.h>

#include "nx_priv.h"

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* 0, or the guest's error code for a key (or prefix) it may not use. */
static int key_code(const uint8_t *key, size_t len)
{
    if (len > WEFT_NX_MAX_KEY) return WEFT_NX_ERR_INTERNAL;
    if (nx_reserved(key, len)) return WEFT_NX_ERR_RESERVED_KEY;
    return 0;
}

static int no_call(weft_caller_t *caller, const char *fn)
{
    return weft_caller_trap(caller, "nx.%s: called outside a call (no transaction)", fn);
}

static int fn_db_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1), cap = NX_ARG32(3);
    int rc, code;
    const uint8_t *key = nx_guest(caller, NX_ARG32(0), kl, "db_get", &rc);
    if (!key) return rc;
    uint8_t *out = nx_guest(caller, NX_ARG32(2), cap, "db_get", &rc);
    if (!out) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(kl)))) return rc;
    if ((code = key_code(key, kl)) != 0) NX_RETURN(code);
    if (!nx->txn) return no_call(caller, "db_get");
    const uint8_t *val;
    size_t vlen;
    rc = weft_txn_get(nx->txn, WEFT_SPACE_KV, nx->ctx, nx->ctx_len, key, kl, &val, &vlen);
    if (rc == WEFT_ENOTFOUND) NX_RETURN(WEFT_NX_ERR_NOT_FOUND);
    if (rc != 0) return nx_store_error(nx, caller, args, "db_get", rc);
    if (vlen > cap || vlen > WEFT_NX_MAX_OUTPUT) NX_RETURN(WEFT_NX_ERR_BUFFER_TOO_SMALL);
    if ((rc = nx_charge(caller, NX_FUEL(vlen)))) return rc;
    if (vlen) memcpy(out, val, vlen);
    NX_RETURN((int32_t)vlen);
}

static int fn_db_set(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1), vl = NX_ARG32(3);
    int rc, code;
    const uint8_t *key = nx_guest(caller, NX_ARG32(0), kl, "db_set", &rc);
    if (!key) return rc;
    const uint8_t *val = nx_guest(caller, NX_ARG32(2), vl, "db_set", &rc);
    if (!val) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(kl) + NX_FUEL(vl)))) return rc;
    if ((code = key_code(key, kl)) != 0) NX_RETURN(code);
    if (vl > WEFT_NX_MAX_VALUE) NX_RETURN(WEFT_NX_ERR_INTERNAL);
    if (!nx->txn) return no_call(caller, "db_set");
    if (nx->view) return nx_view_write(caller, "db_set");
    rc = weft_txn_put(nx->txn, WEFT_SPACE_KV, nx->ctx, nx->ctx_len, key, kl, val, vl);
    if (rc != 0) return nx_store_error(nx, caller, args, "db_set", rc);
    NX_RETURN(WEFT_NX_OK);
}

static int fn_db_delete(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1);
    int rc, code;
    const uint8_t *key = nx_guest(caller, NX_ARG32(0), kl, "db_delete", &rc);
    if (!key) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(kl)))) return rc;
    if ((code = key_code(key, kl)) != 0) NX_RETURN(code);
    if (!nx->txn) return no_call(caller, "db_delete");
    if (nx->view) return nx_view_write(caller, "db_delete");
    rc = weft_txn_del(nx->txn, WEFT_SPACE_KV, nx->ctx, nx->ctx_len, key, kl);
    if (rc != 0 && rc != WEFT_ENOTFOUND) return nx_store_error(nx, caller, args, "db_delete", rc);
    NX_RETURN(WEFT_NX_OK);
}

static int fn_db_exists(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1);
    int rc, code;
    const uint8_t *key = nx_guest(caller, NX_ARG32(0), kl, "db_exists", &rc);
    if (!key) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(kl)))) return rc;
    if ((code = key_code(key, kl)) != 0) NX_RETURN(code);
    if (!nx->txn) return no_call(caller, "db_exists");
    const uint8_t *val;
    size_t vlen;
    rc = weft_txn_get(nx->txn, WEFT_SPACE_KV, nx->ctx, nx->ctx_len, key, kl, &val, &vlen);
    if (rc == WEFT_ENOTFOUND) NX_RETURN(0);
    if (rc != 0) return nx_store_error(nx, caller, args, "db_exists", rc);
    NX_RETURN(1);
}

/* ---- scans ------------------------------------------------------------- */

typedef struct {
    weft_caller_t *caller; /* for fuel */
    int trap;              /* nonzero: fuel ran out; what the callback returns */
    uint8_t *out;
    size_t cap, used;
    uint64_t skip;   /* visible rows still to pass over (offset cursor) */
    uint32_t limit;  /* rows wanted */
    uint32_t count;  /* rows written */
    int values;      /* rows carry values (db_scan*) or keys only (db_keys*) */
    int too_small;
} scan_t;

static int scan_row(void *user, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    scan_t *s = user;
    /* Every key the store hands us costs NX_FUEL_KEY; a row written also
     * its bytes. Charged before the row is copied. */
    size_t need = 4 + klen + (s->values ? 4 + vlen : 0);
    int write = !nx_reserved(key, klen) && !s->skip && s->count < s->limit &&
                need <= s->cap - s->used;
    if ((s->trap = nx_charge(s->caller, NX_FUEL_KEY + (write ? NX_FUEL(need) : 0)))) return 1;
    if (nx_reserved(key, klen)) return 0;
    if (s->skip) {
        s->skip--;
        return 0;
    }
    if (s->count >= s->limit) return 1;
    if (need > s->cap - s->used) {
        s->too_small = 1;
        return 1;
    }
    uint8_t *p = s->out + s->used;
    put_u32(p, (uint32_t)klen);
    p += 4;
    if (s->values) {
        put_u32(p, (uint32_t)vlen);
        p += 4;
    }
    if (klen) memcpy(p, key, klen);
    p += klen;
    if (s->values && vlen) memcpy(p, val, vlen);
    s->used += need;
    s->count++;
    return s->count >= s->limit;
}

/* The common body of the four scans. `after` is NULL for offset cursors. */
static int scan(weft_nx_t *nx, weft_caller_t *caller, weft_raw_t *args, const char *fn, int values,
                uint32_t pptr, uint32_t plen, const uint8_t *after, uint32_t alen, uint64_t skip,
                uint32_t limit, uint32_t optr, uint32_t ocap)
{
    int rc, code;
    uint8_t prefix[WEFT_NX_MAX_KEY], start[WEFT_NX_MAX_KEY];
    const uint8_t *gp = nx_guest(caller, pptr, plen, fn, &rc);
    if (!gp) return rc;
    uint8_t *out = nx_guest(caller, optr, ocap, fn, &rc);
    if (!out) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(plen) + (after ? NX_FUEL(alen) : 0))))
        return rc;
    if ((code = key_code(gp, plen)) != 0) NX_RETURN(code);
    if (after && (code = key_code(after, alen)) != 0) NX_RETURN(code);
    if (!nx->txn) return no_call(caller, fn);
    /* Copies: the guest's output buffer may overlap its prefix or cursor,
     * and the store reads them while we write rows. */
    if (plen) memcpy(prefix, gp, plen);
    if (after && alen) memcpy(start, after, alen);

    scan_t s;
    memset(&s, 0, sizeof s);
    s.caller = caller;
    s.out = out;
    s.cap = ocap < WEFT_NX_MAX_OUTPUT ? ocap : WEFT_NX_MAX_OUTPUT;
    s.used = 4;
    s.skip = skip;
    s.limit = limit;
    s.values = values;
    if (s.cap < 4) NX_RETURN(WEFT_NX_ERR_BUFFER_TOO_SMALL);
    if (limit > 0) {
        rc = weft_txn_scan(nx->txn, WEFT_SPACE_KV, nx->ctx, nx->ctx_len, prefix, plen, start,
                           after ? alen : 0, scan_row, &s);
        if (s.trap) return s.trap;
        if (rc != 0) return nx_store_error(nx, caller, args, fn, rc);
    }
    if (s.too_small) NX_RETURN(WEFT_NX_ERR_BUFFER_TOO_SMALL);
    put_u32(out, s.count);
    NX_RETURN((int32_t)s.used);
}

static int fn_db_scan(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    uint32_t pp = NX_ARG32(0), pl = NX_ARG32(1), limit = NX_ARG32(3), op = NX_ARG32(4),
             oc = NX_ARG32(5);
    uint64_t cursor = (uint64_t)args[2].i64;
    return scan(user, caller, args, "db_scan", 1, pp, pl, NULL, 0, cursor, limit, op, oc);
}

static int fn_db_keys(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    uint32_t pp = NX_ARG32(0), pl = NX_ARG32(1), limit = NX_ARG32(3), op = NX_ARG32(4),
             oc = NX_ARG32(5);
    uint64_t cursor = (uint64_t)args[2].i64;
    return scan(user, caller, args, "db_keys", 0, pp, pl, NULL, 0, cursor, limit, op, oc);
}

/* db_scan_after / db_keys_after: a start_after outside the prefix is not
 * refused; the page is simply the prefix's keys after it (none when it
 * sorts after them all, all when before). */
static int scan_after(weft_caller_t *caller, void *user, weft_raw_t *args, const char *fn,
                      int values)
{
    uint32_t pp = NX_ARG32(0), pl = NX_ARG32(1), ap = NX_ARG32(2), al = NX_ARG32(3),
             limit = NX_ARG32(4), op = NX_ARG32(5), oc = NX_ARG32(6);
    int rc;
    const uint8_t *after = nx_guest(caller, ap, al, fn, &rc);
    if (!after) return rc;
    return scan(user, caller, args, fn, values, pp, pl, after, al, 0, limit, op, oc);
}

static int fn_db_scan_after(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return scan_after(caller, user, args, "db_scan_after", 1);
}

static int fn_db_keys_after(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return scan_after(caller, user, args, "db_keys_after", 0);
}

const nx_func_t nx_db_funcs[] = {
    {"db_get", "iiii", 'i', fn_db_get},
    {"db_set", "iiii", 'i', fn_db_set},
    {"db_delete", "ii", 'i', fn_db_delete},
    {"db_exists", "ii", 'i', fn_db_exists},
    {"db_scan", "iiIiii", 'i', fn_db_scan},
    {"db_scan_after", "iiiiiii", 'i', fn_db_scan_after},
    {"db_keys", "iiIiii", 'i', fn_db_keys},
    {"db_keys_after", "iiiiiii", 'i', fn_db_keys_after},
};
const size_t nx_db_nfuncs = sizeof nx_db_funcs / sizeof nx_db_funcs[0];
