/*
 * runtime.c — stores, the objects they own (functions, memories, tables,
 * globals, instances), linking, instantiation and calls across the API.
 *
 * Every object is recorded in its store's `owned` list when created and
 * freed by weft_store_delete, so no object outlives its store and none is
 * freed twice. Instantiation follows WebAssembly 2.0: imports are checked
 * before anything is allocated; element then data segments are applied in
 * order and a segment that does not fit traps, keeping earlier writes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "priv.h"

enum { OWN_FUNC, OWN_MEMORY, OWN_TABLE, OWN_GLOBAL, OWN_INSTANCE };

static int own(weft_store_t *s, int kind, void *obj)
{
    owned_t *o = malloc(sizeof *o);
    if (!o) return WEFT_ENOMEM;
    o->kind = kind;
    o->obj = obj;
    o->next = s->owned;
    s->owned = o;
    s->nmade++;
    if (kind == OWN_MEMORY || kind == OWN_TABLE || kind == OWN_GLOBAL) s->nstate++;
    return 0;
}

static void errmsg(weft_store_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errmsg(weft_store_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
    va_end(ap);
}

weft_trap_code_t store_trap(weft_store_t *s, weft_trap_code_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->trap_msg, sizeof s->trap_msg, fmt, ap);
    va_end(ap);
    s->trap = code;
    return code;
}

/* ---- store --------------------------------------------------------------- */

weft_limits_config_t weft_limits_default(void)
{
    return (weft_limits_config_t){
        .max_memory_pages = MAX_PAGES,
        .max_table_elems = 10000000,
        .max_call_depth = 10000,
        .max_stack_bytes = 8u << 20,
    };
}

weft_store_t *weft_store_new(weft_engine_t *engine)
{
    weft_store_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->engine = engine;
    s->limits = weft_limits_default();
    s->fuel = INT64_MAX;
    atomic_init(&s->interrupt, 0);
    return s;
}

static void free_stack(weft_store_t *s)
{
    mem_spare_keep(s->stack, s->stack_slots * sizeof(slot_t));
    mem_spare_keep(s->frames, (size_t)s->nframes_cap * sizeof(frame_t));
    s->stack = NULL;
    s->frames = NULL;
    s->stack_top = NULL;
}

void weft_store_delete(weft_store_t *s)
{
    if (!s) return;
    owned_t *o = s->owned;
    while (o) {
        owned_t *next = o->next;
        switch (o->kind) {
        case OWN_FUNC: {
            weft_func_t *f = o->obj;
            if (f->finalizer) f->finalizer(f->user);
            free(f->owned_type);
            free(f);
            break;
        }
        case OWN_MEMORY: {
            weft_memory_t *m = o->obj;
            mem_bytes_free(m->data, m->cap, m->size, m->guarded);
            free(m);
            break;
        }
        case OWN_TABLE: {
            weft_table_t *t = o->obj;
            free(t->elems);
            free(t);
            break;
        }
        case OWN_GLOBAL: free(o->obj); break;
        case OWN_INSTANCE: {
            weft_instance_t *in = o->obj;
            free(in->funcs);
            free(in->tables);
            free(in->mems);
            free(in->globals);
            free(in->dropped_elems);
            free(in->dropped_datas);
            weft_module_delete(in->module);
            free(in);
            break;
        }
        }
        free(o);
        o = next;
    }
    free(s->insts);
    free_stack(s);
    mem_vstack_keep(s->vstack, s->vstack_bytes);
    free(s);
}

int weft_store_set_limits(weft_store_t *s, const weft_limits_config_t *l)
{
    if (!l || !l->max_memory_pages || !l->max_table_elems || !l->max_call_depth ||
        l->max_stack_bytes < 4096)
        return WEFT_EARG;
    if (s->depth) return WEFT_EARG; /* not while a call runs */
    s->limits = *l;
    if (s->limits.max_memory_pages > MAX_PAGES) s->limits.max_memory_pages = MAX_PAGES;
    free_stack(s);
    if (s->vstack) { /* resized with the value stack */
        mem_vstack_keep(s->vstack, s->vstack_bytes);
        s->vstack = NULL;
        if (store_need_vstack(s)) return WEFT_ENOMEM;
    }
    return 0;
}

int store_need_vstack(weft_store_t *s)
{
    if (s->vstack) return 0;
    /* a store that uses no v128 pays nothing */
    size_t bytes = s->limits.max_stack_bytes / sizeof(slot_t) * 16;
    void *p = mem_vstack_take(bytes);
    if (!p) return WEFT_ENOMEM;
    s->vstack = p;
    s->vstack_bytes = bytes;
    return 0;
}

weft_limits_config_t weft_store_limits(const weft_store_t *s) { return s->limits; }

static int ensure_stack(weft_store_t *s)
{
    if (s->stack) return 0;
    s->stack_slots = s->limits.max_stack_bytes / sizeof(slot_t);
    s->stack = mem_spare_take(s->stack_slots * sizeof(slot_t));
    s->nframes_cap = s->limits.max_call_depth < 256 ? s->limits.max_call_depth : 256;
    s->frames = mem_spare_take((size_t)s->nframes_cap * sizeof(frame_t));
    if (!s->stack || !s->frames) {
        free_stack(s);
        return WEFT_ENOMEM;
    }
    s->stack_top = s->stack;
    return 0;
}

bool store_grow_frames(weft_store_t *s)
{
    if (s->nframes_cap >= s->limits.max_call_depth) return false;
    uint64_t cap = (uint64_t)s->nframes_cap * 2;
    if (cap > s->limits.max_call_depth) cap = s->limits.max_call_depth;
    frame_t *f = realloc(s->frames, cap * sizeof *f);
    if (!f) return false;
    s->frames = f;
    s->nframes_cap = (uint32_t)cap;
    return true;
}

void weft_store_set_fuel(weft_store_t *s, uint64_t fuel)
{
    s->fuel_on = true;
    s->fuel = fuel > INT64_MAX ? INT64_MAX : (int64_t)fuel;
}

void weft_store_disable_fuel(weft_store_t *s)
{
    s->fuel_on = false;
    s->fuel = INT64_MAX;
}

uint64_t weft_store_fuel(const weft_store_t *s) { return s->fuel_on ? (uint64_t)s->fuel : UINT64_MAX; }
void weft_store_interrupt(weft_store_t *s) { atomic_store(&s->interrupt, 1); }
void weft_store_clear_interrupt(weft_store_t *s) { atomic_store(&s->interrupt, 0); }
weft_trap_code_t weft_store_trap(const weft_store_t *s) { return s->trap; }
const char *weft_store_trap_message(const weft_store_t *s) { return s->trap_msg; }
const char *weft_store_errmsg(const weft_store_t *s) { return s->errmsg; }

