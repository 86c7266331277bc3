/*
 * src/component/decode.c — decoding and validating a component binary
 * (Component Model Binary.md, layer 1) in one pass.
 *
 * Definitions are validated as they are read, in order, against index
 * spaces built incrementally per scope (a component, a component type, an
 * instance type), as the format requires: each scope has its own type,
 * function, instance, core ... index spaces, and outer aliases reach the
 * enclosing scopes. Core modules are loaded with the engine's public API
 * (weft_module_new), so their imports and exports are what core
 * instantiation is checked against. A failure longjmps out with a message
 * naming the section and the byte offset in the outermost binary;
 * everything allocated hangs off the component (arena) or the scope chain,
 * so the unwind frees it all. Guest-controlled counts never size an
 * allocation before the bytes that back them are known to be there.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "priv.h"

#define MAX_NESTING 64          /* components and types inside each other */
#define MAX_INDEX_SPACE 1000000 /* entries of one index space */

/* ---- arena: everything the component keeps --------------------------------- */

typedef struct arena_blk {
    struct arena_blk *next;
    max_align_t data[];
} arena_blk_t;

/* ---- index spaces ------------------------------------------------------------ */

typedef struct {
    const char *mod, *name; /* NUL-terminated */
    uint8_t kind;           /* 0 func, 1 table, 2 memory, 3 global, 4 tag */
    const weft_functype_t *ft;
} coredecl_t;

typedef struct { /* a core module or core module type */
    coredecl_t *imports, *exports;
    uint32_t nimports, nexports;
} coremod_t;

typedef struct { /* a core instance: its exports */
    coredecl_t *exports;
    uint32_t nexports;
} coreinst_t;

typedef struct {
    const weft_functype_t *ft; /* NULL: a module type */
    const coremod_t *mt;
} coretype_t;

#define VEC(T)        \
    struct {          \
        T *v;         \
        uint32_t n, cap; \
    }

typedef struct scope {
    struct scope *parent;
    int is_type;      /* component or instance type (declarators only) */
    VEC(const weft_ctype_t *) types;
    VEC(coretype_t) core_types;
    VEC(const coremod_t *) core_modules;
    VEC(const coreinst_t *) core_instances;
    VEC(const weft_functype_t *) core_funcs;
    uint32_t core_tables, core_memories, core_globals, core_tags;
    VEC(const weft_ctype_t *) funcs;
    VEC(const weft_ctype_t *) instances;
    VEC(const weft_ctype_t *) components;
    VEC(weft_cextern_t) imports;
    VEC(weft_cextern_t) exports;
    VEC(cinit_t) inits; /* a component scope's initializers */
} scope_t;

typedef struct {
    weft_engine_t *engine;
    weft_component_t *c;
    const uint8_t *base; /* start of the outermost binary */
    const uint8_t *p, *end;
    const char *section;
    scope_t *scope; /* innermost */
    int depth;
    arena_blk_t *arena;
    jmp_buf jb;
    int code;
    char *msg;
    size_t msg_size;
} dec_t;

__attribute__((noreturn, format(printf, 4, 5))) static void fail_at(dec_t *d, int code,
                                                                   const uint8_t *at,
                                                                   const char *fmt, ...)
{
    if (d->msg && d->msg_size) {
        int n = d->section ? snprintf(d->msg, d->msg_size, "%s section, offset 0x%zx: ",
                                      d->section, (size_t)(at - d->base))
                           : snprintf(d->msg, d->msg_size, "offset 0x%zx: ", (size_t)(at - d->base));
        if (n >= 0 && (size_t)n < d->msg_size) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(d->msg + n, d->msg_size - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    d->code = code;
    longjmp(d->jb, 1);
}

#define MALFORMED(d, ...) fail_at((d), WEFT_EMALFORMED, (d)->p, __VA_ARGS__)
#define INVALID(d, ...) fail_at((d), WEFT_EINVALID, (d)->p, __VA_ARGS__)

static void *alloc(dec_t *d, size_t size)
{
    arena_blk_t *b = calloc(1, sizeof *b + size);
    if (!b)
        fail_at(d, WEFT_ENOMEM, d->p, "out of memory");
    b->next = d->arena;
    d->arena = b;
    return b->data;
}

/* A new initializer of the outermost component, or NULL inside a nested
 * component or a type (nothing to instantiate there). */
static cinit_t *record(dec_t *d, uint8_t op);

static void vec_grow(dec_t *d, void **v, uint32_t *cap, uint32_t n, size_t elem)
{
    if (n < *cap)
        return;
    if (n >= MAX_INDEX_SPACE)
        fail_at(d, WEFT_ELIMIT, d->p, "more than %d entries in an index space", MAX_INDEX_SPACE);
    uint32_t nc = *cap ? *cap * 2 : 8;
    void *nv = realloc(*v, nc * elem);
    if (!nv)
        fail_at(d, WEFT_ENOMEM, d->p, "out of memory");
    *v = nv;
    *cap = nc;
}

#define PUSH(d, vec, val)                                                          \
    do {                                                                           \
        vec_grow((d), (void **)&(vec).v, &(vec).cap, (vec).n, sizeof *(vec).v);    \
        (vec).v[(vec).n++] = (val);                                                \
    } while (0)

static cinit_t *record(dec_t *d, uint8_t op)
{
    scope_t *sc = d->scope;
    if (!sc || sc->is_type)
        return NULL;
    vec_grow(d, (void **)&sc->inits.v, &sc->inits.cap, sc->inits.n, sizeof *sc->inits.v);
    cinit_t *in = &sc->inits.v[sc->inits.n++];
    memset(in, 0, sizeof *in);
    in->op = op;
    in->memory = in->realloc = in->post = -1;
    return in;
}

static void scope_free(scope_t *s)
{
    free(s->types.v);
    free(s->core_types.v);
    free(s->core_modules.v);
    free(s->core_instances.v);
    free(s->core_funcs.v);
    free(s->funcs.v);
    free(s->instances.v);
    free(s->components.v);
    free(s->imports.v);
    free(s->exports.v);
    free(s->inits.v);
}

/* Scopes live on the heap, linked from d->scope: a failure longjmps out of
 * the functions that made them, so they must not be in those functions'
 * stack frames when the unwind frees them. */
static scope_t *scope_push(dec_t *d, int is_type)
{
    scope_t *s = calloc(1, sizeof *s);
    if (!s)
        fail_at(d, WEFT_ENOMEM, d->p, "out of memory");
    s->parent = d->scope;
    s->is_type = is_type;
    d->scope = s;
    if (++d->depth > MAX_NESTING)
        fail_at(d, WEFT_ELIMIT, d->p, "components and types nested deeper than %d", MAX_NESTING);
    return s;
}

static void scope_leave(dec_t *d)
{
    scope_t *s = d->scope;
    d->scope = s->parent;
    d->depth--;
    scope_free(s);
    free(s);
}

/* ---- reading ------------------------------------------------------------------ */

static uint8_t rd_u8(dec_t *d)
{
    if (d->p >= d->end)
        MALFORMED(d, "unexpected end");
    return *d->p++;
}

static uint32_t rd_u32(dec_t *d)
{
    uint32_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        uint8_t b = rd_u8(d);
        if (shift == 28) {
            if (b & 0x80)
                MALFORMED(d, "integer representation too long");
            if (b >> 4)
                MALFORMED(d, "integer too large");
        }
        v |= (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
}

/* s33 as used by value types: negative = a type opcode, else an index. */
static int64_t rd_s33(dec_t *d)
{
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        uint8_t b = rd_u8(d);
        if (shift == 28) {
            /* 5 value bits left, bit 4 the sign; bits 5-6 must repeat it */
            if (b & 0x80)
                MALFORMED(d, "integer representation too long");
            uint8_t rest = (b >> 5) & 3, sign = (b >> 4) & 1;
            if (rest != (sign ? 3 : 0))
                MALFORMED(d, "integer too large");
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (b & 0x40)
                v |= ~0ull << (shift + 7);
            return (int64_t)v;
        }
    }
}

static const uint8_t *rd_bytes(dec_t *d, size_t n)
{
    if ((size_t)(d->end - d->p) < n)
        MALFORMED(d, "unexpected end");
    const uint8_t *p = d->p;
    d->p += n;
    return p;
}

/* A name (u32 length + UTF-8), copied NUL-terminated into the arena. */
static const char *rd_name(dec_t *d, size_t *out_len)
{
    const uint8_t *at = d->p;
    uint32_t n = rd_u32(d);
    const uint8_t *s = rd_bytes(d, n);
    if (!weft_utf8_valid(s, n))
        fail_at(d, WEFT_EMALFORMED, at, "malformed UTF-8 encoding");
    char *copy = alloc(d, (size_t)n + 1);
    memcpy(copy, s, n);
    if (out_len)
        *out_len = n;
    return copy;
}

/* ---- names (Explainer.md, import and export definitions) ---------------------- */

/* label ::= fragment ('-' fragment)*, fragment ::= [a-z][a-z0-9]* | [A-Z][A-Z0-9]*
 * (a word may also start with a digit after the first: "utf8", "v2") */
static int is_label(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        int lower = 0, upper = 0;
        if (!isalpha((unsigned char)s[i]))
            return 0;
        while (i < n && s[i] != '-') {
            unsigned char ch = (unsigned char)s[i];
            if (islower(ch))
                lower = 1;
            else if (isupper(ch))
                upper = 1;
            else if (!isdigit(ch))
                return 0;
            i++;
        }
        if (i == start || (lower && upper))
            return 0;
        if (i < n) {
            i++; /* '-' */
            if (i == n)
                return 0;
        }
    }
    return 1;
}

static int is_semver_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '.' || ch == '-' || ch == '+';
}

