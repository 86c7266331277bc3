/*
 * test_fuel.c — deterministic fuel metering.
 *
 * Fuel must stop endless loops (in calls and in start functions), must be
 * charged identically for identical work (the property replicas rely on),
 * must grow with the work done, and an exact budget must suffice while one
 * unit less must not. Module: wat/fuel.wat.
 */
#include "harness.h"

#define BUDGET 1000000u

/* Fuel consumed by sum(n) from a fresh budget. */
static uint64_t cost_of_sum_at(const char *file, int line, fixture_t *fx, int32_t n)
{
    weft_store_set_fuel(fx->store, BUDGET);
    if (fx_call_i32_at(file, line, fx, "sum", 1, 1, n) != n * (n + 1) / 2)
        test_fail(file, line, "sum(%d) is wrong", (int)n);
    return BUDGET - weft_store_fuel(fx->store);
}
#define COST_OF_SUM(fx, n) cost_of_sum_at(__FILE__, __LINE__, fx, n)

TEST(fuel_off_by_default)
{
    fixture_t fx;
    fx_load(&fx, "fuel");
    ASSERT_EQ_U64(weft_store_fuel(fx.store), UINT64_MAX);
    ASSERT_EQ_INT(CALL_I32(&fx, "sum", 1, 10), 55);
    ASSERT_EQ_U64(weft_store_fuel(fx.store), UINT64_MAX);
}

TEST(fuel_stops_endless_loop)
{
    fixture_t fx;
    fx_load(&fx, "fuel");
    weft_store_set_fuel(fx.store, 10000);
    ASSERT_EQ_U64(weft_store_fuel(fx.store), 10000);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "spin", 0), WEFT_TRAP_OUT_OF_FUEL);
    ASSERT_CONTAINS(weft_store_trap_message(fx.store), "fuel");
    ASSERT_LT_U64(weft_store_fuel(fx.store), 10000);

    weft_store_set_fuel(fx.store, 10000);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "spin_calls", 0), WEFT_TRAP_OUT_OF_FUEL);

    /* refuelled, the store runs again */
    weft_store_set_fuel(fx.store, 10000);
    ASSERT_EQ_INT(CALL_I32(&fx, "sum", 1, 10), 55);
}

TEST(fuel_same_work_same_cost)
{
    fixture_t fx, other;
    uint64_t c1, c2, c3;
    fx_load(&fx, "fuel");
    c1 = COST_OF_SUM(&fx, 100);
    c2 = COST_OF_SUM(&fx, 100);
    ASSERT_GT_U64(c1, 0);
    ASSERT_EQ_U64(c1, c2);
    /* another store and instance of the same module: same cost */
    fx_load(&other, "fuel");
    c3 = COST_OF_SUM(&other, 100);
    ASSERT_EQ_U64(c1, c3);
}

TEST(fuel_more_work_costs_more)
{
    fixture_t fx;
    uint64_t c0, c100, c200, c300;
    fx_load(&fx, "fuel");
    c0 = COST_OF_SUM(&fx, 0);
    c100 = COST_OF_SUM(&fx, 100);
    c200 = COST_OF_SUM(&fx, 200);
    c300 = COST_OF_SUM(&fx, 300);
    ASSERT_LT_U64(c0, c100);
    ASSERT_LT_U64(c100, c200);
    /* every iteration runs the same instructions, so costs the same */
    ASSERT_EQ_U64(c200 - c100, c300 - c200);
    /* one unit per executed instruction (store.h): an iteration is 12, from
     * the first local.get to `br 0` */
    ASSERT_EQ_U64(c200 - c100, 100 * 12);
}

TEST(fuel_exact_budget_suffices)
{
    fixture_t fx;
    uint64_t c;
    fx_load(&fx, "fuel");
    c = COST_OF_SUM(&fx, 50);
    weft_store_set_fuel(fx.store, c);
    ASSERT_EQ_INT(CALL_I32(&fx, "sum", 1, 50), 1275);
    ASSERT_EQ_U64(weft_store_fuel(fx.store), 0);
    weft_store_set_fuel(fx.store, c - 1);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "sum", 1, 50), WEFT_TRAP_OUT_OF_FUEL);
}

TEST(fuel_zero_budget_traps_at_once)
{
    fixture_t fx;
    fx_load(&fx, "fuel");
    weft_store_set_fuel(fx.store, 0);
    ASSERT_EQ_U64(weft_store_fuel(fx.store), 0);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "ok", 0), WEFT_TRAP_OUT_OF_FUEL);
}

TEST(fuel_disable)
{
    fixture_t fx;
    fx_load(&fx, "fuel");
    weft_store_set_fuel(fx.store, 10);
    ASSERT_EQ_U64(weft_store_fuel(fx.store), 10);
    weft_store_disable_fuel(fx.store);
    ASSERT_EQ_U64(weft_store_fuel(fx.store), UINT64_MAX);
    ASSERT_EQ_INT(CALL_I32(&fx, "sum", 1, 1000), 500500);
    ASSERT_EQ_U64(weft_store_fuel(fx.store), UINT64_MAX);
}

TEST(fuel_bounds_start_function)
{
    fixture_t fx;
    weft_instance_t *inst = NULL;
    fx_open(&fx, "start_spin");
    weft_store_set_fuel(fx.store, 5000);
    ASSERT_TRAP(fx.store, weft_linker_instantiate(fx.linker, fx.module, &inst),
                WEFT_TRAP_OUT_OF_FUEL);
}
