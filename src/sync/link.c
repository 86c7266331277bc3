/*
 * link.c — peer links on one libuv loop (link.h; docs/sync.md "Links").
 *
 * Two lists: peers (addresses to dial, learned from the config, an admin
 * call or gossip; at most SYNC_MAX_PEERS) and conns (TCP connections, dialled
 * or accepted, each with a sync_wire_t doing the handshake and the frames).
 * A peer has at most one connection of its own in flight; after it closes
 * the peer is redialled after a backoff (doubling from backoff_min_ms to
 * backoff_max_ms, with jitter), unless a link to the same node id is up
 * (then it waits for that link to go down). Between two nodes at most one
 * link stays up: of two, the one dialled by the smaller id is kept.
 *
 * Lifetimes: a conn is unlinked from the list when it starts closing and
 * freed when both its handles (tcp, timer) are closed; sync_links_t itself
 * is freed when sync_links_stop was called and its last handle closed.
 * Every callback may call back into this API (send, add_peer, stop): after
 * each one, the code looks whether its conn started closing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "link.h"
#include "link_wire.h"
#include "synclog.h"
#include "transport.h"
#include "weft/error.h"

#define SYNC_MAX_PEERS 256
#define GOSSIP_EVERY 10 /* pings between two PEERS frames on a link */

typedef struct peer peer_t;

struct sync_link {
    sync_links_t *links;
    sync_link_t *prev, *next;
    uv_tcp_t tcp;
    uv_timer_t timer;  /* handshake deadline, then ping / dead check */
    uv_connect_t connect;
    peer_t *peer;      /* the address we dialled, or NULL (accepted) */
    sync_wire_t wire;
    int wire_ok, connected, up, closing, blocked, handles;
    char addr[64];
    uint64_t last_rx_ms, ticks;
    uint64_t last_tick_ms; /* when on_conn_timer last ran, or the link came up */
    uint64_t bytes_in, bytes_out, frames_in, frames_out, rtt_us;
    size_t queued;     /* bytes handed to libuv and not written yet */
    struct wreq *pend; /* frames sealed this loop turn, written together */
    sync_link_t *pend_next;
    int pend_listed;   /* on links->pend */
    int write_rc;      /* a write that failed at once: closed by on_flush */
    int close_req;     /* sync_link_close: closed by on_flush (or the timer) */
    char close_reason[128];
};

struct peer {
    peer_t *next;
    sync_links_t *links;
    char addr[64];
    struct sockaddr_storage sa;
    uint8_t id[SYNC_ID_LEN]; /* zeros until known (handshake or gossip) */
    int has_id, self;
    uv_timer_t timer;        /* the next dial */
    sync_link_t *conn;       /* our connection to it in flight or up */
    uint64_t backoff_ms, dials, reconnects;
    char last_error[128];
};

struct sync_links {
    sync_links_config_t cfg;
    uint8_t pk[SYNC_ID_LEN], sk[crypto_sign_SECRETKEYBYTES];
    uv_tcp_t listener;
    int listening, port, stopping;
    char listen_host[48];
    struct sockaddr_storage listen_sa; /* as bound (the real port) */
    size_t handles; /* open libuv handles; freed at 0 after stop */
    peer_t *peers;
    size_t npeers;
    sync_link_t *conns;
    uint8_t scratch[65536]; /* read buffer: the wire copies what it keeps */
    uv_prepare_t flusher;   /* writes the links on the pend list */
    sync_link_t *pend;      /* links with sealed frames not handed to libuv */
    sync_transport_config_t tcfg; /* started as a transport: its callbacks */
};

typedef struct wreq {
    uv_write_t req;
    sync_link_t *c;
    size_t len, cap;
    uint8_t data[];
} wreq_t;

/* Frames sent during one turn of the loop are sealed into one buffer per
 * link and written with one uv_write just before the loop polls again
 * (uv_prepare): 64-byte frames one syscall each ran at about 47,000 a
 * second, batched several times that. A buffer is written at once when it
 * reaches PEND_FLUSH. */
#define PEND_MIN 65536
#define PEND_FLUSH (256 * 1024)

