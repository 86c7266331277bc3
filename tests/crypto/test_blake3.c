/*
 * test_blake3.c — BLAKE3 against the official test vectors, plus the
 * properties the vectors cannot show on their own.
 *
 *   test_blake3 [GROUP] [VECTORS.json]
 *
 * GROUP is one of vectors, spec, splits, api, or all (default). The vector
 * file (blake3_vectors.json, kept verbatim from the BLAKE3 repository) is
 * read with a tiny JSON reader that knows just its shape; its path defaults
 * to WEFT_BLAKE3_VECTORS, set by CMake. Every comparison counts as one
 * check; failures print the case and the first differing byte, and the
 * run ends with "N passed, M failed" (exit 1 if any failed, 2 on a usage or
 * file error).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/blake3.h"

#ifndef WEFT_BLAKE3_VECTORS
#define WEFT_BLAKE3_VECTORS "blake3_vectors.json"
#endif

static unsigned long passed, failed;

static void report(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(int ok, const char *fmt, ...)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    va_list ap;
    fputs("FAIL: ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

/* One check: len bytes equal; on failure names the first differing byte
 * and shows both sides from there (up to 16 bytes). */
static void check_mem(const uint8_t *got, const uint8_t *want, size_t len, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

static void check_mem(const uint8_t *got, const uint8_t *want, size_t len, const char *fmt,
                      ...)
{
    size_t i = 0;
    while (i < len && got[i] == want[i])
        i++;
    if (i == len) {
        passed++;
        return;
    }
    failed++;
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    printf("FAIL: %s: %zu bytes differ at %zu\n  got  ", what, len, i);
    for (size_t j = i; j < len && j < i + 16; j++)
        printf("%02x", got[j]);
    printf("\n  want ");
    for (size_t j = i; j < len && j < i + 16; j++)
        printf("%02x", want[j]);
    printf("\n");
}

/* The vectors' input: bytes 0, 1, ..., 250, 0, 1, ... */
static void fill_pattern(uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i % 251);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes hex into out (at most cap bytes); returns the byte count or -1. */
static long unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = strlen(s);
    if (n % 2 != 0 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(n / 2);
}

/* ---- a JSON reader for the vector file's shape ----
 * {"_comment": s, "key": s, "context_string": s,
 *  "cases": [{"input_len": n, "hash": s, "keyed_hash": s, "derive_key": s}, ...]}
 * Unknown members are skipped, so a future field does not break it. */

#define MAX_CASES 64
#define MAX_OUT 512

typedef struct {
    size_t input_len;
    uint8_t out[3][MAX_OUT]; /* hash, keyed_hash, derive_key */
    size_t out_len[3];
} vector_case_t;

typedef struct {
    char key[64];
    char context[128];
    int have_context;
    vector_case_t cases[MAX_CASES];
    size_t ncases;
} vectors_t;

typedef struct {
    const char *p, *end;
    const char *err;
} reader_t;

static void skip_ws(reader_t *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

static int expect(reader_t *r, char c)
{
    skip_ws(r);
    if (r->p < r->end && *r->p == c) {
        r->p++;
        return 1;
    }
    r->err = "unexpected character";
    return 0;
}

/* Reads a string into out (NUL-terminated, at most cap-1 bytes kept, longer
 * strings are an error). Handles the escapes the file can contain. */
static int read_string(reader_t *r, char *out, size_t cap)
{
    size_t n = 0;
    if (!expect(r, '"'))
        return 0;
    while (r->p < r->end && *r->p != '"') {
        char c = *r->p++;
        if (c == '\\') {
            if (r->p >= r->end)
                break;
            c = *r->p++;
            switch (c) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'u': /* only ASCII \u00XX: enough for this file */
                if (r->end - r->p < 4 || r->p[0] != '0' || r->p[1] != '0' ||
                    hexval(r->p[2]) < 0 || hexval(r->p[3]) < 0) {
                    r->err = "unsupported \\u escape";
                    return 0;
                }
                c = (char)(hexval(r->p[2]) << 4 | hexval(r->p[3]));
                r->p += 4;
                break;
            default: break; /* \" \\ \/ stand for themselves */
            }
        }
        if (n + 1 >= cap) {
            r->err = "string too long";
            return 0;
        }
        out[n++] = c;
    }
    if (r->p >= r->end) {
        r->err = "unterminated string";
        return 0;
    }
    r->p++;
    out[n] = '\0';
    return 1;
}

static int read_uint(reader_t *r, size_t *out)
{
    skip_ws(r);
    size_t v = 0;
    const char *start = r->p;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
        if (v > ((size_t)-1 - 9) / 10) {
            r->err = "number too large";
            return 0;
        }
        v = v * 10 + (size_t)(*r->p++ - '0');
    }
    if (r->p == start) {
        r->err = "expected a number";
        return 0;
    }
    *out = v;
    return 1;
}

