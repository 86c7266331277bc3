/*
 * compile.c — emits weft's internal code while validate.c walks a body.
 *
 * Code is an array of cells: a handler address (direct threading: the
 * interpreter jumps straight to it) followed by packed operands. Branch
 * offsets are relative to the cell that holds them and are patched when
 * their label is placed. Fuel is charged by one FUEL op at the start of each
 * straight-line run, holding the count of wasm instructions in the run, so
 * fuel use depends only on the module and its inputs. Every branch target
 * and every conditional branch's fall-through starts with that FUEL (the
 * branch charges it and skips it: ops.def), so a run that began there
 * gets one even when it holds no counted instruction.
 */
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "jit/jit.h"

static void *grow_array(cctx_t *c, void *p, size_t n, size_t elsize)
{
    void *q = realloc(p, n * elsize);
    if (!q) engine_fail(c->e, WEFT_ENOMEM, NULL, "out of memory");
    return q;
}

struct locals_scratch {
    uint8_t *written;
    uint32_t *alias_count;
    size_t cap;        /* entries in each */
    uint32_t *touched; /* locals whose entries may be nonzero */
    size_t ntouched, touched_cap;
};

/* Sizes the load's shared per-local tables for this body (they only grow,
 * to the largest body's locals, at most 51,000 entries). */
static void locals_scratch_for(cctx_t *c, size_t n)
{
    loaderr_t *e = c->e;
    if (!e->locals) e->locals = engine_xalloc(e, sizeof *e->locals);
    struct locals_scratch *ls = e->locals;
    if (n > ls->cap) {
        uint8_t *w = realloc(ls->written, n);
        if (w) ls->written = w;
        uint32_t *a = w ? realloc(ls->alias_count, n * sizeof *a) : NULL;
        if (!a) engine_fail(e, WEFT_ENOMEM, NULL, "out of memory");
        ls->alias_count = a;
        memset(ls->written + ls->cap, 0, n - ls->cap);
        memset(ls->alias_count + ls->cap, 0, (n - ls->cap) * sizeof *a);
        ls->cap = n;
    }
    c->ls = ls;
    c->written = ls->written;
    c->alias_count = ls->alias_count;
}

static void touch(cctx_t *c, uint32_t local)
{
    struct locals_scratch *ls = c->ls;
    if (ls->ntouched == ls->touched_cap) {
        ls->touched_cap = ls->touched_cap ? ls->touched_cap * 2 : 64;
        ls->touched = grow_array(c, ls->touched, ls->touched_cap, sizeof *ls->touched);
    }
    ls->touched[ls->ntouched++] = local;
}

void cc_alias(cctx_t *c, uint32_t local)
{
    if (c->alias_count[local] == 0) touch(c, local);
    c->alias_count[local]++;
}

void cc_written(cctx_t *c, uint32_t local)
{
    if (c->written[local]) return;
    touch(c, local);
    c->written[local] = 1;
}

void compile_free_scratch(loaderr_t *e)
{
    struct locals_scratch *ls = e->locals;
    if (!ls) return;
    free(ls->written);
    free(ls->alias_count);
    free(ls->touched);
    free(ls);
    e->locals = NULL;
}

void cc_init(cctx_t *c)
{
    c->code_cap = 64 + c->fd->body_len * 3;
    c->code = grow_array(c, NULL, c->code_cap, sizeof *c->code);
    /* never NULL, so stack arithmetic is defined even for empty bodies */
    c->stack_cap = 64;
    c->stack = grow_array(c, NULL, c->stack_cap, sizeof *c->stack);
    c->fuel_cell = NO_CELL;
    c->last_def = NO_CELL;
    c->last_copy = NO_CELL;
    c->last_op = c->prev_op = -1;
    c->prefix = true;
    locals_scratch_for(c, (size_t)c->fd->nlocals + 1);
}

