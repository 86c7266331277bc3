/*
 * weft/crdt_store.h — CRDT states and the op-log in the store: the layer
 * between the pure CRDT library (weft/crdt.h) and a data directory
 * (weft/db.h). Every function works inside the caller's transaction, so a
 * call that aborts takes its state changes, op-log entries, seq and clock
 * advances with it.
 *
 * Layout (all in the caller's data directory):
 *   WEFT_SPACE_CRDT   (context, key)            -> encoded state (crdt.h);
 *                                                  for a parted type (map,
 *                                                  set, RGA) an empty one:
 *                                                  the type
 *   WEFT_SPACE_CRDT_PARTS (context, [u16 BE key_len][key][part])
 *                                               -> encoded one-part state
 *                                                  (a map field, a set
 *                                                  element, an RGA element;
 *                                                  see crdt.h)
 *   WEFT_SPACE_OPLOG  (context, 'l' origin[32] seq u64 BE)
 *                                               -> encoded op
 *   WEFT_SPACE_OPLOG  (context, 'm' origin[32]) -> u64 BE, the origin's
 *                                                  high-water mark there
 *   WEFT_SPACE_OPLOG  (context, 'h')            -> u64 BE, the context's
 *                                                  clock
 *   WEFT_SPACE_META   "crdt/hlc"                -> u64 BE, the node-wide
 *                                                  clock of older data
 *                                                  directories: read, never
 *                                                  written
 * A context is the unit of replication (peers are members of contexts), so
 * each context has its own op-log, version vector and clock, and an
 * origin's seqs count its ops in that context from 1, gap-free. Dropping a
 * context drops its log with it. A context's clock is the larger of its
 * record and the legacy node-wide one, so stamps written before the clock
 * moved stay below every later stamp; a write of a context touches nothing
 * outside it (an overlay transaction of the context takes it).
 *
 * Delivery: ops of one origin in one context must be applied in seq order
 * (a peer sends them so: weft_crdt_missing streams in (origin, seq) order).
 * An op whose seq is at most the origin's mark in its context is a
 * duplicate and ignored; one past mark + 1 is a gap and refused with
 * WEFT_EARG (no buffering yet).
 *
 * Errors: 0 or a negative WEFT_E* (weft/error.h): those of weft/db.h and
 * weft/crdt.h, plus WEFT_EARG for a type mismatch with the stored state, a
 * kind the type has not, missing inputs, or a gap.
 */
#ifndef WEFT_CRDT_STORE_H
#define WEFT_CRDT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "weft/crdt.h"
#include "weft/db.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The local node's replication clock in one context and its place in the
 * context's log. */
typedef struct {
    uint8_t origin[WEFT_CRDT_ORIGIN_LEN]; /* node id (weft/identity.h) */
    weft_hlc_t hlc;                       /* highest timestamp issued or seen in the context */
    uint64_t next_seq;                    /* seq of its next op in the context, from 1 */
} weft_crdt_node_t;

/* Loads the node's clock and next seq in context ctx (a fresh node or
 * context: hlc 0, or the legacy node-wide clock; next_seq 1). */
int weft_crdt_node_load(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                        const uint8_t origin[WEFT_CRDT_ORIGIN_LEN], weft_crdt_node_t *out);
/* Stores it back (ctx's clock, and the origin's mark next_seq - 1 in ctx). */
int weft_crdt_node_save(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                        const weft_crdt_node_t *node);

/* What a local op carries, by kind (unused fields are ignored):
 *   INC, DEC        delta (> 0)
 *   SET             value
 *   MAP_SET         field, value
 *   MAP_REMOVE      field
 *   ADD, REMOVE     value (the element)
 *   INSERT          target (parent; NULL inserts at the head), value
 *   DELETE          target (the element's id)
 * Pointers are borrowed for the call. */
typedef struct {
    uint64_t delta;
    const uint8_t *field;
    size_t field_len;
    const uint8_t *value;
    size_t value_len;
    const weft_crdt_id_t *target;
} weft_crdt_input_t;

