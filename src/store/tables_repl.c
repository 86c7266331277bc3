/*
 * tables_repl.c — replicated tables (weft/tables.h, docs/cosmictron.md
 * "Replicated tables"): rows that converge across the nodes of a context.
 *
 * The truth is one last-writer-wins register a row in the CRDT store
 * (weft/crdt_store.h), under WEFT_TABLES_REPL_PREFIX table 0x00 rowkey,
 * holding 0x01 row or 0x00 (deleted: a tombstone with its stamp, so an
 * older write arriving later cannot bring the row back). Sync replicates
 * those ops like any other; what a node shows is a function of the
 * registers alone, so every node that holds the same ops shows the same
 * rows, whatever the order they came in:
 *
 *   a row is shown when its register holds it and, for each unique
 *   column, its write is the newest (hlc, origin, seq) of the live rows
 *   holding that column's value.
 *
 * A table without unique columns shows every live row. With them, two
 * nodes that insert the same unique value under two keys at once end
 * with the newer write shown and the older held back (its register
 * stays); when the newer goes, the older shows again.
 *
 * To decide that without reading every register, each node keeps, next
 * to the shown rows ('r', 'u', 'i' of tables.c), what it last took from
 * the registers:
 *   'R' table 0 rowkey                           -> stamp row   (every live row)
 *   'U' table 0 column 0 key(value) rowkey       -> stamp       (their unique values)
 * where stamp is hlc u64 BE, origin[32], seq u64 BE: 48 bytes whose
 * byte order is the stamps' order. When a register changes, its 'R' and
 * 'U' entries follow, and every row in the unique groups it left or
 * joined is settled again: first the rows no longer shown are removed,
 * then the rows now shown are put (so a unique entry passed from one row
 * to another is never deleted after its new owner wrote it).
 */
#include <string.h>
#include <time.h>

#include "tables_priv.h"
#include "weft/crdt_store.h"
#include "weft/error.h"

#define STAMP_LEN 48
#define PREFIX WEFT_TABLES_REPL_PREFIX
#define PREFIX_LEN (sizeof PREFIX - 1)

/* The CRDT key of a row: prefix, table name, 0x00, rowkey. */
static void reg_key(const schema_table_t *tab, const uint8_t *rk, size_t rk_len,
                    weft_bsatn_buf_t *out)
{
    weft_bsatn_put_raw(out, PREFIX, PREFIX_LEN);
    weft_bsatn_put_raw(out, tab->name, strlen(tab->name) + 1);
    weft_bsatn_put_raw(out, rk, rk_len);
}