static void logf_(sync_links_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(sync_links_t *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sync_logv(l->cfg.log, l->cfg.user, fmt, ap);
    va_end(ap);
}

static uint64_t now_ms(sync_links_t *l)
{
    return uv_now(l->cfg.loop);
}

/* "ADDR:PORT" (IPv4, or [IPv6]:PORT) to a socket address. */
static int parse_addr(const char *s, struct sockaddr_storage *sa, char *host, size_t host_size,
                      int *port)
{
    const char *colon = strrchr(s, ':');
    char h[48], *end;
    size_t hl;
    long p;
    if (s == NULL || colon == NULL || colon == s)
        return WEFT_EARG;
    hl = (size_t)(colon - s);
    if (s[0] == '[') {
        if (hl < 3 || s[hl - 1] != ']')
            return WEFT_EARG;
        s++;
        hl -= 2;
    }
    if (hl >= sizeof h)
        return WEFT_EARG;
    memcpy(h, s, hl);
    h[hl] = 0;
    p = strtol(colon + 1, &end, 10);
    if (*end != 0 || end == colon + 1 || p < 0 || p > 65535)
        return WEFT_EARG;
    memset(sa, 0, sizeof *sa);
    if (uv_ip4_addr(h, (int)p, (struct sockaddr_in *)sa) != 0 &&
        uv_ip6_addr(h, (int)p, (struct sockaddr_in6 *)sa) != 0)
        return WEFT_EARG;
    if (host != NULL)
        snprintf(host, host_size, "%s", h);
    if (port != NULL)
        *port = (int)p;
    return 0;
}

static void sockaddr_str(const struct sockaddr_storage *sa, char *out, size_t size)
{
    char h[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->ss_family == AF_INET) {
        uv_ip4_name((const struct sockaddr_in *)sa, h, sizeof h);
        port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
        snprintf(out, size, "%s:%d", h, port);
    } else if (sa->ss_family == AF_INET6) {
        uv_ip6_name((const struct sockaddr_in6 *)sa, h, sizeof h);
        port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
        snprintf(out, size, "[%s]:%d", h, port);
    } else {
        snprintf(out, size, "?");
    }
}

static void maybe_free_links(sync_links_t *l)
{
    if (l->stopping && l->handles == 0) {
        sodium_memzero(l->sk, sizeof l->sk);
        free(l);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    sync_links_t *l = h->data;
    l->handles--;
    maybe_free_links(l);
}

/* ---- peers (addresses to dial) ---- */

static void on_peer_closed(uv_handle_t *h)
{
    peer_t *p = h->data;
    sync_links_t *l = p->links;
    free(p);
    l->handles--;
    maybe_free_links(l);
}

static sync_link_t *up_link_of(sync_links_t *l, const uint8_t *id)
{
    sync_link_t *c;
    for (c = l->conns; c != NULL; c = c->next)
        if (c->up && memcmp(c->wire.peer_id, id, SYNC_ID_LEN) == 0)
            return c;
    return NULL;
}

static void dial(peer_t *p);

static void on_peer_timer(uv_timer_t *t)
{
    dial(t->data);
}

/* Arms the peer's next dial after its backoff with jitter (half to all of
 * it: peers that lost a link together do not all redial at once). */
static void schedule_dial(peer_t *p)
{
    sync_links_t *l = p->links;
    uint64_t d;
    if (l->stopping || p->self || p->conn != NULL || uv_is_active((uv_handle_t *)&p->timer))
        return;
    if (p->has_id && up_link_of(l, p->id) != NULL)
        return;
    d = p->backoff_ms / 2 + randombytes_uniform((uint32_t)(p->backoff_ms / 2 + 1));
    uv_timer_start(&p->timer, on_peer_timer, d, 0);
    p->backoff_ms *= 2;
    if (p->backoff_ms > l->cfg.backoff_max_ms)
        p->backoff_ms = l->cfg.backoff_max_ms;
}

/* Peers of a node whose link just went down: dial them again. */
static void redial_id(sync_links_t *l, const uint8_t *id)
{
    peer_t *p;
    for (p = l->peers; p != NULL; p = p->next)
        if (p->has_id && memcmp(p->id, id, SYNC_ID_LEN) == 0)
            schedule_dial(p);
}

static peer_t *find_peer(sync_links_t *l, const char *addr)
{
    peer_t *p;
    for (p = l->peers; p != NULL; p = p->next)
        if (strcmp(p->addr, addr) == 0)
            return p;
    return NULL;
}

/* Adds addr (valid, not known yet) to the table; NULL when full. */
static peer_t *new_peer(sync_links_t *l, const char *addr, const struct sockaddr_storage *sa)
{
    peer_t *p;
    if (l->npeers >= SYNC_MAX_PEERS) {
        logf_(l, "sync: peer table full (%d addresses): %s not added", SYNC_MAX_PEERS, addr);
        return NULL;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->links = l;
    snprintf(p->addr, sizeof p->addr, "%s", addr);
    p->sa = *sa;
    p->backoff_ms = l->cfg.backoff_min_ms;
    uv_timer_init(l->cfg.loop, &p->timer);
    p->timer.data = p;
    l->handles++;
    p->next = l->peers;
    l->peers = p;
    l->npeers++;
    return p;
}

/* ---- connections ---- */

static void conn_close(sync_link_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void on_conn_handle_closed(uv_handle_t *h)
{
    sync_link_t *c = h->data;
    sync_links_t *l = c->links;
    if (--c->handles == 0) {
        if (c->wire_ok)
            sync_wire_fini(&c->wire);
        free(c);
    }
    l->handles--;
    maybe_free_links(l);
}

/* Bytes waiting: handed to libuv, or sealed and not handed yet. */
static size_t conn_queued(const sync_link_t *c)
{
    return c->queued + (c->pend != NULL ? c->pend->len : 0);
}

static void on_flush(uv_prepare_t *h);

static void on_written(uv_write_t *req, int status)
{
    wreq_t *w = (wreq_t *)req;
    sync_link_t *c = w->c;
    sync_links_t *l = c->links;
    c->queued -= w->len;
    free(w);
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c, "write: %s", uv_strerror(status));
        return;
    }
    if (c->blocked && c->up && conn_queued(c) <= l->cfg.high_water / 2) {
        c->blocked = 0;
        if (l->cfg.on_writable != NULL)
            l->cfg.on_writable(l->cfg.user, c);
    }
}

static void pend_list(sync_link_t *c)
{
    sync_links_t *l = c->links;
    if (c->pend_listed)
        return;
    c->pend_listed = 1;
    c->pend_next = l->pend;
    l->pend = c;
    uv_prepare_start(&l->flusher, on_flush);
}

/* Takes ownership of w (data[0..len) filled) and queues it. A write that
 * fails at once closes the link from on_flush, never from inside the
 * caller's sync_link_send (on_down must not run under it). */
static void conn_write(sync_link_t *c, wreq_t *w)
{
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
    int rc;
    w->c = c;
    rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc < 0) {
        free(w);
        if (c->write_rc == 0)
            c->write_rc = rc;
        pend_list(c);
        return;
    }
    c->queued += w->len;
    c->bytes_out += w->len;
}

static wreq_t *wreq_new(size_t len)
{
    wreq_t *w = malloc(sizeof *w + len);
    if (w != NULL)
        w->len = w->cap = len;
    return w;
}

/* The wire's emit: handshake bytes. */
static void on_emit(void *user, const uint8_t *p, size_t n)
{
    sync_link_t *c = user;
    wreq_t *w;
    if (c->closing)
        return;
    w = wreq_new(n);
    if (w == NULL) {
        conn_close(c, "out of memory");
        return;
    }
    memcpy(w->data, p, n);
    conn_write(c, w);
}

/* Hands c's sealed frames to libuv. */
static void conn_flush(sync_link_t *c)
{
    wreq_t *w = c->pend;
    c->pend = NULL;
    if (w != NULL)
        conn_write(c, w);
}

static void on_flush(uv_prepare_t *h)
{
    sync_links_t *l = h->data;
    sync_link_t *c;
    while ((c = l->pend) != NULL) {
        l->pend = c->pend_next;
        c->pend_next = NULL;
        c->pend_listed = 0;
        conn_flush(c);
        if (c->write_rc < 0 && !c->closing)
            conn_close(c, "write: %s", uv_strerror(c->write_rc));
        else if (c->close_req && !c->closing)
            conn_close(c, "%s", c->close_reason);
    }
    uv_prepare_stop(h);
}

/* Seals one frame into c's pending buffer; no high-water check (the
 * caller's job). */
static int conn_send(sync_link_t *c, uint8_t type, const uint8_t *payload, size_t len)
{
    size_t n = SYNC_WIRE_FRAME_LEN(1 + len);
    wreq_t *w = c->pend;
    if (w != NULL && w->len + n > w->cap) {
        conn_flush(c); /* stays on the pend list: flushing nothing later is fine */
        w = NULL;
    }
    if (w == NULL) {
        w = wreq_new(n > PEND_MIN ? n : PEND_MIN);
        if (w == NULL)
            return WEFT_ENOMEM;
        w->len = 0;
        c->pend = w;
        pend_list(c);
    }
    sync_wire_seal(&c->wire, type, payload, len, w->data + w->len);
    w->len += n;
    c->frames_out++;
    if (w->len >= PEND_FLUSH)
        conn_flush(c);
    return 0;
}

static void conn_close(sync_link_t *c, const char *fmt, ...)
{
    sync_links_t *l = c->links;
    char reason[128];
    int was_up = c->up;
    peer_t *p = c->peer;
    va_list ap;
    if (c->closing)
        return;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    c->closing = 1;
    c->up = 0;
    if (c->pend_listed) {
        sync_link_t **pp = &l->pend;
        while (*pp != c)
            pp = &(*pp)->pend_next;
        *pp = c->pend_next;
        c->pend_listed = 0;
    }
    free(c->pend); /* frames of a link that is going: never written */
    c->pend = NULL;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    logf_(l, "sync: link %s %s: %s", c->addr, was_up ? "down" : "failed", reason);
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
    if (p != NULL) {
        p->conn = NULL;
        snprintf(p->last_error, sizeof p->last_error, "%s", reason);
    }
    if (was_up && l->cfg.on_down != NULL)
        l->cfg.on_down(l->cfg.user, c, reason);
    if (p != NULL)
        schedule_dial(p);
    if (was_up)
        redial_id(l, c->wire.peer_id);
}

/* Our own "ADDR:PORT" as the peer at the other end of c can dial it: the
 * listen address, or when that is every address (0.0.0.0, ::) the one
 * this connection arrived on. */
static void own_addr(sync_links_t *l, sync_link_t *c, char *out, size_t size)
{
    struct sockaddr_storage sa = l->listen_sa;
    int len = sizeof sa;
    int any = sa.ss_family == AF_INET6
                  ? IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&sa)->sin6_addr)
                  : ((struct sockaddr_in *)&sa)->sin_addr.s_addr == htonl(INADDR_ANY);
    out[0] = 0;
    if (any && uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&sa, &len) != 0)
        return;
    if (sa.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)l->port);
    else
        ((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)l->port);
    sockaddr_str(&sa, out, size);
}