/* A local mutation of (ctx, key) by node `origin` at wall time wall_ms:
 * allocates the next seq and an HLC timestamp after everything the node has
 * seen, builds the op, applies it to the stored state (created when absent;
 * WEFT_EARG when it has another type), stores the state, appends the op to
 * the op-log and advances the node's mark and clock, all in txn (a write
 * transaction). out_id (may be NULL) gets the op's id: the ORSet tag of an
 * ADD, the element id of an RGA INSERT. An RGA INSERT after, or DELETE of,
 * an element this replica does not know is WEFT_ENOTFOUND (a local op does
 * not wait for one that may never come) and changes nothing.
 * stored_bytes (may be NULL) gets, on success, the bytes of stored data
 * the op read and wrote (its state or part, twice; the op-log entry): its
 * cost, for hosts that charge guests for work. */
int weft_crdt_local(weft_txn_t *txn, const uint8_t origin[WEFT_CRDT_ORIGIN_LEN], uint64_t wall_ms,
                    const uint8_t *ctx, size_t ctx_len, const uint8_t *key, size_t key_len,
                    uint8_t type, uint8_t kind, const weft_crdt_input_t *in,
                    weft_crdt_id_t *out_id, size_t *stored_bytes);

/* Applies an encoded op received from a peer: a duplicate ((origin, seq) at
 * or under the origin's mark) returns 0 and changes nothing; the next op of
 * its origin is applied, appended to the op-log (the bytes as given: op
 * encodings are canonical), advances the mark, and the stored clock
 * observes its timestamp (weft_hlc_observe at wall_ms). A gap (seq past
 * mark + 1) is WEFT_EARG; a malformed op WEFT_EMALFORMED. An op whose type
 * differs from the stored state's (two nodes created the key with
 * different types at once) is logged and advances the mark like any
 * other, but the key's type stays that of its earliest op by stamp (hlc,
 * origin, seq): the op changes no state, or, when it is the earliest, the
 * state is rebuilt from the logged ops of its type (docs/sync.md
 * "Replication"). */
int weft_crdt_apply_remote(weft_txn_t *txn, const uint8_t *op_bytes, size_t len, uint64_t wall_ms);

/* Visits the version vector of context ctx (every origin's mark there) in
 * origin order, calling fn(user, origin, seq) until fn returns non-zero
 * (then 0 is returned). */
typedef int (*weft_crdt_vv_fn)(void *user, const uint8_t origin[WEFT_CRDT_ORIGIN_LEN],
                               uint64_t seq);
int weft_crdt_version_vector(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                             weft_crdt_vv_fn fn, void *user);

/* Streams, in (origin, seq) order, the entries of context ctx's op-log
 * that a peer whose version vector there is vv[0..n) (origin, mark pairs;
 * absent origins count as 0) lacks, calling fn(user, op_bytes, len) until
 * fn returns non-zero (then 0 is returned). Ops of other contexts are never
 * sent, nor entries past an origin's mark (a snapshot being taken puts
 * some there before it raises the marks). op_bytes live during the call
 * only; fn must not write through txn.
 * Cost: one scan of the version vector, then a seek per origin. */
typedef int (*weft_crdt_op_fn)(void *user, const uint8_t *op_bytes, size_t len);
int weft_crdt_missing(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                      const weft_crdt_id_t *vv, size_t n, weft_crdt_op_fn fn, void *user);

/* ---- compaction and snapshots (docs/sync.md "Compaction and snapshots")
 * In WEFT_SPACE_OPLOG, beside 'l' and 'm': 'f' origin -> floor (u64 BE:
 * that origin's ops 1..floor may be gone from the log), 'k' key -> empty
 * (an op of the key was compacted), 'a' peer -> what the peer
 * acknowledged, 'S' -> the replication engine's snapshot progress. All
 * dropped with the context. */

/* Raises the stored acknowledged vector of peer in ctx to vv (max per
 * origin; durable "known to hold", for compaction). */
int weft_crdt_acks_merge(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                         const uint8_t peer[WEFT_CRDT_ORIGIN_LEN], const weft_crdt_id_t *vv,
                         size_t n);

/* Drops op-log entries of ctx that every member holds: for each origin,
 * up to the lowest mark the members' stored acks give (a member with no
 * acks holds 0; self is our own marks) less `keep`, and only while we hold
 * all that every member acknowledged (so that every op concurrent with a
 * dropped one is here: the dropped ops are causally stable). At most
 * max_ops entries per call; *dropped (may be NULL) gets how many. Each
 * origin's floor rises to what is gone; each dropped op's key gets its
 * 'k' record (its type is fixed from then on). Marks stay. members is
 * nmembers x 32 bytes. */
