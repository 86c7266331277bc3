/*
 * src/cli/run.c — `weft run`: load a module, instantiate it, call one export.
 *
 * For now a module may import nothing (WASI and the host ABIs come with
 * later issues), so every import is reported by name and the run refused.
 * Arguments are parsed by the callee's parameter types and results printed
 * one per line. A trap prints its message and backtrace on stderr and exits
 * with 3; Ctrl-C interrupts the guest through weft_store_interrupt (a second
 * Ctrl-C kills the process the ordinary way).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define PAGE_SIZE 65536u
#define MAX_PAGES 65536u
#define MIN_STACK 4096u
#define MAX_BACKTRACE 64

void cli_run_usage(FILE *out)
{
    fprintf(out,
            "usage: weft run [options] MODULE.wasm [ARGS...]\n"
            "\n"
            "Instantiates MODULE and calls its exported function NAME (default _start)\n"
            "with ARGS converted to the function's parameter types, then prints each\n"
            "result on its own line. The module may not import anything yet: WASI and\n"
            "the host APIs come later.\n"
            "\n"
            "options:\n"
            "  --invoke NAME       call export NAME instead of _start\n"
            "  --fuel N            trap (out of fuel) after N instructions; default unlimited\n"
            "  --max-memory BYTES  cap every linear memory, in bytes rounded down to 64K\n"
            "                      pages; suffixes K, M, G; default 4G\n"
            "  --max-stack BYTES   cap the value stack (locals and operands); at least 4K;\n"
            "                      suffixes K, M, G; default 8M\n"
            "  -h, --help          show this help\n"
            "  --                  end of options\n"
            "\n"
            "arguments: i32 and i64 in decimal or 0x hex (-7, 0xff); f32 and f64 in\n"
            "decimal or hex float, inf, -inf, nan.\n"
            "results: integers as signed decimal, f32 with 9 and f64 with 17 significant\n"
            "digits (enough to read back the same bits).\n"
            "\n"
            "exit codes: 0 success, 1 module error, 2 usage error, 3 trap\n"
            "\n"
            "example: weft run --invoke fib examples/fib.wasm 30\n");
}

typedef struct {
    const char *invoke; /* NULL: _start */
    const char *path;
    char **args;
    int nargs;
    int has_fuel, has_max_memory, has_max_stack;
    uint64_t fuel, max_memory, max_stack;
} run_opts_t;

/* Matches "--name VALUE" and "--name=VALUE". Returns 1 and the value (moving
 * *i past it), 0 when argv[*i] is another option, -1 when the value is
 * missing. */
static int option_value(int argc, char **argv, int *i, const char *name, const char **out)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *out = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        cli_error("option %s needs a value", name);
        return -1;
    }
    *out = argv[++*i];
    return 1;
}

/* Returns 0 to go on, 1 when help was printed, -1 on a usage error
 * (already reported). */
static int parse_opts(int argc, char **argv, run_opts_t *o)
{
    memset(o, 0, sizeof *o);
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i], *val = NULL;
        int m;
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0')
            break; /* the module: options end there, the rest are ARGS */
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            cli_run_usage(stdout);
            return 1;
        }
        if ((m = option_value(argc, argv, &i, "--invoke", &val)) != 0) {
            if (m < 0)
                return -1;
            o->invoke = val;
        } else if ((m = option_value(argc, argv, &i, "--fuel", &val)) != 0) {
            if (m < 0)
                return -1;
            if (cli_parse_size(val, &o->fuel) != 0) {
                cli_error("--fuel: '%s' is not a count", val);
                return -1;
            }
            o->has_fuel = 1;
        } else if ((m = option_value(argc, argv, &i, "--max-memory", &val)) != 0) {
            if (m < 0)
                return -1;
            if (cli_parse_size(val, &o->max_memory) != 0 || o->max_memory < PAGE_SIZE) {
                cli_error("--max-memory: '%s' is not a size of at least 64K (one page)", val);
                return -1;
            }
            o->has_max_memory = 1;
        } else if ((m = option_value(argc, argv, &i, "--max-stack", &val)) != 0) {
            if (m < 0)
                return -1;
            if (cli_parse_size(val, &o->max_stack) != 0 || o->max_stack < MIN_STACK) {
                cli_error("--max-stack: '%s' is not a size of at least 4K", val);
                return -1;
            }
            o->has_max_stack = 1;
        } else {
            cli_error("run: unknown option '%s'", arg);
            cli_run_usage(stderr);
            return -1;
        }
    }
    if (i >= argc) {
        cli_error("run: missing MODULE.wasm");
        cli_run_usage(stderr);
        return -1;
    }
    o->path = argv[i];
    o->args = argv + i + 1;
    o->nargs = argc - i - 1;
    return 0;
}

/* Every import is unresolvable for now: name them all. Returns 0 when the
 * module imports nothing. */
