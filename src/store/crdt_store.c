/*
 * crdt_store.c — CRDT states, the op-log and each context's replication
 * clock in a data directory (include/weft/crdt_store.h). Sits on weft/db.h and
 * the pure weft/crdt.h; it does not touch LMDB directly.
 *
 * Invariants, each kept by doing every write of a call in the caller's
 * transaction: a context's op-log holds, for every origin, exactly the ops
 * floor+1..mark of that origin in that context (mark: its version vector
 * entry; floor: what compaction dropped, 0 before any); the
 * stored state of (ctx, key) is the apply of every op of that (ctx, key)
 * under the marks, logged or compacted; the context's stored clock is at
 * least every such op's timestamp. The local
 * node's next seq in a context is its own mark there + 1, so there is no
 * separate seq counter to drift from the log.
 *
 * The clock is the context's ('h' under the context in the op-log), so a
 * write touches nothing outside its context and an overlay transaction
 * takes it (docs/sync.md "Clocks"). A data directory written before kept
 * one node-wide clock in `meta` ("crdt/hlc"): it is still read, never
 * written, and a context's clock is the larger of the two.
 */
#include <stdlib.h>
#include <string.h>

#include "weft/crdt_store.h"
#include "weft/error.h"

#define META WEFT_SPACE_META
#define OPLOG WEFT_SPACE_OPLOG

/* In WEFT_SPACE_OPLOG, under the context: 'l' origin seq -> op, 'm' origin
 * -> mark. */
#define LOG_TAG 'l'
#define MARK_TAG 'm'
/* Compaction (docs/sync.md "Compaction and snapshots"): 'f' origin ->
 * floor (its ops 1..floor may be gone from the log), 'k' key -> nothing
 * (some op of the key was compacted: its type is fixed), 'a' peer -> the
 * version vector the peer acknowledged (n x origin[32] seq u64 BE), 'S' ->
 * the replication engine's snapshot progress (opaque here). 'h' -> the
 * context's clock (u64 BE). */
#define FLOOR_TAG 'f'
#define KEYFIX_TAG 'k'
#define ACK_TAG 'a'
#define SNAP_TAG 'S'
#define CLOCK_TAG 'h'
#define LOG_KEY_LEN (1 + WEFT_CRDT_ORIGIN_LEN + 8)
#define MARK_KEY_LEN (1 + WEFT_CRDT_ORIGIN_LEN)

/* The node-wide clock of data directories written before the clock was
 * per context: read, never written. */
static const uint8_t legacy_hlc_key[] = "crdt/hlc";
#define LEGACY_HLC_KEY_LEN (sizeof legacy_hlc_key - 1)
static const uint8_t clock_key = CLOCK_TAG;

/* ---- small helpers --------------------------------------------------- */

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void mark_key(const uint8_t *origin, uint8_t out[MARK_KEY_LEN])
{
    out[0] = MARK_TAG;
    memcpy(out + 1, origin, WEFT_CRDT_ORIGIN_LEN);
}

static void log_key(const uint8_t *origin, uint64_t seq, uint8_t out[LOG_KEY_LEN])
{
    out[0] = LOG_TAG;
    memcpy(out + 1, origin, WEFT_CRDT_ORIGIN_LEN);
    put_be64(out + 1 + WEFT_CRDT_ORIGIN_LEN, seq);
}

