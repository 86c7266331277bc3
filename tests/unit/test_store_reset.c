/*
 * test_store_reset.c — weft_store_reset (weft/store.h): every instance of a
 * store made as instantiated again, for an embedder that keeps the store
 * from one call to the next where instances import each other's memory,
 * table and mutable global (a component's core instances; src/node/call.c).
 *
 * wat/store_reset_owner.wat defines a memory, a table and a mutable global;
 * wat/store_reset_user.wat, instantiated after it in the same store,
 * imports them and its data and element segments and start function write
 * into them. After each reset nothing a call changed may be seen by the
 * next: bytes, sizes, grown pages and slots, globals of both instances,
 * table elements, the trap (not the interrupt flag: the embedder's to
 * clear); and the same call costs the same fuel as in the fresh store.
 */
#include <string.h>

#include "harness.h"

/* The two instances of one store: `owner` and `user` share the engine,
 * store and linker; each fixture calls its own instance's exports. */
typedef struct {
    fixture_t owner;
    fixture_t user;
} pair_t;

static void open_pair(pair_t *p)
{
    fx_load(&p->owner, "store_reset_owner");
    ASSERT_OK(weft_linker_define_instance(p->owner.linker, "owner", p->owner.inst));
    p->user = p->owner;
    p->user.module = h_module(p->owner.engine, "store_reset_user");
    p->user.inst = NULL;
    fx_instantiate(&p->user);
}

/* The state both instances hold, as the user's exports read it. */
typedef struct {
    int32_t pages, at0, at32, at100, at_end, g, mine, own, slots, slot0;
} state_t;

/* As instantiation left it: the owner's segments, then the user's written
 * over the cleared owner, its start function run once (g 7 -> 8). */
static const state_t as_instantiated = {2, 0x656e776f /* "owne" */, 0x72657375 /* "user" */,
                                        0, 0, 8, 3, 100, 2, 10};
/* What `scribble` leaves, so that a check after a reset cannot pass by a
 * scribble that changed nothing. */
static const state_t scribbled = {4, -1, -2, 5, 6, 99, 42, 101, 5, 20};

static void check_state(fixture_t *u, const state_t *want)
{
    ASSERT_EQ_INT(CALL_I32(u, "size", 0), want->pages);
    ASSERT_EQ_INT(CALL_I32(u, "load", 1, 0), want->at0);
    ASSERT_EQ_INT(CALL_I32(u, "load", 1, 32), want->at32);
    ASSERT_EQ_INT(CALL_I32(u, "load", 1, 100), want->at100);
    ASSERT_EQ_INT(CALL_I32(u, "load", 1, 131068), want->at_end); /* page 1's last word */
    ASSERT_EQ_INT(CALL_I32(u, "g", 0), want->g);
    ASSERT_EQ_INT(CALL_I32(u, "mine", 0), want->mine);
    ASSERT_EQ_INT(CALL_I32(u, "own", 0), want->own);
    ASSERT_EQ_INT(CALL_I32(u, "tsize", 0), want->slots);
    ASSERT_EQ_INT(CALL_I32(u, "tcall", 1, 0), want->slot0);
    if (want == &scribbled) {
        ASSERT_EQ_INT(CALL_I32(u, "load", 1, 131072), 7); /* in the grown pages */
        ASSERT_EQ_INT(CALL_I32(u, "tnull", 1, 1), 1);
    } else {
        ASSERT_TRAP(u->store, TRY_I32(u, "load", 1, 131072), WEFT_TRAP_MEMORY_OOB);
        ASSERT_EQ_INT(CALL_I32(u, "tcall", 1, 1), 20); /* the user's element segment */
    }
}

TEST(store_reset_restores_instances_that_share_memory_table_and_global)
{
    pair_t p;
    open_pair(&p);
    weft_store_t *s = p.owner.store;
    uint64_t objects = weft_store_objects(s);
    /* what weft_instance_reset refuses here, and why this exists */
    ASSERT_RC(weft_instance_can_reset(p.user.inst), WEFT_EARG);
    ASSERT_RC(weft_instance_can_reset(p.owner.inst), WEFT_EARG);
    ASSERT_OK_S(s, weft_store_can_reset(s, objects));

    weft_store_set_fuel(s, 1000000);
    check_state(&p.user, &as_instantiated);
    uint64_t f0 = weft_store_fuel(s);
    CALL_VOID(&p.user, "scribble", 0);
    uint64_t fresh_fuel = f0 - weft_store_fuel(s);
    check_state(&p.user, &scribbled);
    for (int round = 0; round < 3; round++) {
        ASSERT_OK_S(s, weft_store_reset(s, objects));
        check_state(&p.user, &as_instantiated);
        f0 = weft_store_fuel(s);
        CALL_VOID(&p.user, "scribble", 0);
        ASSERT_EQ_U64(f0 - weft_store_fuel(s), fresh_fuel);
        check_state(&p.user, &scribbled);
    }
    /* the pages and slots a call grew and wrote read as new when grown
     * again after a reset */
    ASSERT_OK_S(s, weft_store_reset(s, objects));
    ASSERT_EQ_INT(CALL_I32(&p.user, "regrow_word", 0), 0);
    ASSERT_EQ_INT(CALL_I32(&p.user, "regrow_null", 0), 1);
    ASSERT_EQ_U64(weft_store_objects(s), objects);
}

