/*
 * diff_run.c — weft's side of the differential test against wabt (diff_wabt.sh).
 *
 *   diff_run [-f FUEL] [--tier jit|auto] [--show-fuel] [--jit-stats] MODULE.wasm
 *
 * Loads the module, instantiates it with every import stubbed (functions
 * return zeros, memories/tables/globals are fresh and zeroed, as in
 * fuzz_module.c), then calls each exported function whose parameters and
 * results are all numeric, in export order, in one instance (state carries
 * over from call to call, so wabt must run the same calls in the same order).
 * A function without parameters is called once; one with parameters is
 * called with three argument vectors:
 *   zeros  every parameter 0 / +0.0
 *   ones   i32 1, i64 1, f32 1.0, f64 1.0
 *   mix    by parameter position p mod 4:
 *          i32  7, -1, INT32_MIN, 31
 *          i64  -3, INT64_MAX, 63, 1
 *          f32  2.5, -0.0, +inf, 0x1p-149 (the smallest subnormal)
 *          f64  -0.5, 0x1p-1074, -inf, 1e300
 * Every call gets FUEL units (default 10,000,000); running out ends the
 * comparison of that module, since wabt has no fuel.
 *
 * Output, one line each, meant to be read by diff_wabt.sh:
 *   import "mod" (func (export "f") (param i32) (result i64) i64.const 0)
 *                          one wat field per import, for wabt's stub module
 *   instantiate -> ok | trap: KIND | error: MESSAGE
 *   name(i32:7, f64:0x3ff0000000000000) -> i64:-3 f32:0x40200000
 *   name(...) -> trap: KIND
 *   skip name: REASON      (non-numeric type, or a name wabt's JSON may mangle)
 * Integers print signed decimal, floats their hex bits; a NaN prints as its
 * class only, because the spec lets NaN payloads and signs differ between
 * engines: f32:nan:canonical (payload = quiet bit), f32:nan:arithmetic
 * (quiet bit and more payload), while a signalling NaN keeps its exact bits
 * (only non-arithmetic operations make one, and those must keep the bits).
 * With --show-fuel every call's line (and instantiate's) ends with
 * " fuel=N", the fuel left, and a trap line with " bt=F,G,...", the
 * backtrace's function indices: diff_tiers.sh compares the interpreter
 * with the compiled tier (--tier jit) on these, which must be identical.
 * KIND is one of the spec's trap messages (see trap_kind). Exit status: 0
 * when the module ran, 3 when weft rejects it, 2 on usage or I/O errors.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/weft.h>

#include "fuzz_stubs.h"

#define DEFAULT_FUEL 10000000ull

static int show_fuel; /* --show-fuel */
static int jit_stats; /* --jit-stats: print "jit: C of N" (functions compiled) on stderr */

/* --show-fuel: the fuel left and, after a trap, the backtrace. */
static void put_fuel(weft_store_t *store, int trapped)
{
    if (!show_fuel)
        return;
    printf(" fuel=%llu", (unsigned long long)weft_store_fuel(store));
    if (trapped) {
        uint32_t funcs[64];
        size_t n = weft_store_trap_backtrace(store, funcs, NULL, 64);
        printf(" bt=");
        for (size_t i = 0; i < n; i++)
            printf(i ? ",%u" : "%u", funcs[i]);
    }
}

/* The trap kinds both engines can report; diff_wabt.sh maps wabt's
 * messages onto the same strings. */
static const char *trap_kind(weft_trap_code_t code)
{
    switch (code) {
    case WEFT_TRAP_UNREACHABLE: return "unreachable";
    case WEFT_TRAP_MEMORY_OOB: return "out of bounds memory access";
    case WEFT_TRAP_TABLE_OOB: return "out of bounds table access";
    case WEFT_TRAP_DIV_ZERO: return "integer divide by zero";
    case WEFT_TRAP_INT_OVERFLOW: return "integer overflow";
    case WEFT_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
    case WEFT_TRAP_UNDEFINED_ELEMENT: return "undefined element";
    case WEFT_TRAP_UNINITIALIZED_ELEMENT: return "uninitialized element";
    case WEFT_TRAP_INDIRECT_CALL_MISMATCH: return "indirect call type mismatch";
    case WEFT_TRAP_STACK_EXHAUSTED: return "call stack exhausted";
    case WEFT_TRAP_OUT_OF_FUEL: return "out of fuel";
    default: return "other";
    }
}