/* Skips any value: strings, numbers, literals, nested objects/arrays. */
static int skip_value(reader_t *r)
{
    skip_ws(r);
    if (r->p >= r->end) {
        r->err = "unexpected end";
        return 0;
    }
    if (*r->p == '"') {
        r->p++;
        while (r->p < r->end && *r->p != '"')
            r->p += (*r->p == '\\') ? 2 : 1;
        if (r->p >= r->end) {
            r->err = "unterminated string";
            return 0;
        }
        r->p++;
        return 1;
    }
    if (*r->p == '{' || *r->p == '[') {
        char close = *r->p == '{' ? '}' : ']';
        r->p++;
        skip_ws(r);
        if (r->p < r->end && *r->p == close) {
            r->p++;
            return 1;
        }
        for (;;) {
            if (close == '}') {
                char name[256];
                if (!read_string(r, name, sizeof name) || !expect(r, ':'))
                    return 0;
            }
            if (!skip_value(r))
                return 0;
            skip_ws(r);
            if (r->p < r->end && *r->p == ',') {
                r->p++;
                continue;
            }
            return expect(r, close);
        }
    }
    while (r->p < r->end && *r->p != ',' && *r->p != '}' && *r->p != ']' && *r->p != ' ' &&
           *r->p != '\n')
        r->p++;
    return 1;
}

static int read_case(reader_t *r, vector_case_t *c)
{
    static const char *const modes[3] = {"hash", "keyed_hash", "derive_key"};
    int have_len = 0, have[3] = {0, 0, 0};
    if (!expect(r, '{'))
        return 0;
    for (;;) {
        char name[64];
        if (!read_string(r, name, sizeof name) || !expect(r, ':'))
            return 0;
        int mode = -1;
        for (int m = 0; m < 3; m++)
            if (strcmp(name, modes[m]) == 0)
                mode = m;
        if (strcmp(name, "input_len") == 0) {
            if (!read_uint(r, &c->input_len))
                return 0;
            have_len = 1;
        } else if (mode >= 0) {
            static char hex[2 * MAX_OUT + 1];
            if (!read_string(r, hex, sizeof hex))
                return 0;
            long n = unhex(hex, c->out[mode], MAX_OUT);
            if (n < WEFT_BLAKE3_OUT_LEN) {
                r->err = "bad hex output (or shorter than 32 bytes)";
                return 0;
            }
            c->out_len[mode] = (size_t)n;
            have[mode] = 1;
        } else if (!skip_value(r)) {
            return 0;
        }
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (!expect(r, '}'))
            return 0;
        if (!have_len || !have[0] || !have[1] || !have[2]) {
            r->err = "case without input_len, hash, keyed_hash or derive_key";
            return 0;
        }
        return 1;
    }
}

