/*
 * state.c — Faasm's state service (weft/faasm_state.h): the local tier of
 * one node and the choice of global tier (global_mem.c, redis.c).
 *
 * A local value is a byte buffer with two flags per 4 KiB chunk: `have`
 * (its bytes were pulled from, or written on, this node) and `dirty`
 * (written since the last push). Reads pull only the chunks they touch
 * that this node lacks, so an offset read of a large value copies its
 * range, not the value. Each value has its own mutex, held for the copy
 * (and for the pull of missing chunks, I/O to Redis included: a value's
 * first reader waits for it anyway); the guests' read/write lock is a
 * separate advisory lock on a condition variable. Values are never freed
 * before the service: the table grows with the keys the node's apps use.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faasm_priv.h"

#define NBUCKETS 4096u
/* How often a lock wait looks at the caller's wait function. */
#define WAIT_SLICE_MS 5

struct weft_faasm_kv {
    struct weft_faasm_kv *next; /* hash chain */
    weft_faasm_state_t *st;
    char *full; /* "app/key" */
    pthread_mutex_t mu;
    pthread_cond_t cv; /* the guests' lock changed */
    uint8_t *data;
    size_t size, cap;
    int sized;      /* size known: pulled or written on this node */
    uint8_t *have;  /* per chunk */
    uint8_t *dirty; /* per chunk */
    size_t nchunks; /* entries of have and dirty */
    int readers, writer;
};

struct weft_faasm_state {
    faasm_global_t *global;
    uint32_t lock_expiry_ms;
    pthread_mutex_t mu; /* the table */
    weft_faasm_kv_t *buckets[NBUCKETS];
};

static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return (size_t)(h % NBUCKETS);
}

int weft_faasm_state_new(const weft_faasm_state_config_t *cfg, weft_faasm_state_t **out,
                         char *out_msg, size_t msg_size)
{
    if (out_msg && msg_size) out_msg[0] = '\0';
    if (!out) return WEFT_EARG;
    *out = NULL;
    weft_faasm_state_t *st = calloc(1, sizeof *st);
    if (!st) return WEFT_ENOMEM;
    pthread_mutex_init(&st->mu, NULL);
    st->lock_expiry_ms = cfg && cfg->lock_expiry_ms ? cfg->lock_expiry_ms : 10000;
    int rc = 0;
    if (cfg && cfg->redis_url) {
        rc = faasm_global_redis_new(cfg->redis_url, &st->global, out_msg, msg_size);
    } else {
        rc = faasm_global_mem_new(cfg ? cfg->dir : NULL, cfg ? cfg->db_flags : 0, &st->global,
                                  out_msg, msg_size);
    }
    if (rc) {
        weft_faasm_state_delete(st);
        return rc;
    }
    *out = st;
    return 0;
}

