/*
 * test_db.c — unit tests of weft_store (include/weft/db.h) through its
 * public API, plus store.h for a small initial map.
 *
 * Every test works in a fresh directory under $TMPDIR (or /tmp) that its
 * cleanup removes. Scans are checked against an in-memory model sorted with
 * memcmp, including keys longer than LMDB's 511-byte key limit, which the
 * store keeps under a head and a tag (see src/store/db.c). Overlay
 * transactions are checked against nested ones (the last part).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/test.h"
#include "tmpdir.h"
#include "store.h"
#include "weft/db.h"
#include "weft/error.h"

#define KV WEFT_SPACE_KV
#define C(s) (const uint8_t *)(s), strlen(s)

/* ---- fixtures -------------------------------------------------------- */

static void close_db(void *arg)
{
    weft_db_close(arg);
}

static weft_db_t *open_at(const char *dir, unsigned flags, size_t map)
{
    weft_db_t *db = NULL;
    char msg[256];
    int rc = store_open(dir, flags, map, &db, msg, sizeof msg);
    if (rc != 0)
        FAIL("store_open %s: %d %s", dir, rc, msg);
    return db;
}

static weft_db_t *open_tmp(void)
{
    weft_db_t *db = open_at(tmpdir_new("store"), WEFT_DB_NOSYNC, STORE_DEFAULT_MAP_SIZE);
    test_defer(close_db, db);
    return db;
}

static weft_txn_t *begin(weft_db_t *db, int mode)
{
    weft_txn_t *t = NULL;
    ASSERT_EQ_INT(weft_txn_begin(db, mode, &t), 0);
    return t;
}

static void put_s(weft_txn_t *t, const char *ctx, const char *key, const char *val)
{
    ASSERT_EQ_INT(weft_txn_put(t, KV, C(ctx), C(key), C(val)), 0);
}

/* Asserts ctx/key holds val, or is absent when val is NULL. */
static void expect_s(weft_txn_t *t, const char *ctx, const char *key, const char *val)
{
    const uint8_t *v;
    size_t n;
    int rc = weft_txn_get(t, KV, C(ctx), C(key), &v, &n);
    if (!val) {
        ASSERT_EQ_INT(rc, WEFT_ENOTFOUND);
        return;
    }
    ASSERT_EQ_INT(rc, 0);
    ASSERT_EQ_U64(n, strlen(val));
    ASSERT_EQ_MEM(v, val, n);
}

/* Scan collector: keys concatenated as "key=val;" (printable keys only). */
typedef struct {
    char out[4096];
    size_t len;
    int limit; /* stop after this many keys (0: no limit) */
    int count;
} collect_t;

static int collect(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                   size_t val_len)
{
    collect_t *c = user;
    if (c->len < sizeof c->out) {
        int w = snprintf(c->out + c->len, sizeof c->out - c->len, "%.*s=%.*s;", (int)key_len,
                         (const char *)key, (int)val_len, (const char *)val);
        c->len += w > 0 ? (size_t)w : 0;
    }
    c->count++;
    return c->limit && c->count >= c->limit;
}

static const char *scan_s(weft_txn_t *t, const char *ctx, const char *prefix, const char *after,
                          int limit)
{
    static collect_t c;
    memset(&c, 0, sizeof c);
    c.limit = limit;
    ASSERT_EQ_INT(weft_txn_scan(t, KV, C(ctx), C(prefix), C(after), collect, &c), 0);
    return c.out;
}

/* ---- basics ---------------------------------------------------------- */

TEST(store_put_get_del)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    expect_s(t, "app", "k", NULL);
    put_s(t, "app", "k", "v1");
    expect_s(t, "app", "k", "v1");
    put_s(t, "app", "k", "value two");
    expect_s(t, "app", "k", "value two");
    ASSERT_EQ_INT(weft_txn_del(t, KV, C("app"), C("k")), 0);
    expect_s(t, "app", "k", NULL);
    ASSERT_EQ_INT(weft_txn_del(t, KV, C("app"), C("k")), 0); /* absent: still 0 */
    put_s(t, "app", "k2", "x");
    ASSERT_EQ_INT(weft_txn_commit(t), 0);

    t = begin(db, WEFT_TXN_READ);
    expect_s(t, "app", "k2", "x");
    expect_s(t, "app", "k", NULL);
    ASSERT_EQ_INT(weft_txn_put(t, KV, C("app"), C("z"), C("z")), WEFT_EARG);
    weft_txn_abort(t);
}

/* weft_txn_put_new writes only an absent key, short or long (the long key's
 * head and tag path), and leaves the transaction usable when it is there */
TEST(store_put_new_writes_only_absent_keys)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    char long_key[900];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    const char *const keys[] = {"short", long_key};
    for (int i = 0; i < 2; i++) {
        ASSERT_EQ_INT(weft_txn_put_new(t, KV, C("app"), C(keys[i]), C("first")), 0);
        ASSERT_EQ_INT(weft_txn_put_new(t, KV, C("app"), C(keys[i]), C("second")), WEFT_DB_EXISTS);
        expect_s(t, "app", keys[i], "first");
    }
    put_s(t, "app", "after", "x"); /* still usable */
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    t = begin(db, WEFT_TXN_READ);
    expect_s(t, "app", "short", "first");
    expect_s(t, "app", long_key, "first");
    weft_txn_abort(t);
}

TEST(store_empty_key_and_value)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    const uint8_t *v;
    size_t n = 99;
    ASSERT_EQ_INT(weft_txn_put(t, KV, C("c"), NULL, 0, C("empty key")), 0);
    ASSERT_EQ_INT(weft_txn_put(t, KV, C("c"), C("ek"), NULL, 0), 0);
    expect_s(t, "c", "", "empty key");
    ASSERT_EQ_INT(weft_txn_get(t, KV, C("c"), C("ek"), &v, &n), 0);
    ASSERT_EQ_U64(n, 0);
    ASSERT_NOT_NULL(v);
    /* The empty key sorts first. */
    ASSERT_EQ_STR(scan_s(t, "c", "", "", 0), "=empty key;ek=;");
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
}

TEST(store_space_and_context_validation)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    uint8_t ctx[256];
    memset(ctx, 'c', sizeof ctx);
    ASSERT_EQ_INT(weft_txn_put(t, KV, NULL, 0, C("k"), C("v")), WEFT_EARG);
    ASSERT_EQ_INT(weft_txn_put(t, KV, ctx, 256, C("k"), C("v")), WEFT_EARG);
    ASSERT_EQ_INT(weft_txn_put(t, KV, ctx, 255, C("k"), C("v")), 0);
    ASSERT_EQ_INT(weft_txn_put(t, WEFT_SPACE_MODULES, C("c"), C("k"), C("v")), WEFT_EARG);
    ASSERT_EQ_INT(weft_txn_put(t, WEFT_SPACE_MODULES, NULL, 0, C("hash"), C("bytes")), 0);
    ASSERT_EQ_INT(weft_txn_put(t, WEFT_SPACE_META, NULL, 0, C("id"), C("me")), 0);
    ASSERT_EQ_INT(weft_txn_put(t, WEFT_SPACE_COUNT, NULL, 0, C("k"), C("v")), WEFT_EARG);
    ASSERT_EQ_INT(weft_txn_put(t, KV, C("c"), NULL, 3, C("v")), WEFT_EARG);
    ASSERT_EQ_INT(weft_txn_drop_context(t, WEFT_SPACE_MODULES, NULL, 0), WEFT_EARG);
    ASSERT_TRUE(strlen(weft_db_errmsg(db)) > 0);
    /* The same key in another space is another entry. */
    ASSERT_EQ_INT(weft_txn_put(t, WEFT_SPACE_CRDT, C("c"), C("k"), C("crdt")), 0);
    ASSERT_EQ_INT(weft_txn_put(t, KV, C("c"), C("k"), C("kv")), 0);
    const uint8_t *v;
    size_t n;
    ASSERT_EQ_INT(weft_txn_get(t, WEFT_SPACE_CRDT, C("c"), C("k"), &v, &n), 0);
    ASSERT_EQ_MEM(v, "crdt", 4);
    ASSERT_EQ_INT(weft_txn_get(t, WEFT_SPACE_MODULES, NULL, 0, C("hash"), &v, &n), 0);
    ASSERT_EQ_MEM(v, "bytes", 5);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
}

