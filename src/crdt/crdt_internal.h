/*
 * crdt_internal.h — what the files of src/crdt share: a byte writer that
 * either fills a fixed buffer (counting the size it would need) or grows a
 * malloc'ed one, a bounds-checked reader, minimal LEB128 varints, OpId
 * comparison, and the per-type state structures behind weft_crdt_state_t.
 *
 * Readers never read past their end: every get checks the remaining length
 * first and a failed get leaves the reader marked bad, so a decoder checks
 * once at the end (or early, before it allocates by a decoded count).
 */
#ifndef WEFT_CRDT_INTERNAL_H
#define WEFT_CRDT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "weft/crdt.h"

/* ---- writer ---- */
typedef struct {
    uint8_t *p;
    size_t len; /* bytes written or, past cap of a fixed buffer, needed */
    size_t cap;
    int grow; /* 1: p is malloc'ed and grows */
    int err;  /* WEFT_ENOMEM once a growth failed */
} crdt_wbuf_t;

void crdt_wbuf_fixed(crdt_wbuf_t *w, uint8_t *buf, size_t cap);
void crdt_wbuf_growing(crdt_wbuf_t *w);
void crdt_put(crdt_wbuf_t *w, const void *p, size_t n);
void crdt_put_u8(crdt_wbuf_t *w, uint8_t v);
void crdt_put_varint(crdt_wbuf_t *w, uint64_t v);
void crdt_put_u32le(crdt_wbuf_t *w, uint32_t v);
void crdt_put_bytes(crdt_wbuf_t *w, const uint8_t *p, size_t n); /* varint n, p */
void crdt_put_id(crdt_wbuf_t *w, const weft_crdt_id_t *id);
/* Ends a fixed-buffer write: 0, or WEFT_ELIMIT when it did not fit. */
int crdt_wbuf_fixed_end(const crdt_wbuf_t *w, size_t *out_len);

/* ---- reader ---- */
typedef struct {
    const uint8_t *p;
    size_t len, pos;
    int bad;
} crdt_rbuf_t;

void crdt_rbuf_init(crdt_rbuf_t *r, const uint8_t *p, size_t len);
int crdt_get_u8(crdt_rbuf_t *r, uint8_t *out);
int crdt_get_varint(crdt_rbuf_t *r, uint64_t *out);
/* Borrows n bytes. */
int crdt_get(crdt_rbuf_t *r, size_t n, const uint8_t **out);
/* varint length (<= max) then the bytes. */
int crdt_get_bytes(crdt_rbuf_t *r, size_t max, const uint8_t **out, size_t *out_len);
int crdt_get_id(crdt_rbuf_t *r, weft_crdt_id_t *out);
static inline size_t crdt_rbuf_left(const crdt_rbuf_t *r) { return r->len - r->pos; }

/* ---- ids and bytes ---- */
int crdt_id_cmp(const weft_crdt_id_t *a, const weft_crdt_id_t *b);
/* Bytewise, shorter first on a common prefix. */
int crdt_bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);
/* Binary search over n sorted items: cmp(key, i) compares item i with the
 * key sought (<0, 0, >0). Returns the index of the match with *found = 1,
 * or the index where the key would be inserted with *found = 0. Inline, so
 * that each caller's comparator inlines too. */