void weft_faasm_state_delete(weft_faasm_state_t *st)
{
    if (!st) return;
    for (size_t b = 0; b < NBUCKETS; b++) {
        for (weft_faasm_kv_t *kv = st->buckets[b], *next; kv; kv = next) {
            next = kv->next;
            pthread_mutex_destroy(&kv->mu);
            pthread_cond_destroy(&kv->cv);
            free(kv->data);
            free(kv->have);
            free(kv->dirty);
            free(kv->full);
            free(kv);
        }
    }
    if (st->global) st->global->ops->close(st->global);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

const char *weft_faasm_state_global_kind(const weft_faasm_state_t *st)
{
    return st->global->ops->kind;
}

/* "app/key" into buf (WEFT_FAASM_MAX_KEY + 1 bytes), or WEFT_EARG. */
static int full_key(const char *app, const char *key, char *buf)
{
    size_t al = app ? strlen(app) : 0, kl = key ? strlen(key) : 0;
    if (!al || !kl || al + 1 + kl > WEFT_FAASM_MAX_KEY) return WEFT_EARG;
    memcpy(buf, app, al);
    buf[al] = '/';
    memcpy(buf + al + 1, key, kl + 1);
    return 0;
}

int weft_faasm_state_kv(weft_faasm_state_t *st, const char *app, const char *key,
                        weft_faasm_kv_t **out)
{
    char full[WEFT_FAASM_MAX_KEY + 1];
    int rc = full_key(app, key, full);
    if (rc) return rc;
    size_t b = hash(full);
    pthread_mutex_lock(&st->mu);
    weft_faasm_kv_t *kv = st->buckets[b];
    while (kv && strcmp(kv->full, full) != 0) kv = kv->next;
    if (!kv) {
        kv = calloc(1, sizeof *kv);
        if (!kv || !(kv->full = strdup(full))) {
            free(kv);
            pthread_mutex_unlock(&st->mu);
            return WEFT_ENOMEM;
        }
        kv->st = st;
        pthread_mutex_init(&kv->mu, NULL);
        pthread_cond_init(&kv->cv, NULL);
        kv->next = st->buckets[b];
        st->buckets[b] = kv;
    }
    pthread_mutex_unlock(&st->mu);
    *out = kv;
    return 0;
}

/* ---- the buffer (all under kv->mu) --------------------------------------- */

static size_t chunks_of(size_t size)
{
    return (size + WEFT_FAASM_CHUNK - 1) / WEFT_FAASM_CHUNK;
}

/* Makes the value `size` bytes; the chunks it gains are marked `have`
 * when `local` (bytes this node made: zeros) and not otherwise (bytes of
 * the global value yet to pull). Shrinking drops the bytes past size. */
static int resize(weft_faasm_kv_t *kv, size_t size, int local)
{
    if (size > WEFT_FAASM_MAX_VALUE) return WEFT_ELIMIT;
    if (size > kv->cap) {
        size_t cap = kv->cap ? kv->cap : 64;
        while (cap < size) cap = cap * 2 > WEFT_FAASM_MAX_VALUE ? WEFT_FAASM_MAX_VALUE : cap * 2;
        uint8_t *p = realloc(kv->data, cap);
        if (!p) return WEFT_ENOMEM;
        kv->data = p;
        kv->cap = cap;
    }
    size_t n = chunks_of(size);
    if (n > kv->nchunks) {
        uint8_t *h = realloc(kv->have, n), *d;
        if (!h) return WEFT_ENOMEM;
        kv->have = h;
        if (!(d = realloc(kv->dirty, n))) return WEFT_ENOMEM;
        kv->dirty = d;
        memset(kv->have + kv->nchunks, local, n - kv->nchunks);
        memset(kv->dirty + kv->nchunks, 0, n - kv->nchunks);
        kv->nchunks = n;
    }
    /* An unpulled chunk that the value grows into stays unpulled: its
     * pull reads the global bytes and zeros past the global end. */
    if (size > kv->size) memset(kv->data + kv->size, 0, size - kv->size);
    kv->size = size;
    kv->nchunks = n;
    return 0;
}

static int ensure_sized(weft_faasm_kv_t *kv)
{
    if (kv->sized) return 0;
    size_t size;
    int rc = kv->st->global->ops->size(kv->st->global, kv->full, &size);
    if (rc) return rc;
    if ((rc = resize(kv, size, 0))) return rc;
    kv->sized = 1;
    return 0;
}

/* Pulls the chunks of [off, off+len) (within the value) this node lacks,
 * a run of missing chunks in one request. */
static int ensure_range(weft_faasm_kv_t *kv, size_t off, size_t len)
{
    if (len == 0 || off >= kv->size) return 0;
    if (len > kv->size - off) len = kv->size - off;
    size_t c = off / WEFT_FAASM_CHUNK, end = (off + len - 1) / WEFT_FAASM_CHUNK + 1;
    while (c < end) {
        if (kv->have[c]) {
            c++;
            continue;
        }
        size_t run = c;
        while (run < end && !kv->have[run]) run++;
        size_t from = c * WEFT_FAASM_CHUNK, to = run * WEFT_FAASM_CHUNK;
        if (to > kv->size) to = kv->size;
        int rc = kv->st->global->ops->get_range(kv->st->global, kv->full, from,
                                                 kv->data + from, to - from);
        if (rc) return rc;
        memset(kv->have + c, 1, run - c);
        c = run;
    }
    return 0;
}

static void mark(uint8_t *flags, size_t off, size_t len)
{
    if (len == 0) return;
    size_t c = off / WEFT_FAASM_CHUNK, end = (off + len - 1) / WEFT_FAASM_CHUNK + 1;
    memset(flags + c, 1, end - c);
}

int weft_faasm_kv_size(weft_faasm_kv_t *kv, size_t *out)
{
    pthread_mutex_lock(&kv->mu);
    int rc = ensure_sized(kv);
    *out = kv->size;
    pthread_mutex_unlock(&kv->mu);
    return rc;
}

int weft_faasm_kv_reserve(weft_faasm_kv_t *kv, size_t size)
{
    pthread_mutex_lock(&kv->mu);
    int rc = ensure_sized(kv);
    if (!rc && size > kv->size) rc = resize(kv, size, 1);
    pthread_mutex_unlock(&kv->mu);
    return rc;
}

int weft_faasm_kv_read(weft_faasm_kv_t *kv, size_t off, uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&kv->mu);
    int rc = ensure_sized(kv);
    if (!rc) rc = ensure_range(kv, off, len);
    if (!rc) {
        size_t n = off < kv->size ? (kv->size - off < len ? kv->size - off : len) : 0;
        if (n) memcpy(buf, kv->data + off, n);
        memset(buf + n, 0, len - n);
    }
    pthread_mutex_unlock(&kv->mu);
    return rc;
}

