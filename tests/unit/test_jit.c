/*
 * test_jit.c — the compiled tier (docs/jit.md): the x86-64 assembler's
 * encodings against the Intel manual's, and modules run with
 * WEFT_TIER_JIT against the interpreter (results, traps, backtraces and
 * fuel identical). The tier is x86-64 Linux only; elsewhere the tests
 * check that it says it is unavailable and that the interpreter runs.
 */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "jit/regcache.h"
#include "jit/x64.h"
#include "weft/blake3.h"

/* The bytes b holds must be exactly `want` (n bytes). */
static void expect_bytes(const char *file, int line, xbuf_t *b, const uint8_t *want, size_t n)
{
    char got[128] = "", exp[128] = "";
    for (size_t i = 0; i < b->len && i < 40; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%02x ", b->p[i]);
    for (size_t i = 0; i < n && i < 40; i++)
        snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "%02x ", want[i]);
    bool same = b->len == n && memcmp(b->p, want, n) == 0;
    x_free(b);
    if (!same) test_fail(file, line, "encoded %s, expected %s", got, exp);
}
#define EXPECT(b, ...)                                                        \
    do {                                                                      \
        static const uint8_t want_[] = {__VA_ARGS__};                         \
        expect_bytes(__FILE__, __LINE__, (b), want_, sizeof want_);           \
    } while (0)

TEST(jit_x64_encodes_loads_and_stores)
{
    xbuf_t b = {0};
    x_load(&b, 8, false, true, RAX, RBX, NO_REG, 8); /* mov rax, [rbx+8] */
    EXPECT(&b, 0x48, 0x8B, 0x43, 0x08);
    x_load(&b, 8, false, true, R12, R14, NO_REG, 0x20); /* mov r12, [r14+0x20] */
    EXPECT(&b, 0x4D, 0x8B, 0x66, 0x20);
    x_load(&b, 4, false, false, RAX, R13, NO_REG, 0); /* mov eax, [r13+0]: r13 needs a disp */
    EXPECT(&b, 0x41, 0x8B, 0x45, 0x00);
    x_load(&b, 8, false, true, RAX, RSP, NO_REG, 0); /* mov rax, [rsp]: rsp needs a SIB */
    EXPECT(&b, 0x48, 0x8B, 0x04, 0x24);
    x_load(&b, 1, true, true, RAX, R12, RAX, 0); /* movsx rax, byte [r12+rax] */
    EXPECT(&b, 0x49, 0x0F, 0xBE, 0x04, 0x04);
    x_load(&b, 2, false, false, RAX, RBX, NO_REG, 0x1000); /* movzx eax, word [rbx+0x1000] */
    EXPECT(&b, 0x0F, 0xB7, 0x83, 0x00, 0x10, 0x00, 0x00);
    x_load(&b, 4, true, true, RAX, RBX, NO_REG, -8); /* movsxd rax, [rbx-8] */
    EXPECT(&b, 0x48, 0x63, 0x43, 0xF8);
    x_store(&b, 1, RCX, R12, RAX, 0); /* mov [r12+rax], cl */
    EXPECT(&b, 0x41, 0x88, 0x0C, 0x04);
    x_store(&b, 2, RCX, R12, RAX, 0); /* mov [r12+rax], cx */
    EXPECT(&b, 0x66, 0x41, 0x89, 0x0C, 0x04);
    x_store(&b, 8, R13, RCX, NO_REG, 0x40); /* mov [rcx+0x40], r13 */
    EXPECT(&b, 0x4C, 0x89, 0x69, 0x40);
}

TEST(jit_x64_encodes_arithmetic_and_control)
{
    xbuf_t b = {0};
    x_alu_ri(&b, 0, ALU_ADD, RAX, 5); /* add eax, 5 */
    EXPECT(&b, 0x83, 0xC0, 0x05);
    x_alu_ri(&b, 1, ALU_SUB, R13, 1000); /* sub r13, 1000 */
    EXPECT(&b, 0x49, 0x81, 0xED, 0xE8, 0x03, 0x00, 0x00);
    x_alu_rr(&b, 1, ALU_CMP, RCX, R15); /* cmp rcx, r15 */
    EXPECT(&b, 0x4C, 0x39, 0xF9);
    x_alu_rm(&b, 0, ALU_XOR, RAX, RBX, 16); /* xor eax, [rbx+16] */
    EXPECT(&b, 0x33, 0x43, 0x10);
    x_imul_rr(&b, 1, RAX, RCX); /* imul rax, rcx */
    EXPECT(&b, 0x48, 0x0F, 0xAF, 0xC1);
    x_shift_cl(&b, 0, SH_SAR, RAX); /* sar eax, cl */
    EXPECT(&b, 0xD3, 0xF8);
    x_shift_imm(&b, 0, SH_ROL, RAX, 7); /* rol eax, 7 */
    EXPECT(&b, 0xC1, 0xC0, 0x07);
    x_shift_imm(&b, 1, SH_SHR, R9, 3); /* shr r9, 3 */
    EXPECT(&b, 0x49, 0xC1, 0xE9, 0x03);
    x_setcc_movzx(&b, CC_L, RAX); /* setl al; movzx eax, al */
    EXPECT(&b, 0x0F, 0x9C, 0xC0, 0x0F, 0xB6, 0xC0);
    x_mov_imm64(&b, RCX, 0x123456789ull); /* mov rcx, imm64 */
    EXPECT(&b, 0x48, 0xB9, 0x89, 0x67, 0x45, 0x23, 0x01, 0x00, 0x00, 0x00);
    x_mov_imm64(&b, RSI, 7); /* mov esi, 7 */
    EXPECT(&b, 0xBE, 0x07, 0x00, 0x00, 0x00);
    x_mov_imm64(&b, RAX, (uint64_t)-2); /* mov rax, -2 (sign-extended imm32) */
    EXPECT(&b, 0x48, 0xC7, 0xC0, 0xFE, 0xFF, 0xFF, 0xFF);
    x_push(&b, R12);
    x_pop(&b, RBX);
    x_call_mem(&b, RAX, 24); /* call [rax+24] */
    EXPECT(&b, 0x41, 0x54, 0x5B, 0xFF, 0x50, 0x18);
    x_sse_mem(&b, false, 0x10, 0, RBX, 16); /* movss xmm0, [rbx+16] */
    x_sse_mem(&b, true, 0x58, 0, RBX, 24);  /* addsd xmm0, [rbx+24] */
    EXPECT(&b, 0xF3, 0x0F, 0x10, 0x43, 0x10, 0xF2, 0x0F, 0x58, 0x43, 0x18);
    /* a jump patched to a later offset: rel32 from the end of the jump */
    size_t at = x_jcc(&b, CC_NE);
    x_byte(&b, 0x90);
    x_patch(&b, at, b.len);
    EXPECT(&b, 0x0F, 0x85, 0x01, 0x00, 0x00, 0x00, 0x90);
}