/* A u64 BE value of (space, ctx, key); *out = 0 when absent. */
static int get_u64(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                   const uint8_t *key, size_t key_len, uint64_t *out)
{
    const uint8_t *v;
    size_t n;
    int rc = weft_txn_get(txn, space, ctx, ctx_len, key, key_len, &v, &n);
    *out = 0;
    if (rc == WEFT_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (n != 8)
        return WEFT_EMALFORMED;
    *out = get_be64(v);
    return 0;
}

static int put_u64(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                   const uint8_t *key, size_t key_len, uint64_t v)
{
    uint8_t b[8];
    put_be64(b, v);
    return weft_txn_put(txn, space, ctx, ctx_len, key, key_len, b, sizeof b);
}

/* Context ctx's clock: its own record, or the legacy node-wide one when
 * that is higher (a context last written before the clock moved). */
static int get_hlc(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, uint64_t *out)
{
    uint64_t legacy;
    int rc = get_u64(txn, OPLOG, ctx, ctx_len, &clock_key, 1, out);
    if (rc == 0)
        rc = get_u64(txn, META, NULL, 0, legacy_hlc_key, LEGACY_HLC_KEY_LEN, &legacy);
    if (rc == 0 && legacy > *out)
        *out = legacy;
    return rc;
}

static int put_hlc(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, uint64_t v)
{
    return put_u64(txn, OPLOG, ctx, ctx_len, &clock_key, 1, v);
}

/* Lets ctx's clock observe a remote timestamp. */
static int observe_hlc(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, uint64_t hlc,
                       uint64_t wall_ms)
{
    weft_hlc_t clock;
    uint64_t have;
    int rc = get_hlc(txn, ctx, ctx_len, &have);
    if (rc < 0)
        return rc;
    weft_hlc_init(&clock, have);
    weft_hlc_observe(&clock, hlc, wall_ms);
    return put_hlc(txn, ctx, ctx_len, clock.last);
}

/* origin's mark in context ctx. */
static int get_mark(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const uint8_t *origin,
                    uint64_t *out)
{
    uint8_t k[MARK_KEY_LEN];
    mark_key(origin, k);
    return get_u64(txn, OPLOG, ctx, ctx_len, k, sizeof k, out);
}

static int put_mark(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const uint8_t *origin,
                    uint64_t seq)
{
    uint8_t k[MARK_KEY_LEN];
    mark_key(origin, k);
    return put_u64(txn, OPLOG, ctx, ctx_len, k, sizeof k, seq);
}

/* ---- where states live -----------------------------------------------
 * An unparted type (counters, register) keeps its whole state under
 * (ctx, key) in WEFT_SPACE_CRDT. A parted one (weft_crdt_type_parted: map,
 * set, RGA) keeps there only a header, the encoding of an empty state of its
 * type, which records the type; each part (field, element) is the encoding
 * of a one-part state in WEFT_SPACE_CRDT_PARTS under (ctx, part_key(key,
 * part)). An op then loads and stores one part, and reads of one field or
 * element load only it. */

#define PART_KEY_MAX WEFT_DB_PART_KEY_MAX

/* [u16 BE key_len][key][part]: the parts of one key are one contiguous
 * range ordered by part, and no key's range overlaps another's. */
static size_t part_key(const uint8_t *key, size_t key_len, const uint8_t *part, size_t part_len,
                       uint8_t out[PART_KEY_MAX])
{
    out[0] = (uint8_t)(key_len >> 8);
    out[1] = (uint8_t)key_len;
    if (key_len)
        memcpy(out + 2, key, key_len);
    if (part_len)
        memcpy(out + 2 + key_len, part, part_len);
    return 2 + key_len + part_len;
}

/* Decodes a stored part and checks it is exactly part `name` of `type`. */
static int decode_part(const uint8_t *v, size_t n, uint8_t type, const uint8_t *name,
                       size_t name_len, weft_crdt_state_t **out)
{
    const uint8_t *got;
    size_t got_len;
    int rc = weft_crdt_state_decode(v, n, out);
    if (rc < 0)
        return rc;
    if (weft_crdt_state_type(*out) != type || weft_crdt_parts(*out) != 1 ||
        weft_crdt_part_name(*out, 0, &got, &got_len) != 0 || got_len != name_len ||
        (name_len && memcmp(got, name, name_len) != 0)) {
        weft_crdt_state_delete(*out);
        *out = NULL;
        return WEFT_EMALFORMED;
    }
    return 0;
}

/* Loads the header or whole state of (ctx, key): WEFT_ENOTFOUND when
 * absent, WEFT_EARG when not of `type` (0: any). A parted type's header
 * must hold no part. */
static int load_head(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const uint8_t *key,
                     size_t key_len, uint8_t type, weft_crdt_state_t **out)
{
    const uint8_t *v;
    size_t n;
    int rc = weft_txn_get(txn, WEFT_SPACE_CRDT, ctx, ctx_len, key, key_len, &v, &n);
    *out = NULL;
    if (rc < 0)
        return rc;
    if ((rc = weft_crdt_state_decode(v, n, out)) < 0)
        return rc;
    if (type != 0 && weft_crdt_state_type(*out) != type)
        rc = WEFT_EARG;
    else if (weft_crdt_parts(*out) != 0)
        rc = WEFT_EMALFORMED;
    if (rc < 0) {
        weft_crdt_state_delete(*out);
        *out = NULL;
    }
    return rc;
}

/* Loads part `part` of a parted (ctx, key) into the header state st (empty
 * of parts): nothing when absent. */
static int load_part_into(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                          const uint8_t *key, size_t key_len, const uint8_t *part,
                          size_t part_len, weft_crdt_state_t *st)
{
    uint8_t pk[PART_KEY_MAX];
    size_t pkl = part_key(key, key_len, part, part_len, pk);
    weft_crdt_state_t *one = NULL;
    const uint8_t *v;
    size_t n;
    int rc = weft_txn_get(txn, WEFT_SPACE_CRDT_PARTS, ctx, ctx_len, pk, pkl, &v, &n);
    if (rc == WEFT_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if ((rc = decode_part(v, n, weft_crdt_state_type(st), part, part_len, &one)) < 0)
        return rc;
    rc = weft_crdt_state_absorb(st, one);
    weft_crdt_state_delete(one);
    return rc;
}

/* The state an op on (ctx, key) works on: the whole state of an unparted
 * type; for a parted one the header holding just part `part` (when
 * stored). A key with no state gets a new empty one and *fresh = 1. */
static int load_for_op(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const uint8_t *key,
                       size_t key_len, uint8_t type, const uint8_t *part, size_t part_len,
                       int *fresh, weft_crdt_state_t **out)
{
    int rc = weft_crdt_read_part(txn, ctx, ctx_len, key, key_len, type, part, part_len, out);
    *fresh = rc == WEFT_ENOTFOUND;
    return *fresh ? weft_crdt_state_new(type, out) : rc;
}

/* Encodes st and stores it; *written (may be NULL) gets its size. */
static int put_state(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                     const uint8_t *key, size_t key_len, const weft_crdt_state_t *st,
                     size_t *written)
{
    uint8_t *bytes = NULL;
    size_t n = 0;
    int rc = weft_crdt_state_encode(st, &bytes, &n);
    if (rc < 0)
        return rc;
    rc = weft_txn_put(txn, space, ctx, ctx_len, key, key_len, bytes, n);
    free(bytes);
    if (written)
        *written = n;
    return rc;
}

/* Stores what load_for_op loaded, after an apply: the whole state, or the
 * part (and the header when the key is fresh). */
static int store_for_op(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const uint8_t *key,
                        size_t key_len, const uint8_t *part, size_t part_len, int fresh,
                        const weft_crdt_state_t *st, size_t *written)
{
    uint8_t type = weft_crdt_state_type(st), pk[PART_KEY_MAX];
    weft_crdt_state_t *head;
    size_t pkl;
    int rc;
    *written = 0;
    if (!weft_crdt_type_parted(type))
        return put_state(txn, WEFT_SPACE_CRDT, ctx, ctx_len, key, key_len, st, written);
    if (fresh) {
        if ((rc = weft_crdt_state_new(type, &head)) < 0)
            return rc;
        rc = put_state(txn, WEFT_SPACE_CRDT, ctx, ctx_len, key, key_len, head, NULL);
        weft_crdt_state_delete(head);
        if (rc < 0)
            return rc;
    }
    pkl = part_key(key, key_len, part, part_len, pk);
    if (weft_crdt_parts(st) == 0) /* an op that left no trace */
        return weft_txn_del(txn, WEFT_SPACE_CRDT_PARTS, ctx, ctx_len, pk, pkl);
    return put_state(txn, WEFT_SPACE_CRDT_PARTS, ctx, ctx_len, pk, pkl, st, written);
}

/* Applies op (already validated) to its (ctx, key) state and stores it. */
static int apply_and_store(weft_txn_t *txn, const weft_crdt_op_t *op)
{
    weft_crdt_state_t *st = NULL;
    const uint8_t *part = NULL;
    uint8_t scratch[WEFT_CRDT_ID_LEN];
    size_t part_len = 0, written;
    int fresh, rc = weft_crdt_op_part(op, scratch, &part, &part_len);
    if (rc < 0)
        return rc;
    rc = load_for_op(txn, op->context, op->context_len, op->key, op->key_len, op->type, part,
                     part_len, &fresh, &st);
    if (rc == 0)
        rc = weft_crdt_apply(st, op);
    if (rc == 0)
        rc = store_for_op(txn, op->context, op->context_len, op->key, op->key_len, part, part_len,
                          fresh, st, &written);
    weft_crdt_state_delete(st);
    return rc;
}

static int append_log(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const uint8_t *origin,
                      uint64_t seq, const uint8_t *bytes, size_t len)
{
    uint8_t k[LOG_KEY_LEN];
    log_key(origin, seq, k);
    return weft_txn_put(txn, OPLOG, ctx, ctx_len, k, sizeof k, bytes, len);
}

/* ---- the node in a context: its clock and seq ------------------------ */

int weft_crdt_node_load(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                        const uint8_t origin[WEFT_CRDT_ORIGIN_LEN], weft_crdt_node_t *out)
{
    uint64_t hlc, mark;
    int rc;
    memset(out, 0, sizeof *out);
    if (!txn || !origin || (ctx_len && !ctx))
        return WEFT_EARG;
    if ((rc = get_hlc(txn, ctx, ctx_len, &hlc)) < 0)
        return rc;
    if ((rc = get_mark(txn, ctx, ctx_len, origin, &mark)) < 0)
        return rc;
    if (mark == UINT64_MAX)
        return WEFT_ELIMIT;
    memcpy(out->origin, origin, WEFT_CRDT_ORIGIN_LEN);
    weft_hlc_init(&out->hlc, hlc);
    out->next_seq = mark + 1;
    return 0;
}

int weft_crdt_node_save(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                        const weft_crdt_node_t *node)
{
    int rc = put_hlc(txn, ctx, ctx_len, node->hlc.last);
    if (rc == 0 && node->next_seq > 0)
        rc = put_mark(txn, ctx, ctx_len, node->origin, node->next_seq - 1);
    return rc;
}

/* ---- local ops ------------------------------------------------------- */

/* Builds the payload of a local op into a malloc'ed *out (NULL for an
 * empty payload), or points *out_raw at caller bytes for kinds whose
 * payload is a single byte string. */
static int build_payload(const weft_crdt_state_t *st, const uint8_t *origin, uint8_t kind,
                         const weft_crdt_input_t *in, uint8_t **out, const uint8_t **out_raw,
                         size_t *out_len)
{
    size_t need = 0;
    int rc;
    *out = NULL;
    *out_raw = NULL;
    *out_len = 0;
    switch (kind) {
    case WEFT_CRDT_SET:
    case WEFT_CRDT_ADD:
        if (in->value_len > 0 && !in->value)
            return WEFT_EARG;
        *out_raw = in->value;
        *out_len = in->value_len;
        return 0;
    case WEFT_CRDT_MAP_REMOVE:
        if (in->field_len > 0 && !in->field)
            return WEFT_EARG;
        *out_raw = in->field;
        *out_len = in->field_len;
        return 0;
    case WEFT_CRDT_DELETE:
        if (!in->target)
            return WEFT_EARG;
        break;
    case WEFT_CRDT_INC:
    case WEFT_CRDT_DEC:
    case WEFT_CRDT_MAP_SET:
    case WEFT_CRDT_REMOVE:
    case WEFT_CRDT_INSERT:
        break;
    default:
        return WEFT_EARG;
    }
    /* Two passes: size with cap 0, then build. */
    for (int pass = 0; pass < 2; pass++) {
        uint8_t *buf = *out;
        size_t cap = pass ? need : 0;
        switch (kind) {
        case WEFT_CRDT_INC:
        case WEFT_CRDT_DEC:
            rc = weft_crdt_payload_counter(st, origin, kind, in->delta, buf, cap, &need);
            break;
        case WEFT_CRDT_MAP_SET:
            rc = weft_crdt_payload_map_set(in->field, in->field_len, in->value, in->value_len, buf,
                                           cap, &need);
            break;
        case WEFT_CRDT_REMOVE:
            rc = weft_crdt_payload_orset_remove(st, in->value, in->value_len, buf, cap, &need);
            break;
        case WEFT_CRDT_INSERT:
            rc = weft_crdt_payload_rga_insert(in->target, in->value, in->value_len, buf, cap,
                                              &need);
            break;
        default: /* WEFT_CRDT_DELETE */
            rc = weft_crdt_payload_rga_delete(in->target, buf, cap, &need);
            break;
        }
        if (pass == 0) {
            if (rc < 0 && rc != WEFT_ELIMIT)
                return rc;
            if (rc == 0 && need == 0)
                return 0;
            if (rc == 0 || need == 0) /* a builder that wrote into cap 0 */
                return WEFT_EARG;
            if (!(*out = malloc(need)))
                return WEFT_ENOMEM;
        } else if (rc < 0) {
            free(*out);
            *out = NULL;
            return rc;
        }
    }
    *out_len = need;
    return 0;
}

/* The part a local op of `kind` touches: the field of a map op, the
 * element of a set op, the record of the new element (id) of an RGA insert
 * or of the target of a delete (nothing for other kinds). */
static void input_part(uint8_t kind, const weft_crdt_input_t *in, const weft_crdt_id_t *id,
                       uint8_t scratch[WEFT_CRDT_ID_LEN], const uint8_t **part, size_t *part_len)
{
    *part = NULL;
    *part_len = 0;
    if (kind == WEFT_CRDT_MAP_SET || kind == WEFT_CRDT_MAP_REMOVE) {
        *part = in->field;
        *part_len = in->field_len;
    } else if (kind == WEFT_CRDT_ADD || kind == WEFT_CRDT_REMOVE) {
        *part = in->value;
        *part_len = in->value_len;
    } else if (kind == WEFT_CRDT_INSERT || (kind == WEFT_CRDT_DELETE && in->target)) {
        weft_crdt_id_part(kind == WEFT_CRDT_INSERT ? id : in->target, scratch);
        *part = scratch;
        *part_len = WEFT_CRDT_ID_LEN;
    }
}

/* Whether this replica has the insert of RGA element id at (ctx, key):
 * 1, 0, or an error. */
static int rga_known(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const uint8_t *key,
                     size_t key_len, const weft_crdt_id_t *id)
{
    uint8_t part[WEFT_CRDT_ID_LEN];
    weft_crdt_state_t *st = NULL;
    int rc;
    weft_crdt_id_part(id, part);
    rc = weft_crdt_read_part(txn, ctx, ctx_len, key, key_len, WEFT_CRDT_RGA, part, sizeof part,
                             &st);
    if (rc == 0)
        rc = weft_crdt_rga_contains(st, id);
    weft_crdt_state_delete(st);
    return rc == WEFT_ENOTFOUND ? 0 : rc;
}

/* Encodes op into a malloc'ed buffer. */
static int encode_op(const weft_crdt_op_t *op, uint8_t **out, size_t *out_len)
{
    size_t need = 0;
    int rc = weft_crdt_op_encode(op, NULL, 0, &need);
    *out = NULL;
    if (rc < 0 && rc != WEFT_ELIMIT)
        return rc;
    if (!(*out = malloc(need ? need : 1)))
        return WEFT_ENOMEM;
    if ((rc = weft_crdt_op_encode(op, *out, need, out_len)) < 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

int weft_crdt_local(weft_txn_t *txn, const uint8_t origin[WEFT_CRDT_ORIGIN_LEN], uint64_t wall_ms,
                    const uint8_t *ctx, size_t ctx_len, const uint8_t *key, size_t key_len,
                    uint8_t type, uint8_t kind, const weft_crdt_input_t *in,
                    weft_crdt_id_t *out_id, size_t *stored_bytes)
{
    static const weft_crdt_input_t none = {0};
    weft_crdt_node_t node;
    weft_crdt_state_t *st = NULL;
    weft_crdt_op_t op;
    uint8_t *payload = NULL, *enc = NULL;
    const uint8_t *raw = NULL, *part = NULL;
    uint8_t scratch[WEFT_CRDT_ID_LEN];
    weft_crdt_id_t id;
    size_t payload_len = 0, enc_len = 0, part_len = 0, written = 0;
    int rc, fresh;

    if (!txn || !origin || (ctx_len && !ctx) || (key_len && !key))
        return WEFT_EARG;
    if (!in)
        in = &none;
    if ((rc = weft_crdt_node_load(txn, ctx, ctx_len, origin, &node)) < 0)
        goto done;
    memcpy(id.origin, origin, WEFT_CRDT_ORIGIN_LEN);
    id.seq = node.next_seq;
    input_part(kind, in, &id, scratch, &part, &part_len);
    if (ctx_len > WEFT_CRDT_CONTEXT_MAX || key_len > WEFT_CRDT_KEY_MAX ||
        part_len > WEFT_CRDT_FIELD_MAX) {
        rc = WEFT_EARG;
        goto done;
    }
    if ((rc = load_for_op(txn, ctx, ctx_len, key, key_len, type, part, part_len, &fresh, &st)) <
        0)
        goto done;
    /* A delete's part is its target's record, already in st; an insert's
     * parent is another record. */
    if (type == WEFT_CRDT_RGA && in->target &&
        (kind == WEFT_CRDT_DELETE ? (rc = weft_crdt_rga_contains(st, in->target)) <= 0
         : kind == WEFT_CRDT_INSERT
             ? (rc = rga_known(txn, ctx, ctx_len, key, key_len, in->target)) <= 0
             : 0)) {
        /* a local op must not wait for an element that may never come */
        rc = rc < 0 ? rc : WEFT_ENOTFOUND;
        goto done;
    }
    if ((rc = build_payload(st, origin, kind, in, &payload, &raw, &payload_len)) < 0)
        goto done;

    memset(&op, 0, sizeof op);
    op.context = ctx;
    op.context_len = ctx_len;
    op.key = key;
    op.key_len = key_len;
    op.type = type;
    op.kind = kind;
    memcpy(op.origin, origin, WEFT_CRDT_ORIGIN_LEN);
    op.seq = node.next_seq;
    op.hlc = weft_hlc_now(&node.hlc, wall_ms);
    op.payload = payload ? payload : raw;
    op.payload_len = payload_len;

    /* Encoding validates the op (bounds, kind of type) before any write. */
    if ((rc = encode_op(&op, &enc, &enc_len)) < 0)
        goto done;
    if ((rc = weft_crdt_apply(st, &op)) < 0)
        goto done;
    if ((rc = store_for_op(txn, ctx, ctx_len, key, key_len, part, part_len, fresh, st,
                           &written)) < 0)
        goto done;
    if ((rc = append_log(txn, ctx, ctx_len, origin, op.seq, enc, enc_len)) < 0)
        goto done;
    node.next_seq++;
    if ((rc = weft_crdt_node_save(txn, ctx, ctx_len, &node)) < 0)
        goto done;
    if (out_id)
        *out_id = weft_crdt_op_id(&op);
    if (stored_bytes)
        *stored_bytes = weft_crdt_state_bytes(st) + written + enc_len;
done:
    free(enc);
    free(payload);
    weft_crdt_state_delete(st);
    return rc;
}

/* ---- remote ops ------------------------------------------------------ */

/* Encoded ops copied out of a scan (a visit cannot write). */
typedef struct {
    uint8_t **ops;
    size_t *lens, n, cap;
    int rc;
} op_list_t;

static int op_collect(void *user, const uint8_t *b, size_t len)
{
    op_list_t *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        uint8_t **o = realloc(l->ops, cap * sizeof *o);
        size_t *ln = o ? realloc(l->lens, cap * sizeof *ln) : NULL;
        if (o)
            l->ops = o;
        if (!ln) {
            l->rc = WEFT_ENOMEM;
            return 1;
        }
        l->lens = ln;
        l->cap = cap;
    }
    if (!(l->ops[l->n] = malloc(len ? len : 1))) {
        l->rc = WEFT_ENOMEM;
        return 1;
    }
    memcpy(l->ops[l->n], b, len);
    l->lens[l->n++] = len;
    return 0;
}

static void op_list_free(op_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->ops[i]);
    free(l->ops);
    free(l->lens);
}

/* Concurrent types (docs/sync.md "Replication"): two nodes may create one
 * key with different types at once. A key's type is that of its earliest
 * logged op by stamp (hlc, origin, seq); an op of another type is logged
 * and advances its origin's mark but changes no state, unless it is the
 * earliest of all: then the key's state is rebuilt from the logged ops of
 * its type. Every node so ends with the same ops of the same type applied.
 * The scan of the context's op-log is paid once per such op, a rare one. */
typedef struct {
    const weft_crdt_op_t *op;
    weft_crdt_op_t first; /* the key's earliest logged op (valid when any) */
    int any;
    op_list_t l; /* copies of the logged ops of op's key and type */
    int rc;
} key_scan_t;

static int key_visit(void *user, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    key_scan_t *s = user;
    weft_crdt_op_t op;
    (void)k;
    (void)kl;
    if ((s->rc = weft_crdt_op_decode(v, vl, &op)) < 0)
        return 1;
    if (op.key_len != s->op->key_len || memcmp(op.key, s->op->key, op.key_len) != 0)
        return 0;
    /* first's pointers would dangle after the scan: only its stamp and
     * type are used */
    if (!s->any || weft_crdt_stamp_cmp(op.hlc, op.origin, op.seq, s->first.hlc, s->first.origin,
                                       s->first.seq) < 0) {
        s->first = op;
        s->any = 1;
    }
    if (op.type != s->op->type)
        return 0;
    if (op_collect(&s->l, v, vl)) {
        s->rc = s->l.rc;
        return 1;
    }
    return 0;
}

static int first_key(void *user, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    uint8_t *out = user;
    (void)v;
    (void)vl;
    out[0] = (uint8_t)(kl >> 8);
    out[1] = (uint8_t)kl;
    memcpy(out + 2, k, kl);
    return 1;
}

/* Drops the state of (ctx, key): its header and every part. */
static int drop_state(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const uint8_t *key,
                      size_t key_len)
{
    uint8_t pk[PART_KEY_MAX], found[2 + PART_KEY_MAX];
    size_t pkl = part_key(key, key_len, NULL, 0, pk);
    int rc = weft_txn_del(txn, WEFT_SPACE_CRDT, ctx, ctx_len, key, key_len);
    if (rc < 0 && rc != WEFT_ENOTFOUND)
        return rc;
    for (;;) { /* one part at a time: a scan must not write */
        found[0] = found[1] = 0xff;
        rc = weft_txn_scan(txn, WEFT_SPACE_CRDT_PARTS, ctx, ctx_len, pk, pkl, NULL, 0, first_key,
                           found);
        if (rc < 0)
            return rc;
        if (found[0] == 0xff && found[1] == 0xff)
            return 0;
        rc = weft_txn_del(txn, WEFT_SPACE_CRDT_PARTS, ctx, ctx_len, found + 2,
                          ((size_t)found[0] << 8) | found[1]);
        if (rc < 0)
            return rc;
    }
}

/* op's type differs from its key's stored state: keeps the state, or
 * rebuilds it of op's type when op is the key's earliest. */
static int apply_other_type(weft_txn_t *txn, const weft_crdt_op_t *op)
{
    static const uint8_t log_tag = LOG_TAG;
    uint8_t fk[1 + WEFT_CRDT_KEY_MAX];
    const uint8_t *v;
    size_t vl;
    key_scan_t s;
    int rc;
    /* Some op of the key was compacted: it was causally stable (every op
     * concurrent with it was here), so no op to come is earlier than it
     * and the key's type is fixed. The log alone no longer knows the
     * key's earliest op: do not look. */
    fk[0] = KEYFIX_TAG;
    memcpy(fk + 1, op->key, op->key_len);
    rc = weft_txn_get(txn, OPLOG, op->context, op->context_len, fk, 1 + op->key_len, &v, &vl);
    if (rc != WEFT_ENOTFOUND)
        return rc;
    /* A snapshot of the context is being taken: its states came without
     * their ops, so the log cannot rebuild the key; its last chunk does
     * (rebuild_unfixed), with this op logged by then. */
    fk[0] = SNAP_TAG;
    rc = weft_txn_get(txn, OPLOG, op->context, op->context_len, fk, 1, &v, &vl);
    if (rc != WEFT_ENOTFOUND)
        return rc;
    memset(&s, 0, sizeof s);
    s.op = op;
    rc = weft_txn_scan(txn, OPLOG, op->context, op->context_len, &log_tag, 1, NULL, 0, key_visit,
                       &s);
    if (rc == 0)
        rc = s.rc;
    /* no logged op of the key (a state that came from elsewhere): it stays */
    if (rc == 0 && s.any &&
        weft_crdt_stamp_cmp(op->hlc, op->origin, op->seq, s.first.hlc, s.first.origin,
                            s.first.seq) < 0) {
        rc = drop_state(txn, op->context, op->context_len, op->key, op->key_len);
        for (size_t i = 0; i < s.l.n && rc == 0; i++) {
            weft_crdt_op_t o;
            if ((rc = weft_crdt_op_decode(s.l.ops[i], s.l.lens[i], &o)) == 0)
                rc = apply_and_store(txn, &o);
        }
        if (rc == 0)
            rc = apply_and_store(txn, op);
    }
    op_list_free(&s.l);
    return rc;
}

/* The type of the stored state of op's key: 0 when there is none. */
static int stored_type(weft_txn_t *txn, const weft_crdt_op_t *op, uint8_t *out)
{
    weft_crdt_state_t *st = NULL;
    int rc = load_head(txn, op->context, op->context_len, op->key, op->key_len, 0, &st);
    *out = 0;
    if (rc == WEFT_ENOTFOUND)
        return 0;
    if (rc == 0)
        *out = weft_crdt_state_type(st);
    weft_crdt_state_delete(st);
    return rc;
}

int weft_crdt_apply_remote(weft_txn_t *txn, const uint8_t *op_bytes, size_t len, uint64_t wall_ms)
{
    weft_crdt_op_t op;
    uint64_t mark;
    int rc;

    if (!txn || (len && !op_bytes))
        return WEFT_EARG;
    if ((rc = weft_crdt_op_decode(op_bytes, len, &op)) < 0)
        return rc;
    if (op.seq == 0)
        return WEFT_EMALFORMED;
    if ((rc = get_mark(txn, op.context, op.context_len, op.origin, &mark)) < 0)
        return rc;
    if (op.seq <= mark)
        return 0; /* duplicate: exactly-once by (context, origin, seq) */
    if (op.seq != mark + 1)
        return WEFT_EARG; /* gap: per-origin in-order delivery is assumed */
    if ((rc = apply_and_store(txn, &op)) == WEFT_EARG) {
        uint8_t type;
        if ((rc = stored_type(txn, &op, &type)) < 0)
            return rc;
        rc = type && type != op.type ? apply_other_type(txn, &op) : WEFT_EARG;
    }
    if (rc < 0)
        return rc;
    if ((rc = append_log(txn, op.context, op.context_len, op.origin, op.seq, op_bytes, len)) < 0)
        return rc;
    if ((rc = put_mark(txn, op.context, op.context_len, op.origin, op.seq)) < 0)
        return rc;
    return observe_hlc(txn, op.context, op.context_len, op.hlc, wall_ms);
}

/* ---- version vectors and anti-entropy -------------------------------- */

typedef struct {
    weft_crdt_vv_fn fn;
    void *user;
    int rc;
} vv_scan_t;

static int vv_visit(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                    size_t val_len)
{
    vv_scan_t *s = user;
    if (key_len != MARK_KEY_LEN || val_len != 8) {
        s->rc = WEFT_EMALFORMED;
        return 1;
    }
    return s->fn(s->user, key + 1, get_be64(val));
}

/* Visits the (origin -> u64) entries under tag ('m' marks, 'f' floors). */
static int tag_vv(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, uint8_t tag,
                  weft_crdt_vv_fn fn, void *user)
{
    vv_scan_t s = {fn, user, 0};
    int rc;
    if (!txn || !fn || (ctx_len && !ctx))
        return WEFT_EARG;
    rc = weft_txn_scan(txn, OPLOG, ctx, ctx_len, &tag, 1, NULL, 0, vv_visit, &s);
    return rc < 0 ? rc : s.rc;
}

int weft_crdt_version_vector(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                             weft_crdt_vv_fn fn, void *user)
{
    return tag_vv(txn, ctx, ctx_len, MARK_TAG, fn, user);
}

/* Our marks, collected before the op-log scans (a scan cannot nest in a
 * visit that might want the cursor). */
typedef struct {
    weft_crdt_id_t *v;
    size_t n, cap;
    int rc;
} vv_list_t;

static int vv_collect(void *user, const uint8_t origin[WEFT_CRDT_ORIGIN_LEN], uint64_t seq)
{
    vv_list_t *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        weft_crdt_id_t *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->rc = WEFT_ENOMEM;
            return 1;
        }
        l->v = v;
        l->cap = cap;
    }
    memcpy(l->v[l->n].origin, origin, WEFT_CRDT_ORIGIN_LEN);
    l->v[l->n].seq = seq;
    l->n++;
    return 0;
}

