/*
 * regcache.h — which frame slots the compiled tier holds in registers
 * (docs/jit.md, "Registers as built"). jit.c's templates read and write
 * slots only through these functions; the cache decides whether a slot
 * is in a register or in memory and emits the moves.
 *
 * Invariants:
 * - A slot is in at most one register. A clean entry equals the slot in
 *   memory; a dirty one is newer and reaches memory only by rc_sync or
 *   by eviction (both are plain stores, which leave the flags alone).
 * - A general register holding a slot written with 4 bytes has its upper
 *   half zero; the slot's upper half in memory may then differ from the
 *   interpreter's, which no op reads (a 32-bit value's upper half is read
 *   only by the typeless 8-byte copies, and what they copy is read back
 *   as 32 bits).
 * - Pinned entries are a loop's locals (jit.c): they stay in their
 *   register from the loop's entry to its exit and are written back where
 *   the caller asks (exits, calls, returns), as wide as the loop accesses
 *   them.
 * - While `off` is set (a helper call's setup and the call), reads and
 *   writes go to memory: the caller synced and dropped everything first.
 * - rax, rcx, xmm0 and xmm1 are the templates' scratch registers and are
 *   never cached; every cache register is treated as caller-saved (rbp
 *   too, though compiled code saves it), so every call of a helper or a
 *   function is preceded by rc_sync and rc_drop.
 */
#ifndef WEFT_ENGINE_JIT_REGCACHE_H
#define WEFT_ENGINE_JIT_REGCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "x64.h"

/* Slot i of the frame is at [rbx + SLOT(i)]. */
#define SLOT(i) ((int32_t)(8 * (int64_t)(i)))

enum { RC_NGP = 8, RC_NXMM = 14, RC_N = RC_NGP + RC_NXMM };

typedef struct {
    int64_t slot;   /* -1: free */
    uint8_t width;  /* bytes a write-back stores (4 or 8) */
    bool dirty;     /* newer than the slot in memory */
    bool pinned;    /* a loop's local, kept until rc_unpin */
    uint32_t stamp; /* last use, for eviction */
} rc_entry_t;

/* One slot access, recorded while `tag` >= 0 (jit.c tags the accesses
 * of an innermost loop to choose what to pin). */
typedef struct {
    int32_t tag;
    uint32_t slot;
    bool xmm, wide; /* read or written as a float; with 8 bytes */
} rc_note_t;

/* The slots that the code from a loop header (`head`, a cell) overwrites
 * before it reads them: dead on every branch back to it. */
enum { RC_DEAD_MAX = 16 };
typedef struct {
    size_t head;
    uint32_t n, slot[RC_DEAD_MAX];
} rc_dead_t;

typedef struct {
    xbuf_t *b;
    rc_entry_t e[RC_N]; /* [0, RC_NGP) general registers, then xmm */
    uint32_t clock;
    bool off;
    int32_t tag;        /* -1: no recording */
    rc_note_t *notes;   /* owned; freed by rc_fini */
    size_t nnotes, notes_cap;
    bool failed;        /* out of memory while recording */
    /* The scan of the header being emitted (rc_scan_begin): the slots
     * written first (dead) and those read first; then the finished ones. */
    bool scanning;
    rc_dead_t scan;
    uint32_t nread, read[RC_DEAD_MAX];
    rc_dead_t *dead; /* owned; freed by rc_fini */
    size_t ndead, dead_cap;
} rcache_t;

void rc_init(rcache_t *rc, xbuf_t *b); /* empty, not recording */
void rc_fini(rcache_t *rc);

/* Templates' accesses. reg is a general register (rax or rcx), xmm an xmm
 * register number (0 or 1); size 4 or 8. */
void rc_gp(rcache_t *rc, int size, int reg, uint32_t slot);        /* reg = slot */
void rc_xmm(rcache_t *rc, bool dbl, int xmm, uint32_t slot);       /* xmm = slot */
/* The general register holding slot, to be read in place (not written),
 * or -1 when it is not in one: the read is recorded as rc_gp's is. */
