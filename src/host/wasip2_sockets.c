/*
 * src/host/wasip2_sockets.c — wasi:sockets (0.2.x) for components: network,
 * instance-network, tcp-create-socket and tcp (client and server: connect,
 * bind, listen, accept, streams, shutdown, addresses, options),
 * udp-create-socket and udp (bind, connected or addressed datagram
 * streams), ip-name-lookup (docs/components.md).
 *
 * Off by default: with no rule in the config every socket creation and
 * every lookup is access-denied. An allow rule names remote addresses a
 * guest may connect or send to (an address or prefix and a port or any); a
 * connect or a datagram elsewhere is access-denied before any packet
 * leaves, and datagrams from elsewhere are not delivered. A listen rule
 * names local addresses a TCP socket may bind (and so listen on); a
 * listener accepts whoever reaches it. Sockets are non-blocking as the
 * spec says: start-connect starts, finish-connect says would-block until
 * the connection is made, accept would-block until one is pending (bind
 * and listen are done at their start-), pollables wait on the descriptor
 * (in slices that see the call's interrupt), input streams read what is
 * there and output streams take what check-write allowed. A socket and its
 * two streams share one descriptor, closed when the last of them is
 * dropped. Name lookup is the embedder's resolver (weft serve:
 * getaddrinfo), run when asked: it blocks the call for as long as the
 * resolver takes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wasip2_priv.h"

#define HOST P2_HOST
#define UNUSED P2_UNUSED

/* wasi:sockets/network error-code, by case */
enum {
    NE_UNKNOWN = 0, NE_ACCESS_DENIED, NE_NOT_SUPPORTED, NE_INVALID_ARGUMENT, NE_OUT_OF_MEMORY,
    NE_TIMEOUT, NE_CONCURRENCY_CONFLICT, NE_NOT_IN_PROGRESS, NE_WOULD_BLOCK, NE_INVALID_STATE,
    NE_NEW_SOCKET_LIMIT, NE_ADDRESS_NOT_BINDABLE, NE_ADDRESS_IN_USE, NE_REMOTE_UNREACHABLE,
    NE_CONNECTION_REFUSED, NE_CONNECTION_RESET, NE_CONNECTION_ABORTED, NE_DATAGRAM_TOO_LARGE,
    NE_NAME_UNRESOLVABLE, NE_TEMPORARY_RESOLVER_FAILURE, NE_PERMANENT_RESOLVER_FAILURE,
};

static int errno_code(int e)
{
    switch (e) {
    case ECONNREFUSED: return NE_CONNECTION_REFUSED;
    case ECONNRESET: case EPIPE: return NE_CONNECTION_RESET;
    case ECONNABORTED: return NE_CONNECTION_ABORTED;
    case ENETUNREACH: case EHOSTUNREACH: case ENETDOWN: return NE_REMOTE_UNREACHABLE;
    case ETIMEDOUT: return NE_TIMEOUT;
    case EADDRINUSE: return NE_ADDRESS_IN_USE;
    case EADDRNOTAVAIL: return NE_ADDRESS_NOT_BINDABLE;
    case EACCES: case EPERM: return NE_ACCESS_DENIED;
    case EINVAL: case EAFNOSUPPORT: return NE_INVALID_ARGUMENT;
    case ENOMEM: case ENOBUFS: return NE_OUT_OF_MEMORY;
    case EMFILE: case ENFILE: return NE_NEW_SOCKET_LIMIT;
    case EAGAIN: return NE_WOULD_BLOCK;
    default: return NE_UNKNOWN;
    }
}

/* result<T, error-code>: err(code) */
static int net_err(weft_cval_t *result, int code, char *err, size_t err_size)
{
    weft_cval_t e = p2_scalar(WEFT_CT_ENUM, 0);
    e.index = (uint32_t)code;
    return p2_case(result, WEFT_CT_RESULT, 1, &e) ? p2_oom(err, err_size) : 0;
}

/* ---- the allowlist ------------------------------------------------------------------ */

struct p2_net_rule {
    int family; /* AF_INET, AF_INET6 */
    uint8_t addr[16];
    int prefix;
    int port; /* -1: any */
};

/* A rule; a listen rule (local) may name port 0: a port the system picks. */
static int parse_rule(const char *s, int local, struct p2_net_rule *r, char *msg,
                      size_t msg_size)
{
    char host[64];
    const char *end, *colon;
    memset(r, 0, sizeof *r);
    if (s[0] == '[') {
        end = strchr(s, ']');
        if (!end || (size_t)(end - s - 1) >= sizeof host)
            goto bad;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = '\0';
        end++;
        colon = strrchr(end, ':');
        r->family = AF_INET6;
    } else {
        colon = strrchr(s, ':');
        const char *slash = strchr(s, '/');
        end = slash && colon && slash < colon ? slash : colon;
        if (!colon || (size_t)(end - s) >= sizeof host)
            goto bad;
        memcpy(host, s, (size_t)(end - s));
        host[end - s] = '\0';
        r->family = AF_INET;
    }
    if (!colon || inet_pton(r->family, host, r->addr) != 1)
        goto bad;
    int max = r->family == AF_INET ? 32 : 128;
    r->prefix = max;
    if (*end == '/') {
        char *e;
        long p = strtol(end + 1, &e, 10);
        if (e == end + 1 || e != colon || p < 0 || p > max)
            goto bad;
        r->prefix = (int)p;
    } else if (end != colon) {
        goto bad;
    }
    if (strcmp(colon + 1, "*") == 0) {
        r->port = -1;
    } else {
        char *e;
        long p = strtol(colon + 1, &e, 10);
        if (e == colon + 1 || *e || p < (local ? 0 : 1) || p > 65535)
            goto bad;
        r->port = (int)p;
    }
    return 0;
bad:
    snprintf(msg, msg_size, "sockets %s rule '%.100s' is not ADDRESS[/PREFIX]:PORT (PORT %s "
             "or *, an IPv6 address in brackets: \"127.0.0.1:%s\", \"10.0.0.0/8:*\", "
             "\"[::1]:443\")", local ? "listen" : "allow", s, local ? "0-65535" : "1-65535",
             local ? "0" : "7000");
    return -1;
}

