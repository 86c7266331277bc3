/*
 * bsatn.c — the BSATN codec (weft/bsatn.h): buffers, a reader over
 * untrusted bytes, type descriptions, and one walker over a value and its
 * type that checks it, builds its order-preserving key, or prints it as
 * JSON. It sits in the store because tables (tables.c) are its main user;
 * it has no other dependency.
 *
 * Invariants: every read goes through the reader, which never passes its
 * length; recursion is bounded by WEFT_BSATN_MAX_DEPTH (types are checked
 * before values are walked, and a value's depth is its type's); a count is
 * compared with the bytes left before any element is read (every value is
 * at least one byte), so corrupt input costs at most linear time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bsatn_prim.h"
#include "weft/bsatn.h"
#include "weft/error.h"
#include "weft/utf8.h"

/* ---- buffers ------------------------------------------------------------ */

void weft_bsatn_buf_init(weft_bsatn_buf_t *b)
{
    memset(b, 0, sizeof *b);
}

void weft_bsatn_buf_fini(weft_bsatn_buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static int grow(weft_bsatn_buf_t *b, size_t n)
{
    if (b->err) return 0;
    if (n <= b->cap - b->len) return 1;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) goto fail;
        cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (!p) goto fail;
    b->p = p;
    b->cap = cap;
    return 1;
fail:
    b->err = WEFT_ENOMEM;
    return 0;
}

void weft_bsatn_put_raw(weft_bsatn_buf_t *b, const void *p, size_t len)
{
    if (len == 0 || !grow(b, len)) return;
    memcpy(b->p + b->len, p, len);
    b->len += len;
}

static void put_le(weft_bsatn_buf_t *b, uint64_t v, int n)
{
    uint8_t x[8];
    for (int i = 0; i < n; i++) x[i] = (uint8_t)(v >> (8 * i));
    weft_bsatn_put_raw(b, x, (size_t)n);
}

void weft_bsatn_put_u8(weft_bsatn_buf_t *b, uint8_t v)
{
    weft_bsatn_put_raw(b, &v, 1);
}

void weft_bsatn_put_u16(weft_bsatn_buf_t *b, uint16_t v)
{
    put_le(b, v, 2);
}

void weft_bsatn_put_u32(weft_bsatn_buf_t *b, uint32_t v)
{
    put_le(b, v, 4);
}

void weft_bsatn_put_u64(weft_bsatn_buf_t *b, uint64_t v)
{
    put_le(b, v, 8);
}

void weft_bsatn_put_bytes(weft_bsatn_buf_t *b, const void *p, size_t len)
{
    if (len > UINT32_MAX) {
        if (!b->err) b->err = WEFT_EARG;
        return;
    }
    put_le(b, len, 4);
    weft_bsatn_put_raw(b, p, len);
}

void weft_bsatn_put_str(weft_bsatn_buf_t *b, const char *s)
{
    weft_bsatn_put_bytes(b, s, strlen(s));
}

static void put_cstr(weft_bsatn_buf_t *b, const char *s)
{
    weft_bsatn_put_raw(b, s, strlen(s));
}

/* ---- reading ------------------------------------------------------------ */

void weft_bsatn_reader_init(weft_bsatn_reader_t *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
    r->err = 0;
}

