/*
 * src/cli/node_main.c — entry point of weft-node, which `weft` executes for
 * its network commands (`weft serve`): argv[1] is the command, as it was
 * given to weft. Run by hand it behaves the same.
 */
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return cli_serve(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        cli_serve_usage(stdout);
        return CLI_EXIT_OK;
    }
    cli_error("weft-node runs the network commands of weft (serve); see 'weft --help'");
    return CLI_EXIT_USAGE;
}
