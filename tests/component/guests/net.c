/*
 * net.c — the core module of the `net` test component (net.wit): outgoing
 * HTTP through wasi:http, a TCP round trip and name lookup through
 * wasi:sockets, written against the canonical ABI by hand. Each export
 * returns text saying what happened, for tests/component/net_test.py:
 *   fetch     "STATUS BODY", or "error-code N" (N: the case's index in
 *             wasi:http's error-code), or "STAGE failed"
 *   tcp-echo  "echo: BYTES", or "STAGE error N" (wasi:sockets error-code)
 *   udp-echo  "udp: BYTES", or "STAGE error N"
 *   lookup    "A B ..." (the addresses), or "error N"
 * Results that flatten to more than one value come back through a return
 * area; its layout (discriminant, then the payload at its alignment) is
 * written at each call.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IO "wasi:io/streams@0.2.3"
#define POLL "wasi:io/poll@0.2.3"
#define HT "wasi:http/types@0.2.3"
#define OH "wasi:http/outgoing-handler@0.2.3"
#define NET "wasi:sockets/network@0.2.3"
#define TCP "wasi:sockets/tcp@0.2.3"
#define LOOKUP "wasi:sockets/ip-name-lookup@0.2.3"
#define IMP(m, n) __attribute__((import_module(m), import_name(n)))

IMP(POLL, "[method]pollable.block") void pollable_block(int32_t);
IMP(POLL, "[resource-drop]pollable") void pollable_drop(int32_t);
IMP(IO, "[method]output-stream.blocking-write-and-flush")
void os_write(int32_t, const void *, size_t, uint8_t *ret);
IMP(IO, "[resource-drop]output-stream") void os_drop(int32_t);
IMP(IO, "[method]input-stream.blocking-read") void is_read(int32_t, int64_t, uint8_t *ret);
IMP(IO, "[resource-drop]input-stream") void is_drop(int32_t);

IMP(HT, "[constructor]fields") int32_t fields_new(void);
IMP(HT, "[method]fields.append")
void fields_append(int32_t, const char *, size_t, const void *, size_t, uint8_t *ret);
IMP(HT, "[constructor]outgoing-request") int32_t req_new(int32_t headers);
IMP(HT, "[method]outgoing-request.set-method")
int32_t req_set_method(int32_t, int32_t disc, const char *, size_t);
IMP(HT, "[method]outgoing-request.set-scheme")
int32_t req_set_scheme(int32_t, int32_t some, int32_t disc, const char *, size_t);
IMP(HT, "[method]outgoing-request.set-authority")
int32_t req_set_authority(int32_t, int32_t some, const char *, size_t);
IMP(HT, "[method]outgoing-request.set-path-with-query")
int32_t req_set_path(int32_t, int32_t some, const char *, size_t);
IMP(HT, "[method]outgoing-request.body") void req_body(int32_t, uint8_t *ret);
IMP(HT, "[resource-drop]outgoing-request") void req_drop(int32_t);
IMP(HT, "[method]outgoing-body.write") void body_write(int32_t, uint8_t *ret);
IMP(HT, "[static]outgoing-body.finish") void body_finish(int32_t, int32_t, int32_t, uint8_t *ret);
IMP(HT, "[constructor]request-options") int32_t opts_new(void);
IMP(HT, "[method]request-options.set-first-byte-timeout")
int32_t opts_first_byte(int32_t, int32_t some, int64_t ns);
IMP(HT, "[method]request-options.set-connect-timeout")
int32_t opts_connect(int32_t, int32_t some, int64_t ns);
IMP(OH, "handle") void handle(int32_t req, int32_t some, int32_t opts, uint8_t *ret);
IMP(HT, "[method]future-incoming-response.subscribe") int32_t fut_subscribe(int32_t);
IMP(HT, "[method]future-incoming-response.get") void fut_get(int32_t, uint8_t *ret);
IMP(HT, "[resource-drop]future-incoming-response") void fut_drop(int32_t);
IMP(HT, "[method]incoming-response.status") int32_t resp_status(int32_t);
IMP(HT, "[method]incoming-response.consume") void resp_consume(int32_t, uint8_t *ret);
IMP(HT, "[resource-drop]incoming-response") void resp_drop(int32_t);
IMP(HT, "[method]incoming-body.stream") void inbody_stream(int32_t, uint8_t *ret);
IMP(HT, "[resource-drop]incoming-body") void inbody_drop(int32_t);

IMP("wasi:sockets/instance-network@0.2.3", "instance-network") int32_t instance_network(void);
IMP(NET, "[resource-drop]network") void network_drop(int32_t);
IMP("wasi:sockets/tcp-create-socket@0.2.3", "create-tcp-socket")
void create_tcp(int32_t family, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.start-connect")
void tcp_connect(int32_t, int32_t net, int32_t disc, int32_t, int32_t, int32_t, int32_t, int32_t,
                 int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.finish-connect") void tcp_finish(int32_t, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.subscribe") int32_t tcp_subscribe(int32_t);
IMP(TCP, "[resource-drop]tcp-socket") void tcp_drop(int32_t);
#define UDP "wasi:sockets/udp@0.2.3"
IMP("wasi:sockets/udp-create-socket@0.2.3", "create-udp-socket")
void create_udp(int32_t family, uint8_t *ret);
IMP(UDP, "[method]udp-socket.start-bind")
void udp_bind(int32_t, int32_t net, int32_t disc, int32_t, int32_t, int32_t, int32_t, int32_t,
              int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, uint8_t *ret);
IMP(UDP, "[method]udp-socket.finish-bind") void udp_finish_bind(int32_t, uint8_t *ret);
IMP(UDP, "[method]udp-socket.stream")
void udp_stream(int32_t, int32_t some, int32_t disc, int32_t, int32_t, int32_t, int32_t, int32_t,
                int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, uint8_t *ret);
IMP(UDP, "[resource-drop]udp-socket") void udp_drop(int32_t);
IMP(UDP, "[method]incoming-datagram-stream.receive") void udp_receive(int32_t, int64_t, uint8_t *);
IMP(UDP, "[method]incoming-datagram-stream.subscribe") int32_t udp_in_subscribe(int32_t);
IMP(UDP, "[resource-drop]incoming-datagram-stream") void udp_in_drop(int32_t);
IMP(UDP, "[method]outgoing-datagram-stream.check-send") void udp_check_send(int32_t, uint8_t *);
IMP(UDP, "[method]outgoing-datagram-stream.send")
void udp_send(int32_t, const void *list, size_t n, uint8_t *ret);
IMP(UDP, "[method]outgoing-datagram-stream.subscribe") int32_t udp_out_subscribe(int32_t);
IMP(UDP, "[resource-drop]outgoing-datagram-stream") void udp_out_drop(int32_t);
IMP(LOOKUP, "resolve-addresses") void resolve(int32_t net, const char *, size_t, uint8_t *ret);
IMP(LOOKUP, "[method]resolve-address-stream.resolve-next-address")
void resolve_next(int32_t, uint8_t *ret);
IMP(LOOKUP, "[resource-drop]resolve-address-stream") void resolve_drop(int32_t);

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size)
{
    (void)old_size;
    (void)align;
    return realloc(old, new_size ? new_size : 1);
}

/* ---- the text answered --------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void put(buf_t *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(buf_t *b, const char *s) { put(b, s, strlen(s)); }

static void putu(buf_t *b, uint64_t v)
{
    char d[24];
    int i = 24;
    do
        d[--i] = (char)('0' + v % 10);
    while (v /= 10);
    put(b, d + i, (size_t)(24 - i));
}

static struct {
    char *ptr;
    size_t len;
} out;

static void *answer(buf_t *b)
{
    out.ptr = b->p ? b->p : malloc(1);
    out.len = b->len;
    return &out;
}

static uint32_t u32_at(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* ---- fetch ----------------------------------------------------------------------- */

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE",
                                      "CONNECT", "OPTIONS", "TRACE", "PATCH"};

