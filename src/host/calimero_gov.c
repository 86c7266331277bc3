/*
 * calimero_gov.c — Calimero governance: send_proposal and approve_proposal
 * (docs/calimero.md "Governance").
 *
 * A proposal is a list of actions on the context (members added or
 * removed, a synced value set, another proposal deleted), applied once more
 * than half of the context's members approved it. Proposals and approvals
 * are CRDT state of the context under the reserved prefix "__nx/gov/"
 * (guests cannot reach it: their keys are "cal/..."), so they replicate to
 * the members like every op:
 *
 *   __nx/gov/p/ID  LWW register: the proposer's key (32) and the actions
 *   __nx/gov/a/ID  ORSet of the approvers' keys (the proposer's first)
 *   __nx/gov/d/ID  LWW register: 1 applied, 2 deleted (never applies)
 *
 * Like member changes, both functions only queue during the call; the queue
 * is applied when the call ends (cal_gov_apply, after cal_context_apply), in
 * the call's transaction: nothing happens when the call traps or returns
 * Err. Applying records the proposal or approval, then counts the
 * approvals of current members (members are node ids, so an approval
 * counts when its executor is a member node: an unsigned call on a member
 * node) and, past half, applies the actions as this node's ops and marks
 * the proposal applied. Every action is idempotent, so two nodes that pass
 * the threshold at once and both apply converge to the same state.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "calimero_priv.h"
#include "weft/crdt_store.h"
#include "weft/sync.h"

#define MEMBERS_KEY ((const uint8_t *)WEFT_SYNC_MEMBERS_KEY)
#define MEMBERS_KEY_LEN (sizeof WEFT_SYNC_MEMBERS_KEY - 1)
#define GOV_MAX_ACTIONS_BYTES (64u * 1024u) /* a proposal's Borsh actions */
#define GOV_MAX_OPS 100u                    /* proposals and approvals per call */
#define GOV_KEY_LEN (11 + 32)               /* "__nx/gov/X/" + id */

enum { ACT_ADD_MEMBER = 0, ACT_REMOVE_MEMBER = 1, ACT_SET_VALUE = 2, ACT_DELETE_PROPOSAL = 3 };
enum { DONE_APPLIED = 1, DONE_DELETED = 2 };

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void gov_key(char kind, const uint8_t id[32], uint8_t out[GOV_KEY_LEN])
{
    memcpy(out, "__nx/gov/", 9);
    out[9] = (uint8_t)kind;
    out[10] = '/';
    memcpy(out + 11, id, 32);
}

/* Walks Borsh Vec<ProposalAction> a[0..n): each action to fn (NULL: only
 * checked). 0, -1 malformed, or fn's nonzero result. */
typedef int (*action_fn)(weft_calimero_t *cal, int kind, const uint8_t *a, size_t al,
                         const uint8_t *b, size_t bl);

static int walk_actions(weft_calimero_t *cal, const uint8_t *p, size_t n, action_fn fn)
{
    if (n < 4) return -1;
    uint32_t cnt = get_u32(p);
    size_t off = 4;
    for (uint32_t i = 0; i < cnt; i++) {
        if (off >= n) return -1;
        int kind = p[off++];
        const uint8_t *a = p + off, *b = NULL;
        size_t al = 32, bl = 0;
        if (kind == ACT_SET_VALUE) {
            if (n - off < 4 || get_u32(p + off) > n - off - 4) return -1;
            al = get_u32(p + off);
            a = p + off + 4;
            off += 4 + al;
            if (n - off < 4 || get_u32(p + off) > n - off - 4) return -1;
            bl = get_u32(p + off);
            b = p + off + 4;
            off += 4 + bl;
        } else if (kind == ACT_ADD_MEMBER || kind == ACT_REMOVE_MEMBER ||
                   kind == ACT_DELETE_PROPOSAL) {
            if (n - off < 32) return -1;
            off += 32;
        } else {
            return -1;
        }
        int rc = fn ? fn(cal, kind, a, al, b, bl) : 0;
        if (rc) return rc;
    }
    return off == n ? 0 : -1;
}

static int op(weft_calimero_t *cal, const uint8_t *key, size_t kl, uint8_t type, uint8_t kind,
              const uint8_t *v, size_t vl)
{
    weft_crdt_input_t in = {.value = v, .value_len = vl};
    return weft_crdt_local(cal->txn, cal->node_id, cal_wall_ms(), cal->ctx, cal->ctx_len, key, kl,
                           type, kind, &in, NULL, NULL);
}

