/*
 * sdk/nx.h — C SDK for weft's `nx` ABI (the Numax host API), for guests.
 *
 * Declares every nx import with the signature of the Numax document
 * (docs/nx.md has weft's decisions where it is silent), plus inline
 * helpers (at the end): C-string variants of the calls, little-endian
 * readers, walkers for the list layouts and nx_read_all. Compile guests
 * with clang --target=wasm32-wasi (or wasm32) and -I path/to/sdk. Every
 * pointer is a guest address and every length a byte count; functions
 * return byte counts or the negative NX_ERR_* codes below.
 */
#ifndef WEFT_SDK_NX_H
#define WEFT_SDK_NX_H

#include <stddef.h>
#include <stdint.h>

#define NX_IMPORT(name) __attribute__((import_module("nx"), import_name(name)))

#define NX_OK 0
#define NX_ERR_NOT_FOUND (-1)
#define NX_ERR_BUFFER_TOO_SMALL (-2)
#define NX_ERR_BUF_TOO_SMALL NX_ERR_BUFFER_TOO_SMALL
#define NX_ERR_INTERNAL (-3)
#define NX_ERR_RESERVED_KEY (-4)
#define NX_ERR_SYNC_DISABLED (-5)

/* Limits, mirrored so guests can refuse oversized requests early. */
#define NX_MAX_KEY 1024u
#define NX_MAX_VALUE (1024u * 1024u)
#define NX_MAX_OUTPUT (10u * 1024u * 1024u)
#define NX_MAX_RANDOM (1024u * 1024u)
#define NX_MAX_LOG 8192u
#define NX_RESERVED_PREFIX "__nx/"

/* ---- database (local, not replicated) ---------------------------------- */
NX_IMPORT("db_get") int32_t nx_db_get(const void *key, uint32_t key_len, void *out, uint32_t out_cap);
NX_IMPORT("db_set") int32_t nx_db_set(const void *key, uint32_t key_len, const void *val, uint32_t val_len);
NX_IMPORT("db_delete") int32_t nx_db_delete(const void *key, uint32_t key_len);
NX_IMPORT("db_exists") int32_t nx_db_exists(const void *key, uint32_t key_len);
/* Page output: u32 row_count, then per row u32 key_len, u32 value_len, key,
 * value (little-endian). */
NX_IMPORT("db_scan") int32_t nx_db_scan(const void *prefix, uint32_t prefix_len, uint64_t cursor,
                                        uint32_t limit, void *out, uint32_t out_cap);
NX_IMPORT("db_scan_after") int32_t nx_db_scan_after(const void *prefix, uint32_t prefix_len,
                                                    const void *start_after, uint32_t start_after_len,
                                                    uint32_t limit, void *out, uint32_t out_cap);
/* Page output: u32 key_count, then per key u32 key_len, key. */
NX_IMPORT("db_keys") int32_t nx_db_keys(const void *prefix, uint32_t prefix_len, uint64_t cursor,
                                        uint32_t limit, void *out, uint32_t out_cap);
NX_IMPORT("db_keys_after") int32_t nx_db_keys_after(const void *prefix, uint32_t prefix_len,
                                                    const void *start_after, uint32_t start_after_len,
                                                    uint32_t limit, void *out, uint32_t out_cap);

/* ---- CRDTs (replicated; need sync enabled, else NX_ERR_SYNC_DISABLED) -- */
/* Counters: *_value writes 8 bytes, a u64 (gcounter) or i64 (pncounter),
 * little-endian, and returns 8; an absent counter reads 0. */
NX_IMPORT("crdt_gcounter_inc") int32_t nx_crdt_gcounter_inc(const void *key, uint32_t key_len, uint64_t delta);
NX_IMPORT("crdt_gcounter_value") int32_t nx_crdt_gcounter_value(const void *key, uint32_t key_len,
                                                                void *out, uint32_t out_cap);
