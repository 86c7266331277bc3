/*
 * weft/tables.h — typed tables over the store: a schema of tables with
 * BSATN rows (weft/bsatn.h), primary keys, unique columns and B-tree range
 * indexes, kept in WEFT_SPACE_TABLES of a context (weft/db.h). The
 * Cosmictron ABI (weft/cosmictron.h) is its first user; nothing in it is
 * specific to that ABI beyond the result codes, whose values are the
 * document's so a binding passes them through.
 *
 * A schema (weft_schema_t) is parsed once from a module's description
 * (docs/cosmictron.md, "Schema") and is immutable: share it between
 * threads and calls. A weft_tables_t binds a schema to a context and runs
 * one call at a time inside the embedder's transaction
 * (weft_tables_begin_call ... weft_tables_end_call); it holds the call's
 * iterators, which end with the call.
 *
 * Layout in WEFT_SPACE_TABLES, per context, by table *name* (so a
 * redeploy that adds a table or reorders them keeps the data):
 *   'r' table 0x00 rowkey                 -> the row (BSATN)
 *   'u' table 0x00 column 0x00 key(value) -> rowkey     (unique columns)
 *   'i' table 0x00 index 0x00 key(cols) rowkey -> rowkey (indexes)
 *   'n' table                             -> u64 BE, last row number
 *   'R' table 0x00 rowkey, 'U' table 0x00 column 0x00 key(value) rowkey
 *                                         (replicated tables: tables_repl.c)
 * where rowkey is the order-preserving key (weft_bsatn_key) of the primary
 * key's value, or for a table without one a u64 BE row number. The kind
 * byte 'S' is left to embedders (the Cosmictron binding keeps its
 * schedules under it). A whole key is at most WEFT_DB_KEY_MAX bytes: a
 * row whose key would be longer is refused (WEFT_TABLE_EINVAL).
 *
 * Results: 0, a positive WEFT_TABLE_* code (the guest-visible outcome), or
 * a negative WEFT_E* store error (weft_db_errmsg says more; the embedder
 * aborts the transaction, and retries the call when weft_db_retryable).
 *
 * Thread safety: a weft_schema_t may be shared; a weft_tables_t serves one
 * call at a time.
 */
#ifndef WEFT_TABLES_H
#define WEFT_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "bsatn.h"
#include "db.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Outcomes (the Cosmictron document's error codes 1-5, 7 and 9). */
enum {
    WEFT_TABLE_OK = 0,
    WEFT_TABLE_ENOTFOUND = 1, /* no row with that key */
    WEFT_TABLE_EUNIQUE = 2,   /* a primary key or unique column already holds the value */
    WEFT_TABLE_ETYPE = 3,     /* the bytes are not a value of the declared type */
    WEFT_TABLE_ENOTABLE = 4,  /* no table (or index) with that id */
    WEFT_TABLE_EDENIED = 5,   /* row-level security: the row belongs to another identity */
    WEFT_TABLE_ELIMIT = 7,    /* too many open iterators */
    WEFT_TABLE_EINVAL = 9,    /* a malformed argument, unknown or closed handle, key too long */
    /* weft_tables_next only: the row is longer than the caller's room */
    WEFT_TABLE_ETOOSMALL = 100,
};

#define WEFT_SCHEMA_VERSION 1u
/* Version 2: each TableDef ends with `replicated: bool` (docs/cosmictron.md
 * "Replicated tables"); both are read. */
#define WEFT_SCHEMA_VERSION_REPL 2u
#define WEFT_TABLES_MAX_ROW (1024u * 1024u)
#define WEFT_TABLES_MAX_NAME 63u
#define WEFT_TABLES_MAX_ITERS 1024u
/* The index-scan range's bound kinds (docs/cosmictron.md). */
enum { WEFT_BOUND_INCLUDED = 0, WEFT_BOUND_EXCLUDED = 1, WEFT_BOUND_UNBOUNDED = 2 };

typedef struct weft_schema weft_schema_t;
typedef struct weft_tables weft_tables_t;

/* Parses a module description (the BSATN ModuleDef of docs/cosmictron.md)
 * and checks it: names, column types, key columns in range, an owner
 * column of type bytes. Returns 0 with *out owned by the caller
 * (weft_schema_delete), WEFT_EARG with msg naming what is wrong, or
 * WEFT_ENOMEM. The schema keeps its own copy of the bytes. */
int weft_schema_parse(const uint8_t *p, size_t len, weft_schema_t **out, char *msg,
                      size_t msg_size);
void weft_schema_delete(weft_schema_t *s);
/* The description it was parsed from (borrowed). */
const uint8_t *weft_schema_bytes(const weft_schema_t *s, size_t *out_len);

size_t weft_schema_table_count(const weft_schema_t *s);
/* The id (0-based position) of the table called name, or -1. */
int weft_schema_table_find(const weft_schema_t *s, const char *name, size_t len);
/* A table's name (NUL-terminated, borrowed), its row type (a Struct type,
 * borrowed), whether it is public. NULL / 0 for an id out of range. */
