/*
 * scribble.h — for guests of the kept-instance tests (src/node/call.c,
 * "Kept instances"): scribble_state() writes what this instance holds now
 * (a counter, a static buffer's first byte, the memory's pages, where the
 * heap puts a new block) as text at p, then changes all of it: the counter
 * and buffer written, the memory grown by 3 pages, the block leaked. A
 * fresh instance always writes the same; so must a kept one, reset.
 * Returns the end of the text (at most 80 bytes, not NUL-terminated). No
 * stdio: some guests import no WASI.
 */
#ifndef WEFT_TEST_SCRIBBLE_H
#define WEFT_TEST_SCRIBBLE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint32_t scribble_calls;
static char scribble_buf[64];

/* Appends text, then v in decimal. */
static char *scribble_num(char *p, const char *text, unsigned long v)
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

static char *scribble_state(char *p)
{
    char *block = malloc(100);
    p = scribble_num(p, "calls=", scribble_calls);
    p = scribble_num(p, " buf=", (unsigned long)scribble_buf[0]);
    p = scribble_num(p, " pages=", (unsigned long)__builtin_wasm_memory_size(0));
    p = scribble_num(p, " heap=", (unsigned long)(uintptr_t)block);
    scribble_calls++;
    memset(scribble_buf, 'x', sizeof scribble_buf);
    __builtin_wasm_memory_grow(0, 3);
    return p;
}

#endif
