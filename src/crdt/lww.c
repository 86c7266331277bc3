/*
 * lww.c — LWW-Register and LWW-Map.
 *
 * A write is stamped (hlc, origin, seq); the greatest stamp wins, so apply
 * is a max and commutes. seq only matters if one origin issued two writes
 * with one hlc, which weft_hlc_now never does. A map is a sorted array of
 * fields, each its own register; a remove is a register holding a tombstone
 * with the remove's stamp, so an older write arriving later loses to it and
 * cannot resurrect the field. Tombstones stay: one per field ever removed
 * (dropping them safely needs causal stability, which sync does not track).
 */
#include <stdlib.h>

#include "crdt_internal.h"

void crdt_lww_fini(crdt_lww_t *l)
{
    free(l->value);
    memset(l, 0, sizeof *l);
}

/* Whether a write stamped by op beats what l holds. */
static int wins(const crdt_lww_t *l, const weft_crdt_op_t *op)
{
    return !l->has ||
           weft_crdt_stamp_cmp(op->hlc, op->origin, op->seq, l->hlc, l->origin, l->seq) > 0;
}

/* Stores the write (value NULL: a tombstone). */
static int lww_store(crdt_lww_t *l, const weft_crdt_op_t *op, const uint8_t *value,
                     size_t value_len, int tomb)
{
    uint8_t *copy = NULL;
    if (!tomb && (copy = crdt_dup(value, value_len)) == NULL)
        return WEFT_ENOMEM;
    free(l->value);
    l->value = copy;
    l->value_len = tomb ? 0 : value_len;
    l->has = 1;
    l->hlc = op->hlc;
    l->seq = op->seq;
    memcpy(l->origin, op->origin, WEFT_CRDT_ORIGIN_LEN);
    return 0;
}

int crdt_lww_apply(crdt_lww_t *l, const weft_crdt_op_t *op, const crdt_payload_t *pl)
{
    if (!wins(l, op))
        return 0;
    return lww_store(l, op, pl->value, pl->value_len, 0);
}

static void stamp_encode(const crdt_lww_t *l, crdt_wbuf_t *w)
{
    crdt_put_varint(w, l->hlc);
    crdt_put(w, l->origin, WEFT_CRDT_ORIGIN_LEN);
    crdt_put_varint(w, l->seq);
}

static int stamp_decode(crdt_lww_t *l, crdt_rbuf_t *r)
{
    const uint8_t *o;
    crdt_get_varint(r, &l->hlc);
    if (crdt_get(r, WEFT_CRDT_ORIGIN_LEN, &o) < 0 || crdt_get_varint(r, &l->seq) < 0 ||
        l->seq == 0)
        return WEFT_EMALFORMED;
    memcpy(l->origin, o, WEFT_CRDT_ORIGIN_LEN);
    l->has = 1;
    return 0;
}

static int value_decode(crdt_lww_t *l, crdt_rbuf_t *r)
{
    const uint8_t *v;
    size_t n;
    if (crdt_get_bytes(r, WEFT_CRDT_VALUE_MAX, &v, &n) < 0)
        return WEFT_EMALFORMED;
    if ((l->value = crdt_dup(v, n)) == NULL)
        return WEFT_ENOMEM;
    l->value_len = n;
    return 0;
}

void crdt_lww_encode(const crdt_lww_t *l, crdt_wbuf_t *w)
{
    crdt_put_u8(w, (uint8_t)l->has);
    if (l->has) {
        stamp_encode(l, w);
        crdt_put_bytes(w, l->value, l->value_len);
    }
}

int crdt_lww_decode(crdt_lww_t *l, crdt_rbuf_t *r)
{
    uint8_t has;
    int rc;
    if (crdt_get_u8(r, &has) < 0 || has > 1)
        return WEFT_EMALFORMED;
    if (!has)
        return 0;
    if ((rc = stamp_decode(l, r)) < 0)
        return rc;
    return value_decode(l, r);
}

int weft_crdt_lww_get(const weft_crdt_state_t *st, const uint8_t **out, size_t *out_len)
{
    if (st == NULL || st->type != WEFT_CRDT_LWW_REG)
        return WEFT_EARG;
    if (!st->u.lww.has)
        return WEFT_ENOTFOUND;
    *out = st->u.lww.value;
    *out_len = st->u.lww.value_len;
    return 0;
}

int weft_crdt_lww_stamp(const weft_crdt_state_t *st, uint64_t *hlc,
                        uint8_t origin[WEFT_CRDT_ORIGIN_LEN], uint64_t *seq)
{
    if (st == NULL || st->type != WEFT_CRDT_LWW_REG)
        return WEFT_EARG;
    if (!st->u.lww.has)
        return WEFT_ENOTFOUND;
    *hlc = st->u.lww.hlc;
    memcpy(origin, st->u.lww.origin, WEFT_CRDT_ORIGIN_LEN);
    *seq = st->u.lww.seq;
    return 0;
}

/* ---- map ---- */

void crdt_map_fini(crdt_map_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].field);
        crdt_lww_fini(&m->v[i].reg);
    }
    free(m->v);
    memset(m, 0, sizeof *m);
}

typedef struct {
    const crdt_map_t *m;
    const uint8_t *f;
    size_t n;
} field_search_key_t;

static int field_search_cmp(const void *key, size_t i)
{
    const field_search_key_t *k = key;
    return crdt_bytes_cmp(k->m->v[i].field, k->m->v[i].field_len, k->f, k->n);
}

static size_t field_search(const crdt_map_t *m, const uint8_t *f, size_t n, int *found)
{
    field_search_key_t k = {m, f, n};
    return crdt_search(m->n, field_search_cmp, &k, found);
}

