/*
 * weft/crdt.h — pure replicated data types: the op format shipped between
 * nodes, the hybrid logical clock, and the state of one (context, key) for
 * each type, with apply, encode/decode and the reads the guest ABIs need.
 *
 * No I/O and no globals: the caller (store/, sync/) persists the encoded
 * states and the op-log and moves ops between nodes. Everything here is
 * deterministic: the same set of ops, applied in any order and any number
 * of times, gives byte-identical encoded states on every node.
 *
 * Errors: functions return 0 or a negative WEFT_E* code (weft/error.h):
 *   WEFT_EMALFORMED  bytes to decode (op, payload, state) are corrupt,
 *                    truncated, oversized or not canonical;
 *   WEFT_EARG        an op of another type than the state, or a kind the
 *                    type has not, or a field over its bound;
 *   WEFT_ELIMIT      an output buffer is too small (the needed size is still
 *                    stored in *out_len), or a counter would overflow;
 *   WEFT_ENOTFOUND   a read of an absent value;
 *   WEFT_ENOMEM      allocation failed; the state is unchanged.
 */
#ifndef WEFT_CRDT_H
#define WEFT_CRDT_H

#include <stddef.h>
#include <stdint.h>

#include "weft/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WEFT_CRDT_ORIGIN_LEN 32        /* node id: an ed25519 public key */
#define WEFT_CRDT_CONTEXT_MAX 255      /* bytes */
#define WEFT_CRDT_KEY_MAX 1024         /* bytes */
#define WEFT_CRDT_VALUE_MAX (1u << 20) /* LWW values, map values, RGA values */
#define WEFT_CRDT_FIELD_MAX 1024       /* LWW-Map fields, ORSet elements */
#define WEFT_CRDT_PAYLOAD_MAX (4u << 20)
#define WEFT_CRDT_ID_LEN 40            /* encoded element id: origin + u64 LE seq */
#define WEFT_CRDT_OP_VERSION 1
#define WEFT_CRDT_STATE_VERSION 2 /* 2: ORSet removed tags kept per element */

typedef enum {
    WEFT_CRDT_GCOUNTER = 1,
    WEFT_CRDT_PNCOUNTER = 2,
    WEFT_CRDT_LWW_REG = 3,
    WEFT_CRDT_LWW_MAP = 4,
    WEFT_CRDT_ORSET = 5,
    WEFT_CRDT_RGA = 6,
} weft_crdt_type_t;

/* Op kinds and the payload each carries (varint = unsigned LEB128, id =
 * 32-byte origin then varint seq). Payloads are built with the
 * weft_crdt_payload_* helpers below; apply and op decode both check them. */
typedef enum {
    WEFT_CRDT_INC = 1,        /* G/PN: varint delta, varint origin's new total */
    WEFT_CRDT_DEC = 2,        /* PN: varint delta, varint origin's new total of decrements */
    WEFT_CRDT_SET = 3,        /* LWW_REG: the value (rest of the payload) */
    WEFT_CRDT_MAP_SET = 4,    /* LWW_MAP: varint field_len, field, value (rest) */
    WEFT_CRDT_MAP_REMOVE = 5, /* LWW_MAP: the field (rest) */
    WEFT_CRDT_ADD = 6,        /* ORSET: the element (rest); its tag is the op id */
    WEFT_CRDT_REMOVE = 7,     /* ORSET: varint elem_len, elem, varint n, n ids */
    WEFT_CRDT_INSERT = 8,     /* RGA: u8 has_parent, [parent id], value (rest) */
    WEFT_CRDT_DELETE = 9,     /* RGA: id */
} weft_crdt_kind_t;

/* OpId: unique per op; also the ORSet add-tag and the RGA element id. */
typedef struct {
    uint8_t origin[WEFT_CRDT_ORIGIN_LEN];
    uint64_t seq;
} weft_crdt_id_t;

/* One op. Byte fields are borrowed: after weft_crdt_op_decode they point
 * into the decoded buffer and live as long as it. */
typedef struct {
    const uint8_t *context;
    size_t context_len; /* <= WEFT_CRDT_CONTEXT_MAX */
    const uint8_t *key;
    size_t key_len; /* <= WEFT_CRDT_KEY_MAX */
    uint8_t type;   /* weft_crdt_type_t */
    uint8_t kind;   /* weft_crdt_kind_t, one the type has */
    uint8_t origin[WEFT_CRDT_ORIGIN_LEN];
    uint64_t seq; /* per (context, origin), from 1, gap-free */
    uint64_t hlc; /* upper 48 bits Unix ms, lower 16 bits logical counter */
    const uint8_t *payload;
    size_t payload_len; /* <= WEFT_CRDT_PAYLOAD_MAX */
} weft_crdt_op_t;

/* ---- op encoding (version 1) ----
 * u8 version, varint context_len, context, varint key_len, key, u8 type,
 * u8 kind, origin[32], varint seq, varint hlc, varint payload_len, payload.
 * Varints are minimal LEB128; the encoding of an op is unique. */

/* Encodes op into buf[0..cap). *out_len gets the encoded size even when
 * cap is too small (then WEFT_ELIMIT). WEFT_EARG if op is invalid. */