/* Loads `name` with the given tier and instantiates it in a fresh store. */
static void fx_load_tier(fixture_t *fx, const char *name, int tier)
{
    fx_open_tier(fx, name, tier);
    fx_instantiate(fx);
}

TEST(jit_tier_is_available_on_x86_64_linux_only)
{
    ASSERT_TRUE(weft_tier_available(WEFT_TIER_INTERP));
#if defined(__x86_64__) && defined(__linux__)
    ASSERT_TRUE(weft_tier_available(WEFT_TIER_JIT));
#else
    ASSERT_FALSE(weft_tier_available(WEFT_TIER_JIT));
#endif
}

/* fuel.wat's sum and spin in both tiers: the same results and the same
 * fuel, to the unit, also when it runs out. */
TEST(jit_fuel_is_the_interpreters)
{
    fixture_t in, jit;
    fx_load_tier(&in, "fuel", WEFT_TIER_INTERP);
    fx_load_tier(&jit, "fuel", WEFT_TIER_JIT);
    uint32_t total, compiled = weft_module_compiled_functions(jit.module, &total);
#if defined(__x86_64__) && defined(__linux__)
    ASSERT_TRUE(compiled > 0);
#else
    ASSERT_EQ_U64(compiled, 0);
#endif
    ASSERT_EQ_U64(weft_module_compiled_functions(in.module, NULL), 0);
    for (int32_t n = 0; n < 200; n += 37) {
        weft_store_set_fuel(in.store, 100000);
        weft_store_set_fuel(jit.store, 100000);
        ASSERT_EQ_INT(CALL_I32(&in, "sum", 1, n), n * (n + 1) / 2);
        ASSERT_EQ_INT(CALL_I32(&jit, "sum", 1, n), n * (n + 1) / 2);
        ASSERT_EQ_U64(weft_store_fuel(jit.store), weft_store_fuel(in.store));
    }
    weft_store_set_fuel(in.store, 12345);
    weft_store_set_fuel(jit.store, 12345);
    ASSERT_TRAP(in.store, TRY_I32(&in, "spin", 0), WEFT_TRAP_OUT_OF_FUEL);
    ASSERT_TRAP(jit.store, TRY_I32(&jit, "spin", 0), WEFT_TRAP_OUT_OF_FUEL);
    ASSERT_EQ_U64(weft_store_fuel(jit.store), weft_store_fuel(in.store));
}

/* A trap deep in calls: the same code, message and backtrace. */
TEST(jit_traps_and_backtraces_are_the_interpreters)
{
    fixture_t in, jit;
    fx_load_tier(&in, "traps", WEFT_TIER_INTERP);
    fx_load_tier(&jit, "traps", WEFT_TIER_JIT);
    static const struct {
        const char *name;
        int nargs, a, b;
    } calls[] = {{"div_s", 2, 1, 0}, {"div_s", 2, INT32_MIN, -1}, {"mem_oob_load", 0, 0, 0},
                 {"mem_oob_offset_wrap", 0, 0, 0}, {"mem_oob_store", 0, 0, 0}, {"nested", 0, 0, 0},
                 {"call_v_i", 1, 100, 0}, {"unreachable", 0, 0, 0}};
    for (size_t k = 0; k < sizeof calls / sizeof *calls; k++) {
        int rin = TRY_I32(&in, calls[k].name, calls[k].nargs, calls[k].a, calls[k].b);
        int rjit = TRY_I32(&jit, calls[k].name, calls[k].nargs, calls[k].a, calls[k].b);
        ASSERT_EQ_INT(rin, WEFT_ETRAP);
        ASSERT_EQ_INT(rjit, rin);
        ASSERT_EQ_INT(weft_store_trap(jit.store), weft_store_trap(in.store));
        ASSERT_EQ_STR(weft_store_trap_message(jit.store), weft_store_trap_message(in.store));
        uint32_t bin[64], bjit[64];
        size_t nin = weft_store_trap_backtrace(in.store, bin, NULL, 64);
        size_t njit = weft_store_trap_backtrace(jit.store, bjit, NULL, 64);
        ASSERT_EQ_U64(njit, nin);
        for (size_t i = 0; i < nin; i++) ASSERT_EQ_U64(bjit[i], bin[i]);
    }
}

/* limits.wat's recursions: the depth limit traps at the same call in both
 * tiers (same fuel left, same backtrace), and deep returns agree. */
