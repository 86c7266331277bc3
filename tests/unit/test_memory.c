/*
 * test_memory.c — linear memories reuse the bytes of freed ones (the
 * engine's per-thread pool, src/engine/mempool.c): nothing one store's
 * memory held may be seen by a later memory, whatever the sizes, growth,
 * module or thread, and limits hold as before.
 *
 * Each case writes a secret byte over every byte of a memory (grown first),
 * frees its store, and checks that the next memories read zero everywhere,
 * from the guest (every 8 bytes loaded) and from the host (weft_memory_ptr).
 * The sizes cross the pool's three ways of clearing a region: memset of a
 * small memory, memset of the mapped pages of a larger one, MADV_DONTNEED
 * of one with more than 1 MiB mapped; and both ways of finding the pages
 * a larger one used (/proc/self/pagemap, mincore). Modules: wat/memzero.wat (own memory,
 * 3 pages and a data segment) and wat/memzero_import.wat (env.memory).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>

#include "harness.h"
#include "priv.h"

#define PAGE 65536u

/* Bytes of [0, size) that are not zero, read by the host. */
static uint64_t host_nonzero(weft_memory_t *m)
{
    size_t size = weft_memory_size(m);
    const uint8_t *p = weft_memory_ptr(m, 0, size);
    uint64_t n = 0;
    for (size_t i = 0; p && i < size; i++)
        n += p[i] != 0;
    return n;
}

static int32_t call_i32(weft_store_t *s, weft_instance_t *in, const char *name,
                        const weft_val_t *args, size_t nargs, int *rc)
{
    weft_extern_t ext;
    weft_val_t r = {0};
    *rc = weft_instance_export(in, name, &ext);
    if (*rc == 0)
        *rc = weft_func_call(s, ext.of.func, args, nargs, &r, strcmp(name, "nonzero") == 0);
    return r.of.i32;
}

/* One round on a fresh store: a memory of `pages` (env.memory), which must
 * read zero; the guest grows it by `grow` and writes `byte` everywhere. */
static void round_at(const char *file, int line, weft_engine_t *e, weft_module_t *mod,
                     uint32_t pages, uint32_t grow, int byte)
{
    char what[96];
    snprintf(what, sizeof what, "memory of %u pages (+%u)", pages, grow);
    weft_store_t *s = weft_store_new(e);
    weft_linker_t *l = s ? weft_linker_new(s) : NULL;
    weft_memory_t *m = l ? weft_memory_new(s, (weft_limits_t){.min = pages}) : NULL;
    weft_instance_t *in = NULL;
    int rc = -1;
    if (m) {
        weft_extern_t ext = {.kind = WEFT_EXTERN_MEMORY, .of.memory = m};
        if ((rc = weft_linker_define(l, "env", "memory", &ext)) == 0)
            rc = weft_linker_instantiate(l, mod, &in);
    }
    h_check_rc(file, line, what, rc, 0, s);
    uint64_t host = host_nonzero(m);
    int32_t guest = call_i32(s, in, "nonzero", NULL, 0, &rc);
    h_check_rc(file, line, "nonzero()", rc, 0, s);
    if (host != 0 || guest != 0)
        test_fail(file, line, "%s: %llu bytes not zero (host), %d words (guest)", what,
                  (unsigned long long)host, guest);
    weft_val_t args[2] = {{.type = WEFT_I32, .of.i32 = (int32_t)grow},
                          {.type = WEFT_I32, .of.i32 = byte}};
    call_i32(s, in, "smear", args, 2, &rc);
    h_check_rc(file, line, "smear()", rc, 0, s);
    ASSERT_EQ_U64(weft_memory_pages(m), pages + grow);
    ASSERT_EQ_U64(host_nonzero(m), (uint64_t)(pages + grow) * PAGE);
    weft_linker_delete(l);
    weft_store_delete(s);
}
#define ROUND(e, mod, pages, grow, byte) round_at(__FILE__, __LINE__, e, mod, pages, grow, byte)

