/*
 * decode.c — the binary format: turns bytes into a struct module and
 * validates everything outside function bodies (indices, limits, constant
 * expressions, segments, exports, start). Function bodies are checked and
 * compiled afterwards by validate.c, once every section is known.
 *
 * Errors longjmp out through engine_fail with the section name and byte
 * offset; all allocations hang off the module, which the caller frees.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reader.h"
#include "weft/utf8.h"
#include "jit/jit.h"

#define INVALID(r, ...) engine_fail((r)->e, WEFT_EINVALID, (r)->p, __VA_ARGS__)

void engine_fail(loaderr_t *e, int code, const uint8_t *at, const char *fmt, ...)
{
    e->code = code;
    if (e->msg && e->msg_size) {
        int n = 0;
        if (e->section && at)
            n = snprintf(e->msg, e->msg_size, "%s, offset 0x%zx: ", e->section,
                         (size_t)(at - e->base));
        else if (at)
            n = snprintf(e->msg, e->msg_size, "offset 0x%zx: ", (size_t)(at - e->base));
        if (n < 0) n = 0;
        if ((size_t)n < e->msg_size) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(e->msg + n, e->msg_size - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    longjmp(e->jmp, 1);
}

void engine_poll(loaderr_t *e)
{
    e->poll = POLL_EVERY;
    const weft_load_options_t *o = e->opts;
    if (!o) return;
    const char *why = NULL;
    if (o->interrupt && *o->interrupt) {
        why = "interrupt flag set";
    } else if (o->deadline_ns) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        if ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec >= o->deadline_ns)
            why = "the deadline passed";
    }
    if (!why) return;
    /* no offset (at = NULL): the message starts with what happened */
    const char *where = e->section ? e->section : "module";
    if (e->func_total)
        engine_fail(e, WEFT_EINTERRUPTED, NULL, "loading interrupted: %s (%s, function %u of %u)",
                    why, where, e->func_at, e->func_total);
    engine_fail(e, WEFT_EINTERRUPTED, NULL, "loading interrupted: %s (%s)", why, where);
}

void *engine_xalloc(loaderr_t *e, size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) engine_fail(e, WEFT_ENOMEM, NULL, "out of memory");
    return p;
}

/* Grows *arr (stored in the module, so freed on failure) to n elements. */
static void *grow(loaderr_t *e, void *arr, size_t n, size_t elsize)
{
    void *p = realloc(arr, (n ? n : 1) * elsize);
    if (!p) engine_fail(e, WEFT_ENOMEM, NULL, "out of memory");
    return p;
}

/* Reads a name into a fresh NUL-terminated copy, stored via *out (so it is
 * owned by the module before anything else can fail). */
static void rd_name(reader_t *r, const char **out, uint32_t *out_len)
{
    uint32_t n = rd_u32(r);
    const uint8_t *at = r->p;
    const uint8_t *s = rd_bytes(r, n);
    if (!weft_utf8_valid(s, n)) {
        r->p = at;
        MALFORMED(r, "malformed UTF-8 encoding");
    }
    char *c = engine_xalloc(r->e, (size_t)n + 1);
    memcpy(c, s, n);
    *out = c;
    *out_len = n;
}

static weft_limits_t rd_limits(reader_t *r, uint64_t bound, const char *what)
{
    weft_limits_t l = {0};
    const uint8_t *at = r->p;
    uint8_t flag = rd_u8(r);
    if (flag > 1) {
        r->p = at;
        /* Later proposals use the other bits of a memory's flag: name them
         * rather than calling a shared memory a number too large. */
        if (what[0] == 'm' && (flag == 2 || flag == 3))
            MALFORMED(r, "limits flag 0x%02x: shared memories (threads) are not supported", flag);
        if (what[0] == 'm' && flag >= 4 && flag <= 7)
            MALFORMED(r, "limits flag 0x%02x: 64-bit memories (memory64) are not supported", flag);
        MALFORMED(r, "integer too large (limits flag 0x%02x)", flag);
    }
    l.min = rd_u32(r);
    if (flag) {
        l.has_max = 1;
        l.max = rd_u32(r);
    }
    if (l.min > bound) {
        r->p = at;
        INVALID(r, "%s size must be at most %llu", what, (unsigned long long)bound);
    }
    if (l.has_max && l.max > bound) {
        r->p = at;
        INVALID(r, "%s size must be at most %llu", what, (unsigned long long)bound);
    }
    if (l.has_max && l.min > l.max) {
        r->p = at;
        INVALID(r, "size minimum must not be greater than maximum");
    }
    return l;
}