/* 1 when the ORSet at key holds elem, 0 when not, <0 an error. */
static int orset_has(weft_calimero_t *cal, const uint8_t *key, size_t kl, const uint8_t *elem)
{
    weft_crdt_state_t *st = NULL;
    int rc = weft_crdt_read_part(cal->txn, cal->ctx, cal->ctx_len, key, kl, WEFT_CRDT_ORSET,
                                 elem, 32, &st);
    if (rc == WEFT_ENOTFOUND) return 0;
    if (rc) return rc;
    rc = weft_crdt_orset_contains(st, elem, 32);
    weft_crdt_state_delete(st);
    return rc;
}

/* 1 when a proposal of that id exists here, 0 when not, <0 an error. */
static int proposal_known(weft_calimero_t *cal, const uint8_t id[32])
{
    uint8_t key[GOV_KEY_LEN], *v = NULL;
    size_t vl;
    gov_key('p', id, key);
    int rc = cal_lww_get(cal, key, sizeof key, &v, &vl, NULL);
    free(v);
    return rc;
}

static int apply_action(weft_calimero_t *cal, int kind, const uint8_t *a, size_t al,
                        const uint8_t *b, size_t bl)
{
    uint8_t skey[WEFT_DB_KEY_MAX], done = DONE_DELETED, dkey[GOV_KEY_LEN];
    switch (kind) {
    case ACT_ADD_MEMBER:
    case ACT_REMOVE_MEMBER:
        return op(cal, MEMBERS_KEY, MEMBERS_KEY_LEN, WEFT_CRDT_ORSET,
                  kind == ACT_ADD_MEMBER ? WEFT_CRDT_ADD : WEFT_CRDT_REMOVE, a, 32);
    case ACT_SET_VALUE:
        return cal_synced_put(cal, skey, cal_synced_key(a, al, skey), b, bl, NULL);
    default: /* ACT_DELETE_PROPOSAL: it never applies (one already applied stays) */
        gov_key('d', a, dkey);
        return op(cal, dkey, sizeof dkey, WEFT_CRDT_LWW_REG, WEFT_CRDT_SET, &done, 1);
    }
}

/* How check() decides: a call's approval applies the proposal when the
 * count passes; settling (weft_calimero_gov_settle) only when this node is
 * also the lowest of the members who approved, so one node applies
 * approvals that passed only once merged; SETTLE_COUNT changes nothing. */
enum { CHECK_APPLY, SETTLE_APPLY, SETTLE_COUNT };

/* Applies proposal id (see the modes above) when more than half of the
 * members approved it and it is neither applied nor deleted: 1 applied
 * (or, counting, would be), 0 not, <0 an error. */
