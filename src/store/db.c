/*
 * db.c — weft/db.h on LMDB: one MDB_env per data directory, one named
 * database per weft_space_t, transactions, scans and context drops.
 *
 * Key layout. A (context, key) pair is encoded as [u8 ctx_len][ctx][key],
 * so a context is one contiguous key range and keys within it sort
 * bytewise. Debian's LMDB caps keys at 511 bytes, but an encoded key can be
 * 1 + 255 + 1024 bytes; an encoded key longer than HEAD_LEN is therefore
 * stored under HEAD_LEN bytes of it plus a 16-byte BLAKE3 tag of the whole
 * key, and its remaining bytes (the tail) lead its value:
 *   short: LMDB key = enc               LMDB value = val
 *   long:  LMDB key = enc[0..480) ‖ tag  LMDB value = [u16 LE tail_len][tail][val]
 * Short keys are at most HEAD_LEN bytes and long ones exactly HEAD_LEN + 16,
 * so the length says which kind an entry is. Every short key sorts against a
 * long key as it would against the full key; long keys sharing a head are
 * contiguous but ordered by tag, so a scan sorts each such group by tail.
 *
 * Map growth. mdb_env_set_mapsize is only safe with no transaction of this
 * process alive, so top-level transactions are counted (open_txns, under mu).
 * MDB_MAP_FULL kills the transaction that hit it, sets need_grow, and the
 * map quadruples as soon as no transaction is open: at once, or at the next
 * top-level begin. So that busy threads cannot starve the growth, a begin
 * that finds growth pending waits up to GROW_WAIT_MS for the open
 * transactions to drain (bounded: the waiting thread may itself hold one).
 *
 * Damage. LMDB keeps no checksums and trusts its file: a truncated or
 * damaged data.mdb makes it read past the end of the file (SIGBUS), follow
 * wild offsets (SIGSEGV) or fail an assertion (abort). So store_open
 * refuses a data.mdb shorter than its meta page's last page, an empty one,
 * and a missing one next to files that show the directory was used (its
 * identity would silently be made anew); every LMDB call that reads pages
 * runs under guard.c's fault guard; records LMDB hands out are checked to
 * lie inside the file before anyone reads them; and LMDB's own "corrupted"
 * codes count as damage. All of these are WEFT_EDAMAGED with a message
 * "data directory DIR is damaged: ...". weft_db_verify (verify.c) walks the
 * whole file. docs/store.md says what can and cannot be detected.
 *
 * The write lock. LMDB serialises writers with a robust mutex in lock.mdb
 * that has no timeout, so a writer waiting there cannot give up when its
 * call's deadline passes. Every write transaction therefore first takes
 * weft's own lock, which can be waited for in slices: one writer per
 * process (`writer`, under mu) and one per data directory (flock(2) on
 * WRITE_LOCK_FILE, per open file, so the two together). Only then does
 * mdb_txn_begin run, and it finds LMDB's mutex free, unless a program
 * other than weft writes the directory. weft_txn_begin_wait polls its
 * `stop` between slices; flock locks die with their process, as LMDB's do.
 */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "guard.h"
#include "store.h"
#include "weft/blake3.h"
#include "weft/error.h"

#define KEY_MAX WEFT_DB_KEY_MAX
#define KV_VAL_MAX ((size_t)1 << 20)     /* the nx db_* value limit */
#define BIG_VAL_MAX ((size_t)256 << 20)   /* CRDT states, op-log, modules, blobs */

/* The longest value a space takes. KV values are what guests store with
 * db_set; a CRDT state holds many values and an op-log entry one value
 * plus its header, so those spaces (and module bytes, tables, blobs) get
 * room: LMDB keeps large values in overflow pages. */
static size_t val_max(weft_space_t space)
{
    return space == WEFT_SPACE_KV ? KV_VAL_MAX : BIG_VAL_MAX;
}
#define CTX_MAX 255
#define ENC_MAX (1 + CTX_MAX + WEFT_DB_PART_KEY_MAX)
#define HEAD_LEN 480 /* longest key stored as is; >= 1 + CTX_MAX, so a head holds the context */
#define TAG_LEN 16
#define LONG_LEN (HEAD_LEN + TAG_LEN)
#define MAP_ALIGN ((size_t)64 << 10)
#define GROW_WAIT_MS 100
#define WRITE_LOCK_FILE "write.lock"
#define LOCK_POLL_MAX_MS 16 /* longest sleep between two tries of the write lock */

struct weft_db {
    MDB_env *env;
    MDB_dbi dbi[WEFT_SPACE_COUNT];
    unsigned char have[WEFT_SPACE_COUNT]; /* 0: space absent (read-only open of a new dir) */
    unsigned flags;
    pthread_mutex_t mu;    /* guards the fields below */
    pthread_cond_t grown;  /* broadcast when need_grow clears */
    int open_txns;      /* top-level LMDB transactions alive in this process */
    int need_grow;      /* a transaction found the map full */
    int writer;         /* a thread of this process holds the write lock */
    pthread_cond_t writer_free; /* broadcast when writer clears */
    int lock_fd;        /* WRITE_LOCK_FILE, flock'ed by the writer; -1 read-only */
    size_t map_size;
    char *dir;             /* the directory, as opened */
    store_map_t map;       /* where data.mdb is mapped (guard.h); changes only when map_size does */
    size_t file_bytes;     /* data.mdb's size when last looked at (atomic) */
    unsigned fail_left[2]; /* store_fail_next: calls still to fail, by store_fail_at_t (atomic) */
    int fail_rc[2];        /* the LMDB code they fail with */
    int fail_full;         /* an injected MDB_MAP_FULL is pending: its growth keeps the size (mu) */
    char msg[320];
};

struct weft_txn {
    weft_db_t *db;
    MDB_txn *mt;        /* NULL once dead: map full, or its parent ended */
    weft_txn_t *parent; /* NULL for top-level (and for an orphaned child) */
    weft_txn_t *child;  /* open nested transaction, if any */
    int readonly;
    int nested;
    int dead_code; /* what operations on a dead transaction return */
    int dirty;     /* a write was issued through it (weft_txn_dirty) */
    store_overlay_t *ov; /* an overlay (overlay.c): mt is NULL, base is ov's */
};

typedef struct {
    uint8_t buf[ENC_MAX];
    size_t len;
} enckey_t;

const char *const store_space_names[WEFT_SPACE_COUNT] = {
    "modules", "kv", "crdt", "oplog", "tables", "blobs", "meta", "crdt_parts", "events",
};
#define space_names store_space_names

static const uint8_t empty_byte;

/* ---- errors ---------------------------------------------------------- */

static int set_msg(weft_db_t *db, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_msg(weft_db_t *db, int code, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&db->mu);
    va_start(ap, fmt);
    vsnprintf(db->msg, sizeof db->msg, fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&db->mu);
    return code;
}

/* The WEFT_E* kind of an LMDB or errno code. MDB_MAP_FULL is handled by the
 * callers (it must grow the map); READERS_FULL is retryable once a reader
 * ends, so both are WEFT_ELIMIT. */
static int map_rc(int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case MDB_NOTFOUND:
        return WEFT_ENOTFOUND;
    case MDB_MAP_FULL:
    case MDB_READERS_FULL:
    case MDB_MAP_RESIZED:
        return WEFT_ELIMIT;
    case ENOMEM:
        return WEFT_ENOMEM;
    case EINVAL:
    case MDB_BAD_VALSIZE:
        return WEFT_EARG;
    case STORE_FAULT:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH: /* one LMDB writes every weft directory: a damaged meta page */
        return WEFT_EDAMAGED;
    default:
        return WEFT_EIO;
    }
}

static int lmdb_msg(weft_db_t *db, int rc, const char *what)
{
    if (rc == STORE_FAULT)
        return set_msg(db, WEFT_EDAMAGED, "data directory %s is damaged: %s: %s", db->dir, what,
                       store_fault_text());
    if (map_rc(rc) == WEFT_EDAMAGED)
        return set_msg(db, WEFT_EDAMAGED, "data directory %s is damaged: %s: %s (LMDB code %d)",
                       db->dir, what, mdb_strerror(rc), rc);
    return set_msg(db, map_rc(rc), "%s: %s (LMDB code %d)", what, mdb_strerror(rc), rc);
}