/* Whether b starts an instruction of WebAssembly 2.0 (without SIMD). */
static int is_opcode(uint8_t b)
{
    return b <= 0x05 || (b >= 0x0b && b <= 0x13) || (b >= 0x1a && b <= 0x1c) || (b >= 0x20 && b <= 0x26) ||
           (b >= 0x28 && b <= 0xc4) || (b >= 0xd0 && b <= 0xd2) || b == 0xfc || b == 0xfd;
}

static void mark_declared(weft_module_t *m, uint32_t f) { m->declared_funcs[f >> 3] |= (uint8_t)(1u << (f & 7)); }

/* One more instruction of a CE_EXPR in the module's pool. */
static void cexpr_push(reader_t *r, weft_module_t *m, constexpr_t op)
{
    uint32_t n = m->ncexpr_ops;
    if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) /* capacity 4, then doubled when full */
        m->cexpr_ops = grow(r->e, m->cexpr_ops, n ? (size_t)n * 2 : 4, sizeof *m->cexpr_ops);
    m->cexpr_ops[m->ncexpr_ops++] = op;
}

/* Reads a constant expression of type `want`. In WebAssembly 2.0 it is one
 * constant instruction, and a global.get may only name an imported,
 * immutable global. With extended constant expressions (on unless
 * features_off says otherwise) it may also add, subtract and multiply
 * i32 and i64, and read any immutable global defined before it (all of
 * them, from a data or element segment), as Wasm 3.0 allows. */