typedef struct {
    weft_crdt_op_fn fn;
    void *user;
    uint64_t upto; /* the origin's mark: a snapshot being taken may have put
                      entries past it, which this node does not hold yet */
    int stopped;
} log_scan_t;

static int log_visit(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                     size_t val_len)
{
    log_scan_t *s = user;
    if (key_len != LOG_KEY_LEN || get_be64(key + 1 + WEFT_CRDT_ORIGIN_LEN) > s->upto)
        return 1;
    if (s->fn(s->user, val, val_len)) {
        s->stopped = 1;
        return 1;
    }
    return 0;
}

int weft_crdt_missing(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                      const weft_crdt_id_t *vv, size_t n, weft_crdt_op_fn fn, void *user)
{
    vv_list_t ours = {NULL, 0, 0, 0};
    log_scan_t s = {fn, user, 0, 0};
    int rc;

    if (!txn || !fn || (n && !vv) || (ctx_len && !ctx))
        return WEFT_EARG;
    rc = weft_crdt_version_vector(txn, ctx, ctx_len, vv_collect, &ours);
    if (rc == 0)
        rc = ours.rc;
    /* O(ours * n) to match marks: fine while origins number in the tens. */
    for (size_t i = 0; rc == 0 && !s.stopped && i < ours.n; i++) {
        uint64_t theirs = 0;
        uint8_t after[LOG_KEY_LEN];
        for (size_t j = 0; j < n; j++)
            if (memcmp(vv[j].origin, ours.v[i].origin, WEFT_CRDT_ORIGIN_LEN) == 0 &&
                vv[j].seq > theirs)
                theirs = vv[j].seq;
        if (theirs >= ours.v[i].seq)
            continue;
        log_key(ours.v[i].origin, theirs, after);
        s.upto = ours.v[i].seq;
        rc = weft_txn_scan(txn, OPLOG, ctx, ctx_len, after, 1 + WEFT_CRDT_ORIGIN_LEN, after,
                           sizeof after, log_visit, &s);
    }
    free(ours.v);
    return rc;
}

