/*
 * test_bsatn.c — the BSATN codec (weft/bsatn.h): every tag of the
 * Cosmictron document's table encoded, checked, printed back (JSON is the
 * decoder's view of a value) and cut short at every length; the
 * order-preserving keys against the values' own order; malformed types
 * and values refused.
 */
#include <stdlib.h>
#include <string.h>

#include "../unit/test.h"
#include "bufs.h"
#include "weft/bsatn.h"
#include "weft/error.h"


/* the JSON text of value v of type t, checked to use every byte */
static const char *json(const buf_t *t, const buf_t *v)
{
    buf_t *out = buf();
    size_t used = 0;
    ASSERT_EQ_INT(weft_bsatn_json(t->p, t->len, v->p, v->len, out, &used), 0);
    ASSERT_EQ_U64(used, v->len);
    weft_bsatn_put_u8(out, 0);
    return (const char *)out->p;
}

/* every proper prefix of a value is malformed, never read past */
static void check_truncations(const buf_t *t, const buf_t *v)
{
    for (size_t n = 0; n < v->len; n++) {
        uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees an over-read */
        ASSERT_NOT_NULL(copy);
        memcpy(copy, v->p, n);
        size_t used = 0;
        int rc = weft_bsatn_check(t->p, t->len, copy, n, &used);
        free(copy);
        if (rc != WEFT_EMALFORMED) FAIL("prefix of %zu bytes of %zu: rc %d", n, v->len, rc);
    }
}

static void field(buf_t *t, const char *name, const uint8_t *type, size_t len)
{
    weft_bsatn_put_str(t, name);
    weft_bsatn_put_raw(t, type, len);
}

