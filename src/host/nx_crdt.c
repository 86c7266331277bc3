/*
 * nx_crdt.c — the nx CRDT functions: crdt_gcounter_*, crdt_pncounter_*,
 * crdt_lww_*, crdt_lww_map_*, crdt_orset_* and crdt_rga_*.
 *
 * Each (context, key) holds one replicated state (weft/crdt_store.h); a
 * write is weft_crdt_local in the call's transaction, so the state change,
 * its op-log entry and the node's clock are committed or rolled back with
 * the call. Reads load the state (weft_crdt_read; of a map or set only the
 * field or element asked for, weft_crdt_read_part) and encode it with
 * weft/crdt.h, whose outputs are already the ABI's. Everything needs sync:
 * with WEFT_NX_SYNC off every function answers ERR_SYNC_DISABLED (after
 * its guest pointers were checked, like net_*). A key of one type used as
 * another, or an input over its bound, is ERR_INTERNAL; decisions in
 * docs/nx.md.
 *
 * Fuel (nx_priv.h): each function charges its base and input ranges before
 * any other work; the stored data a read loads right after the load, and
 * what a write read and wrote (weft_crdt_local's stored_bytes) right after
 * the write, since only then is its size known; outputs before the copy.
 */
#include <string.h>
#include <time.h>

#include "nx_priv.h"
#include "weft/crdt_store.h"

/* ---- helpers ------------------------------------------------------------- */

static uint64_t wall_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The op origin: the node id (32 bytes with `weft run`); an embedder that
 * gave none writes as the all-zero placeholder net_node_id reports. */
