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
    char msg[256];
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
};

typedef struct {
    uint8_t buf[ENC_MAX];
    size_t len;
} enckey_t;

static const char *const space_names[WEFT_SPACE_COUNT] = {
    "modules", "kv", "crdt", "oplog", "tables", "blobs", "meta", "crdt_parts", "events",
};

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
    default:
        return WEFT_EIO;
    }
}

static int lmdb_msg(weft_db_t *db, int rc, const char *what)
{
    return set_msg(db, map_rc(rc), "%s: %s (LMDB code %d)", what, mdb_strerror(rc), rc);
}

/* Doubles the map. Caller holds mu and no transaction is open. */
static void grow_locked(weft_db_t *db)
{
    MDB_envinfo info;
    /* x4: a call that filled the map is retried from scratch, so growing in
     * big steps keeps the number of discarded attempts small (log4). */
    size_t next = db->map_size > SIZE_MAX / 4 ? SIZE_MAX / MAP_ALIGN * MAP_ALIGN : db->map_size * 4;
    if (mdb_env_set_mapsize(db->env, next) == 0 && mdb_env_info(db->env, &info) == 0)
        db->map_size = info.me_mapsize;
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
 * as nothing else is open; the handle stays for the caller to release. */
static int txn_fail(weft_txn_t *t, int rc, const char *what)
{
    weft_db_t *db = t->db;
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
    return set_msg(db, WEFT_EIO, "corrupt long-key entry (%zu bytes)", v->mv_size);
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

int store_open(const char *dir, unsigned flags, size_t map_size, weft_db_t **out, char *out_msg,
               size_t msg_size)
{
    weft_db_t *db = NULL;
    MDB_txn *mt = NULL;
    MDB_envinfo info;
    unsigned env_flags = MDB_NOTLS;
    int rc, code = WEFT_EIO, locked = 0;
    const char *what = "";

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
            rc = mdb_dbi_open(mt, space_names[s], writing ? MDB_CREATE : 0, &db->dbi[s]);
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
        rc = mdb_txn_commit(mt);
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
    if (code != WEFT_ENOMEM)
        code = map_rc(rc) == WEFT_ENOMEM ? WEFT_ENOMEM : WEFT_EIO;
    if (out_msg && msg_size)
        snprintf(out_msg, msg_size, "%s %s: %s (code %d)", what, dir, mdb_strerror(rc), rc);
    if (mt)
        mdb_txn_abort(mt);
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
    free(db);
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
    } else {
        rc = mdb_txn_commit(txn->mt);
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
    if (!txn->db->have[space])
        return WEFT_ENOTFOUND;
    k = stored_key(&e, long_buf);
    rc = mdb_get(txn->mt, txn->db->dbi[space], &k, &v);
    if (rc == MDB_NOTFOUND)
        return WEFT_ENOTFOUND;
    if (rc != 0)
        return txn_fail(txn, rc, "mdb_get");
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

int weft_txn_put(weft_txn_t *txn, weft_space_t space, const uint8_t *ctx, size_t ctx_len,
                 const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len)
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
    k = stored_key(&e, long_buf);
    if (e.len <= HEAD_LEN) {
        v.mv_data = val_len ? (void *)val : (void *)&empty_byte;
        v.mv_size = val_len;
        rc = mdb_put(txn->mt, txn->db->dbi[space], &k, &v, 0);
        if (rc != 0)
            return txn_fail(txn, rc, "mdb_put");
        return 0;
    }
    /* Long key: refuse to overwrite another key that shares the 128-bit tag
     * (never expected; checked because a wrong overwrite would be silent). */
    rc = mdb_get(txn->mt, txn->db->dbi[space], &k, &v);
    if (rc == 0) {
        const uint8_t *old;
        size_t old_len;
        rc = long_match(txn->db, &v, &e, &old, &old_len);
        if (rc == WEFT_ENOTFOUND)
            return set_msg(txn->db, WEFT_EIO, "long key tag collision");
        if (rc != 0)
            return rc;
    } else if (rc != MDB_NOTFOUND) {
        return txn_fail(txn, rc, "mdb_get");
    }
    size_t tail_len = e.len - HEAD_LEN;
    v.mv_data = NULL;
    v.mv_size = 2 + tail_len + val_len;
    rc = mdb_put(txn->mt, txn->db->dbi[space], &k, &v, MDB_RESERVE);
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
    k = stored_key(&e, long_buf);
    if (e.len > HEAD_LEN) {
        const uint8_t *val;
        size_t val_len;
        rc = mdb_get(txn->mt, txn->db->dbi[space], &k, &v);
        if (rc == MDB_NOTFOUND)
            return 0;
        if (rc != 0)
            return txn_fail(txn, rc, "mdb_get");
        rc = long_match(txn->db, &v, &e, &val, &val_len);
        if (rc == WEFT_ENOTFOUND)
            return 0;
        if (rc != 0)
            return rc;
    }
    rc = mdb_del(txn->mt, txn->db->dbi[space], &k, NULL);
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
    int rc, code = 0, stop = 0;
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
    if (!db->have[space])
        goto done;

    if ((rc = mdb_cursor_open(txn->mt, db->dbi[space], &cur)) != 0) {
        code = txn_fail(txn, rc, "mdb_cursor_open");
        goto done;
    }
    /* A long lo seeks to its head, so its whole tag group is seen. */
    seek.mv_data = s->lo.buf;
    seek.mv_size = s->lo.len <= HEAD_LEN ? s->lo.len : HEAD_LEN;
    k = seek;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0 && !stop) {
        if (k.mv_size <= HEAD_LEN) {
            stop = visit(s, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
            if (!stop)
                rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            continue;
        }
        if (k.mv_size != LONG_LEN) {
            code = set_msg(db, WEFT_EIO, "stored key of %zu bytes", k.mv_size);
            goto done;
        }
        /* Collect the keys sharing this head, sort them by tail. Pointers
         * stay valid: fn may not write through txn during the scan. */
        size_t n = 0;
        memcpy(head, k.mv_data, HEAD_LEN);
        while (rc == 0 && k.mv_size == LONG_LEN && memcmp(k.mv_data, head, HEAD_LEN) == 0) {
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
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
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
        code = txn_fail(txn, rc, "mdb_cursor_get");
done:
    if (cur)
        mdb_cursor_close(cur);
    free(group);
    free(s);
    return code;
}

/* ---- drop ------------------------------------------------------------ */

static int drop_one(weft_txn_t *txn, weft_space_t space, const enckey_t *pre)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc, code = 0;

    if (!txn->db->have[space])
        return 0;
    if ((rc = mdb_cursor_open(txn->mt, txn->db->dbi[space], &cur)) != 0)
        return txn_fail(txn, rc, "mdb_cursor_open");
    k.mv_data = (void *)pre->buf;
    k.mv_size = pre->len;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    /* pre is at most 256 bytes, inside every stored head: plain prefix test. */
    while (rc == 0 && k.mv_size >= pre->len && memcmp(k.mv_data, pre->buf, pre->len) == 0) {
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
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
