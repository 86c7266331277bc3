/*
 * jit.c — the compiled tier's baseline (docs/jit.md, step 1): one pass
 * over a function's internal code, one template of x86-64 per op, slots in
 * memory as the interpreter keeps them, bounds checks by guard regions
 * (guard.c) or explicit where there are none, fuel
 * charged by the same FUEL ops and checked by the same CHECK ops.
 *
 * A function with an op that has no template here stays interpreted; the
 * tiers call each other (jit_rt.c), so a module may mix them. Numeric ops
 * without an inline template call the C expression ops.def gives them
 * (jit_helpers), so their meaning exists once.
 *
 * Layout of one compiled function:
 *   prologue      push rbx, r12-r15; rbx = fp, r14 = ctx, r12/r15 = memory
 *                 0's base and size, r13 = fuel
 *   body          the ops in order; branches go to the op's machine offset
 *   epilogue      eax = 0 (or a trap code), s->fuel = r13, pop, ret
 *   trap stubs    per trap site: undo a fuel charge, the code, then jh_trap
 */
#include "jit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "regcache.h"
#include "x64.h"

#if defined(__x86_64__) && defined(__linux__)

bool jit_supported(void)
{
    return true;
}

/* ---- what each op is ------------------------------------------------------ */

enum { K_OP, K_UN, K_BIN, K_BRCMP, K_UNT, K_BINT, K_LOAD, K_STORE };

typedef struct {
    uint8_t kind;
    uint8_t variant; /* BIN: 0, IMM, R, IMM_R; BRCMP: same; LOAD: 0, A, X, R; STORE: 0, A, X, K, AK, XK */
    uint8_t out;     /* bytes of the result field (fo) */
    uint8_t size;    /* LOAD/STORE: bytes accessed */
    bool sign;       /* LOAD: sign-extending */
} opinfo_t;

