/*
 * test_damage.c — a damaged data directory is an error, never a crash
 * (src/store/guard.c, the checks of store_open, weft_db_verify), and
 * weft_txn_contexts.
 *
 * Damage is made on purpose: data.mdb truncated before opening, truncated
 * under an open database (so LMDB's next read of a page faults with
 * SIGBUS inside the guard), removed or emptied, pages overwritten with
 * garbage. tests/store/damage_test.sh does the same through the weft
 * command line with real application data and single-bit flips.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/test.h"
#include "tmpdir.h"
#include "store.h"
#include "weft/db.h"
#include "weft/error.h"

#define KV WEFT_SPACE_KV
#define C(s) (const uint8_t *)(s), strlen(s)

static const char *data_file(const char *dir)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    return path;
}

static off_t file_size(const char *path)
{
    struct stat st;
    ASSERT_EQ_INT(stat(path, &st), 0);
    return st.st_size;
}

/* A directory holding `n` keys of 100 bytes and one 20 KB value (overflow
 * pages) in context "app", and a long key (stored under a head and tag);
 * closed again. */
static const char *make_dir(int n)
{
    const char *dir = tmpdir_new("damage");
    weft_db_t *db = NULL;
    weft_txn_t *t = NULL;
    char msg[256], key[32], val[100];
    static uint8_t big[20000], longkey[900];
    ASSERT_EQ_INT(weft_db_open(dir, WEFT_DB_NOSYNC, &db, msg, sizeof msg), 0);
    ASSERT_EQ_INT(weft_txn_begin(db, WEFT_TXN_WRITE, &t), 0);
    memset(val, 'v', sizeof val);
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "key%06d", i);
        ASSERT_EQ_INT(weft_txn_put(t, KV, C("app"), C(key), (const uint8_t *)val, sizeof val), 0);
    }
    memset(big, 'b', sizeof big);
    ASSERT_EQ_INT(weft_txn_put(t, KV, C("app"), C("big"), big, sizeof big), 0);
    memset(longkey, 'k', sizeof longkey);
    ASSERT_EQ_INT(weft_txn_put(t, KV, C("app"), longkey, sizeof longkey, C("long")), 0);
    ASSERT_EQ_INT(weft_txn_put(t, WEFT_SPACE_CRDT, C("other"), C("c"), C("x")), 0);
    ASSERT_EQ_INT(weft_txn_commit(t), 0);
    weft_db_close(db);
    return dir;
}

typedef struct {
    int lines, problems;
    char first[600];
} report_t;

static void on_line(void *user, int problem, const char *line)
{
    report_t *r = user;
    r->lines++;
    if (problem && r->problems++ == 0)
        snprintf(r->first, sizeof r->first, "%s", line);
}

static int verify_dir(const char *dir, report_t *r)
{
    weft_db_t *db = NULL;
    char msg[512];
    int rc = weft_db_open(dir, WEFT_DB_READONLY, &db, msg, sizeof msg);
    if (rc != 0)
        return rc;
    memset(r, 0, sizeof *r);
    rc = weft_db_verify(db, on_line, r);
    weft_db_close(db);
    return rc;
}

TEST(verify_passes_a_healthy_directory)
{
    const char *dir = make_dir(2000);
    report_t r;
    ASSERT_EQ_INT(verify_dir(dir, &r), 0);
    ASSERT_EQ_INT(r.problems, 0);
    ASSERT_TRUE(r.lines > 8); /* a summary per space */
}

TEST(truncated_data_file_is_damaged_at_open)
{
    const char *dir = make_dir(2000);
    off_t size = file_size(data_file(dir));
    weft_db_t *db = NULL;
    char msg[512] = "";
    ASSERT_TRUE(size > 64 * 1024);
    ASSERT_EQ_INT(truncate(data_file(dir), size / 2), 0);
    ASSERT_EQ_INT(weft_db_open(dir, 0, &db, msg, sizeof msg), WEFT_EDAMAGED);
    ASSERT_TRUE(strstr(msg, "is damaged") && strstr(msg, "truncated"));
    ASSERT_EQ_INT(weft_db_open(dir, WEFT_DB_READONLY, &db, msg, sizeof msg), WEFT_EDAMAGED);
    ASSERT_EQ_INT(truncate(data_file(dir), 8192), 0);
    ASSERT_EQ_INT(weft_db_open(dir, WEFT_DB_READONLY, &db, msg, sizeof msg), WEFT_EDAMAGED);
    ASSERT_EQ_U64((uint64_t)file_size(data_file(dir)), 8192); /* left as found */
}

