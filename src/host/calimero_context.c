/*
 * calimero_context.c — the Calimero context functions: context_is_member
 * and context_members answer at once from the context's members (the
 * sync layer's ORSet of node ids, WEFT_SYNC_MEMBERS_KEY: members are who
 * the context replicates to); context_add_member and
 * context_remove_member are queued and applied when the call ends
 * (weft_calimero_end_call), as this node's CRDT ops in the call's
 * transaction: they take effect when the call commits and vanish with it
 * when it does not, and the sync layer replicates them like any op.
 * context_resolve_alias asks the embedder whether a context of that name
 * exists (an alias is a context's name); context_create is queued for the
 * embedder, which creates the context when the call commits; so is
 * context_delete (docs/calimero.md).
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "calimero_priv.h"
#include "weft/crdt_store.h"
#include "weft/sync.h"

#define MEMBERS_KEY ((const uint8_t *)WEFT_SYNC_MEMBERS_KEY)
#define MEMBERS_KEY_LEN (sizeof WEFT_SYNC_MEMBERS_KEY - 1)

/* A 32-byte public key from a descriptor (another length:
 * InvalidMemoryAccess); NULL after trapping (*rc). */
static const uint8_t *key32(weft_calimero_t *cal, weft_caller_t *caller, const char *fn,
                            uint64_t desc, int *rc)
{
    uint64_t len;
    const uint8_t *k = cal_buffer(cal, caller, fn, desc, UINT64_MAX, NULL, &len, rc);
    if (k && len != WEFT_CALIMERO_ID_LEN) {
        *rc = cal_fail(cal, caller, fn, "InvalidMemoryAccess",
                       "a public key is 32 bytes, not %llu", (unsigned long long)len);
        return NULL;
    }
    return k;
}

static int fn_context_is_member(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "context_is_member";
    weft_calimero_t *cal = user;
    weft_crdt_state_t *st = NULL;
    int rc;
    const uint8_t *pk = key32(cal, caller, fn, CAL_ARG(0), &rc);
    if (!pk) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + 2))) return rc;
    if (cal_need_txn(cal, caller, fn, 0, &rc)) return rc;
    rc = weft_crdt_read_part(cal->txn, cal->ctx, cal->ctx_len, MEMBERS_KEY, MEMBERS_KEY_LEN,
                             WEFT_CRDT_ORSET, pk, WEFT_CALIMERO_ID_LEN, &st);
    if (rc == WEFT_ENOTFOUND) CAL_RETURN32(0);
    if (rc) return cal_store_error(cal, caller, fn, rc);
    int has = weft_crdt_orset_contains(st, pk, WEFT_CALIMERO_ID_LEN);
    weft_crdt_state_delete(st);
    if (has < 0) return cal_store_error(cal, caller, fn, has);
    CAL_RETURN32(has);
}

/* Borsh Vec<[u8; 32]>: u32 LE count, then the keys, in id order. */
static int fn_context_members(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "context_members";
    weft_calimero_t *cal = user;
    weft_crdt_state_t *st = NULL;
    uint8_t *els = NULL, *vec = NULL;
    size_t len = 0, n = 0;
    int rc = cal_charge(caller, CAL_FUEL_CALL);
    if (rc) return rc;
    if (cal_need_txn(cal, caller, fn, 0, &rc)) return rc;
    rc = weft_crdt_read(cal->txn, cal->ctx, cal->ctx_len, MEMBERS_KEY, MEMBERS_KEY_LEN,
                        WEFT_CRDT_ORSET, &st);
    if (rc == 0) {
        rc = weft_crdt_orset_elements(st, NULL, 0, &len);
        if (rc == 0 || rc == WEFT_ELIMIT) rc = (els = malloc(len)) ? 0 : WEFT_ENOMEM;
        if (rc == 0) rc = weft_crdt_orset_elements(st, els, len, &len);
    } else if (rc == WEFT_ENOTFOUND) {
        rc = 0;
    }
    weft_crdt_state_delete(st);
    /* u32 count, then (u32 len, element): keep the 32-byte ones */
    size_t cnt = els ? ((size_t)els[0] | (size_t)els[1] << 8 | (size_t)els[2] << 16 |
                        (size_t)els[3] << 24)
                     : 0;
    if (rc == 0 && !(vec = malloc(4 + 32 * cnt))) rc = WEFT_ENOMEM;
    for (size_t i = 0, off = 4; rc == 0 && i < cnt; i++) {
        size_t l = (size_t)els[off] | (size_t)els[off + 1] << 8 | (size_t)els[off + 2] << 16 |
                   (size_t)els[off + 3] << 24;
        if (l == 32) memcpy(vec + 4 + 32 * n++, els + off + 4, 32);
        off += 4 + l;
    }
    free(els);
    if (rc) {
        free(vec);
        return cal_store_error(cal, caller, fn, rc);
    }
    for (int i = 0; i < 4; i++) vec[i] = (uint8_t)(n >> (8 * i));
    if (cal_reg_set(cal, caller, fn, CAL_ARG(0), vec, 4 + 32 * n, &rc)) {
        free(vec);
        return rc;
    }
    free(vec);
    return 0;
}