static int read_vectors(const char *text, size_t len, vectors_t *v, const char **err)
{
    reader_t r = {text, text + len, NULL};
    int have_key = 0, have_cases = 0;
    if (!expect(&r, '{'))
        goto fail;
    for (;;) {
        char name[64];
        if (!read_string(&r, name, sizeof name) || !expect(&r, ':'))
            goto fail;
        if (strcmp(name, "key") == 0) {
            if (!read_string(&r, v->key, sizeof v->key))
                goto fail;
            have_key = 1;
        } else if (strcmp(name, "context_string") == 0) {
            if (!read_string(&r, v->context, sizeof v->context))
                goto fail;
            v->have_context = 1;
        } else if (strcmp(name, "cases") == 0) {
            if (!expect(&r, '['))
                goto fail;
            for (;;) {
                if (v->ncases == MAX_CASES) {
                    r.err = "too many cases";
                    goto fail;
                }
                if (!read_case(&r, &v->cases[v->ncases]))
                    goto fail;
                v->ncases++;
                skip_ws(&r);
                if (r.p < r.end && *r.p == ',') {
                    r.p++;
                    continue;
                }
                if (!expect(&r, ']'))
                    goto fail;
                break;
            }
            have_cases = 1;
        } else if (!skip_value(&r)) {
            goto fail;
        }
        skip_ws(&r);
        if (r.p < r.end && *r.p == ',') {
            r.p++;
            continue;
        }
        if (!expect(&r, '}'))
            goto fail;
        break;
    }
    if (!have_key || !have_cases || v->ncases == 0 || strlen(v->key) != WEFT_BLAKE3_KEY_LEN) {
        r.err = "missing key (32 bytes) or cases";
        goto fail;
    }
    return 1;
fail:
    *err = r.err ? r.err : "parse error";
    return 0;
}

/* ---- hashing helpers ---- */

enum { MODE_HASH, MODE_KEYED, MODE_DERIVE };
static const char *const mode_names[3] = {"hash", "keyed_hash", "derive_key"};

/* The derive_key context when the file has no context_string field (older
 * copies of the file give it only in the comment). */
#define VECTORS_CONTEXT "BLAKE3 2019-12-27 16:29:52 test vectors context"

static const vectors_t *vec;

static void init_mode(weft_blake3_t *h, int mode)
{
    if (mode == MODE_HASH)
        weft_blake3_init(h);
    else if (mode == MODE_KEYED)
        weft_blake3_init_keyed(h, (const uint8_t *)vec->key);
    else
        weft_blake3_init_derive_key(h, vec->have_context ? vec->context : VECTORS_CONTEXT);
}

/* Simple deterministic PRNG (xorshift64*), so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

/* Feeds input in pieces of `step` bytes (step 0: pieces of random size
 * 0..2*1024+70, zero-length updates included). */
static void update_split(weft_blake3_t *h, const uint8_t *in, size_t len, size_t step)
{
    size_t off = 0;
    while (off < len) {
        size_t n = step ? step : (size_t)(rng_next() % (2 * WEFT_BLAKE3_CHUNK_LEN + 71));
        if (n > len - off)
            n = len - off;
        weft_blake3_update(h, in + off, n);
        off += n;
    }
}

/* ---- groups ---- */

