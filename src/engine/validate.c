/*
 * validate.c — type-checks a function body and drives the code emitter
 * (compile.c) in the same pass.
 *
 * The checking follows the validation algorithm of the WebAssembly spec
 * appendix: an operand stack of value types and a stack of control frames,
 * where code after br/return/unreachable is checked against a polymorphic
 * stack. Each operand also records the frame slot its value lives in, which
 * is what the emitter needs; in unreachable code nothing is emitted.
 */
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "simd.h"

#define INVALID(c, ...) engine_fail((c)->e, WEFT_EINVALID, (c)->instr_at, __VA_ARGS__)
#define BAD_ENCODING(c, ...) engine_fail((c)->e, WEFT_EMALFORMED, (c)->instr_at, __VA_ARGS__)

static const char *tname(uint8_t t) { return t == T_UNKNOWN ? "unknown" : weft_valtype_name(t); }
/* numeric or vector: what select without a type takes */
static bool is_num(uint8_t t)
{
    return t == WEFT_I32 || t == WEFT_I64 || t == WEFT_F32 || t == WEFT_F64 || t == WEFT_V128;
}
static bool is_ref(uint8_t t) { return t == WEFT_FUNCREF || t == WEFT_EXTERNREF; }

static void push(cctx_t *c, uint8_t type, uint32_t slot)
{
    if (c->sp == c->stack_cap) {
        c->stack_cap = c->stack_cap ? c->stack_cap * 2 : 64;
        opnd_t *s = realloc(c->stack, c->stack_cap * sizeof *s);
        if (!s) engine_fail(c->e, WEFT_ENOMEM, NULL, "out of memory");
        c->stack = s;
    }
    c->stack[c->sp++] = (opnd_t){.type = type, .slot = slot};
    if (c->sp > c->max_height) c->max_height = c->sp;
    if (type != T_UNKNOWN && slot < c->fd->nlocals) cc_alias(c, slot);
}

/* Pushes a constant that is not written anywhere yet. */
static void push_konst(cctx_t *c, uint8_t type, uint64_t bits)
{
    push(c, type, home(c, c->sp));
    c->stack[c->sp - 1].konst = true;
    c->stack[c->sp - 1].bits = bits;
}

/* Drops every operand above height h. */
static void drop_to(cctx_t *c, uint32_t h)
{
    while (c->sp > h) cc_unalias(c, &c->stack[--c->sp]);
    if (c->home_below > h) c->home_below = h;
}

/* Pushes a value produced into its home slot; returns that slot. */
static uint32_t push_home(cctx_t *c, uint8_t type)
{
    uint32_t slot = home(c, c->sp);
    push(c, type, slot);
    return slot;
}

static opnd_t pop_raw(cctx_t *c)
{
    ctrl_t *f = &c->ctrl[c->nctrl - 1];
    if (c->sp == f->height) {
        if (f->unreachable) return (opnd_t){.type = T_UNKNOWN};
        INVALID(c, "type mismatch: operand stack is empty");
    }
    opnd_t o = c->stack[--c->sp];
    cc_unalias(c, &o);
    if (c->home_below > c->sp) c->home_below = c->sp;
    return o;
}

static opnd_t pop_t_raw(cctx_t *c, uint8_t want)
{
    opnd_t o = pop_raw(c);
    if (o.type != want && o.type != T_UNKNOWN && want != T_UNKNOWN)
        INVALID(c, "type mismatch: expected %s, found %s", tname(want), tname(o.type));
    return o;
}

/* An operand popped from position `pos` that the next op reads from a
 * slot: a pending constant is written to its home slot first. */
static opnd_t in_slot_at(cctx_t *c, opnd_t o, uint32_t pos)
{
    if (o.konst) {
        if (emitting(c)) cc_const(c, home(c, pos), o.bits);
        o.konst = false;
        o.slot = home(c, pos);
    }
    return o;
}

/* The same for the operand just popped (it sat at position sp). */
static opnd_t in_slot(cctx_t *c, opnd_t o) { return in_slot_at(c, o, c->sp); }

static opnd_t pop_any(cctx_t *c) { return in_slot(c, pop_raw(c)); }
static opnd_t pop_t(cctx_t *c, uint8_t want) { return in_slot(c, pop_t_raw(c, want)); }

/* Checks that the top n operands have `types`, leaving them in place. With
 * `concrete`, polymorphic entries are pushed back with the checked types
 * (br_if, calls); without, they stay polymorphic (br_table, whose labels
 * may disagree in unreachable code). */
static void check_operands_as(cctx_t *c, const uint8_t *types, uint32_t n, bool concrete)
{
    opnd_t *saved = cc_scratch2(c, (size_t)n * sizeof *saved);
    for (uint32_t i = n; i-- > 0;) {
        opnd_t o = pop_raw(c);
        if (o.type != types[i] && o.type != T_UNKNOWN)
            INVALID(c, "type mismatch: expected %s, found %s", tname(types[i]), tname(o.type));
        saved[i] = o;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint8_t t = concrete || saved[i].type != T_UNKNOWN ? types[i] : T_UNKNOWN;
        if (saved[i].konst)
            push_konst(c, t, saved[i].bits);
        else
            push(c, t, saved[i].slot);
    }
}

static void check_operands(cctx_t *c, const uint8_t *types, uint32_t n)
{
    check_operands_as(c, types, n, true);
}

static void set_unreachable(cctx_t *c)
{
    ctrl_t *f = &c->ctrl[c->nctrl - 1];
    drop_to(c, f->height);
    f->unreachable = true;
    cc_assign_unreachable(c);
    c->fuel_cell = NO_CELL;
    c->fuel_pending = false;
}

static const uint8_t *f_params(const ctrl_t *f) { return f->params; }
static const uint8_t *f_results(const ctrl_t *f) { return f->results ? f->results : &f->single; }
static const uint8_t *label_types(const ctrl_t *f, uint32_t *n)
{
    if (f->kind == CT_LOOP) {
        *n = f->nparams;
        return f_params(f);
    }
    *n = f->nresults;
    return f_results(f);
}

static ctrl_t *label(cctx_t *c, uint32_t depth)
{
    if (depth >= c->nctrl) INVALID(c, "unknown label %u", depth);
    return &c->ctrl[c->nctrl - 1 - depth];
}

/* A block type: empty, one value type, or a type index. */
static void read_blocktype(cctx_t *c, ctrl_t *f)
{
    reader_t *r = &c->r;
    if (r->p >= r->end) BAD_ENCODING(c, "unexpected end");
    uint8_t b = *r->p;
    f->nparams = f->nresults = 0;
    f->params = f->results = NULL;
    if (b == 0x40) {
        r->p++;
    } else if (is_valtype(b)) {
        r->p++;
        f->single = b;
        f->nresults = 1;
    } else {
        int64_t idx = rd_sleb(r, 33);
        if (idx < 0) BAD_ENCODING(c, "malformed block type");
        if (idx >= c->m->ntypes) INVALID(c, "unknown type %lld", (long long)idx);
        const weft_functype_t *ft = c->m->types[idx];
        f->nparams = ft->nparams;
        f->nresults = ft->nresults;
        f->params = functype_params(ft);
        f->results = functype_results(ft);
    }
}

static ctrl_t *push_ctrl(cctx_t *c, const ctrl_t *proto)
{
    bool dead = c->nctrl > 0 && !emitting(c);
    if (c->nctrl == c->ctrl_cap) {
        c->ctrl_cap = c->ctrl_cap ? c->ctrl_cap * 2 : 16;
        ctrl_t *n = realloc(c->ctrl, c->ctrl_cap * sizeof *n);
        if (!n) engine_fail(c->e, WEFT_ENOMEM, NULL, "out of memory");
        c->ctrl = n;
    }
    ctrl_t *f = &c->ctrl[c->nctrl++];
    *f = *proto;
    f->dead = dead;
    f->unreachable = false;
    f->branched = false;
    f->height = c->sp;
    f->patch_chain = 0;
    f->bt_mark = 0;
    f->else_cell = NO_CELL;
    cc_assign_open(c, f);
    return f;
}

/* block, loop, if: check and pop the parameters, open the frame, push the
 * parameters back in their home slots. */
static ctrl_t *open_block(cctx_t *c, uint8_t kind, ctrl_t *proto)
{
    proto->kind = kind;
    if (emitting(c)) cc_materialize(c, 0);
    check_operands(c, f_params(proto), proto->nparams);
    drop_to(c, c->sp - proto->nparams);
    ctrl_t *f = push_ctrl(c, proto);
    for (uint32_t i = 0; i < f->nparams; i++) push_home(c, f->params[i]);
    return f;
}

/* At `else` and `end`: the frame's results must be exactly what is left. */
static void check_frame_end(cctx_t *c, ctrl_t *f)
{
    if (emitting(c) && f->kind != CT_FUNC) cc_materialize(c, f->height);
    check_operands(c, f_results(f), f->nresults);
    if (c->sp != f->height + f->nresults) INVALID(c, "type mismatch: values remaining on stack at end of block");
}

