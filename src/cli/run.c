/*
 * src/cli/run.c — `weft run`: run a WASI command, or call one export.
 *
 * Every module gets WASI preview 1 (imports it does not use cost nothing);
 * an import no profile provides is named and the run refused before
 * anything executes. The guest sees only what the options give it: its
 * arguments, the variables of --env, the directories of --dir. A trap prints
 * its kind, message and a backtrace on stderr and exits with 3; proc_exit's
 * status becomes the process's exit status. --timeout and Ctrl-C stop the
 * guest through weft_store_interrupt (a second Ctrl-C kills the process),
 * with a signal to cut short a host call blocked in a syscall, and end the
 * wait for the data directory's write lock (docs/nx.md, "Timeouts").
 *
 * A module importing `nx` also gets a data directory and a context in it;
 * its call then runs in one write transaction, committed when the call ends
 * normally (return or proc_exit(0)) and aborted on anything else, and run
 * once more from scratch when the store's map had to grow (docs/nx.md).
 * Sync is on unless --no-sync: the nx context then gets the directory's
 * node id (weft/identity.h), loaded or created before the call begins.
 * Options are parsed in run_opts.c, the nx side lives in run_nx.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run.h"


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

/* ---- the timeout thread ------------------------------------------------ */

/* The signal that cuts a blocked host call short: its handler does
 * nothing, and is installed without SA_RESTART, so a read of an idle pipe
 * or an open of a FIFO fails with EINTR; the host function then finds the
 * store interrupted and traps (weft/wasi.h). */
#define KICK_SIGNAL SIGUSR1
#define KICK_EVERY_NS 10000000L /* 10 ms */

static void on_kick(int sig)
{
    (void)sig;
}

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
    /* Kick the running thread until the run ends: a signal that lands just
     * before a blocking syscall starts is lost, the next one is not. */
    while (d->fired && !d->done) {
        pthread_kill(d->target, KICK_SIGNAL);
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        next.tv_nsec += KICK_EVERY_NS;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_sec++;
            next.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&d->cv, &d->mu, &next);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

