/*
 * cosm_net.c — a Cosmictron test module for cosm.http_request (the
 * node's outbound HTTP, docs/http-client.md), written from the ABI
 * document through sdk/cosmictron.h. No tables; one reducer,
 * fetch(method, url, header_name, header_value, body, cap), which sends
 * the request (one header, none when its name is empty) into an output
 * buffer of `cap` bytes and logs what came back: "rc=N", then for 0
 * "status=S", a line "h NAME: VALUE" per header and "body=..." (the first
 * 2000 bytes); for a too-small buffer (9) the length it asked for, and the
 * same request again into a buffer big enough ("again rc=N" and the
 * response as above).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cosmictron.h"

static const cosm_column_t fetch_args[] = {
    {"method", COSM_T(COSM_STRING)}, {"url", COSM_T(COSM_STRING)},
    {"header_name", COSM_T(COSM_STRING)}, {"header_value", COSM_T(COSM_STRING)},
    {"body", COSM_T(COSM_BYTES)}, {"cap", COSM_T(COSM_U32)},
};
static const cosm_reducer_t reducers[] = {{"fetch", fetch_args, 6}};
COSM_MODULE(NULL, 0, reducers, 1)

static uint8_t req[1u << 16];
static uint8_t out[3u << 20];
static char line[2100];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    __builtin_va_end(ap);
    cosm_log(COSM_INFO, line);
}

/* HttpResponse {status: u16, headers: Vec<{name, value}>, body: bytes} */
static void show(const uint8_t *p, uint32_t len)
{
    cosm_rd_t r;
    cosm_rd_init(&r, p, len);
    say("status=%u", cosm_get_u16(&r));
    uint32_t nh = cosm_get_u32(&r);
    for (uint32_t i = 0; i < nh && !r.err; i++) {
        uint32_t nl, vl;
        const uint8_t *n = cosm_get_bytes(&r, &nl);
        const uint8_t *v = cosm_get_bytes(&r, &vl);
        if (!r.err) say("h %.*s: %.*s", (int)nl, (const char *)n, (int)vl, (const char *)v);
    }
    uint32_t bl;
    const uint8_t *b = cosm_get_bytes(&r, &bl);
    if (!r.err) say("body=%.*s", (int)(bl < 2000 ? bl : 2000), (const char *)b);
    say("body_len=%u%s", bl, r.err ? " malformed" : "");
}

COSM_REDUCER(fetch)
{
    uint32_t ml, ul, hnl, hvl, bl;
    const uint8_t *m = cosm_get_bytes(args, &ml), *u = cosm_get_bytes(args, &ul);
    const uint8_t *hn = cosm_get_bytes(args, &hnl), *hv = cosm_get_bytes(args, &hvl);
    const uint8_t *body = cosm_get_bytes(args, &bl);
    uint32_t cap = cosm_get_u32(args);
    if (args->err || cap > sizeof out) return 1;
    cosm_buf_t b;
    cosm_buf_init(&b, req, sizeof req);
    cosm_put_bytes(&b, m, ml);
    cosm_put_bytes(&b, u, ul);
    cosm_put_u32(&b, hnl ? 1 : 0);
    if (hnl) {
        cosm_put_bytes(&b, hn, hnl);
        cosm_put_bytes(&b, hv, hvl);
    }
    cosm_put_bytes(&b, body, bl);
    if (b.over) return 2;
    int32_t rc = cosm_http_request(b.p, b.len, out, cap);
    say("rc=%d", rc);
    if (rc == 0) show(out, cap);
    if (rc == 9 && cap >= 4) {
        uint32_t need = (uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
                        (uint32_t)out[3] << 24;
        say("need=%u", need);
        if (need > sizeof out) return 3;
        rc = cosm_http_request(b.p, b.len, out, need);
        say("again rc=%d", rc);
        if (rc == 0) show(out, need);
    }
    return 0;
}