TEST(store_key_and_value_limits)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    uint8_t *key = malloc(1025), *val = malloc((1 << 20) + 1);
    const uint8_t *v;
    size_t n;
    ASSERT_NOT_NULL(key);
    ASSERT_NOT_NULL(val);
    for (int i = 0; i < 1025; i++)
        key[i] = (uint8_t)(i * 7);
    for (int i = 0; i < (1 << 20) + 1; i++)
        val[i] = (uint8_t)(i * 13 + 1);
    int rc1024 = weft_txn_put(t, KV, C("ctx"), key, 1024, val, 100);
    int rc1025 = weft_txn_put(t, KV, C("ctx"), key, 1025, val, 100);
    int rc_1m = weft_txn_put(t, KV, C("ctx"), C("big"), val, 1 << 20);
    int rc_1m1 = weft_txn_put(t, KV, C("ctx"), C("big2"), val, (1 << 20) + 1);
    /* A maximal key under a maximal context with a maximal value. */
    uint8_t ctx[255];
    memset(ctx, 0xff, sizeof ctx);
    int rc_max = weft_txn_put(t, KV, ctx, 255, key, 1024, val, 1 << 20);
    int get1024 = weft_txn_get(t, KV, C("ctx"), key, 1024, &v, &n);
    size_t n1024 = n;
    int ok1024 = get1024 == 0 && n == 100 && memcmp(v, val, 100) == 0;
    int get_1m = weft_txn_get(t, KV, C("ctx"), C("big"), &v, &n);
    int ok_1m = get_1m == 0 && n == (1u << 20) && memcmp(v, val, n) == 0;
    int get_max = weft_txn_get(t, KV, ctx, 255, key, 1024, &v, &n);
    int ok_max = get_max == 0 && n == (1u << 20) && memcmp(v, val, n) == 0;
    int get1025 = weft_txn_get(t, KV, C("ctx"), key, 1025, &v, &n);
    int miss1023 = weft_txn_get(t, KV, C("ctx"), key, 1023, &v, &n);
    free(key);
    free(val);
    ASSERT_EQ_INT(rc1024, 0);
    ASSERT_EQ_INT(rc1025, WEFT_EARG);
    ASSERT_EQ_INT(rc_1m, 0);
    ASSERT_EQ_INT(rc_1m1, WEFT_EARG);
    ASSERT_EQ_INT(rc_max, 0);
    ASSERT_EQ_INT(get1024, 0);
    ASSERT_EQ_U64(n1024, 100);
    ASSERT_TRUE(ok1024);
    ASSERT_EQ_INT(get_1m, 0);
    ASSERT_TRUE(ok_1m);
    ASSERT_EQ_INT(get_max, 0);
    ASSERT_TRUE(ok_max);
    ASSERT_EQ_INT(get1025, WEFT_EARG);
    ASSERT_EQ_INT(miss1023, WEFT_ENOTFOUND);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
}

/* ---- ordering and scans ---------------------------------------------- */

TEST(store_scan_order_prefix_start_after)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    const char *keys[] = {"b", "a", "ab", "abc", "abd", "b0", "ac", "a"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        put_s(t, "c", keys[i], keys[i]);
    put_s(t, "cc", "aa", "other context");
    put_s(t, "b", "zz", "other context");
    ASSERT_EQ_STR(scan_s(t, "c", "", "", 0), "a=a;ab=ab;abc=abc;abd=abd;ac=ac;b=b;b0=b0;");
    ASSERT_EQ_STR(scan_s(t, "c", "ab", "", 0), "ab=ab;abc=abc;abd=abd;");
    ASSERT_EQ_STR(scan_s(t, "c", "ab", "ab", 0), "abc=abc;abd=abd;");
    ASSERT_EQ_STR(scan_s(t, "c", "ab", "abc", 0), "abd=abd;");
    ASSERT_EQ_STR(scan_s(t, "c", "ab", "abd", 0), "");
    ASSERT_EQ_STR(scan_s(t, "c", "ab", "a", 0), "ab=ab;abc=abc;abd=abd;"); /* before prefix */
    ASSERT_EQ_STR(scan_s(t, "c", "ab", "b", 0), "");                      /* after prefix */
    ASSERT_EQ_STR(scan_s(t, "c", "", "abb", 0), "abc=abc;abd=abd;ac=ac;b=b;b0=b0;");
    ASSERT_EQ_STR(scan_s(t, "c", "", "", 2), "a=a;ab=ab;");
    ASSERT_EQ_STR(scan_s(t, "c", "x", "", 0), "");
    ASSERT_EQ_STR(scan_s(t, "zz", "", "", 0), "");
    ASSERT_EQ_STR(scan_s(t, "cc", "", "", 0), "aa=other context;");
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
}

typedef struct {
    uint8_t keys[16][3];
    size_t lens[16];
    int n;
} seen_t;

static int rec(void *u, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn)
{
    seen_t *s = u;
    if (s->n >= 16 || kn > 3 || kn != vn || memcmp(k, v, kn) != 0)
        return 1;
    memcpy(s->keys[s->n], k, kn);
    s->lens[s->n] = kn;
    s->n++;
    return 0;
}

TEST(store_binary_key_order)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    /* Inserted shuffled; expected bytewise, shorter first. */
    static const struct {
        uint8_t b[3];
        size_t n;
    } ks[] = {
        {{0xff}, 1}, {{0x00, 0x00}, 2}, {{0x00}, 1}, {{0x7f, 0xff}, 2}, {{0x00, 0xff}, 2},
        {{0x80}, 1}, {{0xff, 0x00}, 2}, {{0x01}, 1}, {{0x00, 0x00, 0x00}, 3},
    };
    static const int order[] = {2, 1, 8, 4, 7, 3, 5, 0, 6};
    for (size_t i = 0; i < 9; i++)
        ASSERT_EQ_INT(weft_txn_put(t, KV, C("\x01"), ks[i].b, ks[i].n, ks[i].b, ks[i].n), 0);
    /* A context that is a byte-prefix of another stays separate. */
    ASSERT_EQ_INT(weft_txn_put(t, KV, (const uint8_t *)"\x01\x00", 2, C("x"), C("x")), 0);

    seen_t seen;
    memset(&seen, 0, sizeof seen);
    ASSERT_EQ_INT(weft_txn_scan(t, KV, C("\x01"), NULL, 0, NULL, 0, rec, &seen), 0);
    ASSERT_EQ_INT(seen.n, 9);
    for (int i = 0; i < 9; i++) {
        ASSERT_EQ_U64(seen.lens[i], ks[order[i]].n);
        ASSERT_EQ_MEM(seen.keys[i], ks[order[i]].b, seen.lens[i]);
    }
    /* prefix 0x00, start after 0x00 0x00 */
    memset(&seen, 0, sizeof seen);
    uint8_t p0 = 0x00, a00[2] = {0, 0};
    ASSERT_EQ_INT(weft_txn_scan(t, KV, C("\x01"), &p0, 1, a00, 2, rec, &seen), 0);
    ASSERT_EQ_INT(seen.n, 2); /* 00 00 00, 00 ff */
    ASSERT_EQ_U64(seen.lens[0], 3);
    ASSERT_EQ_U64(seen.lens[1], 2);
    ASSERT_EQ_INT(seen.keys[1][1], 0xff);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
}