__attribute__((export_name("fetch")))
void *fetch(char *m, size_t ml, char *a, size_t al, char *p, size_t pl, uint8_t *body, size_t bl,
            uint64_t timeout_ms)
{
    _Alignas(8) uint8_t ret[64];
    buf_t b = {0};
    int32_t h = fields_new();
    fields_append(h, "x-test", 6, "weft", 4, ret);
    if (ret[0]) {
        puts_(&b, "fields.append failed");
        return answer(&b);
    }
    int32_t req = req_new(h); /* the fields are the request's now */
    int32_t disc = 9;
    for (int i = 0; i < 9; i++)
        if (strlen(methods[i]) == ml && memcmp(methods[i], m, ml) == 0)
            disc = i;
    if (req_set_method(req, disc, m, ml) || req_set_scheme(req, 1, 0, "", 0) ||
        req_set_authority(req, 1, a, al) || req_set_path(req, 1, p, pl)) {
        puts_(&b, "setting the request failed");
        return answer(&b);
    }
    req_body(req, ret); /* result<own<outgoing-body>>: u8, then i32 at 4 */
    int32_t ob = (int32_t)u32_at(ret + 4);
    int32_t opts = 0;
    if (timeout_ms) {
        opts = opts_new();
        opts_first_byte(opts, 1, (int64_t)(timeout_ms * 1000000u));
        opts_connect(opts, 1, (int64_t)(timeout_ms * 1000000u));
    }
    /* result<own<future-incoming-response>, error-code>: u8, payload at 8 */
    handle(req, timeout_ms ? 1 : 0, opts, ret);
    if (ret[0]) {
        puts_(&b, "error-code ");
        putu(&b, ret[8]);
        return answer(&b);
    }
    int32_t fut = (int32_t)u32_at(ret + 8);
    /* the body, after handle: the request is sent when it is finished */
    body_write(ob, ret);
    int32_t os = (int32_t)u32_at(ret + 4);
    for (size_t off = 0; off < bl;) { /* blocking-write-and-flush takes 4096 at most */
        size_t n = bl - off > 4096 ? 4096 : bl - off;
        os_write(os, body + off, n, ret); /* result<_, stream-error>: u8, u8 at 4, i32 at 8 */
        if (ret[0]) {
            puts_(&b, "body write failed ");
            putu(&b, ret[4]);
            break;
        }
        off += n;
    }
    os_drop(os);
    body_finish(ob, 0, 0, ret); /* result<_, error-code>: u8, payload at 8 */
    if (ret[0] && !b.len) {
        puts_(&b, "finish error-code ");
        putu(&b, ret[8]);
    }
    if (b.len) {
        fut_drop(fut);
        return answer(&b);
    }
    int32_t poll = fut_subscribe(fut);
    pollable_block(poll);
    pollable_drop(poll);
    /* option<result<result<own<incoming-response>, error-code>>>:
     * [0] some, [8] outer ok, [16] inner ok, [24] the handle or the error-code's case */
    fut_get(fut, ret);
    fut_drop(fut);
    if (!ret[0] || ret[8]) {
        puts_(&b, "future.get gave no answer");
        return answer(&b);
    }
    if (ret[16]) {
        puts_(&b, "error-code ");
        putu(&b, ret[24]);
        return answer(&b);
    }
    int32_t resp = (int32_t)u32_at(ret + 24);
    putu(&b, (uint32_t)resp_status(resp));
    put(&b, " ", 1);
    resp_consume(resp, ret);
    int32_t ib = (int32_t)u32_at(ret + 4);
    inbody_stream(ib, ret);
    int32_t is = (int32_t)u32_at(ret + 4);
    for (;;) { /* result<list<u8>, stream-error>: u8, then ptr, len at 4, 8 */
        is_read(is, 65536, ret);
        if (ret[0])
            break; /* closed: the end */
        void *chunk = (void *)(uintptr_t)u32_at(ret + 4);
        put(&b, chunk, u32_at(ret + 8));
        free(chunk);
    }
    is_drop(is);
    inbody_drop(ib);
    resp_drop(resp);
    free(m);
    free(a);
    free(p);
    free(body);
    return answer(&b);
}

