/*
 * sdk/cosmictron.h — C SDK for the Cosmictron ABI (`datastore`, `cosm`,
 * `console`), for guests.
 *
 * Declares every import with the document's signature
 * (../shared/abi/cosmictron-wasm-abi.txt; weft's decisions where it is
 * silent are in docs/cosmictron.md), then a BSATN writer and reader, and
 * the module glue: tables and reducers declared as data, COSM_MODULE to
 * export the schema (__describe_module__) and the argument allocator
 * (__cosm_alloc), COSM_REDUCER to export a reducer. Compile with clang
 * --target=wasm32-wasi -mexec-model=reactor and -I path/to/sdk:
 *
 *   static const cosm_column_t person[] = {{"id", COSM_T(COSM_U32)},
 *                                          {"name", COSM_T(COSM_STRING)}};
 *   static const cosm_table_t tables[] = {{"person", person, 2, .pk = 0,
 *                                          .public_ = 1, .owner = -1}};
 *   static const cosm_column_t add_args[] = {{"name", COSM_T(COSM_STRING)}};
 *   static const cosm_reducer_t reducers[] = {{"add", add_args, 1}};
 *   COSM_MODULE(tables, 1, reducers, 1)
 *   COSM_REDUCER(add) { ... read args with cosm_get_*; return 0; }
 *
 * Results: functions returning a code give 0 or COSM_ERR_*; those
 * returning a count, id or handle give it (>= 0) or -COSM_ERR_*.
 */
#ifndef WEFT_SDK_COSMICTRON_H
#define WEFT_SDK_COSMICTRON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define COSM_IMPORT(m, n) __attribute__((import_module(m), import_name(n)))

/* The document's error codes. */
#define COSM_OK 0
#define COSM_ERR_NOT_FOUND 1
#define COSM_ERR_UNIQUE 2
#define COSM_ERR_TYPE 3
#define COSM_ERR_NO_TABLE 4
#define COSM_ERR_DENIED 5
#define COSM_ERR_FUEL 6
#define COSM_ERR_MEMORY 7
#define COSM_ERR_CONFLICT 8
#define COSM_ERR_INVALID 9

/* iter_next needs at least this much room (else -COSM_ERR_INVALID). */
#define COSM_MIN_ROW_BUF 16u
#define COSM_IDENTITY_LEN 32u

/* Index-scan bound kinds (docs/cosmictron.md). */
#define COSM_BOUND_INCLUDED 0
#define COSM_BOUND_EXCLUDED 1
#define COSM_BOUND_UNBOUNDED 2

#define COSM_TRACE 0
#define COSM_DEBUG 1
#define COSM_INFO 2
#define COSM_WARN 3
#define COSM_ERROR 4

/* ---- datastore ---------------------------------------------------------- */
COSM_IMPORT("datastore", "insert")
int32_t datastore_insert(int32_t table_id, const void *row, uint32_t row_len);
COSM_IMPORT("datastore", "delete_by_pk")
int32_t datastore_delete_by_pk(int32_t table_id, const void *pk, uint32_t pk_len);
COSM_IMPORT("datastore", "scan") int64_t datastore_scan(int32_t table_id);
COSM_IMPORT("datastore", "index_scan")
int64_t datastore_index_scan(int32_t table_id, int32_t index_id, const void *range,
                             uint32_t range_len);
/* > 0 bytes of one row written; 0 exhausted; -n: the row needs n bytes
 * (nothing written, call again with room); -COSM_ERR_INVALID. */
COSM_IMPORT("datastore", "iter_next")
int32_t datastore_iter_next(int64_t iter, void *out, uint32_t out_len);
COSM_IMPORT("datastore", "iter_close") void datastore_iter_close(int64_t iter);
COSM_IMPORT("datastore", "table_id_from_name")
int32_t datastore_table_id_from_name(const char *name, uint32_t name_len);

/* ---- cosm --------------------------------------------------------------- */
COSM_IMPORT("cosm", "sender_identity") int32_t cosm_sender_identity(void *out, uint32_t out_len);
COSM_IMPORT("cosm", "timestamp") int64_t cosm_timestamp(void);
COSM_IMPORT("cosm", "schedule_reducer")
int64_t cosm_schedule_reducer(const char *reducer, uint32_t reducer_len, const void *args,
                              uint32_t args_len, int64_t delay_micros);
