/*
 * global_mem.c — the embedded global tier of Faasm's state (one node).
 *
 * What a Redis server holds for Faasm, kept in the process: values,
 * appended lists and expiring locks by full key, in one hash table under
 * one mutex. Pushes and pulls copy whole values or ranges, so the mutex is
 * held for a memcpy at most; fine for one node, where the local tier
 * carries the traffic.
 *
 * Persistence (a node with a data directory): values and appended lists
 * also live in an LMDB environment of their own (weft_db, `DIR`, the
 * node's `<data dir>/faasm`), read whole into the table when the tier
 * opens and written behind: a change marks its entry dirty, and a flusher
 * thread writes the dirty entries in one transaction at most every
 * FLUSH_MS (and the last ones when the tier closes), so a push costs no
 * commit and a node restart finds what was pushed. A crash loses at most
 * the last FLUSH_MS of changes (as a Redis server saving snapshots would).
 * Layout, in WEFT_SPACE_TABLES: context "v", key "app/key" -> the value's
 * bytes; context "a", key "app/key" -> the appended elements, each a u32
 * (little-endian) length then its bytes. Locks are not kept: their holders
 * did not survive the restart either. A value over 256 MiB (weft_db's
 * bound) stays in memory only, the flusher's error naming it once.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faasm_priv.h"
#include "weft/db.h"

#define NBUCKETS 4096u
#define FLUSH_MS 20 /* how long changes wait to be written together */
#define DB_VALUE_MAX (256u << 20)

typedef struct {
    uint8_t *p;
    size_t len;
} elem_t;

typedef struct entry {
    struct entry *next;
    char *key;
    uint8_t *data;
    size_t size;
    elem_t *elems; /* appended values */
    size_t nelems, elems_cap;
    uint64_t lock_token; /* 0: free */
    uint64_t lock_until; /* faasm_now_ms() at which the lock expires */
    int dirty;           /* persisted: changed since the flusher last wrote it */
    struct entry *dirty_next;
} entry_t;

typedef struct {
    faasm_global_t base;
    pthread_mutex_t mu;
    entry_t *buckets[NBUCKETS];
    /* persistence (db not NULL): the flusher's state, under mu */
    weft_db_t *db;
    entry_t *dirty; /* the dirty entries */
    pthread_t flusher;
    pthread_cond_t cv; /* an entry became dirty, or closing */
    int closing, big_reported;
    int load_failed; /* out of memory while reading the data directory */
} mem_t;

uint64_t faasm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return (size_t)(h % NBUCKETS);
}

/* The entry of `key`, created when `create`; NULL if absent or out of
 * memory. Under m->mu. */
static entry_t *find(mem_t *m, const char *key, int create)
{
    size_t b = hash(key);
    for (entry_t *e = m->buckets[b]; e; e = e->next)
        if (strcmp(e->key, key) == 0) return e;
    if (!create) return NULL;
    entry_t *e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(key))) {
        free(e);
        return NULL;
    }
    e->next = m->buckets[b];
    m->buckets[b] = e;
    return e;
}

static int grow(entry_t *e, size_t size)
{
    if (size <= e->size) return 0;
    uint8_t *p = realloc(e->data, size);
    if (!p) return WEFT_ENOMEM;
    memset(p + e->size, 0, size - e->size);
    e->data = p;
    e->size = size;
    return 0;
}

/* Queues e for the flusher (under m->mu); nothing without persistence. */
static void mark_dirty(mem_t *m, entry_t *e)
{
    if (!m->db || e->dirty) return;
    e->dirty = 1;
    e->dirty_next = m->dirty;
    if (!m->dirty) pthread_cond_signal(&m->cv);
    m->dirty = e;
}

static int m_size(faasm_global_t *g, const char *key, size_t *out)
{
    mem_t *m = (mem_t *)g;
    pthread_mutex_lock(&m->mu);
    entry_t *e = find(m, key, 0);
    *out = e ? e->size : 0;
    pthread_mutex_unlock(&m->mu);
    return 0;
}

static int m_get_range(faasm_global_t *g, const char *key, size_t off, uint8_t *buf, size_t len)
{
    mem_t *m = (mem_t *)g;
    memset(buf, 0, len);
    pthread_mutex_lock(&m->mu);
    entry_t *e = find(m, key, 0);
    if (e && off < e->size) memcpy(buf, e->data + off, e->size - off < len ? e->size - off : len);
    pthread_mutex_unlock(&m->mu);
    return 0;
}