static constexpr_t rd_constexpr(reader_t *r, weft_module_t *m, uint8_t want)
{
    bool ext = engine_feature(r->e, WEFT_FEATURE_EXTENDED_CONST);
    uint32_t nglobals = ext ? m->nglobals : m->nglobal_imports;
    constexpr_t first = {0};
    uint8_t types[MAX_CONST_DEPTH];
    uint32_t depth = 0, n = 0, pool = m->ncexpr_ops;
    const uint8_t *start = r->p;
    for (;;) {
        constexpr_t c = {0};
        const uint8_t *at = r->p;
        uint8_t op = rd_u8(r);
        switch (op) {
        case 0x41: c.kind = CE_I32; c.type = WEFT_I32; c.value = (uint32_t)rd_s32(r); break;
        case 0x42: c.kind = CE_I64; c.type = WEFT_I64; c.value = (uint64_t)rd_s64(r); break;
        case 0x43: c.kind = CE_F32; c.type = WEFT_F32; c.value = rd_f32(r); break;
        case 0x44: c.kind = CE_F64; c.type = WEFT_F64; c.value = rd_f64(r); break;
        case 0xd0: c.kind = CE_REF_NULL; c.type = rd_reftype(r); break;
        case 0xfd: /* v128.const; no other SIMD instruction is constant */
            if (rd_u32(r) != 12) {
                r->p = at;
                INVALID(r, "constant expression required");
            }
            c.kind = CE_V128;
            c.type = WEFT_V128;
            c.value = (uint64_t)(rd_bytes(r, 16) - r->e->base);
            r->e->saw_v128 = true;
            break;
        case 0xd2: {
            uint32_t f = rd_u32(r);
            if (f >= m->nfuncs) INVALID(r, "unknown function %u", f);
            c.kind = CE_REF_FUNC;
            c.type = WEFT_FUNCREF;
            c.value = f;
            mark_declared(m, f);
            break;
        }
        case 0x23: {
            uint32_t g = rd_u32(r);
            if (g >= nglobals) INVALID(r, "unknown global %u", g);
            if (m->globals[g].mut) INVALID(r, "constant expression required");
            c.kind = CE_GLOBAL_GET;
            c.type = m->globals[g].type;
            c.value = g;
            break;
        }
        case 0x6a: case 0x6b: case 0x6c: /* i32.add, sub, mul */
        case 0x7c: case 0x7d: case 0x7e: /* i64.add, sub, mul */
            if (!ext) {
                r->p = at;
                INVALID(r, "constant expression required");
            }
            c.type = op < 0x70 ? WEFT_I32 : WEFT_I64;
            c.kind = (uint8_t)((op < 0x70 ? CE_I32_ADD + (op - 0x6a) : CE_I64_ADD + (op - 0x7c)));
            for (int k = 0; k < 2; k++) {
                if (depth == 0 || types[depth - 1] != c.type) {
                    r->p = at;
                    INVALID(r, "type mismatch: %s operands expected", weft_valtype_name(c.type));
                }
                depth--;
            }
            break;
        case 0x0b:
            if (n == 0) {
                r->p = at;
                INVALID(r, "type mismatch: constant expression is empty");
            }
            goto end;
        default:
            r->p = at;
            if (!is_opcode(op)) MALFORMED(r, "illegal opcode 0x%02x", op);
            INVALID(r, "constant expression required");
        }
        /* WebAssembly 2.0: exactly one instruction, then end */
        if (n == 1 && !ext) {
            r->p = at;
            INVALID(r, "constant expression required");
        }
        if (depth == MAX_CONST_DEPTH)
            engine_fail(r->e, WEFT_ELIMIT, at,
                        "implementation limit: a constant expression holds more than %u values",
                        MAX_CONST_DEPTH);
        types[depth++] = c.type;
        if (n == 1) cexpr_push(r, m, first);
        if (n >= 1) cexpr_push(r, m, c);
        if (n == 0) first = c;
        n++;
    }
end:
    if (depth != 1) {
        r->p = start;
        INVALID(r, "type mismatch: a constant expression leaves %u values", depth);
    }
    if (want && types[0] != want) {
        r->p = start;
        INVALID(r, "type mismatch: expected %s, found %s", weft_valtype_name(want),
                weft_valtype_name(types[0]));
    }
    if (n == 1) return first;
    return (constexpr_t){.kind = CE_EXPR, .type = types[0], .nops = n, .value = pool};
}

static void decode_types(reader_t *r, weft_module_t *m)
{
    uint32_t n = rd_count(r, 3);
    m->types = engine_xalloc(r->e, n * sizeof *m->types);
    for (uint32_t i = 0; i < n; i++) {
        if (rd_u8(r) != 0x60) {
            r->p--;
            MALFORMED(r, "integer representation too long (expected function type 0x60)");
        }
        uint32_t np = rd_count(r, 1);
        const uint8_t *params = r->p;
        for (uint32_t k = 0; k < np; k++) rd_valtype(r);
        uint32_t nr = rd_count(r, 1);
        const uint8_t *results = r->p;
        for (uint32_t k = 0; k < nr; k++) rd_valtype(r);
        if (np > MAX_FUNC_PARAMS || nr > MAX_FUNC_PARAMS)
            INVALID(r, "function type has too many parameters or results");
        weft_functype_t *ft = functype_alloc(np, nr);
        if (!ft) engine_fail(r->e, WEFT_ENOMEM, NULL, "out of memory");
        memcpy(ft->types, params, np);
        memcpy(ft->types + np, results, nr);
        m->types[i] = ft;
        m->ntypes = i + 1;
    }
}

static uint8_t rd_globaltype(reader_t *r, bool *mut)
{
    uint8_t t = rd_valtype(r);
    uint8_t b = rd_u8(r);
    if (b > 1) {
        r->p--;
        MALFORMED(r, "malformed mutability");
    }
    *mut = b;
    return t;
}

