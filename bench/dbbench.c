/*
 * bench/dbbench.c — nx database throughput inside one weft call.
 *
 *   weft run --data-dir DIR dbbench.wasm [N]
 *
 * Sets N (default 1,000,000) distinct keys with 100-byte values through
 * nx db_set, then reads every one back with db_get, all in the single write
 * transaction weft gives a call, and prints "checksum HEX" (the same line
 * as dbbench_native, which does the same on LMDB directly). Any nx error
 * aborts the call, so nothing is committed and the exit status is a trap.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dbbench.h"
#include "nx.h"

static void fail(const char *what, uint32_t i, int32_t rc)
{
    char msg[96];
    snprintf(msg, sizeof msg, "dbbench: %s of key %u returned %d", what, (unsigned)i, (int)rc);
    nx_abort_str(msg);
}

int main(int argc, char **argv)
{
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : DBB_DEFAULT_N;
    char key[DBB_KEY_LEN];
    uint8_t val[DBB_VAL_LEN], got[DBB_VAL_LEN + 1];
    uint64_t h = 0xcbf29ce484222325ull;
    int32_t rc;

    for (uint32_t i = 0; i < n; i++) {
        dbb_key(i, key);
        dbb_val(i, val);
        if ((rc = nx_db_set(key, DBB_KEY_LEN, val, DBB_VAL_LEN)) != NX_OK)
            fail("db_set", i, rc);
    }
    for (uint32_t i = 0; i < n; i++) {
        dbb_key(i, key);
        if ((rc = nx_db_get(key, DBB_KEY_LEN, got, sizeof got)) < 0)
            fail("db_get", i, rc);
        h = dbb_mix(h, got, (uint32_t)rc);
    }
    printf("checksum %016llx\n", (unsigned long long)h);
    return 0;
}
