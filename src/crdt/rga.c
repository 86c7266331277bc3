/*
 * rga.c — Replicated Growable Array (Roh et al., "Replicated abstract data
 * types", 2011) as a tree: each element hangs under the element it was
 * inserted after (or the head), siblings ordered by descending stamp
 * (hlc, origin, seq), and the sequence is the pre-order walk. A later
 * insert at the same place has a higher HLC than everything its origin had
 * seen, so it lands first; a run typed after one's own element is a chain of
 * children and stays contiguous, never interleaved with a concurrent run.
 *
 * Elements are never removed: a delete sets a tombstone, so children of a
 * deleted element keep their place. An insert whose parent is unknown, or a
 * delete of an unknown id, waits in a pending list (sorted by id) and takes
 * effect when the element arrives. Cost: lookup O(log n); inserting into the
 * id index is an O(n) memmove and each arrival scans the pending inserts
 * (fine while pending stays small, which it does when sync delivers in
 * origin order). Nodes are addressed by index: the array may move.
 */
#include <stdlib.h>

#include "crdt_internal.h"

typedef struct {
    weft_crdt_id_t id;
    uint64_t hlc;
    int has_parent;
    weft_crdt_id_t parent;
    uint8_t *value;
    size_t value_len;
} rec_t;

typedef struct {
    rec_t r;
    int deleted;
    size_t *kids; /* node indices, descending stamp */
    size_t nkids, capkids;
} node_t;

struct crdt_rga {
    node_t *nodes;
    size_t n, cap;
    size_t *index; /* node indices sorted by id */
    size_t capindex;
    size_t *roots; /* head's children, descending stamp */
    size_t nroots, caproots;
    rec_t *pins; /* pending inserts, sorted by id */
    size_t npins, cappins;
    weft_crdt_id_t *pdels; /* pending deletes, sorted */
    size_t npdels, cappdels;
};

int crdt_rga_new(crdt_rga_t **out)
{
    return (*out = calloc(1, sizeof **out)) ? 0 : WEFT_ENOMEM;
}

void crdt_rga_free(crdt_rga_t *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->n; i++) {
        free(g->nodes[i].r.value);
        free(g->nodes[i].kids);
    }
    for (size_t i = 0; i < g->npins; i++)
        free(g->pins[i].value);
    free(g->nodes);
    free(g->index);
    free(g->roots);
    free(g->pins);
    free(g->pdels);
    free(g);
}

/* Grows *v (elements of size sz) to hold need. */
static int reserve(void **v, size_t *cap, size_t need, size_t sz)
{
    size_t c;
    void *p;
    if (need <= *cap)
        return 0;
    c = *cap ? *cap : 8;
    while (c < need)
        c *= 2;
    if ((p = realloc(*v, c * sz)) == NULL)
        return WEFT_ENOMEM;
    *v = p;
    *cap = c;
    return 0;
}

/* Position of id in the index; *found says whether it is there. */
typedef struct {
    const crdt_rga_t *g;
    const weft_crdt_id_t *id;
} find_key_t;

static int find_cmp(const void *key, size_t i)
{
    const find_key_t *k = key;
    return crdt_id_cmp(&k->g->nodes[k->g->index[i]].r.id, k->id);
}

static size_t find(const crdt_rga_t *g, const weft_crdt_id_t *id, int *found)
{
    find_key_t k = {g, id};
    return crdt_search(g->n, find_cmp, &k, found);
}

typedef struct {
    const crdt_rga_t *g;
    const weft_crdt_id_t *id;
} pin_find_key_t;

static int pin_find_cmp(const void *key, size_t i)
{
    const pin_find_key_t *k = key;
    return crdt_id_cmp(&k->g->pins[i].id, k->id);
}

static size_t pin_find(const crdt_rga_t *g, const weft_crdt_id_t *id, int *found)
{
    pin_find_key_t k = {g, id};
    return crdt_search(g->npins, pin_find_cmp, &k, found);
}

typedef struct {
    const crdt_rga_t *g;
    const weft_crdt_id_t *id;
} pdel_find_key_t;

static int pdel_find_cmp(const void *key, size_t i)
{
    const pdel_find_key_t *k = key;
    return crdt_id_cmp(&k->g->pdels[i], k->id);
}

static size_t pdel_find(const crdt_rga_t *g, const weft_crdt_id_t *id, int *found)
{
    pdel_find_key_t k = {g, id};
    return crdt_search(g->npdels, pdel_find_cmp, &k, found);
}

