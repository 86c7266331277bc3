/*
 * blocked_nx.c — test guest of tests/nx/timeout_test.sh: nx calls that
 * hold the data directory's write lock, or do one long piece of host work.
 *
 *   weft run --data-dir D blocked_nx.wasm hold       write, print, sleep 60 s
 *   weft run --data-dir D blocked_nx.wasm hash MIB   one hash_blake3 of MIB MiB
 *
 * hold: its call's write transaction (and so the write lock) lasts as long
 * as it sleeps; "holding" on stdout says it has begun. hash: "hashing" on
 * stderr before the call and "hashed" after it, written through its own
 * fd_write import with no wasm call or loop in between (the engine looks
 * at the interrupt flag at those), so a hash that ignored the interrupt is
 * seen by that line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nx.h"

__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write"))) int32_t
raw_fd_write(int32_t fd, const void *iovs, int32_t n, uint32_t *out);

static const char hashed[] = "hashed\n";

int main(int argc, char **argv)
{
    if (argc < 2) return 64;
    if (strcmp(argv[1], "hold") == 0) {
        if (nx_db_set("held", 4, "1", 1) != NX_OK) return 1;
        write(1, "holding\n", 8);
        sleep(60);
        return 0;
    }
    if (strcmp(argv[1], "hash") == 0 && argc == 3) {
        uint32_t len = (uint32_t)strtoul(argv[2], NULL, 10) << 20, n;
        uint32_t iov[2] = {(uint32_t)(uintptr_t)hashed, sizeof hashed - 1};
        uint8_t out[32];
        /* malloc, not calloc: the pages come fresh from memory.grow (the
         * host zeroed them), and a guest-side memset of 256 MiB would make
         * the start-up before the hash longer than the hash itself */
        uint8_t *in = malloc(len);
        if (!in) return 2;
        write(2, "hashing\n", 8);
        int32_t r = nx_hash_blake3(in, len, out, sizeof out);
        raw_fd_write(2, iov, 1, &n);
        return r == 32 ? 0 : 1;
    }
    return 64;
}
