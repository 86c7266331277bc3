/*
 * textstats.c — the textstats component (world `textstats` of
 * orchestrator.wit): stats(text) -> "words=N chars=M" (chars: code points
 * of the UTF-8 text). The orchestrator reaches it as `text:stats`. No
 * stdio: snprintf would pull in WASI preview 1 imports, which a component
 * made without the adapter cannot have.
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

static uint32_t ret[2];

/* Appends the decimal digits of v at p; returns the end. */
static char *put_u(char *p, size_t v)
{
    char d[24];
    size_t n = 0;
    do
        d[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        *p++ = d[--n];
    return p;
}

__attribute__((export_name("stats"))) uint32_t *stats(char *s, size_t n)
{
    size_t words = 0, chars = 0;
    int in_word = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        chars += (c & 0xc0) != 0x80; /* not a continuation byte */
        int space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
        words += !space && !in_word;
        in_word = !space;
    }
    free(s);
    char *out = malloc(64), *p = out;
    memcpy(p, "words=", 6);
    p = put_u(p + 6, words);
    memcpy(p, " chars=", 7);
    p = put_u(p + 7, chars);
    ret[0] = (uint32_t)(uintptr_t)out;
    ret[1] = (uint32_t)(p - out);
    return ret;
}

__attribute__((export_name("cabi_post_stats"))) void post_stats(uint32_t *r)
{
    free((void *)(uintptr_t)r[0]);
}
