/*
 * notes.c — a small nx application: key/value notes kept in the context's
 * database. Built as a WASI command with sdk/nx.h.
 *
 *   weft run --data-dir DIR notes.wasm add TEXT...   add a note, print its id
 *   weft run --data-dir DIR notes.wasm list          list notes, oldest first
 *   weft run --data-dir DIR notes.wasm del ID        delete a note
 *
 * Notes live under "note:<id>" with a zero-padded id, so byte order is
 * creation order; "next_id" holds the counter. Listing pages through the
 * notes with db_scan_after, 16 at a time. Each command is one call, so one
 * transaction: an add either stores both the note and the counter or
 * neither. Every add emits a "note.added" event (see weft run --events).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx.h"

#define ID_DIGITS 10 /* "note:%010lu" */

static int add(int argc, char **argv)
{
    char text[4096] = "", buf[32], key[32];
    size_t used = 0;
    for (int i = 2; i < argc; i++) {
        int n = snprintf(text + used, sizeof text - used, "%s%s", i > 2 ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= sizeof text - used) {
            fprintf(stderr, "notes: note too long\n");
            return 1;
        }
        used += (size_t)n;
    }
    unsigned long id = 1;
    if (nx_db_get_str("next_id", buf, sizeof buf) > 0) id = strtoul(buf, NULL, 10);
    snprintf(key, sizeof key, "note:%010lu", id);
    if (nx_db_set(key, (uint32_t)strlen(key), text, (uint32_t)used) != 0) {
        fprintf(stderr, "notes: cannot store the note\n");
        return 1;
    }
    snprintf(buf, sizeof buf, "%lu", id + 1);
    nx_db_set_str("next_id", buf);
    snprintf(buf, sizeof buf, "%lu", id);
    nx_emit_str("note.added", buf);
    printf("%lu\n", id);
    return 0;
}

/* The id in a note's key "note:<10 digits>", read from the key's own
 * bytes: a page holds keys and values back to back with no NUL between,
 * so a string function (strtoul) would run on into the value when it
 * starts with a digit. 0 for a key that is not a note's (ids start at 1). */
static unsigned long key_id(const uint8_t *k, uint32_t kl)
{
    unsigned long id = 0;
    if (kl != 5 + ID_DIGITS) return 0;
    for (uint32_t i = 5; i < kl; i++) {
        if (k[i] < '0' || k[i] > '9') return 0;
        id = id * 10 + (unsigned long)(k[i] - '0');
    }
    return id;
}

static int list(void)
{
    static uint8_t page[64 * 1024];
    static uint8_t after[NX_MAX_KEY];
    uint32_t after_len = 0;
    for (;;) {
        int32_t n = nx_db_scan_after("note:", 5, after, after_len, 16, page, sizeof page);
        if (n < 0) {
            fprintf(stderr, "notes: scan failed (%d)\n", (int)n);
            return 1;
        }
        uint32_t count = nx_read_u32(page), pos = 4, kl, vl;
        const uint8_t *k, *v;
        while (nx_page_next(page, (uint32_t)n, 1, &pos, &k, &kl, &v, &vl)) {
            unsigned long id = key_id(k, kl);
            if (id) printf("%lu\t%.*s\n", id, (int)vl, (const char *)v);
            memcpy(after, k, kl); /* a key is at most NX_MAX_KEY bytes */
            after_len = kl;
        }
        if (count < 16) return 0;
    }
}

static int del(const char *arg)
{
    char key[32];
    char *end;
    unsigned long id = strtoul(arg, &end, 10);
    if (*arg == '\0' || *end != '\0') {
        fprintf(stderr, "notes: '%s' is not a note id\n", arg);
        return 2;
    }
    snprintf(key, sizeof key, "note:%010lu", id);
    if (nx_db_exists(key, (uint32_t)strlen(key)) != 1) {
        fprintf(stderr, "notes: no note %lu\n", id);
        return 1;
    }
    nx_db_delete_str(key);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "add") == 0) return add(argc, argv);
    if (argc == 2 && strcmp(argv[1], "list") == 0) return list();
    if (argc == 3 && strcmp(argv[1], "del") == 0) return del(argv[2]);
    fprintf(stderr, "usage: notes add TEXT... | notes list | notes del ID\n");
    return 2;
}
