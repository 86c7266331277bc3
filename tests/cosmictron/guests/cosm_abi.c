/*
 * cosm_abi.c — a Cosmictron module written from the ABI document
 * (../shared/abi/cosmictron-wasm-abi.txt) through sdk/cosmictron.h alone,
 * for tests/cosmictron/test_cosm_abi.c. Each reducer checks one area and
 * returns 0, or the line of the first check that failed (after logging
 * it), so the host test names what broke.
 *
 * Tables: person {id: u32 pk, name: String unique, age: i32, tag:
 * Option<String>} with indexes by_age (age), by_age_name (age, name) and
 * by_id (id: the primary key's, served by the rows);
 * log {msg: String}; secret {owner: bytes, note: String pk}, private with
 * owner column owner.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../bulk_rows.h"
#include "cosmictron.h"

static const cosm_column_t person_cols[] = {
    {"id", COSM_T(COSM_U32)},
    {"name", COSM_T(COSM_STRING)},
    {"age", COSM_T(COSM_I32)},
    {"tag", COSM_T(COSM_OPTION COSM_STRING)},
};
static const uint32_t person_unique[] = {1};
static const cosm_index_t person_idx[] = {
    {"by_age", {2}, 1}, {"by_age_name", {2, 1}, 2}, {"by_id", {0}, 1}};
static const cosm_column_t log_cols[] = {{"msg", COSM_T(COSM_STRING)}};
static const cosm_column_t secret_cols[] = {{"owner", COSM_T(COSM_BYTES)},
                                            {"note", COSM_T(COSM_STRING)}};
static const cosm_column_t life_cols[] = {{"what", COSM_T(COSM_STRING)}};
static const cosm_table_t tables[] = {
    {"person", person_cols, 4, 0, person_unique, 1, person_idx, 3, 1, -1, 0},
    {"log", log_cols, 1, -1, NULL, 0, NULL, 0, 1, -1, 0},
    {"secret", secret_cols, 2, 1, NULL, 0, NULL, 0, 0, 0, 0},
    {"life", life_cols, 1, -1, NULL, 0, NULL, 0, 1, -1, 0}, /* what the lifecycle reducers did */
};
static const cosm_column_t add_args[] = {{"name", COSM_T(COSM_STRING)}, {"age", COSM_T(COSM_I32)}};
static const cosm_column_t seed_args[] = {{"seed", COSM_T(COSM_U64)}};
static const cosm_column_t id_args[] = {{"id", COSM_T(COSM_U32)}};
static const cosm_column_t bulk_args[] = {{"n", COSM_T(COSM_U32)}, {"fail", COSM_T(COSM_BOOL)}};
static const cosm_reducer_t reducers[] = {
    {"add", add_args, 2},       {"errors", NULL, 0}, {"ranges", NULL, 0},
    {"iter_inserts", NULL, 0},  {"context", NULL, 0}, {"schedule", NULL, 0},
    {"tick", seed_args, 1},     {"hostile", seed_args, 1}, {"iter_limit", NULL, 0},
    {"burn", NULL, 0},          {"remove", id_args, 1},    {"init", NULL, 0},
    {"client_connected", NULL, 0}, {"client_disconnected", NULL, 0},
    {"bulk", bulk_args, 2},
};
COSM_MODULE(tables, 4, reducers, 15)

