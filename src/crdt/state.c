/*
 * state.c — weft_crdt_state_t: one (context, key)'s state of any type, and
 * the dispatch of apply, encode and decode to the type's file.
 *
 * Encoding: u8 version, u8 type, then the type's canonical body. A decode
 * must consume every byte; on any error the partial state is freed.
 */
#include <stdlib.h>

#include "crdt_internal.h"


int weft_crdt_state_new(uint8_t type, weft_crdt_state_t **out)
{
    weft_crdt_state_t *st;
    *out = NULL;
    if (type < WEFT_CRDT_GCOUNTER || type > WEFT_CRDT_RGA)
        return WEFT_EARG;
    if ((st = calloc(1, sizeof *st)) == NULL)
        return WEFT_ENOMEM;
    st->type = type;
    *out = st;
    return 0;
}

void weft_crdt_state_delete(weft_crdt_state_t *st)
{
    if (st == NULL)
        return;
    switch (st->type) {
    case WEFT_CRDT_GCOUNTER:
    case WEFT_CRDT_PNCOUNTER: crdt_counter_fini(&st->u.counter); break;
    case WEFT_CRDT_LWW_REG: crdt_lww_fini(&st->u.lww); break;
    case WEFT_CRDT_LWW_MAP: crdt_map_fini(&st->u.map); break;
    case WEFT_CRDT_ORSET: crdt_orset_fini(&st->u.orset); break;
    case WEFT_CRDT_RGA: crdt_rga_fini(&st->u.rga); break;
    }
    free(st);
}

uint8_t weft_crdt_state_type(const weft_crdt_state_t *st)
{
    return st->type;
}

int weft_crdt_apply(weft_crdt_state_t *st, const weft_crdt_op_t *op)
{
    crdt_payload_t pl;
    int rc;
    if (st == NULL || op == NULL || op->type != st->type || op->seq == 0 ||
        (op->payload_len && op->payload == NULL))
        return WEFT_EARG;
    if ((rc = crdt_payload_parse(op->type, op->kind, op->payload, op->payload_len, &pl)) < 0)
        return rc;
    switch (st->type) {
    case WEFT_CRDT_GCOUNTER: return crdt_counter_apply(&st->u.counter, 0, op, &pl);
    case WEFT_CRDT_PNCOUNTER: return crdt_counter_apply(&st->u.counter, 1, op, &pl);
    case WEFT_CRDT_LWW_REG: return crdt_lww_apply(&st->u.lww, op, &pl);
    case WEFT_CRDT_LWW_MAP: return crdt_map_apply(&st->u.map, op, &pl);
    case WEFT_CRDT_ORSET: return crdt_orset_apply(&st->u.orset, op, &pl);
    case WEFT_CRDT_RGA: return crdt_rga_apply(&st->u.rga, op, &pl);
    }
    return WEFT_EARG;
}

int weft_crdt_state_encode(const weft_crdt_state_t *st, uint8_t **out, size_t *out_len)
{
    crdt_wbuf_t w;
    int rc = 0;
    *out = NULL;
    *out_len = 0;
    if (st == NULL)
        return WEFT_EARG;
    crdt_wbuf_growing(&w);
    crdt_put_u8(&w, WEFT_CRDT_STATE_VERSION);
    crdt_put_u8(&w, st->type);
    switch (st->type) {
    case WEFT_CRDT_GCOUNTER: crdt_counter_encode(&st->u.counter, 0, &w); break;
    case WEFT_CRDT_PNCOUNTER: crdt_counter_encode(&st->u.counter, 1, &w); break;
    case WEFT_CRDT_LWW_REG: crdt_lww_encode(&st->u.lww, &w); break;
    case WEFT_CRDT_LWW_MAP: crdt_map_encode(&st->u.map, &w); break;
    case WEFT_CRDT_ORSET: crdt_orset_encode(&st->u.orset, &w); break;
    case WEFT_CRDT_RGA: rc = crdt_rga_encode(&st->u.rga, &w); break;
    }
    if (rc == 0)
        rc = w.err;
    if (rc < 0) {
        free(w.p);
        return rc;
    }
    *out = w.p;
    *out_len = w.len;
    return 0;
}