TEST(jit_recursion_stops_where_the_interpreter_stops)
{
    fixture_t in, jit;
    fx_load_tier(&in, "limits", WEFT_TIER_INTERP);
    fx_load_tier(&jit, "limits", WEFT_TIER_JIT);
    weft_store_set_fuel(in.store, 10000000);
    weft_store_set_fuel(jit.store, 10000000);
    ASSERT_TRAP(in.store, TRY_I32(&in, "rec", 1, 0), WEFT_TRAP_STACK_EXHAUSTED);
    ASSERT_TRAP(jit.store, TRY_I32(&jit, "rec", 1, 0), WEFT_TRAP_STACK_EXHAUSTED);
    ASSERT_EQ_U64(weft_store_fuel(jit.store), weft_store_fuel(in.store));
    uint32_t bin[64], bjit[64];
    size_t nin = weft_store_trap_backtrace(in.store, bin, NULL, 64);
    ASSERT_EQ_U64(weft_store_trap_backtrace(jit.store, bjit, NULL, 64), nin);
    for (size_t i = 0; i < nin; i++) ASSERT_EQ_U64(bjit[i], bin[i]);
    static const char *const fns[] = {"down", "fat"};
    for (size_t k = 0; k < 2; k++) {
        weft_store_set_fuel(in.store, 10000000);
        weft_store_set_fuel(jit.store, 10000000);
        ASSERT_EQ_INT(CALL_I32(&in, fns[k], 1, 5000), 5000);
        ASSERT_EQ_INT(CALL_I32(&jit, fns[k], 1, 5000), 5000);
        ASSERT_EQ_U64(weft_store_fuel(jit.store), weft_store_fuel(in.store));
    }
}

/* Calls export `name` with the i32 argument in both fixtures, each with
 * `fuel`: the same return code, result or trap, backtrace and fuel left. */
static void expect_same_call(fixture_t *in, fixture_t *jit, const char *name, int32_t arg, uint64_t fuel)
{
    fixture_t *fx[2] = {in, jit};
    int rc[2];
    weft_val_t res[2];
    for (int t = 0; t < 2; t++) {
        weft_extern_t ext;
        weft_val_t a = {.type = WEFT_I32, .of.i32 = arg};
        ASSERT_OK(weft_instance_export(fx[t]->inst, name, &ext));
        weft_store_set_fuel(fx[t]->store, fuel);
        memset(&res[t], 0, sizeof res[t]);
        rc[t] = weft_func_call(fx[t]->store, ext.of.func, &a, 1, &res[t], 1);
    }
    ASSERT_EQ_INT(rc[1], rc[0]);
    ASSERT_EQ_U64(weft_store_fuel(jit->store), weft_store_fuel(in->store));
    if (rc[0] == 0) {
        ASSERT_EQ_INT(res[1].of.i32, res[0].of.i32);
        return;
    }
    h_same_trap(in->store, jit->store);
}

/* Every function of fns with every argument and every fuel budget, then
 * every function of the compiled fixture runs compiled. */
static void expect_same_calls(fixture_t *in, fixture_t *jit, const char *const *fns, size_t nfns,
                              const int32_t *args, size_t nargs, const uint64_t *fuels, size_t nfuels)
{
    for (size_t f = 0; f < nfns; f++)
        for (size_t a = 0; a < nargs; a++)
            for (size_t u = 0; u < nfuels; u++) expect_same_call(in, jit, fns[f], args[a], fuels[u]);
#if defined(__x86_64__) && defined(__linux__)
    uint32_t total, compiled = weft_module_compiled_functions(jit->module, &total);
    ASSERT_EQ_U64(compiled, total);
#endif
}
#define EXPECT_SAME_CALLS(in, jit, fns, args, fuels)                                                      \
    expect_same_calls(in, jit, fns, sizeof fns / sizeof *fns, args, sizeof args / sizeof *args, fuels, \
                      sizeof fuels / sizeof *fuels)

/* jit_regs.wat: values kept in registers between ops and loop locals kept
 * in registers across the loop reach memory wherever they must (branches
 * out of the loop, returns, calls and helpers in it, traps, nested loops,
 * more locals than registers, one local read as float and integer): the
 * same results, traps and fuel as the interpreter, also when the fuel
 * runs out in the middle of the loop. */
TEST(jit_registers_agree_with_the_interpreter)
{
    fixture_t in, jit;
    fx_load_tier(&in, "jit_regs", WEFT_TIER_INTERP);
    fx_load_tier(&jit, "jit_regs", WEFT_TIER_JIT);
    static const char *const fns[] = {"escape", "table_exit", "return_inside", "call_inside", "div_inside",
                                      "oob_inside", "nested", "many", "bits", "widen", "grow_inside"};
    static const int32_t args[] = {-80, -3, 0, 1, 7, 13, 25, 4096, 65536};
    static const uint64_t fuels[] = {1000000, 300, 41};
    EXPECT_SAME_CALLS(&in, &jit, fns, args, fuels);
}

/* jit_dead.wat: loops whose header overwrites a slot before reading it,
 * which the branch back then leaves in its register, next to loops where
 * a slot only looks dead (a loop parameter, a slot overwritten on one
 * path, the loop's result read after it, nested loops, a br_table back):
 * the same results, traps and fuel as the interpreter, also when the fuel
 * runs out inside the loops. */
TEST(jit_slots_dead_at_a_loop_header_agree_with_the_interpreter)
{
    fixture_t in, jit;
    fx_load_tier(&in, "jit_dead", WEFT_TIER_INTERP);
    fx_load_tier(&jit, "jit_dead", WEFT_TIER_JIT);
    static const char *const fns[] = {"carry", "one_path", "after", "nested", "table_back", "stride"};
    static const int32_t args[] = {-1, 0, 1, 2, 5, 6, 13, 40};
    static const uint64_t fuels[] = {1000000, 500, 97, 30};
    EXPECT_SAME_CALLS(&in, &jit, fns, args, fuels);
}

/* The register cache's side of it: a branch back to a header stores the
 * dirty slots except those the header's code wrote before reading, and
 * only while nothing (a sync, a drop) ended what is known of the header. */