static void need_memory(cctx_t *c, uint32_t mem)
{
    if (mem >= c->m->nmems) INVALID(c, "unknown memory %u", mem);
}

/* A memory access's alignment and offset; returns its memory index. With
 * multi-memory, bit 6 of the alignment field says a memory index follows
 * it (memory 0 keeps the 2.0 encoding). */
static uint32_t memarg(cctx_t *c, uint32_t natural, uint32_t *offset)
{
    uint32_t align = rd_u32(&c->r), mem = 0;
    if ((align & 0x40) && engine_feature(c->e, WEFT_FEATURE_MULTI_MEMORY)) {
        align &= ~0x40u;
        mem = rd_u32(&c->r);
    }
    *offset = rd_u32(&c->r);
    need_memory(c, mem);
    if (align >= 32 || (1u << align) > natural) INVALID(c, "alignment must not be larger than natural");
    return mem;
}

/* The memory index of memory.size/grow/fill/copy/init: in 2.0 a zero byte,
 * with multi-memory an index (checked by need_memory). */
static uint32_t mem_index(cctx_t *c)
{
    if (engine_feature(c->e, WEFT_FEATURE_MULTI_MEMORY)) return rd_u32(&c->r);
    if (rd_u8(&c->r) != 0) BAD_ENCODING(c, "zero byte expected");
    return 0;
}

static uint8_t table_type(cctx_t *c, uint32_t t)
{
    if (t >= c->m->ntables) INVALID(c, "unknown table %u", t);
    return c->m->tables[t].elem;
}

static void unop(cctx_t *c, int op, uint8_t vin, uint8_t vout)
{
    opnd_t a = pop_t(c, vin);
    uint32_t d = push_home(c, vout);
    if (emitting(c)) {
        size_t at = cc_op(c, op);
        cc_pair(c, d, a.slot);
        cc_def(c, at);
    }
}

/* For `k op x` with a constant k: the op to compute `x op' k`, or -1. */
static int swapped(int op)
{
    switch (op) {
    case OP_I32_ADD: case OP_I32_MUL: case OP_I32_AND: case OP_I32_OR: case OP_I32_XOR:
    case OP_I32_EQ: case OP_I32_NE:
    case OP_I64_ADD: case OP_I64_MUL: case OP_I64_AND: case OP_I64_OR: case OP_I64_XOR:
    case OP_I64_EQ: case OP_I64_NE:
        return op;
    case OP_I32_LT_S: return OP_I32_GT_S;
    case OP_I32_GT_S: return OP_I32_LT_S;
    case OP_I32_LT_U: return OP_I32_GT_U;
    case OP_I32_GT_U: return OP_I32_LT_U;
    case OP_I32_LE_S: return OP_I32_GE_S;
    case OP_I32_GE_S: return OP_I32_LE_S;
    case OP_I32_LE_U: return OP_I32_GE_U;
    case OP_I32_GE_U: return OP_I32_LE_U;
    case OP_I64_LT_S: return OP_I64_GT_S;
    case OP_I64_GT_S: return OP_I64_LT_S;
    case OP_I64_LT_U: return OP_I64_GT_U;
    case OP_I64_GT_U: return OP_I64_LT_U;
    case OP_I64_LE_S: return OP_I64_GE_S;
    case OP_I64_GE_S: return OP_I64_LE_S;
    case OP_I64_LE_U: return OP_I64_GE_U;
    case OP_I64_GE_U: return OP_I64_LE_U;
    }
    return -1;
}

/* Makes the last op, of `cells` cells, the fused op `fused` by appending
 * the second (or third) half [d | a][cell], unless a new run starts here or
 * the op is not at the end of the code. The new half is the last
 * definition (local.set retargets d, address_add may split it off again)
 * and leaves d in acc as `second`, its op alone, does. Returns whether it
 * fused. */
static bool fuse_second(cctx_t *c, size_t cells, int fused, uint32_t d, uint32_t a, uint64_t cell, int second)
{
    if (c->fuel_pending || c->last_op_at + cells != c->ncode) return false;
    size_t at = c->last_op_at;
    c->last_op = fused;
    c->code[at].h = interp_labels[fused];
    cc_pair(c, d, a);
    cc_cell(c, cell);
    c->last_def = at + cells;
    c->last_copy = NO_CELL;
    c->acc_ok = true;
    c->acc_class = cc_acc_out(second);
    c->acc_slot = d;
    return true;
}

/* i32 d = a + k right after another I32_ADD_IMM of this run (clang's
 * strength-reduced loops step several induction variables one after
 * another): the two become one I32_ADD_IMM2, one dispatch, and after an
 * I32_ADD_IMM2 the three one I32_ADD_IMM3. The fused op is the last op,
 * its last add the last definition (so local.set can retarget d, and
 * address_add can split that add off again). Returns whether it fused. */
static bool add_imm_pair(cctx_t *c, uint32_t d, uint32_t a, uint64_t k)
{
    int last = c->last_op;
    if (last == OP_I32_ADD_IMM || last == OP_I32_ADD_IMM_R)
        return fuse_second(c, 3, last == OP_I32_ADD_IMM ? OP_I32_ADD_IMM2 : OP_I32_ADD_IMM2_R, d, a, k, OP_I32_ADD_IMM);
    if (last == OP_I32_ADD_IMM2 || last == OP_I32_ADD_IMM2_R)
        return fuse_second(c, 5, last == OP_I32_ADD_IMM2 ? OP_I32_ADD_IMM3 : OP_I32_ADD_IMM3_R, d, a, k, OP_I32_ADD_IMM);
    return false;
}

/* i32 d = a + k where a is the result of an I32_ADD right before in this
 * run (a + b + k: clang's address of a field of an indexed element): one
 * I32_ADD_ADD_IMM, one dispatch, made as add_imm_pair makes its pair (the
 * _R form when the I32_ADD read acc). Only a sum of the sum: an unrelated
 * add of a constant is left to pair with the next (I32_ADD_IMM2) or to
 * fuse into a global.set or a load. Returns whether it fused. */
static bool add_then_add_imm(cctx_t *c, uint32_t d, uint32_t a, uint32_t k)
{
    int last = c->last_op;
    return (last == OP_I32_ADD || last == OP_I32_ADD_R) && c->code[c->last_op_at + 1].p.a == a &&
           fuse_second(c, 3, last == OP_I32_ADD ? OP_I32_ADD_ADD_IMM : OP_I32_ADD_ADD_IMM_R, d, a, k, OP_I32_ADD_IMM);
}

/* For the fused ops whose last half is an add of a constant (their last two
 * cells), which a load or store may fold again (address_add,
 * take_last_op), the op of the rest alone; -1 for any other op. */
static int pair_first(int op)
{
    switch (op) {
    case OP_I32_ADD_IMM3: return OP_I32_ADD_IMM2;
    case OP_I32_ADD_IMM3_R: return OP_I32_ADD_IMM2_R;
    case OP_I32_ADD_IMM2: return OP_I32_ADD_IMM;
    case OP_I32_ADD_IMM2_R: return OP_I32_ADD_IMM_R;
    case OP_I32_ADD_ADD_IMM: return OP_I32_ADD;
    case OP_I32_ADD_ADD_IMM_R: return OP_I32_ADD_R;
    default: return -1;
    }
}

static bool is_add_imm_pair(int op) { return pair_first(op) >= 0; }

/* The cells of the rest of such an op: where its last add starts. */
static size_t pair_rest(int op) { return op == OP_I32_ADD_IMM3 || op == OP_I32_ADD_IMM3_R ? 5 : 3; }

/* i32 d = a + k where a is the fresh result of a GLOBAL_GET right before:
 * one GLOBAL_GET_ADD_IMM (clang's `global.get $sp; i32.const n; i32.sub`
 * at a function's entry). Returns whether it fused. */
static bool global_add_imm(cctx_t *c, uint32_t d, uint32_t a, uint32_t k)
{
    size_t at = c->last_op_at;
    if (c->last_op != OP_GLOBAL_GET || c->fuel_pending || at + 2 != c->ncode || c->last_def != at + 1 ||
        c->code[at + 1].p.a != a)
        return false;
    c->last_op = OP_GLOBAL_GET_ADD_IMM;
    c->code[at].h = interp_labels[OP_GLOBAL_GET_ADD_IMM];
    c->code[at + 1].p.a = d;
    cc_cell(c, k);
    c->last_copy = NO_CELL;
    c->acc_ok = true; /* the handler leaves d in acc, as I32_ADD_IMM does */
    c->acc_class = cc_acc_out(OP_I32_ADD_IMM);
    c->acc_slot = d;
    return true;
}