/* ns:pkg/iface[/iface2...][@version] */
static int is_interface_name(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n), *at = memchr(s, '@', n);
    size_t end = at ? (size_t)(at - s) : n;
    if (!colon || (size_t)(colon - s) >= end)
        return 0;
    if (!is_label(s, (size_t)(colon - s)))
        return 0;
    const char *p = colon + 1, *stop = s + end;
    /* more ns: segments are allowed by nested packages: accept label(':'label)* */
    int slashes = 0;
    while (p < stop) {
        const char *q = p;
        while (q < stop && *q != '/' && *q != ':')
            q++;
        if (!is_label(p, (size_t)(q - p)))
            return 0;
        if (q < stop && *q == '/')
            slashes++;
        p = q < stop ? q + 1 : q;
        if (q < stop && p == stop)
            return 0;
    }
    if (!slashes)
        return 0;
    if (at) {
        if ((size_t)(at - s) + 1 >= n)
            return 0;
        for (size_t i = (size_t)(at - s) + 1; i < n; i++)
            if (!is_semver_char(s[i]))
                return 0;
        if (!isdigit((unsigned char)at[1]))
            return 0;
    }
    return 1;
}

/* plainname: label, [constructor]label, [method]label.label,
 * [static]label.label; or an interface name; or a dependency name
 * (unlocked-dep=<...>, locked-dep=<...>, url=<...>, integrity=<...>):
 * those only need to be non-empty. */
static int is_extern_name(const char *s, size_t n)
{
    static const char *const pre[] = {"[constructor]", "[method]", "[static]"};
    for (int k = 0; k < 3; k++) {
        size_t pl = strlen(pre[k]);
        if (n > pl && memcmp(s, pre[k], pl) == 0) {
            const char *rest = s + pl;
            size_t rn = n - pl;
            if (k == 0)
                return is_label(rest, rn);
            const char *dot = memchr(rest, '.', rn);
            return dot && is_label(rest, (size_t)(dot - rest)) &&
                   is_label(dot + 1, rn - (size_t)(dot - rest) - 1);
        }
    }
    if (is_label(s, n))
        return 1;
    if (memchr(s, ':', n) && !memchr(s, '=', n))
        return is_interface_name(s, n);
    return n > 0 && memchr(s, '=', n) && s[n - 1] == '>';
}

/* Strongly-unique: names compare equal ignoring ASCII case. */
static void check_unique(dec_t *d, const char *const *names, uint32_t n, const char *what,
                         const uint8_t *at)
{
    /* O(n^2): record fields, cases and export lists are short; a hostile
     * component pays with its own load time, bounded by its size */
    if (n > 4096) {
        for (uint32_t i = 1; i < n; i++)
            for (uint32_t j = 0; j < i && j < 4096; j++)
                if (strcasecmp(names[i], names[j]) == 0)
                    fail_at(d, WEFT_EINVALID, at, "%s name '%s' is not unique", what, names[i]);
        return;
    }
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t j = 0; j < i; j++)
            if (strcasecmp(names[i], names[j]) == 0)
                fail_at(d, WEFT_EINVALID, at, "%s name '%s' is not unique", what, names[i]);
}

/* ---- types ---------------------------------------------------------------------- */

static weft_ctype_t *new_type(dec_t *d, uint8_t kind)
{
    weft_ctype_t *t = alloc(d, sizeof *t);
    t->kind = kind;
    t->dtor = -1;
    return t;
}

static const weft_ctype_t *type_at(dec_t *d, uint32_t idx, const uint8_t *at)
{
    if (idx >= d->scope->types.n)
        fail_at(d, WEFT_EINVALID, at, "unknown type %u", idx);
    return d->scope->types.v[idx];
}

static int is_defvaltype(const weft_ctype_t *t)
{
    switch (t->kind) {
    case WEFT_CT_FUNC:
    case WEFT_CT_COMPONENT:
    case WEFT_CT_INSTANCE:
    case WEFT_CT_RESOURCE:
        return 0;
    default:
        return 1;
    }
}

/* valtype ::= typeidx | primvaltype */
static const weft_ctype_t *rd_valtype(dec_t *d)
{
    const uint8_t *at = d->p;
    int64_t v = rd_s33(d);
    if (v < 0) {
        int code = (int)(v & 0x7f);
        if (v < -64 || !ct_is_prim(code)) {
            if (code == 0x64)
                fail_at(d, WEFT_EINVALID, at, "error-context is not supported");
            fail_at(d, WEFT_EMALFORMED, at, "invalid value type 0x%02x", code);
        }
        return ct_prim(code);
    }
    const weft_ctype_t *t = type_at(d, (uint32_t)v, at);
    if (!is_defvaltype(t))
        fail_at(d, WEFT_EINVALID, at, "type %u is not a value type", (uint32_t)v);
    return t;
}

static const weft_ctype_t *rd_opt_valtype(dec_t *d)
{
    uint8_t b = rd_u8(d);
    if (b == 0)
        return NULL;
    if (b != 1)
        fail_at(d, WEFT_EMALFORMED, d->p - 1, "invalid optional flag 0x%02x", b);
    return rd_valtype(d);
}

static const char *rd_label(dec_t *d, const char *what)
{
    const uint8_t *at = d->p;
    size_t n;
    const char *l = rd_name(d, &n);
    if (!is_label(l, n))
        fail_at(d, WEFT_EINVALID, at, "%s '%s' is not a valid label", what, l);
    return l;
}

/* Reads a vector count whose items need at least `min_bytes` each. */
static uint32_t rd_count(dec_t *d, size_t min_bytes)
{
    const uint8_t *at = d->p;
    uint32_t n = rd_u32(d);
    if (min_bytes && (size_t)n > (size_t)(d->end - d->p) / min_bytes)
        fail_at(d, WEFT_EMALFORMED, at, "count %u past the end of the section", n);
    return n;
}

static void finish_fields(dec_t *d, weft_ctype_t *t, const char *what, const uint8_t *at)
{
    const char **names = alloc(d, ((size_t)t->n + 1) * sizeof *names);
    for (uint32_t i = 0; i < t->n; i++)
        names[i] = t->fields[i].label;
    check_unique(d, names, t->n, what, at);
}

static void layout(dec_t *d, weft_ctype_t *t, const uint8_t *at)
{
    int rc = ct_layout(t);
    if (rc == -2)
        fail_at(d, WEFT_ENOMEM, at, "out of memory");
    if (rc == -3)
        fail_at(d, WEFT_ELIMIT, at, "value types nested deeper than %d", CT_MAX_DEPTH);
    if (rc != 0)
        fail_at(d, WEFT_EINVALID, at, "type too large: its size passes 2^28 bytes");
}

static const weft_ctype_t *rd_functype_body(dec_t *d, const uint8_t *at)
{
    weft_ctype_t *t = new_type(d, WEFT_CT_FUNC);
    t->n = rd_count(d, 2);
    t->fields = alloc(d, (t->n ? t->n : 1) * sizeof *t->fields);
    for (uint32_t i = 0; i < t->n; i++) {
        t->fields[i].label = rd_label(d, "parameter");
        t->fields[i].type = rd_valtype(d);
    }
    finish_fields(d, t, "parameter", at);
    uint8_t r = rd_u8(d);
    if (r == 0x00) {
        t->has_result = 1;
        t->a = rd_valtype(d);
        if (t->a->has_borrow)
            fail_at(d, WEFT_EINVALID, at, "a function result may not contain a borrow");
    } else if (r == 0x01) {
        if (rd_u8(d) != 0x00)
            fail_at(d, WEFT_EMALFORMED, d->p - 1, "named results are not supported");
    } else {
        fail_at(d, WEFT_EMALFORMED, d->p - 1, "invalid result list 0x%02x", r);
    }
    return t;
}

static const weft_ctype_t *rd_decls(dec_t *d, uint8_t kind, const uint8_t *at);