TEST(memory_reused_after_its_store_is_freed_reads_zero_everywhere)
{
    weft_engine_t *e = h_engine();
    weft_module_t *mod = h_module(e, "memzero_import");
    /* (pages, grow): small and large, growing into bytes a larger memory
     * wrote, a small memory in a large region, more than 1 MiB mapped */
    static const uint32_t rounds[][2] = {{3, 2},  {1, 0},  {20, 5}, {2, 30}, {25, 0},
                                         {1, 60}, {64, 0}, {17, 1}, {17, 0}, {4, 0},
                                         {0, 3},  {5, 0},  {2, 0},  {2, 0},  {30, 10}};
    for (size_t i = 0; i < sizeof rounds / sizeof rounds[0]; i++)
        ROUND(e, mod, rounds[i][0], rounds[i][1], 0xA5 + (int)i);
    ROUND(e, mod, 1, 0, 1);
}

TEST(grown_pages_read_zero_after_a_larger_memory_wrote_them)
{
    weft_engine_t *e = h_engine();
    weft_module_t *mod = h_module(e, "memzero_import");
    ROUND(e, mod, 10, 30, 0x5E); /* 40 pages written, more than 1 MiB mapped */
    ROUND(e, mod, 8, 0, 0x5E);   /* 8 of them written again */
    weft_store_t *s = weft_store_new(e);
    weft_memory_t *m = weft_memory_new(s, (weft_limits_t){.min = 1});
    ASSERT_NOT_NULL(m);
    ASSERT_EQ_U64(host_nonzero(m), 0);
    for (int i = 0; i < 7; i++) { /* grown through the bytes both wrote, and past */
        ASSERT_OK(weft_memory_grow(m, 9, NULL));
        ASSERT_EQ_U64(host_nonzero(m), 0);
    }
    weft_store_delete(s);
}

/* A memory of `pages` whose every `step`th 4 KiB page the host writes
 * (the rest never touched: unmapped runs between them), then frees. */
static void sparse_round(weft_engine_t *e, uint32_t pages, uint32_t step, int byte)
{
    weft_store_t *s = weft_store_new(e);
    weft_memory_t *m = weft_memory_new(s, (weft_limits_t){.min = pages});
    ASSERT_NOT_NULL(m);
    ASSERT_EQ_U64(host_nonzero(m), 0);
    uint8_t *p = weft_memory_ptr(m, 0, (size_t)pages * PAGE);
    for (size_t at = 4096; at < (size_t)pages * PAGE; at += (size_t)step * 4096)
        memset(p + at, byte, 100);
    weft_store_delete(s);
}

TEST(memory_with_untouched_pages_reads_zero_through_pagemap_and_mincore)
{
    weft_engine_t *e = h_engine();
    /* Linux with /proc: pagemap at least (PAGEMAP_SCAN since 6.7) */
    ASSERT_TRUE(mem_clear_path(MEM_CLEAR_PAGEMAP) == MEM_CLEAR_PAGEMAP);
    for (int path = MEM_CLEAR_SCAN; path >= MEM_CLEAR_MINCORE; path--) {
        mem_clear_path(path);
        for (uint32_t step = 1; step < 40; step += 7) {
            sparse_round(e, 17, step, 0x3C + (int)step); /* callapp's size */
            sparse_round(e, 17, 1, 0);                   /* reads zero first */
            sparse_round(e, 5, step, 0x71);
            sparse_round(e, 5, 1, 0);
        }
        /* the scan stays in use where the kernel has it (6.7 and later) */
        struct utsname u;
        unsigned major = 0, minor = 0;
        if (path == MEM_CLEAR_SCAN && uname(&u) == 0 &&
            sscanf(u.release, "%u.%u", &major, &minor) == 2 && (major > 6 || (major == 6 && minor >= 7)))
            ASSERT_EQ_INT(mem_clear_path(-1), MEM_CLEAR_SCAN);
    }
    mem_clear_path(MEM_CLEAR_SCAN);
}

