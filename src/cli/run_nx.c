/*
 * src/cli/run_nx.c — the nx side of `weft run`: the data directory (from
 * --data-dir, $WEFT_DATA_DIR, $XDG_DATA_HOME or ~/.local/share) the node
 * opens with the node identity when sync is on, the context, and printing
 * the call's logs (stderr, "MODULE: message" or with --log-format json one
 * object a line) and, with --events, its events (JSON lines) after the
 * call. Every JSON line is valid JSON whatever bytes the guest gave: text
 * that is not UTF-8 goes into a "<field>_hex" member instead.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "run.h"

/* ---- nx: data directory and context -------------------------------------- */

/* The data directory (cli_data_dir), or NULL (reported). */
static char *data_dir(const run_opts_t *o)
{
    char *dir = cli_data_dir(o->data_dir);
    if (!dir)
        cli_error("no data directory: give --data-dir DIR or set WEFT_DATA_DIR");
    return dir;
}

/* The module's name: its file name without directories and ".wasm". It is
 * the default context, the module id nx reports, and the prefix of its
 * log lines; "stdin" for a module read from stdin ("-"). */
char *run_module_name(const char *path)
{
    const char *f = strcmp(path, "-") == 0 ? "stdin" : cli_file_name(path);
    size_t n = strcspn(f, "/");
    if (n > 5 && memcmp(f + n - 5, ".wasm", 5) == 0)
        n -= 5;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, f, n);
        s[n] = '\0';
    }
    return s;
}

/* Opens the data directory in the node. Returns 0 or an exit status. */
int run_open_data_dir(run_t *r)
{
    const run_opts_t *o = r->o;
    char msg[1024];
    char *dir = data_dir(o);
    int rc, status = CLI_EXIT_USAGE;
    if (!dir)
        goto done;
    if (strlen(r->context) == 0 || strlen(r->context) > 255) {
        cli_error("context name '%s' must be 1 to 255 bytes (see --context)", r->context);
        goto done;
    }
    rc = weft_node_open_data_dir(r->node, dir, msg, sizeof msg);
    if (rc != 0) {
        cli_error("%s", msg);
        /* A directory that cannot be made or opened is the user's to fix
         * (exit 2); a damaged one, or its identity, is an error (1). */
        status = rc == WEFT_EIO && strncmp(msg, "cannot load", 11) != 0 ? CLI_EXIT_USAGE
                                                                        : CLI_EXIT_ERROR;
        goto done;
    }
    const uint8_t *id = weft_node_id(r->node);
    if (id)
        cli_hex(id, 32, r->node_hex);
    status = 0;
done:
    free(dir);
    return status;
}

/* Sets obj[key] to the text p[0..len) when it is UTF-8, else obj[key_hex]
 * to its bytes in hex. On failure (out of memory) the member is left out. */
static void set_text(json_t *obj, const char *key, const char *p, size_t len)
{
    json_t *v = json_stringn(p, len);
    if (v) {
        json_object_set_new(obj, key, v);
        return;
    }
    char hex_key[32];
    char *hex = malloc(len * 2 + 1);
    snprintf(hex_key, sizeof hex_key, "%s_hex", key);
    if (hex) {
        cli_hex((const uint8_t *)p, len, hex);
        json_object_set_new(obj, hex_key, json_string(hex));
        free(hex);
    }
}

/* A new object holding "node" (when sync is on), or NULL. */
static json_t *new_line(const run_t *r)
{
    json_t *obj = json_object();
    if (obj && r->node_hex[0])
        json_object_set_new(obj, "node", json_string(r->node_hex));
    return obj;
}

/* Writes obj compactly and its newline with one fwrite (stderr is
 * unbuffered: piece by piece, a line could be split among other writers'
 * output), and frees it. */
static void put_line(FILE *out, json_t *obj)
{
    size_t n = json_dumpb(obj, NULL, 0, JSON_COMPACT);
    char *line = n ? malloc(n + 1) : NULL;
    if (line && json_dumpb(obj, line, n, JSON_COMPACT) == n) {
        line[n] = '\n';
        fwrite(line, 1, n + 1, out);
    }
    free(line);
    json_decref(obj);
}

/* Log lines of the call on stderr: "<module>: <message>", or with
 * --log-format json {"node", "context", "module", "msg" or "msg_hex"}. */
void run_print_logs(const run_t *r, const weft_call_result_t *res)
{
    size_t n = weft_call_result_log_count(res);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *m = weft_call_result_log(res, i, &len);
        if (!m)
            continue;
        if (r->o->log_json) {
            json_t *obj = new_line(r);
            if (!obj)
                continue;
            set_text(obj, "context", r->context, strlen(r->context));
            set_text(obj, "module", r->name, strlen(r->name));
            set_text(obj, "msg", m, len);
            put_line(stderr, obj);
            continue;
        }
        fprintf(stderr, "%s: ", r->name);
        fwrite(m, 1, len, stderr);
        fputc('\n', stderr);
    }
    if (weft_call_result_logs_dropped(res))
        fprintf(stderr, "weft: %zu log messages of %s dropped (over 64 MiB in one call)\n",
                weft_call_result_logs_dropped(res), r->name);
}

/* --events: one JSON object per line, {"node": ID, "event": NAME,
 * "payload": TEXT}, or "payload_hex" instead when the payload is not UTF-8;
 * no "node" when sync is off. */
void run_print_events(const run_t *r, const weft_call_result_t *res)
{
    size_t n = weft_call_result_event_count(res);
    for (size_t i = 0; i < n; i++) {
        const char *name;
        const uint8_t *p;
        size_t nl, pl;
        if (weft_call_result_event(res, i, &name, &nl, &p, &pl, NULL) != 0)
            continue;
        json_t *obj = new_line(r);
        if (!obj)
            continue;
        set_text(obj, "event", name, nl);
        set_text(obj, "payload", (const char *)p, pl);
        put_line(stdout, obj);
    }
    fflush(stdout);
}
