/*
 * fuel_hog.c — test guest of tests/nx/fuel_test.sh: a loop of cheap wasm
 * instructions around host calls whose work grows with a length.
 *
 *   weft run [--fuel N] --data-dir DIR fuel_hog.wasm MODE COUNT LEN
 *
 * MODE: db_set (value of LEN bytes under "hog"), hash (BLAKE3 of LEN
 * bytes), random (nx random_bytes of LEN), write (WASI fd_write of LEN
 * bytes to stdout), scan (db_scan of one row of LEN bytes), crdt_set
 * (crdt_lww_set of LEN bytes), crdt_load (crdt_lww_get, into a buffer too
 * small, of a register set once to LEN bytes: only loading the stored
 * state is work). Calls it COUNT
 * times; the instructions the guest runs do not depend on LEN, so LEN = 0
 * shows that a budget covers them and a large LEN that the host's work is
 * charged too. Prints "done COUNT" on stderr when every call succeeded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nx.h"

static uint8_t buf[NX_MAX_VALUE + 64]; /* zeros: no instruction fills it */
static uint8_t out[NX_MAX_VALUE + 64];

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: fuel_hog MODE COUNT LEN\n");
        return 64;
    }
    const char *mode = argv[1];
    long count = strtol(argv[2], NULL, 10);
    uint32_t len = (uint32_t)strtoul(argv[3], NULL, 10);
    if (len > NX_MAX_VALUE) return 64;
    if (strcmp(mode, "scan") == 0 && nx_db_set("hog", 3, buf, len) != NX_OK) return 1;
    if (strcmp(mode, "crdt_load") == 0 && nx_crdt_lww_set("hog", 3, buf, len) != NX_OK) return 1;
    for (long i = 0; i < count; i++) {
        int ok;
        if (strcmp(mode, "db_set") == 0)
            ok = nx_db_set("hog", 3, buf, len) == NX_OK;
        else if (strcmp(mode, "hash") == 0)
            ok = nx_hash_blake3(buf, len, out, 32) == 32;
        else if (strcmp(mode, "random") == 0)
            ok = nx_random_bytes(out, len) == (int32_t)len;
        else if (strcmp(mode, "write") == 0)
            ok = write(1, buf, len) == (ssize_t)len;
        else if (strcmp(mode, "scan") == 0)
            ok = nx_db_scan("", 0, 0, 1, out, sizeof out) == (int32_t)(4 + 8 + 3 + len);
        else if (strcmp(mode, "crdt_set") == 0)
            ok = nx_crdt_lww_set("hog", 3, buf, len) == NX_OK;
        else if (strcmp(mode, "crdt_load") == 0)
            ok = nx_crdt_lww_get("hog", 3, out, 0) == (len ? NX_ERR_BUFFER_TOO_SMALL : 0);
        else
            return 64;
        if (!ok) {
            fprintf(stderr, "fuel_hog: %s call %ld failed\n", mode, i);
            return 1;
        }
    }
    fprintf(stderr, "done %ld\n", count);
    return 0;
}
