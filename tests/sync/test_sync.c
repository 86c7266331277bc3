/*
 * test_sync.c — weft_sync_t (src/sync/sync.c) against a peer the test
 * drives: a node with a data directory on its sync thread, and on the
 * test's thread a sync_links_t endpoint (link.h) that completes a real
 * handshake with it and then sends what the test says. So the peer can
 * misbehave above the link layer (malformed replication, INVITE and app
 * frames: the node closes the link, applies nothing) or be slow (an app
 * request left unanswered: the joining node asks again).
 *
 * The test's loop runs only inside pump() (a generous deadline is only the
 * safety net: nothing asserts a duration).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <uv.h>

#include "../unit/test.h"
#include "../store/tmpdir.h"
#include "blobsync.h"
#include "link.h"
#include "repl.h"
#include "repl_msg.h"
#include "weft/blobs.h"
#include "weft/crdt_store.h"
#include "weft/db.h"
#include "weft/error.h"
#include "weft/sync.h"

#define MSG_INVITE 0x20
#define MSG_APP_REQ 0x21
#define MSG_APP_CHUNK 0x22
#define MSG_JOINED 0x23
#define APP_CHUNK (256u << 10)

typedef struct fx {
    /* the node under test */
    weft_db_t *db;
    weft_sync_t *s;
    uint8_t pk[32], sk[64];
    pthread_mutex_t mu; /* the fields below: the sync thread and the pool write them */
    char *log;
    size_t log_len;
    int joins;
    char join_ctx[256];
    uint8_t *join_wasm;
    size_t join_wasm_len;

    /* the peer the test drives, on the test's loop */
    uv_loop_t loop;
    uv_timer_t tick;
    sync_links_t *links;
    uint8_t ppk[32], psk[64];
    sync_link_t *link;
    int ups, downs;
    /* app requests the peer got, and how it answers them */
    int app_reqs, ignore_reqs, twice;
    uint8_t *app;
    size_t app_len;
    /* the node serving an app of context "c" (node_app_bytes) */
    int serves;
    uint32_t last_chunk_off; /* of the last APP_CHUNK the peer got */
    int chunks;
    /* a blob the peer serves (BLOB_WANT): its bytes, id and record; how
     * many requests of each chunk it got; chunk `corrupt` is answered once
     * with a byte flipped; past `hold` good chunks the peer answers
     * nothing (until hold is cleared); NONE answers received */
    uint8_t *blob, blob_id[32], *blob_rec;
    size_t blob_len, blob_rec_len;
    int wants[64];
    int corrupt, corrupted, hold, served, nones;
    void (*before)(struct fx *); /* a setup of the node's store before it starts */
} fx_t;

#define SERVED_APP "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define SERVED_LEN ((size_t)1 << 20)

/* ---- the node ---- */

static void node_log(void *user, const char *line)
{
    fx_t *fx = user;
    size_t n = strlen(line);
    pthread_mutex_lock(&fx->mu);
    char *nl = realloc(fx->log, fx->log_len + n + 2);
    if (nl) {
        fx->log = nl;
        memcpy(fx->log + fx->log_len, line, n);
        fx->log_len += n;
        fx->log[fx->log_len++] = '\n';
        fx->log[fx->log_len] = '\0';
    }
    pthread_mutex_unlock(&fx->mu);
    if (getenv("SYNC_TEST_VERBOSE"))
        fprintf(stderr, "[node] %s\n", line);
}

/* The writer: at once, on the caller's thread (the sync loop's). */
static int node_write(void *user, weft_sync_txn_fn fn, void *arg,
                      void (*done)(void *arg, int rc))
{
    fx_t *fx = user;
    weft_txn_t *txn;
    int rc = weft_txn_begin(fx->db, WEFT_TXN_WRITE, &txn);
    if (rc != 0)
        return rc;
    if ((rc = fn(txn, arg)) == 0)
        rc = weft_txn_commit(txn);
    else
        weft_txn_abort(txn);
    done(arg, rc);
    return 0;
}

static int node_app_have(void *user, const char *app_id) { return 0; }

/* With fx->serves, context "c" is of app SERVED_APP, SERVED_LEN bytes. */
static int node_context_app(void *user, const char *name, char out[65])
{
    fx_t *fx = user;
    if (!fx->serves || strcmp(name, "c") != 0)
        return WEFT_ENOTFOUND;
    memcpy(out, SERVED_APP, 65);
    return 0;
}