COSM_IMPORT("cosm", "cancel_reducer") void cosm_cancel_reducer(int64_t handle);
/* req: BSATN HttpRequest {method, url, headers: Vec<{name, value}>, body};
 * 0 with BSATN HttpResponse {status: u16, headers, body} in out (status 0:
 * no answer, the reason as body), 5 when the node's allowlist says no, 9
 * with the length needed in out[0..4] when out is too small (ask again:
 * the response is kept for the call). docs/http-client.md */
COSM_IMPORT("cosm", "http_request")
int32_t cosm_http_request(const void *req, uint32_t req_len, void *out, uint32_t out_len);

/* ---- console ------------------------------------------------------------ */
COSM_IMPORT("console", "log") void console_log(int32_t level, const char *msg, uint32_t len);

static inline void cosm_log(int32_t level, const char *msg)
{
    console_log(level, msg, (uint32_t)strlen(msg));
}

static inline int32_t cosm_table_id(const char *name)
{
    return datastore_table_id_from_name(name, (uint32_t)strlen(name));
}

/* ---- BSATN: types --------------------------------------------------------- */
/* A type is bytes: these tags, Option/Vec followed by the element type,
 * Struct by a u32 field count and (name, type) per field. As C string
 * literals: COSM_OPTION COSM_STRING is Option<String>. */
#define COSM_U8 "\x00"
#define COSM_U16 "\x01"
#define COSM_U32 "\x02"
#define COSM_U64 "\x03"
#define COSM_I8 "\x08"
#define COSM_I16 "\x09"
#define COSM_I32 "\x0a"
#define COSM_I64 "\x0b"
#define COSM_BOOL "\x10"
#define COSM_STRING "\x11"
#define COSM_BYTES "\x12"
#define COSM_OPTION "\x20"
#define COSM_VEC "\x30"
#define COSM_STRUCT "\x40"
/* a type literal with its length (literals may hold NULs) */
#define COSM_T(lit) {(const uint8_t *)(lit), sizeof(lit) - 1}

typedef struct {
    const uint8_t *p;
    uint32_t len;
} cosm_type_t;

/* ---- BSATN: writing -------------------------------------------------------- */
/* Writes into a caller's array; `over` is set (and nothing more written)
 * when it is full. */
typedef struct {
    uint8_t *p;
    uint32_t len, cap;
    int over;
} cosm_buf_t;

static inline void cosm_buf_init(cosm_buf_t *b, void *p, uint32_t cap)
{
    b->p = (uint8_t *)p;
    b->len = 0;
    b->cap = cap;
    b->over = 0;
}

static inline void cosm_put_raw(cosm_buf_t *b, const void *p, uint32_t n)
{
    if (b->over || n > b->cap - b->len) {
        b->over = 1;
        return;
    }
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
}

static inline void cosm_put_le(cosm_buf_t *b, uint64_t v, int n)
{
    uint8_t x[8];
    for (int i = 0; i < n; i++) x[i] = (uint8_t)(v >> (8 * i));
    cosm_put_raw(b, x, (uint32_t)n);
}

static inline void cosm_put_u8(cosm_buf_t *b, uint8_t v) { cosm_put_le(b, v, 1); }
static inline void cosm_put_u16(cosm_buf_t *b, uint16_t v) { cosm_put_le(b, v, 2); }
static inline void cosm_put_u32(cosm_buf_t *b, uint32_t v) { cosm_put_le(b, v, 4); }
static inline void cosm_put_u64(cosm_buf_t *b, uint64_t v) { cosm_put_le(b, v, 8); }
static inline void cosm_put_i8(cosm_buf_t *b, int8_t v) { cosm_put_le(b, (uint8_t)v, 1); }
static inline void cosm_put_i16(cosm_buf_t *b, int16_t v) { cosm_put_le(b, (uint16_t)v, 2); }
static inline void cosm_put_i32(cosm_buf_t *b, int32_t v) { cosm_put_le(b, (uint32_t)v, 4); }
static inline void cosm_put_i64(cosm_buf_t *b, int64_t v) { cosm_put_le(b, (uint64_t)v, 8); }
static inline void cosm_put_bool(cosm_buf_t *b, int v) { cosm_put_u8(b, v ? 1 : 0); }
static inline void cosm_put_bytes(cosm_buf_t *b, const void *p, uint32_t n)
{
    cosm_put_u32(b, n);
    cosm_put_raw(b, p, n);
}
static inline void cosm_put_str(cosm_buf_t *b, const char *s)
{
    cosm_put_bytes(b, s, (uint32_t)strlen(s));
}
/* Option: cosm_put_none, or cosm_put_some then the value. Vec: the count
 * (cosm_put_u32), then the elements. Struct: the fields in order. */
