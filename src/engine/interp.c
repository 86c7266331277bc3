/*
 * interp.c — executes weft's internal code.
 *
 * Direct threading: each instruction begins with the address of its
 * handler, and every handler ends by jumping to the next one (computed goto),
 * so there is no central switch and each handler has its own indirect
 * branch for the predictor. Operands are frame-slot indices resolved at
 * compile time; the hot state (pc, fp, memory base and size, fuel) lives in
 * locals the compiler keeps in registers.
 *
 * Wasm-to-wasm calls do not recurse on the C stack: a call pushes a frame_t
 * on the store's control stack and jumps. Only host functions that call back
 * into the store recurse, and that is bounded by MAX_REENTRY.
 */
#include <math.h>
#include <string.h>

#include "compile.h"
#include "jit/jit.h"
#include "num.h"
#include "simd.h"
#include "simd_sse.h"

const void *const *interp_labels;

#ifdef WEFT_OPSTATS
/* Developer statistics (cmake -DWEFT_OPSTATS=ON): counts of executed ops
 * and of adjacent op pairs, printed at exit, to choose superinstructions. */
#include <stdio.h>
#include <stdlib.h>
#define STATS_OPS OP__COUNT
static uint64_t op_count[STATS_OPS], pair_count[STATS_OPS][STATS_OPS];
static int last_op = -1;
extern const char *engine_op_name(int op);
/* handler address -> op, by open addressing; filled on first use */
static const void *stat_keys[4096];
static int stat_vals[4096];
static int stat_index(const void *h)
{
    size_t k = ((uintptr_t)h >> 3) & 4095;
    while (stat_keys[k] && stat_keys[k] != h) k = (k + 1) & 4095;
    if (!stat_keys[k]) {
        stat_keys[k] = h;
        stat_vals[k] = 0;
        for (int i = 0; i < STATS_OPS; i++)
            if (interp_labels[i] == h) stat_vals[k] = i;
    }
    return stat_vals[k];
}
static void stats_print(void)
{
    /* WEFT_OPSTATS_ROWS: how many ops and pairs to print (default 25) */
    const char *rows_env = getenv("WEFT_OPSTATS_ROWS");
    int rows = rows_env ? atoi(rows_env) : 25;
    uint64_t total = 0;
    for (int i = 0; i < STATS_OPS; i++) total += op_count[i];
    fprintf(stderr, "-- op counts (%llu dispatches) --\n", (unsigned long long)total);
    for (int round = 0; round < rows; round++) {
        int best = -1;
        for (int i = 0; i < STATS_OPS; i++)
            if (op_count[i] && (best < 0 || op_count[i] > op_count[best])) best = i;
        if (best < 0) break;
        fprintf(stderr, "%14llu %s\n", (unsigned long long)op_count[best], engine_op_name(best));
        op_count[best] = 0;
    }
    fprintf(stderr, "-- pairs --\n");
    for (int round = 0; round < rows; round++) {
        int ba = -1, bb = -1;
        for (int a = 0; a < STATS_OPS; a++)
            for (int b = 0; b < STATS_OPS; b++)
                if (pair_count[a][b] && (ba < 0 || pair_count[a][b] > pair_count[ba][bb])) ba = a, bb = b;
        if (ba < 0) break;
        fprintf(stderr, "%14llu %s -> %s\n", (unsigned long long)pair_count[ba][bb], engine_op_name(ba),
                engine_op_name(bb));
        pair_count[ba][bb] = 0;
    }
}
/* The internal code as a stream of data: each dispatched op's cells go
 * through a simulated L1 data cache of the usual size (48 KiB, 12 ways,
 * 64-byte lines, LRU) holding nothing else, so its misses are the code's
 * own (a lower bound: slots and linear memory share the real one). The
 * distinct lines touched are the hot code's footprint. */
#define CSIM_SETS 64
#define CSIM_WAYS 12
static uintptr_t csim_tag[CSIM_SETS][CSIM_WAYS];
static uint64_t csim_used[CSIM_SETS][CSIM_WAYS], csim_clock, csim_refs, csim_misses;
static uintptr_t *csim_seen;
static size_t csim_seen_cap = (size_t)1 << 22, csim_lines;
static void csim_line(uintptr_t line)
{
    csim_refs++;
    uintptr_t *set = csim_tag[line % CSIM_SETS];
    uint64_t *used = csim_used[line % CSIM_SETS];
    int lru = 0;
    for (int w = 0; w < CSIM_WAYS; w++) {
        if (set[w] == line + 1) {
            used[w] = ++csim_clock;
            return;
        }
        if (used[w] < used[lru]) lru = w;
    }
    csim_misses++;
    set[lru] = line + 1;
    used[lru] = ++csim_clock;
    if (!csim_seen) csim_seen = calloc(csim_seen_cap, sizeof *csim_seen);
    if (!csim_seen) return;
    size_t k = (line * 0x9E3779B97F4A7C15u) >> 42;
    while (csim_seen[k] && csim_seen[k] != line + 1) k = (k + 1) & (csim_seen_cap - 1);
    if (!csim_seen[k] && csim_lines < csim_seen_cap / 2) {
        csim_seen[k] = line + 1;
        csim_lines++;
    }
}
static void csim_print(void)
{
    fprintf(stderr, "-- code stream: %llu line refs, %llu misses in a 48 KiB 12-way L1 of its own, "
            "%zu distinct lines (%zu KiB) --\n", (unsigned long long)csim_refs,
            (unsigned long long)csim_misses, csim_lines, csim_lines * 64 / 1024);
}
extern size_t engine_op_len(int op, const cell_t *pc);
static void stats_hit(const cell_t *pc)
{
    static int registered;
    if (!registered) {
        registered = 1;
        atexit(stats_print);
        atexit(csim_print);
    }
    int i = stat_index(pc->h);
    op_count[i]++;
    if (last_op >= 0) pair_count[last_op][i]++;
    last_op = i;
    /* WEFT_CSIM_SCALE=N/D (default 1/1) scales every code address by N/D
     * before the cache sees it: 1/2 models cells half as wide, 2/1 twice
     * (a uniform scaling: an estimate of a denser layout's misses). */
    static uint64_t scale_n, scale_d;
    if (!scale_d) {
        const char *e = getenv("WEFT_CSIM_SCALE");
        unsigned long n = 1, d = 1;
        if (e && (sscanf(e, "%lu/%lu", &n, &d) != 2 || !n || !d)) n = d = 1;
        scale_n = n;
        scale_d = d;
    }
    size_t len = engine_op_len(i, pc);
    if (len > 8) len = 2; /* BR_TABLE reads one of its targets */
    uintptr_t first = (uintptr_t)((uint64_t)(uintptr_t)pc * scale_n / scale_d) >> 6;
    uintptr_t last = (uintptr_t)(((uint64_t)(uintptr_t)(pc + len) * scale_n - 1) / scale_d) >> 6;
    for (uintptr_t l = first; l <= last; l++) csim_line(l);
}
#define STATS_HIT(pc) stats_hit(pc)
#else
#define STATS_HIT(h) ((void)0)
#endif

