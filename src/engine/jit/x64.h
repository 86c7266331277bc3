/*
 * x64.h — a small x86-64 assembler: the instruction forms the compiled tier
 * uses (docs/jit.md), written into a growable byte buffer. Only what the
 * templates need is here; each function names the instruction it encodes.
 *
 * Memory operands are [base + disp] or [base + index + disp] (scale 1).
 * Errors: a buffer that cannot grow sets `failed` and drops further bytes;
 * the caller checks it once at the end (jit.c then leaves the function to
 * the interpreter).
 */
#ifndef WEFT_ENGINE_JIT_X64_H
#define WEFT_ENGINE_JIT_X64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
    R8, R9, R10, R11, R12, R13, R14, R15,
};
#define NO_REG (-1)

/* Condition codes (the low nibble of Jcc and SETcc). */
enum {
    CC_O = 0, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A,
    CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G,
};

/* Arithmetic group numbers: the /digit of 81 /n and the opcode row. */
enum { ALU_ADD = 0, ALU_OR = 1, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7 };
/* Shift group numbers: the /digit of D3 /n. */
enum { SH_ROL = 0, SH_ROR = 1, SH_SHL = 4, SH_SHR = 5, SH_SAR = 7 };

typedef struct {
    uint8_t *p;
    size_t len, cap;
    bool failed;
} xbuf_t;

void x_byte(xbuf_t *b, uint8_t v);
void x_u32(xbuf_t *b, uint32_t v);
void x_u64(xbuf_t *b, uint64_t v);
void x_free(xbuf_t *b);

/* Generic encoders. `pfx` is a mandatory or size prefix (0x66, 0xF2,
 * 0xF3) or 0; `w` sets REX.W; op is one to three opcode bytes. */
void x_rm_mem(xbuf_t *b, uint8_t pfx, int w, const uint8_t *op, int oplen, int reg, int base,
              int index, int32_t disp);
void x_rm_reg(xbuf_t *b, uint8_t pfx, int w, const uint8_t *op, int oplen, int reg, int rm);

/* Loads and stores of general registers: size 1, 2, 4 or 8 bytes. */
void x_load(xbuf_t *b, int size, bool sign, bool dst64, int reg, int base, int index, int32_t disp);
void x_store(xbuf_t *b, int size, int reg, int base, int index, int32_t disp);
void x_mov_imm64(xbuf_t *b, int reg, uint64_t v);      /* mov r64, imm (shortest form) */
void x_mov_rr(xbuf_t *b, int w, int dst, int src);     /* mov dst, src */
void x_lea(xbuf_t *b, int dst, int base, int index, int32_t disp);
void x_alu_rr(xbuf_t *b, int w, int alu, int dst, int src);      /* dst op= src */
void x_alu_ri(xbuf_t *b, int w, int alu, int dst, int32_t imm);  /* dst op= imm (sign-extended) */
void x_alu_rm(xbuf_t *b, int w, int alu, int dst, int base, int32_t disp); /* dst op= [m] */
void x_imul_rr(xbuf_t *b, int w, int dst, int src);
void x_shift_cl(xbuf_t *b, int w, int sh, int dst);   /* dst <<= cl etc. */
void x_shift_imm(xbuf_t *b, int w, int sh, int dst, uint8_t n); /* dst <<= n etc. */
void x_test_rr(xbuf_t *b, int w, int a, int c);
void x_setcc_movzx(xbuf_t *b, int cc, int reg);       /* reg = cc ? 1 : 0 (reg < 4) */
void x_push(xbuf_t *b, int reg);
void x_pop(xbuf_t *b, int reg);
void x_ret(xbuf_t *b);
void x_call_mem(xbuf_t *b, int base, int32_t disp);   /* call qword [base + disp] */
/* Jumps with a 32-bit displacement; return the offset of the displacement
 * for x_patch (target unknown yet), or jump to a known offset. */
size_t x_jcc(xbuf_t *b, int cc);
size_t x_jmp(xbuf_t *b);
void x_patch(xbuf_t *b, size_t disp_at, size_t target);
/* SSE scalar: op is the second opcode byte after 0F (0x10 load, 0x11 store,
 * 0x58 add, 0x59 mul, 0x5C sub, 0x5E div, 0x51 sqrt); dbl picks F2 (f64)
 * over F3 (f32). */
void x_sse_mem(xbuf_t *b, bool dbl, uint8_t op, int xmm, int base, int32_t disp);

#endif
