/*
 * test_regress.c — regressions of bugs found after the first tests were
 * written, each named after what broke, plus the raw host-function ABI.
 *
 * Compile-time scaling: bodies built so that a compiler rescanning its
 * operand stack would take minutes (it once did: 80,000 pushes and 80,000
 * empty blocks took 5 s, growing with the square); now they load in
 * milliseconds. These are hang guards, not timing assertions: CTest's
 * timeout is what a quadratic compiler would hit.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

TEST(regress_store_const_over_folded_index_add)
{
    fixture_t fx;
    fx_load(&fx, "regress_fold");
    CALL_VOID(&fx, "init", 0);
    ASSERT_EQ_INT(CALL_I32(&fx, "store_const_at_sum", 1, 16), 7);
    uint32_t wrong = 1;
    ASSERT_OK(weft_memory_read(fx_memory(&fx, "memory"), 16 + 7, &wrong, 4));
    ASSERT_EQ_INT((int)wrong, 0);
}

/* Counts the lines of the internal-code listing of function `index`. */
static size_t listing_lines(const weft_module_t *m, uint32_t index)
{
    char *buf = NULL;
    size_t len = 0, lines = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return 0;
    weft_module_dump_code(m, index, f);
    fclose(f);
    for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
    free(buf);
    return lines;
}

TEST(regress_br_table_copy_stub_per_depth)
{
    fixture_t fx;
    fx_load(&fx, "regress_fold");
    for (int i = 0; i < 70; i++) ASSERT_EQ_INT(CALL_I32(&fx, "table_stubs", 1, i), 11);
    /* one stub for the one depth, not 65: the listing stays short */
    ASSERT_TRUE(listing_lines(fx.module, 2) < 30);
}

/* A module with one function () -> () whose body is `body`. */
static uint8_t *module_with_body(const uint8_t *body, size_t body_len, size_t *out_len)
{
    uint8_t head[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01,
                      0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00};
    uint8_t locals[] = {0x01, 0x01, 0x7f}; /* one i32 local */
    size_t fsize = sizeof locals + body_len + 1;
    size_t n = 0, cap = sizeof head + 32 + fsize;
    uint8_t *m = malloc(cap);
    if (!m) return NULL;
    memcpy(m, head, sizeof head);
    n = sizeof head;
    uint8_t leb[2][5];
    size_t l0 = 0, l1 = 0;
    for (size_t v = fsize + 0;; ) { /* entry size */
        uint8_t b = v & 0x7f;
        v >>= 7;
        leb[0][l0++] = v ? (uint8_t)(b | 0x80) : b;
        if (!v) break;
    }
    for (size_t v = 1 + l0 + fsize;; ) { /* section size: count + entry */
        uint8_t b = v & 0x7f;
        v >>= 7;
        leb[1][l1++] = v ? (uint8_t)(b | 0x80) : b;
        if (!v) break;
    }
    m[n++] = 0x0a;
    memcpy(m + n, leb[1], l1);
    n += l1;
    m[n++] = 0x01;
    memcpy(m + n, leb[0], l0);
    n += l0;
    memcpy(m + n, locals, sizeof locals);
    n += sizeof locals;
    memcpy(m + n, body, body_len);
    n += body_len;
    m[n++] = 0x0b;
    *out_len = n;
    return m;
}

/* Body: `reps` copies of `pre`, then `reps` of `mid`, then `reps` of `post`
 * (byte strings given with their lengths: they hold NUL bytes). */
static void load_pattern_n(const char *pre, size_t lp, const char *mid, size_t lm, const char *post,
                           size_t lq, size_t reps)
{
    size_t blen = reps * (lp + lm + lq), mlen = 0;
    uint8_t *body = malloc(blen ? blen : 1);
    ASSERT_NOT_NULL(body);
    size_t k = 0;
    for (size_t i = 0; i < reps; i++, k += lp) memcpy(body + k, pre, lp);
    for (size_t i = 0; i < reps; i++, k += lm) memcpy(body + k, mid, lm);
    for (size_t i = 0; i < reps; i++, k += lq) memcpy(body + k, post, lq);
    uint8_t *mod = module_with_body(body, blen, &mlen);
    ASSERT_NOT_NULL(mod);
    weft_module_t *m = NULL;
    char msg[256] = "";
    int rc = weft_module_new(h_engine(), mod, mlen, &m, msg, sizeof msg);
    if (rc) fprintf(stderr, "  %s\n", msg);
    ASSERT_OK(rc);
    weft_module_delete(m);
    free(mod);
    free(body);
}

#define load_pattern(pre, mid, post, reps) \
    load_pattern_n(pre, sizeof pre - 1, mid, sizeof mid - 1, post, sizeof post - 1, reps)

