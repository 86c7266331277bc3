/*
 * src/cli/client_admin.c — the client commands that manage a node and read
 * it: `weft deploy`, `weft context create|list|rm`, `weft state`, `weft
 * status` (docs/http.md, "Client commands").
 *
 * What a script wants comes alone on stdout (an app id, a context name,
 * one `key<TAB>value` line per key), so `APP=$(weft deploy app.wasm)`
 * works; --json prints the node's answer instead. Keys and values are
 * printed escaped (\n, \t, \xNN) so that one line stays one entry.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"

/* ---- deploy ---------------------------------------------------------------- */

void cli_deploy_usage(FILE *out)
{
    fprintf(out,
            "usage: weft deploy [options] FILE.wasm\n"
            "\n"
            "Sends a module to the node, which checks it and keeps it by its sha256: the\n"
            "app id, printed on stdout (with --json the app object: imports, exports, ABI).\n"
            "FILE - reads the module from stdin. A long upload shows its progress on stderr\n"
            "when stderr is a terminal.\n"
            "\n"
            "options:\n"
            "  --name NAME         a name for the app (letters, digits, . _ -)\n"
            "  --manifest FILE     the app's manifest, JSON: views and limits (docs/node.md)\n");
    client_print_opts(out);
}

int cli_deploy(int argc, char **argv)
{
    client_opts_t o = {0};
    const char *name = NULL, *manifest = NULL, *pos[1];
    size_t npos;
    client_flag_t flags[] = {{"--name", &name, NULL}, {"--manifest", &manifest, NULL}};
    int rc = client_parse("deploy", argc, argv, &o, flags, 2, pos, 1, &npos, cli_deploy_usage);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    if (npos != 1) {
        cli_error("deploy: give the module: weft deploy FILE.wasm");
        cli_usage_hint("deploy");
        return CLI_EXIT_USAGE;
    }
    uint8_t *bytes = NULL, *mf = NULL;
    size_t len = 0, mf_len = 0;
    char *esc = NULL, *mf_esc = NULL, *path = NULL;
    client_resp_t r = {0};
    client_t *c = client_new(&o, "deploy", &rc);
    if (!c)
        return rc;
    rc = CLI_EXIT_ERROR;
    if (cli_read_file(pos[0], &bytes, &len) != 0) {
        cli_error("deploy: cannot read %s: %m", pos[0]);
        goto done;
    }
    if (cli_is_wat(bytes, len)) {
        cli_wat_error(pos[0]);
        goto done;
    }
    if (manifest && cli_read_file(manifest, &mf, &mf_len) != 0) {
        cli_error("deploy: cannot read the manifest %s: %m", manifest);
        goto done;
    }
    if (name && (strlen(name) > 255 || !(esc = client_escape(c, name, strlen(name))))) {
        cli_error("deploy: the app name is too long");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    if (mf && (mf_len > 65536 || !(mf_esc = client_escape(c, (const char *)mf, mf_len)))) {
        cli_error("deploy: the manifest is over 64 KiB");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    size_t plen = 32 + (esc ? strlen(esc) : 0) + (mf_esc ? strlen(mf_esc) : 0);
    if (!(path = malloc(plen))) {
        cli_error("out of memory");
        goto done;
    }
    snprintf(path, plen, "/v1/apps%s%s%s%s%s", esc || mf_esc ? "?" : "", esc ? "name=" : "",
             esc ? esc : "", esc && mf_esc ? "&" : "", mf_esc ? "manifest=" : "");
    if (mf_esc)
        strcat(path, mf_esc);
    client_req_t req = {.method = "POST", .path = path, .body = bytes, .body_len = len,
                        .content_type = "application/wasm", .progress = 1};
    if (client_request(c, &req, &r) != 0)
        goto done;
    if (r.status != 201 && r.status != 200) {
        rc = client_fail(c, "deploy", &r);
        goto done;
    }
    const char *id = json_string_value(json_object_get(r.doc, "id"));
    if (!id) {
        cli_error("deploy: the node's answer has no app id");
        goto done;
    }
    if (client_json(c))
        client_print_json(r.doc);
    else
        printf("%s\n", id);
    rc = CLI_EXIT_OK;
done:
    client_resp_fini(&r);
    free(esc);
    free(mf_esc);
    free(mf);
    free(path);
    free(bytes);
    client_delete(c);
    return rc;
}

/* ---- context ----------------------------------------------------------------- */

void cli_context_usage(FILE *out)
{
    fprintf(out,
            "usage: weft context create [options] [--members ID,ID...] APP_ID [NAME]\n"
            "       weft context list [options]\n"
            "       weft context rm [options] NAME\n"
            "       weft context upgrade [options] NAME APP_ID\n"
            "\n"
            "A context is a named instance of an app's state. create makes one (the node\n"
            "names it when NAME is left out) and prints its name; list prints one line per\n"
            "context: name, app id, creation time (UTC); rm deletes one and all its state;\n"
            "upgrade moves one to another app of its ABI, keeping its state (a Cosmictron\n"
            "schema may add tables and Option columns at the end: docs/node.md).\n"
            "--members lists other nodes' ids (weft status shows a node's) that replicate\n"
            "the context with this one (docs/sync.md): they join it when linked.\n"
            "\n"
            "options:\n");
    client_print_opts(out);
}

/* "2026-12-06T20:42:15Z" from milliseconds since the epoch. */
static void utc_time(json_t *ms, char *out, size_t cap)
{
    time_t t = (time_t)(json_integer_value(ms) / 1000);
    struct tm tm;
    if (!json_is_integer(ms) || !gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, cap, "-");
}

static int context_list(client_t *c)
{
    client_req_t req = {.method = "GET", .path = "/v1/contexts"};
    client_resp_t r;
    if (client_request(c, &req, &r) != 0)
        return CLI_EXIT_ERROR;
    int rc = CLI_EXIT_OK;
    json_t *list = json_object_get(r.doc, "contexts");
    if (r.status != 200) {
        rc = client_fail(c, "context list", &r);
    } else if (client_json(c)) {
        client_print_json(r.doc);
    } else {
        size_t i;
        json_t *ctx;
        json_array_foreach(list, i, ctx) {
            char when[32];
            size_t n;
            int text;
            uint8_t *name = client_bytes(ctx, "name", &n, &text);
            utc_time(json_object_get(ctx, "created_ms"), when, sizeof when);
            client_print_line_bytes(stdout, name ? name : (const uint8_t *)"?", name ? n : 1, text);
            printf("\t%s\t%s\n", json_string_value(json_object_get(ctx, "app")) ?: "-", when);
            free(name);
        }
    }
    client_resp_fini(&r);
    return rc;
}

int cli_context(int argc, char **argv)
{
    client_opts_t o = {0};
    const char *pos[3];
    size_t npos;
    const char *members = NULL;
    client_flag_t flags[] = {{"--members", &members, NULL}};
    int rc = client_parse("context", argc, argv, &o, flags, 1, pos, 3, &npos, cli_context_usage);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    const char *sub = npos ? pos[0] : "";
    int upgrade = strcmp(sub, "upgrade") == 0;
    size_t want_min = strcmp(sub, "create") == 0 ? 2 : strcmp(sub, "rm") == 0 ? 2 : upgrade ? 3 : 1;
    size_t want_max = strcmp(sub, "create") == 0 ? 3 : want_min;
    if (strcmp(sub, "create") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "rm") != 0 &&
        !upgrade) {
        cli_error(npos ? "context: unknown subcommand '%s' (create, list, rm or upgrade)"
                       : "context: give a subcommand: create, list, rm or upgrade%s",
                  sub);
        cli_usage_hint("context");
        return CLI_EXIT_USAGE;
    }
    if (npos < want_min || npos > want_max) {
        cli_error("context %s: %s", sub,
                  strcmp(sub, "create") == 0 ? "give the app id and optionally a name"
                  : strcmp(sub, "rm") == 0   ? "give the context's name"
                  : upgrade                  ? "give the context's name and the app id"
                                             : "takes no argument");
        cli_usage_hint("context");
        return CLI_EXIT_USAGE;
    }
    client_t *c = client_new(&o, "context", &rc);
    if (!c)
        return rc;
    if (strcmp(sub, "list") == 0) {
        rc = context_list(c);
        client_delete(c);
        return rc;
    }
    client_resp_t r = {0};
    char *esc = NULL, *body = NULL;
    rc = CLI_EXIT_ERROR;
    if (strcmp(sub, "rm") == 0) {
        char path[1024];
        if (strlen(pos[1]) > 255 || !(esc = client_escape(c, pos[1], strlen(pos[1])))) {
            cli_error("context rm: a context name is 1 to 255 bytes");
            rc = CLI_EXIT_USAGE;
            goto done;
        }
        snprintf(path, sizeof path, "/v1/contexts/%s", esc);
        client_req_t req = {.method = "DELETE", .path = path};
        if (client_request(c, &req, &r) != 0)
            goto done;
        if (r.status != 204 && r.status != 200) {
            rc = client_fail(c, "context rm", &r);
            goto done;
        }
        rc = CLI_EXIT_OK;
        goto done;
    }
    if (upgrade) {
        char path[1024];
        json_t *ub = json_pack("{s:s}", "app", pos[2]);
        body = ub ? json_dumps(ub, JSON_COMPACT) : NULL;
        json_decref(ub);
        if (strlen(pos[1]) > 255 || !body || !(esc = client_escape(c, pos[1], strlen(pos[1])))) {
            cli_error("context upgrade: a context name is 1 to 255 bytes, the app id UTF-8 text");
            rc = CLI_EXIT_USAGE;
            goto done;
        }
        snprintf(path, sizeof path, "/v1/contexts/%s/app", esc);
        client_req_t req = {.method = "POST", .path = path, .body = body,
                            .body_len = strlen(body), .content_type = "application/json"};
        if (client_request(c, &req, &r) != 0)
            goto done;
        if (r.status != 200) {
            rc = client_fail(c, "context upgrade", &r);
            goto done;
        }
        if (client_json(c))
            client_print_json(r.doc);
        rc = CLI_EXIT_OK;
        goto done;
    }
    json_t *o_body = json_pack("{s:s}", "app", pos[1]);
    if (o_body && npos == 3)
        json_object_set_new(o_body, "name", json_string(pos[2]));
    if (o_body && members) { /* "ID,ID": the node checks each id */
        json_t *list = json_array();
        for (const char *m = members; *m;) {
            const char *end = strchr(m, ',');
            size_t n = end ? (size_t)(end - m) : strlen(m);
            if (n)
                json_array_append_new(list, json_stringn(m, n));
            m += n + (end ? 1 : 0);
        }
        json_object_set_new(o_body, "members", list);
    }
    body = o_body ? json_dumps(o_body, JSON_COMPACT) : NULL;
    json_decref(o_body);
    if (!body) {
        cli_error("context create: the app id and name must be UTF-8 text");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    client_req_t req = {.method = "POST", .path = "/v1/contexts", .body = body,
                        .body_len = strlen(body), .content_type = "application/json"};
    if (client_request(c, &req, &r) != 0)
        goto done;
    if (r.status != 201 && r.status != 200) {
        rc = client_fail(c, "context create", &r);
        goto done;
    }
    if (client_json(c)) {
        client_print_json(r.doc);
    } else {
        size_t n;
        uint8_t *name = client_bytes(r.doc, "name", &n, NULL);
        if (name)
            printf("%s\n", (const char *)name);
        free(name);
    }
    rc = CLI_EXIT_OK;
done:
    client_resp_fini(&r);
    free(esc);
    free(body);
    client_delete(c);
    return rc;
}

/* ---- status ------------------------------------------------------------------- */

void cli_status_usage(FILE *out)
{
    fprintf(out,
            "usage: weft status [options]\n"
            "\n"
            "Shows the node: its id, version, uptime, data directory size, and whether it\n"
            "accepts calls (ready). Exit 0 when the node answers, 1 when it cannot be\n"
            "reached or refuses the token.\n"
            "\n"
            "options:\n");
    client_print_opts(out);
}

/* "1.5 MiB" */
static void human_size(json_int_t n, char *out, size_t cap)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, cap, "%lld bytes", (long long)n);
    else
        snprintf(out, cap, "%.1f %s", v, units[u]);
}