int weft_faasm_kv_write(weft_faasm_kv_t *kv, const uint8_t *data, size_t len)
{
    pthread_mutex_lock(&kv->mu);
    kv->size = 0; /* every chunk is replaced: nothing to pull */
    kv->nchunks = 0;
    int rc = resize(kv, len, 1);
    if (!rc) {
        if (len) memcpy(kv->data, data, len);
        memset(kv->have, 1, kv->nchunks);
        memset(kv->dirty, 1, kv->nchunks);
        kv->sized = 1;
    }
    pthread_mutex_unlock(&kv->mu);
    return rc;
}

int weft_faasm_kv_write_range(weft_faasm_kv_t *kv, size_t total, size_t off, const uint8_t *data,
                              size_t len)
{
    if (off > WEFT_FAASM_MAX_VALUE || len > WEFT_FAASM_MAX_VALUE - off) return WEFT_ELIMIT;
    pthread_mutex_lock(&kv->mu);
    int rc = ensure_sized(kv);
    size_t size = total > off + len ? total : off + len;
    if (!rc && size > kv->size) rc = resize(kv, size, 1);
    /* The chunks the write covers only in part keep the rest of their
     * bytes: those must be pulled first. */
    if (!rc && len) rc = ensure_range(kv, off, 1);
    if (!rc && len) rc = ensure_range(kv, off + len - 1, 1);
    if (!rc && len) {
        memcpy(kv->data + off, data, len);
        mark(kv->have, off, len);
        mark(kv->dirty, off, len);
    }
    pthread_mutex_unlock(&kv->mu);
    return rc;
}

void weft_faasm_kv_flag_dirty(weft_faasm_kv_t *kv, size_t off, size_t len)
{
    pthread_mutex_lock(&kv->mu);
    if (off < kv->size) {
        if (len > kv->size - off) len = kv->size - off;
        /* only chunks this node holds can be dirty: the others are the
         * global value's own bytes */
        size_t c = off / WEFT_FAASM_CHUNK, end = len ? (off + len - 1) / WEFT_FAASM_CHUNK + 1 : c;
        for (; c < end; c++)
            if (kv->have[c]) kv->dirty[c] = 1;
    }
    pthread_mutex_unlock(&kv->mu);
}

/* ---- global tier ------------------------------------------------------------ */

int weft_faasm_kv_push(weft_faasm_kv_t *kv)
{
    pthread_mutex_lock(&kv->mu);
    int rc = ensure_sized(kv);
    if (!rc) rc = ensure_range(kv, 0, kv->size);
    if (!rc) rc = kv->st->global->ops->set(kv->st->global, kv->full, kv->data, kv->size);
    if (!rc) memset(kv->dirty, 0, kv->nchunks);
    pthread_mutex_unlock(&kv->mu);
    return rc;
}

int weft_faasm_kv_push_partial(weft_faasm_kv_t *kv)
{
    pthread_mutex_lock(&kv->mu);
    int rc = 0;
    for (size_t c = 0; c < kv->nchunks && !rc;) {
        if (!kv->dirty[c]) {
            c++;
            continue;
        }
        size_t run = c;
        while (run < kv->nchunks && kv->dirty[run]) run++;
        size_t from = c * WEFT_FAASM_CHUNK, to = run * WEFT_FAASM_CHUNK;
        if (to > kv->size) to = kv->size;
        rc = kv->st->global->ops->set_range(kv->st->global, kv->full, from, kv->data + from,
                                            to - from);
        if (!rc) memset(kv->dirty + c, 0, run - c);
        c = run;
    }
    pthread_mutex_unlock(&kv->mu);
    return rc;
}

int weft_faasm_kv_push_mask(weft_faasm_kv_t *kv, weft_faasm_kv_t *mask)
{
    if (mask == kv) return weft_faasm_kv_push_partial(kv);
    size_t size;
    int rc = weft_faasm_kv_size(kv, &size);
    if (rc) return rc;
    /* The mask is read first, without the value's mutex: two values'
     * mutexes are never held together. */
    uint8_t *m = malloc(size ? size : 1);
    if (!m) return WEFT_ENOMEM;
    if ((rc = weft_faasm_kv_read(mask, 0, m, size))) goto out;
    pthread_mutex_lock(&kv->mu);
    for (size_t i = 0; i < size && i < kv->size && !rc;) {
        if (!m[i]) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < size && j < kv->size && m[j]) j++;
        rc = ensure_range(kv, i, j - i);
        if (!rc)
            rc = kv->st->global->ops->set_range(kv->st->global, kv->full, i, kv->data + i, j - i);
        i = j;
    }
    if (!rc) memset(kv->dirty, 0, kv->nchunks);
    pthread_mutex_unlock(&kv->mu);
