/*
 * numax_like.c — what Numax's own example guests do, written in C against
 * sdk/nx.h, so the behaviours they rely on stay tested without their code
 * (tests/nx/numax_test.sh runs it):
 *
 *   weft run --data-dir DIR [--env NX_...=...] numax_like.wasm SCENARIO
 *
 * Numax's Rust SDK reads every text result into a buffer of 64 bytes first
 * and doubles it on ERR_BUFFER_TOO_SMALL, turns node ids, RGA element ids,
 * peer addresses and module ids into strings (a result that is not UTF-8
 * is its "internal" error), parses list outputs strictly (every length in
 * bounds, no byte left over), and its examples take their settings from
 * NX_* variables. Each scenario does the same, one like each example:
 * comments (RGA), settings (LWW-Map), status (LWW-Register), tags (ORSet),
 * inventory (PNCounter), counter (GCounter) and kv (the db, time, crypto
 * and system calls). It logs what it did, one line per fact, and a line
 * "error: ..." where the SDK would have failed; the script checks the
 * lines. Exit status 0, or 1 after an error line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx.h"

static int errors;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    nx_log(line);
}

static void error(const char *what, int32_t rc)
{
    say("error: %s: %d", what, (int)rc);
    errors++;
}

/* Whether p[0..n) is UTF-8 (what a Rust String accepts). */
static int utf8(const uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n;) {
        uint8_t c = p[i];
        uint32_t more = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
                      : (c & 0xf8) == 0xf0 ? 3 : 4;
        if (more == 4 || (more && c < 0xc2) || more > n - i - 1) return 0;
        for (uint32_t k = 1; k <= more; k++)
            if ((p[i + k] & 0xc0) != 0x80) return 0;
        i += 1 + more;
    }
    return 1;
}

/* A text result the SDK way: a 64-byte buffer, doubled on
 * ERR_BUFFER_TOO_SMALL up to 1 MiB; the result must be UTF-8. Returns a
 * malloc'ed C string, or NULL with *rc the code (NX_ERR_INTERNAL for bytes
 * that are not UTF-8). `call` gets the buffer and its capacity. */
typedef int32_t text_fn(void *ctx, uint8_t *out, uint32_t cap);

static char *read_text(text_fn *call, void *ctx, int32_t *rc)
{
    for (uint32_t cap = 64; cap <= 1024 * 1024; cap *= 2) {
        uint8_t *buf = malloc(cap + 1);
        if (!buf) break;
        int32_t n = call(ctx, buf, cap);
        if (n >= 0 && !utf8(buf, (uint32_t)n)) n = NX_ERR_INTERNAL;
        if (n >= 0) {
            buf[n] = '\0';
            *rc = n;
            return (char *)buf;
        }
        free(buf);
        if (n != NX_ERR_BUFFER_TOO_SMALL) {
            *rc = n;
            return NULL;
        }
    }
    *rc = NX_ERR_BUFFER_TOO_SMALL;
    return NULL;
}

static int32_t call_node_id(void *ctx, uint8_t *out, uint32_t cap)
{
    (void)ctx;
    return nx_net_node_id(out, cap);
}

static int32_t call_module_id(void *ctx, uint8_t *out, uint32_t cap)
{
    (void)ctx;
    return nx_module_id(out, cap);
}

static int32_t call_caps(void *ctx, uint8_t *out, uint32_t cap)
{
    (void)ctx;
    return nx_host_capabilities(out, cap);
}
static int32_t call_env(void *ctx, uint8_t *out, uint32_t cap)
{
    return nx_env_get(ctx, (uint32_t)strlen(ctx), out, cap);
}

/* An NX_* setting, or def when it is unset or empty (malloc'ed). */
static char *setting(const char *name, const char *def)
{
    int32_t rc;
    char *v = read_text(call_env, (void *)name, &rc);
    if (v && *v) return v;
    free(v);
    return strdup(def);
}

/* The node id, as the examples log it first; NULL when sync is off. */
static char *node_id(void)
{
    int32_t rc;
    char *id = read_text(call_node_id, NULL, &rc);
    if (id) say("node_id=%s", id);
    else if (rc == NX_ERR_SYNC_DISABLED) say("sync disabled");
    else error("node id", rc);
    return id;
}

/* net_peers parsed strictly, as the SDK does: u32 count, per peer u32
 * addr_len, u32 node_id_len, addr, node_id (both UTF-8), nothing after. */
static void peers(void)
{
    uint8_t buf[4096];
    int32_t n = nx_net_peers(buf, sizeof buf);
    if (n < 4) {
        error("peers", n < 0 ? n : NX_ERR_INTERNAL);
        return;
    }
    uint32_t count = nx_read_u32(buf), pos = 4, i;
    const uint8_t *addr, *id;
    uint32_t al, il;
    for (i = 0; i < count && nx_page_next(buf, (uint32_t)n, 1, &pos, &addr, &al, &id, &il); i++)
        if (!utf8(addr, al) || !utf8(id, il)) break;
    if (i != count || pos != (uint32_t)n) error("peers", NX_ERR_INTERNAL);
    else say("connected_peers=%u", count);
}

