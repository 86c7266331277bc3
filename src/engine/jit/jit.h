/*
 * jit.h — the compiled tier's interface to the rest of the engine
 * (docs/jit.md). jit.c translates a function's internal code to x86-64;
 * jit_rt.c holds what that code calls at run time and the entry from
 * the interpreter.
 *
 * A compiled function is a C-ABI function
 *     weft_trap_code_t code(jit_ctx_t *ctx, slot_t *fp)
 * running the function's body on the frame at fp (its locals already
 * zeroed). It returns 0, or a trap code whose message is in the store and
 * whose backtrace already names this function and the ones below it.
 * Registers while it runs: rbx fp, r12 memory 0's base, r13 fuel left,
 * r14 ctx, r15 memory 0's size in bytes.
 */
#ifndef WEFT_ENGINE_JIT_H
#define WEFT_ENGINE_JIT_H

#include "../compile.h"

/* The per-call context a compiled function runs with (r14). Compiled code
 * reaches everything through it, never through absolute addresses. */
typedef struct {
    weft_store_t *s;
    weft_instance_t *inst;
    uint8_t *mem;                 /* memory 0: base and size, reloaded after helpers */
    uint64_t memsize;
    weft_global_t **globals;      /* inst->globals */
    weft_func_t **funcs;          /* inst->funcs */
    atomic_int *interrupt;        /* &s->interrupt */
    const void *const *helpers;   /* jit_helpers */
    slot_t *stack_end;            /* the value stack's end */
    uintptr_t stack_floor;        /* the lowest rsp a direct call may start from */
    /* Direct calls count no s->depth (docs/jit.md "Direct calls"): each
     * one takes JIT_CALL_BYTES of C stack, so the depth of a body running
     * at rsp is depth0 + (rsp0 - rsp) / JIT_CALL_BYTES. The C entry sets
     * rsp0 (its body's rsp) and call_limit, the lowest body rsp a direct
     * call may start from: above stack_floor, and below depth
     * s->nframes_cap (budget = s->nframes_cap - depth0 when entered), so
     * s->depth can be written out for a helper and fit the frame array. */
    uintptr_t rsp0;
    uintptr_t call_limit;
    uint64_t budget;
    uint32_t depth0;
    slot_t *frame_end;            /* the caller's frame end, set before a call helper (host calls) */
    void *prev;                   /* the thread's enclosing jit_invoke context (jit_running) */
} jit_ctx_t;

/* C stack a direct call takes: its return address and the callee's saved
 * rbp, which keeps every body's rsp 16-aligned for the helpers it calls. */
#define JIT_CALL_BYTES 16

/* Entries of the helper table compiled code calls through ctx->helpers:
 * the named ones, then one per internal op (JH_OP + op) for the numeric
 * ops compiled as a call of the C expression ops.def gives them. */
enum { JH_CALL, JH_CALL_INDIRECT, JH_TRAP, JH_UNWIND, JH_MEMORY_GROW, JH_DEEPER, JH_OP };
extern const void *const jit_helpers[JH_OP + OP__COUNT];

/* Whether this build has the compiled tier (x86-64 Linux). */
bool jit_supported(void);

/* jit.c: compiles every function of m whose ops the tier has templates
 * for; the others stay interpreted (funcdef_t.jit stays NULL). Never fails
 * the load: out of memory, the module simply runs interpreted. */
void jit_compile_module(weft_module_t *m);
void jit_free_module(weft_module_t *m);

/* cache.c: what weft_module_new_opts does for the compiled tier once the
 * module is loaded: under WEFT_TIER_JIT maps the code from the cache in
 * dir (when not NULL) or compiles every function (and stores the code
 * there); under WEFT_TIER_AUTO maps it from the cache or arms every
 * function's hot counter. Nothing for other tiers or without the compiled
 * tier. Never fails the load. */
void jit_load_tier(weft_module_t *m, int tier, const char *dir);

/* Code compiled one function at a time (tier auto): a mapping each, on a
 * list of the module's, unmapped with it. */
struct jit_chunk {
    struct jit_chunk *next;
    void *code;
    size_t size;
};

/* jit.c: compiles defined function i of m alone, into a mapping of its
 * own: its calls of itself are direct, every other call goes through
 * jh_call, which takes whatever tier the callee has then. Publishes the
 * entry (funcdef_t.jit) last, so another thread runs either the
 * interpreter or the whole code. False when it cannot (an op without a
 * template, out of memory): the function stays interpreted. Called once
 * per function (jit_hot makes sure). */
bool jit_compile_function(weft_module_t *m, uint32_t i);

/* jit.c: len bytes of position-independent code copied into a fresh
 * mapping, then made read-execute (never writable and executable at
 * once); its size, whole pages, in *size. NULL when it cannot. */
void *jit_map_code(const void *p, size_t len, size_t *size);

/* jit_rt.c, tier auto: counts a call or loop back-edge of interpreted
 * function f (its funcdef's hot counter was positive) and compiles it,
 * on this thread, when the count reaches JIT_HOT_COUNT; the next call
 * takes the compiled entry (no on-stack replacement). */
#define JIT_HOT_COUNT 1000
void jit_hot(weft_func_t *f);

/* jit_rt.c: runs compiled function f (f->def->jit set) on the frame at fp,
 * as the interpreter's call does: the call-depth and stack checks (when
 * push: a tail call reuses its caller's frame), the locals zeroed, s->fuel
 * in and out. Returns 0 or the trap code (reported, backtrace appended). */
weft_trap_code_t jit_invoke(weft_store_t *s, weft_func_t *f, slot_t *fp, bool push);

/* guard.c: the context of the innermost compiled call running on this
 * thread (jit_invoke keeps it), which the fault handler reads; and the
 * handler's installation, once per process (false when it could not be
 * installed: then code is compiled with explicit bounds checks). */
extern __thread jit_ctx_t *jit_running;
bool jit_guard_install(void);

/* dump.c: cells of the instruction at pc whose op is `op`; the op of a
 * handler address, or -1. */
size_t engine_op_len(int op, const cell_t *pc);

#endif
