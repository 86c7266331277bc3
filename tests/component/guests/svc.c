/*
 * svc.c — the core module of the `svc` test component (svc.wit), an app
 * the node runs as a component (tests/component/node_test.py). Canonical
 * ABI by hand, as basic.c: strings and lists arrive in memory the host
 * allocated through cabi_realloc; results of two flat values or more go
 * through a return area, freed by the cabi_post_ functions.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size)
{
    (void)old_size;
    (void)align;
    return realloc(old, new_size ? new_size : 1);
}

static uint32_t ret[3];

/* ret = (ptr, len) of a new copy of prefix + p[0..n) */
static uint32_t *string_ret(const char *prefix, const char *p, size_t n);

/* string_ret of an argument, which it frees (the host allocated it). */
static uint32_t *take_string(const char *prefix, char *s, size_t n)
{
    uint32_t *r = string_ret(prefix, s, n);
    free(s);
    return r;
}

static uint32_t *string_ret(const char *prefix, const char *p, size_t n)
{
    size_t pl = strlen(prefix);
    char *out = malloc(pl + n + 1);
    memcpy(out, prefix, pl);
    memcpy(out + pl, p, n);
    ret[0] = (uint32_t)(uintptr_t)out;
    ret[1] = (uint32_t)(pl + n);
    return ret;
}

__attribute__((export_name("echo"))) uint32_t *echo(char *s, size_t n)
{
    return take_string("echo: ", s, n);
}

__attribute__((export_name("cabi_post_echo"))) void post_echo(uint32_t *r)
{
    free((void *)(uintptr_t)r[0]);
}

__attribute__((export_name("run"))) uint32_t *run(char *s, size_t n)
{
    return take_string("ran: ", s, n);
}

__attribute__((export_name("cabi_post_run"))) void post_run(uint32_t *r)
{
    free((void *)(uintptr_t)r[0]);
}

__attribute__((export_name("weft:test/text@0.1.0#upper"))) uint32_t *upper(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 'a' && s[i] <= 'z')
            s[i] = (char)(s[i] - 32);
    return take_string("", s, n);
}

__attribute__((export_name("cabi_post_weft:test/text@0.1.0#upper"))) void post_upper(uint32_t *r)
{
    free((void *)(uintptr_t)r[0]);
}

__attribute__((export_name("add"))) uint32_t add(uint32_t a, uint32_t b) { return a + b; }

__attribute__((export_name("point-sum"))) int64_t point_sum(int32_t x, int32_t y)
{
    return (int64_t)x + y;
}

/* result<string, string>: case u8 at 0, (ptr, len) at 4 */
__attribute__((export_name("check"))) uint32_t *check(int32_t n)
{
    static uint32_t area[3];
    const char *m = n >= 0 ? "non-negative" : "negative";
    string_ret("", m, strlen(m));
    area[0] = n >= 0 ? 0 : 1;
    area[1] = ret[0];
    area[2] = ret[1];
    return area;
}

__attribute__((export_name("cabi_post_check"))) void post_check(uint32_t *r)
{
    free((void *)(uintptr_t)r[1]);
}

__attribute__((export_name("fail"))) void fail(void) { __builtin_trap(); }

__attribute__((export_name("rev"))) uint32_t *rev(uint8_t *b, size_t n)
{
    uint8_t *out = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        out[i] = b[n - 1 - i];
    free(b);
    ret[0] = (uint32_t)(uintptr_t)out;
    ret[1] = (uint32_t)n;
    return ret;
}

__attribute__((export_name("cabi_post_rev"))) void post_rev(uint32_t *r)
{
    free((void *)(uintptr_t)r[0]);
}

__attribute__((export_name("sum"))) uint64_t sum(uint32_t *xs, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += xs[i];
    free(xs);
    return s;
}
