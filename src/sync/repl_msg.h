/*
 * repl_msg.h — the encoders and decoders of the replication messages (VV,
 * ACK, OPS; docs/sync.md "Replication"), for repl.c, its tests and the fuzz
 * target. src/sync only.
 *
 * Decoders trust nothing: every length is checked against the input and
 * its bound, varints must be minimal, trailing bytes are an error
 * (WEFT_EMALFORMED), and an OPS frame is decoded whole (every op rebuilt
 * into its canonical encoding and checked by weft_crdt_op_encode) before
 * the caller looks at any of it.
 */
#ifndef WEFT_SYNC_REPL_MSG_H
#define WEFT_SYNC_REPL_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "weft/crdt.h"

/* Origins in one version vector (VV, ACK): a peer cannot make us keep more
 * per (peer, context). */
#define REPL_MAX_ORIGINS 4096

/* A growable byte buffer; oom sticks once an allocation failed. */
typedef struct {
    uint8_t *p;
    size_t len, cap;
    int oom;
} repl_buf_t;

void repl_buf_free(repl_buf_t *b);

/* Makes room in the array *p (*cap elements of elem bytes) for element n,
 * doubling it (from min). 0 or WEFT_ENOMEM (*p unchanged). */
int repl_grow(void **p, size_t *cap, size_t n, size_t elem, size_t min);

/* ---- VV and ACK: u8 ctx_len, ctx, varint n, n x (origin[32], varint seq),
 * origins strictly ascending ---- */

int repl_vv_encode(repl_buf_t *b, const uint8_t *ctx, size_t ctx_len, const weft_crdt_id_t *vv,
                   size_t n);
/* *ctx borrows from p; *out is malloc'ed (free it; NULL when n is 0). */
int repl_vv_decode(const uint8_t *p, size_t len, const uint8_t **ctx, size_t *ctx_len,
                   weft_crdt_id_t **out, size_t *out_n);

/* ---- OPS: u8 ctx_len, ctx, then groups to the end: origin[32], varint
 * first_seq, varint count, count x op; an op: u8 head (bit 7: same key as
 * the previous op of the frame; bits 4-6 type; bits 0-3 kind), [varint
 * key_len, key], varint zigzag(hlc - previous op's hlc, mod 2^64),
 * varint payload_len, payload ---- */

typedef struct {
    repl_buf_t frame, group;
    uint8_t origin[WEFT_CRDT_ORIGIN_LEN];
    uint64_t first_seq, count; /* of the open group (count 0: none) */
    uint64_t prev_hlc;
    uint8_t prev_key[WEFT_CRDT_KEY_MAX];
    size_t prev_key_len;
    int has_prev_key;
    size_t nops;
} repl_ops_writer_t;

void repl_ops_begin(repl_ops_writer_t *w, const uint8_t *ctx, size_t ctx_len);
/* Appends op (of the frame's context; ops of one origin in seq order). */
int repl_ops_add(repl_ops_writer_t *w, const weft_crdt_op_t *op);
/* Bytes of the frame so far, the open group included. */
size_t repl_ops_size(const repl_ops_writer_t *w);
/* Closes the open group: w->frame.p[0..len) is the frame. */
int repl_ops_end(repl_ops_writer_t *w);
void repl_ops_writer_free(repl_ops_writer_t *w);

/* One op of a decoded frame: its canonical encoding (as its origin's
 * op-log holds it) and the group it came in. */
typedef struct {
    size_t off, len; /* in the frame's bytes */
    size_t group;
    uint64_t seq;
} repl_op_t;

typedef struct {
    uint8_t ctx[WEFT_CRDT_CONTEXT_MAX];
    size_t ctx_len;
    uint8_t *bytes; /* every op's encoding, back to back */
    repl_op_t *ops;
    size_t n;
    weft_crdt_id_t *groups; /* origin and last seq of each group */
    size_t ngroups;
} repl_ops_t;

/* Walks an OPS frame: ctx_out (may be NULL) gets its context, then fn
 * (may be NULL: a check alone) each op in order: the index of its group,
 * its origin and seq, and its rebuilt canonical encoding (borrowed for the
 * call) until fn returns non-zero (then 0 is returned). WEFT_EMALFORMED for
 * anything wrong, at whatever op it is met (to apply nothing of a bad
 * frame, walk it once with fn NULL first), WEFT_ENOMEM. Memory: one op. */
