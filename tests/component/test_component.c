/*
 * test_component.c — the component decoder/validator and the canonical ABI
 * (weft/component.h), one CTest test `component.NAME` per TEST(NAME).
 *
 * Components are written byte by byte with cbuild.h, so every rule is
 * tested at its edge; the canonical ABI tests lift and lower values
 * through a real engine memory with a host `realloc` (a bump allocator
 * that can be told to misbehave). The jco_* tests load components built
 * by jco from the WIT files of tests/component and C core modules; without jco they
 * exit 77 (CTest skip) and say why.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weft/component.h>
#include <weft/weft.h>

#include "../unit/test.h"
#include "cbuild.h"
#include "jco_inputs.h"

/* ---- helpers --------------------------------------------------------------------- */

static weft_engine_t *engine(void)
{
    static weft_engine_t *e;
    if (!e)
        e = weft_engine_new();
    return e;
}

static void free_component(void *c) { weft_component_delete(c); }

/* Loads b (freed); returns the component or NULL with rc/msg. */
static weft_component_t *load(cb_t *b, int *rc, char *msg, size_t size)
{
    weft_component_t *c = NULL;
    *rc = weft_component_new(engine(), b->p, b->n, &c, msg, size);
    free(b->p);
    memset(b, 0, sizeof *b);
    if (c)
        test_defer(free_component, c);
    return c;
}

/* A component with one type section holding `types` (already encoded,
 * `count` entries). */
static weft_component_t *with_types(const cb_t *types, uint32_t count, int *rc, char *msg,
                                    size_t size)
{
    cb_t b = {0}, s = {0};
    cb_preamble(&b);
    cb_u32(&s, count);
    cb_bytes(&s, types->p, types->n);
    cb_section(&b, 7, &s);
    return load(&b, rc, msg, size);
}

/* A valid type section: the types the layout and round-trip tests use. */
enum { T_REC, T_VAR, T_LIST_REC, T_FLAGS9, T_ENUM3, T_OPT_F64, T_RES, T_TUPLE, T_BYTES,
       T_RESOURCE, T_OWN, T_LIST_STR, T_LIST_U32, T_LIST_LIST, T_NTYPES };

static void encode_types(cb_t *t)
{
    /* 0 record { a: u8, b: u64, c: string } */
    cb_u8(t, 0x72); cb_u32(t, 3);
    cb_name(t, "a"); cb_u8(t, 0x7d);
    cb_name(t, "b"); cb_u8(t, 0x77);
    cb_name(t, "c"); cb_u8(t, 0x73);
    /* 1 variant { none, i(s32), f(f32), big(u64) } */
    cb_u8(t, 0x71); cb_u32(t, 4);
    cb_name(t, "none"); cb_u8(t, 0); cb_u8(t, 0);
    cb_name(t, "i"); cb_u8(t, 1); cb_u8(t, 0x7a); cb_u8(t, 0);
    cb_name(t, "f"); cb_u8(t, 1); cb_u8(t, 0x76); cb_u8(t, 0);
    cb_name(t, "big"); cb_u8(t, 1); cb_u8(t, 0x77); cb_u8(t, 0);
    /* 2 list<type 0> */
    cb_u8(t, 0x70); cb_u8(t, 0);
    /* 3 flags { f0 .. f8 } */
    cb_u8(t, 0x6e); cb_u32(t, 9);
    for (int i = 0; i < 9; i++) {
        char l[4] = {'f', (char)('0' + i), 0};
        cb_name(t, l);
    }
    /* 4 enum { red, green, blue } */
    cb_u8(t, 0x6d); cb_u32(t, 3);
    cb_name(t, "red"); cb_name(t, "green"); cb_name(t, "blue");
    /* 5 option<f64> */
    cb_u8(t, 0x6b); cb_u8(t, 0x75);
    /* 6 result<string, u32> */
    cb_u8(t, 0x6a); cb_u8(t, 1); cb_u8(t, 0x73); cb_u8(t, 1); cb_u8(t, 0x79);
    /* 7 tuple<char, bool, s16> */
    cb_u8(t, 0x6f); cb_u32(t, 3); cb_u8(t, 0x74); cb_u8(t, 0x7f); cb_u8(t, 0x7c);
    /* 8 list<u8> */
    cb_u8(t, 0x70); cb_u8(t, 0x7d);
    /* 9 resource (rep i32) */
    cb_u8(t, 0x3f); cb_u8(t, 0x7f); cb_u8(t, 0);
    /* 10 own<9> */
    cb_u8(t, 0x69); cb_u8(t, 9);
    /* 11 list<string> */
    cb_u8(t, 0x70); cb_u8(t, 0x73);
    /* 12 list<u32>, 13 list<list<u32>> */
    cb_u8(t, 0x70); cb_u8(t, 0x79);
    cb_u8(t, 0x70); cb_u8(t, 12);
}

static weft_component_t *typed_component(void)
{
    cb_t t = {0};
    int rc;
    char msg[300];
    encode_types(&t);
    weft_component_t *c = with_types(&t, T_NTYPES, &rc, msg, sizeof msg);
    free(t.p);
    if (!c)
        FAIL("types did not load: %s", msg);
    return c;
}

static void expect_flat(const weft_ctype_t *t, const char *want)
{
    weft_valtype_t f[32];
    size_t n = weft_canon_flatten(t, f, 32);
    char got[128] = "";
    for (size_t i = 0; i < n && i < 32; i++) {
        strcat(got, i ? " " : "");
        strcat(got, weft_valtype_name(f[i]));
    }
    ASSERT_EQ_STR(got, want);
}

/* ---- decoding --------------------------------------------------------------------- */

TEST(decode_rejects_a_core_module_and_bad_headers)
{
    static const uint8_t core[8] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
    static const uint8_t junk[4] = {1, 2, 3, 4};
    static const uint8_t v12[8] = {0x00, 0x61, 0x73, 0x6d, 0x0c, 0x00, 0x01, 0x00};
    weft_component_t *c;
    char msg[200];
    ASSERT_EQ_INT(weft_component_new(engine(), core, 8, &c, msg, sizeof msg), WEFT_EMALFORMED);
    ASSERT_CONTAINS(msg, "a core module, not a component");
    ASSERT_EQ_INT(weft_component_new(engine(), junk, 4, &c, msg, sizeof msg), WEFT_EMALFORMED);
    ASSERT_CONTAINS(msg, "magic header");
    ASSERT_EQ_INT(weft_component_new(engine(), v12, 8, &c, msg, sizeof msg), WEFT_EMALFORMED);
    ASSERT_CONTAINS(msg, "unknown component version");
    ASSERT_FALSE(weft_is_component(core, 8));
    uint8_t ok[8] = {0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00};
    ASSERT_TRUE(weft_is_component(ok, 8));
    ASSERT_EQ_INT(weft_component_new(engine(), ok, 8, &c, msg, sizeof msg), 0);
    ASSERT_EQ_INT(weft_component_import_count(c), 0);
    weft_component_delete(c);
}

TEST(decode_reports_section_and_offset)
{
    cb_t b = {0}, s = {0};
    int rc;
    char msg[200];
    cb_preamble(&b);
    cb_u32(&s, 1);
    cb_u8(&s, 0x72); /* record, then nothing */
    cb_section(&b, 7, &s);
    ASSERT_NULL(load(&b, &rc, msg, sizeof msg));
    ASSERT_EQ_INT(rc, WEFT_EMALFORMED);
    ASSERT_EQ_STR(msg, "type section, offset 0xc: unexpected end");

    cb_preamble(&b);
    cb_u8(&b, 7);
    cb_u32(&b, 100); /* size past the end */
    ASSERT_NULL(load(&b, &rc, msg, sizeof msg));
    ASSERT_EQ_STR(msg, "type section, offset 0x8: section size past the end");

    cb_preamble(&b);
    cb_u8(&b, 13);
    cb_u32(&b, 0);
    ASSERT_NULL(load(&b, &rc, msg, sizeof msg));
    ASSERT_CONTAINS(msg, "unknown section id 13");
}