/* deftype of the component-level type section (or a declarator). */
static const weft_ctype_t *rd_deftype(dec_t *d)
{
    const uint8_t *at = d->p;
    uint8_t op = rd_u8(d);
    weft_ctype_t *t;
    if (ct_is_prim(op))
        return ct_prim(op);
    switch (op) {
    case WEFT_CT_RECORD:
    case WEFT_CT_VARIANT:
        t = new_type(d, op);
        t->n = rd_count(d, 2);
        if (t->n == 0)
            fail_at(d, WEFT_EINVALID, at, "%s with no %s", op == WEFT_CT_RECORD ? "record" : "variant",
                    op == WEFT_CT_RECORD ? "fields" : "cases");
        t->fields = alloc(d, t->n * sizeof *t->fields);
        for (uint32_t i = 0; i < t->n; i++) {
            t->fields[i].label = rd_label(d, op == WEFT_CT_RECORD ? "field" : "case");
            if (op == WEFT_CT_RECORD) {
                t->fields[i].type = rd_valtype(d);
            } else {
                t->fields[i].type = rd_opt_valtype(d);
                if (rd_u8(d) != 0x00)
                    fail_at(d, WEFT_EMALFORMED, d->p - 1, "case refinement is not supported");
            }
        }
        finish_fields(d, t, op == WEFT_CT_RECORD ? "field" : "case", at);
        break;
    case WEFT_CT_LIST:
        t = new_type(d, op);
        t->a = rd_valtype(d);
        break;
    case 0x67:
        fail_at(d, WEFT_EINVALID, at, "fixed-length lists are not supported");
    case WEFT_CT_TUPLE:
        t = new_type(d, op);
        t->n = rd_count(d, 1);
        if (t->n == 0)
            fail_at(d, WEFT_EINVALID, at, "tuple with no elements");
        t->fields = alloc(d, t->n * sizeof *t->fields);
        for (uint32_t i = 0; i < t->n; i++)
            t->fields[i].type = rd_valtype(d);
        break;
    case WEFT_CT_FLAGS:
    case WEFT_CT_ENUM:
        t = new_type(d, op);
        t->n = rd_count(d, 2);
        if (t->n == 0)
            fail_at(d, WEFT_EINVALID, at, "%s with no labels", op == WEFT_CT_FLAGS ? "flags" : "enum");
        if (op == WEFT_CT_FLAGS && t->n > 32)
            fail_at(d, WEFT_EINVALID, at, "flags with %u labels (at most 32)", t->n);
        t->fields = alloc(d, t->n * sizeof *t->fields);
        for (uint32_t i = 0; i < t->n; i++)
            t->fields[i].label = rd_label(d, op == WEFT_CT_FLAGS ? "flag" : "enum case");
        finish_fields(d, t, op == WEFT_CT_FLAGS ? "flag" : "enum case", at);
        break;
    case WEFT_CT_OPTION:
        t = new_type(d, op);
        t->a = rd_valtype(d);
        break;
    case WEFT_CT_RESULT:
        t = new_type(d, op);
        t->a = rd_opt_valtype(d);
        t->b = rd_opt_valtype(d);
        break;
    case WEFT_CT_OWN:
    case WEFT_CT_BORROW: {
        t = new_type(d, op);
        const uint8_t *iat = d->p;
        uint32_t i = rd_u32(d);
        t->a = type_at(d, i, iat);
        if (t->a->kind != WEFT_CT_RESOURCE)
            fail_at(d, WEFT_EINVALID, iat, "type %u is not a resource", i);
        break;
    }
    case 0x66:
    case 0x65:
        fail_at(d, WEFT_EINVALID, at, "streams and futures are not supported");
    case 0x63:
        fail_at(d, WEFT_EINVALID, at, "maps are not supported");
    case WEFT_CT_FUNC:
        return rd_functype_body(d, at);
    case 0x43:
        fail_at(d, WEFT_EINVALID, at, "async functions are not supported");
    case WEFT_CT_COMPONENT:
    case WEFT_CT_INSTANCE:
        return rd_decls(d, op, at);
    case WEFT_CT_RESOURCE: {
        if (d->scope->is_type)
            fail_at(d, WEFT_EINVALID, at, "a resource type cannot be defined in a type declaration");
        t = new_type(d, op);
        uint8_t rep = rd_u8(d);
        if (rep != WEFT_I32)
            fail_at(d, WEFT_EINVALID, d->p - 1, "resource representation must be i32");
        uint8_t has = rd_u8(d);
        if (has == 1) {
            const uint8_t *fat = d->p;
            uint32_t f = rd_u32(d);
            if (f >= d->scope->core_funcs.n)
                fail_at(d, WEFT_EINVALID, fat, "unknown core function %u", f);
            const weft_functype_t *ft = d->scope->core_funcs.v[f];
            if (weft_functype_nparams(ft) != 1 || weft_functype_param(ft, 0) != WEFT_I32 ||
                weft_functype_nresults(ft) != 0)
                fail_at(d, WEFT_EINVALID, fat, "resource destructor must have type (i32) -> ()");
            t->dtor = (int32_t)f;
        } else if (has != 0) {
            fail_at(d, WEFT_EMALFORMED, d->p - 1, "invalid optional flag 0x%02x", has);
        }
        t->local = 1;
        t->id = d->c->next_resource_id++;
        return t;
    }
    default:
        fail_at(d, WEFT_EMALFORMED, at, "invalid type 0x%02x", op);
    }
    layout(d, t, at);
    return t;
}

/* ---- core types and module types --------------------------------------------- */

static weft_functype_t *keep_functype(dec_t *d, weft_functype_t *ft)
{
    weft_component_t *c = d->c;
    if (!ft)
        fail_at(d, WEFT_ENOMEM, d->p, "out of memory");
    if (c->nfunctypes == c->cap_functypes) {
        size_t nc = c->cap_functypes ? c->cap_functypes * 2 : 16;
        weft_functype_t **nv = realloc(c->functypes, nc * sizeof *nv);
        if (!nv) {
            weft_functype_delete(ft);
            fail_at(d, WEFT_ENOMEM, d->p, "out of memory");
        }
        c->functypes = nv;
        c->cap_functypes = nc;
    }
    c->functypes[c->nfunctypes++] = ft;
    return ft;
}

static weft_valtype_t rd_core_valtype(dec_t *d)
{
    uint8_t b = rd_u8(d);
    switch (b) {
    case WEFT_I32: case WEFT_I64: case WEFT_F32: case WEFT_F64:
    case WEFT_FUNCREF: case WEFT_EXTERNREF:
        return (weft_valtype_t)b;
    case WEFT_V128:
        fail_at(d, WEFT_EINVALID, d->p - 1, "v128 is not supported");
    default:
        fail_at(d, WEFT_EMALFORMED, d->p - 1, "invalid core value type 0x%02x", b);
    }
}

static const weft_functype_t *rd_core_functype(dec_t *d)
{
    weft_valtype_t ps[1000], rs[1000];
    const uint8_t *at = d->p;
    uint32_t np = rd_count(d, 1);
    if (np > 1000)
        fail_at(d, WEFT_ELIMIT, at, "more than 1000 parameters");
    for (uint32_t i = 0; i < np; i++)
        ps[i] = rd_core_valtype(d);
    at = d->p;
    uint32_t nr = rd_count(d, 1);
    if (nr > 1000)
        fail_at(d, WEFT_ELIMIT, at, "more than 1000 results");
    for (uint32_t i = 0; i < nr; i++)
        rs[i] = rd_core_valtype(d);
    return keep_functype(d, weft_functype_new(ps, np, rs, nr));
}

static void rd_limits(dec_t *d, int memory)
{
    uint8_t f = rd_u8(d);
    if (f > 1) {
        if (memory && (f & 4))
            fail_at(d, WEFT_EINVALID, d->p - 1, "64-bit memories are not supported");
        fail_at(d, WEFT_EMALFORMED, d->p - 1, "invalid limits flag 0x%02x", f);
    }
    rd_u32(d);
    if (f == 1)
        rd_u32(d);
}

/* core:importdesc / core:externtype in a module type; func types refer to
 * the module type's own core type space (ts, n). */
static void rd_core_externtype(dec_t *d, coredecl_t *out, const coretype_t *ts, uint32_t n)
{
    const uint8_t *at = d->p;
    out->kind = rd_u8(d);
    switch (out->kind) {
    case 0: {
        uint32_t i = rd_u32(d);
        if (i >= n || !ts[i].ft)
            fail_at(d, WEFT_EINVALID, at, "unknown core function type %u", i);
        out->ft = ts[i].ft;
        break;
    }
    case 1:
        rd_core_valtype(d);
        rd_limits(d, 0);
        break;
    case 2:
        rd_limits(d, 1);
        break;
    case 3:
        rd_core_valtype(d);
        if (rd_u8(d) > 1)
            fail_at(d, WEFT_EMALFORMED, d->p - 1, "invalid mutability");
        break;
    case 4:
        fail_at(d, WEFT_EINVALID, at, "exception tags are not supported");
    default:
        fail_at(d, WEFT_EMALFORMED, at, "invalid core extern kind 0x%02x", out->kind);
    }
}

static const coremod_t *rd_moduletype(dec_t *d)
{
    coremod_t *m = alloc(d, sizeof *m);
    /* a module type's own core type space lives in a type scope, so the
     * unwind frees it and outer aliases count it as a scope */
    scope_t *s = scope_push(d, 1);
    uint32_t n = rd_count(d, 2);
    /* each declarator is at most one import or export */
    m->imports = alloc(d, ((size_t)n + 1) * sizeof *m->imports);
    m->exports = alloc(d, ((size_t)n + 1) * sizeof *m->exports);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *at = d->p;
        uint8_t k = rd_u8(d);
        coredecl_t cd = {0};
        switch (k) {
        case 0x00:
            cd.mod = rd_name(d, NULL);
            cd.name = rd_name(d, NULL);
            rd_core_externtype(d, &cd, s->core_types.v, s->core_types.n);
            m->imports[m->nimports++] = cd;
            break;
        case 0x01: {
            uint8_t op = rd_u8(d);
            if (op != 0x60)
                fail_at(d, WEFT_EINVALID, at, "only function types may be declared in a module type");
            coretype_t ct = {.ft = rd_core_functype(d)};
            PUSH(d, s->core_types, ct);
            break;
        }
        case 0x02: {
            if (rd_u8(d) != 0x10 || rd_u8(d) != 0x01)
                fail_at(d, WEFT_EMALFORMED, at, "invalid core alias in a module type");
            uint32_t ct = rd_u32(d), idx = rd_u32(d);
            scope_t *o = s;
            for (uint32_t k2 = 0; k2 < ct && o; k2++)
                o = o->parent;
            if (!o || idx >= o->core_types.n || !o->core_types.v[idx].ft)
                fail_at(d, WEFT_EINVALID, at, "invalid outer alias of core type %u", idx);
            PUSH(d, s->core_types, o->core_types.v[idx]);
            break;
        }
        case 0x03:
            cd.name = rd_name(d, NULL);
            rd_core_externtype(d, &cd, s->core_types.v, s->core_types.n);
            m->exports[m->nexports++] = cd;
            break;
        default:
            fail_at(d, WEFT_EMALFORMED, at, "invalid module type declaration 0x%02x", k);
        }
    }
    scope_leave(d);
    return m;
}

static void rd_core_type(dec_t *d)
{
    const uint8_t *at = d->p;
    uint8_t op = rd_u8(d);
    coretype_t ct = {0};
    if (op == 0x60)
        ct.ft = rd_core_functype(d);
    else if (op == 0x50)
        ct.mt = rd_moduletype(d);
    else if (op == 0x00 || op == 0x4e || op == 0x4f || op == 0x5e || op == 0x5f)
        fail_at(d, WEFT_EINVALID, at, "garbage-collected core types are not supported");
    else
        fail_at(d, WEFT_EMALFORMED, at, "invalid core type 0x%02x", op);
    PUSH(d, d->scope->core_types, ct);
}

/* ---- externs, imports, exports -------------------------------------------------- */

/* Adds what an import, export or alias of `sort` brings to the index spaces. */
static void push_sort(dec_t *d, weft_csort_t sort, const weft_ctype_t *t, const coremod_t *cm)
{
    scope_t *s = d->scope;
    switch (sort) {
    case WEFT_CSORT_CORE_MODULE: PUSH(d, s->core_modules, cm); break;
    case WEFT_CSORT_FUNC: PUSH(d, s->funcs, t); break;
    case WEFT_CSORT_TYPE: PUSH(d, s->types, t); break;
    case WEFT_CSORT_COMPONENT: PUSH(d, s->components, t); break;
    case WEFT_CSORT_INSTANCE: PUSH(d, s->instances, t); break;
    case WEFT_CSORT_VALUE: INVALID(d, "values are not supported");
    }
}

