/*
 * fuzz_tiers.c — libFuzzer target: each input module runs in every tier
 * (docs/jit.md) and the runs must agree exactly.
 *
 * The input is loaded once per tier (the interpreter, the compiled tier,
 * and `auto`, whose functions switch to compiled code in the middle of the
 * run once hot), instantiated in a fresh store with small limits, every
 * import a stub of the right type, and every exported function is called
 * with zeros, then all-ones, then zeros again (the last run finds the
 * functions `auto` compiled meanwhile), FUZZ_FUEL units each. A run is
 * recorded as text: every outcome, trap code, backtrace (function
 * indices), the fuel left, the result bits (floats included: both tiers
 * use the same SSE instructions, so NaN payloads agree too), and at the
 * end the exported globals and a digest of the exported memories. Any
 * difference between the tiers prints both records and aborts. An
 * out-of-memory outcome in either run skips the comparison.
 *
 * FUZZ_TIERS_SHOW=1 in the environment prints the interpreter's record.
 * replay.c runs it without libFuzzer (fuzz.tiers_replay replays
 * corpus_tiers/ and regressions/ in `make test`); `make fuzz-tiers` runs it
 * under libFuzzer for FUZZ_SECONDS.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/weft.h>

#include "fuzz_stubs.h"

#define FUZZ_FUEL 100000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One run's record: text, grown as needed. */
typedef struct {
    char *p;
    size_t len, cap;
    int unreliable; /* out of memory somewhere: not compared */
} rec_t;

static void put(rec_t *r, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = r->cap - r->len;
        va_start(ap, fmt);
        int n = vsnprintf(r->p ? r->p + r->len : NULL, r->p ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            r->unreliable = 1;
            return;
        }
        if (r->p && (size_t)n < room) {
            r->len += (size_t)n;
            return;
        }
        size_t cap = (r->cap ? r->cap * 2 : 4096) + (size_t)n;
        char *p = realloc(r->p, cap);
        if (p == NULL) {
            r->unreliable = 1;
            return;
        }
        r->p = p;
        r->cap = cap;
    }
}

static void put_outcome(rec_t *r, const weft_store_t *store, int rc)
{
    put(r, " rc=%d", rc);
    if (rc == WEFT_ENOMEM)
        r->unreliable = 1;
    if (rc != WEFT_ETRAP)
        return;
    weft_trap_code_t code = weft_store_trap(store);
    if (code == WEFT_TRAP_NOMEM)
        r->unreliable = 1;
    uint32_t funcs[64];
    size_t n = weft_store_trap_backtrace(store, funcs, NULL, 64);
    put(r, " trap=%d bt=", (int)code);
    for (size_t i = 0; i < n && i < 64; i++)
        put(r, i ? ",%u" : "%u", funcs[i]);
}

static void put_val(rec_t *r, const weft_val_t *v)
{
    switch (v->type) {
    case WEFT_I32:
    case WEFT_F32: put(r, " %d:%08" PRIx32, (int)v->type, (uint32_t)v->of.i32); break;
    case WEFT_I64:
    case WEFT_F64: put(r, " %d:%016" PRIx64, (int)v->type, (uint64_t)v->of.i64); break;
    case WEFT_FUNCREF:
    case WEFT_EXTERNREF: put(r, " ref:%d", v->of.ref != NULL); break; /* differ between stores */
    default: put(r, " other"); break;
    }
}

static void call_with(weft_store_t *store, weft_func_t *f, weft_val_t (*make)(weft_valtype_t),
                      rec_t *r)
{
    const weft_functype_t *ft = weft_func_type(f);
    size_t np = weft_functype_nparams(ft), nr = weft_functype_nresults(ft);
    weft_val_t *args = calloc(np ? np : 1, sizeof *args);
    weft_val_t *results = calloc(nr ? nr : 1, sizeof *results);
    if (args == NULL || results == NULL) {
        r->unreliable = 1;
        goto done;
    }
    for (size_t i = 0; i < np; i++)
        args[i] = make(weft_functype_param(ft, i));
    weft_store_set_fuel(store, FUZZ_FUEL);
    int rc = weft_func_call(store, f, args, np, results, nr);
    put_outcome(r, store, rc);
    put(r, " fuel=%" PRIu64, (uint64_t)weft_store_fuel(store));
    if (rc == 0)
        for (size_t i = 0; i < nr; i++)
            put_val(r, &results[i]);
    put(r, "\n");
done:
    free(args);
    free(results);
}

