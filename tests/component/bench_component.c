/*
 * bench_component.c — what components cost (issue 15's benchmark), with
 * the test components tests/component builds:
 *
 *   component_bench COMPONENTS-DIR [SECONDS]
 *
 * prints, each as the median of 5 runs of SECONDS/5 (default 1 s):
 *   - loading basic.wasm (decode, validate, compile its core modules);
 *   - instantiating it (core instances, start functions, trampolines);
 *   - a plain core call of its core module's `add` (the engine alone);
 *   - the component call add(u32, u32) -> u32 (lower, call, lift);
 *   - greet(string) -> string (realloc, memory, post-return);
 *   - a call-string round trip: caller.run(target, input) -> funcs
 *     call-string -> greet of a second component -> back, both instances
 *     made once, against calling greet directly.
 * A benchmark reports numbers; it asserts nothing (bench/RESULTS.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <weft/component.h>
#include <weft/weft.h>
#include <weft/wippy.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "component_bench: cannot read %s (built with jco: tests/component)\n", path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *b = malloc((size_t)n);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
        exit(1);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int host_log(void *user, weft_caller_t *caller, const weft_ctype_t *type,
                    const weft_cval_t *args, size_t nargs, weft_cval_t *result, char *err,
                    size_t err_size)
{
    (void)user, (void)caller, (void)type, (void)args, (void)nargs, (void)result, (void)err,
        (void)err_size;
    return 0;
}

typedef struct {
    weft_engine_t *engine;
    weft_component_t *basic, *caller;
    weft_cinstance_t *greeter;
    const uint8_t *bytes;
    size_t len;
    weft_func_t *core_add;
    weft_store_t *store;
} bench_t;

static weft_cinstance_t *instance(bench_t *b, weft_component_t *c, weft_clinker_t *l)
{
    weft_store_t *s = weft_store_new(b->engine);
    weft_cinstance_t *in = NULL;
    char msg[300];
    if (weft_cinstance_new(c, s, l, &in, msg, sizeof msg) != 0) {
        fprintf(stderr, "component_bench: %s\n", msg);
        exit(1);
    }
    return in; /* stores are kept for the program's life */
}

/* call-string's target: greet of the pre-made second instance */
static int route(void *user, const char *ns, const char *entry, const uint8_t *input, size_t len,
                 int bytes, const char *const *chain, size_t nchain, uint8_t **out,
                 size_t *out_len)
{
    bench_t *b = user;
    weft_cval_t arg = {.kind = WEFT_CT_STRING, .str = (char *)input, .len = len}, r;
    int has;
    (void)ns, (void)entry, (void)bytes, (void)chain, (void)nchain;
    if (weft_cinstance_call(b->greeter, "greet", &arg, 1, &r, &has) != 0)
        return -1;
    *out = (uint8_t *)r.str; /* taken over: the binding frees it */
    *out_len = r.len;
    r.str = NULL;
    weft_cval_free(&r);
    return 0;
}

typedef void (*op_fn)(bench_t *b, weft_cinstance_t *in);

static void op_load(bench_t *b, weft_cinstance_t *in)
{
    weft_component_t *c;
    char msg[200];
    (void)in;
    if (weft_component_new(b->engine, b->bytes, b->len, &c, msg, sizeof msg) != 0)
        exit(1);
    weft_component_delete(c);
}

static void op_instantiate(bench_t *b, weft_cinstance_t *in)
{
    weft_store_t *s = weft_store_new(b->engine);
    weft_clinker_t *l = weft_clinker_new();
    weft_cinstance_t *x;
    char msg[200];
    (void)in;
    weft_clinker_define_func(l, "weft:test/host@0.1.0", "log", host_log, NULL);
    if (weft_cinstance_new(b->basic, s, l, &x, msg, sizeof msg) != 0)
        exit(1);
    weft_cinstance_delete(x);
    weft_clinker_delete(l);
    weft_store_delete(s);
}

static void op_core_add(bench_t *b, weft_cinstance_t *in)
{
    weft_val_t args[2] = {weft_val_i32(2), weft_val_i32(3)}, r;
    (void)in;
    weft_func_call(b->store, b->core_add, args, 2, &r, 1);
}

static void op_add(bench_t *b, weft_cinstance_t *in)
{
    weft_cval_t args[2] = {{.kind = WEFT_CT_U32}, {.kind = WEFT_CT_U32}}, r;
    int has;
    (void)b;
    args[0].of.u = 2;
    args[1].of.u = 3;
    weft_cinstance_call(in, "add", args, 2, &r, &has);
}

static void op_greet(bench_t *b, weft_cinstance_t *in)
{
    weft_cval_t arg = {.kind = WEFT_CT_STRING, .str = "wippy", .len = 5}, r;
    int has;
    (void)in;
    if (weft_cinstance_call(b->greeter, "greet", &arg, 1, &r, &has) == 0)
        weft_cval_free(&r);
}

