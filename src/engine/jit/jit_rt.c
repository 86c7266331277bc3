/*
 * jit_rt.c — the compiled tier at run time: entering compiled code from
 * the interpreter (jit_invoke), the helpers compiled code calls (calls,
 * traps, and the numeric ops it does not inline, each the C expression of
 * ops.def, so its meaning exists once), and the C stack check.
 *
 * Calls between tiers: compiled code calls every function through
 * jh_call, which runs a compiled callee with jit_invoke, an interpreted
 * one with interp_call and a host function as the interpreter does. Both
 * push the same frame_t records and count the same s->depth, so the depth
 * limit, traps and backtraces are the interpreter's.
 */
#define _GNU_SOURCE /* pthread_getattr_np */
#include "jit.h"

#include <math.h>
#include <pthread.h>

#include "../num.h"

/* ---- the C stack --------------------------------------------------------- */

/* Compiled code runs on the thread's own stack. A call is refused (call
 * stack exhausted) once less than this is left, which covers host
 * functions and the interpreter's frames above the deepest compiled one. */
#define JIT_STACK_MARGIN (256u * 1024u)

static __thread uintptr_t stack_floor;

/* jit_stack_floor's first call on a thread. */
static __attribute__((noinline)) uintptr_t stack_floor_find(void)
{
    pthread_attr_t a;
    void *addr = NULL;
    size_t size = 0;
    stack_floor = 1; /* unknown: no check beyond the depth limit */
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        if (pthread_attr_getstack(&a, &addr, &size) == 0 && size) {
            size_t margin = size / 4 < JIT_STACK_MARGIN ? size / 4 : JIT_STACK_MARGIN;
            stack_floor = (uintptr_t)addr + margin;
        }
        pthread_attr_destroy(&a);
    }
    return stack_floor;
}

/* The lowest rsp a call may start from on this thread (every
 * jit_invoke asks: the thread-local read is inline, the search once). */
static inline uintptr_t jit_stack_floor(void)
{
    uintptr_t f = stack_floor;
    return LIKELY(f) ? f : stack_floor_find();
}

/* ---- entering compiled code ---------------------------------------------- */

typedef weft_trap_code_t (*jit_fn_t)(jit_ctx_t *ctx, slot_t *fp);

/* Function `index` of the instance ctx runs joins the backtrace (the
 * compiled code passes its own index: direct calls keep no record of the
 * running function). */
static void bt_push(jit_ctx_t *ctx, uint32_t index)
{
    weft_store_t *s = ctx->s;
    if (s->bt_len < MAX_BACKTRACE) {
        s->bt_funcs[s->bt_len] = index;
        s->bt_modules[s->bt_len++] = ctx->inst->module;
    }
}

static void ctx_reload_mem(jit_ctx_t *ctx)
{
    weft_instance_t *inst = ctx->inst;
    if (inst && inst->mems) {
        ctx->mem = inst->mems[0]->data;
        ctx->memsize = inst->mems[0]->size;
    } else {
        ctx->mem = NULL;
        ctx->memsize = 0;
    }
}

weft_trap_code_t jit_invoke(weft_store_t *s, weft_func_t *f, slot_t *fp, bool push)
{
    const funcdef_t *d = f->def;
    uint32_t depth = s->depth;
    uintptr_t floor = jit_stack_floor();
    if ((uintptr_t)__builtin_frame_address(0) < floor || fp + d->frame_slots > s->stack + s->stack_slots)
        return store_trap(s, WEFT_TRAP_STACK_EXHAUSTED, "%s", weft_trap_string(WEFT_TRAP_STACK_EXHAUSTED));
    if (push) {
        while (UNLIKELY(s->depth >= s->nframes_cap))
            if (!store_grow_frames(s))
                return store_trap(s, WEFT_TRAP_STACK_EXHAUSTED, "%s",
                                  weft_trap_string(WEFT_TRAP_STACK_EXHAUSTED));
        frame_t *fr = &s->frames[s->depth++];
        fr->ret_pc = NULL; /* a run of the interpreter above stops its walk here */
        fr->ret_fp = fp;
        fr->def = f->def;
        fr->inst = f->inst;
    }
    slot_t *z = fp + d->nparams; /* the locals the interpreter's call zeroes */
    for (uint64_t mask = d->zero_mask; mask; mask &= mask - 1) z[__builtin_ctzll(mask)].i64 = 0;
    for (uint32_t k = d->zero_from; k < d->nlocals; k++) fp[k].i64 = 0;
    /* Every field set one by one: an initializer zeroes the whole struct
     * first (a rep stos, measured at a third of this function's time when
     * calls between compiled functions come through here, tier auto). */
    jit_ctx_t ctx;
    ctx.s = s;
    ctx.inst = f->inst;
    ctx.globals = f->inst->globals;
    ctx.funcs = f->inst->funcs;
    ctx.interrupt = &s->interrupt;
    ctx.helpers = jit_helpers;
    ctx.stack_end = s->stack + s->stack_slots;
    ctx.stack_floor = floor;
    ctx.rsp0 = ctx.call_limit = 0; /* the C entry sets both */
    ctx.budget = s->nframes_cap - s->depth;
    ctx.depth0 = s->depth;
    ctx.frame_end = NULL; /* set before each call helper */
    ctx_reload_mem(&ctx);
    ctx.prev = jit_running; /* for the fault handler (guard.c) */
    jit_running = &ctx;
    weft_trap_code_t tc = ((jit_fn_t)d->jit)(&ctx, fp);
    jit_running = ctx.prev;
    s->depth = depth;
    return tc;
}