NX_IMPORT("crdt_pncounter_inc") int32_t nx_crdt_pncounter_inc(const void *key, uint32_t key_len, uint64_t delta);
NX_IMPORT("crdt_pncounter_dec") int32_t nx_crdt_pncounter_dec(const void *key, uint32_t key_len, uint64_t delta);
NX_IMPORT("crdt_pncounter_value") int32_t nx_crdt_pncounter_value(const void *key, uint32_t key_len,
                                                                  void *out, uint32_t out_cap);
/* LWW register (values up to NX_MAX_VALUE). */
NX_IMPORT("crdt_lww_set") int32_t nx_crdt_lww_set(const void *key, uint32_t key_len, const void *val,
                                                  uint32_t val_len);
NX_IMPORT("crdt_lww_get") int32_t nx_crdt_lww_get(const void *key, uint32_t key_len, void *out,
                                                  uint32_t out_cap);
/* LWW map (fields up to 1024 bytes). entries output: u32 count, then per
 * visible field in bytewise order u32 field_len, field, u32 value_len, value. */
NX_IMPORT("crdt_lww_map_set") int32_t nx_crdt_lww_map_set(const void *key, uint32_t key_len,
                                                          const void *field, uint32_t field_len,
                                                          const void *val, uint32_t val_len);
NX_IMPORT("crdt_lww_map_remove") int32_t nx_crdt_lww_map_remove(const void *key, uint32_t key_len,
                                                                const void *field, uint32_t field_len);
NX_IMPORT("crdt_lww_map_get") int32_t nx_crdt_lww_map_get(const void *key, uint32_t key_len,
                                                          const void *field, uint32_t field_len,
                                                          void *out, uint32_t out_cap);
NX_IMPORT("crdt_lww_map_contains") int32_t nx_crdt_lww_map_contains(const void *key, uint32_t key_len,
                                                                    const void *field, uint32_t field_len);
NX_IMPORT("crdt_lww_map_entries") int32_t nx_crdt_lww_map_entries(const void *key, uint32_t key_len,
                                                                  void *out, uint32_t out_cap);
/* ORSet (elements up to 1024 bytes). elements output: u32 count, then per
 * visible element in bytewise order u32 len, element. */
NX_IMPORT("crdt_orset_add") int32_t nx_crdt_orset_add(const void *key, uint32_t key_len,
                                                      const void *elem, uint32_t elem_len);
NX_IMPORT("crdt_orset_remove") int32_t nx_crdt_orset_remove(const void *key, uint32_t key_len,
                                                            const void *elem, uint32_t elem_len);
NX_IMPORT("crdt_orset_contains") int32_t nx_crdt_orset_contains(const void *key, uint32_t key_len,
                                                                const void *elem, uint32_t elem_len);
NX_IMPORT("crdt_orset_elements") int32_t nx_crdt_orset_elements(const void *key, uint32_t key_len,
                                                                void *out, uint32_t out_cap);
/* RGA. An element id is text: NX_CRDT_ID_LEN ASCII bytes (lowercase base32,
 * a-z 2-7; not NUL-terminated). insert writes the new one to out_id (out_id_cap
 * at least NX_CRDT_ID_LEN, else NX_ERR_BUFFER_TOO_SMALL and nothing inserted)
 * and returns its length; parent_len 0 inserts at the head. A parent or id
 * that is not such a text is NX_ERR_INTERNAL, one this sequence does not
 * know NX_ERR_NOT_FOUND. values output: u32 count, then per visible element
 * in sequence order u32 len, value. */
#define NX_CRDT_ID_LEN 64u
NX_IMPORT("crdt_rga_insert") int32_t nx_crdt_rga_insert(const void *key, uint32_t key_len,
                                                        const void *parent, uint32_t parent_len,
                                                        const void *val, uint32_t val_len,
                                                        void *out_id, uint32_t out_id_cap);
NX_IMPORT("crdt_rga_delete") int32_t nx_crdt_rga_delete(const void *key, uint32_t key_len,
                                                        const void *id, uint32_t id_len);
NX_IMPORT("crdt_rga_values") int32_t nx_crdt_rga_values(const void *key, uint32_t key_len, void *out,
                                                        uint32_t out_cap);

