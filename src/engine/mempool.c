/*
 * mempool.c — the bytes of linear memories: private anonymous mappings,
 * kept when freed in a small pool of the freeing thread and handed to that
 * thread's next memory, so a fresh instance per call does not allocate and
 * zero its whole memory (callapp's 17 pages cost about 20 µs of memset a
 * call, bench/RESULTS.md "Calls").
 *
 * Invariant: every byte of a pooled region, and every byte of a live
 * region beyond the memory's size, is zero. A freed region is made zero
 * again before it enters the pool. A memory of up to 4 pages is cleared
 * whole with memset (cheaper here than a system call). A larger one is
 * cleared where it may have changed: one read of /proc/self/pagemap gives
 * each page's entry; a present page that is not all zero is cleared with
 * memset (no TLB shootdown, and it stays mapped for the next call), a run
 * of pages swapped out (still the guest's bytes, on the swap device) gets
 * MADV_DONTNEED, and a page neither was never touched and is zero. Without
 * pagemap, mincore() lists the mapped pages, and every unmapped run gets
 * MADV_DONTNEED, since mincore reports a swapped-out page as unmapped.
 * A region with more than 1 MiB mapped is reset with one MADV_DONTNEED of
 * all of it instead (cheaper than the memset, and it returns the memory),
 * and one too large for the pool is unmapped.
 *
 * The pool also keeps a few freed blocks of the malloc heap by size for
 * the next store's value stack and frames (8 MiB and 8 KiB by default): a
 * malloc and free of 8 MiB per call cost a heap consolidation and trim.
 * Their bytes are not cleared: the interpreter writes every slot before it
 * reads it (operands, and locals it zeroes), as with a fresh malloc.
 *
 * And it keeps one or two freed vector stacks (docs/engine.md "SIMD"): a
 * store that meets a v128 maps 16 bytes per value-stack slot (16 MiB by
 * default, MAP_NORESERVE), and a map, first-touch faults and unmap per
 * store were the whole cost of a small SIMD call. Not cleared either, for
 * the same reason; a kept one holds the pages its stores touched.
 *
 * Guard regions (docs/jit.md "Memory accesses: guard regions"): where the
 * address space allows, a region is a reservation of MEM_RESERVE bytes of
 * which exactly the memory's size is read-write and the rest PROT_NONE,
 * so any access compiled code can form past the size faults (jit/guard.c
 * turns that into the trap). Such a region ("guarded") grows by mprotect
 * inside the reservation, never moves, and fits a memory of any size: a
 * pooled one is taken for the nearest capacity (the same size costs no
 * system call) and made read-write to exactly the new size. Pages it
 * closes stay mapped and zero (as a larger capacity's did before). Where
 * the reservation fails (ulimit -v), the region is a plain mapping as
 * before, and its memory's cap may exceed its size.
 *
 * Thread rule: the pool is the calling thread's own (no lock); a region
 * goes back to the pool of whichever thread frees it, and a thread's pool
 * is unmapped when the thread ends.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "priv.h"

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_ASAN 1
#endif
#endif

/* Under ASan the bytes past a memory's size and pooled regions are
 * poisoned, and every region has one page more, so an access the engine's
 * bounds checks should have stopped is still reported as it was with
 * calloc'd memories. */
#ifdef WEFT_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define REDZONE ((uint64_t)PAGE_SIZE)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#define REDZONE ((uint64_t)0)
#endif

enum {
    POOL_ENTRIES = 8,                   /* regions kept per thread */
    POOL_BYTES = 64u << 20,             /* their capacities together, per thread */
    MEMSET_ALL_MAX = 4 * PAGE_SIZE,     /* a memory this small is cleared whole */
    MEMSET_MAX = 1u << 20,              /* mapped bytes cleared by memset; more: MADV_DONTNEED */
    VEC_PAGES = 4096,                   /* mincore's vector, per round */
    SPARES = 4,                         /* heap blocks kept per thread */
    SPARE_MAX = 16u << 20,              /* the largest kept */
    VSTACKS = 2,                        /* vector stacks kept per thread */
};