TEST(jit_regcache_branch_back_stores_only_slots_live_at_the_header)
{
    xbuf_t b = {0};
    rcache_t rc;
    rc_init(&rc, &b);
    rc_scan_begin(&rc, 10);
    rc_gp(&rc, 4, RAX, 3);      /* local 3 read first: live at the header */
    rc_set_gp(&rc, 8, RAX, 12); /* temporary 12 written first: dead there */
    rc_set_gp(&rc, 4, RAX, 3);  /* in rsi (rdx holds 12) */
    b.len = 0;
    rc_sync_dead(&rc, false, 10);
    EXPECT(&b, 0x89, 0x73, 0x18); /* mov [rbx+24], esi; not mov [rbx+96], rdx */
    rc_sync(&rc, false);          /* the fall-through still has 12 to store */
    EXPECT(&b, 0x48, 0x89, 0x53, 0x60);
    rc_fini(&rc);

    /* a branch before the write: 12 may be read on the other path */
    rc_init(&rc, &b);
    rc_scan_begin(&rc, 10);
    rc_sync(&rc, false);
    rc_set_gp(&rc, 8, RAX, 12);
    b.len = 0;
    rc_sync_dead(&rc, false, 10);
    EXPECT(&b, 0x48, 0x89, 0x53, 0x60);
    rc_fini(&rc);

    /* a label (drop) before the write, and a branch to another header */
    rc_init(&rc, &b);
    rc_scan_begin(&rc, 10);
    rc_drop(&rc);
    rc_set_gp(&rc, 8, RAX, 12);
    b.len = 0;
    rc_sync_dead(&rc, false, 10);
    EXPECT(&b, 0x48, 0x89, 0x53, 0x60);
    rc_scan_begin(&rc, 20);
    rc_set_gp(&rc, 8, RAX, 12);
    b.len = 0;
    rc_sync_dead(&rc, false, 10);
    EXPECT(&b, 0x48, 0x89, 0x53, 0x60);
    rc_fini(&rc);
    x_free(&b);
}

/* The fuel running out at every point of a call, the last unit included:
 * an entry function that returns with its fuel overdrawn since its last
 * check traps where the run ends, and the trap names it in both tiers
 * (the compiled tier gave an empty backtrace there: escape(-80) with 57). */
TEST(jit_fuel_running_out_anywhere_agrees_with_the_interpreter)
{
    fixture_t in, jit;
    fx_load_tier(&in, "jit_regs", WEFT_TIER_INTERP);
    fx_load_tier(&jit, "jit_regs", WEFT_TIER_JIT);
    static const char *const fns[] = {"escape", "nested", "call_inside"};
    for (size_t f = 0; f < sizeof fns / sizeof *fns; f++)
        for (uint64_t fuel = 0; fuel <= 400; fuel++) expect_same_call(&in, &jit, fns[f], -80, fuel);
    /* the same where a compiled function replaced the entry by a tail call */
    fixture_t tin, tjit;
    fx_load_tier(&tin, "jit_tail", WEFT_TIER_INTERP);
    fx_load_tier(&tjit, "jit_tail", WEFT_TIER_JIT);
    for (uint64_t fuel = 0; fuel <= 120; fuel++) expect_same_call(&tin, &tjit, "tail", 6, fuel);
}

/* Module `name` interpreted in *in and in `tier` in *other, both with a
 * call depth limit of `depth`, instantiated. */
static void open_depth_limited(fixture_t *in, fixture_t *other, const char *name, int tier, uint32_t depth)
{
    fx_open_tier(in, name, WEFT_TIER_INTERP);
    fx_open_tier(other, name, tier);
    fixture_t *fx[2] = {in, other};
    for (int t = 0; t < 2; t++) {
        weft_limits_config_t lim = weft_store_limits(fx[t]->store);
        lim.max_call_depth = depth;
        ASSERT_OK(weft_store_set_limits(fx[t]->store, &lim));
        fx_instantiate(fx[t]);
    }
}

/* Direct calls (jit_calls.wat): a callee's locals read before written are
 * zero after another callee left junk in the same slots (40 of them, and
 * 80, past the 64 the mask tracks); the depth limit falls on the same call
 * when direct calls and call_indirect alternate (s->depth, not counted by
 * direct calls, written out for the helper), at the default limit and at
 * a lowered one crossing the frame array's growth; an out-of-bounds load
 * under direct calls names every function in the backtrace; and the fuel
 * running out anywhere in them traps where the interpreter does. */
TEST(jit_direct_calls_agree_with_the_interpreter)
{
    fixture_t in, jit;
    fx_load_tier(&in, "jit_calls", WEFT_TIER_INTERP);
    fx_load_tier(&jit, "jit_calls", WEFT_TIER_JIT);
    ASSERT_EQ_INT(CALL_I32(&jit, "fresh", 1, 0), 9);
    ASSERT_EQ_INT(CALL_I32(&jit, "fresh", 1, 1), 109);
    ASSERT_EQ_INT(CALL_I32(&jit, "fresh_big", 1, 5), 5);
    static const char *const fns[] = {"fresh", "fresh_big", "mixed", "oob_deep"};
    static const int32_t args[] = {0, 1, 5, 40, 9998, 9999, 20000};
    for (size_t f = 0; f < sizeof fns / sizeof *fns; f++)
        for (size_t a = 0; a < sizeof args / sizeof *args; a++) expect_same_call(&in, &jit, fns[f], args[a], 100000000);
    for (uint64_t fuel = 0; fuel <= 150; fuel++) {
        expect_same_call(&in, &jit, "fresh", 1, fuel);
        expect_same_call(&in, &jit, "mixed", 9, fuel);
        expect_same_call(&in, &jit, "oob_deep", 3, fuel);
    }
    weft_store_set_fuel(jit.store, 100000000);
    ASSERT_TRAP(jit.store, TRY_I32(&jit, "oob_deep", 1, 2), WEFT_TRAP_MEMORY_OOB);
    uint32_t bt[8];
    ASSERT_EQ_U64(weft_store_trap_backtrace(jit.store, bt, NULL, 8), 5); /* leaf, middle x3, oob_deep */
    ASSERT_TRUE(bt[0] != bt[1] && bt[1] == bt[2] && bt[2] == bt[3] && bt[3] != bt[4]);
    /* a depth limit of 300: the frame array (256 frames first) grows once */
    fixture_t lin, ljit;
    open_depth_limited(&lin, &ljit, "jit_calls", WEFT_TIER_JIT, 300);
    for (int32_t n = 250; n <= 310; n++) expect_same_call(&lin, &ljit, "mixed", n, 100000000);
    ASSERT_EQ_INT(CALL_I32(&ljit, "mixed", 1, 298), 298);
    ASSERT_TRAP(ljit.store, TRY_I32(&ljit, "mixed", 1, 300), WEFT_TRAP_STACK_EXHAUSTED);
}

