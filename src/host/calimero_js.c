/*
 * calimero_js.c — the js_* functions of the Calimero ABI: the CRDT
 * collections of its JavaScript SDK (map, vector, set, LWW register,
 * counter), user storage and frozen storage, on weft's CRDTs.
 *
 * Every collection has a 32-byte random id; js_*_new records it (an LWW
 * register "cal/n/" + id holding its kind) and writes the id into the
 * register. Its data are one CRDT state of the context:
 *   map      LWW-Map   "cal/m/" + id   field = the key
 *   vector   RGA       "cal/v/" + id   push inserts after the last element
 *   set      ORSet     "cal/e/" + id   (add wins)
 *   lww      LWW reg   "cal/l/" + id   [has u8][u64 LE ns written][value]
 *   counter  GCounter  "cal/k/" + id   and one per executor "cal/K/" + id + key
 *   user     LWW-Map   "cal/u/" + id   field = the executor's key
 *   frozen   LWW-Map   "cal/f/" + id   field = SHA-256 of the value
 * so every change is an op of the call, replicated by sync like synced
 * storage. Conventions as in the real system: memory errors trap; an id
 * that is not 32 bytes, names no collection or one of another kind, or an
 * input over a CRDT bound returns -1 with the message in the function's
 * register (register 0 for functions without one); found/changed is 1,
 * not found/unchanged 0 (the register then emptied); _new returns 0.
 * Decisions in docs/calimero.md.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calimero_priv.h"
#include "weft/crdt_store.h"

#define ID_LEN WEFT_CALIMERO_ID_LEN
#define COLL_KEY_LEN (6 + ID_LEN)

/* One js_* call. */
typedef struct {
    weft_calimero_t *cal;
    weft_caller_t *caller;
    weft_raw_t *args;
    const char *fn;
    int rc; /* what the callback returns once a step gave up */
    uint8_t id[ID_LEN];
    uint8_t key[COLL_KEY_LEN]; /* the collection's CRDT key */
} js_t;

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void coll_key(char kind, const uint8_t id[ID_LEN], uint8_t out[COLL_KEY_LEN])
{
    memcpy(out, "cal/", 4);
    out[4] = (uint8_t)kind;
    out[5] = '/';
    memcpy(out + 6, id, ID_LEN);
}

/* Returns -1 with the message in register reg; *js->rc set. Always
 * nonzero, so callers write `return js_err(...), js->rc`. */
static int js_err(js_t *js, uint64_t reg, const char *msg)
{
    if (cal_reg_set(js->cal, js->caller, js->fn, reg, msg, strlen(msg), &js->rc)) return -1;
    js->args[0].i32 = -1;
    js->rc = 0;
    return -1;
}

static int js_ret(js_t *js, int32_t v)
{
    js->args[0].i32 = v;
    js->rc = 0;
    return 0;
}

/* Empties register reg (what "not found" leaves); 0 or -1 trapped. */
static int js_clear(js_t *js, uint64_t reg)
{
    return cal_reg_set(js->cal, js->caller, js->fn, reg, "", 0, &js->rc);
}

static int js_store_error(js_t *js, int rc)
{
    js->rc = cal_store_error(js->cal, js->caller, js->fn, rc);
    return -1;
}

static const char *kind_name(char k)
{
    switch (k) {
    case 'm': return "map";
    case 'v': return "vector";
    case 'e': return "set";
    case 'l': return "LWW register";
    case 'k': return "counter";
    case 'u': return "user storage";
    case 'f': return "frozen storage";
    }
    return "collection";
}

/* The prologue of a function on a collection: the id descriptor (memory
 * errors trap), the call's transaction, the id's length and kind (-1 with
 * a message in register err_reg). 0 to go on; else return js->rc. `extra`
 * is the fuel of the function's other inputs. */
static int js_open(js_t *js, weft_calimero_t *cal, weft_caller_t *caller, weft_raw_t *args,
                   const char *fn, uint64_t id_desc, char kind, uint64_t err_reg, int write,
                   uint64_t extra)
{
    uint64_t len;
    js->cal = cal;
    js->caller = caller;
    js->args = args;
    js->fn = fn;
    js->rc = 0;
    const uint8_t *id = cal_buffer(cal, caller, fn, id_desc, UINT64_MAX, NULL, &len, &js->rc);
    if (!id) return -1;
    if ((js->rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(len) + extra))) return -1;
    if (cal_need_txn(cal, caller, fn, write, &js->rc)) return -1;
    if (len != ID_LEN) return js_err(js, err_reg, "invalid collection id: expected 32 bytes");
    memcpy(js->id, id, ID_LEN);
    uint8_t nkey[COLL_KEY_LEN], *k = NULL;
    size_t kl = 0, stored = 0;
    coll_key('n', js->id, nkey);
    int rc = cal_synced_get(cal, nkey, sizeof nkey, &k, &kl, &stored);
    if (rc < 0) return js_store_error(js, rc);
    char have = rc == 1 && kl == 1 ? (char)k[0] : 0;
    free(k);
    if ((js->rc = cal_charge(caller, CAL_FUEL(stored)))) return -1;
    if (!have) return js_err(js, err_reg, "no collection with this id");
    if (have != kind) {
        char msg[96];
        snprintf(msg, sizeof msg, "the id names a %s, not a %s", kind_name(have), kind_name(kind));
        return js_err(js, err_reg, msg);
    }
    coll_key(kind, js->id, js->key);
    return 0;
}