/* nameattributes; returns the name (attributes are read and checked) */
static const char *rd_extern_name(dec_t *d, size_t *len)
{
    const uint8_t *at = d->p;
    uint8_t k = rd_u8(d);
    if (k > 2)
        fail_at(d, WEFT_EMALFORMED, at, "invalid name kind 0x%02x", k);
    const uint8_t *nat = d->p;
    const char *name = rd_name(d, len);
    if (!is_extern_name(name, *len))
        fail_at(d, WEFT_EINVALID, nat, "'%s' is not a valid import or export name", name);
    if (k == 2) {
        uint32_t n = rd_count(d, 2), seen = 0;
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *aat = d->p;
            uint8_t a = rd_u8(d);
            if (a > 2)
                fail_at(d, WEFT_EMALFORMED, aat, "invalid name attribute 0x%02x", a);
            if (seen & (1u << a))
                fail_at(d, WEFT_EINVALID, aat, "name attribute 0x%02x given twice", a);
            seen |= 1u << a;
            size_t al;
            const char *v = rd_name(d, &al);
            if (a == 0 && !is_interface_name(v, al))
                fail_at(d, WEFT_EINVALID, aat, "'%s' is not an interface name", v);
        }
    }
    return name;
}

static const weft_ctype_t *rd_typeidx_of(dec_t *d, uint8_t kind, const char *what)
{
    const uint8_t *at = d->p;
    uint32_t i = rd_u32(d);
    const weft_ctype_t *t = type_at(d, i, at);
    if (t->kind != kind)
        fail_at(d, WEFT_EINVALID, at, "type %u is not a %s type", i, what);
    return t;
}

/* externtype into e (sort and type); pushes what it defines. */
static void rd_externtype(dec_t *d, weft_cextern_t *e, const coremod_t **out_cm)
{
    const uint8_t *at = d->p;
    uint8_t k = rd_u8(d);
    *out_cm = NULL;
    switch (k) {
    case 0x00: {
        if (rd_u8(d) != 0x11)
            fail_at(d, WEFT_EMALFORMED, at, "invalid core extern type");
        const uint8_t *iat = d->p;
        uint32_t i = rd_u32(d);
        if (i >= d->scope->core_types.n || !d->scope->core_types.v[i].mt)
            fail_at(d, WEFT_EINVALID, iat, "core type %u is not a module type", i);
        *out_cm = d->scope->core_types.v[i].mt;
        e->sort = WEFT_CSORT_CORE_MODULE;
        break;
    }
    case 0x01:
        e->sort = WEFT_CSORT_FUNC;
        e->type = rd_typeidx_of(d, WEFT_CT_FUNC, "function");
        break;
    case 0x02:
        fail_at(d, WEFT_EINVALID, at, "values are not supported");
    case 0x03: {
        e->sort = WEFT_CSORT_TYPE;
        uint8_t b = rd_u8(d);
        if (b == 0x00) {
            const uint8_t *iat = d->p;
            e->type = type_at(d, rd_u32(d), iat);
        } else if (b == 0x01) {
            weft_ctype_t *r = new_type(d, WEFT_CT_RESOURCE);
            r->id = d->c->next_resource_id++; /* fresh abstract resource */
            e->type = r;
        } else {
            fail_at(d, WEFT_EMALFORMED, d->p - 1, "invalid type bound 0x%02x", b);
        }
        break;
    }
    case 0x04:
        e->sort = WEFT_CSORT_COMPONENT;
        e->type = rd_typeidx_of(d, WEFT_CT_COMPONENT, "component");
        break;
    case 0x05:
        e->sort = WEFT_CSORT_INSTANCE;
        e->type = rd_typeidx_of(d, WEFT_CT_INSTANCE, "instance");
        break;
    default:
        fail_at(d, WEFT_EMALFORMED, at, "invalid extern type 0x%02x", k);
    }
}

/* Imports or exports of one scope: each new name is compared with all the
 * earlier ones, so the count is bounded to keep that O(n^2) small (real
 * components have a few hundred at most). */
#define MAX_EXTERNS 10000

static void check_new_name(dec_t *d, const weft_cextern_t *v, uint32_t n, const char *name,
                           const char *what, const uint8_t *at)
{
    if (n >= MAX_EXTERNS)
        fail_at(d, WEFT_ELIMIT, at, "more than %d %ss in one scope", MAX_EXTERNS, what);
    for (uint32_t i = 0; i < n; i++)
        if (strcasecmp(v[i].name, name) == 0)
            fail_at(d, WEFT_EINVALID, at, "%s name '%s' is not unique", what, name);
}

/* importdecl / import: name + externtype */
static void rd_import(dec_t *d)
{
    const uint8_t *at = d->p;
    weft_cextern_t e = {0};
    const coremod_t *cm;
    e.name = rd_extern_name(d, &e.name_len);
    check_new_name(d, d->scope->imports.v, d->scope->imports.n, e.name, "import", at);
    rd_externtype(d, &e, &cm);
    PUSH(d, d->scope->imports, e);
    push_sort(d, e.sort, e.type, cm);
    cinit_t *in = record(d, INIT_IMPORT);
    if (in) {
        in->name = e.name;
        in->sort = (int)e.sort;
        in->type = e.type;
    }
}

/* exportdecl of an instance or component type */
static void rd_exportdecl(dec_t *d)
{
    const uint8_t *at = d->p;
    weft_cextern_t e = {0};
    const coremod_t *cm;
    e.name = rd_extern_name(d, &e.name_len);
    check_new_name(d, d->scope->exports.v, d->scope->exports.n, e.name, "export", at);
    rd_externtype(d, &e, &cm);
    if (e.type && e.type->has_borrow)
        fail_at(d, WEFT_EINVALID, at, "an exported type may not contain a borrow");
    PUSH(d, d->scope->exports, e);
    push_sort(d, e.sort, e.type, cm);
}

/* ---- aliases ---------------------------------------------------------------------- */

/* sort ::= 0x00 core:sort | 0x01 func | ... ; returns the component sort,
 * or 0x100 + the core sort */
static int rd_sort(dec_t *d)
{
    const uint8_t *at = d->p;
    uint8_t s = rd_u8(d);
    if (s == 0x00) {
        uint8_t cs = rd_u8(d);
        if (cs > 0x04 && (cs < 0x10 || cs > 0x12))
            fail_at(d, WEFT_EMALFORMED, at, "invalid core sort 0x%02x", cs);
        return 0x100 + cs;
    }
    if (s > 0x05)
        fail_at(d, WEFT_EMALFORMED, at, "invalid sort 0x%02x", s);
    static const weft_csort_t map[] = {0, WEFT_CSORT_FUNC, WEFT_CSORT_VALUE, WEFT_CSORT_TYPE,
                                       WEFT_CSORT_COMPONENT, WEFT_CSORT_INSTANCE};
    return (int)map[s];
}

static const coredecl_t *core_export(const coreinst_t *ci, const char *name)
{
    for (uint32_t i = 0; i < ci->nexports; i++)
        if (strcmp(ci->exports[i].name, name) == 0)
            return &ci->exports[i];
    return NULL;
}

static void push_core(dec_t *d, int cs, const weft_functype_t *ft)
{
    scope_t *s = d->scope;
    switch (cs) {
    case 0x00: PUSH(d, s->core_funcs, ft); break;
    case 0x01: s->core_tables++; break;
    case 0x02: s->core_memories++; break;
    case 0x03: s->core_globals++; break;
    case 0x04: s->core_tags++; break;
    }
}