size_t weft_store_trap_backtrace(const weft_store_t *s, uint32_t *out_funcs,
                                 const weft_module_t **out_modules, size_t max)
{
    for (size_t i = 0; i < s->bt_len && i < max; i++) {
        if (out_funcs) out_funcs[i] = s->bt_funcs[i];
        if (out_modules) out_modules[i] = s->bt_modules[i];
    }
    return s->bt_len;
}

/* ---- values ---------------------------------------------------------------- */

bool val_type_ok(const weft_val_t *v, uint8_t t) { return (uint8_t)v->type == t; }

/* A funcref value must name a function of the same store (or be null). */
static bool val_in_store(const weft_val_t *v, const weft_store_t *s)
{
    return v->type != WEFT_FUNCREF || !v->of.func || v->of.func->store == s;
}

static const weft_store_t *extern_store(const weft_extern_t *e)
{
    switch (e->kind) {
    case WEFT_EXTERN_FUNC: return e->of.func->store;
    case WEFT_EXTERN_TABLE: return e->of.table->store;
    case WEFT_EXTERN_MEMORY: return e->of.memory->store;
    case WEFT_EXTERN_GLOBAL: return e->of.global->store;
    }
    return NULL;
}

static inline __attribute__((always_inline)) slot_t slot_from_val(const weft_val_t *v)
{
    slot_t s = {0};
    switch (v->type) {
    case WEFT_I32: s.i32 = (uint32_t)v->of.i32; break;
    case WEFT_I64: s.i64 = (uint64_t)v->of.i64; break;
    case WEFT_F32: s.i32 = v->of.f32_bits; break;
    case WEFT_F64: s.i64 = v->of.f64_bits; break;
    case WEFT_FUNCREF: s.ref = v->of.func; break;
    case WEFT_EXTERNREF: s.ref = v->of.ref; break;
    default: break;
    }
    return s;
}

static inline __attribute__((always_inline)) weft_val_t val_from_slot(uint8_t t, slot_t s)
{
    weft_val_t v = {.type = (weft_valtype_t)t};
    switch (t) {
    case WEFT_I32: v.of.i32 = s.s32; break;
    case WEFT_I64: v.of.i64 = s.s64; break;
    case WEFT_F32: v.of.f32_bits = s.i32; break;
    case WEFT_F64: v.of.f64_bits = s.i64; break;
    case WEFT_FUNCREF: v.of.func = s.ref; break;
    case WEFT_EXTERNREF: v.of.ref = s.ref; break;
    }
    return v;
}

/* A value to or from value-stack slot p: a v128 lives in the store's
 * vstack beside it (docs/engine.md "SIMD"). */
static void put_val(weft_store_t *s, slot_t *p, const weft_val_t *v)
{
    if (v->type == WEFT_V128)
        memcpy(store_vslot(s, p), v->of.v128, 16);
    else
        *p = slot_from_val(v);
}

static weft_val_t get_val(const weft_store_t *s, uint8_t t, slot_t *p)
{
    if (t != WEFT_V128) return val_from_slot(t, *p);
    weft_val_t v = {.type = WEFT_V128};
    memcpy(v.of.v128, store_vslot(s, p), 16);
    return v;
}

static bool type_has_v128(const weft_functype_t *ft)
{
    for (uint32_t i = 0; i < ft->nparams + ft->nresults; i++)
        if (ft->types[i] == WEFT_V128) return true;
    return false;
}

/* ---- functions ------------------------------------------------------------- */

_Static_assert(sizeof(weft_raw_t) == sizeof(slot_t), "weft_raw_t must match slot_t");

static weft_func_t *new_host(weft_store_t *s, const weft_functype_t *ft, weft_host_fn_t fn,
                             weft_host_raw_fn_t raw, void *user, void (*finalizer)(void *))
{
    if (!ft || (!fn && !raw)) return NULL;
    /* A raw function sees the 8-byte slots only, which do not hold a v128. */
    if (type_has_v128(ft) && (raw || store_need_vstack(s))) return NULL;
    weft_func_t *f = calloc(1, sizeof *f);
    weft_functype_t *copy = functype_alloc(ft->nparams, ft->nresults);
    if (!f || !copy || own(s, OWN_FUNC, f)) {
        free(f);
        free(copy);
        return NULL;
    }
    memcpy(copy->types, ft->types, ft->nparams + ft->nresults);
    f->store = s;
    f->type = f->owned_type = copy;
    f->host = fn;
    f->raw = raw;
    for (uint32_t i = 0; i < ft->nresults; i++)
        if (ft->types[ft->nparams + i] == WEFT_FUNCREF) f->raw_checks_refs = true;
    f->user = user;
    f->finalizer = finalizer;
    return f;
}

weft_func_t *weft_func_new_host(weft_store_t *s, const weft_functype_t *ft, weft_host_fn_t fn,
                                void *user, void (*finalizer)(void *))
{
    return fn ? new_host(s, ft, fn, NULL, user, finalizer) : NULL;
}

weft_func_t *weft_func_new_host_raw(weft_store_t *s, const weft_functype_t *ft, weft_host_raw_fn_t fn,
                                    void *user, void (*finalizer)(void *))
{
    return fn ? new_host(s, ft, NULL, fn, user, finalizer) : NULL;
}

const weft_functype_t *weft_func_type(const weft_func_t *f) { return f->type; }

int weft_caller_trap(weft_caller_t *caller, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(caller->store->trap_msg, sizeof caller->store->trap_msg, fmt, ap);
    va_end(ap);
    caller->store->trap = WEFT_TRAP_HOST;
    return WEFT_ETRAP;
}

int weft_caller_exit(weft_caller_t *caller, int status)
{
    weft_store_t *s = caller->store;
    s->exit_status = status;
    snprintf(s->trap_msg, sizeof s->trap_msg, "exit with status %d", status);
    s->trap = WEFT_TRAP_EXIT;
    return WEFT_ETRAP;
}

int weft_caller_check_interrupt(weft_caller_t *caller)
{
    weft_store_t *s = caller->store;
    if (!atomic_load_explicit(&s->interrupt, memory_order_relaxed)) return 0;
    store_trap(s, WEFT_TRAP_INTERRUPTED, "%s", weft_trap_string(WEFT_TRAP_INTERRUPTED));
    return WEFT_ETRAP;
}