TEST(memory_page_swapped_out_is_dropped_by_the_pagemap_clear)
{
    /* Entries as the kernel gives them (bit 63 present, 62 swapped): a
     * swapped page still holds the guest's bytes (here: mapped, and told
     * swapped) and is dropped; a present one is cleared; one neither was
     * never touched, so its bytes are not looked at. */
    const uint64_t pg = 4096;
    uint8_t *q = mmap(NULL, 5 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_TRUE(q != MAP_FAILED);
    memset(q, 0xAB, 5 * pg);
    uint64_t ent[5] = {1ull << 62, 1ull << 62, 1ull << 63, 0, 1ull << 63};
    ASSERT_EQ_INT(mem_clear_by_entries(q, ent, 5, pg), 0);
    uint64_t nz[5] = {0};
    for (int i = 0; i < 5; i++)
        for (uint64_t k = 0; k < pg; k++)
            nz[i] += q[i * pg + k] != 0;
    ASSERT_EQ_U64(nz[0] + nz[1] + nz[2] + nz[4], 0);
    ASSERT_EQ_U64(nz[3], pg);
    munmap(q, 5 * pg);
}

TEST(an_instance_sees_only_its_own_data_after_another_wrote_the_memory)
{
    weft_engine_t *e = h_engine();
    weft_module_t *own = h_module(e, "memzero");
    weft_module_t *imp = h_module(e, "memzero_import");
    for (int i = 0; i < 3; i++) {
        weft_store_t *s = weft_store_new(e);
        weft_linker_t *l = weft_linker_new(s);
        weft_instance_t *in = NULL;
        int rc;
        ASSERT_OK_S(s, weft_linker_instantiate(l, own, &in));
        /* 3 pages of zeros but the data segment "data" at 100: one word */
        ASSERT_EQ_INT(call_i32(s, in, "nonzero", NULL, 0, &rc), 1);
        ASSERT_OK_S(s, rc);
        weft_val_t args[2] = {{.type = WEFT_I32, .of.i32 = i * 7},
                              {.type = WEFT_I32, .of.i32 = 0x77}};
        call_i32(s, in, "smear", args, 2, &rc);
        ASSERT_OK_S(s, rc);
        weft_linker_delete(l);
        weft_store_delete(s);
        ROUND(e, imp, 3 + (uint32_t)i * 7, 0, 0x11); /* a different module, same size */
    }
}

TEST(memory_limits_hold_on_reused_memories)
{
    weft_engine_t *e = h_engine();
    weft_module_t *mod = h_module(e, "memzero_import");
    ROUND(e, mod, 64, 0, 0x42); /* leaves a 64-page region in the pool */
    weft_store_t *s = weft_store_new(e);
    weft_limits_config_t lim = weft_store_limits(s);
    lim.max_memory_pages = 10;
    ASSERT_OK(weft_store_set_limits(s, &lim));
    weft_memory_t *m = weft_memory_new(s, (weft_limits_t){.min = 2});
    weft_memory_t *capped = weft_memory_new(s, (weft_limits_t){.min = 1, .max = 3, .has_max = 1});
    ASSERT_NOT_NULL(m);
    ASSERT_NOT_NULL(capped);
    ASSERT_NULL(weft_memory_new(s, (weft_limits_t){.min = 11}));
    ASSERT_RC(weft_memory_grow(m, 9, NULL), WEFT_ELIMIT); /* past the store's 10 */
    ASSERT_EQ_U64(weft_memory_pages(m), 2);
    ASSERT_OK(weft_memory_grow(m, 8, NULL));
    ASSERT_EQ_U64(weft_memory_size(m), 10u * PAGE);
    ASSERT_EQ_U64(host_nonzero(m), 0);
    ASSERT_NULL(weft_memory_ptr(m, 10u * PAGE - 4, 8)); /* bounds as before */
    ASSERT_RC(weft_memory_grow(capped, 3, NULL), WEFT_ELIMIT); /* past its own max */
    ASSERT_OK(weft_memory_grow(capped, 2, NULL));
    ASSERT_EQ_U64(host_nonzero(capped), 0);
    weft_store_delete(s);
}

/* A store freed on another thread gives its memory to that thread's pool. */
typedef struct {
    weft_engine_t *engine;
    weft_module_t *module;
    weft_store_t *to_free;
    uint64_t seen[2]; /* bytes not zero in the thread's two memories */
} thread_arg_t;

/* (No assertion here: a failure leaves the test from its own thread.) */
static void *free_then_use(void *p)
{
    thread_arg_t *a = p;
    weft_store_delete(a->to_free);
    for (int i = 0; i < 2; i++) {
        weft_store_t *s = weft_store_new(a->engine);
        weft_memory_t *m = s ? weft_memory_new(s, (weft_limits_t){.min = i ? 1 : 6}) : NULL;
        if (m && i)
            weft_memory_grow(m, 5, NULL);
        a->seen[i] = m && weft_memory_size(m) == 6u * PAGE ? host_nonzero(m) : UINT64_MAX;
        if (m)
            memset(weft_memory_ptr(m, 0, 6u * PAGE), 0x33, 6u * PAGE);
        weft_store_delete(s);
    }
    return NULL;
}

TEST(a_memory_freed_on_another_thread_reads_zero_there)
{
    weft_engine_t *e = h_engine();
    weft_module_t *mod = h_module(e, "memzero_import");
    weft_store_t *s = weft_store_new(e);
    weft_memory_t *m = weft_memory_new(s, (weft_limits_t){.min = 6});
    ASSERT_NOT_NULL(m);
    memset(weft_memory_ptr(m, 0, 6u * PAGE), 0xEE, 6u * PAGE);
    thread_arg_t a = {e, mod, s, {0, 0}};
    pthread_t t;
    ASSERT_EQ_INT(pthread_create(&t, NULL, free_then_use, &a), 0);
    ASSERT_EQ_INT(pthread_join(t, NULL), 0);
    ASSERT_EQ_U64(a.seen[0], 0);
    ASSERT_EQ_U64(a.seen[1], 0);
    ROUND(e, mod, 6, 0, 0x35);
}

/* ---- weft_instance_reset: a kept instance made new again ----------------- */

static int user_value(weft_caller_t *c, void *user, const weft_val_t *args,
                      weft_val_t *results)
{
    (void)c;
    (void)args;
    results[0] = weft_val_i32(*(const int32_t *)user);
    return 0;
}

/* wat/reset.wat instantiated, its import returning *user. */
static void open_reset(fixture_t *fx, int32_t *user)
{
    fx_open(fx, "reset");
    ASSERT_OK(weft_linker_define_func(fx->linker, "env", "user", h_functype("", "i"),
                                      user_value, user));
    fx_instantiate(fx);
}

/* wat/reset.wat: its `pristine` check sees everything `scribble` changed
 * (memory bytes in three pages, the memory's size, globals, the table's
 * size and elements, dropped segments) as instantiation left it after each
 * reset, the start function runs again, and the fuel of a call after a
 * reset is the fuel of the same call in a fresh instance. */
TEST(instance_reset_restores_memory_globals_table_and_segments)
{
    fixture_t fx;
    static int32_t one = 1;
    open_reset(&fx, &one);
    weft_store_set_fuel(fx.store, 1000000);
    ASSERT_EQ_INT(CALL_I32(&fx, "pristine", 0), 1);
    uint64_t f0 = weft_store_fuel(fx.store);
    CALL_VOID(&fx, "scribble", 0);
    uint64_t fresh_fuel = f0 - weft_store_fuel(fx.store);
    ASSERT_EQ_INT(CALL_I32(&fx, "pristine", 0), 0);
    ASSERT_EQ_INT(CALL_I32(&fx, "grown", 0), 3);
    for (int round = 0; round < 3; round++) {
        ASSERT_OK_S(fx.store, weft_instance_reset(fx.inst));
        ASSERT_EQ_INT(CALL_I32(&fx, "pristine", 0), 1);
        ASSERT_TRAP(fx.store, TRY_I32(&fx, "grown", 0), WEFT_TRAP_MEMORY_OOB);
        f0 = weft_store_fuel(fx.store);
        CALL_VOID(&fx, "scribble", 0); /* traps if a dropped segment stayed dropped */
        ASSERT_EQ_INT(f0 - weft_store_fuel(fx.store), fresh_fuel);
        ASSERT_EQ_INT(CALL_I32(&fx, "pristine", 0), 0);
    }
    /* a trap is gone after a reset; an interrupt once cleared
     * (instance_reset_keeps_a_raised_interrupt) */
    weft_store_interrupt(fx.store);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "scribble", 0), WEFT_TRAP_INTERRUPTED);
    weft_store_clear_interrupt(fx.store);
    ASSERT_OK_S(fx.store, weft_instance_reset(fx.inst));
    ASSERT_EQ_INT(weft_store_trap(fx.store), WEFT_TRAP_NONE);
    ASSERT_EQ_INT(CALL_I32(&fx, "pristine", 0), 1);
}