static void *scratch(cctx_t *c, void **buf, size_t *cap, size_t n)
{
    if (n == 0) n = 1;
    if (n > *cap) {
        *buf = grow_array(c, *buf, n, 1);
        *cap = n;
    }
    return *buf;
}

void *cc_scratch(cctx_t *c, size_t n) { return scratch(c, &c->scratch, &c->scratch_cap, n); }
void *cc_scratch2(cctx_t *c, size_t n) { return scratch(c, &c->scratch2, &c->scratch2_cap, n); }
void *cc_scratch3(cctx_t *c, size_t n) { return scratch(c, &c->scratch3, &c->scratch3_cap, n); }

void cc_unalias(cctx_t *c, const opnd_t *o)
{
    if (!o->konst && o->type != T_UNKNOWN && o->slot < c->fd->nlocals) c->alias_count[o->slot]--;
}

void cc_fini(cctx_t *c)
{
    struct locals_scratch *ls = c->ls;
    if (ls) { /* leave the shared tables zero for the next body */
        for (size_t i = 0; i < ls->ntouched; i++) {
            ls->written[ls->touched[i]] = 0;
            ls->alias_count[ls->touched[i]] = 0;
        }
        ls->ntouched = 0;
    }
    free(c->local_runs);
    free(c->scratch3);
    free(c->scratch);
    free(c->scratch2);
    free(c->code);
    free(c->stack);
    free(c->ctrl);
}

static size_t put(cctx_t *c, cell_t v)
{
    if (c->ncode == c->code_cap) {
        /* Real code compiles to at most about 2 cells per byte of body, but
         * a few bytes can ask for many copies (`return` of 1000 results
         * that a block left, a br_table stub per height): without a cap an
         * 83 KB module compiled to 230 MB. */
        size_t limit = CODE_BASE_CELLS + c->fd->body_len * CODE_CELLS_PER_BYTE;
        if (c->code_cap >= limit)
            engine_fail(c->e, WEFT_ELIMIT, c->instr_at,
                        "implementation limit: the function compiles to more than %zu cells "
                        "(%u per byte of its body)", limit, CODE_CELLS_PER_BYTE);
        c->code_cap = c->code_cap * 2 < limit ? c->code_cap * 2 : limit;
        c->code = grow_array(c, c->code, c->code_cap, sizeof *c->code);
    }
    c->code[c->ncode] = v;
    return c->ncode++;
}

/* The pending FUEL of a run, before the run's first op. */
static void emit_fuel(cctx_t *c)
{
    c->fuel_pending = false;
    c->last_op = OP_FUEL;
    c->last_op_at = put(c, (cell_t){.h = interp_labels[OP_FUEL]});
    c->fuel_cell = cc_cell(c, 0);
}

size_t cc_op(cctx_t *c, int op)
{
    if (c->fuel_pending) emit_fuel(c);
    c->last_def = NO_CELL;
    c->acc_ok = false;
    c->last_copy = NO_CELL;
    c->prev_op = c->last_op;
    c->prev_op_at = c->last_op_at;
    c->last_op = op;
    c->last_op_at = c->ncode;
    return put(c, (cell_t){.h = interp_labels[op]});
}

size_t cc_cell(cctx_t *c, uint64_t v) { return put(c, (cell_t){.u = v}); }

size_t cc_pair(cctx_t *c, uint32_t a, uint32_t b)
{
    return put(c, (cell_t){.p = {a, b}});
}

void cc_def(cctx_t *c, size_t instr)
{
    c->last_def = instr + 1;
    c->acc_class = c->last_op_at == instr ? cc_acc_out(c->last_op) : 0;
    c->acc_ok = c->acc_class != 0;
    c->acc_slot = c->code[instr + 1].p.a;
}