int p2_net_rules_parse(const char *const *rules, size_t n, int local, struct p2_net_rule **out,
                       size_t *out_n, char *msg, size_t msg_size)
{
    *out = NULL;
    *out_n = 0;
    if (!n)
        return 0;
    struct p2_net_rule *v = calloc(n, sizeof *v);
    if (!v) {
        snprintf(msg, msg_size, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (!rules[i] || parse_rule(rules[i], local, &v[i], msg, msg_size) != 0) {
            free(v);
            return -1;
        }
    *out = v;
    *out_n = n;
    return 0;
}

static int rule_matches(const struct p2_net_rule *r, const struct sockaddr_storage *sa)
{
    const uint8_t *a;
    int port;
    if (sa->ss_family != r->family)
        return 0;
    if (r->family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        a = (const uint8_t *)&s4->sin_addr;
        port = ntohs(s4->sin_port);
    } else {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        a = (const uint8_t *)&s6->sin6_addr;
        port = ntohs(s6->sin6_port);
    }
    if (r->port >= 0 && r->port != port)
        return 0;
    int bits = r->prefix;
    for (int i = 0; bits > 0; i++, bits -= 8) {
        uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
        if ((a[i] & mask) != (r->addr[i] & mask))
            return 0;
    }
    return 1;
}

static int matches_any(const struct p2_net_rule *rules, size_t n,
                       const struct sockaddr_storage *sa)
{
    for (size_t i = 0; i < n; i++)
        if (rule_matches(&rules[i], sa))
            return 1;
    return 0;
}

/* a remote address the guest may reach */
static int allowed(const weft_wasip2_t *w, const struct sockaddr_storage *sa)
{
    return matches_any(w->net_rules, w->nnet_rules, sa);
}

/* ---- addresses as values ------------------------------------------------------------- */

/* ip-socket-address -> sockaddr; -1 when the value is not one */
static int to_sockaddr(const weft_cval_t *v, struct sockaddr_storage *out, socklen_t *len)
{
    memset(out, 0, sizeof *out);
    const weft_cval_t *rec = v->n ? &v->items[0] : NULL;
    if (!rec)
        return -1;
    if (v->index == 0) { /* ipv4: {port, address: tuple<u8 x4>} */
        struct sockaddr_in *s4 = (struct sockaddr_in *)out;
        const weft_cval_t *a = &rec->items[1];
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)rec->items[0].of.u);
        uint8_t *b = (uint8_t *)&s4->sin_addr;
        for (int i = 0; i < 4; i++)
            b[i] = (uint8_t)a->items[i].of.u;
        *len = sizeof *s4;
        return 0;
    }
    /* ipv6: {port, flow-info, address: tuple<u16 x8>, scope-id} */
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
    const weft_cval_t *a = &rec->items[2];
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)rec->items[0].of.u);
    s6->sin6_flowinfo = htonl((uint32_t)rec->items[1].of.u);
    for (int i = 0; i < 8; i++) {
        s6->sin6_addr.s6_addr[2 * i] = (uint8_t)(a->items[i].of.u >> 8);
        s6->sin6_addr.s6_addr[2 * i + 1] = (uint8_t)a->items[i].of.u;
    }
    s6->sin6_scope_id = (uint32_t)rec->items[3].of.u;
    *len = sizeof *s6;
    return 0;
}

/* tuple of n numbers of kind k */
static int num_tuple(weft_cval_t *out, weft_ctype_kind_t k, const uint32_t *v, size_t n)
{
    if (p2_items(out, WEFT_CT_TUPLE, n))
        return -1;
    for (size_t i = 0; i < n; i++)
        out->items[i] = p2_scalar(k, v[i]);
    return 0;
}

/* ip-address (with_port = 0) or ip-socket-address of sa */
static int from_sockaddr(const struct sockaddr_storage *sa, int with_port, weft_cval_t *out)
{
    uint32_t parts[8];
    weft_cval_t addr, rec;
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        const uint8_t *b = (const uint8_t *)&s4->sin_addr;
        for (int i = 0; i < 4; i++)
            parts[i] = b[i];
        if (num_tuple(&addr, WEFT_CT_U8, parts, 4))
            return -1;
        if (!with_port)
            return p2_case(out, WEFT_CT_VARIANT, 0, &addr);
        if (p2_items(&rec, WEFT_CT_RECORD, 2)) {
            weft_cval_free(&addr);
            return -1;
        }
        rec.items[0] = p2_scalar(WEFT_CT_U16, ntohs(s4->sin_port));
        rec.items[1] = addr;
        return p2_case(out, WEFT_CT_VARIANT, 0, &rec);
    }
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    for (int i = 0; i < 8; i++)
        parts[i] = (uint32_t)s6->sin6_addr.s6_addr[2 * i] << 8 | s6->sin6_addr.s6_addr[2 * i + 1];
    if (num_tuple(&addr, WEFT_CT_U16, parts, 8))
        return -1;
    if (!with_port)
        return p2_case(out, WEFT_CT_VARIANT, 1, &addr);
    if (p2_items(&rec, WEFT_CT_RECORD, 4)) {
        weft_cval_free(&addr);
        return -1;
    }
    rec.items[0] = p2_scalar(WEFT_CT_U16, ntohs(s6->sin6_port));
    rec.items[1] = p2_scalar(WEFT_CT_U32, ntohl(s6->sin6_flowinfo));
    rec.items[2] = addr;
    rec.items[3] = p2_scalar(WEFT_CT_U32, s6->sin6_scope_id);
    return p2_case(out, WEFT_CT_VARIANT, 1, &rec);
}

/* ---- network ----------------------------------------------------------------------------- */

static void net_free(weft_wasip2_t *w, void *obj) { (void)w; free(obj); }
static const p2_ops_t net_ops = {net_free, NULL, NULL, NULL, NULL};

HOST(instance_network, "")
{
    UNUSED;
    int *n = calloc(1, sizeof *n);
    if (!n)
        return p2_oom(err, err_size);
    return p2_own(user, P2_NETWORK, n, &net_ops, result, err, err_size);
}

HOST(network_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_NETWORK); return 0; }

/* network-error-code(borrow<error>) -> option<error-code> */
HOST(network_error_code, "b")
{
    int hc, nc;
    const char *msg;
    UNUSED;
    if (p2_error_codes(user, (uint32_t)args[0].of.u, &hc, &nc, &msg) != 0 || nc < 0)
        return p2_case(result, WEFT_CT_OPTION, 0, NULL);
    weft_cval_t e = p2_scalar(WEFT_CT_ENUM, 0);
    e.index = (uint32_t)nc;
    return p2_case(result, WEFT_CT_OPTION, 1, &e) ? p2_oom(err, err_size) : 0;
}

/* ---- tcp ------------------------------------------------------------------------------------ */

/* The states of the spec's TCP state machine (bind and listen happen at
 * their start-; the state says which finish- is due), and UDP's. */
enum {
    TCP_UNBOUND, TCP_CONNECTING, TCP_CONNECTED, TCP_CLOSED, UDP_BOUND,
    TCP_BIND_STARTED, TCP_BOUND, TCP_LISTEN_STARTED, TCP_LISTENING,
};

/* The listen backlog until set-listen-backlog-size says otherwise. */
#define TCP_BACKLOG 128

typedef struct {
    int refs; /* the socket and its streams */
    int fd, family, state;
    int connect_errno; /* UDP: -1 while a bind is to be finished */
    int backlog;
} tcp_t;

static void tcp_unref(tcp_t *t)
{
    if (t && --t->refs == 0) {
        if (t->fd >= 0)
            close(t->fd);
        free(t);
    }
}

static void tcp_free(weft_wasip2_t *w, void *obj) { (void)w; tcp_unref(obj); }

/* A pollable on descriptor fd: ready when it has `events` now, else
 * waited for by poll (wasip2.c). */
static int fd_wait(int fd, short events, p2_wait_t *out)
{
    struct pollfd p = {fd, events, 0};
    out->ready = poll(&p, 1, 0) > 0;
    out->fd = fd;
    out->events = events;
    return 0;
}

/* the socket's pollable: a connect in progress waits to be writable, a
 * listener for a connection to accept; otherwise nothing is pending */
