/*
 * src/component/types.c — component-level types: the primitive objects,
 * the canonical ABI layout of each type (CanonicalABI.md "Alignment",
 * "Element Size", "Flattening"), structural equality, the public accessors
 * and the WIT-like printer.
 *
 * Layout is computed once when a type is defined (ct_layout), from its
 * parts, which are always defined before it; so lift and lower never
 * recompute sizes or flattenings on the hot path.
 */
#include <stdlib.h>
#include <string.h>

#include "priv.h"

#define PRIM(k, sz, al, f)                                                           \
    {.kind = (k), .size = (sz), .align = (al), .nflat = 1, .flat = {(f)}}

static struct weft_ctype prims[] = {
    PRIM(WEFT_CT_BOOL, 1, 1, WEFT_I32),  PRIM(WEFT_CT_S8, 1, 1, WEFT_I32),
    PRIM(WEFT_CT_U8, 1, 1, WEFT_I32),    PRIM(WEFT_CT_S16, 2, 2, WEFT_I32),
    PRIM(WEFT_CT_U16, 2, 2, WEFT_I32),   PRIM(WEFT_CT_S32, 4, 4, WEFT_I32),
    PRIM(WEFT_CT_U32, 4, 4, WEFT_I32),   PRIM(WEFT_CT_S64, 8, 8, WEFT_I64),
    PRIM(WEFT_CT_U64, 8, 8, WEFT_I64),   PRIM(WEFT_CT_F32, 4, 4, WEFT_F32),
    PRIM(WEFT_CT_F64, 8, 8, WEFT_F64),   PRIM(WEFT_CT_CHAR, 4, 4, WEFT_I32),
    {.kind = WEFT_CT_STRING, .size = 8, .align = 4, .nflat = 2, .flat = {WEFT_I32, WEFT_I32},
     .has_ptr = 1},
};

int ct_is_prim(int kind) { return kind >= WEFT_CT_STRING && kind <= WEFT_CT_BOOL; }

const weft_ctype_t *ct_prim(int kind)
{
    if (!ct_is_prim(kind))
        return NULL;
    return &prims[WEFT_CT_BOOL - kind];
}

uint32_t ct_align_to(uint32_t x, uint32_t a) { return (x + a - 1) / a * a; }

uint32_t ct_disc_size(uint32_t n)
{
    if (n <= 256)
        return 1;
    if (n <= 65536)
        return 2;
    return 4;
}

uint8_t ct_join(uint8_t a, uint8_t b)
{
    if (a == b)
        return a;
    if ((a == WEFT_I32 && b == WEFT_F32) || (a == WEFT_F32 && b == WEFT_I32))
        return WEFT_I32;
    return WEFT_I64;
}

/* Appends t's flattening to dst (count *n, may pass the cap). */
static void flat_append(uint8_t *dst, uint32_t *n, const weft_ctype_t *t)
{
    for (uint32_t i = 0; i < t->nflat; i++, (*n)++)
        if (*n < CT_FLAT_CAP)
            dst[*n] = i < CT_FLAT_CAP ? t->flat[i] : WEFT_I32;
}

/* Sizes are kept below 2^28 (validation), so sums of two never wrap. */
#define CT_MAX_SIZE (1u << 28)

static int layout_fields(weft_ctype_t *t, const weft_ctype_t *const *ts, uint32_t n)
{
    uint64_t s = 0;
    uint32_t a = 1;
    for (uint32_t i = 0; i < n; i++) {
        s = ct_align_to((uint32_t)s, ts[i]->align) + (uint64_t)ts[i]->size;
        if (s >= CT_MAX_SIZE)
            return -1;
        if (ts[i]->align > a)
            a = ts[i]->align;
        flat_append(t->flat, &t->nflat, ts[i]);
        t->has_ptr |= ts[i]->has_ptr;
        t->has_borrow |= ts[i]->has_borrow;
    }
    t->align = a;
    t->size = ct_align_to((uint32_t)s, a);
    return 0;
}

