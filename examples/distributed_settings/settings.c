/*
 * settings.c — per-service settings in an LWW-Map (sdk/nx.h).
 *
 *   weft run --data-dir DIR distributed_settings.wasm set SERVICE FIELD VALUE...
 *   weft run --data-dir DIR distributed_settings.wasm unset SERVICE FIELD
 *   weft run --data-dir DIR distributed_settings.wasm show SERVICE   field=value lines
 *
 * Each service is the map "settings:<SERVICE>". Every field is its own
 * last-writer-wins register (hybrid logical clock stamp, node id breaking
 * ties), and an unset writes a stamped tombstone. Concurrent writes to
 * different fields both survive; to the same field, the later stamp wins
 * on every node, whether it is a value or an unset. Fields list in byte
 * order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx.h"

static int map_key(const char *service, char *key, size_t cap)
{
    int n = snprintf(key, cap, "settings:%s", service);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "settings: service name too long\n");
        return -1;
    }
    return n;
}

static int set(int argc, char **argv)
{
    char key[NX_MAX_KEY + 1], value[4096] = "";
    size_t used = 0;
    int kl = map_key(argv[2], key, sizeof key);
    if (kl < 0) return 2;
    for (int i = 4; i < argc; i++) {
        int n = snprintf(value + used, sizeof value - used, "%s%s", i > 4 ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= sizeof value - used) {
            fprintf(stderr, "settings: value too long\n");
            return 2;
        }
        used += (size_t)n;
    }
    int32_t rc = nx_crdt_lww_map_set(key, (uint32_t)kl, argv[3], (uint32_t)strlen(argv[3]), value,
                                     (uint32_t)used);
    if (rc != 0) {
        fprintf(stderr, "settings: cannot set %s %s (%d)\n", argv[2], argv[3], (int)rc);
        return 1;
    }
    return 0;
}

static int unset(const char *service, const char *field)
{
    char key[NX_MAX_KEY + 1];
    int kl = map_key(service, key, sizeof key);
    if (kl < 0) return 2;
    int32_t rc = nx_crdt_lww_map_remove(key, (uint32_t)kl, field, (uint32_t)strlen(field));
    if (rc != 0) {
        fprintf(stderr, "settings: cannot unset %s %s (%d)\n", service, field, (int)rc);
        return 1;
    }
    return 0;
}

static int show(const char *service)
{
    char key[NX_MAX_KEY + 1];
    int32_t len;
    int kl = map_key(service, key, sizeof key);
    if (kl < 0) return 2;
    /* nx_read_all grows the buffer until the map fits; the walker checks
     * every length against the output (a malformed list is an error, never
     * bytes printed from past its end). */
    uint8_t *out = nx_read_all(nx_crdt_lww_map_entries, key, (uint32_t)kl, &len);
    nx_list_t it;
    if (out == NULL || nx_list_begin(&it, out, len) < 0) {
        fprintf(stderr, "settings: cannot show %s (%d)\n", service, (int)len);
        free(out);
        return 1;
    }
    const uint8_t *field, *val;
    uint32_t fl, vl;
    int rc;
    while ((rc = nx_entries_next(&it, &field, &fl, &val, &vl)) == 1)
        printf("%.*s=%.*s\n", (int)fl, (const char *)field, (int)vl, (const char *)val);
    free(out);
    if (rc != 0) {
        fprintf(stderr, "settings: %s: malformed list\n", service);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "set") == 0) return set(argc, argv);
    if (argc == 4 && strcmp(argv[1], "unset") == 0) return unset(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "show") == 0) return show(argv[2]);
    fprintf(stderr, "usage: settings set SERVICE FIELD VALUE... | settings unset SERVICE FIELD"
                    " | settings show SERVICE\n");
    return 2;
}