#define CHECK(c)                                                        \
    do {                                                                \
        if (!(c)) {                                                     \
            char m_[160];                                               \
            snprintf(m_, sizeof m_, "check failed line %d: %s", __LINE__, #c); \
            cosm_log(COSM_ERROR, m_);                                   \
            return __LINE__;                                            \
        }                                                               \
    } while (0)

static uint8_t row[256];

static uint32_t person_row(cosm_buf_t *b, uint32_t id, const char *name, int32_t age)
{
    cosm_buf_init(b, row, sizeof row);
    cosm_put_u32(b, id);
    cosm_put_str(b, name);
    cosm_put_i32(b, age);
    cosm_put_none(b);
    return b->len;
}

static int32_t insert_person(uint32_t id, const char *name, int32_t age)
{
    cosm_buf_t b;
    person_row(&b, id, name, age);
    return datastore_insert(0, b.p, b.len);
}

/* ids of an iterator's rows, in order; closes it */
static int drain(int64_t it, uint32_t *ids, int max)
{
    uint8_t out[64];
    int n = 0;
    for (;;) {
        int32_t r = datastore_iter_next(it, out, sizeof out);
        if (r <= 0) break;
        cosm_rd_t rd;
        cosm_rd_init(&rd, out, (uint32_t)r);
        if (n < max) ids[n] = cosm_get_u32(&rd);
        n++;
    }
    datastore_iter_close(it);
    return n;
}

/* add(name, age): a person with the next free id */
COSM_REDUCER(add)
{
    uint32_t nl;
    const uint8_t *name = cosm_get_bytes(args, &nl);
    int32_t age = cosm_get_i32(args);
    CHECK(!args->err && args->off == args->len);
    uint32_t ids[64];
    int n = drain(datastore_scan(0), ids, 64);
    cosm_buf_t b;
    cosm_buf_init(&b, row, sizeof row);
    cosm_put_u32(&b, 100 + (uint32_t)n);
    cosm_put_bytes(&b, name, nl);
    cosm_put_i32(&b, age);
    cosm_put_none(&b);
    CHECK(datastore_insert(0, b.p, b.len) == COSM_OK);
    return 0;
}

/* bulk(n, fail): log rows 0 to n-1 of bulk_rows.h (more than 64 KiB of
 * row changes from n = 65 on), then fails (returns 1) when fail is set */
COSM_REDUCER(bulk)
{
    static uint8_t big[4 + BULK_BIG];
    uint32_t n = cosm_get_u32(args);
    uint8_t fail = cosm_get_u8(args);
    CHECK(!args->err && args->off == args->len);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = bulk_len(i);
        cosm_buf_t b;
        cosm_buf_init(&b, big, sizeof big);
        cosm_put_u32(&b, len);
        for (uint32_t j = 0; j < len; j++) big[4 + j] = bulk_byte(i, j);
        CHECK(datastore_insert(1, big, 4 + len) == COSM_OK);
    }
    return fail ? 1 : 0;
}

/* the lifecycle reducers: a row in life each */
static int32_t life(const char *what)
{
    cosm_buf_t b;
    cosm_buf_init(&b, row, sizeof row);
    cosm_put_str(&b, what);
    return datastore_insert(3, b.p, b.len);
}

COSM_REDUCER(init)
{
    return life("init");
}

COSM_REDUCER(client_connected)
{
    return life("connected");
}

COSM_REDUCER(client_disconnected)
{
    return life("disconnected");
}

/* remove(id): deletes a person */
COSM_REDUCER(remove)
{
    uint8_t pk[4];
    uint32_t id = cosm_get_u32(args);
    memcpy(pk, &id, 4);
    CHECK(datastore_delete_by_pk(0, pk, 4) == COSM_OK);
    return 0;
}

/* every error code a guest can be given (6 in burn, 7 in iter_limit; 8 is
 * never given in weft: docs/cosmictron.md) */