TEST(types_have_canonical_layout)
{
    weft_component_t *c = typed_component();
    const weft_ctype_t *t[T_NTYPES];
    for (int i = 0; i < T_NTYPES; i++)
        ASSERT_NOT_NULL(t[i] = weft_component_type(c, (uint32_t)i));
    /* record { u8, u64, string }: u64 at 8, string at 16 */
    ASSERT_EQ_INT(weft_canon_size(t[T_REC]), 24);
    ASSERT_EQ_INT(weft_canon_align(t[T_REC]), 8);
    expect_flat(t[T_REC], "i32 i64 i32 i32");
    /* variant: u8 discriminant, payload at 8; join(i32, f32) = i32, with u64: i64 */
    ASSERT_EQ_INT(weft_canon_size(t[T_VAR]), 16);
    expect_flat(t[T_VAR], "i32 i64");
    ASSERT_EQ_INT(weft_canon_size(t[T_FLAGS9]), 2);
    ASSERT_EQ_INT(weft_canon_align(t[T_FLAGS9]), 2);
    ASSERT_EQ_INT(weft_canon_size(t[T_ENUM3]), 1);
    expect_flat(t[T_ENUM3], "i32");
    ASSERT_EQ_INT(weft_canon_size(t[T_OPT_F64]), 16);
    expect_flat(t[T_OPT_F64], "i32 f64");
    ASSERT_EQ_INT(weft_canon_size(t[T_RES]), 12);
    expect_flat(t[T_RES], "i32 i32 i32");
    ASSERT_EQ_INT(weft_canon_size(t[T_TUPLE]), 8);
    expect_flat(t[T_TUPLE], "i32 i32 i32");
    ASSERT_EQ_INT(weft_canon_size(t[T_LIST_REC]), 8);
    expect_flat(t[T_LIST_REC], "i32 i32");
    ASSERT_EQ_INT(weft_ctype_kind(t[T_OWN]), WEFT_CT_OWN);
    ASSERT_EQ_INT(weft_ctype_kind(weft_ctype_type(t[T_OWN], 0)), WEFT_CT_RESOURCE);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    weft_ctype_print(t[T_RES], f);
    fputc('|', f);
    weft_ctype_print(t[T_VAR], f);
    fclose(f);
    ASSERT_EQ_STR(text, "result<string, u32>|variant { none, i(s32), f(f32), big(u64) }");
    free(text);
}

TEST(printing_a_wide_type_is_bounded)
{
    /* t0 = tuple<u8 x 16>, t(i) = tuple<t(i-1) x 16>: t5 names 16^6 bytes,
     * its full text would be millions of names long */
    cb_t t = {0};
    for (uint32_t i = 0; i < 6; i++) {
        cb_u8(&t, 0x6f);
        cb_u32(&t, 16);
        for (int k = 0; k < 16; k++) {
            if (i == 0)
                cb_u8(&t, 0x7d);
            else
                cb_s33(&t, i - 1);
        }
    }
    int rc;
    char msg[300];
    weft_component_t *c = with_types(&t, 6, &rc, msg, sizeof msg);
    free(t.p);
    if (!c)
        FAIL("%s", msg);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    weft_ctype_print(weft_component_type(c, 5), f);
    fclose(f);
    ASSERT_LT_INT(len, 400000);
    ASSERT_CONTAINS(text, "...");
    free(text);
}

/* One invalid or malformed type section and the message it must give. */
static void expect_bad_types(void (*enc)(cb_t *), uint32_t count, int code, const char *needle)
{
    cb_t t = {0};
    int rc = 0;
    char msg[300] = "";
    enc(&t);
    weft_component_t *c = with_types(&t, count, &rc, msg, sizeof msg);
    free(t.p);
    if (c)
        FAIL("loaded; expected '%s'", needle);
    ASSERT_EQ_INT(rc, code);
    ASSERT_CONTAINS(msg, needle);
}

static void enc_empty_record(cb_t *t) { cb_u8(t, 0x72); cb_u32(t, 0); }
static void enc_dup_fields(cb_t *t)
{
    cb_u8(t, 0x72); cb_u32(t, 2);
    cb_name(t, "a"); cb_u8(t, 0x79);
    cb_name(t, "A"); cb_u8(t, 0x79);
}
static void enc_bad_label(cb_t *t) { cb_u8(t, 0x6d); cb_u32(t, 1); cb_name(t, "Not_kebab"); }
static void enc_flags33(cb_t *t)
{
    cb_u8(t, 0x6e); cb_u32(t, 33);
    for (int i = 0; i < 33; i++) {
        char l[16];
        snprintf(l, sizeof l, "f%d", i);
        cb_name(t, l);
    }
}
static void enc_unknown_type(cb_t *t) { cb_u8(t, 0x70); cb_u8(t, 5); }
static void enc_own_not_resource(cb_t *t) { cb_u8(t, 0x70); cb_u8(t, 0x79); cb_u8(t, 0x69); cb_u8(t, 0); }
static void enc_borrow_result(cb_t *t)
{
    cb_u8(t, 0x3f); cb_u8(t, 0x7f); cb_u8(t, 0); /* 0 resource */
    cb_u8(t, 0x68); cb_u8(t, 0);                /* 1 borrow<0> */
    cb_u8(t, 0x40); cb_u32(t, 0); cb_u8(t, 0x00); cb_u8(t, 1); /* func() -> borrow */
}
static void enc_huge(cb_t *t)
{
    /* tuple of 16 u64 = 128 bytes, then tuples of 16 of the previous: 2^7 * 16^6 = 2^31 */
    for (int i = 0; i < 7; i++) {
        cb_u8(t, 0x6f); cb_u32(t, 16);
        for (int k = 0; k < 16; k++) {
            if (i == 0)
                cb_u8(t, 0x77);
            else
                cb_u32(t, (uint32_t)(i - 1));
        }
    }
}
static void enc_deep(cb_t *t)
{
    /* list<list<...<u8>...>> 101 deep: each type the list of the one before */
    cb_u8(t, 0x70); cb_u8(t, 0x7d);
    for (uint32_t i = 1; i < 101; i++) {
        cb_u8(t, 0x70);
        cb_s33(t, i - 1);
    }
}
static void enc_fixed_list(cb_t *t) { cb_u8(t, 0x67); cb_u8(t, 0x79); cb_u32(t, 4); }
static void enc_bad_valtype(cb_t *t) { cb_u8(t, 0x70); cb_u8(t, 0x60); }

TEST(invalid_types_are_rejected_with_a_reason)
{
    expect_bad_types(enc_empty_record, 1, WEFT_EINVALID, "record with no fields");
    expect_bad_types(enc_dup_fields, 1, WEFT_EINVALID, "field name 'A' is not unique");
    expect_bad_types(enc_bad_label, 1, WEFT_EINVALID, "'Not_kebab' is not a valid label");
    expect_bad_types(enc_flags33, 1, WEFT_EINVALID, "flags with 33 labels");
    expect_bad_types(enc_unknown_type, 1, WEFT_EINVALID, "unknown type 5");
    expect_bad_types(enc_own_not_resource, 2, WEFT_EINVALID, "type 0 is not a resource");
    expect_bad_types(enc_borrow_result, 3, WEFT_EINVALID, "may not contain a borrow");
    expect_bad_types(enc_huge, 7, WEFT_EINVALID, "passes 2^28 bytes");
    expect_bad_types(enc_fixed_list, 1, WEFT_EINVALID, "fixed-length lists are not supported");
    /* the host recurses along a value's nesting: a guest must not choose it */
    expect_bad_types(enc_deep, 101, WEFT_ELIMIT, "value types nested deeper than 100");
    expect_bad_types(enc_bad_valtype, 1, WEFT_EMALFORMED, "invalid value type 0x60");
}

