/*
 * bench/store_call.c — the smallest durable call: one 100-byte nx db_set.
 *
 *   weft run --data-dir DIR store_call.wasm [KEY]
 *
 * Writes a 100-byte value under KEY (default "k") and returns, so weft
 * commits the call's transaction (one fsync'd LMDB commit). calls.sh runs
 * it as many separate processes to measure whole durable calls per second.
 */
#include <string.h>

#include "nx.h"

int main(int argc, char **argv)
{
    const char *key = argc > 1 ? argv[1] : "k";
    char val[100];
    memset(val, 'v', sizeof val);
    return nx_db_set(key, nx__strlen(key), val, sizeof val) == NX_OK ? 0 : 1;
}
