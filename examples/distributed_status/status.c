/*
 * status.c — one status line per user in an LWW-Register (sdk/nx.h).
 *
 *   weft run --data-dir DIR distributed_status.wasm set USER STATUS...  set it
 *   weft run --data-dir DIR distributed_status.wasm get USER            print it
 *
 * Each user is the register "status:<USER>". A write carries a hybrid
 * logical clock stamp and the writer's node id; of two concurrent writes
 * every node keeps the one with the higher stamp (the node id breaks a
 * tie), so all nodes end on the same status and the other write is lost.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx.h"

static int register_key(const char *user, char *key, size_t cap)
{
    int n = snprintf(key, cap, "status:%s", user);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "status: user name too long\n");
        return -1;
    }
    return n;
}

static int set(int argc, char **argv)
{
    char key[NX_MAX_KEY + 1], text[4096] = "";
    size_t used = 0;
    int kl = register_key(argv[2], key, sizeof key);
    if (kl < 0) return 2;
    for (int i = 3; i < argc; i++) {
        int n = snprintf(text + used, sizeof text - used, "%s%s", i > 3 ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= sizeof text - used) {
            fprintf(stderr, "status: status too long\n");
            return 2;
        }
        used += (size_t)n;
    }
    int32_t rc = nx_crdt_lww_set(key, (uint32_t)kl, text, (uint32_t)used);
    if (rc != 0) {
        fprintf(stderr, "status: cannot set the status of %s (%d)\n", argv[2], (int)rc);
        return 1;
    }
    return 0;
}

static int get(const char *user)
{
    char key[NX_MAX_KEY + 1], text[4096];
    int kl = register_key(user, key, sizeof key);
    if (kl < 0) return 2;
    int32_t n = nx_crdt_lww_get(key, (uint32_t)kl, text, sizeof text);
    if (n == NX_ERR_NOT_FOUND) {
        fprintf(stderr, "status: no status for %s\n", user);
        return 1;
    }
    if (n < 0) { /* longer than anything set can store, or another error */
        fprintf(stderr, "status: cannot read the status of %s (%d)\n", user, (int)n);
        return 1;
    }
    printf("%.*s\n", (int)n, text);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "set") == 0) return set(argc, argv);
    if (argc == 3 && strcmp(argv[1], "get") == 0) return get(argv[2]);
    fprintf(stderr, "usage: status set USER STATUS... | status get USER\n");
    return 2;
}