/* A local op on key; 0, or -1 (js->rc). */
static int js_op(js_t *js, const uint8_t *key, size_t kl, uint8_t type, uint8_t kind,
                 const weft_crdt_input_t *in)
{
    size_t stored = 0;
    int rc = weft_crdt_local(js->cal->txn, js->cal->node_id, cal_wall_ms(), js->cal->ctx,
                             js->cal->ctx_len, key, kl, type, kind, in, NULL, &stored);
    if (rc) return js_store_error(js, rc);
    if ((js->rc = cal_charge(js->caller, CAL_FUEL(stored)))) return -1;
    return 0;
}

/* The state of key (NULL when absent), whole or of one part. 0 or -1. */
static int js_read(js_t *js, const uint8_t *key, size_t kl, uint8_t type, const uint8_t *part,
                   size_t part_len, weft_crdt_state_t **out)
{
    weft_calimero_t *cal = js->cal;
    int rc = part ? weft_crdt_read_part(cal->txn, cal->ctx, cal->ctx_len, key, kl, type, part,
                                        part_len, out)
                  : weft_crdt_read(cal->txn, cal->ctx, cal->ctx_len, key, kl, type, out);
    if (rc == WEFT_ENOTFOUND) {
        *out = NULL;
        return 0;
    }
    if (rc) return js_store_error(js, rc);
    if ((js->rc = cal_charge(js->caller, CAL_FUEL(weft_crdt_state_bytes(*out))))) {
        weft_crdt_state_delete(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* A value for register reg (charged); 0 or -1. */
static int js_out(js_t *js, uint64_t reg, const void *v, size_t vl)
{
    return cal_reg_set(js->cal, js->caller, js->fn, reg, v, vl, &js->rc);
}

/* ---- _new ------------------------------------------------------------------------ */

static int js_new(weft_caller_t *caller, weft_calimero_t *cal, weft_raw_t *args, const char *fn,
                  char kind)
{
    js_t js = {.cal = cal, .caller = caller, .args = args, .fn = fn};
    uint64_t reg = CAL_ARG(0);
    uint8_t nkey[COLL_KEY_LEN], k = (uint8_t)kind;
    int rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL))) return rc;
    if (cal_need_txn(cal, caller, fn, 1, &rc)) return rc;
    randombytes_buf(js.id, ID_LEN);
    coll_key('n', js.id, nkey);
    size_t stored = 0;
    /* the kind is stored as a synced value (tagged like storage's) */
    if ((rc = cal_synced_put(cal, nkey, sizeof nkey, &k, 1, &stored)))
        return cal_store_error(cal, caller, fn, rc);
    if ((rc = cal_charge(caller, CAL_FUEL(stored)))) return rc;
    if (js_out(&js, reg, js.id, ID_LEN)) return js.rc;
    CAL_RETURN32(0);
}

#define NEW_FN(name, kind)                                                   \
    static int fn_##name(weft_caller_t *caller, void *user, weft_raw_t *args) \
    {                                                                        \
        return js_new(caller, user, args, "js_" #name, kind);                \
    }
NEW_FN(crdt_map_new, 'm')
NEW_FN(crdt_vector_new, 'v')
NEW_FN(crdt_set_new, 'e')
NEW_FN(crdt_lww_new, 'l')
NEW_FN(crdt_counter_new, 'k')
NEW_FN(user_storage_new, 'u')
NEW_FN(frozen_storage_new, 'f')

/* ---- LWW-Map helpers (map, user storage, frozen storage) ------------------------- */

/* Field `field` of the map: 1 with *v, *vl borrowed from *st (the caller
 * deletes it), 0 absent, -1 gave up. */
static int map_field(js_t *js, const uint8_t *field, size_t fl, weft_crdt_state_t **st,
                     const uint8_t **v, size_t *vl)
{
    if (js_read(js, js->key, sizeof js->key, WEFT_CRDT_LWW_MAP, field, fl, st)) return -1;
    if (!*st) return 0;
    int rc = weft_crdt_map_get(*st, field, fl, v, vl);
    if (rc == WEFT_ENOTFOUND) return 0;
    if (rc) return js_store_error(js, rc);
    return 1;
}

/* get: value into reg (1) or reg emptied (0). */
static int map_get_into(js_t *js, const uint8_t *field, size_t fl, uint64_t reg)
{
    weft_crdt_state_t *st = NULL;
    const uint8_t *v;
    size_t vl;
    int found = map_field(js, field, fl, &st, &v, &vl);
    int rc = found < 0 ? -1 : found ? js_out(js, reg, v, vl) : js_clear(js, reg);
    weft_crdt_state_delete(st);
    if (rc) return -1;
    return js_ret(js, found);
}

/* set or remove (value NULL): the old value into reg (1) or reg emptied
 * (0). A remove of an absent field writes nothing. */
static int map_put(js_t *js, const uint8_t *field, size_t fl, const uint8_t *value, size_t vl,
                   uint64_t reg)
{
    weft_crdt_state_t *st = NULL;
    const uint8_t *old;
    size_t ol;
    int found = map_field(js, field, fl, &st, &old, &ol);
    int rc = found < 0 ? -1 : found ? js_out(js, reg, old, ol) : js_clear(js, reg);
    weft_crdt_state_delete(st);
    if (rc) return -1;
    if (value || found) {
        weft_crdt_input_t in = {.field = field, .field_len = fl, .value = value, .value_len = vl};
        if (js_op(js, js->key, sizeof js->key, WEFT_CRDT_LWW_MAP,
                  value ? WEFT_CRDT_MAP_SET : WEFT_CRDT_MAP_REMOVE, &in))
            return -1;
    }
    return js_ret(js, found);
}

static int map_contains(js_t *js, const uint8_t *field, size_t fl)
{
    weft_crdt_state_t *st = NULL;
    const uint8_t *v;
    size_t vl;
    int found = map_field(js, field, fl, &st, &v, &vl);
    weft_crdt_state_delete(st);
    if (found < 0) return -1;
    return js_ret(js, found);
}

/* Bounds of weft's CRDTs on keys and values: -1 with a message. */
static int check_field(js_t *js, uint64_t fl, uint64_t reg)
{
    if (fl > WEFT_CRDT_FIELD_MAX) return js_err(js, reg, "key longer than 1024 bytes");
    return 0;
}

static int check_value(js_t *js, uint64_t vl, uint64_t max, uint64_t reg)
{
    if (vl > max) return js_err(js, reg, "value longer than weft's collection value limit");
    return 0;
}

/* ---- map ------------------------------------------------------------------------- */

static int fn_map_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    js_t js;
    uint64_t kl, reg = CAL_ARG(2);
    weft_calimero_t *cal = user;
    const uint8_t *key = cal_buffer(cal, caller, "js_crdt_map_get", CAL_ARG(1), UINT64_MAX, NULL,
                                    &kl, &js.rc);
    if (!key) return js.rc;
    if (js_open(&js, cal, caller, args, "js_crdt_map_get", CAL_ARG(0), 'm', reg, 0, CAL_FUEL(kl)) ||
        check_field(&js, kl, reg) || map_get_into(&js, key, kl, reg))
        return js.rc;
    return 0;
}

