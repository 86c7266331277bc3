/*
 * guestbook.c — an nx application made to be called over HTTP (weft serve):
 * a WASI reactor whose exports are the functions, input on stdin, output on
 * stdout. Built with sdk/nx.h and -mexec-model=reactor.
 *
 *   sign   input "NAME: MESSAGE"; stores the entry, emits a "signed" event
 *          whose payload is the name, prints the entry's number
 *   list   prints every entry, oldest first, "N NAME: MESSAGE" a line (a view)
 *   count  prints how many entries there are (a view)
 *
 * Entries live under "entry:<number>" (zero-padded, so byte order is the
 * order they were made); "count" holds how many there are. Each call is one
 * transaction: a sign stores both the entry and the count, or neither.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nx.h"

#define MAX_ENTRY 1024

static size_t read_input(char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(0, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return n;
}

static unsigned long count(void)
{
    char buf[32];
    int32_t n = nx_db_get_str("count", buf, sizeof buf - 1);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strtoul(buf, NULL, 10);
}

__attribute__((export_name("sign"))) void sign(void)
{
    char entry[MAX_ENTRY + 2], key[32], num[32];
    size_t len = read_input(entry, sizeof entry);
    const char *colon = strchr(entry, ':');
    if (len == 0 || len > MAX_ENTRY || !colon || colon == entry) {
        fprintf(stderr, "guestbook: sign takes \"NAME: MESSAGE\" (at most %d bytes)\n", MAX_ENTRY);
        exit(2);
    }
    unsigned long n = count() + 1;
    snprintf(key, sizeof key, "entry:%010lu", n);
    snprintf(num, sizeof num, "%lu", n);
    if (nx_db_set(key, (uint32_t)strlen(key), entry, (uint32_t)len) != 0 ||
        nx_db_set_str("count", num) != 0) {
        fprintf(stderr, "guestbook: cannot store the entry\n");
        exit(1);
    }
    nx_event_emit("signed", 6, entry, (uint32_t)(colon - entry));
    nx_log("a new entry");
    printf("%lu\n", n);
    fflush(stdout); /* a reactor's stdout is not flushed for it when the call returns */
}

__attribute__((export_name("list"))) void list(void)
{
    char key[32], entry[MAX_ENTRY + 1];
    unsigned long n = count();
    for (unsigned long i = 1; i <= n; i++) {
        snprintf(key, sizeof key, "entry:%010lu", i);
        int32_t len = nx_db_get(key, (uint32_t)strlen(key), entry, sizeof entry - 1);
        if (len < 0)
            continue;
        entry[len] = '\0';
        printf("%lu %s\n", i, entry);
    }
    fflush(stdout);
}

__attribute__((export_name("count"))) void print_count(void)
{
    printf("%lu\n", count());
    fflush(stdout);
}