static int check(weft_calimero_t *cal, const uint8_t id[32], int mode)
{
    uint8_t dkey[GOV_KEY_LEN], pkey[GOV_KEY_LEN], akey[GOV_KEY_LEN], *v = NULL, *els = NULL;
    const uint8_t *lowest = NULL;
    size_t vl, len = 0;
    weft_crdt_state_t *st = NULL;
    gov_key('d', id, dkey);
    gov_key('p', id, pkey);
    gov_key('a', id, akey);
    int rc = cal_lww_get(cal, dkey, sizeof dkey, &v, &vl, NULL);
    free(v);
    v = NULL;
    if (rc != 0) return rc < 0 ? rc : 0; /* applied or deleted already */
    rc = weft_crdt_read(cal->txn, cal->ctx, cal->ctx_len, MEMBERS_KEY, MEMBERS_KEY_LEN,
                        WEFT_CRDT_ORSET, &st);
    if (rc == WEFT_ENOTFOUND) return 0; /* no members: nobody can approve */
    if (rc == 0) {
        rc = weft_crdt_orset_elements(st, NULL, 0, &len);
        if (rc == 0 || rc == WEFT_ELIMIT) rc = (els = malloc(len ? len : 1)) ? 0 : WEFT_ENOMEM;
        if (rc == 0) rc = weft_crdt_orset_elements(st, els, len, &len);
    }
    weft_crdt_state_delete(st);
    /* u32 count, then (u32 len, element): 32-byte ones are node ids */
    size_t members = 0, approved = 0;
    for (size_t i = 0, off = 4, cnt = rc == 0 ? get_u32(els) : 0; rc == 0 && i < cnt; i++) {
        size_t l = get_u32(els + off);
        if (l == 32) {
            members++;
            int has = orset_has(cal, akey, sizeof akey, els + off + 4);
            if (has < 0) rc = has;
            approved += has == 1;
            if (has == 1 && (!lowest || memcmp(els + off + 4, lowest, 32) < 0))
                lowest = els + off + 4;
        }
        off += 4 + l;
    }
    int mine = lowest && memcmp(lowest, cal->node_id, 32) == 0;
    free(els);
    if (rc || 2 * approved <= members || (mode != CHECK_APPLY && !mine)) return rc;
    if ((rc = cal_lww_get(cal, pkey, sizeof pkey, &v, &vl, NULL)) <= 0) return rc; /* not here yet */
    if (mode == SETTLE_COUNT) {
        free(v);
        return 1;
    }
    rc = vl < 32 ? WEFT_EMALFORMED : walk_actions(cal, v + 32, vl - 32, apply_action);
    free(v);
    if (rc == -1) rc = WEFT_EMALFORMED;
    uint8_t applied = DONE_APPLIED;
    if (rc == 0) rc = op(cal, dkey, sizeof dkey, WEFT_CRDT_LWW_REG, WEFT_CRDT_SET, &applied, 1);
    return rc ? rc : 1;
}

/* The ids of the context's proposals ("__nx/gov/p/" + id in its CRDT
 * states), gathered before any is applied (a scan does not write). */
typedef struct {
    uint8_t *ids;
    size_t n, cap;
    int rc;
} gov_ids_t;

static int gather(void *user, const uint8_t *key, size_t kl, const uint8_t *v, size_t vl)
{
    gov_ids_t *g = user;
    (void)v;
    (void)vl;
    if (kl != GOV_KEY_LEN) return 0;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        uint8_t *ids = realloc(g->ids, cap * 32);
        if (!ids) {
            g->rc = WEFT_ENOMEM;
            return 1;
        }
        g->ids = ids;
        g->cap = cap;
    }
    memcpy(g->ids + 32 * g->n++, key + 11, 32);
    return 0;
}

int weft_calimero_gov_settle(weft_calimero_t *cal, int apply)
{
    static const uint8_t prefix[] = "__nx/gov/p/";
    gov_ids_t g = {0};
    int applied = 0;
    if (!cal->txn) return WEFT_EARG;
    int rc = weft_txn_scan(cal->txn, WEFT_SPACE_CRDT, cal->ctx, cal->ctx_len, prefix,
                           sizeof prefix - 1, NULL, 0, gather, &g);
    if (rc == 0) rc = g.rc;
    for (size_t i = 0; rc == 0 && i < g.n; i++) {
        int r = check(cal, g.ids + 32 * i, apply ? SETTLE_APPLY : SETTLE_COUNT);
        if (r < 0) rc = r;
        else applied += r;
    }
    free(g.ids);
    if (rc && apply) cal->call_error = rc;
    return rc ? rc : applied;
}

void cal_gov_apply(weft_calimero_t *cal)
{
    for (size_t i = 0; i < cal->ngov_ops && cal->call_error == 0; i++) {
        cal_gov_op_t *g = &cal->gov_ops[i];
        uint8_t key[GOV_KEY_LEN];
        int rc = 0;
        if (g->actions) {
            uint8_t *rec = malloc(32 + g->actions_len);
            if (!rec) {
                cal->call_error = WEFT_ENOMEM;
                break;
            }
            memcpy(rec, cal->executor, 32);
            memcpy(rec + 32, g->actions, g->actions_len);
            gov_key('p', g->id, key);
            rc = op(cal, key, sizeof key, WEFT_CRDT_LWW_REG, WEFT_CRDT_SET, rec,
                    32 + g->actions_len);
            free(rec);
        }
        gov_key('a', g->id, key);
        /* an approval already there changes nothing but is checked again */
        int has = rc ? 0 : orset_has(cal, key, sizeof key, cal->executor);
        if (has < 0) rc = has;
        if (rc == 0 && !has)
            rc = op(cal, key, sizeof key, WEFT_CRDT_ORSET, WEFT_CRDT_ADD, cal->executor, 32);
        if (rc == 0 && (rc = check(cal, g->id, CHECK_APPLY)) > 0) rc = 0;
        if (rc) cal->call_error = rc;
    }
    cal_gov_clear(cal);
}

