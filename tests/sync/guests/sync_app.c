/*
 * sync_app.c — the app tests/sync/sync_e2e.py and netns_test.py replicate:
 * an nx reactor (sdk/nx.h) whose exports write CRDTs from their input and
 * report what net_peers and net_node_id say. Input on stdin, output on
 * stdout (flushed before each export returns: a reactor's stdout is not
 * flushed at exit).
 *
 *   inc    "KEY"          PNCounter KEY += 1
 *   add    "KEY ELEM"     ORSet KEY gets ELEM
 *   rem    "KEY ELEM"     ORSet KEY loses the ELEM adds this node has seen
 *   set    "KEY VALUE"    LWW register KEY = VALUE
 *   bulk   "N PREFIX"     N ops in one call: PNCounter PREFIX += N (one op
 *                         each) and ORSet PREFIX:set gets PREFIX-0..N-1
 *                         (2N ops in all)
 *   peers                 one line per linked peer: "ADDR ID" (net_peers)
 *   id                    this node's id (net_node_id)
 * A refused write exits 1 with the nx code on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nx.h"

static char in[4096];

/* Reads stdin into `in`; returns the byte count. */
static size_t input(void)
{
    size_t n = 0;
    ssize_t r;
    while (n + 1 < sizeof in && (r = read(0, in + n, sizeof in - 1 - n)) > 0)
        n += (size_t)r;
    in[n] = '\0';
    return n;
}

/* Splits `in` at its first space: the key, and the rest in *rest. */
static const char *split(const char **rest)
{
    input();
    char *sp = strchr(in, ' ');
    if (!sp) {
        fprintf(stderr, "sync_app: want \"KEY VALUE\"\n");
        exit(2);
    }
    *sp = '\0';
    *rest = sp + 1;
    return in;
}

static void check(int32_t rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "sync_app: %s refused (%d)\n", what, (int)rc);
        exit(1);
    }
}

__attribute__((export_name("inc"))) void inc(void)
{
    input();
    check(nx_crdt_pncounter_inc(in, (uint32_t)strlen(in), 1), "inc");
}

__attribute__((export_name("add"))) void add(void)
{
    const char *elem, *key = split(&elem);
    check(nx_crdt_orset_add(key, (uint32_t)strlen(key), elem, (uint32_t)strlen(elem)), "add");
}

__attribute__((export_name("rem"))) void rem(void)
{
    const char *elem, *key = split(&elem);
    check(nx_crdt_orset_remove(key, (uint32_t)strlen(key), elem, (uint32_t)strlen(elem)), "rem");
}

__attribute__((export_name("set"))) void set(void)
{
    const char *val, *key = split(&val);
    check(nx_crdt_lww_set(key, (uint32_t)strlen(key), val, (uint32_t)strlen(val)), "set");
}

__attribute__((export_name("bulk"))) void bulk(void)
{
    const char *prefix;
    char *n_text = (char *)split(&prefix);
    long n = strtol(n_text, NULL, 10);
    char key[256], elem[300];
    snprintf(key, sizeof key, "%s:set", prefix);
    for (long i = 0; i < n; i++) {
        check(nx_crdt_pncounter_inc(prefix, (uint32_t)strlen(prefix), 1), "bulk inc");
        int el = snprintf(elem, sizeof elem, "%s-%ld", prefix, i);
        check(nx_crdt_orset_add(key, (uint32_t)strlen(key), elem, (uint32_t)el), "bulk add");
    }
}

__attribute__((export_name("peers"))) void peers(void)
{
    static uint8_t buf[65536];
    int32_t n = nx_net_peers(buf, sizeof buf);
    if (n < 4) {
        fprintf(stderr, "sync_app: net_peers answered %d\n", (int)n);
        exit(1);
    }
    uint32_t pos = 4, kl, vl;
    const uint8_t *k, *v;
    while (nx_page_next(buf, (uint32_t)n, 1, &pos, &k, &kl, &v, &vl))
        printf("%.*s %.*s\n", (int)kl, (const char *)k, (int)vl, (const char *)v);
    fflush(stdout);
}

__attribute__((export_name("id"))) void id(void)
{
    char buf[NX_NODE_ID_LEN + 1];
    int32_t n = nx_net_node_id_str(buf);
    if (n < 0)
        exit(1);
    printf("%s\n", buf);
    fflush(stdout);
}