const uint8_t *weft_bsatn_get_raw(weft_bsatn_reader_t *r, size_t n)
{
    if (r->err) return NULL;
    if (n > r->len - r->off) {
        r->err = WEFT_EMALFORMED;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

static uint64_t get_le(weft_bsatn_reader_t *r, int n)
{
    const uint8_t *p = weft_bsatn_get_raw(r, (size_t)n);
    uint64_t v = 0;
    if (!p) return 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

uint8_t weft_bsatn_get_u8(weft_bsatn_reader_t *r)
{
    return (uint8_t)get_le(r, 1);
}

uint16_t weft_bsatn_get_u16(weft_bsatn_reader_t *r)
{
    return (uint16_t)get_le(r, 2);
}

uint32_t weft_bsatn_get_u32(weft_bsatn_reader_t *r)
{
    return (uint32_t)get_le(r, 4);
}

uint64_t weft_bsatn_get_u64(weft_bsatn_reader_t *r)
{
    return get_le(r, 8);
}

const uint8_t *weft_bsatn_get_bytes(weft_bsatn_reader_t *r, uint32_t *out_len)
{
    uint32_t n = weft_bsatn_get_u32(r);
    const uint8_t *p = weft_bsatn_get_raw(r, n);
    *out_len = p ? n : 0;
    return p;
}

const uint8_t *weft_bsatn_get_str(weft_bsatn_reader_t *r, uint32_t *out_len)
{
    const uint8_t *p = weft_bsatn_get_bytes(r, out_len);
    if (p && !weft_bsatn_utf8_ok(p, *out_len)) {
        r->err = WEFT_EMALFORMED;
        *out_len = 0;
        return NULL;
    }
    return p;
}

int weft_bsatn_get_bool(weft_bsatn_reader_t *r)
{
    uint8_t v = weft_bsatn_get_u8(r);
    if (v > 1 && !r->err) r->err = WEFT_EMALFORMED;
    return v == 1;
}

int weft_bsatn_utf8_ok(const uint8_t *p, size_t len)
{
    return weft_utf8_valid(p, len);
}

/* ---- types -------------------------------------------------------------- */

static void type_walk(weft_bsatn_reader_t *r, int depth)
{
    if (depth > WEFT_BSATN_MAX_DEPTH) {
        r->err = WEFT_EARG;
        return;
    }
    uint8_t tag = weft_bsatn_get_u8(r);
    if (r->err) return;
    if (bsatn_is_primitive(tag)) return;
    if (tag == WEFT_BSATN_OPTION || tag == WEFT_BSATN_VEC) {
        type_walk(r, depth + 1);
        return;
    }
    if (tag != WEFT_BSATN_STRUCT) {
        r->err = WEFT_EARG;
        return;
    }
    uint32_t n = weft_bsatn_get_u32(r), len;
    /* each field takes at least 5 bytes (an empty name and a tag) */
    if (r->err || n == 0 || n > (r->len - r->off) / 5) {
        r->err = WEFT_EARG;
        return;
    }
    for (uint32_t i = 0; i < n && !r->err; i++) {
        weft_bsatn_get_str(r, &len);
        type_walk(r, depth + 1);
    }
}

const uint8_t *weft_bsatn_get_type(weft_bsatn_reader_t *r, size_t *out_len)
{
    if (r->err) return NULL;
    size_t start = r->off;
    type_walk(r, 1);
    if (r->err) {
        r->err = WEFT_EARG;
        *out_len = 0;
        return NULL;
    }
    *out_len = r->off - start;
    return r->p + start;
}

int weft_bsatn_type_check(const uint8_t *t, size_t tlen, size_t *out_used)
{
    weft_bsatn_reader_t r;
    size_t n;
    weft_bsatn_reader_init(&r, t, tlen);
    if (!weft_bsatn_get_type(&r, &n)) return WEFT_EARG;
    if (out_used) *out_used = n;
    return 0;
}

/* ---- values: one walker, three outputs -------------------------------- */

enum { MODE_CHECK, MODE_KEY, MODE_JSON };

typedef struct {
    int mode;
    weft_bsatn_buf_t *out;
} walk_t;

/* Writes the bytes of a key's String/bytes: 0x00 escaped, 0x00 0x00 end. */
static void key_bytes(weft_bsatn_buf_t *b, const uint8_t *p, size_t n)
{
    static const uint8_t esc[2] = {0x00, 0xFF}, end[2] = {0x00, 0x00};
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != 0) continue;
        weft_bsatn_put_raw(b, p + run, i - run);
        weft_bsatn_put_raw(b, esc, 2);
        run = i + 1;
    }
    weft_bsatn_put_raw(b, p + run, n - run);
    weft_bsatn_put_raw(b, end, 2);
}

static void json_string(weft_bsatn_buf_t *b, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    weft_bsatn_put_u8(b, '"');
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            weft_bsatn_put_u8(b, '\\');
            weft_bsatn_put_u8(b, c);
        } else if (c < 0x20) {
            char e[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            put_cstr(b, e);
        } else {
            weft_bsatn_put_u8(b, c);
        }
    }
    weft_bsatn_put_u8(b, '"');
}

