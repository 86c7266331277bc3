/*
 * comments.c — the comments of a document in an RGA sequence (sdk/nx.h).
 *
 *   weft run --data-dir DIR distributed_comments.wasm post DOC TEXT...         add at the top; print its id
 *   weft run --data-dir DIR distributed_comments.wasm reply DOC ID TEXT...     insert after ID; print its id
 *   weft run --data-dir DIR distributed_comments.wasm delete DOC ID            remove ID
 *   weft run --data-dir DIR distributed_comments.wasm list DOC                 one comment a line
 *
 * Each document is the RGA "comments:<DOC>"; ids are the element ids as
 * nx gives them, 64 characters of text (a-z, 2-7), printed and read back
 * unchanged. An element sits right after the one it was inserted after (or
 * at the head); of several inserted at the same place, the later stamp
 * comes first, and a delete only hides an element, so replies to it keep
 * their place. Every node therefore converges to the same order.
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

static int doc_key(const char *doc, char *key, size_t cap)
{
    int n = snprintf(key, cap, "comments:%s", doc);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "comments: document name too long\n");
        return -1;
    }
    return n;
}

/* Whether s looks like an element id (the host checks it fully), so a
 * typo gets a clear message before any call. */
static int is_id(const char *s)
{
    if (strlen(s) != NX_CRDT_ID_LEN) return 0;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '2' && *c <= '7'))) return 0;
    return 1;
}

static int not_an_id(const char *s)
{
    fprintf(stderr, "comments: '%s' is not a comment id (%u characters a-z, 2-7)\n", s,
            NX_CRDT_ID_LEN);
    return 2;
}

/* Inserts the words argv[first..] after parent (NULL: at the head) and
 * prints the new id. */
static int insert(const char *doc, const char *parent, int argc, char **argv, int first)
{
    char key[NX_MAX_KEY + 1], text[4096] = "", id[NX_CRDT_ID_LEN];
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
    if (rc == NX_ERR_INTERNAL && parent) return not_an_id(parent);
    if (rc == NX_ERR_NOT_FOUND) {
        fprintf(stderr, "comments: the comment to insert after is not in %s\n", doc);
        return 1;
    }
    if (rc != (int32_t)NX_CRDT_ID_LEN) {
        fprintf(stderr, "comments: cannot insert into %s (%d)\n", doc, (int)rc);
        return 1;
    }
    printf("%.*s\n", (int)rc, id);
    return 0;
}

static int reply(int argc, char **argv)
{
    if (!is_id(argv[3])) return not_an_id(argv[3]);
    return insert(argv[2], argv[3], argc, argv, 4);
}

static int delete(const char *doc, const char *id)
{
    char key[NX_MAX_KEY + 1];
    int kl = doc_key(doc, key, sizeof key);
    if (kl < 0) return 2;
    if (!is_id(id)) return not_an_id(id);
    int32_t rc = nx_crdt_rga_delete(key, (uint32_t)kl, id, NX_CRDT_ID_LEN);
    if (rc == NX_ERR_INTERNAL) return not_an_id(id);
    if (rc == NX_ERR_NOT_FOUND) {
        fprintf(stderr, "comments: no comment %s in %s\n", id, doc);
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
    if (doc_key(doc, key, sizeof key) < 0) return 2;
    /* nx_read_all grows the buffer until the sequence fits. */
    int32_t len;
    uint8_t *out = nx_read_all_str(nx_crdt_rga_values, key, &len);
    nx_list_t it;
    if (out == NULL || nx_list_begin(&it, out, len) < 0) {
        fprintf(stderr, "comments: cannot list %s (%d)\n", doc, (int)len);
        free(out);
        return 1;
    }
    const uint8_t *v;
    uint32_t vl;
    int rc;
    while ((rc = nx_list_next(&it, &v, &vl)) == 1) printf("%.*s\n", (int)vl, (const char *)v);
    free(out);
    if (rc != 0) {
        fprintf(stderr, "comments: %s: malformed list\n", doc);
        return 1;
    }
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
