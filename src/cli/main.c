/*
 * src/cli/main.c — entry point of the `weft` command-line program.
 *
 * Dispatches to one function per command (run.c, inspect.c) and owns the
 * top-level help. Exit codes are the contract scripts rely on: 0 success,
 * 1 module error, 2 usage error, 3 trap; `weft run` passes a guest's exit
 * status on. Anything printed for a human goes to stderr except the output
 * a command was asked for (results, help). A usage error prints its message
 * and one line pointing to --help, not the whole help. `weft FILE.wasm ARGS`
 * is `weft run FILE.wasm ARGS`, as wasmtime users expect.
 */
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

void cli_usage(FILE *out)
{
    fprintf(out,
            "weft %s - a WebAssembly runtime\n"
            "\n"
            "usage: weft <command> [options] [arguments]\n"
            "       weft MODULE.wasm [ARGS...]   (the same as weft run MODULE.wasm ARGS...)\n"
            "\n"
            "commands:\n"
            "  run       run a WASI program, or call an exported function of a module\n"
            "  inspect   validate a module and show its imports, exports and sections\n"
            "  db        read or change the nx key/value state in a data directory, or\n"
            "            print its node id\n"
            "  serve     start a node: apps, contexts and calls over HTTP (docs/http.md)\n"
            "  help      show help for a command: weft help call\n"
            "\n"
            "client commands (talk to a node: --node URL, default $WEFT_NODE or\n"
            "http://127.0.0.1:7373; token from --token-file FILE or $WEFT_TOKEN; --json):\n"
            "  deploy    send a module to the node; prints the app id\n"
            "  context   create, list or rm contexts (named instances of an app's state)\n"
            "  call      call a function in a context: output on stdout, logs on stderr\n"
            "  events    follow a context's committed events (reconnects, resumes)\n"
            "  logs      print a context's guest log lines, -f to follow\n"
            "  state     read a context's keys and values (kv) or CRDT state\n"
            "  status    show the node: id, version, uptime, data size, ready\n"
            "  peers     show the node's peer links: state, lag, bytes (docs/sync.md)\n"
            "  blob      put a file into the node as a blob, or get one (by its SHA-256)\n"
            "  keygen    make an ed25519 key for signing calls (weft call --sign-key)\n"
            "\n"
            "MODULE is a binary module (.wasm); - reads it from stdin. weft does not read\n"
            "the text format (.wat): convert it with wat2wasm (Debian package wabt).\n"
            "\n"
            "options:\n"
            "  -h, --help     show this help (also after a command: weft run --help)\n"
            "  -V, --version  print the version\n"
            "\n"
            "exit codes:\n"
            "  0  success (weft run, weft call: or the status the guest exited with, see\n"
            "     weft help run)\n"
            "  1  module error: cannot read, decode, validate, link or call the module;\n"
            "     client commands: the node answered an error or cannot be reached\n"
            "  2  usage error: unknown command or option, bad argument\n"
            "  3  trap: the WebAssembly code trapped (message and backtrace on stderr)\n",
            weft_version());
}

static int is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

/* The commands weft-node runs (node_exec.c): the server and the clients. */
static int is_node_command(const char *cmd)
{
    static const char *const names[] = {"serve", "deploy", "context", "call",  "events",
                                        "logs",  "state",  "status",  "keygen", "peers",
                                        "blob"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(cmd, names[i]) == 0)
            return 1;
    return 0;
}

static int help(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc > 2) {
        cli_error("help takes at most one command");
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "run") == 0)
        cli_run_usage(stdout);
    else if (strcmp(argv[1], "inspect") == 0)
        cli_inspect_usage(stdout);
    else if (strcmp(argv[1], "db") == 0)
        cli_db_usage(stdout);
    else if (is_node_command(argv[1]))
        return cli_exec_node(2, (char *[]){argv[1], "--help", NULL});
    else if (strcmp(argv[1], "help") == 0)
        cli_usage(stdout);
    else {
        cli_error("unknown command '%s'", argv[1]);
        cli_usage_hint(NULL);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* Whether `weft ARG ...` means `weft run ARG ...`: ARG is not a command
 * but a module, "-" (stdin), a name ending in .wasm (or .wat, so the user
 * hears how to convert it) or an existing file. */
static int is_module_arg(const char *arg)
{
    size_t n = strlen(arg);
    struct stat st;
    if (strcmp(arg, "-") == 0)
        return 1;
    if (arg[0] == '-')
        return 0;
    if ((n > 5 && strcmp(arg + n - 5, ".wasm") == 0) || (n > 4 && strcmp(arg + n - 4, ".wat") == 0))
        return 1;
    return stat(arg, &st) == 0 && S_ISREG(st.st_mode);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("usage: weft <command> [options] [arguments]\n", stderr);
        cli_usage_hint(NULL);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (is_help(cmd)) {
        cli_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("weft %s\n", weft_version());
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0)
        return help(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "inspect") == 0)
        return cli_inspect(argc - 1, argv + 1);
    if (strcmp(cmd, "db") == 0)
        return cli_db(argc - 1, argv + 1);
    if (is_node_command(cmd))
        return cli_exec_node(argc - 1, argv + 1);
    /* cli_run reads its options from argv[1]: here there are none, and
     * argv[1] is the module. */
    if (is_module_arg(cmd))
        return cli_run(argc, argv);

    if (cmd[0] == '-')
        cli_error("unknown option '%s'", cmd);
    else
        cli_error("unknown command '%s' (nor a module file)", cmd);
    cli_usage_hint(NULL);
    return CLI_EXIT_USAGE;
}