int weft_caller_consume_fuel(weft_caller_t *caller, uint64_t units)
{
    weft_store_t *s = caller->store;
    if (!s->fuel_on) return 0;
    if ((uint64_t)s->fuel < units) {
        s->fuel = 0;
        store_trap(s, WEFT_TRAP_OUT_OF_FUEL, "%s", weft_trap_string(WEFT_TRAP_OUT_OF_FUEL));
        return WEFT_ETRAP;
    }
    s->fuel -= (int64_t)units;
    return 0;
}

int weft_store_exit_status(const weft_store_t *s) { return s->trap == WEFT_TRAP_EXIT ? s->exit_status : 0; }

weft_store_t *weft_caller_store(weft_caller_t *caller) { return caller->store; }

weft_memory_t *weft_caller_memory(weft_caller_t *caller, const char *name)
{
    if (!caller->inst) return NULL;
    if (!name) return caller->inst->mems ? caller->inst->mems[0] : NULL;
    if (strcmp(name, "memory") == 0) return caller->inst->memory_export; /* every host call asks */
    weft_extern_t ext;
    if (weft_instance_export(caller->inst, name, &ext) || ext.kind != WEFT_EXTERN_MEMORY) return NULL;
    return ext.of.memory;
}

int weft_caller_export(weft_caller_t *caller, const char *name, weft_extern_t *out)
{
    if (!caller->inst) return WEFT_ENOTFOUND;
    return weft_instance_export(caller->inst, name, out);
}

weft_trap_code_t runtime_call_host(weft_store_t *s, weft_func_t *f, weft_instance_t *caller_inst,
                                   slot_t *args)
{
    const weft_functype_t *ft = f->type;
    if (f->raw) { /* zero copy: the arguments are read and results written in place */
        weft_caller_t caller = {s, caller_inst};
        s->trap = WEFT_TRAP_NONE;
        if (f->raw(&caller, f->user, (weft_raw_t *)args) != 0) {
            if (s->trap == WEFT_TRAP_NONE) store_trap(s, WEFT_TRAP_HOST, "host function failed");
            return s->trap;
        }
        if (f->raw_checks_refs) {
            for (uint32_t i = 0; i < ft->nresults; i++) {
                weft_func_t *r = args[i].ref;
                if (ft->types[ft->nparams + i] == WEFT_FUNCREF && r && r->store != s)
                    return store_trap(s, WEFT_TRAP_HOST, "host function returned a function of another store");
            }
        }
        return WEFT_TRAP_NONE;
    }
    weft_val_t small[16], *argv = small, *resv;
    size_t need = (size_t)ft->nparams + ft->nresults;
    if (need > 16) {
        argv = malloc(need * sizeof *argv);
        if (!argv) return store_trap(s, WEFT_TRAP_NOMEM, "out of memory calling a host function");
    }
    resv = argv + ft->nparams;
    const uint8_t *pt = ft->types, *rt = ft->types + ft->nparams;
    for (uint32_t i = 0; i < ft->nparams; i++) argv[i] = get_val(s, pt[i], &args[i]);
    for (uint32_t i = 0; i < ft->nresults; i++) resv[i] = (weft_val_t){.type = (weft_valtype_t)rt[i]};
    weft_caller_t caller = {s, caller_inst};
    s->trap = WEFT_TRAP_NONE;
    int rc = f->host(&caller, f->user, argv, resv);
    weft_trap_code_t tc = WEFT_TRAP_NONE;
    if (rc != 0) {
        if (s->trap == WEFT_TRAP_NONE)
            store_trap(s, WEFT_TRAP_HOST, "host function failed (%s)", weft_strerror(rc));
        tc = s->trap;
    } else {
        for (uint32_t i = 0; i < ft->nresults; i++) {
            resv[i].type = (weft_valtype_t)rt[i]; /* the type is the declared one, whatever was written */
            if (!val_in_store(&resv[i], s)) {
                tc = store_trap(s, WEFT_TRAP_HOST, "host function returned a function of another store");
                break;
            }
        }
        for (uint32_t i = 0; !tc && i < ft->nresults; i++) put_val(s, &args[i], &resv[i]);
    }
    if (argv != small) free(argv);
    return tc;
}

int weft_func_call(weft_store_t *s, weft_func_t *f, const weft_val_t *args, size_t nargs,
                   weft_val_t *results, size_t nresults)
{
    const weft_functype_t *ft = f->type;
    if (f->store != s) {
        errmsg(s, "the function belongs to another store");
        return WEFT_EARG;
    }
    if (nargs != ft->nparams || nresults != ft->nresults) {
        errmsg(s, "wrong number of arguments or results: function takes %u and returns %u",
               ft->nparams, ft->nresults);
        return WEFT_EARG;
    }
    for (size_t i = 0; i < nargs; i++) {
        if (!val_in_store(&args[i], s)) {
            errmsg(s, "argument %zu is a function of another store", i);
            return WEFT_EARG;
        }
        if (!val_type_ok(&args[i], functype_params(ft)[i])) {
            errmsg(s, "argument %zu has type %s, expected %s", i, weft_valtype_name(args[i].type),
                   weft_valtype_name((weft_valtype_t)functype_params(ft)[i]));
            return WEFT_EARG;
        }
        if (args[i].type == WEFT_V128 && store_need_vstack(s)) {
            errmsg(s, "out of memory allocating the vector stack");
            return WEFT_ENOMEM;
        }
    }
    if (ensure_stack(s)) {
        errmsg(s, "out of memory allocating the value stack");
        return WEFT_ENOMEM;
    }
    if (s->reentry == 0) {
        s->trap = WEFT_TRAP_NONE;
        s->trap_msg[0] = 0;
        s->bt_len = 0;
        s->stack_top = s->stack;
        if (!s->fuel_on) s->fuel = INT64_MAX;
    }
    slot_t *base = s->stack_top;
    size_t width = ft->nparams > ft->nresults ? ft->nparams : ft->nresults;
    if (s->reentry >= MAX_REENTRY || base + width > s->stack + s->stack_slots) {
        store_trap(s, WEFT_TRAP_STACK_EXHAUSTED, "%s", weft_trap_string(WEFT_TRAP_STACK_EXHAUSTED));
        return WEFT_ETRAP;
    }
    for (size_t i = 0; i < nargs; i++) put_val(s, &base[i], &args[i]);
    slot_t *saved_top = s->stack_top;
    s->stack_top = base + width;
    s->reentry++;
    weft_trap_code_t tc = f->def ? interp_call(s, f, base) : runtime_call_host(s, f, NULL, base);
    s->reentry--;
    s->stack_top = saved_top;
    if (tc) return WEFT_ETRAP;
    for (size_t i = 0; i < nresults; i++) results[i] = get_val(s, functype_results(ft)[i], &base[i]);
    return 0;
}