#define FSIZE(f) ((uint8_t)sizeof(((slot_t *)0)->f))
#define CSIGNED(ct) ((ct)-1 < (ct)1)
static const opinfo_t op_info[OP__COUNT] = {
#define OP(n, len, m) [OP_##n] = {K_OP, 0, 0, 0, false},
#define UN(n, w, vi, vo, fi, fo, e) [OP_##n] = {K_UN, 0, FSIZE(fo), 0, false},
#define BIN(n, w, vi, vo, fi, fo, e)                                          \
    [OP_##n] = {K_BIN, 0, FSIZE(fo), 0, false}, [OP_##n##_IMM] = {K_BIN, 1, FSIZE(fo), 0, false}, \
    [OP_##n##_R] = {K_BIN, 2, FSIZE(fo), 0, false}, [OP_##n##_IMM_R] = {K_BIN, 3, FSIZE(fo), 0, false},
#define BRCMP(n, fi, cop)                                                     \
    [OP_BR_##n] = {K_BRCMP, 0, FSIZE(fi), 0, false}, [OP_BR_##n##_IMM] = {K_BRCMP, 1, FSIZE(fi), 0, false}, \
    [OP_BR_##n##_R] = {K_BRCMP, 2, FSIZE(fi), 0, false}, [OP_BR_##n##_IMM_R] = {K_BRCMP, 3, FSIZE(fi), 0, false},
#define UNT(n, w, vi, vo, fi, fo, f) [OP_##n] = {K_UNT, 0, FSIZE(fo), 0, false},
#define BINT(n, w, vi, vo, fi, fo, f) [OP_##n] = {K_BINT, 0, FSIZE(fo), 0, false},
#define LOAD(n, w, vo, ct, fo)                                                \
    [OP_##n] = {K_LOAD, 0, FSIZE(fo), sizeof(ct), CSIGNED(ct)},               \
    [OP_##n##_A] = {K_LOAD, 1, FSIZE(fo), sizeof(ct), CSIGNED(ct)},           \
    [OP_##n##_X] = {K_LOAD, 2, FSIZE(fo), sizeof(ct), CSIGNED(ct)},           \
    [OP_##n##_R] = {K_LOAD, 3, FSIZE(fo), sizeof(ct), CSIGNED(ct)},
#define STORE(n, w, vi, ct, fi)                                               \
    [OP_##n] = {K_STORE, 0, 0, sizeof(ct), false}, [OP_##n##_A] = {K_STORE, 1, 0, sizeof(ct), false}, \
    [OP_##n##_X] = {K_STORE, 2, 0, sizeof(ct), false}, [OP_##n##_K] = {K_STORE, 3, 0, sizeof(ct), false}, \
    [OP_##n##_AK] = {K_STORE, 4, 0, sizeof(ct), false}, [OP_##n##_XK] = {K_STORE, 5, 0, sizeof(ct), false},
#include "../ops.def"
};

/* The x86 condition of the ten integer compares, in ops.def's order (EQ NE
 * LT_S LT_U GT_S GT_U LE_S LE_U GE_S GE_U) and its inverse. */
static const uint8_t cmp_cc[10] = {CC_E, CC_NE, CC_L, CC_B, CC_G, CC_A, CC_LE, CC_BE, CC_GE, CC_AE};

/* Handler address -> op, by open addressing (built once). */
#define HMAP_SIZE 2048u
static const void *hmap_key[HMAP_SIZE];
static int16_t hmap_op[HMAP_SIZE];
static pthread_once_t hmap_once = PTHREAD_ONCE_INIT;

static size_t hmap_slot(const void *h)
{
    size_t k = ((uintptr_t)h >> 2) * 2654435761u % HMAP_SIZE;
    while (hmap_key[k] && hmap_key[k] != h) k = (k + 1) % HMAP_SIZE;
    return k;
}

static void hmap_build(void)
{
    for (int op = 0; op < OP__COUNT; op++) {
        size_t k = hmap_slot(interp_labels[op]);
        if (!hmap_key[k]) { /* two ops may share a handler: keep the first */
            hmap_key[k] = interp_labels[op];
            hmap_op[k] = (int16_t)op;
        }
    }
}

static int op_of(const void *h)
{
    size_t k = hmap_slot(h);
    return hmap_key[k] ? hmap_op[k] : -1;
}

/* Whether the tier has a template for op (the others leave the whole
 * function to the interpreter). */
static bool op_supported(int op)
{
    switch (op_info[op].kind) {
    case K_OP:
        switch (op) {
        case OP_UNREACHABLE: case OP_FUEL: case OP_CHECK: case OP_HOT: case OP_BR: case OP_BR_IF:
        case OP_BR_UNLESS: case OP_BR_IF_R: case OP_BR_UNLESS_R: case OP_BR_TABLE: case OP_RETURN: case OP_RETURN_COPY:
        case OP_BR_I32_TEST_IMM: case OP_BR_I32_TESTZ_IMM: case OP_BR_I32_TEST_IMM_R: case OP_BR_I32_TESTZ_IMM_R:
        case OP_CALL: case OP_CALL_LOCAL: case OP_CALL_INDIRECT: case OP_COPY: case OP_COPY2: case OP_CONST:
        case OP_SELECT: case OP_GLOBAL_GET: case OP_GLOBAL_SET: case OP_MEMORY_SIZE: case OP_MEMORY_GROW:
        case OP_REF_FUNC: case OP_REF_IS_NULL: case OP_I32_ADD_IMM2: case OP_I32_ADD_IMM2_R:
        case OP_I32_ADD_IMM3: case OP_I32_ADD_IMM3_R:
        case OP_GLOBAL_GET_ADD_IMM: case OP_GLOBAL_GET_ADD_IMM_SET: case OP_GLOBAL_SET_ADD_IMM:
        case OP_I32_LOAD2: case OP_I32_LOAD8_U2: case OP_I32_ADD_ADD_IMM: case OP_I32_ADD_ADD_IMM_R:
        case OP_I32_LOAD8_U_STORE8: case OP_I32_LOAD8_U_A_STORE8:
            return true;
        default: return false;
        }
    default: return true;
    }
}

/* ---- the function being compiled ------------------------------------------ */

typedef struct {
    size_t at;   /* where the 32-bit value goes */
    size_t base; /* it is target - base */
    size_t cell; /* the target op's cell */
} fixup_t;

typedef struct {
    size_t at;       /* a jcc's displacement */
    uint32_t code;   /* the trap */
    int64_t refund;  /* fuel charged by the op, given back */
} trapsite_t;

/* A direct call to patch once every function's code is placed. */
typedef struct {
    size_t at;       /* the call's rel32 */
    uint32_t callee; /* defined-function index */
} callfix_t;

typedef struct {
    callfix_t *v;
    size_t n, cap;
} callfixes_t;

typedef struct {
    xbuf_t *b;
    const weft_module_t *m;
    const bool *will;     /* per defined function: it will be compiled */
    bool alone;           /* tier auto: this function is compiled alone (jit_compile_function) */
    callfixes_t *calls;   /* the module's direct calls */
    const funcdef_t *fd;
    size_t *off; /* per cell: machine offset of the op starting there */
    fixup_t *fix;
    size_t nfix, fix_cap;
    trapsite_t *trap;
    size_t ntrap, trap_cap;
    size_t *eax_trap, n_eax_trap, eax_trap_cap; /* jnz sites: eax holds a code to report */
    size_t *unwind, n_unwind, unwind_cap;       /* jnz sites: eax holds a reported code */
    size_t *ret, n_ret, ret_cap;                /* jmp sites to the epilogue */
    /* Direct calls' out-of-line checks (jh_deeper): the jbe to the stub
     * and where the stub goes back to. */
    struct deeper { size_t at, back; } *deeper;
    size_t n_deeper, deeper_cap;
    uint32_t index; /* the function's index in the module (backtraces) */
    /* A forward conditional branch writes the cache back only where it is
     * taken: its jcc goes to a stub (after the function) that stores
     * what rc_sync would have and jumps to the target; the fall-through
     * keeps its registers dirty. `oline`: 0 no (synced before the op),
     * 1 yes, 2 yes with the pinned locals (the branch leaves the loop). */
    int oline;
    struct oline_stub { size_t at, cell; int n; rc_store_t st[RC_N]; } *stub;
    size_t nstub, stub_cap;
    bool failed;
    /* Slots in registers (regcache.h). The interpreter's accumulator twins
     * (_R) need nothing of their own: the op before them left their
     * operand in the cache. */
    rcache_t rc;
    bool *loop_calls; /* per innermost loop: it calls a helper or a function */
} jc_t;

static bool grow(void **p, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return true;
    size_t c = *cap ? *cap * 2 : 16;
    void *q = realloc(*p, c * elem);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

static void add_fixup(jc_t *j, size_t at, size_t base, size_t cell)
{
    if (!grow((void **)&j->fix, &j->fix_cap, j->nfix, sizeof *j->fix)) {
        j->failed = true;
        return;
    }
    j->fix[j->nfix++] = (fixup_t){at, base, cell};
}

static void add_site(jc_t *j, size_t **v, size_t *n, size_t *cap, size_t at)
{
    if (!grow((void **)v, cap, *n, sizeof **v)) {
        j->failed = true;
        return;
    }
    (*v)[(*n)++] = at;
}

/* A conditional jump to a trap stub raising `code`, giving back `refund`
 * units of fuel first. */
static void trap_if(jc_t *j, int cc, uint32_t code, int64_t refund) /* cc < 0: always */
{
    size_t at = cc < 0 ? x_jmp(j->b) : x_jcc(j->b, cc);
    if (!grow((void **)&j->trap, &j->trap_cap, j->ntrap, sizeof *j->trap)) {
        j->failed = true;
        return;
    }
    j->trap[j->ntrap++] = (trapsite_t){at, code, refund};
}

static void jump_to_cell(jc_t *j, int cc, size_t cell) /* cc < 0: jmp */
{
    rc_store_t st[RC_N];
    int n = cc >= 0 && j->oline ? rc_dirty(&j->rc, j->oline == 2, st) : 0;
    size_t at = cc < 0 ? x_jmp(j->b) : x_jcc(j->b, cc);
    if (!n) {
        add_fixup(j, at, at + 4, cell);
        return;
    }
    if (!grow((void **)&j->stub, &j->stub_cap, j->nstub, sizeof *j->stub)) {
        j->failed = true;
        return;
    }
    struct oline_stub *o = &j->stub[j->nstub++];
    o->at = at, o->cell = cell, o->n = n;
    memcpy(o->st, st, (size_t)n * sizeof *st);
}

#define CTX(f) ((int32_t)offsetof(jit_ctx_t, f))

static void ld_slot(jc_t *j, int size, int reg, uint32_t slot)
{
    rc_gp(&j->rc, size, reg, slot);
}

static void st_slot(jc_t *j, int size, int reg, uint32_t slot)
{
    rc_set_gp(&j->rc, size, reg, slot);
}

static void call_helper(jc_t *j, int index)
{
    x_load(j->b, 8, false, true, RAX, R14, NO_REG, CTX(helpers));
    x_call_mem(j->b, RAX, (int32_t)(8 * index));
}

/* Both go through rcx: eax may hold a helper's result. */
static void fuel_out(jc_t *j) /* s->fuel = r13 */
{
    x_load(j->b, 8, false, true, RCX, R14, NO_REG, CTX(s));
    x_store(j->b, 8, R13, RCX, NO_REG, (int32_t)offsetof(weft_store_t, fuel));
}

static void fuel_in(jc_t *j) /* r13 = s->fuel */
{
    x_load(j->b, 8, false, true, RCX, R14, NO_REG, CTX(s));
    x_load(j->b, 8, false, true, R13, RCX, NO_REG, (int32_t)offsetof(weft_store_t, fuel));
}

static void mem_in(jc_t *j) /* r12, r15 = memory 0 */
{
    x_load(j->b, 8, false, true, R12, R14, NO_REG, CTX(mem));
    x_load(j->b, 8, false, true, R15, R14, NO_REG, CTX(memsize));
}

/* reg = the second operand of a BIN or BRCMP: a slot or an immediate. */
static void ld_operand(jc_t *j, int w, int reg, bool imm, uint64_t v)
{
    if (imm)
        x_mov_imm64(j->b, reg, w ? v : (uint32_t)v);
    else
        ld_slot(j, w ? 8 : 4, reg, (uint32_t)v);
}

/* A first operand only read (a compare's): its cache register, or rax
 * loaded with it. */
static int gp_operand(jc_t *j, int w, uint32_t a)
{
    int r = rc_gp_cached(&j->rc, w ? 8 : 4, a);
    if (r >= 0) return r;
    ld_slot(j, w ? 8 : 4, RAX, a);
    return RAX;
}

/* reg op= the second operand (ALU group op, or compare); reg is not rcx. */
static void alu_operand(jc_t *j, int w, int alu, int reg, bool imm, uint64_t v)
{
    if (imm && (!w || (int64_t)v == (int32_t)v)) {
        x_alu_ri(j->b, w, alu, reg, (int32_t)v);
    } else if (imm) {
        x_mov_imm64(j->b, RCX, v);
        x_alu_rr(j->b, w, alu, reg, RCX);
    } else {
        rc_alu(&j->rc, w, alu, reg, (uint32_t)v);
    }
}

/* ---- templates -------------------------------------------------------------- */

/* xmm = a float operand: slot v, or with imm the constant v (its low 32
 * bits for an f32), through rax (movd/movq). */
static void ld_float(jc_t *j, bool dbl, int xmm, bool imm, uint64_t v)
{
    if (imm) {
        static const uint8_t movq[] = {0x0F, 0x6E};
        x_mov_imm64(j->b, RAX, dbl ? v : (uint32_t)v);
        x_rm_reg(j->b, 0x66, dbl, movq, 2, xmm, RAX);
    } else {
        rc_xmm(&j->rc, dbl, xmm, (uint32_t)v);
    }
}

/* slot d = the float compare k (EQ NE LT GT LE GE, ops.def's order) of
 * slots a and b, with ucomiss/ucomisd: unordered (a NaN) sets ZF, PF and
 * CF, so every compare but NE is false for it, as in C. a < b is tested
 * as b > a ("above": CF and ZF clear), a <= b as b >= a. */
static void float_compare(jc_t *j, bool dbl, int k, uint32_t d, uint32_t a, bool imm, uint64_t b)
{
    static const uint8_t ucomis[] = {0x0F, 0x2E};
    bool swap = k == 2 || k == 4;
    ld_float(j, dbl, 0, false, a);
    ld_float(j, dbl, 1, imm, b);
    x_rm_reg(j->b, dbl ? 0x66 : 0, 0, ucomis, 2, swap ? 1 : 0, swap ? 0 : 1); /* ucomis x, y */
    if (k <= 1) { /* EQ: ZF and not PF; NE: not ZF or PF */
        uint8_t set_z[] = {0x0F, (uint8_t)(0x90 | (k ? CC_NE : CC_E))};
        uint8_t set_p[] = {0x0F, (uint8_t)(0x90 | (k ? CC_P : CC_NP))};
        uint8_t combine = k ? 0x08 : 0x20; /* or al, cl / and al, cl */
        x_rm_reg(j->b, 0, 0, set_z, 2, 0, RAX);
        x_rm_reg(j->b, 0, 0, set_p, 2, 0, RCX);
        x_rm_reg(j->b, 0, 0, &combine, 1, RCX, RAX);
        static const uint8_t movzx[] = {0x0F, 0xB6};
        x_rm_reg(j->b, 0, 0, movzx, 2, RAX, RAX);
    } else {
        x_setcc_movzx(j->b, k <= 3 ? CC_A : CC_AE, RAX);
    }
    st_slot(j, 4, RAX, d);
}

/* A shift (sh >= 0) or multiply computed in d's register (rc_dest), the
 * count or second factor in rcx, an immediate one in the instruction
 * (imul r, r, imm32 when it fits). false when d has no register to
 * spare (the cache is off, or d is the second operand only): the caller
 * then computes in rax. */
static bool shift_mul_dest(jc_t *j, int w, int sh, uint32_t d, uint32_t a, bool imm, uint64_t bv)
{
    int size = w ? 8 : 4;
    bool imm32 = imm && (!w || (int64_t)bv == (int32_t)bv);
    if (!imm32 && !(imm && sh >= 0)) ld_operand(j, w, RCX, imm, bv);
    int r = rc_dest(&j->rc, false, size, d, a, imm ? -1 : (int64_t)bv);
    if (r < 0) return false; /* rcx as the caller would load it: nothing lost */
    ld_slot(j, size, r, a);
    if (sh >= 0 && imm) {
        x_shift_imm(j->b, w, sh, r, (uint8_t)(bv & (w ? 63 : 31)));
    } else if (sh >= 0) {
        x_shift_cl(j->b, w, sh, r);
    } else if (imm32) {
        static const uint8_t imul_imm[] = {0x69}; /* imul r, r/m, imm32 */
        x_rm_reg(j->b, 0, w, imul_imm, 1, r, r);
        x_u32(j->b, (uint32_t)bv);
    } else {
        x_imul_rr(j->b, w, r, RCX);
    }
    rc_dest_done(&j->rc, d, size);
    return true;
}

/* An integer or float BIN inline, or false to leave it to its helper. */
static bool bin_inline(jc_t *j, int base, const cell_t *pc, bool imm)
{
    uint32_t d = pc[1].p.a, a = pc[1].p.b;
    uint64_t bv = imm ? pc[2].u : pc[2].p.a;
    int w;
    if (base >= OP_I32_ADD && base <= OP_I32_ROTR)
        w = 0;
    else if (base >= OP_I64_ADD && base <= OP_I64_ROTR)
        w = 1;
    else if (base >= OP_I32_EQ && base <= OP_I32_GE_U)
        w = 0;
    else if (base >= OP_I64_EQ && base <= OP_I64_GE_U)
        w = 1;
    else
        w = -1;
    int alu = -1, sh = -1;
    switch (base) {
    case OP_I32_ADD: case OP_I64_ADD: alu = ALU_ADD; break;
    case OP_I32_SUB: case OP_I64_SUB: alu = ALU_SUB; break;
    case OP_I32_AND: case OP_I64_AND: alu = ALU_AND; break;
    case OP_I32_OR: case OP_I64_OR: alu = ALU_OR; break;
    case OP_I32_XOR: case OP_I64_XOR: alu = ALU_XOR; break;
    case OP_I32_SHL: case OP_I64_SHL: sh = SH_SHL; break;
    case OP_I32_SHR_S: case OP_I64_SHR_S: sh = SH_SAR; break;
    case OP_I32_SHR_U: case OP_I64_SHR_U: sh = SH_SHR; break;
    case OP_I32_ROTL: case OP_I64_ROTL: sh = SH_ROL; break;
    case OP_I32_ROTR: case OP_I64_ROTR: sh = SH_ROR; break;
    default: break;
    }
    if (w >= 0 && !imm && (uint32_t)bv == d && a != d && (alu == ALU_ADD || alu == ALU_AND || alu == ALU_OR ||
                                                         alu == ALU_XOR || base == OP_I32_MUL || base == OP_I64_MUL)) {
        uint32_t t = a; /* d = a op d, commutative: d op= a in d's own register */
        a = (uint32_t)bv;
        bv = t;
    }
    if (w >= 0 && alu >= 0) { /* in d's register when it has one to spare, else in rax */
        int r = rc_dest(&j->rc, false, w ? 8 : 4, d, a, imm ? -1 : (int64_t)bv);
        ld_slot(j, w ? 8 : 4, r < 0 ? RAX : r, a);
        alu_operand(j, w, alu, r < 0 ? RAX : r, imm, bv);
        if (r < 0)
            st_slot(j, w ? 8 : 4, RAX, d);
        else
            rc_dest_done(&j->rc, d, w ? 8 : 4);
        return true;
    }
    bool mul = base == OP_I32_MUL || base == OP_I64_MUL;
    if (w >= 0 && (sh >= 0 || mul) && shift_mul_dest(j, w, sh, d, a, imm, bv)) return true;
    if (w >= 0 && (sh >= 0 || mul)) { /* the hardware masks a shift's count as the spec does */
        if (mul || !imm) ld_operand(j, w, RCX, imm, bv);
        ld_slot(j, w ? 8 : 4, RAX, a);
        if (mul)
            x_imul_rr(j->b, w, RAX, RCX);
        else if (imm)
            x_shift_imm(j->b, w, sh, RAX, (uint8_t)(bv & (w ? 63 : 31)));
        else
            x_shift_cl(j->b, w, sh, RAX);
        st_slot(j, w ? 8 : 4, RAX, d);
        return true;
    }
    if (w >= 0 && ((base >= OP_I32_EQ && base <= OP_I32_GE_U) || (base >= OP_I64_EQ && base <= OP_I64_GE_U))) {
        int k = (base - (w ? OP_I64_EQ : OP_I32_EQ)) / 4;
        alu_operand(j, w, ALU_CMP, gp_operand(j, w, a), imm, bv);
        x_setcc_movzx(j->b, cmp_cc[k], RAX);
        st_slot(j, 4, RAX, d);
        return true;
    }
    /* f32/f64 add, sub, mul, div: the SSE instruction C compiles them to */
    uint8_t sse = 0;
    bool dbl = false;
    switch (base) {
    case OP_F32_ADD: sse = 0x58; break;
    case OP_F32_SUB: sse = 0x5C; break;
    case OP_F32_MUL: sse = 0x59; break;
    case OP_F32_DIV: sse = 0x5E; break;
    case OP_F64_ADD: sse = 0x58, dbl = true; break;
    case OP_F64_SUB: sse = 0x5C, dbl = true; break;
    case OP_F64_MUL: sse = 0x59, dbl = true; break;
    case OP_F64_DIV: sse = 0x5E, dbl = true; break;
    default: break;
    }
    if (sse) { /* in d's register when it has one to spare, else in xmm0 */
        uint8_t op[] = {0x0F, sse};
        int x = rc_dest(&j->rc, true, dbl ? 8 : 4, d, a, imm ? -1 : (int64_t)bv);
        ld_float(j, dbl, 1, imm, bv);
        ld_float(j, dbl, x < 0 ? 0 : x, false, a);
        x_rm_reg(j->b, dbl ? 0xF2 : 0xF3, 0, op, 2, x < 0 ? 0 : x, 1); /* op x, xmm1 */
        if (x < 0)
            rc_set_xmm(&j->rc, dbl, 0, d);
        else
            rc_dest_done(&j->rc, d, dbl ? 8 : 4);
        return true;
    }
    if ((base >= OP_F32_EQ && base <= OP_F32_GE) || (base >= OP_F64_EQ && base <= OP_F64_GE)) {
        float_compare(j, base >= OP_F64_EQ, (base - (base >= OP_F64_EQ ? OP_F64_EQ : OP_F32_EQ)) / 4, d, a,
                      imm, bv);
        return true;
    }
    return false;
}

/* The float UNs whose C is one SSE instruction or a bit operation, or
 * false for the helper. Conversions from unsigned i32 convert the
 * zero-extended 64-bit value, as C compiles them. */
static bool float_un_inline(jc_t *j, int op, uint32_t d, uint32_t a)
{
    xbuf_t *b = j->b;
    static const uint8_t cvt[] = {0x0F, 0x2A}, sqrt[] = {0x0F, 0x51}, cvtf[] = {0x0F, 0x5A};
    bool dbl_out, wide_in;
    switch (op) {
    case OP_F32_ABS: case OP_F32_NEG:
        ld_slot(j, 4, RAX, a);
        x_alu_ri(b, 0, op == OP_F32_ABS ? ALU_AND : ALU_XOR, RAX,
                 op == OP_F32_ABS ? 0x7fffffff : (int32_t)0x80000000u);
        st_slot(j, 4, RAX, d);
        return true;
    case OP_F64_ABS: case OP_F64_NEG:
        ld_slot(j, 8, RAX, a);
        x_mov_imm64(b, RCX, op == OP_F64_ABS ? 0x7fffffffffffffffull : 0x8000000000000000ull);
        x_alu_rr(b, 1, op == OP_F64_ABS ? ALU_AND : ALU_XOR, RAX, RCX);
        st_slot(j, 8, RAX, d);
        return true;
    case OP_F32_SQRT: case OP_F64_SQRT:
        dbl_out = op == OP_F64_SQRT;
        ld_float(j, dbl_out, 0, false, a);
        x_rm_reg(b, dbl_out ? 0xF2 : 0xF3, 0, sqrt, 2, 0, 0);
        break;
    case OP_F32_CONVERT_I32_S: case OP_F32_CONVERT_I64_S:
    case OP_F64_CONVERT_I32_S: case OP_F64_CONVERT_I64_S:
        dbl_out = op == OP_F64_CONVERT_I32_S || op == OP_F64_CONVERT_I64_S;
        wide_in = op == OP_F32_CONVERT_I64_S || op == OP_F64_CONVERT_I64_S;
        ld_slot(j, wide_in ? 8 : 4, RAX, a);
        x_rm_reg(b, dbl_out ? 0xF2 : 0xF3, wide_in, cvt, 2, 0, RAX);
        break;
    case OP_F32_CONVERT_I32_U: case OP_F64_CONVERT_I32_U:
        dbl_out = op == OP_F64_CONVERT_I32_U;
        ld_slot(j, 4, RAX, a);
        x_rm_reg(b, dbl_out ? 0xF2 : 0xF3, 1, cvt, 2, 0, RAX);
        break;
    case OP_F64_PROMOTE_F32: case OP_F32_DEMOTE_F64: /* cvtss2sd / cvtsd2ss */
        dbl_out = op == OP_F64_PROMOTE_F32;
        ld_float(j, !dbl_out, 0, false, a);
        x_rm_reg(b, dbl_out ? 0xF3 : 0xF2, 0, cvtf, 2, 0, 0); /* the prefix names the source */
        break;
    default:
        return false;
    }
    rc_set_xmm(&j->rc, dbl_out, 0, d);
    return true;
}

/* A UN inline (moves, extensions, eqz), or false for its helper. */
static bool un_inline(jc_t *j, int op, const cell_t *pc)
{
    uint32_t d = pc[1].p.a, a = pc[1].p.b;
    int size, out;
    bool sign;
    switch (op) {
    case OP_I32_EQZ:
    case OP_I64_EQZ:
        ld_slot(j, op == OP_I64_EQZ ? 8 : 4, RAX, a);
        x_test_rr(j->b, op == OP_I64_EQZ, RAX, RAX);
        x_setcc_movzx(j->b, CC_E, RAX);
        st_slot(j, 4, RAX, d);
        return true;
    case OP_I32_WRAP_I64: case OP_I32_REINTERPRET_F32: case OP_F32_REINTERPRET_I32:
        size = 4, out = 4, sign = false; break;
    case OP_I64_REINTERPRET_F64: case OP_F64_REINTERPRET_I64:
        size = 8, out = 8, sign = false; break;
    case OP_I64_EXTEND_I32_S: size = 4, out = 8, sign = true; break;
    case OP_I64_EXTEND_I32_U: size = 4, out = 8, sign = false; break;
    case OP_I32_EXTEND8_S: size = 1, out = 4, sign = true; break;
    case OP_I32_EXTEND16_S: size = 2, out = 4, sign = true; break;
    case OP_I64_EXTEND8_S: size = 1, out = 8, sign = true; break;
    case OP_I64_EXTEND16_S: size = 2, out = 8, sign = true; break;
    case OP_I64_EXTEND32_S: size = 4, out = 8, sign = true; break;
    default: return float_un_inline(j, op, d, a);
    }
    ld_slot(j, size == 8 ? 8 : 4, RAX, a); /* a 4-byte read zero-extends */
    if (sign) { /* movsx r, r8/r16; movsxd rax, eax */
        static const uint8_t movsx8[] = {0x0F, 0xBE}, movsx16[] = {0x0F, 0xBF}, movsxd[] = {0x63};
        const uint8_t *ext = size == 1 ? movsx8 : size == 2 ? movsx16 : movsxd;
        x_rm_reg(j->b, 0, out == 8, ext, size == 4 ? 1 : 2, RAX, RAX);
    }
    st_slot(j, out, RAX, d);
    return true;
}

/* rax = the effective address of a LOAD or STORE less the displacement
 * returned, which the access adds. With guard regions (m->jit_guarded)
 * that is all: base + zero-extended i32 + u32 offset + 8 stays inside
 * memory 0's reservation, and an access past its size faults into the
 * trap (guard.c). Without, it is checked against memory 0's size first
 * (trap: out of bounds memory access) and the displacement is 0. */
static int32_t mem_address(jc_t *j, const opinfo_t *oi, const cell_t *pc, uint32_t a)
{
    uint64_t off;
    ld_slot(j, 4, RAX, a); /* the address zero-extended */
    int mode = oi->variant % 3; /* a LOAD's _R and a STORE's _K forms address as the plain one */
    if (mode == 1 || mode == 2) { /* _A, _X: a 32-bit add first */
        if (mode == 1)
            x_alu_ri(j->b, 0, ALU_ADD, RAX, (int32_t)pc[2].p.b);
        else
            rc_alu(&j->rc, 0, ALU_ADD, RAX, pc[2].p.b);
        off = pc[2].p.a;
    } else {
        off = pc[2].u;
    }
    if (j->m->jit_guarded && off <= INT32_MAX) return (int32_t)off;
    if (off && off <= INT32_MAX) {
        x_alu_ri(j->b, 1, ALU_ADD, RAX, (int32_t)off);
    } else if (off) {
        x_mov_imm64(j->b, RCX, off);
        x_alu_rr(j->b, 1, ALU_ADD, RAX, RCX);
    }
    if (j->m->jit_guarded) return 0;
    x_lea(j->b, RCX, RAX, NO_REG, oi->size);
    x_alu_rr(j->b, 1, ALU_CMP, RCX, R15);
    trap_if(j, CC_A, WEFT_TRAP_MEMORY_OOB, 0);
    return 0;
}

/* s->depth as the interpreter counts it, for a helper that runs a
 * function: ctx->depth0 plus the direct calls below this body
 * ((ctx->rsp0 - rsp) / JIT_CALL_BYTES, which no direct call counts);
 * and the end of this frame, above which a host function may use the
 * value stack. */
static void depth_out(jc_t *j)
{
    xbuf_t *b = j->b;
    x_load(b, 8, false, true, RAX, R14, NO_REG, CTX(rsp0));
    x_alu_rr(b, 1, ALU_SUB, RAX, RSP);
    x_shift_imm(b, 1, SH_SHR, RAX, (uint8_t)__builtin_ctz(JIT_CALL_BYTES));
    x_alu_rm(b, 0, ALU_ADD, RAX, R14, CTX(depth0));
    x_load(b, 8, false, true, RCX, R14, NO_REG, CTX(s));
    x_store(b, 4, RAX, RCX, NO_REG, (int32_t)offsetof(weft_store_t, depth));
    x_lea(b, RAX, RBX, NO_REG, SLOT(j->fd->frame_slots));
    x_store(b, 8, RAX, R14, NO_REG, CTX(frame_end));
}

/* A call through jh_call or jh_call_indirect (jit_rt.c). */
static void helper_call_op(jc_t *j, int op, const cell_t *pc)
{
    xbuf_t *b = j->b;
    depth_out(j);
    fuel_out(j);
    x_mov_rr(b, 1, RDI, R14);
    if (op == OP_CALL) {
        x_mov_imm64(b, RSI, pc[1].p.a);
        x_lea(b, RDX, RBX, NO_REG, SLOT(pc[1].p.b));
    } else {
        x_mov_imm64(b, RSI, pc[1].p.a);
        x_mov_imm64(b, RDX, pc[1].p.b);
        ld_slot(j, 4, RCX, pc[2].p.b);
        x_lea(b, R8, RBX, NO_REG, SLOT(pc[2].p.a));
    }
    call_helper(j, op == OP_CALL ? JH_CALL : JH_CALL_INDIRECT);
    fuel_in(j);
    mem_in(j);
    x_test_rr(b, 0, RAX, RAX);
    add_site(j, &j->unwind, &j->n_unwind, &j->unwind_cap, x_jcc(b, CC_NE));
}

/* Zeroes the callee's locals the interpreter's call zeroes
 * (funcdef_t.zero_mask, zero_from) in its frame at slot `base`: plain
 * stores, or rep stosq for a long run past the 64 tracked. */
static void zero_locals(jc_t *j, const funcdef_t *cd, uint32_t base)
{
    xbuf_t *b = j->b;
    uint32_t run = cd->nlocals - cd->zero_from;
    if (!cd->zero_mask && !run) return;
    x_alu_rr(b, 0, ALU_XOR, RAX, RAX);
    for (uint64_t mask = cd->zero_mask; mask; mask &= mask - 1)
        x_store(b, 8, RAX, RBX, NO_REG, SLOT((uint64_t)base + cd->nparams + (uint32_t)__builtin_ctzll(mask)));
    if (run <= 8) {
        for (uint32_t k = cd->zero_from; k < cd->nlocals; k++) x_store(b, 8, RAX, RBX, NO_REG, SLOT((uint64_t)base + k));
    } else { /* rep stosq: rcx qwords of rax at rdi */
        x_lea(b, RDI, RBX, NO_REG, SLOT((uint64_t)base + cd->zero_from));
        x_mov_imm64(b, RCX, run);
        x_byte(b, 0xF3);
        x_byte(b, 0x48);
        x_byte(b, 0xAB);
    }
}

/* A call of a compiled function of this module: straight to its internal
 * entry, with the interpreter's checks inline: the depth limit and the C
 * stack as one compare of rsp with ctx->call_limit (out of line past it:
 * jh_deeper grows the frame array or refuses the call), the value stack,
 * the callee's locals zeroed. Nothing else: s->depth is not counted (a
 * helper call writes it out, depth_out), the callee's trap stubs name it
 * by index, and it keeps r12/r15 current (reloaded after anything that
 * may grow memory), so the caller reloads nothing. */
static void direct_call(jc_t *j, const cell_t *pc, const void *at, bool via_field)
{
    xbuf_t *b = j->b;
    uint32_t f = pc[1].p.a, base = pc[1].p.b;
    const funcdef_t *cd = &j->m->funcs[f - j->m->nfunc_imports];
    x_alu_rm(b, 1, ALU_CMP, RSP, R14, CTX(call_limit));
    size_t slow = x_jcc(b, CC_BE);
    if (grow((void **)&j->deeper, &j->deeper_cap, j->n_deeper, sizeof *j->deeper))
        j->deeper[j->n_deeper++] = (struct deeper){slow, b->len};
    else
        j->failed = true;
    x_lea(b, RDX, RBX, NO_REG, SLOT((uint64_t)base + cd->frame_slots));
    x_alu_rm(b, 1, ALU_CMP, RDX, R14, CTX(stack_end));
    trap_if(j, CC_A, WEFT_TRAP_STACK_EXHAUSTED, 0);
    zero_locals(j, cd, base);
    if (base) x_lea(b, RBX, RBX, NO_REG, SLOT(base));
    if (at) { /* compiled before, into a mapping of its own: call rax */
        x_mov_imm64(b, RAX, (uint64_t)(uintptr_t)at);
        if (via_field) x_load(b, 8, false, true, RAX, RAX, NO_REG, 0); /* its jit_internal */
        x_byte(b, 0xFF);
        x_byte(b, 0xD0);
    } else { /* compiled with this one: call rel32, patched once placed */
        x_byte(b, 0xE8);
        if (grow((void **)&j->calls->v, &j->calls->cap, j->calls->n, sizeof *j->calls->v))
            j->calls->v[j->calls->n++] = (callfix_t){b->len, f - j->m->nfunc_imports};
        else
            j->failed = true;
        x_u32(b, 0);
    }
    if (base) x_lea(b, RBX, RBX, NO_REG, -SLOT(base));
    x_test_rr(b, 0, RAX, RAX);
    add_site(j, &j->unwind, &j->n_unwind, &j->unwind_cap, x_jcc(b, CC_NE));
}

/* A call of function pc[1].p.a that is not compiled with this one: an
 * import, or (tier auto, compiled alone) a defined function compiled one
 * at a time too, before this one or after. Such a function publishes its
 * internal entry (funcdef_t.jit_internal, once, never changed): one
 * compiled already is called there directly; for one not compiled yet
 * the call reads the field each time and goes direct once it is set,
 * through jh_call (jit_invoke) until then. Only code compiled alone
 * holds these absolute addresses: a whole module (which the code cache
 * stores) is compiled at load, and its calls go direct or through
 * jh_call. Caller and callee agree on memory: code compiled alone keeps
 * explicit bounds checks unless the module's memory is guarded
 * (jit_guarded, one setting for all of its functions). */
static void local_call(jc_t *j, const cell_t *pc)
{
    uint32_t f = pc[1].p.a;
    if (f < j->m->nfunc_imports || !j->alone) {
        helper_call_op(j, OP_CALL, pc);
        return;
    }
    funcdef_t *cd = (funcdef_t *)&j->m->funcs[f - j->m->nfunc_imports];
    const void *at = atomic_load_explicit(&cd->jit_internal, memory_order_acquire);
    if (at) {
        direct_call(j, pc, at, false);
        return;
    }
    xbuf_t *b = j->b;
    x_mov_imm64(b, RAX, (uint64_t)(uintptr_t)&cd->jit_internal);
    x_load(b, 8, false, true, RAX, RAX, NO_REG, 0);
    x_test_rr(b, 1, RAX, RAX);
    size_t slow = x_jcc(b, CC_E);
    /* rax is lost to the stack checks' out-of-line paths (jh_deeper):
     * direct_call reads the field again just before its call */
    direct_call(j, pc, (const void *)&cd->jit_internal, true);
    size_t done = x_jmp(b);
    x_patch(b, slow, b->len);
    helper_call_op(j, OP_CALL, pc);
    x_patch(b, done, b->len);
}

/* slot d = slot a, all 8 bytes: one move into d's register when it has
 * one, else through rax. */
static void copy_slot(jc_t *j, uint32_t d, uint32_t a)
{
    int r = rc_dest(&j->rc, false, 8, d, a, -1);
    if (r < 0) {
        ld_slot(j, 8, RAX, a);
        st_slot(j, 8, RAX, d);
        return;
    }
    ld_slot(j, 8, r, a);
    rc_dest_done(&j->rc, d, 8);
}

/* i32/i64 div and rem inline, x86's div or idiv after the checks of
 * num.h: a zero divisor traps; a divisor of -1 never reaches idiv (whose
 * INT_MIN / -1 faults), div_s negates instead (neg sets OF for INT_MIN:
 * the overflow trap) and rem_s gives 0. div takes rdx:rax and rdx is a
 * cache register, so rdx is kept on the stack around it. */
static bool divrem_inline(jc_t *j, int op, const cell_t *pc)
{
    int w = op >= OP_I64_DIV_S;
    bool sgn = op == OP_I32_DIV_S || op == OP_I32_REM_S || op == OP_I64_DIV_S || op == OP_I64_REM_S;
    bool rem = op == OP_I32_REM_S || op == OP_I32_REM_U || op == OP_I64_REM_S || op == OP_I64_REM_U;
    if (!(op >= OP_I32_DIV_S && op <= OP_I32_REM_U) && !(op >= OP_I64_DIV_S && op <= OP_I64_REM_U))
        return false;
    xbuf_t *b = j->b;
    int size = w ? 8 : 4;
    static const uint8_t grp3[] = {0xF7}; /* /3 neg, /6 div, /7 idiv */
    ld_slot(j, size, RCX, pc[2].p.a);
    x_test_rr(b, w, RCX, RCX);
    trap_if(j, CC_E, WEFT_TRAP_DIV_ZERO, 0);
    ld_slot(j, size, RAX, pc[1].p.b);
    size_t minus_one = 0, done = 0;
    if (sgn) {
        x_alu_ri(b, w, ALU_CMP, RCX, -1);
        minus_one = x_jcc(b, CC_NE);
        if (rem) {
            x_alu_rr(b, 0, ALU_XOR, RAX, RAX);
        } else {
            x_rm_reg(b, 0, w, grp3, 1, 3, RAX);
            trap_if(j, CC_O, WEFT_TRAP_INT_OVERFLOW, 0);
        }
        done = x_jmp(b);
        x_patch(b, minus_one, b->len);
    }
    x_push(b, RDX);
    if (sgn) {
        if (w) x_byte(b, 0x48); /* cqo */
        x_byte(b, 0x99);        /* cdq */
    } else {
        x_alu_rr(b, 0, ALU_XOR, RDX, RDX);
    }
    x_rm_reg(b, 0, w, grp3, 1, sgn ? 7 : 6, RCX);
    if (rem) x_mov_rr(b, w, RAX, RDX);
    x_pop(b, RDX);
    if (sgn) x_patch(b, done, b->len);
    st_slot(j, size, RAX, pc[1].p.a);
    return true;
}

/* Around a call of a helper or a function: every cache register is
 * caller-saved, and the callee reads and writes slots in memory. */
static void call_begin(jc_t *j)
{
    rc_sync(&j->rc, true);
    rc_drop(&j->rc);
    j->rc.off = true;
    if (j->rc.tag >= 0) j->loop_calls[j->rc.tag] = true;
}

static void call_end(jc_t *j)
{
    j->rc.off = false;
    rc_reload_pinned(&j->rc);
}

/* A load of memory 0 (op_info's kind K_LOAD), into the destination's
 * register when it has one. */
static void emit_load(jc_t *j, const opinfo_t *oi, const cell_t *pc)
{
    int32_t disp = mem_address(j, oi, pc, pc[1].p.b);
    int r = rc_dest(&j->rc, false, oi->out, pc[1].p.a, -1, -1);
    x_load(j->b, oi->size, oi->sign, oi->out == 8, r < 0 ? RAX : r, R12, RAX, disp);
    if (r < 0)
        st_slot(j, oi->out, RAX, pc[1].p.a);
    else
        rc_dest_done(&j->rc, pc[1].p.a, oi->out);
}

/* A store to memory 0 (op_info's kind K_STORE). */
static void emit_store(jc_t *j, const opinfo_t *oi, const cell_t *pc)
{
    int32_t disp = mem_address(j, oi, pc, pc[1].p.a);
    if (oi->variant >= 3) /* _K: the value is cell 3 */
        x_mov_imm64(j->b, RCX, oi->size == 8 ? pc[3].u : (uint32_t)pc[3].u);
    else
        ld_slot(j, oi->size == 8 ? 8 : 4, RCX, pc[1].p.b);
    x_store(j->b, oi->size, RCX, R12, RAX, disp);
}

static void emit_op(jc_t *j, int op, size_t i)
{
    const cell_t *pc = &j->fd->code[i];
    const opinfo_t *oi = &op_info[op];
    xbuf_t *b = j->b;
    switch (oi->kind) {
    case K_UN:
        if (un_inline(j, op, pc)) return;
        call_begin(j);
        x_load(b, 8, false, true, RDI, RBX, NO_REG, SLOT(pc[1].p.b));
        call_helper(j, JH_OP + op);
        call_end(j);
        st_slot(j, oi->out, RAX, pc[1].p.a);
        return;
    case K_BIN: {
        bool imm = oi->variant & 1;
        if (bin_inline(j, op - oi->variant, pc, imm)) return;
        call_begin(j);
        x_load(b, 8, false, true, RDI, RBX, NO_REG, SLOT(pc[1].p.b));
        if (imm)
            x_mov_imm64(b, RSI, pc[2].u);
        else
            x_load(b, 8, false, true, RSI, RBX, NO_REG, SLOT(pc[2].p.a));
        call_helper(j, JH_OP + op);
        call_end(j);
        st_slot(j, oi->out, RAX, pc[1].p.a);
        return;
    }
    case K_UNT:
    case K_BINT:
        if (oi->kind == K_BINT && divrem_inline(j, op, pc)) return;
        call_begin(j);
        x_load(b, 8, false, true, RDI, RBX, NO_REG, SLOT(pc[1].p.b));
        if (oi->kind == K_BINT) {
            x_load(b, 8, false, true, RSI, RBX, NO_REG, SLOT(pc[2].p.a));
            x_lea(b, RDX, RBX, NO_REG, SLOT(pc[1].p.a));
        } else {
            x_lea(b, RSI, RBX, NO_REG, SLOT(pc[1].p.a));
        }
        call_helper(j, JH_OP + op);
        x_test_rr(b, 0, RAX, RAX);
        add_site(j, &j->eax_trap, &j->n_eax_trap, &j->eax_trap_cap, x_jcc(b, CC_NE));
        call_end(j);
        return;
    case K_BRCMP: {
        bool imm = oi->variant & 1;
        int w = oi->out == 8;
        int k = ((op - OP_BR_I32_EQ) / 4) % 10;
        uint32_t a = imm ? (uint32_t)pc[1].u : pc[1].p.a;
        alu_operand(j, w, ALU_CMP, gp_operand(j, w, a), imm, imm ? pc[2].u : pc[1].p.b);
        size_t offcell = imm ? 3 : 2;
        jump_to_cell(j, cmp_cc[k], i + offcell + (size_t)pc[offcell].i);
        return;
    }
    case K_LOAD:
        emit_load(j, oi, pc);
        return;
    case K_STORE:
        emit_store(j, oi, pc);
        return;
    default: break;
    }
    switch (op) {
    case OP_UNREACHABLE:
        trap_if(j, -1, WEFT_TRAP_UNREACHABLE, 0);
        return;
    case OP_CHECK: {
        /* After a loop header's or function entry's FUEL: the interrupt
         * flag, then fuel below zero; nothing to give back (the run's
         * charge stays, as in the interpreter, and a trap leaves 0). */
        x_load(b, 8, false, true, RAX, R14, NO_REG, CTX(interrupt));
        static const uint8_t cmp[] = {0x83};
        x_rm_mem(b, 0, 0, cmp, 1, ALU_CMP, RAX, NO_REG, 0);
        x_byte(b, 0);
        trap_if(j, CC_NE, WEFT_TRAP_INTERRUPTED, 0);
        x_test_rr(b, 1, R13, R13);
        trap_if(j, CC_S, WEFT_TRAP_OUT_OF_FUEL, 0);
        return;
    }
    case OP_HOT: /* tier auto's count: compiled code has nothing left to count */
        return;
    case OP_FUEL: { /* unchecked: the next CHECK, call or return sees it */
        int64_t n = pc[1].i;
        if (n == (int32_t)n) {
            x_alu_ri(b, 1, ALU_SUB, R13, (int32_t)n);
        } else {
            x_mov_imm64(b, RCX, (uint64_t)n);
            x_alu_rr(b, 1, ALU_SUB, R13, RCX);
        }
        return;
    }
    case OP_BR:
        jump_to_cell(j, -1, i + 1 + (size_t)pc[1].i);
        return;
    case OP_BR_IF:
    case OP_BR_IF_R:
    case OP_BR_UNLESS:
    case OP_BR_UNLESS_R:
        rc_test_zero(&j->rc, (uint32_t)pc[1].u);
        jump_to_cell(j, op == OP_BR_IF || op == OP_BR_IF_R ? CC_NE : CC_E, i + 2 + (size_t)pc[2].i);
        return;
    case OP_BR_I32_TEST_IMM: /* and eax, k sets ZF (rax is scratch, never cached) */
    case OP_BR_I32_TESTZ_IMM:
    case OP_BR_I32_TEST_IMM_R:
    case OP_BR_I32_TESTZ_IMM_R:
        ld_slot(j, 4, RAX, (uint32_t)pc[1].u);
        alu_operand(j, 0, ALU_AND, RAX, true, pc[2].u);
        jump_to_cell(j, op == OP_BR_I32_TEST_IMM || op == OP_BR_I32_TEST_IMM_R ? CC_NE : CC_E,
                     i + 3 + (size_t)pc[3].i);
        return;
    case OP_BR_TABLE: {
        uint32_t n = pc[1].p.b;
        ld_slot(j, 4, RAX, pc[1].p.a);
        x_mov_imm64(b, RCX, n);
        x_alu_rr(b, 0, ALU_CMP, RAX, RCX);
        static const uint8_t cmova[] = {0x0F, 0x47};
        x_rm_reg(b, 0, 0, cmova, 2, RAX, RCX);             /* eax = min(i, n) */
        static const uint8_t lea_rip[] = {0x48, 0x8D, 0x0D}; /* lea rcx, [rip + table] */
        for (size_t k = 0; k < sizeof lea_rip; k++) x_byte(b, lea_rip[k]);
        size_t lea_at = b->len;
        x_u32(b, 0);
        static const uint8_t rest[] = {0x48, 0x63, 0x04, 0x81, /* movsxd rax, [rcx + rax*4] */
                                       0x48, 0x01, 0xC8,       /* add rax, rcx */
                                       0xFF, 0xE0};            /* jmp rax */
        for (size_t k = 0; k < sizeof rest; k++) x_byte(b, rest[k]);
        size_t table = b->len;
        x_patch(b, lea_at, table);
        for (uint32_t k = 0; k <= n; k++) {
            size_t c = i + 2 + k;
            add_fixup(j, b->len, table, c + (size_t)j->fd->code[c].i);
            x_u32(b, 0);
        }
        return;
    }
    case OP_RETURN: /* the last op falls into the epilogue */
        if (i + 1 < j->fd->ncode) add_site(j, &j->ret, &j->n_ret, &j->ret_cap, x_jmp(b));
        return;
    case OP_RETURN_COPY: /* the cache is synced (as for RETURN): slot 0 written in memory */
        ld_slot(j, 8, RAX, (uint32_t)pc[1].u);
        x_store(b, 8, RAX, RBX, NO_REG, SLOT(0));
        if (i + 2 < j->fd->ncode) add_site(j, &j->ret, &j->n_ret, &j->ret_cap, x_jmp(b));
        return;
    case OP_CALL:
    case OP_CALL_LOCAL: /* CALL with the callee's funcdef_t in cell 2, unused here */
        call_begin(j);
        if (pc[1].p.a >= j->m->nfunc_imports && j->will[pc[1].p.a - j->m->nfunc_imports])
            direct_call(j, pc, NULL, false);
        else
            local_call(j, pc);
        call_end(j);
        return;
    case OP_CALL_INDIRECT:
        call_begin(j);
        helper_call_op(j, op, pc);
        call_end(j);
        return;
    case OP_COPY:
    case OP_COPY2: /* in order: the second may read what the first wrote */
        copy_slot(j, pc[1].p.a, pc[1].p.b);
        if (op == OP_COPY2) copy_slot(j, pc[2].p.a, pc[2].p.b);
        return;
    case OP_I32_ADD_IMM2: /* two (three) I32_ADD_IMMs in order: [d | a][k] then [d2 | a2][k2] ... */
    case OP_I32_ADD_IMM2_R:
    case OP_I32_ADD_IMM3:
    case OP_I32_ADD_IMM3_R:
        bin_inline(j, OP_I32_ADD, pc, true);
        bin_inline(j, OP_I32_ADD, pc + 2, true);
        if (op == OP_I32_ADD_IMM3 || op == OP_I32_ADD_IMM3_R) bin_inline(j, OP_I32_ADD, pc + 4, true);
        return;
    case OP_I32_ADD_ADD_IMM: /* an I32_ADD then an I32_ADD_IMM, in order: [d | a][b] then [d2 | a2][k] */
    case OP_I32_ADD_ADD_IMM_R:
        bin_inline(j, OP_I32_ADD, pc, false);
        bin_inline(j, OP_I32_ADD, pc + 2, true);
        return;
    case OP_I32_LOAD2: /* two plain loads in order: [d | a][offset] then [d2 | a2][offset2] */
    case OP_I32_LOAD8_U2: {
        const opinfo_t *one = &op_info[op == OP_I32_LOAD2 ? OP_I32_LOAD : OP_I32_LOAD8_U];
        emit_load(j, one, pc);
        emit_load(j, one, pc + 2);
        return;
    }
    case OP_I32_LOAD8_U_STORE8: /* the load [d | a][offset], then the store [a2 | d][offset2] */
    case OP_I32_LOAD8_U_A_STORE8:
        emit_load(j, &op_info[op == OP_I32_LOAD8_U_STORE8 ? OP_I32_LOAD8_U : OP_I32_LOAD8_U_A], pc);
        emit_store(j, &op_info[OP_I32_STORE8], pc + 2);
        return;
    case OP_GLOBAL_GET_ADD_IMM: /* i32 global g (+ k) read or written, as the interpreter does */
    case OP_GLOBAL_GET_ADD_IMM_SET:
    case OP_GLOBAL_SET_ADD_IMM: {
        const int32_t val = (int32_t)offsetof(weft_global_t, val);
        if (op == OP_GLOBAL_SET_ADD_IMM) ld_slot(j, 4, RCX, pc[1].p.a);
        x_load(b, 8, false, true, RAX, R14, NO_REG, CTX(globals));
        x_load(b, 8, false, true, RAX, RAX, NO_REG, SLOT(pc[1].p.b));
        if (op != OP_GLOBAL_SET_ADD_IMM) x_load(b, 4, false, false, RCX, RAX, NO_REG, val);
        x_alu_ri(b, 0, ALU_ADD, RCX, (int32_t)(uint32_t)pc[2].u);
        if (op != OP_GLOBAL_GET_ADD_IMM) x_store(b, 4, RCX, RAX, NO_REG, val);
        if (op != OP_GLOBAL_SET_ADD_IMM) st_slot(j, 4, RCX, pc[1].p.a);
        return;
    }
    case OP_CONST: { /* into the destination's register when it has one */
        int r = rc_dest(&j->rc, false, 8, (uint32_t)pc[1].u, -1, -1);
        x_mov_imm64(b, r < 0 ? RAX : r, pc[2].u);
        if (r < 0)
            st_slot(j, 8, RAX, (uint32_t)pc[1].u);
        else
            rc_dest_done(&j->rc, (uint32_t)pc[1].u, 8);
        return;
    }
    case OP_SELECT: {
        static const uint8_t cmove[] = {0x0F, 0x44};
        ld_slot(j, 8, RAX, pc[1].p.b);
        ld_slot(j, 8, RCX, pc[2].p.a);
        rc_test_zero(&j->rc, pc[2].p.b);
        x_rm_reg(b, 0, 1, cmove, 2, RAX, RCX);
        st_slot(j, 8, RAX, pc[1].p.a);
        return;
    }
    case OP_GLOBAL_GET:
    case OP_GLOBAL_SET:
        x_load(b, 8, false, true, RAX, R14, NO_REG, CTX(globals));
        x_load(b, 8, false, true, RAX, RAX, NO_REG, SLOT(pc[1].p.b));
        if (op == OP_GLOBAL_GET) {
            x_load(b, 8, false, true, RCX, RAX, NO_REG, (int32_t)offsetof(weft_global_t, val));
            st_slot(j, 8, RCX, pc[1].p.a);
        } else {
            ld_slot(j, 8, RCX, pc[1].p.a);
            x_store(b, 8, RCX, RAX, NO_REG, (int32_t)offsetof(weft_global_t, val));
        }
        return;
    case OP_MEMORY_SIZE: {
        static const uint8_t shr[] = {0xC1};
        x_mov_rr(b, 1, RAX, R15);
        x_rm_reg(b, 0, 1, shr, 1, SH_SHR, RAX);
        x_byte(b, 16); /* bytes / 65536 */
        st_slot(j, 4, RAX, (uint32_t)pc[1].u);
        return;
    }
    case OP_MEMORY_GROW:
        call_begin(j);
        fuel_out(j);
        x_mov_rr(b, 1, RDI, R14);
        ld_slot(j, 4, RSI, pc[1].p.b);
        x_lea(b, RDX, RBX, NO_REG, SLOT(pc[1].p.a));
        call_helper(j, JH_MEMORY_GROW);
        fuel_in(j);
        mem_in(j);
        x_test_rr(b, 0, RAX, RAX);
        add_site(j, &j->eax_trap, &j->n_eax_trap, &j->eax_trap_cap, x_jcc(b, CC_NE));
        call_end(j);
        return;
    case OP_REF_FUNC:
        x_load(b, 8, false, true, RAX, R14, NO_REG, CTX(funcs));
        x_load(b, 8, false, true, RAX, RAX, NO_REG, SLOT(pc[1].p.b));
        st_slot(j, 8, RAX, pc[1].p.a);
        return;
    case OP_REF_IS_NULL:
        ld_slot(j, 8, RAX, pc[1].p.b);
        x_test_rr(b, 1, RAX, RAX);
        x_setcc_movzx(b, CC_E, RAX);
        st_slot(j, 4, RAX, pc[1].p.a);
        return;
    default:
        j->failed = true; /* op_supported let through an op without a template */
        return;
    }
}

/* Out of the internal entry (eax: 0 or the trap code): what every
 * function's epilogue and the module's out-of-bounds stub end with. */
static void emit_exit(xbuf_t *b)
{
    x_pop(b, RBP);
    x_ret(b);
}

static void emit_epilogue_and_stubs(jc_t *j)
{
    xbuf_t *b = j->b;
    size_t ok = b->len;
    x_alu_rr(b, 0, ALU_XOR, RAX, RAX);
    size_t exit = b->len; /* eax: 0 or the trap code */
    emit_exit(b);
    for (size_t k = 0; k < j->n_ret; k++) x_patch(b, j->ret[k], ok);

    /* jh_trap(ctx, esi, index) then out; jh_unwind(ctx, eax, index) then out */
    size_t trap_eax = b->len;
    x_mov_rr(b, 0, RSI, RAX);
    size_t trap_common = b->len;
    x_mov_rr(b, 1, RDI, R14);
    x_mov_imm64(b, RDX, j->index);
    call_helper(j, JH_TRAP);
    x_patch(b, x_jmp(b), exit);
    size_t unwind = b->len;
    x_mov_rr(b, 0, RSI, RAX);
    x_mov_rr(b, 1, RDI, R14);
    x_mov_imm64(b, RDX, j->index);
    call_helper(j, JH_UNWIND);
    x_patch(b, x_jmp(b), exit);
    for (size_t k = 0; k < j->n_eax_trap; k++) x_patch(b, j->eax_trap[k], trap_eax);
    for (size_t k = 0; k < j->n_unwind; k++) x_patch(b, j->unwind[k], unwind);

    /* forward conditional branches' write-backs, then their targets */
    for (size_t k = 0; k < j->nstub; k++) {
        const struct oline_stub *o = &j->stub[k];
        x_patch(b, o->at, b->len);
        for (int s = 0; s < o->n; s++) rc_store(b, &o->st[s]);
        size_t at = x_jmp(b);
        add_fixup(j, at, at + 4, o->cell);
    }

    /* jh_deeper(ctx, rsp): 0, back to the call; or a code to report */
    for (size_t k = 0; k < j->n_deeper; k++) {
        x_patch(b, j->deeper[k].at, b->len);
        x_mov_rr(b, 1, RDI, R14);
        x_mov_rr(b, 1, RSI, RSP);
        call_helper(j, JH_DEEPER);
        x_test_rr(b, 0, RAX, RAX);
        x_patch(b, x_jcc(b, CC_NE), trap_eax);
        x_patch(b, x_jmp(b), j->deeper[k].back);
    }

    for (size_t k = 0; k < j->ntrap; k++) {
        const trapsite_t *t = &j->trap[k];
        x_patch(b, t->at, b->len);
        if (t->refund == (int32_t)t->refund) {
            if (t->refund) x_alu_ri(b, 1, ALU_ADD, R13, (int32_t)t->refund);
        } else {
            x_mov_imm64(b, RCX, (uint64_t)t->refund);
            x_alu_rr(b, 1, ALU_ADD, R13, RCX);
        }
        x_mov_imm64(b, RSI, t->code);
        x_patch(b, x_jmp(b), trap_common);
    }
}

/* The module's stub an out-of-bounds fault resumes at (guard.c), in place
 * of a function's explicit check's jump to its trap stub: the same code
 * as that stub and the epilogue (nothing to give back, jh_trap, out),
 * which depend on no function (r14 is the context, rsp as in any body,
 * and a trap writes no cached slot back) but its index, which the fault
 * handler puts in edx. */
static void emit_oob_stub(xbuf_t *b)
{
    x_mov_imm64(b, RSI, WEFT_TRAP_MEMORY_OOB);
    x_mov_rr(b, 1, RDI, R14);
    x_load(b, 8, false, true, RAX, R14, NO_REG, CTX(helpers));
    x_call_mem(b, RAX, (int32_t)(8 * JH_TRAP));
    emit_exit(b);
}

/* Whether every op of fd has a template. */
static bool function_supported(const funcdef_t *fd)
{
    for (size_t i = 0; i < fd->ncode;) {
        int op = op_of(fd->code[i].h);
        if (op < 0 || !op_supported(op)) return false;
        i += engine_op_len(op, &fd->code[i]);
    }
    return true;
}

/* ---- control flow: labels and loops ---------------------------------------- */

/* Calls fn(arg, i, t) for every cell t the op at cell i may branch to;
 * false when the op is no branch. */
static bool each_target(const funcdef_t *fd, int op, size_t i, void (*fn)(void *, size_t, size_t), void *arg)
{
    const cell_t *pc = &fd->code[i];
    const opinfo_t *oi = &op_info[op];
    if (oi->kind == K_BRCMP) {
        size_t offcell = oi->variant & 1 ? 3 : 2;
        fn(arg, i, i + offcell + (size_t)pc[offcell].i);
        return true;
    }
    switch (op) {
    case OP_BR: fn(arg, i, i + 1 + (size_t)pc[1].i); return true;
    case OP_BR_IF: case OP_BR_IF_R: case OP_BR_UNLESS: case OP_BR_UNLESS_R:
        fn(arg, i, i + 2 + (size_t)pc[2].i);
        return true;
    case OP_BR_I32_TEST_IMM: case OP_BR_I32_TESTZ_IMM: case OP_BR_I32_TEST_IMM_R: case OP_BR_I32_TESTZ_IMM_R:
        fn(arg, i, i + 3 + (size_t)pc[3].i);
        return true;
    case OP_BR_TABLE:
        for (uint32_t k = 0; k <= pc[1].p.b; k++) fn(arg, i, i + 2 + k + (size_t)pc[2 + k].i);
        return true;
    default: return false;
    }
}

/* What the emitter knows of fd's control flow before it starts: which
 * cells are branch targets, and its innermost loops. A loop is a header
 * cell with branches back to it; it spans the header to the last such
 * branch. One that contains no other header is innermost; its locals may
 * be pinned in registers when nothing outside it branches into it (true
 * of wasm's structured control; checked rather than assumed). */
typedef struct {
    size_t ncode;
    bool *label;      /* per cell (and the end): a branch target */
    size_t *back_end; /* per cell: 1 + the last cell branching back to it, or 0 */
    int32_t *loop_of; /* per cell: the innermost loop it lies in, or -1 */
    size_t *head, *last; /* per innermost loop: its header and last cell */
    bool *ok;            /* per innermost loop: entered only at its header */
    size_t nloops;
} flow_t;

static void mark_target(void *arg, size_t from, size_t to)
{
    flow_t *f = arg;
    if (to > f->ncode) return; /* the fixup check refuses the function */
    f->label[to] = true;
    if (to <= from && f->back_end[to] < from + 1) f->back_end[to] = from + 1;
}

static void check_entry(void *arg, size_t from, size_t to)
{
    flow_t *f = arg;
    if (to >= f->ncode) return;
    int32_t l = f->loop_of[to];
    if (l >= 0 && f->loop_of[from] != l) f->ok[l] = false;
}

static void flow_free(flow_t *f)
{
    free(f->label);
    free(f->back_end);
    free(f->loop_of);
    free(f->head);
    free(f->last);
    free(f->ok);
}

static bool flow_analyse(flow_t *f, const funcdef_t *fd)
{
    size_t n = fd->ncode;
    *f = (flow_t){.ncode = n};
    f->label = calloc(n + 1, sizeof *f->label);
    f->back_end = calloc(n + 1, sizeof *f->back_end);
    f->loop_of = malloc((n + 1) * sizeof *f->loop_of);
    if (!f->label || !f->back_end || !f->loop_of) return false;
    for (size_t i = 0; i <= n; i++) f->loop_of[i] = -1;
    for (size_t i = 0; i < n;) {
        int op = op_of(fd->code[i].h);
        each_target(fd, op, i, mark_target, f);
        i += engine_op_len(op, &fd->code[i]);
    }
    size_t nheads = 0;
    for (size_t h = 0; h < n; h++) nheads += f->back_end[h] != 0;
    size_t cap = nheads ? nheads : 1;
    f->head = malloc(cap * sizeof *f->head);
    f->last = malloc(cap * sizeof *f->last);
    f->ok = malloc(cap * sizeof *f->ok);
    if (!f->head || !f->last || !f->ok) return false;
    for (size_t h = 0; h < n; h++) {
        if (!f->back_end[h]) continue;
        size_t last = f->back_end[h] - 1, k = h + 1;
        while (k <= last && !f->back_end[k]) k++;
        if (k <= last) continue; /* another header inside: not innermost */
        size_t l = f->nloops++;
        f->head[l] = h, f->last[l] = last, f->ok[l] = true;
        for (k = h; k <= last; k++) f->loop_of[k] = (int32_t)l;
    }
    for (size_t i = 0; i < n;) {
        int op = op_of(fd->code[i].h);
        each_target(fd, op, i, check_entry, f);
        i += engine_op_len(op, &fd->code[i]);
    }
    return true;
}

/* Whether the branch at i may leave loop l (exits write the pinned
 * locals back). */
typedef struct {
    size_t head, last;
    bool leaves;
} exit_t;

static void check_exit(void *arg, size_t from, size_t to)
{
    exit_t *x = arg;
    (void)from;
    if (to < x->head || to > x->last) x->leaves = true;
}

/* Whether every target of the branch at `from` lies after it. */
typedef struct {
    size_t from;
    bool forward;
} fwd_t;

static void check_forward(void *arg, size_t from, size_t to)
{
    fwd_t *f = arg;
    (void)from;
    if (to <= f->from) f->forward = false;
}

/* The branch's targets: how many, and the last. */
typedef struct {
    size_t n, cell;
} target_t;

static void note_target(void *arg, size_t from, size_t to)
{
    target_t *t = arg;
    (void)from;
    t->n++;
    t->cell = to;
}

/* ---- pinned locals ------------------------------------------------------------- */

typedef struct {
    uint32_t loop, slot;
    bool xmm, wide;
} pin_t;

static int note_order(const void *pa, const void *pb)
{
    const rc_note_t *a = pa, *b = pb;
    if (a->tag != b->tag) return a->tag < b->tag ? -1 : 1;
    return a->slot < b->slot ? -1 : a->slot > b->slot;
}

typedef struct {
    uint32_t slot, uses, xmm_uses;
    bool wide;
} cand_t;

static int cand_order(const void *pa, const void *pb)
{
    const cand_t *a = pa, *b = pb;
    if (a->uses != b->uses) return a->uses > b->uses ? -1 : 1;
    return a->slot < b->slot ? -1 : a->slot > b->slot;
}

/* The locals to pin, per loop in loop order, from the slot accesses the
 * first pass recorded: each innermost loop's locals used at least twice,
 * most used first, in xmm registers when mostly used as floats (the cache
 * refuses more than its limit of each kind). Loops with calls pin nothing:
 * every call writes the pinned locals back and reloads them. Returns the
 * count in *out (malloc'd), or -1 when out of memory. */
static long choose_pins(jc_t *j, const flow_t *f, pin_t **out)
{
    rcache_t *rc = &j->rc;
    *out = NULL;
    if (!rc->nnotes) return 0;
    qsort(rc->notes, rc->nnotes, sizeof *rc->notes, note_order);
    cand_t *c = malloc(rc->nnotes * sizeof *c);
    pin_t *p = malloc(rc->nnotes * sizeof *p);
    if (!c || !p) {
        free(c);
        free(p);
        return -1;
    }
    long np = 0;
    for (size_t k = 0; k < rc->nnotes;) {
        int32_t loop = rc->notes[k].tag;
        size_t nc = 0;
        for (; k < rc->nnotes && rc->notes[k].tag == loop; k++) {
            const rc_note_t *x = &rc->notes[k];
            if (x->slot >= j->fd->nlocals) continue;
            if (!nc || c[nc - 1].slot != x->slot) c[nc++] = (cand_t){x->slot, 0, 0, false};
            c[nc - 1].uses++;
            c[nc - 1].xmm_uses += x->xmm;
            c[nc - 1].wide |= x->wide;
        }
        if (j->loop_calls[loop] || !f->ok[loop]) continue;
        qsort(c, nc, sizeof *c, cand_order);
        for (size_t q = 0; q < nc && c[q].uses >= 2; q++)
            p[np++] = (pin_t){(uint32_t)loop, c[q].slot, 2 * c[q].xmm_uses > c[q].uses, c[q].wide};
    }
    free(c);
    *out = p;
    return np;
}

/* One pass over the body, from the internal entry's first op to the trap
 * stubs. With pins (sorted by loop), each loop's locals are loaded into
 * registers where it is entered and written back where it is left. */
static void emit_body(jc_t *j, const flow_t *f, const pin_t *pins, size_t npins)
{
    const funcdef_t *fd = j->fd;
    xbuf_t *b = j->b;
    int32_t active = -1; /* the loop whose locals are pinned */
    size_t next_pin = 0;
    for (size_t i = 0; i < fd->ncode && !j->failed;) {
        int op = op_of(fd->code[i].h);
        int32_t loop = f->loop_of[i];
        if (loop >= 0 && f->head[loop] == i) /* entered by falling in: pin what is cached as it is */
            for (size_t q = next_pin; q < npins && pins[q].loop <= (uint32_t)loop; q++)
                if (pins[q].loop == (uint32_t)loop && rc_pin_cached(&j->rc, pins[q].slot, pins[q].xmm, pins[q].wide))
                    active = loop;
        if (f->label[i]) { /* every path in: the cache as the branches left it */
            rc_sync(&j->rc, false);
            rc_drop(&j->rc);
            rc_pinned_dirty(&j->rc);
        }
        if (loop >= 0 && f->head[loop] == i) {
            j->rc.tag = f->ok[loop] ? loop : -1;
            while (next_pin < npins && pins[next_pin].loop < (uint32_t)loop) next_pin++;
            for (; next_pin < npins && pins[next_pin].loop == (uint32_t)loop; next_pin++)
                if (rc_pin(&j->rc, pins[next_pin].slot, pins[next_pin].xmm, pins[next_pin].wide)) active = loop;
            rc_pinned_dirty(&j->rc); /* the branch back may bring changed ones */
        }
        if (f->back_end[i]) rc_scan_begin(&j->rc, i); /* what the branches back need not store */
        j->off[i] = b->len;
        exit_t x = {active >= 0 ? f->head[active] : 0, active >= 0 ? f->last[active] : 0, false};
        fwd_t fw = {i, true};
        if (op == OP_RETURN || op == OP_RETURN_COPY) {
            rc_sync(&j->rc, true);
        } else if (each_target(fd, op, i, check_exit, &x)) { /* a branch: memory as the target expects */
            rc_scan_end(&j->rc); /* the paths part here, taken or not */
            each_target(fd, op, i, check_forward, &fw);
            target_t t = {0, 0};
            each_target(fd, op, i, note_target, &t);
            if (op != OP_BR && op != OP_BR_TABLE && fw.forward && x.leaves && active >= 0)
                j->oline = 2; /* on the taken path only */
            else if (t.n == 1 && t.cell <= i && f->back_end[t.cell])
                rc_sync_dead(&j->rc, x.leaves && active >= 0, t.cell);
            else
                rc_sync(&j->rc, x.leaves && active >= 0);
        }
        emit_op(j, op, i);
        j->oline = 0;
        if (loop >= 0 && f->last[loop] == i) { /* falling out of the loop */
            rc_sync(&j->rc, true);
            rc_unpin(&j->rc);
            active = -1;
            j->rc.tag = -1;
        }
        i += engine_op_len(op, &fd->code[i]);
    }
    /* The internal code ends with RETURN; a branch to its end lands on
     * the epilogue, which follows. */
    j->off[fd->ncode] = b->len;
    emit_epilogue_and_stubs(j);
}

/* Compiles fd (function_supported) at the end of b: its C entry, then the
 * internal entry (*internal) that direct calls use. A function with loops
 * is compiled twice: the first pass records which slots each innermost
 * loop uses, the second pins the most used locals. False when it could
 * not (out of memory, or an op without a template: a bug). */
static bool compile_function(xbuf_t *b, const weft_module_t *m, const bool *will, callfixes_t *calls,
                             uint32_t i, size_t *internal, bool alone)
{
    const funcdef_t *fd = &m->funcs[i];
    jc_t j = {.b = b, .m = m, .will = will, .alone = alone, .calls = calls, .fd = fd, .index = m->nfunc_imports + i};
    flow_t f;
    pin_t *pins = NULL;
    bool ok = false;
    rc_init(&j.rc, b);
    j.off = malloc((fd->ncode + 1) * sizeof *j.off);
    if (!flow_analyse(&f, fd) || !j.off) goto out;
    j.loop_calls = calloc(f.nloops ? f.nloops : 1, sizeof *j.loop_calls);
    if (!j.loop_calls) goto out;
    /* C entry: save the callee-saved registers, load the machine state,
     * run the body through the internal entry, write the fuel back. */
    x_push(b, RBX);
    x_push(b, R12);
    x_push(b, R13);
    x_push(b, R14);
    x_push(b, R15);
    x_mov_rr(b, 1, R14, RDI);
    x_mov_rr(b, 1, RBX, RSI);
    mem_in(&j);
    fuel_in(&j);
    /* ctx->rsp0 = the body's rsp (below the call's return address and
     * rbp); ctx->call_limit = rsp0 less the budget's direct calls, or
     * the stack floor if higher (jh_deeper computes it again) */
    x_lea(b, RAX, RSP, NO_REG, -JIT_CALL_BYTES);
    x_store(b, 8, RAX, R14, NO_REG, CTX(rsp0));
    x_load(b, 8, false, true, RCX, R14, NO_REG, CTX(budget));
    x_shift_imm(b, 1, SH_SHL, RCX, (uint8_t)__builtin_ctz(JIT_CALL_BYTES));
    x_alu_rr(b, 1, ALU_SUB, RAX, RCX);
    size_t under = x_jcc(b, CC_B);
    x_alu_rm(b, 1, ALU_CMP, RAX, R14, CTX(stack_floor));
    size_t above = x_jcc(b, CC_A);
    x_patch(b, under, b->len);
    x_load(b, 8, false, true, RAX, R14, NO_REG, CTX(stack_floor));
    x_patch(b, above, b->len);
    x_store(b, 8, RAX, R14, NO_REG, CTX(call_limit));
    x_byte(b, 0xE8); /* call internal */
    size_t call_at = b->len;
    x_u32(b, 0);
    fuel_out(&j);
    x_pop(b, R15);
    x_pop(b, R14);
    x_pop(b, R13);
    x_pop(b, R12);
    x_pop(b, RBX);
    x_ret(b);
    /* Internal entry: rbx fp, r12-r15 live; rbp saved (a cache register),
     * which also leaves rsp 16-aligned for helpers. */
    *internal = b->len;
    x_patch(b, call_at, b->len);
    x_push(b, RBP);
    size_t body = b->len, ncalls = calls->n;
    emit_body(&j, &f, NULL, 0);
    long npins = f.nloops ? choose_pins(&j, &f, &pins) : 0;
    if (npins < 0 || j.rc.failed) goto out;
    if (npins > 0) { /* again, over the first pass's code */
        b->len = body;
        calls->n = ncalls;
        j.nfix = j.ntrap = j.n_eax_trap = j.n_unwind = j.n_ret = j.n_deeper = j.nstub = 0;
        memset(j.loop_calls, 0, (f.nloops ? f.nloops : 1) * sizeof *j.loop_calls);
        rc_fini(&j.rc);
        rc_init(&j.rc, b);
        emit_body(&j, &f, pins, (size_t)npins);
    }
    for (size_t k = 0; k < j.nfix && !j.failed; k++) {
        const fixup_t *fx = &j.fix[k];
        if (fx->cell > fd->ncode) {
            j.failed = true;
            break;
        }
        int32_t v = (int32_t)((int64_t)j.off[fx->cell] - (int64_t)fx->base);
        if (!b->failed) memcpy(b->p + fx->at, &v, 4);
    }
    ok = !j.failed && !b->failed;
out:
    flow_free(&f);
    rc_fini(&j.rc);
    free(pins);
    free(j.loop_calls);
    free(j.off);
    free(j.fix);
    free(j.trap);
    free(j.eax_trap);
    free(j.unwind);
    free(j.ret);
    free(j.deeper);
    free(j.stub);
    return ok;
}

/* WEFT_JIT_DUMP=PATH: a module's code as compiled (before it is mapped)
 * written to PATH, raw, for `objdump -D -b binary -m i386:x86-64 PATH`,
 * and PATH.map: a line per compiled function, its index and the offsets
 * of its C and internal entries. A debugging aid; failures are ignored. */
static void dump_code(const weft_module_t *m, const xbuf_t *b, const bool *done, const size_t *entry,
                      const size_t *internal)
{
    const char *path = getenv("WEFT_JIT_DUMP");
    if (!path || !*path) return;
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(b->p, 1, b->len, f);
        fclose(f);
    }
    char map[4096];
    snprintf(map, sizeof map, "%s.map", path);
    if (!(f = fopen(map, "w"))) return;
    for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++)
        if (done[i]) fprintf(f, "%u 0x%zx 0x%zx\n", m->nfunc_imports + i, entry[i], internal[i]);
    fclose(f);
}

void jit_compile_module(weft_module_t *m)
{
    pthread_once(&hmap_once, hmap_build);
    uint32_t n = m->nfuncs - m->nfunc_imports;
    size_t *entry = calloc(n ? n : 1, sizeof *entry);
    size_t *internal = calloc(n ? n : 1, sizeof *internal);
    bool *done = calloc(n ? n : 1, sizeof *done);
    callfixes_t calls = {0};
    xbuf_t b = {0};
    if (!entry || !internal || !done) goto out;
    /* Which functions compile is decided first: calls between them are
     * direct, to an internal entry placed later. */
    for (uint32_t i = 0; i < n; i++) done[i] = function_supported(&m->funcs[i]);
    /* No bounds checks when memory 0 can be guarded (mempool.c) and the
     * fault handler is in place; else explicit checks, which any memory
     * runs with. */
    m->jit_guarded = m->nmems && mem_guard_available() && jit_guard_install();
    if (m->jit_guarded) emit_oob_stub(&b);
    size_t stub_len = b.len;
    for (uint32_t i = 0; i < n; i++) {
        if (!done[i]) continue;
        while (b.len % 16) x_byte(&b, 0xCC); /* int3 between functions */
        entry[i] = b.len;
        if (!compile_function(&b, m, done, &calls, i, &internal[i], false)) goto out;
    }
    if (b.failed || b.len == stub_len) goto out;
    for (size_t k = 0; k < calls.n; k++) x_patch(&b, calls.v[k].at, internal[calls.v[k].callee]);
    dump_code(m, &b, done, entry, internal);
    size_t size;
    void *code = jit_map_code(b.p, b.len, &size);
    if (!code) goto out;
    m->jit_code = code;
    m->jit_size = size;
    m->jit_oob = m->jit_guarded ? code : NULL; /* at offset 0 */
    for (uint32_t i = 0; i < n; i++) {
        if (!done[i]) continue;
        atomic_store(&m->funcs[i].jit, (uint8_t *)code + entry[i]);
        atomic_fetch_add(&m->jit_funcs, 1);
    }
out:
    if (!m->jit_code) m->jit_guarded = false; /* nothing compiled: any memory will do */
    x_free(&b);
    free(entry);
    free(internal);
    free(done);
    free(calls.v);
}

void *jit_map_code(const void *p, size_t len, size_t *size)
{
    long page = sysconf(_SC_PAGESIZE);
    *size = (len + (size_t)page - 1) / (size_t)page * (size_t)page;
    /* W^X: written while read-write, then read-execute, never both */
    void *code = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) return NULL;
    memcpy(code, p, len);
    if (mprotect(code, *size, PROT_READ | PROT_EXEC) != 0) {
        munmap(code, *size);
        return NULL;
    }
    return code;
}

bool jit_compile_function(weft_module_t *m, uint32_t i)
{
    pthread_once(&hmap_once, hmap_build);
    uint32_t n = m->nfuncs - m->nfunc_imports;
    const funcdef_t *fd = &m->funcs[i];
    if (!function_supported(fd)) return false;
    bool *will = calloc(n, sizeof *will); /* only itself: its recursive calls are direct */
    struct jit_chunk *c = malloc(sizeof *c);
    callfixes_t calls = {0};
    xbuf_t b = {0};
    size_t internal = 0;
    bool ok = false;
    if (!will || !c) goto out;
    will[i] = true;
    if (!compile_function(&b, m, will, &calls, i, &internal, true) || b.failed) goto out;
    for (size_t k = 0; k < calls.n; k++) x_patch(&b, calls.v[k].at, internal);
    if (!(c->code = jit_map_code(b.p, b.len, &c->size))) goto out;
    c->next = atomic_load(&m->jit_chunks);
    while (!atomic_compare_exchange_weak(&m->jit_chunks, &c->next, c)) {}
    atomic_store_explicit(&m->funcs[i].jit_internal, (uint8_t *)c->code + internal, memory_order_release);
    atomic_store_explicit(&m->funcs[i].jit, c->code, memory_order_release); /* the C entry is first */
    atomic_fetch_add(&m->jit_funcs, 1);
    c = NULL;
    ok = true;
out:
    x_free(&b);
    free(will);
    free(c);
    free(calls.v);
    return ok;
}

void jit_free_module(weft_module_t *m)
{
    if (m->jit_code) munmap(m->jit_code, m->jit_size);
    m->jit_code = NULL;
    for (struct jit_chunk *c = m->jit_chunks, *next; c; c = next) {
        next = c->next;
        munmap(c->code, c->size);
        free(c);
    }
    m->jit_chunks = NULL;
    free(m->jit_cache_note);
    m->jit_cache_note = NULL;
}

#else /* no compiled tier on this platform: everything stays interpreted */

bool jit_supported(void)
{
    return false;
}

void jit_compile_module(weft_module_t *m)
{
    (void)m;
}

void jit_free_module(weft_module_t *m)
{
    (void)m;
}

void *jit_map_code(const void *p, size_t len, size_t *size)
{
    (void)p, (void)len, (void)size;
    return NULL;
}

bool jit_compile_function(weft_module_t *m, uint32_t i)
{
    (void)m, (void)i;
    return false;
}

#endif
