/*
 * redis.c — the Redis global tier of Faasm's state (hiredis), as Faasm
 * keeps it: a value is a Redis string (SETRANGE/GETRANGE give the offset
 * variants), appended values a list, a global lock a key set with NX and
 * an expiry, released only by its holder (compare-and-delete in Lua).
 *
 * A hiredis context serves one thread, so requests take a connection from
 * a small pool and give it back; a connection that failed is dropped, and
 * the next request connects again, so the tier recovers by itself once the
 * server is back (requests in between fail with WEFT_EIO). Every request
 * has a 2 s timeout: a dead server is an error, never a hang. Compiled
 * twice: without WEFT_HIREDIS into weft_faasm_state (a weak stub refusing
 * Redis), and with it as the object library weft_faasm_redis, which only
 * the programs that serve link (weft-node, the tests), so the static
 * `weft` program carries no hiredis.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faasm_priv.h"

#ifndef WEFT_HIREDIS

/* Weak: a program that links the weft_faasm_redis objects (weft-node)
 * gets the real one, and the static `weft` program no hiredis. */
__attribute__((weak)) int faasm_global_redis_new(const char *url, faasm_global_t **out, char *msg,
                                                 size_t msg_size)
{
    (void)url;
    *out = NULL;
    if (msg && msg_size)
        snprintf(msg, msg_size, "this program was built without hiredis (libhiredis-dev): no "
                                "Redis global state");
    return WEFT_EARG;
}

#else

#include <hiredis/hiredis.h>

#define MAX_IDLE 16
#define PREFIX_VALUE "weft:faasm:v:"
#define PREFIX_LIST "weft:faasm:a:"
#define PREFIX_LOCK "weft:faasm:l:"

typedef struct {
    faasm_global_t base;
    char host[256];
    int port;
    pthread_mutex_t mu;
    redisContext *idle[MAX_IDLE];
    int nidle;
} redis_t;

