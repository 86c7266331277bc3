/*
 * bench/freestanding.c — the three libc routines clang may emit calls to.
 *
 * Kernels are linked for wasm32 with -nostdlib, yet clang turns clearing and
 * copying loops into calls to memset/memcpy/memmove. This file supplies them
 * for the wasm builds only (native builds use the system libc). LLVM does not
 * rewrite a loop into a call to the very function it sits in, so the plain
 * byte loops below cannot recurse.
 */
#include <stddef.h>
#include <stdint.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);

void *memset(void *dst, int c, size_t n)
{
    uint8_t *d = dst;
    while (n--)
        *d++ = (uint8_t)c;
    return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d < s) {
        while (n--)
            *d++ = *s++;
    } else {
        d += n;
        s += n;
        while (n--)
            *--d = *--s;
    }
    return dst;
}