/* ---- reads ----------------------------------------------------------- */

typedef struct {
    weft_crdt_state_t *st;
    const uint8_t *pk; /* the key's part-key prefix */
    size_t pkl;
    int rc;
} parts_scan_t;

static int parts_visit(void *user, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    parts_scan_t *s = user;
    weft_crdt_state_t *one = NULL;
    s->rc = decode_part(v, vl, weft_crdt_state_type(s->st), k + s->pkl, kl - s->pkl, &one);
    if (s->rc == 0)
        s->rc = weft_crdt_state_absorb(s->st, one);
    weft_crdt_state_delete(one);
    return s->rc != 0;
}

static int check_read_args(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                           const uint8_t *key, size_t key_len, weft_crdt_state_t **out)
{
    if (!out)
        return WEFT_EARG;
    *out = NULL;
    if (!txn || (ctx_len && !ctx) || (key_len && !key) || key_len > WEFT_DB_KEY_MAX)
        return WEFT_EARG;
    return 0;
}

int weft_crdt_read(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const uint8_t *key,
                   size_t key_len, uint8_t type, weft_crdt_state_t **out)
{
    uint8_t pk[PART_KEY_MAX];
    parts_scan_t s;
    int rc = check_read_args(txn, ctx, ctx_len, key, key_len, out);
    if (rc == 0)
        rc = load_head(txn, ctx, ctx_len, key, key_len, type, out);
    if (rc < 0 || !weft_crdt_type_parted(weft_crdt_state_type(*out)))
        return rc;
    s.st = *out;
    s.pk = pk;
    s.pkl = part_key(key, key_len, NULL, 0, pk);
    s.rc = 0;
    rc = weft_txn_scan(txn, WEFT_SPACE_CRDT_PARTS, ctx, ctx_len, pk, s.pkl, NULL, 0, parts_visit,
                       &s);
    if (rc == 0)
        rc = s.rc;
    if (rc < 0) {
        weft_crdt_state_delete(*out);
        *out = NULL;
    }
    return rc;
}