static int is_numeric(weft_valtype_t t)
{
    return t == WEFT_I32 || t == WEFT_I64 || t == WEFT_F32 || t == WEFT_F64;
}

/* Writes `s` as the body of a wat string literal. */
static void put_wat_string(const char *s, size_t len)
{
    putchar('"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            printf("\\%02x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* Export names printed bare in call lines: no byte that the line format or
 * wabt's JSON reader would need to escape. */
static int is_plain_name(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '(' || c == ')')
            return 0;
    }
    return 1;
}

static void put_zero_instr(weft_valtype_t t)
{
    switch (t) {
    case WEFT_FUNCREF: printf(" ref.null func"); break;
    case WEFT_EXTERNREF: printf(" ref.null extern"); break;
    default: printf(" %s.const 0", weft_valtype_name(t)); break;
    }
}

static void put_limits(weft_limits_t l)
{
    printf(" %" PRIu32, l.min);
    if (l.has_max)
        printf(" %" PRIu32, l.max);
}

/* One line per import: the wat field that wabt's stub module exports in
 * its place, equivalent to what define_stub gives weft. */
static void print_import_stub(const weft_externdesc_t *d)
{
    printf("import ");
    put_wat_string(d->module, d->module_len);
    printf(" (%s (export ", weft_externkind_name(d->kind));
    put_wat_string(d->name, d->name_len);
    putchar(')');
    switch (d->kind) {
    case WEFT_EXTERN_FUNC: {
        size_t np = weft_functype_nparams(d->functype), nr = weft_functype_nresults(d->functype);
        for (size_t i = 0; i < np; i++)
            printf(" (param %s)", weft_valtype_name(weft_functype_param(d->functype, i)));
        for (size_t i = 0; i < nr; i++)
            printf(" (result %s)", weft_valtype_name(weft_functype_result(d->functype, i)));
        for (size_t i = 0; i < nr; i++)
            put_zero_instr(weft_functype_result(d->functype, i));
        break;
    }
    case WEFT_EXTERN_MEMORY:
        put_limits(d->limits);
        break;
    case WEFT_EXTERN_TABLE:
        put_limits(d->limits);
        printf(" %s", weft_valtype_name(d->valtype));
        break;
    case WEFT_EXTERN_GLOBAL:
        if (d->mutable_)
            printf(" (mut %s) (", weft_valtype_name(d->valtype));
        else
            printf(" %s (", weft_valtype_name(d->valtype));
        put_zero_instr(d->valtype);
        printf(" )");
        break;
    }
    printf(")\n");
}

#define zero_of fz_zero_of

/* Defines import `d` as a stub; returns 0 or -1 when the store refuses it
 * or it is malformed (the module is then reported as not instantiable). */
static int define_stub(weft_store_t *store, weft_linker_t *linker, const weft_externdesc_t *d)
{
    return fz_define_stub(store, linker, d) == 0 ? 0 : -1;
}

static void put_f32(uint32_t b)
{
    if ((b & 0x7f800000u) == 0x7f800000u && (b & 0x007fffffu) != 0) {
        if ((b & 0x007fffffu) == 0x00400000u) {
            printf("f32:nan:canonical");
            return;
        }
        if (b & 0x00400000u) {
            printf("f32:nan:arithmetic");
            return;
        }
    }
    printf("f32:0x%08" PRIx32, b);
}

static void put_f64(uint64_t b)
{
    const uint64_t exp = 0x7ff0000000000000ull, frac = 0x000fffffffffffffull,
                   quiet = 0x0008000000000000ull;
    if ((b & exp) == exp && (b & frac) != 0) {
        if ((b & frac) == quiet) {
            printf("f64:nan:canonical");
            return;
        }
        if (b & quiet) {
            printf("f64:nan:arithmetic");
            return;
        }
    }
    printf("f64:0x%016" PRIx64, b);
}

