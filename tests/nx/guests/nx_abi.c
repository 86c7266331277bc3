/*
 * nx_abi.c — test guest for the nx ABI (src/host/nx*.c), run by
 * tests/nx/nx_test.sh through `weft run --data-dir`. argv[1] picks a case;
 * every check that fails prints file, line and both values on stderr, and
 * main returns 1 if any did. Some cases leave state for a following run
 * (persistence, rollback) that the script checks with another case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h" /* tests/wasi/guests: CHECK, CHECK_EQ, MEM_END */
#include "nx.h"

#define S(str) str, (uint32_t)(sizeof str - 1)

static uint8_t big[NX_MAX_VALUE + 16];
static uint8_t out[NX_MAX_VALUE + 16];

static void hex(const uint8_t *p, size_t n, char *dst)
{
    for (size_t i = 0; i < n; i++) sprintf(dst + 2 * i, "%02x", p[i]);
}

static void case_db(void)
{
    char buf[64];
    /* round trip, not found, too small, exists, delete */
    CHECK_EQ(nx_db_get(S("missing"), buf, sizeof buf), NX_ERR_NOT_FOUND);
    CHECK_EQ(nx_db_exists(S("missing")), 0);
    CHECK_EQ(nx_db_set(S("user:1"), S("alice")), 0);
    CHECK_EQ(nx_db_exists(S("user:1")), 1);
    CHECK_EQ(nx_db_get(S("user:1"), buf, sizeof buf), 5);
    CHECK(memcmp(buf, "alice", 5) == 0);
    CHECK_EQ(nx_db_get(S("user:1"), buf, 5), 5);
    CHECK_EQ(nx_db_get(S("user:1"), buf, 4), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(nx_db_get(S("user:1"), NULL, 0), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(nx_db_set(S("user:1"), S("bob")), 0);
    CHECK_EQ(nx_db_get(S("user:1"), buf, sizeof buf), 3);
    CHECK_EQ(nx_db_delete(S("user:1")), 0);
    CHECK_EQ(nx_db_delete(S("user:1")), 0); /* absent: still 0 */
    CHECK_EQ(nx_db_exists(S("user:1")), 0);
    /* empty key and empty value */
    CHECK_EQ(nx_db_set("", 0, S("empty-key")), 0);
    CHECK_EQ(nx_db_get("", 0, buf, sizeof buf), 9);
    CHECK_EQ(nx_db_set(S("empty-val"), "", 0), 0);
    CHECK_EQ(nx_db_exists(S("empty-val")), 1);
    CHECK_EQ(nx_db_get(S("empty-val"), NULL, 0), 0);
    /* binary keys with NUL and 0xff bytes */
    static const uint8_t k1[] = {0, 1, 0, 0xff}, k2[] = {0, 1, 0};
    CHECK_EQ(nx_db_set(k1, 4, S("four")), 0);
    CHECK_EQ(nx_db_set(k2, 3, S("three")), 0);
    CHECK_EQ(nx_db_get(k1, 4, buf, sizeof buf), 4);
    CHECK_EQ(nx_db_get(k2, 3, buf, sizeof buf), 5);
    CHECK_EQ(nx_db_delete(k1, 4), 0);
    CHECK_EQ(nx_db_delete(k2, 3), 0);
    CHECK_EQ(nx_db_delete("", 0), 0);
    CHECK_EQ(nx_db_delete(S("empty-val")), 0);
    /* key limit: 1024 ok, 1025 refused */
    memset(big, 'k', NX_MAX_KEY + 1);
    CHECK_EQ(nx_db_set(big, NX_MAX_KEY, S("v")), 0);
    CHECK_EQ(nx_db_get(big, NX_MAX_KEY, buf, sizeof buf), 1);
    CHECK_EQ(nx_db_exists(big, NX_MAX_KEY), 1);
    CHECK_EQ(nx_db_delete(big, NX_MAX_KEY), 0);
    CHECK_EQ(nx_db_set(big, NX_MAX_KEY + 1, S("v")), NX_ERR_INTERNAL);
    CHECK_EQ(nx_db_get(big, NX_MAX_KEY + 1, buf, sizeof buf), NX_ERR_INTERNAL);
    CHECK_EQ(nx_db_exists(big, NX_MAX_KEY + 1), NX_ERR_INTERNAL);
    CHECK_EQ(nx_db_delete(big, NX_MAX_KEY + 1), NX_ERR_INTERNAL);
    /* value limit: 1 MiB ok, one more refused */
    for (uint32_t i = 0; i < NX_MAX_VALUE + 1; i++) big[i] = (uint8_t)(i * 7);
    CHECK_EQ(nx_db_set(S("bigval"), big, NX_MAX_VALUE), 0);
    CHECK_EQ(nx_db_get(S("bigval"), out, NX_MAX_VALUE), (int32_t)NX_MAX_VALUE);
    CHECK(memcmp(out, big, NX_MAX_VALUE) == 0);
    CHECK_EQ(nx_db_get(S("bigval"), out, NX_MAX_VALUE - 1), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(nx_db_set(S("bigval"), big, NX_MAX_VALUE + 1), NX_ERR_INTERNAL);
    CHECK_EQ(nx_db_get(S("bigval"), out, sizeof out), (int32_t)NX_MAX_VALUE);
    CHECK_EQ(nx_db_delete(S("bigval")), 0);
    /* reserved keys and prefixes */
    CHECK_EQ(nx_db_set(S("__nx/x"), S("v")), NX_ERR_RESERVED_KEY);
    CHECK_EQ(nx_db_set(S("__nx/"), S("v")), NX_ERR_RESERVED_KEY);
    CHECK_EQ(nx_db_get(S("__nx/hidden"), buf, sizeof buf), NX_ERR_RESERVED_KEY);
    CHECK_EQ(nx_db_exists(S("__nx/hidden")), NX_ERR_RESERVED_KEY);
    CHECK_EQ(nx_db_delete(S("__nx/hidden")), NX_ERR_RESERVED_KEY);
    CHECK_EQ(nx_db_scan(S("__nx/"), 0, 10, out, 64), NX_ERR_RESERVED_KEY);
    CHECK_EQ(nx_db_keys(S("__nx/a"), 0, 10, out, 64), NX_ERR_RESERVED_KEY);
    CHECK_EQ(nx_db_scan_after(S("__nx/"), "", 0, 10, out, 64), NX_ERR_RESERVED_KEY);
    CHECK_EQ(nx_db_keys_after(S(""), S("__nx/hidden"), 10, out, 64), NX_ERR_RESERVED_KEY);
    /* "__nx" without the slash is an ordinary key */
    CHECK_EQ(nx_db_set(S("__nx"), S("plain")), 0);
    CHECK_EQ(nx_db_get(S("__nx"), buf, sizeof buf), 5);
    CHECK_EQ(nx_db_delete(S("__nx")), 0);
}

/* Checks a whole walk over n keys "k%04d" (values "v%d") in pages. */
static void case_pages(void)
{
    enum { N = 1000 };
    char key[16], val[16];
    for (int i = 0; i < N; i++) {
        int kl = snprintf(key, sizeof key, "k%04d", i), vl = snprintf(val, sizeof val, "v%d", i);
        CHECK_EQ(nx_db_set(key, (uint32_t)kl, val, (uint32_t)vl), 0);
    }
    CHECK_EQ(nx_db_set(S("other"), S("x")), 0);

    /* db_keys_after, 7 per page */
    uint8_t after[64];
    uint32_t after_len = 0;
    int seen = 0, pages = 0;
    for (;;) {
        int32_t n = nx_db_keys_after(S("k"), after, after_len, 7, out, 4096);
        CHECK(n >= 4);
        if (n < 4) break;
        uint32_t count = nx_read_u32(out), pos = 4, kl, vl;
        const uint8_t *k, *v;
        pages++;
        for (uint32_t r = 0; r < count; r++) {
            CHECK(nx_page_next(out, (uint32_t)n, 0, &pos, &k, &kl, &v, &vl));
            snprintf(key, sizeof key, "k%04d", seen);
            CHECK(kl == 5 && memcmp(k, key, 5) == 0);
            memcpy(after, k, kl);
            after_len = kl;
            seen++;
        }
        CHECK_EQ(pos, (uint32_t)n);
        if (count < 7) break;
    }
    CHECK_EQ(seen, N);
    CHECK_EQ(pages, N / 7 + 1);

    /* db_scan_after, 13 per page, values checked */
    after_len = 0;
    seen = 0;
    for (;;) {
        int32_t n = nx_db_scan_after(S("k"), after, after_len, 13, out, 4096);
        CHECK(n >= 4);
        if (n < 4) break;
        uint32_t count = nx_read_u32(out), pos = 4, kl, vl;
        const uint8_t *k, *v;
        for (uint32_t r = 0; r < count; r++) {
            CHECK(nx_page_next(out, (uint32_t)n, 1, &pos, &k, &kl, &v, &vl));
            int want = snprintf(val, sizeof val, "v%d", seen);
            CHECK(vl == (uint32_t)want && memcmp(v, val, vl) == 0);
            memcpy(after, k, kl);
            after_len = kl;
            seen++;
        }
        if (count < 13) break;
    }
    CHECK_EQ(seen, N);

    /* offset cursors: db_scan and db_keys, 50 per page */
    for (int values = 0; values < 2; values++) {
        seen = 0;
        for (uint64_t cursor = 0;; cursor += 50) {
            int32_t n = values ? nx_db_scan(S("k"), cursor, 50, out, 8192)
                               : nx_db_keys(S("k"), cursor, 50, out, 8192);
            CHECK(n >= 4);
            if (n < 4) break;
            uint32_t count = nx_read_u32(out), pos = 4, kl, vl;
            const uint8_t *k, *v;
            for (uint32_t r = 0; r < count; r++) {
                CHECK(nx_page_next(out, (uint32_t)n, values, &pos, &k, &kl, &v, &vl));
                snprintf(key, sizeof key, "k%04d", seen++);
                CHECK(kl == 5 && memcmp(k, key, 5) == 0);
            }
            if (count < 50) break;
        }
        CHECK_EQ(seen, N);
    }
    /* exact encodings of a small page: keys k0998, k0999 */
    int32_t n = nx_db_scan_after(S("k"), S("k0997"), 100, out, 4096);
    CHECK_EQ(n, 4 + 2 * (8 + 5 + 4));
    CHECK_EQ(nx_read_u32(out), 2);
    CHECK_EQ(nx_read_u32(out + 4), 5);
    CHECK_EQ(nx_read_u32(out + 8), 4);
    CHECK(memcmp(out + 12, "k0998v998", 9) == 0);
    n = nx_db_keys_after(S("k"), S("k0998"), 100, out, 4096);
    CHECK_EQ(n, 4 + 4 + 5);
    CHECK(memcmp(out + 8, "k0999", 5) == 0);
    /* past the end, a cursor beyond the rows, limit 0 */
    CHECK_EQ(nx_db_keys_after(S("k"), S("k0999"), 10, out, 4096), 4);
    CHECK_EQ(nx_read_u32(out), 0);
    CHECK_EQ(nx_db_scan(S("k"), 5000, 10, out, 4096), 4);
    CHECK_EQ(nx_db_keys(S("k"), 0, 0, out, 4096), 4);
    CHECK_EQ(nx_read_u32(out), 0);
    /* the page must fit: 3 rows (k000N, vN) of 15 bytes need 49 bytes */
    CHECK_EQ(nx_db_scan(S("k"), 0, 3, out, 49), 49);
    CHECK_EQ(nx_db_scan(S("k"), 0, 3, out, 48), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(nx_db_keys(S("k"), 0, 1, out, 3), NX_ERR_BUFFER_TOO_SMALL);
    /* the empty prefix sees everything but the reserved keys the script
     * planted (__nx/planted) */
    n = nx_db_keys(S(""), 0, 5000, out, 65536);
    CHECK_EQ(nx_read_u32(out), N + 1);
    CHECK_EQ(nx_db_keys(S("_"), 0, 10, out, 4096), 4);
    CHECK_EQ(nx_db_scan(S("__nx"), 0, 10, out, 4096), 4);
    /* start_after outside the prefix: before it = all, after it = none */
    n = nx_db_keys_after(S("k"), S("a"), 2000, out, 65536);
    CHECK_EQ(nx_read_u32(out), N);
    n = nx_db_keys_after(S("k"), S("z"), 2000, out, 65536);
    CHECK_EQ(nx_read_u32(out), 0);
}

/* Pagination while the key set changes: walk "c%04d" with db_scan_after,
 * 10 per page, and between pages delete keys behind and ahead of the
 * cursor and insert new ones on both sides. The key cursor must still give
 * every key that stayed present for the whole walk exactly once, in order,
 * and never a key twice or out of order. */
static void case_pages_churn(void)
{
    enum { N = 600 };
    static unsigned char present[N * 2];  /* key i exists now */
    static unsigned char stable[N * 2];   /* key i existed for the whole walk so far */
    static unsigned char visited[N * 2];
    char key[16];
    for (int i = 0; i < N * 2; i += 2) { /* even keys first; odd ones appear later */
        int kl = snprintf(key, sizeof key, "c%04d", i);
        CHECK_EQ(nx_db_set(key, (uint32_t)kl, "x", 1), 0);
        present[i] = stable[i] = 1;
    }
    uint8_t after[16];
    uint32_t after_len = 0;
    int last = -1, pages = 0;
    uint32_t rnd = 12345;
    for (;;) {
        int32_t n = nx_db_scan_after(S("c"), after, after_len, 10, out, 4096);
        CHECK(n >= 4);
        if (n < 4) break;
        uint32_t count = nx_read_u32(out), pos = 4, kl, vl;
        const uint8_t *k, *v;
        for (uint32_t r = 0; r < count; r++) {
            CHECK(nx_page_next(out, (uint32_t)n, 1, &pos, &k, &kl, &v, &vl));
            int id = atoi((const char *)k + 1);
            CHECK(kl == 5 && id > last && id < N * 2); /* strictly ascending */
            CHECK(present[id]);
            CHECK(!visited[id]);
            visited[id] = 1;
            last = id;
            memcpy(after, k, kl);
            after_len = kl;
        }
        pages++;
        if (count < 10) break;
        /* churn: 3 deletes and 3 inserts anywhere, some behind the cursor */
        for (int j = 0; j < 6; j++) {
            rnd = rnd * 1103515245u + 12345u;
            int id = (int)((rnd >> 8) % (N * 2));
            int kl2 = snprintf(key, sizeof key, "c%04d", id);
            if (j % 2 == 0 && present[id]) {
                CHECK_EQ(nx_db_delete(key, (uint32_t)kl2), 0);
                present[id] = 0;
                stable[id] = 0;
            } else if (j % 2 == 1 && !present[id]) {
                CHECK_EQ(nx_db_set(key, (uint32_t)kl2, "y", 1), 0);
                present[id] = 1;
            }
        }
    }
    CHECK(pages > 50);
    int missed = 0;
    for (int i = 0; i < N * 2; i++)
        if (stable[i] && !visited[i]) missed++;
    CHECK_EQ(missed, 0);
}

static void case_misc(void)
{
    uint8_t d[64];
    char h[65];
    char buf[256];
    /* time */
    uint64_t now = nx_time_now();
    CHECK(now > 1600000000000ull && now < 4102444800000ull);
    uint64_t m1 = nx_time_monotonic(), m2 = nx_time_monotonic();
    CHECK(m2 >= m1);
    /* random */
    CHECK_EQ(nx_random_bytes(d, 32), 32);
    CHECK_EQ(nx_random_bytes(d, 0), 0);
    CHECK_EQ(nx_random_bytes(big, NX_MAX_RANDOM), (int32_t)NX_MAX_RANDOM);
    CHECK_EQ(nx_random_bytes(big, NX_MAX_RANDOM + 1), NX_ERR_INTERNAL);
    /* hashes */
    CHECK_EQ(nx_hash_sha256(S("abc"), d, 32), 32);
    hex(d, 32, h);
    CHECK(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    CHECK_EQ(nx_hash_blake3(S("abc"), d, 64), 32);
    hex(d, 32, h);
    CHECK(strcmp(h, "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85") == 0);
    CHECK_EQ(nx_hash_sha256(S("abc"), d, 31), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(nx_hash_blake3("", 0, d, 31), NX_ERR_BUFFER_TOO_SMALL);
    /* env_get: the script sets NX_TEST_VAR=hello, NUMAX_X=1, nx_lower=no, SECRET=no */
    CHECK_EQ(nx_env_get(S("NX_TEST_VAR"), buf, sizeof buf), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_EQ(nx_env_get(S("NX_TEST_VAR"), buf, 4), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(nx_env_get(S("NUMAX_X"), buf, sizeof buf), 1);
    CHECK_EQ(nx_env_get(S("nx_lower"), buf, sizeof buf), NX_ERR_NOT_FOUND);
    CHECK_EQ(nx_env_get(S("NX_lower"), buf, sizeof buf), NX_ERR_NOT_FOUND);
    CHECK_EQ(nx_env_get(S("SECRET"), buf, sizeof buf), NX_ERR_NOT_FOUND);
    CHECK_EQ(nx_env_get(S("NX_UNSET_VAR"), buf, sizeof buf), NX_ERR_NOT_FOUND);
    /* module id and capabilities */
    CHECK_EQ(nx_module_id(buf, sizeof buf), 6);
    CHECK(memcmp(buf, "nx_abi", 6) == 0);
    CHECK_EQ(nx_module_id(buf, 5), NX_ERR_BUFFER_TOO_SMALL);
    int32_t n = nx_host_capabilities(out, 4096);
    CHECK(n > 0);
    out[n > 0 ? n : 0] = 0;
    CHECK(strstr((char *)out, "db_get\n") == (char *)out);
    CHECK(strstr((char *)out, "\nhost_log_v2\n") != NULL);
    CHECK(strstr((char *)out, "\ncrdt_gcounter_inc\n") != NULL);
    CHECK(strstr((char *)out, "\ncrdt_rga_values") != NULL);
    CHECK(strcmp((char *)out + n - 16, "\ncrdt_rga_values") == 0); /* the last one */
    CHECK(out[n - 1] != '\n');
    CHECK_EQ(nx_host_capabilities(out, 10), NX_ERR_BUFFER_TOO_SMALL);
    /* events */
    CHECK_EQ(nx_event_emit(S("a-Z_0.9:x"), S("payload")), 0);
    CHECK_EQ(nx_event_emit(S("empty"), "", 0), 0);
    CHECK_EQ(nx_event_emit("", 0, S("x")), NX_ERR_INTERNAL);
    CHECK_EQ(nx_event_emit(S("a b"), S("x")), NX_ERR_INTERNAL);
    CHECK_EQ(nx_event_emit(S("caf\xc3\xa9"), S("x")), NX_ERR_INTERNAL);
    CHECK_EQ(nx_event_emit(S("a/b"), S("x")), NX_ERR_INTERNAL);
    /* logs: exactly the limit, one past (cut), unreadable (v2: ERR_INTERNAL) */
    CHECK_EQ(nx_log("log line one"), 0);
    memset(big, 'L', NX_MAX_LOG + 1);
    big[0] = '<';
    big[NX_MAX_LOG - 1] = '>';
    big[NX_MAX_LOG] = '!';
    CHECK_EQ(nx_host_log_v2(big, NX_MAX_LOG), 0);
    CHECK_EQ(nx_host_log_v2(big, NX_MAX_LOG + 1), 0);
    CHECK_EQ(nx_host_log_v2((void *)(uintptr_t)(MEM_END - 2), 3), NX_ERR_INTERNAL);
    CHECK_EQ(nx_host_log_v2("", 0), 0);
    nx_host_log(S("legacy line"));
}

/* net on: prints the node id, which is text, 64 lowercase hex digits (the
 * script compares runs and weft db node-id); net off: both functions
 * report that sync is disabled (weft run --no-sync). */
static void case_net(int on)
{
    uint8_t id[NX_NODE_ID_LEN + 8], peers[16];
    char s[NX_NODE_ID_LEN + 1];
    if (!on) {
        CHECK_EQ(nx_net_node_id(id, sizeof id), NX_ERR_SYNC_DISABLED);
        CHECK_EQ(nx_net_peers(peers, sizeof peers), NX_ERR_SYNC_DISABLED);
        CHECK_EQ(nx_net_node_id_str(s), NX_ERR_SYNC_DISABLED);
        return;
    }
    memset(id, '-', sizeof id);
    CHECK_EQ(nx_net_node_id(id, sizeof id), 64);
    CHECK_EQ(id[64], '-'); /* nothing past the text */
    int hex_digits = 0, zeros = 0;
    for (int i = 0; i < 64; i++) {
        hex_digits += (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f');
        zeros += id[i] == '0';
    }
    CHECK_EQ(hex_digits, 64);
    CHECK(zeros < 64); /* a real key, not the placeholder */
    memset(id + 64, '-', 8);
    CHECK_EQ(nx_net_node_id(id + 64, 63), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(id[64], '-'); /* a refused call writes nothing */
    CHECK_EQ(nx_net_node_id_str(s), 64);
    CHECK(strlen(s) == 64 && memcmp(s, id, 64) == 0);
    memset(peers, 0xaa, sizeof peers);
    CHECK_EQ(nx_net_peers(peers, sizeof peers), 4);
    CHECK_EQ(peers[0] | peers[1] | peers[2] | peers[3], 0);
    CHECK_EQ(nx_net_peers(peers, 3), NX_ERR_BUFFER_TOO_SMALL);
    printf("%s\n", s);
}

/* ---- RGA ids: text (docs/nx.md) --------------------------------------------
 * The 40-byte id (origin node id, u64 seq LE) in RFC 4648 base32, lowercase,
 * unpadded: 64 characters a-z 2-7. The guest encodes and decodes them itself
 * to check the documented form and to make ids the host must refuse. */
static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

static void id_encode(const uint8_t raw[40], uint8_t text[64])
{
    for (int g = 0; g < 8; g++) {
        uint64_t v = 0;
        for (int i = 0; i < 5; i++) v = v << 8 | raw[5 * g + i];
        for (int i = 0; i < 8; i++) text[8 * g + i] = (uint8_t)b32[(v >> (35 - 5 * i)) & 31];
    }
}

static int id_decode(const uint8_t text[64], uint8_t raw[40])
{
    for (int g = 0; g < 8; g++) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++) {
            const char *d = text[8 * g + i] ? strchr(b32, text[8 * g + i]) : NULL;
            if (!d) return -1;
            v = v << 5 | (uint64_t)(d - b32);
        }
        for (int i = 0; i < 5; i++) raw[5 * g + i] = (uint8_t)(v >> (32 - 8 * i));
    }
    return 0;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* Compares an encoded list (u32 count, then per item u32 len, bytes; map
 * entries as two items) with the items given as C strings. */
static int list_is(const uint8_t *p, int32_t n, uint32_t count, const char *const *items,
                   size_t nitems)
{
    if (n < 4 || nx_read_u32(p) != count) return 0;
    uint32_t pos = 4;
    for (size_t i = 0; i < nitems; i++) {
        uint32_t l = (uint32_t)strlen(items[i]);
        if (pos + 4 > (uint32_t)n || nx_read_u32(p + pos) != l) return 0;
        if (pos + 4 + l > (uint32_t)n || memcmp(p + pos + 4, items[i], l) != 0) return 0;
        pos += 4 + l;
    }
    return pos == (uint32_t)n;
}
#define LIST_IS(p, n, count, ...)                                                     \
    list_is(p, n, count, (const char *const[]){__VA_ARGS__},                          \
            sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void case_crdt(void)
{
    uint8_t b[64], id1[64], id2[64], id3[64];
    int32_t n;
    /* GCounter: absent reads 0; 8 LE bytes; delta 0 a no-op */
    memset(b, 0xaa, sizeof b);
    CHECK_EQ(nx_crdt_gcounter_value(S("g"), b, 8), 8);
    CHECK_EQ(le64(b), 0);
    CHECK_EQ(nx_crdt_gcounter_inc(S("g"), 5), 0);
    CHECK_EQ(nx_crdt_gcounter_inc(S("g"), 0x100000000ull), 0);
    CHECK_EQ(nx_crdt_gcounter_inc(S("g"), 0), 0);
    CHECK_EQ(nx_crdt_gcounter_value(S("g"), b, sizeof b), 8);
    CHECK_EQ(le64(b), 0x100000005ull);
    memset(b, 0xaa, sizeof b);
    CHECK_EQ(nx_crdt_gcounter_value(S("g"), b, 7), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(b[0], 0xaa);
    /* overflow of the node's slot is refused, the value unchanged */
    CHECK_EQ(nx_crdt_gcounter_inc(S("g2"), UINT64_MAX), 0);
    CHECK_EQ(nx_crdt_gcounter_inc(S("g2"), 1), NX_ERR_INTERNAL);
    CHECK_EQ(nx_crdt_gcounter_value(S("g2"), b, 8), 8);
    CHECK(le64(b) == UINT64_MAX);
    /* PNCounter: signed */
    CHECK_EQ(nx_crdt_pncounter_value(S("pn"), b, 8), 8);
    CHECK_EQ(le64(b), 0);
    CHECK_EQ(nx_crdt_pncounter_inc(S("pn"), 10), 0);
    CHECK_EQ(nx_crdt_pncounter_dec(S("pn"), 3), 0);
    CHECK_EQ(nx_crdt_pncounter_value(S("pn"), b, 8), 8);
    CHECK_EQ((int64_t)le64(b), 7);
    CHECK_EQ(nx_crdt_pncounter_dec(S("pn"), 20), 0);
    CHECK_EQ(nx_crdt_pncounter_value(S("pn"), b, 8), 8);
    CHECK_EQ((int64_t)le64(b), -13);
    CHECK_EQ(nx_crdt_pncounter_value(S("pn"), b, 0), NX_ERR_BUFFER_TOO_SMALL);
    /* one key, one type: another type's function is refused */
    CHECK_EQ(nx_crdt_pncounter_inc(S("g"), 1), NX_ERR_INTERNAL);
    CHECK_EQ(nx_crdt_pncounter_value(S("g"), b, 8), NX_ERR_INTERNAL);
    CHECK_EQ(nx_crdt_lww_set(S("g"), S("x")), NX_ERR_INTERNAL);
    CHECK_EQ(nx_crdt_lww_get(S("pn"), b, sizeof b), NX_ERR_INTERNAL);
    CHECK_EQ(nx_crdt_gcounter_value(S("g"), b, 8), 8);
    CHECK_EQ(le64(b), 0x100000005ull);
    /* the CRDT state is not in the db_* key space */
    CHECK_EQ(nx_db_exists(S("g")), 0);

    /* LWW register */
    CHECK_EQ(nx_crdt_lww_get(S("st"), b, sizeof b), NX_ERR_NOT_FOUND);
    CHECK_EQ(nx_crdt_lww_set(S("st"), S("online")), 0);
    CHECK_EQ(nx_crdt_lww_get(S("st"), b, sizeof b), 6);
    CHECK(memcmp(b, "online", 6) == 0);
    CHECK_EQ(nx_crdt_lww_set(S("st"), S("away")), 0); /* same ms: later local write wins */
    CHECK_EQ(nx_crdt_lww_set(S("st"), S("busy")), 0);
    memset(b, 0, sizeof b);
    CHECK_EQ(nx_crdt_lww_get(S("st"), b, 4), 4);
    CHECK(memcmp(b, "busy", 4) == 0);
    memset(b, '-', sizeof b);
    CHECK_EQ(nx_crdt_lww_get(S("st"), b, 3), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(b[0], '-');
    CHECK_EQ(nx_crdt_lww_set(S("empty"), "", 0), 0);
    CHECK_EQ(nx_crdt_lww_get(S("empty"), NULL, 0), 0);
    for (uint32_t i = 0; i < NX_MAX_VALUE + 1; i++) big[i] = (uint8_t)(i * 13);
    /* exactly at the value limit, then one past it (regression: the store
     * once capped a whole state and an op-log entry at 1 MiB too) */
    CHECK_EQ(nx_crdt_lww_set(S("bigreg"), big, NX_MAX_VALUE), 0);
    CHECK_EQ(nx_crdt_lww_get(S("bigreg"), out, sizeof out), (int32_t)NX_MAX_VALUE);
    CHECK(memcmp(out, big, NX_MAX_VALUE) == 0);
    CHECK_EQ(nx_crdt_lww_set(S("bigreg"), big, NX_MAX_VALUE + 1), NX_ERR_INTERNAL);
    /* a map whose whole state grows past 1 MiB keeps taking writes */
    for (int f = 0; f < 3; f++) {
        char field[8];
        int fl = snprintf(field, sizeof field, "f%d", f);
        CHECK_EQ(nx_crdt_lww_map_set(S("bigmap"), field, (uint32_t)fl, big, NX_MAX_VALUE / 2), 0);
    }
    CHECK_EQ(nx_crdt_lww_map_get(S("bigmap"), S("f2"), out, sizeof out), (int32_t)NX_MAX_VALUE / 2);

    /* LWW map: entries in bytewise field order, tombstones hidden */
    CHECK_EQ(nx_crdt_lww_map_entries(S("m"), b, sizeof b), 4);
    CHECK_EQ(nx_read_u32(b), 0);
    CHECK_EQ(nx_crdt_lww_map_get(S("m"), S("theme"), b, sizeof b), NX_ERR_NOT_FOUND);
    CHECK_EQ(nx_crdt_lww_map_contains(S("m"), S("theme")), 0);
    CHECK_EQ(nx_crdt_lww_map_set(S("m"), S("theme"), S("dark")), 0);
    CHECK_EQ(nx_crdt_lww_map_set(S("m"), S("region"), S("eu")), 0);
    CHECK_EQ(nx_crdt_lww_map_set(S("m"), S("a"), S("")), 0);
    CHECK_EQ(nx_crdt_lww_map_set(S("m"), S("zz"), S("gone")), 0);
    CHECK_EQ(nx_crdt_lww_map_remove(S("m"), S("zz")), 0);
    CHECK_EQ(nx_crdt_lww_map_remove(S("m"), S("never")), 0);
    CHECK_EQ(nx_crdt_lww_map_set(S("m"), S("theme"), S("light")), 0);
    CHECK_EQ(nx_crdt_lww_map_get(S("m"), S("theme"), b, sizeof b), 5);
    CHECK(memcmp(b, "light", 5) == 0);
    CHECK_EQ(nx_crdt_lww_map_get(S("m"), S("theme"), b, 4), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(nx_crdt_lww_map_get(S("m"), S("zz"), b, sizeof b), NX_ERR_NOT_FOUND);
    CHECK_EQ(nx_crdt_lww_map_get(S("m"), S("a"), b, sizeof b), 0);
    CHECK_EQ(nx_crdt_lww_map_contains(S("m"), S("theme")), 1);
    CHECK_EQ(nx_crdt_lww_map_contains(S("m"), S("a")), 1);
    CHECK_EQ(nx_crdt_lww_map_contains(S("m"), S("zz")), 0);
    n = nx_crdt_lww_map_entries(S("m"), out, 4096);
    CHECK_EQ(n, 4 + (4 + 1 + 4 + 0) + (4 + 6 + 4 + 2) + (4 + 5 + 4 + 5));
    CHECK(LIST_IS(out, n, 3, "a", "", "region", "eu", "theme", "light"));
    memset(b, '-', sizeof b);
    CHECK_EQ(nx_crdt_lww_map_entries(S("m"), b, (uint32_t)n - 1), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(b[0], '-');
    CHECK_EQ(nx_crdt_lww_map_entries(S("m"), b, 3), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(nx_crdt_lww_map_entries(S("m"), NULL, 0), NX_ERR_BUFFER_TOO_SMALL);
    memset(big, 'f', NX_MAX_KEY + 1);
    CHECK_EQ(nx_crdt_lww_map_set(S("m"), big, NX_MAX_KEY, S("v")), 0);
    CHECK_EQ(nx_crdt_lww_map_set(S("m"), big, NX_MAX_KEY + 1, S("v")), NX_ERR_INTERNAL);
    CHECK_EQ(nx_crdt_lww_map_get(S("m"), big, NX_MAX_KEY + 1, b, sizeof b), NX_ERR_INTERNAL);
    CHECK_EQ(nx_crdt_lww_map_remove(S("m"), big, NX_MAX_KEY), 0);
    CHECK_EQ(nx_crdt_lww_map_set(S("m"), S("v"), big, NX_MAX_VALUE + 1), NX_ERR_INTERNAL);

    /* ORSet: elements in bytewise order; removing the absent is a no-op */
    CHECK_EQ(nx_crdt_orset_elements(S("tags"), b, sizeof b), 4);
    CHECK_EQ(nx_read_u32(b), 0);
    CHECK_EQ(nx_crdt_orset_contains(S("tags"), S("blue")), 0);
    CHECK_EQ(nx_crdt_orset_remove(S("tags"), S("blue")), 0);
    CHECK_EQ(nx_crdt_orset_add(S("tags"), S("red")), 0);
    CHECK_EQ(nx_crdt_orset_add(S("tags"), S("blue")), 0);
    CHECK_EQ(nx_crdt_orset_add(S("tags"), S("blue")), 0);
    CHECK_EQ(nx_crdt_orset_add(S("tags"), S("green")), 0);
    CHECK_EQ(nx_crdt_orset_contains(S("tags"), S("blue")), 1);
    n = nx_crdt_orset_elements(S("tags"), out, 4096);
    CHECK_EQ(n, 4 + 8 + 9 + 7);
    CHECK(LIST_IS(out, n, 3, "blue", "green", "red"));
    CHECK_EQ(nx_crdt_orset_remove(S("tags"), S("blue")), 0); /* both tags */
    CHECK_EQ(nx_crdt_orset_contains(S("tags"), S("blue")), 0);
    CHECK_EQ(nx_crdt_orset_remove(S("tags"), S("nothere")), 0);
    n = nx_crdt_orset_elements(S("tags"), out, 4096);
    CHECK(LIST_IS(out, n, 2, "green", "red"));
    CHECK_EQ(nx_crdt_orset_elements(S("tags"), out, (uint32_t)n - 1), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(nx_crdt_orset_add(S("tags"), S("blue")), 0); /* re-add after remove */
    CHECK_EQ(nx_crdt_orset_contains(S("tags"), S("blue")), 1);
    CHECK_EQ(nx_crdt_orset_add(S("tags"), big, NX_MAX_KEY + 1), NX_ERR_INTERNAL);
    CHECK_EQ(nx_crdt_orset_contains(S("tags"), big, NX_MAX_KEY + 1), NX_ERR_INTERNAL);

    /* RGA: ids are text of 64 characters (docs/nx.md); values in sequence
     * order */
    const uint32_t L = NX_CRDT_ID_LEN;
    CHECK_EQ(L, 64);
    CHECK_EQ(nx_crdt_rga_values(S("doc"), b, sizeof b), 4);
    CHECK_EQ(nx_read_u32(b), 0);
    memset(id1, '-', sizeof id1);
    CHECK_EQ(nx_crdt_rga_insert(S("doc"), "", 0, S("first"), id1, sizeof id1), 64);
    CHECK_EQ(nx_crdt_rga_insert(S("doc"), id1, L, S("third"), id3, L), 64);
    CHECK_EQ(nx_crdt_rga_insert(S("doc"), id1, L, S("second"), id2, L), 64); /* newer first */
    CHECK(memcmp(id1, id2, L) != 0 && memcmp(id2, id3, L) != 0);
    /* the documented form: base32 of (origin, seq LE); the origin is this
     * node (net_node_id's hex), seqs count the context's ops 1, 2, 3, ... */
    uint8_t raw1[40], raw2[40], raw3[40], node[NX_NODE_ID_LEN], text[64];
    CHECK_EQ(id_decode(id1, raw1), 0);
    CHECK_EQ(id_decode(id2, raw2), 0);
    CHECK_EQ(id_decode(id3, raw3), 0);
    id_encode(raw1, text);
    CHECK(memcmp(text, id1, 64) == 0);
    CHECK(memcmp(raw1, raw2, 32) == 0 && memcmp(raw1, raw3, 32) == 0);
    CHECK_EQ(nx_net_node_id(node, sizeof node), 64);
    char node_hex[65];
    hex(raw1, 32, node_hex);
    CHECK(memcmp(node_hex, node, 64) == 0);
    CHECK_EQ(le64(raw3 + 32), le64(raw1 + 32) + 1);
    CHECK_EQ(le64(raw2 + 32), le64(raw1 + 32) + 2);
    n = nx_crdt_rga_values(S("doc"), out, 4096);
    CHECK(LIST_IS(out, n, 3, "first", "second", "third"));
    memset(b, '-', sizeof b);
    CHECK_EQ(nx_crdt_rga_insert(S("doc"), "", 0, S("zero"), b, L - 1), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(b[0], '-');
    n = nx_crdt_rga_values(S("doc"), out, 4096);
    CHECK_EQ(nx_read_u32(out), 3); /* the refused insert inserted nothing */
    CHECK_EQ(nx_crdt_rga_delete(S("doc"), id2, L), 0);
    CHECK_EQ(nx_crdt_rga_delete(S("doc"), id2, L), 0); /* again: still 0 */
    n = nx_crdt_rga_values(S("doc"), out, 4096);
    CHECK(LIST_IS(out, n, 2, "first", "third"));
    /* children of a deleted element stay, in order */
    CHECK_EQ(nx_crdt_rga_insert(S("doc"), id2, L, S("reply"), b, L), 64);
    n = nx_crdt_rga_values(S("doc"), out, 4096);
    CHECK(LIST_IS(out, n, 3, "first", "reply", "third"));
    CHECK_EQ(nx_crdt_rga_values(S("doc"), out, (uint32_t)n - 1), NX_ERR_BUFFER_TOO_SMALL);
    /* unknown ids: a seq this node never issued, another origin */
    memcpy(raw2, raw1, 40);
    raw2[39] ^= 0x40;
    id_encode(raw2, b);
    CHECK_EQ(nx_crdt_rga_delete(S("doc"), b, L), NX_ERR_NOT_FOUND);
    CHECK_EQ(nx_crdt_rga_insert(S("doc"), b, L, S("x"), id3, L), NX_ERR_NOT_FOUND);
    memcpy(raw2, raw1, 40);
    raw2[0] ^= 1;
    id_encode(raw2, b);
    CHECK_EQ(nx_crdt_rga_delete(S("doc"), b, L), NX_ERR_NOT_FOUND);
    CHECK_EQ(nx_crdt_rga_delete(S("nodoc"), id1, L), NX_ERR_NOT_FOUND);
    CHECK_EQ(nx_crdt_rga_insert(S("nodoc"), id1, L, S("x"), id3, L), NX_ERR_NOT_FOUND);
    /* malformed ids: ERR_INTERNAL, nothing inserted or deleted */
    CHECK_EQ(nx_crdt_rga_delete(S("doc"), id1, L - 1), NX_ERR_INTERNAL);
    CHECK_EQ(nx_crdt_rga_insert(S("doc"), id1, L + 1, S("x"), id3, L), NX_ERR_INTERNAL);
    CHECK_EQ(nx_crdt_rga_delete(S("doc"), raw1, 40), NX_ERR_INTERNAL); /* raw bytes */
    CHECK_EQ(nx_crdt_rga_insert(S("doc"), raw1, 40, S("x"), id3, L), NX_ERR_INTERNAL);
    static const char outside[] = "ABYZ0189=-_ ";
    for (size_t i = 0; i < sizeof outside - 1; i++) {
        memcpy(b, id1, L);
        b[(i * 13) % L] = (uint8_t)outside[i]; /* one byte outside a-z 2-7 */
        CHECK_EQ(nx_crdt_rga_delete(S("doc"), b, L), NX_ERR_INTERNAL);
        CHECK_EQ(nx_crdt_rga_insert(S("doc"), b, L, S("x"), id3, L), NX_ERR_INTERNAL);
    }
    for (size_t i = 0; i < L; i++) b[i] = (uint8_t)(id1[i] >= 'a' ? id1[i] - 32 : id1[i]);
    CHECK_EQ(nx_crdt_rga_delete(S("doc"), b, L), NX_ERR_INTERNAL); /* upper case */
    memcpy(raw2, raw1, 40);
    memset(raw2 + 32, 0, 8); /* seq 0: no op has it */
    id_encode(raw2, b);
    CHECK_EQ(nx_crdt_rga_delete(S("doc"), b, L), NX_ERR_INTERNAL);
    CHECK_EQ(nx_crdt_rga_insert(S("doc"), b, L, S("x"), id3, L), NX_ERR_INTERNAL);
    CHECK_EQ(nx_crdt_rga_insert(S("doc"), "", 0, big, NX_MAX_VALUE + 1, id3, L), NX_ERR_INTERNAL);
    n = nx_crdt_rga_values(S("doc"), out, 4096);
    CHECK(LIST_IS(out, n, 3, "first", "reply", "third"));

    /* keys: 1024 bytes ok, 1025 refused, __nx/ reserved — for all 19 */
    memset(big, 'k', NX_MAX_KEY + 1);
    CHECK_EQ(nx_crdt_gcounter_inc(big, NX_MAX_KEY, 1), 0);
    CHECK_EQ(nx_crdt_gcounter_value(big, NX_MAX_KEY, b, 8), 8);
    CHECK_EQ(le64(b), 1);
    for (int r = 0; r < 2; r++) {
        const uint8_t *k = r ? (const uint8_t *)"__nx/c" : big;
        uint32_t kl = r ? 6 : NX_MAX_KEY + 1;
        int32_t want = r ? NX_ERR_RESERVED_KEY : NX_ERR_INTERNAL;
        CHECK_EQ(nx_crdt_gcounter_inc(k, kl, 1), want);
        CHECK_EQ(nx_crdt_gcounter_value(k, kl, b, 8), want);
        CHECK_EQ(nx_crdt_pncounter_inc(k, kl, 1), want);
        CHECK_EQ(nx_crdt_pncounter_dec(k, kl, 1), want);
        CHECK_EQ(nx_crdt_pncounter_value(k, kl, b, 8), want);
        CHECK_EQ(nx_crdt_lww_set(k, kl, S("v")), want);
        CHECK_EQ(nx_crdt_lww_get(k, kl, b, 8), want);
        CHECK_EQ(nx_crdt_lww_map_set(k, kl, S("f"), S("v")), want);
        CHECK_EQ(nx_crdt_lww_map_remove(k, kl, S("f")), want);
        CHECK_EQ(nx_crdt_lww_map_get(k, kl, S("f"), b, 8), want);
        CHECK_EQ(nx_crdt_lww_map_contains(k, kl, S("f")), want);
        CHECK_EQ(nx_crdt_lww_map_entries(k, kl, b, 8), want);
        CHECK_EQ(nx_crdt_orset_add(k, kl, S("e")), want);
        CHECK_EQ(nx_crdt_orset_remove(k, kl, S("e")), want);
        CHECK_EQ(nx_crdt_orset_contains(k, kl, S("e")), want);
        CHECK_EQ(nx_crdt_orset_elements(k, kl, b, 8), want);
        CHECK_EQ(nx_crdt_rga_insert(k, kl, "", 0, S("v"), id3, L), want);
        CHECK_EQ(nx_crdt_rga_delete(k, kl, id1, L), want);
        CHECK_EQ(nx_crdt_rga_values(k, kl, b, 8), want);
    }
    CHECK_EQ(nx_crdt_gcounter_inc(S("__nx"), 1), 0); /* no slash: ordinary */
}

/* env given|none: `weft run --env` is the guest's one environment, for
 * WASI's environ and nx env_get alike (nx_test.sh env). The script runs
 * weft with NX_PROCESS_ONLY=leak and NX_PASSED=fromweft in weft's own
 * environment; "given" adds --env NX_GIVEN=yes --env PLAIN=wasi-only
 * --env NX_PASSED (weft's own value passed along). */
static void case_env(int given)
{
    extern char **environ;
    char buf[64];
    /* never visible without --env, whatever weft's environment holds */
    CHECK_EQ(nx_env_get_str("NX_PROCESS_ONLY", buf, sizeof buf), NX_ERR_NOT_FOUND);
    CHECK(getenv("NX_PROCESS_ONLY") == NULL);
    if (!given) {
        CHECK_EQ(nx_env_get_str("NX_PASSED", buf, sizeof buf), NX_ERR_NOT_FOUND);
        CHECK(environ == NULL || environ[0] == NULL); /* WASI: empty too */
        return;
    }
    CHECK_EQ(nx_env_get_str("NX_GIVEN", buf, sizeof buf), 3);
    CHECK(strcmp(buf, "yes") == 0);
    CHECK(getenv("NX_GIVEN") != NULL && strcmp(getenv("NX_GIVEN"), "yes") == 0);
    CHECK_EQ(nx_env_get_str("NX_PASSED", buf, sizeof buf), 8);
    CHECK(strcmp(buf, "fromweft") == 0);
    CHECK(getenv("NX_PASSED") != NULL && strcmp(getenv("NX_PASSED"), "fromweft") == 0);
    /* nx's own policy still applies on top: only NX_* and NUMAX_* names */
    CHECK(getenv("PLAIN") != NULL && strcmp(getenv("PLAIN"), "wasi-only") == 0);
    CHECK_EQ(nx_env_get_str("PLAIN", buf, sizeof buf), NX_ERR_NOT_FOUND);
    int n = 0;
    for (char **e = environ; e && *e; e++) n++;
    CHECK_EQ(n, 3);
}

/* ---- sdk/nx.h helpers, each from a guest ----------------------------------- */

/* A list output made by hand: count, then parts (u32 len, bytes). */
static int32_t make_list(uint8_t *p, uint32_t count, const char *const *parts, size_t nparts)
{
    uint32_t pos = 4;
    memcpy(p, &count, 4); /* wasm32 is little-endian */
    for (size_t i = 0; i < nparts; i++) {
        uint32_t l = (uint32_t)strlen(parts[i]);
        memcpy(p + pos, &l, 4);
        memcpy(p + pos + 4, parts[i], l);
        pos += 4 + l;
    }
    return (int32_t)pos;
}
#define MAKE_LIST(p, count, ...)                                                      \
    make_list(p, count, (const char *const[]){__VA_ARGS__},                           \
              sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void case_sdk(void)
{
    char s[256], id[NX_CRDT_ID_LEN + 1], id2[NX_CRDT_ID_LEN + 1];
    int32_t len;
    uint8_t *all;
    nx_list_t it;
    const uint8_t *a, *v;
    uint32_t al, vl;

    /* nx_read_all on short results (db_get of "6": 1 byte; an empty
     * value: 0 bytes, still a buffer), and its error codes */
    CHECK_EQ(nx_db_set_str("six", "6"), 0);
    CHECK_EQ(nx_db_exists_str("six"), 1);
    all = nx_read_all_str(nx_db_get, "six", &len);
    CHECK(all != NULL);
    CHECK_EQ(len, 1);
    CHECK(all && all[0] == '6');
    free(all);
    CHECK_EQ(nx_db_set(S("empty"), "", 0), 0);
    all = nx_read_all(nx_db_get, S("empty"), &len);
    CHECK(all != NULL);
    CHECK_EQ(len, 0);
    free(all);
    all = nx_read_all_str(nx_db_get, "missing", &len);
    CHECK(all == NULL);
    CHECK_EQ(len, NX_ERR_NOT_FOUND);
    all = nx_read_all_str(nx_db_get, "__nx/x", &len);
    CHECK(all == NULL);
    CHECK_EQ(len, NX_ERR_RESERVED_KEY);
    CHECK_EQ(nx_db_get_str("six", s, sizeof s), 1);
    CHECK(strcmp(s, "6") == 0);
    CHECK_EQ(nx_db_get_str("six", s, 1), NX_ERR_BUFFER_TOO_SMALL); /* no room for the NUL */
    CHECK_EQ(nx_db_get_str("six", s, 0), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(nx_db_delete_str("six"), 0);
    CHECK_EQ(nx_db_exists_str("six"), 0);
    CHECK_EQ(nx_db_get_str("six", s, sizeof s), NX_ERR_NOT_FOUND);

    /* results between 8 and 10 MiB: nx_read_all tries 10 MiB last; over
     * 10 MiB it gives up with NX_ERR_BUFFER_TOO_SMALL */
    for (uint32_t i = 0; i < NX_MAX_VALUE; i++) big[i] = (uint8_t)('a' + i % 26);
    for (int f = 0; f < 9; f++) {
        char field[4] = {'f', (char)('0' + f), 0};
        CHECK_EQ(nx_crdt_lww_map_set(S("big9"), field, 2, big, NX_MAX_VALUE), 0);
    }
    all = nx_read_all_str(nx_crdt_lww_map_entries, "big9", &len);
    CHECK(all != NULL);
    CHECK_EQ(len, 4 + 9 * (4 + 2 + 4 + (int32_t)NX_MAX_VALUE));
    CHECK(len > 8 * 1024 * 1024 && len <= (int32_t)NX_MAX_OUTPUT);
    if (all) {
        int rows = 0, r;
        CHECK_EQ(nx_list_begin(&it, all, len), 9);
        while ((r = nx_entries_next(&it, &a, &al, &v, &vl)) == 1) {
            CHECK(al == 2 && a[0] == 'f' && a[1] == '0' + rows);
            CHECK(vl == NX_MAX_VALUE && memcmp(v, big, vl) == 0);
            rows++;
        }
        CHECK_EQ(r, 0);
        CHECK_EQ(rows, 9);
        free(all);
    }
    for (int f = 0; f < 11; f++) {
        char field[4] = {'g', (char)('a' + f), 0};
        CHECK_EQ(nx_crdt_lww_map_set(S("big11"), field, 2, big, NX_MAX_VALUE), 0);
    }
    all = nx_read_all_str(nx_crdt_lww_map_entries, "big11", &len);
    CHECK(all == NULL);
    CHECK_EQ(len, NX_ERR_BUFFER_TOO_SMALL);

    /* little-endian readers */
    static const uint8_t le[8] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t le2[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    CHECK(nx_read_u64(le) == 0xfffffffffffffffeull);
    CHECK_EQ(nx_read_i64(le), -2);
    CHECK(nx_read_u64(le2) == 0x0807060504030201ull);
    CHECK_EQ(nx_read_u32(le2), 0x04030201);

    /* counters with C-string keys */
    uint64_t u = 1;
    int64_t i64 = 1;
    CHECK_EQ(nx_crdt_gcounter_value_str("gc", &u), 0);
    CHECK(u == 0);
    CHECK_EQ(nx_crdt_gcounter_inc_str("gc", 0xfffffffffull), 0);
    CHECK_EQ(nx_crdt_gcounter_value_str("gc", &u), 0);
    CHECK(u == 0xfffffffffull);
    CHECK_EQ(nx_crdt_pncounter_inc_str("pc", 5), 0);
    CHECK_EQ(nx_crdt_pncounter_dec_str("pc", 0x100000007ull), 0);
    CHECK_EQ(nx_crdt_pncounter_value_str("pc", &i64), 0);
    CHECK(i64 == 5 - (int64_t)0x100000007ll);
    CHECK_EQ(nx_crdt_pncounter_value_str("gc", &i64), NX_ERR_INTERNAL); /* another type */
    CHECK_EQ(nx_crdt_gcounter_value_str("__nx/gc", &u), NX_ERR_RESERVED_KEY);

    /* register and map as C strings */
    CHECK_EQ(nx_crdt_lww_get_str("reg", s, sizeof s), NX_ERR_NOT_FOUND);
    CHECK_EQ(nx_crdt_lww_set_str("reg", "online"), 0);
    CHECK_EQ(nx_crdt_lww_get_str("reg", s, sizeof s), 6);
    CHECK(strcmp(s, "online") == 0);
    CHECK_EQ(nx_crdt_lww_get_str("reg", s, 6), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(nx_crdt_lww_get_str("reg", s, 7), 6);
    CHECK_EQ(nx_crdt_lww_map_set_str("cfg", "theme", "dark"), 0);
    CHECK_EQ(nx_crdt_lww_map_set_str("cfg", "lang", "en"), 0);
    CHECK_EQ(nx_crdt_lww_map_contains_str("cfg", "theme"), 1);
    CHECK_EQ(nx_crdt_lww_map_get_str("cfg", "theme", s, sizeof s), 4);
    CHECK(strcmp(s, "dark") == 0);
    CHECK_EQ(nx_crdt_lww_map_remove_str("cfg", "theme"), 0);
    CHECK_EQ(nx_crdt_lww_map_contains_str("cfg", "theme"), 0);
    CHECK_EQ(nx_crdt_lww_map_get_str("cfg", "theme", s, sizeof s), NX_ERR_NOT_FOUND);
    all = nx_read_all_str(nx_crdt_lww_map_entries, "cfg", &len);
    CHECK(all != NULL);
    CHECK_EQ(nx_list_begin(&it, all, len), 1);
    CHECK_EQ(nx_entries_next(&it, &a, &al, &v, &vl), 1);
    CHECK(al == 4 && memcmp(a, "lang", 4) == 0 && vl == 2 && memcmp(v, "en", 2) == 0);
    CHECK_EQ(nx_entries_next(&it, &a, &al, &v, &vl), 0);
    CHECK_EQ(nx_entries_next(&it, &a, &al, &v, &vl), 0); /* stays at the end */
    free(all);

    /* set: the elements layout */
    CHECK_EQ(nx_crdt_orset_add_str("tags", "red"), 0);
    CHECK_EQ(nx_crdt_orset_add_str("tags", "blue"), 0);
    CHECK_EQ(nx_crdt_orset_add_str("tags", "green"), 0);
    CHECK_EQ(nx_crdt_orset_remove_str("tags", "green"), 0);
    CHECK_EQ(nx_crdt_orset_contains_str("tags", "red"), 1);
    CHECK_EQ(nx_crdt_orset_contains_str("tags", "green"), 0);
    all = nx_read_all_str(nx_crdt_orset_elements, "tags", &len);
    CHECK(all != NULL);
    CHECK_EQ(nx_list_begin(&it, all, len), 2);
    CHECK_EQ(nx_list_next(&it, &a, &al), 1);
    CHECK(al == 4 && memcmp(a, "blue", 4) == 0);
    CHECK_EQ(nx_list_next(&it, &a, &al), 1);
    CHECK(al == 3 && memcmp(a, "red", 3) == 0);
    CHECK_EQ(nx_list_next(&it, &a, &al), 0);
    free(all);

    /* sequence: ids as C strings, the values layout */
    CHECK_EQ(nx_crdt_rga_insert_str("seq", NULL, "one", id), (int32_t)NX_CRDT_ID_LEN);
    CHECK_EQ(strlen(id), NX_CRDT_ID_LEN);
    CHECK_EQ(nx_crdt_rga_insert_str("seq", id, "two", id2), (int32_t)NX_CRDT_ID_LEN);
    CHECK_EQ(nx_crdt_rga_insert_str("seq", "", "zero", s), (int32_t)NX_CRDT_ID_LEN); /* head */
    CHECK_EQ(nx_crdt_rga_insert_str("seq", "nope", "x", s), NX_ERR_INTERNAL);
    CHECK_EQ(s[0], '\0'); /* no id: an empty string */
    CHECK_EQ(nx_crdt_rga_delete_str("seq", id), 0);
    CHECK_EQ(nx_crdt_rga_delete_str("seq", "nope"), NX_ERR_INTERNAL);
    all = nx_read_all_str(nx_crdt_rga_values, "seq", &len);
    CHECK(all != NULL);
    CHECK_EQ(nx_list_begin(&it, all, len), 2);
    CHECK_EQ(nx_list_next(&it, &a, &al), 1);
    CHECK(al == 4 && memcmp(a, "zero", 4) == 0);
    CHECK_EQ(nx_list_next(&it, &a, &al), 1);
    CHECK(al == 3 && memcmp(a, "two", 3) == 0);
    CHECK_EQ(nx_list_next(&it, &a, &al), 0);
    free(all);
    all = nx_read_all_str(nx_crdt_rga_values, "empty-seq", &len);
    CHECK_EQ(len, 4);
    CHECK_EQ(nx_list_begin(&it, all, len), 0);
    CHECK_EQ(nx_list_next(&it, &a, &al), 0);
    free(all);

    /* the walkers on malformed lists: never past the end, always an error */
    uint8_t m[64];
    CHECK_EQ(nx_list_begin(&it, m, NX_ERR_BUFFER_TOO_SMALL), NX_ERR_INTERNAL);
    CHECK_EQ(nx_list_next(&it, &a, &al), NX_ERR_INTERNAL);
    CHECK_EQ(nx_list_begin(&it, m, 3), NX_ERR_INTERNAL);
    len = MAKE_LIST(m, 2, "only one");
    CHECK_EQ(nx_list_begin(&it, m, len), 2);
    CHECK_EQ(nx_list_next(&it, &a, &al), 1);
    CHECK_EQ(nx_list_next(&it, &a, &al), NX_ERR_INTERNAL); /* count says 2 */
    len = MAKE_LIST(m, 1, "one", "extra");
    CHECK_EQ(nx_list_begin(&it, m, len), 1);
    CHECK_EQ(nx_list_next(&it, &a, &al), 1);
    CHECK_EQ(nx_list_next(&it, &a, &al), NX_ERR_INTERNAL); /* bytes left over */
    len = MAKE_LIST(m, 1, "abcdef");
    CHECK_EQ(nx_list_begin(&it, m, len - 1), 1); /* the item runs past the end */
    CHECK_EQ(nx_list_next(&it, &a, &al), NX_ERR_INTERNAL);
    m[4] = 0xff, m[5] = 0xff, m[6] = 0xff, m[7] = 0xff; /* a length of 4 GiB - 1 */
    CHECK_EQ(nx_list_begin(&it, m, len), 1);
    CHECK_EQ(nx_list_next(&it, &a, &al), NX_ERR_INTERNAL);
    len = MAKE_LIST(m, 1, "field"); /* an entry without its value */
    CHECK_EQ(nx_list_begin(&it, m, len), 1);
    CHECK_EQ(nx_entries_next(&it, &a, &al, &v, &vl), NX_ERR_INTERNAL);
    len = MAKE_LIST(m, 1, "field", "value", "x");
    CHECK_EQ(nx_list_begin(&it, m, len), 1);
    CHECK_EQ(nx_entries_next(&it, &a, &al, &v, &vl), 1);
    CHECK(al == 5 && vl == 5 && memcmp(v, "value", 5) == 0);
    CHECK_EQ(nx_entries_next(&it, &a, &al, &v, &vl), NX_ERR_INTERNAL);

    /* a db_keys page has the items layout too; net_peers is a page */
    CHECK_EQ(nx_db_set_str("k:1", "a"), 0);
    CHECK_EQ(nx_db_set_str("k:2", "b"), 0);
    len = nx_db_keys(S("k:"), 0, 10, out, 4096);
    CHECK_EQ(nx_list_begin(&it, out, len), 2);
    CHECK_EQ(nx_list_next(&it, &a, &al), 1);
    CHECK(al == 3 && memcmp(a, "k:1", 3) == 0);
    CHECK_EQ(nx_list_next(&it, &a, &al), 1);
    CHECK_EQ(nx_list_next(&it, &a, &al), 0);
    len = nx_net_peers(out, 4096);
    CHECK_EQ(len, 4);
    uint32_t pos = 4;
    CHECK_EQ(nx_page_next(out, (uint32_t)len, 1, &pos, &a, &al, &v, &vl), 0);
    CHECK_EQ(nx_page_next(out, 2, 1, &pos, &a, &al, &v, &vl), 0); /* pos past the page */

    /* env, node id and events as C strings */
    CHECK_EQ(nx_env_get_str("NX_SDK", s, sizeof s), 2);
    CHECK(strcmp(s, "ok") == 0);
    CHECK_EQ(nx_env_get_str("NX_SDK", s, 2), NX_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(nx_env_get_str("NX_NONE", s, sizeof s), NX_ERR_NOT_FOUND);
    CHECK_EQ(nx_net_node_id_str(id), (int32_t)NX_NODE_ID_LEN);
    CHECK_EQ(strlen(id), NX_NODE_ID_LEN);
    CHECK_EQ(nx_emit_str("sdk.done", "yes"), 0);
}

/* --no-sync: every CRDT function answers ERR_SYNC_DISABLED. */
static void case_crdt_off(void)
{
    uint8_t b[64], id[NX_CRDT_ID_LEN];
    memset(id, 'a', sizeof id);
    const int32_t off = NX_ERR_SYNC_DISABLED;
    CHECK_EQ(nx_crdt_gcounter_inc(S("k"), 1), off);
    CHECK_EQ(nx_crdt_gcounter_value(S("k"), b, 8), off);
    CHECK_EQ(nx_crdt_pncounter_inc(S("k"), 1), off);
    CHECK_EQ(nx_crdt_pncounter_dec(S("k"), 1), off);
    CHECK_EQ(nx_crdt_pncounter_value(S("k"), b, 8), off);
    CHECK_EQ(nx_crdt_lww_set(S("k"), S("v")), off);
    CHECK_EQ(nx_crdt_lww_get(S("k"), b, 8), off);
    CHECK_EQ(nx_crdt_lww_map_set(S("k"), S("f"), S("v")), off);
    CHECK_EQ(nx_crdt_lww_map_remove(S("k"), S("f")), off);
    CHECK_EQ(nx_crdt_lww_map_get(S("k"), S("f"), b, 8), off);
    CHECK_EQ(nx_crdt_lww_map_contains(S("k"), S("f")), off);
    CHECK_EQ(nx_crdt_lww_map_entries(S("k"), b, 8), off);
    CHECK_EQ(nx_crdt_orset_add(S("k"), S("e")), off);
    CHECK_EQ(nx_crdt_orset_remove(S("k"), S("e")), off);
    CHECK_EQ(nx_crdt_orset_contains(S("k"), S("e")), off);
    CHECK_EQ(nx_crdt_orset_elements(S("k"), b, 8), off);
    CHECK_EQ(nx_crdt_rga_insert(S("k"), "", 0, S("v"), b, sizeof b), off);
    CHECK_EQ(nx_crdt_rga_delete(S("k"), id, sizeof id), off);
    CHECK_EQ(nx_crdt_rga_values(S("k"), b, 8), off);
    /* even on a reserved key: sync is checked first */
    CHECK_EQ(nx_crdt_gcounter_inc(S("__nx/k"), 1), off);
}

int main(int argc, char **argv)
{
    const char *c = argc > 1 ? argv[1] : "";
    char buf[64];
    if (strcmp(c, "db") == 0) {
        case_db();
    } else if (strcmp(c, "pages") == 0) {
        case_pages();
    } else if (strcmp(c, "pages_churn") == 0) {
        case_pages_churn();
    } else if (strcmp(c, "misc") == 0) {
        case_misc();
    } else if (strcmp(c, "net") == 0 && argc == 3) { /* net on|off */
        case_net(strcmp(argv[2], "on") == 0);
    } else if (strcmp(c, "crdt") == 0) {
        case_crdt();
    } else if (strcmp(c, "env") == 0 && argc == 3) { /* env given|none */
        case_env(strcmp(argv[2], "given") == 0);
    } else if (strcmp(c, "sdk") == 0) {
        case_sdk();
    } else if (strcmp(c, "crdt_off") == 0) {
        case_crdt_off();
    } else if (strcmp(c, "ginc") == 0 && argc == 3) { /* ginc KEY: +1, prints the value */
        uint8_t v[8];
        CHECK_EQ(nx_crdt_gcounter_inc(argv[2], (uint32_t)strlen(argv[2]), 1), 0);
        CHECK_EQ(nx_crdt_gcounter_value(argv[2], (uint32_t)strlen(argv[2]), v, 8), 8);
        printf("%llu\n", (unsigned long long)le64(v));
    } else if (strcmp(c, "ginc_trap") == 0 && argc == 3) { /* +1, then traps */
        CHECK_EQ(nx_crdt_gcounter_inc(argv[2], (uint32_t)strlen(argv[2]), 1), 0);
        CHECK_EQ(nx_crdt_lww_set(S("reg"), S("doomed")), 0);
        __builtin_trap();
    } else if (strcmp(c, "bad_crdt_ptr") == 0) {
        nx_crdt_rga_values(S("k"), (void *)(uintptr_t)(MEM_END - 3), 4);
    } else if (strcmp(c, "put") == 0 && argc == 4) { /* put KEY VALUE */
        CHECK_EQ(nx_db_set(argv[2], (uint32_t)strlen(argv[2]), argv[3], (uint32_t)strlen(argv[3])), 0);
    } else if (strcmp(c, "get") == 0 && argc == 3) { /* prints the value or "(none)" */
        int32_t n = nx_db_get(argv[2], (uint32_t)strlen(argv[2]), buf, sizeof buf);
        if (n >= 0)
            printf("%.*s\n", (int)n, buf);
        else
            printf("(none %d)\n", n);
    } else if (strcmp(c, "fill") == 0 && argc == 3) { /* fill MiB: one value per MiB */
        int mib = atoi(argv[2]);
        nx_log("fill starts");
        for (int i = 0; i < mib; i++) {
            char key[16];
            int kl = snprintf(key, sizeof key, "fill%04d", i);
            memset(big, i, NX_MAX_VALUE);
            CHECK_EQ(nx_db_set(key, (uint32_t)kl, big, NX_MAX_VALUE), 0);
        }
    } else if (strcmp(c, "put_trap") == 0) {
        CHECK_EQ(nx_db_set(S("doomed"), S("1")), 0);
        __builtin_trap();
    } else if (strcmp(c, "put_abort") == 0) {
        CHECK_EQ(nx_db_set(S("doomed"), S("1")), 0);
        nx_abort_str("boom: giving up");
    } else if (strcmp(c, "put_exit") == 0 && argc == 3) {
        CHECK_EQ(nx_db_set(S("exited"), argv[2], (uint32_t)strlen(argv[2])), 0);
        exit(atoi(argv[2]));
    } else if (strcmp(c, "events") == 0) {
        CHECK_EQ(nx_emit_str("note.added", "hello \"world\""), 0);
        static const uint8_t bin[] = {0xff, 0x00, 0x01};
        CHECK_EQ(nx_event_emit(S("bin"), bin, 3), 0);
        nx_log("emitted two events");
    } else if (strcmp(c, "events_trap") == 0) {
        CHECK_EQ(nx_emit_str("never", "seen"), 0);
        nx_log("about to trap");
        __builtin_trap();
    } else if (strcmp(c, "bad_key_ptr") == 0) {
        nx_db_set((void *)(uintptr_t)(MEM_END - 3), 4, "v", 1);
    } else if (strcmp(c, "bad_out_ptr") == 0) {
        nx_db_get(S("k"), (void *)(uintptr_t)(MEM_END - 3), 4);
    } else if (strcmp(c, "bad_scan_ptr") == 0) {
        nx_db_keys_after(S(""), (void *)(uintptr_t)MEM_END, 1, 10, out, 100);
    } else if (strcmp(c, "bad_log_ptr") == 0) {
        nx_host_log((void *)(uintptr_t)0xfffffff0u, 32);
    } else {
        fprintf(stderr, "nx_abi: unknown case '%s'\n", c);
        return 2;
    }
    return check_failures ? 1 : 0;
}
