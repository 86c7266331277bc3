/*
 * bench/cosmbench_guest.c — the Cosmictron side of cosmbench.c: reducers
 * that insert, look up and scan N rows through datastore in one call each.
 *
 * Tables: plain {id: u32 pk, val: bytes} with by_id (the primary key's
 * index: a point lookup is index_scan [k, k]); indexed {id: u32 pk, tag:
 * u32, val: bytes} with by_tag (a secondary index). Values are 24 bytes.
 * Each reducer takes {n: u32}; lookups visit the keys in the driver's
 * order (k = i * 7919 mod n) and fold what they read into a checksum the
 * driver compares with its LMDB baseline's (logged as "sum HEX").
 */
#include <stdio.h>
#include <string.h>

#include "cosmictron.h"

static const cosm_column_t plain_cols[] = {{"id", COSM_T(COSM_U32)}, {"val", COSM_T(COSM_BYTES)}};
static const cosm_column_t indexed_cols[] = {
    {"id", COSM_T(COSM_U32)}, {"tag", COSM_T(COSM_U32)}, {"val", COSM_T(COSM_BYTES)}};
static const cosm_index_t plain_idx[] = {{"by_id", {0}, 1}};
static const cosm_index_t indexed_idx[] = {{"by_tag", {1}, 1}};
static const cosm_table_t tables[] = {
    {"plain", plain_cols, 2, 0, NULL, 0, plain_idx, 1, 1, -1, 0},
    {"indexed", indexed_cols, 3, 0, NULL, 0, indexed_idx, 1, 1, -1, 0},
};
static const cosm_column_t n_args[] = {{"n", COSM_T(COSM_U32)}};
static const cosm_reducer_t reducers[] = {
    {"fill_plain", n_args, 1}, {"fill_indexed", n_args, 1}, {"lookup", n_args, 1},
    {"scan_tag", n_args, 1},   {"scan_pk", n_args, 1},
};
COSM_MODULE(tables, 2, reducers, 5)

static uint8_t row[64], out[64];

static void val_of(uint32_t i, uint8_t v[24])
{
    for (int k = 0; k < 24; k++) v[k] = (uint8_t)(i * 31u + (uint32_t)k);
}

static void report(uint64_t sum)
{
    char m[40];
    snprintf(m, sizeof m, "sum %016llx", (unsigned long long)sum);
    cosm_log(COSM_INFO, m);
}

/* n rows into table 0 (plain) or 1 (indexed: with a tag) */
static int32_t fill(int32_t table, uint32_t n)
{
    uint8_t v[24];
    for (uint32_t i = 0; i < n; i++) {
        cosm_buf_t b;
        cosm_buf_init(&b, row, sizeof row);
        cosm_put_u32(&b, i);
        if (table == 1) cosm_put_u32(&b, i * 2654435761u);
        val_of(i, v);
        cosm_put_bytes(&b, v, 24);
        if (datastore_insert(table, b.p, b.len) != COSM_OK) return 1;
    }
    return 0;
}

COSM_REDUCER(fill_plain)
{
    return fill(0, cosm_get_u32(args));
}

COSM_REDUCER(fill_indexed)
{
    return fill(1, cosm_get_u32(args));
}

COSM_REDUCER(lookup)
{
    uint32_t n = cosm_get_u32(args);
    uint64_t sum = 0;
    uint8_t range[10] = {COSM_BOUND_INCLUDED, 0, 0, 0, 0, COSM_BOUND_INCLUDED, 0, 0, 0, 0};
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = (uint32_t)((uint64_t)i * 7919u % n);
        memcpy(range + 1, &k, 4); /* wasm32 is little-endian, as BSATN */
        memcpy(range + 6, &k, 4);
        int64_t it = datastore_index_scan(0, 0, range, sizeof range);
        int32_t r = datastore_iter_next(it, out, sizeof out);
        datastore_iter_close(it);
        if (r != 32) return 2;
        sum = sum * 1099511628211ull ^ out[8 + (k % 24)];
    }
    report(sum);
    return 0;
}

static int32_t scan(int32_t table, int32_t index, uint32_t n)
{
    static const uint8_t all[2] = {COSM_BOUND_UNBOUNDED, COSM_BOUND_UNBOUNDED};
    int64_t it = datastore_index_scan(table, index, all, 2);
    uint64_t sum = 0;
    uint32_t rows = 0;
    int32_t r;
    while ((r = datastore_iter_next(it, out, sizeof out)) > 0) {
        sum += out[0] + out[r - 1];
        rows++;
    }
    datastore_iter_close(it);
    report(sum);
    return rows == n ? 0 : 3;
}

COSM_REDUCER(scan_tag)
{
    return scan(1, 0, cosm_get_u32(args));
}

COSM_REDUCER(scan_pk)
{
    return scan(0, 0, cosm_get_u32(args));
}