static int fn_map_insert(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "js_crdt_map_insert";
    js_t js;
    uint64_t kl, vl, reg = CAL_ARG(3);
    weft_calimero_t *cal = user;
    const uint8_t *key = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &kl, &js.rc);
    if (!key) return js.rc;
    const uint8_t *val = cal_buffer(cal, caller, fn, CAL_ARG(2), UINT64_MAX, NULL, &vl, &js.rc);
    if (!val) return js.rc;
    if (js_open(&js, cal, caller, args, fn, CAL_ARG(0), 'm', reg, 1, CAL_FUEL(kl) + CAL_FUEL(vl)) ||
        check_field(&js, kl, reg) || check_value(&js, vl, WEFT_CRDT_VALUE_MAX, reg) ||
        map_put(&js, key, kl, val, vl, reg))
        return js.rc;
    return 0;
}

static int fn_map_remove(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "js_crdt_map_remove";
    js_t js;
    uint64_t kl, reg = CAL_ARG(2);
    weft_calimero_t *cal = user;
    const uint8_t *key = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &kl, &js.rc);
    if (!key) return js.rc;
    if (js_open(&js, cal, caller, args, fn, CAL_ARG(0), 'm', reg, 1, CAL_FUEL(kl)) ||
        check_field(&js, kl, reg) || map_put(&js, key, kl, NULL, 0, reg))
        return js.rc;
    return 0;
}

static int fn_map_contains(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "js_crdt_map_contains";
    js_t js;
    uint64_t kl;
    weft_calimero_t *cal = user;
    const uint8_t *key = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &kl, &js.rc);
    if (!key) return js.rc;
    if (js_open(&js, cal, caller, args, fn, CAL_ARG(0), 'm', 0, 0, CAL_FUEL(kl)) ||
        check_field(&js, kl, 0) || map_contains(&js, key, kl))
        return js.rc;
    return 0;
}

/* An encoded read of the whole state into register reg; 1. */
typedef int (*encode_fn)(const weft_crdt_state_t *st, uint8_t *buf, size_t cap, size_t *out_len);

static int encoded(js_t *js, uint8_t type, encode_fn encode, uint64_t reg)
{
    weft_crdt_state_t *st;
    static const uint8_t none[4];
    if (js_read(js, js->key, sizeof js->key, type, NULL, 0, &st)) return -1;
    if (!st) return js_out(js, reg, none, 4) ? -1 : js_ret(js, 1);
    size_t need = 0;
    int rc = encode(st, NULL, 0, &need);
    uint8_t *buf = rc == 0 || rc == WEFT_ELIMIT ? malloc(need ? need : 1) : NULL;
    if (buf) rc = encode(st, buf, need, &need);
    else if (rc == 0 || rc == WEFT_ELIMIT) rc = WEFT_ENOMEM;
    weft_crdt_state_delete(st);
    if (rc) {
        free(buf);
        return js_store_error(js, rc);
    }
    rc = js_out(js, reg, buf, need);
    free(buf);
    return rc ? -1 : js_ret(js, 1);
}