static int m_set(faasm_global_t *g, const char *key, const uint8_t *data, size_t len)
{
    mem_t *m = (mem_t *)g;
    int rc = WEFT_ENOMEM;
    pthread_mutex_lock(&m->mu);
    entry_t *e = find(m, key, 1);
    if (!e) goto out;
    uint8_t *p = malloc(len ? len : 1);
    if (!p) goto out;
    if (len) memcpy(p, data, len);
    free(e->data);
    e->data = p;
    e->size = len;
    mark_dirty(m, e);
    rc = 0;
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int m_set_range(faasm_global_t *g, const char *key, size_t off, const uint8_t *data,
                       size_t len)
{
    mem_t *m = (mem_t *)g;
    int rc = WEFT_ENOMEM;
    pthread_mutex_lock(&m->mu);
    entry_t *e = find(m, key, 1);
    if (!e || (rc = grow(e, off + len))) goto out;
    if (len) memcpy(e->data + off, data, len);
    mark_dirty(m, e);
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* Adds a copy of data as e's last element; 0 or WEFT_ENOMEM. */
static int push_elem(entry_t *e, const uint8_t *data, size_t len)
{
    if (e->nelems == e->elems_cap) {
        size_t cap = e->elems_cap ? e->elems_cap * 2 : 8;
        elem_t *n = realloc(e->elems, cap * sizeof *n);
        if (!n) return WEFT_ENOMEM;
        e->elems = n;
        e->elems_cap = cap;
    }
    uint8_t *p = malloc(len ? len : 1);
    if (!p) return WEFT_ENOMEM;
    if (len) memcpy(p, data, len);
    e->elems[e->nelems++] = (elem_t){p, len};
    return 0;
}

static int m_append(faasm_global_t *g, const char *key, const uint8_t *data, size_t len)
{
    mem_t *m = (mem_t *)g;
    int rc = WEFT_ENOMEM;
    pthread_mutex_lock(&m->mu);
    entry_t *e = find(m, key, 1);
    if (!e || (rc = push_elem(e, data, len))) goto out;
    mark_dirty(m, e);
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int m_read_appended(faasm_global_t *g, const char *key, uint8_t *buf, size_t len, size_t n)
{
    mem_t *m = (mem_t *)g;
    int rc = 0;
    pthread_mutex_lock(&m->mu);
    entry_t *e = find(m, key, 0);
    size_t have = e ? e->nelems : 0, used = 0;
    if (have < n) {
        rc = WEFT_ENOTFOUND;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (e->elems[i].len > len - used) {
            rc = WEFT_ELIMIT;
            goto out;
        }
        memcpy(buf + used, e->elems[i].p, e->elems[i].len);
        used += e->elems[i].len;
    }
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int m_clear_appended(faasm_global_t *g, const char *key)
{
    mem_t *m = (mem_t *)g;
    pthread_mutex_lock(&m->mu);
    entry_t *e = find(m, key, 0);
    if (e) {
        for (size_t i = 0; i < e->nelems; i++) free(e->elems[i].p);
        e->nelems = 0;
        mark_dirty(m, e);
    }
    pthread_mutex_unlock(&m->mu);
    return 0;
}

static int m_try_lock(faasm_global_t *g, const char *key, uint64_t token, uint32_t expiry_ms,
                      int *got)
{
    mem_t *m = (mem_t *)g;
    int rc = 0;
    uint64_t now = faasm_now_ms();
    pthread_mutex_lock(&m->mu);
    entry_t *e = find(m, key, 1);
    if (!e) {
        rc = WEFT_ENOMEM;
        goto out;
    }
    *got = e->lock_token == 0 || e->lock_until <= now;
    if (*got) {
        e->lock_token = token;
        e->lock_until = now + expiry_ms;
    }
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int m_unlock(faasm_global_t *g, const char *key, uint64_t token)
{
    mem_t *m = (mem_t *)g;
    int rc = WEFT_EARG;
    pthread_mutex_lock(&m->mu);
    entry_t *e = find(m, key, 0);
    if (e && e->lock_token == token && e->lock_until > faasm_now_ms()) {
        e->lock_token = 0;
        rc = 0;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

/* ---- persistence --------------------------------------------------------- */

/* Writes entry e (under m->mu) in txn: its value, and its appended
 * elements (deleted when there are none). */
static int write_entry(mem_t *m, weft_txn_t *txn, entry_t *e)
{
    size_t kl = strlen(e->key);
    const uint8_t *k = (const uint8_t *)e->key;
    int rc = 0;
    if (e->size > DB_VALUE_MAX) {
        if (!m->big_reported++)
            fprintf(stderr, "weft: faasm: global value %s is %zu bytes, over the %u MiB kept in "
                            "the data directory: it stays in memory only\n",
                    e->key, e->size, DB_VALUE_MAX >> 20);
    } else if (e->data) {
        rc = weft_txn_put(txn, WEFT_SPACE_TABLES, (const uint8_t *)"v", 1, k, kl, e->data,
                          e->size);
    }
    if (rc) return rc;
    if (!e->nelems) return weft_txn_del(txn, WEFT_SPACE_TABLES, (const uint8_t *)"a", 1, k, kl);
    size_t n = 0;
    for (size_t i = 0; i < e->nelems; i++) n += 4 + e->elems[i].len;
    if (n > DB_VALUE_MAX) return 0; /* as a value too large */
    uint8_t *buf = malloc(n ? n : 1), *p = buf;
    if (!buf) return WEFT_ENOMEM;
    for (size_t i = 0; i < e->nelems; i++) {
        uint32_t l = (uint32_t)e->elems[i].len;
        for (int b = 0; b < 4; b++) *p++ = (uint8_t)(l >> (8 * b));
        memcpy(p, e->elems[i].p, l);
        p += l;
    }
    rc = weft_txn_put(txn, WEFT_SPACE_TABLES, (const uint8_t *)"a", 1, k, kl, buf, n);
    free(buf);
    return rc;
}

/* Writes every dirty entry in one transaction. On a failure they stay
 * dirty, for the next round (a full map grows for it: weft_db). */
static void flush(mem_t *m)
{
    pthread_mutex_lock(&m->mu);
    int any = m->dirty != NULL;
    pthread_mutex_unlock(&m->mu);
    weft_txn_t *txn;
    if (!any || weft_txn_begin(m->db, WEFT_TXN_WRITE, &txn) != 0) return;
    pthread_mutex_lock(&m->mu);
    entry_t *list = m->dirty;
    m->dirty = NULL;
    int rc = 0;
    for (entry_t *e = list; e && !rc; e = e->dirty_next) rc = write_entry(m, txn, e);
    for (entry_t *e = list, *next; e; e = next) {
        next = e->dirty_next;
        e->dirty = 0;
        if (rc) mark_dirty(m, e);
    }
    pthread_mutex_unlock(&m->mu);
    if (rc) {
        weft_txn_abort(txn);
    } else if ((rc = weft_txn_commit(txn)) != 0) {
        /* written again next round, changed since or not; the list's
         * links are the entries' own, so it is rebuilt from the table */
        pthread_mutex_lock(&m->mu);
        for (size_t b = 0; b < NBUCKETS; b++)
            for (entry_t *e = m->buckets[b]; e; e = e->next)
                if (e->size || e->data || e->nelems) mark_dirty(m, e);
        pthread_mutex_unlock(&m->mu);
    }
    if (rc && !weft_db_retryable(rc))
        fprintf(stderr, "weft: faasm: cannot write the global tier to %s: %s\n",
                weft_db_dir(m->db), weft_strerror(rc));
}

static void *flusher(void *arg)
{
    mem_t *m = arg;
    pthread_mutex_lock(&m->mu);
    while (!m->closing) {
        if (!m->dirty) {
            pthread_cond_wait(&m->cv, &m->mu);
            continue;
        }
        pthread_mutex_unlock(&m->mu);
        struct timespec ts = {0, FLUSH_MS * 1000000L};
        nanosleep(&ts, NULL); /* the changes of the next few ms in one commit */
        flush(m);
        pthread_mutex_lock(&m->mu);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

/* The entry of a stored key (made; the table is not shared yet), or NULL:
 * out of memory (load_failed set) or a key too long to be Faasm's. */
static entry_t *load_entry(mem_t *m, const uint8_t *key, size_t key_len)
{
    char k[WEFT_FAASM_MAX_KEY + 1];
    if (key_len > WEFT_FAASM_MAX_KEY) return NULL;
    memcpy(k, key, key_len);
    k[key_len] = 0;
    entry_t *e = find(m, k, 1);
    if (!e) m->load_failed = 1;
    return e;
}

static int load_value(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                      size_t val_len)
{
    mem_t *m = user;
    entry_t *e = load_entry(m, key, key_len);
    if (!e) return m->load_failed;
    if (!(e->data = malloc(val_len ? val_len : 1))) return m->load_failed = 1;
    memcpy(e->data, val, val_len);
    e->size = val_len;
    return 0;
}

static int load_appended(void *user, const uint8_t *key, size_t key_len, const uint8_t *val,
                         size_t val_len)
{
    mem_t *m = user;
    entry_t *e = load_entry(m, key, key_len);
    if (!e) return m->load_failed;
    for (size_t at = 0; at + 4 <= val_len;) {
        uint32_t l = (uint32_t)val[at] | (uint32_t)val[at + 1] << 8 |
                     (uint32_t)val[at + 2] << 16 | (uint32_t)val[at + 3] << 24;
        at += 4;
        if (l > val_len - at) break; /* a damaged record: what came before is kept */
        if (push_elem(e, val + at, l)) return m->load_failed = 1;
        at += l;
    }
    return 0;
}

static void m_close(faasm_global_t *g)
{
    mem_t *m = (mem_t *)g;
    if (m->db) {
        pthread_mutex_lock(&m->mu);
        m->closing = 1;
        pthread_cond_signal(&m->cv);
        pthread_mutex_unlock(&m->mu);
        pthread_join(m->flusher, NULL);
        flush(m); /* the last changes */
        weft_db_close(m->db);
        pthread_cond_destroy(&m->cv);
    }
    for (size_t b = 0; b < NBUCKETS; b++) {
        for (entry_t *e = m->buckets[b], *next; e; e = next) {
            next = e->next;
            for (size_t i = 0; i < e->nelems; i++) free(e->elems[i].p);
            free(e->elems);
            free(e->data);
            free(e->key);
            free(e);
        }
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static const faasm_global_ops_t mem_ops = {
    "embedded", m_size,          m_get_range,      m_set,      m_set_range, m_append,
    m_read_appended, m_clear_appended, m_try_lock, m_unlock, m_close,
};

int faasm_global_mem_new(const char *dir, unsigned db_flags, faasm_global_t **out, char *msg,
                         size_t msg_size)
{
    *out = NULL;
    mem_t *m = calloc(1, sizeof *m);
    if (!m) return WEFT_ENOMEM;
    m->base.ops = &mem_ops;
    pthread_mutex_init(&m->mu, NULL);
    if (!dir) {
        *out = &m->base;
        return 0;
    }
    int rc = weft_db_open(dir, db_flags, &m->db, msg, msg_size);
    weft_txn_t *txn = NULL;
    if (rc == 0 && (rc = weft_txn_begin(m->db, WEFT_TXN_READ, &txn)) == 0) {
        rc = weft_txn_scan(txn, WEFT_SPACE_TABLES, (const uint8_t *)"v", 1, NULL, 0, NULL, 0,
                           load_value, m);
        if (rc == 0)
            rc = weft_txn_scan(txn, WEFT_SPACE_TABLES, (const uint8_t *)"a", 1, NULL, 0, NULL,
                               0, load_appended, m);
        weft_txn_abort(txn);
        if (rc == 0 && m->load_failed) rc = WEFT_ENOMEM;
    }
    if (rc == 0) {
        pthread_cond_init(&m->cv, NULL);
        if (pthread_create(&m->flusher, NULL, flusher, m) != 0) {
            pthread_cond_destroy(&m->cv);
            rc = WEFT_ENOMEM;
        }
    }
    if (rc) {
        if (msg && msg_size && !msg[0])
            snprintf(msg, msg_size, "cannot open Faasm's global state in %s: %s", dir,
                     weft_strerror(rc));
        if (m->db) weft_db_close(m->db);
        m->db = NULL;
        m_close(&m->base);
        return rc;
    }
    *out = &m->base;
    return 0;
}