static int tcp_wait(weft_wasip2_t *w, void *obj, int what, int work, weft_caller_t *caller,
                    p2_wait_t *out)
{
    tcp_t *t = obj;
    (void)w, (void)what, (void)work, (void)caller;
    if (t->state == TCP_CONNECTING)
        return fd_wait(t->fd, POLLOUT, out);
    if (t->state == TCP_LISTENING)
        return fd_wait(t->fd, POLLIN, out);
    out->ready = 1;
    return 0;
}

static const p2_ops_t tcp_ops = {tcp_free, tcp_wait, NULL, NULL, NULL};

/* an input stream's (TCP or datagrams) and an output stream's pollables */
static int in_wait(weft_wasip2_t *w, void *obj, int what, int work, weft_caller_t *caller,
                   p2_wait_t *out)
{
    (void)w, (void)what, (void)work, (void)caller;
    return fd_wait(((tcp_t *)obj)->fd, POLLIN, out);
}

static int out_wait(weft_wasip2_t *w, void *obj, int what, int work, weft_caller_t *caller,
                    p2_wait_t *out)
{
    (void)w, (void)what, (void)work, (void)caller;
    return fd_wait(((tcp_t *)obj)->fd, POLLOUT, out);
}

/* A failure's error resource codes: the socket error-code for errno e. */
static int stream_fail(weft_wasip2_t *w, int e, const char *what, char *why, size_t size)
{
    snprintf(why, size, "%s: %s", what, strerror(e));
    w->fail_net = errno_code(e);
    return P2_FAILED;
}

static int tcp_read(weft_wasip2_t *w, void *obj, weft_caller_t *caller, uint64_t max,
                    int blocking, weft_cval_t *bytes, char *why, size_t why_size)
{
    tcp_t *t = obj;
    size_t want = max > (1u << 20) ? (1u << 20) : (size_t)max;
    if (p2_bytes(bytes, WEFT_CT_LIST, "", 0) || !(bytes->str = realloc(bytes->str, want + 1)))
        return -1;
    if (want == 0)
        return P2_OK;
    for (;;) {
        ssize_t k = recv(t->fd, bytes->str, want, MSG_DONTWAIT);
        if (k > 0) {
            bytes->len = (size_t)k;
            return P2_OK;
        }
        if (k == 0)
            return P2_CLOSED;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return stream_fail(w, errno, "receive", why, why_size);
        if (!blocking)
            return P2_OK; /* nothing there yet */
        int rc = p2_wait_fd(caller, t->fd, POLLIN, 0);
        if (rc)
            return rc; /* WEFT_ETRAP: the call ends */
    }
}

/* What check-write permits when the socket can take bytes. */
#define TCP_WRITE_BUDGET (64u << 10)

static int tcp_check_write(weft_wasip2_t *w, void *obj, uint64_t *out, char *why, size_t size)
{
    tcp_t *t = obj;
    struct pollfd p = {t->fd, POLLOUT, 0};
    int n = poll(&p, 1, 0);
    if (n > 0 && (p.revents & (POLLERR | POLLHUP))) {
        int e = 0;
        socklen_t el = sizeof e;
        getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &e, &el);
        if (p.revents & POLLHUP && !e)
            return P2_CLOSED;
        return stream_fail(w, e ? e : EPIPE, "send", why, size);
    }
    *out = n > 0 ? TCP_WRITE_BUDGET : 0;
    return P2_OK;
}

static int tcp_write(weft_wasip2_t *w, void *obj, weft_caller_t *caller, const uint8_t *p,
                     size_t n, int blocking, char *why, size_t why_size)
{
    tcp_t *t = obj;
    (void)blocking; /* a write is taken whole: the socket's buffer, waited for when full */
    while (n) {
        ssize_t k = send(t->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return stream_fail(w, errno, "send", why, why_size);
        int rc = p2_wait_fd(caller, t->fd, POLLOUT, 0);
        if (rc)
            return rc;
    }
    return P2_OK;
}

static const p2_ops_t tcp_in_ops = {tcp_free, in_wait, tcp_read, NULL, NULL};
static const p2_ops_t tcp_out_ops = {tcp_free, out_wait, NULL, tcp_check_write, tcp_write};

/* The handle of a new socket object over descriptor fd (closed on
 * failure): 0, or -1 (out of memory, too many resources). */
static int socket_handle(weft_wasip2_t *w, int fd, int family, int state, p2_kind_t kind,
                         const p2_ops_t *ops, uint32_t *out)
{
    tcp_t *t = calloc(1, sizeof *t);
    if (!t) {
        close(fd);
        return -1;
    }
    *t = (tcp_t){1, fd, family, state, 0, TCP_BACKLOG};
    return p2_new(w, kind, t, ops, out);
}

/* A new socket of `type` (SOCK_STREAM, SOCK_DGRAM) for create-*-socket:
 * access-denied to an app with no sockets rule at all. IPv6 sockets are
 * IPv6 only (an IPv4-mapped address is not one the spec takes). */
static int new_socket(weft_wasip2_t *w, const weft_cval_t *args, int type, p2_kind_t kind,
                      const p2_ops_t *ops, weft_cval_t *result, char *err, size_t err_size)
{
    if (!w->nnet_rules && !w->nlisten_rules)
        return net_err(result, NE_ACCESS_DENIED, err, err_size);
    int family = args[0].index == 0 ? AF_INET : AF_INET6;
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return net_err(result, errno_code(errno), err, err_size);
    int one = 1;
    if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) {
        int code = errno_code(errno);
        close(fd);
        return net_err(result, code, err, err_size);
    }
    uint32_t h;
    if (socket_handle(w, fd, family, TCP_UNBOUND, kind, ops, &h) != 0)
        return net_err(result, NE_NEW_SOCKET_LIMIT, err, err_size);
    weft_cval_t v = p2_scalar(WEFT_CT_OWN, h);
    return p2_ok(result, &v, err, err_size);
}

/* Two streams of socket t, each holding a reference: 0, or -1 when the
 * table is full (neither made). */
static int new_streams(weft_wasip2_t *w, tcp_t *t, p2_kind_t kin, const p2_ops_t *in_ops,
                       p2_kind_t kout, const p2_ops_t *out_ops, uint32_t *hin, uint32_t *hout)
{
    t->refs += 2;
    if (p2_new(w, kin, t, in_ops, hin) != 0) {
        tcp_unref(t); /* the output stream's reference */
        return -1;
    }
    if (p2_new(w, kout, t, out_ops, hout) != 0) {
        p2_drop(w, *hin, kin);
        return -1;
    }
    return 0;
}

/* ok((input, output)): two streams of socket t */
static int stream_pair(weft_wasip2_t *w, tcp_t *t, p2_kind_t kin, const p2_ops_t *in_ops,
                       p2_kind_t kout, const p2_ops_t *out_ops, weft_cval_t *result, char *err,
                       size_t err_size)
{
    uint32_t hin, hout;
    if (new_streams(w, t, kin, in_ops, kout, out_ops, &hin, &hout) != 0)
        return net_err(result, NE_NEW_SOCKET_LIMIT, err, err_size);
    weft_cval_t pair;
    if (p2_items(&pair, WEFT_CT_TUPLE, 2))
        return p2_oom(err, err_size);
    pair.items[0] = p2_scalar(WEFT_CT_OWN, hin);
    pair.items[1] = p2_scalar(WEFT_CT_OWN, hout);
    return p2_ok(result, &pair, err, err_size);
}

