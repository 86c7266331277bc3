/*
 * src/host/wippy.c — `wippy:runtime/funcs@0.1.0` (weft/wippy.h): call-string
 * and call-bytes as component host functions.
 *
 * The binding owns the policy every call of one function obeys: the target
 * must be `namespace:entry` (both non-empty), allowed by the function's
 * list, not deeper than the bound, and not already in progress (a cycle).
 * What passes goes to the embedder's callback with the chain of calls
 * extended by the target. Every failure is the result's `err` string, so
 * a guest can always handle it; the binding never traps its caller.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft/wippy.h>

#include "strv.h"

#define DEFAULT_DEPTH 8

struct weft_wippy {
    weft_wippy_call_fn call;
    void *user;
    char **allow, **chain;
    size_t nallow, nchain;
    unsigned max_depth;
};

static const char *const func_names[] = {"call-string", "call-bytes"};

size_t weft_wippy_func_count(void) { return 2; }

int weft_wippy_func(size_t i, const char **out_name)
{
    if (i >= 2)
        return WEFT_ENOTFOUND;
    *out_name = func_names[i];
    return 0;
}

static int allowed(const weft_wippy_t *w, const char *target, size_t ns_len)
{
    for (size_t i = 0; i < w->nallow; i++) {
        const char *a = w->allow[i];
        size_t n = strlen(a);
        if (strcmp(a, target) == 0)
            return 1;
        if (n == ns_len + 2 && memcmp(a, target, ns_len + 1) == 0 && a[n - 1] == '*')
            return 1;
    }
    return 0;
}

/* Whether s[0..n) is UTF-8 (not checking overlong forms: the canonical
 * ABI's lowering does, this only turns the common case into an err). */
static int utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
                 : (c & 0xf8) == 0xf0 ? 3 : 9;
        if (k == 9 || n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++)
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
        i += k + 1;
    }
    return 1;
}

/* result<_, string> err(msg): a string payload in case 1. */
static int set_err(weft_cval_t *result, const char *fmt, const char *a, const char *b)
{
    char buf[512];
    snprintf(buf, sizeof buf, fmt, a, b);
    memset(result, 0, sizeof *result);
    result->kind = WEFT_CT_RESULT;
    result->index = 1;
    if (!(result->items = calloc(1, sizeof *result->items)))
        return -1;
    result->n = 1;
    weft_cval_t *s = &result->items[0];
    s->kind = WEFT_CT_STRING;
    if (!(s->str = strdup(buf)))
        return -1;
    s->len = strlen(buf);
    return 0;
}

/* The chain with `target` appended, joined by " -> " (for the cycle message). */
static char *chain_text(const weft_wippy_t *w, const char *target)
{
    size_t n = strlen(target) + 1;
    for (size_t i = 0; i < w->nchain; i++)
        n += strlen(w->chain[i]) + 4;
    char *s = malloc(n);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < w->nchain; i++) {
        strcat(s, w->chain[i]);
        strcat(s, " -> ");
    }
    strcat(s, target);
    return s;
}

