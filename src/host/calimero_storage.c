/*
 * calimero_storage.c — Calimero storage: storage_read/write/remove
 * (synced), private_storage_* (node-local), commit, persist_root_state,
 * read_root_state, apply_storage_delta and flush_delta.
 *
 * Synced storage: each guest key is one LWW register of the context's
 * CRDT states (weft/crdt_store.h), written with weft_crdt_local in the
 * call's transaction, so the change, its op-log entry and the clock commit
 * or roll back with the call and sync replicates it; concurrent writes on
 * two nodes converge by (hybrid clock, node id). A register holds a tagged
 * value: [0] removed, [1] value, or [2] u64 total length and the SHA-256
 * of each 1 MiB chunk of a value too big for one op, each chunk an LWW
 * register of its own under its hash (written before the value's register,
 * so a peer applying one origin's ops in order has them first). Keys are
 * "cal/s/" + the key, or "cal/S/" + its SHA-256 when that would pass the
 * store's 1024-byte key (a long key is only ever looked up, never listed).
 *
 * Private storage: the context's WEFT_SPACE_BLOBS keys "cal/p/" + key (or
 * "cal/P/" + SHA-256), never in the op-log, so never replicated; it commits
 * with the call like everything else. Decisions in docs/calimero.md.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "calimero_priv.h"
#include "weft/crdt_store.h"

#define CHUNK WEFT_CRDT_VALUE_MAX /* bytes per chunk of a big value */
#define TAG_REMOVED 0
#define TAG_VALUE 1
#define TAG_CHUNKED 2

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* "cal/" kind "/" key, or "cal/" KIND "/" sha256(key) when too long. */
static size_t store_key(char kind, const uint8_t *key, size_t len, uint8_t out[WEFT_DB_KEY_MAX])
{
    memcpy(out, "cal/", 4);
    out[5] = '/';
    if (6 + len <= WEFT_DB_KEY_MAX) {
        out[4] = (uint8_t)kind;
        if (len) memcpy(out + 6, key, len);
        return 6 + len;
    }
    out[4] = (uint8_t)(kind - 'a' + 'A');
    crypto_hash_sha256(out + 6, key, len);
    return 6 + 32;
}

static void chunk_key(const uint8_t hash[32], uint8_t out[38])
{
    memcpy(out, "cal/c/", 6);
    memcpy(out + 6, hash, 32);
}

/* The raw bytes of LWW register `key` (malloc'ed): 1, 0 absent, <0. */
static int lww_raw(weft_calimero_t *cal, const uint8_t *key, size_t kl, uint8_t **out,
                   size_t *out_len, size_t *stored)
{
    weft_crdt_state_t *st = NULL;
    const uint8_t *v;
    size_t vl;
    int rc = weft_crdt_read(cal->txn, cal->ctx, cal->ctx_len, key, kl, WEFT_CRDT_LWW_REG, &st);
    if (rc == WEFT_ENOTFOUND) return 0;
    if (rc) return rc;
    if (stored) *stored += weft_crdt_state_bytes(st);
    rc = weft_crdt_lww_get(st, &v, &vl);
    if (rc == WEFT_ENOTFOUND) {
        weft_crdt_state_delete(st);
        return 0;
    }
    if (rc == 0) {
        *out = malloc(vl ? vl : 1);
        if (!*out) rc = WEFT_ENOMEM;
        else if (vl) memcpy(*out, v, vl);
        *out_len = vl;
    }
    weft_crdt_state_delete(st);
    return rc ? rc : 1;
}

static int lww_set(weft_calimero_t *cal, const uint8_t *key, size_t kl, const uint8_t *v,
                   size_t vl, size_t *stored)
{
    weft_crdt_input_t in = {.value = v, .value_len = vl};
    size_t s = 0;
    int rc = weft_crdt_local(cal->txn, cal->node_id, cal_wall_ms(), cal->ctx, cal->ctx_len, key,
                             kl, WEFT_CRDT_LWW_REG, WEFT_CRDT_SET, &in, NULL, &s);
    if (stored) *stored += s;
    return rc;
}