void cal_gov_clear(weft_calimero_t *cal)
{
    for (size_t i = 0; i < cal->ngov_ops; i++) free(cal->gov_ops[i].actions);
    cal->ngov_ops = 0;
}

static int queue(weft_calimero_t *cal, weft_caller_t *caller, const char *fn, const uint8_t id[32],
                 const uint8_t *actions, size_t len)
{
    if (cal->ngov_ops >= GOV_MAX_OPS)
        return weft_caller_trap(caller, "calimero.%s: more than %u proposals and approvals in "
                                        "one call", fn, GOV_MAX_OPS);
    cal_gov_op_t *g = realloc(cal->gov_ops, (cal->ngov_ops + 1) * sizeof *g);
    if (!g) return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
    cal->gov_ops = g;
    g += cal->ngov_ops;
    memcpy(g->id, id, 32);
    g->actions = NULL;
    g->actions_len = len;
    if (actions && !(g->actions = malloc(len ? len : 1)))
        return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
    if (actions && len) memcpy(g->actions, actions, len);
    cal->ngov_ops++;
    return 0;
}

/* send_proposal(actions, id): actions is Borsh Vec<ProposalAction> (weft's
 * actions: docs/calimero.md), at most 64 KiB (ValueLengthOverflow;
 * malformed: DeserializationError); the new proposal's random 32-byte id is
 * written to `id`, a buffer of exactly 32 bytes (InvalidMemoryAccess). */
int cal_fn_send_proposal(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "send_proposal";
    weft_calimero_t *cal = user;
    uint64_t al, il;
    int rc;
    const uint8_t *a = cal_buffer(cal, caller, fn, CAL_ARG(0), GOV_MAX_ACTIONS_BYTES,
                                  "ValueLengthOverflow", &al, &rc);
    if (!a) return rc;
    uint8_t *id = cal_buffer(cal, caller, fn, CAL_ARG(1), UINT64_MAX, NULL, &il, &rc);
    if (!id) return rc;
    if (il != 32)
        return cal_fail(cal, caller, fn, "InvalidMemoryAccess",
                        "a proposal id is 32 bytes, not %llu", (unsigned long long)il);
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(al) + 2))) return rc;
    if (cal_need_txn(cal, caller, fn, 1, &rc)) return rc;
    if (walk_actions(cal, a, al, NULL) != 0)
        return cal_fail(cal, caller, fn, "DeserializationError",
                        "actions are Borsh Vec<ProposalAction> of weft's four actions");
    uint8_t pid[32];
    randombytes_buf(pid, sizeof pid);
    if ((rc = queue(cal, caller, fn, pid, a, al))) return rc;
    memcpy(id, pid, 32);
    return 0;
}

/* approve_proposal(id): a 32-byte id (InvalidMemoryAccess) of a proposal
 * this node has, or one this call sent (else UnknownProposal). */
int cal_fn_approve_proposal(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "approve_proposal";
    weft_calimero_t *cal = user;
    uint64_t il;
    int rc;
    const uint8_t *id = cal_buffer(cal, caller, fn, CAL_ARG(0), UINT64_MAX, NULL, &il, &rc);
    if (!id) return rc;
    if (il != 32)
        return cal_fail(cal, caller, fn, "InvalidMemoryAccess",
                        "a proposal id is 32 bytes, not %llu", (unsigned long long)il);
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + 4))) return rc;
    if (cal_need_txn(cal, caller, fn, 1, &rc)) return rc;
    int known = 0;
    for (size_t i = 0; i < cal->ngov_ops && !known; i++)
        known = cal->gov_ops[i].actions && memcmp(cal->gov_ops[i].id, id, 32) == 0;
    if (!known && (known = proposal_known(cal, id)) < 0)
        return cal_store_error(cal, caller, fn, known);
    if (!known) {
        char hex[65];
        sodium_bin2hex(hex, sizeof hex, id, 32);
        return cal_fail(cal, caller, fn, "UnknownProposal", "no proposal %s on this node", hex);
    }
    return queue(cal, caller, fn, id, NULL, 0);
}