/* A reset clears the trap but keeps a raised interrupt flag (weft/store.h,
 * weft_store_interrupt: the embedder clears a stale one before the next
 * call's deadline can raise it, so none raised during a reset is lost):
 * the user's start function, run again, stops at it; a store without a
 * start function resets and its next call stops;
 * weft_store_clear_interrupt is what clears it. */
TEST(store_reset_clears_the_trap_and_keeps_the_interrupt)
{
    pair_t p;
    open_pair(&p);
    weft_store_t *s = p.owner.store;
    uint64_t objects = weft_store_objects(s);
    ASSERT_TRAP(s, TRY_I32(&p.user, "trap", 0), WEFT_TRAP_UNREACHABLE);
    ASSERT_OK_S(s, weft_store_reset(s, objects));
    ASSERT_EQ_INT(weft_store_trap(s), WEFT_TRAP_NONE);
    weft_store_interrupt(s);
    ASSERT_TRAP(s, TRY_I32(&p.user, "g", 0), WEFT_TRAP_INTERRUPTED);
    weft_store_clear_interrupt(s);
    ASSERT_OK_S(s, weft_store_reset(s, objects));
    ASSERT_EQ_INT(weft_store_trap(s), WEFT_TRAP_NONE);
    ASSERT_EQ_INT(CALL_I32(&p.user, "g", 0), 8);

    weft_store_interrupt(s);
    ASSERT_RC(weft_store_reset(s, objects), WEFT_ETRAP);
    ASSERT_EQ_INT(weft_store_trap(s), WEFT_TRAP_INTERRUPTED);

    fixture_t own;
    fx_load(&own, "store_reset_owner");
    weft_store_t *o = own.store;
    uint64_t own_objects = weft_store_objects(o);
    weft_store_interrupt(o);
    for (int round = 0; round < 2; round++) {
        ASSERT_OK_S(o, weft_store_reset(o, own_objects));
        ASSERT_TRAP(o, TRY_I32(&own, "bump_own", 0), WEFT_TRAP_INTERRUPTED);
    }
    weft_store_clear_interrupt(o);
    ASSERT_OK_S(o, weft_store_reset(o, own_objects));
    CALL_VOID(&own, "bump_own", 0);
}

/* What a reset could not restore is refused before anything is touched:
 * an object made since the count was noted, a memory the embedder made,
 * an instantiation that failed half way. */
TEST(store_reset_refuses_what_it_cannot_restore)
{
    pair_t p;
    open_pair(&p);
    weft_store_t *s = p.owner.store;
    uint64_t objects = weft_store_objects(s);
    CALL_VOID(&p.user, "scribble", 0);
    ASSERT_RC(weft_store_reset(s, objects - 1), WEFT_EARG);
    ASSERT_TRUE(weft_memory_new(s, (weft_limits_t){.min = 1}) != NULL);
    ASSERT_RC(weft_store_can_reset(s, objects), WEFT_EARG);
    ASSERT_RC(weft_store_reset(s, objects), WEFT_EARG);
    ASSERT_CONTAINS(weft_store_errmsg(s), "made objects since");
    ASSERT_EQ_INT(CALL_I32(&p.user, "g", 0), 99); /* refused: nothing touched */

    fixture_t im;
    fx_load_on_host_memory(&im, "memzero_import", 1);
    ASSERT_RC(weft_store_reset(im.store, weft_store_objects(im.store)), WEFT_EARG);
    ASSERT_CONTAINS(weft_store_errmsg(im.store), "no instance defines");

    /* start_trap.wat's start function writes into the owner's memory,
     * then traps */
    pair_t q;
    open_pair(&q);
    weft_extern_t mem;
    ASSERT_OK(weft_instance_export(q.owner.inst, "mem", &mem));
    ASSERT_OK(weft_linker_define(q.owner.linker, "env", "memory", &mem));
    weft_module_t *bad = h_module(q.owner.engine, "start_trap");
    weft_instance_t *inst = NULL;
    ASSERT_RC(weft_linker_instantiate(q.owner.linker, bad, &inst), WEFT_ETRAP);
    ASSERT_RC(weft_store_reset(q.owner.store, weft_store_objects(q.owner.store)), WEFT_EARG);
    ASSERT_CONTAINS(weft_store_errmsg(q.owner.store), "instantiation in the store failed");
}