int weft_crdt_read_part(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const uint8_t *key,
                        size_t key_len, uint8_t type, const uint8_t *part, size_t part_len,
                        weft_crdt_state_t **out)
{
    int rc = check_read_args(txn, ctx, ctx_len, key, key_len, out);
    if (rc == 0 && part_len > WEFT_CRDT_FIELD_MAX)
        rc = WEFT_EARG;
    if (rc == 0)
        rc = load_head(txn, ctx, ctx_len, key, key_len, type, out);
    if (rc < 0 || !weft_crdt_type_parted(weft_crdt_state_type(*out)))
        return rc;
    if ((rc = load_part_into(txn, ctx, ctx_len, key, key_len, part, part_len, *out)) < 0) {
        weft_crdt_state_delete(*out);
        *out = NULL;
    }
    return rc;
}

/* ---- compaction and snapshots (docs/sync.md "Compaction and snapshots") */

#define ACK_ENTRY (WEFT_CRDT_ORIGIN_LEN + 8)

static int tag_get_u64(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, uint8_t tag,
                       const uint8_t *origin, uint64_t *out)
{
    uint8_t k[1 + WEFT_CRDT_ORIGIN_LEN];
    k[0] = tag;
    memcpy(k + 1, origin, WEFT_CRDT_ORIGIN_LEN);
    return get_u64(txn, OPLOG, ctx, ctx_len, k, sizeof k, out);
}

static int tag_put_u64(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, uint8_t tag,
                       const uint8_t *origin, uint64_t v)
{
    uint8_t k[1 + WEFT_CRDT_ORIGIN_LEN];
    k[0] = tag;
    memcpy(k + 1, origin, WEFT_CRDT_ORIGIN_LEN);
    return put_u64(txn, OPLOG, ctx, ctx_len, k, sizeof k, v);
}

