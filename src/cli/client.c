/*
 * src/cli/client.c — the HTTP side shared by the client commands (see
 * client.h): options, requests on libcurl's easy interface, error reports.
 *
 * One curl handle per command, reset between requests, so that a command
 * making several requests (state following pages, events reconnecting)
 * keeps its connection alive. Errors name what the user can do about them:
 * an unreachable node says which address was tried and whether anything
 * listens there; a refused token says where tokens come from. The token
 * never appears on the command line (where `ps` would show it): it comes
 * from a file or from $WEFT_TOKEN.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "client.h"

struct client {
    CURL *curl;
    char *node;  /* base URL without a trailing slash */
    char *token; /* NULL: none */
    const char *token_from;
    int json;
    char errbuf[CURL_ERROR_SIZE];
};

volatile sig_atomic_t client_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    client_interrupted = 1;
}

void client_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a sleep between reconnections ends at once. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void client_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (!client_interrupted && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void client_print_opts(FILE *out)
{
    fprintf(out,
            "  --node URL          the node (default: $WEFT_NODE, else %s)\n"
            "  --token-file FILE   read the bearer token from FILE (default: $WEFT_TOKEN)\n"
            "  --config FILE       the node's config file (default: $WEFT_CONFIG): its listen\n"
            "                      address, and a token of it with the scope the command needs\n"
            "  --json              print the node's answers as JSON\n"
            "  -h, --help          show this help\n",
            CLIENT_DEFAULT_NODE);
}

int client_parse_opt(client_opts_t *o, const char *cmd, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strcmp(a, "--json") == 0) {
        o->json = 1;
        return 1;
    }
    if (strcmp(a, "--node") != 0 && strcmp(a, "--token-file") != 0 && strcmp(a, "--config") != 0)
        return 0;
    if (*i + 1 >= argc) {
        cli_error("%s: %s needs a value", cmd, a);
        return -1;
    }
    const char *val = argv[++*i];
    if (strcmp(a, "--node") == 0)
        o->node = val;
    else if (strcmp(a, "--config") == 0)
        o->config = val;
    else
        o->token_file = val;
    return 1;
}

int client_parse(const char *cmd, int argc, char **argv, client_opts_t *o,
                 const client_flag_t *flags, size_t nflags, const char **pos, size_t maxpos,
                 size_t *npos, void (*usage)(FILE *))
{
    int only_args = 0;
    *npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_args && a[0] == '-' && a[1] != '\0') {
            if (strcmp(a, "--") == 0) {
                only_args = 1;
                continue;
            }
            if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                usage(stdout);
                return 1;
            }
            int r = client_parse_opt(o, cmd, argc, argv, &i);
            if (r < 0)
                goto usage;
            if (r > 0)
                continue;
            size_t k = 0;
            while (k < nflags && strcmp(a, flags[k].name) != 0)
                k++;
            if (k == nflags) {
                cli_error("%s: unknown option '%s'", cmd, a);
                goto usage;
            }
            if (flags[k].flag) {
                *flags[k].flag = 1;
                continue;
            }
            if (i + 1 >= argc) {
                cli_error("%s: %s needs a value", cmd, a);
                goto usage;
            }
            *flags[k].value = argv[++i];
            continue;
        }
        if (*npos == maxpos) {
            cli_error("%s: unexpected argument '%s'", cmd, a);
            goto usage;
        }
        pos[(*npos)++] = a;
    }
    return 0;
usage:
    cli_usage_hint(cmd);
    return -1;
}

/* Reads the token: the first line of the file, blanks around it dropped.
 * Returns a malloc'ed string, or NULL (reported). */