/* Queues (add, key) for cal_context_apply; at most 100 x max_registers
 * per call, so a guest's loop cannot grow the queue without end. */
static int queue(weft_caller_t *caller, weft_calimero_t *cal, weft_raw_t *args, const char *fn,
                 int add)
{
    int rc;
    const uint8_t *pk = key32(cal, caller, fn, CAL_ARG(0), &rc);
    if (!pk) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + 2))) return rc;
    if (cal_need_txn(cal, caller, fn, 1, &rc)) return rc;
    if (cal->nmember_ops >= 100 * cal->lim.max_registers)
        return weft_caller_trap(caller, "calimero.%s: more than %llu member changes in one call",
                                fn, (unsigned long long)(100 * cal->lim.max_registers));
    uint8_t *ops = realloc(cal->member_ops, (cal->nmember_ops + 1) * 33);
    if (!ops) return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
    cal->member_ops = ops;
    ops[33 * cal->nmember_ops] = (uint8_t)add;
    memcpy(ops + 33 * cal->nmember_ops + 1, pk, 32);
    cal->nmember_ops++;
    return 0;
}

static int fn_context_add_member(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return queue(caller, user, args, "context_add_member", 1);
}

static int fn_context_remove_member(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    return queue(caller, user, args, "context_remove_member", 0);
}

void cal_context_apply(weft_calimero_t *cal)
{
    for (size_t i = 0; i < cal->nmember_ops && cal->call_error == 0; i++) {
        const uint8_t *op = cal->member_ops + 33 * i;
        weft_crdt_input_t in = {.value = op + 1, .value_len = 32};
        int rc = weft_crdt_local(cal->txn, cal->node_id, cal_wall_ms(), cal->ctx, cal->ctx_len,
                                 MEMBERS_KEY, MEMBERS_KEY_LEN, WEFT_CRDT_ORSET,
                                 op[0] ? WEFT_CRDT_ADD : WEFT_CRDT_REMOVE, &in, NULL, NULL);
        if (rc) cal->call_error = rc;
    }
    cal->nmember_ops = 0;
}

/* protocol (ignored: weft has no chain behind a context), the app's
 * 32-byte id (else InvalidMemoryAccess), init arguments (bounded like
 * xcall params), an alias (alias_ptr 0: none; at most 255 bytes, UTF-8
 * without NUL: AliasTooLong, BadUTF8). At most max_xcalls per call. */