static int node_app_bytes(void *user, const char *app_id, uint8_t **out, size_t *out_len)
{
    if (strcmp(app_id, SERVED_APP) != 0 || !(*out = calloc(1, SERVED_LEN)))
        return WEFT_ENOTFOUND;
    *out_len = SERVED_LEN;
    return 0;
}

/* Joins nothing: records what it was given (on a pool thread). */
static int node_join(void *user, const char *name, const char *app_id, const uint8_t *wasm,
                     size_t wasm_len, const uint8_t *members, size_t nmembers, char *msg,
                     size_t msg_size)
{
    fx_t *fx = user;
    pthread_mutex_lock(&fx->mu);
    fx->joins++;
    snprintf(fx->join_ctx, sizeof fx->join_ctx, "%s", name);
    free(fx->join_wasm);
    fx->join_wasm = wasm_len ? malloc(wasm_len) : NULL;
    if (fx->join_wasm)
        memcpy(fx->join_wasm, wasm, wasm_len);
    fx->join_wasm_len = fx->join_wasm ? wasm_len : 0;
    pthread_mutex_unlock(&fx->mu);
    return 0;
}

/* Makes the node and the peer members of context ctx (the members' ORSet
 * the node layer keeps, written here directly). */
static void add_members(fx_t *fx, const char *ctx)
{
    weft_txn_t *txn;
    const uint8_t *ids[2] = {fx->pk, fx->ppk};
    const char *key = WEFT_SYNC_MEMBERS_KEY;
    ASSERT_EQ_INT(weft_txn_begin(fx->db, WEFT_TXN_WRITE, &txn), 0);
    for (int i = 0; i < 2; i++) {
        weft_crdt_input_t in = {.value = ids[i], .value_len = 32};
        ASSERT_EQ_INT(weft_crdt_local(txn, fx->pk, 1000, (const uint8_t *)ctx, strlen(ctx),
                                      (const uint8_t *)key, strlen(key), WEFT_CRDT_ORSET,
                                      WEFT_CRDT_ADD, &in, NULL, NULL),
                      0);
    }
    ASSERT_EQ_INT(weft_txn_commit(txn), 0);
}

/* ---- the peer ---- */

static void peer_up(void *user, sync_link_t *link, const uint8_t *id)
{
    fx_t *fx = user;
    fx->ups++;
    fx->link = link;
}

static void peer_down(void *user, sync_link_t *link, const char *reason)
{
    fx_t *fx = user;
    fx->downs++;
    if (fx->link == link)
        fx->link = NULL;
}

