/*
 * compile.h — the state shared by the body validator (validate.c) and the
 * code emitter (compile.c) while they make one pass over a function body.
 *
 * The internal code addresses values by frame slot, not by a run-time stack
 * pointer: the operand stack height is known at every instruction, so an
 * operand at height h lives in slot nlocals + h (its "home"). A value may
 * instead still live in a local (after local.get, no copy is emitted);
 * such aliases are copied home before anything could change the local or
 * before control flow merges ("materialising").
 */
#ifndef WEFT_ENGINE_COMPILE_H
#define WEFT_ENGINE_COMPILE_H

#include "reader.h"

/* Internal operation numbers, from ops.def. */
enum {
#define OP(n, len, m) OP_##n,
#define UN(n, w, vi, vo, fi, fo, e) OP_##n,
#define BIN(n, w, vi, vo, fi, fo, e) OP_##n, OP_##n##_IMM, OP_##n##_R, OP_##n##_IMM_R,
#define BRCMP(n, fi, cop) OP_BR_##n, OP_BR_##n##_IMM, OP_BR_##n##_R, OP_BR_##n##_IMM_R,
#define UNT(n, w, vi, vo, fi, fo, f) OP_##n,
#define BINT(n, w, vi, vo, fi, fo, f) OP_##n,
#define LOAD(n, w, vo, ct, fo) OP_##n, OP_##n##_A, OP_##n##_X, OP_##n##_R,
#define STORE(n, w, vi, ct, fi) OP_##n, OP_##n##_A, OP_##n##_X, OP_##n##_K, OP_##n##_AK, OP_##n##_XK,
#include "ops.def"
    OP__COUNT
};

#define NO_CELL ((size_t)-1)
#define T_UNKNOWN 0 /* polymorphic stack entry in unreachable code */

/* An operand: its type and the slot holding it, or, for a constant not yet
 * written anywhere (konst), its bits. */
typedef struct {
    uint8_t type;
    bool konst;
    uint32_t slot;
    uint64_t bits;
} opnd_t;

enum { CT_FUNC, CT_BLOCK, CT_LOOP, CT_IF, CT_ELSE };

typedef struct {
    uint8_t kind;
    bool unreachable; /* after br/return/unreachable in this frame */
    bool dead;        /* the whole frame is in unreachable code: emit nothing */
    bool branched;    /* some branch targets this frame's end label */
    uint32_t height;  /* operand height below the frame's parameters */
    uint32_t nparams, nresults;
    const uint8_t *params, *results;
    uint8_t single; /* storage for a one-value block type */
    size_t loop_pc;    /* CT_LOOP: branch target */
    size_t else_cell;  /* CT_IF: offset cell of the BR_UNLESS to the else arm */
    /* Branches to this frame's end label, not yet patched: a chain through
     * their own offset cells (each holds the next one's index + 1; 0 ends
     * it), so placing the label visits only its own branches. */
    size_t patch_chain;
    /* Definite assignment (cctx_t.assigned) where the frame opened, and
     * on every branch to its end label so far (all ones: none yet). */
    uint64_t assigned_at_open, assigned_at_end;
    uint32_t bt_mark; /* br_table: the table that last saw this frame as a target */
    size_t bt_how;    /* and what it decided for it (op_br_table) */
} ctrl_t;

/* One declared run of locals: indices [previous end, end) have `type`. */
typedef struct {
    uint32_t end;
    uint8_t type;
} local_run_t;

typedef struct {
    weft_module_t *m;
    funcdef_t *fd;
    loaderr_t *e;
    reader_t r;
    const uint8_t *instr_at; /* start of the current instruction */

    opnd_t *stack;
    uint32_t sp, stack_cap, max_height;
    /* Compile time stays linear on hostile bodies: entries below home_below
     * are known to be in their home slots, and alias_count[l] counts the
     * entries still aliasing local l, so neither materialising nor local.set
     * rescans the whole stack. */
    uint32_t home_below;
    uint32_t *alias_count;
    ctrl_t *ctrl;
    uint32_t nctrl, ctrl_cap;
    uint32_t bt_epoch; /* br_tables compiled so far, for ctrl_t.bt_mark */
    local_run_t *local_runs; /* parameters then declared locals, by runs */
    uint32_t nlocal_runs;

    cell_t *code;
    size_t ncode, code_cap;
    void *scratch, *scratch2, *scratch3; /* reusable buffers, freed by cc_fini */
    size_t scratch_cap, scratch2_cap, scratch3_cap;
    size_t fuel_cell;  /* count cell of the current FUEL op */
    bool fuel_pending; /* a new run started; its FUEL op is not emitted yet */
    size_t last_def;   /* cell holding the destination of the last value-producing op */
    size_t last_copy;  /* the last op, if it is a COPY that may merge into COPY2 */
    bool prefix;       /* still in the function's straight-line start */
    uint8_t *written;  /* per local: set since entry (meaningful in the prefix) */
    /* written and alias_count are shared by every body of the load (they
     * would cost O(declared locals) per body to allocate and zero): the
     * locals a body touched are listed here and cleared after it. */
    struct locals_scratch *ls;
    int last_op;       /* the last op emitted and where, for peephole fusion */
    size_t last_op_at;
    int prev_op;       /* the op right before it (-1: none, or a label or FUEL between) */
    size_t prev_op_at;
    bool acc_ok;       /* the last op emitted left in accumulator acc_class slot acc_slot */
    int acc_class;
    uint32_t acc_slot;
    uint32_t nlabels;  /* labels placed so far */
    /* Definite assignment of the first 64 declared locals (bit i: local
     * nparams + i): `assigned` holds those written on every path to here
     * (all ones in unreachable code), `read_early` those read somewhere
     * they may not be: only these (and the locals past the 64) need the
     * call's zeroing. */
    uint64_t assigned, read_early;
} cctx_t;