/* PEERS: ourselves (if listening) and every node we have a link up with,
 * at the first address we know for it. */
static void send_peers(sync_link_t *c)
{
    sync_links_t *l = c->links;
    uint8_t ids[SYNC_MAX_PEERS + 1][SYNC_ID_LEN]; /* 48 KiB of stack with out */
    char addrs[SYNC_MAX_PEERS + 1][64];
    const char *ap[SYNC_MAX_PEERS + 1];
    uint8_t out[2 + (SYNC_MAX_PEERS + 1) * (SYNC_ID_LEN + 1 + 63)];
    size_t n = 0, len;
    sync_link_t *o;
    peer_t *p;
    if (l->listening) {
        memcpy(ids[n], l->pk, SYNC_ID_LEN);
        own_addr(l, c, addrs[n], sizeof addrs[n]);
        if (addrs[n][0] != 0)
            n++;
    }
    for (o = l->conns; o != NULL && n <= SYNC_MAX_PEERS; o = o->next) {
        if (!o->up || o == c)
            continue;
        for (p = l->peers; p != NULL; p = p->next)
            if (p->has_id && memcmp(p->id, o->wire.peer_id, SYNC_ID_LEN) == 0)
                break;
        if (p == NULL)
            continue;
        memcpy(ids[n], p->id, SYNC_ID_LEN);
        snprintf(addrs[n], sizeof addrs[n], "%s", p->addr);
        n++;
    }
    for (len = 0; len < n; len++)
        ap[len] = addrs[len];
    len = sync_peers_encode((const uint8_t(*)[SYNC_ID_LEN])ids, ap, n, out, sizeof out);
    if (conn_send(c, SYNC_FRAME_PEERS, out, len) != 0)
        conn_close(c, "out of memory");
}