int cal_synced_get(weft_calimero_t *cal, const uint8_t *key, size_t key_len, uint8_t **out,
                   size_t *out_len, size_t *stored)
{
    uint8_t *raw = NULL;
    size_t rl;
    int rc = lww_raw(cal, key, key_len, &raw, &rl, stored);
    if (rc <= 0) return rc;
    if (rl >= 1 && raw[0] == TAG_REMOVED) {
        free(raw);
        return 0;
    }
    if (rl >= 1 && raw[0] == TAG_VALUE) {
        memmove(raw, raw + 1, rl - 1);
        *out = raw;
        *out_len = rl - 1;
        return 1;
    }
    if (rl < 9 || raw[0] != TAG_CHUNKED || (rl - 9) % 32 != 0) {
        free(raw);
        return WEFT_EMALFORMED;
    }
    uint64_t total = get_u64(raw + 1);
    size_t n = (rl - 9) / 32;
    if (total > (uint64_t)n * CHUNK) {
        free(raw);
        return WEFT_EMALFORMED;
    }
    uint8_t *val = malloc(total ? total : 1);
    size_t used = 0;
    rc = val ? 0 : WEFT_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint8_t ck[38], *chunk = NULL;
        size_t cl;
        chunk_key(raw + 9 + 32 * i, ck);
        rc = lww_raw(cal, ck, sizeof ck, &chunk, &cl, stored);
        if (rc == 1 && cl <= total - used) {
            memcpy(val + used, chunk, cl);
            used += cl;
            rc = 0;
        } else if (rc >= 0) {
            rc = WEFT_EMALFORMED; /* a chunk missing or too long */
        }
        free(chunk);
    }
    free(raw);
    if (rc == 0 && used != total) rc = WEFT_EMALFORMED;
    if (rc) {
        free(val);
        return rc;
    }
    *out = val;
    *out_len = total;
    return 1;
}

int cal_synced_put(weft_calimero_t *cal, const uint8_t *key, size_t key_len, const uint8_t *value,
                   size_t value_len, size_t *stored)
{
    uint8_t *enc;
    size_t el;
    int rc;
    if (!value) {
        uint8_t removed = TAG_REMOVED;
        return lww_set(cal, key, key_len, &removed, 1, stored);
    }
    if (1 + value_len <= WEFT_CRDT_VALUE_MAX) {
        if (!(enc = malloc(1 + value_len))) return WEFT_ENOMEM;
        enc[0] = TAG_VALUE;
        if (value_len) memcpy(enc + 1, value, value_len);
        el = 1 + value_len;
    } else {
        size_t n = (value_len + CHUNK - 1) / CHUNK;
        el = 9 + 32 * n;
        if (!(enc = malloc(el))) return WEFT_ENOMEM;
        enc[0] = TAG_CHUNKED;
        put_u64(enc + 1, value_len);
        for (size_t i = 0; i < n; i++) {
            size_t off = i * CHUNK, cl = value_len - off < CHUNK ? value_len - off : CHUNK;
            uint8_t *h = enc + 9 + 32 * i, ck[38];
            crypto_hash_sha256(h, value + off, cl);
            chunk_key(h, ck);
            /* content-addressed: a chunk already stored is the same bytes */
            weft_crdt_state_t *st = NULL;
            rc = weft_crdt_read(cal->txn, cal->ctx, cal->ctx_len, ck, sizeof ck,
                                WEFT_CRDT_LWW_REG, &st);
            weft_crdt_state_delete(st);
            if (rc == WEFT_ENOTFOUND) rc = lww_set(cal, ck, sizeof ck, value + off, cl, stored);
            if (rc) {
                free(enc);
                return rc;
            }
        }
    }
    rc = lww_set(cal, key, key_len, enc, el, stored);
    free(enc);
    return rc;
}

/* ---- synced storage ------------------------------------------------------------ */

/* The key (limit, then memory) and, for a write, the value. */
static int storage_args(weft_calimero_t *cal, weft_caller_t *caller, const char *fn,
                        uint64_t key_desc, const uint8_t **key, uint64_t *kl, int *rc)
{
    *key = cal_buffer(cal, caller, fn, key_desc, cal->lim.max_storage_key_size,
                      "KeyLengthOverflow", kl, rc);
    return *key ? 0 : -1;
}

/* Reads key's value for storage_read and the old value of a write or
 * remove: into register reg when found. 1 found, 0 not, -1 trapped. */
