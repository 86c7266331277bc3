/*
 * tables.c — rows, unique columns, indexes and iterators of typed tables
 * (weft/tables.h), on weft/db.h's transactions: tables are a service of
 * the store that ABIs bind to, not part of any one of them.
 *
 * Keys are built from order-preserving encodings of the BSATN values
 * (weft_bsatn_key), so LMDB's byte order is the values' order and a range
 * scan seeks to its lower bound and stops at its upper one: it reads only
 * its range. Encoded keys are prefix-free, so "every entry whose value is
 * v" is "every key starting with key(v)": that is how exclusive bounds and
 * inclusive upper bounds are decided.
 *
 * An iterator keeps the last key it returned and each step seeks past it
 * (weft_txn_scan with start_after): O(log n) a row, and it sees the call's
 * own writes ahead of it without holding an LMDB cursor across them.
 * Handles carry a generation, so a closed or forged one is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bsatn_prim.h"
#include "tables_priv.h"
#include "weft/error.h"

/* Read-ahead batches (fill()): 8 entries at first, doubling to 256, at
 * most 256 KiB each. */
#define RA_FIRST 8
#define RA_MAX 256
#define RA_BYTES (256u * 1024u)

typedef struct {
    uint32_t gen; /* 0: free */
    uint32_t tid;
    int index;           /* an index scan: rows are looked up by rowkey */
    weft_bsatn_buf_t pre; /* 'r' table 0 or 'i' table 0 index 0 */
    weft_bsatn_buf_t last; /* the whole key last returned; empty: none yet */
    weft_bsatn_buf_t lo, hi;
    int lo_kind, hi_kind;
    int lo_seen; /* the row at an included lower bound was looked up */
    weft_bsatn_buf_t ra; /* read-ahead entries (fill()) */
    size_t ra_pos;       /* the next one's offset in ra */
    size_t ra_want;      /* entries the next fill gathers */
    uint64_t ra_writes;  /* t->writes when ra was filled */
    int ra_end;          /* the range ends after what ra holds */
} iter_t;

struct weft_tables {
    const weft_schema_t *schema;
    uint8_t ctx[255];
    size_t ctx_len;
    weft_txn_t *txn;
    uint8_t identity[64];
    size_t identity_len;
    iter_t *iters;
    size_t niters;
    uint32_t gen;
    weft_bsatn_buf_t scratch; /* the row or key of the current step */
    weft_bsatn_buf_t key;     /* the key the current step found */
    weft_bsatn_buf_t b_rk, b_k, b_ik, b_row; /* insert's and delete's keys */
    uint64_t writes; /* rows written by the call: iterators' read-ahead is stale after one */
    uint8_t origin[32]; /* stamps replicated tables' writes (weft_tables_set_origin) */
    int has_origin;
    weft_tables_change_fn observe; /* rows the replication rules show or hide */
    void *observe_user;
};

/* ---- rows ---------------------------------------------------------------- */

int tables_columns(const schema_table_t *t, const uint8_t *row, size_t len, size_t *off,
                   size_t *lens)
{
    size_t at = 0;
    for (size_t i = 0; i < t->ncols; i++) {
        const schema_col_t *c = &t->cols[i];
        size_t used;
        if (bsatn_is_primitive(c->type[0])) { /* most columns: checked here */
            long n = bsatn_prim_len(c->type[0], row + at, len - at);
            if (n < 0) return WEFT_EMALFORMED;
            used = (size_t)n;
        } else if (weft_bsatn_check(c->type, c->type_len, row + at, len - at, &used)) {
            return WEFT_EMALFORMED;
        }
        off[i] = at;
        lens[i] = used;
        at += used;
    }
    return at == len ? 0 : WEFT_EMALFORMED;
}

static void put_name(weft_bsatn_buf_t *b, const char *name)
{
    weft_bsatn_put_raw(b, name, strlen(name) + 1); /* with its NUL: names have none */
}

/* The row key of a row of a table without a primary key: a new row
 * number, 8 bytes big-endian, into out. */
static int row_number(weft_tables_t *t, const schema_table_t *tab, weft_bsatn_buf_t *out)
{
    /* 'n' table -> the last row number given */
    uint8_t key[1 + WEFT_TABLES_MAX_NAME], be[8];
    size_t kl = 1 + strlen(tab->name);
    const uint8_t *v;
    size_t vl;
    uint64_t n = 0;
    key[0] = 'n';
    memcpy(key + 1, tab->name, kl - 1);
    int rc = weft_txn_get(t->txn, WEFT_SPACE_TABLES, t->ctx, t->ctx_len, key, kl, &v, &vl);
    if (rc == 0 && vl == 8)
        for (int i = 0; i < 8; i++) n = n << 8 | v[i];
    else if (rc != 0 && rc != WEFT_ENOTFOUND)
        return rc;
    n++;
    for (int i = 0; i < 8; i++) be[i] = (uint8_t)(n >> (56 - 8 * i));
    if ((rc = weft_txn_put(t->txn, WEFT_SPACE_TABLES, t->ctx, t->ctx_len, key, kl, be, 8)))
        return rc;
    weft_bsatn_put_raw(out, be, 8);
    return out->err;
}

/* The key of column col of a row split into columns, appended to out: an
 * integer's made here (the usual key: no call per value), any other by
 * weft_bsatn_key. */
static int col_key(const schema_table_t *tab, size_t col, const uint8_t *row, const size_t *off,
                   const size_t *lens, weft_bsatn_buf_t *out)
{
    const schema_col_t *c = &tab->cols[col];
    if (bsatn_is_int(c->type[0])) {
        uint8_t k[8];
        bsatn_int_key(c->type[0], row + off[col], k);
        weft_bsatn_put_raw(out, k, lens[col]);
        return out->err;
    }
    return weft_bsatn_key(c->type, c->type_len, row + off[col], lens[col], out, NULL);
}

/* 'u' table 0 column 0 key(value) */
int tables_unique_key(const schema_table_t *tab, uint32_t col, const uint8_t *row,
                      const size_t *off, const size_t *lens, weft_bsatn_buf_t *out)
{
    weft_bsatn_put_u8(out, 'u');
    put_name(out, tab->name);
    put_name(out, tab->cols[col].name);
    return col_key(tab, col, row, off, lens, out);
}

/* 'i' table 0 index 0 */
static void index_prefix(const schema_table_t *tab, size_t x, weft_bsatn_buf_t *out)
{
    weft_bsatn_put_raw(out, tab->idx[x].pre, tab->idx[x].pre_len);
}

