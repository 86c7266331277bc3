/*
 * test_decode.c — malformed binaries are rejected with a useful message.
 *
 * Each case is a hand-built byte array (header + sections written out byte
 * by byte, with the meaning in a comment), so the test does not depend on a
 * tool being able to produce broken modules. Every error must come back as
 * WEFT_EMALFORMED with a message naming the section and the byte offset;
 * random and mutated inputs must never crash the decoder.
 */
#include <stdlib.h>

#include "harness.h"

/* "\0asm", version 1 */
#define HDR 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00
/* type section: one type, () -> () */
#define TYPE_VOID 0x01, 0x04, 0x01, 0x60, 0x00, 0x00
/* function section: one function of type 0 */
#define FUNC_ONE 0x03, 0x02, 0x01, 0x00

/* Loads bytes, expects `want` and a message holding each non-NULL needle. */
static void expect_error_at(const char *file, int line, weft_engine_t *e, const uint8_t *b,
                            size_t len, int want, const char *needle1, const char *needle2)
{
    char msg[512];
    int rc = h_load_bytes(e, b, len, msg, sizeof msg);
    if (rc != want)
        test_fail(file, line, "got %s (%d) \"%s\", want %s", weft_errname(rc), rc, msg,
                  weft_errname(want));
    if (msg[0] == '\0')
        test_fail(file, line, "%s with an empty message", weft_errname(rc));
    if (needle1 && strstr(msg, needle1) == NULL)
        test_fail(file, line, "message \"%s\" lacks \"%s\"", msg, needle1);
    if (needle2 && strstr(msg, needle2) == NULL)
        test_fail(file, line, "message \"%s\" lacks \"%s\"", msg, needle2);
}

/* EXPECT_MALFORMED(engine, needle, needle, bytes...) */
#define EXPECT_MALFORMED(e, n1, n2, ...)                                               \
    do {                                                                               \
        static const uint8_t b_[] = {__VA_ARGS__};                                     \
        expect_error_at(__FILE__, __LINE__, e, b_, sizeof b_, WEFT_EMALFORMED, n1, n2); \
    } while (0)

TEST(decode_empty_input)
{
    weft_engine_t *e = h_engine();
    static const uint8_t none[1] = {0};
    expect_error_at(__FILE__, __LINE__, e, none, 0, WEFT_EMALFORMED, NULL, NULL);
}

TEST(decode_one_byte)
{
    weft_engine_t *e = h_engine();
    EXPECT_MALFORMED(e, NULL, NULL, 0x00);
}

TEST(decode_truncated_header)
{
    weft_engine_t *e = h_engine();
    EXPECT_MALFORMED(e, NULL, NULL, 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00);
    EXPECT_MALFORMED(e, NULL, NULL, 0x00, 0x61, 0x73, 0x6d);
}

TEST(decode_bad_magic)
{
    weft_engine_t *e = h_engine();
    EXPECT_MALFORMED(e, "magic", NULL, 0x00, 0x61, 0x73, 0x6e, 0x01, 0x00, 0x00, 0x00);
    EXPECT_MALFORMED(e, "magic", NULL, 'w', 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00);
}

TEST(decode_bad_version)
{
    weft_engine_t *e = h_engine();
    EXPECT_MALFORMED(e, "version", NULL, 0x00, 0x61, 0x73, 0x6d, 0x02, 0x00, 0x00, 0x00);
    /* a component-model binary: version 0x0d, layer 1 */
    EXPECT_MALFORMED(e, "version", NULL, 0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00);
}

TEST(decode_header_only_is_valid)
{
    weft_engine_t *e = h_engine();
    static const uint8_t b[] = {HDR};
    weft_module_t *m = NULL;
    char msg[256] = "";
    ASSERT_OK(weft_module_new(e, b, sizeof b, &m, msg, sizeof msg));
    ASSERT_NOT_NULL(m);
    ASSERT_EQ_U64(weft_module_import_count(m), 0);
    ASSERT_EQ_U64(weft_module_export_count(m), 0);
    ASSERT_EQ_U64(weft_module_custom_count(m), 0);
    weft_module_delete(m);
}