/* Model check with long keys: keys up to 1024 bytes sharing long common
 * prefixes (so several share the 480-byte stored head), mixed with short
 * ones; every scan must match the sorted model. */
typedef struct {
    uint8_t k[1024];
    size_t n;
} mkey_t;

static int mkey_cmp(const void *a, const void *b)
{
    const mkey_t *x = a, *y = b;
    int c = memcmp(x->k, y->k, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

typedef struct {
    const mkey_t *want;
    int n, pos, bad, stop_at;
} mcheck_t;

static int mcheck(void *user, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn)
{
    mcheck_t *c = user;
    if (c->pos >= c->n || c->want[c->pos].n != kn || memcmp(c->want[c->pos].k, k, kn) != 0 ||
        vn != 4 || memcmp(v, kn >= 4 ? k + kn - 4 : (const uint8_t *)"\0\0\0\0", 4) != 0)
        c->bad = 1;
    c->pos++;
    return c->bad || (c->stop_at && c->pos >= c->stop_at);
}

static int key_starts(const mkey_t *k, const mkey_t *p)
{
    return k->n >= p->n && memcmp(k->k, p->k, p->n) == 0;
}

TEST(store_long_keys_scan_model)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    enum { N = 400 };
    mkey_t *keys = calloc(N, sizeof *keys), *want = calloc(N, sizeof *want);
    ASSERT_NOT_NULL(keys);
    ASSERT_NOT_NULL(want);
    test_defer(free, keys);
    test_defer(free, want);
    uint32_t seed = 12345;
#define RND() (seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff)
    static const size_t lens[] = {0, 1, 2, 300, 476, 477, 478, 479, 480, 481, 500, 700, 1024};
    int n = 0;
    for (int i = 0; i < N; i++) {
        mkey_t *k = &keys[n];
        k->n = lens[RND() % (sizeof lens / sizeof *lens)];
        if (RND() % 3 == 0 && k->n > 8)
            k->n -= RND() % 8;
        for (size_t j = 0; j < k->n; j++)
            k->k[j] = (j < 600 && RND() % 50) ? 0x61 : (uint8_t)(RND() % 3 == 0 ? 0xff : RND() % 3);
        int dup = 0;
        for (int j = 0; j < n; j++)
            dup |= keys[j].n == k->n && memcmp(keys[j].k, k->k, k->n) == 0;
        if (dup)
            continue;
        uint8_t v[4] = {0};
        if (k->n >= 4)
            memcpy(v, k->k + k->n - 4, 4);
        ASSERT_EQ_INT(weft_txn_put(t, KV, C("ctx"), k->k, k->n, v, 4), 0);
        n++;
    }
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    qsort(keys, (size_t)n, sizeof *keys, mkey_cmp);

    t = begin(db, WEFT_TXN_READ);
    for (int round = 0; round < 300; round++) {
        mkey_t pre = {{0}, 0}, after = {{0}, 0};
        const mkey_t *src = &keys[RND() % n];
        if (round > 0) {
            pre.n = RND() % 4 == 0 ? 0 : RND() % (src->n + 1);
            memcpy(pre.k, src->k, pre.n);
            if (RND() % 2) {
                src = &keys[RND() % n];
                after.n = src->n;
                memcpy(after.k, src->k, after.n);
                if (RND() % 3 == 0 && after.n > 0)
                    after.n--; /* a non-key start point */
            }
        }
        int wn = 0;
        for (int i = 0; i < n; i++) {
            if (!key_starts(&keys[i], &pre))
                continue;
            if (after.n > 0 && mkey_cmp(&keys[i], &after) <= 0)
                continue;
            want[wn++] = keys[i];
        }
        mcheck_t c = {want, wn, 0, 0, RND() % 4 == 0 ? 1 + (int)(RND() % 5) : 0};
        int rc = weft_txn_scan(t, KV, C("ctx"), pre.k, pre.n, after.k, after.n, mcheck, &c);
        ASSERT_EQ_INT(rc, 0);
        if (c.bad)
            FAIL("round %d: scan (prefix %zu bytes, after %zu bytes) diverged at %d of %d", round,
                 pre.n, after.n, c.pos, wn);
        ASSERT_EQ_INT(c.pos, c.stop_at && c.stop_at < wn ? c.stop_at : wn);
    }
    /* Every key reads back; deleting the long ones leaves the others. */
    for (int i = 0; i < n; i++) {
        const uint8_t *v;
        size_t vn;
        ASSERT_EQ_INT(weft_txn_get(t, KV, C("ctx"), keys[i].k, keys[i].n, &v, &vn), 0);
    }
    weft_txn_abort(t);
    t = begin(db, WEFT_TXN_WRITE);
    for (int i = 0; i < n; i++)
        if (keys[i].n > 476)
            ASSERT_EQ_INT(weft_txn_del(t, KV, C("ctx"), keys[i].k, keys[i].n), 0);
    for (int i = 0; i < n; i++) {
        const uint8_t *v;
        size_t vn;
        ASSERT_EQ_INT(weft_txn_get(t, KV, C("ctx"), keys[i].k, keys[i].n, &v, &vn),
                      keys[i].n > 476 ? WEFT_ENOTFOUND : 0);
    }
    weft_txn_abort(t);
#undef RND
}

/* ---- contexts -------------------------------------------------------- */

TEST(store_context_isolation)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    put_s(t, "a", "k", "in a");
    put_s(t, "ab", "k", "in ab");
    put_s(t, "a", "bk", "a's bk");
    expect_s(t, "a", "k", "in a");
    expect_s(t, "ab", "k", "in ab");
    expect_s(t, "b", "k", NULL);
    expect_s(t, "ab", "bk", NULL);
    ASSERT_EQ_STR(scan_s(t, "a", "", "", 0), "bk=a's bk;k=in a;");
    ASSERT_EQ_STR(scan_s(t, "ab", "", "", 0), "k=in ab;");
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
}

TEST(store_drop_context)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    uint8_t key[1024];
    char v[32];
    memset(key, 'k', sizeof key);
    /* Enough keys to span many pages; some long. Neighbour contexts on both
     * sides ("b" < "c" < "d"; "cc" shares a byte prefix with "c"). */
    for (int i = 0; i < 3000; i++) {
        snprintf(v, sizeof v, "%06d", i);
        memcpy(key, v, 6);
        size_t kn = i % 10 == 0 ? 1024 : 6;
        ASSERT_EQ_INT(weft_txn_put(t, KV, C("c"), key, kn, C(v)), 0);
        ASSERT_EQ_INT(weft_txn_put(t, WEFT_SPACE_TABLES, C("c"), key, kn, C(v)), 0);
        if (i % 100 == 0) {
            ASSERT_EQ_INT(weft_txn_put(t, KV, C("b"), key, kn, C(v)), 0);
            ASSERT_EQ_INT(weft_txn_put(t, KV, C("d"), key, kn, C(v)), 0);
            ASSERT_EQ_INT(weft_txn_put(t, KV, C("cc"), key, kn, C(v)), 0);
        }
    }
    ASSERT_EQ_INT(weft_txn_commit(t), 0);

    t = begin(db, WEFT_TXN_WRITE);
    ASSERT_EQ_INT(weft_txn_drop_context(t, KV, C("c")), 0);
    collect_t c;
    memset(&c, 0, sizeof c);
    ASSERT_EQ_INT(weft_txn_scan(t, KV, C("c"), NULL, 0, NULL, 0, collect, &c), 0);
    ASSERT_EQ_INT(c.count, 0);
    const char *ctxs[] = {"b", "d", "cc"};
    for (int i = 0; i < 3; i++) {
        memset(&c, 0, sizeof c);
        ASSERT_EQ_INT(weft_txn_scan(t, KV, C(ctxs[i]), NULL, 0, NULL, 0, collect, &c), 0);
        ASSERT_EQ_INT(c.count, 30);
    }
    /* TABLES still has it until the all-spaces drop. */
    memset(&c, 0, sizeof c);
    ASSERT_EQ_INT(weft_txn_scan(t, WEFT_SPACE_TABLES, C("c"), NULL, 0, NULL, 0, collect, &c), 0);
    ASSERT_EQ_INT(c.count, 3000);
    ASSERT_EQ_INT(weft_txn_drop_context(t, WEFT_SPACE_COUNT, C("c")), 0);
    memset(&c, 0, sizeof c);
    ASSERT_EQ_INT(weft_txn_scan(t, WEFT_SPACE_TABLES, C("c"), NULL, 0, NULL, 0, collect, &c), 0);
    ASSERT_EQ_INT(c.count, 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);

    t = begin(db, WEFT_TXN_READ);
    expect_s(t, "c", "000001", NULL);
    memcpy(key, "002900", 6); /* every neighbour key is a long one */
    const uint8_t *gv;
    size_t gn;
    ASSERT_EQ_INT(weft_txn_get(t, KV, C("d"), key, sizeof key, &gv, &gn), 0);
    ASSERT_EQ_MEM(gv, "002900", 6);
    ASSERT_EQ_INT(weft_txn_get(t, KV, C("c"), key, sizeof key, &gv, &gn), WEFT_ENOTFOUND);
    weft_txn_abort(t);
}