void cc_copy(cctx_t *c, uint32_t dst, uint32_t src)
{
    if (dst == src) return;
    /* Two copies in a row become one COPY2, saving a dispatch, unless a
     * label sits between them. */
    if (c->last_copy != NO_CELL && c->last_copy + 2 == c->ncode && !c->fuel_pending) {
        c->code[c->last_copy].h = interp_labels[OP_COPY2];
        cc_pair(c, dst, src);
        c->last_copy = NO_CELL;
        return;
    }
    size_t at = cc_op(c, OP_COPY);
    cc_pair(c, dst, src);
    c->last_copy = at;
}

/* A v128 lives in the vector stack beside its slot: its copies are V_COPY
 * (and it is never a pending constant: v128.const writes at once). */
void cc_copy_t(cctx_t *c, uint8_t type, uint32_t dst, uint32_t src)
{
    if (type != WEFT_V128) {
        cc_copy(c, dst, src);
        return;
    }
    if (dst == src) return;
    cc_op(c, OP_V_COPY);
    cc_pair(c, dst, src);
}

void cc_const(cctx_t *c, uint32_t dst, uint64_t bits)
{
    size_t at = cc_op(c, OP_CONST);
    cc_cell(c, dst);
    cc_cell(c, bits);
    cc_def(c, at);
}

void cc_move(cctx_t *c, uint32_t dst, const opnd_t *o)
{
    if (o->konst)
        cc_const(c, dst, o->bits);
    else
        cc_copy_t(c, o->type, dst, o->slot);
}

void cc_materialize(cctx_t *c, uint32_t from)
{
    uint32_t start = from > c->home_below ? from : c->home_below;
    for (uint32_t i = start; i < c->sp; i++) {
        opnd_t *o = &c->stack[i];
        if (o->type != T_UNKNOWN && (o->konst || o->slot != home(c, i))) {
            cc_move(c, home(c, i), o);
            cc_unalias(c, o);
            o->slot = home(c, i);
            o->konst = false;
        }
    }
    if (from <= c->home_below) c->home_below = c->sp;
}

void cc_materialize_local(cctx_t *c, uint32_t local)
{
    /* aliases live above home_below; stop once all of them are found */
    for (uint32_t i = c->sp; i-- > c->home_below && c->alias_count[local] > 0;) {
        opnd_t *o = &c->stack[i];
        if (o->slot == local && !o->konst && o->type != T_UNKNOWN) {
            cc_copy_t(c, o->type, home(c, i), local);
            cc_unalias(c, o);
            o->slot = home(c, i);
        }
    }
}

/* If the last emitted op wrote `slot` (a fresh temporary), make it write
 * `local` instead and return true: "x = a + b; local.set y" becomes
 * "y = a + b". Only valid when nothing else read the temporary, which holds
 * because temporaries are consumed once and no label intervened. */
bool cc_try_retarget(cctx_t *c, uint32_t slot, uint32_t local)
{
    if (c->last_def == NO_CELL || c->code[c->last_def].p.a != slot) return false;
    c->code[c->last_def].p.a = local;
    c->last_def = NO_CELL;
    if (c->acc_ok && c->acc_slot == slot) c->acc_slot = local; /* acc still holds it */
    return true;
}

/* A checked run (loop header, function entry) is FUEL then CHECK, emitted
 * at once, since CHECK also polls the interrupt flag. A plain FUEL is
 * emitted before the first op of its run (emit_fuel), so runs that hold
 * none (between two labels, say) cost nothing. Every path into the run
 * passes it or is a branch that charges it: labels only ever start a new
 * run. */
void cc_region(cctx_t *c, int op)
{
    if (op == OP_FUEL) {
        c->fuel_cell = NO_CELL;
        c->fuel_pending = true;
        return;
    }
    /* A check right after an empty one (function entry, then a loop
     * header) is the same check: reuse it. */
    c->fuel_pending = false; /* a run left empty needs no FUEL */
    /* Tier auto (docs/jit.md): a HOT after the CHECK counts towards
     * compiling the function. The inline checks of calls and backward
     * branches skip the CHECK and dispatch it, so the other tiers' code,
     * without it, pays nothing. */
    bool hot = c->e->opts && c->e->opts->tier == WEFT_TIER_AUTO && jit_supported();
    if (c->last_op == (hot ? OP_HOT : OP_CHECK) && c->last_op_at + 1 == c->ncode &&
        c->fuel_cell != NO_CELL && c->code[c->fuel_cell].u == 0)
        return;
    emit_fuel(c);
    cc_op(c, OP_CHECK);
    if (hot) cc_op(c, OP_HOT);
}