/* A failure inside a nested scope (an instance type's declarators, a
 * nested component) unwinds through scopes the failing functions made:
 * they must not live in those functions' stack frames (ASan: bad-free). */
TEST(failures_inside_nested_scopes_unwind_cleanly)
{
    int rc;
    char msg[300];
    cb_t t = {0};
    /* instance type { type record{}; } : fails in its declarator */
    cb_u8(&t, 0x42); cb_u32(&t, 2);
    cb_u8(&t, 0x01); cb_u8(&t, 0x70); cb_u8(&t, 0x79); /* type list<u32> */
    cb_u8(&t, 0x01); cb_u8(&t, 0x72); cb_u32(&t, 0);   /* type record {}: invalid */
    ASSERT_NULL(with_types(&t, 1, &rc, msg, sizeof msg));
    free(t.p);
    ASSERT_EQ_INT(rc, WEFT_EINVALID);
    ASSERT_CONTAINS(msg, "record with no fields");
    /* a nested component whose type section is cut short, inside a nested one */
    cb_t b = {0}, inner = {0}, innermost = {0}, sec = {0};
    cb_preamble(&innermost);
    cb_u8(&innermost, 7); cb_u32(&innermost, 3); cb_u32(&innermost, 1); cb_u8(&innermost, 0x72); cb_u8(&innermost, 5);
    cb_preamble(&inner);
    cb_section(&inner, 4, &innermost);
    cb_preamble(&b);
    cb_section(&b, 4, &inner);
    (void)sec;
    ASSERT_NULL(load(&b, &rc, msg, sizeof msg));
    ASSERT_EQ_INT(rc, WEFT_EMALFORMED);
    ASSERT_CONTAINS(msg, "type section");
}

/* ---- a lifted core function ----------------------------------------------------------- */

/* A core module: (func (export "f") (param i32 i32) (result i32) i32.add),
 * (memory (export "memory") 1), (func (export "realloc") (param i32 i32 i32 i32)
 * (result i32) i32.const 64). */
static void core_module(cb_t *m)
{
    static const uint8_t bytes[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
        0x01, 0x0f, 0x02, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, /* types */
        0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f,
        0x03, 0x03, 0x02, 0x00, 0x01,                         /* funcs */
        0x05, 0x03, 0x01, 0x00, 0x01,                         /* memory 1 */
        0x07, 0x18, 0x03, 0x01, 'f', 0x00, 0x00,              /* exports */
        0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00,
        0x07, 'r', 'e', 'a', 'l', 'l', 'o', 'c', 0x00, 0x01,
        0x0a, 0x0f, 0x02, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b, /* code */
        0x05, 0x00, 0x41, 0xc0, 0x00, 0x0b,
    };
    cb_bytes(m, bytes, sizeof bytes);
}

/* component: the core module, an instance of it, aliases of f, memory and
 * realloc, `functype` (encoded by the caller) as type 0, and
 * canon lift f with `opts` exported as "run". */
static weft_component_t *lifted(void (*functype)(cb_t *), void (*opts)(cb_t *), int *rc,
                                char *msg, size_t size)
{
    cb_t b = {0}, s = {0};
    cb_preamble(&b);
    core_module(&s);
    cb_section(&b, 1, &s);
    cb_u32(&s, 1); cb_u8(&s, 0x00); cb_u32(&s, 0); cb_u32(&s, 0); /* instantiate module 0 */
    cb_section(&b, 2, &s);
    cb_u32(&s, 3);
    cb_u8(&s, 0x00); cb_u8(&s, 0x00); cb_u8(&s, 0x01); cb_u32(&s, 0); cb_name(&s, "f");
    cb_u8(&s, 0x00); cb_u8(&s, 0x02); cb_u8(&s, 0x01); cb_u32(&s, 0); cb_name(&s, "memory");
    cb_u8(&s, 0x00); cb_u8(&s, 0x00); cb_u8(&s, 0x01); cb_u32(&s, 0); cb_name(&s, "realloc");
    cb_section(&b, 6, &s);
    cb_u32(&s, 1);
    functype(&s);
    cb_section(&b, 7, &s);
    cb_u32(&s, 1);
    cb_u8(&s, 0x00); cb_u8(&s, 0x00); cb_u32(&s, 0);
    opts(&s);
    cb_u32(&s, 0);
    cb_section(&b, 8, &s);
    cb_u32(&s, 1);
    cb_u8(&s, 0x00); cb_name(&s, "run"); cb_u8(&s, 0x01); cb_u32(&s, 0); cb_u8(&s, 0x00);
    cb_section(&b, 11, &s);
    return load(&b, rc, msg, size);
}

static void ft_add(cb_t *s)
{
    cb_u8(s, 0x40); cb_u32(s, 2);
    cb_name(s, "a"); cb_u8(s, 0x79);
    cb_name(s, "b"); cb_u8(s, 0x79);
    cb_u8(s, 0x00); cb_u8(s, 0x79);
}
static void ft_u64(cb_t *s)
{
    cb_u8(s, 0x40); cb_u32(s, 1); cb_name(s, "a"); cb_u8(s, 0x77); cb_u8(s, 0x00); cb_u8(s, 0x79);
}
static void ft_string(cb_t *s)
{
    cb_u8(s, 0x40); cb_u32(s, 1); cb_name(s, "s"); cb_u8(s, 0x73); cb_u8(s, 0x00); cb_u8(s, 0x79);
}
static void no_opts(cb_t *s) { cb_u32(s, 0); }
static void mem_only(cb_t *s) { cb_u32(s, 1); cb_u8(s, 0x03); cb_u32(s, 0); }
static void mem_realloc(cb_t *s)
{
    cb_u32(s, 2); cb_u8(s, 0x03); cb_u32(s, 0); cb_u8(s, 0x04); cb_u32(s, 1);
}
static void realloc_bad_type(cb_t *s)
{
    cb_u32(s, 2); cb_u8(s, 0x03); cb_u32(s, 0); cb_u8(s, 0x04); cb_u32(s, 0);
}
static void utf16(cb_t *s) { cb_u32(s, 1); cb_u8(s, 0x01); }
static void twice(cb_t *s) { cb_u32(s, 2); cb_u8(s, 0x00); cb_u8(s, 0x00); }

TEST(canon_lift_checks_core_types_and_options)
{
    int rc;
    char msg[300];
    weft_component_t *c = lifted(ft_add, no_opts, &rc, msg, sizeof msg);
    if (!c)
        FAIL("valid component rejected: %s", msg);
    weft_cextern_t e;
    ASSERT_EQ_INT(weft_component_export_count(c), 1);
    ASSERT_EQ_INT(weft_component_export(c, 0, &e), 0);
    ASSERT_EQ_STR(e.name, "run");
    ASSERT_EQ_INT(e.sort, WEFT_CSORT_FUNC);
    ASSERT_EQ_INT(weft_ctype_count(e.type), 2);
    weft_component_stats_t st;
    weft_component_stats(c, &st);
    ASSERT_EQ_INT(st.core_modules, 1);
    ASSERT_EQ_INT(st.core_instances, 1);
    ASSERT_EQ_INT(st.core_funcs, 2);
    ASSERT_EQ_INT(st.funcs, 2); /* the lifted one, and the export's own index */

    ASSERT_NULL(lifted(ft_u64, no_opts, &rc, msg, sizeof msg));
    ASSERT_EQ_INT(rc, WEFT_EINVALID);
    ASSERT_CONTAINS(msg, "canon section");
    ASSERT_CONTAINS(msg, "has type (i32, i32) -> (i32), the canonical ABI needs (i64) -> (i32)");
    ASSERT_NULL(lifted(ft_string, no_opts, &rc, msg, sizeof msg));
    ASSERT_CONTAINS(msg, "needs realloc");
    ASSERT_NULL(lifted(ft_string, mem_only, &rc, msg, sizeof msg));
    ASSERT_CONTAINS(msg, "needs realloc");
    ASSERT_NOT_NULL(lifted(ft_string, mem_realloc, &rc, msg, sizeof msg));
    ASSERT_NULL(lifted(ft_add, realloc_bad_type, &rc, msg, sizeof msg));
    ASSERT_CONTAINS(msg, "realloc must have type (i32, i32, i32, i32) -> i32");
    ASSERT_NULL(lifted(ft_add, utf16, &rc, msg, sizeof msg));
    ASSERT_CONTAINS(msg, "string-encoding=utf16 is not supported");
    ASSERT_NULL(lifted(ft_add, twice, &rc, msg, sizeof msg));
    ASSERT_CONTAINS(msg, "string-encoding given twice");
}