typedef struct {
    uint8_t *p;
    uint64_t cap;  /* guarded: the read-write bytes */
    bool guarded;
} region_t;

/* A kept heap block or vector stack (NULL p: a free place). */
typedef struct {
    void *p;
    size_t bytes;
} kept_t;

/* Newest last: a memory takes the newest region that fits (the one whose
 * pages are most likely still cached), a full pool drops its oldest. */
typedef struct {
    region_t r[POOL_ENTRIES];
    unsigned n;
    uint64_t bytes;
    kept_t spare[SPARES], vstack[VSTACKS];
} pool_t;

static pthread_key_t pool_key;
static int pool_key_ok;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static __thread pool_t *my_pool;
static uint64_t os_page; /* set once with the key: regions are cleared only with a pool */
/* /proc/self/pagemap (below): its descriptor (-1: not opened yet, -2:
 * unavailable) and the best way to clear a region to try (atomics) */
static int pm_fd = -1;
static atomic_int pm_path = MEM_CLEAR_SCAN;
static void pm_atfork_child(void);

static void region_unmap(uint8_t *p, uint64_t cap, bool guarded)
{
    if (guarded) {
        UNPOISON(p, cap);
        munmap(p, MEM_RESERVE);
        return;
    }
    UNPOISON(p, cap + REDZONE);
    munmap(p, cap + REDZONE);
}

