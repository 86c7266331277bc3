/*
 * weft/store.h — a store: the place where instances run.
 *
 * A store owns everything instantiated in it (instances, memories, tables,
 * globals, host functions) and the execution state: value stack, call
 * stack, fuel, limits and the last trap. Objects from one store may be
 * linked only with objects of the same store. Everything in a store is freed
 * by weft_store_delete.
 *
 * Thread safety: a store and its objects may be used by one thread at a
 * time, except weft_store_interrupt, which any thread may call at any time.
 *
 * Limits are per store (so per instance when, as usual, each instance gets
 * its own store). Deep recursion traps with WEFT_TRAP_STACK_EXHAUSTED: wasm
 * calls never recurse on the host's C stack.
 */
#ifndef WEFT_STORE_H
#define WEFT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_store weft_store_t;
struct weft_module;

/* Trap codes. XX(name, message) — the message is the WebAssembly spec's
 * wording where the spec has one. */
#define WEFT_TRAP_MAP(XX)                                                     \
    XX(NONE, "no trap")                                                       \
    XX(UNREACHABLE, "unreachable")                                            \
    XX(MEMORY_OOB, "out of bounds memory access")                             \
    XX(TABLE_OOB, "out of bounds table access")                               \
    XX(DIV_ZERO, "integer divide by zero")                                    \
    XX(INT_OVERFLOW, "integer overflow")                                      \
    XX(INVALID_CONVERSION, "invalid conversion to integer")                   \
    XX(UNDEFINED_ELEMENT, "undefined element")                                \
    XX(UNINITIALIZED_ELEMENT, "uninitialized element")                        \
    XX(INDIRECT_CALL_MISMATCH, "indirect call type mismatch")                 \
    XX(STACK_EXHAUSTED, "call stack exhausted")                               \
    XX(OUT_OF_FUEL, "out of fuel")                                            \
    XX(INTERRUPTED, "interrupted")                                            \
    XX(HOST, "host trap")                                                     \
    XX(NOMEM, "out of memory")                                                \
    XX(EXIT, "exit")

typedef enum {
#define XX(name, msg) WEFT_TRAP_##name,
    WEFT_TRAP_MAP(XX)
#undef XX
} weft_trap_code_t;

/* Static description of a trap code ("integer divide by zero"). */
const char *weft_trap_string(weft_trap_code_t code);
/* Symbolic name of a trap code ("DIV_ZERO"). */
const char *weft_trap_name(weft_trap_code_t code);

typedef struct {
    uint32_t max_memory_pages;  /* cap on every memory of the store; default 65536 (4 GiB) */
    uint32_t max_table_elems;   /* cap on the elements of all the store's tables
                                   together (instantiation, table.grow,
                                   weft_table_new); default 10,000,000 */
    uint32_t max_call_depth;    /* nested wasm calls; default 10,000 */
    size_t max_stack_bytes;     /* value stack (locals + operands); default 8 MiB */
} weft_limits_config_t;

/* Default limits, as documented above. */
weft_limits_config_t weft_limits_default(void);

/* Creates a store with default limits. Returns NULL when out of memory.
 * Owned by the caller; free with weft_store_delete. */
weft_store_t *weft_store_new(weft_engine_t *engine);
void weft_store_delete(weft_store_t *store);

/* Sets limits; applies to later allocations and calls. Returns WEFT_EARG
 * if a value is zero or max_stack_bytes is below 4 KiB. */
int weft_store_set_limits(weft_store_t *store, const weft_limits_config_t *limits);
weft_limits_config_t weft_store_limits(const weft_store_t *store);

/* Fuel. By default fuel is off (unlimited). weft_store_set_fuel turns it on
 * with `fuel` units; every executed WebAssembly instruction costs one unit,
 * except block, loop, else, end and nop, which compile to nothing and are
 * free. Fuel is charged at the start of each straight-line run for the whole
 * run, so the same module and inputs consume the same fuel on every
 * machine, and a run that does not fit traps before it starts. Work that
 * grows with an operand pays for its size on top, by the same rule as host
 * functions (weft_caller_consume_fuel): memory.fill, memory.copy and
 * memory.init 1 unit per 16 bytes (rounded up), memory.grow 4096 per page
 * (its 64 KiB are zeroed), table.fill, table.copy, table.init and
 * table.grow 1 per element, and a call 1 per 16 declared locals of the
 * callee (zeroed on entry; charged with the callee's first instructions).
 * A bulk operation is charged after its bounds check (out of bounds traps
 * as before) and before it does anything; a grow that fails (returns -1)
 * pays nothing for its size. When fuel runs out the call traps with
 * WEFT_TRAP_OUT_OF_FUEL, and a charge that does not fit leaves the fuel as
 * it was. weft_store_fuel returns what is left (UINT64_MAX when off). */