/* ---- damage: the fault guard, records inside the file --------------- */

/* Where data.mdb is mapped, and its size: at open and after each remap. */
static void find_map(weft_db_t *db)
{
    struct stat st;
    int fd;
    if (mdb_env_get_fd(db->env, &fd) != 0)
        return;
    store_map_find(fd, &db->map);
    if (fstat(fd, &st) == 0)
        __atomic_store_n(&db->file_bytes, (size_t)st.st_size, __ATOMIC_RELAXED);
}

/* data.mdb's size now (it grows as transactions commit). */
static size_t file_size(weft_db_t *db)
{
    struct stat st;
    int fd;
    if (mdb_env_get_fd(db->env, &fd) == 0 && fstat(fd, &st) == 0)
        __atomic_store_n(&db->file_bytes, (size_t)st.st_size, __ATOMIC_RELAXED);
    return __atomic_load_n(&db->file_bytes, __ATOMIC_RELAXED);
}

/* 0 when v, a key or value LMDB handed out, lies wholly inside data.mdb
 * (or outside the map: a page this transaction wrote, in memory), else
 * WEFT_EDAMAGED. LMDB takes a record's size from the page without looking
 * at the file, so a damaged size would make its reader fault. */
static int check_mapped(weft_db_t *db, const MDB_val *v, const char *what)
{
    uintptr_t p = (uintptr_t)v->mv_data, end = p + v->mv_size;
    size_t file;
    if (p < db->map.lo || p >= db->map.hi)
        return 0;
    file = __atomic_load_n(&db->file_bytes, __ATOMIC_RELAXED);
    if (end >= p && end - db->map.lo <= file)
        return 0;
    file = file_size(db);
    if (end >= p && end - db->map.lo <= file)
        return 0;
    return set_msg(db, WEFT_EDAMAGED,
                   "data directory %s is damaged: %s: a record of %zu bytes at byte %ju runs "
                   "past the end of data.mdb (%zu bytes)",
                   db->dir, what, v->mv_size, (uintmax_t)(p - db->map.lo), file);
}

/* LMDB calls under the fault guard (guard.h): STORE_FAULT after a fault. */
static int g_get(weft_db_t *db, MDB_txn *mt, MDB_dbi dbi, MDB_val *k, MDB_val *v)
{
    int rc;
    STORE_GUARDED(&db->map, rc, mdb_get(mt, dbi, k, v));
    return rc;
}

/* store_fail_next: 0, or the LMDB code the next call of kind `at` fails
 * with instead of running (a put, or a top-level write commit). */
static int injected(weft_db_t *db, store_fail_at_t at)
{
    unsigned left = __atomic_load_n(&db->fail_left[at], __ATOMIC_ACQUIRE);
    while (left > 0 && !__atomic_compare_exchange_n(&db->fail_left[at], &left, left - 1, 0,
                                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        ;
    if (left == 0)
        return 0;
    int rc = __atomic_load_n(&db->fail_rc[at], __ATOMIC_RELAXED);
    if (rc == MDB_MAP_FULL) {
        pthread_mutex_lock(&db->mu);
        db->fail_full = 1;
        pthread_mutex_unlock(&db->mu);
    }
    return rc;
}

unsigned store_fail_next(weft_db_t *db, store_fail_at_t at, int code, unsigned count)
{
    unsigned left = __atomic_exchange_n(&db->fail_left[at], 0, __ATOMIC_ACQ_REL);
    __atomic_store_n(&db->fail_rc[at], code == WEFT_ELIMIT ? MDB_MAP_FULL : EIO, __ATOMIC_RELAXED);
    __atomic_store_n(&db->fail_left[at], count, __ATOMIC_RELEASE);
    return left;
}

static int g_put(weft_db_t *db, MDB_txn *mt, MDB_dbi dbi, MDB_val *k, MDB_val *v, unsigned fl)
{
    int rc = injected(db, STORE_FAIL_PUT);
    if (rc != 0)
        return rc;
    STORE_GUARDED(&db->map, rc, mdb_put(mt, dbi, k, v, fl));
    return rc;
}

static int g_del(weft_db_t *db, MDB_txn *mt, MDB_dbi dbi, MDB_val *k)
{
    int rc;
    STORE_GUARDED(&db->map, rc, mdb_del(mt, dbi, k, NULL));
    return rc;
}

static int g_cursor_open(weft_db_t *db, MDB_txn *mt, MDB_dbi dbi, MDB_cursor **cur)
{
    int rc;
    STORE_GUARDED(&db->map, rc, mdb_cursor_open(mt, dbi, cur));
    return rc;
}

static int g_cursor_get(weft_db_t *db, MDB_cursor *cur, MDB_val *k, MDB_val *v, MDB_cursor_op op)
{
    int rc;
    STORE_GUARDED(&db->map, rc, mdb_cursor_get(cur, k, v, op));
    return rc;
}

static int g_cursor_del(weft_db_t *db, MDB_cursor *cur)
{
    int rc;
    STORE_GUARDED(&db->map, rc, mdb_cursor_del(cur, 0));
    return rc;
}

static int g_commit(weft_db_t *db, MDB_txn *mt)
{
    int rc;
    STORE_GUARDED(&db->map, rc, mdb_txn_commit(mt));
    return rc;
}

static int g_dbi_open(weft_db_t *db, MDB_txn *mt, const char *name, unsigned fl, MDB_dbi *dbi)
{
    int rc;
    STORE_GUARDED(&db->map, rc, mdb_dbi_open(mt, name, fl, dbi));
    return rc;
}

static int abort_call(MDB_txn *mt)
{
    mdb_txn_abort(mt);
    return 0;
}

/* Aborts mt after one of its calls faulted. Its state may be half-changed:
 * should the abort fault too, the transaction is leaked, not retried. */
static void g_abort(weft_db_t *db, MDB_txn *mt)
{
    int rc;
    STORE_GUARDED(&db->map, rc, abort_call(mt));
    (void)rc;
}

/* Doubles the map. Caller holds mu and no transaction is open. */
static void grow_locked(weft_db_t *db)
{
    MDB_envinfo info;
    /* x4: a call that filled the map is retried from scratch, so growing in
     * big steps keeps the number of discarded attempts small (log4). */
    size_t next = db->map_size > SIZE_MAX / 4 ? SIZE_MAX / MAP_ALIGN * MAP_ALIGN : db->map_size * 4;
    if (db->fail_full) /* the map is not full: a test's store_fail_next said so */
        db->fail_full = 0;
    else if (mdb_env_set_mapsize(db->env, next) == 0 && mdb_env_info(db->env, &info) == 0)
        db->map_size = info.me_mapsize;
    find_map(db); /* remapped: elsewhere now */
    db->need_grow = 0;
    pthread_cond_broadcast(&db->grown);
}

/* A top-level LMDB transaction has ended: uncount it, grow if due. */
static void top_ended(weft_db_t *db)
{
    pthread_mutex_lock(&db->mu);
    db->open_txns--;
    if (db->need_grow && db->open_txns == 0)
        grow_locked(db);
    pthread_mutex_unlock(&db->mu);
}

static void note_map_full(weft_db_t *db, const char *what)
{
    pthread_mutex_lock(&db->mu);
    db->need_grow = 1;
    snprintf(db->msg, sizeof db->msg,
             "%s: %s (LMDB code %d); the map (%zu bytes) grows once no transaction is open",
             what, mdb_strerror(MDB_MAP_FULL), MDB_MAP_FULL, db->map_size);
    pthread_mutex_unlock(&db->mu);
}

/* ---- the write lock (see the top of the file) ----------------------- */

static void unlock_writer(weft_db_t *db)
{
    pthread_mutex_lock(&db->mu);
    flock(db->lock_fd, LOCK_UN); /* before `writer` clears: the next one re-takes it */
    db->writer = 0;
    pthread_cond_broadcast(&db->writer_free);
    pthread_mutex_unlock(&db->mu);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL); /* a signal may end it early: the caller looks again */
}

/* Takes the write lock: waits as long as it takes when stop is NULL, else
 * in slices of at most LOCK_POLL_MAX_MS, giving up with
 * WEFT_EINTERRUPTED once stop(arg) returns nonzero. */
static int lock_writer(weft_db_t *db, int (*stop)(void *), void *arg)
{
    pthread_mutex_lock(&db->mu);
    while (db->writer) {
        if (!stop) {
            pthread_cond_wait(&db->writer_free, &db->mu);
            continue;
        }
        pthread_mutex_unlock(&db->mu); /* stop is the caller's code: no lock of ours held */
        int stopped = stop(arg);
        pthread_mutex_lock(&db->mu);
        if (stopped) {
            pthread_mutex_unlock(&db->mu);
            goto stopped;
        }
        if (!db->writer)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += LOCK_POLL_MAX_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&db->writer_free, &db->mu, &until);
    }
    db->writer = 1;
    pthread_mutex_unlock(&db->mu);

    /* Another process: flock has no timeout, so a stoppable wait polls,
     * from 1 ms up to LOCK_POLL_MAX_MS between tries (contention between
     * processes is rare; threads of one process waited above). */
    for (unsigned ms = 1;; ms = ms * 2 > LOCK_POLL_MAX_MS ? LOCK_POLL_MAX_MS : ms * 2) {
        if (flock(db->lock_fd, stop ? LOCK_EX | LOCK_NB : LOCK_EX) == 0)
            return 0;
        int err = errno;
        if (err != EWOULDBLOCK && err != EINTR) {
            unlock_writer(db);
            return set_msg(db, WEFT_EIO, "flock %s: %s", WRITE_LOCK_FILE, strerror(err));
        }
        if (!stop)
            continue; /* EINTR: wait again */
        if (stop(arg)) {
            unlock_writer(db);
            goto stopped;
        }
        sleep_ms(ms);
    }
stopped:
    return set_msg(db, WEFT_EINTERRUPTED,
                   "stopped while waiting for the write lock of the data directory (another "
                   "transaction, of this or another process, is writing)");
}

