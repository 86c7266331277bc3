/*
 * test_wasm3.c — the Wasm 3.0 features weft supports, where the spec-format
 * tests (tests/spec/wasm3) cannot reach: host functions as tail-call
 * targets, fuel and interrupts in tail recursion, multi-memory through the
 * public API. Modules: wat/wasm3/ (converted with the features enabled).
 */
#include <stdlib.h>

#include "harness.h"

static int host_twice(weft_caller_t *c, void *user, const weft_val_t *args, weft_val_t *results)
{
    (void)c;
    (*(int *)user)++;
    results[0] = weft_val_i32(args[0].of.i32 * 2);
    return 0;
}

static int host_boom(weft_caller_t *c, void *user, const weft_val_t *args, weft_val_t *results)
{
    (void)user, (void)results;
    return weft_caller_trap(c, "boom %d", (int)args[0].of.i32);
}

static void open_tail(fixture_t *fx, int *calls)
{
    fx_open(fx, "tail_call");
    ASSERT_OK(weft_linker_define_func(fx->linker, "env", "twice", h_functype("i", "i"), host_twice, calls));
    ASSERT_OK(weft_linker_define_func(fx->linker, "env", "boom", h_functype("i", "i"), host_boom, NULL));
    fx_instantiate(fx);
}

TEST(tail_call_to_host_function)
{
    fixture_t fx;
    int calls = 0;
    open_tail(&fx, &calls);
    ASSERT_EQ_INT(CALL_I32(&fx, "to_host", 1, 20), 42);
    ASSERT_EQ_INT(calls, 1);
    /* from a frame that is not the entry one: the results go to its caller */
    ASSERT_EQ_INT(CALL_I32(&fx, "via", 1, 5), 1010);
    ASSERT_EQ_INT(calls, 2);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "to_host_trap", 1, 3), WEFT_TRAP_HOST);
    ASSERT_CONTAINS(weft_store_trap_message(fx.store), "boom 3");
    /* the store is usable after the host's trap */
    ASSERT_EQ_INT(CALL_I32(&fx, "to_host", 1, 0), 2);
}

TEST(tail_call_costs_fuel_as_a_call)
{
    fixture_t fx;
    int calls = 0;
    open_tail(&fx, &calls);
    uint64_t cost[2][2];
    const char *names[2] = {"count_tail", "count_call"};
    for (int k = 0; k < 2; k++) {
        for (int j = 0; j < 2; j++) {
            weft_store_set_fuel(fx.store, 1000000);
            ASSERT_EQ_INT(CALL_I32(&fx, names[k], 1, 100 + j), 7);
            cost[k][j] = 1000000 - weft_store_fuel(fx.store);
        }
    }
    /* the same instructions, one call op each: the same fuel, and each
     * level of either costs the same */
    ASSERT_EQ_U64(cost[0][0], cost[1][0]);
    ASSERT_EQ_U64(cost[0][1], cost[1][1]);
    ASSERT_GT_U64(cost[0][1], cost[0][0]);
}

TEST(tail_call_endless_recursion_runs_out_of_fuel_not_stack)
{
    fixture_t fx;
    int calls = 0;
    open_tail(&fx, &calls);
    /* 12.5 million levels, far deeper than the call depth limit: only
     * fuel stops it. A level costs 4 (local.get, i32.const, i32.add,
     * return_call; the callee's entry check adds nothing for no locals).
     * Runs are charged unchecked and the next entry's check traps, leaving
     * no fuel (docs/engine.md "Fuel"). */
    weft_store_set_fuel(fx.store, 50000003);
    ASSERT_TRAP(fx.store, TRY_I32(&fx, "spin", 1, 0), WEFT_TRAP_OUT_OF_FUEL);
    ASSERT_EQ_U64(weft_store_fuel(fx.store), 0);
}

/* Loads wasm3/NAME with features_off; returns the load's code. */
static int load_with_off(const char *name, unsigned off, char *msg, size_t msg_size)
{
    size_t len;
    uint8_t *bytes = h_read_wasm(name, &len);
    weft_load_options_t opts = {0};
    opts.features_off = off;
    weft_module_t *m = NULL;
    int rc = weft_module_new_opts(h_engine(), bytes, len, &opts, &m, msg, msg_size);
    if (m) weft_module_delete(m);
    return rc;
}

TEST(wasm3_features_can_be_turned_off)
{
    char msg[256];
    /* on by default, and with the other features off */
    ASSERT_OK(load_with_off("tail_call", 0, msg, sizeof msg));
    ASSERT_OK(load_with_off("tail_call", ~WEFT_FEATURE_TAIL_CALL, msg, sizeof msg));
    ASSERT_OK(load_with_off("extended_const", ~WEFT_FEATURE_EXTENDED_CONST, msg, sizeof msg));
    /* off: refused as WebAssembly 2.0 refuses them */
    ASSERT_RC(load_with_off("tail_call", WEFT_FEATURE_TAIL_CALL, msg, sizeof msg), WEFT_EMALFORMED);
    ASSERT_CONTAINS(msg, "illegal opcode 0x12");
    ASSERT_RC(load_with_off("extended_const", WEFT_FEATURE_EXTENDED_CONST, msg, sizeof msg), WEFT_EINVALID);
    ASSERT_CONTAINS(msg, "constant expression required");

    fixture_t fx;
    fx_load(&fx, "extended_const");
    weft_val_t v;
    weft_global_get(fx_global(&fx, "g"), &v);
    ASSERT_EQ_INT(v.of.i32, 42);
}

