/*
 * dump.c — a readable listing of the internal code of a function, for
 * `weft inspect --code` and for tuning the compiler. Each line shows the
 * cell index, the operation and its raw operand cells; operand layouts are
 * documented in ops.def.
 */
#include <stdio.h>

#include "compile.h"
#include "jit/jit.h"
#include "simd.h"

static const char *const op_names[] = {
#define OP(n, len, m) #n,
#define UN(n, w, vi, vo, fi, fo, e) #n,
#define BIN(n, w, vi, vo, fi, fo, e) #n, #n "_IMM", #n "_R", #n "_IMM_R",
#define BRCMP(n, fi, cop) "BR_" #n, "BR_" #n "_IMM", "BR_" #n "_R", "BR_" #n "_IMM_R",
#define UNT(n, w, vi, vo, fi, fo, f) #n,
#define BINT(n, w, vi, vo, fi, fo, f) #n,
#define LOAD(n, w, vo, ct, fo) #n, #n "_A", #n "_X", #n "_R",
#define STORE(n, w, vi, ct, fi) #n, #n "_A", #n "_X", #n "_K", #n "_AK", #n "_XK",
#include "ops.def"
};

/* Cells per instruction; 0 = variable (BR_TABLE). */
static const unsigned char op_cells[] = {
#define OP(n, len, m) len,
#define UN(n, w, vi, vo, fi, fo, e) 2,
#define BIN(n, w, vi, vo, fi, fo, e) 3, 3, 3, 3,
#define BRCMP(n, fi, cop) 3, 4, 3, 4,
#define UNT(n, w, vi, vo, fi, fo, f) 2,
#define BINT(n, w, vi, vo, fi, fo, f) 3,
#define LOAD(n, w, vo, ct, fo) 3, 3, 3, 3,
#define STORE(n, w, vi, ct, fi) 3, 3, 3, 4, 4, 4,
#include "ops.def"
};

/* The SIMD ops whose last cell is the lane function of their instruction:
 * the generic ones and the hot instructions' own (ops.def's V* lines). */
static const bool fn_last[OP__COUNT] = {
    [OP_V_OP] = true, [OP_V_SHIFT] = true, [OP_V_TO_S] = true, [OP_V_FROM_S] = true, [OP_V_LOAD] = true,
#define VUN(n, sub, fn) [OP_##n] = true,
#define VBIN(n, sub, fn) [OP_##n] = true,
#define VTERN(n, sub, fn) [OP_##n] = true,
#define VSHIFT(n, sub, fn) [OP_##n] = true,
#define VTEST(n, sub, fn) [OP_##n] = true,
#define VEXTRACT(n, sub, f, rt) [OP_##n] = true,
#define VREPLACE(n, sub, f) [OP_##n] = true,
#define VSPLAT(n, sub, fn) [OP_##n] = true,
#define VLOAD(n, sub, fn) [OP_##n] = true,
#include "ops.def"
};

const char *engine_op_name(int op)
{
    return op >= 0 && op < OP__COUNT ? op_names[op] : "?";
}

size_t engine_op_len(int op, const cell_t *pc)
{
    size_t len = op_cells[op];
    return len ? len : 2 + (size_t)pc[1].p.b + 1; /* BR_TABLE */
}

static int op_of(const void *h)
{
    for (int i = 0; i < OP__COUNT; i++)
        if (interp_labels[i] == h) return i;
    return -1;
}

/* Linear in the number of ops: for the dumper and debug checks only. */
int engine_op_at(const cell_t *code, size_t pc, size_t *out_len)
{
    int op = op_of(code[pc].h);
    if (op >= 0) *out_len = engine_op_len(op, &code[pc]);
    return op;
}

int weft_module_dump_code(const weft_module_t *m, uint32_t index, FILE *out)
{
    if (index < m->nfunc_imports || index >= m->nfuncs) return WEFT_ENOTFOUND;
    const funcdef_t *fd = &m->funcs[index - m->nfunc_imports];
    unsigned zeroed = (unsigned)__builtin_popcountll(fd->zero_mask) + (fd->nlocals - fd->zero_from);
    fprintf(out, "func %u: %u locals (%u zeroed by a call), %u frame slots, %zu cells\n", index,
            fd->nlocals, zeroed, fd->frame_slots, fd->ncode);
    size_t pc = 0;
    while (pc < fd->ncode) {
        int op = op_of(fd->code[pc].h);
        if (op < 0) {
            fprintf(out, "%6zu  ??\n", pc);
            return WEFT_EINVALID;
        }
        size_t len = engine_op_len(op, &fd->code[pc]);
        fprintf(out, "%6zu  %-22s", pc, op_names[op]);
        for (size_t k = 1; k < len && pc + k < fd->ncode; k++) {
            const cell_t *c = &fd->code[pc + k];
            if (c->p.b && c->p.b != 0xffffffffu)
                fprintf(out, " %u|%u", c->p.a, c->p.b);
            else
                fprintf(out, " %lld", (long long)c->i);
        }
        /* SIMD ops end with a lane function of simd.c: name its instruction */
        const char *simd = fn_last[op] && pc + len <= fd->ncode ? simd_fn_name(fd->code[pc + len - 1].h) : NULL;
        if (simd) fprintf(out, "  ; %s", simd);
        fputc('\n', out);
        pc += len;
    }
    return 0;
}
