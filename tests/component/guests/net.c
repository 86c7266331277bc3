/*
 * net.c — the core module of the `net` test component (net.wit): outgoing
 * HTTP through wasi:http, TCP as client and server, UDP and name lookup
 * through wasi:sockets, written against the canonical ABI by hand. Each
 * export returns text saying what happened, for tests/component/net_test.py:
 *   fetch       "STATUS BODY", or "error-code N" (N: the case's index in
 *               wasi:http's error-code), or "STAGE failed"
 *   tcp-echo    "echo: BYTES", or "STAGE error N" (wasi:sockets error-code)
 *   udp-echo    "udp: BYTES", or "STAGE error N"
 *   lookup      "A B ..." (the addresses), or "error N"
 *   serve-once  "port P from A.B.C.D echoed N bytes keep-alive K", or
 *               "STAGE error N"
 *   server-errors  "WHAT=N ..." (an error-code's case, or a value)
 *   tcp-listen  "listening PORT", or "STAGE error N"
 *   use-after-drop  traps
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
IMP(POLL, "[method]pollable.ready") int32_t pollable_ready(int32_t);
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
IMP(TCP, "[method]tcp-socket.start-bind")
void tcp_bind(int32_t, int32_t net, int32_t disc, int32_t, int32_t, int32_t, int32_t, int32_t,
              int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.finish-bind") void tcp_finish_bind(int32_t, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.start-listen") void tcp_listen(int32_t, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.finish-listen") void tcp_finish_listen(int32_t, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.accept") void tcp_accept(int32_t, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.local-address") void tcp_local(int32_t, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.remote-address") void tcp_remote(int32_t, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.is-listening") int32_t tcp_is_listening(int32_t);
IMP(TCP, "[method]tcp-socket.address-family") int32_t tcp_family(int32_t);
IMP(TCP, "[method]tcp-socket.set-listen-backlog-size")
void tcp_backlog(int32_t, int64_t, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.keep-alive-enabled") void tcp_keep_alive(int32_t, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.set-keep-alive-enabled")
void tcp_set_keep_alive(int32_t, int32_t, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.keep-alive-idle-time") void tcp_keep_idle(int32_t, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.set-keep-alive-idle-time")
void tcp_set_keep_idle(int32_t, int64_t, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.receive-buffer-size") void tcp_rcvbuf(int32_t, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.set-receive-buffer-size")
void tcp_set_rcvbuf(int32_t, int64_t, uint8_t *ret);
IMP(TCP, "[method]tcp-socket.shutdown") void tcp_shutdown(int32_t, int32_t, uint8_t *ret);
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

#include "answer.h"

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

POST_RETURN("fetch", post_fetch)

/* ---- tcp-echo ---------------------------------------------------------------------------- */

static void *net_error(buf_t *b, const char *stage, int code)
{
    puts_(b, stage);
    puts_(b, " error ");
    putu(b, (uint32_t)code);
    return answer(b);
}

/* A new IPv4 socket in *sock connected to 127.0.0.1:port, its streams in
 * *in and *os: NULL, or the stage that failed with its error-code in *code */
static const char *connect_loopback(int32_t net, uint32_t port, int32_t *sock, int32_t *in,
                                    int32_t *os, int *code)
{
    _Alignas(8) uint8_t ret[64];
    create_tcp(0, ret); /* result<own<tcp-socket>, error-code>: u8, payload at 4 */
    if (ret[0])
        return *code = ret[4], "create";
    *sock = (int32_t)u32_at(ret + 4);
    /* ip-socket-address ipv4 {port, (127, 0, 0, 1)}; result<_, error-code>: u8, u8 at 1 */
    tcp_connect(*sock, net, 0, (int32_t)port, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, ret);
    if (ret[0])
        return *code = ret[1], "start-connect";
    for (;;) { /* result<tuple<own<input-stream>, own<output-stream>>, error-code> */
        tcp_finish(*sock, ret);
        if (!ret[0]) {
            *in = (int32_t)u32_at(ret + 4);
            *os = (int32_t)u32_at(ret + 8);
            return NULL;
        }
        if (ret[4] != 8) /* would-block: wait on the socket's pollable */
            return *code = ret[4], "finish-connect";
        int32_t poll = tcp_subscribe(*sock);
        pollable_block(poll);
        pollable_drop(poll);
    }
}

