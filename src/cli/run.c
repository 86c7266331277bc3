/*
 * src/cli/run.c — `weft run`: run a WASI command, or call one export.
 *
 * weft run is a client of the node layer (weft/node.h), with one node and
 * one call: the node is inline (the call runs on this thread), has no data
 * directory unless the module imports nx, and runs the module as an app
 * opened from the file (its name without .wasm is the module id and the
 * default context), with the process's own stdin, stdout and stderr.
 *
 * Every module gets WASI preview 1 (imports it does not use cost nothing);
 * an import no profile provides is named and the run refused before
 * anything executes. The guest sees only what the options give it: its
 * arguments, the variables of --env, the directories of --dir. A trap prints
 * its kind, message and a backtrace on stderr and exits with 3; proc_exit's
 * status becomes the process's exit status. --timeout and Ctrl-C stop the
 * guest (weft_node_interrupt; a second Ctrl-C kills the process), the node
 * signalling the thread to cut short a host call blocked in a syscall, and
 * end the wait for the data directory's write lock (docs/nx.md,
 * "Timeouts").
 *
 * A module importing `nx` also gets a data directory and a context in it;
 * its call commits when it ends normally (return or proc_exit(0)), is
 * rolled back on anything else, and runs again from scratch when the
 * store's map had to grow (docs/node.md). Sync is on unless --no-sync: the
 * node then loads or creates the directory's node id before the call.
 * Options are parsed in run_opts.c, the nx side lives in run_nx.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <weft/component.h>

#include "run.h"
#include "weft/profile.h"

/* Names every import the ABI profiles do not provide (abi.c), so the user
 * sees them all at once (the linker would stop at the first). Returns 0
 * when the module links, else -1 (reported). */
static int refuse_bad_imports(const char *path, const weft_module_t *module)
{
    weft_link_report_t link;
    if (weft_profile_check(module, &link) != 0) {
        cli_error("out of memory");
        return -1;
    }
    if (link.nbad == 0)
        return 0;
    cli_error("%s: cannot link: %zu bad import%s:", path, link.nbad, link.nbad == 1 ? "" : "s");
    cli_link_print(stderr, &link, 50);
    fputs("weft: weft run provides ", stderr);
    cli_abi_print_list(stderr);
    fputc('\n', stderr);
    weft_link_report_free(&link);
    return -1;
}

/* A module whose own memory needs more than --max-memory at start can never
 * run, whatever it is given: refused before anything runs, as a module
 * error (exit 1), not a trap (3): no code ran, and a rerun would fail alike.
 * Past the cap at run time, memory.grow returns -1 to the guest. */
static int refuse_memory_over_limit(const run_opts_t *o, const weft_module_t *module)
{
    uint64_t cap = o->max_memory / PAGE_SIZE;
    for (size_t i = 0, n = weft_module_memory_count(module); o->has_max_memory && i < n; i++) {
        weft_limits_t l;
        if (weft_module_memory(module, i, &l) != 0 || l.min <= cap)
            continue;
        cli_error("%s: memory %zu needs %" PRIu32 " pages of 64 KiB (%" PRIu64
                  " KiB) at start, more than --max-memory allows (%" PRIu64
                  " pages): give a larger --max-memory",
                  o->path, i, l.min, (uint64_t)l.min * 64, cap);
        return -1;
    }
    return 0;
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
    case WEFT_V128: return cli_parse_v128(s, out->of.v128);
    case WEFT_FUNCREF:
    case WEFT_EXTERNREF:
        /* Only the null reference can be written on a command line. */
        out->of.ref = NULL;
        return strcmp(s, "null") == 0 ? 0 : -1;
    default: return -1;
    }
}

/* The exported function `name` of the module (before instantiation, so
 * usage errors are reported before any guest code runs). */
static const weft_functype_t *export_type(const weft_module_t *module, const char *name)
{
    weft_externdesc_t d;
    if (weft_module_export_find(module, name, strlen(name), &d) == 0 && d.kind == WEFT_EXTERN_FUNC)
        return d.functype;
    return NULL;
}

/* ---- the outcome --------------------------------------------------------- */

/* "weft: trap: <message> (<KIND>)", a note for traps weft caused itself,
 * then the wasm frames innermost first, named from the name section. */