static void decode_imports(reader_t *r, weft_module_t *m)
{
    uint32_t n = rd_count(r, 4);
    m->imports = engine_xalloc(r->e, n * sizeof *m->imports);
    /* Index spaces start with the imports; sized for the worst case here
     * and trimmed by later sections' grow(). */
    m->func_types = engine_xalloc(r->e, n * sizeof *m->func_types);
    m->tables = engine_xalloc(r->e, n * sizeof *m->tables);
    m->mems = engine_xalloc(r->e, n * sizeof *m->mems);
    m->globals = engine_xalloc(r->e, n * sizeof *m->globals);
    for (uint32_t i = 0; i < n; i++) {
        importdef_t *im = &m->imports[i];
        m->nimports = i + 1;
        rd_name(r, &im->module, &im->module_len);
        rd_name(r, &im->name, &im->name_len);
        const uint8_t *at = r->p;
        im->kind = rd_u8(r);
        switch (im->kind) {
        case WEFT_EXTERN_FUNC:
            im->index = rd_u32(r);
            if (im->index >= m->ntypes) INVALID(r, "unknown type %u", im->index);
            m->func_types[m->nfuncs++] = im->index;
            m->nfunc_imports++;
            break;
        case WEFT_EXTERN_TABLE: {
            tabledef_t *t = &m->tables[m->ntables];
            t->elem = rd_reftype(r);
            t->limits = rd_limits(r, UINT32_MAX, "table");
            im->index = m->ntables++;
            m->ntable_imports++;
            break;
        }
        case WEFT_EXTERN_MEMORY:
            m->mems[m->nmems] = rd_limits(r, MAX_PAGES, "memory");
            im->index = m->nmems++;
            m->nmem_imports++;
            if (m->nmems > 1 && !engine_feature(r->e, WEFT_FEATURE_MULTI_MEMORY))
                INVALID(r, "multiple memories");
            break;
        case WEFT_EXTERN_GLOBAL: {
            globaldef_t *g = &m->globals[m->nglobals];
            g->type = rd_globaltype(r, &g->mut);
            im->index = m->nglobals++;
            m->nglobal_imports++;
            break;
        }
        default:
            r->p = at;
            MALFORMED(r, "malformed import kind 0x%02x", im->kind);
        }
    }
}

static void decode_functions(reader_t *r, weft_module_t *m)
{
    uint32_t n = rd_count(r, 1);
    m->func_types = grow(r->e, m->func_types, (size_t)m->nfuncs + n, sizeof *m->func_types);
    /* aligned as funcdef_t asks: what a call reads is one cache line */
    m->funcs = aligned_alloc(_Alignof(funcdef_t), (n ? n : 1) * sizeof *m->funcs);
    if (!m->funcs) engine_fail(r->e, WEFT_ENOMEM, NULL, "out of memory");
    memset(m->funcs, 0, (n ? n : 1) * sizeof *m->funcs);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t t = rd_u32(r);
        if (t >= m->ntypes) INVALID(r, "unknown type %u", t);
        m->func_types[m->nfuncs++] = t;
        m->funcs[i].type = t;
        m->funcs[i].nparams = m->types[t]->nparams;
    }
}

static void decode_tables(reader_t *r, weft_module_t *m)
{
    uint32_t n = rd_count(r, 2);
    m->tables = grow(r->e, m->tables, (size_t)m->ntables + n, sizeof *m->tables);
    for (uint32_t i = 0; i < n; i++) {
        tabledef_t *t = &m->tables[m->ntables];
        t->elem = rd_reftype(r);
        t->limits = rd_limits(r, UINT32_MAX, "table");
        m->ntables++;
    }
}