/* ---- transactions ---------------------------------------------------- */

TEST(store_abort_discards)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    put_s(t, "c", "kept", "1");
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    t = begin(db, WEFT_TXN_WRITE);
    put_s(t, "c", "gone", "2");
    put_s(t, "c", "kept", "changed");
    ASSERT_EQ_INT(weft_txn_del(t, KV, C("c"), C("kept")), 0);
    weft_txn_abort(t);
    t = begin(db, WEFT_TXN_READ);
    expect_s(t, "c", "gone", NULL);
    expect_s(t, "c", "kept", "1");
    weft_txn_abort(t);
}

TEST(store_batch_nested_commit_abort)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *batch = NULL, *call = NULL, *inner = NULL;
    ASSERT_EQ_INT(weft_db_batch_begin(db, &batch), 0);
    put_s(batch, "c", "batch", "b");

    ASSERT_EQ_INT(weft_txn_begin_nested(batch, &call), 0);
    /* The parent is frozen while a call runs in it. */
    ASSERT_EQ_INT(weft_txn_put(batch, KV, C("c"), C("x"), C("x")), WEFT_EARG);
    put_s(call, "c", "call1", "ok");
    expect_s(call, "c", "batch", "b");
    ASSERT_EQ_INT(weft_txn_commit(call), 0);

    ASSERT_EQ_INT(weft_txn_begin_nested(batch, &call), 0);
    put_s(call, "c", "call2", "trapped");
    put_s(call, "c", "call1", "overwritten by a trap");
    weft_txn_abort(call);

    ASSERT_EQ_INT(weft_txn_begin_nested(batch, &call), 0);
    put_s(call, "c", "call3", "outer");
    ASSERT_EQ_INT(weft_txn_begin_nested(call, &inner), 0);
    put_s(inner, "c", "call3-inner", "discarded");
    weft_txn_abort(inner);
    ASSERT_EQ_INT(weft_txn_begin_nested(call, &inner), 0);
    put_s(inner, "c", "call3-inner2", "kept");
    ASSERT_EQ_INT(weft_txn_commit(inner), 0);
    ASSERT_EQ_INT(weft_txn_commit(call), 0);

    /* Readers see nothing of the batch before its commit. */
    weft_txn_t *r = begin(db, WEFT_TXN_READ);
    expect_s(r, "c", "call1", NULL);
    weft_txn_abort(r);

    expect_s(batch, "c", "call1", "ok");
    expect_s(batch, "c", "call2", NULL);
    ASSERT_EQ_INT(weft_db_batch_commit(batch), 0);

    r = begin(db, WEFT_TXN_READ);
    expect_s(r, "c", "batch", "b");
    expect_s(r, "c", "call1", "ok");
    expect_s(r, "c", "call2", NULL);
    expect_s(r, "c", "call3", "outer");
    expect_s(r, "c", "call3-inner", NULL);
    expect_s(r, "c", "call3-inner2", "kept");
    ASSERT_EQ_INT(weft_txn_begin_nested(r, &call), WEFT_EARG); /* no nested reads */
    weft_txn_abort(r);

    /* Aborting a batch drops its committed calls. */
    ASSERT_EQ_INT(weft_db_batch_begin(db, &batch), 0);
    ASSERT_EQ_INT(weft_txn_begin_nested(batch, &call), 0);
    put_s(call, "c", "lost", "x");
    ASSERT_EQ_INT(weft_txn_commit(call), 0);
    weft_txn_abort(batch);
    r = begin(db, WEFT_TXN_READ);
    expect_s(r, "c", "lost", NULL);
    weft_txn_abort(r);
}

TEST(store_batch_commit_with_open_call_fails)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *batch = NULL, *call = NULL;
    ASSERT_EQ_INT(weft_db_batch_begin(db, &batch), 0);
    ASSERT_EQ_INT(weft_txn_begin_nested(batch, &call), 0);
    put_s(call, "c", "k", "v");
    ASSERT_EQ_INT(weft_db_batch_commit(batch), WEFT_EARG);
    ASSERT_EQ_INT(weft_txn_put(call, KV, C("c"), C("k2"), C("v")), WEFT_EARG);
    weft_txn_abort(call);
    weft_txn_t *r = begin(db, WEFT_TXN_READ);
    expect_s(r, "c", "k", NULL);
    weft_txn_abort(r);
    /* The writer lock was released: a new write transaction starts. */
    weft_txn_t *w = begin(db, WEFT_TXN_WRITE);
    weft_txn_abort(w);
}

TEST(store_readers_see_committed_only)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *w = begin(db, WEFT_TXN_WRITE);
    put_s(w, "c", "k", "old");
    ASSERT_EQ_INT(weft_txn_commit(w), 0);

    weft_txn_t *before = begin(db, WEFT_TXN_READ);
    w = begin(db, WEFT_TXN_WRITE); /* a reader does not block the writer */
    put_s(w, "c", "k", "new");
    put_s(w, "c", "k2", "added");
    weft_txn_t *during = begin(db, WEFT_TXN_READ);
    expect_s(during, "c", "k", "old");
    expect_s(during, "c", "k2", NULL);
    ASSERT_EQ_INT(weft_txn_commit(w), 0);
    weft_txn_t *after = begin(db, WEFT_TXN_READ);

    expect_s(before, "c", "k", "old");
    expect_s(before, "c", "k2", NULL);
    expect_s(during, "c", "k", "old");
    expect_s(after, "c", "k", "new");
    expect_s(after, "c", "k2", "added");
    ASSERT_EQ_STR(scan_s(before, "c", "", "", 0), "k=old;");
    ASSERT_EQ_STR(scan_s(after, "c", "", "", 0), "k=new;k2=added;");
    weft_txn_abort(before);
    weft_txn_abort(during);
    ASSERT_EQ_INT(weft_txn_commit(after), 0); /* committing a reader just ends it */
}

/* ---- map growth ------------------------------------------------------ */

static void val_of(int i, uint8_t *v, size_t n)
{
    for (size_t j = 0; j < n; j++)
        v[j] = (uint8_t)(i * 31 + j);
}