COSM_REDUCER(errors)
{
    cosm_buf_t b;
    CHECK(cosm_table_id("person") == 0 && cosm_table_id("secret") == 2);
    CHECK(cosm_table_id("nope") == -COSM_ERR_NO_TABLE);
    CHECK(insert_person(1, "ann", 30) == COSM_OK);
    CHECK(insert_person(1, "bob", 30) == COSM_ERR_UNIQUE); /* primary key */
    CHECK(insert_person(2, "ann", 30) == COSM_ERR_UNIQUE); /* unique column */
    person_row(&b, 3, "cy", 1);
    CHECK(datastore_insert(0, b.p, b.len - 1) == COSM_ERR_TYPE);
    CHECK(datastore_insert(1, b.p, b.len) == COSM_ERR_TYPE); /* a person is not a log row */
    CHECK(datastore_insert(7, b.p, b.len) == COSM_ERR_NO_TABLE);
    CHECK(datastore_insert(-1, b.p, b.len) == COSM_ERR_NO_TABLE);
    uint8_t pk[4] = {9, 0, 0, 0};
    CHECK(datastore_delete_by_pk(0, pk, 4) == COSM_ERR_NOT_FOUND);
    pk[0] = 1;
    CHECK(datastore_delete_by_pk(0, pk, 2) == COSM_ERR_TYPE);
    CHECK(datastore_delete_by_pk(0, pk, 4) == COSM_OK);
    CHECK(datastore_delete_by_pk(0, pk, 4) == COSM_ERR_NOT_FOUND);
    CHECK(datastore_delete_by_pk(1, pk, 4) == COSM_ERR_INVALID); /* log has no primary key */
    CHECK(datastore_delete_by_pk(5, pk, 4) == COSM_ERR_NO_TABLE);
    /* row-level security: a secret owned by someone else */
    uint8_t me[32], other[32];
    CHECK(cosm_sender_identity(me, sizeof me) == COSM_OK);
    memcpy(other, me, 32);
    other[0] ^= 0xFF;
    cosm_buf_init(&b, row, sizeof row);
    cosm_put_bytes(&b, other, 32);
    cosm_put_str(&b, "theirs");
    CHECK(datastore_insert(2, b.p, b.len) == COSM_ERR_DENIED);
    /* invalid arguments: ranges outside memory, forged handles, small buffers */
    CHECK(datastore_insert(0, (const void *)0xFFFFFFF0u, 64) == COSM_ERR_INVALID);
    CHECK(datastore_delete_by_pk(0, (const void *)0xFFFFFFF0u, 64) == COSM_ERR_INVALID);
    CHECK(datastore_table_id_from_name((const char *)0xFFFFFFF0u, 64) == -COSM_ERR_INVALID);
    CHECK(datastore_index_scan(0, 0, (const void *)0xFFFFFFF0u, 64) == -COSM_ERR_INVALID);
    CHECK(cosm_sender_identity(me, 31) == COSM_ERR_INVALID);
    uint8_t out[64];
    CHECK(datastore_iter_next(12345, out, sizeof out) == -COSM_ERR_INVALID);
    CHECK(datastore_iter_next(-1, out, sizeof out) == -COSM_ERR_INVALID);
    int64_t it = datastore_scan(0);
    CHECK(it > 0);
    CHECK(datastore_iter_next(it, out, COSM_MIN_ROW_BUF - 1) == -COSM_ERR_INVALID);
    CHECK(datastore_iter_next(it, (void *)0xFFFFFFF0u, 64) == -COSM_ERR_INVALID);
    datastore_iter_close(it);
    datastore_iter_close(it); /* closing twice is harmless */
    CHECK(datastore_iter_next(it, out, sizeof out) == -COSM_ERR_INVALID);
    CHECK(datastore_scan(9) == -COSM_ERR_NO_TABLE);
    uint8_t all[2] = {COSM_BOUND_UNBOUNDED, COSM_BOUND_UNBOUNDED};
    CHECK(datastore_index_scan(0, 3, all, 2) == -COSM_ERR_NO_TABLE);
    CHECK(datastore_index_scan(1, 0, all, 2) == -COSM_ERR_NO_TABLE);
    uint8_t bad_kind[2] = {3, COSM_BOUND_UNBOUNDED};
    CHECK(datastore_index_scan(0, 0, bad_kind, 2) == -COSM_ERR_INVALID);
    uint8_t short_bound[3] = {COSM_BOUND_INCLUDED, 1, 0};
    CHECK(datastore_index_scan(0, 0, short_bound, 3) == -COSM_ERR_TYPE);
    /* a reducer that does not exist, arguments of the wrong type */
    CHECK(cosm_schedule_reducer("nope", 4, "", 0, 0) == -COSM_ERR_INVALID);
    CHECK(cosm_schedule_reducer("tick", 4, "abc", 3, 0) == -COSM_ERR_TYPE);
    CHECK(cosm_schedule_reducer("tick", 4, "12345678", 8, -1) == -COSM_ERR_INVALID);
    /* http: a binding without the embedder's hook denies every request
     * (test_cosm_abi gives none); a malformed request is invalid */
    uint8_t req[128];
    cosm_buf_init(&b, req, sizeof req);
    cosm_put_str(&b, "GET");
    cosm_put_str(&b, "http://127.0.0.1/");
    cosm_put_u32(&b, 1);
    cosm_put_str(&b, "accept");
    cosm_put_str(&b, "*/*");
    cosm_put_bytes(&b, "", 0);
    CHECK(cosm_http_request(b.p, b.len, out, sizeof out) == COSM_ERR_DENIED);
    CHECK(cosm_http_request(b.p, b.len - 1, out, sizeof out) == COSM_ERR_INVALID);
    return 0;
}

