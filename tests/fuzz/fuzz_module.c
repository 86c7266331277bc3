/*
 * fuzz_module.c — libFuzzer target: arbitrary bytes through the whole engine.
 *
 * Loads the input; if it is a module, instantiates it in a store with small
 * limits and fuel, every import satisfied by a stub of the right type, and
 * calls every exported function with zeros (then all-ones) as arguments.
 * Beyond crashes and leaks (the sanitizers' job) it aborts when the API
 * breaks its contract (undocumented code, missing message, trap without a
 * code) or when two runs in fresh stores differ in any outcome, result or
 * fuel left. replay.c runs it over the corpus without libFuzzer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/weft.h>

#include "fuzz_stubs.h"

#define FUZZ_FUEL 10000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Digest of everything observable in one run, to compare two runs. */
typedef struct {
    uint64_t hash;
    int unreliable; /* an out-of-memory outcome: allowed to differ */
} trace_t;

static void trace_add(trace_t *t, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        t->hash ^= (v >> (8 * i)) & 0xff;
        t->hash *= 0x100000001b3ull; /* FNV-1a */
    }
}

static void trace_outcome(trace_t *t, const weft_store_t *store, int rc)
{
    trace_add(t, (uint64_t)(int64_t)rc);
    if (rc == WEFT_ETRAP)
        trace_add(t, weft_store_trap(store));
    if (rc == WEFT_ENOMEM || (rc == WEFT_ETRAP && weft_store_trap(store) == WEFT_TRAP_NOMEM))
        t->unreliable = 1;
}

static void contract_broken(const char *what, int rc, const char *detail)
{
    fprintf(stderr, "fuzz_module: API contract broken: %s (rc %d %s) %s\n", what, rc,
            weft_errname(rc), detail ? detail : "");
    abort();
}

static weft_val_t zero_of(weft_valtype_t t) { return fz_zero_of(t); }

/* Defines a stub for import `d`. A definition the store refuses (limits
 * over the caps) is left out, and instantiation then fails to link. */
static void define_stub(weft_store_t *store, weft_linker_t *linker, const weft_externdesc_t *d)
{
    if (fz_define_stub(store, linker, d) == -2)
        contract_broken("import without a type or of an unknown kind", d->kind, NULL);
}

static void check_trap(const weft_store_t *store, int rc, const char *what)
{
    weft_trap_code_t code;
    const char *msg;
    if (rc != WEFT_ETRAP)
        return;
    code = weft_store_trap(store);
    msg = weft_store_trap_message(store);
    /* WEFT_TRAP_EXIT comes only from weft_caller_exit, which no stub calls */
    if (code == WEFT_TRAP_NONE || code > WEFT_TRAP_NOMEM)
        contract_broken(what, rc, "trap without a valid code");
    if (msg == NULL)
        contract_broken(what, rc, "trap without a message");
}

/* Calls export function `f` with arguments made by `make` and adds the
 * outcome to `trace`; any outcome but a broken contract is fine. */
static void call_with(weft_store_t *store, weft_func_t *f, weft_val_t (*make)(weft_valtype_t),
                      trace_t *trace)
{
    const weft_functype_t *ft = weft_func_type(f);
    size_t np = weft_functype_nparams(ft), nr = weft_functype_nresults(ft);
    weft_val_t *args = calloc(np ? np : 1, sizeof *args);
    weft_val_t *results = calloc(nr ? nr : 1, sizeof *results);
    int rc;
    if (args == NULL || results == NULL) {
        trace->unreliable = 1;
        goto done;
    }
    for (size_t i = 0; i < np; i++)
        args[i] = make(weft_functype_param(ft, i));
    weft_store_set_fuel(store, FUZZ_FUEL);
    rc = weft_func_call(store, f, args, np, results, nr);
    if (rc != 0 && rc != WEFT_ETRAP && rc != WEFT_ENOMEM)
        contract_broken("weft_func_call", rc, weft_store_errmsg(store));
    check_trap(store, rc, "weft_func_call");
    trace_outcome(trace, store, rc);
    trace_add(trace, weft_store_fuel(store));
    if (rc == 0) {
        for (size_t i = 0; i < nr; i++) {
            if (results[i].type != weft_functype_result(ft, i))
                contract_broken("weft_func_call result type", rc, NULL);
            /* references differ between stores; only their null-ness counts */
            if (results[i].type == WEFT_FUNCREF || results[i].type == WEFT_EXTERNREF)
                trace_add(trace, results[i].of.ref != NULL);
            else
                trace_add(trace, (uint64_t)results[i].of.i64 &
                                     (results[i].type == WEFT_I64 || results[i].type == WEFT_F64
                                          ? UINT64_MAX
                                          : UINT32_MAX));
        }
    }
done:
    free(args);
    free(results);
}