static weft_trap_code_t run(weft_store_t *s, weft_func_t *f, slot_t *fp, int init);

void interp_init(void)
{
    run(NULL, NULL, NULL, 1);
}

weft_trap_code_t interp_call(weft_store_t *s, weft_func_t *f, slot_t *fp)
{
    return run(s, f, fp, 0);
}

weft_trap_code_t interp_call_nested(weft_store_t *s, weft_func_t *f, slot_t *fp)
{
    return run(s, f, fp, 2);
}

/* Resolves item k of an element segment to a reference in `inst`. */
static void *elem_item(weft_instance_t *inst, const constexpr_t *ce)
{
    switch (ce->kind) {
    case CE_REF_FUNC: return inst->funcs[ce->value];
    case CE_GLOBAL_GET: return inst->globals[ce->value]->val.ref;
    default: return NULL;
    }
}

/* The index of the function whose body is d, in the index space of
 * in's module (d is one of its funcs). */
static uint32_t def_index(const weft_instance_t *in, const funcdef_t *d)
{
    return (uint32_t)(d - in->module->funcs) + in->module->nfunc_imports;
}

static weft_trap_code_t run(weft_store_t *s, weft_func_t *f, slot_t *fp, int init)
{
    static const void *const labels[] = {
#define OP(n, len, m) &&L_##n,
#define UN(n, w, vi, vo, fi, fo, e) &&L_##n,
#define BIN(n, w, vi, vo, fi, fo, e) &&L_##n, &&L_##n##_IMM, &&L_##n##_R, &&L_##n##_IMM_R,
#define BRCMP(n, fi, cop) &&L_BR_##n, &&L_BR_##n##_IMM, &&L_BR_##n##_R, &&L_BR_##n##_IMM_R,
#define UNT(n, w, vi, vo, fi, fo, fn) &&L_##n,
#define BINT(n, w, vi, vo, fi, fo, fn) &&L_##n,
#define LOAD(n, w, vo, ct, fo) &&L_##n, &&L_##n##_A, &&L_##n##_X, &&L_##n##_R,
#define STORE(n, w, vi, ct, fi) &&L_##n, &&L_##n##_A, &&L_##n##_X, &&L_##n##_K, &&L_##n##_AK, &&L_##n##_XK,
#include "ops.def"
    };
    if (init == 1) {
        interp_labels = labels;
        return WEFT_TRAP_NONE;
    }

    weft_instance_t *inst = f->inst;
    /* The running function, by its compiled body: its weft_func_t is
     * inst->funcs[def_index(inst, cur)], loaded only for a backtrace. */
    const funcdef_t *cur = f->def;
    const cell_t *pc;
    weft_func_t *callee;
    slot_t *nfp;
    weft_trap_code_t tc;
    int64_t fuel = s->fuel;
    slot_t acc = {.i64 = 0}; /* the last integer result (see PUT) */
    float facc32 = 0;        /* the last f32 result */
    double facc64 = 0;       /* the last f64 result */
    slot_t *const stack_end = s->stack + s->stack_slots;
    uint8_t *mem = NULL;
    uint64_t memsize = 0;
    const uint32_t entry_depth = s->depth;

#define RELOAD_MEM()                                                          \
    do {                                                                      \
        if (inst && inst->mems) {                                             \
            mem = inst->mems[0]->data;                                        \
            memsize = inst->mems[0]->size;                                    \
        } else {                                                              \
            mem = NULL;                                                       \
            memsize = 0;                                                      \
        }                                                                     \
    } while (0)
#define NEXT()                                                                \
    do {                                                                      \
        STATS_HIT(pc);                                                        \
        goto *pc->h;                                                          \
    } while (0)
#define TRAP(code)                                                            \
    do {                                                                      \
        tc = WEFT_TRAP_##code;                                                \
        goto trap;                                                            \
    } while (0)
#define DST(k) fp[pc[k].p.a]
#define SRC(k) fp[pc[k].p.b]
/* Bulk operations pay for their length on top of their instruction's unit,
 * after their bounds check and before any work (store.h): a charge that
 * does not fit traps with the fuel left as it was. */
#define CHARGE(units)                                                         \
    do {                                                                      \
        uint64_t u_ = (units);                                                \
        if (UNLIKELY(fuel < 0 || u_ > (uint64_t)fuel)) TRAP(OUT_OF_FUEL);     \
        fuel -= (int64_t)u_;                                                  \
    } while (0)
#define BYTE_UNITS(n) (((uint64_t)(n) + BYTES_PER_FUEL - 1) / BYTES_PER_FUEL)
/* Branches (ops.def): a target and a conditional branch's fall-through
 * start with [FUEL][n]; the branch charges n and goes past it, so only a
 * run entered by falling through a label dispatches its FUEL. The charge
 * is unchecked: CHECK (loop headers, calls), a host call and the end of
 * the run trap once the fuel is below zero. */
#define JUMP_AT(k)                                                            \
    do {                                                                      \
        int64_t off_ = pc[k].i;                                               \
        pc = pc + (k) + off_;                                                 \
        fuel -= pc[1].i;                                                      \
        pc += 2;                                                              \
        if (off_ < 0) INLINE_CHECK();                                           \
    } while (0)
/* The CHECK after a FUEL just charged (a loop header behind a branch, the
 * only kind, or a function entry: [FUEL][n][CHECK]) done here; the op runs
 * only to trap. */
#define INLINE_CHECK()                                                          \
    do {                                                                      \
        if (LIKELY(fuel >= 0 && !atomic_load_explicit(&s->interrupt, memory_order_relaxed))) pc++; \
    } while (0)
#define FALL(len)                                                             \
    do {                                                                      \
        fuel -= pc[(len) + 1].i;                                              \
        pc += (len) + 2;                                                      \
    } while (0)
#define FUEL_OUT() (UNLIKELY(fuel < 0))

    RELOAD_MEM();
    /* The entry call: a frame whose return address is NULL ends the run. */
    pc = NULL;
    callee = f;
    nfp = fp;
    fp = NULL;
    cur = NULL;
    goto do_call;

/* A call of compiled function d with its frame at nfp, returning to pc:
 * room for its frame and a frame_t, pushed. */
#define PUSH_FRAME(d)                                                         \
    do {                                                                      \
        if (UNLIKELY(s->depth >= s->nframes_cap || nfp + (d)->frame_slots > stack_end)) { \
            if (nfp + (d)->frame_slots > stack_end || !store_grow_frames(s)) TRAP(STACK_EXHAUSTED); \
        }                                                                     \
        frame_t *fr_ = &s->frames[s->depth++];                                \
        fr_->ret_pc = pc;                                                     \
        fr_->ret_fp = fp;                                                     \
        fr_->def = cur;                                                       \
        fr_->inst = inst;                                                     \
    } while (0)
/* Zeroes those of d's declared locals that may be read before they are
 * written (funcdef_t.zero_mask and zero_from) and starts its code: the entry's
 * [FUEL][n][CHECK] is done here without two dispatches; a failing check
 * is left to CHECK, which traps. */
#define ENTER(d)                                                              \
    do {                                                                      \
        slot_t *z_ = nfp + (d)->nparams;                                     \
        for (uint64_t m_ = (d)->zero_mask; m_; m_ &= m_ - 1) z_[__builtin_ctzll(m_)].i64 = 0; \
        for (uint32_t k_ = (d)->zero_from; k_ < (d)->nlocals; k_++) nfp[k_].i64 = 0; \
        fp = nfp;                                                             \
        pc = (d)->code;                                                       \
        fuel -= pc[1].i;                                                      \
        pc += 2;                                                              \
        INLINE_CHECK();                                                         \
    } while (0)

do_call:
    if (callee->def && JIT_ENTRY(callee->def)) { /* compiled: runs on the C stack, returns here */
        s->fuel = fuel;
        tc = jit_invoke(s, callee, nfp, true);
        fuel = s->fuel;
        if (tc) goto trap_reported;
        if (!pc) { /* the entry call: done checks the fuel and names it in a trap, */
            cur = callee->def; /* as when it ran interpreted */
            goto done;
        }
        RELOAD_MEM();
        NEXT();
    }
    if (callee->def) {
        PUSH_FRAME(callee->def);
    enter: /* a tail call joins here, its frame at nfp */
        ENTER(callee->def);
        cur = callee->def;
        /* Within one instance mem/memsize are already current (memory.grow
         * reloads them); only a switch of instance needs a reload. */
        if (UNLIKELY(callee->inst != inst)) {
            inst = callee->inst;
            RELOAD_MEM();
        }
        NEXT();
    } else {
        if (FUEL_OUT()) TRAP(OUT_OF_FUEL); /* a host call is not run past exhaustion */
        s->fuel = fuel;
        s->stack_top = nfp + (callee->type->nparams > callee->type->nresults
                                  ? callee->type->nparams : callee->type->nresults);
        if (cur && fp + cur->frame_slots > s->stack_top)
            s->stack_top = fp + cur->frame_slots;
        tc = runtime_call_host(s, callee, inst, nfp);
        fuel = s->fuel;
        RELOAD_MEM();
        if (tc) goto trap_reported;
        if (!pc) goto done;
        NEXT();
    }

L_UNREACHABLE:
    TRAP(UNREACHABLE);
L_FUEL:
    fuel -= pc[1].i;
    pc += 2;
    NEXT();
L_CHECK:
    if (UNLIKELY(atomic_load_explicit(&s->interrupt, memory_order_relaxed))) TRAP(INTERRUPTED);
    if (FUEL_OUT()) TRAP(OUT_OF_FUEL);
    pc += 1;
    NEXT();
L_BR:
    JUMP_AT(1);
    NEXT();
L_BR_IF:
    if (fp[pc[1].u].i32)
        JUMP_AT(2);
    else
        FALL(3);
    NEXT();
L_BR_UNLESS:
    if (!fp[pc[1].u].i32)
        JUMP_AT(2);
    else
        FALL(3);
    NEXT();
L_BR_IF_R:
    if (acc.i32)
        JUMP_AT(2);
    else
        FALL(3);
    NEXT();
L_BR_UNLESS_R:
    if (!acc.i32)
        JUMP_AT(2);
    else
        FALL(3);
    NEXT();
#define BR_TEST(cond)                                                         \
    do {                                                                      \
        if (cond)                                                             \
            JUMP_AT(3);                                                       \
        else                                                                  \
            FALL(4);                                                          \
        NEXT();                                                               \
    } while (0)
L_BR_I32_TEST_IMM:
    BR_TEST(fp[pc[1].u].i32 & (uint32_t)pc[2].u);
L_BR_I32_TESTZ_IMM:
    BR_TEST(!(fp[pc[1].u].i32 & (uint32_t)pc[2].u));
L_BR_I32_TEST_IMM_R:
    BR_TEST(acc.i32 & (uint32_t)pc[2].u);
L_BR_I32_TESTZ_IMM_R:
    BR_TEST(!(acc.i32 & (uint32_t)pc[2].u));
L_BR_TABLE: {
    uint32_t i = fp[pc[1].p.a].i32;
    if (i > pc[1].p.b) i = pc[1].p.b;
    pc += 2 + i;
    JUMP_AT(0);
    NEXT();
}
L_RETURN: {
    frame_t *fr = &s->frames[--s->depth];
    if (UNLIKELY(!fr->ret_pc)) goto done;
    pc = fr->ret_pc;
    fp = fr->ret_fp;
    cur = fr->def;
    if (UNLIKELY(fr->inst != inst)) {
        inst = fr->inst;
        RELOAD_MEM();
    }
    NEXT();
}
L_RETURN_COPY:
    fp[0] = fp[pc[1].u];
    goto L_RETURN;
L_CALL:
    callee = inst->funcs[pc[1].p.a];
    nfp = fp + pc[1].p.b;
    pc += 2;
    goto do_call;
L_CALL_LOCAL: {
    /* The callee's code is reached from the instruction, and so is all a
     * frame keeps of it: its weft_func_t is not loaded. */
    const funcdef_t *d = (const funcdef_t *)pc[2].h;
    nfp = fp + pc[1].p.b;
    if (UNLIKELY(JIT_ENTRY(d))) { /* compiled since: its own way in */
        callee = inst->funcs[pc[1].p.a];
        pc += 3;
        goto do_call;
    }
    pc += 3;
    PUSH_FRAME(d);
    ENTER(d);
    cur = d;
    NEXT();
}
/* callee = table[slot i] of call_indirect and return_call_indirect, with
 * their traps: out of bounds, null, type mismatch. */
#define INDIRECT_CALLEE()                                                     \
    do {                                                                      \
        weft_table_t *tab = inst->tables[pc[1].p.b];                          \
        uint32_t i = fp[pc[2].p.b].i32;                                       \
        if (UNLIKELY(i >= tab->size)) {                                       \
            tc = store_trap(s, WEFT_TRAP_UNDEFINED_ELEMENT, "undefined element %u", i); \
            goto trap_reported;                                               \
        }                                                                     \
        callee = tab->elems[i];                                               \
        if (UNLIKELY(!callee)) {                                              \
            tc = store_trap(s, WEFT_TRAP_UNINITIALIZED_ELEMENT, "uninitialized element %u", i); \
            goto trap_reported;                                               \
        }                                                                     \
        const weft_functype_t *want = inst->module->types[pc[1].p.a];         \
        if (UNLIKELY(callee->type != want && !weft_functype_equal(callee->type, want))) \
            TRAP(INDIRECT_CALL_MISMATCH);                                     \
        nfp = fp + pc[2].p.a;                                                 \
    } while (0)
L_CALL_INDIRECT:
    INDIRECT_CALLEE();
    pc += 3;
    goto do_call;
L_RETURN_CALL:
    callee = inst->funcs[pc[1].p.a];
    nfp = fp + pc[1].p.b;
    goto do_tail_call;
L_RETURN_CALL_INDIRECT:
    INDIRECT_CALLEE();
    goto do_tail_call;
do_tail_call: {
    /* The caller is done: its frame_t (where its own caller resumes) stays
     * on the control stack, the arguments move down to slot 0 and the
     * callee runs in the same frame, so tail recursion never deepens
     * s->depth nor the value stack. The validator made the callee's
     * results the caller's, so returning from the callee returns for both. */
    uint32_t np = callee->type->nparams;
    if (nfp != fp) {
        memmove(fp, nfp, np * sizeof *fp);
        if (s->vstack) memmove(store_vslot(s, fp), store_vslot(s, nfp), (size_t)np * 16); /* v128s */
    }
    if (callee->def) {
        if (UNLIKELY(fp + callee->def->frame_slots > stack_end)) TRAP(STACK_EXHAUSTED);
        nfp = fp;
        if (JIT_ENTRY(callee->def)) { /* compiled: runs in this frame, then the frame returns */
            s->fuel = fuel;
            tc = jit_invoke(s, callee, fp, false);
            fuel = s->fuel;
            RELOAD_MEM();
            if (tc) {
                cur = NULL; /* the callee replaced this function: not in the backtrace */
                goto trap_reported;
            }
            cur = callee->def; /* it did: a fuel trap where the run ends names it */
            inst = callee->inst; /* (the return reloads the caller's memory) */
            goto L_RETURN;
        }
        goto enter;
    }
    /* A host function: called in place of the frame, then the frame
     * returns with its results. */
    if (FUEL_OUT()) TRAP(OUT_OF_FUEL);
    s->fuel = fuel;
    s->stack_top = fp + (np > callee->type->nresults ? np : callee->type->nresults);
    tc = runtime_call_host(s, callee, inst, fp);
    fuel = s->fuel;
    RELOAD_MEM();
    if (tc) goto trap_reported;
    goto L_RETURN;
}
L_COPY:
    DST(1) = SRC(1);
    pc += 2;
    NEXT();
L_COPY2:
    DST(1) = SRC(1);
    DST(2) = SRC(2);
    pc += 3;
    NEXT();
L_CONST:
    fp[pc[1].u].i64 = pc[2].u;
    pc += 3;
    NEXT();
L_SELECT:
    DST(1) = fp[pc[2].p.b].i32 ? SRC(1) : fp[pc[2].p.a];
    pc += 3;
    NEXT();
L_GLOBAL_GET:
    DST(1) = inst->globals[pc[1].p.b]->val;
    pc += 2;
    NEXT();
L_GLOBAL_SET:
    inst->globals[pc[1].p.b]->val = fp[pc[1].p.a];
    pc += 2;
    NEXT();
L_MEMORY_SIZE:
    DST(1).i32 = (uint32_t)(memsize / PAGE_SIZE);
    pc += 2;
    NEXT();
L_MEMORY_GROW: {
    /* new pages are zeroed: a grow that will happen pays for their bytes */
    uint32_t delta = SRC(1).i32;
    if (delta && memory_grow_fits(inst->mems[0], delta)) CHARGE((uint64_t)delta * (PAGE_SIZE / BYTES_PER_FUEL));
    DST(1).s32 = memory_grow_pages(inst->mems[0], delta);
    RELOAD_MEM();
    pc += 2;
    NEXT();
}
/* memory.init, copy and fill of memory 0 (base and size in registers)
 * and, in the _M handlers below, of any memory */
#define MEMORY_INIT_INTO(base, size)                                          \
    do {                                                                      \
        uint32_t seg = (uint32_t)pc[1].u;                                     \
        uint32_t d = fp[pc[2].p.a].i32, src = fp[pc[2].p.b].i32, n = fp[pc[3].u].i32; \
        const datadef_t *dd = &inst->module->datas[seg];                      \
        uint32_t len = inst->dropped_datas[seg] ? 0 : dd->len;                \
        if (UNLIKELY((uint64_t)src + n > len || (uint64_t)d + n > (size))) TRAP(MEMORY_OOB); \
        CHARGE(BYTE_UNITS(n));                                                \
        if (n) memcpy((base) + d, dd->bytes + src, n);                        \
    } while (0)
#define MEMORY_COPY_BETWEEN(dbase, dsize, sbase, ssize)                       \
    do {                                                                      \
        uint32_t d = fp[pc[1].p.a].i32, src = fp[pc[1].p.b].i32, n = fp[pc[2].u].i32; \
        if (UNLIKELY((uint64_t)src + n > (ssize) || (uint64_t)d + n > (dsize))) TRAP(MEMORY_OOB); \
        CHARGE(BYTE_UNITS(n));                                                \
        if (n) memmove((dbase) + d, (sbase) + src, n); /* one memory may be both */ \
    } while (0)
#define MEMORY_FILL_OF(base, size)                                            \
    do {                                                                      \
        uint32_t d = fp[pc[1].p.a].i32, v = fp[pc[1].p.b].i32, n = fp[pc[2].u].i32; \
        if (UNLIKELY((uint64_t)d + n > (size))) TRAP(MEMORY_OOB);             \
        CHARGE(BYTE_UNITS(n));                                                \
        if (n) memset((base) + d, (int)(v & 0xff), n);                        \
    } while (0)
L_MEMORY_INIT:
    MEMORY_INIT_INTO(mem, memsize);
    pc += 4;
    NEXT();
L_DATA_DROP:
    inst->dropped_datas[pc[1].u] = 1;
    pc += 2;
    NEXT();
L_MEMORY_COPY:
    MEMORY_COPY_BETWEEN(mem, memsize, mem, memsize);
    pc += 3;
    NEXT();
L_MEMORY_FILL:
    MEMORY_FILL_OF(mem, memsize);
    pc += 3;
    NEXT();
L_TABLE_GET: {
    weft_table_t *t = inst->tables[pc[2].u];
    uint32_t i = SRC(1).i32;
    if (UNLIKELY(i >= t->size)) TRAP(TABLE_OOB);
    DST(1).ref = t->elems[i];
    pc += 3;
    NEXT();
}
L_TABLE_SET: {
    weft_table_t *t = inst->tables[pc[2].u];
    uint32_t i = fp[pc[1].p.a].i32;
    if (UNLIKELY(i >= t->size)) TRAP(TABLE_OOB);
    t->elems[i] = SRC(1).ref;
    pc += 3;
    NEXT();
}
L_TABLE_SIZE:
    fp[pc[1].u].i32 = inst->tables[pc[2].u]->size;
    pc += 3;
    NEXT();
L_TABLE_GROW: {
    weft_table_t *t = inst->tables[pc[2].p.b];
    uint32_t delta = fp[pc[2].p.a].i32;
    if (delta && table_grow_fits(t, delta)) CHARGE(delta); /* one unit per new element */
    DST(1).s32 = table_grow_elems(t, delta, SRC(1).ref);
    pc += 3;
    NEXT();
}
L_TABLE_FILL: {
    weft_table_t *t = inst->tables[pc[2].p.b];
    uint32_t i = fp[pc[1].p.a].i32, n = fp[pc[2].p.a].i32;
    void *v = SRC(1).ref;
    if (UNLIKELY((uint64_t)i + n > t->size)) TRAP(TABLE_OOB);
    CHARGE(n);
    for (uint32_t k = 0; k < n; k++) t->elems[i + k] = v;
    pc += 3;
    NEXT();
}
L_TABLE_COPY: {
    weft_table_t *dt = inst->tables[pc[3].p.a], *st = inst->tables[pc[3].p.b];
    uint32_t d = fp[pc[1].p.a].i32, src = fp[pc[1].p.b].i32, n = fp[pc[2].u].i32;
    if (UNLIKELY((uint64_t)src + n > st->size || (uint64_t)d + n > dt->size)) TRAP(TABLE_OOB);
    CHARGE(n);
    if (n) memmove(dt->elems + d, st->elems + src, n * sizeof(void *));
    pc += 4;
    NEXT();
}
L_TABLE_INIT: {
    uint32_t seg = pc[3].p.a;
    weft_table_t *t = inst->tables[pc[3].p.b];
    uint32_t d = fp[pc[1].p.a].i32, src = fp[pc[1].p.b].i32, n = fp[pc[2].u].i32;
    const elemdef_t *el = &inst->module->elems[seg];
    uint32_t len = inst->dropped_elems[seg] ? 0 : el->count;
    if (UNLIKELY((uint64_t)src + n > len || (uint64_t)d + n > t->size)) TRAP(TABLE_OOB);
    CHARGE(n);
    for (uint32_t k = 0; k < n; k++) t->elems[d + k] = elem_item(inst, &el->items[src + k]);
    pc += 4;
    NEXT();
}
L_ELEM_DROP:
    inst->dropped_elems[pc[1].u] = 1;
    pc += 2;
    NEXT();
/* Memories other than 0 (multi-memory): looked up from the instance at
 * each access, so memory 0's registers and handlers stay as they were. A
 * grow reloads memory 0's registers too: a module may import one memory
 * as two of its indices. */
L_LOAD_M: {
    const weft_memory_t *mm = inst->mems[pc[3].p.a];
    uint64_t ea = (uint64_t)SRC(1).i32 + pc[2].u;
    switch (pc[3].p.b) {
#define LOAD(n, w, vo, ct, fo)                                                \
    case w: {                                                                 \
        if (UNLIKELY(ea + sizeof(ct) > mm->size)) TRAP(MEMORY_OOB);           \
        ct v;                                                                 \
        memcpy(&v, mm->data + ea, sizeof v);                                  \
        DST(1).fo = v;                                                        \
        break;                                                                \
    }
#include "ops.def"
    }
    pc += 4;
    NEXT();
}
L_STORE_M: {
    weft_memory_t *mm = inst->mems[pc[3].p.a];
    uint64_t ea = (uint64_t)fp[pc[1].p.a].i32 + pc[2].u;
    switch (pc[3].p.b) {
#define STORE(n, w, vi, ct, fi)                                               \
    case w: {                                                                 \
        if (UNLIKELY(ea + sizeof(ct) > mm->size)) TRAP(MEMORY_OOB);           \
        ct v = (ct)SRC(1).fi;                                                 \
        memcpy(mm->data + ea, &v, sizeof v);                                  \
        break;                                                                \
    }
#include "ops.def"
    }
    pc += 4;
    NEXT();
}
L_MEMORY_SIZE_M:
    DST(1).i32 = (uint32_t)(inst->mems[pc[2].u]->size / PAGE_SIZE);
    pc += 3;
    NEXT();
L_MEMORY_GROW_M: {
    weft_memory_t *mm = inst->mems[pc[2].u];
    uint32_t delta = SRC(1).i32;
    if (delta && memory_grow_fits(mm, delta)) CHARGE((uint64_t)delta * (PAGE_SIZE / BYTES_PER_FUEL));
    DST(1).s32 = memory_grow_pages(mm, delta);
    RELOAD_MEM();
    pc += 3;
    NEXT();
}
L_MEMORY_INIT_M: {
    weft_memory_t *mm = inst->mems[pc[4].u];
    MEMORY_INIT_INTO(mm->data, mm->size);
    pc += 5;
    NEXT();
}
L_MEMORY_COPY_M: {
    weft_memory_t *dm = inst->mems[pc[3].p.a], *sm = inst->mems[pc[3].p.b];
    MEMORY_COPY_BETWEEN(dm->data, dm->size, sm->data, sm->size);
    pc += 4;
    NEXT();
}
L_MEMORY_FILL_M: {
    weft_memory_t *mm = inst->mems[pc[3].p.a];
    MEMORY_FILL_OF(mm->data, mm->size);
    pc += 4;
    NEXT();
}
L_REF_FUNC:
    DST(1).ref = inst->funcs[pc[1].p.b];
    pc += 2;
    NEXT();
L_REF_IS_NULL:
    DST(1).i32 = SRC(1).ref == NULL;
    pc += 2;
    NEXT();
/* An i32 add, then an I32_ADD_IMM (validate.c: add_imm_pair, two
 * I32_ADD_IMMs; add_then_add_imm, an I32_ADD and an I32_ADD_IMM), in
 * order: the second may read what the first wrote. Each slot is written as
 * PUT writes it; acc holds the second result, as after two separate ops. */
#define ADD_THEN_ADD_IMM(a_expr, b_expr)                                      \
    do {                                                                      \
        fp[pc[1].p.a].i32 = (a_expr) + (b_expr);                              \
        uint32_t r2_ = fp[pc[3].p.b].i32 + (uint32_t)pc[4].u;                 \
        fp[pc[3].p.a].i32 = r2_;                                              \
        acc.i64 = r2_;                                                        \
        pc += 5;                                                              \
        NEXT();                                                               \
    } while (0)
L_I32_ADD_IMM2:
    ADD_THEN_ADD_IMM(SRC(1).i32, (uint32_t)pc[2].u);
L_I32_ADD_IMM2_R:
    ADD_THEN_ADD_IMM(acc.i32, (uint32_t)pc[2].u);
/* Three I32_ADD_IMMs (add_imm_pair again), in order. */
#define ADD_IMM3(a_expr)                                                      \
    do {                                                                      \
        fp[pc[1].p.a].i32 = (a_expr) + (uint32_t)pc[2].u;                     \
        fp[pc[3].p.a].i32 = fp[pc[3].p.b].i32 + (uint32_t)pc[4].u;            \
        uint32_t r3_ = fp[pc[5].p.b].i32 + (uint32_t)pc[6].u;                 \
        fp[pc[5].p.a].i32 = r3_;                                              \
        acc.i64 = r3_;                                                        \
        pc += 7;                                                              \
        NEXT();                                                               \
    } while (0)
L_I32_ADD_IMM3:
    ADD_IMM3(SRC(1).i32);
L_I32_ADD_IMM3_R:
    ADD_IMM3(acc.i32);
L_I32_ADD_ADD_IMM:
    ADD_THEN_ADD_IMM(SRC(1).i32, fp[pc[2].p.a].i32);
L_I32_ADD_ADD_IMM_R:
    ADD_THEN_ADD_IMM(acc.i32, fp[pc[2].p.a].i32);
/* global.get of an i32 global plus a constant, and global.set of a slot
 * plus a constant (compile.c: global_add_imm, global_set_fused): clang's
 * stack pointer, moved down at a function's entry and back at its end.
 * An i32 global's value is its .i32 field, as an i32 slot's is. */
L_GLOBAL_GET_ADD_IMM: {
    uint32_t r = inst->globals[pc[1].p.b]->val.i32 + (uint32_t)pc[2].u;
    fp[pc[1].p.a].i32 = r;
    acc.i64 = r;
    pc += 3;
    NEXT();
}
L_GLOBAL_GET_ADD_IMM_SET: {
    weft_global_t *g = inst->globals[pc[1].p.b];
    uint32_t r = g->val.i32 + (uint32_t)pc[2].u;
    g->val.i32 = r;
    fp[pc[1].p.a].i32 = r;
    acc.i64 = r;
    pc += 3;
    NEXT();
}
L_GLOBAL_SET_ADD_IMM:
    inst->globals[pc[1].p.b]->val.i32 = fp[pc[1].p.a].i32 + (uint32_t)pc[2].u;
    pc += 3;
    NEXT();

/* SIMD: generic handlers around simd.c's lane functions. A v128 in slot i
 * is the 16 bytes of the store's vstack beside it (docs/engine.md "SIMD");
 * nothing here touches the accumulators. */
#define VS(i) ((v128_t *)store_vslot(s, fp + (i)))
/* A SIMD access of `width` bytes at ea_expr in memory k (multi-memory; 0
 * is the one in registers): vmem + ea is in bounds after it. */
#define V_MEM(ea_expr, width, k)                                              \
    uint8_t *vmem = mem;                                                      \
    uint64_t vsize = memsize;                                                 \
    if (UNLIKELY(k)) {                                                        \
        vmem = inst->mems[k]->data;                                           \
        vsize = inst->mems[k]->size;                                          \
    }                                                                         \
    uint64_t ea = (ea_expr);                                                  \
    if (UNLIKELY(ea + (width) > vsize)) TRAP(MEMORY_OOB)
L_V_COPY:
    *VS(pc[1].p.a) = *VS(pc[1].p.b);
    pc += 2;
    NEXT();
L_V_CONST:
    memcpy(VS(pc[1].u), &pc[2], 16);
    pc += 4;
    NEXT();
L_V_ZERO:
    memset(VS(pc[1].p.a), 0, (size_t)pc[1].p.b * 16);
    pc += 2;
    NEXT();
L_V_SELECT:
    *VS(pc[1].p.a) = fp[pc[2].p.b].i32 ? *VS(pc[1].p.b) : *VS(pc[2].p.a);
    pc += 3;
    NEXT();
L_V_GLOBAL_GET:
    memcpy(VS(pc[1].p.a), inst->globals[pc[1].p.b]->v128, 16);
    pc += 2;
    NEXT();
L_V_GLOBAL_SET:
    memcpy(inst->globals[pc[1].p.b]->v128, VS(pc[1].p.a), 16);
    pc += 2;
    NEXT();
L_V_OP:
    ((simd_vfn_t)pc[3].h)(VS(pc[1].p.a), VS(pc[1].p.b), VS(pc[2].p.a), VS(pc[2].p.b), 0);
    pc += 4;
    NEXT();
L_V_SHIFT:
    ((simd_vfn_t)pc[3].h)(VS(pc[1].p.a), VS(pc[1].p.b), NULL, NULL, fp[pc[2].u].i32);
    pc += 4;
    NEXT();
L_V_TO_S:
    fp[pc[1].p.a].i64 = ((simd_sfn_t)pc[3].h)(VS(pc[1].p.b), (uint32_t)pc[2].u);
    pc += 4;
    NEXT();
L_V_FROM_S:
    ((simd_rfn_t)pc[3].h)(VS(pc[1].p.a), VS(pc[1].p.b), fp[pc[2].p.a].i64, pc[2].p.b);
    pc += 4;
    NEXT();
L_V_SHUFFLE: {
    v128_t a = *VS(pc[1].p.b), b = *VS(pc[2].u), r;
    const uint8_t *lane = (const uint8_t *)&pc[3];
    for (unsigned i = 0; i < 16; i++) r.u8[i] = lane[i] < 16 ? a.u8[lane[i]] : b.u8[lane[i] - 16];
    *VS(pc[1].p.a) = r;
    pc += 5;
    NEXT();
}
L_V_LOAD: {
    V_MEM((uint64_t)SRC(1).i32 + pc[2].u, pc[3].p.a, pc[3].p.b);
    ((simd_mfn_t)pc[4].h)(VS(pc[1].p.a), vmem + ea);
    pc += 5;
    NEXT();
}
L_V_LOAD_LANE: {
    V_MEM((uint64_t)SRC(1).i32 + pc[2].u, pc[4].p.a, pc[4].p.b);
    v128_t v = *VS(pc[3].p.a);
    memcpy(v.u8 + pc[3].p.b * pc[4].p.a, vmem + ea, pc[4].p.a);
    *VS(pc[1].p.a) = v;
    pc += 5;
    NEXT();
}
L_V_STORE: {
    uint32_t width = pc[3].p.a & 0xff, lane = pc[3].p.a >> 8;
    V_MEM((uint64_t)fp[pc[1].p.a].i32 + pc[2].u, width, pc[3].p.b);
    memcpy(vmem + ea, VS(pc[1].p.b)->u8 + lane * width, width);
    pc += 4;
    NEXT();
}
L_V_STORE128: {
    V_MEM((uint64_t)fp[pc[1].p.a].i32 + pc[2].u, 16, pc[3].p.b);
    memcpy(vmem + ea, VS(pc[1].p.b), 16);
    pc += 4;
    NEXT();
}
L_V_SHUFFLE32: {
    uint32_t t[8], sel = (uint32_t)pc[3].u;
    memcpy(t, VS(pc[1].p.b), 16);
    memcpy(t + 4, VS(pc[2].u), 16);
    v128_t r = {.u32 = {t[sel & 7], t[sel >> 8 & 7], t[sel >> 16 & 7], t[sel >> 24 & 7]}};
    *VS(pc[1].p.a) = r;
    pc += 4;
    NEXT();
}
/* The hot instructions' own handlers (ops.def's V* lines), in the layout of
 * the generic ones. vb_ is the frame's vector base, computed once: a store
 * through a vector may alias *s for the compiler. Without SSE2 the ones
 * that need it jump to the generic handler, which calls the lane function
 * of the last cell. */
#define VBASE() uint8_t *const vb_ = s->vstack + (size_t)(fp - s->stack) * 16
#define VAT(i) ((v128_t *)(vb_ + (size_t)(i) * 16))
#define VEXTRACT(n, sub, f, rt)                                               \
    L_##n : {                                                                 \
        VBASE();                                                              \
        fp[pc[1].p.a].i64 = (rt)VAT(pc[1].p.b)->f[pc[2].u];                   \
        pc += 4;                                                              \
        NEXT();                                                               \
    }