typedef int (*repl_op_fn)(void *user, size_t group, const uint8_t *origin, uint64_t seq,
                          const uint8_t *bytes, size_t len);
int repl_ops_walk(const uint8_t *p, size_t len, uint8_t ctx_out[WEFT_CRDT_CONTEXT_MAX],
                  size_t *ctx_len_out, repl_op_fn fn, void *user);

/* Decodes a whole OPS frame into *out (owned by the caller:
 * repl_ops_free): every op's encoding kept, for tests and the fuzz
 * target. WEFT_EMALFORMED for anything wrong, WEFT_ENOMEM. */
int repl_ops_decode(const uint8_t *p, size_t len, repl_ops_t *out);
void repl_ops_free(repl_ops_t *ops);

/* ---- snapshots (docs/sync.md "Compaction and snapshots") ----
 * SNAP_NEED: u8 ctx_len, ctx.
 * SNAP_REQ:  u8 ctx_len, ctx, position: u8 after_kind (0: from the start,
 *            1..4 a record kind of weft/crdt_store.h), varint after_len
 *            (0 when after_kind is 0), after (a record key).
 * SNAP:      u8 ctx_len, ctx, the position it answers (as in SNAP_REQ),
 *            u8 flags (bit 0 first: the position is the start; bit 1
 *            last), [first: varint n, n x (origin[32], varint seq): the
 *            vector the snapshot reflects], [last: varint n, n x (origin,
 *            varint seq): the sender's floors; varint hlc], then records
 *            to the end, in the store's order past the position (kinds
 *            ascending):
 *            u8 kind, varint key_len, key, varint val_len, val. A chunk
 *            that is not the last has at least one record. */
#define REPL_SNAP_KIND_MAX 4
#define REPL_SNAP_KEY_MAX 4096

int repl_ctx_encode(repl_buf_t *b, const uint8_t *ctx, size_t ctx_len);
int repl_ctx_decode(const uint8_t *p, size_t len, const uint8_t **ctx, size_t *ctx_len);
int repl_snap_req_encode(repl_buf_t *b, const uint8_t *ctx, size_t ctx_len, uint8_t after_kind,
                         const uint8_t *after, size_t after_len);
int repl_snap_req_decode(const uint8_t *p, size_t len, const uint8_t **ctx, size_t *ctx_len,
                         uint8_t *after_kind, const uint8_t **after, size_t *after_len);
/* Appends one record to b (the records of a chunk, built apart). */
void repl_snap_rec(repl_buf_t *b, uint8_t kind, const uint8_t *key, size_t key_len,
                   const uint8_t *val, size_t val_len);
/* A chunk: v0 when after_kind is 0 (first), floors and hlc when last. */
int repl_snap_encode(repl_buf_t *b, const uint8_t *ctx, size_t ctx_len, uint8_t after_kind,
                     const uint8_t *after, size_t after_len, const weft_crdt_id_t *v0, size_t nv0,
                     int last, const weft_crdt_id_t *floors, size_t nf, uint64_t hlc,
                     const uint8_t *recs, size_t recs_len);

typedef struct {
    const uint8_t *ctx; /* pointers borrow from the frame */
    size_t ctx_len;
    uint8_t after_kind, end_kind; /* end: the position after this chunk */
    const uint8_t *after, *end;
    size_t after_len, end_len;
    int first, last;
    weft_crdt_id_t *v0, *floors; /* malloc'ed (repl_snap_free) */
    size_t nv0, nfloors;
    uint64_t hlc;
    const uint8_t *recs; /* the records, checked */
    size_t recs_len, nrecs;
} repl_snap_t;

/* Decodes and checks a whole SNAP frame (records framed, kinds in order; their
 * contents are the store's to check). WEFT_EMALFORMED, WEFT_ENOMEM. */
int repl_snap_decode(const uint8_t *p, size_t len, repl_snap_t *out);
/* The next record of a checked *p (advanced); 1 at the end. */
int repl_snap_next(const uint8_t **p, size_t *len, uint8_t *kind, const uint8_t **key,
                   size_t *key_len, const uint8_t **val, size_t *val_len);
void repl_snap_free(repl_snap_t *s);

#endif