/* A top-level transaction has ended: its write lock goes, then its count. */
static void top_txn_ended(weft_txn_t *t)
{
    if (!t->readonly)
        unlock_writer(t->db);
    top_ended(t->db);
}

/* Marks t and its open descendants dead with `code` after their LMDB
 * transactions were ended (aborting a parent aborts its children). */
static void kill_children(weft_txn_t *t, int code)
{
    weft_txn_t *c = t->child, *next;
    for (; c; c = next) {
        next = c->child; /* unlinked both ways: the caller frees them in any order */
        c->parent = NULL;
        c->child = NULL;
        c->mt = NULL;
        c->dead_code = code;
    }
    t->child = NULL;
}

/* An LMDB operation of t failed with rc. MDB_MAP_FULL kills t (its LMDB
 * transaction is unusable anyway): aborted now, so the map can grow as soon
 * as nothing else is open; the handle stays for the caller to release. A
 * fault (STORE_FAULT) kills t too: LMDB left it half-way through a call. */
static int txn_fail(weft_txn_t *t, int rc, const char *what)
{
    weft_db_t *db = t->db;
    if (rc == STORE_FAULT) {
        int code = lmdb_msg(db, rc, what);
        g_abort(db, t->mt);
        t->mt = NULL;
        t->dead_code = code;
        if (!t->nested)
            top_txn_ended(t);
        return code;
    }
    if (rc != MDB_MAP_FULL)
        return lmdb_msg(db, rc, what);
    note_map_full(db, what);
    mdb_txn_abort(t->mt);
    t->mt = NULL;
    t->dead_code = WEFT_ELIMIT;
    if (!t->nested)
        top_txn_ended(t);
    return WEFT_ELIMIT;
}

/* ---- keys ------------------------------------------------------------ */

/* Spaces of node-wide data take no context: module bytes and metadata. */
static int space_has_ctx(weft_space_t space)
{
    return space != WEFT_SPACE_MODULES && space != WEFT_SPACE_META;
}

static int check_ctx(weft_db_t *db, weft_space_t space, const uint8_t *ctx, size_t ctx_len)
{
    if ((unsigned)space >= WEFT_SPACE_COUNT)
        return set_msg(db, WEFT_EARG, "space %d out of range", (int)space);
    if (ctx_len > 0 && !ctx)
        return set_msg(db, WEFT_EARG, "context is NULL with length %zu", ctx_len);
    if (space_has_ctx(space) ? (ctx_len < 1 || ctx_len > CTX_MAX) : ctx_len != 0)
        return set_msg(db, WEFT_EARG, "context length %zu invalid for space %s", ctx_len,
                       space_names[space]);
    return 0;
}

/* [ctx_len][ctx][key] into e. */
static int encode(weft_db_t *db, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                  const uint8_t *key, size_t key_len, enckey_t *e)
{
    int rc = check_ctx(db, space, ctx, ctx_len);
    if (rc)
        return rc;
    size_t key_max = space == WEFT_SPACE_CRDT_PARTS ? WEFT_DB_PART_KEY_MAX : KEY_MAX;
    if (key_len > key_max)
        return set_msg(db, WEFT_EARG, "key of %zu bytes (at most %zu)", key_len, key_max);
    if (key_len > 0 && !key)
        return set_msg(db, WEFT_EARG, "key is NULL with length %zu", key_len);
    e->buf[0] = (uint8_t)ctx_len;
    if (ctx_len)
        memcpy(e->buf + 1, ctx, ctx_len);
    if (key_len)
        memcpy(e->buf + 1 + ctx_len, key, key_len);
    e->len = 1 + ctx_len + key_len;
    return 0;
}

/* The LMDB key of e: e itself, or head ‖ tag written into long_buf. */
static MDB_val stored_key(const enckey_t *e, uint8_t long_buf[LONG_LEN])
{
    MDB_val k;
    if (e->len <= HEAD_LEN) {
        k.mv_data = (void *)e->buf;
        k.mv_size = e->len;
        return k;
    }
    weft_blake3_t h;
    uint8_t tag[WEFT_BLAKE3_OUT_LEN];
    weft_blake3_init(&h);
    weft_blake3_update(&h, e->buf, e->len);
    weft_blake3_finalize(&h, tag, TAG_LEN);
    memcpy(long_buf, e->buf, HEAD_LEN);
    memcpy(long_buf + HEAD_LEN, tag, TAG_LEN);
    k.mv_data = long_buf;
    k.mv_size = LONG_LEN;
    return k;
}

/* Splits the LMDB value of a long key into tail and user value. */
static int parse_long(weft_db_t *db, const MDB_val *v, const uint8_t **tail, size_t *tail_len,
                      const uint8_t **val, size_t *val_len)
{
    const uint8_t *p = v->mv_data;
    size_t n;
    if (v->mv_size < 2)
        goto corrupt;
    n = (size_t)p[0] | (size_t)p[1] << 8;
    if (n == 0 || n > ENC_MAX - HEAD_LEN || 2 + n > v->mv_size)
        goto corrupt;
    *tail = p + 2;
    *tail_len = n;
    *val = p + 2 + n;
    *val_len = v->mv_size - 2 - n;
    return 0;
corrupt:
    return set_msg(db, WEFT_EDAMAGED, "data directory %s is damaged: corrupt long-key entry (%zu bytes)",
                   db->dir, v->mv_size);
}

/* 0 when the long entry v holds exactly e, WEFT_ENOTFOUND when another key
 * shares its tag, or an error. */
static int long_match(weft_db_t *db, const MDB_val *v, const enckey_t *e, const uint8_t **val,
                      size_t *val_len)
{
    const uint8_t *tail = NULL;
    size_t tail_len = 0;
    int rc = parse_long(db, v, &tail, &tail_len, val, val_len);
    if (rc)
        return rc;
    if (tail_len != e->len - HEAD_LEN || memcmp(tail, e->buf + HEAD_LEN, tail_len) != 0)
        return WEFT_ENOTFOUND;
    return 0;
}

/* ---- environment ----------------------------------------------------- */

