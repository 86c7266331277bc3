/*
 * journal.c — an nx module (sdk/nx.h) the orchestrator calls as
 * `journal:append`: append() stores its input (stdin) as the next entry of
 * its context ("entry/N", the count under "n") and outputs "#N". Called
 * through funcs from a write call, its write commits with its caller's.
 * list() prints the entries, one a line.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nx.h"

static uint32_t count(void)
{
    uint32_t n = 0;
    return nx_db_get("n", 1, &n, sizeof n) == (int32_t)sizeof n ? n : 0;
}

__attribute__((export_name("append"))) void append(void)
{
    char text[4096], key[32];
    ssize_t len = read(0, text, sizeof text);
    uint32_t n = count() + 1;
    int kl = snprintf(key, sizeof key, "entry/%u", (unsigned)n);
    nx_db_set(key, (uint32_t)kl, text, len > 0 ? (uint32_t)len : 0);
    nx_db_set("n", 1, &n, sizeof n);
    printf("#%u", (unsigned)n);
    fflush(stdout); /* a reactor's function: nothing flushes it after */
}

__attribute__((export_name("list"))) void list(void)
{
    char text[4096], key[32];
    for (uint32_t i = 1, n = count(); i <= n; i++) {
        int kl = snprintf(key, sizeof key, "entry/%u", (unsigned)i);
        int32_t len = nx_db_get(key, (uint32_t)kl, text, sizeof text);
        printf("%u %.*s\n", (unsigned)i, len > 0 ? (int)len : 0, text);
    }
    fflush(stdout);
}