static int refuse_imports(const char *path, const weft_module_t *module)
{
    size_t n = weft_module_import_count(module);
    if (n == 0)
        return 0;
    int wasi = 0;
    cli_error("%s: cannot link: weft run provides no imports yet, and the module imports %zu:",
              path, n);
    for (size_t i = 0; i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_import(module, i, &d) != 0)
            break;
        if (d.module_len >= 4 && memcmp(d.module, "wasi", 4) == 0)
            wasi = 1;
        if (i == 20) {
            fprintf(stderr, "  ... and %zu more\n", n - i);
            continue;
        }
        if (i > 20)
            continue;
        fprintf(stderr, "  %s ", weft_externkind_name(d.kind));
        cli_print_name(stderr, d.module, d.module_len);
        fputc('.', stderr);
        cli_print_name(stderr, d.name, d.name_len);
        if (d.kind == WEFT_EXTERN_FUNC && d.functype) {
            fputs(": ", stderr);
            cli_print_functype(stderr, d.functype);
        }
        fputc('\n', stderr);
    }
    if (wasi)
        cli_error("WASI is not supported yet: build the module without WASI imports and "
                  "call an export with --invoke");
    return -1;
}

/* Lists the exported functions on stderr, after a failed lookup. */
static void list_functions(const weft_module_t *module)
{
    size_t n = weft_module_export_count(module), shown = 0;
    for (size_t i = 0; i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_export(module, i, &d) != 0 || d.kind != WEFT_EXTERN_FUNC)
            continue;
        fputs(shown++ ? ", " : "weft: exported functions: ", stderr);
        cli_print_name(stderr, d.name, d.name_len);
    }
    fputs(shown ? "\n" : "weft: the module exports no functions\n", stderr);
}

static void report_trap(weft_store_t *store, const weft_module_t *module)
{
    weft_trap_code_t code = weft_store_trap(store);
    const char *msg = weft_store_trap_message(store);
    if (!msg || !*msg)
        msg = weft_trap_string(code);
    fprintf(stderr, "weft: trap: %s\n", msg);

    uint32_t funcs[MAX_BACKTRACE];
    const struct weft_module *mods[MAX_BACKTRACE];
    size_t n = weft_store_trap_backtrace(store, funcs, mods, MAX_BACKTRACE);
    if (n > MAX_BACKTRACE)
        n = MAX_BACKTRACE;
    if (n == 0)
        return;
    fputs("backtrace (innermost first):\n", stderr);
    for (size_t i = 0; i < n;) {
        const char *name = weft_module_func_name(mods[i] ? mods[i] : module, funcs[i]);
        fprintf(stderr, "  #%-2zu func[%" PRIu32 "] ", i, funcs[i]);
        if (name)
            cli_print_name(stderr, name, strlen(name));
        else
            fputs("<unnamed>", stderr);
        fputc('\n', stderr);
        /* Deep recursion would fill the screen with one line: fold a run of
         * the same function into a count. */
        size_t j = i + 1;
        while (j < n && funcs[j] == funcs[i] && mods[j] == mods[i])
            j++;
        if (j - i > 2) {
            fprintf(stderr, "  #%zu-#%zu the same function again (%zu frames)\n", i + 1, j - 1,
                    j - i - 1);
            i = j;
        } else {
            i++;
        }
    }
    if (n == MAX_BACKTRACE)
        fprintf(stderr, "  (only the innermost %d frames are kept)\n", MAX_BACKTRACE);
}

/* Converts argument `s` to a value of type t. Returns 0 or -1. */
static int parse_arg(weft_valtype_t t, const char *s, weft_val_t *out)
{
    out->type = t;
    switch (t) {
    case WEFT_I32: return cli_parse_i32(s, &out->of.i32);
    case WEFT_I64: return cli_parse_i64(s, &out->of.i64);
    case WEFT_F32: {
        float f;
        if (cli_parse_f32(s, &f) != 0)
            return -1;
        *out = weft_val_f32(f);
        return 0;
    }
    case WEFT_F64: {
        double d;
        if (cli_parse_f64(s, &d) != 0)
            return -1;
        *out = weft_val_f64(d);
        return 0;
    }
    case WEFT_FUNCREF:
    case WEFT_EXTERNREF:
        /* Only the null reference can be written on a command line. */
        out->of.ref = NULL;
        return strcmp(s, "null") == 0 ? 0 : -1;
    default: return -1;
    }
}

static weft_store_t *volatile interrupt_store;

static void on_sigint(int sig)
{
    (void)sig;
    weft_store_t *store = interrupt_store;
    if (store)
        weft_store_interrupt(store);
}

static const char *store_errmsg(weft_store_t *store, int rc)
{
    const char *msg = weft_store_errmsg(store);
    return msg && *msg ? msg : weft_strerror(rc);
}