int rc_gp_cached(rcache_t *rc, int size, uint32_t slot);
void rc_set_gp(rcache_t *rc, int size, int reg, uint32_t slot);    /* slot = reg */
void rc_set_xmm(rcache_t *rc, bool dbl, int xmm, uint32_t slot);   /* slot = xmm */
void rc_alu(rcache_t *rc, int w, int alu, int reg, uint32_t slot); /* reg op= slot */
void rc_test_zero(rcache_t *rc, uint32_t slot); /* ZF: the slot's 32 bits are 0 */

/* A register of the kind (general, or xmm) to compute slot d's new value
 * in directly, or -1 when the template must use its scratch register and
 * rc_set_*: d's own register (pinned or cached), or one taken for it that
 * holds neither slot a nor slot b (the template reads both after it
 * starts writing the register; -1: no such operand) and, when d is a,
 * is loaded with its `size` bytes. d must not be b unless it is a.
 * rc_dest_done then marks d written with `size` bytes. */
int rc_dest(rcache_t *rc, bool xmm, int size, uint32_t d, int64_t a, int64_t b);
void rc_dest_done(rcache_t *rc, uint32_t d, int size);

/* Control: write back dirty entries (pinned ones too if `pinned`); forget
 * the unpinned ones; mark every pinned one dirty (a label: some path to it
 * may have changed them); pin a slot in a register of the kind, loaded
 * from memory with 8 bytes if `wide`, else 4 (a load as wide as the
 * stores before it, which the CPU forwards; false when the kind's
 * registers are all pinned or the slot is pinned already); reload every
 * pinned one from memory (after a call); unpin all (after writing them
 * back). */
void rc_sync(rcache_t *rc, bool pinned);
/* What rc_sync(rc, pinned) would store, recorded instead (at most RC_N)
 * for code emitted elsewhere (jit.c: a branch's out-of-line write-back);
 * the cache is unchanged. rc_store emits one of them. */
typedef struct {
    bool xmm;
    uint8_t reg, width;
    uint32_t slot;
} rc_store_t;
int rc_dirty(const rcache_t *rc, bool pinned, rc_store_t *out);
void rc_store(xbuf_t *b, const rc_store_t *st);
void rc_drop(rcache_t *rc);
void rc_pinned_dirty(rcache_t *rc);
bool rc_pin(rcache_t *rc, uint32_t slot, bool xmm, bool wide);
/* rc_pin of a slot already in a register of the kind, before the label's
 * sync: pinned where it is, with no store and reload (a 4-byte store
 * reloaded with 8 bytes cannot be forwarded and stalls); false when it
 * is not cached there or the kind's pins are taken. */
bool rc_pin_cached(rcache_t *rc, uint32_t slot, bool xmm, bool wide);
void rc_reload_pinned(rcache_t *rc);
void rc_unpin(rcache_t *rc);

/* Dead slots at a loop header. rc_scan_begin(head) records, from the
 * header on, which slots the templates write before reading them, until
 * the next sync or drop: a branch, a label, a call or a return ends the
 * scan, since past it the paths from the header part, or slots are read
 * in memory behind the cache (a helper, a callee, the caller after a
 * return; jit.c ends it at every branch, also one whose
 * write-back is out of line). Traps on the way read nothing: the frame is dropped. So a slot
 * found written first is written on every path from the header before
 * any read, and a branch back to it need not store it: rc_sync_dead is
 * rc_sync(pinned) that leaves such unpinned entries dirty in their
 * registers (for the fall-through), or a plain rc_sync when head has no
 * finished scan. */
void rc_scan_begin(rcache_t *rc, size_t head);
void rc_scan_end(rcache_t *rc); /* at every branch and return (jit.c) */
void rc_sync_dead(rcache_t *rc, bool pinned, size_t head);

#endif