static int synced_old(weft_calimero_t *cal, weft_caller_t *caller, const char *fn,
                      const uint8_t *skey, size_t skl, uint64_t reg, int *rc)
{
    uint8_t *val = NULL;
    size_t vl = 0, stored = 0;
    int found = cal_synced_get(cal, skey, skl, &val, &vl, &stored);
    if (found < 0) {
        *rc = found == WEFT_EARG ? cal_fail(cal, caller, fn, "DeserializationError",
                                            "the key holds another CRDT type")
                                 : cal_store_error(cal, caller, fn, found);
        return -1;
    }
    if ((*rc = cal_charge(caller, CAL_FUEL(stored)))) {
        free(val);
        return -1;
    }
    if (found && cal_reg_set(cal, caller, fn, reg, val, vl, rc)) {
        free(val);
        return -1;
    }
    free(val);
    return found;
}

static int fn_storage_read(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "storage_read";
    weft_calimero_t *cal = user;
    const uint8_t *key;
    uint64_t kl;
    uint8_t skey[WEFT_DB_KEY_MAX];
    int rc;
    if (storage_args(cal, caller, fn, CAL_ARG(0), &key, &kl, &rc)) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(kl)))) return rc;
    if (cal_need_txn(cal, caller, fn, 0, &rc)) return rc;
    size_t skl = store_key('s', key, kl, skey);
    int found = synced_old(cal, caller, fn, skey, skl, CAL_ARG(1), &rc);
    if (found < 0) return rc;
    CAL_RETURN32(found);
}

static int synced_write(weft_caller_t *caller, weft_calimero_t *cal, weft_raw_t *args,
                        const char *fn, const uint8_t *key, uint64_t kl, const uint8_t *val,
                        uint64_t vl, uint64_t reg)
{
    uint8_t skey[WEFT_DB_KEY_MAX];
    size_t stored = 0;
    int rc;
    if (cal_need_txn(cal, caller, fn, 1, &rc)) return rc;
    /* the guest's key and value may lie in memory a register copy does not
     * touch, but the old value goes to the register first: copy the key */
    size_t skl = store_key('s', key, kl, skey);
    int found = synced_old(cal, caller, fn, skey, skl, reg, &rc);
    if (found < 0) return rc;
    if (!val && !found) CAL_RETURN32(0); /* removing an absent key writes nothing */
    rc = cal_synced_put(cal, skey, skl, val, vl, &stored);
    if (rc == WEFT_EARG)
        return cal_fail(cal, caller, fn, "DeserializationError", "the key holds another CRDT type");
    if (rc) return cal_store_error(cal, caller, fn, rc);
    if ((rc = cal_charge(caller, CAL_FUEL(stored)))) return rc;
    CAL_RETURN32(found);
}

static int fn_storage_write(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "storage_write";
    weft_calimero_t *cal = user;
    const uint8_t *key, *val;
    uint64_t kl, vl;
    int rc;
    if (storage_args(cal, caller, fn, CAL_ARG(0), &key, &kl, &rc)) return rc;
    if (!(val = cal_buffer(cal, caller, fn, CAL_ARG(1), cal->lim.max_storage_value_size,
                           "ValueLengthOverflow", &vl, &rc)))
        return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(kl) + CAL_FUEL(vl)))) return rc;
    return synced_write(caller, cal, args, fn, key, kl, val, vl, CAL_ARG(2));
}

static int fn_storage_remove(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "storage_remove";
    weft_calimero_t *cal = user;
    const uint8_t *key;
    uint64_t kl;
    int rc;
    if (storage_args(cal, caller, fn, CAL_ARG(0), &key, &kl, &rc)) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(kl)))) return rc;
    return synced_write(caller, cal, args, fn, key, kl, NULL, 0, CAL_ARG(1));
}

/* ---- private storage -------------------------------------------------------------- */

/* The value of private key into register reg: 1 found, 0 not, -1 trapped. */
static int private_old(weft_calimero_t *cal, weft_caller_t *caller, const char *fn,
                       const uint8_t *pkey, size_t pkl, uint64_t reg, int *rc)
{
    const uint8_t *v;
    size_t vl;
    int r = weft_txn_get(cal->txn, WEFT_SPACE_BLOBS, cal->ctx, cal->ctx_len, pkey, pkl, &v, &vl);
    if (r == WEFT_ENOTFOUND) return 0;
    if (r) {
        *rc = cal_store_error(cal, caller, fn, r);
        return -1;
    }
    if (cal_reg_set(cal, caller, fn, reg, v, vl, rc)) return -1;
    return 1;
}

