/* args_env.c — argv, environ and stdin round trip: prints each argument
 * and each environment variable on its own line, then copies stdin to
 * stdout; the test script compares the output exactly. Also checks the
 * raw size calls agree with what libc received. */
#include <stdlib.h>
#include <string.h>

#include "check.h"

extern char **environ;

int main(int argc, char **argv)
{
    __wasi_size_t n = 0, bytes = 0;
    size_t want = 0;
    CHECK_EQ(__wasi_args_sizes_get(&n, &bytes), 0);
    CHECK_EQ(n, argc);
    for (int i = 0; i < argc; i++) want += strlen(argv[i]) + 1;
    CHECK_EQ(bytes, want);

    for (int i = 0; i < argc; i++) printf("arg[%d]=%s\n", i, argv[i]);
    size_t nenv = 0;
    want = 0;
    for (char **e = environ; *e; e++, nenv++) {
        printf("env=%s\n", *e);
        want += strlen(*e) + 1;
    }
    CHECK_EQ(__wasi_environ_sizes_get(&n, &bytes), 0);
    CHECK_EQ(n, nenv);
    CHECK_EQ(bytes, want);
    const char *v = getenv("WEFT_GREETING");
    printf("getenv=%s\n", v ? v : "(null)");

    char buf[256];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, got, stdout);
    CHECK(!ferror(stdin));
    return check_result("args_env");
}