TEST(core_instantiation_arguments_are_checked)
{
    int rc;
    char msg[300];
    /* a module importing env.g: (i32) -> () instantiated with an inline
     * instance exporting a function of another type, then without it */
    static const uint8_t mod[] = {
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
        0x01, 0x05, 0x01, 0x60, 0x01, 0x7f, 0x00,
        0x02, 0x09, 0x01, 0x03, 'e', 'n', 'v', 0x01, 'g', 0x00, 0x00,
    };
    for (int variant = 0; variant < 2; variant++) {
        cb_t b = {0}, s = {0};
        cb_preamble(&b);
        core_module(&s);
        cb_section(&b, 1, &s);
        cb_bytes(&s, mod, sizeof mod);
        cb_section(&b, 1, &s);
        cb_u32(&s, 3);
        cb_u8(&s, 0x00); cb_u32(&s, 0); cb_u32(&s, 0);             /* instance 0 of module 0 */
        cb_u8(&s, 0x01); cb_u32(&s, 0);                            /* instance 1: no exports */
        cb_u8(&s, 0x00); cb_u32(&s, 1); cb_u32(&s, 1);             /* module 1 with ... */
        cb_name(&s, "env"); cb_u8(&s, 0x12); cb_u32(&s, variant ? 1u : 0u);
        cb_section(&b, 2, &s);
        ASSERT_NULL(load(&b, &rc, msg, sizeof msg));
        ASSERT_EQ_INT(rc, WEFT_EINVALID);
        ASSERT_CONTAINS(msg, "core instance section");
        ASSERT_CONTAINS(msg, variant ? "core import env.g: the argument has no such export"
                                     : "core import env.g: the argument has no such export");
    }
}

/* ---- the canonical ABI ---------------------------------------------------------------- */

/* A bump allocator in the guest memory, as a host realloc. `mode` 1
 * returns a misaligned pointer, 2 one past the memory. */
typedef struct {
    uint32_t next;
    int mode;
    int calls;
} bump_t;

static int bump_realloc(weft_caller_t *caller, void *user, const weft_val_t *args,
                        weft_val_t *results)
{
    bump_t *b = user;
    uint32_t align = (uint32_t)args[2].of.i32, size = (uint32_t)args[3].of.i32;
    b->calls++;
    b->next = (b->next + align - 1) / align * align;
    uint32_t p = b->next;
    b->next += size;
    if (b->mode == 1)
        p |= 1;
    if (b->mode == 2)
        p = 65536 - size / 2;
    results[0] = weft_val_i32((int32_t)p);
    (void)caller;
    return 0;
}

typedef struct {
    weft_store_t *store;
    bump_t bump;
    weft_canon_cx_t cx;
} abi_t;

static void free_store(void *s) { weft_store_delete(s); }

static void abi_init(abi_t *a)
{
    memset(a, 0, sizeof *a);
    a->store = weft_store_new(engine());
    ASSERT_NOT_NULL(a->store);
    test_defer(free_store, a->store);
    weft_limits_t l = {1, 1, 1};
    a->cx.store = a->store;
    a->cx.memory = weft_memory_new(a->store, l);
    ASSERT_NOT_NULL(a->cx.memory);
    weft_valtype_t i4[4] = {WEFT_I32, WEFT_I32, WEFT_I32, WEFT_I32}, r = WEFT_I32;
    weft_functype_t *ft = weft_functype_new(i4, 4, &r, 1);
    a->cx.realloc = weft_func_new_host(a->store, ft, bump_realloc, &a->bump, NULL);
    weft_functype_delete(ft);
    ASSERT_NOT_NULL(a->cx.realloc);
    a->bump.next = 1024;
}

static weft_cval_t u(weft_ctype_kind_t k, uint64_t v)
{
    weft_cval_t x = {.kind = k};
    x.of.u = v;
    return x;
}

static weft_cval_t s_(weft_ctype_kind_t k, int64_t v)
{
    weft_cval_t x = {.kind = k};
    x.of.s = v;
    return x;
}

static weft_cval_t str(const char *s)
{
    weft_cval_t x = {.kind = WEFT_CT_STRING};
    x.str = (char *)s;
    x.len = strlen(s);
    return x;
}

static weft_cval_t agg(weft_ctype_kind_t k, weft_cval_t *items, size_t n)
{
    weft_cval_t x = {.kind = k};
    x.items = items;
    x.n = n;
    return x;
}

static weft_cval_t cas(weft_ctype_kind_t k, uint32_t index, weft_cval_t *payload)
{
    weft_cval_t x = {.kind = k, .index = index};
    x.items = payload;
    x.n = payload ? 1 : 0;
    return x;
}

/* Structural equality of two values (the test's own oracle). */
static int cval_eq(const weft_cval_t *a, const weft_cval_t *b)
{
    if (a->kind != b->kind || a->index != b->index || a->of.u != b->of.u || a->len != b->len ||
        a->n != b->n)
        return 0;
    if (a->len && memcmp(a->str, b->str, a->len) != 0)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!cval_eq(&a->items[i], &b->items[i]))
            return 0;
    return 1;
}

/* store + load, and lower + lift, of v must give v back. */
static void round_trip(abi_t *a, const weft_ctype_t *t, const weft_cval_t *v, const char *what)
{
    weft_cval_t back;
    uint32_t ptr = 256;
    int rc = weft_canon_store(&a->cx, t, v, ptr);
    if (rc)
        FAIL("%s: store: %d %s", what, rc, a->cx.msg);
    rc = weft_canon_load(&a->cx, t, ptr, &back);
    if (rc)
        FAIL("%s: load: %d %s", what, rc, a->cx.msg);
    int eq = cval_eq(&back, v);
    weft_cval_free(&back);
    if (!eq)
        FAIL("%s: load(store(v)) != v", what);
    weft_val_t flat[17];
    size_t nflat;
    rc = weft_canon_lower_values(&a->cx, &t, 1, v, 16, NULL, flat, 17, &nflat);
    if (rc)
        FAIL("%s: lower: %d %s", what, rc, a->cx.msg);
    rc = weft_canon_lift_values(&a->cx, &t, 1, flat, nflat, 16, &back);
    if (rc)
        FAIL("%s: lift: %d %s", what, rc, a->cx.msg);
    eq = cval_eq(&back, v);
    weft_cval_free(&back);
    if (!eq)
        FAIL("%s: lift(lower(v)) != v", what);
}

