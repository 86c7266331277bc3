/*
 * test_replicate.c — the node's side of sync (src/node/replicate.c,
 * docs/sync.md "Membership"): contexts' members, numbers that survive a
 * context's deletion, and two nodes in one process replicating a context
 * over real peer links on loopback (the invitation, the app's transfer,
 * pushes both ways, what a peer that is no member gets). The app is
 * tests/node/guests/node_app.c (its `bump` is a GCounter +1 on "hits").
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../unit/test.h"
#include "../store/tmpdir.h"
#include "weft/crdt_store.h"
#include "weft/db.h"
#include "weft/error.h"
#include "weft/node.h"
#include "node_app.h"

static void close_node(void *arg)
{
    weft_node_close(arg);
}

static void quiet(void *user, const char *line)
{
    (void)user;
    (void)line;
}

/* A one-worker node with a fsync-free store; peer links when listen or
 * peer given. The caller closes it. */
static weft_node_t *open_node_unowned(const char *dir, unsigned flags, const char *listen,
                                      const char *peer)
{
    weft_node_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = dir;
    cfg.flags = WEFT_NODE_DB_NOSYNC | flags;
    cfg.workers = 1;
    cfg.peer_listen = listen;
    cfg.peers = peer ? &peer : NULL;
    cfg.npeers = peer ? 1 : 0;
    cfg.sync_log = getenv("SYNC_LOG") ? NULL : quiet;
    char msg[256];
    weft_node_t *n = NULL;
    if (weft_node_open(&cfg, &n, msg, sizeof msg) != 0)
        FAIL("weft_node_open: %s", msg);
    return n;
}

/* open_node_unowned, closed at the end of the test. */
static weft_node_t *open_node(const char *dir, unsigned flags, const char *listen,
                              const char *peer)
{
    weft_node_t *n = open_node_unowned(dir, flags, listen, peer);
    test_defer(close_node, n);
    return n;
}

/* A node without peers that the test closes itself, to open its
 * directory in between. */
static weft_node_t *open_closed_by_caller(const char *dir)
{
    return open_node_unowned(dir, 0, NULL, NULL);
}

static void deploy(weft_node_t *n, char id[WEFT_APP_ID_LEN + 1])
{
    char msg[512];
    load_app();
    if (weft_node_app_deploy(n, app_bytes, app_len, "node_app", id, msg, sizeof msg) != 0)
        FAIL("deploy: %s", msg);
}

static int call_ok(weft_node_t *n, const char *ctx, const char *fn, const char *input)
{
    weft_call_req_t req = node_req(ctx, fn, input);
    weft_call_result_t *res = NULL;
    ASSERT_EQ_INT(weft_node_call(n, &req, &res), 0);
    int ok = weft_call_result_outcome(res) == WEFT_CALL_OK;
    if (!ok)
        FAIL("%s: %s", fn, weft_call_result_message(res));
    weft_call_result_delete(res);
    return ok;
}

typedef struct {
    uint8_t ids[8][32];
    size_t n;
} ids_t;

static void add_id(void *user, const uint8_t id[32])
{
    ids_t *v = user;
    if (v->n < 8)
        memcpy(v->ids[v->n++], id, 32);
}

static int count_key(void *user, const uint8_t *key, size_t key_len, const char *type)
{
    (*(size_t *)user)++;
    return 0;
}

TEST(members_are_set_at_creation_and_changed_later)
{
    char *dir = tmpdir_new("members");
    weft_node_t *n = open_node(dir, 0, NULL, NULL);
    char app[WEFT_APP_ID_LEN + 1], msg[256];
    deploy(n, app);
    uint8_t other[2][32];
    memset(other[0], 0x11, 32);
    memset(other[1], 0x22, 32);
    ASSERT_EQ_INT(weft_node_context_create_members(n, "c", app, other[0], 1, msg, sizeof msg), 0);
    ids_t v = {0};
    ASSERT_EQ_INT(weft_node_context_members(n, "c", add_id, &v), 0);
    ASSERT_EQ_INT(v.n, 2); /* this node and the one given, in id order */
    const uint8_t *self = weft_node_id(n);
    int self_first = memcmp(self, other[0], 32) < 0;
    ASSERT_TRUE(memcmp(v.ids[self_first ? 0 : 1], self, 32) == 0);
    ASSERT_TRUE(memcmp(v.ids[self_first ? 1 : 0], other[0], 32) == 0);

    ASSERT_EQ_INT(weft_node_context_members_change(n, "c", other[1], 1, other[0], 1, msg,
                                                   sizeof msg), 0);
    memset(&v, 0, sizeof v);
    ASSERT_EQ_INT(weft_node_context_members(n, "c", add_id, &v), 0);
    ASSERT_EQ_INT(v.n, 2);
    ASSERT_TRUE(memcmp(v.ids[0], other[1], 32) == 0 || memcmp(v.ids[1], other[1], 32) == 0);
    ASSERT_TRUE(memcmp(v.ids[0], other[0], 32) != 0 && memcmp(v.ids[1], other[0], 32) != 0);
    ASSERT_EQ_INT(weft_node_context_members_change(n, "nope", other[1], 1, NULL, 0, msg,
                                                   sizeof msg), WEFT_ENOTFOUND);

    /* The members' key is the runtime's: listings of the app's CRDT keys
     * leave it out. */
    int more = 0;
    size_t keys = 0;
    ASSERT_EQ_INT(weft_node_crdt_list(n, "c", NULL, 0, 100, count_key, &keys, &more), 0);
    ASSERT_EQ_INT(keys, 0);
}