out:
    free(m);
    return rc;
}

int weft_faasm_kv_pull(weft_faasm_kv_t *kv, size_t len)
{
    pthread_mutex_lock(&kv->mu);
    size_t gsize;
    int rc = kv->st->global->ops->size(kv->st->global, kv->full, &gsize);
    if (rc) goto out;
    if (len == 0) len = gsize;
    kv->size = 0;
    kv->nchunks = 0;
    if ((rc = resize(kv, len, 0))) goto out;
    if ((rc = ensure_range(kv, 0, len))) goto out;
    memset(kv->dirty, 0, kv->nchunks);
    kv->sized = 1;
out:
    pthread_mutex_unlock(&kv->mu);
    return rc;
}

/* ---- locks ------------------------------------------------------------------- */

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_nsec += (long)ms * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int weft_faasm_kv_lock(weft_faasm_kv_t *kv, int write, weft_faasm_wait_fn wait, void *wait_user)
{
    int rc = 0;
    pthread_mutex_lock(&kv->mu);
    while (kv->writer || (write && kv->readers)) {
        struct timespec ts;
        deadline_in(&ts, WAIT_SLICE_MS);
        pthread_cond_timedwait(&kv->cv, &kv->mu, &ts);
        if (wait && (kv->writer || (write && kv->readers)) && (rc = wait(wait_user))) goto out;
    }
    if (write)
        kv->writer = 1;
    else
        kv->readers++;
out:
    pthread_mutex_unlock(&kv->mu);
    return rc;
}

int weft_faasm_kv_unlock(weft_faasm_kv_t *kv, int write)
{
    int rc = 0;
    pthread_mutex_lock(&kv->mu);
    if (write ? !kv->writer : kv->readers == 0) {
        rc = WEFT_EARG;
    } else {
        if (write)
            kv->writer = 0;
        else
            kv->readers--;
        pthread_cond_broadcast(&kv->cv);
    }
    pthread_mutex_unlock(&kv->mu);
    return rc;
}

int weft_faasm_state_lock_global(weft_faasm_state_t *st, const char *app, const char *key,
                                 uint64_t token, weft_faasm_wait_fn wait, void *wait_user)
{
    char full[WEFT_FAASM_MAX_KEY + 1];
    int rc = full_key(app, key, full), got = 0, sleep_ms = 1;
    while (!rc) {
        if ((rc = st->global->ops->try_lock(st->global, full, token, st->lock_expiry_ms, &got)))
            break;
        if (got) break;
        if (wait && (rc = wait(wait_user))) break;
        struct timespec ts = {0, (long)sleep_ms * 1000000L};
        nanosleep(&ts, NULL);
        if (sleep_ms < 16) sleep_ms *= 2; /* a Redis lock is polled: back off a little */
    }
    return rc;
}

int weft_faasm_state_unlock_global(weft_faasm_state_t *st, const char *app, const char *key,
                                   uint64_t token)
{
    char full[WEFT_FAASM_MAX_KEY + 1];
    int rc = full_key(app, key, full);
    return rc ? rc : st->global->ops->unlock(st->global, full, token);
}

/* ---- appended values ---------------------------------------------------------- */

int weft_faasm_state_append(weft_faasm_state_t *st, const char *app, const char *key,
                            const uint8_t *data, size_t len)
{
    char full[WEFT_FAASM_MAX_KEY + 1];
    int rc = full_key(app, key, full);
    return rc ? rc : st->global->ops->append(st->global, full, data, len);
}

int weft_faasm_state_read_appended(weft_faasm_state_t *st, const char *app, const char *key,
                                   uint8_t *buf, size_t len, size_t n)
{
    char full[WEFT_FAASM_MAX_KEY + 1];
    int rc = full_key(app, key, full);
    return rc ? rc : st->global->ops->read_appended(st->global, full, buf, len, n);
}

int weft_faasm_state_clear_appended(weft_faasm_state_t *st, const char *app, const char *key)
{
    char full[WEFT_FAASM_MAX_KEY + 1];
    int rc = full_key(app, key, full);
    return rc ? rc : st->global->ops->clear_appended(st->global, full);
}