TEST(canon_round_trips_every_type_at_its_edges)
{
    weft_component_t *c = typed_component();
    abi_t a;
    abi_init(&a);
    const weft_ctype_t *t[T_NTYPES];
    for (int i = 0; i < T_NTYPES; i++)
        t[i] = weft_component_type(c, (uint32_t)i);

    /* record { a: u8, b: u64, c: string } at the integer edges */
    weft_cval_t f1[3] = {u(WEFT_CT_U8, 255), u(WEFT_CT_U64, UINT64_MAX), str("h\xc3\xa9llo \xf0\x9f\x8c\x8d")};
    weft_cval_t rec = agg(WEFT_CT_RECORD, f1, 3);
    round_trip(&a, t[T_REC], &rec, "record max");
    weft_cval_t f0[3] = {u(WEFT_CT_U8, 0), u(WEFT_CT_U64, 0), str("")};
    weft_cval_t rec0 = agg(WEFT_CT_RECORD, f0, 3);
    round_trip(&a, t[T_REC], &rec0, "record zero");

    /* every case of the variant, through the joined flattening */
    weft_cval_t p_i = s_(WEFT_CT_S32, INT32_MIN), p_f = {.kind = WEFT_CT_F32};
    p_f.of.f32_bits = 0xff7fffffu; /* -FLT_MAX */
    weft_cval_t p_big = u(WEFT_CT_U64, 0x8000000000000001ull);
    weft_cval_t v0 = cas(WEFT_CT_VARIANT, 0, NULL), v1 = cas(WEFT_CT_VARIANT, 1, &p_i),
                v2 = cas(WEFT_CT_VARIANT, 2, &p_f), v3 = cas(WEFT_CT_VARIANT, 3, &p_big);
    round_trip(&a, t[T_VAR], &v0, "variant none");
    round_trip(&a, t[T_VAR], &v1, "variant s32 min");
    round_trip(&a, t[T_VAR], &v2, "variant f32 through i64");
    round_trip(&a, t[T_VAR], &v3, "variant u64");

    /* list of records: empty and three */
    weft_cval_t recs[3] = {rec, rec0, rec};
    weft_cval_t l0 = agg(WEFT_CT_LIST, NULL, 0), l3 = agg(WEFT_CT_LIST, recs, 3);
    round_trip(&a, t[T_LIST_REC], &l0, "empty list");
    round_trip(&a, t[T_LIST_REC], &l3, "list of records");

    weft_cval_t fl = u(WEFT_CT_FLAGS, 0x1ff), fl0 = u(WEFT_CT_FLAGS, 0x100);
    round_trip(&a, t[T_FLAGS9], &fl, "all 9 flags");
    round_trip(&a, t[T_FLAGS9], &fl0, "the ninth flag");
    weft_cval_t e2 = cas(WEFT_CT_ENUM, 2, NULL);
    round_trip(&a, t[T_ENUM3], &e2, "enum last");

    weft_cval_t d = {.kind = WEFT_CT_F64};
    d.of.f64_bits = 0x0000000000000001ull; /* smallest subnormal */
    weft_cval_t some = cas(WEFT_CT_OPTION, 1, &d), none = cas(WEFT_CT_OPTION, 0, NULL);
    round_trip(&a, t[T_OPT_F64], &some, "option some f64");
    round_trip(&a, t[T_OPT_F64], &none, "option none");

    weft_cval_t okv = str("fine"), errv = u(WEFT_CT_U32, UINT32_MAX);
    weft_cval_t ok = cas(WEFT_CT_RESULT, 0, &okv), err = cas(WEFT_CT_RESULT, 1, &errv);
    round_trip(&a, t[T_RES], &ok, "result ok");
    round_trip(&a, t[T_RES], &err, "result err");

    weft_cval_t tf[3] = {u(WEFT_CT_CHAR, 0x10ffff), u(WEFT_CT_BOOL, 1), s_(WEFT_CT_S16, -32768)};
    weft_cval_t tup = agg(WEFT_CT_TUPLE, tf, 3);
    round_trip(&a, t[T_TUPLE], &tup, "tuple char max");

    weft_cval_t bytes = {.kind = WEFT_CT_LIST, .str = "\x00\x01\xff", .len = 3};
    round_trip(&a, t[T_BYTES], &bytes, "list<u8> as bytes");
    weft_cval_t h = u(WEFT_CT_OWN, 7);
    round_trip(&a, t[T_OWN], &h, "own handle");
    weft_cval_t strs[2] = {str("a"), str("")};
    weft_cval_t ls = agg(WEFT_CT_LIST, strs, 2);
    round_trip(&a, t[T_LIST_STR], &ls, "list<string>");
}

TEST(canon_canonicalizes_nan_and_reads_bool_as_nonzero)
{
    weft_component_t *c = typed_component();
    abi_t a;
    abi_init(&a);
    const weft_ctype_t *var = weft_component_type(c, T_VAR);
    /* variant case f(f32) from core values: i32 1, i64 with a NaN payload */
    weft_val_t flat[2] = {weft_val_i32(2), weft_val_i64(0x7fa00001)};
    weft_cval_t v;
    ASSERT_EQ_INT(weft_canon_lift_values(&a.cx, &var, 1, flat, 2, 16, &v), 0);
    ASSERT_EQ_INT(v.index, 2);
    ASSERT_EQ_U64(v.items[0].of.f32_bits, 0x7fc00000u);
    weft_cval_free(&v);
    /* the tuple's bool from an i32 of 256 is true (any nonzero pattern) */
    const weft_ctype_t *tup = weft_component_type(c, T_TUPLE);
    weft_val_t tf[3] = {weft_val_i32('x'), weft_val_i32(256), weft_val_i32(-1)};
    ASSERT_EQ_INT(weft_canon_lift_values(&a.cx, &tup, 1, tf, 3, 16, &v), 0);
    ASSERT_EQ_U64(v.items[1].of.u, 1);
    ASSERT_EQ_INT(v.items[2].of.s, -1);
    weft_cval_free(&v);
}

static void expect_trap(abi_t *a, const weft_ctype_t *t, const weft_val_t *flat, size_t n,
                        const char *needle)
{
    weft_cval_t v;
    int rc = weft_canon_lift_values(&a->cx, &t, 1, flat, n, 16, &v);
    if (rc == 0) {
        weft_cval_free(&v);
        FAIL("lifted; expected a trap '%s'", needle);
    }
    ASSERT_EQ_INT(rc, WEFT_ETRAP);
    ASSERT_CONTAINS(a->cx.msg, needle);
}