TEST(store_map_growth)
{
    char *dir = tmpdir_new("store");
    weft_db_t *db = open_at(dir, WEFT_DB_NOSYNC, 256 << 10);
    size_t map0 = store_map_size(db);
    uint8_t val[8000];
    char key[16];
    int full_at = -1;
    for (int i = 0; i < 400; i++) {
        weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
        snprintf(key, sizeof key, "k%05d", i);
        val_of(i, val, sizeof val);
        int rc = weft_txn_put(t, KV, C("c"), C(key), val, sizeof val);
        if (rc == 0)
            rc = weft_txn_commit(t);
        else
            weft_txn_abort(t);
        if (rc != 0) {
            ASSERT_EQ_INT(rc, WEFT_ELIMIT);
            ASSERT_TRUE(weft_db_retryable(rc));
            ASSERT_TRUE(strstr(weft_db_errmsg(db), "MDB_MAP_FULL") != NULL);
            if (full_at < 0)
                full_at = i;
            /* The whole call again: it fits in the grown map. */
            t = begin(db, WEFT_TXN_WRITE);
            ASSERT_EQ_INT(weft_txn_put(t, KV, C("c"), C(key), val, sizeof val), 0);
            ASSERT_EQ_INT(weft_txn_commit(t), 0);
        }
    }
    ASSERT_TRUE(full_at > 0);
    ASSERT_GT_U64(store_map_size(db), map0);
    ASSERT_FALSE(weft_db_retryable(WEFT_EARG));

    /* A batch: a call that fills the map fails alone; the batch commits the
     * calls before it, and the call succeeds after the batch. */
    weft_db_close(db);
    char *dir2 = tmpdir_new("store");
    db = open_at(dir2, WEFT_DB_NOSYNC, 256 << 10);
    weft_txn_t *batch = NULL, *call = NULL;
    int failed_call = -1;
    ASSERT_EQ_INT(weft_db_batch_begin(db, &batch), 0);
    for (int i = 0; i < 100 && failed_call < 0; i++) {
        ASSERT_EQ_INT(weft_txn_begin_nested(batch, &call), 0);
        snprintf(key, sizeof key, "b%05d", i);
        val_of(i, val, sizeof val);
        int rc = weft_txn_put(call, KV, C("c"), C(key), val, sizeof val);
        if (rc == 0) {
            ASSERT_EQ_INT(weft_txn_commit(call), 0);
            continue;
        }
        ASSERT_EQ_INT(rc, WEFT_ELIMIT);
        ASSERT_EQ_INT(weft_txn_put(call, KV, C("c"), C("again"), C("x")), WEFT_ELIMIT);
        ASSERT_EQ_INT(weft_txn_commit(call), WEFT_ELIMIT); /* dead: frees the handle */
        failed_call = i;
    }
    ASSERT_TRUE(failed_call > 0);
    int rc = weft_db_batch_commit(batch);
    if (rc == WEFT_ELIMIT) {
        /* The batch commit itself did not fit: redo it after growth. */
        ASSERT_EQ_INT(weft_db_batch_begin(db, &batch), 0);
        for (int i = 0; i < failed_call; i++) {
            snprintf(key, sizeof key, "b%05d", i);
            val_of(i, val, sizeof val);
            ASSERT_EQ_INT(weft_txn_put(batch, KV, C("c"), C(key), val, sizeof val), 0);
        }
        rc = weft_db_batch_commit(batch);
    }
    ASSERT_EQ_INT(rc, 0);
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    snprintf(key, sizeof key, "b%05d", failed_call);
    val_of(failed_call, val, sizeof val);
    ASSERT_EQ_INT(weft_txn_put(t, KV, C("c"), C(key), val, sizeof val), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    weft_db_close(db);

    /* Data intact after reopening both. */
    const char *dirs[] = {dir, dir2};
    const char *pfx[] = {"k", "b"};
    int counts[] = {400, failed_call + 1};
    for (int d = 0; d < 2; d++) {
        db = open_at(dirs[d], 0, 256 << 10);
        test_defer(close_db, db);
        t = begin(db, WEFT_TXN_READ);
        for (int i = 0; i < counts[d]; i++) {
            const uint8_t *v;
            size_t n;
            snprintf(key, sizeof key, "%s%05d", pfx[d], i);
            val_of(i, val, sizeof val);
            ASSERT_EQ_INT(weft_txn_get(t, KV, C("c"), C(key), &v, &n), 0);
            ASSERT_EQ_U64(n, sizeof val);
            ASSERT_EQ_MEM(v, val, n);
        }
        weft_txn_abort(t);
    }
}

TEST(store_growth_waits_for_open_readers)
{
    weft_db_t *db = open_at(tmpdir_new("store"), WEFT_DB_NOSYNC, 128 << 10);
    test_defer(close_db, db);
    size_t map0 = store_map_size(db);
    uint8_t val[8000];
    char key[16];
    weft_txn_t *reader = begin(db, WEFT_TXN_READ);
    int rc = 0, i;
    for (i = 0; i < 100 && rc == 0; i++) {
        weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
        snprintf(key, sizeof key, "k%05d", i);
        rc = weft_txn_put(t, KV, C("c"), C(key), val, sizeof val);
        if (rc == 0)
            rc = weft_txn_commit(t);
        else
            weft_txn_abort(t);
    }
    ASSERT_EQ_INT(rc, WEFT_ELIMIT);
    ASSERT_EQ_U64(store_map_size(db), map0); /* a reader is open: not yet */
    weft_txn_abort(reader);
    ASSERT_GT_U64(store_map_size(db), map0); /* grown when the last one ended */
}

/* ---- persistence ----------------------------------------------------- */

TEST(store_persistence_reopen)
{
    char *dir = tmpdir_new("store");
    weft_db_t *db = open_at(dir, 0, STORE_DEFAULT_MAP_SIZE);
    weft_txn_t *t = begin(db, WEFT_TXN_WRITE);
    uint8_t key[1024];
    memset(key, 0xab, sizeof key);
    put_s(t, "c", "durable", "yes");
    ASSERT_EQ_INT(weft_txn_put(t, KV, C("c"), key, sizeof key, C("long")), 0);
    ASSERT_EQ_INT(weft_txn_put(t, WEFT_SPACE_META, NULL, 0, C("node"), C("id")), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    t = begin(db, WEFT_TXN_WRITE);
    put_s(t, "c", "aborted", "no");
    weft_txn_abort(t);
    weft_db_close(db);

    db = open_at(dir, WEFT_DB_READONLY, STORE_DEFAULT_MAP_SIZE);
    test_defer(close_db, db);
    weft_txn_t *w = NULL;
    ASSERT_EQ_INT(weft_txn_begin(db, WEFT_TXN_WRITE, &w), WEFT_EARG);
    t = begin(db, WEFT_TXN_READ);
    expect_s(t, "c", "durable", "yes");
    expect_s(t, "c", "aborted", NULL);
    const uint8_t *v;
    size_t n;
    ASSERT_EQ_INT(weft_txn_get(t, KV, C("c"), key, sizeof key, &v, &n), 0);
    ASSERT_EQ_MEM(v, "long", 4);
    ASSERT_EQ_INT(weft_txn_get(t, WEFT_SPACE_META, NULL, 0, C("node"), &v, &n), 0);
    ASSERT_EQ_MEM(v, "id", 2);
    weft_txn_abort(t);
}

TEST(store_open_errors)
{
    weft_db_t *db = NULL;
    char msg[256];
    ASSERT_EQ_INT(weft_db_open("/proc/definitely/not/here", 0, &db, msg, sizeof msg), WEFT_EIO);
    ASSERT_NULL(db);
    ASSERT_TRUE(strlen(msg) > 0);
    char *dir = tmpdir_new("store");
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/absent", dir);
    ASSERT_EQ_INT(weft_db_open(missing, WEFT_DB_READONLY, &db, msg, sizeof msg), WEFT_EIO);
    ASSERT_EQ_INT(weft_db_open(NULL, 0, &db, msg, sizeof msg), WEFT_EARG);
}

/* ---- threads --------------------------------------------------------- */

typedef struct {
    weft_db_t *db;
    int id;
    int error;   /* first unexpected error code */
    int retries; /* WEFT_ELIMIT retries */
    volatile int *done;
} worker_t;

enum { WRITERS = 3, READERS = 2, PER_WRITER = 150, BIG = 4000 };

static void *writer_main(void *arg)
{
    worker_t *w = arg;
    uint8_t val[BIG];
    char key[32];
    for (int i = 0; i < PER_WRITER && !w->error; i++) {
        snprintf(key, sizeof key, "w%d-%04d", w->id, i);
        val_of(w->id * 1000 + i, val, sizeof val);
        for (;;) {
            weft_txn_t *t = NULL;
            int rc = weft_txn_begin(w->db, WEFT_TXN_WRITE, &t);
            if (rc == 0) {
                rc = weft_txn_put(t, KV, C("c"), C(key), val, sizeof val);
                if (rc == 0)
                    rc = weft_txn_commit(t);
                else
                    weft_txn_abort(t);
            }
            if (rc == 0)
                break;
            if (!weft_db_retryable(rc) || ++w->retries > 1000) {
                w->error = rc;
                break;
            }
        }
    }
    return NULL;
}

static int count_cb(void *user, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn)
{
    (*(int *)user)++;
    return 0;
}

static void *reader_main(void *arg)
{
    worker_t *w = arg;
    int last = 0;
    while (!*w->done && !w->error) {
        weft_txn_t *t = NULL;
        int rc = weft_txn_begin(w->db, WEFT_TXN_READ, &t);
        if (rc != 0) {
            if (!weft_db_retryable(rc))
                w->error = rc;
            continue;
        }
        int n = 0;
        rc = weft_txn_scan(t, KV, C("c"), NULL, 0, NULL, 0, count_cb, &n);
        weft_txn_abort(t);
        if (rc != 0 || n < last) /* committed keys never disappear */
            w->error = rc ? rc : -1000;
        last = n;
    }
    return NULL;
}

TEST(store_threads_grow_under_contention)
{
    weft_db_t *db = open_at(tmpdir_new("store"), WEFT_DB_NOSYNC, 128 << 10);
    test_defer(close_db, db);
    volatile int done = 0;
    worker_t ws[WRITERS + READERS];
    pthread_t th[WRITERS + READERS];
    for (int i = 0; i < WRITERS + READERS; i++) {
        ws[i] = (worker_t){db, i, 0, 0, &done};
        ASSERT_EQ_INT(pthread_create(&th[i], NULL, i < WRITERS ? writer_main : reader_main, &ws[i]),
                      0);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(th[i], NULL);
    done = 1;
    for (int i = WRITERS; i < WRITERS + READERS; i++)
        pthread_join(th[i], NULL);
    int retries = 0;
    for (int i = 0; i < WRITERS + READERS; i++) {
        if (ws[i].error)
            FAIL("thread %d: error %d (%s)", i, ws[i].error, weft_db_errmsg(db));
        retries += ws[i].retries;
    }
    ASSERT_GT_INT(retries, 0); /* the map did fill */
    weft_txn_t *t = begin(db, WEFT_TXN_READ);
    uint8_t val[BIG];
    char key[32];
    for (int w = 0; w < WRITERS; w++)
        for (int i = 0; i < PER_WRITER; i++) {
            const uint8_t *v;
            size_t n;
            snprintf(key, sizeof key, "w%d-%04d", w, i);
            val_of(w * 1000 + i, val, sizeof val);
            ASSERT_EQ_INT(weft_txn_get(t, KV, C("c"), C(key), &v, &n), 0);
            ASSERT_EQ_MEM(v, val, sizeof val);
        }
    weft_txn_abort(t);
}

TEST(store_parent_ended_before_children)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *batch = NULL, *call = NULL, *inner = NULL;
    ASSERT_EQ_INT(weft_db_batch_begin(db, &batch), 0);
    ASSERT_EQ_INT(weft_txn_begin_nested(batch, &call), 0);
    ASSERT_EQ_INT(weft_txn_begin_nested(call, &inner), 0);
    put_s(inner, "c", "k", "v");
    weft_txn_abort(batch); /* ends all three; the handles of two remain */
    ASSERT_EQ_INT(weft_txn_put(inner, KV, C("c"), C("k"), C("v")), WEFT_EARG);
    weft_txn_abort(call); /* the middle one first: inner must not point at it */
    ASSERT_EQ_INT(weft_txn_commit(inner), WEFT_EARG);
    weft_txn_t *r = begin(db, WEFT_TXN_READ);
    expect_s(r, "c", "k", NULL);
    weft_txn_abort(r);
}

/* ---- the write lock's stoppable wait (weft_txn_begin_wait) ------------ */

typedef struct {
    int calls, stop_at;
} stopper_t;

static int stop_after(void *arg)
{
    stopper_t *s = arg;
    return ++s->calls >= s->stop_at;
}

/* A writer of this process holds the lock: a second writer's wait asks
 * `stop` and gives up with WEFT_EINTERRUPTED; a reader never waits; once
 * the first commits, the second begins. */
TEST(store_write_lock_wait_stops_in_process)
{
    weft_db_t *db = open_at(tmpdir_new("wlock"), WEFT_DB_NOSYNC, STORE_DEFAULT_MAP_SIZE);
    test_defer(close_db, db);
    weft_txn_t *w, *w2, *r;
    ASSERT_EQ_INT(weft_txn_begin(db, WEFT_TXN_WRITE, &w), 0);
    stopper_t s = {0, 3};
    ASSERT_EQ_INT(weft_txn_begin_wait(db, WEFT_TXN_WRITE, stop_after, &s, &w2), WEFT_EINTERRUPTED);
    ASSERT_NULL(w2);
    ASSERT_EQ_INT(s.calls, 3);
    ASSERT_CONTAINS(weft_db_errmsg(db), "write lock");
    ASSERT_EQ_INT(weft_txn_begin_wait(db, WEFT_TXN_READ, stop_after, &s, &r), 0);
    weft_txn_abort(r);
    ASSERT_EQ_INT(weft_txn_put(w, KV, C("c"), C("k"), C("v")), 0);
    ASSERT_EQ_INT(weft_txn_commit(w), 0);
    s.calls = 0;
    ASSERT_EQ_INT(weft_txn_begin_wait(db, WEFT_TXN_WRITE, stop_after, &s, &w2), 0);
    ASSERT_EQ_INT(s.calls, 0); /* the lock was free: nothing to wait for */
    weft_txn_abort(w2);
}

/* The same across processes: a child holds a write transaction on the
 * directory (its own weft_db_t) until told to commit; the parent's wait
 * gives up when asked, and succeeds after the child ended. */
TEST(store_write_lock_wait_stops_across_processes)
{
    char *dir = tmpdir_new("wlockp");
    int up[2], down[2];
    ASSERT_EQ_INT(pipe(up), 0);
    ASSERT_EQ_INT(pipe(down), 0);
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        weft_db_t *cdb = NULL;
        weft_txn_t *t;
        char msg[256], c;
        int ok = store_open(dir, WEFT_DB_NOSYNC, STORE_DEFAULT_MAP_SIZE, &cdb, msg, sizeof msg) == 0 &&
                 weft_txn_begin(cdb, WEFT_TXN_WRITE, &t) == 0 &&
                 weft_txn_put(t, KV, C("c"), C("child"), C("1")) == 0;
        if (write(up[1], ok ? "1" : "0", 1) != 1 || read(down[0], &c, 1) != 1 || !ok)
            _exit(1);
        _exit(weft_txn_commit(t) == 0 ? 0 : 1);
    }
    char c = 0;
    ASSERT_EQ_INT(read(up[0], &c, 1), 1);
    ASSERT_EQ_INT(c, '1');
    weft_db_t *db = open_at(dir, WEFT_DB_NOSYNC, STORE_DEFAULT_MAP_SIZE); /* never waits */
    weft_txn_t *w = NULL;
    stopper_t s = {0, 5};
    int rc = weft_txn_begin_wait(db, WEFT_TXN_WRITE, stop_after, &s, &w);
    ASSERT_EQ_INT(write(down[1], "x", 1), 1);
    int st = 0;
    waitpid(pid, &st, 0);
    if (w)
        weft_txn_abort(w);
    weft_db_close(db);
    ASSERT_EQ_INT(rc, WEFT_EINTERRUPTED);
    ASSERT_EQ_INT(s.calls, 5);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    db = open_at(dir, WEFT_DB_NOSYNC, STORE_DEFAULT_MAP_SIZE);
    test_defer(close_db, db);
    ASSERT_EQ_INT(weft_txn_begin_wait(db, WEFT_TXN_WRITE, stop_after, &s, &w), 0);
    const uint8_t *v;
    size_t vl;
    ASSERT_EQ_INT(weft_txn_get(w, KV, C("c"), C("child"), &v, &vl), 0);
    weft_txn_abort(w);
    close(up[0]);
    close(up[1]);
    close(down[0]);
    close(down[1]);
}

/* ==== overlay transactions (weft_txn_begin_overlay, src/store/overlay.c) ====
 *
 * The differential test runs the same random calls twice: as nested
 * transactions of one write transaction, and as a stack of overlays over a
 * read transaction of the same state (each call's overlay sees the sealed
 * overlays of the calls committed before it). Every get, put, put_new,
 * del and scan must answer the same; afterwards the overlays replayed in
 * order into a write transaction must leave the state the nested ones
 * left. Keys include long ones sharing heads, so scans check their logical
 * order through the merge. */

#define OPLOG WEFT_SPACE_OPLOG

/* ---- random keys, values and a scan recorder ----------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static unsigned rnd(uint64_t *s, unsigned n)
{
    return (unsigned)(rng_next(s) % n);
}

/* Short keys over "ab", and long ones (over 478 bytes, stored under a head
 * and a tag with the context "c") sharing one of two heads, with tails
 * over "ab": many collisions, shared prefixes, tag groups. */
static size_t rand_key(uint64_t *s, uint8_t *k)
{
    size_t n;
    unsigned kind = rnd(s, 10);
    if (kind < 6) {
        n = rnd(s, 4);
        for (size_t i = 0; i < n; i++)
            k[i] = (uint8_t)"ab"[rnd(s, 2)];
        return n;
    }
    n = 476 + rnd(s, 8); /* around the head's length: both kinds */
    memset(k, kind < 8 ? 'a' : 'b', n);
    size_t tail = rnd(s, 3);
    for (size_t i = 0; i < tail; i++)
        k[n + i] = (uint8_t)"ab"[rnd(s, 2)];
    return n + tail;
}

static size_t rand_val(uint64_t *s, uint8_t *v)
{
    size_t n = rnd(s, 5) == 0 ? 0 : 1 + rnd(s, 12);
    for (size_t i = 0; i < n; i++)
        v[i] = (uint8_t)('0' + rnd(s, 10));
    return n;
}

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int limit, count;
} rec_t;