TEST(missing_or_empty_data_file_next_to_lock_is_damaged)
{
    const char *dir = make_dir(10);
    weft_db_t *db = NULL;
    char msg[512] = "";
    ASSERT_EQ_INT(truncate(data_file(dir), 0), 0);
    ASSERT_EQ_INT(weft_db_open(dir, 0, &db, msg, sizeof msg), WEFT_EDAMAGED);
    ASSERT_TRUE(strstr(msg, "empty") != NULL);
    ASSERT_EQ_U64((uint64_t)file_size(data_file(dir)), 0); /* not made a new database */
    ASSERT_EQ_INT(unlink(data_file(dir)), 0);
    ASSERT_EQ_INT(weft_db_open(dir, 0, &db, msg, sizeof msg), WEFT_EDAMAGED);
    ASSERT_TRUE(strstr(msg, "missing") != NULL);
    ASSERT_EQ_INT(access(data_file(dir), F_OK), -1);
}

/* What a writer killed while it created a new directory leaves (LMDB makes
 * lock.mdb, then data.mdb, then writes its first pages): lock.mdb, empty or
 * not, next to an empty or missing data.mdb, and no write.lock. That
 * directory never held anything: it opens as a new one and works (it was
 * refused as damaged, found by store.crash_kill9_batch1 under load). */
TEST(directory_killed_while_being_created_opens_as_new)
{
    for (int variant = 0; variant < 3; variant++) {
        const char *dir = tmpdir_new("damage");
        char path[4096], msg[512] = "";
        weft_db_t *db = NULL;
        weft_txn_t *t = NULL;
        const uint8_t *got = NULL;
        size_t got_len = 0;
        snprintf(path, sizeof path, "%s/lock.mdb", dir);
        int fd = open(path, O_RDWR | O_CREAT, 0600);
        ASSERT_TRUE(fd >= 0);
        if (variant == 1) ASSERT_EQ_INT(ftruncate(fd, 8192), 0); /* sized, not yet written */
        close(fd);
        if (variant != 2) { /* 2: killed before data.mdb was made */
            fd = open(data_file(dir), O_RDWR | O_CREAT, 0600);
            ASSERT_TRUE(fd >= 0);
            close(fd);
        }
        ASSERT_EQ_INT(weft_db_open(dir, 0, &db, msg, sizeof msg), 0);
        ASSERT_EQ_INT(weft_txn_begin(db, WEFT_TXN_WRITE, &t), 0);
        ASSERT_EQ_INT(weft_txn_put(t, KV, C("app"), C("k"), C("v")), 0);
        ASSERT_EQ_INT(weft_txn_commit(t), 0);
        weft_db_close(db);
        ASSERT_EQ_INT(weft_db_open(dir, WEFT_DB_READONLY, &db, msg, sizeof msg), 0);
        ASSERT_EQ_INT(weft_txn_begin(db, WEFT_TXN_READ, &t), 0);
        ASSERT_EQ_INT(weft_txn_get(t, KV, C("app"), C("k"), &got, &got_len), 0);
        ASSERT_EQ_U64(got_len, 1);
        ASSERT_EQ_INT(got[0], 'v');
        weft_txn_abort(t);
        weft_db_close(db);
    }
}

/* The file shrinks under an open database: LMDB's next read of a page past
 * the new end faults (SIGBUS) inside the guard and comes back as
 * WEFT_EDAMAGED; the transaction is dead, the process and the db alive. */
TEST(fault_inside_the_map_is_an_error)
{
    const char *dir = make_dir(2000);
    weft_db_t *db = NULL;
    weft_txn_t *t = NULL;
    char msg[512];
    const uint8_t *v;
    size_t n;
    ASSERT_EQ_INT(weft_db_open(dir, WEFT_DB_NOSYNC, &db, msg, sizeof msg), 0);
    ASSERT_EQ_INT(truncate(data_file(dir), 8192), 0);
    ASSERT_EQ_INT(weft_txn_begin(db, WEFT_TXN_READ, &t), 0);
    ASSERT_EQ_INT(weft_txn_get(t, KV, C("app"), C("key001000"), &v, &n), WEFT_EDAMAGED);
    ASSERT_TRUE(strstr(weft_db_errmsg(db), "is damaged") != NULL);
    ASSERT_TRUE(strstr(weft_db_errmsg(db), "SIGBUS") != NULL);
    ASSERT_EQ_INT(weft_txn_get(t, KV, C("app"), C("key000001"), &v, &n), WEFT_EDAMAGED);
    weft_txn_abort(t);
    /* a write transaction meets it too, and is released */
    ASSERT_EQ_INT(weft_txn_begin(db, WEFT_TXN_WRITE, &t), 0);
    ASSERT_EQ_INT(weft_txn_put(t, KV, C("app"), C("key001000"), C("x")), WEFT_EDAMAGED);
    ASSERT_EQ_INT(weft_txn_commit(t), WEFT_EDAMAGED);
    ASSERT_EQ_INT(weft_txn_begin(db, WEFT_TXN_READ, &t), 0); /* the db still works */
    weft_txn_abort(t);
    weft_db_close(db);
}