/* global.set of i32 global g from `slot`, fused with the op right before
 * when that op made the value: a GLOBAL_GET_ADD_IMM of g becomes
 * GLOBAL_GET_ADD_IMM_SET (the stack pointer's prologue, also when a
 * local.tee kept the value: the op was retargeted to write the local), an
 * i32 add or sub of a constant whose result only this global.set reads
 * becomes GLOBAL_SET_ADD_IMM (the epilogue). Returns whether it fused. */
static bool global_set_fused(cctx_t *c, uint32_t slot, uint32_t g)
{
    size_t at = c->last_op_at;
    int last = cc_base_op(c->last_op);
    if (c->fuel_pending || at + 3 != c->ncode || c->code[at + 1].p.a != slot) return false;
    /* the op wrote slot (a local.tee's retarget leaves no last_def) */
    if (last == OP_GLOBAL_GET_ADD_IMM && c->code[at + 1].p.b == g) {
        c->last_op = OP_GLOBAL_GET_ADD_IMM_SET;
    } else if ((last == OP_I32_ADD_IMM || last == OP_I32_SUB_IMM) && c->last_def == at + 1 &&
               slot == home(c, c->sp)) { /* a temporary only this global.set reads */
        uint32_t k = (uint32_t)c->code[at + 2].u;
        c->code[at + 1] = (cell_t){.p = {c->code[at + 1].p.b, g}};
        c->code[at + 2].u = last == OP_I32_SUB_IMM ? 0u - k : k;
        c->last_op = OP_GLOBAL_SET_ADD_IMM;
    } else {
        return false;
    }
    c->code[at].h = interp_labels[c->last_op];
    c->last_def = NO_CELL; /* as after a GLOBAL_SET */
    c->acc_ok = false;
    c->last_copy = NO_CELL;
    return true;
}

/* A binary op. With `imm`, the op has an _IMM twin (numbered op + 1) taking
 * a constant second operand from the instruction instead of a slot. */
static void binop(cctx_t *c, int op, uint8_t vin, uint8_t vout, bool imm)
{
    opnd_t b = pop_t_raw(c, vin);
    opnd_t a = pop_t_raw(c, vin);
    if (!emitting(c)) {
        push_home(c, vout);
        return;
    }
    if (imm && a.konst && !b.konst && swapped(op) >= 0) {
        opnd_t t = a;
        a = b;
        b = t;
        op = swapped(op);
    }
    a = in_slot(c, a);
    if (!imm || !b.konst) b = in_slot_at(c, b, c->sp + 1);
    /* The _R twins read the first operand from acc: put the operand the
     * last op produced first when the op can swap (x + (y * z)). */
    if (imm && !b.konst && swapped(op) >= 0 && cc_acc_holds(c, b.slot, swapped(op)) &&
        !cc_acc_holds(c, a.slot, op)) {
        opnd_t t = a;
        a = b;
        b = t;
        op = swapped(op);
    }
    int r = imm && cc_acc_holds(c, a.slot, op) ? 2 : 0;
    uint32_t d = push_home(c, vout);
    size_t at;
    if (b.konst && (op == OP_I32_ADD || op == OP_I32_SUB) &&
        global_add_imm(c, d, a.slot, op == OP_I32_SUB ? 0u - (uint32_t)b.bits : (uint32_t)b.bits))
        return;
    if (b.konst && op == OP_I32_ADD && add_imm_pair(c, d, a.slot, b.bits)) return;
    if (b.konst && (op == OP_I32_ADD || op == OP_I32_SUB) &&
        add_then_add_imm(c, d, a.slot, op == OP_I32_SUB ? 0u - (uint32_t)b.bits : (uint32_t)b.bits))
        return;
    if (b.konst) {
        at = cc_op(c, op + 1 + r);
        cc_pair(c, d, a.slot);
        cc_cell(c, b.bits);
    } else {
        at = cc_op(c, op + r);
        cc_pair(c, d, a.slot);
        cc_pair(c, b.slot, 0);
    }
    cc_def(c, at);
}

/* If the address operand is the fresh result of the last op, an i32.add,
 * takes that add back out of the code: the access adds it itself. Returns
 * 0 (no fold), 1 (add of constant *k to slot *src: use the _A twin) or 2
 * (add of slots *src and *k: use the _X twin). */
static int address_add(cctx_t *c, const opnd_t *addr, uint32_t pos, uint32_t *src, uint32_t *k)
{
    int last = cc_base_op(c->last_op);
    bool pair = is_add_imm_pair(last); /* its last half is the add */
    size_t def = c->last_op_at + (pair ? pair_rest(last) : 1);
    if (!emitting(c) || addr->konst || (last != OP_I32_ADD_IMM && last != OP_I32_ADD && !pair) ||
        c->last_def != def || addr->slot != home(c, pos) || c->code[def].p.a != addr->slot)
        return 0;
    int kind = last == OP_I32_ADD ? 2 : 1;
    *src = c->code[def].p.b;
    *k = kind == 1 ? (uint32_t)c->code[def + 1].u : c->code[def + 1].p.a;
    return kind;
}

/* Takes the add address_add found back out of the code: the last op, or
 * the second half of an I32_ADD_IMM2 or I32_ADD_ADD_IMM, whose first half
 * stays alone. */
static void take_last_op(cctx_t *c)
{
    if (is_add_imm_pair(c->last_op)) {
        int first = pair_first(c->last_op);
        c->code[c->last_op_at].h = interp_labels[first];
        c->ncode = c->last_op_at + pair_rest(c->last_op);
        c->last_op = first;
    } else {
        c->ncode = c->last_op_at;
        c->last_op = -1;
    }
    c->last_def = NO_CELL;
    c->acc_ok = false;
}

/* A load or store of memory mem > 0: one generic op, the wasm opcode
 * choosing the access in its handler, so memory 0's ops stay as they are. */
static void access_m(cctx_t *c, uint32_t a, uint32_t b, uint32_t off, uint32_t mem, uint32_t wasm_op,
                     bool is_load)
{
    size_t at = cc_op(c, is_load ? OP_LOAD_M : OP_STORE_M);
    cc_pair(c, a, b);
    cc_cell(c, off);
    cc_pair(c, mem, wasm_op);
    if (is_load) cc_def(c, at);
}

/* i32 d = load(a + off) right after a plain load of the same kind in this
 * run (clang's field after field, a pointer then what it points to, a
 * string compared byte by byte): the two become one I32_LOAD2 or
 * I32_LOAD8_U2, one dispatch. The second reads its address from its slot,
 * also when that is the first's result, which the handler has written by
 * then. The second half is the last definition (local.set retargets it).
 * Returns whether it fused. */
static bool load_pair(cctx_t *c, int op, uint32_t d, uint32_t a, uint32_t off)
{
    int pair = op == OP_I32_LOAD ? OP_I32_LOAD2 : op == OP_I32_LOAD8_U ? OP_I32_LOAD8_U2 : -1;
    return pair >= 0 && c->last_op == op && fuse_second(c, 3, pair, d, a, off, op);
}

static void load(cctx_t *c, int op, uint8_t vout, uint32_t natural, uint32_t wasm_op)
{
    uint32_t off, src, k;
    uint32_t mem = memarg(c, natural, &off);
    opnd_t a = pop_t(c, WEFT_I32);
    uint32_t d = push_home(c, vout);
    if (!emitting(c)) return;
    if (mem) {
        access_m(c, d, a.slot, off, mem, wasm_op, true);
        return;
    }
    size_t at;
    int fold = address_add(c, &a, c->sp - 1, &src, &k);
    if (fold) take_last_op(c);
    if (fold) {
        at = cc_op(c, op + fold);
        cc_pair(c, d, src);
        cc_pair(c, off, k);
    } else if (load_pair(c, op, d, a.slot, off)) {
        return;
    } else {
        at = cc_op(c, op + (cc_acc_holds(c, a.slot, op) ? 3 : 0));
        cc_pair(c, d, a.slot);
        cc_cell(c, off);
    }
    cc_def(c, at);
}

/* i32.store8 at a + off of the byte a plain or _A I32_LOAD8_U right before
 * in this run loaded (a byte copied: memcpy's tail, clang's copy loops):
 * one I32_LOAD8_U_STORE8 or _A_STORE8, one dispatch. Returns whether it
 * fused. */
static bool byte_move(cctx_t *c, int op, uint32_t a, uint32_t v, uint32_t off)
{
    int last = c->last_op;
    int fused = last == OP_I32_LOAD8_U ? OP_I32_LOAD8_U_STORE8
                : last == OP_I32_LOAD8_U_A ? OP_I32_LOAD8_U_A_STORE8 : -1;
    if (op != OP_I32_STORE8 || fused < 0 || c->code[c->last_op_at + 1].p.a != v ||
        !fuse_second(c, 3, fused, a, v, off, op))
        return false;
    c->last_def = NO_CELL; /* as after a store */
    c->acc_ok = false;
    return true;
}