static char *read_token(const char *cmd, const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (cli_read_file(path, &buf, &len) != 0) {
        cli_error("%s: cannot read the token file %s: %s", cmd, path, strerror(errno));
        return NULL;
    }
    size_t start = 0, end = 0;
    while (start < len && (buf[start] == ' ' || buf[start] == '\t' || buf[start] == '\n' ||
                           buf[start] == '\r'))
        start++;
    end = start;
    while (end < len && buf[end] != '\n' && buf[end] != '\r')
        end++;
    while (end > start && (buf[end - 1] == ' ' || buf[end - 1] == '\t'))
        end--;
    if (end == start) {
        cli_error("%s: the token file %s is empty", cmd, path);
        free(buf);
        return NULL;
    }
    char *tok = strndup((const char *)buf + start, end - start);
    sodium_memzero(buf, len);
    free(buf);
    return tok;
}

/* The scope a command needs (docs/http.md): apps and contexts are admin,
 * calls and their streams call, reads read. */
static const char *scope_of(const char *cmd)
{
    if (strcmp(cmd, "deploy") == 0 || strcmp(cmd, "context") == 0)
        return "admin";
    if (strcmp(cmd, "call") == 0 || strcmp(cmd, "events") == 0 || strcmp(cmd, "logs") == 0)
        return "call";
    return "read";
}

/* From the node's config file: the address it listens on (into addr, as a
 * URL; empty when it has none) and the first token with the command's
 * scope (malloc'ed, or NULL when it has no tokens). -1 when the file cannot
 * be read or has tokens but none with that scope (reported). */
static int from_config(const char *cmd, const char *path, char *addr, size_t cap, char **token)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je), *tokens, *t;
    const char *need = scope_of(cmd), *listen;
    size_t i;
    *token = NULL;
    addr[0] = '\0';
    if (!root) {
        cli_error("%s: the config file %s: line %d: %s", cmd, path, je.line, je.text);
        return -1;
    }
    if ((listen = json_string_value(json_object_get(root, "listen"))))
        snprintf(addr, cap, "http://%s", listen);
    tokens = json_object_get(root, "tokens");
    int rc = 0;
    if (json_array_size(tokens)) {
        rc = -1;
        json_array_foreach(tokens, i, t) {
            json_t *sc, *v;
            size_t k;
            const char *tok = json_string_value(json_object_get(t, "token"));
            json_array_foreach((sc = json_object_get(t, "scopes")), k, v) {
                if (tok && json_string_value(v) && strcmp(json_string_value(v), need) == 0) {
                    *token = strdup(tok);
                    rc = *token ? 0 : -1;
                    goto done;
                }
            }
        }
        cli_error("%s: no token in %s has the '%s' scope this command needs", cmd, path, need);
    }
done:
    json_decref(root);
    return rc;
}

client_t *client_new(const client_opts_t *o, const char *cmd, int *exit_code)
{
    *exit_code = CLI_EXIT_ERROR;
    const char *node = o->node, *config = o->config;
    char config_addr[300] = "", *config_token = NULL;
    if (!config && (config = getenv("WEFT_CONFIG")) && !*config)
        config = NULL;
    if (config && from_config(cmd, config, config_addr, sizeof config_addr, &config_token) != 0)
        return NULL;
    if (!node && (node = getenv("WEFT_NODE")) && !*node)
        node = NULL;
    if (!node && config_addr[0])
        node = config_addr;
    if (!node)
        node = CLIENT_DEFAULT_NODE;
    if (strstr(node, "://") && strncmp(node, "http://", 7) != 0 &&
        strncmp(node, "https://", 8) != 0) {
        cli_error("%s: --node must be an http:// or https:// URL, not '%s'", cmd, node);
        *exit_code = CLI_EXIT_USAGE;
        free(config_token);
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || sodium_init() < 0) {
        cli_error("%s: cannot initialise libcurl", cmd);
        return NULL;
    }
    client_t *c = calloc(1, sizeof *c);
    if (!c)
        goto oom;
    /* "127.0.0.1:7373" means http://127.0.0.1:7373. */
    size_t n = strlen(node);
    while (n > 0 && node[n - 1] == '/')
        n--;
    const char *scheme = strstr(node, "://") ? "" : "http://";
    if (!(c->node = malloc(strlen(scheme) + n + 1)))
        goto oom;
    sprintf(c->node, "%s%.*s", scheme, (int)n, node);
    c->json = o->json;
    if (o->token_file) {
        if (!(c->token = read_token(cmd, o->token_file)))
            goto fail;
        c->token_from = o->token_file;
    } else {
        const char *t = getenv("WEFT_TOKEN");
        if (t && *t) {
            if (!(c->token = strdup(t)))
                goto oom;
            c->token_from = "$WEFT_TOKEN";
        } else if (config_token) {
            c->token = config_token; /* the client owns it now */
            config_token = NULL;
            c->token_from = config;
        }
    }
    if (config_token) {
        sodium_memzero(config_token, strlen(config_token));
        free(config_token);
    }
    if (!(c->curl = curl_easy_init()))
        goto oom;
    return c;
oom:
    cli_error("%s: out of memory", cmd);
fail:
    free(config_token);
    client_delete(c);
    return NULL;
}