int weft_crdt_compact(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                      const uint8_t self[WEFT_CRDT_ORIGIN_LEN], const uint8_t *members,
                      size_t nmembers, uint64_t keep, size_t max_ops, size_t *dropped);

/* 1 when a peer whose vector is vv[0..n) lacks ops of ctx this log no
 * longer has (some origin's floor is above its entry): it needs a
 * snapshot, weft_crdt_missing cannot serve it. 0 otherwise. */
int weft_crdt_behind_floor(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                           const weft_crdt_id_t *vv, size_t n);
/* Visits each origin's floor in ctx (origins with none are at 0). */
int weft_crdt_floors(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, weft_crdt_vv_fn fn,
                     void *user);

/* Snapshot records, in this order, each kind by stored key: the states
 * (WEFT_SPACE_CRDT keys), the parts (WEFT_SPACE_CRDT_PARTS keys), the 'k'
 * records and the 'l' entries (WEFT_SPACE_OPLOG keys, tag included). */
enum {
    WEFT_CRDT_SNAP_STATE = 1,
    WEFT_CRDT_SNAP_PART = 2,
    WEFT_CRDT_SNAP_KEYFIX = 3,
    WEFT_CRDT_SNAP_LOG = 4,
};
typedef int (*weft_crdt_snap_fn)(void *user, uint8_t kind, const uint8_t *key, size_t key_len,
                                 const uint8_t *val, size_t val_len);
/* Visits ctx's records after (after_kind, after) (after_kind 0: from the
 * first) until fn returns non-zero. fn must not write through txn. */
int weft_crdt_snapshot_read(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, uint8_t after_kind,
                            const uint8_t *after, size_t after_len, weft_crdt_snap_fn fn,
                            void *user);
/* Stores one received record of a snapshot whose vector is v0: a state or
 * part overwrites ours (a state of another type drops ours first), a 'k'
 * record is kept, a log entry is kept when its seq is past our mark and
 * within v0. WEFT_EMALFORMED for a record that does not decode. */
int weft_crdt_snapshot_put(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                           const weft_crdt_id_t *v0, size_t n, uint8_t kind, const uint8_t *key,
                           size_t key_len, const uint8_t *val, size_t val_len);
/* Applies again our logged ops past v0 (ops the snapshot's sender lacked,
 * which an overwrite may have undone; applying is idempotent). */
int weft_crdt_snapshot_reapply(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                               const weft_crdt_id_t *v0, size_t n);
/* After the last record: marks rise to v0, floors to the sender's (at most
 * v0), the clock observes the sender's hlc. */
int weft_crdt_snapshot_finish(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                              const weft_crdt_id_t *v0, size_t n, const weft_crdt_id_t *floors,
                              size_t nf, uint64_t hlc, uint64_t wall_ms);
/* A snapshot left unfinished that no longer matters (this node got
 * everything of its vector otherwise): its keys are rebuilt as
 * weft_crdt_snapshot_finish does and its progress deleted. While a
 * snapshot's progress is stored, an op of another type than its key's
 * state never rebuilds the key (its states came without their ops); the
 * last chunk or this does. */
int weft_crdt_snapshot_drop(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len);
/* The engine's snapshot progress in ctx: stored (bytes), deleted (NULL). */
int weft_crdt_snapshot_note(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                            const uint8_t *bytes, size_t len);
int weft_crdt_snapshot_note_get(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                                const uint8_t **bytes, size_t *len);

/* Loads the state of (ctx, key): WEFT_ENOTFOUND when absent, WEFT_EARG when
 * it is not of `type` (0 accepts any type), WEFT_EMALFORMED when a stored
 * state or part is corrupt. *out is owned by the caller
 * (weft_crdt_state_delete) and independent of txn. Cost: the whole state
 * (every part of a map or set); weft_crdt_state_bytes(*out) tells its
 * size. */
int weft_crdt_read(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const uint8_t *key,
                   size_t key_len, uint8_t type, weft_crdt_state_t **out);

/* Like weft_crdt_read, but of a map, set or RGA loads only the part `part`
 * (a field, an element, weft_crdt_id_part of an RGA element; the state then
 * holds it or nothing), which is all a read of that field or element, or a
 * remove's payload, needs. Cost: one part. Of another type, the whole
 * state. */
int weft_crdt_read_part(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const uint8_t *key,
                        size_t key_len, uint8_t type, const uint8_t *part, size_t part_len,
                        weft_crdt_state_t **out);

#ifdef __cplusplus
}
#endif
#endif