/* ---- time -------------------------------------------------------------- */
NX_IMPORT("time_now") uint64_t nx_time_now(void);             /* Unix ms */
NX_IMPORT("time_monotonic") uint64_t nx_time_monotonic(void); /* ms since runtime start */

/* ---- crypto ------------------------------------------------------------ */
NX_IMPORT("random_bytes") int32_t nx_random_bytes(void *out, uint32_t out_len);
NX_IMPORT("hash_sha256") int32_t nx_hash_sha256(const void *in, uint32_t in_len, void *out, uint32_t out_cap);
NX_IMPORT("hash_blake3") int32_t nx_hash_blake3(const void *in, uint32_t in_len, void *out, uint32_t out_cap);

/* ---- system ------------------------------------------------------------ */
NX_IMPORT("env_get") int32_t nx_env_get(const void *name, uint32_t name_len, void *out, uint32_t out_cap);
NX_IMPORT("module_id") int32_t nx_module_id(void *out, uint32_t out_cap);
NX_IMPORT("host_capabilities") int32_t nx_host_capabilities(void *out, uint32_t out_cap);
NX_IMPORT("event_emit") int32_t nx_event_emit(const void *name, uint32_t name_len,
                                              const void *payload, uint32_t payload_len);
NX_IMPORT("abort") __attribute__((noreturn)) void nx_abort(const void *msg, uint32_t msg_len);

/* ---- network (need sync enabled, else NX_ERR_SYNC_DISABLED) ------------ */
/* The node id as text: NX_NODE_ID_LEN lowercase hex digits (not
 * NUL-terminated), the id weft's logs and `weft db DIR node-id` print. */
#define NX_NODE_ID_LEN 64u
NX_IMPORT("net_node_id") int32_t nx_net_node_id(void *out, uint32_t out_cap);
/* Output: u32 peer_count, then per peer u32 addr_len, u32 node_id_len,
 * addr, node_id (text, like net_node_id's); nx_page_next walks it. */
NX_IMPORT("net_peers") int32_t nx_net_peers(void *out, uint32_t out_cap);

/* ---- logging ----------------------------------------------------------- */
NX_IMPORT("host_log_v2") int32_t nx_host_log_v2(const void *msg, uint32_t msg_len);
NX_IMPORT("host_log") void nx_host_log(const void *msg, uint32_t msg_len); /* legacy */

/* ---- helpers ------------------------------------------------------------- */
/* Inline, so a guest links only what it uses. The _str variants take C
 * strings (NUL-terminated; a key or value holding a NUL byte needs the raw
 * call) and return what the raw call returns, except where noted. */

static inline uint32_t nx__strlen(const char *s)
{
    uint32_t n = 0;
    while (s[n]) n++;
    return n;
}

/* Logs a C string. */
static inline int32_t nx_log(const char *msg)
{
    return nx_host_log_v2(msg, nx__strlen(msg));
}

/* Aborts the call (its writes are discarded) with a C string message. */
static inline __attribute__((noreturn)) void nx_abort_str(const char *msg)
{
    nx_abort(msg, nx__strlen(msg));
}

/* A raw result of n bytes as a C string in buf (cap bytes, room for the
 * NUL kept): reads with cap - 1 and terminates on success. */
#define NX__STR_READ(call_with_cap)                          \
    do {                                                     \
        if (cap == 0) return NX_ERR_BUFFER_TOO_SMALL;        \
        int32_t n_ = (call_with_cap);                        \
        if (n_ >= 0) buf[n_] = '\0';                         \
        return n_;                                           \
    } while (0)

static inline int32_t nx_db_set_str(const char *key, const char *val)
{
    return nx_db_set(key, nx__strlen(key), val, nx__strlen(val));
}

/* Reads a string value into buf (cap bytes with room for the NUL). Returns
 * its length or an NX_ERR_* code. */
static inline int32_t nx_db_get_str(const char *key, char *buf, uint32_t cap)
{
    NX__STR_READ(nx_db_get(key, nx__strlen(key), buf, cap - 1));
}