static inline size_t crdt_search(size_t n, int (*cmp)(const void *key, size_t i), const void *key,
                                 int *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp(key, mid);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

/* malloc'ed copy (never NULL for n == 0 unless out of memory). */
uint8_t *crdt_dup(const uint8_t *p, size_t n);

/* ---- parsed payloads ---- */
typedef struct {
    uint64_t delta, total;                 /* INC, DEC */
    const uint8_t *field; size_t field_len; /* MAP_*, ORSet element */
    const uint8_t *value; size_t value_len; /* SET, MAP_SET, ADD?, INSERT */
    int has_parent;
    weft_crdt_id_t parent;                  /* INSERT parent, DELETE target */
    const uint8_t *tags; size_t ntags;      /* REMOVE: ntags encoded ids */
} crdt_payload_t;

/* Checks that kind belongs to type and parses the payload. */
int crdt_payload_parse(uint8_t type, uint8_t kind, const uint8_t *p, size_t len,
                       crdt_payload_t *out);

/* ---- states ---- */
typedef struct {
    uint8_t origin[WEFT_CRDT_ORIGIN_LEN];
    uint64_t seq[2];   /* the seq of the op that set total[i]; 0 = none */
    uint64_t total[2]; /* [0] increments, [1] decrements (PN only) */
} crdt_slot_t;

typedef struct {
    crdt_slot_t *v; /* sorted by origin */
    size_t n, cap;
} crdt_counter_t;

typedef struct {
    int has;
    uint64_t hlc, seq;
    uint8_t origin[WEFT_CRDT_ORIGIN_LEN];
    uint8_t *value;
    size_t value_len;
} crdt_lww_t;

typedef struct {
    uint8_t *field;
    size_t field_len;
    crdt_lww_t reg; /* reg.value == NULL with tomb */
    int tomb;
} crdt_field_t;

typedef struct {
    crdt_field_t *v; /* sorted by field */
    size_t n, cap;
} crdt_map_t;

typedef struct {
    uint8_t *elem;
    size_t elem_len;
    weft_crdt_id_t *tags; /* live add-tags, sorted; the element is visible when any */
    size_t ntags, cap;
    weft_crdt_id_t *removed; /* tags removed from this element, sorted */
    size_t nremoved, capremoved;
} crdt_orelem_t; /* in the set while it has a live or a removed tag */

typedef struct {
    crdt_orelem_t *v; /* sorted by element */
    size_t n, cap;
} crdt_orset_t;

#define CRDT_RGA_NAME_LEN (WEFT_CRDT_ORIGIN_LEN + 8)

typedef struct {
    uint8_t name[CRDT_RGA_NAME_LEN]; /* part name: origin, seq big-endian */
    weft_crdt_id_t id;
    uint8_t inserted;   /* the INSERT has arrived: the fields below are set */
    uint8_t deleted;    /* a DELETE has arrived */
    uint8_t has_parent; /* else inserted at the head */
    uint64_t hlc;
    weft_crdt_id_t parent;
    uint8_t *value;
    size_t value_len;
} crdt_relem_t; /* an RGA element's record */

typedef struct {
    crdt_relem_t **v; /* sorted by id; pointers, so that an insert moves little */
    size_t n, cap;
} crdt_rga_t;

struct weft_crdt_state {
    uint8_t type;
    size_t bytes; /* encoded bytes it was decoded from, parts absorbed included */
    union {
        crdt_counter_t counter;
        crdt_lww_t lww;
        crdt_map_t map;
        crdt_orset_t orset;
        crdt_rga_t rga;
    } u;
};

void crdt_counter_fini(crdt_counter_t *c);
int crdt_counter_apply(crdt_counter_t *c, int pn, const weft_crdt_op_t *op,
                       const crdt_payload_t *pl);
void crdt_counter_encode(const crdt_counter_t *c, int pn, crdt_wbuf_t *w);
int crdt_counter_decode(crdt_counter_t *c, int pn, crdt_rbuf_t *r);
const crdt_slot_t *crdt_counter_find(const crdt_counter_t *c, const uint8_t *origin);

void crdt_lww_fini(crdt_lww_t *l);
int crdt_lww_apply(crdt_lww_t *l, const weft_crdt_op_t *op, const crdt_payload_t *pl);
void crdt_lww_encode(const crdt_lww_t *l, crdt_wbuf_t *w);
int crdt_lww_decode(crdt_lww_t *l, crdt_rbuf_t *r);
void crdt_map_fini(crdt_map_t *m);
int crdt_map_apply(crdt_map_t *m, const weft_crdt_op_t *op, const crdt_payload_t *pl);
void crdt_map_encode(const crdt_map_t *m, crdt_wbuf_t *w);
int crdt_map_decode(crdt_map_t *m, crdt_rbuf_t *r);
const crdt_field_t *crdt_map_find(const crdt_map_t *m, const uint8_t *f, size_t n);

void crdt_orset_fini(crdt_orset_t *s);
int crdt_orset_apply(crdt_orset_t *s, const weft_crdt_op_t *op, const crdt_payload_t *pl);
void crdt_orset_encode(const crdt_orset_t *s, crdt_wbuf_t *w);
int crdt_orset_decode(crdt_orset_t *s, crdt_rbuf_t *r);
const crdt_orelem_t *crdt_orset_find(const crdt_orset_t *s, const uint8_t *e, size_t n);
size_t crdt_orset_entries(const crdt_orset_t *s);

void crdt_rga_fini(crdt_rga_t *g);
void crdt_rga_name(const weft_crdt_id_t *id, uint8_t out[CRDT_RGA_NAME_LEN]);
int crdt_rga_apply(crdt_rga_t *g, const weft_crdt_op_t *op, const crdt_payload_t *pl);
int crdt_rga_encode(const crdt_rga_t *g, crdt_wbuf_t *w);
int crdt_rga_decode(crdt_rga_t *g, crdt_rbuf_t *r);
int crdt_rga_values(const crdt_rga_t *g, crdt_wbuf_t *w);
size_t crdt_rga_entries(const crdt_rga_t *g);

#endif