/* A directory whose data.mdb is missing or empty next to files only a used
 * directory has must not silently start again as a new, empty node (with a
 * new identity). Returns 1 with the message in dmg in that case. Those
 * files are write.lock, made only after mdb_env_open has written a new
 * data.mdb's two meta pages, and node-id; not lock.mdb, which LMDB makes
 * before data.mdb: a process killed while it created a new directory
 * leaves lock.mdb next to an empty data.mdb, and that directory never held
 * anything (store.crash_kill9_* killed a writer there). Looked at twice,
 * 50 ms apart, for a directory another process is creating right now. */
static int data_missing(const char *dir, char *dmg, size_t n)
{
    static const char *const used[] = {WRITE_LOCK_FILE, WEFT_DB_NODE_ID_FILE};
    char path[4096];
    struct stat st;
    for (int attempt = 0; attempt < 2; attempt++) {
        const char *seen = NULL;
        int gone;
        snprintf(path, sizeof path, "%s/data.mdb", dir);
        if (stat(path, &st) == 0)
            gone = 0;
        else if (errno == ENOENT)
            gone = 1;
        else
            return 0; /* LMDB will say what is wrong */
        if (!gone && st.st_size > 0)
            return 0;
        for (size_t i = 0; i < sizeof used / sizeof used[0] && !seen; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, used[i]);
            if (stat(path, &st) == 0)
                seen = used[i];
        }
        if (!seen)
            return 0; /* a new directory */
        if (attempt == 0) {
            sleep_ms(50);
            continue;
        }
        snprintf(dmg, n,
                 "data directory %s is damaged: data.mdb is %s, but its %s shows that it was "
                 "in use (weft does not start it again as a new, empty node; move the "
                 "directory away to start afresh)",
                 dir, gone ? "missing" : "empty (0 bytes)", seen);
        return 1;
    }
    return 0;
}

/* How many of the pages [first, last] the free list holds (each counted
 * once), through a read transaction (the only kind that may read LMDB's
 * free list, database 0), or -1 when it cannot be read (a fault). */
static int64_t free_in(weft_db_t *db, uint64_t first, uint64_t last)
{
    MDB_txn *mt = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t *seen = calloc((size_t)((last - first) / 8 + 1), 1);
    volatile int64_t n = -1; /* the guards' sigsetjmp are in other frames, but -Wclobbered */
    int rc;
    STORE_GUARDED(&db->map, rc, mdb_txn_begin(db->env, NULL, MDB_RDONLY, &mt));
    if (!seen || rc != 0)
        goto done;
    if (g_cursor_open(db, mt, 0, &cur) != 0) {
        cur = NULL;
        goto done;
    }
    n = 0;
    for (rc = g_cursor_get(db, cur, &k, &v, MDB_FIRST); rc == 0;
         rc = g_cursor_get(db, cur, &k, &v, MDB_NEXT)) {
        const size_t *ids = v.mv_data; /* [count, page numbers] */
        if (check_mapped(db, &v, "free list") != 0 || v.mv_size < sizeof *ids ||
            v.mv_size / sizeof *ids < ids[0] + 1)
            break;
        for (size_t i = 1; i <= ids[0]; i++) {
            uint64_t pg = ids[i];
            if (pg >= first && pg <= last && !(seen[(pg - first) / 8] & (1u << (pg - first) % 8))) {
                seen[(pg - first) / 8] |= (uint8_t)(1u << (pg - first) % 8);
                n++;
            }
        }
    }
    if (rc != MDB_NOTFOUND)
        n = -1;
done:
    if (cur)
        mdb_cursor_close(cur);
    if (mt)
        g_abort(db, mt);
    free(seen);
    return n;
}

/* LMDB reads pages up to the meta page's last page through its map without
 * looking at the file's size: a shorter data.mdb (truncated, a partial
 * copy) would fault at once. A healthy file may end early only by pages
 * that are free (LMDB counts pages a transaction took and gave back before
 * writing them), so a short file is looked at again against the free list.
 * Returns 1 with the message in dmg when the file is too short. */
static int truncated(weft_db_t *db, const MDB_envinfo *info, char *dmg, size_t n)
{
    MDB_stat est;
    struct stat st;
    int fd;
    if (mdb_env_stat(db->env, &est) != 0 || mdb_env_get_fd(db->env, &fd) != 0 ||
        fstat(fd, &st) != 0)
        return 0;
    uintmax_t need = ((uintmax_t)info->me_last_pgno + 1) * est.ms_psize;
    if ((uintmax_t)st.st_size >= need)
        return 0;
    uint64_t have = (uint64_t)st.st_size / est.ms_psize; /* whole pages in the file */
    if (have >= 2 && free_in(db, have, info->me_last_pgno) ==
                         (int64_t)(info->me_last_pgno - have + 1))
        return 0;
    snprintf(dmg, n,
             "data directory %s is damaged: data.mdb has %jd bytes, but its meta page says "
             "its pages reach byte %ju (%ju pages of %u bytes), and not all the missing ones "
             "are free: the file was truncated",
             db->dir, (intmax_t)st.st_size, need, (uintmax_t)info->me_last_pgno + 1,
             est.ms_psize);
    return 1;
}

