/*
 * cal_js.c — Calimero test guest for the js_* collections, written from
 * the document: "all" runs every function's conventions in one call (ids
 * in registers, 1/0 results with the register filled or emptied, -1 with a
 * message for a bad or unknown id or another kind); the others keep
 * collections across calls and executors (ids passed as input).
 */
#include "guest.h"

static uint8_t reg[4096];

/* The register's bytes into reg; their length. */
static size_t get(uint64_t r)
{
    int64_t n = cal_register_read(r, reg, sizeof reg);
    CHECK(n >= 0);
    return (size_t)n;
}

static int is(uint64_t r, const char *s)
{
    size_t n = get(r);
    return n == cal_strlen(s) && memcmp(reg, s, n) == 0;
}

/* A u64 register (8 bytes, little-endian), or UINT64_MAX. */
static uint64_t u64(uint64_t r)
{
    return get(r) == 8 ? rd64(reg) : UINT64_MAX;
}

static cal_buf_t S(const char *s)
{
    return cal_buf(s, cal_strlen(s));
}

#define P(b) cal_ptr(&(b))

CAL_EXPORT("all") void all(void)
{
    uint8_t m[32], v[32], s[32], l[32], c[32], u[32], f[32], hash[32];
    cal_buf_t mb = cal_buf(m, 32), vb = cal_buf(v, 32), sb = cal_buf(s, 32), lb = cal_buf(l, 32),
              cb = cal_buf(c, 32), ub = cal_buf(u, 32), fb = cal_buf(f, 32);
    cal_buf_t k1 = S("k1"), k2 = S("k2"), a = S("apple"), b = S("banana");

    /* map */
    CHECK(cal_js_crdt_map_new(1) == 0);
    CHECK(get(1) == 32);
    memcpy(m, reg, 32);
    CHECK(cal_js_crdt_map_get(P(mb), P(k1), 2) == 0 && get(2) == 0);
    CHECK(cal_js_crdt_map_insert(P(mb), P(k1), P(a), 2) == 0 && get(2) == 0);
    CHECK(cal_js_crdt_map_insert(P(mb), P(k1), P(b), 2) == 1 && is(2, "apple"));
    CHECK(cal_js_crdt_map_insert(P(mb), P(k2), P(a), 2) == 0);
    CHECK(cal_js_crdt_map_get(P(mb), P(k1), 2) == 1 && is(2, "banana"));
    CHECK(cal_js_crdt_map_contains(P(mb), P(k2)) == 1);
    CHECK(cal_js_crdt_map_iter(P(mb), 2) == 1);
    {
        static const uint8_t want[] = {2, 0, 0, 0, 2, 0, 0, 0, 'k', '1', 6, 0, 0, 0, 'b', 'a', 'n', 'a', 'n', 'a',
                                       2, 0, 0, 0, 'k', '2', 5, 0, 0, 0, 'a', 'p', 'p', 'l', 'e'};
        CHECK(get(2) == sizeof want && memcmp(reg, want, sizeof want) == 0);
    }
    CHECK(cal_js_crdt_map_remove(P(mb), P(k2), 2) == 1 && is(2, "apple"));
    CHECK(cal_js_crdt_map_remove(P(mb), P(k2), 2) == 0 && get(2) == 0);
    CHECK(cal_js_crdt_map_contains(P(mb), P(k2)) == 0);

    /* vector */
    CHECK(cal_js_crdt_vector_new(1) == 0);
    memcpy(v, reg, get(1));
    CHECK(cal_js_crdt_vector_len(P(vb), 2) == 1 && u64(2) == 0);
    CHECK(cal_js_crdt_vector_pop(P(vb), 2) == 0 && get(2) == 0);
    CHECK(cal_js_crdt_vector_push(P(vb), P(a)) == 1);
    CHECK(cal_js_crdt_vector_push(P(vb), P(b)) == 1);
    CHECK(cal_js_crdt_vector_push(P(vb), P(k1)) == 1);
    CHECK(cal_js_crdt_vector_len(P(vb), 2) == 1 && u64(2) == 3);
    CHECK(cal_js_crdt_vector_get(P(vb), 1, 2) == 1 && is(2, "banana"));
    CHECK(cal_js_crdt_vector_get(P(vb), 3, 2) == 0 && get(2) == 0);
    CHECK(cal_js_crdt_vector_get(P(vb), UINT64_MAX, 2) == 0);
    CHECK(cal_js_crdt_vector_pop(P(vb), 2) == 1 && is(2, "k1"));
    CHECK(cal_js_crdt_vector_push(P(vb), P(k2)) == 1);
    CHECK(cal_js_crdt_vector_get(P(vb), 2, 2) == 1 && is(2, "k2"));
    CHECK(cal_js_crdt_vector_len(P(vb), 2) == 1 && u64(2) == 3);

    /* set */
    CHECK(cal_js_crdt_set_new(1) == 0);
    memcpy(s, reg, get(1));
    CHECK(cal_js_crdt_set_insert(P(sb), P(a)) == 1);
    CHECK(cal_js_crdt_set_insert(P(sb), P(a)) == 0);
    CHECK(cal_js_crdt_set_insert(P(sb), P(b)) == 1);
    CHECK(cal_js_crdt_set_contains(P(sb), P(b)) == 1);
    CHECK(cal_js_crdt_set_contains(P(sb), P(k1)) == 0);
    CHECK(cal_js_crdt_set_len(P(sb), 2) == 1 && u64(2) == 2);
    CHECK(cal_js_crdt_set_iter(P(sb), 2) == 1);
    {
        static const uint8_t want[] = {2, 0, 0, 0, 5, 0, 0, 0, 'a', 'p', 'p', 'l', 'e',
                                       6, 0, 0, 0, 'b', 'a', 'n', 'a', 'n', 'a'};
        CHECK(get(2) == sizeof want && memcmp(reg, want, sizeof want) == 0);
    }
    CHECK(cal_js_crdt_set_remove(P(sb), P(a)) == 1);
    CHECK(cal_js_crdt_set_remove(P(sb), P(a)) == 0);
    CHECK(cal_js_crdt_set_clear(P(sb)) == 1);
    CHECK(cal_js_crdt_set_clear(P(sb)) == 0);
    CHECK(cal_js_crdt_set_len(P(sb), 2) == 1 && u64(2) == 0);

    /* LWW register */
    CHECK(cal_js_crdt_lww_new(1) == 0);
    memcpy(l, reg, get(1));
    CHECK(cal_js_crdt_lww_get(P(lb), 2) == 0 && get(2) == 0);
    CHECK(cal_js_crdt_lww_timestamp(P(lb), 2) == 0);
    CHECK(cal_js_crdt_lww_set(P(lb), P(a), 1) == 1);
    CHECK(cal_js_crdt_lww_set(P(lb), P(a), 1) == 0);
    CHECK(cal_js_crdt_lww_get(P(lb), 2) == 1 && is(2, "apple"));
    CHECK(cal_js_crdt_lww_timestamp(P(lb), 2) == 1 && get(2) == 8 && rd64(reg) > 0);
    CHECK(cal_js_crdt_lww_set(P(lb), 0, 0) == 1); /* none: value_ptr not read */
    CHECK(cal_js_crdt_lww_set(P(lb), 0, 0) == 0);
    CHECK(cal_js_crdt_lww_get(P(lb), 2) == 0 && get(2) == 0);

    /* counter */
    CHECK(cal_js_crdt_counter_new(1) == 0);
    memcpy(c, reg, get(1));
    CHECK(cal_js_crdt_counter_value(P(cb), 2) == 1 && u64(2) == 0);
    CHECK(cal_js_crdt_counter_increment(P(cb)) == 1);
    CHECK(cal_js_crdt_counter_increment(P(cb)) == 1);
    CHECK(cal_js_crdt_counter_value(P(cb), 2) == 1 && u64(2) == 2);
    CHECK(cal_js_crdt_counter_get_executor_count(P(cb), 0, 0, 2) == 1 && u64(2) == 2);
    uint8_t nobody[32] = {9};
    cal_buf_t nb = cal_buf(nobody, 32);
    CHECK(cal_js_crdt_counter_get_executor_count(P(cb), P(nb), 1, 2) == 1 && u64(2) == 0);
    cal_executor_id(3);
    uint8_t me[32];
    CHECK(cal_register_read(3, me, 32) == 32);
    cal_buf_t meb = cal_buf(me, 32);
    CHECK(cal_js_crdt_counter_get_executor_count(P(cb), P(meb), 1, 2) == 1 && u64(2) == 2);

    /* user storage */
    CHECK(cal_js_user_storage_new(1) == 0);
    memcpy(u, reg, get(1));
    CHECK(cal_js_user_storage_contains(P(ub)) == 0);
    CHECK(cal_js_user_storage_get(P(ub), 2) == 0 && get(2) == 0);
    CHECK(cal_js_user_storage_insert(P(ub), P(a), 2) == 0);
    CHECK(cal_js_user_storage_insert(P(ub), P(b), 2) == 1 && is(2, "apple"));
    CHECK(cal_js_user_storage_get(P(ub), 2) == 1 && is(2, "banana"));
    CHECK(cal_js_user_storage_contains(P(ub)) == 1);
    CHECK(cal_js_user_storage_contains_user(P(ub), P(meb)) == 1);
    CHECK(cal_js_user_storage_contains_user(P(ub), P(nb)) == 0);
    CHECK(cal_js_user_storage_get_for_user(P(ub), P(meb), 2) == 1 && is(2, "banana"));
    CHECK(cal_js_user_storage_remove(P(ub), 2) == 1 && is(2, "banana"));
    CHECK(cal_js_user_storage_remove(P(ub), 2) == 0);

    /* frozen storage */
    CHECK(cal_js_frozen_storage_new(1) == 0);
    memcpy(f, reg, get(1));
    CHECK(cal_js_frozen_storage_add(P(fb), P(a), 2) == 1 && get(2) == 32);
    memcpy(hash, reg, 32);
    CHECK(cal_js_frozen_storage_add(P(fb), P(a), 2) == 1 && memcmp(reg, hash, 32) == 0);
    cal_buf_t hb = cal_buf(hash, 32);
    CHECK(cal_js_frozen_storage_contains(P(fb), P(hb)) == 1);
    CHECK(cal_js_frozen_storage_get(P(fb), P(hb), 2) == 1 && is(2, "apple"));
    hash[0] ^= 1;
    CHECK(cal_js_frozen_storage_contains(P(fb), P(hb)) == 0);
    CHECK(cal_js_frozen_storage_get(P(fb), P(hb), 2) == 0 && get(2) == 0);

    /* -1 conventions: an id of another length, unknown, another kind */
    cal_buf_t shortid = cal_buf(m, 31);
    CHECK(cal_js_crdt_map_get(P(shortid), P(k1), 2) == -1 && get(2) > 0);
    CHECK(cal_js_crdt_map_contains(P(shortid), P(k1)) == -1 && get(0) > 0);
    uint8_t unknown[32] = {1, 2, 3};
    cal_buf_t ub2 = cal_buf(unknown, 32);
    CHECK(cal_js_crdt_vector_len(P(ub2), 2) == -1 && is(2, "no collection with this id"));
    CHECK(cal_js_crdt_set_insert(P(mb), P(a)) == -1 && is(0, "the id names a map, not a set"));
    CHECK(cal_js_user_storage_get_for_user(P(ub), P(k1), 2) == -1);
    CHECK(cal_js_frozen_storage_get(P(fb), P(a), 2) == -1);
    ok("ok", 2);
}

