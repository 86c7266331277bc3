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
    case WEFT_CRDT_ORSET: return st->u.orset.n + st->u.orset.nremoved;
    case WEFT_CRDT_RGA: return crdt_rga_entries(st->u.rga);
    }
    return 0;
}