/* ---- memories --------------------------------------------------------------- */

weft_memory_t *weft_memory_new(weft_store_t *s, weft_limits_t limits)
{
    if (limits.min > s->limits.max_memory_pages || (limits.has_max && limits.max < limits.min) ||
        (limits.has_max && limits.max > MAX_PAGES))
        return NULL;
    weft_memory_t *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->size = (uint64_t)limits.min * PAGE_SIZE;
    m->data = mem_bytes_new(m->size, &m->cap, &m->guarded); /* NULL for no pages unguarded */
    if ((m->size && !m->data) || own(s, OWN_MEMORY, m)) {
        mem_bytes_free(m->data, m->cap, m->size, m->guarded);
        free(m);
        return NULL;
    }
    m->limits = limits;
    m->store = s;
    return m;
}

bool memory_grow_fits(const weft_memory_t *m, uint32_t delta)
{
    uint64_t want = m->size / PAGE_SIZE + delta;
    uint64_t cap = m->store->limits.max_memory_pages;
    if (m->limits.has_max && m->limits.max < cap) cap = m->limits.max;
    return want <= cap;
}

int32_t memory_grow_pages(weft_memory_t *m, uint32_t delta)
{
    uint32_t old = (uint32_t)(m->size / PAGE_SIZE);
    uint64_t want = (uint64_t)old + delta;
    if (!memory_grow_fits(m, delta)) return -1;
    if (delta == 0) return (int32_t)old;
    uint64_t bytes = want * PAGE_SIZE;
    if (!m->data) {
        if (!(m->data = mem_bytes_new(bytes, &m->cap, &m->guarded))) return -1;
    } else if (mem_bytes_grow(&m->data, &m->cap, m->size, bytes, m->guarded) != 0) {
        return -1;
    }
    m->size = bytes;
    return (int32_t)old;
}

size_t weft_memory_size(const weft_memory_t *m) { return (size_t)m->size; }
uint32_t weft_memory_pages(const weft_memory_t *m) { return (uint32_t)(m->size / PAGE_SIZE); }
weft_limits_t weft_memory_limits(const weft_memory_t *m) { return m->limits; }

int weft_memory_grow(weft_memory_t *m, uint32_t delta, uint32_t *out_old)
{
    int32_t r = memory_grow_pages(m, delta);
    if (r < 0) return WEFT_ELIMIT;
    if (out_old) *out_old = (uint32_t)r;
    return 0;
}

static bool in_bounds(uint64_t size, uint64_t off, size_t len)
{
    return off <= size && len <= size - off;
}

int weft_memory_read(const weft_memory_t *m, uint64_t off, void *out, size_t len)
{
    if (!in_bounds(m->size, off, len)) return WEFT_EARG;
    if (len) memcpy(out, m->data + off, len);
    return 0;
}

int weft_memory_write(weft_memory_t *m, uint64_t off, const void *data, size_t len)
{
    if (!in_bounds(m->size, off, len)) return WEFT_EARG;
    if (len) memcpy(m->data + off, data, len);
    return 0;
}

uint8_t *weft_memory_ptr(weft_memory_t *m, uint64_t off, size_t len)
{
    static uint8_t empty; /* an empty range of a memory of size 0: valid, never read */
    if (!in_bounds(m->size, off, len)) return NULL;
    return m->data ? m->data + off : &empty;
}

/* ---- tables ------------------------------------------------------------------ */

static bool is_reftype(uint8_t t) { return t == WEFT_FUNCREF || t == WEFT_EXTERNREF; }

/* Whether the store's budget of table elements has room for n more. */
static bool table_budget_has(const weft_store_t *s, uint64_t n)
{
    return s->table_elems <= s->limits.max_table_elems && n <= s->limits.max_table_elems - s->table_elems;
}

weft_table_t *weft_table_new(weft_store_t *s, weft_valtype_t elem, weft_limits_t limits,
                             const weft_val_t *init)
{
    if (!is_reftype(elem) || (limits.has_max && limits.max < limits.min) ||
        (init && (init->type != elem || !val_in_store(init, s))))
        return NULL;
    if (!table_budget_has(s, limits.min)) {
        errmsg(s, "a table of %u elements exceeds the store's limit of %u table elements (%llu in use)",
               limits.min, s->limits.max_table_elems, (unsigned long long)s->table_elems);
        return NULL;
    }
    weft_table_t *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->elems = calloc(limits.min ? limits.min : 1, sizeof(void *));
    if (!t->elems || own(s, OWN_TABLE, t)) {
        free(t->elems);
        free(t);
        return NULL;
    }
    void *v = init ? slot_from_val(init).ref : NULL;
    for (uint32_t i = 0; i < limits.min; i++) t->elems[i] = v;
    t->size = limits.min;
    t->type = (uint8_t)elem;
    t->limits = limits;
    t->store = s;
    s->table_elems += limits.min;
    return t;
}

bool table_grow_fits(const weft_table_t *t, uint32_t delta)
{
    uint64_t want = (uint64_t)t->size + delta;
    if (t->limits.has_max && want > t->limits.max) return false;
    return want <= INT32_MAX && table_budget_has(t->store, delta);
}

int32_t table_grow_elems(weft_table_t *t, uint32_t delta, void *init)
{
    uint32_t old = t->size;
    uint64_t want = (uint64_t)old + delta;
    if (!table_grow_fits(t, delta)) return -1;
    if (delta == 0) return (int32_t)old;
    void **p = realloc(t->elems, want * sizeof(void *));
    if (!p) return -1;
    for (uint64_t i = old; i < want; i++) p[i] = init;
    t->elems = p;
    t->size = (uint32_t)want;
    t->store->table_elems += delta;
    return (int32_t)old;
}

uint32_t weft_table_size(const weft_table_t *t) { return t->size; }
weft_valtype_t weft_table_elemtype(const weft_table_t *t) { return (weft_valtype_t)t->type; }