void cc_count(cctx_t *c)
{
    if (c->fuel_pending) emit_fuel(c);
    if (c->fuel_cell != NO_CELL) c->code[c->fuel_cell].u++;
}

void cc_label(cctx_t *c)
{
    c->last_def = NO_CELL;
    c->acc_ok = false;
    c->nlabels++;
    c->last_copy = NO_CELL;
    c->last_op = -1;
}

void cc_patch_here(cctx_t *c, size_t cell)
{
    cc_label(c);
    c->code[cell].i = (int64_t)c->ncode - (int64_t)cell;
}

void cc_branch_to(cctx_t *c, uint32_t depth, size_t cell)
{
    uint32_t idx = c->nctrl - 1 - depth;
    ctrl_t *f = &c->ctrl[idx];
    if (f->kind == CT_LOOP) {
        c->code[cell].i = (int64_t)f->loop_pc - (int64_t)cell;
        return;
    }
    f->branched = true;
    f->assigned_at_end &= c->assigned;
    c->code[cell].u = f->patch_chain;
    f->patch_chain = cell + 1;
}

void cc_resolve(cctx_t *c, uint32_t ctrl_index)
{
    size_t at = c->ctrl[ctrl_index].patch_chain;
    c->ctrl[ctrl_index].patch_chain = 0;
    while (at) {
        size_t cell = at - 1;
        at = (size_t)c->code[cell].u;
        cc_patch_here(c, cell);
    }
}

bool cc_branch_copies(cctx_t *c, uint32_t n, uint32_t target_height, bool dry_run)
{
    bool any = false;
    /* Ascending order is safe: a source is either a local (never a target)
     * or a home slot at or above its target. */
    for (uint32_t i = 0; i < n; i++) {
        opnd_t *o = &c->stack[c->sp - n + i];
        uint32_t dst = home(c, target_height + i);
        if (o->konst || o->slot != dst) {
            any = true;
            if (!dry_run) cc_move(c, dst, o);
        }
    }
    return any;
}

/* Moves the top n operands (the function's results) to slots 0..n-1 and
 * returns. Does not change the compile-time stack, so it can sit on one arm
 * of a conditional branch. */
void cc_return(cctx_t *c)
{
    uint32_t n = c->m->types[c->fd->type]->nresults;
    const opnd_t *top = &c->stack[c->sp - n];
    if (n == 1) {
        /* "x = a + b; return x" computes straight into slot 0 */
        bool there = !top[0].konst && top[0].slot == home(c, c->sp - 1) && cc_try_retarget(c, top[0].slot, 0);
        if (!there && !top[0].konst && top[0].type != WEFT_V128 && top[0].slot != 0) {
            cc_op(c, OP_RETURN_COPY); /* "return x": the copy and the return, one op */
            cc_cell(c, top[0].slot);
            return;
        }
        if (!there) cc_move(c, 0, &top[0]);
    } else {
        /* Slots 0..n-1 may be locals that other results still alias: first
         * bring every result to its home slot, then copy upward-safe. */
        for (uint32_t i = 0; i < n; i++) {
            uint32_t h = home(c, c->sp - n + i);
            if (top[i].konst || top[i].slot != h) cc_move(c, h, &top[i]);
        }
        const uint8_t *types = functype_results(c->m->types[c->fd->type]);
        for (uint32_t i = 0; i < n; i++) cc_copy_t(c, types[i], i, home(c, c->sp - n + i));
    }
    cc_op(c, OP_RETURN);
}