/* A list read whole (nx_read_all) and walked strictly; its items or
 * entries joined into "a, b" (entries as "field=value") in out. */
static int list_text(nx_list_fn *fn, const char *key, int entries, char *out, size_t cap)
{
    int32_t len;
    uint8_t *all = nx_read_all_str(fn, key, &len);
    nx_list_t it;
    const uint8_t *a, *v;
    uint32_t al, vl;
    int rc;
    size_t used = 0;
    out[0] = '\0';
    if (!all || nx_list_begin(&it, all, len) < 0) {
        free(all);
        error(key, len < 0 ? len : NX_ERR_INTERNAL);
        return -1;
    }
    while ((rc = entries ? nx_entries_next(&it, &a, &al, &v, &vl) : nx_list_next(&it, &a, &al)) == 1) {
        int k = entries ? snprintf(out + used, cap - used, "%s%.*s=%.*s", used ? ", " : "", (int)al,
                                   (const char *)a, (int)vl, (const char *)v)
                        : snprintf(out + used, cap - used, "%s%.*s", used ? ", " : "", (int)al,
                                   (const char *)a);
        if (k < 0 || (size_t)k >= cap - used) break;
        used += (size_t)k;
    }
    free(all);
    if (rc < 0) error(key, rc);
    return rc < 0 ? -1 : 0;
}

/* An RGA insert the SDK way: the id buffer starts at 64 bytes and doubles;
 * the id must be UTF-8 text. */
typedef struct {
    const char *key, *parent, *text;
} insert_t;

static int32_t call_insert(void *ctx, uint8_t *out, uint32_t cap)
{
    insert_t *in = ctx;
    return nx_crdt_rga_insert(in->key, (uint32_t)strlen(in->key), in->parent,
                              in->parent ? (uint32_t)strlen(in->parent) : 0, in->text,
                              (uint32_t)strlen(in->text), out, cap);
}

static void comments(void)
{
    char *key = setting("NX_COMMENT_KEY", "comments:doc-1");
    char *action = setting("NX_COMMENT_ACTION", "append");
    char values[4096];
    if (list_text(nx_crdt_rga_values, key, 0, values, sizeof values) == 0)
        say("%s before=[%s]", key, values);
    if (strcmp(action, "append") == 0 || strcmp(action, "insert") == 0) {
        char *parent = setting("NX_COMMENT_PARENT", "");
        char *text = setting("NX_COMMENT_TEXT", "hello from numax");
        insert_t in = {key, *parent ? parent : NULL, text};
        int32_t rc;
        char *id = read_text(call_insert, &in, &rc);
        if (id) say("inserted id=%s parent=%s text=%s", id, *parent ? parent : "<head>", text);
        else error("insert", rc);
        free(id);
        free(parent);
        free(text);
    } else if (strcmp(action, "delete") == 0) {
        char *id = setting("NX_COMMENT_ID", "");
        int32_t rc = nx_crdt_rga_delete_str(key, id);
        if (rc == 0) say("deleted id=%s", id);
        else error("delete", rc);
        free(id);
    }
    if (list_text(nx_crdt_rga_values, key, 0, values, sizeof values) == 0)
        say("%s after=[%s]", key, values);
    free(key);
    free(action);
}

static void settings(void)
{
    char *key = setting("NX_SETTING_KEY", "settings:service-a");
    char *action = setting("NX_SETTING_ACTION", "set");
    char *field = setting("NX_SETTING_FIELD", "theme");
    char *value = setting("NX_SETTING_VALUE", "dark");
    char map[4096];
    int32_t rc = 0;
    if (list_text(nx_crdt_lww_map_entries, key, 1, map, sizeof map) == 0)
        say("%s before={%s}", key, map);
    if (strcmp(action, "set") == 0) rc = nx_crdt_lww_map_set_str(key, field, value);
    else if (strcmp(action, "remove") == 0) rc = nx_crdt_lww_map_remove_str(key, field);
    if (rc != 0) error(action, rc);
    say("field=%s contains=%s", field, nx_crdt_lww_map_contains_str(key, field) == 1 ? "true" : "false");
    if (list_text(nx_crdt_lww_map_entries, key, 1, map, sizeof map) == 0)
        say("%s after={%s}", key, map);
    free(key);
    free(action);
    free(field);
    free(value);
}

static void status(void)
{
    char *key = setting("NX_STATUS_KEY", "status:service-a");
    char *value = setting("NX_STATUS_VALUE", "online");
    char buf[1024];
    int32_t rc = nx_crdt_lww_get_str(key, buf, sizeof buf);
    say("%s before=%s", key, rc >= 0 ? buf : rc == NX_ERR_NOT_FOUND ? "<unset>" : "?");
    if ((rc = nx_crdt_lww_set_str(key, value)) != 0) error("set", rc);
    rc = nx_crdt_lww_get_str(key, buf, sizeof buf);
    if (rc < 0) error("get", rc);
    else say("%s after=%s", key, buf);
    free(key);
    free(value);
}