/* A reset keeps a raised interrupt flag (weft/store.h: the embedder clears
 * a stale one before it arms the next call's deadline, so that one raised
 * while a reset clears memories is never lost, as a node's kept instance's
 * was): the start function the reset runs again stops at it, as at
 * instantiation, and after the reset of an instance without one the next
 * call stops; weft_store_clear_interrupt is what clears it. */
TEST(instance_reset_keeps_a_raised_interrupt)
{
    fixture_t fx;
    static int32_t one = 1;
    open_reset(&fx, &one);
    weft_store_interrupt(fx.store);
    ASSERT_RC(weft_instance_reset(fx.inst), WEFT_ETRAP);
    ASSERT_EQ_INT(weft_store_trap(fx.store), WEFT_TRAP_INTERRUPTED);

    fixture_t own;
    fx_load(&own, "store_reset_owner"); /* no start function, no imports */
    weft_store_interrupt(own.store);
    for (int round = 0; round < 2; round++) {
        ASSERT_OK_S(own.store, weft_instance_reset(own.inst));
        ASSERT_TRAP(own.store, TRY_I32(&own, "bump_own", 0), WEFT_TRAP_INTERRUPTED);
    }
    weft_store_clear_interrupt(own.store);
    ASSERT_OK_S(own.store, weft_instance_reset(own.inst));
    CALL_VOID(&own, "bump_own", 0);
}