/* Collections across calls: new returns the id; the others take it. */
CAL_EXPORT("counter_new") void counter_new(void)
{
    CHECK(cal_js_crdt_counter_new(1) == 0);
    ok(reg, get(1));
}

CAL_EXPORT("counter_inc") void counter_inc(void)
{
    read_input();
    cal_buf_t id = cal_buf(in_buf, 32);
    CHECK(cal_js_crdt_counter_increment(P(id)) == 1);
    ok("ok", 2);
}

/* input: id[32] user[32] — [u64 total][u64 mine][u64 user's] */
CAL_EXPORT("counter_read") void counter_read(void)
{
    uint8_t o[24];
    read_input();
    cal_buf_t id = cal_buf(in_buf, 32), user = cal_buf(in_buf + 32, 32);
    CHECK(cal_js_crdt_counter_value(P(id), 2) == 1);
    wr64(o, u64(2));
    CHECK(cal_js_crdt_counter_get_executor_count(P(id), 0, 0, 2) == 1);
    wr64(o + 8, u64(2));
    CHECK(cal_js_crdt_counter_get_executor_count(P(id), P(user), 1, 2) == 1);
    wr64(o + 16, u64(2));
    ok(o, 24);
}

CAL_EXPORT("user_new") void user_new(void)
{
    CHECK(cal_js_user_storage_new(1) == 0);
    ok(reg, get(1));
}