#define VREPLACE(n, sub, f)                                                   \
    L_##n : {                                                                 \
        VBASE();                                                              \
        v128_t v = *VAT(pc[1].p.b);                                           \
        v.f[pc[2].p.b] = (__typeof__(v.f[0]))fp[pc[2].p.a].i64;               \
        *VAT(pc[1].p.a) = v;                                                  \
        pc += 4;                                                              \
        NEXT();                                                               \
    }
#if SIMD_SSE2
#define VX(i) (*(vx_t *)VAT(i))
#define V_SSE(n, body, len)                                                   \
    L_##n : {                                                                 \
        VBASE();                                                              \
        body;                                                                 \
        pc += len;                                                            \
        NEXT();                                                               \
    }
#define VUN(n, sub, fn) V_SSE(n, VX(pc[1].p.a) = fn(VX(pc[1].p.b)), 4)
#define VBIN(n, sub, fn) V_SSE(n, VX(pc[1].p.a) = fn(VX(pc[1].p.b), VX(pc[2].p.a)), 4)
#define VTERN(n, sub, fn) V_SSE(n, VX(pc[1].p.a) = fn(VX(pc[1].p.b), VX(pc[2].p.a), VX(pc[2].p.b)), 4)
#define VSHIFT(n, sub, fn) V_SSE(n, VX(pc[1].p.a) = fn(VX(pc[1].p.b), fp[pc[2].u].i32), 4)
#define VTEST(n, sub, fn) V_SSE(n, fp[pc[1].p.a].i64 = fn(VX(pc[1].p.b)), 4)
#define VSPLAT(n, sub, fn) V_SSE(n, VX(pc[1].p.a) = fn(fp[pc[2].p.a].i64), 4)
#define VLOAD(n, sub, fn)                                                     \
    L_##n : {                                                                 \
        V_MEM((uint64_t)SRC(1).i32 + pc[2].u, pc[3].p.a, pc[3].p.b);          \
        VBASE();                                                              \
        VX(pc[1].p.a) = fn(vmem + ea);                                        \
        pc += 5;                                                              \
        NEXT();                                                               \
    }