int cli_run(int argc, char **argv)
{
    run_opts_t o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;

    int status = CLI_EXIT_ERROR;
    uint8_t *bytes = NULL;
    size_t len = 0;
    weft_engine_t *engine = NULL;
    weft_module_t *module = NULL;
    weft_store_t *store = NULL;
    weft_linker_t *linker = NULL;
    weft_val_t *vals = NULL;
    const char *fname = o.invoke ? o.invoke : "_start";
    int sigint_installed = 0;
    char msg[512];

    if (cli_read_file(o.path, &bytes, &len) != 0) {
        cli_error("cannot read %s: %s", o.path, strerror(errno));
        goto done;
    }
    engine = weft_engine_new();
    if (!engine) {
        cli_error("out of memory");
        goto done;
    }
    msg[0] = '\0';
    rc = weft_module_new(engine, bytes, len, &module, msg, sizeof msg);
    if (rc != 0) {
        cli_error("%s: %s: %s", o.path, weft_strerror(rc), msg[0] ? msg : "(no detail)");
        module = NULL;
        goto done;
    }
    if (refuse_imports(o.path, module) != 0)
        goto done;

    store = weft_store_new(engine);
    linker = store ? weft_linker_new(store) : NULL;
    if (!linker) {
        cli_error("out of memory");
        goto done;
    }
    weft_limits_config_t limits = weft_store_limits(store);
    if (o.has_max_memory) {
        uint64_t pages = o.max_memory / PAGE_SIZE;
        limits.max_memory_pages = (uint32_t)(pages > MAX_PAGES ? MAX_PAGES : pages);
    }
    if (o.has_max_stack)
        limits.max_stack_bytes = o.max_stack > SIZE_MAX ? SIZE_MAX : (size_t)o.max_stack;
    rc = weft_store_set_limits(store, &limits);
    if (rc != 0) {
        cli_error("cannot set limits: %s", store_errmsg(store, rc));
        goto done;
    }
    if (o.has_fuel)
        weft_store_set_fuel(store, o.fuel);

    /* From here the guest may run (the start function too): Ctrl-C stops it,
     * unless SIGINT is ignored (a background job), which we respect. */
    struct sigaction sa, old;
    if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler != SIG_IGN) {
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigint;
        sa.sa_flags = SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        interrupt_store = store;
        sigint_installed = sigaction(SIGINT, &sa, NULL) == 0;
    }

    weft_instance_t *inst = NULL;
    rc = weft_linker_instantiate(linker, module, &inst);
    if (rc == WEFT_ETRAP) {
        report_trap(store, module);
        status = CLI_EXIT_TRAP;
        goto done;
    }
    if (rc != 0) {
        cli_error("%s: cannot instantiate: %s", o.path, store_errmsg(store, rc));
        goto done;
    }

    weft_extern_t ext;
    if (weft_instance_export(inst, fname, &ext) != 0 || ext.kind != WEFT_EXTERN_FUNC) {
        cli_error("%s: no exported function '%s'%s", o.path, fname,
                  o.invoke ? "" : " (a WASI command's entry point; pick a function with --invoke NAME)");
        list_functions(module);
        goto done;
    }
    const weft_functype_t *ft = weft_func_type(ext.of.func);
    size_t np = weft_functype_nparams(ft), nr = weft_functype_nresults(ft);
    if ((size_t)o.nargs != np) {
        cli_error("'%s' takes %zu argument%s, got %d; its type is:", fname, np, np == 1 ? "" : "s",
                  o.nargs);
        fputs("  ", stderr);
        cli_print_functype(stderr, ft);
        fputc('\n', stderr);
        status = CLI_EXIT_USAGE;
        goto done;
    }
    vals = calloc(np + nr + 1, sizeof *vals);
    if (!vals) {
        cli_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < np; i++) {
        weft_valtype_t t = weft_functype_param(ft, i);
        if (parse_arg(t, o.args[i], &vals[i]) != 0) {
            cli_error("argument %zu of '%s': '%s' is not a valid %s%s", i + 1, fname, o.args[i],
                      weft_valtype_name(t),
                      t == WEFT_FUNCREF || t == WEFT_EXTERNREF ? " (only 'null' can be given)"
                                                               : "");
            status = CLI_EXIT_USAGE;
            goto done;
        }
    }

    rc = weft_func_call(store, ext.of.func, vals, np, vals + np, nr);
    if (rc == WEFT_ETRAP) {
        report_trap(store, module);
        status = CLI_EXIT_TRAP;
        goto done;
    }
    if (rc != 0) {
        cli_error("%s: call to '%s' failed: %s", o.path, fname, store_errmsg(store, rc));
        goto done;
    }
    for (size_t i = 0; i < nr; i++) {
        cli_print_val(stdout, &vals[np + i]);
        fputc('\n', stdout);
    }
    status = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;

done:
    /* Back to the default action first, so no handler can see a dying store. */
    if (sigint_installed)
        signal(SIGINT, SIG_DFL);
    interrupt_store = NULL;
    free(vals);
    if (linker)
        weft_linker_delete(linker);
    if (store)
        weft_store_delete(store);
    if (module)
        weft_module_delete(module);
    if (engine)
        weft_engine_delete(engine);
    free(bytes);
    return status;
}