/* 'i' table 0 index 0 key(cols) rowkey */
static int index_key(const schema_table_t *tab, size_t x, const uint8_t *row, const size_t *off,
                     const size_t *lens, const uint8_t *rk, size_t rk_len, weft_bsatn_buf_t *out)
{
    const schema_index_t *ix = &tab->idx[x];
    index_prefix(tab, x, out);
    for (size_t i = 0; i < ix->ncols; i++) {
        int rc = col_key(tab, ix->cols[i], row, off, lens, out);
        if (rc) return rc;
    }
    weft_bsatn_put_raw(out, rk, rk_len);
    return out->err;
}

void tables_row_prefix(const schema_table_t *tab, weft_bsatn_buf_t *out)
{
    weft_bsatn_put_raw(out, tab->row_pre, tab->row_pre_len);
}

/* 1 when the call may see the row: not a private table with an owner
 * column, or the owner is the call's identity. */
static int visible(const weft_tables_t *t, const schema_table_t *tab, const uint8_t *row,
                   size_t len)
{
    size_t off[MAX_COLUMNS], lens[MAX_COLUMNS];
    if (tab->owner < 0) return 1;
    if (tables_columns(tab, row, len, off, lens) != 0) return 0;
    /* a bytes value: u32 length, then the bytes */
    return lens[tab->owner] - 4 == t->identity_len &&
           memcmp(row + off[tab->owner] + 4, t->identity, t->identity_len) == 0;
}

static int key_fits(size_t len)
{
    return len <= WEFT_DB_KEY_MAX;
}

/* The call's key buffers, emptied: reused, so a write allocates nothing
 * once they have grown. */
static void bufs_reset(weft_tables_t *t)
{
    t->b_rk.len = t->b_k.len = t->b_ik.len = t->b_row.len = 0;
    t->b_rk.err = t->b_k.err = t->b_ik.err = t->b_row.err = 0;
}

/* A call's write of a replicated table (row NULL: a delete) as a CRDT op
 * of this node, then the replication rules for its key (tables_repl.c):
 * rows of the same unique values held back by it may show (observed). */
static int repl_local(weft_tables_t *t, const schema_table_t *tab, uint32_t tid, const uint8_t *rk,
                      size_t rk_len, const uint8_t *row, size_t len)
{
    if (!tab->replicated || !t->has_origin) return 0;
    int rc = tables_repl_write(t->txn, t->ctx, t->ctx_len, t->origin, tab, rk, rk_len, row, len);
    if (rc != 0) return rc;
    return tables_repl_settle(t->txn, t->ctx, t->ctx_len, tab, tid, rk, rk_len, t->observe,
                              t->observe_user);
}

void weft_tables_set_origin(weft_tables_t *t, const uint8_t *origin)
{
    t->has_origin = origin != NULL;
    if (origin) memcpy(t->origin, origin, 32);
}

void weft_tables_observe(weft_tables_t *t, weft_tables_change_fn fn, void *user)
{
    t->observe = fn;
    t->observe_user = user;
}

/* The entries of one row: the row under its rowkey, its unique columns'
 * and indexes' entries; put (del 0) or deleted (del 1, absent ones
 * ignored). No check: the replication rules decided (tables_repl.c). */
int tables_entries_write(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                         const schema_table_t *tab, const uint8_t *rk, size_t rk_len,
                         const uint8_t *row, size_t len, int del)
{
    size_t off[MAX_COLUMNS], lens[MAX_COLUMNS];
    weft_bsatn_buf_t k;
    int rc;
    if (tables_columns(tab, row, len, off, lens) != 0) return WEFT_EDAMAGED;
    weft_bsatn_buf_init(&k);
    tables_row_prefix(tab, &k);
    weft_bsatn_put_raw(&k, rk, rk_len);
    rc = k.err;
    for (size_t i = 0; rc == 0 && i <= tab->nunique + tab->nidx; i++) {
        const uint8_t *val = row;
        size_t vl = len;
        if (i > 0 && i <= tab->nunique) {
            k.len = 0;
            rc = tables_unique_key(tab, tab->unique[i - 1], row, off, lens, &k);
            val = rk;
            vl = rk_len;
        } else if (i > tab->nunique) {
            size_t x = i - 1 - tab->nunique;
            if (tab->idx[x].on_pk) continue;
            k.len = 0;
            rc = index_key(tab, x, row, off, lens, rk, rk_len, &k);
            val = rk;
            vl = rk_len;
        }
        if (rc == 0 && !key_fits(k.len)) rc = WEFT_TABLE_EINVAL;
        if (rc != 0) break;
        if (del) {
            rc = weft_txn_del(txn, WEFT_SPACE_TABLES, ctx, ctx_len, k.p, k.len);
            if (rc == WEFT_ENOTFOUND) rc = 0;
        } else {
            rc = weft_txn_put(txn, WEFT_SPACE_TABLES, ctx, ctx_len, k.p, k.len, val, vl);
        }
    }
    weft_bsatn_buf_fini(&k);
    return rc;
}