void weft_store_set_fuel(weft_store_t *store, uint64_t fuel);
void weft_store_disable_fuel(weft_store_t *store);
uint64_t weft_store_fuel(const weft_store_t *store);

/* Asks the running call, if any, to stop: it traps with
 * WEFT_TRAP_INTERRUPTED at the next function entry or loop iteration (a
 * host function that waits must look itself: weft_caller_check_interrupt).
 * Safe from any thread and from signal handlers, but never at the same
 * time as weft_store_delete of that store: the caller keeps the store alive
 * (say, under a lock the deleting thread also takes) until no interrupt
 * can come. The flag stays set until weft_store_clear_interrupt, so every
 * call started after it also stops at once; a reset keeps it too
 * (weft_instance_reset, weft_store_reset, weft_cinstance_reset), and then
 * stops the start functions the reset runs again (WEFT_ETRAP).
 * An embedder that reuses a store for another call clears a flag raised
 * for the last one with weft_store_clear_interrupt BEFORE it lets the next
 * call's interrupt come (arms its deadline, publishes the store to the
 * thread that interrupts it), and not after: an interrupt raised after the
 * clear then always reaches the call, even while the store is still being
 * reset for it. */
void weft_store_interrupt(weft_store_t *store);
void weft_store_clear_interrupt(weft_store_t *store);

/* The last trap of this store: its code, and a NUL-terminated message
 * borrowed from the store until the next call. */
weft_trap_code_t weft_store_trap(const weft_store_t *store);
const char *weft_store_trap_message(const weft_store_t *store);

/* When the last call ended with WEFT_TRAP_EXIT (a host function called
 * weft_caller_exit, e.g. WASI proc_exit), its exit status; else 0. */
int weft_store_exit_status(const weft_store_t *store);

/* The last error message of a failed operation on this store (for example
 * the name of the import that failed to link). Borrowed until the next
 * operation. */
const char *weft_store_errmsg(const weft_store_t *store);

/* Resetting a whole store, for an embedder that keeps it for its next call
 * (a component's core instances import memories, tables and globals from
 * each other, which weft_instance_reset refuses; src/node/call.c's pool).
 *
 * weft_store_objects: how many objects (functions, memories, tables,
 * globals, instances) the store has made so far; only grows. Note it once
 * the instances are made.
 * weft_store_reset: makes every instance of the store as it was when
 * instantiated, in the order they were made, each as weft_instance_reset
 * does (memories zero at their minimum size then the data segments,
 * tables null then the element segments, globals their initial values,
 * the start function run again under the store's fuel); the store's trap,
 * exit status and message cleared, its interrupt flag kept (see
 * weft_store_interrupt). Host functions keep their user pointers.
 * Returns 0, or
 *   WEFT_EARG   the store made objects since `objects` was noted, is
 *               running, holds a memory, table or global that no instance
 *               of it defines (the embedder's: a reset cannot restore it),
 *               or an instantiation in it failed;
 *   WEFT_ENOMEM a memory could not be cleared;
 *   WEFT_ETRAP  a segment or a start function trapped (an interrupt raised
 *               before or during the reset: WEFT_TRAP_INTERRUPTED).
 * After an error the store must not be used again (delete it).
 * weft_store_can_reset: whether weft_store_reset would accept it (0 or
 * WEFT_EARG, weft_store_errmsg says why).
 * weft_store_memory_bytes: the bytes of every memory the store's
 * instances define, at their current sizes.
 * The store's thread only. */
uint64_t weft_store_objects(const weft_store_t *store);
int weft_store_reset(weft_store_t *store, uint64_t objects);
int weft_store_can_reset(const weft_store_t *store, uint64_t objects);
uint64_t weft_store_memory_bytes(const weft_store_t *store);

/* Backtrace of the last trap: the function indices (in their module's index
 * space) from innermost to outermost. Returns the number of entries
 * (at most 64) and fills up to `max` of them. */
size_t weft_store_trap_backtrace(const weft_store_t *store, uint32_t *out_funcs,
                                 const struct weft_module **out_modules, size_t max);

#ifdef __cplusplus
}
#endif
#endif
