/*
 * store.c — an nx module for the component tests through the node: put()
 * stores its input (stdin) under the key "k" of its context and emits it
 * as the event "stored", then traps when the input is "trap", so a
 * component calling it through funcs shows whether a nested call's write
 * commits with its caller or rolls back, and whether its event reaches
 * the context's subscribers.
 */
#include <unistd.h>

#include "nx.h"

__attribute__((export_name("put"))) void put(void)
{
    char buf[256];
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0)
        n = 0;
    nx_db_set("k", 1, buf, (uint32_t)n);
    nx_event_emit("stored", 6, buf, (uint32_t)n);
    if (n == 4 && buf[0] == 't' && buf[1] == 'r' && buf[2] == 'a' && buf[3] == 'p')
        __builtin_trap();
    write(1, "stored", 6);
}
