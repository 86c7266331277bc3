/*
 * examples/hello/hello.c — a WASI command: what a guest sees of the world.
 *
 * Built with wasi-libc (clang --target=wasm32-wasi), it is an ordinary C
 * program: it greets, lists its arguments and environment (only what
 * `weft run --env` gave it), and writes then reads back a file in the
 * directory the host lent it as /data:
 *     weft run --dir /tmp/x::/data --env USER=ada hello.wasm one two
 * Without --dir it says so and exits with status 1, as a C program would.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

int main(int argc, char **argv)
{
    const char *user = getenv("USER");
    printf("Hello from WebAssembly, %s!\n", user ? user : "stranger");

    printf("argv (%d):", argc);
    for (int i = 0; i < argc; i++)
        printf(" [%s]", argv[i]);
    putchar('\n');

    int n = 0;
    for (char **e = environ; *e; e++)
        n++;
    printf("environment (%d variable%s)%s\n", n, n == 1 ? "" : "s", n ? ":" : "");
    for (char **e = environ; *e; e++)
        printf("  %s\n", *e);

    const char *path = "/data/hello.txt";
    FILE *f = fopen(path, "w");
    if (!f) {
        printf("cannot write %s: %s (lend a directory: --dir HOST::/data)\n", path,
               strerror(errno));
        return 1;
    }
    fprintf(f, "written by hello.wasm for %s\n", user ? user : "stranger");
    if (fclose(f) != 0) {
        printf("cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    char line[128];
    f = fopen(path, "r");
    if (!f || !fgets(line, sizeof line, f)) {
        printf("cannot read back %s\n", path);
        return 1;
    }
    fclose(f);
    printf("wrote and read back %s: %s", path, line);
    return 0;
}