int store_open(const char *dir, unsigned flags, size_t map_size, weft_db_t **out, char *out_msg,
               size_t msg_size)
{
    weft_db_t *db = NULL;
    MDB_txn *mt = NULL;
    MDB_envinfo info;
    unsigned env_flags = MDB_NOTLS;
    int rc = 0, code = WEFT_EIO, locked = 0;
    const char *what = "";
    char dmg[512] = ""; /* set when the directory is damaged */

    if (out)
        *out = NULL;
    if (out_msg && msg_size)
        out_msg[0] = 0;
    if (!dir || !out || (flags & ~(unsigned)(WEFT_DB_NOSYNC | WEFT_DB_READONLY))) {
        code = WEFT_EARG;
        if (out_msg && msg_size)
            snprintf(out_msg, msg_size, "weft_db_open: invalid argument");
        return code;
    }
    if (!(flags & WEFT_DB_READONLY) && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        if (out_msg && msg_size)
            snprintf(out_msg, msg_size, "mkdir %s: %s", dir, strerror(errno));
        return WEFT_EIO;
    }
    db = calloc(1, sizeof *db);
    if (!db) {
        code = WEFT_ENOMEM;
        what = "calloc";
        rc = ENOMEM;
        goto fail;
    }
    pthread_mutex_init(&db->mu, NULL);
    pthread_cond_init(&db->grown, NULL);
    pthread_cond_init(&db->writer_free, NULL);
    db->lock_fd = -1;
    db->flags = flags;
    if ((db->dir = strdup(dir)) == NULL) {
        code = WEFT_ENOMEM;
        what = "strdup";
        rc = ENOMEM;
        goto fail;
    }
    if (data_missing(dir, dmg, sizeof dmg))
        goto fail;
    map_size = (map_size + MAP_ALIGN - 1) / MAP_ALIGN * MAP_ALIGN;
    if (map_size == 0)
        map_size = MAP_ALIGN;

    what = "mdb_env_create";
    if ((rc = mdb_env_create(&db->env)) != 0)
        goto fail;
    if (mdb_env_get_maxkeysize(db->env) < LONG_LEN) {
        what = "LMDB maximum key size below 496 bytes";
        rc = EINVAL;
        goto fail;
    }
    what = "mdb_env_set_maxdbs";
    if ((rc = mdb_env_set_maxdbs(db->env, WEFT_SPACE_COUNT)) != 0)
        goto fail;
    what = "installing the fault guard";
    if ((rc = store_guard_setup(db->env)) != 0)
        goto fail;
    what = "mdb_env_set_mapsize";
    if ((rc = mdb_env_set_mapsize(db->env, map_size)) != 0)
        goto fail;
    if (flags & WEFT_DB_NOSYNC)
        env_flags |= MDB_NOSYNC;
    if (flags & WEFT_DB_READONLY)
        env_flags |= MDB_RDONLY;
    what = "mdb_env_open";
    if ((rc = mdb_env_open(db->env, dir, env_flags, 0600)) != 0)
        goto fail;
    /* An existing data file larger than map_size keeps its own size. */
    what = "mdb_env_info";
    if ((rc = mdb_env_info(db->env, &info)) != 0)
        goto fail;
    db->map_size = info.me_mapsize;
    find_map(db); /* first: truncated() reads through the guard */
    if (truncated(db, &info, dmg, sizeof dmg))
        goto fail;
    if (!(flags & WEFT_DB_READONLY)) {
        what = "open " WRITE_LOCK_FILE " in";
        char *path = malloc(strlen(dir) + sizeof "/" WRITE_LOCK_FILE);
        if (!path) {
            rc = ENOMEM;
            goto fail;
        }
        sprintf(path, "%s/%s", dir, WRITE_LOCK_FILE);
        db->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        rc = errno;
        free(path);
        if (db->lock_fd < 0)
            goto fail;
    }

    /* The spaces: opened in a read transaction when they all exist (the
     * usual case), so opening a directory never waits for a writer; only
     * a new directory creates them, in a write transaction with the write
     * lock. */
    for (int writing = 0;; writing = 1) {
        int missing = 0;
        if (writing && lock_writer(db, NULL, NULL) != 0) {
            what = "flock " WRITE_LOCK_FILE " in";
            rc = EIO;
            goto fail;
        }
        locked = writing;
        what = "mdb_txn_begin";
        if ((rc = mdb_txn_begin(db->env, NULL, writing ? 0 : MDB_RDONLY, &mt)) != 0)
            goto fail;
        for (int s = 0; s < WEFT_SPACE_COUNT && !missing; s++) {
            rc = g_dbi_open(db, mt, space_names[s], writing ? MDB_CREATE : 0, &db->dbi[s]);
            if (rc == MDB_NOTFOUND && !writing) {
                missing = !(flags & WEFT_DB_READONLY);
                continue;
            }
            what = "mdb_dbi_open";
            if (rc != 0)
                goto fail;
            db->have[s] = 1;
        }
        if (missing) {
            mdb_txn_abort(mt);
            mt = NULL;
            memset(db->have, 0, sizeof db->have);
            continue;
        }
        rc = g_commit(db, mt);
        if (rc != STORE_FAULT) /* else fail aborts it */
            mt = NULL;
        if (locked)
            unlock_writer(db);
        locked = 0;
        what = "mdb_txn_commit";
        if (rc != 0)
            goto fail;
        break;
    }
    *out = db;
    return 0;

fail:
    if (dmg[0]) {
        code = WEFT_EDAMAGED;
        if (out_msg && msg_size)
            snprintf(out_msg, msg_size, "%s", dmg);
    } else if (map_rc(rc) == WEFT_EDAMAGED) {
        code = WEFT_EDAMAGED;
        if (out_msg && msg_size)
            snprintf(out_msg, msg_size, "data directory %s is damaged: %s: %s", dir, what,
                     rc == STORE_FAULT ? store_fault_text() : mdb_strerror(rc));
    } else {
        if (code != WEFT_ENOMEM)
            code = map_rc(rc) == WEFT_ENOMEM ? WEFT_ENOMEM : WEFT_EIO;
        if (out_msg && msg_size)
            snprintf(out_msg, msg_size, "%s %s: %s (code %d)", what, dir, mdb_strerror(rc), rc);
    }
    if (mt)
        g_abort(db, mt);
    if (locked)
        unlock_writer(db);
    if (db) {
        if (db->env)
            mdb_env_close(db->env);
        if (db->lock_fd >= 0)
            close(db->lock_fd);
        pthread_cond_destroy(&db->writer_free);
        pthread_cond_destroy(&db->grown);
        pthread_mutex_destroy(&db->mu);
        free(db->dir);
        free(db);
    }
    return code;
}

int weft_db_open(const char *dir, unsigned flags, weft_db_t **out, char *out_msg, size_t msg_size)
{
    return store_open(dir, flags, STORE_DEFAULT_MAP_SIZE, out, out_msg, msg_size);
}

void weft_db_close(weft_db_t *db)
{
    if (!db)
        return;
    mdb_env_close(db->env);
    if (db->lock_fd >= 0)
        close(db->lock_fd);
    pthread_cond_destroy(&db->writer_free);
    pthread_cond_destroy(&db->grown);
    pthread_mutex_destroy(&db->mu);
    free(db->dir);
    free(db);
}

MDB_env *store_env(weft_db_t *db)
{
    return db->env;
}

const store_map_t *store_map(weft_db_t *db)
{
    return &db->map;
}

const char *weft_db_dir(const weft_db_t *db)
{
    return db->dir;
}

int weft_db_writable(const weft_db_t *db)
{
    return !(db->flags & WEFT_DB_READONLY);
}

int weft_db_set_error(weft_db_t *db, int code, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&db->mu);
    va_start(ap, fmt);
    vsnprintf(db->msg, sizeof db->msg, fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&db->mu);
    return code;
}

size_t store_map_size(weft_db_t *db)
{
    size_t n;
    pthread_mutex_lock(&db->mu);
    n = db->map_size;
    pthread_mutex_unlock(&db->mu);
    return n;
}

const char *weft_db_errmsg(const weft_db_t *db)
{
    return db ? db->msg : "no database";
}

int weft_db_retryable(int code)
{
    return code == WEFT_ELIMIT;
}

/* ---- transactions ---------------------------------------------------- */

int weft_txn_begin(weft_db_t *db, int mode, weft_txn_t **out)
{
    return weft_txn_begin_wait(db, mode, NULL, NULL, out);
}

int weft_txn_begin_wait(weft_db_t *db, int mode, int (*stop)(void *arg), void *arg,
                        weft_txn_t **out)
{
    weft_txn_t *t;
    int rc;

    if (out)
        *out = NULL;
    if (!db || !out || (mode != WEFT_TXN_WRITE && mode != WEFT_TXN_READ))
        return db ? set_msg(db, WEFT_EARG, "weft_txn_begin: invalid argument") : WEFT_EARG;
    if (mode == WEFT_TXN_WRITE && (db->flags & WEFT_DB_READONLY))
        return set_msg(db, WEFT_EARG, "write transaction on a read-only db");
    t = calloc(1, sizeof *t);
    if (!t)
        return set_msg(db, WEFT_ENOMEM, "weft_txn_begin: out of memory");
    t->db = db;
    t->readonly = mode == WEFT_TXN_READ;
    /* Before this transaction counts as open: a writer waiting here must
     * not hold up the growth of the map. */
    if (!t->readonly && (rc = lock_writer(db, stop, arg)) != 0) {
        free(t);
        return rc;
    }

    pthread_mutex_lock(&db->mu);
    if (db->need_grow && db->open_txns > 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += GROW_WAIT_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        while (db->need_grow && db->open_txns > 0)
            if (pthread_cond_timedwait(&db->grown, &db->mu, &until) != 0)
                break;
    }
    if (db->need_grow && db->open_txns == 0)
        grow_locked(db);
    db->open_txns++;
    pthread_mutex_unlock(&db->mu);

    rc = mdb_txn_begin(db->env, NULL, t->readonly ? MDB_RDONLY : 0, &t->mt);
    if (rc != 0) {
        if (rc == MDB_MAP_RESIZED) {
            /* Another process grew the file; adopt its size once idle. */
            pthread_mutex_lock(&db->mu);
            db->need_grow = 1;
            pthread_mutex_unlock(&db->mu);
        }
        top_txn_ended(t);
        free(t);
        return lmdb_msg(db, rc, "mdb_txn_begin");
    }
    *out = t;
    return 0;
}

int weft_db_batch_begin(weft_db_t *db, weft_txn_t **out_batch)
{
    return weft_txn_begin(db, WEFT_TXN_WRITE, out_batch);
}

int weft_txn_begin_nested(weft_txn_t *parent, weft_txn_t **out)
{
    weft_txn_t *t;
    int rc;

    if (out)
        *out = NULL;
    if (!parent || !out)
        return WEFT_EARG;
    if (parent->ov)
        return store_ov_sealed(parent->ov)
                   ? set_msg(parent->db, WEFT_EARG, "the overlay transaction is sealed")
                   : store_ov_refuse(parent->ov, "a nested transaction");
    if (!parent->mt)
        return parent->dead_code;
    if (parent->readonly || parent->child)
        return set_msg(parent->db, WEFT_EARG, "nested transaction needs a write parent with no "
                                              "open nested transaction");
    t = calloc(1, sizeof *t);
    if (!t)
        return set_msg(parent->db, WEFT_ENOMEM, "weft_txn_begin_nested: out of memory");
    rc = mdb_txn_begin(parent->db->env, parent->mt, 0, &t->mt);
    if (rc != 0) {
        free(t);
        return lmdb_msg(parent->db, rc, "mdb_txn_begin (nested)");
    }
    t->db = parent->db;
    t->parent = parent;
    t->nested = 1;
    parent->child = t;
    *out = t;
    return 0;
}

