/*
 * rga.c — Replicated Growable Array (Roh et al., "Replicated abstract data
 * types", 2011), kept as a set of independent element records.
 *
 * Each element is a record under its id: the insert (parent id or head,
 * stamp, value) once it has arrived, and a deleted flag once a delete has.
 * An INSERT fills its own record and a DELETE sets the flag on its
 * target's, so every op touches exactly one record (its part, see
 * weft_crdt_op_part): records are set unions, hence apply is idempotent and
 * commutative, and a store can keep and load them one by one. A delete that
 * arrives before its insert simply finds the flag already set.
 *
 * The sequence is derived on read: the elements form a tree (each under the
 * element it was inserted after, or the head), siblings ordered by
 * descending stamp (hlc, origin, seq), and the sequence is the pre-order
 * walk from the head. A later insert at the same place has a higher HLC than
 * everything its origin had seen, so it lands first; a run typed after
 * one's own element is a chain of children and stays contiguous, never
 * interleaved with a concurrent run. Deleted elements keep their place (and
 * their children's) but are not shown. An element whose parent has not
 * arrived, or whose parent's chain does not reach the head yet, is not in
 * the walk: it waits, and appears when the missing insert arrives. A forged
 * cycle of parents never reaches the head, so it stays invisible.
 *
 * Cost: apply O(log n) to find the record (plus an O(n) memmove to insert
 * it into the in-memory array); a read of the values O(n log n).
 */
#include <stdlib.h>

#include "crdt_internal.h"

void crdt_rga_fini(crdt_rga_t *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->v[i]->value);
        free(g->v[i]);
    }
    free(g->v);
    memset(g, 0, sizeof *g);
}

void crdt_rga_name(const weft_crdt_id_t *id, uint8_t out[CRDT_RGA_NAME_LEN])
{
    uint64_t seq = id->seq;
    memcpy(out, id->origin, WEFT_CRDT_ORIGIN_LEN);
    for (int i = 7; i >= 0; i--) {
        out[WEFT_CRDT_ORIGIN_LEN + i] = (uint8_t)seq;
        seq >>= 8;
    }
}

typedef struct {
    const crdt_rga_t *g;
    const weft_crdt_id_t *id;
} find_key_t;

static int find_cmp(const void *key, size_t i)
{
    const find_key_t *k = key;
    return crdt_id_cmp(&k->g->v[i]->id, k->id);
}

static size_t find(const crdt_rga_t *g, const weft_crdt_id_t *id, int *found)
{
    find_key_t k = {g, id};
    return crdt_search(g->n, find_cmp, &k, found);
}

/* The record of id, added (empty) when absent; *added says which. */
static int record(crdt_rga_t *g, const weft_crdt_id_t *id, crdt_relem_t **out, int *added)
{
    int found;
    size_t i = find(g, id, &found);
    *added = !found;
    if (!found) {
        crdt_relem_t *e;
        if (g->n == g->cap) {
            size_t cap = g->cap ? g->cap * 2 : 8;
            crdt_relem_t **v = realloc(g->v, cap * sizeof *v);
            if (v == NULL)
                return WEFT_ENOMEM;
            g->v = v;
            g->cap = cap;
        }
        if ((e = calloc(1, sizeof *e)) == NULL)
            return WEFT_ENOMEM;
        e->id = *id;
        crdt_rga_name(id, e->name);
        memmove(&g->v[i + 1], &g->v[i], (g->n - i) * sizeof *g->v);
        g->v[i] = e;
        g->n++;
    }
    *out = g->v[i];
    return 0;
}

/* Removes the (empty) record of id again, after a failed first write. */
static void unrecord(crdt_rga_t *g, const weft_crdt_id_t *id)
{
    int found;
    size_t i = find(g, id, &found);
    if (!found)
        return;
    free(g->v[i]);
    memmove(&g->v[i], &g->v[i + 1], (g->n - i - 1) * sizeof *g->v);
    g->n--;
}

int crdt_rga_apply(crdt_rga_t *g, const weft_crdt_op_t *op, const crdt_payload_t *pl)
{
    weft_crdt_id_t id = op->kind == WEFT_CRDT_INSERT ? weft_crdt_op_id(op) : pl->parent;
    crdt_relem_t *e;
    int added, rc;
    if ((rc = record(g, &id, &e, &added)) < 0)
        return rc;
    if (op->kind == WEFT_CRDT_DELETE) {
        e->deleted = 1;
        return 0;
    }
    if (e->inserted)
        return 0; /* a duplicate */
    if ((e->value = crdt_dup(pl->value, pl->value_len)) == NULL) {
        if (added)
            unrecord(g, &id);
        return WEFT_ENOMEM;
    }
    e->value_len = pl->value_len;
    e->inserted = 1;
    e->hlc = op->hlc;
    e->has_parent = (uint8_t)pl->has_parent;
    if (pl->has_parent)
        e->parent = pl->parent;
    return 0;
}