/* u32 count, then (u32 key_len, key, u32 value_len, value) per entry, in
 * key order: the real system's encoding, and weft_crdt_map_entries'. */
static int fn_map_iter(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    js_t js;
    uint64_t reg = CAL_ARG(1);
    if (js_open(&js, user, caller, args, "js_crdt_map_iter", CAL_ARG(0), 'm', reg, 0, 0) ||
        encoded(&js, WEFT_CRDT_LWW_MAP, weft_crdt_map_entries, reg))
        return js.rc;
    return 0;
}

/* ---- vector ------------------------------------------------------------------------ */

/* The visible ids (u32 count, 40 bytes each) and values (u32 count, u32
 * len + value each) of the vector, malloc'ed; NULL/0 when absent. */
static int vec_load(js_t *js, uint8_t **ids, size_t *nids, uint8_t **vals, size_t *vals_len)
{
    weft_crdt_state_t *st;
    *ids = *vals = NULL;
    *nids = *vals_len = 0;
    if (js_read(js, js->key, sizeof js->key, WEFT_CRDT_RGA, NULL, 0, &st)) return -1;
    if (!st) return 0;
    size_t il = 0;
    int rc = weft_crdt_rga_ids(st, NULL, 0, &il);
    if (rc == 0 || rc == WEFT_ELIMIT) rc = weft_crdt_rga_values(st, NULL, 0, vals_len);
    if (rc == 0 || rc == WEFT_ELIMIT) {
        *ids = malloc(il);
        *vals = malloc(*vals_len);
        rc = *ids && *vals ? 0 : WEFT_ENOMEM;
    }
    if (rc == 0) rc = weft_crdt_rga_ids(st, *ids, il, &il);
    if (rc == 0) rc = weft_crdt_rga_values(st, *vals, *vals_len, vals_len);
    weft_crdt_state_delete(st);
    if (rc) {
        free(*ids);
        free(*vals);
        *ids = *vals = NULL;
        return js_store_error(js, rc);
    }
    *nids = (il - 4) / WEFT_CRDT_ID_LEN;
    return 0;
}

/* The index-th value in an encoded list of values. */
static void vec_value(const uint8_t *vals, size_t index, const uint8_t **v, size_t *vl)
{
    const uint8_t *p = vals + 4;
    for (size_t i = 0;; i++) {
        uint32_t l = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        if (i == index) {
            *v = p + 4;
            *vl = l;
            return;
        }
        p += 4 + l;
    }
}

/* The length, u64 LE, into the register; 1. */
static int fn_vector_len(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    js_t js;
    uint64_t reg = CAL_ARG(1);
    uint8_t *ids, *vals, out[8];
    size_t n, vl;
    if (js_open(&js, user, caller, args, "js_crdt_vector_len", CAL_ARG(0), 'v', reg, 0, 0) ||
        vec_load(&js, &ids, &n, &vals, &vl))
        return js.rc;
    free(ids);
    free(vals);
    put_u64(out, n);
    if (js_out(&js, reg, out, 8)) return js.rc;
    CAL_RETURN32(1);
}

static int fn_vector_push(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "js_crdt_vector_push";
    js_t js;
    uint64_t vl;
    weft_calimero_t *cal = user;
    uint8_t *ids, *vals;
    size_t n, vsl;
    const uint8_t *val = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &vl, &js.rc);
    if (!val) return js.rc;
    if (js_open(&js, cal, caller, args, fn, CAL_ARG(0), 'v', 0, 1, CAL_FUEL(vl)) ||
        check_value(&js, vl, WEFT_CRDT_VALUE_MAX, 0) || vec_load(&js, &ids, &n, &vals, &vsl))
        return js.rc;
    weft_crdt_id_t parent;
    int rc = n ? weft_crdt_id_from_bytes(ids + 4 + (n - 1) * WEFT_CRDT_ID_LEN, WEFT_CRDT_ID_LEN,
                                         &parent)
               : 0;
    free(ids);
    free(vals);
    if (rc) return js_store_error(&js, rc), js.rc;
    weft_crdt_input_t in = {.value = val, .value_len = vl, .target = n ? &parent : NULL};
    if (js_op(&js, js.key, sizeof js.key, WEFT_CRDT_RGA, WEFT_CRDT_INSERT, &in)) return js.rc;
    CAL_RETURN32(1);
}

static int fn_vector_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    js_t js;
    uint64_t index = CAL_ARG(1), reg = CAL_ARG(2);
    uint8_t *ids, *vals;
    size_t n, vsl, vl;
    const uint8_t *v;
    if (js_open(&js, user, caller, args, "js_crdt_vector_get", CAL_ARG(0), 'v', reg, 0, 0) ||
        vec_load(&js, &ids, &n, &vals, &vsl))
        return js.rc;
    int found = index < n, rc;
    if (found) {
        vec_value(vals, (size_t)index, &v, &vl);
        rc = js_out(&js, reg, v, vl);
    } else {
        rc = js_clear(&js, reg);
    }
    free(ids);
    free(vals);
    if (rc) return js.rc;
    CAL_RETURN32(found);
}

