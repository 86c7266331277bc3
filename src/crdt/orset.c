/*
 * orset.c — observed-remove set, add wins.
 *
 * Each add is tagged with its OpId; an element is visible while it has a
 * live tag. A remove names an element and carries the tags its origin saw
 * for it; they move into that element's `removed` tags. An add whose tag
 * is among its element's removed tags arrived after its remove and stays
 * dead; an add the remove did not see keeps the element visible. Both
 * moves are set unions, hence idempotent and commutative, and each touches
 * one element only: elements are independent parts (weft_crdt_op_part), so
 * a store may keep and load them one by one. A remove naming an element
 * that never held its tags (a forged one) only adds dead tags to the
 * element it names. An element stays in the array while it has a live or
 * a removed tag, so equal states are equal arrays; removed tags are kept
 * forever (compaction needs causal stability; not done).
 */
#include <stdlib.h>

#include "crdt_internal.h"

static void elem_free(crdt_orelem_t *e)
{
    free(e->elem);
    free(e->tags);
    free(e->removed);
}

void crdt_orset_fini(crdt_orset_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        elem_free(&s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

typedef struct {
    const crdt_orset_t *s;
    const uint8_t *e;
    size_t n;
} elem_search_key_t;

static int elem_search_cmp(const void *key, size_t i)
{
    const elem_search_key_t *k = key;
    return crdt_bytes_cmp(k->s->v[i].elem, k->s->v[i].elem_len, k->e, k->n);
}

static size_t elem_search(const crdt_orset_t *s, const uint8_t *e, size_t n, int *found)
{
    elem_search_key_t k = {s, e, n};
    return crdt_search(s->n, elem_search_cmp, &k, found);
}

typedef struct {
    const weft_crdt_id_t *v;
    size_t n;
    const weft_crdt_id_t *id;
} id_search_key_t;

static int id_search_cmp(const void *key, size_t i)
{
    const id_search_key_t *k = key;
    return crdt_id_cmp(&k->v[i], k->id);
}

static size_t id_search(const weft_crdt_id_t *v, size_t n, const weft_crdt_id_t *id, int *found)
{
    id_search_key_t k = {v, n, id};
    return crdt_search(n, id_search_cmp, &k, found);
}

/* Inserts id into the sorted array (v, n, cap): 1 inserted, 0 was there. */
static int id_insert(weft_crdt_id_t **v, size_t *n, size_t *cap, const weft_crdt_id_t *id)
{
    int found;
    size_t i = id_search(*v, *n, id, &found);
    if (found)
        return 0;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 2;
        weft_crdt_id_t *g = realloc(*v, c * sizeof *g);
        if (g == NULL)
            return WEFT_ENOMEM;
        *v = g;
        *cap = c;
    }
    memmove(&(*v)[i + 1], &(*v)[i], (*n - i) * sizeof **v);
    (*v)[i] = *id;
    (*n)++;
    return 1;
}

/* Makes room for `more` ids in (v, n, cap). */
static int id_reserve(weft_crdt_id_t **v, size_t n, size_t *cap, size_t more)
{
    size_t c = *cap ? *cap : 2;
    weft_crdt_id_t *g;
    if (n + more <= *cap)
        return 0;
    while (c < n + more)
        c *= 2;
    if ((g = realloc(*v, c * sizeof *g)) == NULL)
        return WEFT_ENOMEM;
    *v = g;
    *cap = c;
    return 0;
}

const crdt_orelem_t *crdt_orset_find(const crdt_orset_t *s, const uint8_t *e, size_t n)
{
    int found;
    size_t i = elem_search(s, e, n, &found);
    return found ? &s->v[i] : NULL;
}

/* The element named e, inserted (with no tags) when absent. */
static int elem_get(crdt_orset_t *s, const uint8_t *e, size_t n, crdt_orelem_t **out)
{
    int found;
    size_t i = elem_search(s, e, n, &found);
    if (!found) {
        crdt_orelem_t fresh = {0};
        if ((fresh.elem = crdt_dup(e, n)) == NULL)
            return WEFT_ENOMEM;
        fresh.elem_len = n;
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 4;
            crdt_orelem_t *v = realloc(s->v, cap * sizeof *v);
            if (v == NULL) {
                free(fresh.elem);
                return WEFT_ENOMEM;
            }
            s->v = v;
            s->cap = cap;
        }
        memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof *s->v);
        s->v[i] = fresh;
        s->n++;
    }
    *out = &s->v[i];
    return 0;
}