TEST(canon_traps_on_invalid_values)
{
    weft_component_t *c = typed_component();
    abi_t a;
    abi_init(&a);
    const weft_ctype_t *var = weft_component_type(c, T_VAR), *tup = weft_component_type(c, T_TUPLE),
                       *rec = weft_component_type(c, T_REC), *lst = weft_component_type(c, T_LIST_REC),
                       *en = weft_component_type(c, T_ENUM3);
    weft_val_t bad_disc[2] = {weft_val_i32(4), weft_val_i64(0)};
    expect_trap(&a, var, bad_disc, 2, "invalid discriminant 4");
    weft_val_t e[1] = {weft_val_i32(3)};
    expect_trap(&a, en, e, 1, "invalid discriminant 3");
    weft_val_t surrogate[3] = {weft_val_i32(0xd800), weft_val_i32(0), weft_val_i32(0)};
    expect_trap(&a, tup, surrogate, 3, "invalid char: 0xd800");
    weft_val_t big[3] = {weft_val_i32(0x110000), weft_val_i32(0), weft_val_i32(0)};
    expect_trap(&a, tup, big, 3, "invalid char: 0x110000");
    /* record { u8, u64, string }: string out of bounds, then invalid UTF-8 */
    weft_val_t oob[4] = {weft_val_i32(0), weft_val_i64(0), weft_val_i32(65530), weft_val_i32(7)};
    expect_trap(&a, rec, oob, 4, "out of bounds");
    uint8_t *m = weft_memory_ptr(a.cx.memory, 100, 2);
    m[0] = 0xc3;
    m[1] = 0x28;
    weft_val_t badutf[4] = {weft_val_i32(0), weft_val_i64(0), weft_val_i32(100), weft_val_i32(2)};
    expect_trap(&a, rec, badutf, 4, "not valid UTF-8");
    weft_val_t toolong[4] = {weft_val_i32(0), weft_val_i64(0), weft_val_i32(0), weft_val_i32(1 << 28)};
    expect_trap(&a, rec, toolong, 4, "2^28-1 limit");
    /* list<record>: misaligned, out of bounds, too long */
    weft_val_t mis[2] = {weft_val_i32(4), weft_val_i32(1)};
    expect_trap(&a, lst, mis, 2, "not aligned to 8");
    weft_val_t lob[2] = {weft_val_i32(65536 - 16), weft_val_i32(1)};
    expect_trap(&a, lst, lob, 2, "out of bounds");
    weft_val_t huge[2] = {weft_val_i32(0), weft_val_i32(0x7fffffff)};
    expect_trap(&a, lst, huge, 2, "2^28-1 byte limit");
    /* a list element with a bad discriminant deep inside is a trap too */
    weft_canon_cx_t *cx = &a.cx;
    weft_cval_t none = cas(WEFT_CT_VARIANT, 0, NULL);
    ASSERT_EQ_INT(weft_canon_store(cx, var, &none, 512), 0);
    weft_memory_ptr(cx->memory, 512, 1)[0] = 9;
    weft_cval_t out;
    ASSERT_EQ_INT(weft_canon_load(cx, var, 512, &out), WEFT_ETRAP);
    ASSERT_EQ_INT(weft_canon_load(cx, var, 513, &out), WEFT_ETRAP);
    ASSERT_CONTAINS(cx->msg, "not aligned");
    /* a realloc that misbehaves is a trap, not a write anywhere */
    weft_cval_t s = str("hello world");
    weft_cval_t f[3] = {u(WEFT_CT_U8, 1), u(WEFT_CT_U64, 2), s};
    weft_cval_t r = agg(WEFT_CT_RECORD, f, 3);
    weft_val_t flat[4];
    size_t n;
    a.bump.mode = 2;
    ASSERT_EQ_INT(weft_canon_lower_values(cx, &rec, 1, &r, 16, NULL, flat, 4, &n), WEFT_ETRAP);
    ASSERT_CONTAINS(cx->msg, "realloc returned");
    /* a host value that does not fit its type is an argument error */
    a.bump.mode = 0;
    weft_cval_t bad = u(WEFT_CT_U8, 256);
    weft_cval_t f2[3] = {bad, u(WEFT_CT_U64, 2), s};
    weft_cval_t r2 = agg(WEFT_CT_RECORD, f2, 3);
    ASSERT_EQ_INT(weft_canon_lower_values(cx, &rec, 1, &r2, 16, NULL, flat, 4, &n), WEFT_EARG);
}

TEST(canon_lifting_is_bounded_when_lists_share_elements)
{
    weft_component_t *c = typed_component();
    abi_t a;
    abi_init(&a);
    weft_limits_t l = {2, 2, 1};
    a.cx.memory = weft_memory_new(a.store, l);
    /* 4,096 outer elements all pointing at one list of 16,384 u32: 96 KiB
     * of guest memory, 2^26 values (gigabytes) on the host if lifted */
    uint8_t *m = weft_memory_ptr(a.cx.memory, 0, 131072);
    for (uint32_t i = 0; i < 4096; i++) {
        uint32_t ptr = 65536, len = 16384;
        memcpy(m + 8 * i, &ptr, 4);
        memcpy(m + 8 * i + 4, &len, 4);
    }
    const weft_ctype_t *ll = weft_component_type(c, T_LIST_LIST);
    weft_val_t flat[2] = {weft_val_i32(0), weft_val_i32(4096)};
    weft_cval_t v;
    ASSERT_EQ_INT(weft_canon_lift_values(&a.cx, &ll, 1, flat, 2, 16, &v), WEFT_ETRAP);
    ASSERT_CONTAINS(a.cx.msg, "lifted values pass weft's limit of 256 MiB");
    /* a few of them lift */
    flat[1] = weft_val_i32(3);
    ASSERT_EQ_INT(weft_canon_lift_values(&a.cx, &ll, 1, flat, 2, 16, &v), 0);
    ASSERT_EQ_INT(v.n, 3);
    ASSERT_EQ_INT(v.items[2].n, 16384);
    weft_cval_free(&v);
}

TEST(canon_flattening_limits_go_through_memory)
{
    weft_component_t *c = typed_component();
    abi_t a;
    abi_init(&a);
    /* 5 records of 4 flat values each: 20 > MAX_FLAT_PARAMS, so one pointer */
    const weft_ctype_t *rec = weft_component_type(c, T_REC);
    const weft_ctype_t *ts[5] = {rec, rec, rec, rec, rec};
    weft_cval_t vals[5], f[5][3];
    for (int i = 0; i < 5; i++) {
        f[i][0] = u(WEFT_CT_U8, (uint64_t)i);
        f[i][1] = u(WEFT_CT_U64, (uint64_t)i * 1000);
        f[i][2] = str(i % 2 ? "odd" : "even");
        vals[i] = agg(WEFT_CT_RECORD, f[i], 3);
    }
    weft_val_t flat[17];
    size_t n;
    ASSERT_EQ_INT(weft_canon_lower_values(&a.cx, ts, 5, vals, WEFT_CANON_MAX_FLAT_PARAMS, NULL,
                                          flat, 17, &n), 0);
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_INT(flat[0].type, WEFT_I32);
    ASSERT_EQ_INT(flat[0].of.i32 % 8, 0);
    weft_cval_t back[5];
    ASSERT_EQ_INT(weft_canon_lift_values(&a.cx, ts, 5, flat, 1, WEFT_CANON_MAX_FLAT_PARAMS, back), 0);
    for (int i = 0; i < 5; i++) {
        ASSERT_TRUE(cval_eq(&back[i], &vals[i]));
        weft_cval_free(&back[i]);
    }
    /* a result of 2+ flat values with MAX_FLAT_RESULTS: into the caller's
     * out pointer, no core value written */
    const weft_ctype_t *res = weft_component_type(c, T_RES);
    weft_cval_t okv = str("ok!"), ok = cas(WEFT_CT_RESULT, 0, &okv);
    uint32_t out_ptr = 2048;
    ASSERT_EQ_INT(weft_canon_lower_values(&a.cx, &res, 1, &ok, WEFT_CANON_MAX_FLAT_RESULTS,
                                          &out_ptr, flat, 17, &n), 0);
    ASSERT_EQ_INT(n, 0);
    weft_cval_t got;
    ASSERT_EQ_INT(weft_canon_load(&a.cx, res, out_ptr, &got), 0);
    ASSERT_TRUE(cval_eq(&got, &ok));
    weft_cval_free(&got);
    /* exactly 16 flat values still go flat */
    const weft_ctype_t *ts4[4] = {rec, rec, rec, rec};
    ASSERT_EQ_INT(weft_canon_lower_values(&a.cx, ts4, 4, vals, 16, NULL, flat, 17, &n), 0);
    ASSERT_EQ_INT(n, 16);
}

/* ---- components built by jco -------------------------------------------------------------- */

static char *type_text(const weft_ctype_t *t)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    weft_ctype_print(t, f);
    fclose(f);
    return text;
}

static weft_component_t *load_file(const char *path)
{
    size_t len;
    uint8_t *b = jco_read_or_skip(path, &len);
    weft_component_t *c = NULL;
    char msg[400];
    int rc = weft_component_new(engine(), b, len, &c, msg, sizeof msg);
    free(b);
    if (rc)
        FAIL("%s: %s", path, msg);
    test_defer(free_component, c);
    return c;
}