int weft_tables_insert(weft_tables_t *t, uint32_t tid, const uint8_t *row, size_t len)
{
    const schema_table_t *tab = tables_table(t->schema, tid);
    size_t off[MAX_COLUMNS], lens[MAX_COLUMNS];
    weft_bsatn_buf_t *k = &t->b_k, *ik = &t->b_ik;
    const uint8_t *v, *rk = NULL; /* the row key: the end of k, after the prefix */
    size_t vl, rk_len = 0;
    int rc;
    if (!tab) return WEFT_TABLE_ENOTABLE;
    if (!t->txn) return WEFT_EARG;
    if (len > WEFT_TABLES_MAX_ROW || tables_columns(tab, row, len, off, lens) != 0)
        return WEFT_TABLE_ETYPE;
    if (!visible(t, tab, row, len)) return WEFT_TABLE_EDENIED;
    bufs_reset(t);
    /* Everything is checked before the first write, so a refused row
     * leaves nothing behind even without an abort: key lengths, unique
     * columns, then the row itself, put only if its key is new. The
     * primary key's key is made once, in place after the prefix. */
    if (tab->pk >= 0) {
        tables_row_prefix(tab, k);
        if ((rc = col_key(tab, (size_t)tab->pk, row, off, lens, k)) != 0) return rc;
        if (!key_fits(k->len)) return WEFT_TABLE_EINVAL;
        rk = k->p + tab->row_pre_len;
        rk_len = k->len - tab->row_pre_len;
    }
    for (size_t u = 0; u < tab->nunique; u++) {
        ik->len = 0;
        if ((rc = tables_unique_key(tab, tab->unique[u], row, off, lens, ik)) != 0) return rc;
        if (!key_fits(ik->len)) return WEFT_TABLE_EINVAL;
        rc = weft_txn_get(t->txn, WEFT_SPACE_TABLES, t->ctx, t->ctx_len, ik->p, ik->len, &v, &vl);
        if (rc == 0) return WEFT_TABLE_EUNIQUE;
        if (rc != WEFT_ENOTFOUND) return rc;
    }
    for (size_t x = 0; x < tab->nidx; x++) {
        if (tab->idx[x].on_pk) continue;
        ik->len = 0;
        index_key(tab, x, row, off, lens, (const uint8_t *)"", 0, ik);
        if ((rc = ik->err) != 0) return rc;
        if (!key_fits(ik->len + (tab->pk >= 0 ? rk_len : 8))) return WEFT_TABLE_EINVAL;
    }
    if (tab->replicated && t->has_origin && !tables_repl_fits(tab, rk_len, len))
        return WEFT_TABLE_EINVAL;
    if (tab->pk >= 0) {
        rc = weft_txn_put_new(t->txn, WEFT_SPACE_TABLES, t->ctx, t->ctx_len, k->p, k->len, row,
                              len);
        if (rc == WEFT_DB_EXISTS) return WEFT_TABLE_EUNIQUE;
        if (rc) return rc;
    } else {
        weft_bsatn_buf_t *n = &t->b_rk;
        if ((rc = row_number(t, tab, n)) != 0) return rc;
        tables_row_prefix(tab, k);
        weft_bsatn_put_raw(k, n->p, n->len);
        if ((rc = k->err) != 0 ||
            (rc = weft_txn_put(t->txn, WEFT_SPACE_TABLES, t->ctx, t->ctx_len, k->p, k->len, row,
                               len)))
            return rc;
        rk = n->p;
        rk_len = n->len;
    }
    for (size_t u = 0; u < tab->nunique; u++) {
        ik->len = 0;
        if ((rc = tables_unique_key(tab, tab->unique[u], row, off, lens, ik)) != 0 ||
            (rc = weft_txn_put(t->txn, WEFT_SPACE_TABLES, t->ctx, t->ctx_len, ik->p, ik->len, rk,
                               rk_len)))
            return rc;
    }
    for (size_t x = 0; x < tab->nidx; x++) {
        if (tab->idx[x].on_pk) continue;
        ik->len = 0;
        if ((rc = index_key(tab, x, row, off, lens, rk, rk_len, ik)) != 0 ||
            (rc = weft_txn_put(t->txn, WEFT_SPACE_TABLES, t->ctx, t->ctx_len, ik->p, ik->len, rk,
                               rk_len)))
            return rc;
    }
    t->writes++;
    return repl_local(t, tab, tid, rk, rk_len, row, len);
}

int weft_tables_delete_pk(weft_tables_t *t, uint32_t tid, const uint8_t *pk, size_t len)
{
    const schema_table_t *tab = tables_table(t->schema, tid);
    size_t off[MAX_COLUMNS], lens[MAX_COLUMNS], used;
    weft_bsatn_buf_t *rk = &t->b_rk, *k = &t->b_k, *ik = &t->b_ik, *row = &t->b_row;
    const uint8_t *v;
    size_t vl;
    int rc;
    if (!tab) return WEFT_TABLE_ENOTABLE;
    if (!t->txn) return WEFT_EARG;
    if (tab->pk < 0) return WEFT_TABLE_EINVAL;
    bufs_reset(t);
    const schema_col_t *c = &tab->cols[tab->pk];
    rc = weft_bsatn_key(c->type, c->type_len, pk, len, rk, &used);
    if (rc == WEFT_EMALFORMED || (rc == 0 && used != len)) return WEFT_TABLE_ETYPE;
    if (rc) return rc;
    tables_row_prefix(tab, k);
    weft_bsatn_put_raw(k, rk->p, rk->len);
    if ((rc = k->err) != 0) return rc;
    if (!key_fits(k->len)) return WEFT_TABLE_ENOTFOUND; /* no such key can have been stored */
    rc = weft_txn_get(t->txn, WEFT_SPACE_TABLES, t->ctx, t->ctx_len, k->p, k->len, &v, &vl);
    if (rc == WEFT_ENOTFOUND) return WEFT_TABLE_ENOTFOUND;
    if (rc) return rc;
    /* a copy: the deletes below move what v points to */
    weft_bsatn_put_raw(row, v, vl);
    if ((rc = row->err) != 0) return rc;
    if (tables_columns(tab, row->p, vl, off, lens) != 0)
        return WEFT_EDAMAGED; /* the store holds a row that is not one */
    if (!visible(t, tab, row->p, vl)) return WEFT_TABLE_EDENIED;
    if ((rc = weft_txn_del(t->txn, WEFT_SPACE_TABLES, t->ctx, t->ctx_len, k->p, k->len))) return rc;
    for (size_t u = 0; u < tab->nunique; u++) {
        ik->len = 0;
        if ((rc = tables_unique_key(tab, tab->unique[u], row->p, off, lens, ik)) != 0 ||
            (rc = weft_txn_del(t->txn, WEFT_SPACE_TABLES, t->ctx, t->ctx_len, ik->p, ik->len)))
            return rc;
    }
    for (size_t x = 0; x < tab->nidx; x++) {
        if (tab->idx[x].on_pk) continue;
        ik->len = 0;
        if ((rc = index_key(tab, x, row->p, off, lens, rk->p, rk->len, ik)) != 0 ||
            (rc = weft_txn_del(t->txn, WEFT_SPACE_TABLES, t->ctx, t->ctx_len, ik->p, ik->len)))
            return rc;
    }
    t->writes++;
    return repl_local(t, tab, tid, rk->p, rk->len, NULL, 0);
}

void weft_tables_deleted_row(const weft_tables_t *t, const uint8_t **out_row, size_t *out_len)
{
    *out_row = t->b_row.p;
    *out_len = t->b_row.len;
}

/* ---- iterators ----------------------------------------------------------- */

static void iter_free(iter_t *it)
{
    weft_bsatn_buf_fini(&it->ra);
    weft_bsatn_buf_fini(&it->pre);
    weft_bsatn_buf_fini(&it->last);
    weft_bsatn_buf_fini(&it->lo);
    weft_bsatn_buf_fini(&it->hi);
    memset(it, 0, sizeof *it);
}

/* handle = generation << 16 | (slot + 1): never 0, positive as an i64. */
static iter_t *iter_get(weft_tables_t *t, uint64_t h)
{
    uint64_t slot = (h & 0xFFFF) - 1, gen = h >> 16;
    if ((h & 0xFFFF) == 0 || slot >= t->niters || gen == 0 || gen > UINT32_MAX) return NULL;
    iter_t *it = &t->iters[slot];
    return it->gen == gen ? it : NULL;
}

