/*
 * src/cli/node_main.c — entry point of weft-node, which `weft` executes for
 * its network commands (`weft serve` and the client commands of
 * client*.c): argv[1] is the command, as it was given to weft. Run by hand
 * it behaves the same.
 */
#include <string.h>

#include "client.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *out);
} commands[] = {
    {"serve", cli_serve, cli_serve_usage},       {"deploy", cli_deploy, cli_deploy_usage},
    {"context", cli_context, cli_context_usage}, {"call", cli_call, cli_call_usage},
    {"events", cli_events, cli_events_usage},    {"logs", cli_logs, cli_logs_usage},
    {"state", cli_state, cli_state_usage},       {"status", cli_status, cli_status_usage},
    {"keygen", cli_keygen, cli_keygen_usage},    {"peers", cli_peers, cli_peers_usage},
    {"blob", cli_blob, cli_blob_usage},
};

int main(int argc, char **argv)
{
    size_t n = sizeof commands / sizeof commands[0];
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        for (size_t i = 0; i < n; i++) {
            commands[i].usage(stdout);
            fputc('\n', stdout);
        }
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; argc >= 2 && i < n; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    cli_error("weft-node runs the network commands of weft (serve, deploy, context, call, "
              "events, logs, state, status, keygen, peers, blob); see 'weft --help'");
    return CLI_EXIT_USAGE;
}