static uint64_t call_bits(fixture_t *fx, const char *name, bool wide, uint64_t a, uint64_t b)
{
    weft_extern_t ext;
    weft_val_t args[2], res;
    for (int k = 0; k < 2; k++) {
        args[k].type = wide ? WEFT_I64 : WEFT_I32;
        if (wide) args[k].of.i64 = (int64_t)(k ? b : a);
        else args[k].of.i32 = (int32_t)(uint32_t)(k ? b : a);
    }
    ASSERT_OK(weft_instance_export(fx->inst, name, &ext));
    ASSERT_OK(weft_func_call(fx->store, ext.of.func, args, 2, &res, 1));
    return wide ? (uint64_t)res.of.i64 : (uint32_t)res.of.i32;
}

/* Float ops with NaN operands give the same bits in both tiers, so
 * replicas that mix tiers agree; min and max give the first NaN operand,
 * quieted (num.h: the interpreter's handler and the compiled tier's helper
 * were two inlined copies of a + b, compiled with their operands in
 * different orders). */
TEST(jit_nan_operands_give_the_same_bits_in_both_tiers)
{
    fixture_t in, jit;
    fx_load_tier(&in, "nan_pick", WEFT_TIER_INTERP);
    fx_load_tier(&jit, "nan_pick", WEFT_TIER_JIT);
    static const uint64_t d[] = {0x7ff8000000000001ull, 0xfff8000000000002ull, 0x7ff0000000000003ull,
                                 0x3ff0000000000000ull, 0xfff0000000000000ull};
    static const uint64_t f[] = {0x7fc00001u, 0xffc00002u, 0x7f800003u, 0x3f800000u, 0xff800000u};
    static const char *const wide_fns[] = {"add", "sub", "mul", "div", "max", "min"};
    for (size_t x = 0; x < 5; x++)
        for (size_t y = 0; y < 5; y++) {
            for (size_t k = 0; k < sizeof wide_fns / sizeof *wide_fns; k++) {
                uint64_t bi = call_bits(&in, wide_fns[k], true, d[x], d[y]);
                ASSERT_EQ_U64(call_bits(&jit, wide_fns[k], true, d[x], d[y]), bi);
                if (k >= 4 && (x < 3 || y < 3)) /* min, max: the first NaN, quieted */
                    ASSERT_EQ_U64(bi, (x < 3 ? d[x] : d[y]) | 0x0008000000000000ull);
            }
            uint64_t fi = call_bits(&in, "f32max", false, f[x], f[y]);
            ASSERT_EQ_U64(call_bits(&jit, "f32max", false, f[x], f[y]), fi);
            if (x < 3 || y < 3) ASSERT_EQ_U64(fi, (x < 3 ? f[x] : f[y]) | 0x00400000u);
            ASSERT_EQ_U64(call_bits(&jit, "f32add", false, f[x], f[y]), call_bits(&in, "f32add", false, f[x], f[y]));
        }
    for (size_t x = 0; x < 5; x++) {
        ASSERT_EQ_U64(call_bits(&jit, "maxk", true, d[x], 0), call_bits(&in, "maxk", true, d[x], 0));
        ASSERT_EQ_U64(call_bits(&jit, "addk", true, d[x], 0), call_bits(&in, "addk", true, d[x], 0));
    }
}

/* A two-operand export called in both tiers: the same result bits, or
 * the same trap, and the same fuel left. */
static void expect_same_pair(fixture_t *in, fixture_t *jit, const char *name, bool wide, uint64_t a, uint64_t b)
{
    fixture_t *fx[2] = {in, jit};
    int rc[2];
    weft_val_t res[2];
    for (int t = 0; t < 2; t++) {
        weft_extern_t ext;
        weft_val_t args[2];
        for (int k = 0; k < 2; k++) {
            args[k].type = wide ? WEFT_I64 : WEFT_I32;
            if (wide) args[k].of.i64 = (int64_t)(k ? b : a);
            else args[k].of.i32 = (int32_t)(uint32_t)(k ? b : a);
        }
        ASSERT_OK(weft_instance_export(fx[t]->inst, name, &ext));
        weft_store_set_fuel(fx[t]->store, 1000);
        memset(&res[t], 0, sizeof res[t]);
        rc[t] = weft_func_call(fx[t]->store, ext.of.func, args, 2, &res[t], 1);
    }
    ASSERT_EQ_INT(rc[1], rc[0]);
    ASSERT_EQ_U64(weft_store_fuel(jit->store), weft_store_fuel(in->store));
    if (rc[0] != 0)
        ASSERT_EQ_INT(weft_store_trap(jit->store), weft_store_trap(in->store));
    else if (wide)
        ASSERT_EQ_U64((uint64_t)res[1].of.i64, (uint64_t)res[0].of.i64);
    else
        ASSERT_EQ_U64((uint32_t)res[1].of.i32, (uint32_t)res[0].of.i32);
}

/* int_ops.wat: div and rem run inline in the compiled tier (zero divisor,
 * INT_MIN / -1 and rem by -1 handled before idiv, rdx kept around it),
 * shifts and multiplies computed in their destination's register, the
 * commutative ones with operands swapped when the destination is the
 * second (never sub): the
 * same results, traps and fuel as the interpreter, also in loops whose
 * locals are pinned in registers, rdx among them. */