static int iter_new(weft_tables_t *t, uint32_t tid, iter_t **out, uint64_t *out_handle)
{
    size_t slot = 0;
    while (slot < t->niters && t->iters[slot].gen) slot++;
    if (slot == t->niters) {
        if (t->niters == WEFT_TABLES_MAX_ITERS) return WEFT_TABLE_ELIMIT;
        size_t n = t->niters ? t->niters * 2 : 8;
        if (n > WEFT_TABLES_MAX_ITERS) n = WEFT_TABLES_MAX_ITERS;
        iter_t *p = realloc(t->iters, n * sizeof *p);
        if (!p) return WEFT_ENOMEM;
        memset(p + t->niters, 0, (n - t->niters) * sizeof *p);
        t->iters = p;
        t->niters = n;
    }
    if (++t->gen > 0x7FFFFFFFu) t->gen = 1; /* keeps the handle a positive i64 */
    iter_t *it = &t->iters[slot];
    it->gen = t->gen;
    it->tid = tid;
    it->ra_want = RA_FIRST;
    *out = it;
    *out_handle = (uint64_t)it->gen << 16 | (slot + 1);
    return 0;
}

int weft_tables_scan(weft_tables_t *t, uint32_t tid, uint64_t *out_handle)
{
    const schema_table_t *tab = tables_table(t->schema, tid);
    iter_t *it;
    int rc;
    if (!tab) return WEFT_TABLE_ENOTABLE;
    if ((rc = iter_new(t, tid, &it, out_handle)) != 0) return rc;
    tables_row_prefix(tab, &it->pre);
    it->lo_kind = it->hi_kind = WEFT_BOUND_UNBOUNDED;
    if (it->pre.err) {
        rc = it->pre.err;
        iter_free(it);
    }
    return rc;
}

/* One bound of a range: kind, then the index key's value (its columns'
 * values in order) unless unbounded; its order-preserving key into out. */
static int get_bound(const schema_table_t *tab, const schema_index_t *ix, weft_bsatn_reader_t *r,
                     int *kind, weft_bsatn_buf_t *out)
{
    *kind = weft_bsatn_get_u8(r);
    if (r->err || *kind > WEFT_BOUND_UNBOUNDED) return WEFT_TABLE_EINVAL;
    if (*kind == WEFT_BOUND_UNBOUNDED) return 0;
    for (size_t i = 0; i < ix->ncols; i++) {
        const schema_col_t *c = &tab->cols[ix->cols[i]];
        size_t used;
        int rc = weft_bsatn_key(c->type, c->type_len, r->p + r->off, r->len - r->off, out, &used);
        if (rc == WEFT_EMALFORMED) return WEFT_TABLE_ETYPE;
        if (rc) return rc;
        r->off += used;
    }
    return 0;
}

/* A range scan of index ix of table tid (tab->idx[iid], or for iid < 0 an
 * index of the primary key the schema does not declare). */
static int range_scan(weft_tables_t *t, uint32_t tid, const schema_table_t *tab, int iid,
                      const schema_index_t *ix, const uint8_t *range, size_t len,
                      uint64_t *out_handle)
{
    weft_bsatn_reader_t r;
    iter_t *it;
    int rc;
    if ((rc = iter_new(t, tid, &it, out_handle)) != 0) return rc;
    if (ix->on_pk) {
        tables_row_prefix(tab, &it->pre); /* the rows, keyed by the primary key */
    } else {
        it->index = 1;
        index_prefix(tab, (size_t)iid, &it->pre);
    }
    weft_bsatn_reader_init(&r, range, len);
    if ((rc = get_bound(tab, ix, &r, &it->lo_kind, &it->lo)) != 0 ||
        (rc = get_bound(tab, ix, &r, &it->hi_kind, &it->hi)) != 0)
        goto fail;
    if (r.off != len) {
        rc = WEFT_TABLE_EINVAL;
        goto fail;
    }
    if ((rc = it->pre.err) != 0 || (rc = it->lo.err) != 0 || (rc = it->hi.err) != 0) goto fail;
    return 0;
fail:
    iter_free(it);
    return rc;
}

int weft_tables_index_scan(weft_tables_t *t, uint32_t tid, uint32_t iid, const uint8_t *range,
                           size_t len, uint64_t *out_handle)
{
    const schema_table_t *tab = tables_table(t->schema, tid);
    if (!tab || iid >= tab->nidx) return WEFT_TABLE_ENOTABLE;
    return range_scan(t, tid, tab, (int)iid, &tab->idx[iid], range, len, out_handle);
}

/* Index iid of tab, or for iid < 0 the primary key as an index (into pk):
 * NULL when there is no such index (no primary key: *rc EINVAL). */
static const schema_index_t *index_or_pk(const schema_table_t *tab, int iid, schema_index_t *pk,
                                         int *rc)
{
    *rc = WEFT_TABLE_ENOTABLE;
    if (iid >= (int)tab->nidx) return NULL;
    if (iid >= 0) return &tab->idx[iid];
    *rc = WEFT_TABLE_EINVAL;
    if (tab->pk < 0) return NULL;
    memset(pk, 0, sizeof *pk);
    pk->cols[0] = (uint32_t)tab->pk;
    pk->ncols = 1;
    pk->on_pk = 1;
    return pk;
}

int weft_tables_range_scan(weft_tables_t *t, uint32_t tid, int iid, const uint8_t *range,
                           size_t len, uint64_t *out_handle)
{
    const schema_table_t *tab = tables_table(t->schema, tid);
    schema_index_t pk;
    int rc;
    if (!tab) return WEFT_TABLE_ENOTABLE;
    const schema_index_t *ix = index_or_pk(tab, iid, &pk, &rc);
    return ix ? range_scan(t, tid, tab, iid, ix, range, len, out_handle) : rc;
}

/* memcmp of the key's part after the prefix with a bound, over the
 * bound's length: 0 means the entry's value is the bound's. */
static int cmp_bound(const uint8_t *k, size_t kl, const weft_bsatn_buf_t *b)
{
    size_t n = kl < b->len ? kl : b->len;
    int c = memcmp(k, b->p, n);
    if (c == 0 && kl < b->len) return -1;
    return c;
}

/* 1 when an entry (its key after the prefix) lies beyond the upper bound. */
static int past_hi(const iter_t *it, const uint8_t *k, size_t kl)
{
    int c = cmp_bound(k, kl, &it->hi);
    return c > 0 || (c == 0 && it->hi_kind == WEFT_BOUND_EXCLUDED);
}

