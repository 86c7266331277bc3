/*
 * src/cli/run_opts.c — the options of `weft run` and its --help.
 *
 * Options come before MODULE.wasm; everything after it is the guest's.
 * Values are checked here (sizes, durations, --dir directories, --env
 * names), so a usage error is reported before any module is read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

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
            "MODULE - reads the module from stdin; the guest's stdin is then empty\n"
            "(/dev/null) and its name (argv[0], default context) is \"stdin\". weft runs\n"
            "binary modules only: convert text format with wat2wasm FILE.wat -o\n"
            "FILE.wasm (Debian package wabt). weft MODULE.wasm ARGS is short for weft run.\n"
            "WASI preview 1 is provided to every module; the guest sees no host variable\n"
            "and no host file unless an option below gives it. A module importing nx\n"
            "(the Numax host API) gets a database: the call commits its writes when it\n"
            "returns or calls proc_exit(0), and discards them on a trap, nx abort or\n"
            "another exit status. Its log lines go to stderr as \"MODULE: message\"\n"
            "(see --log-format). Sync is on: nx net_node_id answers the data directory's\n"
            "node id (an ed25519 public key created on first use and kept there; weft db\n"
            "DIR node-id prints it), net_peers an empty list.\n"
            "\n"
            "options:\n"
            "  --invoke NAME        call export NAME instead of _start (or run)\n"
            "  --data-dir DIR       keep the state of nx modules in DIR (default:\n"
            "                       $WEFT_DATA_DIR, else $XDG_DATA_HOME/weft, else\n"
            "                       ~/.local/share/weft)\n"
            "  --context NAME       the context the module's state lives in (default:\n"
            "                       the module's file name without .wasm)\n"
            "  --abi NAME           bind the module to guest ABI NAME instead of the one\n"
            "                       its imports choose (weft inspect shows it)\n"
            "  --events             print each event the call emitted (nx event_emit) as\n"
            "                       one JSON line on stdout, after the call committed:\n"
            "                       {\"node\",\"event\",\"payload\"} (node: the node id in\n"
            "                       hex, absent with --no-sync; payload_hex instead of\n"
            "                       payload when it is not UTF-8)\n"
            "  --log-format FORMAT  how the module's log lines go to stderr: text (the\n"
            "                       default), \"MODULE: message\"; or json, one object a\n"
            "                       line: {\"node\",\"context\",\"module\",\"msg\"} (node\n"
            "                       absent with --no-sync; msg_hex instead of msg when\n"
            "                       the message is not UTF-8)\n"
            "  --no-sync            run with replication switched off: nx net_* and crdt\n"
            "                       functions return ERR_SYNC_DISABLED (-5)\n"
            "  --dir HOST[::GUEST]  let the guest use directory HOST under the name GUEST\n"
            "                       (default: HOST itself); repeatable. --dir .  gives\n"
            "                       the current directory for relative paths\n"
            "  --env NAME=VALUE     set a variable in the guest's environment (WASI environ\n"
            "                       and nx env_get alike); --env NAME passes weft's own\n"
            "                       value of NAME, if set; repeatable\n"
            "  --fuel N             trap (out of fuel) after N instructions; default unlimited\n"
            "  --max-memory BYTES   cap every linear memory, in bytes rounded down to 64K\n"
            "                       pages; suffixes K, M, G; default 4G. A module whose\n"
            "                       memory needs more at start cannot run (exit code 1);\n"
            "                       memory.grow past the cap returns -1 to the guest\n"
            "  --max-stack BYTES    cap the value stack (locals and operands); at least 4K;\n"
            "                       suffixes K, M, G; default 8M\n"
            "  --max-table-elems N  cap the elements of all tables together; suffixes K,\n"
            "                       M, G; default 10000000. A module whose tables need\n"
            "                       more at start cannot run (exit code 1); table.grow\n"
            "                       past the cap returns -1 to the guest\n"
            "  --timeout DURATION   interrupt the guest (a trap) after DURATION of wall time:\n"
            "                       an integer with unit ns, us, ms, s, m or h (500ms, 2s,\n"
            "                       1m); a bare number is seconds. Loading the module\n"
            "                       gets DURATION of its own before that (exit code 3)\n"
            "  --tier interp|jit|auto  the tier that runs the guest: auto (the default on\n"
            "                       x86-64 Linux) interprets each function until it is\n"
            "                       hot, then compiles it to machine code; jit compiles\n"
            "                       every function at load; interp never compiles (the\n"
            "                       default elsewhere, where jit and auto say so and\n"
            "                       interpret). Results, traps and fuel are the same in\n"
            "                       every tier\n"
            "  --stats              after the call, print to stderr the tier, how many of\n"
            "                       the module's functions it compiled and the call's\n"
            "                       wall time: \"weft: stats: tier auto, 12 of 345\n"
            "                       functions compiled, 1.250 s\"\n"
            "  -h, --help           show this help\n"
            "  --                   end of options\n"
            "\n"
            "arguments of --invoke: i32 and i64 in decimal or 0x hex (-7, 0xff); f32 and\n"
            "f64 in decimal or hex float, inf, -inf, nan; v128 as a shape and its lanes,\n"
            "i32x4:1,2,3,4 (also i8x16, i16x8, i64x2, f32x4, f64x2: f32x4:0.5,-1,inf,nan),\n"
            "or 0x and 32 hex digits, its 16 bytes in memory order (lane 0 first).\n"
            "results: integers as signed decimal, f32 with 9 and f64 with 17 significant\n"
            "digits (enough to read back the same bits), v128 as i32x4 and four hex lanes\n"
            "(i32x4 0x00000001 0x00000002 0x00000003 0x00000004; quoted, it reads back).\n"
            "\n"
            "exit codes:\n"
            "  0    success: _start returned, or NAME returned (results on stdout)\n"
            "  N    the guest called proc_exit(N) (exit(N) or return N from main); like\n"
            "       any process, only the low 8 bits of N are kept\n"
            "  1    module error: cannot read, decode, validate or link the module, or\n"
            "       its memory needs more at start than --max-memory allows\n"
            "  2    usage error: bad option or argument, or a --dir that cannot be opened\n"
            "  3    trap: kind, message and backtrace on stderr (also for --fuel, --timeout,\n"
            "       --max-stack and Ctrl-C)\n"
            "A guest may itself exit with 1, 2 or 3; weft's own messages on stderr always\n"
            "start with \"weft:\".\n"
            "\n"
            "examples:\n"
            "  weft run hello.wasm world\n"
            "  weft run --dir /tmp/x::/data --env USER=ada hello.wasm\n"
            "  weft run --invoke fib fib.wasm 30\n");
}

void run_free_opts(run_opts_t *o)
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
int run_parse_opts(int argc, char **argv, run_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->tier = cli_default_tier();
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
        } else if ((m = option_value(argc, argv, &i, "--abi", &val)) != 0) {
            if (m < 0)
                return -1;
            o->abi = val;
        } else if (strcmp(arg, "--events") == 0) {
            o->events = 1;
        } else if (strcmp(arg, "--no-sync") == 0) {
            o->no_sync = 1;
        } else if (strcmp(arg, "--stats") == 0) {
            o->stats = 1;
        } else if ((m = option_value(argc, argv, &i, "--tier", &val)) != 0) {
            if (m < 0)
                return -1;
            if ((o->tier = cli_parse_tier(val)) < 0) {
                cli_error("--tier: '%s' is not interp, jit or auto", val);
                return -1;
            }
        } else if ((m = option_value(argc, argv, &i, "--log-format", &val)) != 0) {
            if (m < 0)
                return -1;
            if (strcmp(val, "text") != 0 && strcmp(val, "json") != 0) {
                cli_error("--log-format: '%s' is not text or json", val);
                return -1;
            }
            o->log_json = strcmp(val, "json") == 0;
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
        } else if ((m = option_value(argc, argv, &i, "--max-table-elems", &val)) != 0) {
            if (m < 0)
                return -1;
            if (cli_parse_size(val, &o->max_table_elems) != 0 || o->max_table_elems == 0 ||
                o->max_table_elems > UINT32_MAX) {
                cli_error("--max-table-elems: '%s' is not a count from 1 to 4G-1", val);
                return -1;
            }
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
            cli_usage_hint("run");
            return -1;
        }
    }
    if (i >= argc) {
        cli_error("run: missing MODULE.wasm");
        cli_usage_hint("run");
        return -1;
    }
    o->path = argv[i];
    o->args = argv + i + 1;
    o->nargs = argc - i - 1;
    return 0;
}

