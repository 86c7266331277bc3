/*
 * priv.h — the engine's private data structures, shared by its stages:
 * decode.c (binary → struct module), validate.c (type checking, drives the
 * emitter), compile.c (internal code), interp.c (execution), runtime.c
 * (stores, instances, linking) and api.c (the public accessors).
 *
 * Invariants: a struct module is immutable once weft_module_new returns;
 * every runtime object (instance, memory, table, global, function) belongs
 * to exactly one store and is freed with it.
 */
#ifndef WEFT_ENGINE_PRIV_H
#define WEFT_ENGINE_PRIV_H

#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/weft.h"

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

#define PAGE_SIZE 65536u
#define MAX_PAGES 65536u
#define MAX_LOCALS 50000u        /* declared locals per function: implementation limit */
#define LOCALS_PER_FUEL 16u      /* a call's fuel: 1 unit per 16 declared locals it zeroes */
#define BYTES_PER_FUEL 16u       /* bulk memory ops: 1 unit per 16 bytes (as host calls) */
#define CODE_BASE_CELLS 64u      /* compiled code per function: at most this many cells */
#define CODE_CELLS_PER_BYTE 8u   /* plus this many per byte of its body (4x the most seen) */
#define MAX_FUNC_PARAMS 1000u
#define MAX_REENTRY 64u          /* nested host → wasm re-entries */
#define MAX_BACKTRACE 64u

/* One value on the wasm stack or in a local: 8 bytes, addressed by slot
 * index from the frame pointer; the same layout as weft_raw_t. Fields are named after the wasm type they
 * hold; integers are unsigned so arithmetic wraps without UB. */
typedef union {
    uint32_t i32;
    uint64_t i64;
    float f32;
    double f64;
    void *ref;
    int32_t s32;
    int64_t s64;
} slot_t;

/* One cell of compiled code: a handler address, or packed operands. */
typedef union {
    const void *h;
    uint64_t u;
    int64_t i;
    struct {
        uint32_t a, b;
    } p;
} cell_t;

struct weft_functype {
    uint32_t nparams, nresults;
    uint8_t *types; /* params then results, weft_valtype_t values */
};

/* ---- module ------------------------------------------------------------ */

/* A constant expression. One instruction then `end` (all WebAssembly 2.0
 * allows) is kept as that instruction; a longer one (extended constant
 * expressions: i32/i64 add, sub, mul) as CE_EXPR, its instructions in
 * postfix order in the module's pool (cexpr_ops[value .. value + nops)),
 * evaluated on a stack of at most MAX_CONST_DEPTH values. */
enum {
    CE_I32, CE_I64, CE_F32, CE_F64, CE_REF_NULL, CE_REF_FUNC, CE_GLOBAL_GET,
    CE_I32_ADD, CE_I32_SUB, CE_I32_MUL, CE_I64_ADD, CE_I64_SUB, CE_I64_MUL, CE_EXPR,
    CE_V128 /* value: the offset in module->bytes of v128.const's 16 bytes */
};
typedef struct {
    uint8_t kind;
    uint8_t type;    /* result value type */
    uint32_t nops;   /* CE_EXPR: instructions in the pool */
    uint64_t value;  /* constant bits, function index, global index or pool index */
} constexpr_t;
#define MAX_CONST_DEPTH 64u /* values on a constant expression's stack: implementation limit */

typedef struct {
    uint8_t type; /* weft_valtype_t */
    bool mut;
    constexpr_t init;
} globaldef_t;

typedef struct {
    uint8_t elem; /* FUNCREF / EXTERNREF */
    weft_limits_t limits;
} tabledef_t;

typedef struct {
    const char *module, *name; /* NUL-terminated copies, owned by the module */
    uint32_t module_len, name_len;
    uint8_t kind;
    uint32_t index; /* function: type index; table/memory/global: index in its space */
} importdef_t;

typedef struct {
    const char *name;
    uint32_t name_len;
    uint8_t kind;
    uint32_t index;
    uint32_t name_offset; /* of the name in the binary, for the duplicate message */
} exportdef_t;

enum { SEG_ACTIVE, SEG_PASSIVE, SEG_DECLARATIVE };

typedef struct {
    uint8_t mode;
    uint8_t type; /* FUNCREF / EXTERNREF */
    uint32_t table;
    constexpr_t offset;
    uint32_t count;
    constexpr_t *items;
} elemdef_t;