static void node_origin(const weft_nx_t *nx, uint8_t out[WEFT_CRDT_ORIGIN_LEN])
{
    size_t n = nx->node_id_len < WEFT_CRDT_ORIGIN_LEN ? nx->node_id_len : WEFT_CRDT_ORIGIN_LEN;
    memset(out, 0, WEFT_CRDT_ORIGIN_LEN);
    if (n) memcpy(out, nx->node_id, n);
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* 0 to go on, else the guest's code: sync off, key over the limit, key
 * reserved (in that order). */
static int key_code(const weft_nx_t *nx, const uint8_t *key, uint32_t kl)
{
    if (!(nx->flags & WEFT_NX_SYNC)) return WEFT_NX_ERR_SYNC_DISABLED;
    if (kl > WEFT_NX_MAX_KEY) return WEFT_NX_ERR_INTERNAL;
    if (nx_reserved(key, kl)) return WEFT_NX_ERR_RESERVED_KEY;
    return 0;
}

static int no_call(weft_caller_t *caller, const char *fn)
{
    return weft_caller_trap(caller, "nx.%s: called outside a call (no transaction)", fn);
}

/* Loads key's state of `type` for a read: of a map or set only the part
 * (field, element) `part` when part is not NULL. Returns 0 with *out set
 * (NULL when the key has no state), or -1 after setting the guest's result
 * (a key of another type: ERR_INTERNAL) or recording a store error; *cb is
 * then what the callback must return. */
static int load_part(weft_nx_t *nx, weft_caller_t *caller, weft_raw_t *args, const char *fn,
                     const uint8_t *key, uint32_t kl, uint8_t type, const uint8_t *part,
                     uint32_t part_len, weft_crdt_state_t **out, int *cb)
{
    int rc = part ? weft_crdt_read_part(nx->txn, nx->ctx, nx->ctx_len, key, kl, type, part,
                                        part_len, out)
                  : weft_crdt_read(nx->txn, nx->ctx, nx->ctx_len, key, kl, type, out);
    if (rc == 0) {
        /* the stored data loaded (fuel: nx_priv.h) */
        if ((*cb = nx_charge(caller, NX_FUEL(weft_crdt_state_bytes(*out)))) == 0) return 0;
        weft_crdt_state_delete(*out);
        *out = NULL;
        return -1;
    }
    *out = NULL;
    if (rc == WEFT_ENOTFOUND) return 0;
    if (rc == WEFT_EARG) {
        args[0].i32 = WEFT_NX_ERR_INTERNAL;
        *cb = 0;
    } else {
        *cb = nx_store_error(nx, caller, args, fn, rc);
    }
    return -1;
}

static int load(weft_nx_t *nx, weft_caller_t *caller, weft_raw_t *args, const char *fn,
                const uint8_t *key, uint32_t kl, uint8_t type, weft_crdt_state_t **out, int *cb)
{
    return load_part(nx, caller, args, fn, key, kl, type, NULL, 0, out, cb);
}

/* Whether a failed INC/DEC failed because the origin's total would pass
 * 2^64 - 1 (an input error), not because of the store (weft_crdt_local
 * reports both as WEFT_ELIMIT). Only on the error path: costs one read. */
static int counter_overflows(weft_nx_t *nx, const uint8_t *key, uint32_t kl, uint8_t type,
                             uint8_t kind, uint64_t delta)
{
    weft_crdt_state_t *st = NULL;
    uint8_t origin[WEFT_CRDT_ORIGIN_LEN], buf[32];
    size_t len;
    node_origin(nx, origin);
    if (weft_crdt_read(nx->txn, nx->ctx, nx->ctx_len, key, kl, type, &st) != 0) return 0;
    int rc = weft_crdt_payload_counter(st, origin, kind, delta, buf, sizeof buf, &len);
    weft_crdt_state_delete(st);
    return rc == WEFT_ELIMIT;
}

/* One local op on key through weft_crdt_local. Sets the guest's result (0
 * on success) and returns what the callback must return. */
static int local_op(weft_nx_t *nx, weft_caller_t *caller, weft_raw_t *args, const char *fn,
                    const uint8_t *key, uint32_t kl, uint8_t type, uint8_t kind,
                    const weft_crdt_input_t *in, weft_crdt_id_t *out_id)
{
    uint8_t origin[WEFT_CRDT_ORIGIN_LEN];
    size_t stored = 0;
    if (nx->view) return nx_view_write(caller, fn);
    node_origin(nx, origin);
    int rc = weft_crdt_local(nx->txn, origin, wall_ms(), nx->ctx, nx->ctx_len, key, kl, type,
                             kind, in, out_id, &stored);
    if (rc == 0) {
        /* the stored data read and written, known only now (docs/nx.md) */
        if ((rc = nx_charge(caller, NX_FUEL(stored)))) return rc;
        NX_RETURN(WEFT_NX_OK);
    }
    /* WEFT_EARG: the key holds another type, or an input the op format
     * refuses; WEFT_ENOTFOUND: an RGA parent or element this replica does
     * not know. None touched the transaction. */
    if (rc == WEFT_EARG) NX_RETURN(WEFT_NX_ERR_INTERNAL);
    if (rc == WEFT_ENOTFOUND) NX_RETURN(WEFT_NX_ERR_NOT_FOUND);
    if (rc == WEFT_ELIMIT && (kind == WEFT_CRDT_INC || kind == WEFT_CRDT_DEC) &&
        counter_overflows(nx, key, kl, type, kind, in->delta))
        NX_RETURN(WEFT_NX_ERR_INTERNAL);
    return nx_store_error(nx, caller, args, fn, rc);
}

/* An encoded read (map entries, set elements, RGA values) into the guest's
 * buffer: sized first, so a buffer too small is left untouched. An absent
 * key reads as an empty list (u32 0). */
typedef int (*encode_fn)(const weft_crdt_state_t *st, uint8_t *buf, size_t cap, size_t *out_len);

static int encoded_read(weft_caller_t *caller, void *user, weft_raw_t *args, const char *fn,
                        uint8_t type, encode_fn encode)
{
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1), cap = NX_ARG32(3);
    int rc, code, cb;
    const uint8_t *key = nx_guest(caller, NX_ARG32(0), kl, fn, &rc);
    if (!key) return rc;
    uint8_t *out = nx_guest(caller, NX_ARG32(2), cap, fn, &rc);
    if (!out) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(kl)))) return rc;
    if ((code = key_code(nx, key, kl)) != 0) NX_RETURN(code);
    if (!nx->txn) return no_call(caller, fn);
    weft_crdt_state_t *st;
    if (load(nx, caller, args, fn, key, kl, type, &st, &cb)) return cb;
    size_t need = 4, limit = cap < WEFT_NX_MAX_OUTPUT ? cap : WEFT_NX_MAX_OUTPUT;
    if (st) {
        rc = encode(st, NULL, 0, &need);
        if (rc != 0 && rc != WEFT_ELIMIT) {
            weft_crdt_state_delete(st);
            NX_RETURN(WEFT_NX_ERR_INTERNAL);
        }
    }
    if (need > limit) {
        weft_crdt_state_delete(st);
        NX_RETURN(WEFT_NX_ERR_BUFFER_TOO_SMALL);
    }
    if ((rc = nx_charge(caller, NX_FUEL(need)))) {
        weft_crdt_state_delete(st);
        return rc;
    }
    if (st) {
        rc = encode(st, out, need, &need);
        weft_crdt_state_delete(st);
        if (rc != 0) NX_RETURN(WEFT_NX_ERR_INTERNAL);
    } else {
        memset(out, 0, 4);
    }
    NX_RETURN((int32_t)need);
}