static void decode_memories(reader_t *r, weft_module_t *m)
{
    uint32_t n = rd_count(r, 2);
    m->mems = grow(r->e, m->mems, (size_t)m->nmems + n, sizeof *m->mems);
    for (uint32_t i = 0; i < n; i++) {
        m->mems[m->nmems] = rd_limits(r, MAX_PAGES, "memory");
        m->nmems++;
        if (m->nmems > 1 && !engine_feature(r->e, WEFT_FEATURE_MULTI_MEMORY))
            INVALID(r, "multiple memories");
    }
}

static void decode_globals(reader_t *r, weft_module_t *m)
{
    uint32_t n = rd_count(r, 3);
    m->globals = grow(r->e, m->globals, (size_t)m->nglobals + n, sizeof *m->globals);
    for (uint32_t i = 0; i < n; i++) {
        globaldef_t *g = &m->globals[m->nglobals];
        memset(g, 0, sizeof *g);
        g->type = rd_globaltype(r, &g->mut);
        g->init = rd_constexpr(r, m, g->type);
        m->nglobals++;
    }
}

int engine_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c) return c;
    return alen < blen ? -1 : alen > blen;
}

/* qsort has no context argument: decode_exports sets this just before.
 * (Loads on other threads sort their own arrays; this is thread-local.) */
static _Thread_local const exportdef_t *sort_exports;

static int export_order_cmp(const void *pa, const void *pb)
{
    uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
    const exportdef_t *a = &sort_exports[ia], *b = &sort_exports[ib];
    int c = engine_name_cmp(a->name, a->name_len, b->name, b->name_len);
    if (c) return c;
    return ia < ib ? -1 : ia > ib;
}

static void decode_exports(reader_t *r, weft_module_t *m)
{
    uint32_t n = rd_count(r, 3);
    m->exports = engine_xalloc(r->e, n * sizeof *m->exports);
    for (uint32_t i = 0; i < n; i++) {
        exportdef_t *ex = &m->exports[i];
        m->nexports = i + 1;
        const uint8_t *name_at = r->p;
        rd_name(r, &ex->name, &ex->name_len);
        const uint8_t *at = r->p;
        ex->kind = rd_u8(r);
        ex->index = rd_u32(r);
        uint32_t limit = 0;
        switch (ex->kind) {
        case WEFT_EXTERN_FUNC: limit = m->nfuncs; break;
        case WEFT_EXTERN_TABLE: limit = m->ntables; break;
        case WEFT_EXTERN_MEMORY: limit = m->nmems; break;
        case WEFT_EXTERN_GLOBAL: limit = m->nglobals; break;
        default: r->p = at; MALFORMED(r, "malformed export kind 0x%02x", ex->kind);
        }
        if (ex->index >= limit) {
            r->p = at;
            INVALID(r, "unknown %s %u", weft_externkind_name(ex->kind), ex->index);
        }
        if (ex->kind == WEFT_EXTERN_FUNC) mark_declared(m, ex->index);
        ex->name_offset = (uint32_t)(name_at - r->e->base);
    }
    /* Sorted once (O(n log n), a module may export 200,000 names): equal
     * names become neighbours, and lookups by name bisect. */
    m->export_order = engine_xalloc(r->e, (size_t)n * sizeof *m->export_order);
    for (uint32_t i = 0; i < n; i++) m->export_order[i] = i;
    sort_exports = m->exports;
    qsort(m->export_order, n, sizeof *m->export_order, export_order_cmp);
    /* Of all the duplicates, report the first one in section order. */
    uint32_t dup = UINT32_MAX;
    for (uint32_t k = 1; k < n; k++) {
        const exportdef_t *a = &m->exports[m->export_order[k - 1]], *b = &m->exports[m->export_order[k]];
        if (a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0 &&
            m->export_order[k] < dup)
            dup = m->export_order[k]; /* the later of the two: ties sort by index */
    }
    if (dup != UINT32_MAX) {
        r->p = r->e->base + m->exports[dup].name_offset;
        INVALID(r, "duplicate export name \"%s\"", m->exports[dup].name);
    }
}

