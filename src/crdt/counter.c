/*
 * counter.c — GCounter and PNCounter.
 *
 * Each op carries its origin's cumulative total after the op (the origin
 * computes it from its own slot, which has all of its own ops), so a slot
 * keeps only the total of the highest-seq op seen. Apply is a max by seq:
 * duplicates and reordering are harmless and the state is exactly one slot
 * per origin, with no per-op history (an origin's seqs are shared by all of
 * its keys, so a per-key seq set would never close its gaps). The value is
 * the sum of the slots modulo 2^64. PN keeps increments in [0] and
 * decrements in [1], each its own max-by-seq register.
 */
#include <stdlib.h>

#include "crdt_internal.h"

void crdt_counter_fini(crdt_counter_t *c)
{
    free(c->v);
    memset(c, 0, sizeof *c);
}

typedef struct {
    const crdt_counter_t *c;
    const uint8_t *origin;
} slot_search_key_t;

static int slot_search_cmp(const void *key, size_t i)
{
    const slot_search_key_t *k = key;
    return memcmp(k->c->v[i].origin, k->origin, WEFT_CRDT_ORIGIN_LEN);
}

/* Index of origin, or where it would go (with *found = 0). */
static size_t slot_search(const crdt_counter_t *c, const uint8_t *origin, int *found)
{
    slot_search_key_t k = {c, origin};
    return crdt_search(c->n, slot_search_cmp, &k, found);
}

const crdt_slot_t *crdt_counter_find(const crdt_counter_t *c, const uint8_t *origin)
{
    int found;
    size_t i = slot_search(c, origin, &found);
    return found ? &c->v[i] : NULL;
}

int crdt_counter_apply(crdt_counter_t *c, int pn, const weft_crdt_op_t *op,
                       const crdt_payload_t *pl)
{
    int found;
    size_t i = slot_search(c, op->origin, &found);
    int side = op->kind == WEFT_CRDT_DEC;
    crdt_slot_t *s;
    if (!found) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 4;
            crdt_slot_t *v = realloc(c->v, cap * sizeof *v);
            if (v == NULL)
                return WEFT_ENOMEM;
            c->v = v;
            c->cap = cap;
        }
        memmove(&c->v[i + 1], &c->v[i], (c->n - i) * sizeof *c->v);
        memset(&c->v[i], 0, sizeof *c->v);
        memcpy(c->v[i].origin, op->origin, WEFT_CRDT_ORIGIN_LEN);
        c->n++;
    }
    (void)pn;
    s = &c->v[i];
    if (op->seq > s->seq[side]) {
        s->seq[side] = op->seq;
        s->total[side] = pl->total;
    }
    return 0;
}

void crdt_counter_encode(const crdt_counter_t *c, int pn, crdt_wbuf_t *w)
{
    crdt_put_varint(w, c->n);
    for (size_t i = 0; i < c->n; i++) {
        crdt_put(w, c->v[i].origin, WEFT_CRDT_ORIGIN_LEN);
        for (int side = 0; side < 1 + pn; side++) {
            crdt_put_varint(w, c->v[i].seq[side]);
            crdt_put_varint(w, c->v[i].total[side]);
        }
    }
}

int crdt_counter_decode(crdt_counter_t *c, int pn, crdt_rbuf_t *r)
{
    uint64_t n;
    size_t rec = WEFT_CRDT_ORIGIN_LEN + 2 * (1 + pn);
    if (crdt_get_varint(r, &n) < 0 || n > crdt_rbuf_left(r) / rec)
        return WEFT_EMALFORMED;
    if (n) {
        c->v = calloc((size_t)n, sizeof *c->v);
        if (c->v == NULL)
            return WEFT_ENOMEM;
        c->cap = (size_t)n;
    }
    for (size_t i = 0; i < n; i++) {
        crdt_slot_t *s = &c->v[i];
        const uint8_t *o;
        if (crdt_get(r, WEFT_CRDT_ORIGIN_LEN, &o) < 0)
            return WEFT_EMALFORMED;
        memcpy(s->origin, o, WEFT_CRDT_ORIGIN_LEN);
        for (int side = 0; side < 1 + pn; side++) {
            crdt_get_varint(r, &s->seq[side]);
            crdt_get_varint(r, &s->total[side]);
            /* a total without an op, or a slot of neither side, is not reachable */
            if (r->bad || (s->seq[side] == 0 && s->total[side] != 0))
                return WEFT_EMALFORMED;
        }
        if (s->seq[0] == 0 && s->seq[1] == 0)
            return WEFT_EMALFORMED;
        c->n = i + 1;
        if (i > 0 && memcmp(c->v[i - 1].origin, s->origin, WEFT_CRDT_ORIGIN_LEN) >= 0)
            return WEFT_EMALFORMED;
    }
    return 0;
}

int weft_crdt_payload_counter(const weft_crdt_state_t *st, const uint8_t *origin, uint8_t kind,
                              uint64_t delta, uint8_t *buf, size_t cap, size_t *out_len)
{
    const crdt_slot_t *s;
    uint64_t total;
    crdt_wbuf_t w;
    int side = kind == WEFT_CRDT_DEC;
    if (out_len)
        *out_len = 0;
    if (st == NULL || origin == NULL ||
        (st->type != WEFT_CRDT_GCOUNTER && st->type != WEFT_CRDT_PNCOUNTER) ||
        (kind != WEFT_CRDT_INC && !(kind == WEFT_CRDT_DEC && st->type == WEFT_CRDT_PNCOUNTER)))
        return WEFT_EARG;
    s = crdt_counter_find(&st->u.counter, origin);
    total = s ? s->total[side] : 0;
    if (total > UINT64_MAX - delta)
        return WEFT_ELIMIT;
    crdt_wbuf_fixed(&w, buf, cap);
    crdt_put_varint(&w, delta);
    crdt_put_varint(&w, total + delta);
    return crdt_wbuf_fixed_end(&w, out_len);
}

int weft_crdt_gcounter_value(const weft_crdt_state_t *st, uint64_t *out)
{
    uint64_t sum = 0;
    if (st == NULL || st->type != WEFT_CRDT_GCOUNTER)
        return WEFT_EARG;
    for (size_t i = 0; i < st->u.counter.n; i++)
        sum += st->u.counter.v[i].total[0];
    *out = sum;
    return 0;
}

int weft_crdt_pncounter_value(const weft_crdt_state_t *st, int64_t *out)
{
    uint64_t sum = 0;
    if (st == NULL || st->type != WEFT_CRDT_PNCOUNTER)
        return WEFT_EARG;
    for (size_t i = 0; i < st->u.counter.n; i++)
        sum += st->u.counter.v[i].total[0] - st->u.counter.v[i].total[1];
    *out = (int64_t)sum; /* two's complement: the i64 the ABI reports */
    return 0;
}