static int fn_vector_pop(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    js_t js;
    uint64_t reg = CAL_ARG(1);
    uint8_t *ids, *vals;
    size_t n, vsl, vl;
    const uint8_t *v;
    if (js_open(&js, user, caller, args, "js_crdt_vector_pop", CAL_ARG(0), 'v', reg, 1, 0) ||
        vec_load(&js, &ids, &n, &vals, &vsl))
        return js.rc;
    int rc = 0;
    weft_crdt_id_t last;
    if (n) {
        vec_value(vals, n - 1, &v, &vl);
        rc = js_out(&js, reg, v, vl) ? -1
             : weft_crdt_id_from_bytes(ids + 4 + (n - 1) * WEFT_CRDT_ID_LEN, WEFT_CRDT_ID_LEN,
                                       &last) ? js_store_error(&js, WEFT_EMALFORMED) : 0;
    } else {
        rc = js_clear(&js, reg);
    }
    free(ids);
    free(vals);
    if (rc) return js.rc;
    if (n) {
        weft_crdt_input_t in = {.target = &last};
        if (js_op(&js, js.key, sizeof js.key, WEFT_CRDT_RGA, WEFT_CRDT_DELETE, &in)) return js.rc;
    }
    CAL_RETURN32(n ? 1 : 0);
}

/* ---- set ---------------------------------------------------------------------------- */

static int set_has(js_t *js, const uint8_t *e, size_t el)
{
    weft_crdt_state_t *st;
    if (js_read(js, js->key, sizeof js->key, WEFT_CRDT_ORSET, e, el, &st)) return -1;
    int has = st ? weft_crdt_orset_contains(st, e, el) : 0;
    weft_crdt_state_delete(st);
    if (has < 0) return js_store_error(js, has);
    return has;
}

/* insert (1 added, 0 already there), contains, remove (1 removed, 0 not
 * there): `op` is ADD, 0 or REMOVE. */
static int set_elem(weft_caller_t *caller, weft_calimero_t *cal, weft_raw_t *args, const char *fn,
                    uint8_t op)
{
    js_t js;
    uint64_t el;
    const uint8_t *e = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &el, &js.rc);
    if (!e) return js.rc;
    if (js_open(&js, cal, caller, args, fn, CAL_ARG(0), 'e', 0, op != 0, CAL_FUEL(el)) ||
        check_field(&js, el, 0))
        return js.rc;
    int has = set_has(&js, e, el);
    if (has < 0) return js.rc;
    if (op == 0) CAL_RETURN32(has);
    if ((op == WEFT_CRDT_ADD) == has) CAL_RETURN32(0);
    weft_crdt_input_t in = {.value = e, .value_len = el};
    if (js_op(&js, js.key, sizeof js.key, WEFT_CRDT_ORSET, op, &in)) return js.rc;
    CAL_RETURN32(1);
}

static int fn_set_insert(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return set_elem(caller, user, args, "js_crdt_set_insert", WEFT_CRDT_ADD);
}

static int fn_set_contains(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return set_elem(caller, user, args, "js_crdt_set_contains", 0);
}

static int fn_set_remove(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return set_elem(caller, user, args, "js_crdt_set_remove", WEFT_CRDT_REMOVE);
}

/* The elements (u32 count, u32 len + element each), malloc'ed. */
static int set_elements(js_t *js, uint8_t **out, size_t *len)
{
    weft_crdt_state_t *st;
    *out = NULL;
    *len = 0;
    if (js_read(js, js->key, sizeof js->key, WEFT_CRDT_ORSET, NULL, 0, &st)) return -1;
    if (!st) return 0;
    int rc = weft_crdt_orset_elements(st, NULL, 0, len);
    if (rc == 0 || rc == WEFT_ELIMIT) rc = (*out = malloc(*len)) ? 0 : WEFT_ENOMEM;
    if (rc == 0) rc = weft_crdt_orset_elements(st, *out, *len, len);
    weft_crdt_state_delete(st);
    if (rc) {
        free(*out);
        *out = NULL;
        return js_store_error(js, rc);
    }
    return 0;
}

static int fn_set_len(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    js_t js;
    uint64_t reg = CAL_ARG(1);
    uint8_t *els, out[8];
    size_t len;
    if (js_open(&js, user, caller, args, "js_crdt_set_len", CAL_ARG(0), 'e', reg, 0, 0) ||
        set_elements(&js, &els, &len))
        return js.rc;
    put_u64(out, els ? (uint64_t)els[0] | (uint64_t)els[1] << 8 | (uint64_t)els[2] << 16 |
                           (uint64_t)els[3] << 24
                     : 0);
    free(els);
    if (js_out(&js, reg, out, 8)) return js.rc;
    CAL_RETURN32(1);
}

static int fn_set_iter(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    js_t js;
    uint64_t reg = CAL_ARG(1);
    if (js_open(&js, user, caller, args, "js_crdt_set_iter", CAL_ARG(0), 'e', reg, 0, 0) ||
        encoded(&js, WEFT_CRDT_ORSET, weft_crdt_orset_elements, reg))
        return js.rc;
    return 0;
}