/* A PEERS frame from the node at the other end of c. */
static int on_peers(sync_link_t *c, const uint8_t *payload, size_t len)
{
    sync_links_t *l = c->links;
    sync_peers_iter_t it;
    uint8_t id[SYNC_ID_LEN];
    char addr[64];
    struct sockaddr_storage sa;
    peer_t *p;
    int rc;
    if (sync_peers_begin(&it, payload, len) != 0)
        return -1;
    while ((rc = sync_peers_next(&it, id, addr)) == 1) {
        if (memcmp(id, l->pk, SYNC_ID_LEN) == 0)
            continue; /* never dial ourselves */
        if (parse_addr(addr, &sa, NULL, 0, NULL) != 0)
            continue;
        p = find_peer(l, addr);
        if (p == NULL) {
            p = new_peer(l, addr, &sa);
            if (p == NULL)
                continue;
            logf_(l, "sync: learned peer %s from %s", addr, c->addr);
        }
        if (!p->has_id) {
            memcpy(p->id, id, SYNC_ID_LEN);
            p->has_id = 1;
        }
        /* an address never dialled yet, of a node we have no link with */
        if (p->dials == 0)
            schedule_dial(p);
    }
    return rc;
}

static void on_conn_timer(uv_timer_t *t)
{
    sync_link_t *c = t->data;
    sync_links_t *l = c->links;
    uint8_t b[8];
    uint64_t now = now_ms(l), us;
    int i;
    if (c->close_req) { /* the timer ran before the flusher */
        conn_close(c, "%s", c->close_reason);
        return;
    }
    if (!c->up) {
        conn_close(c, "handshake not done within %llu ms",
                   (unsigned long long)l->cfg.handshake_ms);
        return;
    }
    /* A loop that stalled (the process was stopped, the machine is
     * overloaded) read nothing for that long through no fault of the peer:
     * the stall is not the peer's silence. */
    if (now - c->last_tick_ms > 2 * l->cfg.ping_ms) {
        c->last_rx_ms += now - c->last_tick_ms - l->cfg.ping_ms;
        if (c->last_rx_ms > now)
            c->last_rx_ms = now;
    }
    c->last_tick_ms = now;
    if (now - c->last_rx_ms > l->cfg.dead_ms) {
        conn_close(c, "dead: nothing received for %llu ms",
                   (unsigned long long)(now - c->last_rx_ms));
        return;
    }
    us = uv_hrtime() / 1000;
    for (i = 0; i < 8; i++)
        b[i] = (uint8_t)(us >> (56 - 8 * i));
    if (conn_send(c, SYNC_FRAME_PING, b, 8) != 0) {
        conn_close(c, "out of memory");
        return;
    }
    if (++c->ticks % GOSSIP_EVERY == 0)
        send_peers(c);
}

