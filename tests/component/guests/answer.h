/*
 * answer.h — what the hand-written test components (net.c, fsdirect.c)
 * share: cabi_realloc, and the text an export answers (a string result:
 * put into a buf_t, returned by answer() through a static return area,
 * freed by the export's post-return, POST_RETURN). Include once, in the
 * guest's one source file.
 */
#ifndef WEFT_TEST_GUEST_ANSWER_H
#define WEFT_TEST_GUEST_ANSWER_H

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

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void put(buf_t *b, const void *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(buf_t *b, const char *s) { put(b, s, strlen(s)); }

static void putu(buf_t *b, uint64_t v)
{
    char d[24];
    int i = 24;
    do
        d[--i] = (char)('0' + v % 10);
    while (v /= 10);
    put(b, d + i, (size_t)(24 - i));
}

static struct {
    char *ptr;
    size_t len;
} out;

static void *answer(buf_t *b)
{
    out.ptr = b->p ? b->p : malloc(1);
    out.len = b->len;
    return &out;
}

static uint32_t u32_at(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* An export's post-return: frees the answer it returned. */
#define POST_RETURN(export, fn)                                                   \
    __attribute__((export_name("cabi_post_" export))) void fn(void *r)           \
    {                                                                              \
        (void)r;                                                                   \
        free(out.ptr);                                                             \
    }

#endif
