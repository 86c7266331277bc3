/* exit.c — proc_exit: prints a line (flushed by exit) and exits with the
 * status given as argv[1]; with "raw", calls __wasi_proc_exit directly,
 * so nothing after it may run. */
#include <stdlib.h>
#include <string.h>

#include "check.h"

int main(int argc, char **argv)
{
    int status = argc > 1 ? atoi(argv[1]) : 7;
    printf("exiting with %d\n", status);
    if (argc > 2 && strcmp(argv[2], "raw") == 0) {
        fflush(stdout);
        __wasi_proc_exit((__wasi_exitcode_t)status);
        printf("after proc_exit\n");
        return 99;
    }
    exit(status);
}