int cli_status(int argc, char **argv)
{
    client_opts_t o = {0};
    size_t npos;
    int rc = client_parse("status", argc, argv, &o, NULL, 0, NULL, 0, &npos, cli_status_usage);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    client_t *c = client_new(&o, "status", &rc);
    if (!c)
        return rc;
    client_resp_t node = {0}, ready = {0};
    client_req_t req = {.method = "GET", .path = "/v1/node"};
    rc = CLI_EXIT_ERROR;
    if (client_request(c, &req, &node) != 0)
        goto done;
    if (node.status != 200 || !json_is_object(node.doc)) {
        rc = client_fail(c, "status", &node);
        goto done;
    }
    req.path = "/ready";
    if (client_request(c, &req, &ready) != 0)
        goto done;
    int is_ready = ready.status == 200;
    if (client_json(c)) {
        json_object_set_new(node.doc, "ready", json_boolean(is_ready));
        client_print_json(node.doc);
    } else {
        const char *id = json_string_value(json_object_get(node.doc, "id"));
        json_int_t up = json_integer_value(json_object_get(node.doc, "uptime_s"));
        char size[32];
        human_size(json_integer_value(json_object_get(node.doc, "data_dir_bytes")), size,
                   sizeof size);
        printf("node      %s\n", id ? id : "none (--no-sync)");
        printf("version   %s\n", json_string_value(json_object_get(node.doc, "version")) ?: "?");
        printf("uptime    %lldh %02lldm %02llds\n", (long long)(up / 3600),
               (long long)(up / 60 % 60), (long long)(up % 60));
        printf("data dir  %s\n", size);
        printf("ready     %s\n", is_ready ? "yes" : "no (stopping)");
    }
    rc = CLI_EXIT_OK;
done:
    client_resp_fini(&node);
    client_resp_fini(&ready);
    client_delete(c);
    return rc;
}