static void rd_alias(dec_t *d, int in_type)
{
    const uint8_t *at = d->p;
    int sort = rd_sort(d);
    uint8_t tag = rd_u8(d);
    scope_t *s = d->scope;
    if (tag == 0x00) { /* export of a component instance */
        uint32_t i = rd_u32(d);
        const char *name = rd_name(d, NULL);
        if (i >= s->instances.n)
            fail_at(d, WEFT_EINVALID, at, "unknown instance %u", i);
        if (sort >= 0x100)
            fail_at(d, WEFT_EINVALID, at, "a core sort cannot be aliased from an instance");
        if (in_type && sort != WEFT_CSORT_INSTANCE && sort != WEFT_CSORT_TYPE)
            fail_at(d, WEFT_EINVALID, at, "a type declaration may only alias instances and types");
        const weft_ctype_t *it = s->instances.v[i];
        for (uint32_t k = 0; k < it->nexports; k++) {
            const weft_cextern_t *e = &it->exports[k];
            if (strcmp(e->name, name) != 0)
                continue;
            if ((int)e->sort != sort)
                fail_at(d, WEFT_EINVALID, at, "export '%s' of instance %u is a %s, not a %s", name,
                        i, weft_csort_name(e->sort), weft_csort_name((weft_csort_t)sort));
            if (sort == WEFT_CSORT_CORE_MODULE)
                fail_at(d, WEFT_EINVALID, at, "aliasing a core module export is not supported");
            push_sort(d, e->sort, e->type, NULL);
            cinit_t *in = record(d, INIT_ALIAS_EXPORT);
            if (in) {
                in->idx = i;
                in->name = name;
                in->sort = sort;
            }
            return;
        }
        fail_at(d, WEFT_EINVALID, at, "instance %u has no export '%s'", i, name);
    }
    if (tag == 0x01) { /* export of a core instance */
        uint32_t i = rd_u32(d);
        const char *name = rd_name(d, NULL);
        if (in_type)
            fail_at(d, WEFT_EINVALID, at, "a type declaration cannot alias a core export");
        if (sort < 0x100 || sort > 0x104)
            fail_at(d, WEFT_EINVALID, at, "a core export alias needs a core sort");
        if (i >= s->core_instances.n)
            fail_at(d, WEFT_EINVALID, at, "unknown core instance %u", i);
        const coredecl_t *e = core_export(s->core_instances.v[i], name);
        if (!e)
            fail_at(d, WEFT_EINVALID, at, "core instance %u has no export '%s'", i, name);
        if (e->kind != sort - 0x100)
            fail_at(d, WEFT_EINVALID, at, "export '%s' of core instance %u has another kind", name, i);
        push_core(d, sort - 0x100, e->ft);
        cinit_t *in = record(d, INIT_ALIAS_CORE_EXPORT);
        if (in) {
            in->idx = i;
            in->name = name;
            in->sort = sort - 0x100;
        }
        return;
    }
    if (tag == 0x02) { /* outer */
        uint32_t ct = rd_u32(d), idx = rd_u32(d);
        scope_t *o = s;
        int crossed_component = 0;
        for (uint32_t k = 0; k < ct && o; k++) {
            if (!o->is_type)
                crossed_component = 1;
            o = o->parent;
        }
        if (!o)
            fail_at(d, WEFT_EINVALID, at, "outer alias count %u past the outermost scope", ct);
        switch (sort) {
        case WEFT_CSORT_TYPE:
            if (idx >= o->types.n)
                fail_at(d, WEFT_EINVALID, at, "unknown outer type %u", idx);
            if (crossed_component && o->types.v[idx]->kind == WEFT_CT_RESOURCE)
                fail_at(d, WEFT_EINVALID, at, "an outer alias may not refer to a resource of another component");
            PUSH(d, s->types, o->types.v[idx]);
            return;
        case 0x110:
            if (idx >= o->core_types.n)
                fail_at(d, WEFT_EINVALID, at, "unknown outer core type %u", idx);
            PUSH(d, s->core_types, o->core_types.v[idx]);
            return;
        case 0x111:
            if (in_type)
                break;
            if (idx >= o->core_modules.n)
                fail_at(d, WEFT_EINVALID, at, "unknown outer core module %u", idx);
            PUSH(d, s->core_modules, o->core_modules.v[idx]);
            record(d, INIT_ALIAS_OTHER);
            return;
        case WEFT_CSORT_COMPONENT:
            if (in_type)
                break;
            if (idx >= o->components.n)
                fail_at(d, WEFT_EINVALID, at, "unknown outer component %u", idx);
            PUSH(d, s->components, o->components.v[idx]);
            cinit_t *in = record(d, INIT_ALIAS_COMPONENT);
            if (in)
                in->type = o->components.v[idx];
            return;
        default:
            break;
        }
        fail_at(d, WEFT_EINVALID, at, "this sort cannot be an outer alias");
    }
    fail_at(d, WEFT_EMALFORMED, at, "invalid alias target 0x%02x", tag);
}

/* ---- instance and component types ------------------------------------------------ */

static weft_cextern_t *copy_externs(dec_t *d, const weft_cextern_t *v, uint32_t n)
{
    weft_cextern_t *out = alloc(d, ((size_t)n + 1) * sizeof *out);
    if (n)
        memcpy(out, v, n * sizeof *v);
    return out;
}

static const weft_ctype_t *rd_decls(dec_t *d, uint8_t kind, const uint8_t *at)
{
    scope_t *s = scope_push(d, 1);
    uint32_t n = rd_count(d, 1);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *dat = d->p;
        uint8_t k = rd_u8(d);
        switch (k) {
        case 0x00:
            rd_core_type(d);
            if (s->core_types.v[s->core_types.n - 1].ft)
                fail_at(d, WEFT_EINVALID, dat, "only module types may be declared here");
            break;
        case 0x01: {
            const weft_ctype_t *t = rd_deftype(d);
            PUSH(d, s->types, t);
            break;
        }
        case 0x02:
            rd_alias(d, 1);
            break;
        case 0x03:
            if (kind != WEFT_CT_COMPONENT)
                fail_at(d, WEFT_EINVALID, dat, "an instance type cannot declare imports");
            rd_import(d);
            break;
        case 0x04:
            rd_exportdecl(d);
            break;
        default:
            fail_at(d, WEFT_EMALFORMED, dat, "invalid declarator 0x%02x", k);
        }
    }
    weft_ctype_t *t = new_type(d, kind);
    t->nexports = s->exports.n;
    t->exports = copy_externs(d, s->exports.v, s->exports.n);
    t->nimports = s->imports.n;
    t->imports = copy_externs(d, s->imports.v, s->imports.n);
    (void)at;
    scope_leave(d);
    return t;
}

/* ---- canonical definitions -------------------------------------------------------- */

typedef struct {
    int has_enc, has_memory, has_realloc, has_post;
    uint32_t memory, realloc, post;
    const uint8_t *at;
} opts_t;

static void rd_opts(dec_t *d, opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->at = d->p;
    uint32_t n = rd_count(d, 1);
    scope_t *s = d->scope;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *at = d->p;
        uint8_t k = rd_u8(d);
        switch (k) {
        case 0x00:
        case 0x01:
        case 0x02:
            if (o->has_enc)
                fail_at(d, WEFT_EINVALID, at, "string-encoding given twice");
            o->has_enc = 1;
            if (k != 0x00)
                fail_at(d, WEFT_EINVALID, at, "string-encoding=%s is not supported (only utf8)",
                        k == 0x01 ? "utf16" : "latin1+utf16");
            break;
        case 0x03: {
            if (o->has_memory)
                fail_at(d, WEFT_EINVALID, at, "memory given twice");
            uint32_t m = rd_u32(d);
            if (m >= s->core_memories)
                fail_at(d, WEFT_EINVALID, at, "unknown core memory %u", m);
            o->has_memory = 1;
            o->memory = m;
            break;
        }
        case 0x04: {
            if (o->has_realloc)
                fail_at(d, WEFT_EINVALID, at, "realloc given twice");
            uint32_t f = rd_u32(d);
            if (f >= s->core_funcs.n)
                fail_at(d, WEFT_EINVALID, at, "unknown core function %u", f);
            const weft_functype_t *ft = s->core_funcs.v[f];
            int ok = weft_functype_nparams(ft) == 4 && weft_functype_nresults(ft) == 1 &&
                     weft_functype_result(ft, 0) == WEFT_I32;
            for (size_t p = 0; ok && p < 4; p++)
                ok = weft_functype_param(ft, p) == WEFT_I32;
            if (!ok)
                fail_at(d, WEFT_EINVALID, at, "realloc must have type (i32, i32, i32, i32) -> i32");
            o->has_realloc = 1;
            o->realloc = f;
            break;
        }
        case 0x05: {
            if (o->has_post)
                fail_at(d, WEFT_EINVALID, at, "post-return given twice");
            o->post = rd_u32(d);
            if (o->post >= s->core_funcs.n)
                fail_at(d, WEFT_EINVALID, at, "unknown core function %u", o->post);
            o->has_post = 1;
            break;
        }
        case 0x06:
        case 0x07:
            fail_at(d, WEFT_EINVALID, at, "async canonical options are not supported");
        default:
            fail_at(d, WEFT_EMALFORMED, at, "invalid canonical option 0x%02x", k);
        }
    }
    if (o->has_realloc && !o->has_memory)
        fail_at(d, WEFT_EINVALID, o->at, "realloc without memory");
}

/* flatten_functype(opts, ft, lift|lower) as a core function type. */
static const weft_functype_t *flat_functype(dec_t *d, const weft_ctype_t *ft, int lift,
                                            int *params_overflow, int *results_overflow)
{
    weft_valtype_t ps[WEFT_CANON_MAX_FLAT_PARAMS + 1], rs[1];
    size_t np = 0, nr = 0;
    uint64_t total = 0;
    for (uint32_t i = 0; i < ft->n; i++) {
        const weft_ctype_t *t = ft->fields[i].type;
        for (uint32_t k = 0; k < t->nflat && np <= WEFT_CANON_MAX_FLAT_PARAMS; k++)
            ps[np++] = (weft_valtype_t)(k < CT_FLAT_CAP ? t->flat[k] : WEFT_I32);
        total += t->nflat;
    }
    *params_overflow = total > WEFT_CANON_MAX_FLAT_PARAMS;
    if (*params_overflow) {
        ps[0] = WEFT_I32;
        np = 1;
    }
    *results_overflow = 0;
    if (ft->has_result) {
        if (ft->a->nflat > WEFT_CANON_MAX_FLAT_RESULTS) {
            *results_overflow = 1;
            if (lift) {
                rs[0] = WEFT_I32;
                nr = 1;
            } else {
                ps[np++] = WEFT_I32;
            }
        } else if (ft->a->nflat == 1) {
            rs[0] = (weft_valtype_t)ft->a->flat[0];
            nr = 1;
        }
    }
    return keep_functype(d, weft_functype_new(ps, np, rs, nr));
}

static void print_functype(char *buf, size_t size, const weft_functype_t *ft)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, size - n, "(");
    for (size_t i = 0; i < weft_functype_nparams(ft) && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "",
                              weft_valtype_name(weft_functype_param(ft, i)));
    if (n < size)
        n += (size_t)snprintf(buf + n, size - n, ") -> (");
    for (size_t i = 0; i < weft_functype_nresults(ft) && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "",
                              weft_valtype_name(weft_functype_result(ft, i)));
    if (n < size)
        snprintf(buf + n, size - n, ")");
}

static void check_core_type(dec_t *d, const weft_functype_t *have, const weft_functype_t *want,
                            const char *what, const uint8_t *at)
{
    if (weft_functype_equal(have, want))
        return;
    char h[160], w[160];
    print_functype(h, sizeof h, have);
    print_functype(w, sizeof w, want);
    fail_at(d, WEFT_EINVALID, at, "%s has type %s, the canonical ABI needs %s", what, h, w);
}

static int params_have_ptr(const weft_ctype_t *ft)
{
    for (uint32_t i = 0; i < ft->n; i++)
        if (ft->fields[i].type->has_ptr)
            return 1;
    return 0;
}

