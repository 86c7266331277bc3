/*
 * harness.c — fixtures and checked helpers for the unit tests.
 *
 * Every object made here is released through test_defer, so a test that
 * fails half-way leaks nothing (LeakSanitizer stays quiet in the ASan
 * build). Deferred cleanups run in reverse order, which keeps the engine
 * alive until its stores and modules are gone.
 */
#include "harness.h"

#include <stdarg.h>
#include <stdlib.h>

#define MAX_CALL_VALUES 16

static void engine_free(void *p) { weft_engine_delete(p); }
static void store_free(void *p) { weft_store_delete(p); }
static void linker_free(void *p) { weft_linker_delete(p); }
static void module_free(void *p) { weft_module_delete(p); }
static void functype_free(void *p) { weft_functype_delete(p); }

static const char *detail(const weft_store_t *store, int rc)
{
    if (store == NULL)
        return "";
    if (rc == WEFT_ETRAP)
        return weft_store_trap_message(store);
    return weft_store_errmsg(store);
}

void h_check_rc(const char *file, int line, const char *expr, int got, int want,
                const weft_store_t *store)
{
    const char *d;
    if (got == want)
        return;
    d = detail(store, got);
    if (got == WEFT_ETRAP && store != NULL)
        test_fail(file, line, "%s: got WEFT_ETRAP (trap %s: \"%s\"), want %s (%d)", expr,
                  weft_trap_name(weft_store_trap(store)), d ? d : "(null)",
                  weft_errname(want), want);
    test_fail(file, line, "%s: got %s (%d)%s%s%s, want %s (%d)", expr, weft_errname(got), got,
              d && *d ? " \"" : "", d && *d ? d : "", d && *d ? "\"" : "", weft_errname(want),
              want);
}

void h_check_trap(const char *file, int line, const char *expr, int got,
                  weft_trap_code_t want, const weft_store_t *store)
{
    weft_trap_code_t code;
    const char *msg;
    if (got != WEFT_ETRAP) {
        const char *d = weft_store_errmsg(store);
        test_fail(file, line, "%s: got %s (%d) \"%s\", want WEFT_ETRAP with trap %s", expr,
                  weft_errname(got), got, d ? d : "(null)", weft_trap_name(want));
    }
    code = weft_store_trap(store);
    msg = weft_store_trap_message(store);
    if (code != want)
        test_fail(file, line, "%s: trapped with %s (\"%s\"), want %s", expr,
                  weft_trap_name(code), msg ? msg : "(null)", weft_trap_name(want));
    if (msg == NULL || *msg == '\0')
        test_fail(file, line, "%s: trap %s has an empty message", expr, weft_trap_name(code));
}

void h_same_trap_at(const char *file, int line, weft_store_t *a, weft_store_t *b)
{
    if (weft_store_trap(a) != weft_store_trap(b))
        test_fail(file, line, "traps differ: %s and %s", weft_trap_name(weft_store_trap(a)),
                  weft_trap_name(weft_store_trap(b)));
    uint32_t fa[64], fb[64];
    size_t na = weft_store_trap_backtrace(a, fa, NULL, 64), nb = weft_store_trap_backtrace(b, fb, NULL, 64);
    if (na != nb) test_fail(file, line, "backtraces of %zu and %zu functions", na, nb);
    for (size_t i = 0; i < na; i++)
        if (fa[i] != fb[i])
            test_fail(file, line, "backtraces differ at frame %zu: func %u and func %u", i, fa[i], fb[i]);
}

weft_engine_t *h_engine(void)
{
    weft_engine_t *e = weft_engine_new();
    ASSERT_NOT_NULL(e);
    test_defer(engine_free, e);
    return e;
}

weft_store_t *h_store(weft_engine_t *engine)
{
    weft_store_t *s = weft_store_new(engine);
    ASSERT_NOT_NULL(s);
    test_defer(store_free, s);
    return s;
}

weft_linker_t *h_linker(weft_store_t *store)
{
    weft_linker_t *l = weft_linker_new(store);
    ASSERT_NOT_NULL(l);
    test_defer(linker_free, l);
    return l;
}

static int letter_type(char c, weft_valtype_t *out)
{
    switch (c) {
    case 'i': *out = WEFT_I32; return 1;
    case 'I': *out = WEFT_I64; return 1;
    case 'f': *out = WEFT_F32; return 1;
    case 'F': *out = WEFT_F64; return 1;
    case 'r': *out = WEFT_FUNCREF; return 1;
    case 'e': *out = WEFT_EXTERNREF; return 1;
    case 'v': *out = WEFT_V128; return 1;
    default: return 0;
    }
}