#ifdef WEFT_CHECK_CODE
/* The sanitizer build checks what the branch handlers rely on (ops.def): every
 * branch target and every conditional branch's fall-through is a FUEL, and
 * one behind the branch is a loop header's FUEL and CHECK. */
static void check_fuel_at(cctx_t *c, size_t from, size_t to)
{
    if (to >= c->ncode || c->code[to].h != interp_labels[OP_FUEL])
        engine_fail(c->e, WEFT_EINVALID, NULL,
                    "internal error: the branch at cell %zu leads to cell %zu, which is not a FUEL op",
                    from, to);
    if (to < from && (to + 2 >= c->ncode || c->code[to + 2].h != interp_labels[OP_CHECK]))
        engine_fail(c->e, WEFT_EINVALID, NULL,
                    "internal error: the branch at cell %zu goes back to cell %zu, which is not a loop header",
                    from, to);
}

static void check_fuel_layout(cctx_t *c)
{
    size_t len;
    for (size_t pc = 0; pc < c->ncode; pc += len) {
        int op = engine_op_at(c->code, pc, &len);
        if (op < 0) engine_fail(c->e, WEFT_EINVALID, NULL, "internal error: no op at cell %zu", pc);
        size_t off; /* the cell of the (last) offset */
        if (op == OP_BR || op == OP_BR_TABLE) {
            size_t first = op == OP_BR ? pc + 1 : pc + 2;
            for (off = first; off < pc + len; off++) check_fuel_at(c, pc, off + (size_t)c->code[off].i);
            continue;
        }
        if (op == OP_BR_IF || op == OP_BR_UNLESS || op == OP_BR_IF_R || op == OP_BR_UNLESS_R ||
            (op >= OP_BR_I32_TEST_IMM && op <= OP_BR_I32_TESTZ_IMM_R) ||
            (op >= OP_BR_I32_EQ && op <= OP_BR_I64_GE_U_IMM_R))
            off = pc + len - 1;
        else
            continue;
        check_fuel_at(c, pc, off + (size_t)c->code[off].i);
        check_fuel_at(c, pc, pc + len);
    }
}
#endif

/* ---- definite assignment ------------------------------------------------ */

/* A call zeroes the declared locals, but clang's code writes nearly every
 * local before it reads it, and zeroing them cost 6% of SQLite's
 * instructions. The spec's rule for a data-flow fact, on the validator's
 * walk: a local is surely written at a point when it is on every path
 * there; paths join only at a frame's end (its fall-through, its branches
 * and, for an `if` without `else`, the false path); a loop header is
 * reached again only by paths through its entry, so it keeps the entry's
 * set. One word per state keeps this linear whatever the body declares:
 * locals past the first 64 declared are zeroed on every call. */
static uint64_t local_bit(const cctx_t *c, uint32_t local)
{
    uint32_t first = c->fd->nparams;
    return local >= first && local - first < 64 ? (uint64_t)1 << (local - first) : 0;
}

void cc_local_read(cctx_t *c, uint32_t local)
{
    uint64_t bit = local_bit(c, local);
    if (!(c->assigned & bit)) c->read_early |= bit;
}

void cc_local_assigned(cctx_t *c, uint32_t local) { c->assigned |= local_bit(c, local); }

void cc_assign_open(cctx_t *c, ctrl_t *f)
{
    f->assigned_at_open = c->assigned;
    f->assigned_at_end = ~(uint64_t)0;
}

/* The then arm's end joins the frame's end (its BR went through
 * cc_branch_to, unless the arm ended unreachable); the else arm starts
 * from the `if`. */
void cc_assign_else(cctx_t *c, ctrl_t *f) { c->assigned = f->assigned_at_open; }

