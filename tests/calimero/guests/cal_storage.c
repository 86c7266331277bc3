/*
 * cal_storage.c — Calimero test guest for storage, written from the
 * document: synced storage_read/write/remove (1/0 and the old value in
 * the register), private storage, commit, root state, deltas, and the
 * key and value limits (a pattern generated in memory, so no input is
 * big). Answers are [u32 result][register bytes].
 */
#include "guest.h"

/* Big keys and values: 1 MiB + 1 and 10 MiB + 1, generated. */
static uint8_t big_key[(1u << 20) + 1];
static uint8_t big_val[(10u << 20) + 1];
static uint8_t out[(10u << 20) + 8];

static void reply(uint32_t r, uint64_t reg)
{
    wr32(out, r);
    int64_t n = 0;
    if (r == 1) {
        n = cal_register_read(reg, out + 4, sizeof out - 4);
        CHECK(n >= 0);
    }
    ok(out, 4 + (size_t)n);
}

/* input: u32 key_len, key, value */
CAL_EXPORT("put") void put(void)
{
    size_t n = read_input();
    uint32_t kl = rd32(in_buf);
    CHECK(4 + kl <= n);
    reply(cal_write(in_buf + 4, kl, in_buf + 4 + kl, n - 4 - kl, 1), 1);
}

CAL_EXPORT("get") void get(void)
{
    size_t n = read_input();
    reply(cal_read(in_buf, n, 2), 2);
}

CAL_EXPORT("del") void del(void)
{
    size_t n = read_input();
    reply(cal_remove(in_buf, n, 3), 3);
}

/* Private storage, same inputs. */
CAL_EXPORT("pput") void pput(void)
{
    size_t n = read_input();
    uint32_t kl = rd32(in_buf);
    cal_buf_t k = cal_buf(in_buf + 4, kl), v = cal_buf(in_buf + 4 + kl, n - 4 - kl);
    ok_u32(cal_private_storage_write(cal_ptr(&k), cal_ptr(&v)));
}

CAL_EXPORT("pget") void pget(void)
{
    size_t n = read_input();
    cal_buf_t k = cal_buf(in_buf, n);
    reply(cal_private_storage_read(cal_ptr(&k), 2), 2);
}

CAL_EXPORT("pdel") void pdel(void)
{
    size_t n = read_input();
    cal_buf_t k = cal_buf(in_buf, n);
    reply(cal_private_storage_remove(cal_ptr(&k), 3), 3);
}

/* A pattern that differs in every 8 bytes (so no two chunks of a big
 * value are equal), written a word at a time: the interpreter fills
 * 10 MiB in a fraction of the time a byte loop takes. */
static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = (uint64_t)i * 0x9e3779b97f4a7c15ull + seed;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++) p[i] = (uint8_t)(i + seed);
}

/* input: u32 key_len, u32 value_len, u32 seed, u32 private — a generated
 * key and value of those sizes; returns [u32 result]. private 2 only
 * generates them (the same guest work without the host's). */
CAL_EXPORT("put_big") void put_big(void)
{
    read_input();
    uint32_t kl = rd32(in_buf), vl = rd32(in_buf + 4), seed = rd32(in_buf + 8),
             priv = rd32(in_buf + 12);
    CHECK(kl <= sizeof big_key && vl <= sizeof big_val);
    fill(big_key, kl, 1);
    fill(big_val, vl, seed);
    if (priv == 2) {
        ok_u32(0);
    } else if (priv) {
        cal_buf_t k = cal_buf(big_key, kl), v = cal_buf(big_val, vl);
        ok_u32(cal_private_storage_write(cal_ptr(&k), cal_ptr(&v)));
    } else {
        ok_u32(cal_write(big_key, kl, big_val, vl, 1));
    }
}

/* input: u32 key_len, u32 value_len, u32 seed, u32 private — reads the
 * key back and checks it holds that value; returns [u32 1]. */
CAL_EXPORT("check_big") void check_big(void)
{
    read_input();
    uint32_t kl = rd32(in_buf), vl = rd32(in_buf + 4), seed = rd32(in_buf + 8),
             priv = rd32(in_buf + 12);
    fill(big_key, kl, 1);
    fill(big_val, vl, seed);
    cal_buf_t k = cal_buf(big_key, kl);
    uint32_t r = priv ? cal_private_storage_read(cal_ptr(&k), 5) : cal_read(big_key, kl, 5);
    CHECK(r == 1);
    CHECK(cal_register_len(5) == vl);
    CHECK(cal_register_read(5, out, sizeof out) == (int64_t)vl);
    CHECK(memcmp(out, big_val, vl) == 0);
    ok_u32(1);
}