static void op_call_string(bench_t *b, weft_cinstance_t *in)
{
    weft_cval_t args[2] = {{.kind = WEFT_CT_STRING, .str = "app:greet", .len = 9},
                           {.kind = WEFT_CT_STRING, .str = "wippy", .len = 5}},
                r;
    int has;
    (void)b;
    if (weft_cinstance_call(in, "run", args, 2, &r, &has) != 0 || r.index != 0) {
        fprintf(stderr, "component_bench: run failed\n");
        exit(1);
    }
    weft_cval_free(&r);
}

static int core_log(weft_caller_t *caller, void *user, const weft_val_t *args, weft_val_t *results)
{
    (void)caller, (void)user, (void)args, (void)results;
    return 0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median ns per operation over 5 runs of `secs`/5. */
static double measure(bench_t *b, weft_cinstance_t *in, op_fn op, double secs)
{
    double runs[5];
    for (int r = 0; r < 5; r++) {
        long n = 0;
        double t0 = now_s(), t;
        do {
            for (int k = 0; k < 16; k++)
                op(b, in);
            n += 16;
            t = now_s();
        } while (t - t0 < secs / 5);
        runs[r] = (t - t0) / n * 1e9;
    }
    qsort(runs, 5, sizeof runs[0], cmp);
    return runs[2];
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: component_bench COMPONENTS-DIR [SECONDS]\n");
        return 2;
    }
    double secs = argc > 2 ? atof(argv[2]) : 1.0;
    char path[4096];
    bench_t b = {0};
    size_t len;
    char msg[300];
    b.engine = weft_engine_new();
    snprintf(path, sizeof path, "%s/basic.wasm", argv[1]);
    b.bytes = slurp(path, &b.len);
    snprintf(path, sizeof path, "%s/wippy_caller.wasm", argv[1]);
    uint8_t *cb = slurp(path, &len);
    if (weft_component_new(b.engine, b.bytes, b.len, &b.basic, msg, sizeof msg) != 0 ||
        weft_component_new(b.engine, cb, len, &b.caller, msg, sizeof msg) != 0) {
        fprintf(stderr, "component_bench: %s\n", msg);
        return 1;
    }
    weft_clinker_t *l = weft_clinker_new();
    weft_clinker_define_func(l, "weft:test/host@0.1.0", "log", host_log, NULL);
    weft_cinstance_t *basic = instance(&b, b.basic, l);
    b.greeter = instance(&b, b.basic, l);
    static const char *const allow[] = {"app:*"};
    weft_wippy_config_t cfg = {route, &b, allow, 1, NULL, 0, 0};
    weft_wippy_t *wp = weft_wippy_new(&cfg);
    weft_clinker_t *lc = weft_clinker_new();
    weft_wippy_define(wp, lc);
    weft_cinstance_t *caller = instance(&b, b.caller, lc);

    /* the core module alone: basic.core.wasm's add */
    snprintf(path, sizeof path, "%s/basic.core.wasm", argv[1]);
    uint8_t *core = slurp(path, &len);
    weft_module_t *m;
    if (weft_module_new(b.engine, core, len, &m, msg, sizeof msg) != 0) {
        fprintf(stderr, "component_bench: basic.core.wasm: %s\n", msg);
        return 1;
    }
    b.store = weft_store_new(b.engine);
    weft_linker_t *ml = weft_linker_new(b.store);
    weft_valtype_t ii[2] = {WEFT_I32, WEFT_I32};
    weft_functype_t *ft = weft_functype_new(ii, 2, NULL, 0);
    weft_instance_t *mi;
    weft_extern_t e;
    weft_linker_define_func(ml, "weft:test/host@0.1.0", "log", ft, core_log, NULL);
    if (weft_linker_instantiate(ml, m, &mi) != 0 || weft_instance_export(mi, "add", &e) != 0) {
        fprintf(stderr, "component_bench: basic.core.wasm: %s\n", weft_store_errmsg(b.store));
        return 1;
    }
    b.core_add = e.of.func;

    double t_load = measure(&b, NULL, op_load, secs);
    double t_inst = measure(&b, NULL, op_instantiate, secs);
    double t_core = measure(&b, NULL, op_core_add, secs);
    double t_add = measure(&b, basic, op_add, secs);
    double t_greet = measure(&b, NULL, op_greet, secs);
    double t_rt = measure(&b, caller, op_call_string, secs);
    printf("component load (basic.wasm, %zu bytes)   %10.0f ns\n", b.len, t_load);
    printf("component instantiation                    %10.0f ns\n", t_inst);
    printf("core call add (engine alone)               %10.0f ns\n", t_core);
    printf("component call add(u32, u32) -> u32        %10.0f ns\n", t_add);
    printf("component call greet(string) -> string     %10.0f ns\n", t_greet);
    printf("call-string round trip (caller -> greet)   %10.0f ns  (%.2fx greet called directly)\n",
           t_rt, t_rt / t_greet);
    weft_functype_delete(ft);
    return 0;
}
