/*
 * global_mem.c — the embedded global tier of Faasm's state (one node).
 *
 * What a Redis server holds for Faasm, kept in the process: values,
 * appended lists and expiring locks by full key, in one hash table under
 * one mutex. Pushes and pulls copy whole values or ranges, so the mutex is
 * held for a memcpy at most; fine for one node, where the local tier
 * carries the traffic. Nothing survives the process (docs/faasm.md).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faasm_priv.h"

#define NBUCKETS 4096u

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
} entry_t;

typedef struct {
    faasm_global_t base;
    pthread_mutex_t mu;
    entry_t *buckets[NBUCKETS];
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
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int m_append(faasm_global_t *g, const char *key, const uint8_t *data, size_t len)
{
    mem_t *m = (mem_t *)g;
    int rc = WEFT_ENOMEM;
    pthread_mutex_lock(&m->mu);
    entry_t *e = find(m, key, 1);
    if (!e) goto out;
    if (e->nelems == e->elems_cap) {
        size_t cap = e->elems_cap ? e->elems_cap * 2 : 8;
        elem_t *n = realloc(e->elems, cap * sizeof *n);
        if (!n) goto out;
        e->elems = n;
        e->elems_cap = cap;
    }
    uint8_t *p = malloc(len ? len : 1);
    if (!p) goto out;
    if (len) memcpy(p, data, len);
    e->elems[e->nelems++] = (elem_t){p, len};
    rc = 0;
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

static void m_close(faasm_global_t *g)
{
    mem_t *m = (mem_t *)g;
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

faasm_global_t *faasm_global_mem_new(void)
{
    mem_t *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->base.ops = &mem_ops;
    pthread_mutex_init(&m->mu, NULL);
    return &m->base;
}