static int stamp_cmp(const rec_t *a, const rec_t *b)
{
    return weft_crdt_stamp_cmp(a->hlc, a->id.origin, a->id.seq, b->hlc, b->id.origin, b->id.seq);
}

/* Makes a node of rec (taking its value) under its parent, which is known.
 * On failure nothing changed and rec still owns its value. */
static int integrate(crdt_rga_t *g, rec_t *rec, size_t *out_node)
{
    size_t **kids, *nkids, *capkids, pos, at, k;
    int found;
    at = find(g, &rec->id, &found);
    if (reserve((void **)&g->nodes, &g->cap, g->n + 1, sizeof *g->nodes) < 0 ||
        reserve((void **)&g->index, &g->capindex, g->n + 1, sizeof *g->index) < 0)
        return WEFT_ENOMEM;
    if (rec->has_parent) {
        node_t *p = &g->nodes[g->index[find(g, &rec->parent, &found)]];
        kids = &p->kids;
        nkids = &p->nkids;
        capkids = &p->capkids;
    } else {
        kids = &g->roots;
        nkids = &g->nroots;
        capkids = &g->caproots;
    }
    if (reserve((void **)kids, capkids, *nkids + 1, sizeof **kids) < 0)
        return WEFT_ENOMEM;
    for (pos = 0; pos < *nkids; pos++) /* siblings are few: linear */
        if (stamp_cmp(&g->nodes[(*kids)[pos]].r, rec) < 0)
            break;
    k = g->n++;
    memset(&g->nodes[k], 0, sizeof g->nodes[k]);
    g->nodes[k].r = *rec;
    memmove(&(*kids)[pos + 1], &(*kids)[pos], (*nkids - pos) * sizeof **kids);
    (*kids)[pos] = k;
    (*nkids)++;
    memmove(&g->index[at + 1], &g->index[at], (g->n - 1 - at) * sizeof *g->index);
    g->index[at] = k;
    *out_node = k;
    return 0;
}

/* After node k arrived: its pending delete, then pending children, then
 * theirs (a worklist, so a long chain does not recurse). */
static int settle(crdt_rga_t *g, size_t k)
{
    size_t *work = NULL, nwork = 0, capwork = 0;
    int rc = 0;
    if ((rc = reserve((void **)&work, &capwork, 1, sizeof *work)) < 0)
        return rc;
    work[nwork++] = k;
    while (nwork > 0) {
        size_t j = work[--nwork];
        int found;
        size_t d = pdel_find(g, &g->nodes[j].r.id, &found);
        if (found) {
            g->nodes[j].deleted = 1;
            memmove(&g->pdels[d], &g->pdels[d + 1], (g->npdels - d - 1) * sizeof *g->pdels);
            g->npdels--;
        }
        for (size_t i = 0; i < g->npins;) {
            rec_t rec = g->pins[i];
            size_t child;
            if (!rec.has_parent || crdt_id_cmp(&rec.parent, &g->nodes[j].r.id) != 0) {
                i++;
                continue;
            }
            if ((rc = reserve((void **)&work, &capwork, nwork + 1, sizeof *work)) < 0 ||
                (rc = integrate(g, &rec, &child)) < 0)
                goto out; /* the pending insert stays pending */
            memmove(&g->pins[i], &g->pins[i + 1], (g->npins - i - 1) * sizeof *g->pins);
            g->npins--;
            work[nwork++] = child;
        }
    }
out:
    free(work);
    return rc;
}

static int rga_insert(crdt_rga_t *g, const weft_crdt_op_t *op, const crdt_payload_t *pl)
{
    rec_t rec = {0};
    size_t at, k;
    int found, rc;
    rec.id = weft_crdt_op_id(op);
    rec.hlc = op->hlc;
    rec.has_parent = pl->has_parent;
    rec.parent = pl->parent;
    find(g, &rec.id, &found);
    if (found)
        return 0;
    at = pin_find(g, &rec.id, &found);
    if (found)
        return 0;
    if ((rec.value = crdt_dup(pl->value, pl->value_len)) == NULL)
        return WEFT_ENOMEM;
    rec.value_len = pl->value_len;
    if (rec.has_parent)
        find(g, &rec.parent, &found);
    if (rec.has_parent && !found) {
        if (reserve((void **)&g->pins, &g->cappins, g->npins + 1, sizeof *g->pins) < 0) {
            free(rec.value);
            return WEFT_ENOMEM;
        }
        memmove(&g->pins[at + 1], &g->pins[at], (g->npins - at) * sizeof *g->pins);
        g->pins[at] = rec;
        g->npins++;
        return 0;
    }
    if ((rc = integrate(g, &rec, &k)) < 0) {
        free(rec.value);
        return rc;
    }
    /* Known limit: out of memory here leaves some pending work for the next
     * arrival; the element itself is in. */
    return settle(g, k);
}

