/*
 * kept.c — the core module of the `kept` test component (kept.wit). Each
 * call of `scribble` reports what it finds (a counter, a static buffer,
 * the memory's pages, where the heap puts a new block, the handle a new
 * resource gets, the argument the host wrote with cabi_realloc) and then
 * changes all of it: the counter and buffer written, the memory grown, a
 * block and a handle leaked. A fresh instance always reports the same; so
 * must a kept one once reset (src/node/call.c, "Kept instances").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IFACE "weft:test/things@0.1.0"

__attribute__((import_module("[export]" IFACE), import_name("[resource-new]thing")))
int32_t thing_new(int32_t rep);

static uint32_t calls;

/* Appends text, then a number (no stdio: the component imports no WASI). */
static char *put(char *p, const char *text, unsigned long v)
{
    char digits[24];
    int n = 0;
    while (*text)
        *p++ = *text++;
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n > 0)
        *p++ = digits[--n];
    return p;
}

static char buf[64];
static uint32_t ret[2];

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size)
{
    (void)old_size;
    (void)align;
    return realloc(old, new_size ? new_size : 1);
}

__attribute__((export_name(IFACE "#[dtor]thing"))) void thing_dtor(uint32_t rep) { (void)rep; }

__attribute__((export_name("scribble"))) uint32_t *scribble(char *s, size_t n)
{
    char *block = malloc(100);
    int32_t handle = thing_new(7);
    char *out = malloc(200 + n), *p = out;
    p = put(p, "calls=", calls);
    p = put(p, " buf=", (unsigned long)buf[0]);
    p = put(p, " pages=", (unsigned long)__builtin_wasm_memory_size(0));
    p = put(p, " heap=", (unsigned long)(uintptr_t)block);
    p = put(p, " handle=", (unsigned long)handle);
    p = put(p, " arg@", (unsigned long)(uintptr_t)s);
    *p++ = '=';
    memcpy(p, s, n);
    p += n;
    int len = (int)(p - out);
    calls++;
    memset(buf, 'x', sizeof buf);
    __builtin_wasm_memory_grow(0, 3);
    free(s); /* the block stays leaked */
    ret[0] = (uint32_t)(uintptr_t)out;
    ret[1] = (uint32_t)len;
    return ret;
}
