/*
 * examples/fib/fib.c — a first guest program for weft.
 *
 * Plain C with no libc, compiled to wasm32 by the build (clang --target=wasm32
 * -nostdlib); each exported function can be called from the command line:
 *     build/weft run --invoke fib build/examples/fib.wasm 30
 * divide() is there to show what a trap looks like (divide by zero), and
 * mean() calls it so the trap's backtrace has more than one frame.
 */
#define EXPORT(name) __attribute__((export_name(name)))

/* The naive recursive definition: exponential time, good for timing. */
EXPORT("fib") int fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/* The linear-time loop, in 64 bits: fib_iter(92) is the largest that fits. */
EXPORT("fib_iter") long long fib_iter(int n)
{
    unsigned long long a = 0, b = 1;
    for (int i = 0; i < n; i++) {
        unsigned long long t = a + b;
        a = b;
        b = t;
    }
    return (long long)a;
}

/* Floating point: the length of the hypotenuse. */
EXPORT("hypot") double hypotenuse(double x, double y)
{
    return __builtin_sqrt(x * x + y * y);
}

/* i32.div_s traps on b == 0 ("integer divide by zero") and on
 * INT_MIN / -1 ("integer overflow"). noinline keeps it a frame of its own. */
__attribute__((noinline)) EXPORT("divide") int divide(int a, int b)
{
    return a / b;
}

EXPORT("mean") int mean(int sum, int count)
{
    return divide(sum, count);
}
