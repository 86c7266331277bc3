/*
 * cal_sync.c — Calimero test guest for artifacts (docs/calimero.md
 * "Artifacts"): it exports __calimero_sync_next, so the node delivers the
 * artifacts of its calls to the other members and runs that export with
 * each. Its artifacts are weft's Borsh StorageDelta::Actions, given as the
 * input; the export keeps a node-local log of what it applied (the test
 * reads which node ran what) and applies it with apply_storage_delta.
 */
#include "guest.h"

static uint8_t out[IN_MAX + 8];

/* input: an artifact — commit(root, artifact); nothing else is written */
CAL_EXPORT("record") void record(void)
{
    size_t n = read_input();
    uint8_t root[32];
    memset(root, 0x5a, sizeof root);
    cal_buf_t r = cal_buf(root, 32), a = cal_buf(in_buf, n);
    cal_commit(cal_ptr(&r), cal_ptr(&a));
    ok_u32(1);
}

/* input: a delta — apply_storage_delta of it in this call */
CAL_EXPORT("apply") void apply(void)
{
    size_t n = read_input();
    cal_buf_t d = cal_buf(in_buf, n);
    cal_apply_storage_delta(cal_ptr(&d));
    ok_u32(1);
}

/* input: a key — [u32 found][value] of synced storage */
CAL_EXPORT("get") void get(void)
{
    size_t n = read_input();
    uint32_t r = cal_read(in_buf, n, 2);
    wr32(out, r);
    int64_t l = r == 1 ? cal_register_read(2, out + 4, sizeof out - 4) : 0;
    CHECK(l >= 0);
    ok(out, 4 + (size_t)l);
}

/* The private log of applied artifacts: u32 len, bytes each, in order;
 * then the executor of the last one (32 bytes) — or nothing. */
CAL_EXPORT("applied") void applied(void)
{
    cal_buf_t k = cal_buf("applied", 7);
    if (cal_private_storage_read(cal_ptr(&k), 3) != 1) {
        ok("", 0);
        return;
    }
    int64_t l = cal_register_read(3, out, sizeof out);
    CHECK(l >= 0);
    ok(out, (size_t)l);
}

/* What the node runs with a peer's artifact: logs it (node-local), applies
 * it, and commits it again: the node must not send a sync's artifact back. */
CAL_EXPORT("__calimero_sync_next") void sync_next(void)
{
    static uint8_t log[IN_MAX + 8];
    size_t n = read_input(), have = 0;
    cal_buf_t k = cal_buf("applied", 7);
    if (cal_private_storage_read(cal_ptr(&k), 4) == 1) {
        int64_t r = cal_register_read(4, log, sizeof log);
        CHECK(r >= 32);
        have = (size_t)r - 32; /* the last executor goes */
    }
    CHECK(have + 4 + n + 32 <= sizeof log);
    wr32(log + have, (uint32_t)n);
    memcpy(log + have + 4, in_buf, n);
    cal_executor_id(5);
    CHECK(cal_register_read(5, log + have + 4 + n, 32) == 32);
    cal_buf_t v = cal_buf(log, have + 4 + n + 32);
    CHECK(cal_private_storage_write(cal_ptr(&k), cal_ptr(&v)) == 1);
    cal_buf_t d = cal_buf(in_buf, n);
    cal_apply_storage_delta(cal_ptr(&d));
    uint8_t root[32];
    memset(root, 0x5b, sizeof root);
    cal_buf_t r = cal_buf(root, 32);
    cal_commit(cal_ptr(&r), cal_ptr(&d));
}