static uint64_t vv_lookup(const weft_crdt_id_t *vv, size_t n, const uint8_t *origin)
{
    uint64_t best = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(vv[i].origin, origin, WEFT_CRDT_ORIGIN_LEN) == 0 && vv[i].seq > best)
            best = vv[i].seq;
    return best;
}

/* The stored acks of peer: *out malloc'ed (NULL when none), *n entries. */
static int acks_load(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, const uint8_t *peer,
                     weft_crdt_id_t **out, size_t *n, int *found)
{
    uint8_t k[1 + WEFT_CRDT_ORIGIN_LEN];
    const uint8_t *v;
    size_t vl;
    int rc;
    *out = NULL;
    *n = 0;
    *found = 0;
    k[0] = ACK_TAG;
    memcpy(k + 1, peer, WEFT_CRDT_ORIGIN_LEN);
    rc = weft_txn_get(txn, OPLOG, ctx, ctx_len, k, sizeof k, &v, &vl);
    if (rc == WEFT_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (vl % ACK_ENTRY)
        return WEFT_EMALFORMED;
    *found = 1;
    if (vl == 0)
        return 0;
    if (!(*out = malloc(vl / ACK_ENTRY * sizeof **out)))
        return WEFT_ENOMEM;
    for (size_t i = 0; i < vl / ACK_ENTRY; i++) {
        memcpy((*out)[i].origin, v + i * ACK_ENTRY, WEFT_CRDT_ORIGIN_LEN);
        (*out)[i].seq = get_be64(v + i * ACK_ENTRY + WEFT_CRDT_ORIGIN_LEN);
    }
    *n = vl / ACK_ENTRY;
    return 0;
}

int weft_crdt_acks_merge(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                         const uint8_t peer[WEFT_CRDT_ORIGIN_LEN], const weft_crdt_id_t *vv,
                         size_t n)
{
    weft_crdt_id_t *old = NULL;
    size_t on = 0, m = 0;
    uint8_t k[1 + WEFT_CRDT_ORIGIN_LEN], *buf = NULL;
    int found, rc;
    if (!txn || !peer || (n && !vv) || (ctx_len && !ctx))
        return WEFT_EARG;
    if ((rc = acks_load(txn, ctx, ctx_len, peer, &old, &on, &found)) < 0)
        return rc;
    /* the union, each origin at its highest (both sides may be unsorted) */
    if (!(buf = malloc((on + n) * ACK_ENTRY + 1))) {
        free(old);
        return WEFT_ENOMEM;
    }
    for (size_t pass = 0; pass < 2; pass++) {
        const weft_crdt_id_t *src = pass ? vv : old;
        size_t sn = pass ? n : on;
        for (size_t i = 0; i < sn; i++) {
            size_t j;
            for (j = 0; j < m; j++)
                if (memcmp(buf + j * ACK_ENTRY, src[i].origin, WEFT_CRDT_ORIGIN_LEN) == 0)
                    break;
            if (j == m) {
                memcpy(buf + m * ACK_ENTRY, src[i].origin, WEFT_CRDT_ORIGIN_LEN);
                put_be64(buf + m * ACK_ENTRY + WEFT_CRDT_ORIGIN_LEN, src[i].seq);
                m++;
            } else if (get_be64(buf + j * ACK_ENTRY + WEFT_CRDT_ORIGIN_LEN) < src[i].seq) {
                put_be64(buf + j * ACK_ENTRY + WEFT_CRDT_ORIGIN_LEN, src[i].seq);
            }
        }
    }
    k[0] = ACK_TAG;
    memcpy(k + 1, peer, WEFT_CRDT_ORIGIN_LEN);
    rc = weft_txn_put(txn, OPLOG, ctx, ctx_len, k, sizeof k, buf, m * ACK_ENTRY);
    free(buf);
    free(old);
    return rc;
}

/* One origin's log entries at or under a seq, with their ops' keys. */
typedef struct {
    uint64_t upto;
    size_t room;
    uint64_t *seqs;
    uint8_t **keys;
    size_t *key_lens, n;
    int rc, stopped;
} compact_scan_t;

static int compact_visit(void *user, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    compact_scan_t *s = user;
    weft_crdt_op_t op;
    uint64_t seq;
    if (kl != LOG_KEY_LEN) {
        s->rc = WEFT_EMALFORMED;
        return 1;
    }
    seq = get_be64(k + 1 + WEFT_CRDT_ORIGIN_LEN);
    if (seq > s->upto)
        return 1;
    if (s->n == s->room) {
        s->stopped = 1;
        return 1;
    }
    if ((s->rc = weft_crdt_op_decode(v, vl, &op)) < 0)
        return 1;
    /* a key of the longest size has no room for its 'k' record: its ops
     * stay (the origin's floor stops below them) */
    if (1 + op.key_len > WEFT_DB_KEY_MAX) {
        s->stopped = 1;
        return 1;
    }
    if (!(s->keys[s->n] = malloc(op.key_len + 1))) {
        s->rc = WEFT_ENOMEM;
        return 1;
    }
    memcpy(s->keys[s->n], op.key, op.key_len);
    s->key_lens[s->n] = op.key_len;
    s->seqs[s->n++] = seq;
    return 0;
}

/* Drops origin's entries up to `upto` (at most *budget), raising its floor. */
static int compact_origin(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                          const uint8_t *origin, uint64_t upto, size_t *budget, size_t *dropped)
{
    compact_scan_t s;
    uint8_t prefix[1 + WEFT_CRDT_ORIGIN_LEN], fk[1 + WEFT_DB_KEY_MAX];
    uint64_t floor;
    int rc;
    if ((rc = tag_get_u64(txn, ctx, ctx_len, FLOOR_TAG, origin, &floor)) < 0)
        return rc;
    if (upto <= floor || *budget == 0)
        return 0;
    memset(&s, 0, sizeof s);
    s.upto = upto;
    s.room = *budget;
    s.seqs = malloc(s.room * sizeof *s.seqs);
    s.keys = malloc(s.room * sizeof *s.keys);
    s.key_lens = malloc(s.room * sizeof *s.key_lens);
    if (!s.seqs || !s.keys || !s.key_lens) {
        rc = WEFT_ENOMEM;
        goto done;
    }
    prefix[0] = LOG_TAG;
    memcpy(prefix + 1, origin, WEFT_CRDT_ORIGIN_LEN);
    rc = weft_txn_scan(txn, OPLOG, ctx, ctx_len, prefix, sizeof prefix, NULL, 0, compact_visit,
                       &s);
    if (rc == 0)
        rc = s.rc;
    for (size_t i = 0; rc == 0 && i < s.n; i++) {
        uint8_t lk[LOG_KEY_LEN];
        log_key(origin, s.seqs[i], lk);
        if ((rc = weft_txn_del(txn, OPLOG, ctx, ctx_len, lk, sizeof lk)) < 0)
            break;
        fk[0] = KEYFIX_TAG;
        memcpy(fk + 1, s.keys[i], s.key_lens[i]);
        rc = weft_txn_put(txn, OPLOG, ctx, ctx_len, fk, 1 + s.key_lens[i], NULL, 0);
    }
    if (rc == 0) {
        /* stopped early: the floor is what is gone below the next entry */
        uint64_t to = s.stopped ? (s.n ? s.seqs[s.n - 1] : floor) : upto;
        if (to > floor)
            rc = tag_put_u64(txn, ctx, ctx_len, FLOOR_TAG, origin, to);
        *budget -= s.n;
        *dropped += s.n;
    }
done:
    for (size_t i = 0; i < s.n; i++)
        free(s.keys[i]);
    free(s.seqs);
    free(s.keys);
    free(s.key_lens);
    return rc;
}

int weft_crdt_compact(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                      const uint8_t self[WEFT_CRDT_ORIGIN_LEN], const uint8_t *members,
                      size_t nmembers, uint64_t keep, size_t max_ops, size_t *dropped)
{
    vv_list_t ours = {NULL, 0, 0, 0};
    uint64_t *target = NULL;
    int rc;
    if (dropped)
        *dropped = 0;
    if (!txn || !self || (nmembers && !members) || (ctx_len && !ctx))
        return WEFT_EARG;
    rc = weft_crdt_version_vector(txn, ctx, ctx_len, vv_collect, &ours);
    if (rc == 0)
        rc = ours.rc;
    if (rc < 0 || ours.n == 0)
        goto done;
    if (!(target = malloc(ours.n * sizeof *target))) {
        rc = WEFT_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < ours.n; i++)
        target[i] = ours.v[i].seq > keep ? ours.v[i].seq - keep : 0;
    for (size_t m = 0; m < nmembers; m++) {
        const uint8_t *id = members + m * WEFT_CRDT_ORIGIN_LEN;
        weft_crdt_id_t *acked;
        size_t an;
        int found, stable = 1;
        if (memcmp(id, self, WEFT_CRDT_ORIGIN_LEN) == 0)
            continue;
        if ((rc = acks_load(txn, ctx, ctx_len, id, &acked, &an, &found)) < 0)
            goto done;
        /* Stability: we must hold all the member acknowledged, so that
         * every op concurrent with one we drop is already here. */
        for (size_t a = 0; a < an && stable; a++) {
            uint64_t have = 0;
            for (size_t i = 0; i < ours.n; i++)
                if (memcmp(ours.v[i].origin, acked[a].origin, WEFT_CRDT_ORIGIN_LEN) == 0)
                    have = ours.v[i].seq;
            stable = have >= acked[a].seq;
        }
        for (size_t i = 0; i < ours.n; i++) {
            uint64_t t = stable ? vv_lookup(acked, an, ours.v[i].origin) : 0;
            if (t < target[i])
                target[i] = t; /* never acknowledged: 0 */
        }
        free(acked);
    }
    {
        size_t budget = max_ops, n = 0;
        for (size_t i = 0; rc == 0 && i < ours.n && budget > 0; i++)
            rc = compact_origin(txn, ctx, ctx_len, ours.v[i].origin, target[i], &budget, &n);
        if (dropped)
            *dropped = n;
    }
done:
    free(target);
    free(ours.v);
    return rc;
}

typedef struct {
    const weft_crdt_id_t *vv;
    size_t n;
    int behind, rc;
} floor_scan_t;

static int floor_visit(void *user, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    floor_scan_t *s = user;
    if (kl != 1 + WEFT_CRDT_ORIGIN_LEN || vl != 8) {
        s->rc = WEFT_EMALFORMED;
        return 1;
    }
    if (vv_lookup(s->vv, s->n, k + 1) < get_be64(v)) {
        s->behind = 1;
        return 1;
    }
    return 0;
}

int weft_crdt_behind_floor(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                           const weft_crdt_id_t *vv, size_t n)
{
    static const uint8_t tag = FLOOR_TAG;
    floor_scan_t s = {vv, n, 0, 0};
    int rc;
    if (!txn || (n && !vv) || (ctx_len && !ctx))
        return WEFT_EARG;
    rc = weft_txn_scan(txn, OPLOG, ctx, ctx_len, &tag, 1, NULL, 0, floor_visit, &s);
    if (rc == 0)
        rc = s.rc;
    return rc < 0 ? rc : s.behind;
}

int weft_crdt_floors(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, weft_crdt_vv_fn fn,
                     void *user)
{
    return tag_vv(txn, ctx, ctx_len, FLOOR_TAG, fn, user);
}

/* ---- snapshots: the records of a context, in (kind, key) order ---- */

typedef struct {
    uint8_t kind;
    weft_crdt_snap_fn fn;
    void *user;
    int stopped;
} snap_scan_t;

static int snap_visit(void *user, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    snap_scan_t *s = user;
    if (s->fn(s->user, s->kind, k, kl, v, vl)) {
        s->stopped = 1;
        return 1;
    }
    return 0;
}

int weft_crdt_snapshot_read(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len, uint8_t after_kind,
                            const uint8_t *after, size_t after_len, weft_crdt_snap_fn fn,
                            void *user)
{
    static const uint8_t keyfix = KEYFIX_TAG, logt = LOG_TAG;
    snap_scan_t s = {0, fn, user, 0};
    int rc = 0;
    if (!txn || !fn || (ctx_len && !ctx) || (after_len && !after))
        return WEFT_EARG;
    for (uint8_t kind = after_kind ? after_kind : WEFT_CRDT_SNAP_STATE;
         rc == 0 && !s.stopped && kind <= WEFT_CRDT_SNAP_LOG; kind++) {
        const uint8_t *sa = kind == after_kind ? after : NULL;
        size_t sal = kind == after_kind ? after_len : 0;
        s.kind = kind;
        switch (kind) {
        case WEFT_CRDT_SNAP_STATE:
            rc = weft_txn_scan(txn, WEFT_SPACE_CRDT, ctx, ctx_len, NULL, 0, sa, sal, snap_visit,
                               &s);
            break;
        case WEFT_CRDT_SNAP_PART:
            rc = weft_txn_scan(txn, WEFT_SPACE_CRDT_PARTS, ctx, ctx_len, NULL, 0, sa, sal,
                               snap_visit, &s);
            break;
        case WEFT_CRDT_SNAP_KEYFIX:
            rc = weft_txn_scan(txn, OPLOG, ctx, ctx_len, &keyfix, 1, sa, sal, snap_visit, &s);
            break;
        default:
            rc = weft_txn_scan(txn, OPLOG, ctx, ctx_len, &logt, 1, sa, sal, snap_visit, &s);
            break;
        }
    }
    return rc;
}

int weft_crdt_snapshot_put(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                           const weft_crdt_id_t *v0, size_t n, uint8_t kind, const uint8_t *key,
                           size_t key_len, const uint8_t *val, size_t val_len)
{
    weft_crdt_state_t *st = NULL, *old = NULL;
    weft_crdt_op_t op;
    uint64_t mark;
    int rc;
    if (!txn || (ctx_len && !ctx) || (key_len && !key) || (val_len && !val))
        return WEFT_EARG;
    switch (kind) {
    case WEFT_CRDT_SNAP_STATE:
        if (key_len > WEFT_CRDT_KEY_MAX || (rc = weft_crdt_state_decode(val, val_len, &st)) < 0)
            return WEFT_EMALFORMED;
        if (weft_crdt_type_parted(weft_crdt_state_type(st)) && weft_crdt_parts(st) != 0)
            rc = WEFT_EMALFORMED;
        /* ours of another type: the snapshot's wins (its parts follow) */
        else if ((rc = load_head(txn, ctx, ctx_len, key, key_len, 0, &old)) == 0 &&
                 weft_crdt_state_type(old) != weft_crdt_state_type(st))
            rc = drop_state(txn, ctx, ctx_len, key, key_len);
        else if (rc == WEFT_ENOTFOUND || rc == WEFT_EMALFORMED)
            rc = 0;
        weft_crdt_state_delete(old);
        weft_crdt_state_delete(st);
        return rc < 0 ? rc : weft_txn_put(txn, WEFT_SPACE_CRDT, ctx, ctx_len, key, key_len, val,
                                          val_len);
    case WEFT_CRDT_SNAP_PART: {
        size_t kl;
        if (key_len < 2 || (kl = ((size_t)key[0] << 8) | key[1]) > key_len - 2 ||
            key_len > PART_KEY_MAX)
            return WEFT_EMALFORMED;
        if ((rc = weft_crdt_state_decode(val, val_len, &st)) < 0)
            return WEFT_EMALFORMED;
        rc = weft_crdt_type_parted(weft_crdt_state_type(st)) ? 0 : WEFT_EMALFORMED;
        if (rc == 0)
            rc = decode_part(val, val_len, weft_crdt_state_type(st), key + 2 + kl,
                             key_len - 2 - kl, &old);
        weft_crdt_state_delete(old);
        weft_crdt_state_delete(st);
        if (rc < 0)
            return WEFT_EMALFORMED;
        return weft_txn_put(txn, WEFT_SPACE_CRDT_PARTS, ctx, ctx_len, key, key_len, val, val_len);
    }
    case WEFT_CRDT_SNAP_KEYFIX:
        if (key_len < 1 || key[0] != KEYFIX_TAG || key_len > WEFT_DB_KEY_MAX || val_len)
            return WEFT_EMALFORMED;
        return weft_txn_put(txn, OPLOG, ctx, ctx_len, key, key_len, NULL, 0);
    case WEFT_CRDT_SNAP_LOG:
        if (key_len != LOG_KEY_LEN || key[0] != LOG_TAG ||
            weft_crdt_op_decode(val, val_len, &op) < 0 || op.context_len != ctx_len ||
            (ctx_len && memcmp(op.context, ctx, ctx_len) != 0) ||
            memcmp(op.origin, key + 1, WEFT_CRDT_ORIGIN_LEN) != 0 ||
            op.seq != get_be64(key + 1 + WEFT_CRDT_ORIGIN_LEN))
            return WEFT_EMALFORMED;
        /* only what the snapshot's vector covers and we lack: its states
         * hold it, the log keeps it for peers and the type rule */
        if ((rc = get_mark(txn, ctx, ctx_len, op.origin, &mark)) < 0)
            return rc;
        if (op.seq <= mark || op.seq > vv_lookup(v0, n, op.origin))
            return 0;
        return weft_txn_put(txn, OPLOG, ctx, ctx_len, key, key_len, val, val_len);
    default:
        return WEFT_EMALFORMED;
    }
}

int weft_crdt_snapshot_reapply(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                               const weft_crdt_id_t *v0, size_t n)
{
    op_list_t l = {NULL, NULL, 0, 0, 0};
    int rc = weft_crdt_missing(txn, ctx, ctx_len, v0, n, op_collect, &l);
    if (rc == 0)
        rc = l.rc;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        weft_crdt_op_t op;
        if ((rc = weft_crdt_op_decode(l.ops[i], l.lens[i], &op)) == 0)
            rc = apply_and_store(txn, &op);
        if (rc == WEFT_EARG) /* of another type than the key's: no state */
            rc = 0;
    }
    op_list_free(&l);
    return rc;
}