TEST(jco_basic_component_decodes)
{
    weft_component_t *c = load_file(WEFT_COMPONENT_DIR "/basic.wasm");
    weft_cextern_t e;
    /* the world's own types are imported as types (eq bounds) */
    ASSERT_EQ_INT(weft_component_import_count(c), 3);
    weft_component_import(c, 1, &e);
    ASSERT_EQ_STR(e.name, "point");
    ASSERT_EQ_INT(e.sort, WEFT_CSORT_TYPE);
    ASSERT_EQ_INT(weft_ctype_kind(e.type), WEFT_CT_RECORD);
    weft_component_import(c, 0, &e);
    ASSERT_EQ_STR(e.name, "weft:test/host@0.1.0");
    ASSERT_EQ_INT(e.sort, WEFT_CSORT_INSTANCE);
    char *t = type_text(e.type);
    ASSERT_EQ_STR(t, "instance { export log: func(msg: string) }");
    free(t);
    ASSERT_EQ_INT(weft_component_export_count(c), 4);
    const char *want[4][2] = {
        {"add", "func(a: u32, b: u32) -> u32"},
        {"greet", "func(name: string) -> string"},
        {"point-sum", "func(p: record { x: s32, y: s32 }) -> s64"},
        {"classify", "func(n: s64) -> variant { negative(u64), zero, positive(f64) }"},
    };
    for (size_t i = 0; i < 4; i++) {
        weft_component_export(c, i, &e);
        ASSERT_EQ_STR(e.name, want[i][0]);
        t = type_text(e.type);
        ASSERT_EQ_STR(t, want[i][1]);
        free(t);
    }
}

TEST(jco_wasi_command_decodes)
{
    weft_component_t *c = load_file(WEFT_COMPONENT_DIR "/hello_command.wasm");
    weft_cextern_t e;
    ASSERT_EQ_INT(weft_component_export_count(c), 1);
    weft_component_export(c, 0, &e);
    ASSERT_EQ_INT(strncmp(e.name, "wasi:cli/run@0.2.", 17), 0);
    int saw_streams = 0;
    for (size_t i = 0; i < weft_component_import_count(c); i++) {
        weft_component_import(c, i, &e);
        ASSERT_EQ_INT(e.sort, WEFT_CSORT_INSTANCE);
        if (strncmp(e.name, "wasi:io/streams@0.2.", 20) == 0) {
            saw_streams = 1;
            char *t = type_text(e.type);
            ASSERT_CONTAINS(t, "[method]output-stream.blocking-write-and-flush: func(self: "
                               "borrow<resource");
            free(t);
        }
    }
    ASSERT_TRUE(saw_streams);
}

/* ---- instances: the basic component called for real --------------------------------------- */

typedef struct {
    char seen[64];
    int calls;
    int fail;
} host_log_t;

static int host_log(void *user, weft_caller_t *caller, const weft_ctype_t *type,
                    const weft_cval_t *args, size_t nargs, weft_cval_t *result, char *err,
                    size_t err_size)
{
    host_log_t *h = user;
    (void)caller;
    (void)type;
    (void)result;
    h->calls++;
    if (h->fail) {
        snprintf(err, err_size, "the host refuses");
        return -1;
    }
    if (nargs == 1 && args[0].kind == WEFT_CT_STRING)
        snprintf(h->seen, sizeof h->seen, "%s", args[0].str);
    return 0;
}

typedef struct {
    weft_store_t *store;
    weft_clinker_t *linker;
    weft_cinstance_t *inst;
    host_log_t log;
} basic_t;

static void basic_free(void *p)
{
    basic_t *b = p;
    weft_cinstance_delete(b->inst);
    weft_clinker_delete(b->linker);
    weft_store_delete(b->store);
    free(b);
}

static basic_t *basic_instance(int define_log, int stub)
{
    weft_component_t *c = load_file(WEFT_COMPONENT_DIR "/basic.wasm");
    basic_t *b = calloc(1, sizeof *b);
    b->store = weft_store_new(engine());
    b->linker = weft_clinker_new();
    test_defer(basic_free, b);
    if (define_log)
        ASSERT_EQ_INT(weft_clinker_define_func(b->linker, "weft:test/host@0.1.0", "log", host_log,
                                               &b->log), 0);
    weft_clinker_stub_missing(b->linker, stub);
    char msg[300];
    int rc = weft_cinstance_new(c, b->store, b->linker, &b->inst, msg, sizeof msg);
    if (rc)
        FAIL("instantiate: %d %s", rc, msg);
    return b;
}

static weft_cval_t call1(basic_t *b, const char *fn, const weft_cval_t *args, size_t n)
{
    weft_cval_t r;
    int has;
    int rc = weft_cinstance_call(b->inst, fn, args, n, &r, &has);
    if (rc)
        FAIL("%s: %d %s", fn, rc, weft_cinstance_errmsg(b->inst));
    ASSERT_TRUE(has);
    return r;
}

TEST(jco_basic_component_runs_its_exports)
{
    basic_t *b = basic_instance(1, 0);
    weft_cval_t args[2] = {u(WEFT_CT_U32, 2), u(WEFT_CT_U32, 3)};
    weft_cval_t r = call1(b, "add", args, 2);
    ASSERT_EQ_U64(r.of.u, 5);
    args[0] = u(WEFT_CT_U32, UINT32_MAX);
    args[1] = u(WEFT_CT_U32, 2);
    r = call1(b, "add", args, 2);
    ASSERT_EQ_U64(r.of.u, 1); /* u32 wraps in the guest, and is lifted as a u32 */

    /* a string both ways: realloc for the argument, memory for the result,
     * post-return frees it; the import received the argument */
    for (int i = 0; i < 50; i++) { /* leaks or a bad post-return would show */
        weft_cval_t name = str("wippy \xe2\x9c\x93");
        r = call1(b, "greet", &name, 1);
        ASSERT_EQ_STR(r.str, "hello, wippy \xe2\x9c\x93");
        weft_cval_free(&r);
    }
    ASSERT_EQ_STR(b->log.seen, "wippy \xe2\x9c\x93");
    ASSERT_EQ_INT(b->log.calls, 50);

    weft_cval_t xy[2] = {s_(WEFT_CT_S32, INT32_MIN), s_(WEFT_CT_S32, -1)};
    weft_cval_t p = agg(WEFT_CT_RECORD, xy, 2);
    r = call1(b, "point-sum", &p, 1);
    ASSERT_EQ_INT(r.of.s, (long long)INT32_MIN - 1);

    /* a variant result through memory: each case */
    weft_cval_t n = s_(WEFT_CT_S64, INT64_MIN);
    r = call1(b, "classify", &n, 1);
    ASSERT_EQ_INT(r.index, 0);
    ASSERT_EQ_U64(r.items[0].of.u, 0x8000000000000000ull);
    weft_cval_free(&r);
    n = s_(WEFT_CT_S64, 0);
    r = call1(b, "classify", &n, 1);
    ASSERT_EQ_INT(r.index, 1);
    ASSERT_EQ_INT(r.n, 0);
    n = s_(WEFT_CT_S64, 7);
    r = call1(b, "classify", &n, 1);
    ASSERT_EQ_INT(r.index, 2);
    double d;
    memcpy(&d, &r.items[0].of.f64_bits, 8);
    ASSERT_TRUE(d == 7.0);
    weft_cval_free(&r);
}

/* weft_cinstance_reset: the instance as instantiated again (its core
 * instances' memories, so the log import's argument copies, the handle
 * table), with its imports still bound; and an instance keeps its
 * component: deleting the component first frees it with the instance
 * (ASan would see its types and names used after a free). */