/* Variant-like: n cases with payloads ts[i] (NULL: none). */
static int layout_cases(weft_ctype_t *t, const weft_ctype_t *const *ts, uint32_t n)
{
    uint32_t disc = ct_disc_size(n), maxa = 1, maxs = 0;
    uint8_t flat[CT_FLAT_CAP];
    uint32_t nflat = 0;
    for (uint32_t i = 0; i < n; i++) {
        const weft_ctype_t *c = ts[i];
        if (!c)
            continue;
        if (c->align > maxa)
            maxa = c->align;
        if (c->size > maxs)
            maxs = c->size;
        for (uint32_t j = 0; j < c->nflat; j++) {
            uint8_t f = j < CT_FLAT_CAP ? c->flat[j] : WEFT_I32;
            if (j < nflat) {
                if (j < CT_FLAT_CAP)
                    flat[j] = ct_join(flat[j], f);
            } else {
                if (j < CT_FLAT_CAP)
                    flat[j] = f;
                nflat++;
            }
        }
        t->has_ptr |= c->has_ptr;
        t->has_borrow |= c->has_borrow;
    }
    uint64_t s = ct_align_to(disc, maxa) + (uint64_t)maxs;
    t->align = disc > maxa ? disc : maxa;
    if (s >= CT_MAX_SIZE)
        return -1;
    t->size = ct_align_to((uint32_t)s, t->align);
    t->nflat = 0;
    t->flat[t->nflat++] = WEFT_I32;
    for (uint32_t j = 0; j < nflat; j++, t->nflat++)
        if (t->nflat < CT_FLAT_CAP)
            t->flat[t->nflat] = j < CT_FLAT_CAP ? flat[j] : WEFT_I32;
    return 0;
}

static uint32_t child_depth(const weft_ctype_t *t) { return t ? t->depth : 0; }

/* 1 + the deepest part of t. */
static uint32_t depth_of(const weft_ctype_t *t)
{
    uint32_t d = 0;
    switch (t->kind) {
    case WEFT_CT_RECORD:
    case WEFT_CT_TUPLE:
    case WEFT_CT_VARIANT:
        for (uint32_t i = 0; i < t->n; i++)
            if (child_depth(t->fields[i].type) > d)
                d = child_depth(t->fields[i].type);
        break;
    default:
        d = child_depth(t->a);
        if (child_depth(t->b) > d)
            d = child_depth(t->b);
    }
    return d + 1;
}

int ct_layout(weft_ctype_t *t)
{
    if ((t->depth = depth_of(t)) > CT_MAX_DEPTH)
        return -3;
    const weft_ctype_t *buf[2];
    t->nflat = 0;
    t->has_ptr = t->has_borrow = 0;
    switch (t->kind) {
    case WEFT_CT_RECORD:
    case WEFT_CT_TUPLE:
    case WEFT_CT_VARIANT: {
        /* the parts' types side by side; n is guest-chosen, so a large
         * count goes to the heap */
        enum { CHUNK = 64 };
        const weft_ctype_t *tmp[CHUNK], **ts = tmp;
        if (t->n > CHUNK && !(ts = malloc(t->n * sizeof *ts)))
            return -2;
        for (uint32_t i = 0; i < t->n; i++)
            ts[i] = t->fields[i].type;
        int rc = t->kind == WEFT_CT_VARIANT ? layout_cases(t, ts, t->n)
                                            : layout_fields(t, ts, t->n);
        if (ts != tmp)
            free(ts);
        return rc;
    }
    case WEFT_CT_LIST:
        t->size = 8;
        t->align = 4;
        t->nflat = 2;
        t->flat[0] = t->flat[1] = WEFT_I32;
        t->has_ptr = 1;
        t->has_borrow = t->a->has_borrow;
        return 0;
    case WEFT_CT_FLAGS:
        t->size = t->align = t->n <= 8 ? 1 : t->n <= 16 ? 2 : 4;
        t->nflat = 1;
        t->flat[0] = WEFT_I32;
        return 0;
    case WEFT_CT_ENUM:
        t->size = t->align = ct_disc_size(t->n);
        t->nflat = 1;
        t->flat[0] = WEFT_I32;
        return 0;
    case WEFT_CT_OPTION:
        buf[0] = NULL;
        buf[1] = t->a;
        return layout_cases(t, buf, 2);
    case WEFT_CT_RESULT:
        buf[0] = t->a;
        buf[1] = t->b;
        return layout_cases(t, buf, 2);
    case WEFT_CT_OWN:
    case WEFT_CT_BORROW:
        t->size = t->align = 4;
        t->nflat = 1;
        t->flat[0] = WEFT_I32;
        t->has_borrow = t->kind == WEFT_CT_BORROW;
        return 0;
    default:
        return 0;
    }
}

