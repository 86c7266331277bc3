/*
 * orset.c — observed-remove set, add wins.
 *
 * Each add is tagged with its OpId; an element is visible while it has a
 * live tag. A remove carries the tags its origin saw for the element and
 * moves them into `removed`, the set of every tag ever removed (tags are
 * unique across elements, so one set serves the whole key). An add whose
 * tag is in `removed` arrived after its remove and stays dead; an add the
 * remove did not see keeps the element visible. Both moves are set unions,
 * hence idempotent and commutative. Elements with no live tag are dropped
 * from the array, so equal states are equal arrays. `removed` grows with
 * every removed add (compaction needs causal stability; not done).
 */
#include <stdlib.h>

#include "crdt_internal.h"

static void elem_free(crdt_orelem_t *e)
{
    free(e->elem);
    free(e->tags);
}

void crdt_orset_fini(crdt_orset_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        elem_free(&s->v[i]);
    free(s->v);
    free(s->removed);
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

const crdt_orelem_t *crdt_orset_find(const crdt_orset_t *s, const uint8_t *e, size_t n)
{
    int found;
    size_t i = elem_search(s, e, n, &found);
    return found ? &s->v[i] : NULL;
}

static int orset_add(crdt_orset_t *s, const weft_crdt_op_t *op, const crdt_payload_t *pl)
{
    weft_crdt_id_t tag = weft_crdt_op_id(op);
    int found, rc;
    size_t i;
    crdt_orelem_t *e;
    id_search(s->removed, s->nremoved, &tag, &found);
    if (found)
        return 0;
    i = elem_search(s, pl->field, pl->field_len, &found);
    if (!found) {
        crdt_orelem_t fresh = {0};
        if ((fresh.elem = crdt_dup(pl->field, pl->field_len)) == NULL)
            return WEFT_ENOMEM;
        fresh.elem_len = pl->field_len;
        if ((rc = id_insert(&fresh.tags, &fresh.ntags, &fresh.cap, &tag)) < 0) {
            elem_free(&fresh);
            return rc;
        }
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 4;
            crdt_orelem_t *v = realloc(s->v, cap * sizeof *v);
            if (v == NULL) {
                elem_free(&fresh);
                return WEFT_ENOMEM;
            }
            s->v = v;
            s->cap = cap;
        }
        memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof *s->v);
        s->v[i] = fresh;
        s->n++;
        return 0;
    }
    e = &s->v[i];
    rc = id_insert(&e->tags, &e->ntags, &e->cap, &tag);
    return rc < 0 ? rc : 0;
}

/* Drops tag from e's live tags; 1 if it was there. */
static int untag(crdt_orelem_t *e, const weft_crdt_id_t *tag)
{
    int live;
    size_t j = id_search(e->tags, e->ntags, tag, &live);
    if (live) {
        memmove(&e->tags[j], &e->tags[j + 1], (e->ntags - j - 1) * sizeof *e->tags);
        e->ntags--;
    }
    return live;
}

static int orset_remove(crdt_orset_t *s, const crdt_payload_t *pl)
{
    crdt_rbuf_t r;
    int found, rc, emptied = 0;
    size_t i = elem_search(s, pl->field, pl->field_len, &found);
    /* room first, so that a failure leaves the state unchanged */
    if (s->nremoved + pl->ntags > s->capremoved) {
        size_t cap = s->capremoved ? s->capremoved : 4;
        while (cap < s->nremoved + pl->ntags)
            cap *= 2;
        weft_crdt_id_t *g = realloc(s->removed, cap * sizeof *g);
        if (g == NULL)
            return WEFT_ENOMEM;
        s->removed = g;
        s->capremoved = cap;
    }
    crdt_rbuf_init(&r, pl->tags, (size_t)-1 / 2); /* already parsed and bounded */
    for (size_t k = 0; k < pl->ntags; k++) {
        weft_crdt_id_t tag;
        crdt_get_id(&r, &tag);
        if ((rc = id_insert(&s->removed, &s->nremoved, &s->capremoved, &tag)) < 0)
            return rc; /* cannot happen: room was made */
        if (rc == 0) /* removed before: live nowhere */
            continue;
        if (found && untag(&s->v[i], &tag))
            continue;
        /* An honest remove names the element that holds its tags. Any other
         * tag is looked for everywhere, O(elements), so that a forged remove
         * cannot make replicas diverge. */
        for (size_t j = 0; j < s->n; j++)
            if (untag(&s->v[j], &tag)) {
                emptied = 1;
                break;
            }
    }
    if (found && s->v[i].ntags == 0)
        emptied = 1;
    if (emptied) {
        size_t keep = 0;
        for (size_t j = 0; j < s->n; j++) {
            if (s->v[j].ntags == 0)
                elem_free(&s->v[j]);
            else
                s->v[keep++] = s->v[j];
        }
        s->n = keep;
    }
    return 0;
}