HOST(create_tcp_socket, "n")
{
    UNUSED;
    return new_socket(user, args, SOCK_STREAM, P2_TCP, &tcp_ops, result, err, err_size);
}

/* Whether an operation of TCP socket t is started and not finished. */
static int in_progress(const tcp_t *t)
{
    return t->state == TCP_BIND_STARTED || t->state == TCP_LISTEN_STARTED ||
           t->state == TCP_CONNECTING;
}

static uint16_t port_of(const struct sockaddr_storage *sa)
{
    return ntohs(sa->ss_family == AF_INET ? ((const struct sockaddr_in *)sa)->sin_port
                                          : ((const struct sockaddr_in6 *)sa)->sin6_port);
}

/* Not multicast (nor broadcast), nor an IPv4-mapped IPv6 address: what
 * the spec's bind and connect take. */
static int unicast(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
        return !IN_MULTICAST(a) && a != INADDR_BROADCAST;
    }
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    return !IN6_IS_ADDR_MULTICAST(a) && !IN6_IS_ADDR_V4MAPPED(a);
}

/* 0.0.0.0 or :: (where a connect cannot go) */
static int unspecified(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

/* A TCP socket (a function of tcp-socket only). */
static tcp_t *tcp_need(weft_wasip2_t *w, const weft_cval_t *self, char *err, size_t size)
{
    return p2_need(w, self, P2_TCP, "tcp-socket", err, size);
}

/* A TCP or UDP socket (one struct: addresses and options are the same). */
static tcp_t *tcp_of(weft_wasip2_t *w, const weft_cval_t *self, char *err, size_t size)
{
    p2_slot_t *s = p2_slot(w, (uint32_t)self->of.u);
    if (!s || (s->kind != P2_TCP && s->kind != P2_UDP)) {
        snprintf(err, size, "socket: %llu is not a live handle", (unsigned long long)self->of.u);
        return NULL;
    }
    return s->obj;
}

/* What start-bind and start-connect (`what`) check first: the socket (NULL
 * with err written: a dead handle traps), in a state `what` starts from
 * (unbound; connect also bound), and the address in *sa, a unicast one of
 * its family; else *code is the error-code to answer (-1: none). */
static tcp_t *start_checks(weft_wasip2_t *w, const weft_cval_t *args, const char *what,
                           struct sockaddr_storage *sa, socklen_t *len, int *code, char *err,
                           size_t err_size)
{
    int is_connect = strcmp(what, "start-connect") == 0;
    tcp_t *t = tcp_need(w, &args[0], err, err_size);
    if (!t)
        return NULL;
    if (!p2_get(w, (uint32_t)args[1].of.u, P2_NETWORK)) {
        snprintf(err, err_size, "%s: not a live network handle", what);
        return NULL;
    }
    *code = -1;
    if (in_progress(t))
        *code = NE_CONCURRENCY_CONFLICT;
    else if (t->state != TCP_UNBOUND && !(is_connect && t->state == TCP_BOUND))
        *code = NE_INVALID_STATE;
    else if (to_sockaddr(&args[2], sa, len) != 0 || sa->ss_family != t->family ||
             !unicast(sa) || (is_connect && (port_of(sa) == 0 || unspecified(sa))))
        *code = NE_INVALID_ARGUMENT;
    return t;
}

HOST(tcp_start_connect, "bb<{n(nnnn)}{nn(nnnnnnnn)n}>")
{
    weft_wasip2_t *w = user;
    UNUSED;
    struct sockaddr_storage sa;
    socklen_t len;
    int code;
    tcp_t *t = start_checks(w, args, "start-connect", &sa, &len, &code, err, err_size);
    if (!t)
        return -1;
    if (code >= 0)
        return net_err(result, code, err, err_size);
    if (!allowed(w, &sa))
        return net_err(result, NE_ACCESS_DENIED, err, err_size);
    if (connect(t->fd, (struct sockaddr *)&sa, len) != 0 && errno != EINPROGRESS) {
        int code = errno_code(errno);
        return net_err(result, code == NE_WOULD_BLOCK ? NE_UNKNOWN : code, err, err_size);
    }
    t->state = TCP_CONNECTING;
    return p2_ok(result, NULL, err, err_size);
}

HOST(tcp_finish_connect, "b")
{
    weft_wasip2_t *w = user;
    UNUSED;
    tcp_t *t = tcp_need(w, &args[0], err, err_size);
    if (!t)
        return -1;
    if (t->state != TCP_CONNECTING)
        return net_err(result, NE_NOT_IN_PROGRESS, err, err_size);
    struct pollfd p = {t->fd, POLLOUT, 0};
    if (poll(&p, 1, 0) <= 0)
        return net_err(result, NE_WOULD_BLOCK, err, err_size);
    int e = 0;
    socklen_t el = sizeof e;
    if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
        e = errno;
    if (e) {
        t->state = TCP_CLOSED;
        return net_err(result, errno_code(e), err, err_size);
    }
    t->state = TCP_CONNECTED;
    return stream_pair(w, t, P2_INPUT, &tcp_in_ops, P2_OUTPUT, &tcp_out_ops, result, err,
                       err_size);
}

/* ---- tcp: the server's side ------------------------------------------------------------- */

/* start-bind: to a local address a listen rule names (port 0: one the
 * system picks), else access-denied; bound at once, finish-bind says so.
 * SO_REUSEADDR as the spec asks, so a port in TIME_WAIT binds again (a
 * port some socket listens on is still address-in-use). */
HOST(tcp_start_bind, "bb<{n(nnnn)}{nn(nnnnnnnn)n}>")
{
    weft_wasip2_t *w = user;
    UNUSED;
    struct sockaddr_storage sa;
    socklen_t len;
    int code;
    tcp_t *t = start_checks(w, args, "start-bind", &sa, &len, &code, err, err_size);
    if (!t)
        return -1;
    if (code >= 0)
        return net_err(result, code, err, err_size);
    if (!matches_any(w->listen_rules, w->nlisten_rules, &sa))
        return net_err(result, NE_ACCESS_DENIED, err, err_size);
    int one = 1;
    if (port_of(&sa) && setsockopt(t->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        return net_err(result, errno_code(errno), err, err_size);
    if (bind(t->fd, (struct sockaddr *)&sa, len) != 0)
        return net_err(result, errno_code(errno), err, err_size);
    t->state = TCP_BIND_STARTED;
    return p2_ok(result, NULL, err, err_size);
}

/* finish-bind and finish-listen: the operation started is done */
static int tcp_finish(weft_wasip2_t *w, const weft_cval_t *args, int started, int done,
                      weft_cval_t *result, char *err, size_t err_size)
{
    tcp_t *t = tcp_need(w, &args[0], err, err_size);
    if (!t)
        return -1;
    if (t->state != started)
        return net_err(result, NE_NOT_IN_PROGRESS, err, err_size);
    t->state = done;
    return p2_ok(result, NULL, err, err_size);
}

HOST(tcp_finish_bind, "b")
{
    UNUSED;
    return tcp_finish(user, args, TCP_BIND_STARTED, TCP_BOUND, result, err, err_size);
}

/* start-listen: only on a socket bound explicitly (invalid-state
 * otherwise, as the spec says: no implicit bind) */
HOST(tcp_start_listen, "b")
{
    UNUSED;
    tcp_t *t = tcp_need(user, &args[0], err, err_size);
    if (!t)
        return -1;
    if (in_progress(t))
        return net_err(result, NE_CONCURRENCY_CONFLICT, err, err_size);
    if (t->state != TCP_BOUND)
        return net_err(result, NE_INVALID_STATE, err, err_size);
    if (listen(t->fd, t->backlog) != 0)
        return net_err(result, errno_code(errno), err, err_size);
    t->state = TCP_LISTEN_STARTED;
    return p2_ok(result, NULL, err, err_size);
}

HOST(tcp_finish_listen, "b")
{
    UNUSED;
    return tcp_finish(user, args, TCP_LISTEN_STARTED, TCP_LISTENING, result, err, err_size);
}

/* accept: ok((socket, input, output)) of a pending connection, connected
 * and bound, its options inherited from the listener (Linux does); any
 * peer that reaches the listener is taken (the listen rule is the
 * permission). would-block when none is pending (subscribe waits). */
HOST(tcp_accept, "b")
{
    weft_wasip2_t *w = user;
    UNUSED;
    tcp_t *t = tcp_need(w, &args[0], err, err_size);
    if (!t)
        return -1;
    if (t->state != TCP_LISTENING)
        return net_err(result, NE_INVALID_STATE, err, err_size);
    int fd;
    do
        fd = accept4(t->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int code = errno_code(errno);
        /* Linux passes a pending connection's network errors on: that one
         * is gone, the listener is fine */
        if (errno == EPROTO || errno == ENETDOWN || errno == ENOPROTOOPT || errno == EHOSTDOWN ||
            errno == ENONET || errno == EHOSTUNREACH || errno == ENETUNREACH)
            code = NE_CONNECTION_ABORTED;
        return net_err(result, code, err, err_size);
    }
    uint32_t hs, hin, hout;
    if (socket_handle(w, fd, t->family, TCP_CONNECTED, P2_TCP, &tcp_ops, &hs) != 0)
        return net_err(result, NE_NEW_SOCKET_LIMIT, err, err_size);
    if (new_streams(w, p2_get(w, hs, P2_TCP), P2_INPUT, &tcp_in_ops, P2_OUTPUT, &tcp_out_ops,
                    &hin, &hout) != 0) {
        p2_drop(w, hs, P2_TCP);
        return net_err(result, NE_NEW_SOCKET_LIMIT, err, err_size);
    }
    weft_cval_t three;
    if (p2_items(&three, WEFT_CT_TUPLE, 3))
        return p2_oom(err, err_size);
    three.items[0] = p2_scalar(WEFT_CT_OWN, hs);
    three.items[1] = p2_scalar(WEFT_CT_OWN, hin);
    three.items[2] = p2_scalar(WEFT_CT_OWN, hout);
    return p2_ok(result, &three, err, err_size);
}

/* set-listen-backlog-size: 0 is invalid-argument, the rest clamped; a
 * listener's queue changes at once (listen again), a connection has none */
HOST(tcp_set_backlog, "bn")
{
    UNUSED;
    tcp_t *t = tcp_need(user, &args[0], err, err_size);
    if (!t)
        return -1;
    if (args[1].of.u == 0)
        return net_err(result, NE_INVALID_ARGUMENT, err, err_size);
    if (t->state == TCP_CONNECTING || t->state == TCP_CONNECTED || t->state == TCP_CLOSED)
        return net_err(result, NE_INVALID_STATE, err, err_size);
    t->backlog = args[1].of.u > INT_MAX ? INT_MAX : (int)args[1].of.u;
    if ((t->state == TCP_LISTEN_STARTED || t->state == TCP_LISTENING) &&
        listen(t->fd, t->backlog) != 0)
        return net_err(result, errno_code(errno), err, err_size);
    return p2_ok(result, NULL, err, err_size);
}

static int tcp_address(weft_wasip2_t *w, const weft_cval_t *args, int peer, weft_cval_t *result,
                       char *err, size_t err_size)
{
    tcp_t *t = tcp_of(w, &args[0], err, err_size);
    if (!t)
        return -1;
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    if (t->state == TCP_UNBOUND || t->state == TCP_BIND_STARTED || t->state == TCP_CLOSED ||
        (peer && t->state != TCP_CONNECTED) ||
        (peer ? getpeername(t->fd, (struct sockaddr *)&sa, &len)
              : getsockname(t->fd, (struct sockaddr *)&sa, &len)) != 0)
        return net_err(result, NE_INVALID_STATE, err, err_size);
    weft_cval_t v;
    if (from_sockaddr(&sa, 1, &v))
        return p2_oom(err, err_size);
    return p2_ok(result, &v, err, err_size);
}

HOST(tcp_local_address, "b") { UNUSED; return tcp_address(user, args, 0, result, err, err_size); }
HOST(tcp_remote_address, "b") { UNUSED; return tcp_address(user, args, 1, result, err, err_size); }

HOST(tcp_is_listening, "b")
{
    UNUSED;
    tcp_t *t = tcp_need(user, &args[0], err, err_size);
    if (!t)
        return -1;
    *result = p2_scalar(WEFT_CT_BOOL, t->state == TCP_LISTENING);
    return 0;
}

HOST(tcp_address_family, "b")
{
    UNUSED;
    tcp_t *t = tcp_of(user, &args[0], err, err_size);
    if (!t)
        return -1;
    *result = p2_scalar(WEFT_CT_ENUM, 0);
    result->index = t->family == AF_INET ? 0 : 1;
    return 0;
}

/* Socket options, each a (level, name) read and written as an int;
 * durations are in ns in WASI and in seconds here. The spec takes any
 * value but 0 (invalid-argument) and lets the host round and clamp: a
 * value is rounded up to the OS unit and clamped to the largest Linux
 * takes (tcp(7), ip(7); a buffer size the kernel clamps itself). */
typedef struct {
    const char *get, *set;
    int level, name;
    uint64_t scale; /* WASI units per OS unit */
    weft_ctype_kind_t kind;
    int max; /* in OS units */
} sockopt_t;

#define NS 1000000000u
static const sockopt_t sockopts[] = {
    {"keep-alive-enabled", "set-keep-alive-enabled", SOL_SOCKET, SO_KEEPALIVE, 1, WEFT_CT_BOOL,
     1},
    {"keep-alive-idle-time", "set-keep-alive-idle-time", IPPROTO_TCP, TCP_KEEPIDLE, NS,
     WEFT_CT_U64, 32767},
    {"keep-alive-interval", "set-keep-alive-interval", IPPROTO_TCP, TCP_KEEPINTVL, NS,
     WEFT_CT_U64, 32767},
    {"keep-alive-count", "set-keep-alive-count", IPPROTO_TCP, TCP_KEEPCNT, 1, WEFT_CT_U32, 127},
    {"hop-limit", "set-hop-limit", IPPROTO_IP, IP_TTL, 1, WEFT_CT_U8, 255},
    {"receive-buffer-size", "set-receive-buffer-size", SOL_SOCKET, SO_RCVBUF, 1, WEFT_CT_U64,
     INT_MAX / 2},
    {"send-buffer-size", "set-send-buffer-size", SOL_SOCKET, SO_SNDBUF, 1, WEFT_CT_U64,
     INT_MAX / 2},
    {"unicast-hop-limit", "set-unicast-hop-limit", IPPROTO_IP, IP_TTL, 1, WEFT_CT_U8, 255},
};

/* Which option a function is: by the name after "[method]tcp-socket." */
static const sockopt_t *opt_for(weft_wasip2_t *w, const weft_cval_t *args, int set, tcp_t **t,
                                const char *name, char *err, size_t err_size)
{
    if (!(*t = tcp_of(w, &args[0], err, err_size)))
        return NULL;
    for (size_t i = 0; i < sizeof sockopts / sizeof sockopts[0]; i++)
        if (strcmp(set ? sockopts[i].set : sockopts[i].get, name) == 0)
            return &sockopts[i];
    snprintf(err, err_size, "tcp-socket: no option %s", name);
    return NULL;
}

static int opt_get(weft_wasip2_t *w, const weft_cval_t *args, const char *name,
                   weft_cval_t *result, char *err, size_t err_size)
{
    tcp_t *t;
    const sockopt_t *o = opt_for(w, args, 0, &t, name, err, err_size);
    if (!o)
        return -1;
    int v = 0;
    socklen_t len = sizeof v;
    int level = o->level == IPPROTO_IP && t->family == AF_INET6 ? IPPROTO_IPV6 : o->level;
    int opt = o->level == IPPROTO_IP && t->family == AF_INET6 ? IPV6_UNICAST_HOPS : o->name;
    if (getsockopt(t->fd, level, opt, &v, &len) != 0)
        return net_err(result, errno_code(errno), err, err_size);
    weft_cval_t x = p2_scalar(o->kind, (uint64_t)(v < 0 ? 0 : v) * o->scale);
    return p2_ok(result, &x, err, err_size);
}

static int opt_set(weft_wasip2_t *w, const weft_cval_t *args, const char *name,
                   weft_cval_t *result, char *err, size_t err_size)
{
    tcp_t *t;
    const sockopt_t *o = opt_for(w, args, 1, &t, name, err, err_size);
    if (!o)
        return -1;
    uint64_t x = args[1].of.u / o->scale + (args[1].of.u % o->scale != 0);
    if (o->kind != WEFT_CT_BOOL && x == 0)
        return net_err(result, NE_INVALID_ARGUMENT, err, err_size);
    int v = x > (uint64_t)o->max ? o->max : (int)x;
    int level = o->level == IPPROTO_IP && t->family == AF_INET6 ? IPPROTO_IPV6 : o->level;
    int opt = o->level == IPPROTO_IP && t->family == AF_INET6 ? IPV6_UNICAST_HOPS : o->name;
    if (setsockopt(t->fd, level, opt, &v, sizeof v) != 0)
        return net_err(result, errno_code(errno), err, err_size);
    return p2_ok(result, NULL, err, err_size);
}

#define OPT(fn, name)                                                                    \
    HOST(get_##fn, "b") { UNUSED; return opt_get(user, args, name, result, err, err_size); }   \
    HOST(set_##fn, "bn") { UNUSED; return opt_set(user, args, "set-" name, result, err, err_size); }
OPT(keep_alive, "keep-alive-enabled")
OPT(keep_idle, "keep-alive-idle-time")
OPT(keep_interval, "keep-alive-interval")
OPT(keep_count, "keep-alive-count")
OPT(hop_limit, "hop-limit")
OPT(rcvbuf, "receive-buffer-size")
OPT(sndbuf, "send-buffer-size")
OPT(unicast_hop_limit, "unicast-hop-limit")

HOST(tcp_subscribe, "b")
{
    UNUSED;
    if (!tcp_need(user, &args[0], err, err_size))
        return -1;
    return p2_subscribe(user, (uint32_t)args[0].of.u, 0, result, err, err_size);
}

HOST(tcp_shutdown, "bn")
{
    UNUSED;
    tcp_t *t = tcp_need(user, &args[0], err, err_size);
    if (!t)
        return -1;
    if (t->state != TCP_CONNECTED)
        return net_err(result, NE_INVALID_STATE, err, err_size);
    static const int how[] = {SHUT_RD, SHUT_WR, SHUT_RDWR};
    if (shutdown(t->fd, how[args[1].index < 3 ? args[1].index : 2]) != 0 && errno != ENOTCONN)
        return net_err(result, errno_code(errno), err, err_size);
    return p2_ok(result, NULL, err, err_size);
}

HOST(tcp_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_TCP); return 0; }

/* ---- udp ------------------------------------------------------------------------------------ */

static const p2_ops_t udp_ops = {tcp_free, NULL, NULL, NULL, NULL};

HOST(create_udp_socket, "n")
{
    UNUSED;
    return new_socket(user, args, SOCK_DGRAM, P2_UDP, &udp_ops, result, err, err_size);
}

static tcp_t *udp_of(weft_wasip2_t *w, const weft_cval_t *self, char *err, size_t size)
{
    return p2_need(w, self, P2_UDP, "udp-socket", err, size);
}

/* start-bind: a local address (port 0: any), which reaches nobody */
HOST(udp_start_bind, "bb<{n(nnnn)}{nn(nnnnnnnn)n}>")
{
    weft_wasip2_t *w = user;
    UNUSED;
    tcp_t *t = udp_of(w, &args[0], err, err_size);
    if (!t)
        return -1;
    struct sockaddr_storage sa;
    socklen_t len;
    if (t->state != TCP_UNBOUND)
        return net_err(result, NE_INVALID_STATE, err, err_size);
    if (to_sockaddr(&args[2], &sa, &len) != 0 || sa.ss_family != t->family)
        return net_err(result, NE_INVALID_ARGUMENT, err, err_size);
    if (bind(t->fd, (struct sockaddr *)&sa, len) != 0)
        return net_err(result, errno == EADDRNOTAVAIL ? NE_ADDRESS_NOT_BINDABLE
                                                      : errno_code(errno), err, err_size);
    t->state = UDP_BOUND;
    t->connect_errno = -1; /* a bind to finish */
    return p2_ok(result, NULL, err, err_size);
}

HOST(udp_finish_bind, "b")
{
    UNUSED;
    tcp_t *t = udp_of(user, &args[0], err, err_size);
    if (!t)
        return -1;
    if (t->connect_errno != -1)
        return net_err(result, NE_NOT_IN_PROGRESS, err, err_size);
    t->connect_errno = 0;
    return p2_ok(result, NULL, err, err_size);
}

/* The datagram streams hold the socket (a reference each). */
static const p2_ops_t dgram_in_ops = {tcp_free, in_wait, NULL, NULL, NULL};
static const p2_ops_t dgram_out_ops = {tcp_free, out_wait, NULL, NULL, NULL};

/* stream(remote): the socket's datagram streams; with a remote address
 * (which must be allowed) the socket is connected to it, without one it
 * sends to any allowed address and receives from allowed ones only */
HOST(udp_stream, "b?<{n(nnnn)}{nn(nnnnnnnn)n}>")
{
    weft_wasip2_t *w = user;
    UNUSED;
    tcp_t *t = udp_of(w, &args[0], err, err_size);
    if (!t)
        return -1;
    if (t->state == TCP_UNBOUND || t->connect_errno == -1)
        return net_err(result, NE_INVALID_STATE, err, err_size);
    if (args[1].index) {
        struct sockaddr_storage sa;
        socklen_t len;
        if (to_sockaddr(&args[1].items[0], &sa, &len) != 0 || sa.ss_family != t->family)
            return net_err(result, NE_INVALID_ARGUMENT, err, err_size);
        if (!allowed(w, &sa))
            return net_err(result, NE_ACCESS_DENIED, err, err_size);
        if (connect(t->fd, (struct sockaddr *)&sa, len) != 0)
            return net_err(result, errno_code(errno), err, err_size);
        t->state = TCP_CONNECTED;
    } else if (t->state == TCP_CONNECTED) {
        struct sockaddr un = {.sa_family = AF_UNSPEC};
        connect(t->fd, &un, sizeof un);
        t->state = UDP_BOUND;
    }
    return stream_pair(w, t, P2_UDP_IN, &dgram_in_ops, P2_UDP_OUT, &dgram_out_ops, result, err,
                       err_size);
}

/* Datagrams one receive or send handles at most, and their largest size. */
#define DGRAM_BATCH 64
#define DGRAM_MAX 65535

HOST(udp_receive, "bn")
{
    weft_wasip2_t *w = user;
    UNUSED;
    tcp_t *t = p2_need(w, &args[0], P2_UDP_IN, "incoming-datagram-stream", err, err_size);
    if (!t)
        return -1;
    uint64_t max = args[1].of.u < DGRAM_BATCH ? args[1].of.u : DGRAM_BATCH;
    weft_cval_t list = {.kind = WEFT_CT_LIST};
    if (max && !(list.items = calloc(max, sizeof *list.items)))
        return p2_oom(err, err_size);
    uint8_t *buf = malloc(DGRAM_MAX);
    int code = -1;
    while (buf && list.n < max) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        ssize_t k = recvfrom(t->fd, buf, DGRAM_MAX, MSG_DONTWAIT, (struct sockaddr *)&sa, &len);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && list.n == 0)
                code = errno_code(errno);
            break;
        }
        if (!allowed(w, &sa))
            continue; /* from an address the rules do not name: not delivered */
        weft_cval_t *d = &list.items[list.n];
        if (p2_items(d, WEFT_CT_RECORD, 2) ||
            p2_bytes(&d->items[0], WEFT_CT_LIST, buf, (size_t)k) ||
            from_sockaddr(&sa, 1, &d->items[1])) {
            weft_cval_free(d);
            free(buf);
            weft_cval_free(&list);
            return p2_oom(err, err_size);
        }
        list.n++;
    }
    free(buf);
    if (code >= 0) {
        weft_cval_free(&list);
        return net_err(result, code, err, err_size);
    }
    return p2_ok(result, &list, err, err_size);
}

HOST(udp_check_send, "b")
{
    UNUSED;
    tcp_t *t = p2_need(user, &args[0], P2_UDP_OUT, "outgoing-datagram-stream", err, err_size);
    if (!t)
        return -1;
    struct pollfd pf = {t->fd, POLLOUT, 0};
    weft_cval_t n = p2_scalar(WEFT_CT_U64, poll(&pf, 1, 0) > 0 ? DGRAM_BATCH : 0);
    return p2_ok(result, &n, err, err_size);
}

/* send: each datagram to its remote address (allowed) or the connected
 * one; the count sent, or the first datagram's error */
HOST(udp_send, "bL{y?<{n(nnnn)}{nn(nnnnnnnn)n}>}")
{
    weft_wasip2_t *w = user;
    UNUSED;
    tcp_t *t = p2_need(w, &args[0], P2_UDP_OUT, "outgoing-datagram-stream", err, err_size);
    if (!t)
        return -1;
    size_t sent = 0;
    int code = -1;
    for (; sent < args[1].n && sent < DGRAM_BATCH; sent++) {
        const weft_cval_t *d = &args[1].items[sent];
        const weft_cval_t *data = &d->items[0], *remote = &d->items[1];
        struct sockaddr_storage sa;
        socklen_t len = 0;
        if (data->len > DGRAM_MAX) {
            code = NE_DATAGRAM_TOO_LARGE;
            break;
        }
        if (remote->index) {
            if (t->state == TCP_CONNECTED || to_sockaddr(&remote->items[0], &sa, &len) != 0 ||
                sa.ss_family != t->family) {
                code = NE_INVALID_ARGUMENT;
                break;
            }
            if (!allowed(w, &sa)) {
                code = NE_ACCESS_DENIED;
                break;
            }
        } else if (t->state != TCP_CONNECTED) {
            code = NE_INVALID_ARGUMENT;
            break;
        }
        ssize_t k = sendto(t->fd, data->str ? data->str : "", data->len,
                           MSG_DONTWAIT | MSG_NOSIGNAL, len ? (struct sockaddr *)&sa : NULL, len);
        if (k < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                code = errno_code(errno);
            break;
        }
    }
    if (code >= 0 && sent == 0)
        return net_err(result, code, err, err_size);
    weft_cval_t n = p2_scalar(WEFT_CT_U64, sent);
    return p2_ok(result, &n, err, err_size);
}

HOST(udp_subscribe, "b")
{
    UNUSED;
    return p2_subscribe(user, (uint32_t)args[0].of.u, 0, result, err, err_size);
}

HOST(udp_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_UDP); return 0; }
HOST(udp_in_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_UDP_IN); return 0; }
HOST(udp_out_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_UDP_OUT); return 0; }