/* ---- counters ------------------------------------------------------------ */

/* A delta of 0 changes nothing and writes no op (docs/nx.md). */
static int counter_op(weft_caller_t *caller, void *user, weft_raw_t *args, const char *fn,
                      uint8_t type, uint8_t kind)
{
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1);
    uint64_t delta = (uint64_t)args[2].i64;
    int rc, code;
    const uint8_t *key = nx_guest(caller, NX_ARG32(0), kl, fn, &rc);
    if (!key) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(kl)))) return rc;
    if ((code = key_code(nx, key, kl)) != 0) NX_RETURN(code);
    if (!nx->txn) return no_call(caller, fn);
    if (delta == 0) NX_RETURN(WEFT_NX_OK);
    weft_crdt_input_t in = {.delta = delta};
    return local_op(nx, caller, args, fn, key, kl, type, kind, &in, NULL);
}

static int fn_gcounter_inc(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return counter_op(caller, user, args, "crdt_gcounter_inc", WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC);
}

static int fn_pncounter_inc(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return counter_op(caller, user, args, "crdt_pncounter_inc", WEFT_CRDT_PNCOUNTER,
                      WEFT_CRDT_INC);
}

static int fn_pncounter_dec(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return counter_op(caller, user, args, "crdt_pncounter_dec", WEFT_CRDT_PNCOUNTER,
                      WEFT_CRDT_DEC);
}

/* An absent counter reads 0. */
static int counter_value(weft_caller_t *caller, void *user, weft_raw_t *args, const char *fn,
                         uint8_t type)
{
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1), cap = NX_ARG32(3);
    int rc, code, cb;
    const uint8_t *key = nx_guest(caller, NX_ARG32(0), kl, fn, &rc);
    if (!key) return rc;
    uint8_t *out = nx_guest(caller, NX_ARG32(2), cap, fn, &rc);
    if (!out) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(kl)))) return rc;
    if ((code = key_code(nx, key, kl)) != 0) NX_RETURN(code);
    if (!nx->txn) return no_call(caller, fn);
    if (cap < 8) NX_RETURN(WEFT_NX_ERR_BUFFER_TOO_SMALL);
    weft_crdt_state_t *st;
    if (load(nx, caller, args, fn, key, kl, type, &st, &cb)) return cb;
    uint64_t v = 0;
    rc = 0;
    if (st && type == WEFT_CRDT_GCOUNTER) {
        rc = weft_crdt_gcounter_value(st, &v);
    } else if (st) {
        int64_t s = 0;
        rc = weft_crdt_pncounter_value(st, &s);
        v = (uint64_t)s;
    }
    weft_crdt_state_delete(st);
    if (rc != 0) NX_RETURN(WEFT_NX_ERR_INTERNAL);
    if ((rc = nx_charge(caller, NX_FUEL(8)))) return rc;
    put_u64(out, v);
    NX_RETURN(8);
}