/* Read-ahead: one weft_txn_scan gathers up to `want` entries of the range
 * into it->ra as (u32 key length, key, u32 value length, value), so a scan
 * pays one seek per batch, not per row. The batch is good while the call
 * writes nothing (t->writes unchanged); after a write it is dropped and
 * the next step seeks past the last key returned, which is how iterators
 * see the call's own writes. */
typedef struct {
    iter_t *it;
    size_t want, got;
} fill_t;

static void put_len(weft_bsatn_buf_t *b, size_t n)
{
    weft_bsatn_put_raw(b, &(uint32_t){(uint32_t)n}, 4);
}

static int fill_visit(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                      size_t val_len)
{
    fill_t *f = user;
    iter_t *it = f->it;
    const uint8_t *k = key + it->pre.len;
    size_t kl = key_len - it->pre.len;
    if (it->lo_kind == WEFT_BOUND_EXCLUDED && !it->last.len && cmp_bound(k, kl, &it->lo) == 0)
        return 0;
    if (it->hi_kind != WEFT_BOUND_UNBOUNDED && past_hi(it, k, kl)) {
        it->ra_end = 1;
        return 1;
    }
    put_len(&it->ra, key_len);
    weft_bsatn_put_raw(&it->ra, key, key_len);
    put_len(&it->ra, val_len);
    weft_bsatn_put_raw(&it->ra, val, val_len);
    f->got++;
    return f->got == f->want || it->ra.len >= RA_BYTES || it->ra.err;
}

/* Refills it->ra from past the last key returned (or the lower bound). */
static int fill(weft_tables_t *t, iter_t *it)
{
    weft_bsatn_buf_t *after = &t->key;
    int rc;
    it->ra.len = it->ra_pos = 0;
    it->ra_end = 0;
    it->ra_writes = t->writes;
    after->len = 0;
    after->err = 0;
    if (it->last.len) {
        weft_bsatn_put_raw(after, it->last.p, it->last.len);
    } else if (it->lo_kind != WEFT_BOUND_UNBOUNDED) {
        /* an index entry of value lo is longer than pre+key(lo), so "after
         * it" starts at lo's entries (an excluded lo's are skipped) */
        weft_bsatn_put_raw(after, it->pre.p, it->pre.len);
        weft_bsatn_put_raw(after, it->lo.p, it->lo.len);
    }
    if ((rc = after->err) != 0) return rc;
    if (after->len > WEFT_DB_KEY_MAX) { /* no stored key starts past it */
        it->ra_end = 1;
        return 0;
    }
    fill_t f = {it, it->ra_want, 0};
    rc = weft_txn_scan(t->txn, WEFT_SPACE_TABLES, t->ctx, t->ctx_len, it->pre.p, it->pre.len,
                       after->p, after->len, fill_visit, &f);
    if (rc) return rc;
    if ((rc = it->ra.err) != 0) return rc;
    if (f.got < f.want && it->ra.len < RA_BYTES) it->ra_end = 1; /* the keys ran out */
    if (it->ra_want < RA_MAX) it->ra_want *= 2;
    return 0;
}

static size_t get_len(const uint8_t *p)
{
    uint32_t n;
    memcpy(&n, p, 4);
    return n;
}

int weft_tables_next(weft_tables_t *t, uint64_t handle, size_t cap, const uint8_t **out_row,
                     size_t *out_len)
{
    iter_t *it = iter_get(t, handle);
    const schema_table_t *tab;
    const uint8_t *key, *row;
    size_t key_len, row_len;
    int rc;
    if (!it) return WEFT_TABLE_EINVAL;
    if (!t->txn) return WEFT_EARG;
    tab = tables_table(t->schema, it->tid);
    for (;;) {
        /* An index on the primary key with an included lower bound: the
         * row at the bound is exactly pre+key(lo), which "after it" would
         * pass over, so it is looked up first. */
        if (!it->index && it->lo_kind == WEFT_BOUND_INCLUDED && !it->lo_seen) {
            weft_bsatn_buf_t *k = &t->key;
            it->lo_seen = 1;
            k->len = 0;
            k->err = 0;
            weft_bsatn_put_raw(k, it->pre.p, it->pre.len);
            weft_bsatn_put_raw(k, it->lo.p, it->lo.len);
            if ((rc = k->err) != 0) return rc;
            rc = k->len > WEFT_DB_KEY_MAX ? WEFT_ENOTFOUND
                                          : weft_txn_get(t->txn, WEFT_SPACE_TABLES, t->ctx,
                                                         t->ctx_len, k->p, k->len, &row, &row_len);
            if (rc != 0 && rc != WEFT_ENOTFOUND) return rc;
            if (rc == 0 && !(it->hi_kind != WEFT_BOUND_UNBOUNDED &&
                             past_hi(it, k->p + it->pre.len, k->len - it->pre.len))) {
                key = k->p;
                key_len = k->len;
                it->ra.len = it->ra_pos = 0; /* nothing read ahead yet */
                goto found;
            }
        }
        if (it->ra_pos >= it->ra.len || it->ra_writes != t->writes) {
            if (it->ra_pos >= it->ra.len && it->ra_end && it->ra_writes == t->writes)
                return WEFT_TABLE_ENOTFOUND;
            if ((rc = fill(t, it)) != 0) return rc;
            if (it->ra.len == 0) return WEFT_TABLE_ENOTFOUND;
        }
        key_len = get_len(it->ra.p + it->ra_pos);
        key = it->ra.p + it->ra_pos + 4;
        row_len = get_len(key + key_len);
        row = key + key_len + 4;
    found:
        if (it->index) {
            /* the entry's value is the rowkey: fetch the row */
            weft_bsatn_buf_t *rk = &t->scratch;
            rk->len = 0;
            rk->err = 0;
            tables_row_prefix(tab, rk);
            weft_bsatn_put_raw(rk, row, row_len);
            if ((rc = rk->err) != 0) return rc;
            rc = weft_txn_get(t->txn, WEFT_SPACE_TABLES, t->ctx, t->ctx_len, rk->p, rk->len, &row,
                              &row_len);
            if (rc == WEFT_ENOTFOUND) rc = WEFT_EDAMAGED; /* an index entry without its row */
            if (rc) return rc;
        }
        int vis = visible(t, tab, row, row_len);
        if (vis && row_len > cap) {
            *out_row = row;
            *out_len = row_len;
            if (key == t->key.p) it->lo_seen = 0; /* looked up again next time */
            return WEFT_TABLE_ETOOSMALL;           /* the iterator stays on the row */
        }
        /* consumed: remembered as the last key, stepped over in the batch */
        if (key != t->key.p) it->ra_pos += 4 + key_len + 4 + get_len(key + key_len);
        it->last.len = 0;
        weft_bsatn_put_raw(&it->last, key, key_len);
        if ((rc = it->last.err) != 0) return rc;
        if (!vis) continue; /* another identity's row: step over it */
        *out_row = row;
        *out_len = row_len;
        return 0;
    }
}

