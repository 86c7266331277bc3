/*
 * tests/guests/exitcode.c — exit statuses: `exitcode exit|return|atexit N`.
 *
 * exit(N) and return N from main must reach the parent as the same status
 * from the native build and from `weft run` (WASI proc_exit), low 8 bits
 * kept as POSIX does; stdout still buffered at exit must be flushed first,
 * and atexit handlers must run. Prints what it is about to do, so a status
 * that matches by accident with missing output still fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void goodbye(void)
{
    printf("atexit handler ran\n");
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        printf("usage: exitcode exit|return|atexit N\n");
        return 64;
    }
    int n = atoi(argv[2]);
    /* Deliberately not flushed: exit must flush it. */
    printf("argv: %s %s; status %d\n", argv[1], argv[2], n);
    if (strcmp(argv[1], "exit") == 0)
        exit(n);
    if (strcmp(argv[1], "atexit") == 0) {
        atexit(goodbye);
        exit(n);
    }
    return n;
}