/* ages -5 -1 -1 0 1 1 5 through the signed index, at every edge */
static int count_range(int32_t idx, int lo_kind, int32_t lo, int hi_kind, int32_t hi, int32_t *ages)
{
    uint8_t r[16];
    cosm_buf_t b;
    cosm_buf_init(&b, r, sizeof r);
    cosm_put_u8(&b, (uint8_t)lo_kind);
    if (lo_kind != COSM_BOUND_UNBOUNDED) cosm_put_i32(&b, lo);
    cosm_put_u8(&b, (uint8_t)hi_kind);
    if (hi_kind != COSM_BOUND_UNBOUNDED) cosm_put_i32(&b, hi);
    int64_t it = datastore_index_scan(0, idx, b.p, b.len);
    if (it <= 0) return -1000;
    uint8_t out[64];
    int n = 0;
    for (int32_t r2; (r2 = datastore_iter_next(it, out, sizeof out)) > 0; n++) {
        cosm_rd_t rd;
        cosm_rd_init(&rd, out, (uint32_t)r2);
        cosm_get_u32(&rd);
        uint32_t nl;
        cosm_get_bytes(&rd, &nl);
        if (ages && n < 8) ages[n] = cosm_get_i32(&rd);
    }
    datastore_iter_close(it);
    return n;
}

COSM_REDUCER(ranges)
{
    static const int32_t ages[] = {1, -1, 5, 0, -5, 1, -1};
    char name[8];
    for (uint32_t i = 0; i < 7; i++) {
        snprintf(name, sizeof name, "p%u", (unsigned)i);
        CHECK(insert_person(i, name, ages[i]) == COSM_OK);
    }
    const int I = COSM_BOUND_INCLUDED, E = COSM_BOUND_EXCLUDED, U = COSM_BOUND_UNBOUNDED;
    int32_t got[8];
    CHECK(count_range(0, I, -1, I, 1, got) == 5);
    for (int i = 1; i < 5; i++) CHECK(got[i - 1] <= got[i]);
    CHECK(got[0] == -1 && got[4] == 1);
    CHECK(count_range(0, E, -1, I, 1, NULL) == 3);
    CHECK(count_range(0, I, -1, E, 1, NULL) == 3);
    CHECK(count_range(0, E, -1, E, 1, NULL) == 1);
    CHECK(count_range(0, U, 0, E, 0, NULL) == 3);
    CHECK(count_range(0, E, 0, U, 0, NULL) == 3);
    CHECK(count_range(0, I, -5, I, -5, NULL) == 1);
    CHECK(count_range(0, E, 5, U, 0, NULL) == 0);
    CHECK(count_range(0, I, 2, I, 4, NULL) == 0);
    CHECK(count_range(0, I, 3, I, -3, NULL) == 0);
    CHECK(count_range(0, U, 0, U, 0, got) == 7);
    CHECK(got[0] == -5 && got[6] == 5);
    CHECK(count_range(0, I, INT32_MIN, I, INT32_MAX, NULL) == 7);
    /* the two-column index from (1, "p5") on */
    uint8_t r[32];
    cosm_buf_t b;
    cosm_buf_init(&b, r, sizeof r);
    cosm_put_u8(&b, COSM_BOUND_INCLUDED);
    cosm_put_i32(&b, 1);
    cosm_put_str(&b, "p5");
    cosm_put_u8(&b, COSM_BOUND_UNBOUNDED);
    uint32_t ids[8];
    CHECK(drain(datastore_index_scan(0, 1, b.p, b.len), ids, 8) == 2);
    CHECK(ids[0] == 5 && ids[1] == 2);
    /* a point lookup on the primary key's index */
    cosm_buf_init(&b, r, sizeof r);
    cosm_put_u8(&b, COSM_BOUND_INCLUDED);
    cosm_put_u32(&b, 3);
    cosm_put_u8(&b, COSM_BOUND_INCLUDED);
    cosm_put_u32(&b, 3);
    CHECK(drain(datastore_index_scan(0, 2, b.p, b.len), ids, 8) == 1 && ids[0] == 3);
    return 0;
}