void client_delete(client_t *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    if (c->token) {
        sodium_memzero(c->token, strlen(c->token));
        free(c->token);
    }
    free(c->node);
    free(c);
}

int client_json(const client_t *c)
{
    return c->json;
}

char *client_escape(client_t *c, const char *s, size_t len)
{
    char *e = curl_easy_escape(c->curl, s, (int)len);
    char *copy = e ? strdup(e) : NULL;
    curl_free(e);
    return copy;
}

/* ---- one request ---------------------------------------------------------- */

#define EXPECT_MIN ((size_t)64 << 10) /* bytes of body sent only after "100 Continue" */

typedef struct {
    client_t *c;
    const client_req_t *req;
    client_resp_t *resp;
    size_t cap;
    int failed; /* out of memory */
    /* upload progress */
    int tty;
    struct timespec t0, last;
    int shown;
} xfer_t;

static int buffer(xfer_t *x, const char *p, size_t n)
{
    client_resp_t *r = x->resp;
    if (r->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b) {
            x->failed = 1;
            return -1;
        }
        r->body = b;
        x->cap = cap;
    }
    memcpy(r->body + r->len, p, n);
    r->len += n;
    r->body[r->len] = '\0';
    return 0;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *user)
{
    xfer_t *x = user;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(x->c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (x->req->on_data && status >= 200 && status < 300) {
        if (x->req->on_data(x->req->user, p, n) != 0) {
            x->resp->stopped = 1;
            return 0; /* ends the transfer: CURLE_WRITE_ERROR */
        }
        return n;
    }
    return buffer(x, p, n) == 0 ? n : 0;
}

static double secs_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* Called by libcurl about once a second while idle and on every progress:
 * stops a transfer on Ctrl-C; draws the upload's progress for a deploy
 * that takes long enough (half a second) for it to matter. */
static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    xfer_t *x = user;
    (void)dltotal;
    (void)dlnow;
    if (client_interrupted) {
        x->resp->stopped = 1;
        return 1;
    }
    if (!x->tty || ultotal <= 0 || secs_since(&x->t0) < 0.5 || secs_since(&x->last) < 0.1)
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &x->last);
    fprintf(stderr, "\rweft: uploading %.1f of %.1f MiB (%d%%)%s", (double)ulnow / 1048576.0,
            (double)ultotal / 1048576.0, (int)(ulnow * 100 / ultotal),
            ulnow == ultotal ? ", the node is checking it" : "");
    x->shown = 1;
    return 0;
}