/* ---- helpers called by compiled code -------------------------------------- */

/* Calls f with its arguments at nfp, from the compiled function of ctx:
 * 0 or a reported trap (the caller appends itself to the backtrace). */
static weft_trap_code_t jh_call_func(jit_ctx_t *ctx, weft_func_t *f, slot_t *nfp)
{
    weft_store_t *s = ctx->s;
    weft_trap_code_t tc;
    if (f->def && f->def->jit) {
        tc = jit_invoke(s, f, nfp, true);
    } else if (f->def) {
        tc = interp_call_nested(s, f, nfp);
    } else { /* a host function, as the interpreter calls one: not run
              * past exhaustion (s->fuel is compiled code's r13 here) */
        if (UNLIKELY(s->fuel < 0))
            return store_trap(s, WEFT_TRAP_OUT_OF_FUEL, "%s", weft_trap_string(WEFT_TRAP_OUT_OF_FUEL));
        uint32_t np = f->type->nparams, nr = f->type->nresults;
        s->stack_top = nfp + (np > nr ? np : nr);
        if (ctx->frame_end > s->stack_top) s->stack_top = ctx->frame_end;
        tc = runtime_call_host(s, f, ctx->inst, nfp);
    }
    ctx_reload_mem(ctx);
    return tc;
}

static weft_trap_code_t jh_call(jit_ctx_t *ctx, uint32_t index, slot_t *nfp)
{
    return jh_call_func(ctx, ctx->funcs[index], nfp);
}

/* call_indirect: table[i] with the interpreter's three traps. */
static weft_trap_code_t jh_call_indirect(jit_ctx_t *ctx, uint32_t type, uint32_t table, uint32_t i,
                                         slot_t *nfp)
{
    weft_store_t *s = ctx->s;
    weft_table_t *tab = ctx->inst->tables[table];
    if (UNLIKELY(i >= tab->size))
        return store_trap(s, WEFT_TRAP_UNDEFINED_ELEMENT, "undefined element %u", i);
    weft_func_t *callee = tab->elems[i];
    if (UNLIKELY(!callee))
        return store_trap(s, WEFT_TRAP_UNINITIALIZED_ELEMENT, "uninitialized element %u", i);
    const weft_functype_t *want = ctx->inst->module->types[type];
    if (UNLIKELY(callee->type != want && !weft_functype_equal(callee->type, want)))
        return store_trap(s, WEFT_TRAP_INDIRECT_CALL_MISMATCH, "%s",
                          weft_trap_string(WEFT_TRAP_INDIRECT_CALL_MISMATCH));
    return jh_call_func(ctx, callee, nfp);
}

/* A trap raised by compiled function `index` itself: the message, then
 * the function in the backtrace. */
static weft_trap_code_t jh_trap(jit_ctx_t *ctx, weft_trap_code_t code, uint32_t index)
{
    store_trap(ctx->s, code, "%s", weft_trap_string(code));
    bt_push(ctx, index);
    return code;
}

/* A trap reported by a callee or helper: function `index` joins the
 * backtrace on the way out. */
static weft_trap_code_t jh_unwind(jit_ctx_t *ctx, weft_trap_code_t code, uint32_t index)
{
    bt_push(ctx, index);
    return code;
}

/* The out-of-line path of a direct call from the body running at rsp,
 * taken when rsp is at or below ctx->call_limit: the call is refused
 * (STACK_EXHAUSTED, not reported yet) when the C stack is short or the
 * interpreter's call would be (the frame array cannot grow to hold one
 * more frame: the depth limit); else the array is grown and the limit
 * moved, and the call goes ahead. */
static uint32_t jh_deeper(jit_ctx_t *ctx, uintptr_t rsp)
{
    weft_store_t *s = ctx->s;
    uint64_t depth = ctx->depth0 + (ctx->rsp0 - rsp) / JIT_CALL_BYTES;
    if (rsp < ctx->stack_floor) return WEFT_TRAP_STACK_EXHAUSTED;
    while (depth >= s->nframes_cap)
        if (!store_grow_frames(s)) return WEFT_TRAP_STACK_EXHAUSTED;
    uint64_t room = (uint64_t)(s->nframes_cap - ctx->depth0) * JIT_CALL_BYTES;
    /* as the C entry computes it */
    ctx->call_limit = room < ctx->rsp0 && ctx->rsp0 - room > ctx->stack_floor ? ctx->rsp0 - room : ctx->stack_floor;
    return 0;
}

