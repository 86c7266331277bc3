/*
 * state.c — weft_crdt_state_t: one (context, key)'s state of any type, and
 * the dispatch of apply, encode and decode to the type's file.
 *
 * Encoding: u8 version, u8 type, then the type's canonical body. A decode
 * must consume every byte; on any error the partial state is freed.
 */
#include <stddef.h>
#include <stdlib.h>

#include "crdt_internal.h"

_Static_assert(offsetof(crdt_field_t, field) == offsetof(crdt_named_t, name) &&
                   offsetof(crdt_field_t, field_len) == offsetof(crdt_named_t, len) &&
                   offsetof(crdt_orelem_t, elem) == offsetof(crdt_named_t, name) &&
                   offsetof(crdt_orelem_t, elem_len) == offsetof(crdt_named_t, len),
               "map fields and set elements begin with a crdt_named_t");

int weft_crdt_state_new(uint8_t type, weft_crdt_state_t **out)
{
    weft_crdt_state_t *st;
    *out = NULL;
    if (type < WEFT_CRDT_GCOUNTER || type > WEFT_CRDT_RGA)
        return WEFT_EARG;
    if ((st = calloc(1, sizeof *st)) == NULL)
        return WEFT_ENOMEM;
    st->type = type;
    if (type == WEFT_CRDT_RGA && crdt_rga_new(&st->u.rga) < 0) {
        free(st);
        return WEFT_ENOMEM;
    }
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
    case WEFT_CRDT_RGA: crdt_rga_free(st->u.rga); break;
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
    case WEFT_CRDT_RGA: return crdt_rga_apply(st->u.rga, op, &pl);
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
    case WEFT_CRDT_RGA: rc = crdt_rga_encode(st->u.rga, &w); break;
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
    case WEFT_CRDT_RGA: rc = crdt_rga_decode(st->u.rga, &r); break;
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
    case WEFT_CRDT_RGA: return crdt_rga_entries(st->u.rga);
    }
    return 0;
}

/* ---- parts ---- */

int weft_crdt_type_parted(uint8_t type)
{
    return type == WEFT_CRDT_LWW_MAP || type == WEFT_CRDT_ORSET;
}

int weft_crdt_op_part(const weft_crdt_op_t *op, const uint8_t **part, size_t *part_len)
{
    crdt_payload_t pl;
    int rc;
    if (op == NULL || part == NULL || part_len == NULL || (op->payload_len && !op->payload))
        return WEFT_EARG;
    if (!weft_crdt_type_parted(op->type))
        return 0;
    if ((rc = crdt_payload_parse(op->type, op->kind, op->payload, op->payload_len, &pl)) < 0)
        return rc;
    *part = pl.field;
    *part_len = pl.field_len;
    return 1;
}

/* The parted array of st: its items, their count and size. */
static const crdt_named_t *parts_of(const weft_crdt_state_t *st, size_t *n, size_t *size)
{
    switch (st->type) {
    case WEFT_CRDT_LWW_MAP:
        *n = st->u.map.n;
        *size = sizeof(crdt_field_t);
        return (const crdt_named_t *)(const void *)st->u.map.v;
    case WEFT_CRDT_ORSET:
        *n = st->u.orset.n;
        *size = sizeof(crdt_orelem_t);
        return (const crdt_named_t *)(const void *)st->u.orset.v;
    }
    *n = 0;
    *size = 0;
    return NULL;
}

size_t weft_crdt_parts(const weft_crdt_state_t *st)
{
    size_t n = 0, size;
    if (st != NULL)
        parts_of(st, &n, &size);
    return n;
}

int weft_crdt_part_name(const weft_crdt_state_t *st, size_t i, const uint8_t **name,
                        size_t *len)
{
    const crdt_named_t *item;
    size_t n = 0, size;
    if (st == NULL || name == NULL || len == NULL)
        return WEFT_EARG;
    const char *v = (const char *)parts_of(st, &n, &size);
    if (i >= n)
        return WEFT_EARG;
    item = (const crdt_named_t *)(const void *)(v + i * size);
    *name = item->name;
    *len = item->len;
    return 0;
}

/* Name of item i of an array of `size`-byte items. */
static const crdt_named_t *named_at(const void *v, size_t size, size_t i)
{
    return (const crdt_named_t *)(const void *)((const char *)v + i * size);
}

typedef struct {
    const void *v;
    size_t size;
    const crdt_named_t *want;
} named_search_key_t;

static int named_search_cmp(const void *key, size_t i)
{
    const named_search_key_t *k = key;
    const crdt_named_t *item = named_at(k->v, k->size, i);
    return crdt_bytes_cmp(item->name, item->len, k->want->name, k->want->len);
}

int crdt_absorb_sorted(void **dv, size_t *dn, size_t *dcap, void *sv, size_t *sn, size_t size)
{
    size_t i;
    int rc = 0;
    for (i = 0; i < *sn; i++) {
        const crdt_named_t *item = named_at(sv, size, i);
        size_t at = *dn;
        int found = 0;
        /* parts mostly come in order: try the end before searching */
        if (*dn) {
            const crdt_named_t *last = named_at(*dv, size, *dn - 1);
            if (crdt_bytes_cmp(last->name, last->len, item->name, item->len) >= 0) {
                named_search_key_t k = {*dv, size, item};
                at = crdt_search(*dn, named_search_cmp, &k, &found);
            }
        }
        if (found) {
            rc = WEFT_EMALFORMED;
            break;
        }
        if (*dn == *dcap) {
            size_t cap = *dcap ? *dcap * 2 : 4;
            void *g = realloc(*dv, cap * size);
            if (g == NULL) {
                rc = WEFT_ENOMEM;
                break;
            }
            *dv = g;
            *dcap = cap;
        }
        char *d = *dv;
        memmove(d + (at + 1) * size, d + at * size, (*dn - at) * size);
        memcpy(d + at * size, (const char *)sv + i * size, size);
        (*dn)++;
    }
    /* src keeps what was not moved */
    memmove(sv, (char *)sv + i * size, (*sn - i) * size);
    *sn -= i;
    return rc;
}

size_t weft_crdt_state_bytes(const weft_crdt_state_t *st)
{
    return st ? st->bytes : 0;
}

int weft_crdt_state_absorb(weft_crdt_state_t *dst, weft_crdt_state_t *src)
{
    void *v;
    int rc;
    if (dst == NULL || src == NULL || dst->type != src->type || !weft_crdt_type_parted(dst->type))
        return WEFT_EARG;
    dst->bytes += src->bytes;
    src->bytes = 0;
    if (dst->type == WEFT_CRDT_LWW_MAP) {
        v = dst->u.map.v;
        rc = crdt_absorb_sorted(&v, &dst->u.map.n, &dst->u.map.cap, src->u.map.v, &src->u.map.n,
                                sizeof(crdt_field_t));
        dst->u.map.v = v;
        return rc;
    }
    v = dst->u.orset.v;
    rc = crdt_absorb_sorted(&v, &dst->u.orset.n, &dst->u.orset.cap, src->u.orset.v,
                            &src->u.orset.n, sizeof(crdt_orelem_t));
    dst->u.orset.v = v;
    return rc;
}
