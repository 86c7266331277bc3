/*
 * shout.c — a plain WASI module (the nx ABI) for the component tests
 * through the node: shout() writes its input (stdin) to stdout in capitals,
 * so a component reaching it through funcs.call-string gets that back; an
 * input "trap" makes it trap instead.
 */
#include <string.h>
#include <unistd.h>

__attribute__((export_name("shout"))) void shout(void)
{
    char buf[4096];
    ssize_t n = read(0, buf, sizeof buf);
    if (n == 4 && memcmp(buf, "trap", 4) == 0)
        __builtin_trap();
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] >= 'a' && buf[i] <= 'z')
            buf[i] = (char)(buf[i] - 32);
    if (n > 0)
        write(1, buf, (size_t)n);
}