int weft_tables_close(weft_tables_t *t, uint64_t handle)
{
    iter_t *it = iter_get(t, handle);
    if (!it) return WEFT_TABLE_EINVAL;
    iter_free(it);
    return 0;
}

/* ---- binding --------------------------------------------------------- */

int weft_tables_new(const weft_schema_t *schema, const uint8_t *ctx, size_t ctx_len,
                    weft_tables_t **out)
{
    if (!out) return WEFT_EARG;
    *out = NULL;
    if (!schema || !ctx || ctx_len == 0 || ctx_len > 255) return WEFT_EARG;
    weft_tables_t *t = calloc(1, sizeof *t);
    if (!t) return WEFT_ENOMEM;
    t->schema = schema;
    memcpy(t->ctx, ctx, ctx_len);
    t->ctx_len = ctx_len;
    *out = t;
    return 0;
}

void weft_tables_end_call(weft_tables_t *t)
{
    for (size_t i = 0; i < t->niters; i++)
        if (t->iters[i].gen) iter_free(&t->iters[i]);
    t->txn = NULL;
}

void weft_tables_begin_call(weft_tables_t *t, weft_txn_t *txn, const uint8_t *identity,
                            size_t identity_len)
{
    weft_tables_end_call(t);
    t->txn = txn;
    if (identity_len > sizeof t->identity) identity_len = sizeof t->identity;
    if (identity_len) memcpy(t->identity, identity, identity_len);
    t->identity_len = identity_len;
}

void weft_tables_delete(weft_tables_t *t)
{
    if (!t) return;
    weft_tables_end_call(t);
    free(t->iters);
    weft_bsatn_buf_fini(&t->scratch);
    weft_bsatn_buf_fini(&t->key);
    weft_bsatn_buf_fini(&t->b_rk);
    weft_bsatn_buf_fini(&t->b_k);
    weft_bsatn_buf_fini(&t->b_ik);
    weft_bsatn_buf_fini(&t->b_row);
    free(t);
}

int weft_tables_range_contains(const weft_schema_t *s, uint32_t tid, int iid,
                               const uint8_t *range, size_t range_len, const uint8_t *row,
                               size_t len)
{
    const schema_table_t *tab = tables_table(s, tid);
    size_t off[MAX_COLUMNS], lens[MAX_COLUMNS];
    weft_bsatn_buf_t lo, hi, key;
    weft_bsatn_reader_t r;
    schema_index_t pk;
    int lo_kind, hi_kind, rc;
    if (!tab) return WEFT_TABLE_ENOTABLE;
    const schema_index_t *ix = index_or_pk(tab, iid, &pk, &rc);
    if (!ix) return rc;
    if (tables_columns(tab, row, len, off, lens) != 0) return WEFT_TABLE_ETYPE;
    weft_bsatn_buf_init(&lo);
    weft_bsatn_buf_init(&hi);
    weft_bsatn_buf_init(&key);
    weft_bsatn_reader_init(&r, range, range_len);
    if ((rc = get_bound(tab, ix, &r, &lo_kind, &lo)) != 0 ||
        (rc = get_bound(tab, ix, &r, &hi_kind, &hi)) != 0)
        goto done;
    rc = WEFT_TABLE_EINVAL;
    if (r.off != range_len) goto done;
    for (size_t i = 0; i < ix->ncols; i++)
        if ((rc = col_key(tab, ix->cols[i], row, off, lens, &key)) != 0) goto done;
    if ((rc = lo.err ? lo.err : hi.err ? hi.err : key.err) != 0) goto done;
    /* as a scan decides: at or past lo (past an excluded one), not past hi */
    int c;
    rc = 1;
    if (lo_kind != WEFT_BOUND_UNBOUNDED &&
        ((c = cmp_bound(key.p, key.len, &lo)) < 0 || (c == 0 && lo_kind == WEFT_BOUND_EXCLUDED)))
        rc = 0;
    if (hi_kind != WEFT_BOUND_UNBOUNDED &&
        ((c = cmp_bound(key.p, key.len, &hi)) > 0 || (c == 0 && hi_kind == WEFT_BOUND_EXCLUDED)))
        rc = 0;
done:
    weft_bsatn_buf_fini(&lo);
    weft_bsatn_buf_fini(&hi);
    weft_bsatn_buf_fini(&key);
    return rc;
}

/* ---- clients ------------------------------------------------------------- */

typedef struct {
    const schema_table_t *tab;
    weft_bsatn_buf_t *out, *next;
    size_t limit, n;
    size_t pre_len;
    int rc, more;
} page_t;

static int page_visit(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                      size_t val_len)
{
    page_t *p = user;
    if (p->n == p->limit) {
        /* one more row exists: the page ends at the previous one */
        p->more = 1;
        return 1;
    }
    if (p->n) weft_bsatn_put_u8(p->out, ',');
    if ((p->rc = weft_bsatn_json(p->tab->row, p->tab->row_len, val, val_len, p->out, NULL)) != 0)
        return 1;
    p->next->len = 0;
    weft_bsatn_put_raw(p->next, key + p->pre_len, key_len - p->pre_len);
    p->n++;
    return 0;
}

int weft_tables_read_json(const weft_schema_t *s, weft_txn_t *txn, const uint8_t *ctx,
                          size_t ctx_len, uint32_t tid, const uint8_t *after, size_t after_len,
                          size_t limit, weft_bsatn_buf_t *out, weft_bsatn_buf_t *out_next)
{
    const schema_table_t *tab = tables_table(s, tid);
    weft_bsatn_buf_t pre, start;
    int rc;
    if (!tab) return WEFT_TABLE_ENOTABLE;
    if (!tab->public_) return WEFT_TABLE_EDENIED;
    weft_bsatn_buf_init(&pre);
    weft_bsatn_buf_init(&start);
    tables_row_prefix(tab, &pre);
    if (after_len) {
        weft_bsatn_put_raw(&start, pre.p, pre.len);
        weft_bsatn_put_raw(&start, after, after_len);
    }
    out_next->len = 0;
    page_t p = {tab, out, out_next, limit, 0, pre.len, 0, 0};
    weft_bsatn_put_u8(out, '[');
    if ((rc = pre.err) != 0 || (rc = start.err) != 0) goto done;
    if (start.len > WEFT_DB_KEY_MAX) {
        rc = WEFT_TABLE_EINVAL;
        goto done;
    }
    rc = limit == 0 ? 0
                    : weft_txn_scan(txn, WEFT_SPACE_TABLES, ctx, ctx_len, pre.p, pre.len, start.p,
                                    start.len, page_visit, &p);
    if (rc == 0) rc = p.rc;
    /* the cursor names the last row returned, when a row follows it */
    if (!p.more) out_next->len = 0;
    weft_bsatn_put_u8(out, ']');
    if (rc == 0) rc = out->err ? out->err : out_next->err;
done:
    weft_bsatn_buf_fini(&pre);
    weft_bsatn_buf_fini(&start);
    return rc;
}