TEST(regress_compile_deep_stack_then_many_blocks_is_linear)
{
    /* 300,000 x local.get 0, 300,000 x (block end), 300,000 x drop */
    load_pattern("\x20\x00", "\x02\x40\x0b", "\x1a", 300000);
}

TEST(regress_compile_deep_stack_then_many_local_sets_is_linear)
{
    /* 300,000 x local.get 0, then (i32.const 1; local.set 0; local.get 0),
     * then drops */
    load_pattern("\x20\x00", "\x41\x01\x21\x00\x20\x00", "\x1a\x1a", 300000);
}

static int raw_swap(weft_caller_t *c, void *user, weft_raw_t *io)
{
    int32_t a = io[0].i32;
    int64_t b = io[1].i64;
    io[0].i64 = b * 2;
    io[1].i32 = a + 1;
    return 0;
}

static int raw_foreign(weft_caller_t *c, void *user, weft_raw_t *io)
{
    io[0].ref = user; /* a function of another store */
    return 0;
}

TEST(host_raw_abi_reads_and_writes_in_place)
{
    fixture_t fx;
    weft_store_t *other = h_store(h_engine());
    weft_func_t *alien = weft_func_new_host_raw(other, h_functype("", ""), raw_swap, NULL, NULL);
    ASSERT_NOT_NULL(alien);
    fx_open(&fx, "raw_host");
    ASSERT_OK(weft_linker_define_func_raw(fx.linker, "h", "swap", h_functype("iI", "Ii"), raw_swap, NULL));
    ASSERT_OK(weft_linker_define_func_raw(fx.linker, "h", "foreign", h_functype("", "r"), raw_foreign,
                                          alien));
    fx_instantiate(&fx);
    weft_val_t args[2] = {weft_val_i32(41), weft_val_i64(-21)}, res[2];
    ASSERT_OK_S(fx.store, fx_call(&fx, "call_swap", args, 2, res, 2));
    ASSERT_EQ_INT(res[0].type, WEFT_I64);
    ASSERT_TRUE(res[0].of.i64 == -42);
    ASSERT_EQ_INT(res[1].of.i32, 42);
    /* results are checked: a function of another store traps the guest */
    ASSERT_TRAP(fx.store, fx_call(&fx, "call_foreign", NULL, 0, res, 1), WEFT_TRAP_HOST);
}

TEST(regress_memory_ptr_empty_range_of_empty_memory)
{
    /* a host function handed (ptr 0, len 0) by a guest whose memory has 0
     * pages must get a usable (non-NULL) pointer, not a fault */
    weft_store_t *s = h_store(h_engine());
    weft_limits_t none = {0, 0, 0};
    weft_memory_t *mem = weft_memory_new(s, none);
    ASSERT_NOT_NULL(mem);
    ASSERT_NOT_NULL(weft_memory_ptr(mem, 0, 0));
    ASSERT_NULL(weft_memory_ptr(mem, 0, 1));
    ASSERT_NULL(weft_memory_ptr(mem, 1, 0));
}

static int host_work(weft_caller_t *c, void *user, const weft_val_t *args, weft_val_t *results)
{
    int rc = weft_caller_consume_fuel(c, (uint64_t)(uint32_t)args[0].of.i32);
    if (rc) return rc;
    results[0] = weft_val_i32(1);
    return 0;
}

TEST(host_work_is_charged_to_fuel)
{
    fixture_t fx;
    weft_val_t arg, res;
    fx_open(&fx, "host_fuel");
    ASSERT_OK(weft_linker_define_func(fx.linker, "env", "work", h_functype("i", "i"), host_work, NULL));
    fx_instantiate(&fx);
    /* fuel off: host work is free */
    arg = weft_val_i32(1000000);
    ASSERT_OK_S(fx.store, fx_call(&fx, "run", &arg, 1, &res, 1));
    /* fuel on: the host's units come out of the same budget, deterministically */
    weft_store_set_fuel(fx.store, 10000);
    arg = weft_val_i32(5000);
    ASSERT_OK_S(fx.store, fx_call(&fx, "run", &arg, 1, &res, 1));
    uint64_t left = weft_store_fuel(fx.store);
    ASSERT_TRUE(left < 5000 && left > 4000);
    /* more than is left: the call traps out of fuel and the budget is spent */
    arg = weft_val_i32(6000);
    ASSERT_TRAP(fx.store, fx_call(&fx, "run", &arg, 1, &res, 1), WEFT_TRAP_OUT_OF_FUEL);
    ASSERT_EQ_U64(weft_store_fuel(fx.store), 0);
}