static int fn_gcounter_value(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return counter_value(caller, user, args, "crdt_gcounter_value", WEFT_CRDT_GCOUNTER);
}

static int fn_pncounter_value(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return counter_value(caller, user, args, "crdt_pncounter_value", WEFT_CRDT_PNCOUNTER);
}

/* ---- LWW register -------------------------------------------------------- */

static int fn_lww_set(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "crdt_lww_set";
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1), vl = NX_ARG32(3);
    int rc, code;
    const uint8_t *key = nx_guest(caller, NX_ARG32(0), kl, fn, &rc);
    if (!key) return rc;
    const uint8_t *val = nx_guest(caller, NX_ARG32(2), vl, fn, &rc);
    if (!val) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(kl) + NX_FUEL(vl)))) return rc;
    if ((code = key_code(nx, key, kl)) != 0) NX_RETURN(code);
    if (vl > WEFT_NX_MAX_VALUE) NX_RETURN(WEFT_NX_ERR_INTERNAL);
    if (!nx->txn) return no_call(caller, fn);
    weft_crdt_input_t in = {.value = val, .value_len = vl};
    return local_op(nx, caller, args, fn, key, kl, WEFT_CRDT_LWW_REG, WEFT_CRDT_SET, &in, NULL);
}

/* Copies a borrowed value into the guest's buffer (nothing when too small),
 * charging it first; returns what the callback returns. */
static int value_out(weft_caller_t *caller, weft_raw_t *args, uint8_t *out, uint32_t cap,
                     const uint8_t *v, size_t vl)
{
    int rc;
    if (vl > cap || vl > WEFT_NX_MAX_OUTPUT) NX_RETURN(WEFT_NX_ERR_BUFFER_TOO_SMALL);
    if ((rc = nx_charge(caller, NX_FUEL(vl)))) return rc;
    if (vl) memmove(out, v, vl);
    NX_RETURN((int32_t)vl);
}

static int fn_lww_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "crdt_lww_get";
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1), cap = NX_ARG32(3);
    int rc, code, cb;
    const uint8_t *key = nx_guest(caller, NX_ARG32(0), kl, fn, &rc);
    if (!key) return rc;
    uint8_t *out = nx_guest(caller, NX_ARG32(2), cap, fn, &rc);
    if (!out) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(kl)))) return rc;
    if ((code = key_code(nx, key, kl)) != 0) NX_RETURN(code);
    if (!nx->txn) return no_call(caller, fn);
    weft_crdt_state_t *st;
    if (load(nx, caller, args, fn, key, kl, WEFT_CRDT_LWW_REG, &st, &cb)) return cb;
    if (!st) NX_RETURN(WEFT_NX_ERR_NOT_FOUND);
    const uint8_t *v;
    size_t vl;
    rc = weft_crdt_lww_get(st, &v, &vl);
    cb = 0;
    if (rc == 0)
        cb = value_out(caller, args, out, cap, v, vl);
    else
        args[0].i32 = rc == WEFT_ENOTFOUND ? WEFT_NX_ERR_NOT_FOUND : WEFT_NX_ERR_INTERNAL;
    weft_crdt_state_delete(st);
    return cb;
}

/* ---- LWW map ------------------------------------------------------------- */

/* The guest's key and second range (field, element or id: arguments 0-3),
 * checked: 0 with both set, else -1 with *cb what the callback returns. */