TEST(members_need_replication)
{
    char *dir = tmpdir_new("members-off");
    weft_node_t *n = open_node(dir, WEFT_NODE_NO_SYNC, NULL, NULL);
    char app[WEFT_APP_ID_LEN + 1], msg[256];
    deploy(n, app);
    uint8_t other[32];
    memset(other, 0x11, 32);
    ASSERT_EQ_INT(weft_node_context_create_members(n, "c", app, other, 1, msg, sizeof msg),
                  WEFT_EARG);
    ASSERT_TRUE(strstr(msg, "replication") != NULL);
    ASSERT_EQ_INT(weft_node_context_create(n, "c", app, msg, sizeof msg), 0);
    ASSERT_EQ_INT(weft_node_context_members_change(n, "c", other, 1, NULL, 0, msg, sizeof msg),
                  WEFT_EARG);
}

/* The first event's number of a `put` call. */
static uint64_t put_event_seq(weft_node_t *n, const char *ctx)
{
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = ctx;
    req.function = "put";
    req.input = (const uint8_t *)"k=v";
    req.input_len = 3;
    weft_call_result_t *res = NULL;
    ASSERT_EQ_INT(weft_node_call(n, &req, &res), 0);
    ASSERT_EQ_INT(weft_call_result_outcome(res), WEFT_CALL_OK);
    ASSERT_TRUE(weft_call_result_event_count(res) >= 1);
    const char *name;
    size_t nl, pl;
    const uint8_t *p;
    uint64_t seq = 0;
    weft_call_result_event(res, 0, &name, &nl, &p, &pl, &seq);
    weft_call_result_delete(res);
    return seq;
}

/* open_closed_by_caller on a fresh dir, the app deployed (app) and context
 * "c" created; id gets the node's id. */
static weft_node_t *node_with_c(const char *dir, char app[WEFT_APP_ID_LEN + 1], uint8_t id[32])
{
    char msg[256];
    weft_node_t *n = open_closed_by_caller(dir);
    deploy(n, app);
    memcpy(id, weft_node_id(n), 32);
    ASSERT_EQ_INT(weft_node_context_create(n, "c", app, msg, sizeof msg), 0);
    return n;
}

TEST(a_recreated_context_never_reuses_event_numbers_or_crdt_seqs)
{
    char *dir = tmpdir_new("recreate");
    char msg[256], app[WEFT_APP_ID_LEN + 1];
    uint8_t id[32];
    weft_node_t *n = node_with_c(dir, app, id);
    ASSERT_EQ_INT(put_event_seq(n, "c"), 1);
    ASSERT_EQ_INT(put_event_seq(n, "c"), 2);
    call_ok(n, "c", "bump", NULL);
    call_ok(n, "c", "bump", NULL);
    ASSERT_EQ_INT(weft_node_context_delete(n, "c"), 0);
    ASSERT_EQ_INT(weft_node_context_create(n, "c", app, msg, sizeof msg), 0);
    ASSERT_EQ_INT(put_event_seq(n, "c"), 3);
    call_ok(n, "c", "bump", NULL);
    weft_node_close(n);

    /* This node's ops in "c": the members' add at each creation and two
     * bumps, then the add and one bump: seqs 1..3, then 4..5, not 1..2. */
    weft_db_t *db = NULL;
    ASSERT_EQ_INT(weft_db_open(dir, WEFT_DB_NOSYNC, &db, msg, sizeof msg), 0);
    weft_txn_t *txn = NULL;
    ASSERT_EQ_INT(weft_txn_begin(db, WEFT_TXN_READ, &txn), 0);
    weft_crdt_node_t self;
    ASSERT_EQ_INT(weft_crdt_node_load(txn, (const uint8_t *)"c", 1, id, &self), 0);
    ASSERT_EQ_INT(self.next_seq, 6);
    weft_txn_abort(txn);
    weft_db_close(db);
}