/* Outside a call there is no private storage: "unavailable", 0. */
static int fn_private_storage_read(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "private_storage_read";
    weft_calimero_t *cal = user;
    const uint8_t *key;
    uint64_t kl;
    uint8_t pkey[WEFT_DB_KEY_MAX];
    int rc;
    if (storage_args(cal, caller, fn, CAL_ARG(0), &key, &kl, &rc)) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(kl)))) return rc;
    if (!cal->txn) CAL_RETURN32(0);
    int found = private_old(cal, caller, fn, pkey, store_key('p', key, kl, pkey), CAL_ARG(1), &rc);
    if (found < 0) return rc;
    CAL_RETURN32(found);
}

/* In a view (a read-only transaction) private storage is unavailable for
 * writes and removes: 0, as the document says, not a trap. */
static int fn_private_storage_write(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "private_storage_write";
    weft_calimero_t *cal = user;
    const uint8_t *key, *val;
    uint64_t kl, vl;
    uint8_t pkey[WEFT_DB_KEY_MAX];
    int rc;
    if (storage_args(cal, caller, fn, CAL_ARG(0), &key, &kl, &rc)) return rc;
    if (!(val = cal_buffer(cal, caller, fn, CAL_ARG(1), cal->lim.max_storage_value_size,
                           "ValueLengthOverflow", &vl, &rc)))
        return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(kl) + CAL_FUEL(vl)))) return rc;
    if (!cal->txn || cal->view) CAL_RETURN32(0);
    size_t pkl = store_key('p', key, kl, pkey);
    rc = weft_txn_put(cal->txn, WEFT_SPACE_BLOBS, cal->ctx, cal->ctx_len, pkey, pkl, val, vl);
    if (rc) return cal_store_error(cal, caller, fn, rc);
    CAL_RETURN32(1);
}

static int fn_private_storage_remove(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "private_storage_remove";
    weft_calimero_t *cal = user;
    const uint8_t *key;
    uint64_t kl;
    uint8_t pkey[WEFT_DB_KEY_MAX];
    int rc;
    if (storage_args(cal, caller, fn, CAL_ARG(0), &key, &kl, &rc)) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(kl)))) return rc;
    if (!cal->txn || cal->view) CAL_RETURN32(0); /* unavailable, as for writes */
    size_t pkl = store_key('p', key, kl, pkey);
    int found = private_old(cal, caller, fn, pkey, pkl, CAL_ARG(1), &rc);
    if (found < 0) return rc;
    if (!found) CAL_RETURN32(0);
    rc = weft_txn_del(cal->txn, WEFT_SPACE_BLOBS, cal->ctx, cal->ctx_len, pkey, pkl);
    if (rc) return cal_store_error(cal, caller, fn, rc);
    CAL_RETURN32(1);
}

/* ---- state management ------------------------------------------------------------ */

/* The root hash must be 32 bytes; the artifact is bounded like a register
 * (ArtifactSizeOverflow). A second commit in one call is DuplicateCommit. */
static int fn_commit(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "commit";
    weft_calimero_t *cal = user;
    uint64_t hl, al;
    int rc;
    const uint8_t *root = cal_buffer(cal, caller, fn, CAL_ARG(0), UINT64_MAX, NULL, &hl, &rc);
    if (!root) return rc;
    const uint8_t *art = cal_buffer(cal, caller, fn, CAL_ARG(1), cal->lim.max_register_size,
                                    "ArtifactSizeOverflow", &al, &rc);
    if (!art) return rc;
    if (hl != 32)
        return cal_fail(cal, caller, fn, "InvalidMemoryAccess", "the root hash is %llu bytes, not 32",
                        (unsigned long long)hl);
    if (cal->committed)
        return cal_fail(cal, caller, fn, "DuplicateCommit",
                        "commit must be called exactly once per call");
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(al) + 2))) return rc;
    uint8_t *copy = malloc(al ? al : 1);
    if (!copy) return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
    if (al) memcpy(copy, art, al);
    memcpy(cal->root, root, 32);
    cal->artifact = copy;
    cal->artifact_len = al;
    cal->committed = 1;
    return 0;
}

static const uint8_t ROOT_KEY[] = "cal/root";

/* The document, with created_at and updated_at (u64 LE each) before it, in
 * the synced value of key "cal/root": root state replicates like storage. */
