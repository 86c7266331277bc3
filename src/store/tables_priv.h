/*
 * tables_priv.h — the parsed schema shared by tables_schema.c (parsing,
 * lookups) and tables.c (rows, keys, iterators). Everything here points
 * into the schema's own copy of the description, so a schema is one
 * allocation of bytes plus these arrays, immutable once parsed.
 */
#ifndef WEFT_TABLES_PRIV_H
#define WEFT_TABLES_PRIV_H

#include "weft/tables.h"

#define MAX_COLUMNS 64u
#define MAX_INDEXES 16u
#define MAX_INDEX_COLUMNS 8u

typedef struct {
    char name[WEFT_TABLES_MAX_NAME + 1];
    const uint8_t *type;
    size_t type_len;
} schema_col_t;

typedef struct {
    char name[WEFT_TABLES_MAX_NAME + 1];
    uint8_t pre[2 * WEFT_TABLES_MAX_NAME + 3]; /* 'i' table 0 index 0: its entries' keys start so */
    size_t pre_len;
    uint32_t cols[MAX_INDEX_COLUMNS];
    size_t ncols;
    /* the index is the primary key alone: served by the rows themselves
     * (their keys are the primary key's), with no entries of its own */
    int on_pk;
} schema_index_t;

typedef struct {
    char name[WEFT_TABLES_MAX_NAME + 1];
    uint8_t row_pre[WEFT_TABLES_MAX_NAME + 2]; /* 'r' name 0: its rows' keys start so */
    size_t row_pre_len;
    const uint8_t *row; /* the row type: a Struct of the columns */
    size_t row_len;
    schema_col_t cols[MAX_COLUMNS];
    size_t ncols;
    int pk;    /* primary key column, or -1 */
    int owner; /* owner column (bytes) of a private table, or -1 */
    int public_;
    int replicated; /* rows converge across the context's nodes (version 2) */
    uint32_t unique[MAX_COLUMNS];
    size_t nunique;
    schema_index_t idx[MAX_INDEXES];
    size_t nidx;
} schema_table_t;

typedef struct {
    char name[WEFT_TABLES_MAX_NAME + 1];
    const uint8_t *args; /* a Struct type, or NULL */
    size_t args_len;
} schema_reducer_t;

struct weft_schema {
    uint32_t version;
    uint8_t *bytes;
    size_t len;
    schema_table_t *tables;
    size_t ntables;
    schema_reducer_t *reducers;
    size_t nreducers;
};

/* The table with id tid, or NULL. */
const schema_table_t *tables_table(const weft_schema_t *s, uint32_t tid);

/* Splits a row (a checked value of t's row type) into its columns:
 * off[i], len[i] for each column. Returns 0 or WEFT_EMALFORMED. */
int tables_columns(const schema_table_t *t, const uint8_t *row, size_t len, size_t *off,
                   size_t *lens);

/* tables.c: the keys of rows and unique entries, a row's entries written
 * or deleted without checks. */
void tables_row_prefix(const schema_table_t *tab, weft_bsatn_buf_t *out);
int tables_unique_key(const schema_table_t *tab, uint32_t col, const uint8_t *row,
                      const size_t *off, const size_t *lens, weft_bsatn_buf_t *out);
int tables_entries_write(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                         const schema_table_t *tab, const uint8_t *rk, size_t rk_len,
                         const uint8_t *row, size_t len, int del);

/* tables_repl.c: replicated tables (docs/cosmictron.md "Replicated
 * tables"). fits: whether a row's CRDT key and value are within the CRDT
 * store's bounds; write: a call's insert (row) or delete (row NULL) as
 * this node's op on the row's register; settle: brings the table's rows,
 * and the rows its unique values tie it to, in line with the registers,
 * calling fn (may be NULL) for each row shown ('i') or hidden ('d'). */
int tables_repl_fits(const schema_table_t *tab, size_t rk_len, size_t row_len);
int tables_repl_write(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                      const uint8_t origin[32], const schema_table_t *tab, const uint8_t *rk,
                      size_t rk_len, const uint8_t *row, size_t len);
int tables_repl_settle(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                       const schema_table_t *tab, uint32_t tid, const uint8_t *rk, size_t rk_len,
                       weft_tables_change_fn fn, void *user);

/* Formats msg (when not NULL) and returns WEFT_EARG: a refused schema. */
int tables_fail(char *msg, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