static void store(cctx_t *c, int op, uint8_t vin, uint32_t natural, uint32_t wasm_op)
{
    uint32_t off, src, k;
    uint32_t mem = memarg(c, natural, &off);
    opnd_t v = pop_t_raw(c, vin);
    opnd_t a = pop_t(c, WEFT_I32);
    if (!emitting(c)) return;
    if (mem) {
        v = in_slot_at(c, v, c->sp + 1);
        access_m(c, a.slot, v.slot, off, mem, wasm_op, false);
        return;
    }
    int fold = address_add(c, &a, c->sp, &src, &k);
    if (fold) take_last_op(c);
    /* A constant value goes in the instruction (the _K forms), not through
     * a CONST into a slot: `flags[i] = 0` in a loop was two ops. */
    bool kv = v.konst;
    if (!kv) v = in_slot_at(c, v, c->sp + 1);
    if (!fold && !kv && byte_move(c, op, a.slot, v.slot, off)) return;
    cc_op(c, op + fold + (kv ? OP_I32_STORE_K - OP_I32_STORE : 0));
    if (fold) {
        cc_pair(c, src, kv ? 0 : v.slot);
        cc_pair(c, off, k);
    } else {
        cc_pair(c, a.slot, kv ? 0 : v.slot);
        cc_cell(c, off);
    }
    if (kv) cc_cell(c, v.bits);
}

static bool numeric(cctx_t *c, uint32_t code)
{
    switch (code) {
#define UN(n, w, vi, vo, fi, fo, e) case w: unop(c, OP_##n, WEFT_##vi, WEFT_##vo); return true;
#define UNT(n, w, vi, vo, fi, fo, f) case w: unop(c, OP_##n, WEFT_##vi, WEFT_##vo); return true;
#define BIN(n, w, vi, vo, fi, fo, e) case w: binop(c, OP_##n, WEFT_##vi, WEFT_##vo, true); return true;
#define BINT(n, w, vi, vo, fi, fo, f) case w: binop(c, OP_##n, WEFT_##vi, WEFT_##vo, false); return true;
#define LOAD(n, w, vo, ct, fo) case w: load(c, OP_##n, WEFT_##vo, sizeof(ct), w); return true;
#define STORE(n, w, vi, ct, fi) case w: store(c, OP_##n, WEFT_##vi, sizeof(ct), w); return true;
#include "ops.def"
    }
    return false;
}

/* Constants cost nothing until used: an op may take them as an immediate,
 * and local.set writes them straight into the local. */
static void emit_const(cctx_t *c, uint8_t type, uint64_t bits)
{
    push_konst(c, type, bits);
}

/* A compare whose only use is the conditional branch being emitted: it is
 * taken back out of the code and fused into the branch. */
typedef struct {
    bool valid, eqz, imm_form;
    bool test;  /* an i32.and with a constant: a branch on a & imm */
    bool testz; /* ... followed by i32.eqz: the branch's sense inverted */
    bool r; /* the compare read a from acc: so may the branch, right after */
    int op;
    uint32_t a, b;
    uint64_t imm;
    size_t at;
    uint32_t nlabels;
} cmp_t;

static int brcmp(int op)
{
    switch (op) {
#define BRCMP(n, fi, cop) case OP_##n: return OP_BR_##n; case OP_##n##_IMM: return OP_BR_##n##_IMM;
#include "ops.def"
    }
    return -1;
}

static int inverse_cmp(int op)
{
    switch (op) {
#define INV(x, y)                                                             \
    case OP_##x: return OP_##y;                                               \
    case OP_##y: return OP_##x;                                               \
    case OP_##x##_IMM: return OP_##y##_IMM;                                   \
    case OP_##y##_IMM: return OP_##x##_IMM;
        INV(I32_EQ, I32_NE) INV(I32_LT_S, I32_GE_S) INV(I32_LT_U, I32_GE_U)
        INV(I32_GT_S, I32_LE_S) INV(I32_GT_U, I32_LE_U)
        INV(I64_EQ, I64_NE) INV(I64_LT_S, I64_GE_S) INV(I64_LT_U, I64_GE_U)
        INV(I64_GT_S, I64_LE_S) INV(I64_GT_U, I64_LE_U)
#undef INV
    }
    return -1;
}

static cmp_t take_compare(cctx_t *c, const opnd_t *cond)
{
    cmp_t p = {0};
    if (!emitting(c) || cond->konst || c->last_def == NO_CELL || c->last_def != c->last_op_at + 1 ||
        cond->slot != home(c, c->sp) || c->code[c->last_def].p.a != cond->slot)
        return p;
    size_t at = c->last_op_at;
    int op = cc_base_op(c->last_op); /* an _R compare reads its operand's slot once fused */
    if (op == OP_I32_EQZ && c->prev_op_at + 3 == at && cc_base_op(c->prev_op) == OP_I32_AND_IMM &&
        c->code[at + 1].p.b == cond->slot && c->code[c->prev_op_at + 1].p.a == cond->slot) {
        /* (x & k) == 0, the commonest test in clang's code: the and, right
         * before, wrote the temporary the eqz read (and nothing else does) */
        p.test = p.testz = true;
        op = c->prev_op;
        at = c->prev_op_at;
        p.imm = c->code[at + 2].u;
    } else if (op == OP_I32_EQZ) {
        p.eqz = true;
    } else if (op == OP_I32_AND_IMM) {
        p.test = true;
        p.imm = c->code[at + 2].u;
    } else if (brcmp(op) >= 0) {
        p.op = op;
        p.imm_form = (brcmp(op) - OP_BR_I32_EQ) % 4 == 1;
        if (p.imm_form)
            p.imm = c->code[at + 2].u;
        else
            p.b = c->code[at + 2].p.a;
    } else {
        return p;
    }
    p.a = c->code[at + 1].p.b;
    p.valid = true;
    p.r = (p.testz ? c->prev_op : c->last_op) != cc_base_op(op);
    p.at = at;
    p.nlabels = c->nlabels;
    c->ncode = at;
    c->last_def = NO_CELL;
    c->acc_ok = false;
    c->last_op = -1;
    return p;
}

/* Emits a jump taken when cond is true (`when`) or false; returns the
 * offset cell to patch. */
static size_t emit_cond_jump(cctx_t *c, const cmp_t *p, opnd_t cond, bool when, uint32_t cond_pos)
{
    if (p->valid && p->eqz) {
        cc_op(c, when ? OP_BR_UNLESS : OP_BR_IF);
        cc_cell(c, p->a);
    } else if (p->valid && p->test) {
        bool r = p->r && c->ncode == p->at && c->nlabels == p->nlabels; /* as below */
        cc_op(c, (when != p->testz ? OP_BR_I32_TEST_IMM : OP_BR_I32_TESTZ_IMM) +
                     (r ? OP_BR_I32_TEST_IMM_R - OP_BR_I32_TEST_IMM : 0));
        cc_cell(c, p->a);
        cc_cell(c, p->imm);
    } else if (p->valid) {
        int op = when ? p->op : inverse_cmp(p->op);
        /* a still in acc: nothing was emitted since the producer */
        bool r = p->r && c->ncode == p->at && c->nlabels == p->nlabels;
        cc_op(c, brcmp(op) + (r ? 2 : 0));
        if (p->imm_form) {
            cc_cell(c, p->a);
            cc_cell(c, p->imm);
        } else {
            cc_pair(c, p->a, p->b);
        }
    } else {
        cond = in_slot_at(c, cond, cond_pos);
        /* BR_IF_R tests the integer accumulator, as an i32 ALU op reads it */
        int r = cc_acc_holds(c, cond.slot, OP_I32_ADD) ? OP_BR_IF_R - OP_BR_IF : 0;
        cc_op(c, (when ? OP_BR_IF : OP_BR_UNLESS) + r);
        cc_cell(c, cond.slot);
    }
    return cc_cell(c, 0);
}

/* A branch to frame `depth` whose operands are on top of the stack. */
static void emit_br(cctx_t *c, uint32_t depth)
{
    ctrl_t *t = label(c, depth);
    if (t->kind == CT_FUNC) { /* the function's label: return directly */
        cc_return(c);
        return;
    }
    uint32_t n;
    label_types(t, &n);
    cc_branch_copies(c, n, t->height, false);
    cc_op(c, OP_BR);
    cc_branch_to(c, depth, cc_cell(c, 0));
}

static void op_br_if(cctx_t *c, uint32_t depth)
{
    opnd_t cond = pop_t_raw(c, WEFT_I32);
    cmp_t cmp = take_compare(c, &cond);
    ctrl_t *t = label(c, depth);
    uint32_t n;
    const uint8_t *types = label_types(t, &n);
    check_operands(c, types, n);
    if (!emitting(c)) return;
    t = label(c, depth);
    if (!cc_branch_copies(c, n, t->height, true)) {
        cc_branch_to(c, depth, emit_cond_jump(c, &cmp, cond, true, c->sp));
    } else {
        size_t skip = emit_cond_jump(c, &cmp, cond, false, c->sp);
        cc_region(c, OP_FUEL); /* the fall-through, as every one, starts with FUEL */
        emit_br(c, depth);
        cc_patch_here(c, skip);
    }
    cc_region(c, OP_FUEL);
}

