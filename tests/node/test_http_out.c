/*
 * test_http_out.c — the allowlist of the node's outbound HTTP service
 * (weft/http_out.h, src/node/http_out.c) without a network: the config
 * keys and their refusals, which app and URL a rule lets through (exact
 * scheme, host and port; a path prefix after dot segments are squashed;
 * app by id, name or "*"), what a request is refused for before any
 * connection (denied, credentials, a bad method or header, a body over its
 * bound, a deadline already past). Requests that reach a server are
 * e2e.calimero.fetch and e2e.cosmictron.http_request.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/test.h"
#include "weft/error.h"
#include "weft/http_out.h"

static const char *ID = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static weft_http_out_t *make(const char *json)
{
    weft_http_out_t *h = NULL;
    char msg[256];
    if (weft_http_out_new(json, &h, msg, sizeof msg) != 0) FAIL("config refused: %s", msg);
    return h;
}

static void refused(const char *json, const char *words)
{
    weft_http_out_t *h = NULL;
    char msg[256] = "";
    ASSERT_EQ_INT(weft_http_out_new(json, &h, msg, sizeof msg), WEFT_EARG);
    ASSERT_TRUE(h == NULL);
    if (!strstr(msg, words)) FAIL("'%s' refused with '%s', not naming '%s'", json, msg, words);
}

TEST(http_out_is_off_by_default)
{
    weft_http_out_t *h = make(NULL);
    ASSERT_FALSE(weft_http_out_allowed(h, ID, "app", "http://127.0.0.1/"));
    weft_http_out_delete(h);
    h = make("{\"timeout_ms\": 500}");
    ASSERT_FALSE(weft_http_out_allowed(h, ID, "app", "http://127.0.0.1/"));
    weft_http_out_delete(h);
    ASSERT_FALSE(weft_http_out_allowed(NULL, ID, "app", "http://127.0.0.1/"));
}

TEST(http_out_config_refusals_name_the_problem)
{
    refused("[", "outbound_http");
    refused("{\"allowed\": []}", "allowed");
    refused("{\"allow\": {}}", "allow");
    refused("{\"allow\": [{\"app\": \"a\"}]}", "entry 1");
    refused("{\"allow\": [{\"app\": \"\", \"urls\": []}]}", "entry 1");
    refused("{\"allow\": [{\"app\": \"a\", \"urls\": [\"ftp://h/\"]}]}", "only http and https");
    refused("{\"allow\": [{\"app\": \"a\", \"urls\": [\"file:///etc\"]}]}", "only http and https");
    refused("{\"allow\": [{\"app\": \"a\", \"urls\": [\"nothing\"]}]}", "url 1");
    refused("{\"allow\": [{\"app\": \"a\", \"urls\": [7]}]}", "not a string");
    refused("{\"allow\": [{\"app\": \"a\", \"urls\": [\"http://u:p@h/\"]}]}", "credentials");
    refused("{\"timeout_ms\": 0}", "timeout_ms");
    refused("{\"timeout_ms\": 60001}", "timeout_ms");
    refused("{\"max_response_bytes\": 0}", "max_response_bytes");
    refused("{\"max_request_bytes\": -1}", "max_request_bytes");
}

TEST(http_out_rules_match_scheme_host_port_exactly_and_a_path_prefix)
{
    weft_http_out_t *h = make("{\"allow\": [{\"app\": \"feed\", \"urls\": "
                              "[\"https://API.example.com/v1/\", \"http://127.0.0.1:8080\"]}]}");
    ASSERT_TRUE(weft_http_out_allowed(h, ID, "feed", "https://api.example.com/v1/prices?x=1"));
    ASSERT_TRUE(weft_http_out_allowed(h, ID, "feed", "https://api.example.com:443/v1/"));
    ASSERT_TRUE(weft_http_out_allowed(h, ID, "feed", "HTTPS://api.EXAMPLE.com/v1/a"));
    ASSERT_FALSE(weft_http_out_allowed(h, ID, "feed", "https://api.example.com/v2/"));
    ASSERT_FALSE(weft_http_out_allowed(h, ID, "feed", "https://api.example.com/v1"));
    /* dot segments are squashed before the prefix is compared */
    ASSERT_FALSE(weft_http_out_allowed(h, ID, "feed", "https://api.example.com/v1/../admin"));
    ASSERT_FALSE(weft_http_out_allowed(h, ID, "feed", "http://api.example.com/v1/"));
    ASSERT_FALSE(weft_http_out_allowed(h, ID, "feed", "https://api.example.com:8443/v1/"));
    ASSERT_FALSE(weft_http_out_allowed(h, ID, "feed", "https://evil.example.com/v1/"));
    ASSERT_FALSE(weft_http_out_allowed(h, ID, "feed", "https://api.example.com.evil.net/v1/"));
    ASSERT_TRUE(weft_http_out_allowed(h, ID, "feed", "http://127.0.0.1:8080/anything"));
    ASSERT_FALSE(weft_http_out_allowed(h, ID, "feed", "http://127.0.0.1/anything"));
    ASSERT_FALSE(weft_http_out_allowed(h, ID, "feed", "http://localhost:8080/"));
    ASSERT_FALSE(weft_http_out_allowed(h, ID, "feed", "http://user:pw@127.0.0.1:8080/"));
    ASSERT_FALSE(weft_http_out_allowed(h, ID, "feed", "file:///etc/passwd"));
    ASSERT_FALSE(weft_http_out_allowed(h, ID, "feed", "127.0.0.1:8080/"));
    /* another app, by name or id */
    ASSERT_FALSE(weft_http_out_allowed(h, ID, "other", "http://127.0.0.1:8080/"));
    ASSERT_FALSE(weft_http_out_allowed(h, ID, NULL, "http://127.0.0.1:8080/"));
    weft_http_out_delete(h);
}