weft_functype_t *h_functype(const char *params, const char *results)
{
    weft_valtype_t p[MAX_CALL_VALUES], r[MAX_CALL_VALUES];
    size_t np = strlen(params), nr = strlen(results);
    weft_functype_t *ft;
    if (np > MAX_CALL_VALUES || nr > MAX_CALL_VALUES)
        FAIL("h_functype: too many values");
    for (size_t i = 0; i < np; i++)
        if (!letter_type(params[i], &p[i]))
            FAIL("h_functype: bad letter '%c'", params[i]);
    for (size_t i = 0; i < nr; i++)
        if (!letter_type(results[i], &r[i]))
            FAIL("h_functype: bad letter '%c'", results[i]);
    ft = weft_functype_new(p, np, r, nr);
    ASSERT_NOT_NULL(ft);
    test_defer(functype_free, ft);
    return ft;
}

uint8_t *h_read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    if (f == NULL)
        FAIL("cannot open %s (is the build's wasm folder there?)", path);
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        FAIL("cannot size %s", path);
    }
    buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        FAIL("cannot read %s", path);
    }
    fclose(f);
    test_defer(free, buf);
    *out_len = (size_t)n;
    return buf;
}

uint8_t *h_read_wasm(const char *name, size_t *out_len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.wasm", WEFT_UNIT_WASM_DIR, name);
    return h_read_file(path, out_len);
}

/* Loads `name` with the options `o` (NULL: the defaults), freed when the
 * test ends. */
static weft_module_t *module_opts_at(const char *file, int line, weft_engine_t *engine, const char *name,
                                     const weft_load_options_t *o)
{
    char msg[512] = "";
    size_t len;
    uint8_t *bytes = h_read_wasm(name, &len);
    weft_module_t *m = NULL;
    int rc = o ? weft_module_new_opts(engine, bytes, len, o, &m, msg, sizeof msg)
               : weft_module_new(engine, bytes, len, &m, msg, sizeof msg);
    if (rc != 0)
        test_fail(file, line, "loading %s.wasm: %s: %s", name, weft_errname(rc), msg);
    if (m == NULL)
        test_fail(file, line, "loading %s.wasm: success but no module", name);
    test_defer(module_free, m);
    return m;
}

weft_module_t *h_module_at(const char *file, int line, weft_engine_t *engine, const char *name)
{
    return module_opts_at(file, line, engine, name, NULL);
}

int h_load_bytes(weft_engine_t *engine, const uint8_t *bytes, size_t len, char *msg,
                 size_t msg_size)
{
    weft_module_t *m = NULL;
    int rc;
    msg[0] = '\0';
    rc = weft_module_new(engine, bytes, len, &m, msg, msg_size);
    if (rc == 0)
        weft_module_delete(m);
    return rc;
}

void fx_open_at(const char *file, int line, fixture_t *fx, const char *name)
{
    memset(fx, 0, sizeof *fx);
    fx->engine = h_engine();
    fx->module = h_module_at(file, line, fx->engine, name);
    fx->store = h_store(fx->engine);
    fx->linker = h_linker(fx->store);
}

void fx_open_tier_at(const char *file, int line, fixture_t *fx, const char *name, int tier)
{
    weft_load_options_t o;
    memset(&o, 0, sizeof o);
    o.tier = tier;
    memset(fx, 0, sizeof *fx);
    fx->engine = h_engine();
    fx->module = module_opts_at(file, line, fx->engine, name, &o);
    fx->store = h_store(fx->engine);
    fx->linker = h_linker(fx->store);
}

void fx_instantiate_at(const char *file, int line, fixture_t *fx)
{
    int rc = weft_linker_instantiate(fx->linker, fx->module, &fx->inst);
    h_check_rc(file, line, "weft_linker_instantiate", rc, 0, fx->store);
    if (fx->inst == NULL)
        test_fail(file, line, "weft_linker_instantiate: success but no instance");
}

weft_memory_t *fx_load_on_host_memory_at(const char *file, int line, fixture_t *fx,
                                         const char *name, uint32_t pages)
{
    fx_open_at(file, line, fx, name);
    weft_memory_t *m = weft_memory_new(fx->store, (weft_limits_t){.min = pages});
    if (m == NULL)
        test_fail(file, line, "weft_memory_new(%u pages): NULL", pages);
    weft_extern_t ext = {.kind = WEFT_EXTERN_MEMORY, .of.memory = m};
    h_check_rc(file, line, "weft_linker_define env.memory",
               weft_linker_define(fx->linker, "env", "memory", &ext), 0, fx->store);
    fx_instantiate_at(file, line, fx);
    return m;
}