typedef struct {
    const uint32_t *from;
    const weft_ctype_t *const *to;
    size_t n;
} subst_t;

static int eq(const weft_ctype_t *a, const weft_ctype_t *b, const subst_t *s)
{
    if (a == b)
        return 1;
    if (s && b && b->kind == WEFT_CT_RESOURCE)
        for (size_t i = 0; i < s->n; i++)
            if (s->from[i] == b->id)
                return a == s->to[i] || (a && s->to[i] && a->kind == WEFT_CT_RESOURCE &&
                                         a->id == s->to[i]->id);
    if (!a || !b || a->kind != b->kind)
        return 0;
    switch (a->kind) {
    case WEFT_CT_RESOURCE:
        return a->id == b->id;
    case WEFT_CT_RECORD:
    case WEFT_CT_VARIANT:
    case WEFT_CT_TUPLE:
    case WEFT_CT_FLAGS:
    case WEFT_CT_ENUM:
    case WEFT_CT_FUNC:
        if (a->n != b->n)
            return 0;
        for (uint32_t i = 0; i < a->n; i++) {
            const char *la = a->fields[i].label, *lb = b->fields[i].label;
            if ((la || lb) && (!la || !lb || strcmp(la, lb) != 0))
                return 0;
            if (!eq(a->fields[i].type, b->fields[i].type, s))
                return 0;
        }
        if (a->kind == WEFT_CT_FUNC)
            return a->has_result == b->has_result && eq(a->a, b->a, s);
        return 1;
    case WEFT_CT_LIST:
    case WEFT_CT_OPTION:
    case WEFT_CT_OWN:
    case WEFT_CT_BORROW:
        return eq(a->a, b->a, s);
    case WEFT_CT_RESULT:
        return eq(a->a, b->a, s) && eq(a->b, b->b, s);
    case WEFT_CT_INSTANCE:
    case WEFT_CT_COMPONENT:
        /* same export (and import) names and sorts; deep matching of
         * instance types is left to instantiation (docs/components.md) */
        if (a->nexports != b->nexports || a->nimports != b->nimports)
            return 0;
        for (uint32_t i = 0; i < a->nexports; i++)
            if (a->exports[i].sort != b->exports[i].sort ||
                strcmp(a->exports[i].name, b->exports[i].name) != 0)
                return 0;
        return 1;
    default:
        return ct_is_prim(a->kind); /* same primitive kind */
    }
}

int ct_equal(const weft_ctype_t *a, const weft_ctype_t *b) { return eq(a, b, NULL); }

int ct_equal_subst(const weft_ctype_t *a, const weft_ctype_t *b, const uint32_t *from,
                   const weft_ctype_t *const *to, size_t n)
{
    subst_t s = {from, to, n};
    return eq(a, b, &s);
}

/* ---- public accessors --------------------------------------------------- */

const char *weft_csort_name(weft_csort_t s)
{
    switch (s) {
    case WEFT_CSORT_CORE_MODULE: return "core module";
    case WEFT_CSORT_FUNC: return "func";
    case WEFT_CSORT_VALUE: return "value";
    case WEFT_CSORT_TYPE: return "type";
    case WEFT_CSORT_COMPONENT: return "component";
    case WEFT_CSORT_INSTANCE: return "instance";
    }
    return "?";
}

