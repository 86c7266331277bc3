/*
 * x64.c — the x86-64 assembler of the compiled tier (x64.h). Encodings
 * follow the Intel SDM volume 2: legacy prefix, REX (0100WRXB), opcode,
 * ModRM (mod reg rm), SIB (scale index base), displacement, immediate.
 */
#include "x64.h"

#include <stdlib.h>
#include <string.h>

static bool x_room(xbuf_t *b, size_t n)
{
    if (b->failed) return false;
    if (b->len + n <= b->cap) return true;
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + n) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void x_byte(xbuf_t *b, uint8_t v)
{
    if (x_room(b, 1)) b->p[b->len++] = v;
}

void x_u32(xbuf_t *b, uint32_t v)
{
    if (!x_room(b, 4)) return;
    memcpy(b->p + b->len, &v, 4); /* x86-64 is little-endian */
    b->len += 4;
}

void x_u64(xbuf_t *b, uint64_t v)
{
    if (!x_room(b, 8)) return;
    memcpy(b->p + b->len, &v, 8);
    b->len += 8;
}

void x_free(xbuf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static void x_rex(xbuf_t *b, int w, int reg, int index, int base)
{
    uint8_t rex = (uint8_t)(0x40 | (w ? 8 : 0) | ((reg >> 3) & 1) << 2 | ((index >> 3) & 1) << 1 |
                            ((base >> 3) & 1));
    if (rex != 0x40) x_byte(b, rex);
}

void x_rm_mem(xbuf_t *b, uint8_t pfx, int w, const uint8_t *op, int oplen, int reg, int base,
              int index, int32_t disp)
{
    if (pfx) x_byte(b, pfx);
    x_rex(b, w, reg, index < 0 ? 0 : index, base);
    for (int i = 0; i < oplen; i++) x_byte(b, op[i]);
    /* mod 00 with base rbp/r13 means rip-relative/disp32: use disp8 0 */
    int mod = (disp == 0 && (base & 7) != RBP) ? 0 : (disp >= -128 && disp <= 127) ? 1 : 2;
    bool sib = index >= 0 || (base & 7) == RSP;
    x_byte(b, (uint8_t)(mod << 6 | (reg & 7) << 3 | (sib ? 4 : (base & 7))));
    if (sib) x_byte(b, (uint8_t)(((index < 0 ? RSP : index) & 7) << 3 | (base & 7)));
    if (mod == 1) x_byte(b, (uint8_t)(int8_t)disp);
    if (mod == 2) x_u32(b, (uint32_t)disp);
}

void x_rm_reg(xbuf_t *b, uint8_t pfx, int w, const uint8_t *op, int oplen, int reg, int rm)
{
    if (pfx) x_byte(b, pfx);
    x_rex(b, w, reg, 0, rm);
    for (int i = 0; i < oplen; i++) x_byte(b, op[i]);
    x_byte(b, (uint8_t)(0xC0 | (reg & 7) << 3 | (rm & 7)));
}

void x_load(xbuf_t *b, int size, bool sign, bool dst64, int reg, int base, int index, int32_t disp)
{
    static const uint8_t movzx8[] = {0x0F, 0xB6}, movzx16[] = {0x0F, 0xB7}, movsx8[] = {0x0F, 0xBE},
                         movsx16[] = {0x0F, 0xBF}, movsxd[] = {0x63}, mov[] = {0x8B};
    switch (size) {
    case 1: x_rm_mem(b, 0, sign && dst64, sign ? movsx8 : movzx8, 2, reg, base, index, disp); break;
    case 2: x_rm_mem(b, 0, sign && dst64, sign ? movsx16 : movzx16, 2, reg, base, index, disp); break;
    case 4:
        if (sign && dst64)
            x_rm_mem(b, 0, 1, movsxd, 1, reg, base, index, disp);
        else
            x_rm_mem(b, 0, 0, mov, 1, reg, base, index, disp); /* zero-extends to 64 */
        break;
    default: x_rm_mem(b, 0, 1, mov, 1, reg, base, index, disp); break;
    }
}

void x_store(xbuf_t *b, int size, int reg, int base, int index, int32_t disp)
{
    static const uint8_t mov8[] = {0x88}, mov[] = {0x89};
    switch (size) {
    case 1: x_rm_mem(b, 0, 0, mov8, 1, reg, base, index, disp); break; /* reg < 4: al, cl, dl, bl */
    case 2: x_rm_mem(b, 0x66, 0, mov, 1, reg, base, index, disp); break;
    case 4: x_rm_mem(b, 0, 0, mov, 1, reg, base, index, disp); break;
    default: x_rm_mem(b, 0, 1, mov, 1, reg, base, index, disp); break;
    }
}

void x_mov_imm64(xbuf_t *b, int reg, uint64_t v)
{
    if (v <= 0xffffffffu) { /* mov r32, imm32 zero-extends */
        x_rex(b, 0, 0, 0, reg);
        x_byte(b, (uint8_t)(0xB8 + (reg & 7)));
        x_u32(b, (uint32_t)v);
    } else if ((int64_t)v >= INT32_MIN && (int64_t)v <= INT32_MAX) { /* mov r64, simm32: C7 /0 */
        static const uint8_t op[] = {0xC7};
        x_rm_reg(b, 0, 1, op, 1, 0, reg);
        x_u32(b, (uint32_t)v);
    } else {
        x_rex(b, 1, 0, 0, reg);
        x_byte(b, (uint8_t)(0xB8 + (reg & 7)));
        x_u64(b, v);
    }
}

void x_mov_rr(xbuf_t *b, int w, int dst, int src)
{
    static const uint8_t op[] = {0x89};
    x_rm_reg(b, 0, w, op, 1, src, dst);
}

void x_lea(xbuf_t *b, int dst, int base, int index, int32_t disp)
{
    static const uint8_t op[] = {0x8D};
    x_rm_mem(b, 0, 1, op, 1, dst, base, index, disp);
}

void x_alu_rr(xbuf_t *b, int w, int alu, int dst, int src)
{
    uint8_t op = (uint8_t)(alu << 3 | 0x01); /* op r/m, r */
    x_rm_reg(b, 0, w, &op, 1, src, dst);
}

void x_alu_ri(xbuf_t *b, int w, int alu, int dst, int32_t imm)
{
    if (imm >= -128 && imm <= 127) {
        static const uint8_t op[] = {0x83};
        x_rm_reg(b, 0, w, op, 1, alu, dst);
        x_byte(b, (uint8_t)(int8_t)imm);
    } else {
        static const uint8_t op[] = {0x81};
        x_rm_reg(b, 0, w, op, 1, alu, dst);
        x_u32(b, (uint32_t)imm);
    }
}

void x_alu_rm(xbuf_t *b, int w, int alu, int dst, int base, int32_t disp)
{
    uint8_t op = (uint8_t)(alu << 3 | 0x03); /* op r, r/m */
    x_rm_mem(b, 0, w, &op, 1, dst, base, -1, disp);
}

void x_imul_rr(xbuf_t *b, int w, int dst, int src)
{
    static const uint8_t op[] = {0x0F, 0xAF};
    x_rm_reg(b, 0, w, op, 2, dst, src);
}

void x_shift_cl(xbuf_t *b, int w, int sh, int dst)
{
    static const uint8_t op[] = {0xD3};
    x_rm_reg(b, 0, w, op, 1, sh, dst);
}

void x_shift_imm(xbuf_t *b, int w, int sh, int dst, uint8_t n)
{
    static const uint8_t op[] = {0xC1};
    x_rm_reg(b, 0, w, op, 1, sh, dst);
    x_byte(b, n);
}

void x_test_rr(xbuf_t *b, int w, int a, int c)
{
    static const uint8_t op[] = {0x85};
    x_rm_reg(b, 0, w, op, 1, c, a);
}

void x_setcc_movzx(xbuf_t *b, int cc, int reg)
{
    uint8_t set[] = {0x0F, (uint8_t)(0x90 | cc)};
    x_rm_reg(b, 0, 0, set, 2, 0, reg);
    static const uint8_t movzx[] = {0x0F, 0xB6};
    x_rm_reg(b, 0, 0, movzx, 2, reg, reg);
}

void x_push(xbuf_t *b, int reg)
{
    x_rex(b, 0, 0, 0, reg);
    x_byte(b, (uint8_t)(0x50 + (reg & 7)));
}

void x_pop(xbuf_t *b, int reg)
{
    x_rex(b, 0, 0, 0, reg);
    x_byte(b, (uint8_t)(0x58 + (reg & 7)));
}

void x_ret(xbuf_t *b)
{
    x_byte(b, 0xC3);
}

void x_call_mem(xbuf_t *b, int base, int32_t disp)
{
    static const uint8_t op[] = {0xFF};
    x_rm_mem(b, 0, 0, op, 1, 2, base, -1, disp);
}

size_t x_jcc(xbuf_t *b, int cc)
{
    x_byte(b, 0x0F);
    x_byte(b, (uint8_t)(0x80 | cc));
    size_t at = b->len;
    x_u32(b, 0);
    return at;
}

size_t x_jmp(xbuf_t *b)
{
    x_byte(b, 0xE9);
    size_t at = b->len;
    x_u32(b, 0);
    return at;
}

void x_patch(xbuf_t *b, size_t disp_at, size_t target)
{
    if (b->failed) return;
    int32_t rel = (int32_t)((int64_t)target - (int64_t)(disp_at + 4));
    memcpy(b->p + disp_at, &rel, 4);
}

void x_sse_mem(xbuf_t *b, bool dbl, uint8_t op, int xmm, int base, int32_t disp)
{
    uint8_t ops[] = {0x0F, op};
    x_rm_mem(b, dbl ? 0xF2 : 0xF3, 0, ops, 2, xmm, base, -1, disp);
}