typedef struct {
    uint8_t mode;
    uint32_t memory;
    constexpr_t offset;
    const uint8_t *bytes; /* into module->bytes */
    uint32_t len;
} datadef_t;

typedef struct {
    const char *name;
    uint32_t name_len;
    const uint8_t *data;
    uint32_t len;
} customdef_t;

/* A compiled function body. Frame layout, in slots from the frame pointer:
 * [0, nparams) parameters, [nparams, nlocals) zero-initialised locals,
 * [nlocals, frame_slots) operand temporaries. Results are returned in
 * slots [0, nresults). The types of the declared locals are not expanded
 * (50,000 locals would cost 50,000 bytes per function whatever the body's
 * size): validate.c reads them as (count, type) runs from local_decls. */
typedef struct {
    /* What a call reads, first and in one cache line (the array is 64-byte
     * aligned: decode.c): SQLite's calls missed on two lines of it. */
    _Alignas(64) cell_t *code;
    /* Compiled code (docs/jit.md), or NULL: interpreted. Atomic: under tier
     * auto a thread compiles the function while others run it, and the
     * next call anywhere takes the code once published (a plain load on
     * x86-64). */
    _Atomic(const void *) jit;
    /* The declared locals a call zeroes (docs/engine.md "Locals"): bit i of
     * zero_mask for local nparams + i, set when some read of it is not
     * preceded by a write on every path (compile.c, "definite assignment"),
     * and all of [zero_from, nlocals), the locals past the 64 tracked. */
    uint64_t zero_mask;
    uint32_t nparams;    /* its type's, here for calls (CALL_LOCAL) */
    uint32_t nlocals;    /* params + declared locals */
    uint32_t frame_slots;
    uint32_t zero_from;
    uint32_t type;       /* type index */
    uint32_t nlocal_groups;
    const uint8_t *local_decls; /* the body's local declarations, into module->bytes */
    size_t ncode;
    const uint8_t *body;  /* into module->bytes */
    size_t body_len;
    size_t body_offset;   /* byte offset of the body in the binary */
    /* Tier auto: calls and loop back-edges left before the function is
     * compiled (jit_hot); 0 or below: not counted (another tier, being
     * compiled or compiled, or without a template). */
    atomic_int hot;
    /* Tier auto: the compiled body's internal entry (the one direct calls
     * use, docs/jit.md), published with jit; a function compiled later
     * calls this one straight there instead of through jit_invoke. */
    _Atomic(const void *) jit_internal;
} funcdef_t;

/* funcdef_t.jit as the interpreter reads it at a call, only to choose the
 * way in: jit_invoke then reads the field itself (an atomic load, which
 * synchronises with the release store that published the code), so a
 * stale NULL here only interprets the call once more. On x86-64 the read
 * is a plain `mov` in an asm statement: any C11 atomic load there, even a
 * relaxed one, made GCC compile the whole of run() worse (the float
 * kernels' instructions +6-10%: bench/RESULTS.md "An atomic load in
 * run()"). Elsewhere no code is ever compiled. */
#if defined(__x86_64__)
static inline const void *jit_entry_load(const void *const *field)
{
    const void *p;
    __asm__("movq %1, %0" : "=r"(p) : "m"(*field));
    return p;
}
#define JIT_ENTRY(d) jit_entry_load((const void *const *)&(d)->jit)
#else
#define JIT_ENTRY(d) atomic_load_explicit((_Atomic(const void *) *)&(d)->jit, memory_order_acquire)
#endif

struct weft_module {
    atomic_int refs;
    weft_engine_t *engine;
    uint8_t *bytes;
    size_t len;

    uint32_t ntypes;
    weft_functype_t **types;

    uint32_t nimports;
    importdef_t *imports;

    /* Index spaces, imports first. */
    uint32_t nfuncs, nfunc_imports;
    uint32_t *func_types;      /* type index per function */
    funcdef_t *funcs;          /* defined functions: funcs[i - nfunc_imports] */
    uint32_t ntables, ntable_imports;
    tabledef_t *tables;
    uint32_t nmems, nmem_imports;
    weft_limits_t *mems;
    uint32_t nglobals, nglobal_imports;
    globaldef_t *globals;

    uint32_t nexports;
    exportdef_t *exports;
    uint32_t *export_order; /* export indices sorted by name (memcmp, then length) */