static void decode_start(reader_t *r, weft_module_t *m)
{
    uint32_t f = rd_u32(r);
    if (f >= m->nfuncs) INVALID(r, "unknown function %u", f);
    const weft_functype_t *ft = m->types[m->func_types[f]];
    if (ft->nparams || ft->nresults) INVALID(r, "start function must have type [] -> []");
    m->start = f;
}

static void decode_elems(reader_t *r, weft_module_t *m)
{
    uint32_t n = rd_count(r, 1);
    m->elems = engine_xalloc(r->e, n * sizeof *m->elems);
    for (uint32_t i = 0; i < n; i++) {
        elemdef_t *el = &m->elems[i];
        m->nelems = i + 1;
        const uint8_t *at = r->p;
        uint32_t flags = rd_u32(r);
        if (flags > 7) {
            r->p = at;
            MALFORMED(r, "malformed elements segment kind %u", flags);
        }
        el->mode = (flags & 1) ? ((flags & 2) ? SEG_DECLARATIVE : SEG_PASSIVE) : SEG_ACTIVE;
        el->type = WEFT_FUNCREF;
        if (el->mode == SEG_ACTIVE) {
            el->table = (flags & 2) ? rd_u32(r) : 0;
            if (el->table >= m->ntables) INVALID(r, "unknown table %u", el->table);
            el->offset = rd_constexpr(r, m, WEFT_I32);
        }
        int exprs = flags & 4;
        if (flags & 3) { /* explicit element kind or reference type */
            if (exprs) {
                el->type = rd_reftype(r);
            } else if (rd_u8(r) != 0x00) {
                r->p--;
                MALFORMED(r, "malformed element kind");
            }
        }
        el->count = rd_count(r, 1);
        el->items = engine_xalloc(r->e, el->count * sizeof *el->items);
        for (uint32_t k = 0; k < el->count; k++) {
            if (exprs) {
                el->items[k] = rd_constexpr(r, m, el->type);
            } else {
                uint32_t f = rd_u32(r);
                if (f >= m->nfuncs) INVALID(r, "unknown function %u", f);
                mark_declared(m, f);
                el->items[k] = (constexpr_t){.kind = CE_REF_FUNC, .type = WEFT_FUNCREF, .value = f};
            }
        }
        if (el->mode == SEG_ACTIVE && m->tables[el->table].elem != el->type)
            INVALID(r, "type mismatch: element segment of %s for a table of %s",
                    weft_valtype_name(el->type), weft_valtype_name(m->tables[el->table].elem));
    }
}

static void decode_code(reader_t *r, weft_module_t *m)
{
    uint32_t n = rd_count(r, 2);
    uint32_t ndefined = m->nfuncs - m->nfunc_imports;
    if (n != ndefined) MALFORMED(r, "function and code section have inconsistent lengths");
    for (uint32_t i = 0; i < n; i++) {
        funcdef_t *fd = &m->funcs[i];
        uint32_t size = rd_u32(r);
        reader_t body = {rd_bytes(r, size), NULL, r->e};
        body.end = body.p + size;
        const weft_functype_t *ft = m->types[fd->type];
        /* locals: counted and checked here, kept as the encoded runs */
        uint32_t ngroups = rd_count(&body, 2);
        fd->local_decls = body.p;
        fd->nlocal_groups = ngroups;
        uint64_t total = ft->nparams;
        for (uint32_t g = 0; g < ngroups; g++) {
            total += rd_u32(&body);
            rd_valtype(&body);
            if (total - ft->nparams > MAX_LOCALS) MALFORMED(&body, "too many locals");
        }
        fd->nlocals = (uint32_t)total;
        fd->body = body.p;
        fd->body_len = (size_t)(body.end - body.p);
        fd->body_offset = (size_t)(body.p - r->e->base);
    }
}

