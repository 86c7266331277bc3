/*
 * comments.c — the comments of a document in an RGA sequence (sdk/nx.h).
 *
 *   weft run --data-dir DIR distributed_comments.wasm post DOC TEXT...         add at the top; print its id
 *   weft run --data-dir DIR distributed_comments.wasm reply DOC ID TEXT...     insert after ID; print its id
 *   weft run --data-dir DIR distributed_comments.wasm delete DOC ID            remove ID
 *   weft run --data-dir DIR distributed_comments.wasm list DOC                 one comment a line
 *
 * Each document is the RGA "comments:<DOC>"; ids are the 40-byte element
 * ids in hex (80 digits). An element sits right after the one it was
 * inserted after (or at the head); of several inserted at the same place,
 * the later stamp comes first, and a delete only hides an element, so
 * replies to it keep their place. Every node therefore converges to the
 * same order.
 *
 * The RGA has no "append", and "the end" is not the same place on every
 * node while posts are in flight. So post inserts at the head: the list
 * shows top-level comments newest first, each followed by its replies
 * (newest first too), and no local state is needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx.h"

#define ID_HEX_LEN (2 * NX_CRDT_ID_LEN)

static int doc_key(const char *doc, char *key, size_t cap)
{
    int n = snprintf(key, cap, "comments:%s", doc);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "comments: document name too long\n");
        return -1;
    }
    return n;
}

static int parse_id(const char *hex, uint8_t id[NX_CRDT_ID_LEN])
{
    if (strlen(hex) != ID_HEX_LEN) return -1;
    for (unsigned i = 0; i < ID_HEX_LEN; i++) {
        char c = hex[i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        if (i % 2 == 0) id[i / 2] = (uint8_t)(d << 4);
        else id[i / 2] |= (uint8_t)d;
    }
    return 0;
}

static void print_id(const uint8_t id[NX_CRDT_ID_LEN])
{
    for (unsigned i = 0; i < NX_CRDT_ID_LEN; i++) printf("%02x", id[i]);
    printf("\n");
}

/* Inserts the words argv[first..] after parent (NULL: at the head) and
 * prints the new id. */
static int insert(const char *doc, const uint8_t *parent, int argc, char **argv, int first)
{
    char key[NX_MAX_KEY + 1], text[4096] = "";
    uint8_t id[NX_CRDT_ID_LEN];
    size_t used = 0;
    int kl = doc_key(doc, key, sizeof key);
    if (kl < 0) return 2;
    for (int i = first; i < argc; i++) {
        int n = snprintf(text + used, sizeof text - used, "%s%s", i > first ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= sizeof text - used) {
            fprintf(stderr, "comments: comment too long\n");
            return 2;
        }
        used += (size_t)n;
    }
    int32_t rc = nx_crdt_rga_insert(key, (uint32_t)kl, parent, parent ? NX_CRDT_ID_LEN : 0, text,
                                    (uint32_t)used, id, sizeof id);
    if (rc == NX_ERR_NOT_FOUND) {
        fprintf(stderr, "comments: the comment to insert after is not in %s\n", doc);
        return 1;
    }
    if (rc != (int32_t)NX_CRDT_ID_LEN) {
        fprintf(stderr, "comments: cannot insert into %s (%d)\n", doc, (int)rc);
        return 1;
    }
    print_id(id);
    return 0;
}

static int reply(int argc, char **argv)
{
    uint8_t parent[NX_CRDT_ID_LEN];
    if (parse_id(argv[3], parent) != 0) {
        fprintf(stderr, "comments: '%s' is not a comment id (%u hex digits)\n", argv[3], ID_HEX_LEN);
        return 2;
    }
    return insert(argv[2], parent, argc, argv, 4);
}

static int delete(const char *doc, const char *hex)
{
    char key[NX_MAX_KEY + 1];
    uint8_t id[NX_CRDT_ID_LEN];
    int kl = doc_key(doc, key, sizeof key);
    if (kl < 0) return 2;
    if (parse_id(hex, id) != 0) {
        fprintf(stderr, "comments: '%s' is not a comment id (%u hex digits)\n", hex, ID_HEX_LEN);
        return 2;
    }
    int32_t rc = nx_crdt_rga_delete(key, (uint32_t)kl, id, sizeof id);
    if (rc == NX_ERR_NOT_FOUND) {
        fprintf(stderr, "comments: no comment %s in %s\n", hex, doc);
        return 1;
    }
    if (rc != 0) {
        fprintf(stderr, "comments: cannot delete from %s (%d)\n", doc, (int)rc);
        return 1;
    }
    return 0;
}

static int list(const char *doc)
{
    char key[NX_MAX_KEY + 1];
    int kl = doc_key(doc, key, sizeof key);
    if (kl < 0) return 2;
    uint8_t *out = NULL;
    int32_t len = NX_ERR_BUFFER_TOO_SMALL;
    /* Grow the buffer until the sequence fits (at most NX_MAX_OUTPUT). */
    for (uint32_t cap = 64 * 1024; len == NX_ERR_BUFFER_TOO_SMALL && cap <= NX_MAX_OUTPUT; cap *= 2) {
        free(out);
        if ((out = malloc(cap)) == NULL) break;
        len = nx_crdt_rga_values(key, (uint32_t)kl, out, cap);
    }
    if (out == NULL || len < 4) {
        fprintf(stderr, "comments: cannot list %s (%d)\n", doc, (int)len);
        free(out);
        return 1;
    }
    uint32_t count = nx_read_u32(out), pos = 4;
    for (uint32_t i = 0; i < count && pos + 4 <= (uint32_t)len; i++) {
        uint32_t vl = nx_read_u32(out + pos);
        pos += 4;
        if (vl > (uint32_t)len - pos) break; /* malformed: stop, print no garbage */
        printf("%.*s\n", (int)vl, (const char *)out + pos);
        pos += vl;
    }
    free(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "post") == 0) return insert(argv[2], NULL, argc, argv, 3);
    if (argc >= 5 && strcmp(argv[1], "reply") == 0) return reply(argc, argv);
    if (argc == 4 && strcmp(argv[1], "delete") == 0) return delete(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "list") == 0) return list(argv[2]);
    fprintf(stderr, "usage: comments post DOC TEXT... | comments reply DOC ID TEXT..."
                    " | comments delete DOC ID | comments list DOC\n");
    return 2;
}