static int replay_into(const weft_txn_t *ov, weft_txn_t *dst);

static void unlink_parent(weft_txn_t *t)
{
    if (t->parent)
        t->parent->child = NULL;
    t->parent = NULL;
}

int weft_txn_commit(weft_txn_t *txn)
{
    weft_db_t *db;
    int rc, code = 0;

    if (!txn)
        return WEFT_EARG;
    db = txn->db;
    if (txn->ov) {
        weft_txn_t *base = store_ov_base(txn->ov);
        if (!base || base->readonly || base->ov)
            code = set_msg(db, WEFT_EARG, "an overlay commits only into the write transaction "
                                          "it was begun on; it was sealed or begun on a read one");
        else
            code = replay_into(txn, base);
        store_ov_free(txn->ov);
        free(txn);
        return code;
    }
    if (!txn->mt) {
        code = txn->dead_code;
        goto done;
    }
    if (txn->child) {
        /* LMDB would commit the child too; a caller that forgot it has a bug. */
        mdb_txn_abort(txn->mt);
        txn->mt = NULL;
        kill_children(txn, WEFT_EARG);
        if (!txn->nested)
            top_txn_ended(txn);
        code = set_msg(db, WEFT_EARG, "commit with an open nested transaction: aborted");
        goto done;
    }
    if (txn->readonly) {
        mdb_txn_abort(txn->mt);
        rc = 0;
    } else if (!txn->nested && (rc = injected(db, STORE_FAIL_COMMIT)) != 0) {
        mdb_txn_abort(txn->mt); /* as a failed mdb_txn_commit ends it */
    } else {
        rc = g_commit(db, txn->mt);
        if (rc == STORE_FAULT)
            g_abort(db, txn->mt); /* a commit that failed on its own has ended already */
    }
    txn->mt = NULL;
    if (rc == MDB_MAP_FULL) {
        note_map_full(db, "mdb_txn_commit");
        code = WEFT_ELIMIT;
    } else if (rc != 0) {
        code = lmdb_msg(db, rc, "mdb_txn_commit");
    }
    if (!txn->nested)
        top_txn_ended(txn);
    else if (code == 0 && txn->parent)
        txn->parent->dirty |= txn->dirty; /* its writes are the parent's now */
done:
    unlink_parent(txn);
    free(txn);
    return code;
}

void weft_txn_abort(weft_txn_t *txn)
{
    if (!txn)
        return;
    if (txn->ov) {
        store_ov_free(txn->ov);
        free(txn);
        return;
    }
    if (txn->mt) {
        mdb_txn_abort(txn->mt);
        txn->mt = NULL;
        kill_children(txn, WEFT_EARG);
        if (!txn->nested)
            top_txn_ended(txn);
    }
    unlink_parent(txn);
    free(txn);
}

/* 0 when t may run an operation now. */
static int usable(weft_txn_t *t, int write)
{
    if (!t)
        return WEFT_EARG;
    if (t->ov) {
        if (store_ov_sealed(t->ov))
            return set_msg(t->db, WEFT_EARG, "the overlay transaction is sealed");
        if (write)
            t->dirty = 1;
        return 0;
    }
    if (!t->mt)
        return set_msg(t->db, t->dead_code, "transaction already failed");
    if (t->child)
        return set_msg(t->db, WEFT_EARG, "transaction has an open nested transaction");
    if (write && t->readonly)
        return set_msg(t->db, WEFT_EARG, "write in a read transaction");
    if (write)
        t->dirty = 1;
    return 0;
}

int weft_txn_dirty(const weft_txn_t *txn)
{
    return txn ? txn->dirty : 0;
}

/* ---- overlays (overlay.c) ----------------------------------------------- */

int weft_txn_begin_overlay(weft_txn_t *base, const uint8_t *ctx, size_t ctx_len,
                           weft_txn_t *const *below, size_t nbelow, weft_txn_t **out)
{
    store_overlay_t *small[16];
    store_overlay_t **bl = small;
    weft_txn_t *t = NULL;
    int rc;

    if (out)
        *out = NULL;
    if (!base || !out || (nbelow && !below))
        return base ? set_msg(base->db, WEFT_EARG, "weft_txn_begin_overlay: invalid argument")
                    : WEFT_EARG;
    if ((rc = usable(base, 0)) != 0)
        return rc;
    if (base->ov)
        return set_msg(base->db, WEFT_EARG, "an overlay transaction cannot be begun on another");
    if ((rc = check_ctx(base->db, WEFT_SPACE_KV, ctx, ctx_len)) != 0)
        return rc;
    if (nbelow > 16 && !(bl = malloc(nbelow * sizeof *bl)))
        return set_msg(base->db, WEFT_ENOMEM, "weft_txn_begin_overlay: out of memory");
    for (size_t i = 0; i < nbelow; i++) {
        const weft_txn_t *b = below[i];
        if (!b || !b->ov || !store_ov_sealed(b->ov) || !store_ov_same_ctx(b->ov, ctx, ctx_len) ||
            b->db != base->db) {
            rc = set_msg(base->db, WEFT_EARG, "weft_txn_begin_overlay: below[%zu] is not a "
                                              "sealed overlay of the same context", i);
            goto done;
        }
        bl[i] = b->ov;
    }
    if (!(t = calloc(1, sizeof *t))) {
        rc = set_msg(base->db, WEFT_ENOMEM, "weft_txn_begin_overlay: out of memory");
        goto done;
    }
    t->db = base->db;
    if ((rc = store_ov_new(base->db, base, ctx, ctx_len, bl, nbelow, &t->ov)) != 0) {
        free(t);
        goto done;
    }
    *out = t;
done:
    if (bl != small)
        free(bl);
    return rc;
}

int weft_txn_overlay_seal(weft_txn_t *ov)
{
    if (!ov || !ov->ov)
        return ov ? set_msg(ov->db, WEFT_EARG, "not an overlay transaction") : WEFT_EARG;
    store_ov_seal(ov->ov);
    return 0;
}

/* Replays ov into dst; a replay that failed half-way kills dst (a
 * transaction with some of a call's writes must never commit). */
static int replay_into(const weft_txn_t *ov, weft_txn_t *dst)
{
    int rc = usable(dst, 1);
    if (rc != 0)
        return rc;
    rc = store_ov_replay(ov->ov, dst);
    if (rc != 0 && dst->mt) {
        mdb_txn_abort(dst->mt);
        dst->mt = NULL;
        dst->dead_code = rc;
        kill_children(dst, rc);
        if (!dst->nested)
            top_txn_ended(dst);
    }
    return rc;
}

int weft_txn_overlay_replay(const weft_txn_t *ov, weft_txn_t *dst)
{
    if (!ov || !ov->ov || !dst || dst->ov || dst->readonly)
        return ov ? set_msg(ov->db, WEFT_EARG, "weft_txn_overlay_replay: needs an overlay and a "
                                               "write transaction")
                  : WEFT_EARG;
    return replay_into(ov, dst);
}

int weft_txn_overlay_serial(const weft_txn_t *ov)
{
    return ov && ov->ov ? store_ov_serial(ov->ov) : 0;
}


/* ---- get / put / del ------------------------------------------------- */