TEST(http_out_rules_name_an_app_by_id_name_or_star)
{
    char json[300];
    snprintf(json, sizeof json,
             "{\"allow\": [{\"app\": \"%s\", \"urls\": [\"http://a.test/\"]},"
             "{\"app\": \"*\", \"urls\": [\"http://b.test/pub/\"]}]}",
             ID);
    weft_http_out_t *h = make(json);
    ASSERT_TRUE(weft_http_out_allowed(h, ID, NULL, "http://a.test/x"));
    ASSERT_FALSE(weft_http_out_allowed(h, "ff", "x", "http://a.test/x"));
    ASSERT_TRUE(weft_http_out_allowed(h, "ff", "x", "http://b.test/pub/y"));
    ASSERT_FALSE(weft_http_out_allowed(h, "ff", "x", "http://b.test/priv/y"));
    weft_http_out_delete(h);
}

static int fetch(weft_http_out_t *h, const char *method, const char *url,
                 const weft_http_header_t *hs, size_t nh, size_t body_len, uint64_t deadline,
                 char *msg, size_t msg_size)
{
    static uint8_t body[4096];
    weft_http_request_t r = {.method = method, .url = url, .headers = hs, .nheaders = nh,
                             .body = body, .body_len = body_len, .app_id = ID,
                             .app_name = "feed", .deadline_ns = deadline};
    weft_http_response_t resp;
    int rc = weft_http_out_fetch(h, &r, &resp, msg, msg_size);
    if (rc == 0) weft_http_response_free(&resp);
    return rc;
}

/* Port 9 of 127.0.0.1 is allowed but never reached: each request below
 * is refused before a connection is tried. */
TEST(http_out_refuses_bad_requests_before_connecting)
{
    weft_http_out_t *h = make("{\"allow\": [{\"app\": \"feed\", \"urls\": "
                              "[\"http://127.0.0.1:9/\"]}], \"max_request_bytes\": 100}");
    char msg[256];
    weft_http_header_t ok = {"X-A", "b"}, crlf = {"X-A", "b\r\nHost: evil"},
                       colon = {"X:A", "b"}, empty = {"", "b"}, host = {"host", "evil.test"},
                       te = {"Transfer-Encoding", "chunked"};
    ASSERT_EQ_INT(fetch(h, "GET", "http://127.0.0.1:10/", NULL, 0, 0, 0, msg, sizeof msg),
                  WEFT_ENOTFOUND);
    ASSERT_TRUE(strstr(msg, "allowlist") != NULL);
    ASSERT_EQ_INT(fetch(h, "GET", "gopher://127.0.0.1:9/", NULL, 0, 0, 0, msg, sizeof msg),
                  WEFT_ENOTFOUND);
    ASSERT_EQ_INT(fetch(NULL, "GET", "http://127.0.0.1:9/", NULL, 0, 0, 0, msg, sizeof msg),
                  WEFT_ENOTFOUND);
    ASSERT_EQ_INT(fetch(h, "GET", "not a url", NULL, 0, 0, 0, msg, sizeof msg), WEFT_EARG);
    ASSERT_EQ_INT(fetch(h, "GET /x", "http://127.0.0.1:9/", NULL, 0, 0, 0, msg, sizeof msg),
                  WEFT_EARG);
    ASSERT_EQ_INT(fetch(h, "", "http://127.0.0.1:9/", NULL, 0, 0, 0, msg, sizeof msg),
                  WEFT_EARG);
    ASSERT_EQ_INT(fetch(h, "GET", "http://127.0.0.1:9/", &crlf, 1, 0, 0, msg, sizeof msg),
                  WEFT_EARG);
    ASSERT_EQ_INT(fetch(h, "GET", "http://127.0.0.1:9/", &colon, 1, 0, 0, msg, sizeof msg),
                  WEFT_EARG);
    ASSERT_EQ_INT(fetch(h, "GET", "http://127.0.0.1:9/", &empty, 1, 0, 0, msg, sizeof msg),
                  WEFT_EARG);
    ASSERT_EQ_INT(fetch(h, "GET", "http://127.0.0.1:9/", &host, 1, 0, 0, msg, sizeof msg),
                  WEFT_EARG);
    ASSERT_EQ_INT(fetch(h, "GET", "http://127.0.0.1:9/", &te, 1, 0, 0, msg, sizeof msg),
                  WEFT_EARG);
    ASSERT_EQ_INT(fetch(h, "POST", "http://127.0.0.1:9/", &ok, 1, 101, 0, msg, sizeof msg),
                  WEFT_ELIMIT);
    ASSERT_TRUE(strstr(msg, "max_request_bytes") != NULL);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    ASSERT_EQ_INT(fetch(h, "GET", "http://127.0.0.1:9/", &ok, 1, 0, now, msg, sizeof msg),
                  WEFT_EIO);
    ASSERT_TRUE(strstr(msg, "deadline") != NULL);
    weft_http_out_delete(h);
}