static void decode_datas(reader_t *r, weft_module_t *m)
{
    uint32_t n = rd_count(r, 1);
    if (m->has_datacount && n != m->datacount)
        MALFORMED(r, "data count and data section have inconsistent lengths");
    m->datas = engine_xalloc(r->e, n * sizeof *m->datas);
    for (uint32_t i = 0; i < n; i++) {
        datadef_t *d = &m->datas[i];
        m->ndatas = i + 1;
        const uint8_t *at = r->p;
        uint32_t flags = rd_u32(r);
        if (flags > 2) {
            r->p = at;
            MALFORMED(r, "malformed data segment kind %u", flags);
        }
        d->mode = flags == 1 ? SEG_PASSIVE : SEG_ACTIVE;
        if (d->mode == SEG_ACTIVE) {
            d->memory = flags == 2 ? rd_u32(r) : 0;
            if (d->memory >= m->nmems) INVALID(r, "unknown memory %u", d->memory);
            d->offset = rd_constexpr(r, m, WEFT_I32);
        }
        d->len = rd_u32(r);
        d->bytes = rd_bytes(r, d->len);
    }
}

/* The "name" custom section: only function names are kept; a malformed
 * name section is ignored, as custom sections never make a module invalid. */
static void read_func_names(reader_t *r, weft_module_t *m, char **names)
{
    while (r->p < r->end) {
        uint8_t id = rd_u8(r);
        uint32_t size = rd_u32(r);
        reader_t sub = {rd_bytes(r, size), NULL, r->e};
        sub.end = sub.p + size;
        if (id != 1) continue;
        uint32_t n = rd_u32(&sub);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t idx = rd_u32(&sub);
            uint32_t len = rd_u32(&sub);
            const uint8_t *s = rd_bytes(&sub, len);
            if (idx < m->nfuncs && !names[idx]) {
                char *c = malloc((size_t)len + 1);
                if (!c) return;
                memcpy(c, s, len);
                c[len] = 0;
                names[idx] = c;
            }
        }
    }
}

/* gcc's -Wclobbered fires on `p` here although nothing changes it between
 * setjmp and longjmp. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wclobbered"
#endif
static void decode_names(weft_module_t *m, const uint8_t *p, const uint8_t *end)
{
    loaderr_t quiet = {0};
    quiet.base = p;
    reader_t r = {p, end, &quiet};
    m->func_names = calloc(m->nfuncs ? m->nfuncs : 1, sizeof *m->func_names);
    if (m->func_names && !setjmp(quiet.jmp)) read_func_names(&r, m, m->func_names);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

static const char *section_names[] = {
    "custom section", "type section", "import section", "function section",
    "table section", "memory section", "global section", "export section",
    "start section", "element section", "code section", "data section",
    "data count section",
};

/* Position of each known section id in the required order. */
static int section_rank(uint8_t id)
{
    static const int rank[13] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
    return rank[id];
}