void cc_assign_end(cctx_t *c, const ctrl_t *f)
{
    if (f->kind == CT_LOOP) return; /* its branches went to the header */
    c->assigned &= f->assigned_at_end;
    if (f->kind == CT_IF) c->assigned &= f->assigned_at_open; /* no else: the false path */
}

void cc_assign_unreachable(cctx_t *c) { c->assigned = ~(uint64_t)0; }

void cc_finish(cctx_t *c)
{
#ifdef WEFT_CHECK_CODE
    check_fuel_layout(c);
#endif
    funcdef_t *fd = c->fd;
    uint32_t declared = fd->nlocals - fd->nparams;
    fd->zero_mask = c->read_early;
    fd->zero_from = declared > 64 ? fd->nparams + 64 : fd->nlocals;
    const weft_functype_t *ft = c->m->types[fd->type];
    uint64_t slots = (uint64_t)fd->nlocals + c->max_height + 1;
    if (slots < ft->nresults) slots = ft->nresults;
    fd->frame_slots = (uint32_t)slots;
    fd->code = realloc(c->code, c->ncode * sizeof *c->code);
    if (!fd->code) fd->code = c->code;
    fd->ncode = c->ncode;
    c->code = NULL;
}

/* ---- the accumulator ---------------------------------------------------- */

/* There are three accumulators, by the slot field a handler reads or
 * writes (not by the wasm type: float bit operations, loads and stores go
 * through the integer fields): 1 integer (acc), 2 f32, 3 f64. */
#define CLS_i32 1
#define CLS_s32 1
#define CLS_i64 1
#define CLS_s64 1
#define CLS_f32 2
#define CLS_f64 3

/* Per op: the accumulator its result goes to (0: none), or for an _R twin
 * the distance back to its base op (negative). */
static const signed char acc_out[OP__COUNT] = {
#define OP(n, len, m) 0,
#define UN(n, w, vi, vo, fi, fo, e) CLS_##fo,
#define BIN(n, w, vi, vo, fi, fo, e) CLS_##fo, CLS_##fo, -2, -2,
#define BRCMP(n, fi, cop) 0, 0, -2, -2,
#define UNT(n, w, vi, vo, fi, fo, f) CLS_##fo,
#define BINT(n, w, vi, vo, fi, fo, f) CLS_##fo,
#define LOAD(n, w, vo, ct, fo) CLS_##fo, CLS_##fo, CLS_##fo, -3,
#define STORE(n, w, vi, ct, fi) 0, 0, 0, 0, 0, 0,
#include "ops.def"
};

/* Per op: the accumulator its first operand is read from by its _R twin
 * (loads read an integer address). */
static const signed char acc_in[OP__COUNT] = {
#define OP(n, len, m) 0,
#define UN(n, w, vi, vo, fi, fo, e) 0,
#define BIN(n, w, vi, vo, fi, fo, e) CLS_##fi, CLS_##fi, CLS_##fi, CLS_##fi,
#define BRCMP(n, fi, cop) CLS_##fi, CLS_##fi, CLS_##fi, CLS_##fi,
#define UNT(n, w, vi, vo, fi, fo, f) 0,
#define BINT(n, w, vi, vo, fi, fo, f) 0,
#define LOAD(n, w, vo, ct, fo) 1, 1, 1, 1,
#define STORE(n, w, vi, ct, fi) 0, 0, 0, 0, 0, 0,
#include "ops.def"
};

int cc_base_op(int op) { return op >= 0 && op < OP__COUNT && acc_out[op] < 0 ? op + acc_out[op] : op; }

/* An _R twin writes the accumulator its base op writes. */
int cc_acc_out(int op) { return op >= 0 && op < OP__COUNT && acc_out[cc_base_op(op)] > 0 ? acc_out[cc_base_op(op)] : 0; }

bool cc_acc_holds(const cctx_t *c, uint32_t slot, int op)
{
    return c->acc_ok && c->acc_slot == slot && op >= 0 && op < OP__COUNT &&
           c->acc_class == acc_in[op];
}