TEST(bsatn_every_integer_tag)
{
    static const struct {
        uint8_t tag;
        uint64_t bits;
        int width;
        const char *text;
    } cases[] = {
        {WEFT_BSATN_U8, 200, 1, "200"},
        {WEFT_BSATN_U16, 65535, 2, "65535"},
        {WEFT_BSATN_U32, 4000000000u, 4, "4000000000"},
        {WEFT_BSATN_U64, UINT64_MAX, 8, "18446744073709551615"},
        {WEFT_BSATN_I8, 0x80, 1, "-128"},
        {WEFT_BSATN_I16, 0xFFFF, 2, "-1"},
        {WEFT_BSATN_I32, 0x7FFFFFFF, 4, "2147483647"},
        {WEFT_BSATN_I64, 0x8000000000000000ull, 8, "-9223372036854775808"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_t *t = buf(), *v = buf();
        weft_bsatn_put_u8(t, cases[i].tag);
        for (int k = 0; k < cases[i].width; k++) weft_bsatn_put_u8(v, (uint8_t)(cases[i].bits >> (8 * k)));
        ASSERT_EQ_STR(json(t, v), cases[i].text);
        check_truncations(t, v);
        /* little-endian: the first byte is the low one */
        ASSERT_EQ_INT(v->p[0], cases[i].bits & 0xFF);
    }
}

TEST(bsatn_bool_string_bytes)
{
    buf_t *t = buf(), *v = buf();
    weft_bsatn_put_u8(t, WEFT_BSATN_BOOL);
    weft_bsatn_put_u8(v, 1);
    ASSERT_EQ_STR(json(t, v), "true");
    v->p[0] = 2;
    ASSERT_EQ_INT(weft_bsatn_check(t->p, t->len, v->p, v->len, NULL), WEFT_EMALFORMED);

    t = buf(), v = buf();
    weft_bsatn_put_u8(t, WEFT_BSATN_STRING);
    weft_bsatn_put_str(v, "h\xc3\xa9\"llo\n");
    ASSERT_EQ_U64(v->len, 4 + 8);
    ASSERT_EQ_INT(v->p[0], 8); /* 4-byte length prefix, little-endian */
    ASSERT_EQ_STR(json(t, v), "\"h\xc3\xa9\\\"llo\\u000a\"");
    check_truncations(t, v);
    /* not UTF-8: an overlong '/', a lone continuation, a surrogate */
    static const char *const bad[] = {"\xc0\xaf", "\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80"};
    for (size_t i = 0; i < 4; i++) {
        buf_t *b = buf();
        weft_bsatn_put_str(b, bad[i]);
        ASSERT_EQ_INT(weft_bsatn_check(t->p, t->len, b->p, b->len, NULL), WEFT_EMALFORMED);
    }

    t = buf(), v = buf();
    weft_bsatn_put_u8(t, WEFT_BSATN_BYTES);
    weft_bsatn_put_bytes(v, "\x00\xff\x10", 3);
    ASSERT_EQ_STR(json(t, v), "\"00ff10\"");
    check_truncations(t, v);
}

/* Option<Option<Vec<Struct{a: i32, b: Option<String>}>>>, every shape */
TEST(bsatn_nested_option_vec_struct)
{
    buf_t *st = buf(), *t = buf();
    static const uint8_t i32t[] = {WEFT_BSATN_I32}, optstr[] = {WEFT_BSATN_OPTION, WEFT_BSATN_STRING};
    weft_bsatn_put_u8(st, WEFT_BSATN_STRUCT);
    weft_bsatn_put_u32(st, 2);
    field(st, "a", i32t, 1);
    field(st, "b", optstr, 2);
    weft_bsatn_put_u8(t, WEFT_BSATN_OPTION);
    weft_bsatn_put_u8(t, WEFT_BSATN_OPTION);
    weft_bsatn_put_u8(t, WEFT_BSATN_VEC);
    weft_bsatn_put_raw(t, st->p, st->len);
    size_t used;
    ASSERT_EQ_INT(weft_bsatn_type_check(t->p, t->len, &used), 0);
    ASSERT_EQ_U64(used, t->len);
    buf_t *name = buf();
    ASSERT_EQ_INT(weft_bsatn_type_name(t->p, t->len, name), 0);
    weft_bsatn_put_u8(name, 0);
    ASSERT_EQ_STR((char *)name->p, "Option<Option<Vec<{a: i32, b: Option<String>}>>>");

    buf_t *v = buf();
    weft_bsatn_put_u8(v, 0);
    ASSERT_EQ_STR(json(t, v), "null");
    v = buf();
    weft_bsatn_put_u8(v, 1);
    weft_bsatn_put_u8(v, 0);
    ASSERT_EQ_STR(json(t, v), "null");
    v = buf();
    weft_bsatn_put_u8(v, 1);
    weft_bsatn_put_u8(v, 1);
    weft_bsatn_put_u32(v, 0);
    ASSERT_EQ_STR(json(t, v), "[]");
    v = buf();
    weft_bsatn_put_u8(v, 1);
    weft_bsatn_put_u8(v, 1);
    weft_bsatn_put_u32(v, 2);
    weft_bsatn_put_u32(v, (uint32_t)-7);
    weft_bsatn_put_u8(v, 1);
    weft_bsatn_put_str(v, "x");
    weft_bsatn_put_u32(v, 9);
    weft_bsatn_put_u8(v, 0);
    ASSERT_EQ_STR(json(t, v), "[{\"a\":-7,\"b\":\"x\"},{\"a\":9,\"b\":null}]");
    check_truncations(t, v);
    /* an Option tag other than 0 or 1 */
    v->p[0] = 2;
    ASSERT_EQ_INT(weft_bsatn_check(t->p, t->len, v->p, v->len, NULL), WEFT_EMALFORMED);
    /* trailing bytes are the caller's: used says where the value ends */
    v->p[0] = 1;
    weft_bsatn_put_u8(v, 0xEE);
    ASSERT_EQ_INT(weft_bsatn_check(t->p, t->len, v->p, v->len, &used), 0);
    ASSERT_EQ_U64(used, v->len - 1);
}

TEST(bsatn_vec_count_beyond_the_bytes_is_refused_at_once)
{
    buf_t *t = buf(), *v = buf();
    weft_bsatn_put_u8(t, WEFT_BSATN_VEC);
    weft_bsatn_put_u8(t, WEFT_BSATN_U8);
    weft_bsatn_put_u32(v, 0xFFFFFFFFu);
    weft_bsatn_put_u8(v, 1);
    ASSERT_EQ_INT(weft_bsatn_check(t->p, t->len, v->p, v->len, NULL), WEFT_EMALFORMED);
}

TEST(bsatn_bad_types)
{
    /* unknown tag, empty struct, struct with a bad name, too deep */
    static const uint8_t unknown[] = {0x04}, empty[] = {0x40, 0, 0, 0, 0},
                         badname[] = {0x40, 1, 0, 0, 0, 1, 0, 0, 0, 0xff, 0x00};
    ASSERT_EQ_INT(weft_bsatn_type_check(unknown, 1, NULL), WEFT_EARG);
    ASSERT_EQ_INT(weft_bsatn_type_check(empty, sizeof empty, NULL), WEFT_EARG);
    ASSERT_EQ_INT(weft_bsatn_type_check(badname, sizeof badname, NULL), WEFT_EARG);
    ASSERT_EQ_INT(weft_bsatn_type_check(NULL, 0, NULL), WEFT_EARG);
    uint8_t deep[WEFT_BSATN_MAX_DEPTH + 1];
    memset(deep, WEFT_BSATN_OPTION, sizeof deep);
    deep[WEFT_BSATN_MAX_DEPTH - 1] = WEFT_BSATN_U8;
    ASSERT_EQ_INT(weft_bsatn_type_check(deep, WEFT_BSATN_MAX_DEPTH, NULL), 0);
    deep[WEFT_BSATN_MAX_DEPTH - 1] = WEFT_BSATN_OPTION;
    deep[WEFT_BSATN_MAX_DEPTH] = WEFT_BSATN_U8;
    ASSERT_EQ_INT(weft_bsatn_type_check(deep, sizeof deep, NULL), WEFT_EARG);
}

/* key(a) < key(b) exactly when a < b, for each value type's order */
static int key_cmp(const uint8_t *t, size_t tl, const buf_t *a, const buf_t *b)
{
    static buf_t keys[2]; /* reused, reachable until exit */
    buf_t *ka = &keys[0], *kb = &keys[1];
    ka->len = kb->len = 0;
    ASSERT_EQ_INT(weft_bsatn_key(t, tl, a->p, a->len, ka, NULL), 0);
    ASSERT_EQ_INT(weft_bsatn_key(t, tl, b->p, b->len, kb, NULL), 0);
    size_t n = ka->len < kb->len ? ka->len : kb->len;
    int c = memcmp(ka->p, kb->p, n);
    if (c == 0) c = ka->len < kb->len ? -1 : ka->len > kb->len;
    return c < 0 ? -1 : c > 0;
}

/* an empty buffer of a pool the loops reuse (`i` names it), reachable
 * until exit */
static buf_t *pooled(int i)
{
    static buf_t pool[8];
    pool[i].len = 0;
    return &pool[i];
}

TEST(bsatn_keys_order_signed_integers)
{
    static const int64_t vals[] = {INT64_MIN, -300, -1, 0, 1, 255, 256, INT64_MAX};
    static const uint8_t tags[] = {WEFT_BSATN_I64, WEFT_BSATN_I32, WEFT_BSATN_I16};
    for (size_t g = 0; g < 3; g++) {
        int w = 1 << (tags[g] & 3);
        for (size_t i = 0; i < 8; i++)
            for (size_t j = 0; j < 8; j++) {
                int64_t a = vals[i], b = vals[j];
                if (w < 8) { /* in range for the width */
                    int64_t lim = (int64_t)1 << (8 * w - 1);
                    if (a < -lim || a >= lim || b < -lim || b >= lim) continue;
                }
                buf_t *va = pooled(0), *vb = pooled(1);
                for (int k = 0; k < w; k++) {
                    weft_bsatn_put_u8(va, (uint8_t)((uint64_t)a >> (8 * k)));
                    weft_bsatn_put_u8(vb, (uint8_t)((uint64_t)b >> (8 * k)));
                }
                ASSERT_EQ_INT(key_cmp(&tags[g], 1, va, vb), (a > b) - (a < b));
            }
    }
}

TEST(bsatn_keys_order_strings_options_vecs)
{
    static const char *const s[] = {"", "\x00", "\x00\x01", "a", "a\x00", "ab", "b", "\xc3\xa9"};
    static const size_t sl[] = {0, 1, 2, 1, 2, 2, 1, 2};
    static const uint8_t str[] = {WEFT_BSATN_STRING}, bytes[] = {WEFT_BSATN_BYTES},
                         opt[] = {WEFT_BSATN_OPTION, WEFT_BSATN_BYTES},
                         vec[] = {WEFT_BSATN_VEC, WEFT_BSATN_BYTES};
    for (size_t i = 0; i < 8; i++)
        for (size_t j = 0; j < 8; j++) {
            size_t n = sl[i] < sl[j] ? sl[i] : sl[j];
            int want = memcmp(s[i], s[j], n);
            want = want ? (want > 0) - (want < 0) : (sl[i] > sl[j]) - (sl[i] < sl[j]);
            buf_t *a = pooled(0), *b = pooled(1);
            weft_bsatn_put_bytes(a, s[i], sl[i]);
            weft_bsatn_put_bytes(b, s[j], sl[j]);
            ASSERT_EQ_INT(key_cmp(bytes, 1, a, b), want);
            ASSERT_EQ_INT(key_cmp(str, 1, a, b), want); /* NUL is UTF-8 too */
            /* Some(x) orders as x, after None */
            buf_t *oa = pooled(2), *ob = pooled(3), *none = pooled(4);
            weft_bsatn_put_u8(oa, 1);
            weft_bsatn_put_raw(oa, a->p, a->len);
            weft_bsatn_put_u8(ob, 1);
            weft_bsatn_put_raw(ob, b->p, b->len);
            weft_bsatn_put_u8(none, 0);
            ASSERT_EQ_INT(key_cmp(opt, 2, oa, ob), want);
            ASSERT_EQ_INT(key_cmp(opt, 2, none, oa), -1);
            /* [x] vs [y] as x vs y; [] first; [x] before [x, y] */
            buf_t *va = pooled(5), *vb = pooled(6), *vab = pooled(7);
            weft_bsatn_put_u32(va, 1);
            weft_bsatn_put_raw(va, a->p, a->len);
            weft_bsatn_put_u32(vb, 1);
            weft_bsatn_put_raw(vb, b->p, b->len);
            weft_bsatn_put_u32(vab, 2);
            weft_bsatn_put_raw(vab, a->p, a->len);
            weft_bsatn_put_raw(vab, b->p, b->len);
            ASSERT_EQ_INT(key_cmp(vec, 2, va, vb), want);
            ASSERT_EQ_INT(key_cmp(vec, 2, va, vab), -1);
        }
}

TEST(bsatn_reader_is_sticky)
{
    static const uint8_t p[] = {1, 2, 3};
    weft_bsatn_reader_t r;
    weft_bsatn_reader_init(&r, p, sizeof p);
    ASSERT_EQ_INT(weft_bsatn_get_u16(&r), 0x0201);
    ASSERT_EQ_INT(weft_bsatn_get_u16(&r), 0);
    ASSERT_EQ_INT(r.err, WEFT_EMALFORMED);
    ASSERT_EQ_INT(weft_bsatn_get_u8(&r), 0); /* the byte left is not read after an error */
}