static int map_args(weft_caller_t *caller, weft_raw_t *args, const char *fn,
                    const uint8_t **out_key, const uint8_t **out_field, int *cb)
{
    if (!(*out_key = nx_guest(caller, NX_ARG32(0), NX_ARG32(1), fn, cb))) return -1;
    if (!(*out_field = nx_guest(caller, NX_ARG32(2), NX_ARG32(3), fn, cb))) return -1;
    return 0;
}

/* 0, or the code for a key or field the guest may not use. */
static int map_code(const weft_nx_t *nx, const uint8_t *key, uint32_t kl, uint32_t fl)
{
    int code = key_code(nx, key, kl);
    if (code == 0 && fl > WEFT_CRDT_FIELD_MAX) code = WEFT_NX_ERR_INTERNAL;
    return code;
}

/* The whole prologue of a function taking a key and a field or element
 * (arguments 0-3) and nothing else from guest memory: the ranges, the fuel
 * for them, their limits, the call's transaction. 0 to go on with both
 * set, else -1 with *cb what the callback returns (the guest's result is
 * set when it is a code). */
static int field_call(weft_nx_t *nx, weft_caller_t *caller, weft_raw_t *args, const char *fn,
                      const uint8_t **key, const uint8_t **field, int *cb)
{
    uint32_t kl = NX_ARG32(1), fl = NX_ARG32(3);
    int code;
    if (map_args(caller, args, fn, key, field, cb)) return -1;
    if ((*cb = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(kl) + NX_FUEL(fl)))) return -1;
    if ((code = map_code(nx, *key, kl, fl)) != 0) {
        args[0].i32 = code;
        *cb = 0;
        return -1;
    }
    if (!nx->txn) {
        *cb = no_call(caller, fn);
        return -1;
    }
    return 0;
}

static int fn_lww_map_set(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "crdt_lww_map_set";
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1), fl = NX_ARG32(3), vl = NX_ARG32(5);
    const uint8_t *key, *field;
    int rc, code;
    if (map_args(caller, args, fn, &key, &field, &rc)) return rc;
    const uint8_t *val = nx_guest(caller, NX_ARG32(4), vl, fn, &rc);
    if (!val) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(kl) + NX_FUEL(fl) + NX_FUEL(vl))))
        return rc;
    if ((code = map_code(nx, key, kl, fl)) != 0) NX_RETURN(code);
    if (vl > WEFT_NX_MAX_VALUE) NX_RETURN(WEFT_NX_ERR_INTERNAL);
    if (!nx->txn) return no_call(caller, fn);
    weft_crdt_input_t in = {.field = field, .field_len = fl, .value = val, .value_len = vl};
    return local_op(nx, caller, args, fn, key, kl, WEFT_CRDT_LWW_MAP, WEFT_CRDT_MAP_SET, &in,
                    NULL);
}

/* Removing a field writes a tombstone even when the field is absent here:
 * it must still win over a concurrent older set from another node. */
static int fn_lww_map_remove(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "crdt_lww_map_remove";
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1), fl = NX_ARG32(3);
    const uint8_t *key, *field;
    int cb;
    if (field_call(nx, caller, args, fn, &key, &field, &cb)) return cb;
    weft_crdt_input_t in = {.field = field, .field_len = fl};
    return local_op(nx, caller, args, fn, key, kl, WEFT_CRDT_LWW_MAP, WEFT_CRDT_MAP_REMOVE, &in,
                    NULL);
}

static int fn_lww_map_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "crdt_lww_map_get";
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1), fl = NX_ARG32(3), cap = NX_ARG32(5);
    const uint8_t *key, *field;
    int rc, code, cb;
    if (map_args(caller, args, fn, &key, &field, &rc)) return rc;
    uint8_t *out = nx_guest(caller, NX_ARG32(4), cap, fn, &rc);
    if (!out) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(kl) + NX_FUEL(fl)))) return rc;
    if ((code = map_code(nx, key, kl, fl)) != 0) NX_RETURN(code);
    if (!nx->txn) return no_call(caller, fn);
    weft_crdt_state_t *st;
    if (load_part(nx, caller, args, fn, key, kl, WEFT_CRDT_LWW_MAP, field, fl, &st, &cb))
        return cb;
    if (!st) NX_RETURN(WEFT_NX_ERR_NOT_FOUND);
    const uint8_t *v;
    size_t vl;
    rc = weft_crdt_map_get(st, field, fl, &v, &vl);
    cb = 0;
    if (rc == 0)
        cb = value_out(caller, args, out, cap, v, vl);
    else
        args[0].i32 = rc == WEFT_ENOTFOUND ? WEFT_NX_ERR_NOT_FOUND : WEFT_NX_ERR_INTERNAL;
    weft_crdt_state_delete(st);
    return cb;
}