static int rga_delete(crdt_rga_t *g, const weft_crdt_id_t *id)
{
    int found;
    size_t at = find(g, id, &found);
    if (found) {
        g->nodes[g->index[at]].deleted = 1;
        return 0;
    }
    at = pdel_find(g, id, &found);
    if (found)
        return 0;
    if (reserve((void **)&g->pdels, &g->cappdels, g->npdels + 1, sizeof *g->pdels) < 0)
        return WEFT_ENOMEM;
    memmove(&g->pdels[at + 1], &g->pdels[at], (g->npdels - at) * sizeof *g->pdels);
    g->pdels[at] = *id;
    g->npdels++;
    return 0;
}

int crdt_rga_apply(crdt_rga_t *g, const weft_crdt_op_t *op, const crdt_payload_t *pl)
{
    if (op->kind == WEFT_CRDT_INSERT)
        return rga_insert(g, op, pl);
    return rga_delete(g, &pl->parent);
}

/* Calls fn on each node in sequence order (tombstones included). */
static int walk(const crdt_rga_t *g, void (*fn)(const node_t *, void *), void *arg)
{
    size_t *stack = NULL, n = 0, cap = 0;
    if (reserve((void **)&stack, &cap, g->n + 1, sizeof *stack) < 0)
        return WEFT_ENOMEM;
    for (size_t i = g->nroots; i-- > 0;)
        stack[n++] = g->roots[i];
    while (n > 0) { /* every node is pushed once: n <= g->n */
        const node_t *nd = &g->nodes[stack[--n]];
        fn(nd, arg);
        for (size_t i = nd->nkids; i-- > 0;)
            stack[n++] = nd->kids[i];
    }
    free(stack);
    return 0;
}

static void rec_encode(const rec_t *r, int deleted, crdt_wbuf_t *w)
{
    crdt_put_id(w, &r->id);
    crdt_put_varint(w, r->hlc);
    crdt_put_u8(w, (uint8_t)(deleted | (r->has_parent << 1)));
    if (r->has_parent)
        crdt_put_id(w, &r->parent);
    crdt_put_bytes(w, r->value, r->value_len);
}

static void encode_node(const node_t *nd, void *arg)
{
    rec_encode(&nd->r, nd->deleted, arg);
}

int crdt_rga_encode(const crdt_rga_t *g, crdt_wbuf_t *w)
{
    int rc;
    crdt_put_varint(w, g->n);
    if ((rc = walk(g, encode_node, w)) < 0)
        return rc;
    crdt_put_varint(w, g->npins);
    for (size_t i = 0; i < g->npins; i++)
        rec_encode(&g->pins[i], 0, w);
    crdt_put_varint(w, g->npdels);
    for (size_t i = 0; i < g->npdels; i++)
        crdt_put_id(w, &g->pdels[i]);
    return 0;
}

/* Reads one record; value borrowed from r. */
static int rec_decode(crdt_rbuf_t *r, rec_t *rec, uint8_t *flags)
{
    memset(rec, 0, sizeof *rec);
    if (crdt_get_id(r, &rec->id) < 0 || crdt_get_varint(r, &rec->hlc) < 0 ||
        crdt_get_u8(r, flags) < 0 || *flags > 3)
        return WEFT_EMALFORMED;
    rec->has_parent = *flags >> 1;
    if (rec->has_parent && crdt_get_id(r, &rec->parent) < 0)
        return WEFT_EMALFORMED;
    if (crdt_get_bytes(r, WEFT_CRDT_VALUE_MAX, (const uint8_t **)&rec->value,
                       &rec->value_len) < 0)
        return WEFT_EMALFORMED;
    return 0;
}

typedef struct {
    const weft_crdt_id_t *ids;
    size_t i;
    int same;
} order_check_t;

static void check_node(const node_t *nd, void *arg)
{
    order_check_t *c = arg;
    if (crdt_id_cmp(&c->ids[c->i++], &nd->r.id) != 0)
        c->same = 0;
}