int weft_txn_get(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                 const uint8_t *key, size_t key_len, const uint8_t **out_val, size_t *out_len)
{
    enckey_t e;
    uint8_t long_buf[LONG_LEN];
    MDB_val k, v;
    const uint8_t *val;
    size_t val_len;
    int rc;

    if ((rc = usable(txn, 0)) != 0)
        return rc;
    if (!out_val || !out_len)
        return set_msg(txn->db, WEFT_EARG, "weft_txn_get: NULL output");
    if ((rc = encode(txn->db, space, ctx, ctx_len, key, key_len, &e)) != 0)
        return rc;
    if (txn->ov)
        return store_ov_get(txn->ov, space, ctx, ctx_len, key, key_len, out_val, out_len);
    if (!txn->db->have[space])
        return WEFT_ENOTFOUND;
    k = stored_key(&e, long_buf);
    rc = g_get(txn->db, txn->mt, txn->db->dbi[space], &k, &v);
    if (rc == MDB_NOTFOUND)
        return WEFT_ENOTFOUND;
    if (rc != 0)
        return txn_fail(txn, rc, "mdb_get");
    if ((rc = check_mapped(txn->db, &v, "mdb_get")) != 0)
        return rc;
    if (e.len <= HEAD_LEN) {
        val = v.mv_data;
        val_len = v.mv_size;
    } else if ((rc = long_match(txn->db, &v, &e, &val, &val_len)) != 0) {
        return rc;
    }
    *out_val = val_len ? val : &empty_byte;
    *out_len = val_len;
    return 0;
}

/* weft_txn_put, or with only_new weft_txn_put_new: a short key is put with
 * MDB_NOOVERWRITE (one search answers both "is it there" and "put it"),
 * a long one after the get its tag check does anyway. */
static int put(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
               const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
               int only_new)
{
    enckey_t e;
    uint8_t long_buf[LONG_LEN];
    MDB_val k, v;
    int rc;

    if ((rc = usable(txn, 1)) != 0)
        return rc;
    if ((rc = encode(txn->db, space, ctx, ctx_len, key, key_len, &e)) != 0)
        return rc;
    if (val_len > val_max(space))
        return set_msg(txn->db, WEFT_EARG, "value of %zu bytes (at most %zu in this space)", val_len,
                       val_max(space));
    if (val_len > 0 && !val)
        return set_msg(txn->db, WEFT_EARG, "value is NULL with length %zu", val_len);
    if (txn->ov)
        return store_ov_put(txn->ov, space, ctx, ctx_len, key, key_len, val, val_len, only_new);
    k = stored_key(&e, long_buf);
    if (e.len <= HEAD_LEN) {
        v.mv_data = val_len ? (void *)val : (void *)&empty_byte;
        v.mv_size = val_len;
        rc = g_put(txn->db, txn->mt, txn->db->dbi[space], &k, &v,
                   only_new ? MDB_NOOVERWRITE : 0);
        if (rc == MDB_KEYEXIST && only_new)
            return WEFT_DB_EXISTS;
        if (rc != 0)
            return txn_fail(txn, rc, "mdb_put");
        return 0;
    }
    /* Long key: refuse to overwrite another key that shares the 128-bit tag
     * (never expected; checked because a wrong overwrite would be silent). */
    rc = g_get(txn->db, txn->mt, txn->db->dbi[space], &k, &v);
    if (rc == 0 && (rc = check_mapped(txn->db, &v, "mdb_get")) != 0)
        return rc;
    if (rc == 0) {
        const uint8_t *old;
        size_t old_len;
        rc = long_match(txn->db, &v, &e, &old, &old_len);
        if (rc == WEFT_ENOTFOUND)
            return set_msg(txn->db, WEFT_EIO, "long key tag collision");
        if (rc != 0)
            return rc;
        if (only_new)
            return WEFT_DB_EXISTS;
    } else if (rc != MDB_NOTFOUND) {
        return txn_fail(txn, rc, "mdb_get");
    }
    size_t tail_len = e.len - HEAD_LEN;
    v.mv_data = NULL;
    v.mv_size = 2 + tail_len + val_len;
    rc = g_put(txn->db, txn->mt, txn->db->dbi[space], &k, &v, MDB_RESERVE);
    if (rc != 0)
        return txn_fail(txn, rc, "mdb_put");
    uint8_t *p = v.mv_data;
    p[0] = (uint8_t)(tail_len & 0xff);
    p[1] = (uint8_t)(tail_len >> 8);
    memcpy(p + 2, e.buf + HEAD_LEN, tail_len);
    if (val_len)
        memcpy(p + 2 + tail_len, val, val_len);
    return 0;
}

int weft_txn_put(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                 const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len)
{
    return put(txn, space, ctx, ctx_len, key, key_len, val, val_len, 0);
}

int weft_txn_put_new(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                     const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len)
{
    return put(txn, space, ctx, ctx_len, key, key_len, val, val_len, 1);
}

int weft_txn_del(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                 const uint8_t *key, size_t key_len)
{
    enckey_t e;
    uint8_t long_buf[LONG_LEN];
    MDB_val k, v;
    int rc;

    if ((rc = usable(txn, 1)) != 0)
        return rc;
    if ((rc = encode(txn->db, space, ctx, ctx_len, key, key_len, &e)) != 0)
        return rc;
    if (txn->ov)
        return store_ov_del(txn->ov, space, ctx, ctx_len, key, key_len);
    k = stored_key(&e, long_buf);
    if (e.len > HEAD_LEN) {
        const uint8_t *val;
        size_t val_len;
        rc = g_get(txn->db, txn->mt, txn->db->dbi[space], &k, &v);
        if (rc == MDB_NOTFOUND)
            return 0;
        if (rc != 0)
            return txn_fail(txn, rc, "mdb_get");
        if ((rc = check_mapped(txn->db, &v, "mdb_get")) != 0)
            return rc;
        rc = long_match(txn->db, &v, &e, &val, &val_len);
        if (rc == WEFT_ENOTFOUND)
            return 0;
        if (rc != 0)
            return rc;
    }
    rc = g_del(txn->db, txn->mt, txn->db->dbi[space], &k);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return txn_fail(txn, rc, "mdb_del");
    return 0;
}

/* ---- scan ------------------------------------------------------------ */

typedef struct {
    enckey_t lo;      /* first candidate key: max(ctx‖prefix, ctx‖start_after) */
    int lo_exclusive; /* lo came from start_after: skip it */
    enckey_t pre;     /* ctx‖prefix: every visited key starts with it */
    size_t hdr_len;   /* 1 + ctx_len, stripped before fn sees a key */
    uint8_t full[ENC_MAX];
    weft_scan_fn fn;
    void *user;
} scan_t;

typedef struct {
    const uint8_t *tail, *val;
    size_t tail_len, val_len;
} long_ent_t;

static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c)
        return c;
    return an < bn ? -1 : an > bn;
}

static int long_ent_cmp(const void *a, const void *b)
{
    const long_ent_t *x = a, *y = b;
    return bytes_cmp(x->tail, x->tail_len, y->tail, y->tail_len);
}

/* Offers one full key in order. Returns 0 to go on, 1 to stop. */
static int visit(scan_t *s, const uint8_t *k, size_t klen, const uint8_t *val, size_t val_len)
{
    int c = bytes_cmp(k, klen, s->lo.buf, s->lo.len);
    if (c < 0 || (c == 0 && s->lo_exclusive))
        return 0;
    if (klen < s->pre.len || memcmp(k, s->pre.buf, s->pre.len) != 0)
        return 1; /* k >= pre and does not extend it: past the range */
    return s->fn(s->user, k + s->hdr_len, klen - s->hdr_len, val_len ? val : &empty_byte,
                 val_len) != 0;
}