/* Arguments print exactly (no NaN classes: none of the vectors has one). */
static void put_val(const weft_val_t *v)
{
    switch (v->type) {
    case WEFT_I32: printf("i32:%" PRId32, v->of.i32); break;
    case WEFT_I64: printf("i64:%" PRId64, v->of.i64); break;
    case WEFT_F32: put_f32(v->of.f32_bits); break;
    case WEFT_F64: put_f64(v->of.f64_bits); break;
    default: printf("?"); break;
    }
}

enum { VEC_ZEROS, VEC_ONES, VEC_MIX };

static weft_val_t arg_of(weft_valtype_t t, int vec, size_t pos)
{
    static const int32_t mix_i32[4] = {7, -1, INT32_MIN, 31};
    static const int64_t mix_i64[4] = {-3, INT64_MAX, 63, 1};
    static const uint32_t mix_f32[4] = {0x40200000u, 0x80000000u, 0x7f800000u, 0x00000001u};
    static const uint64_t mix_f64[4] = {0xbfe0000000000000ull, 0x0000000000000001ull,
                                        0xfff0000000000000ull, 0x7e37e43c8800759cull};
    weft_val_t v = zero_of(t);
    if (vec == VEC_ONES) {
        switch (t) {
        case WEFT_I32: v.of.i32 = 1; break;
        case WEFT_I64: v.of.i64 = 1; break;
        case WEFT_F32: v.of.f32_bits = 0x3f800000u; break;
        case WEFT_F64: v.of.f64_bits = 0x3ff0000000000000ull; break;
        default: break;
        }
    } else if (vec == VEC_MIX) {
        switch (t) {
        case WEFT_I32: v.of.i32 = mix_i32[pos % 4]; break;
        case WEFT_I64: v.of.i64 = mix_i64[pos % 4]; break;
        case WEFT_F32: v.of.f32_bits = mix_f32[pos % 4]; break;
        case WEFT_F64: v.of.f64_bits = mix_f64[pos % 4]; break;
        default: break;
        }
    }
    return v;
}

/* Runs one call and prints its line. Returns 1 when the comparison of the
 * module must stop (out of fuel), else 0. */
static int call_and_print(weft_store_t *store, weft_func_t *f, const char *name, int vec,
                          uint64_t fuel)
{
    const weft_functype_t *ft = weft_func_type(f);
    size_t np = weft_functype_nparams(ft), nr = weft_functype_nresults(ft);
    weft_val_t args[1000], results[1000];
    int rc, stop = 0;

    for (size_t i = 0; i < np; i++)
        args[i] = arg_of(weft_functype_param(ft, i), vec, i);
    printf("%s(", name);
    for (size_t i = 0; i < np; i++) {
        if (i > 0)
            printf(", ");
        put_val(&args[i]);
    }
    printf(") -> ");
    weft_store_set_fuel(store, fuel);
    rc = weft_func_call(store, f, args, np, results, nr);
    if (rc == 0) {
        for (size_t i = 0; i < nr; i++) {
            if (i > 0)
                putchar(' ');
            put_val(&results[i]);
        }
    } else if (rc == WEFT_ETRAP) {
        weft_trap_code_t code = weft_store_trap(store);
        printf("trap: %s", trap_kind(code));
        if (code == WEFT_TRAP_OUT_OF_FUEL)
            stop = 1;
        else if (strcmp(trap_kind(code), "other") == 0)
            printf(" (%s)", weft_store_trap_message(store));
    } else {
        printf("error: %s", weft_strerror(rc));
        stop = 1;
    }
    put_fuel(store, rc == WEFT_ETRAP);
    putchar('\n');
    return stop;
}