/* ---- state ---------------------------------------------------------------------- */

void cli_state_usage(FILE *out)
{
    fprintf(out,
            "usage: weft state [options] CONTEXT kv [--prefix P] [--limit N]\n"
            "       weft state [options] CONTEXT crdt [KEY]\n"
            "\n"
            "Reads a context's state, read-only. kv prints one line per key, key and value\n"
            "separated by a tab (\\n, \\t, \\\\ and \\xNN stand for bytes that would break the\n"
            "line), following the node's pages to the end; with --json one object\n"
            "{\"items\": [{\"key\", \"value\"}], \"next\"}. crdt lists the replicated keys the\n"
            "same way, each with its type (gcounter, lww_map, rga, ...); crdt KEY prints one\n"
            "key's value as JSON ({\"type\", \"value\"}).\n"
            "\n"
            "options:\n"
            "  --prefix P          only keys starting with P\n"
            "  --limit N           at most N keys (default: all)\n");
    client_print_opts(out);
}

/* One CRDT key's value, as the node renders it (JSON). */
static int state_crdt(client_t *c, const char *ctx, const char *key)
{
    char *kesc = key ? client_escape(c, key, strlen(key)) : NULL;
    char path[2048];
    snprintf(path, sizeof path, "/v1/contexts/%s/crdt%s%s", ctx, kesc ? "/" : "",
             kesc ? kesc : "");
    free(kesc);
    client_req_t req = {.method = "GET", .path = path};
    client_resp_t r;
    if (client_request(c, &req, &r) != 0)
        return CLI_EXIT_ERROR;
    int rc = CLI_EXIT_OK;
    if (r.status == 404 && strcmp(client_error_code(&r), "NOT_FOUND") == 0 && key)
        rc = client_fail(c, "state", &r);
    else if (r.status == 404)
        rc = client_missing_route(c, "state", ctx, "CRDT state", &r);
    else if (r.status != 200)
        rc = client_fail(c, "state", &r);
    else if (r.doc)
        client_print_json(r.doc);
    else
        fwrite(r.body, 1, r.len, stdout);
    client_resp_fini(&r);
    return rc;
}

