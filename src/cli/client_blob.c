/*
 * client_blob.c — `weft blob put FILE` and `weft blob get ID`: the node's
 * content-addressed blobs (PUT /v1/blobs, GET /v1/blobs/{id}). Both stream:
 * a file goes up as libcurl reads it (stdin with chunked encoding, its size
 * unknown), and a blob comes down to stdout or --output as it arrives, so
 * neither side holds a large blob whole.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "client.h"

void cli_blob_usage(FILE *out)
{
    fprintf(out,
            "usage: weft blob put FILE|- [options]\n"
            "       weft blob get ID [--output FILE] [options]\n"
            "\n"
            "Stores a file in the node as a blob and prints its id (the SHA-256 of its\n"
            "bytes, 64 hex digits: the same bytes always get the same id and are stored\n"
            "once), or writes blob ID to stdout or FILE. Blobs of any size stream both\n"
            "ways (docs/store.md \"Blobs\").\n"
            "\n"
            "options:\n"
            "  --output FILE        get: write the blob to FILE instead of stdout\n");
    client_print_opts(out);
}

static int blob_put(client_t *c, const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        cli_error("blob put: cannot open %s: %s", path, strerror(errno));
        return CLI_EXIT_ERROR;
    }
    struct stat st;
    client_req_t req = {.method = "PUT", .path = "/v1/blobs", .upload = f, .progress = 1};
    req.upload_len = f != stdin && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)
                         ? (int64_t)st.st_size
                         : -1; /* unknown: chunked */
    client_resp_t r;
    int rc = client_request(c, &req, &r);
    if (f != stdin)
        fclose(f);
    if (rc != 0)
        return CLI_EXIT_ERROR;
    if (r.status != 201) {
        rc = client_fail(c, "blob put", &r);
    } else if (client_json(c)) {
        client_print_json(r.doc);
    } else {
        json_t *id = json_object_get(r.doc, "id");
        printf("%s\n", json_is_string(id) ? json_string_value(id) : "?");
    }
    client_resp_fini(&r);
    return rc;
}

static int write_out(void *user, const char *p, size_t n)
{
    return fwrite(p, 1, n, user) == n ? 0 : 1;
}

static int blob_get(client_t *c, const char *id, const char *output)
{
    size_t i = 0;
    while (id[i] && strchr("0123456789abcdefABCDEF", id[i]))
        i++;
    if (i != 64 || id[i]) {
        cli_error("blob get: a blob id is 64 hex digits, not '%s'", id);
        return CLI_EXIT_USAGE;
    }
    FILE *f = output ? fopen(output, "wb") : stdout;
    if (!f) {
        cli_error("blob get: cannot create %s: %s", output, strerror(errno));
        return CLI_EXIT_ERROR;
    }
    char path[16 + 64];
    snprintf(path, sizeof path, "/v1/blobs/%s", id);
    client_req_t req = {.method = "GET", .path = path, .on_data = write_out, .user = f};
    client_resp_t r;
    int rc = client_request(c, &req, &r);
    int bad = rc != 0 || r.status != 200 || r.stopped;
    if (rc == 0 && r.status != 200)
        client_fail(c, "blob get", &r);
    else if (rc == 0 && r.stopped)
        cli_error("blob get: cannot write %s: %s", output ? output : "stdout", strerror(errno));
    if (rc == 0)
        client_resp_fini(&r);
    if ((f != stdout && fclose(f) != 0) || (f == stdout && fflush(f) != 0))
        bad = 1;
    if (bad && output)
        remove(output); /* no half a blob under its name */
    return bad ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

int cli_blob(int argc, char **argv)
{
    client_opts_t o = {0};
    const char *output = NULL, *pos[2];
    size_t npos;
    client_flag_t flags[] = {{"--output", &output, NULL}};
    int rc = client_parse("blob", argc, argv, &o, flags, 1, pos, 2, &npos, cli_blob_usage);
    if (rc != 0)
        return rc < 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    int put = npos == 2 && strcmp(pos[0], "put") == 0, get = npos == 2 && strcmp(pos[0], "get") == 0;
    if (!put && !get) {
        if (npos >= 1 && strcmp(pos[0], "put") != 0 && strcmp(pos[0], "get") != 0)
            cli_error("blob: unknown subcommand '%s' (put or get)", pos[0]);
        else
            cli_error("blob: put FILE or get ID");
        cli_usage_hint("blob");
        return CLI_EXIT_USAGE;
    }
    if (put && output) {
        cli_error("blob put takes no --output");
        return CLI_EXIT_USAGE;
    }
    client_t *c = client_new(&o, "blob", &rc);
    if (!c)
        return rc;
    rc = put ? blob_put(c, pos[1]) : blob_get(c, pos[1], output);
    client_delete(c);
    return rc;
}