static void rec_add(rec_t *r, const void *p, size_t n)
{
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2 + 256;
        r->buf = realloc(r->buf, r->cap);
        ASSERT_NOT_NULL(r->buf);
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
}

static int rec_visit(void *user, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn)
{
    rec_t *r = user;
    uint32_t lens[2] = {(uint32_t)kn, (uint32_t)vn};
    rec_add(r, lens, sizeof lens);
    rec_add(r, k, kn);
    rec_add(r, v, vn);
    return r->limit && ++r->count >= r->limit;
}

static void rec_free(void *arg)
{
    rec_t *r = arg;
    free(r->buf);
    free(r);
}

static rec_t *rec_new(void)
{
    rec_t *r = calloc(1, sizeof *r);
    ASSERT_NOT_NULL(r);
    test_defer(rec_free, r);
    return r;
}

/* Everything of context "c" in both spaces, and of "d" in KV. */
static void dump(weft_txn_t *t, rec_t *r)
{
    r->len = 0;
    r->limit = 0;
    ASSERT_EQ_INT(weft_txn_scan(t, KV, C("c"), NULL, 0, NULL, 0, rec_visit, r), 0);
    ASSERT_EQ_INT(weft_txn_scan(t, OPLOG, C("c"), NULL, 0, NULL, 0, rec_visit, r), 0);
    ASSERT_EQ_INT(weft_txn_scan(t, KV, C("d"), NULL, 0, NULL, 0, rec_visit, r), 0);
}