/* The handshake of c finished: keep one link per node pair, then up. */
static void conn_up(sync_link_t *c)
{
    sync_links_t *l = c->links;
    sync_link_t *other = up_link_of(l, c->wire.peer_id);
    peer_t *p = c->peer;
    char hex[17];
    if (p != NULL) {
        memcpy(p->id, c->wire.peer_id, SYNC_ID_LEN);
        p->has_id = 1;
        p->backoff_ms = l->cfg.backoff_min_ms;
    }
    if (other != NULL) {
        /* both ends apply the same rule, so they keep the same link: the
         * one dialled by the smaller of the two ids */
        int self_smaller = memcmp(l->pk, c->wire.peer_id, SYNC_ID_LEN) < 0;
        int keep_new = (c->peer != NULL) == self_smaller;
        if (!keep_new) {
            conn_close(c, "duplicate link (kept the one dialled by the smaller id)");
            return;
        }
        conn_close(other, "duplicate link (kept the one dialled by the smaller id)");
        if (c->closing)
            return;
    }
    c->up = 1;
    c->last_rx_ms = c->last_tick_ms = now_ms(l);
    sodium_bin2hex(hex, sizeof hex, c->wire.peer_id, 8);
    logf_(l, "sync: link %s up (peer %s..., %s)", c->addr, hex,
          c->peer != NULL ? "dialled" : "accepted");
    uv_timer_start(&c->timer, on_conn_timer, l->cfg.ping_ms, l->cfg.ping_ms);
    if (l->cfg.on_up != NULL)
        l->cfg.on_up(l->cfg.user, c, c->wire.peer_id);
    if (!c->closing)
        send_peers(c);
}