/* The stamp of the newest op of origin id in a context's log. */
typedef struct {
    const uint8_t *id;
    uint64_t hlc;
} newest_t;

static int newest_of(void *user, const uint8_t *bytes, size_t len)
{
    newest_t *n = user;
    weft_crdt_op_t op;
    if (weft_crdt_op_decode(bytes, len, &op) == 0 && memcmp(op.origin, n->id, 32) == 0)
        n->hlc = op.hlc; /* in seq order */
    return 0;
}

/* Opens dir's store while no node has it: *clock gets this node's clock in
 * "c", the return the stamp of its newest op there; a remote op stamped
 * `ahead` (0: none) is applied first. */
static uint64_t clock_in_c(const char *dir, const uint8_t id[32], uint64_t ahead, uint64_t *clock)
{
    char msg[256];
    weft_db_t *db = NULL;
    weft_txn_t *txn = NULL;
    ASSERT_EQ_INT(weft_db_open(dir, WEFT_DB_NOSYNC, &db, msg, sizeof msg), 0);
    ASSERT_EQ_INT(weft_txn_begin(db, WEFT_TXN_WRITE, &txn), 0);
    if (ahead) {
        static const uint8_t plus1[] = {1, 1};
        weft_crdt_op_t op = {.context = (const uint8_t *)"c", .context_len = 1,
                             .key = (const uint8_t *)"far", .key_len = 3,
                             .type = WEFT_CRDT_GCOUNTER, .kind = WEFT_CRDT_INC, .seq = 1,
                             .hlc = ahead, .payload = plus1, .payload_len = 2};
        memset(op.origin, 0x77, 32);
        uint8_t enc[128];
        size_t len;
        ASSERT_EQ_INT(weft_crdt_op_encode(&op, enc, sizeof enc, &len), 0);
        ASSERT_EQ_INT(weft_crdt_apply_remote(txn, enc, len, 1000), 0);
    }
    weft_crdt_node_t self;
    ASSERT_EQ_INT(weft_crdt_node_load(txn, (const uint8_t *)"c", 1, id, &self), 0);
    *clock = self.hlc.last;
    newest_t n = {id, 0};
    ASSERT_EQ_INT(weft_crdt_missing(txn, (const uint8_t *)"c", 1, NULL, 0, newest_of, &n), 0);
    ASSERT_EQ_INT(weft_txn_commit(txn), 0);
    weft_db_close(db);
    return n.hlc;
}

/* A context's CRDT clock (docs/sync.md "Clocks") is stored with it: its
 * stamps go on increasing across a restart, above a remote clock it saw
 * far ahead of ours, and across the context's deletion and re-creation
 * under the same name (peers may keep the old context's states). */
TEST(a_context_clock_goes_on_across_restart_and_recreation)
{
    char *dir = tmpdir_new("clock");
    char msg[256], app[WEFT_APP_ID_LEN + 1];
    uint8_t id[32];
    weft_node_t *n = node_with_c(dir, app, id);
    call_ok(n, "c", "bump", NULL);
    weft_node_close(n);
    uint64_t clock, first = clock_in_c(dir, id, 0, &clock);
    ASSERT_GT_U64(first, 0);
    ASSERT_EQ_U64(clock, first);

    const uint64_t ahead = (uint64_t)4102444800000 << 16; /* year 2100 */
    clock_in_c(dir, id, ahead, &clock);
    ASSERT_GT_U64(clock, ahead);
    uint64_t seen = clock;

    n = open_closed_by_caller(dir);
    call_ok(n, "c", "bump", NULL);
    weft_node_close(n);
    uint64_t after_restart = clock_in_c(dir, id, 0, &clock);
    ASSERT_GT_U64(after_restart, seen);

    n = open_closed_by_caller(dir);
    ASSERT_EQ_INT(weft_node_context_delete(n, "c"), 0);
    ASSERT_EQ_INT(weft_node_context_create(n, "c", app, msg, sizeof msg), 0);
    call_ok(n, "c", "bump", NULL);
    weft_node_close(n);
    ASSERT_GT_U64(clock_in_c(dir, id, 0, &clock), after_restart);
}

/* Polls fn until it returns 1, for up to 60 s (a safety net, not a
 * timing assertion). */
static int eventually(int (*fn)(void *), void *arg)
{
    for (int i = 0; i < 6000; i++) {
        if (fn(arg))
            return 1;
        usleep(10000);
    }
    return 0;
}

typedef struct {
    weft_node_t *n;
    const char *want;
} hits_t;