static void transport_error(client_t *c, CURLcode rc)
{
    long oserr = 0;
    curl_easy_getinfo(c->curl, CURLINFO_OS_ERRNO, &oserr);
    if (rc == CURLE_COULDNT_CONNECT && oserr == ECONNREFUSED)
        cli_error("cannot reach the node at %s: connection refused (is `weft serve` running?)",
                  c->node);
    else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
             (rc == CURLE_OPERATION_TIMEDOUT && oserr == ETIMEDOUT))
        cli_error("cannot reach the node at %s: %s", c->node,
                  c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
    else
        cli_error("lost the connection to the node at %s: %s", c->node,
                  c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
}

int client_request(client_t *c, const client_req_t *req, client_resp_t *out)
{
    memset(out, 0, sizeof *out);
    xfer_t x = {.c = c, .req = req, .resp = out};
    struct curl_slist *h = NULL;
    char *url = NULL, line[512];
    int rc = -1;
    if (!(url = malloc(strlen(c->node) + strlen(req->path) + 1)))
        goto oom;
    sprintf(url, "%s%s", c->node, req->path);
    curl_easy_reset(c->curl);
    c->errbuf[0] = '\0';
    CURL *k = c->curl;
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(k, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(k, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(k, CURLOPT_XFERINFODATA, &x);
    snprintf(line, sizeof line, "weft/%s", weft_version());
    curl_easy_setopt(k, CURLOPT_USERAGENT, line);
    if (req->on_data) {
        /* A stream: the node sends a heartbeat every 15 s, so 45 s of
         * silence means the connection is dead (e.g. a peer that vanished
         * without closing it); the caller reconnects. */
        curl_easy_setopt(k, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(k, CURLOPT_LOW_SPEED_TIME, 45L);
        curl_easy_setopt(k, CURLOPT_TCP_KEEPALIVE, 1L);
    }
    if (req->upload) {
        curl_easy_setopt(k, CURLOPT_UPLOAD, 1L); /* PUT, read with fread as it goes */
        curl_easy_setopt(k, CURLOPT_READDATA, req->upload);
        curl_easy_setopt(k, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->upload_len);
    } else if (strcmp(req->method, "GET") == 0) {
        curl_easy_setopt(k, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(k, CURLOPT_POST, 1L);
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else {
        curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, req->method);
    }
    if (c->token) {
        /* The header holds the token: built here, wiped below. */
        if (strlen(c->token) > sizeof line - 32) {
            cli_error("the token is too long");
            goto done;
        }
        snprintf(line, sizeof line, "Authorization: Bearer %s", c->token);
        struct curl_slist *n = curl_slist_append(h, line);
        sodium_memzero(line, sizeof line);
        if (!n)
            goto oom;
        h = n;
    }
    const char *names[] = {"Content-Type", "Accept", "Last-Event-ID"};
    const char *vals[] = {req->method[0] == 'P' ? (req->content_type ? req->content_type
                                                                     : "application/octet-stream")
                                                : NULL,
                          req->accept, req->last_event_id};
    for (size_t i = 0; i < 3; i++) {
        if (!vals[i])
            continue;
        snprintf(line, sizeof line, "%s: %s", names[i], vals[i]);
        struct curl_slist *n = curl_slist_append(h, line);
        if (!n)
            goto oom;
        h = n;
    }
    /* A body over EXPECT_MIN waits for the node's "100 Continue" before it
     * goes: a request the node refuses at its headers (a token without the
     * scope, a body over the limit) gets its answer before any of the body
     * is sent, rather than a "Broken pipe" when the node closes while the
     * body is still going out (libcurl's own rule asks for it only from
     * 1 MiB). A streamed upload, of any size, always waits. */
    if (req->upload || req->body_len > EXPECT_MIN) {
        struct curl_slist *n = curl_slist_append(h, "Expect: 100-continue");
        if (!n)
            goto oom;
        h = n;
    }
    for (size_t i = 0; i < req->nheaders; i++) {
        struct curl_slist *n = curl_slist_append(h, req->headers[i]);
        if (!n)
            goto oom;
        h = n;
    }
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, h);
    if (req->progress && isatty(2)) {
        x.tty = 1;
        clock_gettime(CLOCK_MONOTONIC, &x.t0);
        x.last = x.t0;
    }
    CURLcode cc = curl_easy_perform(k);
    if (x.shown)
        fputc('\n', stderr);
    if (x.failed)
        goto oom;
    curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &out->status);
    if (cc != CURLE_OK && !out->stopped) {
        transport_error(c, cc);
        goto done;
    }
    if (!out->body && buffer(&x, "", 0) != 0)
        goto oom;
    if (out->len)
        out->doc = json_loadb(out->body, out->len, 0, NULL);
    rc = 0;
    goto done;
oom:
    cli_error("out of memory");
done:
    curl_slist_free_all(h); /* curl copies nothing: the token line goes here */
    free(url);
    if (rc != 0)
        client_resp_fini(out);
    return rc;
}

void client_resp_fini(client_resp_t *r)
{
    free(r->body);
    json_decref(r->doc);
    memset(r, 0, sizeof *r);
}

const char *client_error_code(const client_resp_t *r)
{
    const char *code = json_string_value(json_object_get(json_object_get(r->doc, "error"), "code"));
    return code ? code : "";
}

int client_fail(client_t *c, const char *cmd, const client_resp_t *r)
{
    json_t *err = json_object_get(r->doc, "error");
    const char *msg = json_string_value(json_object_get(err, "message"));
    if (c->json && r->doc)
        client_print_json(r->doc);
    if (r->status == 401)
        cli_error(c->token ? "%s: the node does not accept the token from %s"
                           : "%s: the node needs a token: give --token-file FILE or set "
                             "WEFT_TOKEN%s",
                  cmd, c->token ? c->token_from : "");
    else if (r->status == 403)
        cli_error("%s: %s (token from %s)", cmd, msg ? msg : "forbidden",
                  c->token_from ? c->token_from : "nowhere");
    else if (msg)
        cli_error("%s: %s", cmd, msg);
    else
        cli_error("%s: the node at %s answered HTTP %ld%s%.200s", cmd, c->node, r->status,
                  r->len ? ": " : "", r->len ? r->body : "");
    return CLI_EXIT_ERROR;
}

int client_missing_route(client_t *c, const char *cmd, const char *ctx, const char *what,
                         const client_resp_t *r)
{
    if (r->status != 404)
        return client_fail(c, cmd, r);
    char path[1024];
    snprintf(path, sizeof path, "/v1/contexts/%s", ctx);
    client_req_t req = {.method = "GET", .path = path};
    client_resp_t ctx_resp;
    if (client_request(c, &req, &ctx_resp) != 0)
        return CLI_EXIT_ERROR;
    int rc = CLI_EXIT_ERROR;
    if (ctx_resp.status == 200)
        cli_error("%s: this node does not serve %s yet (it has no such route: an older weft)",
                  cmd, what);
    else
        rc = client_fail(c, cmd, &ctx_resp);
    client_resp_fini(&ctx_resp);
    return rc;
}

/* ---- JSON and bytes --------------------------------------------------------- */

void client_print_json(json_t *v)
{
    json_dumpf(v, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
}

uint8_t *client_bytes(json_t *obj, const char *key, size_t *len, int *is_text)
{
    json_t *v = json_object_get(obj, key);
    if (is_text)
        *is_text = json_is_string(v);
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        uint8_t *p = malloc(n + 1);
        if (p) {
            memcpy(p, json_string_value(v), n);
            p[n] = '\0';
            *len = n;
        }
        return p;
    }
    char k[128];
    snprintf(k, sizeof k, "%s_base64", key);
    const char *b64 = json_string_value(json_object_get(obj, k));
    if (!b64)
        return NULL;
    size_t cap = strlen(b64) / 4 * 3 + 3;
    uint8_t *p = malloc(cap + 1);
    if (!p || sodium_base642bin(p, cap, b64, strlen(b64), NULL, len, NULL,
                                sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(p);
        return NULL;
    }
    p[*len] = '\0';
    return p;
}

void client_print_line_bytes(FILE *out, const uint8_t *p, size_t len, int is_text)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t b = p[i];
        if (b == '\n')
            fputs("\\n", out);
        else if (b == '\t')
            fputs("\\t", out);
        else if (b == '\\')
            fputs("\\\\", out);
        else if (b < 0x20 || b == 0x7f || (b >= 0x80 && !is_text))
            fprintf(out, "\\x%02x", b);
        else
            fputc(b, out); /* printable ASCII, or UTF-8 that the node checked */
    }
}