/* ---- ip-name-lookup ------------------------------------------------------------------------ */

typedef struct {
    struct sockaddr_storage *v;
    size_t n, next;
} resolve_t;

static void resolve_free(weft_wasip2_t *w, void *obj)
{
    resolve_t *r = obj;
    (void)w;
    free(r->v);
    free(r);
}

static const p2_ops_t resolve_ops = {resolve_free, NULL, NULL, NULL, NULL};

/* A lookup's result rows are at most this many (a name with more is cut). */
#define RESOLVE_MAX 64

HOST(resolve_addresses, "bs")
{
    weft_wasip2_t *w = user;
    UNUSED;
    if (!p2_get(w, (uint32_t)args[0].of.u, P2_NETWORK)) {
        snprintf(err, err_size, "resolve-addresses: not a live network handle");
        return -1;
    }
    if (!w->net_lookup)
        return net_err(result, NE_ACCESS_DENIED, err, err_size);
    const char *name = args[1].str;
    size_t nl = args[1].len;
    if (nl == 0 || nl > 253 || memchr(name, '\0', nl))
        return net_err(result, NE_INVALID_ARGUMENT, err, err_size);
    char host[256];
    /* an IPv6 literal may come in brackets; a port or a URL is not a name */
    if (name[0] == '[' && nl > 2 && name[nl - 1] == ']') {
        memcpy(host, name + 1, nl - 2);
        host[nl - 2] = '\0';
    } else {
        memcpy(host, name, nl);
        host[nl] = '\0';
        if (strpbrk(host, "/:@ ") && !strchr(host, ':'))
            return net_err(result, NE_INVALID_ARGUMENT, err, err_size);
    }
    resolve_t *r = calloc(1, sizeof *r);
    if (!r || !(r->v = calloc(RESOLVE_MAX, sizeof *r->v))) {
        free(r);
        return p2_oom(err, err_size);
    }
    /* an address literal is itself; a name, the embedder's resolver's */
    struct sockaddr_in *s4 = (struct sockaddr_in *)&r->v[0];
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&r->v[0];
    int g = 0;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        r->n = 1;
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        r->n = 1;
    } else if (!w->lookup) {
        g = EAI_NONAME;
    } else {
        g = w->lookup(host, r->v, RESOLVE_MAX, &r->n);
    }
    if (g != 0 || r->n == 0) {
        resolve_free(w, r);
        return net_err(result, g == EAI_AGAIN ? NE_TEMPORARY_RESOLVER_FAILURE
                               : g == EAI_MEMORY ? NE_OUT_OF_MEMORY
                               : g == 0 || g == EAI_NONAME || g == EAI_NODATA ? NE_NAME_UNRESOLVABLE
                                                 : NE_PERMANENT_RESOLVER_FAILURE,
                       err, err_size);
    }
    weft_cval_t v;
    if (p2_own(w, P2_RESOLVE, r, &resolve_ops, &v, err, err_size) != 0)
        return -1;
    return p2_ok(result, &v, err, err_size);
}