__attribute__((export_name("cabi_post_fetch"))) void post_fetch(void *r)
{
    (void)r;
    free(out.ptr);
}

/* ---- tcp-echo ---------------------------------------------------------------------------- */

static void *net_error(buf_t *b, const char *stage, int code)
{
    puts_(b, stage);
    puts_(b, " error ");
    putu(b, (uint32_t)code);
    return answer(b);
}

__attribute__((export_name("tcp-echo"))) void *tcp_echo(uint32_t port, char *msg, size_t len)
{
    _Alignas(8) uint8_t ret[64];
    buf_t b = {0};
    int32_t net = instance_network();
    create_tcp(0, ret); /* ipv4; result<own<tcp-socket>, error-code>: u8, payload at 4 */
    if (ret[0])
        return net_error(&b, "create", ret[4]);
    int32_t sock = (int32_t)u32_at(ret + 4);
    /* ip-socket-address ipv4 {port, (127, 0, 0, 1)}; result<_, error-code>: u8, u8 at 1 */
    tcp_connect(sock, net, 0, (int32_t)port, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, ret);
    if (ret[0])
        return net_error(&b, "start-connect", ret[1]);
    int32_t in, os;
    for (;;) { /* result<tuple<own<input-stream>, own<output-stream>>, error-code> */
        tcp_finish(sock, ret);
        if (!ret[0]) {
            in = (int32_t)u32_at(ret + 4);
            os = (int32_t)u32_at(ret + 8);
            break;
        }
        if (ret[4] != 8) /* would-block: wait on the socket's pollable */
            return net_error(&b, "finish-connect", ret[4]);
        int32_t poll = tcp_subscribe(sock);
        pollable_block(poll);
        pollable_drop(poll);
    }
    os_write(os, msg, len, ret);
    if (ret[0])
        return net_error(&b, "write", ret[4]);
    puts_(&b, "echo: ");
    size_t got = 0;
    while (got < len) {
        is_read(in, (int64_t)(len - got), ret);
        if (ret[0]) {
            puts_(&b, " (closed early)");
            break;
        }
        void *chunk = (void *)(uintptr_t)u32_at(ret + 4);
        put(&b, chunk, u32_at(ret + 8));
        got += u32_at(ret + 8);
        free(chunk);
    }
    is_drop(in);
    os_drop(os);
    tcp_drop(sock);
    network_drop(net);
    free(msg);
    return answer(&b);
}