TEST(jit_integer_division_shifts_and_multiplies_agree_with_the_interpreter)
{
    fixture_t in, jit;
    fx_load_tier(&in, "int_ops", WEFT_TIER_INTERP);
    fx_load_tier(&jit, "int_ops", WEFT_TIER_JIT);
    static const uint64_t v32[] = {0, 1, 2, 3, 7, 31, 32, 33, 0x7fffffff, 0x80000000u, 0x80000001u,
                                   0xfffffffeu, 0xffffffffu, 0x12345678u};
    static const uint64_t v64[] = {0, 1, 2, 7, 63, 64, 65, 0x7fffffffffffffffull, 0x8000000000000000ull,
                                   0x8000000000000001ull, 0xfffffffffffffffeull, 0xffffffffffffffffull,
                                   0x123456789abcdefull, 0xffffffff00000000ull};
    static const char *const n32[] = {"divs", "divu", "rems", "remu", "divs_into_b", "remu_into_a",
                                      "shl", "shr_s", "shl_into_b", "mix", "xor_into_b"};
    static const char *const n64[] = {"divs64", "divu64", "rems64", "remu64", "rotr64", "mix64", "sub64_into_b"};
    size_t n = sizeof v32 / sizeof *v32;
    for (size_t x = 0; x < n; x++)
        for (size_t y = 0; y < n; y++) {
            for (size_t k = 0; k < sizeof n32 / sizeof *n32; k++) expect_same_pair(&in, &jit, n32[k], false, v32[x], v32[y]);
            for (size_t k = 0; k < sizeof n64 / sizeof *n64; k++) expect_same_pair(&in, &jit, n64[k], true, v64[x], v64[y]);
        }
    /* the wasm spec's answers, not only agreement */
    ASSERT_EQ_U64(call_bits(&jit, "divs", false, 0xfffffff9u, 2), 0xfffffffdu); /* -7 / 2 = -3 */
    ASSERT_EQ_U64(call_bits(&jit, "rems", false, 0xfffffff9u, 2), 0xffffffffu); /* -7 % 2 = -1 */
    ASSERT_EQ_U64(call_bits(&jit, "rems", false, 0x80000000u, 0xffffffffu), 0);
    ASSERT_EQ_U64(call_bits(&jit, "divs", false, 5, 0xffffffffu), 0xfffffffbu);
    ASSERT_EQ_U64(call_bits(&jit, "divu64", true, 0xffffffffffffffffull, 3), 0x5555555555555555ull);
    static const int32_t args[] = {0, 1, -1, 2, -2, 3, 7, -7, 1000, INT32_MIN, INT32_MAX};
    static const uint64_t fuels[] = {1000000, 200, 37};
    static const char *const loops[] = {"divloop", "divloop64", "min_div"};
    EXPECT_SAME_CALLS(&in, &jit, loops, args, fuels);
}

#if defined(__x86_64__) && defined(__linux__)
#include <pthread.h>

typedef struct {
    fixture_t *fx;
    int rc;
    weft_trap_code_t trap;
} small_stack_run_t;

static void *run_rec(void *arg)
{
    small_stack_run_t *r = arg;
    weft_extern_t ext;
    weft_val_t a = {.type = WEFT_I32, .of.i32 = 0}, res;
    if (weft_instance_export(r->fx->inst, "rec", &ext) != 0) return NULL;
    r->rc = weft_func_call(r->fx->store, ext.of.func, &a, 1, &res, 1);
    r->trap = weft_store_trap(r->fx->store);
    return NULL;
}

/* Compiled calls use the thread's own stack: on a 256 KiB one, endless
 * recursion stops with a trap at the C stack's floor, long before the
 * depth limit, instead of overflowing it. */
TEST(jit_recursion_on_a_small_thread_stack_traps)
{
    fixture_t jit;
    fx_load_tier(&jit, "limits", WEFT_TIER_JIT);
    small_stack_run_t r = {&jit, -1, WEFT_TRAP_NONE};
    pthread_attr_t attr;
    pthread_t t;
    ASSERT_EQ_INT(pthread_attr_init(&attr), 0);
    ASSERT_EQ_INT(pthread_attr_setstacksize(&attr, 256 * 1024), 0);
    ASSERT_EQ_INT(pthread_create(&t, &attr, run_rec, &r), 0);
    pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    ASSERT_EQ_INT(r.rc, WEFT_ETRAP);
    ASSERT_EQ_INT(r.trap, WEFT_TRAP_STACK_EXHAUSTED);
}
#endif

/* ---- tier auto and the code cache (docs/jit.md) ----------------------------- */

#if defined(__x86_64__) && defined(__linux__)
/* A function turns compiled after its 1,000th count (calls and loop
 * back-edges), not before; the call that counted it finishes interpreted
 * and the next runs compiled, with the interpreter's results and fuel. */
TEST(jit_auto_compiles_a_function_once_hot)
{
    fixture_t in, au;
    fx_load_tier(&in, "fuel", WEFT_TIER_INTERP);
    fx_load_tier(&au, "fuel", WEFT_TIER_AUTO);
    ASSERT_EQ_U64(weft_module_compiled_functions(au.module, NULL), 0);
    for (int k = 1; k < 1000; k++) ASSERT_EQ_INT(CALL_I32(&au, "ok", 0), 42);
    ASSERT_EQ_U64(weft_module_compiled_functions(au.module, NULL), 0);
    ASSERT_EQ_INT(CALL_I32(&au, "ok", 0), 42); /* the 1,000th call */
    ASSERT_EQ_U64(weft_module_compiled_functions(au.module, NULL), 1);
    ASSERT_EQ_INT(CALL_I32(&au, "ok", 0), 42);
    /* sum(600): one call and 600 back-edges; the second call makes it hot
     * halfway through, the third runs compiled: the same fuel each time */
    for (int k = 0; k < 3; k++) {
        weft_store_set_fuel(in.store, 100000);
        weft_store_set_fuel(au.store, 100000);
        ASSERT_EQ_INT(CALL_I32(&in, "sum", 1, 600), 600 * 601 / 2);
        ASSERT_EQ_INT(CALL_I32(&au, "sum", 1, 600), 600 * 601 / 2);
        ASSERT_EQ_U64(weft_store_fuel(au.store), weft_store_fuel(in.store));
        ASSERT_EQ_U64(weft_module_compiled_functions(au.module, NULL), k == 0 ? 1 : 2);
    }
    /* an endless loop gets hot and runs out of fuel where the interpreter does */
    for (int k = 0; k < 2; k++) {
        weft_store_set_fuel(in.store, 5000);
        weft_store_set_fuel(au.store, 5000);
        ASSERT_TRAP(in.store, TRY_I32(&in, "spin", 0), WEFT_TRAP_OUT_OF_FUEL);
        ASSERT_TRAP(au.store, TRY_I32(&au, "spin", 0), WEFT_TRAP_OUT_OF_FUEL);
        ASSERT_EQ_U64(weft_store_fuel(au.store), weft_store_fuel(in.store));
    }
    ASSERT_EQ_U64(weft_module_compiled_functions(au.module, NULL), 3);
}