const char *weft_schema_table_name(const weft_schema_t *s, size_t tid);
const uint8_t *weft_schema_row_type(const weft_schema_t *s, size_t tid, size_t *out_len);
int weft_schema_table_public(const weft_schema_t *s, size_t tid);
/* Whether table tid is replicated (docs/cosmictron.md "Replicated tables"). */
int weft_schema_table_replicated(const weft_schema_t *s, size_t tid);
/* The id of table tid's index called name, or -1. */
int weft_schema_index_find(const weft_schema_t *s, size_t tid, const char *name, size_t len);
/* The key columns of index iid of table tid, or for iid < 0 of its
 * primary key: returns their number (0 for no such index, or no primary
 * key) and, when i is below it, column i's name and type (borrowed). */
size_t weft_schema_key_column(const weft_schema_t *s, size_t tid, int iid, size_t i,
                              const char **out_name, const uint8_t **out_type, size_t *out_len);

size_t weft_schema_reducer_count(const weft_schema_t *s);
/* The i-th reducer's name (borrowed) and argument type (a Struct type
 * whose fields are the arguments, borrowed; NULL for no arguments). */
const char *weft_schema_reducer_name(const weft_schema_t *s, size_t i);
const uint8_t *weft_schema_reducer_args(const weft_schema_t *s, size_t i, size_t *out_len);
int weft_schema_reducer_find(const weft_schema_t *s, const char *name, size_t len);

/* Appends a text description of the schema (one line per table and
 * reducer) to out, for `weft inspect`. Returns 0 or WEFT_ENOMEM. */
int weft_schema_describe(const weft_schema_t *s, weft_bsatn_buf_t *out);

/* Binds `schema` (borrowed: it must outlive t) to context `ctx` (copied,
 * 1..255 bytes). Returns 0, WEFT_EARG or WEFT_ENOMEM. */
int weft_tables_new(const weft_schema_t *schema, const uint8_t *ctx, size_t ctx_len,
                    weft_tables_t **out);
void weft_tables_delete(weft_tables_t *t);

/* Starts a call in `txn` (borrowed until end_call; a read transaction for
 * a view, where writes give WEFT_EARG) as `identity` (copied; the owner
 * compared with private tables' owner columns; may be empty). */
void weft_tables_begin_call(weft_tables_t *t, weft_txn_t *txn, const uint8_t *identity,
                            size_t identity_len);
/* Ends the call: every iterator is closed, the transaction forgotten. */
void weft_tables_end_call(weft_tables_t *t);

/* Inserts a row (the BSATN value of the table's row type, nothing more).
 * ETYPE when it is not one, ENOTABLE, EUNIQUE, EDENIED (a private table's
 * owner column is not the call's identity), EINVAL (a key too long). */
int weft_tables_insert(weft_tables_t *t, uint32_t tid, const uint8_t *row, size_t len);
/* Deletes the row whose primary key is the BSATN value pk: 0, ENOTFOUND,
 * ETYPE, ENOTABLE, EDENIED, EINVAL (the table has no primary key). */
int weft_tables_delete_pk(weft_tables_t *t, uint32_t tid, const uint8_t *pk, size_t len);

/* The row the last successful weft_tables_delete_pk removed (borrowed
 * until the next call into t). */
void weft_tables_deleted_row(const weft_tables_t *t, const uint8_t **out_row, size_t *out_len);

/* Opens an iterator over every row of table tid in primary key order
 * (insertion order without one); *out_handle > 0. ENOTABLE, ELIMIT. */
int weft_tables_scan(weft_tables_t *t, uint32_t tid, uint64_t *out_handle);
/* Opens an iterator over the rows whose index iid's key lies in the range
 * (two bounds, docs/cosmictron.md), in index order. ENOTABLE (no such
 * table or index), ETYPE (a bound is not a value of the key's type),
 * EINVAL (malformed range), ELIMIT. */
int weft_tables_index_scan(weft_tables_t *t, uint32_t tid, uint32_t iid, const uint8_t *range,
                           size_t len, uint64_t *out_handle);
/* The same over index iid, or for iid < 0 the primary key (declared as an
 * index or not; EINVAL for a table without one). */
int weft_tables_range_scan(weft_tables_t *t, uint32_t tid, int iid, const uint8_t *range,
                           size_t len, uint64_t *out_handle);
/* Whether row (a value of table tid's row type) lies in `range` of index
 * iid (iid < 0: the primary key), as a range scan would decide: 1 or 0;
 * ETYPE (a row or bound not of its type), ENOTABLE, EINVAL (malformed
 * range, no primary key) or a store error. */
int weft_tables_range_contains(const weft_schema_t *s, uint32_t tid, int iid,
                               const uint8_t *range, size_t range_len, const uint8_t *row,
                               size_t len);