/* One REMOVE per element; 1 when there was any, else 0. */
static int fn_set_clear(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    js_t js;
    uint8_t *els;
    size_t len;
    if (js_open(&js, user, caller, args, "js_crdt_set_clear", CAL_ARG(0), 'e', 0, 1, 0) ||
        set_elements(&js, &els, &len))
        return js.rc;
    uint32_t n = els ? (uint32_t)els[0] | (uint32_t)els[1] << 8 | (uint32_t)els[2] << 16 |
                           (uint32_t)els[3] << 24
                     : 0;
    const uint8_t *p = els ? els + 4 : NULL;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        weft_crdt_input_t in = {.value = p + 4, .value_len = l};
        if (js_op(&js, js.key, sizeof js.key, WEFT_CRDT_ORSET, WEFT_CRDT_REMOVE, &in)) {
            free(els);
            return js.rc;
        }
        p += 4 + l;
    }
    free(els);
    CAL_RETURN32(n ? 1 : 0);
}

/* ---- LWW register --------------------------------------------------------------------- */

#define LWW_HEAD 9 /* has u8, u64 LE ns written */

/* The register's stored bytes (malloc'ed, at least LWW_HEAD) or NULL. */
static int lww_load(js_t *js, uint8_t **out, size_t *len)
{
    size_t stored = 0;
    *out = NULL;
    int rc = cal_synced_get(js->cal, js->key, sizeof js->key, out, len, &stored);
    if (rc < 0) return js_store_error(js, rc);
    if ((js->rc = cal_charge(js->caller, CAL_FUEL(stored)))) {
        free(*out);
        *out = NULL;
        return -1;
    }
    if (rc == 1 && *len < LWW_HEAD) {
        free(*out);
        *out = NULL;
        return js_store_error(js, WEFT_EMALFORMED);
    }
    return 0;
}

/* 1 when the value changed (set to another value, or between none and a
 * value), else 0. has_value 0 sets "none" (value_ptr not read). */
static int fn_lww_set(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "js_crdt_lww_set";
    js_t js;
    weft_calimero_t *cal = user;
    uint64_t vl = 0;
    const uint8_t *val = NULL;
    uint32_t has = CAL_ARG32(2);
    if (has && !(val = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &vl, &js.rc)))
        return js.rc;
    if (js_open(&js, cal, caller, args, fn, CAL_ARG(0), 'l', 0, 1, CAL_FUEL(vl)) ||
        check_value(&js, vl, WEFT_CRDT_VALUE_MAX - 1 - LWW_HEAD, 0))
        return js.rc;
    uint8_t *old;
    size_t ol = 0;
    if (lww_load(&js, &old, &ol)) return js.rc;
    int old_has = old && old[0];
    int same = old_has == (has != 0) &&
               (!has || (ol - LWW_HEAD == vl && memcmp(old + LWW_HEAD, val, vl) == 0));
    free(old);
    uint8_t *v = malloc(LWW_HEAD + vl);
    if (!v) return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    v[0] = has != 0;
    put_u64(v + 1, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    if (vl) memcpy(v + LWW_HEAD, val, vl);
    size_t stored = 0;
    int rc = cal_synced_put(cal, js.key, sizeof js.key, v, LWW_HEAD + vl, &stored);
    free(v);
    if (rc) return cal_store_error(cal, caller, fn, rc);
    if ((rc = cal_charge(caller, CAL_FUEL(stored)))) return rc;
    CAL_RETURN32(same ? 0 : 1);
}

/* get: the value (1) or none (0, register emptied); timestamp: when it was
 * last set, u64 LE nanoseconds (1), or never set (0). */
static int lww_read(weft_caller_t *caller, weft_calimero_t *cal, weft_raw_t *args, const char *fn,
                    int timestamp)
{
    js_t js;
    uint64_t reg = CAL_ARG(1);
    uint8_t *v;
    size_t vl = 0;
    if (js_open(&js, cal, caller, args, fn, CAL_ARG(0), 'l', reg, 0, 0) || lww_load(&js, &v, &vl))
        return js.rc;
    int found = timestamp ? v != NULL : v && v[0];
    int rc = !found          ? js_clear(&js, reg)
             : timestamp ? js_out(&js, reg, v + 1, 8)
                         : js_out(&js, reg, v + LWW_HEAD, vl - LWW_HEAD);
    free(v);
    if (rc) return js.rc;
    CAL_RETURN32(found);
}

static int fn_lww_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return lww_read(caller, user, args, "js_crdt_lww_get", 0);
}

static int fn_lww_timestamp(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return lww_read(caller, user, args, "js_crdt_lww_timestamp", 1);
}

/* ---- counter ---------------------------------------------------------------------------- */

static void executor_key(const js_t *js, const uint8_t exec[ID_LEN], uint8_t out[COLL_KEY_LEN + ID_LEN])
{
    coll_key('K', js->id, out);
    memcpy(out + COLL_KEY_LEN, exec, ID_LEN);
}

/* +1 to the total and to the executor's own count; 1. */
static int fn_counter_increment(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    js_t js;
    weft_calimero_t *cal = user;
    uint8_t ek[COLL_KEY_LEN + ID_LEN];
    if (js_open(&js, cal, caller, args, "js_crdt_counter_increment", CAL_ARG(0), 'k', 0, 1, 0))
        return js.rc;
    weft_crdt_input_t in = {.delta = 1};
    executor_key(&js, cal->executor, ek);
    if (js_op(&js, js.key, sizeof js.key, WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, &in) ||
        js_op(&js, ek, sizeof ek, WEFT_CRDT_GCOUNTER, WEFT_CRDT_INC, &in))
        return js.rc;
    CAL_RETURN32(1);
}