static void peer_log(void *user, const char *line)
{
    if (getenv("SYNC_TEST_VERBOSE"))
        fprintf(stderr, "[peer] %s\n", line);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An APP_REQ: answered with the chunk asked for (twice when fx->twice),
 * unless it is one of the first fx->ignore_reqs. */
static void blob_want(fx_t *fx, sync_link_t *link, const uint8_t *p)
{
    uint32_t idx = get32(p + 32);
    size_t off = (size_t)idx * WEFT_BLOB_CHUNK;
    int bad = (int)idx == fx->corrupt && !fx->corrupted;
    if (idx < 64)
        fx->wants[idx]++;
    if (fx->hold && fx->served >= fx->hold && !bad)
        return;
    if (memcmp(p, fx->blob_id, 32) != 0 || off >= fx->blob_len) {
        sync_link_send(link, SYNC_MSG_BLOB_NONE, p, 36);
        return;
    }
    size_t n = fx->blob_len - off < WEFT_BLOB_CHUNK ? fx->blob_len - off : WEFT_BLOB_CHUNK;
    uint8_t *c = malloc(36 + n);
    if (c == NULL)
        return;
    memcpy(c, p, 36);
    memcpy(c + 36, fx->blob + off, n);
    if (bad) {
        c[36 + n / 2] ^= 0x40; /* a hostile (or broken) peer */
        fx->corrupted = 1;
    } else {
        fx->served++;
    }
    sync_link_send(link, SYNC_MSG_BLOB_CHUNK, c, 36 + n);
    free(c);
}

static void peer_frame(void *user, sync_link_t *link, uint8_t type, const uint8_t *p,
                       size_t len)
{
    fx_t *fx = user;
    if (type == SYNC_MSG_BLOB_WANT && len == 36) {
        blob_want(fx, link, p);
        return;
    }
    if (type == SYNC_MSG_BLOB_NONE) {
        fx->nones++;
        return;
    }
    if (type == MSG_APP_CHUNK && len >= 72) {
        fx->chunks++;
        fx->last_chunk_off = get32(p + 68);
        return;
    }
    if (type != MSG_APP_REQ || len != 64 + 4 || fx->app == NULL)
        return;
    if (fx->app_reqs++ < fx->ignore_reqs)
        return;
    uint32_t off = get32(p + 64);
    if (off > fx->app_len)
        return;
    size_t n = fx->app_len - off < APP_CHUNK ? fx->app_len - off : APP_CHUNK;
    uint8_t *c = malloc(64 + 8 + n);
    if (c == NULL)
        return;
    memcpy(c, p, 64);
    put32(c + 64, (uint32_t)fx->app_len);
    put32(c + 68, off);
    memcpy(c + 72, fx->app + off, n);
    for (int i = 0; i < (fx->twice ? 2 : 1); i++)
        sync_link_send(link, MSG_APP_CHUNK, c, 72 + n);
    free(c);
}

static void on_tick(uv_timer_t *t) {}

static void fx_cleanup(void *arg)
{
    fx_t *fx = arg;
    if (fx->links)
        sync_links_stop(fx->links);
    uv_close((uv_handle_t *)&fx->tick, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&fx->loop) != 0) {
        fprintf(stderr, "test_sync: handles left open on the test's loop\n");
        abort();
    }
    weft_sync_stop(fx->s);
    if (fx->db)
        weft_db_close(fx->db);
    pthread_mutex_destroy(&fx->mu);
    free(fx->log);
    free(fx->join_wasm);
    free(fx->app);
    free(fx->blob);
    free(fx->blob_rec);
    free(fx);
}

/* Runs the test's loop until cond(fx) holds; fails after 30 s (a safety
 * net). */