/* weft_instance_rebind_host points the imports that carried one user
 * pointer at another; the others keep theirs. */
TEST(instance_rebind_host_moves_imports_to_a_new_user_pointer)
{
    fixture_t fx;
    static int32_t a = 11, b = 22, c = 33;
    open_reset(&fx, &a);
    ASSERT_EQ_INT(CALL_I32(&fx, "user", 0), 11);
    ASSERT_EQ_INT(weft_instance_rebind_host(fx.inst, &c, &a), 0); /* nothing carries &c */
    ASSERT_EQ_INT(weft_instance_rebind_host(fx.inst, &a, &b), 1);
    ASSERT_EQ_INT(CALL_I32(&fx, "user", 0), 22);
    ASSERT_OK_S(fx.store, weft_instance_reset(fx.inst));
    ASSERT_EQ_INT(CALL_I32(&fx, "user", 0), 22); /* a reset leaves imports alone */
}

/* An object made in the store after the instance would outlive a reset:
 * refused, as is an instance that imports its memory. */
TEST(instance_reset_refuses_what_it_cannot_restore)
{
    fixture_t fx;
    static int32_t one = 1;
    open_reset(&fx, &one);
    ASSERT_OK(weft_instance_can_reset(fx.inst));
    ASSERT_TRUE(weft_memory_new(fx.store, (weft_limits_t){.min = 1}) != NULL);
    ASSERT_RC(weft_instance_can_reset(fx.inst), WEFT_EARG);
    ASSERT_RC(weft_instance_reset(fx.inst), WEFT_EARG);

    fixture_t im;
    fx_load_on_host_memory(&im, "memzero_import", 1);
    ASSERT_RC(weft_instance_reset(im.inst), WEFT_EARG);
}