    int64_t start; /* -1 when absent */

    uint32_t nelems;
    elemdef_t *elems;
    uint32_t ndatas;
    datadef_t *datas;
    bool has_datacount;
    uint32_t datacount;

    uint32_t ncustoms;
    customdef_t *customs;

    constexpr_t *cexpr_ops; /* the instructions of every CE_EXPR */
    uint32_t ncexpr_ops;

    uint8_t *declared_funcs; /* bitmap: functions that ref.func may name */
    bool uses_v128;          /* a v128 type or a SIMD instruction: its store needs a vstack */
    char **func_names;       /* from the "name" section, may be NULL */
    void *jit_code;          /* the compiled tier's code of every function, read-execute */
    size_t jit_size;
    atomic_uint jit_funcs;   /* functions compiled */
    bool jit_guarded;        /* compiled without bounds checks: memory 0 must be guarded */
    const void *jit_oob;     /* jit_guarded: the trap stub a fault resumes at (jit/guard.c) */
    int jit_cache_status;    /* WEFT_CODE_CACHE_*: what the code cache did at load */
    char *jit_cache_note;    /* and the line saying so, or NULL */
    struct jit_chunk *_Atomic jit_chunks; /* tier auto: code compiled one function at a time */
};

/* ---- runtime objects ----------------------------------------------------- */

typedef struct weft_instance instance_t;

struct weft_func {
    weft_store_t *store;
    const weft_functype_t *type;
    instance_t *inst;          /* NULL for host functions */
    const funcdef_t *def;      /* compiled body, NULL for host functions */
    uint32_t index;            /* index in its module's space */
    weft_host_fn_t host;
    weft_host_raw_fn_t raw;    /* host functions use one of the two ABIs */
    bool raw_checks_refs;      /* raw results include funcrefs to check */
    void *user;
    void (*finalizer)(void *);
    weft_functype_t *owned_type; /* host functions own a copy */
};

struct weft_memory {
    uint8_t *data;
    uint64_t size; /* bytes */
    uint64_t cap;  /* bytes of the region data points to (mempool.c); zero past size */
    bool guarded;  /* data is a guard reservation: exactly size bytes accessible (mempool.c) */
    weft_limits_t limits;
    weft_store_t *store;
};

struct weft_table {
    void **elems;
    uint32_t size;
    uint8_t type;
    weft_limits_t limits;
    weft_store_t *store;
};

struct weft_global {
    weft_store_t *store;
    uint8_t type;
    bool mut;
    slot_t val;
    uint8_t v128[16] __attribute__((aligned(16))); /* the value of a v128 global (val unused) */
};

struct weft_instance {
    weft_module_t *module;
    weft_store_t *store;
    weft_func_t **funcs;
    weft_table_t **tables;
    weft_memory_t **mems;
    weft_global_t **globals;
    weft_memory_t *memory_export; /* the memory exported as "memory", for host calls */
    uint8_t *dropped_elems; /* elem.drop / data.drop state */
    uint8_t *dropped_datas;
    struct owned *owned_mark; /* the store's newest object once instantiated (a reset checks it) */
};

/* A control-stack record of one active wasm call. */
typedef struct {
    const cell_t *ret_pc;
    slot_t *ret_fp;
    const funcdef_t *def;  /* the caller's body, NULL for none (a backtrace's frame) */
    weft_instance_t *inst; /* its instance (def is one of inst->module->funcs) */
} frame_t;

/* Objects owned by a store are kept in one list of allocations. */
typedef struct owned {
    struct owned *next;
    int kind;
    void *obj;
} owned_t;

struct weft_store {
    weft_engine_t *engine;
    weft_limits_config_t limits;
    owned_t *owned;

    slot_t *stack;       /* value stack, limits.max_stack_bytes / 8 slots */
    size_t stack_slots;
    slot_t *stack_top;   /* first free slot (for re-entrant calls) */
    /* The v128 values (docs/engine.md "SIMD"): 16 bytes per slot of the
     * value stack, the one of slot p at vstack + (p - stack) * 16. Mapped
     * (untouched pages cost nothing) when the store first needs one: a
     * module using v128 is instantiated or a host function takes one. */
    uint8_t *vstack;
    size_t vstack_bytes;
    frame_t *frames;
    uint32_t nframes_cap;
    uint32_t depth;      /* active wasm frames */
    uint32_t reentry;

