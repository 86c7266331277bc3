/*
 * tests/cli/misbehave.c — a WASI guest that does what it is told, badly.
 *
 * `misbehave MODE` traps in a chosen way (unreachable, divide by zero,
 * out-of-bounds access, stack exhaustion, out of memory), loops forever (for
 * --timeout and --fuel), prints its environment (for --env isolation),
 * writes and reads files under given paths (for --dir mapping), writes to
 * stdout and stderr in turn (output order) or counts the bytes of its stdin.
 * tests/cli/cli_test.sh drives it through `weft run` and checks exit codes
 * and messages.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* noinline and volatile keep each trap where the backtrace test expects it. */
__attribute__((noinline)) static int divide(int a, int b)
{
    return a / b;
}

__attribute__((noinline)) static int recurse_forever(volatile int n)
{
    volatile char pad[64];
    pad[n & 63] = (char)n;
    if (n == INT32_MAX) /* never: the stack runs out long before */
        return 0;
    return recurse_forever(n + 1) + pad[(n + 1) & 63];
}

__attribute__((noinline)) static void spin(void)
{
    for (volatile uint64_t i = 0;; i++)
        ;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        printf("cannot write %s: errno %s\n", path, errno == ENOENT ? "ENOENT" : "other");
        return 1;
    }
    fputs(text, f);
    fclose(f);
    printf("wrote %s\n", path);
    return 0;
}

static int read_file(const char *path)
{
    char buf[256];
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("cannot read %s: errno %s\n", path, errno == ENOENT ? "ENOENT" : "other");
        return 1;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    printf("read %s: %s", path, buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: misbehave MODE [ARGS]\n");
        return 64;
    }
    const char *mode = argv[1];
    volatile int zero = 0;
    if (strcmp(mode, "unreachable") == 0)
        __builtin_trap();
    if (strcmp(mode, "divzero") == 0) {
        volatile int one = 1; /* a constant 1 / b would become a select */
        return divide(one, zero);
    }
    if (strcmp(mode, "oob") == 0) {
        volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)0xfffffff0u;
        return (int)*p;
    }
    if (strcmp(mode, "stack") == 0)
        return recurse_forever(0);
    if (strcmp(mode, "loop") == 0)
        spin();
    if (strcmp(mode, "sleep") == 0) {
        sleep(50); /* blocks in poll_oneoff: only an interrupt ends it early */
        puts("woke up");
        return 0;
    }
    if (strcmp(mode, "grow") == 0) {
        /* Allocate 1 MiB blocks until malloc fails, then report. The blocks
         * are chained and counted so the compiler cannot drop the calls. */
        void **head = NULL, **p;
        size_t mib = 0;
        while ((p = malloc(1 << 20)) != NULL) {
            *p = head;
            head = p;
            mib++;
        }
        for (size_t n = 0; head; n++)
            head = *head;
        printf("malloc failed after %zu MiB\n", mib);
        return 0;
    }
    if (strcmp(mode, "env") == 0) {
        for (char **e = environ; *e; e++)
            printf("%s\n", *e);
        return 0;
    }
    if (strcmp(mode, "args") == 0) {
        for (int i = 0; i < argc; i++)
            printf("argv[%d]=%s\n", i, argv[i]);
        return 0;
    }
    if (strcmp(mode, "write") == 0 && argc == 4)
        return write_file(argv[2], argv[3]);
    if (strcmp(mode, "read") == 0 && argc == 3)
        return read_file(argv[2]);
    if (strcmp(mode, "interleave") == 0) {
        /* Unbuffered writes to both streams: their order must survive. */
        for (int i = 0; i < 3; i++) {
            char line[32];
            int n = snprintf(line, sizeof line, "out %d\n", i);
            write(1, line, (size_t)n);
            n = snprintf(line, sizeof line, "err %d\n", i);
            write(2, line, (size_t)n);
        }
        return 0;
    }
    if (strcmp(mode, "exit") == 0 && argc == 3)
        exit(atoi(argv[2]));
    if (strcmp(mode, "count-stdin") == 0) {
        /* How much the guest's stdin holds (weft run - gives it none). */
        char buf[4096];
        size_t total = 0, n;
        while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
            total += n;
        printf("stdin: %zu bytes\n", total);
        return 0;
    }
    if (strcmp(mode, "buffered-trap") == 0) {
        printf("this line is still in the guest's stdio buffer\n");
        __builtin_trap();
    }
    fprintf(stderr, "misbehave: unknown mode %s\n", mode);
    return 64;
}