/* One frame of c, decrypted. */
static void conn_frame(sync_link_t *c, uint8_t type, const uint8_t *payload, size_t len)
{
    sync_links_t *l = c->links;
    uint64_t sent = 0;
    int i;
    c->frames_in++;
    switch (type) {
    case SYNC_FRAME_PING:
        if (len != 8) {
            conn_close(c, "malformed PING (%zu bytes)", len);
            return;
        }
        if (conn_send(c, SYNC_FRAME_PONG, payload, 8) != 0)
            conn_close(c, "out of memory");
        return;
    case SYNC_FRAME_PONG:
        if (len != 8) {
            conn_close(c, "malformed PONG (%zu bytes)", len);
            return;
        }
        for (i = 0; i < 8; i++)
            sent = sent << 8 | payload[i];
        c->rtt_us = uv_hrtime() / 1000 - sent;
        return;
    case SYNC_FRAME_PEERS:
        if (on_peers(c, payload, len) != 0)
            conn_close(c, "malformed PEERS frame");
        return;
    default:
        if (type < SYNC_TYPE_USER)
            return; /* a link-layer type of a later version: ignored */
        if (l->cfg.on_frame != NULL)
            l->cfg.on_frame(l->cfg.user, c, type, payload, len);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    sync_link_t *c = h->data;
    *buf = uv_buf_init((char *)c->links->scratch, sizeof c->links->scratch);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    sync_link_t *c = s->data;
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t n, used;
    uint8_t type = 0;
    const uint8_t *payload = NULL;
    size_t len = 0;
    if (c->closing || c->close_req)
        return;
    if (nread < 0) {
        if (nread != UV_EOF)
            conn_close(c, "read: %s", uv_strerror((int)nread));
        else if (sync_wire_partial(&c->wire))
            conn_close(c, "truncated: end of stream inside a message");
        else if (!c->wire.authed)
            conn_close(c, "closed by the peer during the handshake");
        else
            conn_close(c, "closed by the peer");
        return;
    }
    n = (size_t)nread;
    c->bytes_in += n;
    c->last_rx_ms = now_ms(c->links);
    while (n > 0 && !c->closing && !c->close_req) {
        int ev = sync_wire_read(&c->wire, p, n, &used, &type, &payload, &len);
        p += used;
        n -= used;
        switch (ev) {
        case SYNC_WIRE_NEED: break;
        case SYNC_WIRE_UP: conn_up(c); break;
        case SYNC_WIRE_FRAME: conn_frame(c, type, payload, len); break;
        default:
            if (c->peer != NULL && memcmp(c->wire.peer_id, c->links->pk, SYNC_ID_LEN) == 0)
                c->peer->self = 1; /* our own address: never dialled again */
            conn_close(c, "%s", c->wire.error);
            return;
        }
    }
}

static sync_link_t *conn_new(sync_links_t *l, peer_t *p)
{
    sync_link_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->links = l;
    c->peer = p;
    uv_tcp_init(l->cfg.loop, &c->tcp);
    uv_timer_init(l->cfg.loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles = 2;
    l->handles += 2;
    c->next = l->conns;
    if (l->conns != NULL)
        l->conns->prev = c;
    l->conns = c;
    uv_timer_start(&c->timer, on_conn_timer, l->cfg.handshake_ms, 0);
    return c;
}

/* The TCP connection of c exists: start the handshake. */
static void conn_start(sync_link_t *c)
{
    sync_links_t *l = c->links;
    int rc;
    c->connected = 1;
    uv_tcp_nodelay(&c->tcp, 1);
    if (sync_wire_init(&c->wire, c->peer != NULL, l->pk, l->sk, on_emit, c) != 0) {
        conn_close(c, "out of memory");
        return;
    }
    c->wire_ok = 1;
    if (c->closing)
        return;
    rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (rc < 0)
        conn_close(c, "read: %s", uv_strerror(rc));
}

static void on_connected(uv_connect_t *req, int status)
{
    sync_link_t *c = req->data;
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c, "connect: %s", uv_strerror(status));
        return;
    }
    conn_start(c);
}

static void dial(peer_t *p)
{
    sync_links_t *l = p->links;
    sync_link_t *c;
    int rc;
    if (l->stopping || p->self || p->conn != NULL)
        return;
    if (p->has_id && up_link_of(l, p->id) != NULL)
        return; /* redialled when that link goes down */
    c = conn_new(l, p);
    if (c == NULL) {
        schedule_dial(p);
        return;
    }
    snprintf(c->addr, sizeof c->addr, "%s", p->addr);
    if (p->dials++ > 0)
        p->reconnects++;
    p->conn = c;
    c->connect.data = c;
    rc = uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&p->sa, on_connected);
    if (rc < 0)
        conn_close(c, "connect: %s", uv_strerror(rc));
}

static void on_connection(uv_stream_t *server, int status)
{
    sync_links_t *l = server->data;
    sync_link_t *c;
    struct sockaddr_storage sa;
    int len = sizeof sa;
    if (status < 0) {
        logf_(l, "sync: accept: %s", uv_strerror(status));
        return;
    }
    c = conn_new(l, NULL);
    if (c == NULL)
        return;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c, "accept failed");
        return;
    }
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0)
        sockaddr_str(&sa, c->addr, sizeof c->addr);
    else
        snprintf(c->addr, sizeof c->addr, "?");
    conn_start(c);
}

/* ---- API ---- */