int weft_table_get(const weft_table_t *t, uint32_t i, weft_val_t *out)
{
    if (i >= t->size) return WEFT_EARG;
    *out = val_from_slot(t->type, (slot_t){.ref = t->elems[i]});
    return 0;
}

int weft_table_set(weft_table_t *t, uint32_t i, const weft_val_t *v)
{
    if (i >= t->size || v->type != t->type || !val_in_store(v, t->store)) return WEFT_EARG;
    t->elems[i] = slot_from_val(v).ref;
    return 0;
}

/* ---- globals ------------------------------------------------------------------- */

weft_global_t *weft_global_new(weft_store_t *s, weft_valtype_t type, int mut, const weft_val_t *init)
{
    if (!init || init->type != type || !val_in_store(init, s)) return NULL;
    weft_global_t *g = calloc(1, sizeof *g);
    if (!g || own(s, OWN_GLOBAL, g)) {
        free(g);
        return NULL;
    }
    g->store = s;
    g->type = (uint8_t)type;
    g->mut = mut != 0;
    g->val = slot_from_val(init);
    if (type == WEFT_V128) memcpy(g->v128, init->of.v128, 16);
    return g;
}

weft_valtype_t weft_global_type(const weft_global_t *g) { return (weft_valtype_t)g->type; }
int weft_global_mutable(const weft_global_t *g) { return g->mut; }
void weft_global_get(const weft_global_t *g, weft_val_t *out)
{
    *out = val_from_slot(g->type, g->val);
    if (g->type == WEFT_V128) memcpy(out->of.v128, g->v128, 16);
}

int weft_global_set(weft_global_t *g, const weft_val_t *v)
{
    if (!g->mut || v->type != g->type || !val_in_store(v, g->store)) return WEFT_EARG;
    g->val = slot_from_val(v);
    if (g->type == WEFT_V128) memcpy(g->v128, v->of.v128, 16);
    return 0;
}

/* ---- linker and instantiation ------------------------------------------------- */

typedef struct {
    char *module, *name;
    size_t module_len, name_len;
    weft_extern_t ext;
} def_t;

/* Definitions are found through an open-addressing hash of (module, name)
 * (slots hold a def index + 1; 0 is empty; at most half full), so defining
 * an instance of 200,000 exports and linking a module importing them all
 * stay linear. */
struct weft_linker {
    weft_store_t *store;
    def_t *defs;
    size_t n, cap;
    uint32_t *slots;
    size_t nslots; /* a power of two, or 0 */
};

static size_t def_hash(const char *module, size_t mlen, const char *name, size_t nlen)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < mlen; i++) h = (h ^ (uint8_t)module[i]) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull; /* 0xff never occurs in UTF-8: a separator */
    for (size_t i = 0; i < nlen; i++) h = (h ^ (uint8_t)name[i]) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static void slot_insert(weft_linker_t *l, size_t def)
{
    const def_t *d = &l->defs[def];
    size_t mask = l->nslots - 1, k = def_hash(d->module, d->module_len, d->name, d->name_len) & mask;
    while (l->slots[k]) k = (k + 1) & mask;
    l->slots[k] = (uint32_t)def + 1;
}

weft_linker_t *weft_linker_new(weft_store_t *s)
{
    weft_linker_t *l = calloc(1, sizeof *l);
    if (l) l->store = s;
    return l;
}

void weft_linker_delete(weft_linker_t *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->defs[i].module);
        free(l->defs[i].name);
    }
    free(l->defs);
    free(l->slots);
    free(l);
}

static def_t *find_def(weft_linker_t *l, const char *module, size_t mlen, const char *name, size_t nlen)
{
    if (!l->nslots) return NULL;
    size_t mask = l->nslots - 1, k = def_hash(module, mlen, name, nlen) & mask;
    for (; l->slots[k]; k = (k + 1) & mask) {
        def_t *d = &l->defs[l->slots[k] - 1];
        if (d->module_len == mlen && memcmp(d->module, module, mlen) == 0 && d->name_len == nlen &&
            memcmp(d->name, name, nlen) == 0)
            return d;
    }
    return NULL;
}

static int define_n(weft_linker_t *l, const char *module, const char *name, size_t nlen,
                    const weft_extern_t *ext)
{
    size_t mlen = strlen(module);
    def_t *d = find_def(l, module, mlen, name, nlen);
    if (d) {
        d->ext = *ext;
        return 0;
    }
    if (l->n >= UINT32_MAX - 1) return WEFT_ENOMEM;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        def_t *p = realloc(l->defs, cap * sizeof *p);
        if (!p) return WEFT_ENOMEM;
        l->defs = p;
        l->cap = cap;
    }
    if ((l->n + 1) * 2 > l->nslots) { /* rehash into twice the slots */
        size_t nslots = l->nslots ? l->nslots * 2 : 64;
        uint32_t *slots = calloc(nslots, sizeof *slots);
        if (!slots) return WEFT_ENOMEM;
        free(l->slots);
        l->slots = slots;
        l->nslots = nslots;
        for (size_t i = 0; i < l->n; i++) slot_insert(l, i);
    }
    char *m = malloc(mlen + 1), *n = malloc(nlen + 1);
    if (!m || !n) {
        free(m);
        free(n);
        return WEFT_ENOMEM;
    }
    memcpy(m, module, mlen + 1);
    memcpy(n, name, nlen);
    n[nlen] = 0;
    l->defs[l->n] = (def_t){m, n, mlen, nlen, *ext};
    slot_insert(l, l->n++);
    return 0;
}

int weft_linker_define(weft_linker_t *l, const char *module, const char *name, const weft_extern_t *ext)
{
    if (!l || !module || !name || !ext) return WEFT_EARG;
    return define_n(l, module, name, strlen(name), ext);
}

int weft_linker_define_func(weft_linker_t *l, const char *module, const char *name,
                            const weft_functype_t *ft, weft_host_fn_t fn, void *user)
{
    weft_func_t *f = weft_func_new_host(l->store, ft, fn, user, NULL);
    if (!f) return WEFT_ENOMEM;
    weft_extern_t ext = {.kind = WEFT_EXTERN_FUNC, .of.func = f};
    return weft_linker_define(l, module, name, &ext);
}

int weft_linker_define_func_raw(weft_linker_t *l, const char *module, const char *name,
                                const weft_functype_t *ft, weft_host_raw_fn_t fn, void *user)
{
    weft_func_t *f = weft_func_new_host_raw(l->store, ft, fn, user, NULL);
    if (!f) return WEFT_ENOMEM;
    weft_extern_t ext = {.kind = WEFT_EXTERN_FUNC, .of.func = f};
    return weft_linker_define(l, module, name, &ext);
}