static inline void cosm_put_none(cosm_buf_t *b) { cosm_put_u8(b, 0); }
static inline void cosm_put_some(cosm_buf_t *b) { cosm_put_u8(b, 1); }

/* ---- BSATN: reading -------------------------------------------------------- */
/* `err` is set on a read past the end; every later read gives zero. */
typedef struct {
    const uint8_t *p;
    uint32_t len, off;
    int err;
} cosm_rd_t;

static inline void cosm_rd_init(cosm_rd_t *r, const void *p, uint32_t len)
{
    r->p = (const uint8_t *)p;
    r->len = len;
    r->off = 0;
    r->err = 0;
}

static inline const uint8_t *cosm_get_raw(cosm_rd_t *r, uint32_t n)
{
    if (r->err || n > r->len - r->off) {
        r->err = 1;
        return NULL;
    }
    r->off += n;
    return r->p + r->off - n;
}

static inline uint64_t cosm_get_le(cosm_rd_t *r, int n)
{
    const uint8_t *p = cosm_get_raw(r, (uint32_t)n);
    uint64_t v = 0;
    if (!p) return 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline uint8_t cosm_get_u8(cosm_rd_t *r) { return (uint8_t)cosm_get_le(r, 1); }
static inline uint16_t cosm_get_u16(cosm_rd_t *r) { return (uint16_t)cosm_get_le(r, 2); }
static inline uint32_t cosm_get_u32(cosm_rd_t *r) { return (uint32_t)cosm_get_le(r, 4); }
static inline uint64_t cosm_get_u64(cosm_rd_t *r) { return cosm_get_le(r, 8); }
static inline int32_t cosm_get_i32(cosm_rd_t *r) { return (int32_t)cosm_get_u32(r); }
static inline int64_t cosm_get_i64(cosm_rd_t *r) { return (int64_t)cosm_get_u64(r); }
/* A String or bytes value: a pointer into the input and its length. */
static inline const uint8_t *cosm_get_bytes(cosm_rd_t *r, uint32_t *len)
{
    uint32_t n = cosm_get_u32(r);
    const uint8_t *p = cosm_get_raw(r, n);
    *len = p ? n : 0;
    return p;
}

/* ---- schema --------------------------------------------------------------- */
typedef struct {
    const char *name;
    cosm_type_t type;
} cosm_column_t;

typedef struct {
    const char *name;
    uint32_t cols[8];
    uint32_t ncols;
} cosm_index_t;

typedef struct {
    const char *name;
    const cosm_column_t *cols;
    uint32_t ncols;
    int32_t pk;            /* primary key column, or -1 */
    const uint32_t *unique; /* unique columns */
    uint32_t nunique;
    const cosm_index_t *indexes; /* index ids are positions in this list */
    uint32_t nindexes;
    int public_;
    int32_t owner; /* a private table's owner column (bytes), or -1 */
    int replicated; /* rows converge across the context's nodes (needs a primary key) */
} cosm_table_t;

typedef struct {
    const char *name;
    const cosm_column_t *args;
    uint32_t nargs;
} cosm_reducer_t;

/* A Struct type of columns, as a bytes value (its u32 length first). */
static inline void cosm_put_struct_type(cosm_buf_t *b, const cosm_column_t *c, uint32_t n)
{
    uint32_t len = 1 + 4;
    for (uint32_t i = 0; i < n; i++) len += 4 + (uint32_t)strlen(c[i].name) + c[i].type.len;
    cosm_put_u32(b, len);
    cosm_put_u8(b, 0x40);
    cosm_put_u32(b, n);
    for (uint32_t i = 0; i < n; i++) {
        cosm_put_str(b, c[i].name);
        cosm_put_raw(b, c[i].type.p, c[i].type.len);
    }
}

/* The module description (docs/cosmictron.md "Schema"). */
static inline void cosm_describe(cosm_buf_t *b, const cosm_table_t *t, uint32_t nt,
                                 const cosm_reducer_t *r, uint32_t nr)
{
    cosm_put_u32(b, 2); /* version 2: tables end with their replicated flag */
    cosm_put_u32(b, nt);
    for (uint32_t i = 0; i < nt; i++) {
        cosm_put_str(b, t[i].name);
        cosm_put_struct_type(b, t[i].cols, t[i].ncols);
        if (t[i].pk >= 0) {
            cosm_put_some(b);
            cosm_put_u32(b, (uint32_t)t[i].pk);
        } else {
            cosm_put_none(b);
        }
        cosm_put_u32(b, t[i].nunique);
        for (uint32_t k = 0; k < t[i].nunique; k++) cosm_put_u32(b, t[i].unique[k]);
        cosm_put_u32(b, t[i].nindexes);
        for (uint32_t k = 0; k < t[i].nindexes; k++) {
            cosm_put_str(b, t[i].indexes[k].name);
            cosm_put_u32(b, t[i].indexes[k].ncols);
            for (uint32_t c = 0; c < t[i].indexes[k].ncols; c++)
                cosm_put_u32(b, t[i].indexes[k].cols[c]);
        }
        cosm_put_bool(b, t[i].public_);
        if (t[i].owner >= 0) {
            cosm_put_some(b);
            cosm_put_u32(b, (uint32_t)t[i].owner);
        } else {
            cosm_put_none(b);
        }
        cosm_put_bool(b, t[i].replicated);
    }
    cosm_put_u32(b, nr);
    for (uint32_t i = 0; i < nr; i++) {
        cosm_put_str(b, r[i].name);
        if (r[i].nargs)
            cosm_put_struct_type(b, r[i].args, r[i].nargs);
        else
            cosm_put_u32(b, 0);
    }
}

#ifndef COSM_DESCRIBE_MAX
#define COSM_DESCRIBE_MAX 16384u
#endif

/* Exports __describe_module__ (the description's address in the low 32
 * bits of the result, its length in the high 32) and __cosm_alloc (room
 * for a reducer's arguments, which the host writes there). */
#define COSM_MODULE(tables, ntables, reducers, nreducers)                              \
    __attribute__((export_name("__describe_module__"))) int64_t cosm_describe_module_(void) \
    {                                                                                  \
        static uint8_t d[COSM_DESCRIBE_MAX];                                           \
        cosm_buf_t b;                                                                  \
        cosm_buf_init(&b, d, sizeof d);                                                \
        cosm_describe(&b, tables, ntables, reducers, nreducers);                       \
        if (b.over) return 0;                                                          \
        return (int64_t)((uint64_t)b.len << 32 | (uint32_t)(uintptr_t)d);              \
    }                                                                                  \
    __attribute__((export_name("__cosm_alloc"))) void *cosm_alloc_(uint32_t n)         \
    {                                                                                  \
        return malloc(n ? n : 1);                                                      \
    }

/* Defines and exports reducer `name` (the export has the reducer's name):
 * its body reads the BSATN arguments from `args` and returns 0 (commit)
 * or nonzero (the call fails and its writes are discarded). */
#define COSM_REDUCER(name)                                                             \
    static int32_t cosm_reducer_##name(cosm_rd_t *args __attribute__((unused)));       \
    __attribute__((export_name(#name))) int32_t cosm_export_##name(const void *p,      \
                                                                   uint32_t len)       \
    {                                                                                  \
        cosm_rd_t r;                                                                   \
        cosm_rd_init(&r, p, len);                                                      \
        return cosm_reducer_##name(&r);                                                \
    }                                                                                  \
    static int32_t cosm_reducer_##name(cosm_rd_t *args __attribute__((unused)))

#endif