static int pump_(fx_t *fx, int (*cond)(fx_t *))
{
    uint64_t end = uv_hrtime() + 30000000000ull;
    while (!cond(fx)) {
        if (uv_hrtime() > end)
            return 0;
        uv_run(&fx->loop, UV_RUN_ONCE);
    }
    return 1;
}
#define PUMP(fx, cond)                                                                  \
    do {                                                                                \
        if (!pump_(fx, cond))                                                           \
            FAIL("timed out waiting for %s; node's log:\n%s", #cond, fx->log ? fx->log : ""); \
    } while (0)

static int is_up(fx_t *fx) { return fx->link != NULL; }
static int is_down(fx_t *fx) { return fx->downs > 0; }

static int joined(fx_t *fx)
{
    pthread_mutex_lock(&fx->mu);
    int j = fx->joins;
    pthread_mutex_unlock(&fx->mu);
    return j > 0;
}

/* Starts the node's sync on its data directory; addr gets its address. */
static void node_start(fx_t *fx, char *addr, size_t size)
{
    char msg[256];
    weft_sync_config_t cfg = {
        .db = fx->db, .public_key = fx->pk, .secret_key = fx->sk, .listen = "127.0.0.1:0",
        .write = node_write, .app_have = node_app_have, .context_app = node_context_app,
        .join = node_join, .app_bytes = node_app_bytes, .log = node_log, .user = fx,
    };
    ASSERT_EQ_INT(weft_sync_start(&cfg, &fx->s, msg, sizeof msg), 0);
    snprintf(addr, size, "127.0.0.1:%d", weft_sync_port(fx->s));
}

/* A node with members' set of context "c" (itself and the peer), and the
 * peer linked to it; serves: "c" is of app SERVED_APP. */
static fx_t *fx_new_(const char *tag, int serves, void (*before)(fx_t *))
{
    fx_t *fx = calloc(1, sizeof *fx);
    char msg[256], addr[64];
    ASSERT_NOT_NULL(fx);
    fx->serves = serves;
    fx->corrupt = -1;
    ASSERT_TRUE(sodium_init() >= 0);
    pthread_mutex_init(&fx->mu, NULL);
    ASSERT_EQ_INT(uv_loop_init(&fx->loop), 0);
    uv_timer_init(&fx->loop, &fx->tick);
    uv_timer_start(&fx->tick, on_tick, 5, 5);
    test_defer(fx_cleanup, fx);
    crypto_sign_keypair(fx->pk, fx->sk);
    crypto_sign_keypair(fx->ppk, fx->psk);
    ASSERT_EQ_INT(weft_db_open(tmpdir_new(tag), WEFT_DB_NOSYNC, &fx->db, msg, sizeof msg), 0);
    add_members(fx, "c");
    if (before)
        before(fx);

    node_start(fx, addr, sizeof addr);

    const char *peers[1] = {addr};
    sync_links_config_t lc = {
        .loop = &fx->loop, .public_key = fx->ppk, .secret_key = fx->psk, .peers = peers,
        .npeers = 1, .on_up = peer_up, .on_frame = peer_frame, .on_down = peer_down,
        .log = peer_log, .user = fx,
    };
    ASSERT_EQ_INT(sync_links_start(&lc, &fx->links, msg, sizeof msg), 0);
    PUMP(fx, is_up);
    return fx;
}
#define fx_new(tag) fx_new_(tag, 0, NULL)

static int logged_(fx_t *fx, const char *s)
{
    pthread_mutex_lock(&fx->mu);
    int ok = fx->log && strstr(fx->log, s) != NULL;
    pthread_mutex_unlock(&fx->mu);
    return ok;
}

/* Sends one frame from the peer, then waits until the node closed the
 * link; its log must say `reason`. */
static void bad_frame(fx_t *fx, uint8_t type, const uint8_t *p, size_t len, const char *reason)
{
    ASSERT_EQ_INT(sync_link_send(fx->link, type, p, len), 0);
    PUMP(fx, is_down);
    if (!logged_(fx, reason))
        FAIL("the node's log lacks \"%s\":\n%s", reason, fx->log ? fx->log : "");
}

/* ---- tests ---- */

/* Whether this process has a thread named `name` (its comm) that blocks
 * SIGPIPE (bit 13 of SigBlk in its /proc status): -1 no such thread. */
static int thread_blocks_sigpipe(const char *name)
{
    int found = -1;
    uv_dirent_t d;
    uv_fs_t req;
    if (uv_fs_scandir(NULL, &req, "/proc/self/task", 0, NULL) < 0)
        return -1;
    while (uv_fs_scandir_next(&req, &d) != UV_EOF) {
        char path[64], comm[32] = "", line[256];
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", d.name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (!fgets(comm, sizeof comm, f))
            comm[0] = '\0';
        fclose(f);
        comm[strcspn(comm, "\n")] = '\0';
        if (strcmp(comm, name) != 0)
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/status", d.name);
        if (!(f = fopen(path, "r")))
            continue;
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "SigBlk:", 7) == 0)
                found = (strtoull(line + 7, NULL, 16) >> (SIGPIPE - 1)) & 1;
        fclose(f);
    }
    uv_fs_req_cleanup(&req);
    return found;
}

/* A link written after its peer closed it raises SIGPIPE: the sync thread
 * blocks it (the write says EPIPE), so an embedder that does not ignore
 * SIGPIPE (bench/syncbench did not, and died of it with 10 nodes) lives. */
TEST(sync_thread_blocks_sigpipe)
{
    fx_t *fx = fx_new("sync-sigpipe");
    (void)fx;
    ASSERT_EQ_INT(thread_blocks_sigpipe("weft-sync"), 1);
}

/* An OPS frame of the shared context whose first op is valid and whose end
 * is cut: the node closes the link and applies nothing of it. */
