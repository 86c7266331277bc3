/*
 * inventory.c — stock levels kept in a PNCounter per SKU (sdk/nx.h).
 *
 *   weft run --data-dir DIR distributed_inventory.wasm add SKU N     stock += N
 *   weft run --data-dir DIR distributed_inventory.wasm remove SKU N  stock -= N
 *   weft run --data-dir DIR distributed_inventory.wasm show SKU      print the stock
 *
 * Each SKU is the counter "inventory:<SKU>". A PNCounter keeps, per node, a
 * total of increments and a total of decrements; the value is the sum of
 * one minus the sum of the other, so concurrent adds and removes on
 * different nodes all count once whatever order they arrive in. The stock
 * may go negative (an oversold item): the counter does not coordinate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx.h"

static int counter_key(const char *sku, char *key, size_t cap)
{
    int n = snprintf(key, cap, "inventory:%s", sku);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "inventory: SKU too long\n");
        return -1;
    }
    return n;
}

static int parse_count(const char *arg, uint64_t *out)
{
    char *end;
    if (*arg < '0' || *arg > '9') return -1; /* strtoull would take "-3" */
    unsigned long long n = strtoull(arg, &end, 10);
    if (*end != '\0' || n == 0) return -1;
    *out = n;
    return 0;
}

static int change(const char *sku, const char *count, int add)
{
    char key[NX_MAX_KEY + 1];
    uint64_t n;
    int kl = counter_key(sku, key, sizeof key);
    if (kl < 0) return 2;
    if (parse_count(count, &n) != 0) {
        fprintf(stderr, "inventory: '%s' is not a positive count\n", count);
        return 2;
    }
    int32_t rc = add ? nx_crdt_pncounter_inc(key, (uint32_t)kl, n)
                     : nx_crdt_pncounter_dec(key, (uint32_t)kl, n);
    if (rc != 0) {
        fprintf(stderr, "inventory: cannot update %s (%d)\n", sku, (int)rc);
        return 1;
    }
    return 0;
}

static int show(const char *sku)
{
    char key[NX_MAX_KEY + 1];
    int64_t v;
    if (counter_key(sku, key, sizeof key) < 0) return 2;
    int32_t rc = nx_crdt_pncounter_value_str(key, &v);
    if (rc != NX_OK) {
        fprintf(stderr, "inventory: cannot read %s (%d)\n", sku, (int)rc);
        return 1;
    }
    printf("%lld\n", (long long)v);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "add") == 0) return change(argv[2], argv[3], 1);
    if (argc == 4 && strcmp(argv[1], "remove") == 0) return change(argv[2], argv[3], 0);
    if (argc == 3 && strcmp(argv[1], "show") == 0) return show(argv[2]);
    fprintf(stderr, "usage: inventory add SKU N | inventory remove SKU N | inventory show SKU\n");
    return 2;
}
