/*
 * guard.h — the store's fault guard (guard.c), private to src/store/.
 *
 * LMDB reads its data file through a memory map and keeps no checksums, so a
 * damaged data.mdb makes it read past the end of the file (SIGBUS), follow a
 * wild offset (SIGSEGV) or fail one of its own assertions (abort). Every
 * LMDB call that reads pages runs under a guard (STORE_GUARDED): a SIGBUS or
 * SIGSEGV whose address lies in the guarded database's map, or an LMDB
 * assertion, jumps back to the guard, which then yields STORE_FAULT and the
 * text of what happened (store_fault_text) instead of killing the process.
 *
 * Limits: the guard state is per thread (a fault is caught only by the
 * thread that runs the guarded call); only faults inside the map (or an
 * unmapped address at most STORE_MAP_SLACK bytes past its end) or in the
 * first STORE_NULL_PAGES bytes of the address space (a NULL pointer that
 * damaged flags made LMDB follow: never mapped on Linux) are caught,
 * every other fault goes on to the handler installed before (or the
 * default action: the process dies as it would have); a SIGBUS or SIGSEGV
 * handler that other code installs after the first store_open replaces
 * the guard's (chain to it, as guard.c does, to keep both); and the LMDB call
 * that faulted is abandoned half-way, so the transaction it belonged to
 * must be aborted and never used again (db.c kills it).
 */
#ifndef WEFT_STORE_GUARD_H
#define WEFT_STORE_GUARD_H

#include <lmdb.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

/* What a guarded call returns when it faulted; outside LMDB's codes. */
#define STORE_FAULT (-30000)
/* A page-relative offset (node offsets and key sizes are 16-bit) reaches
 * at most this far past a page: faults there belong to the map too. */
#define STORE_MAP_SLACK ((uintptr_t)256 << 10)
/* Linux never maps the first 64 KiB (vm.mmap_min_addr's default). */
#define STORE_NULL_PAGES ((uintptr_t)64 << 10)

/* The address range of a data file's map. */
typedef struct {
    uintptr_t lo, hi; /* [lo, hi): the map; lo == hi when unknown */
} store_map_t;

typedef struct store_guard {
    sigjmp_buf jb;
    struct store_guard *prev; /* the guard this one nests in */
    uintptr_t lo, hi;         /* faults in [lo, hi) are caught */
} store_guard_t;

/* Installs the SIGBUS/SIGSEGV handlers once per process (pthread_once);
 * and sets env's assertion callback. Returns 0 or an errno. */
int store_guard_setup(MDB_env *env);
/* Enters g for map (NULL: catch assertions only). */
void store_guard_enter(store_guard_t *g, const store_map_t *map);
void store_guard_leave(store_guard_t *g);
/* What the last STORE_FAULT of this thread was ("SIGBUS at byte N of the
 * map", "LMDB assertion ..."); valid until the thread's next fault. */
const char *store_fault_text(void);

/* The map of the LMDB data file open as fd (found in /proc/self/maps by
 * device and inode), or lo == hi when it cannot be found. */
void store_map_find(int fd, store_map_t *out);

/* What verify.c needs of a weft_db_t (defined in db.c). */
struct weft_db;
MDB_env *store_env(struct weft_db *db);
const store_map_t *store_map(struct weft_db *db);
/* The space names, indexed by weft_space_t (LMDB's named databases). */
extern const char *const store_space_names[];

/* Runs `call` (an int-valued LMDB call) under a guard for map, storing its
 * result, or STORE_FAULT after a fault, in rc. sigsetjmp keeps no signal
 * mask (cheap); the handlers run with SA_NODEFER, so a jump out of one
 * leaves nothing blocked. Use it in small functions: a function calling
 * sigsetjmp is not inlined and its locals are spilled. */
#define STORE_GUARDED(map, rc, call)                                                               \
    do {                                                                                           \
        store_guard_t guard_;                                                                      \
        if (sigsetjmp(guard_.jb, 0) == 0) {                                                        \
            store_guard_enter(&guard_, (map));                                                     \
            (rc) = (call);                                                                         \
            store_guard_leave(&guard_);                                                            \
        } else {                                                                                   \
            (rc) = STORE_FAULT;                                                                    \
        }                                                                                          \
    } while (0)

#endif