/* Reads what the instance exports besides functions, through the API. */
static void touch_export(weft_extern_t *ext)
{
    weft_val_t v;
    uint8_t byte;
    switch (ext->kind) {
    case WEFT_EXTERN_MEMORY:
        if (weft_memory_size(ext->of.memory) > 0 &&
            weft_memory_read(ext->of.memory, weft_memory_size(ext->of.memory) - 1, &byte, 1) != 0)
            contract_broken("weft_memory_read of the last byte", -1, NULL);
        break;
    case WEFT_EXTERN_GLOBAL:
        weft_global_get(ext->of.global, &v);
        if (v.type != weft_global_type(ext->of.global))
            contract_broken("weft_global_get type", -1, NULL);
        break;
    case WEFT_EXTERN_TABLE:
        if (weft_table_size(ext->of.table) > 0 &&
            weft_table_get(ext->of.table, weft_table_size(ext->of.table) - 1, &v) != 0)
            contract_broken("weft_table_get of the last element", -1, NULL);
        break;
    default:
        break;
    }
}

static void run_module(weft_engine_t *engine, weft_module_t *module, trace_t *trace)
{
    int rc;
    weft_store_t *store = fz_store_new(engine, &rc);
    weft_linker_t *linker = NULL;
    weft_instance_t *inst = NULL;
    weft_externdesc_t d;
    weft_extern_t ext;
    size_t n;

    if (store == NULL) {
        trace->unreliable = 1;
        return;
    }
    if (rc != 0)
        contract_broken("weft_store_set_limits", -1, NULL);
    linker = weft_linker_new(store);
    if (linker == NULL) {
        trace->unreliable = 1;
        goto done;
    }

    n = weft_module_import_count(module);
    for (size_t i = 0; i < n; i++) {
        if (weft_module_import(module, i, &d) != 0)
            contract_broken("weft_module_import in range", -1, NULL);
        define_stub(store, linker, &d);
    }

    weft_store_set_fuel(store, FUZZ_FUEL); /* the start function runs now */
    rc = weft_linker_instantiate(linker, module, &inst);
    if (rc != 0 && rc != WEFT_EUNLINKABLE && rc != WEFT_ETRAP && rc != WEFT_ENOMEM &&
        rc != WEFT_ELIMIT)
        contract_broken("weft_linker_instantiate", rc, weft_store_errmsg(store));
    check_trap(store, rc, "weft_linker_instantiate");
    trace_outcome(trace, store, rc);
    if (rc != 0)
        goto done;

    n = weft_module_export_count(module);
    for (size_t i = 0; i < n; i++) {
        if (weft_module_export(module, i, &d) != 0)
            contract_broken("weft_module_export in range", -1, NULL);
        if (weft_instance_export_n(inst, d.name, d.name_len, &ext) != 0)
            contract_broken("weft_instance_export_n of a listed export", -1, NULL);
        if (ext.kind != d.kind)
            contract_broken("export kind differs from the listing", -1, NULL);
        if (ext.kind == WEFT_EXTERN_FUNC) {
            call_with(store, ext.of.func, zero_of, trace);
            if (weft_functype_nparams(weft_func_type(ext.of.func)) > 0)
                call_with(store, ext.of.func, fz_ones_of, trace);
        } else {
            touch_export(&ext);
        }
    }

done:
    if (linker != NULL)
        weft_linker_delete(linker);
    weft_store_delete(store);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    weft_engine_t *engine = weft_engine_new();
    weft_module_t *module = NULL;
    char msg[256];
    int rc;

    if (engine == NULL)
        return 0;
    memset(msg, 0x55, sizeof msg);
    rc = weft_module_new(engine, data, size, &module, msg, sizeof msg);
    if (rc == 0) {
        if (module == NULL)
            contract_broken("weft_module_new success without module", rc, NULL);
        trace_t first = {0xcbf29ce484222325ull, 0}, second = first;
        run_module(engine, module, &first);
        run_module(engine, module, &second);
        if (!first.unreliable && !second.unreliable && first.hash != second.hash)
            contract_broken("two runs of the same module differ", 0, NULL);
        weft_module_delete(module);
    } else {
        if (rc != WEFT_EMALFORMED && rc != WEFT_EINVALID && rc != WEFT_ELIMIT && rc != WEFT_ENOMEM)
            contract_broken("weft_module_new", rc, NULL);
        if (memchr(msg, '\0', sizeof msg) == NULL)
            contract_broken("weft_module_new message not terminated", rc, NULL);
        if (msg[0] == '\0')
            contract_broken("weft_module_new empty message", rc, NULL);
    }
    weft_engine_delete(engine);
    return 0;
}