static int do_call(weft_wippy_t *w, const weft_cval_t *args, int bytes, weft_cval_t *result,
                   char *err, size_t err_size)
{
    const char *target = args[0].str ? args[0].str : "";
    const char *colon = strchr(target, ':');
    int rc = 0;
    if (!colon || colon == target || !colon[1] || strlen(target) != args[0].len)
        rc = set_err(result, "invalid target '%s': want namespace:entry%s", target, "");
    else if (!allowed(w, target, (size_t)(colon - target)))
        rc = set_err(result, "permission denied: %s%s", target, "");
    else if (w->nchain + 1 > w->max_depth) {
        char depth[32], bound[32];
        snprintf(depth, sizeof depth, "%zu", w->nchain + 1);
        snprintf(bound, sizeof bound, "%u", w->max_depth);
        rc = set_err(result, "call depth %s passes the bound of %s", depth, bound);
    } else {
        for (size_t i = 0; i < w->nchain; i++)
            if (strcmp(w->chain[i], target) == 0) {
                char *text = chain_text(w, target);
                rc = set_err(result, "cycle: %s%s", text ? text : target, "");
                free(text);
                goto done;
            }
        /* the chain the callee sees: ours and the target */
        const char **chain = malloc((w->nchain + 1) * sizeof *chain);
        char *ns = strndup(target, (size_t)(colon - target));
        uint8_t *out = NULL;
        size_t out_len = 0;
        if (!chain || !ns) {
            free(chain);
            free(ns);
            snprintf(err, err_size, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < w->nchain; i++)
            chain[i] = w->chain[i];
        chain[w->nchain] = target;
        const uint8_t *in = args[1].str ? (const uint8_t *)args[1].str : (const uint8_t *)"";
        int crc = w->call(w->user, ns, colon + 1, in, args[1].len, bytes, chain, w->nchain + 1,
                          &out, &out_len);
        free(chain);
        free(ns);
        if (crc != 0) {
            rc = set_err(result, "%s%s", out ? (const char *)out : "call failed", "");
            free(out);
            goto done;
        }
        if (!bytes && out && !utf8(out, out_len)) {
            free(out);
            rc = set_err(result, "the output of %s is not UTF-8 text (use call-bytes)%s", target, "");
            goto done;
        }
        memset(result, 0, sizeof *result);
        result->kind = WEFT_CT_RESULT;
        if (!(result->items = calloc(1, sizeof *result->items))) {
            free(out);
            rc = -1;
            goto done;
        }
        result->n = 1;
        weft_cval_t *v = &result->items[0];
        v->kind = bytes ? WEFT_CT_LIST : WEFT_CT_STRING;
        if (!out && !(out = malloc(1))) {
            rc = -1;
            goto done;
        }
        v->str = (char *)out;
        v->len = out_len;
        if (!bytes) {
            char *z = realloc(out, out_len + 1);
            if (!z) {
                rc = -1;
                goto done;
            }
            z[out_len] = '\0';
            v->str = z;
        }
    }
done:
    if (rc) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    return 0;
}

static int call_string(void *user, weft_caller_t *caller, const weft_ctype_t *type,
                       const weft_cval_t *args, size_t nargs, weft_cval_t *result, char *err,
                       size_t err_size)
{
    (void)caller;
    (void)type;
    (void)nargs;
    return do_call(user, args, 0, result, err, err_size);
}

static int call_bytes(void *user, weft_caller_t *caller, const weft_ctype_t *type,
                      const weft_cval_t *args, size_t nargs, weft_cval_t *result, char *err,
                      size_t err_size)
{
    (void)caller;
    (void)type;
    (void)nargs;
    return do_call(user, args, 1, result, err, err_size);
}

weft_wippy_t *weft_wippy_new(const weft_wippy_config_t *cfg)
{
    weft_wippy_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->call = cfg->call;
    w->user = cfg->user;
    w->max_depth = cfg->max_depth ? cfg->max_depth : DEFAULT_DEPTH;
    w->nallow = cfg->nallow;
    w->nchain = cfg->nchain;
    if (!(w->allow = strv_copy(cfg->allow, cfg->nallow)) ||
        !(w->chain = strv_copy(cfg->chain, cfg->nchain))) {
        weft_wippy_delete(w);
        return NULL;
    }
    return w;
}

void weft_wippy_delete(weft_wippy_t *w)
{
    if (!w)
        return;
    strv_free(w->allow, w->nallow);
    strv_free(w->chain, w->nchain);
    free(w);
}

int weft_wippy_define(weft_wippy_t *w, weft_clinker_t *l)
{
    int rc = weft_clinker_define_static(l, "wippy:runtime/funcs@0.1", "call-string", call_string,
                                        w);
    if (rc == 0)
        rc = weft_clinker_define_static(l, "wippy:runtime/funcs@0.1", "call-bytes", call_bytes,
                                        w);
    return rc;
}
