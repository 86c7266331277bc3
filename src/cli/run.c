/*
 * src/cli/run.c — `weft run`: run a WASI command, or call one export.
 *
 * Every module gets WASI preview 1 (imports it does not use cost nothing);
 * an import no profile provides is named and the run refused before
 * anything executes. The guest sees only what the options give it: its
 * arguments, the variables of --env, the directories of --dir. A trap prints
 * its kind, message and a backtrace on stderr and exits with 3; proc_exit's
 * status becomes the process's exit status. --timeout and Ctrl-C stop the
 * guest through weft_store_interrupt (a second Ctrl-C kills the process).
 *
 * A module importing `nx` also gets a data directory and a context in it;
 * its call then runs in one write transaction, committed when the call ends
 * normally (return or proc_exit(0)) and aborted on anything else, and run
 * once more from scratch when the store's map had to grow (docs/nx.md).
 * Sync is on unless --no-sync: the nx context then gets the directory's
 * node id (weft/identity.h), loaded or created before the call begins.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "weft/db.h"
#include "weft/identity.h"
#include "weft/nx.h"
#include "weft/wasi.h"

#define PAGE_SIZE 65536u
#define MAX_PAGES 65536u
#define MIN_STACK 4096u
#define MAX_BACKTRACE 64

/* Import namespaces `weft run` provides; everything else is refused. */
static const char *const provided[] = {"wasi_snapshot_preview1", "nx"};

void cli_run_usage(FILE *out)
{
    fprintf(out,
            "usage: weft run [options] MODULE.wasm [ARGS...]\n"
            "       weft run [options] --invoke NAME MODULE.wasm [ARGS...]\n"
            "\n"
            "Runs the WASI command MODULE (calls its _start) with ARGS as its arguments;\n"
            "the guest's argv[0] is MODULE's file name. With --invoke, calls the exported\n"
            "function NAME instead (after _initialize, if the module exports it) with ARGS\n"
            "converted to NAME's parameter types, and prints each result on its own line.\n"
            "A module exporting run instead of _start is run through run.\n"
            "WASI preview 1 is provided to every module; the guest sees no host variable\n"
            "and no host file unless an option below gives it. A module importing nx\n"
            "(the Numax host API) gets a database: the call commits its writes when it\n"
            "returns or calls proc_exit(0), and discards them on a trap, nx abort or\n"
            "another exit status. Its log lines go to stderr as \"MODULE: message\".\n"
            "Sync is on: nx net_node_id answers the data directory's node id (an ed25519\n"
            "public key created on first use and kept there), net_peers an empty list.\n"
            "\n"
            "options:\n"
            "  --invoke NAME        call export NAME instead of _start (or run)\n"
            "  --data-dir DIR       keep the state of nx modules in DIR (default:\n"
            "                       $WEFT_DATA_DIR, else $XDG_DATA_HOME/weft, else\n"
            "                       ~/.local/share/weft)\n"
            "  --context NAME       the context the module's state lives in (default:\n"
            "                       the module's file name without .wasm)\n"
            "  --events             print each event the call emitted (nx event_emit) as\n"
            "                       one JSON line on stdout, after the call committed\n"
            "  --no-sync            run with replication switched off: nx net_* and crdt\n"
            "                       functions return ERR_SYNC_DISABLED (-5)\n"
            "  --dir HOST[::GUEST]  let the guest use directory HOST under the name GUEST\n"
            "                       (default: HOST itself); repeatable. --dir .  gives\n"
            "                       the current directory for relative paths\n"
            "  --env NAME=VALUE     set a variable in the guest's environment; --env NAME\n"
            "                       passes weft's own value of NAME, if set; repeatable\n"
            "  --fuel N             trap (out of fuel) after N instructions; default unlimited\n"
            "  --max-memory BYTES   cap every linear memory, in bytes rounded down to 64K\n"
            "                       pages; suffixes K, M, G; default 4G\n"
            "  --max-stack BYTES    cap the value stack (locals and operands); at least 4K;\n"
            "                       suffixes K, M, G; default 8M\n"
            "  --timeout DURATION   interrupt the guest (a trap) after DURATION of wall time:\n"
            "                       an integer with unit ns, us, ms, s, m or h (500ms, 2s,\n"
            "                       1m); a bare number is seconds\n"
            "  -h, --help           show this help\n"
            "  --                   end of options\n"
            "\n"
            "arguments of --invoke: i32 and i64 in decimal or 0x hex (-7, 0xff); f32 and\n"
            "f64 in decimal or hex float, inf, -inf, nan.\n"
            "results: integers as signed decimal, f32 with 9 and f64 with 17 significant\n"
            "digits (enough to read back the same bits).\n"
            "\n"
            "exit codes:\n"
            "  0    success: _start returned, or NAME returned (results on stdout)\n"
            "  N    the guest called proc_exit(N) (exit(N) or return N from main); like\n"
            "       any process, only the low 8 bits of N are kept\n"
            "  1    module error: cannot read, decode, validate or link the module\n"
            "  2    usage error: bad option or argument, or a --dir that cannot be opened\n"
            "  3    trap: kind, message and backtrace on stderr (also for --fuel, --timeout,\n"
            "       --max-* and Ctrl-C)\n"
            "A guest may itself exit with 1, 2 or 3; weft's own messages on stderr always\n"
            "start with \"weft:\".\n"
            "\n"
            "examples:\n"
            "  weft run hello.wasm world\n"
            "  weft run --dir /tmp/x::/data --env USER=ada hello.wasm\n"
            "  weft run --invoke fib fib.wasm 30\n");
}

