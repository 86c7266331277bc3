/*
 * tests/nx/crash_counter.c — the guest of crash_test.sh (kill -9 through
 * real calls).
 *
 *   weft run --data-dir DIR crash_counter.wasm [PAD]
 *
 * Reads the decimal counter under "counter" (absent = 0), first writes PAD
 * (default 0) filler values of 100 bytes so the call's transaction has
 * some size and a kill often lands inside it, then stores counter + 1 and
 * exits 0, so weft commits. An unreadable counter aborts the call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx.h"

int main(int argc, char **argv)
{
    long pad = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
    char buf[32], key[32], val[100];
    unsigned long long n = 0;
    int32_t rc = nx_db_get_str("counter", buf, sizeof buf);

    if (rc >= 0) {
        char *end;
        n = strtoull(buf, &end, 10);
        if (rc == 0 || *end != '\0')
            nx_abort_str("crash_counter: counter is not a decimal number");
    } else if (rc != NX_ERR_NOT_FOUND) {
        nx_abort_str("crash_counter: db_get failed");
    }
    memset(val, 'p', sizeof val);
    for (long i = 0; i < pad; i++) {
        int kn = snprintf(key, sizeof key, "pad%06ld", i);
        if (nx_db_set(key, (uint32_t)kn, val, sizeof val) != NX_OK)
            nx_abort_str("crash_counter: db_set of a filler failed");
    }
    snprintf(buf, sizeof buf, "%llu", n + 1);
    if (nx_db_set_str("counter", buf) != NX_OK)
        nx_abort_str("crash_counter: db_set of the counter failed");
    return 0;
}