/* jit_auto_calls.wat: functions tier auto compiled one at a time call
 * each other directly (a callee compiled first: its internal entry in
 * the caller's code; a callee compiled later: read at each call, through
 * jh_call until then), with the interpreter's results, fuel, traps,
 * backtraces and depth limit; also while a callee gets compiled in the
 * middle of its caller's loop. */
TEST(jit_auto_calls_between_functions_compiled_alone_agree_with_the_interpreter)
{
#if defined(__x86_64__) && defined(__linux__)
    fixture_t in, au;
    fx_load_tier(&in, "jit_auto_calls", WEFT_TIER_INTERP);
    fx_load_tier(&au, "jit_auto_calls", WEFT_TIER_AUTO);
    /* leaf first, then mid (hot within one chain of 1,200 levels) */
    for (int k = 0; k < 1000; k++) ASSERT_EQ_INT(CALL_I32(&au, "leaf", 1, k), k + 5);
    ASSERT_EQ_U64(weft_module_compiled_functions(au.module, NULL), 1);
    weft_store_set_fuel(au.store, 100000000);
    ASSERT_EQ_INT(CALL_I32(&au, "chain", 1, 1200), CALL_I32(&in, "chain", 1, 1200));
    ASSERT_EQ_U64(weft_module_compiled_functions(au.module, NULL), 2);
    static const int32_t args[] = {0, 1, 2, 7, 300, 1200};
    for (size_t a = 0; a < sizeof args / sizeof *args; a++) expect_same_call(&in, &au, "chain", args[a], 100000000);
    for (uint64_t fuel = 0; fuel <= 120; fuel++) expect_same_call(&in, &au, "chain", 6, fuel);
    /* early hot while late never ran; then late hot halfway through a loop */
    for (int k = 0; k < 1000; k++) expect_same_call(&in, &au, "early", 0, 1000);
    ASSERT_EQ_U64(weft_module_compiled_functions(au.module, NULL), 3);
    for (uint64_t fuel = 0; fuel <= 120; fuel++) expect_same_call(&in, &au, "early", 5, fuel);
    ASSERT_EQ_U64(weft_module_compiled_functions(au.module, NULL), 3); /* late: 605 calls */
    expect_same_call(&in, &au, "early", 3000, 100000000);
    ASSERT_EQ_U64(weft_module_compiled_functions(au.module, NULL), 4);
    for (uint64_t fuel = 0; fuel <= 120; fuel++) expect_same_call(&in, &au, "early", 5, fuel);
    expect_same_call(&in, &au, "early", 3000, 100000000);
    /* an out-of-bounds load 3 levels down a chain compiled alone */
    for (int k = 0; k < 1000; k++) ASSERT_EQ_INT(CALL_I32(&au, "probe", 1, 0), 0);
    weft_store_set_fuel(au.store, 100000000);
    ASSERT_EQ_INT(CALL_I32(&au, "deep", 2, 1100, 0), 1101);
    ASSERT_EQ_U64(weft_module_compiled_functions(au.module, NULL), 6);
    for (int t = 0; t < 2; t++) {
        fixture_t *fx = t ? &au : &in;
        weft_store_set_fuel(fx->store, 100000000);
        ASSERT_TRAP(fx->store, TRY_I32(fx, "deep", 2, 3, 65536), WEFT_TRAP_MEMORY_OOB);
    }
    h_same_trap(in.store, au.store);
    uint32_t bt[8];
    ASSERT_EQ_U64(weft_store_trap_backtrace(au.store, bt, NULL, 8), 6); /* probe, mid2 x4, deep */
    /* a depth limit of 300, reached inside the compiled chain */
    fixture_t lin, lau;
    open_depth_limited(&lin, &lau, "jit_auto_calls", WEFT_TIER_AUTO, 300);
    for (int k = 0; k < 1000; k++) ASSERT_EQ_INT(CALL_I32(&lau, "leaf", 1, k), k + 5);
    for (int k = 0; k < 6; k++) expect_same_call(&lin, &lau, "chain", 200, 100000000);
    ASSERT_EQ_U64(weft_module_compiled_functions(lau.module, NULL), 2);
    for (int32_t n = 250; n <= 310; n++) expect_same_call(&lin, &lau, "chain", n, 100000000);
    ASSERT_TRAP(lau.store, TRY_I32(&lau, "chain", 1, 300), WEFT_TRAP_STACK_EXHAUSTED);
#endif
}

/* Loads fuel.wasm in `tier` with the code cache in dir; the module is
 * deleted by the caller. */
static weft_module_t *load_cached(weft_engine_t *e, int tier, const char *dir)
{
    weft_load_options_t o;
    memset(&o, 0, sizeof o);
    o.tier = tier;
    o.code_cache_dir = dir;
    size_t len;
    uint8_t *bytes = h_read_wasm("fuel", &len);
    weft_module_t *m = NULL;
    char msg[256];
    if (weft_module_new_opts(e, bytes, len, &o, &m, msg, sizeof msg) != 0) return NULL;
    return m;
}

static void delete_module(void *m)
{
    weft_module_delete(m);
}