static const weft_ctype_t *resource_at(dec_t *d)
{
    const uint8_t *at = d->p;
    uint32_t i = rd_u32(d);
    const weft_ctype_t *t = type_at(d, i, at);
    if (t->kind != WEFT_CT_RESOURCE)
        fail_at(d, WEFT_EINVALID, at, "type %u is not a resource", i);
    return t;
}

static void record_opts(cinit_t *in, const opts_t *o)
{
    in->memory = o->has_memory ? (int32_t)o->memory : -1;
    in->realloc = o->has_realloc ? (int32_t)o->realloc : -1;
    in->post = o->has_post ? (int32_t)o->post : -1;
}

static void rd_canon(dec_t *d)
{
    cinit_t *in;
    const uint8_t *at = d->p;
    uint8_t op = rd_u8(d);
    scope_t *s = d->scope;
    opts_t o;
    int pov, rov;
    weft_valtype_t i32 = WEFT_I32;
    switch (op) {
    case 0x00: { /* lift */
        if (rd_u8(d) != 0x00)
            fail_at(d, WEFT_EMALFORMED, d->p - 1, "invalid canon lift");
        const uint8_t *fat = d->p;
        uint32_t f = rd_u32(d);
        if (f >= s->core_funcs.n)
            fail_at(d, WEFT_EINVALID, fat, "unknown core function %u", f);
        rd_opts(d, &o);
        const weft_ctype_t *ft = rd_typeidx_of(d, WEFT_CT_FUNC, "function");
        const weft_functype_t *want = flat_functype(d, ft, 1, &pov, &rov);
        check_core_type(d, s->core_funcs.v[f], want, "the lifted core function", fat);
        int res_ptr = ft->has_result && ft->a->has_ptr;
        if ((params_have_ptr(ft) || pov) && !o.has_realloc)
            fail_at(d, WEFT_EINVALID, o.at, "canon lift of this type needs realloc");
        if ((params_have_ptr(ft) || res_ptr || rov) && !o.has_memory)
            fail_at(d, WEFT_EINVALID, o.at, "canon lift of this type needs memory");
        if (o.has_post) {
            size_t nr = weft_functype_nresults(want);
            weft_valtype_t r0 = nr ? weft_functype_result(want, 0) : WEFT_I32;
            const weft_functype_t *pt = keep_functype(d, weft_functype_new(&r0, nr, NULL, 0));
            check_core_type(d, s->core_funcs.v[o.post], pt, "post-return", o.at);
        }
        PUSH(d, s->funcs, ft);
        if ((in = record(d, INIT_CANON_LIFT))) {
            in->idx = f;
            in->type = ft;
            record_opts(in, &o);
        }
        break;
    }
    case 0x01: { /* lower */
        if (rd_u8(d) != 0x00)
            fail_at(d, WEFT_EMALFORMED, d->p - 1, "invalid canon lower");
        const uint8_t *fat = d->p;
        uint32_t f = rd_u32(d);
        if (f >= s->funcs.n)
            fail_at(d, WEFT_EINVALID, fat, "unknown function %u", f);
        rd_opts(d, &o);
        if (o.has_post)
            fail_at(d, WEFT_EINVALID, o.at, "post-return is only allowed on canon lift");
        const weft_ctype_t *ft = s->funcs.v[f];
        const weft_functype_t *core = flat_functype(d, ft, 0, &pov, &rov);
        int res_ptr = ft->has_result && ft->a->has_ptr;
        if ((params_have_ptr(ft) || pov || rov || res_ptr) && !o.has_memory)
            fail_at(d, WEFT_EINVALID, o.at, "canon lower of this type needs memory");
        if (res_ptr && !o.has_realloc)
            fail_at(d, WEFT_EINVALID, o.at, "canon lower of this type needs realloc");
        PUSH(d, s->core_funcs, core);
        if ((in = record(d, INIT_CANON_LOWER))) {
            in->idx = f;
            in->type = ft;
            record_opts(in, &o);
        }
        break;
    }
    case 0x02: { /* resource.new */
        const uint8_t *rat = d->p;
        const weft_ctype_t *r = resource_at(d);
        if (!r->local)
            fail_at(d, WEFT_EINVALID, rat, "resource.new of a resource not defined here");
        PUSH(d, s->core_funcs, keep_functype(d, weft_functype_new(&i32, 1, &i32, 1)));
        if ((in = record(d, INIT_RESOURCE_NEW)))
            in->type = r;
        break;
    }
    case 0x03: { /* resource.drop */
        const weft_ctype_t *r = resource_at(d);
        PUSH(d, s->core_funcs, keep_functype(d, weft_functype_new(&i32, 1, NULL, 0)));
        if ((in = record(d, INIT_RESOURCE_DROP)))
            in->type = r;
        break;
    }
    case 0x04: { /* resource.rep */
        const uint8_t *rat = d->p;
        const weft_ctype_t *r = resource_at(d);
        if (!r->local)
            fail_at(d, WEFT_EINVALID, rat, "resource.rep of a resource not defined here");
        PUSH(d, s->core_funcs, keep_functype(d, weft_functype_new(&i32, 1, &i32, 1)));
        if ((in = record(d, INIT_RESOURCE_REP)))
            in->type = r;
        break;
    }
    default:
        if (op <= 0x2d || (op >= 0x40 && op <= 0x42))
            fail_at(d, WEFT_EINVALID, at, "canonical built-in 0x%02x (async, threads, streams) is not supported", op);
        fail_at(d, WEFT_EMALFORMED, at, "invalid canonical definition 0x%02x", op);
    }
}

/* ---- instances ------------------------------------------------------------------------ */

static void rd_core_instance(dec_t *d)
{
    const uint8_t *at = d->p;
    uint8_t k = rd_u8(d);
    scope_t *s = d->scope;
    coreinst_t *ci = alloc(d, sizeof *ci);
    if (k == 0x00) {
        const uint8_t *mat = d->p;
        uint32_t m = rd_u32(d);
        if (m >= s->core_modules.n)
            fail_at(d, WEFT_EINVALID, mat, "unknown core module %u", m);
        const coremod_t *cm = s->core_modules.v[m];
        uint32_t n = rd_count(d, 3);
        const char **names = alloc(d, ((size_t)n + 1) * sizeof *names);
        const coreinst_t **args = alloc(d, ((size_t)n + 1) * sizeof *args);
        uint32_t *argidx = alloc(d, ((size_t)n + 1) * sizeof *argidx);
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *aat = d->p;
            names[i] = rd_name(d, NULL);
            if (rd_u8(d) != 0x12)
                fail_at(d, WEFT_EINVALID, aat, "a core instantiation argument must be an instance");
            uint32_t j = rd_u32(d);
            if (j >= s->core_instances.n)
                fail_at(d, WEFT_EINVALID, aat, "unknown core instance %u", j);
            for (uint32_t q = 0; q < i; q++)
                if (strcmp(names[q], names[i]) == 0)
                    fail_at(d, WEFT_EINVALID, aat, "argument '%s' given twice", names[i]);
            args[i] = s->core_instances.v[j];
            argidx[i] = j;
        }
        for (uint32_t i = 0; i < cm->nimports; i++) {
            const coredecl_t *im = &cm->imports[i];
            const coreinst_t *arg = NULL;
            for (uint32_t q = 0; q < n && !arg; q++)
                if (strcmp(names[q], im->mod) == 0)
                    arg = args[q];
            if (!arg)
                fail_at(d, WEFT_EINVALID, at, "core module %u imports '%s' but no argument has that name",
                        m, im->mod);
            const coredecl_t *e = core_export(arg, im->name);
            if (!e)
                fail_at(d, WEFT_EINVALID, at, "core import %s.%s: the argument has no such export",
                        im->mod, im->name);
            if (e->kind != im->kind)
                fail_at(d, WEFT_EINVALID, at, "core import %s.%s: the export has another kind",
                        im->mod, im->name);
            if (im->kind == 0 && !weft_functype_equal(e->ft, im->ft)) {
                char h[160], w[160];
                print_functype(h, sizeof h, e->ft);
                print_functype(w, sizeof w, im->ft);
                fail_at(d, WEFT_EINVALID, at, "core import %s.%s has type %s, the argument gives %s",
                        im->mod, im->name, w, h);
            }
        }
        ci->exports = cm->exports;
        ci->nexports = cm->nexports;
        cinit_t *in = record(d, INIT_CORE_INSTANTIATE);
        if (in) {
            in->idx = m;
            in->nargs = n;
            in->args = alloc(d, ((size_t)n + 1) * sizeof *in->args);
            for (uint32_t i = 0; i < n; i++) {
                in->args[i].name = names[i];
                in->args[i].idx = argidx[i];
            }
        }
    } else if (k == 0x01) {
        uint32_t n = rd_count(d, 3);
        coredecl_t *ex = alloc(d, ((size_t)n + 1) * sizeof *ex);
        uint32_t *exidx = alloc(d, ((size_t)n + 1) * sizeof *exidx);
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *eat = d->p;
            ex[i].name = rd_name(d, NULL);
            uint8_t cs = rd_u8(d);
            uint32_t idx = rd_u32(d);
            exidx[i] = idx;
            uint32_t limit;
            switch (cs) {
            case 0x00: limit = s->core_funcs.n; break;
            case 0x01: limit = s->core_tables; break;
            case 0x02: limit = s->core_memories; break;
            case 0x03: limit = s->core_globals; break;
            case 0x04: limit = s->core_tags; break;
            default: fail_at(d, WEFT_EINVALID, eat, "a core instance cannot export sort 0x%02x", cs);
            }
            if (idx >= limit)
                fail_at(d, WEFT_EINVALID, eat, "unknown core item %u of sort 0x%02x", idx, cs);
            for (uint32_t q = 0; q < i; q++)
                if (strcmp(ex[q].name, ex[i].name) == 0)
                    fail_at(d, WEFT_EINVALID, eat, "core export '%s' given twice", ex[i].name);
            ex[i].kind = cs;
            ex[i].ft = cs == 0 ? s->core_funcs.v[idx] : NULL;
        }
        ci->exports = ex;
        ci->nexports = n;
        cinit_t *in = record(d, INIT_CORE_INLINE);
        if (in) {
            in->nargs = n;
            in->args = alloc(d, ((size_t)n + 1) * sizeof *in->args);
            for (uint32_t i = 0; i < n; i++) {
                in->args[i].name = ex[i].name;
                in->args[i].sort = 0x100 + ex[i].kind;
                in->args[i].idx = exidx[i];
            }
        }
    } else {
        fail_at(d, WEFT_EMALFORMED, at, "invalid core instance 0x%02x", k);
    }
    PUSH(d, s->core_instances, ci);
}