/* Follows the pages of GET .../WHAT ("kv": key and value, "crdt": key and
 * type): up to `limit` keys (0: all). */
static int state_pages(client_t *c, const char *ctx, const char *what, const char *field,
                       const char *prefix, uint64_t limit)
{
    char *pesc = prefix ? client_escape(c, prefix, strlen(prefix)) : NULL;
    char *after = NULL; /* escaped */
    json_t *all = json_array(), *next = json_null();
    uint64_t printed = 0;
    int rc = CLI_EXIT_ERROR;
    client_resp_t r = {0};
    if (!all || (prefix && !pesc))
        goto oom;
    for (;;) {
        uint64_t want = limit ? limit - printed : 1000;
        char path[4096];
        snprintf(path, sizeof path, "/v1/contexts/%s/%s?limit=%llu%s%s%s%s", ctx, what,
                 (unsigned long long)(want < 1000 ? want : 1000), pesc ? "&prefix=" : "",
                 pesc ? pesc : "", after ? "&" : "", after ? after : "");
        client_req_t req = {.method = "GET", .path = path};
        if (client_request(c, &req, &r) != 0)
            goto done;
        if (r.status != 200) {
            rc = client_fail(c, "state", &r);
            goto done;
        }
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(r.doc, "items"), i, item) {
            if (client_json(c)) {
                json_array_append(all, item);
                continue;
            }
            size_t kn, vn;
            int kt, vt;
            uint8_t *k = client_bytes(item, "key", &kn, &kt), *v = client_bytes(item, field, &vn, &vt);
            if (k && v) {
                client_print_line_bytes(stdout, k, kn, kt);
                fputc('\t', stdout);
                client_print_line_bytes(stdout, v, vn, vt);
                fputc('\n', stdout);
            }
            free(k);
            free(v);
        }
        printed += json_array_size(json_object_get(r.doc, "items"));
        /* The next page starts after the last key, which the node sends as
         * text ("next") or, for bytes that are not text, in base64
         * ("next_base64"), taken back as after= or after_base64=. */
        json_t *t = json_object_get(r.doc, "next"), *b = json_object_get(r.doc, "next_base64");
        free(after);
        after = NULL;
        json_decref(next);
        next = json_is_string(t) ? json_incref(t)
               : json_is_string(b) ? json_pack("{s:O}", "next_base64", b)
                                   : json_null();
        if (json_is_string(t) || json_is_string(b)) {
            const char *cur = json_string_value(json_is_string(t) ? t : b);
            char *esc = client_escape(c, cur, strlen(cur));
            size_t n = esc ? strlen(esc) + 16 : 0;
            if (!esc || !(after = malloc(n))) {
                free(esc);
                goto oom;
            }
            snprintf(after, n, "%s=%s", json_is_string(t) ? "after" : "after_base64", esc);
            free(esc);
        }
        client_resp_fini(&r);
        if (!after || (limit && printed >= limit) || client_interrupted)
            break;
    }
    if (client_json(c)) {
        json_t *doc = json_pack("{s:O,s:O}", "items", all, "next", next);
        client_print_json(doc);
        json_decref(doc);
    }
    rc = CLI_EXIT_OK;
    goto done;