/* ---- encoding ----
 * varint n, then per record in id order: id, u8 flags (1 inserted,
 * 2 deleted, 4 has parent), and when inserted: varint hlc, [parent id],
 * bytes value. */

enum { F_INSERTED = 1, F_DELETED = 2, F_PARENT = 4 };

int crdt_rga_encode(const crdt_rga_t *g, crdt_wbuf_t *w)
{
    crdt_put_varint(w, g->n);
    for (size_t i = 0; i < g->n; i++) {
        const crdt_relem_t *e = g->v[i];
        crdt_put_id(w, &e->id);
        crdt_put_u8(w, (uint8_t)((e->inserted ? F_INSERTED : 0) | (e->deleted ? F_DELETED : 0) |
                                 (e->has_parent ? F_PARENT : 0)));
        if (!e->inserted)
            continue;
        crdt_put_varint(w, e->hlc);
        if (e->has_parent)
            crdt_put_id(w, &e->parent);
        crdt_put_bytes(w, e->value, e->value_len);
    }
    return 0;
}

int crdt_rga_decode(crdt_rga_t *g, crdt_rbuf_t *r)
{
    uint64_t n;
    /* the smallest record: id (origin, 1-byte seq), flags */
    if (crdt_get_varint(r, &n) < 0 || n > crdt_rbuf_left(r) / (WEFT_CRDT_ORIGIN_LEN + 2))
        return WEFT_EMALFORMED;
    if (n && (g->v = calloc((size_t)n, sizeof *g->v)) == NULL)
        return WEFT_ENOMEM;
    g->cap = (size_t)n;
    for (size_t i = 0; i < n; i++) {
        crdt_relem_t *e = calloc(1, sizeof *e);
        const uint8_t *v;
        uint8_t flags;
        if (e == NULL)
            return WEFT_ENOMEM;
        g->v[i] = e;
        g->n = i + 1;
        if (crdt_get_id(r, &e->id) < 0 || e->id.seq == 0 || crdt_get_u8(r, &flags) < 0 ||
            flags > 7 || !(flags & (F_INSERTED | F_DELETED)) ||
            ((flags & F_PARENT) && !(flags & F_INSERTED)))
            return WEFT_EMALFORMED;
        if (i > 0 && crdt_id_cmp(&g->v[i - 1]->id, &e->id) >= 0)
            return WEFT_EMALFORMED;
        crdt_rga_name(&e->id, e->name);
        e->inserted = (flags & F_INSERTED) != 0;
        e->deleted = (flags & F_DELETED) != 0;
        e->has_parent = (flags & F_PARENT) != 0;
        if (!e->inserted)
            continue;
        if (crdt_get_varint(r, &e->hlc) < 0 ||
            (e->has_parent && (crdt_get_id(r, &e->parent) < 0 || e->parent.seq == 0)) ||
            crdt_get_bytes(r, WEFT_CRDT_VALUE_MAX, &v, &e->value_len) < 0)
            return WEFT_EMALFORMED;
        if ((e->value = crdt_dup(v, e->value_len)) == NULL)
            return WEFT_ENOMEM;
    }
    return 0;
}

/* ---- the sequence ---- */

/* An edge of the tree: record elem under the record at index parent, or
 * HEAD. Elements whose parent has not arrived have no edge. */
#define HEAD ((size_t)-1)

typedef struct {
    size_t parent;
    size_t elem;
    const crdt_relem_t *rec;
} edge_t;

/* Children grouped by parent (HEAD first), each group by descending stamp. */
static int edge_cmp(const void *pa, const void *pb)
{
    const edge_t *a = pa, *b = pb;
    const crdt_relem_t *x = a->rec, *y = b->rec;
    if (a->parent != b->parent)
        return a->parent == HEAD ? -1 : b->parent == HEAD ? 1 : a->parent < b->parent ? -1 : 1;
    return -weft_crdt_stamp_cmp(x->hlc, x->id.origin, x->id.seq, y->hlc, y->id.origin, y->id.seq);
}

/* Visits the sequence in order, deleted elements included (fn skips
 * them), calling fn(e, arg) for each. */