static void group_vectors(void)
{
    /* Split patterns: one call, then pieces around every block and chunk
     * boundary size, byte by byte, and random pieces. */
    static const size_t steps[] = {SIZE_MAX, 1, 7, 63, 64, 65, 1023, 1024, 1025, 4096, 0};
    size_t max_len = 0;
    for (size_t i = 0; i < vec->ncases; i++)
        if (vec->cases[i].input_len > max_len)
            max_len = vec->cases[i].input_len;
    uint8_t *input = malloc(max_len ? max_len : 1);
    if (!input) {
        report(0, "out of memory");
        return;
    }
    fill_pattern(input, max_len);

    for (size_t i = 0; i < vec->ncases; i++) {
        const vector_case_t *c = &vec->cases[i];
        for (int mode = 0; mode < 3; mode++) {
            const uint8_t *want = c->out[mode];
            size_t want_len = c->out_len[mode];
            uint8_t got[MAX_OUT];
            weft_blake3_t h;

            for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
                init_mode(&h, mode);
                update_split(&h, input, c->input_len, steps[s]);
                weft_blake3_finalize(&h, got, want_len);
                if (steps[s] == SIZE_MAX)
                    check_mem(got, want, want_len, "len %zu %s, one update, %zu bytes",
                              c->input_len, mode_names[mode], want_len);
                else
                    check_mem(got, want, want_len, "len %zu %s, pieces of %zu%s, %zu bytes",
                              c->input_len, mode_names[mode], steps[s],
                              steps[s] ? "" : " (random)", want_len);
            }

            /* Default length: the first 32 bytes. */
            init_mode(&h, mode);
            weft_blake3_update(&h, input, c->input_len);
            weft_blake3_finalize(&h, got, WEFT_BLAKE3_OUT_LEN);
            check_mem(got, want, WEFT_BLAKE3_OUT_LEN, "len %zu %s, default length",
                      c->input_len, mode_names[mode]);

            /* Finalizing leaves the state alone: again, same answer. */
            weft_blake3_finalize(&h, got, want_len);
            check_mem(got, want, want_len, "len %zu %s, second finalize", c->input_len,
                      mode_names[mode]);

            /* Every seek position into the extended output. */
            int seek_ok = 1;
            for (size_t seek = 0; seek < want_len && seek_ok; seek++) {
                weft_blake3_finalize_seek(&h, seek, got, want_len - seek);
                if (memcmp(got, want + seek, want_len - seek) != 0) {
                    seek_ok = 0;
                    check_mem(got, want + seek, want_len - seek, "len %zu %s, seek %zu",
                              c->input_len, mode_names[mode], seek);
                }
            }
            if (seek_ok)
                passed++;

            /* Finalize midway, then go on updating. */
            size_t half = c->input_len / 2;
            init_mode(&h, mode);
            weft_blake3_update(&h, input, half);
            weft_blake3_finalize(&h, got, want_len);
            weft_blake3_update(&h, input + half, c->input_len - half);
            weft_blake3_finalize(&h, got, want_len);
            check_mem(got, want, want_len, "len %zu %s, update after finalize",
                      c->input_len, mode_names[mode]);

            if (mode == MODE_HASH) {
                weft_blake3(input, c->input_len, got);
                check_mem(got, want, WEFT_BLAKE3_OUT_LEN, "len %zu weft_blake3() one-shot",
                          c->input_len);
            }
        }
    }
    free(input);
}

/* The worked examples of the C2SP BLAKE3 text's appendix. */
static void group_spec(void)
{
    static const uint8_t ietf_hash[32] = {
        0x83, 0xa2, 0xde, 0x1e, 0xe6, 0xf4, 0xe6, 0xab, 0x68, 0x68, 0x89,
        0x24, 0x8f, 0x4e, 0xc0, 0xcf, 0x4c, 0xc5, 0x70, 0x94, 0x46, 0xa6,
        0x82, 0xff, 0xd1, 0xcb, 0xb4, 0xd6, 0x16, 0x51, 0x81, 0xe2,
    };
    static const uint8_t two_chunks_hash[32] = {
        0xe7, 0x9d, 0x28, 0x38, 0x91, 0x5a, 0xcc, 0xd3, 0xb2, 0x1b, 0xb0,
        0xba, 0x76, 0xb5, 0xed, 0xf8, 0xdc, 0x08, 0xd3, 0xd7, 0x8d, 0x0d,
        0xb6, 0x5b, 0x71, 0x3f, 0x0f, 0x37, 0xec, 0x58, 0xc3, 0x46,
    };
    uint8_t got[32];
    weft_blake3("IETF", 4, got);
    check_mem(got, ietf_hash, 32, "spec example: hash of \"IETF\"");

    static uint8_t two[2048];
    memset(two, 0xaa, 1024);
    memset(two + 1024, 0xbb, 1024);
    weft_blake3(two, sizeof two, got);
    check_mem(got, two_chunks_hash, 32, "spec example: 1024 x 0xaa, 1024 x 0xbb");
}

static void hash_oneshot(int mode, const uint8_t *in, size_t len, uint8_t out[64])
{
    weft_blake3_t h;
    init_mode(&h, mode);
    weft_blake3_update(&h, in, len);
    weft_blake3_finalize(&h, out, 64);
}