/* ---- the differential test -------------------------------------------- */

#define CALLS 24
#define OPS 40

static void free_overlays(weft_txn_t **ovs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        weft_txn_abort(ovs[i]);
}

static void differential(uint64_t seed)
{
    weft_db_t *db = open_tmp();
    uint64_t s = seed;
    uint8_t k[1100], k2[1100], v[32];
    size_t kn, k2n, vn;

    /* The committed state both runs start from. */
    weft_txn_t *w = begin(db, WEFT_TXN_WRITE);
    for (int i = 0; i < 60; i++) {
        kn = rand_key(&s, k);
        vn = rand_val(&s, v);
        ASSERT_EQ_INT(weft_txn_put(w, i % 3 ? KV : OPLOG, C("c"), k, kn, v, vn), 0);
        ASSERT_EQ_INT(weft_txn_put(w, KV, C("d"), k, kn, v, vn), 0);
    }
    ASSERT_EQ_INT(weft_txn_commit(w), 0);

    weft_txn_t *snap = begin(db, WEFT_TXN_READ);
    weft_txn_t *ref = begin(db, WEFT_TXN_WRITE);
    weft_txn_t *sealed[CALLS]; /* oldest first */
    weft_txn_t *below[CALLS];  /* newest first */
    size_t nsealed = 0;
    rec_t *ra = rec_new(), *rb = rec_new();

    for (int call = 0; call < CALLS; call++) {
        weft_txn_t *nt = NULL, *ov = NULL;
        for (size_t i = 0; i < nsealed; i++)
            below[i] = sealed[nsealed - 1 - i];
        ASSERT_EQ_INT(weft_txn_begin_nested(ref, &nt), 0);
        ASSERT_EQ_INT(weft_txn_begin_overlay(snap, C("c"), below, nsealed, &ov), 0);
        for (int op = 0; op < OPS; op++) {
            weft_space_t sp = rnd(&s, 3) ? KV : OPLOG;
            unsigned what = rnd(&s, 12);
            kn = rand_key(&s, k);
            if (what < 3) { /* get, of "c" or (read only) "d" */
                const char *cx = rnd(&s, 4) ? "c" : "d";
                const uint8_t *va, *vb;
                size_t na = 0, nb = 0;
                int a = weft_txn_get(nt, sp, C(cx), k, kn, &va, &na);
                int b = weft_txn_get(ov, sp, C(cx), k, kn, &vb, &nb);
                ASSERT_EQ_INT(b, a);
                if (a == 0) {
                    ASSERT_EQ_U64(nb, na);
                    ASSERT_EQ_MEM(vb, va, na);
                }
            } else if (what < 6) {
                vn = rand_val(&s, v);
                ASSERT_EQ_INT(weft_txn_put(ov, sp, C("c"), k, kn, v, vn),
                              weft_txn_put(nt, sp, C("c"), k, kn, v, vn));
            } else if (what < 7) {
                vn = rand_val(&s, v);
                ASSERT_EQ_INT(weft_txn_put_new(ov, sp, C("c"), k, kn, v, vn),
                              weft_txn_put_new(nt, sp, C("c"), k, kn, v, vn));
            } else if (what < 9) {
                ASSERT_EQ_INT(weft_txn_del(ov, sp, C("c"), k, kn),
                              weft_txn_del(nt, sp, C("c"), k, kn));
            } else { /* scan: a prefix (often empty), a start, a limit */
                size_t pn = rnd(&s, 3) ? 0 : (kn < 3 ? kn : rnd(&s, 3));
                k2n = rnd(&s, 2) ? 0 : rand_key(&s, k2);
                const char *cx = rnd(&s, 5) ? "c" : "d";
                ra->len = rb->len = 0;
                ra->count = rb->count = 0;
                ra->limit = rb->limit = rnd(&s, 3) ? 0 : 1 + (int)rnd(&s, 5);
                ASSERT_EQ_INT(weft_txn_scan(ov, sp, C(cx), k, pn, k2, k2n, rec_visit, rb),
                              weft_txn_scan(nt, sp, C(cx), k, pn, k2, k2n, rec_visit, ra));
                ASSERT_EQ_U64(rb->len, ra->len);
                ASSERT_EQ_MEM(rb->buf, ra->buf, ra->len);
            }
        }
        if (rnd(&s, 4) == 0) { /* a trap: both roll back */
            weft_txn_abort(nt);
            weft_txn_abort(ov);
            continue;
        }
        ASSERT_EQ_INT(weft_txn_commit(nt), 0);
        ASSERT_EQ_INT(weft_txn_overlay_seal(ov), 0);
        ASSERT_EQ_INT(weft_txn_get(ov, KV, C("c"), C("a"), &(const uint8_t *){0}, &(size_t){0}),
                      WEFT_EARG); /* sealed */
        sealed[nsealed++] = ov;
    }
    dump(ref, ra);
    weft_txn_abort(ref);
    weft_txn_abort(snap); /* a sealed overlay needs its base no more */

    weft_txn_t *re = begin(db, WEFT_TXN_WRITE);
    for (size_t i = 0; i < nsealed; i++)
        ASSERT_EQ_INT(weft_txn_overlay_replay(sealed[i], re), 0);
    dump(re, rb);
    ASSERT_EQ_U64(rb->len, ra->len);
    ASSERT_EQ_MEM(rb->buf, ra->buf, ra->len);
    weft_txn_abort(re);
    free_overlays(sealed, nsealed);
}