static int run(weft_engine_t *engine, weft_module_t *module, uint64_t fuel)
{
    weft_store_t *store = weft_store_new(engine);
    weft_linker_t *linker = NULL;
    weft_instance_t *inst = NULL;
    weft_externdesc_t d;
    weft_extern_t ext;
    size_t n;
    int rc, refused = 0;

    if (store == NULL || (linker = weft_linker_new(store)) == NULL) {
        printf("instantiate -> error: out of memory\n");
        goto done;
    }
    n = weft_module_import_count(module);
    for (size_t i = 0; i < n; i++) {
        weft_module_import(module, i, &d);
        print_import_stub(&d);
        if (define_stub(store, linker, &d) != 0)
            refused = 1;
    }
    if (refused) {
        printf("instantiate -> error: an import stub was refused\n");
        goto done;
    }
    weft_store_set_fuel(store, fuel); /* the start function runs now */
    rc = weft_linker_instantiate(linker, module, &inst);
    if (rc == WEFT_ETRAP) {
        printf("instantiate -> trap: %s", trap_kind(weft_store_trap(store)));
        put_fuel(store, 1);
        putchar('\n');
        goto done;
    } else if (rc != 0) {
        printf("instantiate -> error: %s: %s\n", weft_strerror(rc), weft_store_errmsg(store));
        goto done;
    }
    printf("instantiate -> ok\n");

    n = weft_module_export_count(module);
    for (size_t i = 0; i < n; i++) {
        const weft_functype_t *ft;
        int numeric = 1;
        weft_module_export(module, i, &d);
        if (d.kind != WEFT_EXTERN_FUNC)
            continue;
        if (!is_plain_name(d.name, d.name_len)) {
            printf("skip ");
            put_wat_string(d.name, d.name_len);
            printf(": name\n");
            continue;
        }
        if (weft_instance_export_n(inst, d.name, d.name_len, &ext) != 0)
            continue;
        ft = weft_func_type(ext.of.func);
        for (size_t j = 0; j < weft_functype_nparams(ft); j++)
            numeric &= is_numeric(weft_functype_param(ft, j));
        for (size_t j = 0; j < weft_functype_nresults(ft); j++)
            numeric &= is_numeric(weft_functype_result(ft, j));
        if (!numeric) {
            printf("skip %s: non-numeric type\n", d.name);
            continue;
        }
        if (call_and_print(store, ext.of.func, d.name, VEC_ZEROS, fuel))
            break;
        if (weft_functype_nparams(ft) == 0)
            continue;
        if (call_and_print(store, ext.of.func, d.name, VEC_ONES, fuel) ||
            call_and_print(store, ext.of.func, d.name, VEC_MIX, fuel))
            break;
    }

done:
    if (linker != NULL)
        weft_linker_delete(linker);
    if (store != NULL)
        weft_store_delete(store);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t fuel = DEFAULT_FUEL;
    const char *path;
    weft_engine_t *engine;
    weft_module_t *module = NULL;
    uint8_t *bytes;
    size_t len;
    char msg[512];
    int argi = 1, status = 0;
    weft_load_options_t opts;

    memset(&opts, 0, sizeof opts);
    for (; argi < argc - 1; argi++) {
        if (strcmp(argv[argi], "-f") == 0 && argi + 2 < argc) {
            fuel = strtoull(argv[++argi], NULL, 10);
        } else if (strcmp(argv[argi], "--tier") == 0 && argi + 2 < argc &&
                   (strcmp(argv[argi + 1], "jit") == 0 || strcmp(argv[argi + 1], "auto") == 0)) {
            opts.tier = argv[argi + 1][0] == 'j' ? WEFT_TIER_JIT : WEFT_TIER_AUTO;
            argi++;
        } else if (strcmp(argv[argi], "--show-fuel") == 0) {
            show_fuel = 1;
        } else if (strcmp(argv[argi], "--jit-stats") == 0) {
            jit_stats = 1;
        } else {
            break;
        }
    }
    if (argc != argi + 1) {
        fprintf(stderr, "usage: %s [-f FUEL] [--tier jit|auto] [--show-fuel] [--jit-stats] MODULE.wasm\n", argv[0]);
        return 2;
    }
    path = argv[argi];
    if ((bytes = fz_read_file(path, &len)) == NULL) {
        fprintf(stderr, "diff_run: cannot read %s\n", path);
        return 2;
    }
    if ((engine = weft_engine_new()) == NULL) {
        free(bytes);
        return 2;
    }
    if (weft_module_new_opts(engine, bytes, len, &opts, &module, msg, sizeof msg) != 0) {
        printf("invalid: %s\n", msg);
        status = 3;
    } else {
        if (jit_stats) {
            uint32_t total, compiled = weft_module_compiled_functions(module, &total);
            fprintf(stderr, "jit: %u of %u\n", compiled, total);
        }
        run(engine, module, fuel);
        weft_module_delete(module);
    }
    weft_engine_delete(engine);
    free(bytes);
    fflush(stdout);
    return status;
}