int weft_tables_range_json(const weft_schema_t *s, weft_txn_t *txn, const uint8_t *ctx,
                           size_t ctx_len, uint32_t tid, int iid, const uint8_t *range,
                           size_t range_len, const uint8_t *after, size_t after_len, size_t limit,
                           weft_bsatn_buf_t *out, weft_bsatn_buf_t *out_next)
{
    const schema_table_t *tab = tables_table(s, tid);
    weft_tables_t *t = NULL;
    schema_index_t pk;
    iter_t *it;
    const uint8_t *row;
    size_t len, n = 0;
    uint64_t h;
    int rc;
    out_next->len = 0;
    if (!tab) return WEFT_TABLE_ENOTABLE;
    if (!tab->public_) return WEFT_TABLE_EDENIED;
    const schema_index_t *ix = index_or_pk(tab, iid, &pk, &rc);
    if (!ix) return rc;
    if ((rc = weft_tables_new(s, ctx, ctx_len, &t)) != 0) return rc;
    weft_tables_begin_call(t, txn, NULL, 0); /* a public table: no owner to check */
    rc = range_scan(t, tid, tab, iid, ix, range, range_len, &h);
    if (rc != 0) goto done;
    it = iter_get(t, h);
    if (after_len && it->lo_kind != WEFT_BOUND_UNBOUNDED) {
        /* a cursor before the range (forged, or of another range) */
        int c = cmp_bound(after, after_len, &it->lo);
        if (c < 0 || (c == 0 && it->lo_kind == WEFT_BOUND_EXCLUDED)) {
            rc = WEFT_TABLE_EINVAL;
            goto done;
        }
    }
    if (after_len) {
        /* resume past the cursor's key as if the iterator had returned it
         * (its included lower bound then needs no lookup of its own) */
        weft_bsatn_put_raw(&it->last, it->pre.p, it->pre.len);
        weft_bsatn_put_raw(&it->last, after, after_len);
        it->lo_seen = 1;
        if ((rc = it->last.err) != 0) goto done;
    }
    weft_bsatn_put_u8(out, '[');
    /* limit + 1 rows are read: the last only tells that another page follows */
    while ((rc = weft_tables_next(t, h, WEFT_TABLES_MAX_ROW, &row, &len)) == 0 && n < limit) {
        if (n++) weft_bsatn_put_u8(out, ',');
        if ((rc = weft_bsatn_json(tab->row, tab->row_len, row, len, out, NULL)) != 0) goto done;
        out_next->len = 0;
        weft_bsatn_put_raw(out_next, it->last.p + it->pre.len, it->last.len - it->pre.len);
    }
    if (rc == WEFT_TABLE_ENOTFOUND) { /* the range ended: no next page */
        rc = 0;
        out_next->len = 0;
    }
    weft_bsatn_put_u8(out, ']');
    if (rc == 0) rc = out->err ? out->err : out_next->err;
done:
    weft_tables_delete(t);
    return rc;
}

/* ---- schema changes ------------------------------------------------------ */

static const char *col_name(const schema_table_t *t, int c)
{
    return c < 0 ? "none" : t->cols[c].name;
}

static int is_unique(const schema_table_t *t, uint32_t c)
{
    for (size_t u = 0; u < t->nunique; u++)
        if (t->unique[u] == c) return 1;
    return 0;
}

/* Whether table o of the old schema can become table n: the first
 * incompatible change, named (docs/cosmictron.md "Schema changes"). */
static int migrate_check(const schema_table_t *o, const schema_table_t *n, char *msg, size_t size)
{
    for (size_t c = 0; c < o->ncols; c++) {
        const schema_col_t *oc = &o->cols[c];
        if (c >= n->ncols || strcmp(oc->name, n->cols[c].name) != 0) {
            for (size_t k = 0; k < n->ncols; k++)
                if (strcmp(oc->name, n->cols[k].name) == 0)
                    return tables_fail(
                        msg, size, "table %s: column %s moved (columns are only added at the end)",
                        o->name, oc->name);
            return tables_fail(msg, size, "table %s: column %s removed", o->name, oc->name);
        }
        if (oc->type_len != n->cols[c].type_len || memcmp(oc->type, n->cols[c].type, oc->type_len))
            return tables_fail(msg, size, "table %s: column %s changed its type", o->name, oc->name);
    }
    for (size_t c = o->ncols; c < n->ncols; c++)
        if (n->cols[c].type[0] != WEFT_BSATN_OPTION)
            return tables_fail(
                msg, size, "table %s: new column %s must be an Option (existing rows hold None)",
                n->name, n->cols[c].name);
    if (o->pk != n->pk)
        return tables_fail(msg, size, "table %s: primary key changed (%s, was %s)", o->name,
                           col_name(n, n->pk), col_name(o, o->pk));
    for (size_t u = 0; u < o->nunique; u++)
        if (!is_unique(n, o->unique[u]))
            return tables_fail(msg, size, "table %s: column %s is no longer unique", o->name,
                               o->cols[o->unique[u]].name);
    for (size_t u = 0; u < n->nunique; u++)
        if (!is_unique(o, n->unique[u]))
            return tables_fail(msg, size, "table %s: column %s became unique", n->name,
                               n->cols[n->unique[u]].name);
    if (o->replicated != n->replicated)
        return tables_fail(msg, size,
                           "table %s: %s replicated (a table is, or is not, from its start)",
                           o->name, n->replicated ? "made" : "no longer");
    if (o->owner != n->owner)
        return tables_fail(msg, size, "table %s: owner column changed (%s, was %s)", o->name,
                           col_name(n, n->owner), col_name(o, o->owner));
    return 0;
}