TEST(jco_an_instance_resets_and_outlives_its_component)
{
    size_t len;
    uint8_t *bytes = jco_read_or_skip(WEFT_COMPONENT_DIR "/basic.wasm", &len);
    weft_component_t *c = NULL;
    char msg[400];
    ASSERT_EQ_INT(weft_component_new(engine(), bytes, len, &c, msg, sizeof msg), 0);
    free(bytes);
    basic_t *b = calloc(1, sizeof *b);
    b->store = weft_store_new(engine());
    b->linker = weft_clinker_new();
    test_defer(basic_free, b);
    ASSERT_EQ_INT(weft_clinker_define_func(b->linker, "weft:test/host@0.1.0", "log", host_log,
                                           &b->log), 0);
    ASSERT_EQ_INT(weft_cinstance_new(c, b->store, b->linker, &b->inst, msg, sizeof msg), 0);
    weft_component_delete(c); /* the instance's reference keeps it */
    ASSERT_EQ_INT(weft_cinstance_host_count(b->inst), 1);
    for (int i = 0; i < 3; i++) {
        weft_cval_t name = str("again");
        weft_cval_t r = call1(b, "greet", &name, 1);
        ASSERT_EQ_STR(r.str, "hello, again");
        weft_cval_free(&r);
        ASSERT_EQ_INT(weft_cinstance_reset(b->inst), 0);
    }
    ASSERT_EQ_INT(b->log.calls, 3);
    /* an object the store made since instantiation: no reset */
    ASSERT_TRUE(weft_memory_new(b->store, (weft_limits_t){1, 1, 1}) != NULL);
    ASSERT_EQ_INT(weft_cinstance_reset(b->inst), WEFT_EARG);
}

TEST(jco_basic_component_call_errors)
{
    basic_t *b = basic_instance(1, 0);
    weft_cval_t r;
    int has;
    weft_cval_t one = u(WEFT_CT_U32, 1), bad = str("not a u32");
    ASSERT_EQ_INT(weft_cinstance_call(b->inst, "nope", NULL, 0, &r, &has), WEFT_ENOTFOUND);
    ASSERT_EQ_INT(weft_cinstance_call(b->inst, "add", &one, 1, &r, &has), WEFT_EARG);
    weft_cval_t two[2] = {bad, one};
    ASSERT_EQ_INT(weft_cinstance_call(b->inst, "add", two, 2, &r, &has), WEFT_EARG);
    ASSERT_CONTAINS(weft_cinstance_errmsg(b->inst), "wrong kind");
    /* a host function failing traps the guest with its message */
    b->log.fail = 1;
    weft_cval_t name = str("x");
    ASSERT_EQ_INT(weft_cinstance_call(b->inst, "greet", &name, 1, &r, &has), WEFT_ETRAP);
    ASSERT_CONTAINS(weft_cinstance_errmsg(b->inst), "weft:test/host@0.1.0#log: the host refuses");
    /* and the instance still works after the trap */
    b->log.fail = 0;
    r = call1(b, "greet", &name, 1);
    ASSERT_EQ_STR(r.str, "hello, x");
    weft_cval_free(&r);
    ASSERT_NOT_NULL(weft_cinstance_func_type(b->inst, "greet"));
    ASSERT_NULL(weft_cinstance_func_type(b->inst, "log"));
}

TEST(jco_missing_imports_fail_or_trap_when_stubbed)
{
    weft_component_t *c = load_file(WEFT_COMPONENT_DIR "/basic.wasm");
    weft_store_t *store = weft_store_new(engine());
    test_defer(free_store, store);
    weft_clinker_t *l = weft_clinker_new();
    weft_cinstance_t *inst = NULL;
    char msg[300];
    int rc = weft_cinstance_new(c, store, l, &inst, msg, sizeof msg);
    weft_clinker_delete(l);
    ASSERT_EQ_INT(rc, WEFT_EUNLINKABLE);
    ASSERT_EQ_STR(msg, "unknown import weft:test/host@0.1.0#log");

    basic_t *b = basic_instance(0, 1);
    weft_cval_t args[2] = {u(WEFT_CT_U32, 40), u(WEFT_CT_U32, 2)};
    weft_cval_t r = call1(b, "add", args, 2);
    ASSERT_EQ_U64(r.of.u, 42);
    weft_cval_t name = str("x");
    int has;
    ASSERT_EQ_INT(weft_cinstance_call(b->inst, "greet", &name, 1, &r, &has), WEFT_ETRAP);
    ASSERT_CONTAINS(weft_cinstance_errmsg(b->inst), "unlinked import weft:test/host@0.1.0#log called");
}

/* ---- resources: a component implementing one, used from the host ----------------------------- */

static weft_cval_t callr(weft_cinstance_t *inst, const char *fn, const weft_cval_t *args, size_t n)
{
    weft_cval_t r;
    int has;
    int rc = weft_cinstance_call(inst, fn, args, n, &r, &has);
    if (rc)
        FAIL("%s: %d %s", fn, rc, weft_cinstance_errmsg(inst));
    return r;
}

static void free_cinstance(void *p) { weft_cinstance_delete(p); }

TEST(jco_resources_live_and_die_by_their_handles)
{
    weft_component_t *c = load_file(WEFT_COMPONENT_DIR "/resources.wasm");
    weft_store_t *store = weft_store_new(engine());
    test_defer(free_store, store);
    weft_clinker_t *l = weft_clinker_new();
    weft_cinstance_t *inst;
    char msg[300];
    int rc = weft_cinstance_new(c, store, l, &inst, msg, sizeof msg);
    weft_clinker_delete(l);
    if (rc)
        FAIL("instantiate: %s", msg);
    test_defer(free_cinstance, inst);
#define IF "weft:test/counters@0.1.0#"
    weft_cval_t start = u(WEFT_CT_U32, 5);
    weft_cval_t h = callr(inst, IF "[constructor]counter", &start, 1);
    ASSERT_EQ_INT(h.kind, WEFT_CT_OWN);
    weft_cval_t self = u(WEFT_CT_BORROW, h.of.u);
    ASSERT_EQ_U64(callr(inst, IF "[method]counter.inc", &self, 1).of.u, 6);
    ASSERT_EQ_U64(callr(inst, IF "[method]counter.inc", &self, 1).of.u, 7);
    ASSERT_EQ_U64(callr(inst, IF "peek", &self, 1).of.u, 7);
    start = u(WEFT_CT_U32, 100);
    weft_cval_t h2 = callr(inst, IF "[constructor]counter", &start, 1);
    ASSERT_NE_INT(h2.of.u, h.of.u);
    ASSERT_EQ_U64(callr(inst, IF "live", NULL, 0).of.u, 2);

    /* dropping runs the destructor; the handle is dead afterwards */
    ASSERT_EQ_INT(weft_cinstance_drop(inst, (uint32_t)h.of.u), 0);
    ASSERT_EQ_U64(callr(inst, IF "live", NULL, 0).of.u, 1);
    weft_cval_t r;
    int has;
    ASSERT_EQ_INT(weft_cinstance_call(inst, IF "[method]counter.inc", &self, 1, &r, &has), WEFT_ETRAP);
    ASSERT_CONTAINS(weft_cinstance_errmsg(inst), "not a live handle");
    ASSERT_EQ_INT(weft_cinstance_drop(inst, (uint32_t)h.of.u), WEFT_ENOTFOUND);
    weft_cval_t never = u(WEFT_CT_BORROW, 999);
    ASSERT_EQ_INT(weft_cinstance_call(inst, IF "peek", &never, 1, &r, &has), WEFT_ETRAP);
    /* the other counter is untouched */
    weft_cval_t self2 = u(WEFT_CT_BORROW, h2.of.u);
    ASSERT_EQ_U64(callr(inst, IF "[method]counter.inc", &self2, 1).of.u, 101);
#undef IF
}