/* Drops element e again if it holds no tag (after a failed first write). */
static void elem_drop_empty(crdt_orset_t *s, crdt_orelem_t *e)
{
    size_t i = (size_t)(e - s->v);
    if (e->ntags || e->nremoved)
        return;
    elem_free(e);
    memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
    s->n--;
}

static int orset_add(crdt_orset_t *s, const weft_crdt_op_t *op, const crdt_payload_t *pl)
{
    weft_crdt_id_t tag = weft_crdt_op_id(op);
    crdt_orelem_t *e;
    int found, rc;
    if ((rc = elem_get(s, pl->field, pl->field_len, &e)) < 0)
        return rc;
    id_search(e->removed, e->nremoved, &tag, &found);
    if (!found && (rc = id_insert(&e->tags, &e->ntags, &e->cap, &tag)) < 0) {
        elem_drop_empty(s, e);
        return rc;
    }
    return 0;
}

static int orset_remove(crdt_orset_t *s, const crdt_payload_t *pl)
{
    crdt_orelem_t *e;
    crdt_rbuf_t r;
    int rc;
    if (pl->ntags == 0)
        return 0; /* removes nothing; leaves no trace */
    if ((rc = elem_get(s, pl->field, pl->field_len, &e)) < 0)
        return rc;
    /* room first, so that a failure leaves the state unchanged */
    if ((rc = id_reserve(&e->removed, e->nremoved, &e->capremoved, pl->ntags)) < 0) {
        elem_drop_empty(s, e);
        return rc;
    }
    crdt_rbuf_init(&r, pl->tags, (size_t)-1 / 2); /* already parsed and bounded */
    for (size_t k = 0; k < pl->ntags; k++) {
        weft_crdt_id_t tag;
        int live;
        size_t j;
        crdt_get_id(&r, &tag);
        id_insert(&e->removed, &e->nremoved, &e->capremoved, &tag); /* has room */
        j = id_search(e->tags, e->ntags, &tag, &live);
        if (live) {
            memmove(&e->tags[j], &e->tags[j + 1], (e->ntags - j - 1) * sizeof *e->tags);
            e->ntags--;
        }
    }
    return 0;
}

int crdt_orset_apply(crdt_orset_t *s, const weft_crdt_op_t *op, const crdt_payload_t *pl)
{
    return op->kind == WEFT_CRDT_ADD ? orset_add(s, op, pl) : orset_remove(s, pl);
}

/* Per element: bytes, varint n live, ids, varint n removed, ids. */
void crdt_orset_encode(const crdt_orset_t *s, crdt_wbuf_t *w)
{
    crdt_put_varint(w, s->n);
    for (size_t i = 0; i < s->n; i++) {
        const crdt_orelem_t *e = &s->v[i];
        crdt_put_bytes(w, e->elem, e->elem_len);
        crdt_put_varint(w, e->ntags);
        for (size_t k = 0; k < e->ntags; k++)
            crdt_put_id(w, &e->tags[k]);
        crdt_put_varint(w, e->nremoved);
        for (size_t k = 0; k < e->nremoved; k++)
            crdt_put_id(w, &e->removed[k]);
    }
}

/* Reads a varint count then as many ids, strictly ascending, into a new
 * array. */
static int ids_decode(crdt_rbuf_t *r, weft_crdt_id_t **out, size_t *n_out)
{
    uint64_t n;
    if (crdt_get_varint(r, &n) < 0 || n > crdt_rbuf_left(r) / (WEFT_CRDT_ORIGIN_LEN + 1))
        return WEFT_EMALFORMED;
    if (n == 0)
        return 0;
    if ((*out = malloc((size_t)n * sizeof **out)) == NULL)
        return WEFT_ENOMEM;
    *n_out = (size_t)n;
    for (size_t k = 0; k < n; k++) {
        if (crdt_get_id(r, &(*out)[k]) < 0)
            return WEFT_EMALFORMED;
        if (k > 0 && crdt_id_cmp(&(*out)[k - 1], &(*out)[k]) >= 0)
            return WEFT_EMALFORMED;
    }
    return 0;
}