HOST(resolve_next, "b")
{
    UNUSED;
    resolve_t *r = p2_need(user, &args[0], P2_RESOLVE, "resolve-address-stream", err, err_size);
    if (!r)
        return -1;
    weft_cval_t opt, a;
    if (r->next >= r->n) {
        p2_case(&opt, WEFT_CT_OPTION, 0, NULL);
    } else if (from_sockaddr(&r->v[r->next++], 0, &a) || p2_case(&opt, WEFT_CT_OPTION, 1, &a)) {
        return p2_oom(err, err_size);
    }
    return p2_ok(result, &opt, err, err_size);
}

HOST(resolve_subscribe, "b")
{
    UNUSED;
    return p2_subscribe(user, (uint32_t)args[0].of.u, 0, result, err, err_size);
}

HOST(resolve_drop, NULL) { UNUSED; p2_drop(user, (uint32_t)args[0].of.u, P2_RESOLVE); return 0; }

/* ---- the table ---------------------------------------------------------------------------- */

#define TCP "wasi:sockets/tcp@0.2"
#define M(x) "[method]tcp-socket." x
#define UDP "wasi:sockets/udp@0.2"
#define U(x) "[method]udp-socket." x
static const p2_def_t defs[] = {
    {"wasi:sockets/instance-network@0.2", "instance-network", instance_network},
    {"wasi:sockets/network@0.2", "[resource-drop]network", network_drop},
    {"wasi:sockets/network@0.2", "network-error-code", network_error_code},
    {"wasi:sockets/tcp-create-socket@0.2", "create-tcp-socket", create_tcp_socket},
    {TCP, M("start-bind"), tcp_start_bind},
    {TCP, M("finish-bind"), tcp_finish_bind},
    {TCP, M("start-connect"), tcp_start_connect},
    {TCP, M("finish-connect"), tcp_finish_connect},
    {TCP, M("start-listen"), tcp_start_listen},
    {TCP, M("finish-listen"), tcp_finish_listen},
    {TCP, M("accept"), tcp_accept},
    {TCP, M("local-address"), tcp_local_address},
    {TCP, M("remote-address"), tcp_remote_address},
    {TCP, M("is-listening"), tcp_is_listening},
    {TCP, M("address-family"), tcp_address_family},
    {TCP, M("set-listen-backlog-size"), tcp_set_backlog},
    {TCP, M("keep-alive-enabled"), get_keep_alive},
    {TCP, M("set-keep-alive-enabled"), set_keep_alive},
    {TCP, M("keep-alive-idle-time"), get_keep_idle},
    {TCP, M("set-keep-alive-idle-time"), set_keep_idle},
    {TCP, M("keep-alive-interval"), get_keep_interval},
    {TCP, M("set-keep-alive-interval"), set_keep_interval},
    {TCP, M("keep-alive-count"), get_keep_count},
    {TCP, M("set-keep-alive-count"), set_keep_count},
    {TCP, M("hop-limit"), get_hop_limit},
    {TCP, M("set-hop-limit"), set_hop_limit},
    {TCP, M("receive-buffer-size"), get_rcvbuf},
    {TCP, M("set-receive-buffer-size"), set_rcvbuf},
    {TCP, M("send-buffer-size"), get_sndbuf},
    {TCP, M("set-send-buffer-size"), set_sndbuf},
    {TCP, M("subscribe"), tcp_subscribe},
    {TCP, M("shutdown"), tcp_shutdown},
    {TCP, "[resource-drop]tcp-socket", tcp_drop},
    {"wasi:sockets/udp-create-socket@0.2", "create-udp-socket", create_udp_socket},
    {UDP, U("start-bind"), udp_start_bind},
    {UDP, U("finish-bind"), udp_finish_bind},
    {UDP, U("stream"), udp_stream},
    {UDP, U("local-address"), tcp_local_address},
    {UDP, U("remote-address"), tcp_remote_address},
    {UDP, U("address-family"), tcp_address_family},
    {UDP, U("unicast-hop-limit"), get_unicast_hop_limit},
    {UDP, U("set-unicast-hop-limit"), set_unicast_hop_limit},
    {UDP, U("receive-buffer-size"), get_rcvbuf},
    {UDP, U("set-receive-buffer-size"), set_rcvbuf},
    {UDP, U("send-buffer-size"), get_sndbuf},
    {UDP, U("set-send-buffer-size"), set_sndbuf},
    {UDP, U("subscribe"), udp_subscribe},
    {UDP, "[resource-drop]udp-socket", udp_drop},
    {UDP, "[method]incoming-datagram-stream.receive", udp_receive},
    {UDP, "[method]incoming-datagram-stream.subscribe", udp_subscribe},
    {UDP, "[resource-drop]incoming-datagram-stream", udp_in_drop},
    {UDP, "[method]outgoing-datagram-stream.check-send", udp_check_send},
    {UDP, "[method]outgoing-datagram-stream.send", udp_send},
    {UDP, "[method]outgoing-datagram-stream.subscribe", udp_subscribe},
    {UDP, "[resource-drop]outgoing-datagram-stream", udp_out_drop},
    {"wasi:sockets/ip-name-lookup@0.2", "resolve-addresses", resolve_addresses},
    {"wasi:sockets/ip-name-lookup@0.2", "[method]resolve-address-stream.resolve-next-address",
     resolve_next},
    {"wasi:sockets/ip-name-lookup@0.2", "[method]resolve-address-stream.subscribe",
     resolve_subscribe},
    {"wasi:sockets/ip-name-lookup@0.2", "[resource-drop]resolve-address-stream", resolve_drop},
};

int p2_sockets_define(weft_wasip2_t *w, weft_clinker_t *l)
{
    return p2_define(w, l, defs, sizeof defs / sizeof defs[0]);
}