static int hits_are(void *arg)
{
    hits_t *h = arg;
    char *json = NULL;
    if (weft_node_crdt_json(h->n, "c", (const uint8_t *)"hits", 4, &json) != 0)
        return 0;
    int ok = strstr(json, h->want) != NULL;
    free(json);
    return ok;
}

typedef struct {
    const uint8_t *id;
    int up;
} peer_seen_t;

static void see_peer(void *user, const weft_sync_peer_t *p)
{
    peer_seen_t *s = user;
    if (p->up && memcmp(p->id, s->id, 32) == 0)
        s->up = 1;
}

static int linked(void *arg)
{
    void **a = arg;
    peer_seen_t s = {a[1], 0};
    weft_node_peers(a[0], see_peer, &s);
    return s.up;
}

TEST(two_nodes_replicate_a_context_both_ways)
{
    char *da = tmpdir_new("repl-a"), *db = tmpdir_new("repl-b"), *dc = tmpdir_new("repl-c");
    weft_node_t *a = open_node(da, 0, "127.0.0.1:0", NULL);
    int port = weft_node_peer_port(a);
    ASSERT_TRUE(port > 0);
    char peer[64];
    snprintf(peer, sizeof peer, "127.0.0.1:%d", port);
    weft_node_t *b = open_node(db, 0, NULL, peer);
    weft_node_t *c = open_node(dc, 0, NULL, peer); /* linked, but no member */
    void *ab[2] = {a, (void *)weft_node_id(b)}, *ac[2] = {a, (void *)weft_node_id(c)};
    ASSERT_TRUE(eventually(linked, ab));
    ASSERT_TRUE(eventually(linked, ac));

    char app[WEFT_APP_ID_LEN + 1], msg[256];
    deploy(a, app); /* only on a: b gets the module through the invitation */
    ASSERT_EQ_INT(weft_node_context_create_members(a, "c", app, weft_node_id(b), 1, msg,
                                                   sizeof msg), 0);
    for (int i = 0; i < 3; i++)
        call_ok(a, "c", "bump", NULL);
    hits_t hb = {b, "\"value\":3"};
    ASSERT_TRUE(eventually(hits_are, &hb));
    weft_app_info_t info;
    ASSERT_EQ_INT(weft_node_app_get(b, app, &info), 0);

    for (int i = 0; i < 2; i++)
        call_ok(b, "c", "bump", NULL);
    hits_t ha = {a, "\"value\":5"};
    ASSERT_TRUE(eventually(hits_are, &ha));

    /* c is linked to a and b but no member: it has neither the context nor
     * the app, and after all that traffic still has not. */
    weft_context_info_t ci;
    ASSERT_EQ_INT(weft_node_context_get(c, "c", &ci), WEFT_ENOTFOUND);
    ASSERT_EQ_INT(weft_node_app_get(c, app, &info), WEFT_ENOTFOUND);
}

/* a - b - c in a line (only b listens, so a and c can never link, gossip
 * or not): a member that a adds to a's context later learns of it from b,
 * the only node it is linked to, once the op that adds it reached b. */
TEST(a_member_added_elsewhere_is_invited_by_the_peer_it_is_linked_to)
{
    char *da = tmpdir_new("line-a"), *db = tmpdir_new("line-b"), *dc = tmpdir_new("line-c");
    weft_node_t *b = open_node(db, 0, "127.0.0.1:0", NULL);
    char pb[64];
    snprintf(pb, sizeof pb, "127.0.0.1:%d", weft_node_peer_port(b));
    weft_node_t *a = open_node(da, 0, NULL, pb);
    weft_node_t *c = open_node(dc, 0, NULL, pb);
    void *ab[2] = {a, (void *)weft_node_id(b)}, *bc[2] = {b, (void *)weft_node_id(c)};
    ASSERT_TRUE(eventually(linked, ab));
    ASSERT_TRUE(eventually(linked, bc));

    char app[WEFT_APP_ID_LEN + 1], msg[256];
    deploy(a, app);
    ASSERT_EQ_INT(weft_node_context_create_members(a, "c", app, weft_node_id(b), 1, msg,
                                                   sizeof msg), 0);
    call_ok(a, "c", "bump", NULL);
    hits_t hb = {b, "\"value\":1"};
    ASSERT_TRUE(eventually(hits_are, &hb));
    ASSERT_EQ_INT(weft_node_context_members_change(a, "c", weft_node_id(c), 1, NULL, 0, msg,
                                                   sizeof msg), 0);
    call_ok(a, "c", "bump", NULL);
    hits_t hc = {c, "\"value\":2"};
    ASSERT_TRUE(eventually(hits_are, &hc));
    peer_seen_t s = {weft_node_id(c), 0};
    weft_node_peers(a, see_peer, &s);
    ASSERT_EQ_INT(s.up, 0); /* it came through b */
}
