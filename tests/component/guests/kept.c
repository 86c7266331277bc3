/*
 * kept.c — the core module of the `kept` test component (kept.wit). Each
 * call of `scribble` reports what it finds (scribble.h: a counter, a
 * static buffer, the memory's pages, where the heap puts a new block; and
 * the handle a new resource gets, where the host's cabi_realloc put the
 * argument) and then changes all of it, a handle leaked too. A fresh
 * instance always reports the same; so must a kept one once reset
 * (src/node/call.c, "Kept instances"). `fill` and `spin` are for a
 * deadline in a kept instance: the one leaves the next reset memory to
 * clear, the other runs until the watchdog stops it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../node/guests/scribble.h"

#define IFACE "weft:test/things@0.1.0"

__attribute__((import_module("[export]" IFACE), import_name("[resource-new]thing")))
int32_t thing_new(int32_t rep);

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
    int32_t handle = thing_new(7);
    char *out = malloc(200 + n), *p = scribble_state(out);
    p = scribble_num(p, " handle=", (unsigned long)handle);
    p = scribble_num(p, " arg@", (unsigned long)(uintptr_t)s);
    *p++ = '=';
    memcpy(p, s, n);
    p += n;
    int len = (int)(p - out);
    free(s);
    ret[0] = (uint32_t)(uintptr_t)out;
    ret[1] = (uint32_t)len;
    return ret;
}

/* fill: writes to kib KiB of a new heap block (the memory grows), which
 * the next reset clears and gives back. */
static char *filled;

__attribute__((export_name("fill"))) void fill(uint32_t kib)
{
    size_t n = (size_t)kib << 10;
    if ((filled = malloc(n)))
        memset(filled, 1, n);
}

/* spin: never returns (the watchdog must stop it). */
__attribute__((export_name("spin"))) void spin(void)
{
    volatile unsigned x = 0;
    for (;;)
        x++;
}
