/*
 * regcache.c — the compiled tier's register cache (regcache.h): frame
 * slots kept in caller-saved registers between templates, written back
 * lazily. jit.c decides where the cache must be synced or dropped
 * (labels, branches, calls); this file only keeps the map and emits the
 * moves, so a template reads the same whether its operand is in memory,
 * in a general register or in an xmm register.
 */
#include "regcache.h"

#include <stdlib.h>

/* The cache registers: the ones the templates do not use as scratch
 * (rax, rcx, xmm0, xmm1) and that are not the machine state (rbx,
 * r12-r15). rdx, rsi, rdi and r8 carry helpers' arguments: every helper
 * call is preceded by a sync and a drop. rbp, the one callee-saved
 * register among them, is saved by every compiled function's internal
 * entry and treated as caller-saved like the others. */
static const int8_t gp_regs[RC_NGP] = {RDX, RSI, RDI, R8, R9, R10, R11, RBP};
/* At most this many of each kind are pinned, so that temporaries keep a
 * few registers. */
enum { PIN_GP = RC_NGP - 3, PIN_XMM = RC_NXMM - 4 };

static bool is_xmm(int e)
{
    return e >= RC_NGP;
}

static int reg_of(int e) /* the register number: general or xmm */
{
    return is_xmm(e) ? e - RC_NGP + 2 : gp_regs[e];
}

void rc_init(rcache_t *rc, xbuf_t *b)
{
    *rc = (rcache_t){.b = b, .tag = -1};
    for (int e = 0; e < RC_N; e++) rc->e[e].slot = -1;
}

void rc_fini(rcache_t *rc)
{
    free(rc->notes);
    rc->notes = NULL;
    free(rc->dead);
    rc->dead = NULL;
}

/* ---- dead slots at loop headers (rc_scan_begin) -------------------------- */

static bool listed(const uint32_t *v, uint32_t n, uint32_t slot)
{
    for (uint32_t k = 0; k < n; k++)
        if (v[k] == slot) return true;
    return false;
}

void rc_scan_end(rcache_t *rc)
{
    if (!rc->scanning) return;
    rc->scanning = false;
    if (!rc->scan.n) return;
    if (rc->ndead == rc->dead_cap) {
        size_t cap = rc->dead_cap ? rc->dead_cap * 2 : 8;
        rc_dead_t *p = realloc(rc->dead, cap * sizeof *p);
        if (!p) return; /* not recorded: the branches back store everything */
        rc->dead = p;
        rc->dead_cap = cap;
    }
    rc->dead[rc->ndead++] = rc->scan;
}

/* A read (write) of slot by the template being emitted. A full list ends
 * the scan: fewer dead slots is always safe. */
static void scan_access(rcache_t *rc, uint32_t slot, bool write)
{
    if (!rc->scanning) return;
    if (rc->off) { /* in memory behind the cache: ended by the sync before, but be sure */
        rc_scan_end(rc);
        return;
    }
    if (listed(rc->scan.slot, rc->scan.n, slot) || listed(rc->read, rc->nread, slot)) return;
    if (write && rc->scan.n < RC_DEAD_MAX)
        rc->scan.slot[rc->scan.n++] = slot;
    else if (!write && rc->nread < RC_DEAD_MAX)
        rc->read[rc->nread++] = slot;
    else
        rc_scan_end(rc);
}

void rc_scan_begin(rcache_t *rc, size_t head)
{
    rc_scan_end(rc);
    rc->scanning = true;
    rc->scan.head = head;
    rc->scan.n = 0;
    rc->nread = 0;
}

static void note(rcache_t *rc, uint32_t slot, bool xmm, int size)
{
    if (rc->tag < 0) return;
    if (rc->nnotes == rc->notes_cap) {
        size_t cap = rc->notes_cap ? rc->notes_cap * 2 : 64;
        rc_note_t *p = realloc(rc->notes, cap * sizeof *p);
        if (!p) {
            rc->failed = true;
            return;
        }
        rc->notes = p;
        rc->notes_cap = cap;
    }
    rc->notes[rc->nnotes++] = (rc_note_t){rc->tag, slot, xmm, size == 8};
}

/* ---- moves between registers -------------------------------------------- */

static void movaps(xbuf_t *b, int dst, int src) /* xmm dst = xmm src, all 128 bits */
{
    static const uint8_t op[] = {0x0F, 0x28};
    if (dst != src) x_rm_reg(b, 0, 0, op, 2, dst, src);
}