#else
#define VUN(n, sub, fn) L_##n : goto L_V_OP;
#define VBIN(n, sub, fn) L_##n : goto L_V_OP;
#define VTERN(n, sub, fn) L_##n : goto L_V_OP;
#define VSHIFT(n, sub, fn) L_##n : goto L_V_SHIFT;
#define VTEST(n, sub, fn) L_##n : goto L_V_TO_S;
#define VSPLAT(n, sub, fn) L_##n : goto L_V_FROM_S;
#define VLOAD(n, sub, fn) L_##n : goto L_V_LOAD;
#endif
#include "ops.def"

/* Every integer op writes its result to its slot and to acc (a register);
 * the _R twin of an op reads its first operand from acc instead of a slot,
 * when the compiler knows the op right before produced it. The slot is
 * always written too, so a value lives in memory whatever reads it later:
 * acc only takes the store-to-load round trip off the dependency chain. */
#define ACC_WRITE(r)                                                          \
    _Generic((r), float: (void)(facc32 = (float)(r)),                         \
             double: (void)(facc64 = (double)(r)),                           \
             default: (void)(acc.i64 = (uint64_t)(r))) /* whole register */
#define ACC_READ(fi)                                                          \
    _Generic(((slot_t *)0)->fi, float: facc32, double: facc64, default: acc.fi)