/* The result must not depend on how the input is split. */
static void group_splits(void)
{
    enum { SMALL = 260 };
    static const size_t edge_lens[] = {1023, 1024, 1025, 2047, 2048, 2049, 3072, 3073, 4097};
    uint8_t *input = malloc(1u << 20);
    if (!input) {
        report(0, "out of memory");
        return;
    }
    for (size_t i = 0; i < (1u << 20); i++)
        input[i] = (uint8_t)rng_next();

    /* Every split point of every length up to SMALL, and of lengths at
     * chunk boundaries, in all three modes. */
    for (int mode = 0; mode < 3; mode++) {
        size_t nlens = SMALL + 1 + sizeof edge_lens / sizeof edge_lens[0];
        for (size_t k = 0; k < nlens; k++) {
            size_t len = k <= SMALL ? k : edge_lens[k - SMALL - 1];
            uint8_t want[64], got[64];
            hash_oneshot(mode, input, len, want);
            int ok = 1;
            for (size_t split = 0; split <= len && ok; split++) {
                weft_blake3_t h;
                init_mode(&h, mode);
                weft_blake3_update(&h, input, split);
                weft_blake3_update(&h, input + split, len - split);
                weft_blake3_finalize(&h, got, 64);
                if (memcmp(got, want, 64) != 0) {
                    ok = 0;
                    check_mem(got, want, 64, "%s len %zu split at %zu", mode_names[mode], len,
                              split);
                }
            }
            if (ok)
                passed++;
        }
    }

    /* Three pieces, all (a, b) for a length spanning two chunks and a bit. */
    {
        size_t len = 2 * WEFT_BLAKE3_CHUNK_LEN + 100;
        uint8_t want[64], got[64];
        hash_oneshot(MODE_HASH, input, len, want);
        int ok = 1;
        for (size_t a = 0; a <= len && ok; a += 13)
            for (size_t b = a; b <= len && ok; b += 29) {
                weft_blake3_t h;
                weft_blake3_init(&h);
                weft_blake3_update(&h, input, a);
                weft_blake3_update(&h, input + a, b - a);
                weft_blake3_update(&h, input + b, len - b);
                weft_blake3_finalize(&h, got, 64);
                if (memcmp(got, want, 64) != 0) {
                    ok = 0;
                    check_mem(got, want, 64, "three pieces %zu/%zu/%zu", a, b - a, len - b);
                }
            }
        if (ok)
            passed++;
    }

    /* Large inputs (up to 1 MiB + odd tails), random splits. */
    static const size_t big_lens[] = {(1u << 20), (1u << 20) - 1, 31 * 1024 + 17,
                                      65 * 1024, 100000};
    for (size_t k = 0; k < sizeof big_lens / sizeof big_lens[0]; k++) {
        size_t len = big_lens[k];
        for (int mode = 0; mode < 3; mode++) {
            uint8_t want[200], got[200];
            weft_blake3_t h;
            init_mode(&h, mode);
            weft_blake3_update(&h, input, len);
            weft_blake3_finalize(&h, want, sizeof want);
            for (int round = 0; round < 4; round++) {
                init_mode(&h, mode);
                update_split(&h, input, len, 0);
                weft_blake3_finalize(&h, got, sizeof got);
                check_mem(got, want, sizeof got, "%s len %zu random split #%d",
                          mode_names[mode], len, round);
            }
        }
    }
    free(input);
}