int weft_crdt_state_decode(const uint8_t *bytes, size_t len, weft_crdt_state_t **out)
{
    weft_crdt_state_t *st = NULL;
    crdt_rbuf_t r;
    uint8_t version, type;
    int rc;
    *out = NULL;
    if (bytes == NULL)
        return WEFT_EMALFORMED;
    crdt_rbuf_init(&r, bytes, len);
    if (crdt_get_u8(&r, &version) < 0 || version != WEFT_CRDT_STATE_VERSION ||
        crdt_get_u8(&r, &type) < 0 || type < WEFT_CRDT_GCOUNTER || type > WEFT_CRDT_RGA)
        return WEFT_EMALFORMED;
    if ((rc = weft_crdt_state_new(type, &st)) < 0)
        return rc;
    switch (type) {
    case WEFT_CRDT_GCOUNTER: rc = crdt_counter_decode(&st->u.counter, 0, &r); break;
    case WEFT_CRDT_PNCOUNTER: rc = crdt_counter_decode(&st->u.counter, 1, &r); break;
    case WEFT_CRDT_LWW_REG: rc = crdt_lww_decode(&st->u.lww, &r); break;
    case WEFT_CRDT_LWW_MAP: rc = crdt_map_decode(&st->u.map, &r); break;
    case WEFT_CRDT_ORSET: rc = crdt_orset_decode(&st->u.orset, &r); break;
    case WEFT_CRDT_RGA: rc = crdt_rga_decode(&st->u.rga, &r); break;
    }
    if (rc == 0 && (r.bad || r.pos != len))
        rc = WEFT_EMALFORMED;
    if (rc < 0)
        goto fail;
    st->bytes = len;
    *out = st;
    return 0;
fail:
    weft_crdt_state_delete(st);
    return rc;
}

size_t weft_crdt_state_entries(const weft_crdt_state_t *st)
{
    switch (st->type) {
    case WEFT_CRDT_GCOUNTER:
    case WEFT_CRDT_PNCOUNTER: return st->u.counter.n;
    case WEFT_CRDT_LWW_REG: return (size_t)st->u.lww.has;
    case WEFT_CRDT_LWW_MAP: return st->u.map.n;
    case WEFT_CRDT_ORSET: return crdt_orset_entries(&st->u.orset);
    case WEFT_CRDT_RGA: return crdt_rga_entries(&st->u.rga);
    }
    return 0;
}

/* ---- parts ---- */

int weft_crdt_type_parted(uint8_t type)
{
    return type == WEFT_CRDT_LWW_MAP || type == WEFT_CRDT_ORSET || type == WEFT_CRDT_RGA;
}

void weft_crdt_id_part(const weft_crdt_id_t *id, uint8_t out[WEFT_CRDT_ID_LEN])
{
    crdt_rga_name(id, out);
}

int weft_crdt_op_part(const weft_crdt_op_t *op, uint8_t scratch[WEFT_CRDT_ID_LEN],
                      const uint8_t **part, size_t *part_len)
{
    crdt_payload_t pl;
    int rc;
    if (op == NULL || scratch == NULL || part == NULL || part_len == NULL ||
        (op->payload_len && !op->payload))
        return WEFT_EARG;
    if (!weft_crdt_type_parted(op->type))
        return 0;
    if ((rc = crdt_payload_parse(op->type, op->kind, op->payload, op->payload_len, &pl)) < 0)
        return rc;
    if (op->type == WEFT_CRDT_RGA) {
        weft_crdt_id_t id = op->kind == WEFT_CRDT_INSERT ? weft_crdt_op_id(op) : pl.parent;
        crdt_rga_name(&id, scratch);
        *part = scratch;
        *part_len = WEFT_CRDT_ID_LEN;
        return 1;
    }
    *part = pl.field;
    *part_len = pl.field_len;
    return 1;
}

/* A parted state's array of parts, sorted by name, and how to name one. */
typedef struct {
    void *v;
    size_t *n, *cap;
    size_t size;
    void (*name)(const void *item, const uint8_t **p, size_t *len);
} parts_t;

static void field_name(const void *item, const uint8_t **p, size_t *len)
{
    const crdt_field_t *f = item;
    *p = f->field;
    *len = f->field_len;
}

static void elem_name(const void *item, const uint8_t **p, size_t *len)
{
    const crdt_orelem_t *e = item;
    *p = e->elem;
    *len = e->elem_len;
}

static void relem_name(const void *item, const uint8_t **p, size_t *len)
{
    const crdt_relem_t *e = *(crdt_relem_t *const *)item;
    *p = e->name;
    *len = CRDT_RGA_NAME_LEN;
}