/* The type of item `idx` of `sort` in the current scope. */
static const weft_ctype_t *sort_type(dec_t *d, int sort, uint32_t idx, const uint8_t *at)
{
    scope_t *s = d->scope;
    switch (sort) {
    case WEFT_CSORT_FUNC:
        if (idx < s->funcs.n) return s->funcs.v[idx];
        break;
    case WEFT_CSORT_TYPE:
        if (idx < s->types.n) return s->types.v[idx];
        break;
    case WEFT_CSORT_COMPONENT:
        if (idx < s->components.n) return s->components.v[idx];
        break;
    case WEFT_CSORT_INSTANCE:
        if (idx < s->instances.n) return s->instances.v[idx];
        break;
    case 0x111: /* core module */
        if (idx < s->core_modules.n) return NULL;
        break;
    case WEFT_CSORT_VALUE:
        fail_at(d, WEFT_EINVALID, at, "values are not supported");
    default:
        fail_at(d, WEFT_EINVALID, at, "this sort cannot be used here");
    }
    fail_at(d, WEFT_EINVALID, at, "unknown %s %u", sort == 0x111 ? "core module"
            : weft_csort_name((weft_csort_t)sort), idx);
}

static weft_csort_t csort(int sort) { return sort == 0x111 ? WEFT_CSORT_CORE_MODULE : (weft_csort_t)sort; }

static void rd_instance(dec_t *d)
{
    const uint8_t *at = d->p;
    uint8_t k = rd_u8(d);
    scope_t *s = d->scope;
    weft_ctype_t *it = new_type(d, WEFT_CT_INSTANCE);
    if (k == 0x00) {
        const uint8_t *cat = d->p;
        uint32_t ci = rd_u32(d);
        if (ci >= s->components.n)
            fail_at(d, WEFT_EINVALID, cat, "unknown component %u", ci);
        const weft_ctype_t *ct = s->components.v[ci];
        uint32_t n = rd_count(d, 3);
        weft_cextern_t *args = alloc(d, ((size_t)n + 1) * sizeof *args);
        int *argsort = alloc(d, ((size_t)n + 1) * sizeof *argsort);
        uint32_t *argidx = alloc(d, ((size_t)n + 1) * sizeof *argidx);
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *aat = d->p;
            args[i].name = rd_name(d, &args[i].name_len);
            int sort = rd_sort(d);
            if (sort >= 0x100 && sort != 0x111)
                fail_at(d, WEFT_EINVALID, aat, "a core item cannot be an instantiation argument");
            const uint8_t *iat = d->p;
            argsort[i] = sort;
            argidx[i] = rd_u32(d);
            args[i].type = sort_type(d, sort, argidx[i], iat);
            args[i].sort = csort(sort);
            for (uint32_t q = 0; q < i; q++)
                if (strcmp(args[q].name, args[i].name) == 0)
                    fail_at(d, WEFT_EINVALID, aat, "argument '%s' given twice", args[i].name);
        }
        /* the type imports supplied: abstract resources of ct stand for the
         * arguments' types from here on */
        uint32_t *from = alloc(d, ((size_t)ct->nimports + 1) * sizeof *from);
        const weft_ctype_t **to = alloc(d, ((size_t)ct->nimports + 1) * sizeof *to);
        size_t nsub = 0;
        for (uint32_t i = 0; i < ct->nimports; i++) {
            const weft_cextern_t *im = &ct->imports[i];
            if (im->sort != WEFT_CSORT_TYPE || im->type->kind != WEFT_CT_RESOURCE || im->type->local)
                continue;
            for (uint32_t q = 0; q < n; q++)
                if (strcmp(args[q].name, im->name) == 0 && args[q].sort == WEFT_CSORT_TYPE) {
                    from[nsub] = im->type->id;
                    to[nsub++] = args[q].type;
                }
        }
        for (uint32_t i = 0; i < ct->nimports; i++) {
            const weft_cextern_t *im = &ct->imports[i];
            const weft_cextern_t *a = NULL;
            for (uint32_t q = 0; q < n && !a; q++)
                if (strcmp(args[q].name, im->name) == 0)
                    a = &args[q];
            if (!a)
                fail_at(d, WEFT_EINVALID, at, "component %u imports '%s' but no argument has that name",
                        ci, im->name);
            if (a->sort != im->sort)
                fail_at(d, WEFT_EINVALID, at, "argument '%s' is a %s, the import a %s", im->name,
                        weft_csort_name(a->sort), weft_csort_name(im->sort));
            if (im->sort == WEFT_CSORT_FUNC && !ct_equal_subst(a->type, im->type, from, to, nsub))
                fail_at(d, WEFT_EINVALID, at, "argument '%s' has another function type", im->name);
        }
        it->exports = ct->exports;
        it->nexports = ct->nexports;
        cinit_t *in = record(d, INIT_INSTANTIATE);
        if (in) {
            in->idx = ci;
            in->nargs = n;
            in->args = alloc(d, ((size_t)n + 1) * sizeof *in->args);
            for (uint32_t i = 0; i < n; i++)
                in->args[i] = (cinit_arg_t){args[i].name, argsort[i], argidx[i]};
        }
    } else if (k == 0x01) {
        uint32_t n = rd_count(d, 3);
        weft_cextern_t *ex = alloc(d, ((size_t)n + 1) * sizeof *ex);
        int *exsort = alloc(d, ((size_t)n + 1) * sizeof *exsort);
        uint32_t *exidx = alloc(d, ((size_t)n + 1) * sizeof *exidx);
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *eat = d->p;
            ex[i].name = rd_extern_name(d, &ex[i].name_len);
            int sort = rd_sort(d);
            if (sort >= 0x100 && sort != 0x111)
                fail_at(d, WEFT_EINVALID, eat, "a component instance cannot export a core %s",
                        "item other than a module");
            const uint8_t *iat = d->p;
            uint32_t idx = rd_u32(d);
            ex[i].type = sort_type(d, sort, idx, iat);
            ex[i].sort = csort(sort);
            exsort[i] = sort;
            exidx[i] = idx;
            for (uint32_t q = 0; q < i; q++)
                if (strcasecmp(ex[q].name, ex[i].name) == 0)
                    fail_at(d, WEFT_EINVALID, eat, "export '%s' given twice", ex[i].name);
        }
        it->exports = ex;
        it->nexports = n;
        cinit_t *in = record(d, INIT_INSTANCE_INLINE);
        if (in) {
            in->nargs = n;
            in->args = alloc(d, ((size_t)n + 1) * sizeof *in->args);
            for (uint32_t i = 0; i < n; i++)
                in->args[i] = (cinit_arg_t){ex[i].name, exsort[i], exidx[i]};
        }
    } else {
        fail_at(d, WEFT_EMALFORMED, at, "invalid instance 0x%02x", k);
    }
    PUSH(d, s->instances, it);
}

static void rd_export(dec_t *d)
{
    const uint8_t *at = d->p;
    scope_t *s = d->scope;
    weft_cextern_t e = {0};
    e.name = rd_extern_name(d, &e.name_len);
    check_new_name(d, s->exports.v, s->exports.n, e.name, "export", at);
    int sort = rd_sort(d);
    if (sort >= 0x100 && sort != 0x111)
        fail_at(d, WEFT_EINVALID, at, "a component cannot export a core item other than a module");
    const uint8_t *iat = d->p;
    uint32_t idx = rd_u32(d);
    e.type = sort_type(d, sort, idx, iat);
    e.sort = csort(sort);
    const coremod_t *cm = sort == 0x111 ? s->core_modules.v[idx] : NULL;
    uint8_t has = rd_u8(d);
    if (has == 0x01) {
        weft_cextern_t asc = {0};
        const coremod_t *acm;
        const uint8_t *tat = d->p;
        rd_externtype(d, &asc, &acm);
        if (asc.sort != e.sort)
            fail_at(d, WEFT_EINVALID, tat, "export '%s' is a %s, its type says %s", e.name,
                    weft_csort_name(e.sort), weft_csort_name(asc.sort));
        if (e.sort == WEFT_CSORT_FUNC && !ct_equal(asc.type, e.type))
            fail_at(d, WEFT_EINVALID, tat, "export '%s' does not have the function type given", e.name);
        if (e.sort == WEFT_CSORT_TYPE && asc.type->kind == WEFT_CT_RESOURCE && !asc.type->local &&
            e.type->kind != WEFT_CT_RESOURCE)
            fail_at(d, WEFT_EINVALID, tat, "export '%s' is not a resource", e.name);
        if (e.sort == WEFT_CSORT_TYPE && asc.type->kind == WEFT_CT_RESOURCE)
            asc.type = e.type; /* (sub resource): the same resource, seen from outside */
        if (e.sort != WEFT_CSORT_CORE_MODULE)
            e.type = asc.type;
    } else if (has != 0x00) {
        fail_at(d, WEFT_EMALFORMED, d->p - 1, "invalid optional flag 0x%02x", has);
    }
    if (e.type && e.sort == WEFT_CSORT_TYPE && e.type->has_borrow)
        fail_at(d, WEFT_EINVALID, at, "an exported type may not contain a borrow");
    PUSH(d, s->exports, e);
    push_sort(d, e.sort, e.type, cm);
    cinit_t *in = record(d, INIT_EXPORT);
    if (in) {
        in->name = e.name;
        in->sort = sort;
        in->idx = idx;
    }
}

/* ---- core modules and the section loop ------------------------------------------------ */