static void remove_dir(void *p)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", (const char *)p);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", (const char *)p);
    free(p);
}

/* The one .jit file in dir, or "" */
static void cache_file(const char *dir, char *out, size_t size)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls '%s'/*.jit 2>/dev/null", dir);
    out[0] = '\0';
    FILE *f = popen(cmd, "r");
    if (f && fgets(out, (int)size, f)) out[strcspn(out, "\n")] = '\0';
    if (f) pclose(f);
}

/* jit stores the code; a second load maps it (nothing compiled) and runs
 * it as the first did; auto takes it too; a damaged, a truncated and a
 * foreign file are refused with a note, never run, and replaced. */
TEST(jit_code_cache_maps_instead_of_compiling_and_refuses_bad_files)
{
    char tmpl[] = "/tmp/weft-jitcache-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl) != NULL);
    char *dir = strdup(tmpl);
    test_defer(remove_dir, dir);
    weft_engine_t *e = h_engine();
    const char *note;
    weft_module_t *m = load_cached(e, WEFT_TIER_JIT, dir);
    ASSERT_TRUE(m != NULL);
    ASSERT_EQ_INT(weft_module_code_cache(m, &note), WEFT_CODE_CACHE_STORED);
    uint32_t compiled = weft_module_compiled_functions(m, NULL);
    ASSERT_TRUE(compiled > 0);
    weft_module_delete(m);
    char path[512];
    cache_file(dir, path, sizeof path);
    ASSERT_TRUE(path[0] != '\0');

    for (int tier = WEFT_TIER_JIT; tier <= WEFT_TIER_AUTO; tier++) {
        m = load_cached(e, tier, dir);
        ASSERT_TRUE(m != NULL);
        ASSERT_EQ_INT(weft_module_code_cache(m, &note), WEFT_CODE_CACHE_HIT);
        ASSERT_EQ_U64(weft_module_compiled_functions(m, NULL), compiled);
        fixture_t fx;
        memset(&fx, 0, sizeof fx);
        fx.engine = e;
        fx.module = m;
        test_defer(delete_module, m);
        fx.store = h_store(e);
        fx.linker = h_linker(fx.store);
        fx_instantiate(&fx);
        weft_store_set_fuel(fx.store, 100000);
        ASSERT_EQ_INT(CALL_I32(&fx, "sum", 1, 100), 5050);
        weft_store_set_fuel(fx.store, 777);
        ASSERT_TRAP(fx.store, TRY_I32(&fx, "spin", 0), WEFT_TRAP_OUT_OF_FUEL);
    }

    /* damage: one byte of code flipped, the file cut short; foreign: a
     * file of another build (a byte of its build id changed and the
     * checksum made anew, so only the key refuses it) */
    static const char *const damage[] = {"checksum mismatch", "checksum mismatch",
                                         "another weft build"};
    for (size_t k = 0; k < 3; k++) {
        size_t len;
        uint8_t *bytes = h_read_file(path, &len);
        if (k == 0) {
            bytes[len - 100] ^= 0x40;
        } else if (k == 1) {
            len /= 2;
        } else {
            bytes[8] ^= 1; /* the first byte of the build id, after the magic */
            weft_blake3_t h;
            weft_blake3_init(&h);
            weft_blake3_update(&h, bytes, len - 32);
            weft_blake3_finalize(&h, bytes + len - 32, 32);
        }
        FILE *f = fopen(path, "wb");
        ASSERT_TRUE(f != NULL);
        ASSERT_EQ_U64(fwrite(bytes, 1, len, f), len);
        ASSERT_EQ_INT(fclose(f), 0);
        m = load_cached(e, WEFT_TIER_JIT, dir);
        ASSERT_TRUE(m != NULL);
        ASSERT_EQ_INT(weft_module_code_cache(m, &note), WEFT_CODE_CACHE_REJECTED);
        if (!strstr(note, damage[k]) || !strstr(note, "ignored") || !strstr(note, "stored"))
            FAIL("case %zu: note %s", k, note);
        ASSERT_EQ_U64(weft_module_compiled_functions(m, NULL), compiled); /* compiled again */
        weft_module_delete(m);
        m = load_cached(e, WEFT_TIER_JIT, dir); /* and the file replaced */
        ASSERT_EQ_INT(weft_module_code_cache(m, &note), WEFT_CODE_CACHE_HIT);
        weft_module_delete(m);
    }
}

/* The entries of dir other than . and .. */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* A process killed while it writes a cache file (here by SIGXFSZ, its
 * file size limit one byte) leaves nothing in the directory: the file has
 * no name until it is complete. A named temporary file (NAME.jit.XXXXXX)
 * stayed there for good before. The next load stores the file. */
TEST(jit_code_cache_writer_killed_midway_leaves_no_file)
{
    char tmpl[] = "/tmp/weft-jitcache-XXXXXX";
    ASSERT_TRUE(mkdtemp(tmpl) != NULL);
    char *dir = strdup(tmpl);
    test_defer(remove_dir, dir);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        struct rlimit one = {1, 1};
        if (setrlimit(RLIMIT_FSIZE, &one) != 0) _exit(2);
        weft_module_t *m = load_cached(weft_engine_new(), WEFT_TIER_JIT, dir);
        _exit(m ? 0 : 3); /* not reached: the write kills it */
    }
    int st = 0;
    ASSERT_EQ_INT(waitpid(pid, &st, 0), pid);
    if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGXFSZ))
        FAIL("child status %#x, want killed by SIGXFSZ", (unsigned)st);
    ASSERT_EQ_INT(dir_entries(dir), 0);
    const char *note;
    weft_module_t *m = load_cached(h_engine(), WEFT_TIER_JIT, dir);
    ASSERT_TRUE(m != NULL);
    ASSERT_EQ_INT(weft_module_code_cache(m, &note), WEFT_CODE_CACHE_STORED);
    weft_module_delete(m);
    ASSERT_EQ_INT(dir_entries(dir), 1);
}
#endif
