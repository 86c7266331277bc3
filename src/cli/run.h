/*
 * src/cli/run.h — what the files of `weft run` share: the parsed options
 * (run_opts.c), the state of one run, and the nx part (run_nx.c: data
 * directory, context, printing logs and events). run.c holds the run
 * itself: a one-call node (weft/node.h), its app and its call.
 */
#ifndef WEFT_CLI_RUN_H
#define WEFT_CLI_RUN_H

#include <stdint.h>

#include "cli.h"
#include "weft/node.h"
#include "weft/wasi.h"

#define PAGE_SIZE 65536u
#define MAX_PAGES 65536u
#define MIN_STACK 4096u
#define MAX_BACKTRACE 64

typedef struct {
    const char *invoke; /* NULL: _start, or run */
    const char *data_dir, *context; /* NULL: the defaults */
    const char *abi;                /* --abi: NULL, detected from the imports */
    int events;
    int no_sync;  /* --no-sync: nx runs without WEFT_NX_SYNC */
    int log_json; /* --log-format=json: log lines as JSON objects */
    int tier;     /* --tier: WEFT_TIER_AUTO (default where available), _JIT or _INTERP */
    int stats;    /* --stats: the tier's work and the call's time on stderr at the end */
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


/* Everything one run holds. The node runs the call inline on this thread
 * (WEFT_NODE_INLINE): no thread of its own unless --timeout needs one. */
typedef struct {
    const run_opts_t *o;
    weft_node_t *node;
    const weft_module_t *module; /* the node's, borrowed */
    char *name;          /* module name: default context, module id, log prefix */
    const char *context; /* o->context or name */
    char node_hex[65];   /* the node id in hex; "" when sync is off */
} run_t;

/* run_opts.c: parses `weft run`'s options into o (0, or a usage error
 * already reported: CLI_EXIT_USAGE); run_free_opts releases them. */
int run_parse_opts(int argc, char **argv, run_opts_t *o);
void run_free_opts(run_opts_t *o);

/* run_component.c: `weft run` of a component (docs/components.md) opened
 * in r's node as app_id: one call of the one-call node; returns the exit
 * status. from_stdin: the component came through stdin (the guest gets an
 * empty one). */
int cli_run_component(run_t *r, const char *app_id, int from_stdin);
/* run.c: the call of r's node with Ctrl-C stopping it (weft_node_call's
 * return value), and the exit status of its result, reported as weft run
 * does (a component's --invoke result printed as its output). */
int run_call(run_t *r, const weft_call_req_t *req, weft_call_result_t **res);
/* run.c: the module or component came through stdin, which is at its end
 * now: the guest gets an empty one (/dev/null) rather than what is left.
 * 0, or -1 reported. */
int run_stdin_null(void);
int run_outcome(const run_t *r, const weft_call_result_t *res);

/* run_nx.c */
/* The module's name: its file name without directories and ".wasm";
 * "stdin" for "-". malloc'ed, NULL when out of memory. */
char *run_module_name(const char *path);
/* Gives the node the data directory (--data-dir, $WEFT_DATA_DIR, ...) and
 * checks the context's name; 0 or an exit status (already reported). */
int run_open_data_dir(run_t *r);
/* The call's nx log lines on stderr: "MODULE: message", or with
 * --log-format json one object a line ({"node", "context", "module", "msg"}). */
void run_print_logs(const run_t *r, const weft_call_result_t *res);
/* --events: the call's events on stdout, one JSON object a line. */
void run_print_events(const run_t *r, const weft_call_result_t *res);

#endif
