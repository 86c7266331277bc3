/*
 * bench/kernels/vm.c — a small interpreter: a register bytecode machine.
 *
 * A 16-register VM with a dozen opcodes runs a program that, for every n
 * below a bound, counts the steps of the Collatz sequence from n and folds
 * them into a checksum. The dispatch loop (a switch on the opcode) is the
 * classic shape of interpreters, and so of what an interpreter compiled
 * to wasm costs under weft: indirect branches and small-array accesses.
 */
#include "kernel.h"

enum {
    OP_LOADI, /* r[a] = imm */
    OP_MOV,   /* r[a] = r[b] */
    OP_ADD,   /* r[a] = r[b] + r[c] */
    OP_ADDI,  /* r[a] = r[b] + imm */
    OP_MUL,   /* r[a] = r[b] * r[c] */
    OP_SHRI,  /* r[a] = r[b] >> imm */
    OP_ANDI,  /* r[a] = r[b] & imm */
    OP_XOR,   /* r[a] = r[b] ^ r[c] */
    OP_JLT,   /* if r[a] < r[b] goto imm */
    OP_JEQI,  /* if r[a] == b goto imm (b is a constant, not a register) */
    OP_JMP,   /* goto imm */
    OP_HALT,  /* return r[a] */
};

typedef struct {
    uint8_t op, a, b, c;
    int32_t imm;
} insn_t;

/* Registers: r0 = n, r1 = limit, r2 = x, r3 = steps, r4 = checksum,
 * r5 = scratch, r6 = constant 3, r7 = constant 31. After an odd x, 3x+1 is
 * even, so the odd path falls straight into the halving and counts the pair
 * as one step (the "shortcut" Collatz map). */
#define LIMIT_REG 1
static const insn_t program[] = {
    {OP_LOADI, 0, 0, 0, 1},  /*  0: n = 1 */
    {OP_LOADI, 4, 0, 0, 0},  /*  1: checksum = 0 */
    {OP_LOADI, 6, 0, 0, 3},  /*  2 */
    {OP_LOADI, 7, 0, 0, 31}, /*  3 */
    {OP_JLT, 0, 1, 0, 6},    /*  4: outer: if n < limit goto 6 */
    {OP_HALT, 4, 0, 0, 0},   /*  5: return checksum */
    {OP_MOV, 2, 0, 0, 0},    /*  6: x = n */
    {OP_LOADI, 3, 0, 0, 0},  /*  7: steps = 0 */
    {OP_JEQI, 2, 1, 0, 16},  /*  8: inner: if x == 1 goto 16 */
    {OP_ANDI, 5, 2, 0, 1},   /*  9 */
    {OP_JEQI, 5, 0, 0, 13},  /* 10: if x is even goto 13 */
    {OP_MUL, 2, 2, 6, 0},    /* 11: x = 3 * x */
    {OP_ADDI, 2, 2, 0, 1},   /* 12: x = x + 1 */
    {OP_SHRI, 2, 2, 0, 1},   /* 13: x = x / 2 */
    {OP_ADDI, 3, 3, 0, 1},   /* 14: steps++ */
    {OP_JMP, 0, 0, 0, 8},    /* 15 */
    {OP_MUL, 4, 4, 7, 0},    /* 16: checksum = checksum * 31 ^ steps */
    {OP_XOR, 4, 4, 3, 0},    /* 17 */
    {OP_ADDI, 0, 0, 0, 1},   /* 18: n++ */
    {OP_JMP, 0, 0, 0, 4},    /* 19 */
};

static uint64_t execute(const insn_t *code, uint64_t limit)
{
    uint64_t r[16] = {0};
    r[LIMIT_REG] = limit;
    uint32_t pc = 0;
    for (;;) {
        const insn_t *in = &code[pc++];
        switch (in->op) {
        case OP_LOADI: r[in->a] = (uint64_t)(int64_t)in->imm; break;
        case OP_MOV: r[in->a] = r[in->b]; break;
        case OP_ADD: r[in->a] = r[in->b] + r[in->c]; break;
        case OP_ADDI: r[in->a] = r[in->b] + (uint64_t)(int64_t)in->imm; break;
        case OP_MUL: r[in->a] = r[in->b] * r[in->c]; break;
        case OP_SHRI: r[in->a] = r[in->b] >> (in->imm & 63); break;
        case OP_ANDI: r[in->a] = r[in->b] & (uint64_t)(int64_t)in->imm; break;
        case OP_XOR: r[in->a] = r[in->b] ^ r[in->c]; break;
        case OP_JLT: if (r[in->a] < r[in->b]) pc = (uint32_t)in->imm; break;
        case OP_JEQI: if (r[in->a] == in->b) pc = (uint32_t)in->imm; break;
        case OP_JMP: pc = (uint32_t)in->imm; break;
        case OP_HALT: return r[in->a];
        default: return 0xbad;
        }
    }
}

static volatile uint32_t run_limit = 700000;
static volatile uint32_t check_limit = 300;

long long run(void)
{
    return (long long)execute(program, run_limit);
}

long long check(void)
{
    return (long long)execute(program, check_limit);
}