static void movq_to_xmm(xbuf_t *b, bool q, int xmm, int gp) /* movd/movq xmm, r32/r64 */
{
    static const uint8_t op[] = {0x0F, 0x6E};
    x_rm_reg(b, 0x66, q, op, 2, xmm, gp);
}

static void movq_to_gp(xbuf_t *b, bool q, int gp, int xmm) /* movd/movq r32/r64, xmm */
{
    static const uint8_t op[] = {0x0F, 0x7E};
    x_rm_reg(b, 0x66, q, op, 2, xmm, gp);
}

/* ---- the map ------------------------------------------------------------- */

static int find(const rcache_t *rc, uint32_t slot)
{
    for (int e = 0; e < RC_N; e++)
        if (rc->e[e].slot == (int64_t)slot) return e;
    return -1;
}

static void touch(rcache_t *rc, int e)
{
    rc->e[e].stamp = ++rc->clock;
}

static void write_back(rcache_t *rc, int e)
{
    rc_entry_t *c = &rc->e[e];
    if (!c->dirty) return;
    if (is_xmm(e))
        x_sse_mem(rc->b, c->width == 8, 0x11, reg_of(e), RBX, SLOT(c->slot));
    else
        x_store(rc->b, c->width, reg_of(e), RBX, NO_REG, SLOT(c->slot));
    c->dirty = false;
}

static void load(rcache_t *rc, int e) /* the register = the slot in memory, `width` bytes */
{
    const rc_entry_t *c = &rc->e[e];
    if (is_xmm(e))
        x_sse_mem(rc->b, c->width == 8, 0x10, reg_of(e), RBX, SLOT(c->slot));
    else
        x_load(rc->b, c->width, false, c->width == 8, reg_of(e), RBX, NO_REG, SLOT(c->slot));
}

/* A register of the kind for slot (not cached, or cached unpinned in the
 * other kind, which is dropped: the caller overwrites the whole value):
 * a free one, else the least recently used unpinned one, written back. */
static int take(rcache_t *rc, bool xmm, uint32_t slot)
{
    int e = find(rc, slot);
    if (e >= 0) {
        if (is_xmm(e) == xmm) return e;
        rc->e[e].slot = -1;
    }
    int lo = xmm ? RC_NGP : 0, hi = xmm ? RC_N : RC_NGP, victim = -1;
    for (e = lo; e < hi; e++) {
        if (rc->e[e].slot < 0) return e;
        if (!rc->e[e].pinned && (victim < 0 || rc->e[e].stamp < rc->e[victim].stamp)) victim = e;
    }
    write_back(rc, victim); /* PIN_GP/PIN_XMM leave one unpinned */
    rc->e[victim].slot = -1;
    return victim;
}

/* ---- templates' accesses ------------------------------------------------- */

void rc_gp(rcache_t *rc, int size, int reg, uint32_t slot)
{
    int e = rc->off ? -1 : find(rc, slot);
    note(rc, slot, false, size);
    scan_access(rc, slot, false);
    if (e < 0) {
        x_load(rc->b, size, false, size == 8, reg, RBX, NO_REG, SLOT(slot));
        return;
    }
    touch(rc, e);
    if (is_xmm(e))
        movq_to_gp(rc->b, size == 8, reg, reg_of(e));
    else if (reg != reg_of(e))
        x_mov_rr(rc->b, size == 8, reg, reg_of(e)); /* a 32-bit mov zero-extends, as the load */
}

int rc_gp_cached(rcache_t *rc, int size, uint32_t slot)
{
    int e = rc->off ? -1 : find(rc, slot);
    if (e < 0 || is_xmm(e)) return -1;
    note(rc, slot, false, size);
    scan_access(rc, slot, false);
    touch(rc, e);
    return reg_of(e);
}

void rc_xmm(rcache_t *rc, bool dbl, int xmm, uint32_t slot)
{
    int e = rc->off ? -1 : find(rc, slot);
    note(rc, slot, true, dbl ? 8 : 4);
    scan_access(rc, slot, false);
    if (e < 0) {
        x_sse_mem(rc->b, dbl, 0x10, xmm, RBX, SLOT(slot));
        return;
    }
    touch(rc, e);
    if (is_xmm(e))
        movaps(rc->b, xmm, reg_of(e));
    else
        movq_to_xmm(rc->b, dbl, xmm, reg_of(e));
}