int weft_txn_scan(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                  const uint8_t *prefix, size_t prefix_len, const uint8_t *start_after,
                  size_t start_after_len, weft_scan_fn fn, void *user)
{
    scan_t *s = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v, seek;
    long_ent_t *group = NULL;
    size_t group_cap = 0;
    uint8_t head[HEAD_LEN];
    int rc, code = 0, stop = 0, fail_rc = 0;
    weft_db_t *db;

    if ((rc = usable(txn, 0)) != 0)
        return rc;
    db = txn->db;
    if (!fn)
        return set_msg(db, WEFT_EARG, "weft_txn_scan: NULL callback");
    s = malloc(sizeof *s);
    if (!s)
        return set_msg(db, WEFT_ENOMEM, "weft_txn_scan: out of memory");
    s->fn = fn;
    s->user = user;
    s->hdr_len = 1 + ctx_len;
    if ((code = encode(db, space, ctx, ctx_len, prefix, prefix_len, &s->pre)) != 0)
        goto done;
    s->lo = s->pre;
    s->lo_exclusive = 0;
    if (start_after_len > 0) {
        enckey_t after;
        if ((code = encode(db, space, ctx, ctx_len, start_after, start_after_len, &after)) != 0)
            goto done;
        if (bytes_cmp(after.buf, after.len, s->pre.buf, s->pre.len) >= 0) {
            s->lo = after;
            s->lo_exclusive = 1;
        }
    }
    if (txn->ov) {
        code = store_ov_scan(txn->ov, space, ctx, ctx_len, prefix, prefix_len, start_after,
                             start_after_len, fn, user);
        goto done;
    }
    if (!db->have[space])
        goto done;

    if ((rc = g_cursor_open(db, txn->mt, db->dbi[space], &cur)) != 0) {
        cur = NULL;
        code = txn_fail(txn, rc, "mdb_cursor_open");
        goto done;
    }
    /* A long lo seeks to its head, so its whole tag group is seen. */
    seek.mv_data = s->lo.buf;
    seek.mv_size = s->lo.len <= HEAD_LEN ? s->lo.len : HEAD_LEN;
    k = seek;
    rc = g_cursor_get(db, cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && !stop) {
        if ((code = check_mapped(db, &k, "mdb_cursor_get")) != 0 ||
            (code = check_mapped(db, &v, "mdb_cursor_get")) != 0)
            goto done;
        if (k.mv_size <= HEAD_LEN) {
            stop = visit(s, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
            if (!stop)
                rc = g_cursor_get(db, cur, &k, &v, MDB_NEXT);
            continue;
        }
        if (k.mv_size != LONG_LEN) {
            code = set_msg(db, WEFT_EDAMAGED, "data directory %s is damaged: stored key of %zu bytes",
                           db->dir, k.mv_size);
            goto done;
        }
        /* Collect the keys sharing this head, sort them by tail. Pointers
         * stay valid: fn may not write through txn during the scan. */
        size_t n = 0;
        memcpy(head, k.mv_data, HEAD_LEN);
        while (rc == 0 && k.mv_size == LONG_LEN && memcmp(k.mv_data, head, HEAD_LEN) == 0) {
            if ((code = check_mapped(db, &k, "mdb_cursor_get")) != 0 ||
                (code = check_mapped(db, &v, "mdb_cursor_get")) != 0)
                goto done;
            if (n == group_cap) {
                size_t cap = group_cap ? group_cap * 2 : 16;
                long_ent_t *g = realloc(group, cap * sizeof *g);
                if (!g) {
                    code = set_msg(db, WEFT_ENOMEM, "weft_txn_scan: out of memory");
                    goto done;
                }
                group = g;
                group_cap = cap;
            }
            if ((code = parse_long(db, &v, &group[n].tail, &group[n].tail_len, &group[n].val,
                                   &group[n].val_len)) != 0)
                goto done;
            n++;
            rc = g_cursor_get(db, cur, &k, &v, MDB_NEXT);
        }
        qsort(group, n, sizeof *group, long_ent_cmp);
        memcpy(s->full, head, HEAD_LEN);
        for (size_t i = 0; i < n && !stop; i++) {
            memcpy(s->full + HEAD_LEN, group[i].tail, group[i].tail_len);
            stop = visit(s, s->full, HEAD_LEN + group[i].tail_len, group[i].val,
                         group[i].val_len);
        }
    }
    if (!stop && rc != 0 && rc != MDB_NOTFOUND)
        fail_rc = rc;
done:
    if (cur)
        mdb_cursor_close(cur); /* first: aborting a write transaction frees its cursors */
    if (fail_rc)
        code = txn_fail(txn, fail_rc, "mdb_cursor_get");
    free(group);
    free(s);
    return code;
}

/* ---- contexts -------------------------------------------------------- */

int weft_txn_contexts(weft_txn_t *txn, weft_space_t space, weft_ctx_fn fn, void *user)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t ctx[1 + CTX_MAX];
    uint64_t keys = 0;
    int rc, code = 0, stop = 0;
    weft_db_t *db;

    if ((rc = usable(txn, 0)) != 0)
        return rc;
    db = txn->db;
    if (!fn || (unsigned)space >= WEFT_SPACE_COUNT || !space_has_ctx(space))
        return set_msg(db, WEFT_EARG, "weft_txn_contexts: invalid argument");
    if (txn->ov)
        return store_ov_refuse(txn->ov, "listing contexts");
    if (!db->have[space])
        return 0;
    if ((rc = g_cursor_open(db, txn->mt, db->dbi[space], &cur)) != 0)
        return txn_fail(txn, rc, "mdb_cursor_open");
    /* Every stored key starts with [ctx_len][ctx] (a long key's head too). */
    ctx[0] = 0;
    rc = g_cursor_get(db, cur, &k, &v, MDB_FIRST);
    while (rc == 0 && !stop) {
        const uint8_t *p = k.mv_data;
        if ((code = check_mapped(db, &k, "mdb_cursor_get")) != 0)
            break;
        if (k.mv_size < 2 || p[0] == 0 || k.mv_size < 1u + p[0]) {
            code = set_msg(db, WEFT_EDAMAGED, "data directory %s is damaged: stored key of %zu bytes "
                           "in space %s", db->dir, k.mv_size, space_names[space]);
            break;
        }
        if (keys > 0 && memcmp(p, ctx, 1u + ctx[0]) != 0) {
            stop = fn(user, ctx + 1, ctx[0], keys) != 0;
            keys = 0;
        }
        if (keys == 0)
            memcpy(ctx, p, 1u + p[0]);
        keys++;
        rc = g_cursor_get(db, cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (code)
        return code;
    if (rc != 0 && rc != MDB_NOTFOUND && !stop)
        return txn_fail(txn, rc, "mdb_cursor_get");
    if (!stop && keys > 0)
        fn(user, ctx + 1, ctx[0], keys);
    return 0;
}

/* ---- drop ------------------------------------------------------------ */

static int drop_one(weft_txn_t *txn, weft_space_t space, const enckey_t *pre)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc, code = 0;

    if (!txn->db->have[space])
        return 0;
    if ((rc = g_cursor_open(txn->db, txn->mt, txn->db->dbi[space], &cur)) != 0)
        return txn_fail(txn, rc, "mdb_cursor_open");
    k.mv_data = (void *)pre->buf;
    k.mv_size = pre->len;
    rc = g_cursor_get(txn->db, cur, &k, &v, MDB_SET_RANGE);
    /* pre is at most 256 bytes, inside every stored head: plain prefix test. */
    while (rc == 0 && (code = check_mapped(txn->db, &k, "drop context")) == 0 &&
           k.mv_size >= pre->len && memcmp(k.mv_data, pre->buf, pre->len) == 0) {
        if ((rc = g_cursor_del(txn->db, cur)) != 0)
            break;
        rc = g_cursor_get(txn->db, cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (code)
        return code;
    if (rc != 0 && rc != MDB_NOTFOUND)
        code = txn_fail(txn, rc, "drop context");
    return code;
}

int weft_txn_drop_context(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len)
{
    enckey_t pre;
    int rc;

    if ((rc = usable(txn, 1)) != 0)
        return rc;
    if (txn->ov)
        return store_ov_refuse(txn->ov, "dropping a context");
    if (space == WEFT_SPACE_COUNT) {
        for (int s = 0; s < WEFT_SPACE_COUNT; s++) {
            if (!space_has_ctx((weft_space_t)s))
                continue;
            if ((rc = encode(txn->db, (weft_space_t)s, ctx, ctx_len, NULL, 0, &pre)) != 0)
                return rc;
            if ((rc = drop_one(txn, (weft_space_t)s, &pre)) != 0)
                return rc;
        }
        return 0;
    }
    if ((unsigned)space < WEFT_SPACE_COUNT && !space_has_ctx(space))
        return set_msg(txn->db, WEFT_EARG, "space %s has no contexts", space_names[space]);
    if ((rc = encode(txn->db, space, ctx, ctx_len, NULL, 0, &pre)) != 0)
        return rc;
    return drop_one(txn, space, &pre);
}

int weft_db_make_dirs(const char *path)
{
    char *p = strdup(path);
    if (!p)
        return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = mkdir(p, 0700) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}