/* an iterator sees rows the call inserts ahead of it; a too-small buffer
 * gets the row's length and keeps the row */
COSM_REDUCER(iter_inserts)
{
    CHECK(insert_person(10, "a", 0) == COSM_OK);
    CHECK(insert_person(20, "b", 0) == COSM_OK);
    int64_t it = datastore_scan(0);
    uint8_t out[64];
    int32_t n = datastore_iter_next(it, out, sizeof out);
    CHECK(n > 0 && out[0] == 10);
    CHECK(insert_person(15, "c", 0) == COSM_OK);
    CHECK(insert_person(5, "d", 0) == COSM_OK); /* behind it: not seen */
    uint8_t pk[4] = {20, 0, 0, 0};
    CHECK(datastore_delete_by_pk(0, pk, 4) == COSM_OK);
    CHECK(insert_person(30, "a-much-longer-name-than-sixteen", 0) == COSM_OK);
    n = datastore_iter_next(it, out, sizeof out);
    CHECK(n > 0 && out[0] == 15);
    n = datastore_iter_next(it, out, COSM_MIN_ROW_BUF);
    CHECK(n == -(4 + 4 + 31 + 4 + 1));
    n = datastore_iter_next(it, out, sizeof out);
    CHECK(n == 4 + 4 + 31 + 4 + 1 && out[0] == 30);
    CHECK(datastore_iter_next(it, out, sizeof out) == 0);
    CHECK(datastore_iter_next(it, out, sizeof out) == 0);
    datastore_iter_close(it);
    /* scanning a table while inserting into it, without end: the rows
     * inserted ahead are seen, so stop after a bound */
    CHECK(insert_person(1000, "x1000", 0) == COSM_OK);
    cosm_buf_t b;
    int64_t h = datastore_index_scan(0, 0, "\x02\x02", 2);
    CHECK(h > 0);
    int seen = 0;
    while (seen < 50 && datastore_iter_next(h, out, sizeof out) > 0) {
        char name[16];
        snprintf(name, sizeof name, "y%d", seen);
        person_row(&b, 2000 + (uint32_t)seen, name, 1 + seen); /* ahead in age order */
        CHECK(datastore_insert(0, b.p, b.len) == COSM_OK);
        seen++;
    }
    CHECK(seen == 50);
    datastore_iter_close(h);
    return 0;
}

