/*
 * wordcount.c — a map-reduce word count on the Faasm ABI (sdk/faasm.h):
 * main splits its input into chunks at word boundaries, puts each chunk in
 * Faasm state, chains one mapper per chunk (__faasm_chain_ptr), and when
 * they are done merges the counts they left in state. The output is one
 * "word count" line per word, most frequent first (ties by word). An empty
 * input counts a generated text. See README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faasm.h"

#define MAPPERS 4
#define MAX_WORDS 4096
#define MAX_WORD 32

typedef struct {
    char word[MAX_WORD];
    unsigned count;
} entry_t;

/* A small table, linear probing; words are lower-case letters only. */
typedef struct {
    entry_t e[MAX_WORDS];
    unsigned n;
} table_t;

static unsigned hash(const char *w)
{
    unsigned h = 2166136261u;
    for (; *w; w++) h = (h ^ (unsigned char)*w) * 16777619u;
    return h;
}

static void add(table_t *t, const char *w, unsigned count)
{
    for (unsigned i = hash(w) % MAX_WORDS;; i = (i + 1) % MAX_WORDS) {
        if (!t->e[i].count) {
            if (t->n + 1 >= MAX_WORDS) return; /* full: further words are dropped */
            snprintf(t->e[i].word, MAX_WORD, "%s", w);
            t->e[i].count = count;
            t->n++;
            return;
        }
        if (!strcmp(t->e[i].word, w)) {
            t->e[i].count += count;
            return;
        }
    }
}

static void count_words(table_t *t, const char *p, size_t len)
{
    char w[MAX_WORD];
    size_t n = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? p[i] : ' ';
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c >= 'a' && c <= 'z') {
            if (n + 1 < MAX_WORD) w[n++] = c;
        } else if (n) {
            w[n] = 0;
            add(t, w, 1);
            n = 0;
        }
    }
}

/* A mapper: its input is its chunk's number; the chunk is state
 * "chunk/<i>", the counts go to state "counts/<i>" as "word count\n". */
static int mapper(void)
{
    int i = 0;
    __faasm_read_input((uint8_t *)&i, sizeof i);
    char key[32];
    snprintf(key, sizeof key, "chunk/%d", i);
    int32_t len = __faasm_read_state(key, NULL, 0);
    char *text = malloc((size_t)len + 1);
    __faasm_read_state(key, (uint8_t *)text, len);
    static table_t t;
    count_words(&t, text, (size_t)len);
    size_t cap = (size_t)t.n * (MAX_WORD + 12) + 1, used = 0;
    char *out = malloc(cap);
    out[0] = 0;
    for (unsigned k = 0; k < MAX_WORDS; k++)
        if (t.e[k].count)
            used += (size_t)snprintf(out + used, cap - used, "%s %u\n", t.e[k].word, t.e[k].count);
    snprintf(key, sizeof key, "counts/%d", i);
    faasm_set_state(key, out, used);
    return 0;
}

static int by_count(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return strcmp(x->word, y->word);
}

static const char *generated(void)
{
    return "It was the best of times, it was the worst of times, it was the age of wisdom, "
           "it was the age of foolishness, it was the epoch of belief, it was the epoch of "
           "incredulity, it was the season of light, it was the season of darkness.";
}

int main(void)
{
    size_t len;
    char *text = (char *)faasm_read_call_input(&len);
    if (!text) {
        text = (char *)generated();
        len = strlen(text);
    }
    /* Chunks end at a word boundary, so no word is cut in two. */
    uint32_t ids[MAPPERS];
    size_t start = 0;
    for (int i = 0; i < MAPPERS; i++) {
        size_t end = i == MAPPERS - 1 ? len : (len * (size_t)(i + 1)) / MAPPERS;
        while (end < len && text[end] != ' ' && text[end] != '\n') end++;
        if (end < start) end = start;
        char key[32];
        snprintf(key, sizeof key, "chunk/%d", i);
        faasm_set_state(key, text + start, end - start);
        ids[i] = __faasm_chain_ptr(mapper, (const uint8_t *)&i, sizeof i);
        start = end;
    }
    static table_t all;
    for (int i = 0; i < MAPPERS; i++) {
        if (faasm_await_call(ids[i]) != 0) {
            fprintf(stderr, "mapper %d failed\n", i);
            return 1;
        }
        char key[32];
        snprintf(key, sizeof key, "counts/%d", i);
        int32_t n = __faasm_read_state(key, NULL, 0);
        char *counts = malloc((size_t)n + 1);
        __faasm_read_state(key, (uint8_t *)counts, n);
        counts[n] = 0;
        for (char *line = strtok(counts, "\n"); line; line = strtok(NULL, "\n")) {
            char *sp = strrchr(line, ' ');
            if (!sp) continue;
            *sp = 0;
            add(&all, line, (unsigned)atoi(sp + 1));
        }
        free(counts);
    }
    entry_t *list = malloc(sizeof(entry_t) * (all.n ? all.n : 1));
    unsigned m = 0;
    for (unsigned k = 0; k < MAX_WORDS; k++)
        if (all.e[k].count) list[m++] = all.e[k];
    qsort(list, m, sizeof *list, by_count);
    size_t cap = (size_t)m * (MAX_WORD + 12) + 1, used = 0;
    char *out = malloc(cap);
    out[0] = 0;
    for (unsigned k = 0; k < m; k++)
        used += (size_t)snprintf(out + used, cap - used, "%s %u\n", list[k].word, list[k].count);
    faasm_write_call_output(out, used);
    return 0;
}