/* map_contains and orset_contains: 1 or 0 (an absent key holds nothing). */
typedef int (*contains_fn)(const weft_crdt_state_t *st, const uint8_t *p, size_t len);

static int contains(weft_caller_t *caller, void *user, weft_raw_t *args, const char *fn,
                    uint8_t type, contains_fn test)
{
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1), fl = NX_ARG32(3);
    const uint8_t *key, *field;
    int rc, cb;
    if (field_call(nx, caller, args, fn, &key, &field, &cb)) return cb;
    weft_crdt_state_t *st;
    if (load_part(nx, caller, args, fn, key, kl, type, field, fl, &st, &cb)) return cb;
    if (!st) NX_RETURN(0);
    rc = test(st, field, fl);
    weft_crdt_state_delete(st);
    NX_RETURN(rc < 0 ? WEFT_NX_ERR_INTERNAL : rc != 0);
}

static int fn_lww_map_contains(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return contains(caller, user, args, "crdt_lww_map_contains", WEFT_CRDT_LWW_MAP,
                    weft_crdt_map_contains);
}

static int fn_lww_map_entries(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return encoded_read(caller, user, args, "crdt_lww_map_entries", WEFT_CRDT_LWW_MAP,
                        weft_crdt_map_entries);
}

/* ---- ORSet ----------------------------------------------------------------- */

static int fn_orset_add(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "crdt_orset_add";
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1), el = NX_ARG32(3);
    const uint8_t *key, *elem;
    int cb;
    if (field_call(nx, caller, args, fn, &key, &elem, &cb)) return cb;
    weft_crdt_input_t in = {.value = elem, .value_len = el};
    return local_op(nx, caller, args, fn, key, kl, WEFT_CRDT_ORSET, WEFT_CRDT_ADD, &in, NULL);
}

/* Removing an element not visible here is a no-op that writes no op: it
 * would carry no tags, so it could not remove anything anywhere. */
static int fn_orset_remove(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "crdt_orset_remove";
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1), el = NX_ARG32(3);
    const uint8_t *key, *elem;
    int rc, cb;
    if (field_call(nx, caller, args, fn, &key, &elem, &cb)) return cb;
    weft_crdt_state_t *st;
    if (load_part(nx, caller, args, fn, key, kl, WEFT_CRDT_ORSET, elem, el, &st, &cb)) return cb;
    rc = st ? weft_crdt_orset_contains(st, elem, el) : 0;
    weft_crdt_state_delete(st);
    if (rc < 0) NX_RETURN(WEFT_NX_ERR_INTERNAL);
    if (rc == 0) NX_RETURN(WEFT_NX_OK);
    weft_crdt_input_t in = {.value = elem, .value_len = el};
    return local_op(nx, caller, args, fn, key, kl, WEFT_CRDT_ORSET, WEFT_CRDT_REMOVE, &in, NULL);
}

static int fn_orset_contains(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return contains(caller, user, args, "crdt_orset_contains", WEFT_CRDT_ORSET,
                    weft_crdt_orset_contains);
}

static int fn_orset_elements(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return encoded_read(caller, user, args, "crdt_orset_elements", WEFT_CRDT_ORSET,
                        weft_crdt_orset_elements);
}

/* ---- RGA ------------------------------------------------------------------- */