/* input: u32 times */
CAL_EXPORT("commit") void commit(void)
{
    read_input();
    uint32_t times = rd32(in_buf);
    uint8_t root[32];
    memset(root, 0xab, sizeof root);
    cal_buf_t r = cal_buf(root, 32), a = cal_buf("artifact", 8);
    for (uint32_t i = 0; i < times; i++) cal_commit(cal_ptr(&r), cal_ptr(&a));
    ok_u32(times);
}

CAL_EXPORT("commit_short_root") void commit_short_root(void)
{
    uint8_t root[31] = {0};
    cal_buf_t r = cal_buf(root, 31), a = cal_buf("", 0);
    cal_commit(cal_ptr(&r), cal_ptr(&a));
}

/* input: the document */
CAL_EXPORT("root_persist") void root_persist(void)
{
    size_t n = read_input();
    cal_buf_t d = cal_buf(in_buf, n);
    cal_persist_root_state(cal_ptr(&d), 100, 200);
    ok_u32(1);
}

CAL_EXPORT("root_read") void root_read(void)
{
    reply((uint32_t)cal_read_root_state(6), 6);
}

CAL_EXPORT("delta_empty") void delta_empty(void)
{
    static const uint8_t d[5] = {0, 0, 0, 0, 0};
    cal_buf_t b = cal_buf(d, 5);
    cal_apply_storage_delta(cal_ptr(&b));
    ok_u32(cal_flush_delta() == 0);
}

CAL_EXPORT("delta_bad") void delta_bad(void)
{
    static const uint8_t d[2] = {7, 1};
    cal_buf_t b = cal_buf(d, 2);
    cal_apply_storage_delta(cal_ptr(&b));
}

/* input: u32 key_len, key, value — writes, then returns Err: the
 * embedder must roll the write back. */
CAL_EXPORT("put_then_fail") void put_then_fail(void)
{
    size_t n = read_input();
    uint32_t kl = rd32(in_buf);
    cal_write(in_buf + 4, kl, in_buf + 4 + kl, n - 4 - kl, 1);
    cal_return(CAL_ERR, "nope", 4);
}

/* Members. input: a 32-byte key — [u32 is_member]; queues its addition
 * and checks it is not a member yet within the call. */
CAL_EXPORT("add_member") void add_member(void)
{
    read_input();
    cal_buf_t k = cal_buf(in_buf, 32);
    uint32_t before = cal_context_is_member(cal_ptr(&k));
    cal_context_add_member(cal_ptr(&k));
    CHECK(cal_context_is_member(cal_ptr(&k)) == before); /* queued */
    ok_u32(before);
}

CAL_EXPORT("remove_member") void remove_member(void)
{
    read_input();
    cal_buf_t k = cal_buf(in_buf, 32);
    cal_context_remove_member(cal_ptr(&k));
    ok_u32(1);
}

CAL_EXPORT("is_member") void is_member(void)
{
    read_input();
    cal_buf_t k = cal_buf(in_buf, 32);
    ok_u32(cal_context_is_member(cal_ptr(&k)));
}

/* The Borsh Vec<[u8; 32]> of members. */
CAL_EXPORT("members") void members(void)
{
    cal_context_members(7);
    int64_t n = cal_register_read(7, out, sizeof out);
    CHECK(n >= 4);
    ok(out, (size_t)n);
}

CAL_EXPORT("member_short_key") void member_short_key(void)
{
    cal_buf_t k = cal_buf(in_buf, 31);
    cal_context_is_member(cal_ptr(&k));
}

/* Adds a member, then fails: the change must vanish with the call. */
CAL_EXPORT("add_member_then_fail") void add_member_then_fail(void)
{
    read_input();
    cal_buf_t k = cal_buf(in_buf, 32);
    cal_context_add_member(cal_ptr(&k));
    cal_return(CAL_ERR, "no", 2);
}

/* Blobs. input: u32 size, u32 piece, u32 seed — a generated blob written
 * in pieces, closed, opened and read back in pieces of 1000 bytes and
 * compared; returns its id. */