int crdt_orset_apply(crdt_orset_t *s, const weft_crdt_op_t *op, const crdt_payload_t *pl)
{
    return op->kind == WEFT_CRDT_ADD ? orset_add(s, op, pl) : orset_remove(s, pl);
}

void crdt_orset_encode(const crdt_orset_t *s, crdt_wbuf_t *w)
{
    crdt_put_varint(w, s->n);
    for (size_t i = 0; i < s->n; i++) {
        crdt_put_bytes(w, s->v[i].elem, s->v[i].elem_len);
        crdt_put_varint(w, s->v[i].ntags);
        for (size_t k = 0; k < s->v[i].ntags; k++)
            crdt_put_id(w, &s->v[i].tags[k]);
    }
    crdt_put_varint(w, s->nremoved);
    for (size_t k = 0; k < s->nremoved; k++)
        crdt_put_id(w, &s->removed[k]);
}

/* Reads n ids, strictly ascending, into a new array. */
static int ids_decode(crdt_rbuf_t *r, uint64_t n, weft_crdt_id_t **out)
{
    if (n > crdt_rbuf_left(r) / (WEFT_CRDT_ORIGIN_LEN + 1))
        return WEFT_EMALFORMED;
    if (n == 0)
        return 0;
    if ((*out = malloc((size_t)n * sizeof **out)) == NULL)
        return WEFT_ENOMEM;
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
    uint64_t n, nt;
    int rc;
    if (crdt_get_varint(r, &n) < 0 || n > crdt_rbuf_left(r) / (WEFT_CRDT_ORIGIN_LEN + 3))
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
        if (crdt_get_varint(r, &nt) < 0 || nt == 0)
            return WEFT_EMALFORMED;
        if ((rc = ids_decode(r, nt, &e->tags)) < 0)
            return rc;
        e->ntags = e->cap = (size_t)nt;
    }
    if (crdt_get_varint(r, &nt) < 0)
        return WEFT_EMALFORMED;
    if ((rc = ids_decode(r, nt, &s->removed)) < 0)
        return rc;
    s->nremoved = s->capremoved = (size_t)nt;
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = 0; k < s->v[i].ntags; k++) {
            int found;
            id_search(s->removed, s->nremoved, &s->v[i].tags[k], &found);
            if (found) /* a tag both live and removed */
                return WEFT_EMALFORMED;
        }
    return 0;
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
    if (st == NULL || st->type != WEFT_CRDT_ORSET)
        return WEFT_EARG;
    return crdt_orset_find(&st->u.orset, elem, elem_len) != NULL;
}

int weft_crdt_orset_elements(const weft_crdt_state_t *st, uint8_t *buf, size_t cap,
                             size_t *out_len)
{
    crdt_wbuf_t w;
    if (st == NULL || st->type != WEFT_CRDT_ORSET)
        return WEFT_EARG;
    crdt_wbuf_fixed(&w, buf, cap);
    crdt_put_u32le(&w, (uint32_t)st->u.orset.n);
    for (size_t i = 0; i < st->u.orset.n; i++) {
        crdt_put_u32le(&w, (uint32_t)st->u.orset.v[i].elem_len);
        crdt_put(&w, st->u.orset.v[i].elem, st->u.orset.v[i].elem_len);
    }
    return crdt_wbuf_fixed_end(&w, out_len);
}