TEST(decode_truncated_section)
{
    weft_engine_t *e = h_engine();
    /* type section says 5 bytes, only 2 follow */
    EXPECT_MALFORMED(e, "type section", "offset", HDR, 0x01, 0x05, 0x01, 0x60);
    /* the section id with no size at all */
    EXPECT_MALFORMED(e, "offset", NULL, HDR, 0x01);
}

TEST(decode_section_size_larger_than_content)
{
    weft_engine_t *e = h_engine();
    /* type section of 5 bytes whose one type () -> () ends after 4 */
    EXPECT_MALFORMED(e, "type section", "offset", HDR, 0x01, 0x05, 0x01, 0x60, 0x00, 0x00,
                     0x00);
}

TEST(decode_section_size_smaller_than_content)
{
    weft_engine_t *e = h_engine();
    /* type section of 3 bytes; the type's result count lies past its end */
    EXPECT_MALFORMED(e, "type section", "offset", HDR, 0x01, 0x03, 0x01, 0x60, 0x00, 0x00);
}

TEST(decode_leb128_too_long)
{
    weft_engine_t *e = h_engine();
    /* type count 0 written in 6 bytes: a u32 takes at most 5 */
    EXPECT_MALFORMED(e, "type section", "offset", HDR, 0x01, 0x06, 0x80, 0x80, 0x80, 0x80,
                     0x80, 0x00);
    /* a section size written in 6 bytes */
    EXPECT_MALFORMED(e, "offset", NULL, HDR, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
}

TEST(decode_leb128_too_large)
{
    weft_engine_t *e = h_engine();
    /* a 5-byte u32 whose last byte sets bits above bit 31 */
    EXPECT_MALFORMED(e, "type section", "offset", HDR, 0x01, 0x05, 0xff, 0xff, 0xff, 0xff,
                     0x7f);
    /* i32.const with an s32 whose last byte has inconsistent sign bits */
    EXPECT_MALFORMED(e, "code section", "offset", HDR, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01,
                     0x7f, FUNC_ONE, 0x0a, 0x0a, 0x01, 0x08, 0x00, 0x41, 0x80, 0x80, 0x80,
                     0x80, 0x70, 0x0b);
}

TEST(decode_bad_section_id)
{
    weft_engine_t *e = h_engine();
    EXPECT_MALFORMED(e, "offset", NULL, HDR, 0x1f, 0x00);
    EXPECT_MALFORMED(e, "offset", NULL, HDR, TYPE_VOID, 0x7f, 0x01, 0x00);
}

TEST(decode_out_of_order_sections)
{
    weft_engine_t *e = h_engine();
    /* function section (3) before type section (1) */
    EXPECT_MALFORMED(e, "section", "offset", HDR, 0x03, 0x01, 0x00, 0x01, 0x01, 0x00);
    /* data section (11) before code section (10) */
    EXPECT_MALFORMED(e, "section", "offset", HDR, 0x0b, 0x01, 0x00, 0x0a, 0x01, 0x00);
}

TEST(decode_duplicate_section)
{
    weft_engine_t *e = h_engine();
    EXPECT_MALFORMED(e, "section", "offset", HDR, 0x01, 0x01, 0x00, 0x01, 0x01, 0x00);
}

TEST(decode_function_without_code)
{
    weft_engine_t *e = h_engine();
    /* one function declared, no code section */
    EXPECT_MALFORMED(e, "offset", NULL, HDR, TYPE_VOID, FUNC_ONE);
    /* one function declared, code section with two bodies */
    EXPECT_MALFORMED(e, "offset", NULL, HDR, TYPE_VOID, FUNC_ONE, 0x0a, 0x07, 0x02, 0x02,
                     0x00, 0x0b, 0x02, 0x00, 0x0b);
}

TEST(decode_body_missing_end)
{
    weft_engine_t *e = h_engine();
    /* body: no locals, i32.const 0, and no `end` */
    EXPECT_MALFORMED(e, "code section", "offset", HDR, TYPE_VOID, FUNC_ONE, 0x0a, 0x05, 0x01,
                     0x03, 0x00, 0x41, 0x00);
}

TEST(decode_body_larger_than_section)
{
    weft_engine_t *e = h_engine();
    /* body size 5, but the code section ends 2 bytes later */
    EXPECT_MALFORMED(e, "code section", "offset", HDR, TYPE_VOID, FUNC_ONE, 0x0a, 0x04, 0x01,
                     0x05, 0x00, 0x0b);
}

TEST(decode_bad_value_type)
{
    weft_engine_t *e = h_engine();
    /* param of type 0x55 */
    EXPECT_MALFORMED(e, "type section", "offset", HDR, 0x01, 0x05, 0x01, 0x60, 0x01, 0x55,
                     0x00);
    /* a type that is not a function type (0x61 instead of 0x60) */
    EXPECT_MALFORMED(e, "type section", "offset", HDR, 0x01, 0x04, 0x01, 0x61, 0x00, 0x00);
}

TEST(decode_bad_opcode)
{
    weft_engine_t *e = h_engine();
    /* body: 0xff is no opcode */
    EXPECT_MALFORMED(e, "code section", "offset", HDR, TYPE_VOID, FUNC_ONE, 0x0a, 0x05, 0x01,
                     0x03, 0x00, 0xff, 0x0b);
    /* body: 0xfc 0x7f is no misc opcode */
    EXPECT_MALFORMED(e, "code section", "offset", HDR, TYPE_VOID, FUNC_ONE, 0x0a, 0x06, 0x01,
                     0x04, 0x00, 0xfc, 0x7f, 0x0b);
}

TEST(decode_too_many_locals)
{
    weft_engine_t *e = h_engine();
    /* two local groups of 0xffffffff i32 each: over any sane total */
    EXPECT_MALFORMED(e, "code section", "offset", HDR, TYPE_VOID, FUNC_ONE, 0x0a, 0x10, 0x01,
                     0x0e, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f, 0xff, 0xff, 0xff, 0xff,
                     0x0f, 0x7f, 0x0b);
}

TEST(decode_data_count_mismatch)
{
    weft_engine_t *e = h_engine();
    /* data count section says 1, there is no data section */
    EXPECT_MALFORMED(e, NULL, NULL, HDR, 0x0c, 0x01, 0x01);
}

TEST(decode_custom_section_name_overflow)
{
    weft_engine_t *e = h_engine();
    /* custom section of 2 bytes whose name claims 5 */
    EXPECT_MALFORMED(e, "offset", NULL, HDR, 0x00, 0x02, 0x05, 'a');
}

TEST(decode_custom_section_read_back)
{
    weft_engine_t *e = h_engine();
    static const uint8_t b[] = {HDR, 0x00, 0x06, 0x02, 'h', 'i', 'x', 'y', 'z', TYPE_VOID,
                                0x00, 0x03, 0x01, 'q', 0x07};
    weft_module_t *m = NULL;
    const char *name;
    const uint8_t *data;
    size_t name_len, len;
    char msg[256] = "";
    ASSERT_OK(weft_module_new(e, b, sizeof b, &m, msg, sizeof msg));
    ASSERT_EQ_U64(weft_module_custom_count(m), 2);
    ASSERT_OK(weft_module_custom(m, 0, &name, &name_len, &data, &len));
    ASSERT_EQ_U64(name_len, 2);
    ASSERT_EQ_MEM(name, "hi", 2);
    ASSERT_EQ_U64(len, 3);
    ASSERT_EQ_MEM(data, "xyz", 3);
    ASSERT_OK(weft_module_custom(m, 1, &name, &name_len, &data, &len));
    ASSERT_EQ_U64(name_len, 1);
    ASSERT_EQ_MEM(name, "q", 1);
    ASSERT_EQ_U64(len, 1);
    ASSERT_EQ_INT(data[0], 0x07);
    ASSERT_RC(weft_module_custom(m, 2, &name, &name_len, &data, &len), WEFT_ENOTFOUND);
    weft_module_delete(m);
}

TEST(decode_message_fits_buffer)
{
    weft_engine_t *e = h_engine();
    static const uint8_t b[] = {0x00, 0x61, 0x73, 0x6e, 0x01, 0x00, 0x00, 0x00};
    weft_module_t *m = NULL;
    char msg[32];
    memset(msg, 'Z', sizeof msg);
    ASSERT_RC(weft_module_new(e, b, sizeof b, &m, msg, 8), WEFT_EMALFORMED);
    ASSERT_LT_U64(strnlen(msg, 8), 8);
    for (size_t i = 8; i < sizeof msg; i++)
        ASSERT_EQ_INT(msg[i], 'Z');
}

TEST(decode_null_message_buffer)
{
    weft_engine_t *e = h_engine();
    static const uint8_t b[] = {0x00, 0x61, 0x73, 0x6e, 0x01, 0x00, 0x00, 0x00};
    weft_module_t *m = NULL;
    ASSERT_RC(weft_module_new(e, b, sizeof b, &m, NULL, 0), WEFT_EMALFORMED);
}

/* xorshift64*: a fixed seed, so every run tries the same inputs. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dULL;
}

/* Loads bytes that may or may not be a module: anything but a crash is
 * fine, and a failure must explain itself. */
static void load_anything_at(const char *file, int line, weft_engine_t *e, const uint8_t *b,
                             size_t len)
{
    char msg[512];
    int rc = h_load_bytes(e, b, len, msg, sizeof msg);
    if (rc != 0 && rc != WEFT_EMALFORMED && rc != WEFT_EINVALID)
        test_fail(file, line, "unexpected %s (%d) \"%s\" for %zu bytes", weft_errname(rc), rc,
                  msg, len);
    if (rc != 0 && msg[0] == '\0')
        test_fail(file, line, "%s with an empty message for %zu bytes", weft_errname(rc), len);
}

TEST(decode_random_bytes)
{
    weft_engine_t *e = h_engine();
    uint64_t seed = 0x5eed0001u;
    uint8_t buf[256];
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = rng_next(&seed) % sizeof buf;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rng_next(&seed);
        expect_error_at(__FILE__, __LINE__, e, buf, len, WEFT_EMALFORMED, NULL, NULL);
    }
}