weft_ctype_kind_t weft_ctype_kind(const weft_ctype_t *t) { return (weft_ctype_kind_t)t->kind; }

size_t weft_ctype_count(const weft_ctype_t *t)
{
    switch (t->kind) {
    case WEFT_CT_RECORD:
    case WEFT_CT_VARIANT:
    case WEFT_CT_TUPLE:
    case WEFT_CT_FLAGS:
    case WEFT_CT_ENUM:
    case WEFT_CT_FUNC:
        return t->n;
    default:
        return 0;
    }
}

const char *weft_ctype_label(const weft_ctype_t *t, size_t i)
{
    return i < weft_ctype_count(t) ? t->fields[i].label : NULL;
}

const weft_ctype_t *weft_ctype_type(const weft_ctype_t *t, size_t i)
{
    switch (t->kind) {
    case WEFT_CT_RECORD:
    case WEFT_CT_VARIANT:
    case WEFT_CT_TUPLE:
    case WEFT_CT_FUNC:
        return i < t->n ? t->fields[i].type : NULL;
    case WEFT_CT_LIST:
    case WEFT_CT_OPTION:
    case WEFT_CT_OWN:
    case WEFT_CT_BORROW:
        return i == 0 ? t->a : NULL;
    case WEFT_CT_RESULT:
        return i == 0 ? t->a : i == 1 ? t->b : NULL;
    default:
        return NULL;
    }
}

int weft_ctype_func_result(const weft_ctype_t *t, const weft_ctype_t **out)
{
    if (t->kind != WEFT_CT_FUNC || !t->has_result)
        return 0;
    *out = t->a;
    return 1;
}

size_t weft_ctype_extern_count(const weft_ctype_t *t, int imports)
{
    if (t->kind != WEFT_CT_INSTANCE && t->kind != WEFT_CT_COMPONENT)
        return 0;
    return imports ? t->nimports : t->nexports;
}

int weft_ctype_extern(const weft_ctype_t *t, int imports, size_t i, weft_cextern_t *out)
{
    if (i >= weft_ctype_extern_count(t, imports))
        return WEFT_ENOTFOUND;
    *out = imports ? t->imports[i] : t->exports[i];
    return 0;
}

uint32_t weft_canon_size(const weft_ctype_t *t) { return t->size; }
uint32_t weft_canon_align(const weft_ctype_t *t) { return t->align; }

size_t weft_canon_flatten(const weft_ctype_t *t, weft_valtype_t *out, size_t max)
{
    for (size_t i = 0; i < t->nflat && i < max && i < CT_FLAT_CAP; i++)
        out[i] = (weft_valtype_t)t->flat[i];
    return t->nflat;
}

/* ---- printing ----------------------------------------------------------- */

static const char *prim_name(int k)
{
    static const char *names[] = {"bool", "s8",  "u8",  "s16", "u16",  "s32",   "u32",
                                  "s64",  "u64", "f32", "f64", "char", "string"};
    return ct_is_prim(k) ? names[WEFT_CT_BOOL - k] : NULL;
}

/* Printing is bounded in depth and in the types printed: a type is a DAG,
 * so its text could be exponential in its size. */
#define PRINT_BUDGET 20000

typedef struct {
    FILE *out;
    size_t left; /* types still printed in full */
} pr_t;

static void print_depth(const weft_ctype_t *t, pr_t *p, int depth);

/* "a: u32, b: string" (record fields, function parameters) */
static void print_labeled(const weft_ctype_t *t, pr_t *p, int depth)
{
    FILE *out = p->out;
    for (uint32_t i = 0; i < t->n; i++) {
        fprintf(out, "%s%s: ", i ? ", " : "", t->fields[i].label);
        print_depth(t->fields[i].type, p, depth);
    }
}

static void print_opt(const weft_ctype_t *t, pr_t *p, int depth)
{
    if (t)
        print_depth(t, p, depth);
    else
        fputc('_', p->out);
}