int weft_linker_define_instance(weft_linker_t *l, const char *module, weft_instance_t *inst)
{
    const weft_module_t *m = inst->module;
    for (uint32_t i = 0; i < m->nexports; i++) {
        weft_extern_t ext;
        weft_instance_export_n(inst, m->exports[i].name, m->exports[i].name_len, &ext);
        int rc = define_n(l, module, m->exports[i].name, m->exports[i].name_len, &ext);
        if (rc) return rc;
    }
    return 0;
}

static bool limits_match(weft_limits_t have, uint32_t have_size, weft_limits_t want)
{
    if (have_size < want.min) return false;
    if (want.has_max) {
        if (!have.has_max || have.max > want.max) return false;
    }
    return true;
}

/* Checks one import against its definition; writes the reason on mismatch. */
static bool import_matches(weft_store_t *s, const weft_module_t *m, const importdef_t *im,
                           const weft_extern_t *ext)
{
    const char *why = NULL;
    if (extern_store(ext) != s) {
        errmsg(s, "incompatible import for %s.%s: it belongs to another store", im->module, im->name);
        return false;
    }
    if (ext->kind != im->kind) {
        errmsg(s, "incompatible import type for %s.%s: expected %s, found %s", im->module, im->name,
               weft_externkind_name(im->kind), weft_externkind_name(ext->kind));
        return false;
    }
    switch (im->kind) {
    case WEFT_EXTERN_FUNC:
        if (!weft_functype_equal(ext->of.func->type, m->types[im->index])) why = "function type differs";
        break;
    case WEFT_EXTERN_TABLE: {
        const tabledef_t *t = &m->tables[im->index];
        weft_table_t *have = ext->of.table;
        if (have->type != t->elem) why = "table element type differs";
        else if (!limits_match(have->limits, have->size, t->limits)) why = "table limits do not match";
        break;
    }
    case WEFT_EXTERN_MEMORY: {
        weft_memory_t *have = ext->of.memory;
        if (!limits_match(have->limits, weft_memory_pages(have), m->mems[im->index]))
            why = "memory limits do not match";
        break;
    }
    case WEFT_EXTERN_GLOBAL: {
        const globaldef_t *g = &m->globals[im->index];
        if (ext->of.global->type != g->type) why = "global type differs";
        else if (ext->of.global->mut != g->mut) why = "global mutability differs";
        break;
    }
    }
    if (why) {
        errmsg(s, "incompatible import type for %s.%s: %s", im->module, im->name, why);
        return false;
    }
    return true;
}

static slot_t eval_const(weft_instance_t *inst, const constexpr_t *c);

/* A CE_EXPR: its instructions in postfix order on a small stack (decode.c
 * checked their types and that the stack stays within MAX_CONST_DEPTH). */
static slot_t eval_expr(weft_instance_t *inst, const constexpr_t *c)
{
    slot_t st[MAX_CONST_DEPTH];
    uint32_t sp = 0;
    const constexpr_t *ops = inst->module->cexpr_ops + c->value;
    for (uint32_t i = 0; i < c->nops; i++) {
        const constexpr_t *o = &ops[i];
        if (o->kind < CE_I32_ADD) { /* a value */
            st[sp++] = eval_const(inst, o);
            continue;
        }
        slot_t *a = &st[sp - 2], b = st[sp - 1];
        sp--;
        switch (o->kind) {
        case CE_I32_ADD: a->i32 += b.i32; break;
        case CE_I32_SUB: a->i32 -= b.i32; break;
        case CE_I32_MUL: a->i32 *= b.i32; break;
        case CE_I64_ADD: a->i64 += b.i64; break;
        case CE_I64_SUB: a->i64 -= b.i64; break;
        case CE_I64_MUL: a->i64 *= b.i64; break;
        }
    }
    return st[0];
}

static slot_t eval_const(weft_instance_t *inst, const constexpr_t *c)
{
    slot_t v = {0};
    switch (c->kind) {
    case CE_EXPR: v = eval_expr(inst, c); break;
    case CE_I32: v.i32 = (uint32_t)c->value; break;
    case CE_F32: v.i32 = (uint32_t)c->value; break;
    case CE_I64:
    case CE_F64: v.i64 = c->value; break;
    case CE_REF_NULL: v.ref = NULL; break;
    case CE_REF_FUNC: v.ref = inst->funcs[c->value]; break;
    case CE_GLOBAL_GET: v = inst->globals[c->value]->val; break;
    }
    return v;
}

/* Defined global i's initial value (a v128 keeps its 16 bytes beside val). */
static void init_global(weft_instance_t *in, uint32_t i)
{
    const constexpr_t *ce = &in->module->globals[i].init;
    weft_global_t *g = in->globals[i];
    g->val = eval_const(in, ce);
    if (ce->kind == CE_V128) memcpy(g->v128, in->module->bytes + ce->value, 16);
    if (ce->kind == CE_GLOBAL_GET && g->type == WEFT_V128) memcpy(g->v128, in->globals[ce->value]->v128, 16);
}

/* Steps 3 and 4 of instantiation, also what weft_instance_reset does again:
 * the segments, in order (one that does not fit traps), then the start
 * function. */
static int init_instance(weft_store_t *s, weft_instance_t *in)
{
    const weft_module_t *m = in->module;
    for (uint32_t i = 0; i < m->nelems; i++) {
        const elemdef_t *el = &m->elems[i];
        if (el->mode == SEG_ACTIVE) {
            uint32_t off = eval_const(in, &el->offset).i32;
            weft_table_t *t = in->tables[el->table];
            if ((uint64_t)off + el->count > t->size) {
                store_trap(s, WEFT_TRAP_TABLE_OOB, "%s", weft_trap_string(WEFT_TRAP_TABLE_OOB));
                errmsg(s, "element segment %u does not fit in table %u", i, el->table);
                return WEFT_ETRAP;
            }
            for (uint32_t k = 0; k < el->count; k++) t->elems[off + k] = eval_const(in, &el->items[k]).ref;
        }
        if (el->mode != SEG_PASSIVE) in->dropped_elems[i] = 1;
    }
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const datadef_t *d = &m->datas[i];
        if (d->mode != SEG_ACTIVE) continue;
        uint32_t off = eval_const(in, &d->offset).i32;
        weft_memory_t *mem = in->mems[d->memory];
        if ((uint64_t)off + d->len > mem->size) {
            store_trap(s, WEFT_TRAP_MEMORY_OOB, "%s", weft_trap_string(WEFT_TRAP_MEMORY_OOB));
            errmsg(s, "data segment %u does not fit in memory", i);
            return WEFT_ETRAP;
        }
        if (d->len) memcpy(mem->data + off, d->bytes, d->len);
        in->dropped_datas[i] = 1;
    }
    if (m->start >= 0) {
        int rc = weft_func_call(s, in->funcs[m->start], NULL, 0, NULL, 0);
        if (rc) {
            if (rc == WEFT_ETRAP) errmsg(s, "start function trapped: %s", s->trap_msg);
            return rc;
        }
    }
    return 0;
}