static void op_br_table(cctx_t *c)
{
    uint32_t n = rd_count(&c->r, 1);
    uint32_t *targets = cc_scratch(c, ((size_t)n + 1) * sizeof *targets);
    for (uint32_t i = 0; i <= n; i++) {
        targets[i] = rd_u32(&c->r);
        label(c, targets[i]); /* range check */
    }
    opnd_t idx = pop_t(c, WEFT_I32);
    uint32_t arity;
    label_types(label(c, targets[n]), &arity);
    /* Everything is decided once per distinct depth, not per entry (a table
     * may have millions of entries): the type check, whether the operands
     * must be copied, and the stub that copies them. The decision is kept
     * in the target's frame, marked with this table's number, so nothing
     * here costs O(nesting depth) per table either. */
    enum { DIRECT = 1, STUB = 2 };
    uint32_t mark = ++c->bt_epoch;
    uint32_t *distinct = cc_scratch3(c, ((size_t)n + 1) * sizeof *distinct);
    uint32_t ndistinct = 0;
    for (uint32_t i = 0; i <= n; i++) {
        uint32_t d = targets[i], k;
        ctrl_t *t = label(c, d);
        if (t->bt_mark == mark) continue;
        const uint8_t *types = label_types(t, &k);
        if (k != arity) INVALID(c, "type mismatch: br_table targets have different arities");
        check_operands_as(c, types, k, false);
        t = label(c, d);
        t->bt_mark = mark;
        t->bt_how = cc_branch_copies(c, arity, t->height, true) ? STUB : DIRECT;
        distinct[ndistinct++] = d;
    }
    if (emitting(c)) {
        cc_op(c, OP_BR_TABLE);
        cc_pair(c, idx.slot, n);
        size_t first = c->ncode;
        for (uint32_t i = 0; i <= n; i++) cc_cell(c, 0);
        /* stubs after the table; bt_how becomes the stub's position (> STUB) */
        for (uint32_t k = 0; k < ndistinct; k++) {
            ctrl_t *t = label(c, distinct[k]);
            if (t->bt_how != STUB) continue;
            size_t at = c->ncode;
            cc_label(c);
            cc_region(c, OP_FUEL); /* a branch target starts with FUEL */
            emit_br(c, distinct[k]);
            label(c, distinct[k])->bt_how = at;
        }
        for (uint32_t i = 0; i <= n; i++) {
            uint32_t d = targets[i];
            size_t how = label(c, d)->bt_how;
            if (how == DIRECT)
                cc_branch_to(c, d, first + i);
            else
                c->code[first + i].i = (int64_t)how - (int64_t)(first + i);
        }
    }
    set_unreachable(c);
}

/* The type of local idx (< nlocals): the run holding it, by bisection. */
static uint8_t local_type(const cctx_t *c, uint32_t idx)
{
    uint32_t lo = 0, hi = c->nlocal_runs - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->local_runs[mid].end <= idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    return c->local_runs[lo].type;
}

/* The runs of the parameters and of the declared locals (already checked
 * by decode_code), neighbours of one type merged. */
static void read_local_runs(cctx_t *c, const weft_functype_t *ft)
{
    size_t cap = (size_t)ft->nparams + c->fd->nlocal_groups + 1;
    c->local_runs = malloc(cap * sizeof *c->local_runs);
    if (!c->local_runs) engine_fail(c->e, WEFT_ENOMEM, NULL, "out of memory");
    uint32_t n = 0, end = 0;
    reader_t r = {c->fd->local_decls, c->fd->body, c->e};
    for (size_t i = 0; i < (size_t)ft->nparams + c->fd->nlocal_groups; i++) {
        uint32_t count = 1;
        uint8_t t;
        if (i < ft->nparams) {
            t = ft->types[i];
        } else {
            count = rd_u32(&r);
            t = rd_valtype(&r);
        }
        if (count == 0) continue;
        end += count;
        if (n && c->local_runs[n - 1].type == t)
            c->local_runs[n - 1].end = end;
        else
            c->local_runs[n++] = (local_run_t){end, t};
    }
    c->nlocal_runs = n;
}

/* call [f | base << 32]; call_indirect [type | table << 32][base | i << 32].
 * Arguments are brought home so they sit contiguously at `base`, which
 * becomes the callee's frame: no copying of arguments at run time. */
static void op_call(cctx_t *c, const weft_functype_t *ft, int op, uint32_t a, uint32_t table,
                    bool indirect)
{
    opnd_t idx = {0};
    if (indirect) idx = pop_t(c, WEFT_I32);
    check_operands(c, functype_params(ft), ft->nparams);
    if (emitting(c)) cc_materialize(c, c->sp - ft->nparams);
    drop_to(c, c->sp - ft->nparams);
    uint32_t base = home(c, c->sp);
    if (emitting(c)) {
        cc_op(c, op);
        if (indirect) {
            cc_pair(c, a, table);
            cc_pair(c, base, idx.slot);
        } else if (op == OP_CALL && a >= c->m->nfunc_imports) {
            /* a function of this module is a funcdef_t of every instance
             * of it: the call reaches its code without the lookup chain
             * inst->funcs[a] -> weft_func_t -> funcdef_t */
            c->code[c->last_op_at].h = interp_labels[OP_CALL_LOCAL];
            cc_pair(c, a, base);
            cc_cell(c, (uint64_t)(uintptr_t)&c->m->funcs[a - c->m->nfunc_imports]);
        } else {
            cc_pair(c, a, base);
        }
    }
    for (uint32_t i = 0; i < ft->nresults; i++) push_home(c, functype_results(ft)[i]);
}

/* return_call [f | base << 32], return_call_indirect as call_indirect: the
 * arguments are brought home at `base` as for a call; the interpreter moves
 * them to slot 0 and runs the callee in this frame. The callee's results
 * become this function's, so they must be exactly its result types. */
static void op_return_call(cctx_t *c, const weft_functype_t *ft, int op, uint32_t a, uint32_t table,
                           bool indirect)
{
    const weft_functype_t *self = c->m->types[c->fd->type];
    if (ft->nresults != self->nresults ||
        (ft->nresults && memcmp(functype_results(ft), functype_results(self), ft->nresults) != 0))
        INVALID(c, "type mismatch: tail call's results differ from the function's");
    op_call(c, ft, op, a, table, indirect);
    set_unreachable(c);
}

static void op_local_set(cctx_t *c, uint32_t idx, bool tee)
{
    if (idx >= c->fd->nlocals) INVALID(c, "unknown local %u", idx);
    uint8_t t = local_type(c, idx);
    opnd_t v = pop_t_raw(c, t);
    /* Declared locals start at zero: at the start of the function, before
     * any control flow, storing zero into one not yet written is a no-op. */
    bool zero_again = c->prefix && idx >= c->m->types[c->fd->type]->nparams && !c->written[idx] &&
                      v.konst && v.bits == 0;
    if (!zero_again) {
        cc_written(c, idx);
        cc_local_assigned(c, idx); /* a zero_again store leaves it to the call's zeroing */
    }
    if (emitting(c) && !zero_again) {
        bool aliased = c->alias_count[idx] > 0;
        if (v.konst || aliased || v.slot != home(c, c->sp) || !cc_try_retarget(c, v.slot, idx)) {
            cc_materialize_local(c, idx);
            cc_move(c, idx, &v);
        }
    }
    if (tee) {
        if (v.konst)
            push_konst(c, t, v.bits); /* still a known constant */
        else
            push(c, t, idx);
    }
}

