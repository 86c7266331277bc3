/*
 * overlay.c — the overlay transaction of weft/db.h (weft_txn_begin_overlay):
 * a write buffer of one context over a base transaction it only reads.
 *
 * db.c checks every argument (spaces, context and key lengths, value sizes)
 * as for any transaction and then hands an overlay's operations here. The
 * buffer is a treap ordered by (space, key) of the overlay's own context,
 * each entry a value or a tombstone; `below` are sealed overlays of the same
 * context, newest first, read between the buffer and the base. Reads of
 * other contexts and node-wide spaces go to the base; writes there return
 * WEFT_ESERIAL (so overlays of different contexts commute) and mark the
 * overlay, as do a buffer past OV_BYTES_MAX, a nested begin, a drop and a
 * context listing (db.c). Keys in the buffer are whole logical keys, so a
 * long key (stored by db.c under a head and a BLAKE3 tag) needs nothing
 * here: the base's scan gives logical order and the merge keeps it.
 *
 * Cost: O(log n) a get or put in the buffer (expected; random priorities),
 * plus one lookup per overlay below; a scan step O(levels * log n).
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "weft/error.h"

/* A call whose buffer passes this runs on the serial path instead, where
 * LMDB keeps its writes in pages: a buffer is process memory. */
#define OV_BYTES_MAX ((size_t)64 << 20)

typedef struct ov_ent {
    struct ov_ent *l, *r;
    uint32_t prio;
    uint8_t space;
    uint8_t tomb;     /* a delete: hides the key in every level below */
    size_t key_len;
    uint8_t *val;     /* malloc'd, NULL when empty */
    size_t val_len, val_cap;
    uint8_t key[];
} ov_ent_t;

struct store_overlay {
    weft_db_t *db;
    weft_txn_t *base; /* NULL once sealed */
    uint8_t ctx[256];
    size_t ctx_len;
    store_overlay_t **below; /* newest first; borrowed, sealed */
    size_t nbelow;
    ov_ent_t *root;
    size_t bytes;   /* entries, keys and values held, for OV_BYTES_MAX */
    size_t entries;
    uint32_t rng;
    int serial;     /* an operation returned WEFT_ESERIAL */
};

static const uint8_t ov_empty;

/* ---- the treap --------------------------------------------------------- */

static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    int c = n ? memcmp(a, b, n) : 0; /* a key may be NULL with length 0 */
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

static int ent_cmp(unsigned space, const uint8_t *key, size_t key_len, const ov_ent_t *e)
{
    if (space != e->space)
        return space < e->space ? -1 : 1;
    return bytes_cmp(key, key_len, e->key, e->key_len);
}

static ov_ent_t *tree_find(ov_ent_t *n, unsigned space, const uint8_t *key, size_t key_len)
{
    while (n) {
        int c = ent_cmp(space, key, key_len, n);
        if (c == 0)
            return n;
        n = c < 0 ? n->l : n->r;
    }
    return NULL;
}

/* The first entry at or after (space, key), or strictly after it. */
static ov_ent_t *tree_from(ov_ent_t *n, unsigned space, const uint8_t *key, size_t key_len,
                           int strict)
{
    ov_ent_t *best = NULL;
    while (n) {
        int c = ent_cmp(space, key, key_len, n);
        if (c < 0 || (c == 0 && !strict)) {
            best = n;
            if (c == 0)
                return n;
            n = n->l;
        } else {
            n = n->r;
        }
    }
    return best;
}

static ov_ent_t *tree_insert(ov_ent_t *root, ov_ent_t *e)
{
    if (!root)
        return e;
    if (ent_cmp(e->space, e->key, e->key_len, root) < 0) {
        root->l = tree_insert(root->l, e);
        if (root->l->prio > root->prio) {
            ov_ent_t *l = root->l;
            root->l = l->r;
            l->r = root;
            return l;
        }
    } else {
        root->r = tree_insert(root->r, e);
        if (root->r->prio > root->prio) {
            ov_ent_t *r = root->r;
            root->r = r->l;
            r->l = root;
            return r;
        }
    }
    return root;
}

