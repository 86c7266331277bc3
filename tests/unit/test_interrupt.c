/*
 * test_interrupt.c — weft_store_interrupt from another thread.
 *
 * A helper thread sleeps ~50 ms and interrupts the store while the main
 * thread runs an endless loop; the call must end with
 * WEFT_TRAP_INTERRUPTED. Only outcomes are asserted, never timings (CTest's
 * timeout catches an interrupt that never lands). The flag stays set until
 * cleared, so later calls stop too; after clearing, the store runs again.
 */
#include <pthread.h>
#include <time.h>

#include "harness.h"

typedef struct {
    weft_store_t *store;
    long delay_ms;
} interrupter_t;

static void *interrupt_later(void *arg)
{
    interrupter_t *it = arg;
    struct timespec ts = {it->delay_ms / 1000, (it->delay_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    weft_store_interrupt(it->store);
    return NULL;
}

/* Runs export `name` (no args, no results) while another thread interrupts. */
static int run_interrupted(fixture_t *fx, const char *name)
{
    interrupter_t it = {fx->store, 50};
    pthread_t th;
    int rc;
    if (pthread_create(&th, NULL, interrupt_later, &it) != 0)
        FAIL("pthread_create failed");
    rc = fx_call(fx, name, NULL, 0, NULL, 0);
    pthread_join(th, NULL);
    return rc;
}

TEST(interrupt_stops_endless_loop)
{
    fixture_t fx;
    fx_load(&fx, "fuel");
    ASSERT_TRAP(fx.store, run_interrupted(&fx, "spin"), WEFT_TRAP_INTERRUPTED);
    ASSERT_CONTAINS(weft_store_trap_message(fx.store), "interrupt");
    weft_store_clear_interrupt(fx.store);
    ASSERT_EQ_INT(CALL_I32(&fx, "sum", 1, 10), 55);
}

TEST(interrupt_stops_loop_of_calls)
{
    fixture_t fx;
    fx_load(&fx, "fuel");
    ASSERT_TRAP(fx.store, run_interrupted(&fx, "spin_calls"), WEFT_TRAP_INTERRUPTED);
    weft_store_clear_interrupt(fx.store);
    ASSERT_EQ_INT(CALL_I32(&fx, "ok", 0), 42);
}

TEST(interrupt_with_fuel_enabled)
{
    fixture_t fx;
    fx_load(&fx, "fuel");
    weft_store_set_fuel(fx.store, UINT64_MAX - 1);
    ASSERT_TRAP(fx.store, run_interrupted(&fx, "spin"), WEFT_TRAP_INTERRUPTED);
    weft_store_clear_interrupt(fx.store);
    ASSERT_EQ_INT(CALL_I32(&fx, "sum", 1, 10), 55);
}

TEST(interrupt_flag_stays_until_cleared)
{
    fixture_t fx;
    fx_load(&fx, "fuel");
    weft_store_interrupt(fx.store);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "ok", 0), WEFT_TRAP_INTERRUPTED);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "sum", 1, 10), WEFT_TRAP_INTERRUPTED);
    weft_store_clear_interrupt(fx.store);
    ASSERT_EQ_INT(CALL_I32(&fx, "ok", 0), 42);
    /* clearing twice, and interrupting an idle store, are harmless */
    weft_store_clear_interrupt(fx.store);
    ASSERT_EQ_INT(CALL_I32(&fx, "sum", 1, 10), 55);
}

TEST(interrupt_stops_start_function)
{
    fixture_t fx;
    weft_instance_t *inst = NULL;
    interrupter_t it;
    pthread_t th;
    int rc;
    fx_open(&fx, "start_spin");
    it.store = fx.store;
    it.delay_ms = 50;
    ASSERT_EQ_INT(pthread_create(&th, NULL, interrupt_later, &it), 0);
    rc = weft_linker_instantiate(fx.linker, fx.module, &inst);
    pthread_join(th, NULL);
    ASSERT_TRAP(fx.store, rc, WEFT_TRAP_INTERRUPTED);
}