    uint64_t table_elems; /* elements of every table of the store, against limits.max_table_elems */

    /* For weft_store_reset: how many objects the store has made (only
     * grows), how many of them are memories, tables and globals, how many
     * of those its instances define, and its instances in the order made. */
    uint64_t nmade, nstate, nstate_defined;
    instance_t **insts;
    uint32_t ninsts, cap_insts;

    bool fuel_on;
    int64_t fuel;
    atomic_int interrupt;

    weft_trap_code_t trap;
    int exit_status;
    char trap_msg[256];
    char errmsg[512];
    uint32_t bt_funcs[MAX_BACKTRACE];
    const weft_module_t *bt_modules[MAX_BACKTRACE];
    size_t bt_len;
};

struct weft_caller {
    weft_store_t *store;
    instance_t *inst;
};

struct weft_engine {
    int unused;
};

/* ---- cross-file internals ------------------------------------------------ */

/* Error handling while loading a module: stages longjmp out on the first
 * problem, after writing the message. Everything allocated so far hangs off
 * the module, which the caller frees. */
typedef struct {
    jmp_buf jmp;
    int code; /* WEFT_EMALFORMED / WEFT_EINVALID / WEFT_ENOMEM / WEFT_EINTERRUPTED */
    char *msg;
    size_t msg_size;
    const char *section;
    const uint8_t *base; /* start of the binary, for offsets */
    /* The rest is the load's state shared by its stages. */
    const weft_load_options_t *opts; /* NULL: no interrupt flag, no deadline */
    uint32_t poll;                   /* instructions until the next engine_poll */
    uint32_t func_at, func_total;    /* the body being compiled (from 1), of all, for its message */
    struct locals_scratch *locals;   /* compile.c's per-local tables, see compile_free_scratch */
    bool saw_v128;                   /* rd_valtype read v128 (sets weft_module.uses_v128) */
} loaderr_t;

/* Whether the load has Wasm 3.0 feature f (WEFT_FEATURE_*) on. */
static inline bool engine_feature(const loaderr_t *e, unsigned f)
{
    return !e->opts || !(e->opts->features_off & f);
}