int weft_crdt_op_encode(const weft_crdt_op_t *op, uint8_t *buf, size_t cap, size_t *out_len);

/* Decodes exactly len bytes; out borrows from bytes. WEFT_EMALFORMED on any
 * corrupt, truncated, trailing or oversized input, or a bad payload. */
int weft_crdt_op_decode(const uint8_t *bytes, size_t len, weft_crdt_op_t *out);

/* The op's id (origin, seq). */
weft_crdt_id_t weft_crdt_op_id(const weft_crdt_op_t *op);

/* Total order of LWW writes: (hlc, origin bytewise, seq). <0, 0, >0. */
int weft_crdt_stamp_cmp(uint64_t hlc_a, const uint8_t *origin_a, uint64_t seq_a,
                        uint64_t hlc_b, const uint8_t *origin_b, uint64_t seq_b);

/* Element ids as the guest sees them: origin[32] then seq as u64 LE. */
void weft_crdt_id_to_bytes(const weft_crdt_id_t *id, uint8_t out[WEFT_CRDT_ID_LEN]);
int weft_crdt_id_from_bytes(const uint8_t *p, size_t len, weft_crdt_id_t *out);

/* ---- hybrid logical clock ---- */

typedef struct {
    uint64_t last; /* the highest timestamp issued or observed */
} weft_hlc_t;

#define WEFT_HLC_MS(t) ((t) >> 16)
#define WEFT_HLC_LOGICAL(t) ((t) & 0xffffu)
#define WEFT_HLC_MAKE(ms, logical) (((uint64_t)(ms) << 16) | ((uint64_t)(logical) & 0xffffu))

void weft_hlc_init(weft_hlc_t *h, uint64_t last);

/* Timestamp of a local event at wall time wall_ms: strictly greater than
 * every timestamp issued or observed before. When the logical counter of a
 * millisecond is exhausted the clock moves into the next millisecond. */
uint64_t weft_hlc_now(weft_hlc_t *h, uint64_t wall_ms);

/* Receive rule: merges a remote timestamp, so that later local events are
 * after it; returns the clock's new value (greater than both). */
uint64_t weft_hlc_observe(weft_hlc_t *h, uint64_t remote_hlc, uint64_t wall_ms);

/* ---- state of one (context, key) ---- */

typedef struct weft_crdt_state weft_crdt_state_t;

/* Allocates an empty state of type; free with weft_crdt_state_delete. */
int weft_crdt_state_new(uint8_t type, weft_crdt_state_t **out);
void weft_crdt_state_delete(weft_crdt_state_t *st);
uint8_t weft_crdt_state_type(const weft_crdt_state_t *st);

/* Applies op (its context and key are not looked at: the caller routes by
 * them). Idempotent and order-independent. An RGA op whose target is not yet
 * known is kept pending and takes effect when the target arrives. On error
 * the state is unchanged. Payload bytes are copied. */
int weft_crdt_apply(weft_crdt_state_t *st, const weft_crdt_op_t *op);

/* Canonical encoding: u8 version, u8 type, then the type's fields. Equal
 * states encode to equal bytes. *out is malloc'ed, owned by the caller. */
int weft_crdt_state_encode(const weft_crdt_state_t *st, uint8_t **out, size_t *out_len);

/* Decodes a state; WEFT_EMALFORMED on corrupt input. *out is owned by the
 * caller (weft_crdt_state_delete). */
int weft_crdt_state_decode(const uint8_t *bytes, size_t len, weft_crdt_state_t **out);

/* Number of entries the state holds (origins, fields with tombstones,
 * elements with removed tags, RGA nodes with tombstones and pending ops):
 * the measure of its size that tests bound. */
size_t weft_crdt_state_entries(const weft_crdt_state_t *st);

/* ---- parts ----
 * The fields of an LWW-Map, the elements of an ORSet and the element
 * records of an RGA are independent: every op touches exactly one of them
 * (its part), a read of one needs only it, and the state is the union of
 * its parts (an RGA's sequence is derived from all of them on read). A
 * store may therefore keep each part apart and load only the part an op
 * touches, so that an op's cost does not grow with the state. A state that
 * holds only some parts is an ordinary state: apply, the reads and the
 * payload builders answer, for the parts it holds, as the whole state
 * would (an RGA's values need them all). A one-part state's encoding is
 * how a store keeps that part. Part names: the field, the element, or for
 * an RGA element the 40 bytes of weft_crdt_id_part (ordered as the ids). */

/* 1 for the types whose states split into parts (LWW_MAP, ORSET, RGA). */
int weft_crdt_type_parted(uint8_t type);

/* The part name of RGA element id: origin then seq big-endian. */
void weft_crdt_id_part(const weft_crdt_id_t *id, uint8_t out[WEFT_CRDT_ID_LEN]);

/* The part op touches: 1 with *part set (borrowed from op->payload, or
 * written into scratch for an RGA op) for a parted type, 0 for any other,
 * WEFT_EARG / WEFT_EMALFORMED for a bad op. */