static weft_extern_t export_of(const char *file, int line, fixture_t *fx, const char *name,
                               weft_externkind_t kind)
{
    weft_extern_t ext;
    int rc;
    memset(&ext, 0, sizeof ext);
    if (fx->inst == NULL)
        test_fail(file, line, "export %s: no instance", name);
    rc = weft_instance_export(fx->inst, name, &ext);
    if (rc != 0)
        test_fail(file, line, "export %s: %s", name, weft_errname(rc));
    if (ext.kind != kind)
        test_fail(file, line, "export %s: kind %s, want %s", name,
                  weft_externkind_name(ext.kind), weft_externkind_name(kind));
    return ext;
}

weft_func_t *fx_func_at(const char *file, int line, fixture_t *fx, const char *name)
{
    weft_func_t *f = export_of(file, line, fx, name, WEFT_EXTERN_FUNC).of.func;
    if (f == NULL)
        test_fail(file, line, "export %s: NULL function", name);
    return f;
}

weft_memory_t *fx_memory_at(const char *file, int line, fixture_t *fx, const char *name)
{
    weft_memory_t *m = export_of(file, line, fx, name, WEFT_EXTERN_MEMORY).of.memory;
    if (m == NULL)
        test_fail(file, line, "export %s: NULL memory", name);
    return m;
}

weft_table_t *fx_table_at(const char *file, int line, fixture_t *fx, const char *name)
{
    weft_table_t *t = export_of(file, line, fx, name, WEFT_EXTERN_TABLE).of.table;
    if (t == NULL)
        test_fail(file, line, "export %s: NULL table", name);
    return t;
}

weft_global_t *fx_global_at(const char *file, int line, fixture_t *fx, const char *name)
{
    weft_global_t *g = export_of(file, line, fx, name, WEFT_EXTERN_GLOBAL).of.global;
    if (g == NULL)
        test_fail(file, line, "export %s: NULL global", name);
    return g;
}

int fx_call_at(const char *file, int line, fixture_t *fx, const char *name,
               const weft_val_t *args, size_t nargs, weft_val_t *results, size_t nresults)
{
    weft_func_t *f = fx_func_at(file, line, fx, name);
    return weft_func_call(fx->store, f, args, nargs, results, nresults);
}

static int call_i32v(const char *file, int line, fixture_t *fx, const char *name, int nargs,
                     va_list ap, weft_val_t *results, size_t *out_nresults)
{
    weft_val_t args[MAX_CALL_VALUES];
    weft_func_t *f = fx_func_at(file, line, fx, name);
    size_t nres = weft_functype_nresults(weft_func_type(f));
    if (nargs < 0 || nargs > MAX_CALL_VALUES || nres > MAX_CALL_VALUES)
        test_fail(file, line, "call %s: too many values", name);
    for (int i = 0; i < nargs; i++)
        args[i] = weft_val_i32(va_arg(ap, int32_t));
    *out_nresults = nres;
    return weft_func_call(fx->store, f, args, (size_t)nargs, results, nres);
}

int32_t fx_call_i32_at(const char *file, int line, fixture_t *fx, const char *name, int want,
                       int nargs, ...)
{
    weft_val_t results[MAX_CALL_VALUES];
    size_t nres;
    char expr[256];
    va_list ap;
    int rc;
    va_start(ap, nargs);
    rc = call_i32v(file, line, fx, name, nargs, ap, results, &nres);
    va_end(ap);
    snprintf(expr, sizeof expr, "call %s", name);
    h_check_rc(file, line, expr, rc, 0, fx->store);
    if (nres != (size_t)want)
        test_fail(file, line, "call %s: %zu results, want %d", name, nres, want);
    if (want == 0)
        return 0;
    if (results[0].type != WEFT_I32)
        test_fail(file, line, "call %s: result type %s, want i32", name,
                  weft_valtype_name(results[0].type));
    return results[0].of.i32;
}

int fx_try_i32_at(const char *file, int line, fixture_t *fx, const char *name, int nargs, ...)
{
    weft_val_t results[MAX_CALL_VALUES];
    size_t nres;
    va_list ap;
    int rc;
    va_start(ap, nargs);
    rc = call_i32v(file, line, fx, name, nargs, ap, results, &nres);
    va_end(ap);
    return rc;
}

weft_val_t h_funcref(weft_func_t *f)
{
    weft_val_t v;
    memset(&v, 0, sizeof v);
    v.type = WEFT_FUNCREF;
    v.of.func = f;
    return v;
}

weft_val_t h_externref(void *p)
{
    weft_val_t v;
    memset(&v, 0, sizeof v);
    v.type = WEFT_EXTERNREF;
    v.of.ref = p;
    return v;
}
