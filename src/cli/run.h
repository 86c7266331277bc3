/*
 * src/cli/run.h — what the files of `weft run` share: the parsed options
 * (run_opts.c), the state of one run, and the nx part (run_nx.c: data
 * directory, context, node identity, logs and events). run.c holds the
 * call itself: linking, attempts, traps and the timeout thread.
 */
#ifndef WEFT_CLI_RUN_H
#define WEFT_CLI_RUN_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "cli.h"
#include "weft/db.h"
#include "weft/nx.h"
#include "weft/wasi.h"

#define PAGE_SIZE 65536u
#define MAX_PAGES 65536u
#define MIN_STACK 4096u
#define MAX_BACKTRACE 64

typedef struct {
    const char *invoke; /* NULL: _start, or run */
    const char *data_dir, *context; /* NULL: the defaults */
    int events;
    int no_sync;  /* --no-sync: nx runs without WEFT_NX_SYNC */
    int log_json; /* --log-format=json: log lines as JSON objects */
    const char *path;
    char **args;
    int nargs;
    int has_fuel, has_max_memory, has_max_stack;
    uint64_t fuel, max_memory, max_stack;
    uint64_t max_table_elems; /* 0: the engine's default */
    uint64_t timeout_ns; /* 0: none */
    const char *timeout_text;
    weft_wasi_preopen_t *dirs; /* guest_path points into argv or dir_names */
    char **dir_names;          /* malloc'ed host-path copies, freed with opts */
    size_t ndirs;
    const char **env; /* "NAME=VALUE", pointing into argv or environ */
    size_t nenv;
} run_opts_t;


/* One thread sleeps until the deadline or until the run ends, whichever
 * comes first; at the deadline it interrupts the store, then signals the
 * running thread every few milliseconds until the run ends, to cut short a
 * host call blocked in a syscall (run.c). Only started with --timeout, so
 * a plain run pays nothing for it. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct timespec deadline; /* CLOCK_MONOTONIC */
    weft_store_t *store;
    pthread_t target; /* the thread running the guest */
    int done;  /* set by the main thread: stop waiting */
    int fired; /* set by the timer: it interrupted the store */
    int started;
    pthread_t thread;
} deadline_t;

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
    const char *context; /* o->context or name */
    char node_hex[65]; /* the node id in hex; "" when sync is off */
} run_t;

/* run_opts.c: parses `weft run`'s options into o (0, or a usage error
 * already reported: CLI_EXIT_USAGE); run_free_opts releases them. */
int run_parse_opts(int argc, char **argv, run_opts_t *o);
void run_free_opts(run_opts_t *o);

/* run_nx.c */
/* Opens the data directory, loads the node identity (unless --no-sync) and
 * creates r->nx; 0 or an exit status (already reported). */
int run_open_nx(run_t *r);
/* The call's log lines on stderr: "MODULE: message", or with --log-format
 * json one object a line ({"node", "context", "module", "msg"}). */
void run_print_logs(const run_t *r);
/* --events: the call's events on stdout, one JSON object a line. */
void run_print_events(const run_t *r);

#endif