TEST(overlay_stack_answers_as_nested_transactions_do)
{
    for (uint64_t seed = 1; seed <= 6; seed++)
        differential(seed * 0x9e3779b97f4a7c15ull);
}

/* ---- what an overlay refuses, and its commit ---------------------------- */

static int no_ctx(void *user, const uint8_t *ctx, size_t ctx_len, uint64_t keys)
{
    (void)user, (void)ctx, (void)ctx_len, (void)keys;
    return 1;
}

TEST(overlay_refuses_what_would_not_commute)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *w = begin(db, WEFT_TXN_WRITE), *ov = NULL, *n = NULL;
    ASSERT_EQ_INT(weft_txn_put(w, KV, C("d"), C("k"), C("d's")), 0);
    ASSERT_EQ_INT(weft_txn_begin_overlay(w, C("c"), NULL, 0, &ov), 0);
    /* Reads anywhere are fine. */
    expect_s(ov, "d", "k", "d's");
    ASSERT_EQ_INT(weft_txn_overlay_serial(ov), 0);
    ASSERT_EQ_INT(weft_txn_put(ov, KV, C("c"), C("mine"), C("1")), 0);
    ASSERT_EQ_INT(weft_txn_put(ov, KV, C("d"), C("k"), C("x")), WEFT_ESERIAL);
    ASSERT_EQ_INT(weft_txn_overlay_serial(ov), 1);
    ASSERT_EQ_INT(weft_txn_del(ov, KV, C("d"), C("k")), WEFT_ESERIAL);
    ASSERT_EQ_INT(weft_txn_put(ov, WEFT_SPACE_META, NULL, 0, C("ctx/x"), C("1")), WEFT_ESERIAL);
    ASSERT_EQ_INT(weft_txn_drop_context(ov, WEFT_SPACE_COUNT, C("c")), WEFT_ESERIAL);
    ASSERT_EQ_INT(weft_txn_begin_nested(ov, &n), WEFT_ESERIAL);
    ASSERT_NULL(n);
    ASSERT_EQ_INT(weft_txn_contexts(ov, KV, no_ctx, NULL), WEFT_ESERIAL);
    ASSERT_CONTAINS(weft_db_errmsg(db), "needs the serial path");
    ASSERT_EQ_INT(weft_txn_dirty(ov), 1);
    /* Not on an overlay, not with an unsealed or foreign overlay below. */
    weft_txn_t *ov2 = NULL;
    ASSERT_EQ_INT(weft_txn_begin_overlay(ov, C("c"), NULL, 0, &ov2), WEFT_EARG);
    ASSERT_EQ_INT(weft_txn_begin_overlay(w, C("c"), &ov, 1, &ov2), WEFT_EARG);
    ASSERT_EQ_INT(weft_txn_overlay_seal(ov), 0);
    ASSERT_EQ_INT(weft_txn_begin_overlay(w, C("e"), &ov, 1, &ov2), WEFT_EARG);
    ASSERT_NULL(ov2);
    weft_txn_abort(ov);
    weft_txn_abort(w);
}

TEST(overlay_commit_replays_into_its_write_base)
{
    weft_db_t *db = open_tmp();
    weft_txn_t *w = begin(db, WEFT_TXN_WRITE), *ov = NULL;
    ASSERT_EQ_INT(weft_txn_put(w, KV, C("c"), C("gone"), C("1")), 0);
    ASSERT_EQ_INT(weft_txn_put(w, KV, C("c"), C("kept"), C("1")), 0);
    ASSERT_EQ_INT(weft_txn_begin_overlay(w, C("c"), NULL, 0, &ov), 0);
    ASSERT_EQ_INT(weft_txn_del(ov, KV, C("c"), C("gone")), 0);
    ASSERT_EQ_INT(weft_txn_put(ov, KV, C("c"), C("new"), C("2")), 0);
    ASSERT_EQ_INT(weft_txn_put_new(ov, KV, C("c"), C("kept"), C("3")), WEFT_DB_EXISTS);
    /* The base does not see the buffer before the commit. */
    expect_s(w, "c", "gone", "1");
    expect_s(w, "c", "new", NULL);
    ASSERT_EQ_INT(weft_txn_commit(ov), 0);
    expect_s(w, "c", "gone", NULL);
    expect_s(w, "c", "new", "2");
    expect_s(w, "c", "kept", "1");
    ASSERT_EQ_INT(weft_txn_commit(w), 0);

    /* Over a read transaction, only replay can carry the writes. */
    weft_txn_t *r = begin(db, WEFT_TXN_READ);
    ASSERT_EQ_INT(weft_txn_begin_overlay(r, C("c"), NULL, 0, &ov), 0);
    ASSERT_EQ_INT(weft_txn_put(ov, KV, C("c"), C("x"), C("y")), 0);
    expect_s(ov, "c", "x", "y");
    expect_s(r, "c", "x", NULL);
    ASSERT_EQ_INT(weft_txn_commit(ov), WEFT_EARG);
    weft_txn_abort(r);
}