/* Properties of the interface itself. */
static void group_api(void)
{
    weft_blake3_t h, copy;
    uint8_t a[100], b[100];

    /* NULL with zero length is allowed everywhere. */
    weft_blake3_init(&h);
    weft_blake3_update(&h, NULL, 0);
    weft_blake3_finalize(&h, NULL, 0);
    weft_blake3_finalize(&h, a, 32);
    weft_blake3(NULL, 0, b);
    check_mem(a, b, 32, "update(NULL, 0) is a no-op");

    /* A copy is an independent hasher. */
    weft_blake3_update(&h, "common prefix", 13);
    copy = h;
    weft_blake3_update(&h, "A", 1);
    weft_blake3_update(&copy, "B", 1);
    weft_blake3_finalize(&h, a, 32);
    weft_blake3("common prefixA", 14, b);
    check_mem(a, b, 32, "copied hasher: original");
    weft_blake3_finalize(&copy, a, 32);
    weft_blake3("common prefixB", 14, b);
    check_mem(a, b, 32, "copied hasher: copy");

    /* derive_key with a string equals the raw form of the same bytes. */
    weft_blake3_init_derive_key(&h, "weft test context");
    weft_blake3_update(&h, "material", 8);
    weft_blake3_finalize(&h, a, 32);
    weft_blake3_init_derive_key_raw(&h, "weft test context", 17);
    weft_blake3_update(&h, "material", 8);
    weft_blake3_finalize(&h, b, 32);
    check_mem(a, b, 32, "derive_key string == raw");

    /* Long output: one finalize equals many odd-sized seeks. */
    enum { LONG = 10000 };
    static uint8_t whole[LONG], parts[LONG];
    weft_blake3_init_keyed(&h, (const uint8_t *)"0123456789abcdef0123456789abcdef");
    weft_blake3_update(&h, "x", 1);
    weft_blake3_finalize(&h, whole, LONG);
    for (size_t off = 0; off < LONG;) {
        size_t n = (size_t)(rng_next() % 150);
        if (n > LONG - off)
            n = LONG - off;
        weft_blake3_finalize_seek(&h, off, parts + off, n);
        off += n;
    }
    check_mem(parts, whole, LONG, "finalize_seek pieces == one long finalize");

    /* Shorter outputs are prefixes of longer ones. */
    for (size_t n = 0; n <= 100; n++) {
        memset(a, 0, sizeof a);
        weft_blake3_finalize(&h, a, n);
        if (memcmp(a, whole, n) != 0) {
            check_mem(a, whole, n, "output of %zu bytes is a prefix", n);
            break;
        }
    }
    passed++;

    /* Seeking far into the stream works (counter beyond 32 bits). */
    weft_blake3_finalize_seek(&h, (uint64_t)1 << 40, a, 64);
    weft_blake3_finalize_seek(&h, ((uint64_t)1 << 40) + 10, b, 54);
    check_mem(a + 10, b, 54, "seek beyond 2^32 blocks is consistent");

    /* Modes are separated: the same input differs across modes. */
    uint8_t k[32] = {0};
    weft_blake3_init_keyed(&h, k);
    weft_blake3_finalize(&h, a, 32);
    weft_blake3(NULL, 0, b);
    report(memcmp(a, b, 32) != 0, "keyed hash with zero key differs from plain hash");
}

int main(int argc, char **argv)
{
    const char *group = argc > 1 ? argv[1] : "all";
    const char *path = argc > 2 ? argv[2] : WEFT_BLAKE3_VECTORS;
    int all = strcmp(group, "all") == 0;
    if (!all && strcmp(group, "vectors") != 0 && strcmp(group, "spec") != 0 &&
        strcmp(group, "splits") != 0 && strcmp(group, "api") != 0) {
        fprintf(stderr, "usage: %s [all|vectors|spec|splits|api] [VECTORS.json]\n", argv[0]);
        return 2;
    }

    static vectors_t vectors;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open %s\n", argv[0], path);
        return 2;
    }
    static char text[1 << 17];
    size_t n = fread(text, 1, sizeof text, f);
    int too_big = !feof(f);
    fclose(f);
    const char *err = NULL;
    if (too_big || !read_vectors(text, n, &vectors, &err)) {
        fprintf(stderr, "%s: %s: %s\n", argv[0], path, too_big ? "file too large" : err);
        return 2;
    }
    vec = &vectors;

    if (all || strcmp(group, "vectors") == 0) {
        group_vectors();
        printf("vectors: %zu cases (input lengths %zu..%zu), 3 modes\n", vectors.ncases,
               vectors.cases[0].input_len, vectors.cases[vectors.ncases - 1].input_len);
    }
    if (all || strcmp(group, "spec") == 0)
        group_spec();
    if (all || strcmp(group, "splits") == 0)
        group_splits();
    if (all || strcmp(group, "api") == 0)
        group_api();

    printf("%lu passed, %lu failed\n", passed, failed);
    return failed ? 1 : 0;
}