_Noreturn void engine_fail(loaderr_t *e, int code, const uint8_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void *engine_xalloc(loaderr_t *e, size_t n); /* zeroed; fails with ENOMEM */
/* Fails the load with WEFT_EINTERRUPTED when its interrupt flag is set or
 * its deadline has passed. Called every few thousand instructions. */
void engine_poll(loaderr_t *e);
#define POLL_EVERY 4096u

/* decode.c: parses the whole binary into m (validating everything outside
 * function bodies), then calls validate_function for every body. */
void decode_module(weft_module_t *m, loaderr_t *e);
void module_free(weft_module_t *m);

/* validate.c: type-checks one function body and compiles it. */
void validate_function(weft_module_t *m, uint32_t defined_index, loaderr_t *e);
/* compile.c: frees e->locals once the load is over. */
void compile_free_scratch(loaderr_t *e);

/* types.c */
weft_functype_t *functype_alloc(uint32_t nparams, uint32_t nresults);
const uint8_t *functype_params(const weft_functype_t *ft);
const uint8_t *functype_results(const weft_functype_t *ft);

/* interp.c */
void interp_init(void);
extern const void *const *interp_labels;
/* Runs wasm function f whose arguments are in fp[0..nparams). Returns 0 or
 * a trap code (message already in the store). */
weft_trap_code_t interp_call(weft_store_t *s, weft_func_t *f, slot_t *fp);
/* The same for a call from compiled code, which goes on after it: the
 * fuel is not checked at its end (the caller's next check sees it, as in
 * an all-interpreted run). */
weft_trap_code_t interp_call_nested(weft_store_t *s, weft_func_t *f, slot_t *fp);

/* runtime.c */
weft_trap_code_t store_trap(weft_store_t *s, weft_trap_code_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Grows the control stack (up to limits.max_call_depth); false when full. */
bool store_grow_frames(weft_store_t *s);
/* Calls host function f with arguments in args[0..nparams); results are
 * written to args[0..nresults). `caller` is the calling instance or NULL. */
weft_trap_code_t runtime_call_host(weft_store_t *s, weft_func_t *f, weft_instance_t *caller,
                                   slot_t *args);
/* Maps s->vstack if it is not yet; 0 or WEFT_ENOMEM. */
int store_need_vstack(weft_store_t *s);
/* The 16 bytes of the v128 in value-stack slot p (s->vstack is mapped). */
static inline uint8_t *store_vslot(const weft_store_t *s, const slot_t *p)
{
    return s->vstack + (size_t)(p - s->stack) * 16;
}
int32_t memory_grow_pages(weft_memory_t *m, uint32_t delta); /* old pages or -1 */
int32_t table_grow_elems(weft_table_t *t, uint32_t delta, void *init);
/* Whether growing by delta (> 0) would succeed, limits permitting: the
 * interpreter charges fuel for a grow that will do the work, before it. */
bool memory_grow_fits(const weft_memory_t *m, uint32_t delta);
bool table_grow_fits(const weft_table_t *t, uint32_t delta);
/* mempool.c: the bytes of linear memories, from the thread's pool of
 * zeroed regions. mem_bytes_new gives a region of at least size bytes, all
 * zero (NULL when out of memory, or for size 0 without a reservation),
 * and whether it is guarded: a reservation of MEM_RESERVE bytes of which
 * exactly size are accessible (then *out_cap == size, always). A memory's
 * bytes come from one of each thread's regions; mem_bytes_grow makes
 * [size, want) usable (zero): a guarded region in place, a plain one
 * moved when its capacity is short (0, or -1 with it unchanged);
 * mem_bytes_free takes it back, size being the most the memory ever had.
 * mem_guard_available says whether a reservation can be had now (and the
 * environment does not set WEFT_GUARD_REGIONS=0): compiled code without
 * bounds checks needs one. */
#define MEM_RESERVE ((8ull << 30) + PAGE_SIZE) /* base + u32 + u32 offset + 8 bytes fit */
uint8_t *mem_bytes_new(uint64_t size, uint64_t *out_cap, bool *out_guarded);
int mem_bytes_grow(uint8_t **p, uint64_t *cap, uint64_t size, uint64_t want, bool guarded);
void mem_bytes_free(uint8_t *p, uint64_t cap, uint64_t size, bool guarded);
bool mem_guard_available(void);
/* Makes a live region zero again in place, as mem_bytes_free does before
 * pooling it (size: the most the memory ever had), for a memory whose size
 * becomes `keep` (weft_instance_reset; a guarded region is closed past
 * keep and *cap becomes keep); 0, or -1 when the kernel refused. */
int mem_bytes_clear(uint8_t *p, uint64_t *cap, uint64_t size, uint64_t keep, bool guarded);
/* Tests: the best way regions are cleared (mempool.c, "/proc/self/pagemap":
 * the PAGEMAP_SCAN ioctl, a pread of pagemap, mincore; the default the
 * first) and the way that is used now (a lower one where the kernel lacks
 * it; -1 asks without changing it); and the pread path's step for n pages of pg bytes from q given
 * their entries (a swapped one is dropped, a present one cleared unless
 * zero): 0 or -1. */
enum { MEM_CLEAR_MINCORE, MEM_CLEAR_PAGEMAP, MEM_CLEAR_SCAN };
int mem_clear_path(int path);
int mem_clear_by_entries(uint8_t *q, const uint64_t *ent, uint64_t n, uint64_t pg);
/* A heap block of `bytes` (not cleared), from the thread's spares or
 * malloc; mem_spare_keep keeps it for the next take of that size, or frees
 * it. For value stacks and frames. */
void *mem_spare_take(size_t bytes);
void mem_spare_keep(void *p, size_t bytes);
/* A vector stack of `bytes` (mapped MAP_NORESERVE, not cleared), from the
 * thread's spares or a new mapping; NULL when none can be mapped.
 * mem_vstack_keep keeps it for the thread's next store, or unmaps it. */
void *mem_vstack_take(size_t bytes);
void mem_vstack_keep(void *p, size_t bytes);
/* decode.c: the order of export_order (bytes, then length). */
int engine_name_cmp(const char *a, size_t alen, const char *b, size_t blen);
/* api.c: the export named (name, len), or NULL; O(log exports). */
const exportdef_t *module_find_export(const weft_module_t *m, const char *name, size_t len);
bool val_type_ok(const weft_val_t *v, uint8_t t);

#endif