#define PUT(fo, v)                                                            \
    do {                                                                      \
        __typeof__(fp->fo) r_ = (v);                                          \
        DST(1).fo = r_;                                                       \
        ACC_WRITE(r_);                                                        \
    } while (0)
#define UN(n, w, vi, vo, fi, fo, e)                                           \
    L_##n : {                                                                 \
        __typeof__(fp->fi) a = SRC(1).fi;                                     \
        PUT(fo, (e));                                                         \
        pc += 2;                                                              \
        NEXT();                                                               \
    }
#define BIN_BODY(fi, fo, e, a_expr, b_expr)                                   \
    {                                                                         \
        __typeof__(fp->fi) a = (a_expr), b = (b_expr);                        \
        PUT(fo, (e));                                                         \
        pc += 3;                                                              \
        NEXT();                                                               \
    }
#define BIN(n, w, vi, vo, fi, fo, e)                                          \
    L_##n : BIN_BODY(fi, fo, e, SRC(1).fi, fp[pc[2].p.a].fi)                  \
    L_##n##_IMM : BIN_BODY(fi, fo, e, SRC(1).fi, ((slot_t){.i64 = pc[2].u}).fi) \
    L_##n##_R : BIN_BODY(fi, fo, e, ACC_READ(fi), fp[pc[2].p.a].fi)           \
    L_##n##_IMM_R : BIN_BODY(fi, fo, e, ACC_READ(fi), ((slot_t){.i64 = pc[2].u}).fi)