static int fn_persist_root_state(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "persist_root_state";
    weft_calimero_t *cal = user;
    uint64_t dl;
    size_t stored = 0;
    int rc;
    const uint8_t *doc = cal_buffer(cal, caller, fn, CAL_ARG(0), cal->lim.max_storage_value_size,
                                    "ValueLengthOverflow", &dl, &rc);
    if (!doc) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(dl)))) return rc;
    if (cal_need_txn(cal, caller, fn, 1, &rc)) return rc;
    uint8_t *v = malloc(16 + dl);
    if (!v) return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
    put_u64(v, CAL_ARG(1));
    put_u64(v + 8, CAL_ARG(2));
    if (dl) memcpy(v + 16, doc, dl);
    rc = cal_synced_put(cal, ROOT_KEY, sizeof ROOT_KEY - 1, v, 16 + dl, &stored);
    free(v);
    if (rc) return cal_store_error(cal, caller, fn, rc);
    return cal_charge(caller, CAL_FUEL(stored));
}

static int fn_read_root_state(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "read_root_state";
    weft_calimero_t *cal = user;
    uint8_t *v = NULL;
    size_t vl = 0, stored = 0;
    int rc = cal_charge(caller, CAL_FUEL_CALL);
    if (rc) return rc;
    if (cal_need_txn(cal, caller, fn, 0, &rc)) return rc;
    int found = cal_synced_get(cal, ROOT_KEY, sizeof ROOT_KEY - 1, &v, &vl, &stored);
    if (found < 0) return cal_store_error(cal, caller, fn, found);
    if (found && vl < 16) found = 0;
    if ((rc = cal_charge(caller, CAL_FUEL(stored))) == 0 && found)
        if (cal_reg_set(cal, caller, fn, CAL_ARG(0), v + 16, vl - 16, &rc)) found = -1;
    free(v);
    if (rc) return rc;
    CAL_RETURN32(found);
}

/* apply_storage_delta(delta): weft's Borsh StorageDelta::Actions
 * (docs/calimero.md "Artifacts"): variant byte 0, u32 count, then each
 * action a variant byte and its fields: 0 Write { key: Vec<u8>, value:
 * Vec<u8> }, 1 Remove { key: Vec<u8> }, on synced storage as storage_write
 * and storage_remove do. The whole delta is checked before anything is
 * applied (DeserializationError; KeyLengthOverflow, ValueLengthOverflow).
 * An action changes nothing when the key already holds that value (or is
 * absent, for Remove), and, in a call applying a peer's artifact
 * (delta_as_of), when the key was written after the artifact was
 * committed: applying an artifact twice, or after newer writes, loses
 * nothing. */
enum { DELTA_WRITE = 0, DELTA_REMOVE = 1 };

/* Reads a Borsh Vec<u8> at p[*off..n): 0, or -1 when it does not fit. */
static int delta_vec(const uint8_t *p, uint64_t n, uint64_t *off, const uint8_t **out,
                     uint64_t *out_len)
{
    if (n - *off < 4) return -1;
    uint64_t l = (uint64_t)p[*off] | (uint64_t)p[*off + 1] << 8 | (uint64_t)p[*off + 2] << 16 |
                 (uint64_t)p[*off + 3] << 24;
    if (n - *off - 4 < l) return -1;
    *out = p + *off + 4;
    *out_len = l;
    *off += 4 + l;
    return 0;
}

/* Walks the delta's actions; with apply 0 only checks them (a trap's
 * return in *rc, -1), with apply 1 applies them (0, or a WEFT_E* error). */