/* slot = the value in reg (general) or xmm, `size` bytes of it. */
static void set(rcache_t *rc, bool from_xmm, int size, int reg, uint32_t slot)
{
    note(rc, slot, from_xmm, size);
    scan_access(rc, slot, true);
    if (rc->off) {
        if (from_xmm)
            x_sse_mem(rc->b, size == 8, 0x11, reg, RBX, SLOT(slot));
        else
            x_store(rc->b, size, reg, RBX, NO_REG, SLOT(slot));
        return;
    }
    int e = find(rc, slot);
    if (e < 0 || !rc->e[e].pinned) {
        e = take(rc, from_xmm, slot);
        rc->e[e] = (rc_entry_t){.slot = slot, .width = (uint8_t)size};
    }
    /* a pinned entry keeps its register (and widens if need be) */
    if (size > rc->e[e].width) rc->e[e].width = (uint8_t)size;
    int r = reg_of(e);
    if (is_xmm(e) && from_xmm)
        movaps(rc->b, r, reg);
    else if (is_xmm(e))
        movq_to_xmm(rc->b, size == 8, r, reg);
    else if (from_xmm)
        movq_to_gp(rc->b, size == 8, r, reg);
    else
        x_mov_rr(rc->b, size == 8, r, reg);
    rc->e[e].dirty = true;
    touch(rc, e);
}

void rc_set_gp(rcache_t *rc, int size, int reg, uint32_t slot)
{
    set(rc, false, size, reg, slot);
}

void rc_set_xmm(rcache_t *rc, bool dbl, int xmm, uint32_t slot)
{
    set(rc, true, dbl ? 8 : 4, xmm, slot);
}

void rc_alu(rcache_t *rc, int w, int alu, int reg, uint32_t slot)
{
    int e = rc->off ? -1 : find(rc, slot);
    note(rc, slot, false, w ? 8 : 4);
    scan_access(rc, slot, false);
    if (e >= 0 && !is_xmm(e)) {
        touch(rc, e);
        x_alu_rr(rc->b, w, alu, reg, reg_of(e));
        return;
    }
    if (e >= 0) write_back(rc, e); /* rare: an integer op on a float's bits */
    x_alu_rm(rc->b, w, alu, reg, RBX, SLOT(slot));
}

void rc_test_zero(rcache_t *rc, uint32_t slot)
{
    int e = rc->off ? -1 : find(rc, slot);
    note(rc, slot, false, 4);
    scan_access(rc, slot, false);
    if (e >= 0 && !is_xmm(e)) {
        touch(rc, e);
        x_test_rr(rc->b, 0, reg_of(e), reg_of(e));
        return;
    }
    if (e >= 0) write_back(rc, e);
    static const uint8_t op[] = {0x83}; /* cmp dword [fp + slot], 0 */
    x_rm_mem(rc->b, 0, 0, op, 1, ALU_CMP, RBX, NO_REG, SLOT(slot));
    x_byte(rc->b, 0);
}

int rc_dest(rcache_t *rc, bool xmm, int size, uint32_t d, int64_t a, int64_t b)
{
    if (rc->off || ((int64_t)d == b && (int64_t)d != a)) return -1;
    if ((int64_t)d == a) scan_access(rc, d, false); /* its register starts as a */
    int e = find(rc, d);
    if (e >= 0) return is_xmm(e) == xmm ? reg_of(e) : -1; /* the other kind: maybe a's value */
    int lo = xmm ? RC_NGP : 0, hi = xmm ? RC_N : RC_NGP, victim = -1;
    for (e = lo; e < hi; e++) {
        const rc_entry_t *c = &rc->e[e];
        if (c->slot < 0) break;
        if (!c->pinned && c->slot != a && c->slot != b && (victim < 0 || c->stamp < rc->e[victim].stamp))
            victim = e;
    }
    if (e == hi) {
        if (victim < 0) return -1;
        write_back(rc, victim);
        e = victim;
    }
    rc->e[e] = (rc_entry_t){.slot = d, .width = (uint8_t)size};
    if ((int64_t)d == a) load(rc, e); /* the template finds its operand there */
    touch(rc, e);
    return reg_of(e);
}