/* Every data page overwritten with one garbage pattern after another:
 * verify and a scan report damage (or, for a pattern LMDB happens to
 * accept, anything) but never crash. */
static int count_rows(void *user, const uint8_t *k, size_t kn, const uint8_t *v, size_t vn)
{
    (void)k, (void)kn;
    if (vn)
        *(size_t *)user += v[0] + v[vn - 1]; /* reads the value's both ends */
    return 0;
}

TEST(garbage_pages_never_crash)
{
    static const uint8_t patterns[] = {0x00, 0xff, 0x5a, 0x01, 0x80};
    for (size_t p = 0; p < sizeof patterns; p++) {
        const char *dir = make_dir(300);
        off_t size = file_size(data_file(dir));
        uint8_t page[4096];
        report_t r;
        int fd = open(data_file(dir), O_WRONLY);
        ASSERT_TRUE(fd >= 0);
        for (off_t off = 2 * 4096; off < size; off += 4096) {
            memset(page, patterns[p], sizeof page);
            /* keep a plausible page number so LMDB gets further in */
            uint64_t pg = (uint64_t)(off / 4096);
            memcpy(page, &pg, sizeof pg);
            ASSERT_EQ_INT((int)pwrite(fd, page, sizeof page, off), (int)sizeof page);
        }
        close(fd);
        int rc = verify_dir(dir, &r);
        ASSERT_TRUE(rc == WEFT_EDAMAGED);
        weft_db_t *db = NULL;
        char msg[512];
        if (weft_db_open(dir, WEFT_DB_READONLY, &db, msg, sizeof msg) == 0) {
            weft_txn_t *t = NULL;
            size_t sum = 0;
            if (weft_txn_begin(db, WEFT_TXN_READ, &t) == 0) {
                weft_txn_scan(t, KV, C("app"), NULL, 0, NULL, 0, count_rows, &sum);
                weft_txn_abort(t);
            }
            weft_db_close(db);
        }
    }
}

typedef struct {
    char names[256];
    uint64_t total;
} ctxs_t;

static int on_ctx(void *user, const uint8_t *ctx, size_t len, uint64_t keys)
{
    ctxs_t *c = user;
    size_t at = strlen(c->names);
    snprintf(c->names + at, sizeof c->names - at, "%.*s=%llu;", (int)len, (const char *)ctx,
             (unsigned long long)keys);
    c->total += keys;
    return 0;
}

TEST(contexts_listed_in_order_with_counts)
{
    const char *dir = make_dir(5);
    weft_db_t *db = NULL;
    weft_txn_t *t = NULL;
    char msg[256];
    ctxs_t c;
    ASSERT_EQ_INT(weft_db_open(dir, WEFT_DB_NOSYNC, &db, msg, sizeof msg), 0);
    ASSERT_EQ_INT(weft_txn_begin(db, WEFT_TXN_WRITE, &t), 0);
    ASSERT_EQ_INT(weft_txn_put(t, KV, C("a"), C("k"), C("v")), 0);
    ASSERT_EQ_INT(weft_txn_put(t, KV, C("ab"), C("k"), C("v")), 0);
    ASSERT_EQ_INT(weft_txn_put(t, KV, C("zz"), C("k1"), C("v")), 0);
    ASSERT_EQ_INT(weft_txn_put(t, KV, C("zz"), C("k2"), C("v")), 0);
    memset(&c, 0, sizeof c);
    /* the encoding puts the length first: shorter names come first */
    ASSERT_EQ_INT(weft_txn_contexts(t, KV, on_ctx, &c), 0);
    ASSERT_EQ_STR(c.names, "a=1;ab=1;zz=2;app=7;");
    memset(&c, 0, sizeof c);
    ASSERT_EQ_INT(weft_txn_contexts(t, WEFT_SPACE_CRDT, on_ctx, &c), 0);
    ASSERT_EQ_STR(c.names, "other=1;");
    memset(&c, 0, sizeof c);
    ASSERT_EQ_INT(weft_txn_contexts(t, WEFT_SPACE_BLOBS, on_ctx, &c), 0);
    ASSERT_EQ_STR(c.names, "");
    ASSERT_EQ_INT(weft_txn_contexts(t, WEFT_SPACE_META, on_ctx, &c), WEFT_EARG);
    weft_txn_abort(t);
    weft_db_close(db);
}
