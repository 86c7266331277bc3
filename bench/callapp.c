/*
 * bench/callapp.c — the guest of the call benchmarks (nodecall, http.sh):
 * a WASI reactor on sdk/nx.h with one export per kind of call measured.
 *
 *   noop   returns at once: the cost of a call itself (instantiate + call)
 *   get    a view: reads the 100-byte value of key "k" and writes it to
 *          stdout (nothing when the key is absent)
 *   set    a durable write: nx db_set of 100 bytes under "k"
 *   crdt   a CRDT write: increments the grow-only counter "c" by one
 *   crdt_n(k)  k CRDT writes in one call: "c" +1, k times (syncbench: the
 *          replicated load)
 *   probe  "p" +1 (syncbench: the op whose propagation is timed)
 *
 * Built with -mexec-model=reactor, so a call runs `_initialize` and then the
 * export, as every node call of a reactor does.
 */
#include <string.h>
#include <unistd.h>

#include "nx.h"

__attribute__((export_name("noop"))) void noop(void) {}

__attribute__((export_name("get"))) void get(void)
{
    char buf[128];
    int32_t n = nx_db_get("k", 1, buf, sizeof buf);
    if (n > 0)
        write(1, buf, (size_t)n);
}

__attribute__((export_name("set"))) void set(void)
{
    char val[100];
    memset(val, 'v', sizeof val);
    if (nx_db_set("k", 1, val, sizeof val) != NX_OK)
        nx_abort_str("db_set failed");
}

__attribute__((export_name("crdt"))) void crdt(void)
{
    if (nx_crdt_gcounter_inc_str("c", 1) != NX_OK)
        nx_abort_str("gcounter_inc failed");
}

__attribute__((export_name("crdt_n"))) void crdt_n(int32_t k)
{
    for (int32_t i = 0; i < k; i++)
        if (nx_crdt_gcounter_inc_str("c", 1) != NX_OK)
            nx_abort_str("gcounter_inc failed");
}

__attribute__((export_name("probe"))) void probe(void)
{
    if (nx_crdt_gcounter_inc_str("p", 1) != NX_OK)
        nx_abort_str("gcounter_inc failed");
}
