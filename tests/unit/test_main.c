/*
 * test_main.c — the runner behind every TEST() of tests/unit.
 *
 *   test_engine            runs every test
 *   test_engine NAME       runs one test
 *   test_engine PREFIX*    runs the tests whose name starts with PREFIX
 *   test_engine --list     prints the test names
 *
 * One line per test, then "N passed, M failed"; the exit code is 1 when a
 * test failed and 2 on a usage error. Tests run in the order of their
 * source file and line, so a run is reproducible.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include "test.h"

#define MAX_DEFER 256

static test_case_t *tests;
static size_t ntests;
static jmp_buf test_jmp;
static int in_test;

static struct {
    void (*fn)(void *);
    void *arg;
} defers[MAX_DEFER];
static size_t ndefers;

void test_register(test_case_t *tc)
{
    tc->next = tests;
    tests = tc;
    ntests++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    if (!in_test)
        abort();
    longjmp(test_jmp, 1);
}

void test_defer(void (*fn)(void *), void *arg)
{
    if (ndefers == MAX_DEFER)
        test_fail(__FILE__, __LINE__, "test_defer: more than %d cleanups", MAX_DEFER);
    defers[ndefers].fn = fn;
    defers[ndefers].arg = arg;
    ndefers++;
}

static void run_defers(void)
{
    while (ndefers > 0) {
        ndefers--;
        defers[ndefers].fn(defers[ndefers].arg);
    }
}

static int cmp_case(const void *a, const void *b)
{
    const test_case_t *x = *(test_case_t *const *)a, *y = *(test_case_t *const *)b;
    int c = strcmp(x->file, y->file);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Returns 1 when the test passed. volatile: read after longjmp. */
static int run_one(test_case_t *tc)
{
    volatile int ok = 1;
    fflush(stdout);
    in_test = 1;
    if (setjmp(test_jmp) == 0)
        tc->fn();
    else
        ok = 0;
    in_test = 0;
    run_defers();
    printf("%s %s\n", ok ? "ok  " : "FAIL", tc->name);
    fflush(stdout);
    return ok;
}

static int matches(const char *name, const char *pattern)
{
    size_t n = strlen(pattern);
    if (n > 0 && pattern[n - 1] == '*')
        return strncmp(name, pattern, n - 1) == 0;
    return strcmp(name, pattern) == 0;
}

int main(int argc, char **argv)
{
    test_case_t **sorted = calloc(ntests ? ntests : 1, sizeof *sorted);
    size_t i = 0, passed = 0, failed = 0;
    const char *pattern = argc > 1 ? argv[1] : NULL;

    if (sorted == NULL || argc > 2) {
        fprintf(stderr, "usage: %s [--list | NAME | PREFIX*]\n", argv[0]);
        return 2;
    }
    for (test_case_t *t = tests; t; t = t->next)
        sorted[i++] = t;
    qsort(sorted, ntests, sizeof *sorted, cmp_case);

    if (pattern && strcmp(pattern, "--list") == 0) {
        for (i = 0; i < ntests; i++)
            printf("%s\n", sorted[i]->name);
        free(sorted);
        return 0;
    }
    for (i = 0; i < ntests; i++) {
        if (pattern && !matches(sorted[i]->name, pattern))
            continue;
        if (run_one(sorted[i]))
            passed++;
        else
            failed++;
    }
    free(sorted);
    if (passed + failed == 0) {
        fprintf(stderr, "no test matches \"%s\"\n", pattern ? pattern : "");
        return 2;
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed ? 1 : 0;
}