static inline uint32_t home(const cctx_t *c, uint32_t h) { return c->fd->nlocals + h; }

static inline bool emitting(const cctx_t *c)
{
    const ctrl_t *f = &c->ctrl[c->nctrl - 1];
    return !f->unreachable && !f->dead;
}

/* The accumulator (interp.c, PUT): every integer op leaves its result in
 * acc as well as in its slot; an op whose first operand is the result of
 * the op emitted right before it can read it from acc (its _R twin: OP_n +
 * 2 for a BIN, BIN _IMM, BR_cmp or BR_cmp _IMM, OP_n + 3 for a plain
 * LOAD). cc_base_op maps an
 * _R twin back to the op it reads like (same cells, first operand from its
 * slot), for the peepholes that take an op back out of the code. */
int cc_acc_out(int op); /* the accumulator op writes: 1 integer, 2 f32, 3 f64, 0 none */
int cc_base_op(int op);
/* Whether the first operand `slot` of `op` can come from an accumulator:
 * the last op emitted left it in the one op reads (same class), and
 * nothing (a label, another op) came after it. */
bool cc_acc_holds(const cctx_t *c, uint32_t slot, int op);

/* dump.c: the op whose handler is code[pc] and its length in cells, or
 * -1 (linear in the number of ops: for the dumper and debug checks). */
int engine_op_at(const cell_t *code, size_t pc, size_t *out_len);

/* compile.c */
void cc_init(cctx_t *c);
void cc_fini(cctx_t *c);
void *cc_scratch(cctx_t *c, size_t n);  /* valid until the next cc_scratch */
void *cc_scratch2(cctx_t *c, size_t n); /* a second, independent buffer */
void *cc_scratch3(cctx_t *c, size_t n); /* and a third */
void cc_unalias(cctx_t *c, const opnd_t *o); /* o leaves the stack or stops aliasing */
void cc_alias(cctx_t *c, uint32_t local);      /* one more stack entry aliases local */
void cc_written(cctx_t *c, uint32_t local);    /* local was set in the prefix */
size_t cc_op(cctx_t *c, int op);                 /* emits a handler cell, returns its index */
size_t cc_cell(cctx_t *c, uint64_t v);           /* emits an operand cell */
size_t cc_pair(cctx_t *c, uint32_t a, uint32_t b);
void cc_def(cctx_t *c, size_t instr);            /* instr's cell 1 low half is a fresh home slot */
void cc_copy(cctx_t *c, uint32_t dst, uint32_t src);  /* of a scalar */
void cc_copy_t(cctx_t *c, uint8_t type, uint32_t dst, uint32_t src); /* of a value of `type` */
void cc_const(cctx_t *c, uint32_t dst, uint64_t bits);
void cc_move(cctx_t *c, uint32_t dst, const opnd_t *o); /* copy or constant */
void cc_materialize(cctx_t *c, uint32_t from);  /* copies aliases in stack[from..sp) home */
void cc_materialize_local(cctx_t *c, uint32_t local); /* copies its aliases home */
bool cc_try_retarget(cctx_t *c, uint32_t slot, uint32_t local);
void cc_region(cctx_t *c, int op);               /* starts a fuel run: OP_FUEL, or OP_CHECK (FUEL then CHECK) */
void cc_count(cctx_t *c);                        /* one more counted instruction in the run */
void cc_label(cctx_t *c);                        /* a branch target is placed here */
void cc_patch_here(cctx_t *c, size_t cell);
void cc_branch_to(cctx_t *c, uint32_t depth, size_t cell); /* target of frame `depth` from top */
void cc_resolve(cctx_t *c, uint32_t ctrl_index);  /* patches this frame's end branches here */
/* Copies the top `n` operands to home(target_height..) ; returns whether any
 * copy was needed (without emitting when dry_run). */
bool cc_branch_copies(cctx_t *c, uint32_t n, uint32_t target_height, bool dry_run);
void cc_return(cctx_t *c);
/* Definite assignment of declared locals (cctx_t.assigned): a read, a
 * write, a frame opened (after push_ctrl), its `else`, its `end` (before
 * the frame is popped), and code left unreachable. Branches are seen by
 * cc_branch_to. */
void cc_local_read(cctx_t *c, uint32_t local);
void cc_local_assigned(cctx_t *c, uint32_t local);
void cc_assign_open(cctx_t *c, ctrl_t *f);
void cc_assign_else(cctx_t *c, ctrl_t *f);
void cc_assign_end(cctx_t *c, const ctrl_t *f);
void cc_assign_unreachable(cctx_t *c);
void cc_finish(cctx_t *c);

#endif