typedef struct {
    const char *invoke; /* NULL: _start, or run */
    const char *data_dir, *context; /* NULL: the defaults */
    int events;
    int no_sync; /* --no-sync: nx runs without WEFT_NX_SYNC */
    const char *path;
    char **args;
    int nargs;
    int has_fuel, has_max_memory, has_max_stack;
    uint64_t fuel, max_memory, max_stack;
    uint64_t timeout_ns; /* 0: none */
    const char *timeout_text;
    weft_wasi_preopen_t *dirs; /* guest_path points into argv or dir_names */
    char **dir_names;          /* malloc'ed host-path copies, freed with opts */
    size_t ndirs;
    const char **env; /* "NAME=VALUE", pointing into argv or environ */
    size_t nenv;
} run_opts_t;

static void free_opts(run_opts_t *o)
{
    for (size_t i = 0; i < o->ndirs; i++)
        free(o->dir_names[i]);
    free(o->dir_names);
    free(o->dirs);
    free(o->env);
}

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

/* --dir HOST[::GUEST]: split at the first "::", as wasmtime does. */
static int add_dir(run_opts_t *o, const char *val)
{
    const char *sep = strstr(val, "::");
    size_t host_len = sep ? (size_t)(sep - val) : strlen(val);
    const char *guest = sep ? sep + 2 : NULL;
    if (host_len == 0 || (guest && *guest == '\0')) {
        cli_error("--dir: '%s' is not HOST or HOST::GUEST", val);
        return -1;
    }
    char *host = malloc(host_len + 1);
    if (!host) {
        cli_error("out of memory");
        return -1;
    }
    memcpy(host, val, host_len);
    host[host_len] = '\0';
    o->dir_names[o->ndirs] = host;
    o->dirs[o->ndirs].host_path = host;
    o->dirs[o->ndirs].guest_path = guest ? guest : host;
    o->ndirs++;
    return 0;
}

extern char **environ;

/* Length of the NAME part of "NAME=VALUE" (or of a bare NAME). */
static size_t env_name_len(const char *s)
{
    const char *eq = strchr(s, '=');
    return eq ? (size_t)(eq - s) : strlen(s);
}

/* --env NAME=VALUE, or --env NAME to pass weft's own value along (nothing
 * when weft has none). A later --env of the same NAME replaces an earlier
 * one, so the guest never sees a name twice. */
static int add_env(run_opts_t *o, const char *val)
{
    size_t n = env_name_len(val);
    if (n == 0) {
        cli_error("--env: '%s' is not NAME=VALUE or NAME", val);
        return -1;
    }
    const char *entry = val;
    if (val[n] == '\0') {
        /* environ's strings live as long as weft's environment is not
         * changed, which weft never does: pointing at them is safe. */
        entry = NULL;
        for (char **e = environ; e && *e; e++) {
            if (strncmp(*e, val, n) == 0 && (*e)[n] == '=') {
                entry = *e;
                break;
            }
        }
    }
    for (size_t i = 0; i < o->nenv; i++) {
        if (env_name_len(o->env[i]) == n && strncmp(o->env[i], val, n) == 0) {
            /* drop the earlier one, keeping the order of the others */
            memmove(&o->env[i], &o->env[i + 1], (o->nenv - i - 1) * sizeof *o->env);
            o->nenv--;
            break;
        }
    }
    if (entry)
        o->env[o->nenv++] = entry;
    return 0;
}