/* The iterator's next row: 0 with *out_row (borrowed until the next call
 * into t or a write) and *out_len; WEFT_TABLE_ENOTFOUND when exhausted;
 * WEFT_TABLE_ETOOSMALL when the row is longer than cap (*out_len is its
 * length; the iterator stays on it); EINVAL for an unknown or closed
 * handle. Rows the call wrote after the iterator was opened are seen when
 * they lie ahead of it. */
int weft_tables_next(weft_tables_t *t, uint64_t handle, size_t cap, const uint8_t **out_row,
                     size_t *out_len);
/* Closes an iterator: 0, or EINVAL for an unknown or closed handle. */
int weft_tables_close(weft_tables_t *t, uint64_t handle);

/* A page of table tid's rows as JSON objects (weft_bsatn_json), for
 * clients: up to `limit` rows in primary order, after the opaque cursor
 * `after` (a rowkey from an earlier *out_next; NULL/0 at first), appended
 * to out as a JSON array; *out_next (reset) gets the cursor of the next
 * page, or stays empty when no row is left. Private tables are refused
 * (EDENIED): a client is not the module. txn is the embedder's (a read
 * transaction will do). */
int weft_tables_read_json(const weft_schema_t *s, weft_txn_t *txn, const uint8_t *ctx,
                          size_t ctx_len, uint32_t tid, const uint8_t *after, size_t after_len,
                          size_t limit, weft_bsatn_buf_t *out, weft_bsatn_buf_t *out_next);

/* A page of table tid's rows in the order of index iid (iid < 0: the
 * primary key, declared as an index or not) within `range` (two bounds,
 * encoded as for weft_tables_index_scan), after the cursor `after` (the
 * index entry's key from an earlier *out_next; NULL/0 at first); output
 * as weft_tables_read_json's. ENOTABLE (no such table or index), EDENIED
 * (a private table), ETYPE (a bound not of the key's type), EINVAL (a
 * malformed range, a cursor before the range, or iid < 0 on a table
 * without primary key). A cursor is only a position: a forged one starts
 * the page elsewhere in the range, never outside it. */
int weft_tables_range_json(const weft_schema_t *s, weft_txn_t *txn, const uint8_t *ctx,
                           size_t ctx_len, uint32_t tid, int iid, const uint8_t *range,
                           size_t range_len, const uint8_t *after, size_t after_len, size_t limit,
                           weft_bsatn_buf_t *out, weft_bsatn_buf_t *out_next);

/* ---- replicated tables (docs/cosmictron.md "Replicated tables") ----------
 * A replicated table's rows are last-writer-wins registers of the CRDT
 * store (weft/crdt_store.h), one a row under the key
 * WEFT_TABLES_REPL_PREFIX table 0x00 rowkey (value 0x01 row, or 0x00 for
 * a deleted row), replicated with the context by sync. A row is shown
 * when its register holds it and, for each unique column, its write is
 * the newest (by stamp) of the live rows holding that value: the same
 * rows on every node whatever the order the ops came in. */
#define WEFT_TABLES_REPL_PREFIX "__nx/t/"

/* A row shown ('i') or hidden ('d') by the replication rules. */
typedef void (*weft_tables_change_fn)(void *user, uint32_t tid, int op, const uint8_t *row,
                                      size_t len);
/* The node id (32 bytes, copied) a call's writes of replicated tables are
 * stamped with as CRDT ops; NULL (the default): they are written as a
 * local table's, with no op. */
void weft_tables_set_origin(weft_tables_t *t, const uint8_t *origin);
/* fn is told of the rows a call's write of a replicated table shows or
 * hides besides its own (a row whose unique value the deleted row held). */
void weft_tables_observe(weft_tables_t *t, weft_tables_change_fn fn, void *user);
/* After the CRDT store applied a remote op on `key` of context ctx in txn:
 * when the key is a row of a replicated table of s, the table's rows are
 * brought in line with the registers (fn, may be NULL, told of each row
 * shown or hidden). key NULL: every row of every replicated table (after
 * a snapshot). Returns 0 or a store error. */
int weft_tables_repl_apply(const weft_schema_t *s, weft_txn_t *txn, const uint8_t *ctx,
                           size_t ctx_len, const uint8_t *key, size_t key_len,
                           weft_tables_change_fn fn, void *user);

/* Moves the rows of context ctx from schema `from` to schema `to` (a
 * redeploy, docs/cosmictron.md "Schema changes"), in the embedder's write
 * transaction txn (NULL: only check). Compatible: every table of `from`
 * kept with its columns as a prefix of the new ones (same names, same
 * types), the new columns Options, the same primary key, unique columns
 * and owner column; tables may be added, indexes added or dropped, the
 * public flag changed. Rows of a table that gained columns are rewritten
 * with None in them, new indexes are built and dropped ones' entries
 * deleted: O(rows of the tables that changed). Returns 0, WEFT_EARG with
 * msg naming the table and column of an incompatible change, or a store
 * error. */
int weft_tables_migrate(const weft_schema_t *from, const weft_schema_t *to, weft_txn_t *txn,
                        const uint8_t *ctx, size_t ctx_len, char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif
#endif