/* One logged op of a rebuild, decoded (its pointers into ops.ops[i]). */
typedef struct {
    weft_crdt_op_t op;
} rb_op_t;

static int rb_cmp(const void *a, const void *b)
{
    const weft_crdt_op_t *x = &((const rb_op_t *)a)->op, *y = &((const rb_op_t *)b)->op;
    size_t m = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = m ? memcmp(x->key, y->key, m) : 0;
    if (c == 0 && x->key_len != y->key_len)
        c = x->key_len < y->key_len ? -1 : 1;
    return c ? c : weft_crdt_stamp_cmp(x->hlc, x->origin, x->seq, y->hlc, y->origin, y->seq);
}

static int rb_collect(void *user, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)k;
    (void)kl;
    return op_collect(user, v, vl);
}

/* After a snapshot: every key with no 'k' record has all its ops in the
 * log (none was compacted), so its state is rebuilt from them by the
 * concurrent-type rule (the earliest op's type, every op of that type).
 * The chunks overwrote states read at different times on the sender (a
 * key's type may have changed in between) over ours; this makes the key
 * what every node's rule makes of the same ops. Keys with a 'k' record
 * have a fixed type: their states stand. Cost: the log, once. */
static int rebuild_unfixed(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len)
{
    static const uint8_t log_tag = LOG_TAG;
    op_list_t l = {NULL, NULL, 0, 0, 0};
    rb_op_t *ops = NULL;
    int rc = weft_txn_scan(txn, OPLOG, ctx, ctx_len, &log_tag, 1, NULL, 0, rb_collect, &l);
    if (rc == 0)
        rc = l.rc;
    if (rc == 0 && l.n && !(ops = malloc(l.n * sizeof *ops)))
        rc = WEFT_ENOMEM;
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        rc = weft_crdt_op_decode(l.ops[i], l.lens[i], &ops[i].op);
    if (rc == 0 && l.n)
        qsort(ops, l.n, sizeof *ops, rb_cmp);
    for (size_t i = 0, end; rc == 0 && i < l.n; i = end) {
        const weft_crdt_op_t *first = &ops[i].op; /* the key's earliest */
        uint8_t fk[1 + WEFT_DB_KEY_MAX];
        const uint8_t *v;
        size_t vl;
        for (end = i + 1; end < l.n && ops[end].op.key_len == first->key_len &&
                          memcmp(ops[end].op.key, first->key, first->key_len) == 0;
             end++)
            ;
        if (1 + first->key_len <= WEFT_DB_KEY_MAX) {
            fk[0] = KEYFIX_TAG;
            memcpy(fk + 1, first->key, first->key_len);
            rc = weft_txn_get(txn, OPLOG, ctx, ctx_len, fk, 1 + first->key_len, &v, &vl);
            if (rc == 0)
                continue; /* fixed */
            if (rc != WEFT_ENOTFOUND)
                break;
        }
        rc = drop_state(txn, ctx, ctx_len, first->key, first->key_len);
        for (size_t k = i; rc == 0 && k < end; k++)
            if (ops[k].op.type == first->type)
                rc = apply_and_store(txn, &ops[k].op);
    }
    free(ops);
    op_list_free(&l);
    return rc;
}