static void tree_free(ov_ent_t *n)
{
    while (n) {
        ov_ent_t *r = n->r;
        tree_free(n->l);
        free(n->val);
        free(n);
        n = r;
    }
}

static uint32_t next_prio(store_overlay_t *ov)
{
    uint32_t x = ov->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return ov->rng = x;
}

/* ---- life ---------------------------------------------------------------- */

int store_ov_new(weft_db_t *db, weft_txn_t *base, const uint8_t *ctx, size_t ctx_len,
                 store_overlay_t *const *below, size_t nbelow, store_overlay_t **out)
{
    static uint32_t seed = 0x9e3779b9u;
    /* Not calloc: the context's 256 bytes need no zeroing (one per call) */
    store_overlay_t *ov = malloc(sizeof *ov);
    if (ov)
        ov->below = NULL;
    if (!ov || (nbelow && !(ov->below = malloc(nbelow * sizeof *ov->below)))) {
        free(ov);
        return weft_db_set_error(db, WEFT_ENOMEM, "weft_txn_begin_overlay: out of memory");
    }
    ov->root = NULL;
    ov->bytes = ov->entries = 0;
    ov->serial = 0;
    ov->db = db;
    ov->base = base;
    memcpy(ov->ctx, ctx, ctx_len);
    ov->ctx_len = ctx_len;
    if (nbelow)
        memcpy(ov->below, below, nbelow * sizeof *below);
    ov->nbelow = nbelow;
    ov->rng = __atomic_add_fetch(&seed, 0x6d2b79f5u, __ATOMIC_RELAXED) | 1u;
    *out = ov;
    return 0;
}

void store_ov_free(store_overlay_t *ov)
{
    if (!ov)
        return;
    tree_free(ov->root);
    free(ov->below);
    free(ov);
}

void store_ov_seal(store_overlay_t *ov)
{
    ov->base = NULL;
    free(ov->below);
    ov->below = NULL;
    ov->nbelow = 0;
}

int store_ov_sealed(const store_overlay_t *ov)
{
    return ov->base == NULL;
}

int store_ov_serial(const store_overlay_t *ov)
{
    return ov->serial;
}

int store_ov_same_ctx(const store_overlay_t *ov, const uint8_t *ctx, size_t ctx_len)
{
    return ctx_len == ov->ctx_len && memcmp(ctx, ov->ctx, ctx_len) == 0;
}

weft_txn_t *store_ov_base(const store_overlay_t *ov)
{
    return ov->base;
}

int store_ov_refuse(store_overlay_t *ov, const char *what)
{
    ov->serial = 1;
    return weft_db_set_error(ov->db, WEFT_ESERIAL,
                             "%s in an overlay transaction: the call needs the serial path", what);
}

/* 1 when (space, ctx) is the overlay's own buffer's. */
static int own(const store_overlay_t *ov, weft_space_t space, const uint8_t *ctx, size_t ctx_len)
{
    return space != WEFT_SPACE_MODULES && space != WEFT_SPACE_META &&
           store_ov_same_ctx(ov, ctx, ctx_len);
}

/* The newest buffered entry of the key in the overlay or below it. */
static ov_ent_t *lookup(const store_overlay_t *ov, weft_space_t space, const uint8_t *key,
                        size_t key_len)
{
    ov_ent_t *e = tree_find(ov->root, space, key, key_len);
    for (size_t i = 0; !e && i < ov->nbelow; i++)
        e = tree_find(ov->below[i]->root, space, key, key_len);
    return e;
}

/* ---- get / put / del --------------------------------------------------- */

int store_ov_get(store_overlay_t *ov, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                 const uint8_t *key, size_t key_len, const uint8_t **out_val, size_t *out_len)
{
    if (own(ov, space, ctx, ctx_len)) {
        ov_ent_t *e = lookup(ov, space, key, key_len);
        if (e) {
            if (e->tomb)
                return WEFT_ENOTFOUND;
            *out_val = e->val_len ? e->val : &ov_empty;
            *out_len = e->val_len;
            return 0;
        }
    }
    return weft_txn_get(ov->base, space, ctx, ctx_len, key, key_len, out_val, out_len);
}