static void report_trap(const weft_call_result_t *res, const char *note)
{
    weft_trap_code_t code = (weft_trap_code_t)weft_call_result_trap(res);
    const char *msg = weft_call_result_trap_message(res);
    if (!*msg)
        msg = weft_trap_string(code);
    fprintf(stderr, "weft: trap: %s (%s)\n", msg, weft_trap_name(code));
    if (note)
        fprintf(stderr, "weft: %s\n", note);

    size_t n = weft_call_result_backtrace_count(res);
    if (n == 0)
        return;
    fputs("backtrace (innermost first):\n", stderr);
    for (size_t i = 0; i < n;) {
        const char *name, *name_j;
        uint32_t func = weft_call_result_frame(res, i, &name);
        fprintf(stderr, "  #%-2zu func[%" PRIu32 "] ", i, func);
        if (name)
            cli_print_name(stderr, name, strlen(name));
        else
            fputs("<unnamed>", stderr);
        fputc('\n', stderr);
        /* Deep recursion would fill the screen with one line: fold a run of
         * the same function into a count. */
        size_t j = i + 1;
        while (j < n && weft_call_result_frame(res, j, &name_j) == func)
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

static weft_node_t *volatile interrupt_node;
static volatile sig_atomic_t got_sigint;

static void on_sigint(int sig)
{
    (void)sig;
    weft_node_t *node = interrupt_node;
    got_sigint = 1;
    if (node)
        weft_node_interrupt(node);
}

/* Why the call was interrupted, for the line under the trap, or NULL. */
static const char *interrupt_note(const run_t *r, char *note, size_t size)
{
    if (got_sigint)
        return "interrupted by Ctrl-C (SIGINT)";
    if (r->o->timeout_ns) {
        snprintf(note, size, "the run took longer than --timeout %s", r->o->timeout_text);
        return note;
    }
    return NULL;
}

/* 1 when the module is bound to guest ABI `name` (its imports or --abi). */
static int run_abi_is(const weft_module_t *module, const char *want, const char *name)
{
    weft_link_report_t rep;
    char msg[256];
    if (weft_profile_check(module, &rep) != 0)
        return 0;
    int i = weft_abi_choose(module, &rep, want, msg, sizeof msg);
    weft_link_report_free(&rep);
    return i >= 0 && strcmp(weft_abi_name((size_t)i), name) == 0;
}

/* The Calimero ABI: its method takes stdin through `input` and prints
 * what `value_return` gave (docs/calimero.md). */
static int run_is_calimero(const weft_module_t *module, const char *want)
{
    return run_abi_is(module, want, "calimero");
}

/* Reports the call's result and turns it into the exit status. */
int run_outcome(const run_t *r, const weft_call_result_t *res)
{
    const run_opts_t *o = r->o;
    int calimero = r->module && run_is_calimero(r->module, o->abi);
    int faasm = r->module && run_abi_is(r->module, o->abi, "faasm");
    int nx = r->module && (weft_profile_imported(r->module, "nx") || calimero || faasm ||
                           run_abi_is(r->module, o->abi, "cosmictron"));
    if (calimero || faasm) { /* Ok's bytes, or Err's (EXIT 1); Faasm's output either way */
        size_t len;
        const uint8_t *out = weft_call_result_output(res, &len);
        weft_call_outcome_t oc = weft_call_result_outcome(res);
        if (oc == WEFT_CALL_OK || oc == WEFT_CALL_EXIT)
            fwrite(out, 1, len, oc == WEFT_CALL_OK || faasm ? stdout : stderr);
    }
    char note[160];
    int status;
    /* The guest wrote to fd 1 and 2 directly: ours come after. */
    fflush(stdout);
    if (nx)
        run_print_logs(r, res);
    switch (weft_call_result_outcome(res)) {
    case WEFT_CALL_OK: {
        if (nx && o->events)
            run_print_events(r, res);
        const weft_val_t *vals;
        size_t nr = weft_call_result_values(res, &vals), len;
        const uint8_t *out = weft_call_result_output(res, &len);
        if (!r->module && o->invoke && len) { /* a component function's result */
            fwrite(out, 1, len, stdout);
            fputc('\n', stdout);
        }
        for (size_t i = 0; i < nr; i++) {
            cli_print_val(stdout, &vals[i]);
            fputc('\n', stdout);
        }
        return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    }
    case WEFT_CALL_EXIT:
        status = weft_call_result_exit_status(res) & 0xff;
        if (weft_call_result_rolled_back(res))
            cli_error("exit status %d: this call's writes were rolled back", status);
        return status;
    case WEFT_CALL_TRAP: {
        int trap = weft_call_result_trap(res);
        const char *why = NULL;
        if (trap == WEFT_TRAP_INTERRUPTED) {
            why = interrupt_note(r, note, sizeof note);
        } else if (trap == WEFT_TRAP_OUT_OF_FUEL && o->has_fuel) {
            snprintf(note, sizeof note, "the run used up --fuel %" PRIu64, o->fuel);
            why = note;
        }
        if (weft_call_result_error(res) == WEFT_EINTERRUPTED) {
            /* Stopped while waiting for the write lock: the guest never
             * ran, so the trap is named without its message. */
            fprintf(stderr, "weft: trap: %s (%s)\n", weft_trap_string(WEFT_TRAP_INTERRUPTED),
                    weft_trap_name(WEFT_TRAP_INTERRUPTED));
            if (why)
                fprintf(stderr, "weft: %s\n", why);
            fprintf(stderr, "weft: the call was %s\n", weft_call_result_trap_message(res));
            return CLI_EXIT_TRAP;
        }
        report_trap(res, why);
        if (weft_call_result_rolled_back(res))
            cli_error("trap: this call's writes were rolled back");
        return CLI_EXIT_TRAP;
    }
    case WEFT_CALL_ERROR:
    default:
        /* WEFT_EARG: a --dir that cannot be opened (the message names it). */
        if (weft_call_result_error(res) == WEFT_EARG) {
            cli_error("%s", weft_call_result_message(res));
            return CLI_EXIT_USAGE;
        }
        cli_error("%s: %s", o->path, weft_call_result_message(res));
        if (weft_call_result_rolled_back(res))
            cli_error("error: this call's writes were rolled back");
        return CLI_EXIT_ERROR;
    }
}

/* Opens the one-call node: inline, without a data directory yet, the
 * options' limits and environment as its defaults. 0 or -1 (reported). */
static int open_node(run_t *r)
{
    const run_opts_t *o = r->o;
    weft_node_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.flags = WEFT_NODE_INLINE | WEFT_NODE_KICK | (o->no_sync ? WEFT_NODE_NO_SYNC : 0);
    /* --timeout bounds loading too (compiling a big module takes a while,
     * and no guest code runs yet): the load gets its own DURATION, and
     * running the call then gets DURATION afresh. */
    cfg.load_timeout_ns = o->timeout_ns ? o->timeout_ns : UINT64_MAX;
    cfg.tier = o->tier;
    cfg.env = (const char *const *)o->env;
    cfg.nenv = o->nenv;
    weft_call_limits_t *l = &cfg.limits;
    if (o->has_fuel)
        l->fuel = o->fuel ? o->fuel : WEFT_FUEL_ZERO;
    if (o->has_max_memory) {
        uint64_t pages = o->max_memory / PAGE_SIZE;
        l->max_memory_pages = (uint32_t)(pages > MAX_PAGES ? MAX_PAGES : pages);
    }
    if (o->has_max_stack)
        l->max_stack_bytes = o->max_stack > SIZE_MAX ? SIZE_MAX : (size_t)o->max_stack;
    l->max_table_elems = (uint32_t)o->max_table_elems;
    l->timeout_ns = o->timeout_ns;
    char msg[512];
    if (weft_node_open(&cfg, &r->node, msg, sizeof msg) != 0) {
        r->node = NULL;
        cli_error("%s", msg);
        return -1;
    }
    return 0;
}

/* --stats: one line on stderr after the call (the module's functions are
 * the node's only app's). */
static void print_stats(const run_t *r, const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    weft_node_stats_t st;
    weft_node_stats(r->node, &st);
    int tier = weft_tier_available(r->o->tier) ? r->o->tier : WEFT_TIER_INTERP;
    fprintf(stderr, "weft: stats: tier %s, %llu of %llu functions compiled, %.3f s\n", cli_tier_name(tier),
            (unsigned long long)st.compiled_functions, (unsigned long long)st.functions,
            (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9);
}

int run_stdin_null(void)
{
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0 || dup2(null_fd, 0) < 0) {
        cli_error("cannot open /dev/null: %s", strerror(errno));
        if (null_fd >= 0)
            close(null_fd);
        return -1;
    }
    close(null_fd);
    return 0;
}

int run_call(run_t *r, const weft_call_req_t *req, weft_call_result_t **res)
{
    /* From here the guest may run: Ctrl-C stops it unless SIGINT is
     * ignored (a background job), which we respect. */
    struct sigaction sa, old;
    int sigint_installed = 0;
    if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler != SIG_IGN) {
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigint;
        sa.sa_flags = SA_RESETHAND; /* no SA_RESTART: it cuts a blocked read short */
        sigemptyset(&sa.sa_mask);
        interrupt_node = r->node;
        sigint_installed = sigaction(SIGINT, &sa, NULL) == 0;
    }
    /* The guest writes to fd 1 and 2 directly: nothing of ours may be
     * left in a buffer to come out after it. */
    fflush(stdout);
    fflush(stderr);
    int rc = weft_node_call(r->node, req, res);
    if (sigint_installed)
        signal(SIGINT, SIG_DFL);
    interrupt_node = NULL;
    return rc;
}

int cli_run(int argc, char **argv)
{
    run_opts_t o;
    int rc = run_parse_opts(argc, argv, &o);
    if (rc != 0) {
        run_free_opts(&o);
        return rc < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }

    int status = CLI_EXIT_ERROR;
    uint8_t *bytes = NULL;
    size_t len = 0;
    weft_val_t *vals = NULL;
    weft_call_result_t *res = NULL;
    const char *fname = o.invoke ? o.invoke : "_start";
    int from_stdin = strcmp(o.path, "-") == 0;
    char msg[512], app_id[WEFT_APP_ID_LEN + 1];
    run_t r;
    memset(&r, 0, sizeof r);
    r.o = &o;

    if (cli_read_file(o.path, &bytes, &len) != 0) {
        cli_error("cannot read %s: %s", from_stdin ? "the module from stdin" : o.path,
                  strerror(errno));
        goto done;
    }
    if (cli_is_wat(bytes, len)) {
        cli_wat_error(o.path);
        goto done;
    }
    int component = weft_is_component(bytes, len);
    if (!(r.name = run_module_name(o.path))) {
        cli_error("out of memory");
        goto done;
    }
    r.context = o.context ? o.context : r.name;
    if (open_node(&r) != 0)
        goto done;
    msg[0] = '\0';
    rc = weft_node_app_open(r.node, bytes, len, r.name, app_id, msg, sizeof msg);
    if (rc == WEFT_EINTERRUPTED) {
        cli_error("%s: %s", o.path, msg);
        cli_error("the load took longer than --timeout %s", o.timeout_text);
        status = CLI_EXIT_TRAP; /* as a run stopped by --timeout */
        goto done;
    }
    if (rc != 0) {
        cli_error("%s: %s: %s", o.path, weft_strerror(rc), msg[0] ? msg : "(no detail)");
        goto done;
    }
    free(bytes); /* the module keeps its own copy */
    bytes = NULL;
    if (component) { /* run_component.c */
        status = cli_run_component(&r, app_id, from_stdin);
        goto done;
    }
    if (weft_node_app_module(r.node, app_id, &r.module) != 0) {
        cli_error("out of memory");
        goto done;
    }
    if (refuse_bad_imports(o.path, r.module) != 0 || refuse_memory_over_limit(&o, r.module) != 0)
        goto done;
    int needs_store = 0;
    if (weft_node_app_bind(r.node, app_id, o.abi, &needs_store, msg, sizeof msg) != 0) {
        cli_error("%s: cannot link: %s", o.path, msg);
        goto done;
    }

    /* A Numax module exports `run` rather than `_start`. */
    if (!o.invoke && !export_type(r.module, "_start") && export_type(r.module, "run"))
        fname = "run";
    /* Check the call before running anything: usage errors run no guest code. */
    const weft_functype_t *ft = export_type(r.module, fname);
    if (!ft) {
        cli_error("%s: no exported function '%s'%s", o.path, fname,
                  o.invoke ? "" : " (nor 'run'; pick a function with --invoke NAME)");
        list_functions(r.module);
        goto done;
    }
    size_t np = weft_functype_nparams(ft), nr = weft_functype_nresults(ft);
    if (!o.invoke && (np != 0 || nr != 0)) {
        fprintf(stderr, "weft: %s: %s has type ", o.path, fname);
        cli_print_functype(stderr, ft);
        fputs(", but a command's is () -> ()\n", stderr);
        goto done;
    }
    /* A Cosmictron reducer takes its arguments as BSATN on stdin, or as one
     * JSON argument (docs/cosmictron.md), not as numbers. */
    int cosm = run_abi_is(r.module, o.abi, "cosmictron");
    if (cosm && (!o.invoke || o.nargs > 1)) {
        cli_error("a Cosmictron module runs a reducer: --invoke REDUCER, with its arguments "
                  "as BSATN on stdin or as one JSON argument");
        status = CLI_EXIT_USAGE;
        goto done;
    }
    if (o.invoke && (size_t)o.nargs != np && !cosm) {
        cli_error("'%s' takes %zu argument%s, got %d; its type is:", fname, np, np == 1 ? "" : "s",
                  o.nargs);
        fputs("  ", stderr);
        cli_print_functype(stderr, ft);
        fputc('\n', stderr);
        status = CLI_EXIT_USAGE;
        goto done;
    }
    vals = calloc(np + 1, sizeof *vals);
    if (!vals) {
        cli_error("out of memory");
        goto done;
    }
    for (size_t i = 0; o.invoke && !cosm && i < np; i++) {
        weft_valtype_t t = weft_functype_param(ft, i);
        if (parse_arg(t, o.args[i], &vals[i]) != 0) {
            cli_error("argument %zu of '%s': '%s' is not a valid %s%s", i + 1, fname, o.args[i],
                      weft_valtype_name(t),
                      t == WEFT_FUNCREF || t == WEFT_EXTERNREF ? " (only 'null' can be given)"
                      : t == WEFT_V128 ? " (a shape and its lanes, i32x4:1,2,3,4, or 0x and 32 hex digits)"
                                       : "");
            status = CLI_EXIT_USAGE;
            goto done;
        }
    }

    if (from_stdin && run_stdin_null() != 0)
        goto done;

    /* Only a module whose imports keep state (nx, ...) gets (and may
     * create) a data directory. */
    if (needs_store && (status = run_open_data_dir(&r)) != 0)
        goto done;
    status = CLI_EXIT_ERROR;

    /* WASI: argv[0] and ARGS, only the --env variables, only the --dirs;
     * the guest's argv[0] is the module's file name without its
     * directories, as wasmtime does, so the host's paths do not leak. */
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = r.context;
    req.app = app_id;
    req.function = fname;
    req.args = o.invoke && !cosm ? vals : NULL;
    req.nargs = o.invoke && !cosm ? np : 0;
    req.argv = (const char *const *)o.args;
    req.argc = (size_t)o.nargs;
    req.argv0 = from_stdin ? "stdin" : cli_file_name(o.path);
    req.stdio = 1;
    uint8_t *cal_input = NULL;
    if (cosm && o.nargs == 1) { /* JSON arguments */
        req.input = (const uint8_t *)o.args[0];
        req.input_len = strlen(o.args[0]);
        req.input_json = 1;
        req.stdio = 0;
        req.argv = NULL;
        req.argc = 0;
    } else if (cosm || run_is_calimero(r.module, o.abi) ||
               (run_abi_is(r.module, o.abi, "faasm") && !isatty(0))) {
        /* the input is stdin, read whole (a Faasm function's
         * __faasm_read_input; a terminal gives it none, docs/faasm.md) */
        size_t cap = 0;
        for (;;) {
            if (req.input_len == cap) {
                uint8_t *p = realloc(cal_input, cap = cap ? 2 * cap : 65536);
                if (!p) {
                    cli_error("out of memory");
                    free(cal_input);
                    goto done;
                }
                cal_input = p;
            }
            ssize_t n = read(0, cal_input + req.input_len, cap - req.input_len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                cli_error("cannot read stdin: %s", strerror(errno));
                free(cal_input);
                goto done;
            }
            if (n == 0)
                break;
            req.input_len += (size_t)n;
        }
        req.input = cal_input;
        req.stdio = 0;
    } else if (run_abi_is(r.module, o.abi, "faasm")) {
        req.stdio = 0; /* its output: __faasm_write_output's, else stdout's */
    }
    req.dirs = o.dirs;
    req.ndirs = o.ndirs;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = run_call(&r, &req, &res);
    free(cal_input);
    if (rc != 0) {
        cli_error("%s: %s", o.path, weft_strerror(rc));
        goto done;
    }
    status = run_outcome(&r, res);
    if (o.stats)
        print_stats(&r, &t0);

done:
    weft_call_result_delete(res);
    free(vals);
    weft_node_close(r.node);
    free(r.name);
    free(bytes);
    run_free_opts(&o);
    return status;
}
