/*
 * tags.c — the tags of an item in an observed-remove set (sdk/nx.h).
 *
 *   weft run --data-dir DIR distributed_tags.wasm tag ITEM TAG     add TAG
 *   weft run --data-dir DIR distributed_tags.wasm untag ITEM TAG   remove TAG
 *   weft run --data-dir DIR distributed_tags.wasm list ITEM        one tag a line
 *
 * Each item is the ORSet "tags:<ITEM>". Every add gets a unique tag id; a
 * remove deletes only the ids its node has seen. So when one node removes
 * a tag while another adds it again, the new add survives ("add wins"),
 * and every node converges to the same set. Tags list in byte order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx.h"

static int set_key(const char *item, char *key, size_t cap)
{
    int n = snprintf(key, cap, "tags:%s", item);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "tags: item name too long\n");
        return -1;
    }
    return n;
}

static int change(const char *item, const char *tag, int add)
{
    char key[NX_MAX_KEY + 1];
    int kl = set_key(item, key, sizeof key);
    if (kl < 0) return 2;
    int32_t rc = add ? nx_crdt_orset_add(key, (uint32_t)kl, tag, (uint32_t)strlen(tag))
                     : nx_crdt_orset_remove(key, (uint32_t)kl, tag, (uint32_t)strlen(tag));
    if (rc != 0) {
        fprintf(stderr, "tags: cannot %s %s (%d)\n", add ? "tag" : "untag", item, (int)rc);
        return 1;
    }
    return 0;
}

static int list(const char *item)
{
    char key[NX_MAX_KEY + 1];
    int32_t len;
    int kl = set_key(item, key, sizeof key);
    if (kl < 0) return 2;
    /* nx_read_all grows the buffer until the set fits; the walker checks
     * every length against the output (a malformed list is an error, never
     * bytes printed from past its end). */
    uint8_t *out = nx_read_all(nx_crdt_orset_elements, key, (uint32_t)kl, &len);
    nx_list_t it;
    if (out == NULL || nx_list_begin(&it, out, len) < 0) {
        fprintf(stderr, "tags: cannot list %s (%d)\n", item, (int)len);
        free(out);
        return 1;
    }
    const uint8_t *tag;
    uint32_t tl;
    int rc;
    while ((rc = nx_list_next(&it, &tag, &tl)) == 1) printf("%.*s\n", (int)tl, (const char *)tag);
    free(out);
    if (rc != 0) {
        fprintf(stderr, "tags: %s: malformed list\n", item);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "tag") == 0) return change(argv[2], argv[3], 1);
    if (argc == 4 && strcmp(argv[1], "untag") == 0) return change(argv[2], argv[3], 0);
    if (argc == 3 && strcmp(argv[1], "list") == 0) return list(argv[2]);
    fprintf(stderr, "usage: tags tag ITEM TAG | tags untag ITEM TAG | tags list ITEM\n");
    return 2;
}