/* 0 with *out set for a parted state, else WEFT_EARG. */
static int parts_of(weft_crdt_state_t *st, parts_t *out)
{
    switch (st->type) {
    case WEFT_CRDT_LWW_MAP:
        *out = (parts_t){st->u.map.v, &st->u.map.n, &st->u.map.cap, sizeof(crdt_field_t),
                         field_name};
        return 0;
    case WEFT_CRDT_ORSET:
        *out = (parts_t){st->u.orset.v, &st->u.orset.n, &st->u.orset.cap, sizeof(crdt_orelem_t),
                         elem_name};
        return 0;
    case WEFT_CRDT_RGA:
        *out = (parts_t){st->u.rga.v, &st->u.rga.n, &st->u.rga.cap, sizeof(crdt_relem_t *),
                         relem_name};
        return 0;
    }
    return WEFT_EARG;
}

/* Stores a parted state's (possibly moved) array back. */
static void parts_set(weft_crdt_state_t *st, void *v)
{
    switch (st->type) {
    case WEFT_CRDT_LWW_MAP: st->u.map.v = v; break;
    case WEFT_CRDT_ORSET: st->u.orset.v = v; break;
    case WEFT_CRDT_RGA: st->u.rga.v = v; break;
    }
}

static const void *part_at(const parts_t *p, size_t i)
{
    return (const char *)p->v + i * p->size;
}

size_t weft_crdt_parts(const weft_crdt_state_t *st)
{
    parts_t p;
    if (st == NULL || parts_of((weft_crdt_state_t *)st, &p) < 0)
        return 0;
    return *p.n;
}

int weft_crdt_part_name(const weft_crdt_state_t *st, size_t i, const uint8_t **name,
                        size_t *len)
{
    parts_t p;
    if (st == NULL || name == NULL || len == NULL || parts_of((weft_crdt_state_t *)st, &p) < 0 ||
        i >= *p.n)
        return WEFT_EARG;
    p.name(part_at(&p, i), name, len);
    return 0;
}

size_t weft_crdt_state_bytes(const weft_crdt_state_t *st)
{
    return st ? st->bytes : 0;
}

typedef struct {
    const parts_t *p;
    const uint8_t *name;
    size_t len;
} part_search_key_t;

static int part_search_cmp(const void *key, size_t i)
{
    const part_search_key_t *k = key;
    const uint8_t *name;
    size_t len;
    k->p->name(part_at(k->p, i), &name, &len);
    return crdt_bytes_cmp(name, len, k->name, k->len);
}

/* Moves src's items into dst, keeping dst sorted by name: WEFT_EMALFORMED
 * if a name is in both, WEFT_ENOMEM; on error the items not moved stay in
 * src. O(1) an item when they come after dst's last, as a store's scan
 * hands them. */
static int absorb_sorted(parts_t *dst, parts_t *src)
{
    size_t i;
    int rc = 0;
    for (i = 0; i < *src->n; i++) {
        const void *item = part_at(src, i);
        const uint8_t *name, *last;
        size_t len, last_len, at = *dst->n;
        int found = 0;
        src->name(item, &name, &len);
        if (*dst->n) {
            dst->name(part_at(dst, *dst->n - 1), &last, &last_len);
            if (crdt_bytes_cmp(last, last_len, name, len) >= 0) {
                part_search_key_t k = {dst, name, len};
                at = crdt_search(*dst->n, part_search_cmp, &k, &found);
            }
        }
        if (found) {
            rc = WEFT_EMALFORMED;
            break;
        }
        if (*dst->n == *dst->cap) {
            size_t cap = *dst->cap ? *dst->cap * 2 : 4;
            void *g = realloc(dst->v, cap * dst->size);
            if (g == NULL) {
                rc = WEFT_ENOMEM;
                break;
            }
            dst->v = g;
            *dst->cap = cap;
        }
        char *d = dst->v;
        memmove(d + (at + 1) * dst->size, d + at * dst->size, (*dst->n - at) * dst->size);
        memcpy(d + at * dst->size, item, dst->size);
        (*dst->n)++;
    }
    memmove(src->v, part_at(src, i), (*src->n - i) * src->size);
    *src->n -= i;
    return rc;
}

int weft_crdt_state_absorb(weft_crdt_state_t *dst, weft_crdt_state_t *src)
{
    parts_t d, s;
    int rc;
    if (dst == NULL || src == NULL || dst->type != src->type || parts_of(dst, &d) < 0)
        return WEFT_EARG;
    parts_of(src, &s);
    dst->bytes += src->bytes;
    src->bytes = 0;
    rc = absorb_sorted(&d, &s);
    parts_set(dst, d.v);
    return rc;
}