TEST(sync_malformed_ops_closes_the_link_and_applies_nothing)
{
    fx_t *fx = fx_new("sync-ops");
    static const uint8_t inc[] = {1, 1}; /* +1, this origin's total 1 */
    weft_crdt_op_t op = {
        .context = (const uint8_t *)"c", .context_len = 1, .key = (const uint8_t *)"hits",
        .key_len = 4, .type = WEFT_CRDT_GCOUNTER, .kind = WEFT_CRDT_INC, .seq = 1,
        .hlc = (uint64_t)1000 << 16, .payload = inc, .payload_len = 2,
    };
    memcpy(op.origin, fx->ppk, 32);
    repl_ops_writer_t w;
    memset(&w, 0, sizeof w);
    repl_ops_begin(&w, (const uint8_t *)"c", 1);
    ASSERT_EQ_INT(repl_ops_add(&w, &op), 0);
    ASSERT_EQ_INT(repl_ops_end(&w), 0);
    uint8_t *f = malloc(w.frame.len + 5);
    ASSERT_NOT_NULL(f);
    memcpy(f, w.frame.p, w.frame.len);
    memset(f + w.frame.len, 0xab, 5); /* a group cut after 5 bytes of its origin */
    size_t flen = w.frame.len + 5;
    repl_ops_writer_free(&w);
    test_defer(free, f);
    ASSERT_EQ_INT(repl_ops_walk(f, flen - 5, NULL, NULL, NULL, NULL), 0); /* without the cut: valid */

    bad_frame(fx, SYNC_MSG_OPS, f, flen, "down: malformed OPS frame");

    weft_txn_t *txn;
    weft_crdt_state_t *st = NULL;
    ASSERT_EQ_INT(weft_txn_begin(fx->db, WEFT_TXN_READ, &txn), 0);
    int rc = weft_crdt_read(txn, (const uint8_t *)"c", 1, (const uint8_t *)"hits", 4, 0, &st);
    weft_txn_abort(txn);
    if (st)
        weft_crdt_state_delete(st);
    ASSERT_EQ_INT(rc, WEFT_ENOTFOUND);
}

TEST(sync_malformed_vv_closes_the_link)
{
    fx_t *fx = fx_new("sync-vv");
    static const uint8_t vv[] = {1, 'c', 0x80}; /* a varint cut short */
    bad_frame(fx, SYNC_MSG_VV, vv, sizeof vv, "down: malformed VV frame");
}

TEST(sync_malformed_invite_closes_the_link)
{
    fx_t *fx = fx_new("sync-invite");
    static const uint8_t b[] = {0, 1, 'd'}; /* no app id, no members */
    bad_frame(fx, MSG_INVITE, b, sizeof b, "down: malformed INVITE frame");
}

TEST(sync_malformed_app_req_closes_the_link)
{
    fx_t *fx = fx_new("sync-appreq");
    static const uint8_t b[] = {'a', 'b', 'c'};
    bad_frame(fx, MSG_APP_REQ, b, sizeof b, "down: malformed APP_REQ frame");
}

TEST(sync_malformed_app_chunk_closes_the_link)
{
    fx_t *fx = fx_new("sync-appchunk");
    uint8_t b[64 + 8 + 4];
    memset(b, 'a', 64);
    put32(b + 64, 2);   /* total 2 bytes */
    put32(b + 68, 0);
    memcpy(b + 72, "four", 4); /* 4 bytes of a 2-byte app */
    bad_frame(fx, MSG_APP_CHUNK, b, sizeof b, "down: malformed APP_CHUNK frame");
}

TEST(sync_malformed_joined_closes_the_link)
{
    fx_t *fx = fx_new("sync-joined");
    static const uint8_t b[] = {0, 5, 'd'}; /* says 5 bytes of name, holds 1 */
    bad_frame(fx, MSG_JOINED, b, sizeof b, "down: malformed JOINED frame");
}

/* The peer invites the node to context "d" and leaves its first APP_REQ
 * unanswered (a chunk lost to a full link looks the same to the joiner):
 * the node asks again and joins with the whole module. Every chunk comes
 * twice: the late copies are ignored. */
TEST(sync_join_asks_again_for_a_chunk_left_unanswered)
{
    fx_t *fx = fx_new("sync-join");
    fx->app_len = APP_CHUNK + 1000; /* two chunks */
    fx->app = malloc(fx->app_len);
    ASSERT_NOT_NULL(fx->app);
    randombytes_buf(fx->app, fx->app_len);
    fx->ignore_reqs = 1;
    fx->twice = 1;
    uint8_t inv[2 + 1 + 64 + 4 + 64];
    inv[0] = 0;
    inv[1] = 1;
    inv[2] = 'd';
    memset(inv + 3, 'e', 64); /* the app id (the embedder's join checks it) */
    put32(inv + 67, 2);
    memcpy(inv + 71, fx->pk, 32);
    memcpy(inv + 103, fx->ppk, 32);
    ASSERT_EQ_INT(sync_link_send(fx->link, MSG_INVITE, inv, sizeof inv), 0);
    PUMP(fx, joined);
    pthread_mutex_lock(&fx->mu);
    int joins = fx->joins;
    size_t len = fx->join_wasm_len;
    int same = fx->join_wasm && len == fx->app_len && memcmp(fx->join_wasm, fx->app, len) == 0;
    pthread_mutex_unlock(&fx->mu);
    ASSERT_EQ_INT(joins, 1);
    ASSERT_EQ_STR(fx->join_ctx, "d");
    ASSERT_EQ_U64(len, fx->app_len);
    ASSERT_TRUE(same);
    ASSERT_TRUE(fx->app_reqs >= 3); /* offset 0 twice, then the second chunk */
    ASSERT_EQ_INT(fx->downs, 0);
}