/* input: id[32] value */
CAL_EXPORT("user_put") void user_put(void)
{
    size_t n = read_input();
    cal_buf_t id = cal_buf(in_buf, 32), val = cal_buf(in_buf + 32, n - 32);
    CHECK(cal_js_user_storage_insert(P(id), P(val), 2) >= 0);
    ok("ok", 2);
}

/* input: id[32] user[32] — the user's value, or "-" */
CAL_EXPORT("user_get") void user_get(void)
{
    read_input();
    cal_buf_t id = cal_buf(in_buf, 32), user = cal_buf(in_buf + 32, 32);
    if (cal_js_user_storage_get_for_user(P(id), P(user), 2) == 1)
        ok(reg, get(2));
    else
        ok("-", 1);
}

/* A bad descriptor for an id traps like every memory error. */
CAL_EXPORT("map_bad_desc") void map_bad_desc(void)
{
    cal_buf_t k = S("k");
    cal_js_crdt_map_get(UINT64_MAX - 3, P(k), 2);
}

CAL_EXPORT("vec_new") void vec_new(void)
{
    CHECK(cal_js_crdt_vector_new(1) == 0);
    ok(reg, get(1));
}

/* input: id[32] value */
CAL_EXPORT("vec_push") void vec_push(void)
{
    size_t n = read_input();
    cal_buf_t id = cal_buf(in_buf, 32), val = cal_buf(in_buf + 32, n - 32);
    CHECK(cal_js_crdt_vector_push(P(id), P(val)) == 1);
    ok("ok", 2);
}

/* input: id[32] — every value, each followed by '\n' */
CAL_EXPORT("vec_all") void vec_all(void)
{
    static uint8_t o[8192];
    size_t used = 0;
    read_input();
    cal_buf_t id = cal_buf(in_buf, 32);
    CHECK(cal_js_crdt_vector_len(P(id), 2) == 1);
    uint64_t n = u64(2);
    for (uint64_t i = 0; i < n; i++) {
        CHECK(cal_js_crdt_vector_get(P(id), i, 2) == 1);
        size_t l = get(2);
        CHECK(used + l + 1 <= sizeof o);
        memcpy(o + used, reg, l);
        used += l;
        o[used++] = '\n';
    }
    ok(o, used);
}