int crdt_orset_decode(crdt_orset_t *s, crdt_rbuf_t *r)
{
    uint64_t n;
    int rc;
    /* the smallest element: len, n live, n removed, one id */
    if (crdt_get_varint(r, &n) < 0 || n > crdt_rbuf_left(r) / (WEFT_CRDT_ORIGIN_LEN + 4))
        return WEFT_EMALFORMED;
    if (n && (s->v = calloc((size_t)n, sizeof *s->v)) == NULL)
        return WEFT_ENOMEM;
    s->cap = (size_t)n;
    for (size_t i = 0; i < n; i++) {
        crdt_orelem_t *e = &s->v[i];
        const uint8_t *p;
        s->n = i + 1;
        if (crdt_get_bytes(r, WEFT_CRDT_FIELD_MAX, &p, &e->elem_len) < 0)
            return WEFT_EMALFORMED;
        if ((e->elem = crdt_dup(p, e->elem_len)) == NULL)
            return WEFT_ENOMEM;
        if (i > 0 && crdt_bytes_cmp(s->v[i - 1].elem, s->v[i - 1].elem_len, e->elem,
                                    e->elem_len) >= 0)
            return WEFT_EMALFORMED;
        if ((rc = ids_decode(r, &e->tags, &e->ntags)) < 0)
            return rc;
        e->cap = e->ntags;
        if ((rc = ids_decode(r, &e->removed, &e->nremoved)) < 0)
            return rc;
        e->capremoved = e->nremoved;
        if (e->ntags == 0 && e->nremoved == 0)
            return WEFT_EMALFORMED;
        for (size_t k = 0; k < e->ntags; k++) {
            int found;
            id_search(e->removed, e->nremoved, &e->tags[k], &found);
            if (found) /* a tag both live and removed */
                return WEFT_EMALFORMED;
        }
    }
    return 0;
}

size_t crdt_orset_entries(const crdt_orset_t *s)
{
    size_t n = s->n;
    for (size_t i = 0; i < s->n; i++)
        n += s->v[i].nremoved;
    return n;
}

int weft_crdt_payload_orset_remove(const weft_crdt_state_t *st, const uint8_t *elem,
                                   size_t elem_len, uint8_t *buf, size_t cap, size_t *out_len)
{
    const crdt_orelem_t *e;
    crdt_wbuf_t w;
    if (out_len)
        *out_len = 0;
    if (st == NULL || st->type != WEFT_CRDT_ORSET || elem_len > WEFT_CRDT_FIELD_MAX)
        return WEFT_EARG;
    e = crdt_orset_find(&st->u.orset, elem, elem_len);
    crdt_wbuf_fixed(&w, buf, cap);
    crdt_put_bytes(&w, elem, elem_len);
    crdt_put_varint(&w, e ? e->ntags : 0);
    for (size_t k = 0; e && k < e->ntags; k++)
        crdt_put_id(&w, &e->tags[k]);
    return crdt_wbuf_fixed_end(&w, out_len);
}

int weft_crdt_orset_contains(const weft_crdt_state_t *st, const uint8_t *elem, size_t elem_len)
{
    const crdt_orelem_t *e;
    if (st == NULL || st->type != WEFT_CRDT_ORSET)
        return WEFT_EARG;
    e = crdt_orset_find(&st->u.orset, elem, elem_len);
    return e != NULL && e->ntags > 0;
}

int weft_crdt_orset_elements(const weft_crdt_state_t *st, uint8_t *buf, size_t cap,
                             size_t *out_len)
{
    const crdt_orset_t *s;
    crdt_wbuf_t w;
    uint32_t count = 0;
    if (st == NULL || st->type != WEFT_CRDT_ORSET)
        return WEFT_EARG;
    s = &st->u.orset;
    for (size_t i = 0; i < s->n; i++)
        count += s->v[i].ntags > 0;
    crdt_wbuf_fixed(&w, buf, cap);
    crdt_put_u32le(&w, count);
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].ntags == 0)
            continue;
        crdt_put_u32le(&w, (uint32_t)s->v[i].elem_len);
        crdt_put(&w, s->v[i].elem, s->v[i].elem_len);
    }
    return crdt_wbuf_fixed_end(&w, out_len);
}