/* memory.grow of memory 0, as the interpreter's: a grow that will happen
 * pays for the zeroed pages first (fuel in s->fuel); 0 or OUT_OF_FUEL
 * (not reported yet). */
static uint32_t jh_memory_grow(jit_ctx_t *ctx, uint32_t delta, slot_t *d)
{
    weft_store_t *s = ctx->s;
    weft_memory_t *m = ctx->inst->mems[0];
    if (delta && memory_grow_fits(m, delta)) {
        uint64_t units = (uint64_t)delta * (PAGE_SIZE / BYTES_PER_FUEL);
        if (s->fuel < 0 || units > (uint64_t)s->fuel) return WEFT_TRAP_OUT_OF_FUEL;
        s->fuel -= (int64_t)units;
    }
    d->s32 = memory_grow_pages(m, delta);
    ctx_reload_mem(ctx);
    return 0;
}

/* The numeric ops as calls: arguments and result as slot bits. */
#define UN(n, w, vi, vo, fi, fo, e)                                           \
    static uint64_t jh_##n(uint64_t av)                                       \
    {                                                                         \
        __typeof__(((slot_t *)0)->fi) a = ((slot_t){.i64 = av}).fi;           \
        slot_t r = {.i64 = 0};                                                \
        r.fo = (e);                                                           \
        return r.i64;                                                         \
    }
#define BIN(n, w, vi, vo, fi, fo, e)                                          \
    static uint64_t jh_##n(uint64_t av, uint64_t bv)                          \
    {                                                                         \
        __typeof__(((slot_t *)0)->fi) a = ((slot_t){.i64 = av}).fi;           \
        __typeof__(((slot_t *)0)->fi) b = ((slot_t){.i64 = bv}).fi;           \
        slot_t r = {.i64 = 0};                                                \
        r.fo = (e);                                                           \
        return r.i64;                                                         \
    }
/* The trapping ones write their result only when they do not trap. */
#define UNT(n, w, vi, vo, fi, fo, fn)                                         \
    static uint32_t jh_##n(uint64_t av, slot_t *d)                            \
    {                                                                         \
        __typeof__(((slot_t *)0)->fo) r;                                      \
        int t = fn(((slot_t){.i64 = av}).fi, &r);                             \
        if (t) return (uint32_t)t;                                            \
        d->fo = r;                                                            \
        return 0;                                                             \
    }
#define BINT(n, w, vi, vo, fi, fo, fn)                                        \
    static uint32_t jh_##n(uint64_t av, uint64_t bv, slot_t *d)               \
    {                                                                         \
        __typeof__(((slot_t *)0)->fo) r;                                      \
        int t = fn(((slot_t){.i64 = av}).fi, ((slot_t){.i64 = bv}).fi, &r);   \
        if (t) return (uint32_t)t;                                            \
        d->fo = r;                                                            \
        return 0;                                                             \
    }
#include "../ops.def"

const void *const jit_helpers[JH_OP + OP__COUNT] = {
    [JH_CALL] = (const void *)jh_call,
    [JH_CALL_INDIRECT] = (const void *)jh_call_indirect,
    [JH_TRAP] = (const void *)jh_trap,
    [JH_UNWIND] = (const void *)jh_unwind,
    [JH_MEMORY_GROW] = (const void *)jh_memory_grow,
    [JH_DEEPER] = (const void *)jh_deeper,
#define UN(n, w, vi, vo, fi, fo, e) [JH_OP + OP_##n] = (const void *)jh_##n,
#define BIN(n, w, vi, vo, fi, fo, e)                                          \
    [JH_OP + OP_##n] = (const void *)jh_##n, [JH_OP + OP_##n##_IMM] = (const void *)jh_##n, \
    [JH_OP + OP_##n##_R] = (const void *)jh_##n, [JH_OP + OP_##n##_IMM_R] = (const void *)jh_##n,
#define UNT(n, w, vi, vo, fi, fo, fn) [JH_OP + OP_##n] = (const void *)jh_##n,
#define BINT(n, w, vi, vo, fi, fo, fn) [JH_OP + OP_##n] = (const void *)jh_##n,
#include "../ops.def"
};

/* ---- tier auto ------------------------------------------------------------- */

void jit_hot(weft_func_t *f)
{
    funcdef_t *d = (funcdef_t *)f->def; /* the counter is the one mutable field */
    /* Exactly one thread takes the counter from 1 to 0 and compiles; the
     * others see it at or below 0 and stop counting. */
    if (atomic_fetch_sub_explicit(&d->hot, 1, memory_order_relaxed) != 1) return;
    weft_module_t *m = f->inst->module;
    jit_compile_function(m, f->index - m->nfunc_imports);
}
