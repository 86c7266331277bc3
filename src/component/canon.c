/*
 * src/component/canon.c — the canonical ABI: lifting and lowering
 * component-level values (weft_cval_t) from and to core values and linear
 * memory, as CanonicalABI.md defines load/store, lift_flat/lower_flat and
 * lift_flat_values/lower_flat_values, for wasm32 memories and UTF-8 strings.
 *
 * Everything the guest controls is checked and is a trap, never a crash:
 * pointers and lengths (bounds, alignment, the 2^28-byte string and list
 * limits), discriminants, char code points, UTF-8, and realloc's results.
 * Memory is reached through weft_memory_ptr at each access, because realloc
 * runs guest code that may grow (move) the memory. A value the host passes
 * that does not fit its type (wrong kind, bad case index, invalid UTF-8) is
 * WEFT_EARG: a bug of the embedder, not of the guest.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "priv.h"

#define MAX_STRING_BYTE_LENGTH ((1u << 28) - 1)
#define MAX_LIST_BYTE_LENGTH ((1u << 28) - 1)
/* Implementation limit: a lifted list holds at most this many values
 * (list<u8> excepted: it is kept as bytes), so a guest cannot make the host
 * allocate 50 bytes per element of a list filling its memory. */
#define MAX_LIFT_ITEMS (1u << 22)

/* What one lift may allocate on the host (weft_canon_cx_t.lifted). */
#define MAX_LIFT_BYTES (256u << 20)

__attribute__((format(printf, 2, 3))) static int trap(weft_canon_cx_t *cx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cx->msg, sizeof cx->msg, fmt, ap);
    va_end(ap);
    return WEFT_ETRAP;
}

static int arg_error(weft_canon_cx_t *cx, const char *what)
{
    snprintf(cx->msg, sizeof cx->msg, "value does not match its type: %s", what);
    return WEFT_EARG;
}

int weft_cval_utf8_ok(const void *s, size_t n) { return weft_utf8_valid(s, n); }

void weft_cval_free(weft_cval_t *v)
{
    if (!v)
        return;
    free(v->str);
    for (size_t i = 0; i < v->n && v->items; i++)
        weft_cval_free(&v->items[i]);
    free(v->items);
    v->str = NULL;
    v->items = NULL;
    v->n = v->len = 0;
}

static int trap(weft_canon_cx_t *cx, const char *fmt, ...);

/* Counts `bytes` more host memory for the lift in progress. */
static int charge(weft_canon_cx_t *cx, uint64_t bytes)
{
    cx->lifted += bytes;
    if (cx->lifted > MAX_LIFT_BYTES)
        return trap(cx, "lifted values pass weft's limit of %u MiB", MAX_LIFT_BYTES >> 20);
    return 0;
}

static int is_bytes(const weft_ctype_t *t)
{
    return t->kind == WEFT_CT_LIST && t->a->kind == WEFT_CT_U8;
}

/* ---- cases of variant-like types --------------------------------------------------- */

static uint32_t ncases(const weft_ctype_t *t)
{
    switch (t->kind) {
    case WEFT_CT_OPTION:
    case WEFT_CT_RESULT:
        return 2;
    default:
        return t->n; /* variant, enum */
    }
}

static const weft_ctype_t *case_type(const weft_ctype_t *t, uint32_t i)
{
    switch (t->kind) {
    case WEFT_CT_VARIANT: return t->fields[i].type;
    case WEFT_CT_OPTION: return i == 1 ? t->a : NULL;
    case WEFT_CT_RESULT: return i == 0 ? t->a : t->b;
    default: return NULL;
    }
}

/* Offset of the payload: the discriminant aligned up to the largest case
 * alignment (CanonicalABI.md load_variant). */
static uint32_t payload_offset(const weft_ctype_t *t)
{
    uint32_t n = ncases(t), a = 1;
    if (t->kind == WEFT_CT_ENUM)
        return ct_disc_size(n);
    for (uint32_t i = 0; i < n; i++) {
        const weft_ctype_t *c = case_type(t, i);
        if (c && c->align > a)
            a = c->align;
    }
    return ct_align_to(ct_disc_size(n), a);
}