static void op_fc(cctx_t *c)
{
    uint32_t sub = rd_u32(&c->r);
    weft_module_t *m = c->m;
    if (sub <= 7) {
        numeric(c, 0xfc00 + sub);
        return;
    }
    switch (sub) {
    case 8: { /* memory.init */
        uint32_t seg = rd_u32(&c->r);
        uint32_t mem = mem_index(c);
        need_memory(c, mem);
        if (!m->has_datacount) BAD_ENCODING(c, "data count section required");
        if (seg >= m->datacount) INVALID(c, "unknown data segment %u", seg);
        opnd_t n = pop_t(c, WEFT_I32), s = pop_t(c, WEFT_I32), d = pop_t(c, WEFT_I32);
        if (emitting(c)) {
            cc_op(c, mem ? OP_MEMORY_INIT_M : OP_MEMORY_INIT);
            cc_cell(c, seg);
            cc_pair(c, d.slot, s.slot);
            cc_cell(c, n.slot);
            if (mem) cc_cell(c, mem);
        }
        return;
    }
    case 9: { /* data.drop */
        uint32_t seg = rd_u32(&c->r);
        if (!m->has_datacount) BAD_ENCODING(c, "data count section required");
        if (seg >= m->datacount) INVALID(c, "unknown data segment %u", seg);
        if (emitting(c)) {
            cc_op(c, OP_DATA_DROP);
            cc_cell(c, seg);
        }
        return;
    }
    case 10:
    case 11: { /* memory.copy (destination, then source memory), memory.fill */
        uint32_t dm = mem_index(c), sm = sub == 10 ? mem_index(c) : 0;
        need_memory(c, dm);
        need_memory(c, sm);
        opnd_t n = pop_t(c, WEFT_I32), s = pop_t(c, WEFT_I32), d = pop_t(c, WEFT_I32);
        if (emitting(c)) {
            bool multi = dm || sm;
            if (sub == 10)
                cc_op(c, multi ? OP_MEMORY_COPY_M : OP_MEMORY_COPY);
            else
                cc_op(c, multi ? OP_MEMORY_FILL_M : OP_MEMORY_FILL);
            cc_pair(c, d.slot, s.slot);
            cc_cell(c, n.slot);
            if (multi) cc_pair(c, dm, sm);
        }
        return;
    }
    case 12: { /* table.init */
        uint32_t seg = rd_u32(&c->r);
        uint32_t t = rd_u32(&c->r);
        uint8_t tt = table_type(c, t);
        if (seg >= m->nelems) INVALID(c, "unknown elem segment %u", seg);
        if (m->elems[seg].type != tt) INVALID(c, "type mismatch: element segment and table types differ");
        opnd_t n = pop_t(c, WEFT_I32), s = pop_t(c, WEFT_I32), d = pop_t(c, WEFT_I32);
        if (emitting(c)) {
            cc_op(c, OP_TABLE_INIT);
            cc_pair(c, d.slot, s.slot);
            cc_cell(c, n.slot);
            cc_pair(c, seg, t);
        }
        return;
    }
    case 13: { /* elem.drop */
        uint32_t seg = rd_u32(&c->r);
        if (seg >= m->nelems) INVALID(c, "unknown elem segment %u", seg);
        if (emitting(c)) {
            cc_op(c, OP_ELEM_DROP);
            cc_cell(c, seg);
        }
        return;
    }
    case 14: { /* table.copy */
        uint32_t dt = rd_u32(&c->r);
        uint32_t st = rd_u32(&c->r);
        if (table_type(c, dt) != table_type(c, st)) INVALID(c, "type mismatch: table types differ");
        opnd_t n = pop_t(c, WEFT_I32), s = pop_t(c, WEFT_I32), d = pop_t(c, WEFT_I32);
        if (emitting(c)) {
            cc_op(c, OP_TABLE_COPY);
            cc_pair(c, d.slot, s.slot);
            cc_cell(c, n.slot);
            cc_pair(c, dt, st);
        }
        return;
    }
    case 15: { /* table.grow */
        uint32_t t = rd_u32(&c->r);
        uint8_t tt = table_type(c, t);
        opnd_t n = pop_t(c, WEFT_I32), v = pop_t(c, tt);
        uint32_t d = push_home(c, WEFT_I32);
        if (emitting(c)) {
            cc_op(c, OP_TABLE_GROW);
            cc_pair(c, d, v.slot);
            cc_pair(c, n.slot, t);
        }
        return;
    }
    case 16: { /* table.size */
        uint32_t t = rd_u32(&c->r);
        table_type(c, t);
        uint32_t d = push_home(c, WEFT_I32);
        if (emitting(c)) {
            size_t at = cc_op(c, OP_TABLE_SIZE);
            cc_cell(c, d);
            cc_cell(c, t);
            cc_def(c, at);
        }
        return;
    }
    case 17: { /* table.fill */
        uint32_t t = rd_u32(&c->r);
        uint8_t tt = table_type(c, t);
        opnd_t n = pop_t(c, WEFT_I32), v = pop_t(c, tt), i = pop_t(c, WEFT_I32);
        if (emitting(c)) {
            cc_op(c, OP_TABLE_FILL);
            cc_pair(c, i.slot, v.slot);
            cc_pair(c, n.slot, t);
        }
        return;
    }
    }
    BAD_ENCODING(c, "illegal opcode 0xfc %u", sub);
}

/* ---- SIMD (0xFD prefix): typed by simd.c's table, compiled to the
 * generic V_ ops of ops.def ------------------------------------------------ */

static uint8_t lane_index(cctx_t *c, const simd_info_t *si)
{
    uint8_t lane = rd_u8(&c->r);
    if (lane >= si->lanes) INVALID(c, "invalid lane index %u", lane);
    return lane;
}

/* A cell of two slot-sized fields, as cc_pair writes it. */
static uint64_t pk(uint32_t a, uint32_t b) { return a | (uint64_t)b << 32; }

/* The op of SIMD instruction `sub`: its own handler (ops.def's V* lines) or
 * the generic one, whose operand layout they share. */
static int simd_op(uint32_t sub, int generic)
{
    switch (sub) {
#define VUN(n, sub, fn) case sub: return OP_##n;
#define VBIN(n, sub, fn) case sub: return OP_##n;
#define VTERN(n, sub, fn) case sub: return OP_##n;
#define VSHIFT(n, sub, fn) case sub: return OP_##n;
#define VTEST(n, sub, fn) case sub: return OP_##n;
#define VEXTRACT(n, sub, f, rt) case sub: return OP_##n;
#define VREPLACE(n, sub, f) case sub: return OP_##n;
#define VSPLAT(n, sub, fn) case sub: return OP_##n;
#define VLOAD(n, sub, fn) case sub: return OP_##n;
#include "ops.def"
    default: return generic;
    }
}

/* A shuffle that moves whole 4-byte lanes (each group of 4 lane bytes is
 * 4m, 4m + 1, 4m + 2, 4m + 3): its lanes m packed a byte each, or -1. */
static int64_t shuffle32(const uint8_t *bytes)
{
    uint32_t sel = 0;
    for (int i = 0; i < 4; i++) {
        const uint8_t *g = bytes + 4 * i;
        if (g[0] % 4 || g[1] != g[0] + 1 || g[2] != g[0] + 2 || g[3] != g[0] + 3) return -1;
        sel |= (uint32_t)(g[0] / 4) << 8 * i;
    }
    return sel;
}

static void op_fd(cctx_t *c)
{
    uint32_t sub = rd_u32(&c->r);
    const simd_info_t *si = simd_info(sub);
    if (!si) BAD_ENCODING(c, "illegal opcode 0xfd %u", sub);
    c->e->saw_v128 = true;
    uint64_t fn = (uint64_t)(uintptr_t)simd_lane_fn(sub);
    uint32_t off = 0, mem = 0;
    uint8_t lane = 0, out = WEFT_V128;
    opnd_t a = {0}, b, z;
    /* the instruction: [op][d | a.slot][k...] */
    int op;
    uint64_t k[3];
    int nk;
    switch (si->kind) {
    case SK_LOAD:
    case SK_LOAD_LANE:
        mem = memarg(c, si->width, &off);
        if (si->kind == SK_LOAD_LANE) lane = lane_index(c, si);
        b = si->kind == SK_LOAD_LANE ? pop_t(c, WEFT_V128) : (opnd_t){0};
        a = pop_t(c, WEFT_I32);
        op = si->kind == SK_LOAD ? simd_op(sub, OP_V_LOAD) : OP_V_LOAD_LANE;
        k[0] = off;
        k[1] = si->kind == SK_LOAD ? pk(si->width, mem) : pk(b.slot, lane);
        k[2] = si->kind == SK_LOAD ? fn : pk(si->width, mem);
        nk = 3;
        break;
    case SK_STORE:
    case SK_STORE_LANE:
        mem = memarg(c, si->width, &off);
        if (si->kind == SK_STORE_LANE) lane = lane_index(c, si);
        b = pop_t(c, WEFT_V128);
        a = pop_t(c, WEFT_I32);
        if (!emitting(c)) return;
        cc_op(c, si->kind == SK_STORE ? OP_V_STORE128 : OP_V_STORE);
        cc_pair(c, a.slot, b.slot);
        cc_cell(c, off);
        cc_pair(c, si->width | (uint32_t)lane << 8, mem);
        return;
    case SK_CONST:
    case SK_SHUFFLE: {
        const uint8_t *bytes = rd_bytes(&c->r, 16);
        for (int i = 0; si->kind == SK_SHUFFLE && i < 16; i++)
            if (bytes[i] >= si->lanes) INVALID(c, "invalid lane index %u", bytes[i]);
        op = si->kind == SK_CONST ? OP_V_CONST : OP_V_SHUFFLE;
        nk = 0;
        if (si->kind == SK_SHUFFLE) {
            b = pop_t(c, WEFT_V128);
            a = pop_t(c, WEFT_V128);
            k[nk++] = b.slot;
            int64_t sel = shuffle32(bytes);
            if (sel >= 0) {
                op = OP_V_SHUFFLE32;
                k[nk++] = (uint64_t)sel;
                break;
            }
        }
        memcpy(&k[nk++], bytes, 8);
        memcpy(&k[nk++], bytes + 8, 8);
        break;
    }
    case SK_UN:
    case SK_BIN:
    case SK_TERN:
        z = si->kind == SK_TERN ? pop_t(c, WEFT_V128) : (opnd_t){0};
        b = si->kind != SK_UN ? pop_t(c, WEFT_V128) : (opnd_t){0};
        a = pop_t(c, WEFT_V128);
        if (si->kind == SK_UN) b = a; /* unused operands name a real slot */
        if (si->kind != SK_TERN) z = b;
        op = simd_op(sub, OP_V_OP);
        k[0] = pk(b.slot, z.slot);
        k[1] = fn;
        nk = 2;
        break;
    case SK_SHIFT:
        b = pop_t(c, WEFT_I32);
        a = pop_t(c, WEFT_V128);
        op = simd_op(sub, OP_V_SHIFT);
        k[0] = b.slot;
        k[1] = fn;
        nk = 2;
        break;
    case SK_TEST:
    case SK_EXTRACT:
        if (si->kind == SK_EXTRACT) lane = lane_index(c, si);
        a = pop_t(c, WEFT_V128);
        out = si->kind == SK_TEST ? WEFT_I32 : si->scalar;
        op = simd_op(sub, OP_V_TO_S);
        k[0] = lane;
        k[1] = fn;
        nk = 2;
        break;
    case SK_SPLAT:
    case SK_REPLACE:
        if (si->kind == SK_REPLACE) lane = lane_index(c, si);
        b = pop_t(c, si->scalar);
        /* a splat ignores its vector operand: it names the destination */
        a = si->kind == SK_REPLACE ? pop_t(c, WEFT_V128) : (opnd_t){.slot = home(c, c->sp)};
        op = simd_op(sub, OP_V_FROM_S);
        k[0] = pk(b.slot, lane);
        k[1] = fn;
        nk = 2;
        break;
    default:
        BAD_ENCODING(c, "illegal opcode 0xfd %u", sub);
    }
    uint32_t d = push_home(c, out);
    if (!emitting(c)) return;
    size_t at = cc_op(c, op);
    cc_pair(c, d, a.slot);
    for (int i = 0; i < nk; i++) cc_cell(c, k[i]);
    cc_def(c, at);
}