oom:
    cli_error("state: out of memory");
done:
    client_resp_fini(&r);
    json_decref(all);
    json_decref(next);
    free(after);
    free(pesc);
    return rc;
}

int cli_state(int argc, char **argv)
{
    client_opts_t o = {0};
    const char *pos[3], *prefix = NULL, *limit_s = NULL;
    size_t npos;
    client_flag_t flags[] = {{"--prefix", &prefix, NULL}, {"--limit", &limit_s, NULL}};
    int rc = client_parse("state", argc, argv, &o, flags, 2, pos, 3, &npos, cli_state_usage);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    uint64_t limit = 0;
    int kv = npos >= 2 && strcmp(pos[1], "kv") == 0, crdt = npos >= 2 && strcmp(pos[1], "crdt") == 0;
    if (npos < 2 || (!kv && !crdt) || (kv && npos != 2)) {
        cli_error("state: give a context and what to read: weft state CONTEXT kv, or "
                  "weft state CONTEXT crdt [KEY]");
        cli_usage_hint("state");
        return CLI_EXIT_USAGE;
    }
    if (crdt && (prefix || (limit_s && npos == 3))) {
        cli_error("state: --prefix is for kv, and --limit for lists");
        cli_usage_hint("state");
        return CLI_EXIT_USAGE;
    }
    if (limit_s && (cli_parse_size(limit_s, &limit) != 0 || limit == 0)) {
        cli_error("state: --limit must be a positive count, not '%s'", limit_s);
        cli_usage_hint("state");
        return CLI_EXIT_USAGE;
    }
    client_t *c = client_new(&o, "state", &rc);
    if (!c)
        return rc;
    char *ctx = strlen(pos[0]) <= 255 ? client_escape(c, pos[0], strlen(pos[0])) : NULL;
    if (!ctx) {
        cli_error("state: a context name is 1 to 255 bytes");
        rc = CLI_EXIT_USAGE;
    } else {
        rc = kv ? state_pages(c, ctx, "kv", "value", prefix, limit)
           : npos == 3 ? state_crdt(c, ctx, pos[2])
                       : state_pages(c, ctx, "crdt", "type", NULL, limit);
    }
    free(ctx);
    client_delete(c);
    return rc;
}