#define BR2(fi, cop, a_expr)                                                  \
    {                                                                         \
        if ((a_expr) cop fp[pc[1].p.b].fi)                                    \
            JUMP_AT(2);                                                       \
        else                                                                  \
            FALL(3);                                                          \
        NEXT();                                                               \
    }
#define BR2_IMM(fi, cop, a_expr)                                              \
    {                                                                         \
        slot_t k = {.i64 = pc[2].u};                                          \
        if ((a_expr) cop k.fi)                                                \
            JUMP_AT(3);                                                       \
        else                                                                  \
            FALL(4);                                                          \
        NEXT();                                                               \
    }
#define BRCMP(n, fi, cop)                                                     \
    L_BR_##n : BR2(fi, cop, fp[pc[1].p.a].fi)                                 \
    L_BR_##n##_IMM : BR2_IMM(fi, cop, fp[pc[1].u].fi)                         \
    L_BR_##n##_R : BR2(fi, cop, acc.fi)                                       \
    L_BR_##n##_IMM_R : BR2_IMM(fi, cop, acc.fi)
#define UNT(n, w, vi, vo, fi, fo, fn)                                         \
    L_##n : {                                                                 \
        __typeof__(fp->fo) r;                                                 \
        int t = fn(SRC(1).fi, &r);                                            \
        if (UNLIKELY(t)) {                                                    \
            tc = (weft_trap_code_t)t;                                         \
            goto trap;                                                        \
        }                                                                     \
        PUT(fo, r);                                                           \
        pc += 2;                                                              \
        NEXT();                                                               \
    }