/* An idle connection (*pooled = 1), else a new one; NULL if none. */
static redisContext *take(redis_t *r, int *pooled)
{
    redisContext *c = NULL;
    pthread_mutex_lock(&r->mu);
    if (r->nidle) c = r->idle[--r->nidle];
    pthread_mutex_unlock(&r->mu);
    *pooled = c != NULL;
    if (c) return c;
    struct timeval tv = {2, 0};
    c = redisConnectWithTimeout(r->host, r->port, tv);
    if (!c) return NULL;
    if (c->err || redisSetTimeout(c, tv) != REDIS_OK) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Gives the connection back, or drops it when it failed. */
static void give(redis_t *r, redisContext *c)
{
    if (!c) return;
    if (c->err) {
        redisFree(c);
        return;
    }
    pthread_mutex_lock(&r->mu);
    if (r->nidle < MAX_IDLE) {
        r->idle[r->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    if (c) redisFree(c);
}

/* One command (argv form, binary-safe); the reply or NULL (WEFT_EIO). A
 * pooled connection that fails is tried once more on a new one: after a
 * server restart every idle connection is dead, and the command never
 * reached the new server on it. */
static redisReply *command(redis_t *r, int argc, const char **argv, const size_t *lens)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int pooled;
        redisContext *c = take(r, &pooled);
        if (!c) return NULL;
        redisReply *rep = redisCommandArgv(c, argc, argv, lens);
        int dead = !rep && c->err;
        if (rep && rep->type == REDIS_REPLY_ERROR) {
            freeReplyObject(rep);
            rep = NULL;
        }
        give(r, c);
        if (rep || !dead || !pooled) return rep;
    }
    return NULL;
}

/* prefix + key into buf (sized by the caller). */
static size_t name(char *buf, const char *prefix, const char *key)
{
    size_t pl = strlen(prefix), kl = strlen(key);
    memcpy(buf, prefix, pl);
    memcpy(buf + pl, key, kl + 1);
    return pl + kl;
}

#define NAME_MAX_LEN (WEFT_FAASM_MAX_KEY + 32)

static int r_size(faasm_global_t *g, const char *key, size_t *out)
{
    char k[NAME_MAX_LEN];
    const char *argv[] = {"STRLEN", k};
    size_t lens[] = {6, name(k, PREFIX_VALUE, key)};
    redisReply *rep = command((redis_t *)g, 2, argv, lens);
    if (!rep) return WEFT_EIO;
    int rc = rep->type == REDIS_REPLY_INTEGER ? 0 : WEFT_EIO;
    *out = rc ? 0 : (size_t)rep->integer;
    freeReplyObject(rep);
    return rc;
}

static int r_get_range(faasm_global_t *g, const char *key, size_t off, uint8_t *buf, size_t len)
{
    memset(buf, 0, len);
    if (len == 0) return 0;
    char k[NAME_MAX_LEN], a[24], b[24];
    const char *argv[] = {"GETRANGE", k, a, b};
    size_t lens[] = {8, name(k, PREFIX_VALUE, key), (size_t)snprintf(a, sizeof a, "%zu", off),
                     (size_t)snprintf(b, sizeof b, "%zu", off + len - 1)};
    redisReply *rep = command((redis_t *)g, 4, argv, lens);
    if (!rep) return WEFT_EIO;
    int rc = rep->type == REDIS_REPLY_STRING ? 0 : WEFT_EIO;
    if (!rc) memcpy(buf, rep->str, (size_t)rep->len < len ? (size_t)rep->len : len);
    freeReplyObject(rep);
    return rc;
}

static int status_ok(redisReply *rep)
{
    int ok = rep && (rep->type == REDIS_REPLY_STATUS || rep->type == REDIS_REPLY_INTEGER);
    if (rep) freeReplyObject(rep);
    return ok ? 0 : WEFT_EIO;
}

static int r_set(faasm_global_t *g, const char *key, const uint8_t *data, size_t len)
{
    char k[NAME_MAX_LEN];
    const char *argv[] = {"SET", k, (const char *)data};
    size_t lens[] = {3, name(k, PREFIX_VALUE, key), len};
    if (!len) argv[2] = "";
    return status_ok(command((redis_t *)g, 3, argv, lens));
}

static int r_set_range(faasm_global_t *g, const char *key, size_t off, const uint8_t *data,
                       size_t len)
{
    if (len == 0) return 0;
    char k[NAME_MAX_LEN], a[24];
    const char *argv[] = {"SETRANGE", k, a, (const char *)data};
    size_t lens[] = {8, name(k, PREFIX_VALUE, key), (size_t)snprintf(a, sizeof a, "%zu", off),
                     len};
    return status_ok(command((redis_t *)g, 4, argv, lens));
}

static int r_append(faasm_global_t *g, const char *key, const uint8_t *data, size_t len)
{
    char k[NAME_MAX_LEN];
    const char *argv[] = {"RPUSH", k, len ? (const char *)data : ""};
    size_t lens[] = {5, name(k, PREFIX_LIST, key), len};
    return status_ok(command((redis_t *)g, 3, argv, lens));
}

static int r_read_appended(faasm_global_t *g, const char *key, uint8_t *buf, size_t len, size_t n)
{
    if (n == 0) return 0;
    char k[NAME_MAX_LEN], b[24];
    const char *argv[] = {"LRANGE", k, "0", b};
    size_t lens[] = {6, name(k, PREFIX_LIST, key), 1,
                     (size_t)snprintf(b, sizeof b, "%zu", n - 1)};
    redisReply *rep = command((redis_t *)g, 4, argv, lens);
    if (!rep) return WEFT_EIO;
    int rc = 0;
    size_t used = 0;
    if (rep->type != REDIS_REPLY_ARRAY) {
        rc = WEFT_EIO;
    } else if (rep->elements < n) {
        rc = WEFT_ENOTFOUND;
    } else {
        for (size_t i = 0; i < n && !rc; i++) {
            redisReply *e = rep->element[i];
            if ((size_t)e->len > len - used) {
                rc = WEFT_ELIMIT;
                break;
            }
            memcpy(buf + used, e->str, (size_t)e->len);
            used += (size_t)e->len;
        }
    }
    freeReplyObject(rep);
    return rc;
}

static int r_clear_appended(faasm_global_t *g, const char *key)
{
    char k[NAME_MAX_LEN];
    const char *argv[] = {"DEL", k};
    size_t lens[] = {3, name(k, PREFIX_LIST, key)};
    return status_ok(command((redis_t *)g, 2, argv, lens));
}

static int r_try_lock(faasm_global_t *g, const char *key, uint64_t token, uint32_t expiry_ms,
                      int *got)
{
    char k[NAME_MAX_LEN], t[24], e[24];
    const char *argv[] = {"SET", k, t, "NX", "PX", e};
    size_t lens[] = {3, name(k, PREFIX_LOCK, key),
                     (size_t)snprintf(t, sizeof t, "%llu", (unsigned long long)token), 2, 2,
                     (size_t)snprintf(e, sizeof e, "%u", expiry_ms)};
    redisReply *rep = command((redis_t *)g, 6, argv, lens);
    if (!rep) return WEFT_EIO;
    int rc = 0;
    if (rep->type == REDIS_REPLY_STATUS)
        *got = 1;
    else if (rep->type == REDIS_REPLY_NIL)
        *got = 0;
    else
        rc = WEFT_EIO;
    freeReplyObject(rep);
    return rc;
}

static int r_unlock(faasm_global_t *g, const char *key, uint64_t token)
{
    static const char script[] =
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
        "else return 0 end";
    char k[NAME_MAX_LEN], t[24];
    const char *argv[] = {"EVAL", script, "1", k, t};
    size_t lens[] = {4, sizeof script - 1, 1, name(k, PREFIX_LOCK, key),
                     (size_t)snprintf(t, sizeof t, "%llu", (unsigned long long)token)};
    redisReply *rep = command((redis_t *)g, 5, argv, lens);
    if (!rep) return WEFT_EIO;
    int rc = rep->type != REDIS_REPLY_INTEGER ? WEFT_EIO : rep->integer == 1 ? 0 : WEFT_EARG;
    freeReplyObject(rep);
    return rc;
}

static void r_close(faasm_global_t *g)
{
    redis_t *r = (redis_t *)g;
    for (int i = 0; i < r->nidle; i++) redisFree(r->idle[i]);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static const faasm_global_ops_t redis_ops = {
    "redis", r_size,          r_get_range,      r_set,      r_set_range, r_append,
    r_read_appended, r_clear_appended, r_try_lock, r_unlock, r_close,
};

int faasm_global_redis_new(const char *url, faasm_global_t **out, char *msg, size_t msg_size)
{
    *out = NULL;
    static const char scheme[] = "redis://";
    const char *hp = url && strncmp(url, scheme, sizeof scheme - 1) == 0 ? url + sizeof scheme - 1
                                                                          : NULL;
    const char *colon = hp ? strrchr(hp, ':') : NULL;
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == hp || (size_t)(colon - hp) >= 256 || !end || *end || port <= 0 ||
        port > 65535) {
        if (msg && msg_size)
            snprintf(msg, msg_size, "bad Redis URL '%s' (expected redis://HOST:PORT)",
                     url ? url : "");
        return WEFT_EARG;
    }
    redis_t *r = calloc(1, sizeof *r);
    if (!r) return WEFT_ENOMEM;
    r->base.ops = &redis_ops;
    memcpy(r->host, hp, (size_t)(colon - hp));
    r->port = (int)port;
    pthread_mutex_init(&r->mu, NULL);
    /* One PING now, so a wrong address is an error at start, not at the
     * first call. */
    const char *argv[] = {"PING"};
    size_t lens[] = {4};
    redisReply *rep = command(r, 1, argv, lens);
    if (!rep) {
        if (msg && msg_size)
            snprintf(msg, msg_size, "cannot reach Redis at %s:%ld", r->host, port);
        r_close(&r->base);
        return WEFT_EIO;
    }
    freeReplyObject(rep);
    *out = &r->base;
    return 0;
}

#endif