/* Sets the key's entry in the overlay's own buffer: val, or a tombstone. */
static int set(store_overlay_t *ov, weft_space_t space, const uint8_t *key, size_t key_len,
               const uint8_t *val, size_t val_len, int tomb)
{
    ov_ent_t *e = tree_find(ov->root, space, key, key_len);
    size_t grow = (e ? 0 : sizeof *e + key_len) + (val_len > (e ? e->val_cap : 0) ? val_len : 0);
    if (ov->bytes + grow > OV_BYTES_MAX) {
        ov->serial = 1;
        return weft_db_set_error(ov->db, WEFT_ESERIAL,
                                 "an overlay transaction holds more than %zu bytes: the call "
                                 "needs the serial path", OV_BYTES_MAX);
    }
    if (!e) {
        if (!(e = calloc(1, sizeof *e + key_len)))
            goto oom;
        e->space = (uint8_t)space;
        e->key_len = key_len;
        if (key_len)
            memcpy(e->key, key, key_len);
        e->prio = next_prio(ov);
        ov->root = tree_insert(ov->root, e);
        ov->bytes += sizeof *e + key_len;
        ov->entries++;
    }
    if (val_len > e->val_cap) {
        uint8_t *p = malloc(val_len);
        if (!p)
            goto oom;
        memcpy(p, val, val_len); /* val may be e's own bytes */
        free(e->val);
        ov->bytes += val_len - e->val_cap;
        e->val = p;
        e->val_cap = val_len;
    } else if (val_len) {
        memmove(e->val, val, val_len);
    }
    e->val_len = val_len;
    e->tomb = (uint8_t)tomb;
    return 0;
oom:
    return weft_db_set_error(ov->db, WEFT_ENOMEM, "overlay transaction: out of memory");
}

int store_ov_put(store_overlay_t *ov, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                 const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                 int only_new)
{
    if (!own(ov, space, ctx, ctx_len))
        return store_ov_refuse(ov, "a write outside the transaction's context");
    if (only_new) {
        ov_ent_t *e = lookup(ov, space, key, key_len);
        if (e && !e->tomb)
            return WEFT_DB_EXISTS;
        if (!e) {
            const uint8_t *v;
            size_t n;
            int rc = weft_txn_get(ov->base, space, ctx, ctx_len, key, key_len, &v, &n);
            if (rc == 0)
                return WEFT_DB_EXISTS;
            if (rc != WEFT_ENOTFOUND)
                return rc;
        }
    }
    return set(ov, space, key, key_len, val, val_len, 0);
}

int store_ov_del(store_overlay_t *ov, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                 const uint8_t *key, size_t key_len)
{
    if (!own(ov, space, ctx, ctx_len))
        return store_ov_refuse(ov, "a write outside the transaction's context");
    return set(ov, space, key, key_len, NULL, 0, 1);
}

/* ---- scan: the buffers merged with the base's cursor ------------------- */

typedef struct {
    store_overlay_t *ov;
    unsigned space;
    const uint8_t *prefix;
    size_t prefix_len;
    size_t nlev;
    ov_ent_t **root; /* per level: own buffer, then below newest first */
    ov_ent_t **cur;  /* per level: its next entry in range, or NULL */
    ov_ent_t *next;  /* the buffers' next key (newest level's entry), or NULL: done */
    weft_scan_fn fn;
    void *user;
    int stopped;
} merge_t;

/* Moves to the buffers' next key: the smallest of the levels' next
 * entries, taken from the newest level that has it; every level steps past
 * it. A key that does not extend the prefix ends the buffers' part. */
static void merge_step(merge_t *m)
{
    ov_ent_t *best = NULL;
    for (size_t i = 0; i < m->nlev; i++) {
        ov_ent_t *c = m->cur[i];
        if (c && (!best || ent_cmp(c->space, c->key, c->key_len, best) < 0))
            best = c;
    }
    if (best && (best->space != m->space || best->key_len < m->prefix_len ||
                 (m->prefix_len && memcmp(best->key, m->prefix, m->prefix_len) != 0)))
        best = NULL;
    m->next = best;
    if (!best)
        return;
    ov_ent_t *newest = NULL;
    for (size_t i = 0; i < m->nlev; i++) {
        ov_ent_t *c = m->cur[i];
        if (c && ent_cmp(best->space, best->key, best->key_len, c) == 0) {
            if (!newest)
                newest = c;
            m->cur[i] = tree_from(m->root[i], c->space, c->key, c->key_len, 1);
        }
    }
    m->next = newest;
}