static int counter_into(js_t *js, const uint8_t *key, size_t kl, uint64_t reg)
{
    weft_crdt_state_t *st;
    uint64_t v = 0;
    uint8_t out[8];
    if (js_read(js, key, kl, WEFT_CRDT_GCOUNTER, NULL, 0, &st)) return -1;
    int rc = st ? weft_crdt_gcounter_value(st, &v) : 0;
    weft_crdt_state_delete(st);
    if (rc) return js_store_error(js, rc);
    put_u64(out, v);
    return js_out(js, reg, out, 8) ? -1 : js_ret(js, 1);
}

/* The total, u64 LE; 1. */
static int fn_counter_value(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    js_t js;
    uint64_t reg = CAL_ARG(1);
    if (js_open(&js, user, caller, args, "js_crdt_counter_value", CAL_ARG(0), 'k', reg, 0, 0) ||
        counter_into(&js, js.key, sizeof js.key, reg))
        return js.rc;
    return 0;
}

/* One executor's increments (has_executor 0: the current executor's). */
static int fn_counter_get_executor_count(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "js_crdt_counter_get_executor_count";
    js_t js;
    weft_calimero_t *cal = user;
    uint64_t el = 0, reg = CAL_ARG(3);
    const uint8_t *exec = NULL;
    uint8_t ek[COLL_KEY_LEN + ID_LEN];
    if (CAL_ARG32(2) &&
        !(exec = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &el, &js.rc)))
        return js.rc;
    if (js_open(&js, cal, caller, args, fn, CAL_ARG(0), 'k', reg, 0, CAL_FUEL(el))) return js.rc;
    if (exec && el != ID_LEN) return js_err(&js, reg, "executor key must be 32 bytes"), js.rc;
    executor_key(&js, exec ? exec : cal->executor, ek);
    if (counter_into(&js, ek, sizeof ek, reg)) return js.rc;
    return 0;
}

/* ---- user storage ------------------------------------------------------------------------- */

static int fn_user_insert(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "js_user_storage_insert";
    js_t js;
    weft_calimero_t *cal = user;
    uint64_t vl, reg = CAL_ARG(2);
    const uint8_t *val = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &vl, &js.rc);
    if (!val) return js.rc;
    if (js_open(&js, cal, caller, args, fn, CAL_ARG(0), 'u', reg, 1, CAL_FUEL(vl)) ||
        check_value(&js, vl, WEFT_CRDT_VALUE_MAX, reg) ||
        map_put(&js, cal->executor, ID_LEN, val, vl, reg))
        return js.rc;
    return 0;
}

static int fn_user_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    js_t js;
    weft_calimero_t *cal = user;
    uint64_t reg = CAL_ARG(1);
    if (js_open(&js, cal, caller, args, "js_user_storage_get", CAL_ARG(0), 'u', reg, 0, 0) ||
        map_get_into(&js, cal->executor, ID_LEN, reg))
        return js.rc;
    return 0;
}

static int fn_user_remove(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    js_t js;
    weft_calimero_t *cal = user;
    uint64_t reg = CAL_ARG(1);
    if (js_open(&js, cal, caller, args, "js_user_storage_remove", CAL_ARG(0), 'u', reg, 1, 0) ||
        map_put(&js, cal->executor, ID_LEN, NULL, 0, reg))
        return js.rc;
    return 0;
}

static int fn_user_contains(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    js_t js;
    weft_calimero_t *cal = user;
    if (js_open(&js, cal, caller, args, "js_user_storage_contains", CAL_ARG(0), 'u', 0, 0, 0) ||
        map_contains(&js, cal->executor, ID_LEN))
        return js.rc;
    return 0;
}

/* A user key must be 32 bytes (-1 otherwise). */
static int fn_user_get_for_user(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "js_user_storage_get_for_user";
    js_t js;
    weft_calimero_t *cal = user;
    uint64_t ul, reg = CAL_ARG(2);
    const uint8_t *u = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &ul, &js.rc);
    if (!u) return js.rc;
    if (js_open(&js, cal, caller, args, fn, CAL_ARG(0), 'u', reg, 0, CAL_FUEL(ul))) return js.rc;
    if (ul != ID_LEN) return js_err(&js, reg, "user key must be 32 bytes"), js.rc;
    if (map_get_into(&js, u, ul, reg)) return js.rc;
    return 0;
}

static int fn_user_contains_user(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "js_user_storage_contains_user";
    js_t js;
    weft_calimero_t *cal = user;
    uint64_t ul;
    const uint8_t *u = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &ul, &js.rc);
    if (!u) return js.rc;
    if (js_open(&js, cal, caller, args, fn, CAL_ARG(0), 'u', 0, 0, CAL_FUEL(ul))) return js.rc;
    if (ul != ID_LEN) return js_err(&js, 0, "user key must be 32 bytes"), js.rc;
    if (map_contains(&js, u, ul)) return js.rc;
    return 0;
}

/* ---- frozen storage ------------------------------------------------------------------------ */

/* The value's SHA-256 into the register; stored once (adding it again
 * writes nothing); 1. */
