/*
 * repl_msg.c — the replication messages on the wire (repl_msg.h;
 * docs/sync.md "Replication" gives them byte by byte).
 *
 * OPS frames carry ops without what every op of a frame shares: the
 * context once per frame, the origin and seq once per group of consecutive
 * seqs, the key when it repeats and the timestamp as a delta, so a small op
 * costs a handful of bytes. The receiver rebuilds each op's canonical
 * encoding (weft_crdt_op_encode), which is byte for byte what its origin
 * logged: op encodings are unique, and apply_remote logs the bytes given.
 */
#include <stdlib.h>
#include <string.h>

#include "repl_msg.h"
#include "weft/error.h"

/* ---- writing ---------------------------------------------------------- */

void repl_buf_free(repl_buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

int repl_grow(void **p, size_t *cap, size_t n, size_t elem, size_t min)
{
    size_t c = *cap ? *cap : min;
    void *np;
    if (n < *cap)
        return 0;
    while (c <= n)
        c *= 2;
    if (!(np = realloc(*p, c * elem)))
        return WEFT_ENOMEM;
    *p = np;
    *cap = c;
    return 0;
}

/* Makes room for n more bytes. */
static int reserve(repl_buf_t *b, size_t n)
{
    if (!b->oom && b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 256;
        uint8_t *np;
        while (cap - b->len < n)
            cap *= 2;
        if (!(np = realloc(b->p, cap)))
            b->oom = 1;
        else {
            b->p = np;
            b->cap = cap;
        }
    }
    return b->oom ? WEFT_ENOMEM : 0;
}

static void put(repl_buf_t *b, const void *p, size_t n)
{
    if (reserve(b, n) < 0)
        return;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void put_u8(repl_buf_t *b, uint8_t v)
{
    put(b, &v, 1);
}

static void put_varint(repl_buf_t *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    put(b, tmp, n);
}

static void put_ctx(repl_buf_t *b, const uint8_t *ctx, size_t ctx_len)
{
    put_u8(b, (uint8_t)ctx_len);
    put(b, ctx, ctx_len);
}

int repl_vv_encode(repl_buf_t *b, const uint8_t *ctx, size_t ctx_len, const weft_crdt_id_t *vv,
                   size_t n)
{
    if (ctx_len > WEFT_CRDT_CONTEXT_MAX || n > REPL_MAX_ORIGINS)
        return WEFT_EARG;
    b->len = 0;
    put_ctx(b, ctx, ctx_len);
    put_varint(b, n);
    for (size_t i = 0; i < n; i++) {
        put(b, vv[i].origin, WEFT_CRDT_ORIGIN_LEN);
        put_varint(b, vv[i].seq);
    }
    return b->oom ? WEFT_ENOMEM : 0;
}

/* ---- reading ---------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t len, pos;
    int bad;
} rd_t;

static size_t left(const rd_t *r)
{
    return r->len - r->pos;
}

static const uint8_t *get(rd_t *r, size_t n)
{
    const uint8_t *p;
    if (r->bad || left(r) < n) {
        r->bad = 1;
        return NULL;
    }
    p = r->p + r->pos;
    r->pos += n;
    return p;
}

static uint8_t get_u8(rd_t *r)
{
    const uint8_t *p = get(r, 1);
    return p ? *p : 0;
}

/* Minimal LEB128 only, so that every message has one encoding. */
static uint64_t get_varint(rd_t *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        const uint8_t *p = get(r, 1);
        if (!p)
            return 0;
        if (shift == 63 && (*p & 0xfe)) /* past 64 bits */
            break;
        v |= (uint64_t)(*p & 0x7f) << shift;
        if (!(*p & 0x80)) {
            if (*p == 0 && shift > 0) /* a needless trailing zero byte */
                break;
            return v;
        }
    }
    r->bad = 1;
    return 0;
}

static const uint8_t *get_ctx(rd_t *r, size_t *ctx_len)
{
    *ctx_len = get_u8(r);
    return get(r, *ctx_len);
}

int repl_vv_decode(const uint8_t *p, size_t len, const uint8_t **ctx, size_t *ctx_len,
                   weft_crdt_id_t **out, size_t *out_n)
{
    rd_t r = {p, len, 0, 0};
    weft_crdt_id_t *vv = NULL;
    uint64_t n;
    *out = NULL;
    *out_n = 0;
    *ctx = get_ctx(&r, ctx_len);
    n = get_varint(&r);
    /* each entry takes at least 33 bytes */
    if (r.bad || n > REPL_MAX_ORIGINS || n > left(&r) / (WEFT_CRDT_ORIGIN_LEN + 1))
        return WEFT_EMALFORMED;
    if (n && !(vv = malloc(n * sizeof *vv)))
        return WEFT_ENOMEM;
    for (uint64_t i = 0; i < n && !r.bad; i++) {
        const uint8_t *o = get(&r, WEFT_CRDT_ORIGIN_LEN);
        if (!o)
            break;
        memcpy(vv[i].origin, o, WEFT_CRDT_ORIGIN_LEN);
        vv[i].seq = get_varint(&r);
        if (i > 0 && memcmp(vv[i - 1].origin, o, WEFT_CRDT_ORIGIN_LEN) >= 0)
            r.bad = 1; /* strictly ascending: one entry per origin */
    }
    if (r.bad || r.pos != len) {
        free(vv);
        return WEFT_EMALFORMED;
    }
    *out = vv;
    *out_n = (size_t)n;
    return 0;
}

/* ---- OPS: writer ------------------------------------------------------ */

#define HEAD_SAME_KEY 0x80

void repl_ops_begin(repl_ops_writer_t *w, const uint8_t *ctx, size_t ctx_len)
{
    w->frame.len = 0;
    w->group.len = 0;
    w->frame.oom = w->group.oom = 0;
    w->count = 0;
    w->prev_hlc = 0;
    w->has_prev_key = 0;
    w->nops = 0;
    put_ctx(&w->frame, ctx, ctx_len);
}

static void flush_group(repl_ops_writer_t *w)
{
    if (w->count == 0)
        return;
    put(&w->frame, w->origin, WEFT_CRDT_ORIGIN_LEN);
    put_varint(&w->frame, w->first_seq);
    put_varint(&w->frame, w->count);
    put(&w->frame, w->group.p, w->group.len);
    w->group.len = 0;
    w->count = 0;
}

int repl_ops_add(repl_ops_writer_t *w, const weft_crdt_op_t *op)
{
    uint8_t head = (uint8_t)(((op->type & 7) << 4) | (op->kind & 15));
    uint64_t d = op->hlc - w->prev_hlc; /* mod 2^64, then zigzag */
    if (op->type > 7 || op->kind > 15 || op->key_len > WEFT_CRDT_KEY_MAX)
        return WEFT_EARG;
    if (w->count == 0 || memcmp(w->origin, op->origin, WEFT_CRDT_ORIGIN_LEN) != 0 ||
        op->seq != w->first_seq + w->count) {
        flush_group(w);
        memcpy(w->origin, op->origin, WEFT_CRDT_ORIGIN_LEN);
        w->first_seq = op->seq;
    }
    if (w->has_prev_key && op->key_len == w->prev_key_len &&
        memcmp(op->key, w->prev_key, op->key_len) == 0) {
        put_u8(&w->group, head | HEAD_SAME_KEY);
    } else {
        put_u8(&w->group, head);
        put_varint(&w->group, op->key_len);
        put(&w->group, op->key, op->key_len);
        if (op->key_len)
            memcpy(w->prev_key, op->key, op->key_len);
        w->prev_key_len = op->key_len;
        w->has_prev_key = 1;
    }
    put_varint(&w->group, (d << 1) ^ (uint64_t)-(int64_t)(d >> 63));
    put_varint(&w->group, op->payload_len);
    put(&w->group, op->payload, op->payload_len);
    w->prev_hlc = op->hlc;
    w->count++;
    w->nops++;
    return w->group.oom ? WEFT_ENOMEM : 0;
}

size_t repl_ops_size(const repl_ops_writer_t *w)
{
    return w->frame.len + w->group.len + (w->count ? WEFT_CRDT_ORIGIN_LEN + 20 : 0);
}

int repl_ops_end(repl_ops_writer_t *w)
{
    flush_group(w);
    return w->frame.oom || w->group.oom ? WEFT_ENOMEM : 0;
}

void repl_ops_writer_free(repl_ops_writer_t *w)
{
    repl_buf_free(&w->frame);
    repl_buf_free(&w->group);
}

/* ---- OPS: reader ------------------------------------------------------ */

void repl_ops_free(repl_ops_t *ops)
{
    free(ops->bytes);
    free(ops->ops);
    free(ops->groups);
    memset(ops, 0, sizeof *ops);
}

/* Rebuilds op's canonical encoding into b (from its start). */
static int rebuild(repl_buf_t *b, const weft_crdt_op_t *op)
{
    size_t need = 0, len;
    int rc = weft_crdt_op_encode(op, NULL, 0, &need);
    if (rc != WEFT_ELIMIT && rc != 0)
        return WEFT_EMALFORMED; /* a kind the type has not, a bad payload */
    b->len = 0;
    if (reserve(b, need) < 0)
        return WEFT_ENOMEM;
    if ((rc = weft_crdt_op_encode(op, b->p, need, &len)) < 0)
        return WEFT_EMALFORMED;
    b->len = len;
    return 0;
}

int repl_ops_walk(const uint8_t *p, size_t len, uint8_t ctx_out[WEFT_CRDT_CONTEXT_MAX],
                  size_t *ctx_len_out, repl_op_fn fn, void *user)
{
    rd_t r = {p, len, 0, 0};
    repl_buf_t op_bytes = {0};
    const uint8_t *ctx, *key = NULL;
    size_t ctx_len, key_len = 0, group = 0;
    uint64_t prev_hlc = 0;
    int has_key = 0, rc = WEFT_EMALFORMED;

    ctx = get_ctx(&r, &ctx_len);
    if (r.bad)
        goto done;
    if (ctx_out)
        memcpy(ctx_out, ctx, ctx_len);
    if (ctx_len_out)
        *ctx_len_out = ctx_len;
    for (; left(&r) > 0; group++) {
        const uint8_t *origin = get(&r, WEFT_CRDT_ORIGIN_LEN);
        uint64_t first = get_varint(&r), count = get_varint(&r);
        /* an op takes at least 3 bytes (head, hlc, payload_len) */
        if (r.bad || first == 0 || count == 0 || count > left(&r) / 3 ||
            first - 1 > UINT64_MAX - count)
            goto done;
        for (uint64_t i = 0; i < count; i++) {
            weft_crdt_op_t op;
            uint8_t head = get_u8(&r);
            uint64_t d, plen;
            memset(&op, 0, sizeof op);
            if (!(head & HEAD_SAME_KEY)) {
                uint64_t kl = get_varint(&r);
                if (kl > WEFT_CRDT_KEY_MAX)
                    goto done;
                key_len = (size_t)kl;
                key = get(&r, key_len);
                has_key = 1;
            } else if (!has_key) {
                goto done; /* no previous key */
            }
            d = get_varint(&r);
            prev_hlc += (d >> 1) ^ (uint64_t)-(int64_t)(d & 1);
            plen = get_varint(&r);
            if (r.bad || plen > left(&r))
                goto done;
            op.context = ctx;
            op.context_len = ctx_len;
            op.key = key;
            op.key_len = key_len;
            op.type = (head >> 4) & 7;
            op.kind = head & 15;
            memcpy(op.origin, origin, WEFT_CRDT_ORIGIN_LEN);
            op.seq = first + i;
            op.hlc = prev_hlc;
            op.payload = get(&r, (size_t)plen);
            op.payload_len = (size_t)plen;
            if ((rc = rebuild(&op_bytes, &op)) < 0)
                goto done;
            rc = WEFT_EMALFORMED;
            if (fn && fn(user, group, origin, op.seq, op_bytes.p, op_bytes.len)) {
                rc = 0;
                goto done;
            }
        }
    }
    rc = 0;
done:
    repl_buf_free(&op_bytes);
    return rc;
}

/* repl_ops_decode's collector. */
typedef struct {
    repl_ops_t *out;
    repl_buf_t bytes;
    size_t cap, gcap;
    int rc;
} collect_t;

static int collect_op(void *user, size_t group, const uint8_t *origin, uint64_t seq,
                      const uint8_t *bytes, size_t len)
{
    collect_t *c = user;
    repl_ops_t *o = c->out;
    if (group == o->ngroups) {
        if (repl_grow((void **)&o->groups, &c->gcap, o->ngroups, sizeof *o->groups, 8) < 0)
            goto oom;
        memcpy(o->groups[o->ngroups++].origin, origin, WEFT_CRDT_ORIGIN_LEN);
    }
    o->groups[group].seq = seq;
    if (repl_grow((void **)&o->ops, &c->cap, o->n, sizeof *o->ops, 64) < 0)
        goto oom;
    o->ops[o->n].off = c->bytes.len;
    o->ops[o->n].len = len;
    o->ops[o->n].group = group;
    o->ops[o->n].seq = seq;
    put(&c->bytes, bytes, len);
    if (c->bytes.oom)
        goto oom;
    o->n++;
    return 0;
oom:
    c->rc = WEFT_ENOMEM;
    return 1;
}

int repl_ops_decode(const uint8_t *p, size_t len, repl_ops_t *out)
{
    collect_t c;
    int rc;
    memset(out, 0, sizeof *out);
    memset(&c, 0, sizeof c);
    c.out = out;
    rc = repl_ops_walk(p, len, out->ctx, &out->ctx_len, collect_op, &c);
    if (rc == 0)
        rc = c.rc;
    out->bytes = c.bytes.p;
    if (rc < 0)
        repl_ops_free(out);
    return rc;
}

/* ---- snapshots: SNAP_NEED, SNAP_REQ, SNAP ------------------------------ */

int repl_ctx_encode(repl_buf_t *b, const uint8_t *ctx, size_t ctx_len)
{
    if (ctx_len > WEFT_CRDT_CONTEXT_MAX)
        return WEFT_EARG;
    b->len = 0;
    put_ctx(b, ctx, ctx_len);
    return b->oom ? WEFT_ENOMEM : 0;
}

int repl_ctx_decode(const uint8_t *p, size_t len, const uint8_t **ctx, size_t *ctx_len)
{
    rd_t r = {p, len, 0, 0};
    *ctx = get_ctx(&r, ctx_len);
    return r.bad || r.pos != len || *ctx_len > WEFT_CRDT_CONTEXT_MAX ? WEFT_EMALFORMED : 0;
}

static void put_pos(repl_buf_t *b, uint8_t kind, const uint8_t *after, size_t after_len)
{
    put_u8(b, kind);
    put_varint(b, after_len);
    put(b, after, after_len);
}

static const uint8_t *get_pos(rd_t *r, uint8_t *kind, size_t *after_len)
{
    uint64_t n;
    *kind = get_u8(r);
    n = get_varint(r);
    if (*kind > REPL_SNAP_KIND_MAX || n > REPL_SNAP_KEY_MAX || (*kind == 0 && n != 0)) {
        r->bad = 1;
        return NULL;
    }
    *after_len = (size_t)n;
    return get(r, *after_len);
}

int repl_snap_req_encode(repl_buf_t *b, const uint8_t *ctx, size_t ctx_len, uint8_t after_kind,
                         const uint8_t *after, size_t after_len)
{
    if (ctx_len > WEFT_CRDT_CONTEXT_MAX || after_kind > REPL_SNAP_KIND_MAX ||
        after_len > REPL_SNAP_KEY_MAX || (after_kind == 0 && after_len))
        return WEFT_EARG;
    b->len = 0;
    put_ctx(b, ctx, ctx_len);
    put_pos(b, after_kind, after, after_len);
    return b->oom ? WEFT_ENOMEM : 0;
}

int repl_snap_req_decode(const uint8_t *p, size_t len, const uint8_t **ctx, size_t *ctx_len,
                         uint8_t *after_kind, const uint8_t **after, size_t *after_len)
{
    rd_t r = {p, len, 0, 0};
    *ctx = get_ctx(&r, ctx_len);
    *after = get_pos(&r, after_kind, after_len);
    return r.bad || r.pos != len || *ctx_len > WEFT_CRDT_CONTEXT_MAX ? WEFT_EMALFORMED : 0;
}

void repl_snap_rec(repl_buf_t *b, uint8_t kind, const uint8_t *key, size_t key_len,
                   const uint8_t *val, size_t val_len)
{
    put_u8(b, kind);
    put_varint(b, key_len);
    put(b, key, key_len);
    put_varint(b, val_len);
    put(b, val, val_len);
}

static void put_vv(repl_buf_t *b, const weft_crdt_id_t *vv, size_t n)
{
    put_varint(b, n);
    for (size_t i = 0; i < n; i++) {
        put(b, vv[i].origin, WEFT_CRDT_ORIGIN_LEN);
        put_varint(b, vv[i].seq);
    }
}

int repl_snap_encode(repl_buf_t *b, const uint8_t *ctx, size_t ctx_len, uint8_t after_kind,
                     const uint8_t *after, size_t after_len, const weft_crdt_id_t *v0, size_t nv0,
                     int last, const weft_crdt_id_t *floors, size_t nf, uint64_t hlc,
                     const uint8_t *recs, size_t recs_len)
{
    if (ctx_len > WEFT_CRDT_CONTEXT_MAX || after_len > REPL_SNAP_KEY_MAX ||
        nv0 > REPL_MAX_ORIGINS || nf > REPL_MAX_ORIGINS)
        return WEFT_EARG;
    b->len = 0;
    put_ctx(b, ctx, ctx_len);
    put_pos(b, after_kind, after, after_len);
    put_u8(b, (uint8_t)((after_kind == 0 ? 1 : 0) | (last ? 2 : 0)));
    if (after_kind == 0)
        put_vv(b, v0, nv0);
    if (last) {
        put_vv(b, floors, nf);
        put_varint(b, hlc);
    }
    put(b, recs, recs_len);
    return b->oom ? WEFT_ENOMEM : 0;
}

static weft_crdt_id_t *get_vv(rd_t *r, size_t *out_n)
{
    uint64_t n = get_varint(r);
    weft_crdt_id_t *vv = NULL;
    *out_n = 0;
    if (r->bad || n > REPL_MAX_ORIGINS || n > left(r) / (WEFT_CRDT_ORIGIN_LEN + 1)) {
        r->bad = 1;
        return NULL;
    }
    if (n && !(vv = malloc(n * sizeof *vv))) {
        r->bad = 2; /* out of memory */
        return NULL;
    }
    for (uint64_t i = 0; i < n && !r->bad; i++) {
        const uint8_t *o = get(r, WEFT_CRDT_ORIGIN_LEN);
        if (!o)
            break;
        memcpy(vv[i].origin, o, WEFT_CRDT_ORIGIN_LEN);
        vv[i].seq = get_varint(r);
        if (i > 0 && memcmp(vv[i - 1].origin, o, WEFT_CRDT_ORIGIN_LEN) >= 0)
            r->bad = 1;
    }
    *out_n = (size_t)n;
    return vv;
}

/* One record: 0, 1 at the end, or WEFT_EMALFORMED. */
static int get_rec(rd_t *r, uint8_t *kind, const uint8_t **key, size_t *key_len,
                   const uint8_t **val, size_t *val_len)
{
    uint64_t n;
    if (left(r) == 0)
        return 1;
    *kind = get_u8(r);
    n = get_varint(r);
    if (*kind < 1 || *kind > REPL_SNAP_KIND_MAX || n > REPL_SNAP_KEY_MAX)
        return WEFT_EMALFORMED;
    *key_len = (size_t)n;
    *key = get(r, *key_len);
    n = get_varint(r);
    if (r->bad || n > left(r))
        return WEFT_EMALFORMED;
    *val_len = (size_t)n;
    *val = get(r, *val_len);
    return r->bad ? WEFT_EMALFORMED : 0;
}

int repl_snap_decode(const uint8_t *p, size_t len, repl_snap_t *out)
{
    rd_t r = {p, len, 0, 0};
    uint8_t flags, kind = 0, pk = 0;
    const uint8_t *key, *val, *pkey = NULL;
    size_t kl, vl, pkl = 0;
    int rc;
    memset(out, 0, sizeof *out);
    out->ctx = get_ctx(&r, &out->ctx_len);
    out->after = get_pos(&r, &out->after_kind, &out->after_len);
    flags = get_u8(&r);
    if (r.bad || out->ctx_len > WEFT_CRDT_CONTEXT_MAX || (flags & ~3u) ||
        (flags & 1) != (out->after_kind == 0))
        return WEFT_EMALFORMED;
    out->first = flags & 1;
    out->last = (flags & 2) != 0;
    if (out->first)
        out->v0 = get_vv(&r, &out->nv0);
    if (out->last && !r.bad) {
        out->floors = get_vv(&r, &out->nfloors);
        out->hlc = get_varint(&r);
    }
    if (r.bad) {
        rc = r.bad == 2 ? WEFT_ENOMEM : WEFT_EMALFORMED;
        repl_snap_free(out);
        return rc;
    }
    out->recs = p + r.pos;
    out->recs_len = len - r.pos;
    /* records framed, kinds in order (keys are in the store's order: long
     * keys are stored by hash, so not bytewise) */
    pk = out->after_kind;
    pkey = out->after;
    pkl = out->after_len;
    while ((rc = get_rec(&r, &kind, &key, &kl, &val, &vl)) == 0) {
        if (kind < pk) {
            rc = WEFT_EMALFORMED;
            break;
        }
        pk = kind;
        pkey = key;
        pkl = kl;
        out->nrecs++;
    }
    if (rc < 0 || (out->nrecs == 0 && !out->last)) {
        repl_snap_free(out);
        return WEFT_EMALFORMED;
    }
    out->end_kind = pk;
    out->end = pkey;
    out->end_len = pkl;
    return 0;
}

int repl_snap_next(const uint8_t **p, size_t *len, uint8_t *kind, const uint8_t **key,
                   size_t *key_len, const uint8_t **val, size_t *val_len)
{
    rd_t r = {*p, *len, 0, 0};
    int rc = get_rec(&r, kind, key, key_len, val, val_len);
    if (rc == 0) {
        *p += r.pos;
        *len -= r.pos;
    }
    return rc;
}

void repl_snap_free(repl_snap_t *s)
{
    free(s->v0);
    free(s->floors);
    s->v0 = s->floors = NULL;
}