int weft_crdt_op_part(const weft_crdt_op_t *op, uint8_t scratch[WEFT_CRDT_ID_LEN],
                      const uint8_t **part, size_t *part_len);

/* How many parts st holds (0 for an unparted type), and the name of part i
 * (a field or element), in bytewise order. */
size_t weft_crdt_parts(const weft_crdt_state_t *st);
int weft_crdt_part_name(const weft_crdt_state_t *st, size_t i, const uint8_t **name,
                        size_t *len);

/* Moves every part of src into dst (both of one parted type; WEFT_EARG
 * otherwise): assembles a state from parts loaded apart. WEFT_EMALFORMED
 * if a part is in both. src is left empty on success; on error dst holds
 * the parts moved so far and src the others. */
int weft_crdt_state_absorb(weft_crdt_state_t *dst, weft_crdt_state_t *src);

/* The size of the encoded bytes st was decoded from, plus those of every
 * part absorbed into it; 0 for a new state. What a load cost, for hosts
 * that charge guests for work (fuel). */
size_t weft_crdt_state_bytes(const weft_crdt_state_t *st);

/* ---- payload builders: *out_len always gets the size; WEFT_ELIMIT if cap
 * is too small ---- */

/* INC or DEC by delta for origin, computing its new cumulative total from
 * st (the origin's own state, which has all of its own ops). WEFT_ELIMIT if
 * the total would overflow u64. */
int weft_crdt_payload_counter(const weft_crdt_state_t *st, const uint8_t *origin, uint8_t kind,
                              uint64_t delta, uint8_t *buf, size_t cap, size_t *out_len);
int weft_crdt_payload_map_set(const uint8_t *field, size_t field_len, const uint8_t *value,
                              size_t value_len, uint8_t *buf, size_t cap, size_t *out_len);
/* REMOVE of elem carrying every tag of it visible in st (zero tags when
 * absent: applying such an op is a no-op). */
int weft_crdt_payload_orset_remove(const weft_crdt_state_t *st, const uint8_t *elem,
                                   size_t elem_len, uint8_t *buf, size_t cap, size_t *out_len);
/* parent NULL inserts at the head. */
int weft_crdt_payload_rga_insert(const weft_crdt_id_t *parent, const uint8_t *value,
                                 size_t value_len, uint8_t *buf, size_t cap, size_t *out_len);
int weft_crdt_payload_rga_delete(const weft_crdt_id_t *id, uint8_t *buf, size_t cap,
                                 size_t *out_len);

/* ---- reads. Borrowed pointers live until the next apply or delete. ----
 * Encoded outputs are the nx ABI's: u32 little-endian counts and lengths.
 * Reads of another type's state return WEFT_EARG. */

int weft_crdt_gcounter_value(const weft_crdt_state_t *st, uint64_t *out);
int weft_crdt_pncounter_value(const weft_crdt_state_t *st, int64_t *out);
/* WEFT_ENOTFOUND when never set. */
int weft_crdt_lww_get(const weft_crdt_state_t *st, const uint8_t **out, size_t *out_len);
/* The stamp (hlc, origin, seq) of the write the register holds: what it
 * won by. WEFT_ENOTFOUND when never set. */
int weft_crdt_lww_stamp(const weft_crdt_state_t *st, uint64_t *hlc,
                        uint8_t origin[WEFT_CRDT_ORIGIN_LEN], uint64_t *seq);
/* WEFT_ENOTFOUND when absent or removed. */
int weft_crdt_map_get(const weft_crdt_state_t *st, const uint8_t *field, size_t field_len,
                      const uint8_t **out, size_t *out_len);
/* 1 visible, 0 absent or removed, <0 error. */
int weft_crdt_map_contains(const weft_crdt_state_t *st, const uint8_t *field, size_t field_len);
/* u32 count, then per visible field in bytewise order: u32 field_len, field,
 * u32 value_len, value. */
int weft_crdt_map_entries(const weft_crdt_state_t *st, uint8_t *buf, size_t cap, size_t *out_len);
int weft_crdt_orset_contains(const weft_crdt_state_t *st, const uint8_t *elem, size_t elem_len);
/* u32 count, then per visible element in bytewise order: u32 len, element. */
int weft_crdt_orset_elements(const weft_crdt_state_t *st, uint8_t *buf, size_t cap,
                             size_t *out_len);
/* u32 count, then per visible element in sequence order: u32 len, value. */
int weft_crdt_rga_values(const weft_crdt_state_t *st, uint8_t *buf, size_t cap, size_t *out_len);
/* u32 count, then the id (weft_crdt_id_to_bytes, WEFT_CRDT_ID_LEN bytes)
 * of each visible element in sequence order: what a host needs to insert
 * after, or delete, the element at an index (Calimero's vectors). */
int weft_crdt_rga_ids(const weft_crdt_state_t *st, uint8_t *buf, size_t cap, size_t *out_len);
/* Whether the RGA has element id's insert: 1, 0, <0. An element waiting
 * for an ancestor's insert counts (it is known, just not yet shown). */
int weft_crdt_rga_contains(const weft_crdt_state_t *st, const weft_crdt_id_t *id);

#ifdef __cplusplus
}
#endif
#endif