/* Offers the buffers' current key to fn (nothing for a tombstone) and
 * steps. Returns 1 when fn asked to stop. */
static int merge_emit(merge_t *m)
{
    ov_ent_t *e = m->next;
    int stop = 0;
    if (!e->tomb)
        stop = m->fn(m->user, e->key, e->key_len, e->val_len ? e->val : &ov_empty,
                     e->val_len) != 0;
    merge_step(m);
    if (stop)
        m->stopped = 1;
    return stop;
}

/* The base's scan callback: buffered keys before k first; a buffered k
 * hides the base's. */
static int merge_visit(void *user, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn)
{
    merge_t *m = user;
    while (m->next) {
        int c = bytes_cmp(m->next->key, m->next->key_len, k, kn);
        if (c > 0)
            break;
        if (c == 0)
            return merge_emit(m);
        if (merge_emit(m))
            return 1;
    }
    if (m->fn(m->user, k, kn, v, vn) != 0) {
        m->stopped = 1;
        return 1;
    }
    return 0;
}

int store_ov_scan(store_overlay_t *ov, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                  const uint8_t *prefix, size_t prefix_len, const uint8_t *start_after,
                  size_t start_after_len, weft_scan_fn fn, void *user)
{
    if (!own(ov, space, ctx, ctx_len))
        return weft_txn_scan(ov->base, space, ctx, ctx_len, prefix, prefix_len, start_after,
                             start_after_len, fn, user);
    merge_t m = {.ov = ov, .space = space, .prefix = prefix, .prefix_len = prefix_len,
                 .nlev = 1 + ov->nbelow, .fn = fn, .user = user};
    ov_ent_t *small[2 * 8];
    ov_ent_t **arr = m.nlev <= 8 ? small : malloc(2 * m.nlev * sizeof *arr);
    if (!arr)
        return weft_db_set_error(ov->db, WEFT_ENOMEM, "weft_txn_scan: out of memory");
    m.root = arr;
    m.cur = arr + m.nlev;
    m.root[0] = ov->root;
    for (size_t i = 0; i < ov->nbelow; i++)
        m.root[1 + i] = ov->below[i]->root;
    /* The first key: the prefix, or past start_after when that is later. */
    const uint8_t *lo = prefix;
    size_t lo_len = prefix_len;
    int strict = 0;
    if (start_after_len && bytes_cmp(start_after, start_after_len, prefix, prefix_len) >= 0) {
        lo = start_after;
        lo_len = start_after_len;
        strict = 1;
    }
    for (size_t i = 0; i < m.nlev; i++)
        m.cur[i] = tree_from(m.root[i], space, lo, lo_len, strict);
    merge_step(&m);
    int rc = weft_txn_scan(ov->base, space, ctx, ctx_len, prefix, prefix_len, start_after,
                           start_after_len, merge_visit, &m);
    while (rc == 0 && !m.stopped && m.next)
        merge_emit(&m);
    if (arr != small)
        free(arr);
    return rc;
}

/* ---- replay ------------------------------------------------------------ */

static int replay(const store_overlay_t *ov, const ov_ent_t *n, weft_txn_t *dst)
{
    for (; n; n = n->r) {
        int rc = replay(ov, n->l, dst);
        if (rc)
            return rc;
        rc = n->tomb ? weft_txn_del(dst, n->space, ov->ctx, ov->ctx_len, n->key, n->key_len)
                     : weft_txn_put(dst, n->space, ov->ctx, ov->ctx_len, n->key, n->key_len,
                                    n->val, n->val_len);
        if (rc)
            return rc;
    }
    return 0;
}

int store_ov_replay(const store_overlay_t *ov, weft_txn_t *dst)
{
    return replay(ov, ov->root, dst);
}

size_t store_ov_entries(const store_overlay_t *ov)
{
    return ov->entries;
}
