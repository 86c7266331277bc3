/*
 * console.c — the web console (docs/console.md): GET / and GET
 * /console/{file} answer the files of src/server/console/, compiled into
 * the binary by src/server/embed.cmake, so nothing is read from disk or
 * fetched from elsewhere at run time.
 *
 * The console is a client of the public API like any other, so these
 * routes need no token: the files hold no data, only the page that asks
 * for it (and for a token when the node answers 401).
 *
 * Every answer carries a Content-Security-Policy that allows the page's
 * own files and nothing else (no inline script or style, no other origin,
 * no framing): guest data the page shows can never run as code. Caching
 * revalidates: the names do not change with the content, so each file is
 * `no-cache` with an ETag of its content's hash, and an unchanged file
 * costs a 304.
 */
#include <string.h>

#include "console.h"
#include "server_priv.h"

#define CSP                                                                                \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "            \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "         \
    "frame-ancestors 'none'"

/* The Content-Type of a file, by its extension. */
static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* Whether If-None-Match names etag (a list of tags, or "*"). */
static int etag_matches(const char *inm, const char *etag)
{
    if (!inm)
        return 0;
    if (strcmp(inm, "*") == 0)
        return 1;
    size_t n = strlen(etag);
    for (const char *p = inm; (p = strstr(p, etag)); p += n) {
        char after = p[n];
        if (after == '\0' || after == ',' || after == ' ')
            return 1;
    }
    return 0;
}

enum MHD_Result srv_console(srv_t *s, req_t *r)
{
    const char *name = r->params[0] ? r->params[0] : "index.html";
    const srv_asset_t *a = NULL;
    for (size_t i = 0; i < srv_nassets && !a; i++)
        if (strcmp(srv_assets[i].name, name) == 0)
            a = &srv_assets[i];
    if (!a)
        return srv_reply_error(r, 404, "NOT_FOUND", "the console has no file '%s'", name);
    const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_IF_NONE_MATCH);
    unsigned status = etag_matches(inm, a->etag) ? 304 : 200;
    /* The bytes are static: libmicrohttpd sends them without a copy. */
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        status == 304 ? 0 : a->size, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, a->etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "Content-Security-Policy", CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    return srv_queue(r, status, resp, status == 304 ? NULL : content_type(a->name));
}