/* ---- memory ------------------------------------------------------------------------- */

static uint8_t *mem(weft_canon_cx_t *cx, uint64_t ptr, uint64_t len)
{
    if (!cx->memory)
        return NULL;
    return weft_memory_ptr(cx->memory, ptr, (size_t)len);
}

static uint64_t rd_le(const uint8_t *p, uint32_t n)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void wr_le(uint8_t *p, uint64_t v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int char_ok(uint64_t c) { return c < 0x110000 && !(c >= 0xd800 && c <= 0xdfff); }

static uint32_t canon_nan32(uint32_t b)
{
    return ((b & 0x7f800000u) == 0x7f800000u && (b & 0x7fffffu)) ? 0x7fc00000u : b;
}

static uint64_t canon_nan64(uint64_t b)
{
    return ((b & 0x7ff0000000000000ull) == 0x7ff0000000000000ull && (b & 0xfffffffffffffull))
               ? 0x7ff8000000000000ull : b;
}

/* The scalar of a primitive kind from its raw bits (zero-extended). */
static int scalar_from_bits(weft_canon_cx_t *cx, const weft_ctype_t *t, uint64_t raw,
                            weft_cval_t *out)
{
    switch (t->kind) {
    case WEFT_CT_BOOL: out->of.u = raw != 0; break; /* any nonzero bit pattern is true */
    case WEFT_CT_U8: out->of.u = raw & 0xff; break;
    case WEFT_CT_U16: out->of.u = raw & 0xffff; break;
    case WEFT_CT_U32: out->of.u = raw & 0xffffffffu; break;
    case WEFT_CT_U64: out->of.u = raw; break;
    case WEFT_CT_S8: out->of.s = (int8_t)raw; break;
    case WEFT_CT_S16: out->of.s = (int16_t)raw; break;
    case WEFT_CT_S32: out->of.s = (int32_t)raw; break;
    case WEFT_CT_S64: out->of.s = (int64_t)raw; break;
    case WEFT_CT_F32: out->of.f32_bits = canon_nan32((uint32_t)raw); break;
    case WEFT_CT_F64: out->of.f64_bits = canon_nan64(raw); break;
    case WEFT_CT_CHAR:
        if (!char_ok(raw & 0xffffffffu))
            return trap(cx, "invalid char: 0x%llx is not a Unicode scalar value",
                        (unsigned long long)(raw & 0xffffffffu));
        out->of.u = raw & 0xffffffffu;
        break;
    case WEFT_CT_FLAGS:
        out->of.u = t->n >= 32 ? raw & 0xffffffffu : raw & ((1ull << t->n) - 1);
        break;
    case WEFT_CT_OWN:
    case WEFT_CT_BORROW:
        out->of.u = raw & 0xffffffffu;
        break;
    }
    return 0;
}

/* ---- load ----------------------------------------------------------------------------- */

static int load_at(weft_canon_cx_t *cx, const weft_ctype_t *t, uint32_t ptr, weft_cval_t *out);

static int load_string_range(weft_canon_cx_t *cx, uint32_t begin, uint32_t units,
                             weft_cval_t *out)
{
    if (units > MAX_STRING_BYTE_LENGTH)
        return trap(cx, "string of %u bytes passes the 2^28-1 limit", units);
    const uint8_t *p = mem(cx, begin, units);
    if (!p)
        return trap(cx, "string [0x%x, +%u) out of bounds", begin, units);
    if (!weft_utf8_valid(p, units))
        return trap(cx, "string at 0x%x is not valid UTF-8", begin);
    if (charge(cx, units))
        return WEFT_ETRAP;
    if (!(out->str = malloc((size_t)units + 1)))
        return WEFT_ENOMEM;
    memcpy(out->str, p, units);
    out->str[units] = '\0';
    out->len = units;
    return 0;
}

static int load_list_range(weft_canon_cx_t *cx, const weft_ctype_t *elem, uint32_t begin,
                           uint32_t length, weft_cval_t *out)
{
    uint64_t bytes = (uint64_t)length * elem->size;
    if (bytes > MAX_LIST_BYTE_LENGTH)
        return trap(cx, "list of %u elements passes the 2^28-1 byte limit", length);
    if (begin % elem->align)
        return trap(cx, "list at 0x%x is not aligned to %u", begin, elem->align);
    if (!mem(cx, begin, bytes))
        return trap(cx, "list [0x%x, +%llu) out of bounds", begin, (unsigned long long)bytes);
    if (charge(cx, elem->kind == WEFT_CT_U8 ? length : (uint64_t)length * sizeof *out->items))
        return WEFT_ETRAP;
    if (elem->kind == WEFT_CT_U8) {
        if (!(out->str = malloc((size_t)length + 1)))
            return WEFT_ENOMEM;
        memcpy(out->str, mem(cx, begin, length), length);
        out->str[length] = '\0';
        out->len = length;
        return 0;
    }
    if (length > MAX_LIFT_ITEMS)
        return trap(cx, "list of %u elements passes weft's limit of %u", length, MAX_LIFT_ITEMS);
    if (length && !(out->items = calloc(length, sizeof *out->items)))
        return WEFT_ENOMEM;
    for (uint32_t i = 0; i < length; i++) {
        int rc = load_at(cx, elem, begin + i * elem->size, &out->items[i]);
        out->n = i + 1;
        if (rc)
            return rc;
    }
    out->n = length;
    return 0;
}

static int load_at(weft_canon_cx_t *cx, const weft_ctype_t *t, uint32_t ptr, weft_cval_t *out)
{
    memset(out, 0, sizeof *out);
    out->kind = (weft_ctype_kind_t)t->kind;
    const uint8_t *p = mem(cx, ptr, t->size);
    if (!p) /* callers checked the outermost range; this is for safety */
        return trap(cx, "value [0x%x, +%u) out of bounds", ptr, t->size);
    switch (t->kind) {
    case WEFT_CT_STRING:
        return load_string_range(cx, (uint32_t)rd_le(p, 4), (uint32_t)rd_le(p + 4, 4), out);
    case WEFT_CT_LIST:
        return load_list_range(cx, t->a, (uint32_t)rd_le(p, 4), (uint32_t)rd_le(p + 4, 4), out);
    case WEFT_CT_RECORD:
    case WEFT_CT_TUPLE: {
        if (charge(cx, (uint64_t)t->n * sizeof *out->items))
            return WEFT_ETRAP;
        if (!(out->items = calloc(t->n, sizeof *out->items)))
            return WEFT_ENOMEM;
        uint32_t off = 0;
        for (uint32_t i = 0; i < t->n; i++) {
            const weft_ctype_t *f = t->fields[i].type;
            off = ct_align_to(off, f->align);
            int rc = load_at(cx, f, ptr + off, &out->items[i]);
            out->n = i + 1;
            if (rc)
                return rc;
            off += f->size;
        }
        return 0;
    }
    case WEFT_CT_VARIANT:
    case WEFT_CT_OPTION:
    case WEFT_CT_RESULT:
    case WEFT_CT_ENUM: {
        uint32_t nc = ncases(t), ds = ct_disc_size(nc);
        uint32_t idx = (uint32_t)rd_le(p, ds);
        if (idx >= nc)
            return trap(cx, "invalid discriminant %u (%u cases)", idx, nc);
        out->index = idx;
        const weft_ctype_t *c = case_type(t, idx);
        if (!c)
            return 0;
        if (charge(cx, sizeof *out->items))
            return WEFT_ETRAP;
        if (!(out->items = calloc(1, sizeof *out->items)))
            return WEFT_ENOMEM;
        out->n = 1;
        return load_at(cx, c, ptr + payload_offset(t), &out->items[0]);
    }
    default:
        return scalar_from_bits(cx, t, rd_le(p, t->size), out);
    }
}

int weft_canon_load(weft_canon_cx_t *cx, const weft_ctype_t *t, uint32_t ptr, weft_cval_t *out)
{
    memset(out, 0, sizeof *out);
    cx->lifted = 0;
    if (ptr % t->align)
        return trap(cx, "pointer 0x%x is not aligned to %u", ptr, t->align);
    if (!mem(cx, ptr, t->size))
        return trap(cx, "pointer [0x%x, +%u) out of bounds", ptr, t->size);
    int rc = load_at(cx, t, ptr, out);
    if (rc)
        weft_cval_free(out);
    return rc;
}

/* ---- realloc -------------------------------------------------------------------------- */

static int allocate(weft_canon_cx_t *cx, uint32_t align, uint32_t size, uint32_t *out)
{
    if (!cx->realloc)
        return trap(cx, "no realloc to allocate %u bytes in", size);
    weft_val_t args[4] = {weft_val_i32(0), weft_val_i32(0), weft_val_i32((int32_t)align),
                          weft_val_i32((int32_t)size)};
    weft_val_t res;
    int rc = weft_func_call(cx->store, cx->realloc, args, 4, &res, 1);
    if (rc == WEFT_ETRAP)
        return trap(cx, "realloc trapped: %s", weft_store_trap_message(cx->store));
    if (rc)
        return rc;
    uint32_t p = (uint32_t)res.of.i32;
    if (p % align)
        return trap(cx, "realloc returned 0x%x, not aligned to %u", p, align);
    if (!mem(cx, p, size))
        return trap(cx, "realloc returned [0x%x, +%u), out of bounds (memory of %zu bytes)", p,
                    size, weft_memory_size(cx->memory));
    *out = p;
    return 0;
}

/* ---- store ---------------------------------------------------------------------------- */

static int check_scalar(weft_canon_cx_t *cx, const weft_ctype_t *t, const weft_cval_t *v,
                        uint64_t *out)
{
    uint64_t u = v->of.u;
    switch (t->kind) {
    case WEFT_CT_BOOL: if (u > 1) return arg_error(cx, "bool not 0 or 1"); break;
    case WEFT_CT_U8: if (u > 0xff) return arg_error(cx, "u8 out of range"); break;
    case WEFT_CT_U16: if (u > 0xffff) return arg_error(cx, "u16 out of range"); break;
    case WEFT_CT_U32: if (u > 0xffffffffu) return arg_error(cx, "u32 out of range"); break;
    case WEFT_CT_S8: if (v->of.s < -128 || v->of.s > 127) return arg_error(cx, "s8 out of range"); break;
    case WEFT_CT_S16:
        if (v->of.s < -32768 || v->of.s > 32767) return arg_error(cx, "s16 out of range");
        break;
    case WEFT_CT_S32:
        if (v->of.s < INT32_MIN || v->of.s > INT32_MAX) return arg_error(cx, "s32 out of range");
        break;
    case WEFT_CT_CHAR: if (!char_ok(u)) return arg_error(cx, "char not a Unicode scalar value"); break;
    case WEFT_CT_FLAGS:
        if (t->n < 32 && (u >> t->n)) return arg_error(cx, "flag bits past the labels");
        break;
    case WEFT_CT_OWN:
        if (u > 0xffffffffu) return arg_error(cx, "handle out of range");
        break;
    case WEFT_CT_BORROW: {
        if (u > 0xffffffffu) return arg_error(cx, "handle out of range");
        uint32_t out = (uint32_t)u;
        if (cx->borrow && cx->borrow(cx->user, t->a, (uint32_t)u, &out, cx->msg, sizeof cx->msg))
            return WEFT_ETRAP;
        u = out;
        break;
    }
    case WEFT_CT_F32: u = v->of.f32_bits; break;
    case WEFT_CT_F64: u = v->of.f64_bits; break;
    default: break;
    }
    *out = u;
    return 0;
}

static int store_at(weft_canon_cx_t *cx, const weft_ctype_t *t, const weft_cval_t *v, uint32_t ptr);

static int store_string_range(weft_canon_cx_t *cx, const weft_cval_t *v, uint32_t *out_ptr,
                              uint32_t *out_len)
{
    if (v->kind != WEFT_CT_STRING || (v->len && !v->str))
        return arg_error(cx, "not a string");
    if (v->len > MAX_STRING_BYTE_LENGTH)
        return arg_error(cx, "string longer than 2^28-1 bytes");
    if (!weft_utf8_valid((const uint8_t *)v->str, v->len))
        return arg_error(cx, "string not valid UTF-8");
    uint32_t p;
    int rc = allocate(cx, 1, (uint32_t)v->len, &p);
    if (rc)
        return rc;
    if (v->len)
        memcpy(mem(cx, p, v->len), v->str, v->len);
    *out_ptr = p;
    *out_len = (uint32_t)v->len;
    return 0;
}

static int store_list_range(weft_canon_cx_t *cx, const weft_ctype_t *t, const weft_cval_t *v,
                            uint32_t *out_ptr, uint32_t *out_len)
{
    const weft_ctype_t *elem = t->a;
    if (v->kind != WEFT_CT_LIST)
        return arg_error(cx, "not a list");
    size_t n = is_bytes(t) ? v->len : v->n;
    if (is_bytes(t) ? (n && !v->str) : (n && !v->items))
        return arg_error(cx, "list without its elements");
    uint64_t bytes = (uint64_t)n * elem->size;
    if (bytes > MAX_LIST_BYTE_LENGTH)
        return arg_error(cx, "list longer than 2^28-1 bytes");
    uint32_t p;
    int rc = allocate(cx, elem->align, (uint32_t)bytes, &p);
    if (rc)
        return rc;
    if (is_bytes(t)) {
        if (n)
            memcpy(mem(cx, p, n), v->str, n);
    } else {
        for (size_t i = 0; i < n; i++)
            if ((rc = store_at(cx, elem, &v->items[i], p + (uint32_t)i * elem->size)))
                return rc;
    }
    *out_ptr = p;
    *out_len = (uint32_t)n;
    return 0;
}

static int check_case(weft_canon_cx_t *cx, const weft_ctype_t *t, const weft_cval_t *v,
                      const weft_ctype_t **out_case)
{
    if (v->index >= ncases(t))
        return arg_error(cx, "case index out of range");
    const weft_ctype_t *c = case_type(t, v->index);
    if (c && (v->n != 1 || !v->items))
        return arg_error(cx, "case without its payload");
    *out_case = c;
    return 0;
}

static int store_at(weft_canon_cx_t *cx, const weft_ctype_t *t, const weft_cval_t *v, uint32_t ptr)
{
    int rc;
    if (v->kind != (weft_ctype_kind_t)t->kind)
        return arg_error(cx, "wrong kind");
    if (!mem(cx, ptr, t->size))
        return trap(cx, "value [0x%x, +%u) out of bounds", ptr, t->size);
    switch (t->kind) {
    case WEFT_CT_STRING:
    case WEFT_CT_LIST: {
        uint32_t p, n;
        rc = t->kind == WEFT_CT_STRING ? store_string_range(cx, v, &p, &n)
                                       : store_list_range(cx, t, v, &p, &n);
        if (rc)
            return rc;
        uint8_t *m = mem(cx, ptr, 8); /* realloc may have moved memory */
        if (!m)
            return trap(cx, "value [0x%x, +8) out of bounds", ptr);
        wr_le(m, p, 4);
        wr_le(m + 4, n, 4);
        return 0;
    }
    case WEFT_CT_RECORD:
    case WEFT_CT_TUPLE: {
        if (v->n != t->n || !v->items)
            return arg_error(cx, "wrong number of fields");
        uint32_t off = 0;
        for (uint32_t i = 0; i < t->n; i++) {
            const weft_ctype_t *f = t->fields[i].type;
            off = ct_align_to(off, f->align);
            if ((rc = store_at(cx, f, &v->items[i], ptr + off)))
                return rc;
            off += f->size;
        }
        return 0;
    }
    case WEFT_CT_VARIANT:
    case WEFT_CT_OPTION:
    case WEFT_CT_RESULT:
    case WEFT_CT_ENUM: {
        const weft_ctype_t *c;
        if ((rc = check_case(cx, t, v, &c)))
            return rc;
        wr_le(mem(cx, ptr, t->size), v->index, ct_disc_size(ncases(t)));
        return c ? store_at(cx, c, &v->items[0], ptr + payload_offset(t)) : 0;
    }
    default: {
        uint64_t u;
        if ((rc = check_scalar(cx, t, v, &u)))
            return rc;
        wr_le(mem(cx, ptr, t->size), u, t->size);
        return 0;
    }
    }
}

int weft_canon_store(weft_canon_cx_t *cx, const weft_ctype_t *t, const weft_cval_t *v,
                     uint32_t ptr)
{
    if (ptr % t->align)
        return trap(cx, "pointer 0x%x is not aligned to %u", ptr, t->align);
    if (!mem(cx, ptr, t->size))
        return trap(cx, "pointer [0x%x, +%u) out of bounds", ptr, t->size);
    return store_at(cx, t, v, ptr);
}

/* ---- flat lifting --------------------------------------------------------------------- */

typedef struct {
    const weft_val_t *v;
    size_t n, i;
} flat_it_t;

static int next(weft_canon_cx_t *cx, flat_it_t *it, uint8_t want, uint64_t *out)
{
    if (it->i >= it->n)
        return arg_error(cx, "too few core values");
    const weft_val_t *v = &it->v[it->i++];
    if (v->type != want)
        return arg_error(cx, "core value of the wrong type");
    switch (want) {
    case WEFT_I32: *out = (uint32_t)v->of.i32; break;
    case WEFT_I64: *out = (uint64_t)v->of.i64; break;
    case WEFT_F32: *out = v->of.f32_bits; break;
    default: *out = v->of.f64_bits; break;
    }
    return 0;
}

static weft_val_t core_val(uint8_t type, uint64_t bits)
{
    weft_val_t v = {.type = (weft_valtype_t)type};
    switch (type) {
    case WEFT_I32: v.of.i32 = (int32_t)(uint32_t)bits; break;
    case WEFT_I64: v.of.i64 = (int64_t)bits; break;
    case WEFT_F32: v.of.f32_bits = (uint32_t)bits; break;
    default: v.of.f64_bits = bits; break;
    }
    return v;
}

static int lift_flat(weft_canon_cx_t *cx, const weft_ctype_t *t, flat_it_t *it, weft_cval_t *out)
{
    int rc;
    uint64_t a, b;
    memset(out, 0, sizeof *out);
    out->kind = (weft_ctype_kind_t)t->kind;
    switch (t->kind) {
    case WEFT_CT_STRING:
        if ((rc = next(cx, it, WEFT_I32, &a)) || (rc = next(cx, it, WEFT_I32, &b)))
            return rc;
        return load_string_range(cx, (uint32_t)a, (uint32_t)b, out);
    case WEFT_CT_LIST:
        if ((rc = next(cx, it, WEFT_I32, &a)) || (rc = next(cx, it, WEFT_I32, &b)))
            return rc;
        return load_list_range(cx, t->a, (uint32_t)a, (uint32_t)b, out);
    case WEFT_CT_RECORD:
    case WEFT_CT_TUPLE:
        if (!(out->items = calloc(t->n, sizeof *out->items)))
            return WEFT_ENOMEM;
        for (uint32_t i = 0; i < t->n; i++) {
            rc = lift_flat(cx, t->fields[i].type, it, &out->items[i]);
            out->n = i + 1;
            if (rc)
                return rc;
        }
        return 0;
    case WEFT_CT_VARIANT:
    case WEFT_CT_OPTION:
    case WEFT_CT_RESULT:
    case WEFT_CT_ENUM: {
        uint32_t nc = ncases(t);
        if ((rc = next(cx, it, WEFT_I32, &a)))
            return rc;
        if (a >= nc)
            return trap(cx, "invalid discriminant %llu (%u cases)", (unsigned long long)a, nc);
        out->index = (uint32_t)a;
        uint32_t npay = t->nflat - 1;
        if (it->n - it->i < npay)
            return arg_error(cx, "too few core values");
        /* the payload's own flattening, coerced from the joined types */
        const weft_ctype_t *c = case_type(t, out->index);
        weft_val_t tmp[CT_FLAT_CAP];
        const weft_val_t *src = it->v + it->i;
        for (uint32_t j = 0; j < npay; j++)
            if (src[j].type != t->flat[1 + j])
                return arg_error(cx, "core value of the wrong type");
        if (c) {
            for (uint32_t j = 0; j < c->nflat; j++) {
                uint8_t have = t->flat[1 + j], want = c->flat[j];
                uint64_t x = have == WEFT_I32 ? (uint32_t)src[j].of.i32
                             : have == WEFT_I64 ? (uint64_t)src[j].of.i64
                             : have == WEFT_F32 ? src[j].of.f32_bits : src[j].of.f64_bits;
                if (have == WEFT_I64 && (want == WEFT_I32 || want == WEFT_F32))
                    x &= 0xffffffffu; /* wrap_i64_to_i32 */
                tmp[j] = core_val(want, x);
            }
            if (!(out->items = calloc(1, sizeof *out->items)))
                return WEFT_ENOMEM;
            out->n = 1;
            flat_it_t sub = {tmp, c->nflat, 0};
            if ((rc = lift_flat(cx, c, &sub, &out->items[0])))
                return rc;
        }
        it->i += npay;
        return 0;
    }
    default: {
        if ((rc = next(cx, it, t->flat[0], &a)))
            return rc;
        return scalar_from_bits(cx, t, a, out);
    }
    }
}

/* ---- flat lowering -------------------------------------------------------------------- */

typedef struct {
    weft_val_t *v;
    size_t cap, n;
} flat_out_t;

static int emit(weft_canon_cx_t *cx, flat_out_t *o, weft_val_t v)
{
    if (o->n >= o->cap)
        return arg_error(cx, "no room for the core values");
    o->v[o->n++] = v;
    return 0;
}

static int lower_flat(weft_canon_cx_t *cx, const weft_ctype_t *t, const weft_cval_t *v,
                      flat_out_t *o)
{
    int rc;
    if (v->kind != (weft_ctype_kind_t)t->kind)
        return arg_error(cx, "wrong kind");
    switch (t->kind) {
    case WEFT_CT_STRING:
    case WEFT_CT_LIST: {
        uint32_t p, n;
        rc = t->kind == WEFT_CT_STRING ? store_string_range(cx, v, &p, &n)
                                       : store_list_range(cx, t, v, &p, &n);
        if (rc || (rc = emit(cx, o, weft_val_i32((int32_t)p))))
            return rc;
        return emit(cx, o, weft_val_i32((int32_t)n));
    }
    case WEFT_CT_RECORD:
    case WEFT_CT_TUPLE:
        if (v->n != t->n || !v->items)
            return arg_error(cx, "wrong number of fields");
        for (uint32_t i = 0; i < t->n; i++)
            if ((rc = lower_flat(cx, t->fields[i].type, &v->items[i], o)))
                return rc;
        return 0;
    case WEFT_CT_VARIANT:
    case WEFT_CT_OPTION:
    case WEFT_CT_RESULT:
    case WEFT_CT_ENUM: {
        const weft_ctype_t *c;
        if ((rc = check_case(cx, t, v, &c)) || (rc = emit(cx, o, weft_val_i32((int32_t)v->index))))
            return rc;
        uint32_t npay = t->nflat - 1, j = 0;
        if (c) {
            weft_val_t tmp[CT_FLAT_CAP];
            flat_out_t sub = {tmp, CT_FLAT_CAP, 0};
            if ((rc = lower_flat(cx, c, &v->items[0], &sub)))
                return rc;
            for (; j < sub.n; j++) {
                uint8_t want = t->flat[1 + j];
                uint64_t x = tmp[j].type == WEFT_I32 ? (uint32_t)tmp[j].of.i32
                             : tmp[j].type == WEFT_I64 ? (uint64_t)tmp[j].of.i64
                             : tmp[j].type == WEFT_F32 ? tmp[j].of.f32_bits : tmp[j].of.f64_bits;
                if ((rc = emit(cx, o, core_val(want, x))))
                    return rc;
            }
        }
        for (; j < npay; j++)
            if ((rc = emit(cx, o, core_val(t->flat[1 + j], 0))))
                return rc;
        return 0;
    }
    default: {
        uint64_t u;
        if ((rc = check_scalar(cx, t, v, &u)))
            return rc;
        return emit(cx, o, core_val(t->flat[0], u));
    }
    }
}

/* ---- values --------------------------------------------------------------------------- */

/* The tuple of `types` in memory: size and alignment. */
static void tuple_layout(const weft_ctype_t *const *types, size_t n, uint32_t *size,
                         uint32_t *align)
{
    uint64_t s = 0;
    uint32_t a = 1;
    for (size_t i = 0; i < n; i++) {
        s = ct_align_to((uint32_t)s, types[i]->align) + types[i]->size;
        if (types[i]->align > a)
            a = types[i]->align;
    }
    *align = a;
    *size = ct_align_to((uint32_t)s, a);
}

static size_t total_flat(const weft_ctype_t *const *types, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += types[i]->nflat;
    return total;
}

int weft_canon_lift_values(weft_canon_cx_t *cx, const weft_ctype_t *const *types, size_t n,
                           const weft_val_t *flat, size_t nflat, size_t max_flat,
                           weft_cval_t *out)
{
    int rc = 0;
    size_t done = 0;
    memset(out, 0, n * sizeof *out);
    cx->lifted = 0;
    if (total_flat(types, n) > max_flat) {
        uint32_t size, align, off = 0;
        if (nflat != 1 || flat[0].type != WEFT_I32)
            return arg_error(cx, "expected one i32 pointer");
        uint32_t ptr = (uint32_t)flat[0].of.i32;
        tuple_layout(types, n, &size, &align);
        if (ptr % align)
            return trap(cx, "pointer 0x%x is not aligned to %u", ptr, align);
        if (!mem(cx, ptr, size))
            return trap(cx, "values [0x%x, +%u) out of bounds", ptr, size);
        for (; done < n; done++) {
            off = ct_align_to(off, types[done]->align);
            if ((rc = load_at(cx, types[done], ptr + off, &out[done]))) {
                done++;
                goto fail;
            }
            off += types[done]->size;
        }
        return 0;
    }
    flat_it_t it = {flat, nflat, 0};
    for (; done < n; done++)
        if ((rc = lift_flat(cx, types[done], &it, &out[done]))) {
            done++;
            goto fail;
        }
    if (it.i != nflat) {
        rc = arg_error(cx, "too many core values");
        goto fail;
    }
    return 0;
fail:
    for (size_t i = 0; i < done; i++)
        weft_cval_free(&out[i]);
    return rc;
}

int weft_canon_lower_values(weft_canon_cx_t *cx, const weft_ctype_t *const *types, size_t n,
                            const weft_cval_t *vals, size_t max_flat, const uint32_t *out_ptr,
                            weft_val_t *flat, size_t cap, size_t *out_nflat)
{
    int rc;
    *out_nflat = 0;
    if (total_flat(types, n) > max_flat) {
        uint32_t size, align, ptr, off = 0;
        tuple_layout(types, n, &size, &align);
        if (out_ptr) {
            ptr = *out_ptr;
            if (ptr % align)
                return trap(cx, "pointer 0x%x is not aligned to %u", ptr, align);
            if (!mem(cx, ptr, size))
                return trap(cx, "values [0x%x, +%u) out of bounds", ptr, size);
        } else {
            if (cap < 1)
                return arg_error(cx, "no room for the core values");
            if ((rc = allocate(cx, align, size, &ptr)))
                return rc;
        }
        for (size_t i = 0; i < n; i++) {
            off = ct_align_to(off, types[i]->align);
            if ((rc = store_at(cx, types[i], &vals[i], ptr + off)))
                return rc;
            off += types[i]->size;
        }
        if (!out_ptr) {
            flat[0] = weft_val_i32((int32_t)ptr);
            *out_nflat = 1;
        }
        return 0;
    }
    flat_out_t o = {flat, cap, 0};
    for (size_t i = 0; i < n; i++)
        if ((rc = lower_flat(cx, types[i], &vals[i], &o)))
            return rc;
    *out_nflat = o.n;
    return 0;
}