CAL_EXPORT("blob_roundtrip") void blob_roundtrip(void)
{
    read_input();
    uint32_t size = rd32(in_buf), piece = rd32(in_buf + 4), seed = rd32(in_buf + 8);
    uint8_t id[32];
    CHECK(size <= sizeof big_val && piece > 0);
    fill(big_val, size, seed);
    uint64_t fd = cal_blob_create();
    CHECK(fd != 0);
    for (uint32_t off = 0; off < size; off += piece) {
        uint32_t n = size - off < piece ? size - off : piece;
        cal_buf_t b = cal_buf(big_val + off, n);
        CHECK(cal_blob_write(fd, cal_ptr(&b)) == n);
    }
    cal_buf_t idb = cal_buf(id, 32);
    CHECK(cal_blob_close(fd, cal_ptr(&idb)) == 1);
    uint64_t rd = cal_blob_open(cal_ptr(&idb));
    CHECK(rd != 0);
    uint64_t got = 0, n;
    do {
        cal_buf_t b = cal_buf(out + got, 1000);
        n = cal_blob_read(rd, cal_ptr(&b));
        got += n;
    } while (n > 0);
    CHECK(got == size && memcmp(out, big_val, size) == 0);
    ok(id, 32);
}

/* input: a blob id — [u64 size read], or [u64 max] when there is none */
CAL_EXPORT("blob_size") void blob_size(void)
{
    uint8_t o[8];
    read_input();
    cal_buf_t idb = cal_buf(in_buf, 32);
    uint64_t fd = cal_blob_open(cal_ptr(&idb)), total = 0, n;
    if (!fd) {
        wr64(o, UINT64_MAX);
        ok(o, 8);
        return;
    }
    do {
        cal_buf_t b = cal_buf(out, 65536);
        n = cal_blob_read(fd, cal_ptr(&b));
        total += n;
    } while (n);
    wr64(o, total);
    ok(o, 8);
}

/* A blob written by a call that returns Err is not kept. */
CAL_EXPORT("blob_then_fail") void blob_then_fail(void)
{
    uint8_t id[32];
    uint64_t fd = cal_blob_create();
    cal_buf_t b = cal_buf("lost blob", 9), idb = cal_buf(id, 32);
    cal_blob_write(fd, cal_ptr(&b));
    cal_blob_close(fd, cal_ptr(&idb));
    cal_return(CAL_ERR, id, 32);
}

CAL_EXPORT("blob_bad_handle") void blob_bad_handle(void)
{
    cal_buf_t b = cal_buf("x", 1);
    uint64_t fd = cal_blob_create();
    cal_blob_read(fd, cal_ptr(&b)); /* a writer read from */
}

CAL_EXPORT("blob_too_many") void blob_too_many(void)
{
    for (int i = 0; i < 17; i++) cal_blob_create();
}

/* input: app_id[32] args... ; alias in the first u32-prefixed part:
 * u32 alias_len (0: none), alias, app_id[32], args */
CAL_EXPORT("create_context") void create_context(void)
{
    size_t n = read_input();
    uint32_t al = rd32(in_buf);
    CHECK(4 + al + 32 <= n);
    cal_buf_t proto = cal_buf("near", 4), alias = cal_buf(in_buf + 4, al),
              app = cal_buf(in_buf + 4 + al, 32), args = cal_buf(in_buf + 36 + al, n - 36 - al);
    cal_context_create(cal_ptr(&proto), cal_ptr(&app), cal_ptr(&args), al ? cal_ptr(&alias) : 0);
    ok_u32(1);
}

/* A context's init: stores its arguments under "init". */
CAL_EXPORT("init") void init(void)
{
    size_t n = read_input();
    ok_u32(cal_write("init", 4, in_buf, n, 1));
}

/* input: a context id */
CAL_EXPORT("delete_context") void delete_context(void)
{
    read_input();
    cal_buf_t id = cal_buf(in_buf, 32);
    cal_context_delete(cal_ptr(&id));
    ok_u32(1);
}

/* ---- across nodes (calimero_e2e.py blobs, handlers) ---- */

/* input: a blob id — blob_announce_to_context of it to this context:
 * [u32 result] */
CAL_EXPORT("blob_announce") void blob_announce(void)
{
    uint8_t ctx[32];
    read_input();
    cal_context_id(5);
    CHECK(cal_register_read(5, ctx, sizeof ctx) == 32);
    cal_buf_t idb = cal_buf(in_buf, 32), cb = cal_buf(ctx, 32);
    ok_u32(cal_blob_announce_to_context(cal_ptr(&idb), cal_ptr(&cb)));
}

/* input: bytes — a blob of them, announced to this context: its id */
CAL_EXPORT("blob_put_announce") void blob_put_announce(void)
{
    uint8_t id[32], ctx[32];
    size_t n = read_input();
    uint64_t fd = cal_blob_create();
    cal_buf_t b = cal_buf(in_buf, n), idb = cal_buf(id, 32), cb = cal_buf(ctx, 32);
    CHECK(cal_blob_write(fd, cal_ptr(&b)) == n);
    CHECK(cal_blob_close(fd, cal_ptr(&idb)) == 1);
    cal_context_id(5);
    CHECK(cal_register_read(5, ctx, sizeof ctx) == 32);
    CHECK(cal_blob_announce_to_context(cal_ptr(&idb), cal_ptr(&cb)) == 1);
    ok(id, 32);
}