/* The exported state after the calls: globals' values, memories' bytes. */
static void put_export_state(rec_t *r, weft_extern_t *ext)
{
    weft_val_t v;
    if (ext->kind == WEFT_EXTERN_GLOBAL) {
        weft_global_get(ext->of.global, &v);
        put(r, "global");
        put_val(r, &v);
        put(r, "\n");
    } else if (ext->kind == WEFT_EXTERN_MEMORY) {
        uint64_t size = weft_memory_size(ext->of.memory), h = 0xcbf29ce484222325ull;
        uint8_t buf[4096];
        for (uint64_t at = 0; at < size; at += sizeof buf) {
            size_t n = size - at < sizeof buf ? (size_t)(size - at) : sizeof buf;
            if (weft_memory_read(ext->of.memory, at, buf, n) != 0) {
                put(r, "memory unreadable\n");
                return;
            }
            for (size_t i = 0; i < n; i++)
                h = (h ^ buf[i]) * 0x100000001b3ull; /* FNV-1a */
        }
        put(r, "memory %" PRIu64 " %016" PRIx64 "\n", size, h);
    }
}

static void run_module(weft_engine_t *engine, weft_module_t *module, rec_t *r)
{
    int rc;
    weft_store_t *store = fz_store_new(engine, &rc);
    weft_linker_t *linker = NULL;
    weft_instance_t *inst = NULL;
    weft_externdesc_t d;
    weft_extern_t ext;
    if (store == NULL) {
        r->unreliable = 1;
        return;
    }
    if ((linker = weft_linker_new(store)) == NULL) {
        r->unreliable = 1;
        goto done;
    }
    size_t n = weft_module_import_count(module);
    for (size_t i = 0; i < n; i++)
        if (weft_module_import(module, i, &d) == 0)
            fz_define_stub(store, linker, &d);
    weft_store_set_fuel(store, FUZZ_FUEL); /* the start function runs now */
    rc = weft_linker_instantiate(linker, module, &inst);
    put(r, "instantiate");
    put_outcome(r, store, rc);
    put(r, "\n");
    if (rc != 0)
        goto done;
    n = weft_module_export_count(module);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < n; i++) {
            if (weft_module_export(module, i, &d) != 0 ||
                weft_instance_export_n(inst, d.name, d.name_len, &ext) != 0 ||
                ext.kind != WEFT_EXTERN_FUNC)
                continue;
            put(r, "call %zu.%d", i, round);
            call_with(store, ext.of.func, round == 1 ? fz_ones_of : fz_zero_of, r);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (weft_module_export(module, i, &d) == 0 &&
            weft_instance_export_n(inst, d.name, d.name_len, &ext) == 0)
            put_export_state(r, &ext);
done:
    if (linker != NULL)
        weft_linker_delete(linker);
    weft_store_delete(store);
}

/* Loads and runs the input in `tier`; false when it does not load. */
static int run_tier(weft_engine_t *engine, const uint8_t *data, size_t size, int tier, rec_t *r)
{
    weft_load_options_t opts;
    weft_module_t *module = NULL;
    char msg[256];
    memset(&opts, 0, sizeof opts);
    opts.tier = tier;
    if (weft_module_new_opts(engine, data, size, &opts, &module, msg, sizeof msg) != 0)
        return 0;
    run_module(engine, module, r);
    weft_module_delete(module);
    return 1;
}

static const struct {
    int tier;
    const char *name;
} tiers[] = {
    {WEFT_TIER_INTERP, "interp"},
    {WEFT_TIER_JIT, "jit"},
#ifdef WEFT_TIER_AUTO
    {WEFT_TIER_AUTO, "auto"},
#endif
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    weft_engine_t *engine = weft_engine_new();
    rec_t rec[sizeof tiers / sizeof tiers[0]];
    size_t nt = sizeof tiers / sizeof tiers[0];
    if (engine == NULL || !weft_tier_available(WEFT_TIER_JIT)) {
        weft_engine_delete(engine);
        return 0;
    }
    memset(rec, 0, sizeof rec);
    if (run_tier(engine, data, size, tiers[0].tier, &rec[0])) {
        for (size_t t = 1; t < nt; t++) {
            if (!run_tier(engine, data, size, tiers[t].tier, &rec[t])) {
                fprintf(stderr, "fuzz_tiers: the module loads in %s but not in %s\n",
                        tiers[0].name, tiers[t].name);
                abort();
            }
            if (rec[0].unreliable || rec[t].unreliable)
                continue;
            if (rec[0].len != rec[t].len || memcmp(rec[0].p, rec[t].p, rec[0].len) != 0) {
                fprintf(stderr, "fuzz_tiers: the tiers differ\n--- %s\n%.*s--- %s\n%.*s",
                        tiers[0].name, (int)rec[0].len, rec[0].p, tiers[t].name,
                        (int)rec[t].len, rec[t].p);
                abort();
            }
        }
    }
    if (getenv("FUZZ_TIERS_SHOW") && rec[0].p) /* by hand: what was compared */
        fprintf(stderr, "%.*s", (int)rec[0].len, rec[0].p);
    for (size_t t = 0; t < nt; t++)
        free(rec[t].p);
    weft_engine_delete(engine);
    return 0;
}