/* One instruction. Returns false after the function's final `end`. */
static bool instruction(cctx_t *c)
{
    weft_module_t *m = c->m;
    reader_t *r = &c->r;
    c->instr_at = r->p;
    uint8_t op = rd_u8(r);
    if ((op >= 0x02 && op <= 0x13) || op == 0x00) c->prefix = false; /* control flow */
    /* Fuel counts every instruction but the structural ones that compile to
     * nothing: block, loop, else, end, nop. */
    if (emitting(c) && op != 0x02 && op != 0x03 && op != 0x05 && op != 0x0b && op != 0x01)
        cc_count(c);
    switch (op) {
    case 0x00: /* unreachable */
        if (emitting(c)) cc_op(c, OP_UNREACHABLE);
        set_unreachable(c);
        return true;
    case 0x01: /* nop */
        return true;
    case 0x02:
    case 0x03: { /* block, loop */
        ctrl_t proto = {0};
        read_blocktype(c, &proto);
        ctrl_t *f = open_block(c, op == 0x02 ? CT_BLOCK : CT_LOOP, &proto);
        if (op == 0x03 && !f->dead) {
            cc_region(c, OP_CHECK);
            f->loop_pc = c->fuel_cell - 1; /* its FUEL, possibly the entry's */
        }
        return true;
    }
    case 0x04: { /* if */
        ctrl_t proto = {0};
        read_blocktype(c, &proto);
        opnd_t cond = pop_t_raw(c, WEFT_I32);
        cmp_t cmp = take_compare(c, &cond);
        /* the compare reads slots at or above the condition's position,
         * which materialising the stack below it cannot overwrite */
        uint32_t cond_pos = c->sp;
        ctrl_t *f = open_block(c, CT_IF, &proto);
        if (!f->dead) {
            f->else_cell = emit_cond_jump(c, &cmp, cond, false, cond_pos);
            cc_region(c, OP_FUEL);
        }
        return true;
    }
    case 0x05: { /* else */
        ctrl_t *f = &c->ctrl[c->nctrl - 1];
        if (f->kind != CT_IF) BAD_ENCODING(c, "else without matching if");
        check_frame_end(c, f);
        if (emitting(c)) {
            cc_op(c, OP_BR);
            cc_branch_to(c, 0, cc_cell(c, 0));
        }
        if (f->else_cell != NO_CELL) {
            cc_patch_here(c, f->else_cell);
            f->else_cell = NO_CELL;
        }
        cc_assign_else(c, f);
        drop_to(c, f->height);
        f->kind = CT_ELSE;
        f->unreachable = false;
        for (uint32_t i = 0; i < f->nparams; i++) push_home(c, f->params[i]);
        if (!f->dead) cc_region(c, OP_FUEL);
        return true;
    }
    case 0x0b: { /* end */
        ctrl_t *f = &c->ctrl[c->nctrl - 1];
        check_frame_end(c, f);
        if (f->kind == CT_IF) {
            if (f->nparams != f->nresults ||
                (f->nparams && memcmp(f_params(f), f_results(f), f->nparams) != 0))
                INVALID(c, "type mismatch: if without else must leave its parameters unchanged");
        }
        bool placed = f->branched || f->else_cell != NO_CELL;
        if (f->else_cell != NO_CELL) cc_patch_here(c, f->else_cell);
        if (f->kind == CT_FUNC) {
            /* falling off the end returns; branches to the function's label
             * (br_table entries) land after that with results at home */
            if (emitting(c)) cc_return(c);
            if (f->branched) {
                cc_resolve(c, c->nctrl - 1);
                cc_region(c, OP_FUEL);
                for (uint32_t i = 0; i < f->nresults; i++) cc_copy_t(c, f_results(f)[i], i, home(c, i));
                cc_op(c, OP_RETURN);
            }
            c->nctrl--;
            return false;
        }
        cc_resolve(c, c->nctrl - 1);
        cc_assign_end(c, f);
        bool dead = f->dead;
        uint32_t nres = f->nresults;
        const uint8_t *res = f_results(f);
        uint8_t single = f->single;
        drop_to(c, f->height);
        c->nctrl--;
        for (uint32_t i = 0; i < nres; i++) push_home(c, res == &f->single ? single : res[i]);
        if (!dead && (placed || (c->fuel_cell == NO_CELL && !c->fuel_pending))) {
            cc_label(c);
            cc_region(c, OP_FUEL);
        }
        return true;
    }
    case 0x0c: { /* br */
        uint32_t depth = rd_u32(r);
        uint32_t n;
        const uint8_t *types = label_types(label(c, depth), &n);
        check_operands(c, types, n);
        if (emitting(c)) emit_br(c, depth);
        set_unreachable(c);
        return true;
    }
    case 0x0d: op_br_if(c, rd_u32(r)); return true;
    case 0x0e: op_br_table(c); return true;
    case 0x0f: { /* return */
        const weft_functype_t *ft = m->types[c->fd->type];
        check_operands(c, functype_results(ft), ft->nresults);
        if (emitting(c)) cc_return(c);
        set_unreachable(c);
        return true;
    }
    case 0x10:
    case 0x12: { /* call, return_call (tail calls) */
        if (op == 0x12 && !engine_feature(c->e, WEFT_FEATURE_TAIL_CALL))
            BAD_ENCODING(c, "illegal opcode 0x%02x", op);
        uint32_t f = rd_u32(r);
        if (f >= m->nfuncs) INVALID(c, "unknown function %u", f);
        if (op == 0x10)
            op_call(c, m->types[m->func_types[f]], OP_CALL, f, 0, false);
        else
            op_return_call(c, m->types[m->func_types[f]], OP_RETURN_CALL, f, 0, false);
        return true;
    }
    case 0x11:
    case 0x13: { /* call_indirect, return_call_indirect */
        if (op == 0x13 && !engine_feature(c->e, WEFT_FEATURE_TAIL_CALL))
            BAD_ENCODING(c, "illegal opcode 0x%02x", op);
        uint32_t t = rd_u32(r);
        uint32_t tab = rd_u32(r);
        if (tab >= m->ntables) INVALID(c, "unknown table %u", tab);
        if (t >= m->ntypes) INVALID(c, "unknown type %u", t);
        if (m->tables[tab].elem != WEFT_FUNCREF) INVALID(c, "type mismatch: call_indirect needs a funcref table");
        if (op == 0x11)
            op_call(c, m->types[t], OP_CALL_INDIRECT, t, tab, true);
        else
            op_return_call(c, m->types[t], OP_RETURN_CALL_INDIRECT, t, tab, true);
        return true;
    }
    case 0x1a: pop_raw(c); return true; /* drop */
    case 0x1b:
    case 0x1c: { /* select, typed select */
        uint8_t want = T_UNKNOWN;
        if (op == 0x1c) {
            uint32_t n = rd_u32(r);
            if (n != 1) INVALID(c, "invalid result arity for select");
            want = rd_valtype(r);
        }
        opnd_t cond = pop_t(c, WEFT_I32);
        opnd_t b = pop_t(c, want);
        opnd_t a = pop_t(c, want);
        uint8_t t = want;
        if (op == 0x1b) {
            if ((a.type != T_UNKNOWN && !is_num(a.type)) || (b.type != T_UNKNOWN && !is_num(b.type)))
                INVALID(c, "type mismatch: select without a type needs numeric operands");
            if (a.type != T_UNKNOWN && b.type != T_UNKNOWN && a.type != b.type)
                INVALID(c, "type mismatch: select operands differ");
            t = a.type != T_UNKNOWN ? a.type : b.type;
        }
        uint32_t d = push_home(c, t);
        if (emitting(c)) {
            size_t at = cc_op(c, t == WEFT_V128 ? OP_V_SELECT : OP_SELECT);
            cc_pair(c, d, a.slot);
            cc_pair(c, b.slot, cond.slot);
            cc_def(c, at);
        }
        return true;
    }
    case 0x20: { /* local.get */
        uint32_t idx = rd_u32(r);
        if (idx >= c->fd->nlocals) INVALID(c, "unknown local %u", idx);
        cc_local_read(c, idx);
        push(c, local_type(c, idx), idx);
        return true;
    }
    case 0x21: op_local_set(c, rd_u32(r), false); return true;
    case 0x22: op_local_set(c, rd_u32(r), true); return true;
    case 0x23: { /* global.get */
        uint32_t g = rd_u32(r);
        if (g >= m->nglobals) INVALID(c, "unknown global %u", g);
        uint32_t d = push_home(c, m->globals[g].type);
        if (emitting(c)) {
            size_t at = cc_op(c, m->globals[g].type == WEFT_V128 ? OP_V_GLOBAL_GET : OP_GLOBAL_GET);
            cc_pair(c, d, g);
            cc_def(c, at);
        }
        return true;
    }
    case 0x24: { /* global.set */
        uint32_t g = rd_u32(r);
        if (g >= m->nglobals) INVALID(c, "unknown global %u", g);
        if (!m->globals[g].mut) INVALID(c, "global is immutable");
        opnd_t v = pop_t(c, m->globals[g].type);
        if (emitting(c) && !(m->globals[g].type == WEFT_I32 && global_set_fused(c, v.slot, g))) {
            cc_op(c, m->globals[g].type == WEFT_V128 ? OP_V_GLOBAL_SET : OP_GLOBAL_SET);
            cc_pair(c, v.slot, g);
        }
        return true;
    }
    case 0x25: { /* table.get */
        uint32_t t = rd_u32(r);
        uint8_t tt = table_type(c, t);
        opnd_t i = pop_t(c, WEFT_I32);
        uint32_t d = push_home(c, tt);
        if (emitting(c)) {
            size_t at = cc_op(c, OP_TABLE_GET);
            cc_pair(c, d, i.slot);
            cc_cell(c, t);
            cc_def(c, at);
        }
        return true;
    }
    case 0x26: { /* table.set */
        uint32_t t = rd_u32(r);
        uint8_t tt = table_type(c, t);
        opnd_t v = pop_t(c, tt);
        opnd_t i = pop_t(c, WEFT_I32);
        if (emitting(c)) {
            cc_op(c, OP_TABLE_SET);
            cc_pair(c, i.slot, v.slot);
            cc_cell(c, t);
        }
        return true;
    }
    case 0x3f:
    case 0x40: { /* memory.size, memory.grow */
        uint32_t mem = mem_index(c);
        need_memory(c, mem);
        opnd_t a = {0};
        if (op == 0x40) a = pop_t(c, WEFT_I32);
        uint32_t d = push_home(c, WEFT_I32);
        if (emitting(c)) {
            size_t at;
            if (mem)
                at = cc_op(c, op == 0x3f ? OP_MEMORY_SIZE_M : OP_MEMORY_GROW_M);
            else
                at = cc_op(c, op == 0x3f ? OP_MEMORY_SIZE : OP_MEMORY_GROW);
            cc_pair(c, d, a.slot);
            if (mem) cc_cell(c, mem);
            cc_def(c, at);
        }
        return true;
    }
    case 0x41: emit_const(c, WEFT_I32, (uint32_t)rd_s32(r)); return true;
    case 0x42: emit_const(c, WEFT_I64, (uint64_t)rd_s64(r)); return true;
    case 0x43: emit_const(c, WEFT_F32, rd_f32(r)); return true;
    case 0x44: emit_const(c, WEFT_F64, rd_f64(r)); return true;
    case 0xd0: emit_const(c, rd_reftype(r), 0); return true; /* ref.null */
    case 0xd1: { /* ref.is_null */
        opnd_t a = pop_any(c);
        if (a.type != T_UNKNOWN && !is_ref(a.type)) INVALID(c, "type mismatch: ref.is_null needs a reference");
        uint32_t d = push_home(c, WEFT_I32);
        if (emitting(c)) {
            size_t at = cc_op(c, OP_REF_IS_NULL);
            cc_pair(c, d, a.slot);
            cc_def(c, at);
        }
        return true;
    }
    case 0xd2: { /* ref.func */
        uint32_t f = rd_u32(r);
        if (f >= m->nfuncs) INVALID(c, "unknown function %u", f);
        if (!(m->declared_funcs[f >> 3] & (1u << (f & 7)))) INVALID(c, "undeclared function reference");
        uint32_t d = push_home(c, WEFT_FUNCREF);
        if (emitting(c)) {
            size_t at = cc_op(c, OP_REF_FUNC);
            cc_pair(c, d, f);
            cc_def(c, at);
        }
        return true;
    }
    case 0xfc: op_fc(c); return true;
    case 0xfd: op_fd(c); return true;
    }
    if (numeric(c, op)) return true;
    BAD_ENCODING(c, "illegal opcode 0x%02x", op);
}