/* poke(addr, byte): writes through the caller's exported "memory". */
static int host_poke(weft_caller_t *c, void *user, const weft_val_t *args, weft_val_t *results)
{
    (void)user, (void)results;
    weft_memory_t *mem = weft_caller_memory(c, "memory");
    uint8_t b = (uint8_t)args[1].of.i32;
    if (!mem || weft_memory_write(mem, (uint32_t)args[0].of.i32, &b, 1) != 0)
        return weft_caller_trap(c, "no exported memory");
    return 0;
}

TEST(multi_memory_api_and_host_memory)
{
    fixture_t fx;
    fx_open(&fx, "multi_memory");
    ASSERT_OK(weft_linker_define_func(fx.linker, "env", "poke", h_functype("ii", ""), host_poke, NULL));
    fx_instantiate(&fx);
    ASSERT_EQ_INT((int)weft_module_memory_count(fx.module), 3);

    weft_memory_t *m0 = NULL, *m1 = NULL, *m2 = NULL, *none = NULL;
    ASSERT_OK(weft_instance_memory(fx.inst, 0, &m0));
    ASSERT_OK(weft_instance_memory(fx.inst, 1, &m1));
    ASSERT_OK(weft_instance_memory(fx.inst, 2, &m2));
    ASSERT_RC(weft_instance_memory(fx.inst, 3, &none), WEFT_ENOTFOUND);
    ASSERT_NULL(none);
    ASSERT_EQ_INT((int)weft_memory_pages(m0), 1);
    ASSERT_EQ_INT((int)weft_memory_pages(m1), 2);
    ASSERT_EQ_INT((int)weft_memory_pages(m2), 0);
    /* the export by name is memory 1 */
    ASSERT_EQ_PTR(fx_memory(&fx, "memory"), m1);
    char buf[8] = {0};
    ASSERT_OK(weft_memory_read(m0, 0, buf, 7));
    ASSERT_EQ_STR(buf, "private");
    ASSERT_OK(weft_memory_read(m1, 0, buf, 6));
    buf[6] = 0;
    ASSERT_EQ_STR(buf, "public");

    /* a host function writes the exported memory, the guest reads it there */
    ASSERT_EQ_INT(CALL_I32(&fx, "poke_and_read", 2, 100, 0x5a), 0x5a);
    uint8_t b = 0;
    ASSERT_OK(weft_memory_read(m1, 100, &b, 1));
    ASSERT_EQ_INT(b, 0x5a);
    ASSERT_OK(weft_memory_read(m0, 100, &b, 1));
    ASSERT_EQ_INT(b, 0);
    ASSERT_EQ_INT(CALL_I32(&fx, "private_at", 1, 100), 0);

    /* growing memory 2 from the host is seen by the guest */
    ASSERT_EQ_INT(CALL_I32(&fx, "third_size", 0), 0);
    uint32_t old = 9;
    ASSERT_OK(weft_memory_grow(m2, 1, &old));
    ASSERT_EQ_INT((int)old, 0);
    ASSERT_EQ_INT(CALL_I32(&fx, "third_size", 0), 1);
}

/* (Two memories were invalid before multi-memory: test_validate.c had
 * validate_two_memories.) */
TEST(multi_memory_can_be_turned_off)
{
    char msg[256];
    ASSERT_OK(load_with_off("multi_memory", ~WEFT_FEATURE_MULTI_MEMORY, msg, sizeof msg));
    ASSERT_RC(load_with_off("multi_memory", WEFT_FEATURE_MULTI_MEMORY, msg, sizeof msg), WEFT_EINVALID);
    ASSERT_CONTAINS(msg, "multiple memories");
}

/* The listing of every function of module `name` from `first` (its
 * imports come before): each must list (the cell counts of ops.def are
 * right, or the dumper loses its way and fails). */
static char *dump_all(const char *name, uint32_t first, uint32_t count)
{
    weft_module_t *m = h_module(h_engine(), name);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ASSERT_NOT_NULL(out);
    for (uint32_t i = first; i < first + count; i++) ASSERT_OK(weft_module_dump_code(m, i, out));
    fclose(out);
    test_defer(free, text);
    ASSERT_NULL(strstr(text, "??"));
    return text;
}

TEST(wasm3_dump_code_lists_the_new_ops)
{
    char *text = dump_all("tail_call", 2, 7);
    ASSERT_CONTAINS(text, "RETURN_CALL ");
    text = dump_all("multi_memory", 1, 3);
    ASSERT_CONTAINS(text, "LOAD_M");
    ASSERT_CONTAINS(text, "MEMORY_SIZE_M");
    ASSERT_CONTAINS(text, "I32_LOAD8_U"); /* memory 0 keeps its own ops */
}