/* An element id as guests see it (docs/nx.md): its 40 bytes
 * (weft_crdt_id_to_bytes: origin node id, u64 seq LE) in RFC 4648 base32,
 * lowercase, without padding. 320 bits are exactly 64 digits of 5 bits, so
 * every id has one text and no digit carries padding bits; the alphabet is
 * lowercase letters and digits, which a shell needs no quotes for and no
 * argument parser takes for an option. Text, not bytes, because Numax's
 * SDK turns the id into a string (raw bytes fail its UTF-8 check). */
static const char id_digits[] = "abcdefghijklmnopqrstuvwxyz234567";
#define ID_GROUPS (WEFT_CRDT_ID_LEN / 5) /* 5 bytes make 8 digits */

static void id_to_text(const weft_crdt_id_t *id, uint8_t out[WEFT_NX_RGA_ID_TEXT_LEN])
{
    uint8_t raw[WEFT_CRDT_ID_LEN];
    weft_crdt_id_to_bytes(id, raw);
    for (size_t g = 0; g < ID_GROUPS; g++) {
        uint64_t v = 0;
        for (size_t i = 0; i < 5; i++) v = v << 8 | raw[5 * g + i];
        for (size_t i = 0; i < 8; i++) out[8 * g + i] = (uint8_t)id_digits[(v >> (35 - 5 * i)) & 31];
    }
}

/* The id a text names: 0 with *out set, or -1 when it is not 64 digits of
 * the alphabet (upper case is refused too: one text per id) or names seq
 * 0, which no op has. */
static int id_from_text(const uint8_t *p, size_t len, weft_crdt_id_t *out)
{
    uint8_t raw[WEFT_CRDT_ID_LEN];
    if (len != WEFT_NX_RGA_ID_TEXT_LEN) return -1;
    for (size_t g = 0; g < ID_GROUPS; g++) {
        uint64_t v = 0;
        for (size_t i = 0; i < 8; i++) {
            uint8_t c = p[8 * g + i];
            int d = c >= 'a' && c <= 'z' ? c - 'a' : c >= '2' && c <= '7' ? c - '2' + 26 : -1;
            if (d < 0) return -1;
            v = v << 5 | (uint64_t)d;
        }
        for (size_t i = 0; i < 5; i++) raw[5 * g + i] = (uint8_t)(v >> (32 - 8 * i));
    }
    return weft_crdt_id_from_bytes(raw, sizeof raw, out) == 0 ? 0 : -1;
}

/* A parent or id that is not an id's text is ERR_INTERNAL; one this RGA
 * does not know is ERR_NOT_FOUND (a local insert must not wait for a
 * parent that may never come). parent_len 0 inserts at the head.
 * out_id_cap under WEFT_NX_RGA_ID_TEXT_LEN is ERR_BUFFER_TOO_SMALL and
 * inserts nothing. */
static int fn_rga_insert(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "crdt_rga_insert";
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1), pl = NX_ARG32(3), vl = NX_ARG32(5), cap = NX_ARG32(7);
    int rc, code;
    const uint8_t *key = nx_guest(caller, NX_ARG32(0), kl, fn, &rc);
    if (!key) return rc;
    const uint8_t *parent = nx_guest(caller, NX_ARG32(2), pl, fn, &rc);
    if (!parent) return rc;
    const uint8_t *val = nx_guest(caller, NX_ARG32(4), vl, fn, &rc);
    if (!val) return rc;
    uint8_t *out = nx_guest(caller, NX_ARG32(6), cap, fn, &rc);
    if (!out) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(kl) + NX_FUEL(pl) + NX_FUEL(vl))))
        return rc;
    if ((code = key_code(nx, key, kl)) != 0) NX_RETURN(code);
    if (vl > WEFT_NX_MAX_VALUE) NX_RETURN(WEFT_NX_ERR_INTERNAL);
    weft_crdt_id_t pid, id;
    if (pl != 0 && id_from_text(parent, pl, &pid) != 0) NX_RETURN(WEFT_NX_ERR_INTERNAL);
    if (cap < WEFT_NX_RGA_ID_TEXT_LEN) NX_RETURN(WEFT_NX_ERR_BUFFER_TOO_SMALL);
    if (!nx->txn) return no_call(caller, fn);
    weft_crdt_input_t in = {.value = val, .value_len = vl, .target = pl ? &pid : NULL};
    rc = local_op(nx, caller, args, fn, key, kl, WEFT_CRDT_RGA, WEFT_CRDT_INSERT, &in, &id);
    if (rc != 0 || args[0].i32 != WEFT_NX_OK) return rc;
    if ((rc = nx_charge(caller, NX_FUEL(WEFT_NX_RGA_ID_TEXT_LEN)))) return rc;
    id_to_text(&id, out);
    NX_RETURN(WEFT_NX_RGA_ID_TEXT_LEN);
}