int sync_links_start(const sync_links_config_t *cfg, sync_links_t **out, char *msg,
                     size_t msg_size)
{
    sync_links_t *l;
    struct sockaddr_storage sa;
    size_t i;
    int rc;
    *out = NULL;
    if (msg_size > 0)
        msg[0] = 0;
    if (sodium_init() < 0) {
        snprintf(msg, msg_size, "libsodium failed to initialise");
        return WEFT_EIO;
    }
    l = calloc(1, sizeof *l);
    if (l == NULL)
        return WEFT_ENOMEM;
    l->cfg = *cfg;
    l->cfg.peers = NULL;
    l->cfg.npeers = 0;
    l->cfg.listen = NULL;
    if (l->cfg.ping_ms == 0)
        l->cfg.ping_ms = 1000;
    if (l->cfg.dead_ms == 0)
        l->cfg.dead_ms = 5000;
    if (l->cfg.backoff_min_ms == 0)
        l->cfg.backoff_min_ms = 100;
    if (l->cfg.backoff_max_ms == 0)
        l->cfg.backoff_max_ms = 10000;
    if (l->cfg.backoff_max_ms < l->cfg.backoff_min_ms)
        l->cfg.backoff_max_ms = l->cfg.backoff_min_ms;
    if (l->cfg.handshake_ms == 0)
        l->cfg.handshake_ms = 5000;
    if (l->cfg.high_water == 0)
        l->cfg.high_water = (size_t)8 << 20;
    memcpy(l->pk, cfg->public_key, SYNC_ID_LEN);
    memcpy(l->sk, cfg->secret_key, sizeof l->sk);
    /* every address is checked before the first handle exists */
    for (i = 0; i < cfg->npeers; i++) {
        if (parse_addr(cfg->peers[i], &sa, NULL, 0, NULL) != 0) {
            snprintf(msg, msg_size, "bad peer address '%s' (want ADDR:PORT)", cfg->peers[i]);
            goto fail;
        }
    }
    if (cfg->listen != NULL &&
        parse_addr(cfg->listen, &sa, l->listen_host, sizeof l->listen_host, &l->port) != 0) {
        snprintf(msg, msg_size, "bad listen address '%s' (want ADDR:PORT)", cfg->listen);
        goto fail;
    }
    uv_prepare_init(l->cfg.loop, &l->flusher);
    l->flusher.data = l;
    l->handles++;
    if (cfg->listen != NULL) {
        int len = sizeof sa;
        uv_tcp_init(l->cfg.loop, &l->listener);
        l->listener.data = l;
        l->handles++;
        l->listening = 1;
        rc = uv_tcp_bind(&l->listener, (const struct sockaddr *)&sa, 0);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)&l->listener, 128, on_connection);
        if (rc != 0) {
            snprintf(msg, msg_size, "cannot listen on %s: %s", cfg->listen, uv_strerror(rc));
            /* the handles close on the loop, which frees l */
            sync_links_stop(l);
            return WEFT_EIO;
        }
        if (uv_tcp_getsockname(&l->listener, (struct sockaddr *)&sa, &len) == 0) {
            l->listen_sa = sa;
            l->port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                     : ((struct sockaddr_in *)&sa)->sin_port);
        }
        logf_(l, "sync: listening on %s port %d", l->listen_host, l->port);
    }
    for (i = 0; i < cfg->npeers; i++)
        sync_links_add_peer(l, cfg->peers[i]);
    *out = l;
    return 0;
fail:
    sodium_memzero(l->sk, sizeof l->sk);
    free(l);
    return WEFT_EARG;
}

int sync_links_port(const sync_links_t *l)
{
    return l->listening ? l->port : 0;
}

int sync_links_add_peer(sync_links_t *l, const char *addr)
{
    struct sockaddr_storage sa;
    peer_t *p;
    if (parse_addr(addr, &sa, NULL, 0, NULL) != 0)
        return WEFT_EARG;
    if (l->stopping || find_peer(l, addr) != NULL)
        return 0;
    p = new_peer(l, addr, &sa);
    if (p == NULL)
        return l->npeers >= SYNC_MAX_PEERS ? WEFT_ELIMIT : WEFT_ENOMEM;
    dial(p);
    return 0;
}

int sync_link_send(sync_link_t *c, uint8_t type, const uint8_t *payload, size_t len)
{
    if (type < SYNC_TYPE_USER || len > SYNC_MAX_FRAME - 1 || (len > 0 && payload == NULL))
        return WEFT_EARG;
    if (!c->up || c->closing || c->close_req)
        return WEFT_EARG;
    if (conn_queued(c) > c->links->cfg.high_water) {
        c->blocked = 1;
        return WEFT_ELIMIT;
    }
    return conn_send(c, type, payload, len);
}

void sync_link_close(sync_link_t *c, const char *reason)
{
    if (c->closing || c->close_req)
        return;
    c->close_req = 1;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
    /* nothing more is read or delivered; on_flush closes it, after the
     * caller has returned to the loop */
    uv_read_stop((uv_stream_t *)&c->tcp);
    pend_list(c);
}

const uint8_t *sync_link_peer(const sync_link_t *c)
{
    return c->wire.peer_id;
}

static void fill_info(const sync_link_t *c, sync_link_info_t *in)
{
    if (c->wire_ok && c->wire.authed)
        memcpy(in->id, c->wire.peer_id, SYNC_ID_LEN);
    in->up = c->up;
    in->outbound = c->peer != NULL;
    in->bytes_in = c->bytes_in;
    in->bytes_out = c->bytes_out;
    in->frames_in = c->frames_in;
    in->frames_out = c->frames_out;
    in->rtt_us = c->rtt_us;
    in->queued = conn_queued(c);
}