static int got_last_chunk(fx_t *fx) { return fx->chunks > 0 && fx->last_chunk_off == 299; }

static void frames_in_fn(void *user, const weft_sync_peer_t *p)
{
    uint64_t *n = user;
    if (p->up && p->frames_in > *n)
        *n = p->frames_in;
}

/* Frames the node received on its link from the peer (its snapshot,
 * refreshed every 100 ms). */
static uint64_t node_frames_in(fx_t *fx)
{
    uint64_t n = 0;
    weft_sync_peers(fx->s, frames_in_fn, &n);
    return n;
}

/* The peer asks for 300 chunks (offsets 0..299) and reads nothing for a
 * while: the node's link fills past its high-water mark and refuses the
 * later chunks. The last request's chunk is sent again once the link
 * drains (on_writable): the peer gets it, after the others it got. */
TEST(sync_app_chunk_refused_by_a_full_link_is_sent_when_it_drains)
{
    fx_t *fx = fx_new_("sync-rechunk", 1, NULL);
    uint8_t req[64 + 4];
    memcpy(req, SERVED_APP, 64);
    for (uint32_t off = 0; off < 300; off++) {
        put32(req + 64, off);
        ASSERT_EQ_INT(sync_link_send(fx->link, MSG_APP_REQ, req, sizeof req), 0);
    }
    uv_run(&fx->loop, UV_RUN_NOWAIT); /* writes the requests */
    /* the node answers 300 x 256 KiB while nothing is read here (the
     * loop below only waits until it has read the requests; 60 s: a
     * safety net) */
    for (int i = 0; i < 6000 && node_frames_in(fx) < 300; i++)
        usleep(10000);
    ASSERT_TRUE(node_frames_in(fx) >= 300);
    PUMP(fx, got_last_chunk);
    ASSERT_TRUE(fx->chunks < 300); /* some were refused (and not queued) */
    ASSERT_EQ_INT(fx->downs, 0);
}

/* ---- blobs between nodes (blobsync.c) ---- */

/* A blob of 3 chunks and 1000 bytes that only the peer has, announced in
 * context "c" of the node's store (as if the peer's op had replicated). */