#define BINT(n, w, vi, vo, fi, fo, fn)                                        \
    L_##n : {                                                                 \
        __typeof__(fp->fo) r;                                                 \
        int t = fn(SRC(1).fi, fp[pc[2].p.a].fi, &r);                          \
        if (UNLIKELY(t)) {                                                    \
            tc = (weft_trap_code_t)t;                                         \
            goto trap;                                                        \
        }                                                                     \
        PUT(fo, r);                                                           \
        pc += 3;                                                              \
        NEXT();                                                               \
    }
#define LOAD_AT(ct, fo, ea_expr)                                              \
    {                                                                         \
        uint64_t ea = (ea_expr);                                              \
        if (UNLIKELY(ea + sizeof(ct) > memsize)) TRAP(MEMORY_OOB);            \
        ct v;                                                                 \
        memcpy(&v, mem + ea, sizeof v);                                       \
        PUT(fo, v);                                                           \
        pc += 3;                                                              \
        NEXT();                                                               \
    }
#define STORE_AT(ct, fi, ea_expr, v_expr, len)                               \
    {                                                                         \
        uint64_t ea = (ea_expr);                                              \
        if (UNLIKELY(ea + sizeof(ct) > memsize)) TRAP(MEMORY_OOB);            \
        ct v = (ct)(v_expr).fi;                                               \
        memcpy(mem + ea, &v, sizeof v);                                       \
        pc += (len);                                                          \
        NEXT();                                                               \
    }