static inline int32_t nx_db_delete_str(const char *key)
{
    return nx_db_delete(key, nx__strlen(key));
}

static inline int32_t nx_db_exists_str(const char *key)
{
    return nx_db_exists(key, nx__strlen(key));
}

static inline int32_t nx_emit_str(const char *name, const char *payload)
{
    return nx_event_emit(name, nx__strlen(name), payload, nx__strlen(payload));
}

/* An environment variable (only NX_* and NUMAX_* names are visible; `weft
 * run` gives the guest the variables of --env) as a C string. */
static inline int32_t nx_env_get_str(const char *name, char *buf, uint32_t cap)
{
    NX__STR_READ(nx_env_get(name, nx__strlen(name), buf, cap - 1));
}

/* The node id as a C string (NX_NODE_ID_LEN hex digits and the NUL). */
static inline int32_t nx_net_node_id_str(char buf[NX_NODE_ID_LEN + 1])
{
    uint32_t cap = NX_NODE_ID_LEN + 1;
    NX__STR_READ(nx_net_node_id(buf, cap - 1));
}

/* ---- little-endian readers (counter values, list headers) ---------------- */

static inline uint32_t nx_read_u32(const void *p)
{
    const uint8_t *b = (const uint8_t *)p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t nx_read_u64(const void *p)
{
    const uint8_t *b = (const uint8_t *)p;
    return (uint64_t)nx_read_u32(b) | (uint64_t)nx_read_u32(b + 4) << 32;
}

static inline int64_t nx_read_i64(const void *p)
{
    return (int64_t)nx_read_u64(p); /* two's complement, as the host wrote it */
}

/* ---- CRDTs with C-string keys ------------------------------------------------ */

static inline int32_t nx_crdt_gcounter_inc_str(const char *key, uint64_t delta)
{
    return nx_crdt_gcounter_inc(key, nx__strlen(key), delta);
}

/* The counter's value in *out; returns NX_OK (0) or an NX_ERR_* code. */
static inline int32_t nx_crdt_gcounter_value_str(const char *key, uint64_t *out)
{
    uint8_t b[8];
    int32_t n = nx_crdt_gcounter_value(key, nx__strlen(key), b, sizeof b);
    if (n < 0) return n;
    if (n != 8) return NX_ERR_INTERNAL;
    *out = nx_read_u64(b);
    return NX_OK;
}

static inline int32_t nx_crdt_pncounter_inc_str(const char *key, uint64_t delta)
{
    return nx_crdt_pncounter_inc(key, nx__strlen(key), delta);
}

static inline int32_t nx_crdt_pncounter_dec_str(const char *key, uint64_t delta)
{
    return nx_crdt_pncounter_dec(key, nx__strlen(key), delta);
}

/* The counter's signed value in *out; returns NX_OK (0) or an NX_ERR_* code. */
static inline int32_t nx_crdt_pncounter_value_str(const char *key, int64_t *out)
{
    uint8_t b[8];
    int32_t n = nx_crdt_pncounter_value(key, nx__strlen(key), b, sizeof b);
    if (n < 0) return n;
    if (n != 8) return NX_ERR_INTERNAL;
    *out = nx_read_i64(b);
    return NX_OK;
}

static inline int32_t nx_crdt_lww_set_str(const char *key, const char *val)
{
    return nx_crdt_lww_set(key, nx__strlen(key), val, nx__strlen(val));
}

/* The register's value as a C string in buf (cap bytes with room for the
 * NUL); returns its length or an NX_ERR_* code (NX_ERR_NOT_FOUND: never set). */
static inline int32_t nx_crdt_lww_get_str(const char *key, char *buf, uint32_t cap)
{
    NX__STR_READ(nx_crdt_lww_get(key, nx__strlen(key), buf, cap - 1));
}

static inline int32_t nx_crdt_lww_map_set_str(const char *key, const char *field, const char *val)
{
    return nx_crdt_lww_map_set(key, nx__strlen(key), field, nx__strlen(field), val, nx__strlen(val));
}

static inline int32_t nx_crdt_lww_map_remove_str(const char *key, const char *field)
{
    return nx_crdt_lww_map_remove(key, nx__strlen(key), field, nx__strlen(field));
}

/* A field's value as a C string, like nx_crdt_lww_get_str. */
static inline int32_t nx_crdt_lww_map_get_str(const char *key, const char *field, char *buf,
                                              uint32_t cap)
{
    NX__STR_READ(nx_crdt_lww_map_get(key, nx__strlen(key), field, nx__strlen(field), buf, cap - 1));
}

static inline int32_t nx_crdt_lww_map_contains_str(const char *key, const char *field)
{
    return nx_crdt_lww_map_contains(key, nx__strlen(key), field, nx__strlen(field));
}

static inline int32_t nx_crdt_orset_add_str(const char *key, const char *elem)
{
    return nx_crdt_orset_add(key, nx__strlen(key), elem, nx__strlen(elem));
}

static inline int32_t nx_crdt_orset_remove_str(const char *key, const char *elem)
{
    return nx_crdt_orset_remove(key, nx__strlen(key), elem, nx__strlen(elem));
}

static inline int32_t nx_crdt_orset_contains_str(const char *key, const char *elem)
{
    return nx_crdt_orset_contains(key, nx__strlen(key), elem, nx__strlen(elem));
}

/* Inserts the C string val after the element `parent` (an id as text;
 * NULL or "" inserts at the head) and writes the new element's id, a C
 * string, into id. Returns NX_CRDT_ID_LEN or an NX_ERR_* code. */
static inline int32_t nx_crdt_rga_insert_str(const char *key, const char *parent, const char *val,
                                             char id[NX_CRDT_ID_LEN + 1])
{
    uint32_t pl = parent ? nx__strlen(parent) : 0;
    int32_t n = nx_crdt_rga_insert(key, nx__strlen(key), parent, pl, val, nx__strlen(val), id,
                                   NX_CRDT_ID_LEN);
    id[n >= 0 && n <= (int32_t)NX_CRDT_ID_LEN ? n : 0] = '\0';
    return n;
}

static inline int32_t nx_crdt_rga_delete_str(const char *key, const char *id)
{
    return nx_crdt_rga_delete(key, nx__strlen(key), id, nx__strlen(id));
}

/* ---- walking list outputs -------------------------------------------------- */

/* A position in a list output: u32 count, then its items (little-endian).
 * Two layouts:
 *   items: per item u32 len, bytes — crdt_orset_elements (elements),
 *          crdt_rga_values (values), db_keys and db_keys_after (keys);
 *   entries: per entry u32 field_len, field, u32 value_len, value —
 *          crdt_lww_map_entries.
 * Start with nx_list_begin on the output and the length the call returned,
 * then call nx_list_next (items) or nx_entries_next (entries) until it
 * returns 0. A length, count or trailing byte that does not add up makes
 * them return NX_ERR_INTERNAL, never read past the output. */
typedef struct {
    const uint8_t *p;
    uint32_t len, pos, left;
} nx_list_t;

/* Returns the item count, or NX_ERR_INTERNAL when len is negative (an
 * error code) or under 4. */
static inline int32_t nx_list_begin(nx_list_t *it, const void *out, int32_t len)
{
    it->p = (const uint8_t *)out;
    it->len = len < 4 ? 0 : (uint32_t)len;
    it->pos = 4;
    it->left = 0;
    if (len < 4) return NX_ERR_INTERNAL;
    it->left = nx_read_u32(it->p);
    return it->left > (uint32_t)INT32_MAX ? NX_ERR_INTERNAL : (int32_t)it->left;
}

/* Takes one u32-length-prefixed part at the position: 0 or -1. */
static inline int nx__list_part(nx_list_t *it, const uint8_t **part, uint32_t *part_len)
{
    if (it->len - it->pos < 4) return -1;
    uint32_t l = nx_read_u32(it->p + it->pos);
    if (l > it->len - it->pos - 4) return -1;
    *part = it->p + it->pos + 4;
    *part_len = l;
    it->pos += 4 + l;
    return 0;
}

/* The next item (1), the end (0: count items read and nothing left over)
 * or NX_ERR_INTERNAL (malformed). */
static inline int nx_list_next(nx_list_t *it, const uint8_t **item, uint32_t *item_len)
{
    if (it->len < 4) return NX_ERR_INTERNAL;
    if (it->left == 0) return it->pos == it->len ? 0 : NX_ERR_INTERNAL;
    if (nx__list_part(it, item, item_len) != 0) return NX_ERR_INTERNAL;
    it->left--;
    return 1;
}

/* The next map entry (1), the end (0) or NX_ERR_INTERNAL (malformed). */
static inline int nx_entries_next(nx_list_t *it, const uint8_t **field, uint32_t *field_len,
                                  const uint8_t **val, uint32_t *val_len)
{
    if (it->len < 4) return NX_ERR_INTERNAL;
    if (it->left == 0) return it->pos == it->len ? 0 : NX_ERR_INTERNAL;
    if (nx__list_part(it, field, field_len) != 0 || nx__list_part(it, val, val_len) != 0)
        return NX_ERR_INTERNAL;
    it->left--;
    return 1;
}

/* Walks a db_scan/db_keys page (or a net_peers list: addr as key, node id
 * as value): call with *pos = 4 (after the count) and the page's byte
 * length; each call yields one row (value NULL/0 for db_keys pages when
 * has_values is 0) and returns 1, or 0 at the end or on a malformed page. */
static inline int nx_page_next(const uint8_t *page, uint32_t page_len, int has_values, uint32_t *pos,
                               const uint8_t **key, uint32_t *key_len, const uint8_t **val,
                               uint32_t *val_len)
{
    uint32_t p = *pos, head = has_values ? 8u : 4u;
    if (p > page_len || page_len - p < head) return 0;
    uint32_t kl = nx_read_u32(page + p), vl = has_values ? nx_read_u32(page + p + 4) : 0;
    p += head;
    if (kl > page_len - p || vl > page_len - p - kl) return 0;
    *key = page + p;
    *key_len = kl;
    *val = has_values ? page + p + kl : 0;
    *val_len = vl;
    *pos = p + kl + vl;
    return 1;
}

#if __STDC_HOSTED__
#include <stdlib.h>

/* An nx function with the (key, key_len, out, out_cap) shape: db_get,
 * env_get, crdt_lww_get, the list reads (crdt_*_entries, _elements,
 * _values), ... */
typedef int32_t nx_list_fn(const void *key, uint32_t key_len, void *out, uint32_t out_cap);

/* Calls fn with a buffer that grows from 64 KiB, doubling, up to
 * NX_MAX_OUTPUT (10 MiB, tried last), until the result fits. Returns the
 * malloc'ed output, which the caller frees, with its length (0 or more) in
 * *out_len; or NULL with the nx error code in *out_len (NX_ERR_INTERNAL
 * when malloc fails). Needs a hosted C library (malloc). */
static inline uint8_t *nx_read_all(nx_list_fn *fn, const void *key, uint32_t key_len, int32_t *out_len)
{
    uint32_t cap = 64 * 1024;
    for (;;) {
        uint8_t *buf = (uint8_t *)malloc(cap);
        if (!buf) {
            *out_len = NX_ERR_INTERNAL;
            return 0;
        }
        int32_t n = fn(key, key_len, buf, cap);
        if (n >= 0) {
            *out_len = n;
            return buf;
        }
        free(buf);
        if (n != NX_ERR_BUFFER_TOO_SMALL || cap >= NX_MAX_OUTPUT) {
            *out_len = n;
            return 0;
        }
        cap = cap > NX_MAX_OUTPUT / 2 ? NX_MAX_OUTPUT : cap * 2;
    }
}

/* nx_read_all with a C-string key. */
static inline uint8_t *nx_read_all_str(nx_list_fn *fn, const char *key, int32_t *out_len)
{
    return nx_read_all(fn, key, nx__strlen(key), out_len);
}
#endif

#endif