__attribute__((export_name("cabi_post_tcp-echo"))) void post_tcp_echo(void *r)
{
    (void)r;
    free(out.ptr);
}

/* ---- udp-echo ------------------------------------------------------------------------------ */

static void wait_on(int32_t poll)
{
    pollable_block(poll);
    pollable_drop(poll);
}

__attribute__((export_name("udp-echo")))
void *udp_echo(uint32_t port, char *msg, size_t len, uint32_t connected)
{
    _Alignas(8) uint8_t ret[64];
    buf_t b = {0};
    int32_t net = instance_network();
    create_udp(0, ret); /* result<own<udp-socket>, error-code>: u8, payload at 4 */
    if (ret[0])
        return net_error(&b, "create", ret[4]);
    int32_t sock = (int32_t)u32_at(ret + 4);
    udp_bind(sock, net, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ret); /* 0.0.0.0:0 */
    if (ret[0])
        return net_error(&b, "start-bind", ret[1]);
    udp_finish_bind(sock, ret);
    if (ret[0])
        return net_error(&b, "finish-bind", ret[1]);
    /* result<tuple<own<incoming..>, own<outgoing..>>, error-code>: u8, at 4 and 8 */
    udp_stream(sock, connected ? 1 : 0, 0, (int32_t)port, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, ret);
    if (ret[0])
        return net_error(&b, "stream", ret[4]);
    int32_t in = (int32_t)u32_at(ret + 4), os = (int32_t)u32_at(ret + 8);
    /* outgoing-datagram {data: list<u8> at 0, remote-address:
     * option<ip-socket-address> at 8 (its case at 12, the record at 16)}: 44 bytes */
    _Alignas(4) uint8_t dg[44] = {0};
    uint32_t ptr = (uint32_t)(uintptr_t)msg, n = (uint32_t)len;
    memcpy(dg, &ptr, 4);
    memcpy(dg + 4, &n, 4);
    if (!connected) {
        uint16_t p16 = (uint16_t)port;
        dg[8] = 1;  /* some */
        dg[12] = 0; /* ipv4 */
        memcpy(dg + 16, &p16, 2);
        dg[18] = 127;
        dg[21] = 1;
    }
    for (;;) { /* result<u64, error-code>: u8, payload at 8 */
        udp_check_send(os, ret);
        if (ret[0])
            return net_error(&b, "check-send", ret[8]);
        if (ret[8] || ret[9])
            break;
        wait_on(udp_out_subscribe(os));
    }
    udp_send(os, dg, 1, ret);
    if (ret[0])
        return net_error(&b, "send", ret[8]);
    puts_(&b, "udp: ");
    for (;;) { /* result<list<incoming-datagram>, error-code>: u8, then ptr, len at 4, 8;
                * incoming-datagram {data at 0, remote-address at 8}: 40 bytes */
        udp_receive(in, 1, ret);
        if (ret[0])
            return net_error(&b, "receive", ret[4]);
        if (u32_at(ret + 8)) {
            uint8_t *d = (uint8_t *)(uintptr_t)u32_at(ret + 4);
            void *data = (void *)(uintptr_t)u32_at(d);
            put(&b, data, u32_at(d + 4));
            free(data);
            free(d);
            break;
        }
        wait_on(udp_in_subscribe(in));
    }
    udp_in_drop(in);
    udp_out_drop(os);
    udp_drop(sock);
    network_drop(net);
    free(msg);
    return answer(&b);
}