static int walk(const crdt_rga_t *g, void (*fn)(const crdt_relem_t *, void *), void *arg)
{
    edge_t *edges = NULL;
    size_t *first = NULL, *stack = NULL, nedges = 0, top = 0;
    int rc = 0;
    if (g->n == 0)
        return 0;
    edges = malloc(g->n * sizeof *edges);
    first = malloc(g->n * sizeof *first); /* first[i]: record i's first child edge */
    stack = malloc(g->n * sizeof *stack);
    if (edges == NULL || first == NULL || stack == NULL) {
        rc = WEFT_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < g->n; i++) {
        const crdt_relem_t *e = g->v[i];
        size_t p = HEAD;
        int found = 1;
        if (!e->inserted)
            continue;
        if (e->has_parent) {
            p = find(g, &e->parent, &found);
            found = found && g->v[p]->inserted;
        }
        if (found) /* else it waits for its parent */
            edges[nedges++] = (edge_t){p, i, e};
    }
    qsort(edges, nedges, sizeof *edges, edge_cmp);
    for (size_t i = 0; i < g->n; i++)
        first[i] = nedges;
    for (size_t k = nedges; k-- > 0;)
        if (edges[k].parent != HEAD)
            first[edges[k].parent] = k;
    /* Pre-order with an explicit stack of edges to visit, the next on top:
     * each element has one parent, so each edge is pushed at most once. */
    for (size_t k = nedges; k-- > 0;)
        if (edges[k].parent == HEAD)
            stack[top++] = k;
    while (top > 0) {
        size_t e = edges[stack[--top]].elem, end = first[e];
        fn(g->v[e], arg);
        while (end < nedges && edges[end].parent == e)
            end++;
        for (size_t c = end; c > first[e]; c--) /* children, the first pushed last */
            stack[top++] = c - 1;
    }
done:
    free(edges);
    free(first);
    free(stack);
    return rc;
}

typedef struct {
    crdt_wbuf_t *w;
    uint32_t count;
} values_t;

static void count_elem(const crdt_relem_t *e, void *arg)
{
    ((values_t *)arg)->count += !e->deleted;
}

static void value_elem(const crdt_relem_t *e, void *arg)
{
    values_t *v = arg;
    if (e->deleted)
        return;
    crdt_put_u32le(v->w, (uint32_t)e->value_len);
    crdt_put(v->w, e->value, e->value_len);
}

int crdt_rga_values(const crdt_rga_t *g, crdt_wbuf_t *w)
{
    values_t v = {w, 0};
    int rc;
    if ((rc = walk(g, count_elem, &v)) < 0)
        return rc;
    crdt_put_u32le(w, v.count);
    return walk(g, value_elem, &v);
}

size_t crdt_rga_entries(const crdt_rga_t *g)
{
    return g->n;
}

int weft_crdt_rga_values(const weft_crdt_state_t *st, uint8_t *buf, size_t cap, size_t *out_len)
{
    crdt_wbuf_t w;
    int rc;
    if (st == NULL || st->type != WEFT_CRDT_RGA)
        return WEFT_EARG;
    crdt_wbuf_fixed(&w, buf, cap);
    if ((rc = crdt_rga_values(&st->u.rga, &w)) < 0)
        return rc;
    return crdt_wbuf_fixed_end(&w, out_len);
}

typedef struct {
    crdt_wbuf_t *w;
    uint32_t count;
} ids_t;

static void count_id(const crdt_relem_t *e, void *arg)
{
    ((ids_t *)arg)->count += !e->deleted;
}

static void id_elem(const crdt_relem_t *e, void *arg)
{
    ids_t *v = arg;
    uint8_t id[WEFT_CRDT_ID_LEN];
    if (e->deleted)
        return;
    weft_crdt_id_to_bytes(&e->id, id);
    crdt_put(v->w, id, sizeof id);
}

int weft_crdt_rga_ids(const weft_crdt_state_t *st, uint8_t *buf, size_t cap, size_t *out_len)
{
    crdt_wbuf_t w;
    ids_t v = {&w, 0};
    int rc;
    if (st == NULL || st->type != WEFT_CRDT_RGA)
        return WEFT_EARG;
    crdt_wbuf_fixed(&w, buf, cap);
    if ((rc = walk(&st->u.rga, count_id, &v)) < 0)
        return rc;
    crdt_put_u32le(&w, v.count);
    if ((rc = walk(&st->u.rga, id_elem, &v)) < 0)
        return rc;
    return crdt_wbuf_fixed_end(&w, out_len);
}

int weft_crdt_rga_contains(const weft_crdt_state_t *st, const weft_crdt_id_t *id)
{
    int found;
    size_t i;
    if (st == NULL || st->type != WEFT_CRDT_RGA || id == NULL)
        return WEFT_EARG;
    i = find(&st->u.rga, id, &found);
    return found && st->u.rga.v[i]->inserted;
}