void validate_function(weft_module_t *m, uint32_t index, loaderr_t *e)
{
    funcdef_t *fd = &m->funcs[index];
    const weft_functype_t *ft = m->types[fd->type];
    cctx_t c = {0};
    c.m = m;
    c.fd = fd;
    c.e = e;
    c.r = (reader_t){fd->body, fd->body + fd->body_len, e};
    /* The emitter's buffers are not owned by the module until cc_finish:
     * catch a failure here to free them, then pass it on. */
    jmp_buf outer;
    memcpy(&outer, &e->jmp, sizeof outer);
    if (setjmp(e->jmp)) {
        cc_fini(&c);
        memcpy(&e->jmp, &outer, sizeof outer);
        longjmp(e->jmp, 1);
    }
    cc_init(&c);
    read_local_runs(&c, ft);
    ctrl_t proto = {0};
    proto.kind = CT_FUNC;
    proto.nresults = ft->nresults;
    proto.results = functype_results(ft);
    push_ctrl(&c, &proto);
    cc_region(&c, OP_CHECK);
    /* A call zeroes the declared locals before the body runs: the entry's
     * FUEL charges 1 unit per 16 of them (store.h), so a frame of
     * 50,000 locals is not one unit. Being nonzero, the count also keeps a
     * loop header from reusing this check. */
    c.code[c.fuel_cell].u = (fd->nlocals - ft->nparams) / LOCALS_PER_FUEL;
    /* Declared v128 locals start at zero too, in the vector stack: one
     * V_ZERO per run of them (calls zero only the 8-byte slots). */
    for (uint32_t i = 0, start = 0; i < c.nlocal_runs; start = c.local_runs[i++].end) {
        uint32_t first = start > ft->nparams ? start : ft->nparams;
        if (c.local_runs[i].type != WEFT_V128 || c.local_runs[i].end <= first) continue;
        cc_op(&c, OP_V_ZERO);
        cc_pair(&c, first, c.local_runs[i].end - first);
    }
    while (instruction(&c)) {
        if (c.r.p >= c.r.end) {
            c.instr_at = c.r.p;
            BAD_ENCODING(&c, "unexpected end of function body (END opcode expected)");
        }
        if (--e->poll == 0) engine_poll(e);
    }
    if (c.r.p != c.r.end) {
        c.instr_at = c.r.p;
        BAD_ENCODING(&c, "section size mismatch: bytes after the end of the function body");
    }
    cc_finish(&c);
    cc_fini(&c);
    memcpy(&e->jmp, &outer, sizeof outer);
}