static int fn_context_create(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "context_create";
    weft_calimero_t *cal = user;
    uint64_t pl, al, nl = 0;
    const uint8_t *alias = NULL;
    int rc;
    if (cal->ncreates >= cal->lim.max_xcalls)
        return cal_fail(cal, caller, fn, "XCallsOverflow",
                        "more than max_xcalls (%llu) contexts created in one call",
                        (unsigned long long)cal->lim.max_xcalls);
    if (!cal_buffer(cal, caller, fn, CAL_ARG(0), UINT64_MAX, NULL, &pl, &rc)) return rc;
    const uint8_t *app = key32(cal, caller, fn, CAL_ARG(1), &rc);
    if (!app) return rc;
    const uint8_t *a = cal_buffer(cal, caller, fn, CAL_ARG(2), cal->lim.max_xcall_params_size,
                                  "XCallParamsSizeOverflow", &al, &rc);
    if (!a) return rc;
    if (CAL_ARG(3) != 0) {
        alias = cal_buffer(cal, caller, fn, CAL_ARG(3), 255, "AliasTooLong", &nl, &rc);
        if (!alias) return rc;
        if (nl == 0) alias = NULL;
    }
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(al) + CAL_FUEL(nl)))) return rc;
    if (alias && (memchr(alias, 0, nl) || !weft_utf8_valid(alias, nl)))
        return cal_fail(cal, caller, fn, "BadUTF8", "an alias is UTF-8 text without NUL");
    if (cal_need_txn(cal, caller, fn, 1, &rc)) return rc;
    cal_create_t *cs = realloc(cal->creates, (cal->ncreates + 1) * sizeof *cs);
    if (!cs) return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
    cal->creates = cs;
    cal_create_t *q = &cs[cal->ncreates];
    memset(q, 0, sizeof *q);
    q->args = malloc(al ? al : 1);
    q->alias = alias ? malloc(nl + 1) : NULL;
    if (!q->args || (alias && !q->alias)) {
        free(q->args);
        free(q->alias);
        return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
    }
    memcpy(q->app_id, app, 32);
    if (al) memcpy(q->args, a, al);
    q->args_len = al;
    if (alias) {
        memcpy(q->alias, alias, nl);
        q->alias[nl] = '\0';
        q->alias_len = nl;
    }
    cal->ncreates++;
    return 0;
}

/* The context's 32-byte id (else InvalidMemoryAccess); at most
 * max_xcalls per call (XCallsOverflow). */
static int fn_context_delete(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "context_delete";
    weft_calimero_t *cal = user;
    int rc;
    if (cal->ndeletes >= cal->lim.max_xcalls)
        return cal_fail(cal, caller, fn, "XCallsOverflow",
                        "more than max_xcalls (%llu) contexts deleted in one call",
                        (unsigned long long)cal->lim.max_xcalls);
    const uint8_t *id = key32(cal, caller, fn, CAL_ARG(0), &rc);
    if (!id) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + 2))) return rc;
    if (cal_need_txn(cal, caller, fn, 1, &rc)) return rc;
    uint8_t *d = realloc(cal->deletes, (cal->ndeletes + 1) * 32);
    if (!d) return weft_caller_trap(caller, "calimero.%s: out of host memory", fn);
    cal->deletes = d;
    memcpy(d + 32 * cal->ndeletes++, id, 32);
    return 0;
}

/* 1 with the context's id (SHA-256 of the name) in the register when a
 * context is called `alias`, else 0 (an alias that is no context name:
 * empty, over 255 bytes, not UTF-8 text without NUL, is none). */
static int fn_context_resolve_alias(weft_caller_t *caller, void *user, weft_raw_t *args)
{
    static const char fn[] = "context_resolve_alias";
    weft_calimero_t *cal = user;
    uint64_t len;
    char name[256];
    uint8_t id[32];
    int rc;
    const uint8_t *a = cal_buffer(cal, caller, fn, CAL_ARG(0), UINT64_MAX, NULL, &len, &rc);
    if (!a) return rc;
    if ((rc = cal_charge(caller, CAL_FUEL_CALL + CAL_FUEL(len)))) return rc;
    if (cal_need_txn(cal, caller, fn, 0, &rc)) return rc;
    if (len == 0 || len > 255 || memchr(a, 0, len) || !cal->context_exists) CAL_RETURN32(0);
    memcpy(name, a, len);
    name[len] = '\0';
    if (!cal->context_exists(cal->context_user, cal->txn, name)) CAL_RETURN32(0);
    crypto_hash_sha256(id, a, len);
    if (cal_reg_set(cal, caller, fn, CAL_ARG(1), id, sizeof id, &rc)) return rc;
    CAL_RETURN32(1);
}

const cal_func_t cal_context_funcs[] = {
    {"context_create", "IIII", 0, fn_context_create},
    {"context_delete", "I", 0, fn_context_delete},
    {"context_add_member", "I", 0, fn_context_add_member},
    {"context_remove_member", "I", 0, fn_context_remove_member},
    {"context_is_member", "I", 'i', fn_context_is_member},
    {"context_members", "I", 0, fn_context_members},
    {"context_resolve_alias", "II", 'i', fn_context_resolve_alias},
};
const size_t cal_context_nfuncs = sizeof cal_context_funcs / sizeof cal_context_funcs[0];