int weft_linker_instantiate(weft_linker_t *l, weft_module_t *m, weft_instance_t **out)
{
    weft_store_t *s = l->store;
    *out = NULL;
    s->errmsg[0] = 0;
    /* 1. resolve every import before allocating anything */
    const weft_extern_t **resolved = calloc(m->nimports + 1, sizeof *resolved);
    if (!resolved) return WEFT_ENOMEM;
    for (uint32_t i = 0; i < m->nimports; i++) {
        const importdef_t *im = &m->imports[i];
        def_t *d = find_def(l, im->module, im->module_len, im->name, im->name_len);
        if (!d) {
            errmsg(s, "unknown import %s.%s (%s)", im->module, im->name, weft_externkind_name(im->kind));
            free(resolved);
            return WEFT_EUNLINKABLE;
        }
        if (!import_matches(s, m, im, &d->ext)) {
            free(resolved);
            return WEFT_EUNLINKABLE;
        }
        resolved[i] = &d->ext;
    }
    for (uint32_t i = m->nmem_imports; i < m->nmems; i++) {
        if (m->mems[i].min > s->limits.max_memory_pages) {
            errmsg(s, "memory of %u pages exceeds the store's limit of %u pages", m->mems[i].min,
                   s->limits.max_memory_pages);
            free(resolved);
            return WEFT_ELIMIT;
        }
    }
    /* One budget for the elements of all the store's tables: 100 tables
     * of 10M elements each must not pass where one would not. */
    uint64_t elems = 0;
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++) elems += m->tables[i].limits.min;
    if (!table_budget_has(s, elems)) {
        if (m->ntables - m->ntable_imports == 1 && !s->table_elems)
            errmsg(s, "table of %llu elements exceeds the store's limit of %u table elements",
                   (unsigned long long)elems, s->limits.max_table_elems);
        else
            errmsg(s, "tables of %llu elements in all exceed the store's limit of %u table elements (%llu in use)",
                   (unsigned long long)elems, s->limits.max_table_elems,
                   (unsigned long long)s->table_elems);
        free(resolved);
        return WEFT_ELIMIT;
    }

    /* 2. allocate */
    if (m->uses_v128 && store_need_vstack(s)) {
        errmsg(s, "out of memory allocating the vector stack");
        free(resolved);
        return WEFT_ENOMEM;
    }
    weft_instance_t *in = calloc(1, sizeof *in);
    if (!in || own(s, OWN_INSTANCE, in)) {
        free(in);
        free(resolved);
        return WEFT_ENOMEM;
    }
    atomic_fetch_add(&m->refs, 1);
    in->module = m;
    in->store = s;
    if (s->ninsts == s->cap_insts) {
        uint32_t nc = s->cap_insts ? s->cap_insts * 2 : 8;
        instance_t **nv = realloc(s->insts, nc * sizeof *nv);
        if (!nv) goto nomem;
        s->insts = nv;
        s->cap_insts = nc;
    }
    s->insts[s->ninsts++] = in;
    s->nstate_defined += (m->nmems - m->nmem_imports) + (m->ntables - m->ntable_imports) +
                         (m->nglobals - m->nglobal_imports);
    in->funcs = calloc(m->nfuncs + 1, sizeof *in->funcs);
    in->tables = m->ntables ? calloc(m->ntables, sizeof *in->tables) : NULL;
    in->mems = m->nmems ? calloc(m->nmems, sizeof *in->mems) : NULL;
    in->globals = calloc(m->nglobals + 1, sizeof *in->globals);
    in->dropped_elems = calloc(m->nelems + 1, 1);
    in->dropped_datas = calloc(m->ndatas + 1, 1);
    if (!in->funcs || (m->ntables && !in->tables) || (m->nmems && !in->mems) || !in->globals ||
        !in->dropped_elems || !in->dropped_datas)
        goto nomem;
    uint32_t fi = 0, ti = 0, mi = 0, gi = 0;
    for (uint32_t i = 0; i < m->nimports; i++) {
        const weft_extern_t *e = resolved[i];
        switch (m->imports[i].kind) {
        case WEFT_EXTERN_FUNC: in->funcs[fi++] = e->of.func; break;
        case WEFT_EXTERN_TABLE: in->tables[ti++] = e->of.table; break;
        case WEFT_EXTERN_MEMORY: in->mems[mi++] = e->of.memory; break;
        case WEFT_EXTERN_GLOBAL: in->globals[gi++] = e->of.global; break;
        }
    }
    free(resolved);
    resolved = NULL;
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++) {
        weft_func_t *f = calloc(1, sizeof *f);
        if (!f || own(s, OWN_FUNC, f)) {
            free(f);
            goto nomem;
        }
        f->store = s;
        f->type = m->types[m->func_types[i]];
        f->inst = in;
        f->def = &m->funcs[i - m->nfunc_imports];
        f->index = i;
        in->funcs[i] = f;
    }
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++) {
        in->tables[i] = weft_table_new(s, (weft_valtype_t)m->tables[i].elem, m->tables[i].limits, NULL);
        if (!in->tables[i]) goto nomem;
    }
    for (uint32_t i = m->nmem_imports; i < m->nmems; i++) {
        in->mems[i] = weft_memory_new(s, m->mems[i]);
        if (!in->mems[i]) goto nomem;
    }
    if (m->jit_guarded && !in->mems[0]->guarded) {
        /* Compiled without bounds checks (jit/guard.c): memory 0 must be a
         * reservation, which the address space (ulimit -v, or thousands of
         * live memories) did not allow since the module was loaded. */
        errmsg(s, "memory 0 has no guard region, which this module's compiled code needs "
                  "(address space limited or exhausted)");
        return WEFT_ENOMEM;
    }
    for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) {
        weft_global_t *g = calloc(1, sizeof *g);
        if (!g || own(s, OWN_GLOBAL, g)) {
            free(g);
            goto nomem;
        }
        g->store = s;
        g->type = m->globals[i].type;
        g->mut = m->globals[i].mut;
        in->globals[i] = g;
        init_global(in, i);
    }

    weft_extern_t mx;
    if (weft_instance_export(in, "memory", &mx) == 0 && mx.kind == WEFT_EXTERN_MEMORY)
        in->memory_export = mx.of.memory;

    /* 3. segments and 4. the start function */
    int rc = init_instance(s, in);
    if (rc) return rc;
    in->owned_mark = s->owned; /* weft_instance_reset: nothing made since */
    *out = in;
    return 0;