__attribute__((export_name("tcp-echo"))) void *tcp_echo(uint32_t port, char *msg, size_t len)
{
    _Alignas(8) uint8_t ret[64];
    buf_t b = {0};
    int32_t net = instance_network(), sock, in, os;
    int code;
    const char *stage = connect_loopback(net, port, &sock, &in, &os, &code);
    if (stage)
        return net_error(&b, stage, code);
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

POST_RETURN("tcp-echo", post_tcp_echo)

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

POST_RETURN("udp-echo", post_udp_echo)

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

POST_RETURN("lookup", post_lookup)

/* ---- the TCP server's side ------------------------------------------------------------- */

static uint64_t u64_at(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* A new IPv4 socket in *sock, start-bind and finish-bind to a.b.c.d:port,
 * then start-listen and finish-listen: NULL, or the stage that failed with
 * its error-code in *code */
static const char *new_listener(int32_t net, const uint8_t a[4], uint32_t port, int32_t *sock,
                                int *code)
{
    _Alignas(8) uint8_t ret[64];
    create_tcp(0, ret); /* result<own<tcp-socket>, error-code>: u8, payload at 4 */
    if (ret[0])
        return *code = ret[4], "create";
    *sock = (int32_t)u32_at(ret + 4);
    /* result<_, error-code>: u8, the code at 1 */
    tcp_bind(*sock, net, 0, (int32_t)port, a[0], a[1], a[2], a[3], 0, 0, 0, 0, 0, 0, ret);
    if (ret[0])
        return *code = ret[1], "start-bind";
    tcp_finish_bind(*sock, ret);
    if (ret[0])
        return *code = ret[1], "finish-bind";
    tcp_listen(*sock, ret);
    if (ret[0])
        return *code = ret[1], "start-listen";
    tcp_finish_listen(*sock, ret);
    if (ret[0])
        return *code = ret[1], "finish-listen";
    return NULL;
}

/* result<ip-socket-address, error-code>: u8; at 4 the address's case, at
 * 8 its port, at 10 an IPv4 address; the port, or -1 - the error-code */
static int32_t address_port(uint8_t *ret, uint8_t addr[4])
{
    if (ret[0])
        return -1 - ret[4];
    uint16_t port;
    memcpy(&port, ret + 8, 2);
    if (addr)
        memcpy(addr, ret + 10, 4);
    return port;
}

__attribute__((export_name("serve-once"))) void *serve_once(uint32_t report_port)
{
    _Alignas(8) uint8_t ret[64];
    static const uint8_t loopback[4] = {127, 0, 0, 1};
    buf_t b = {0};
    int code;
    int32_t net = instance_network(), lsock;
    const char *stage = new_listener(net, loopback, 0, &lsock, &code);
    if (stage)
        return net_error(&b, stage, code);
    tcp_set_keep_alive(lsock, 1, ret); /* inherited by what it accepts */
    if (ret[0])
        return net_error(&b, "set-keep-alive-enabled", ret[1]);
    tcp_backlog(lsock, 4, ret); /* a listener's: it listens again */
    if (ret[0])
        return net_error(&b, "set-listen-backlog-size", ret[1]);
    tcp_local(lsock, ret);
    int32_t port = address_port(ret, NULL);
    if (port < 0)
        return net_error(&b, "local-address", -1 - port);

    /* the port, told to the test over a connection of its own */
    int32_t rsock, rin, rout;
    if ((stage = connect_loopback(net, report_port, &rsock, &rin, &rout, &code)))
        return net_error(&b, stage, code);
    buf_t msg = {0};
    putu(&msg, (uint32_t)port);
    put(&msg, "\n", 1);
    os_write(rout, msg.p, msg.len, ret);
    free(msg.p);
    if (ret[0])
        return net_error(&b, "report write", ret[4]);

    /* a connection to accept: the listener's pollable is ready with one */
    int32_t csock, in, os;
    for (;;) { /* result<tuple<own<tcp-socket>, own<input>, own<output>>, error-code>:
                * u8, the handles at 4, 8, 12, or the code at 4 */
        tcp_accept(lsock, ret);
        if (!ret[0]) {
            csock = (int32_t)u32_at(ret + 4);
            in = (int32_t)u32_at(ret + 8);
            os = (int32_t)u32_at(ret + 12);
            break;
        }
        if (ret[4] != 8)
            return net_error(&b, "accept", ret[4]);
        wait_on(tcp_subscribe(lsock));
    }
    uint8_t peer[4];
    tcp_remote(csock, ret);
    if (address_port(ret, peer) < 0)
        return net_error(&b, "remote-address", ret[4]);
    tcp_keep_alive(csock, ret); /* result<bool, error-code>: u8, u8 at 1 */
    int keep_alive = ret[0] ? -1 : ret[1];
    uint64_t echoed = 0;
    for (;;) { /* blocking-read: result<list<u8>, stream-error> */
        is_read(in, 65536, ret);
        if (ret[0])
            break; /* closed: the peer is done */
        void *chunk = (void *)(uintptr_t)u32_at(ret + 4);
        uint32_t n = u32_at(ret + 8);
        for (uint32_t off = 0; off < n;) { /* blocking-write-and-flush takes 4096 at most */
            uint32_t k = n - off > 4096 ? 4096 : n - off;
            uint8_t wret[16];
            os_write(os, (uint8_t *)chunk + off, k, wret);
            if (wret[0])
                return net_error(&b, "echo write", wret[4]);
            off += k;
        }
        echoed += n;
        free(chunk);
    }
    is_drop(in);
    os_drop(os);
    tcp_drop(csock); /* the connection's last holder: closed */
    is_drop(rin);
    os_drop(rout);
    tcp_drop(rsock);
    tcp_drop(lsock);
    network_drop(net);
    puts_(&b, "port ");
    putu(&b, (uint32_t)port);
    puts_(&b, " from ");
    for (int i = 0; i < 4; i++) {
        if (i)
            put(&b, ".", 1);
        putu(&b, peer[i]);
    }
    puts_(&b, " echoed ");
    putu(&b, echoed);
    puts_(&b, " bytes keep-alive ");
    putu(&b, (uint32_t)keep_alive);
    return answer(&b);
}

POST_RETURN("serve-once", post_serve_once)

/* "WHAT=N " with N the result's error-code (result<_, error-code>: u8, u8
 * at 1), or "ok" */
static void said(buf_t *b, const char *what, const uint8_t *ret)
{
    puts_(b, what);
    put(b, "=", 1);
    if (ret[0])
        putu(b, ret[1]);
    else
        puts_(b, "ok");
    put(b, " ", 1);
}

/* the same with the code at 4 (a result with a 4-aligned payload) */
static void said4(buf_t *b, const char *what, const uint8_t *ret)
{
    uint8_t r[2] = {ret[0], ret[4]};
    said(b, what, r);
}

static void said_value(buf_t *b, const char *what, uint64_t v)
{
    puts_(b, what);
    put(b, "=", 1);
    putu(b, v);
    put(b, " ", 1);
}

__attribute__((export_name("server-errors"))) void *server_errors(void)
{
    _Alignas(8) uint8_t ret[64];
    buf_t b = {0};
    int32_t net = instance_network();
    create_tcp(0, ret);
    if (ret[0])
        return net_error(&b, "create", ret[4]);
    int32_t s = (int32_t)u32_at(ret + 4);
    /* unbound */
    tcp_finish_bind(s, ret);
    said(&b, "finish-bind", ret);
    tcp_listen(s, ret);
    said(&b, "listen-unbound", ret);
    tcp_finish_listen(s, ret);
    said(&b, "finish-listen", ret);
    tcp_accept(s, ret);
    said4(&b, "accept-unbound", ret);
    tcp_local(s, ret);
    said4(&b, "local-unbound", ret);
    said_value(&b, "is-listening", (uint32_t)tcp_is_listening(s));
    said_value(&b, "family", (uint32_t)tcp_family(s));
    tcp_backlog(s, 0, ret);
    said(&b, "backlog-0", ret);
    tcp_set_rcvbuf(s, 0, ret);
    said(&b, "rcvbuf-0", ret);
    tcp_set_keep_idle(s, 1, ret); /* 1 ns: rounded up, not refused */
    said(&b, "idle-1ns", ret);
    tcp_keep_idle(s, ret); /* result<duration, error-code>: u8, u64 at 8 */
    said_value(&b, "idle", ret[0] ? 0 : u64_at(ret + 8));
    tcp_bind(s, net, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, ret); /* [::1]:0 on an IPv4 socket */
    said(&b, "bind-ipv6", ret);
    tcp_bind(s, net, 0, 0, 224, 0, 0, 1, 0, 0, 0, 0, 0, 0, ret); /* multicast */
    said(&b, "bind-multicast", ret);
    tcp_bind(s, net, 0, 0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, ret);
    said(&b, "bind", ret);
    tcp_bind(s, net, 0, 0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, ret);
    said(&b, "bind-started", ret);
    tcp_local(s, ret);
    said4(&b, "local-bind-started", ret);
    tcp_finish_bind(s, ret);
    said(&b, "finish-bind", ret);
    /* bound */
    tcp_bind(s, net, 0, 0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, ret);
    said(&b, "bind-bound", ret);
    tcp_finish_bind(s, ret);
    said(&b, "finish-bind-bound", ret);
    tcp_accept(s, ret);
    said4(&b, "accept-bound", ret);
    tcp_backlog(s, 16, ret);
    said(&b, "backlog-16", ret);
    tcp_listen(s, ret);
    said(&b, "listen", ret);
    said_value(&b, "is-listening-started", (uint32_t)tcp_is_listening(s));
    tcp_finish_listen(s, ret);
    said(&b, "finish-listen", ret);
    /* listening */
    said_value(&b, "is-listening", (uint32_t)tcp_is_listening(s));
    tcp_listen(s, ret);
    said(&b, "listen-listening", ret);
    tcp_connect(s, net, 0, 9, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, ret);
    said(&b, "connect-listening", ret);
    tcp_shutdown(s, 2, ret);
    said(&b, "shutdown-listening", ret);
    tcp_accept(s, ret);
    said4(&b, "accept-none-pending", ret);
    int32_t poll = tcp_subscribe(s); /* ready only with a connection pending */
    said_value(&b, "ready-none-pending", (uint32_t)pollable_ready(poll));
    pollable_drop(poll);
    tcp_backlog(s, (int64_t)1 << 40, ret); /* clamped */
    said(&b, "backlog-huge", ret);
    tcp_local(s, ret);
    int32_t port = address_port(ret, NULL);
    /* its port for another socket */
    create_tcp(0, ret);
    int32_t s2 = (int32_t)u32_at(ret + 4);
    tcp_bind(s2, net, 0, port, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, ret);
    said(&b, "bind-in-use", ret);
    tcp_drop(s2);
    tcp_drop(s);
    network_drop(net);
    b.len--; /* the last space */
    return answer(&b);
}

POST_RETURN("server-errors", post_server_errors)

__attribute__((export_name("tcp-listen")))
void *tcp_listen_at(uint32_t a, uint32_t b_, uint32_t c, uint32_t d, uint32_t port)
{
    _Alignas(8) uint8_t ret[64];
    const uint8_t addr[4] = {(uint8_t)a, (uint8_t)b_, (uint8_t)c, (uint8_t)d};
    buf_t b = {0};
    int code;
    int32_t net = instance_network(), s;
    const char *stage = new_listener(net, addr, port, &s, &code);
    if (stage)
        return net_error(&b, stage, code);
    tcp_local(s, ret);
    puts_(&b, "listening ");
    putu(&b, (uint32_t)address_port(ret, NULL));
    tcp_drop(s);
    network_drop(net);
    return answer(&b);
}

POST_RETURN("tcp-listen", post_tcp_listen)

__attribute__((export_name("use-after-drop"))) void *use_after_drop(void)
{
    _Alignas(8) uint8_t ret[64];
    buf_t b = {0};
    create_tcp(0, ret);
    if (ret[0])
        return net_error(&b, "create", ret[4]);
    int32_t s = (int32_t)u32_at(ret + 4);
    tcp_drop(s);
    said_value(&b, "is-listening", (uint32_t)tcp_is_listening(s)); /* traps */
    return answer(&b);
}

POST_RETURN("use-after-drop", post_use_after_drop)