/* Deleting a tombstoned element again is 0 (tombstones are idempotent). */
static int fn_rga_delete(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "crdt_rga_delete";
    weft_nx_t *nx = user;
    uint32_t kl = NX_ARG32(1), il = NX_ARG32(3);
    const uint8_t *key, *idb;
    int rc, code;
    if (map_args(caller, args, fn, &key, &idb, &rc)) return rc;
    if ((rc = nx_charge(caller, NX_FUEL_CALL + NX_FUEL(kl) + NX_FUEL(il)))) return rc;
    if ((code = key_code(nx, key, kl)) != 0) NX_RETURN(code);
    weft_crdt_id_t id;
    if (id_from_text(idb, il, &id) != 0) NX_RETURN(WEFT_NX_ERR_INTERNAL);
    if (!nx->txn) return no_call(caller, fn);
    weft_crdt_input_t in = {.target = &id};
    return local_op(nx, caller, args, fn, key, kl, WEFT_CRDT_RGA, WEFT_CRDT_DELETE, &in, NULL);
}

static int fn_rga_values(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return encoded_read(caller, user, args, "crdt_rga_values", WEFT_CRDT_RGA,
                        weft_crdt_rga_values);
}

const nx_func_t nx_crdt_funcs[] = {
    {"crdt_gcounter_inc", "iiI", 'i', fn_gcounter_inc},
    {"crdt_gcounter_value", "iiii", 'i', fn_gcounter_value},
    {"crdt_pncounter_inc", "iiI", 'i', fn_pncounter_inc},
    {"crdt_pncounter_dec", "iiI", 'i', fn_pncounter_dec},
    {"crdt_pncounter_value", "iiii", 'i', fn_pncounter_value},
    {"crdt_lww_set", "iiii", 'i', fn_lww_set},
    {"crdt_lww_get", "iiii", 'i', fn_lww_get},
    {"crdt_lww_map_set", "iiiiii", 'i', fn_lww_map_set},
    {"crdt_lww_map_remove", "iiii", 'i', fn_lww_map_remove},
    {"crdt_lww_map_get", "iiiiii", 'i', fn_lww_map_get},
    {"crdt_lww_map_contains", "iiii", 'i', fn_lww_map_contains},
    {"crdt_lww_map_entries", "iiii", 'i', fn_lww_map_entries},
    {"crdt_orset_add", "iiii", 'i', fn_orset_add},
    {"crdt_orset_remove", "iiii", 'i', fn_orset_remove},
    {"crdt_orset_contains", "iiii", 'i', fn_orset_contains},
    {"crdt_orset_elements", "iiii", 'i', fn_orset_elements},
    {"crdt_rga_insert", "iiiiiiii", 'i', fn_rga_insert},
    {"crdt_rga_delete", "iiii", 'i', fn_rga_delete},
    {"crdt_rga_values", "iiii", 'i', fn_rga_values},
};
const size_t nx_crdt_nfuncs = sizeof nx_crdt_funcs / sizeof nx_crdt_funcs[0];