static int delta_walk(weft_calimero_t *cal, weft_caller_t *caller, const uint8_t *d,
                      uint64_t len, int apply, size_t *stored, int *rc)
{
    static const char fn[] = "apply_storage_delta";
    if (len < 5 || d[0] != 0) {
        *rc = cal_fail(cal, caller, fn, "DeserializationError", "not a Borsh StorageDelta::Actions");
        return -1;
    }
    uint32_t n = (uint32_t)d[1] | (uint32_t)d[2] << 8 | (uint32_t)d[3] << 16 | (uint32_t)d[4] << 24;
    uint64_t off = 5;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *key, *val = NULL;
        uint64_t kl, vl = 0;
        int kind = off < len ? d[off++] : -1;
        if ((kind != DELTA_WRITE && kind != DELTA_REMOVE) || delta_vec(d, len, &off, &key, &kl) ||
            (kind == DELTA_WRITE && delta_vec(d, len, &off, &val, &vl))) {
            *rc = cal_fail(cal, caller, fn, "DeserializationError",
                           "action %u is not a Write (0) or Remove (1) of weft's", i);
            return -1;
        }
        if (kl > cal->lim.max_storage_key_size) {
            *rc = cal_fail(cal, caller, fn, "KeyLengthOverflow", "action %u: a key of %llu bytes", i,
                           (unsigned long long)kl);
            return -1;
        }
        if (vl > cal->lim.max_storage_value_size) {
            *rc = cal_fail(cal, caller, fn, "ValueLengthOverflow",
                           "action %u: a value of %llu bytes", i, (unsigned long long)vl);
            return -1;
        }
        if (!apply) continue;
        uint8_t skey[WEFT_DB_KEY_MAX], *cur = NULL;
        size_t skl = store_key('s', key, kl, skey), cl = 0;
        if (cal->delta_as_of) { /* a key written since the artifact stays */
            weft_crdt_state_t *st = NULL;
            uint64_t hlc = 0, seq;
            uint8_t origin[WEFT_CRDT_ORIGIN_LEN];
            int r = weft_crdt_read(cal->txn, cal->ctx, cal->ctx_len, skey, skl, WEFT_CRDT_LWW_REG,
                                   &st);
            if (r == 0 && weft_crdt_lww_stamp(st, &hlc, origin, &seq) != 0) hlc = 0;
            weft_crdt_state_delete(st);
            if (r != 0 && r != WEFT_ENOTFOUND) return r;
            if (hlc > cal->delta_as_of) continue;
        }
        int found = cal_synced_get(cal, skey, skl, &cur, &cl, stored);
        if (found < 0) return found;
        int same = kind == DELTA_WRITE ? found && cl == vl && (vl == 0 || !memcmp(cur, val, vl))
                                       : !found;
        free(cur);
        if (same) continue;
        int r = cal_synced_put(cal, skey, skl, kind == DELTA_WRITE ? (val ? val : d) : NULL, vl,
                               stored);
        if (r) return r;
    }
    if (off != len) {
        *rc = cal_fail(cal, caller, fn, "DeserializationError", "trailing bytes after %u actions", n);
        return -1;
    }
    return 0;
}

static int fn_apply_storage_delta(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "apply_storage_delta";
    weft_calimero_t *cal = user;
    uint64_t len;
    size_t stored = 0;
    int rc = 0;
    const uint8_t *d = cal_buffer(cal, caller, fn, CAL_ARG(0), UINT64_MAX, NULL, &len, &rc);
    if (!d) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(len)))) return rc;
    if (delta_walk(cal, caller, d, len, 0, NULL, &rc)) return rc;
    if (len == 5) return 0; /* no actions: nothing to write, also in a view */
    if (cal_need_txn(cal, caller, fn, 1, &rc)) return rc;
    int r = delta_walk(cal, caller, d, len, 1, &stored, &rc);
    if (r == WEFT_EARG)
        return cal_fail(cal, caller, fn, "DeserializationError", "a key holds another CRDT type");
    if (r) return cal_store_error(cal, caller, fn, r);
    return cal_charge(caller, CAL_FUEL(stored));
}

/* Nothing is ever pending: each write is an op of the call, shipped by
 * sync after the call commits. */
static int fn_flush_delta(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    int rc = cal_charge(caller, CAL_FUEL_CALL);
    if (rc) return rc;
    CAL_RETURN32(0);
}

const cal_func_t cal_storage_funcs[] = {
    {"storage_read", "II", 'i', fn_storage_read},
    {"storage_write", "III", 'i', fn_storage_write},
    {"storage_remove", "II", 'i', fn_storage_remove},
    {"private_storage_read", "II", 'i', fn_private_storage_read},
    {"private_storage_write", "II", 'i', fn_private_storage_write},
    {"private_storage_remove", "II", 'i', fn_private_storage_remove},
    {"commit", "II", 0, fn_commit},
    {"persist_root_state", "III", 0, fn_persist_root_state},
    {"read_root_state", "I", 'i', fn_read_root_state},
    {"apply_storage_delta", "I", 0, fn_apply_storage_delta},
    {"flush_delta", "", 'i', fn_flush_delta},
};
const size_t cal_storage_nfuncs = sizeof cal_storage_funcs / sizeof cal_storage_funcs[0];

size_t cal_synced_key(const uint8_t *key, size_t len, uint8_t out[WEFT_DB_KEY_MAX])
{
    return store_key('s', key, len, out);
}

int cal_lww_get(weft_calimero_t *cal, const uint8_t *key, size_t key_len, uint8_t **out,
                size_t *out_len, size_t *stored)
{
    return lww_raw(cal, key, key_len, out, out_len, stored);
}