void sync_links_info(sync_links_t *l, void (*fn)(void *user, const sync_link_info_t *info),
                     void *user)
{
    sync_link_info_t in;
    peer_t *p;
    sync_link_t *c;
    for (p = l->peers; p != NULL; p = p->next) {
        memset(&in, 0, sizeof in);
        if (p->has_id)
            memcpy(in.id, p->id, SYNC_ID_LEN);
        snprintf(in.addr, sizeof in.addr, "%s", p->addr);
        in.outbound = 1;
        if (p->conn != NULL)
            fill_info(p->conn, &in);
        in.reconnects = p->reconnects;
        snprintf(in.last_error, sizeof in.last_error, "%s", p->last_error);
        fn(user, &in);
    }
    for (c = l->conns; c != NULL; c = c->next) {
        if (c->peer != NULL)
            continue;
        memset(&in, 0, sizeof in);
        snprintf(in.addr, sizeof in.addr, "%s", c->addr);
        fill_info(c, &in);
        fn(user, &in);
    }
}

void sync_links_stop(sync_links_t *l)
{
    peer_t *p, *pn;
    if (l->stopping)
        return;
    l->stopping = 1;
    l->handles++; /* held while closing, so a callback cannot free l under us */
    uv_close((uv_handle_t *)&l->flusher, on_handle_closed);
    if (l->listening) {
        l->listening = 0;
        uv_close((uv_handle_t *)&l->listener, on_handle_closed);
    }
    while (l->conns != NULL)
        conn_close(l->conns, "stopped");
    for (p = l->peers; p != NULL; p = pn) {
        pn = p->next;
        uv_close((uv_handle_t *)&p->timer, on_peer_closed);
    }
    l->peers = NULL;
    l->handles--;
    maybe_free_links(l);
}

/* ---- the links as a transport (transport.h) ---------------------------------
 * The links' callbacks carry the link; the transport's get it as an opaque
 * peer. Their user is the transport's (log lines need nothing else); the
 * others find the transport's callbacks through the link. */

static void tx_on_up(void *user, sync_link_t *c, const uint8_t id[SYNC_ID_LEN])
{
    (void)user;
    c->links->tcfg.on_up(c->links->tcfg.user, c, id);
}

static void tx_on_frame(void *user, sync_link_t *c, uint8_t type, const uint8_t *b, size_t len)
{
    (void)user;
    c->links->tcfg.on_frame(c->links->tcfg.user, c, type, b, len);
}

static void tx_on_writable(void *user, sync_link_t *c)
{
    (void)user;
    c->links->tcfg.on_writable(c->links->tcfg.user, c);
}

static void tx_on_down(void *user, sync_link_t *c, const char *reason)
{
    (void)user;
    c->links->tcfg.on_down(c->links->tcfg.user, c, reason);
}

static int tx_start(const sync_transport_config_t *tc, void **out, char *msg, size_t msg_size)
{
    sync_links_t *l;
    sync_links_config_t lc = {
        .loop = tc->loop, .public_key = tc->public_key, .secret_key = tc->secret_key,
        .listen = tc->listen, .peers = tc->peers, .npeers = tc->npeers,
        .on_up = tx_on_up, .on_frame = tx_on_frame, .on_writable = tx_on_writable,
        .on_down = tx_on_down, .log = tc->log, .user = tc->user,
    };
    int rc = sync_links_start(&lc, &l, msg, msg_size);
    if (rc != 0)
        return rc;
    l->tcfg = *tc; /* before the loop runs: no link callback came yet */
    *out = l;
    return 0;
}

static int tx_send(void *peer, uint8_t type, const uint8_t *b, size_t len)
{
    return sync_link_send(peer, type, b, len);
}

static void tx_close(void *peer, const char *reason) { sync_link_close(peer, reason); }

static void tx_notify(void *t, const char *ctx)
{
    (void)t, (void)ctx; /* links carry what the engine pushes, nothing else */
}

static void tx_add_peer(void *t, const char *addr) { sync_links_add_peer(t, addr); }

static int tx_port(void *t) { return sync_links_port(t); }

static void tx_info(void *t, void (*fn)(void *user, const sync_link_info_t *info), void *user)
{
    sync_links_info(t, fn, user);
}

static void tx_stop(void *t) { sync_links_stop(t); }

static const struct weft_sync_transport links_transport = {
    "links", 0, tx_start, tx_send, tx_close, tx_notify, tx_add_peer, tx_port, tx_info, tx_stop,
};

const struct weft_sync_transport *sync_links_transport(void)
{
    return &links_transport;
}