int tables_repl_fits(const schema_table_t *tab, size_t rk_len, size_t row_len)
{
    return PREFIX_LEN + strlen(tab->name) + 1 + rk_len <= WEFT_CRDT_KEY_MAX &&
           row_len + 1 <= WEFT_CRDT_VALUE_MAX;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int tables_repl_write(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                      const uint8_t origin[32], const schema_table_t *tab, const uint8_t *rk,
                      size_t rk_len, const uint8_t *row, size_t len)
{
    weft_bsatn_buf_t k, v;
    int rc;
    weft_bsatn_buf_init(&k);
    weft_bsatn_buf_init(&v);
    reg_key(tab, rk, rk_len, &k);
    weft_bsatn_put_u8(&v, row != NULL);
    if (row) weft_bsatn_put_raw(&v, row, len);
    if ((rc = k.err ? k.err : v.err) == 0) {
        weft_crdt_input_t in = {.value = v.p, .value_len = v.len};
        rc = weft_crdt_local(txn, origin, wall_ms(), ctx, ctx_len, k.p, k.len,
                             WEFT_CRDT_LWW_REG, WEFT_CRDT_SET, &in, NULL, NULL);
    }
    weft_bsatn_buf_fini(&k);
    weft_bsatn_buf_fini(&v);
    return rc;
}

/* A row as this schema reads it, into out: as stored, or, written under
 * an earlier version of the table (docs/cosmictron.md "Schema changes"),
 * its columns so far followed by None for the Option columns added since.
 * 0, or WEFT_EMALFORMED for anything else (a later version's row). */
static int row_complete(const schema_table_t *tab, const uint8_t *row, size_t len,
                        weft_bsatn_buf_t *out)
{
    size_t at = 0, i = 0, used;
    for (; i < tab->ncols && at < len; i++, at += used)
        if (weft_bsatn_check(tab->cols[i].type, tab->cols[i].type_len, row + at, len - at, &used))
            return WEFT_EMALFORMED;
    if (at != len || i == 0) return WEFT_EMALFORMED;
    for (size_t k = i; k < tab->ncols; k++)
        if (tab->cols[k].type[0] != WEFT_BSATN_OPTION) return WEFT_EMALFORMED;
    out->len = 0;
    weft_bsatn_put_raw(out, row, len);
    for (; i < tab->ncols; i++) weft_bsatn_put_u8(out, 0); /* None */
    return out->err;
}

/* What a row's register holds: *live, and then its stamp and row (into
 * out, completed by row_complete). A register whose row is not one of the
 * table's (a node of a later schema wrote it) counts as no row. */
static int reg_read(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                    const schema_table_t *tab, const uint8_t *rk, size_t rk_len, int *live,
                    uint8_t stamp[STAMP_LEN], weft_bsatn_buf_t *out)
{
    weft_crdt_state_t *st = NULL;
    weft_bsatn_buf_t k;
    const uint8_t *v;
    size_t vl;
    uint64_t hlc, seq;
    int rc;
    *live = 0;
    weft_bsatn_buf_init(&k);
    reg_key(tab, rk, rk_len, &k);
    rc = k.err ? k.err
               : weft_crdt_read(txn, ctx, ctx_len, k.p, k.len, WEFT_CRDT_LWW_REG, &st);
    weft_bsatn_buf_fini(&k);
    if (rc == WEFT_ENOTFOUND || rc == WEFT_EARG) return 0; /* none, or not a register */
    if (rc != 0) return rc;
    if (weft_crdt_lww_get(st, &v, &vl) == 0 && vl > 1 && v[0] == 1 &&
        row_complete(tab, v + 1, vl - 1, out) == 0 &&
        weft_crdt_lww_stamp(st, &hlc, stamp + 8, &seq) == 0) {
        for (int i = 0; i < 8; i++) {
            stamp[i] = (uint8_t)(hlc >> (56 - 8 * i));
            stamp[40 + i] = (uint8_t)(seq >> (56 - 8 * i));
        }
        *live = 1;
    }
    weft_crdt_state_delete(st);
    return rc;
}

/* 'R' table 0 rowkey */
static void shadow_key(const schema_table_t *tab, const uint8_t *rk, size_t rk_len,
                       weft_bsatn_buf_t *out)
{
    out->len = 0;
    weft_bsatn_put_u8(out, 'R');
    weft_bsatn_put_raw(out, tab->name, strlen(tab->name) + 1);
    weft_bsatn_put_raw(out, rk, rk_len);
}

/* 'U' table 0 column 0 key(value): the group of a unique value (the
 * 'u' entry's key with another kind byte). */
static int group_key(const schema_table_t *tab, size_t u, const uint8_t *row, size_t len,
                     weft_bsatn_buf_t *out)
{
    size_t off[MAX_COLUMNS], lens[MAX_COLUMNS];
    out->len = 0;
    if (tables_columns(tab, row, len, off, lens) != 0) return WEFT_EDAMAGED;
    int rc = tables_unique_key(tab, tab->unique[u], row, off, lens, out);
    if (rc == 0) out->p[0] = 'U';
    return rc ? rc : out->err;
}

typedef struct {
    weft_bsatn_buf_t *out; /* max: the greatest stamp; keys: (u32 len, rowkey)... */
    size_t pre_len;
    int max;
} group_t;

static int group_visit(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                       size_t val_len)
{
    group_t *g = user;
    if (g->max) {
        if (val_len == STAMP_LEN && (g->out->len == 0 || memcmp(val, g->out->p, STAMP_LEN) > 0)) {
            g->out->len = 0;
            weft_bsatn_put_raw(g->out, val, STAMP_LEN);
        }
    } else {
        uint32_t n = (uint32_t)(key_len - g->pre_len);
        weft_bsatn_put_raw(g->out, &n, 4);
        weft_bsatn_put_raw(g->out, key + g->pre_len, n);
    }
    return g->out->err != 0;
}

/* Whether row rk (its shadow: stamp and row, live) wins every unique
 * group it is in. */
static int wins(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const schema_table_t *tab,
                const uint8_t *stamp, const uint8_t *row, size_t len, int *out)
{
    weft_bsatn_buf_t g, best;
    int rc = 0;
    *out = 1;
    weft_bsatn_buf_init(&g);
    weft_bsatn_buf_init(&best);
    for (size_t u = 0; rc == 0 && *out && u < tab->nunique; u++) {
        if ((rc = group_key(tab, u, row, len, &g)) != 0) break;
        best.len = 0;
        group_t gv = {&best, g.len, 1};
        rc = weft_txn_scan(txn, WEFT_SPACE_TABLES, ctx, ctx_len, g.p, g.len, NULL, 0,
                           group_visit, &gv);
        if (rc == 0) rc = best.err;
        if (rc == 0 && best.len == STAMP_LEN && memcmp(best.p, stamp, STAMP_LEN) > 0) *out = 0;
    }
    weft_bsatn_buf_fini(&g);
    weft_bsatn_buf_fini(&best);
    return rc;
}

/* The shadow of rk: *live and its stamp and row (into row). */
static int shadow_read(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                       const schema_table_t *tab, const uint8_t *rk, size_t rk_len,
                       weft_bsatn_buf_t *k, int *live, uint8_t stamp[STAMP_LEN],
                       weft_bsatn_buf_t *row)
{
    const uint8_t *v;
    size_t vl;
    *live = 0;
    shadow_key(tab, rk, rk_len, k);
    if (k->err) return k->err;
    int rc = weft_txn_get(txn, WEFT_SPACE_TABLES, ctx, ctx_len, k->p, k->len, &v, &vl);
    if (rc == WEFT_ENOTFOUND) return 0;
    if (rc != 0) return rc;
    if (vl <= STAMP_LEN) return WEFT_EDAMAGED;
    memcpy(stamp, v, STAMP_LEN);
    /* kept by an earlier version of the table: completed as registers are */
    if (row_complete(tab, v + STAMP_LEN, vl - STAMP_LEN, row) != 0) return WEFT_EDAMAGED;
    *live = 1;
    return 0;
}

/* Settles row rk: pass 1 removes it when shown but no longer to be (or
 * shown with another row), pass 2 puts it when to be shown and not. */
static int settle_one(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                      const schema_table_t *tab, uint32_t tid, const uint8_t *rk, size_t rk_len,
                      int pass, weft_tables_change_fn fn, void *user)
{
    weft_bsatn_buf_t k, row, cur;
    uint8_t stamp[STAMP_LEN];
    const uint8_t *v;
    size_t vl;
    int live, want = 0, shown = 0, rc;
    weft_bsatn_buf_init(&k);
    weft_bsatn_buf_init(&row);
    weft_bsatn_buf_init(&cur);
    rc = shadow_read(txn, ctx, ctx_len, tab, rk, rk_len, &k, &live, stamp, &row);
    if (rc == 0 && live) rc = wins(txn, ctx, ctx_len, tab, stamp, row.p, row.len, &want);
    if (rc != 0) goto done;
    k.len = 0;
    tables_row_prefix(tab, &k);
    weft_bsatn_put_raw(&k, rk, rk_len);
    if ((rc = k.err) != 0) goto done;
    rc = weft_txn_get(txn, WEFT_SPACE_TABLES, ctx, ctx_len, k.p, k.len, &v, &vl);
    if (rc == 0) {
        weft_bsatn_put_raw(&cur, v, vl); /* a copy: the deletes move v */
        if ((rc = cur.err) != 0) goto done;
        shown = 1;
    } else if (rc == WEFT_ENOTFOUND) {
        rc = 0;
    } else {
        goto done;
    }
    if (pass == 1 && shown && (!want || cur.len != row.len || memcmp(cur.p, row.p, row.len))) {
        rc = tables_entries_write(txn, ctx, ctx_len, tab, rk, rk_len, cur.p, cur.len, 1);
        if (rc == 0 && fn) fn(user, tid, 'd', cur.p, cur.len);
    } else if (pass == 2 && want && !shown) {
        rc = tables_entries_write(txn, ctx, ctx_len, tab, rk, rk_len, row.p, row.len, 0);
        if (rc == 0 && fn) fn(user, tid, 'i', row.p, row.len);
    }
done:
    weft_bsatn_buf_fini(&k);
    weft_bsatn_buf_fini(&row);
    weft_bsatn_buf_fini(&cur);
    return rc;
}

/* Adds the rows of the unique groups of `row` to keys, and puts (del 0)
 * or deletes (del 1) rk's entries in them. */
static int groups(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const schema_table_t *tab,
                  const uint8_t *rk, size_t rk_len, const uint8_t *stamp, const uint8_t *row,
                  size_t len, int del, weft_bsatn_buf_t *keys)
{
    weft_bsatn_buf_t g;
    int rc = 0;
    weft_bsatn_buf_init(&g);
    for (size_t u = 0; rc == 0 && u < tab->nunique; u++) {
        if ((rc = group_key(tab, u, row, len, &g)) != 0) break;
        size_t pre = g.len;
        weft_bsatn_put_raw(&g, rk, rk_len);
        if ((rc = g.err) != 0) break;
        rc = del ? weft_txn_del(txn, WEFT_SPACE_TABLES, ctx, ctx_len, g.p, g.len)
                 : weft_txn_put(txn, WEFT_SPACE_TABLES, ctx, ctx_len, g.p, g.len, stamp,
                                STAMP_LEN);
        if (rc == WEFT_ENOTFOUND) rc = 0;
        group_t gv = {keys, pre, 0};
        if (rc == 0)
            rc = weft_txn_scan(txn, WEFT_SPACE_TABLES, ctx, ctx_len, g.p, pre, NULL, 0,
                               group_visit, &gv);
        if (rc == 0) rc = keys->err;
    }
    weft_bsatn_buf_fini(&g);
    return rc;
}

int tables_repl_settle(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                       const schema_table_t *tab, uint32_t tid, const uint8_t *rk, size_t rk_len,
                       weft_tables_change_fn fn, void *user)
{
    weft_bsatn_buf_t k, nrow, orow, keys;
    uint8_t nstamp[STAMP_LEN], ostamp[STAMP_LEN];
    int nlive, olive, rc;
    weft_bsatn_buf_init(&k);
    weft_bsatn_buf_init(&nrow);
    weft_bsatn_buf_init(&orow);
    weft_bsatn_buf_init(&keys);
    if ((rc = reg_read(txn, ctx, ctx_len, tab, rk, rk_len, &nlive, nstamp, &nrow)) != 0 ||
        (rc = shadow_read(txn, ctx, ctx_len, tab, rk, rk_len, &k, &olive, ostamp, &orow)) != 0)
        goto done;
    if (olive == nlive && (!nlive || memcmp(ostamp, nstamp, STAMP_LEN) == 0))
        goto done; /* nothing new (a duplicate, or an older write that lost) */
    /* the shadow follows the register; rk and every row of the groups it
     * leaves or joins are settled again */
    uint32_t n = (uint32_t)rk_len;
    weft_bsatn_put_raw(&keys, &n, 4);
    weft_bsatn_put_raw(&keys, rk, rk_len);
    if (olive && (rc = groups(txn, ctx, ctx_len, tab, rk, rk_len, ostamp, orow.p, orow.len, 1,
                              &keys)) != 0)
        goto done;
    if (nlive) {
        weft_bsatn_buf_t val;
        weft_bsatn_buf_init(&val);
        weft_bsatn_put_raw(&val, nstamp, STAMP_LEN);
        weft_bsatn_put_raw(&val, nrow.p, nrow.len);
        rc = val.err ? val.err
                     : weft_txn_put(txn, WEFT_SPACE_TABLES, ctx, ctx_len, k.p, k.len, val.p,
                                    val.len);
        weft_bsatn_buf_fini(&val);
        if (rc == 0)
            rc = groups(txn, ctx, ctx_len, tab, rk, rk_len, nstamp, nrow.p, nrow.len, 0, &keys);
    } else {
        rc = weft_txn_del(txn, WEFT_SPACE_TABLES, ctx, ctx_len, k.p, k.len);
        if (rc == WEFT_ENOTFOUND) rc = 0;
    }
    if (rc == 0) rc = keys.err;
    for (int pass = 1; rc == 0 && pass <= 2; pass++)
        for (size_t at = 0; rc == 0 && at < keys.len;) {
            uint32_t kl;
            memcpy(&kl, keys.p + at, 4);
            rc = settle_one(txn, ctx, ctx_len, tab, tid, keys.p + at + 4, kl, pass, fn, user);
            at += 4 + kl;
        }
done:
    weft_bsatn_buf_fini(&k);
    weft_bsatn_buf_fini(&nrow);
    weft_bsatn_buf_fini(&orow);
    weft_bsatn_buf_fini(&keys);
    return rc;
}

/* ---- after remote ops ------------------------------------------------------ */

typedef struct {
    weft_bsatn_buf_t keys; /* (u32 len, key)... */
    size_t n;
} keys_t;

static int key_visit(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                     size_t val_len)
{
    keys_t *b = user;
    uint32_t n = (uint32_t)key_len;
    (void)val, (void)val_len;
    weft_bsatn_put_raw(&b->keys, &n, 4);
    weft_bsatn_put_raw(&b->keys, key, key_len);
    return ++b->n == 256 || b->keys.err;
}

/* Every register of table tid, 256 keys at a time (settling writes, which
 * a scan may not do while it runs). */
static int settle_table(const weft_schema_t *s, weft_txn_t *txn, const uint8_t *ctx,
                        size_t ctx_len, uint32_t tid, weft_tables_change_fn fn, void *user)
{
    const schema_table_t *tab = tables_table(s, tid);
    weft_bsatn_buf_t pre, last;
    keys_t b;
    int rc;
    weft_bsatn_buf_init(&pre);
    weft_bsatn_buf_init(&last);
    weft_bsatn_buf_init(&b.keys);
    reg_key(tab, NULL, 0, &pre);
    rc = pre.err;
    while (rc == 0) {
        b.keys.len = 0;
        b.n = 0;
        rc = weft_txn_scan(txn, WEFT_SPACE_CRDT, ctx, ctx_len, pre.p, pre.len, last.p, last.len,
                           key_visit, &b);
        if (rc == 0) rc = b.keys.err;
        if (rc != 0 || b.n == 0) break;
        for (size_t at = 0; rc == 0 && at < b.keys.len;) {
            uint32_t kl;
            memcpy(&kl, b.keys.p + at, 4);
            const uint8_t *k = b.keys.p + at + 4;
            rc = tables_repl_settle(txn, ctx, ctx_len, tab, tid, k + pre.len, kl - pre.len, fn,
                                    user);
            last.len = 0;
            weft_bsatn_put_raw(&last, k, kl);
            at += 4 + kl;
        }
        if (rc == 0) rc = last.err;
        if (b.n < 256) break;
    }
    weft_bsatn_buf_fini(&pre);
    weft_bsatn_buf_fini(&last);
    weft_bsatn_buf_fini(&b.keys);
    return rc;
}

int weft_tables_repl_apply(const weft_schema_t *s, weft_txn_t *txn, const uint8_t *ctx,
                           size_t ctx_len, const uint8_t *key, size_t key_len,
                           weft_tables_change_fn fn, void *user)
{
    if (!key) {
        int rc = 0;
        for (uint32_t tid = 0; rc == 0 && tid < s->ntables; tid++)
            if (s->tables[tid].replicated)
                rc = settle_table(s, txn, ctx, ctx_len, tid, fn, user);
        return rc;
    }
    if (key_len <= PREFIX_LEN || memcmp(key, PREFIX, PREFIX_LEN) != 0) return 0;
    const uint8_t *name = key + PREFIX_LEN, *end = memchr(name, 0, key_len - PREFIX_LEN);
    if (!end) return 0;
    int tid = weft_schema_table_find(s, (const char *)name, (size_t)(end - name));
    if (tid < 0 || !s->tables[tid].replicated) return 0; /* not a table of this schema */
    return tables_repl_settle(txn, ctx, ctx_len, &s->tables[tid], (uint32_t)tid, end + 1,
                              key_len - (size_t)(end + 1 - key), fn, user);
}