/* identity, timestamp, logs at every level */
COSM_REDUCER(context)
{
    uint8_t id[40];
    memset(id, 0xEE, sizeof id);
    CHECK(cosm_sender_identity(id, sizeof id) == COSM_OK);
    CHECK(id[32] == 0xEE); /* 32 bytes written, no more */
    cosm_buf_t b;
    cosm_buf_init(&b, row, sizeof row);
    cosm_put_bytes(&b, id, 32);
    cosm_put_str(&b, "mine");
    CHECK(datastore_insert(2, b.p, b.len) == COSM_OK);
    int64_t t1 = cosm_timestamp(), t2;
    for (volatile int i = 0; i < 100000; i++) {
    }
    t2 = cosm_timestamp();
    CHECK(t1 == t2 && t1 > 1600000000000000ll); /* µs since 1970, constant in a call */
    for (int level = 0; level <= 4; level++) {
        char m[32];
        snprintf(m, sizeof m, "level %d", level);
        cosm_log(level, m);
    }
    cosm_log(7, "clamped");
    /* the timestamp goes out as the reducer's log, for the host to compare */
    char m[48];
    snprintf(m, sizeof m, "ts %lld", (long long)t1);
    cosm_log(COSM_INFO, m);
    return 0;
}

/* two schedules, one cancelled */
COSM_REDUCER(schedule)
{
    uint8_t a[8];
    cosm_buf_t b;
    cosm_buf_init(&b, a, sizeof a);
    cosm_put_u64(&b, 7);
    int64_t h1 = cosm_schedule_reducer("tick", 4, a, 8, 1000000);
    int64_t h2 = cosm_schedule_reducer("tick", 4, a, 8, 2000000);
    CHECK(h1 > 0 && h2 > h1);
    cosm_cancel_reducer(h1);
    cosm_cancel_reducer(h1);      /* again: nothing */
    cosm_cancel_reducer(1 << 30); /* unknown: nothing */
    return 0;
}

/* what the schedules run: a log row "tick N" */
COSM_REDUCER(tick)
{
    uint64_t n = cosm_get_u64(args);
    CHECK(n == 7);
    char m[32];
    snprintf(m, sizeof m, "tick %llu", (unsigned long long)n);
    cosm_buf_t b;
    cosm_buf_init(&b, row, sizeof row);
    cosm_put_str(&b, m);
    CHECK(datastore_insert(1, b.p, b.len) == COSM_OK);
    return 0;
}

/* 1025 iterators at once: the last gets code 7 (memory limit) */
COSM_REDUCER(iter_limit)
{
    for (int i = 0; i < 1024; i++) CHECK(datastore_scan(0) > 0);
    CHECK(datastore_scan(0) == -COSM_ERR_MEMORY);
    return 0;
}

/* runs a fuel budget down through host calls: the host call that finds
 * it short answers 6, and the guest's next instruction traps out of fuel
 * (the host test sees the trap and that nothing was kept) */
COSM_REDUCER(burn)
{
    char name[16];
    for (uint32_t i = 0;; i++) {
        snprintf(name, sizeof name, "b%u", (unsigned)i);
        int32_t r = insert_person(i, name, 0);
        if (r == COSM_ERR_FUEL) {
            cosm_log(COSM_WARN, "fuel code seen");
            return 0;
        }
        CHECK(r == COSM_OK);
    }
}

/* ---- hostile: random arguments to every import ---------------------------- */

static uint64_t rng;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static uint32_t any_u32(void)
{
    switch (rnd() % 6) {
    case 0: return 0;
    case 1: return rnd() % 4;
    case 2: return 0xFFFFFFFFu - rnd() % 64;
    case 3: return 0x80000000u;
    default: return rnd();
    }
}

static uint8_t junk[512];

/* an input range: mostly inside memory, sometimes anywhere or past its end */
static void any_range(uint32_t *p, uint32_t *len)
{
    *len = rnd() % 6 == 0 ? any_u32() : rnd() % sizeof junk;
    *p = rnd() % 5 == 0 ? any_u32() : (uint32_t)(uintptr_t)junk;
}