static void tags(void)
{
    char *key = setting("NX_TAG_KEY", "tags:doc-1");
    char *action = setting("NX_TAG_ACTION", "add");
    char *tag = setting("NX_TAG_VALUE", "urgent");
    char set[4096];
    int32_t rc = 0;
    if (list_text(nx_crdt_orset_elements, key, 0, set, sizeof set) == 0)
        say("%s before=[%s]", key, set);
    if (strcmp(action, "add") == 0) rc = nx_crdt_orset_add_str(key, tag);
    else if (strcmp(action, "remove") == 0) rc = nx_crdt_orset_remove_str(key, tag);
    if (rc != 0) error(action, rc);
    say("tag=%s contains=%s", tag, nx_crdt_orset_contains_str(key, tag) == 1 ? "true" : "false");
    if (list_text(nx_crdt_orset_elements, key, 0, set, sizeof set) == 0)
        say("%s after=[%s]", key, set);
    free(key);
    free(action);
    free(tag);
}

static void inventory(void)
{
    char *action = setting("NX_INVENTORY_ACTION", "restock");
    const char *key = "inventory:sku-1";
    int64_t v = 0;
    int32_t rc;
    if ((rc = nx_crdt_pncounter_value_str(key, &v)) != 0) error("value", rc);
    say("%s before=%lld", key, (long long)v);
    if (strcmp(action, "sale") == 0) rc = nx_crdt_pncounter_dec_str(key, 4);
    else rc = nx_crdt_pncounter_inc_str(key, strcmp(action, "return") == 0 ? 2 : 10);
    if (rc != 0) error(action, rc);
    if ((rc = nx_crdt_pncounter_value_str(key, &v)) != 0) error("value", rc);
    say("action=%s after=%lld", action, (long long)v);
    free(action);
}

static void counter(void)
{
    uint64_t v = 0;
    int32_t rc;
    if ((rc = nx_crdt_gcounter_inc_str("counter:visits", 1)) != 0) error("inc", rc);
    if ((rc = nx_crdt_gcounter_value_str("counter:visits", &v)) != 0) error("value", rc);
    say("value=%llu", (unsigned long long)v);
}

/* The local calls: db round trip and scan, time, crypto, module id,
 * capabilities, an environment variable. */
static void kv(void)
{
    char buf[64];
    uint8_t d[32], page[1024];
    int32_t rc;
    if (nx_db_set_str("hello", "world") != 0) error("set", -3);
    say("exists=%s", nx_db_exists_str("hello") == 1 ? "true" : "false");
    rc = nx_db_get_str("hello", buf, sizeof buf);
    if (rc < 0) error("get", rc);
    else say("got %s", buf);
    rc = nx_db_scan("hello", 5, 0, 64, page, sizeof page);
    say("scan count=%u", rc >= 4 ? nx_read_u32(page) : 0);
    if (nx_db_delete_str("hello") != 0) error("delete", -3);
    say("after delete=%s", nx_db_get_str("hello", buf, sizeof buf) == NX_ERR_NOT_FOUND ? "gone" : "still there");
    say("time_now_plausible=%s", nx_time_now() > 1600000000000ull ? "true" : "false");
    say("random=%d sha256=%d blake3=%d", (int)nx_random_bytes(d, 16), (int)nx_hash_sha256("x", 1, d, 32),
        (int)nx_hash_blake3("x", 1, d, 32));
    char *m = read_text(call_module_id, NULL, &rc);
    char *caps = read_text(call_caps, NULL, &rc);
    int ncaps = 0;
    for (char *c = caps; c && *c; c++) ncaps += *c == '\n';
    say("module_id=%s capabilities=%d", m ? m : "?", caps && *caps ? ncaps + 1 : 0);
    free(m);
    free(caps);
    char *e = setting("NX_EXAMPLE", "");
    say("env present=%s", *e ? "true" : "false");
    free(e);
}

int main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "";
    if (strcmp(s, "kv") == 0) {
        kv();
        return errors ? 1 : 0;
    }
    if (strcmp(s, "inventory") == 0 || strcmp(s, "counter") == 0) {
        /* these examples go straight to their counter */
        if (s[0] == 'i') inventory();
        else counter();
        return errors ? 1 : 0;
    }
    /* the others log the node id first, and stop when sync is off */
    char *id = node_id();
    if (!id) return errors ? 1 : 0;
    if (strcmp(s, "comments") == 0) comments();
    else if (strcmp(s, "settings") == 0) settings();
    else if (strcmp(s, "status") == 0) status();
    else if (strcmp(s, "tags") == 0) tags();
    else error("unknown scenario", 0);
    peers();
    free(id);
    return errors ? 1 : 0;
}