/* Two loads of one kind in a row (ops.def's I32_LOAD2): the first's
 * result is in its slot before the second reads its address. */
#define LOAD2(ct)                                                             \
    {                                                                         \
        uint64_t ea = (uint64_t)SRC(1).i32 + pc[2].u;                         \
        if (UNLIKELY(ea + sizeof(ct) > memsize)) TRAP(MEMORY_OOB);            \
        ct v;                                                                 \
        memcpy(&v, mem + ea, sizeof v);                                       \
        DST(1).i32 = v;                                                       \
        ea = (uint64_t)fp[pc[3].p.b].i32 + pc[4].u;                           \
        if (UNLIKELY(ea + sizeof(ct) > memsize)) TRAP(MEMORY_OOB);            \
        memcpy(&v, mem + ea, sizeof v);                                       \
        fp[pc[3].p.a].i32 = v;                                                \
        ACC_WRITE((uint32_t)v);                                               \
        pc += 5;                                                              \
        NEXT();                                                               \
    }
L_I32_LOAD2:
    LOAD2(uint32_t)
L_I32_LOAD8_U2:
    LOAD2(uint8_t)
/* A byte loaded, then stored (validate.c: byte_move): the load's slot is
 * written before the store's bounds check, as two ops did (acc is not:
 * the compiler takes nothing from it after a store). */
#define MOVE8(ea_expr)                                                        \
    {                                                                         \
        uint64_t ea = (ea_expr);                                              \
        if (UNLIKELY(ea + 1 > memsize)) TRAP(MEMORY_OOB);                     \
        uint8_t v = mem[ea];                                                  \
        DST(1).i32 = v;                                                       \
        ea = (uint64_t)fp[pc[3].p.a].i32 + pc[4].u;                           \
        if (UNLIKELY(ea + 1 > memsize)) TRAP(MEMORY_OOB);                     \
        mem[ea] = v;                                                          \
        pc += 5;                                                              \
        NEXT();                                                               \
    }
L_I32_LOAD8_U_STORE8:
    MOVE8((uint64_t)SRC(1).i32 + pc[2].u)
L_I32_LOAD8_U_A_STORE8:
    MOVE8((uint64_t)(uint32_t)(SRC(1).i32 + pc[2].p.b) + pc[2].p.a)
#define LOAD(n, w, vo, ct, fo)                                                \
    L_##n : LOAD_AT(ct, fo, (uint64_t)SRC(1).i32 + pc[2].u)                   \
    L_##n##_A : LOAD_AT(ct, fo, (uint64_t)(uint32_t)(SRC(1).i32 + pc[2].p.b) + pc[2].p.a)         \
    L_##n##_X : LOAD_AT(ct, fo, (uint64_t)(uint32_t)(SRC(1).i32 + fp[pc[2].p.b].i32) + pc[2].p.a) \
    L_##n##_R : LOAD_AT(ct, fo, (uint64_t)acc.i32 + pc[2].u)
/* the plain, _A and _X addresses of a store; _K forms take the value from cell 3 */
#define ST_EA ((uint64_t)fp[pc[1].p.a].i32 + pc[2].u)
#define ST_EA_A ((uint64_t)(uint32_t)(fp[pc[1].p.a].i32 + pc[2].p.b) + pc[2].p.a)
#define ST_EA_X ((uint64_t)(uint32_t)(fp[pc[1].p.a].i32 + fp[pc[2].p.b].i32) + pc[2].p.a)
#define ST_K ((slot_t){.i64 = pc[3].u})
#define STORE(n, w, vi, ct, fi)                                               \
    L_##n : STORE_AT(ct, fi, ST_EA, SRC(1), 3)                              \
    L_##n##_A : STORE_AT(ct, fi, ST_EA_A, SRC(1), 3)                          \
    L_##n##_X : STORE_AT(ct, fi, ST_EA_X, SRC(1), 3)                          \
    L_##n##_K : STORE_AT(ct, fi, ST_EA, ST_K, 4)                            \
    L_##n##_AK : STORE_AT(ct, fi, ST_EA_A, ST_K, 4)                           \
    L_##n##_XK : STORE_AT(ct, fi, ST_EA_X, ST_K, 4)
#include "ops.def"

/* Tier auto only: compile.c puts HOT after the CHECK of a function entry
 * and of a loop header, which calls and back-edges skip to, so a call or
 * an iteration of cur counts towards compiling it (jit_hot). Last, away
 * from the other handlers, whose layout it would otherwise shift. */
L_HOT:
    if (UNLIKELY(atomic_load_explicit((atomic_int *)&cur->hot, memory_order_relaxed) > 0))
        jit_hot(inst->funcs[def_index(inst, cur)]);
    pc += 1;
    NEXT();
trap:
    store_trap(s, tc, "%s", weft_trap_string(tc));
trap_reported:
    /* Backtrace, innermost first; appended to what an inner re-entrant run
     * recorded. */
    if (cur && s->bt_len < MAX_BACKTRACE) {
        s->bt_funcs[s->bt_len] = def_index(inst, cur);
        s->bt_modules[s->bt_len++] = inst->module;
    }
    {
        uint32_t d = s->depth;
        while (d > entry_depth) {
            frame_t *fr = &s->frames[--d];
            if (!fr->ret_pc) break;
            if (fr->def && s->bt_len < MAX_BACKTRACE) {
                s->bt_funcs[s->bt_len] = def_index(fr->inst, fr->def);
                s->bt_modules[s->bt_len++] = fr->inst->module;
            }
        }
        s->depth = d; /* unwind to the entry frame of this run */
    }
    s->fuel = fuel < 0 ? 0 : fuel; /* charged past the end before a check saw it */
    return tc;

done:
    /* A run charged past the fuel it had since the last check: the call
     * used more than its budget, as a check would have found. */
    if (FUEL_OUT() && init != 2) TRAP(OUT_OF_FUEL);
    s->fuel = fuel;
    return WEFT_TRAP_NONE;
}