TEST(decode_header_then_random_bytes)
{
    weft_engine_t *e = h_engine();
    static const uint8_t hdr[] = {HDR};
    uint64_t seed = 0x5eed0002u;
    uint8_t buf[256];
    memcpy(buf, hdr, sizeof hdr);
    for (int iter = 0; iter < 5000; iter++) {
        size_t len = sizeof hdr + rng_next(&seed) % (sizeof buf - sizeof hdr);
        for (size_t i = sizeof hdr; i < len; i++) {
            uint64_t r = rng_next(&seed);
            /* bias towards small values so section ids and sizes are often plausible */
            buf[i] = (uint8_t)((r & 0x300) ? r % 16 : r);
        }
        load_anything_at(__FILE__, __LINE__, e, buf, len);
    }
}

TEST(decode_every_truncation_of_a_valid_module)
{
    weft_engine_t *e = h_engine();
    size_t len;
    uint8_t *bytes = h_read_wasm("api", &len);
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        ASSERT_NOT_NULL(copy);
        memcpy(copy, bytes, n);
        if (n < 8) {
            char msg[256];
            int rc = h_load_bytes(e, copy, n, msg, sizeof msg);
            free(copy);
            ASSERT_EQ_INT(rc, WEFT_EMALFORMED);
            continue;
        }
        load_anything_at(__FILE__, __LINE__, e, copy, n);
        free(copy);
    }
}

TEST(decode_every_byte_mutation_of_a_valid_module)
{
    weft_engine_t *e = h_engine();
    static const uint8_t flips[] = {0x01, 0x40, 0x80, 0xff};
    size_t len;
    uint8_t *bytes = h_read_wasm("api", &len);
    uint8_t *copy = malloc(len);
    ASSERT_NOT_NULL(copy);
    test_defer(free, copy);
    for (size_t i = 0; i < len; i++) {
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy(copy, bytes, len);
            copy[i] ^= flips[f];
            load_anything_at(__FILE__, __LINE__, e, copy, len);
        }
    }
}
