/*
 * bench/kernels/fib.c — recursion: the doubly recursive Fibonacci function.
 *
 * Almost all of the time goes to function calls and returns with one compare
 * and two adds in between, so this kernel measures call overhead. The input
 * is read from a volatile so no compiler can fold the result. noinline stops
 * gcc from inlining the recursion into itself (clang does not), so both
 * builds make the same calls; both turn the second call into a loop.
 */
#include "kernel.h"

static volatile uint32_t run_n = 41;
static volatile uint32_t check_n = 20;

__attribute__((noinline)) static uint32_t fib(uint32_t n)
{
    if (n < 2)
        return n;
    return fib(n - 1) + fib(n - 2);
}

long long run(void)
{
    return (long long)fib(run_n);
}

/* fib(20) = 6765. */
long long check(void)
{
    return (long long)fib(check_n);
}
