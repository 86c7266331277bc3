/*
 * src/cli/node_exec.c — the commands that talk HTTP (`weft serve`) live in
 * weft-node, a program beside weft (see src/cli/CMakeLists.txt for why);
 * weft hands such a command over by executing it with the same arguments.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_exec_node(int argc, char **argv)
{
    char self[PATH_MAX], path[PATH_MAX + 16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        cli_error("cannot find where weft is installed: %s", strerror(errno));
        return CLI_EXIT_ERROR;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        slash[1] = '\0';
    snprintf(path, sizeof path, "%sweft-node", slash ? self : "./");
    char **args = calloc((size_t)argc + 2, sizeof *args);
    if (!args) {
        cli_error("out of memory");
        return CLI_EXIT_ERROR;
    }
    args[0] = path;
    for (int i = 0; i < argc; i++)
        args[i + 1] = argv[i];
    fflush(stdout);
    fflush(stderr);
    execv(path, args);
    cli_error("cannot run %s (weft runs it for '%s'): %s", path, argv[0], strerror(errno));
    free(args);
    return CLI_EXIT_ERROR;
}