nomem:
    free(resolved);
    errmsg(s, "out of memory instantiating module");
    return WEFT_ENOMEM;
}

/* ---- reset: an instance made new again in its store (weft/instance.h) ---- */

int weft_instance_can_reset(const weft_instance_t *in)
{
    weft_store_t *s = in->store;
    const weft_module_t *m = in->module;
    /* An object made in the store after the instance (a host function, a
     * table or memory a host call made) would outlive every reset, and
     * what the instance imports is not its own to reset: both refused. */
    if (s->owned != in->owned_mark || s->reentry) {
        errmsg(s, "the store holds objects made after the instance, or is running it");
        return WEFT_EARG;
    }
    if (m->nmem_imports || m->ntable_imports) {
        errmsg(s, "the instance imports a memory or a table, which a reset cannot restore");
        return WEFT_EARG;
    }
    for (uint32_t i = 0; i < m->nglobal_imports; i++) {
        if (in->globals[i]->mut) {
            errmsg(s, "the instance imports a mutable global, which a reset cannot restore");
            return WEFT_EARG;
        }
    }
    return 0;
}

/* The store's trap, exit status and message cleared, as before any call.
 * Not the interrupt flag: it may have been raised for the call the reset
 * is for (a deadline that passed while memories were cleared), and only
 * the embedder knows whether a raised flag is stale, so it clears it
 * before it arms the next call's deadline (weft/store.h). */
static void clear_store_state(weft_store_t *s)
{
    s->trap = WEFT_TRAP_NONE;
    s->trap_msg[0] = 0;
    s->exit_status = 0;
    s->bt_len = 0;
    s->depth = 0;
}

/* What instantiation's step 2 left in the objects `in` defines, again:
 * its memories zero at their minimum size, its tables null at theirs, its
 * globals their initial values, no segment dropped. What it imports is
 * another's (or refused by the callers). */
static int clear_instance(weft_store_t *s, weft_instance_t *in)
{
    const weft_module_t *m = in->module;
    /* memories: every byte zero again (mempool's clearing, in place), the
     * size back to the minimum */
    for (uint32_t i = m->nmem_imports; i < m->nmems; i++) {
        weft_memory_t *mem = in->mems[i];
        uint64_t size = (uint64_t)m->mems[i].min * PAGE_SIZE;
        if (mem->data && mem_bytes_clear(mem->data, &mem->cap, mem->size, size, mem->guarded) != 0) {
            errmsg(s, "cannot clear a memory");
            return WEFT_ENOMEM;
        }
        mem->size = size;
    }
    /* tables: back to their minimum size, every element null (then the
     * segments); the store's element budget given back */
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++) {
        weft_table_t *t = in->tables[i];
        uint32_t min = m->tables[i].limits.min;
        s->table_elems -= t->size - min;
        memset(t->elems, 0, (size_t)min * sizeof *t->elems);
        t->size = min;
    }
    for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) init_global(in, i);
    memset(in->dropped_elems, 0, m->nelems);
    memset(in->dropped_datas, 0, m->ndatas);
    return 0;
}

int weft_instance_reset(weft_instance_t *in)
{
    weft_store_t *s = in->store;
    s->errmsg[0] = 0;
    int rc = weft_instance_can_reset(in);
    if (rc) return rc;
    clear_store_state(s);
    if ((rc = clear_instance(s, in))) return rc;
    return init_instance(s, in);
}

/* ---- reset of a whole store (a component's core instances) ---- */

uint64_t weft_store_objects(const weft_store_t *s) { return s->nmade; }

int weft_store_can_reset(const weft_store_t *s, uint64_t objects)
{
    weft_store_t *w = (weft_store_t *)s; /* errmsg only */
    if (s->nmade != objects || s->reentry) {
        errmsg(w, "the store made objects since its instances were, or is running");
        return WEFT_EARG;
    }
    /* Every memory, table and global is one an instance defines: an
     * instance's imports are then other instances' objects, reset by
     * their owners in order; one the embedder made would keep its state. */
    if (s->nstate != s->nstate_defined) {
        errmsg(w, "the store holds a memory, table or global no instance defines, which a "
                  "reset cannot restore");
        return WEFT_EARG;
    }
    for (uint32_t i = 0; i < s->ninsts; i++) {
        if (!s->insts[i]->owned_mark) { /* set once instantiated */
            errmsg(w, "an instantiation in the store failed");
            return WEFT_EARG;
        }
    }
    return 0;
}

int weft_store_reset(weft_store_t *s, uint64_t objects)
{
    s->errmsg[0] = 0;
    int rc = weft_store_can_reset(s, objects);
    if (rc) return rc;
    clear_store_state(s);
    /* In the order they were made, each cleared then initialised: what an
     * instance's segments or start function write into an earlier one's
     * objects is written again after that one was cleared, as the first
     * time. */
    for (uint32_t i = 0; i < s->ninsts; i++) {
        if ((rc = clear_instance(s, s->insts[i])) || (rc = init_instance(s, s->insts[i])))
            return rc;
    }
    return 0;
}

uint64_t weft_store_memory_bytes(const weft_store_t *s)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < s->ninsts; i++) {
        const weft_instance_t *in = s->insts[i];
        for (uint32_t k = in->module->nmem_imports; in->mems && k < in->module->nmems; k++)
            n += in->mems[k] ? in->mems[k]->size : 0;
    }
    return n;
}

size_t weft_instance_rebind_host(weft_instance_t *in, const void *old_user, void *new_user)
{
    size_t n = 0;
    for (uint32_t i = 0; i < in->module->nfunc_imports; i++) {
        weft_func_t *f = in->funcs[i];
        if (!f->def && f->user == old_user) {
            f->user = new_user;
            n++;
        }
    }
    return n;
}