int weft_crdt_snapshot_finish(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                              const weft_crdt_id_t *v0, size_t n, const weft_crdt_id_t *floors,
                              size_t nf, uint64_t hlc, uint64_t wall_ms)
{
    uint64_t have, cur;
    int rc = 0;
    if (!txn || (n && !v0) || (nf && !floors) || (ctx_len && !ctx))
        return WEFT_EARG;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if ((rc = get_mark(txn, ctx, ctx_len, v0[i].origin, &have)) == 0 && v0[i].seq > have)
            rc = put_mark(txn, ctx, ctx_len, v0[i].origin, v0[i].seq);
    }
    for (size_t i = 0; rc == 0 && i < nf; i++) {
        /* our log now holds that origin's ops past this floor only */
        uint64_t f = floors[i].seq, v = vv_lookup(v0, n, floors[i].origin);
        if (f > v)
            f = v;
        if ((rc = tag_get_u64(txn, ctx, ctx_len, FLOOR_TAG, floors[i].origin, &cur)) == 0 &&
            f > cur)
            rc = tag_put_u64(txn, ctx, ctx_len, FLOOR_TAG, floors[i].origin, f);
    }
    if (rc == 0)
        rc = observe_hlc(txn, ctx, ctx_len, hlc, wall_ms);
    if (rc == 0)
        rc = rebuild_unfixed(txn, ctx, ctx_len);
    return rc;
}

int weft_crdt_snapshot_drop(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len)
{
    static const uint8_t k = SNAP_TAG;
    int rc;
    if (!txn || (ctx_len && !ctx))
        return WEFT_EARG;
    if ((rc = rebuild_unfixed(txn, ctx, ctx_len)) < 0)
        return rc;
    rc = weft_txn_del(txn, OPLOG, ctx, ctx_len, &k, 1);
    return rc == WEFT_ENOTFOUND ? 0 : rc;
}

int weft_crdt_snapshot_note(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                            const uint8_t *bytes, size_t len)
{
    static const uint8_t k = SNAP_TAG;
    int rc;
    if (!txn || (ctx_len && !ctx))
        return WEFT_EARG;
    if (bytes)
        return weft_txn_put(txn, OPLOG, ctx, ctx_len, &k, 1, bytes, len);
    rc = weft_txn_del(txn, OPLOG, ctx, ctx_len, &k, 1);
    return rc == WEFT_ENOTFOUND ? 0 : rc;
}

int weft_crdt_snapshot_note_get(weft_txn_t *txn, const uint8_t *ctx, size_t ctx_len,
                                const uint8_t **bytes, size_t *len)
{
    static const uint8_t k = SNAP_TAG;
    return weft_txn_get(txn, OPLOG, ctx, ctx_len, &k, 1, bytes, len);
}