static void rd_core_module(dec_t *d, const uint8_t *start, size_t len)
{
    weft_component_t *c = d->c;
    char msg[400];
    weft_module_t *m = NULL;
    if (c->nmodules == c->cap_modules) {
        size_t nc = c->cap_modules ? c->cap_modules * 2 : 4;
        weft_module_t **nv = realloc(c->modules, nc * sizeof *nv);
        if (!nv)
            fail_at(d, WEFT_ENOMEM, start, "out of memory");
        c->modules = nv;
        c->cap_modules = nc;
    }
    msg[0] = '\0';
    int rc = weft_module_new(d->engine, start, len, &m, msg, sizeof msg);
    if (rc != 0)
        fail_at(d, rc, start, "core module %zu (its offsets from 0x%zx): %s", c->stats.core_modules,
                (size_t)(start - d->base), msg[0] ? msg : weft_strerror(rc));
    c->modules[c->nmodules++] = m;
    coremod_t *cm = alloc(d, sizeof *cm);
    cm->nimports = (uint32_t)weft_module_import_count(m);
    cm->nexports = (uint32_t)weft_module_export_count(m);
    cm->imports = alloc(d, ((size_t)cm->nimports + 1) * sizeof *cm->imports);
    cm->exports = alloc(d, ((size_t)cm->nexports + 1) * sizeof *cm->exports);
    for (uint32_t i = 0; i < cm->nimports; i++) {
        weft_externdesc_t e;
        weft_module_import(m, i, &e);
        cm->imports[i] = (coredecl_t){e.module, e.name, (uint8_t)e.kind, e.functype};
    }
    for (uint32_t i = 0; i < cm->nexports; i++) {
        weft_externdesc_t e;
        weft_module_export(m, i, &e);
        cm->exports[i] = (coredecl_t){NULL, e.name, (uint8_t)e.kind, e.functype};
    }
    PUSH(d, d->scope->core_modules, (const coremod_t *)cm);
    cinit_t *in = record(d, INIT_CORE_MODULE);
    if (in)
        in->idx = (uint32_t)(c->nmodules - 1);
}

static const char *const section_names[] = {
    "custom", "core module", "core instance", "core type", "component", "instance",
    "alias",  "type",        "canon",         "start",     "import",    "export", "value"};

static void rd_preamble(dec_t *d)
{
    static const uint8_t pre[8] = {0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00};
    const uint8_t *at = d->p;
    if ((size_t)(d->end - d->p) < 8 || memcmp(d->p, pre, 4) != 0)
        fail_at(d, WEFT_EMALFORMED, at, "magic header not detected");
    if (memcmp(d->p + 4, pre + 4, 4) != 0) {
        if (d->p[6] == 0 && d->p[7] == 0)
            fail_at(d, WEFT_EMALFORMED, at, "a core module, not a component");
        fail_at(d, WEFT_EMALFORMED, at, "unknown component version or layer");
    }
    d->p += 8;
}

/* Decodes one component's sections up to d->end into the current scope. */
static void rd_component_body(dec_t *d)
{
    const uint8_t *end = d->end;
    scope_t *s = d->scope;
    while (d->p < end) {
        d->section = NULL;
        const uint8_t *at = d->p;
        uint8_t id = rd_u8(d);
        if (id > 12)
            fail_at(d, WEFT_EMALFORMED, at, "unknown section id %u", id);
        d->section = section_names[id];
        uint32_t size = rd_u32(d);
        if (size > (size_t)(end - d->p))
            fail_at(d, WEFT_EMALFORMED, at, "section size past the end");
        const uint8_t *sec_end = d->p + size;
        d->end = sec_end;
        switch (id) {
        case 0:
            rd_name(d, NULL);
            d->p = sec_end; /* custom sections (names, producers) are not interpreted */
            break;
        case 1:
            rd_core_module(d, d->p, size);
            d->p = sec_end;
            d->c->stats.core_modules += s->parent == NULL;
            break;
        case 4: {
            const uint8_t *cat = d->p;
            scope_t *inner = scope_push(d, 0);
            rd_preamble(d);
            rd_component_body(d);
            d->end = sec_end;
            d->section = section_names[4];
            weft_ctype_t *ct = new_type(d, WEFT_CT_COMPONENT);
            ct->nimports = inner->imports.n;
            ct->imports = copy_externs(d, inner->imports.v, inner->imports.n);
            ct->nexports = inner->exports.n;
            ct->exports = copy_externs(d, inner->exports.v, inner->exports.n);
            cinit_t *inits = alloc(d, ((size_t)inner->inits.n + 1) * sizeof *inits);
            if (inner->inits.n)
                memcpy(inits, inner->inits.v, inner->inits.n * sizeof *inits);
            ct->inits = inits;
            ct->ninits = inner->inits.n;
            (void)cat;
            scope_leave(d);
            PUSH(d, s->components, (const weft_ctype_t *)ct);
            cinit_t *cin = record(d, INIT_COMPONENT);
            if (cin)
                cin->type = ct;
            break;
        }
        case 9:
            INVALID(d, "start functions are not supported");
        case 12:
            INVALID(d, "values are not supported");
        default: {
            uint32_t n = rd_count(d, 1);
            for (uint32_t i = 0; i < n; i++) {
                switch (id) {
                case 2: rd_core_instance(d); break;
                case 3: rd_core_type(d); break;
                case 5: rd_instance(d); break;
                case 6: rd_alias(d, 0); break;
                case 7: {
                    const weft_ctype_t *t = rd_deftype(d);
                    PUSH(d, s->types, t);
                    break;
                }
                case 8: rd_canon(d); break;
                case 10: rd_import(d); break;
                case 11: rd_export(d); break;
                }
            }
        }
        }
        if (d->p != sec_end)
            fail_at(d, WEFT_EMALFORMED, d->p, "section size mismatch");
        d->end = end;
    }
    d->section = NULL;
}

/* ---- public API ---------------------------------------------------------------------- */

int weft_is_component(const uint8_t *bytes, size_t len)
{
    static const uint8_t pre[8] = {0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00};
    return len >= 8 && memcmp(bytes, pre, 8) == 0;
}

static void free_arena(arena_blk_t *b)
{
    while (b) {
        arena_blk_t *next = b->next;
        free(b);
        b = next;
    }
}

void weft_component_delete(weft_component_t *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) > 0)
        return; /* an instance still holds it: its last one frees it */
    for (size_t i = 0; i < c->nmodules; i++)
        weft_module_delete(c->modules[i]);
    free(c->modules);
    for (size_t i = 0; i < c->nfunctypes; i++)
        weft_functype_delete(c->functypes[i]);
    free(c->functypes);
    free(c->inits);
    free_arena(c->arena);
    free(c->bytes);
    free(c);
}

int weft_component_new(weft_engine_t *engine, const uint8_t *bytes, size_t len,
                       weft_component_t **out, char *out_msg, size_t msg_size)
{
    *out = NULL;
    if (out_msg && msg_size)
        out_msg[0] = '\0';
    weft_component_t *volatile c = calloc(1, sizeof *c);
    if (!c || !(c->bytes = malloc(len ? len : 1))) {
        free(c);
        if (out_msg && msg_size)
            snprintf(out_msg, msg_size, "out of memory");
        return WEFT_ENOMEM;
    }
    memcpy(c->bytes, bytes, len);
    c->len = len;
    /* volatile: read after longjmp */
    dec_t *volatile d = calloc(1, sizeof *d);
    int rc = WEFT_ENOMEM;
    if (!d)
        goto fail;
    d->engine = engine;
    d->c = c;
    d->base = d->p = c->bytes;
    d->end = c->bytes + len;
    d->msg = out_msg;
    d->msg_size = msg_size;
    if (setjmp(d->jb)) {
        while (d->scope) {
            scope_t *s = d->scope;
            d->scope = s->parent;
            scope_free(s);
            free(s);
        }
        c->arena = d->arena;
        rc = d->code;
        goto fail;
    }
    rd_preamble(d);
    scope_t *top = scope_push(d, 0);
    rd_component_body(d);
    c->nimports = top->imports.n;
    c->imports = copy_externs(d, top->imports.v, top->imports.n);
    c->nexports = top->exports.n;
    c->exports = copy_externs(d, top->exports.v, top->exports.n);
    c->nouter_types = top->types.n;
    c->outer_types = alloc(d, (top->types.n + 1) * sizeof *c->outer_types);
    if (top->types.n)
        memcpy(c->outer_types, top->types.v, top->types.n * sizeof *top->types.v);
    c->inits = top->inits.v;
    c->ninits = top->inits.n;
    c->cap_inits = top->inits.cap;
    top->inits.v = NULL;
    c->stats.core_instances = top->core_instances.n;
    c->stats.core_funcs = top->core_funcs.n;
    c->stats.types = top->types.n;
    c->stats.funcs = top->funcs.n;
    c->stats.instances = top->instances.n;
    c->stats.components = top->components.n;
    c->stats.core_modules = top->core_modules.n;
    c->arena = d->arena;
    scope_leave(d);
    free(d);
    *out = c;
    return 0;

fail:
    if (rc == WEFT_ENOMEM && out_msg && msg_size && !out_msg[0])
        snprintf(out_msg, msg_size, "out of memory");
    free(d);
    weft_component_delete(c);
    return rc;
}

size_t weft_component_import_count(const weft_component_t *c) { return c->nimports; }
size_t weft_component_export_count(const weft_component_t *c) { return c->nexports; }

int weft_component_import(const weft_component_t *c, size_t i, weft_cextern_t *out)
{
    if (i >= c->nimports)
        return WEFT_ENOTFOUND;
    *out = c->imports[i];
    return 0;
}

int weft_component_export(const weft_component_t *c, size_t i, weft_cextern_t *out)
{
    if (i >= c->nexports)
        return WEFT_ENOTFOUND;
    *out = c->exports[i];
    return 0;
}

void weft_component_stats(const weft_component_t *c, weft_component_stats_t *out)
{
    *out = c->stats;
}

const weft_ctype_t *weft_component_type(const weft_component_t *c, uint32_t index)
{
    return index < c->nouter_types ? c->outer_types[index] : NULL;
}