/* an output range: inside junk, or past the end of memory (never over the
 * guest's own data, which would make the run depend on what it hit) */
static void any_out(uint32_t *p, uint32_t *len)
{
    if (rnd() % 5 == 0) {
        *p = 0xFFFFFFFFu - rnd() % 1024;
        *len = rnd() % 2048;
    } else {
        *p = (uint32_t)(uintptr_t)junk;
        *len = rnd() % (sizeof junk + 1);
    }
}

static int code_ok(int32_t r)
{
    return r >= 0 && r <= 9 && r != COSM_ERR_FUEL && r != COSM_ERR_CONFLICT;
}

COSM_REDUCER(hostile)
{
    rng = cosm_get_u64(args) | 1;
    int64_t handles[8] = {0};
    for (int i = 0; i < 3000; i++) {
        for (uint32_t k = 0; k < sizeof junk; k++) junk[k] = (uint8_t)(rnd() % 3 ? rnd() : 0);
        /* sometimes a well-formed person, so some calls get past the checks */
        if (rnd() % 3 == 0) {
            cosm_buf_t b;
            person_row(&b, rnd() % 50, rnd() % 2 ? "h" : "hh", (int32_t)any_u32());
            memcpy(junk, b.p, b.len);
        }
        uint32_t p, l, p2, l2;
        any_range(&p, &l);
        any_out(&p2, &l2);
        int32_t tid = (int32_t)(rnd() % 5 ? rnd() % 4 : any_u32());
        int64_t h = rnd() % 3 ? handles[rnd() % 8] : (int64_t)any_u32() << (rnd() % 33);
        int32_t r;
        int64_t r64;
        switch (rnd() % 11) {
        case 0:
            CHECK(code_ok(datastore_insert(tid, (void *)(uintptr_t)p, l)));
            break;
        case 1:
            CHECK(code_ok(datastore_delete_by_pk(tid, (void *)(uintptr_t)p, l)));
            break;
        case 2:
            r64 = datastore_scan(tid);
            CHECK(r64 > 0 || r64 == -COSM_ERR_NO_TABLE || r64 == -COSM_ERR_MEMORY);
            if (r64 > 0) handles[rnd() % 8] = r64;
            break;
        case 3:
            r64 = datastore_index_scan(tid, (int32_t)(rnd() % 3), (void *)(uintptr_t)p, l);
            CHECK(r64 > 0 || (r64 < 0 && r64 >= -9));
            if (r64 > 0) handles[rnd() % 8] = r64;
            break;
        case 4:
            r = datastore_iter_next(h, (void *)(uintptr_t)p2, l2);
            CHECK(r >= 0 || r == -COSM_ERR_INVALID || r <= -(int32_t)COSM_MIN_ROW_BUF - 1);
            if (r > 0) CHECK(r <= (int32_t)l2);
            break;
        case 5:
            datastore_iter_close(h);
            break;
        case 6:
            r = datastore_table_id_from_name((void *)(uintptr_t)p, l);
            CHECK((r >= 0 && r <= 3) || r == -COSM_ERR_NO_TABLE || r == -COSM_ERR_INVALID);
            break;
        case 7:
            CHECK(code_ok(cosm_sender_identity((void *)(uintptr_t)p2, l2)));
            break;
        case 8:
            r64 = cosm_schedule_reducer((void *)(uintptr_t)p, l, junk, rnd() % 16,
                                        (int64_t)any_u32() - 100);
            CHECK(r64 > 0 || r64 == -COSM_ERR_INVALID || r64 == -COSM_ERR_TYPE);
            if (r64 > 0 && rnd() % 2) cosm_cancel_reducer(r64);
            break;
        case 9:
            cosm_cancel_reducer(h);
            break;
        default:
            r = cosm_http_request((void *)(uintptr_t)p, l, (void *)(uintptr_t)p2, l2);
            CHECK(r == COSM_ERR_DENIED || r == COSM_ERR_INVALID);
            break;
        }
    }
    return 0;
}