/* A new reservation with its first `size` bytes read-write, or NULL. */
static uint8_t *region_reserve(uint64_t size)
{
    void *p = mmap(NULL, MEM_RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return NULL;
    if (size && mprotect(p, size, PROT_READ | PROT_WRITE) != 0) {
        munmap(p, MEM_RESERVE);
        return NULL;
    }
    return p;
}

/* Makes exactly [0, size) of a guarded region read-write (its bytes past
 * cap are zero already); 0 or -1. */
static int region_fit(uint8_t *p, uint64_t cap, uint64_t size)
{
    if (size > cap) return mprotect(p + cap, size - cap, PROT_READ | PROT_WRITE);
    if (size < cap) {
        UNPOISON(p + size, cap - size); /* closed: the protection guards it now */
        return mprotect(p + size, cap - size, PROT_NONE);
    }
    return 0;
}

bool mem_guard_available(void)
{
    const char *e = getenv("WEFT_GUARD_REGIONS");
    if (e && strcmp(e, "0") == 0) return false;
    uint8_t *p = region_reserve(0);
    if (!p) return false;
    munmap(p, MEM_RESERVE);
    return true;
}

static void pool_free(void *arg)
{
    pool_t *pool = arg;
    for (unsigned i = 0; i < pool->n; i++)
        region_unmap(pool->r[i].p, pool->r[i].cap, pool->r[i].guarded);
    for (unsigned i = 0; i < SPARES; i++) {
        if (pool->spare[i].p) UNPOISON(pool->spare[i].p, pool->spare[i].bytes);
        free(pool->spare[i].p);
    }
    for (unsigned i = 0; i < VSTACKS; i++)
        if (pool->vstack[i].p) munmap(pool->vstack[i].p, pool->vstack[i].bytes);
    free(pool);
    my_pool = NULL;
}

static void pool_key_make(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    os_page = pg > 0 ? (uint64_t)pg : 4096;
    pthread_atfork(NULL, NULL, pm_atfork_child);
    /* for comparisons (bench/RESULTS.md): a lower path than the best */
    const char *path = getenv("WEFT_MEM_CLEAR");
    if (path && strcmp(path, "mincore") == 0) atomic_store(&pm_path, MEM_CLEAR_MINCORE);
    if (path && strcmp(path, "pagemap") == 0) atomic_store(&pm_path, MEM_CLEAR_PAGEMAP);
    pool_key_ok = pthread_key_create(&pool_key, pool_free) == 0;
}

/* The calling thread's pool, made on first use; NULL when it cannot be
 * (then memories are mapped and unmapped one by one). */
static pool_t *thread_pool(void)
{
    if (my_pool) return my_pool;
    pthread_once(&pool_once, pool_key_make);
    if (!pool_key_ok) return NULL;
    pool_t *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    if (pthread_setspecific(pool_key, pool) != 0) {
        free(pool);
        return NULL;
    }
    return my_pool = pool;
}

/* The pooled region a memory of `size` bytes takes (POOL_ENTRIES: none):
 * a guarded one of the nearest capacity, else the smallest plain one that
 * holds it; the newest on a tie. */
static unsigned pool_pick(const pool_t *pool, uint64_t size)
{
    unsigned best = POOL_ENTRIES;
    uint64_t best_d = 0;
    for (unsigned i = pool->n; i-- > 0;) {
        const region_t *r = &pool->r[i];
        uint64_t d = r->cap > size ? r->cap - size : size - r->cap;
        if (!r->guarded && r->cap < size) continue;
        if (best == POOL_ENTRIES || (r->guarded && !pool->r[best].guarded) ||
            (r->guarded == pool->r[best].guarded && d < best_d)) {
            best = i;
            best_d = d;
        }
    }
    return best;
}

uint8_t *mem_bytes_new(uint64_t size, uint64_t *out_cap, bool *out_guarded)
{
    pool_t *pool = thread_pool();
    unsigned best;
    bool reserve_tried = false;
    while (pool && (best = pool_pick(pool, size)) != POOL_ENTRIES) {
        region_t r = pool->r[best];
        /* A plain region pooled while no reservation could be had does not
         * stand in for one that can be had now: code compiled for guard
         * regions refuses a plain memory (runtime.c). It stays pooled; where
         * reservations fail, this costs one failing mmap per memory. */
        if (!r.guarded && !reserve_tried) {
            reserve_tried = true;
            uint8_t *g = region_reserve(size);
            if (g) {
                *out_cap = size;
                *out_guarded = true;
                return g;
            }
        }
        memmove(&pool->r[best], &pool->r[best + 1], (pool->n - best - 1) * sizeof r);
        pool->n--;
        pool->bytes -= r.cap;
        if (r.guarded && region_fit(r.p, r.cap, size) != 0) {
            region_unmap(r.p, r.cap, true);
            continue;
        }
        UNPOISON(r.p, size);
        *out_cap = r.guarded ? size : r.cap;
        *out_guarded = r.guarded;
        return r.p;
    }
    uint8_t *g = reserve_tried ? NULL : region_reserve(size);
    if (g) {
        *out_cap = size;
        *out_guarded = true;
        return g;
    }
    *out_cap = 0;
    *out_guarded = false;
    if (!size) return NULL; /* a memory of no pages needs no plain region */
    void *p = mmap(NULL, size + REDZONE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    UNPOISON(p, size);
    POISON((uint8_t *)p + size, REDZONE);
    *out_cap = size;
    return p;
}

int mem_bytes_grow(uint8_t **p, uint64_t *cap, uint64_t size, uint64_t want, bool guarded)
{
    if (guarded) { /* in place: cap is the size */
        if (want > *cap && mprotect(*p + *cap, want - *cap, PROT_READ | PROT_WRITE) != 0) return -1;
        *cap = want;
    } else if (want > *cap) {
        /* the new pages are zero, the old ones move with their bytes */
        UNPOISON(*p, *cap + REDZONE);
        void *q = mremap(*p, *cap + REDZONE, want + REDZONE, MREMAP_MAYMOVE);
        if (q == MAP_FAILED) {
            POISON(*p + size, *cap - size + REDZONE);
            return -1;
        }
        *p = q;
        *cap = want;
        UNPOISON(*p, want);
        POISON(*p + want, REDZONE);
    }
    UNPOISON(*p + size, want - size);
    return 0;
}

static int page_is_zero(const uint8_t *p, uint64_t n)
{
    const uint64_t *w = (const uint64_t *)(const void *)p;
    for (uint64_t i = 0; i < n / 8; i += 8)
        if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
            return 0;
    return 1;
}

/* Clears the mapped pages of vec (n pages from q) that are not all zero,
 * and drops each run of unmapped ones; 0 or -1. */
static int clear_pages(uint8_t *q, const unsigned char *vec, uint64_t n, uint64_t pg)
{
    for (uint64_t i = 0; i < n;) {
        if (vec[i] & 1) {
            if (!page_is_zero(q + i * pg, pg)) memset(q + i * pg, 0, pg);
            i++;
            continue;
        }
        uint64_t j = i;
        while (j < n && !(vec[j] & 1)) j++;
        if (madvise(q + i * pg, (j - i) * pg, MADV_DONTNEED) != 0) return -1;
        i = j;
    }
    return 0;
}

/* ---- /proc/self/pagemap ----------------------------------------------------
 * The page table tells the three kinds of page apart: present (its bytes
 * may be the guest's: cleared unless zero), swapped out (the guest's bytes
 * are on the swap device: dropped with MADV_DONTNEED), and neither (never
 * touched, or dropped: zero). mincore reports a swapped page as absent
 * too, so its path drops every absent run (a madvise each, a third of a
 * kept 17-page instance's reset here, bench/RESULTS.md "(issue 10) session
 * 11: views"); this one drops only what was swapped out, in one system
 * call: the PAGEMAP_SCAN ioctl (Linux 6.7), which gives runs of pages by
 * kind (and tells a present page that is the shared zero page, which needs
 * no look), else a pread of the entries, 8 bytes a page. The descriptor is
 * opened on first use and closed in a forked child (it would read the
 * parent's table); where it cannot be opened or read (no /proc), mincore's
 * path is taken. */
#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)

/* PAGEMAP_SCAN's ABI (linux/fs.h since 6.7; not in older headers) */
#define PAGE_IS_PRESENT (1u << 3)
#define PAGE_IS_SWAPPED (1u << 4)
#define PAGE_IS_PFNZERO (1u << 5)
struct pm_region {
    uint64_t start, end, categories;
};
struct pm_scan {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
        category_mask, category_anyof_mask, return_mask;
};
#define PM_SCAN_IOCTL _IOWR('f', 16, struct pm_scan)

static void pm_atfork_child(void)
{
    int fd = __atomic_exchange_n(&pm_fd, -1, __ATOMIC_SEQ_CST);
    if (fd >= 0) close(fd);
}

static int pagemap_fd(void)
{
    int fd = __atomic_load_n(&pm_fd, __ATOMIC_ACQUIRE);
    if (fd != -1) return fd;
    int nfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (nfd < 0) nfd = -2;
    int expect = -1;
    if (!__atomic_compare_exchange_n(&pm_fd, &expect, nfd, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        if (nfd >= 0) close(nfd); /* another thread opened it first */
        return expect;
    }
    return nfd;
}

int mem_clear_path(int path)
{
    if (path < 0) return atomic_load(&pm_path); /* what a clear tries first now */
    atomic_store(&pm_path, path);
    if (path == MEM_CLEAR_MINCORE || pagemap_fd() < 0) return MEM_CLEAR_MINCORE;
    return path;
}

/* Clears n pages of pg bytes from q of one kind: dropped when swapped out,
 * left when zero (never touched, or the shared zero page), else each page
 * that is not all zero cleared; 0 or -1. */
static int clear_run(uint8_t *q, uint64_t n, uint64_t pg, bool swapped, bool present)
{
    if (swapped) return madvise(q, n * pg, MADV_DONTNEED);
    for (uint64_t i = 0; present && i < n; i++)
        if (!page_is_zero(q + i * pg, pg)) memset(q + i * pg, 0, pg);
    return 0;
}

int mem_clear_by_entries(uint8_t *q, const uint64_t *ent, uint64_t n, uint64_t pg)
{
    for (uint64_t i = 0; i < n;) {
        uint64_t j = i + 1;
        bool sw = ent[i] & PM_SWAPPED;
        while (sw && j < n && (ent[j] & PM_SWAPPED)) j++; /* a run: one madvise */
        if (clear_run(q + i * pg, j - i, pg, sw, ent[i] & PM_PRESENT) != 0) return -1;
        i = j;
    }
    return 0;
}

/* region_zero through PAGEMAP_SCAN: 0, 1 when the kernel has no such
 * ioctl (or it failed), or -1 as region_zero. */
static int region_zero_scan(int fd, uint8_t *p, uint64_t npages, uint64_t pg)
{
    struct pm_region v[64];
    struct pm_scan a = {.size = sizeof a,
                        .start = (uintptr_t)p,
                        .end = (uintptr_t)p + npages * pg,
                        .vec = (uintptr_t)v,
                        .vec_len = 64,
                        .category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
                        .return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO};
    uint64_t mapped = 0;
    for (;;) {
        long r = ioctl(fd, PM_SCAN_IOCTL, &a);
        if (r < 0) return 1;
        for (long i = 0; i < r; i++) mapped += (v[i].end - v[i].start) / pg;
        if (mapped * pg > MEMSET_MAX) return madvise(p, npages * pg, MADV_DONTNEED) == 0 ? 0 : -1;
        for (long i = 0; i < r; i++) {
            uint64_t c = v[i].categories;
            if (clear_run((uint8_t *)(uintptr_t)v[i].start, (v[i].end - v[i].start) / pg, pg,
                          c & PAGE_IS_SWAPPED, (c & PAGE_IS_PRESENT) && !(c & PAGE_IS_PFNZERO)) != 0)
                return -1;
        }
        if (r < (long)a.vec_len || a.walk_end >= a.end) return 0;
        a.start = a.walk_end; /* the vector was full: on from where the walk stopped */
    }
}

/* region_zero through the page table entries: 0, 1 when they cannot be
 * read (the caller takes mincore's path), or -1 as region_zero. */
static int region_zero_pagemap(uint8_t *p, uint64_t npages, uint64_t pg)
{
    int path = atomic_load_explicit(&pm_path, memory_order_relaxed);
    int fd = path == MEM_CLEAR_MINCORE ? -2 : pagemap_fd();
    if (fd < 0) return 1;
    if (path == MEM_CLEAR_SCAN) {
        int rc = region_zero_scan(fd, p, npages, pg);
        if (rc <= 0) return rc;
        atomic_store(&pm_path, MEM_CLEAR_PAGEMAP); /* an older kernel: not again */
    }
    uint64_t ent[VEC_PAGES / 4];
    const uint64_t per = sizeof ent / sizeof ent[0];
    uint64_t mapped = 0;
    for (uint64_t at = 0; at < npages; at += per) {
        uint64_t n = npages - at < per ? npages - at : per;
        off_t off = (off_t)((uintptr_t)(p + at * pg) / pg * sizeof ent[0]);
        if (pread(fd, ent, n * sizeof ent[0], off) != (ssize_t)(n * sizeof ent[0])) return 1;
        for (uint64_t i = 0; i < n; i++) mapped += (ent[i] & (PM_PRESENT | PM_SWAPPED)) != 0;
        if (mapped * pg > MEMSET_MAX) return madvise(p, npages * pg, MADV_DONTNEED) == 0 ? 0 : -1;
        if (mem_clear_by_entries(p + at * pg, ent, n, pg) != 0) return -1;
    }
    return 0;
}

/* Makes [0, size) of the region zero again; 0, or -1 when the kernel
 * refused (the region must then be unmapped). Through the page table
 * entries (above) where they can be read; else a memory of up to
 * VEC_PAGES pages (16 MiB) takes one mincore, a larger one two per round
 * (one to count what is mapped, one to act). */
static int region_zero(uint8_t *p, uint64_t size)
{
    if (size <= MEMSET_ALL_MAX) {
        memset(p, 0, size);
        return 0;
    }
    const uint64_t pg = os_page;
    const uint64_t npages = (size + pg - 1) / pg;
    int pm = region_zero_pagemap(p, npages, pg);
    if (pm <= 0) return pm;
    unsigned char vec[VEC_PAGES];
    uint64_t mapped = 0;
    for (uint64_t at = 0; at < npages; at += VEC_PAGES) {
        uint64_t n = npages - at < VEC_PAGES ? npages - at : VEC_PAGES;
        if (mincore(p + at * pg, n * pg, vec) != 0) return -1;
        for (uint64_t i = 0; i < n; i++) mapped += vec[i] & 1;
        if (mapped * pg > MEMSET_MAX) return madvise(p, npages * pg, MADV_DONTNEED) == 0 ? 0 : -1;
    }
    if (npages <= VEC_PAGES) return clear_pages(p, vec, npages, pg);
    for (uint64_t at = 0; at < npages; at += VEC_PAGES) {
        uint64_t n = npages - at < VEC_PAGES ? npages - at : VEC_PAGES;
        if (mincore(p + at * pg, n * pg, vec) != 0 || clear_pages(p + at * pg, vec, n, pg) != 0)
            return -1;
    }
    return 0;
}

void mem_bytes_free(uint8_t *p, uint64_t cap, uint64_t size, bool guarded)
{
    if (!p) return;
    UNPOISON(p, size);
    pool_t *pool = thread_pool();
    if (!pool || cap > POOL_BYTES || region_zero(p, size) != 0) {
        region_unmap(p, cap, guarded);
        return;
    }
    while (pool->n && (pool->n == POOL_ENTRIES || pool->bytes + cap > POOL_BYTES)) {
        region_unmap(pool->r[0].p, pool->r[0].cap, pool->r[0].guarded); /* the oldest */
        pool->bytes -= pool->r[0].cap;
        memmove(&pool->r[0], &pool->r[1], (pool->n - 1) * sizeof pool->r[0]);
        pool->n--;
    }
    POISON(p, cap);
    pool->r[pool->n++] = (region_t){p, cap, guarded};
    pool->bytes += cap;
}

int mem_bytes_clear(uint8_t *p, uint64_t *cap, uint64_t size, uint64_t keep, bool guarded)
{
    pthread_once(&pool_once, pool_key_make); /* os_page */
    if (region_zero(p, size) != 0) return -1;
    if (guarded) { /* closed past keep again: compiled code's guard */
        if (region_fit(p, *cap, keep) != 0) return -1;
        *cap = keep;
        return 0;
    }
    POISON(p + keep, *cap - keep);
    return 0;
}

/* A kept block of exactly `bytes` from kept[0 .. n - 1] (it leaves the
 * list), or NULL. */
static void *kept_take(kept_t *kept, unsigned n, size_t bytes)
{
    for (unsigned i = 0; i < n; i++) {
        if (kept[i].p && kept[i].bytes == bytes) {
            void *p = kept[i].p;
            kept[i].p = NULL;
            return p;
        }
    }
    return NULL;
}

/* Keeps p in a free place of kept[0 .. n - 1]: 1, or 0 when it is full. */
static int kept_put(kept_t *kept, unsigned n, void *p, size_t bytes)
{
    for (unsigned i = 0; i < n; i++) {
        if (!kept[i].p) {
            kept[i].p = p;
            kept[i].bytes = bytes;
            return 1;
        }
    }
    return 0;
}

void *mem_spare_take(size_t bytes)
{
    pool_t *pool = thread_pool();
    void *p = pool ? kept_take(pool->spare, SPARES, bytes) : NULL;
    if (!p) return malloc(bytes);
    UNPOISON(p, bytes);
    return p;
}

void mem_spare_keep(void *p, size_t bytes)
{
    pool_t *pool = p && bytes <= SPARE_MAX ? thread_pool() : NULL;
    if (pool) POISON(p, bytes);
    if (!pool || !kept_put(pool->spare, SPARES, p, bytes)) {
        UNPOISON(p, bytes);
        free(p);
    }
}

void *mem_vstack_take(size_t bytes)
{
    pool_t *pool = thread_pool();
    void *p = pool ? kept_take(pool->vstack, VSTACKS, bytes) : NULL;
    if (p) return p;
    /* MAP_NORESERVE and untouched: a store pays only for the pages its
     * v128 values reach. */
    p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void mem_vstack_keep(void *p, size_t bytes)
{
    pool_t *pool = p ? thread_pool() : NULL;
    if (p && (!pool || !kept_put(pool->vstack, VSTACKS, p, bytes))) munmap(p, bytes);
}