/* Returns 0 to go on, 1 when help was printed, -1 on a usage error
 * (already reported). */
static int parse_opts(int argc, char **argv, run_opts_t *o)
{
    memset(o, 0, sizeof *o);
    /* At most one --dir or --env per argument: size the arrays once. */
    size_t cap = (size_t)argc + 1;
    o->dirs = calloc(cap, sizeof *o->dirs);
    o->dir_names = calloc(cap, sizeof *o->dir_names);
    o->env = calloc(cap, sizeof *o->env);
    if (!o->dirs || !o->dir_names || !o->env) {
        cli_error("out of memory");
        return -1;
    }
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
        } else if ((m = option_value(argc, argv, &i, "--data-dir", &val)) != 0) {
            if (m < 0)
                return -1;
            o->data_dir = val;
        } else if ((m = option_value(argc, argv, &i, "--context", &val)) != 0) {
            if (m < 0)
                return -1;
            o->context = val;
        } else if (strcmp(arg, "--events") == 0) {
            o->events = 1;
        } else if (strcmp(arg, "--no-sync") == 0) {
            o->no_sync = 1;
        } else if ((m = option_value(argc, argv, &i, "--dir", &val)) != 0) {
            if (m < 0 || add_dir(o, val) != 0)
                return -1;
        } else if ((m = option_value(argc, argv, &i, "--env", &val)) != 0) {
            if (m < 0 || add_env(o, val) != 0)
                return -1;
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
        } else if ((m = option_value(argc, argv, &i, "--timeout", &val)) != 0) {
            if (m < 0)
                return -1;
            if (cli_parse_duration(val, &o->timeout_ns) != 0 || o->timeout_ns == 0) {
                cli_error("--timeout: '%s' is not a positive duration (e.g. 500ms, 2s, 1m)",
                          val);
                return -1;
            }
            o->timeout_text = val;
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

static int is_provided(const char *module, size_t len)
{
    for (size_t i = 0; i < sizeof provided / sizeof provided[0]; i++)
        if (strlen(provided[i]) == len && memcmp(provided[i], module, len) == 0)
            return 1;
    return 0;
}

/* Names every import from a namespace no profile provides, so the user
 * sees them all at once (the linker would stop at the first). Returns 0
 * when there is none. */
static int refuse_unknown_imports(const char *path, const weft_module_t *module)
{
    size_t n = weft_module_import_count(module), bad = 0;
    for (size_t i = 0; i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_import(module, i, &d) != 0 || is_provided(d.module, d.module_len))
            continue;
        if (bad++ == 0)
            cli_error("%s: cannot link: no host API provides these imports:", path);
        if (bad > 20)
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
    if (bad == 0)
        return 0;
    if (bad > 20)
        fprintf(stderr, "  ... %zu in all\n", bad);
    fputs("weft: weft run provides:", stderr);
    for (size_t i = 0; i < sizeof provided / sizeof provided[0]; i++)
        fprintf(stderr, " %s", provided[i]);
    fputc('\n', stderr);
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

/* ---- the timeout thread ------------------------------------------------ */

/* One thread sleeps until the deadline or until the run ends, whichever
 * comes first; at the deadline it interrupts the store. Only started with
 * --timeout, so a plain run pays nothing for it. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct timespec deadline; /* CLOCK_MONOTONIC */
    weft_store_t *store;
    int done;  /* set by the main thread: stop waiting */
    int fired; /* set by the timer: it interrupted the store */
    int started;
    pthread_t thread;
} deadline_t;

static void *deadline_main(void *arg)
{
    deadline_t *d = arg;
    pthread_mutex_lock(&d->mu);
    while (!d->done) {
        int rc = pthread_cond_timedwait(&d->cv, &d->mu, &d->deadline);
        if (rc == ETIMEDOUT && !d->done) {
            d->fired = 1;
            weft_store_interrupt(d->store);
            break;
        }
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

static int deadline_start(deadline_t *d, weft_store_t *store, uint64_t ns)
{
    memset(d, 0, sizeof *d);
    d->store = store;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int ok = pthread_cond_init(&d->cv, &ca) == 0;
    pthread_condattr_destroy(&ca);
    if (!ok)
        return -1;
    pthread_mutex_init(&d->mu, NULL);
    clock_gettime(CLOCK_MONOTONIC, &d->deadline);
    uint64_t sec = ns / 1000000000u, nsec = ns % 1000000000u;
    if (sec > (uint64_t)INT32_MAX)
        sec = INT32_MAX; /* ~68 years: forever, and no time_t overflow */
    d->deadline.tv_sec += (time_t)sec;
    d->deadline.tv_nsec += (long)nsec;
    if (d->deadline.tv_nsec >= 1000000000L) {
        d->deadline.tv_sec++;
        d->deadline.tv_nsec -= 1000000000L;
    }
    if (pthread_create(&d->thread, NULL, deadline_main, d) != 0) {
        pthread_cond_destroy(&d->cv);
        pthread_mutex_destroy(&d->mu);
        return -1;
    }
    d->started = 1;
    return 0;
}

/* Stops the timer thread (if it has not fired) and waits for it, so the
 * store is never interrupted after this returns. Safe to call twice. */
static void deadline_stop(deadline_t *d)
{
    if (!d->started)
        return;
    pthread_mutex_lock(&d->mu);
    d->done = 1;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    d->started = 0;
}

/* ---- traps ------------------------------------------------------------- */

/* "weft: trap: <message> (<KIND>)", a note for traps weft caused itself,
 * then the wasm frames innermost first, named from the name section. */
static void report_trap(weft_store_t *store, const weft_module_t *module, const char *note)
{
    weft_trap_code_t code = weft_store_trap(store);
    const char *msg = weft_store_trap_message(store);
    if (!msg || !*msg)
        msg = weft_trap_string(code);
    fprintf(stderr, "weft: trap: %s (%s)\n", msg, weft_trap_name(code));
    if (note)
        fprintf(stderr, "weft: %s\n", note);

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
static volatile sig_atomic_t got_sigint;

static void on_sigint(int sig)
{
    (void)sig;
    weft_store_t *store = interrupt_store;
    got_sigint = 1;
    if (store)
        weft_store_interrupt(store);
}

static const char *store_errmsg(weft_store_t *store, int rc)
{
    const char *msg = weft_store_errmsg(store);
    return msg && *msg ? msg : weft_strerror(rc);
}

/* The exported function `name` of the module (before instantiation, so
 * usage errors are reported before any guest code runs). */
static const weft_functype_t *export_type(const weft_module_t *module, const char *name)
{
    size_t n = weft_module_export_count(module), len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_export(module, i, &d) == 0 && d.kind == WEFT_EXTERN_FUNC &&
            d.name_len == len && memcmp(d.name, name, len) == 0)
            return d.functype;
    }
    return NULL;
}

/* The guest's argv[0]: the module's file name without its directories, as
 * wasmtime does, so the host's paths do not leak into the guest. */
static const char *file_name(const char *path)
{
    const char *end = path + strlen(path);
    while (end > path + 1 && end[-1] == '/')
        end--;
    const char *p = end;
    while (p > path && p[-1] != '/')
        p--;
    return p;
}

/* Everything one run holds, so the outcome of any call is judged alike. */
typedef struct {
    const run_opts_t *o;
    weft_engine_t *engine;
    weft_module_t *module;
    weft_store_t *store; /* of the current attempt */
    deadline_t deadline;
    weft_wasi_config_t wasi_cfg;
    weft_db_t *db;  /* nx modules only */
    weft_nx_t *nx;
    char *name;     /* module name: default context, module id, log prefix */
} run_t;

/* Turns the return code of an instantiation or call into the exit status:
 * -1 means success (go on), else the status to exit with. */
static int outcome(run_t *r, int rc, const char *what)
{
    if (rc == 0)
        return -1;
    if (rc != WEFT_ETRAP) {
        cli_error("%s: %s: %s", r->o->path, what, store_errmsg(r->store, rc));
        return CLI_EXIT_ERROR;
    }
    weft_trap_code_t code = weft_store_trap(r->store);
    if (code == WEFT_TRAP_EXIT)
        return weft_store_exit_status(r->store) & 0xff;
    char note[160];
    const char *why = NULL;
    if (code == WEFT_TRAP_INTERRUPTED) {
        deadline_stop(&r->deadline); /* joined: `fired` is final */
        if (r->deadline.fired) {
            snprintf(note, sizeof note, "the run took longer than --timeout %s",
                     r->o->timeout_text);
            why = note;
        } else if (got_sigint) {
            why = "interrupted by Ctrl-C (SIGINT)";
        }
    } else if (code == WEFT_TRAP_OUT_OF_FUEL && r->o->has_fuel) {
        snprintf(note, sizeof note, "the run used up --fuel %" PRIu64, r->o->fuel);
        why = note;
    }
    report_trap(r->store, r->module, why);
    return CLI_EXIT_TRAP;
}

/* ---- nx: data directory, context, call transaction --------------------- */

static int imports_namespace(const weft_module_t *module, const char *ns)
{
    size_t n = weft_module_import_count(module), len = strlen(ns);
    for (size_t i = 0; i < n; i++) {
        weft_externdesc_t d;
        if (weft_module_import(module, i, &d) == 0 && d.module_len == len &&
            memcmp(d.module, ns, len) == 0)
            return 1;
    }
    return 0;
}

/* mkdir -p with mode 0700 for the directories weft creates itself. */
static int make_dirs(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = mkdir(p, 0700) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

/* --data-dir, else $WEFT_DATA_DIR, else $XDG_DATA_HOME/weft, else
 * ~/.local/share/weft. Returns a malloc'ed path or NULL (reported). */
static char *data_dir(const run_opts_t *o)
{
    const char *v;
    char buf[4096];
    if (o->data_dir)
        return strdup(o->data_dir);
    if ((v = getenv("WEFT_DATA_DIR")) && *v)
        return strdup(v);
    if ((v = getenv("XDG_DATA_HOME")) && *v) {
        snprintf(buf, sizeof buf, "%s/weft", v);
        return strdup(buf);
    }
    if ((v = getenv("HOME")) && *v) {
        snprintf(buf, sizeof buf, "%s/.local/share/weft", v);
        return strdup(buf);
    }
    cli_error("no data directory: give --data-dir DIR or set WEFT_DATA_DIR");
    return NULL;
}

/* The module's name: its file name without directories and ".wasm". It is
 * the default context, the module id nx reports, and the prefix of its
 * log lines. */
static char *module_name(const char *path)
{
    const char *f = file_name(path);
    size_t n = strcspn(f, "/");
    if (n > 5 && memcmp(f + n - 5, ".wasm", 5) == 0)
        n -= 5;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, f, n);
        s[n] = '\0';
    }
    return s;
}

/* Opens the data directory and the nx context. Returns 0 or an exit status. */
static int open_nx(run_t *r)
{
    const run_opts_t *o = r->o;
    char msg[512];
    char *dir = data_dir(o);
    int rc, status = CLI_EXIT_USAGE;
    if (!dir)
        goto done;
    r->name = module_name(o->path);
    if (!r->name) {
        cli_error("out of memory");
        status = CLI_EXIT_ERROR;
        goto done;
    }
    const char *ctx = o->context ? o->context : r->name;
    if (strlen(ctx) == 0 || strlen(ctx) > 255) {
        cli_error("context name '%s' must be 1 to 255 bytes (see --context)", ctx);
        goto done;
    }
    if (!o->data_dir && make_dirs(dir) != 0) {
        cli_error("cannot create data directory %s: %s", dir, strerror(errno));
        goto done;
    }
    msg[0] = '\0';
    rc = weft_db_open(dir, 0, &r->db, msg, sizeof msg);
    if (rc != 0) {
        r->db = NULL;
        cli_error("cannot open data directory %s: %s", dir, msg[0] ? msg : weft_strerror(rc));
        status = rc == WEFT_EIO ? CLI_EXIT_USAGE : CLI_EXIT_ERROR;
        goto done;
    }
    /* The node id: only sync needs it, and only sync may create it. */
    uint8_t node_id[WEFT_IDENTITY_PUBLIC_LEN];
    if (!o->no_sync && (rc = weft_identity_load(r->db, node_id, NULL)) != 0) {
        cli_error("cannot load the node identity of %s: %s", dir,
                  rc == WEFT_EIO ? "a damaged key pair or a storage failure"
                                  : weft_strerror(rc));
        status = CLI_EXIT_ERROR;
        goto done;
    }
    weft_nx_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.db = r->db;
    cfg.context = ctx;
    cfg.module_id = r->name;
    if (!o->no_sync) {
        cfg.flags = WEFT_NX_SYNC;
        cfg.node_id = node_id;
        cfg.node_id_len = sizeof node_id;
    }
    /* env_get reads weft's own environment through the NX_/NUMAX_ policy,
     * as Numax does; --env only feeds WASI. */
    rc = weft_nx_new(&cfg, &r->nx);
    if (rc != 0) {
        r->nx = NULL;
        cli_error("cannot create the nx context: %s", weft_strerror(rc));
        status = CLI_EXIT_ERROR;
        goto done;
    }
    status = 0;
done:
    free(dir);
    return status;
}

/* Log lines of the call, "<module>: <message>", on stderr. */
static void print_logs(const run_t *r)
{
    size_t n = weft_nx_log_count(r->nx);
    for (size_t i = 0; i < n; i++) {
        const char *m;
        size_t len;
        if (weft_nx_log(r->nx, i, &m, &len) != 0)
            continue;
        fprintf(stderr, "%s: ", r->name);
        fwrite(m, 1, len, stderr);
        fputc('\n', stderr);
    }
    if (weft_nx_logs_dropped(r->nx))
        fprintf(stderr, "weft: %zu log messages of %s dropped (over 64 MiB in one call)\n",
                weft_nx_logs_dropped(r->nx), r->name);
}

/* --events: one JSON object per line, {"event": NAME, "payload": TEXT}, or
 * "payload_hex" instead when the payload is not UTF-8. */
static void print_events(const run_t *r)
{
    size_t n = weft_nx_event_count(r->nx);
    for (size_t i = 0; i < n; i++) {
        const char *name;
        const uint8_t *p;
        size_t nl, pl;
        if (weft_nx_event(r->nx, i, &name, &nl, &p, &pl) != 0)
            continue;
        json_t *obj = json_object();
        json_t *payload = json_stringn((const char *)p, pl);
        if (!obj)
            continue;
        json_object_set_new(obj, "event", json_stringn(name, nl));
        if (payload) {
            json_object_set_new(obj, "payload", payload);
        } else {
            char *hex = malloc(pl * 2 + 1);
            if (hex) {
                for (size_t j = 0; j < pl; j++)
                    snprintf(hex + 2 * j, 3, "%02x", p[j]);
                hex[pl * 2] = '\0';
                json_object_set_new(obj, "payload_hex", json_string(hex));
                free(hex);
            }
        }
        json_dumpf(obj, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(obj);
    }
    fflush(stdout);
}

/* ---- one attempt ---------------------------------------------------------- */

/* Instantiates the module in a fresh store and makes the call; with nx, in
 * one write transaction, committed when the call ends normally (returns,
 * or proc_exit(0)) and aborted otherwise (a trap, nx abort, proc_exit with
 * another status, a storage error). Sets *out_retry when the store's map
 * grew under the call: the caller runs it once more from scratch. Returns
 * the exit status. */
static int attempt(run_t *r, const char *fname, weft_val_t *vals, size_t np, size_t nr,
                   int *out_retry)
{
    const run_opts_t *o = r->o;
    int status = CLI_EXIT_ERROR, rc, sigint_installed = 0;
    weft_wasi_t *wasi = NULL;
    weft_linker_t *linker = NULL;
    weft_txn_t *txn = NULL;
    char msg[512];
    const char *what = "cannot instantiate";
    *out_retry = 0;

    msg[0] = '\0';
    rc = weft_wasi_new(&r->wasi_cfg, &wasi, msg, sizeof msg);
    if (rc != 0) {
        wasi = NULL;
        cli_error("%s", msg[0] ? msg : weft_strerror(rc));
        status = rc == WEFT_EIO ? CLI_EXIT_USAGE : CLI_EXIT_ERROR;
        goto done;
    }
    r->store = weft_store_new(r->engine);
    linker = r->store ? weft_linker_new(r->store) : NULL;
    if (!linker || weft_wasi_define(wasi, linker) != 0 ||
        (r->nx && weft_nx_define(r->nx, linker) != 0)) {
        cli_error("out of memory");
        goto done;
    }
    weft_limits_config_t limits = weft_store_limits(r->store);
    if (o->has_max_memory) {
        uint64_t pages = o->max_memory / PAGE_SIZE;
        limits.max_memory_pages = (uint32_t)(pages > MAX_PAGES ? MAX_PAGES : pages);
    }
    if (o->has_max_stack)
        limits.max_stack_bytes = o->max_stack > SIZE_MAX ? SIZE_MAX : (size_t)o->max_stack;
    rc = weft_store_set_limits(r->store, &limits);
    if (rc != 0) {
        cli_error("cannot set limits: %s", store_errmsg(r->store, rc));
        goto done;
    }
    if (o->has_fuel)
        weft_store_set_fuel(r->store, o->fuel);

    /* From here the guest may run (the start function too): the deadline
     * starts now (anew for a retried attempt), and Ctrl-C stops the guest
     * unless SIGINT is ignored (a background job), which we respect. */
    if (o->timeout_ns && deadline_start(&r->deadline, r->store, o->timeout_ns) != 0) {
        cli_error("cannot start the --timeout timer thread");
        goto done;
    }
    struct sigaction sa, old;
    if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler != SIG_IGN) {
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigint;
        sa.sa_flags = SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        interrupt_store = r->store;
        sigint_installed = sigaction(SIGINT, &sa, NULL) == 0;
    }
    if (r->nx) {
        rc = weft_txn_begin(r->db, WEFT_TXN_WRITE, &txn);
        if (rc != 0) {
            txn = NULL;
            cli_error("cannot begin a transaction: %s", weft_db_errmsg(r->db));
            goto done;
        }
        weft_nx_begin_call(r->nx, txn);
    }
    /* The guest writes to fd 1 and 2 directly: nothing of ours may be
     * left in a buffer to come out after it. */
    fflush(stdout);
    fflush(stderr);

    weft_instance_t *inst = NULL;
    weft_extern_t ext;
    rc = weft_linker_instantiate(linker, r->module, &inst);
    if (rc == 0 && strcmp(fname, "_start") != 0 &&
        weft_instance_export(inst, "_initialize", &ext) == 0 && ext.kind == WEFT_EXTERN_FUNC) {
        const weft_functype_t *it = weft_func_type(ext.of.func);
        if (weft_functype_nparams(it) == 0 && weft_functype_nresults(it) == 0) {
            what = "call to '_initialize' failed";
            rc = weft_func_call(r->store, ext.of.func, NULL, 0, NULL, 0);
        }
    }
    if (rc == 0) {
        if (weft_instance_export(inst, fname, &ext) != 0 || ext.kind != WEFT_EXTERN_FUNC) {
            cli_error("%s: export '%s' vanished after instantiation", o->path, fname);
            goto done;
        }
        what = "call failed";
        rc = weft_func_call(r->store, ext.of.func, vals, np, vals + np, nr);
    }

    int nx_error = 0;
    if (r->nx) {
        weft_nx_end_call(r->nx);
        nx_error = weft_nx_call_error(r->nx);
        if (weft_db_retryable(nx_error)) {
            *out_retry = 1; /* the output of this attempt is dropped with it */
            goto done;
        }
        fflush(stdout);
        print_logs(r);
    }
    status = outcome(r, rc, what);
    if (r->nx) {
        int normal = rc == 0 || (rc == WEFT_ETRAP && weft_store_trap(r->store) == WEFT_TRAP_EXIT &&
                                 weft_store_exit_status(r->store) == 0);
        if (nx_error) {
            cli_error("%s: database error: %s", o->path, weft_db_errmsg(r->db));
            status = CLI_EXIT_ERROR;
        } else if (normal) {
            weft_txn_t *t = txn;
            txn = NULL;
            rc = weft_txn_commit(t);
            if (weft_db_retryable(rc)) {
                *out_retry = 1;
                goto done;
            }
            if (rc != 0) {
                cli_error("%s: cannot commit: %s", o->path, weft_db_errmsg(r->db));
                status = CLI_EXIT_ERROR;
                goto done;
            }
            if (o->events)
                print_events(r);
        }
    }
    if (status < 0) {
        for (size_t i = 0; i < nr; i++) {
            cli_print_val(stdout, &vals[np + i]);
            fputc('\n', stdout);
        }
        status = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
    }

done:
    if (txn)
        weft_txn_abort(txn);
    if (r->nx)
        weft_nx_end_call(r->nx);
    /* The timer and the Ctrl-C handler must be gone before the store. */
    deadline_stop(&r->deadline);
    if (sigint_installed)
        signal(SIGINT, SIG_DFL);
    interrupt_store = NULL;
    if (linker)
        weft_linker_delete(linker);
    if (r->store)
        weft_store_delete(r->store);
    r->store = NULL;
    if (wasi)
        weft_wasi_delete(wasi);
    return status;
}

int cli_run(int argc, char **argv)
{
    run_opts_t o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != 0) {
        free_opts(&o);
        return rc < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }

    int status = CLI_EXIT_ERROR;
    uint8_t *bytes = NULL;
    size_t len = 0;
    weft_val_t *vals = NULL;
    const char **gargv = NULL;
    const char *fname = o.invoke ? o.invoke : "_start";
    char msg[512];
    run_t r;
    memset(&r, 0, sizeof r);
    r.o = &o;

    if (cli_read_file(o.path, &bytes, &len) != 0) {
        cli_error("cannot read %s: %s", o.path, strerror(errno));
        goto done;
    }
    r.engine = weft_engine_new();
    if (!r.engine) {
        cli_error("out of memory");
        goto done;
    }
    msg[0] = '\0';
    rc = weft_module_new(r.engine, bytes, len, &r.module, msg, sizeof msg);
    if (rc != 0) {
        cli_error("%s: %s: %s", o.path, weft_strerror(rc), msg[0] ? msg : "(no detail)");
        r.module = NULL;
        goto done;
    }
    free(bytes); /* the module keeps its own copy */
    bytes = NULL;
    if (refuse_unknown_imports(o.path, r.module) != 0)
        goto done;

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
    if (o.invoke && (size_t)o.nargs != np) {
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
    for (size_t i = 0; o.invoke && i < np; i++) {
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

    /* WASI: argv[0] and ARGS, only the --env variables, only the --dirs. */
    gargv = calloc((size_t)o.nargs + 1, sizeof *gargv);
    if (!gargv) {
        cli_error("out of memory");
        goto done;
    }
    gargv[0] = file_name(o.path);
    for (int i = 0; i < o.nargs; i++)
        gargv[i + 1] = o.args[i];
    r.wasi_cfg = weft_wasi_config_default();
    r.wasi_cfg.argv = gargv;
    r.wasi_cfg.argc = (size_t)o.nargs + 1;
    r.wasi_cfg.env = o.env;
    r.wasi_cfg.nenv = o.nenv;
    r.wasi_cfg.preopens = o.dirs;
    r.wasi_cfg.npreopens = o.ndirs;

    /* Only a module that imports nx gets (and may create) a data directory. */
    if (imports_namespace(r.module, "nx") && (status = open_nx(&r)) != 0)
        goto done;
    status = CLI_EXIT_ERROR;

    /* A store whose map grew under the call aborted it: run it again from
     * scratch (a fresh instance, a fresh transaction). The map grows 4x each
     * time, so 8 attempts cover a call writing 4^7 times the first map. */
    for (int tries = 0;; tries++) {
        int retry = 0;
        status = attempt(&r, fname, vals, np, nr, &retry);
        if (!retry)
            break;
        if (tries == 7) {
            cli_error("%s: the database is still full after growing it", o.path);
            status = CLI_EXIT_ERROR;
            break;
        }
    }

done:
    free(vals);
    free(gargv);
    if (r.nx)
        weft_nx_delete(r.nx);
    if (r.db)
        weft_db_close(r.db);
    free(r.name);
    if (r.module)
        weft_module_delete(r.module);
    if (r.engine)
        weft_engine_delete(r.engine);
    free(bytes);
    free_opts(&o);
    return status;
}