static int deadline_start(deadline_t *d, weft_store_t *store, uint64_t ns)
{
    memset(d, 0, sizeof *d);
    d->store = store;
    d->target = pthread_self();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_kick; /* no SA_RESTART: that is the point */
    sigemptyset(&sa.sa_mask);
    if (sigaction(KICK_SIGNAL, &sa, NULL) != 0)
        return -1;
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
    /* The timer thread blocks SIGINT (and the kick), so a Ctrl-C is
     * delivered to the running thread and cuts its blocked syscall short. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, KICK_SIGNAL);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int created = pthread_create(&d->thread, NULL, deadline_main, d);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (created != 0) {
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

/* Why the store was interrupted, for the line under the trap, or NULL. */
static const char *interrupt_note(run_t *r, char *note, size_t size)
{
    deadline_stop(&r->deadline); /* joined: `fired` is final */
    if (r->deadline.fired) {
        snprintf(note, size, "the run took longer than --timeout %s", r->o->timeout_text);
        return note;
    }
    return got_sigint ? "interrupted by Ctrl-C (SIGINT)" : NULL;
}

/* weft_txn_begin_wait's `stop`: the deadline has passed or Ctrl-C came. */
static int run_stopped(void *arg)
{
    deadline_t *d = arg;
    int fired = 0;
    if (d->started) {
        pthread_mutex_lock(&d->mu);
        fired = d->fired;
        pthread_mutex_unlock(&d->mu);
    }
    return fired || got_sigint;
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

/* The guest's argv[0]: the module's file name without its directories, as
 * wasmtime does, so the host's paths do not leak into the guest. */
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
        why = interrupt_note(r, note, sizeof note);
    } else if (code == WEFT_TRAP_OUT_OF_FUEL && r->o->has_fuel) {
        snprintf(note, sizeof note, "the run used up --fuel %" PRIu64, r->o->fuel);
        why = note;
    }
    report_trap(r->store, r->module, why);
    return CLI_EXIT_TRAP;
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
    if (o->max_table_elems)
        limits.max_table_elems = (uint32_t)o->max_table_elems;
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
        /* Another call may hold the data directory's write lock for as long
         * as it runs: the wait for it ends with the deadline or Ctrl-C,
         * reported as the trap a guest running that long would get. */
        rc = weft_txn_begin_wait(r->db, WEFT_TXN_WRITE, run_stopped, &r->deadline, &txn);
        if (rc == WEFT_EINTERRUPTED) {
            txn = NULL;
            char note[160];
            const char *why = interrupt_note(r, note, sizeof note);
            fprintf(stderr, "weft: trap: %s (%s)\n", weft_trap_string(WEFT_TRAP_INTERRUPTED),
                    weft_trap_name(WEFT_TRAP_INTERRUPTED));
            if (why)
                fprintf(stderr, "weft: %s\n", why);
            fprintf(stderr, "weft: the call was %s\n", weft_db_errmsg(r->db));
            status = CLI_EXIT_TRAP;
            goto done;
        }
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
    /* The call is over: no kick may make a write of the logs or the commit
     * fail with EINTR. `fired` stays for outcome(). */
    deadline_stop(&r->deadline);

    int nx_error = 0;
    if (r->nx) {
        weft_nx_end_call(r->nx);
        nx_error = weft_nx_call_error(r->nx);
        if (weft_db_retryable(nx_error)) {
            *out_retry = 1; /* the output of this attempt is dropped with it */
            goto done;
        }
        fflush(stdout);
        run_print_logs(r);
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
                cli_error("%s: cannot commit the call, so none of its writes were kept "
                          "(the data directory holds what it held before): %s",
                          o->path, weft_db_errmsg(r->db));
                status = CLI_EXIT_ERROR;
                goto done;
            }
            if (o->events)
                run_print_events(r);
        } else if (weft_txn_dirty(txn)) {
            /* Aborted below: a guest's writes never vanish without a word. */
            if (rc == WEFT_ETRAP && weft_store_trap(r->store) == WEFT_TRAP_EXIT)
                cli_error("exit status %d: this call's writes were rolled back",
                          weft_store_exit_status(r->store) & 0xff);
            else
                cli_error("%s: this call's writes were rolled back",
                          rc == WEFT_ETRAP ? "trap" : "error");
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
    int rc = run_parse_opts(argc, argv, &o);
    if (rc != 0) {
        run_free_opts(&o);
        return rc < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }

    int status = CLI_EXIT_ERROR;
    uint8_t *bytes = NULL;
    size_t len = 0;
    weft_val_t *vals = NULL;
    const char **gargv = NULL;
    const char *fname = o.invoke ? o.invoke : "_start";
    int from_stdin = strcmp(o.path, "-") == 0, null_fd = -1;
    char msg[512];
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
    r.engine = weft_engine_new();
    if (!r.engine) {
        cli_error("out of memory");
        goto done;
    }
    msg[0] = '\0';
    /* --timeout bounds loading too (compiling a big module takes a while,
     * and no guest code runs yet): the load gets its own DURATION, from
     * now, and running the call then gets DURATION afresh. */
    weft_load_options_t load_opts = {0};
    if (o.timeout_ns) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        uint64_t now_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
        load_opts.deadline_ns = o.timeout_ns > UINT64_MAX - now_ns ? UINT64_MAX : now_ns + o.timeout_ns;
    }
    rc = weft_module_new_opts(r.engine, bytes, len, &load_opts, &r.module, msg, sizeof msg);
    if (rc == WEFT_EINTERRUPTED) {
        cli_error("%s: %s", o.path, msg);
        cli_error("the load took longer than --timeout %s", o.timeout_text);
        r.module = NULL;
        status = CLI_EXIT_TRAP; /* as a run stopped by --timeout */
        goto done;
    }
    if (rc != 0) {
        cli_error("%s: %s: %s", o.path, weft_strerror(rc), msg[0] ? msg : "(no detail)");
        r.module = NULL;
        goto done;
    }
    free(bytes); /* the module keeps its own copy */
    bytes = NULL;
    if (refuse_bad_imports(o.path, r.module) != 0 || refuse_memory_over_limit(&o, r.module) != 0)
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
    gargv[0] = from_stdin ? "stdin" : cli_file_name(o.path);
    for (int i = 0; i < o.nargs; i++)
        gargv[i + 1] = o.args[i];
    r.wasi_cfg = weft_wasi_config_default();
    r.wasi_cfg.argv = gargv;
    r.wasi_cfg.argc = (size_t)o.nargs + 1;
    r.wasi_cfg.env = o.env;
    r.wasi_cfg.nenv = o.nenv;
    r.wasi_cfg.preopens = o.dirs;
    r.wasi_cfg.npreopens = o.ndirs;
    /* The module came through stdin, which is at its end now: the guest
     * gets an empty one rather than whatever is left of the module. */
    if (from_stdin) {
        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0) {
            cli_error("cannot open /dev/null: %s", strerror(errno));
            goto done;
        }
        r.wasi_cfg.stdin_fd = null_fd;
    }

    /* Only a module that imports nx gets (and may create) a data directory. */
    if (weft_profile_imported(r.module, "nx") && (status = run_open_nx(&r)) != 0)
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
    if (null_fd >= 0)
        close(null_fd);
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
    run_free_opts(&o);
    return status;
}