__attribute__((export_name("cabi_post_udp-echo"))) void post_udp_echo(void *r)
{
    (void)r;
    free(out.ptr);
}

/* ---- lookup ---------------------------------------------------------------------------------- */

__attribute__((export_name("lookup"))) void *lookup(char *name, size_t len)
{
    _Alignas(8) uint8_t ret[64];
    buf_t b = {0};
    int32_t net = instance_network();
    resolve(net, name, len, ret); /* result<own<resolve-address-stream>, error-code>: u8, at 4 */
    if (ret[0]) {
        puts_(&b, "error ");
        putu(&b, ret[4]);
        return answer(&b);
    }
    int32_t rs = (int32_t)u32_at(ret + 4);
    for (;;) {
        /* result<option<ip-address>, error-code>: u8; at 2 the option's u8 (or the
         * error); at 4 ip-address's case; its tuple at 6 (u8 x4 or u16 x8) */
        resolve_next(rs, ret);
        if (ret[0] || !ret[2])
            break;
        if (b.len)
            put(&b, " ", 1);
        if (ret[4] == 0) {
            for (int i = 0; i < 4; i++) {
                if (i)
                    put(&b, ".", 1);
                putu(&b, ret[6 + i]);
            }
        } else {
            puts_(&b, "v6");
        }
    }
    resolve_drop(rs);
    network_drop(net);
    free(name);
    return answer(&b);
}

__attribute__((export_name("cabi_post_lookup"))) void post_lookup(void *r)
{
    (void)r;
    free(out.ptr);
}