static void announce_peer_blob(fx_t *fx)
{
    size_t n = 3 * WEFT_BLOB_CHUNK + 1000, chunks = 4;
    fx->blob = malloc(n);
    fx->blob_rec = malloc(8 + 32 * chunks);
    ASSERT_TRUE(fx->blob && fx->blob_rec);
    randombytes_buf(fx->blob, n);
    fx->blob_len = n;
    fx->blob_rec_len = 8 + 32 * chunks;
    for (int i = 0; i < 8; i++)
        fx->blob_rec[i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    for (size_t i = 0; i < chunks; i++) {
        size_t off = i * WEFT_BLOB_CHUNK, len = n - off < WEFT_BLOB_CHUNK ? n - off : WEFT_BLOB_CHUNK;
        crypto_hash_sha256(fx->blob_rec + 8 + 32 * i, fx->blob + off, len);
    }
    crypto_hash_sha256(fx->blob_id, fx->blob, n);
    weft_txn_t *txn;
    const char *key = WEFT_SYNC_BLOBS_KEY;
    weft_crdt_input_t in = {.field = fx->blob_id, .field_len = 32, .value = fx->blob_rec,
                            .value_len = fx->blob_rec_len};
    ASSERT_EQ_INT(weft_txn_begin(fx->db, WEFT_TXN_WRITE, &txn), 0);
    ASSERT_EQ_INT(weft_crdt_local(txn, fx->ppk, 2000, (const uint8_t *)"c", 1,
                                  (const uint8_t *)key, strlen(key), WEFT_CRDT_LWW_MAP,
                                  WEFT_CRDT_MAP_SET, &in, NULL, NULL),
                  0);
    ASSERT_EQ_INT(weft_txn_commit(txn), 0);
}

/* The same, the peer set before the node starts (so before any request):
 * chunk 1 corrupted once, and nothing answered past 1 good chunk; or
 * past 2. */
static void announce_corrupt_hold1(fx_t *fx)
{
    fx->corrupt = 1;
    fx->hold = 1;
    announce_peer_blob(fx);
}

static void announce_hold2(fx_t *fx)
{
    fx->hold = 2;
    announce_peer_blob(fx);
}

static weft_sync_blob_stats_t blob_stats(fx_t *fx)
{
    weft_sync_blob_stats_t st;
    weft_sync_blob_stats(fx->s, &st);
    return st;
}

static int first_chunk_refused_and_one_stored(fx_t *fx)
{
    weft_sync_blob_stats_t st = blob_stats(fx);
    return st.chunks_refused >= 1 && st.chunks_in >= 1;
}
static int blob_fetched(fx_t *fx) { return blob_stats(fx).fetched == 1; }

/* The node fetches the peer's blob announced in "c": chunk 1's first
 * answer has a byte flipped (refused, logged, counted, never stored);
 * after one good chunk the peer answers nothing and the link drops; once
 * it is back the node asks only for the chunks it lacks, and ends with
 * the blob byte for byte. */
TEST(sync_blob_fetch_refuses_a_bad_chunk_and_resumes_after_a_link_drop)
{
    fx_t *fx = fx_new_("sync-blob", 0, announce_corrupt_hold1);
    /* the node asked for chunks 0..3 (its window) at once, got 0 and a
     * bad 1 */
    PUMP(fx, first_chunk_refused_and_one_stored);
    ASSERT_TRUE(logged_(fx, "refused: its SHA-256 is not the one announced"));
    uint64_t have = 0, size = 0;
    ASSERT_EQ_INT(weft_sync_blob_fetching(fx->s, fx->blob_id, &have, &size), 1);
    ASSERT_EQ_U64(size, fx->blob_len);
    ASSERT_EQ_U64(have, WEFT_BLOB_CHUNK);
    /* Asked once, or more when the loop stalled past RETRY_MS under a
     * loaded machine before its answer came (held answers are never sent). */
    int downs = fx->downs, wants0 = fx->wants[0];
    sync_link_close(fx->link, "the test drops the link");
    fx->hold = 0;
    PUMP(fx, is_down);
    ASSERT_EQ_INT(fx->downs, downs + 1);
    PUMP(fx, is_up); /* the peer redials */
    PUMP(fx, blob_fetched);
    ASSERT_EQ_INT(fx->wants[0], wants0); /* stored before the drop: never asked again */
    ASSERT_TRUE(fx->wants[1] >= 2); /* refused once, asked again */
    weft_sync_blob_stats_t st = blob_stats(fx);
    ASSERT_TRUE(st.chunks_in >= 4); /* 4, or more if a retry's answer came twice */
    ASSERT_EQ_U64(st.chunks_refused, 1);
    ASSERT_EQ_U64(st.fetching, 0);
    ASSERT_EQ_INT(weft_sync_blob_fetching(fx->s, fx->blob_id, NULL, NULL), 0);
    uint8_t *got = malloc(fx->blob_len);
    ASSERT_NOT_NULL(got);
    test_defer(free, got);
    size_t n = 0;
    weft_txn_t *txn;
    ASSERT_EQ_INT(weft_txn_begin(fx->db, WEFT_TXN_READ, &txn), 0);
    int rc = weft_blob_read(txn, fx->blob_id, 0, got, fx->blob_len, &n);
    weft_txn_abort(txn);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_EQ_U64(n, fx->blob_len);
    ASSERT_TRUE(memcmp(got, fx->blob, n) == 0);
    ASSERT_TRUE(logged_(fx, "fetched for context c"));
}

static int got_none(fx_t *fx) { return fx->nones > 0; }

/* A peer asking for a blob announced to no context it shares gets
 * BLOB_NONE (logged); a malformed BLOB_WANT closes the link. */
TEST(sync_blob_want_of_a_blob_not_announced_is_refused)
{
    fx_t *fx = fx_new("sync-blob-none");
    uint8_t want[36] = {0};
    memset(want, 0x5a, 32);
    ASSERT_EQ_INT(sync_link_send(fx->link, SYNC_MSG_BLOB_WANT, want, sizeof want), 0);
    PUMP(fx, got_none);
    ASSERT_TRUE(logged_(fx, "announced to no context it shares with this node: refused"));
    ASSERT_EQ_U64(blob_stats(fx).chunks_served, 0);
    bad_frame(fx, SYNC_MSG_BLOB_WANT, want, 35, "down: malformed BLOB_WANT frame");
}

TEST(sync_malformed_blob_chunk_closes_the_link)
{
    fx_t *fx = fx_new("sync-blob-chunk");
    uint8_t b[36] = {0}; /* a chunk of no bytes */
    bad_frame(fx, SYNC_MSG_BLOB_CHUNK, b, sizeof b, "down: malformed BLOB_CHUNK frame");
}

static int two_chunks_stored(fx_t *fx) { return blob_stats(fx).chunks_in >= 2; }

/* The node stops after two chunks of the peer's blob are stored and
 * starts again on its data directory (on another port the peer is told):
 * it asks only for the two chunks it lacks. */
TEST(sync_blob_fetch_resumes_after_a_restart)
{
    fx_t *fx = fx_new_("sync-blob-restart", 0, announce_hold2);
    char addr[64];
    PUMP(fx, two_chunks_stored);
    int wants0 = fx->wants[0], wants1 = fx->wants[1]; /* more than 1 after a stalled loop */
    weft_sync_stop(fx->s);
    fx->s = NULL;
    PUMP(fx, is_down);
    ASSERT_TRUE(logged_(fx, "0 of 4 chunks here"));
    fx->hold = 0;
    node_start(fx, addr, sizeof addr);
    ASSERT_EQ_INT(sync_links_add_peer(fx->links, addr), 0);
    PUMP(fx, blob_fetched);
    ASSERT_TRUE(logged_(fx, "2 of 4 chunks here"));
    ASSERT_EQ_INT(fx->wants[0], wants0); /* stored: not asked again */
    ASSERT_EQ_INT(fx->wants[1], wants1);
    ASSERT_TRUE(blob_stats(fx).chunks_in >= 2); /* this run's */
    weft_txn_t *txn;
    uint64_t size = 0;
    ASSERT_EQ_INT(weft_txn_begin(fx->db, WEFT_TXN_READ, &txn), 0);
    int rc = weft_blob_stat(txn, fx->blob_id, &size);
    weft_txn_abort(txn);
    ASSERT_EQ_INT(rc, 0);
    ASSERT_EQ_U64(size, fx->blob_len);
}

/* Two blobs announced first (their ids sort before the peer's) whose
 * chunks nobody has: the peer answers BLOB_NONE, and they wait without
 * holding up the fetch of the blob the peer has. */
static void announce_two_lost_then_peer_blob(fx_t *fx)
{
    uint8_t rec[8 + 32] = {0, 0, 0, 0, 0, 0, 0, 10}, id[32];
    const char *key = WEFT_SYNC_BLOBS_KEY;
    weft_txn_t *txn;
    ASSERT_EQ_INT(weft_txn_begin(fx->db, WEFT_TXN_WRITE, &txn), 0);
    for (int i = 0; i < 2; i++) {
        memset(id, 0, sizeof id);
        id[31] = (uint8_t)(i + 1);
        randombytes_buf(rec + 8, 32);
        weft_crdt_input_t in = {.field = id, .field_len = 32, .value = rec, .value_len = 40};
        ASSERT_EQ_INT(weft_crdt_local(txn, fx->ppk, 1500, (const uint8_t *)"c", 1,
                                      (const uint8_t *)key, strlen(key), WEFT_CRDT_LWW_MAP,
                                      WEFT_CRDT_MAP_SET, &in, NULL, NULL),
                      0);
    }
    ASSERT_EQ_INT(weft_txn_commit(txn), 0);
    announce_peer_blob(fx);
}

TEST(sync_blobs_nobody_has_do_not_hold_up_the_others)
{
    fx_t *fx = fx_new_("sync-blob-lost", 0, announce_two_lost_then_peer_blob);
    PUMP(fx, blob_fetched);
    weft_sync_blob_stats_t st = blob_stats(fx);
    ASSERT_EQ_U64(st.fetching, 2); /* the two lost ones wait */
    ASSERT_EQ_U64(st.chunks_in, 4);
}