void rc_dest_done(rcache_t *rc, uint32_t d, int size)
{
    int e = find(rc, d);
    note(rc, d, is_xmm(e), size);
    scan_access(rc, d, true);
    rc_entry_t *c = &rc->e[e];
    if (!c->pinned || size > c->width) c->width = (uint8_t)size;
    c->dirty = true;
    touch(rc, e);
}

/* ---- control ------------------------------------------------------------- */

void rc_sync(rcache_t *rc, bool pinned)
{
    rc_scan_end(rc);
    for (int e = 0; e < RC_N; e++)
        if (rc->e[e].slot >= 0 && (pinned || !rc->e[e].pinned)) write_back(rc, e);
}

int rc_dirty(const rcache_t *rc, bool pinned, rc_store_t *out)
{
    int n = 0;
    for (int e = 0; e < RC_N; e++) {
        const rc_entry_t *c = &rc->e[e];
        if (c->slot >= 0 && c->dirty && (pinned || !c->pinned))
            out[n++] = (rc_store_t){is_xmm(e), (uint8_t)reg_of(e), c->width, (uint32_t)c->slot};
    }
    return n;
}

void rc_store(xbuf_t *b, const rc_store_t *st)
{
    if (st->xmm)
        x_sse_mem(b, st->width == 8, 0x11, st->reg, RBX, SLOT(st->slot));
    else
        x_store(b, st->width, st->reg, RBX, NO_REG, SLOT(st->slot));
}

void rc_sync_dead(rcache_t *rc, bool pinned, size_t head)
{
    rc_scan_end(rc);
    const rc_dead_t *d = NULL;
    for (size_t k = rc->ndead; k-- > 0 && !d;)
        if (rc->dead[k].head == head) d = &rc->dead[k];
    for (int e = 0; e < RC_N; e++) {
        const rc_entry_t *c = &rc->e[e];
        if (c->slot < 0 || (c->pinned && !pinned)) continue;
        if (d && !c->pinned && listed(d->slot, d->n, (uint32_t)c->slot)) continue; /* dead there */
        write_back(rc, e);
    }
}

void rc_drop(rcache_t *rc)
{
    rc_scan_end(rc);
    for (int e = 0; e < RC_N; e++)
        if (!rc->e[e].pinned) rc->e[e].slot = -1;
}

void rc_pinned_dirty(rcache_t *rc)
{
    for (int e = 0; e < RC_N; e++)
        if (rc->e[e].pinned) rc->e[e].dirty = true;
}

bool rc_pin(rcache_t *rc, uint32_t slot, bool xmm, bool wide)
{
    int e = find(rc, slot), n = 0;
    if (e >= 0 && rc->e[e].pinned) return false;
    for (int k = xmm ? RC_NGP : 0; k < (xmm ? RC_N : RC_NGP); k++) n += rc->e[k].pinned;
    if (n >= (xmm ? PIN_XMM : PIN_GP)) return false;
    if (e >= 0) { /* cached unpinned: to memory, then pinned afresh */
        write_back(rc, e);
        rc->e[e].slot = -1;
    }
    e = take(rc, xmm, slot);
    rc->e[e] = (rc_entry_t){.slot = slot, .width = wide ? 8 : 4, .pinned = true};
    load(rc, e);
    touch(rc, e);
    return true;
}

bool rc_pin_cached(rcache_t *rc, uint32_t slot, bool xmm, bool wide)
{
    int e = find(rc, slot), n = 0;
    if (e < 0 || rc->e[e].pinned || is_xmm(e) != xmm) return false;
    for (int k = xmm ? RC_NGP : 0; k < (xmm ? RC_N : RC_NGP); k++) n += rc->e[k].pinned;
    if (n >= (xmm ? PIN_XMM : PIN_GP)) return false;
    rc_entry_t *c = &rc->e[e];
    c->pinned = true;
    if (wide) c->width = 8; /* a 4-byte value's upper half is zero in the register */
    touch(rc, e);
    return true;
}

void rc_reload_pinned(rcache_t *rc)
{
    for (int e = 0; e < RC_N; e++)
        if (rc->e[e].pinned) {
            load(rc, e);
            rc->e[e].dirty = false;
        }
}

void rc_unpin(rcache_t *rc)
{
    for (int e = 0; e < RC_N; e++)
        if (rc->e[e].pinned) rc->e[e] = (rc_entry_t){.slot = -1};
}