/* Index x of table t, when table u has the same one (name and columns). */
static int index_kept(const schema_table_t *t, size_t x, const schema_table_t *u)
{
    const schema_index_t *a = &t->idx[x];
    for (size_t y = 0; y < u->nidx; y++) {
        const schema_index_t *b = &u->idx[y];
        if (strcmp(a->name, b->name) == 0 && a->ncols == b->ncols &&
            memcmp(a->cols, b->cols, a->ncols * sizeof a->cols[0]) == 0)
            return 1;
    }
    return 0;
}

/* A batch of entries under a prefix, gathered by a scan and then written:
 * fn may not write while it scans. */
#define MIGRATE_BATCH 256

typedef struct {
    weft_bsatn_buf_t kv; /* (u32 key length, key, u32 value length, value) each */
    size_t n;
} batch_t;

static int batch_visit(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                       size_t val_len)
{
    batch_t *b = user;
    put_len(&b->kv, key_len);
    weft_bsatn_put_raw(&b->kv, key, key_len);
    put_len(&b->kv, val_len);
    weft_bsatn_put_raw(&b->kv, val, val_len);
    return ++b->n == MIGRATE_BATCH || b->kv.err;
}

/* Every key under `pre`, a batch at a time: deleted (del), or a row of
 * table n rewritten with `extra` None columns and entered into the new
 * indexes `add` (a flag per index of n). */
static int migrate_entries(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                           const weft_bsatn_buf_t *pre, int del, const schema_table_t *n,
                           size_t extra, const int *add)
{
    batch_t b = {{0}, 0};
    weft_bsatn_buf_t last, row, ik;
    int rc = 0;
    weft_bsatn_buf_init(&b.kv);
    weft_bsatn_buf_init(&last);
    weft_bsatn_buf_init(&row);
    weft_bsatn_buf_init(&ik);
    for (;;) {
        b.kv.len = 0;
        b.n = 0;
        rc = weft_txn_scan(txn, WEFT_SPACE_TABLES, ctx, ctx_len, pre->p, pre->len, last.p,
                           last.len, batch_visit, &b);
        if (rc == 0) rc = b.kv.err;
        if (rc != 0 || b.n == 0) break;
        for (size_t at = 0, i = 0; rc == 0 && i < b.n; i++) {
            size_t kl = get_len(b.kv.p + at), vl;
            const uint8_t *k = b.kv.p + at + 4, *v;
            vl = get_len(k + kl);
            v = k + kl + 4;
            at += 8 + kl + vl;
            if (del) {
                rc = weft_txn_del(txn, WEFT_SPACE_TABLES, ctx, ctx_len, k, kl);
            } else {
                size_t off[MAX_COLUMNS], lens[MAX_COLUMNS];
                row.len = 0;
                weft_bsatn_put_raw(&row, v, vl);
                for (size_t e = 0; e < extra; e++) weft_bsatn_put_u8(&row, 0); /* None */
                if ((rc = row.err) != 0) break;
                if (tables_columns(n, row.p, row.len, off, lens) != 0) {
                    rc = WEFT_EDAMAGED; /* a stored row that is not one */
                    break;
                }
                if (extra && (rc = weft_txn_put(txn, WEFT_SPACE_TABLES, ctx, ctx_len, k, kl,
                                                row.p, row.len)) != 0)
                    break;
                for (size_t x = 0; rc == 0 && x < n->nidx; x++) {
                    if (!add[x]) continue;
                    ik.len = 0;
                    if ((rc = index_key(n, x, row.p, off, lens, k + pre->len, kl - pre->len,
                                        &ik)) == 0 &&
                        !key_fits(ik.len))
                        rc = WEFT_ELIMIT; /* an entry longer than a key may be */
                    if (rc == 0)
                        rc = weft_txn_put(txn, WEFT_SPACE_TABLES, ctx, ctx_len, ik.p, ik.len,
                                          k + pre->len, kl - pre->len);
                }
            }
            if (i + 1 == b.n) { /* the next batch starts after this key */
                last.len = 0;
                weft_bsatn_put_raw(&last, k, kl);
                if (rc == 0) rc = last.err;
            }
        }
        if (rc != 0 || b.n < MIGRATE_BATCH) break;
    }
    weft_bsatn_buf_fini(&b.kv);
    weft_bsatn_buf_fini(&last);
    weft_bsatn_buf_fini(&row);
    weft_bsatn_buf_fini(&ik);
    return rc;
}

int weft_tables_migrate(const weft_schema_t *from, const weft_schema_t *to, weft_txn_t *txn,
                        const uint8_t *ctx, size_t ctx_len, char *msg, size_t msg_size)
{
    int rc;
    for (size_t i = 0; i < from->ntables; i++) {
        const schema_table_t *o = &from->tables[i];
        int tid = weft_schema_table_find(to, o->name, strlen(o->name));
        if (tid < 0)
            return tables_fail(msg, msg_size, "table %s: removed (its rows would be lost)", o->name);
        if ((rc = migrate_check(o, &to->tables[tid], msg, msg_size)) != 0) return rc;
    }
    if (!txn) return 0;
    for (size_t i = 0; i < from->ntables; i++) {
        const schema_table_t *o = &from->tables[i];
        const schema_table_t *n = &to->tables[weft_schema_table_find(to, o->name,
                                                                     strlen(o->name))];
        int add[MAX_INDEXES] = {0}, any = 0;
        weft_bsatn_buf_t pre;
        for (size_t x = 0; x < o->nidx; x++) {
            if (o->idx[x].on_pk || index_kept(o, x, n)) continue;
            weft_bsatn_buf_init(&pre);
            index_prefix(o, x, &pre);
            rc = pre.err ? pre.err : migrate_entries(txn, ctx, ctx_len, &pre, 1, n, 0, add);
            weft_bsatn_buf_fini(&pre);
            if (rc != 0) goto fail;
        }
        for (size_t x = 0; x < n->nidx; x++) any |= add[x] = !n->idx[x].on_pk && !index_kept(n, x, o);
        if (!any && n->ncols == o->ncols) continue;
        weft_bsatn_buf_init(&pre);
        tables_row_prefix(n, &pre);
        rc = pre.err ? pre.err
                     : migrate_entries(txn, ctx, ctx_len, &pre, 0, n, n->ncols - o->ncols, add);
        weft_bsatn_buf_fini(&pre);
        if (rc != 0) goto fail;
    }
    return 0;
fail:
    if (rc == WEFT_ELIMIT)
        tables_fail(msg, msg_size, "a new index's entry would pass the store's key length");
    else
        tables_fail(msg, msg_size, "moving the rows failed (store error %d)", rc);
    return rc;
}