const crdt_field_t *crdt_map_find(const crdt_map_t *m, const uint8_t *f, size_t n)
{
    int found;
    size_t i = field_search(m, f, n, &found);
    return found ? &m->v[i] : NULL;
}

int crdt_map_apply(crdt_map_t *m, const weft_crdt_op_t *op, const crdt_payload_t *pl)
{
    int found, rc, tomb = op->kind == WEFT_CRDT_MAP_REMOVE;
    size_t i = field_search(m, pl->field, pl->field_len, &found);
    crdt_field_t *f;
    if (!found) {
        uint8_t *name = crdt_dup(pl->field, pl->field_len);
        if (name == NULL)
            return WEFT_ENOMEM;
        if (m->n == m->cap) {
            size_t cap = m->cap ? m->cap * 2 : 4;
            crdt_field_t *v = realloc(m->v, cap * sizeof *v);
            if (v == NULL) {
                free(name);
                return WEFT_ENOMEM;
            }
            m->v = v;
            m->cap = cap;
        }
        memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof *m->v);
        memset(&m->v[i], 0, sizeof *m->v);
        m->v[i].field = name;
        m->v[i].field_len = pl->field_len;
        m->n++;
    }
    f = &m->v[i];
    if (!wins(&f->reg, op))
        return 0;
    if ((rc = lww_store(&f->reg, op, pl->value, pl->value_len, tomb)) < 0) {
        if (!found) { /* leave the map as it was */
            free(f->field);
            memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof *m->v);
            m->n--;
        }
        return rc;
    }
    f->tomb = tomb;
    return 0;
}

void crdt_map_encode(const crdt_map_t *m, crdt_wbuf_t *w)
{
    crdt_put_varint(w, m->n);
    for (size_t i = 0; i < m->n; i++) {
        const crdt_field_t *f = &m->v[i];
        crdt_put_bytes(w, f->field, f->field_len);
        stamp_encode(&f->reg, w);
        crdt_put_u8(w, (uint8_t)f->tomb);
        if (!f->tomb)
            crdt_put_bytes(w, f->reg.value, f->reg.value_len);
    }
}

int crdt_map_decode(crdt_map_t *m, crdt_rbuf_t *r)
{
    uint64_t n;
    int rc;
    /* the smallest field: len, hlc, origin, seq, tomb */
    if (crdt_get_varint(r, &n) < 0 || n > crdt_rbuf_left(r) / (WEFT_CRDT_ORIGIN_LEN + 4))
        return WEFT_EMALFORMED;
    if (n && (m->v = calloc((size_t)n, sizeof *m->v)) == NULL)
        return WEFT_ENOMEM;
    m->cap = (size_t)n;
    for (size_t i = 0; i < n; i++) {
        crdt_field_t *f = &m->v[i];
        const uint8_t *name;
        uint8_t tomb;
        if (crdt_get_bytes(r, WEFT_CRDT_FIELD_MAX, &name, &f->field_len) < 0)
            return WEFT_EMALFORMED;
        if ((f->field = crdt_dup(name, f->field_len)) == NULL)
            return WEFT_ENOMEM;
        m->n = i + 1;
        if (i > 0 && crdt_bytes_cmp(m->v[i - 1].field, m->v[i - 1].field_len, f->field,
                                    f->field_len) >= 0)
            return WEFT_EMALFORMED;
        if ((rc = stamp_decode(&f->reg, r)) < 0)
            return rc;
        if (crdt_get_u8(r, &tomb) < 0 || tomb > 1)
            return WEFT_EMALFORMED;
        f->tomb = tomb;
        if (!tomb && (rc = value_decode(&f->reg, r)) < 0)
            return rc;
    }
    return 0;
}

int weft_crdt_map_get(const weft_crdt_state_t *st, const uint8_t *field, size_t field_len,
                      const uint8_t **out, size_t *out_len)
{
    const crdt_field_t *f;
    if (st == NULL || st->type != WEFT_CRDT_LWW_MAP)
        return WEFT_EARG;
    f = crdt_map_find(&st->u.map, field, field_len);
    if (f == NULL || f->tomb)
        return WEFT_ENOTFOUND;
    *out = f->reg.value;
    *out_len = f->reg.value_len;
    return 0;
}

int weft_crdt_map_contains(const weft_crdt_state_t *st, const uint8_t *field, size_t field_len)
{
    const crdt_field_t *f;
    if (st == NULL || st->type != WEFT_CRDT_LWW_MAP)
        return WEFT_EARG;
    f = crdt_map_find(&st->u.map, field, field_len);
    return f != NULL && !f->tomb;
}

int weft_crdt_map_entries(const weft_crdt_state_t *st, uint8_t *buf, size_t cap, size_t *out_len)
{
    crdt_wbuf_t w;
    uint32_t count = 0;
    if (st == NULL || st->type != WEFT_CRDT_LWW_MAP)
        return WEFT_EARG;
    for (size_t i = 0; i < st->u.map.n; i++)
        count += !st->u.map.v[i].tomb;
    crdt_wbuf_fixed(&w, buf, cap);
    crdt_put_u32le(&w, count);
    for (size_t i = 0; i < st->u.map.n; i++) {
        const crdt_field_t *f = &st->u.map.v[i];
        if (f->tomb)
            continue;
        crdt_put_u32le(&w, (uint32_t)f->field_len);
        crdt_put(&w, f->field, f->field_len);
        crdt_put_u32le(&w, (uint32_t)f->reg.value_len);
        crdt_put(&w, f->reg.value, f->reg.value_len);
    }
    return crdt_wbuf_fixed_end(&w, out_len);
}