static void print_externs(const weft_cextern_t *e, uint32_t n, const char *what, pr_t *p,
                          int depth)
{
    FILE *out = p->out;
    for (uint32_t i = 0; i < n; i++) {
        fprintf(out, "%s%s %s: ", i ? "; " : "", what, e[i].name);
        if (e[i].sort == WEFT_CSORT_TYPE)
            fputs("type ", out);
        if (e[i].type)
            print_depth(e[i].type, p, depth);
        else
            fputs(weft_csort_name(e[i].sort), out);
    }
}

static void print_depth(const weft_ctype_t *t, pr_t *p, int depth)
{
    FILE *out = p->out;
    if (depth > 16 || p->left == 0) {
        fputs("...", out);
        return;
    }
    p->left--;
    depth++;
    if (ct_is_prim(t->kind)) {
        fputs(prim_name(t->kind), out);
        return;
    }
    switch (t->kind) {
    case WEFT_CT_RECORD:
        fputs("record { ", out);
        print_labeled(t, p, depth);
        fputs(" }", out);
        break;
    case WEFT_CT_VARIANT:
        fputs("variant { ", out);
        for (uint32_t i = 0; i < t->n; i++) {
            fprintf(out, "%s%s", i ? ", " : "", t->fields[i].label);
            if (t->fields[i].type) {
                fputc('(', out);
                print_depth(t->fields[i].type, p, depth);
                fputc(')', out);
            }
        }
        fputs(" }", out);
        break;
    case WEFT_CT_FLAGS:
    case WEFT_CT_ENUM:
        fputs(t->kind == WEFT_CT_FLAGS ? "flags { " : "enum { ", out);
        for (uint32_t i = 0; i < t->n; i++)
            fprintf(out, "%s%s", i ? ", " : "", t->fields[i].label);
        fputs(" }", out);
        break;
    case WEFT_CT_TUPLE:
        fputs("tuple<", out);
        for (uint32_t i = 0; i < t->n; i++) {
            if (i)
                fputs(", ", out);
            print_depth(t->fields[i].type, p, depth);
        }
        fputc('>', out);
        break;
    case WEFT_CT_LIST:
    case WEFT_CT_OPTION:
    case WEFT_CT_OWN:
    case WEFT_CT_BORROW:
        fputs(t->kind == WEFT_CT_LIST ? "list<" : t->kind == WEFT_CT_OPTION ? "option<"
              : t->kind == WEFT_CT_OWN ? "own<" : "borrow<", out);
        print_depth(t->a, p, depth);
        fputc('>', out);
        break;
    case WEFT_CT_RESULT:
        if (!t->a && !t->b) {
            fputs("result", out);
            break;
        }
        fputs("result<", out);
        print_opt(t->a, p, depth);
        if (t->b) {
            fputs(", ", out);
            print_depth(t->b, p, depth);
        }
        fputc('>', out);
        break;
    case WEFT_CT_RESOURCE:
        fprintf(out, "resource %u", t->id);
        break;
    case WEFT_CT_FUNC:
        fputs("func(", out);
        print_labeled(t, p, depth);
        fputc(')', out);
        if (t->has_result) {
            fputs(" -> ", out);
            print_depth(t->a, p, depth);
        }
        break;
    case WEFT_CT_INSTANCE:
    case WEFT_CT_COMPONENT:
        fputs(t->kind == WEFT_CT_INSTANCE ? "instance { " : "component { ", out);
        print_externs(t->imports, t->nimports, "import", p, depth);
        if (t->nimports && t->nexports)
            fputs("; ", out);
        print_externs(t->exports, t->nexports, "export", p, depth);
        fputs(" }", out);
        break;
    default:
        fputc('?', out);
    }
}

void weft_ctype_print(const weft_ctype_t *t, FILE *out)
{
    pr_t p = {out, PRINT_BUDGET};
    print_depth(t, &p, 0);
}