/* input: a blob id — its bytes, read in pieces of 100,000 (Err "none"
 * when blob_open finds no such blob here) */
CAL_EXPORT("blob_bytes") void blob_bytes(void)
{
    read_input();
    cal_buf_t idb = cal_buf(in_buf, 32);
    uint64_t fd = cal_blob_open(cal_ptr(&idb)), got = 0, n;
    if (!fd) {
        cal_return(CAL_ERR, "none", 4);
        return;
    }
    do {
        CHECK(got + 100000 <= sizeof out);
        cal_buf_t b = cal_buf(out + got, 100000);
        n = cal_blob_read(fd, cal_ptr(&b));
        got += n;
    } while (n > 0);
    ok(out, (size_t)got);
}

/* input: data — an event "note" whose handler on_note runs on the other
 * members; "bad_note": one whose handler is no export */
CAL_EXPORT("emit_note") void emit_note(void)
{
    size_t n = read_input();
    cal_event_t e;
    e.kind = cal_buf("note", 4);
    e.data = cal_buf(in_buf, n);
    cal_buf_t h = cal_buf("on_note", 7);
    cal_emit_with_handler(cal_ptr(&e), cal_ptr(&h));
    ok_u32(1);
}

CAL_EXPORT("emit_bad_note") void emit_bad_note(void)
{
    cal_event_t e;
    e.kind = cal_buf("bad", 3);
    e.data = cal_buf("x", 1);
    cal_buf_t h = cal_buf("no_such_handler", 15);
    cal_emit_with_handler(cal_ptr(&e), cal_ptr(&h));
    ok_u32(1);
}

/* The handler: counts its runs in private storage (node-local: the test
 * reads which node ran it), keeping the events' data in order, and the
 * executor it ran as. */
CAL_EXPORT("on_note") void on_note(void)
{
    static uint8_t all[IN_MAX];
    size_t n = read_input(), have = 0;
    cal_buf_t k = cal_buf("notes", 5);
    if (cal_private_storage_read(cal_ptr(&k), 6) == 1) {
        int64_t r = cal_register_read(6, all, sizeof all);
        CHECK(r >= 0);
        have = (size_t)r;
    }
    CHECK(have + 4 + n <= sizeof all);
    wr32(all + have, (uint32_t)n);
    memcpy(all + have + 4, in_buf, n);
    cal_buf_t v = cal_buf(all, have + 4 + n);
    CHECK(cal_private_storage_write(cal_ptr(&k), cal_ptr(&v)) == 1);
    uint8_t ex[32];
    cal_executor_id(7);
    CHECK(cal_register_read(7, ex, sizeof ex) == 32);
    cal_buf_t ek = cal_buf("note_by", 7), ev = cal_buf(ex, 32);
    CHECK(cal_private_storage_write(cal_ptr(&ek), cal_ptr(&ev)) == 1);
    ok_u32(1);
}

/* Governance (docs/calimero.md "Governance"). input: the Borsh actions;
 * output: the new proposal's 32-byte id. */
CAL_EXPORT("propose") void propose(void)
{
    size_t n = read_input();
    uint8_t id[32] = {0};
    cal_buf_t a = cal_buf(in_buf, n), b = cal_buf(id, 32);
    cal_send_proposal(cal_ptr(&a), cal_ptr(&b));
    ok(id, 32);
}

/* The same, then a panic: nothing of the proposal may stay. */
CAL_EXPORT("propose_then_panic") void propose_then_panic(void)
{
    size_t n = read_input();
    uint8_t id[32];
    cal_buf_t a = cal_buf(in_buf, n), b = cal_buf(id, 32);
    cal_send_proposal(cal_ptr(&a), cal_ptr(&b));
    cal_log("proposed");
    CAL_PANIC("after send_proposal");
}

CAL_EXPORT("propose_short_id") void propose_short_id(void)
{
    uint8_t id[31], none[4] = {0};
    cal_buf_t a = cal_buf(none, 4), b = cal_buf(id, 31);
    cal_send_proposal(cal_ptr(&a), cal_ptr(&b));
}

/* input: the proposal's 32-byte id (another length: as given) */
CAL_EXPORT("approve") void approve(void)
{
    size_t n = read_input();
    cal_buf_t id = cal_buf(in_buf, n);
    cal_approve_proposal(cal_ptr(&id));
    ok_u32(1);
}