static void json_hex(weft_bsatn_buf_t *b, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    weft_bsatn_put_u8(b, '"');
    for (size_t i = 0; i < n; i++) {
        char e[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
        weft_bsatn_put_raw(b, e, 2);
    }
    weft_bsatn_put_u8(b, '"');
}

/* An integer of n bytes (x, its bits) as JSON, signed or not. */
static void json_int(weft_bsatn_buf_t *out, uint64_t x, int n, int sign)
{
    char num[24];
    if (sign) {
        int shift = 64 - 8 * n; /* sign-extend the n-byte value */
        int64_t s = (int64_t)(x << shift) >> shift;
        snprintf(num, sizeof num, "%lld", (long long)s);
    } else {
        snprintf(num, sizeof num, "%llu", (unsigned long long)x);
    }
    put_cstr(out, num);
}

/* Checks (out NULL) or keys into out one value of a primitive type
 * (bsatn_is_primitive(tag)) at v[0..vlen): its length, or -1 when it is
 * malformed. */
static long primitive(uint8_t tag, const uint8_t *v, size_t vlen, weft_bsatn_buf_t *out)
{
    long used = bsatn_prim_len(tag, v, vlen);
    if (used < 0 || !out) return used;
    if (bsatn_is_int(tag)) {
        uint8_t k[8];
        bsatn_int_key(tag, v, k);
        weft_bsatn_put_raw(out, k, (size_t)used);
    } else if (tag == WEFT_BSATN_BOOL) {
        weft_bsatn_put_u8(out, v[0]);
    } else {
        key_bytes(out, v + 4, (size_t)used - 4);
    }
    return used;
}

/* Walks one value (v) of a primitive type (bsatn_is_primitive(tag)). */
static void walk_primitive(walk_t *w, uint8_t tag, weft_bsatn_reader_t *v)
{
    if (v->err) return;
    if (w->mode != MODE_JSON) {
        long used = primitive(tag, v->p + v->off, v->len - v->off,
                              w->mode == MODE_KEY ? w->out : NULL);
        if (used < 0)
            v->err = WEFT_EMALFORMED;
        else
            v->off += (size_t)used;
        return;
    }
    if (bsatn_is_int(tag)) {
        int n = bsatn_int_width(tag);
        uint64_t x = get_le(v, n);
        if (!v->err) json_int(w->out, x, n, tag >= WEFT_BSATN_I8);
        return;
    }
    if (tag == WEFT_BSATN_BOOL) {
        int b = weft_bsatn_get_bool(v);
        if (!v->err) put_cstr(w->out, b ? "true" : "false");
        return;
    }
    /* String or bytes (is_primitive) */
    uint32_t n;
    const uint8_t *p =
        tag == WEFT_BSATN_STRING ? weft_bsatn_get_str(v, &n) : weft_bsatn_get_bytes(v, &n);
    if (v->err) return;
    if (tag == WEFT_BSATN_STRING)
        json_string(w->out, p, n);
    else
        json_hex(w->out, p, n);
}

/* Walks one value (v) of the type at t's cursor. Types were checked, so
 * a malformed type is not expected here, but is still an error, not a
 * crash. */
static void walk(walk_t *w, weft_bsatn_reader_t *t, weft_bsatn_reader_t *v, int depth)
{
    if (depth > WEFT_BSATN_MAX_DEPTH) {
        v->err = WEFT_EMALFORMED;
        return;
    }
    uint8_t tag = weft_bsatn_get_u8(t);
    if (t->err) {
        v->err = WEFT_EMALFORMED;
        return;
    }
    if (bsatn_is_primitive(tag)) {
        walk_primitive(w, tag, v);
        return;
    }
    switch (tag) {
    case WEFT_BSATN_OPTION: {
        size_t tstart = t->off, tn;
        uint8_t some = weft_bsatn_get_u8(v);
        if (v->err) return;
        if (some > 1) {
            v->err = WEFT_EMALFORMED;
            return;
        }
        if (w->mode == MODE_KEY) weft_bsatn_put_u8(w->out, some);
        if (some) {
            walk(w, t, v, depth + 1);
            return;
        }
        if (w->mode == MODE_JSON) put_cstr(w->out, "null");
        /* skip the inner type */
        weft_bsatn_reader_t sk;
        weft_bsatn_reader_init(&sk, t->p + tstart, t->len - tstart);
        if (!weft_bsatn_get_type(&sk, &tn)) {
            v->err = WEFT_EMALFORMED;
            return;
        }
        t->off = tstart + tn;
        return;
    }
    case WEFT_BSATN_VEC: {
        size_t tstart = t->off, tn;
        uint32_t n = weft_bsatn_get_u32(v);
        if (v->err) return;
        if (n > v->len - v->off) { /* every element is at least one byte */
            v->err = WEFT_EMALFORMED;
            return;
        }
        weft_bsatn_reader_t sk;
        weft_bsatn_reader_init(&sk, t->p + tstart, t->len - tstart);
        if (!weft_bsatn_get_type(&sk, &tn)) {
            v->err = WEFT_EMALFORMED;
            return;
        }
        if (w->mode == MODE_JSON) weft_bsatn_put_u8(w->out, '[');
        for (uint32_t i = 0; i < n && !v->err; i++) {
            t->off = tstart;
            if (w->mode == MODE_KEY) weft_bsatn_put_u8(w->out, 1);
            if (w->mode == MODE_JSON && i) weft_bsatn_put_u8(w->out, ',');
            walk(w, t, v, depth + 1);
        }
        t->off = tstart + tn;
        if (w->mode == MODE_KEY) weft_bsatn_put_u8(w->out, 0);
        if (w->mode == MODE_JSON) weft_bsatn_put_u8(w->out, ']');
        return;
    }
    case WEFT_BSATN_STRUCT: {
        uint32_t n = weft_bsatn_get_u32(t), nl;
        if (t->err || n == 0) {
            v->err = WEFT_EMALFORMED;
            return;
        }
        if (w->mode == MODE_JSON) weft_bsatn_put_u8(w->out, '{');
        for (uint32_t i = 0; i < n && !v->err; i++) {
            const uint8_t *name = weft_bsatn_get_str(t, &nl);
            if (t->err) {
                v->err = WEFT_EMALFORMED;
                return;
            }
            if (w->mode == MODE_JSON) {
                if (i) weft_bsatn_put_u8(w->out, ',');
                json_string(w->out, name, nl);
                weft_bsatn_put_u8(w->out, ':');
            }
            walk(w, t, v, depth + 1);
        }
        if (w->mode == MODE_JSON) weft_bsatn_put_u8(w->out, '}');
        return;
    }
    default:
        v->err = WEFT_EMALFORMED;
    }
}

static int run(int mode, const uint8_t *t, size_t tlen, const uint8_t *v, size_t vlen,
               weft_bsatn_buf_t *out, size_t *out_used)
{
    weft_bsatn_reader_t tr, vr;
    walk_t w = {mode, out};
    if (tlen > 0 && bsatn_is_primitive(t[0]) && mode != MODE_JSON) {
        /* a primitive's type is its one tag, valid as it is: no type
         * check, no walk (tables check and key every column of every row) */
        long used = primitive(t[0], v, vlen, mode == MODE_KEY ? out : NULL);
        if (used < 0) return WEFT_EMALFORMED;
        if (out && out->err) return out->err;
        if (out_used) *out_used = (size_t)used;
        return 0;
    }
    weft_bsatn_reader_init(&vr, v, vlen);
    if (tlen > 0 && bsatn_is_primitive(t[0])) {
        walk_primitive(&w, t[0], &vr); /* JSON */
    } else {
        if (weft_bsatn_type_check(t, tlen, NULL) != 0) return WEFT_EMALFORMED;
        weft_bsatn_reader_init(&tr, t, tlen);
        walk(&w, &tr, &vr, 1);
    }
    if (vr.err) return WEFT_EMALFORMED;
    if (out && out->err) return out->err;
    if (out_used) *out_used = vr.off;
    return 0;
}

int weft_bsatn_check(const uint8_t *t, size_t tlen, const uint8_t *v, size_t vlen,
                     size_t *out_used)
{
    return run(MODE_CHECK, t, tlen, v, vlen, NULL, out_used);
}

int weft_bsatn_key(const uint8_t *t, size_t tlen, const uint8_t *v, size_t vlen,
                   weft_bsatn_buf_t *out, size_t *out_used)
{
    return run(MODE_KEY, t, tlen, v, vlen, out, out_used);
}

int weft_bsatn_json(const uint8_t *t, size_t tlen, const uint8_t *v, size_t vlen,
                    weft_bsatn_buf_t *out, size_t *out_used)
{
    return run(MODE_JSON, t, tlen, v, vlen, out, out_used);
}

/* ---- type names ------------------------------------------------------- */

static void name_walk(weft_bsatn_reader_t *t, weft_bsatn_buf_t *out)
{
    static const char *const ints[] = {"u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"};
    uint8_t tag = weft_bsatn_get_u8(t);
    if (t->err) return;
    if (bsatn_is_int(tag)) {
        put_cstr(out, ints[(tag & 3) + (tag >= WEFT_BSATN_I8 ? 4 : 0)]);
    } else if (tag == WEFT_BSATN_BOOL) {
        put_cstr(out, "bool");
    } else if (tag == WEFT_BSATN_STRING) {
        put_cstr(out, "String");
    } else if (tag == WEFT_BSATN_BYTES) {
        put_cstr(out, "bytes");
    } else if (tag == WEFT_BSATN_OPTION || tag == WEFT_BSATN_VEC) {
        put_cstr(out, tag == WEFT_BSATN_OPTION ? "Option<" : "Vec<");
        name_walk(t, out);
        put_cstr(out, ">");
    } else if (tag == WEFT_BSATN_STRUCT) {
        uint32_t n = weft_bsatn_get_u32(t), nl;
        put_cstr(out, "{");
        for (uint32_t i = 0; i < n && !t->err; i++) {
            const uint8_t *name = weft_bsatn_get_str(t, &nl);
            if (i) put_cstr(out, ", ");
            weft_bsatn_put_raw(out, name, nl);
            put_cstr(out, ": ");
            name_walk(t, out);
        }
        put_cstr(out, "}");
    } else {
        t->err = WEFT_EARG;
    }
}

int weft_bsatn_type_name(const uint8_t *t, size_t tlen, weft_bsatn_buf_t *out)
{
    weft_bsatn_reader_t r;
    size_t used;
    if (weft_bsatn_type_check(t, tlen, &used) != 0) return WEFT_EARG;
    weft_bsatn_reader_init(&r, t, used);
    name_walk(&r, out);
    return out->err;
}