static int fn_frozen_add(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "js_frozen_storage_add";
    js_t js;
    weft_calimero_t *cal = user;
    uint64_t vl, reg = CAL_ARG(2);
    uint8_t hash[32];
    const uint8_t *val = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &vl, &js.rc);
    if (!val) return js.rc;
    if (js_open(&js, cal, caller, args, fn, CAL_ARG(0), 'f', reg, 1, 2 * CAL_FUEL(vl)) ||
        check_value(&js, vl, WEFT_CRDT_VALUE_MAX, reg))
        return js.rc;
    crypto_hash_sha256(hash, val, vl);
    weft_crdt_state_t *st = NULL;
    const uint8_t *old;
    size_t ol;
    int found = map_field(&js, hash, sizeof hash, &st, &old, &ol);
    weft_crdt_state_delete(st);
    if (found < 0) return js.rc;
    if (!found) {
        weft_crdt_input_t in = {.field = hash, .field_len = 32, .value = val, .value_len = vl};
        if (js_op(&js, js.key, sizeof js.key, WEFT_CRDT_LWW_MAP, WEFT_CRDT_MAP_SET, &in))
            return js.rc;
    }
    if (js_out(&js, reg, hash, sizeof hash)) return js.rc;
    CAL_RETURN32(1);
}

static int frozen_hash(weft_caller_t *caller, weft_calimero_t *cal, weft_raw_t *args,
                       const char *fn, uint64_t reg, int get)
{
    js_t js;
    uint64_t hl;
    const uint8_t *h = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &hl, &js.rc);
    if (!h) return js.rc;
    if (js_open(&js, cal, caller, args, fn, CAL_ARG(0), 'f', reg, 0, CAL_FUEL(hl))) return js.rc;
    if (hl != 32) return js_err(&js, reg, "hash must be 32 bytes"), js.rc;
    if (get ? map_get_into(&js, h, hl, reg) : map_contains(&js, h, hl)) return js.rc;
    return 0;
}

static int fn_frozen_get(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return frozen_hash(caller, user, args, "js_frozen_storage_get", CAL_ARG(2), 1);
}

static int fn_frozen_contains(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return frozen_hash(caller, user, args, "js_frozen_storage_contains", 0, 0);
}

const cal_func_t cal_js_funcs[] = {
    {"js_crdt_map_new", "I", 'i', fn_crdt_map_new},
    {"js_crdt_map_get", "III", 'i', fn_map_get},
    {"js_crdt_map_insert", "IIII", 'i', fn_map_insert},
    {"js_crdt_map_remove", "III", 'i', fn_map_remove},
    {"js_crdt_map_contains", "II", 'i', fn_map_contains},
    {"js_crdt_map_iter", "II", 'i', fn_map_iter},
    {"js_crdt_vector_new", "I", 'i', fn_crdt_vector_new},
    {"js_crdt_vector_len", "II", 'i', fn_vector_len},
    {"js_crdt_vector_push", "II", 'i', fn_vector_push},
    {"js_crdt_vector_get", "III", 'i', fn_vector_get},
    {"js_crdt_vector_pop", "II", 'i', fn_vector_pop},
    {"js_crdt_set_new", "I", 'i', fn_crdt_set_new},
    {"js_crdt_set_insert", "II", 'i', fn_set_insert},
    {"js_crdt_set_contains", "II", 'i', fn_set_contains},
    {"js_crdt_set_remove", "II", 'i', fn_set_remove},
    {"js_crdt_set_len", "II", 'i', fn_set_len},
    {"js_crdt_set_iter", "II", 'i', fn_set_iter},
    {"js_crdt_set_clear", "I", 'i', fn_set_clear},
    {"js_crdt_lww_new", "I", 'i', fn_crdt_lww_new},
    {"js_crdt_lww_set", "IIi", 'i', fn_lww_set},
    {"js_crdt_lww_get", "II", 'i', fn_lww_get},
    {"js_crdt_lww_timestamp", "II", 'i', fn_lww_timestamp},
    {"js_crdt_counter_new", "I", 'i', fn_crdt_counter_new},
    {"js_crdt_counter_increment", "I", 'i', fn_counter_increment},
    {"js_crdt_counter_value", "II", 'i', fn_counter_value},
    {"js_crdt_counter_get_executor_count", "IIiI", 'i', fn_counter_get_executor_count},
    {"js_user_storage_new", "I", 'i', fn_user_storage_new},
    {"js_user_storage_insert", "III", 'i', fn_user_insert},
    {"js_user_storage_get", "II", 'i', fn_user_get},
    {"js_user_storage_get_for_user", "III", 'i', fn_user_get_for_user},
    {"js_user_storage_remove", "II", 'i', fn_user_remove},
    {"js_user_storage_contains", "I", 'i', fn_user_contains},
    {"js_user_storage_contains_user", "II", 'i', fn_user_contains_user},
    {"js_frozen_storage_new", "I", 'i', fn_frozen_storage_new},
    {"js_frozen_storage_add", "III", 'i', fn_frozen_add},
    {"js_frozen_storage_get", "III", 'i', fn_frozen_get},
    {"js_frozen_storage_contains", "II", 'i', fn_frozen_contains},
};
const size_t cal_js_nfuncs = sizeof cal_js_funcs / sizeof cal_js_funcs[0];