int crdt_rga_decode(crdt_rga_t *g, crdt_rbuf_t *r)
{
    uint64_t n;
    weft_crdt_id_t *order = NULL;
    order_check_t check;
    int rc = WEFT_EMALFORMED;
    /* smallest record: id 33, hlc 1, flags 1, len 1 */
    if (crdt_get_varint(r, &n) < 0 || n > crdt_rbuf_left(r) / 36)
        return WEFT_EMALFORMED;
    if (n && (order = malloc((size_t)n * sizeof *order)) == NULL)
        return WEFT_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        rec_t rec;
        uint8_t flags;
        int found;
        size_t k;
        if (rec_decode(r, &rec, &flags) < 0)
            goto fail;
        find(g, &rec.id, &found);
        if (found)
            goto fail;
        if (rec.has_parent && (find(g, &rec.parent, &found), !found))
            goto fail; /* pre-order: a parent comes before its children */
        if ((rec.value = crdt_dup(rec.value, rec.value_len)) == NULL) {
            rc = WEFT_ENOMEM;
            goto fail;
        }
        if ((rc = integrate(g, &rec, &k)) < 0) {
            free(rec.value);
            goto fail;
        }
        rc = WEFT_EMALFORMED;
        g->nodes[k].deleted = flags & 1;
        order[i] = rec.id;
    }
    check.ids = order;
    check.i = 0;
    check.same = 1;
    if ((rc = walk(g, check_node, &check)) < 0)
        goto fail;
    rc = WEFT_EMALFORMED;
    if (!check.same) /* not the canonical order */
        goto fail;
    if (crdt_get_varint(r, &n) < 0 || n > crdt_rbuf_left(r) / 36)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        rec_t rec;
        uint8_t flags;
        int found;
        if (rec_decode(r, &rec, &flags) < 0 || flags != 2)
            goto fail;
        find(g, &rec.id, &found);
        if (found || (find(g, &rec.parent, &found), found))
            goto fail; /* pending only while the parent is unknown */
        if (i > 0 && crdt_id_cmp(&g->pins[i - 1].id, &rec.id) >= 0)
            goto fail;
        if (reserve((void **)&g->pins, &g->cappins, i + 1, sizeof *g->pins) < 0 ||
            (rec.value = crdt_dup(rec.value, rec.value_len)) == NULL) {
            rc = WEFT_ENOMEM;
            goto fail;
        }
        g->pins[g->npins++] = rec;
    }
    if (crdt_get_varint(r, &n) < 0 || n > crdt_rbuf_left(r) / 33)
        goto fail;
    if (reserve((void **)&g->pdels, &g->cappdels, (size_t)n, sizeof *g->pdels) < 0) {
        rc = WEFT_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        int found;
        if (crdt_get_id(r, &g->pdels[i]) < 0)
            goto fail;
        find(g, &g->pdels[i], &found);
        if (found || (i > 0 && crdt_id_cmp(&g->pdels[i - 1], &g->pdels[i]) >= 0))
            goto fail;
        g->npdels++;
    }
    free(order);
    return 0;
fail:
    free(order);
    return rc;
}

typedef struct {
    crdt_wbuf_t *w;
    uint32_t count;
} values_t;

static void count_node(const node_t *nd, void *arg)
{
    ((values_t *)arg)->count += !nd->deleted;
}

static void value_node(const node_t *nd, void *arg)
{
    values_t *v = arg;
    if (nd->deleted)
        return;
    crdt_put_u32le(v->w, (uint32_t)nd->r.value_len);
    crdt_put(v->w, nd->r.value, nd->r.value_len);
}

int crdt_rga_values(const crdt_rga_t *g, crdt_wbuf_t *w)
{
    values_t v = {w, 0};
    int rc;
    if ((rc = walk(g, count_node, &v)) < 0)
        return rc;
    crdt_put_u32le(w, v.count);
    return walk(g, value_node, &v);
}

int crdt_rga_contains(const crdt_rga_t *g, const weft_crdt_id_t *id)
{
    int found;
    find(g, id, &found);
    return found;
}

size_t crdt_rga_entries(const crdt_rga_t *g)
{
    return g->n + g->npins + g->npdels;
}

int weft_crdt_rga_values(const weft_crdt_state_t *st, uint8_t *buf, size_t cap, size_t *out_len)
{
    crdt_wbuf_t w;
    int rc;
    if (st == NULL || st->type != WEFT_CRDT_RGA)
        return WEFT_EARG;
    crdt_wbuf_fixed(&w, buf, cap);
    if ((rc = crdt_rga_values(st->u.rga, &w)) < 0)
        return rc;
    return crdt_wbuf_fixed_end(&w, out_len);
}

int weft_crdt_rga_contains(const weft_crdt_state_t *st, const weft_crdt_id_t *id)
{
    if (st == NULL || st->type != WEFT_CRDT_RGA || id == NULL)
        return WEFT_EARG;
    return crdt_rga_contains(st->u.rga, id);
}
