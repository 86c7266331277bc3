/*
 * plain_app.c — a WASI reactor that does not import nx, for the one-call
 * node tests of test_node.c (what `weft run` needs from the node): it runs
 * without a data directory, reads and writes the process's own standard
 * streams, opens a file in a preopened directory, shows its arguments, and
 * traps a few frames deep so the backtrace has names to show.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

/* echo: copies stdin to stdout until its end (blocks on an idle pipe). */
__attribute__((export_name("echo"))) void echo(void)
{
    char buf[4096];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0)
        if (write(1, buf, (size_t)n) != n)
            exit(1);
    if (n < 0)
        exit(2);
}

/* args: every argument, argv[0] first, one a line on stdout. */
__attribute__((export_name("args"))) void args(void)
{
    __wasi_size_t argc, size;
    if (__wasi_args_sizes_get(&argc, &size) != 0)
        exit(1);
    char **argv = calloc(argc + 1, sizeof *argv);
    char *buf = malloc(size);
    if (!argv || !buf || __wasi_args_get((uint8_t **)argv, (uint8_t *)buf) != 0)
        exit(1);
    for (__wasi_size_t i = 0; i < argc; i++)
        printf("%s\n", argv[i]);
    fflush(stdout);
}

/* cat: the file /d/file (a preopened directory) on stdout. */
__attribute__((export_name("cat"))) void cat(void)
{
    FILE *f = fopen("/d/file", "r");
    if (!f)
        exit(4);
    char buf[256];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stdout);
    fclose(f);
    fflush(stdout);
}

/* deep: traps (unreachable) in `bottom`, under three frames of `down`. */
__attribute__((noinline)) static void bottom(void)
{
    __builtin_trap();
}

__attribute__((noinline)) static void down(volatile int n)
{
    if (n == 0)
        bottom();
    else
        down(n - 1);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
}

__attribute__((export_name("deep"))) void deep(void)
{
    down(3);
}