void decode_module(weft_module_t *m, loaderr_t *e)
{
    reader_t r = {m->bytes, m->bytes + m->len, e};
    e->base = m->bytes;
    e->section = "module header";
    m->start = -1;
    const uint8_t *magic = rd_bytes(&r, 4);
    if (memcmp(magic, "\0asm", 4) != 0) {
        r.p = m->bytes;
        MALFORMED(&r, "magic header not detected");
    }
    const uint8_t *ver = rd_bytes(&r, 4);
    if (memcmp(ver, "\1\0\0\0", 4) != 0) {
        r.p = ver;
        MALFORMED(&r, "unknown binary version");
    }
    m->declared_funcs = NULL;
    int last_rank = 0;
    bool have_code = false;
    while (r.p < r.end) {
        const uint8_t *sec_at = r.p;
        e->section = "module";
        uint8_t id = rd_u8(&r);
        if (id > 12) {
            r.p = sec_at;
            MALFORMED(&r, "malformed section id %u", id);
        }
        e->section = section_names[id];
        uint32_t size = rd_u32(&r);
        if (size > (size_t)(r.end - r.p)) {
            r.p = sec_at;
            MALFORMED(&r, "section size %u runs past the end of the module (unexpected end)", size);
        }
        reader_t s = {r.p, r.p + size, e};
        r.p += size;
        engine_poll(e); /* a section's own work is linear and short */
        if (id != 0) {
            int rank = section_rank(id);
            if (rank <= last_rank) {
                s.p = sec_at;
                MALFORMED(&s, "unexpected content after last section (section out of order or repeated)");
            }
            last_rank = rank;
        }
        /* The function-declaration bitmap needs the function count, which is
         * final once the function section (or the import section) is read. */
        if (id >= 6 && id != 12 && !m->declared_funcs) {
            m->declared_funcs = engine_xalloc(e, m->nfuncs / 8 + 1);
        }
        switch (id) {
        case 0: {
            customdef_t c = {0};
            rd_name(&s, &c.name, &c.name_len);
            c.data = s.p;
            c.len = (uint32_t)(s.end - s.p);
            s.p = s.end;
            /* doubling: a module may hold 300,000 custom sections */
            if ((m->ncustoms & (m->ncustoms - 1)) == 0)
                m->customs = grow(e, m->customs, m->ncustoms ? (size_t)m->ncustoms * 2 : 1,
                                  sizeof *m->customs);
            m->customs[m->ncustoms++] = c;
            if (c.name_len == 4 && memcmp(c.name, "name", 4) == 0 && !m->func_names && m->funcs)
                decode_names(m, c.data, c.data + c.len);
            break;
        }
        case 1: decode_types(&s, m); break;
        case 2: decode_imports(&s, m); break;
        case 3: decode_functions(&s, m); break;
        case 4: decode_tables(&s, m); break;
        case 5: decode_memories(&s, m); break;
        case 6: decode_globals(&s, m); break;
        case 7: decode_exports(&s, m); break;
        case 8: decode_start(&s, m); break;
        case 9: decode_elems(&s, m); break;
        case 10: decode_code(&s, m); have_code = true; break;
        case 11: decode_datas(&s, m); break;
        case 12: m->datacount = rd_u32(&s); m->has_datacount = true; break;
        }
        if (s.p != s.end) MALFORMED(&s, "section size mismatch");
    }
    e->section = "module";
    if (!m->declared_funcs) m->declared_funcs = engine_xalloc(e, m->nfuncs / 8 + 1);
    if (m->nfuncs - m->nfunc_imports > 0 && !have_code)
        engine_fail(e, WEFT_EMALFORMED, r.p, "function and code section have inconsistent lengths");
    if (m->has_datacount && m->ndatas != m->datacount)
        engine_fail(e, WEFT_EMALFORMED, r.p, "data count and data section have inconsistent lengths");
    e->section = "code section";
    e->func_total = m->nfuncs - m->nfunc_imports;
    for (uint32_t i = 0; i < e->func_total; i++) {
        e->func_at = i + 1;
        validate_function(m, i, e);
    }
    m->uses_v128 = e->saw_v128;
}

void module_free(weft_module_t *m)
{
    if (!m) return;
    jit_free_module(m);
    for (uint32_t i = 0; i < m->ntypes; i++) free(m->types[i]);
    free(m->types);
    for (uint32_t i = 0; i < m->nimports; i++) {
        free((void *)m->imports[i].module);
        free((void *)m->imports[i].name);
    }
    free(m->imports);
    free(m->func_types);
    if (m->funcs) {
        for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++) free(m->funcs[i].code);
    }
    free(m->funcs);
    free(m->tables);
    free(m->mems);
    free(m->globals);
    for (uint32_t i = 0; i < m->nexports; i++) free((void *)m->exports[i].name);
    free(m->exports);
    free(m->export_order);
    for (uint32_t i = 0; i < m->nelems; i++) free(m->elems[i].items);
    free(m->elems);
    free(m->datas);
    for (uint32_t i = 0; i < m->ncustoms; i++) free((void *)m->customs[i].name);
    free(m->customs);
    free(m->cexpr_ops);
    free(m->declared_funcs);
    if (m->func_names) {
        for (uint32_t i = 0; i < m->nfuncs; i++) free(m->func_names[i]);
        free(m->func_names);
    }
    free(m->bytes);
    free(m);
}
