/*
 * buf.c — byte writer and reader of the CRDT encodings, LEB128 varints and
 * OpId comparison.
 *
 * Varints are minimal: a decoder rejects overlong forms (a last byte of 0
 * after the first) and anything past 64 bits, so each value has exactly
 * one encoding and encoded states can be compared bytewise.
 */
#include <stdlib.h>

#include "crdt_internal.h"

void crdt_wbuf_fixed(crdt_wbuf_t *w, uint8_t *buf, size_t cap)
{
    w->p = buf;
    w->len = 0;
    w->cap = buf ? cap : 0;
    w->grow = 0;
    w->err = 0;
}

void crdt_wbuf_growing(crdt_wbuf_t *w)
{
    w->p = NULL;
    w->len = 0;
    w->cap = 0;
    w->grow = 1;
    w->err = 0;
}

void crdt_put(crdt_wbuf_t *w, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (w->grow && !w->err && w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 64;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *q = realloc(w->p, cap);
        if (q == NULL) {
            w->err = WEFT_ENOMEM;
        } else {
            w->p = q;
            w->cap = cap;
        }
    }
    if (!w->err && w->len + n <= w->cap)
        memcpy(w->p + w->len, p, n);
    w->len += n;
}

void crdt_put_u8(crdt_wbuf_t *w, uint8_t v)
{
    crdt_put(w, &v, 1);
}

void crdt_put_varint(crdt_wbuf_t *w, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        b[n++] = byte | (v ? 0x80 : 0);
    } while (v);
    crdt_put(w, b, n);
}

void crdt_put_u32le(crdt_wbuf_t *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    crdt_put(w, b, 4);
}

void crdt_put_bytes(crdt_wbuf_t *w, const uint8_t *p, size_t n)
{
    crdt_put_varint(w, n);
    crdt_put(w, p, n);
}

void crdt_put_id(crdt_wbuf_t *w, const weft_crdt_id_t *id)
{
    crdt_put(w, id->origin, WEFT_CRDT_ORIGIN_LEN);
    crdt_put_varint(w, id->seq);
}

int crdt_wbuf_fixed_end(const crdt_wbuf_t *w, size_t *out_len)
{
    if (out_len)
        *out_len = w->len;
    return w->len > w->cap ? WEFT_ELIMIT : 0;
}

void crdt_rbuf_init(crdt_rbuf_t *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
    r->bad = 0;
}

int crdt_get_u8(crdt_rbuf_t *r, uint8_t *out)
{
    if (r->bad || r->pos >= r->len)
        return r->bad = 1, -1;
    *out = r->p[r->pos++];
    return 0;
}

int crdt_get_varint(crdt_rbuf_t *r, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 10; i++) {
        uint8_t b;
        if (crdt_get_u8(r, &b) < 0)
            return -1;
        if (i == 9 && b > 1) /* bits past 64 */
            break;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (b == 0 && i > 0) /* overlong */
                break;
            *out = v;
            return 0;
        }
    }
    r->bad = 1;
    return -1;
}

int crdt_get(crdt_rbuf_t *r, size_t n, const uint8_t **out)
{
    if (r->bad || n > r->len - r->pos)
        return r->bad = 1, -1;
    *out = r->p + r->pos;
    r->pos += n;
    return 0;
}

int crdt_get_bytes(crdt_rbuf_t *r, size_t max, const uint8_t **out, size_t *out_len)
{
    uint64_t n;
    if (crdt_get_varint(r, &n) < 0)
        return -1;
    if (n > max)
        return r->bad = 1, -1;
    *out_len = (size_t)n;
    return crdt_get(r, (size_t)n, out);
}

int crdt_get_id(crdt_rbuf_t *r, weft_crdt_id_t *out)
{
    const uint8_t *o;
    if (crdt_get(r, WEFT_CRDT_ORIGIN_LEN, &o) < 0 || crdt_get_varint(r, &out->seq) < 0)
        return -1;
    memcpy(out->origin, o, WEFT_CRDT_ORIGIN_LEN);
    if (out->seq == 0)
        return r->bad = 1, -1;
    return 0;
}

int crdt_id_cmp(const weft_crdt_id_t *a, const weft_crdt_id_t *b)
{
    int c = memcmp(a->origin, b->origin, WEFT_CRDT_ORIGIN_LEN);
    if (c)
        return c;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

int crdt_bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return (an > bn) - (an < bn);
}

uint8_t *crdt_dup(const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

void weft_crdt_id_to_bytes(const weft_crdt_id_t *id, uint8_t out[WEFT_CRDT_ID_LEN])
{
    memcpy(out, id->origin, WEFT_CRDT_ORIGIN_LEN);
    for (int i = 0; i < 8; i++)
        out[WEFT_CRDT_ORIGIN_LEN + i] = (uint8_t)(id->seq >> (8 * i));
}

int weft_crdt_id_from_bytes(const uint8_t *p, size_t len, weft_crdt_id_t *out)
{
    if (p == NULL || len != WEFT_CRDT_ID_LEN)
        return WEFT_EMALFORMED;
    memcpy(out->origin, p, WEFT_CRDT_ORIGIN_LEN);
    out->seq = 0;
    for (int i = 0; i < 8; i++)
        out->seq |= (uint64_t)p[WEFT_CRDT_ORIGIN_LEN + i] << (8 * i);
    return out->seq ? 0 : WEFT_EMALFORMED;
}
